/* train.c: see train.h. The loop keeps everything d-sized on the backend: each step passes at most
 * n per-example weights (sgd) and, at log steps, reads back the metrics' scalars. */
#include "pegr/train.h"
#include "util/clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/metrics_summary.h"
#include "train/train_bias.h"
#include "util/numparse.h"
#include "util/rng.h"

/* How often (in steps) the backend's non-finite flag is read between log steps. The read is
 * blocking: the host waits for the queue to drain, and the device then waits for the host's next
 * enqueue (a bubble of one launch latency). At a log step it costs nothing more (the metrics'
 * read has drained the queue already), so the flag is read there; between log steps only this
 * seldom, to stop a diverged run (or a batch whose runs all diverged) long before a distant log
 * step and to bound how many commands the host queues ahead of the device. Where divergence is
 * seen does not change results: the flag records the first bad step exactly and
 * settle_diverged trims the run to it. (It was 25: a wait every 25 steps.) */
#define DIVERGENCE_CHECK_EVERY 250

void pegr_train_config_default(pegr_train_config *c)
{
    memset(c, 0, sizeof *c);
    pegr_data_config_default(&c->data);
    c->m = 10;
    c->q = 3.0;
    c->sigma0 = 0.01;
    c->method = PEGR_METHOD_PEGR;
    c->lam = 0.01;
    c->lr = 0.1;
    c->steps = 1000;
    c->batch = 10;
    c->log_every = 10;
    c->representation = PEGR_REPRESENTATION_AUTO;
    c->sam_rho = 0.05; /* Foret et al. 2021's usual radius */
    const double sigmas[] = {0.1, 0.2, 0.5, 1.0};
    c->n_robust = 4;
    memcpy(c->robust_sigmas, sigmas, sizeof sigmas);
}

const char *pegr_train_preset_names(void) { return PEGR_TRAIN_PRESETS; }

pegr_status pegr_train_config_preset(const char *name, pegr_train_config *c, pegr_error *err)
{
    pegr_train_config_default(c); /* "demo": the regime of docs/math.md */
    if (name && strcmp(name, "demo") == 0) return PEGR_OK;
    if (name && strcmp(name, "large") == 0) { /* docs/math.md's second regime */
        c->data.n = 200;
        c->data.d = 2000;
        c->data.mu_norm = 2.0;
        c->m = 20;
        c->steps = 2000;
        c->log_every = 20;
        return PEGR_OK;
    }
    if (name && strcmp(name, "tiny") == 0) { /* seconds on a laptop: smoke runs and tests */
        c->data.n = 20;
        c->data.n_test = 200;
        c->data.d = 200;
        c->m = 4;
        c->steps = 200;
        return PEGR_OK;
    }
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "preset must be one of " PEGR_TRAIN_PRESETS
                          ", not '%s'", name ? name : "(none)");
}

/* The objective a backend computes for a training method: sgd is gd on a mini-batch, sam steps
 * with gd's gradient at an ascent point (pegr_backend_sam_step) and is measured on L. */
static pegr_method backend_method(pegr_method m)
{
    return m == PEGR_METHOD_SGD || m == PEGR_METHOD_SAM ? PEGR_METHOD_GD : m;
}

pegr_status pegr_train_config_validate(const pegr_train_config *c, pegr_error *err)
{
    pegr_status s = pegr_data_config_validate(&c->data, err);
    if (s != PEGR_OK) return s;
#define BAD(...) pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, __VA_ARGS__)
    if (!pegr_method_name(c->method))
        return BAD("method %d is unknown: use gd, sgd, gr, pegr or sam", (int)c->method);
    if (c->m == 0) return BAD("m (filters per class) must be >= 1");
    if (!(c->q >= 1.0) || !isfinite(c->q)) return BAD("q = %g: the activation needs q >= 1", c->q);
    if (c->method == PEGR_METHOD_PEGR || c->method == PEGR_METHOD_GR)
        if (c->q > 1.0 && c->q < 2.0)
            return BAD("q = %g cannot be used with %s: s'' blows up at 0+ for 1 < q < 2; use q = 1 "
                       "or q >= 2", c->q, pegr_method_name(c->method));
    if (!(c->sigma0 >= 0.0) || !isfinite(c->sigma0)) return BAD("sigma0 = %g must be >= 0", c->sigma0);
    if (!(c->lr > 0.0) || !isfinite(c->lr)) return BAD("lr = %g must be > 0", c->lr);
    if (!(c->lam >= 0.0) || !isfinite(c->lam)) return BAD("lam = %g must be >= 0", c->lam);
    if (c->log_every == 0) return BAD("log-every must be >= 1");
    /* every word-valued training option holds a position in its row's list (the data model's is
     * pegr_data_config_validate's) */
    const pegr_train_option *table = NULL;
    size_t nopt = pegr_train_options(&table);
    char word[64];
    for (size_t k = 0; k < nopt; k++) {
        const int *at = (const int *)((const char *)c + table[k].offset);
        if (table[k].type == PEGR_OPTION_CHOICE && !table[k].data &&
            !pegr_word_at(table[k].allowed, *at, word, sizeof word))
            return BAD("%s %d is unknown: use one of %s", table[k].name, *at, table[k].allowed);
    }
    if (c->bias != 0 && c->bias != 1) return BAD("bias must be 0 or 1, not %d", c->bias);
    if (!(c->sam_rho >= 0.0) || !isfinite(c->sam_rho))
        return BAD("sam-rho = %g must be finite and >= 0", c->sam_rho);
    if (c->method == PEGR_METHOD_SAM && !(c->sam_rho > 0.0))
        return BAD("sam-rho = %g: sam needs a radius > 0 (sam-rho 0 is gd)", c->sam_rho);
    if (!pegr_representation_name(c->representation))
        return BAD("representation %d is unknown: use auto, primal or span", (int)c->representation);
    if (c->method == PEGR_METHOD_SGD && c->batch == 0) return BAD("batch must be >= 1 for sgd");
    if (c->n_robust > PEGR_MAX_ROBUST) return BAD("at most %d robust sigmas", PEGR_MAX_ROBUST);
    for (size_t k = 0; k < c->n_robust; k++)
        if (!(c->robust_sigmas[k] >= 0.0) || !isfinite(c->robust_sigmas[k]))
            return BAD("robust sigma %g must be >= 0", c->robust_sigmas[k]);
#undef BAD
    return PEGR_OK;
}

/* sgd's epoch-wise reshuffled batches: a Fisher-Yates permutation per epoch drawn from the
 * SGD_SHUFFLE stream, so every backend sees the same batches. */
typedef struct batcher {
    size_t n, batch, pos, epoch;
    size_t *perm;
    double *weights; /* (n): 1/|batch| on the batch, 0 elsewhere */
    uint64_t seed;
} batcher;

static void shuffle(batcher *b)
{
    for (size_t i = 0; i < b->n; i++) b->perm[i] = i;
    for (size_t i = b->n; i > 1; i--) {
        double u = pegr_rng_uniform(b->seed, PEGR_STREAM_SGD_SHUFFLE, (uint64_t)b->epoch * b->n + i);
        size_t k = (size_t)(u * (double)i);
        if (k >= i) k = i - 1;
        size_t t = b->perm[i - 1];
        b->perm[i - 1] = b->perm[k];
        b->perm[k] = t;
    }
}

/* The next batch's weights (the last batch of an epoch may be smaller). */
static const double *next_batch(batcher *b)
{
    if (b->pos >= b->n) {
        b->epoch++;
        b->pos = 0;
        shuffle(b);
    }
    size_t end = b->pos + b->batch < b->n ? b->pos + b->batch : b->n;
    memset(b->weights, 0, b->n * sizeof(double));
    for (size_t k = b->pos; k < end; k++) b->weights[b->perm[k]] = 1.0 / (double)(end - b->pos);
    b->pos = end;
    return b->weights;
}

/* Every metric is finite (the test error only where there is a test set: NaN without one). At
 * non-finite weights some metrics stay finite and look plausible (loss ln 2, grad_norm 0, test
 * error 1: every activation of NaN is 0), so the check covers them all, not a few. */
static int metrics_finite(const pegr_metrics *m, int has_test)
{
    const double v[] = {m->loss,         m->objective,  m->train_error, m->gamma_max[0],
                        m->gamma_max[1], m->gamma_mean, m->rho_mean,    m->norm2_mean,
                        m->norm2_var,    m->grad_norm};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        if (!isfinite(v[k])) return 0;
    return !has_test || isfinite(m->test_error);
}

static int all_finite(const double *v, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (!isfinite(v[k])) return 0;
    return 1;
}

/* A record of the metrics m; without a signal vector mu (NULL), gamma and rho are NaN: absent. */
static pegr_status add_record(pegr_train_result *r, size_t step, double t0, const pegr_metrics *m,
                              const double *mu, const pegr_train_config *c, const pegr_train_callbacks *cb,
                              pegr_error *err)
{
    pegr_train_record *grown = realloc(r->records, (r->n_records + 1) * sizeof *grown);
    if (!grown) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for the metrics");
    r->records = grown;
    pegr_train_record *rec = &r->records[r->n_records++];
    rec->step = step;
    rec->wall_seconds = pegr_now_seconds() - t0;
    rec->metrics = *m;
    if (!mu) rec->metrics.gamma_max[0] = rec->metrics.gamma_max[1] = rec->metrics.gamma_mean =
        rec->metrics.rho_mean = NAN;
    if (cb && cb->on_record) cb->on_record(cb->user, c, rec);
    return PEGR_OK;
}

int pegr_train_prefers_span(const pegr_train_config *c)
{
    /* Multiply-adds of the GEMMs only: the elementwise work is the same in both forms. */
    double nP = (double)c->data.n * (double)c->data.P, ntP = (double)c->data.n_test * (double)c->data.P;
    double cols = 2.0 * (double)c->m, d = (double)c->data.d + (c->bias ? 1.0 : 0.0);
    double steps = (double)c->steps;
    double logs = steps / (double)c->log_every + 1.0;
    double primal = steps * 2.0 * nP * cols * d + logs * ntP * cols * d;
    double span = nP * nP * d + ntP * nP * d + steps * nP * nP * cols + logs * ntP * nP * cols;
    return span < primal;
}

int pegr_train_batchable(const pegr_train_config *a, const pegr_train_config *b)
{
    const pegr_data_config *x = &a->data, *y = &b->data;
    int sgd = a->method == PEGR_METHOD_SGD;
    return x->n == y->n && x->n_test == y->n_test && x->d == y->d && x->P == y->P && a->m == b->m &&
           a->q == b->q && a->method == b->method && a->steps == b->steps &&
           a->log_every == b->log_every && (!sgd || a->batch == b->batch) &&
           a->representation == b->representation && a->n_robust == b->n_robust &&
           !a->bias == !b->bias && /* a bias widens every patch by one coordinate */
           a->readout == b->readout && !a->learn_readout == !b->learn_readout &&
           (a->method != PEGR_METHOD_SAM || a->sam_variant == b->sam_variant) &&
           x->model == y->model && /* XOR's two signal directions: another metric layout */
           !memcmp(a->robust_sigmas, b->robust_sigmas, a->n_robust * sizeof(double));
}

/* One batch of runs in flight: what each run needs per step, kept in arrays over the runs. */
typedef struct batch {
    size_t runs, n;
    const pegr_dataset *ds;
    const pegr_train_config *c;
    pegr_train_result *r;
    batcher *bt;      /* sgd's, one per run (its own seed) */
    double *weights;  /* (runs, n) sgd's example weights */
    double *lam, *lr; /* (runs) the step's; lr 0 freezes a diverged run */
    double *rho;      /* (runs) sam's ascent radii */
    int *active;      /* (runs) neither diverged nor finished */
    pegr_metrics *m;  /* (runs) */
    long *bad;        /* (runs) first_nonfinite_step */
    uint64_t *seeds;  /* (runs) */
    double *rates;    /* (runs, PEGR_MAX_ROBUST) robust test errors, run-major */
    /* the runs' arrays side by side (runs > 1): X (runs, n, P, d), y (runs, n), W (runs, 2, m, d) */
    double *X_all, *y_all, *W_all;
    /* a zero mu (d) and signal patches (n) for datasets without a signal vector (the caller's own
     * data, pegr_dataset_from_arrays): the backend measures against them, the run reports gamma
     * and rho as NaN (absent) */
    double *no_mu;
    size_t *no_patch;
} batch;

static void batch_free(batch *B)
{
    for (size_t k = 0; B->bt && k < B->runs; k++) {
        free(B->bt[k].perm);
        free(B->bt[k].weights);
    }
    free(B->bt);
    free(B->weights);
    free(B->lam);
    free(B->lr);
    free(B->rho);
    free(B->active);
    free(B->m);
    free(B->bad);
    free(B->seeds);
    free(B->rates);
    free(B->X_all);
    free(B->y_all);
    free(B->W_all);
    free(B->no_mu);
    free(B->no_patch);
}

static pegr_status batch_init(batch *B, pegr_error *err)
{
    size_t R = B->runs, n = B->n;
    const pegr_train_config *c = B->c;
    const pegr_dataset *ds = B->ds;
    size_t R1 = R > 1 ? R : 0; /* one run uses its own arrays */
    B->bt = calloc(R, sizeof *B->bt);
    B->weights = malloc(R * n * sizeof(double));
    B->lam = malloc(R * sizeof(double));
    B->lr = malloc(R * sizeof(double));
    B->rho = malloc(R * sizeof(double));
    B->active = malloc(R * sizeof(int));
    B->m = calloc(R, sizeof(pegr_metrics));
    B->bad = malloc(R * sizeof(long));
    B->seeds = malloc(R * sizeof(uint64_t));
    B->rates = malloc(R * PEGR_MAX_ROBUST * sizeof(double));
    B->X_all = malloc((R1 * n * ds->P * ds->d + 1) * sizeof(double));
    B->y_all = malloc((R1 * n + 1) * sizeof(double));
    B->W_all = malloc((R1 * 2 * c->m * ds->d + 1) * sizeof(double));
    if (!B->bt || !B->weights || !B->lam || !B->lr || !B->rho || !B->active || !B->m || !B->bad || !B->seeds ||
        !B->rates || !B->X_all || !B->y_all || !B->W_all)
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for a batch of %zu runs", R);
    for (size_t k = 0; k < R; k++) {
        B->lam[k] = c[k].lam;
        B->lr[k] = c[k].lr;
        B->rho[k] = c[k].sam_rho;
        B->active[k] = 1;
        B->seeds[k] = c[k].data.seed;
        batcher *bt = &B->bt[k];
        *bt = (batcher){n, c[k].batch, n, (size_t)-1, NULL, NULL, c[k].data.seed};
        bt->perm = malloc(n * sizeof(size_t));
        bt->weights = malloc(n * sizeof(double));
        if (!bt->perm || !bt->weights) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    }
    return PEGR_OK;
}

/* The runs' (count) arrays one after another in `all` (which holds runs * count); one run's own. */
static const double *side_by_side(const batch *B, double *all, size_t count,
                                  const double *(*field)(const batch *, size_t))
{
    if (B->runs == 1) return field(B, 0);
    for (size_t k = 0; k < B->runs; k++) memcpy(all + k * count, field(B, k), count * sizeof(double));
    return all;
}
static const double *train_X(const batch *B, size_t k) { return B->ds[k].train.X; }
static const double *train_y(const batch *B, size_t k) { return B->ds[k].train.y; }
static const double *initial_W(const batch *B, size_t k) { return B->r[k].W0; }

static pegr_status setup(pegr_backend *b, batch *B, pegr_error *err)
{
    const pegr_train_config *c = B->c;
    const pegr_dataset *ds = B->ds;
    size_t R = B->runs, count = 2 * c->m * ds->d;
    pegr_status s = PEGR_OK;
    for (size_t k = 0; k < R && s == PEGR_OK; k++) {
        pegr_train_result *r = &B->r[k];
        r->W = malloc(count * sizeof(double));
        r->W0 = malloc(count * sizeof(double));
        if (!r->W || !r->W0) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for W");
        s = pegr_train_init_weights(&c[k], ds->d, r->W0, err); /* ds->d: with a bias's column */
    }
    if (s == PEGR_OK && (R > 1 || b->ops->set_runs)) {
        if (!b->ops->set_runs)
            return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                                  "the %s backend trains one run at a time, not a batch of %zu",
                                  b->ops->name, R);
        s = b->ops->set_runs(b, R, err);
    }
    if (s == PEGR_OK)
        s = b->ops->set_data(b, side_by_side(B, B->X_all, B->n * ds->P * ds->d, train_X),
                             side_by_side(B, B->y_all, B->n, train_y), B->n, ds->P, ds->d, err);
    /* The span form where the backend has it and it is asked for or (auto) cheaper. */
    int span = b->ops->set_representation &&
               (c->representation == PEGR_REPRESENTATION_SPAN ||
                (c->representation == PEGR_REPRESENTATION_AUTO && pegr_train_prefers_span(c)));
    if (s == PEGR_OK && b->ops->set_representation)
        s = b->ops->set_representation(b, span, err);
    for (size_t k = 0; k < R; k++) B->r[k].span = span;
    if (s == PEGR_OK)
        s = b->ops->set_weights(b, side_by_side(B, B->W_all, count, initial_W), c->m, err);
    /* The readout (docs/math.md, "Model variants"): the default needs no call, so a backend
     * without the entry trains it; a variant it lacks is refused. */
    if (s == PEGR_OK && (c->readout || c->learn_readout))
        s = b->ops->set_readout ? b->ops->set_readout(b, c->readout, c->learn_readout != 0, err)
                                : pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                                                 "the %s backend has the default readout only",
                                                 b->ops->name);
    b->sam_variant = c->method == PEGR_METHOD_SAM ? c->sam_variant : PEGR_SAM_FULL;
    pegr_reference *ref = s == PEGR_OK ? malloc(R * sizeof *ref) : NULL;
    if (s == PEGR_OK && !ref) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    for (size_t k = 0; k < R && s == PEGR_OK && !ds[k].mu; k++)
        if (!B->no_mu) {
            B->no_mu = calloc(ds->d, sizeof(double));
            B->no_patch = calloc(B->n + 1, sizeof(size_t));
            if (!B->no_mu || !B->no_patch) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
        }
    for (size_t k = 0; k < R && s == PEGR_OK; k++)
        ref[k] = (pegr_reference){B->r[k].W0, ds[k].mu ? ds[k].mu : B->no_mu,
                                  ds[k].mu ? ds[k].train.signal_patch : B->no_patch, ds[k].test.X,
                                  ds[k].test.y, ds[k].test.n,
                                  /* XOR data: two signal directions (u+, u-); no_mu is one */
                                  .n_signal = ds[k].mu && ds[k].n_signal ? ds[k].n_signal : 1};
    for (size_t k = 0; k < R && s == PEGR_OK; k++) ref[k].bias = c[k].bias; /* train_bias.h */
    if (s == PEGR_OK) s = b->ops->set_reference(b, ref, err);
    free(ref);
    return s;
}

/* A run found diverged: `step` is the update that produced the non-finite value. Several checks
 * may find it (the backend's flag, the metrics, the final weights): the earliest step stands. */
static void mark_diverged(pegr_train_result *r, long step)
{
    if (step < 0) step = 0;
    if (!r->diverged || step < r->diverged_step) r->diverged_step = step;
    r->diverged = 1;
}

/* A learned second layer's final v per run (R x 2m from the backend); a non-finite v is
 * divergence as a non-finite W is. */
static pegr_status finish_readout(pegr_backend *b, batch *B, size_t t, pegr_error *err)
{
    size_t R = B->runs, cols = 2 * B->c->m;
    double *all = malloc(R * cols * sizeof(double));
    if (!all) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for v");
    pegr_status s = b->ops->get_readout(b, all, err);
    for (size_t k = 0; k < R && s == PEGR_OK; k++) {
        B->r[k].v = malloc(cols * sizeof(double));
        if (!B->r[k].v) {
            s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for v");
            break;
        }
        memcpy(B->r[k].v, all + k * cols, cols * sizeof(double));
        if (!all_finite(B->r[k].v, cols)) mark_diverged(&B->r[k], B->bad[k] >= 0 ? B->bad[k] : (long)t - 1);
    }
    free(all);
    return s;
}

/* The final weights, divergence in them, and (runs that did not diverge) the robust test errors.
 * B->bad holds the backend's flags as read at the end; t is the steps taken. */
static pegr_status finish(pegr_backend *b, batch *B, size_t t, pegr_error *err)
{
    size_t R = B->runs, count = 2 * B->c->m * B->ds->d;
    for (size_t k = 0; k < R; k++)
        for (size_t j = 0; j < B->c->n_robust; j++) B->r[k].robust_error[j] = NAN;
    double *W = R == 1 ? B->r[0].W : B->W_all;
    pegr_status s = b->ops->get_weights(b, W, err);
    if (s == PEGR_OK && B->c->learn_readout) s = finish_readout(b, B, t, err);
    for (size_t k = 0; k < R && s == PEGR_OK; k++) {
        if (R > 1) memcpy(B->r[k].W, W + k * count, count * sizeof(double));
        /* Any non-finite weight is divergence, whatever the flag and the metrics said. */
        if (!all_finite(B->r[k].W, count))
            mark_diverged(&B->r[k], B->bad[k] >= 0 ? B->bad[k] : (long)t - 1);
    }
    int any = 0;
    for (size_t k = 0; k < R; k++) any |= !B->r[k].diverged;
    size_t S = B->c->n_robust;
    if (s != PEGR_OK || !any || S == 0) return s;
    /* Every noise level of every run in one call (runs x S rates, run-major). */
    s = b->ops->perturbed_test_error(b, B->c->q, B->c->robust_sigmas, S, B->seeds, B->rates, err);
    for (size_t k = 0; k < R && s == PEGR_OK; k++)
        if (!B->r[k].diverged) memcpy(B->r[k].robust_error, B->rates + k * S, S * sizeof(double));
    return s;
}

/* Runs whose backend flag says a step left non-finite weights are marked diverged at that step. */
static pegr_status check_nonfinite(pegr_backend *b, batch *B, pegr_error *err)
{
    pegr_status s = b->ops->first_nonfinite_step(b, B->bad, err);
    for (size_t k = 0; k < B->runs && s == PEGR_OK; k++)
        if (B->active[k] && B->bad[k] >= 0) mark_diverged(&B->r[k], B->bad[k]);
    return s;
}

/* Runs found diverged stop: frozen (learning rate 0) after `taken` steps, as they would alone. */
static void freeze_diverged(batch *B, size_t taken, size_t *active)
{
    for (size_t k = 0; k < B->runs; k++)
        if (B->active[k] && B->r[k].diverged) {
            B->active[k] = 0;
            B->lr[k] = 0.0;
            B->r[k].steps_run = taken;
            (*active)--;
        }
}

/* A diverged run's result says so consistently: steps_run counts the updates up to the one that
 * diverged (diverged_step + 1), and no record keeps numbers measured at non-finite weights (those
 * after diverged_step): they become unknown rather than plausible-looking. */
static void settle_diverged(pegr_train_result *r)
{
    if (!r->diverged) return;
    size_t upto = (size_t)r->diverged_step + 1;
    if (upto < r->steps_run) r->steps_run = upto;
    if (r->steps_run && (size_t)r->diverged_step >= r->steps_run)
        r->diverged_step = (long)r->steps_run - 1; /* only when the initial weights were bad */
    for (size_t k = 0; k < r->n_records; k++)
        if (r->records[k].step > (size_t)r->diverged_step)
            pegr_metrics_unknown(&r->records[k].metrics);
}

pegr_status pegr_train_run(pegr_backend *b, const pegr_dataset *ds, const pegr_train_config *c,
                           const pegr_train_callbacks *cb, pegr_train_result *r, pegr_error *err)
{
    return pegr_train_run_batch(b, ds, c, 1, cb, r, err);
}

pegr_status pegr_train_run_batch(pegr_backend *b, const pegr_dataset *ds, const pegr_train_config *c,
                                 size_t runs, const pegr_train_callbacks *cb, pegr_train_result *r,
                                 pegr_error *err)
{
    for (size_t k = 0; k < runs; k++) {
        memset(&r[k], 0, sizeof r[k]);
        r[k].diverged_step = -1;
        r[k].batch_runs = runs;
    }
    if (runs == 0) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "a batch needs a run");
    pegr_status s = PEGR_OK;
    for (size_t k = 0; k < runs && s == PEGR_OK; k++) {
        s = pegr_train_config_validate(&c[k], err);
        if (s == PEGR_OK && (!pegr_train_batchable(&c[0], &c[k]) || ds[k].train.n != ds[0].train.n ||
                             ds[k].test.n != ds[0].test.n || ds[k].d != ds[0].d || ds[k].P != ds[0].P))
            s = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                               "run %zu of the batch differs from run 0 in a shape or schedule (n, "
                               "n_test, d, P, m, q, method, steps, log-every, batch, representation "
                               "or robust sigmas): such runs train in separate batches", k);
    }
    /* The config's data shapes must be the dataset's: a caller's own arrays cannot silently train
     * under another config's n, d, P or n_test (which its run files would record). */
    for (size_t k = 0; k < runs && s == PEGR_OK; k++)
        if (c[k].data.n != ds[k].train.n || c[k].data.n_test != ds[k].test.n ||
            c[k].data.d != ds[k].d || c[k].data.P != ds[k].P)
            s = pegr_error_set(err, PEGR_ERR_SHAPE,
                               "run %zu: the config's data shapes (n %zu, n_test %zu, d %zu, P %zu) "
                               "are not the dataset's (n %zu, n_test %zu, d %zu, P %zu): set the "
                               "config's from the dataset", k, c[k].data.n, c[k].data.n_test,
                               c[k].data.d, c[k].data.P, ds[k].train.n, ds[k].test.n, ds[k].d,
                               ds[k].P);
    if (s != PEGR_OK) return s;
    double t0 = pegr_now_seconds();
    /* A bias: the backends train on the patches with a constant 1 appended, W with the bias as
     * its last column (train_bias.h); the results are split back at the end. */
    pegr_dataset *aug = c->bias ? calloc(runs, sizeof *aug) : NULL;
    if (c->bias && !aug) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    for (size_t k = 0; k < runs && aug && s == PEGR_OK; k++)
        s = pegr_bias_dataset(&ds[k], &aug[k], err);
    for (size_t k = 0; k < runs && aug && s != PEGR_OK; k++) pegr_bias_dataset_free(&aug[k]);
    if (s != PEGR_OK) {
        free(aug);
        return s;
    }
    batch B = {.runs = runs, .n = ds->train.n, .ds = aug ? aug : ds, .c = c, .r = r};
    /* sgd with a batch of n or more is gd exactly: no weights at all. */
    int sgd = c->method == PEGR_METHOD_SGD && c->batch < ds->train.n;
    int has_test = ds->test.n > 0;
    s = batch_init(&B, err);
    if (s == PEGR_OK && c->method == PEGR_METHOD_SAM && !b->ops->sam_step)
        s = pegr_error_set(err, PEGR_ERR_UNSUPPORTED, "the %s backend has no SAM step", b->ops->name);
    if (s == PEGR_OK) s = setup(b, &B, err);

    pegr_eval_request req = {.method = backend_method(c->method), .q = c->q, .lam = c->lam,
                             .run_lam = B.lam, .run_lr = B.lr};
    size_t t = 0, active = runs;
    for (; s == PEGR_OK && t < c->steps && active; t++) {
        if (cb && ((cb->should_stop && cb->should_stop(cb->user)) || (cb->cancel && *cb->cancel))) {
            for (size_t k = 0; k < runs; k++) r[k].interrupted = 1;
            break;
        }
        int log = t % c->log_every == 0;
        for (size_t k = 0; k < runs && sgd; k++)
            memcpy(B.weights + k * B.n, next_batch(&B.bt[k]), B.n * sizeof(double));
        req.weights = sgd ? B.weights : NULL;
        req.metrics = log ? B.m : NULL;
        s = c->method == PEGR_METHOD_SAM ? b->ops->sam_step(b, &req, c->lr, c->sam_rho, B.rho, err)
                                         : b->ops->step(b, &req, c->lr, err);
        for (size_t k = 0; k < runs && s == PEGR_OK && log; k++) {
            if (!B.active[k]) continue;
            s = add_record(&r[k], t, t0, &B.m[k], ds[k].mu, &c[k], cb, err);
            if (!metrics_finite(&B.m[k], has_test)) mark_diverged(&r[k], (long)t - 1);
        }
        if (s == PEGR_OK && (log || (t + 1) % DIVERGENCE_CHECK_EVERY == 0)) s = check_nonfinite(b, &B, err);
        /* A run that diverged at this step stops here: after t + 1 updates, as it would alone. */
        freeze_diverged(&B, t + 1, &active);
    }
    for (size_t k = 0; k < runs; k++)
        if (B.active[k]) r[k].steps_run = t;
    /* The flag is read at the end whatever the step count: a run shorter than the check interval
     * (or its last steps since the last check) is checked here. */
    if (s == PEGR_OK) s = check_nonfinite(b, &B, err);
    if (s == PEGR_OK) freeze_diverged(&B, t, &active);
    /* The metrics at the final weights of the runs that did not diverge; a non-finite one is
     * divergence too (from the last update on). */
    if (s == PEGR_OK && active) {
        req.weights = NULL;
        req.metrics = B.m;
        s = b->ops->evaluate(b, &req, err);
        for (size_t k = 0; k < runs && s == PEGR_OK; k++) {
            if (!B.active[k]) continue;
            s = add_record(&r[k], t, t0, &B.m[k], ds[k].mu, &c[k], cb, err);
            if (!metrics_finite(&B.m[k], has_test)) mark_diverged(&r[k], (long)t - 1);
        }
    }
    if (s == PEGR_OK) s = finish(b, &B, t, err);
    for (size_t k = 0; k < runs; k++) settle_diverged(&r[k]);
    double wall = pegr_now_seconds() - t0;
    for (size_t k = 0; k < runs; k++) r[k].wall_seconds = wall;
    batch_free(&B);
    for (size_t k = 0; k < runs && aug; k++) { /* W (2, m, d) and b (2, m), whatever s says */
        pegr_status split = pegr_bias_split(&r[k], c->m, ds->d, err);
        if (s == PEGR_OK) s = split;
        pegr_bias_dataset_free(&aug[k]);
    }
    free(aug);
    return s;
}

void pegr_train_result_free(pegr_train_result *r)
{
    free(r->records);
    free(r->W);
    free(r->W0);
    free(r->b);
    free(r->b0);
    free(r->v);
    memset(r, 0, sizeof *r);
}

size_t pegr_train_result_record_count(const pegr_train_result *r) { return r->n_records; }

const pegr_train_record *pegr_train_result_record(const pegr_train_result *r, size_t i)
{
    return i < r->n_records ? &r->records[i] : NULL;
}

const pegr_train_record *pegr_train_result_last(const pegr_train_result *r)
{
    return r->n_records ? &r->records[r->n_records - 1] : NULL;
}

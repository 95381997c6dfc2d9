/* train.c: see train.h. The loop keeps everything d-sized on the backend: each step passes at most
 * n per-example weights (sgd) and, at log steps, reads back the metrics' scalars. */
#include "train.h"
#include "clock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

/* How often (in steps) the backend's non-finite flag is read between log steps. */
#define DIVERGENCE_CHECK_EVERY 25

void pegr_train_config_default(pegr_train_config *c)
{
    memset(c, 0, sizeof *c);
    pegr_data_config_default(&c->data);
    c->m = 10;
    c->q = 3.0;
    c->sigma0 = 0.01;
    c->method = "pegr";
    c->lam = 0.01;
    c->lr = 0.1;
    c->steps = 1000;
    c->batch = 10;
    c->log_every = 10;
    c->representation = "auto";
    const double sigmas[] = {0.1, 0.2, 0.5, 1.0};
    c->n_robust = 4;
    memcpy(c->robust_sigmas, sigmas, sizeof sigmas);
}

static int method_known(const char *m)
{
    return m && (!strcmp(m, "gd") || !strcmp(m, "sgd") || !strcmp(m, "gr") || !strcmp(m, "pegr"));
}

static pegr_method backend_method(const char *m)
{
    if (!strcmp(m, "pegr")) return PEGR_METHOD_PEGR;
    if (!strcmp(m, "gr")) return PEGR_METHOD_GR;
    return PEGR_METHOD_GD; /* gd, and sgd: gd on a mini-batch */
}

pegr_status pegr_train_config_validate(const pegr_train_config *c, pegr_error *err)
{
    pegr_status s = pegr_data_config_validate(&c->data, err);
    if (s != PEGR_OK) return s;
#define BAD(...) pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, __VA_ARGS__)
    if (!method_known(c->method))
        return BAD("method '%s' is unknown: use gd, sgd, gr or pegr", c->method ? c->method : "");
    if (c->m == 0) return BAD("m (filters per class) must be >= 1");
    if (!(c->q >= 1.0) || !isfinite(c->q)) return BAD("q = %g: the activation needs q >= 1", c->q);
    if (strcmp(c->method, "pegr") == 0 || strcmp(c->method, "gr") == 0)
        if (c->q > 1.0 && c->q < 2.0)
            return BAD("q = %g cannot be used with %s: s'' blows up at 0+ for 1 < q < 2; use q = 1 "
                       "or q >= 2", c->q, c->method);
    if (!(c->sigma0 >= 0.0) || !isfinite(c->sigma0)) return BAD("sigma0 = %g must be >= 0", c->sigma0);
    if (!(c->lr > 0.0) || !isfinite(c->lr)) return BAD("lr = %g must be > 0", c->lr);
    if (!(c->lam >= 0.0) || !isfinite(c->lam)) return BAD("lam = %g must be >= 0", c->lam);
    if (c->log_every == 0) return BAD("log-every must be >= 1");
    if (!c->representation || (strcmp(c->representation, "auto") && strcmp(c->representation, "primal") &&
                               strcmp(c->representation, "span")))
        return BAD("representation '%s' is unknown: use auto, primal or span",
                   c->representation ? c->representation : "");
    if (strcmp(c->method, "sgd") == 0 && c->batch == 0) return BAD("batch must be >= 1 for sgd");
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

static int metrics_finite(const pegr_metrics *m)
{
    return isfinite(m->loss) && isfinite(m->objective) && isfinite(m->grad_norm);
}

static pegr_status add_record(pegr_train_result *r, size_t step, double t0, const pegr_metrics *m,
                              const pegr_train_config *c, const pegr_train_callbacks *cb,
                              pegr_error *err)
{
    pegr_train_record *grown = realloc(r->records, (r->n_records + 1) * sizeof *grown);
    if (!grown) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for the metrics");
    r->records = grown;
    pegr_train_record *rec = &r->records[r->n_records++];
    rec->step = step;
    rec->wall_seconds = pegr_now_seconds() - t0;
    rec->metrics = *m;
    if (cb && cb->on_record) cb->on_record(cb->user, c, rec);
    return PEGR_OK;
}

int pegr_train_prefers_span(const pegr_train_config *c)
{
    /* Multiply-adds of the GEMMs only: the elementwise work is the same in both forms. */
    double nP = (double)c->data.n * (double)c->data.P, ntP = (double)c->data.n_test * (double)c->data.P;
    double cols = 2.0 * (double)c->m, d = (double)c->data.d, steps = (double)c->steps;
    double logs = steps / (double)c->log_every + 1.0;
    double primal = steps * 2.0 * nP * cols * d + logs * ntP * cols * d;
    double span = nP * nP * d + ntP * nP * d + steps * nP * nP * cols + logs * ntP * nP * cols;
    return span < primal;
}

static pegr_status setup(pegr_backend *b, const pegr_dataset *ds, const pegr_train_config *c,
                         pegr_train_result *r, pegr_error *err)
{
    size_t count = 2 * c->m * ds->d;
    r->W = malloc(count * sizeof(double));
    r->W0 = malloc(count * sizeof(double));
    if (!r->W || !r->W0) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for W");
    pegr_status s = pegr_init_weights(c->data.seed, c->m, ds->d, c->sigma0, r->W0, err);
    if (s == PEGR_OK)
        s = b->ops->set_data(b, ds->train.X, ds->train.y, ds->train.n, ds->P, ds->d, err);
    /* The span form where the backend has it and it is asked for or (auto) cheaper. */
    int span = b->ops->set_representation &&
               (!strcmp(c->representation, "span") ||
                (!strcmp(c->representation, "auto") && pegr_train_prefers_span(c)));
    if (s == PEGR_OK && b->ops->set_representation)
        s = b->ops->set_representation(b, span, err);
    r->span = span;
    if (s == PEGR_OK) s = b->ops->set_weights(b, r->W0, c->m, err);
    if (s == PEGR_OK) {
        pegr_reference ref = {r->W0, ds->mu, ds->train.signal_patch, ds->test.X, ds->test.y,
                              ds->test.n};
        s = b->ops->set_reference(b, &ref, err);
    }
    return s;
}

static pegr_status finish(pegr_backend *b, const pegr_train_config *c, pegr_train_result *r,
                          pegr_error *err)
{
    for (size_t k = 0; k < c->n_robust; k++) r->robust_error[k] = NAN;
    pegr_status s = b->ops->get_weights(b, r->W, err);
    if (s != PEGR_OK || r->diverged) return s;
    for (size_t k = 0; k < c->n_robust && s == PEGR_OK; k++)
        s = b->ops->perturbed_test_error(b, c->q, c->robust_sigmas[k], c->data.seed,
                                         &r->robust_error[k], err);
    return s;
}

pegr_status pegr_train_run(pegr_backend *b, const pegr_dataset *ds, const pegr_train_config *c,
                           const pegr_train_callbacks *cb, pegr_train_result *r, pegr_error *err)
{
    memset(r, 0, sizeof *r);
    r->diverged_step = -1;
    pegr_status s = pegr_train_config_validate(c, err);
    if (s != PEGR_OK) return s;
    double t0 = pegr_now_seconds();
    batcher bt = {ds->train.n, c->batch, ds->train.n, 0, NULL, NULL, c->data.seed};
    /* sgd with a batch of n or more is gd exactly: no weights at all. */
    int sgd = strcmp(c->method, "sgd") == 0 && c->batch < ds->train.n;
    if (sgd) {
        bt.perm = malloc(bt.n * sizeof(size_t));
        bt.weights = malloc(bt.n * sizeof(double));
        bt.epoch = (size_t)-1; /* the first next_batch starts epoch 0 */
        if (!bt.perm || !bt.weights) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    }
    if (s == PEGR_OK) s = setup(b, ds, c, r, err);

    pegr_eval_request req = {.method = backend_method(c->method), .q = c->q, .lam = c->lam};
    pegr_metrics m;
    size_t t = 0;
    for (; s == PEGR_OK && t < c->steps; t++) {
        if (cb && cb->should_stop && cb->should_stop(cb->user)) {
            r->interrupted = 1;
            break;
        }
        int log = t % c->log_every == 0;
        req.weights = sgd ? next_batch(&bt) : NULL;
        req.metrics = log ? &m : NULL;
        s = b->ops->step(b, &req, c->lr, err);
        if (s == PEGR_OK && log) {
            s = add_record(r, t, t0, &m, c, cb, err);
            if (!metrics_finite(&m)) {
                r->diverged = 1;
                r->diverged_step = t > 0 ? (long)t - 1 : 0;
            }
        }
        if (s == PEGR_OK && !r->diverged && (log || (t + 1) % DIVERGENCE_CHECK_EVERY == 0)) {
            long bad = -1;
            s = b->ops->first_nonfinite_step(b, &bad, err);
            if (bad >= 0) {
                r->diverged = 1;
                r->diverged_step = bad;
            }
        }
        if (r->diverged) {
            t++;
            break;
        }
    }
    r->steps_run = t;
    /* The metrics at the final weights, unless the run diverged (they would be NaN). */
    if (s == PEGR_OK && !r->diverged) {
        req.weights = NULL;
        req.metrics = &m;
        s = b->ops->evaluate(b, &req, err);
        if (s == PEGR_OK) s = add_record(r, t, t0, &m, c, cb, err);
        if (s == PEGR_OK && !metrics_finite(&m)) {
            long bad = -1;
            s = b->ops->first_nonfinite_step(b, &bad, err);
            r->diverged = 1;
            r->diverged_step = bad >= 0 ? bad : (long)t - 1;
        }
    }
    if (s == PEGR_OK) s = finish(b, c, r, err);
    r->wall_seconds = pegr_now_seconds() - t0;
    free(bt.perm);
    free(bt.weights);
    return s;
}

void pegr_train_result_free(pegr_train_result *r)
{
    free(r->records);
    free(r->W);
    free(r->W0);
    memset(r, 0, sizeof *r);
}

const pegr_train_record *pegr_train_result_last(const pegr_train_result *r)
{
    return r->n_records ? &r->records[r->n_records - 1] : NULL;
}

/* host_backend.c: the host reference as a backend object (backend.h): it holds copies of the data,
 * the weights and the reference arrays, and computes steps and the paper's metrics in plain C,
 * double precision, with the pure functions of host_ref.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/data.h"
#include "host/host_ref.h"
#include "backend/metrics_summary.h"

typedef struct host_backend {
    pegr_backend base; /* first, so a pegr_backend * is a host_backend * */
    double *X, *y, *K, *W;
    double *grad;      /* (2, m, d) scratch for step and metrics */
    size_t n, P, d, m; /* m = 0 while no weights are set */
    /* the reference (set_reference) */
    double *W0, *mu, *X_test, *y_test;
    size_t *signal_patch;
    size_t n_test;
    size_t n_signal; /* rows of mu: 1, or 2 for the XOR model's u+, u- */
    int have_reference;
    int bias; /* the reference's bias: each patch's last coordinate is a bias's constant 1 */
    long steps_done, first_bad;
    /* the readout (set_readout; docs/math.md, "Model variants"): kappa = 1 / kappa_div (0: 1/m)
     * and, with learn, the second layer v (2, m), trained with W */
    size_t kappa_div;
    int learn;
    double *v, *grad_v; /* (2, m) each, with learn */
} host_backend;

/* The readout model at v (NULL: h's), v's gradient into grad_v (NULL: not asked). */
static pegr_ref_model host_model(const host_backend *h, const double *v, double *grad_v)
{
    pegr_ref_model md = {h->kappa_div, v ? v : h->v, h->learn, grad_v};
    return md;
}

/* pegr_ref_evaluate_model on the training set at weights W and second layer v (NULL: h's). */
static pegr_status evaluate_at(const host_backend *h, const double *W, const double *v,
                               double *grad_v, const pegr_eval_request *req, pegr_error *err)
{
    pegr_ref_model md = host_model(h, v, grad_v);
    return pegr_ref_evaluate_model(h->X, h->K, h->y, h->n, h->P, h->d, W, h->m, &md, req, err);
}

/* No readout set: the default, v dropped. */
static void reset_readout(host_backend *h)
{
    free(h->v);
    free(h->grad_v);
    h->v = h->grad_v = NULL;
    h->kappa_div = 0;
    h->learn = 0;
}

static pegr_status oom(pegr_error *err, const char *what)
{
    return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "host backend: out of memory %s", what);
}

/* A malloc'ed copy of count elements of size elem (NULL for count 0 or when out of memory). */
static void *copy_of(const void *src, size_t count, size_t elem)
{
    if (!src || count == 0) return NULL;
    void *dst = malloc(count * elem);
    if (dst) memcpy(dst, src, count * elem);
    return dst;
}

static void free_reference(host_backend *h)
{
    free(h->W0);
    free(h->mu);
    free(h->X_test);
    free(h->y_test);
    free(h->signal_patch);
    h->W0 = h->mu = h->X_test = h->y_test = NULL;
    h->signal_patch = NULL;
    h->n_test = 0;
    h->have_reference = 0;
    h->bias = 0;
}

static pegr_status host_set_data(pegr_backend *b, const double *X, const double *y, size_t n,
                                 size_t P, size_t d, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    pegr_status st = pegr_ref_check_data(X, y, n, P, d, err);
    if (st != PEGR_OK) return st;
    double *nx = copy_of(X, n * P * d, sizeof(double)); /* products checked above */
    double *ny = copy_of(y, n, sizeof(double));
    double *nk = malloc(n * P * P * sizeof(double));
    if (!nx || !ny || !nk) {
        free(nx);
        free(ny);
        free(nk);
        return oom(err, "copying the data");
    }
    pegr_ref_patch_gram(nx, n, P, d, nk);
    free(h->X);
    free(h->y);
    free(h->K);
    h->X = nx;
    h->y = ny;
    h->K = nk;
    h->n = n;
    h->P = P;
    if (d != h->d) { /* weights of another width no longer fit: drop them */
        free(h->W);
        h->W = NULL;
        h->m = 0;
    }
    h->d = d;
    free_reference(h);
    return PEGR_OK;
}

static pegr_status host_set_weights(pegr_backend *b, const double *W, size_t m, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->X)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "host backend: set_data must come before set_weights");
    if (!W) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "W must not be NULL");
    if (m == 0) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "m must be >= 1 (got 0)");
    if (m > SIZE_MAX / sizeof(double) / 2 / h->d)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "weight size overflows (m = %zu, d = %zu)", m, h->d);
    double *nw = copy_of(W, 2 * m * h->d, sizeof(double));
    if (!nw) return oom(err, "copying W");
    if (m != h->m) free_reference(h);
    reset_readout(h);
    free(h->W);
    h->W = nw;
    h->m = m;
    h->steps_done = 0;
    h->first_bad = -1;
    return PEGR_OK;
}

static pegr_status host_set_reference(pegr_backend *b, const pegr_reference *ref, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->W)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "host backend: set_weights must come before set_reference");
    if (ref->n_signal > 2)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "reference n_signal = %zu: must be 0 or 1 (one signal vector) or 2 "
                              "(XOR's u+, u-)", ref->n_signal);
    free_reference(h);
    size_t md = 2 * h->m * h->d, test = ref->n_test * h->P * h->d;
    h->W0 = copy_of(ref->W0, md, sizeof(double));
    h->n_signal = ref->n_signal == 2 ? 2 : 1;
    h->mu = copy_of(ref->mu, h->n_signal * h->d, sizeof(double));
    h->signal_patch = copy_of(ref->signal_patch, h->n, sizeof(size_t));
    h->X_test = copy_of(ref->X_test, test, sizeof(double));
    h->y_test = copy_of(ref->y_test, ref->n_test, sizeof(double));
    h->n_test = ref->n_test;
    if (!h->W0 || !h->mu || !h->signal_patch || (ref->n_test && (!h->X_test || !h->y_test))) {
        free_reference(h);
        return oom(err, "copying the reference arrays");
    }
    h->have_reference = 1;
    h->bias = ref->bias != 0;
    return PEGR_OK;
}

static double dot(const double *a, const double *b, size_t len)
{
    double acc = 0.0;
    for (size_t k = 0; k < len; k++) acc += a[k] * b[k];
    return acc;
}

/* Fraction of (X, y) with y f(W, x) <= 0. */
static pegr_status error_rate(const host_backend *h, const double *X, const double *y, size_t n,
                              double q, double *rate, pegr_error *err)
{
    if (n == 0) {
        *rate = NAN;
        return PEGR_OK;
    }
    double *f = malloc(n * sizeof(double));
    if (!f) return oom(err, "for test margins");
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = q, .margin = f};
    pegr_ref_model md = host_model(h, NULL, NULL);
    pegr_status s = pegr_ref_evaluate_model(X, NULL, y, n, h->P, h->d, h->W, h->m, &md, &req, err);
    size_t wrong = 0;
    for (size_t i = 0; s == PEGR_OK && i < n; i++) wrong += y[i] * f[i] <= 0.0;
    *rate = (double)wrong / (double)n;
    free(f);
    return s;
}

/* gamma, rho and the test error at the current weights; the loss terms come from the caller. */
static pegr_status reference_metrics(const host_backend *h, double q, pegr_metrics *out,
                                     pegr_error *err)
{
    size_t m = h->m, d = h->d;
    double *diff = malloc(2 * m * d * sizeof(double));
    double *gamma = malloc(2 * m * sizeof(double));
    double *rho = malloc(h->n * sizeof(double));
    pegr_status s = PEGR_OK;
    if (!diff || !gamma || !rho) s = oom(err, "for the metrics");
    if (s == PEGR_OK) {
        for (size_t k = 0; k < 2 * m * d; k++) diff[k] = h->W[k] - h->W0[k];
        for (size_t c = 0; c < 2 * m; c++)
            gamma[c] = pegr_metrics_gamma_entry(
                h->n_signal, c, m,
                dot(diff + c * d, h->mu + pegr_metrics_signal_row(h->n_signal, c, m) * d, d));
        for (size_t i = 0; i < h->n; i++) {
            size_t j = h->y[i] > 0 ? 0 : 1;
            double best = 0.0;
            int any = 0;
            for (size_t p = 0; p < h->P; p++) {
                if (p == h->signal_patch[i]) continue;
                for (size_t r = 0; r < m; r++) {
                    /* over the inputs only: a bias's change is no noise memorization */
                    double v = dot(diff + (j * m + r) * d, h->X + (i * h->P + p) * d,
                                   d - (size_t)h->bias);
                    if (!any || v > best) best = v;
                    any = 1;
                }
            }
            rho[i] = best;
        }
        pegr_metrics_gamma(gamma, m, out);
        double rsum = 0.0;
        for (size_t i = 0; i < h->n; i++) rsum += rho[i];
        out->rho_mean = rsum / (double)h->n;
        s = error_rate(h, h->X_test, h->y_test, h->n_test, q, &out->test_error, err);
    }
    free(diff);
    free(gamma);
    free(rho);
    return s;
}

/* The request plus every output the metrics need, at the current weights. */
static pegr_status evaluate_with_metrics(host_backend *h, const pegr_eval_request *req,
                                         pegr_error *err)
{
    if (!req->metrics) return evaluate_at(h, h->W, NULL, NULL, req, err);
    if (!h->have_reference)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "metrics need set_reference (W0, mu, the signal patches) first");
    size_t n = h->n;
    double *f = malloc(n * sizeof(double)), *l = malloc(n * sizeof(double));
    double *g2 = malloc(n * sizeof(double));
    double *grad = req->grad ? req->grad : malloc(2 * h->m * h->d * sizeof(double));
    pegr_status s = PEGR_OK;
    if (!f || !l || !g2 || !grad) s = oom(err, "for the metrics");
    pegr_eval_request r = *req;
    double L = 0, obj = 0;
    if (s == PEGR_OK) {
        r.grad = grad;
        r.margin = f;
        r.loss = l;
        r.norm2 = g2;
        r.mean_loss = &L;
        r.objective = &obj;
        r.weights = NULL; /* metrics are over the whole training set */
        s = evaluate_at(h, h->W, NULL, h->grad_v, &r, err);
    }
    if (s == PEGR_OK) {
        pegr_metrics *mt = req->metrics;
        pegr_metrics_from_examples(h->y, f, l, g2, n, mt);
        mt->objective = obj;
        /* the norm over every trained parameter: W, and v when it is learned */
        double v2 = h->learn ? dot(h->grad_v, h->grad_v, 2 * h->m) : 0.0;
        mt->grad_norm = sqrt(dot(grad, grad, 2 * h->m * h->d) + v2);
        s = reference_metrics(h, req->q, mt, err);
    }
    /* The caller's own outputs, with its own weights, when it asked for more than metrics. */
    pegr_eval_request rest = *req;
    rest.metrics = NULL;
    int more = rest.margin || rest.loss || rest.norm2 || rest.per_example_grad || rest.mean_loss ||
               rest.objective || (rest.grad && rest.weights);
    if (s == PEGR_OK && more) s = evaluate_at(h, h->W, NULL, NULL, &rest, err);
    free(f);
    free(l);
    free(g2);
    if (grad != req->grad) free(grad);
    return s;
}

static pegr_status host_evaluate(pegr_backend *b, const pegr_eval_request *req, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->X || !h->W)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "host backend: set_data and set_weights must come before evaluate");
    pegr_eval_request r = *req; /* one run: its lam */
    r.lam = pegr_request_lam(req, 0);
    r.run_lam = NULL;
    return evaluate_with_metrics(h, &r, err);
}

static pegr_status host_step(pegr_backend *b, const pegr_eval_request *req, double lr,
                             pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->W)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "host backend: set_data and set_weights must come before step");
    size_t count = 2 * h->m * h->d;
    pegr_eval_request r = *req; /* one run: its lam and learning rate */
    r.lam = pegr_request_lam(req, 0);
    lr = pegr_request_lr(req, lr, 0);
    r.run_lam = r.run_lr = NULL;
    if (!r.grad) {
        double *grown = realloc(h->grad, count * sizeof(double));
        if (!grown) return oom(err, "for the gradient");
        h->grad = grown;
        r.grad = h->grad;
    }
    pegr_status s = PEGR_OK;
    if (r.metrics) {
        /* Metrics describe the whole training set at the current weights, before the update. */
        pegr_eval_request mreq = {.method = r.method, .q = r.q, .lam = r.lam, .metrics = r.metrics};
        s = evaluate_with_metrics(h, &mreq, err);
        r.metrics = NULL;
    }
    if (s == PEGR_OK) s = evaluate_at(h, h->W, NULL, h->grad_v, &r, err);
    if (s != PEGR_OK) return s;
    int bad = 0;
    for (size_t k = 0; k < count && lr != 0.0; k++) { /* lr 0 leaves W as it is, as on devices */
        h->W[k] -= lr * r.grad[k];
        bad |= !isfinite(h->W[k]);
    }
    for (size_t k = 0; h->learn && k < 2 * h->m && lr != 0.0; k++) { /* v, by the same rule */
        h->v[k] -= lr * h->grad_v[k];
        bad |= !isfinite(h->v[k]);
    }
    if (bad && h->first_bad < 0) h->first_bad = h->steps_done;
    h->steps_done++;
    return PEGR_OK;
}

/* SAM (docs/math.md): g at W (with the outputs req asks for, as step's), then the gradient at
 * W + rho g / ||g||_F, then W -= lr * that gradient. The ascent point is a copy: W itself is
 * never moved and moved back. Per-example (1-SAM): the gradient of every example at its own
 * ascent point (pegr_ref_sam1_gradient), then the same update. */
static pegr_status host_sam_step(pegr_backend *b, const pegr_eval_request *req, double lr,
                                 double rho, const double *run_rho, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->W)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "host backend: set_data and set_weights must come before step");
    pegr_status s = pegr_check_sam_rho(run_rho, rho, 1, err);
    if (s != PEGR_OK) return s;
    rho = pegr_request_rho(run_rho, rho, 0);
    size_t count = 2 * h->m * h->d, cols = 2 * h->m;
    double *g = malloc(count * sizeof(double)), *Wa = malloc(count * sizeof(double));
    double *ga = malloc(count * sizeof(double));
    /* a learned v takes part in the ascent and the descent: va = v + eps gv, gva its gradient */
    double *va = malloc(cols * sizeof(double)), *gva = malloc(cols * sizeof(double));
    if (!g || !Wa || !ga || !va || !gva) s = oom(err, "for the SAM step");
    /* The first evaluation: exactly a step's outputs at W, with its lr 0 (W stays). */
    pegr_eval_request first = *req;
    first.run_lr = NULL;
    if (s == PEGR_OK && !first.grad) first.grad = g;
    if (s == PEGR_OK) s = host_step(b, &first, 0.0, err);
    if (s == PEGR_OK && b->sam_variant == PEGR_SAM_PER_EXAMPLE) {
        h->steps_done--; /* that was the outputs at W */
        /* 1-SAM: every example's gradient at its own ascent point, in closed form (host_ref.c) */
        pegr_ref_model md = host_model(h, NULL, h->learn ? gva : NULL);
        int bad_norm = 0;
        s = pegr_ref_sam1_gradient(h->X, h->K, h->y, h->n, h->P, h->d, h->W, h->m, &md, req->q,
                                   rho, req->weights, ga, &bad_norm, err);
        /* the full variant's rule, per example: a ||grad f_i|| at W that is not finite is
         * divergence, dated to the update that made W (docs/math.md, SAM) */
        if (s == PEGR_OK && bad_norm && h->first_bad < 0)
            h->first_bad = h->steps_done > 0 ? h->steps_done - 1 : 0;
    } else if (s == PEGR_OK) {
        h->steps_done--; /* that was half of this step */
        const double *g0 = first.grad;
        /* ||g||_F over every trained parameter; host_step left v's gradient at v in h->grad_v */
        double norm = sqrt(dot(g0, g0, count) + (h->learn ? dot(h->grad_v, h->grad_v, cols) : 0.0));
        double eps = norm > 0.0 && isfinite(norm) ? rho / norm : 0.0; /* g = 0: no ascent */
        /* a gradient norm at W that is not finite is divergence, dated to the update that made
         * W (as a non-finite record is), as on the engine (docs/math.md, SAM): what would follow
         * is inf/NaN arithmetic, whose order differs between them */
        if (!isfinite(norm) && h->first_bad < 0) h->first_bad = h->steps_done > 0 ? h->steps_done - 1 : 0;
        for (size_t k = 0; k < count; k++) Wa[k] = h->W[k] + eps * g0[k];
        for (size_t k = 0; h->learn && k < cols; k++) va[k] = h->v[k] + eps * h->grad_v[k];
        pegr_eval_request at = {.method = PEGR_METHOD_GD, .q = req->q, .grad = ga,
                                .weights = req->weights};
        s = evaluate_at(h, Wa, h->learn ? va : NULL, h->learn ? gva : NULL, &at, err);
    }
    if (s == PEGR_OK) {
        lr = pegr_request_lr(req, lr, 0);
        int bad = 0;
        for (size_t k = 0; k < count && lr != 0.0; k++) { /* lr 0 leaves W as it is */
            h->W[k] -= lr * ga[k];
            bad |= !isfinite(h->W[k]);
        }
        for (size_t k = 0; h->learn && k < cols && lr != 0.0; k++) {
            h->v[k] -= lr * gva[k];
            bad |= !isfinite(h->v[k]);
        }
        if (bad && h->first_bad < 0) h->first_bad = h->steps_done;
        h->steps_done++;
    }
    free(g);
    free(Wa);
    free(ga);
    free(va);
    free(gva);
    return s;
}

static pegr_status host_get_weights(pegr_backend *b, double *W, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->W) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "host backend: no weights set");
    memcpy(W, h->W, 2 * h->m * h->d * sizeof(double));
    return PEGR_OK;
}

static pegr_status host_set_readout(pegr_backend *b, int readout, int learn, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->W)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "host backend: set_weights must come before set_readout");
    reset_readout(h);
    h->kappa_div = readout == PEGR_READOUT_MEAN_PATCHES ? h->P : h->m;
    if (!learn) return PEGR_OK;
    h->v = malloc(2 * h->m * sizeof(double));
    h->grad_v = calloc(2 * h->m, sizeof(double));
    if (!h->v || !h->grad_v) {
        reset_readout(h);
        return oom(err, "for the second layer");
    }
    for (size_t k = 0; k < 2 * h->m; k++) h->v[k] = 1.0;
    h->learn = 1;
    return PEGR_OK;
}

static pegr_status host_get_readout(pegr_backend *b, double *v, pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    if (!h->W) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "host backend: no weights set");
    for (size_t k = 0; k < 2 * h->m; k++) v[k] = h->learn ? h->v[k] : 1.0;
    return PEGR_OK;
}

static pegr_status host_perturbed_test_error(pegr_backend *b, double q, const double *sigmas,
                                             size_t nsigmas, const uint64_t *seed, double *rate,
                                             pegr_error *err)
{
    host_backend *h = (host_backend *)b;
    for (size_t j = 0; j < nsigmas; j++) rate[j] = NAN;
    if (!h->have_reference || h->n_test == 0 || nsigmas == 0) return PEGR_OK;
    size_t count = h->n_test * h->P * h->d;
    double *Xp = malloc(count * sizeof(double));
    if (!Xp) return oom(err, "for the perturbed test set");
    pegr_status s = PEGR_OK;
    /* The reference as it always was: the perturbed inputs formed explicitly, level by level. */
    for (size_t j = 0; j < nsigmas && s == PEGR_OK; j++) {
        pegr_perturb_rows(*seed, sigmas[j], h->X_test, h->n_test * h->P, h->d, (size_t)h->bias,
                          Xp);
        s = error_rate(h, Xp, h->y_test, h->n_test, q, &rate[j], err);
    }
    free(Xp);
    return s;
}

static pegr_status host_first_nonfinite_step(pegr_backend *b, long *step, pegr_error *err)
{
    (void)err;
    *step = ((host_backend *)b)->first_bad;
    return PEGR_OK;
}

static void host_destroy(pegr_backend *b)
{
    host_backend *h = (host_backend *)b;
    if (!h) return;
    free_reference(h);
    free(h->grad);
    free(h->X);
    free(h->y);
    free(h->K);
    free(h->W);
    reset_readout(h);
    free(h);
}

static const pegr_backend_ops host_ops = {
    .name = "host",
    .set_data = host_set_data,
    .set_weights = host_set_weights,
    .evaluate = host_evaluate,
    .step = host_step,
    .sam_step = host_sam_step,
    .get_weights = host_get_weights,
    .set_reference = host_set_reference,
    .perturbed_test_error = host_perturbed_test_error,
    .first_nonfinite_step = host_first_nonfinite_step,
    .set_readout = host_set_readout,
    .get_readout = host_get_readout,
    .destroy = host_destroy,
};

pegr_backend *pegr_host_backend_create(pegr_error *err)
{
    host_backend *h = calloc(1, sizeof(*h));
    if (!h) {
        pegr_error_set(err, PEGR_ERR_NO_MEMORY, "host backend: out of memory");
        return NULL;
    }
    h->base.ops = &host_ops;
    h->base.precision_name = "fp64";
    h->first_bad = -1;
    return &h->base;
}

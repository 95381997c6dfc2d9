/* engine_metrics.c: the paper's metrics on the device. At set_reference the engine stores what
 * they are measured against (Z0 = X W0^T, mu and mu W0^T, the signal patches, the test set); at a
 * log step it reduces everything to a few scalars on the device and reads back those and the 2m
 * values of mu W^T -- nothing d-sized. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "engine_internal.h"
#include "metrics_summary.h"

void engine_free_reference(pegr_engine *e)
{
    size_t rows = e->n * e->P, cols = 2 * e->m, el = e->elem, nt = e->n_test;
    engine_free_runs(e, &e->b.Z0, rows * cols * el);
    engine_free_runs(e, &e->b.mu, e->d * el);
    engine_free_runs(e, &e->b.Zmu, cols * el);
    engine_free_runs(e, &e->b.signal_patch, e->n * sizeof(cl_uint));
    engine_free_runs(e, &e->b.rho, e->n * el);
    engine_free_runs(e, &e->b.X_test, nt * e->P * e->d * el);
    engine_free_runs(e, &e->b.y_test, nt * el);
    engine_free_runs(e, &e->b.Z_test, nt * e->P * cols * el);
    engine_free_runs(e, &e->b.wrong, nt * el);
    /* the span representation's reference products */
    engine_free_runs(e, &e->b.Xmu, rows * el);
    engine_free_runs(e, &e->b.Sx, nt * e->P * rows * el);
    engine_free_runs(e, &e->b.Zt0, nt * e->P * cols * el);
    free(e->Zmu0);
    free(e->X_test_host);
    e->Zmu0 = NULL;
    e->X_test_host = NULL;
    e->n_test = 0;
    e->have_reference = 0;
}

static pegr_status upload_signal_patches(pegr_engine *e, const pegr_reference *ref)
{
    size_t n = e->n;
    cl_uint *u = malloc(e->runs * n * sizeof(cl_uint));
    if (!u) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    for (size_t r = 0; r < e->runs; r++)
        for (size_t i = 0; i < n; i++) u[r * n + i] = (cl_uint)ref[r].signal_patch[i];
    cl_int rc = clEnqueueWriteBuffer(e->ctx->queue, e->b.signal_patch, CL_TRUE, 0,
                                     e->runs * n * sizeof(cl_uint), u, 0, NULL, NULL);
    free(u);
    return rc == CL_SUCCESS ? PEGR_OK
                            : pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueWriteBuffer", "signal patches");
}

/* Z0 = X W0^T and Zmu0 = mu W0^T, with W0 in a buffer that lives only for this. */
static pegr_status initial_products(pegr_engine *e, const double *W0)
{
    size_t rows = e->n * e->P, cols = 2 * e->m;
    cl_mem w0 = NULL;
    pegr_status s = engine_alloc_runs(e, &w0, cols * e->d * e->elem, "W0");
    if (s == PEGR_OK) s = engine_upload(e, w0, W0, e->runs * cols * e->d);
    if (s == PEGR_OK) s = engine_gemm_nt(e, rows, cols, e->d, e->b.X, w0, e->b.Z0);
    if (s == PEGR_OK) s = engine_gemm_nt(e, 1, cols, e->d, e->b.mu, w0, e->b.Zmu);
    if (s == PEGR_OK) s = engine_download(e, e->b.Zmu, 0, e->Zmu0, e->runs * cols);
    if (s == PEGR_OK && e->span) s = engine_span_reference(e, w0);
    engine_free_runs(e, &w0, cols * e->d * e->elem);
    return s;
}

/* The runs' `count` numbers at field offset `at` of each reference, one run after another. */
static double *gather(const pegr_engine *e, const pegr_reference *ref, size_t at, size_t count)
{
    size_t total = e->runs * count;
    double *out = malloc((total > 0 ? total : 1) * sizeof(double));
    for (size_t r = 0; out && r < e->runs; r++)
        memcpy(out + r * count, *(const double *const *)((const char *)&ref[r] + at),
               count * sizeof(double));
    return out;
}

pegr_status engine_set_reference(pegr_backend *b, const pegr_reference *ref, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (!e->have_weights)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "set_reference before set_weights");
    size_t R = e->runs, rows = e->n * e->P, cols = 2 * e->m, el = e->elem, nt = ref->n_test;
    for (size_t r = 1; r < R; r++)
        if (ref[r].n_test != nt)
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "the runs of a batch need the same n_test (run 0 has %zu, run %zu "
                                  "has %zu)", nt, r, ref[r].n_test);
    engine_free_reference(e);
    e->n_test = nt;
    size_t ntPd = nt * e->P * e->d;
    e->Zmu0 = malloc(R * cols * sizeof(double));
    e->X_test_host = nt ? gather(e, ref, offsetof(pegr_reference, X_test), ntPd) : NULL;
    double *mu = gather(e, ref, offsetof(pegr_reference, mu), e->d);
    double *W0 = gather(e, ref, offsetof(pegr_reference, W0), cols * e->d);
    double *y_test = nt ? gather(e, ref, offsetof(pegr_reference, y_test), nt) : NULL;
    pegr_status s = PEGR_OK;
    if (!e->Zmu0 || !mu || !W0 || (nt && (!e->X_test_host || !y_test)))
        s = pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory for the reference");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.Z0, rows * cols * el, "Z0");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.mu, e->d * el, "mu");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.Zmu, cols * el, "Zmu");
    if (s == PEGR_OK)
        s = engine_alloc_runs(e, &e->b.signal_patch, e->n * sizeof(cl_uint), "signal patches");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.rho, e->n * el, "rho");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.X_test, ntPd * el, "X_test");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.y_test, nt * el, "y_test");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.Z_test, nt * e->P * cols * el, "Z_test");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.wrong, nt * el, "test errors");
    if (s == PEGR_OK) s = engine_upload(e, e->b.mu, mu, R * e->d);
    if (s == PEGR_OK) s = upload_signal_patches(e, ref);
    if (s == PEGR_OK && nt) s = engine_upload(e, e->b.X_test, e->X_test_host, R * ntPd);
    if (s == PEGR_OK && nt) s = engine_upload(e, e->b.y_test, y_test, R * nt);
    if (s == PEGR_OK) s = initial_products(e, W0);
    free(mu);
    free(W0);
    free(y_test);
    if (s != PEGR_OK) {
        engine_free_reference(e);
        return engine_report(e, s, err);
    }
    e->have_reference = 1;
    return PEGR_OK;
}

pegr_status engine_test_error(pegr_engine *e, cl_mem X, cl_mem W, size_t nt, double q)
{
    size_t cols = 2 * e->m;
    pegr_status s = X ? engine_gemm_nt(e, nt * e->P, cols, e->d, X, W, e->b.Z_test)
                      : engine_span_test_forward(e);
    if (s != PEGR_OK) return s;
    engine_args a = engine_args_begin(e, e->k.test_wrong, "pegr_test_wrong");
    engine_arg_u32(&a, e->runs * nt); /* every run's test examples */
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_real(&a, q);
    engine_arg_mem(&a, e->b.Z_test);
    engine_arg_mem(&a, e->b.y_test);
    engine_arg_mem(&a, e->b.wrong);
    size_t global[1] = {e->runs * nt};
    s = engine_launch(&a, 1, global);
    if (s == PEGR_OK)
        s = engine_reduce(e, e->b.wrong, NULL, nt, REDUCE_SUM, 1.0 / (double)nt, SLOT_TEST_ERROR);
    return s;
}

static pegr_status rho_and_stats(pegr_engine *e)
{
    engine_args a = engine_args_begin(e, e->k.rho, "pegr_rho");
    engine_arg_u32(&a, e->runs * e->n); /* every run's examples */
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_mem(&a, e->b.y);
    engine_arg_mem(&a, e->b.signal_patch);
    engine_arg_mem(&a, e->b.Z);
    engine_arg_mem(&a, e->b.Z0);
    engine_arg_mem(&a, e->b.rho);
    size_t global[1] = {e->runs * e->n};
    pegr_status s = engine_launch(&a, 1, global);
    if (s != PEGR_OK) return s;
    engine_args t = engine_args_begin(e, e->k.train_stats, "pegr_train_stats");
    engine_arg_u32(&t, e->n);
    engine_arg_mem(&t, e->b.y);
    engine_arg_mem(&t, e->b.margin);
    engine_arg_mem(&t, e->b.loss);
    engine_arg_mem(&t, e->b.norm2);
    engine_arg_mem(&t, e->b.rho);
    engine_arg_mem(&t, e->b.scalars);
    engine_arg_u32(&t, SLOT_COUNT);
    engine_arg_u32(&t, SLOT_STATS);
    return engine_launch_group_per_run(&t, e->reduce_wg);
}

pegr_status engine_metrics(pegr_engine *e, const pegr_eval_request *req, pegr_metrics *out)
{
    size_t cols = 2 * e->m, rows = e->n * e->P;
    pegr_status s = rho_and_stats(e);
    if (e->span) { /* ||C^T X||^2 = <C, S C>; mu W^T - mu W0^T = Gam X mu */
        if (s == PEGR_OK) s = engine_span_times_S(e, e->b.C, e->b.SC);
        if (s == PEGR_OK)
            s = engine_reduce(e, e->b.C, e->b.SC, rows * cols, REDUCE_DOT, 1.0, SLOT_GRADNORM2);
        if (s == PEGR_OK) s = engine_span_gamma(e, e->b.Zmu);
    } else {
        if (s == PEGR_OK)
            s = engine_reduce(e, e->b.grad, NULL, cols * e->d, REDUCE_SQUARES, 1.0, SLOT_GRADNORM2);
        if (s == PEGR_OK) s = engine_gemm_nt(e, 1, cols, e->d, e->b.mu, e->b.W, e->b.Zmu);
    }
    if (s == PEGR_OK && e->n_test)
        s = engine_test_error(e, e->span ? NULL : e->b.X_test, e->b.W, e->n_test, req->q);
    size_t R = e->runs;
    double *slots = malloc(R * SLOT_COUNT * sizeof(double));
    double *gamma = malloc(R * cols * sizeof(double));
    if (!gamma || !slots) s = pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    if (s == PEGR_OK) s = engine_download(e, e->b.scalars, 0, slots, R * SLOT_COUNT);
    if (s == PEGR_OK) s = engine_download(e, e->b.Zmu, 0, gamma, R * cols);
    for (size_t r = 0; r < R && s == PEGR_OK; r++) {
        const double *row = slots + r * SLOT_COUNT, *st = row + SLOT_STATS;
        double *g = gamma + r * cols;
        pegr_metrics *o = &out[r];
        pegr_metrics_from_sums(st[0], st[1], st[2], st[3], e->n, o);
        o->rho_mean = st[4] / (double)e->n;
        for (size_t c = 0; c < cols; c++) { /* + 0.0: no "-0" in the files */
            double delta = e->span ? g[c] : g[c] - e->Zmu0[r * cols + c];
            g[c] = (c < e->m ? 1.0 : -1.0) * delta + 0.0;
        }
        pegr_metrics_gamma(g, e->m, o);
        o->grad_norm = sqrt(row[SLOT_GRADNORM2]);
        o->test_error = e->n_test ? row[SLOT_TEST_ERROR] : NAN;
        o->objective = engine_objective(req, r, row);
    }
    free(slots);
    free(gamma);
    return s;
}

pegr_status engine_perturbed_test_error(pegr_backend *b, double q, double sigma,
                                        const uint64_t *seed, double *rate, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    size_t R = e->runs;
    for (size_t r = 0; r < R; r++) rate[r] = NAN;
    if (!e->have_reference || e->n_test == 0) return PEGR_OK;
    size_t count = e->n_test * e->P * e->d; /* one run's */
    double *Xp = malloc(R * count * sizeof(double));
    double *slots = malloc(R * SLOT_COUNT * sizeof(double));
    if (!Xp || !slots) {
        free(Xp);
        free(slots);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of host memory");
    }
    for (size_t r = 0; r < R; r++) /* each run's own noise, from its own seed */
        pegr_perturb(seed[r], sigma, e->X_test_host + r * count, count, Xp + r * count);
    cl_mem buf = NULL;
    pegr_status s = engine_alloc_runs(e, &buf, count * e->elem, "perturbed X_test");
    if (s == PEGR_OK) s = engine_upload(e, buf, Xp, R * count);
    cl_mem W = s == PEGR_OK ? engine_current_weights(e, &s) : NULL;
    if (s == PEGR_OK) s = engine_test_error(e, buf, W, e->n_test, q);
    if (s == PEGR_OK) s = engine_download(e, e->b.scalars, 0, slots, R * SLOT_COUNT);
    for (size_t r = 0; r < R && s == PEGR_OK; r++) rate[r] = slots[r * SLOT_COUNT + SLOT_TEST_ERROR];
    engine_free_runs(e, &buf, count * e->elem);
    free(Xp);
    free(slots);
    return engine_report(e, s, err);
}

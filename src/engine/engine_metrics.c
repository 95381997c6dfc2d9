/* engine_metrics.c: the paper's metrics on the device. At set_reference the engine stores what
 * they are measured against (Z0 = X W0^T, mu and mu W0^T, the signal patches, the test set); at a
 * log step it reduces everything to a few scalars on the device and reads back those and the 2m
 * values of mu W^T -- nothing d-sized. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/data.h"
#include "engine/engine_metrics.h"
#include "backend/metrics_summary.h"
#include "util/rng.h"

/* ---- A bias (the reference's bias; docs/math.md, "Model variants") -------------------------
 * The training layer gives a per-filter bias as one more coordinate of every patch, the constant
 * 1, so Z - Z0 at a noise patch is <W - W0, xi> + (b - b0). rho is the first term alone: pegr_rho
 * subtracts bias_now - bias_init, the change of W's last column, formed on the device: primal,
 * bias_now = e_{d-1} W^T (W's last column exactly) and bias_init = W0's last column; span, W - W0
 * = Gam X, so the change is (X e_{d-1})^T Gam^T itself and bias_init is 0. */
static void bias_free(pegr_engine *e)
{
    size_t cols = 2 * e->m, el = e->elem;
    engine_free_runs(e, &e->b.bias_dir, e->bias_dir_len * el);
    engine_free_runs(e, &e->b.bias_now, cols * el);
    engine_free_runs(e, &e->b.bias_init, cols * el);
    e->bias = 0;
    e->bias_dir_len = 0;
}

/* At set_reference, with W0 (runs, cols, d) on the host: the direction and W0's part. */
static pegr_status bias_reference(pegr_engine *e, const double *W0)
{
    size_t R = e->runs, cols = 2 * e->m, d = e->d, rows = e->n * e->P, el = e->elem;
    double *unit = calloc(R * d, sizeof(double)), *init = calloc(R * cols, sizeof(double));
    pegr_status s = unit && init ? PEGR_OK
                                 : pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY,
                                                 "out of host memory for the bias");
    for (size_t r = 0; s == PEGR_OK && r < R; r++) {
        unit[r * d + d - 1] = 1.0;
        for (size_t c = 0; !e->span && c < cols; c++)
            init[r * cols + c] = W0[(r * cols + c) * d + d - 1];
    }
    e->bias = 1;
    e->bias_dir_len = e->span ? rows : d;
    if (s == PEGR_OK)
        s = engine_alloc_runs(e, &e->b.bias_dir, e->bias_dir_len * el, "bias direction");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.bias_now, cols * el, "bias change");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.bias_init, cols * el, "initial bias");
    if (s == PEGR_OK) s = engine_upload(e, e->b.bias_init, init, R * cols);
    if (s == PEGR_OK && !e->span) s = engine_upload(e, e->b.bias_dir, unit, R * d);
    if (s == PEGR_OK && e->span) { /* X e_{d-1}: every patch's last coordinate (its 1) */
        cl_mem u = NULL;
        s = engine_alloc_runs(e, &u, d * el, "bias unit vector");
        if (s == PEGR_OK) s = engine_upload(e, u, unit, R * d);
        if (s == PEGR_OK) s = engine_gemm_nt(e, rows, 1, d, e->b.X, u, e->b.bias_dir);
        engine_free_runs(e, &u, d * el);
    }
    free(unit);
    free(init);
    return s;
}

/* bias_now at the current weights (before pegr_rho reads it). */
static pegr_status bias_change(pegr_engine *e)
{
    size_t cols = 2 * e->m;
    cl_mem by = e->span ? e->b.Gam : e->b.W;
    return engine_gemm_nt(e, 1, cols, e->bias_dir_len, e->b.bias_dir, by, e->b.bias_now);
}

void engine_free_reference(pegr_engine *e)
{
    size_t rows = e->n * e->P, cols = 2 * e->m, el = e->elem, nt = e->n_test;
    size_t S = engine_signal_rows(e);
    engine_free_runs(e, &e->b.Z0, rows * cols * el);
    engine_free_runs(e, &e->b.mu, S * e->d * el);
    engine_free_runs(e, &e->b.Zmu, S * cols * el);
    engine_free_runs(e, &e->b.signal_patch, e->n * sizeof(cl_uint));
    engine_free_runs(e, &e->b.rho, e->n * el);
    engine_free_runs(e, &e->b.X_test, nt * e->P * e->d * el);
    engine_free_runs(e, &e->b.y_test, nt * el);
    engine_free_runs(e, &e->b.Z_test, nt * e->P * cols * el);
    engine_free_runs(e, &e->b.wrong, nt * el);
    /* the span representation's reference products */
    engine_free_runs(e, &e->b.Xmu, S * rows * el);
    engine_free_runs(e, &e->b.Sx, nt * e->P * rows * el);
    engine_free_runs(e, &e->b.Zt0, nt * e->P * cols * el);
    bias_free(e);
    free(e->Zmu0);
    e->Zmu0 = NULL;
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
    size_t S = engine_signal_rows(e);
    if (s == PEGR_OK) s = engine_gemm_nt(e, S, cols, e->d, e->b.mu, w0, e->b.Zmu);
    if (s == PEGR_OK) s = engine_download(e, e->b.Zmu, 0, e->Zmu0, e->runs * S * cols);
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
    for (size_t r = 1; r < R; r++)
        if ((ref[r].bias != 0) != (ref->bias != 0))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "the runs of a batch need the same bias (run 0 has %d, run %zu "
                                  "has %d)", ref->bias != 0, r, ref[r].bias != 0);
    if (ref->bias && e->d < 2)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "a bias needs d >= 2 (the inputs and the bias's 1), not d = %zu", e->d);
    /* XOR data carry two signal directions (u+, u-), the others one: one count per batch */
    size_t S = ref->n_signal == 2 ? 2 : 1;
    for (size_t r = 0; r < R; r++)
        if (ref[r].n_signal > 2 || (ref[r].n_signal == 2) != (S == 2))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "reference n_signal: run %zu has %zu, run 0 has %zu (each must be "
                                  "0 or 1 (one signal vector) or 2 (XOR's u+, u-), the same in a "
                                  "batch)", r, ref[r].n_signal, ref->n_signal);
    engine_free_reference(e);
    e->n_signal = S;
    e->n_test = nt;
    size_t ntPd = nt * e->P * e->d;
    e->Zmu0 = malloc(R * S * cols * sizeof(double));
    double *X_test = nt ? gather(e, ref, offsetof(pegr_reference, X_test), ntPd) : NULL;
    double *mu = gather(e, ref, offsetof(pegr_reference, mu), S * e->d);
    double *W0 = gather(e, ref, offsetof(pegr_reference, W0), cols * e->d);
    double *y_test = nt ? gather(e, ref, offsetof(pegr_reference, y_test), nt) : NULL;
    pegr_status s = PEGR_OK;
    if (!e->Zmu0 || !mu || !W0 || (nt && (!X_test || !y_test)))
        s = pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory for the reference");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.Z0, rows * cols * el, "Z0");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.mu, S * e->d * el, "mu");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.Zmu, S * cols * el, "Zmu");
    if (s == PEGR_OK)
        s = engine_alloc_runs(e, &e->b.signal_patch, e->n * sizeof(cl_uint), "signal patches");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.rho, e->n * el, "rho");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.X_test, ntPd * el, "X_test");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.y_test, nt * el, "y_test");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.Z_test, nt * e->P * cols * el, "Z_test");
    if (s == PEGR_OK && nt) s = engine_alloc_runs(e, &e->b.wrong, nt * el, "test errors");
    if (s == PEGR_OK) s = engine_upload(e, e->b.mu, mu, R * S * e->d);
    if (s == PEGR_OK) s = upload_signal_patches(e, ref);
    if (s == PEGR_OK && nt) s = engine_upload(e, e->b.X_test, X_test, R * ntPd);
    if (s == PEGR_OK && nt) s = engine_upload(e, e->b.y_test, y_test, R * nt);
    if (s == PEGR_OK) s = initial_products(e, W0);
    if (s == PEGR_OK && ref->bias) s = bias_reference(e, W0);
    free(X_test);
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

/* Z_test = X_test W^T for the weights in W: the span representation's cheaper form when it is
 * set up (W0 X_test^T + (X_test X^T) Gam^T, no d-sized product), a GEMM otherwise. */
static pegr_status test_forward(pegr_engine *e, cl_mem X, cl_mem W, size_t nt)
{
    return X ? engine_gemm_nt(e, nt * e->P, 2 * e->m, e->d, X, W, e->b.Z_test)
             : engine_span_test_forward(e);
}

pegr_status engine_test_error(pegr_engine *e, cl_mem X, cl_mem W, size_t nt, double q)
{
    pegr_status s = test_forward(e, X, W, nt);
    if (s != PEGR_OK) return s;
    engine_args a = engine_args_begin(e, e->k.test_wrong, "pegr_test_wrong");
    engine_arg_u32(&a, e->runs * nt); /* every run's test examples */
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_real(&a, q);
    engine_arg_mem(&a, e->b.Z_test);
    engine_arg_mem(&a, e->b.y_test);
    engine_arg_mem(&a, e->b.wrong);
    engine_arg_u32(&a, nt); /* a learned second layer weighs the columns (run = i / nt) */
    engine_arg_i32(&a, e->learn);
    engine_arg_mem(&a, e->learn ? e->rb.v : e->b.wrong);
    size_t global[1] = {e->runs * nt};
    s = engine_launch(&a, 1, global);
    if (s == PEGR_OK)
        s = engine_reduce(e, e->b.wrong, NULL, nt, PEGR_REDUCE_SUM, 1.0 / (double)nt,
                          SLOT_TEST_ERROR);
    return s;
}

static pegr_status rho_and_stats(pegr_engine *e)
{
    pegr_status sb = e->bias ? bias_change(e) : PEGR_OK;
    if (sb != PEGR_OK) return sb;
    engine_args a = engine_args_begin(e, e->k.rho, "pegr_rho");
    engine_arg_u32(&a, e->runs * e->n); /* every run's examples */
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_mem(&a, e->b.y);
    engine_arg_mem(&a, e->b.signal_patch);
    engine_arg_mem(&a, e->b.Z);
    engine_arg_mem(&a, e->b.Z0);
    engine_arg_mem(&a, e->b.rho);
    engine_arg_u32(&a, e->n);
    engine_arg_i32(&a, e->bias);
    /* without a bias the kernel reads neither: Z0 stands in for both */
    engine_arg_mem(&a, e->bias ? e->b.bias_now : e->b.Z0);
    engine_arg_mem(&a, e->bias ? e->b.bias_init : e->b.Z0);
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
            s = engine_reduce(e, e->b.C, e->b.SC, rows * cols, PEGR_REDUCE_DOT, 1.0,
                              SLOT_GRADNORM2);
        if (s == PEGR_OK) s = engine_span_gamma(e, e->b.Zmu);
    } else {
        if (s == PEGR_OK)
            s = engine_reduce(e, e->b.grad, NULL, cols * e->d, PEGR_REDUCE_SQUARES, 1.0,
                              SLOT_GRADNORM2);
        if (s == PEGR_OK)
            s = engine_gemm_nt(e, engine_signal_rows(e), cols, e->d, e->b.mu, e->b.W, e->b.Zmu);
    }
    if (s == PEGR_OK && e->n_test)
        s = engine_test_error(e, e->span ? NULL : e->b.X_test, e->b.W, e->n_test, req->q);
    size_t R = e->runs, S = engine_signal_rows(e);
    double *slots = malloc(R * SLOT_COUNT * sizeof(double));
    double *gamma = malloc(R * S * cols * sizeof(double));
    if (!gamma || !slots) s = pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    if (s == PEGR_OK) s = engine_download(e, e->b.scalars, 0, slots, R * SLOT_COUNT);
    if (s == PEGR_OK) s = engine_download(e, e->b.Zmu, 0, gamma, R * S * cols);
    for (size_t r = 0; r < R && s == PEGR_OK; r++) {
        const double *row = slots + r * SLOT_COUNT, *st = row + SLOT_STATS;
        double *g = gamma + r * S * cols; /* (S, cols): the projections on each signal row */
        pegr_metrics *o = &out[r];
        pegr_metrics_from_sums(st[0], st[1], st[2], st[3], e->n, o);
        o->rho_mean = st[4] / (double)e->n;
        for (size_t c = 0; c < cols; c++) { /* gamma[c] into g[c]: row 0 is read at or after c */
            size_t at = pegr_metrics_signal_row(S, c, e->m) * cols + c;
            double delta = e->span ? g[at] : g[at] - e->Zmu0[r * S * cols + at];
            g[c] = pegr_metrics_gamma_entry(S, c, e->m, delta);
        }
        pegr_metrics_gamma(g, e->m, o);
        o->grad_norm = sqrt(row[SLOT_GRADNORM2] + (e->learn ? row[SLOT_VNORM2] : 0.0)); /* W, v */
        o->test_error = e->n_test ? row[SLOT_TEST_ERROR] : NAN;
        o->objective = engine_objective(e, req, r, row);
    }
    free(slots);
    free(gamma);
    return s;
}

/* ---- The robust test: every noise level of every run in one pass (cl/metrics.cl) ------------ */

/* A kernel of the engine's program made for one call (the robust test runs once per training, so
 * the engine keeps no handle for it). */
static cl_kernel make_kernel(pegr_engine *e, const char *name, pegr_status *s)
{
    cl_int rc = CL_SUCCESS;
    cl_kernel k = clCreateKernel((cl_program)pegr_program_cl(e->program), name, &rc);
    if (rc != CL_SUCCESS) *s = pegr_ctx_cl_fail(e->ctx, rc, "clCreateKernel", name);
    return k;
}

/* The kernel's own work-group limit (CL_KERNEL_WORK_GROUP_SIZE), at most `cap`. */
static size_t kernel_wg_limit(pegr_engine *e, cl_kernel k, size_t cap)
{
    size_t limit = 1;
    if (clGetKernelWorkGroupInfo(k, (cl_device_id)e->ctx->device.cl_device,
                                 CL_KERNEL_WORK_GROUP_SIZE, sizeof limit, &limit,
                                 NULL) != CL_SUCCESS)
        limit = 1;
    return limit < cap ? limit : cap;
}

/* The noise is drawn and multiplied one block of test examples at a time, every run at once,
 * the block's noise buffer within this many bytes (at least one example). */
#define ROBUST_BLOCK_BYTES ((size_t)32 << 20)

/* Per run: noise rows r0 .. r0 + rc - 1 of `width` inputs each (flat from r0 * width) into N
 * (run after run). One launch per run, the seed as arguments: a key read from a buffer keeps
 * PoCL's loop scalar. */
static pegr_status robust_noise(pegr_engine *e, cl_kernel k, const uint64_t *seed, size_t r0,
                                size_t rc, size_t width, cl_mem N)
{
    pegr_status s = PEGR_OK;
    for (size_t r = 0; r < e->runs && s == PEGR_OK; r++) {
        engine_args a = engine_args_begin(e, k, "pegr_robust_noise");
        engine_arg_u32(&a, (uint32_t)seed[r]);
        engine_arg_u32(&a, (uint32_t)(seed[r] >> 32));
        engine_arg_u32(&a, PEGR_STREAM_PERTURB);
        engine_arg_u64(&a, r0 * width);
        engine_arg_u32(&a, rc * width);
        engine_arg_mem(&a, N);
        engine_arg_u64(&a, r * rc * width);
        size_t global[1] = {rc * width};
        s = engine_launch(&a, 1, global);
    }
    return s;
}

/* Adds to out (runs x nsig) the wrong decisions of examples i0 .. i0 + ne - 1 (G: theirs). */
static pegr_status robust_wrong(pegr_engine *e, cl_kernel k, double q, size_t i0, size_t ne,
                                size_t nsig, cl_mem sigmas, cl_mem G, cl_mem out)
{
    engine_args a = engine_args_begin(e, k, "pegr_robust_wrong");
    engine_arg_u32(&a, e->n_test);
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->m);
    engine_arg_real(&a, q);
    engine_arg_u32(&a, i0);
    engine_arg_u32(&a, ne);
    engine_arg_i32(&a, i0 == 0);
    engine_arg_mem(&a, sigmas);
    engine_arg_mem(&a, e->b.Z_test);
    engine_arg_mem(&a, G);
    engine_arg_mem(&a, e->b.y_test);
    engine_arg_mem(&a, out);
    engine_arg_i32(&a, e->learn); /* a learned second layer */
    engine_arg_mem(&a, e->learn ? e->rb.v : out);
    /* The tree needs a power of two within the compiled PEGR_WG_SIZE (reduce_wg is one). */
    size_t limit = kernel_wg_limit(e, k, e->reduce_wg), L = 1;
    while (L * 2 <= limit) L *= 2;
    const size_t global[3] = {L, nsig, e->runs}, local[3] = {L, 1, 1};
    return engine_launch_local(&a, 3, global, local);
}

/* With a bias: *Wd = W without its last column (cols x (d - 1) per run), for the product with
 * the noise of the d - 1 inputs (pegr_drop_last in metrics.cl). */
static pegr_status robust_input_weights(pegr_engine *e, cl_mem W, cl_mem *Wd)
{
    size_t cols = 2 * e->m, d = e->d;
    pegr_status s = engine_alloc_runs(e, Wd, cols * (d - 1) * e->elem, "W without the bias");
    cl_kernel k = s == PEGR_OK ? make_kernel(e, "pegr_drop_last", &s) : NULL;
    if (s == PEGR_OK) {
        engine_args a = engine_args_begin(e, k, "pegr_drop_last");
        engine_arg_u32(&a, cols);
        engine_arg_u32(&a, d);
        engine_arg_mem(&a, W);
        engine_arg_mem(&a, *Wd);
        size_t global[3] = {d - 1, cols, e->runs};
        s = engine_launch(&a, 3, global);
    }
    if (k) clReleaseKernel(k);
    return s;
}

pegr_status engine_perturbed_test_error(pegr_backend *b, double q, const double *sigmas,
                                        size_t nsig, const uint64_t *seed, double *rate,
                                        pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    /* d: a patch's inputs, which the noise perturbs; a bias's 1 (the last coordinate) is not an
     * input: the noise and its product G = N W^T leave it and W's last column out */
    size_t R = e->runs, cols = 2 * e->m, P = e->P, d = e->d - (size_t)e->bias, nt = e->n_test;
    for (size_t r = 0; r < R * nsig; r++) rate[r] = NAN;
    if (!e->have_reference || nt == 0 || nsig == 0) return PEGR_OK;
    /* ne examples per block: the noise of all runs' blocks within ROBUST_BLOCK_BYTES */
    size_t ne = ROBUST_BLOCK_BYTES / (R * P * d * e->elem);
    if (ne == 0) ne = 1;
    if (ne > nt) ne = nt;
    pegr_status s = PEGR_OK;
    cl_kernel kn = make_kernel(e, "pegr_robust_noise", &s);
    cl_kernel kw = s == PEGR_OK ? make_kernel(e, "pegr_robust_wrong", &s) : NULL;
    cl_mem N = NULL, G = NULL, sig = NULL, out = NULL;
    if (s == PEGR_OK) s = engine_alloc_runs(e, &N, ne * P * d * e->elem, "robust test noise");
    if (s == PEGR_OK)
        s = engine_alloc_runs(e, &G, ne * P * cols * e->elem, "robust test projections");
    if (s == PEGR_OK) s = engine_alloc(e, &sig, nsig * e->elem, "robust test sigmas");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &out, nsig * e->elem, "robust test errors");
    if (s == PEGR_OK) s = engine_upload(e, sig, sigmas, nsig);
    cl_mem W = s == PEGR_OK ? engine_current_weights(e, &s) : NULL;
    if (s == PEGR_OK) s = test_forward(e, e->span ? NULL : e->b.X_test, W, nt);
    cl_mem Win = W, Wd = NULL; /* W's input columns: W itself, or W without a bias's column */
    if (s == PEGR_OK && e->bias) s = robust_input_weights(e, W, &Wd);
    if (Wd) Win = Wd;
    for (size_t i0 = 0; i0 < nt && s == PEGR_OK; i0 += ne) {
        size_t count = nt - i0 < ne ? nt - i0 : ne; /* the last block may be shorter */
        s = robust_noise(e, kn, seed, i0 * P, count * P, d, N);
        /* G = N W^T, strided over the runs like every engine GEMM (block-sized strides) */
        if (s == PEGR_OK) s = engine_gemm_nt(e, count * P, cols, d, N, Win, G);
        if (s == PEGR_OK) s = robust_wrong(e, kw, q, i0, count, nsig, sig, G, out);
    }
    if (s == PEGR_OK) s = engine_download(e, out, 0, rate, R * nsig);
    for (size_t r = 0; r < R * nsig && s == PEGR_OK; r++) rate[r] /= (double)nt;
    engine_free_runs(e, &Wd, cols * d * e->elem);
    engine_free_runs(e, &out, nsig * e->elem);
    engine_free(e, &sig, nsig * e->elem);
    engine_free_runs(e, &G, ne * P * cols * e->elem);
    engine_free_runs(e, &N, ne * P * d * e->elem);
    if (kn) clReleaseKernel(kn);
    if (kw) clReleaseKernel(kw);
    if (s != PEGR_OK)
        for (size_t r = 0; r < R * nsig; r++) rate[r] = NAN;
    return engine_report(e, s, err);
}

pegr_status engine_debug_philox(pegr_backend *b, uint64_t seed, uint32_t stream, uint64_t first,
                                size_t count, uint32_t *words, double *normals, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (count == 0) return PEGR_OK;
    pegr_status s = PEGR_OK;
    cl_kernel k = make_kernel(e, "pegr_philox_debug", &s);
    cl_mem wbuf = NULL, nbuf = NULL;
    if (s == PEGR_OK) s = engine_alloc(e, &wbuf, 4 * count * sizeof(cl_uint), "philox words");
    if (s == PEGR_OK) s = engine_alloc(e, &nbuf, count * e->elem, "philox normals");
    engine_args a = engine_args_begin(e, k, "pegr_philox_debug");
    engine_arg_u32(&a, (uint32_t)seed);
    engine_arg_u32(&a, (uint32_t)(seed >> 32));
    engine_arg_u32(&a, stream);
    engine_arg_u64(&a, first);
    engine_arg_u32(&a, count);
    engine_arg_mem(&a, wbuf);
    engine_arg_mem(&a, nbuf);
    size_t global[1] = {count};
    if (s == PEGR_OK) s = engine_launch(&a, 1, global);
    if (s == PEGR_OK) {
        cl_int rc = clEnqueueReadBuffer(e->ctx->queue, wbuf, CL_TRUE, 0,
                                        4 * count * sizeof(cl_uint), words, 0, NULL, NULL);
        if (rc != CL_SUCCESS) s = pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueReadBuffer", "words");
    }
    if (s == PEGR_OK) s = engine_download(e, nbuf, 0, normals, count);
    engine_free(e, &nbuf, count * e->elem);
    engine_free(e, &wbuf, 4 * count * sizeof(cl_uint));
    if (k) clReleaseKernel(k);
    return engine_report(e, s, err);
}

pegr_status engine_debug_normals(pegr_backend *b, const uint32_t *words, size_t count,
                                 double *normals, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (count == 0) return PEGR_OK;
    pegr_status s = PEGR_OK;
    cl_kernel k = make_kernel(e, "pegr_normal_debug", &s);
    cl_mem wbuf = NULL, nbuf = NULL;
    if (s == PEGR_OK) s = engine_alloc(e, &wbuf, 4 * count * sizeof(cl_uint), "debug words");
    if (s == PEGR_OK) s = engine_alloc(e, &nbuf, count * e->elem, "debug normals");
    if (s == PEGR_OK) {
        cl_int rc = clEnqueueWriteBuffer(e->ctx->queue, wbuf, CL_TRUE, 0,
                                         4 * count * sizeof(cl_uint), words, 0, NULL, NULL);
        if (rc != CL_SUCCESS) s = pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueWriteBuffer", "words");
    }
    engine_args a = engine_args_begin(e, k, "pegr_normal_debug");
    engine_arg_u32(&a, count);
    engine_arg_mem(&a, wbuf);
    engine_arg_mem(&a, nbuf);
    size_t global[1] = {count};
    if (s == PEGR_OK) s = engine_launch(&a, 1, global);
    if (s == PEGR_OK) s = engine_download(e, nbuf, 0, normals, count);
    engine_free(e, &nbuf, count * e->elem);
    engine_free(e, &wbuf, 4 * count * sizeof(cl_uint));
    if (k) clReleaseKernel(k);
    return engine_report(e, s, err);
}

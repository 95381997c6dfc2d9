/* engine.c: the OpenCL engine as a backend object, the top of its layers (engine_internal.h):
 * creation (program, kernels), set_data / set_weights / set_runs / get_weights, destroy and the
 * function table. Buffers are in engine_buffers.c, evaluation in engine_eval.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "host/host_ref.h"

static void free_run_buffers(pegr_engine *e);

/* Sizes of the per-dataset and per-weights buffers (one run's). */
static size_t rows_of(const pegr_engine *e) { return e->n * e->P; }
static size_t cols_of(const pegr_engine *e) { return 2 * e->m; }

static void free_data_buffers(pegr_engine *e)
{
    size_t rows = rows_of(e), el = e->elem, n = e->n;
    engine_free_runs(e, &e->b.X, rows * e->d * el);
    engine_free_runs(e, &e->b.y, n * el);
    engine_free_runs(e, &e->b.K, n * e->P * e->P * el);
    cl_mem *per_example[] = {&e->b.margin, &e->b.loss, &e->b.a1, &e->b.a2, &e->b.G, &e->b.norm2,
                             &e->b.omega};
    for (size_t i = 0; i < 7; i++) engine_free_runs(e, per_example[i], n * el);
    e->have_data = 0;
}

/* A learned second layer's buffers (engine_object.h's rb); the readout back to the default. */
static void free_readout(pegr_engine *e)
{
    size_t rows = rows_of(e), cols = cols_of(e), el = e->elem;
    cl_mem *small[] = {&e->rb.v, &e->rb.v_save, &e->rb.grad_v, &e->rb.Vv};
    for (size_t i = 0; i < 4; i++) engine_free_runs(e, small[i], cols * el);
    engine_free_runs(e, &e->rb.D, rows * cols * el);
    engine_free_runs(e, &e->rb.F, e->n * cols * el);
    engine_free_runs(e, &e->rb.Cv, e->n * cols * el);
    engine_free_runs(e, &e->rb.v1, e->n * cols * el);
    e->learn = 0;
    e->kappa_div = 0;
}

static void free_weight_buffers(pegr_engine *e)
{
    free_readout(e);
    engine_free_reference(e);
    engine_span_free(e);
    size_t rows = rows_of(e), cols = cols_of(e), el = e->elem;
    engine_free_runs(e, &e->b.W, cols * e->d * el);
    engine_free_runs(e, &e->b.grad, cols * e->d * el);
    engine_free_runs(e, &e->b.V, cols * e->d * el);
    cl_mem *rc_bufs[] = {&e->b.Z, &e->b.A, &e->b.S2, &e->b.C, &e->b.ZV};
    for (size_t i = 0; i < 5; i++) engine_free_runs(e, rc_bufs[i], rows * cols * el);
    engine_free_runs(e, &e->b.fpart, e->n * cols * el);
    engine_free_runs(e, &e->b.Gpart, e->n * cols * el);
    engine_free(e, &e->b.gemm_temp, e->gemm_temp_bytes);
    e->gemm_temp_bytes = 0;
    e->have_weights = 0;
}

static pegr_status compute_patch_gram(pegr_engine *e)
{
    engine_args a = engine_args_begin(e, e->k.patch_gram, "pegr_patch_gram");
    engine_arg_u32(&a, e->runs * e->n); /* every example of every run */
    engine_arg_u32(&a, e->P);
    engine_arg_u32(&a, e->d);
    engine_arg_mem(&a, e->b.X);
    engine_arg_mem(&a, e->b.K);
    size_t global[2] = {e->P * e->P, e->runs * e->n};
    return engine_launch(&a, 2, global);
}

/* Every index a kernel computes must fit its uint arguments. */
static int fits_u32(size_t v) { return v <= 0xffffffffu; }

static pegr_status engine_set_data(pegr_backend *b, const double *X, const double *y, size_t n,
                                   size_t P, size_t d, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    size_t R = e->runs;
    pegr_status s = pegr_ref_check_data(X, y, R * n, P, d, err);
    if (s != PEGR_OK) return s;
    if (!fits_u32(R * n * P) || !fits_u32(d) || !fits_u32(P * P))
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                              "runs*n*P = %zu and d = %zu must each be below 2^32 on the OpenCL "
                              "engine", R * n * P, d);
    free_weight_buffers(e);
    free_data_buffers(e);
    e->n = n;
    e->P = P;
    e->d = d;
    size_t el = e->elem;
    s = engine_alloc_runs(e, &e->b.X, n * P * d * el, "X");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.y, n * el, "y");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.K, n * P * P * el, "K");
    cl_mem *per_example[] = {&e->b.margin, &e->b.loss, &e->b.a1, &e->b.a2, &e->b.G, &e->b.norm2,
                             &e->b.omega};
    const char *names[] = {"margin", "loss", "a1", "a2", "G", "norm2", "omega"};
    for (size_t i = 0; i < 7 && s == PEGR_OK; i++)
        s = engine_alloc_runs(e, per_example[i], n * el, names[i]);
    if (s == PEGR_OK) s = engine_upload(e, e->b.X, X, R * n * P * d);
    if (s == PEGR_OK) s = engine_upload(e, e->b.y, y, R * n);
    if (s == PEGR_OK) s = engine_uniform_weights(e);
    if (s == PEGR_OK) s = compute_patch_gram(e);
    if (s != PEGR_OK) {
        free_data_buffers(e);
        return engine_report(e, s, err);
    }
    e->have_data = 1;
    return PEGR_OK;
}

static pegr_status engine_set_weights(pegr_backend *b, const double *W, size_t m, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (!e->have_data)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "set_weights before set_data");
    if (m == 0 || !W) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "m must be >= 1");
    size_t R = e->runs;
    if (!fits_u32(2 * m) || !fits_u32(R * e->n * 2 * m) || !fits_u32(2 * m * e->d) ||
        !fits_u32(R * e->n * e->P * 2 * m))
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED, "m = %zu is too large", m);
    if (!(e->have_weights && m == e->m)) {
        free_weight_buffers(e);
        e->m = m;
        size_t rows = rows_of(e), cols = cols_of(e), el = e->elem;
        pegr_status s = engine_alloc_runs(e, &e->b.W, cols * e->d * el, "W");
        if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.grad, cols * e->d * el, "grad");
        cl_mem *rc_bufs[] = {&e->b.Z, &e->b.A, &e->b.S2, &e->b.C};
        const char *names[] = {"Z", "A", "S2", "C"};
        for (size_t i = 0; i < 4 && s == PEGR_OK; i++)
            s = engine_alloc_runs(e, rc_bufs[i], rows * cols * el, names[i]);
        if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.fpart, e->n * cols * el, "fpart");
        if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.Gpart, e->n * cols * el, "Gpart");
        if (s != PEGR_OK) {
            free_weight_buffers(e);
            return engine_report(e, s, err);
        }
        e->have_weights = 1;
    }
    /* New weights start new runs: no step taken, none non-finite, the old reference stale, the
     * readout the default. */
    engine_free_reference(e);
    e->steps_done = 0;
    for (size_t r = 0; e->sam_bad && r < e->runs; r++) e->sam_bad[r] = -1;
    free_readout(e);
    pegr_status s = engine_upload(e, e->b.W, W, R * 2 * m * e->d);
    cl_int *none = malloc(R * sizeof(cl_int));
    if (!none) s = pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    if (s == PEGR_OK) {
        for (size_t r = 0; r < R; r++) none[r] = PEGR_NO_DIVERGENCE;
        cl_int rc = clEnqueueWriteBuffer(e->ctx->queue, e->b.first_bad, CL_TRUE, 0,
                                         R * sizeof(cl_int), none, 0, NULL, NULL);
        e->host_waits++;
        if (rc != CL_SUCCESS) s = pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueWriteBuffer", "first_bad");
    }
    free(none);
    /* In the span representation b.W keeps W0 and the steps move Gam. */
    if (s == PEGR_OK && e->span_requested) s = engine_span_setup(e);
    return engine_report(e, s, err);
}

static void engine_destroy(pegr_backend *b)
{
    pegr_engine *e = (pegr_engine *)b;
    if (!e) return;
    if (e->ctx) clFinish(e->ctx->queue);
    engine_uploads_settle(e);
    engine_profile_free(e);
    free_weight_buffers(e);
    free_data_buffers(e);
    free_run_buffers(e);
    cl_kernel *ks = (cl_kernel *)&e->k;
    for (size_t i = 0; i < sizeof e->k / sizeof(cl_kernel); i++)
        if (ks[i]) clReleaseKernel(ks[i]);
    engine_gemm_free(e); /* the GEMM variants' programs and kernels */
    pegr_program_release(e->program);
    pegr_context_destroy(e->ctx);
    free(e);
}

static pegr_status engine_get_weights(pegr_backend *b, double *W, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (!e->have_weights)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "get_weights before set_weights");
    pegr_status s = PEGR_OK;
    cl_mem w = engine_current_weights(e, &s);
    if (s == PEGR_OK) s = engine_download(e, w, 0, W, e->runs * 2 * e->m * e->d);
    return engine_report(e, s, err);
}

/* The readout (docs/math.md, "Model variants"): the scale kappa, and with learn a second layer v
 * (every run's starting at 1) with its buffers (engine_object.h's rb). */
static pegr_status engine_set_readout(pegr_backend *b, int readout, int learn, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (!e->have_weights)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "set_readout before set_weights");
    free_readout(e);
    e->kappa_div = readout == PEGR_READOUT_MEAN_PATCHES ? e->P : e->m;
    if (!learn) return PEGR_OK;
    size_t rows = rows_of(e), cols = cols_of(e), el = e->elem, R = e->runs;
    cl_mem *small[] = {&e->rb.v, &e->rb.v_save, &e->rb.grad_v, &e->rb.Vv};
    const char *names[] = {"v", "v (saved)", "grad v", "V v (gr)"};
    pegr_status s = PEGR_OK;
    for (size_t i = 0; i < 4 && s == PEGR_OK; i++) s = engine_alloc_runs(e, small[i], cols * el, names[i]);
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->rb.D, rows * cols * el, "D (v)");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->rb.F, e->n * cols * el, "F (v)");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->rb.Cv, e->n * cols * el, "C (v)");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->rb.v1, e->n * cols * el, "v per example (sam)");
    double *ones = s == PEGR_OK ? malloc(R * cols * sizeof(double)) : NULL;
    if (s == PEGR_OK && !ones) s = pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    for (size_t k = 0; ones && k < R * cols; k++) ones[k] = 1.0;
    if (s == PEGR_OK) s = engine_upload(e, e->rb.v, ones, R * cols);
    free(ones);
    if (s != PEGR_OK) {
        free_readout(e);
        e->kappa_div = readout == PEGR_READOUT_MEAN_PATCHES ? e->P : e->m;
        return engine_report(e, s, err);
    }
    e->learn = 1;
    return PEGR_OK;
}

/* v (runs x 2m): the learned second layer, or 1. */
static pegr_status engine_get_readout(pegr_backend *b, double *v, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (!e->have_weights)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "get_readout before set_weights");
    if (e->learn) return engine_report(e, engine_download(e, e->rb.v, 0, v, e->runs * 2 * e->m), err);
    for (size_t k = 0; k < e->runs * 2 * e->m; k++) v[k] = 1.0;
    return PEGR_OK;
}

static pegr_status engine_first_nonfinite_step(pegr_backend *b, long *step, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    for (size_t r = 0; r < e->runs; r++) step[r] = -1;
    if (!e->have_weights) return PEGR_OK;
    cl_int *first = malloc(e->runs * sizeof(cl_int));
    if (!first) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of host memory");
    cl_int rc = clEnqueueReadBuffer(e->ctx->queue, e->b.first_bad, CL_TRUE, 0,
                                    e->runs * sizeof(cl_int), first, 0, NULL, NULL);
    e->host_waits++;
    engine_uploads_reap(e); /* the queue has drained */
    for (size_t r = 0; r < e->runs && rc == CL_SUCCESS; r++) {
        if (first[r] != PEGR_NO_DIVERGENCE) step[r] = first[r];
        if (e->sam_bad && e->sam_bad[r] >= 0 && (step[r] < 0 || e->sam_bad[r] < step[r]))
            step[r] = e->sam_bad[r];
    }
    free(first);
    if (rc != CL_SUCCESS)
        return engine_report(e, pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueReadBuffer", "first_bad"), err);
    return PEGR_OK;
}

/* The small per-run buffers: scalars, the non-finite flags, lam and the learning rates. */
static void free_run_buffers(pegr_engine *e)
{
    engine_free_runs(e, &e->b.scalars, SLOT_COUNT * e->elem);
    engine_free_runs(e, &e->b.first_bad, sizeof(cl_int));
    engine_free_runs(e, &e->b.run_lam, e->elem);
    engine_free_runs(e, &e->b.run_lr, e->elem);
    free(e->lam_on_device);
    free(e->lr_on_device);
    free(e->sam_bad);
    e->lam_on_device = e->lr_on_device = NULL;
    e->sam_bad = NULL;
}

static pegr_status alloc_run_buffers(pegr_engine *e, size_t runs)
{
    free_run_buffers(e);
    e->runs = runs;
    e->lam_on_device = malloc(runs * sizeof(double));
    e->lr_on_device = malloc(runs * sizeof(double));
    e->sam_bad = malloc(runs * sizeof(long));
    if (!e->lam_on_device || !e->lr_on_device || !e->sam_bad)
        return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    for (size_t r = 0; r < runs; r++) {
        e->lam_on_device[r] = e->lr_on_device[r] = NAN;
        e->sam_bad[r] = -1;
    }
    pegr_status s = engine_alloc_runs(e, &e->b.scalars, SLOT_COUNT * e->elem, "scalars");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.first_bad, sizeof(cl_int), "first_bad");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.run_lam, e->elem, "lam per run");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.run_lr, e->elem, "lr per run");
    return s;
}

static pegr_status engine_set_runs(pegr_backend *b, size_t runs, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (runs == 0 || !fits_u32(runs))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "runs = %zu: a batch holds at least 1 run (and below 2^32)", runs);
    if (runs == e->runs) return PEGR_OK;
    free_weight_buffers(e);
    free_data_buffers(e);
    pegr_status s = alloc_run_buffers(e, runs);
    if (s != PEGR_OK) { /* back to one run, so the engine stays usable */
        engine_report(e, s, err);
        alloc_run_buffers(e, 1);
    }
    return s;
}

static const pegr_backend_ops ENGINE_OPS = {
    .name = "opencl",
    .set_data = engine_set_data,
    .set_weights = engine_set_weights,
    .evaluate = engine_evaluate,
    .step = engine_step,
    .sam_step = engine_sam_step,
    .get_weights = engine_get_weights,
    .set_reference = engine_set_reference,
    .perturbed_test_error = engine_perturbed_test_error,
    .first_nonfinite_step = engine_first_nonfinite_step,
    .set_representation = engine_set_representation,
    .set_runs = engine_set_runs,
    .set_readout = engine_set_readout,
    .get_readout = engine_get_readout,
    .destroy = engine_destroy,
    .context = pegr_engine_context,
    .gemm_name = pegr_engine_gemm_name,
    .bytes_in_use = pegr_engine_bytes_in_use,
    .bytes_peak = pegr_engine_bytes_peak,
    .reset_peak = pegr_engine_reset_peak,
    .profile = pegr_engine_profile,
    .profile_reset = pegr_engine_profile_reset,
};

static pegr_status create_kernels(pegr_engine *e)
{
    static const char *const names[] = {
        "pegr_gemm_nt",     "pegr_gemm_tn",       "pegr_coef_terms",       "pegr_example_terms",
        "pegr_coef_final",  "pegr_gr_final",      "pegr_patch_gram",       "pegr_per_example_grad",
        "pegr_reduce_sum",  "pegr_update",        "pegr_rho",              "pegr_train_stats",
        "pegr_test_wrong",  "pegr_add",           "pegr_transpose",        "pegr_span_update",
        "pegr_coef_fused",  "pegr_reduce_pair",   "pegr_coef_item",        "pegr_sum_examples",
        "pegr_sam1_shift",
    };
    cl_kernel *ks = (cl_kernel *)&e->k;
    _Static_assert(sizeof(engine_kernels) == sizeof names / sizeof names[0] * sizeof(cl_kernel),
                   "one name per kernel");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cl_int rc = CL_SUCCESS;
        ks[i] = clCreateKernel((cl_program)pegr_program_cl(e->program), names[i], &rc);
        if (rc != CL_SUCCESS) return pegr_ctx_cl_fail(e->ctx, rc, "clCreateKernel", names[i]);
    }
    cl_device_id dev = (cl_device_id)e->ctx->device.cl_device;
    /* The fused coefficient kernel's limits; its local memory is sized per shape at launch.
     * Unknown limits leave it unused (0): the three-kernel path needs neither. */
    cl_ulong fused_local = 0;
    if (clGetKernelWorkGroupInfo(e->k.coef_fused, dev, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof e->fused_wg_limit, &e->fused_wg_limit, NULL) != CL_SUCCESS ||
        clGetKernelWorkGroupInfo(e->k.coef_fused, dev, CL_KERNEL_LOCAL_MEM_SIZE,
                                 sizeof fused_local, &fused_local, NULL) != CL_SUCCESS)
        e->fused_wg_limit = 0;
    e->fused_local_static = (size_t)fused_local;
    if (clGetKernelWorkGroupInfo(e->k.coef_item, dev, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof e->item_wg_limit, &e->item_wg_limit, NULL) != CL_SUCCESS)
        e->item_wg_limit = 1; /* unknown: groups of 1 are always allowed */
    engine_reduce_fit(e);
    return PEGR_OK;
}

/* Build the engine's program and its kernels with the largest PEGR_REDUCE_WG whose kernels fit
 * the device's local memory as the driver reports their use (the implementation may add its own
 * to the arrays): halved and rebuilt while they do not. */
static pegr_status build_engine_program(pegr_engine *e)
{
    static const char *const files[] = {"gemm.cl", "coefficients.cl", "reduce.cl", "metrics.cl",
                                        "span.cl"};
    cl_ulong local_mem = e->ctx->device.local_mem_size;
    for (size_t wg = engine_reduce_wg_largest(e);; wg /= 2) {
        char option[48];
        snprintf(option, sizeof option, "-D PEGR_REDUCE_WG=%zu", wg);
        e->reduce_wg_compiled = wg;
        pegr_status s = pegr_program_build(e->ctx, files, sizeof files / sizeof files[0],
                                           e->options.precision, option, &e->program);
        if (s == PEGR_OK) s = create_kernels(e);
        if (s != PEGR_OK) return s;
        cl_ulong used = engine_reduce_local_bytes(e);
        if (used <= local_mem) return PEGR_OK;
        if (wg == 1)
            return pegr_ctx_fail(e->ctx, PEGR_ERR_DEVICE_MEMORY,
                                 "the reduction kernels need %llu bytes of local memory even with "
                                 "work-groups of 1; the device has %llu",
                                 (unsigned long long)used, (unsigned long long)local_mem);
        cl_kernel *ks = (cl_kernel *)&e->k;
        for (size_t i = 0; i < sizeof e->k / sizeof(cl_kernel); i++) {
            if (ks[i]) clReleaseKernel(ks[i]);
            ks[i] = NULL;
        }
        pegr_program_release(e->program);
        e->program = NULL;
    }
}

/* Which kernel does the fused coefficient work: pegr_coef_item on CPUs (a work-item per example:
 * no barriers for the implementation's work-item loops to split the kernel at), pegr_coef_fused
 * (a work-group per example) elsewhere; $PEGR_COEF_KERNEL=item|group forces one (tests and
 * measurements: both must agree with the host on every device). */
static pegr_status choose_coef_kernel(pegr_engine *e)
{
    /* PEGR_COEF_PRODUCT=1|0: pegr_coef_item forms the span product itself, or never (default:
     * by size, engine_span.c) */
    const char *product = getenv("PEGR_COEF_PRODUCT");
    e->item_product = -1;
    if (product && *product) {
        if (strcmp(product, "0") != 0 && strcmp(product, "1") != 0)
            return pegr_ctx_fail(e->ctx, PEGR_ERR_INVALID_ARGUMENT,
                                 "PEGR_COEF_PRODUCT='%s' must be 1 (pegr_coef_item forms the span "
                                 "product itself) or 0 (a GEMM forms it)", product);
        e->item_product = product[0] == '1';
    }
    const char *env = getenv("PEGR_COEF_KERNEL");
    if (!env || !*env) {
        e->coef_item = e->ctx->device.type == PEGR_DEVICE_TYPE_CPU;
        return PEGR_OK;
    }
    if (strcmp(env, "item") == 0 || strcmp(env, "group") == 0) {
        e->coef_item = strcmp(env, "item") == 0;
        return PEGR_OK;
    }
    return pegr_ctx_fail(e->ctx, PEGR_ERR_INVALID_ARGUMENT,
                         "PEGR_COEF_KERNEL='%s' is not a coefficient kernel: 'item' (pegr_coef_item, "
                         "a work-item per example) or 'group' (pegr_coef_fused, a work-group per "
                         "example)", env);
}

pegr_backend *pegr_engine_create(pegr_context *ctx, const pegr_engine_options *options,
                                 pegr_error *err)
{
    pegr_engine *e = calloc(1, sizeof *e);
    if (!e) {
        pegr_context_destroy(ctx);
        pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory creating the engine");
        return NULL;
    }
    e->base.ops = &ENGINE_OPS;
    e->ctx = ctx;
    if (options) e->options = *options;
    if (!(e->options.memory_fraction > 0 && e->options.memory_fraction <= 1))
        e->options.memory_fraction = 0.8;
    e->elem = e->options.precision == PEGR_FP64 ? sizeof(double) : sizeof(float);
    e->base.precision_name = e->options.precision == PEGR_FP64 ? "fp64" : "fp32";
    e->bytes_cap = (size_t)(e->options.memory_fraction * (double)ctx->device.global_mem_size);
    pegr_status s = choose_coef_kernel(e);
    if (s == PEGR_OK) s = build_engine_program(e);
    if (s == PEGR_OK) s = alloc_run_buffers(e, 1);
    if (s == PEGR_OK) s = engine_gemm_init(e);
    if (s != PEGR_OK) {
        engine_report(e, s, err);
        engine_destroy(&e->base);
        return NULL;
    }
    return &e->base;
}

pegr_context *pegr_engine_context(pegr_backend *b) { return ((pegr_engine *)b)->ctx; }
size_t pegr_engine_bytes_in_use(const pegr_backend *b) { return ((const pegr_engine *)b)->bytes_in_use; }
size_t pegr_engine_bytes_peak(const pegr_backend *b) { return ((const pegr_engine *)b)->bytes_peak; }
void pegr_engine_reset_peak(pegr_backend *b)
{
    pegr_engine *e = (pegr_engine *)b;
    e->bytes_peak = e->bytes_in_use;
}
const char *pegr_engine_gemm_name(const pegr_backend *b)
{
    return ((const pegr_engine *)b)->gemm == PEGR_GEMM_CLBLAST ? "clblast" : "own";
}

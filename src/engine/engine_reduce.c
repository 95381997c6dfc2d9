/* engine_reduce.c: the reductions that leave only scalars for the host -- one work-group per run
 * into the run's row of slots (pegr_reduce_sum, pegr_reduce_pair) -- the work-group size they
 * are compiled and launched with, and the objective read from a row of slots. Calls the launch
 * layer (engine_internal.h). */
#include "engine/engine_reduce.h"

pegr_status engine_reduce(pegr_engine *e, cl_mem x, cl_mem w, size_t count, int mode, double scale,
                          int slot)
{
    engine_args a = engine_args_begin(e, e->k.reduce_sum, "pegr_reduce_sum");
    engine_arg_u32(&a, count);
    engine_arg_mem(&a, x);
    engine_arg_mem(&a, w ? w : x);
    engine_arg_i32(&a, mode);
    engine_arg_real(&a, scale);
    engine_arg_mem(&a, e->b.scalars);
    engine_arg_u32(&a, SLOT_COUNT);
    engine_arg_u32(&a, (size_t)slot);
    return engine_launch_group_per_run(&a, e->reduce_wg);
}

/* Per run: scalars[slot_a] = x_a . w and scalars[slot_b] = x_b . w over the run's `count`
 * elements, in one launch (each as engine_reduce's PEGR_REDUCE_DOT with scale 1 computes it). */
pegr_status engine_reduce_pair(pegr_engine *e, cl_mem xa, cl_mem xb, cl_mem w, size_t count,
                               int slot_a, int slot_b)
{
    engine_args a = engine_args_begin(e, e->k.reduce_pair, "pegr_reduce_pair");
    engine_arg_u32(&a, count);
    engine_arg_mem(&a, xa);
    engine_arg_mem(&a, xb);
    engine_arg_mem(&a, w);
    engine_arg_mem(&a, e->b.scalars);
    engine_arg_u32(&a, SLOT_COUNT);
    engine_arg_u32(&a, (size_t)slot_a);
    engine_arg_u32(&a, (size_t)slot_b);
    return engine_launch_group_per_run(&a, e->reduce_wg);
}

double engine_objective(const pegr_engine *e, const pegr_eval_request *req, size_t r,
                        const double *slots)
{
    double L = slots[SLOT_LOSS], lam = pegr_request_lam(req, r);
    /* gr's ||V||^2 is over W and, learned, v */
    double v2 = e->learn ? slots[SLOT_GVNORM2] : 0.0;
    return req->method == PEGR_METHOD_PEGR ? L + lam * slots[SLOT_PENALTY]
           : req->method == PEGR_METHOD_GR ? L + lam * (slots[SLOT_GNORM2] + v2)
                                           : L;
}

/* The local memory one of the reductions' kernels takes (CL_KERNEL_LOCAL_MEM_SIZE: its __local
 * arrays and what the implementation adds); 0 when the driver does not say. */
static cl_ulong kernel_local_bytes(pegr_engine *e, cl_kernel k)
{
    cl_ulong bytes = 0;
    if (clGetKernelWorkGroupInfo(k, (cl_device_id)e->ctx->device.cl_device,
                                 CL_KERNEL_LOCAL_MEM_SIZE, sizeof bytes, &bytes, NULL) != CL_SUCCESS)
        return 0;
    return bytes;
}

/* The reductions' __local arrays are sized at compile time (PEGR_REDUCE_WG, cl/reduce.cl), the
 * largest pegr_train_stats' PEGR_STATS_COUNT x PEGR_REDUCE_WG REALs: a power of two within
 * PEGR_WG_SIZE (the cap, the device, PEGR_WG_SIZE_MAX) that the device's local memory holds.
 * PEGR_WG_SIZE alone ignored local memory: 5 x 256 doubles (10 KiB) fail with
 * CL_OUT_OF_RESOURCES on a device with less. */
size_t engine_reduce_wg_largest(const pegr_engine *e)
{
    size_t wg = pegr_kernel_wg_size(pegr_context_max_work_group_size(e->ctx)); /* PEGR_WG_SIZE */
    size_t fits = (size_t)(e->ctx->device.local_mem_size / (PEGR_STATS_COUNT * e->elem));
    if (wg > fits) wg = fits;
    size_t pow2 = 1;
    while (pow2 * 2 <= wg) pow2 *= 2;
    return pow2;
}

cl_ulong engine_reduce_local_bytes(pegr_engine *e)
{
    cl_ulong used = kernel_local_bytes(e, e->k.train_stats);
    cl_ulong pair = kernel_local_bytes(e, e->k.reduce_pair);
    return pair > used ? pair : used;
}

void engine_reduce_fit(pegr_engine *e)
{
    /* The reductions run one work-group per run: within the compiled PEGR_REDUCE_WG and the
     * kernels' own limits (all three run with reduce_wg), a power of two. */
    size_t limit = 1;
    cl_device_id dev = (cl_device_id)e->ctx->device.cl_device;
    size_t stats_limit = 1, pair_limit = 1;
    if (clGetKernelWorkGroupInfo(e->k.reduce_sum, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof limit,
                                 &limit, NULL) != CL_SUCCESS ||
        clGetKernelWorkGroupInfo(e->k.train_stats, dev, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof stats_limit, &stats_limit, NULL) != CL_SUCCESS ||
        clGetKernelWorkGroupInfo(e->k.reduce_pair, dev, CL_KERNEL_WORK_GROUP_SIZE,
                                 sizeof pair_limit, &pair_limit, NULL) != CL_SUCCESS)
        limit = stats_limit = pair_limit = 1;
    if (stats_limit < limit) limit = stats_limit;
    if (pair_limit < limit) limit = pair_limit;
    if (limit > e->reduce_wg_compiled) limit = e->reduce_wg_compiled;
    e->reduce_wg = 1;
    while (e->reduce_wg * 2 <= limit) e->reduce_wg *= 2;
}

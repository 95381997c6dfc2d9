/* engine_launch.c: typed kernel arguments (REAL follows the engine's precision) and launches that
 * honour the work-group cap. */
#include <stdio.h>

#include "engine_internal.h"

engine_args engine_args_begin(pegr_engine *e, cl_kernel kernel, const char *name)
{
    engine_args a = {e, kernel, name, 0, CL_SUCCESS};
    return a;
}

static void set(engine_args *a, size_t size, const void *value)
{
    if (a->rc == CL_SUCCESS) a->rc = clSetKernelArg(a->kernel, a->next, size, value);
    a->next++;
}

void engine_arg_mem(engine_args *a, cl_mem mem) { set(a, sizeof mem, &mem); }

void engine_arg_u32(engine_args *a, size_t value)
{
    cl_uint v = (cl_uint)value;
    set(a, sizeof v, &v);
}

void engine_arg_u64(engine_args *a, size_t value)
{
    cl_ulong v = (cl_ulong)value;
    set(a, sizeof v, &v);
}

void engine_arg_i32(engine_args *a, int value)
{
    cl_int v = value;
    set(a, sizeof v, &v);
}

void engine_arg_local(engine_args *a, size_t bytes) { set(a, bytes, NULL); }

void engine_arg_real(engine_args *a, double value)
{
    if (a->e->elem == sizeof(double)) {
        set(a, sizeof value, &value);
    } else {
        float f = (float)value;
        set(a, sizeof f, &f);
    }
}

static pegr_status arg_failure(engine_args *a)
{
    char what[96];
    snprintf(what, sizeof what, "kernel %s, argument %u", a->name, a->next);
    return pegr_ctx_cl_fail(a->e->ctx, a->rc, "clSetKernelArg", what);
}

static pegr_status enqueue(engine_args *a, cl_uint dims, const size_t *global, const size_t *local)
{
    cl_int rc = clEnqueueNDRangeKernel(a->e->ctx->queue, a->kernel, dims, NULL, global, local, 0,
                                       NULL, engine_profile_event(a->e, a->name));
    if (rc == CL_SUCCESS) return PEGR_OK;
    char what[160];
    snprintf(what, sizeof what, "kernel %s, global %zu x %zu x %zu", a->name, global[0],
             dims > 1 ? global[1] : 1, dims > 2 ? global[2] : 1);
    return pegr_ctx_cl_fail(a->e->ctx, rc, "clEnqueueNDRangeKernel", what);
}

pegr_status engine_launch(engine_args *a, cl_uint dims, const size_t *global)
{
    if (a->rc != CL_SUCCESS) return arg_failure(a);
    size_t padded[3] = {1, 1, 1};
    for (cl_uint i = 0; i < dims; i++) {
        padded[i] = global[i];
        if (padded[i] == 0) return PEGR_OK; /* nothing to do */
    }
    size_t cap = a->e->ctx->options.max_work_group_size;
    if (cap == 0) return enqueue(a, dims, padded, NULL); /* the driver picks */
    /* A cap is set: a local size along dimension 0 only, a power of two within the cap and the
     * kernel's limit; the global size is padded to a multiple (kernels bounds-check). */
    size_t limit = 1;
    cl_device_id dev = (cl_device_id)a->e->ctx->device.cl_device;
    if (clGetKernelWorkGroupInfo(a->kernel, dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof limit, &limit,
                                 NULL) != CL_SUCCESS)
        limit = 1;
    if (limit > cap) limit = cap;
    size_t local[3] = {1, 1, 1};
    while (local[0] * 2 <= limit) local[0] *= 2;
    padded[0] = (padded[0] + local[0] - 1) / local[0] * local[0];
    return enqueue(a, dims, padded, local);
}

pegr_status engine_launch_local(engine_args *a, cl_uint dims, const size_t *global,
                                const size_t *local)
{
    if (a->rc != CL_SUCCESS) return arg_failure(a);
    for (cl_uint i = 0; i < dims; i++)
        if (global[i] == 0) return PEGR_OK; /* nothing to do */
    return enqueue(a, dims, global, local);
}

pegr_status engine_launch_group_per_run(engine_args *a, size_t local)
{
    size_t global = local * a->e->runs;
    return engine_launch_local(a, 1, &global, &local);
}

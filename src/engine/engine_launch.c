/* engine_launch.c: typed kernel arguments (REAL follows the engine's precision) and launches that
 * choose their work-group sizes (within the kernel's limits and the work-group cap). */
#include <stdio.h>
#include <string.h>

#include "engine/engine_launch.h"

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

/* One of the kernel's work-group facts (CL_KERNEL_WORK_GROUP_SIZE, ..._PREFERRED_..._MULTIPLE);
 * `fallback` when the driver does not answer. */
static size_t kernel_wg_info(engine_args *a, cl_kernel_work_group_info what, size_t fallback)
{
    size_t v = 0;
    cl_device_id dev = (cl_device_id)a->e->ctx->device.cl_device;
    if (clGetKernelWorkGroupInfo(a->kernel, dev, what, sizeof v, &v, NULL) != CL_SUCCESS || v == 0)
        return fallback;
    return v;
}

/* The largest 1-D work-group engine_launch asks for without a cap: enough to fill a GPU's
 * wavefronts several times over, small enough that padding tiny launches costs little. */
#define LAUNCH_LOCAL_TARGET 256

size_t engine_launch_local_size(engine_args *a, cl_uint dims, size_t global0)
{
    size_t limit = kernel_wg_info(a, CL_KERNEL_WORK_GROUP_SIZE, 1);
    size_t cap = a->e->ctx->options.max_work_group_size;
    if (cap) {
        /* A cap is set (any dims): a power of two within the cap and the kernel's limit, as the
         * tests with caps of 1 and 3 expect. */
        if (limit > cap) limit = cap;
        size_t local = 1;
        while (local * 2 <= limit) local *= 2;
        return local;
    }
    /* 2-D and 3-D launches stay with the driver's choice (0): their kernels' shapes are set by
     * their callers. */
    if (dims != 1) return 0;
    /* 1-D: a multiple of the preferred multiple within the kernel's limit, never much above the
     * work there is. A NULL local size would let a driver pick groups of 1 for a prime global
     * size (the only divisor it may use); padding instead keeps the groups full. */
    size_t pref = kernel_wg_info(a, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, 1);
    if (limit > LAUNCH_LOCAL_TARGET) limit = LAUNCH_LOCAL_TARGET;
    if (pref > limit) pref = limit;
    size_t local = limit / pref * pref;
    size_t needed = (global0 + pref - 1) / pref * pref;
    return needed < local ? needed : local;
}

/* The launch record the tests read (engine_launch_record): the last global and local size along
 * dimension 0 per kernel name, in a small fixed table (the engine launches about 20 kernels). */
static void record_launch(pegr_engine *e, const char *name, size_t global0, size_t local0)
{
    for (size_t i = 0; i < ENGINE_LAUNCH_RECORDS; i++) {
        engine_launch_entry *r = &e->launches[i];
        if (r->name && strcmp(r->name, name) != 0) continue;
        r->name = name;
        r->global0 = global0;
        r->local0 = local0;
        return;
    }
}

int engine_launch_record(const pegr_engine *e, const char *name, size_t *global0, size_t *local0)
{
    for (size_t i = 0; i < ENGINE_LAUNCH_RECORDS && e->launches[i].name; i++)
        if (strcmp(e->launches[i].name, name) == 0) {
            *global0 = e->launches[i].global0;
            *local0 = e->launches[i].local0;
            return 1;
        }
    return 0;
}

pegr_status engine_launch(engine_args *a, cl_uint dims, const size_t *global)
{
    if (a->rc != CL_SUCCESS) return arg_failure(a);
    size_t padded[3] = {1, 1, 1};
    for (cl_uint i = 0; i < dims; i++) {
        padded[i] = global[i];
        if (padded[i] == 0) return PEGR_OK; /* nothing to do */
    }
    size_t local[3] = {engine_launch_local_size(a, dims, global[0]), 1, 1};
    if (local[0] == 0) {
        record_launch(a->e, a->name, padded[0], 0);
        return enqueue(a, dims, padded, NULL); /* the driver picks */
    }
    /* The global size is padded to a multiple along dimension 0 (kernels bounds-check it). */
    padded[0] = (padded[0] + local[0] - 1) / local[0] * local[0];
    record_launch(a->e, a->name, padded[0], local[0]);
    return enqueue(a, dims, padded, local);
}

pegr_status engine_launch_local(engine_args *a, cl_uint dims, const size_t *global,
                                const size_t *local)
{
    if (a->rc != CL_SUCCESS) return arg_failure(a);
    for (cl_uint i = 0; i < dims; i++)
        if (global[i] == 0) return PEGR_OK; /* nothing to do */
    record_launch(a->e, a->name, global[0], local ? local[0] : 0);
    return enqueue(a, dims, global, local);
}

pegr_status engine_launch_group_per_run(engine_args *a, size_t local)
{
    size_t global = local * a->e->runs;
    return engine_launch_local(a, 1, &global, &local);
}

/* gemm_variants.c: pegr's own GEMM kernels as a device-level table -- the parameter sets of
 * cl/gemm_tiled.cl shipped (each one program), the shape classes, the untuned defaults by device
 * type, and building and enqueuing one variant on a context. The engine (src/engine/engine_gemm.c)
 * chooses among them per product; `pegr tune` (gemm_tuning.c) and `pegr check` measure them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/gemm_tuning.h"

/* The parameter sets shipped (each one program, compiled on first use and then cached).
 * Direct variants suit CPUs. Measured with `pegr tune` (PoCL 3.1, pthread-haswell, 2-core EPYC,
 * fp32, n 200, d 2000, m 20, best of 5 in one process, load average about 1, two runs): the span
 * product 400x40x400 in 0.13-0.15 ms with direct-v8-m4-n2 (85 GFLOP/s; the simple kernel 1.1 ms,
 * CLBlast 2.1-2.6), the primal NT 400x40x2000 in 0.59-0.69 ms (92 GFLOP/s; simple 5.2-5.8,
 * CLBlast 10-15), the primal TN 40x2000x400 in 0.56-0.68 ms with direct-v8-m4-n2-k128 (94
 * GFLOP/s; without the K blocks 0.81-0.83, simple 22-30, CLBlast 12-17). The K-blocked TN form
 * keeps a block of the large operand in L1 for all of C's rows. The NT kernels of -n2 and
 * -n2-k128 are the same code: their spread (up to 30%) is the noise of the measurement. The
 * tiled variants (local memory, barriers) suit GPUs; on PoCL's CPU device they ran 30-50x slower
 * than the direct ones (its work-item loops keep each work-item's accumulators in memory across
 * barriers), so CPUs default to direct and tuning decides the rest. */
static const pegr_gemm_variant VARIANTS[] = {
    {"direct-v8-m4-n2", 0, 0, 0, 0, 0, 0, 8, 4, 2, 0},
    {"direct-v8-m4-n4", 0, 0, 0, 0, 0, 0, 8, 4, 4, 0},
    {"direct-v16-m4-n1", 0, 0, 0, 0, 0, 0, 16, 4, 1, 0},
    {"direct-v8-m4-n2-k128", 0, 0, 0, 0, 0, 0, 8, 4, 2, 128},
    {"tiled-m32-n32-k16-w4x4", 1, 32, 32, 16, 4, 4, 0, 0, 0, 0},
    {"tiled-m64-n64-k16-w4x4", 1, 64, 64, 16, 4, 4, 0, 0, 0, 0},
    {"tiled-m32-n8-k16-w4x1", 1, 32, 8, 16, 4, 1, 0, 0, 0, 0},
};
#define NVARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])
_Static_assert(NVARIANTS == PEGR_GEMM_NVARIANTS, "gemm_tuning.h: PEGR_GEMM_NVARIANTS");
enum { DIRECT_NT_CPU = 0, DIRECT_TN_CPU = 3, TILED_ANY = 4 }; /* the defaults, by index */

static const char *const CLASS_NAMES[PEGR_GEMM_CLASSES] = {"nt-small", "nt-large", "tn-small",
                                                            "tn-large"};

size_t pegr_gemm_variant_count(void) { return NVARIANTS; }

const pegr_gemm_variant *pegr_gemm_variant_at(size_t index)
{
    return index < NVARIANTS ? &VARIANTS[index] : NULL;
}

int pegr_gemm_class(pegr_gemm_shape shape, size_t M, size_t N, size_t K)
{
    int large = (double)M * (double)N * (double)K >= (double)PEGR_GEMM_SMALL_MACS;
    return (shape == PEGR_GEMM_TN ? PEGR_GEMM_TN_SMALL : PEGR_GEMM_NT_SMALL) + large;
}

const char *pegr_gemm_class_name(int cls)
{
    return cls >= 0 && cls < PEGR_GEMM_CLASSES ? CLASS_NAMES[cls] : "?";
}

const char *pegr_gemm_choice_name(int choice)
{
    if (choice == PEGR_GEMM_CHOICE_SIMPLE) return "simple";
    if (choice == PEGR_GEMM_CHOICE_CLBLAST) return "clblast";
    return choice >= 0 && (size_t)choice < NVARIANTS ? VARIANTS[choice].name : "?";
}

/* Untuned: on CPUs direct-v8-m4-n2 for NT and its K-blocked form for TN (measured above: CLBlast
 * and the simple kernels were 8-40x slower on every class); elsewhere the 32 x 32 tiles -- not measured on a GPU by us
 * -- with CLBlast for the large products where it is built in (its GPU kernels are tuned). */
void pegr_gemm_default_choices(const pegr_device_info *dev, int have_clblast,
                               int choices[PEGR_GEMM_CLASSES])
{
    int cpu = dev->type == PEGR_DEVICE_TYPE_CPU;
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++)
        choices[c] = !cpu ? TILED_ANY : c < PEGR_GEMM_TN_SMALL ? DIRECT_NT_CPU : DIRECT_TN_CPU;
    if (!cpu && have_clblast)
        choices[PEGR_GEMM_NT_LARGE] = choices[PEGR_GEMM_TN_LARGE] = PEGR_GEMM_CHOICE_CLBLAST;
}

/* The work-group size a tiled variant needs (dimension 0 along N, 1 along M). */
static void tiled_local(const pegr_gemm_variant *v, size_t local[2])
{
    local[0] = v->tsn / v->wn;
    local[1] = v->tsm / v->wm;
}

static const char *const KERNEL_NAMES[2][2] = {
    {"pegr_gemm_direct_nt", "pegr_gemm_direct_tn"}, {"pegr_gemm_tiled_nt", "pegr_gemm_tiled_tn"}};

pegr_status pegr_gemm_variant_build(pegr_context *ctx, pegr_precision precision, size_t index,
                                    pegr_gemm_built *out)
{
    memset(out, 0, sizeof *out);
    if (index >= NVARIANTS)
        return pegr_ctx_fail(ctx, PEGR_ERR_INVALID_ARGUMENT, "GEMM variant %zu: there are %zu",
                             index, NVARIANTS);
    const pegr_gemm_variant *v = &VARIANTS[index];
    const pegr_device_info *dev = &ctx->device;
    size_t elem = precision == PEGR_FP64 ? sizeof(double) : sizeof(float);
    size_t local[2] = {(size_t)-1, 1}; /* direct: the kernels' smallest limit, below */
    char options[256];
    if (v->tiled) {
        /* The limits known before compiling: the work-group size against the device's (and the
         * cap's) and each dimension's, the local panels against the device's local memory. */
        tiled_local(v, local);
        size_t panels = (size_t)v->tk * (v->tsm + 1 + v->tsn + 1) * elem;
        size_t dims[3] = {0, 0, 0};
        if (clGetDeviceInfo((cl_device_id)dev->cl_device, CL_DEVICE_MAX_WORK_ITEM_SIZES,
                            sizeof dims, dims, NULL) != CL_SUCCESS)
            dims[0] = dims[1] = 1;
        if (local[0] * local[1] > pegr_context_max_work_group_size(ctx) || local[0] > dims[0] ||
            local[1] > dims[1] || panels > dev->local_mem_size)
            return PEGR_OK; /* fits = 0 */
        snprintf(options, sizeof options,
                 "-D GEMM_FAMILY=1 -D GEMM_TSM=%u -D GEMM_TSN=%u -D GEMM_TK=%u -D GEMM_WM=%u "
                 "-D GEMM_WN=%u",
                 v->tsm, v->tsn, v->tk, v->wm, v->wn);
    } else {
        snprintf(options, sizeof options,
                 "-D GEMM_FAMILY=2 -D GEMM_VW=%u -D GEMM_DWM=%u -D GEMM_DWN=%u -D GEMM_DKC=%u", v->vw,
                 v->dwm, v->dwn, v->dkc);
    }
    const char *files[] = {"gemm_tiled.cl"};
    pegr_status s = pegr_program_build(ctx, files, 1, precision, options, &out->program);
    if (s != PEGR_OK) return s;
    cl_device_id cdev = (cl_device_id)dev->cl_device;
    out->fits = 1;
    for (int shape = 0; shape < 2 && s == PEGR_OK; shape++) {
        cl_int rc = CL_SUCCESS;
        const char *name = KERNEL_NAMES[v->tiled][shape];
        out->kernel[shape] = clCreateKernel((cl_program)pegr_program_cl(out->program), name, &rc);
        if (rc != CL_SUCCESS) {
            s = pegr_ctx_cl_fail(ctx, rc, "clCreateKernel", name);
            break;
        }
        /* The compiled kernel's own limits (registers, local memory in use). */
        size_t limit = 0;
        cl_ulong lmem = 0;
        if (clGetKernelWorkGroupInfo(out->kernel[shape], cdev, CL_KERNEL_WORK_GROUP_SIZE,
                                     sizeof limit, &limit, NULL) != CL_SUCCESS ||
            clGetKernelWorkGroupInfo(out->kernel[shape], cdev, CL_KERNEL_LOCAL_MEM_SIZE,
                                     sizeof lmem, &lmem, NULL) != CL_SUCCESS)
            limit = 0;
        if (v->tiled) {
            if (local[0] * local[1] > limit || lmem > dev->local_mem_size) out->fits = 0;
        } else if (limit < local[0]) {
            local[0] = limit ? limit : 1;
        }
    }
    /* Direct variants: a fixed work-group along dimension 0, so that PoCL compiles each kernel
     * once (with a NULL local size it picks one per global size, each a new compile); 8 on CPUs
     * (measured: the same speed as PoCL's own picks), 64 elsewhere; a power of two within the
     * kernels' and the context's limits. */
    if (!v->tiled) {
        size_t want = dev->type == PEGR_DEVICE_TYPE_CPU ? 8 : 64, cap = local[0];
        if (pegr_context_max_work_group_size(ctx) < cap) cap = pegr_context_max_work_group_size(ctx);
        out->direct_local = 1;
        while (out->direct_local * 2 <= want && out->direct_local * 2 <= cap) out->direct_local *= 2;
    }
    if (s != PEGR_OK || !out->fits) pegr_gemm_variant_release(out);
    return s;
}

void pegr_gemm_variant_release(pegr_gemm_built *built)
{
    for (int i = 0; i < 2; i++)
        if (built->kernel[i]) clReleaseKernel(built->kernel[i]);
    pegr_program_release(built->program);
    memset(built, 0, sizeof *built);
}

static size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

pegr_status pegr_gemm_variant_enqueue(pegr_context *ctx, size_t index, const pegr_gemm_built *built,
                                      pegr_gemm_shape shape, size_t M, size_t N, size_t K, cl_mem A,
                                      size_t a_stride, cl_mem B, size_t b_stride, cl_mem C,
                                      size_t c_stride, size_t batch, cl_event *event)
{
    const pegr_gemm_variant *v = &VARIANTS[index];
    cl_kernel k = built->kernel[shape];
    if (!M || !N || !batch) return PEGR_OK;
    if (!K) return pegr_ctx_fail(ctx, PEGR_ERR_INVALID_ARGUMENT, "GEMM with K = 0");
    cl_uint u[3] = {(cl_uint)M, (cl_uint)N, (cl_uint)K};
    cl_ulong st[3] = {a_stride, b_stride, c_stride};
    struct {
        size_t size;
        const void *value;
    } args[9] = {{sizeof u[0], &u[0]}, {sizeof u[1], &u[1]}, {sizeof u[2], &u[2]},
                 {sizeof A, &A},       {sizeof st[0], &st[0]}, {sizeof B, &B},
                 {sizeof st[1], &st[1]}, {sizeof C, &C},       {sizeof st[2], &st[2]}};
    cl_int rc = CL_SUCCESS;
    for (cl_uint i = 0; i < 9 && rc == CL_SUCCESS; i++)
        rc = clSetKernelArg(k, i, args[i].size, args[i].value);
    if (rc != CL_SUCCESS)
        return pegr_ctx_cl_fail(ctx, rc, "clSetKernelArg", KERNEL_NAMES[v->tiled][shape]);
    size_t global[3], local[3] = {1, 1, 1};
    if (v->tiled) {
        tiled_local(v, local);
        global[0] = ceil_div(N, v->tsn) * local[0];
        global[1] = ceil_div(M, v->tsm) * local[1];
    } else {
        size_t per = shape == PEGR_GEMM_TN ? (size_t)v->dwn * v->vw : v->dwn;
        global[0] = ceil_div(N, per);
        /* the K-blocked TN form: a work-item walks every row of C */
        global[1] = shape == PEGR_GEMM_TN && v->dkc ? 1 : ceil_div(M, v->dwm);
        local[0] = built->direct_local; /* the kernels bounds-check the padding */
        global[0] = ceil_div(global[0], local[0]) * local[0];
    }
    global[2] = batch;
    rc = clEnqueueNDRangeKernel(ctx->queue, k, 3, NULL, global, local, 0, NULL, event);
    if (rc == CL_SUCCESS) return PEGR_OK;
    char what[160];
    snprintf(what, sizeof what, "kernel %s (%s), global %zu x %zu x %zu",
             KERNEL_NAMES[v->tiled][shape], v->name, global[0], global[1], global[2]);
    return pegr_ctx_cl_fail(ctx, rc, "clEnqueueNDRangeKernel", what);
}

const char *pegr_gemm_variant_kernel_name(size_t index, pegr_gemm_shape shape)
{
    return index < NVARIANTS ? KERNEL_NAMES[VARIANTS[index].tiled][shape] : "?";
}

/* engine_gemm.c: the two GEMM shapes of a step, on pegr's kernels (cl/gemm.cl) or on CLBlast
 * (queue-based C API, with a temporary buffer of ours when CLBlast asks for one).
 * The default (PEGR_GEMM_AUTO) is CLBlast where pegr was built with it: measured on PoCL (2-core
 * EPYC, fp32, n=200, P=2, d=2000, m=20) a gd step took 7.5 ms with CLBlast against 18.5 ms with
 * the simple kernels of cl/gemm.cl, which stay as the portable fallback (and the path that honours
 * a work-group cap). Small products are the other way round: CLBlast's per-call cost outweighs its
 * speed, so under AUTO a GEMM below SMALL_GEMM_MACS multiply-adds per run takes pegr's kernels.
 * Measured on the same PoCL device: the span form's step (n 200, d 2000, m 20; 6.4M MACs) took
 * 0.64 ms on ours against 0.72 ms on CLBlast; the 600-run phase diagram (span, batches of up to 16)
 * ran at 9.2 runs/s on ours against 5.7 on CLBlast. $PEGR_GEMM=own|clblast overrides the default
 * for every size. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "gemm_tuning.h"

#ifdef PEGR_HAVE_CLBLAST
#include <clblast_c.h>
#endif

#define SMALL_GEMM_MACS ((size_t)1 << 23)

pegr_status engine_gemm_init(pegr_engine *e)
{
    pegr_gemm_impl want = e->options.gemm;
    const char *env = getenv("PEGR_GEMM");
    if (want == PEGR_GEMM_AUTO && env && strcmp(env, "clblast") == 0) want = PEGR_GEMM_CLBLAST;
    if (want == PEGR_GEMM_AUTO && env && strcmp(env, "own") == 0) want = PEGR_GEMM_OWN;
#ifdef PEGR_HAVE_CLBLAST
    e->gemm_by_size = want == PEGR_GEMM_AUTO;
    if (want == PEGR_GEMM_AUTO) want = PEGR_GEMM_CLBLAST;
#else
    if (want == PEGR_GEMM_AUTO) want = PEGR_GEMM_OWN;
#endif
#ifndef PEGR_HAVE_CLBLAST
    if (want == PEGR_GEMM_CLBLAST)
        return pegr_ctx_fail(e->ctx, PEGR_ERR_UNSUPPORTED,
                             "CLBlast was asked for but this build of pegr has no CLBlast");
#endif
    e->gemm = want;
#ifdef PEGR_HAVE_CLBLAST
    /* `pegr tune`'s parameters for this device, when it was run */
    if (want == PEGR_GEMM_CLBLAST) pegr_tuning_apply(e->ctx, e->options.precision);
#endif
    return PEGR_OK;
}

/* Element strides between the runs' matrices of a batched GEMM. */
typedef struct gemm_strides {
    size_t a, b, c;
} gemm_strides;

static pegr_status own_gemm(pegr_engine *e, cl_kernel k, const char *name, size_t rows,
                            size_t cols, size_t d, cl_mem A, cl_mem B, cl_mem out,
                            gemm_strides st, int nt)
{
    engine_args a = engine_args_begin(e, k, name);
    engine_arg_u32(&a, rows);
    engine_arg_u32(&a, cols);
    engine_arg_u32(&a, d);
    engine_arg_mem(&a, A);
    engine_arg_u64(&a, st.a);
    engine_arg_mem(&a, B);
    engine_arg_u64(&a, st.b);
    engine_arg_mem(&a, out);
    engine_arg_u64(&a, st.c);
    size_t global[3] = {nt ? cols : d, nt ? rows : cols, e->runs};
    return engine_launch(&a, 3, global);
}

#ifdef PEGR_HAVE_CLBLAST
/* The status of a failed CLBlast call: OpenCL codes pass through; CLBlast's own (<= -1024) become
 * PEGR_ERR_CLBLAST with the number in the message. */
static pegr_status clblast_fail(pegr_engine *e, CLBlastStatusCode rc, const char *call)
{
    if (rc > -1024) return pegr_ctx_cl_fail(e->ctx, (cl_int)rc, call, "inside CLBlast");
    return pegr_ctx_fail(e->ctx, PEGR_ERR_CLBLAST, "%s failed with CLBlast status %d", call, (int)rc);
}

/* A batch of runs: CLBlast's strided-batched GEMM (it manages its own scratch). */
static pegr_status clblast_gemm_batched(pegr_engine *e, CLBlastTranspose ta, CLBlastTranspose tb,
                                        size_t M, size_t N, size_t K, cl_mem A, size_t lda,
                                        cl_mem B, size_t ldb, cl_mem C, size_t ldc,
                                        gemm_strides st)
{
    cl_command_queue q = e->ctx->queue;
    cl_event *ev = engine_profile_event(e, "clblast_gemm_batched");
    CLBlastStatusCode rc =
        e->elem == sizeof(double)
            ? CLBlastDgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, M, N, K, 1.0, A, 0, lda,
                                         st.a, B, 0, ldb, st.b, 0.0, C, 0, ldc, st.c, e->runs, &q, ev)
            : CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, M, N, K, 1.0f, A, 0, lda,
                                         st.a, B, 0, ldb, st.b, 0.0f, C, 0, ldc, st.c, e->runs, &q,
                                         ev);
    return rc == CLBlastSuccess ? PEGR_OK : clblast_fail(e, rc, "CLBlastGemmStridedBatched");
}

/* Row-major C (M x N) = op(A) op(B) for each run; one run grows our temporary buffer when CLBlast
 * asks for more. */
static pegr_status clblast_gemm(pegr_engine *e, CLBlastTranspose ta, CLBlastTranspose tb, size_t M,
                                size_t N, size_t K, cl_mem A, size_t lda, cl_mem B, size_t ldb,
                                cl_mem C, size_t ldc, gemm_strides st)
{
    if (e->runs > 1) return clblast_gemm_batched(e, ta, tb, M, N, K, A, lda, B, ldb, C, ldc, st);
    cl_command_queue q = e->ctx->queue;
    int dbl = e->elem == sizeof(double);
    size_t need = 0;
    CLBlastStatusCode rc =
        dbl ? CLBlastDGemmTempBufferSize(CLBlastLayoutRowMajor, ta, tb, M, N, K, 0, lda, 0, ldb, 0,
                                         ldc, &q, &need)
            : CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, ta, tb, M, N, K, 0, lda, 0, ldb, 0,
                                         ldc, &q, &need);
    if (rc != CLBlastSuccess) return clblast_fail(e, rc, "CLBlastGemmTempBufferSize");
    if (need > e->gemm_temp_bytes) {
        engine_free(e, &e->b.gemm_temp, e->gemm_temp_bytes);
        e->gemm_temp_bytes = 0;
        pegr_status s = engine_alloc(e, &e->b.gemm_temp, need, "CLBlast temporary");
        if (s != PEGR_OK) return s;
        e->gemm_temp_bytes = need;
    }
    cl_mem temp = e->gemm_temp_bytes ? e->b.gemm_temp : NULL;
    cl_event *ev = engine_profile_event(e, "clblast_gemm");
    rc = dbl ? CLBlastDgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, M, N, K, 1.0, A, 0, lda, B,
                                          0, ldb, 0.0, C, 0, ldc, &q, ev, temp)
             : CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, ta, tb, M, N, K, 1.0f, A, 0, lda,
                                          B, 0, ldb, 0.0f, C, 0, ldc, &q, ev, temp);
    return rc == CLBlastSuccess ? PEGR_OK : clblast_fail(e, rc, "CLBlastGemmWithTempBuffer");
}
#endif

/* CLBlast for this product: chosen (or forced), and under AUTO not a small one. */
static int use_clblast(const pegr_engine *e, size_t rows, size_t cols, size_t d)
{
    if (e->gemm != PEGR_GEMM_CLBLAST) return 0;
    return !e->gemm_by_size || rows * cols * d >= SMALL_GEMM_MACS;
}

pegr_status engine_gemm_nt(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem X, cl_mem W,
                           cl_mem Z)
{
    gemm_strides st = {rows * d, cols * d, rows * cols};
#ifdef PEGR_HAVE_CLBLAST
    if (use_clblast(e, rows, cols, d))
        return clblast_gemm(e, CLBlastTransposeNo, CLBlastTransposeYes, rows, cols, d, X, d, W, d,
                            Z, cols, st);
#endif
    return own_gemm(e, e->k.gemm_nt, "pegr_gemm_nt", rows, cols, d, X, W, Z, st, 1);
}

pegr_status engine_gemm_tn(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem C, cl_mem X,
                           cl_mem G)
{
    gemm_strides st = {rows * cols, rows * d, cols * d};
#ifdef PEGR_HAVE_CLBLAST
    if (use_clblast(e, rows, cols, d))
        return clblast_gemm(e, CLBlastTransposeYes, CLBlastTransposeNo, cols, d, rows, C, cols, X, d,
                            G, d, st);
#endif
    return own_gemm(e, e->k.gemm_tn, "pegr_gemm_tn", rows, cols, d, C, X, G, st, 0);
}

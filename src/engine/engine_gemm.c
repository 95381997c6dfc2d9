/* engine_gemm.c: the two GEMM shapes of a step, on pegr's own kernels (cl/gemm_tiled.cl: variants
 * built per parameter set, the table in src/device/gemm_variants.c; cl/gemm.cl: the simple
 * fallback) or on CLBlast (queue-based C API, with
 * a temporary buffer of ours when CLBlast asks for one). Which one runs is chosen per shape class
 * (gemm_tuning.h: NT or TN, small or large): what `pegr tune` measured fastest on this device,
 * else defaults by device type (pegr_gemm_default_choices, from the measurements quoted there).
 * $PEGR_GEMM=own|clblast|simple forces a family for every class (own: the tuned or default own
 * variant); $PEGR_GEMM_VARIANT=NAME forces one of the variants (tests, measurements). A work-group
 * cap (pegr_context_options) sends every own product to the simple kernels, the path that
 * honours any cap. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_gemm.h"
#include "device/gemm_tuning.h"

#ifdef PEGR_HAVE_CLBLAST
#include <clblast_c.h>
#endif

double engine_gemm_test_clblast_scale = 1.0; /* engine_gemm.h: a test hook */
double engine_gemm_test_variant_scale = 1.0; /* engine_gemm.h: a test hook */
int engine_gemm_test_clblast_error = 0;      /* engine_gemm.h: a test hook */
unsigned engine_gemm_variants_refused = 0;   /* engine_gemm.h: variants a check turned down */

/* The engine's choices and the variants it built (lazily, on a class's first product). */
struct engine_gemm_state {
    int choice[PEGR_GEMM_CLASSES];
    pegr_gemm_built built[PEGR_GEMM_NVARIANTS];
    int tried[PEGR_GEMM_NVARIANTS];
    int wrong[PEGR_GEMM_NVARIANTS]; /* the variant's check (variant_check) disagreed: the simple kernels serve */
    int clblast_checked; /* clblast_check ran (once per engine, before CLBlast's first product) */
};

void engine_gemm_free(pegr_engine *e)
{
    if (!e->gemm_state) return;
    for (size_t i = 0; i < PEGR_GEMM_NVARIANTS; i++) pegr_gemm_variant_release(&e->gemm_state->built[i]);
    free(e->gemm_state);
    e->gemm_state = NULL;
}

static int have_clblast(void)
{
#ifdef PEGR_HAVE_CLBLAST
    return 1;
#else
    return 0;
#endif
}

pegr_status engine_gemm_init(pegr_engine *e)
{
    pegr_gemm_impl want = e->options.gemm;
    const char *env = getenv("PEGR_GEMM");
    int simple = 0;
    if (want == PEGR_GEMM_AUTO && env && strcmp(env, "clblast") == 0) want = PEGR_GEMM_CLBLAST;
    if (want == PEGR_GEMM_AUTO && env && strcmp(env, "own") == 0) want = PEGR_GEMM_OWN;
    if (want == PEGR_GEMM_AUTO && env && strcmp(env, "simple") == 0) want = PEGR_GEMM_OWN, simple = 1;
    if (want == PEGR_GEMM_CLBLAST && !have_clblast())
        return pegr_ctx_fail(e->ctx, PEGR_ERR_UNSUPPORTED,
                             "CLBlast was asked for but this build of pegr has no CLBlast");
    const char *forced = getenv("PEGR_GEMM_VARIANT");
    int forced_index = -1;
    if (forced && *forced) {
        for (size_t i = 0; i < PEGR_GEMM_NVARIANTS; i++)
            if (strcmp(forced, pegr_gemm_variant_at(i)->name) == 0) forced_index = (int)i;
        if (forced_index < 0) {
            char list[512] = "";
            for (size_t i = 0, u = 0; i < PEGR_GEMM_NVARIANTS && u < sizeof list; i++)
                u += (size_t)snprintf(list + u, sizeof list - u, "%s%s", i ? ", " : "",
                                      pegr_gemm_variant_at(i)->name);
            return pegr_ctx_fail(e->ctx, PEGR_ERR_INVALID_ARGUMENT,
                                 "PEGR_GEMM_VARIANT='%s' is not one of pegr's GEMM variants (%s)",
                                 forced, list);
        }
    }
    engine_gemm_free(e);
    e->gemm_state = calloc(1, sizeof *e->gemm_state);
    if (!e->gemm_state) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of memory");
    int *choice = e->gemm_state->choice;
    int defaults[PEGR_GEMM_CLASSES];
    pegr_gemm_default_choices(&e->ctx->device, have_clblast(), defaults);
    int own_defaults[PEGR_GEMM_CLASSES];
    pegr_gemm_default_choices(&e->ctx->device, 0, own_defaults);
    memcpy(choice, defaults, sizeof defaults);
    if (want == PEGR_GEMM_AUTO || want == PEGR_GEMM_OWN)
        pegr_tuning_choices(e->ctx, e->options.precision, choice);
    int any_clblast = 0;
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++) {
        if (want == PEGR_GEMM_CLBLAST) choice[c] = PEGR_GEMM_CHOICE_CLBLAST;
        if (want == PEGR_GEMM_OWN && choice[c] < 0) choice[c] = own_defaults[c];
        if (forced_index >= 0 && want != PEGR_GEMM_CLBLAST) choice[c] = forced_index;
        if (simple) choice[c] = PEGR_GEMM_CHOICE_SIMPLE;
        /* a work-group cap: the simple kernels, which honour any cap (engine_launch) */
        if (choice[c] >= 0 && e->ctx->options.max_work_group_size && forced_index < 0)
            choice[c] = PEGR_GEMM_CHOICE_SIMPLE;
        any_clblast |= choice[c] == PEGR_GEMM_CHOICE_CLBLAST;
    }
    e->gemm = any_clblast ? PEGR_GEMM_CLBLAST : PEGR_GEMM_OWN;
    e->gemm_by_size = 0;
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++)
        pegr_ctx_log(e->ctx, PEGR_LOG_INFO, "GEMM %s: %s", pegr_gemm_class_name(c),
                     pegr_gemm_choice_name(choice[c]));
#ifdef PEGR_HAVE_CLBLAST
    /* `pegr tune`'s parameters for this device, when it was run */
    if (any_clblast) pegr_tuning_apply(e->ctx, e->options.precision);
#endif
    return PEGR_OK;
}

/* Element strides between the runs' matrices of a batched GEMM. */
typedef struct gemm_strides {
    size_t a, b, c;
} gemm_strides;

/* The simple kernels (cl/gemm.cl) */
static pegr_status simple_gemm(pegr_engine *e, cl_kernel k, const char *name, size_t rows,
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

/* Drivers can miscompile a variant: on Mesa 22.3's rusticl (llvmpipe) direct-v8-m4-n2-k128's
 * K-blocked TN product writes only its first rows, with partial sums, once C has more than about
 * a hundred rows (400 x 40 x 400 fails, 40 x 400 x 400 and 67 x 67 x 259 pass), although every
 * other implementation here computes it right. So before a variant's first product on an engine,
 * it computes an NT and a TN product of VCHECK_M x VCHECK_N x VCHECK_K (131 x 67 x 259: edges
 * past every tile and vector width of the variants (gemm_variants.c), M past 128 rows, K past two K blocks of 128)
 * beside pegr's simple kernels (cl/gemm.cl); a
 * variant that disagrees is not used on this engine (a warning; the simple kernels serve its
 * classes). Entries are in [-1, 1], so each sum's rounding is below K^2 eps: the tolerance is 4
 * K^2 eps (0.03 in fp32, 6e-11 in fp64), while a wrong kernel is off by O(1) or NaN. Two small
 * products per variant and engine: microseconds on a GPU, a few milliseconds on PoCL. 1 in
 * *wrong when the variant disagrees. */
enum { VCHECK_M = 131, VCHECK_N = 67, VCHECK_K = 259 };
static pegr_status variant_check(pegr_engine *e, int index, int *wrong)
{
    const size_t M = VCHECK_M, N = VCHECK_N, K = VCHECK_K, el = e->elem;
    const size_t na = M * K, nb = N * K, nc = M * N;
    double *a = malloc(na * sizeof(double)), *b = malloc(nb * sizeof(double));
    double *got = malloc(nc * sizeof(double)), *want = malloc(nc * sizeof(double));
    cl_mem A = NULL, B = NULL, C1 = NULL, C2 = NULL;
    pegr_status s = a && b && got && want ? PEGR_OK
                                         : pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; s == PEGR_OK && i < na; i++) a[i] = (double)((i * 7 + 3) % 17) / 8.0 - 1.0;
    for (size_t i = 0; s == PEGR_OK && i < nb; i++) b[i] = (double)((i * 5 + 1) % 13) / 6.0 - 1.0;
    if (s == PEGR_OK) s = engine_alloc(e, &A, na * el, "GEMM variant check A");
    if (s == PEGR_OK) s = engine_alloc(e, &B, nb * el, "GEMM variant check B");
    if (s == PEGR_OK) s = engine_alloc(e, &C1, nc * el, "GEMM variant check, the variant's");
    if (s == PEGR_OK) s = engine_alloc(e, &C2, nc * el, "GEMM variant check, the simple kernels'");
    if (s == PEGR_OK) s = engine_upload(e, A, a, na);
    if (s == PEGR_OK) s = engine_upload(e, B, b, nb);
    const double tol = 4.0 * (double)K * (double)K * (el == sizeof(float) ? 1.19e-7 : 2.2e-16);
    double worst = 0;
    size_t runs = e->runs;
    e->runs = 1;
    for (int shape = 0; shape < 2 && s == PEGR_OK; shape++) {
        const int nt = shape == PEGR_GEMM_NT;
        /* NT: C (M x N) = A (M x K) B^T, B (N x K); TN: C = A^T B, A (K x M), B (K x N). */
        s = pegr_gemm_variant_enqueue(e->ctx, (size_t)index, &e->gemm_state->built[index],
                                      (pegr_gemm_shape)shape, M, N, K, A, 0, B, 0, C1, 0, 1, NULL);
        gemm_strides st = {0, 0, 0};
        if (s == PEGR_OK)
            s = nt ? simple_gemm(e, e->k.gemm_nt, "pegr_gemm_nt", M, N, K, A, B, C2, st, 1)
                   : simple_gemm(e, e->k.gemm_tn, "pegr_gemm_tn", K, M, N, A, B, C2, st, 0);
        if (s == PEGR_OK) s = engine_download(e, C1, 0, got, nc);
        if (s == PEGR_OK) s = engine_download(e, C2, 0, want, nc);
        for (size_t i = 0; s == PEGR_OK && i < nc; i++) {
            double d = fabs(got[i] * engine_gemm_test_variant_scale - want[i]);
            if (!(d <= worst)) worst = d; /* NaN stays the worst */
        }
    }
    e->runs = runs;
    engine_free(e, &A, na * el);
    engine_free(e, &B, nb * el);
    engine_free(e, &C1, nc * el);
    engine_free(e, &C2, nc * el);
    free(a);
    free(b);
    free(got);
    free(want);
    if (s != PEGR_OK) return s;
    *wrong = !(worst <= tol);
    if (*wrong) {
        engine_gemm_variants_refused++;
        pegr_ctx_log(e->ctx, PEGR_LOG_WARN,
                     "GEMM variant %s disagrees with pegr's simple kernels on this device (largest "
                     "difference %g on a %zux%zux%zu product, allowed %g): using the simple kernels "
                     "for its products", pegr_gemm_variant_at(index)->name, worst, M, N, K, tol);
    }
    return PEGR_OK;
}

/* A variant's product; a variant the device cannot run (it does not fit) falls back to the
 * simple kernels, once logged. 1 in *done when it ran. */
static pegr_status variant_gemm(pegr_engine *e, int index, pegr_gemm_shape shape, size_t M,
                                size_t N, size_t K, cl_mem A, cl_mem B, cl_mem C, gemm_strides st,
                                int *done)
{
    struct engine_gemm_state *g = e->gemm_state;
    *done = 0;
    if (!g->tried[index]) {
        g->tried[index] = 1;
        pegr_status s = pegr_gemm_variant_build(e->ctx, e->options.precision, (size_t)index,
                                                &g->built[index]);
        if (s != PEGR_OK) return s;
        if (!g->built[index].fits)
            pegr_ctx_log(e->ctx, PEGR_LOG_WARN, "GEMM variant %s does not fit this device; using "
                         "the simple kernels", pegr_gemm_variant_at(index)->name);
        else if ((s = variant_check(e, index, &g->wrong[index])) != PEGR_OK)
            return s;
    }
    if (!g->built[index].fits || g->wrong[index]) return PEGR_OK;
    *done = 1;
    return pegr_gemm_variant_enqueue(e->ctx, (size_t)index, &g->built[index], shape, M, N, K, A,
                                     st.a, B, st.b, C, st.c, e->runs,
                                     engine_profile_event(e, pegr_gemm_variant_kernel_name(index, shape)));
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
    if (engine_gemm_test_clblast_error)
        return clblast_fail(e, CL_INVALID_WORK_ITEM_SIZE, "CLBlastGemm (test hook)");
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

/* One small product on CLBlast and on pegr's simple kernels (e->runs is 1 meanwhile); the largest
 * difference into *diff. NT: out (R x C) = A (R x D) B^T (B: C x D); TN: out (C x D) = M^T A
 * (M: R x C). */
enum { CHECK_R = 7, CHECK_C = 5, CHECK_D = 9 }; /* odd sizes: no tile divides them */
static pegr_status clblast_check_shape(pegr_engine *e, int nt, cl_mem A, cl_mem B, cl_mem M,
                                       cl_mem out1, cl_mem out2, double *diff)
{
    const size_t R = CHECK_R, C = CHECK_C, D = CHECK_D, count = nt ? R * C : C * D;
    pegr_status s;
    if (nt) {
        gemm_strides st = {R * D, C * D, R * C};
        s = clblast_gemm(e, CLBlastTransposeNo, CLBlastTransposeYes, R, C, D, A, D, B, D, out1, C,
                         st);
        if (s == PEGR_OK) s = simple_gemm(e, e->k.gemm_nt, "pegr_gemm_nt", R, C, D, A, B, out2, st, 1);
    } else {
        gemm_strides st = {R * C, R * D, C * D};
        s = clblast_gemm(e, CLBlastTransposeYes, CLBlastTransposeNo, C, D, R, M, C, A, D, out1, D,
                         st);
        if (s == PEGR_OK) s = simple_gemm(e, e->k.gemm_tn, "pegr_gemm_tn", R, C, D, M, A, out2, st, 0);
    }
    double lib[CHECK_C * CHECK_D], own[CHECK_C * CHECK_D];
    if (s == PEGR_OK) s = engine_download(e, out1, 0, lib, count);
    if (s == PEGR_OK) s = engine_download(e, out2, 0, own, count);
    for (size_t i = 0; s == PEGR_OK && i < count; i++) {
        double d = fabs(lib[i] * engine_gemm_test_clblast_scale - own[i]);
        if (!(d <= *diff)) *diff = d; /* NaN counts as the worst */
    }
    return s;
}

/* CLBlast can be wrong on a device (its Sgemm on Apple M1, CLBlast issue 542): before CLBlast's
 * first product on a device, an NT and a TN product of odd sizes run on CLBlast and on pegr's
 * simple kernels. Entries in [-1, 1] and sums of 9 products: the two agree to 9 roundings of
 * 9 (9 x 9 x eps: 1e-5 in fp32, 2e-14 in fp64) unless one is wrong; a wrong one is off by far
 * more. The verdict is stored with the tuning (gemm_tuning.h: per device, precision, pegr and
 * CLBlast version), so later engines on the device take it without running the products. 1 in
 * *agrees when CLBlast agrees. */
static pegr_status clblast_check_run(pegr_engine *e, int *agrees)
{
    const size_t R = CHECK_R, C = CHECK_C, D = CHECK_D;
    double a[CHECK_R * CHECK_D], b[CHECK_C * CHECK_D], m[CHECK_R * CHECK_C];
    for (size_t i = 0; i < R * D; i++) a[i] = (double)((i * 7 + 3) % 17) / 8.0 - 1.0;
    for (size_t i = 0; i < C * D; i++) b[i] = (double)((i * 5 + 1) % 13) / 6.0 - 1.0;
    for (size_t i = 0; i < R * C; i++) m[i] = (double)((i * 3 + 2) % 11) / 5.0 - 1.0;
    cl_mem A = NULL, B = NULL, M = NULL, out1 = NULL, out2 = NULL;
    const size_t el = e->elem, outsz = C * D * el;
    pegr_status s = engine_alloc(e, &A, R * D * el, "GEMM check A");
    if (s == PEGR_OK) s = engine_alloc(e, &B, C * D * el, "GEMM check B");
    if (s == PEGR_OK) s = engine_alloc(e, &M, R * C * el, "GEMM check M");
    if (s == PEGR_OK) s = engine_alloc(e, &out1, outsz, "GEMM check CLBlast");
    if (s == PEGR_OK) s = engine_alloc(e, &out2, outsz, "GEMM check own");
    if (s == PEGR_OK) s = engine_upload(e, A, a, R * D);
    if (s == PEGR_OK) s = engine_upload(e, B, b, C * D);
    if (s == PEGR_OK) s = engine_upload(e, M, m, R * C);
    size_t runs = e->runs;
    e->runs = 1;
    double diff = 0;
    if (s == PEGR_OK) s = clblast_check_shape(e, 1, A, B, M, out1, out2, &diff);
    if (s == PEGR_OK) s = clblast_check_shape(e, 0, A, B, M, out1, out2, &diff);
    e->runs = runs;
    engine_free(e, &A, R * D * el);
    engine_free(e, &B, C * D * el);
    engine_free(e, &M, R * C * el);
    engine_free(e, &out1, outsz);
    engine_free(e, &out2, outsz);
    if (s != PEGR_OK) return s;
    pegr_clblast_checks_run++;
    const double tol = el == sizeof(float) ? 1e-5 : 2e-14;
    *agrees = diff <= tol;
    if (!*agrees)
        pegr_ctx_log(e->ctx, PEGR_LOG_WARN,
                     "CLBlast's GEMM disagrees with pegr's own on this device (largest difference "
                     "%g on a 7x5x9 product, allowed %g)", diff, tol);
    return PEGR_OK;
}

/* CLBlast is not to be used on this engine (it disagrees with pegr's own GEMM, or failed): say why
 * (printf-style), and send every class that used it to pegr's own kernels. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void clblast_abandon(pegr_engine *e, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    pegr_ctx_log(e->ctx, PEGR_LOG_WARN, "%s: using pegr's own kernels", why);
    struct engine_gemm_state *g = e->gemm_state;
    int own[PEGR_GEMM_CLASSES];
    pegr_gemm_default_choices(&e->ctx->device, 0, own);
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++)
        if (g->choice[c] == PEGR_GEMM_CHOICE_CLBLAST) g->choice[c] = own[c];
    e->gemm = PEGR_GEMM_OWN;
}

/* Once per engine, before CLBlast's first product: the stored verdict, or the check (stored);
 * when CLBlast disagrees, a warning and pegr's own kernels for every class from then on. */
static pegr_status clblast_check(pegr_engine *e)
{
    struct engine_gemm_state *g = e->gemm_state;
    if (g->clblast_checked) return PEGR_OK;
    g->clblast_checked = 1;
    pegr_clblast_verdict v = pegr_clblast_verdict_load(e->ctx, e->options.precision);
    if (v == PEGR_CLBLAST_UNCHECKED) {
        int agrees = 0;
        if (clblast_check_run(e, &agrees) != PEGR_OK) { /* CLBlast could not even run: not stored */
            clblast_abandon(e, "CLBlast's GEMM failed on this device (%s)",
                            pegr_error_message(pegr_context_error(e->ctx)));
            return PEGR_OK;
        }
        v = agrees ? PEGR_CLBLAST_AGREES : PEGR_CLBLAST_DISAGREES;
        pegr_clblast_verdict_store(e->ctx, e->options.precision, v);
    }
    if (v == PEGR_CLBLAST_AGREES) return PEGR_OK;
    clblast_abandon(e, "CLBlast's GEMM disagrees with pegr's own on this device");
    return PEGR_OK;
}

/* A CLBlast product that failed after the check (its parameters can exceed a device's limits:
 * on Oclgrind with work-groups of at most 3 it returns CL_INVALID_WORK_ITEM_SIZE): a warning and
 * pegr's own kernels from then on, as when it disagrees; the caller runs the product on them (a
 * failure of those is then reported as usual). */
static void clblast_failed(pegr_engine *e)
{
    clblast_abandon(e, "CLBlast's GEMM failed on this device (%s)",
                    pegr_error_message(pegr_context_error(e->ctx)));
}
#endif

/* One product of either shape, on what the shape's class chose: CLBlast (checked before its
 * first product, abandoned for pegr's own kernels when it disagrees or fails), one of pegr's
 * variants, or the simple kernels. NT: out (rows x cols) = A (rows x d) B^T, B (cols x d);
 * TN: out (cols x d) = A^T B, A (rows x cols), B (rows x d). */
static pegr_status gemm(pegr_engine *e, pegr_gemm_shape shape, size_t rows, size_t cols, size_t d,
                        cl_mem A, cl_mem B, cl_mem out)
{
    const int nt = shape == PEGR_GEMM_NT;
    /* The product out (M x N) = op(A) op(B) over K, and each operand's stride between runs. */
    const size_t M = nt ? rows : cols, N = nt ? cols : d, K = nt ? d : rows;
    gemm_strides st = nt ? (gemm_strides){rows * d, cols * d, rows * cols}
                         : (gemm_strides){rows * cols, rows * d, cols * d};
    const int cls = pegr_gemm_class(shape, M, N, K);
    int choice = e->gemm_state->choice[cls];
#ifdef PEGR_HAVE_CLBLAST
    if (choice == PEGR_GEMM_CHOICE_CLBLAST) {
        pegr_status s = clblast_check(e);
        if (s != PEGR_OK) return s;
        choice = e->gemm_state->choice[cls];
    }
    if (choice == PEGR_GEMM_CHOICE_CLBLAST) {
        /* row-major leading dimensions: A's rows hold K (NT) or M (TN) values, B's K or N */
        if (clblast_gemm(e, nt ? CLBlastTransposeNo : CLBlastTransposeYes,
                         nt ? CLBlastTransposeYes : CLBlastTransposeNo, M, N, K, A, nt ? K : M, B,
                         nt ? K : N, out, N, st) == PEGR_OK)
            return PEGR_OK;
        clblast_failed(e);
        choice = e->gemm_state->choice[cls];
    }
#endif
    if (choice >= 0) {
        int done = 0;
        pegr_status s = variant_gemm(e, choice, shape, M, N, K, A, B, out, st, &done);
        if (s != PEGR_OK || done) return s;
    }
    return nt ? simple_gemm(e, e->k.gemm_nt, "pegr_gemm_nt", rows, cols, d, A, B, out, st, 1)
              : simple_gemm(e, e->k.gemm_tn, "pegr_gemm_tn", rows, cols, d, A, B, out, st, 0);
}

pegr_status engine_gemm_nt(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem X, cl_mem W,
                           cl_mem Z)
{
    return gemm(e, PEGR_GEMM_NT, rows, cols, d, X, W, Z);
}

pegr_status engine_gemm_tn(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem C, cl_mem X,
                           cl_mem G)
{
    return gemm(e, PEGR_GEMM_TN, rows, cols, d, C, X, G);
}

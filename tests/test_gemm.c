/* test_gemm.c: pegr's own GEMM variants (cl/gemm_tiled.cl, engine_gemm.c) against a host GEMM in
 * double precision, every shipped parameter set, both shapes (NT, TN), on awkward sizes (1x1x1,
 * primes, the span step's 40x400x400, tile edges, K below the vector width) and a strided batch
 * of 3 runs with a shared operand; variants the device's limits rule out (work-group cap, local
 * memory) are skipped, never failed; the stored tuning's format (version 2 and 1), strictly; and
 * an engine takes the stored per-class choices (else its device type's defaults).
 * Exits 77 (skip) for the device cases only when no OpenCL device exists.
 *
 * Tolerance: each element is compared against its own scale s = sum_k |a_ik b_kj| (exact in
 * double for these sizes), |err| <= tol * s. Any summation order of K products in precision u
 * is within gamma_K = K u / (1 - K u) of that (Higham, Accuracy and Stability, 3.1); with
 * K <= 400: fp64 (u = 1.1e-16) 4.5e-14, so 1e-12; fp32 (u = 6e-8, inputs exactly representable
 * as they are rounded to float first) 2.4e-5, so 5e-5 (headroom for the fused multiply-adds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/context_impl.h"
#include "engine/engine.h"
#include "device/gemm_tuning.h"
#include "util/rng.h"
#include "test_device_pick.h"

static pegr_device_info *devices;
static size_t ndevices;
/* The device the suite runs on (PEGR_TEST_DEVICE, else the first): test_device_pick. */
static pegr_device_info *suite_device;

typedef struct shape_case {
    size_t M, N, K, batch;
    int shared_b; /* B has stride 0: every run uses the same B */
} shape_case;

static const shape_case CASES[] = {
    {1, 1, 1, 1, 0},    {7, 13, 37, 1, 0},  {13, 7, 3, 1, 0},  {40, 400, 400, 1, 0},
    {400, 40, 400, 1, 0}, {33, 65, 17, 1, 0}, {64, 64, 16, 1, 0}, {65, 63, 15, 1, 0},
    {5, 129, 9, 3, 0},  {17, 31, 41, 3, 1},
};

/* C = op(A) op(B) for each run, in double; scale = sum |products|. */
static void host_gemm(pegr_gemm_shape shape, const shape_case *c, const double *A, const double *B,
                      double *C, double *scale)
{
    size_t M = c->M, N = c->N, K = c->K;
    for (size_t r = 0; r < c->batch; r++) {
        const double *a = A + r * M * K, *b = B + (c->shared_b ? 0 : r * N * K);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                double s = 0, t = 0;
                for (size_t k = 0; k < K; k++) {
                    double x = shape == PEGR_GEMM_TN ? a[k * M + i] : a[i * K + k];
                    double y = shape == PEGR_GEMM_TN ? b[k * N + j] : b[j * K + k];
                    s += x * y;
                    t += fabs(x * y);
                }
                C[r * M * N + i * N + j] = s;
                scale[r * M * N + i * N + j] = t;
            }
    }
}

static cl_mem upload(pegr_context *ctx, pegr_precision p, const double *x, size_t count)
{
    size_t el = p == PEGR_FP64 ? 8 : 4;
    void *buf = malloc(count * el);
    assert_non_null(buf);
    for (size_t i = 0; i < count; i++) {
        if (p == PEGR_FP64) ((double *)buf)[i] = x[i];
        else ((float *)buf)[i] = (float)x[i];
    }
    cl_int rc = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, count * el,
                              buf, &rc);
    assert_int_equal(rc, CL_SUCCESS);
    free(buf);
    return m;
}

/* One variant on one case and shape against the host; returns the worst err / scale. */
static double check_case(pegr_context *ctx, pegr_precision p, size_t variant,
                         const pegr_gemm_built *built, pegr_gemm_shape shape, const shape_case *c,
                         uint64_t seed)
{
    size_t M = c->M, N = c->N, K = c->K, R = c->batch;
    size_t na = R * M * K, nb = (c->shared_b ? 1 : R) * N * K, nc = R * M * N;
    double *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B), *C = malloc(nc * sizeof *C),
           *S = malloc(nc * sizeof *S), *got = malloc(nc * sizeof *got);
    assert_true(A && B && C && S && got);
    pegr_rng_fill_normal(seed, 1, 0, na, 1.0, A);
    pegr_rng_fill_normal(seed, 2, 0, nb, 1.0, B);
    if (p == PEGR_FP32) { /* the device sees float inputs: the reference uses the same */
        for (size_t i = 0; i < na; i++) A[i] = (float)A[i];
        for (size_t i = 0; i < nb; i++) B[i] = (float)B[i];
    }
    host_gemm(shape, c, A, B, C, S);
    cl_mem dA = upload(ctx, p, A, na), dB = upload(ctx, p, B, nb);
    /* C starts as NaN everywhere: an element the kernel does not write fails the check */
    for (size_t i = 0; i < nc; i++) got[i] = NAN;
    cl_mem dC = upload(ctx, p, got, nc);
    assert_int_equal(pegr_gemm_variant_enqueue(ctx, variant, built, shape, M, N, K, dA, M * K, dB,
                                               c->shared_b ? 0 : N * K, dC, M * N, R, NULL),
                     PEGR_OK);
    size_t el = p == PEGR_FP64 ? 8 : 4;
    void *raw = malloc(nc * el);
    assert_non_null(raw);
    assert_int_equal(clEnqueueReadBuffer(ctx->queue, dC, CL_TRUE, 0, nc * el, raw, 0, NULL, NULL),
                     CL_SUCCESS);
    double worst = 0;
    for (size_t i = 0; i < nc; i++) {
        double g = p == PEGR_FP64 ? ((double *)raw)[i] : ((float *)raw)[i];
        double rel = fabs(g - C[i]) / (S[i] > 0 ? S[i] : 1e-300);
        if (!(rel <= worst)) worst = isnan(rel) ? INFINITY : rel;
    }
    clReleaseMemObject(dA);
    clReleaseMemObject(dB);
    clReleaseMemObject(dC);
    free(raw);
    free(A);
    free(B);
    free(C);
    free(S);
    free(got);
    return worst;
}

static void every_variant(pegr_precision p, double tol)
{
    pegr_context *ctx = NULL;
    pegr_error err = {0};
    assert_int_equal(pegr_context_create(suite_device, NULL, &ctx, &err), PEGR_OK);
    size_t ran = 0;
    for (size_t v = 0; v < pegr_gemm_variant_count(); v++) {
        const pegr_gemm_variant *var = pegr_gemm_variant_at(v);
        pegr_gemm_built built;
        assert_int_equal(pegr_gemm_variant_build(ctx, p, v, &built), PEGR_OK);
        if (!built.fits) {
            printf("  %s: does not fit this device, skipped\n", var->name);
            continue;
        }
        ran++;
        for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++)
            for (int shape = 0; shape < 2; shape++) {
                double worst = check_case(ctx, p, v, &built, (pegr_gemm_shape)shape, &CASES[c],
                                          1000 + c);
                if (!(worst <= tol))
                    fail_msg("%s %s %s M %zu N %zu K %zu batch %zu: error %.3g of the scale > %g",
                             var->name, p == PEGR_FP64 ? "fp64" : "fp32", shape ? "TN" : "NT",
                             CASES[c].M, CASES[c].N, CASES[c].K, CASES[c].batch, worst, tol);
            }
        pegr_gemm_variant_release(&built);
    }
    assert_true(ran > 0); /* at least the direct variants run anywhere */
    pegr_context_destroy(ctx);
}

static void test_every_variant_fp32_matches_host(void **state)
{
    (void)state;
    every_variant(PEGR_FP32, 5e-5);
}

static void test_every_variant_fp64_matches_host(void **state)
{
    (void)state;
    if (!suite_device->fp64) skip();
    every_variant(PEGR_FP64, 1e-12);
}

/* A tiled variant the device cannot hold is skipped (fits 0, PEGR_OK, nothing to release):
 * local memory below its panels, and a work-group cap of 1; the direct ones still run. */
static void test_variants_beyond_the_limits_are_skipped(void **state)
{
    (void)state;
    pegr_context *ctx = NULL;
    pegr_context_options opts = {0};
    opts.max_work_group_size = 1;
    assert_int_equal(pegr_context_create(suite_device, &opts, &ctx, NULL), PEGR_OK);
    pegr_context *small = NULL;
    assert_int_equal(pegr_context_create(suite_device, NULL, &small, NULL), PEGR_OK);
    small->device.local_mem_size = 64; /* white-box: a device with 64 bytes of local memory */
    size_t tiled = 0, direct = 0;
    for (size_t v = 0; v < pegr_gemm_variant_count(); v++) {
        const pegr_gemm_variant *var = pegr_gemm_variant_at(v);
        pegr_context *both[2] = {ctx, small};
        /* one direct variant is enough to show they run under the cap (each is a compile) */
        if (!var->tiled && direct++) continue;
        for (int i = 0; i < 2; i++) {
            pegr_gemm_built built;
            assert_int_equal(pegr_gemm_variant_build(both[i], PEGR_FP32, v, &built), PEGR_OK);
            assert_int_equal(built.fits, !var->tiled);
            if (!built.fits) {
                assert_null(built.program);
                continue;
            }
            /* under the cap of 1 the direct kernels launch one work-item groups */
            shape_case c = {7, 13, 37, 2, 0};
            assert_true(check_case(both[i], PEGR_FP32, v, &built, PEGR_GEMM_NT, &c, 5) <= 5e-5);
            assert_true(check_case(both[i], PEGR_FP32, v, &built, PEGR_GEMM_TN, &c, 6) <= 5e-5);
            pegr_gemm_variant_release(&built);
        }
        tiled += var->tiled != 0;
    }
    assert_true(tiled > 0);
    pegr_context_destroy(small);
    pegr_context_destroy(ctx);
}

/* ---- the stored tuning's format */
static char *tuning_file;

static pegr_status read_text(const char *text, pegr_gemm_tuning *t)
{
    FILE *f = fopen(tuning_file, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    pegr_error err = {0};
    pegr_status s = pegr_tuning_read(tuning_file, t, &err);
    if (s != PEGR_OK) printf("  refused: %s\n", pegr_error_message(&err));
    pegr_error_clear(&err);
    return s;
}

static void test_tuning_file_is_read_strictly(void **state)
{
    (void)state;
    char dir[] = "/tmp/pegr-test-gemm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t len = strlen(dir) + 16;
    tuning_file = malloc(len);
    assert_non_null(tuning_file);
    snprintf(tuning_file, len, "%s/tuning.txt", dir);
    const char *v0 = pegr_gemm_variant_at(0)->name, *v1 = pegr_gemm_variant_at(1)->name;
    char good[512];
    snprintf(good, sizeof good,
             "pegr-gemm-tuning 2\nXgemmDirect default\nnt-small %s\nnt-large clblast\n"
             "tn-small simple\ntn-large %s\n", v0, v1);
    pegr_gemm_tuning t;
    assert_int_equal(read_text(good, &t), PEGR_OK);
    assert_int_equal(t.has_choices, 1);
    assert_int_equal(t.has_clblast, 0);
    assert_int_equal(t.choices[PEGR_GEMM_NT_SMALL], 0);
    assert_int_equal(t.choices[PEGR_GEMM_NT_LARGE], PEGR_GEMM_CHOICE_CLBLAST);
    assert_int_equal(t.choices[PEGR_GEMM_TN_SMALL], PEGR_GEMM_CHOICE_SIMPLE);
    assert_int_equal(t.choices[PEGR_GEMM_TN_LARGE], 1);
    /* without the final newline, and with a CLBlast candidate */
    good[strlen(good) - 1] = 0;
    assert_int_equal(read_text(good, &t), PEGR_OK);
    char with[512];
    snprintf(with, sizeof with,
             "pegr-gemm-tuning 2\nXgemmDirect 8 8 8 8 8 1 1 1 1 1\nnt-small %s\nnt-large %s\n"
             "tn-small %s\ntn-large %s\n", v0, v0, v1, v1);
    assert_int_equal(read_text(with, &t), PEGR_OK);
    assert_int_equal(t.has_clblast, 1);
    assert_int_equal((int)t.values[0], 8);
    /* version 1: the CLBlast line alone */
    assert_int_equal(read_text("XgemmDirect 8 8 8 8 8 1 1 1 1 1\n", &t), PEGR_OK);
    assert_int_equal(t.has_choices, 0);
    assert_int_equal(t.has_clblast, 1);
    /* refused: an unknown variant, a class out of order, a missing class, an extra line, a
     * CLBlast value set pegr never measured, spaces, another version, an empty file */
    const char *bad[] = {
        "pegr-gemm-tuning 2\nXgemmDirect default\nnt-small direct-v99\nnt-large simple\n"
        "tn-small simple\ntn-large simple\n",
        "pegr-gemm-tuning 2\nXgemmDirect default\nnt-large simple\nnt-small simple\n"
        "tn-small simple\ntn-large simple\n",
        "pegr-gemm-tuning 2\nXgemmDirect default\nnt-small simple\nnt-large simple\n"
        "tn-small simple\n",
        "pegr-gemm-tuning 2\nXgemmDirect default\nnt-small simple\nnt-large simple\n"
        "tn-small simple\ntn-large simple\nnt-small simple\n",
        "pegr-gemm-tuning 2\nXgemmDirect 0 0 0 0 0 0 0 0 0 0\nnt-small simple\nnt-large simple\n"
        "tn-small simple\ntn-large simple\n",
        "pegr-gemm-tuning 2\nXgemmDirect default\nnt-small  simple\nnt-large simple\n"
        "tn-small simple\ntn-large simple\n",
        "pegr-gemm-tuning 3\nXgemmDirect default\nnt-small simple\nnt-large simple\n"
        "tn-small simple\ntn-large simple\n",
        "pegr-gemm-tuning 2\nnt-small simple\nnt-large simple\ntn-small simple\ntn-large simple\n",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(read_text(bad[i], &t), PEGR_ERR_FORMAT);
    unlink(tuning_file);
    rmdir(dir);
    free(tuning_file);
}

/* Classes: the span step's product is small, the primal ones large (2^23 multiply-adds). */
static void test_shape_classes(void **state)
{
    (void)state;
    assert_int_equal(pegr_gemm_class(PEGR_GEMM_NT, 400, 40, 400), PEGR_GEMM_NT_SMALL);
    assert_int_equal(pegr_gemm_class(PEGR_GEMM_NT, 400, 40, 2000), PEGR_GEMM_NT_LARGE);
    assert_int_equal(pegr_gemm_class(PEGR_GEMM_TN, 40, 400, 400), PEGR_GEMM_TN_SMALL);
    assert_int_equal(pegr_gemm_class(PEGR_GEMM_TN, 40, 2000, 400), PEGR_GEMM_TN_LARGE);
}

/* ---- the engine's choices */
static char log_text[8192];

static void capture_log(void *user, pegr_log_level level, const char *message)
{
    (void)user;
    (void)level;
    size_t used = strlen(log_text);
    snprintf(log_text + used, sizeof log_text - used, "%s\n", message);
}

/* An engine (AUTO) on the first device, its log captured; NULL when creation failed (err). */
static pegr_backend *engine_with_log(pegr_error *err)
{
    log_text[0] = 0;
    pegr_context_options opts = {0};
    opts.log = capture_log;
    pegr_context *ctx = NULL;
    assert_int_equal(pegr_context_create(suite_device, &opts, &ctx, NULL), PEGR_OK);
    pegr_engine_options eo = {PEGR_FP32, PEGR_GEMM_AUTO, 0, 0};
    return pegr_engine_create(ctx, &eo, err);
}

static void test_engine_takes_the_stored_choices(void **state)
{
    (void)state;
    char dir[] = "/tmp/pegr-test-gemm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("PEGR_CACHE_DIR", dir, 1);
    unsetenv("PEGR_NO_TUNING");
    unsetenv("PEGR_GEMM");
    unsetenv("PEGR_GEMM_VARIANT");
    const char *v1 = pegr_gemm_variant_at(1)->name, *v2 = pegr_gemm_variant_at(2)->name;
    char text[512], want[4][96];
    snprintf(text, sizeof text,
             "pegr-gemm-tuning 2\nXgemmDirect default\nnt-small simple\nnt-large %s\n"
             "tn-small %s\ntn-large simple\n", v1, v2);
    snprintf(want[0], sizeof want[0], "GEMM nt-small: simple\n");
    snprintf(want[1], sizeof want[1], "GEMM nt-large: %s\n", v1);
    snprintf(want[2], sizeof want[2], "GEMM tn-small: %s\n", v2);
    snprintf(want[3], sizeof want[3], "GEMM tn-large: simple\n");
    char *path = pegr_tuning_path(suite_device, PEGR_FP32);
    assert_non_null(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    pegr_error err = {0};
    pegr_backend *b = engine_with_log(&err);
    assert_non_null(b);
    for (int c = 0; c < 4; c++)
        if (!strstr(log_text, want[c])) fail_msg("expected '%s' in the log:\n%s", want[c], log_text);
    b->ops->destroy(b);
    /* untuned: the device type's defaults, pegr's own kernels for the span step's product */
    setenv("PEGR_NO_TUNING", "1", 1);
    b = engine_with_log(&err);
    assert_non_null(b);
    assert_null(strstr(log_text, "GEMM nt-small: simple"));
    assert_null(strstr(log_text, "GEMM nt-small: clblast"));
    b->ops->destroy(b);
    /* a variant name pegr does not have is refused, naming the ones it has */
    setenv("PEGR_GEMM_VARIANT", "direct-v99", 1);
    b = engine_with_log(&err);
    assert_null(b);
    assert_non_null(strstr(pegr_error_message(&err), v1));
    pegr_error_clear(&err);
    unsetenv("PEGR_GEMM_VARIANT");
    unsetenv("PEGR_NO_TUNING");
    unlink(path);
    free(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest host[] = {
        cmocka_unit_test(test_tuning_file_is_read_strictly),
        cmocka_unit_test(test_shape_classes),
    };
    int failed = cmocka_run_group_tests_name("gemm (host)", host, NULL, NULL);
    pegr_error err = {0};
    if (!(suite_device = test_device_pick("test_gemm", 1, &devices, &ndevices, &err))) {
        printf("no OpenCL device, skipping the device cases: %s\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        return failed ? failed : 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_variant_fp32_matches_host),
        cmocka_unit_test(test_every_variant_fp64_matches_host),
        cmocka_unit_test(test_variants_beyond_the_limits_are_skipped),
        cmocka_unit_test(test_engine_takes_the_stored_choices),
    };
    failed += cmocka_run_group_tests_name("gemm (device)", tests, NULL, NULL);
    pegr_device_list_free(devices);
    return failed;
}

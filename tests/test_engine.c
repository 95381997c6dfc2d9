/* test_engine.c: the OpenCL engine against the exact host reference on a real device (PoCL in
 * CI): every output of gd, pegr and gr on random problems with edge shapes, the golden cases,
 * several training steps, a work-group cap of 1, chunked per-example gradients, and a failed
 * allocation reported cleanly. Exits 77 (skip) only when no OpenCL device exists.
 *
 * Tolerances (relative to the largest magnitude of the reference array):
 *  - fp64: 1e-10. Both sides compute the same formulas in double; only summation order differs.
 *  - fp32: 2e-4. Inputs are rounded to float (6e-8 relative); each GEMM sums up to d = 10^4
 *    products (4 interleaved partial sums: worst case ~ (d/4) * 6e-8 = 1.5e-4, typically
 *    sqrt(d) * 6e-8 ~ 6e-6); OpenCL's fp32 pow may be off by 16 ulp (1e-6); the pegr and gr
 *    coefficients multiply four or five such quantities. Observed: below 5e-6 on PoCL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "host_ref.h"
#include "npy.h"
#include "rng.h"
#include "train_support.h"

static pegr_device_info *devices;
static size_t ndevices;

typedef struct problem {
    size_t n, P, d, m;
    double *X, *y, *W;
} problem;

/* Generic Gaussian patches (not orthogonal), labels +-1, weights with pre-activations of order
 * one kept at least 1e-3 away from the kinks at 0. */
static problem make_problem(size_t n, size_t P, size_t d, size_t m, uint64_t seed)
{
    problem p = {n, P, d, m, malloc(n * P * d * sizeof(double)), malloc(n * sizeof(double)),
                 malloc(2 * m * d * sizeof(double))};
    assert_non_null(p.X);
    assert_non_null(p.y);
    assert_non_null(p.W);
    pegr_rng_fill_normal(seed, 1, 0, n * P * d, 1.0, p.X);
    for (size_t i = 0; i < n; i++) p.y[i] = pegr_rng_uniform(seed, 2, i) < 0.5 ? 1.0 : -1.0;
    for (uint64_t attempt = 0;; attempt++) {
        pegr_rng_fill_normal(seed, 3, attempt * 2 * m * d, 2 * m * d, 1.0 / sqrt((double)d), p.W);
        int near_kink = 0;
        for (size_t row = 0; row < n * P && !near_kink; row++)
            for (size_t c = 0; c < 2 * m && !near_kink; c++) {
                double z = 0;
                for (size_t k = 0; k < d; k++) z += p.X[row * d + k] * p.W[c * d + k];
                near_kink = fabs(z) < 1e-3;
            }
        if (!near_kink) break;
    }
    return p;
}

static void free_problem(problem *p)
{
    free(p->X);
    free(p->y);
    free(p->W);
}

typedef struct outputs {
    double *grad, *margin, *loss, *norm2, *pe;
    double mean_loss, objective;
} outputs;

static outputs alloc_outputs(const problem *p)
{
    outputs o = {calloc(2 * p->m * p->d, sizeof(double)), calloc(p->n, sizeof(double)),
                 calloc(p->n, sizeof(double)), calloc(p->n, sizeof(double)),
                 calloc(p->n * 2 * p->m * p->d, sizeof(double)), 0, 0};
    return o;
}

static void free_outputs(outputs *o)
{
    free(o->grad);
    free(o->margin);
    free(o->loss);
    free(o->norm2);
    free(o->pe);
}

/* CLBlast forced where pegr has it (AUTO would send these small shapes to pegr's kernels, which
 * the OWN tests cover). */
static pegr_gemm_impl gemm_choice = SUPPORT_LIBRARY_GEMM;

static pegr_backend *open_engine(pegr_precision prec, size_t wg_cap, double mem_fraction,
                                 size_t chunk)
{
    pegr_context_options copts = {0};
    copts.max_work_group_size = wg_cap;
    pegr_context *ctx = NULL;
    pegr_error err = {0};
    if (pegr_context_create(&devices[0], &copts, &ctx, &err) != PEGR_OK)
        fail_msg("%s", pegr_error_message(&err));
    pegr_engine_options eopts = {prec, gemm_choice, mem_fraction, chunk};
    pegr_backend *b = pegr_engine_create(ctx, &eopts, &err);
    if (!b) fail_msg("%s", pegr_error_message(&err));
    pegr_error_clear(&err);
    return b;
}

static void evaluate_on(pegr_backend *b, const problem *p, pegr_method method, double q, double lam,
                        outputs *o)
{
    pegr_error err = {0};
    pegr_eval_request req = {.method = method, .q = q, .lam = lam, .grad = o->grad,
                             .margin = o->margin, .loss = o->loss, .norm2 = o->norm2,
                             .per_example_grad = o->pe, .mean_loss = &o->mean_loss,
                             .objective = &o->objective};
    if (b->ops->set_data(b, p->X, p->y, p->n, p->P, p->d, &err) != PEGR_OK ||
        b->ops->set_weights(b, p->W, p->m, &err) != PEGR_OK ||
        b->ops->evaluate(b, &req, &err) != PEGR_OK)
        fail_msg("%s: %s", b->ops->name, pegr_error_message(&err));
    pegr_error_clear(&err);
}

static void expect_close(const char *what, const problem *p, const char *method, double q,
                         double e, double tol)
{
    if (!(e <= tol))
        fail_msg("%s differs by %.3g (> %.1g) for %s, q = %g, n=%zu P=%zu d=%zu m=%zu", what, e, tol,
                 method, q, p->n, p->P, p->d, p->m);
}

static void compare_all(const problem *p, pegr_method method, double q, double lam,
                        pegr_backend *dev, double tol)
{
    static const char *const names[] = {"gd", "pegr", "gr"};
    pegr_backend *host = pegr_host_backend_create(NULL);
    outputs h = alloc_outputs(p), d = alloc_outputs(p);
    evaluate_on(host, p, method, q, lam, &h);
    evaluate_on(dev, p, method, q, lam, &d);
    const char *mn = names[method];
    expect_close("grad", p, mn, q, support_rel_err(d.grad, h.grad, 2 * p->m * p->d), tol);
    expect_close("margin", p, mn, q, support_rel_err(d.margin, h.margin, p->n), tol);
    expect_close("loss", p, mn, q, support_rel_err(d.loss, h.loss, p->n), tol);
    expect_close("norm2", p, mn, q, support_rel_err(d.norm2, h.norm2, p->n), tol);
    expect_close("per-example grad", p, mn, q, support_rel_err(d.pe, h.pe, p->n * 2 * p->m * p->d), tol);
    expect_close("mean loss", p, mn, q, support_rel_err(&d.mean_loss, &h.mean_loss, 1), tol);
    expect_close("objective", p, mn, q, support_rel_err(&d.objective, &h.objective, 1), tol);
    free_outputs(&h);
    free_outputs(&d);
    host->ops->destroy(host);
}

/* n, P, d, m: the edge shapes the issue names (n = 1, P = 1, m = 1, d = 1, d prime, d = 10000). */
static const size_t SHAPES[][4] = {
    {1, 1, 1, 1}, {1, 2, 5, 3}, {7, 1, 13, 2}, {5, 3, 17, 1},
    {4, 2, 97, 3}, {3, 2, 10000, 2}, {9, 4, 31, 2}, {12, 2, 64, 4},
};

static void run_all_shapes(pegr_precision prec, double tol, size_t wg_cap)
{
    pegr_backend *dev = open_engine(prec, wg_cap, 0, 0);
    const double qs[] = {1.0, 2.0, 3.0, 4.5};
    for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
        problem p = make_problem(SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], SHAPES[s][3], 100 + s);
        for (size_t qi = 0; qi < 4; qi++)
            for (int method = 0; method < 3; method++)
                compare_all(&p, (pegr_method)method, qs[qi], 0.3, dev, tol);
        free_problem(&p);
    }
    dev->ops->destroy(dev);
}

static void test_fp64_equals_host_on_every_shape_method_and_q(void **state)
{
    (void)state;
    if (!devices[0].fp64) skip();
    run_all_shapes(PEGR_FP64, 1e-10, 0);
}

static void test_fp32_equals_host_within_tolerance(void **state)
{
    (void)state;
    run_all_shapes(PEGR_FP32, 2e-4, 0);
}

/* The same with pegr's own GEMM kernels forced (the default may be CLBlast). */
static void test_own_gemm_kernels_equal_host_in_both_precisions(void **state)
{
    (void)state;
    gemm_choice = PEGR_GEMM_OWN;
    if (devices[0].fp64) run_all_shapes(PEGR_FP64, 1e-10, 0);
    run_all_shapes(PEGR_FP32, 2e-4, 0);
    gemm_choice = SUPPORT_LIBRARY_GEMM;
}

static void test_work_group_size_capped_at_1_still_exact(void **state)
{
    (void)state;
    pegr_precision prec = devices[0].fp64 ? PEGR_FP64 : PEGR_FP32;
    double tol = devices[0].fp64 ? 1e-10 : 2e-4;
    gemm_choice = PEGR_GEMM_OWN; /* CLBlast picks its own work-group sizes */
    pegr_backend *dev = open_engine(prec, 1, 0, 0);
    gemm_choice = SUPPORT_LIBRARY_GEMM;
    problem p = make_problem(6, 2, 33, 3, 7);
    for (int method = 0; method < 3; method++) compare_all(&p, (pegr_method)method, 3.0, 0.1, dev, tol);
    free_problem(&p);
    dev->ops->destroy(dev);
}

static void read_case(const char *dir, const char *name, pegr_array *a)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/%s/%s", getenv("PEGR_TEST_DATA_DIR"), dir, name);
    pegr_error err = {0};
    if (pegr_npy_read(path, a, &err) != PEGR_OK) fail_msg("%s", pegr_error_message(&err));
}

static void golden_case(const char *dir, double q, double lam)
{
    pegr_array X = {0}, y = {0}, W = {0}, ref[3] = {{0}}, norm2 = {0}, pe = {0};
    read_case(dir, "X.npy", &X);
    read_case(dir, "y.npy", &y);
    read_case(dir, "W.npy", &W);
    read_case(dir, "grad_gd.npy", &ref[0]);
    read_case(dir, "grad_pegr.npy", &ref[1]);
    read_case(dir, "grad_gr.npy", &ref[2]);
    read_case(dir, "per_example_norm2.npy", &norm2);
    read_case(dir, "per_example_grad.npy", &pe);
    problem p = {X.shape[0], X.shape[1], X.shape[2], W.shape[1], X.data, y.data, W.data};
    pegr_backend *dev = open_engine(PEGR_FP64, 0, 0, 0);
    for (int method = 0; method < 3; method++) {
        outputs o = alloc_outputs(&p);
        evaluate_on(dev, &p, (pegr_method)method, q, lam, &o);
        expect_close("golden grad", &p, dir, q, support_rel_err(o.grad, ref[method].data, ref[method].size), 1e-10);
        expect_close("golden norm2", &p, dir, q, support_rel_err(o.norm2, norm2.data, norm2.size), 1e-10);
        expect_close("golden per-example grad", &p, dir, q, support_rel_err(o.pe, pe.data, pe.size), 1e-10);
        free_outputs(&o);
    }
    dev->ops->destroy(dev);
    pegr_array *all[] = {&X, &y, &W, &ref[0], &ref[1], &ref[2], &norm2, &pe};
    for (size_t i = 0; i < 8; i++) pegr_array_free(all[i]);
}

static void test_golden_cases_on_the_device(void **state)
{
    (void)state;
    if (!devices[0].fp64) skip();
    if (!getenv("PEGR_TEST_DATA_DIR")) skip();
    golden_case("cao2patch_q3", 3.0, 0.05);
    golden_case("generic3patch_q2.5", 2.5, 0.1);
    golden_case("relu_q1", 1.0, 0.2);
}

static void test_several_steps_of_each_method_agree_with_host(void **state)
{
    (void)state;
    if (!devices[0].fp64) skip();
    problem p = make_problem(10, 2, 40, 3, 11);
    for (int method = 0; method < 3; method++) {
        pegr_backend *dev = open_engine(PEGR_FP64, 0, 0, 0);
        pegr_backend *host = pegr_host_backend_create(NULL);
        pegr_backend *bs[2] = {host, dev};
        double Wout[2][2 * 3 * 40];
        for (int k = 0; k < 2; k++) {
            pegr_backend *b = bs[k];
            pegr_error err = {0};
            assert_int_equal(b->ops->set_data(b, p.X, p.y, p.n, p.P, p.d, &err), PEGR_OK);
            assert_int_equal(b->ops->set_weights(b, p.W, p.m, &err), PEGR_OK);
            /* lam and lr small enough that 8 steps of pegr and gr stay finite here */
            pegr_eval_request req = {.method = (pegr_method)method, .q = 3.0, .lam = 0.002};
            for (int step = 0; step < 8; step++)
                if (b->ops->step(b, &req, 0.02, &err) != PEGR_OK)
                    fail_msg("%s", pegr_error_message(&err));
            assert_int_equal(b->ops->get_weights(b, Wout[k], &err), PEGR_OK);
            pegr_error_clear(&err);
        }
        expect_close("W after 8 steps", &p, method == 0 ? "gd" : method == 1 ? "pegr" : "gr", 3.0,
                     support_rel_err(Wout[1], Wout[0], 2 * 3 * 40), 1e-10);
        /* the steps moved the weights and stayed finite */
        double moved = support_rel_err(Wout[0], p.W, 2 * 3 * 40);
        assert_true(moved > 1e-4 && isfinite(moved));
        host->ops->destroy(host);
        dev->ops->destroy(dev);
    }
    free_problem(&p);
}

static void test_chunked_per_example_gradients_match_gram_norms(void **state)
{
    (void)state;
    pegr_precision prec = devices[0].fp64 ? PEGR_FP64 : PEGR_FP32;
    double tol = devices[0].fp64 ? 1e-12 : 1e-5;
    problem p = make_problem(7, 3, 29, 2, 5);
    for (size_t chunk = 1; chunk <= 8; chunk += 3) {
        pegr_backend *dev = open_engine(prec, 0, 0, chunk);
        outputs o = alloc_outputs(&p);
        evaluate_on(dev, &p, PEGR_METHOD_PEGR, 3.0, 0.1, &o);
        /* ||g_i||^2 by the Gram identity (no d-sized work) equals the materialized norm */
        size_t per = 2 * p.m * p.d;
        for (size_t i = 0; i < p.n; i++) {
            double s = 0;
            for (size_t k = 0; k < per; k++) s += o.pe[i * per + k] * o.pe[i * per + k];
            assert_true(fabs(s - o.norm2[i]) <= tol * fmax(1e-300, o.norm2[i]));
        }
        free_outputs(&o);
        dev->ops->destroy(dev);
    }
    free_problem(&p);
}

static void test_allocation_beyond_the_cap_fails_cleanly(void **state)
{
    (void)state;
    /* A cap of 1 KiB: the engine's scalars fit, the first data buffer (32 KB) cannot. */
    pegr_backend *dev = open_engine(PEGR_FP32, 0, 1024.0 / (double)devices[0].global_mem_size, 0);
    problem p = make_problem(4, 2, 1000, 2, 3);
    pegr_error err = {0};
    assert_int_equal(dev->ops->set_data(dev, p.X, p.y, p.n, p.P, p.d, &err), PEGR_ERR_DEVICE_MEMORY);
    assert_non_null(strstr(err.message, "buffer 'X' needs"));
    assert_non_null(strstr(err.message, "MiB"));
    assert_non_null(strstr(err.message, devices[0].name));
    /* and the engine is still usable for what fits: nothing half-made is left */
    size_t in_use = pegr_engine_bytes_in_use(dev);
    assert_true(in_use <= 64); /* only the scalars: no half-made data buffers */
    pegr_error_clear(&err);
    dev->ops->destroy(dev);
    free_problem(&p);
}

static void test_fp64_refused_cleanly_where_missing(void **state)
{
    (void)state;
    if (devices[0].fp64) {
        /* Pretend: a device record without cl_khr_fp64 must be refused before any build. */
        pegr_device_info fake = devices[0];
        fake.fp64 = 0;
        pegr_context *ctx = NULL;
        assert_int_equal(pegr_context_create(&fake, NULL, &ctx, NULL), PEGR_OK);
        pegr_engine_options eopts = {PEGR_FP64, PEGR_GEMM_AUTO, 0, 0};
        pegr_error err = {0};
        assert_null(pegr_engine_create(ctx, &eopts, &err));
        assert_int_equal(err.status, PEGR_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.message, "cl_khr_fp64"));
        pegr_error_clear(&err);
    }
}

int main(void)
{
    pegr_error err = {0};
    if (pegr_device_list(&devices, &ndevices, &err) != PEGR_OK) {
        printf("no OpenCL device, skipping: %s\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp64_equals_host_on_every_shape_method_and_q),
        cmocka_unit_test(test_fp32_equals_host_within_tolerance),
        cmocka_unit_test(test_own_gemm_kernels_equal_host_in_both_precisions),
        cmocka_unit_test(test_work_group_size_capped_at_1_still_exact),
        cmocka_unit_test(test_golden_cases_on_the_device),
        cmocka_unit_test(test_several_steps_of_each_method_agree_with_host),
        cmocka_unit_test(test_chunked_per_example_gradients_match_gram_norms),
        cmocka_unit_test(test_allocation_beyond_the_cap_fails_cleanly),
        cmocka_unit_test(test_fp64_refused_cleanly_where_missing),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

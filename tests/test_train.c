/* test_train.c: training runs through the library on the host reference and on the OpenCL engine
 * (PoCL): the loss falls; a seed reproduces bit for bit; host and device agree on every metric at
 * every log step; sgd with a batch of n is gd; pegr with lam 0 is gd; and the paper's claim in the
 * demo regime over three seeds. Device parts skip (77 for the whole file only when no device). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "host/host_ref.h"
#include "pegr/train.h"
#include "test_device_pick.h"
#include "train_support.h"

static pegr_device_info *devices;
static size_t ndevices;
/* The device the suite runs on (PEGR_TEST_DEVICE, else the first): test_device_pick. */
static pegr_device_info *suite_device;

static pegr_backend *open_backend(int device, pegr_precision prec)
{
    return support_open_backend(device ? suite_device : NULL, prec, PEGR_GEMM_AUTO);
}

static void run_config(int device, pegr_precision prec, const pegr_train_config *c,
                       pegr_train_result *r)
{
    pegr_backend *b = open_backend(device, prec);
    support_train(b, c, r);
    b->ops->destroy(b);
}

static void test_loss_falls_on_host_and_device(void **state)
{
    (void)state;
    for (int device = 0; device <= (ndevices > 0); device++) {
        pegr_train_result r;
        pegr_train_config c = support_tiny("pegr", 100);
        run_config(device, PEGR_FP32, &c, &r);
        assert_int_equal(r.steps_run, 100);
        assert_false(r.diverged);
        const pegr_train_record *last = pegr_train_result_last(&r);
        assert_true(last->metrics.loss < 0.5 * r.records[0].metrics.loss);
        assert_int_equal(last->step, 100);
        assert_int_equal(r.n_records, 11); /* steps 0, 10, ..., 90 and the final 100 */
        pegr_train_result_free(&r);
    }
}

static void test_same_seed_reproduces_exactly(void **state)
{
    (void)state;
    for (int device = 0; device <= (ndevices > 0); device++) {
        pegr_train_result a, b;
        pegr_train_config c = support_tiny("pegr", 60);
        run_config(device, PEGR_FP32, &c, &a);
        run_config(device, PEGR_FP32, &c, &b);
        support_assert_same_records(&a, &b, 0.0);
        assert_memory_equal(a.W, b.W, 2 * c.m * c.data.d * sizeof(double));
        pegr_train_config other = c;
        other.data.seed = 1;
        pegr_train_result o;
        run_config(device, PEGR_FP32, &other, &o);
        assert_true(o.records[1].metrics.loss != a.records[1].metrics.loss);
        pegr_train_result_free(&a);
        pegr_train_result_free(&b);
        pegr_train_result_free(&o);
    }
}

/* Host (fp64) and device (fp64) agree on every metric at every log step of every method.
 * Tolerance 1e-8 relative: 100 steps compound the 1e-15 differences of summation order; the error
 * rates are counts, equal unless a margin sits within rounding of 0. */
/* fp32 on a device without fp64: each continuous metric relative to its largest value over the run
 * (support_assert_close_records). Measured on PoCL pthread with its fp64 hidden
 * (PEGR_TEST_FORCE_FP32=1; PEGR_TEST_SHOW_ERRORS=1 prints them): 100 steps against the host's
 * fp64, worst 4.5e-6 (gamma_max: <W - W0, mu> cancels W0's fp32 rounding; loss 2.2e-7); 300 steps
 * primal against span, both fp32, worst 6.4e-6, final W 1.5e-6. fp32's unit is 2^-24 = 6e-8, so
 * that is tens of roundings compounded over the steps; the tolerances leave 20-30x for other
 * drivers' summation orders and stay orders of magnitude below what a wrong step changes.
 * Error rates, absolute: no example flipped (observed 2.4e-8, the fraction's own rounding); one
 * test example of n_test = 100 may flip where its margin lies within fp32 rounding of 0. */
#define TRAIN_FP32_TOL PEGR_TOL_FP32_TRAIN /* 1e-4, src/check/check.h: pegr check uses it too */
#define SPAN_FP32_TOL 2e-4
#define TRAIN_FP32_RATE_TOL 0.0101

static void test_host_and_device_agree_on_every_metric(void **state)
{
    (void)state;
    if (!ndevices) skip();
    pegr_precision prec = support_check_precision(suite_device);
    const char *methods[] = {"gd", "sgd", "gr", "pegr"};
    for (size_t k = 0; k < 4; k++) {
        pegr_train_result h, d;
        pegr_train_config c = support_tiny(methods[k], 100);
        c.batch = 5;
        run_config(0, PEGR_FP64, &c, &h);
        c.representation = k % 2 ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL; /* both forms against the host */
        run_config(1, prec, &c, &d);
        if (prec == PEGR_FP64)
            support_assert_same_records(&h, &d, 1e-8);
        else
            support_assert_close_records(&h, &d, TRAIN_FP32_TOL, TRAIN_FP32_RATE_TOL);
        for (size_t i = 0; i < c.n_robust; i++)
            assert_true(fabs(h.robust_error[i] - d.robust_error[i]) <=
                        (prec == PEGR_FP64 ? 1e-12 : TRAIN_FP32_RATE_TOL));
        pegr_train_result_free(&h);
        pegr_train_result_free(&d);
    }
}

static void test_sgd_with_batch_n_is_gd(void **state)
{
    (void)state;
    for (int device = 0; device <= (ndevices > 0); device++) {
        pegr_train_result g, s, small;
        pegr_train_config c = support_tiny("gd", 50);
        run_config(device, PEGR_FP32, &c, &g);
        c.method = PEGR_METHOD_SGD;
        c.batch = c.data.n;
        run_config(device, PEGR_FP32, &c, &s);
        support_assert_same_records(&g, &s, 0.0);
        c.batch = 4; /* a real mini-batch differs */
        run_config(device, PEGR_FP32, &c, &small);
        assert_true(small.records[2].metrics.loss != g.records[2].metrics.loss);
        pegr_train_result_free(&g);
        pegr_train_result_free(&s);
        pegr_train_result_free(&small);
    }
}

static void test_pegr_with_lam_zero_is_gd(void **state)
{
    (void)state;
    for (int device = 0; device <= (ndevices > 0); device++) {
        pegr_train_result g, p;
        pegr_train_config c = support_tiny("gd", 50);
        run_config(device, PEGR_FP32, &c, &g);
        c.method = PEGR_METHOD_PEGR;
        c.lam = 0.0;
        run_config(device, PEGR_FP32, &c, &p);
        support_assert_same_records(&g, &p, 0.0);
        pegr_train_result_free(&g);
        pegr_train_result_free(&p);
    }
}

/* docs/math.md's regime: gd memorizes noise (test error about 0.5, rho > gamma), pegr learns the signal
 * (test error near 0, gamma > rho). Three seeds, on the device when there is one. */
static void test_demo_regime_shows_the_papers_claim(void **state)
{
    (void)state;
    int device = ndevices > 0;
    pegr_backend *b = open_backend(device, PEGR_FP32);
    for (uint64_t seed = 0; seed < 3; seed++) {
        pegr_train_config c;
        pegr_train_config_default(&c);
        c.data.seed = seed;
        c.n_robust = 0;
        c.log_every = 100;
        pegr_train_result g, p;
        c.method = PEGR_METHOD_GD;
        support_train(b, &c, &g);
        c.method = PEGR_METHOD_PEGR;
        support_train(b, &c, &p);
        const pegr_metrics *mg = &pegr_train_result_last(&g)->metrics;
        const pegr_metrics *mp = &pegr_train_result_last(&p)->metrics;
        printf("seed %llu: gd test %.3f gamma %.3f/%.3f rho %.3f | pegr test %.3f gamma %.3f/%.3f "
               "rho %.3f\n", (unsigned long long)seed, mg->test_error, mg->gamma_max[0],
               mg->gamma_max[1], mg->rho_mean, mp->test_error, mp->gamma_max[0], mp->gamma_max[1],
               mp->rho_mean);
        assert_true(mg->test_error > 0.35);
        assert_true(mg->rho_mean > fmax(mg->gamma_max[0], mg->gamma_max[1]));
        assert_true(mp->test_error < 0.2);
        assert_true(fmin(mp->gamma_max[0], mp->gamma_max[1]) > mp->rho_mean);
        pegr_train_result_free(&g);
        pegr_train_result_free(&p);
    }
    b->ops->destroy(b);
}

static void test_divergence_is_detected_with_its_step(void **state)
{
    (void)state;
    for (int device = 0; device <= (ndevices > 0); device++) {
        pegr_train_result r;
        pegr_train_config c = support_tiny("pegr", 300);
        c.lr = 50.0; /* far too large */
        run_config(device, PEGR_FP32, &c, &r);
        assert_true(r.diverged);
        assert_true(r.diverged_step >= 0 && (size_t)r.diverged_step < r.steps_run);
        assert_true(r.steps_run < 300); /* it stopped */
        pegr_train_result_free(&r);
    }
}

/* The span representation (W = W0 + Gam X) takes the same steps as the primal one: every method,
 * fp64, 300 steps, every metric at every log step and the final weights. */
static void test_span_steps_equal_primal_steps(void **state)
{
    (void)state;
    if (!ndevices) skip();
    pegr_precision prec = support_check_precision(suite_device);
    const char *methods[] = {"gd", "sgd", "gr", "pegr"};
    for (size_t k = 0; k < 4; k++) {
        pegr_train_result p, sp;
        pegr_train_config c = support_tiny(methods[k], 300);
        c.batch = 5;
        c.log_every = 25;
        c.representation = PEGR_REPRESENTATION_PRIMAL;
        run_config(1, prec, &c, &p);
        c.representation = PEGR_REPRESENTATION_SPAN;
        run_config(1, prec, &c, &sp);
        assert_false(p.span);
        assert_true(sp.span);
        if (prec == PEGR_FP64)
            support_assert_same_records(&p, &sp, 1e-9);
        else
            support_assert_close_records(&p, &sp, SPAN_FP32_TOL, TRAIN_FP32_RATE_TOL);
        double scale = 0, worst = 0;
        for (size_t i = 0; i < 2 * c.m * c.data.d; i++) scale = fmax(scale, fabs(p.W[i]));
        for (size_t i = 0; i < 2 * c.m * c.data.d; i++) worst = fmax(worst, fabs(p.W[i] - sp.W[i]));
        double w_tol = prec == PEGR_FP64 ? 1e-11 : SPAN_FP32_TOL;
        support_show_error("final W (scaled)", worst / scale, w_tol);
        if (!(worst <= w_tol * scale)) fail_msg("%s: W differs by %g (scale %g)", methods[k], worst, scale);
        for (size_t i = 0; i < c.n_robust; i++)
            assert_true(fabs(p.robust_error[i] - sp.robust_error[i]) <=
                        (prec == PEGR_FP64 ? 1e-12 : TRAIN_FP32_RATE_TOL));
        pegr_train_result_free(&p);
        pegr_train_result_free(&sp);
    }
}

static void test_auto_representation_follows_the_sizes(void **state)
{
    (void)state;
    pegr_train_config c;
    pegr_train_config_default(&c); /* n 50, P 2, d 1000: nP = 100 << d */
    assert_true(pegr_train_prefers_span(&c));
    c.data.n = 5000; /* nP = 10000 > d: the primal form is cheaper */
    assert_false(pegr_train_prefers_span(&c));
}

static void test_invalid_configs_are_refused(void **state)
{
    (void)state;
    pegr_error err = {0};
    pegr_train_config c = support_tiny("pegr", 10);
    c.q = 1.5;
    assert_int_equal(pegr_train_config_validate(&c, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "q = 1.5"));
    pegr_method method = PEGR_METHOD_GD; /* names are read by the one table, which refuses */
    assert_int_equal(pegr_method_parse("adam", "method", &method, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "'adam'"));
    assert_int_equal(method, PEGR_METHOD_GD);
    c = support_tiny("gd", 10);
    c.method = (pegr_method)PEGR_METHOD_COUNT; /* and a value outside the enum is refused */
    assert_int_equal(pegr_train_config_validate(&c, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "method"));
    c = support_tiny("gd", 10);
    c.lr = 0;
    assert_int_equal(pegr_train_config_validate(&c, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "lr"));
    /* a word-valued option (init, readout, sam-variant) outside its row's list, named with it */
    c = support_tiny("gd", 10);
    c.readout = 2;
    assert_int_equal(pegr_train_config_validate(&c, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "readout 2 is unknown: use one of mean-filters|mean-patches");
    c = support_tiny("gd", 10);
    c.sam_variant = -1;
    assert_int_equal(pegr_train_config_validate(&c, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_string_equal(err.message, "sam-variant -1 is unknown: use one of full|per-example");
    pegr_error_clear(&err);
}

int main(void)
{
    suite_device = test_device_pick_or_host_only("test_train", &devices, &ndevices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_falls_on_host_and_device),
        cmocka_unit_test(test_same_seed_reproduces_exactly),
        cmocka_unit_test(test_host_and_device_agree_on_every_metric),
        cmocka_unit_test(test_sgd_with_batch_n_is_gd),
        cmocka_unit_test(test_pegr_with_lam_zero_is_gd),
        cmocka_unit_test(test_divergence_is_detected_with_its_step),
        cmocka_unit_test(test_invalid_configs_are_refused),
        cmocka_unit_test(test_span_steps_equal_primal_steps),
        cmocka_unit_test(test_auto_representation_follows_the_sizes),
        cmocka_unit_test(test_demo_regime_shows_the_papers_claim),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

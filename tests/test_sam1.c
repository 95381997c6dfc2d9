/* test_sam1.c: per-example SAM (1-SAM, `--sam-variant per-example`; docs/math.md, "SAM"), W <- W -
 * lr sum_i omega_i grad l_i(W + rho g_i/||g_i||): the host's closed form against every example's
 * gradient evaluated at its own ascent point by the plain reference (with and without mini-batch
 * weights); rho 0 is gd; n = 1 is full SAM; the engine against the host for several steps in the
 * primal and span forms and every coefficient path; a batch of runs (own rho and lr each) against
 * each run on the host; a learned second layer (host against the definition, engine against
 * host); trainings on device and host, batched and alone; the divergence step; the CLI with a
 * --config re-run and a sweep over the variant. The device halves
 * skip (with a line) without a device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "engine/engine_object.h"
#include "host/host_ref.h"
#include "pegr/data.h"
#include "pegr/train.h"
#include "test_device_pick.h"
#include "train_support.h"
#include "util/rng.h"

enum { RUNS = 3, N = 7, P = 3, D = 25, M = 3, COLS = 2 * M, COUNT = COLS * D };

static pegr_device_info *devices;
static size_t ndevices;
static pegr_device_info *suite_device; /* NULL: no device, the device halves skip */

static void check(pegr_status s, const pegr_error *err)
{
    if (s != PEGR_OK) fail_msg("%s", pegr_error_message(err));
}

/* Run k's data and weights (seeded); n examples. */
static void make_run(size_t k, size_t n, double *X, double *y, double *W)
{
    pegr_rng_fill_normal(170 + k, 1, 0, n * P * D, 1.0, X);
    pegr_rng_fill_normal(170 + k, 3, 0, COUNT, 1.0 / sqrt((double)D), W);
    for (size_t i = 0; i < n; i++) y[i] = pegr_rng_uniform(170 + k, 2, i) < 0.5 ? 1.0 : -1.0;
}

static pegr_backend *host_with(const double *X, const double *y, size_t n, const double *W,
                               int variant)
{
    pegr_error err = {0};
    pegr_backend *h = pegr_host_backend_create(&err);
    if (!h) fail_msg("%s", pegr_error_message(&err));
    check(h->ops->set_data(h, X, y, n, P, D, &err), &err);
    check(h->ops->set_weights(h, W, M, &err), &err);
    check(pegr_backend_set_sam_variant(h, variant, &err), &err);
    return h;
}

/* The definition, directly: g_i by the plain reference (materialized per-example gradients),
 * each example's own gradient at W + rho g_i/||g_i|| (the reference on that example alone), summed
 * with weights omega (NULL: 1/n); out = W - lr * that sum. */
static void sam1_by_hand(const double *X, const double *y, size_t n, const double *W, double rho,
                         double lr, const double *omega, double *out)
{
    static double gi[16 * COUNT], Wi[COUNT], ga[COUNT], sum[COUNT];
    pegr_error err = {0};
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .per_example_grad = gi};
    check(pegr_ref_evaluate(X, y, n, P, D, W, M, &req, &err), &err);
    memset(sum, 0, sizeof sum);
    for (size_t i = 0; i < n; i++) {
        double norm = 0.0;
        for (size_t k = 0; k < COUNT; k++) norm += gi[i * COUNT + k] * gi[i * COUNT + k];
        norm = sqrt(norm);
        for (size_t k = 0; k < COUNT; k++)
            Wi[k] = W[k] + (norm > 0.0 ? rho / norm * gi[i * COUNT + k] : 0.0);
        pegr_eval_request one = {.method = PEGR_METHOD_GD, .q = 3.0, .grad = ga};
        check(pegr_ref_evaluate(X + i * P * D, y + i, 1, P, D, Wi, M, &one, &err), &err);
        double w = omega ? omega[i] : 1.0 / (double)n;
        for (size_t k = 0; k < COUNT; k++) sum[k] += w * ga[k];
    }
    for (size_t k = 0; k < COUNT; k++) out[k] = W[k] - lr * sum[k];
}

/* The definition with a learned second layer v (2, m): g_i over (W, v) by the plain reference on
 * example i alone, its ascent point (W, v) + rho g_i/||g_i||, example i's gradient there; the step
 * from (W, v) into (Wout, vout). */
static void sam1_by_hand_learned(const double *X, const double *y, size_t n, const double *W,
                                 const double *v, double rho, double lr, double *Wout,
                                 double *vout)
{
    static double g[COUNT], Wi[COUNT], ga[COUNT], sum[COUNT];
    double gv[COLS], vi[COLS], gva[COLS], sumv[COLS] = {0};
    pegr_error err = {0};
    memset(sum, 0, sizeof sum);
    for (size_t i = 0; i < n; i++) {
        pegr_ref_model md = {0, v, 1, gv};
        pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .grad = g};
        check(pegr_ref_evaluate_model(X + i * P * D, NULL, y + i, 1, P, D, W, M, &md, &req, &err),
              &err);
        double norm = 0.0;
        for (size_t k = 0; k < COUNT; k++) norm += g[k] * g[k];
        for (size_t k = 0; k < COLS; k++) norm += gv[k] * gv[k];
        norm = sqrt(norm);
        for (size_t k = 0; k < COUNT; k++) Wi[k] = W[k] + rho / norm * g[k];
        for (size_t k = 0; k < COLS; k++) vi[k] = v[k] + rho / norm * gv[k];
        pegr_ref_model at = {0, vi, 1, gva};
        pegr_eval_request one = {.method = PEGR_METHOD_GD, .q = 3.0, .grad = ga};
        check(pegr_ref_evaluate_model(X + i * P * D, NULL, y + i, 1, P, D, Wi, M, &at, &one, &err),
              &err);
        for (size_t k = 0; k < COUNT; k++) sum[k] += ga[k] / (double)n;
        for (size_t k = 0; k < COLS; k++) sumv[k] += gva[k] / (double)n;
    }
    for (size_t k = 0; k < COUNT; k++) Wout[k] = W[k] - lr * sum[k];
    for (size_t k = 0; k < COLS; k++) vout[k] = v[k] - lr * sumv[k];
}

/* One host step of the variant from W; the new weights into out. */
static void host_step(const double *X, const double *y, size_t n, const double *W, double rho,
                      double lr, const double *omega, int variant, double *out)
{
    pegr_error err = {0};
    pegr_backend *h = host_with(X, y, n, W, variant);
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .weights = omega};
    check(pegr_backend_sam_step(h, &req, lr, rho, NULL, &err), &err);
    check(h->ops->get_weights(h, out, &err), &err);
    h->ops->destroy(h);
}

static void test_host_step_is_each_example_at_its_own_ascent_point(void **state)
{
    (void)state;
    static double X[N * P * D], y[N], W[COUNT], want[COUNT], got[COUNT], full[COUNT];
    double omega[N];
    for (size_t i = 0; i < N; i++) omega[i] = i % 3 ? 0.0 : 1.0 / 3.0; /* a mini-batch's weights */
    for (size_t k = 0; k < 2; k++) {
        make_run(k, N, X, y, W);
        for (int weighted = 0; weighted < 2; weighted++) {
            const double rho = 0.4, lr = 0.3, *w = weighted ? omega : NULL;
            sam1_by_hand(X, y, N, W, rho, lr, w, want);
            host_step(X, y, N, W, rho, lr, w, PEGR_SAM_PER_EXAMPLE, got);
            double e = support_rel_err(got, want, COUNT);
            if (!(e < 1e-13)) fail_msg("run %zu, weighted %d: error %g against the definition", k,
                                       weighted, e);
            /* the step moved W, and not as full SAM does */
            assert_true(support_rel_err(got, W, COUNT) > 1e-4);
            host_step(X, y, N, W, rho, lr, w, PEGR_SAM_FULL, full);
            assert_true(support_rel_err(got, full, COUNT) > 1e-4);
        }
    }
}

/* With --learn-readout, v takes part in every example's ascent: two host steps (the second from a
 * v that is no longer 1) against the definition, W and v. */
static void test_host_step_with_a_learned_readout(void **state)
{
    (void)state;
    static double X[N * P * D], y[N], W[COUNT], Wn[COUNT], want[COUNT];
    double v[COLS], vn[COLS], vwant[COLS];
    make_run(3, N, X, y, W);
    pegr_error err = {0};
    pegr_backend *h = host_with(X, y, N, W, PEGR_SAM_PER_EXAMPLE);
    check(pegr_backend_set_readout(h, PEGR_READOUT_MEAN_FILTERS, 1, &err), &err);
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0};
    for (int t = 0; t < 2; t++) {
        check(h->ops->get_weights(h, W, &err), &err);
        check(pegr_backend_get_readout(h, v, &err), &err);
        sam1_by_hand_learned(X, y, N, W, v, 0.4, 0.3, want, vwant);
        check(pegr_backend_sam_step(h, &req, 0.3, 0.4, NULL, &err), &err);
        check(h->ops->get_weights(h, Wn, &err), &err);
        check(pegr_backend_get_readout(h, vn, &err), &err);
        double ew = support_rel_err(Wn, want, COUNT), ev = support_rel_err(vn, vwant, COLS);
        if (!(ew < 1e-13) || !(ev < 1e-13))
            fail_msg("step %d: W error %g, v error %g against the definition", t, ew, ev);
        assert_true(support_rel_err(vn, v, COLS) > 1e-6); /* v moved */
    }
    h->ops->destroy(h);
}

static void test_rho_zero_is_gd_and_one_example_is_full_sam(void **state)
{
    (void)state;
    static double X[N * P * D], y[N], W[COUNT], Wg[COUNT], Ws[COUNT], Wf[COUNT];
    make_run(2, N, X, y, W);
    pegr_error err = {0};
    pegr_backend *gd = host_with(X, y, N, W, PEGR_SAM_FULL);
    pegr_backend *sam = host_with(X, y, N, W, PEGR_SAM_PER_EXAMPLE);
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0};
    for (int t = 0; t < 5; t++) {
        check(pegr_backend_step(gd, &req, 0.1, &err), &err);
        check(pegr_backend_sam_step(sam, &req, 0.1, 0.0, NULL, &err), &err);
    }
    check(gd->ops->get_weights(gd, Wg, &err), &err);
    check(sam->ops->get_weights(sam, Ws, &err), &err);
    assert_true(support_rel_err(Ws, Wg, COUNT) < 1e-15);
    gd->ops->destroy(gd);
    sam->ops->destroy(sam);
    /* one example: g = g_1, one ascent point; full SAM forms it in W, 1-SAM in z */
    for (size_t k = 0; k < 3; k++) {
        make_run(10 + k, 1, X, y, W);
        host_step(X, y, 1, W, 0.7, 0.2, NULL, PEGR_SAM_PER_EXAMPLE, Ws);
        host_step(X, y, 1, W, 0.7, 0.2, NULL, PEGR_SAM_FULL, Wf);
        assert_true(support_rel_err(Ws, Wf, COUNT) < 1e-13);
        assert_true(support_rel_err(Ws, W, COUNT) > 1e-4);
    }
}

static void test_the_option_and_what_it_refuses(void **state)
{
    (void)state;
    static double X[N * P * D], y[N], W[COUNT];
    make_run(0, N, X, y, W);
    pegr_error err = {0};
    pegr_backend *h = host_with(X, y, N, W, PEGR_SAM_PER_EXAMPLE);
    assert_int_equal(pegr_backend_set_sam_variant(h, 2, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), PEGR_SAM_VARIANTS));
    h->ops->destroy(h);
    pegr_train_config c;
    pegr_train_config_default(&c);
    assert_int_equal(c.sam_variant, PEGR_SAM_FULL);
    check(pegr_train_config_set(&c, "method", "sam", &err), &err);
    check(pegr_train_config_set(&c, "sam-variant", "per-example", &err), &err);
    assert_int_equal(c.sam_variant, PEGR_SAM_PER_EXAMPLE);
    check(pegr_train_config_validate(&c, &err), &err);
    assert_int_equal(pegr_train_config_set(&c, "sam-variant", "half", &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    const pegr_train_option *o = pegr_train_option_find("sam-variant");
    assert_non_null(o);
    assert_string_equal(o->column, "sam_variant");
}

/* ---- the engine against the host ----------------------------------------------------------- */

/* `steps` per-example SAM steps (metrics and the gradient on the first, mini-batch weights on the
 * third) of `runs` runs, each with its own rho and lr, on the engine (coefficient path `path`:
 * 0 its default, 1 the fused kernel, 2 three kernels) against each run alone on the host. */
static void engine_against_host(size_t runs, int span, int path, int learn)
{
    pegr_precision prec = support_check_precision(suite_device);
    static double X[RUNS * N * P * D], y[RUNS * N], W[RUNS * COUNT], Wd[RUNS * COUNT], Wh[COUNT],
        gd_[RUNS * COUNT], gh[COUNT], omega[RUNS * N], mu[RUNS * D];
    double rho[RUNS], lr[RUNS];
    size_t signal[RUNS * N];
    for (size_t k = 0; k < runs; k++) {
        make_run(k, N, X + k * N * P * D, y + k * N, W + k * COUNT);
        rho[k] = 0.05 * (double)(k + 1);
        lr[k] = 0.02 * (double)(k + 2);
        for (size_t i = 0; i < N; i++) {
            omega[k * N + i] = (i + k) % 2 ? 2.0 / N : 0.0;
            signal[k * N + i] = i % P;
        }
        for (size_t j = 0; j < D; j++) mu[k * D + j] = j == 0 ? 2.0 : 0.0;
    }
    pegr_metrics md[RUNS], mh;
    pegr_error err = {0};
    pegr_backend *e = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
    pegr_engine *en = (pegr_engine *)e;
    if (path == 1) en->coef_item = 0;
    if (path == 2) en->no_fuse = 1;
    check(e->ops->set_runs(e, runs, &err), &err);
    check(e->ops->set_data(e, X, y, N, P, D, &err), &err);
    check(e->ops->set_representation(e, span, &err), &err);
    check(e->ops->set_weights(e, W, M, &err), &err);
    check(pegr_backend_set_sam_variant(e, PEGR_SAM_PER_EXAMPLE, &err), &err);
    if (learn) check(pegr_backend_set_readout(e, PEGR_READOUT_MEAN_FILTERS, 1, &err), &err);
    static double vd[RUNS * COLS], vh[COLS];
    pegr_reference ref[RUNS];
    for (size_t k = 0; k < runs; k++)
        ref[k] = (pegr_reference){W + k * COUNT, mu + k * D, signal + k * N, NULL, NULL, 0,
                                  .n_signal = 1};
    check(e->ops->set_reference(e, ref, &err), &err);
    const int steps = 5;
    for (int t = 0; t < steps; t++) {
        pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .run_lr = lr,
                                 .grad = t == 0 ? gd_ : NULL, .metrics = t == 0 ? md : NULL,
                                 .weights = t == 2 ? omega : NULL};
        check(pegr_backend_sam_step(e, &req, 0.0, 0.0, rho, &err), &err);
    }
    check(e->ops->get_weights(e, Wd, &err), &err);
    check(pegr_backend_get_readout(e, vd, &err), &err);
    e->ops->destroy(e);
    double tol = prec == PEGR_FP64 ? PEGR_TOL_FP64 : PEGR_TOL_FP32_STEPS;
    for (size_t k = 0; k < runs; k++) {
        pegr_backend *h = host_with(X + k * N * P * D, y + k * N, N, W + k * COUNT,
                                    PEGR_SAM_PER_EXAMPLE);
        check(h->ops->set_reference(h, &ref[k], &err), &err);
        if (learn) check(pegr_backend_set_readout(h, PEGR_READOUT_MEAN_FILTERS, 1, &err), &err);
        for (int t = 0; t < steps; t++) {
            pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .grad = t == 0 ? gh : NULL,
                                     .metrics = t == 0 ? &mh : NULL,
                                     .weights = t == 2 ? omega + k * N : NULL};
            check(pegr_backend_sam_step(h, &req, lr[k], rho[k], NULL, &err), &err);
        }
        check(h->ops->get_weights(h, Wh, &err), &err);
        check(pegr_backend_get_readout(h, vh, &err), &err);
        h->ops->destroy(h);
        double ev = support_rel_err(vd + k * COLS, vh, COLS);
        if (!(ev < tol)) fail_msg("run %zu (%s): v error %g", k, span ? "span" : "primal", ev);
        double ew = support_rel_err(Wd + k * COUNT, Wh, COUNT);
        double eg = support_rel_err(gd_ + k * COUNT, gh, COUNT);
        support_show_error("sam1 W after 5 steps", ew, tol);
        if (!(ew < tol) || !(eg < (prec == PEGR_FP64 ? tol : PEGR_TOL_FP32_EVAL)))
            fail_msg("run %zu of %zu (%s, path %d): W error %g, grad error %g (tolerance %g)", k,
                     runs, span ? "span" : "primal", path, ew, eg, tol);
        double rel = prec == PEGR_FP64 ? tol : 1e-3;
        for (int i = 0; i < PEGR_CHECK_NMETRICS; i++) {
            double a = pegr_check_metric(&md[k], i), b = pegr_check_metric(&mh, i);
            if (isnan(a) && isnan(b)) continue; /* the test error: no test set here */
            double mt = pegr_check_metric_is_rate(i) ? pegr_tol_rate(prec, N)
                                                     : rel * (fabs(b) + 1e-3);
            if (!(fabs(a - b) <= mt))
                fail_msg("run %zu: metric %s %g on the device, %g on the host", k,
                         pegr_check_metric_name(i), a, b);
        }
    }
}

static void test_engine_steps_equal_the_host(void **state)
{
    (void)state;
    if (!suite_device) skip();
    for (int span = 0; span < 2; span++) {
        for (int path = 0; path < 3; path++) engine_against_host(1, span, path, 0);
        engine_against_host(1, span, 0, 1); /* a learned v */
    }
}

static void test_batched_steps_equal_each_run_on_the_host(void **state)
{
    (void)state;
    if (!suite_device) skip();
    for (int span = 0; span < 2; span++)
        for (int learn = 0; learn < 2; learn++) engine_against_host(RUNS, span, 0, learn);
}

/* ---- training runs --------------------------------------------------------------------------- */

static pegr_train_config sam1_tiny(size_t steps)
{
    pegr_train_config c = support_tiny("sam", steps);
    c.sam_rho = 0.2;
    c.sam_variant = PEGR_SAM_PER_EXAMPLE;
    return c;
}

static void test_training_on_the_device_equals_the_host(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    for (int span = 0; span < 2; span++) {
        pegr_train_config c = sam1_tiny(40);
        c.bias = span; /* the bias is one more coordinate: nothing of its own */
        c.learn_readout = !span;
        c.representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
        pegr_train_result rh, rd, rf;
        pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
        support_train(h, &c, &rh);
        h->ops->destroy(h);
        pegr_backend *d = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
        support_train(d, &c, &rd);
        d->ops->destroy(d);
        assert_int_equal(rd.span, span);
        if (prec == PEGR_FP64) support_assert_same_records(&rd, &rh, PEGR_TOL_FP64_TRAIN);
        else support_assert_close_records(&rd, &rh, PEGR_TOL_FP32_TRAIN,
                                          pegr_tol_rate(prec, c.data.n_test));
        /* per-example is not full SAM */
        c.sam_variant = PEGR_SAM_FULL;
        h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
        support_train(h, &c, &rf);
        h->ops->destroy(h);
        assert_true(support_rel_err(rh.W, rf.W, 2 * c.m * c.data.d) > 1e-6);
        pegr_train_result_free(&rh);
        pegr_train_result_free(&rd);
        pegr_train_result_free(&rf);
    }
}

static void test_batched_training_equals_each_run_alone(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    pegr_train_config c[3];
    pegr_dataset ds[3];
    pegr_train_result rb[3], ra;
    pegr_error err = {0};
    for (int k = 0; k < 3; k++) {
        c[k] = sam1_tiny(30);
        c[k].data.seed = 15 + (uint64_t)k;
        c[k].sam_rho = 0.05 + 0.1 * k;
        c[k].lr = 0.1 + 0.02 * k;
        check(pegr_data_generate(&c[k].data, &ds[k], &err), &err);
    }
    pegr_backend *b = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
    check(pegr_train_run_batch(b, ds, c, 3, NULL, rb, &err), &err);
    b->ops->destroy(b);
    for (int k = 0; k < 3; k++) {
        pegr_backend *one = support_open_backend(k == 0 ? NULL : suite_device,
                                                 k == 0 ? PEGR_FP64 : prec, PEGR_GEMM_AUTO);
        check(pegr_train_run(one, &ds[k], &c[k], NULL, &ra, &err), &err);
        one->ops->destroy(one);
        int exact = prec == PEGR_FP64;
        assert_false(ra.diverged); /* W is compared below */
        support_assert_close_records(&rb[k], &ra, exact ? 1e-10 : 2e-4,
                                     pegr_tol_rate(prec, c[k].data.n_test));
        double ew = support_rel_err(rb[k].W, ra.W, 2 * c[k].m * c[k].data.d);
        if (!(ew < (exact ? 1e-10 : k == 0 ? 1e-4 : 2e-5)))
            fail_msg("run %zu: W of the batch against the run alone (%s): error %g", (size_t)k,
                     k == 0 ? "host" : "device", ew);
        pegr_train_result_free(&ra);
        pegr_train_result_free(&rb[k]);
        pegr_dataset_free(&ds[k]);
    }
    /* a batch does not mix the variants */
    pegr_train_config full = sam1_tiny(30);
    full.sam_variant = PEGR_SAM_FULL;
    pegr_train_config one = sam1_tiny(30);
    assert_false(pegr_train_batchable(&one, &full));
}

/* A diverging per-example run (the demo at rho 0.3, seed 1) is found diverged at the same step
 * on the host and on an fp64 device, primal and span, logged rarely or every step (20 here). */
static void test_divergence_step_is_the_same_everywhere(void **state)
{
    (void)state;
    pegr_train_config c;
    assert_int_equal(pegr_train_config_preset("demo", &c, NULL), PEGR_OK);
    c.method = PEGR_METHOD_SAM;
    c.sam_variant = PEGR_SAM_PER_EXAMPLE;
    c.sam_rho = 0.3;
    c.data.seed = 1;
    c.data.n_test = 20;
    c.steps = 40;
    c.n_robust = 0;
    long want = -1;
    for (int logged = 0; logged < 2; logged++) {
        c.log_every = logged ? 1 : 40;
        c.representation = PEGR_REPRESENTATION_AUTO;
        pegr_train_result r;
        pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
        support_train(h, &c, &r);
        h->ops->destroy(h);
        assert_true(r.diverged);
        if (want < 0) want = r.diverged_step;
        if (r.diverged_step != want)
            fail_msg("host, log every %zu: diverged at %ld, not %ld", c.log_every, r.diverged_step,
                     want);
        pegr_train_result_free(&r);
        if (!suite_device || support_check_precision(suite_device) != PEGR_FP64) continue;
        for (int span = 0; span < 2; span++) {
            c.representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
            pegr_backend *d = support_open_backend(suite_device, PEGR_FP64, PEGR_GEMM_AUTO);
            support_train(d, &c, &r);
            d->ops->destroy(d);
            assert_true(r.diverged);
            if (r.diverged_step != want)
                fail_msg("device (%s), log every %zu: diverged at %ld, the host at %ld",
                         span ? "span" : "primal", c.log_every, r.diverged_step, want);
            pegr_train_result_free(&r);
        }
    }
}

/* ---- the command line ------------------------------------------------------------------------- */

/* 1 when the two files under the test directory hold the same bytes. */
static int same_file(const char *rel_a, const char *rel_b)
{
    FILE *f[2];
    const char *rel[2] = {rel_a, rel_b};
    for (int k = 0; k < 2; k++) {
        size_t len = strlen(cli_tmp()) + strlen(rel[k]) + 2;
        char *path = malloc(len);
        assert_non_null(path);
        snprintf(path, len, "%s/%s", cli_tmp(), rel[k]);
        f[k] = fopen(path, "rb");
        if (!f[k]) fail_msg("cannot open %s", path);
        free(path);
    }
    int ca, cb, same = 1;
    do {
        ca = fgetc(f[0]);
        cb = fgetc(f[1]);
        same &= ca == cb;
    } while (ca != EOF && cb != EOF);
    fclose(f[0]);
    fclose(f[1]);
    return same;
}

static void test_cli_per_example_with_a_config_rerun(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR train --method sam --sam-variant per-example --sam-rho 0.2 "
                           "--preset tiny --steps 20 --device host --quiet --out $T/a");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    char *config = cli_read("a/config.json");
    assert_non_null(strstr(config, "\"sam-variant\": \"per-example\""));
    free(config);
    rc = cli_run(&out, "$PEGR train --config $T/a/config.json --device host --quiet --out $T/b");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    rc = cli_run(&out, "$PEGR train --method sam --sam-rho 0.2 --preset tiny --steps 20 "
                       "--device host --quiet --out $T/f");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    assert_true(same_file("a/W.npy", "b/W.npy")); /* --config repeats the run exactly */
    assert_false(same_file("a/W.npy", "f/W.npy")); /* and per-example is not full SAM */
    char *sa = cli_read("a/summary.json"), *sf = cli_read("f/summary.json");
    assert_string_not_equal(sa, sf); /* per-example trains otherwise than full */
    free(sa);
    free(sf);
    rc = cli_run(&out, "$PEGR train --method sam --sam-variant per-example --learn-readout "
                       "--preset tiny --steps 5 --device host --quiet --out $T/r");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    free(cli_read("r/v.npy"));
    if (!suite_device) return;
    rc = cli_run(&out, "$PEGR train --method sam --sam-variant per-example --sam-rho 0.2 "
                       "--preset tiny --steps 20 --device %zu --quiet --out $T/d",
                 suite_device->index);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
}

static void test_sweep_over_the_variant(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR sweep --preset tiny --steps 10 --n-test 50 --robust-sigmas none "
                           "--methods sam --sam-rho 0.2 --grid sam-variant=full,per-example "
                           "--seeds 0 --device host --quiet --out $T/s");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    char *csv = cli_read("s/results.csv");
    assert_non_null(strstr(csv, ",sam_variant"));
    assert_non_null(strstr(csv, ",full,"));
    assert_non_null(strstr(csv, ",per-example,"));
    free(csv);
}

static int setup(void **state)
{
    (void)state;
    return cli_setup("pegr-test-sam1");
}

static int teardown(void **state)
{
    (void)state;
    return cli_teardown();
}

int main(void)
{
    suite_device = test_device_pick_or_host_only("test_sam1", &devices, &ndevices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_step_is_each_example_at_its_own_ascent_point),
        cmocka_unit_test(test_rho_zero_is_gd_and_one_example_is_full_sam),
        cmocka_unit_test(test_the_option_and_what_it_refuses),
        cmocka_unit_test(test_host_step_with_a_learned_readout),
        cmocka_unit_test(test_engine_steps_equal_the_host),
        cmocka_unit_test(test_batched_steps_equal_each_run_on_the_host),
        cmocka_unit_test(test_training_on_the_device_equals_the_host),
        cmocka_unit_test(test_batched_training_equals_each_run_alone),
        cmocka_unit_test(test_divergence_step_is_the_same_everywhere),
        cmocka_unit_test_setup_teardown(test_cli_per_example_with_a_config_rerun, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_over_the_variant, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

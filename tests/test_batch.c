/* test_batch.c: batches of runs on the OpenCL engine (PoCL in CI). Runs that share shapes train
 * together -- one set of kernel launches, strided-batched GEMMs -- and each run of a batch must be
 * the run alone: every output of an evaluation and several steps against the exact host reference
 * run by run (every method, both representations, both GEMM paths, a different lam and lr per
 * run); whole trainings against the same runs trained one at a time (every metric at every log
 * step, the weights, the robust errors), bit for bit with pegr's own GEMM kernels; a diverging run
 * frozen while the rest go on; and batches that cannot be made refused with a clear message.
 * Exits 77 (skip) only when no OpenCL device exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/data.h"
#include "engine/engine.h"
#include "host/host_ref.h"
#include "util/rng.h"
#include "pegr/train.h"
#include "test_device_pick.h"
#include "train_support.h"

#define RUNS 3

static pegr_device_info *devices;
static size_t ndevices;
/* The device the suite runs on (PEGR_TEST_DEVICE, else the first): test_device_pick. */
static pegr_device_info *suite_device;

/* ---- the engine: one evaluation and a few steps, run by run against the host ---------------- */

enum { N = 6, P = 2, D = 30, M = 3, COLS = 2 * M };

typedef struct runs_data {
    double X[RUNS * N * P * D], y[RUNS * N], W[RUNS * COLS * D];
    double lam[RUNS], lr[RUNS];
    double omega[RUNS * N]; /* mini-batch weights: half the examples of each run */
} runs_data;

static void make_runs(runs_data *r)
{
    for (size_t k = 0; k < RUNS; k++) {
        pegr_rng_fill_normal(40 + k, 1, 0, N * P * D, 1.0, r->X + k * N * P * D);
        pegr_rng_fill_normal(40 + k, 3, 0, COLS * D, 1.0 / sqrt((double)D), r->W + k * COLS * D);
        for (size_t i = 0; i < N; i++) {
            r->y[k * N + i] = pegr_rng_uniform(40 + k, 2, i) < 0.5 ? 1.0 : -1.0;
            r->omega[k * N + i] = (i + k) % 2 ? 2.0 / N : 0.0;
        }
        r->lam[k] = 0.001 * (double)(k + 1);
        r->lr[k] = 0.01 * (double)(k + 1);
    }
}

typedef struct outs {
    double grad[RUNS * COLS * D], margin[RUNS * N], loss[RUNS * N], norm2[RUNS * N];
    double pe[RUNS * N * COLS * D], mean_loss[RUNS], objective[RUNS];
} outs;

static pegr_eval_request request_into(outs *o, pegr_method method, const double *lam)
{
    pegr_eval_request req = {.method = method, .q = 3.0, .lam = lam[0], .grad = o->grad,
                             .margin = o->margin, .loss = o->loss, .norm2 = o->norm2,
                             .per_example_grad = o->pe, .mean_loss = o->mean_loss,
                             .objective = o->objective, .run_lam = lam};
    return req;
}

static void check(pegr_status s, const pegr_error *err)
{
    if (s != PEGR_OK) fail_msg("%s", pegr_error_message(err));
}

/* The batch's evaluation and 4 steps (with per-run lr and, for one step, mini-batch weights) on
 * the engine; then each run alone on the host; every output of every run compared. */
/* Tolerances of the batch in fp32 against each run alone on the host in fp64 (devices without
 * fp64), measured on PoCL pthread with its fp64 hidden (PEGR_TEST_FORCE_FP32=1,
 * PEGR_TEST_SHOW_ERRORS=1 prints every error):
 * - one evaluation and 4 steps, relative to each output's max: worst 8.1e-7 (margins; grad 6.4e-7,
 *   W after 4 steps 2.4e-7), i.e. a few units of fp32's 2^-24 = 6e-8 through sums of D terms. 2e-5
 *   leaves 25x for other drivers' summation orders and is still far below any wrong coefficient.
 * - 60 training steps, each continuous metric relative to its largest value over the run (see
 *   support_assert_close_records): worst 7.6e-6 (gamma_max, <W - W0, mu> cancels W0's fp32
 *   rounding), final W 8.5e-7; 2e-4 is 25x that.
 * - error rates (train, test, robust), absolute: observed 4e-8 (the fraction's own fp32 rounding,
 *   no example flipped); one test example of n_test = 100 may flip where its margin lies within
 *   fp32 rounding of 0, so 1/100 plus that rounding. */
#define BATCH_EVAL_FP32_TOL PEGR_TOL_FP32_BATCH /* 2e-5, src/check/check.h: pegr check uses it too */
#define BATCH_TRAIN_FP32_TOL 2e-4
#define BATCH_TRAIN_FP32_RATE_TOL 0.0101

static void batch_against_host(pegr_precision prec, double tol, pegr_gemm_impl gemm, int span,
                               pegr_method method)
{
    static runs_data r;
    static outs batched, alone;
    make_runs(&r);
    pegr_error err = {0};
    pegr_backend *e = support_open_backend(suite_device, prec, gemm);
    check(e->ops->set_runs(e, RUNS, &err), &err);
    check(e->ops->set_data(e, r.X, r.y, N, P, D, &err), &err);
    check(e->ops->set_representation(e, span, &err), &err);
    check(e->ops->set_weights(e, r.W, M, &err), &err);
    pegr_eval_request req = request_into(&batched, method, r.lam);
    check(e->ops->evaluate(e, &req, &err), &err);
    pegr_eval_request step = {.method = method, .q = 3.0, .lam = r.lam[0], .run_lam = r.lam,
                              .run_lr = r.lr};
    for (int t = 0; t < 4; t++) {
        step.weights = t == 2 ? r.omega : NULL;
        check(e->ops->step(e, &step, 0.0, &err), &err);
    }
    static double W_batched[RUNS * COLS * D];
    check(e->ops->get_weights(e, W_batched, &err), &err);
    e->ops->destroy(e);

    for (size_t k = 0; k < RUNS; k++) {
        pegr_backend *h = pegr_host_backend_create(NULL);
        check(h->ops->set_data(h, r.X + k * N * P * D, r.y + k * N, N, P, D, &err), &err);
        check(h->ops->set_weights(h, r.W + k * COLS * D, M, &err), &err);
        double lam = r.lam[k];
        pegr_eval_request one = request_into(&alone, method, &lam);
        check(h->ops->evaluate(h, &one, &err), &err);
        pegr_eval_request hstep = {.method = method, .q = 3.0, .lam = lam};
        for (int t = 0; t < 4; t++) {
            hstep.weights = t == 2 ? r.omega + k * N : NULL;
            check(h->ops->step(h, &hstep, r.lr[k], &err), &err);
        }
        static double W_alone[COLS * D];
        check(h->ops->get_weights(h, W_alone, &err), &err);
        h->ops->destroy(h);
        struct {
            const char *name;
            const double *got, *want;
            size_t count;
        } cmp[] = {
            {"grad", batched.grad + k * COLS * D, alone.grad, COLS * D},
            {"margin", batched.margin + k * N, alone.margin, N},
            {"loss", batched.loss + k * N, alone.loss, N},
            {"norm2", batched.norm2 + k * N, alone.norm2, N},
            {"per-example gradients", batched.pe + k * N * COLS * D, alone.pe, N * COLS * D},
            {"mean loss", batched.mean_loss + k, alone.mean_loss, 1},
            {"objective", batched.objective + k, alone.objective, 1},
            {"W after 4 steps", W_batched + k * COLS * D, W_alone, COLS * D},
        };
        for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
            double e_rel = support_rel_err(cmp[i].got, cmp[i].want, cmp[i].count);
            support_show_error(cmp[i].name, e_rel, tol);
            if (!(e_rel <= tol))
                fail_msg("run %zu of the batch, %s: differs from the run alone on the host by %.3g "
                         "(method %d, %s, gemm %d)", k, cmp[i].name, e_rel, (int)method,
                         span ? "span" : "primal", (int)gemm);
        }
    }
    pegr_error_clear(&err);
}

static void test_each_run_of_a_batch_equals_the_host_alone(void **state)
{
    (void)state;
    pegr_precision prec = support_check_precision(suite_device);
    double tol = prec == PEGR_FP64 ? 1e-10 : BATCH_EVAL_FP32_TOL;
    const pegr_gemm_impl gemms[] = {SUPPORT_LIBRARY_GEMM, PEGR_GEMM_OWN};
    for (size_t g = 0; g < 2; g++)
        for (int span = 0; span <= 1; span++)
            for (int method = 0; method < 3; method++)
                batch_against_host(prec, tol, gemms[g], span, (pegr_method)method);
}

/* A learning rate of 0 leaves a run's weights exactly as they were while the others move. */
static void test_a_run_with_lr_zero_is_frozen(void **state)
{
    (void)state;
    static runs_data r;
    make_runs(&r);
    r.lr[1] = 0.0;
    pegr_error err = {0};
    for (int span = 0; span <= 1; span++) {
        pegr_backend *e = support_open_backend(suite_device, PEGR_FP32, PEGR_GEMM_AUTO);
        check(e->ops->set_runs(e, RUNS, &err), &err);
        check(e->ops->set_data(e, r.X, r.y, N, P, D, &err), &err);
        check(e->ops->set_representation(e, span, &err), &err);
        check(e->ops->set_weights(e, r.W, M, &err), &err);
        pegr_eval_request step = {.method = PEGR_METHOD_PEGR, .q = 3.0, .lam = 0.01, .run_lr = r.lr};
        for (int t = 0; t < 3; t++) check(e->ops->step(e, &step, 0.0, &err), &err);
        static double W[RUNS * COLS * D], W1[COLS * D];
        check(e->ops->get_weights(e, W, &err), &err);
        for (size_t i = 0; i < COLS * D; i++) W1[i] = (double)(float)r.W[COLS * D + i];
        assert_memory_equal(W + COLS * D, W1, sizeof W1); /* run 1: untouched (as fp32) */
        assert_true(support_rel_err(W, r.W, COLS * D) > 1e-4); /* run 0 moved */
        e->ops->destroy(e);
    }
    pegr_error_clear(&err);
}

/* ---- training: a batch against its runs one at a time ----------------------------------------- */

/* RUNS configurations that may share a batch: other seeds, lam, lr, ||mu||, sigma0. */
static void batch_configs(pegr_train_config *c, const char *method, size_t steps)
{
    for (size_t k = 0; k < RUNS; k++) {
        c[k] = support_tiny(method, steps);
        c[k].batch = 5;
        c[k].data.seed = 7 + k;
        c[k].lam = 0.005 * (double)(k + 1);
        c[k].lr = 0.05 + 0.03 * (double)k;
        c[k].data.mu_norm = 2.0 + (double)k;
        c[k].sigma0 = 0.01 + 0.005 * (double)k;
    }
}

static void train_batch(pegr_backend *b, const pegr_train_config *c, size_t runs,
                        pegr_train_result *r)
{
    pegr_error err = {0};
    pegr_dataset ds[RUNS];
    memset(ds, 0, sizeof ds);
    for (size_t k = 0; k < runs; k++) check(pegr_data_generate(&c[k].data, &ds[k], &err), &err);
    check(pegr_train_run_batch(b, ds, c, runs, NULL, r, &err), &err);
    for (size_t k = 0; k < runs; k++) pegr_dataset_free(&ds[k]);
    pegr_error_clear(&err);
}

/* The batch on `dev`, each run alone on `alone_dev` (NULL: the host); every record to tol, the
 * weights and robust errors too. */
static void batch_against_alone(const pegr_train_config *c, pegr_precision prec,
                                pegr_gemm_impl gemm, const pegr_device_info *alone_dev, double tol)
{
    pegr_train_result batched[RUNS];
    pegr_backend *b = support_open_backend(suite_device, prec, gemm);
    train_batch(b, c, RUNS, batched);
    b->ops->destroy(b);
    size_t count = 2 * c[0].m * c[0].data.d;
    for (size_t k = 0; k < RUNS; k++) {
        pegr_train_result one;
        pegr_backend *a = support_open_backend(alone_dev, prec, gemm);
        train_batch(a, &c[k], 1, &one);
        a->ops->destroy(a);
        assert_int_equal(batched[k].batch_runs, RUNS);
        assert_int_equal(one.batch_runs, 1);
        if (alone_dev) assert_int_equal(batched[k].span, one.span); /* the host has no span form */
        if (prec == PEGR_FP32 && !alone_dev) {
            /* fp32 against the host's fp64: see BATCH_TRAIN_FP32_TOL */
            support_assert_close_records(&batched[k], &one, tol, BATCH_TRAIN_FP32_RATE_TOL);
            double w = support_rel_err(batched[k].W, one.W, count);
            support_show_error("final W", w, tol);
            if (!(w <= tol)) fail_msg("%s run %zu: final W differs by %.3g", c[k].method, k, w);
            for (size_t i = 0; i < c[k].n_robust; i++)
                if (!(fabs(batched[k].robust_error[i] - one.robust_error[i]) <=
                      BATCH_TRAIN_FP32_RATE_TOL))
                    fail_msg("%s run %zu: robust error %zu %.17g vs %.17g", c[k].method, k, i,
                             batched[k].robust_error[i], one.robust_error[i]);
            pegr_train_result_free(&one);
            pegr_train_result_free(&batched[k]);
            continue;
        }
        support_assert_same_records(&batched[k], &one, tol);
        double w = support_rel_err(batched[k].W, one.W, count);
        if (!(w <= (tol ? 1e-2 * tol : 0.0)))
            fail_msg("%s run %zu: final W differs by %.3g", c[k].method, k, w);
        for (size_t i = 0; i < c[k].n_robust; i++)
            if (!(fabs(batched[k].robust_error[i] - one.robust_error[i]) <= (tol ? 1e-12 : 0.0)) &&
                !(isnan(batched[k].robust_error[i]) && isnan(one.robust_error[i])))
                fail_msg("%s run %zu: robust error %zu %.17g vs %.17g", c[k].method, k, i,
                         batched[k].robust_error[i], one.robust_error[i]);
        pegr_train_result_free(&one);
        pegr_train_result_free(&batched[k]);
    }
}

/* fp64, every method, both representations: each run of the batch as on the host alone (1e-8
 * relative: as test_train's host-vs-device comparison, 60 steps of summation-order rounding). */
static void test_batched_training_equals_each_run_on_the_host(void **state)
{
    (void)state;
    pegr_precision prec = support_check_precision(suite_device);
    const char *methods[] = {"gd", "sgd", "gr", "pegr"};
    for (size_t k = 0; k < 4; k++)
        for (int span = 0; span <= 1; span++) {
            pegr_train_config c[RUNS];
            batch_configs(c, methods[k], 60);
            for (size_t i = 0; i < RUNS; i++) c[i].representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
            batch_against_alone(c, prec, SUPPORT_LIBRARY_GEMM, NULL,
                                prec == PEGR_FP64 ? 1e-8 : BATCH_TRAIN_FP32_TOL);
        }
}

/* With pegr's own GEMM kernels every element of a batch is computed exactly as alone: the runs
 * are equal bit for bit (fp32, the default precision). */
static void test_batched_training_is_bit_identical_with_own_gemms(void **state)
{
    (void)state;
    const char *methods[] = {"sgd", "pegr"};
    for (size_t k = 0; k < 2; k++)
        for (int span = 0; span <= 1; span++) {
            pegr_train_config c[RUNS];
            batch_configs(c, methods[k], 40);
            for (size_t i = 0; i < RUNS; i++) c[i].representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
            batch_against_alone(c, PEGR_FP32, PEGR_GEMM_OWN, suite_device, 0.0);
        }
}

/* One run of the batch diverges (lr far too large): it is caught at the step it would be caught
 * alone and frozen there, and the other runs finish as they would alone. */
static void test_a_diverging_run_leaves_the_others_alone(void **state)
{
    (void)state;
    pegr_train_config c[RUNS];
    batch_configs(c, "pegr", 200);
    c[1].lr = 50.0;
    for (size_t i = 0; i < RUNS; i++) c[i].representation = PEGR_REPRESENTATION_PRIMAL;
    pegr_train_result batched[RUNS];
    pegr_backend *b = support_open_backend(suite_device, PEGR_FP32, PEGR_GEMM_OWN);
    train_batch(b, c, RUNS, batched);
    b->ops->destroy(b);
    assert_true(batched[1].diverged);
    assert_true(batched[1].steps_run < 200);
    assert_false(batched[0].diverged);
    assert_false(batched[2].diverged);
    assert_int_equal(batched[0].steps_run, 200);
    for (size_t k = 0; k < RUNS; k++) {
        pegr_train_result one;
        pegr_backend *a = support_open_backend(suite_device, PEGR_FP32, PEGR_GEMM_OWN);
        train_batch(a, &c[k], 1, &one);
        a->ops->destroy(a);
        support_assert_same_records(&batched[k], &one, 0.0);
        pegr_train_result_free(&one);
        pegr_train_result_free(&batched[k]);
    }
}

static void test_batches_that_cannot_be_made_are_refused(void **state)
{
    (void)state;
    pegr_train_config c[RUNS];
    batch_configs(c, "pegr", 10);
    c[1].data.n = 30; /* another shape */
    assert_false(pegr_train_batchable(&c[0], &c[1]));
    pegr_dataset ds[2];
    memset(ds, 0, sizeof ds);
    pegr_error err = {0};
    for (size_t k = 0; k < 2; k++) check(pegr_data_generate(&c[k].data, &ds[k], &err), &err);
    pegr_train_result r[2];
    pegr_backend *b = support_open_backend(suite_device, PEGR_FP32, PEGR_GEMM_AUTO);
    assert_int_equal(pegr_train_run_batch(b, ds, c, 2, NULL, r, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "separate batches"));
    b->ops->destroy(b);
    /* the host reference trains one run at a time */
    batch_configs(c, "pegr", 10);
    pegr_dataset_free(&ds[1]);
    check(pegr_data_generate(&c[1].data, &ds[1], &err), &err);
    pegr_backend *h = pegr_host_backend_create(NULL);
    assert_int_equal(pegr_train_run_batch(h, ds, c, 2, NULL, r, &err), PEGR_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "one run at a time"));
    h->ops->destroy(h);
    for (size_t k = 0; k < 2; k++) {
        pegr_train_result_free(&r[k]);
        pegr_dataset_free(&ds[k]);
    }
    pegr_error_clear(&err);
    /* what may differ within a batch */
    batch_configs(c, "sgd", 10);
    assert_true(pegr_train_batchable(&c[0], &c[1]));
    c[1].batch = 7; /* sgd's batch size is part of the schedule */
    assert_false(pegr_train_batchable(&c[0], &c[1]));
}

int main(void)
{
    pegr_error err = {0};
    if (!(suite_device = test_device_pick("test_batch", 1, &devices, &ndevices, &err))) {
        printf("no OpenCL device: skipped (%s)\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_run_of_a_batch_equals_the_host_alone),
        cmocka_unit_test(test_a_run_with_lr_zero_is_frozen),
        cmocka_unit_test(test_batched_training_equals_each_run_on_the_host),
        cmocka_unit_test(test_batched_training_is_bit_identical_with_own_gemms),
        cmocka_unit_test(test_a_diverging_run_leaves_the_others_alone),
        cmocka_unit_test(test_batches_that_cannot_be_made_are_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

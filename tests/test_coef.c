/* test_coef.c: both kernels that do a step's fused coefficient work -- pegr_coef_item (a
 * work-item per example, no barriers: CPUs' default) and pegr_coef_fused (a work-group per
 * example: other devices' default), each forced by PEGR_COEF_KERNEL -- against the exact host
 * reference, for every method on edge shapes (n = 1, P = 1, m = 1, odd sizes): single
 * evaluations in the primal and the span form, span steps with the update folded in (and a
 * mini-batch and a changed rate), a batch of runs with its own lam and rates (one run frozen),
 * local sizes that do not divide the examples, a work-group cap of 1, and the step a non-finite
 * update is recorded at; pegr_coef_item's span product (PEGR_COEF_PRODUCT) on and off, and the
 * GEMM launch it saves; steps that ask for no scalar launch no reduction. Exits 77 (skip) only
 * when no OpenCL device exists.
 *
 * Tolerances (relative to the largest magnitude of the reference array):
 *  - fp64: 1e-10, as test_engine: the same formulas in double, other summation orders.
 *  - fp32 evaluations: 1e-4. Inputs are rounded to float (6e-8 relative); the GEMMs here sum at
 *    most d = 31 products (worst case 31 * 6e-8 = 2e-6); fp32's pow (q = 4.5) may be off by 16
 *    ulp (1e-6); the pegr and gr coefficients multiply four or five such quantities, and the
 *    gradient C^T X sums nP of them again. Observed on PoCL with fp64 hidden
 *    (PEGR_TEST_FORCE_FP32=1 PEGR_TEST_SHOW_ERRORS=1): below 2e-6. 1e-4 is 50x that and still
 *    far below what a wrong coefficient (an index, a sign, a missing term: O(1)) gives.
 *  - fp32 steps: test_engine's 5e-6 for 8 steps (W in fp32 drifts by about 2 roundings a step);
 *    here 6 steps.
 *  - item vs group: the same sums in the same order (each column's shares over the patches, then
 *    the columns in order) -- 1e-14 in fp64, and in fp32 the steps' tolerance. The product in
 *    pegr_coef_item sums S Gam^T in another order than a GEMM (8 lanes, then the tail): 1e-16
 *    relative per entry of Z; observed after 6 steps: 2e-16 in fp64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "engine/engine.h"
#include "engine/engine_internal.h" /* white-box: the kernel chosen, its local size, launch records */
#include "host/host_ref.h"
#include "util/rng.h"
#include "test_device_pick.h"
#include "train_support.h"

static pegr_device_info *devices;
static size_t ndevices;
static pegr_device_info *suite_device;

#define EVAL_FP32_TOL 1e-4
#define STEPS_FP32_TOL 5e-6

/* The ways the fused coefficient work runs: pegr_coef_item forming the span product itself or
 * after a GEMM's, and pegr_coef_fused -- forced by PEGR_COEF_KERNEL and PEGR_COEF_PRODUCT as a
 * user would. */
#define NVARIANTS 3
static const struct {
    const char *kernel, *product, *name; /* the two variables' values, and for messages */
    int item;                            /* pegr_coef_item (else pegr_coef_fused) */
} VARIANTS[NVARIANTS] = {
    {"item", "1", "item, product in the kernel", 1},
    {"item", "0", "item, product by a GEMM", 1},
    {"group", "", "group", 0},
};

/* n, P, d, m: n = 1, P = 1, m = 1, d = 1 and odd sizes throughout (no size a power of two). */
static const size_t SHAPES[][4] = {
    {1, 1, 1, 1}, {1, 2, 5, 3}, {7, 3, 13, 5}, {5, 1, 17, 1}, {13, 2, 29, 3}, {9, 4, 31, 2},
};
#define NSHAPES (sizeof SHAPES / sizeof SHAPES[0])

/* The battery's random problem (check.h): Gaussian patches, labels +-1, weights kept 1e-3 away
 * from the activation's kink. */
typedef pegr_check_problem problem;

static problem make_problem(size_t n, size_t P, size_t d, size_t m, uint64_t seed)
{
    problem p;
    assert_true(pegr_check_problem_make(&p, n, P, d, m, seed));
    return p;
}

static void free_problem(problem *p) { pegr_check_problem_free(p); }

static pegr_precision precisions[2];
static size_t nprecisions;
/* Engines opened with OpenCL profiling (launch counts) when set. */
static int profiling;

/* An engine whose fused coefficient work runs as variant v; item_local (0: the engine's choice)
 * and a work-group cap. */
static pegr_backend *open_engine(int v, pegr_precision prec, size_t wg_cap, size_t item_local)
{
    pegr_context_options copts = {0};
    copts.max_work_group_size = wg_cap;
    copts.profiling = profiling;
    pegr_context *ctx = NULL;
    pegr_error err = {0};
    if (pegr_context_create(suite_device, &copts, &ctx, &err) != PEGR_OK)
        fail_msg("%s", pegr_error_message(&err));
    pegr_engine_options eopts = {prec, PEGR_GEMM_AUTO, 0, 0};
    setenv("PEGR_COEF_KERNEL", VARIANTS[v].kernel, 1);
    if (*VARIANTS[v].product) setenv("PEGR_COEF_PRODUCT", VARIANTS[v].product, 1);
    pegr_backend *b = pegr_engine_create(ctx, &eopts, &err);
    unsetenv("PEGR_COEF_KERNEL");
    unsetenv("PEGR_COEF_PRODUCT");
    if (!b) fail_msg("%s", pegr_error_message(&err));
    assert_int_equal(((pegr_engine *)b)->coef_item, VARIANTS[v].item);
    if (*VARIANTS[v].product)
        assert_int_equal(((pegr_engine *)b)->item_product, VARIANTS[v].product[0] == '1');
    ((pegr_engine *)b)->item_local = item_local;
    return b;
}

/* The fused work ran on variant v's kernel, and on it alone (it must not quietly take the other
 * path). */
static void expect_kernel_ran(pegr_backend *b, int v)
{
    static const char *const names[2] = {"pegr_coef_fused", "pegr_coef_item"};
    size_t global = 0, local = 0;
    const pegr_engine *e = (const pegr_engine *)b;
    int item = VARIANTS[v].item;
    if (!engine_launch_record(e, names[item], &global, &local))
        fail_msg("%s did not launch %s", VARIANTS[v].name, names[item]);
    assert_false(engine_launch_record(e, names[1 - item], &global, &local));
    assert_false(engine_launch_record(e, "pegr_coef_terms", &global, &local));
}

static void expect_close(const char *what, const char *kernel, const problem *p, int method,
                         double q, double e, double tol)
{
    static const char *const names[] = {"gd", "pegr", "gr"};
    support_show_error(what, e, tol);
    if (!(e <= tol))
        fail_msg("%s (%s kernel) differs by %.3g (> %.1g) for %s, q = %g, n=%zu P=%zu d=%zu m=%zu",
                 what, kernel, e, tol, names[method], q, p->n, p->P, p->d, p->m);
}

typedef pegr_check_outputs outputs;

/* One evaluation of every output on b (span: in the span representation). */
static outputs evaluate(pegr_backend *b, const problem *p, int method, double q, double lam, int span)
{
    outputs o;
    assert_true(pegr_check_outputs_alloc(&o, p, 1, 0));
    pegr_error err = {0};
    pegr_eval_request req = pegr_check_request(&o, (pegr_method)method, q, lam);
    if (b->ops->set_data(b, p->X, p->y, p->n, p->P, p->d, &err) != PEGR_OK ||
        (b->ops->set_representation && b->ops->set_representation(b, span, &err) != PEGR_OK) ||
        b->ops->set_weights(b, p->W, p->m, &err) != PEGR_OK || b->ops->evaluate(b, &req, &err) != PEGR_OK)
        fail_msg("%s: %s", b->ops->name, pegr_error_message(&err));
    return o;
}

static void free_outputs(outputs *o) { pegr_check_outputs_free(o); }

static void compare_outputs(const outputs *d, const outputs *h, const char *kernel,
                            const problem *p, int method, double q, double tol)
{
    expect_close("grad", kernel, p, method, q, support_rel_err(d->grad, h->grad, 2 * p->m * p->d), tol);
    expect_close("margin", kernel, p, method, q, support_rel_err(d->margin, h->margin, p->n), tol);
    expect_close("loss", kernel, p, method, q, support_rel_err(d->loss, h->loss, p->n), tol);
    expect_close("norm2", kernel, p, method, q, support_rel_err(d->norm2, h->norm2, p->n), tol);
    expect_close("mean loss", kernel, p, method, q,
                 support_rel_err(&d->mean_loss, &h->mean_loss, 1), tol);
    expect_close("objective", kernel, p, method, q,
                 support_rel_err(&d->objective, &h->objective, 1), tol);
}

/* Every output of every method, q in {1, 3, 4.5} (4.5 takes pow), primal and span, each kernel,
 * each precision the device has, against the host. */
static void test_each_kernel_evaluates_like_the_host(void **state)
{
    (void)state;
    const double qs[] = {1.0, 3.0, 4.5};
    for (size_t pi = 0; pi < nprecisions; pi++) {
        double tol = precisions[pi] == PEGR_FP64 ? 1e-10 : EVAL_FP32_TOL;
        for (int v = 0; v < NVARIANTS; v++) {
            pegr_backend *dev = open_engine(v, precisions[pi], 0, 0);
            for (size_t s = 0; s < NSHAPES; s++) {
                problem p = make_problem(SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], SHAPES[s][3],
                                         40 + s); /* n = 1: a live unit */
                for (size_t qi = 0; qi < 3; qi++)
                    for (int method = 0; method < 3; method++)
                        for (int span = 0; span < 2; span++) {
                            pegr_backend *host = pegr_host_backend_create(NULL);
                            outputs h = evaluate(host, &p, method, qs[qi], 0.3, 0);
                            outputs d = evaluate(dev, &p, method, qs[qi], 0.3, span);
                            compare_outputs(&d, &h, VARIANTS[v].name, &p, method, qs[qi], tol);
                            free_outputs(&h);
                            free_outputs(&d);
                            host->ops->destroy(host);
                        }
                free_problem(&p);
            }
            expect_kernel_ran(dev, v);
            dev->ops->destroy(dev);
        }
    }
}

/* 6 span steps of b from p's weights (a mini-batch at step 2, the rate changed at step 4; the
 * fused update folded in for gd and pegr, gr's separate), then W. */
static void span_steps(pegr_backend *b, const problem *p, int method, int span, double *W)
{
    pegr_error err = {0};
    double *weights = calloc(p->n, sizeof(double));
    assert_non_null(weights);
    for (size_t i = 0; i < p->n; i += 2) weights[i] = 1.0 / (double)((p->n + 1) / 2);
    assert_int_equal(b->ops->set_data(b, p->X, p->y, p->n, p->P, p->d, &err), PEGR_OK);
    if (span) assert_int_equal(b->ops->set_representation(b, span, &err), PEGR_OK);
    assert_int_equal(b->ops->set_weights(b, p->W, p->m, &err), PEGR_OK);
    pegr_eval_request req = {.method = (pegr_method)method, .q = 3.0, .lam = 0.002};
    for (int step = 0; step < 6; step++) {
        req.weights = step == 2 ? weights : NULL;
        if (b->ops->step(b, &req, step < 4 ? 0.02 : 0.03, &err) != PEGR_OK)
            fail_msg("%s", pegr_error_message(&err));
    }
    assert_int_equal(b->ops->get_weights(b, W, &err), PEGR_OK);
    free(weights);
}

/* Span steps with each variant (the update folded into the kernel) against the host's primal
 * steps, and the variants against the group kernel. */
static void test_each_kernel_steps_like_the_host(void **state)
{
    (void)state;
    pegr_precision prec = support_check_precision(suite_device);
    double tol = prec == PEGR_FP64 ? 1e-10 : STEPS_FP32_TOL;
    double same = prec == PEGR_FP64 ? 1e-14 : STEPS_FP32_TOL;
    for (size_t s = 0; s < NSHAPES; s++) {
        /* seeds whose n = 1 problem has a live unit (its steps move W) */
        problem p = make_problem(SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], SHAPES[s][3], 33 + s);
        size_t count = 2 * p.m * p.d;
        double *W[NVARIANTS + 1]; /* each variant's, then the host's */
        for (int v = 0; v <= NVARIANTS; v++) assert_non_null(W[v] = malloc(count * sizeof(double)));
        for (int method = 0; method < 3; method++) {
            pegr_backend *host = pegr_host_backend_create(NULL);
            span_steps(host, &p, method, 0, W[NVARIANTS]);
            host->ops->destroy(host);
            for (int v = 0; v < NVARIANTS; v++) {
                pegr_backend *dev = open_engine(v, prec, 0, 0);
                span_steps(dev, &p, method, 1, W[v]);
                expect_kernel_ran(dev, v);
                dev->ops->destroy(dev);
                expect_close("W after 6 span steps", VARIANTS[v].name, &p, method, 3.0,
                             support_rel_err(W[v], W[NVARIANTS], count), tol);
            }
            for (int v = 0; v + 1 < NVARIANTS; v++)
                expect_close("W, against the group kernel", VARIANTS[v].name, &p, method, 3.0,
                             support_rel_err(W[v], W[NVARIANTS - 1], count), same);
            double moved = support_rel_err(W[NVARIANTS], p.W, count);
            assert_true(moved > 1e-3 && isfinite(moved)); /* the steps did something */
        }
        for (int v = 0; v <= NVARIANTS; v++) free(W[v]);
        free_problem(&p);
    }
}

/* The item kernel's local size is free: 1, 3 (dividing none of the example counts), 64 (more
 * than every n here: one padded group), and a work-group cap of 1 -- every result the same as
 * with the engine's choice. */
static void test_item_kernel_any_local_size(void **state)
{
    (void)state;
    pegr_precision prec = support_check_precision(suite_device);
    double same = prec == PEGR_FP64 ? 1e-14 : STEPS_FP32_TOL;
    const size_t locals[] = {1, 3, 64, 0}, caps[] = {0, 0, 0, 1};
    problem p = make_problem(13, 2, 29, 3, 77);
    size_t count = 2 * p.m * p.d;
    double *ref = malloc(count * sizeof(double)), *W = malloc(count * sizeof(double));
    assert_true(ref && W);
    for (int method = 0; method < 3; method++)
        for (int v = 0; v < 2; v++) { /* pegr_coef_item, product in it and not */
            pegr_backend *b = open_engine(v, prec, 0, 0);
            span_steps(b, &p, method, 1, ref);
            b->ops->destroy(b);
            for (size_t l = 0; l < sizeof locals / sizeof locals[0]; l++) {
                b = open_engine(v, prec, caps[l], locals[l]);
                span_steps(b, &p, method, 1, W);
                /* the size asked for, within the kernel's limit (rusticl: 32) and the cap */
                const pegr_engine *e = (const pegr_engine *)b;
                size_t want = locals[l], limit = pegr_context_max_work_group_size(e->ctx);
                if (e->item_wg_limit < limit) limit = e->item_wg_limit;
                if (caps[l] || want > limit) want = caps[l] ? 1 : limit;
                size_t global = 0, local = 0;
                assert_true(engine_launch_record(e, "pegr_coef_item", &global, &local));
                assert_int_equal(local, want);
                assert_true(global >= p.n && global % local == 0);
                b->ops->destroy(b);
                expect_close("W at another local size", VARIANTS[v].name, &p, method, 3.0,
                             support_rel_err(W, ref, count), same);
            }
        }
    free(ref);
    free(W);
    free_problem(&p);
}

/* A batch of 3 runs (its own lam and rate each, run 1 frozen by a rate of 0) with each kernel,
 * span steps, against each run alone on the host. lam and the rates are as small as
 * test_engine's for the fp32 tolerance's argument to hold (with lam 0.1 and a rate of 0.05 both
 * kernels drift from the host by 2e-5 in fp32: the penalty's fp32 error, not a kernel's). */
#define RUNS 3
static void test_each_kernel_in_a_batch_of_runs(void **state)
{
    (void)state;
    pegr_precision prec = support_check_precision(suite_device);
    double tol = prec == PEGR_FP64 ? 1e-10 : STEPS_FP32_TOL;
    const size_t n = 5, P = 3, d = 11, m = 2, count = 2 * m * d;
    const double lam[RUNS] = {0.01, 0.3, 0.002}, lr[RUNS] = {0.02, 0.0, 0.03};
    problem runs[RUNS];
    double *X = malloc(RUNS * n * P * d * sizeof(double)), *y = malloc(RUNS * n * sizeof(double));
    double *W0 = malloc(RUNS * count * sizeof(double)), *W = malloc(RUNS * count * sizeof(double));
    double *Wh = malloc(count * sizeof(double));
    assert_true(X && y && W0 && W && Wh);
    for (size_t r = 0; r < RUNS; r++) {
        runs[r] = make_problem(n, P, d, m, 90 + r);
        memcpy(X + r * n * P * d, runs[r].X, n * P * d * sizeof(double));
        memcpy(y + r * n, runs[r].y, n * sizeof(double));
        memcpy(W0 + r * count, runs[r].W, count * sizeof(double));
    }
    for (int method = 0; method < 2; method++) /* gd, pegr: the folded update */
        for (int v = 0; v < NVARIANTS; v++) {
            pegr_error err = {0};
            pegr_backend *b = open_engine(v, prec, 0, 0);
            assert_int_equal(b->ops->set_runs(b, RUNS, &err), PEGR_OK);
            assert_int_equal(b->ops->set_data(b, X, y, n, P, d, &err), PEGR_OK);
            assert_int_equal(b->ops->set_representation(b, 1, &err), PEGR_OK);
            assert_int_equal(b->ops->set_weights(b, W0, m, &err), PEGR_OK);
            pegr_eval_request req = {.method = (pegr_method)method, .q = 3.0, .lam = lam[0],
                                     .run_lam = lam, .run_lr = lr};
            for (int t = 0; t < 4; t++) assert_int_equal(b->ops->step(b, &req, 0.0, &err), PEGR_OK);
            assert_int_equal(b->ops->get_weights(b, W, &err), PEGR_OK);
            expect_kernel_ran(b, v);
            b->ops->destroy(b);
            for (size_t r = 0; r < RUNS; r++) {
                pegr_backend *h = pegr_host_backend_create(NULL);
                assert_int_equal(h->ops->set_data(h, runs[r].X, runs[r].y, n, P, d, &err), PEGR_OK);
                assert_int_equal(h->ops->set_weights(h, runs[r].W, m, &err), PEGR_OK);
                pegr_eval_request one = {.method = (pegr_method)method, .q = 3.0, .lam = lam[r]};
                for (int t = 0; t < 4 && lr[r] > 0; t++)
                    assert_int_equal(h->ops->step(h, &one, lr[r], &err), PEGR_OK);
                assert_int_equal(h->ops->get_weights(h, Wh, &err), PEGR_OK);
                h->ops->destroy(h);
                expect_close("batched W", VARIANTS[v].name, &runs[r], method, 3.0,
                             support_rel_err(W + r * count, Wh, count), tol);
                for (size_t j = 0; j < count && lr[r] == 0; j++) { /* frozen: untouched, exactly */
                    double w0 = runs[r].W[j];
                    assert_true(W[r * count + j] == (prec == PEGR_FP32 ? (double)(float)w0 : w0));
                }
            }
        }
    for (size_t r = 0; r < RUNS; r++) free_problem(&runs[r]);
    free(X);
    free(y);
    free(W0);
    free(W);
    free(Wh);
}

/* A rate that makes the weights overflow: each kernel (its folded update) records the same first
 * non-finite step as the separate update (pegr_span_update, the three-kernel path). */
static void test_each_kernel_records_the_first_nonfinite_step(void **state)
{
    (void)state;
    pegr_precision prec = support_check_precision(suite_device);
    problem p = make_problem(7, 3, 13, 5, 5);
    long first[NVARIANTS + 1];
    for (int k = 0; k <= NVARIANTS; k++) { /* each variant, then the three kernels */
        pegr_backend *b = open_engine(k == NVARIANTS ? NVARIANTS - 1 : k, prec, 0, 0);
        ((pegr_engine *)b)->no_fuse = k == NVARIANTS;
        pegr_error err = {0};
        assert_int_equal(b->ops->set_data(b, p.X, p.y, p.n, p.P, p.d, &err), PEGR_OK);
        assert_int_equal(b->ops->set_representation(b, 1, &err), PEGR_OK);
        assert_int_equal(b->ops->set_weights(b, p.W, p.m, &err), PEGR_OK);
        pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0};
        /* q = 3: each step cubes the pre-activations' scale; from 1e10 on, fp32 and fp64 both
         * overflow within a few steps. */
        for (int step = 0; step < 12; step++)
            assert_int_equal(b->ops->step(b, &req, step < 2 ? 0.01 : 1e10, &err), PEGR_OK);
        assert_int_equal(b->ops->first_nonfinite_step(b, &first[k], &err), PEGR_OK);
        if (k < NVARIANTS) expect_kernel_ran(b, k);
        b->ops->destroy(b);
    }
    assert_true(first[NVARIANTS] >= 2 && first[NVARIANTS] < 12);
    for (int k = 0; k < NVARIANTS; k++) assert_int_equal(first[k], first[NVARIANTS]);
    free_problem(&p);
}

/* With the product in pegr_coef_item a span step launches no GEMM (the kernel is the step, with
 * the reductions the outputs ask for); without it, one GEMM a step. */
static void test_item_product_saves_the_gemm_launch(void **state)
{
    (void)state;
    profiling = 1;
    problem p = make_problem(12, 2, 64, 4, 21);
    for (int v = 0; v < 2; v++) {
        pegr_backend *b = open_engine(v, PEGR_FP32, 0, 0);
        pegr_error err = {0};
        assert_int_equal(b->ops->set_data(b, p.X, p.y, p.n, p.P, p.d, &err), PEGR_OK);
        assert_int_equal(b->ops->set_representation(b, 1, &err), PEGR_OK);
        assert_int_equal(b->ops->set_weights(b, p.W, p.m, &err), PEGR_OK);
        pegr_eval_request req = {.method = PEGR_METHOD_PEGR, .q = 3.0, .lam = 0.01};
        assert_int_equal(b->ops->step(b, &req, 1e-3, &err), PEGR_OK);
        pegr_engine_profile_reset(b);
        const size_t steps = 5;
        for (size_t t = 0; t < steps; t++) assert_int_equal(b->ops->step(b, &req, 1e-3, &err), PEGR_OK);
        const pegr_kernel_time *kt = NULL;
        size_t nk = pegr_engine_profile(b, &kt), gemms = 0, items = 0;
        for (size_t k = 0; k < nk; k++) {
            if (strstr(kt[k].name, "gemm")) gemms += kt[k].launches;
            if (!strcmp(kt[k].name, "pegr_coef_item")) items += kt[k].launches;
        }
        assert_int_equal(items, steps);
        for (size_t k = 0; k < nk; k++) /* and nothing else: no scalar was asked for */
            if (strcmp(kt[k].name, "pegr_coef_item") && !strstr(kt[k].name, "gemm"))
                fail_msg("%s: %s launched in span steps", VARIANTS[v].name, kt[k].name);
        if (gemms != (v == 0 ? 0 : steps))
            fail_msg("%s: %zu GEMM launches in %zu span steps", VARIANTS[v].name, gemms, steps);
        b->ops->destroy(b);
    }
    free_problem(&p);
    profiling = 0;
}

/* A step that asks for no scalar (no objective, mean loss or metrics: a run's steps between its
 * log steps) launches no reduction; one that asks launches them, and its objective is right
 * (the evaluations above compare it with the host). Each variant, both forms, every method. */
static void test_steps_without_outputs_launch_no_reduction(void **state)
{
    (void)state;
    problem p = make_problem(7, 3, 13, 5, 8);
    for (int v = 0; v < NVARIANTS; v++)
        for (int span = 0; span < 2; span++)
            for (int method = 0; method < 3; method++) {
                pegr_backend *b = open_engine(v, PEGR_FP32, 0, 0);
                const pegr_engine *e = (const pegr_engine *)b;
                pegr_error err = {0};
                assert_int_equal(b->ops->set_data(b, p.X, p.y, p.n, p.P, p.d, &err), PEGR_OK);
                assert_int_equal(b->ops->set_representation(b, span, &err), PEGR_OK);
                assert_int_equal(b->ops->set_weights(b, p.W, p.m, &err), PEGR_OK);
                pegr_eval_request req = {.method = (pegr_method)method, .q = 3.0, .lam = 0.01};
                for (int t = 0; t < 3; t++) assert_int_equal(b->ops->step(b, &req, 1e-3, &err), PEGR_OK);
                size_t global = 0, local = 0;
                assert_false(engine_launch_record(e, "pegr_reduce_pair", &global, &local));
                assert_false(engine_launch_record(e, "pegr_reduce_sum", &global, &local));
                double objective = NAN;
                req.objective = &objective;
                assert_int_equal(b->ops->step(b, &req, 1e-3, &err), PEGR_OK);
                assert_true(engine_launch_record(e, "pegr_reduce_pair", &global, &local));
                assert_int_equal(engine_launch_record(e, "pegr_reduce_sum", &global, &local),
                                 method == PEGR_METHOD_GR); /* gr's ||V||^2 */
                assert_true(isfinite(objective) && objective > 0);
                b->ops->destroy(b);
            }
    free_problem(&p);
}

/* Unset, the device type chooses (item on CPUs); a value that names no kernel is refused at
 * creation, naming the variable and the values it takes. */
static void test_kernel_choice_and_a_bad_value(void **state)
{
    (void)state;
    pegr_error err = {0};
    pegr_engine_options eopts = {PEGR_FP32, PEGR_GEMM_AUTO, 0, 0};
    pegr_context *ctx = NULL;
    unsetenv("PEGR_COEF_KERNEL");
    assert_int_equal(pegr_context_create(suite_device, NULL, &ctx, &err), PEGR_OK);
    pegr_backend *b = pegr_engine_create(ctx, &eopts, &err);
    if (!b) fail_msg("%s", pegr_error_message(&err));
    assert_int_equal(((pegr_engine *)b)->coef_item, suite_device->type == PEGR_DEVICE_TYPE_CPU);
    b->ops->destroy(b);
    assert_int_equal(pegr_context_create(suite_device, NULL, &ctx, &err), PEGR_OK);
    setenv("PEGR_COEF_KERNEL", "warp", 1);
    b = pegr_engine_create(ctx, &eopts, &err);
    unsetenv("PEGR_COEF_KERNEL");
    assert_null(b);
    assert_int_equal(err.status, PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "PEGR_COEF_KERNEL='warp'"));
    assert_non_null(strstr(err.message, "'item'"));
    assert_non_null(strstr(err.message, "'group'"));
    pegr_error_clear(&err);
    assert_int_equal(pegr_context_create(suite_device, NULL, &ctx, &err), PEGR_OK);
    setenv("PEGR_COEF_PRODUCT", "yes", 1);
    b = pegr_engine_create(ctx, &eopts, &err);
    unsetenv("PEGR_COEF_PRODUCT");
    assert_null(b);
    assert_int_equal(err.status, PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "PEGR_COEF_PRODUCT='yes'"));
    pegr_error_clear(&err);
}

int main(void)
{
    pegr_error err = {0};
    if (!(suite_device = test_device_pick("test_coef", 1, &devices, &ndevices, &err))) {
        printf("no OpenCL device, skipping: %s\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        return 77;
    }
    if (suite_device->fp64) precisions[nprecisions++] = PEGR_FP64;
    precisions[nprecisions++] = PEGR_FP32;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_choice_and_a_bad_value),
        cmocka_unit_test(test_each_kernel_evaluates_like_the_host),
        cmocka_unit_test(test_each_kernel_steps_like_the_host),
        cmocka_unit_test(test_item_kernel_any_local_size),
        cmocka_unit_test(test_each_kernel_in_a_batch_of_runs),
        cmocka_unit_test(test_each_kernel_records_the_first_nonfinite_step),
        cmocka_unit_test(test_item_product_saves_the_gemm_launch),
        cmocka_unit_test(test_steps_without_outputs_launch_no_reduction),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

/* test_readout.c: the readout variants (docs/math.md, "Model variants"): the scale kappa
 * (--readout mean-filters|mean-patches) and a learned second layer v (--learn-readout). The host
 * reference against central finite differences of the full objective (W and v derivatives) for
 * gd, pegr and gr under both readouts, its penalties against finite-difference per-example
 * gradients, the default bit-identical to the model without a readout; steps and SAM by hand;
 * the engine against the host for every method in the primal and span forms, batched runs
 * against runs alone; the command line end to end and `pegr train --config` re-running it
 * exactly. The host halves run without a device; the device halves skip (with a line). */
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
#include "pegr/sweep.h"
#include "pegr/train.h"
#include "test_device_pick.h"
#include "train_support.h"
#include "util/rng.h"

enum { N = 3, P = 3, D = 4, M = 2, COLS = 2 * M, COUNT = COLS * D };

static pegr_device_info *devices;
static size_t ndevices;
static pegr_device_info *suite_device; /* NULL: no device, the device halves skip */

static void check(pegr_status s, const pegr_error *err)
{
    if (s != PEGR_OK) fail_msg("%s", pegr_error_message(err));
}

/* A small problem with every activation in play: X ~ N(0, 1), W ~ N(0, 0.5), labels +-1 and a
 * second layer of mixed signs and sizes (v = 1 would hide a v that is applied twice or not). */
static double X[N * P * D], Y[N], W0[COUNT], V0[COLS];

static void make_problem(void)
{
    pegr_rng_fill_normal(11, 1, 0, N * P * D, 1.0, X);
    pegr_rng_fill_normal(11, 3, 0, COUNT, 0.5, W0);
    for (size_t i = 0; i < N; i++) Y[i] = i % 2 ? -1.0 : 1.0;
    const double v[COLS] = {1.3, -0.4, 0.7, 2.1};
    memcpy(V0, v, sizeof v);
}

/* The objective (and optionally L, margins, norm2) at (W, v) under the model. */
static double objective(pegr_method method, size_t kdiv, int learn, const double *W,
                        const double *v, double *L, double *margin, double *norm2, double *grad,
                        double *grad_v)
{
    pegr_error err = {0};
    double obj = 0.0, mean = 0.0;
    pegr_ref_model md = {kdiv, v, learn, grad_v};
    pegr_eval_request req = {.method = method, .q = 3.0, .lam = 0.3, .objective = &obj,
                             .mean_loss = &mean, .margin = margin, .norm2 = norm2, .grad = grad};
    check(pegr_ref_evaluate_model(X, NULL, Y, N, P, D, W, M, &md, &req, &err), &err);
    if (L) *L = mean;
    return obj;
}

/* The loss of example i at (W, v) (learned or not: l_i does not depend on it). */
static double example_loss(size_t kdiv, const double *W, const double *v, size_t i)
{
    double loss[N];
    pegr_error err = {0};
    pegr_ref_model md = {kdiv, v, 0, NULL};
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .loss = loss};
    check(pegr_ref_evaluate_model(X, NULL, Y, N, P, D, W, M, &md, &req, &err), &err);
    return loss[i];
}

/* Central differences of fn over the COUNT entries of W and then the COLS of v (when learn). */
typedef double (*param_fn)(const double *W, const double *v, const void *ctx);
static void finite_differences(param_fn fn, const void *ctx, int learn, double *out)
{
    const double h = 1e-5;
    double W[COUNT], v[COLS];
    memcpy(W, W0, sizeof W);
    memcpy(v, V0, sizeof v);
    for (size_t k = 0; k < COUNT; k++) {
        double keep = W[k];
        W[k] = keep + h;
        double up = fn(W, v, ctx);
        W[k] = keep - h;
        double down = fn(W, v, ctx);
        W[k] = keep;
        out[k] = (up - down) / (2 * h);
    }
    for (size_t k = 0; learn && k < COLS; k++) {
        double keep = v[k];
        v[k] = keep + h;
        double up = fn(W, v, ctx);
        v[k] = keep - h;
        double down = fn(W, v, ctx);
        v[k] = keep;
        out[COUNT + k] = (up - down) / (2 * h);
    }
}

typedef struct fd_ctx {
    pegr_method method;
    size_t kdiv, example;
    int learn;
} fd_ctx;

static double objective_at(const double *W, const double *v, const void *ctx)
{
    const fd_ctx *c = ctx;
    return objective(c->method, c->kdiv, c->learn, W, v, NULL, NULL, NULL, NULL, NULL);
}

static double loss_at(const double *W, const double *v, const void *ctx)
{
    const fd_ctx *c = ctx;
    return example_loss(c->kdiv, W, v, c->example);
}

static double mean_loss_at(const double *W, const double *v, const void *ctx)
{
    const fd_ctx *c = ctx;
    double acc = 0.0;
    for (size_t i = 0; i < N; i++) acc += example_loss(c->kdiv, W, v, i);
    return acc / N;
}

static double max_rel(const double *a, const double *b, size_t count)
{
    double worst = 0.0, scale = 0.0;
    for (size_t k = 0; k < count; k++) scale = fmax(scale, fabs(b[k]));
    for (size_t k = 0; k < count; k++) worst = fmax(worst, fabs(a[k] - b[k]));
    return worst / scale;
}

static double sum_sq(const double *a, size_t count)
{
    double acc = 0.0;
    for (size_t k = 0; k < count; k++) acc += a[k] * a[k];
    return acc;
}

/* Every method's gradient (W's and, learned, v's) is the central difference of its objective,
 * under both readouts, with v learned and fixed. */
static void test_host_gradients_against_finite_differences(void **state)
{
    (void)state;
    make_problem();
    const pegr_method methods[] = {PEGR_METHOD_GD, PEGR_METHOD_PEGR, PEGR_METHOD_GR};
    const size_t kdivs[] = {M, P};
    for (size_t mi = 0; mi < 3; mi++)
        for (size_t ki = 0; ki < 2; ki++)
            for (int learn = 0; learn < 2; learn++) {
                double grad[COUNT + COLS], fd[COUNT + COLS];
                objective(methods[mi], kdivs[ki], learn, W0, V0, NULL, NULL, NULL, grad,
                          learn ? grad + COUNT : NULL);
                fd_ctx ctx = {methods[mi], kdivs[ki], 0, learn};
                finite_differences(objective_at, &ctx, learn, fd);
                size_t count = COUNT + (learn ? COLS : 0);
                double e = max_rel(grad, fd, count);
                if (e > 1e-7)
                    fail_msg("%s, kappa 1/%zu, learn %d: gradient vs central differences %.3g",
                             pegr_method_name(methods[mi]), kdivs[ki], learn, e);
            }
}

/* The penalties are what they are named: pegr's ||g_i||^2 (norm2) is the squared norm of l_i's
 * finite-difference gradient over every trained parameter (v too when learned), gr's penalty is
 * lam ||grad L||^2 over the same; the margin is sum c_j v kappa sum_p s(z) written out. */
static void test_host_penalties_and_margin_from_their_definitions(void **state)
{
    (void)state;
    make_problem();
    const size_t kdivs[] = {M, P};
    for (size_t ki = 0; ki < 2; ki++)
        for (int learn = 0; learn < 2; learn++) {
            size_t kdiv = kdivs[ki], count = COUNT + (learn ? COLS : 0);
            double margin[N], norm2[N], L = 0.0, fd[COUNT + COLS];
            objective(PEGR_METHOD_PEGR, kdiv, learn, W0, V0, NULL, margin, norm2, NULL, NULL);
            for (size_t i = 0; i < N; i++) {
                fd_ctx ctx = {PEGR_METHOD_GD, kdiv, i, learn};
                finite_differences(loss_at, &ctx, learn, fd);
                assert_true(fabs(norm2[i] - sum_sq(fd, count)) < 1e-8 * fmax(1.0, norm2[i]));
                double f = 0.0; /* the readout written out */
                for (size_t j = 0; j < 2; j++)
                    for (size_t r = 0; r < M; r++)
                        for (size_t p = 0; p < P; p++) {
                            double z = 0.0;
                            for (size_t k = 0; k < D; k++)
                                z += W0[(j * M + r) * D + k] * X[(i * P + p) * D + k];
                            double s = z > 0 ? z * z * z : 0.0;
                            f += (j ? -1.0 : 1.0) * V0[j * M + r] * s / (double)kdiv;
                        }
                assert_true(fabs(margin[i] - f) < 1e-13 * fmax(1.0, fabs(f)));
            }
            double obj = objective(PEGR_METHOD_GR, kdiv, learn, W0, V0, &L, NULL, NULL, NULL, NULL);
            fd_ctx ctx = {PEGR_METHOD_GD, kdiv, 0, learn};
            finite_differences(mean_loss_at, &ctx, learn, fd);
            double want = 0.3 * sum_sq(fd, count);
            assert_true(fabs((obj - L) - want) < 1e-7 * want);
        }
}

/* The default model is the model without a readout, to the bit: kappa 1/m with v = 1 fixed; a
 * learned v = 1 gives gd the same W gradient too (its v-terms add only for pegr and gr). And the
 * mean over patches is the default's margin times m / P. */
static void test_default_readout_is_bit_identical(void **state)
{
    (void)state;
    make_problem();
    const double ones[COLS] = {1, 1, 1, 1};
    const pegr_method methods[] = {PEGR_METHOD_GD, PEGR_METHOD_PEGR, PEGR_METHOD_GR};
    for (size_t mi = 0; mi < 3; mi++) {
        double g0[COUNT], g1[COUNT], n0[N], n1[N], f0[N], f1[N];
        pegr_error err = {0};
        double o0 = 0, o1 = 0;
        pegr_eval_request req = {.method = methods[mi], .q = 3.0, .lam = 0.3, .grad = g0,
                                 .norm2 = n0, .margin = f0, .objective = &o0};
        check(pegr_ref_evaluate(X, Y, N, P, D, W0, M, &req, &err), &err);
        o1 = objective(methods[mi], M, 0, W0, ones, NULL, f1, n1, g1, NULL);
        assert_memory_equal(g0, g1, sizeof g0);
        assert_memory_equal(n0, n1, sizeof n0);
        assert_memory_equal(f0, f1, sizeof f0);
        assert_memory_equal(&o0, &o1, sizeof o0);
        objective(methods[mi], 0, 0, W0, NULL, NULL, f1, n1, g1, NULL); /* kappa_div 0: m */
        assert_memory_equal(g0, g1, sizeof g0);
        if (methods[mi] == PEGR_METHOD_GD) {
            double gv[COLS];
            objective(PEGR_METHOD_GD, M, 1, W0, ones, NULL, f1, NULL, g1, gv);
            assert_memory_equal(g0, g1, sizeof g0);
            assert_memory_equal(f0, f1, sizeof f0);
        }
        objective(methods[mi], P, 0, W0, NULL, NULL, f1, NULL, NULL, NULL);
        for (size_t i = 0; i < N; i++)
            assert_true(fabs(f1[i] - f0[i] * M / P) < 1e-14 * fabs(f0[i]) + 1e-300);
    }
}

/* The host backend's steps with a learned v: W -= lr grad_W, v -= lr grad_v of the method's
 * objective (pegr_ref_evaluate_model's), v read back; SAM's ascent normalizes by ||(g, g_v)||. */
static void test_host_steps_with_a_learned_readout(void **state)
{
    (void)state;
    make_problem();
    const double ones[COLS] = {1, 1, 1, 1};
    const pegr_method methods[] = {PEGR_METHOD_GD, PEGR_METHOD_PEGR, PEGR_METHOD_GR,
                                   PEGR_METHOD_SAM};
    for (size_t mi = 0; mi < 4; mi++) {
        pegr_error err = {0};
        pegr_backend *h = NULL;
        check(pegr_backend_open("host", NULL, &h, &err), &err);
        check(pegr_backend_set_data(h, X, Y, N, P, D, &err), &err);
        check(pegr_backend_set_weights(h, W0, M, &err), &err);
        check(pegr_backend_set_readout(h, PEGR_READOUT_MEAN_PATCHES, 1, &err), &err);
        double v[COLS], W[COUNT], g[COUNT], gv[COLS], want[COUNT], want_v[COLS];
        check(pegr_backend_get_readout(h, v, &err), &err);
        assert_memory_equal(v, ones, sizeof v);
        const double lr = 0.05, rho = 0.2;
        pegr_method m = methods[mi] == PEGR_METHOD_SAM ? PEGR_METHOD_GD : methods[mi];
        pegr_eval_request req = {.method = m, .q = 3.0, .lam = 0.3};
        if (methods[mi] == PEGR_METHOD_SAM) {
            check(pegr_backend_sam_step(h, &req, lr, rho, NULL, &err), &err);
            objective(PEGR_METHOD_GD, P, 1, W0, ones, NULL, NULL, NULL, g, gv);
            double eps = rho / sqrt(sum_sq(g, COUNT) + sum_sq(gv, COLS));
            double Wa[COUNT], va[COLS];
            for (size_t k = 0; k < COUNT; k++) Wa[k] = W0[k] + eps * g[k];
            for (size_t k = 0; k < COLS; k++) va[k] = 1.0 + eps * gv[k];
            objective(PEGR_METHOD_GD, P, 1, Wa, va, NULL, NULL, NULL, g, gv);
        } else {
            check(pegr_backend_step(h, &req, lr, &err), &err);
            objective(m, P, 1, W0, ones, NULL, NULL, NULL, g, gv);
        }
        for (size_t k = 0; k < COUNT; k++) want[k] = W0[k] - lr * g[k];
        for (size_t k = 0; k < COLS; k++) want_v[k] = 1.0 - lr * gv[k];
        check(pegr_backend_get_weights(h, W, &err), &err);
        check(pegr_backend_get_readout(h, v, &err), &err);
        assert_true(max_rel(W, want, COUNT) < 1e-15);
        assert_true(max_rel(v, want_v, COLS) < 1e-15);
        assert_true(max_rel(v, ones, COLS) > 1e-6); /* v moved */
        /* new weights: the default readout again */
        check(pegr_backend_set_weights(h, W0, M, &err), &err);
        check(pegr_backend_get_readout(h, v, &err), &err);
        assert_memory_equal(v, ones, sizeof v);
        pegr_backend_close(h);
    }
}

/* ---- training runs: host against device ------------------------------------------------------ */

static const char *const METHODS[] = {"gd", "sgd", "pegr", "gr", "sam"};

/* A run of `method` with a readout variant (the mean over patches; a learned v under each
 * scale) on the host and on the device, primal and span: the same records, W and v (and other
 * ones than the default readout's on the same backend: the variant reaches the kernels and a
 * later run is back to the default). The mean over patches on every coefficient path: the
 * device's default, the other fused kernel (coef_item flipped) and the three kernels (no_fuse);
 * a learned v always takes the three kernels. */
static void test_device_readouts_equal_the_host(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    const int variants[3][2] = {{PEGR_READOUT_MEAN_PATCHES, 0}, {PEGR_READOUT_MEAN_FILTERS, 1},
                                {PEGR_READOUT_MEAN_PATCHES, 1}};
    for (size_t vi = 0; vi < 3; vi++)
        for (size_t mi = 0; mi < 5; mi++)
            for (int span = 0; span < 2; span++)
                for (int path = 0; path < (vi == 0 ? 3 : 1); path++) {
                pegr_train_config c = support_tiny(METHODS[mi], 30);
                c.readout = variants[vi][0];
                c.learn_readout = variants[vi][1];
                c.sam_rho = 0.1;
                c.representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
                pegr_train_result rh, rd, r0;
                pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
                support_train(h, &c, &rh);
                h->ops->destroy(h);
                pegr_backend *d = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
                pegr_engine *e = (pegr_engine *)d;
                if (path == 1) e->coef_item = !e->coef_item;
                if (path == 2) e->no_fuse = 1;
                support_train(d, &c, &rd);
                assert_int_equal(rd.span, span);
                if (prec == PEGR_FP64) support_assert_same_records(&rd, &rh, PEGR_TOL_FP64_TRAIN);
                else support_assert_close_records(&rd, &rh, PEGR_TOL_FP32_TRAIN,
                                                  pegr_tol_rate(prec, c.data.n_test));
                double tol = prec == PEGR_FP64 ? 1e-10 : 1e-4;
                size_t count = 2 * c.m * c.data.d;
                if (support_rel_err(rd.W, rh.W, count) > tol)
                    fail_msg("%s, variant %zu, span %d: W %.3g from the host", METHODS[mi], vi,
                             span, support_rel_err(rd.W, rh.W, count));
                if (c.learn_readout) {
                    assert_non_null(rd.v);
                    assert_true(support_rel_err(rd.v, rh.v, 2 * c.m) < tol);
                } else {
                    assert_null(rd.v);
                }
                c.readout = PEGR_READOUT_MEAN_FILTERS; /* the same backend: reset to the default */
                c.learn_readout = 0;
                support_train(d, &c, &r0);
                d->ops->destroy(d);
                assert_true(support_rel_err(rd.W, r0.W, count) > 1e-6);
                pegr_train_result_free(&rh);
                pegr_train_result_free(&rd);
                pegr_train_result_free(&r0);
            }
}

/* Three seeds of pegr with the mean over patches (then also a learned v: gr and sam), batched on
 * the device, against each alone: W and v. */
static void test_batched_readouts_equal_each_run_alone(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    enum { RUNS = 3 };
    const char *const methods[] = {"pegr", "pegr", "gr", "sam"};
    for (int variant = 0; variant < 8; variant++) {
        int span = variant % 2, learn = variant >= 2;
        const char *method = methods[variant / 2];
        pegr_train_config c[RUNS];
        pegr_dataset ds[RUNS];
        pegr_train_result rb[RUNS], ra;
        pegr_error err = {0};
        for (int k = 0; k < RUNS; k++) {
            c[k] = support_tiny(method, 30);
            c[k].readout = PEGR_READOUT_MEAN_PATCHES;
            c[k].learn_readout = learn;
            c[k].sam_rho = 0.05 + 0.05 * k;
            c[k].data.seed = 3 + (uint64_t)k;
            c[k].representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
            check(pegr_data_generate(&c[k].data, &ds[k], &err), &err);
        }
        pegr_backend *b = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
        check(pegr_train_run_batch(b, ds, c, RUNS, NULL, rb, &err), &err);
        b->ops->destroy(b);
        for (int k = 0; k < RUNS; k++) {
            pegr_backend *one = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
            check(pegr_train_run(one, &ds[k], &c[k], NULL, &ra, &err), &err);
            one->ops->destroy(one);
            support_assert_close_records(&rb[k], &ra, prec == PEGR_FP64 ? 1e-10 : 2e-4,
                                         pegr_tol_rate(prec, c[k].data.n_test));
            assert_true(support_rel_err(rb[k].W, ra.W, 2 * c[k].m * c[k].data.d) <
                        (prec == PEGR_FP64 ? 1e-10 : 2e-5));
            if (learn) assert_true(support_rel_err(rb[k].v, ra.v, 2 * c[k].m) <
                                   (prec == PEGR_FP64 ? 1e-10 : 2e-5));
            pegr_train_result_free(&ra);
            pegr_train_result_free(&rb[k]);
            pegr_dataset_free(&ds[k]);
        }
    }
    /* runs of different readouts are not batchable */
    pegr_train_config a = support_tiny("pegr", 5), b2 = a;
    b2.readout = PEGR_READOUT_MEAN_PATCHES;
    assert_false(pegr_train_batchable(&a, &b2));
    b2 = a;
    b2.learn_readout = 1;
    assert_false(pegr_train_batchable(&a, &b2));
}

/* A learned second layer trains with every method on the host: v leaves 1, stays finite, and
 * the run differs from v fixed. */
static void test_learned_readout_trains_with_every_method(void **state)
{
    (void)state;
    for (size_t mi = 0; mi < 5; mi++)
        for (int readout = 0; readout < 2; readout++) {
            pegr_train_config c = support_tiny(METHODS[mi], 20);
            c.sam_rho = 0.1;
            c.readout = readout;
            c.learn_readout = 1;
            pegr_train_result r, r0;
            pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
            support_train(h, &c, &r);
            c.learn_readout = 0;
            support_train(h, &c, &r0);
            h->ops->destroy(h);
            assert_false(r.diverged);
            assert_non_null(r.v);
            assert_null(r0.v);
            double ones[2 * 4] = {1, 1, 1, 1, 1, 1, 1, 1};
            assert_true(support_rel_err(r.v, ones, 2 * c.m) > 1e-8);
            assert_true(support_rel_err(r.W, r0.W, 2 * c.m * c.data.d) > 1e-8);
            pegr_train_result_free(&r);
            pegr_train_result_free(&r0);
        }
}

/* ---- the command line ------------------------------------------------------------------------- */

/* Two run files byte for byte (cmp: .npy files hold NUL bytes). */
static int same_file(const char *a, const char *b)
{
    return cli_run(NULL, "cmp -s $T/%s $T/%s", a, b) == 0;
}

static void test_cli_readout_and_config_rerun(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR train --method pegr --readout mean-patches --learn-readout "
                           "--preset tiny --steps 20 --device host --quiet --out $T/a");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    char *config = cli_read("a/config.json");
    assert_non_null(strstr(config, "\"readout\": \"mean-patches\""));
    assert_non_null(strstr(config, "\"learn-readout\": true"));
    free(config);
    assert_int_equal(cli_run(NULL, "test -s $T/a/v.npy"), 0);
    /* --config repeats it exactly */
    rc = cli_run(&out, "$PEGR train --config $T/a/config.json --device host --quiet --out $T/b");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    assert_true(same_file("a/W.npy", "b/W.npy"));
    assert_true(same_file("a/v.npy", "b/v.npy"));
    /* a plain run writes no v.npy, and differs */
    rc = cli_run(&out, "$PEGR train --method pegr --preset tiny --steps 20 --device host --quiet "
                       "--out $T/c");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    assert_false(same_file("a/W.npy", "c/W.npy"));
    assert_int_not_equal(cli_run(NULL, "test -e $T/c/v.npy"), 0);
    /* a word outside the list */
    rc = cli_run(&out, "$PEGR train --readout sum --preset tiny --steps 2 --device host --quiet "
                       "--out $T/e");
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "mean-filters|mean-patches"));
    free(out);
    if (!suite_device) return;
    rc = cli_run(&out, "$PEGR train --readout mean-patches --preset tiny --steps 20 --device %zu "
                       "--quiet --out $T/d", suite_device->index);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    /* the device with a learned v: its v.npy is the host's (fp64) */
    rc = cli_run(&out, "$PEGR train --method pegr --readout mean-patches --learn-readout --preset "
                       "tiny --steps 20 --device %zu --precision fp64 --quiet --out $T/f",
                 suite_device->index);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    assert_int_equal(cli_run(NULL, "test -s $T/f/v.npy"), 0);
}

/* The readout is part of a sweep run's identity: a grid over it is not refused as one setting
 * twice, and --learn-readout in the base gives other run ids (a resume with it cannot reuse the
 * runs without it). */
static void test_sweep_over_the_readout(void **state)
{
    (void)state;
    char ids[2][2][256];
    for (int learn = 0; learn < 2; learn++) {
        pegr_train_config base = support_tiny("pegr", 10);
        base.learn_readout = learn;
        pegr_error err = {0};
        pegr_sweep *s = NULL;
        const pegr_method methods[] = {PEGR_METHOD_PEGR};
        const uint64_t seeds[] = {0};
        check(pegr_sweep_create(&base, PEGR_FP64, &s, &err), &err);
        check(pegr_sweep_add_axis(s, "readout=mean-filters,mean-patches", &err), &err);
        check(pegr_sweep_set_methods(s, methods, 1, &err), &err);
        check(pegr_sweep_set_seeds(s, seeds, 1, &err), &err);
        check(pegr_sweep_check(s, &err), &err);
        for (size_t k = 0; k < 2; k++)
            check(pegr_sweep_run_id(s, k, ids[learn][k], sizeof ids[learn][k], &err), &err);
        assert_string_not_equal(ids[learn][0], ids[learn][1]);
        pegr_sweep_free(s);
    }
    assert_string_not_equal(ids[0][0], ids[1][0]);
    assert_string_not_equal(ids[0][1], ids[1][1]);
}

static int setup(void **state)
{
    (void)state;
    return cli_setup("pegr-test-readout");
}

static int teardown(void **state)
{
    (void)state;
    return cli_teardown();
}

int main(void)
{
    suite_device = test_device_pick_or_host_only("test_readout", &devices, &ndevices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_gradients_against_finite_differences),
        cmocka_unit_test(test_host_penalties_and_margin_from_their_definitions),
        cmocka_unit_test(test_default_readout_is_bit_identical),
        cmocka_unit_test(test_host_steps_with_a_learned_readout),
        cmocka_unit_test(test_device_readouts_equal_the_host),
        cmocka_unit_test(test_batched_readouts_equal_each_run_alone),
        cmocka_unit_test(test_learned_readout_trains_with_every_method),
        cmocka_unit_test_setup_teardown(test_cli_readout_and_config_rerun, setup, teardown),
        cmocka_unit_test(test_sweep_over_the_readout),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

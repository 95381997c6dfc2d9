/* test_bias.c: two model variants of issue 16 item 4 (docs/math.md, "Model variants"): a per-filter
 * bias (--bias, z = <W[j,r], x_p> + b[j,r]) and PyTorch's uniform initialisation (--init uniform).
 * The uniform init's bounds, moments, Philox mapping and determinism; the training layer's initial
 * weights; the bias model's margin against a forward pass written here; the bias derivative of
 * gd's, pegr's and gr's objectives against central finite differences (b perturbed directly); a
 * run with a bias equal bit for bit to the same steps on a hand-augmented dataset; rho with a bias
 * equal to <W - W0, xi> from the returned weights (not the bias's change too); the robust test
 * perturbing the inputs only, with the normals of the data without a bias; the engine (fp64 where
 * the device has it) against the host for gd, sgd, pegr, gr and sam in the primal and span forms,
 * and batched runs against each run alone; `pegr train --bias --init uniform` end to end and its
 * re-run from config.json. On the main before these options none of them existed: --bias and
 * --init were unknown options, pegr_init_weights_uniform / pegr_perturb_rows undefined. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "host/host_ref.h"
#include "pegr/pegr.h"
#include "test_device_pick.h"
#include "train_support.h"
#include "util/rng.h"

static pegr_device_info *devices;
static size_t ndevices;
static pegr_device_info *suite_device; /* NULL: no device, the device halves skip */

static void check(pegr_status s, const pegr_error *err)
{
    if (s != PEGR_OK) fail_msg("%s", pegr_error_message(err));
}

/* ---- the uniform init ------------------------------------------------------------------------ */

static void test_uniform_init_bounds_moments_and_mapping(void **state)
{
    (void)state;
    enum { M = 50, D = 400, COUNT = 2 * M * D };
    static double W[COUNT], W2[COUNT], W3[COUNT];
    double b[2 * M], b2[2 * M];
    pegr_error err = {0};
    check(pegr_init_weights_uniform(7, M, D, D, W, b, &err), &err);
    const double k = 1.0 / sqrt((double)D);
    double sum = 0.0, sum2 = 0.0;
    for (size_t i = 0; i < COUNT; i++) {
        assert_true(W[i] > -k && W[i] < k);
        sum += W[i];
        sum2 += W[i] * W[i];
    }
    double mean = sum / COUNT, var = sum2 / COUNT - mean * mean;
    /* U(-k, k): mean 0 (sd k/sqrt(3 COUNT)), variance k^2/3 (relative sd sqrt(4/(5 COUNT)) ~ 0.5%) */
    assert_true(fabs(mean) < 5.0 * k / sqrt(3.0 * COUNT));
    assert_true(fabs(var / (k * k / 3.0) - 1.0) < 0.03);
    for (size_t c = 0; c < 2 * M; c++) assert_true(b[c] > -k && b[c] < k);
    /* the documented mapping (data.h): stream INIT_WEIGHTS, index = flat position; b after W */
    for (size_t i = 0; i < COUNT; i += 997)
        assert_true(W[i] == k * (2.0 * pegr_rng_uniform(7, PEGR_STREAM_INIT_WEIGHTS, i) - 1.0));
    for (size_t c = 0; c < 2 * M; c++)
        assert_true(b[c] == k * (2.0 * pegr_rng_uniform(7, PEGR_STREAM_INIT_WEIGHTS, COUNT + c) - 1.0));
    /* deterministic; another seed differs; W does not depend on asking for b */
    check(pegr_init_weights_uniform(7, M, D, D, W2, b2, &err), &err);
    assert_memory_equal(W, W2, sizeof W);
    assert_memory_equal(b, b2, sizeof b);
    check(pegr_init_weights_uniform(7, M, D, D, W3, NULL, &err), &err);
    assert_memory_equal(W, W3, sizeof W);
    check(pegr_init_weights_uniform(8, M, D, D, W3, NULL, &err), &err);
    assert_true(memcmp(W, W3, sizeof W) != 0);
    /* refusals */
    assert_int_equal(pegr_init_weights_uniform(7, M, D, 0, W, b, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "fan_in"));
    assert_int_equal(pegr_init_weights_uniform(7, M, D, D, NULL, b, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
}

/* The initial weights a training run gets: gaussian with a bias = the filters without one and a
 * bias of 0; uniform = pegr_init_weights_uniform's filters and biases, whatever sigma0 says. */
static void test_training_initial_weights(void **state)
{
    (void)state;
    pegr_error err = {0};
    for (int init = 0; init < 2; init++) {
        pegr_train_config c = support_tiny("gd", 0);
        c.init = init;
        c.data.seed = 11;
        pegr_train_result plain, biased, other;
        pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
        support_train(h, &c, &plain);
        h->ops->destroy(h);
        c.bias = 1;
        h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
        support_train(h, &c, &biased);
        h->ops->destroy(h);
        size_t cols = 2 * c.m, count = cols * c.data.d;
        assert_null(plain.b0);
        assert_non_null(biased.b0);
        assert_non_null(biased.b);
        assert_memory_equal(plain.W0, biased.W0, count * sizeof(double)); /* the same filters */
        if (init == PEGR_INIT_GAUSSIAN) {
            for (size_t k = 0; k < cols; k++) assert_true(biased.b0[k] == 0.0);
        } else {
            double *W = malloc(count * sizeof(double)), b[64];
            check(pegr_init_weights_uniform(11, c.m, c.data.d, c.data.d, W, b, &err), &err);
            assert_memory_equal(W, biased.W0, count * sizeof(double));
            assert_memory_equal(b, biased.b0, cols * sizeof(double));
            free(W);
            /* sigma0 is not used by the uniform init */
            c.sigma0 = 0.5;
            h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
            support_train(h, &c, &other);
            h->ops->destroy(h);
            assert_memory_equal(other.W0, biased.W0, count * sizeof(double));
            pegr_train_result_free(&other);
        }
        /* no steps: the final weights are the initial ones, split the same way */
        assert_memory_equal(biased.W, biased.W0, count * sizeof(double));
        assert_memory_equal(biased.b, biased.b0, cols * sizeof(double));
        pegr_train_result_free(&plain);
        pegr_train_result_free(&biased);
    }
}

/* pegr_perturb_rows: the inputs get the normals pegr_perturb gives the rows without the fixed
 * values; those are copied. */
static void test_perturb_rows_skips_the_bias_coordinate(void **state)
{
    (void)state;
    enum { ROWS = 7, D = 5 };
    double plain[ROWS * D], wide[ROWS * (D + 1)], want[ROWS * (D + 1)], got[ROWS * (D + 1)];
    for (size_t t = 0; t < ROWS; t++)
        for (size_t k = 0; k <= D; k++) {
            double v = sin((double)(t * 13 + k));
            wide[t * (D + 1) + k] = k < D ? v : 1.0;
            if (k < D) plain[t * D + k] = v;
        }
    pegr_perturb(3, 0.7, plain, ROWS * D, want);
    pegr_perturb_rows(3, 0.7, wide, ROWS, D + 1, 1, got);
    for (size_t t = 0; t < ROWS; t++) {
        assert_memory_equal(got + t * (D + 1), want + t * D, D * sizeof(double));
        assert_true(got[t * (D + 1) + D] == 1.0);
    }
    pegr_perturb(3, 0.7, wide, ROWS * (D + 1), want);
    pegr_perturb_rows(3, 0.7, wide, ROWS, D + 1, 0, got);
    assert_memory_equal(got, want, sizeof got);
}

/* ---- the bias model on the host ------------------------------------------------------------- */

enum { N = 6, P = 3, D = 9, M = 2, COLS = 2 * M, DB = D + 1 };

/* Data (N, P, D), labels, filters W (COLS, D) and biases b (COLS), seeded. */
static void make_problem(uint64_t seed, double *X, double *y, double *W, double *b)
{
    pegr_rng_fill_normal(seed, 1, 0, N * P * D, 1.0, X);
    pegr_rng_fill_normal(seed, 3, 0, COLS * D, 0.6, W);
    pegr_rng_fill_normal(seed, 4, 0, COLS, 0.5, b);
    for (size_t i = 0; i < N; i++) y[i] = pegr_rng_uniform(seed, 2, i) < 0.5 ? 1.0 : -1.0;
}

/* rows x (d + 1): each row with `last` appended (by hand, not train_bias.c's). */
static void append(const double *src, size_t rows, size_t d, double last, double *out)
{
    for (size_t t = 0; t < rows; t++) {
        for (size_t k = 0; k < d; k++) out[t * (d + 1) + k] = src[t * d + k];
        out[t * (d + 1) + d] = last;
    }
}

static double act(double z, double q) { return z > 0 ? pow(z, q) : 0.0; }

/* f(W, b, x) = (1/m) sum_r sum_p [s(<W[0,r], x_p> + b[0,r]) - s(<W[1,r], x_p> + b[1,r])],
 * written out here (no pegr code). */
static double forward(const double *W, const double *b, size_t m, size_t d, size_t P_, double q,
                      const double *x)
{
    double f = 0.0;
    for (size_t c = 0; c < 2 * m; c++)
        for (size_t p = 0; p < P_; p++) {
            double z = 0.0;
            for (size_t k = 0; k < d; k++) z += W[c * d + k] * x[p * d + k];
            z += b[c];
            f += (c < m ? 1.0 : -1.0) * act(z, q);
        }
    return f / (double)m;
}

static pegr_backend *host_on(const double *Xb, const double *y, const double *Wb)
{
    pegr_error err = {0};
    pegr_backend *h = pegr_host_backend_create(&err);
    if (!h) fail_msg("%s", pegr_error_message(&err));
    check(h->ops->set_data(h, Xb, y, N, P, DB, &err), &err);
    check(h->ops->set_weights(h, Wb, M, &err), &err);
    return h;
}

/* The host's margins on the patches with a 1 appended, at [W, b], are the bias model's. */
static void test_bias_margin_is_the_model(void **state)
{
    (void)state;
    double X[N * P * D], y[N], W[COLS * D], b[COLS], Xb[N * P * DB], Wb[COLS * DB], f[N];
    make_problem(1, X, y, W, b);
    append(X, N * P, D, 1.0, Xb);
    for (size_t c = 0; c < COLS; c++) {
        memcpy(Wb + c * DB, W + c * D, D * sizeof(double));
        Wb[c * DB + D] = b[c];
    }
    pegr_error err = {0};
    pegr_backend *h = host_on(Xb, y, Wb);
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 3.0, .margin = f};
    check(h->ops->evaluate(h, &req, &err), &err);
    h->ops->destroy(h);
    for (size_t i = 0; i < N; i++) {
        double want = forward(W, b, M, D, P, 3.0, X + i * P * D);
        assert_true(fabs(f[i] - want) <= 1e-12 * fmax(1.0, fabs(want)));
    }
}

/* The chosen objective at [W, b] (the host reference's value). */
static double objective_at(pegr_method method, double q, const double *Xb, const double *y,
                           const double *Wb, double *grad)
{
    pegr_error err = {0};
    double obj = 0.0;
    pegr_backend *h = host_on(Xb, y, Wb);
    pegr_eval_request req = {.method = method, .q = q, .lam = 0.3, .grad = grad, .objective = &obj};
    check(h->ops->evaluate(h, &req, &err), &err);
    h->ops->destroy(h);
    return obj;
}

/* d objective / d b[c] (b perturbed directly) and along random directions of (W, b), against the
 * gradient's bias column, for gd, pegr and gr at q = 2 and 3. */
static void test_bias_gradient_against_finite_differences(void **state)
{
    (void)state;
    const pegr_method methods[] = {PEGR_METHOD_GD, PEGR_METHOD_PEGR, PEGR_METHOD_GR};
    const double qs[] = {2.0, 3.0};
    double X[N * P * D], y[N], W[COLS * D], b[COLS], Xb[N * P * DB], Wb[COLS * DB],
        Wp[COLS * DB], g[COLS * DB], scratch[COLS * DB], v[COLS * DB];
    for (size_t mi = 0; mi < 3; mi++)
        for (size_t qi = 0; qi < 2; qi++) {
            make_problem(20 + mi * 2 + qi, X, y, W, b);
            append(X, N * P, D, 1.0, Xb);
            for (size_t c = 0; c < COLS; c++) {
                memcpy(Wb + c * DB, W + c * D, D * sizeof(double));
                Wb[c * DB + D] = b[c];
            }
            objective_at(methods[mi], qs[qi], Xb, y, Wb, g);
            const double h = 1e-6;
            double worst = 0.0;
            for (size_t c = 0; c < COLS; c++) { /* each bias */
                memcpy(Wp, Wb, sizeof Wp);
                Wp[c * DB + D] = Wb[c * DB + D] + h;
                double up = objective_at(methods[mi], qs[qi], Xb, y, Wp, scratch);
                Wp[c * DB + D] = Wb[c * DB + D] - h;
                double down = objective_at(methods[mi], qs[qi], Xb, y, Wp, scratch);
                double fd = (up - down) / (2 * h), an = g[c * DB + D];
                double e = fabs(fd - an) / fmax(1e-3, fabs(an));
                if (e > worst) worst = e;
                if (!(e < 1e-6))
                    fail_msg("%s q %g: d/db[%zu] %.12g, finite differences %.12g",
                             pegr_method_name(methods[mi]), qs[qi], c, an, fd);
            }
            /* the bias column is not all 0 (the check above is not vacuous) */
            double bnorm = 0.0;
            for (size_t c = 0; c < COLS; c++) bnorm += fabs(g[c * DB + D]);
            assert_true(bnorm > 1e-3);
            pegr_rng_fill_normal(99 + mi, 1, 0, COLS * DB, 1.0, v); /* a direction in (W, b) */
            double along = 0.0;
            for (size_t k = 0; k < COLS * DB; k++) {
                along += g[k] * v[k];
                Wp[k] = Wb[k] + h * v[k];
            }
            double up = objective_at(methods[mi], qs[qi], Xb, y, Wp, scratch);
            for (size_t k = 0; k < COLS * DB; k++) Wp[k] = Wb[k] - h * v[k];
            double down = objective_at(methods[mi], qs[qi], Xb, y, Wp, scratch);
            assert_true(fabs((up - down) / (2 * h) - along) < 1e-6 * fmax(1.0, fabs(along)));
        }
}

/* rho_mean at (W, W0) of a run on ds: max over own-class filters and noise patches of
 * <W - W0, xi>, averaged; with plus_bias, the bias's change is added (the quantity the kernel
 * would report if it were not told about the bias). */
static double rho_by_hand(const pegr_dataset *ds, const pegr_train_result *r, size_t m,
                          int plus_bias)
{
    size_t d = ds->d, n = ds->train.n;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t j = ds->train.y[i] > 0 ? 0 : 1;
        double best = 0.0;
        int any = 0;
        for (size_t p = 0; p < ds->P; p++) {
            if (p == ds->train.signal_patch[i]) continue;
            for (size_t rr = 0; rr < m; rr++) {
                size_t c = j * m + rr;
                double v = 0.0;
                for (size_t k = 0; k < d; k++)
                    v += (r->W[c * d + k] - r->W0[c * d + k]) * ds->train.X[(i * ds->P + p) * d + k];
                if (plus_bias) v += r->b[c] - r->b0[c];
                if (!any || v > best) best = v;
                any = 1;
            }
        }
        sum += best;
    }
    return sum / (double)n;
}

/* The test error under x + sigma n (n from the PERTURB stream of the data without a bias, the
 * bias's 1 untouched), with the returned W and b, by hand. */
static double robust_by_hand(const pegr_dataset *ds, const pegr_train_result *r,
                             const pegr_train_config *c, double sigma)
{
    size_t nt = ds->test.n, count = nt * ds->P * ds->d, wrong = 0;
    double *Xp = malloc(count * sizeof(double));
    assert_non_null(Xp);
    pegr_perturb(c->data.seed, sigma, ds->test.X, count, Xp);
    for (size_t i = 0; i < nt; i++)
        wrong += ds->test.y[i] * forward(r->W, r->b, c->m, ds->d, ds->P, c->q,
                                         Xp + i * ds->P * ds->d) <= 0.0;
    free(Xp);
    return (double)wrong / (double)nt;
}

/* A bias run's final metrics: rho from the weights returned (not the bias's change), the robust
 * errors by hand. */
static void assert_bias_metrics(const pegr_dataset *ds, const pegr_train_result *r,
                                const pegr_train_config *c, double tol)
{
    const pegr_train_record *last = pegr_train_result_last(r);
    assert_non_null(last);
    double want = rho_by_hand(ds, r, c->m, 0), naive = rho_by_hand(ds, r, c->m, 1);
    double got = last->metrics.rho_mean;
    if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
        fail_msg("rho %.17g, <W - W0, xi> from the weights %.17g (with the bias's change %.17g)",
                 got, want, naive);
    /* the bias moved enough that counting it would show (the check is not vacuous) */
    assert_true(fabs(naive - want) > 1e3 * tol * fmax(1.0, fabs(want)));
    for (size_t k = 0; k < c->n_robust; k++) {
        double rate = robust_by_hand(ds, r, c, c->robust_sigmas[k]);
        if (!(fabs(r->robust_error[k] - rate) < 0.5 / (double)ds->test.n))
            fail_msg("robust error at sigma %g: %g, by hand %g", c->robust_sigmas[k],
                     r->robust_error[k], rate);
    }
}

/* A small run with a bias (its robust levels large enough to flip decisions). */
static pegr_train_config bias_config(const char *method, size_t steps, int init)
{
    pegr_train_config c = support_tiny(method, steps);
    c.bias = 1;
    c.init = init;
    c.robust_sigmas[0] = 0.5;
    c.robust_sigmas[1] = 2.0;
    return c;
}

/* pegr_train_run with a bias = the same steps on the host on a dataset augmented here, from the
 * same initial weights: W and b bit for bit; and its metrics are right (rho, robust errors). */
static void test_bias_run_equals_hand_augmented_steps(void **state)
{
    (void)state;
    const char *methods[] = {"gd", "pegr", "gr", "sam"};
    pegr_error err = {0};
    for (size_t mi = 0; mi < 4; mi++) {
        pegr_train_config c = bias_config(methods[mi], 25, (int)(mi % 2));
        pegr_dataset ds;
        check(pegr_data_generate(&c.data, &ds, &err), &err);
        pegr_train_result r;
        pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
        check(pegr_train_run(h, &ds, &c, NULL, &r, &err), &err);
        h->ops->destroy(h);
        size_t n = ds.train.n, d = ds.d, cols = 2 * c.m, rows = n * ds.P;
        double *Xb = malloc(rows * (d + 1) * sizeof(double));
        double *Wb = malloc(cols * (d + 1) * sizeof(double));
        double *got = malloc(cols * (d + 1) * sizeof(double));
        append(ds.train.X, rows, d, 1.0, Xb);
        for (size_t k = 0; k < cols; k++) {
            memcpy(Wb + k * (d + 1), r.W0 + k * d, d * sizeof(double));
            Wb[k * (d + 1) + d] = r.b0[k];
        }
        h = pegr_host_backend_create(&err);
        check(h->ops->set_data(h, Xb, ds.train.y, n, ds.P, d + 1, &err), &err);
        check(h->ops->set_weights(h, Wb, c.m, &err), &err);
        pegr_eval_request req = {.method = c.method == PEGR_METHOD_SAM ? PEGR_METHOD_GD : c.method,
                                 .q = c.q, .lam = c.lam};
        for (size_t t = 0; t < c.steps; t++)
            check(c.method == PEGR_METHOD_SAM ? pegr_backend_sam_step(h, &req, c.lr, c.sam_rho, NULL,
                                                                      &err)
                                              : pegr_backend_step(h, &req, c.lr, &err),
                  &err);
        check(h->ops->get_weights(h, got, &err), &err);
        h->ops->destroy(h);
        for (size_t k = 0; k < cols; k++) {
            assert_memory_equal(got + k * (d + 1), r.W + k * d, d * sizeof(double));
            if (got[k * (d + 1) + d] != r.b[k])
                fail_msg("%s: b[%zu] %.17g by hand %.17g", methods[mi], k, r.b[k], got[k * (d + 1) + d]);
        }
        assert_bias_metrics(&ds, &r, &c, 1e-12);
        free(Xb);
        free(Wb);
        free(got);
        pegr_train_result_free(&r);
        pegr_dataset_free(&ds);
    }
}

static void test_options_and_validation(void **state)
{
    (void)state;
    pegr_error err = {0};
    pegr_train_config c;
    pegr_train_config_default(&c);
    assert_int_equal(c.init, PEGR_INIT_GAUSSIAN);
    assert_int_equal(c.bias, 0);
    check(pegr_train_config_set(&c, "init", "uniform", &err), &err);
    assert_int_equal(c.init, PEGR_INIT_UNIFORM);
    check(pegr_train_config_set(&c, "bias", "1", &err), &err);
    assert_int_equal(c.bias, 1);
    check(pegr_train_config_validate(&c, &err), &err);
    assert_int_equal(pegr_train_config_set(&c, "init", "normal", &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "gaussian|uniform"));
    const pegr_train_option *o = pegr_train_option_find("init");
    assert_non_null(o);
    assert_int_equal(o->type, PEGR_OPTION_CHOICE);
    assert_string_equal(o->column, "init");
    assert_non_null(strstr(o->help, "sigma0")); /* says the uniform init ignores it */
    o = pegr_train_option_find("bias");
    assert_non_null(o);
    assert_int_equal(o->type, PEGR_OPTION_FLAG);
    c.init = 2;
    assert_int_equal(pegr_train_config_validate(&c, &err), PEGR_ERR_INVALID_ARGUMENT);
    c.init = 0;
    c.bias = 3;
    assert_int_equal(pegr_train_config_validate(&c, &err), PEGR_ERR_INVALID_ARGUMENT);
    /* runs with and without a bias train in separate batches (their patches differ in width);
     * the init may differ within one */
    pegr_train_config a, b;
    pegr_train_config_default(&a);
    b = a;
    b.init = PEGR_INIT_UNIFORM;
    assert_true(pegr_train_batchable(&a, &b));
    b.bias = 1;
    assert_false(pegr_train_batchable(&a, &b));
    /* a run's identity in a sweep counts both: a resume with --bias or another --init does not
     * reuse runs (a flag is no grid axis; the init is one) */
    const pegr_method methods[] = {PEGR_METHOD_GD};
    const uint64_t seeds[] = {0};
    char id[4][256];
    for (size_t k = 0; k < 3; k++) {
        pegr_train_config base = support_tiny("gd", 10);
        base.bias = k == 1;
        base.init = k == 2 ? PEGR_INIT_UNIFORM : PEGR_INIT_GAUSSIAN;
        pegr_sweep *s = NULL;
        check(pegr_sweep_create(&base, PEGR_FP64, &s, &err), &err);
        if (k == 0) check(pegr_sweep_add_axis(s, "init=gaussian,uniform", &err), &err);
        check(pegr_sweep_set_methods(s, methods, 1, &err), &err);
        check(pegr_sweep_set_seeds(s, seeds, 1, &err), &err);
        check(pegr_sweep_check(s, &err), &err);
        check(pegr_sweep_run_id(s, 0, id[k], sizeof id[k], &err), &err);
        if (k == 0) check(pegr_sweep_run_id(s, 1, id[3], sizeof id[3], &err), &err);
        pegr_sweep_free(s);
    }
    /* ids end in the configuration's fingerprint: compare those */
    for (size_t k = 0; k < 4; k++)
        for (size_t l = k + 1; l < 4; l++)
            if (k != 2 && l != 2) /* the axis run (3) has the uniform init as run 2 */
                assert_string_not_equal(strrchr(id[k], '-'), strrchr(id[l], '-'));
    assert_string_equal(strrchr(id[2], '-'), strrchr(id[3], '-'));
}

/* ---- the engine against the host ----------------------------------------------------------- */

static void test_bias_training_device_equals_host(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    const char *methods[] = {"gd", "sgd", "pegr", "gr", "sam"};
    pegr_error err = {0};
    for (size_t mi = 0; mi < 5; mi++)
        for (int span = 0; span < 2; span++) {
            pegr_train_config c = bias_config(methods[mi], 25, (int)((mi + (size_t)span) % 2));
            c.batch = 5;
            c.representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
            pegr_dataset ds;
            check(pegr_data_generate(&c.data, &ds, &err), &err);
            pegr_train_result rh, rd;
            pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
            check(pegr_train_run(h, &ds, &c, NULL, &rh, &err), &err);
            h->ops->destroy(h);
            pegr_backend *e = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
            check(pegr_train_run(e, &ds, &c, NULL, &rd, &err), &err);
            e->ops->destroy(e);
            assert_int_equal(rd.span, span);
            size_t count = 2 * c.m * c.data.d, cols = 2 * c.m;
            if (prec == PEGR_FP64) {
                support_assert_same_records(&rd, &rh, PEGR_TOL_FP64_TRAIN);
                assert_true(support_rel_err(rd.W, rh.W, count) < PEGR_TOL_FP64_TRAIN);
                assert_true(support_rel_err(rd.b, rh.b, cols) < PEGR_TOL_FP64_TRAIN);
                for (size_t k = 0; k < c.n_robust; k++)
                    assert_true(rd.robust_error[k] == rh.robust_error[k]);
                assert_bias_metrics(&ds, &rd, &c, 1e-9);
            } else {
                support_assert_close_records(&rd, &rh, PEGR_TOL_FP32_TRAIN,
                                             pegr_tol_rate(prec, c.data.n_test));
                assert_true(support_rel_err(rd.b, rh.b, cols) < PEGR_TOL_FP32_TRAIN);
            }
            pegr_train_result_free(&rh);
            pegr_train_result_free(&rd);
            pegr_dataset_free(&ds);
        }
}

/* Three runs with a bias (their own seeds, inits and learning rates) batched on the engine, each
 * against itself alone. */
static void test_batched_bias_runs_equal_each_run_alone(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    enum { RUNS = 3 };
    pegr_error err = {0};
    for (int span = 0; span < 2; span++) {
        pegr_train_config c[RUNS];
        pegr_dataset ds[RUNS];
        pegr_train_result rb[RUNS], ra;
        for (int k = 0; k < RUNS; k++) {
            c[k] = bias_config("pegr", 20, k % 2);
            c[k].data.seed = 30 + (uint64_t)k;
            c[k].lr = 0.1 + 0.1 * k;
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
            double tol = prec == PEGR_FP64 ? 1e-10 : 2e-4;
            support_assert_close_records(&rb[k], &ra, tol, pegr_tol_rate(prec, c[k].data.n_test));
            assert_true(support_rel_err(rb[k].W, ra.W, 2 * c[k].m * c[k].data.d) < tol);
            assert_true(support_rel_err(rb[k].b, ra.b, 2 * c[k].m) < tol);
            assert_true(support_rel_err(rb[k].b0, ra.b0, 2 * c[k].m) == 0.0);
            for (size_t j = 0; j < c[k].n_robust; j++)
                assert_true(fabs(rb[k].robust_error[j] - ra.robust_error[j]) <=
                            pegr_tol_rate(prec, c[k].data.n_test));
            if (prec == PEGR_FP64) assert_bias_metrics(&ds[k], &rb[k], &c[k], 1e-9);
            pegr_train_result_free(&ra);
            pegr_train_result_free(&rb[k]);
            pegr_dataset_free(&ds[k]);
        }
    }
}

/* ---- the command line ------------------------------------------------------------------------- */

/* `pegr train --bias --init uniform` on the host and the device: W.npy (2, m, d) and b.npy (2, m)
 * apart, config.json's options; `--config` repeats the run exactly. */
static void test_cli_bias_uniform_and_rerun(void **state)
{
    (void)state;
    char *out = NULL;
    const char *dev = suite_device ? "--precision fp64" : "--device host";
    if (suite_device && !suite_device->fp64) dev = "--device host";
    int rc = cli_run(&out, "$PEGR train --bias --init uniform --preset tiny --steps 20 %s "
                           "--compare gd,pegr --quiet --out $T/a", dev);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    assert_non_null(strstr(out, "pegr"));
    free(out);
    char *config = cli_read("a/pegr/config.json");
    assert_non_null(strstr(config, "\"init\": \"uniform\""));
    assert_non_null(strstr(config, "\"bias\": true"));
    free(config);
    pegr_array W = {0}, b = {0}, b0 = {0};
    pegr_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/a/pegr/W.npy", cli_tmp());
    check(pegr_npy_read(path, &W, &err), &err);
    snprintf(path, sizeof path, "%s/a/pegr/b.npy", cli_tmp());
    check(pegr_npy_read(path, &b, &err), &err);
    snprintf(path, sizeof path, "%s/a/pegr/b0.npy", cli_tmp());
    check(pegr_npy_read(path, &b0, &err), &err);
    assert_int_equal(W.ndim, 3);
    assert_int_equal(W.shape[2], 200); /* the tiny preset's d: no bias column */
    assert_int_equal(b.ndim, 2);
    assert_int_equal(b.shape[0], 2);
    assert_int_equal(b.shape[1], W.shape[1]);
    for (size_t k = 0; k < 2 * b0.shape[1]; k++)
        assert_true(fabs(b0.data[k]) < 1.0 / sqrt(200.0)); /* U(-1/sqrt(d), 1/sqrt(d)) */
    assert_true(support_rel_err(b.data, b0.data, 2 * b.shape[1]) > 1e-6); /* it learned */
    pegr_array_free(&W);
    pegr_array_free(&b);
    pegr_array_free(&b0);
    /* the re-run from config.json: the same files (metrics.csv but for its clock column) */
    rc = cli_run(&out, "$PEGR train --config $T/a/pegr/config.json %s --quiet --out $T/r && "
                       "cmp $T/a/pegr/W.npy $T/r/W.npy && cmp $T/a/pegr/b.npy $T/r/b.npy && "
                       "cmp $T/a/pegr/b0.npy $T/r/b0.npy && "
                       "cut -d, -f1,3- $T/a/pegr/metrics.csv > $T/m1 && "
                       "cut -d, -f1,3- $T/r/metrics.csv > $T/m2 && cmp $T/m1 $T/m2", dev);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    /* without --bias: no b.npy (and a re-run over a bias run's directory removes it) */
    rc = cli_run(&out, "$PEGR train --preset tiny --steps 5 --device host --quiet --force "
                       "--out $T/r && test ! -e $T/r/b.npy && test ! -e $T/r/b0.npy");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    rc = cli_run(&out, "$PEGR train --help");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "--bias"));
    assert_non_null(strstr(out, "--init"));
    free(out);
}

static int setup(void **state)
{
    (void)state;
    return cli_setup("pegr-test-bias");
}

static int teardown(void **state)
{
    (void)state;
    return cli_teardown();
}

int main(void)
{
    suite_device = test_device_pick_or_host_only("test_bias", &devices, &ndevices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_init_bounds_moments_and_mapping),
        cmocka_unit_test(test_training_initial_weights),
        cmocka_unit_test(test_perturb_rows_skips_the_bias_coordinate),
        cmocka_unit_test(test_bias_margin_is_the_model),
        cmocka_unit_test(test_bias_gradient_against_finite_differences),
        cmocka_unit_test(test_bias_run_equals_hand_augmented_steps),
        cmocka_unit_test(test_options_and_validation),
        cmocka_unit_test(test_bias_training_device_equals_host),
        cmocka_unit_test(test_batched_bias_runs_equal_each_run_alone),
        cmocka_unit_test_setup_teardown(test_cli_bias_uniform_and_rerun, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

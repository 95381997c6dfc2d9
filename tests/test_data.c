/* test_data.c: the signal-noise data model of data.h -- signal patches, noise geometry, the snr
 * option, label flips, determinism, config validation -- and the initial weights. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pegr/data.h"
#include "util/rng.h"

static pegr_data_config small_config(void)
{
    pegr_data_config c;
    pegr_data_config_default(&c);
    c.n = 40;
    c.n_test = 30;
    c.d = 200;
    c.P = 3;
    c.seed = 11;
    return c;
}

static void generate_ok(const pegr_data_config *c, pegr_dataset *ds)
{
    pegr_error err = {0};
    pegr_status st = pegr_data_generate(c, ds, &err);
    if (st) fail_msg("pegr_data_generate: %s", pegr_error_message(&err));
    pegr_error_clear(&err);
}

static const double *patch(const pegr_dataset *ds, const pegr_split *s, size_t i, size_t p)
{
    return s->X + (i * ds->P + p) * ds->d;
}

static double dot(const double *a, const double *b, size_t d)
{
    double s = 0.0;
    for (size_t k = 0; k < d; k++) s += a[k] * b[k];
    return s;
}

static void test_defaults_match_math_md(void **state)
{
    (void)state;
    pegr_data_config c;
    pegr_data_config_default(&c);
    assert_int_equal(c.n, 50);
    assert_int_equal(c.n_test, 1000);
    assert_int_equal(c.d, 1000);
    assert_int_equal(c.P, 2);
    assert_true(c.mu_norm == 3.0 && c.snr == 0.0 && c.sigma_p == 1.0 && c.label_flip == 0.0);
    assert_int_equal(c.isotropic, 0);
    assert_int_equal(c.flip_test, 0);
    assert_int_equal(c.seed, 0);
    assert_int_equal(pegr_data_config_validate(&c, NULL), PEGR_OK);
}

/* Every split's signal patch is y_clean * mu, bit for bit; mu = mu_norm e_1; labels are +-1. */
static void test_signal_patch_equals_y_clean_mu(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    pegr_dataset ds;
    generate_ok(&c, &ds);
    assert_true(ds.mu[0] == 3.0);
    for (size_t k = 1; k < ds.d; k++) assert_true(ds.mu[k] == 0.0);
    const pegr_split *splits[2] = {&ds.train, &ds.test};
    for (int t = 0; t < 2; t++) {
        const pegr_split *s = splits[t];
        for (size_t i = 0; i < s->n; i++) {
            assert_true(s->y_clean[i] == 1.0 || s->y_clean[i] == -1.0);
            assert_true(s->signal_patch[i] < ds.P);
            const double *x = patch(&ds, s, i, s->signal_patch[i]);
            for (size_t k = 0; k < ds.d; k++) assert_true(x[k] == s->y_clean[i] * ds.mu[k]);
        }
    }
    pegr_dataset_free(&ds);
}

/* max over noise patches of |<xi, mu>| / (||xi|| ||mu||), and the mean squared noise entry. */
static double max_noise_cosine(const pegr_dataset *ds, const pegr_split *s, double *mean_sq)
{
    double worst = 0.0, sq = 0.0;
    size_t count = 0;
    for (size_t i = 0; i < s->n; i++) {
        for (size_t p = 0; p < ds->P; p++) {
            if (p == s->signal_patch[i]) continue;
            const double *xi = patch(ds, s, i, p);
            double c = fabs(dot(xi, ds->mu, ds->d)) / (sqrt(dot(xi, xi, ds->d)) * ds->mu_norm);
            worst = fmax(worst, c);
            sq += dot(xi, xi, ds->d);
            count += ds->d;
        }
    }
    *mean_sq = sq / (double)count;
    return worst;
}

static void test_noise_orthogonal_to_mu_by_default(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.sigma_p = 2.0;
    pegr_dataset ds;
    generate_ok(&c, &ds);
    double msq;
    assert_true(max_noise_cosine(&ds, &ds.train, &msq) < 1e-12);
    assert_true(max_noise_cosine(&ds, &ds.test, &msq) < 1e-12);
    /* Noise scale: (d-1)/d of sigma_p^2 survives the projection; 40*2*200 = 16000 entries give the
     * mean square a relative se of sqrt(2/16000) = 1.1%, bound 5 se = 5.6%. */
    double expect = 4.0 * (double)(c.d - 1) / (double)c.d;
    assert_true(fabs(msq / expect - 1.0) < 0.056);
    pegr_dataset_free(&ds);
}

/* Isotropic noise has a mu component of typical size sigma_p: the largest cosine over 80 patches
 * of d = 200 is ~ 1/sqrt(200) = 0.07, far above the default mode's 1e-12. */
static void test_noise_not_orthogonal_when_isotropic(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.isotropic = 1;
    pegr_dataset ds;
    generate_ok(&c, &ds);
    double msq;
    assert_true(max_noise_cosine(&ds, &ds.train, &msq) > 1e-3);
    pegr_dataset_free(&ds);
}

static void test_snr_sets_mu_norm(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.snr = 0.25;
    c.sigma_p = 2.0;
    c.mu_norm = 99.0; /* ignored: snr > 0 wins */
    double expect = 0.25 * 2.0 * sqrt(200.0);
    assert_true(pegr_data_config_mu_norm(&c) == expect);
    pegr_dataset ds;
    generate_ok(&c, &ds);
    assert_true(ds.mu_norm == expect);
    assert_true(ds.mu[0] == expect);
    c.snr = 0.0;
    assert_true(pegr_data_config_mu_norm(&c) == 99.0);
    pegr_dataset_free(&ds);
}

static double flip_rate(const pegr_split *s)
{
    size_t flips = 0;
    for (size_t i = 0; i < s->n; i++) flips += s->y[i] != s->y_clean[i];
    return (double)flips / (double)s->n;
}

/* n = 20000 with p = 0.2: se of the rate = sqrt(0.2 * 0.8 / 20000) = 2.8e-3, bound 5 se = 0.0142.
 * d = 1, P = 1 keeps it cheap (no noise patches). */
static void test_label_flip_rate_near_p(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.n = 20000;
    c.n_test = 0;
    c.d = 1;
    c.P = 1;
    c.label_flip = 0.2;
    pegr_dataset ds;
    generate_ok(&c, &ds);
    assert_true(fabs(flip_rate(&ds.train) - 0.2) < 0.0142);
    for (size_t i = 0; i < ds.train.n; i++)
        assert_true(ds.train.y[i] == 1.0 || ds.train.y[i] == -1.0);
    pegr_dataset_free(&ds);
}

static void test_no_flips_when_p_zero(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.n = 20000;
    c.d = 1;
    c.P = 1;
    c.label_flip = 0.0;
    c.flip_test = 1;
    pegr_dataset ds;
    generate_ok(&c, &ds);
    assert_true(flip_rate(&ds.train) == 0.0);
    assert_true(flip_rate(&ds.test) == 0.0);
    pegr_dataset_free(&ds);
}

/* p = 0.3, n_test = 20000: without flip_test no test label flips; with it the rate is within
 * 5 se = 5 sqrt(0.21 / 20000) = 0.0162 of p; the train split and clean test labels do not move. */
static void test_test_split_unflipped_unless_flip_test(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.n_test = 20000;
    c.d = 1;
    c.P = 1;
    c.label_flip = 0.3;
    pegr_dataset a, b;
    generate_ok(&c, &a);
    c.flip_test = 1;
    generate_ok(&c, &b);
    assert_true(flip_rate(&a.test) == 0.0);
    assert_true(fabs(flip_rate(&b.test) - 0.3) < 0.0162);
    assert_memory_equal(a.test.y_clean, b.test.y_clean, a.test.n * sizeof(double));
    assert_memory_equal(a.train.y, b.train.y, a.train.n * sizeof(double));
    pegr_dataset_free(&a);
    pegr_dataset_free(&b);
}

/* The signal position is uniform over P = 4 patches: each count of 20000 is within 5 se
 * (sqrt(20000 * 0.25 * 0.75) = 61, bound 306) of 5000. */
static void test_signal_position_uniform(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.n = 20000;
    c.n_test = 0;
    c.d = 1;
    c.P = 4;
    pegr_dataset ds;
    generate_ok(&c, &ds);
    size_t count[4] = {0}, pos = 0;
    for (size_t i = 0; i < ds.train.n; i++) count[ds.train.signal_patch[i]]++;
    for (size_t i = 0; i < ds.train.n; i++) pos += ds.train.y_clean[i] > 0;
    for (int p = 0; p < 4; p++) assert_true(labs((long)count[p] - 5000) < 306);
    /* And the labels are balanced: 5 se = 5 sqrt(20000 / 4) = 354 around 10000. */
    assert_true(labs((long)pos - 10000) < 354);
    pegr_dataset_free(&ds);
}

static void assert_same_split(const pegr_split *a, const pegr_split *b, size_t P, size_t d)
{
    assert_int_equal(a->n, b->n);
    if (a->n == 0) return;
    assert_memory_equal(a->X, b->X, a->n * P * d * sizeof(double));
    assert_memory_equal(a->y, b->y, a->n * sizeof(double));
    assert_memory_equal(a->y_clean, b->y_clean, a->n * sizeof(double));
    assert_memory_equal(a->signal_patch, b->signal_patch, a->n * sizeof(size_t));
}

static void test_same_seed_bit_identical(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.label_flip = 0.1;
    c.flip_test = 1;
    pegr_dataset a, b;
    generate_ok(&c, &a);
    generate_ok(&c, &b);
    assert_memory_equal(a.mu, b.mu, a.d * sizeof(double));
    assert_same_split(&a.train, &b.train, a.P, a.d);
    assert_same_split(&a.test, &b.test, a.P, a.d);
    pegr_dataset_free(&a);
    pegr_dataset_free(&b);
}

/* Values are addressed by (stream, index), so a smaller n is an exact prefix of a larger one. */
static void test_smaller_n_is_prefix(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    pegr_dataset a, b;
    generate_ok(&c, &a);
    c.n = 17;
    c.n_test = 0;
    generate_ok(&c, &b);
    assert_memory_equal(a.train.X, b.train.X, 17 * c.P * c.d * sizeof(double));
    assert_memory_equal(a.train.y, b.train.y, 17 * sizeof(double));
    assert_null(b.test.X);
    assert_int_equal(b.test.n, 0);
    pegr_dataset_free(&a);
    pegr_dataset_free(&b);
}

static void test_different_seed_differs(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    pegr_dataset a, b;
    generate_ok(&c, &a);
    c.seed += 1;
    generate_ok(&c, &b);
    size_t n_x = a.train.n * a.P * a.d, same = 0;
    for (size_t j = 0; j < n_x; j++) same += a.train.X[j] == b.train.X[j];
    /* Only coordinates that are deterministic coincide: coordinate 0 of noise patches (projected to
     * 0) and signal coordinates that happen to agree; far below half. */
    assert_true(same < n_x / 2);
    assert_true(memcmp(a.train.y_clean, b.train.y_clean, a.train.n * sizeof(double)) != 0);
    assert_true(memcmp(a.test.X, b.test.X, a.test.n * a.P * a.d * sizeof(double)) != 0);
    pegr_dataset_free(&a);
    pegr_dataset_free(&b);
}

/* One bad option: validation and generation both fail with INVALID_ARGUMENT naming it, and the
 * output dataset is left empty. */
static void expect_invalid(const pegr_data_config *c, const char *named)
{
    pegr_error err = {0};
    assert_int_equal(pegr_data_config_validate(c, &err), PEGR_ERR_INVALID_ARGUMENT);
    if (!strstr(pegr_error_message(&err), named))
        fail_msg("message '%s' does not name '%s'", pegr_error_message(&err), named);
    pegr_dataset ds;
    memset(&ds, 0xff, sizeof ds);
    assert_int_equal(pegr_data_generate(c, &ds, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_null(ds.mu);
    assert_null(ds.train.X);
    assert_int_equal(ds.train.n, 0);
    pegr_error_clear(&err);
}

static void test_validation_names_bad_option(void **state)
{
    (void)state;
    const pegr_data_config base = small_config();
    pegr_data_config c;
#define BAD(field, value, named)                                                                   \
    do {                                                                                           \
        c = base;                                                                                  \
        c.field = value;                                                                           \
        expect_invalid(&c, named);                                                                 \
    } while (0)
    BAD(n, 0, "'n' = 0");
    BAD(d, 0, "'d' = 0");
    BAD(P, 0, "'P' = 0");
    BAD(sigma_p, -1.0, "'sigma_p' = -1");
    BAD(sigma_p, NAN, "'sigma_p'");
    BAD(mu_norm, -0.5, "'mu_norm' = -0.5");
    BAD(mu_norm, INFINITY, "'mu_norm' = inf");
    BAD(snr, -2.0, "'snr' = -2");
    BAD(snr, NAN, "'snr'");
    BAD(snr, 1e308, "'snr' = 1e+308");
    BAD(label_flip, 0.6, "'label_flip' = 0.6");
    BAD(label_flip, -0.1, "'label_flip' = -0.1");
    BAD(label_flip, NAN, "'label_flip'");
    BAD(isotropic, 2, "'isotropic' = 2");
    BAD(flip_test, -1, "'flip_test' = -1");
    BAD(n, SIZE_MAX / 4, "n*P*d");
    BAD(n_test, SIZE_MAX / 8, "n_test*P*d");
    BAD(d, SIZE_MAX / 2, "n*P*d");
#undef BAD
    pegr_error err = {0};
    assert_int_equal(pegr_data_config_validate(NULL, &err), PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
    assert_int_equal(pegr_data_generate(&base, NULL, NULL), PEGR_ERR_INVALID_ARGUMENT);
}

/* The edges that are allowed: n_test 0, label_flip 0.5, sigma_p 0 (noise-free), mu_norm 0. */
static void test_edge_values_accepted(void **state)
{
    (void)state;
    pegr_data_config c = small_config();
    c.n_test = 0;
    c.label_flip = 0.5;
    c.sigma_p = 0.0;
    pegr_dataset ds;
    generate_ok(&c, &ds);
    assert_null(ds.test.X);
    for (size_t j = 0; j < ds.train.n * ds.P * ds.d; j++) assert_true(fabs(ds.train.X[j]) <= 3.0);
    pegr_dataset_free(&ds);
    c = small_config();
    c.mu_norm = 0.0;
    generate_ok(&c, &ds);
    assert_true(ds.mu[0] == 0.0);
    pegr_dataset_free(&ds);
    pegr_dataset_free(&ds); /* a second free of a zeroed dataset is harmless */
    pegr_dataset_free(NULL);
}

/* m = 50, d = 1000: 1e5 entries. The sample std's relative se is sqrt(1 / (2 * 1e5)) = 2.2e-3,
 * bound 5 se = 1.1%; the mean is within 5 se = 5 sigma0 / sqrt(1e5) of 0. Same seed: same bits;
 * another seed: different. W[j, r, k] is entry (j*m + r)*d + k of the INIT_WEIGHTS stream. */
static void test_init_weights_std_and_determinism(void **state)
{
    (void)state;
    enum { M = 50, D = 1000, N = 2 * M * D };
    const double sigma0 = 0.01;
    double *w = malloc(N * sizeof *w), *w2 = malloc(N * sizeof *w2);
    assert_non_null(w);
    assert_non_null(w2);
    assert_int_equal(pegr_init_weights(9, M, D, sigma0, w, NULL), PEGR_OK);
    double sum = 0.0, sum2 = 0.0;
    for (size_t j = 0; j < N; j++) sum += w[j];
    double mean = sum / N;
    for (size_t j = 0; j < N; j++) sum2 += (w[j] - mean) * (w[j] - mean);
    double sd = sqrt(sum2 / (N - 1));
    assert_true(fabs(sd / sigma0 - 1.0) < 0.011);
    assert_true(fabs(mean) < 5.0 * sigma0 / sqrt((double)N));
    assert_int_equal(pegr_init_weights(9, M, D, sigma0, w2, NULL), PEGR_OK);
    assert_memory_equal(w, w2, N * sizeof *w);
    assert_true(w[(1 * M + 3) * D + 7] == sigma0 * pegr_rng_normal(9, PEGR_STREAM_INIT_WEIGHTS,
                                                                    (1 * M + 3) * D + 7));
    assert_int_equal(pegr_init_weights(10, M, D, sigma0, w2, NULL), PEGR_OK);
    assert_true(memcmp(w, w2, N * sizeof *w) != 0);
    free(w);
    free(w2);
}

static void test_init_weights_rejects_bad_arguments(void **state)
{
    (void)state;
    double w[4];
    pegr_error err = {0};
    assert_int_equal(pegr_init_weights(0, 1, 2, -1.0, w, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "'sigma0' = -1"));
    assert_int_equal(pegr_init_weights(0, 1, 2, NAN, w, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(pegr_init_weights(0, 0, 2, 0.1, w, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "m = 0"));
    assert_int_equal(pegr_init_weights(0, 1, 0, 0.1, w, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(pegr_init_weights(0, SIZE_MAX / 2, 2, 0.1, w, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "overflows"));
    assert_int_equal(pegr_init_weights(0, 1, 2, 0.1, NULL, &err), PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_math_md),
        cmocka_unit_test(test_signal_patch_equals_y_clean_mu),
        cmocka_unit_test(test_noise_orthogonal_to_mu_by_default),
        cmocka_unit_test(test_noise_not_orthogonal_when_isotropic),
        cmocka_unit_test(test_snr_sets_mu_norm),
        cmocka_unit_test(test_label_flip_rate_near_p),
        cmocka_unit_test(test_no_flips_when_p_zero),
        cmocka_unit_test(test_test_split_unflipped_unless_flip_test),
        cmocka_unit_test(test_signal_position_uniform),
        cmocka_unit_test(test_same_seed_bit_identical),
        cmocka_unit_test(test_smaller_n_is_prefix),
        cmocka_unit_test(test_different_seed_differs),
        cmocka_unit_test(test_validation_names_bad_option),
        cmocka_unit_test(test_edge_values_accepted),
        cmocka_unit_test(test_init_weights_std_and_determinism),
        cmocka_unit_test(test_init_weights_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

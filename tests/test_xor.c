/* test_xor.c: the XOR data model (issue 16 item 2; Meng, Zou, Cao 2023; docs/math.md, "XOR data
 * model"): the generated data obey the definition and data.h's stream mapping (signal patches
 * exactly +-(a+b) / +-(a-b) by clean label, noise orthogonal to a and b, plausible sign, position and
 * flip frequencies, prefix and repeat properties), signal-noise data bit-identical to the code
 * before the XOR model (hashes recorded from it), what is refused; gamma on hand-built weights
 * against a direct computation on the host and the device; engine against host over short
 * trainings (gd and pegr, q = 1, primal and span) and a batch of seeds against each run alone; a
 * sweep's run identity; and `pegr data|train --data xor` end to end (with a --config re-run). On the main before this item
 * --data was an unknown option and pegr_data_config had no model. */
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
#include "util/hash.h"
#include "util/rng.h"

static pegr_device_info *devices;
static size_t ndevices;
static pegr_device_info *suite_device; /* NULL: no device, the device halves skip */

static void check(pegr_status s, const pegr_error *err)
{
    if (s != PEGR_OK) fail_msg("%s", pegr_error_message(err));
}

static pegr_data_config xor_config(size_t n, size_t n_test, size_t d, size_t P, double a, double b)
{
    pegr_data_config c;
    pegr_data_config_default(&c);
    c.model = PEGR_DATA_XOR;
    c.n = n;
    c.n_test = n_test;
    c.d = d;
    c.P = P;
    c.xor_a_norm = a;
    c.xor_b_norm = b;
    return c;
}

/* ---- the data ------------------------------------------------------------------------------- */

/* One split against the definition and data.h's mapping; counts the signs and positions. */
static void check_split(const pegr_data_config *c, const pegr_split *s, int test, size_t *plus_sign,
                        size_t *pos_count, size_t *flips)
{
    size_t P = c->P, d = c->d;
    uint32_t labels = test ? PEGR_STREAM_TEST_LABELS : PEGR_STREAM_TRAIN_LABELS;
    uint32_t posst = test ? PEGR_STREAM_TEST_SIGNAL_POS : PEGR_STREAM_TRAIN_SIGNAL_POS;
    uint32_t noise = test ? PEGR_STREAM_TEST_NOISE : PEGR_STREAM_TRAIN_NOISE;
    uint32_t signst = test ? PEGR_STREAM_TEST_XOR_SIGN : PEGR_STREAM_TRAIN_XOR_SIGN;
    for (size_t i = 0; i < s->n; i++) {
        double yc = pegr_rng_uniform(c->seed, labels, i) < 0.5 ? 1.0 : -1.0;
        assert_true(s->y_clean[i] == yc);
        size_t sig = (size_t)floor(pegr_rng_uniform(c->seed, posst, i) * (double)P);
        assert_int_equal(s->signal_patch[i], sig < P ? sig : P - 1);
        pos_count[s->signal_patch[i]]++;
        *flips += s->y[i] != s->y_clean[i];
        double sign = pegr_rng_uniform(c->seed, signst, i) < 0.5 ? 1.0 : -1.0;
        *plus_sign += sign > 0;
        for (size_t p = 0; p < P; p++) {
            const double *x = s->X + (i * P + p) * d;
            if (p == s->signal_patch[i]) { /* exactly sign * (a + b) or sign * (a - b) */
                assert_true(x[0] == sign * c->xor_a_norm);
                assert_true(x[1] == sign * yc * c->xor_b_norm);
                for (size_t k = 2; k < d; k++) assert_true(x[k] == 0.0);
                continue;
            }
            /* noise: N(0, sigma_p^2) from the noise stream at its flat position, a and b
             * projected out (coordinates 0 and 1 exactly 0 unless isotropic) */
            for (size_t k = 0; k < d; k++) {
                double z = c->sigma_p * pegr_rng_normal(c->seed, noise, (i * P + p) * d + k);
                if (!c->isotropic && k < 2) z = 0.0;
                assert_true(x[k] == z);
            }
            if (!c->isotropic) {
                assert_true(fabs(x[0] * c->xor_a_norm) < 1e-12);
                assert_true(fabs(x[1] * c->xor_b_norm) < 1e-12);
            }
        }
    }
}

static void test_xor_data_obey_the_definition(void **state)
{
    (void)state;
    for (int iso = 0; iso < 2; iso++) {
        pegr_data_config c = xor_config(600, 400, 7, 3, 2.0, 0.5);
        c.isotropic = iso;
        c.label_flip = 0.1;
        c.seed = 11;
        pegr_dataset ds = {0};
        pegr_error err = {0};
        check(pegr_data_generate(&c, &ds, &err), &err);
        assert_int_equal(ds.n_signal, 2);
        assert_true(ds.mu_norm == hypot(2.0, 0.5));
        const double up[7] = {2.0, 0.5}, um[7] = {2.0, -0.5};
        assert_memory_equal(ds.mu, up, sizeof up);
        assert_memory_equal(ds.mu + 7, um, sizeof um);
        size_t plus = 0, pos[3] = {0}, flips = 0, test_flips = 0;
        check_split(&c, &ds.train, 0, &plus, pos, &flips);
        check_split(&c, &ds.test, 1, &plus, pos, &test_flips);
        /* 1000 draws: a fair coin is within 0.5 +- 0.06 (4 standard deviations); positions
         * 1/3 +- 0.06; 600 flips at 0.1 within 0.1 +- 0.05; test labels are not flipped */
        assert_true(fabs((double)plus / 1000.0 - 0.5) < 0.06);
        for (int p = 0; p < 3; p++) assert_true(fabs((double)pos[p] / 1000.0 - 1.0 / 3.0) < 0.06);
        assert_true(fabs((double)flips / 600.0 - 0.1) < 0.05);
        assert_int_equal(test_flips, 0);
        /* both classes and both signs of each occur */
        size_t kinds[4] = {0};
        for (size_t i = 0; i < ds.train.n; i++) {
            const double *x = ds.train.X + (i * 3 + ds.train.signal_patch[i]) * 7;
            kinds[(x[0] > 0) * 2 + (ds.train.y_clean[i] > 0)]++;
        }
        for (int k = 0; k < 4; k++) assert_true(kinds[k] > 100);
        pegr_dataset_free(&ds);
    }
}

static void test_xor_data_prefix_and_repeat(void **state)
{
    (void)state;
    pegr_data_config c = xor_config(30, 10, 9, 2, 1.5, 1.0), c2 = c;
    c2.n = 50;
    c2.n_test = 25;
    pegr_dataset a = {0}, b = {0}, big = {0};
    pegr_error err = {0};
    check(pegr_data_generate(&c, &a, &err), &err);
    check(pegr_data_generate(&c, &b, &err), &err);
    check(pegr_data_generate(&c2, &big, &err), &err);
    const pegr_split *sa[2] = {&a.train, &a.test}, *sb[2] = {&b.train, &b.test},
                     *sg[2] = {&big.train, &big.test};
    for (int k = 0; k < 2; k++) {
        size_t n = sa[k]->n;
        assert_memory_equal(sa[k]->X, sb[k]->X, n * 2 * 9 * sizeof(double));
        assert_memory_equal(sa[k]->y, sb[k]->y, n * sizeof(double));
        assert_memory_equal(sa[k]->X, sg[k]->X, n * 2 * 9 * sizeof(double));
        assert_memory_equal(sa[k]->y, sg[k]->y, n * sizeof(double));
        assert_memory_equal(sa[k]->signal_patch, sg[k]->signal_patch, n * sizeof(size_t));
    }
    pegr_dataset_free(&a);
    pegr_dataset_free(&b);
    pegr_dataset_free(&big);
}

/* The hash of every array of a generated dataset, as recorded from the code before the XOR
 * model (pegr_hash over X, y, y_clean, signal_patch as uint64 per split, then mu). */
static void dataset_hash(const pegr_data_config *c, char hex[33])
{
    pegr_dataset ds = {0};
    pegr_error err = {0};
    check(pegr_data_generate(c, &ds, &err), &err);
    pegr_hash h;
    pegr_hash_init(&h);
    const pegr_split *sp[2] = {&ds.train, &ds.test};
    for (int s = 0; s < 2; s++) {
        size_t n = sp[s]->n;
        if (!n) continue;
        pegr_hash_bytes(&h, sp[s]->X, n * ds.P * ds.d * sizeof(double));
        pegr_hash_bytes(&h, sp[s]->y, n * sizeof(double));
        pegr_hash_bytes(&h, sp[s]->y_clean, n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            uint64_t v = sp[s]->signal_patch[i];
            pegr_hash_bytes(&h, &v, sizeof v);
        }
    }
    pegr_hash_bytes(&h, ds.mu, ds.d * sizeof(double));
    assert_int_equal(ds.n_signal, 1);
    pegr_hash_hex(&h, hex);
    pegr_dataset_free(&ds);
}

static void test_signal_noise_data_unchanged(void **state)
{
    (void)state;
    char hex[33];
    pegr_data_config c;
    pegr_data_config_default(&c);
    c.n = 20, c.n_test = 10, c.d = 50, c.P = 3;
    dataset_hash(&c, hex);
    assert_string_equal(hex, "64571cd2457a043a98b63baf507e2f2e");
    pegr_data_config_default(&c);
    c.n = 13, c.n_test = 5, c.d = 17, c.P = 3, c.label_flip = 0.2, c.flip_test = 1, c.seed = 7;
    dataset_hash(&c, hex);
    assert_string_equal(hex, "3ea9cbddf28812f887b72dc5ce8d10b0");
    pegr_data_config_default(&c);
    c.n = 11, c.n_test = 4, c.d = 9, c.isotropic = 1, c.snr = 0.5, c.seed = 3;
    dataset_hash(&c, hex);
    assert_string_equal(hex, "89090c3490c65c55bd70c9d9f32fc88b");
    /* the XOR options do not touch the signal-noise model */
    c.xor_a_norm = 7.0;
    c.xor_b_norm = 0.0;
    dataset_hash(&c, hex);
    assert_string_equal(hex, "89090c3490c65c55bd70c9d9f32fc88b");
}

static void expect_refused(const pegr_data_config *c, const char *word)
{
    pegr_error err = {0};
    assert_int_equal(pegr_data_config_validate(c, &err), PEGR_ERR_INVALID_ARGUMENT);
    if (!strstr(pegr_error_message(&err), word))
        fail_msg("'%s' does not name '%s'", pegr_error_message(&err), word);
    pegr_error_clear(&err);
}

static void test_what_xor_refuses(void **state)
{
    (void)state;
    pegr_data_config c = xor_config(10, 5, 1, 2, 1.0, 1.0);
    expect_refused(&c, "d must be >= 2");
    c = xor_config(10, 5, 4, 2, 1.0, 1.0);
    c.snr = 0.5;
    expect_refused(&c, "snr");
    c = xor_config(10, 5, 4, 2, -1.0, 1.0);
    expect_refused(&c, "xor_a_norm");
    c = xor_config(10, 5, 4, 2, 1.0, NAN);
    expect_refused(&c, "xor_b_norm");
    c.xor_b_norm = 1.0;
    c.model = 2;
    expect_refused(&c, "'data'");
    /* the option table: --data takes the words, nothing else */
    pegr_train_config t;
    pegr_train_config_default(&t);
    pegr_error err = {0};
    check(pegr_train_config_set(&t, "data", "xor", &err), &err);
    assert_int_equal(t.data.model, PEGR_DATA_XOR);
    check(pegr_train_config_set(&t, "xor-b-norm", "0.25", &err), &err);
    assert_true(t.data.xor_b_norm == 0.25);
    assert_int_equal(pegr_train_config_set(&t, "data", "XOR", &err), PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
    assert_int_equal(pegr_train_config_set(&t, "xor-a-norm", "-1", &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
    assert_int_equal(t.data.model, PEGR_DATA_XOR);
    assert_true(pegr_data_config_mu_norm(&t.data) == hypot(t.data.xor_a_norm, 0.25));
}

/* ---- gamma ---------------------------------------------------------------------------------- */

enum { GN = 6, GP = 2, GD = 5, GM = 3, GCOLS = 2 * GM };

/* gamma on hand-built W, W0 against |<W[j,r] - W0[j,r], u_j>| computed here, on backend b. */
static void gamma_on(pegr_backend *b, double tol)
{
    pegr_data_config c = xor_config(GN, 0, GD, GP, 1.25, 0.75);
    pegr_dataset ds = {0};
    pegr_error err = {0};
    check(pegr_data_generate(&c, &ds, &err), &err);
    double W[GCOLS * GD], W0[GCOLS * GD];
    pegr_rng_fill_normal(3, 1, 0, GCOLS * GD, 1.0, W);
    pegr_rng_fill_normal(4, 1, 0, GCOLS * GD, 1.0, W0);
    check(b->ops->set_data(b, ds.train.X, ds.train.y, GN, GP, GD, &err), &err);
    check(b->ops->set_weights(b, W, GM, &err), &err);
    pegr_reference ref = {.W0 = W0, .mu = ds.mu, .signal_patch = ds.train.signal_patch,
                          .n_signal = 2};
    check(b->ops->set_reference(b, &ref, &err), &err);
    pegr_metrics m;
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = 1.0, .metrics = &m};
    check(b->ops->evaluate(b, &req, &err), &err);
    double want_max[2] = {-INFINITY, -INFINITY}, sum = 0.0;
    for (size_t c2 = 0; c2 < GCOLS; c2++) {
        size_t j = c2 < GM ? 0 : 1;
        const double *u = ds.mu + j * GD; /* u+ for the +1 class's filters, u- for the others */
        double proj = 0.0;
        for (size_t k = 0; k < GD; k++) proj += (W[c2 * GD + k] - W0[c2 * GD + k]) * u[k];
        want_max[j] = fmax(want_max[j], fabs(proj));
        sum += fabs(proj);
    }
    for (int j = 0; j < 2; j++) assert_true(fabs(m.gamma_max[j] - want_max[j]) <= tol * want_max[j]);
    assert_true(fabs(m.gamma_mean - sum / GCOLS) <= tol * sum / GCOLS);
    /* one signal vector (n_signal 1, row u+ alone): the signed c_j <W - W0, mu> of the paper */
    ref.n_signal = 1;
    check(b->ops->set_reference(b, &ref, &err), &err);
    check(b->ops->evaluate(b, &req, &err), &err);
    double proj0 = 0.0;
    for (size_t k = 0; k < GD; k++) proj0 += (W[k] - W0[k]) * ds.mu[k];
    assert_true(m.gamma_max[0] >= proj0 - tol * fabs(proj0));
    ref.n_signal = 3;
    assert_int_equal(b->ops->set_reference(b, &ref, &err), PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
    pegr_dataset_free(&ds);
}

static void test_gamma_on_hand_built_weights(void **state)
{
    (void)state;
    pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
    gamma_on(h, 1e-14);
    h->ops->destroy(h);
    if (!suite_device) return;
    pegr_precision prec = support_check_precision(suite_device);
    pegr_backend *d = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
    gamma_on(d, prec == PEGR_FP64 ? 1e-12 : 1e-5);
    d->ops->destroy(d);
}

/* ---- training ------------------------------------------------------------------------------- */

static pegr_train_config xor_tiny(const char *method, size_t steps)
{
    pegr_train_config c = support_tiny(method, steps);
    c.data.model = PEGR_DATA_XOR;
    c.data.xor_a_norm = 2.0;
    c.data.xor_b_norm = 1.5;
    c.data.label_flip = 0.1;
    c.q = 1.0; /* the paper's ReLU */
    c.sigma0 = 0.01;
    return c;
}

static void test_engine_training_equals_the_host(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    const char *methods[] = {"gd", "pegr"};
    for (int mth = 0; mth < 2; mth++)
        for (int span = 0; span < 2; span++) {
            pegr_train_config c = xor_tiny(methods[mth], 40);
            c.representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
            pegr_train_result rh, rd;
            pegr_backend *h = support_open_backend(NULL, PEGR_FP64, PEGR_GEMM_AUTO);
            support_train(h, &c, &rh);
            h->ops->destroy(h);
            pegr_backend *d = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
            support_train(d, &c, &rd);
            d->ops->destroy(d);
            assert_int_equal(rd.span, span);
            /* gamma moved (the test compares something): the last record's gamma is > 0 */
            assert_true(pegr_train_result_last(&rh)->metrics.gamma_mean > 1e-6);
            if (prec == PEGR_FP64) support_assert_same_records(&rd, &rh, PEGR_TOL_FP64_TRAIN);
            else support_assert_close_records(&rd, &rh, PEGR_TOL_FP32_TRAIN,
                                              pegr_tol_rate(prec, c.data.n_test));
            pegr_train_result_free(&rh);
            pegr_train_result_free(&rd);
        }
}

static void test_batched_xor_runs_equal_each_run_alone(void **state)
{
    (void)state;
    if (!suite_device) skip();
    pegr_precision prec = support_check_precision(suite_device);
    enum { R = 3 };
    for (int span = 0; span < 2; span++) {
        pegr_train_config c[R];
        pegr_dataset ds[R];
        pegr_train_result rb[R], ra;
        pegr_error err = {0};
        for (int k = 0; k < R; k++) {
            c[k] = xor_tiny("pegr", 30);
            c[k].representation = span ? PEGR_REPRESENTATION_SPAN : PEGR_REPRESENTATION_PRIMAL;
            c[k].data.seed = 20 + (uint64_t)k;
            c[k].data.xor_b_norm = 0.5 + 0.5 * k;
            check(pegr_data_generate(&c[k].data, &ds[k], &err), &err);
        }
        pegr_backend *b = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
        check(pegr_train_run_batch(b, ds, c, R, NULL, rb, &err), &err);
        b->ops->destroy(b);
        for (int k = 0; k < R; k++) {
            pegr_backend *one = support_open_backend(suite_device, prec, PEGR_GEMM_AUTO);
            check(pegr_train_run(one, &ds[k], &c[k], NULL, &ra, &err), &err);
            one->ops->destroy(one);
            support_assert_close_records(&rb[k], &ra, prec == PEGR_FP64 ? 1e-10 : 2e-4,
                                         pegr_tol_rate(prec, c[k].data.n_test));
            pegr_train_result_free(&ra);
            pegr_train_result_free(&rb[k]);
            pegr_dataset_free(&ds[k]);
        }
    }
    /* XOR and signal-noise runs do not share a batch */
    pegr_train_config x = xor_tiny("gd", 10), s = x;
    s.data.model = PEGR_DATA_SIGNAL_NOISE;
    assert_false(pegr_train_batchable(&x, &s));
}

/* A sweep over xor-b-norm: each value is its own run (the run identity has the XOR line); a
 * mu-norm axis with XOR data is refused as the flag is. */
static void test_sweep_identity_and_refusal(void **state)
{
    (void)state;
    pegr_train_config base = xor_tiny("gd", 10);
    pegr_error err = {0};
    const pegr_method methods[] = {PEGR_METHOD_GD};
    const uint64_t seeds[] = {0};
    pegr_sweep *s = NULL;
    check(pegr_sweep_create(&base, PEGR_FP64, &s, &err), &err);
    check(pegr_sweep_add_axis(s, "xor-b-norm=1,2", &err), &err);
    check(pegr_sweep_set_methods(s, methods, 1, &err), &err);
    check(pegr_sweep_set_seeds(s, seeds, 1, &err), &err);
    check(pegr_sweep_check(s, &err), &err);
    char id0[256], id1[256];
    check(pegr_sweep_run_id(s, 0, id0, sizeof id0, &err), &err);
    check(pegr_sweep_run_id(s, 1, id1, sizeof id1, &err), &err);
    assert_string_not_equal(id0, id1);
    pegr_sweep_free(s);
    s = NULL;
    check(pegr_sweep_create(&base, PEGR_FP64, &s, &err), &err);
    check(pegr_sweep_add_axis(s, "mu-norm=1,2", &err), &err);
    check(pegr_sweep_set_methods(s, methods, 1, &err), &err);
    check(pegr_sweep_set_seeds(s, seeds, 1, &err), &err);
    assert_int_equal(pegr_sweep_check(s, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "--xor-a-norm"));
    pegr_error_clear(&err);
    pegr_sweep_free(s);
}

/* ---- the command line ----------------------------------------------------------------------- */

static void test_cli_data_and_train_xor(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR data --data xor --xor-a-norm 2 --xor-b-norm 1 --n 8 --n-test 4 "
                           "--d 6 --out $T/dx");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    char *meta = cli_read("dx/meta.json");
    assert_non_null(strstr(meta, "\"model\": \"xor\""));
    free(meta);
    rc = cli_run(&out, "head -c 128 $T/dx/mu.npy | grep -a -q \"'shape': (2, 6)\"");
    assert_int_equal(rc, 0); /* mu.npy holds u+ and u-: (2, d) */
    free(out);
    rc = cli_run(&out, "$PEGR train --data xor --xor-a-norm 2 --xor-b-norm 1.5 --q 1 --method pegr "
                       "--preset tiny --steps 20 --device host --quiet --out $T/x");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    char *config = cli_read("x/config.json");
    assert_non_null(strstr(config, "\"data\": \"xor\""));
    assert_non_null(strstr(config, "\"xor_b_norm\": 1.5"));
    free(config);
    /* --config repeats the run exactly: the same metrics (but the clock column) and W */
    rc = cli_run(&out, "$PEGR train --config $T/x/config.json --device host --quiet --out $T/x2 && "
                       "cut -d, -f1,3- $T/x/metrics.csv > $T/m1 && cut -d, -f1,3- $T/x2/metrics.csv "
                       "> $T/m2 && cmp $T/m1 $T/m2 && cmp $T/x/W.npy $T/x2/W.npy");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    /* and it is not the signal-noise run of the same flags */
    rc = cli_run(&out, "$PEGR train --xor-a-norm 2 --xor-b-norm 1.5 --q 1 --method pegr "
                       "--preset tiny --steps 20 --device host --quiet --out $T/s && "
                       "cmp -s $T/x/W.npy $T/s/W.npy");
    assert_int_equal(rc, 1);
    free(out);
    const char *refused[][2] = {
        {"--data xor --mu-norm 2", "--xor-a-norm"},
        {"--data xor --snr 0.1", "snr"},
        {"--data xor --d 1", "d must be >= 2"},
        {"--data xnor", "--data"},
    };
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
        rc = cli_run(&out, "$PEGR train %s --preset tiny --steps 2 --device host --quiet --out "
                           "$T/bad", refused[k][0]);
        assert_int_equal(rc, 2);
        if (!strstr(out, refused[k][1])) fail_msg("'%s': %s", refused[k][0], out);
        free(out);
    }
    if (!suite_device) return;
    rc = cli_run(&out, "$PEGR train --data xor --q 1 --method gd --preset tiny --steps 20 "
                       "--device %zu --quiet --out $T/xd", suite_device->index);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
}

static int setup(void **state)
{
    (void)state;
    return cli_setup("pegr-test-xor");
}

static int teardown(void **state)
{
    (void)state;
    return cli_teardown();
}

int main(void)
{
    suite_device = test_device_pick_or_host_only("test_xor", &devices, &ndevices);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_data_obey_the_definition),
        cmocka_unit_test(test_xor_data_prefix_and_repeat),
        cmocka_unit_test(test_signal_noise_data_unchanged),
        cmocka_unit_test(test_what_xor_refuses),
        cmocka_unit_test(test_gamma_on_hand_built_weights),
        cmocka_unit_test(test_engine_training_equals_the_host),
        cmocka_unit_test(test_batched_xor_runs_equal_each_run_alone),
        cmocka_unit_test(test_sweep_identity_and_refusal),
        cmocka_unit_test_setup_teardown(test_cli_data_and_train_xor, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return rc;
}

/* test_robust.c: the robust test on the device (issue 13) -- the device's Philox stream against
 * rng.c (words bit for bit, normals within the bound metrics.cl states for fp32 and 1e-12 for
 * fp64, edge words included), the perturbed test error against the host reference (exactly in
 * fp64, primal and span; in fp32 within the examples whose margin fp32 rounding can flip, a
 * bound computed example by example), each run of a batch against its own seed alone, and every
 * noise level in one launch. Exits 77 (skip) only when no OpenCL device exists. */
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
#include "engine/engine_internal.h"
#include "host/host_ref.h"
#include "util/rng.h"
#include "test_device_pick.h"
#include "train_support.h"

static pegr_device_info *devices;
static size_t ndevices;
/* The device the suite runs on (PEGR_TEST_DEVICE, else the first): test_device_pick. */
static pegr_device_info *suite_device;

static void check(pegr_status s, const pegr_error *err)
{
    if (s != PEGR_OK) fail_msg("%s", pegr_error_message(err));
}

static pegr_backend *open_engine(pegr_precision prec, int profiling)
{
    pegr_context_options copts = {0};
    copts.profiling = profiling;
    pegr_context *ctx = NULL;
    pegr_error err = {0};
    check(pegr_context_create(suite_device, &copts, &ctx, &err), &err);
    pegr_engine_options eopts = {.precision = prec, .gemm = PEGR_GEMM_AUTO};
    pegr_backend *b = pegr_engine_create(ctx, &eopts, &err);
    if (!b) fail_msg("%s", pegr_error_message(&err));
    return b;
}

/* ---- the stream ------------------------------------------------------------------------------ */

/* The fp32 mapping's bound (metrics.cl): |n32 - n64| <= 12 u R + 8 u, R = sqrt(-2 log u1). */
static double fp32_normal_bound(const uint32_t w[4])
{
    const double u = 0x1p-24, R = sqrt(-2.0 * log(pegr_rng_unit(w[0], w[1])));
    return 12.0 * u * R + 8.0 * u;
}

/* Normals from the device's words against rng.c's, to `tol` (fp64) or the fp32 bound (tol 0).
 * Returns the largest error seen. */
static double check_normals(const uint32_t *words, const double *got, size_t count, double tol,
                            const char *what)
{
    double worst = 0;
    for (size_t j = 0; j < count; j++) {
        const uint32_t *w = words + 4 * j;
        double u1 = pegr_rng_unit(w[0], w[1]), u2 = pegr_rng_unit(w[2], w[3]);
        double want = sqrt(-2.0 * log(u1)) * cos(0x1.921fb54442d18p+2 * u2); /* rng.h's formula */
        double err = fabs(got[j] - want), bound = tol > 0 ? tol : fp32_normal_bound(w);
        if (!(err <= bound))
            fail_msg("%s, value %zu (words %08x %08x %08x %08x): device %.17g, rng.c %.17g, "
                     "error %.3g > %.3g",
                     what, j, w[0], w[1], w[2], w[3], got[j], want, err, bound);
        if (err > worst) worst = err;
    }
    return worst;
}

static void stream_matches_rng_c(pegr_precision prec)
{
    pegr_backend *b = open_engine(prec, 0);
    enum { COUNT = 20000 };
    static uint32_t words[4 * COUNT];
    static double normals[COUNT];
    /* seeds with a high word, streams, and a range that crosses 2^32 (the counter's second word) */
    const struct {
        uint64_t seed;
        uint32_t stream;
        uint64_t first;
    } cases[] = {{0, PEGR_STREAM_PERTURB, 0},
                 {7, PEGR_STREAM_PERTURB, 123456789},
                 {0x123456789abcdefULL, PEGR_STREAM_TEST_NOISE, 0xFFFFFFFFULL - COUNT / 2},
                 {UINT64_MAX, 3, UINT64_MAX - COUNT / 3}};
    pegr_error err = {0};
    double worst = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        check(engine_debug_philox(b, cases[c].seed, cases[c].stream, cases[c].first, COUNT, words,
                                  normals, &err), &err);
        for (size_t j = 0; j < COUNT; j++) {
            uint32_t want[4];
            pegr_rng_block(cases[c].seed, cases[c].stream, cases[c].first + j, want);
            if (memcmp(want, words + 4 * j, sizeof want) != 0)
                fail_msg("case %zu, index %zu: the device's Philox block differs from rng.c's", c,
                         j);
        }
        double e = check_normals(words, normals, COUNT, prec == PEGR_FP64 ? 1e-12 : 0,
                                 prec == PEGR_FP64 ? "fp64" : "fp32");
        if (e > worst) worst = e;
        /* and the normals are rng.c's pegr_rng_normal, the very function the host perturbs with */
        for (size_t j = 0; j < COUNT && prec == PEGR_FP64; j++)
            assert_true(fabs(normals[j] - pegr_rng_normal(cases[c].seed, cases[c].stream,
                                                          cases[c].first + j)) <= 1e-12);
    }
    printf("  %s: %d x 4 blocks bit for bit; largest normal error %.3g\n",
           prec == PEGR_FP64 ? "fp64" : "fp32", COUNT, worst);
    b->ops->destroy(b);
}

static void test_philox_stream_fp32(void **state)
{
    (void)state;
    stream_matches_rng_c(PEGR_FP32);
}

static void test_philox_stream_fp64(void **state)
{
    (void)state;
    if (!suite_device->fp64) skip();
    stream_matches_rng_c(PEGR_FP64);
}

/* Words no seed reaches on purpose: u1's integer k1 = 0 (u1 = 2^-54), 1, 2^26 - 1 (below the
 * first word), 2^52 (1/2), 2^53 - 1 (u1 = 1 - 2^-53: -log u1 = 2^-53), around float's rounding
 * of u1 near 1; u2 at 0, 1/4, 1/2 (the shift to v = u2 - 1), 3/4, 1 - 2^-53. */
static void edge_words(uint32_t *w, size_t *count)
{
    const uint64_t k1s[] = {0,
                            1,
                            (1ULL << 26) - 1,
                            1ULL << 26,
                            (1ULL << 27) + 12345,
                            1ULL << 52,
                            (1ULL << 53) - 1,
                            (1ULL << 53) - 2,
                            (1ULL << 53) - (1ULL << 29) - 1,
                            (1ULL << 53) - (1ULL << 29) + 1,
                            (1ULL << 53) - (1ULL << 30) - 7,
                            0x1234567890abcULL};
    const uint64_t k2s[] = {0, 1ULL << 51, (1ULL << 52) - 1, 1ULL << 52, 3ULL << 51,
                            (1ULL << 53) - 1};
    size_t n = 0;
    for (size_t a = 0; a < sizeof k1s / sizeof k1s[0]; a++)
        for (size_t c = 0; c < sizeof k2s / sizeof k2s[0]; c++) {
            /* unit(a, b) = (a >> 5) 2^26 + (b >> 6): put the bits back, low junk bits set */
            w[4 * n + 0] = (uint32_t)((k1s[a] >> 26) << 5) | 0x1f;
            w[4 * n + 1] = (uint32_t)((k1s[a] & ((1u << 26) - 1)) << 6) | 0x3f;
            w[4 * n + 2] = (uint32_t)((k2s[c] >> 26) << 5) | 0x1f;
            w[4 * n + 3] = (uint32_t)((k2s[c] & ((1u << 26) - 1)) << 6) | 0x3f;
            n++;
        }
    *count = n;
}

static void test_normal_mapping_edges(void **state)
{
    (void)state;
    static uint32_t words[4 * 128];
    double normals[128];
    size_t count = 0;
    edge_words(words, &count);
    for (int fp64 = 0; fp64 < 2; fp64++) {
        if (fp64 && !suite_device->fp64) continue;
        pegr_backend *b = open_engine(fp64 ? PEGR_FP64 : PEGR_FP32, 0);
        pegr_error err = {0};
        check(engine_debug_normals(b, words, count, normals, &err), &err);
        check_normals(words, normals, count, fp64 ? 1e-12 : 0, fp64 ? "fp64 edges" : "fp32 edges");
        b->ops->destroy(b);
    }
}

/* ---- the perturbed test error --------------------------------------------------------------- */

enum { N = 12, P = 2, D = 40, M = 3, COLS = 2 * M, NT = 400, NSIG = 5, RUNS = 3 };
static const double sigmas[NSIG] = {0.0, 0.1, 0.5, 1.0, 3.0};

typedef struct problem {
    double X[N * P * D], y[N], W[COLS * D], W0[COLS * D], mu[D];
    size_t signal_patch[N];
    double X_test[NT * P * D], y_test[NT];
} problem;

/* Random data and weights (scaled so that the margins spread on both sides of 0 and the noise
 * levels flip a good share of the decisions), from `seed`. */
static void make_problem(problem *p, uint64_t seed)
{
    pegr_rng_fill_normal(seed, 1, 0, N * P * D, 1.0, p->X);
    pegr_rng_fill_normal(seed, 2, 0, COLS * D, 1.0 / sqrt((double)D), p->W);
    memcpy(p->W0, p->W, sizeof p->W); /* the reference's W0 is the weights set (as in train.c) */
    pegr_rng_fill_normal(seed, 4, 0, D, 0.3, p->mu);
    pegr_rng_fill_normal(seed, 5, 0, NT * P * D, 1.0, p->X_test);
    for (size_t i = 0; i < N; i++) {
        p->y[i] = pegr_rng_uniform(seed, 6, i) < 0.5 ? 1.0 : -1.0;
        p->signal_patch[i] = i % P;
    }
    for (size_t i = 0; i < NT; i++) p->y_test[i] = pegr_rng_uniform(seed, 7, i) < 0.5 ? 1.0 : -1.0;
}

static pegr_reference reference_of(const problem *p)
{
    pegr_reference ref = {p->W0, p->mu, p->signal_patch, p->X_test, p->y_test, NT, .n_signal = 1};
    return ref;
}

/* Rates (NSIG per run) on backend b for runs problems[0 .. runs - 1], seeds[...], set up the way
 * train.c does it: weights W0, the reference, then `steps` gd steps (lr 0.5) so that the weights
 * move (in the span representation: Gam != 0); the final weights into W_out when given. */
static void rates_on(pegr_backend *b, const problem *const *pr, const uint64_t *seeds,
                     size_t runs, int span, int steps, double *rates, double *W_out)
{
    pegr_error err = {0};
    static double X[RUNS * N * P * D], y[RUNS * N], W[RUNS * COLS * D];
    static pegr_reference ref[RUNS];
    for (size_t r = 0; r < runs; r++) {
        memcpy(X + r * N * P * D, pr[r]->X, sizeof pr[r]->X);
        memcpy(y + r * N, pr[r]->y, sizeof pr[r]->y);
        memcpy(W + r * COLS * D, pr[r]->W, sizeof pr[r]->W);
        ref[r] = reference_of(pr[r]);
    }
    if (runs > 1) check(b->ops->set_runs(b, runs, &err), &err);
    check(b->ops->set_data(b, X, y, N, P, D, &err), &err);
    if (b->ops->set_representation) check(b->ops->set_representation(b, span, &err), &err);
    check(b->ops->set_weights(b, W, M, &err), &err);
    check(b->ops->set_reference(b, ref, &err), &err);
    pegr_eval_request gd = {.method = PEGR_METHOD_GD, .q = 3.0};
    for (int t = 0; t < steps; t++) check(b->ops->step(b, &gd, 0.5, &err), &err);
    if (W_out) check(b->ops->get_weights(b, W_out, &err), &err);
    check(b->ops->perturbed_test_error(b, 3.0, sigmas, NSIG, seeds, rates, &err), &err);
}

/* The host's margins y f at each sigma, and for fp32 the size of the error fp32 rounding can
 * put into each (first-order, every step bounded):
 *   z = <w_c, x> + sigma <w_c, n>: both dot products of length d with inputs rounded to float,
 *   |dz| <= g_{d+2} (sum |x_k w_k| + sigma sum |n_k w_k|) + sigma sum |dn_k| |w_k| + u |z|,
 *   g_k = k u / (1 - k u), |dn_k| the normal's bound (12 u R + 8 u <= 113 u);
 *   f = sum_{p,c} +-s(z), s(z) = max(z, 0)^q: |df| <= sum q (|z| + dz)^(q-1) dz + the sum's
 *   rounding g_{2mP+q} sum s(|z| + dz).
 * An example whose |y f| is within that of 0 may be decided either way on the device. */
static void host_margins(const problem *p, const double *Wt, uint64_t seed, double sigma,
                         double *yf, double *slack)
{
    const double u = 0x1p-24, q = 3.0;
    const double gd = (D + 2) * u / (1 - (D + 2) * u), gf = (COLS * P + q) * u;
    for (size_t i = 0; i < NT; i++) {
        double f = 0, df = 0, ssum = 0;
        for (size_t pp = 0; pp < P; pp++) {
            size_t row = i * P + pp;
            for (size_t c = 0; c < COLS; c++) {
                double z = 0, ax = 0, an = 0, dn = 0;
                for (size_t k = 0; k < D; k++) {
                    double n = pegr_rng_normal(seed, PEGR_STREAM_PERTURB, row * D + k);
                    double w = Wt[c * D + k], x = p->X_test[row * D + k];
                    z += (x + sigma * n) * w;
                    ax += fabs(x * w);
                    an += fabs(n * w);
                    dn += 113 * u * fabs(w);
                }
                double dz = gd * (ax + sigma * an) + sigma * dn + u * fabs(z);
                double s = z > 0 ? z * z * z : 0, top = fabs(z) + dz;
                f += c < M ? s : -s;
                df += q * top * top * dz;
                ssum += top * top * top;
            }
        }
        yf[i] = p->y_test[i] * f;
        slack[i] = df + gf * ssum;
    }
}

static void host_rates(const problem *p, uint64_t seed, int steps, double *rates, double *W_out)
{
    pegr_backend *h = pegr_host_backend_create(NULL);
    rates_on(h, &p, &seed, 1, 0, steps, rates, W_out);
    h->ops->destroy(h);
}

static void test_perturbed_error_fp64_equals_host(void **state)
{
    (void)state;
    if (!suite_device->fp64) skip();
    static problem p;
    for (uint64_t seed = 0; seed < 3; seed++) {
        make_problem(&p, 100 + seed);
        double want[NSIG], got[NSIG];
        static double Wt[COLS * D];
        const int steps = 3;
        host_rates(&p, seed * 1000003, steps, want, Wt);
        /* exactness is guaranteed where no margin lies within fp64 rounding (~1e-13) of 0 */
        static double yf[NT], slack[NT];
        for (size_t j = 0; j < NSIG; j++) {
            host_margins(&p, Wt, seed * 1000003, sigmas[j], yf, slack);
            for (size_t i = 0; i < NT; i++) assert_true(fabs(yf[i]) > 1e-9);
        }
        for (int span = 0; span < 2; span++) {
            pegr_backend *b = open_engine(PEGR_FP64, 0);
            const problem *pp = &p;
            uint64_t s = seed * 1000003;
            rates_on(b, &pp, &s, 1, span, steps, got, NULL);
            b->ops->destroy(b);
            for (size_t j = 0; j < NSIG; j++)
                if (got[j] != want[j])
                    fail_msg("seed %llu, sigma %g, %s: device %.17g, host %.17g",
                             (unsigned long long)s, sigmas[j], span ? "span" : "primal", got[j],
                             want[j]);
        }
        /* not a vacuous comparison: the noise changes decisions */
        assert_true(want[NSIG - 1] != want[0]);
    }
}

static void test_perturbed_error_fp32_within_flippable(void **state)
{
    (void)state;
    static problem p;
    static double yf[NT], slack[NT];
    for (uint64_t seed = 0; seed < 3; seed++) {
        make_problem(&p, 200 + seed);
        double want[NSIG], got[NSIG];
        uint64_t s = 77 + seed;
        host_rates(&p, s, 0, want, NULL);
        pegr_backend *b = open_engine(PEGR_FP32, 0);
        const problem *pp = &p;
        rates_on(b, &pp, &s, 1, 0, 0, got, NULL);
        b->ops->destroy(b);
        for (size_t j = 0; j < NSIG; j++) {
            host_margins(&p, p.W, s, sigmas[j], yf, slack);
            size_t flippable = 0, wrong = 0;
            for (size_t i = 0; i < NT; i++) {
                flippable += fabs(yf[i]) <= slack[i];
                wrong += yf[i] <= 0;
            }
            /* the host's own rate from its margins: the reference we compare with */
            assert_true(fabs((double)wrong / NT - want[j]) < 0.5 / NT);
            double diff = fabs(got[j] - want[j]) * NT;
            if (!(diff <= (double)flippable + 1e-6))
                fail_msg("seed %llu, sigma %g: device %.6f, host %.6f: %.0f decisions differ, "
                         "only %zu margins are within fp32 rounding of 0",
                         (unsigned long long)s, sigmas[j], got[j], want[j], diff, flippable);
            assert_true(flippable <= NT / 20); /* the bound is not vacuous */
        }
    }
}

/* Each run of a batch gets its own seed's result: equal (fp64) to the run alone on the host and
 * on the engine; the runs differ from each other. */
static void test_batched_runs_each_their_own_seed(void **state)
{
    (void)state;
    pegr_precision prec = suite_device->fp64 ? PEGR_FP64 : PEGR_FP32;
    static problem pr[RUNS];
    const problem *pp[RUNS];
    uint64_t seeds[RUNS] = {5, 0x100000005ULL, 987654321};
    for (size_t r = 0; r < RUNS; r++) {
        make_problem(&pr[r], 300 + r);
        pp[r] = &pr[r];
    }
    double batched[RUNS * NSIG];
    pegr_backend *b = open_engine(prec, 0);
    rates_on(b, pp, seeds, RUNS, 0, 2, batched, NULL);
    b->ops->destroy(b);
    for (size_t r = 0; r < RUNS; r++) {
        double alone[NSIG], host[NSIG];
        pegr_backend *e = open_engine(prec, 0);
        rates_on(e, &pp[r], &seeds[r], 1, 0, 2, alone, NULL);
        e->ops->destroy(e);
        host_rates(&pr[r], seeds[r], 2, host, NULL);
        for (size_t j = 0; j < NSIG; j++) {
            if (batched[r * NSIG + j] != alone[j])
                fail_msg("run %zu, sigma %g: batched %.17g, alone %.17g", r, sigmas[j],
                         batched[r * NSIG + j], alone[j]);
            if (prec == PEGR_FP64 && batched[r * NSIG + j] != host[j])
                fail_msg("run %zu, sigma %g: batched %.17g, host %.17g", r, sigmas[j],
                         batched[r * NSIG + j], host[j]);
        }
    }
    /* a batch that used run 0's seed everywhere would give the same rates to the same data:
     * the same problem under two seeds gives different rates */
    double a[NSIG], c[NSIG];
    uint64_t s0 = 1, s1 = 2;
    pegr_backend *e = open_engine(prec, 0);
    rates_on(e, &pp[0], &s0, 1, 0, 0, a, NULL);
    e->ops->destroy(e);
    e = open_engine(prec, 0);
    rates_on(e, &pp[0], &s1, 1, 0, 0, c, NULL);
    e->ops->destroy(e);
    assert_true(memcmp(a + 1, c + 1, (NSIG - 1) * sizeof(double)) != 0);
}

/* Every noise level at once: one pegr_robust_wrong launch for the 5 sigmas of 3 runs, one noise
 * launch per run, and none of the per-sigma test-error kernels the robust test ran before. */
static void test_all_sigmas_in_one_launch(void **state)
{
    (void)state;
    static problem pr[RUNS];
    uint64_t seeds[RUNS] = {1, 2, 3};
    for (size_t r = 0; r < RUNS; r++) make_problem(&pr[r], 400 + r);
    pegr_backend *b = open_engine(PEGR_FP32, 1);
    static double X[RUNS * N * P * D], y[RUNS * N], W[RUNS * COLS * D];
    pegr_reference ref[RUNS];
    for (size_t r = 0; r < RUNS; r++) {
        memcpy(X + r * N * P * D, pr[r].X, sizeof pr[r].X);
        memcpy(y + r * N, pr[r].y, sizeof pr[r].y);
        memcpy(W + r * COLS * D, pr[r].W, sizeof pr[r].W);
        ref[r] = reference_of(&pr[r]);
    }
    pegr_error err = {0};
    check(b->ops->set_runs(b, RUNS, &err), &err);
    check(b->ops->set_data(b, X, y, N, P, D, &err), &err);
    check(b->ops->set_weights(b, W, M, &err), &err);
    check(b->ops->set_reference(b, ref, &err), &err);
    pegr_engine_profile_reset(b);
    double rates[RUNS * NSIG];
    check(b->ops->perturbed_test_error(b, 3.0, sigmas, NSIG, seeds, rates, &err), &err);
    const pegr_kernel_time *t = NULL;
    size_t nk = pegr_engine_profile(b, &t);
    size_t wrong = 0, noise = 0, per_sigma = 0;
    for (size_t k = 0; k < nk; k++) {
        if (!strcmp(t[k].name, "pegr_robust_wrong")) wrong += t[k].launches;
        if (!strcmp(t[k].name, "pegr_robust_noise")) noise += t[k].launches;
        if (!strcmp(t[k].name, "pegr_test_wrong")) per_sigma += t[k].launches;
    }
    assert_int_equal(wrong, 1);
    assert_int_equal(noise, RUNS);
    assert_int_equal(per_sigma, 0);
    b->ops->destroy(b);
}

int main(void)
{
    pegr_error err = {0};
    if (!(suite_device = test_device_pick("test_robust", 1, &devices, &ndevices, &err))) {
        printf("no OpenCL device: skipped (%s)\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_stream_fp32),
        cmocka_unit_test(test_philox_stream_fp64),
        cmocka_unit_test(test_normal_mapping_edges),
        cmocka_unit_test(test_perturbed_error_fp64_equals_host),
        cmocka_unit_test(test_perturbed_error_fp32_within_flippable),
        cmocka_unit_test(test_batched_runs_each_their_own_seed),
        cmocka_unit_test(test_all_sigmas_in_one_launch),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    return failed;
}

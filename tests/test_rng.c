/* test_rng.c: Philox4x32-10 against Random123's known-answer vectors, and the (seed, stream, index)
 * mapping of rng.h: its exact values, determinism, order independence, ranges and moments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/rng.h"

#define N_STAT 100000

static void check_kat(const uint32_t ctr[4], const uint32_t key[2], const uint32_t expect[4])
{
    uint32_t out[4];
    pegr_philox4x32_10(ctr, key, out);
    for (int i = 0; i < 4; i++) assert_int_equal(out[i], expect[i]);
}

/* Random123 kat_vectors: "philox4x32 10 0 0 0 0 0 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8". */
static void test_philox_kat_zero(void **state)
{
    (void)state;
    const uint32_t ctr[4] = {0, 0, 0, 0}, key[2] = {0, 0};
    const uint32_t expect[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    check_kat(ctr, key, expect);
}

static void test_philox_kat_all_ones(void **state)
{
    (void)state;
    const uint32_t ctr[4] = {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff};
    const uint32_t key[2] = {0xffffffff, 0xffffffff};
    const uint32_t expect[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd};
    check_kat(ctr, key, expect);
}

static void test_philox_kat_pi_digits(void **state)
{
    (void)state;
    const uint32_t ctr[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const uint32_t key[2] = {0xa4093822, 0x299f31d0};
    const uint32_t expect[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    check_kat(ctr, key, expect);
}

/* The counter/key layout: seed lo/hi -> key, index lo/hi -> ctr[0..1], stream -> ctr[2]. */
static void test_block_layout(void **state)
{
    (void)state;
    uint64_t seed = UINT64_C(0x0123456789abcdef), index = UINT64_C(0xfedcba9876543210);
    uint32_t stream = 0x5a5a5a5a;
    const uint32_t ctr[4] = {0x76543210, 0xfedcba98, stream, 0};
    const uint32_t key[2] = {0x89abcdef, 0x01234567};
    uint32_t a[4], b[4];
    pegr_rng_block(seed, stream, index, a);
    pegr_philox4x32_10(ctr, key, b);
    assert_memory_equal(a, b, sizeof a);
}

/* With seed 0, stream 0, index 0 the block is the first KAT vector, so the uniform and normal
 * values are pinned exactly (the contract in rng.h). */
static void test_mapping_matches_contract(void **state)
{
    (void)state;
    uint64_t k1 = ((uint64_t)(0x6627e8d5u >> 5) << 26) | (0xe169c58du >> 6);
    uint64_t k2 = ((uint64_t)(0xbc57ac4cu >> 5) << 26) | (0x9b00dbd8u >> 6);
    double u1 = (double)k1 / 9007199254740992.0; /* 2^53 */
    double u2 = (double)k2 / 9007199254740992.0;
    assert_true(pegr_rng_uniform(0, 0, 0) == u1);
    double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    assert_true(pegr_rng_normal(0, 0, 0) == z);
    /* The unit map's ends: k = 0 -> 2^-54, k = 2^53 - 1 -> 1 - 2^-53. */
    assert_true(pegr_rng_unit(0, 0) == ldexp(1.0, -54));
    assert_true(pegr_rng_unit(0x1f, 0x3f) == ldexp(1.0, -54)); /* dropped low bits: still k = 0 */
    assert_true(pegr_rng_unit(0xffffffff, 0xffffffff) == 1.0 - ldexp(1.0, -53));
    assert_true(pegr_rng_unit(0, 0x40) == ldexp(1.0, -53));
}

static void test_same_inputs_same_bits(void **state)
{
    (void)state;
    for (uint64_t i = 0; i < 1000; i++) {
        double a = pegr_rng_normal(42, PEGR_STREAM_TRAIN_NOISE, i * 7919);
        double b = pegr_rng_normal(42, PEGR_STREAM_TRAIN_NOISE, i * 7919);
        assert_memory_equal(&a, &b, sizeof a);
        a = pegr_rng_uniform(42, PEGR_STREAM_TRAIN_LABELS, i);
        b = pegr_rng_uniform(42, PEGR_STREAM_TRAIN_LABELS, i);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

/* Filling [first, first + n) in uneven chunks, in reverse order, gives the one-call array. */
static void test_fill_in_chunks_equals_one_call(void **state)
{
    (void)state;
    enum { N = 1000 };
    const uint64_t first = UINT64_C(0xfffffffffffffe00); /* crosses the 2^64 wrap and the hi word */
    const size_t cuts[] = {0, 1, 7, 300, 301, 999, N};
    const size_t ncuts = sizeof cuts / sizeof cuts[0];
    static double one[N], chunked[N], uone[N], uchunked[N];
    pegr_rng_fill_normal(7, PEGR_STREAM_PERTURB, first, N, 0.5, one);
    pegr_rng_fill_uniform(7, PEGR_STREAM_SGD_SHUFFLE, first, N, uone);
    for (size_t c = ncuts - 1; c > 0; c--) {
        size_t lo = cuts[c - 1], len = cuts[c] - lo;
        pegr_rng_fill_normal(7, PEGR_STREAM_PERTURB, first + lo, len, 0.5, chunked + lo);
        pegr_rng_fill_uniform(7, PEGR_STREAM_SGD_SHUFFLE, first + lo, len, uchunked + lo);
    }
    assert_memory_equal(one, chunked, sizeof one);
    assert_memory_equal(uone, uchunked, sizeof uone);
    for (size_t j = 0; j < N; j++)
        assert_true(one[j] == 0.5 * pegr_rng_normal(7, PEGR_STREAM_PERTURB, first + j));
}

/* 1e5 uniforms all in (0, 1); mean within 5 standard errors of 1/2 (se = sqrt(1/12 / 1e5) =
 * 9.1e-4, bound 4.6e-3) and variance within 5 se of 1/12 (se of the sample variance of U(0,1) =
 * sqrt((1/80 - 1/144) / 1e5) = 2.4e-4, bound 1.2e-3). */
static void test_uniform_open_interval_and_moments(void **state)
{
    (void)state;
    double *u = malloc(N_STAT * sizeof *u);
    assert_non_null(u);
    pegr_rng_fill_uniform(3, PEGR_STREAM_TRAIN_LABELS, 0, N_STAT, u);
    double sum = 0.0, sum2 = 0.0;
    for (size_t i = 0; i < N_STAT; i++) {
        assert_true(u[i] > 0.0 && u[i] < 1.0);
        sum += u[i];
    }
    double mean = sum / N_STAT;
    for (size_t i = 0; i < N_STAT; i++) sum2 += (u[i] - mean) * (u[i] - mean);
    double var = sum2 / (N_STAT - 1);
    assert_true(fabs(mean - 0.5) < 4.6e-3);
    assert_true(fabs(var - 1.0 / 12.0) < 1.2e-3);
    free(u);
}

/* 1e5 standard normals: mean within 5 se of 0 (se = 1/sqrt(1e5) = 3.2e-3, bound 0.016), variance
 * within 5 se of 1 (se = sqrt(2/1e5) = 4.5e-3, bound 0.023), the fraction in [-1, 1] within 5 se of
 * 0.6827 (se = sqrt(0.683 * 0.317 / 1e5) = 1.5e-3, bound 7.4e-3), and every |z| < 8.7 (the largest
 * value the mapping can produce is sqrt(-2 log 2^-54) = 8.65). */
static void test_normal_moments(void **state)
{
    (void)state;
    double *z = malloc(N_STAT * sizeof *z);
    assert_non_null(z);
    pegr_rng_fill_normal(5, PEGR_STREAM_TRAIN_NOISE, 123, N_STAT, 1.0, z);
    double sum = 0.0, sum2 = 0.0;
    size_t inside = 0;
    for (size_t i = 0; i < N_STAT; i++) {
        assert_true(isfinite(z[i]) && fabs(z[i]) < 8.7);
        sum += z[i];
        inside += fabs(z[i]) <= 1.0;
    }
    double mean = sum / N_STAT;
    for (size_t i = 0; i < N_STAT; i++) sum2 += (z[i] - mean) * (z[i] - mean);
    double var = sum2 / (N_STAT - 1);
    assert_true(fabs(mean) < 0.016);
    assert_true(fabs(var - 1.0) < 0.023);
    assert_true(fabs((double)inside / N_STAT - 0.682689) < 7.4e-3);
    free(z);
}

/* Count of equal entries between two 1000-value draws; independent streams share essentially none
 * (two continuous draws coincide with probability ~2^-53). */
static size_t count_equal(uint64_t s1, uint32_t st1, uint64_t i1, uint64_t s2, uint32_t st2,
                          uint64_t i2)
{
    enum { N = 1000 };
    double a[N], b[N];
    pegr_rng_fill_normal(s1, st1, i1, N, 1.0, a);
    pegr_rng_fill_normal(s2, st2, i2, N, 1.0, b);
    size_t eq = 0;
    for (size_t j = 0; j < N; j++) eq += a[j] == b[j];
    return eq;
}

static void test_streams_and_seeds_differ(void **state)
{
    (void)state;
    assert_int_equal(count_equal(1, 1, 0, 1, 1, 0), 1000);  /* sanity: same coordinates agree */
    assert_int_equal(count_equal(1, PEGR_STREAM_TRAIN_NOISE, 0, 1, PEGR_STREAM_TEST_NOISE, 0), 0);
    assert_int_equal(count_equal(1, 3, 0, 2, 3, 0), 0);                        /* seed lo word */
    assert_int_equal(count_equal(1, 3, 0, 1 + (UINT64_C(1) << 32), 3, 0), 0); /* seed hi word */
    assert_int_equal(count_equal(1, 3, 0, 1, 3, UINT64_C(1) << 32), 0);       /* index hi word */
    assert_int_equal(count_equal(1, 3, 0, 1, 3, 1000), 0);                    /* other indices */
}

/* The stream numbers are a contract: pin them. */
static void test_stream_numbers_fixed(void **state)
{
    (void)state;
    assert_int_equal(PEGR_STREAM_TRAIN_LABELS, 1);
    assert_int_equal(PEGR_STREAM_TRAIN_SIGNAL_POS, 2);
    assert_int_equal(PEGR_STREAM_TRAIN_NOISE, 3);
    assert_int_equal(PEGR_STREAM_TRAIN_FLIP, 4);
    assert_int_equal(PEGR_STREAM_TEST_LABELS, 5);
    assert_int_equal(PEGR_STREAM_TEST_SIGNAL_POS, 6);
    assert_int_equal(PEGR_STREAM_TEST_NOISE, 7);
    assert_int_equal(PEGR_STREAM_TEST_FLIP, 8);
    assert_int_equal(PEGR_STREAM_INIT_WEIGHTS, 9);
    assert_int_equal(PEGR_STREAM_SGD_SHUFFLE, 10);
    assert_int_equal(PEGR_STREAM_PERTURB, 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_kat_zero),
        cmocka_unit_test(test_philox_kat_all_ones),
        cmocka_unit_test(test_philox_kat_pi_digits),
        cmocka_unit_test(test_block_layout),
        cmocka_unit_test(test_mapping_matches_contract),
        cmocka_unit_test(test_same_inputs_same_bits),
        cmocka_unit_test(test_fill_in_chunks_equals_one_call),
        cmocka_unit_test(test_uniform_open_interval_and_moments),
        cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_streams_and_seeds_differ),
        cmocka_unit_test(test_stream_numbers_fixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

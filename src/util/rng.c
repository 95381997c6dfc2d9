/* rng.c: Philox4x32-10 and the (seed, stream, index) -> uniform / normal mapping of rng.h.
 * Nothing here keeps state: every value is recomputed from its coordinates, which is what makes
 * the generated data independent of order and thread count. */
#include "util/rng.h"

#include <math.h>

/* Random123's Philox4x32 constants: the two multipliers and the Weyl key increments
 * (golden ratio and sqrt(3) - 1, as 32-bit fractions). */
#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)
#define PHILOX_ROUNDS 10

/* 2*pi rounded to double, spelled in hex so that no decimal-to-binary rounding is involved. */
static const double two_pi = 0x1.921fb54442d18p+2;

/* 32x32 -> 64-bit product split into its high and low words. */
static void mulhilo32(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

/* One Philox S-box round on the counter (Random123's _philox4x32round). */
static void philox_round(uint32_t x[4], const uint32_t k[2])
{
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo32(PHILOX_M0, x[0], &hi0, &lo0);
    mulhilo32(PHILOX_M1, x[2], &hi1, &lo1);
    uint32_t y0 = hi1 ^ x[1] ^ k[0];
    uint32_t y2 = hi0 ^ x[3] ^ k[1];
    x[0] = y0;
    x[1] = lo1;
    x[2] = y2;
    x[3] = lo0;
}

void pegr_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    /* The first round uses the key as given; the key is bumped before each later round. */
    philox_round(x, k);
    for (int r = 1; r < PHILOX_ROUNDS; r++) {
        k[0] += PHILOX_W0;
        k[1] += PHILOX_W1;
        philox_round(x, k);
    }
    for (int i = 0; i < 4; i++) out[i] = x[i];
}

void pegr_rng_block(uint64_t seed, uint32_t stream, uint64_t index, uint32_t out[4])
{
    const uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), stream, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    pegr_philox4x32_10(ctr, key, out);
}

double pegr_rng_unit(uint32_t hi_word, uint32_t lo_word)
{
    /* 27 bits from the first word, 26 from the second: k in [0, 2^53), exactly representable.
     * k * 2^-53 is exact and lies in [0, 1 - 2^-53]. Only k = 0 would give 0; it is replaced by
     * 2^-54 (half a grid step) so that the interval is open and log(u) is always finite. The shift
     * of that one point out of 2^53 is a bias far below anything measurable. */
    uint64_t k = ((uint64_t)(hi_word >> 5) << 26) | (uint64_t)(lo_word >> 6);
    if (k == 0) return 0x1p-54;
    return (double)k * 0x1p-53;
}

double pegr_rng_uniform(uint64_t seed, uint32_t stream, uint64_t index)
{
    uint32_t w[4];
    pegr_rng_block(seed, stream, index, w);
    return pegr_rng_unit(w[0], w[1]);
}

double pegr_rng_normal(uint64_t seed, uint32_t stream, uint64_t index)
{
    uint32_t w[4];
    pegr_rng_block(seed, stream, index, w);
    double u1 = pegr_rng_unit(w[0], w[1]);
    double u2 = pegr_rng_unit(w[2], w[3]);
    /* Separate statements, no a*b+c anywhere: nothing a compiler could contract into an FMA. */
    double radius = sqrt(-2.0 * log(u1));
    double angle = two_pi * u2;
    return radius * cos(angle);
}

void pegr_rng_fill_normal(uint64_t seed, uint32_t stream, uint64_t first_index, size_t count,
                          double scale, double *out)
{
    for (size_t j = 0; j < count; j++)
        out[j] = scale * pegr_rng_normal(seed, stream, first_index + (uint64_t)j);
}

void pegr_rng_fill_uniform(uint64_t seed, uint32_t stream, uint64_t first_index, size_t count,
                           double *out)
{
    for (size_t j = 0; j < count; j++)
        out[j] = pegr_rng_uniform(seed, stream, first_index + (uint64_t)j);
}

/* rng.h: pegr's counter-based random numbers -- Philox4x32-10 (Salmon et al. 2011, Random123)
 * and the exact mapping from (seed, stream, index) to a uniform or a normal double.
 *
 * CROSS-MACHINE CONTRACT. Every random value pegr uses is a pure function of (seed, stream,
 * index): there is no generator state, so the same seed gives the same dataset, initial weights
 * and shuffles bit for bit on every machine, in every order and at every thread count. The mapping
 * below is the contract; an OpenCL or other reimplementation must follow it word for word, and
 * changing it changes every dataset ever generated. It is:
 *
 *   block(seed, stream, index) = philox4x32_10(ctr = {lo32(index), hi32(index), stream, 0},
 *                                              key = {lo32(seed), hi32(seed)})  -> words w0..w3
 *   unit(a, b) = k * 2^-53 with k = (a >> 5) * 2^26 + (b >> 6), a 53-bit integer in [0, 2^53),
 *                except that k = 0 gives 2^-54. So unit lies in the open interval (0, 1):
 *                smallest 2^-54, largest 1 - 2^-53; every step is exact in IEEE double.
 *   pegr_rng_uniform(seed, stream, index) = unit(w0, w1)
 *   pegr_rng_normal(seed, stream, index)  = sqrt(-2 * log(u1)) * cos(TWO_PI * u2),
 *                u1 = unit(w0, w1), u2 = unit(w2, w3),
 *                TWO_PI = 0x1.921fb54442d18p+2 (2*pi rounded to double)
 *   pegr_rng_fill_normal(seed, stream, first, count, scale, out): out[j] = scale * normal(first+j)
 *   pegr_rng_fill_uniform(seed, stream, first, count, out):       out[j] = uniform(first+j)
 *
 * Only the cos branch of Box-Muller is used (the sin half is dropped) so that value i depends on
 * one block and nothing else. The uniform and the normal at the same (seed, stream, index) share
 * w0, w1: give uniforms and normals their own streams. Index arithmetic (first + j) wraps modulo
 * 2^64. The fourth counter word is 0 for now: reserved.
 *
 * Floating point: the operations are IEEE-754 double multiplications, conversions from integers
 * below 2^53 (exact) and sqrt (correctly rounded by IEEE-754), plus log and cos from libm. Uniforms
 * are therefore bit-identical everywhere; normals are bit-identical wherever libm's log and cos
 * return the same results. libm's log and cos are not required to be correctly rounded, so a
 * different libm (or version, or a CPU-specific code path such as glibc's FMA variants) may differ
 * in the last bit of a normal for rare arguments. It assumes FLT_EVAL_METHOD == 0 (no x87 extended
 * precision; true on x86-64 and aarch64) and no contraction of a*b+c into an FMA (rng.c has no
 * such expression; see data.c for the data model's). */
#ifndef PEGR_RNG_H
#define PEGR_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The named streams. These numbers are part of the cross-machine contract: NEVER renumber or reuse
 * one; add new streams at the end. 0 is reserved (never used) so that an unset stream argument does
 * not silently alias a real one. Within a stream the index is the flat element position (see data.h
 * for how each stream is indexed). */
typedef enum pegr_stream {
    PEGR_STREAM_TRAIN_LABELS = 1,     /* train label y_clean, index = example i */
    PEGR_STREAM_TRAIN_SIGNAL_POS = 2, /* train signal-patch position, index = example i */
    PEGR_STREAM_TRAIN_NOISE = 3,      /* train noise, index = flat position in X (n, P, d) */
    PEGR_STREAM_TRAIN_FLIP = 4,       /* train label flip, index = example i */
    PEGR_STREAM_TEST_LABELS = 5,
    PEGR_STREAM_TEST_SIGNAL_POS = 6,
    PEGR_STREAM_TEST_NOISE = 7,
    PEGR_STREAM_TEST_FLIP = 8,
    PEGR_STREAM_INIT_WEIGHTS = 9, /* initial W, index = flat position in W (2, m, d) */
    PEGR_STREAM_SGD_SHUFFLE = 10, /* mini-batch shuffles */
    PEGR_STREAM_PERTURB = 11,     /* robustness-test input perturbations */
    PEGR_STREAM_TRAIN_XOR_SIGN = 12, /* XOR data: the sign of the train signal patch +-(a+-b),
                                        index = example i */
    PEGR_STREAM_TEST_XOR_SIGN = 13,  /* the same for the test split */
} pegr_stream;

/* Philox4x32 with 10 rounds, exactly as Random123's philox4x32_10: out = bijection_key(ctr).
 * Matches Random123's published known-answer vectors (tests/test_rng.c). */
void pegr_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The raw block for (seed, stream, index): out = philox4x32_10({lo(index), hi(index), stream, 0},
 * {lo(seed), hi(seed)}). */
void pegr_rng_block(uint64_t seed, uint32_t stream, uint64_t index, uint32_t out[4]);

/* The 53-bit uniform in the open interval (0, 1) built from two words (see the contract above). */
double pegr_rng_unit(uint32_t hi_word, uint32_t lo_word);

/* Uniform in (0, 1) for (seed, stream, index). */
double pegr_rng_uniform(uint64_t seed, uint32_t stream, uint64_t index);

/* Standard normal for (seed, stream, index), Box-Muller cos branch. |value| < 8.7 always. */
double pegr_rng_normal(uint64_t seed, uint32_t stream, uint64_t index);

/* out[j] = scale * pegr_rng_normal(seed, stream, first_index + j), j < count. Filling a range in
 * several chunks gives exactly the same array as one call. */
void pegr_rng_fill_normal(uint64_t seed, uint32_t stream, uint64_t first_index, size_t count,
                          double scale, double *out);

/* out[j] = pegr_rng_uniform(seed, stream, first_index + j), j < count. */
void pegr_rng_fill_uniform(uint64_t seed, uint32_t stream, uint64_t first_index, size_t count,
                           double *out);

#ifdef __cplusplus
}
#endif
#endif

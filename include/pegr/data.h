/* data.h: the signal-noise data model (Cao et al. 2022; docs/math.md, "Data
 * model") and the network's initial weights, both drawn from the counter-based streams of rng.h.
 *
 * Exactly how each value is drawn (a cross-machine contract, like rng.h's mapping): with
 * s = seed and the split's four streams (TRAIN_* or TEST_*), for example i and patch p:
 *   y_clean[i]      = +1 if pegr_rng_uniform(s, LABELS, i) < 0.5, else -1
 *   signal_patch[i] = floor(pegr_rng_uniform(s, SIGNAL_POS, i) * P), clamped to P - 1
 *   X[i, signal_patch[i], :] = y_clean[i] * mu                       (exact: y_clean is +-1)
 *   X[i, p, k] for every other patch p: first sigma_p * pegr_rng_normal(s, NOISE, (i*P + p)*d + k),
 *                  i.e. the noise is indexed by its flat position in X (n, P, d); then, unless
 *                  isotropic (or mu = 0), the patch is projected: xi -= <xi, mu_hat> mu_hat with
 *                  mu_hat = mu / ||mu||. For mu = mu_norm e_1, mu_hat = e_1 exactly and the
 *                  projection sets coordinate 0 to exactly 0 and leaves the others untouched.
 *   y[i] = -y_clean[i] if pegr_rng_uniform(s, FLIP, i) < label_flip, else y_clean[i]
 *          (always for train; for test only when flip_test, otherwise y = y_clean and the TEST_FLIP
 *          stream is not used).
 *   W[j, r, k] (init) = sigma0 * pegr_rng_normal(seed, INIT_WEIGHTS, (j*m + r)*d + k)
 *   uniform init (pegr_init_weights_uniform, PyTorch's nn.Conv1d default), kb = 1/sqrt(fan_in):
 *     W[j, r, k] = kb * (2 * pegr_rng_uniform(seed, INIT_WEIGHTS, (j*m + r)*d + k) - 1)
 *     b[j, r]    = kb * (2 * pegr_rng_uniform(seed, INIT_WEIGHTS, 2*m*d + j*m + r) - 1)
 *     (the normal and the uniform init share the stream: a run uses one of them, never both;
 *     the biases' indices follow the weights', so b never reuses a weight's block)
 *   perturbation of the robust test (pegr_perturb, pegr_perturb_rows): x + sigma *
 *     pegr_rng_normal(seed, PERTURB, flat index of the input value), an input value being a
 *     coordinate of a patch that is data (not a bias's constant 1)
 * Because every value is addressed by (stream, index), the data do not depend on the order of
 * generation or on a thread count, and (same seed, d, P) a split of n examples is a prefix of one
 * of n' > n examples.
 *
 * The XOR model (model = PEGR_DATA_XOR; Meng, Zou, Cao 2023; docs/math.md, "XOR data model"), with
 * A = xor_a_norm, B = xor_b_norm, a = A e_1, b = B e_2 (so d >= 2), u+ = a + b, u- = a - b, draws
 * y_clean, signal_patch, the noise and y exactly as above (the same streams and indices), and
 *   sign[i]         = +1 if pegr_rng_uniform(s, XOR_SIGN, i) < 0.5, else -1  (TRAIN_XOR_SIGN or
 *                     TEST_XOR_SIGN: a stream of its own, so signal-noise data are unchanged)
 *   X[i, signal_patch[i], :] = sign[i] * (y_clean[i] = +1 ? u+ : u-), i.e. coordinate 0 is
 *                     sign * A, coordinate 1 is sign * y_clean * B, the others 0 (exact)
 *   every other patch: the noise as above, then (unless isotropic) projected against a_hat = e_1
 *                     and then b_hat = e_2 (a direction of norm 0 is not projected): coordinates
 *                     0 and 1 become exactly 0, the others are untouched.
 * The dataset's mu is then (2, d): row 0 u+, row 1 u- (n_signal = 2), and mu_norm = ||u+|| =
 * ||u-|| = sqrt(A^2 + B^2). */
#ifndef PEGR_DATA_H
#define PEGR_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pegr_data_config {
    size_t n, n_test, d, P; /* P >= 1 patches of dimension d; n_test may be 0 */
    double mu_norm;         /* ||mu||; if snr > 0 it wins: mu_norm = snr * sigma_p * sqrt(d) */
    double snr;             /* 0 = use mu_norm */
    double sigma_p;         /* noise std */
    int isotropic;          /* 0: noise orthogonal to mu (default), 1: plain N(0, sigma_p^2 I) */
    double label_flip;      /* train label-flip probability in [0, 0.5] */
    int flip_test;          /* 1: apply label_flip to test labels too */
    uint64_t seed;
    int model;              /* pegr_data_model: PEGR_DATA_SIGNAL_NOISE (0, default) or PEGR_DATA_XOR;
                               the option --data, words PEGR_DATA_MODELS */
    double xor_a_norm, xor_b_norm; /* XOR: ||a|| and ||b|| (a = ||a|| e_1, b = ||b|| e_2) */
} pegr_data_config;

/* The data models, in the order of PEGR_DATA_MODELS (the --data option's words). */
typedef enum pegr_data_model {
    PEGR_DATA_SIGNAL_NOISE = 0, /* Cao et al. 2022: one signal vector mu */
    PEGR_DATA_XOR = 1,          /* Meng, Zou, Cao 2023: signal +-(a+b) for y = +1, +-(a-b) for -1 */
} pegr_data_model;
#define PEGR_DATA_MODELS "signal-noise|xor"

/* n 50, n_test 1000, d 1000, P 2, mu_norm 3, snr 0, sigma_p 1, isotropic 0, label_flip 0,
 * flip_test 0, seed 0 (the regime of docs/math.md); model signal-noise, xor_a_norm and xor_b_norm
 * 2 (a + b orthogonal to a - b, ||a +- b|| = 2 sqrt(2); docs/math.md, "XOR data model"). */
PEGR_API void pegr_data_config_default(pegr_data_config *c);

/* PEGR_ERR_INVALID_ARGUMENT, with a message naming the option, its value and what is allowed, for:
 * n, d or P of 0; sigma_p, mu_norm or snr negative or not finite; label_flip outside [0, 0.5];
 * isotropic or flip_test other than 0/1; sizes whose byte counts overflow size_t; an snr that makes
 * mu_norm overflow; a model outside pegr_data_model; with XOR: xor_a_norm or xor_b_norm negative
 * or not finite, d < 2 (a and b are e_1 and e_2 directions), an snr > 0 (one ratio cannot set
 * two norms). */
PEGR_API pegr_status pegr_data_config_validate(const pegr_data_config *c, pegr_error *err);

/* The ||mu|| a valid config generates: snr * sigma_p * sqrt(d) if snr > 0, else mu_norm; for XOR,
 * ||a +- b|| = sqrt(xor_a_norm^2 + xor_b_norm^2) (what config.json and results.csv report as
 * mu_norm, with snr = that / (sigma_p sqrt(d))). */
PEGR_API double pegr_data_config_mu_norm(const pegr_data_config *c);

typedef struct pegr_split {
    size_t n;
    double *X;            /* (n, P, d), C order */
    double *y;            /* (n,) +-1, after flips */
    double *y_clean;      /* (n,) +-1, before flips */
    size_t *signal_patch; /* (n,) index of the patch holding y_clean * mu (XOR: +-u+ or +-u-) */
} pegr_split;

typedef struct pegr_dataset {
    size_t d, P;
    double mu_norm; /* the effective ||mu|| (after the snr option); XOR: ||u+|| = ||u-|| */
    double *mu;     /* (n_signal, d): signal-noise mu_norm * e_1; XOR u+ = a + b, then u- = a - b */
    pegr_split train, test;
    size_t n_signal; /* rows of mu: 1 (signal-noise, or the caller's mu), 2 (XOR), 0 (no mu) */
} pegr_dataset;

/* Validate c and generate both splits into *out (overwritten; free with pegr_dataset_free). A split
 * with n = 0 has NULL arrays. On failure *out is left empty (all zero) and nothing leaks. */
PEGR_API pegr_status pegr_data_generate(const pegr_data_config *c, pegr_dataset *out, pegr_error *err);

/* A dataset from the caller's arrays (copied; the caller keeps its own): X (n, P, d) and y (n,)
 * train, X_test (n_test, P, d) and y_test (n_test,) test (n_test 0: no test split, X_test and
 * y_test may be NULL), mu (d,) the signal vector or NULL when unknown. Labels must be +-1 and every
 * value finite; n, P, d >= 1. y_clean is a copy of y (flips are unknown). With mu, each example's
 * signal patch is the patch p with the largest |<X[i,p], mu>| (the first on ties) and mu_norm is
 * ||mu||; without mu, mu and signal_patch are NULL and mu_norm is NaN: training then reports gamma
 * and rho as NaN (absent). PEGR_ERR_INVALID_ARGUMENT / PEGR_ERR_SHAPE / PEGR_ERR_NONFINITE with a
 * message naming the array and what was wrong; on failure *out is left empty. */
PEGR_API pegr_status pegr_dataset_from_arrays(const double *X, const double *y, size_t n, size_t P,
                                              size_t d, const double *X_test, const double *y_test,
                                              size_t n_test, const double *mu, pegr_dataset *out,
                                              pegr_error *err);

/* Free every array and zero the struct. NULL and an already-freed (zeroed) dataset are fine. */
PEGR_API void pegr_dataset_free(pegr_dataset *ds);

/* W (2, m, d), each entry N(0, sigma0^2), from the INIT_WEIGHTS stream, index = flat position.
 * m >= 1, d >= 1, sigma0 finite and >= 0, W not NULL (2*m*d doubles, caller-owned). */
PEGR_API pegr_status pegr_init_weights(uint64_t seed, size_t m, size_t d, double sigma0, double *W,
                              pegr_error *err);

/* dst[k] = src[k] + sigma * N(0, 1), the normals from the PERTURB stream of seed at index k: the
 * input perturbation of the robustness metric, identical on every backend. */
PEGR_API void pegr_perturb(uint64_t seed, double sigma, const double *src, size_t count, double *dst);

/* PyTorch's default initialisation of nn.Conv1d(1, m, kernel_size=d, stride=d) (its
 * kaiming_uniform_(a=sqrt(5)) weight and its bias): W (2, m, d) and, unless b is NULL, b (2, m),
 * each entry U(-kb, kb) with kb = 1/sqrt(fan_in), drawn as the mapping at the top of this file
 * says. fan_in >= 1 is what a filter sees (d for a patch of d values: the bias's constant input
 * is not counted, as in PyTorch). m, d >= 1, W not NULL (2*m*d doubles; b: 2*m). The entries lie
 * in the open interval (-kb, kb). */
PEGR_API pegr_status pegr_init_weights_uniform(uint64_t seed, size_t m, size_t d, size_t fan_in,
                                               double *W, double *b, pegr_error *err);

/* pegr_perturb on `rows` rows of `width` values whose last `fixed` values are not inputs (a bias's
 * constant 1: copied, never perturbed): dst[t*width + k] = src[t*width + k] + sigma * N(0, 1) from
 * the PERTURB stream at index t*(width - fixed) + k for k < width - fixed -- the same normals, in
 * the same places, as pegr_perturb gives the rows without their fixed values. fixed = 0 is
 * pegr_perturb(rows * width values); fixed <= width. */
PEGR_API void pegr_perturb_rows(uint64_t seed, double sigma, const double *src, size_t rows,
                                size_t width, size_t fixed, double *dst);

#ifdef __cplusplus
}
#endif
#endif

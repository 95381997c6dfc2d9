/* init.c: the model variants' initialisation and input handling (docs/math.md, "Model variants"):
 * PyTorch's uniform default for the filters and biases, and the robust test's perturbation of
 * patches that carry a bias's constant coordinate. The mappings from (seed, stream, index) are
 * data.h's contract. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pegr/data.h"
#include "util/rng.h"

pegr_status pegr_init_weights_uniform(uint64_t seed, size_t m, size_t d, size_t fan_in, double *W,
                                      double *b, pegr_error *err)
{
    if (!W) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "uniform init: W is NULL");
    if (m == 0 || d == 0 || fan_in == 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "uniform init: m = %zu, d = %zu, fan_in = %zu are invalid: each "
                              "must be >= 1", m, d, fan_in);
    if (m > SIZE_MAX / sizeof(double) / 2 / d)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "uniform init: m = %zu, d = %zu are invalid: 2*m*d doubles "
                              "overflows size_t", m, d);
    /* PyTorch: kaiming_uniform_(a = sqrt(5)) gives gain sqrt(2 / (1 + 5)) = sqrt(1/3) and bound
     * gain * sqrt(3 / fan_in) = 1/sqrt(fan_in); the bias's bound is 1/sqrt(fan_in) too. */
    const double kb = 1.0 / sqrt((double)fan_in);
    size_t count = 2 * m * d;
    for (size_t k = 0; k < count; k++)
        W[k] = kb * (2.0 * pegr_rng_uniform(seed, PEGR_STREAM_INIT_WEIGHTS, k) - 1.0);
    for (size_t c = 0; b && c < 2 * m; c++)
        b[c] = kb * (2.0 * pegr_rng_uniform(seed, PEGR_STREAM_INIT_WEIGHTS, count + c) - 1.0);
    return PEGR_OK;
}

void pegr_perturb_rows(uint64_t seed, double sigma, const double *src, size_t rows, size_t width,
                       size_t fixed, double *dst)
{
    if (fixed == 0 || fixed > width) { /* > width is a caller's bug: treat every value as input */
        pegr_perturb(seed, sigma, src, rows * width, dst);
        return;
    }
    size_t inputs = width - fixed;
    for (size_t t = 0; t < rows; t++) {
        double *out = dst + t * width;
        const double *in = src + t * width;
        /* the values pegr_perturb gives row t of the rows without their fixed values */
        pegr_rng_fill_normal(seed, PEGR_STREAM_PERTURB, (uint64_t)t * inputs, inputs, sigma, out);
        for (size_t k = 0; k < inputs; k++) out[k] += in[k];
        memcpy(out + inputs, in + inputs, fixed * sizeof(double));
    }
}

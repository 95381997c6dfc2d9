/* metrics_summary.c: see metrics_summary.h. */
#include "backend/metrics_summary.h"

#include <math.h>

void pegr_metrics_gamma(const double *gamma, size_t m, pegr_metrics *out)
{
    double sum = 0.0;
    for (size_t j = 0; j < 2; j++) {
        double best = gamma[j * m];
        for (size_t r = 0; r < m; r++) {
            double g = gamma[j * m + r];
            if (g > best) best = g;
            sum += g;
        }
        out->gamma_max[j] = best;
    }
    out->gamma_mean = sum / (double)(2 * m);
}

size_t pegr_metrics_signal_row(size_t n_signal, size_t c, size_t m)
{
    return n_signal == 2 && c >= m ? 1 : 0;
}

double pegr_metrics_gamma_entry(size_t n_signal, size_t c, size_t m, double proj)
{
    if (n_signal == 2) return fabs(proj) + 0.0;
    return (c < m ? 1.0 : -1.0) * proj + 0.0; /* + 0.0: no "-0" in the files */
}

void pegr_metrics_from_sums(double loss_sum, double wrong, double norm2_sum, double norm4_sum,
                            size_t n, pegr_metrics *out)
{
    double dn = (double)n;
    out->loss = loss_sum / dn;
    out->train_error = wrong / dn; /* 3/10 prints as 0.3 */
    out->norm2_mean = norm2_sum / dn;
    double var = norm4_sum / dn - out->norm2_mean * out->norm2_mean;
    out->norm2_var = var > 0 ? var : 0.0; /* rounding can make E[x^2] - E[x]^2 slightly negative */
}

void pegr_metrics_from_examples(const double *y, const double *margin, const double *loss,
                                const double *norm2, size_t n, pegr_metrics *out)
{
    double ls = 0, wrong = 0, s2 = 0, s4 = 0;
    for (size_t i = 0; i < n; i++) {
        ls += loss[i];
        wrong += y[i] * margin[i] <= 0.0 ? 1.0 : 0.0;
        s2 += norm2[i];
        s4 += norm2[i] * norm2[i];
    }
    pegr_metrics_from_sums(ls, wrong, s2, s4, n, out);
}

void pegr_metrics_unknown(pegr_metrics *out)
{
    out->loss = out->objective = out->train_error = out->test_error = NAN;
    out->gamma_max[0] = out->gamma_max[1] = out->gamma_mean = out->rho_mean = NAN;
    out->norm2_mean = out->norm2_var = out->grad_norm = NAN;
}

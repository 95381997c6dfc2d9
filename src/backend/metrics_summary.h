/* metrics_summary.h: turning per-example and per-filter numbers into pegr_metrics, shared by the
 * host backend (which has the arrays) and the engine (which reduces on the device and reads back
 * sums): one definition of each summary. */
#ifndef PEGR_METRICS_SUMMARY_H
#define PEGR_METRICS_SUMMARY_H

#include <stddef.h>

#include "backend/backend_impl.h"

/* gamma: (2m) values c_j <W[j,r] - W0[j,r], mu>, class-major -> gamma_max and gamma_mean. */
void pegr_metrics_gamma(const double *gamma, size_t m, pegr_metrics *out);
/* The row of the reference's mu (n_signal rows) that filter c = j m + r is measured against: 0
 * with one signal vector; its class's, u+ (row 0) or u- (row 1), with the XOR model's two. */
size_t pegr_metrics_signal_row(size_t n_signal, size_t c, size_t m);
/* gamma[j,r] from proj = <W[j,r] - W0[j,r], that row>: c_j proj with one signal vector (c_j = +1
 * for the +1 class's filters, c < m), |proj| with two (XOR: half of a class's signal patches carry
 * each sign; docs/math.md, "XOR data model"). Never -0. */
double pegr_metrics_gamma_entry(size_t n_signal, size_t c, size_t m, double proj);
/* From the sums over the n training examples: loss, wrong count, ||g_i||^2, ||g_i||^4. */
void pegr_metrics_from_sums(double loss_sum, double wrong, double norm2_sum, double norm4_sum,
                            size_t n, pegr_metrics *out);
/* The same from the arrays. */
void pegr_metrics_from_examples(const double *y, const double *margin, const double *loss,
                                const double *norm2, size_t n, pegr_metrics *out);

/* Every metric unknown: NaN (null in JSON, an empty CSV cell), as after a divergence. */
void pegr_metrics_unknown(pegr_metrics *out);

#endif

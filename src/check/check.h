/* check.h: the inside of `pegr check`'s conformance battery: the tolerances, the comparisons the
 * battery and the device test suites share, and the random problem they evaluate. The battery's
 * calls (pegr_check_run, pegr_check_device, records, options) are public: pegr/check.h.
 *
 * Tolerances live here, in one place, each with where it comes from. Errors are relative to the
 * largest magnitude of the reference array (pegr_check_rel_err) unless a record says otherwise. */
#ifndef PEGR_CHECK_INTERNAL_H
#define PEGR_CHECK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/check.h"
#include "pegr/pegr.h"
#include "backend/backend_impl.h"
#include "pegr/train.h"

/* ---- Tolerances ---------------------------------------------------------------------------- */

/* fp64, one evaluation or a few steps: both sides compute the same formulas in double; only the
 * summation order differs (1e-15 per sum), so 1e-10 leaves five orders of magnitude and still
 * catches any wrong term. */
#define PEGR_TOL_FP64 1e-10
/* fp64, a training run (tens of steps, the metrics at every log step): steps compound the 1e-15
 * differences of summation order (test_train: 100 steps). */
#define PEGR_TOL_FP64_TRAIN 1e-8
/* fp32, one evaluation: inputs rounded to float (6e-8 relative); each GEMM sums up to d = 10^4
 * products (4 interleaved partial sums: worst case (d/4) * 6e-8 = 1.5e-4, typically
 * sqrt(d) * 6e-8 = 6e-6); OpenCL's fp32 pow may be off by 16 ulp (1e-6); the pegr and gr
 * coefficients multiply four or five such quantities. Observed below 5e-6 on PoCL. */
#define PEGR_TOL_FP32_EVAL 2e-4
/* fp32, 8 steps against the host's fp64, relative to max |W|: W is stored in fp32 (half an ulp,
 * 6e-8 relative) and each step adds lr * grad with one more rounding and the gradient's own fp32
 * error (lr |grad| << |W|): 8 steps bound the drift at 8 * 2 * 6e-8 = 1e-6. Observed 1.5e-7 on
 * PoCL; 5e-6 is 5x the bound and still 20x below the 1e-4 the steps move W by. */
#define PEGR_TOL_FP32_STEPS 5e-6
/* fp32, a batch's evaluation and 4 steps against each run alone on the host: worst observed 8.1e-7
 * (margins) on PoCL with fp64 hidden, a few units of 2^-24 through sums of D terms; 25x that. */
#define PEGR_TOL_FP32_BATCH 2e-5
/* fp32, a training run against the host's fp64, each continuous metric relative to its largest
 * value over the run (pegr_check_records_error): worst observed 4.5e-6 over 100 steps
 * (gamma_max: <W - W0, mu> cancels W0's fp32 rounding); 20x that. */
#define PEGR_TOL_FP32_TRAIN 1e-4
/* Error rates (train, test, robust) are fractions of examples: fp32 may flip one example whose
 * margin lies within rounding of 0, so the allowance is 1/n plus the fraction's own rounding;
 * fp64 flips none (the margins agree to 1e-15). */
double pegr_tol_rate(pegr_precision precision, size_t n_examples);

/* ---- Comparisons the battery and the device suites share ------------------------------------ */

/* max |a - b| over max |b| (NaN counts as the worst: the result is then NaN). */
double pegr_check_rel_err(const double *a, const double *b, size_t count);

/* Metric k (0 <= k < PEGR_CHECK_NMETRICS) of a record, to loop over all of them; k = 2 and 3 are
 * the error rates. */
#define PEGR_CHECK_NMETRICS 11
double pegr_check_metric(const pegr_metrics *m, int k);
int pegr_check_metric_is_rate(int k);
const char *pegr_check_metric_name(int k);

/* Two runs' records: each continuous metric's worst difference over the run divided by its
 * largest magnitude over both runs (fp32's rounding scales with the quantities summed, so a metric
 * passing near 0 gets no infinite relative error), and the error rates' worst absolute
 * difference. OUT: *scaled, *rate (NaN when a value is NaN on one side only), and `where` (may be
 * NULL) names the record and metric of the worst scaled difference. Returns 0 when the runs' shapes differ (record
 * counts, steps, steps run, divergence), 1 otherwise. */
int pegr_check_records_error(const pegr_train_result *a, const pegr_train_result *b, double *scaled,
                             double *rate, char *where, size_t where_size);

/* A random problem the battery and the device suites evaluate: generic Gaussian patches X (n, P,
 * d), labels y of +-1 and weights W (2, m, d) of scale 1/sqrt(d) redrawn until every
 * pre-activation is at least 1e-3 from the activation's kink at 0 (where fp32 and fp64 could take
 * different branches). Deterministic in `seed`. Returns 0 when out of memory (free it anyway). */
typedef struct pegr_check_problem {
    size_t n, P, d, m;
    double *X, *y, *W;
} pegr_check_problem;
int pegr_check_problem_make(pegr_check_problem *p, size_t n, size_t P, size_t d, size_t m,
                            uint64_t seed);
void pegr_check_problem_free(pegr_check_problem *p);

/* Every output an evaluation of a problem can return, for `runs` runs side by side: grad (runs,
 * 2, m, d); margin, loss, norm2 (runs, n); pe (runs, n, 2, m, d) only when asked for (else NULL);
 * and the two scalars. */
typedef struct pegr_check_outputs {
    double *grad, *margin, *loss, *norm2, *pe;
    double mean_loss, objective;
} pegr_check_outputs;
/* Zeroed arrays; 0 when out of memory (free it anyway). */
int pegr_check_outputs_alloc(pegr_check_outputs *o, const pegr_check_problem *p, size_t runs,
                             int per_example);
void pegr_check_outputs_free(pegr_check_outputs *o);
/* A request of `method` that fills every array o holds. */
pegr_eval_request pegr_check_request(pegr_check_outputs *o, pegr_method method, double q,
                                     double lam);

#endif

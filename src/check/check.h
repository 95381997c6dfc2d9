/* check.h: `pegr check`'s conformance battery, in the library (the CLI and the Python package call
 * it): on one OpenCL device, every kernel path pegr uses against the exact host reference
 * (host_ref.c, fp64) on edge shapes, several training steps and short trainings of every method in
 * both representations, batched runs against single runs, every GEMM path (pegr's variants, the
 * simple kernels, CLBlast), and the kernel binary cache; one record per check and precision with
 * the worst error against its tolerance.
 *
 * Tolerances live here, in one place, each with where it comes from. Errors are relative to the
 * largest magnitude of the reference array (pegr_check_rel_err) unless a record says otherwise. */
#ifndef PEGR_CHECK_H
#define PEGR_CHECK_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- The battery ----------------------------------------------------------------------------- */

typedef enum pegr_check_status {
    PEGR_CHECK_PASS = 0,
    PEGR_CHECK_FAIL = 1,
    PEGR_CHECK_SKIP = 2, /* not applicable here: no fp64, CLBlast not built, cache off, ... */
} pegr_check_status;

typedef struct pegr_check_record {
    char name[64];             /* stable identifier: "eval-primal-gd", "cache", ... */
    const char *what;          /* one line on what it compares */
    pegr_precision precision;
    pegr_check_status status;
    double error;              /* worst error measured (NaN: skipped, or failed before measuring) */
    double tolerance;
    char detail[320];          /* where the worst error is; why it was skipped; what failed */
    double seconds;
} pegr_check_record;

typedef struct pegr_check_options {
    int fp32, fp64; /* the precisions to run (fp64 on a device without it: skipped records) */
    /* Called with each record as it is made (may be NULL). */
    void (*on_record)(void *user, const pegr_check_record *record);
    void *user;
    pegr_log_fn log; /* the contexts' log (may be NULL) */
    void *log_user;
    /* TEST HOOK: the check of this name (NULL: $PEGR_CHECK_FAULT, when set) has one device value
     * perturbed before its comparison, so it must fail -- how the tests show that a wrong result
     * fails the battery and is named. Never set it otherwise. */
    const char *fault;
} pegr_check_options;

typedef struct pegr_check_summary {
    size_t passed, failed, skipped;
    double seconds;
} pegr_check_summary;

/* Run the battery on `device` (from pegr_device_list): every check in fp32, then in fp64, as
 * asked, one record each. A failure inside a check (a build or device error) is a FAIL record
 * with the message, and the battery goes on. OUT: *summary. Returns PEGR_ERR_INVALID_ARGUMENT
 * when no precision is asked or the fault hook names no check, else PEGR_OK (the records say
 * whether the device passed). */
pegr_status pegr_check_run(const pegr_device_info *device, const pegr_check_options *options,
                           pegr_check_summary *summary, pegr_error *err);

/* The battery in one precision, for a command about to use the device (`pegr sweep`): skipped
 * when this pegr (version, revision, CLBlast or not) has already passed it on this device, driver
 * and precision -- a pass is cached in the cache directory (program_cache.h's pegr_cache_dir; no
 * caching with PEGR_NO_CACHE), a failure is not. `base` (may be NULL): the log, the fault hook and
 * a record callback. OUT: *cached (1: the stored pass, nothing ran), *summary, and `failed` (may be
 * NULL): the failed checks, "name (detail), ...", cut to failed_size. */
pegr_status pegr_check_device(const pegr_device_info *device, pegr_precision precision,
                              const pegr_check_options *base, int *cached,
                              pegr_check_summary *summary, char *failed, size_t failed_size,
                              pegr_error *err);

/* 1 when `name` is one of the battery's checks ("eval-primal-gd", "gemm-direct-v8-m4-n2", ...). */
int pegr_check_known(const char *name);

const char *pegr_check_status_name(pegr_check_status status); /* "pass", "FAIL", "skipped" */

#endif

/* train_support.h: what the training tests share -- a backend on the host or the first device, a
 * small configuration, and the comparison of two runs' records metric by metric. */
#ifndef PEGR_TESTS_TRAIN_SUPPORT_H
#define PEGR_TESTS_TRAIN_SUPPORT_H

#include "check/check.h"
#include "engine/engine.h"
#include "pegr/train.h"

/* CLBlast where pegr was built with it (forced: AUTO sends small products to pegr's kernels). */
#ifdef PEGR_HAVE_CLBLAST
#define SUPPORT_LIBRARY_GEMM PEGR_GEMM_CLBLAST
#else
#define SUPPORT_LIBRARY_GEMM PEGR_GEMM_AUTO
#endif

/* The host reference (dev NULL) or an engine on dev; fails the test when it cannot be made. */
pegr_backend *support_open_backend(const pegr_device_info *dev, pegr_precision prec,
                                   pegr_gemm_impl gemm);

/* A small, fast configuration (the "tiny" preset's sizes): n 20, n_test 100, d 150, m 4, log
 * every 10, 2 robust sigmas. */
pegr_train_config support_tiny(const char *method, size_t steps);
/* Generate c's data and train it on b into r (run alone, no callbacks); fails the test on error. */
void support_train(pegr_backend *b, const pegr_train_config *c, pegr_train_result *r);

/* Metric k (0 <= k < SUPPORT_NMETRICS) of a record, to loop over all of them. */
#define SUPPORT_NMETRICS PEGR_CHECK_NMETRICS /* src/check/check.h: the battery loops over the same */
double support_metric(const pegr_metrics *m, int k);

/* The same records (steps and every metric to relative `tol`), steps run and divergence. */
void support_assert_same_records(const pegr_train_result *a, const pegr_train_result *b, double tol);

/* The records of a run in fp32 against the same run in fp64 (the host, or the device where it has
 * fp64): the same steps and divergence; every continuous metric k to `tol` times its largest
 * magnitude over both runs (fp32's rounding error scales with the quantities summed, so a metric
 * that passes near 0, like gamma at step 0, gets no infinite relative error); the two error rates
 * to `rate_tol` absolute (a margin within fp32 rounding of 0 may flip an example). */
void support_assert_close_records(const pegr_train_result *a, const pegr_train_result *b, double tol,
                                  double rate_tol);

/* The precision a device-vs-host check runs in: fp64 where the device has it, else fp32 (the
 * fp64-less devices: rusticl, Apple GPUs, Intel Arc; PEGR_TEST_FORCE_FP32 on any). */
pegr_precision support_check_precision(const pegr_device_info *dev);

/* With PEGR_TEST_SHOW_ERRORS set, print "what: error (tolerance)" on stderr: how the fp32
 * tolerances of the device suites were derived, and how to re-derive them on a new driver. */
void support_show_error(const char *what, double err, double tol);

/* max |a - b| over max |b| (NaN counts as the worst). */
double support_rel_err(const double *a, const double *b, size_t count);

#endif

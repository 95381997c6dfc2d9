/* train_support.h: what the training tests share -- a backend on the host or the first device, a
 * small configuration, and the comparison of two runs' records metric by metric. */
#ifndef PEGR_TESTS_TRAIN_SUPPORT_H
#define PEGR_TESTS_TRAIN_SUPPORT_H

#include "engine.h"
#include "train.h"

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

/* Metric k (0 <= k < SUPPORT_NMETRICS) of a record, to loop over all of them. */
#define SUPPORT_NMETRICS 11
double support_metric(const pegr_metrics *m, int k);

/* The same records (steps and every metric to relative `tol`), steps run and divergence. */
void support_assert_same_records(const pegr_train_result *a, const pegr_train_result *b, double tol);

/* max |a - b| over max |b| (NaN counts as the worst). */
double support_rel_err(const double *a, const double *b, size_t count);

#endif

/* gemm_tuning.h: CLBlast tuned for the user's device (`pegr tune`). CLBlast's database has no
 * entry for many devices (PoCL's CPU among them) and falls back to generic GEMM parameters; this
 * measures candidate parameter sets of its XgemmDirect kernel -- the one it runs for pegr's
 * tall-skinny shapes -- on the device, stores the fastest in the cache directory, and applies it
 * (CLBlast's parameter override API) whenever an engine starts on that device. */
#ifndef PEGR_GEMM_TUNING_H
#define PEGR_GEMM_TUNING_H

#include "context_impl.h"

#define PEGR_TUNING_PARAMS 10

typedef struct pegr_tuning_result {
    size_t values[PEGR_TUNING_PARAMS]; /* WGD MDIMCD NDIMCD MDIMAD NDIMBD KWID VWMD VWND PADA PADB */
    double seconds;                     /* the three GEMMs of a step, best of the repeats */
    int is_default;                     /* CLBlast's own choice, no override */
    int failed;                         /* CLBlast refused or failed with these values */
} pegr_tuning_result;

/* The stored tuning's file for this device and precision (malloc'ed), or NULL without a cache
 * directory. */
char *pegr_tuning_path(const pegr_device_info *dev, pegr_precision precision);
/* Read a stored tuning file (it sits in the cache directory, which others may be able to write):
 * only a regular file of this user -- no symbolic link, FIFO or device -- of at most
 * PEGR_TUNING_MAX_BYTES, holding exactly one of the candidate parameter sets as `pegr tune` writes
 * it; CLBlast is never handed values pegr did not measure. PEGR_ERR_NOT_FOUND when there is no
 * file; any other refusal is PEGR_ERR_IO or PEGR_ERR_FORMAT with the reason. */
#define PEGR_TUNING_MAX_BYTES 4096
pegr_status pegr_tuning_read(const char *path, size_t values[PEGR_TUNING_PARAMS], pegr_error *err);
/* Apply the stored tuning, when there is one and $PEGR_NO_TUNING is unset. 1 when applied; a file
 * pegr_tuning_read refuses is logged and ignored. */
int pegr_tuning_apply(pegr_context *ctx, pegr_precision precision);
/* Measure CLBlast's own parameters and the first max_candidates candidates (0: all of them) on
 * the GEMM shapes of a step at (n, P = 2, d, m): the span product and the two primal ones. Each
 * candidate is a new kernel for the driver to compile (seconds on a cold PoCL cache). OUT:
 * results (count of them), best index; the best is stored. */
pegr_status pegr_tuning_run(pegr_context *ctx, pegr_precision precision, size_t n, size_t d,
                            size_t m, size_t max_candidates, pegr_tuning_result **results,
                            size_t *count, size_t *best);
const char *const *pegr_tuning_names(void);

#endif

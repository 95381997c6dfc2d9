/* tune.h: `pegr tune` as a library call -- choose the fastest GEMMs for a device and store them.
 * CLBlast's database has no entry for many devices (PoCL's CPU among them) and falls back to
 * generic GEMM parameters; pegr_tuning_run measures candidate parameter sets of CLBlast's
 * XgemmDirect kernel (the one it runs for pegr's tall-skinny shapes) and, per shape class, pegr's
 * own GEMM variants against CLBlast and the simple kernels, on the device, for the shapes of one
 * training step; it stores the fastest in the kernel cache directory (device.h), and every backend
 * opened on that device and precision uses them from then on ($PEGR_NO_TUNING=1 ignores them).
 *
 * Errors: a pegr_status; the message is the context's (pegr_context_error). Ownership: said at each
 * call. Thread-safety: as the context's (one thread at a time); the stored file is replaced
 * atomically, so two tunings of one device leave one of the two. */
#ifndef PEGR_TUNE_H
#define PEGR_TUNE_H

#include <stddef.h>

#include "pegr/device.h"
#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shape classes a GEMM is chosen for: NT (C = A B^T: pre-activations) or TN (C = A^T B:
 * gradients), each small or large (one run's product below or above 2^23 multiply-adds: a span
 * step's products are small; a primal step's, at n 200, d 2000, m 20, large). */
enum {
    PEGR_GEMM_NT_SMALL = 0,
    PEGR_GEMM_NT_LARGE = 1,
    PEGR_GEMM_TN_SMALL = 2,
    PEGR_GEMM_TN_LARGE = 3,
    PEGR_GEMM_CLASSES = 4
};
/* A class's choice: the index of one of pegr's own variants (>= 0), or one of these. */
#define PEGR_GEMM_CHOICE_SIMPLE (-1)  /* the simple kernels of cl/gemm.cl */
#define PEGR_GEMM_CHOICE_CLBLAST (-2) /* CLBlast */

/* "nt-small", "nt-large", "tn-small", "tn-large" (as the stored file and `pegr tune` name them). */
PEGR_API const char *pegr_gemm_class_name(int cls);
/* A choice's name: "simple", "clblast" or the variant's (e.g. "direct-v8-m4-n2"). */
PEGR_API const char *pegr_gemm_choice_name(int choice);

/* The number of CLBlast XgemmDirect parameters a candidate sets. */
#define PEGR_TUNING_PARAMS 10

/* One CLBlast candidate measured. */
typedef struct pegr_tuning_result {
    size_t values[PEGR_TUNING_PARAMS]; /* in the order of pegr_tuning_names() */
    double seconds;                     /* the three GEMMs of a step, best of the repeats */
    int is_default;                     /* CLBlast's own choice, no override */
    int failed;                         /* CLBlast refused or failed with these values */
} pegr_tuning_result;

/* The parameters' names, PEGR_TUNING_PARAMS of them: WGD MDIMCD NDIMCD MDIMAD NDIMBD KWID VWMD
 * VWND PADA PADB. Static storage. */
PEGR_API const char *const *pegr_tuning_names(void);

/* The search over pegr's own kernels: per class, the seconds of each candidate on the class's
 * product at the tuned (n, d, m) (< 0: skipped -- it does not fit the device, or CLBlast is
 * missing), best of the repeats. Filled by pegr_tuning_run; free with pegr_gemm_search_free. */
typedef struct pegr_gemm_search {
    size_t count;      /* candidates */
    int *choice;       /* (count) the candidate: PEGR_GEMM_CHOICE_* or a variant */
    double *seconds;   /* (count x PEGR_GEMM_CLASSES), candidate-major */
    int best[PEGR_GEMM_CLASSES];  /* index into choice */
    size_t dims[PEGR_GEMM_CLASSES][3]; /* M, N, K measured */
} pegr_gemm_search;
/* Free the arrays and zero the struct; a zeroed struct is fine. */
PEGR_API void pegr_gemm_search_free(pegr_gemm_search *s);

/* Measure CLBlast's own parameters and the first max_candidates candidates (0: all of them) on
 * the GEMM shapes of a step at (n, P = 2, d, m): the span product and the two primal ones (none
 * without CLBlast); then every class's candidates (own). Each candidate is a new kernel for the
 * driver to compile (seconds on a cold PoCL cache). Stores the best of everything (not stored
 * without a cache directory). OUT: *results (malloc'ed, free it; NULL without CLBlast), *count of
 * them, *best (index into results), *own (pegr_gemm_search_free). On failure the context's error
 * says why (pegr_context_error). */
PEGR_API pegr_status pegr_tuning_run(pegr_context *ctx, pegr_precision precision, size_t n,
                                     size_t d, size_t m, size_t max_candidates,
                                     pegr_tuning_result **results, size_t *count, size_t *best,
                                     pegr_gemm_search *own);

/* The stored tuning's file for this device and precision (malloc'ed: free it), or NULL without a
 * cache directory. */
PEGR_API char *pegr_tuning_path(const pegr_device_info *dev, pegr_precision precision);

#ifdef __cplusplus
}
#endif
#endif

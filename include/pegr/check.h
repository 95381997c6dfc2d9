/* check.h: `pegr check` as a library call -- can pegr's numbers be trusted on this device? On one
 * OpenCL device, the conformance battery runs every kernel path pegr uses against the exact host
 * reference (plain C, fp64) on edge shapes, several training steps and short trainings of every
 * method in both representations, batched runs against single runs, every GEMM path (pegr's
 * variants, the simple kernels, CLBlast), and the kernel binary cache: one record per check and
 * precision with the worst error measured against its tolerance (each tolerance, and where it
 * comes from, is written down in the library's source, src/check/check.h).
 *
 * Errors: a failing check is a FAIL record, not an error; the calls return non-OK only for a bad
 * request (PEGR_ERR_INVALID_ARGUMENT, with a message in `err`). Ownership: records are passed to
 * the callback by pointer, valid during the call only (copy what you keep). Thread-safety: a
 * battery makes and releases its own contexts and shares nothing with the caller's; run one
 * battery per device at a time. */
#ifndef PEGR_CHECK_H
#define PEGR_CHECK_H

#include <stddef.h>

#include "pegr/device.h"
#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pegr_check_status {
    PEGR_CHECK_PASS = 0,
    PEGR_CHECK_FAIL = 1,
    PEGR_CHECK_SKIP = 2, /* not applicable here: no fp64, CLBlast not built, cache off, ... */
} pegr_check_status;

typedef struct pegr_check_record {
    char name[64];             /* stable identifier: "eval-primal-gd", "cache", ... */
    const char *what;          /* one line on what it compares (static storage) */
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
PEGR_API pegr_status pegr_check_run(const pegr_device_info *device,
                                    const pegr_check_options *options,
                                    pegr_check_summary *summary, pegr_error *err);

/* The battery in one precision, for a command about to use the device (`pegr sweep`): skipped
 * when this pegr (version, revision, CLBlast or not) has already passed it on this device, driver
 * and precision -- a pass is cached in the kernel binary cache's directory (device.h,
 * pegr_program_build; no caching with PEGR_NO_CACHE=1), a failure is not, and with a planted
 * fault (base->fault or PEGR_CHECK_FAULT) the battery always runs and nothing is cached. `base`
 * (may be NULL): the log, the fault hook and a record callback. OUT: *cached (1: the stored pass, nothing ran), *summary, and `failed` (may be
 * NULL): the failed checks, "name (detail), ...", cut to failed_size. */
PEGR_API pegr_status pegr_check_device(const pegr_device_info *device, pegr_precision precision,
                                       const pegr_check_options *base, int *cached,
                                       pegr_check_summary *summary, char *failed,
                                       size_t failed_size, pegr_error *err);

/* 1 when `name` is one of the battery's checks ("eval-primal-gd", "gemm-direct-v8-m4-n2", ...). */
PEGR_API int pegr_check_known(const char *name);

/* "pass", "FAIL", "skipped"; never NULL. */
PEGR_API const char *pegr_check_status_name(pegr_check_status status);

#ifdef __cplusplus
}
#endif
#endif

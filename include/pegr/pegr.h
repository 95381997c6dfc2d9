/* pegr.h: the public interface of libpegr -- per-example gradient regularization (PEGR) on the
 * signal-noise data model, trained with OpenCL kernels compiled at run time.
 *
 * Conventions: every call returns a pegr_status (0 success, negative failure; see status.h).
 * Calls without a handle take an optional `pegr_error *err` (OUT: the message with context).
 * Calls on a pegr_context record their error in that context (pegr_context_error). The library
 * never exits and never prints; it reports through return codes, error records and an optional
 * log callback. */
#ifndef PEGR_PEGR_H
#define PEGR_PEGR_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/status.h"
#include "pegr/device.h"
#include "pegr/data.h"
#include "pegr/backend.h"
#include "pegr/train.h"
#include "pegr/sweep.h"
#include "pegr/io.h"
#include "pegr/run_files.h"
#include "pegr/check.h"
#include "pegr/tune.h"
#include "pegr/numparse.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library version, "MAJOR.MINOR.PATCH". */
PEGR_API const char *pegr_version(void);
/* The git revision the library was built from (`git describe --always --dirty`), "unknown" outside
 * a git checkout. */
PEGR_API const char *pegr_git_revision(void);
/* Seconds from a monotonic clock (CLOCK_MONOTONIC): the clock of every timing pegr reports
 * (records' wall_seconds, build and bench times), for a client that times alongside them. */
PEGR_API double pegr_now_seconds(void);

#ifdef __cplusplus
}
#endif
#endif

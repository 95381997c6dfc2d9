/* engine_buffers.h: the buffer layer of the OpenCL engine (engine_buffers.c): device buffers
 * within the limits, uploads and downloads, and the failure report every op ends with
 * (engine_internal.h has the layers). */
#ifndef PEGR_ENGINE_BUFFERS_H
#define PEGR_ENGINE_BUFFERS_H

#include "engine/engine_profile.h"

/* A failure of an engine op, s (recorded on the context by pegr_ctx_fail / pegr_ctx_cl_fail),
 * copied into the caller's err with its real message; every op's failure path ends here. */
pegr_status engine_report(pegr_engine *e, pegr_status s, pegr_error *err);
/* Allocate a device buffer of `bytes` (named for messages) within the device's limits and the
 * engine's cap; PEGR_ERR_DEVICE_MEMORY says what was asked and what the device has. */
pegr_status engine_alloc(pegr_engine *e, cl_mem *buf, size_t bytes, const char *name);
void engine_free(pegr_engine *e, cl_mem *buf, size_t bytes);
/* The same for a per-run buffer: `bytes` for each of the engine's runs. */
pegr_status engine_alloc_runs(pegr_engine *e, cl_mem *buf, size_t bytes, const char *name);
void engine_free_runs(pegr_engine *e, cl_mem *buf, size_t bytes);
/* b.run_lam or b.run_lr (with its host copy `held`) set to values[r] (NULL: `value` for every run),
 * written only when something changed. */
pegr_status engine_set_run_values(pegr_engine *e, cl_mem buf, double *held, const double *values,
                                  double value);
/* Host double array -> device REAL buffer (non-blocking: src may be reused at once), and back
 * (blocking). engine_uploads_settle waits for the uploads in flight and frees their copies. */
pegr_status engine_upload(pegr_engine *e, cl_mem buf, const double *src, size_t count);
void engine_uploads_settle(pegr_engine *e);
/* After a blocking read of the caller's own (the queue has drained): free the copies of the
 * uploads that are done, without waiting. */
void engine_uploads_reap(pegr_engine *e);
pegr_status engine_download(pegr_engine *e, cl_mem buf, size_t offset, double *dst, size_t count);

#endif

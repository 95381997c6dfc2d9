/* engine.h: the OpenCL engine -- pegr's backend on a device: the data, the weights and every
 * intermediate live in device buffers; a step is GEMM, coefficient kernels, GEMM, update. */
#ifndef PEGR_ENGINE_H
#define PEGR_ENGINE_H

#include "backend/backend_impl.h"
#include "pegr/pegr.h"

typedef struct pegr_engine_options {
    pegr_precision precision;
    pegr_gemm_impl gemm;
    /* The share of the device's global memory pegr may allocate (default 0.8); every buffer is
     * also kept within the device's max allocation. Per-example gradients are chunked to fit. */
    double memory_fraction;
    /* At most this many examples' gradients are materialized at once (0: as many as fit). */
    size_t per_example_chunk;
} pegr_engine_options;

/* A backend on ctx (the engine takes ownership of ctx and destroys it with itself, also on
 * failure). fp64 on a device without cl_khr_fp64 is refused with a clear error. */
pegr_backend *pegr_engine_create(pegr_context *ctx, const pegr_engine_options *options,
                                 pegr_error *err);

/* The context an engine runs on (for its last error and device facts). */
pegr_context *pegr_engine_context(pegr_backend *b);
/* Bytes of device memory the engine holds now, and the most it held at once. */
size_t pegr_engine_bytes_in_use(const pegr_backend *b);
size_t pegr_engine_bytes_peak(const pegr_backend *b);
/* Start measuring the peak afresh (from what is in use now). */
void pegr_engine_reset_peak(pegr_backend *b);
/* Which GEMM the engine uses: "own" or "clblast". */
const char *pegr_engine_gemm_name(const pegr_backend *b);

/* Device time per kernel, from profiling events (the context needs profiling = 1). */
#define PEGR_ENGINE_MAX_PROFILED 32
size_t pegr_engine_profile(pegr_backend *b, const pegr_kernel_time **times);
void pegr_engine_profile_reset(pegr_backend *b);

#endif

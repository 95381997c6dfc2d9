/* engine_reduce.h: the reduction layer of the OpenCL engine (engine_reduce.c): one work-group per
 * run into the run's row of scalar slots, and what a row means (engine_internal.h has the layers). */
#ifndef PEGR_ENGINE_REDUCE_H
#define PEGR_ENGINE_REDUCE_H

#include "engine/engine_launch.h"

/* Per run: out[slot] = scale * reduction of the run's `count` elements of x (mode PEGR_REDUCE_*,
 * w for PEGR_REDUCE_DOT) */
pegr_status engine_reduce(pegr_engine *e, cl_mem x, cl_mem w, size_t count, int mode, double scale,
                          int slot);
/* Per run: scalars[slot_a] = x_a . w and scalars[slot_b] = x_b . w over the run's `count`
 * elements, in one launch (each as engine_reduce's PEGR_REDUCE_DOT with scale 1 computes it). */
pegr_status engine_reduce_pair(pegr_engine *e, cl_mem xa, cl_mem xb, cl_mem w, size_t count,
                               int slot_a, int slot_b);
/* Run r's objective from its row of scalars. */
double engine_objective(const pegr_engine *e, const pegr_eval_request *req, size_t r,
                        const double *slots);
/* The largest PEGR_REDUCE_WG to build the engine's program with: the reductions' __local
 * arrays within PEGR_WG_SIZE and the device's local memory (a power of two). */
size_t engine_reduce_wg_largest(const pegr_engine *e);
/* The local memory the built reduction kernels take (the larger of pegr_train_stats' and
 * pegr_reduce_pair's, as the driver reports it; 0 when it does not say). */
cl_ulong engine_reduce_local_bytes(pegr_engine *e);
/* e->reduce_wg from the built kernels: a power of two within their limits and PEGR_REDUCE_WG. */
void engine_reduce_fit(pegr_engine *e);

#endif

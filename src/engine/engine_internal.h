/* engine_internal.h: the whole inside of the OpenCL engine, for engine.c and white-box tests.
 *
 * The engine is a stack of layers, each a .c file with its own header; a file may call only the
 * layers below its own, and never one above, so the dependencies point one way (down):
 *
 *   engine.c          the backend object: creation (program, kernels), set_data, set_weights,
 *                     set_runs, get_weights, destroy and the function table  (includes this file)
 *   engine_eval.c     evaluate and step: the coefficient kernels and a pass's outputs
 *   engine_metrics.c  the reference, the paper's metrics, the perturbed test error, Philox debug
 *   engine_span.c     the span representation W = W0 + Gam X; the current weights
 *   engine_gemm.c     Z = X W^T and G = C^T X (pegr's own variants, the simple kernels, CLBlast)
 *   engine_reduce.c   reductions into the runs' scalar slots; their work-group size; the objective
 *   engine_launch.c   typed kernel arguments and launches (work-group sizes, launch records)
 *   engine_buffers.c  device buffers and their accounting, uploads, downloads, engine_report
 *   engine_profile.c  profiling events, per-kernel device time
 *   engine_object.h   the engine object itself (kernels, buffers, state): types only
 *
 * Each header engine_X.h declares what engine_X.c defines and includes the header of the layer
 * just below it, so a file that includes its own header sees its own layer and every one below,
 * and a call upward does not compile (no declaration). tests/check_engine_layers.sh checks that
 * every engine file includes only its own layer's header (engine.c: this one) and that the
 * headers chain in the order above.
 *
 * Batches: the engine trains e->runs runs of the same shapes at once (backend.h); see
 * engine_object.h. */
#ifndef PEGR_ENGINE_INTERNAL_H
#define PEGR_ENGINE_INTERNAL_H

#include "engine/engine_eval.h"

#endif

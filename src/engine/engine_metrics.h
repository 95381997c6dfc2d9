/* engine_metrics.h: the metrics layer of the OpenCL engine (engine_metrics.c): the reference, the
 * paper's metrics, the perturbed test error and the Philox debug entries (engine_internal.h has
 * the layers). */
#ifndef PEGR_ENGINE_METRICS_H
#define PEGR_ENGINE_METRICS_H

#include "engine/engine_span.h"

pegr_status engine_set_reference(pegr_backend *b, const pegr_reference *ref, pegr_error *err);
void engine_free_reference(pegr_engine *e);
/* The metrics at the weights of the pass just run (Z, the per-example terms and the gradient
 * of the objective are in their buffers). */
pegr_status engine_metrics(pegr_engine *e, const pegr_eval_request *req, pegr_metrics *out);
pegr_status engine_perturbed_test_error(pegr_backend *b, double q, const double *sigmas,
                                        size_t nsigmas, const uint64_t *seed, double *rate,
                                        pegr_error *err);
/* Tests and debugging: rng.h's Philox blocks for (seed, stream, first + j), j < count, computed
 * on the device (words: 4 per block), and the normal the engine's precision draws from each. */
pegr_status engine_debug_philox(pegr_backend *b, uint64_t seed, uint32_t stream, uint64_t first,
                                size_t count, uint32_t *words, double *normals, pegr_error *err);
/* The normal the engine's precision maps each block of words (4 per value) to. */
pegr_status engine_debug_normals(pegr_backend *b, const uint32_t *words, size_t count,
                                 double *normals, pegr_error *err);
/* Test error rate into SLOT_TEST_ERROR of the weights in buffer W on X (nt examples), or, with
 * X NULL in the span representation, of the current weights on the stored test set. */
pegr_status engine_test_error(pegr_engine *e, cl_mem X, cl_mem W, size_t nt, double q);

#endif

/* engine_eval.h: the evaluation layer of the OpenCL engine (engine_eval.c): the backend's evaluate
 * and step (engine_internal.h has the layers). */
#ifndef PEGR_ENGINE_EVAL_H
#define PEGR_ENGINE_EVAL_H

#include "engine/engine_metrics.h"

pegr_status engine_evaluate(pegr_backend *b, const pegr_eval_request *req, pegr_error *err);
pegr_status engine_step(pegr_backend *b, const pegr_eval_request *req, double lr, pegr_error *err);
/* One SAM step of gd (pegr/backend.h: pegr_backend_sam_step). */
pegr_status engine_sam_step(pegr_backend *b, const pegr_eval_request *req, double lr, double rho,
                            const double *run_rho, pegr_error *err);
/* Fill b.omega with 1/n. */
pegr_status engine_uniform_weights(pegr_engine *e);

#endif

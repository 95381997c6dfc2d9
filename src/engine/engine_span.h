/* engine_span.h: the span layer of the OpenCL engine (engine_span.c): the span (dual)
 * representation W = W0 + Gam X on the device (engine_internal.h has the layers). */
#ifndef PEGR_ENGINE_SPAN_H
#define PEGR_ENGINE_SPAN_H

#include "engine/engine_gemm.h"

pegr_status engine_set_representation(pegr_backend *b, int span, pegr_error *err);
/* S = X X^T, Zs0 = X W^T, Gam = 0 for the weights just set (when span was requested). */
pegr_status engine_span_setup(pegr_engine *e);
void engine_span_free(pegr_engine *e);
/* Z = Zs0 + S Gam^T; engine_span_product leaves out the + Zs0 (pegr_coef_fused adds it) */
pegr_status engine_span_forward(pegr_engine *e);
pegr_status engine_span_product(pegr_engine *e);
/* Gam -= lr C^T per run (the rates in b.run_lr), flagging non-finite values */
pegr_status engine_span_update(pegr_engine *e, int step);
/* out (rows x cols) = S C, for gr's <x, V> and gradient norms without d-sized work */
pegr_status engine_span_times_S(pegr_engine *e, cl_mem C, cl_mem out);
/* out (cols x d) = W0 + Gam X: the weights, formed only when asked */
pegr_status engine_span_weights(pegr_engine *e, cl_mem out);
/* At set_reference: X mu, X_test X^T and X_test W0^T (w0: W0 on the device). */
pegr_status engine_span_reference(pegr_engine *e, cl_mem w0);
/* gamma's differences c-wise: out (cols) = Gam (X mu) */
pegr_status engine_span_gamma(pegr_engine *e, cl_mem out);
/* Z_test = X_test W0^T + (X_test X^T) Gam^T */
pegr_status engine_span_test_forward(pegr_engine *e);

/* The buffer holding the current weights: b.W, or in the span representation W0 + Gam X formed
 * into b.grad (so the gradient buffer is overwritten). */
cl_mem engine_current_weights(pegr_engine *e, pegr_status *s);

/* Whether pegr_coef_item is to form the span product S Gam^T itself (it then needs b.Gam2): the
 * engine's coefficient kernel is pegr_coef_item and rows n P are few enough, or
 * PEGR_COEF_PRODUCT says so. */
int engine_item_product_wanted(const pegr_engine *e);

#endif

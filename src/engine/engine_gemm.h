/* engine_gemm.h: the GEMM layer of the OpenCL engine (engine_gemm.c): Z = X W^T and G = C^T X on
 * pegr's kernels or CLBlast (engine_internal.h has the layers). */
#ifndef PEGR_ENGINE_GEMM_H
#define PEGR_ENGINE_GEMM_H

#include "engine/engine_reduce.h"

/* Both shapes are batched over the runs, each operand one run's matrix after another (strides
 * rows * d, cols * d, rows * cols). */
pegr_status engine_gemm_init(pegr_engine *e);
/* Tests: CLBlast's results in the first-use check against pegr's own GEMM are multiplied by this
 * (1; another value forces a disagreement and the fallback to pegr's kernels). */
extern double engine_gemm_test_clblast_scale;
/* Test hook: scales a GEMM variant's products in its check before first use (engine_gemm.c);
 * engine_gemm_variants_refused counts the variants such checks turned down. */
extern double engine_gemm_test_variant_scale;
/* Test hook: nonzero makes every CLBlast product fail (CL_INVALID_WORK_ITEM_SIZE), as CLBlast does
 * on a device whose limits its parameters exceed; the engine then falls back to its own kernels. */
extern int engine_gemm_test_clblast_error;
extern unsigned engine_gemm_variants_refused;
/* Release what engine_gemm_init and the products built (engine_destroy must call it). */
void engine_gemm_free(pegr_engine *e);
/* Z (rows x cols) = X (rows x d) W^T */
pegr_status engine_gemm_nt(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem X, cl_mem W,
                           cl_mem Z);
/* G (cols x d) = C^T X, C (rows x cols) */
pegr_status engine_gemm_tn(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem C, cl_mem X,
                           cl_mem G);

#endif

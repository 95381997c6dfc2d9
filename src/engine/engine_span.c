/* engine_span.c: the span (dual) representation of docs/math.md on the device. Every gradient is a
 * combination of the training patches, so W_t = W_0 + Gam_t X; with S = X X^T (computed once) a
 * step is Z = Z0 + S Gam^T, the usual coefficient kernels, and Gam -= lr C^T: 2m (nP)^2 work per
 * step instead of 4 m nP d. W is formed only when asked for (W0 + Gam X; engine_current_weights
 * serves either representation). Calls the GEMM layer and those below it (engine_internal.h). */
#include <stdlib.h>

#include "engine/engine_span.h"

static size_t rows_of(const pegr_engine *e) { return e->n * e->P; }

/* Up to this many rows n P per run pegr_coef_item forms the span product S Gam^T itself on CPUs
 * (one launch a step instead of two). */
#define ITEM_PRODUCT_ROWS 256

int engine_item_product_wanted(const pegr_engine *e)
{
    if (!e->coef_item) return 0;
    if (e->item_product >= 0) return e->item_product;
    return e->n * e->P <= ITEM_PRODUCT_ROWS;
}

void engine_span_free(pegr_engine *e)
{
    size_t rows = rows_of(e), cols = 2 * e->m, el = e->elem, ntP = e->n_test * e->P;
    engine_free_runs(e, &e->b.S, rows * rows * el);
    engine_free_runs(e, &e->b.Gam, cols * rows * el);
    engine_free_runs(e, &e->b.Gam2, cols * rows * el);
    engine_free_runs(e, &e->b.Zs0, rows * cols * el);
    engine_free_runs(e, &e->b.CT, cols * rows * el);
    engine_free_runs(e, &e->b.SC, rows * cols * el);
    engine_free_runs(e, &e->b.Xmu, engine_signal_rows(e) * rows * el);
    engine_free_runs(e, &e->b.Sx, ntP * rows * el);
    engine_free_runs(e, &e->b.Zt0, ntP * cols * el);
    e->span = 0;
}

pegr_status engine_set_representation(pegr_backend *b, int span, pegr_error *err)
{
    pegr_engine *e = (pegr_engine *)b;
    if (e->have_weights)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "choose the representation before set_weights");
    e->span_requested = span != 0;
    return PEGR_OK;
}

static pegr_status fill_zero(pegr_engine *e, cl_mem buf, size_t count)
{
    double *zeros = calloc(count ? count : 1, sizeof(double));
    if (!zeros) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory");
    pegr_status s = engine_upload(e, buf, zeros, count);
    free(zeros);
    return s;
}

pegr_status engine_span_setup(pegr_engine *e)
{
    size_t rows = rows_of(e), cols = 2 * e->m, el = e->elem;
    engine_span_free(e);
    pegr_status s = engine_alloc_runs(e, &e->b.S, rows * rows * el, "S = X X^T");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.Gam, cols * rows * el, "Gam");
    /* pegr_coef_item's product writes the next Gam beside the one it reads (CPUs, small n P) */
    if (s == PEGR_OK && engine_item_product_wanted(e))
        s = engine_alloc_runs(e, &e->b.Gam2, cols * rows * el, "Gam (next)");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.Zs0, rows * cols * el, "X W0^T");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.CT, cols * rows * el, "span scratch");
    if (s == PEGR_OK) s = engine_alloc_runs(e, &e->b.SC, rows * cols * el, "span scratch");
    if (s == PEGR_OK) s = engine_gemm_nt(e, rows, rows, e->d, e->b.X, e->b.X, e->b.S);
    if (s == PEGR_OK) s = engine_gemm_nt(e, rows, cols, e->d, e->b.X, e->b.W, e->b.Zs0);
    if (s == PEGR_OK) s = fill_zero(e, e->b.Gam, e->runs * cols * rows);
    if (s != PEGR_OK) {
        engine_span_free(e);
        return s;
    }
    e->span = 1;
    return PEGR_OK;
}

/* y += x over `count` elements of each run */
static pegr_status add(pegr_engine *e, cl_mem x, cl_mem y, size_t count)
{
    engine_args a = engine_args_begin(e, e->k.add, "pegr_add");
    engine_arg_u32(&a, e->runs * count);
    engine_arg_mem(&a, x);
    engine_arg_mem(&a, y);
    size_t global[1] = {e->runs * count};
    return engine_launch(&a, 1, global);
}

static pegr_status transpose(pegr_engine *e, size_t rows, size_t cols, cl_mem in, cl_mem out)
{
    engine_args a = engine_args_begin(e, e->k.transpose, "pegr_transpose");
    engine_arg_u32(&a, rows);
    engine_arg_u32(&a, cols);
    engine_arg_mem(&a, in);
    engine_arg_mem(&a, out);
    size_t global[3] = {rows, cols, e->runs};
    return engine_launch(&a, 3, global);
}

pegr_status engine_span_product(pegr_engine *e)
{
    size_t rows = rows_of(e);
    return engine_gemm_nt(e, rows, 2 * e->m, rows, e->b.S, e->b.Gam, e->b.Z);
}

pegr_status engine_span_forward(pegr_engine *e)
{
    pegr_status s = engine_span_product(e);
    return s == PEGR_OK ? add(e, e->b.Zs0, e->b.Z, rows_of(e) * 2 * e->m) : s;
}

pegr_status engine_span_update(pegr_engine *e, int step)
{
    engine_args a = engine_args_begin(e, e->k.span_update, "pegr_span_update");
    engine_arg_u32(&a, rows_of(e));
    engine_arg_u32(&a, 2 * e->m);
    engine_arg_mem(&a, e->b.run_lr);
    engine_arg_mem(&a, e->b.C);
    engine_arg_mem(&a, e->b.Gam);
    engine_arg_i32(&a, step);
    engine_arg_mem(&a, e->b.first_bad);
    size_t global[3] = {rows_of(e), 2 * e->m, e->runs};
    return engine_launch(&a, 3, global);
}

pegr_status engine_span_times_S(pegr_engine *e, cl_mem C, cl_mem out)
{
    size_t rows = rows_of(e), cols = 2 * e->m;
    pegr_status s = transpose(e, rows, cols, C, e->b.CT);
    return s == PEGR_OK ? engine_gemm_nt(e, rows, cols, rows, e->b.S, e->b.CT, out) : s;
}

pegr_status engine_span_weights(pegr_engine *e, cl_mem out)
{
    size_t rows = rows_of(e), cols = 2 * e->m;
    /* Gam X = (Gam^T)^T X: transpose Gam (cols x rows) into SC (rows x cols), then C^T X. */
    pegr_status s = transpose(e, cols, rows, e->b.Gam, e->b.SC);
    if (s == PEGR_OK) s = engine_gemm_tn(e, rows, cols, e->d, e->b.SC, e->b.X, out);
    return s == PEGR_OK ? add(e, e->b.W, out, cols * e->d) : s;
}

pegr_status engine_span_reference(pegr_engine *e, cl_mem w0)
{
    size_t rows = rows_of(e), cols = 2 * e->m, el = e->elem, ntP = e->n_test * e->P;
    size_t S = engine_signal_rows(e);
    pegr_status s = engine_alloc_runs(e, &e->b.Xmu, S * rows * el, "X mu");
    /* one signal vector: X mu (rows x 1, the same memory as 1 x rows); XOR's two: (mu X^T), 2 x
     * rows, the layout engine_span_gamma multiplies */
    if (s == PEGR_OK && S == 1) s = engine_gemm_nt(e, rows, 1, e->d, e->b.X, e->b.mu, e->b.Xmu);
    if (s == PEGR_OK && S > 1) s = engine_gemm_nt(e, S, rows, e->d, e->b.mu, e->b.X, e->b.Xmu);
    if (s == PEGR_OK && ntP) s = engine_alloc_runs(e, &e->b.Sx, ntP * rows * el, "X_test X^T");
    if (s == PEGR_OK && ntP) s = engine_alloc_runs(e, &e->b.Zt0, ntP * cols * el, "X_test W0^T");
    if (s == PEGR_OK && ntP) s = engine_gemm_nt(e, ntP, rows, e->d, e->b.X_test, e->b.X, e->b.Sx);
    if (s == PEGR_OK && ntP) s = engine_gemm_nt(e, ntP, cols, e->d, e->b.X_test, w0, e->b.Zt0);
    return s;
}

pegr_status engine_span_gamma(pegr_engine *e, cl_mem out)
{
    /* (mu W^T - mu W0^T)_c = sum_row Gam[c, row] (X mu)[row]: a 1 x rows by rows x cols product
     * (XOR: n_signal x rows, one row per signal direction) */
    return engine_gemm_nt(e, engine_signal_rows(e), 2 * e->m, rows_of(e), e->b.Xmu, e->b.Gam, out);
}

/* The test set's pre-activations in the span: Z_test = Zt0 + Sx Gam^T. */
pegr_status engine_span_test_forward(pegr_engine *e)
{
    size_t ntP = e->n_test * e->P, cols = 2 * e->m;
    pegr_status s = engine_gemm_nt(e, ntP, cols, rows_of(e), e->b.Sx, e->b.Gam, e->b.Z_test);
    return s == PEGR_OK ? add(e, e->b.Zt0, e->b.Z_test, ntP * cols) : s;
}

cl_mem engine_current_weights(pegr_engine *e, pegr_status *s)
{
    if (!e->span) return e->b.W;
    *s = engine_span_weights(e, e->b.grad); /* the gradient buffer serves as scratch */
    return e->b.grad;
}

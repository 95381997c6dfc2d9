/* span.cl: the span (dual) representation of docs/math.md. W_t = W_0 + Gam_t X, with Gam stored as
 * cols x rows (cols = 2m, rows = n*P); a step is Z = Z0 + S Gam^T (S = X X^T, one GEMM whose
 * size does not depend on d), the same coefficient kernels, then Gam -= lr * C^T:
 *   pegr_add          (count):       y += x
 *   pegr_transpose    (rows, cols, runs):  out (cols x rows) = in^T, in (rows x cols), per run
 * then Gam -= lr C^T: pegr_span_update, or folded into pegr_coef_fused or pegr_coef_item (all in
 * coefficients.cl, which holds the update's one helper; pegr_coef_item may form S Gam^T too)
 * (a batch of runs keeps its runs' matrices one after another) */

__kernel void pegr_add(const uint count, __global const REAL *x, __global REAL *y)
{
    const uint k = get_global_id(0);
    if (k < count) y[k] += x[k];
}

__kernel void pegr_transpose(const uint rows, const uint cols, __global const REAL *in,
                             __global REAL *out)
{
    const uint row = get_global_id(0);
    const uint c = get_global_id(1);
    const size_t at = get_global_id(2) * rows * cols;
    if (row >= rows || c >= cols) return;
    out[at + (size_t)c * rows + row] = in[at + (size_t)row * cols + c];
}

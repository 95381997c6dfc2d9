/* span.cl: the span (dual) representation of math.md. W_t = W_0 + Gam_t X, with Gam stored as
 * cols x rows (cols = 2m, rows = n*P); a step is Z = Z0 + S Gam^T (S = X X^T, one GEMM whose
 * size does not depend on d), the same coefficient kernels, then Gam -= lr * C^T:
 *   pegr_add          (count):       y += x
 *   pegr_transpose    (cols, rows):  out (cols x rows) = in^T, in (rows x cols)
 *   pegr_span_update  (rows, cols):  Gam[c, row] -= lr * C[row, c], flagging non-finite values as
 *                                    pegr_update does */

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
    if (row >= rows || c >= cols) return;
    out[(size_t)c * rows + row] = in[(size_t)row * cols + c];
}

__kernel void pegr_span_update(const uint rows, const uint cols, const REAL lr,
                               __global const REAL *C, __global REAL *Gam, const int step,
                               __global int *first_bad)
{
    const uint row = get_global_id(0);
    const uint c = get_global_id(1);
    if (row >= rows || c >= cols) return;
    const size_t at = (size_t)c * rows + row;
    const REAL g = Gam[at] - lr * C[(size_t)row * cols + c];
    Gam[at] = g;
    if (!isfinite(g)) atomic_min(first_bad, step);
}

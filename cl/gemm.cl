/* gemm.cl: pegr's own GEMMs for the two shapes of a training step (both row-major):
 *   pegr_gemm_nt:  Z (rows x cols) = X (rows x d) * W^T,  W (cols x d)   -- pre-activations
 *   pegr_gemm_tn:  G (cols x d)    = C^T * X,  C (rows x cols), X (rows x d) -- gradients
 * Both are strided-batched: dimension 2 of the launch is the run of a batch of runs that share
 * shapes, and each operand of run b starts b * its stride elements in (stride 0: shared).
 * rows = n*P is small to moderate, cols = 2m is small, d is large: tall-skinny products where a
 * general tuned GEMM has little room. Any size works (no multiple-of-N assumption); launched with
 * a NULL local size, so any work-group size the driver picks is correct. */

/* One work-item per output: a dot product of length d, four partial sums (fewer rounding steps
 * in a row, and independent chains the compiler can vectorize). */
__kernel void pegr_gemm_nt(const uint rows, const uint cols, const uint d,
                           __global const REAL *X, const ulong x_stride, __global const REAL *W,
                           const ulong w_stride, __global REAL *Z, const ulong z_stride)
{
    const uint c = get_global_id(0);
    const uint row = get_global_id(1);
    const size_t b = get_global_id(2);
    if (c >= cols || row >= rows) return;
    const __global REAL *x = X + b * x_stride + (size_t)row * d;
    const __global REAL *w = W + b * w_stride + (size_t)c * d;
    Z += b * z_stride;
    REAL s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint k = 0;
    for (; k + 4 <= d; k += 4) {
        s0 += x[k] * w[k];
        s1 += x[k + 1] * w[k + 1];
        s2 += x[k + 2] * w[k + 2];
        s3 += x[k + 3] * w[k + 3];
    }
    for (; k < d; k++) s0 += x[k] * w[k];
    Z[(size_t)row * cols + c] = (s0 + s1) + (s2 + s3);
}

/* One work-item per output G[c, k]: consecutive work-items read consecutive X (coalesced on GPUs,
 * vectorized across work-items on CPUs). */
__kernel void pegr_gemm_tn(const uint rows, const uint cols, const uint d,
                           __global const REAL *C, const ulong c_stride, __global const REAL *X,
                           const ulong x_stride, __global REAL *G, const ulong g_stride)
{
    const uint k = get_global_id(0);
    const uint c = get_global_id(1);
    const size_t b = get_global_id(2);
    if (k >= d || c >= cols) return;
    C += b * c_stride;
    X += b * x_stride;
    G += b * g_stride;
    REAL s = 0;
    for (uint row = 0; row < rows; row++) s += C[(size_t)row * cols + c] * X[(size_t)row * d + k];
    G[(size_t)c * d + k] = s;
}

/* metrics.cl: the paper's metrics on the device, so that only scalars (and 2m numbers for the
 * signal learning gamma) are read back at log steps.
 *   pegr_rho          (n):  rho_i = max over filters r of the example's own class and over its
 *                           noise patches p of <W[j,r] - W0[j,r], x_i,p> = (Z - Z0)[i, p, j, r]
 *   pegr_train_stats  (one work-group per run): sums of loss, errors, ||g_i||^2, ||g_i||^4, rho
 *   pegr_test_wrong   (n):  wrong_i = 1 when y_i f(W, x_i) <= 0 (f from pre-activations Z)
 * Layouts as in coefficients.cl: Z is (n*P) x 2m, column c = j*m + r. */

__kernel void pegr_rho(const uint n, const uint P, const uint m, __global const REAL *y,
                       __global const uint *signal_patch, __global const REAL *Z,
                       __global const REAL *Z0, __global REAL *rho)
{
    const uint i = get_global_id(0);
    if (i >= n) return;
    const uint cols = 2 * m;
    const uint j = y[i] > 0 ? 0 : 1;
    REAL best = 0;
    int any = 0;
    for (uint p = 0; p < P; p++) {
        if (p == signal_patch[i]) continue;
        for (uint r = 0; r < m; r++) {
            const size_t at = ((size_t)i * P + p) * cols + j * m + r;
            const REAL v = Z[at] - Z0[at];
            if (!any || v > best) best = v;
            any = 1;
        }
    }
    rho[i] = best; /* 0 when the example has no noise patch (P = 1) */
}

#define PEGR_STATS 5

/* Work-group g sums run g's n examples: out[g * out_stride + slot + 0..4] = sum loss,
 * #(y f <= 0), sum ||g_i||^2, sum ||g_i||^4, sum rho -- in a fixed order, so the result does not
 * depend on timing. */
__kernel void pegr_train_stats(const uint n, __global const REAL *y, __global const REAL *margin,
                               __global const REAL *loss, __global const REAL *norm2,
                               __global const REAL *rho, __global REAL *out,
                               const uint out_stride, const uint slot)
{
    __local REAL partial[PEGR_STATS][PEGR_WG_SIZE];
    const uint lid = get_local_id(0);
    const uint lsize = get_local_size(0);
    const size_t run = get_group_id(0);
    y += run * n;
    margin += run * n;
    loss += run * n;
    norm2 += run * n;
    rho += run * n;
    out += run * out_stride;
    REAL s[PEGR_STATS] = {0, 0, 0, 0, 0};
    for (uint i = lid; i < n; i += lsize) {
        s[0] += loss[i];
        s[1] += y[i] * margin[i] <= 0 ? (REAL)1 : (REAL)0;
        s[2] += norm2[i];
        s[3] += norm2[i] * norm2[i];
        s[4] += rho[i];
    }
    for (uint k = 0; k < PEGR_STATS; k++) partial[k][lid] = s[k];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = lsize / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            for (uint k = 0; k < PEGR_STATS; k++) partial[k][lid] += partial[k][lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        for (uint k = 0; k < PEGR_STATS; k++) out[slot + k] = partial[k][0];
}

__kernel void pegr_test_wrong(const uint n, const uint P, const uint m, const REAL q,
                              __global const REAL *Z, __global const REAL *y, __global REAL *wrong)
{
    const uint i = get_global_id(0);
    if (i >= n) return;
    const uint cols = 2 * m;
    REAL f = 0;
    for (uint p = 0; p < P; p++)
        for (uint c = 0; c < cols; c++) {
            REAL s, ds, d2s;
            pegr_activation(Z[((size_t)i * P + p) * cols + c], q, &s, &ds, &d2s);
            f += c < m ? s : -s;
        }
    wrong[i] = y[i] * f <= 0 ? (REAL)1 : (REAL)0;
}

/* reduce.cl: small reductions and the update, so that only scalars cross to the host.
 *   pegr_reduce_sum (one work-group): out[slot] = scale * sum_k x[k] (or x[k]^2 when square)
 *   pegr_update: W -= lr * G */

/* One work-group of get_local_size(0) <= PEGR_WG_SIZE work-items (a power of two): each sums a
 * strided share, then a tree in local memory. A fixed order, so the result is deterministic. */
__kernel void pegr_reduce_sum(const uint count, __global const REAL *x, const int square,
                              const REAL scale, __global REAL *out, const uint slot)
{
    __local REAL partial[PEGR_WG_SIZE];
    const uint lid = get_local_id(0);
    const uint lsize = get_local_size(0);
    REAL s = 0;
    for (uint k = lid; k < count; k += lsize) s += square ? x[k] * x[k] : x[k];
    partial[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = lsize / 2; stride > 0; stride /= 2) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[slot] = scale * partial[0];
}

__kernel void pegr_update(const uint count, const REAL lr, __global const REAL *G, __global REAL *W)
{
    const uint k = get_global_id(0);
    if (k < count) W[k] -= lr * G[k];
}

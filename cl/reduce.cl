/* reduce.cl: small reductions and the update, so that only scalars cross to the host. A batch
 * of runs that share shapes keeps its runs one after another in every buffer; each run's scalars
 * are a row of out (out_stride apart).
 *   pegr_reduce_sum (one work-group per run): out[run * out_stride + slot] = scale * sum_k term_k
 *                   over the run's `count` elements, term_k = x[k] (mode PEGR_REDUCE_SUM),
 *                   x[k]^2 (PEGR_REDUCE_SQUARES) or x[k] w[k] (PEGR_REDUCE_DOT)
 *   pegr_reduce_pair (one work-group per run): two weighted sums x1.w and x2.w in one launch (the
 *                   step's loss and penalty), each in pegr_reduce_sum's order
 *   pegr_update: W -= lr[run] * G, recording per run the first step whose weights are not finite;
 *                a run whose lr is 0 is left as it is (a batch freezes a diverged run that way) */

/* PEGR_REDUCE_WG (-D, from the engine: engine_reduce.c) sizes the __local arrays of the
 * one-work-group-per-run reductions here and in metrics.cl: as large as PEGR_WG_SIZE allows and
 * the device's local memory holds (pegr_train_stats needs PEGR_STATS_COUNT x PEGR_REDUCE_WG
 * REALs). */
#ifndef PEGR_REDUCE_WG
#error "PEGR_REDUCE_WG must be defined by the host (the engine's program)"
#endif

/* The work-group's sum of `partial` (get_local_size(0) <= PEGR_REDUCE_WG entries, a power of two,
 * each work-item's own written before the call): a tree in local memory, in a fixed order, so
 * the result is deterministic and the same for a run alone or in a batch. */
PEGR_INLINE REAL pegr_group_sum(__local REAL *partial, const uint lid, const uint lsize)
{
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = lsize / 2; stride > 0; stride /= 2) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return partial[0];
}

/* Work-group g of get_local_size(0) <= PEGR_REDUCE_WG work-items (a power of two) reduces run g:
 * each work-item sums a strided share, then pegr_group_sum. */
__kernel void pegr_reduce_sum(const uint count, __global const REAL *x, __global const REAL *w,
                              const int mode, const REAL scale, __global REAL *out,
                              const uint out_stride, const uint slot)
{
    __local REAL partial[PEGR_REDUCE_WG];
    const uint lid = get_local_id(0);
    const uint lsize = get_local_size(0);
    const size_t run = get_group_id(0);
    x += run * count;
    w += run * count;
    out += run * out_stride;
    REAL s = 0;
    for (uint k = lid; k < count; k += lsize)
        s += mode == PEGR_REDUCE_SUM       ? x[k]
             : mode == PEGR_REDUCE_SQUARES ? x[k] * x[k]
                                           : x[k] * w[k];
    partial[lid] = s;
    const REAL total = pegr_group_sum(partial, lid, lsize);
    if (lid == 0) out[slot] = scale * total;
}

/* out[slot1] = sum_k x1[k] w[k] and out[slot2] = sum_k x2[k] w[k] per run (pegr_reduce_sum's
 * PEGR_REDUCE_DOT with scale 1, twice, in its order). */
__kernel void pegr_reduce_pair(const uint count, __global const REAL *x1,
                               __global const REAL *x2, __global const REAL *w,
                               __global REAL *out, const uint out_stride, const uint slot1,
                               const uint slot2)
{
    __local REAL partial1[PEGR_REDUCE_WG], partial2[PEGR_REDUCE_WG];
    const uint lid = get_local_id(0);
    const uint lsize = get_local_size(0);
    const size_t run = get_group_id(0);
    x1 += run * count;
    x2 += run * count;
    w += run * count;
    out += run * out_stride;
    REAL s1 = 0, s2 = 0;
    for (uint k = lid; k < count; k += lsize) {
        s1 += x1[k] * w[k];
        s2 += x2[k] * w[k];
    }
    partial1[lid] = s1;
    partial2[lid] = s2;
    const REAL total1 = pegr_group_sum(partial1, lid, lsize);
    const REAL total2 = pegr_group_sum(partial2, lid, lsize);
    if (lid == 0) {
        out[slot1] = total1;
        out[slot2] = total2;
    }
}

/* first_bad holds the smallest step index whose update produced a NaN or Inf (PEGR_NO_DIVERGENCE:
 * none); checking costs one comparison per weight and one int read at log steps. */
__kernel void pegr_update(const uint per_run, const uint runs, __global const REAL *lr,
                          __global const REAL *G, __global REAL *W, const int step,
                          __global int *first_bad)
{
    const size_t k = get_global_id(0);
    if (k >= (size_t)per_run * runs) return;
    const size_t run = k / per_run;
    const REAL rate = lr[run];
    if (rate == 0) return;
    const REAL w = W[k] - rate * G[k];
    W[k] = w;
    if (!isfinite(w)) atomic_min(first_bad + run, step);
}

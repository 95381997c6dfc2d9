/* metrics.cl: the paper's metrics on the device, so that only scalars (and 2m numbers for the
 * signal learning gamma) are read back at log steps.
 *   pegr_rho          (n):  rho_i = max over filters r of the example's own class and over its
 *                           noise patches p of <W[j,r] - W0[j,r], x_i,p> = (Z - Z0)[i, p, j, r]
 *                           (with a bias, whose constant 1 is each patch's last coordinate,
 *                           less the bias's change: <W - W0, xi> over the inputs alone)
 *   pegr_train_stats  (one work-group per run): sums of loss, errors, ||g_i||^2, ||g_i||^4, rho
 *   pegr_test_wrong   (n):  wrong_i = 1 when y_i f(W, x_i) <= 0 (f from pre-activations Z)
 *   pegr_robust_noise, pegr_robust_wrong: the robust test (below); pegr_philox_debug: rng.h's
 *                           Philox stream on the device, for tests
 * Layouts as in coefficients.cl: Z is (n*P) x 2m, column c = j*m + r. */

/* n: every run's examples; n_run: one run's. bias (0/1): subtract bias_now - bias_init (run,
 * cols), the change of the bias (engine_metrics.c); without one neither is read. */
__kernel void pegr_rho(const uint n, const uint P, const uint m, __global const REAL *y,
                       __global const uint *signal_patch, __global const REAL *Z,
                       __global const REAL *Z0, __global REAL *rho, const uint n_run,
                       const int bias, __global const REAL *bias_now,
                       __global const REAL *bias_init)
{
    const uint i = get_global_id(0);
    if (i >= n) return;
    const uint cols = 2 * m;
    const uint j = y[i] > 0 ? 0 : 1;
    const size_t run_cols = (size_t)(i / n_run) * cols + j * m;
    REAL best = 0;
    int any = 0;
    for (uint p = 0; p < P; p++) {
        if (p == signal_patch[i]) continue;
        for (uint r = 0; r < m; r++) {
            const size_t at = ((size_t)i * P + p) * cols + j * m + r;
            REAL v = Z[at] - Z0[at];
            if (bias) v -= bias_now[run_cols + r] - bias_init[run_cols + r];
            if (!any || v > best) best = v;
            any = 1;
        }
    }
    rho[i] = best; /* 0 when the example has no noise patch (P = 1) */
}

/* Work-group g sums run g's n examples: out[g * out_stride + slot + 0..4] = sum loss,
 * #(y f <= 0), sum ||g_i||^2, sum ||g_i||^4, sum rho -- in a fixed order, so the result does not
 * depend on timing. The host reserves PEGR_STATS_COUNT (5) slots for them; the __local arrays
 * are sized by PEGR_REDUCE_WG (reduce.cl). */
__kernel void pegr_train_stats(const uint n, __global const REAL *y, __global const REAL *margin,
                               __global const REAL *loss, __global const REAL *norm2,
                               __global const REAL *rho, __global REAL *out,
                               const uint out_stride, const uint slot)
{
    __local REAL partial[PEGR_STATS_COUNT][PEGR_REDUCE_WG];
    const uint lid = get_local_id(0);
    const uint lsize = get_local_size(0);
    const size_t run = get_group_id(0);
    y += run * n;
    margin += run * n;
    loss += run * n;
    norm2 += run * n;
    rho += run * n;
    out += run * out_stride;
    REAL s[PEGR_STATS_COUNT] = {0};
    for (uint i = lid; i < n; i += lsize) {
        s[0] += loss[i];
        s[1] += y[i] * margin[i] <= 0 ? (REAL)1 : (REAL)0;
        s[2] += norm2[i];
        s[3] += norm2[i] * norm2[i];
        s[4] += rho[i];
    }
    for (uint k = 0; k < PEGR_STATS_COUNT; k++) partial[k][lid] = s[k];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = lsize / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            for (uint k = 0; k < PEGR_STATS_COUNT; k++) partial[k][lid] += partial[k][lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        for (uint k = 0; k < PEGR_STATS_COUNT; k++) out[slot + k] = partial[k][0];
}

/* learn: a learned second layer v (runs x cols, run = i / nt) weighs each column; otherwise v is
 * not read (the readout's kappa > 0 does not change the sign of f and is left out). */
__kernel void pegr_test_wrong(const uint n, const uint P, const uint m, const REAL q,
                              __global const REAL *Z, __global const REAL *y, __global REAL *wrong,
                              const uint nt, const int learn, __global const REAL *v)
{
    const uint i = get_global_id(0);
    if (i >= n) return;
    const uint cols = 2 * m;
    const __global REAL *vr = v + (size_t)(i / nt) * cols;
    REAL f = 0;
    for (uint p = 0; p < P; p++)
        for (uint c = 0; c < cols; c++) {
            REAL s, ds, d2s;
            pegr_activation(Z[((size_t)i * P + p) * cols + c], q, &s, &ds, &d2s);
            const REAL t = c < m ? s : -s;
            f += learn ? t * vr[c] : t;
        }
    wrong[i] = y[i] * f <= 0 ? (REAL)1 : (REAL)0;
}

/* ---- The robust test (issue 13): test error under input noise, every noise level at once ------
 * The perturbed input is x + sigma * n, n ~ N(0, I) from the PERTURB stream of the run's seed at
 * the flat index of x in X_test (nt, P, d) -- the same n for every sigma (rng.h, data.c's
 * pegr_perturb). Pre-activations are linear in x, so
 *     <w_c, x + sigma n> = Z_test[row, c] + sigma * G[row, c],   G = N W^T  (nt*P x 2m),
 * and one draw of the noise serves every sigma: pegr_robust_noise draws a block of rows of N on
 * the device (the host multiplies it by W with the engine's GEMM), pegr_robust_wrong counts, per
 * run and sigma, the examples with y f <= 0. Nothing of size nt*P*d crosses to or from the host,
 * and the noise lives on the device one bounded block at a time. */

/* Random123's Philox4x32 constants (rng.c): multipliers and Weyl key increments. */
#define PEGR_PHILOX_M0 0xD2511F53u
#define PEGR_PHILOX_M1 0xCD9E8D57u
#define PEGR_PHILOX_W0 0x9E3779B9u
#define PEGR_PHILOX_W1 0xBB67AE85u

/* The helpers of the robust test are always_inline (a GNU attribute every OpenCL C compiler in
 * use -- Clang-based -- accepts): PoCL's inliner leaves a call to a function this size in place
 * when the work-group loops replicate its call site, and a call keeps the loop scalar. */

/* One Philox round (rng.c's philox_round). Both halves from one 32x32 -> 64-bit product, as in
 * rng.c (on AVX2 a third faster than mul_hi plus a 32-bit multiply). */
PEGR_INLINE __attribute__((always_inline)) uint4 pegr_philox_round(const uint4 x, const uint2 k)
{
    const ulong p0 = (ulong)PEGR_PHILOX_M0 * x.x, p1 = (ulong)PEGR_PHILOX_M1 * x.z;
    return (uint4)((uint)(p1 >> 32) ^ x.y ^ k.x, (uint)p1, (uint)(p0 >> 32) ^ x.w ^ k.y, (uint)p0);
}

/* Philox4x32-10 exactly as rng.c's pegr_philox4x32_10: the first round with the key as given,
 * the key bumped before each later round. Written out round by round: a loop inside a work-item
 * that the compiler leaves rolled keeps PoCL from turning its work-item loop into SIMD lanes. */
PEGR_INLINE __attribute__((always_inline)) uint4 pegr_philox4x32_10(uint4 x, uint2 k)
{
    const uint2 bump = (uint2)(PEGR_PHILOX_W0, PEGR_PHILOX_W1);
    x = pegr_philox_round(x, k);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    x = pegr_philox_round(x, k += bump);
    return x;
}

/* rng.c's block(seed, stream, index): counter {lo(index), hi(index), stream, 0}, key = the seed's
 * two words. */
PEGR_INLINE __attribute__((always_inline)) uint4 pegr_rng_block(const uint2 key, const uint stream,
                                                                const ulong index)
{
    return pegr_philox4x32_10((uint4)((uint)index, (uint)(index >> 32), stream, 0u), key);
}

#if PEGR_FP64
/* log(x) for a normal double x > 0: FreeBSD's e_log.c (fdlibm, < 1 ulp), branch-free, the same
 * steps as pegr_logf below with fdlibm's degree-14 polynomial. */
PEGR_INLINE __attribute__((always_inline)) double pegr_log(const double x)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    /* 32-bit integers and logical 64-bit shifts only: AVX2 has no arithmetic 64-bit shift */
    const ulong bits = as_ulong(x);
    int hx = (int)(bits >> 32); /* the high word */
    int k = (hx >> 20) - 1023;
    hx &= 0x000fffff;
    const int i = (hx + 0x95f64) & 0x100000; /* mantissa >= sqrt(2): halve it */
    const ulong mhi = (ulong)(uint)(hx | (i ^ 0x3ff00000)) << 32;
    const double m = as_double(mhi | (bits & 0xffffffffUL));
    k += i >> 20;
    const double f = m - 1.0, s = f / (2.0 + f), dk = (double)k;
    const double z = s * s, w = z * z;
    const double R = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7))) + w * (Lg2 + w * (Lg4 + w * Lg6));
    const double hfsq = 0.5 * f * f;
    const double big = dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
    const double small = dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
    return ((hx - 0x6147a) | (0x6b851 - hx)) > 0 ? big : small;
}

/* rng.h's normal, sqrt(-2 log u1) cos(TWO_PI u2), from the exact uniforms, computed without
 * calls (PoCL's log and cos are out-of-line calls that keep the work-item loop scalar, 10x
 * slower): log by pegr_log; the cosine with the quadrant taken in integers -- q = round(4 u2),
 * x = TWO_PI (u2 - q/4) in [-pi/4, pi/4] (one rounding) -- and fdlibm's kernels
 * (k_cos.c, k_sin.c, < 1 ulp there). Against rng.c's libm result the difference is a few ulp
 * (angle rounding <= 1e-15 absolute): tests ask for 1e-12; 20 million values differ by at most
 * 3.1e-15. */
PEGR_INLINE __attribute__((always_inline)) double pegr_rng_normal_from(const uint4 w)
{
    const double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                 C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                 C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
    const double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                 S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                 S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
    /* unit(a, b) = (h 2^26 + l) 2^-53, h and l its 27 and 26 bits: summed exactly in double
     * from 32-bit integers (64-bit conversions have no SIMD form on AVX2) */
    const int h1 = (int)(w.x >> 5), l1 = (int)(w.y >> 6);
    const int h2 = (int)(w.z >> 5), l2 = (int)(w.w >> 6);
    const double u1 = (h1 | l1) == 0 ? 0x1p-54 : (double)h1 * 0x1p-27 + (double)l1 * 0x1p-53;
    const int q = (h2 + (1 << 24)) >> 25;         /* round(4 u2), 0 .. 4 */
    const double fr = (double)(h2 - q * (1 << 25)) * 0x1p26 + (double)l2; /* |fr| <= 2^50 */
    const double x = fr * (0x1.921fb54442d18p+2 * 0x1p-53);
    const double z = x * x, zz = z * z;
    const double rc = z * (C1 + z * (C2 + z * C3)) + zz * zz * (C4 + z * (C5 + z * C6));
    const double hz = 0.5 * z, wc = 1.0 - hz;
    const double c = wc + (((1.0 - wc) - hz) + z * rc);
    const double rs = S2 + z * (S3 + z * S4) + z * zz * (S5 + z * S6);
    const double sn = x + z * x * (S1 + z * rs);
    /* cos(q pi/2 + x): q = 0, 4: c; 1: -sn; 2: -c; 3: sn (two two-way selects vectorize where a
     * four-way chain does not) */
    const double v = (q & 1) ? sn : c;
    const double cs = ((q + 1) & 2) ? -v : v;
    return sqrt(-2.0 * pegr_log(u1)) * cs;
}
#else
/* log(x) for a normal float x > 0: FreeBSD's e_logf.c (fdlibm; < 0.9 ulp over the x this file
 * passes, checked exhaustively in steps of 3 ulp against log in double), branch-free -- x split
 * into 2^k m with m in [sqrt(2)/2, sqrt(2)), log(m) = f - s (f - R) or its variant for larger f,
 * s = f / (2 + f), R a degree-8 polynomial in s. Our own rather than the builtin: PoCL's log
 * is an out-of-line call, which keeps the work-item loop around it scalar (10x slower). */
PEGR_INLINE __attribute__((always_inline)) float pegr_logf(const float x)
{
    const float ln2_hi = 0x1.62e3p-1f, ln2_lo = 0x1.2fefa2p-17f; /* ln 2 = hi + lo */
    const float Lg1 = 0xaaaaaa.0p-24f, Lg2 = 0xccce13.0p-25f, Lg3 = 0x91e9ee.0p-25f,
                Lg4 = 0xf89e26.0p-26f;
    int ix = as_int(x);
    int k = (ix >> 23) - 127;
    ix &= 0x007fffff;
    const int i = (ix + (0x95f64 << 3)) & 0x800000;  /* mantissa >= sqrt(2): halve it */
    const float m = as_float(ix | (i ^ 0x3f800000)); /* in [sqrt(2)/2, sqrt(2)) */
    k += i >> 23;
    const float f = m - 1.0f, s = f / (2.0f + f), dk = (float)k;
    const float z = s * s, w = z * z;
    const float R = z * (Lg1 + w * Lg3) + w * (Lg2 + w * Lg4);
    const float hfsq = 0.5f * f * f;
    const float big = dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
    const float small = dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
    return ((ix - (0x6147a << 3)) | ((0x6b851 << 3) - ix)) > 0 ? big : small;
}

/* The same normal computed in float from the same bits, in 32-bit integers and floats only
 * (no 64-bit conversions: SIMD lanes on CPUs), each step within rounding, branch-free:
 *   u1 = h 2^-27 + l 2^-53 (h, l: the 27 and 26 bits of unit(w0, w1)) = a + b, a = u1 rounded
 *   to float, b the remainder (formed from integers); -log(u1) = -log(a) - log1p(b/a), the
 *   second term as r - r^2/2, r = b/a, |r| <= 2^-24, to 2^-75 -- accurate also where u1 is
 *   within 2^-24 of 1, where a log of u1 rounded to float would lose every digit of -log(u1);
 *   cos(2 pi u2) = cospi(2 v), v = u2 or u2 - 1 in [-1/2, 1/2), the shift made in integers.
 * With OpenCL's float limits (sqrt 3 ulp, cospi 4, division 2.5) and pegr_logf's 0.9 the result
 * is within 12 u R + 8 u of rng.c's double (u = 2^-24, R = sqrt(-2 log u1) <= 8.7): at most
 * 6.7e-6, typically ~1e-7 (tests/test_robust.c checks the bound value by value). */
PEGR_INLINE __attribute__((always_inline)) float pegr_rng_normal_from(const uint4 w)
{
    const int h = (int)(w.x >> 5), l = (int)(w.y >> 6);
    const float hf = (float)h, lf = (float)l;
    const float a = h != 0 ? hf * 0x1p-27f : (l != 0 ? lf * 0x1p-53f : 0x1p-54f);
    const float b = h != 0 ? (float)(h - (int)hf) * 0x1p-27f + lf * 0x1p-53f : 0.0f;
    const float r = b / a;
    const float e = -(pegr_logf(a) + (r - 0.5f * r * r)); /* -log(u1) > 0 */
    const int h2 = (int)(w.z >> 5), l2 = (int)(w.w >> 6);
    const int hv = h2 >= (1 << 26) ? h2 - (1 << 27) : h2; /* u2 >= 1/2: v = u2 - 1 */
    return sqrt(2.0f * e) * cospi((float)hv * 0x1p-26f + (float)l2 * 0x1p-52f);
}
#endif

/* out[at + t] = normal(seed, stream, first + t), t < count: one run's noise values from flat
 * index `first` on, one per work-item. One straight line of code per work-item, no branch: PoCL
 * turns the work-item loop into SIMD lanes (about 10 ns a value on the CI CPU, against 80-140 ns
 * for forms that draw inside a loop or between barriers, or that load the key from a buffer),
 * and consecutive work-items write consecutive words. */
__kernel void pegr_robust_noise(const uint seed_lo, const uint seed_hi, const uint stream,
                                const ulong first, const uint count, __global REAL *out,
                                const ulong at)
{
    const uint t = get_global_id(0);
    if (t >= count) return;
    const uint2 key = (uint2)(seed_lo, seed_hi);
    out[at + t] = pegr_rng_normal_from(pegr_rng_block(key, stream, first + t));
}

/* Work-group (L, 1, 1) at (0, s, run), L a power of two <= PEGR_REDUCE_WG: counts the run's test
 * examples i0 .. i0 + ne - 1 with y f(W, x + sigma_s n) <= 0, f from the pre-activations
 * Z_test + sigma_s G (the activation summed in pegr_test_wrong's order), in a fixed-order tree,
 * and adds the count to out[run * S + s] (sets it when first). Z and y are the whole test set
 * (nt examples per run); G holds the ne examples only. Counts are exact in float up to 2^24. */
__kernel void pegr_robust_wrong(const uint nt, const uint P, const uint m, const REAL q,
                                const uint i0, const uint ne, const int first,
                                __global const REAL *sigmas, __global const REAL *Z,
                                __global const REAL *G, __global const REAL *y,
                                __global REAL *out, const int learn, __global const REAL *v)
{
    __local REAL partial[PEGR_REDUCE_WG];
    const uint lid = get_local_id(0), L = get_local_size(0);
    const uint s = get_group_id(1), S = get_num_groups(1);
    const size_t run = get_group_id(2);
    const uint cols = 2 * m;
    const REAL sigma = sigmas[s];
    Z += (run * nt + i0) * P * (size_t)cols;
    G += run * ne * P * (size_t)cols;
    y += run * nt + i0;
    REAL wrong = 0;
    for (uint i = lid; i < ne; i += L) {
        REAL f = 0;
        for (uint p = 0; p < P; p++)
            for (uint c = 0; c < cols; c++) {
                const size_t at = ((size_t)i * P + p) * cols + c;
                REAL a, da, d2a;
                pegr_activation(Z[at] + sigma * G[at], q, &a, &da, &d2a);
                const REAL t = c < m ? a : -a;
                f += learn ? t * v[run * cols + c] : t; /* a learned v (pegr_test_wrong's) */
            }
        wrong += y[i] * f <= 0 ? (REAL)1 : (REAL)0;
    }
    partial[lid] = wrong;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = L / 2; stride > 0; stride /= 2) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[run * S + s] = first ? partial[0] : out[run * S + s] + partial[0];
}

/* out (rows x (width - 1)) = in (rows x width) without its last column, per run (global:
 * width - 1, rows, runs): the robust test's weights without a bias's column (its noise has the
 * inputs' width). */
__kernel void pegr_drop_last(const uint rows, const uint width, __global const REAL *in,
                             __global REAL *out)
{
    const uint k = get_global_id(0), row = get_global_id(1);
    const size_t at = get_global_id(2) * rows + row;
    if (k + 1 >= width || row >= rows) return;
    out[at * (width - 1) + k] = in[at * width + k];
}

/* Debug and test entry (engine_debug_philox): words[j] = block(seed, stream, first + j) and
 * normals[j] = the normal this precision draws from it, j < count. */
__kernel void pegr_philox_debug(const uint seed_lo, const uint seed_hi, const uint stream,
                                const ulong first, const uint count, __global uint4 *words,
                                __global REAL *normals)
{
    const uint j = get_global_id(0);
    if (j >= count) return;
    const uint4 w = pegr_rng_block((uint2)(seed_lo, seed_hi), stream, first + j);
    words[j] = w;
    normals[j] = pegr_rng_normal_from(w);
}

/* Debug and test entry (engine_debug_normals): normals[j] = the normal this precision maps
 * words[j] to -- for the edge cases no seed reaches on purpose (u1 at 0 or next to 1, u2 at
 * 1/2). */
__kernel void pegr_normal_debug(const uint count, __global const uint4 *words,
                                __global REAL *normals)
{
    const uint j = get_global_id(0);
    if (j >= count) return;
    normals[j] = pegr_rng_normal_from(words[j]);
}

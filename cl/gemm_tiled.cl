/* gemm_tiled.cl: pegr's fast GEMMs (issue 13), built once per parameter set by engine_gemm.c
 * (cl/gemm.cl holds the simple kernels, the fallback). Two families, selected with
 * -D GEMM_FAMILY=1 (tiled: local memory, for GPUs) or 2 (direct: registers and vectors, for
 * CPUs); 0 (the default) compiles both, as the OpenCL C 1.2 check does. Every kernel computes
 * C (M x N, row-major) from A and B for each run of a strided batch (dimension 2, stride 0: the
 * operand is shared), any M, N, K >= 1. */
#ifndef GEMM_FAMILY
#define GEMM_FAMILY 0
#endif

#if GEMM_FAMILY != 2
/* ---- Tiled GEMMs. C (M x N, row-major) = op(A) op(B), strided-batched over dimension
 * 2 (one work-group column per run). A work-group computes a TSM x TSN tile of C; its
 * (TSN/WN) x (TSM/WM) work-items each hold a WM x WN block of accumulators in registers, at rows
 * ly + i*(TSM/WM) and columns lx + j*(TSN/WN) of the tile, so that consecutive work-items
 * (dimension 0, lx) touch consecutive local-memory words and consecutive columns of C: coalesced
 * on GPUs, and unit-stride across the work-item loop PoCL wraps around each barrier region on
 * CPUs (its loop vectorizer turns that loop into SIMD lanes once the register-block loops -- all
 * compile-time constants -- are unrolled). The K dimension advances TK at a time through local
 * memory: the work-group copies the A and B panels in, every work-item reading consecutive
 * global addresses along whichever dimension is contiguous in that operand, zero-padding past
 * the edges (no size needs to be a multiple of a tile). Parameters are -D defines; the host
 * builds one program per parameter set it measures (engine_gemm.c) and launches exactly the
 * work-group size the parameters imply (reqd_work_group_size), after checking it against the
 * kernel's CL_KERNEL_WORK_GROUP_SIZE and the device's local memory. The defaults below are only
 * there so the file compiles on its own (check_kernels_cl12.sh); the engine never relies on them. */
#ifndef GEMM_TSM
#define GEMM_TSM 32
#endif
#ifndef GEMM_TSN
#define GEMM_TSN 32
#endif
#ifndef GEMM_TK
#define GEMM_TK 16
#endif
#ifndef GEMM_WM
#define GEMM_WM 4
#endif
#ifndef GEMM_WN
#define GEMM_WN 4
#endif
#define GEMM_RM (GEMM_TSM / GEMM_WM) /* work-items along M (dimension 1) */
#define GEMM_RN (GEMM_TSN / GEMM_WN) /* work-items along N (dimension 0) */
#define GEMM_WGS (GEMM_RM * GEMM_RN)
#if GEMM_RM * GEMM_WM != GEMM_TSM || GEMM_RN * GEMM_WN != GEMM_TSN
#error "GEMM_TSM and GEMM_TSN must be multiples of GEMM_WM and GEMM_WN"
#endif
/* Local panels are k-major (panel[k][m]); the +1 keeps GPU banks apart when a load walks k. */
#define GEMM_LDA (GEMM_TSM + 1)
#define GEMM_LDB (GEMM_TSN + 1)

/* One TSM x TK (or TK x TSN) panel of an operand into local memory. `kmajor`: the operand is
 * stored K x rows (rows contiguous), else rows x K (K contiguous); consecutive work-items take
 * consecutive addresses of the contiguous dimension. Out-of-range elements are zero. */
PEGR_INLINE void gemm_load_panel(__local REAL *panel, const uint ld, const uint tile,
                                   const __global REAL *src, const uint rows, const uint K,
                                   const uint r0, const uint k0, const int kmajor, const uint tid)
{
    const uint count = tile * GEMM_TK;
    for (uint idx = tid; idx < count; idx += GEMM_WGS) {
        const uint r = kmajor ? idx % tile : idx / GEMM_TK;
        const uint k = kmajor ? idx / tile : idx % GEMM_TK;
        const uint gr = r0 + r, gk = k0 + k;
        REAL v = 0;
        if (gr < rows && gk < K)
            v = kmajor ? src[(size_t)gk * rows + gr] : src[(size_t)gr * K + gk];
        panel[k * ld + r] = v;
    }
}

/* The body shared by the two layouts (a_kmajor, b_kmajor are constants after inlining):
 * A(m, k) is A[m*K + k] or, a_kmajor, A[k*M + m]; B(k, n) is B[n*K + k] or, b_kmajor, B[k*N + n]. */
PEGR_INLINE void gemm_tiled(const uint M, const uint N, const uint K, const __global REAL *A,
                              const ulong a_stride, const __global REAL *B, const ulong b_stride,
                              __global REAL *C, const ulong c_stride, const int a_kmajor,
                              const int b_kmajor, __local REAL *Al, __local REAL *Bl)
{
    const uint lx = get_local_id(0), ly = get_local_id(1);
    const uint tid = ly * GEMM_RN + lx;
    const uint n0 = get_group_id(0) * GEMM_TSN, m0 = get_group_id(1) * GEMM_TSM;
    const size_t b = get_group_id(2);
    A += b * a_stride;
    B += b * b_stride;
    C += b * c_stride;
    REAL acc[GEMM_WM][GEMM_WN];
#pragma unroll
    for (uint i = 0; i < GEMM_WM; i++)
#pragma unroll
        for (uint j = 0; j < GEMM_WN; j++) acc[i][j] = 0;
    for (uint k0 = 0; k0 < K; k0 += GEMM_TK) {
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous panels are no longer read */
        gemm_load_panel(Al, GEMM_LDA, GEMM_TSM, A, M, K, m0, k0, a_kmajor, tid);
        gemm_load_panel(Bl, GEMM_LDB, GEMM_TSN, B, N, K, n0, k0, b_kmajor, tid);
        barrier(CLK_LOCAL_MEM_FENCE);
#pragma unroll
        for (uint k = 0; k < GEMM_TK; k++) {
            REAL a[GEMM_WM], bv[GEMM_WN];
#pragma unroll
            for (uint i = 0; i < GEMM_WM; i++) a[i] = Al[k * GEMM_LDA + ly + i * GEMM_RM];
#pragma unroll
            for (uint j = 0; j < GEMM_WN; j++) bv[j] = Bl[k * GEMM_LDB + lx + j * GEMM_RN];
#pragma unroll
            for (uint i = 0; i < GEMM_WM; i++)
#pragma unroll
                for (uint j = 0; j < GEMM_WN; j++) acc[i][j] = mad(a[i], bv[j], acc[i][j]);
        }
    }
#pragma unroll
    for (uint i = 0; i < GEMM_WM; i++) {
        const uint m = m0 + ly + i * GEMM_RM;
#pragma unroll
        for (uint j = 0; j < GEMM_WN; j++) {
            const uint n = n0 + lx + j * GEMM_RN;
            if (m < M && n < N) C[(size_t)m * N + n] = acc[i][j];
        }
    }
}

/* Z (M x N) = X (M x K) W^T, W (N x K): the NT shape of pegr_gemm_nt. */
__kernel __attribute__((reqd_work_group_size(GEMM_RN, GEMM_RM, 1))) void
pegr_gemm_tiled_nt(const uint M, const uint N, const uint K, __global const REAL *A,
                   const ulong a_stride, __global const REAL *B, const ulong b_stride,
                   __global REAL *C, const ulong c_stride)
{
    __local REAL Al[GEMM_TK * GEMM_LDA], Bl[GEMM_TK * GEMM_LDB];
    gemm_tiled(M, N, K, A, a_stride, B, b_stride, C, c_stride, 0, 0, Al, Bl);
}

/* G (M x N) = C^T X, C (K x M), X (K x N): the TN shape of pegr_gemm_tn. */
__kernel __attribute__((reqd_work_group_size(GEMM_RN, GEMM_RM, 1))) void
pegr_gemm_tiled_tn(const uint M, const uint N, const uint K, __global const REAL *A,
                   const ulong a_stride, __global const REAL *B, const ulong b_stride,
                   __global REAL *C, const ulong c_stride)
{
    __local REAL Al[GEMM_TK * GEMM_LDA], Bl[GEMM_TK * GEMM_LDB];
    gemm_tiled(M, N, K, A, a_stride, B, b_stride, C, c_stride, 1, 1, Al, Bl);
}

#endif

#if GEMM_FAMILY != 1
/* ---- Direct GEMMs: no local memory and no barrier; each work-item computes a
 * DWM x DWN block of C from global memory (the caches of a CPU do the tiling) with explicit
 * GEMM_VW-wide vectors along the contiguous dimension. On PoCL's CPU devices the work-item loop
 * around a barrier region keeps the accumulators of every work-item in memory (its context
 * arrays), which made the tiled kernels above 10x slower than the simple ones there; these keep
 * them in vector registers instead. */
#ifndef GEMM_VW
#define GEMM_VW 8
#endif
#ifndef GEMM_DWM
#define GEMM_DWM 4
#endif
#ifndef GEMM_DWN
#define GEMM_DWN 2
#endif
/* TN only: 0, or the K block of the blocked form below */
#ifndef GEMM_DKC
#define GEMM_DKC 0
#endif
#define GEMM_CAT_(a, b) a##b
#define GEMM_CAT(a, b) GEMM_CAT_(a, b)
#define GEMM_VREAL GEMM_CAT(REAL, GEMM_VW)
#define GEMM_VLOAD GEMM_CAT(vload, GEMM_VW)
#define GEMM_VSTORE GEMM_CAT(vstore, GEMM_VW)

/* The sum of a vector's lanes (pairwise). */
PEGR_INLINE REAL gemm_vsum(const GEMM_VREAL v)
{
#if GEMM_VW == 1
    return v;
#elif GEMM_VW == 2
    return v.s0 + v.s1;
#elif GEMM_VW == 4
    return (v.s0 + v.s1) + (v.s2 + v.s3);
#elif GEMM_VW == 8
    return ((v.s0 + v.s1) + (v.s2 + v.s3)) + ((v.s4 + v.s5) + (v.s6 + v.s7));
#elif GEMM_VW == 16
    return (((v.s0 + v.s1) + (v.s2 + v.s3)) + ((v.s4 + v.s5) + (v.s6 + v.s7))) +
           (((v.s8 + v.s9) + (v.sa + v.sb)) + ((v.sc + v.sd) + (v.se + v.sf)));
#else
#error "GEMM_VW must be 1, 2, 4, 8 or 16"
#endif
}

/* C (M x N) = A (M x K) B^T, B (N x K): dot products along the contiguous K, GEMM_VW at a time,
 * for DWM rows of A against DWN rows of B. Rows past the edge read the last row (no branch in
 * the inner loop) and are not stored. Global size: ceil(N / DWN) x ceil(M / DWM) x runs. */
__kernel void pegr_gemm_direct_nt(const uint M, const uint N, const uint K,
                                  __global const REAL *A, const ulong a_stride,
                                  __global const REAL *B, const ulong b_stride, __global REAL *C,
                                  const ulong c_stride)
{
    const uint n0 = get_global_id(0) * GEMM_DWN, m0 = get_global_id(1) * GEMM_DWM;
    const size_t b = get_global_id(2);
    if (n0 >= N || m0 >= M) return;
    A += b * a_stride;
    B += b * b_stride;
    C += b * c_stride;
    const __global REAL *a[GEMM_DWM];
    const __global REAL *w[GEMM_DWN];
#pragma unroll
    for (uint i = 0; i < GEMM_DWM; i++) a[i] = A + (size_t)min(m0 + i, M - 1) * K;
#pragma unroll
    for (uint j = 0; j < GEMM_DWN; j++) w[j] = B + (size_t)min(n0 + j, N - 1) * K;
    GEMM_VREAL acc[GEMM_DWM][GEMM_DWN];
#pragma unroll
    for (uint i = 0; i < GEMM_DWM; i++)
#pragma unroll
        for (uint j = 0; j < GEMM_DWN; j++) acc[i][j] = 0;
    uint k = 0;
    for (; k + GEMM_VW <= K; k += GEMM_VW) {
        GEMM_VREAL av[GEMM_DWM], wv[GEMM_DWN];
#pragma unroll
        for (uint i = 0; i < GEMM_DWM; i++) av[i] = GEMM_VLOAD(0, a[i] + k);
#pragma unroll
        for (uint j = 0; j < GEMM_DWN; j++) wv[j] = GEMM_VLOAD(0, w[j] + k);
#pragma unroll
        for (uint i = 0; i < GEMM_DWM; i++)
#pragma unroll
            for (uint j = 0; j < GEMM_DWN; j++) acc[i][j] = mad(av[i], wv[j], acc[i][j]);
    }
#pragma unroll
    for (uint i = 0; i < GEMM_DWM; i++) {
#pragma unroll
        for (uint j = 0; j < GEMM_DWN; j++) {
            REAL s = gemm_vsum(acc[i][j]);
            for (uint kk = k; kk < K; kk++) s = mad(a[i][kk], w[j][kk], s);
            if (m0 + i < M && n0 + j < N) C[(size_t)(m0 + i) * N + n0 + j] = s;
        }
    }
}

/* C (M x N) = A^T B, A (K x M), B (K x N): outer products along K; a work-item holds DWM rows
 * of C by DWN vectors of GEMM_VW contiguous columns. A block that crosses the right edge takes
 * the scalar path. Global size: ceil(N / (DWN * VW)) x ceil(M / DWM) x runs.
 * With GEMM_DKC > 0 a work-item instead owns its columns for every row of C (global size
 * ceil(N / (DWN * VW)) x 1 x runs) and walks K in blocks of DKC rows of B, each block (DKC x
 * DWN*VW, a few KiB) reused from the L1 cache for all of C's rows, DWM at a time, C's partial
 * sums going through memory between blocks: B, the large operand of the gradient's product
 * (n P x d), then comes from memory once instead of once per DWM rows of C. */
__kernel void pegr_gemm_direct_tn(const uint M, const uint N, const uint K,
                                  __global const REAL *A, const ulong a_stride,
                                  __global const REAL *B, const ulong b_stride, __global REAL *C,
                                  const ulong c_stride)
{
    const uint n0 = get_global_id(0) * (GEMM_DWN * GEMM_VW), m0 = get_global_id(1) * GEMM_DWM;
    const size_t b = get_global_id(2);
    if (n0 >= N || m0 >= M) return;
    A += b * a_stride;
    B += b * b_stride;
    C += b * c_stride;
#if GEMM_DKC > 0
    if (n0 + GEMM_DWN * GEMM_VW <= N) {
        for (uint k0 = 0; k0 < K; k0 += GEMM_DKC) {
            const uint k1 = min(k0 + GEMM_DKC, K);
            for (uint mc = 0; mc < M; mc += GEMM_DWM) {
                uint mi[GEMM_DWM];
#pragma unroll
                for (uint i = 0; i < GEMM_DWM; i++) mi[i] = min(mc + i, M - 1);
                GEMM_VREAL acc[GEMM_DWM][GEMM_DWN];
#pragma unroll
                for (uint i = 0; i < GEMM_DWM; i++)
#pragma unroll
                    for (uint j = 0; j < GEMM_DWN; j++)
                        acc[i][j] = k0 ? GEMM_VLOAD(j, C + (size_t)mi[i] * N + n0) : 0;
                for (uint k = k0; k < k1; k++) {
                    const __global REAL *brow = B + (size_t)k * N + n0;
                    const __global REAL *arow = A + (size_t)k * M;
                    GEMM_VREAL bv[GEMM_DWN];
#pragma unroll
                    for (uint j = 0; j < GEMM_DWN; j++) bv[j] = GEMM_VLOAD(j, brow);
#pragma unroll
                    for (uint i = 0; i < GEMM_DWM; i++) {
                        const GEMM_VREAL av = (GEMM_VREAL)(arow[mi[i]]);
#pragma unroll
                        for (uint j = 0; j < GEMM_DWN; j++) acc[i][j] = mad(av, bv[j], acc[i][j]);
                    }
                }
                /* rows past the edge were computed from the last row and are not stored: every
                 * load of this chunk happened above, before any store */
#pragma unroll
                for (uint i = 0; i < GEMM_DWM; i++)
                    if (mc + i < M) {
#pragma unroll
                        for (uint j = 0; j < GEMM_DWN; j++)
                            GEMM_VSTORE(acc[i][j], j, C + (size_t)(mc + i) * N + n0);
                    }
            }
        }
        return;
    }
    for (uint m = 0; m < M; m++)
        for (uint n = n0; n < N; n++) {
            REAL s = 0;
            for (uint k = 0; k < K; k++) s = mad(A[(size_t)k * M + m], B[(size_t)k * N + n], s);
            C[(size_t)m * N + n] = s;
        }
#else
    uint mi[GEMM_DWM];
#pragma unroll
    for (uint i = 0; i < GEMM_DWM; i++) mi[i] = min(m0 + i, M - 1);
    if (n0 + GEMM_DWN * GEMM_VW <= N) {
        GEMM_VREAL acc[GEMM_DWM][GEMM_DWN];
#pragma unroll
        for (uint i = 0; i < GEMM_DWM; i++)
#pragma unroll
            for (uint j = 0; j < GEMM_DWN; j++) acc[i][j] = 0;
        for (uint k = 0; k < K; k++) {
            const __global REAL *brow = B + (size_t)k * N + n0;
            const __global REAL *arow = A + (size_t)k * M;
            GEMM_VREAL bv[GEMM_DWN];
#pragma unroll
            for (uint j = 0; j < GEMM_DWN; j++) bv[j] = GEMM_VLOAD(j, brow);
#pragma unroll
            for (uint i = 0; i < GEMM_DWM; i++) {
                const GEMM_VREAL av = (GEMM_VREAL)(arow[mi[i]]);
#pragma unroll
                for (uint j = 0; j < GEMM_DWN; j++) acc[i][j] = mad(av, bv[j], acc[i][j]);
            }
        }
#pragma unroll
        for (uint i = 0; i < GEMM_DWM; i++)
            if (m0 + i < M) {
#pragma unroll
                for (uint j = 0; j < GEMM_DWN; j++)
                    GEMM_VSTORE(acc[i][j], j, C + (size_t)(m0 + i) * N + n0);
            }
        return;
    }
    for (uint i = 0; i < GEMM_DWM && m0 + i < M; i++)
        for (uint n = n0; n < N; n++) {
            REAL s = 0;
            for (uint k = 0; k < K; k++) s = mad(A[(size_t)k * M + m0 + i], B[(size_t)k * N + n], s);
            C[(size_t)(m0 + i) * N + n] = s;
        }
#endif
}
#endif

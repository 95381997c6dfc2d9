/* coefficients.cl: the elementwise heart of a step (docs/math.md, "Closed forms").
 * Layouts (row-major): Z, A, S2, C are (n*P) x cols with row i*P + p and column c = j*m + r
 * (cols = 2m, class sign c_j = +1 for j = 0, -1 for j = 1); K is (n, P, P); per-example arrays
 * are (n). Every gradient is then grad = C^T X (one GEMM).
 * The readout's scale kappa (docs/math.md, "Model variants") is 1/kdiv: kdiv = m by default (the
 * mean over filters) or P (the mean over patches); the division is the kernel's, as it was with m.
 *   pegr_coef_terms     (cols, n): A = c_j s'(z) kappa, S2 = c_j s''(z) kappa, and per (i, c) partial sums
 *                                  of the margin and of G_i = sum_pp' A K A
 *   pegr_example_terms  (n):       margin f_i, loss l_i, a1, a2, G_i, ||g_i||^2 = a1^2 G_i
 *   pegr_coef_final     (cols, n): C for gd (a1 y A / n) plus, for pegr, (2 lam / n) C^H
 *   pegr_coef_fused     (cols', n): the three above in one launch, work-groups of whole examples
 *                                  (the margin and G summed through local memory in the same
 *                                  order as pegr_example_terms), optionally with the span form's
 *                                  Z += Z0 before and its update Gam -= lr C^T after
 *   pegr_coef_item      (n):       pegr_coef_fused's work, one work-item per example and no
 *                                  barriers (CPUs' choice; PEGR_COEF_KERNEL forces either),
 *                                  optionally with the span form's product S Gam^T before it
 *   pegr_span_update    (rows, cols, runs): Gam[c, row] -= lr[run] C[row, c] alone (span.cl's
 *                                  form, here to share its helper with pegr_coef_fused)
 *   pegr_gr_final       (cols, n): C += 2 lam (1/n) [a2 (grad f . v) A + a1 y S2 <x, v>] (gr)
 * (1/n is the per-example weight omega_i: 1/n, or 1/B on a mini-batch and 0 off it.)
 * A batch of runs that share shapes is laid out as one set of n * runs examples, run after run;
 * the kernels above see only examples, and lam is looked up per run (example i is in run
 * i / n_run).
 * A learned second layer v (docs/math.md, "Model variants"; `learn`) takes the three-kernel path:
 * pegr_coef_terms also writes D and F, pegr_coef_final and pegr_gr_final v's per-example
 * coefficients Cv, and
 *   pegr_sum_examples   (cols, runs): v's gradient per run, the sum of Cv over the run's examples
 *   pegr_sam1_shift     (cols, n): per-example SAM's Z at each example's own ascent point
 *   pegr_patch_gram     (P*P, n):  K once per dataset
 *   pegr_per_example_grad (d, cols, count): g_i materialized for a chunk of examples */

/* One column c of example i (every patch p): A = c_j v s'(z) kappa and S2 = c_j v s''(z) kappa
 * written out, and the column's shares of the margin, *f = kappa sum_p c_j v s(z), and of G_i,
 * *G = sum_pp' A K A. With add_z0, Z = Z + Z0 first (the span form's Z = Zs0 + S Gam^T, as
 * pegr_add computes it). kappa = 1/kdiv; vv: the column's second-layer weight v (1 unless it is
 * learned: c_j v = c_j exactly then). With learn (a learned v, docs/math.md "Model variants")
 * also D = c_j s'(z) kappa, *F = kappa sum_p s(z), and G gains F^2 (||grad_v f||^2's share). */
PEGR_INLINE void pegr_column_terms(const uint i, const uint c, const uint P, const uint m,
                                     const uint kdiv, const REAL q, const int add_z0, __global REAL *Z,
                                     __global const REAL *Z0, __global const REAL *K,
                                     __global REAL *A, __global REAL *S2, const REAL vv,
                                     const int learn, __global REAL *D, REAL *f_out, REAL *G_out,
                                     REAL *F_out)
{
    const uint cols = 2 * m;
    const REAL sign = c < m ? (REAL)1 : (REAL)-1;
    const REAL sv = sign * vv;
    const REAL inv_m = (REAL)1 / (REAL)kdiv; /* kappa */
    REAL f = 0, ssum = 0;
    for (uint p = 0; p < P; p++) {
        const size_t at = ((size_t)i * P + p) * cols + c;
        REAL z = Z[at];
        if (add_z0) {
            z += Z0[at];
            Z[at] = z;
        }
        REAL s, ds, d2s;
        pegr_activation(z, q, &s, &ds, &d2s);
        f += sv * s;
        A[at] = sv * ds * inv_m;
        S2[at] = sv * d2s * inv_m;
        if (learn) {
            D[at] = sign * ds * inv_m;
            ssum += s;
        }
    }
    REAL G = 0;
    const __global REAL *Ki = K + (size_t)i * P * P;
    for (uint p = 0; p < P; p++) {
        REAL KA = 0;
        for (uint p2 = 0; p2 < P; p2++) KA += Ki[p * P + p2] * A[((size_t)i * P + p2) * cols + c];
        G += A[((size_t)i * P + p) * cols + c] * KA;
    }
    if (learn) {
        const REAL F = inv_m * ssum;
        G += F * F;
        *F_out = F;
    }
    *f_out = f * inv_m;
    *G_out = G;
}

/* learn: a learned second layer v (runs x cols; example i is in run i / n_run), D and F
 * (n x cols) written too; otherwise v = 1 and v, D, F are not read or written. */
__kernel void pegr_coef_terms(const uint n, const uint P, const uint m, const uint kdiv,
                              const REAL q, __global REAL *Z, __global const REAL *K, __global REAL *A,
                              __global REAL *S2, __global REAL *fpart, __global REAL *Gpart,
                              const uint n_run, const int learn, __global const REAL *v,
                              __global REAL *D, __global REAL *F)
{
    const uint c = get_global_id(0);
    const uint i = get_global_id(1);
    const uint cols = 2 * m;
    if (c >= cols || i >= n) return;
    REAL f, G, Fv = 0;
    const REAL vv = learn ? v[(size_t)(i / n_run) * cols + c] : (REAL)1;
    pegr_column_terms(i, c, P, m, kdiv, q, 0, Z, Z, K, A, S2, vv, learn, D, &f, &G, &Fv);
    fpart[(size_t)i * cols + c] = f;
    Gpart[(size_t)i * cols + c] = G;
    if (learn) F[(size_t)i * cols + c] = Fv;
}

/* Stable loss terms of the margin u = y f: l = softplus(-u), a1 = -sigmoid(-u),
 * a2 = sigmoid(u) sigmoid(-u). */
PEGR_INLINE void pegr_loss_terms(const REAL u, REAL *l, REAL *a1, REAL *a2)
{
    const REAL e = exp(-fabs(u)); /* in (0, 1]: never overflows */
    *l = fmax(-u, (REAL)0) + log1p(e);
    const REAL sig_neg = u >= 0 ? e / (1 + e) : 1 / (1 + e); /* sigmoid(-u) */
    const REAL sig_pos = u >= 0 ? 1 / (1 + e) : e / (1 + e); /* sigmoid(u) */
    *a1 = -sig_neg;
    *a2 = sig_pos * sig_neg;
}

/* Example i's terms from its margin f and G = g: stored, and a1, a2 returned. */
PEGR_INLINE void pegr_example_store(const uint i, const REAL yi, const REAL f, const REAL g,
                                      __global REAL *margin, __global REAL *loss,
                                      __global REAL *a1, __global REAL *a2, __global REAL *G,
                                      __global REAL *norm2, REAL *d1_out, REAL *d2_out)
{
    REAL l, d1, d2;
    pegr_loss_terms(yi * f, &l, &d1, &d2);
    margin[i] = f;
    loss[i] = l;
    a1[i] = d1;
    a2[i] = d2;
    G[i] = g;
    norm2[i] = d1 * d1 * g;
    *d1_out = d1;
    *d2_out = d2;
}

__kernel void pegr_example_terms(const uint n, const uint cols, __global const REAL *y,
                                 __global const REAL *fpart, __global const REAL *Gpart,
                                 __global REAL *margin, __global REAL *loss, __global REAL *a1,
                                 __global REAL *a2, __global REAL *G, __global REAL *norm2)
{
    const uint i = get_global_id(0);
    if (i >= n) return;
    REAL f = 0, g = 0;
    for (uint c = 0; c < cols; c++) {
        f += fpart[(size_t)i * cols + c];
        g += Gpart[(size_t)i * cols + c];
    }
    REAL d1, d2;
    pegr_example_store(i, y[i], f, g, margin, loss, a1, a2, G, norm2, &d1, &d2);
}

/* Column c of example i's coefficients C (every patch): gd's a1 y A, plus for pegr 2 lam C^H,
 * times the example's weight w. With learn (a learned v; cF = c_j F of the column) C^H gains the
 * v-W block's a1 y D (a1 y c_j F), and v's coefficient Cv[i, c] = w (a1 y c_j F + [pegr] 2 lam
 * (a2 a1 y G c_j F + a1 y sum_p D (a1 y (K A)_p))) is written (docs/math.md, "Model variants"). */
PEGR_INLINE void pegr_column_coefficients(const uint i, const uint c, const uint P, const uint m,
                                            const int method, const REAL w, const REAL lam,
                                            const REAL a1y, const REAL a2i, const REAL Gi,
                                            __global const REAL *K, __global const REAL *A,
                                            __global const REAL *S2, __global REAL *C,
                                            const int learn, __global const REAL *D,
                                            const REAL cF, __global REAL *Cv)
{
    const uint cols = 2 * m;
    const __global REAL *Ki = K + (size_t)i * P * P;
    REAL vsum = 0;
    for (uint p = 0; p < P; p++) {
        const size_t at = ((size_t)i * P + p) * cols + c;
        REAL coef = a1y * A[at];
        if (method == PEGR_METHOD_PEGR) {
            REAL KA = 0;
            for (uint p2 = 0; p2 < P; p2++) KA += Ki[p * P + p2] * A[((size_t)i * P + p2) * cols + c];
            REAL CH = a2i * a1y * Gi * A[at] + a1y * S2[at] * (a1y * KA);
            if (learn) {
                CH += a1y * D[at] * (a1y * cF);
                vsum += D[at] * (a1y * KA);
            }
            coef += 2 * lam * CH;
        }
        C[at] = coef * w;
    }
    if (learn) {
        REAL cv = a1y * cF;
        if (method == PEGR_METHOD_PEGR) cv += 2 * lam * (a2i * a1y * Gi * cF + a1y * vsum);
        Cv[(size_t)i * cols + c] = cv * w;
    }
}

/* learn: D, F from pegr_coef_terms; v's coefficients into Cv (n x cols). */
__kernel void pegr_coef_final(const uint n, const uint P, const uint m, const int method,
                              const uint n_run, __global const REAL *run_lam,
                              __global const REAL *omega, __global const REAL *y,
                              __global const REAL *K,
                              __global const REAL *A, __global const REAL *S2,
                              __global const REAL *a1, __global const REAL *a2,
                              __global const REAL *G, __global REAL *C, const int learn,
                              __global const REAL *D, __global const REAL *F, __global REAL *Cv)
{
    const uint c = get_global_id(0);
    const uint i = get_global_id(1);
    if (c >= 2 * m || i >= n) return;
    const REAL cF = learn ? (c < m ? F[(size_t)i * 2 * m + c] : -F[(size_t)i * 2 * m + c]) : 0;
    /* omega: 1/n, or the example's mini-batch weight */
    pegr_column_coefficients(i, c, P, m, method, omega[i], run_lam[i / n_run], a1[i] * y[i], a2[i],
                             G[i], K, A, S2, C, learn, D, cF, Cv);
}

/* out[run, c] = sum over the run's n_run examples of Cv[i, c] (v's gradient from its per-example
 * coefficients), in example order. (cols, runs). */
__kernel void pegr_sum_examples(const uint cols, const uint n_run, __global const REAL *Cv,
                                __global REAL *out)
{
    const uint c = get_global_id(0);
    const size_t run = get_global_id(1);
    if (c >= cols) return;
    REAL acc = 0;
    for (uint i = 0; i < n_run; i++) acc += Cv[(run * n_run + i) * cols + c];
    out[run * cols + c] = acc;
}

/* The span update of one entry: Gam[at] -= rate * coef, recording `step` in *bad when the result
 * is not finite (pegr_update's rule). */
PEGR_INLINE void pegr_gam_step(__global REAL *Gam, const size_t at, const REAL rate,
                                 const REAL coef, const int step, __global int *bad)
{
    const REAL g = Gam[at] - rate * coef;
    Gam[at] = g;
    if (!isfinite(g)) atomic_min(bad, step);
}

/* Gam[c, row] -= lr[run] * C[row, c] per run (Gam cols x rows, C rows x cols, run after run);
 * runs with lr 0 are left as they are (pegr_update's rule). */
__kernel void pegr_span_update(const uint rows, const uint cols, __global const REAL *lr,
                               __global const REAL *C, __global REAL *Gam, const int step,
                               __global int *first_bad)
{
    const uint row = get_global_id(0);
    const uint c = get_global_id(1);
    const size_t run = get_global_id(2);
    if (row >= rows || c >= cols) return;
    const REAL rate = lr[run];
    if (rate == 0) return;
    const size_t base = run * rows * cols;
    pegr_gam_step(Gam, base + (size_t)c * rows + row, rate, C[base + (size_t)row * cols + c], step,
                  first_bad + run);
}

/* The parameters pegr_coef_fused and pegr_coef_item share, in order (the host sets them in one
 * place, engine_eval.c's coef_fused_args); each kernel's own follow them. */
#define PEGR_COEF_SHARED_PARAMS                                                                    \
    const uint n, const uint P, const uint m, const uint kdiv, const REAL q, const int method,    \
        const uint n_run,                                                                          \
        const int add_z0, const int update, const int step, __global REAL *Z,                      \
        __global const REAL *Z0, __global const REAL *K, __global const REAL *y,                   \
        __global const REAL *omega, __global const REAL *run_lam, __global const REAL *run_lr,     \
        __global REAL *A, __global REAL *S2, __global REAL *margin, __global REAL *loss,           \
        __global REAL *a1, __global REAL *a2, __global REAL *G, __global REAL *norm2,              \
        __global REAL *C, __global REAL *Gam, __global int *first_bad

/* Work-groups of get_local_size(1) examples (of every run) x get_local_size(0) work-items that
 * take the example's columns in turn: pegr_coef_terms, pegr_example_terms and pegr_coef_final in
 * one launch with the same arithmetic. Each column's margin and G shares go to local memory
 * (scratch: per example of the group, 2 cols + 3 REALs) and work-item 0 of the example sums them
 * in column order, as pegr_example_terms does, so the results depend on neither local size (1 x 1
 * included). fpart and Gpart are not written.
 * add_z0: Z += Z0 first (the span form). update: also the span update Gam -= lr C^T of the
 * example's rows at `step` (the caller's choice when nothing reads the pre-update Gam). */
__kernel void pegr_coef_fused(PEGR_COEF_SHARED_PARAMS, __local REAL *scratch)
{
    const uint lid = get_local_id(0);
    const uint L = get_local_size(0);
    const uint i = get_global_id(1);
    const uint cols = 2 * m;
    /* Past the last example a work-item still reaches every barrier, doing nothing. */
    const int live = i < n;
    __local REAL *fcol = scratch + (size_t)get_local_id(1) * (2 * cols + 3);
    __local REAL *gcol = fcol + cols, *ex = fcol + 2 * cols;
    for (uint c = lid; live && c < cols; c += L) {
        REAL f, g;
        REAL unused = 0;
        pegr_column_terms(i, c, P, m, kdiv, q, add_z0, Z, Z0, K, A, S2, (REAL)1, 0, A, &f, &g,
                          &unused);
        fcol[c] = f;
        gcol[c] = g;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (live && lid == 0) {
        REAL f = 0, g = 0;
        for (uint c = 0; c < cols; c++) {
            f += fcol[c];
            g += gcol[c];
        }
        REAL d1, d2;
        pegr_example_store(i, y[i], f, g, margin, loss, a1, a2, G, norm2, &d1, &d2);
        ex[0] = d1;
        ex[1] = d2;
        ex[2] = g;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (!live) return; /* no barrier below */
    const uint run = i / n_run;
    const REAL a1y = ex[0] * y[i], a2i = ex[1], Gi = ex[2];
    const REAL w = omega[i], lam = run_lam[run];
    const REAL rate = update ? run_lr[run] : 0;
    const size_t rows = (size_t)n_run * P, base = (size_t)run * rows * cols;
    for (uint c = lid; c < cols; c += L) {
        pegr_column_coefficients(i, c, P, m, method, w, lam, a1y, a2i, Gi, K, A, S2, C, 0, A, 0, C);
        if (rate == 0) continue; /* no update asked, or a frozen run */
        for (uint p = 0; p < P; p++) {
            const size_t row = (size_t)(i - run * n_run) * P + p;
            pegr_gam_step(Gam, base + (size_t)c * rows + row, rate,
                          C[((size_t)i * P + p) * cols + c], step, first_bad + run);
        }
    }
}

/* pegr_coef_item's phases for one example, each an inner loop over the columns (contiguous, so a
 * CPU compiler vectorizes it within the work-item). Ze, Ae, S2e, Ce point at the example's first
 * row (P rows of cols); fc and gc at its cols column shares (fpart's and Gpart's rows).
 * Phase 1: Z = Z + Z0 (add_z0), A, S2, and fc[c] = kappa sum_p c_j s(z) (kappa = 1/kdiv), summed as
 * pegr_column_terms sums them. q is a constant at each call (pegr_item_terms), so the activation's
 * branches on q fold away and the loop holds only arithmetic and a select. */
PEGR_INLINE void pegr_item_rows(const uint P, const uint m, const uint kdiv, const REAL q,
                                  __global REAL *Ze, __global REAL *Ae, __global REAL *S2e,
                                  __global REAL *fc)
{
    const uint cols = 2 * m;
    const REAL inv_m = (REAL)1 / (REAL)kdiv; /* kappa */
    for (uint c = 0; c < cols; c++) fc[c] = 0;
    for (uint p = 0; p < P; p++) {
        __global REAL *Zr = Ze + (size_t)p * cols, *Ar = Ae + (size_t)p * cols;
        __global REAL *S2r = S2e + (size_t)p * cols;
        for (uint c = 0; c < cols; c++) {
            const REAL sign = c < m ? (REAL)1 : (REAL)-1;
            REAL s, ds, d2s;
            pegr_activation(Zr[c], q, &s, &ds, &d2s);
            fc[c] += sign * s;
            Ar[c] = sign * ds * inv_m;
            S2r[c] = sign * d2s * inv_m;
        }
    }
    for (uint c = 0; c < cols; c++) fc[c] *= inv_m;
}

/* Phase 1 with q's common values as constants (the general q takes pow). */
PEGR_INLINE void pegr_item_terms(const uint P, const uint m, const uint kdiv, const REAL q,
                                   __global REAL *Ze, __global REAL *Ae, __global REAL *S2e,
                                   __global REAL *fc)
{
    if (q == (REAL)1) pegr_item_rows(P, m, kdiv, (REAL)1, Ze, Ae, S2e, fc);
    else if (q == (REAL)2) pegr_item_rows(P, m, kdiv, (REAL)2, Ze, Ae, S2e, fc);
    else if (q == (REAL)3) pegr_item_rows(P, m, kdiv, (REAL)3, Ze, Ae, S2e, fc);
    else if (q == (REAL)4) pegr_item_rows(P, m, kdiv, (REAL)4, Ze, Ae, S2e, fc);
    else pegr_item_rows(P, m, kdiv, q, Ze, Ae, S2e, fc);
}

/* Phase 2: KA[p, c] = sum_p2 K[p, p2] A[p2, c] into Ce (C is written over in phase 4) and
 * gc[c] = sum_p A[p, c] KA[p, c], in pegr_column_terms' order. */
PEGR_INLINE void pegr_item_gram(const uint P, const uint cols, __global const REAL *Ki,
                                  __global const REAL *Ae, __global REAL *Ce, __global REAL *gc)
{
    for (uint c = 0; c < cols; c++) gc[c] = 0;
    for (uint p = 0; p < P; p++) {
        __global REAL *KA = Ce + (size_t)p * cols;
        __global const REAL *Ar = Ae + (size_t)p * cols;
        for (uint c = 0; c < cols; c++) KA[c] = 0;
        for (uint p2 = 0; p2 < P; p2++) {
            const REAL k = Ki[p * P + p2];
            __global const REAL *A2 = Ae + (size_t)p2 * cols;
            for (uint c = 0; c < cols; c++) KA[c] += k * A2[c];
        }
        for (uint c = 0; c < cols; c++) gc[c] += Ar[c] * KA[c];
    }
}

/* Phase 4: C = w (a1 y A + [pegr] 2 lam C^H) over the example's rows, KA read from Ce (phase 2),
 * as pegr_column_coefficients computes it; pegr is a constant at each call. */
PEGR_INLINE void pegr_item_coefficients(const uint P, const uint cols, const int pegr,
                                          const REAL w, const REAL lam, const REAL a1y,
                                          const REAL a2i, const REAL Gi, __global const REAL *Ae,
                                          __global const REAL *S2e, __global REAL *Ce)
{
    for (uint p = 0; p < P; p++) {
        __global const REAL *Ar = Ae + (size_t)p * cols, *S2r = S2e + (size_t)p * cols;
        __global REAL *Cr = Ce + (size_t)p * cols;
        for (uint c = 0; c < cols; c++) {
            REAL coef = a1y * Ar[c];
            if (pegr) {
                const REAL CH = a2i * a1y * Gi * Ar[c] + a1y * S2r[c] * (a1y * Cr[c]);
                coef += 2 * lam * CH;
            }
            Cr[c] = coef * w;
        }
    }
}

/* Vectors of the engine's REAL for pegr_item_product (core OpenCL C types). */
#if PEGR_FP64
typedef double8 pegr_real8;
typedef double4 pegr_real4;
typedef double2 pegr_real2;
#else
typedef float8 pegr_real8;
typedef float4 pegr_real4;
typedef float2 pegr_real2;
#endif

/* The lanes of v summed in a fixed order. */
PEGR_INLINE REAL pegr_sum8(const pegr_real8 v)
{
    const pegr_real4 h = v.lo + v.hi;
    const pegr_real2 q = h.lo + h.hi;
    return q.x + q.y;
}

/* One row of the span form's product Z = S Gam^T: Zr[c] = sum_k Sr[k] Gam[c * rows + k] for
 * every column (Sr: the row of S, Gam: cols x rows). Four columns at a time share each 8-wide load
 * of Sr (explicit vectors: a compiler may not reorder the sums of a plain loop to vectorize it);
 * each column's sum is its 8 lanes in order, then the tail. */
PEGR_INLINE void pegr_item_product(const uint rows, const uint cols, __global const REAL *Sr,
                                     __global const REAL *Gam, __global REAL *Zr)
{
    const uint k8 = rows / 8 * 8;
    uint c = 0;
    for (; c + 4 <= cols; c += 4) {
        __global const REAL *G0 = Gam + (size_t)c * rows, *G1 = G0 + rows, *G2 = G1 + rows,
                            *G3 = G2 + rows;
        pegr_real8 a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (uint k = 0; k < k8; k += 8) {
            const pegr_real8 sv = vload8(0, Sr + k);
            a0 += sv * vload8(0, G0 + k);
            a1 += sv * vload8(0, G1 + k);
            a2 += sv * vload8(0, G2 + k);
            a3 += sv * vload8(0, G3 + k);
        }
        REAL t0 = pegr_sum8(a0), t1 = pegr_sum8(a1), t2 = pegr_sum8(a2), t3 = pegr_sum8(a3);
        for (uint k = k8; k < rows; k++) {
            t0 += Sr[k] * G0[k];
            t1 += Sr[k] * G1[k];
            t2 += Sr[k] * G2[k];
            t3 += Sr[k] * G3[k];
        }
        Zr[c] = t0;
        Zr[c + 1] = t1;
        Zr[c + 2] = t2;
        Zr[c + 3] = t3;
    }
    for (; c < cols; c++) {
        __global const REAL *G0 = Gam + (size_t)c * rows;
        pegr_real8 a0 = 0;
        for (uint k = 0; k < k8; k += 8) a0 += vload8(0, Sr + k) * vload8(0, G0 + k);
        REAL t0 = pegr_sum8(a0);
        for (uint k = k8; k < rows; k++) t0 += Sr[k] * G0[k];
        Zr[c] = t0;
    }
}

/* pegr_coef_fused's work (the same arguments up to first_bad, the same results) with one
 * work-item per example and no barriers: the example's phases run one after another, each an
 * inner loop over its columns. For CPUs, where a work-group per example with barriers makes
 * the implementation's work-item loops run scalar code around every barrier (PoCL: 58-64% of a
 * span step). The column shares go through the example's rows of fpart and Gpart (global, but
 * in cache), KA through C's rows before C is written. Any local size.
 * product (span form): the example's rows of Z = S Gam^T are computed here first, instead of by a
 * GEMM launch before; the update then reads Gam and writes Gam_out, another buffer (the caller
 * swaps the two), since other work-items still read Gam for their products -- with the update and
 * a frozen run alike, every example writes all of its entries of Gam_out. Without product,
 * Gam_out is Gam (the update in place). */
__kernel void pegr_coef_item(PEGR_COEF_SHARED_PARAMS, __global REAL *fpart, __global REAL *Gpart,
                             const int product, __global const REAL *S, __global REAL *Gam_out)
{
    const uint i = get_global_id(0);
    if (i >= n) return;
    const uint cols = 2 * m;
    const size_t first = (size_t)i * P * cols; /* the example's first row */
    __global REAL *Ze = Z + first, *Ae = A + first, *S2e = S2 + first, *Ce = C + first;
    __global REAL *fc = fpart + (size_t)i * cols, *gc = Gpart + (size_t)i * cols;
    const uint run = i / n_run;
    const size_t rows = (size_t)n_run * P, row0 = (size_t)(i - run * n_run) * P;
    __global const REAL *Gr = Gam + (size_t)run * rows * cols + row0; /* Gam[c, row0] at c * rows */
    if (product) {
        __global const REAL *Sr = S + (size_t)run * rows * rows + row0 * rows;
        for (uint p = 0; p < P; p++)
            pegr_item_product((uint)rows, cols, Sr + (size_t)p * rows, Gr - row0,
                              Ze + (size_t)p * cols);
    }
    if (add_z0) /* Z0 is Z itself without add_z0: read only here */
        for (uint k = 0; k < P * cols; k++) Ze[k] += Z0[first + k];
    pegr_item_terms(P, m, kdiv, q, Ze, Ae, S2e, fc);
    pegr_item_gram(P, cols, K + (size_t)i * P * P, Ae, Ce, gc);
    REAL f = 0, g = 0;
    for (uint c = 0; c < cols; c++) { /* column order, as pegr_example_terms */
        f += fc[c];
        g += gc[c];
    }
    REAL d1, d2;
    pegr_example_store(i, y[i], f, g, margin, loss, a1, a2, G, norm2, &d1, &d2);
    const REAL a1y = d1 * y[i], w = omega[i], lam = run_lam[run];
    if (method == PEGR_METHOD_PEGR)
        pegr_item_coefficients(P, cols, 1, w, lam, a1y, d2, g, Ae, S2e, Ce);
    else
        pegr_item_coefficients(P, cols, 0, w, lam, a1y, d2, g, Ae, S2e, Ce);
    const REAL rate = update ? run_lr[run] : 0;
    __global REAL *Go = Gam_out + (size_t)run * rows * cols + row0;
    if (rate == 0) { /* no update asked, or a frozen run: Gam_out must still hold Gam */
        for (uint p = 0; update && product && p < P; p++)
            for (uint c = 0; c < cols; c++) Go[(size_t)c * rows + p] = Gr[(size_t)c * rows + p];
        return;
    }
    /* Gam[c, row] - rate C[row, c] for the example's rows: one flag for the whole example */
    int bad = 0;
    for (uint p = 0; p < P; p++) {
        __global const REAL *Cr = Ce + (size_t)p * cols;
        for (uint c = 0; c < cols; c++) {
            const REAL v = Gr[(size_t)c * rows + p] - rate * Cr[c];
            Go[(size_t)c * rows + p] = v;
            bad |= !isfinite(v);
        }
    }
    if (bad) atomic_min(first_bad + run, step);
}

/* gr: V = grad L (already in C^T X form), ZV = X V^T. Adds 2 lam H V to the coefficients C (which
 * hold gd's on entry): H V = (1/n) sum_i [a2_i (grad f_i . V) grad f_i + a1_i y_i Hess f_i V]. */
/* learn (a learned v): V = (V_W, Vv) with Vv (runs x cols) gd's gradient in v; grad f_i . V gains
 * sum c_j F Vv, C gains 2 lam w (a2 (c F . Vv) A + a1 y D Vv[c]) and Cv gains 2 lam w (a2
 * (grad f_i . V) c_j F + a1 y sum_p D <x_ip, V_c>) (docs/math.md, "Model variants"). */
__kernel void pegr_gr_final(const uint n, const uint P, const uint m, const uint n_run,
                            __global const REAL *run_lam, __global const REAL *omega,
                            __global const REAL *y, __global const REAL *A,
                            __global const REAL *S2, __global const REAL *ZV,
                            __global const REAL *a1, __global const REAL *a2, __global REAL *C,
                            const int learn, __global const REAL *D, __global const REAL *F,
                            __global const REAL *Vv, __global REAL *Cv)
{
    const uint c = get_global_id(0);
    const uint i = get_global_id(1);
    const uint cols = 2 * m;
    if (c >= cols || i >= n) return;
    /* grad f_i . V = sum over (p, c') of A * <x_ip, V_c'>: every work-item of example i sums the
     * same O(P cols) terms in the same order, so they agree bit for bit. */
    REAL gfv = 0;
    for (uint p = 0; p < P; p++)
        for (uint c2 = 0; c2 < cols; c2++) {
            const size_t at = ((size_t)i * P + p) * cols + c2;
            gfv += A[at] * ZV[at];
        }
    const REAL w = omega[i];
    const REAL lam = run_lam[i / n_run];
    const __global REAL *Fi = F + (size_t)i * cols, *Vr = Vv + (size_t)(i / n_run) * cols;
    REAL dotv = 0, vsum = 0;
    for (uint c2 = 0; learn && c2 < cols; c2++) dotv += (c2 < m ? Fi[c2] : -Fi[c2]) * Vr[c2];
    for (uint p = 0; p < P; p++) {
        const size_t at = ((size_t)i * P + p) * cols + c;
        REAL hv = a2[i] * gfv * A[at] + a1[i] * y[i] * S2[at] * ZV[at];
        if (learn) {
            hv += a2[i] * dotv * A[at] + a1[i] * y[i] * D[at] * Vr[c];
            vsum += D[at] * ZV[at];
        }
        C[at] += 2 * lam * w * hv;
    }
    if (learn) {
        const REAL cF = c < m ? Fi[c] : -Fi[c];
        Cv[(size_t)i * cols + c] += 2 * lam * w * (a2[i] * (gfv + dotv) * cF + a1[i] * y[i] * vsum);
    }
}

/* Per-example SAM (docs/math.md, "SAM"): Z at example i's own ascent point W + rho g_i/||g_i||,
 * Z[i, p', c] += -rho y_i / sqrt(G_i) sum_p K_i[p', p] A[i, p, c] (one work-item per column c of
 * example i, every patch p'; A and G at W). No ascent where G_i = 0 (g_i = 0) or where G_i is not
 * finite; the latter records `step` (the update that made W) as the run's first non-finite step,
 * as the host does. run_rho: each run's rho (example i is in run i / n_run). With learn (a learned
 * v, runs x cols; F at W) also example i's own v at its ascent point, v1[i, c] = v[c] +
 * (-rho y_i / sqrt(G_i)) c_j F[i, c] (v itself where there is no ascent). */
__kernel void pegr_sam1_shift(const uint n, const uint P, const uint m, const uint n_run,
                              __global const REAL *run_rho, __global const REAL *y,
                              __global const REAL *K, __global const REAL *A,
                              __global const REAL *G, __global REAL *Z, const int step,
                              __global int *first_bad, const int learn, __global const REAL *v,
                              __global const REAL *F, __global REAL *v1)
{
    const uint c = get_global_id(0);
    const uint i = get_global_id(1);
    const uint cols = 2 * m;
    if (c >= cols || i >= n) return;
    const REAL g = G[i];
    const int ascent = isfinite(g) && g > 0;
    const REAL shift = ascent ? -run_rho[i / n_run] * y[i] / sqrt(g) : 0;
    if (learn) {
        const REAL vc = v[(size_t)(i / n_run) * cols + c], Fc = F[(size_t)i * cols + c];
        v1[(size_t)i * cols + c] = ascent ? vc + shift * (c < m ? Fc : -Fc) : vc;
    }
    if (!isfinite(g) && c == 0) atomic_min(first_bad + i / n_run, step);
    if (!ascent) return;
    const __global REAL *Ki = K + (size_t)i * P * P;
    for (uint p2 = 0; p2 < P; p2++) {
        REAL KA = 0; /* the host's order (host_ref.c's gram_apply) */
        for (uint p = 0; p < P; p++) KA += Ki[p2 * P + p] * A[((size_t)i * P + p) * cols + c];
        Z[((size_t)i * P + p2) * cols + c] += shift * KA;
    }
}

__kernel void pegr_patch_gram(const uint n, const uint P, const uint d, __global const REAL *X,
                              __global REAL *K)
{
    const uint pp = get_global_id(0);
    const uint i = get_global_id(1);
    if (pp >= P * P || i >= n) return;
    const uint p = pp / P, p2 = pp % P;
    const __global REAL *a = X + ((size_t)i * P + p) * d;
    const __global REAL *b = X + ((size_t)i * P + p2) * d;
    REAL s = 0;
    for (uint k = 0; k < d; k++) s += a[k] * b[k];
    K[(size_t)i * P * P + pp] = s;
}

/* out[(i - first), c, k] = a1_i y_i sum_p A[i, p, c] X[i, p, k] for i in [first, first + count). */
__kernel void pegr_per_example_grad(const uint first, const uint count, const uint P,
                                    const uint cols, const uint d, __global const REAL *X,
                                    __global const REAL *A, __global const REAL *a1,
                                    __global const REAL *y, __global REAL *out)
{
    const uint k = get_global_id(0);
    const uint c = get_global_id(1);
    const uint li = get_global_id(2);
    if (k >= d || c >= cols || li >= count) return;
    const uint i = first + li;
    REAL s = 0;
    for (uint p = 0; p < P; p++)
        s += A[((size_t)i * P + p) * cols + c] * X[((size_t)i * P + p) * d + k];
    out[((size_t)li * cols + c) * d + k] = a1[i] * y[i] * s;
}

/* host_ref.c: the exact host reference for pegr's math, in double precision (see host_ref.h and
 * docs/math.md). Every gradient is built the way the device engine builds it:
 *   z = <W[j,r], x_i,p>  ->  per-example terms (f_i, l_i, a1_i, a2_i, G_i)  ->  coefficient tensor C
 *   (n, 2, m, P)  ->  grad[j,r] = sum_i sum_p C[i,j,r,p] x_i,p  (one contraction shared by all methods).
 * No Hessian is formed and nothing assumes orthogonal patches: the patch Gram matrices K_i carry every
 * patch-patch inner product. Loops are plain and in a fixed order so results are reproducible. */
#include "host/host_ref.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- sizes ------------------------------------------------------------------------------------ */

typedef struct ref_dims {
    size_t n, P, d, m;
    const double *weights; /* per-example weights replacing 1/n (mini-batches), or NULL */
    double kappa;          /* the readout's scale (1/m by default) */
    const double *v;       /* (2, m) second layer, or NULL: all 1 */
    int learn;             /* v is a parameter (its gradient and Hessian blocks count) */
} ref_dims;

/* v[j,r]: the second layer's weight of filter (j, r). */
static double readout_v(const ref_dims *dm, size_t j, size_t r)
{
    return dm->v ? dm->v[j * dm->m + r] : 1.0;
}

/* Index of the (n, 2, m) tensors (F, Cv). */
static size_t ijr(const ref_dims *dm, size_t i, size_t j, size_t r)
{
    return (i * 2 + j) * dm->m + r;
}

/* Example i's weight in the objective: 1/n, or the request's weight. */
static double example_weight(const ref_dims *dm, size_t i)
{
    return dm->weights ? dm->weights[i] : 1.0 / (double)dm->n;
}

/* *out = a * b, false when it does not fit in size_t. */
static bool mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b) return false;
    *out = a * b;
    return true;
}

/* *out = a * b * c, also checking that the byte count of that many doubles fits. */
static bool count3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab, abc, bytes;
    return mul_size(a, b, &ab) && mul_size(ab, c, &abc) && mul_size(abc, sizeof(double), &bytes) &&
           (*out = abc, true);
}

/* Index of the (n, 2, m, P) tensors (z, A, B, C, t). */
static size_t ijrp(const ref_dims *dm, size_t i, size_t j, size_t r, size_t p)
{
    return ((i * 2 + j) * dm->m + r) * dm->P + p;
}

/* c_j: the fixed second layer, +1 for class 0 filters and -1 for class 1 filters. */
static double class_sign(size_t j)
{
    return j == 0 ? 1.0 : -1.0;
}

/* ---- scalar pieces ------------------------------------------------------------------------------ */

void pegr_ref_activation(double z, double q, double *s, double *ds, double *d2s)
{
    double sv = 0.0, dv = 0.0, d2v = 0.0;
    /* z <= 0 gives 0 for all three (s'(0) = 0 for q > 1; for q = 1 the subgradient 0 is chosen at the
     * kink, matching PyTorch's relu). q = 1 and q = 2 are exact piecewise polynomials; other q use
     * pow, and only for the outputs asked for (pow(z, q - 2) would be huge near 0+ for q < 2). */
    if (z > 0.0) {
        if (q == 1.0) {
            sv = z;
            dv = 1.0;
        } else if (q == 2.0) {
            sv = z * z;
            dv = 2.0 * z;
            d2v = 2.0;
        } else {
            if (s) sv = pow(z, q);
            if (ds) dv = q * pow(z, q - 1.0);
            if (d2s) d2v = q * (q - 1.0) * pow(z, q - 2.0);
        }
    }
    if (s) *s = sv;
    if (ds) *ds = dv;
    if (d2s) *d2s = d2v;
}

void pegr_ref_loss_terms(double u, double *l, double *a1, double *a2)
{
    /* e = exp(-|u|) is in (0, 1], so nothing overflows; sigmoid(|u|) = 1 / (1 + e) and
     * sigmoid(-|u|) = e / (1 + e), each accurate (no cancellation) for any sign of u. */
    double e = exp(-fabs(u));
    double big = 1.0 / (1.0 + e);  /* sigmoid(|u|) */
    double small = e / (1.0 + e);  /* sigmoid(-|u|) */
    double sig_neg = u >= 0.0 ? small : big; /* sigmoid(-u) */
    if (l) *l = log1p(e) + fmax(-u, 0.0);
    if (a1) *a1 = -sig_neg;
    if (a2) *a2 = big * small; /* sigmoid(u) sigmoid(-u) is symmetric in u */
}

void pegr_ref_patch_gram(const double *X, size_t n, size_t P, size_t d, double *K)
{
    for (size_t i = 0; i < n; i++) {
        const double *Xi = X + i * P * d;
        double *Ki = K + i * P * P;
        for (size_t p = 0; p < P; p++) {
            for (size_t pp = p; pp < P; pp++) {
                double acc = 0.0;
                for (size_t k = 0; k < d; k++) acc += Xi[p * d + k] * Xi[pp * d + k];
                Ki[p * P + pp] = acc;
                Ki[pp * P + p] = acc; /* symmetric by construction, not by rounding luck */
            }
        }
    }
}

/* ---- validation --------------------------------------------------------------------------------- */

static const char *method_name(pegr_method method)
{
    const char *name = pegr_method_name(method);
    return name ? name : "unknown";
}

pegr_status pegr_ref_check_data(const double *X, const double *y, size_t n, size_t P, size_t d,
                                pegr_error *err)
{
    size_t cnt;
    if (!X || !y) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "X and y must not be NULL");
    if (n == 0 || P == 0 || d == 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "n, P and d must be >= 1 (got n = %zu, P = %zu, d = %zu)", n, P, d);
    if (!count3(n, P, d, &cnt) || !count3(n, P, P, &cnt))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data size overflows (n = %zu, P = %zu, d = %zu)", n, P, d);
    for (size_t i = 0; i < n; i++) {
        if (y[i] != 1.0 && y[i] != -1.0)
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "label y[%zu] = %g: labels must be exactly +1 or -1", i, y[i]);
    }
    return PEGR_OK;
}

pegr_status pegr_ref_check_request(const pegr_eval_request *req, pegr_error *err)
{
    if (!req) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "request must not be NULL");
    if (req->method != PEGR_METHOD_GD && req->method != PEGR_METHOD_PEGR &&
        req->method != PEGR_METHOD_GR)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "unknown method %d", (int)req->method);
    const char *name = method_name(req->method);
    double q = req->q;
    if (!isfinite(q) || q < 1.0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "q = %g is invalid for %s: the activation max(z,0)^q needs a finite q >= 1",
                              q, name);
    if (req->method == PEGR_METHOD_GD) return PEGR_OK; /* gd needs neither s'' nor lam */
    if (q > 1.0 && q < 2.0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "q = %g is not supported by %s: it needs s''(z) = q(q-1) z^(q-2), which "
                              "blows up at z -> 0+ for 1 < q < 2; use q = 1 or q >= 2",
                              q, name);
    if (!isfinite(req->lam) || req->lam < 0.0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "lam = %g is invalid for %s: it must be finite and >= 0", req->lam, name);
    return PEGR_OK;
}

/* Weights and output sizes: m >= 1, W given, and every tensor we index representable. */
static pegr_status check_weights(const double *W, const ref_dims *dm, const pegr_eval_request *req,
                                 pegr_error *err)
{
    size_t cnt;
    if (!W) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "W must not be NULL");
    if (dm->m == 0) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "m must be >= 1 (got 0)");
    size_t two_m;
    if (!mul_size(2, dm->m, &two_m) || !count3(two_m, dm->d, 1, &cnt) ||
        !count3(dm->n, two_m, dm->P, &cnt) ||
        (req->per_example_grad && !count3(dm->n, two_m, dm->d, &cnt)))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "size overflows (n = %zu, P = %zu, d = %zu, m = %zu)", dm->n, dm->P,
                              dm->d, dm->m);
    return PEGR_OK;
}

/* ---- tensor pieces ------------------------------------------------------------------------------ */

/* out[i,j,r,p] = <V[j,r], x_i,p> for V of shape (2, m, d): z when V = W, t when V = g (gr). */
static void preactivations(const double *X, const double *V, const ref_dims *dm, double *out)
{
    size_t n = dm->n, P = dm->P, d = dm->d, m = dm->m;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 2; j++)
            for (size_t r = 0; r < m; r++) {
                const double *v = V + (j * m + r) * d;
                for (size_t p = 0; p < P; p++) {
                    const double *x = X + (i * P + p) * d;
                    double acc = 0.0;
                    for (size_t k = 0; k < d; k++) acc += v[k] * x[k];
                    out[ijrp(dm, i, j, r, p)] = acc;
                }
            }
}

/* grad[j,r,:] = sum_i sum_p C[i,j,r,p] x_i,p over examples [0, dm->n): the one contraction every
 * gradient goes through. Zero coefficients are not skipped, so Inf/NaN in X still show up. */
static void contract(const double *C, const double *X, const ref_dims *dm, double *grad)
{
    size_t n = dm->n, P = dm->P, d = dm->d, m = dm->m;
    memset(grad, 0, 2 * m * d * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < P; p++) {
            const double *x = X + (i * P + p) * d;
            for (size_t j = 0; j < 2; j++)
                for (size_t r = 0; r < m; r++) {
                    double c = C[ijrp(dm, i, j, r, p)];
                    double *g = grad + (j * m + r) * d;
                    for (size_t k = 0; k < d; k++) g[k] += c * x[k];
                }
        }
}

/* From z: f_i = kappa sum_{j,r,p} c_j v[j,r] s(z), A = c_j v s'(z) kappa and, when B is not NULL,
 * B = c_j v s''(z) kappa (the diagonal of Hess f_i in the patch basis, per filter). With a learned
 * v (D, F not NULL) also the v-W Hessian block's D = c_j s'(z) kappa and F[i,j,r] = kappa sum_p
 * s(z) (grad_v f_i = c_j F). With v = 1 every product is the default model's to the bit
 * (c_j v = c_j exactly). */
static void activations(const double *z, double q, const ref_dims *dm, double *f, double *A,
                        double *B, double *D, double *F)
{
    double kappa = dm->kappa;
    for (size_t i = 0; i < dm->n; i++) {
        double acc = 0.0;
        for (size_t j = 0; j < 2; j++) {
            double c = class_sign(j);
            for (size_t r = 0; r < dm->m; r++) {
                double cv = c * readout_v(dm, j, r), ssum = 0.0;
                for (size_t p = 0; p < dm->P; p++) {
                    size_t at = ijrp(dm, i, j, r, p);
                    double s, ds, d2s;
                    pegr_ref_activation(z[at], q, &s, &ds, B ? &d2s : NULL);
                    acc += cv * s;
                    ssum += s;
                    A[at] = cv * ds * kappa;
                    if (B) B[at] = cv * d2s * kappa;
                    if (D) D[at] = c * ds * kappa;
                }
                if (F) F[ijr(dm, i, j, r)] = kappa * ssum;
            }
        }
        f[i] = acc * kappa;
    }
}

/* sum_{p'} K_i[p,p'] A[i,j,r,p'] */
static double gram_apply(const double *Ki, const double *A, const ref_dims *dm, size_t i, size_t j,
                         size_t r, size_t p)
{
    double acc = 0.0;
    for (size_t pp = 0; pp < dm->P; pp++) acc += Ki[p * dm->P + pp] * A[ijrp(dm, i, j, r, pp)];
    return acc;
}

/* G_i = ||grad f_i||^2 = sum_{j,r} sum_{p,p'} A[i,j,r,p] K_i[p,p'] A[i,j,r,p'] -- the Gram identity,
 * so ||g_i||^2 = a1_i^2 G_i costs O(m P^2), no d-sized work. A learned v adds ||grad_v f_i||^2 =
 * sum_{j,r} F[i,j,r]^2 (F not NULL). */
static void gram_norms(const double *A, const double *F, const double *K, const ref_dims *dm,
                       double *G)
{
    for (size_t i = 0; i < dm->n; i++) {
        const double *Ki = K + i * dm->P * dm->P;
        double acc = 0.0;
        for (size_t j = 0; j < 2; j++)
            for (size_t r = 0; r < dm->m; r++)
                for (size_t p = 0; p < dm->P; p++)
                    acc += A[ijrp(dm, i, j, r, p)] * gram_apply(Ki, A, dm, i, j, r, p);
        for (size_t k = 0; F && k < 2 * dm->m; k++) acc += F[i * 2 * dm->m + k] * F[i * 2 * dm->m + k];
        G[i] = acc;
    }
}

/* gd: C = a1_i y_i A / n, so contract(C) = (1/n) sum_i g_i (1/n: or example i's weight); with a
 * learned v (Cv not NULL) also v's per-example coefficients Cv[i,j,r] = a1_i y_i c_j F[i,j,r] / n,
 * whose sum over i is the gradient in v. */
static void coef_gd(const double *A, const double *F, const double *a1, const double *y,
                    const ref_dims *dm, double *C, double *Cv)
{
    size_t per = 2 * dm->m * dm->P;
    for (size_t i = 0; i < dm->n; i++) {
        double w = dm->weights ? a1[i] * y[i] * dm->weights[i] : a1[i] * y[i] / (double)dm->n;
        for (size_t k = 0; k < per; k++) C[i * per + k] = w * A[i * per + k];
        for (size_t j = 0; Cv && j < 2; j++)
            for (size_t r = 0; r < dm->m; r++)
                Cv[ijr(dm, i, j, r)] = w * class_sign(j) * F[ijr(dm, i, j, r)];
    }
}

/* grad_v[j,r] = sum_i Cv[i,j,r]. */
static void contract_v(const double *Cv, const ref_dims *dm, double *grad_v)
{
    size_t cols = 2 * dm->m;
    memset(grad_v, 0, cols * sizeof(double));
    for (size_t i = 0; i < dm->n; i++)
        for (size_t k = 0; k < cols; k++) grad_v[k] += Cv[i * cols + k];
}

/* pegr: C += (2 lam / n) C^H with, from H_i g_i = a2 (grad f_i . g_i) grad f_i + a1 y (Hess f_i) g_i,
 *   grad f_i . g_i = a1 y G_i  and  <x_i,p, g_i[j,r]> = a1 y sum_p' K_i[p,p'] A[i,j,r,p'], hence
 *   C^H[i,j,r,p] = a2 a1 y G_i A[i,j,r,p] + a1 y B[i,j,r,p] (a1 y (K_i A)[p])      (y^2 = 1).
 * A learned v (D, F, Cv not NULL) adds the v-W block's terms: g_i's v part is a1 y c_j F, so
 *   C^H[i,j,r,p] += a1 y D[i,j,r,p] (a1 y c_j F[i,j,r]),
 *   Cv^H[i,j,r]   = a2 a1 y G_i c_j F[i,j,r] + a1 y sum_p D[i,j,r,p] (a1 y (K_i A)[p]). */
static void coef_pegr_add(const double *A, const double *B, const double *D, const double *F,
                          const double *K, const double *a1, const double *a2, const double *y,
                          const double *G, double lam, const ref_dims *dm, double *C, double *Cv)
{
    for (size_t i = 0; i < dm->n; i++) {
        const double w = 2.0 * lam * example_weight(dm, i);
        const double *Ki = K + i * dm->P * dm->P;
        double ay = a1[i] * y[i];
        for (size_t j = 0; j < 2; j++)
            for (size_t r = 0; r < dm->m; r++) {
                double vsum = 0.0; /* sum_p D <x_i,p, g_i[j,r]> (learned v) */
                double cF = Cv ? class_sign(j) * F[ijr(dm, i, j, r)] : 0.0;
                for (size_t p = 0; p < dm->P; p++) {
                    size_t at = ijrp(dm, i, j, r, p);
                    double x_dot_gi = ay * gram_apply(Ki, A, dm, i, j, r, p); /* <x_i,p, g_i[j,r]> */
                    C[at] += w * (a2[i] * ay * G[i] * A[at] + ay * B[at] * x_dot_gi);
                    if (!Cv) continue;
                    C[at] += w * (ay * D[at] * (ay * cF));
                    vsum += D[at] * x_dot_gi;
                }
                if (Cv) Cv[ijr(dm, i, j, r)] += w * (a2[i] * ay * G[i] * cF + ay * vsum);
            }
    }
}

/* gr: C += 2 lam C^{Hv} for v = g, with t[i,j,r,p] = <x_i,p, v[j,r]> and H = (1/n) sum_i H_i:
 *   H_i v = a2 (grad f_i . v) grad f_i + a1 y (Hess f_i) v,  grad f_i . v = sum_{j,r,p} A t,
 *   (Hess f_i v)[j,r] = sum_p B[i,j,r,p] t[i,j,r,p] x_i,p (Hess f_i is block diagonal over filters), so
 *   C^{Hv}[i,j,r,p] = (1/n) (a2 (A.t)_i A[i,j,r,p] + a1 y B[i,j,r,p] t[i,j,r,p]). */
static void coef_gr_add(const double *A, const double *B, const double *t, const double *a1,
                        const double *a2, const double *y, double lam, const ref_dims *dm,
                        double *C)
{
    size_t per = 2 * dm->m * dm->P;
    for (size_t i = 0; i < dm->n; i++) {
        const double w = 2.0 * lam * example_weight(dm, i);
        const double *Ai = A + i * per, *Bi = B + i * per, *ti = t + i * per;
        double dot = 0.0;
        for (size_t k = 0; k < per; k++) dot += Ai[k] * ti[k];
        double ay = a1[i] * y[i];
        for (size_t k = 0; k < per; k++) C[i * per + k] += w * (a2[i] * dot * Ai[k] + ay * Bi[k] * ti[k]);
    }
}

/* gr with a learned v: the vector is V = (g, gv), the full gradient. On top of coef_gr_add:
 *   grad f_i . V gains sum_{j,r} c_j F gv,  (Hess f_i V)'s W part gains sum_p D gv[j,r] x_i,p
 *   (the v-W block) and its v part is sum_p D t (the W-v block); so
 *   C[i,j,r,p] += w (a2 (c F . gv)_i A + a1 y D gv[j,r]),
 *   Cv[i,j,r]  += w (a2 (grad f_i . V) c_j F + a1 y sum_p D t). */
static void coef_gr_add_v(const double *A, const double *D, const double *F, const double *t,
                          const double *gv, const double *a1, const double *a2, const double *y,
                          double lam, const ref_dims *dm, double *C, double *Cv)
{
    size_t per = 2 * dm->m * dm->P, cols = 2 * dm->m, P = dm->P;
    for (size_t i = 0; i < dm->n; i++) {
        const double w = 2.0 * lam * example_weight(dm, i);
        const double *Ai = A + i * per, *Di = D + i * per, *ti = t + i * per, *Fi = F + i * cols;
        double dotW = 0.0, dotv = 0.0;
        for (size_t k = 0; k < per; k++) dotW += Ai[k] * ti[k];
        for (size_t c = 0; c < cols; c++) dotv += (c < dm->m ? 1.0 : -1.0) * Fi[c] * gv[c];
        double ay = a1[i] * y[i];
        for (size_t c = 0; c < cols; c++) {
            double sum = 0.0;
            for (size_t p = 0; p < P; p++) {
                size_t k = c * P + p;
                C[i * per + k] += w * (a2[i] * dotv * Ai[k] + ay * Di[k] * gv[c]);
                sum += Di[k] * ti[k];
            }
            Cv[i * cols + c] += w * (a2[i] * (dotW + dotv) * (c < dm->m ? 1.0 : -1.0) * Fi[c] + ay * sum);
        }
    }
}

/* g_i = a1_i y_i sum_p A[i,j,r,p] x_i,p for every i, into out (n, 2, m, d); scratch holds 2 m P. */
static void per_example_grads(const double *X, const double *A, const double *a1, const double *y,
                              const ref_dims *dm, double *scratch, double *out)
{
    size_t per = 2 * dm->m * dm->P;
    ref_dims one = *dm;
    one.n = 1;
    for (size_t i = 0; i < dm->n; i++) {
        double ay = a1[i] * y[i];
        for (size_t k = 0; k < per; k++) scratch[k] = ay * A[i * per + k];
        contract(scratch, X + i * dm->P * dm->d, &one, out + i * 2 * dm->m * dm->d);
    }
}

static double sum_sq(const double *v, size_t len)
{
    double acc = 0.0;
    for (size_t k = 0; k < len; k++) acc += v[k] * v[k];
    return acc;
}

/* ---- the evaluator ------------------------------------------------------------------------------ */

/* Scratch arrays; unused ones stay NULL. */
typedef struct ref_work {
    double *z, *A, *B, *C, *t;   /* (n, 2, m, P) */
    double *f, *l, *a1, *a2, *G; /* (n) */
    double *K;                   /* (n, P, P), only when the caller gave none */
    double *g;                   /* (2, m, d): the gd gradient, for gr */
    double *row;                 /* (2, m, P): one example's coefficients */
    double *D;                   /* (n, 2, m, P): c_j kappa s'(z) (learned v) */
    double *F, *Cv;              /* (n, 2, m): kappa sum_p s(z), v's coefficients (learned v) */
    double *gv;                  /* (2, m): the gd gradient in v, for gr (learned v) */
} ref_work;

static void work_free(ref_work *w)
{
    free(w->z);
    free(w->A);
    free(w->B);
    free(w->C);
    free(w->t);
    free(w->f);
    free(w->l);
    free(w->a1);
    free(w->a2);
    free(w->G);
    free(w->K);
    free(w->g);
    free(w->row);
    free(w->D);
    free(w->F);
    free(w->Cv);
    free(w->gv);
}

/* malloc count doubles when wanted (sizes were checked for overflow before), false on failure. */
static bool alloc_if(bool wanted, size_t count, double **out)
{
    *out = NULL;
    if (!wanted) return true;
    *out = malloc(count * sizeof(double));
    return *out != NULL;
}

/* What the request needs computed. */
typedef struct ref_plan {
    bool need_G;    /* Gram norms G_i */
    bool need_B;    /* s'' coefficients */
    bool need_gd_g; /* the gd gradient as a separate array (gr) */
    bool need_C;    /* a coefficient tensor */
    bool need_t;    /* <x_i,p, g[j,r]> (gr gradient) */
} ref_plan;

static ref_plan make_plan(const pegr_eval_request *req)
{
    ref_plan pl;
    bool grad = req->grad != NULL;
    pl.need_G = req->norm2 || (req->method == PEGR_METHOD_PEGR && (grad || req->objective));
    pl.need_B = grad && req->method != PEGR_METHOD_GD;
    pl.need_gd_g = req->method == PEGR_METHOD_GR && (grad || req->objective);
    pl.need_C = grad || pl.need_gd_g;
    pl.need_t = grad && req->method == PEGR_METHOD_GR;
    return pl;
}

static bool work_alloc(ref_work *w, const ref_plan *pl, const ref_dims *dm, bool have_K,
                       bool want_rows)
{
    size_t nt = dm->n * 2 * dm->m * dm->P, n = dm->n;
    memset(w, 0, sizeof(*w));
    return alloc_if(true, nt, &w->z) && alloc_if(true, nt, &w->A) && alloc_if(pl->need_B, nt, &w->B) &&
           alloc_if(pl->need_C, nt, &w->C) && alloc_if(pl->need_t, nt, &w->t) &&
           alloc_if(true, n, &w->f) && alloc_if(true, n, &w->l) && alloc_if(true, n, &w->a1) &&
           alloc_if(true, n, &w->a2) && alloc_if(pl->need_G, n, &w->G) &&
           alloc_if(pl->need_G && !have_K, n * dm->P * dm->P, &w->K) &&
           alloc_if(pl->need_gd_g, 2 * dm->m * dm->d, &w->g) &&
           alloc_if(want_rows, 2 * dm->m * dm->P, &w->row) && alloc_if(dm->learn, nt, &w->D) &&
           alloc_if(dm->learn, n * 2 * dm->m, &w->F) &&
           alloc_if(dm->learn && pl->need_C, n * 2 * dm->m, &w->Cv) &&
           alloc_if(dm->learn && pl->need_gd_g, 2 * dm->m, &w->gv);
}

/* The chosen objective's gradient into req->grad (when asked) from w->C holding the gd coefficients
 * (and grad_v, with a learned v, from w->Cv); for gr also the penalty lam ||g||^2, which needs the
 * gd gradient g (with v's part) whether or not grad is asked. */
static double method_gradient(const double *X, const double *K, const double *y,
                              const pegr_eval_request *req, const ref_dims *dm, ref_work *w,
                              double *grad_v)
{
    double penalty = 0.0;
    int wants = req->grad || grad_v;
    if (req->method == PEGR_METHOD_PEGR && wants) {
        coef_pegr_add(w->A, w->B, w->D, w->F, K, w->a1, w->a2, y, w->G, req->lam, dm, w->C, w->Cv);
    } else if (req->method == PEGR_METHOD_GR) {
        contract(w->C, X, dm, w->g);
        penalty = req->lam * sum_sq(w->g, 2 * dm->m * dm->d);
        if (w->gv) {
            contract_v(w->Cv, dm, w->gv);
            penalty += req->lam * sum_sq(w->gv, 2 * dm->m);
        }
        if (wants) {
            preactivations(X, w->g, dm, w->t);
            coef_gr_add(w->A, w->B, w->t, w->a1, w->a2, y, req->lam, dm, w->C);
            if (w->gv) coef_gr_add_v(w->A, w->D, w->F, w->t, w->gv, w->a1, w->a2, y, req->lam, dm, w->C, w->Cv);
        }
    }
    if (req->grad) contract(w->C, X, dm, req->grad);
    if (grad_v && w->Cv) contract_v(w->Cv, dm, grad_v);
    return penalty;
}

/* pegr's penalty (lam / n) sum_i ||g_i||^2 with ||g_i||^2 = a1_i^2 G_i (1/n: or the weights). */
static double pegr_penalty(const ref_work *w, double lam, const ref_dims *dm)
{
    double acc = 0.0;
    if (!dm->weights) {
        for (size_t i = 0; i < dm->n; i++) acc += w->a1[i] * w->a1[i] * w->G[i];
        return lam / (double)dm->n * acc;
    }
    for (size_t i = 0; i < dm->n; i++) acc += dm->weights[i] * w->a1[i] * w->a1[i] * w->G[i];
    return lam * acc;
}

/* Per-example weights, when given, must be finite and >= 0. */
static pegr_status check_example_weights(const double *weights, size_t n, pegr_error *err)
{
    for (size_t i = 0; weights && i < n; i++)
        if (!(weights[i] >= 0.0) || !isfinite(weights[i]))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "example weight %zu is %g: weights must be finite and >= 0", i,
                                  weights[i]);
    return PEGR_OK;
}

pegr_status pegr_ref_evaluate_gram(const double *X, const double *K, const double *y, size_t n,
                                   size_t P, size_t d, const double *W, size_t m,
                                   const pegr_eval_request *req, pegr_error *err)
{
    return pegr_ref_evaluate_model(X, K, y, n, P, d, W, m, NULL, req, err);
}

pegr_status pegr_ref_evaluate_model(const double *X, const double *K, const double *y, size_t n,
                                    size_t P, size_t d, const double *W, size_t m,
                                    const pegr_ref_model *model, const pegr_eval_request *req,
                                    pegr_error *err)
{
    pegr_ref_model none = {0};
    if (!model) model = &none;
    size_t div = model->kappa_div ? model->kappa_div : m;
    ref_dims dm = {n, P, d, m, req->weights, 1.0 / (double)div, model->v, model->learn_v};
    double *grad_v = model->learn_v ? model->grad_v : NULL;
    pegr_status st;
    if ((st = pegr_ref_check_request(req, err)) != PEGR_OK) return st;
    if ((st = check_example_weights(req->weights, n, err)) != PEGR_OK) return st;
    if ((st = pegr_ref_check_data(X, y, n, P, d, err)) != PEGR_OK) return st;
    if ((st = check_weights(W, &dm, req, err)) != PEGR_OK) return st;

    ref_plan pl = make_plan(req);
    if (grad_v) { /* v's gradient is the method's gradient too */
        pl.need_C = true;
        pl.need_G = pl.need_G || req->method == PEGR_METHOD_PEGR;
        pl.need_B = pl.need_B || req->method != PEGR_METHOD_GD;
        pl.need_gd_g = pl.need_gd_g || req->method == PEGR_METHOD_GR;
        pl.need_t = pl.need_t || req->method == PEGR_METHOD_GR;
    }
    ref_work w;
    if (!work_alloc(&w, &pl, &dm, K != NULL, req->per_example_grad != NULL)) {
        work_free(&w);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY,
                              "host reference: out of memory for scratch (n = %zu, P = %zu, d = %zu, "
                              "m = %zu)", n, P, d, m);
    }
    /* Nothing below can fail, so outputs are written only on success. */
    preactivations(X, W, &dm, w.z);
    activations(w.z, req->q, &dm, w.f, w.A, w.B, w.D, w.F);
    double lsum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        pegr_ref_loss_terms(y[i] * w.f[i], &w.l[i], &w.a1[i], &w.a2[i]);
        lsum += w.l[i];
        if (dm.weights) wsum += dm.weights[i] * w.l[i];
    }
    double L = dm.weights ? wsum : lsum / (double)n;
    if (pl.need_G) {
        if (!K) {
            pegr_ref_patch_gram(X, n, P, d, w.K);
            K = w.K;
        }
        gram_norms(w.A, w.F, K, &dm, w.G);
    }
    double penalty = 0.0; /* objective - L */
    if (req->method == PEGR_METHOD_PEGR && req->objective) penalty = pegr_penalty(&w, req->lam, &dm);
    if (pl.need_C) {
        coef_gd(w.A, w.F, w.a1, y, &dm, w.C, w.Cv);
        double gr_penalty = method_gradient(X, K, y, req, &dm, &w, grad_v);
        if (req->method == PEGR_METHOD_GR) penalty = gr_penalty;
    }
    if (req->margin) memcpy(req->margin, w.f, n * sizeof(double));
    if (req->loss) memcpy(req->loss, w.l, n * sizeof(double));
    if (req->norm2)
        for (size_t i = 0; i < n; i++) req->norm2[i] = w.a1[i] * w.a1[i] * w.G[i];
    if (req->per_example_grad) per_example_grads(X, w.A, w.a1, y, &dm, w.row, req->per_example_grad);
    if (req->mean_loss) *req->mean_loss = L;
    if (req->objective) *req->objective = L + penalty;
    work_free(&w);
    return PEGR_OK;
}

/* Per-example SAM (docs/math.md, "SAM"): z at example i's own ascent point W + rho g_i/||g_i||.
 * g_i = a1_i y_i grad f_i with a1_i < 0, so g_i/||g_i|| = -y_i grad f_i / sqrt(G_i), and
 * <x_i,p', grad f_i[j,r]> = sum_p K_i[p',p] A[i,j,r,p] (K_i symmetric): z moves by
 * -rho y_i / sqrt(G_i) (K_i A)[p'], no d-sized work. No ascent where G_i = 0 (g_i = 0) or where
 * G_i is not finite; 1 is returned when some G_i is not finite (the caller's divergence rule). */
static int sam1_shift(double *z, const double *A, const double *K, const double *G,
                      const double *y, double rho, const ref_dims *dm)
{
    int bad = 0;
    for (size_t i = 0; i < dm->n; i++) {
        if (!isfinite(G[i])) bad = 1;
        if (!(G[i] > 0.0) || !isfinite(G[i])) continue;
        double step = -rho * y[i] / sqrt(G[i]);
        const double *Ki = K + i * dm->P * dm->P;
        for (size_t j = 0; j < 2; j++)
            for (size_t r = 0; r < dm->m; r++)
                for (size_t p = 0; p < dm->P; p++)
                    z[ijrp(dm, i, j, r, p)] += step * gram_apply(Ki, A, dm, i, j, r, p);
    }
    return bad;
}

pegr_status pegr_ref_sam1_gradient(const double *X, const double *K, const double *y, size_t n,
                                   size_t P, size_t d, const double *W, size_t m,
                                   const pegr_ref_model *model, double q, double rho,
                                   const double *weights, double *grad, int *bad_norm,
                                   pegr_error *err)
{
    pegr_ref_model none = {0};
    if (!model) model = &none;
    if (!(rho >= 0.0) || !isfinite(rho))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "SAM's rho is %g: it must be finite and >= 0", rho);
    size_t div = model->kappa_div ? model->kappa_div : m;
    int learn = model->learn_v != 0;
    ref_dims dm = {n, P, d, m, weights, 1.0 / (double)div, model->v, learn};
    pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = q, .grad = grad, .weights = weights};
    pegr_status st;
    if ((st = pegr_ref_check_request(&req, err)) != PEGR_OK) return st;
    if ((st = check_example_weights(weights, n, err)) != PEGR_OK) return st;
    if ((st = pegr_ref_check_data(X, y, n, P, d, err)) != PEGR_OK) return st;
    if ((st = check_weights(W, &dm, &req, err)) != PEGR_OK) return st;
    if (!K || !grad || (learn && !model->grad_v))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "K, grad (and with a learned v its grad_v) must not be NULL");
    ref_plan pl = {.need_G = true, .need_C = true};
    ref_work w;
    size_t cols = 2 * m, per = cols * P;
    double *v1 = NULL; /* (n, 2, m): each example's v at its own ascent point */
    if (!work_alloc(&w, &pl, &dm, true, false) || (learn && !alloc_if(true, n * cols, &v1))) {
        work_free(&w);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY,
                              "host reference: out of memory for per-example SAM's scratch");
    }
    preactivations(X, W, &dm, w.z);
    activations(w.z, q, &dm, w.f, w.A, NULL, NULL, w.F);
    gram_norms(w.A, w.F, K, &dm, w.G); /* ||grad f_i||^2, v's part included */
    int bad = sam1_shift(w.z, w.A, K, w.G, y, rho, &dm);
    /* a learned v moves per example too: v + s_i grad_v f_i, grad_v f_i = c_j F[i,j,r] */
    for (size_t i = 0; learn && i < n; i++) {
        int ascent = isfinite(w.G[i]) && w.G[i] > 0.0;
        double step = ascent ? -rho * y[i] / sqrt(w.G[i]) : 0.0;
        for (size_t j = 0; j < 2; j++)
            for (size_t r = 0; r < m; r++) {
                double vc = readout_v(&dm, j, r), cF = class_sign(j) * w.F[ijr(&dm, i, j, r)];
                v1[ijr(&dm, i, j, r)] = ascent ? vc + step * cF : vc;
            }
    }
    /* gd's gradient with every example at its own ascent point: the same pieces on the moved z,
     * example by example under its own v */
    for (size_t i = 0; i < n; i++) {
        ref_dims one = dm;
        one.n = 1;
        one.weights = NULL;
        if (learn) one.v = v1 + i * cols;
        activations(w.z + i * per, q, &one, w.f + i, w.A + i * per, NULL, NULL,
                    learn ? w.F + i * cols : NULL);
        pegr_ref_loss_terms(y[i] * w.f[i], NULL, &w.a1[i], NULL);
    }
    coef_gd(w.A, w.F, w.a1, y, &dm, w.C, w.Cv);
    contract(w.C, X, &dm, grad);
    if (learn) contract_v(w.Cv, &dm, model->grad_v);
    if (bad_norm) *bad_norm = bad;
    free(v1);
    work_free(&w);
    return PEGR_OK;
}

pegr_status pegr_ref_evaluate(const double *X, const double *y, size_t n, size_t P, size_t d,
                              const double *W, size_t m, const pegr_eval_request *req, pegr_error *err)
{
    return pegr_ref_evaluate_gram(X, NULL, y, n, P, d, W, m, req, err);
}

/* host_ref.h: the exact host reference for pegr's math (docs/math.md) -- plain C11, double
 * precision, no OpenCL. It is what every other backend is compared against, so it favours clarity over
 * speed: the closed-form gradients of gd, pegr and gr, written as "coefficient tensor C (n, 2, m, P),
 * then grad[j,r] = sum_i sum_p C[i,j,r,p] x_i,p", exactly as the device engine computes them.
 *
 * Two ways in: the pure functions (pegr_ref_*) that take every array as an argument, and a backend object
 * implementing pegr_backend_ops (backend.h) that copies the data once and caches the patch Gram matrices.
 * Array layouts are C order: X (n, P, d), y (n), W (2, m, d), K (n, P, P). */
#ifndef PEGR_HOST_REF_H
#define PEGR_HOST_REF_H

#include <stddef.h>

#include "backend/backend_impl.h"
#include "pegr/status.h"

/* Activation s(z) = max(z, 0)^q and its first two derivatives at z (any of the outputs may be NULL).
 * s'(0) = 0 for q > 1 and s'(z) = [z > 0] for q = 1; s'' = 0 for q = 1, s''(z) = 2 [z > 0] for q = 2.
 * q must be >= 1 (not checked here: the evaluators validate it). */
void pegr_ref_activation(double z, double q, double *s, double *ds, double *d2s);

/* The loss of margin u = y f and its derivatives, stable for every finite u:
 * l = softplus(-u) = log(1 + exp(-u)), a1 = dl/du = -sigmoid(-u), a2 = d2l/du2 = sigmoid(u) sigmoid(-u).
 * Any output may be NULL. */
void pegr_ref_loss_terms(double u, double *l, double *a1, double *a2);

/* K[i,p,p'] = <x_i,p, x_i,p'>: the per-example patch Gram matrices, K of shape (n, P, P). */
void pegr_ref_patch_gram(const double *X, size_t n, size_t P, size_t d, double *K);

/* Check a data set: n, P, d >= 1, n*P*d and n*P*P representable, every label exactly +1 or -1.
 * PEGR_ERR_INVALID_ARGUMENT otherwise, with the offending value in the message. */
pegr_status pegr_ref_check_data(const double *X, const double *y, size_t n, size_t P, size_t d,
                                pegr_error *err);

/* Check a request against the method: q finite and >= 1; for pegr and gr also q = 1 or q >= 2 (s'' is
 * unbounded at 0+ for 1 < q < 2) and lam finite and >= 0 (gd ignores lam, so gd does not check it). */
pegr_status pegr_ref_check_request(const pegr_eval_request *req, pegr_error *err);

/* Evaluate everything req asks for (every non-NULL output of req; see backend.h for shapes) for the
 * data (X, y) and the weights W (2, m, d). Validates the data, the sizes and the request first; no
 * output is written when it fails. Allocates O(n m P + n P^2) scratch (plus (2, m, d) for gr).
 * Errors: PEGR_ERR_INVALID_ARGUMENT (bad sizes, labels, q, lam, NULL arrays), PEGR_ERR_NO_MEMORY. */
pegr_status pegr_ref_evaluate(const double *X, const double *y, size_t n, size_t P, size_t d,
                              const double *W, size_t m, const pegr_eval_request *req, pegr_error *err);

/* The same with the Gram matrices K (n, P, P) already computed (pegr_ref_patch_gram); K may be NULL,
 * then they are computed here when an output needs them. */
pegr_status pegr_ref_evaluate_gram(const double *X, const double *K, const double *y, size_t n,
                                   size_t P, size_t d, const double *W, size_t m,
                                   const pegr_eval_request *req, pegr_error *err);

/* The readout (docs/math.md, "Model variants"): f(W, x) = sum_{j,r} c_j v[j,r] kappa sum_p s(z[j,r,p]).
 * The default (a NULL model, or every field 0) is pegr's model: kappa = 1/m, v = 1 and fixed. */
typedef struct pegr_ref_model {
    size_t kappa_div; /* kappa = 1 / kappa_div: m (0 means m: the mean over filters) or P (the
                         sum over filters, mean over patches); an integer so every backend forms
                         kappa as the same division */
    const double *v;  /* (2, m) second-layer weights; NULL: every v[j,r] = 1 */
    int learn_v;      /* v is trained with W: gradients, ||g_i||^2 and the Hessians include it */
    double *grad_v;   /* out (2, m), with learn_v: the chosen objective's gradient in v; may be
                         NULL (req->grad then holds W's part only, as always) */
} pegr_ref_model;

/* pegr_ref_evaluate_gram under a readout model (NULL: the default). With learn_v, norm2 and the
 * penalties count v's gradient too; per_example_grad stays W's part. */
pegr_status pegr_ref_evaluate_model(const double *X, const double *K, const double *y, size_t n,
                                    size_t P, size_t d, const double *W, size_t m,
                                    const pegr_ref_model *model, const pegr_eval_request *req,
                                    pegr_error *err);

/* Per-example SAM's (1-SAM's) gradient at W (docs/math.md, "SAM"): grad (2, m, d) = sum_i omega_i
 * grad l_i(W + rho g_i/||g_i||_F), g_i = grad l_i(W), omega_i = 1/n or weights[i] (NULL: 1/n), no
 * ascent where g_i = 0; in closed form (each example's pre-activations at its own ascent point
 * from K, then gd's coefficients there and one contraction). K (n, P, P) is required. With a
 * learned v in the model, g_i and the ascent include v's part (each example then has its own v at
 * its ascent point) and v's gradient goes to model->grad_v (required). *bad_norm (may be NULL): 1
 * when some example's ||grad f_i||^2 at W is not finite (no ascent for it: the callers date
 * divergence by it). */
pegr_status pegr_ref_sam1_gradient(const double *X, const double *K, const double *y, size_t n,
                                   size_t P, size_t d, const double *W, size_t m,
                                   const pegr_ref_model *model, double q, double rho,
                                   const double *weights, double *grad, int *bad_norm,
                                   pegr_error *err);

/* The host backend: set_data copies X and y and precomputes K; set_weights copies W; evaluate calls
 * pegr_ref_evaluate_gram; destroy frees everything. Returns NULL (and sets err) when out of memory. */
pegr_backend *pegr_host_backend_create(pegr_error *err);

#endif

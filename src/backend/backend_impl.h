/* backend_impl.h: what a compute backend implements -- the plain-C host reference and the OpenCL
 * engine -- as a struct of function pointers (ggml-backend's shape). The public calls of
 * include/pegr/backend.h go through this table; nothing outside src/ sees it.
 * Arrays cross it as double, C order; batches of runs are described in pegr/backend.h. */
#ifndef PEGR_BACKEND_IMPL_H
#define PEGR_BACKEND_IMPL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "pegr/backend.h"

/* Run r's lam and learning rate under a request. */
static inline double pegr_request_lam(const pegr_eval_request *req, size_t r)
{
    return req->run_lam ? req->run_lam[r] : req->lam;
}
/* Run r's SAM radius: run_rho[r], or rho for every run. */
static inline double pegr_request_rho(const double *run_rho, double rho, size_t r)
{
    return run_rho ? run_rho[r] : rho;
}
/* PEGR_ERR_INVALID_ARGUMENT unless each of the runs' SAM radii is finite and >= 0. */
static inline pegr_status pegr_check_sam_rho(const double *run_rho, double rho, size_t runs,
                                             pegr_error *err)
{
    for (size_t r = 0; r < runs; r++) {
        double v = pegr_request_rho(run_rho, rho, r);
        if (!(v >= 0.0) || !isfinite(v))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "SAM's rho (run %zu) is %g: it must be finite and >= 0", r, v);
    }
    return PEGR_OK;
}
static inline double pegr_request_lr(const pegr_eval_request *req, double lr, size_t r)
{
    return req->run_lr ? req->run_lr[r] : lr;
}

typedef struct pegr_backend_ops {
    const char *name;
    /* X: (n, P, d) patches; y: (n,) labels in {+1, -1}. Copied; the caller keeps ownership. */
    pegr_status (*set_data)(pegr_backend *b, const double *X, const double *y, size_t n, size_t P,
                            size_t d, pegr_error *err);
    /* W: (2, m, d). Copied. set_data must come first (it fixes d). */
    pegr_status (*set_weights)(pegr_backend *b, const double *W, size_t m, pegr_error *err);
    pegr_status (*evaluate)(pegr_backend *b, const pegr_eval_request *req, pegr_error *err);
    /* One gradient step: the outputs req asks for are computed at the current weights (as by
     * evaluate), then W -= lr * gradient of req->method. req->grad may be NULL: the gradient then
     * stays where the backend keeps it (on a device, nothing crosses to the host). */
    pegr_status (*step)(pegr_backend *b, const pegr_eval_request *req, double lr, pegr_error *err);
    /* Optional (NULL: the backend has no SAM): one SAM step of gd with run r's ascent radius
     * pegr_request_rho(run_rho, rho, r), as pegr_backend_sam_step says (the wrapper has checked
     * the method; the backend checks the radii, it knows R), in the variant b->sam_variant
     * (pegr_sam_variant: a backend with sam_step does both). */
    pegr_status (*sam_step)(pegr_backend *b, const pegr_eval_request *req, double lr, double rho,
                            const double *run_rho, pegr_error *err);
    /* Copy the current weights (2, m, d) out. */
    pegr_status (*get_weights)(pegr_backend *b, double *W, pegr_error *err);
    /* Fix what the metrics compare against (the arrays are copied; one reference per run, all
     * with the same n_test). */
    pegr_status (*set_reference)(pegr_backend *b, const pegr_reference *ref, pegr_error *err);
    /* Test error under input perturbation at each of the nsigmas noise levels: every test patch
     * gets x + sigma_j delta, delta ~ N(0, I) drawn from the PERTURB stream of the run's seed (the
     * same numbers on every backend and for every sigma). seed: one per run; error_rate: runs x
     * nsigmas, run-major (error_rate[r * nsigmas + j]). */
    pegr_status (*perturbed_test_error)(pegr_backend *b, double q, const double *sigmas,
                                        size_t nsigmas, const uint64_t *seed, double *error_rate,
                                        pegr_error *err);
    /* Per run: the first step (0-based count of step calls since set_weights) whose update left a
     * NaN or Inf in the weights, or -1 when none has. Cheap: no weights cross to the host. */
    pegr_status (*first_nonfinite_step)(pegr_backend *b, long *step, pegr_error *err);
    /* Optional (NULL: one run at a time). Before set_data: train `runs` >= 1 runs together (see
     * the top of this file). */
    pegr_status (*set_runs)(pegr_backend *b, size_t runs, pegr_error *err);
    /* Optional (NULL: primal only). Before set_weights: train in the span of the training patches
     * (W = W0 + Gam X, a step costs 2m (nP)^2 instead of 4 m nP d) or in the primal form. */
    pegr_status (*set_representation)(pegr_backend *b, int span, pegr_error *err);
    /* Optional (NULL: the default readout only). After set_weights, which resets it to the
     * default: the readout of docs/math.md's "Model variants" -- readout (pegr_readout) fixes
     * the scale kappa, learn trains the second layer v (every entry starting at 1; (R, 2, m) in a
     * batch) with W by the same method and learning rate. */
    pegr_status (*set_readout)(pegr_backend *b, int readout, int learn, pegr_error *err);
    /* Optional (NULL: v is 1): copy the second layer v (2, m) -- (R, 2, m) in a batch -- out. */
    pegr_status (*get_readout)(pegr_backend *b, double *v, pegr_error *err);
    void (*destroy)(pegr_backend *b);
    /* Optional, device backends only (NULL on the host): the context the backend runs on, the GEMM
     * in use ("own" or "clblast"), device memory held now and at most, and kernel times. */
    pegr_context *(*context)(pegr_backend *b);
    const char *(*gemm_name)(const pegr_backend *b);
    size_t (*bytes_in_use)(const pegr_backend *b);
    size_t (*bytes_peak)(const pegr_backend *b);
    void (*reset_peak)(pegr_backend *b);
    size_t (*profile)(pegr_backend *b, const pegr_kernel_time **times);
    void (*profile_reset)(pegr_backend *b);
} pegr_backend_ops;

/* Every backend object embeds this as its first member and is used through it. */
struct pegr_backend {
    const pegr_backend_ops *ops;
    const char *precision_name; /* "fp32" or "fp64": the arithmetic the backend really uses */
    char description[512];      /* what pegr_backend_open opened, one line */
    int sam_variant;            /* pegr_sam_variant of the sam steps (set_sam_variant; 0: full) */
};

#endif

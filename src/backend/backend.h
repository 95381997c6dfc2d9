/* backend.h: the interface every compute backend implements -- the plain-C host reference and the
 * OpenCL engine -- as a struct of function pointers (ggml-backend's shape), so a test can run the
 * same request on two backends and compare. Arrays cross this interface as double, C order.
 *
 * Batches of runs: a backend with set_runs trains R independent runs of the same shapes at once
 * (one set of kernel launches, batched GEMMs). Every array then holds the R runs one after
 * another -- X (R, n, P, d), y (R, n), W (R, 2, m, d), each output and the example weights with a
 * leading R, metrics and references as arrays of R -- and each run has its own lam and learning
 * rate. Without set_runs (or with R = 1) the shapes are those written below. */
#ifndef PEGR_BACKEND_H
#define PEGR_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/status.h"

typedef enum pegr_method {
    PEGR_METHOD_GD = 0,   /* minimize L */
    PEGR_METHOD_PEGR = 1, /* minimize L + (lam/n) sum_i ||g_i||^2 */
    PEGR_METHOD_GR = 2,   /* minimize L + lam ||g||^2 */
} pegr_method;

/* What to compute for the weights last set. Every output pointer may be NULL (not computed).
 * Shapes: grad (2, m, d); margin, loss, norm2 (n); per_example_grad (n, 2, m, d). */
typedef struct pegr_eval_request {
    pegr_method method;
    double q;   /* activation exponent, >= 1; q in (1, 2) is rejected for pegr and gr */
    double lam; /* penalty weight (ignored by gd) */
    double *grad;             /* gradient of the chosen objective */
    double *margin;           /* f(W, x_i) */
    double *loss;             /* l_i = softplus(-y_i f_i) */
    double *norm2;            /* ||grad l_i||_F^2 */
    double *per_example_grad; /* grad l_i, materialized */
    double *mean_loss;        /* scalar: L = mean_i l_i */
    double *objective;        /* scalar: the chosen objective's value */
    /* (n) per-example weights that replace 1/n in L, the penalties and the gradients (a mini-batch:
     * 1/B on the batch, 0 elsewhere); NULL: 1/n. */
    const double *weights;
    /* The paper's metrics at the current weights (needs set_reference); NULL: not computed. */
    struct pegr_metrics *metrics;
    /* Per run of a batch (R values): lam, and step's learning rate (0 leaves a run as it is);
     * NULL: lam, and step's lr, for every run. */
    const double *run_lam;
    const double *run_lr;
} pegr_eval_request;

/* Run r's lam and learning rate under a request. */
static inline double pegr_request_lam(const pegr_eval_request *req, size_t r)
{
    return req->run_lam ? req->run_lam[r] : req->lam;
}
static inline double pegr_request_lr(const pegr_eval_request *req, double lr, size_t r)
{
    return req->run_lr ? req->run_lr[r] : lr;
}

/* The paper's metrics (docs/math.md, "What to log") at one set of weights. */
typedef struct pegr_metrics {
    double loss;          /* mean training loss L */
    double objective;     /* the method's objective */
    double train_error;   /* fraction of training examples with y f <= 0 */
    double test_error;    /* the same on the test set (NaN without one) */
    double gamma_max[2];  /* signal learning: max over r of c_j <W[j,r] - W0[j,r], mu>, j = +1, -1 */
    double gamma_mean;    /* mean over (j, r) */
    double rho_mean;      /* noise memorization: mean over i of max over r (own class) and noise
                             patches of <W[j,r] - W0[j,r], xi_i> */
    double norm2_mean;    /* mean over i of ||grad l_i||^2 */
    double norm2_var;     /* their variance (what pegr penalizes) */
    double grad_norm;     /* ||gradient of the objective||_F */
} pegr_metrics;

/* What the metrics are measured against: set once per run, after set_weights(W0). */
typedef struct pegr_reference {
    const double *W0;           /* (2, m, d) initial weights */
    const double *mu;           /* (d,) the signal vector */
    const size_t *signal_patch; /* (n,) which patch of each training example is the signal */
    const double *X_test;       /* (n_test, P, d); NULL with n_test = 0 */
    const double *y_test;       /* (n_test,) */
    size_t n_test;
} pegr_reference;

typedef struct pegr_backend pegr_backend;

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
    void (*destroy)(pegr_backend *b);
} pegr_backend_ops;

/* Every backend object embeds this as its first member and is used through it. */
struct pegr_backend {
    const pegr_backend_ops *ops;
    const char *precision_name; /* "fp32" or "fp64": the arithmetic the backend really uses */
};

#endif

/* backend.h: the interface every compute backend implements -- the plain-C host reference and the
 * OpenCL engine -- as a struct of function pointers (ggml-backend's shape), so a test can run the
 * same request on two backends and compare. Arrays cross this interface as double, C order. */
#ifndef PEGR_BACKEND_H
#define PEGR_BACKEND_H

#include <stddef.h>

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
} pegr_eval_request;

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
    void (*destroy)(pegr_backend *b);
} pegr_backend_ops;

/* Every backend object embeds this as its first member and is used through it. */
struct pegr_backend {
    const pegr_backend_ops *ops;
    const char *precision_name; /* "fp32" or "fp64": the arithmetic the backend really uses */
};

#endif

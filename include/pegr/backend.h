/* backend.h: a compute backend -- the exact host reference (plain C, fp64) or the OpenCL engine on a
 * device -- behind one opaque handle: give it data and weights, then evaluate a method's gradient,
 * margins and per-example losses, norms and gradients, take steps, read the weights back.
 *
 * Arrays cross this interface as double, C order, and are copied: the caller keeps ownership of
 * everything it passes and of every output array it receives results in.
 *
 * Batches of runs: after pegr_backend_set_runs(b, R), the backend trains R independent runs of the
 * same shapes at once (one set of kernel launches, batched GEMMs). Every array then holds the R runs
 * one after another -- X (R, n, P, d), y (R, n), W (R, 2, m, d), each output and the example weights
 * with a leading R, metrics and references as arrays of R -- and each run has its own lam and
 * learning rate. Without set_runs (or with R = 1) the shapes are those written below.
 *
 * Errors: every call returns a pegr_status and fills the optional `err` with a message naming what
 * was wrong. Thread-safety: a backend is used by one thread at a time; distinct backends are
 * independent (each device backend has its own context and queue). */
#ifndef PEGR_BACKEND_H
#define PEGR_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/device.h"
#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Names: the one table between the words users type and the enums ------------------------ */

/* The methods. The values are also the ids the kernels receive (-D PEGR_METHOD_*). */
typedef enum pegr_method {
    PEGR_METHOD_GD = 0,   /* minimize L */
    PEGR_METHOD_PEGR = 1, /* minimize L + (lam/n) sum_i ||g_i||^2 */
    PEGR_METHOD_GR = 2,   /* minimize L + lam ||g||^2 */
    PEGR_METHOD_SGD = 3,  /* training only: gd's update on mini-batches (a backend evaluates gd
                             with per-example weights for it; evaluate and step refuse it) */
    PEGR_METHOD_SAM = 4,  /* training only: sharpness-aware minimization of L, W -= lr grad L(W +
                             rho g/||g||) (docs/math.md); a backend takes it as
                             pegr_backend_sam_step of gd; evaluate and step refuse it */
} pegr_method;
#define PEGR_METHOD_COUNT 5

/* How a training run holds its weights (docs/math.md, "The span (dual) representation"). */
typedef enum pegr_representation {
    PEGR_REPRESENTATION_AUTO = 0,   /* whichever costs fewer operations over the run */
    PEGR_REPRESENTATION_PRIMAL = 1, /* W itself, (2, m, d) */
    PEGR_REPRESENTATION_SPAN = 2,   /* W = W0 + Gam X: a step costs 2m (nP)^2, not 4 m nP d */
} pegr_representation;
#define PEGR_REPRESENTATION_COUNT 3

/* The readout's scale kappa in f = sum_{j,r} c_j v[j,r] kappa sum_p s(<W[j,r], x_p>) (docs/math.md,
 * "Model variants"); the words are PEGR_READOUTS, in the enum's order. */
typedef enum pegr_readout {
    PEGR_READOUT_MEAN_FILTERS = 0, /* kappa = 1/m: the mean over filters, the sum over patches
                                      (the theory papers' model; pegr's default) */
    PEGR_READOUT_MEAN_PATCHES = 1, /* kappa = 1/P: the sum over filters, the mean over patches
                                      (a Conv1d followed by mean pooling) */
} pegr_readout;
#define PEGR_READOUTS "mean-filters|mean-patches"

/* SAM's ascent (pegr_backend_set_sam_variant; docs/math.md, "SAM"); the words are
 * PEGR_SAM_VARIANTS, in the enum's order. */
typedef enum pegr_sam_variant {
    PEGR_SAM_FULL = 0,        /* one ascent of all the weights, W + rho g/||g||, g = grad L (Foret
                                 et al. 2021, full batch; pegr's default) */
    PEGR_SAM_PER_EXAMPLE = 1, /* 1-SAM (m-SAM with m = 1, Andriushchenko & Flammarion 2022): example
                                 i's loss at its own ascent point W + rho g_i/||g_i||, g_i =
                                 grad l_i */
} pegr_sam_variant;
#define PEGR_SAM_VARIANTS "full|per-example"

/* "gd", "pegr", "gr", "sgd", "sam"; NULL for a value outside the enum. */
PEGR_API const char *pegr_method_name(pegr_method method);
/* The method a name spells (exact, lower case). An unknown name gives PEGR_ERR_INVALID_ARGUMENT
 * with a message listing the names. `what` names the option in that message (e.g. "--method"). */
PEGR_API pegr_status pegr_method_parse(const char *name, const char *what, pegr_method *out,
                                       pegr_error *err);
/* "auto", "primal", "span"; NULL outside the enum. */
PEGR_API const char *pegr_representation_name(pegr_representation representation);
PEGR_API pegr_status pegr_representation_parse(const char *name, const char *what,
                                               pegr_representation *out, pegr_error *err);
/* "fp32", "fp64"; NULL outside the enum. */
PEGR_API const char *pegr_precision_name(pegr_precision precision);
PEGR_API pegr_status pegr_precision_parse(const char *name, const char *what, pegr_precision *out,
                                          pegr_error *err);

/* ---- Requests and what they return -------------------------------------------------------- */

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

/* The paper's metrics (docs/math.md, "What is logged") at one set of weights. */
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
    const double *mu;           /* (d,) the signal vector; (2, d) u+, u- with n_signal = 2 */
    const size_t *signal_patch; /* (n,) which patch of each training example is the signal */
    const double *X_test;       /* (n_test, P, d); NULL with n_test = 0 */
    const double *y_test;       /* (n_test,) */
    size_t n_test;
    /* Rows of mu. 0 or 1: one signal vector, gamma[j,r] = c_j <W[j,r] - W0[j,r], mu> (c_j = +1 for
     * the +1 class's filters, -1 for the other's). 2 (the XOR model): row 0 u+ = a + b, row 1
     * u- = a - b, gamma[j,r] = |<W[j,r] - W0[j,r], u_j>| with u_j its own class's direction
     * (docs/math.md, "XOR data model"). The runs of a batch have the same count. */
    size_t n_signal;
    /* 1: the last of the d coordinates of every patch (training and test) is the constant 1 of a
     * per-filter bias, W[j,r,d-1] = b[j,r] (pegr_train's bias: the data and mu given to the
     * backend are the patches with a 1, and mu with a 0, appended). rho then leaves the bias out,
     * <W[j,r] - W0[j,r], xi> over the first d-1 coordinates, and the robust test perturbs only
     * those, with the normals the d-1-wide patches would get (pegr_perturb_rows). 0: none. */
    int bias;
} pegr_reference;

/* ---- Opening a backend ----------------------------------------------------------------------- */

typedef struct pegr_backend pegr_backend;

typedef enum pegr_gemm_impl {
    PEGR_GEMM_AUTO = 0,    /* the measured-faster choice for the device (`pegr tune`) */
    PEGR_GEMM_OWN = 1,     /* pegr's kernels in cl/gemm.cl and cl/gemm_tiled.cl */
    PEGR_GEMM_CLBLAST = 2, /* CLBlast (when built with it) */
} pegr_gemm_impl;

typedef struct pegr_backend_options {
    /* The arithmetic on a device: fp32 (the default) or fp64 (needs cl_khr_fp64; with the default
     * device rule, a device that has it is preferred). The host reference always computes in fp64
     * and refuses fp32 when precision_set says it was asked for explicitly. */
    pegr_precision precision;
    int precision_set;
    pegr_gemm_impl gemm;
    double memory_fraction;   /* share of the device's memory pegr may allocate (0: 0.8) */
    size_t per_example_chunk; /* at most this many per-example gradients at once (0: as fit) */
    int profiling;            /* time each kernel (pegr_backend_profile) */
    size_t max_work_group_size; /* cap on work-group sizes (0: the device's limit) */
    pegr_log_fn log;          /* optional: receives what the library has to say */
    void *log_user;
} pegr_backend_options;

/* Zero, then the defaults above. */
PEGR_API void pegr_backend_options_default(pegr_backend_options *options);

/* Open a backend. spec: "host" for the exact host reference; otherwise a device spec as
 * pegr_device_select takes it (NULL or "": $PEGR_DEVICE, else the default device). options may be
 * NULL (the defaults). OUT: *out, closed with pegr_backend_close. A device that lacks what the
 * options ask (fp64) is refused with a message naming the device and what to use instead. */
PEGR_API pegr_status pegr_backend_open(const char *spec, const pegr_backend_options *options,
                                       pegr_backend **out, pegr_error *err);
/* Release the backend and everything it holds on its device. NULL is fine. */
PEGR_API void pegr_backend_close(pegr_backend *b);

/* Refuse, before anything is opened, what the backend `spec` names cannot do rather than doing
 * something else: the host reference computes in fp64 and in the primal form only. precision:
 * "fp32"/"fp64" as the user asked, NULL when not asked; representation: "span" is refused on the
 * host (NULL, "auto" and "primal" are fine). PEGR_ERR_INVALID_ARGUMENT naming the option and what
 * to use instead. */
PEGR_API pegr_status pegr_backend_check_request(const char *spec, const char *precision,
                                                const char *representation, pegr_error *err);

/* "host" or "opencl". */
PEGR_API const char *pegr_backend_name(const pegr_backend *b);
/* One line saying what was opened: "host reference (plain C, fp64)" or "device 0: NAME (cpu, PLATFORM)". */
PEGR_API const char *pegr_backend_description(const pegr_backend *b);
/* "fp32" or "fp64": the arithmetic the backend really uses. */
PEGR_API const char *pegr_backend_precision_name(const pegr_backend *b);
/* The device a device backend runs on; NULL for the host reference. Owned by the backend. */
PEGR_API const pegr_device_info *pegr_backend_device(const pegr_backend *b);
/* The context a device backend runs on (for its last error); NULL for the host reference. */
PEGR_API pegr_context *pegr_backend_context(pegr_backend *b);
/* The GEMM a device backend uses, "own" or "clblast"; "host" for the host reference. */
PEGR_API const char *pegr_backend_gemm_name(const pegr_backend *b);

/* ---- Data, weights, evaluation and steps ------------------------------------------------------ */

/* 1 when the backend trains several runs together (pegr_backend_set_runs takes runs > 1). */
PEGR_API int pegr_backend_can_batch(const pegr_backend *b);
/* Before set_data: train `runs` >= 1 runs together (the top of this file). A backend that cannot
 * (the host reference) takes runs = 1 only and says so. */
PEGR_API pegr_status pegr_backend_set_runs(pegr_backend *b, size_t runs, pegr_error *err);
/* Before set_weights: primal or span (AUTO is not a choice here: pegr_train decides it). The host
 * reference has the primal form only and refuses span. */
PEGR_API pegr_status pegr_backend_set_representation(pegr_backend *b,
                                                     pegr_representation representation,
                                                     pegr_error *err);
/* X: (n, P, d) patches; y: (n,) labels in {+1, -1}. */
PEGR_API pegr_status pegr_backend_set_data(pegr_backend *b, const double *X, const double *y,
                                           size_t n, size_t P, size_t d, pegr_error *err);
/* W: (2, m, d). set_data must come first (it fixes d). */
PEGR_API pegr_status pegr_backend_set_weights(pegr_backend *b, const double *W, size_t m,
                                              pegr_error *err);
/* Fix what the metrics are measured against (after set_weights(W0)). */
PEGR_API pegr_status pegr_backend_set_reference(pegr_backend *b, const pegr_reference *ref,
                                                pegr_error *err);
/* Compute what req asks for at the current weights. */
PEGR_API pegr_status pegr_backend_evaluate(pegr_backend *b, const pegr_eval_request *req,
                                           pegr_error *err);
/* One gradient step: the outputs req asks for are computed at the current weights (as by
 * evaluate), then W -= lr * the gradient of req->method. req->grad may be NULL: the gradient then
 * stays on the device. */
PEGR_API pegr_status pegr_backend_step(pegr_backend *b, const pegr_eval_request *req, double lr,
                                       pegr_error *err);
/* One SAM step (docs/math.md, "SAM"): with g the gradient of req->method (gd: L; the others are
 * refused) at the current weights W, W -= lr * (the gradient at W + rho g / ||g||_F), ||.||_F over
 * all of W (both classes' filters); no ascent where g = 0. Two gradient evaluations; on a device
 * nothing d-sized crosses to the host (each run's ||g||^2 is read back: R numbers). The outputs
 * req asks for (metrics, grad, ...) are those at W, as step's. run_rho: each run's rho (R values)
 * or NULL: rho for every run; rho >= 0 and finite (0: gd's step). */
PEGR_API pegr_status pegr_backend_sam_step(pegr_backend *b, const pegr_eval_request *req, double lr,
                                           double rho, const double *run_rho, pegr_error *err);
/* SAM's variant for the sam steps that follow (until set again; a new backend has PEGR_SAM_FULL):
 * per-example is 1-SAM, W -= lr sum_i omega_i grad l_i(W + rho g_i/||g_i||_F), omega_i 1/n or the
 * request's weights, no ascent for an example whose g_i is 0; it costs one gd step plus
 * O(n m P^2) (docs/math.md, "SAM"). A learned second layer (set_readout's learn) takes part in
 * each example's ascent (g_i over W and v; each example has its own v at its ascent point). */
PEGR_API pegr_status pegr_backend_set_sam_variant(pegr_backend *b, pegr_sam_variant variant,
                                                  pegr_error *err);
/* After set_weights (which resets it to the default: mean-filters, v = 1 and fixed): the readout's
 * scale (pegr_readout) and, with learn = 1, a second layer v (2, m) trained with W by the same
 * method and learning rate, starting at 1 (docs/math.md, "Model variants"). A backend that cannot
 * gives PEGR_ERR_UNSUPPORTED naming what to use instead. */
PEGR_API pegr_status pegr_backend_set_readout(pegr_backend *b, pegr_readout readout, int learn,
                                              pegr_error *err);
/* Copy the second layer v (2, m) -- (R, 2, m) in a batch -- into v (all 1 when not learned). */
PEGR_API pegr_status pegr_backend_get_readout(pegr_backend *b, double *v, pegr_error *err);
/* Copy the current weights (2, m, d) -- (R, 2, m, d) in a batch -- into W. */
PEGR_API pegr_status pegr_backend_get_weights(pegr_backend *b, double *W, pegr_error *err);
/* Test error under input perturbation at each of nsigmas noise levels (x + sigma delta, delta from
 * the PERTURB stream of each run's seed). error_rate: runs x nsigmas, run-major. */
PEGR_API pegr_status pegr_backend_perturbed_test_error(pegr_backend *b, double q,
                                                       const double *sigmas, size_t nsigmas,
                                                       const uint64_t *seed, double *error_rate,
                                                       pegr_error *err);
/* Per run: the first step whose update left a NaN or Inf in the weights, or -1. */
PEGR_API pegr_status pegr_backend_first_nonfinite_step(pegr_backend *b, long *step,
                                                       pegr_error *err);

/* ---- Device memory and kernel times (0 / nothing on the host reference) ----------------------- */

PEGR_API size_t pegr_backend_bytes_in_use(const pegr_backend *b);
PEGR_API size_t pegr_backend_bytes_peak(const pegr_backend *b);
/* Start measuring the peak afresh (from what is in use now). */
PEGR_API void pegr_backend_reset_peak(pegr_backend *b);

/* Device time per kernel, from profiling events (options.profiling = 1). */
typedef struct pegr_kernel_time {
    const char *name; /* the kernel, or "clblast_gemm" */
    double seconds;   /* summed device time */
    size_t launches;
} pegr_kernel_time;
/* The totals since the last reset (waits for the queue). OUT: *times, valid until the next call. */
PEGR_API size_t pegr_backend_profile(pegr_backend *b, const pegr_kernel_time **times);
PEGR_API void pegr_backend_profile_reset(pegr_backend *b);

#ifdef __cplusplus
}
#endif
#endif

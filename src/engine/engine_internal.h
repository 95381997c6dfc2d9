/* engine_internal.h: the inside of the OpenCL engine, shared by its files (engine.c: buffers and
 * the backend object; engine_launch.c: kernel arguments and launches; engine_gemm.c: the GEMMs;
 * engine_eval.c: evaluation and steps). */
#ifndef PEGR_ENGINE_INTERNAL_H
#define PEGR_ENGINE_INTERNAL_H

#include "device/cl_include.h"
#include "device/context_impl.h"
#include "engine/engine.h"

/* Batches: the engine trains e->runs runs of the same shapes at once (backend.h). Every per-run
 * buffer holds the runs one after another, so the elementwise kernels see n * runs examples, the
 * GEMMs are strided-batched, the reductions run one work-group per run, and the scalars are a
 * row of SLOT_COUNT per run. Sizes below (n, rows, cols) are one run's. */

/* Scalars reduced on the device and read back together (per run). */
enum {
    SLOT_LOSS = 0,       /* the (weighted) mean loss of the step */
    SLOT_PENALTY = 1,    /* sum_i omega_i ||g_i||^2 */
    SLOT_GNORM2 = 2,     /* ||V||^2 (gr) */
    SLOT_GRADNORM2 = 3,  /* ||gradient||^2 */
    SLOT_STATS = 4,      /* 5 sums of pegr_train_stats: loss, wrong, norm2, norm2^2, rho */
    SLOT_TEST_ERROR = 9, /* test error rate */
    SLOT_COUNT = 10
};

/* Reduction modes of pegr_reduce_sum. */
enum { REDUCE_SUM = 0, REDUCE_SQUARES = 1, REDUCE_DOT = 2 };

typedef struct engine_kernels {
    cl_kernel gemm_nt, gemm_tn, coef_terms, example_terms, coef_final, gr_final, patch_gram,
        per_example_grad, reduce_sum, update, rho, train_stats, test_wrong, add, transpose,
        span_update, coef_fused, reduce_pair, coef_item;
} engine_kernels;

/* Device buffers; names follow docs/math.md. rows = n*P, cols = 2m. */
typedef struct engine_buffers {
    cl_mem X;      /* rows x d */
    cl_mem y;      /* n */
    cl_mem K;      /* n x P x P */
    cl_mem W;      /* cols x d */
    cl_mem grad;   /* cols x d */
    cl_mem V, ZV;  /* gr: cols x d and rows x cols */
    cl_mem Z, A, S2, C;             /* rows x cols */
    cl_mem fpart, Gpart;            /* n x cols */
    cl_mem margin, loss, a1, a2, G, norm2; /* n */
    cl_mem omega;                   /* n: per-example weights (1/n, or a mini-batch's) */
    cl_mem scalars;                 /* SLOT_COUNT */
    cl_mem first_bad;               /* int: first step with non-finite weights (INT_MAX: none) */
    cl_mem run_lam, run_lr;         /* 1: the run's lam and learning rate */
    cl_mem gemm_temp;               /* CLBlast's temporary buffer, when it asks for one */
    /* the reference of the metrics (set_reference) */
    cl_mem Z0;                      /* rows x cols: X W0^T */
    cl_mem mu, Zmu;                 /* d, cols */
    cl_mem signal_patch;            /* n (uint) */
    cl_mem rho;                     /* n */
    cl_mem X_test, y_test, Z_test, wrong; /* nt*P x d, nt, nt*P x cols, nt */
    /* the span representation (engine_span.c) */
    cl_mem S;                       /* rows x rows: X X^T */
    cl_mem Gam;                     /* cols x rows: W = W0 + Gam X (b.W holds W0) */
    cl_mem Gam2;                    /* pegr_coef_item's product: the next Gam (swapped in) */
    cl_mem Zs0;                     /* rows x cols: X W0^T */
    cl_mem CT, SC;                  /* scratch: cols x rows and rows x cols */
    cl_mem Xmu;                     /* rows: X mu (gamma) */
    cl_mem Sx, Zt0;                 /* nt*P x rows: X_test X^T; nt*P x cols: X_test W0^T */
} engine_buffers;

typedef struct engine_pending_event {
    const char *name;
    cl_event event;
} engine_pending_event;

typedef struct engine_profile_state {
    engine_pending_event *events;
    size_t pending, cap;
    pegr_kernel_time kernels[PEGR_ENGINE_MAX_PROFILED];
    size_t nkernels;
} engine_profile_state;

/* The last launch of one kernel (engine_launch_record). */
typedef struct engine_launch_entry {
    const char *name;
    size_t global0, local0; /* along dimension 0; local0 0: the driver chose */
} engine_launch_entry;
#define ENGINE_LAUNCH_RECORDS 32

typedef struct pegr_engine {
    pegr_backend base; /* first: the engine is used through it */
    pegr_context *ctx;
    pegr_engine_options options;
    size_t elem; /* sizeof(REAL) */
    pegr_program *program;
    engine_kernels k;
    engine_buffers b;
    size_t n, P, d, m;
    size_t runs;            /* runs trained together (set_runs; 1 by default) */
    double *lam_on_device;  /* (runs) what b.run_lam holds (NaN: unknown) */
    double *lr_on_device;   /* (runs) what b.run_lr holds */
    int have_data, have_weights;
    size_t bytes_in_use, bytes_peak, bytes_cap;
    size_t reduce_wg;       /* local size of pegr_reduce_sum */
    size_t reduce_wg_compiled; /* PEGR_REDUCE_WG: the reductions' __local arrays (engine.c) */
    engine_launch_entry launches[ENGINE_LAUNCH_RECORDS];
    size_t gemm_temp_bytes; /* size of b.gemm_temp */
    pegr_gemm_impl gemm;    /* resolved: OWN or CLBLAST */
    int gemm_by_size;       /* AUTO: small products take OWN even when gemm is CLBLAST */
    struct engine_gemm_state *gemm_state; /* per-class choices and built variants (engine_gemm.c) */
    int omega_uniform;      /* b.omega holds 1/n */
    long steps_done;        /* step calls since set_weights */
    int have_reference;
    size_t n_test;
    double *Zmu0;           /* (runs, cols) mu W0^T, on the host */
    int span_requested;     /* train in the span of the patches (set_representation) */
    int span;               /* the span state is set up for the current weights */
    engine_profile_state prof;
    /* pegr_coef_fused (engine_eval.c): its work-group limit and static local memory (queried at
     * creation); no_fuse forces the three-kernel path (tests compare the two), fused_per_group
     * (when not 0) the examples per work-group (tests: several on a CPU, a partial last group). */
    size_t fused_wg_limit, fused_local_static, fused_per_group;
    int no_fuse;
    /* The fused coefficient work as pegr_coef_item (one work-item per example, no barriers)
     * instead of pegr_coef_fused: CPUs' default, or $PEGR_COEF_KERNEL (engine.c); item_local
     * (when not 0) its local size (tests), item_wg_limit its CL_KERNEL_WORK_GROUP_SIZE. */
    int coef_item;
    size_t item_local, item_wg_limit;
    /* pegr_coef_item forms the span product itself: 1 or 0 forced ($PEGR_COEF_PRODUCT, tests),
     * -1 by size (engine_eval.c) */
    int item_product;
    /* Non-blocking uploads (engine.c): host copies kept until their write completes. */
    struct engine_staged *staged;
    size_t nstaged, staged_cap;
    /* Host waits on the device (blocking reads, writes, finishes) since creation: a step without
     * metrics or outputs adds none (tests check). */
    unsigned long host_waits;
} pegr_engine;

/* ---- engine.c */
/* A failure of an engine op, s (recorded on the context by pegr_ctx_fail / pegr_ctx_cl_fail),
 * copied into the caller's err with its real message; every op's failure path ends here. */
pegr_status engine_report(pegr_engine *e, pegr_status s, pegr_error *err);
/* Allocate a device buffer of `bytes` (named for messages) within the device's limits and the
 * engine's cap; PEGR_ERR_DEVICE_MEMORY says what was asked and what the device has. */
pegr_status engine_alloc(pegr_engine *e, cl_mem *buf, size_t bytes, const char *name);
void engine_free(pegr_engine *e, cl_mem *buf, size_t bytes);
/* The same for a per-run buffer: `bytes` for each of the engine's runs. */
pegr_status engine_alloc_runs(pegr_engine *e, cl_mem *buf, size_t bytes, const char *name);
void engine_free_runs(pegr_engine *e, cl_mem *buf, size_t bytes);
/* b.run_lam or b.run_lr (with its host copy `held`) set to values[r] (NULL: `value` for every run),
 * written only when something changed. */
pegr_status engine_set_run_values(pegr_engine *e, cl_mem buf, double *held, const double *values,
                                  double value);
/* Host double array -> device REAL buffer (non-blocking: src may be reused at once), and back
 * (blocking). engine_uploads_settle waits for the uploads in flight and frees their copies. */
pegr_status engine_upload(pegr_engine *e, cl_mem buf, const double *src, size_t count);
void engine_uploads_settle(pegr_engine *e);
pegr_status engine_download(pegr_engine *e, cl_mem buf, size_t offset, double *dst, size_t count);

/* ---- engine_launch.c: set arguments by type (the first failure is kept) and launch */
typedef struct engine_args {
    pegr_engine *e;
    cl_kernel kernel;
    const char *name;
    cl_uint next;
    cl_int rc;
} engine_args;

engine_args engine_args_begin(pegr_engine *e, cl_kernel kernel, const char *name);
void engine_arg_mem(engine_args *a, cl_mem mem);
void engine_arg_u32(engine_args *a, size_t value);
void engine_arg_u64(engine_args *a, size_t value);
void engine_arg_i32(engine_args *a, int value);
void engine_arg_real(engine_args *a, double value);
/* A __local argument of `bytes` bytes. */
void engine_arg_local(engine_args *a, size_t bytes);
/* Launch over `global` (dims 1..3; any sizes: kernels bounds-check) with the local size the
 * work-group cap asks for (NULL local when there is none). */
pegr_status engine_launch(engine_args *a, cl_uint dims, const size_t *global);
/* Launch with the caller's local size (within the kernel's and the cap's limits; global a
 * multiple of it), or one work-group of `local` work-items per run. */
pegr_status engine_launch_local(engine_args *a, cl_uint dims, const size_t *global,
                                const size_t *local);
pegr_status engine_launch_group_per_run(engine_args *a, size_t local);
/* The local size along dimension 0 engine_launch takes for a's kernel (0: NULL, the driver's
 * choice): without a cap, for 1-D launches, a multiple of the kernel's preferred multiple within
 * CL_KERNEL_WORK_GROUP_SIZE, the global size padded to it; with a cap, a power of two within it. */
size_t engine_launch_local_size(engine_args *a, cl_uint dims, size_t global0);
/* Tests: the global and local size (dimension 0, after padding) of the last launch of kernel
 * `name`; 0 when it has not been launched. */
int engine_launch_record(const pegr_engine *e, const char *name, size_t *global0, size_t *local0);

/* ---- engine_profile.c */
/* Where the next enqueue named `name` stores its event (NULL when not profiling). */
cl_event *engine_profile_event(pegr_engine *e, const char *name);
void engine_profile_collect(pegr_engine *e);
void engine_profile_free(pegr_engine *e);

/* ---- engine_gemm.c: both shapes are batched over the runs, each operand one run's matrix after
 * another (strides rows * d, cols * d, rows * cols) */
pegr_status engine_gemm_init(pegr_engine *e);
/* Tests: CLBlast's results in the first-use check against pegr's own GEMM are multiplied by this
 * (1; another value forces a disagreement and the fallback to pegr's kernels). */
extern double engine_gemm_test_clblast_scale;
/* Test hook: scales a GEMM variant's products in its check before first use (engine_gemm.c);
 * engine_gemm_variants_refused counts the variants such checks turned down. */
extern double engine_gemm_test_variant_scale;
/* Test hook: nonzero makes every CLBlast product fail (CL_INVALID_WORK_ITEM_SIZE), as CLBlast does
 * on a device whose limits its parameters exceed; the engine then falls back to its own kernels. */
extern int engine_gemm_test_clblast_error;
extern unsigned engine_gemm_variants_refused;
/* Release what engine_gemm_init and the products built (engine_destroy must call it). */
void engine_gemm_free(pegr_engine *e);
/* Z (rows x cols) = X (rows x d) W^T */
pegr_status engine_gemm_nt(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem X, cl_mem W,
                           cl_mem Z);
/* G (cols x d) = C^T X, C (rows x cols) */
pegr_status engine_gemm_tn(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem C, cl_mem X,
                           cl_mem G);

/* ---- engine_eval.c: the backend's evaluate and step */
pegr_status engine_evaluate(pegr_backend *b, const pegr_eval_request *req, pegr_error *err);
pegr_status engine_step(pegr_backend *b, const pegr_eval_request *req, double lr, pegr_error *err);
/* Per run: out[slot] = scale * reduction of the run's `count` elements of x (mode REDUCE_*, w for
 * REDUCE_DOT) */
pegr_status engine_reduce(pegr_engine *e, cl_mem x, cl_mem w, size_t count, int mode, double scale,
                          int slot);
/* Fill b.omega with 1/n. */
pegr_status engine_uniform_weights(pegr_engine *e);
/* Whether pegr_coef_item is to form the span product S Gam^T itself (it then needs b.Gam2): the
 * engine's coefficient kernel is pegr_coef_item and rows n P are few enough, or
 * PEGR_COEF_PRODUCT says so. */
int engine_item_product_wanted(const pegr_engine *e);

/* ---- engine_metrics.c: the reference, the paper's metrics, the perturbed test error */
pegr_status engine_set_reference(pegr_backend *b, const pegr_reference *ref, pegr_error *err);
void engine_free_reference(pegr_engine *e);
/* The metrics at the weights of the pass just run (Z, the per-example terms and the gradient
 * of the objective are in their buffers). */
pegr_status engine_metrics(pegr_engine *e, const pegr_eval_request *req, pegr_metrics *out);
/* Run r's objective from its row of scalars. */
double engine_objective(const pegr_eval_request *req, size_t r, const double *slots);
pegr_status engine_perturbed_test_error(pegr_backend *b, double q, const double *sigmas,
                                        size_t nsigmas, const uint64_t *seed, double *rate,
                                        pegr_error *err);
/* Tests and debugging: rng.h's Philox blocks for (seed, stream, first + j), j < count, computed
 * on the device (words: 4 per block), and the normal the engine's precision draws from each. */
pegr_status engine_debug_philox(pegr_backend *b, uint64_t seed, uint32_t stream, uint64_t first,
                                size_t count, uint32_t *words, double *normals, pegr_error *err);
/* The normal the engine's precision maps each block of words (4 per value) to. */
pegr_status engine_debug_normals(pegr_backend *b, const uint32_t *words, size_t count,
                                 double *normals, pegr_error *err);
/* Test error rate into SLOT_TEST_ERROR of the weights in buffer W on X (nt examples), or, with
 * X NULL in the span representation, of the current weights on the stored test set. */
pegr_status engine_test_error(pegr_engine *e, cl_mem X, cl_mem W, size_t nt, double q);

/* The buffer holding the current weights: b.W, or in the span representation W0 + Gam X formed
 * into b.grad (so the gradient buffer is overwritten). */
cl_mem engine_current_weights(pegr_engine *e, pegr_status *s);

/* ---- engine_span.c: the span representation */
pegr_status engine_set_representation(pegr_backend *b, int span, pegr_error *err);
/* S = X X^T, Zs0 = X W^T, Gam = 0 for the weights just set (when span was requested). */
pegr_status engine_span_setup(pegr_engine *e);
void engine_span_free(pegr_engine *e);
/* Z = Zs0 + S Gam^T; engine_span_product leaves out the + Zs0 (pegr_coef_fused adds it) */
pegr_status engine_span_forward(pegr_engine *e);
pegr_status engine_span_product(pegr_engine *e);
/* Gam -= lr C^T per run (the rates in b.run_lr), flagging non-finite values */
pegr_status engine_span_update(pegr_engine *e, int step);
/* out (rows x cols) = S C, for gr's <x, V> and gradient norms without d-sized work */
pegr_status engine_span_times_S(pegr_engine *e, cl_mem C, cl_mem out);
/* out (cols x d) = W0 + Gam X: the weights, formed only when asked */
pegr_status engine_span_weights(pegr_engine *e, cl_mem out);
/* At set_reference: X mu, X_test X^T and X_test W0^T (w0: W0 on the device). */
pegr_status engine_span_reference(pegr_engine *e, cl_mem w0);
/* gamma's differences c-wise: out (cols) = Gam (X mu) */
pegr_status engine_span_gamma(pegr_engine *e, cl_mem out);
/* Z_test = X_test W0^T + (X_test X^T) Gam^T */
pegr_status engine_span_test_forward(pegr_engine *e);

#endif

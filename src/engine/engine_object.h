/* engine_object.h: the OpenCL engine's object -- its kernels, device buffers and state -- the
 * bottom of the engine's layers (engine_internal.h); it declares no function. */
#ifndef PEGR_ENGINE_OBJECT_H
#define PEGR_ENGINE_OBJECT_H

#include "device/cl_include.h"
#include "device/context_impl.h"
#include "device/kernel_abi.h"
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
    SLOT_STATS = 4,      /* PEGR_STATS_COUNT sums of pegr_train_stats: loss, wrong, norm2,
                            norm2^2, rho (kernel_abi.h) */
    SLOT_TEST_ERROR = SLOT_STATS + PEGR_STATS_COUNT, /* test error rate */
    SLOT_VNORM2,         /* ||gradient in v||^2 (a learned second layer) */
    SLOT_GVNORM2,        /* ||Vv||^2: gr's V in v (a learned second layer) */
    SLOT_COUNT
};

typedef struct engine_kernels {
    cl_kernel gemm_nt, gemm_tn, coef_terms, example_terms, coef_final, gr_final, patch_gram,
        per_example_grad, reduce_sum, update, rho, train_stats, test_wrong, add, transpose,
        span_update, coef_fused, reduce_pair, coef_item, sum_examples, sam1_shift;
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
    cl_mem first_bad;               /* int: first step with non-finite weights
                                       (PEGR_NO_DIVERGENCE: none) */
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
    /* a bias (the reference's bias: each patch's last coordinate is its constant 1): rho leaves
     * out bias_now - bias_init, the change of W's last column (engine_metrics.c) */
    cl_mem bias_dir;                /* d: e_{d-1} (primal); rows: X e_{d-1} (span) */
    cl_mem bias_now, bias_init;     /* cols: bias_dir W^T and W0's last column (primal); bias_dir
                                       Gam^T, the change itself, and 0 (span) */
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
    long *sam_bad;          /* (runs) first sam step whose gradient norm at W was not finite (-1:
                               none); first_nonfinite_step takes the earlier of it and b.first_bad */
    int have_data, have_weights;
    size_t bytes_in_use, bytes_peak, bytes_cap;
    size_t reduce_wg;       /* local size of pegr_reduce_sum */
    size_t reduce_wg_compiled; /* PEGR_REDUCE_WG: the reductions' __local arrays (engine_reduce.c) */
    engine_launch_entry launches[ENGINE_LAUNCH_RECORDS];
    size_t gemm_temp_bytes; /* size of b.gemm_temp */
    pegr_gemm_impl gemm;    /* resolved: OWN or CLBLAST */
    int gemm_by_size;       /* AUTO: small products take OWN even when gemm is CLBLAST */
    struct engine_gemm_state *gemm_state; /* per-class choices and built variants (engine_gemm.c) */
    int omega_uniform;      /* b.omega holds 1/n */
    long steps_done;        /* step calls since set_weights */
    int have_reference;
    size_t n_test;
    double *Zmu0;           /* (runs, n_signal, cols) mu W0^T, on the host */
    size_t n_signal;        /* rows of mu (set_reference): 1, or 2 for the XOR model's u+, u-;
                               the sizes of mu, Zmu and Xmu (0 before any reference: 1) */
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
     * -1 by size (engine_span.c) */
    int item_product;
    /* Non-blocking uploads (engine_buffers.c): host copies kept until their write completes. */
    struct engine_staged *staged;
    size_t nstaged, staged_cap;
    /* Host waits on the device (blocking reads, writes, finishes) since creation: a step without
     * metrics or outputs adds none (tests check). */
    unsigned long host_waits;
    /* The reference's bias (set_reference): the last of the d coordinates is a bias's 1;
     * bias_dir_len: b.bias_dir's length (d primal, n*P span) */
    int bias;
    size_t bias_dir_len;
    /* The readout (set_readout; docs/math.md, "Model variants"): kappa = 1 / kappa_div, 0 meaning
     * m (the default); set_weights resets it. */
    size_t kappa_div;
    /* A learned second layer (set_readout's learn): v and its buffers, b.readout (engine.c). */
    int learn;
    struct engine_readout_buffers {
        cl_mem v;         /* runs x cols: the second layer */
        cl_mem v_save;    /* runs x cols: v at W while SAM evaluates its ascent point */
        cl_mem grad_v;    /* runs x cols: the step's gradient in v */
        cl_mem Vv;        /* runs x cols: gr's V in v (gd's gradient in v) */
        cl_mem D;         /* rows x cols: c_j kappa s'(z), the v-W Hessian block */
        cl_mem F, Cv;     /* n x cols: kappa sum_p s(z), and v's per-example coefficients */
        cl_mem v1;        /* n x cols: per-example SAM's v at each example's own ascent point */
    } rb;
} pegr_engine;

/* The rows of the reference's mu: n_signal, 1 before any reference. */
static inline size_t engine_signal_rows(const pegr_engine *e) { return e->n_signal ? e->n_signal : 1; }

#endif

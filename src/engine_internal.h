/* engine_internal.h: the inside of the OpenCL engine, shared by its files (engine.c: buffers and
 * the backend object; engine_launch.c: kernel arguments and launches; engine_gemm.c: the GEMMs;
 * engine_eval.c: evaluation and steps). */
#ifndef PEGR_ENGINE_INTERNAL_H
#define PEGR_ENGINE_INTERNAL_H

#include "cl_include.h"
#include "context_impl.h"
#include "engine.h"

enum { SLOT_LOSS_SUM = 0, SLOT_PENALTY = 1, SLOT_GNORM2 = 2, SLOT_COUNT = 4 };

typedef struct engine_kernels {
    cl_kernel gemm_nt, gemm_tn, coef_terms, example_terms, coef_final, gr_final, patch_gram,
        per_example_grad, reduce_sum, update;
} engine_kernels;

/* Device buffers; names follow math.md. rows = n*P, cols = 2m. */
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
    cl_mem scalars;                 /* SLOT_COUNT */
    cl_mem gemm_temp;               /* CLBlast's temporary buffer, when it asks for one */
} engine_buffers;

typedef struct pegr_engine {
    pegr_backend base; /* first: the engine is used through it */
    pegr_context *ctx;
    pegr_engine_options options;
    size_t elem; /* sizeof(REAL) */
    pegr_program *program;
    engine_kernels k;
    engine_buffers b;
    size_t n, P, d, m;
    int have_data, have_weights;
    size_t bytes_in_use, bytes_peak, bytes_cap;
    size_t reduce_wg;       /* local size of pegr_reduce_sum */
    size_t gemm_temp_bytes; /* size of b.gemm_temp */
    pegr_gemm_impl gemm;    /* resolved: OWN or CLBLAST */
} pegr_engine;

/* ---- engine.c */
/* Allocate a device buffer of `bytes` (named for messages) within the device's limits and the
 * engine's cap; PEGR_ERR_DEVICE_MEMORY says what was asked and what the device has. */
pegr_status engine_alloc(pegr_engine *e, cl_mem *buf, size_t bytes, const char *name);
void engine_free(pegr_engine *e, cl_mem *buf, size_t bytes);
/* Host double array -> device REAL buffer, and back. */
pegr_status engine_upload(pegr_engine *e, cl_mem buf, const double *src, size_t count);
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
void engine_arg_i32(engine_args *a, int value);
void engine_arg_real(engine_args *a, double value);
/* Launch over `global` (dims 1..3; any sizes: kernels bounds-check) with the local size the
 * work-group cap asks for (NULL local when there is none). */
pegr_status engine_launch(engine_args *a, cl_uint dims, const size_t *global);
/* Launch as one work-group of `local` work-items. */
pegr_status engine_launch_single_group(engine_args *a, size_t local);

/* ---- engine_gemm.c */
pegr_status engine_gemm_init(pegr_engine *e);
/* Z (rows x cols) = X (rows x d) W^T */
pegr_status engine_gemm_nt(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem X, cl_mem W,
                           cl_mem Z);
/* G (cols x d) = C^T X, C (rows x cols) */
pegr_status engine_gemm_tn(pegr_engine *e, size_t rows, size_t cols, size_t d, cl_mem C, cl_mem X,
                           cl_mem G);

/* ---- engine_eval.c: the backend's evaluate and step */
pegr_status engine_evaluate(pegr_backend *b, const pegr_eval_request *req, pegr_error *err);
pegr_status engine_step(pegr_backend *b, const pegr_eval_request *req, double lr, pegr_error *err);

#endif

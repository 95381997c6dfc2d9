/* gemm_tuning.h: the GEMMs tuned for the user's device (`pegr tune`). CLBlast's database has no
 * entry for many devices (PoCL's CPU among them) and falls back to generic GEMM parameters; this
 * measures candidate parameter sets of its XgemmDirect kernel -- the one it runs for pegr's
 * tall-skinny shapes -- on the device, and, per shape class, pegr's own kernel variants against
 * CLBlast and the simple kernels; it stores the fastest in the cache directory, and engines on
 * that device use them from then on (CLBlast's parameters through its override API). */
#ifndef PEGR_GEMM_TUNING_H
#define PEGR_GEMM_TUNING_H

#include "device/context_impl.h"
#include "pegr/tune.h" /* the calls `pegr tune` makes, the classes and the choices */

/* ---- pegr's own GEMM variants (cl/gemm_tiled.cl), built and launched by engine_gemm.c */
typedef enum pegr_gemm_shape {
    PEGR_GEMM_NT = 0, /* C (M x N) = A B^T, A (M x K), B (N x K): pre-activations, S Gam^T */
    PEGR_GEMM_TN = 1  /* C (M x N) = A^T B, A (K x M), B (K x N): gradients */
} pegr_gemm_shape;

/* The shape classes (pegr/tune.h): a product is small below PEGR_GEMM_SMALL_MACS multiply-adds. */
#define PEGR_GEMM_SMALL_MACS ((size_t)1 << 23)

typedef struct pegr_gemm_variant {
    const char *name; /* as `pegr tune` prints and stores it */
    int tiled;        /* 1: local-memory tiles (GEMM_FAMILY 1); 0: direct (GEMM_FAMILY 2) */
    unsigned tsm, tsn, tk, wm, wn; /* tiled: tile M x N x K, register block WM x WN */
    unsigned vw, dwm, dwn;         /* direct: vector width, register block DWM x DWN */
    unsigned dkc;                  /* direct TN: K block (0: none; cl/gemm_tiled.cl) */
} pegr_gemm_variant;

/* The variants shipped (src/device/gemm_variants.c), a constant so per-variant state can be an
 * array. */
#define PEGR_GEMM_NVARIANTS 7
size_t pegr_gemm_variant_count(void);
const pegr_gemm_variant *pegr_gemm_variant_at(size_t index);
/* The kernel a variant runs for a shape ("pegr_gemm_direct_nt", ...), for profiles and messages. */
const char *pegr_gemm_variant_kernel_name(size_t index, pegr_gemm_shape shape);
/* The class of one run's product (M x N x K, as in pegr_gemm_shape). */
int pegr_gemm_class(pegr_gemm_shape shape, size_t M, size_t N, size_t K);
/* The choices of a device `pegr tune` has not measured, by its type (engine_gemm.c says which
 * measurements they come from); have_clblast: CLBlast may be chosen. */
void pegr_gemm_default_choices(const pegr_device_info *dev, int have_clblast,
                               int choices[PEGR_GEMM_CLASSES]);

/* One variant built for a context: both shapes' kernels. */
typedef struct pegr_gemm_built {
    pegr_program *program;
    cl_kernel kernel[2]; /* by pegr_gemm_shape */
    int fits;            /* 0: the device cannot run it (work-group size or local memory): skip */
    size_t direct_local; /* direct variants: the work-group size along dimension 0 */
} pegr_gemm_built;

/* Build variant `index` (the program cache makes a second build cheap). A variant the device's
 * limits rule out is not an error: PEGR_OK with out->fits 0 and nothing to release. */
pegr_status pegr_gemm_variant_build(pegr_context *ctx, pegr_precision precision, size_t index,
                                    pegr_gemm_built *out);
void pegr_gemm_variant_release(pegr_gemm_built *built);
/* Enqueue C = op(A) op(B) for `batch` runs (operand r at r * its stride; 0: shared) with a built
 * variant that fits; event: where to store the kernel's event (may be NULL). */
pegr_status pegr_gemm_variant_enqueue(pegr_context *ctx, size_t index, const pegr_gemm_built *built,
                                      pegr_gemm_shape shape, size_t M, size_t N, size_t K, cl_mem A,
                                      size_t a_stride, cl_mem B, size_t b_stride, cl_mem C,
                                      size_t c_stride, size_t batch, cl_event *event);


/* What a stored tuning holds. Version 2 (what `pegr tune` writes now):
 *   pegr-gemm-tuning 2
 *   XgemmDirect default            (or: XgemmDirect and one of the candidates' 10 values)
 *   nt-small CHOICE
 *   nt-large CHOICE
 *   tn-small CHOICE
 *   tn-large CHOICE
 * with CHOICE "simple", "clblast" or one of pegr's variant names; version 1 is the single
 * XgemmDirect line of older pegr (its classes then take the device's defaults). */
typedef struct pegr_gemm_tuning {
    int has_clblast;                    /* values holds CLBlast parameters to apply */
    size_t values[PEGR_TUNING_PARAMS];
    int has_choices;                    /* 0: a version 1 file */
    int choices[PEGR_GEMM_CLASSES];
} pegr_gemm_tuning;

/* Read a stored tuning file (it sits in the cache directory, which others may be able to write):
 * only a regular file of this user -- no symbolic link, FIFO or device -- of at most
 * PEGR_TUNING_MAX_BYTES, holding exactly the lines above, each exactly as `pegr tune` writes it
 * (CLBlast values only of pegr's candidates, choices only of what this pegr has): nothing pegr
 * did not measure is ever applied. PEGR_ERR_NOT_FOUND when there is no file; any other refusal is
 * PEGR_ERR_IO or PEGR_ERR_FORMAT with the reason. */
#define PEGR_TUNING_MAX_BYTES 4096
pegr_status pegr_tuning_read(const char *path, pegr_gemm_tuning *out, pegr_error *err);
/* Apply the stored tuning's CLBlast parameters, when there are some and $PEGR_NO_TUNING is
 * unset. 1 when applied; a file pegr_tuning_read refuses is logged and ignored. */
int pegr_tuning_apply(pegr_context *ctx, pegr_precision precision);
/* The stored choices per class, when a version 2 tuning is stored and $PEGR_NO_TUNING is unset:
 * 1 and choices filled (a choice of CLBlast only where this pegr has it), else 0. */
int pegr_tuning_choices(pegr_context *ctx, pegr_precision precision,
                        int choices[PEGR_GEMM_CLASSES]);


/* ---- The verdict of engine_gemm.c's CLBlast check (CLBlast's GEMM against pegr's own on a
 * small product, issue 12 item 9), cached next to the tuning, one file per device, precision,
 * pegr version and CLBlast version: the check runs once per device, not once per engine. The file
 * holds exactly "pegr-clblast-check 1\n" and "agree\n" or "disagree\n"; anything else (or a file
 * pegr_safe_read_file refuses) is logged and ignored, and the check runs again. */
typedef enum pegr_clblast_verdict {
    PEGR_CLBLAST_UNCHECKED = 0,
    PEGR_CLBLAST_AGREES = 1,
    PEGR_CLBLAST_DISAGREES = 2
} pegr_clblast_verdict;
/* The verdict file's path (malloc'ed), NULL without a cache directory. */
char *pegr_clblast_verdict_path(const pegr_device_info *dev, pegr_precision precision);
pegr_clblast_verdict pegr_clblast_verdict_load(pegr_context *ctx, pegr_precision precision);
/* Store it (atomically); a failure to store is logged, not returned: the check runs again. */
void pegr_clblast_verdict_store(pegr_context *ctx, pegr_precision precision,
                                pegr_clblast_verdict v);
/* Test hook: how many CLBlast checks this process ran (engine_gemm.c counts them). */
extern unsigned pegr_clblast_checks_run;

#endif

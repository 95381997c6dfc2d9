/* train.h: a training run -- the paper's experiment on one backend: data and initial weights from
 * the seed, steps of gd / sgd / gr / pegr, the metrics at log steps, divergence detection, a stop
 * request honoured at the next step, and the robustness test at the end. */
#ifndef PEGR_TRAIN_H
#define PEGR_TRAIN_H

#include <signal.h>
#include <stddef.h>

#include "pegr/backend.h"
#include "pegr/data.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PEGR_MAX_ROBUST 16

typedef struct pegr_train_config {
    pegr_data_config data;
    size_t m;         /* filters per class */
    double q;         /* activation exponent */
    double sigma0;    /* init scale */
    pegr_method method; /* gd, sgd, gr, pegr or sam (pegr_method_parse reads the names) */
    double lam, lr;
    size_t steps;
    size_t batch;     /* sgd's mini-batch size (reshuffled each epoch) */
    size_t log_every; /* metrics every this many steps (and at the end) */
    pegr_representation representation; /* auto, primal or span (docs/math.md's dual form); a
                                   backend without the span form trains primal (result.span says
                                   which; tests compare span runs against the host that way), so
                                   a command refuses span on the host up front:
                                   pegr_backend_check_request */
    double robust_sigmas[PEGR_MAX_ROBUST];
    size_t n_robust;
    double sam_rho;   /* sam's ascent radius rho: W -= lr grad L(W + rho g/||g||_F) (docs/math.md);
                         > 0 for sam, ignored by the other methods */
    int init;         /* pegr_init (the option --init gaussian|uniform): the initial weights */
    int bias;         /* 1: a per-filter bias, z = <W[j,r], x_p> + b[j,r] (docs/math.md, "Model
                         variants"); b starts at 0 under gaussian init, U(-kb, kb) under uniform */
    int readout;      /* pegr_readout (--readout mean-filters|mean-patches): the readout's scale
                         kappa, 1/m or 1/P (docs/math.md, "Model variants") */
    int learn_readout; /* 1: the second layer v (2, m) is trained with W, from v = 1 */
    int sam_variant;  /* pegr_sam_variant (--sam-variant full|per-example): sam's ascent, one for
                         all of W (full) or one per example (1-SAM; docs/math.md, "SAM") */
} pegr_train_config;

/* The initial weights (pegr_train_config.init; data.h says how each value is drawn). */
typedef enum pegr_init {
    PEGR_INIT_GAUSSIAN = 0, /* W ~ N(0, sigma0^2) (the theory papers'); a bias starts at 0 */
    PEGR_INIT_UNIFORM = 1,  /* PyTorch's nn.Conv1d default: W and a bias ~ U(-kb, kb),
                               kb = 1/sqrt(d) (fan-in d: a filter sees one patch); sigma0 is
                               not used */
} pegr_init;
#define PEGR_INITS "gaussian|uniform"

/* docs/math.md's demo regime: n 50, n_test 1000, d 1000, P 2, ||mu|| 3, sigma_p 1, m 10, q 3,
 * sigma0 0.01, lr 0.1, 1000 steps, lam 0.01, batch 10, log every 10, method pegr,
 * robust sigmas 0.1 0.2 0.5 1, sam-rho 0.05, gaussian init, no bias. */
PEGR_API void pegr_train_config_default(pegr_train_config *c);
/* The named presets, "demo|large|tiny" (the CLI's --preset, Python's preset=):
 *   demo:  the defaults above;
 *   large: docs/math.md's second regime: n 200, d 2000, ||mu|| 2, m 20, 2000 steps, log every 20;
 *   tiny:  seconds on a laptop (smoke runs, tests): n 20, n_test 200, d 200, m 4, 200 steps.
 * pegr_train_config_preset resets c to the defaults, then applies the preset; an unknown name
 * gives PEGR_ERR_INVALID_ARGUMENT listing the names (c is then the defaults). */
#define PEGR_TRAIN_PRESETS "demo|large|tiny"
PEGR_API pegr_status pegr_train_config_preset(const char *name, pegr_train_config *c,
                                              pegr_error *err);
/* PEGR_TRAIN_PRESETS as a string, for bindings that cannot read a macro. */
PEGR_API const char *pegr_train_preset_names(void);
/* PEGR_ERR_INVALID_ARGUMENT naming the option and what is allowed. */
PEGR_API pegr_status pegr_train_config_validate(const pegr_train_config *c, pegr_error *err);

/* ---- The training options by name: the one table of them (src/train/train_options.c) -------- */

/* What an option's value is, and how its text is read (strictly: decimal only, no space, no sign
 * on integers, no hex, inf or nan; a range is checked). */
typedef enum pegr_option_type {
    PEGR_OPTION_SIZE,           /* size_t: decimal digits */
    PEGR_OPTION_U64,            /* uint64_t: decimal digits */
    PEGR_OPTION_DOUBLE,         /* double: a finite decimal number */
    PEGR_OPTION_FLAG,           /* int 0/1: "0" or "1" (a command line gives the flag alone) */
    PEGR_OPTION_METHOD,         /* pegr_method by name */
    PEGR_OPTION_REPRESENTATION, /* pegr_representation by name */
    PEGR_OPTION_SIGMAS,         /* robust_sigmas/n_robust: "none" or a comma list of distinct
                                   numbers >= 0, at most PEGR_MAX_ROBUST */
    PEGR_OPTION_CHOICE,         /* int: the position (0, 1, ...) of the word given in the row's
                                   '|'-separated `allowed` list ("gaussian|uniform": 1 is
                                   uniform); config.json and results.csv hold the word */
} pegr_option_type;

typedef struct pegr_train_option {
    const char *name;    /* as on the command line without "--": "lam", "label-noise" */
    pegr_option_type type;
    size_t offset;       /* where it lives: offsetof(pegr_train_config, ...) */
    const char *metavar; /* "N", "X", ... (NULL for flags and choices) */
    const char *help;    /* one line */
    /* SIZE, U64, DOUBLE: the accepted range "MIN..MAX" (an end may be empty: "1..", "0..0.5"),
     * NULL for any value of the type; METHOD, REPRESENTATION, CHOICE: the names, '|'-separated. */
    const char *allowed;
    const char *column;  /* its column name in a sweep's results ("label-noise" -> "label_noise") */
    int data;            /* 1: a data-model option (in c->data) */
} pegr_train_option;

/* The table of every training option (model, training and data), in the order `pegr train
 * --help` lists them. OUT: *table (static storage). Returns the count. Thread-safe. */
PEGR_API size_t pegr_train_options(const pegr_train_option **table);
/* The option of that name, or NULL. */
PEGR_API const pegr_train_option *pegr_train_option_find(const char *name);
/* Set the option `name` of *c from its text, as `pegr train --NAME VALUE` would: parsed strictly,
 * its range checked ("--snr" must be > 0 when given). Only that field changes (robust-sigmas:
 * robust_sigmas and n_robust); the whole config is not validated (pegr_train_config_validate).
 * PEGR_ERR_INVALID_ARGUMENT naming the option and what it takes: "--label-noise needs a number from
 * 0 to 0.5, not '0.9'"; an unknown name: "unknown option '--NAME'". c is unchanged on failure.
 * Thread-safe (on distinct configs). */
PEGR_API pegr_status pegr_train_config_set(pegr_train_config *c, const char *name,
                                           const char *value_text, pegr_error *err);
/* The room any option's text needs (PEGR_MAX_ROBUST numbers of at most 24 characters, commas). */
#define PEGR_TRAIN_OPTION_TEXT_MAX 512
/* The option `name` of *c as the text pegr_train_config_set reads back to the same value: "0.1"
 * (the shortest decimal that reads back exactly), "50", "1" / "0" (flags), "pegr", "uniform",
 * "0.1,0.2" or "none" (robust-sigmas); into buf (size bytes, PEGR_TRAIN_OPTION_TEXT_MAX always
 * suffices). PEGR_ERR_INVALID_ARGUMENT for an unknown name or a buf too small (buf is then "").
 * Thread-safe. */
PEGR_API pegr_status pegr_train_config_get(const pegr_train_config *c, const char *name,
                                           char *buf, size_t size, pegr_error *err);

typedef struct pegr_train_record {
    size_t step;         /* the metrics are at the weights after `step` updates */
    double wall_seconds; /* since the start of the run */
    pegr_metrics metrics;
} pegr_train_record;

typedef struct pegr_train_callbacks {
    /* After each record (a log step); may be NULL. */
    void (*on_record)(void *user, const pegr_train_config *c, const pegr_train_record *rec);
    /* Asked before each step; non-zero stops the run there; may be NULL. */
    int (*should_stop)(void *user);
    void *user;
    /* A cancel flag read before each step: non-zero stops the run there (what a SIGINT handler or
     * another thread sets; the CLI's Ctrl-C is this). May be NULL. */
    const volatile sig_atomic_t *cancel;
} pegr_train_callbacks;

typedef struct pegr_train_result {
    pegr_train_record *records;
    size_t n_records;
    size_t steps_run;   /* updates made; a diverged run's ends with the one that diverged:
                           diverged_step + 1 */
    int diverged;       /* NaN or Inf in the weights or any metric, found at whatever step count
                           (checked at the end too); its records after diverged_step hold NaN
                           (nothing measured at non-finite weights is kept) and W is not finite */
    long diverged_step; /* the step whose update produced it (-1: none) */
    int interrupted;    /* stopped by should_stop */
    double robust_error[PEGR_MAX_ROBUST]; /* test error at each robust sigma (NaN if diverged) */
    double wall_seconds;
    double *W, *W0;     /* (2, m, d) final and initial weights */
    int span;           /* the run used the span representation */
    size_t batch_runs;  /* how many runs trained together with it (1: alone); wall_seconds is then
                           the batch's */
    double *b, *b0;     /* (2, m) final and initial per-filter biases with c->bias (W, W0 then
                           hold the filters alone, (2, m, d)); NULL without a bias */
    double *v;          /* (2, m) the final second layer with c->learn_readout (it starts at 1);
                           NULL without */
} pegr_train_result;

/* Train on `backend` (fresh: the run sets its data and weights) with the data `ds` generated from
 * c->data. OUT: *result (free with pegr_train_result_free), filled also when the run diverged or
 * was interrupted; only a failure (device error, memory) returns non-OK. */
PEGR_API pegr_status pegr_train_run(pegr_backend *backend, const pegr_dataset *ds, const pegr_train_config *c,
                           const pegr_train_callbacks *cb, pegr_train_result *result,
                           pegr_error *err);
PEGR_API void pegr_train_result_free(pegr_train_result *r);

/* 1 when two runs can train in one batch: the same shapes and schedule (n, n_test, d, P, m, q,
 * method, steps, log_every, sgd's batch, representation, robust sigmas, data model, bias, readout,
 * learn_readout, sam's variant). Seeds,
 * lam, lr, sigma0, init, sam_rho and the data's values (||mu||, snr, sigma_p, noise kind, label
 * flips) may differ. */
PEGR_API int pegr_train_batchable(const pegr_train_config *a, const pegr_train_config *b);

/* Train `runs` batchable runs together on a backend with set_runs (one set of kernel launches per
 * step for all of them; a backend without it takes runs = 1 only). ds, c and result are arrays of
 * `runs`. Each run's result equals its result alone -- the same data, steps, metrics at the same
 * steps, divergence caught at the same step (a diverged run is frozen while the others go on) --
 * to rounding (the batched GEMMs may sum in another order). The callbacks' c names the run. */
PEGR_API pegr_status pegr_train_run_batch(pegr_backend *backend, const pegr_dataset *ds,
                                 const pegr_train_config *c, size_t runs,
                                 const pegr_train_callbacks *cb, pegr_train_result *result,
                                 pegr_error *err);

/* auto's choice: 1 when the span form costs fewer operations over the whole run (steps, log
 * steps and its one-time Gram products) than the primal form. */
PEGR_API int pegr_train_prefers_span(const pegr_train_config *c);

/* The records of a result: how many, record i (0 <= i < count; NULL outside), the last one (the
 * final metrics; NULL when there is none). Owned by the result. */
PEGR_API size_t pegr_train_result_record_count(const pegr_train_result *r);
PEGR_API const pegr_train_record *pegr_train_result_record(const pegr_train_result *r, size_t i);
PEGR_API const pegr_train_record *pegr_train_result_last(const pegr_train_result *r);

#ifdef __cplusplus
}
#endif
#endif

/* sweep.h: a sweep -- every run of a grid of training configurations x methods x seeds --
 * described, enumerated in one fixed order, trained into an output directory where each run lands
 * atomically (so a sweep killed at any moment and started again trains each missing run exactly
 * once), and collected into one results.csv.
 *
 * A sweep is a base pegr_train_config, up to PEGR_SWEEP_MAX_AXES named axes (each a training option
 * by its option name -- "lam", "snr", "label-noise", see pegr_train_options -- with values given as
 * text, set through pegr_train_config_set), methods and seeds. Run k's coordinates: the axes' tuple
 * outermost (the first axis slowest), then the method, then the seed.
 *
 * A run's id ("gd-s0-n=20-mu-norm=0.5-3fa9c1d2": method, seed, NAME=VALUE of each axis, then 8 hex
 * digits of a hash of the run's whole resolved configuration and the sweep's precision) names its
 * directory DIR/runs/ID. A run trained with any other option has another id, so a run directory is
 * reused exactly when it is the same run.
 *
 * The directory a sweep writes (byte for byte what `pegr sweep` writes; the CLI is a client of
 * these calls):
 *   DIR/sweep.json       axes (as CSV columns), methods, seeds, the run count, pegr's version
 *   DIR/sweep.canonical  the text that identifies the sweep (pegr_sweep_canonical)
 *   DIR/sweep.args       the defining arguments the caller passes, one a line (the CLI's flags)
 *   DIR/runs/ID/         a landed run: config.json, metrics, summary.json, W.npy, W0.npy, row.csv
 *   DIR/runs/.ID.tmp.HOST.PID/  a run on its way (renamed to DIR/runs/ID when complete)
 *   DIR/results.csv      one row per landed run, in run order (pegr_sweep_collect)
 *
 * Typical use (a whole sweep in one process, e.g. from a Python binding):
 *     pegr_sweep *s;  pegr_sweep_create(&base, PEGR_FP64, &s, &err);
 *     pegr_sweep_add_axis(s, "lam=0.001,0.01", &err);
 *     pegr_sweep_add_axis(s, "snr=0.5:1:0.5", &err);
 *     pegr_method m[] = {PEGR_METHOD_GD, PEGR_METHOD_PEGR};  pegr_sweep_set_methods(s, m, 2, &err);
 *     uint64_t seeds[] = {0};  pegr_sweep_set_seeds(s, seeds, 1, &err);
 *     pegr_sweep_check(s, &err);                   (required before anything below)
 *     pegr_backend_open("host", NULL, &b, &err);
 *     pegr_sweep_run_all(s, b, "out", NULL, NULL, &summary, &err);  (landed runs are skipped)
 * A program that spreads a sweep over processes (the CLI: one worker per device, shards) uses the
 * lower layer instead: pegr_sweep_dir_init, pegr_sweep_lock_dir, pegr_sweep_dir_differs and
 * pegr_sweep_write_description, pegr_sweep_plan_create, then pegr_sweep_plan_run_batch for each
 * batch a worker claims (in any process forked after the plan was made), then pegr_sweep_collect.
 *
 * Errors: every fallible call returns a pegr_status and fills the optional `err` with a message
 * naming what was wrong (an option, a value, a file) and what would be right; options are named as
 * on the command line ("--lam needs ..."). The library never prints: what a sweep has to say while
 * it runs (a run that failed, a damaged run directory removed, a row that is not merged) goes to
 * the on_message callback, one line without a trailing newline.
 *
 * Thread-safety: a pegr_sweep is immutable after pegr_sweep_check, and may then be read from any
 * number of threads (and processes forked after it). A plan is shared read-only the same way; each
 * worker runs its batches on its own backend. Two processes may train runs of one directory at
 * once (each run lands by an atomic rename; a run landed meanwhile is not trained again); two
 * *sweeps* on one directory are kept apart by pegr_sweep_lock. */
#ifndef PEGR_SWEEP_H
#define PEGR_SWEEP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "pegr/backend.h"
#include "pegr/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PEGR_SWEEP_MAX_AXES 4
#define PEGR_SWEEP_MAX_VALUES 256 /* values on one axis */
#define PEGR_SWEEP_MAX_VALUE_LEN 31 /* bytes of one value's text */
#define PEGR_SWEEP_MAX_METHODS PEGR_METHOD_COUNT
#define PEGR_SWEEP_MAX_SEEDS 1024
/* The most runs one sweep may hold (pegr_sweep_check refuses more): a million runs is already a
 * large study; split a bigger one into several sweeps. */
#define PEGR_SWEEP_MAX_RUNS 1000000
/* The longest run id, in bytes: DIR/runs/.ID.tmp.HOST.PID must fit NAME_MAX (255) with a host
 * name of up to 64 bytes and a pid. A buffer of PEGR_SWEEP_ID_MAX + 1 holds any id. */
#define PEGR_SWEEP_ID_MAX 160
/* The bytes a run id (and so every axis value) may hold: nothing a shell, a CSV reader or a path
 * treats specially. Ids start with the method, never with '.'. */
#define PEGR_SWEEP_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=+-"
/* The hex digits of the configuration fingerprint at the end of each id. */
#define PEGR_SWEEP_FINGERPRINT_HEX 8
/* Runs that share shapes train together in batches of at most this many, unless told otherwise. */
#define PEGR_SWEEP_DEFAULT_BATCH_RUNS 16
/* How many missing runs' ids a tally names. */
#define PEGR_SWEEP_TALLY_IDS 20

typedef struct pegr_sweep pegr_sweep;

/* ---- Describing a grid ---------------------------------------------------------------------- */

/* A new sweep over `base` (copied; not validated alone -- every run's configuration is, by
 * pegr_sweep_check, since each run replaces the method and seed) in `precision`, the
 * arithmetic the runs ask of a device (it is part of every run's fingerprint; the host reference
 * computes in fp64 whatever is asked, so ask PEGR_FP64 there). No axes, no methods, no seeds yet.
 * OUT: *out, freed with pegr_sweep_free. */
PEGR_API pegr_status pegr_sweep_create(const pegr_train_config *base, pegr_precision precision,
                                       pegr_sweep **out, pegr_error *err);
/* NULL is fine. */
PEGR_API void pegr_sweep_free(pegr_sweep *s);
/* Replace the base and the precision (as pegr_sweep_create takes them); the sweep must be
 * checked again. For a caller that reads the axes before the options they apply to. */
PEGR_API pegr_status pegr_sweep_set_base(pegr_sweep *s, const pegr_train_config *base,
                                         pegr_precision precision, pegr_error *err);
/* Train every run on ds (the caller's own data, pegr_dataset_from_arrays) in place of generated
 * data. The sweep refers to ds: the caller keeps it unchanged until pegr_sweep_free. Each run's
 * n, n_test, d and P are ds's; a grid axis over a data-model option other than seed (which still
 * draws the initial weights) is refused by pegr_sweep_check, as it would mean nothing; a hash of
 * ds's arrays enters sweep.canonical and every run id, so a resume on other data reuses no run.
 * NULL: generated data again. The sweep must be checked again. */
PEGR_API pegr_status pegr_sweep_set_data(pegr_sweep *s, const pegr_dataset *ds, pegr_error *err);
/* The dataset of pegr_sweep_set_data, or NULL (generated data). */
PEGR_API const pegr_dataset *pegr_sweep_data(const pegr_sweep *s);

/* Add an axis from its text: "NAME=FROM:TO:STEP" (inclusive, decimal numbers, at most
 * PEGR_SWEEP_MAX_VALUES values, each written "%.10g") or "NAME=V1,V2,...". NAME is a training
 * option (pegr_train_option_find) other than method and seed that takes a value (not a flag); each
 * value is made of PEGR_SWEEP_ID_CHARS, at most PEGR_SWEEP_MAX_VALUE_LEN bytes, given once. An axis
 * name given twice, and the values against the option, are refused by pegr_sweep_check.
 * PEGR_ERR_INVALID_ARGUMENT naming what is wrong; the sweep is unchanged then. */
PEGR_API pegr_status pegr_sweep_add_axis(pegr_sweep *s, const char *text, pegr_error *err);
/* The same from a name and `count` value texts. */
PEGR_API pegr_status pegr_sweep_add_axis_values(pegr_sweep *s, const char *name,
                                                const char *const *values, size_t count,
                                                pegr_error *err);
/* The methods (1 .. PEGR_SWEEP_MAX_METHODS, each once), replacing any set before. */
PEGR_API pegr_status pegr_sweep_set_methods(pegr_sweep *s, const pegr_method *methods, size_t count,
                                            pegr_error *err);
/* The seeds (1 .. PEGR_SWEEP_MAX_SEEDS, each once), replacing any set before. */
PEGR_API pegr_status pegr_sweep_set_seeds(pegr_sweep *s, const uint64_t *seeds, size_t count,
                                          pegr_error *err);
/* The seeds from text: numbers and ranges, "0-4", "0,3,7", "0-2,9" (decimal digits only). */
PEGR_API pegr_status pegr_sweep_parse_seeds(pegr_sweep *s, const char *text, pegr_error *err);

/* Check the whole sweep and make it ready to enumerate and run: each axis name once, each value
 * through pegr_train_config_set on the base (two values that give the same configuration, "20,020",
 * are refused), the longest run id within PEGR_SWEEP_ID_MAX, at most PEGR_SWEEP_MAX_RUNS runs (the
 * count in the message), and every run's configuration valid (the message names the run). Methods
 * default to gd and pegr, seeds to 0, when none were set. Every call below requires it to have
 * passed (they return PEGR_ERR_INVALID_ARGUMENT, or 0 / NULL, before). */
PEGR_API pegr_status pegr_sweep_check(pegr_sweep *s, pegr_error *err);

/* The sweep's parts, for callers that print or check them. Indices out of range give 0 / NULL. */
PEGR_API size_t pegr_sweep_axis_count(const pegr_sweep *s);
PEGR_API const char *pegr_sweep_axis_name(const pegr_sweep *s, size_t axis);
PEGR_API size_t pegr_sweep_axis_value_count(const pegr_sweep *s, size_t axis);
PEGR_API const char *pegr_sweep_axis_value(const pegr_sweep *s, size_t axis, size_t value);
/* An axis's column in results.csv and sweep.json ("mu-norm" -> "mu_norm"). */
PEGR_API const char *pegr_sweep_axis_column(const pegr_sweep *s, size_t axis);
PEGR_API size_t pegr_sweep_method_count(const pegr_sweep *s);
PEGR_API size_t pegr_sweep_seed_count(const pegr_sweep *s);
PEGR_API const pegr_train_config *pegr_sweep_base(const pegr_sweep *s);
PEGR_API pegr_precision pegr_sweep_precision(const pegr_sweep *s);

/* ---- Its runs ------------------------------------------------------------------------------- */

/* The number of runs (axes' value counts x methods x seeds); 0 before pegr_sweep_check. */
PEGR_API size_t pegr_sweep_run_count(const pegr_sweep *s);
/* Run k's id into out (len bytes; PEGR_SWEEP_ID_MAX + 1 always suffice). PEGR_ERR_INVALID_ARGUMENT
 * for k out of range or a buffer too small. */
PEGR_API pegr_status pegr_sweep_run_id(const pegr_sweep *s, size_t k, char *out, size_t len,
                                       pegr_error *err);
/* Run k's resolved configuration: the base, its axis values, its method and seed. */
PEGR_API pegr_status pegr_sweep_run_config(const pegr_sweep *s, size_t k, pegr_train_config *out,
                                           pegr_error *err);
/* The text that identifies the sweep -- axes with values, methods, seeds, precision and every
 * resolved option of the base -- equal texts meaning the same runs (DIR/sweep.canonical holds it).
 * malloc'ed: free with pegr_sweep_text_free. NULL when out of memory. */
PEGR_API char *pegr_sweep_canonical(const pegr_sweep *s);
/* Free a text this header's calls returned. NULL is fine. */
PEGR_API void pegr_sweep_text_free(char *text);

/* ---- Its directory -------------------------------------------------------------------------- */

/* Make DIR and DIR/runs (a DIR too long for the runs' paths to stay under PATH_MAX is refused,
 * naming the limit, before anything is made). */
PEGR_API pegr_status pegr_sweep_dir_init(const char *dir, pegr_error *err);
/* 1 when DIR/sweep.canonical exists and describes another sweep than s (another grid, methods,
 * seeds, precision or options); 0 when it is the same sweep or DIR holds none. */
PEGR_API int pegr_sweep_dir_differs(const pegr_sweep *s, const char *dir);
/* Write DIR/sweep.json, DIR/sweep.canonical and DIR/sweep.args (args[0..nargs), one a line: the
 * caller's record of how the sweep was defined; NULL/0 writes an empty file). Each atomically. */
PEGR_API pegr_status pegr_sweep_write_description(const pegr_sweep *s, const char *dir,
                                                  const char *const *args, size_t nargs,
                                                  pegr_error *err);
/* Read the whole file DIR/NAME (e.g. "sweep.args") into *text (NUL-terminated, malloc'ed: free
 * with pegr_sweep_text_free) and its length into *len. */
PEGR_API pegr_status pegr_sweep_dir_read(const char *dir, const char *name, char **text,
                                         size_t *len, pegr_error *err);

/* A lock on a sweep directory: two sweeps on one DIR would train every run twice. Unsharded
 * (shards <= 1): DIR/.lock exclusively; shard I of N: DIR/.lock shared (the shards of one sweep run
 * side by side, on one machine or several sharing DIR) and DIR/.lock.shard-I-of-N exclusively
 * (flock; the holder's pid written in). The descriptors are inherited by forked children and kept
 * out of exec'ed programs. A lock held by another sweep gives PEGR_ERR_IO with the message "DIR is
 * in use by another sweep (pid N); wait for it to finish, or give this one another --out".
 * OUT: *out, released with pegr_sweep_unlock. */
typedef struct pegr_sweep_lock pegr_sweep_lock;
PEGR_API pegr_status pegr_sweep_lock_dir(const char *dir, size_t shard, size_t shards,
                                         pegr_sweep_lock **out, pegr_error *err);
/* NULL is fine. */
PEGR_API void pegr_sweep_unlock(pegr_sweep_lock *lock);

/* ---- Running -------------------------------------------------------------------------------- */

/* What a landed run reports. */
typedef struct pegr_sweep_landed {
    size_t run;                     /* its index in the sweep */
    const char *id;
    const pegr_train_config *config;
    const pegr_train_result *result; /* result->batch_runs > 1: it trained in a batch */
} pegr_sweep_landed;

typedef struct pegr_sweep_callbacks {
    /* After each run landed in DIR/runs/ID; may be NULL. Called in the process that trained it. */
    void (*on_landed)(void *user, const pegr_sweep_landed *run);
    /* A line worth telling (a run failed, a damaged run directory is retrained, a row not merged);
     * no trailing newline; may be NULL (then nothing is told). */
    void (*on_message)(void *user, const char *message);
    /* Asked before each training step; non-zero stops the batch there (its runs do not land and
     * are trained again by the next start); may be NULL. */
    int (*should_stop)(void *user);
    void *user;
    /* A cancel flag read before each step (a SIGINT handler sets it); may be NULL. */
    const volatile sig_atomic_t *cancel;
} pegr_sweep_callbacks;

/* A plan: which runs of a share are still to do in DIR, grouped into batches. */
typedef struct pegr_sweep_plan pegr_sweep_plan;

/* Plan share `shard` of `shards` (runs k with k % shards == shard; 0 of 1 is the whole sweep) in
 * DIR (made with pegr_sweep_dir_init): temporary run directories of dead processes of this host are
 * removed; a run counts as done when DIR/runs/ID/row.csv is one complete row of that run; a run
 * directory that is there but not done (damaged after landing) is removed (told on on_message) so
 * the run trains again. The runs to do are grouped into batches of at most `batch_runs` (0: the
 * default) runs that can train together (pegr_train_batchable), each in sweep order. cb may be
 * NULL. A damaged directory that cannot be removed is told and its run left out (the plan's
 * failed count says so). OUT: *out, freed with pegr_sweep_plan_free. */
PEGR_API pegr_status pegr_sweep_plan_create(const pegr_sweep *s, const char *dir, size_t shard,
                                            size_t shards, size_t batch_runs,
                                            const pegr_sweep_callbacks *cb, pegr_sweep_plan **out,
                                            pegr_error *err);
PEGR_API void pegr_sweep_plan_free(pegr_sweep_plan *p);
/* The share's run count, how many were done already, how many are to run, in how many batches,
 * and how many were left out (a damaged directory that could not be removed). */
PEGR_API size_t pegr_sweep_plan_share(const pegr_sweep_plan *p);
PEGR_API size_t pegr_sweep_plan_done(const pegr_sweep_plan *p);
PEGR_API size_t pegr_sweep_plan_todo(const pegr_sweep_plan *p);
PEGR_API size_t pegr_sweep_plan_batches(const pegr_sweep_plan *p);
PEGR_API size_t pegr_sweep_plan_failed(const pegr_sweep_plan *p);

/* Train batch i (< pegr_sweep_plan_batches) on `backend` and land each of its runs: each run is
 * prepared in DIR/runs/.ID.tmp.HOST.PID (config.json and its data; a run already landed by another
 * process is skipped), the batch trained with pegr_train_run_batch (a batch that does not fit the
 * device's memory is split in halves; a backend that cannot batch takes the runs one at a time),
 * then each run's files and row.csv written and the directory renamed to DIR/runs/ID, and
 * on_landed called. Whatever did not land is removed. Any number of processes may run distinct
 * batches of one plan (the caller hands out the indices: a shared counter). Returns how many runs
 * failed (told on on_message); runs stopped by should_stop/cancel are not failures. */
PEGR_API size_t pegr_sweep_plan_run_batch(const pegr_sweep_plan *p, pegr_backend *backend, size_t i,
                                          const pegr_sweep_callbacks *cb);

/* ---- Collecting ----------------------------------------------------------------------------- */

/* What a merge found. */
typedef struct pegr_sweep_tally {
    size_t found, missing, duplicated;
    size_t bad;                                 /* row.csv files not merged: truncated, malformed */
    char *missing_ids[PEGR_SWEEP_TALLY_IDS];    /* the first missing runs' ids (malloc'ed) */
} pegr_sweep_tally;

/* OUT_DIR/results.csv from the runs found in dirs[0..ndirs) (the shards of one sweep, or one
 * directory), in run order: a run's first valid row.csv is kept, each run at most once. A row.csv
 * that is not one complete row of its run (truncated, wrong field count, another run's) is told on
 * on_message, naming the file, and not merged (counted in t->bad); a run found in more than one
 * directory is told with its id. The columns: run_id, method, seed, the parameters, the final
 * metrics, robust_test_error_SIGMA for every robust sigma of the sweep, steps_run, diverged,
 * representation, device, wall_seconds. OUT: *t (free with pegr_sweep_tally_free). */
PEGR_API pegr_status pegr_sweep_collect(const pegr_sweep *s, const char *const *dirs, size_t ndirs,
                                        const char *out_dir, const pegr_sweep_callbacks *cb,
                                        pegr_sweep_tally *t, pegr_error *err);
PEGR_API void pegr_sweep_tally_free(pegr_sweep_tally *t);

/* ---- A whole sweep in one call -------------------------------------------------------------- */

typedef struct pegr_sweep_options {
    size_t batch_runs; /* most runs trained together (0: PEGR_SWEEP_DEFAULT_BATCH_RUNS; 1: alone) */
    int extend;        /* allow DIR to hold another sweep (its runs with the same ids are reused) */
    const char *const *args; /* written to DIR/sweep.args (may be NULL) */
    size_t nargs;
} pegr_sweep_options;

typedef struct pegr_sweep_summary {
    size_t runs;    /* in the sweep */
    size_t done;    /* landed before this call (skipped) */
    size_t landed;  /* landed by this call */
    size_t failed;
    int interrupted; /* stopped by should_stop / cancel */
    pegr_sweep_tally tally; /* of results.csv (free with pegr_sweep_tally_free) */
} pegr_sweep_summary;

/* The whole sweep in this process on one backend: pegr_sweep_dir_init, pegr_sweep_lock_dir
 * (unsharded), the description (a DIR that holds another sweep is refused with
 * PEGR_ERR_INVALID_ARGUMENT unless options->extend), a plan of every run, each batch in turn, then
 * DIR/results.csv; the lock is released. Resumable: runs already landed are skipped. options and
 * cb may be NULL. OUT: *summary (optional). Runs that failed are in summary->failed, not the
 * status (PEGR_OK); a failure to prepare or collect the directory is. */
PEGR_API pegr_status pegr_sweep_run_all(const pegr_sweep *s, pegr_backend *backend, const char *dir,
                                        const pegr_sweep_options *options,
                                        const pegr_sweep_callbacks *cb,
                                        pegr_sweep_summary *summary, pegr_error *err);

#ifdef __cplusplus
}
#endif
#endif

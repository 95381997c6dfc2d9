/* sweep_internal.h: the inside of a pegr_sweep (include/pegr/sweep.h) shared by the sweep's files:
 * sweep.c (the grid, its runs and ids), sweep_results.c (row.csv, results.csv, the description),
 * sweep_dir.c (the directory and its lock) and sweep_run.c (plans, batches, run_all). */
#ifndef PEGR_TRAIN_SWEEP_INTERNAL_H
#define PEGR_TRAIN_SWEEP_INTERNAL_H

#include <stdarg.h>

#include "pegr/sweep.h"

typedef struct sweep_axis {
    char name[32];                       /* a training option: "n", "mu-norm", ... */
    const pegr_train_option *option;
    char values[PEGR_SWEEP_MAX_VALUES][PEGR_SWEEP_MAX_VALUE_LEN + 1]; /* as text, as given */
    size_t count;
} sweep_axis;

struct pegr_sweep {
    sweep_axis axes[PEGR_SWEEP_MAX_AXES];
    size_t naxes;
    pegr_method methods[PEGR_SWEEP_MAX_METHODS];
    size_t nmethods;
    uint64_t seeds[PEGR_SWEEP_MAX_SEEDS];
    size_t nseeds;
    pegr_precision precision;
    pegr_train_config base;
    int checked;  /* pegr_sweep_check passed */
    const pegr_dataset *data; /* pegr_sweep_set_data's (not owned), or NULL: generated data */
    char data_hash[33];       /* of data's arrays */
    size_t nruns; /* once checked */
};

/* Run k's coordinates: axis value indices (value_index[naxes]), method, seed. */
void pegr_sweep_coords(const pegr_sweep *s, size_t k, size_t *value_index, size_t *method,
                       size_t *seed);
/* The robust sigmas that have a column in results.csv: the base's, or with a robust-sigmas axis
 * every sigma of its values (each once, in order). Returns the count. */
#define PEGR_SWEEP_MAX_ROBUST_COLUMNS (PEGR_SWEEP_MAX_VALUES + PEGR_MAX_ROBUST)
size_t pegr_sweep_robust_columns(const pegr_sweep *s, double *sigmas);
/* Is run k done in dir: DIR/runs/ID/row.csv holds one complete row of that run? */
int pegr_sweep_run_is_done(const pegr_sweep *s, size_t k, const char *dir);
/* DIR/runs/ID/row.csv for a trained run (in its temporary directory run_dir). own: the sweep's
 * own data (pegr_sweep_data) or NULL; with it the data-model columns the files do not say (snr,
 * sigma_p, noise, label_noise) are empty and mu_norm is ||mu|| (empty without mu). */
struct pegr_run_info;
pegr_status pegr_sweep_write_row(const char *run_dir, const char *id, const pegr_train_config *c,
                                 const pegr_train_result *r, const struct pegr_run_info *info,
                                 const pegr_dataset *own, pegr_error *err);
/* DIR/runs/NAME (NAME NULL: DIR/runs), malloc'ed; NULL when out of memory. */
char *pegr_sweep_runs_path(const char *dir, const char *name);
/* This host's name as temporary run directories carry it ('.' -> '_'). */
void pegr_sweep_host_name(char *out, size_t len);
/* Remove temporary run directories of dead processes of this host. */
void pegr_sweep_remove_stale(const char *dir, const pegr_sweep_callbacks *cb);
/* Tell cb->on_message a printf-style line (nothing when there is no callback). */
void pegr_sweep_tell(const pegr_sweep_callbacks *cb, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif

/* sweep_spec.h: what a sweep is -- grid axes over the experiment's options, methods, seeds, and the
 * fixed options -- and its runs, enumerated in one fixed order so that shards, restarts and
 * `pegr collect` all agree on which run is which. */
#ifndef PEGR_CLI_SWEEP_SPEC_H
#define PEGR_CLI_SWEEP_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "pegr/train.h"

#define SWEEP_MAX_AXES 4
#define SWEEP_MAX_VALUES 256
#define SWEEP_MAX_METHODS 4
#define SWEEP_MAX_SEEDS 1024
/* The longest run id, in bytes. A run trains in DIR/runs/.ID.tmp.HOST.PID before it lands in
 * DIR/runs/ID, and that name must fit NAME_MAX (255) with a host name of up to 64 bytes and a pid:
 * 160 leaves room. Sweeps whose ids could be longer are refused when parsed. */
#define SWEEP_ID_MAX 160
/* The bytes a run id may hold (and so every grid value): no '/', no space, nothing a shell, a CSV
 * reader or a path treats specially. Ids start with the method, never with '.'. */
#define SWEEP_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=+-"
/* The hex digits of a run's configuration fingerprint at the end of its id. */
#define SWEEP_FINGERPRINT_HEX 8

typedef struct sweep_axis {
    char name[32]; /* an experiment option: "n", "mu-norm", ... */
    char values[SWEEP_MAX_VALUES][32]; /* as text, exactly as passed to the option */
    size_t count;
} sweep_axis;

typedef struct sweep_spec {
    sweep_axis axes[SWEEP_MAX_AXES];
    size_t naxes;
    const char *methods[SWEEP_MAX_METHODS];
    size_t nmethods;
    uint64_t seeds[SWEEP_MAX_SEEDS];
    size_t nseeds;
    const char *preset;
    const char *precision;  /* "fp32" / "fp64" */
    pegr_train_config base; /* preset + fixed options, validated */
    const pegr_command_spec *cmd; /* whose name prefixes messages about runs (NULL: pegr sweep) */
} sweep_spec;

/* Parse "name=a:b:step" (inclusive, floating point) or "name=v1,v2,..." into an axis; the name
 * must be an experiment option other than method and seed, each value made only of
 * SWEEP_ID_CHARS and given once. NULL on success, else a message (static storage, or `msg`, a
 * buffer of `msg_len` bytes, when the message names a value). */
const char *sweep_parse_axis(const char *text, sweep_axis *axis, char *msg, size_t msg_len);
/* Parse "0-4" or "0,3,7" (or a mix, "0-2,9"); a seed given twice is refused. NULL or a message
 * (static storage, or `msg` as above). */
const char *sweep_parse_seeds(const char *text, sweep_spec *spec, char *msg, size_t msg_len);
/* After the base is set: each axis value through the option parser alone (the same parsing and
 * checks as pegr train's flag), and two values of an axis that give the same configuration
 * ("20,020", "0.5,0.50") refused. The longest run id must fit SWEEP_ID_MAX. PEGR_EXIT_OK or a
 * usage error (printed). */
int sweep_check_axes(const sweep_spec *spec);

/* The most runs one sweep may hold. Each run is a directory of DIR/runs and a row of results.csv,
 * and every start enumerates every run's id: a million runs is already a large study (weeks of
 * device time at a second a run, results.csv of hundreds of megabytes); past it, a sweep is
 * usually a mistake (four axes of 256 values, two methods and 1024 seeds is 2^43 runs, whose
 * validation alone would run for months). Split a bigger study into several sweeps. */
#define SWEEP_MAX_RUNS 1000000
/* After the axes, methods and seeds are set and sweep_check_axes passed: a sweep of more than
 * SWEEP_MAX_RUNS runs is refused, its count (computed without overflow) and the cap in the
 * message; then every run's configuration is validated (sweep_run_config), in time bounded by
 * the cap. PEGR_EXIT_OK or a usage error (printed). */
int sweep_check_runs(const sweep_spec *spec);

/* The number of runs; at most SWEEP_MAX_RUNS once sweep_check_runs passed (before, the product
 * may overflow). */
size_t sweep_run_count(const sweep_spec *spec);
/* Run k's coordinates: axis value indices (out[naxes]), method, seed. */
void sweep_run_coords(const sweep_spec *spec, size_t k, size_t *value_index, size_t *method,
                      size_t *seed);
/* Run k's id: "gd-s0-n=20-mu-norm=0.5-3fa9c1d2": method, seed, axis values, then the fingerprint
 * of the run's whole resolved configuration (sweep_run_fingerprint). Unique in the sweep, a file
 * name of SWEEP_ID_CHARS, at most SWEEP_ID_MAX bytes.
 *
 * Why the fingerprint is in the id: a run directory is reused (a restart, --extend) exactly when a
 * directory of the same id holds a row.csv. With the fingerprint in the id, a run trained with any
 * other option (--steps 400, then --steps 800 --extend) has another id, so it is trained again
 * under its new id instead of being taken for done; the old run stays in DIR/runs/ but is not a
 * run of the new sweep, so it is not in results.csv. Nothing that reuses runs needs to know more
 * than the id. Plots read results.csv by column (tools/plot.py), never the ids. */
void sweep_run_id(const sweep_spec *spec, size_t k, char *out, size_t len);
/* The SWEEP_FINGERPRINT_HEX hex digits of a resolved run configuration: a hash of precision,
 * method, seed and every option sweep_canonical lists. */
void sweep_run_fingerprint(const sweep_spec *spec, const pegr_train_config *c,
                           char out[SWEEP_FINGERPRINT_HEX + 1]);
/* Run k's configuration: base, then its axis values through the option parser (robust-sigmas
 * included: the same parser as the train flag), its method and seed, validated. PEGR_EXIT_OK or a
 * usage error (printed). */
int sweep_run_config(const sweep_spec *spec, size_t k, pegr_train_config *out);
/* The text that identifies the sweep -- axes with values, methods, seeds, precision and every
 * resolved option of the base configuration -- so equal texts mean the same runs, whatever order
 * the flags came in. malloc'ed. */
char *sweep_canonical(const sweep_spec *spec);

/* The robust sigmas that have a column in results.csv: the base's, or with a robust-sigmas axis
 * every sigma of its values (each once, in order). Returns the count (at most
 * SWEEP_MAX_ROBUST_COLUMNS). */
#define SWEEP_MAX_ROBUST_COLUMNS (SWEEP_MAX_VALUES + PEGR_MAX_ROBUST)
size_t sweep_robust_columns(const sweep_spec *spec, double *sigmas);

/* The CSV column names of the axes ("mu-norm" -> "mu_norm") for sweep.json and the heatmaps. */
void sweep_axis_column(const char *option, char *out, size_t len);

#endif

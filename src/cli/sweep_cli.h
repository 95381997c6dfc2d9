/* sweep_cli.h: `pegr sweep`'s command line (shared with `pegr collect`, which re-reads a sweep's
 * defining arguments from DIR/sweep.args), and the results files of a sweep. */
#ifndef PEGR_CLI_SWEEP_CLI_H
#define PEGR_CLI_SWEEP_CLI_H

#include "args.h"
#include "sweep_spec.h"
#include "train/train_output.h"

#define SWEEP_MAX_ARGV 256
/* Runs that share shapes train together in batches of at most this many (--batch-runs). */
#define SWEEP_DEFAULT_BATCH_RUNS 16

typedef struct sweep_cli {
    sweep_spec spec;
    const char *out;
    const char *shard;   /* "I/N" or NULL */
    const char *devices; /* "all", a comma list of specs, or NULL (--device) */
    const char *emit;    /* "slurm", "parallel" or NULL */
    const char *precision;
    int precision_given; /* --precision was on the command line (not the default) */
    size_t jobs_per_device, shards;
    size_t batch_runs; /* most runs trained together on a device (1: one at a time) */
    int extend, quiet;
    pegr_global_opts g;
    /* the arguments that define the sweep (grid, methods, seeds, preset, precision, experiment
     * options): saved to DIR/sweep.args, repeated in emitted scripts */
    char *spec_argv[SWEEP_MAX_ARGV];
    int spec_argc;
} sweep_cli;

extern const pegr_command_spec SWEEP_COMMAND;

/* Parse; -1 to go on, else an exit code (message printed). Every value is refused that holds a
 * control character, a duplicate (seed, method, grid value) or would make a run id of more than
 * SWEEP_ID_MAX bytes or of other characters than SWEEP_ID_CHARS; a sweep of more than
 * SWEEP_MAX_RUNS runs is refused. So is what a worker's backend cannot do (the host reference:
 * an explicit --precision fp32, --representation span fixed or on a grid), rather than each run
 * silently doing something else. */
int sweep_parse_cli(int argc, char **argv, sweep_cli *cli);
/* The same, with cmd's name on every message (`pegr collect` re-reading DIR/sweep.args). */
int sweep_parse_cli_as(const pegr_command_spec *cmd, int argc, char **argv, sweep_cli *cli);

/* ---- sweep_shard.c */
/* This process's share: --shard I/N, else Slurm's array variables, else 0 of 1. -1 to go on, else
 * an exit code (message printed). */
int sweep_parse_shard(const sweep_cli *cli, size_t *index, size_t *count);

/* ---- sweep_emit.c */
/* Write DIR/sweep.slurm or DIR/sweep.parallel for --emit; returns the exit code. */
int sweep_emit(const sweep_cli *cli);

/* ---- sweep_results.c */
/* The CSV header of results.csv for a spec (run, parameters, metrics). malloc'ed. */
char *sweep_csv_header(const sweep_spec *spec);
/* DIR/runs/ID/row.csv: one line for a finished run. */
pegr_status sweep_write_row(const char *run_dir, const char *id, const pegr_train_config *c,
                            const pegr_train_result *r, const pegr_run_info *info, pegr_error *err);
/* Is run k of spec done in out_dir: DIR/runs/ID/row.csv holds a complete row of that run? The id
 * carries the fingerprint of the run's whole configuration (sweep_run_id), so a run trained with
 * other options (other --steps, precision, ...) is never taken for this one. */
int sweep_run_is_done(const sweep_spec *spec, size_t k, const char *out_dir);

/* What a merge found. */
#define SWEEP_TALLY_IDS 20
typedef struct sweep_tally {
    size_t found, missing, duplicated;
    size_t bad;                            /* row.csv files not merged: truncated, malformed */
    char *missing_ids[SWEEP_TALLY_IDS];    /* the first missing runs' ids (malloc'ed) */
} sweep_tally;
/* results.csv in out_dir from the runs found in dirs (in run order; a run's first valid row is
 * kept, each run id at most once). A row.csv that is not one complete row of its run (truncated,
 * wrong field count, another run's) is reported on stderr, naming the file, with "pegr CMD_NAME:"
 * and not merged; runs found in more than one directory are reported with their ids. */
pegr_status sweep_collect_results(const sweep_spec *spec, const char *const *dirs, size_t ndirs,
                                  const char *out_dir, const char *cmd_name, sweep_tally *t,
                                  pegr_error *err);
void sweep_tally_free(sweep_tally *t);
/* sweep_collect_results for `pegr sweep`: a run whose row is not valid counts as missing. */
pegr_status sweep_write_results(const sweep_spec *spec, const char *const *dirs, size_t ndirs,
                                const char *out_dir, size_t *found, size_t *missing,
                                size_t *duplicated, pegr_error *err);
/* sweep.json (axes as CSV columns, methods, seeds, run count) and sweep.args in dir. */
pegr_status sweep_write_description(const sweep_cli *cli, const char *dir, pegr_error *err);

#endif

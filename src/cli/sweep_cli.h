/* sweep_cli.h: `pegr sweep`'s command line (shared with `pegr collect`, which re-reads a sweep's
 * defining arguments from DIR/sweep.args) into a pegr_sweep (pegr/sweep.h: the grid, its runs,
 * the directory and results are the library's), the share of this process, and --emit. */
#ifndef PEGR_CLI_SWEEP_CLI_H
#define PEGR_CLI_SWEEP_CLI_H

#include "args.h"
#include "pegr/pegr.h"
#include "pegr/sweep.h"

#define SWEEP_MAX_ARGV 256
/* Runs that share shapes train together in batches of at most this many (--batch-runs). */
#define SWEEP_DEFAULT_BATCH_RUNS PEGR_SWEEP_DEFAULT_BATCH_RUNS

typedef struct sweep_cli {
    pegr_sweep *sweep;   /* checked once parsed; freed by sweep_cli_free */
    pegr_dataset *data;  /* --X ...: the caller's own data the sweep trains on (heap, as the sweep
                            refers to it; freed by sweep_cli_free), or NULL */
    const char *preset;
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

/* Parse; -1 to go on, else an exit code (message printed; cli->sweep is then freed). Every value
 * is refused that holds a control character, a duplicate (seed, method, grid value) or would make
 * a run id of more than PEGR_SWEEP_ID_MAX bytes or of other characters than PEGR_SWEEP_ID_CHARS;
 * a sweep of more than PEGR_SWEEP_MAX_RUNS runs is refused (pegr_sweep_check). So is what a
 * worker's backend cannot do (the host reference: an explicit --precision fp32, --representation
 * span fixed or on a grid), rather than each run silently doing something else. */
int sweep_parse_cli(int argc, char **argv, sweep_cli *cli);
/* The same, with cmd's name on every message (`pegr collect` re-reading DIR/sweep.args). */
int sweep_parse_cli_as(const pegr_command_spec *cmd, int argc, char **argv, sweep_cli *cli);
/* Free what parsing made (the sweep). */
void sweep_cli_free(sweep_cli *cli);

/* A pegr_sweep_callbacks.on_message that prints "pegr NAME: MESSAGE" on stderr; user is the
 * command's name ("sweep", "collect"). */
void sweep_cli_message(void *user, const char *message);

/* ---- sweep_shard.c */
/* This process's share: --shard I/N, else Slurm's array variables, else 0 of 1. -1 to go on, else
 * an exit code (message printed). */
int sweep_parse_shard(const sweep_cli *cli, size_t *index, size_t *count);

/* ---- sweep_emit.c */
/* Write DIR/sweep.slurm or DIR/sweep.parallel for --emit; returns the exit code. */
int sweep_emit(const sweep_cli *cli);

#endif

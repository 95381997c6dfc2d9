/* sweep_cli.c: parsing `pegr sweep`'s command line. --grid may repeat, so grid arguments are taken
 * out of argv first; the rest goes through the shared option parser. */
#include "sweep_cli.h"

#include <stdio.h>
#include <string.h>

#include "train_args.h"

const pegr_command_spec SWEEP_COMMAND = {
    "sweep",
    "train a grid of configurations x methods x seeds, resumable, on every device or as shards",
    "pegr sweep --grid NAME=FROM:TO:STEP|V1,V2,... [--grid ...] [--methods gd,pegr] [--seeds 0-4]\n"
    "                  --out DIR [--devices all|SPEC,...] [--jobs-per-device J] [--batch-runs K]\n"
    "                  [--shard I/N] [--emit slurm|parallel --shards N] [--extend]\n"
    "                  [any pegr train option]"};

/* Options that do not change which runs a sweep holds or what they compute. */
static int is_placement_option(const char *name)
{
    static const char *const names[] = {"out", "shard", "devices", "jobs-per-device", "emit",
                                        "shards", "extend", "quiet", "device", "verbose",
                                        "batch-runs"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (!strcmp(name, names[k])) return 1;
    return 0;
}

static int takes_value(const pegr_arg *args, size_t nargs, const char *name, size_t len)
{
    for (size_t k = 0; k < nargs; k++)
        if (strlen(args[k].name) == len && !strncmp(args[k].name, name, len))
            return args[k].kind != PEGR_ARG_FLAG;
    return 0;
}

/* Keep the defining arguments for sweep.args (grid ones included, placement ones not). */
static void record_spec_args(sweep_cli *cli, const pegr_arg *args, size_t nargs, int argc,
                             char **argv)
{
    cli->spec_argc = 0;
    for (int i = 1; i < argc && cli->spec_argc + 2 <= SWEEP_MAX_ARGV; i++) {
        const char *a = argv[i];
        const char *name = a + 2;
        size_t len = strcspn(name, "=");
        int value_follows = strncmp(a, "--", 2) == 0 && !strchr(a, '=') &&
                            (takes_value(args, nargs, name, len) || !strcmp(name, "grid"));
        char nm[64];
        snprintf(nm, sizeof nm, "%.*s", (int)(len < 63 ? len : 63), name);
        int keep = strncmp(a, "--", 2) == 0 && !is_placement_option(nm);
        if (keep) cli->spec_argv[cli->spec_argc++] = argv[i];
        if (value_follows && i + 1 < argc) {
            if (keep) cli->spec_argv[cli->spec_argc++] = argv[i + 1];
            i++;
        }
    }
}

int sweep_parse_cli(int argc, char **argv, sweep_cli *cli)
{
    const pegr_command_spec *cmd = &SWEEP_COMMAND;
    memset(cli, 0, sizeof *cli);
    sweep_spec *spec = &cli->spec;
    spec->preset = pegr_cli_find_preset(argc, argv);
    if (!pegr_cli_apply_preset(spec->preset, &spec->base))
        return pegr_args_usage_error(cmd, "--preset must be one of " PEGR_PRESETS ", not '%s'",
                                     spec->preset);
    /* the grid arguments, out of argv */
    char *rest[SWEEP_MAX_ARGV];
    int nrest = 0;
    for (int i = 0; i < argc && nrest < SWEEP_MAX_ARGV; i++) {
        const char *grid = NULL;
        if (i > 0 && !strcmp(argv[i], "--grid")) {
            if (i + 1 >= argc) return pegr_args_usage_error(cmd, "--grid needs NAME=VALUES");
            grid = argv[++i];
        } else if (i > 0 && !strncmp(argv[i], "--grid=", 7)) {
            grid = argv[i] + 7;
        }
        if (!grid) {
            rest[nrest++] = argv[i];
            continue;
        }
        if (spec->naxes == SWEEP_MAX_AXES)
            return pegr_args_usage_error(cmd, "at most %d grid axes", SWEEP_MAX_AXES);
        const char *msg = sweep_parse_axis(grid, &spec->axes[spec->naxes]);
        if (msg) return pegr_args_usage_error(cmd, "--grid '%s': %s", grid, msg);
        for (size_t a = 0; a < spec->naxes; a++)
            if (!strcmp(spec->axes[a].name, spec->axes[spec->naxes].name))
                return pegr_args_usage_error(cmd, "--grid names '%s' twice", spec->axes[a].name);
        spec->naxes++;
    }
    const char *methods = "gd,pegr", *seeds = "0", *sigmas = "0.1,0.2,0.5,1", *preset = spec->preset;
    cli->out = NULL;
    cli->precision = "fp32";
    cli->jobs_per_device = 1;
    cli->batch_runs = SWEEP_DEFAULT_BATCH_RUNS;
    cli->shards = 10;
    pegr_arg args[PEGR_EXPERIMENT_MAX_ARGS + 20] = {
        {"preset", PEGR_ARG_CHOICE, &preset, NULL, "named base configuration", PEGR_PRESETS, 0},
        {"methods", PEGR_ARG_STRING, &methods, "LIST", "methods to train (gd, sgd, gr, pegr)", NULL, 0},
        {"seeds", PEGR_ARG_STRING, &seeds, "LIST", "seeds, e.g. 0-4 or 0,3,7", NULL, 0},
        {"out", PEGR_ARG_STRING, &cli->out, "DIR", "the sweep's directory (required)", NULL, 0},
        {"devices", PEGR_ARG_STRING, &cli->devices, "LIST",
         "one worker per device: all, or a comma list of specs (host included)", NULL, 0},
        /* at most MAX_WORKERS (cmd_sweep.c) workers run in all */
        {"jobs-per-device", PEGR_ARG_SIZE, &cli->jobs_per_device, "J", "workers on each device", "1..64", 0},
        {"batch-runs", PEGR_ARG_SIZE, &cli->batch_runs, "K",
         "train up to K runs of the same shapes together on a device (1: one at a time)", "1..4096", 0},
        {"shard", PEGR_ARG_STRING, &cli->shard, "I/N",
         "run only share I of N (default: $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT)", NULL, 0},
        {"emit", PEGR_ARG_CHOICE, &cli->emit, NULL,
         "write a Slurm job-array script or GNU parallel commands into DIR instead of running",
         "slurm|parallel", 0},
        /* 100000: far past any cluster's array size (Slurm's MaxArraySize defaults to 1001) and
         * sweep.parallel stays near 10 MB; uncapped, a typo wrote gigabytes */
        {"shards", PEGR_ARG_SIZE, &cli->shards, "N", "shards of --emit", "1..100000", 0},
        {"extend", PEGR_ARG_FLAG, &cli->extend, NULL, "allow a changed grid in an existing DIR", NULL, 0},
        {"precision", PEGR_ARG_CHOICE, &cli->precision, NULL, "device arithmetic", "fp32|fp64", 0},
        {"quiet", PEGR_ARG_FLAG, &cli->quiet, NULL, "one line per run only", NULL, 0},
        PEGR_GLOBAL_ARGS(&cli->g),
    };
    size_t nargs = 0;
    while (args[nargs].name) nargs++;
    nargs += pegr_cli_experiment_args(&spec->base, &sigmas, args + nargs);
    int rc = pegr_args_parse(cmd, args, nargs, nrest, rest);
    if (rc >= 0) return rc;
    rc = pegr_cli_finish_experiment_args(cmd, args, nargs, &spec->base, sigmas);
    if (rc >= 0) return rc;
    if (!cli->out) return pegr_args_usage_error(cmd, "--out DIR is required");
    const char *msg = sweep_parse_seeds(seeds, spec);
    if (msg) return pegr_args_usage_error(cmd, "--seeds '%s': %s", seeds, msg);
    static char method_buf[128];
    snprintf(method_buf, sizeof method_buf, "%s", methods);
    char *save = NULL;
    spec->nmethods = 0;
    for (char *t = strtok_r(method_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "gd") && strcmp(t, "sgd") && strcmp(t, "gr") && strcmp(t, "pegr"))
            return pegr_args_usage_error(cmd, "--methods takes gd, sgd, gr, pegr, not '%s'", t);
        if (spec->nmethods == SWEEP_MAX_METHODS)
            return pegr_args_usage_error(cmd, "at most %d methods", SWEEP_MAX_METHODS);
        spec->methods[spec->nmethods++] = t;
    }
    if (!spec->nmethods) return pegr_args_usage_error(cmd, "--methods needs at least one method");
    record_spec_args(cli, args, nargs, argc, argv);
    spec->precision = cli->precision;
    /* every run's configuration must be valid before anything starts */
    for (size_t k = 0; k < sweep_run_count(spec); k++) {
        pegr_train_config c;
        rc = sweep_run_config(spec, k, &c);
        if (rc != PEGR_EXIT_OK) return rc;
    }
    return -1;
}

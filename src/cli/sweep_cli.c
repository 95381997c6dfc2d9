/* sweep_cli.c: parsing `pegr sweep`'s command line into a pegr_sweep. --grid may repeat, so grid
 * arguments are taken out of argv first; the rest goes through the shared option parser. The
 * library's messages about the grid, seeds and runs are printed as usage errors. */
#include "sweep_cli.h"

#include <stdio.h>
#include <stdlib.h>
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
    for (int i = 1; i < argc; i++) { /* argc <= SWEEP_MAX_ARGV: room for every one */
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

/* A value with a control character (newline, CR, tab, ESC, DEL, ...) would break the line
 * structure of sweep.args and of the emitted scripts (a newline there starts a command): refused
 * in every argument, naming the option it belongs to. -1 to go on, else the exit code. */
static int refuse_control_characters(const pegr_command_spec *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const unsigned char *p = (const unsigned char *)argv[i];
        while (*p && *p >= 0x20 && *p != 0x7f) p++;
        if (!*p) continue;
        const char *name = argv[i];
        int len = (int)strcspn(name, "=");
        if (strncmp(name, "--", 2) != 0 && i > 1 && !strncmp(argv[i - 1], "--", 2)) {
            name = argv[i - 1];
            len = (int)strlen(name);
        } else if (strncmp(name, "--", 2) != 0) {
            name = "an argument";
            len = (int)strlen(name);
        }
        return pegr_args_usage_error(cmd, "%.*s: the value holds the control character 0x%02x "
                                     "(newline, tab, escape, ...); a sweep's values are written "
                                     "into sweep.args and the emitted shell scripts, one a line, "
                                     "and may not hold one", len, name, *p);
    }
    return -1;
}

/* --methods' comma list, each method once, into the sweep (in the order given). */
static int parse_methods(const pegr_command_spec *cmd, const char *text, pegr_sweep *sweep)
{
    pegr_method methods[PEGR_SWEEP_MAX_METHODS];
    size_t count = 0;
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        char name[16] = "";
        pegr_method m = PEGR_METHOD_GD;
        if (len < sizeof name) memcpy(name, p, len);
        if (len >= sizeof name || pegr_method_parse(name, "--methods", &m, NULL) != PEGR_OK) {
            char list[96] = ""; /* the library's names table, "gd, pegr, gr, sgd, sam" */
            for (int k = 0; k < PEGR_METHOD_COUNT; k++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                         pegr_method_name((pegr_method)k));
            return pegr_args_usage_error(cmd, "--methods takes %s, not '%.*s'", list, (int)len, p);
        }
        for (size_t j = 0; j < count; j++)
            if (methods[j] == m)
                return pegr_args_usage_error(cmd, "--methods names '%s' twice (each run once)",
                                             name);
        methods[count++] = m; /* each known method once: room enough */
        if (p[len] == '\0') break;
        p += len + 1;
    }
    pegr_error err = {0};
    int rc = -1;
    if (pegr_sweep_set_methods(sweep, methods, count, &err) != PEGR_OK)
        rc = pegr_args_usage_error(cmd, "%s", pegr_error_message(&err));
    pegr_error_clear(&err);
    return rc;
}

/* pegr_backend_check_request for one worker's device spec (NULL: --device, else $PEGR_DEVICE or
 * the default) and every representation the runs use: the fixed one and each value of a
 * representation axis. -1 to go on, else the exit code of a usage error (printed). */
static int check_device_request(const sweep_cli *cli, const char *device)
{
    const pegr_sweep *sweep = cli->sweep;
    const char *precision = cli->precision_given ? cli->precision : NULL;
    pegr_error err = {0};
    pegr_status s = pegr_backend_check_request(
        device, precision, pegr_representation_name(pegr_sweep_base(sweep)->representation), &err);
    for (size_t a = 0; a < pegr_sweep_axis_count(sweep) && s == PEGR_OK; a++)
        for (size_t v = 0; !strcmp(pegr_sweep_axis_name(sweep, a), "representation") &&
                           v < pegr_sweep_axis_value_count(sweep, a) && s == PEGR_OK; v++)
            s = pegr_backend_check_request(device, precision, pegr_sweep_axis_value(sweep, a, v),
                                           &err);
    if (s == PEGR_OK) return -1;
    /* with --devices, the host is one worker of several: the others must not compute otherwise */
    int rc = pegr_args_usage_error(&SWEEP_COMMAND, "%s%s",
                                   cli->devices ? "--devices lists host, and every worker must "
                                                  "train a run the same way: " : "",
                                   pegr_error_message(&err));
    pegr_error_clear(&err);
    return rc;
}

/* The host reference computes in fp64 and in the primal form only: a sweep whose workers include
 * the host and that asks for fp32 explicitly or for the span form is refused rather than trained
 * otherwise. With --devices, every listed spec is checked, so a list that mixes host and OpenCL
 * devices is refused with an explicit fp32 too; and, unless --precision fp64 is given, so is any
 * such mix: the OpenCL workers would train in fp32 (the sweep's default) and the host in fp64, and
 * a run's numbers would depend on the worker that happened to take it. "all" lists OpenCL devices
 * only. Only `pegr sweep` checks this: `pegr collect` re-reads sweep.args, which holds no
 * placement option. */
static int check_backend_requests(const sweep_cli *cli)
{
    if (!cli->devices || !strcmp(cli->devices, "all"))
        return check_device_request(cli, cli->g.device);
    int rc = -1, host = 0, other = 0;
    for (const char *p = cli->devices; rc < 0;) {
        size_t len = strcspn(p, ",");
        if (len > 0) { /* an empty item names no worker (as cmd_sweep.c's list reads it) */
            char *spec = strndup(p, len);
            if (!spec) return pegr_args_usage_error(&SWEEP_COMMAND, "out of memory");
            rc = check_device_request(cli, spec);
            if (!strcmp(spec, "host")) host = 1;
            else other = 1;
            free(spec);
        }
        if (p[len] == '\0') break;
        p += len + 1;
    }
    if (rc < 0 && host && other && strcmp(cli->precision, "fp64") != 0)
        return pegr_args_usage_error(
            &SWEEP_COMMAND,
            "--devices '%s' mixes host (fp64 only) with "
            "OpenCL devices, which would train their runs in %s: give "
            "--precision fp64 so that every worker computes alike, or list "
            "only OpenCL devices or only host",
            cli->devices, cli->precision);
    return rc;
}

int sweep_parse_cli(int argc, char **argv, sweep_cli *cli)
{
    int rc = sweep_parse_cli_as(&SWEEP_COMMAND, argc, argv, cli);
    if (rc < 0) rc = check_backend_requests(cli);
    if (rc >= 0) sweep_cli_free(cli);
    return rc;
}

void sweep_cli_free(sweep_cli *cli)
{
    pegr_sweep_free(cli->sweep);
    cli->sweep = NULL;
    pegr_dataset_free(cli->data);
    free(cli->data);
    cli->data = NULL;
}

static int refused(const pegr_command_spec *cmd, pegr_status st, pegr_error *err, const char *what,
                   const char *value);

/* --X ...: read the files into cli->data and hand them to the sweep; a bad file is a usage error
 * naming it. -1 to go on, else the exit code. */
static int take_user_data(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                          const pegr_cli_user_data *user, pegr_train_config *base, sweep_cli *cli)
{
    int rc = pegr_cli_check_user_data_args(cmd, args, nargs, user);
    if (rc >= 0) return rc;
    pegr_error err = {0};
    cli->data = calloc(1, sizeof *cli->data);
    if (!cli->data) return pegr_args_usage_error(cmd, "out of memory");
    rc = refused(cmd, pegr_cli_load_user_data(user, cli->data, &base->data, &err), &err, NULL, NULL);
    if (rc < 0) rc = refused(cmd, pegr_sweep_set_data(cli->sweep, cli->data, &err), &err, NULL, NULL);
    return rc;
}

void sweep_cli_message(void *user, const char *message)
{
    fprintf(stderr, "pegr %s: %s\n", (const char *)user, message);
}

/* A library refusal as a usage error: "pegr NAME: [PREFIX]MESSAGE". -1 when st is PEGR_OK. */
static int refused(const pegr_command_spec *cmd, pegr_status st, pegr_error *err, const char *what,
                   const char *value)
{
    if (st == PEGR_OK) return -1;
    int rc = what ? pegr_args_usage_error(cmd, "%s '%s': %s", what, value, pegr_error_message(err))
                  : pegr_args_usage_error(cmd, "%s", pegr_error_message(err));
    pegr_error_clear(err);
    return rc;
}

/* The grid arguments into the sweep, each axis name once (said as the flag says it); the others
 * into rest. -1 to go on, else the exit code. */
static int take_grids(const pegr_command_spec *cmd, int argc, char **argv, pegr_sweep *sweep,
                      char **rest, int *nrest)
{
    pegr_error err = {0};
    for (int i = 0; i < argc; i++) {
        const char *grid = NULL;
        if (i > 0 && !strcmp(argv[i], "--grid")) {
            if (i + 1 >= argc) return pegr_args_usage_error(cmd, "--grid needs NAME=VALUES");
            grid = argv[++i];
        } else if (i > 0 && !strncmp(argv[i], "--grid=", 7)) {
            grid = argv[i] + 7;
        }
        if (!grid) {
            rest[(*nrest)++] = argv[i];
            continue;
        }
        size_t naxes = pegr_sweep_axis_count(sweep);
        if (naxes == PEGR_SWEEP_MAX_AXES)
            return pegr_args_usage_error(cmd, "at most %d grid axes", PEGR_SWEEP_MAX_AXES);
        int rc = refused(cmd, pegr_sweep_add_axis(sweep, grid, &err), &err, "--grid", grid);
        if (rc >= 0) return rc;
        for (size_t a = 0; a < naxes; a++)
            if (!strcmp(pegr_sweep_axis_name(sweep, a), pegr_sweep_axis_name(sweep, naxes)))
                return pegr_args_usage_error(cmd, "--grid names '%s' twice",
                                             pegr_sweep_axis_name(sweep, a));
    }
    return -1;
}

static int parse_cli(const pegr_command_spec *cmd, int argc, char **argv, sweep_cli *cli)
{
    /* argv beyond this would be dropped from sweep.args (and the grid arguments' copy) */
    if (argc > SWEEP_MAX_ARGV)
        return pegr_args_usage_error(cmd, "too many arguments (%d; at most %d)", argc - 1,
                                     SWEEP_MAX_ARGV - 1);
    int rc = refuse_control_characters(cmd, argc, argv);
    if (rc >= 0) return rc;
    cli->preset = pegr_cli_find_preset(argc, argv);
    pegr_train_config base;
    if (!pegr_cli_apply_preset(cli->preset, &base))
        return pegr_args_usage_error(cmd, "--preset must be one of " PEGR_PRESETS ", not '%s'",
                                     cli->preset);
    pegr_error err = {0};
    rc = refused(cmd, pegr_sweep_create(&base, PEGR_FP32, &cli->sweep, &err), &err, NULL, NULL);
    if (rc >= 0) return rc;
    pegr_sweep *sweep = cli->sweep;
    /* the grid arguments, out of argv */
    char *rest[SWEEP_MAX_ARGV];
    int nrest = 0;
    rc = take_grids(cmd, argc, argv, sweep, rest, &nrest);
    if (rc >= 0) return rc;
    const char *methods = "gd,pegr", *seeds = "0", *sigmas = "0.1,0.2,0.5,1", *preset = cli->preset;
    cli->out = NULL;
    cli->precision = "fp32";
    cli->jobs_per_device = 1;
    cli->batch_runs = SWEEP_DEFAULT_BATCH_RUNS;
    cli->shards = 10;
    pegr_cli_user_data user;
    pegr_arg args[PEGR_EXPERIMENT_MAX_ARGS + 20 + PEGR_DATA_FILE_COUNT] = {
        {"preset", PEGR_ARG_CHOICE, &preset, NULL, "named base configuration", PEGR_PRESETS, 0},
        {"methods", PEGR_ARG_STRING, &methods, "LIST", "methods to train (gd, sgd, gr, pegr, sam)",
         NULL, 0},
        {"seeds", PEGR_ARG_STRING, &seeds, "LIST", "seeds, e.g. 0-4 or 0,3,7", NULL, 0},
        /* the lock is said here, beside DIR, rather than in the usage lines every usage error
         * repeats */
        {"out", PEGR_ARG_STRING, &cli->out, "DIR",
         "the sweep's directory (required). A running sweep locks DIR (DIR/.lock; shard I/N also "
         "DIR/.lock.shard-I-of-N): a second sweep on the same DIR or shard exits 1 naming the "
         "holder's pid; shards of one sweep run side by side",
         NULL, 0},
        {"devices", PEGR_ARG_STRING, &cli->devices, "LIST",
         "one worker per device: all, or a comma list of specs (host included)", NULL, 0},
        /* at most MAX_WORKERS (cmd_sweep.c) workers run in all */
        {"jobs-per-device", PEGR_ARG_SIZE, &cli->jobs_per_device, "J", "workers on each device",
         "1..64", 0},
        {"batch-runs", PEGR_ARG_SIZE, &cli->batch_runs, "K",
         "train up to K runs of the same shapes together on a device (1: one at a time)", "1..4096",
         0},
        {"shard", PEGR_ARG_STRING, &cli->shard, "I/N",
         "run only share I of N (default: $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT)", NULL,
         0},
        {"emit", PEGR_ARG_CHOICE, &cli->emit, NULL,
         "write a Slurm job-array script or GNU parallel commands into DIR instead of running",
         "slurm|parallel", 0},
        /* 100000: far past any cluster's array size (Slurm's MaxArraySize defaults to 1001) and
         * sweep.parallel stays near 10 MB; uncapped, a typo wrote gigabytes */
        {"shards", PEGR_ARG_SIZE, &cli->shards, "N", "shards of --emit", "1..100000", 0},
        {"extend", PEGR_ARG_FLAG, &cli->extend, NULL, "allow a changed grid in an existing DIR",
         NULL, 0},
        {"precision", PEGR_ARG_CHOICE, &cli->precision, NULL, "device arithmetic", "fp32|fp64", 0},
        {"quiet", PEGR_ARG_FLAG, &cli->quiet, NULL, "one line per run only", NULL, 0},
        PEGR_GLOBAL_ARGS(&cli->g),
    };
    size_t nargs = 0;
    while (args[nargs].name) nargs++;
    nargs += pegr_cli_experiment_args(&base, &sigmas, args + nargs);
    nargs += pegr_cli_user_data_args(&user, args + nargs);
    rc = pegr_args_parse(cmd, args, nargs, nrest, rest);
    if (rc >= 0) return rc;
    if (pegr_cli_user_data_given(&user) &&
        (rc = take_user_data(cmd, args, nargs, &user, &base, cli)) >= 0)
        return rc;
    cli->precision_given = pegr_args_given(args, nargs, "precision");
    rc = pegr_cli_finish_experiment_args(cmd, args, nargs, &base, sigmas);
    if (rc >= 0) return rc;
    if (!cli->out) return pegr_args_usage_error(cmd, "--out DIR is required");
    /* a fixed --snr wins over a --mu-norm axis (and a fixed --mu-norm is ignored beside an snr
     * axis): every value would be the same run; pegr train refuses the pair too */
    for (size_t a = 0; a < pegr_sweep_axis_count(sweep); a++) {
        const char *name = pegr_sweep_axis_name(sweep, a);
        const char *other = !strcmp(name, "mu-norm") ? "snr"
                            : !strcmp(name, "snr")   ? "mu-norm"
                                                     : NULL;
        if (other && pegr_args_given(args, nargs, other))
            return pegr_args_usage_error(cmd, "give --%s or a --grid over %s, not both", other,
                                         name);
    }
    pegr_precision precision = PEGR_FP32;
    pegr_precision_parse(cli->precision, "--precision", &precision, NULL); /* a choice: parses */
    rc = refused(cmd, pegr_sweep_set_base(sweep, &base, precision, &err), &err, NULL, NULL);
    if (rc < 0)
        rc = refused(cmd, pegr_sweep_parse_seeds(sweep, seeds, &err), &err, "--seeds", seeds);
    if (rc >= 0) return rc;
    rc = parse_methods(cmd, methods, sweep);
    if (rc >= 0) return rc;
    record_spec_args(cli, args, nargs, argc, argv);
    /* the axes' values through the library's option table, the ids' length, at most
     * PEGR_SWEEP_MAX_RUNS runs, each valid */
    return refused(cmd, pegr_sweep_check(sweep, &err), &err, NULL, NULL);
}

int sweep_parse_cli_as(const pegr_command_spec *cmd, int argc, char **argv, sweep_cli *cli)
{
    memset(cli, 0, sizeof *cli);
    int rc = parse_cli(cmd, argc, argv, cli);
    if (rc >= 0) sweep_cli_free(cli);
    return rc;
}

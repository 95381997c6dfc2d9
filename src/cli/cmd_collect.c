/* cmd_collect.c: `pegr collect DIR...` -- merge the runs of a sweep's shards (directories from
 * several machines, or one shared directory) into one results.csv, and report the runs that are
 * missing or were found more than once. The sweep is re-read from the first DIR's sweep.args. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "pegr/io.h"
#include "pegr/sweep.h"
#include "sweep_cli.h"

static const pegr_command_spec SPEC = {
    "collect",
    "merge the shards of a sweep into one results.csv; report missing and duplicated runs",
    "pegr collect DIR... [--out DIR]"};

/* Exit status when runs are missing or duplicated (documented in the README). */
#define COLLECT_EXIT_INCOMPLETE 4

static void print_help(void)
{
    printf("pegr collect: %s\n\nusage: %s\n\n  --out DIR   where results.csv goes (default: the "
           "first DIR)\n  --help      show this help\n", SPEC.summary, SPEC.usage);
}

/* The sweep that DIR/sweep.args defines, parsed as `pegr sweep` would (its messages prefixed
 * "pegr collect:"), into *cli; *text holds the arguments' storage (free it after cli). -1 to go
 * on, else the exit code (the message printed, naming the file). */
static int read_sweep(const char *dir, sweep_cli *cli, char **text)
{
    char *path = pegr_path_join(dir, "sweep.args");
    size_t len = 0;
    pegr_error err = {0};
    *text = NULL;
    if (!path || pegr_file_read_all(path, text, &len, &err) != PEGR_OK) {
        fprintf(stderr, "pegr collect: %s is not a sweep directory (%s)\n", dir,
                path ? pegr_error_message(&err) : "out of memory");
        pegr_error_clear(&err);
        free(path);
        return PEGR_EXIT_FAILURE;
    }
    /* one argument a line, each line ended: what sweep_write_description writes. Anything else
     * (a NUL, an empty line, a last line cut short, too many lines) is not a sweep's file. */
    const char *why = NULL;
    char *sargv[SWEEP_MAX_ARGV + 3];
    int sargc = 0;
    sargv[sargc++] = "sweep";
    if (strlen(*text) != len) why = "it holds a NUL byte";
    else if (len && (*text)[len - 1] != '\n') why = "its last line is cut short (no newline)";
    for (char *line = *text; !why && *line;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        if (!*line) why = "it holds an empty line";
        else if (sargc == SWEEP_MAX_ARGV) why = "it holds more arguments than a sweep has";
        else if (!strcmp(line, "--help") || !strcmp(line, "-h") || !strncmp(line, "--out", 5))
            why = "it holds an argument that no sweep.args holds (--help, --out)";
        else sargv[sargc++] = line;
        line = nl + 1;
    }
    int rc = why ? PEGR_EXIT_FAILURE : -1;
    if (!why) {
        sargv[sargc++] = "--out";
        sargv[sargc++] = (char *)dir;
        rc = sweep_parse_cli_as(&SPEC, sargc, sargv, cli);
        if (rc >= 0) why = "see above";
    }
    if (why) {
        fprintf(stderr, "pegr collect: %s does not define a sweep (%s); was it written by "
                        "another version of pegr, or edited?\n", path, why);
        rc = PEGR_EXIT_FAILURE;
    }
    free(path);
    return rc;
}

/* Every directory must hold the same sweep as `canon`. 0 when so (mismatches said on stderr). */
static int same_sweeps(const char *const *dirs, size_t ndirs, const char *canon)
{
    int ok = 1;
    for (size_t d = 0; d < ndirs; d++) {
        char *p = pegr_path_join(dirs[d], "sweep.canonical"), *other = NULL;
        size_t len = 0;
        pegr_error err = {0};
        if (!p || pegr_file_read_all(p, &other, &len, &err) != PEGR_OK) {
            fprintf(stderr, "pegr collect: %s is not a sweep directory (%s)\n", dirs[d],
                    p ? pegr_error_message(&err) : "out of memory");
            ok = 0;
        } else if (strcmp(other, canon)) {
            fprintf(stderr, "pegr collect: %s holds a different sweep than %s\n", dirs[d], dirs[0]);
            ok = 0;
        }
        pegr_error_clear(&err);
        free(other);
        free(p);
    }
    return ok;
}

int pegr_cmd_collect(int argc, char **argv)
{
    /* every DIR kept: as many as there are arguments */
    const char **dirs = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *dirs), *out = NULL;
    size_t ndirs = 0;
    if (!dirs) {
        fprintf(stderr, "pegr collect: out of memory\n");
        return PEGR_EXIT_FAILURE;
    }
    int rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help();
            rc = PEGR_EXIT_OK;
        } else if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc) rc = pegr_args_usage_error(&SPEC, "--out needs a DIR");
            else out = argv[++i];
        } else if (!strncmp(argv[i], "--", 2)) {
            if (!strcmp(argv[i], "--verbose")) continue;
            if (!strcmp(argv[i], "--device")) { i++; continue; }
            rc = pegr_args_usage_error(&SPEC, "unknown option '%s'", argv[i]);
        } else {
            dirs[ndirs++] = argv[i];
        }
    }
    if (rc < 0 && !ndirs) rc = pegr_args_usage_error(&SPEC, "name at least one sweep directory");
    if (rc >= 0) {
        free(dirs);
        return rc;
    }
    sweep_cli cli;
    memset(&cli, 0, sizeof cli); /* cli.sweep NULL when sweep.args cannot be read */
    char *args_text = NULL;
    rc = read_sweep(dirs[0], &cli, &args_text);
    char *canon = rc < 0 ? pegr_sweep_canonical(cli.sweep) : NULL;
    if (rc < 0 && !canon) {
        fprintf(stderr, "pegr collect: out of memory\n");
        rc = PEGR_EXIT_FAILURE;
    }
    if (rc < 0 && !same_sweeps(dirs, ndirs, canon)) rc = PEGR_EXIT_FAILURE;
    pegr_sweep_text_free(canon);
    pegr_sweep_tally t = {0};
    pegr_sweep_callbacks tell = {NULL, sweep_cli_message, NULL, (void *)SPEC.name, NULL};
    const char *target = out ? out : dirs[0];
    pegr_error err = {0};
    if (rc < 0 &&
        (pegr_mkdir_p(target, &err) != PEGR_OK ||
         pegr_sweep_collect(cli.sweep, dirs, ndirs, target, &tell, &t, &err) != PEGR_OK)) {
        pegr_cli_error(SPEC.name, &err);
        rc = PEGR_EXIT_FAILURE;
    }
    if (rc < 0) {
        size_t total = pegr_sweep_run_count(cli.sweep);
        printf("pegr collect: %zu of %zu runs in %s/results.csv; %zu missing, %zu found more than "
               "once\n", t.found, total, target, t.missing, t.duplicated);
        if (t.missing) {
            printf("missing:");
            for (size_t k = 0; k < PEGR_SWEEP_TALLY_IDS && t.missing_ids[k]; k++)
                printf(" %s", t.missing_ids[k]);
            printf("%s\n", t.missing > PEGR_SWEEP_TALLY_IDS ? " ..." : "");
        }
        /* a damaged row is an error (said above, naming each file), not just a missing run */
        if (t.bad)
            fprintf(stderr, "pegr collect: %zu row.csv file(s) could not be merged (see above): "
                    "delete those run directories and run the sweep again to redo them\n", t.bad);
        rc = t.bad ? PEGR_EXIT_FAILURE
             : t.missing || t.duplicated ? COLLECT_EXIT_INCOMPLETE : PEGR_EXIT_OK;
    }
    pegr_sweep_tally_free(&t);
    sweep_cli_free(&cli);
    pegr_error_clear(&err);
    free(args_text);
    free(dirs);
    return rc;
}

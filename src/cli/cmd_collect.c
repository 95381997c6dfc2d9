/* cmd_collect.c: `pegr collect DIR...` -- merge the runs of a sweep's shards (directories from
 * several machines, or one shared directory) into one results.csv, and report the runs that are
 * missing or were found more than once. The sweep is re-read from the first DIR's sweep.args. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fsutil.h"
#include "sweep_cli.h"

static const pegr_command_spec SPEC = {
    "collect", "merge the shards of a sweep into one results.csv; report missing and duplicated runs",
    "pegr collect DIR... [--out DIR]"};

static void print_help(void)
{
    printf("pegr collect: %s\n\nusage: %s\n\n  --out DIR   where results.csv goes (default: the "
           "first DIR)\n  --help      show this help\n", SPEC.summary, SPEC.usage);
}

int pegr_cmd_collect(int argc, char **argv)
{
    const char *dirs[256], *out = NULL;
    size_t ndirs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help();
            return PEGR_EXIT_OK;
        } else if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc) return pegr_args_usage_error(&SPEC, "--out needs a DIR");
            out = argv[++i];
        } else if (!strncmp(argv[i], "--", 2)) {
            if (!strcmp(argv[i], "--verbose")) continue;
            if (!strcmp(argv[i], "--device")) { i++; continue; }
            return pegr_args_usage_error(&SPEC, "unknown option '%s'", argv[i]);
        } else if (ndirs < 256) {
            dirs[ndirs++] = argv[i];
        }
    }
    if (!ndirs) return pegr_args_usage_error(&SPEC, "name at least one sweep directory");
    /* the sweep, from the first directory's defining arguments */
    char *path = pegr_path_join(dirs[0], "sweep.args"), *text = NULL;
    size_t len = 0;
    pegr_error err = {0};
    if (!path || pegr_file_read_all(path, &text, &len, &err) != PEGR_OK) {
        fprintf(stderr, "pegr collect: %s is not a sweep directory (%s)\n", dirs[0],
                pegr_error_message(&err));
        pegr_error_clear(&err);
        free(path);
        return PEGR_EXIT_FAILURE;
    }
    free(path);
    char *sargv[SWEEP_MAX_ARGV + 4];
    int sargc = 0;
    sargv[sargc++] = "sweep";
    for (char *line = strtok(text, "\n"); line && sargc < SWEEP_MAX_ARGV; line = strtok(NULL, "\n"))
        sargv[sargc++] = line;
    sargv[sargc++] = "--out";
    sargv[sargc++] = (char *)dirs[0];
    sweep_cli cli;
    int rc = sweep_parse_cli(sargc, sargv, &cli);
    if (rc >= 0) {
        free(text);
        return PEGR_EXIT_FAILURE;
    }
    /* every directory must hold the same sweep */
    char *canon = sweep_canonical(&cli.spec);
    for (size_t d = 0; d < ndirs; d++) {
        char *p = pegr_path_join(dirs[d], "sweep.canonical"), *other = NULL;
        if (p && pegr_file_read_all(p, &other, &len, NULL) == PEGR_OK && canon && strcmp(other, canon)) {
            fprintf(stderr, "pegr collect: %s holds a different sweep than %s\n", dirs[d], dirs[0]);
            rc = PEGR_EXIT_FAILURE;
        }
        free(other);
        free(p);
    }
    free(canon);
    size_t found = 0, missing = 0, dup = 0;
    const char *target = out ? out : dirs[0];
    if (rc < 0 && (pegr_mkdir_p(target, &err) != PEGR_OK ||
                   sweep_write_results(&cli.spec, dirs, ndirs, target, &found, &missing, &dup,
                                       &err) != PEGR_OK)) {
        pegr_cli_error(SPEC.name, &err);
        rc = PEGR_EXIT_FAILURE;
    }
    if (rc < 0) {
        size_t total = sweep_run_count(&cli.spec);
        printf("pegr collect: %zu of %zu runs in %s/results.csv; %zu missing, %zu found more than "
               "once\n", found, total, target, missing, dup);
        if (missing) {
            printf("missing:");
            size_t shown = 0;
            for (size_t k = 0; k < total && shown < 20; k++) {
                char id[512];
                sweep_run_id(&cli.spec, k, id, sizeof id);
                int any = 0;
                for (size_t d = 0; d < ndirs && !any; d++) {
                    char rel[700];
                    snprintf(rel, sizeof rel, "%s/runs/%s/row.csv", dirs[d], id);
                    FILE *f = fopen(rel, "r");
                    if (f) { any = 1; fclose(f); }
                }
                if (!any) { printf(" %s", id); shown++; }
            }
            printf("%s\n", missing > shown ? " ..." : "");
        }
        rc = missing || dup ? 4 : PEGR_EXIT_OK;
    }
    pegr_error_clear(&err);
    free(text);
    return rc;
}

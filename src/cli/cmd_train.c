/* cmd_train.c: `pegr train` -- the paper's experiment: generate the data, train one method (or
 * several from the same data and initial weights with --compare), report the paper's metrics live
 * and in files, and print a side-by-side table. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "interrupt.h"
#include "pegr/backend.h"
#include "pegr/io.h"
#include "pegr/run_files.h"
#include "pegr/train.h"
#include "train_args.h"

static const pegr_command_spec SPEC = {
    "train", "train the two-layer CNN on the signal-noise model with gd, sgd, gr, pegr or sam",
    "pegr train [--preset demo|large|tiny | --config DIR/config.json]\n"
    "                  [--method gd|sgd|gr|pegr|sam | --compare gd,pegr,...] [--out DIR [--force]]\n"
    "                  [--device SPEC|host] [data, model and training options]\n"
    "                  [--X X.npy --y y.npy [--X-test X.npy --y-test y.npy] [--mu mu.npy]]"};


/* ---- progress and live metrics files ------------------------------------------------------- */

typedef struct run_state {
    const char *dir;
    const char *method;
    const pegr_train_result *result; /* filled as the run goes */
    int progress;                    /* a terminal: draw the progress line */
    double last_write;
    double start;
} run_state;

static void on_record(void *user, const pegr_train_config *c, const pegr_train_record *rec)
{
    run_state *st = user;
    const pegr_metrics *m = &rec->metrics;
    if (st->progress) {
        double rate = rec->wall_seconds > 0 ? (double)rec->step / rec->wall_seconds : 0;
        double eta = rate > 0 ? (double)(c->steps - rec->step) / rate : 0;
        fprintf(stderr, "\r%-5s step %zu/%zu  loss %.4g  test err %.3f  %.0f steps/s  ETA %.0fs   ",
                st->method, rec->step, c->steps, m->loss, m->test_error, rate, eta);
        fflush(stderr);
    }
}

/* The records so far go to disk at most once a second, so a killed run leaves valid files. */
static void write_live(run_state *st)
{
    double now = pegr_now_seconds();
    if (now - st->last_write < 1.0) return;
    st->last_write = now;
    pegr_train_write_metrics(st->dir, st->result, NULL);
}

static void on_record_and_write(void *user, const pegr_train_config *c, const pegr_train_record *rec)
{
    on_record(user, c, rec);
    write_live(user);
}

/* ---- one run ------------------------------------------------------------------------------- */

typedef struct run_outcome {
    pegr_train_result result;
    int ran; /* training started (not skipped after Ctrl-C) */
    int ok;  /* ... and finished with its files written */
} run_outcome;

static int run_one(pegr_backend *b, const pegr_run_info *info, const pegr_dataset *ds,
                   const pegr_cli_user_data *user, const pegr_train_config *c, const char *dir,
                   int quiet, run_outcome *out)
{
    pegr_error err = {0};
    out->ran = 1;
    pegr_status s = pegr_mkdir_p(dir, &err);
    if (s == PEGR_OK) s = pegr_train_write_config_data(dir, c, info, user ? user->path : NULL, &err);
    run_state st = {dir, pegr_method_name(c->method), &out->result, !quiet && isatty(2), 0, pegr_now_seconds()};
    pegr_train_callbacks cb = {on_record_and_write, NULL, &st, pegr_cli_stop_flag()};
    if (s == PEGR_OK) s = pegr_train_run(b, ds, c, &cb, &out->result, &err);
    if (st.progress) fprintf(stderr, "\r%80s\r", "");
    if (s == PEGR_OK) s = pegr_train_write_results(dir, c, &out->result, ds->d, &err);
    if (s != PEGR_OK) pegr_cli_error(SPEC.name, &err);
    pegr_error_clear(&err);
    out->ok = s == PEGR_OK;
    return out->ok;
}

/* One table cell: a number, or "-" where it is unknown (NaN: a diverged run's metrics). */
static void print_cell(int width, int decimals, double v)
{
    if (isfinite(v)) printf(" %*.*f", width, decimals, v);
    else printf(" %*s", width, "-");
}

/* Results only for the methods that ran to the end of their files (a method skipped after Ctrl-C
 * or failed on the way shows nothing of a result); none at all when none did. */
static void print_table(const char *const *methods, const run_outcome *runs, size_t count,
                        const pegr_train_config *c)
{
    size_t shown = 0;
    for (size_t k = 0; k < count; k++) shown += runs[k].ok;
    if (!shown) return;
    printf("\n%-6s %10s %9s %9s %9s %9s %9s %7s %9s %8s\n", "method", "train_loss", "train_err",
           "test_err", "gamma(+)", "gamma(-)", "rho", "steps", "diverged", "seconds");
    for (size_t k = 0; k < count; k++) {
        const pegr_train_result *r = &runs[k].result;
        const pegr_train_record *last = pegr_train_result_last(r);
        if (!runs[k].ran) continue;
        if (!runs[k].ok || !last) {
            printf("%-6s  (failed)\n", methods[k]);
            continue;
        }
        /* A diverged run has no final metrics (its last finite record is from before): "-". */
        const pegr_metrics *m = r->diverged ? NULL : &last->metrics;
        printf("%-6s", methods[k]);
        if (m && isfinite(m->loss)) printf(" %10.4g", m->loss);
        else printf(" %10s", "-");
        const double cells[] = {m ? m->train_error : NAN, m ? m->test_error : NAN,
                                m ? m->gamma_max[0] : NAN, m ? m->gamma_max[1] : NAN,
                                m ? m->rho_mean : NAN};
        for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) print_cell(9, 3, cells[i]);
        printf(" %7zu %9s %8.2f\n", r->steps_run, r->diverged ? "yes" : "no", r->wall_seconds);
    }
    if (c->n_robust) {
        printf("\ntest error under input noise x + N(0, s^2 I):\n%-6s", "method");
        for (size_t i = 0; i < c->n_robust; i++) printf("   s=%-5g", c->robust_sigmas[i]);
        printf("\n");
        for (size_t k = 0; k < count; k++) {
            if (!runs[k].ok) continue;
            printf("%-6s", methods[k]);
            for (size_t i = 0; i < c->n_robust; i++) {
                printf("  ");
                print_cell(7, 3, runs[k].result.robust_error[i]);
            }
            printf("\n");
        }
    }
}

/* Exit codes beyond args.h's: documented in the README and --help. */
enum { EXIT_DIVERGED = 3, EXIT_INTERRUPTED = 130 };

/* Generate the data once (unless `user` holds the caller's own, read into *ds: taken over), open
 * the backend once, train each method into its directory. */
static int run_all(const pegr_global_opts *g, const pegr_train_config *c, const char *const *methods,
                   size_t nmethods, int compare, const char *out, const char *precision, int quiet,
                   const pegr_cli_user_data *user, pegr_dataset *user_ds)
{
    pegr_error err = {0};
    pegr_dataset ds = {0};
    if (user) ds = *user_ds;
    pegr_backend *b = NULL;
    pegr_backend_options bopts;
    pegr_cli_backend_options(g, precision, &bopts);
    if ((!user && pegr_data_generate(&c->data, &ds, &err) != PEGR_OK) ||
        pegr_backend_open(g->device, &bopts, &b, &err) != PEGR_OK) {
        pegr_cli_error(SPEC.name, &err);
        pegr_error_clear(&err);
        pegr_dataset_free(&ds);
        return PEGR_EXIT_FAILURE;
    }
    const pegr_device_info *dev = pegr_backend_device(b);
    pegr_run_info info = {pegr_backend_description(b), dev, pegr_backend_precision_name(b),
                          dev ? pegr_backend_gemm_name(b) : NULL};
    if (!quiet && user)
        fprintf(stderr, "pegr train: %s, %s; data %s: n %zu, d %zu, P %zu, %s, m %zu, q %g, %zu "
                        "steps\n", info.device, info.precision, user->path[0], c->data.n, c->data.d,
                c->data.P, ds.mu ? "with mu" : "no mu (gamma, rho absent)", c->m, c->q, c->steps);
    else if (!quiet)
        fprintf(stderr, "pegr train: %s, %s; n %zu, d %zu, P %zu, ||mu|| %g, m %zu, q %g, %zu steps\n",
                info.device, info.precision, c->data.n, c->data.d, c->data.P, ds.mu_norm, c->m, c->q,
                c->steps);
    pegr_cli_catch_stop_signals();
    run_outcome runs[8];
    memset(runs, 0, sizeof runs);
    int code = PEGR_EXIT_OK;
    /* Nothing of an older run into `out` may survive beside this one's files (a diverged run
     * writes no W.npy; a plain run after --compare writes no out/METHOD/). */
    if (pegr_train_clear_outputs(out, &err) != PEGR_OK) {
        pegr_cli_error(SPEC.name, &err);
        pegr_error_clear(&err);
        nmethods = 0;
        code = PEGR_EXIT_FAILURE;
    }
    for (size_t k = 0; k < nmethods && !pegr_cli_stop_requested(); k++) {
        pegr_train_config ck = *c;
        pegr_method_parse(methods[k], "--compare", &ck.method, NULL); /* checked above */
        char *dir = compare ? pegr_path_join(out, methods[k]) : strdup(out);
        if (!dir || !run_one(b, &info, &ds, user, &ck, dir, quiet, &runs[k])) code = PEGR_EXIT_FAILURE;
        else if (runs[k].result.diverged && code == PEGR_EXIT_OK) code = EXIT_DIVERGED;
        if (runs[k].ok && runs[k].result.diverged)
            fprintf(stderr, "pegr train: %s diverged (NaN or Inf) at step %ld: try a smaller --lr "
                            "or --lam\n", methods[k], runs[k].result.diverged_step);
        free(dir);
    }
    print_table(methods, runs, nmethods, c);
    /* "wrote" only when every method's files were: never after a failure or an interruption. */
    if ((code == PEGR_EXIT_OK || code == EXIT_DIVERGED) && !pegr_cli_stop_requested())
        printf("\nwrote %s%s\n", out, compare ? "/<method>/" : "/");
    if (pegr_cli_stop_requested()) {
        fprintf(stderr, "pegr train: interrupted; %s holds what ran\n", out);
        code = EXIT_INTERRUPTED;
    }
    for (size_t k = 0; k < nmethods; k++) pegr_train_result_free(&runs[k].result);
    pegr_backend_close(b);
    pegr_dataset_free(&ds);
    return code;
}

/* ---- option parsing helpers ---------------------------------------------------------------- */

/* "gd,pegr" -> methods (pointers into buf). Returns the count, 0 on a bad list. */
static size_t split_methods(char *buf, const char **methods, size_t max)
{
    size_t count = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (count == max) return 0;
        pegr_method m;
        if (pegr_method_parse(tok, "--compare", &m, NULL) != PEGR_OK) return 0;
        methods[count++] = tok;
    }
    return count;
}

/* The configuration the flags start from: --config's file, else the preset. -1 to go on, or an
 * exit code (a file that cannot be read is a usage error: exit 2 with the reader's message). */
static int starting_config(int argc, char **argv, pegr_train_config *c)
{
    const char *config = pegr_cli_find_value(argc, argv, "config");
    if (config) {
        pegr_error err = {0};
        if (pegr_train_config_read(config, c, &err) == PEGR_OK) return -1;
        int rc = pegr_args_usage_error(&SPEC, "--config: %s", pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    const char *preset = pegr_cli_find_preset(argc, argv);
    if (!pegr_cli_apply_preset(preset, c))
        return pegr_args_usage_error(&SPEC, "--preset must be one of " PEGR_PRESETS ", not '%s'",
                                     preset);
    return -1;
}

/* An --out that holds another run is not written into unless --force says so: the run's configs
 * (one per method with --compare) against what is there (pegr_train_check_outputs). The same
 * config -- a re-run into its own directory -- is fine. */
static int check_out(const char *out, const pegr_train_config *c, const char *const *methods,
                     size_t nmethods, int compare)
{
    pegr_train_config configs[8];
    for (size_t k = 0; k < nmethods; k++) {
        configs[k] = *c;
        pegr_method_parse(methods[k], "--compare", &configs[k].method, NULL); /* checked before */
    }
    pegr_error err = {0};
    pegr_status s = pegr_train_check_outputs(out, configs, nmethods, compare, &err);
    int rc = -1;
    if (s == PEGR_ERR_INVALID_ARGUMENT)
        rc = pegr_args_usage_error(&SPEC, "--out %s; use --force to write into it anyway, or "
                                          "another --out", pegr_error_message(&err));
    else if (s != PEGR_OK) {
        pegr_cli_error(SPEC.name, &err);
        rc = PEGR_EXIT_FAILURE;
    }
    pegr_error_clear(&err);
    return rc;
}

/* A --config of a run on the caller's own data, with no --X given, re-runs it on the files it
 * recorded, after checking they are unchanged (pegr_train_config_data_files): into u->path from
 * recorded[], which the caller frees. -1 to go on, or an exit code. */
static int recorded_data(const char *config, pegr_cli_user_data *u, char **recorded)
{
    pegr_error err = {0};
    if (pegr_train_config_data_files(config, recorded, &err) != PEGR_OK) {
        int rc = pegr_args_usage_error(&SPEC, "--config: %s", pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    for (size_t k = 0; k < PEGR_DATA_FILE_COUNT; k++) u->path[k] = recorded[k];
    return -1;
}

static void free_recorded(char **recorded)
{
    for (size_t k = 0; k < PEGR_DATA_FILE_COUNT; k++) free(recorded[k]);
}

/* The parsed command line of `pegr train` (the parser's targets, so the rows point into it). */
typedef struct train_cli {
    pegr_train_config c;
    pegr_global_opts g;
    const char *preset, *config, *out, *compare, *precision, *sigmas;
    int quiet, force;
    pegr_cli_user_data user;
} train_cli;

/* Everything after parsing (and after --config's recorded data files, if any, are in t->user):
 * the checks across flags, the data, then the runs. */
static int train_parsed(train_cli *t, const pegr_arg *args, size_t nargs)
{
    pegr_train_config c = t->c;
    pegr_global_opts g = t->g;
    const char *config = t->config, *compare = t->compare, *precision = t->precision;
    const char *out = t->out, *sigmas = t->sigmas;
    int quiet = t->quiet, force = t->force, own = pegr_cli_user_data_given(&t->user), rc;
    const pegr_cli_user_data *user_files = &t->user;
    if (own && (rc = pegr_cli_check_user_data_args(&SPEC, args, nargs, user_files)) >= 0) return rc;
    /* A config holds every option: a preset under it would mean nothing. */
    if (config && pegr_args_given(args, nargs, "preset"))
        return pegr_args_usage_error(&SPEC, "give --preset or --config, not both (the config "
                                            "holds every option; flags override it)");
    rc = pegr_cli_finish_experiment_args(&SPEC, args, nargs, &c, sigmas);
    if (rc >= 0) return rc;
    char compare_buf[256] = "";
    const char *methods[8] = {pegr_method_name(c.method)};
    size_t nmethods = 1;
    if (compare) {
        snprintf(compare_buf, sizeof compare_buf, "%s", compare);
        nmethods = split_methods(compare_buf, methods, 8);
        if (nmethods == 0)
            return pegr_args_usage_error(&SPEC, "--compare needs a comma list of gd, sgd, gr, "
                                                "pegr, sam, not '%s'", compare);
    }
    pegr_error err = {0};
    /* Your own data: read and checked before anything else, a bad file is a usage error. */
    pegr_dataset user_ds = {0};
    if (own && pegr_cli_load_user_data(user_files, &user_ds, &c.data, &err) != PEGR_OK) {
        rc = pegr_args_usage_error(&SPEC, "%s", pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    for (size_t k = 0; k < nmethods; k++) {
        pegr_train_config ck = c;
        pegr_method_parse(methods[k], "--compare", &ck.method, NULL); /* checked above */
        if (pegr_train_config_validate(&ck, &err) != PEGR_OK) {
            rc = pegr_args_usage_error(&SPEC, "%s", pegr_error_message(&err));
            pegr_error_clear(&err);
            pegr_dataset_free(&user_ds);
            return rc;
        }
    }
    /* What the chosen backend cannot do is refused here, not silently replaced (the host
     * reference is fp64 and primal only); --precision counts only when given. */
    int precision_given = pegr_args_given(args, nargs, "precision");
    if (pegr_backend_check_request(g.device, precision_given ? precision : NULL, pegr_representation_name(c.representation), &err) != PEGR_OK) {
        rc = pegr_args_usage_error(&SPEC, "%s", pegr_error_message(&err));
        pegr_error_clear(&err);
        pegr_dataset_free(&user_ds);
        return rc;
    }
    if (!force && (rc = check_out(out, &c, methods, nmethods, compare != NULL)) >= 0) {
        pegr_dataset_free(&user_ds);
        return rc;
    }
    return run_all(&g, &c, methods, nmethods, compare != NULL, out, precision, quiet,
                   own ? user_files : NULL, &user_ds);
}

int pegr_cmd_train(int argc, char **argv)
{
    train_cli t = {.out = "pegr-run", .precision = "fp32", .sigmas = "0.1,0.2,0.5,1"};
    int rc = starting_config(argc, argv, &t.c);
    if (rc >= 0) return rc;
    t.preset = pegr_cli_find_preset(argc, argv);
    pegr_arg args[PEGR_EXPERIMENT_MAX_ARGS + 10 + PEGR_DATA_FILE_COUNT] = {
        {"preset", PEGR_ARG_CHOICE, &t.preset, NULL, "named configuration (flags override it)",
         PEGR_PRESETS, 0},
        {"config", PEGR_ARG_STRING, &t.config, "FILE",
         "re-run a run: the options of its config.json (DIR/config.json; with --compare, one "
         "method's DIR/METHOD/config.json) in place of a preset; flags given with it override "
         "them", NULL, 0},
        {"compare", PEGR_ARG_STRING, &t.compare, "LIST",
         "train each of these methods (e.g. gd,pegr) from the same data and initial weights", NULL, 0},
        {"precision", PEGR_ARG_CHOICE, &t.precision, NULL,
         "device arithmetic (the host reference computes in fp64 only: fp32 is refused there)",
         "fp32|fp64", 0},
        {"out", PEGR_ARG_STRING, &t.out, "DIR", "output directory (with --compare: DIR/METHOD)", NULL, 0},
        {"force", PEGR_ARG_FLAG, &t.force, NULL,
         "write into an --out that holds another run, or anything else (its run files are "
         "replaced; without --force that is refused)", NULL, 0},
        {"quiet", PEGR_ARG_FLAG, &t.quiet, NULL, "no progress line", NULL, 0},
        PEGR_GLOBAL_ARGS(&t.g),
    };
    size_t nargs = 0;
    while (args[nargs].name) nargs++; /* the rows above; the rest of the array is zeroed */
    nargs += pegr_cli_experiment_args(&t.c, &t.sigmas, args + nargs);
    nargs += pegr_cli_user_data_args(&t.user, args + nargs);
    rc = pegr_args_parse(&SPEC, args, nargs, argc, argv);
    if (rc >= 0) return rc;
    /* --config of a run on your own data, no --X given: the files it recorded, if unchanged */
    char *recorded[PEGR_DATA_FILE_COUNT] = {0};
    if (t.config && !pegr_cli_user_data_given(&t.user) &&
        (rc = recorded_data(t.config, &t.user, recorded)) >= 0)
        return rc;
    rc = train_parsed(&t, args, nargs);
    free_recorded(recorded);
    return rc;
}

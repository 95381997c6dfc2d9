/* test_sweep_api.c: the sweep through the public API alone (pegr/sweep.h, issue 14): a 2x2 grid on
 * the host reference run into a temporary directory, resumed without training anything again, its
 * results.csv rows in run order under the ids the sweep enumerates; the training options set by
 * name with the command line's messages; and the CLI's option rows checked against the library's
 * one table (the CLI builds its train and data flags separately: they must say the same). */
#define _DEFAULT_SOURCE 1 /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/io.h"
#include "pegr/numparse.h"
#include "pegr/pegr.h"
#include "pegr/sweep.h"

#include "cli/data_args.h"
#include "cli/train_args.h"
#include "train/sweep_internal.h"

/* A tiny base: four runs in well under a second each on the host. */
static void tiny_base(pegr_train_config *c)
{
    pegr_train_config_default(c);
    c->data.n = 10;
    c->data.n_test = 40;
    c->data.d = 20;
    c->m = 2;
    c->steps = 10;
    c->log_every = 5;
}

static pegr_sweep *grid_2x2(void)
{
    pegr_train_config base;
    tiny_base(&base);
    pegr_sweep *s = NULL;
    pegr_error err = {0};
    assert_int_equal(pegr_sweep_create(&base, PEGR_FP64, &s, &err), PEGR_OK);
    assert_int_equal(pegr_sweep_add_axis(s, "lam=0.01,0.1", &err), PEGR_OK);
    const char *snr[] = {"0.5", "1"};
    assert_int_equal(pegr_sweep_add_axis_values(s, "snr", snr, 2, &err), PEGR_OK);
    pegr_method gd = PEGR_METHOD_GD;
    assert_int_equal(pegr_sweep_set_methods(s, &gd, 1, &err), PEGR_OK);
    assert_int_equal(pegr_sweep_parse_seeds(s, "3", &err), PEGR_OK);
    assert_int_equal(pegr_sweep_check(s, &err), PEGR_OK);
    pegr_error_clear(&err);
    return s;
}

typedef struct landed_log {
    size_t count;
    size_t runs[8];
} landed_log;

static void on_landed(void *user, const pegr_sweep_landed *run)
{
    landed_log *log = user;
    assert_non_null(run->id);
    assert_non_null(run->result);
    if (log->count < 8) log->runs[log->count] = run->run;
    log->count++;
}

static void test_grid_runs_resumes_and_collects(void **state)
{
    (void)state;
    pegr_sweep *s = grid_2x2();
    assert_int_equal(pegr_sweep_run_count(s), 4);
    /* the order: the first axis slowest, then the second, then method and seed */
    char id[PEGR_SWEEP_ID_MAX + 1];
    assert_int_equal(pegr_sweep_run_id(s, 0, id, sizeof id, NULL), PEGR_OK);
    assert_memory_equal(id, "gd-s3-lam=0.01-snr=0.5-", 23);
    assert_int_equal(strlen(id), 23 + PEGR_SWEEP_FINGERPRINT_HEX);
    assert_int_equal(pegr_sweep_run_id(s, 3, id, sizeof id, NULL), PEGR_OK);
    assert_memory_equal(id, "gd-s3-lam=0.1-snr=1-", 20);
    assert_int_equal(pegr_sweep_run_id(s, 4, id, sizeof id, NULL), PEGR_ERR_INVALID_ARGUMENT);
    pegr_train_config c;
    assert_int_equal(pegr_sweep_run_config(s, 2, &c, NULL), PEGR_OK);
    assert_true(c.lam == 0.1 && c.data.snr == 0.5 && c.data.seed == 3 &&
                c.method == PEGR_METHOD_GD);
    assert_string_equal(pegr_sweep_axis_column(s, 0), "lam");

    char tmpl[] = "/tmp/pegr-sweep-api-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char *dir = pegr_path_join(tmpl, "sweep");
    pegr_backend *b = NULL;
    pegr_error err = {0};
    assert_int_equal(pegr_backend_open("host", NULL, &b, &err), PEGR_OK);

    landed_log log = {0};
    pegr_sweep_callbacks cb = {on_landed, NULL, NULL, &log, NULL};
    pegr_sweep_summary sum;
    assert_int_equal(pegr_sweep_run_all(s, b, dir, NULL, &cb, &sum, &err), PEGR_OK);
    assert_int_equal(sum.runs, 4);
    assert_int_equal(sum.done, 0);
    assert_int_equal(sum.landed, 4);
    assert_int_equal(sum.failed, 0);
    assert_int_equal(sum.tally.found, 4);
    assert_int_equal(sum.tally.missing, 0);
    assert_int_equal(log.count, 4);
    pegr_sweep_tally_free(&sum.tally);

    /* resumed: every run is found done, nothing trains again */
    log.count = 0;
    assert_int_equal(pegr_sweep_run_all(s, b, dir, NULL, &cb, &sum, &err), PEGR_OK);
    assert_int_equal(sum.done, 4);
    assert_int_equal(sum.landed, 0);
    assert_int_equal(log.count, 0);
    assert_int_equal(sum.tally.found, 4);
    pegr_sweep_tally_free(&sum.tally);

    /* results.csv: the header, then one row per run in run order, each starting with its id and
     * carrying its lam and snr */
    char *path = pegr_path_join(dir, "results.csv"), *text = NULL;
    size_t len = 0;
    assert_int_equal(pegr_file_read_all(path, &text, &len, &err), PEGR_OK);
    assert_memory_equal(text, "run_id,method,seed,n,n_test,d,patches,mu_norm,snr,", 50);
    /* the data model and the model variants have columns of their own: a sweep over them can be
     * told apart (and tabled, plotted) by its rows, not only by their ids */
    const char *variants = ",sam_rho,data,xor_a_norm,xor_b_norm,init,bias,readout,learn_readout,"
                           "sam_variant,train_loss,";
    const char *nl = strchr(text, '\n');
    const char *in_header = strstr(text, variants);
    assert_true(in_header && in_header < nl);
    assert_non_null(strstr(nl, ",signal-noise,,,gaussian,0,mean-filters,0,full,"));
    const char *line = strchr(text, '\n') + 1;
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(pegr_sweep_run_id(s, k, id, sizeof id, NULL), PEGR_OK);
        assert_memory_equal(line, id, strlen(id));
        assert_int_equal(line[strlen(id)], ',');
        assert_memory_equal(line + strlen(id), ",gd,3,10,40,20,2,", 17);
        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
    assert_int_equal(*line, '\0');
    free(text);

    /* a row.csv written before the variant columns (data .. sam_variant) existed is still the
     * run's: it counts as done and results.csv gets it with those columns filled in -- an older
     * sweep resumed by this pegr retrains nothing */
    assert_int_equal(pegr_sweep_run_id(s, 0, id, sizeof id, NULL), PEGR_OK);
    char *runs = pegr_path_join(dir, "runs"), *run = pegr_path_join(runs, id);
    char *row = pegr_path_join(run, "row.csv"), *now = NULL, *before = NULL;
    assert_int_equal(pegr_file_read_all(path, &before, &len, &err), PEGR_OK); /* results.csv */
    assert_int_equal(pegr_file_read_all(row, &now, &len, &err), PEGR_OK);
    const char *cut = strstr(now, ",signal-noise,,,gaussian,0,mean-filters,0,full,");
    assert_non_null(cut);
    char *legacy = malloc(len + 1);
    size_t head = (size_t)(cut - now), drop = strlen(",signal-noise,,,gaussian,0,mean-filters,0,full");
    memcpy(legacy, now, head);
    strcpy(legacy + head, cut + drop);
    assert_int_equal(pegr_file_write_in(run, "row.csv", legacy, strlen(legacy), &err), PEGR_OK);
    assert_int_equal(pegr_sweep_run_is_done(s, 0, dir), 1);
    const char *dirs[1] = {dir};
    pegr_sweep_tally t;
    assert_int_equal(pegr_sweep_collect(s, dirs, 1, dir, NULL, &t, &err), PEGR_OK);
    assert_int_equal(t.found, 4);
    assert_int_equal(t.bad, 0);
    pegr_sweep_tally_free(&t);
    char *after = NULL;
    assert_int_equal(pegr_file_read_all(path, &after, &len, &err), PEGR_OK);
    assert_string_equal(after, before);
    /* a row with any other field count is still refused */
    legacy[strlen(legacy) - 2] = '\0';
    strcat(legacy, ",x\n");
    assert_int_equal(pegr_file_write_in(run, "row.csv", legacy, strlen(legacy), &err), PEGR_OK);
    assert_int_equal(pegr_sweep_run_is_done(s, 0, dir), 0);
    free(after);
    free(before);
    free(legacy);
    free(now);
    free(row);
    free(run);
    free(runs);

    /* a directory that holds another sweep is refused unless extended */
    pegr_sweep *other = grid_2x2();
    pegr_method pegr = PEGR_METHOD_PEGR;
    assert_int_equal(pegr_sweep_set_methods(other, &pegr, 1, NULL), PEGR_OK);
    assert_int_equal(pegr_sweep_check(other, NULL), PEGR_OK);
    assert_int_equal(pegr_sweep_dir_differs(other, dir), 1);
    assert_int_equal(pegr_sweep_dir_differs(s, dir), 0);
    assert_int_equal(pegr_sweep_run_all(other, b, dir, NULL, NULL, NULL, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "holds a different sweep"));
    pegr_error_clear(&err);
    pegr_sweep_free(other);

    pegr_backend_close(b);
    assert_int_equal(pegr_remove_tree(tmpl, NULL), PEGR_OK);
    free(path);
    free(dir);
    pegr_sweep_free(s);
}

static void expect_refused(pegr_sweep *s, const char *axis, const char *words)
{
    pegr_error err = {0};
    pegr_status st = pegr_sweep_add_axis(s, axis, &err);
    if (st == PEGR_OK) st = pegr_sweep_check(s, &err);
    assert_int_equal(st, PEGR_ERR_INVALID_ARGUMENT);
    if (!strstr(pegr_error_message(&err), words))
        fail_msg("'%s': '%s' does not say '%s'", axis, pegr_error_message(&err), words);
    pegr_error_clear(&err);
}

static void test_grids_are_checked_with_the_command_lines_words(void **state)
{
    (void)state;
    pegr_train_config base;
    tiny_base(&base);
    static const struct { const char *axis, *words; } cases[] = {
        {"label-noise=0,0.9", "--label-noise needs a number from 0 to 0.5, not '0.9'"},
        {"n=20,020", "the values '20' and '020' are the same setting"},
        {"method=gd", "method and seed are not grid axes"},
        {"isotropic=0,1", "not an option of pegr train"},
        {"lam", "a grid axis is NAME="},
        {"lam=a/b", "holds '/'"},
        {"snr=0,1", "--snr must be > 0, not 0"},
        {"representation=primal,dual", "--representation must be one of auto|primal|span"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pegr_sweep *s = NULL;
        assert_int_equal(pegr_sweep_create(&base, PEGR_FP32, &s, NULL), PEGR_OK);
        expect_refused(s, cases[k].axis, cases[k].words);
        pegr_sweep_free(s);
    }
    /* an axis named twice */
    pegr_sweep *s = NULL;
    assert_int_equal(pegr_sweep_create(&base, PEGR_FP32, &s, NULL), PEGR_OK);
    assert_int_equal(pegr_sweep_add_axis(s, "lam=1,2", NULL), PEGR_OK);
    expect_refused(s, "lam=3", "--grid names 'lam' twice");
    pegr_sweep_free(s);
    /* nothing to enumerate before the check */
    assert_int_equal(pegr_sweep_create(&base, PEGR_FP32, &s, NULL), PEGR_OK);
    assert_int_equal(pegr_sweep_run_count(s), 0);
    assert_int_equal(pegr_sweep_parse_seeds(s, "0-2,2", NULL), PEGR_ERR_INVALID_ARGUMENT);
    pegr_sweep_free(s);
}

static void test_options_set_by_name(void **state)
{
    (void)state;
    pegr_train_config c;
    pegr_train_config_default(&c);
    pegr_error err = {0};
    assert_int_equal(pegr_train_config_set(&c, "label-noise", "0.25", &err), PEGR_OK);
    assert_true(c.data.label_flip == 0.25);
    assert_int_equal(pegr_train_config_set(&c, "n", "7", &err), PEGR_OK);
    assert_int_equal(c.data.n, 7);
    assert_int_equal(pegr_train_config_set(&c, "method", "sgd", &err), PEGR_OK);
    assert_int_equal(c.method, PEGR_METHOD_SGD);
    assert_int_equal(pegr_train_config_set(&c, "robust-sigmas", "0.5,2", &err), PEGR_OK);
    assert_int_equal(c.n_robust, 2);
    assert_int_equal(pegr_train_config_set(&c, "isotropic", "1", &err), PEGR_OK);
    assert_int_equal(c.data.isotropic, 1);
    /* refusals leave c alone and name the flag */
    pegr_train_config before = c;
    assert_int_equal(pegr_train_config_set(&c, "n", " 7", &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_string_equal(pegr_error_message(&err),
                        "--n needs an integer from 1 to 18446744073709551615, not ' 7'");
    assert_int_equal(pegr_train_config_set(&c, "robust-sigmas", "1,1", &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(pegr_train_config_set(&c, "no-such", "1", &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_string_equal(pegr_error_message(&err), "unknown option '--no-such'");
    assert_memory_equal(&c, &before, sizeof c);
    pegr_error_clear(&err);
    const pegr_train_option *o = pegr_train_option_find("mu-norm");
    assert_non_null(o);
    assert_int_equal(o->offset, offsetof(pegr_train_config, data.mu_norm));
    assert_string_equal(o->column, "mu_norm");
}

/* One CLI row says what the library's option says: name, kind, range, metavar, help, and its
 * target is the option's field (at `base` + the option's offset less `shift`). */
static void expect_row_is_option(const pegr_arg *row, const pegr_train_option *o, void *base,
                                 size_t shift)
{
    static const struct { pegr_arg_kind arg; pegr_option_type option; } kinds[] = {
        {PEGR_ARG_SIZE, PEGR_OPTION_SIZE}, {PEGR_ARG_U64, PEGR_OPTION_U64},
        {PEGR_ARG_DOUBLE, PEGR_OPTION_DOUBLE}, {PEGR_ARG_FLAG, PEGR_OPTION_FLAG},
        {PEGR_ARG_METHOD, PEGR_OPTION_METHOD},
        {PEGR_ARG_REPRESENTATION, PEGR_OPTION_REPRESENTATION},
        {PEGR_ARG_STRING, PEGR_OPTION_SIGMAS}, {PEGR_ARG_INDEX, PEGR_OPTION_CHOICE},
    };
    assert_string_equal(row->name, o->name);
    size_t j = 0;
    while (j < sizeof kinds / sizeof kinds[0] && kinds[j].arg != row->kind) j++;
    assert_true(j < sizeof kinds / sizeof kinds[0]);
    if (kinds[j].option != o->type) fail_msg("--%s: the kinds differ", o->name);
    if ((row->allowed == NULL) != (o->allowed == NULL) ||
        (o->allowed && strcmp(row->allowed, o->allowed)))
        fail_msg("--%s: the ranges differ", o->name);
    assert_string_equal(row->help, o->help);
    if ((row->metavar == NULL) != (o->metavar == NULL) ||
        (o->metavar && strcmp(row->metavar, o->metavar)))
        fail_msg("--%s: the metavars differ", o->name);
    if (o->type != PEGR_OPTION_SIGMAS) /* the CLI reads the sigmas' text into a string */
        assert_ptr_equal(row->target, (char *)base + o->offset - shift);
}

/* The CLI's option rows agree with the library's one table of training options: pegr train's and
 * pegr sweep's (src/cli/train_args.c), in the table's order, and pegr data's (pegr_cli_data_args),
 * the table's data options. */
static void test_cli_rows_match_the_library_table(void **state)
{
    (void)state;
    pegr_train_config c;
    const char *sigmas = NULL;
    pegr_arg rows[PEGR_EXPERIMENT_MAX_ARGS];
    size_t n = pegr_cli_experiment_args(&c, &sigmas, rows);
    const pegr_train_option *table = NULL;
    size_t count = pegr_train_options(&table);
    assert_int_equal(n, count);
    for (size_t k = 0; k < n; k++) expect_row_is_option(&rows[k], &table[k], &c, 0);

    pegr_data_config d;
    pegr_arg data_rows[PEGR_EXPERIMENT_MAX_ARGS];
    size_t ndata = pegr_cli_data_args(&d, data_rows), nd = 0;
    for (size_t k = 0; k < count; k++) {
        if (!table[k].data) continue;
        assert_true(nd < ndata);
        expect_row_is_option(&data_rows[nd++], &table[k], &d, offsetof(pegr_train_config, data));
    }
    assert_int_equal(nd, ndata);
    assert_int_equal(ndata, 14); /* n, n-test, d, patches, mu-norm, snr, sigma-p, isotropic,
                                    label-noise, flip-test, seed, data, xor-a-norm, xor-b-norm */
}

/* The id of the one run (gd, seed 3) of a sweep of base, or "" when base is not a valid sweep. */
static void single_run_id(const pegr_train_config *base, char *id, size_t len)
{
    pegr_sweep *s = NULL;
    id[0] = '\0';
    pegr_method gd = PEGR_METHOD_GD;
    if (pegr_sweep_create(base, PEGR_FP64, &s, NULL) == PEGR_OK &&
        pegr_sweep_set_methods(s, &gd, 1, NULL) == PEGR_OK &&
        pegr_sweep_parse_seeds(s, "3", NULL) == PEGR_OK && pegr_sweep_check(s, NULL) == PEGR_OK)
        assert_int_equal(pegr_sweep_run_id(s, 0, id, len, NULL), PEGR_OK);
    pegr_sweep_free(s);
}

/* Every option of the table but method and seed (which name the run) enters a run's identity:
 * a sweep whose base differs from another's in that one option gets another run id, so a resume
 * never reuses a run trained with other settings -- also for options added after sweep.canonical's
 * format was fixed, which follow the table with no code of their own. */
static void test_every_option_changes_the_run_id(void **state)
{
    (void)state;
    pegr_train_config base;
    tiny_base(&base);
    char ref[PEGR_SWEEP_ID_MAX + 1], id[PEGR_SWEEP_ID_MAX + 1];
    single_run_id(&base, ref, sizeof ref);
    assert_true(ref[0]);
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    static const char *const numbers[] = {"0.30000000000000004", "1.5", "0.25", "3", "0.001"};
    for (size_t k = 0; k < n; k++) {
        const pegr_train_option *o = &table[k];
        if (!strcmp(o->name, "method") || !strcmp(o->name, "seed")) continue;
        char now[PEGR_TRAIN_OPTION_TEXT_MAX], tries[8][PEGR_TRAIN_OPTION_TEXT_MAX];
        size_t ntries = 0;
        assert_int_equal(pegr_train_config_get(&base, o->name, now, sizeof now, NULL), PEGR_OK);
        if (o->type == PEGR_OPTION_CHOICE || o->type == PEGR_OPTION_REPRESENTATION) {
            for (int w = 0; ntries < 8 && pegr_word_at(o->allowed, w, tries[ntries], sizeof tries[0]); w++)
                if (strcmp(tries[ntries], now) != 0) ntries++;
        } else if (o->type == PEGR_OPTION_FLAG) {
            snprintf(tries[ntries++], sizeof tries[0], "%d", strcmp(now, "1") != 0);
        } else if (o->type == PEGR_OPTION_SIZE) {
            unsigned long long v = strtoull(now, NULL, 10);
            snprintf(tries[ntries++], sizeof tries[0], "%llu", v + 1);
            snprintf(tries[ntries++], sizeof tries[0], "%llu", v > 1 ? v - 1 : 1);
        } else if (o->type == PEGR_OPTION_DOUBLE) {
            for (size_t t = 0; t < sizeof numbers / sizeof numbers[0]; t++)
                snprintf(tries[ntries++], sizeof tries[0], "%s", numbers[t]);
        } else if (o->type == PEGR_OPTION_SIGMAS) {
            snprintf(tries[ntries++], sizeof tries[0], "0.3");
        }
        int changed = 0;
        /* an option of one data model is tried with that model: --xor-a-norm with --data xor */
        for (int xor = 0; xor < 2 && !changed; xor++)
            for (size_t t = 0; t < ntries && !changed; t++) {
                pegr_train_config c = base, same;
                if (xor && pegr_train_config_set(&c, "data", "xor", NULL) != PEGR_OK) continue;
                same = c;
                if (pegr_train_config_set(&c, o->name, tries[t], NULL) != PEGR_OK ||
                    pegr_train_config_equal(&c, &same))
                    continue;
                single_run_id(&same, ref, sizeof ref);
                single_run_id(&c, id, sizeof id);
                if (!id[0] || !ref[0]) continue; /* not a valid sweep that way: the next value */
                if (!strcmp(id, ref)) fail_msg("--%s %s: the same run id as without it (%s)", o->name, tries[t], id);
                changed = 1;
            }
        if (!changed) fail_msg("--%s: no value tried makes a valid sweep to compare", o->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_runs_resumes_and_collects),
        cmocka_unit_test(test_grids_are_checked_with_the_command_lines_words),
        cmocka_unit_test(test_options_set_by_name),
        cmocka_unit_test(test_every_option_changes_the_run_id),
        cmocka_unit_test(test_cli_rows_match_the_library_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

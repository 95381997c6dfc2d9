/* test_own_data.c: training on the caller's own data (issue 16, item 3) -- the library's
 * pegr_dataset_from_arrays (its checks, the signal patch found from mu, gamma and rho absent
 * without mu), a run on arrays equal bit for bit to the run on the same data generated, a config
 * whose shapes are not the dataset's refused; and the CLI's `pegr train|sweep --X ... --mu ...`
 * (the same metrics.csv but its clock and W.npy as the generated run, empty gamma/rho without --mu,
 * bad files and data-model flags refused with exit 2), on the host and the suite's device. On the
 * main before this item pegr_dataset_from_arrays did not exist and --X was an unknown option. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "pegr/pegr.h"
#include "test_device_pick.h"
#include "train_support.h"

static pegr_device_info *suite_device;
static char device_option[32];

/* ---- the library ---------------------------------------------------------------------------- */

static pegr_data_config tiny_data(void)
{
    pegr_train_config c = support_tiny("gd", 20);
    return c.data;
}

static void test_from_arrays_copies_and_finds_the_signal_patch(void **state)
{
    (void)state;
    pegr_data_config dc = tiny_data();
    pegr_dataset gen = {0}, own = {0};
    assert_int_equal(pegr_data_generate(&dc, &gen, NULL), PEGR_OK);
    assert_int_equal(pegr_dataset_from_arrays(gen.train.X, gen.train.y, gen.train.n, gen.P, gen.d,
                                              gen.test.X, gen.test.y, gen.test.n, gen.mu, &own,
                                              NULL),
                     PEGR_OK);
    assert_true(own.train.X != gen.train.X); /* copied */
    assert_memory_equal(own.train.X, gen.train.X, gen.train.n * gen.P * gen.d * sizeof(double));
    assert_memory_equal(own.test.y, gen.test.y, gen.test.n * sizeof(double));
    assert_memory_equal(own.train.signal_patch, gen.train.signal_patch, gen.train.n * sizeof(size_t));
    assert_memory_equal(own.test.signal_patch, gen.test.signal_patch, gen.test.n * sizeof(size_t));
    assert_true(own.mu_norm == gen.mu_norm);
    pegr_dataset_free(&own);
    /* without mu: no mu, no signal patches, ||mu|| unknown */
    assert_int_equal(pegr_dataset_from_arrays(gen.train.X, gen.train.y, gen.train.n, gen.P, gen.d,
                                              NULL, NULL, 0, NULL, &own, NULL),
                     PEGR_OK);
    assert_null(own.mu);
    assert_null(own.train.signal_patch);
    assert_true(isnan(own.mu_norm));
    assert_int_equal(own.test.n, 0);
    pegr_dataset_free(&own);
    pegr_dataset_free(&gen);
}

static void test_from_arrays_refuses_bad_input(void **state)
{
    (void)state;
    double X[2 * 2 * 3] = {0}, y[2] = {1, -1}, mu[3] = {1, 0, 0};
    pegr_dataset ds = {0};
    pegr_error err = {0};
    y[1] = 0.5;
    assert_int_equal(pegr_dataset_from_arrays(X, y, 2, 2, 3, NULL, NULL, 0, mu, &ds, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "y[1] = 0.5"));
    assert_null(ds.train.X); /* left empty */
    pegr_error_clear(&err);
    y[1] = -1;
    X[4] = NAN;
    assert_int_equal(pegr_dataset_from_arrays(X, y, 2, 2, 3, NULL, NULL, 0, mu, &ds, &err),
                     PEGR_ERR_NONFINITE);
    assert_non_null(strstr(pegr_error_message(&err), "X[4]"));
    pegr_error_clear(&err);
    X[4] = 0;
    mu[2] = INFINITY;
    assert_int_equal(pegr_dataset_from_arrays(X, y, 2, 2, 3, NULL, NULL, 0, mu, &ds, &err),
                     PEGR_ERR_NONFINITE);
    assert_non_null(strstr(pegr_error_message(&err), "mu[2]"));
    pegr_error_clear(&err);
    assert_int_equal(pegr_dataset_from_arrays(X, y, 0, 2, 3, NULL, NULL, 0, NULL, &ds, &err),
                     PEGR_ERR_SHAPE);
    pegr_error_clear(&err);
    assert_int_equal(pegr_dataset_from_arrays(X, y, 2, 2, 3, NULL, y, 2, NULL, &ds, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "X_test"));
    pegr_error_clear(&err);
}

/* Train c on b from generated data and from the same arrays fed back: the same records and W, bit
 * for bit; without mu the same but gamma and rho, which are NaN. */
static void same_as_generated(const pegr_device_info *dev)
{
    pegr_backend *b = support_open_backend(dev, dev ? support_check_precision(dev) : PEGR_FP64,
                                           SUPPORT_LIBRARY_GEMM);
    pegr_train_config c = support_tiny("pegr", 30);
    pegr_dataset gen = {0}, own = {0}, nomu = {0};
    assert_int_equal(pegr_data_generate(&c.data, &gen, NULL), PEGR_OK);
    assert_int_equal(pegr_dataset_from_arrays(gen.train.X, gen.train.y, gen.train.n, gen.P, gen.d,
                                              gen.test.X, gen.test.y, gen.test.n, gen.mu, &own,
                                              NULL),
                     PEGR_OK);
    assert_int_equal(pegr_dataset_from_arrays(gen.train.X, gen.train.y, gen.train.n, gen.P, gen.d,
                                              gen.test.X, gen.test.y, gen.test.n, NULL, &nomu,
                                              NULL),
                     PEGR_OK);
    pegr_train_result a = {0}, o = {0}, n = {0};
    pegr_error err = {0};
    assert_int_equal(pegr_train_run(b, &gen, &c, NULL, &a, &err), PEGR_OK);
    assert_int_equal(pegr_train_run(b, &own, &c, NULL, &o, &err), PEGR_OK);
    assert_int_equal(pegr_train_run(b, &nomu, &c, NULL, &n, &err), PEGR_OK);
    support_assert_same_records(&a, &o, 0.0);
    assert_memory_equal(a.W, o.W, 2 * c.m * c.data.d * sizeof(double));
    assert_memory_equal(a.W, n.W, 2 * c.m * c.data.d * sizeof(double));
    assert_int_equal(a.n_records, n.n_records);
    for (size_t k = 0; k < n.n_records; k++) {
        const pegr_metrics *ma = &a.records[k].metrics, *mn = &n.records[k].metrics;
        assert_true(isnan(mn->gamma_max[0]) && isnan(mn->gamma_max[1]) && isnan(mn->gamma_mean) &&
                    isnan(mn->rho_mean));
        assert_true(ma->loss == mn->loss && ma->test_error == mn->test_error &&
                    ma->norm2_mean == mn->norm2_mean);
        assert_true(isfinite(ma->gamma_mean) && isfinite(ma->rho_mean));
    }
    /* a config whose shapes are not the dataset's: refused, naming both */
    pegr_train_config wrong = c;
    wrong.data.n = c.data.n + 1;
    pegr_train_result w = {0};
    assert_int_equal(pegr_train_run(b, &own, &wrong, NULL, &w, &err), PEGR_ERR_SHAPE);
    assert_non_null(strstr(pegr_error_message(&err), "not the dataset's"));
    pegr_error_clear(&err);
    pegr_train_result_free(&w);
    pegr_train_result_free(&a);
    pegr_train_result_free(&o);
    pegr_train_result_free(&n);
    pegr_dataset_free(&gen);
    pegr_dataset_free(&own);
    pegr_dataset_free(&nomu);
    pegr_backend_close(b);
}

static void test_run_on_arrays_is_the_generated_run_host(void **state)
{
    (void)state;
    same_as_generated(NULL);
}

static void test_run_on_arrays_is_the_generated_run_device(void **state)
{
    (void)state;
    if (!suite_device) skip();
    same_as_generated(suite_device);
}

/* ---- the CLI -------------------------------------------------------------------------------- */

#define FILES "--X $T/D/X.npy --y $T/D/y.npy --X-test $T/D/X_test.npy --y-test $T/D/y_test.npy"
/* `pegr data` with the tiny preset's data options, so the generated run trains on the same */
#define TRAIN "$PEGR train --preset tiny --steps 20 --quiet"

static void run_ok(const char *line)
{
    char *out = NULL;
    int rc = cli_run(&out, "%s", line);
    if (rc != 0) fail_msg("'%s': exit %d: %s", line, rc, out);
    free(out);
}

static void make_data(void)
{
    run_ok("test -d $T/D || $PEGR data --out $T/D --n 20 --n-test 200 --d 200 >/dev/null");
}

static void cli_same_as_generated(const char *device, const char *tag)
{
    make_data();
    char line[1024];
    snprintf(line, sizeof line, TRAIN " %s --out $T/gen-%s", device, tag);
    run_ok(line);
    snprintf(line, sizeof line, TRAIN " %s --out $T/own-%s " FILES " --mu $T/D/mu.npy", device, tag);
    run_ok(line);
    snprintf(line, sizeof line, TRAIN " %s --out $T/nomu-%s " FILES, device, tag);
    run_ok(line);
    char *out = NULL;
    int rc = cli_run(&out, "cd $T && cmp gen-%s/W.npy own-%s/W.npy && cmp gen-%s/W.npy nomu-%s/W.npy && "
                           "cut -d, -f1,3- gen-%s/metrics.csv > g-%s.csv && "
                           "cut -d, -f1,3- own-%s/metrics.csv > o-%s.csv && cmp g-%s.csv o-%s.csv",
                     tag, tag, tag, tag, tag, tag, tag, tag, tag, tag);
    if (rc != 0) fail_msg("the run on the files differs from the generated run: %s", out);
    free(out);
    /* without --mu: gamma and rho empty in metrics.csv, null in summary.json; the rest the same */
    rc = cli_run(&out, "cd $T && cut -d, -f1,3-6,11- gen-%s/metrics.csv > g2-%s.csv && "
                       "cut -d, -f1,3-6,11- nomu-%s/metrics.csv > n2-%s.csv && cmp g2-%s.csv n2-%s.csv && "
                       "tail -n +2 nomu-%s/metrics.csv | cut -d, -f7-10 | grep -cvx ',,,'",
                 tag, tag, tag, tag, tag, tag, tag);
    if (rc != 1 || strncmp(out, "0", 1) != 0) fail_msg("gamma/rho not empty without --mu: %s", out);
    free(out);
    char rel[64];
    snprintf(rel, sizeof rel, "nomu-%s/summary.json", tag);
    char *summary = cli_read(rel);
    assert_non_null(strstr(summary, "\"gamma_mean\": null"));
    assert_non_null(strstr(summary, "\"rho_mean\": null"));
    free(summary);
    snprintf(rel, sizeof rel, "own-%s/config.json", tag);
    char *config = cli_read(rel);
    assert_non_null(strstr(config, "\"data_files\""));
    assert_non_null(strstr(config, "/D/mu.npy"));
    assert_non_null(strstr(config, "\"hash\""));
    free(config);
}

static void test_cli_train_on_files_host(void **state)
{
    (void)state;
    cli_same_as_generated("--device host", "host");
}

static void test_cli_train_on_files_device(void **state)
{
    (void)state;
    if (!suite_device) skip();
    cli_same_as_generated(device_option, "dev");
}

/* A .npy of `count` doubles of shape `shape` (ndim dims) under $T/name; one value may be NaN
 * (nan_at < count), written by patching the bytes pegr_npy_write wrote for a marker value. */
static void write_npy(const char *name, const double *v, int ndim, const size_t *shape, size_t count,
                      size_t nan_at)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cli_tmp(), name);
    double *copy = malloc(count * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, v, count * sizeof *copy);
    const double marker = 123456.789;
    if (nan_at < count) copy[nan_at] = marker;
    assert_int_equal(pegr_npy_write(path, copy, ndim, shape, 0, NULL), PEGR_OK);
    free(copy);
    if (nan_at >= count) return;
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long at = size - (long)((count - nan_at) * sizeof(double));
    double nan = NAN, got = 0;
    fseek(f, at, SEEK_SET);
    assert_int_equal(fread(&got, sizeof got, 1, f), 1);
    assert_true(got == marker);
    fseek(f, at, SEEK_SET);
    assert_int_equal(fwrite(&nan, sizeof nan, 1, f), 1);
    fclose(f);
}

/* The command fails with exit 2 and its message names `want`. */
static void refused(const char *want, const char *args)
{
    char *out = NULL;
    int rc = cli_run(&out, TRAIN " --device host --out $T/bad %s", args);
    if (rc != 2 || !strstr(out, want))
        fail_msg("'%s': exit %d (want 2), output without '%s': %s", args, rc, want, out);
    free(out);
}

static void test_cli_refuses_bad_files_and_data_flags(void **state)
{
    (void)state;
    make_data();
    double X[3 * 2 * 4], y[3] = {1, -1, 1}, bad_y[3] = {1, 0, 1};
    for (size_t k = 0; k < sizeof X / sizeof X[0]; k++) X[k] = (double)k / 7.0;
    size_t xs[3] = {3, 2, 4}, flat[2] = {3, 8}, ys[1] = {3}, ys2[1] = {2};
    write_npy("X.npy", X, 3, xs, 24, 24);
    write_npy("X2d.npy", X, 2, flat, 24, 24);
    write_npy("Xnan.npy", X, 3, xs, 24, 5);
    write_npy("y.npy", y, 1, ys, 3, 3);
    write_npy("ybad.npy", bad_y, 1, ys, 3, 3);
    write_npy("y2.npy", y, 1, ys2, 2, 2);
    write_npy("mu.npy", y, 1, ys, 3, 3);
    run_ok(TRAIN " --device host --out $T/small --X $T/X.npy --y $T/y.npy"); /* the good ones */
    refused("X2d.npy", "--X $T/X2d.npy --y $T/y.npy");                 /* wrong shape */
    refused("ybad.npy", "--X $T/X.npy --y $T/ybad.npy");               /* labels not +-1 */
    refused("Xnan.npy", "--X $T/Xnan.npy --y $T/y.npy");               /* NaN */
    refused("y2.npy", "--X $T/X.npy --y $T/y2.npy");                   /* n does not match */
    refused("mu.npy", "--X $T/X.npy --y $T/y.npy --mu $T/mu.npy");     /* mu of the wrong d */
    refused("X_test.npy", "--X $T/X.npy --y $T/y.npy --X-test $T/D/X_test.npy --y-test "
                          "$T/D/y_test.npy"); /* test patches of another d */
    refused("nothere.npy", "--X $T/nothere.npy --y $T/y.npy");
    refused("--y-test", "--X $T/X.npy --y $T/y.npy --X-test $T/X.npy");
    refused("--y", "--X $T/X.npy");
    refused("--n sets the generated data", "--X $T/X.npy --y $T/y.npy --n 3");
    refused("--label-noise", "--X $T/X.npy --y $T/y.npy --label-noise 0.1");
    refused("--snr", "--X $T/X.npy --y $T/y.npy --snr 1");
    /* --seed still draws the initial weights */
    run_ok(TRAIN " --device host --out $T/seeded --X $T/X.npy --y $T/y.npy --seed 3");
}

/* `pegr train --config` of a run on your own data, no --X given: re-run on the files it recorded
 * (the same W, bit for bit); refused, naming the file, once a file has changed or is gone --
 * before this, the re-run silently trained on generated data of the recorded shapes. */
static void test_cli_config_rerun_reads_the_recorded_files(void **state)
{
    (void)state;
    make_data();
    /* data of another seed than the run's (--seed 0 draws the weights): the data a re-run would
     * generate from the recorded options are not these */
    run_ok("rm -rf $T/R && $PEGR data --out $T/R --n 20 --n-test 10 --d 200 --seed 5 >/dev/null");
    run_ok(TRAIN " --device host --out $T/rec --X $T/R/X.npy --y $T/R/y.npy --mu $T/R/mu.npy");
    run_ok("$PEGR train --config $T/rec/config.json --device host --quiet --out $T/rec2");
    char *out = NULL;
    int rc = cli_run(&out, "cmp $T/rec/W.npy $T/rec2/W.npy");
    if (rc != 0) fail_msg("the re-run differs from the run: %s", out);
    free(out);
    /* a changed file: refused with exit 2, naming it and saying it changed */
    run_ok("cp $T/R/y.npy $T/R/y.orig && printf x >> $T/R/y.npy");
    rc = cli_run(&out, "$PEGR train --config $T/rec/config.json --device host --quiet --out $T/rec3");
    if (rc != 2 || !strstr(out, "R/y.npy") || !strstr(out, "changed"))
        fail_msg("a changed data file: exit %d (want 2), output: %s", rc, out);
    free(out);
    /* a file that is gone: refused with exit 2, naming it */
    run_ok("mv $T/R/y.orig $T/R/y.npy && rm $T/R/mu.npy");
    rc = cli_run(&out, "$PEGR train --config $T/rec/config.json --device host --quiet --out $T/rec3");
    if (rc != 2 || !strstr(out, "R/mu.npy") || !strstr(out, "cannot be read"))
        fail_msg("a missing data file: exit %d (want 2), output: %s", rc, out);
    free(out);
    /* --X given with --config overrides the recorded files, as any flag does */
    run_ok("$PEGR train --config $T/rec/config.json --device host --quiet --out $T/rec4 --X $T/D/X.npy"
           " --y $T/D/y.npy --mu $T/D/mu.npy");
    run_ok(TRAIN " --device host --out $T/recD --X $T/D/X.npy --y $T/D/y.npy --mu $T/D/mu.npy");
    rc = cli_run(&out, "cmp $T/recD/W.npy $T/rec4/W.npy");
    if (rc != 0) fail_msg("--X with --config did not train on the files given: %s", out);
    free(out);
}

static void test_cli_sweep_on_files(void **state)
{
    (void)state;
    make_data();
    char line[1024];
    snprintf(line, sizeof line, "$PEGR sweep --preset tiny --steps 20 --quiet %s --out $T/S " FILES
             " --mu $T/D/mu.npy --grid lam=0,0.1 --methods gd,pegr",
             suite_device ? device_option : "--device host");
    run_ok(line);
    char *results = cli_read("S/results.csv"), *canonical = cli_read("S/sweep.canonical");
    size_t rows = 0;
    for (const char *p = results; *p; p++) rows += *p == '\n';
    assert_int_equal(rows, 5); /* the header and 4 runs */
    /* the data-model columns the files do not say are empty: no generated-data values */
    assert_null(strstr(results, "orthogonal"));
    assert_non_null(strstr(results, ",3,,,,,"));
    assert_non_null(strstr(canonical, "own_data "));
    free(results);
    free(canonical);
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR sweep --preset tiny --quiet --device host --out $T/S2 " FILES
                           " --grid label-noise=0,0.1");
    if (rc != 2 || !strstr(out, "label-noise")) fail_msg("a data axis was not refused: %d %s", rc, out);
    free(out);
}

int main(void)
{
    if (cli_setup("pegr-own-data-test") != 0) return 1;
    pegr_device_info *list = NULL;
    size_t count = 0;
    suite_device = test_device_pick_or_host_only("test_own_data", &list, &count);
    if (suite_device)
        snprintf(device_option, sizeof device_option, "--device %zu", suite_device->index);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_arrays_copies_and_finds_the_signal_patch),
        cmocka_unit_test(test_from_arrays_refuses_bad_input),
        cmocka_unit_test(test_run_on_arrays_is_the_generated_run_host),
        cmocka_unit_test(test_run_on_arrays_is_the_generated_run_device),
        cmocka_unit_test(test_cli_train_on_files_host),
        cmocka_unit_test(test_cli_train_on_files_device),
        cmocka_unit_test(test_cli_refuses_bad_files_and_data_flags),
        cmocka_unit_test(test_cli_config_rerun_reads_the_recorded_files),
        cmocka_unit_test(test_cli_sweep_on_files),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(list);
    cli_teardown();
    return failed;
}

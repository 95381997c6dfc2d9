/* test_rerun.c: `pegr train --config DIR/config.json` repeats a run bit for bit (W.npy, W0.npy,
 * config.json, metrics.csv but its clock column), on the host and on the suite's device; flags
 * given with it override it; and an --out that holds another run -- or anything that is not a
 * pegr run -- is refused (exit 2, naming the directory and --force) unless --force, while a
 * re-run of the same config into its own directory goes ahead. On the main before this item
 * --config was an unknown option (exit 2) and a second run overwrote the first (exit 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"
#include "test_device_pick.h"

static pegr_device_info *suite_device;
static char device_option[32];

/* A short host run with options away from the preset's, label noise and its own robust sigmas. */
#define RUN "$PEGR train --preset tiny --steps 30 --log-every 10 --lr 0.05 --label-noise 0.1 " \
            "--robust-sigmas 0.3,0.7 --seed 7 --quiet"

/* Run a printf-formatted shell line that must succeed. */
static void run_ok(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void run_ok(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char *out = NULL;
    int rc = cli_run(&out, "%s", line);
    if (rc != 0) fail_msg("'%s': exit %d: %s", line, rc, out);
    free(out);
}

/* s with each "$T" replaced by the temporary directory (malloc'ed): the paths messages show. */
static char *expand(const char *s)
{
    const char *t = cli_tmp();
    size_t n = 1;
    for (const char *p = s; *p; p++) n += strncmp(p, "$T", 2) == 0 ? strlen(t) : 1;
    char *out = malloc(n), *q = out;
    assert_non_null(out);
    for (const char *p = s; *p;) {
        if (strncmp(p, "$T", 2) == 0) {
            q += sprintf(q, "%s", t);
            p += 2;
        } else {
            *q++ = *p++;
        }
    }
    *q = '\0';
    return out;
}

/* Two run directories hold the same run: the weights, the config and every metric but the
 * clock's, byte for byte. */
static void assert_same_run(const char *a, const char *b)
{
    char *out = NULL;
    int rc = cli_run(&out, "cd $T && cmp %s/W.npy %s/W.npy && cmp %s/W0.npy %s/W0.npy && "
                           "cmp %s/config.json %s/config.json && "
                           "cut -d, -f1,3- %s/metrics.csv > %s.csv && "
                           "cut -d, -f1,3- %s/metrics.csv > %s.csv && cmp %s.csv %s.csv",
                     a, b, a, b, a, b, a, a, b, b, a, b);
    if (rc != 0) fail_msg("%s and %s differ: %s", a, b, out);
    free(out);
}

static void test_config_repeats_a_run_bit_for_bit(void **state)
{
    (void)state;
    run_ok(RUN " --device host --out $T/a");
    run_ok("$PEGR train --config $T/a/config.json --device host --quiet --out $T/a2");
    assert_same_run("a", "a2");
    if (!suite_device) return;
    /* the device's run repeats too (fp32 there: the config holds no device) */
    run_ok(RUN " --out $T/dev %s", device_option);
    run_ok("$PEGR train --config $T/dev/config.json --quiet --out $T/dev2 %s", device_option);
    assert_same_run("dev", "dev2");
}

/* A flag given with --config wins over the file; the rest is the file's. */
static void test_a_flag_overrides_the_config(void **state)
{
    (void)state;
    run_ok(RUN " --device host --out $T/o");
    run_ok("$PEGR train --config $T/o/config.json --steps 12 --method gd --device host --quiet "
           "--out $T/o2");
    char *config = cli_read("o2/config.json");
    const char *want[] = {"\"steps\": 12", "\"method\": \"gd\"", "\"lr\": 0.05",
                          "\"label-noise\": 0.1", "\"robust-sigmas\": [\n      0.3,\n      0.7\n"};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (!strstr(config, want[k])) fail_msg("no %s in %s", want[k], config);
    free(config);
    char *summary = cli_read("o2/summary.json");
    assert_non_null(strstr(summary, "\"steps_run\": 12"));
    free(summary);
    /* --mu-norm over a config that holds an SNR: the given ||mu|| is used, not the file's SNR */
    run_ok("$PEGR train --preset tiny --steps 2 --snr 0.5 --device host --quiet --out $T/s");
    run_ok("$PEGR train --config $T/s/config.json --mu-norm 2 --device host --quiet "
           "--out $T/s2");
    config = cli_read("s2/config.json");
    if (!strstr(config, "\"mu-norm\": 2,") || !strstr(config, "\"snr\": null") ||
        !strstr(config, "\"mu_norm\": 2,"))
        fail_msg("--mu-norm 2 did not replace the config's SNR: %s", config);
    free(config);
}

/* One refusal: exit 2, the message, and the directory's files untouched. */
static void expect_refused(const char *line, const char *what, const char *dir)
{
    char *out = NULL;
    assert_int_equal(cli_run(NULL, "cd $T && rm -rf keep && cp -R %s keep", dir), 0);
    char *want = expand(what);
    int rc = cli_run(&out, "%s", line);
    if (rc != 2 || !strstr(out, want) ||
        !strstr(out, "use --force to write into it anyway, or another --out"))
        fail_msg("'%s': exit %d, not 2 with '%s': %s", line, rc, want, out);
    free(want);
    free(out);
    rc = cli_run(&out, "cd $T && diff -r keep %s", dir);
    if (rc != 0) fail_msg("'%s' changed %s: %s", line, dir, out);
    free(out);
}

static void test_another_run_into_a_used_out_is_refused(void **state)
{
    (void)state;
    run_ok(RUN " --device host --out $T/r");
    expect_refused(RUN " --lr 0.2 --device host --out $T/r",
                   "--out '$T/r' holds another run: $T/r/config.json has --lr 0.05 where this run "
                   "has --lr 0.2", "r");
    expect_refused(RUN " --lr 0.2 --steps 3 --device host --out $T/r",
                   "(and other options differ)", "r");
    /* the layout of --compare (per-method directories) over a plain run removes it: refused */
    expect_refused(RUN " --compare gd,pegr --device host --out $T/r", "which this run would remove",
                   "r");
    /* a directory that holds no pegr run at all */
    assert_int_equal(cli_run(NULL, "mkdir $T/mine && echo x > $T/mine/notes.txt"), 0);
    expect_refused(RUN " --device host --out $T/mine",
                   "'$T/mine' is not empty and holds no pegr run", "mine");
    /* a config.json that is not a run's */
    assert_int_equal(cli_run(NULL, "mkdir $T/cfg && echo '{\"a\": 1}' > $T/cfg/config.json"), 0);
    expect_refused(RUN " --device host --out $T/cfg", "holds a run whose config cannot be read",
                   "cfg");
    /* the case: two runs into the default --out, pegr-run */
    assert_int_equal(cli_run(NULL, "mkdir $T/cwd"), 0);
    run_ok("cd $T/cwd && " RUN " --device host");
    char *out = NULL;
    int rc = cli_run(&out, "cd $T/cwd && " RUN " --steps 20 --device host");
    if (rc != 2 || !strstr(out, "--out 'pegr-run' holds another run") || !strstr(out, "--force"))
        fail_msg("a second run into pegr-run: exit %d: %s", rc, out);
    free(out);
}

static void test_force_replaces_the_run(void **state)
{
    (void)state;
    run_ok(RUN " --device host --out $T/f");
    run_ok(RUN " --lr 0.2 --force --device host --out $T/f");
    char *config = cli_read("f/config.json");
    assert_non_null(strstr(config, "\"lr\": 0.2"));
    free(config);
    assert_int_equal(cli_run(NULL, "mkdir $T/fm && echo x > $T/fm/notes.txt"), 0);
    run_ok(RUN " --force --device host --out $T/fm");
    free(cli_read("fm/summary.json"));
    free(cli_read("fm/notes.txt")); /* --force replaces run files, never the user's */
}

/* The same config again into its own directory -- --config, the same flags, a --compare -- is a
 * re-run, not another run; a plot beside the run is no reason to refuse. */
static void test_the_same_run_again_is_allowed(void **state)
{
    (void)state;
    run_ok(RUN " --device host --out $T/same");
    assert_int_equal(cli_run(NULL, "cd $T && cp -R same before && echo p > same/plot.png"), 0);
    run_ok("$PEGR train --config $T/same/config.json --device host --quiet --out $T/same");
    assert_same_run("before", "same");
    run_ok(RUN " --device host --out $T/same");
    free(cli_read("same/plot.png"));
    run_ok(RUN " --compare gd,pegr --device host --out $T/cmp");
    run_ok(RUN " --compare gd,pegr --device host --out $T/cmp");
    /* a run of gd's config.json with the same --compare repeats the comparison */
    run_ok("$PEGR train --config $T/cmp/gd/config.json --compare gd,pegr --device host --quiet "
           "--out $T/cmp");
    free(cli_read("cmp/pegr/summary.json"));
}

/* --config's mistakes are usage errors naming the file and what is wrong. */
static void test_config_errors_exit_2(void **state)
{
    (void)state;
    run_ok(RUN " --device host --out $T/e");
    assert_int_equal(cli_run(NULL, "cd $T && head -c 200 e/config.json > cut.json && sed "
                                   "'s/\"lr\": 0.05/\"lr\": \"fast\"/' e/config.json > typed.json"),
                     0);
    static const struct { const char *args, *what; } cases[] = {
        {"--config $T/none.json", "$T/none.json"},
        {"--config $T/cut.json", "$T/cut.json: line"},
        {"--config $T/typed.json", "option \"lr\" must be a number, not a string"},
        {"--config $T/e/config.json --preset tiny", "give --preset or --config, not both"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *out = NULL;
        char *want = expand(cases[k].what);
        int rc = cli_run(&out, "$PEGR train %s --device host --quiet --out $T/e-%zu", cases[k].args,
                         k);
        if (rc != 2 || !strstr(out, want) || !strstr(out, "usage:"))
            fail_msg("'%s': exit %d, not 2 with '%s': %s", cases[k].args, rc, want, out);
        free(want);
        free(out);
    }
}

int main(void)
{
    if (cli_setup("pegr-rerun-test") != 0) return 1;
    pegr_device_info *list = NULL;
    size_t count = 0;
    suite_device = test_device_pick_or_host_only("test_rerun", &list, &count);
    if (suite_device)
        snprintf(device_option, sizeof device_option, "--device %zu", suite_device->index);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_repeats_a_run_bit_for_bit),
        cmocka_unit_test(test_a_flag_overrides_the_config),
        cmocka_unit_test(test_another_run_into_a_used_out_is_refused),
        cmocka_unit_test(test_force_replaces_the_run),
        cmocka_unit_test(test_the_same_run_again_is_allowed),
        cmocka_unit_test(test_config_errors_exit_2),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (cli_teardown() != 0 && rc == 0) rc = 1;
    pegr_device_list_free(list);
    return rc;
}

/* test_cli.c: the pegr command end to end: `pegr data` and `pegr grad` write what they promise and
 * read back right (grad against the golden values), usage errors exit 2 with the usage line,
 * run-time errors exit 1 with a message, and `pegr devices` handles specs. PEGR_EXE names the
 * binary; outputs go to a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cli_support.h"
#include "pegr/io.h"
#include "test_device_pick.h"

/* The device the device cases run on (PEGR_TEST_DEVICE, else the first; NULL: none), picked once in
 * main by the library's own --device rules, and its --device option: its list index, which the
 * pegr process run by the case resolves to the same device (same list, same order). */
static pegr_device_info *suite_device;
static char device_option[32];

static void read_npy(const char *dir, const char *name, pegr_array *a)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    pegr_error err = {0};
    if (pegr_npy_read(path, a, &err) != PEGR_OK) fail_msg("%s", pegr_error_message(&err));
}

static double max_rel_diff(const pegr_array *a, const pegr_array *b)
{
    assert_int_equal(a->size, b->size);
    double scale = 1e-300, worst = 0;
    for (size_t i = 0; i < b->size; i++) scale = fmax(scale, fabs(b->data[i]));
    for (size_t i = 0; i < a->size; i++) worst = fmax(worst, fabs(a->data[i] - b->data[i]) / scale);
    return worst;
}

static void test_data_writes_every_file_with_the_right_shapes(void **state)
{
    (void)state;
    assert_int_equal(cli_run(NULL, "$PEGR data --out $T/d --n 6 --n-test 3 --d 11 --patches 3 --seed 5"), 0);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/d", cli_tmp());
    pegr_array X = {0}, y = {0}, mu = {0}, Xt = {0}, yt = {0};
    read_npy(dir, "X.npy", &X);
    read_npy(dir, "y.npy", &y);
    read_npy(dir, "mu.npy", &mu);
    read_npy(dir, "X_test.npy", &Xt);
    read_npy(dir, "y_test.npy", &yt);
    assert_int_equal(X.ndim, 3);
    assert_int_equal(X.shape[0], 6);
    assert_int_equal(X.shape[1], 3);
    assert_int_equal(X.shape[2], 11);
    assert_int_equal(y.size, 6);
    assert_int_equal(mu.size, 11);
    assert_int_equal(Xt.shape[0], 3);
    assert_int_equal(yt.size, 3);
    assert_int_equal(pegr_array_check_labels(&y, "y", NULL), PEGR_OK);
    assert_true(mu.data[0] == 3.0); /* ||mu|| e_1, the default ||mu|| = 3 */
    char *meta = NULL;
    size_t len = 0;
    char path[160];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    assert_int_equal(pegr_file_read_all(path, &meta, &len, NULL), PEGR_OK);
    assert_non_null(strstr(meta, "\"seed\": 5"));
    assert_non_null(strstr(meta, "\"pegr_version\""));
    assert_non_null(strstr(meta, "\"patches\": 3"));
    free(meta);
    pegr_array_free(&X);
    pegr_array_free(&y);
    pegr_array_free(&mu);
    pegr_array_free(&Xt);
    pegr_array_free(&yt);
}

static void test_same_seed_same_bytes_other_seed_differs(void **state)
{
    (void)state;
    assert_int_equal(cli_run(NULL, "$PEGR data --out $T/a --n 5 --d 9 --n-test 2 --seed 1 && "
                               "$PEGR data --out $T/b --n 5 --d 9 --n-test 2 --seed 1 && "
                               "$PEGR data --out $T/c --n 5 --d 9 --n-test 2 --seed 2"), 0);
    assert_int_equal(cli_run(NULL, "cmp $T/a/X.npy $T/b/X.npy && cmp $T/a/y_test.npy $T/b/y_test.npy"), 0);
    assert_int_not_equal(cli_run(NULL, "cmp -s $T/a/X.npy $T/c/X.npy"), 0);
}

static void check_case_against_golden(const char *name, double q, double lam)
{
    char *out = NULL;
    for (int k = 0; k < 3; k++) {
        const char *method = k == 0 ? "gd" : k == 1 ? "pegr" : "gr";
        int rc = cli_run(&out, "$PEGR grad --X $G/%s/X.npy --y $G/%s/y.npy --W $G/%s/W.npy --q %.17g "
                           "--lam %.17g --method %s --per-example --device host --precision fp64 "
                           "--out $T/g-%s-%s", name, name, name, q, lam, method, name, method);
        if (rc != 0) fail_msg("pegr grad failed: %s", out ? out : "");
        free(out);
        char dir[256], gold[256], gname[32];
        snprintf(dir, sizeof dir, "%s/g-%s-%s", cli_tmp(), name, method);
        snprintf(gold, sizeof gold, "%s/golden/%s", cli_data_dir(), name);
        snprintf(gname, sizeof gname, "grad_%s.npy", method);
        const char *pairs[][2] = {{"grad.npy", gname},
                                  {"margin.npy", "margin.npy"},
                                  {"per_example_loss.npy", "per_example_loss.npy"},
                                  {"per_example_norm2.npy", "per_example_norm2.npy"},
                                  {"per_example_grad.npy", "per_example_grad.npy"}};
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
            pegr_array a = {0}, b = {0};
            read_npy(dir, pairs[p][0], &a);
            read_npy(gold, pairs[p][1], &b);
            double e = max_rel_diff(&a, &b);
            if (!(e <= 1e-10)) fail_msg("%s %s %s: relative error %g", name, method, pairs[p][0], e);
            pegr_array_free(&a);
            pegr_array_free(&b);
        }
    }
}

static void test_grad_on_host_matches_the_golden_values(void **state)
{
    (void)state;
    check_case_against_golden("cao2patch_q3", 3.0, 0.05);
    check_case_against_golden("generic3patch_q2.5", 2.5, 0.1);
    check_case_against_golden("relu_q1", 1.0, 0.2);
}

static void test_usage_errors_exit_2_with_the_usage_line(void **state)
{
    (void)state;
    char *out = NULL;
    const char *bad[] = {
        "$PEGR devices --bogus",
        "$PEGR data --n",
        "$PEGR data --out $T/x --n -3",
        "$PEGR data --out $T/x --n abc",
        "$PEGR data --out $T/x --mu-norm 2 --snr 0.1",
        "$PEGR data --out $T/x --label-noise 0.7",
        "$PEGR grad --X a --y b --W c --out d --method sgdx",
        "$PEGR grad --X a --y b",
        "$PEGR nosuchcommand",
        "$PEGR data --out $T/x stray",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = cli_run(&out, "%s", bad[k]);
        if (rc != 2) fail_msg("'%s' exited %d, not 2: %s", bad[k], rc, out ? out : "");
        assert_non_null(strstr(out, "usage:"));
        free(out);
    }
}

static void test_runtime_errors_exit_1_naming_the_problem(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, "$PEGR grad --X $T/none.npy --y $G/relu_q1/y.npy --W $G/relu_q1/W.npy "
                               "--device host --out $T/e"), 1);
    assert_non_null(strstr(out, "none.npy"));
    free(out);
    /* q in (1, 2) for pegr */
    assert_int_equal(cli_run(&out, "$PEGR grad --X $G/relu_q1/X.npy --y $G/relu_q1/y.npy "
                               "--W $G/relu_q1/W.npy --q 1.5 --method pegr --device host --out $T/e"), 1);
    assert_non_null(strstr(out, "q = 1.5"));
    free(out);
    /* W whose d does not fit X */
    assert_int_equal(cli_run(&out, "$PEGR grad --X $G/relu_q1/X.npy --y $G/relu_q1/y.npy "
                               "--W $G/cao2patch_q3/W.npy --device host --out $T/e"), 1);
    assert_non_null(strstr(out, "(2, m, 7)"));
    free(out);
    /* labels that are not +1/-1: X passed as y */
    assert_int_equal(cli_run(&out, "$PEGR grad --X $G/relu_q1/X.npy --y $G/relu_q1/margin.npy "
                               "--W $G/relu_q1/W.npy --device host --out $T/e"), 1);
    free(out);
    /* nothing was left half-written */
    assert_int_not_equal(cli_run(NULL, "test -e $T/e/grad.npy"), 0);
    /* an output directory that cannot be created */
    assert_int_equal(cli_run(&out, "$PEGR data --out /proc/pegr-cannot --n 2 --d 3"), 1);
    assert_non_null(strstr(out, "/proc/pegr-cannot"));
    free(out);
}

static void test_version_and_help(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, "$PEGR --version"), 0);
    assert_non_null(strstr(out, "pegr "));
    free(out);
    const char *cmds[] = {"data", "grad", "devices", "selftest", "train"};
    for (size_t k = 0; k < 5; k++) {
        assert_int_equal(cli_run(&out, "$PEGR %s --help", cmds[k]), 0);
        assert_non_null(strstr(out, "--device"));
        free(out);
    }
    assert_int_equal(cli_run(&out, "$PEGR data --help"), 0);
    assert_non_null(strstr(out, "[default: 50]")); /* every default shown */
    free(out);
}

static void test_devices_lists_and_rejects_unknown_specs(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR devices");
    if (rc != 0) {
        /* No OpenCL platform here: the message must say how to get one. */
        assert_non_null(strstr(out, "pocl-opencl-icd"));
        assert_non_null(strstr(out, "OCL_ICD_VENDORS"));
        free(out);
        skip();
    }
    assert_non_null(strstr(out, "* 0"));
    free(out);
    assert_int_equal(cli_run(&out, "$PEGR devices --device no-such-device"), 1);
    assert_non_null(strstr(out, "'no-such-device'"));
    free(out);
    assert_int_equal(cli_run(&out, "PEGR_DEVICE=no-such-env $PEGR devices"), 1);
    assert_non_null(strstr(out, "'no-such-env'"));
    free(out);
    assert_int_equal(cli_run(&out, "$PEGR --device 0 devices --json"), 0);
    assert_non_null(strstr(out, "\"selected\": true"));
    free(out);
}

/* pegr bench opens its device through pegr_backend_open, which opens the host reference for
 * "host": bench must refuse it (it has no kernels to time) rather than time nothing or crash on
 * a backend without a device; and on a device it times every method and writes its JSON. */
static void test_bench_refuses_host_and_times_a_device(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, "timeout 30 $PEGR bench --device host --grid 20:100:4"), 1);
    if (!strstr(out, "'host' is the host reference")) fail_msg("no reason given: %s", out);
    free(out);
    assert_int_equal(cli_run(&out, "PEGR_DEVICE=host timeout 30 $PEGR bench --grid 20:100:4"), 1);
    if (!strstr(out, "'host' is the host reference")) fail_msg("no reason given: %s", out);
    free(out);
    if (!suite_device) skip(); /* no OpenCL device */
    int rc = cli_run(&out, "timeout 120 $PEGR bench %s --grid 20:100:4 --repeats 1 --steps 1 "
                     "--warmup 0 --no-first-step --methods gd,pegr,sgd,per_example "
                     "--representation primal --json $T/bench.json", device_option);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    if (!strstr(out, "pegr bench on ") || !strstr(out, "per_example primal")) fail_msg("%s", out);
    free(out);
    char path[512], *json = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/bench.json", cli_tmp());
    assert_int_equal(pegr_file_read_all(path, &json, &len, NULL), PEGR_OK);
    static const char *const keys[] = {"\"gemm\": \"", "\"method\": \"sgd\"",
                                       "\"peak_device_mib\": ", "\"launches_per_step\": "};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (!strstr(json, keys[k])) fail_msg("no %s in %s", keys[k], json);
    free(json);
}

static void test_train_compare_writes_every_file(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR train --preset tiny --steps 40 --compare gd,pegr --device host "
                       "--out $T/cmp --quiet");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    assert_non_null(strstr(out, "gamma(+)")); /* the side-by-side table */
    free(out);
    const char *files[] = {"config.json", "metrics.jsonl", "metrics.csv", "summary.json", "W.npy",
                           "W0.npy"};
    for (size_t m = 0; m < 2; m++)
        for (size_t k = 0; k < 6; k++) {
            char rel[64];
            snprintf(rel, sizeof rel, "cmp/%s/%s", m ? "pegr" : "gd", files[k]);
            free(cli_read(rel));
        }
    char *summary = cli_read("cmp/pegr/summary.json");
    assert_non_null(strstr(summary, "\"method\": \"pegr\""));
    assert_non_null(strstr(summary, "\"steps_run\": 40"));
    assert_non_null(strstr(summary, "\"diverged\": false"));
    assert_non_null(strstr(summary, "\"gamma_max\": ["));
    assert_non_null(strstr(summary, "\"robust_test_error\""));
    free(summary);
    char *config = cli_read("cmp/gd/config.json");
    assert_non_null(strstr(config, "\"git_revision\""));
    assert_non_null(strstr(config, "\"precision\": \"fp64\""));
    free(config);
    /* one JSON object a line: the records of steps 0, 10, 20, 30 and the final 40 */
    char *jsonl = cli_read("cmp/gd/metrics.jsonl");
    size_t lines = 0;
    for (char *p = jsonl; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 5);
    assert_true(jsonl[0] == '{');
    free(jsonl);
}

static void test_train_divergence_exits_3_with_advice(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR train --preset tiny --lr 50 --device host --out $T/div --quiet");
    assert_int_equal(rc, 3);
    assert_non_null(strstr(out, "smaller --lr"));
    free(out);
    char *summary = cli_read("div/summary.json");
    assert_non_null(strstr(summary, "\"diverged\": true"));
    assert_non_null(strstr(summary, "\"diverged_step\""));
    free(summary);
}

static void test_train_interrupted_leaves_valid_files(void **state)
{
    (void)state;
    char *out = NULL;
    /* a long run, interrupted by SIGINT after a second */
    int rc = cli_run(&out, "$PEGR train --preset tiny --steps 100000000 --log-every 50 --device host "
                       "--out $T/int --quiet & pid=$!; sleep 1.5; kill -INT $pid; wait $pid");
    assert_int_equal(rc, 130);
    assert_non_null(strstr(out, "interrupted"));
    free(out);
    char *summary = cli_read("int/summary.json");
    assert_non_null(strstr(summary, "\"interrupted\": true"));
    free(summary);
    pegr_array W = {0};
    char dir[128];
    snprintf(dir, sizeof dir, "%s/int", cli_tmp());
    read_npy(dir, "W.npy", &W);
    assert_int_equal(W.ndim, 3);
    pegr_array_free(&W);
    char *csv = cli_read("int/metrics.csv");
    assert_non_null(strstr(csv, "step,wall_seconds,train_loss"));
    free(csv);
}

static void test_train_help_shows_every_default(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, "$PEGR train --help"), 0);
    const char *expect[] = {"--lr LR", "[default: 0.1]", "--steps N", "[default: 1000]",
                            "--compare LIST", "--robust-sigmas LIST", "--method gd|sgd|gr|pegr",
                            "[default: pegr]", "--preset demo|large|tiny"};
    for (size_t k = 0; k < sizeof expect / sizeof expect[0]; k++)
        if (!strstr(out, expect[k])) fail_msg("'%s' missing from pegr train --help", expect[k]);
    free(out);
    assert_int_equal(cli_run(&out, "$PEGR train --compare gd,adam"), 2);
    free(out);
    assert_int_equal(cli_run(&out, "$PEGR train --method pegr --q 1.5"), 2);
    free(out);
}

/* pegr tune stores its parameters; an engine that picks them up still computes exactly. */
static void test_tune_stores_parameters_and_grad_stays_exact(void **state)
{
    (void)state;
    char *out = NULL;
    if (!suite_device) skip(); /* no OpenCL device */
    /* fp64 where the device has it (exact to 1e-10); else fp32, to the 2e-4 the engine suite's
     * fp32-vs-host check of one evaluation allows (a few float roundings per short sum: observed
     * 3.9e-7 relative on PoCL in fp32, so 2e-4 leaves a factor 500 for other drivers' orders). */
    int fp64 = suite_device->fp64;
    int rc = cli_run(&out, "PEGR_CACHE_DIR=$T/tunecache $PEGR tune %s --precision %s --n 20 --d 100 "
                           "--m 2 --candidates 2", device_option, fp64 ? "fp64" : "fp32");
    if (rc != 0) fail_msg("%s", out);
    assert_non_null(strstr(out, "fastest:"));
    free(out);
    rc = cli_run(&out, "PEGR_CACHE_DIR=$T/tunecache $PEGR --verbose grad --X $G/cao2patch_q3/X.npy "
                       "--y $G/cao2patch_q3/y.npy --W $G/cao2patch_q3/W.npy --q 3 --lam 0.05 "
                       "--method pegr %s --precision %s --out $T/tuned", device_option,
                       fp64 ? "fp64" : "fp32");
    if (rc != 0) fail_msg("%s", out);
    free(out);
    pegr_array a = {0}, b = {0};
    char dir[256], gold[256];
    snprintf(dir, sizeof dir, "%s/tuned", cli_tmp());
    snprintf(gold, sizeof gold, "%s/golden/cao2patch_q3", cli_data_dir());
    read_npy(dir, "grad.npy", &a);
    read_npy(gold, "grad_pegr.npy", &b);
    double e = max_rel_diff(&a, &b);
    if (!(e <= (fp64 ? 1e-10 : 2e-4))) fail_msg("grad differs from the golden one by %.3g", e);
    pegr_array_free(&a);
    pegr_array_free(&b);
}

/* ---- pegr train reports nothing silently wrong (issue 11, items 5, 6, 9) --------------------- */

/* $T/rel exists (a symbolic link counts as itself, not followed). */
static int exists(const char *rel)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", cli_tmp(), rel);
    return lstat(path, &st) == 0;
}

/* The integer after "key": in a JSON text; -1 when missing or not a number. */
static long json_long(const char *json, const char *key)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\": ", key);
    const char *at = strstr(json, quoted);
    if (!at) return -1;
    char *end = NULL;
    long v = strtol(at + strlen(quoted), &end, 10);
    return end == at + strlen(quoted) ? -1 : v;
}

/* Issue 11's command: its weights are NaN within 8 steps, before the loop's periodic check, and
 * the metrics at NaN weights look plausible (loss ln 2, grad_norm 0, test error 1). On the host
 * and on the default device (the exact command) when there is one. */
static void test_train_divergence_in_a_few_steps_exits_3(void **state)
{
    (void)state;
    /* The default device is the exact command; PEGR_TEST_DEVICE names another one. */
    const char *test_device = getenv("PEGR_TEST_DEVICE");
    const char *devices[] = {"--device host", test_device && *test_device ? device_option : ""};
    for (size_t k = 0; k < 2; k++) {
        if (k == 1 && !suite_device) continue;
        char *out = NULL;
        int rc = cli_run(&out, "$PEGR train --method pegr --lr 10 --lam 1 --steps 8 %s --out $T/div8 "
                               "--quiet", devices[k]);
        if (rc != 3) fail_msg("'%s': exit %d, not 3: %s", devices[k], rc, out);
        assert_non_null(strstr(out, "smaller --lr"));
        if (strstr(out, "nan")) fail_msg("'%s': the table shows nan: %s", devices[k], out);
        free(out);
        char *summary = cli_read("div8/summary.json");
        assert_non_null(strstr(summary, "\"diverged\": true"));
        long steps = json_long(summary, "steps_run"), at = json_long(summary, "diverged_step");
        if (at < 0 || steps != at + 1 || steps > 8)
            fail_msg("'%s': steps_run %ld with diverged_step %ld", devices[k], steps, at);
        const char *nulls[] = {"\"train_loss\": null", "\"objective\": null", "\"train_error\": null",
                               "\"test_error\": null", "\"grad_norm\": null", "\"norm2_mean\": null"};
        for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
            if (!strstr(summary, nulls[i])) fail_msg("'%s': no %s in %s", devices[k], nulls[i], summary);
        assert_null(strstr(summary, "0.6931"));
        free(summary);
        assert_false(exists("div8/W.npy"));
    }
}

/* A rerun into a directory leaves nothing of the older run: a diverged run (no W.npy of its own)
 * does not keep the old W.npy, --compare after a plain run and a plain run after --compare leave
 * nothing of the other layout, stale temporaries go; a user's own files and what a symbolic link
 * points to stay. Each rerun is another run (other options), which --force lets into the
 * directory (without it that is refused: test_rerun). */
static void test_train_rerun_leaves_nothing_stale(void **state)
{
    (void)state;
    char *out = NULL;
    const char *tiny = "$PEGR train --preset tiny --device host --quiet --out $T/re";
    int rc = cli_run(&out, "%s --steps 20", tiny);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    assert_true(exists("re/W.npy"));
    assert_int_equal(cli_run(NULL, "mkdir $T/keep && echo k > $T/keep/W.npy && ln -s $T/keep $T/re/gd "
                                   "&& echo n > $T/re/notes.txt && echo t > $T/re/summary.json.tmp.999"),
                     0);
    rc = cli_run(&out, "%s --lr 50 --force", tiny);
    if (rc != 3) fail_msg("exit %d, not 3: %s", rc, out);
    free(out);
    assert_false(exists("re/W.npy"));
    assert_false(exists("re/summary.json.tmp.999"));
    assert_true(exists("re/W0.npy"));
    assert_true(exists("re/notes.txt"));
    assert_true(exists("keep/W.npy")); /* behind the link named like a method's directory */
    assert_int_equal(cli_run(NULL, "rm $T/re/gd"), 0);
    rc = cli_run(&out, "%s --steps 20 --compare gd,pegr --force", tiny);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    const char *files[] = {"config.json", "metrics.jsonl", "metrics.csv", "summary.json", "W.npy",
                           "W0.npy"};
    for (size_t k = 0; k < 6; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "re/%s", files[k]);
        if (exists(rel)) fail_msg("%s of the plain run survives the --compare rerun", rel);
        snprintf(rel, sizeof rel, "re/pegr/%s", files[k]);
        assert_true(exists(rel));
    }
    rc = cli_run(&out, "%s --steps 20 --method gd --force", tiny);
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
    assert_false(exists("re/gd"));
    assert_false(exists("re/pegr"));
    assert_true(exists("re/W.npy"));
    assert_true(exists("re/notes.txt"));
}

/* An --out that cannot be made: exit 1 with the reason, and no table of zeros, no "wrote". */
static void test_train_failed_run_prints_no_results(void **state)
{
    (void)state;
    assert_int_equal(cli_run(NULL, "echo x > $T/plainfile"), 0);
    const char *methods[] = {"--method pegr", "--compare gd,pegr"};
    for (size_t k = 0; k < 2; k++) {
        char *out = NULL;
        int rc = cli_run(&out, "$PEGR train --preset tiny --steps 5 --device host %s --quiet "
                               "--out $T/plainfile/sub", methods[k]);
        if (rc != 1) fail_msg("'%s': exit %d, not 1: %s", methods[k], rc, out);
        assert_non_null(strstr(out, "plainfile/sub"));
        if (strstr(out, "wrote") || strstr(out, "0.000") || strstr(out, "input noise"))
            fail_msg("'%s': a failed run printed results: %s", methods[k], out);
        free(out);
    }
}

/* Ctrl-C during the first method of --compare: the table holds that method, nothing (no 0.000
 * row) for the one that never ran. */
static void test_train_interrupted_compare_shows_only_what_ran(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR train --preset tiny --steps 100000000 --log-every 50 --device host "
                           "--compare gd,pegr --out $T/intc --quiet & pid=$!; sleep 1.5; "
                           "kill -INT $pid; wait $pid");
    if (rc != 130) fail_msg("exit %d, not 130: %s", rc, out);
    assert_non_null(strstr(out, "\ngd "));
    /* table rows are "%-6s": "pegr  " (the messages say "pegr train:") */
    if (strstr(out, "\npegr  ")) fail_msg("a row for pegr, which never ran: %s", out);
    free(out);
}

/* The host reference computes fp64 in the primal form only: asking it for fp32 or span is a
 * usage error (exit 2, nothing written), not a silent fallback; fp64 and primal are fine. */
static void test_train_host_refuses_fp32_and_span(void **state)
{
    (void)state;
    const char *asks[][2] = {{"--device host --precision fp32", "fp64 only"},
                             {"--precision fp32", "fp64 only"}, /* host through $PEGR_DEVICE */
                             {"--device host --representation span", "primal form only"}};
    for (size_t k = 0; k < 3; k++) {
        char *out = NULL;
        int rc = cli_run(&out, "PEGR_DEVICE=host $PEGR train --preset tiny --steps 5 %s --quiet "
                               "--out $T/refused", asks[k][0]);
        if (rc != 2 || !strstr(out, asks[k][1]))
            fail_msg("'%s': exit %d: %s", asks[k][0], rc, out);
        free(out);
        assert_false(exists("refused"));
    }
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR train --preset tiny --steps 5 --device host --precision fp64 "
                           "--representation primal --quiet --out $T/fp64");
    if (rc != 0) fail_msg("exit %d: %s", rc, out);
    free(out);
}

int main(void)
{
    if (cli_setup("pegr-cli-test") != 0) return 1;
    pegr_device_info *list = NULL;
    size_t count = 0;
    suite_device = test_device_pick("test_cli", 1, &list, &count, NULL);
    if (suite_device) snprintf(device_option, sizeof device_option, "--device %zu", suite_device->index);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_writes_every_file_with_the_right_shapes),
        cmocka_unit_test(test_same_seed_same_bytes_other_seed_differs),
        cmocka_unit_test(test_grad_on_host_matches_the_golden_values),
        cmocka_unit_test(test_usage_errors_exit_2_with_the_usage_line),
        cmocka_unit_test(test_runtime_errors_exit_1_naming_the_problem),
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_devices_lists_and_rejects_unknown_specs),
        cmocka_unit_test(test_bench_refuses_host_and_times_a_device),
        cmocka_unit_test(test_train_compare_writes_every_file),
        cmocka_unit_test(test_train_divergence_exits_3_with_advice),
        cmocka_unit_test(test_train_interrupted_leaves_valid_files),
        cmocka_unit_test(test_train_help_shows_every_default),
        cmocka_unit_test(test_tune_stores_parameters_and_grad_stays_exact),
        cmocka_unit_test(test_train_divergence_in_a_few_steps_exits_3),
        cmocka_unit_test(test_train_rerun_leaves_nothing_stale),
        cmocka_unit_test(test_train_failed_run_prints_no_results),
        cmocka_unit_test(test_train_interrupted_compare_shows_only_what_ran),
        cmocka_unit_test(test_train_host_refuses_fp32_and_span),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (cli_teardown() != 0 && rc == 0) rc = 1;
    pegr_device_list_free(list);
    return rc;
}

/* test_check.c: `pegr check` end to end: the battery passes on the suite's device with every
 * promised record in fp32 and fp64 (fp64 skipped, not failed, where the device lacks it) and valid
 * JSON; a planted fault (the battery's test hook PEGR_CHECK_FAULT) fails with exit 1 naming the
 * check, on every device with --device all; usage errors exit 2 with a clear message; `pegr sweep
 * --devices` checks each device first (cached) and refuses one that fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "cli_support.h"
#include "device/gemm_tuning.h"
#include "test_device_pick.h"

static pegr_device_info *suite_device, *devices;
static size_t ndevices;
static char device_option[32];

/* The checks the battery promises (check.h), besides one per GEMM variant. */
static const char *const PROMISED[] = {
    "eval-primal-gd", "eval-primal-pegr", "eval-primal-gr", "eval-span-gd", "eval-span-pegr",
    "eval-span-gr", "eval-three-kernel", "eval-fused-groups", "eval-chunked",
    "gemm-simple-wg-cap-3", "gemm-own", "gemm-clblast", "steps-primal-gd", "steps-primal-sgd",
    "steps-primal-pegr", "steps-primal-gr", "steps-span-gd", "steps-span-sgd", "steps-span-pegr",
    "steps-span-gr", "train-primal-gd", "train-span-sgd", "train-primal-pegr", "train-span-gr",
    "batch-primal", "batch-span", "batch-train", "cache"};
#define NPROMISED (sizeof PROMISED / sizeof PROMISED[0])

/* The JSON file's records as lines "device check precision status", from Python's json module
 * (which also proves the file is valid JSON); NULL when it is not. */
static char *json_records(const char *rel)
{
    char *out = NULL;
    int rc = cli_run(&out,
                     "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                     "[print(\"REC\", r[\"device_index\"], r[\"check\"], r[\"precision\"], r[\"status\"]) "
                     "for r in d[\"records\"]]; print(\"DEVICES\", len(d[\"devices\"])); "
                     "print(\"TOTAL\", d[\"passed\"], d[\"failed\"], d[\"skipped\"])' $T/%s",
                     rel);
    if (rc != 0) fail_msg("not valid JSON (%d): %s", rc, out ? out : "");
    return out;
}

/* How many lines of `text` equal `line`. */
static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p += len)
        if ((p == text || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\0')) n++;
    return n;
}

static void expect_record(const char *recs, size_t device, const char *name, const char *precision,
                          const char *status)
{
    char line[160];
    snprintf(line, sizeof line, "REC %zu %s %s %s", device, name, precision, status);
    if (count_lines(recs, line) != 1) fail_msg("want exactly one record '%s' in:\n%s", line, recs);
}

static void test_check_passes_with_every_record_in_both_precisions(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR check %s --precision both --json $T/check.json", device_option);
    if (rc != 0) fail_msg("pegr check failed (%d):\n%s", rc, out);
    assert_non_null(strstr(out, " failed on 1 device"));
    assert_non_null(strstr(out, "checks passed, 0 failed"));
    /* the table's columns */
    assert_non_null(strstr(out, "worst err"));
    assert_non_null(strstr(out, "tolerance"));
    free(out);
    char *recs = json_records("check.json");
    size_t nrec = 0;
    for (size_t p = 0; p < 2; p++) {
        const char *prec = p ? "fp64" : "fp32";
        /* fp64 on a device without it: skipped, which is not a failure */
        const char *want = p && !suite_device->fp64 ? "skipped" : NULL;
        for (size_t i = 0; i < NPROMISED; i++, nrec++) {
            const char *status = want;
#ifndef PEGR_HAVE_CLBLAST
            if (!status && strcmp(PROMISED[i], "gemm-clblast") == 0) status = "skipped";
#endif
            if (!status) status = "pass";
            expect_record(recs, suite_device->index, PROMISED[i], prec, status);
        }
        for (size_t v = 0; v < pegr_gemm_variant_count(); v++, nrec++) {
            char name[64];
            snprintf(name, sizeof name, "gemm-%s", pegr_gemm_variant_at(v)->name);
            /* a variant the device cannot run is skipped; it must not fail */
            char line[160];
            snprintf(line, sizeof line, "REC %zu %s %s pass", suite_device->index, name, prec);
            int passed = count_lines(recs, line);
            snprintf(line, sizeof line, "REC %zu %s %s skipped", suite_device->index, name, prec);
            if (passed + count_lines(recs, line) != 1)
                fail_msg("want one passed or skipped record of %s in %s:\n%s", name, prec, recs);
        }
    }
    /* one record per check and precision, nothing else */
    int lines = 0;
    for (const char *p = recs; (p = strstr(p, "REC ")) != NULL; p += 4) lines++;
    assert_int_equal(lines, (int)nrec);
    assert_non_null(strstr(recs, "DEVICES 1\n"));
    free(recs);
}

/* A planted fault: one value of one check perturbed by 1% (PEGR_CHECK_FAULT, the battery's test
 * hook) fails that check on every device, exit 1, the table and the verdict naming it. */
static void test_planted_fault_fails_naming_the_check_on_every_device(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "PEGR_CHECK_FAULT=batch-span $PEGR check --device all --precision fp32 "
                           "--json $T/fault.json");
    if (rc != 1) fail_msg("want exit 1, got %d:\n%s", rc, out);
    for (size_t i = 0; i < ndevices; i++) {
        char head[64];
        snprintf(head, sizeof head, "device %zu (", devices[i].index);
        if (!strstr(out, head)) fail_msg("--device all left out device %zu:\n%s", i, out);
    }
    /* the failing row names the check and says FAIL */
    const char *row = strstr(out, "batch-span ");
    assert_non_null(row);
    const char *eol = strchr(row, '\n');
    assert_non_null(eol);
    assert_true(strstr(row, "FAIL") && strstr(row, "FAIL") < eol);
    assert_non_null(strstr(out, "check failed on device"));
    char summary[64];
    snprintf(summary, sizeof summary, " %zu failed on %zu device", ndevices, ndevices);
    if (!strstr(out, summary)) fail_msg("want '%s' in:\n%s", summary, out);
    free(out);
    char *recs = json_records("fault.json");
    for (size_t i = 0; i < ndevices; i++) {
        expect_record(recs, devices[i].index, "batch-span", "fp32", "fail");
        expect_record(recs, devices[i].index, "batch-primal", "fp32", "pass");
    }
    char devs[32];
    snprintf(devs, sizeof devs, "DEVICES %zu\n", ndevices);
    assert_non_null(strstr(recs, devs));
    free(recs);
}

static void expect_usage_error(const char *args, const char *message)
{
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR check %s", args);
    if (rc != 2) fail_msg("'pegr check %s': want exit 2, got %d:\n%s", args, rc, out);
    if (!strstr(out, message)) fail_msg("'pegr check %s': want '%s' in:\n%s", args, message, out);
    assert_non_null(strstr(out, "usage: pegr check"));
    free(out);
}

static void test_usage_errors_exit_2_with_a_clear_message(void **state)
{
    (void)state;
    expect_usage_error("--precision fp16", "--precision must be one of fp32|fp64|both, not 'fp16'");
    expect_usage_error("--json", "--json needs");
    expect_usage_error("--json ''", "--json needs");
    expect_usage_error("--frobnicate", "--frobnicate");
    expect_usage_error("extra", "extra");
    expect_usage_error("--device host", "the host is the reference");
    char *out = NULL;
    int rc = cli_run(&out, "PEGR_CHECK_FAULT=no-such-check $PEGR check");
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "PEGR_CHECK_FAULT='no-such-check' names no check"));
    free(out);
}

/* pegr sweep --devices: each device passes pegr check before a run lands on it; the pass is cached
 * (a second sweep does not run it again), and a device that fails is refused, the sweep not
 * started, with the device and the failing check named. */
#define SWEEP "$PEGR sweep --preset tiny --steps 10 --grid n=10 --methods gd --seeds 0 --quiet "

static void test_sweep_checks_each_device_and_refuses_a_failing_one(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "PEGR_CHECK_FAULT=steps-primal-pegr " SWEEP "--devices %zu --out $T/refused",
                     suite_device->index);
    if (rc != 1) fail_msg("want exit 1, got %d:\n%s", rc, out);
    char want[320];
    snprintf(want, sizeof want, "refusing device %zu (%s)", suite_device->index, suite_device->name);
    if (!strstr(out, want)) fail_msg("want '%s' in:\n%s", want, out);
    assert_non_null(strstr(out, "steps-primal-pegr"));
    assert_null(strstr(out, "runs finished")); /* nothing ran */
    free(out);
    for (int k = 0; k < 2; k++) {
        rc = cli_run(&out, SWEEP "--devices %zu --out $T/checked%d", suite_device->index, k);
        if (rc != 0) fail_msg("sweep exited %d:\n%s", rc, out);
        assert_non_null(strstr(out, "pegr check passed"));
        if (k == 1) assert_non_null(strstr(out, "pegr check passed before (cached)"));
        assert_non_null(strstr(out, "holds 1 of 1 runs"));
        free(out);
    }
}

int main(void)
{
    if (cli_setup("pegr-check-test") != 0) return 1;
    pegr_error err = {0};
    suite_device = test_device_pick("test_check", 0, &devices, &ndevices, &err);
    if (!suite_device) {
        printf("no OpenCL device, skipping: %s\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        cli_teardown();
        return 77;
    }
    snprintf(device_option, sizeof device_option, "--device %zu", suite_device->index);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors_exit_2_with_a_clear_message),
        cmocka_unit_test(test_check_passes_with_every_record_in_both_precisions),
        cmocka_unit_test(test_planted_fault_fails_naming_the_check_on_every_device),
        cmocka_unit_test(test_sweep_checks_each_device_and_refuses_a_failing_one),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pegr_device_list_free(devices);
    cli_teardown();
    return rc;
}

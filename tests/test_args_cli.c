/* test_args_cli.c: numbers on pegr's command line and in its environment parse strictly (issue 11
 * item 10), through the binary: each value the loose parser took -- and then ran 2^64-1 steps, ran
 * nothing, wrote 112 MB or fell back to shard 0 -- exits 2 with a message that names the option or
 * variable and the accepted range. Every command runs under `timeout`, so a regression fails
 * instead of training for ever. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_support.h"

/* A tiny sweep that trains in a second, should a bad value be taken for a good one. */
#define SWEEP "timeout 30 $PEGR sweep --preset tiny --steps 5 --methods gd --seeds 0 --grid n=20 "

/* Run `line`; it must exit 2 and say every one of the NULL-terminated words. */
static void expect_usage_error(const char *line, ...)
{
    char *out = NULL;
    int rc = cli_run(&out, "%s", line);
    if (rc != 2) fail_msg("'%s' exited %d, not 2: %s", line, rc, out ? out : "");
    va_list ap;
    va_start(ap, line);
    for (const char *word = va_arg(ap, const char *); word; word = va_arg(ap, const char *))
        if (!out || !strstr(out, word)) fail_msg("'%s' did not say '%s': %s", line, word, out ? out : "");
    va_end(ap);
    free(out);
}

static void test_steps_with_a_leading_space_and_sign_is_refused(void **state)
{
    (void)state;
    /* was: 2^64-1 steps (strtoull skips the space and wraps -1) */
    expect_usage_error("timeout 30 $PEGR train --preset tiny --device host --out $T/steps --steps ' -1'",
                       "--steps", "an integer from 0 to 18446744073709551615", "' -1'", NULL);
    expect_usage_error("timeout 30 $PEGR train --preset tiny --device host --out $T/steps --steps=-1",
                       "--steps", "an integer from 0", NULL);
    expect_usage_error("timeout 30 $PEGR train --preset tiny --device host --out $T/steps --lr ' 0.1'",
                       "--lr", "a finite number", NULL);
}

static void test_m_minus_one_is_a_usage_error_not_out_of_memory(void **state)
{
    (void)state;
    /* was: m = 2^64-1, then "out of memory for W" with exit 1 */
    expect_usage_error("timeout 30 $PEGR train --preset tiny --device host --out $T/m --m ' -1'", "--m",
                       "an integer from 1 to", NULL);
    expect_usage_error("timeout 30 $PEGR train --preset tiny --device host --out $T/m --m 0", "--m",
                       "an integer from 1 to", NULL);
}

static void test_shard_with_a_negative_count_is_refused(void **state)
{
    (void)state;
    /* was: sscanf's %zu took -3 as 2^64-3: shard 1 of a huge count, nothing run, exit 0 */
    expect_usage_error(SWEEP "--out $T/shard --shard 1/-3", "--shard", "0 <= I < N", "'1/-3'", NULL);
    expect_usage_error(SWEEP "--out $T/shard --shard ' 1/3'", "--shard", NULL);
    expect_usage_error(SWEEP "--out $T/shard --shard 3/3", "--shard", NULL);
}

static void test_jobs_per_device_past_the_worker_cap_is_refused(void **state)
{
    (void)state;
    /* was: 0 workers (2^63 * one device, capped in a product that overflowed), exit 0 */
    expect_usage_error(SWEEP "--out $T/jobs --devices host --jobs-per-device 9223372036854775808",
                       "--jobs-per-device", "an integer from 1 to 64", NULL);
    expect_usage_error(SWEEP "--out $T/jobs --devices host --jobs-per-device 65", "--jobs-per-device",
                       "an integer from 1 to 64", NULL);
    expect_usage_error(SWEEP "--out $T/jobs --batch-runs 0", "--batch-runs", "an integer from 1 to 4096",
                       NULL);
}

static void test_shards_are_capped_and_nothing_is_written(void **state)
{
    (void)state;
    /* was: a 112 MB sweep.parallel */
    expect_usage_error(SWEEP "--out $T/emit --emit parallel --shards 1000000", "--shards",
                       "an integer from 1 to 100000", NULL);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/emit/sweep.parallel", cli_tmp());
    assert_int_not_equal(stat(path, &st), 0);
}

static void test_slurm_variables_parse_strictly(void **state)
{
    (void)state;
    /* was: atol("abc") = 0, so shard 0 of 2 ran and exited 0 */
    expect_usage_error("SLURM_ARRAY_TASK_ID=abc SLURM_ARRAY_TASK_COUNT=2 " SWEEP "--out $T/slurm",
                       "SLURM_ARRAY_TASK_ID", "an integer from 0 to 1", "'abc'", NULL);
    expect_usage_error("SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=' 2' " SWEEP "--out $T/slurm",
                       "SLURM_ARRAY_TASK_COUNT", "an integer from 1 to", NULL);
    expect_usage_error("SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=-1 " SWEEP
                       "--out $T/slurm", "SLURM_ARRAY_TASK_MIN", NULL);
    /* ids count from _MIN: with MIN 5 and COUNT 2 they are 5 and 6 */
    expect_usage_error("SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_COUNT=2 SLURM_ARRAY_TASK_MIN=5 " SWEEP
                       "--out $T/slurm", "SLURM_ARRAY_TASK_ID", "an integer from 5 to 6", NULL);
}

static void test_bench_grid_parses_strictly_before_any_device_is_opened(void **state)
{
    (void)state;
    /* was: sscanf's %zu took -1 as 2^64-1 and skipped spaces, and the bench went on to the
     * device; the device named here does not exist, so only a parse-time refusal exits 2 */
    static const char *const grids[] = {"-1:2:3", "' 10:20:3'", "10:20", "10:20:3:4", "10:0:3",
                                        "1:2:3,,4:5:6", "18446744073709551616:2:3", "0x10:2:3",
                                        "1:2:3,", "10:20:3x"};
    for (size_t k = 0; k < sizeof grids / sizeof grids[0]; k++) {
        char line[256];
        snprintf(line, sizeof line, "timeout 30 $PEGR bench --device no-such-device-xyz --grid %s",
                 grids[k]);
        expect_usage_error(line, "--grid", "integers >= 1", NULL);
    }
    expect_usage_error("timeout 30 $PEGR bench --device no-such-device-xyz --repeats 0", "--repeats",
                       "an integer from 1 to", NULL);
    expect_usage_error("timeout 30 $PEGR bench --device no-such-device-xyz --methods "
                       "gd,gd,gd,gd,gd,gd,gd,gd,gd", "--methods", "more than 8", NULL);
}

static void test_data_options_are_refused_naming_the_flag_and_its_range(void **state)
{
    (void)state;
    /* was: "data option 'label_flip' = 0.9 is invalid", the config's field, not the flag */
    static const struct { const char *args, *flag, *range; } cases[] = {
        {"--label-noise 0.9", "--label-noise", "a number from 0 to 0.5"},
        {"--label-noise -0.1", "--label-noise", "a number from 0 to 0.5"},
        {"--n 0", "--n", "an integer from 1 to"},
        {"--d 0", "--d", "an integer from 1 to"},
        {"--patches 0", "--patches", "an integer from 1 to"},
        {"--sigma-p -1", "--sigma-p", "a finite number >= 0"},
        {"--mu-norm -1", "--mu-norm", "a finite number >= 0"},
        {"--snr -1", "--snr", "a finite number >= 0"},
        {"--snr 0", "--snr", "> 0"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char line[256];
        snprintf(line, sizeof line, "timeout 30 $PEGR train --preset tiny --device host --out $T/data "
                 "%s", cases[k].args);
        expect_usage_error(line, cases[k].flag, cases[k].range, NULL);
    }
    expect_usage_error("timeout 30 $PEGR data --out $T/data --label-noise 0.6", "--label-noise",
                       "a number from 0 to 0.5", NULL);
    expect_usage_error(SWEEP "--out $T/data --grid label-noise=0,0.9", "--label-noise",
                       "a number from 0 to 0.5", NULL);
    assert_int_not_equal(cli_run(NULL, "test -e $T/data"), 0);
}

/* X, y, W of a golden case: a pegr grad that would take a second. */
#define GRAD "timeout 30 $PEGR grad --X $G/relu_q1/X.npy --y $G/relu_q1/y.npy --W $G/relu_q1/W.npy "

static void test_host_refuses_fp32_and_span_in_grad_and_sweep(void **state)
{
    (void)state;
    /* was: the host answered in fp64 / trained primal, exit 0, as if fp32 or span had been done */
    expect_usage_error(GRAD "--device host --precision fp32 --out $T/host", "--precision fp32",
                       "fp64 only", NULL);
    expect_usage_error("PEGR_DEVICE=host " GRAD "--precision fp32 --out $T/host", "fp64 only", NULL);
    expect_usage_error(SWEEP "--out $T/host --device host --precision fp32", "fp64 only", NULL);
    expect_usage_error("PEGR_DEVICE=host " SWEEP "--out $T/host --precision fp32", "fp64 only", NULL);
    expect_usage_error(SWEEP "--out $T/host --device host --representation span", "span", NULL);
    expect_usage_error(SWEEP "--out $T/host --device host --grid representation=primal,span",
                       "span", "primal form only", NULL);
    expect_usage_error(SWEEP "--out $T/host --devices host,host --precision fp32", "fp64 only",
                       NULL);
    /* a list mixing host and OpenCL devices: the host's runs would differ from the others' */
    expect_usage_error(SWEEP "--out $T/host --devices 0,host --precision fp32", "--devices",
                       "fp64 only", NULL);
    expect_usage_error(SWEEP "--out $T/host --devices 0,host", "--devices", "mixes host",
                       "--precision fp64", NULL);
    assert_int_not_equal(cli_run(NULL, "test -e $T/host"), 0);
    /* what the host does do is still taken: grad in fp64, a host sweep without --precision */
    char *out = NULL;
    int rc = cli_run(&out, GRAD "--device host --precision fp64 --out $T/host-grad");
    if (rc != 0) fail_msg("pegr grad --device host --precision fp64 exited %d: %s", rc, out);
    free(out);
    rc = cli_run(&out, SWEEP "--out $T/host-sweep --device host --emit parallel --shards 1");
    if (rc != 0) fail_msg("a host sweep without --precision exited %d: %s", rc, out);
    free(out);
}

int main(void)
{
    if (cli_setup("pegr-args-test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_with_a_leading_space_and_sign_is_refused),
        cmocka_unit_test(test_m_minus_one_is_a_usage_error_not_out_of_memory),
        cmocka_unit_test(test_shard_with_a_negative_count_is_refused),
        cmocka_unit_test(test_jobs_per_device_past_the_worker_cap_is_refused),
        cmocka_unit_test(test_shards_are_capped_and_nothing_is_written),
        cmocka_unit_test(test_slurm_variables_parse_strictly),
        cmocka_unit_test(test_bench_grid_parses_strictly_before_any_device_is_opened),
        cmocka_unit_test(test_data_options_are_refused_naming_the_flag_and_its_range),
        cmocka_unit_test(test_host_refuses_fp32_and_span_in_grad_and_sweep),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cli_teardown();
    return rc;
}

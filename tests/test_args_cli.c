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
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cli_teardown();
    return rc;
}

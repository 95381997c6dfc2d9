/* test_sweep.c: `pegr sweep` and `pegr collect` end to end (on the host reference, so the runs are
 * bit-reproducible and fast): shards merged equal the unsharded sweep; a sweep killed part-way and
 * restarted holds each run exactly once with the same results; several workers; a changed grid is
 * refused unless --extend; the emitted Slurm script passes bash -n and names the shard variables;
 * GNU parallel runs the emitted commands where it is installed. On an OpenCL device (skipped
 * without one): batched runs give the results of runs one at a time, and a batched sweep killed
 * part-way resumes with each run once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"

#define SWEEP "$PEGR sweep --preset tiny --steps 60 --log-every 20 --grid n=10,20 " \
              "--grid mu-norm=1,3 --methods gd,pegr --seeds 0-1 --device host --quiet"
#define RUNS 16

/* results.csv without its last column (wall seconds, the one thing that differs run to run). */
static char *results_without_wall(const char *dir)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/results.csv", dir);
    char *text = cli_read(rel);
    char *out = malloc(strlen(text) + 1), *o = out;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *comma = NULL;
        for (size_t k = 0; k < len; k++)
            if (line[k] == ',') comma = line + k;
        size_t keep = comma ? (size_t)(comma - line) : len;
        memcpy(o, line, keep);
        o += keep;
        *o++ = '\n';
        line += len + (end ? 1 : 0);
    }
    *o = '\0';
    free(text);
    return out;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++) n += *text == '\n';
    return n;
}

static char *reference; /* the unsharded, uninterrupted results */

static int make_reference(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, SWEEP " --out $T/ref");
    if (rc != 0) {
        printf("reference sweep failed (%d): %s\n", rc, out);
        free(out);
        return -1;
    }
    free(out);
    reference = results_without_wall("ref");
    return count_lines(reference) == RUNS + 1 ? 0 : -1;
}

static void test_two_shards_collected_equal_the_whole_sweep(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, SWEEP " --out $T/s0 --shard 0/2 && " SWEEP " --out $T/s1 --shard 1/2"), 0);
    free(out);
    /* one shard alone is incomplete: collect says so with exit 4 */
    assert_int_equal(cli_run(&out, "$PEGR collect $T/s0 --out $T/half"), 4);
    assert_non_null(strstr(out, "8 missing"));
    free(out);
    assert_int_equal(cli_run(&out, "$PEGR collect $T/s0 $T/s1 --out $T/merged"), 0);
    assert_non_null(strstr(out, "16 of 16 runs"));
    free(out);
    char *merged = results_without_wall("merged");
    assert_string_equal(merged, reference);
    free(merged);
    /* the same shard collected twice: reported as duplicated */
    assert_int_equal(cli_run(&out, "cp -r $T/s0 $T/s0copy && $PEGR collect $T/s0 $T/s1 $T/s0copy --out $T/dup"), 4);
    assert_non_null(strstr(out, "8 found more than once"));
    free(out);
}

/* Kill `slow` (a sweep command without --out) part-way into $T/NAME, restart it: every run once,
 * no temporary left, the results of an uninterrupted run of the same sweep into $T/NAME_whole. */
static void kill_and_resume(const char *slow, const char *name, size_t runs)
{
    char *out = NULL;
    /* -9 leaves temporaries behind */
    cli_run(&out, "%s --out $T/%s & pid=$!; sleep 1.5; kill -9 $pid; wait $pid; true", slow, name);
    free(out);
    assert_int_equal(cli_run(&out, "ls $T/%s/runs | grep -vc '^\\.' || true", name), 0);
    size_t done_before = (size_t)atol(out);
    free(out);
    assert_true(done_before < runs); /* it really was cut short */
    assert_int_equal(cli_run(&out, "%s --out $T/%s", slow, name), 0);
    free(out);
    char rel[256];
    snprintf(rel, sizeof rel, "%s/results.csv", name);
    char *text = cli_read(rel);
    assert_int_equal(count_lines(text), runs + 1);
    /* each run id exactly once */
    for (char *line = strchr(text, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        size_t len = strcspn(line, ",");
        char id[256];
        snprintf(id, sizeof id, "\n%.*s,", (int)len, line);
        char *first = strstr(text, id), *second = first ? strstr(first + 1, id) : NULL;
        assert_non_null(first);
        assert_null(second);
    }
    free(text);
    /* and no temporary directory is left */
    assert_int_equal(cli_run(&out, "ls -a $T/%s/runs | grep -c tmp || true", name), 0);
    assert_int_equal(atol(out), 0);
    free(out);
    /* the same results as an uninterrupted run of the same sweep */
    assert_int_equal(cli_run(&out, "%s --out $T/%s_whole", slow, name), 0);
    free(out);
    char whole[256];
    snprintf(whole, sizeof whole, "%s_whole", name);
    char *a = results_without_wall(name), *b = results_without_wall(whole);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_killed_sweep_resumes_with_each_run_once(void **state)
{
    (void)state;
    /* more steps, so the kill lands part-way */
    kill_and_resume("$PEGR sweep --preset tiny --steps 8000 --log-every 1000 --grid n=10,20 "
                    "--grid mu-norm=1,3 --methods gd,pegr --seeds 0-1 --device host --quiet",
                    "killed", RUNS);
}

/* ---- batches on a device ------------------------------------------------------------------- */

static int have_device(void)
{
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR devices");
    free(out);
    return rc == 0;
}

/* pegr's own GEMM kernels compute each element of a batch exactly as alone (test_batch), so
 * results.csv is the same text whether the runs went in batches or one at a time. */
#define DEVICE_SWEEP "PEGR_GEMM=own $PEGR sweep --preset tiny --steps 60 --log-every 20 " \
                     "--grid n=10,20 --grid mu-norm=1,3 --methods gd,pegr --seeds 0-1 --device cpu"

static void test_batched_sweep_equals_runs_one_at_a_time(void **state)
{
    (void)state;
    if (!have_device()) skip();
    char *out = NULL;
    assert_int_equal(cli_run(&out, DEVICE_SWEEP " --out $T/one --batch-runs 1 --quiet"), 0);
    free(out);
    assert_int_equal(cli_run(&out, DEVICE_SWEEP " --out $T/batched --batch-runs 8"), 0);
    /* (n, method) groups of 2 ||mu|| x 2 seeds: 4 batches of 4 */
    assert_non_null(strstr(out, "16 to run in 4 batch(es)"));
    assert_non_null(strstr(out, "(batch)"));
    free(out);
    char *one = results_without_wall("one"), *batched = results_without_wall("batched");
    assert_int_equal(count_lines(one), RUNS + 1);
    assert_string_equal(one, batched);
    free(one);
    free(batched);
    assert_int_equal(cli_run(&out, "cat $T/batched/runs/*/summary.json | grep -c '\"batch_runs\": 4'"), 0);
    assert_int_equal(atol(out), RUNS);
    free(out);
}

static void test_killed_batched_sweep_resumes_with_each_run_once(void **state)
{
    (void)state;
    if (!have_device()) skip();
    kill_and_resume("PEGR_GEMM=own $PEGR sweep --preset tiny --steps 20000 --log-every 5000 "
                    "--grid n=10,20 --grid mu-norm=1,3 --methods gd,pegr --seeds 0-1 --device cpu "
                    "--batch-runs 4 --quiet", "killed_batched", RUNS);
}

static void test_several_workers_give_the_same_results(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, SWEEP " --out $T/workers --devices host,host --jobs-per-device 2");
    if (rc != 0) fail_msg("%s", out);
    assert_non_null(strstr(out, "4 worker(s)"));
    free(out);
    char *r = results_without_wall("workers");
    assert_string_equal(r, reference);
    free(r);
}

static void test_changed_grid_is_refused_unless_extend(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, SWEEP " --out $T/ref --grid lam=0.1,0.2"), 2);
    assert_non_null(strstr(out, "--extend"));
    free(out);
    assert_int_equal(cli_run(&out, SWEEP " --out $T/ref --seeds 0-2"), 2);
    free(out);
    /* rerunning the same sweep is fine and runs nothing */
    assert_int_equal(cli_run(&out, SWEEP " --out $T/ref"), 0);
    assert_non_null(strstr(out, "16 already done, 0 to run"));
    free(out);
    /* extending by a seed reuses the 16 runs and adds 8 */
    assert_int_equal(cli_run(&out, SWEEP " --out $T/ref --seeds 0-2 --extend"), 0);
    assert_non_null(strstr(out, "16 already done, 8 to run"));
    free(out);
}

static void test_emitted_slurm_script_is_valid_and_names_the_shards(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, SWEEP " --out $T/slurm --emit slurm --shards 3"), 0);
    free(out);
    assert_int_equal(cli_run(&out, "bash -n $T/slurm/sweep.slurm"), 0);
    free(out);
    char *script = cli_read("slurm/sweep.slurm");
    assert_non_null(strstr(script, "#SBATCH --array=0-2"));
    assert_non_null(strstr(script, "SLURM_ARRAY_TASK_ID"));
    assert_non_null(strstr(script, "SLURM_ARRAY_TASK_COUNT"));
    free(script);
    /* a Slurm task: the share comes from the environment */
    assert_int_equal(cli_run(&out, "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 " SWEEP " --out $T/slurm"), 0);
    assert_non_null(strstr(out, "shard 1/3"));
    free(out);
}

static void test_gnu_parallel_runs_the_emitted_commands(void **state)
{
    (void)state;
    char *out = NULL;
    if (cli_run(&out, "command -v parallel") != 0) {
        free(out);
        skip(); /* GNU parallel is not installed here */
    }
    free(out);
    assert_int_equal(cli_run(&out, SWEEP " --out $T/par --emit parallel --shards 2"), 0);
    free(out);
    int rc = cli_run(&out, "parallel --will-cite -j 2 :::: $T/par/sweep.parallel && "
                           "$PEGR collect $T/par");
    if (rc != 0) fail_msg("%s", out);
    assert_non_null(strstr(out, "16 of 16 runs"));
    free(out);
    char *r = results_without_wall("par");
    assert_string_equal(r, reference);
    free(r);
}

static void test_bad_sweeps_are_usage_errors(void **state)
{
    (void)state;
    char *out = NULL;
    const char *bad[] = {
        "$PEGR sweep --grid n=10,20 --out $T/bad --grid n=30",
        "$PEGR sweep --grid nope=1,2 --out $T/bad",
        "$PEGR sweep --grid n=5:1:1 --out $T/bad",
        "$PEGR sweep --grid method=gd --out $T/bad",
        "$PEGR sweep --grid n=10 --seeds 3-1 --out $T/bad",
        "$PEGR sweep --grid n=10 --methods gd,adam --out $T/bad",
        "$PEGR sweep --grid n=10 --out $T/bad --shard 2/2",
        "$PEGR sweep --grid q=1.5 --methods pegr --out $T/bad",
        "$PEGR sweep --grid n=10",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = cli_run(&out, "%s", bad[k]);
        if (rc != 2) fail_msg("'%s' exited %d, not 2: %s", bad[k], rc, out);
        free(out);
    }
}

int main(void)
{
    if (cli_setup("pegr-sweep-test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_shards_collected_equal_the_whole_sweep),
        cmocka_unit_test(test_killed_sweep_resumes_with_each_run_once),
        cmocka_unit_test(test_batched_sweep_equals_runs_one_at_a_time),
        cmocka_unit_test(test_killed_batched_sweep_resumes_with_each_run_once),
        cmocka_unit_test(test_several_workers_give_the_same_results),
        cmocka_unit_test(test_changed_grid_is_refused_unless_extend),
        cmocka_unit_test(test_emitted_slurm_script_is_valid_and_names_the_shards),
        cmocka_unit_test(test_gnu_parallel_runs_the_emitted_commands),
        cmocka_unit_test(test_bad_sweeps_are_usage_errors),
    };
    int rc = cmocka_run_group_tests(tests, make_reference, NULL);
    free(reference);
    if (cli_teardown() != 0 && rc == 0) rc = 1;
    return rc;
}

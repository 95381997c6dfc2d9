/* test_sweep_proc.c: `pegr sweep`'s processes and files (issue 11): stale temporaries are removed
 * without a shell and without following symlinks; --out paths near 1,000 characters work;
 * --devices all with two workers on a real OpenCL device finishes; workers die with a SIGKILLed
 * parent and stop on its SIGTERM; a second sweep on a locked directory exits naming the holder
 * (and --help says so); a run whose row.csv is damaged, missing or a FIFO is trained again.
 * Neither a stale temporary's name nor --out ever reaches a shell. Every pegr spawned here runs
 * under `timeout` (or is killed by the test), so a hang fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_support.h"
#include "util/fsutil.h"

/* A sweep of 2 quick runs on the host reference. */
#define QUICK "timeout -k 5 120 $PEGR sweep --preset tiny --steps 20 --grid n=10,20 --methods gd " \
              "--seeds 0 --device host --quiet"
/* 16 runs of about half a second each on the host reference, on two workers: long enough for a
 * signal to land part-way. */
#define SLOW_RUNS 16
#define SLOW "$PEGR sweep --preset tiny --steps 4000 --log-every 1000 --grid n=10,20 " \
             "--methods gd,pegr --seeds 0-3 --device host --quiet --devices host,host"
/* Shell: wait (at most 30 s) until DIR/runs holds a finished run. */
#define WAIT_FIRST_RUN(dir)                                                                    \
    "for i in $(seq 600); do [ \"$(ls " dir "/runs 2>/dev/null | grep -vc '^\\.')\" -ge 1 ] && " \
    "break; sleep 0.05; done; "
/* Shell: how many runs DIR/runs holds (temporaries start with '.'). */
#define COUNT_RUNS(dir) "$(ls " dir "/runs | grep -vc '^\\.')"

/* $T/REL as a C path (malloc'ed). */
static char *tmp_path(const char *rel)
{
    char *p = pegr_path_join(cli_tmp(), rel);
    assert_non_null(p);
    return p;
}

/* What follows "RESULT " in a shell line's output (the shell may report a killed job before). */
static const char *result(const char *out)
{
    const char *r = out ? strstr(out, "RESULT ") : NULL;
    return r ? r + 7 : "";
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The name of a temporary run directory of a dead process of this host, as pegr names them:
 * ".ID.tmp.HOST.PID", HOST with '.' -> '_'; 99999999 is above Linux's highest pid (2^22). */
static char *stale_name(const char *id)
{
    char host[256] = "", name[600];
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++)
        if (*c == '.') *c = '_';
    snprintf(name, sizeof name, ".%s.tmp.%s.99999999", id, host);
    return strdup(name);
}

/* $T/DIR/runs/NAME made (with its parents); returns its path. */
static char *make_stale(const char *dir, const char *name)
{
    char rel[700];
    snprintf(rel, sizeof rel, "%s/runs/%s", dir, name);
    char *path = tmp_path(rel);
    assert_int_equal(pegr_mkdir_p(path, NULL), PEGR_OK);
    return path;
}

/* ---- 1: no shell ---------------------------------------------------------------------------- */

/* Old main removed it with system("rm -rf '...'"): the quote ended the string and ran touch. */
static void test_stale_temporary_named_like_a_command_runs_nothing(void **state)
{
    (void)state;
    char *name = stale_name("a';touch PWNED;'");
    char *stale = make_stale("pwn", name);
    char *cwd = tmp_path("pwn_cwd");
    assert_int_equal(pegr_mkdir_p(cwd, NULL), PEGR_OK);
    char *out = NULL;
    int rc = cli_run(&out, "cd $T/pwn_cwd && " QUICK " --out $T/pwn");
    if (rc != 0) fail_msg("sweep exited %d: %s", rc, out);
    free(out);
    const char *pwned[] = {"pwn_cwd/PWNED", "pwn/PWNED", "pwn/runs/PWNED", "PWNED"};
    for (size_t k = 0; k < sizeof pwned / sizeof pwned[0]; k++) {
        char *p = tmp_path(pwned[k]);
        if (exists(p)) fail_msg("%s exists: a shell ran the directory's name", p);
        free(p);
    }
    assert_false(exists(stale)); /* and the stale temporary is gone */
    free(name);
    free(stale);
    free(cwd);
}

/* A quote in --out: old main removed an interrupted run's temporary with the same system(). */
static void test_interrupted_run_under_an_out_with_a_quote_runs_nothing(void **state)
{
    (void)state;
    char *cwd = tmp_path("quote_cwd");
    assert_int_equal(pegr_mkdir_p(cwd, NULL), PEGR_OK);
    char *out = NULL;
    /* one worker (this process): SIGTERM stops it part-way through a run, whose temporary goes */
    cli_run(&out, "cd $T/quote_cwd && Q=\"$T/q';touch QPWNED;'x\"; $PEGR sweep --preset tiny "
                  "--steps 4000 --log-every 1000 --grid n=10,20 --methods gd,pegr --seeds 0-3 "
                  "--device host --quiet --out \"$Q\" > /dev/null 2>&1 & pid=$!; "
                  WAIT_FIRST_RUN("\"$Q\"") "kill -TERM $pid; wait $pid; "
                  "echo RESULT $? $(ls -a \"$Q/runs\" | grep -c tmp)");
    int rc = -1;
    unsigned tmps = 9;
    if (sscanf(result(out), "%d %u", &rc, &tmps) != 2) fail_msg("%s", out);
    free(out);
    char *pwned = tmp_path("quote_cwd/QPWNED");
    if (exists(pwned)) fail_msg("%s exists: a shell ran part of --out", pwned);
    free(pwned);
    assert_int_equal(rc, 130);
    assert_int_equal(tmps, 0); /* the interrupted runs' temporaries were removed */
    free(cwd);
}

/* A symlink inside a stale temporary (to a directory, to a file) is removed, not followed. */
static void test_symlinks_in_a_stale_temporary_are_not_followed(void **state)
{
    (void)state;
    char *outside = tmp_path("outside"), *keep = tmp_path("outside/keep.txt");
    assert_int_equal(pegr_mkdir_p(outside, NULL), PEGR_OK);
    assert_int_equal(pegr_file_write_atomic(keep, "keep\n", 5, NULL), PEGR_OK);
    char *name = stale_name("gd-s0-n=10-deadbeef");
    char *stale = make_stale("sym", name);
    char *sub = pegr_path_join(stale, "sub"), *link_dir = pegr_path_join(stale, "to_dir");
    char *link_file = pegr_path_join(sub, "to_file");
    assert_int_equal(pegr_mkdir_p(sub, NULL), PEGR_OK);
    assert_int_equal(symlink(outside, link_dir), 0);
    assert_int_equal(symlink(keep, link_file), 0);
    char *out = NULL;
    int rc = cli_run(&out, QUICK " --out $T/sym");
    if (rc != 0) fail_msg("sweep exited %d: %s", rc, out);
    free(out);
    assert_false(exists(stale));
    assert_true(exists(keep));

    /* pegr_remove_tree itself: a root that is a symlink goes alone; a missing path is fine */
    char *root_link = tmp_path("root_link");
    assert_int_equal(symlink(outside, root_link), 0);
    assert_int_equal(pegr_remove_tree(root_link, NULL), PEGR_OK);
    assert_false(exists(root_link));
    assert_true(exists(keep));
    assert_int_equal(pegr_remove_tree(root_link, NULL), PEGR_OK);
    free(root_link);
    free(outside);
    free(keep);
    free(name);
    free(stale);
    free(sub);
    free(link_dir);
    free(link_file);
}

/* ---- a damaged run is trained again ------------------------------------------------------- */

/* Three runs on the host reference. */
#define THREE "timeout -k 5 60 $PEGR sweep --preset tiny --steps 20 --grid n=10,20,30 " \
              "--methods gd --seeds 0 --device host --quiet --out $T/damaged"

/* Rerun THREE after `damage` (shell, in DIR/runs): exit 0, `expect` ("N already done, M to run")
 * said, a progress line for each run in `retrained` (grid values such as "n=10": the damaged
 * ones), all three in results.csv once and each landed whole (a regular row.csv; no temporary
 * left). */
static void rerun_after(const char *damage, const char *expect, const char *const *retrained,
                        size_t nretrained)
{
    char *out = NULL;
    int rc = cli_run(&out, "cd $T/damaged/runs && %s", damage);
    if (rc != 0) fail_msg("could not damage the runs (%s): %s", damage, out);
    free(out);
    rc = cli_run(&out, THREE);
    if (rc != 0) fail_msg("after '%s': the rerun exited %d (124: it hung): %s", damage, rc, out);
    if (!strstr(out, expect)) fail_msg("after '%s': expected '%s': %s", damage, expect, out);
    for (size_t k = 0; k < nretrained; k++) {
        char line[64];
        snprintf(line, sizeof line, "] gd-s0-%s", retrained[k]);
        if (!strstr(out, line))
            fail_msg("after '%s': run %s not trained again: %s", damage, retrained[k], out);
    }
    assert_non_null(strstr(out, "holds 3 of 3 runs"));
    free(out);
    assert_int_equal(cli_run(&out, "cd $T/damaged && for r in runs/gd-*; do [ -f $r/row.csv ] && "
                                   "[ ! -p $r/row.csv ] || echo BAD $r; done; "
                                   "echo RESULT $(grep -c '^gd-s0-n=' results.csv) "
                                   "$(ls -a runs | grep -c tmp)"),
                     0);
    unsigned rows = 0, tmps = 9;
    if (strstr(out, "BAD") || sscanf(result(out), "%u %u", &rows, &tmps) != 2) fail_msg("%s", out);
    assert_int_equal(rows, 3);
    assert_int_equal(tmps, 0);
    free(out);
}

/* A finished sweep whose run directories lost their rows: one row.csv cut short, one removed;
 * then one replaced by a FIFO. Old main counted a run done when its row.csv existed (results.csv
 * then merged the cut row, or hung reading the FIFO) and skipped the run whose directory was
 * there without a row (its rename into place would have failed): none was trained again. */
static void test_a_run_without_a_complete_row_is_trained_again(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, THREE);
    if (rc != 0) fail_msg("sweep exited %d: %s", rc, out);
    free(out);
    static const char *const cut_and_removed[] = {"n=10", "n=20"}, *const fifo[] = {"n=30"};
    rerun_after("R=$(ls -d gd-s0-n=10*)/row.csv && head -c 60 $R > x && mv x $R && "
                "rm $(ls -d gd-s0-n=20*)/row.csv", "1 already done, 2 to run", cut_and_removed, 2);
    rerun_after("R=$(ls -d gd-s0-n=30*)/row.csv && rm $R && mkfifo $R", "2 already done, 1 to run",
                fifo, 1);
    /* and a rerun finds all three done */
    assert_int_equal(cli_run(&out, THREE), 0);
    assert_non_null(strstr(out, "3 already done, 0 to run"));
    free(out);
}

/* ---- 11: long paths ------------------------------------------------------------------------- */

/* Shell: P=$T/long/ + five 199-character components (about 1,030 characters in all). */
#define LONG_OUT "P=$T/long; for i in 1 2 3 4 5; do P=$P/$(printf '%%0199d' 0); done; "

static void test_out_path_near_1000_characters_lands_its_runs(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, LONG_OUT QUICK " --out \"$P\"");
    if (rc != 0) fail_msg("sweep exited %d: %s", rc, out);
    /* old main wrote OUT/ru and said "0 of 2 runs" */
    assert_non_null(strstr(out, "holds 2 of 2 runs"));
    free(out);
    assert_int_equal(cli_run(&out, LONG_OUT "echo ${#P}; ls \"$P/runs\" | grep -vc '^\\.'"), 0);
    size_t len = 0, runs = 0;
    assert_int_equal(sscanf(out, "%zu %zu", &len, &runs), 2);
    assert_true(len > 1000);
    assert_int_equal(runs, 2);
    free(out);
    /* a rerun finds them done */
    assert_int_equal(cli_run(&out, LONG_OUT QUICK " --out \"$P\""), 0);
    assert_non_null(strstr(out, "2 already done, 0 to run"));
    free(out);
    /* past PATH_MAX: a usage error naming --out, before any directory is made (old main: exit 1
     * from a tree of directories made half-way) */
    assert_int_equal(cli_run(&out, "P=$T/toolong; for i in $(seq 22); do P=$P/$(printf '%%0199d' 0); "
                                   "done; " QUICK " --out \"$P\""), 2);
    assert_non_null(strstr(out, "--out is"));
    free(out);
    char *toolong = tmp_path("toolong");
    assert_false(exists(toolong));
    free(toolong);
}

/* ---- 13: --devices all ---------------------------------------------------------------------- */

static int have_device(void)
{
    char *out = NULL;
    int rc = cli_run(&out, "timeout -k 5 60 $PEGR devices");
    free(out);
    return rc == 0;
}

/* Old main listed the OpenCL devices in the parent, then forked: the workers hung forever. */
static void test_devices_all_with_two_workers_finishes(void **state)
{
    (void)state;
    if (!have_device()) skip();
    char *out = NULL;
    int rc = cli_run(&out, "timeout -k 5 240 $PEGR sweep --preset tiny --steps 20 --grid n=10,20 "
                           "--methods gd,pegr --seeds 0 --devices all --jobs-per-device 2 --quiet "
                           "--out $T/all");
    if (rc != 0) fail_msg("sweep exited %d (124: it hung): %s", rc, out);
    assert_non_null(strstr(out, "on 2 worker(s)"));
    assert_non_null(strstr(out, "holds 4 of 4 runs"));
    free(out);
}

/* ---- 14: signals ---------------------------------------------------------------------------- */

static void test_workers_die_with_a_sigkilled_parent(void **state)
{
    (void)state;
    char *out = NULL;
    /* the workers are the parent's children: listed before the kill, checked (and, on a build
     * where they survive, killed) after */
    cli_run(&out, SLOW " --out $T/kill9 > $T/kill9.log 2>&1 & pid=$!; " WAIT_FIRST_RUN("$T/kill9")
                  "kids=$(pgrep -P $pid); kill -9 $pid; wait $pid; sleep 0.5; "
                  "before=" COUNT_RUNS("$T/kill9") "; sleep 3; after=" COUNT_RUNS("$T/kill9") "; "
                  "alive=0; for k in $kids; do kill -0 $k 2>/dev/null && alive=$((alive+1)); done; "
                  "for k in $kids; do kill -9 $k 2>/dev/null; done; "
                  "echo RESULT $(echo $kids | wc -w) $alive $before $after");
    unsigned kids = 0, alive = 0, before = 0, after = 0;
    if (sscanf(result(out), "%u %u %u %u", &kids, &alive, &before, &after) != 4) fail_msg("%s", out);
    free(out);
    assert_int_equal(kids, 2);
    assert_true(before >= 1 && before < SLOW_RUNS); /* killed part-way */
    assert_int_equal(alive, 0);                     /* no worker outlives the parent */
    assert_int_equal(after, before);                /* and none lands a run afterwards */
    /* the next sweep cleans up and finishes */
    assert_int_equal(cli_run(&out, "timeout -k 5 120 " SLOW " --out $T/kill9"), 0);
    free(out);
    assert_int_equal(cli_run(&out, "echo " COUNT_RUNS("$T/kill9") " $(ls -a $T/kill9/runs | grep -c tmp)"),
                     0);
    unsigned runs = 0, tmps = 0;
    assert_int_equal(sscanf(out, "%u %u", &runs, &tmps), 2);
    assert_int_equal(runs, SLOW_RUNS);
    assert_int_equal(tmps, 0);
    free(out);
}

static void test_sigterm_stops_the_workers_and_a_rerun_finishes(void **state)
{
    (void)state;
    char *out = NULL;
    cli_run(&out, SLOW " --out $T/term > $T/term.log 2>&1 & pid=$!; " WAIT_FIRST_RUN("$T/term")
                  "t0=$(date +%%s%%N); kill -TERM $pid; wait $pid; rc=$?; t1=$(date +%%s%%N); "
                  "echo RESULT $rc $(( (t1 - t0) / 1000000 )) " COUNT_RUNS("$T/term"));
    int rc = -1;
    unsigned ms = 0, landed = 0;
    if (sscanf(result(out), "%d %u %u", &rc, &ms, &landed) != 3) fail_msg("%s", out);
    free(out);
    assert_int_equal(rc, 130);
    /* it stopped at the workers' next step, not after every run (old main: all 16, ~5 s) */
    if (landed >= SLOW_RUNS || ms > 3000) fail_msg("%u of %d runs landed, exit after %u ms", landed, SLOW_RUNS, ms);
    /* rerunning runs only the rest, each run once */
    assert_int_equal(cli_run(&out, "timeout -k 5 120 " SLOW " --out $T/term"), 0);
    char expect[64];
    snprintf(expect, sizeof expect, "%u already done, %u to run", landed, SLOW_RUNS - landed);
    if (!strstr(out, expect)) fail_msg("expected '%s' in: %s", expect, out);
    free(out);
    char *csv = cli_read("term/results.csv");
    size_t lines = 0;
    for (char *c = csv; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, SLOW_RUNS + 1);
    for (char *line = strchr(csv, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        char id[256];
        snprintf(id, sizeof id, "\n%.*s,", (int)strcspn(line, ","), line);
        char *first = strstr(csv, id);
        assert_non_null(first);
        assert_null(strstr(first + 1, id));
    }
    free(csv);
}

/* ---- 15: two sweeps on one directory -------------------------------------------------------- */

/* --help says what the lock does (old main's help said nothing of it). */
static void test_help_describes_the_lock(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, "$PEGR sweep --help"), 0);
    const char *says[] = {"DIR/.lock", "DIR/.lock.shard-I-of-N", "exits 1 naming the holder's pid",
                          "shards of one sweep run side by side"};
    for (size_t k = 0; k < sizeof says / sizeof says[0]; k++)
        if (!strstr(out, says[k])) fail_msg("--help does not say '%s':\n%s", says[k], out);
    free(out);
}

static void test_second_sweep_on_a_directory_exits_naming_the_holder(void **state)
{
    (void)state;
    char *out = NULL;
    cli_run(&out, SLOW " --out $T/lock > $T/lockA.log 2>&1 & pid=$!; " WAIT_FIRST_RUN("$T/lock")
                  "timeout -k 5 120 " SLOW " --out $T/lock > $T/lockB.log 2>&1; rcb=$?; "
                  "wait $pid; echo RESULT $pid $? $rcb");
    long pid = 0;
    int rca = -1, rcb = -1;
    if (sscanf(result(out), "%ld %d %d", &pid, &rca, &rcb) != 3) fail_msg("%s", out);
    free(out);
    char *a = cli_read("lockA.log"), *b = cli_read("lockB.log");
    char holder[64];
    snprintf(holder, sizeof holder, "pid %ld", pid);
    if (rca != 0 || rcb != 1 || !strstr(b, holder) || strstr(b, "] "))
        fail_msg("first sweep exited %d, second %d (expected 0 and 1 naming %s, no run):\n%s\n%s",
                 rca, rcb, holder, a, b);
    /* every run trained once, by the first sweep */
    size_t landed = 0;
    for (char *c = a; (c = strstr(c, "] ")); c++) landed++;
    assert_int_equal(landed, SLOW_RUNS);
    free(a);
    free(b);

    /* shards of one sweep share the directory and run side by side; one shard twice does not */
    assert_int_equal(cli_run(&out, SLOW " --out $T/shards --shard 0/2 > $T/s0.log 2>&1 & p0=$!; "
                                   WAIT_FIRST_RUN("$T/shards")
                                   "timeout -k 5 60 " SLOW " --out $T/shards --shard 0/2 > $T/s0b.log 2>&1; r0b=$?; "
                                   "timeout -k 5 120 " SLOW " --out $T/shards --shard 1/2 > $T/s1.log 2>&1; r1=$?; "
                                   "wait $p0; echo RESULT $? $r0b $r1 " COUNT_RUNS("$T/shards")),
                     0);
    int r0 = -1, r0b = -1, r1 = -1;
    unsigned runs = 0;
    if (sscanf(result(out), "%d %d %d %u", &r0, &r0b, &r1, &runs) != 4) fail_msg("%s", out);
    free(out);
    assert_int_equal(r0, 0);
    assert_int_equal(r0b, 1);
    assert_int_equal(r1, 0);
    assert_int_equal(runs, SLOW_RUNS);
}

int main(void)
{
    if (cli_setup("pegr-sweep-proc-test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stale_temporary_named_like_a_command_runs_nothing),
        cmocka_unit_test(test_interrupted_run_under_an_out_with_a_quote_runs_nothing),
        cmocka_unit_test(test_symlinks_in_a_stale_temporary_are_not_followed),
        cmocka_unit_test(test_a_run_without_a_complete_row_is_trained_again),
        cmocka_unit_test(test_out_path_near_1000_characters_lands_its_runs),
        cmocka_unit_test(test_devices_all_with_two_workers_finishes),
        cmocka_unit_test(test_workers_die_with_a_sigkilled_parent),
        cmocka_unit_test(test_sigterm_stops_the_workers_and_a_rerun_finishes),
        cmocka_unit_test(test_help_describes_the_lock),
        cmocka_unit_test(test_second_sweep_on_a_directory_exits_naming_the_holder),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (cli_teardown() != 0 && rc == 0) rc = 1;
    return rc;
}

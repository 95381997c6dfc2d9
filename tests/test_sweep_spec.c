/* test_sweep_spec.c: what a sweep is and what it leaves (issue 11), end to end through the pegr
 * binary on the host reference: emitted scripts run nothing but pegr, run ids stay inside the
 * sweep directory and are made of safe characters, a robust-sigmas axis really changes the runs,
 * --extend retrains runs whose fixed options changed, duplicates are refused, collect reports its
 * own errors and damaged files (a FIFO or a link to /dev/zero refused at once), a diverged run has
 * empty metrics and a progress line without a test error, long directory names work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_support.h"

/* Two fast runs. */
#define TINY "$PEGR sweep --preset tiny --steps 20 --log-every 10 --methods gd --grid n=10,20 " \
             "--device host --quiet"

/* A name that a shell would run commands from if it were not quoted: a quote, $(...), backticks,
 * ';', '&' and spaces (shell text: single-quoted, ' as '\''). Each injected command would create
 * a PWN file in $T. */
#define HOSTILE "'o'\\''d $(touch PWN1) `touch PWN2`;touch PWN3 &x'"

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++) n += *text == '\n';
    return n;
}

/* Column `name` of results.csv row `row` (1 = the first run) in $T/rel: malloc'ed, "" when empty.
 * Fails the test when there is no such column or row. (No field here holds a quoted comma before
 * the device column, the only quoted one.) */
static char *csv_field(const char *rel, size_t row, const char *name)
{
    char *text = cli_read(rel);
    size_t col = 0, len = strlen(name);
    const char *h = text;
    for (;;) {
        size_t w = strcspn(h, ",\n");
        if (w == len && !strncmp(h, name, len)) break;
        if (h[w] != ',') fail_msg("%s has no column %s", rel, name);
        h += w + 1;
        col++;
    }
    const char *line = text;
    for (size_t r = 0; r < row; r++) {
        line = strchr(line, '\n');
        if (!line || !line[1]) fail_msg("%s has no row %zu", rel, row);
        line++;
    }
    for (size_t c = 0; c < col; c++) line += strcspn(line, ",\n") + 1;
    size_t w = strcspn(line, ",\n");
    char *out = malloc(w + 1);
    memcpy(out, line, w);
    out[w] = '\0';
    free(text);
    return out;
}

/* No injected command ran: no PWN file in $T. */
static void assert_nothing_injected(void)
{
    char *out = NULL;
    cli_run(&out, "ls $T | grep -cx 'PWN[0-9]' || true");
    if (atol(out) != 0) fail_msg("an injected command ran: %s", out);
    free(out);
}

/* ---- 2. emitted scripts run nothing but pegr ------------------------------------------------ */

static void test_emitted_slurm_script_runs_only_pegr_on_hostile_names(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "cd $T && O=" HOSTILE " && " TINY " --out \"$O\" --emit slurm --shards 2 && "
                     "for i in 0 1; do SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=2 "
                     "bash \"$O/sweep.slurm\" || exit 1; done && $PEGR collect \"$O\"");
    if (rc != 0) fail_msg("%s", out);
    /* both shards ran pegr with the odd --out intact: the runs landed in it */
    assert_non_null(strstr(out, "2 of 2 runs"));
    free(out);
    assert_nothing_injected();
    /* sbatch reads #SBATCH lines without a shell: no --output for such a name */
    assert_int_equal(cli_run(&out, "cd $T && grep -c '^#SBATCH --output' " HOSTILE "/sweep.slurm"), 1);
    free(out);
    /* a hostile device name reaches pegr intact (and matches no device) */
    rc = cli_run(&out, "cd $T && " TINY " --out dev --emit slurm --shards 1 "
                 "--device \"zz'q \\$(touch PWN4) \\`touch PWN5\\`\" && "
                 "SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=1 bash dev/sweep.slurm");
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "zz'q $(touch PWN4) `touch PWN5`"));
    free(out);
    assert_nothing_injected();
    /* a plain name keeps its --output line */
    assert_int_equal(cli_run(NULL, "grep -q '^#SBATCH --output=dev/slurm-' $T/dev/sweep.slurm"), 0);
}

static void test_emitted_parallel_commands_run_only_pegr_on_hostile_names(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "cd $T && O=" HOSTILE "p && " TINY " --out \"$O\" --emit parallel "
                     "--shards 2 && bash \"$O/sweep.parallel\" && $PEGR collect \"$O\"");
    if (rc != 0) fail_msg("%s", out);
    assert_non_null(strstr(out, "2 of 2 runs"));
    free(out);
    assert_nothing_injected();
    if (cli_run(NULL, "command -v parallel") != 0) return; /* GNU parallel is not installed */
    rc = cli_run(&out, "cd $T && O=" HOSTILE "q && " TINY " --out \"$O\" --emit parallel "
                 "--shards 2 && parallel --will-cite -j 1 :::: \"$O/sweep.parallel\" && "
                 "$PEGR collect \"$O\"");
    if (rc != 0) fail_msg("%s", out);
    assert_non_null(strstr(out, "2 of 2 runs"));
    free(out);
    assert_nothing_injected();
}

static void test_control_characters_are_refused_naming_the_option(void **state)
{
    (void)state;
    static const struct { const char *args, *option; } cases[] = {
        {"--out \"$T/nl$(printf '\\nx')\"", "--out"},
        {"--out $T/cr --device \"host$(printf '\\ntouch PWN6')\"", "--device"},
        {"--out $T/esc --devices \"host$(printf '\\033')\"", "--devices"},
        {"--out $T/tab --grid \"lam=0.1,$(printf '0.2\\t')\"", "--grid"},
        {"--out $T/gnl --grid=\"lam=0.1$(printf '\\n0.15'),0.2\"", "--grid"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *out = NULL;
        int rc = cli_run(&out, TINY " %s --emit slurm", cases[k].args);
        if (rc != 2) fail_msg("'%s' exited %d, not 2: %s", cases[k].args, rc, out);
        char want[64];
        snprintf(want, sizeof want, "pegr sweep: %s", cases[k].option);
        if (!strstr(out, want) || !strstr(out, "control character"))
            fail_msg("'%s': no message naming %s: %s", cases[k].args, cases[k].option, out);
        free(out);
    }
    /* refused before anything was written */
    char *out = NULL;
    cli_run(&out, "ls -d $T/nl* $T/cr $T/esc $T/tab $T/gnl 2>/dev/null | grep -c . || true");
    assert_int_equal(atol(out), 0);
    free(out);
    assert_nothing_injected();
}

/* ---- 3. run ids cannot leave the sweep directory ------------------------------------------- */

static void test_grid_values_cannot_leave_the_sweep_directory(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "mkdir -p $T/trav/a/b/c/d && cd $T/trav/a/b/c/d && " TINY
                     " --out o --grid 'robust-sigmas=/,/../../../../X'");
    if (rc != 2) fail_msg("exit %d, not 2: %s", rc, out);
    assert_non_null(strstr(out, "robust-sigmas"));
    free(out);
    /* nothing outside --out (nor inside: it was refused before anything was written) */
    assert_int_equal(cli_run(&out, "find $T/trav | grep -v '^'$T'/trav/a/b/c/d$' | grep -c '/X\\|/o' || true"), 0);
    assert_int_equal(atol(out), 0);
    free(out);
    /* any value with a character outside [A-Za-z0-9._=+-] is refused, whatever the option */
    const char *bad[] = {"--grid 'robust-sigmas=0.1,0 .2'", "--grid 'lam=0.1,0.2/'",
                         "--grid 'representation=primal,span;'", "--grid 'lr=0.1,..'"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        rc = cli_run(&out, TINY " --out $T/bad %s", bad[k]);
        if (rc != 2) fail_msg("'%s' exited %d, not 2: %s", bad[k], rc, out);
        free(out);
    }
    /* ids are bounded: four axes of long values would make names past the limit */
    rc = cli_run(&out, "$PEGR sweep --preset tiny --methods pegr --out $T/long --grid lr=0.1000000000000000000000000001 "
                 "--grid lam=0.1000000000000000000000000001 --grid sigma0=0.01000000000000000000000000001 "
                 "--grid label-noise=0.100000000000000000000000001 --emit parallel");
    if (rc != 2) fail_msg("exit %d, not 2: %s", rc, out);
    assert_non_null(strstr(out, "characters"));
    free(out);
}

static void test_a_robust_sigmas_axis_changes_the_runs(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = cli_run(&out, "$PEGR sweep --preset tiny --steps 20 --methods gd --device host --quiet "
                     "--grid robust-sigmas=0.1,100 --out $T/robust");
    if (rc != 0) fail_msg("%s", out);
    free(out);
    /* each run was tested at its own sigma: one column each, the other empty */
    char *a1 = csv_field("robust/results.csv", 1, "robust_test_error_0.1");
    char *a2 = csv_field("robust/results.csv", 1, "robust_test_error_100");
    char *b1 = csv_field("robust/results.csv", 2, "robust_test_error_0.1");
    char *b2 = csv_field("robust/results.csv", 2, "robust_test_error_100");
    assert_true(*a1 && !*a2 && !*b1 && *b2);
    /* at sigma 100 the noise drowns the signal: chance level */
    assert_true(atof(b2) > 0.3);
    free(a1);
    free(a2);
    free(b1);
    free(b2);
    char *text = cli_read("robust/results.csv");
    assert_null(strstr(text, "robust_test_error_0.2")); /* not the base's sigmas */
    free(text);
    /* and each run's own config says so */
    assert_int_equal(cli_run(&out, "grep -l '100' $T/robust/runs/*robust-sigmas=100*/config.json "
                                   "| grep -c ."), 0);
    free(out);
}

/* ---- 7. --extend never reuses a run trained with other options ----------------------------- */

static void test_extend_retrains_runs_whose_fixed_options_changed(void **state)
{
    (void)state;
    char *out = NULL;
    const char *base = "$PEGR sweep --preset tiny --log-every 10 --methods gd --grid n=10,20 "
                       "--device host --quiet --out $T/ext";
    assert_int_equal(cli_run(&out, "%s --steps 20", base), 0);
    free(out);
    int rc = cli_run(&out, "%s --steps 40 --extend", base);
    if (rc != 0) fail_msg("%s", out);
    assert_non_null(strstr(out, "0 already done, 2 to run"));
    free(out);
    char *text = cli_read("ext/results.csv");
    assert_int_equal(count_lines(text), 3);
    free(text);
    for (size_t r = 1; r <= 2; r++) {
        char *steps = csv_field("ext/results.csv", r, "steps");
        char *ran = csv_field("ext/results.csv", r, "steps_run");
        assert_string_equal(steps, "40");
        assert_string_equal(ran, "40");
        free(steps);
        free(ran);
    }
    /* the same sweep again: its runs are done */
    assert_int_equal(cli_run(&out, "%s --steps 40", base), 0);
    assert_non_null(strstr(out, "2 already done, 0 to run"));
    free(out);
    /* the precision is part of a run too */
    assert_int_equal(cli_run(&out, "%s --steps 40 --precision fp64 --extend", base), 0);
    assert_non_null(strstr(out, "0 already done, 2 to run"));
    free(out);
}

/* ---- 8. duplicates are refused -------------------------------------------------------------- */

static void test_duplicates_are_refused_naming_the_value(void **state)
{
    (void)state;
    static const struct { const char *args, *says; } cases[] = {
        {"--seeds 0,0", "seed 0 is given twice"},
        {"--seeds 0-3,2", "seed 2 is given twice"},
        {"--methods gd,pegr,gd", "'gd' twice"},
        {"--grid lam=0.1,0.2,0.1", "'0.1' is given twice"},
        {"--grid lam=0.5,0.50", "'0.5' and '0.50'"},
        {"--grid d=20,020", "'20' and '020'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *out = NULL;
        int rc = cli_run(&out, "$PEGR sweep --preset tiny --steps 20 --device host --quiet "
                         "--out $T/dup%zu %s", k, cases[k].args);
        if (rc != 2 || !strstr(out, cases[k].says))
            fail_msg("'%s' exited %d (not 2) or does not say \"%s\": %s", cases[k].args, rc,
                     cases[k].says, out);
        free(out);
    }
    /* --grid n=20,20 (the case): refused before any run */
    char *out = NULL;
    assert_int_equal(cli_run(&out, "$PEGR sweep --preset tiny --grid n=20,20 --out $T/dupn"), 2);
    free(out);
    assert_int_not_equal(cli_run(NULL, "test -e $T/dupn"), 0);
    /* a sweep.args edited to repeat a seed is not collected into a results.csv with a row twice */
    assert_int_equal(cli_run(&out, TINY " --out $T/dupc && printf -- '--seeds\\n0,0\\n' >> "
                                   "$T/dupc/sweep.args && rm $T/dupc/results.csv"), 0);
    free(out);
    assert_int_equal(cli_run(&out, "$PEGR collect $T/dupc"), 1);
    assert_non_null(strstr(out, "seed 0 is given twice"));
    free(out);
    assert_int_not_equal(cli_run(NULL, "test -e $T/dupc/results.csv"), 0);
}

/* ---- a sweep's size is capped, its validation bounded --------------------------------------- */

static void test_a_huge_sweep_is_refused_at_once_with_its_count(void **state)
{
    (void)state;
    char *out = NULL;
    /* was: a validation loop over all 2^43 runs (for days); `timeout` makes that a failure */
    int rc = cli_run(&out, "timeout 20 $PEGR sweep --grid n=1:256:1 --grid d=1:256:1 --grid "
                     "m=1:256:1 --grid steps=1:256:1 --seeds 0-1023 --out $T/huge --emit parallel");
    if (rc != 2 || !strstr(out, "8796093022208 runs") || !strstr(out, "1000000"))
        fail_msg("the 2^43-run sweep exited %d (not 2) or did not give its count and the cap: %s",
                 rc, out);
    free(out);
    assert_int_not_equal(cli_run(NULL, "test -e $T/huge"), 0);
    /* just past the cap (256 x 256 values x 2 methods x 16 seeds = 2097152) */
    rc = cli_run(&out, "timeout 20 $PEGR sweep --preset tiny --grid n=1:256:1 --grid d=1:256:1 "
                 "--seeds 0-15 --out $T/huge2 --emit parallel");
    if (rc != 2 || !strstr(out, "2097152 runs")) fail_msg("exit %d, not 2 with the count: %s", rc, out);
    free(out);
    /* at the cap (250 x 250 x 2 x 8 = 1000000): taken, every run's configuration checked in time */
    rc = cli_run(&out, "timeout 60 $PEGR sweep --preset tiny --grid n=1:250:1 --grid d=1:250:1 "
                 "--seeds 0-7 --out $T/cap --emit parallel");
    if (rc != 0) fail_msg("a sweep of exactly 1000000 runs exited %d: %s", rc, out);
    free(out);
    /* the combinations are still each checked: q 1.5 is valid for gd but not for pegr */
    rc = cli_run(&out, "timeout 20 $PEGR sweep --preset tiny --grid q=3,1.5 --methods gd,pegr "
                 "--seeds 0-3 --out $T/combo --emit parallel");
    if (rc != 2 || !strstr(out, "run pegr-s0-q=1.5")) fail_msg("exit %d, not 2 naming the run: %s", rc, out);
    free(out);
}

/* ---- numbers in ranges and seed lists parse strictly ---------------------------------------- */

static void test_grid_ranges_and_seeds_parse_strictly(void **state)
{
    (void)state;
    /* was: sscanf's %lf and %llu skipped spaces and took hex, inf and nan */
    static const struct { const char *args, *option; } cases[] = {
        {"--grid 'n= 10:20:10'", "--grid"},   {"--grid 'n=10: 20:10'", "--grid"},
        {"--grid 'n=0x10:0x14:2'", "--grid"}, {"--grid 'lam=0:inf:1'", "--grid"},
        {"--grid 'lam=nan:1:1'", "--grid"},   {"--grid 'n=10:20:10:5'", "--grid"},
        {"--grid 'n=10::10'", "--grid"},      {"--grid 'n=10:20:10 '", "--grid"},
        {"--grid 'n=10:20:1e400'", "--grid"}, {"--grid 'n=10:20:'", "--grid"},
        {"--seeds ' 1'", "--seeds"},          {"--seeds -1", "--seeds"},
        {"--seeds '0- 3'", "--seeds"},        {"--seeds +1", "--seeds"},
        {"--seeds 0x1", "--seeds"},           {"--seeds 3-1", "--seeds"},
        {"--seeds 18446744073709551616", "--seeds"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *out = NULL;
        int rc = cli_run(&out, "timeout 20 $PEGR sweep --preset tiny --device host --out $T/num%zu "
                         "--emit parallel %s", k, cases[k].args);
        if (rc != 2 || !strstr(out, cases[k].option))
            fail_msg("'%s' exited %d (not 2) or did not name %s: %s", cases[k].args, rc,
                     cases[k].option, out);
        free(out);
        if (cli_run(NULL, "test -e $T/num%zu", k) == 0) fail_msg("'%s' wrote its --out", cases[k].args);
    }
    /* the strict forms are still taken */
    char *out = NULL;
    int rc = cli_run(&out, "timeout 20 $PEGR sweep --preset tiny --device host --out $T/numok "
                     "--emit parallel --grid n=10:20:10 --grid lam=0.5:1.5:0.5e0 --seeds 0-2,7");
    if (rc != 0) fail_msg("strict ranges and seeds were refused: %s", out);
    free(out);
    char *canonical = cli_read("numok/sweep.canonical");
    assert_non_null(strstr(canonical, "axis n 10 20\n"));
    assert_non_null(strstr(canonical, "axis lam 0.5 1 1.5\n"));
    assert_non_null(strstr(canonical, "seeds 0 1 2 7\n"));
    free(canonical);
}

/* ---- collect: its own errors, damaged files ------------------------------------------------ */

static void test_collect_reports_garbage_sweep_args_as_its_own_error(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, TINY " --out $T/garb"), 0);
    free(out);
    const char *garbage[] = {"--bogus\\n", "--grid\\nn=10,20", "hello\\n", "--grid\\n\\nn=10\\n",
                             "--seeds\\n\\001\\n"};
    for (size_t k = 0; k < sizeof garbage / sizeof garbage[0]; k++) {
        int rc = cli_run(&out, "cp -r $T/garb $T/garb%zu && printf -- '%s' > $T/garb%zu/sweep.args && "
                         "$PEGR collect $T/garb%zu", k, garbage[k], k, k);
        if (rc != 1) fail_msg("sweep.args '%s': exit %d, not 1: %s", garbage[k], rc, out);
        char want[256];
        snprintf(want, sizeof want, "pegr collect: %s/garb%zu/sweep.args", cli_tmp(), k);
        if (!strstr(out, want)) fail_msg("sweep.args '%s': no error naming the file: %s", garbage[k], out);
        if (strstr(out, "pegr sweep")) fail_msg("sweep.args '%s': a message as pegr sweep: %s", garbage[k], out);
        free(out);
    }
}

static void test_collect_does_not_merge_a_truncated_row(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, TINY " --out $T/trunc"), 0);
    free(out);
    /* cut short without its newline; cut to 20 fields with one; doubled */
    const char *damage[] = {"head -c 60 $R > $R.x", "cut -d, -f1-20 $R > $R.x", "cat $R $R > $R.x"};
    for (size_t k = 0; k < sizeof damage / sizeof damage[0]; k++) {
        int rc = cli_run(&out, "cp -r $T/trunc $T/trunc%zu && R=$(ls $T/trunc%zu/runs/gd-s0-n=10*/row.csv) "
                         "&& %s && mv $R.x $R && $PEGR collect $T/trunc%zu", k, k, damage[k], k);
        if (rc != 1) fail_msg("damage '%s': exit %d, not 1: %s", damage[k], rc, out);
        char want[256];
        snprintf(want, sizeof want, "pegr collect: %s/trunc%zu/runs/gd-s0-n=10", cli_tmp(), k);
        if (!strstr(out, want)) fail_msg("damage '%s': no error naming the row: %s", damage[k], out);
        free(out);
        char rel[64];
        snprintf(rel, sizeof rel, "trunc%zu/results.csv", k);
        char *text = cli_read(rel);
        assert_int_equal(count_lines(text), 2); /* the header and the good run */
        assert_null(strstr(text, "gd-s0-n=10"));
        assert_non_null(strstr(text, "\ngd-s0-n=20"));
        free(text);
    }
}

/* The address-space cap of the /dev/zero case. AddressSanitizer reserves terabytes of shadow
 * memory when a process starts, so under it a `ulimit -v` stops pegr before main: there the case
 * relies on the exit code and the time limit alone. */
#if defined(__SANITIZE_ADDRESS__)
#define VM_CAP ""
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VM_CAP ""
#endif
#endif
#ifndef VM_CAP
#define VM_CAP "ulimit -v 1048576; "
#endif

/* A FIFO as sweep.args: old main's fopen waited for a writer forever. A symlink to /dev/zero as
 * a run's row.csv: old main read it until memory ran out (here: a 1 GiB ulimit). Both are
 * refused at once, naming the file. */
static void test_collect_refuses_a_fifo_and_a_link_to_dev_zero(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, TINY " --out $T/odd"), 0);
    free(out);
    int rc = cli_run(&out, "cp -r $T/odd $T/oddfifo && rm $T/oddfifo/sweep.args && "
                     "mkfifo $T/oddfifo/sweep.args && timeout -k 2 10 $PEGR collect $T/oddfifo");
    if (rc != 1) fail_msg("sweep.args a FIFO: exit %d, not 1 (124: it hung): %s", rc, out);
    assert_non_null(strstr(out, "FIFO"));
    free(out);
    rc = cli_run(&out, "cp -r $T/odd $T/oddzero && R=$(ls $T/oddzero/runs/gd-s0-n=10*/row.csv) && "
                 "rm $R && ln -s /dev/zero $R && (" VM_CAP "timeout -k 2 10 "
                 "$PEGR collect $T/oddzero)");
    if (rc != 4) fail_msg("row.csv a link to /dev/zero: exit %d, not 4 (a missing run): %s", rc, out);
    assert_non_null(strstr(out, "1 of 2 runs"));
    free(out);
}

static void test_collect_takes_every_directory(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(cli_run(&out, TINY " --out $T/many"), 0);
    free(out);
    /* 300 names of one directory: every run found 300 times, none dropped past 256 */
    int rc = cli_run(&out, "$PEGR collect $(for i in $(seq 300); do printf '%%s ' $T/many; done) "
                     "--out $T/many_out");
    assert_int_equal(rc, 4);
    assert_non_null(strstr(out, "found in 300 directories"));
    free(out);
}

static void test_collect_lists_missing_runs_of_a_long_directory_name(void **state)
{
    (void)state;
    /* a directory name of ~900 characters, with one of its two runs missing */
    char *out = NULL;
    int rc = cli_run(&out, "L=$T/$(printf 'd%%.0s' $(seq 200))/$(printf 'e%%.0s' $(seq 200))/"
                     "$(printf 'f%%.0s' $(seq 200))/$(printf 'g%%.0s' $(seq 200))/$(printf 'h%%.0s' $(seq 100)) && "
                     TINY " --out $L --shard 0/2 && $PEGR collect $L");
    assert_int_equal(rc, 4);
    assert_non_null(strstr(out, "1 of 2 runs"));
    /* the missing one, not both */
    const char *line = strstr(out, "missing:");
    assert_non_null(line);
    assert_non_null(strstr(line, "n=20"));
    assert_null(strstr(line, "n=10"));
    free(out);
}

/* ---- 5. a diverged run's row holds no metrics ------------------------------------------------ */

static void test_a_diverged_run_has_empty_metrics(void **state)
{
    (void)state;
    /* diverging at once, and the 8-step case (caught at the end of the run) */
    static const struct { const char *name, *args, *steps; } cases[] = {
        {"div", "--lr 1e6 --steps 60", "60"},
        {"div8", "--lr 10 --lam 1 --steps 8", "8"},
    };
    static const char *const metrics[] = {"train_loss", "objective", "train_error", "test_error",
                                          "gamma_mean", "rho_mean", "norm2_mean", "grad_norm",
                                          "robust_test_error_0.1", "robust_test_error_1"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *out = NULL;
        /* the sweep's own status is not the point here; collect must merge the row */
        cli_run(&out, "$PEGR sweep --preset tiny --methods pegr %s --device host --quiet "
                      "--out $T/%s; $PEGR collect $T/%s", cases[c].args, cases[c].name, cases[c].name);
        assert_non_null(strstr(out, "1 of 1 runs"));
        free(out);
        char rel[64];
        snprintf(rel, sizeof rel, "%s/results.csv", cases[c].name);
        char *div = csv_field(rel, 1, "diverged");
        if (strcmp(div, "1")) fail_msg("%s: the run did not diverge (diverged = %s)", cases[c].args, div);
        free(div);
        for (size_t k = 0; k < sizeof metrics / sizeof metrics[0]; k++) {
            char *v = csv_field(rel, 1, metrics[k]);
            if (*v) fail_msg("%s: a diverged run has %s = %s", cases[c].args, metrics[k], v);
            free(v);
        }
        /* what was asked is still said */
        char *steps = csv_field(rel, 1, "steps");
        assert_string_equal(steps, cases[c].steps);
        free(steps);
    }
}

/* The progress line of a diverged run says so and shows no test error (old main printed the last
 * record's, "test error 1.000" for the 8-step case, a number for a run that has none). */
static void test_a_diverged_runs_line_shows_no_test_error(void **state)
{
    (void)state;
    static const char *const cases[] = {"--lr 10 --lam 1 --steps 8", "--lr 1e6 --steps 60"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char *out = NULL;
        cli_run(&out, "$PEGR sweep --preset tiny --methods pegr %s --device host --quiet "
                      "--out $T/divline%zu", cases[c], c);
        const char *line = strstr(out, "[1/1] pegr-s0");
        if (!line) fail_msg("%s: no line for the run: %s", cases[c], out);
        size_t len = strcspn(line, "\n");
        char *text = strndup(line, len);
        if (!strstr(text, "  diverged  ") || strstr(text, "test error"))
            fail_msg("%s: the run's line is '%s' (expected 'diverged' and no test error)", cases[c],
                     text);
        free(text);
        free(out);
    }
}

int main(void)
{
    if (cli_setup("pegr-sweep-spec-test") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emitted_slurm_script_runs_only_pegr_on_hostile_names),
        cmocka_unit_test(test_emitted_parallel_commands_run_only_pegr_on_hostile_names),
        cmocka_unit_test(test_control_characters_are_refused_naming_the_option),
        cmocka_unit_test(test_grid_values_cannot_leave_the_sweep_directory),
        cmocka_unit_test(test_a_robust_sigmas_axis_changes_the_runs),
        cmocka_unit_test(test_extend_retrains_runs_whose_fixed_options_changed),
        cmocka_unit_test(test_duplicates_are_refused_naming_the_value),
        cmocka_unit_test(test_a_huge_sweep_is_refused_at_once_with_its_count),
        cmocka_unit_test(test_grid_ranges_and_seeds_parse_strictly),
        cmocka_unit_test(test_collect_reports_garbage_sweep_args_as_its_own_error),
        cmocka_unit_test(test_collect_does_not_merge_a_truncated_row),
        cmocka_unit_test(test_collect_refuses_a_fifo_and_a_link_to_dev_zero),
        cmocka_unit_test(test_collect_takes_every_directory),
        cmocka_unit_test(test_collect_lists_missing_runs_of_a_long_directory_name),
        cmocka_unit_test(test_a_diverged_run_has_empty_metrics),
        cmocka_unit_test(test_a_diverged_runs_line_shows_no_test_error),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (cli_teardown() != 0 && rc == 0) rc = 1;
    return rc;
}

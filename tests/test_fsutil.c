/* test_fsutil.c: the file helpers of src/util/fsutil.h facing odd files (issue 11): a whole-file read
 * never blocks on a FIFO nor reads a device such as /dev/zero, and stops at its size cap; an
 * atomic write never writes through a symlink, a FIFO or anything else planted under its
 * temporary's name. Each risky call runs in a forked child under an alarm (a hang fails, it does
 * not block the suite) and an address-space cap (a runaway read fails, it does not take the
 * machine's memory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pegr/io.h" /* the file calls are public */

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/pegr-fsutil-test-XXXXXX";
    if (!mkdtemp(tmpl)) return -1;
    tmpdir = strdup(tmpl);
    return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = pegr_remove_tree(tmpdir, NULL) == PEGR_OK ? 0 : -1;
    free(tmpdir);
    return rc;
}

/* $tmpdir/name, removed if there (malloc'ed). */
static char *fresh_path(const char *name)
{
    char *p = pegr_path_join(tmpdir, name);
    assert_non_null(p);
    assert_int_equal(pegr_remove_tree(p, NULL), PEGR_OK);
    return p;
}

/* A child's check: 0 when it held, else a message on stdout and 1. */
typedef int (*child_check)(const char *path);

/* Run check(path) in a forked child with a 10 s alarm and its address space capped 64 MiB above
 * its use (reading /proc/self/status's VmSize, as test_program_cache.c does). Fails the test when
 * the child hung (SIGALRM), died otherwise or reported a failure. */
static void run_guarded(child_check check, const char *path, const char *what)
{
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        unsigned long vm_kib = 0;
        while (f && fgets(line, sizeof line, f) && sscanf(line, "VmSize: %lu kB", &vm_kib) != 1) {}
        if (f) fclose(f);
        struct rlimit lim;
        if (vm_kib && getrlimit(RLIMIT_AS, &lim) == 0) {
            rlim_t cap = ((rlim_t)vm_kib + (64UL << 10)) * 1024;
            if (lim.rlim_max == RLIM_INFINITY || cap < lim.rlim_max) lim.rlim_cur = cap;
            setrlimit(RLIMIT_AS, &lim);
        }
        alarm(10);
        int rc = check(path);
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("%s: still blocked after 10 s", what);
    if (WIFSIGNALED(status)) fail_msg("%s: the child died of signal %d", what, WTERMSIG(status));
    if (WEXITSTATUS(status) != 0) fail_msg("%s: failed (see above)", what);
}

/* ---- pegr_file_read_all ----------------------------------------------------------------- */

/* read_all of path must fail with PEGR_ERR_IO and a message holding `expect`. */
static int expect_refused(const char *path, const char *expect)
{
    char *data = (char *)1;
    size_t len = 1;
    pegr_error err = {0};
    pegr_status s = pegr_file_read_all(path, &data, &len, &err);
    int ok = s == PEGR_ERR_IO && data == NULL && len == 0 &&
             strstr(pegr_error_message(&err), expect) != NULL;
    if (!ok)
        printf("read_all('%s'): status %d, '%s' (expected an I/O error naming '%s')\n", path, (int)s,
               pegr_error_message(&err), expect);
    else
        printf("refused: %s\n", pegr_error_message(&err));
    if (s == PEGR_OK) free(data);
    pegr_error_clear(&err);
    return !ok;
}

static int refused_as_fifo(const char *path) { return expect_refused(path, "FIFO"); }
static int refused_as_device(const char *path) { return expect_refused(path, "character device"); }
static int refused_as_too_large(const char *path) { return expect_refused(path, "more than"); }

/* Old main fopen'ed it: the open waited for a writer forever. */
static void test_read_all_of_a_fifo_is_refused_at_once(void **state)
{
    (void)state;
    char *path = fresh_path("fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    run_guarded(refused_as_fifo, path, "read_all of a FIFO");
    free(path);
}

/* Old main read /dev/zero until realloc failed (here: the address-space cap; elsewhere: the
 * machine's memory). */
static void test_read_all_of_a_symlink_to_dev_zero_is_refused_without_reading(void **state)
{
    (void)state;
    char *path = fresh_path("zero");
    assert_int_equal(symlink("/dev/zero", path), 0);
    run_guarded(refused_as_device, path, "read_all of a symlink to /dev/zero");
    free(path);
}

/* A sparse file one byte over the cap: refused from its size, nothing read. */
static void test_read_all_refuses_a_file_over_its_cap(void **state)
{
    (void)state;
    char *path = fresh_path("huge");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)PEGR_FILE_READ_MAX + 1), 0);
    assert_int_equal(fclose(f), 0);
    run_guarded(refused_as_too_large, path, "read_all of a file over the cap");
    free(path);
}

/* What still works: a regular file, and a symbolic link to one (followed); nothing there is
 * PEGR_ERR_NOT_FOUND. */
static void test_read_all_reads_a_file_and_a_link_to_one(void **state)
{
    (void)state;
    char *path = fresh_path("plain"), *link = fresh_path("link");
    assert_int_equal(pegr_file_write_atomic(path, "a,b\n", 4, NULL), PEGR_OK);
    assert_int_equal(symlink(path, link), 0);
    const char *names[] = {path, link};
    for (size_t k = 0; k < 2; k++) {
        char *data = NULL;
        size_t len = 0;
        assert_int_equal(pegr_file_read_all(names[k], &data, &len, NULL), PEGR_OK);
        assert_int_equal(len, 4);
        assert_string_equal(data, "a,b\n");
        free(data);
    }
    char *data = NULL;
    size_t len = 0;
    char *missing = fresh_path("missing");
    assert_int_equal(pegr_file_read_all(missing, &data, &len, NULL), PEGR_ERR_NOT_FOUND);
    assert_null(data);
    free(missing);
    free(path);
    free(link);
}

/* ---- pegr_file_write_atomic ------------------------------------------------------------- */

/* PATH.tmp.PID as pegr_file_write_atomic names its temporary (malloc'ed; NULL when out of
 * memory: no cmocka assert here, a child uses it too). */
static char *temporary_of(const char *path, pid_t pid)
{
    size_t cap = strlen(path) + 32;
    char *tmp = malloc(cap);
    if (tmp) snprintf(tmp, cap, "%s.tmp.%ld", path, (long)pid);
    return tmp;
}

static char *read_text(const char *path)
{
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pegr_file_read_all(path, &data, &len, NULL), PEGR_OK);
    return data;
}

/* path holds exactly `text` as a regular file (not a link). */
static void assert_regular_with(const char *path, const char *text)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    char *data = read_text(path);
    assert_string_equal(data, text);
    free(data);
}

/* Old main fopen'ed PATH.tmp.PID with "wb": it wrote through the link into its target, then
 * renamed the link over PATH. */
static void test_write_atomic_does_not_write_through_a_planted_symlink(void **state)
{
    (void)state;
    char *victim = fresh_path("victim"), *path = fresh_path("out.csv");
    assert_int_equal(pegr_file_write_atomic(victim, "original\n", 9, NULL), PEGR_OK);
    char *tmp = temporary_of(path, getpid());
    assert_non_null(tmp);
    assert_int_equal(symlink(victim, tmp), 0);
    assert_int_equal(pegr_file_write_atomic(path, "new\n", 4, NULL), PEGR_OK);
    assert_regular_with(victim, "original\n"); /* the link's target is untouched */
    assert_regular_with(path, "new\n");        /* and PATH is a file of its own */
    struct stat st;
    assert_int_not_equal(lstat(tmp, &st), 0); /* the link is gone, nothing left behind */
    free(tmp);
    free(victim);
    free(path);
}

/* In the child (run_guarded): a FIFO planted under this process's temporary name for path, then
 * the write. Old main's fopen of the FIFO blocked (no reader), forever. */
static int write_past_a_planted_fifo(const char *path)
{
    char *tmp = temporary_of(path, getpid());
    int rc = 1;
    if (!tmp) {
        printf("out of memory\n");
    } else if (mkfifo(tmp, 0600) != 0) {
        printf("mkfifo('%s'): %s\n", tmp, strerror(errno));
    } else {
        pegr_error err = {0};
        pegr_status s = pegr_file_write_atomic(path, "fifo?\n", 6, &err);
        struct stat st;
        if (s != PEGR_OK)
            printf("write_atomic('%s'): %s\n", path, pegr_error_message(&err));
        else if (lstat(tmp, &st) == 0)
            printf("'%s' is still there\n", tmp);
        else
            rc = 0;
        pegr_error_clear(&err);
    }
    free(tmp);
    return rc;
}

static void test_write_atomic_does_not_block_on_a_planted_fifo(void **state)
{
    (void)state;
    char *path = fresh_path("fifo_out.csv");
    run_guarded(write_past_a_planted_fifo, path, "write_atomic past a planted FIFO");
    assert_regular_with(path, "fifo?\n");
    free(path);
}

/* A directory under the temporary's name is not removed: the write fails, naming it, and an
 * existing PATH is untouched. */
static void test_write_atomic_refuses_a_directory_in_the_way(void **state)
{
    (void)state;
    char *path = fresh_path("kept.csv");
    assert_int_equal(pegr_file_write_atomic(path, "kept\n", 5, NULL), PEGR_OK);
    char *tmp = temporary_of(path, getpid());
    assert_non_null(tmp);
    assert_int_equal(mkdir(tmp, 0700), 0);
    pegr_error err = {0};
    assert_int_equal(pegr_file_write_atomic(path, "lost\n", 5, &err), PEGR_ERR_IO);
    assert_non_null(strstr(pegr_error_message(&err), tmp));
    pegr_error_clear(&err);
    assert_regular_with(path, "kept\n");
    struct stat st;
    assert_int_equal(lstat(tmp, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    free(tmp);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_all_of_a_fifo_is_refused_at_once),
        cmocka_unit_test(test_read_all_of_a_symlink_to_dev_zero_is_refused_without_reading),
        cmocka_unit_test(test_read_all_refuses_a_file_over_its_cap),
        cmocka_unit_test(test_read_all_reads_a_file_and_a_link_to_one),
        cmocka_unit_test(test_write_atomic_does_not_write_through_a_planted_symlink),
        cmocka_unit_test(test_write_atomic_does_not_block_on_a_planted_fifo),
        cmocka_unit_test(test_write_atomic_refuses_a_directory_in_the_way),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_cache_safety.c: the kernel binary cache on a real device (PoCL in CI) with entries someone
 * tampered with: a key field rewritten (the binary of another program), a FIFO and a symbolic link
 * to /dev/zero named like an entry; and the same odd files as the other files pegr reads from
 * directories others may write (the stored CLBlast tuning, $PEGR_KERNEL_DIR, .npy inputs). Each case runs in a forked child under an alarm, so a hang or
 * a crash in the driver fails that case instead of blocking or killing the suite; the child does
 * all of its OpenCL itself (no OpenCL may run in a process before it forks). Every case must end
 * with a working program, compiled from source, and the entry rewritten. Exits 77 (skip) only
 * when no device exists. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "device/gemm_tuning.h"
#include "device/kernel_source.h"
#include "util/npy.h"
#include "pegr/pegr.h"
#include "device/program_cache.h"
#include "test_device_pick.h"

/* In the child: report and exit 1 (cmocka's asserts would unwind into the child's copy of the
 * runner). */
#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            _exit(1);                                                                         \
        }                                                                                     \
    } while (0)

#define CHILD_SKIP 77
#define CHILD_SECONDS 120 /* a PoCL compile takes well under a second; a hang takes forever */

static char cache_dir[64];
static int cache_warnings; /* warnings about the cache seen by the child's context */

static void on_log(void *user, pegr_log_level level, const char *message)
{
    (void)user;
    fprintf(stderr, "log: %s\n", message);
    if (level == PEGR_LOG_WARN && strstr(message, "cache")) cache_warnings++;
}

/* The names (key + ".bin") of the entries in the cache directory, up to 4. */
static size_t entries(char names[4][64])
{
    DIR *d = opendir(cache_dir);
    CHECK(d != NULL);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (len == 36 && strcmp(e->d_name + 32, ".bin") == 0 && n < 4)
            snprintf(names[n++], 64, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static char *in_cache(const char *name)
{
    size_t len = strlen(cache_dir) + strlen(name) + 2;
    char *p = malloc(len);
    CHECK(p != NULL);
    snprintf(p, len, "%s/%s", cache_dir, name);
    return p;
}

/* Build smoke.cl as pegr_smoke_run does (same key); returns whether it came from the cache. */
static int build_smoke(pegr_context *ctx, pegr_precision precision)
{
    pegr_program *prog = NULL;
    const char *files[] = {"smoke.cl"};
    pegr_status s = pegr_program_build(ctx, files, 1, precision, NULL, &prog);
    if (s != PEGR_OK) fprintf(stderr, "build: %s\n", pegr_context_error(ctx)->message);
    CHECK(s == PEGR_OK);
    int hit = pegr_program_from_cache(prog);
    pegr_program_release(prog);
    return hit;
}

/* The fp32 smoke program runs and gives exact results. */
static void check_smoke_works(pegr_context *ctx)
{
    double err = -1;
    pegr_status s = pegr_smoke_run(ctx, PEGR_FP32, 1000, &err, NULL);
    if (s != PEGR_OK) fprintf(stderr, "smoke: %s\n", pegr_context_error(ctx)->message);
    CHECK(s == PEGR_OK);
    CHECK(err == 0.0);
}

/* The fp32 smoke program's entry: build it into the empty cache and name the one file. */
static char *fp32_entry(pegr_context *ctx)
{
    CHECK(build_smoke(ctx, PEGR_FP32) == 0);
    char names[4][64];
    CHECK(entries(names) == 1);
    return in_cache(names[0]);
}

/* After a tampered entry: the build compiled from source with a warning, the entry is a regular
 * file again, the next build is a hit from it, and the program works. */
static void check_recovered(pegr_context *ctx, const char *path)
{
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
    CHECK(build_smoke(ctx, PEGR_FP32) == 1);
    check_smoke_works(ctx);
}

/* The device case the next forked child runs. */
static void (*device_case)(pegr_context *ctx);

/* A device case's child: its own device list and context, then the case. */
static void device_child(void)
{
    pegr_device_info *list = NULL;
    size_t count = 0;
    /* quiet: main has named the device once already */
    pegr_device_info *dev = test_device_pick(NULL, 0, &list, &count, NULL);
    if (!dev) _exit(CHILD_SKIP);
    pegr_context_options opts = {0};
    opts.log = on_log;
    pegr_context *ctx = NULL;
    CHECK(pegr_context_create(dev, &opts, &ctx, NULL) == PEGR_OK);
    device_case(ctx);
    pegr_context_destroy(ctx);
    pegr_device_list_free(list);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Run body in a forked child under an alarm, with a fresh cache directory in $PEGR_CACHE_DIR (and
 * in cache_dir); the case passes when the child exits 0, is skipped on CHILD_SKIP. */
static void forked(void (*body)(void))
{
    snprintf(cache_dir, sizeof cache_dir, "/tmp/pegr-cache-safety-XXXXXX");
    assert_non_null(mkdtemp(cache_dir));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(CHILD_SECONDS);
        setenv("PEGR_CACHE_DIR", cache_dir, 1);
        unsetenv("PEGR_NO_CACHE");
        unsetenv("PEGR_KERNEL_DIR");
        body();
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) assert_int_equal(errno, EINTR);
    assert_int_equal(nftw(cache_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SKIP) skip();
    if (WIFSIGNALED(status))
        fail_msg("the case died of signal %d (%s)", WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? "it hung" : "it crashed");
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void run_case(void (*fn)(pegr_context *ctx))
{
    device_case = fn;
    forked(device_child);
}

/* (a) The fp64 program's entry copied under the fp32 program's name, its key field rewritten to
 * match: the binary and its checksum are untouched (format 1 accepted it and every run then failed
 * or crashed in the driver with the wrong program). */
static void key_rewritten(pegr_context *ctx)
{
    if (!pegr_context_device(ctx)->fp64) _exit(CHILD_SKIP);
    CHECK(build_smoke(ctx, PEGR_FP64) == 0);
    char names[4][64];
    CHECK(entries(names) == 1);
    char *fp64 = in_cache(names[0]);
    CHECK(build_smoke(ctx, PEGR_FP32) == 0);
    CHECK(entries(names) == 2); /* fp32's is the one that is not fp64's */
    char *fp32 = in_cache(strcmp(names[0], strrchr(fp64, '/') + 1) ? names[0] : names[1]);

    FILE *f = fopen(fp64, "rb");
    CHECK(f != NULL);
    static unsigned char data[1 << 22];
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    CHECK(len > 80 && len < sizeof data);
    memcpy(data + 8, strrchr(fp32, '/') + 1, 32); /* the key field */
    f = fopen(fp32, "wb");
    CHECK(f != NULL && fwrite(data, 1, len, f) == len && fclose(f) == 0);

    cache_warnings = 0;
    CHECK(build_smoke(ctx, PEGR_FP32) == 0); /* compiled, not loaded */
    CHECK(cache_warnings >= 1);
    /* rewritten: the fp32 entry is not the tampered bytes any more */
    f = fopen(fp32, "rb");
    CHECK(f != NULL);
    static unsigned char now[1 << 22];
    size_t now_len = fread(now, 1, sizeof now, f);
    fclose(f);
    CHECK(now_len != len || memcmp(now, data, len) != 0);
    check_recovered(ctx, fp32);
    free(fp32);
    free(fp64);
}

static void test_entry_with_rewritten_key_is_rebuilt_and_works(void **state)
{
    (void)state;
    run_case(key_rewritten);
}

/* (b) A FIFO with the entry's name (nobody writes to it): opening it used to block forever. */
static void fifo_entry(pegr_context *ctx)
{
    char *path = fp32_entry(ctx);
    CHECK(unlink(path) == 0);
    CHECK(mkfifo(path, 0600) == 0);
    cache_warnings = 0;
    CHECK(build_smoke(ctx, PEGR_FP32) == 0);
    CHECK(cache_warnings >= 1);
    check_recovered(ctx, path);
    free(path);
}

static void test_fifo_entry_does_not_hang_and_is_replaced(void **state)
{
    (void)state;
    run_case(fifo_entry);
}

/* An entry with a valid checksum over a binary that is not one (someone who recomputed it): the
 * driver's refusal, or a build status other than CL_BUILD_SUCCESS, means compiling from source. */
static void forged_entry(pegr_context *ctx)
{
    char *path = fp32_entry(ctx);
    char key[33];
    snprintf(key, sizeof key, "%.32s", strrchr(path, '/') + 1);
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(i * 37 + 11);
    CHECK(pegr_cache_store(cache_dir, key, junk, sizeof junk, NULL) == PEGR_OK);
    cache_warnings = 0;
    test_expect_api_error("clCreateProgramWithBinary", "CL_INVALID_BINARY"); /* Oclgrind's refusal */
    CHECK(build_smoke(ctx, PEGR_FP32) == 0);
    CHECK(cache_warnings >= 1);
    check_recovered(ctx, path);
    free(path);
}

static void test_forged_entry_the_driver_refuses_is_rebuilt(void **state)
{
    (void)state;
    run_case(forged_entry);
}

/* The data segment in use now, from /proc/self/status (0 where there is none). */
static long vm_data_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    return ru.ru_maxrss;
}

/* (c) A symbolic link to /dev/zero with the entry's name: it used to be read until memory ran out.
 * The data segment is capped 1 GiB above its use (so a regression fails here rather than taking
 * the machine's memory), and the peak RSS may not grow by more than 64 MiB. */
static void dev_zero_entry(pegr_context *ctx)
{
    char *path = fp32_entry(ctx);
    CHECK(unlink(path) == 0);
    CHECK(symlink("/dev/zero", path) == 0);
    long data = vm_data_kib();
    if (data > 0) {
        struct rlimit rl;
        CHECK(getrlimit(RLIMIT_DATA, &rl) == 0);
        rlim_t cap = ((rlim_t)data + (1L << 20)) * 1024;
        if (rl.rlim_max == RLIM_INFINITY || cap < rl.rlim_max) rl.rlim_cur = cap;
        CHECK(setrlimit(RLIMIT_DATA, &rl) == 0);
    }
    long before = peak_rss_kib();
    cache_warnings = 0;
    CHECK(build_smoke(ctx, PEGR_FP32) == 0);
    long grew = peak_rss_kib() - before;
    fprintf(stderr, "peak RSS grew by %ld KiB\n", grew);
    CHECK(grew < 64 * 1024);
    CHECK(cache_warnings >= 1);
    check_recovered(ctx, path);
    free(path);
}

static void test_symlink_to_dev_zero_is_refused_quickly(void **state)
{
    (void)state;
    run_case(dev_zero_entry);
}

/* Sibling files read from directories others may write. */

/* A file named path that is each odd thing in turn -- a FIFO nobody writes to, a symbolic link to
 * /dev/zero -- must be refused by `reader` (0 = refused) quickly (the child's alarm) and without a
 * large allocation; the address space is capped 256 MiB above its use meanwhile, so a regression
 * fails here instead of taking the machine's memory. */
static void check_odd_files_refused(const char *path, int (*reader)(const char *path))
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_AS, &rl) == 0);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long vm_kib = 0;
    while (f && fgets(line, sizeof line, f) && sscanf(line, "VmSize: %lu kB", &vm_kib) != 1) {}
    if (f) fclose(f);
    rlim_t cap = ((rlim_t)vm_kib + (256UL << 10)) * 1024;
    if (vm_kib && (rl.rlim_max == RLIM_INFINITY || cap < rl.rlim_max)) rl.rlim_cur = cap;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);

    unlink(path);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(reader(path) == 0);
    CHECK(unlink(path) == 0);
    CHECK(symlink("/dev/zero", path) == 0);
    long before = peak_rss_kib();
    CHECK(reader(path) == 0);
    CHECK(peak_rss_kib() - before < 16 * 1024);
    CHECK(unlink(path) == 0);
}

/* The stored CLBlast tuning (in the cache directory): FIFO, /dev/zero, and values pegr never
 * measured are refused; a candidate pegr stores is applied. */
static pegr_context *tuning_ctx;

static int apply_tuning(const char *path)
{
    (void)path;
    return pegr_tuning_apply(tuning_ctx, PEGR_FP32);
}

static void write_text(const char *path, const char *text)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0);
}

static void tuning_files(pegr_context *ctx)
{
#ifndef PEGR_HAVE_CLBLAST
    (void)ctx;
    _exit(CHILD_SKIP);
#else
    unsetenv("PEGR_NO_TUNING");
    tuning_ctx = ctx;
    char *path = pegr_tuning_path(pegr_context_device(ctx), PEGR_FP32);
    CHECK(path != NULL);
    check_odd_files_refused(path, apply_tuning);
    /* Values CLBlast would be handed blindly before: zeros (divisions by a tile size of 0), and a
     * sign that %zu turns into 2^64 - 1. */
    write_text(path, "XgemmDirect 0 0 0 0 0 0 0 0 0 0\n");
    CHECK(apply_tuning(path) == 0);
    write_text(path, "XgemmDirect -1 8 8 8 8 1 1 1 1 1\n");
    CHECK(apply_tuning(path) == 0);
    /* What `pegr tune` stores: the first candidate. */
    write_text(path, "XgemmDirect 8 8 8 8 8 1 1 1 1 1\n");
    CHECK(apply_tuning(path) == 1);
    free(path);
#endif
}

static void test_stored_tuning_refuses_fifo_dev_zero_and_unknown_values(void **state)
{
    (void)state;
    run_case(tuning_files);
}

/* $PEGR_KERNEL_DIR: a FIFO or a link to /dev/zero named like a kernel is refused; a symbolic link
 * to a regular .cl file still works. */
static int load_kernel(const char *path)
{
    char *text = NULL;
    pegr_error err = {0};
    pegr_status s = pegr_kernel_source_load(strrchr(path, '/') + 1, &text, &err);
    if (s != PEGR_OK) fprintf(stderr, "refused: %s\n", pegr_error_message(&err));
    pegr_error_clear(&err);
    free(text);
    return s == PEGR_OK;
}

static void kernel_dir_files(void)
{
    setenv("PEGR_KERNEL_DIR", cache_dir, 1);
    char *path = in_cache("smoke.cl");
    check_odd_files_refused(path, load_kernel);
    char *real = in_cache("real.cl");
    write_text(real, "__kernel void k(__global float *x) { x[0] = 1; }\n");
    CHECK(symlink(real, path) == 0);
    CHECK(load_kernel(path) == 1);
    free(real);
    free(path);
}

static void test_kernel_dir_refuses_fifo_and_dev_zero(void **state)
{
    (void)state;
    forked(kernel_dir_files);
}

/* .npy inputs: a FIFO nobody writes to (read as empty) and a link to /dev/zero are refused; a pipe
 * with a writer (as from <(cmd)) is still read. */
static int read_npy(const char *path)
{
    pegr_array a;
    pegr_error err = {0};
    pegr_status s = pegr_npy_read(path, &a, &err);
    if (s != PEGR_OK) fprintf(stderr, "refused: %s\n", pegr_error_message(&err));
    pegr_error_clear(&err);
    pegr_array_free(&a);
    return s == PEGR_OK;
}

static void npy_files(void)
{
    char *path = in_cache("X.npy");
    check_odd_files_refused(path, read_npy);
    /* A pipe with a writer, as bash's <(cmd) passes one: /dev/fd/N of a pipe a child writes a
     * real .npy into. */
    char *real = in_cache("real.npy");
    const double v[3] = {1, 2, 3};
    const size_t shape[1] = {3};
    CHECK(pegr_npy_write(real, v, 1, shape, 0, NULL) == PEGR_OK);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t writer = fork();
    CHECK(writer >= 0);
    if (writer == 0) {
        close(fds[0]);
        FILE *in = fopen(real, "rb");
        char buf[4096];
        size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
        _exit(n > 0 && write(fds[1], buf, n) == (ssize_t)n ? 0 : 1);
    }
    close(fds[1]);
    char fd_path[32];
    snprintf(fd_path, sizeof fd_path, "/dev/fd/%d", fds[0]);
    pegr_array a;
    pegr_error err = {0};
    pegr_status s = pegr_npy_read(fd_path, &a, &err);
    if (s != PEGR_OK) fprintf(stderr, "pipe: %s\n", pegr_error_message(&err));
    pegr_error_clear(&err);
    CHECK(s == PEGR_OK && a.size == 3 && a.data[2] == 3.0);
    pegr_array_free(&a);
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(writer, &status, 0) == writer && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(real);
    free(path);
}

static void test_npy_input_refuses_fifo_and_dev_zero(void **state)
{
    (void)state;
    forked(npy_files);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_with_rewritten_key_is_rebuilt_and_works),
        cmocka_unit_test(test_fifo_entry_does_not_hang_and_is_replaced),
        cmocka_unit_test(test_symlink_to_dev_zero_is_refused_quickly),
        cmocka_unit_test(test_forged_entry_the_driver_refuses_is_rebuilt),
        cmocka_unit_test(test_stored_tuning_refuses_fifo_dev_zero_and_unknown_values),
        cmocka_unit_test(test_kernel_dir_refuses_fifo_and_dev_zero),
        cmocka_unit_test(test_npy_input_refuses_fifo_and_dev_zero),
    };
    /* Name the device the device cases' children will pick, and fail now on a bad
     * PEGR_TEST_DEVICE, in a child of its own: OpenCL must not start in this process before its
     * forks (PoCL's worker threads would not exist in the children, which then hang). */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        pegr_device_info *list = NULL;
        size_t count = 0;
        if (test_device_pick("test_cache_safety", 0, &list, &count, NULL)) pegr_device_list_free(list);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    test_case_filters("test_cache_safety"); /* the child's filters do not reach this process */
    return cmocka_run_group_tests(tests, NULL, NULL);
}

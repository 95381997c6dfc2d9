/* test_program_cache.c: the binary cache on its own (no OpenCL): key stability and sensitivity,
 * store/load round trip, and that corrupt, truncated, foreign, rewritten, old-format, oversized or
 * odd files (FIFO, symbolic link, /dev/zero, another user's) are never trusted, never block and
 * never cost a large allocation. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/hash.h"
#include "device/program_cache.h"

/* The key of the fixed inputs below, as this version of pegr computes it. */
#define EXPECTED_KEY "8d46784087e3acf90f90fbfb3fca7082"

static char tmpdir[64];

static void fake_device(pegr_device_info *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, PEGR_INFO_STR, "pthread-skylake");
    snprintf(d->version, PEGR_INFO_STR, "OpenCL 3.0 PoCL");
    snprintf(d->driver_version, PEGR_INFO_STR, "3.1");
    snprintf(d->platform_name, PEGR_INFO_STR, "Portable Computing Language");
    snprintf(d->platform_version, PEGR_INFO_STR, "OpenCL 3.0 PoCL 3.1");
}

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pegr-cache-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static int remove_tmpdir(void **state)
{
    (void)state;
    /* FTW_PHYS: a symbolic link made by a test is removed, never followed. */
    return nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_key_is_stable_across_runs_and_versions(void **state)
{
    (void)state;
    pegr_device_info d;
    fake_device(&d);
    char a[33], b[33];
    pegr_cache_key("kernel void k(){}", "-D REAL=float", &d, a);
    pegr_cache_key("kernel void k(){}", "-D REAL=float", &d, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 32);
    /* A fixed value: if this changes, every user's cache is invalidated -- do it on purpose. */
    assert_string_equal(a, EXPECTED_KEY);
}

static void test_key_changes_with_every_input(void **state)
{
    (void)state;
    pegr_device_info d;
    fake_device(&d);
    char base[33], k[33];
    pegr_cache_key("src", "-D REAL=float", &d, base);
    pegr_cache_key("src ", "-D REAL=float", &d, k);
    assert_string_not_equal(base, k);
    pegr_cache_key("src", "-D REAL=double", &d, k);
    assert_string_not_equal(base, k);
    char *fields[] = {d.name, d.version, d.driver_version, d.platform_name, d.platform_version};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        pegr_device_info e = d;
        char *f = (char *)&e + (fields[i] - (char *)&d);
        strcat(f, "x");
        pegr_cache_key("src", "-D REAL=float", &e, k);
        assert_string_not_equal(base, k);
    }
    /* Field boundaries matter: moving a character from source to options changes the key. */
    pegr_cache_key("sr", "c-D REAL=float", &d, k);
    assert_string_not_equal(base, k);
}

static void test_store_then_load_returns_the_same_bytes(void **state)
{
    (void)state;
    const unsigned char bin[] = {1, 2, 3, 0, 255, 7};
    const char *key = "0123456789abcdef0123456789abcdef";
    unsigned char *out = NULL;
    size_t size = 0;
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size, NULL), PEGR_CACHE_MISS);
    assert_int_equal(pegr_cache_store(tmpdir, key, bin, sizeof bin, NULL), PEGR_OK);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size, NULL), PEGR_CACHE_HIT);
    assert_int_equal(size, sizeof bin);
    assert_memory_equal(out, bin, sizeof bin);
    free(out);
}

static void write_raw(const char *key, const void *data, size_t len)
{
    char *path = pegr_cache_path(tmpdir, key);
    assert_int_equal(pegr_file_write_atomic(path, data, len, NULL), PEGR_OK);
    free(path);
}

static char *read_raw(const char *key, size_t *len)
{
    char *path = pegr_cache_path(tmpdir, key);
    char *data = NULL;
    assert_int_equal(pegr_file_read_all(path, &data, len, NULL), PEGR_OK);
    free(path);
    return data;
}

static void test_corrupt_truncated_and_foreign_files_are_invalid(void **state)
{
    (void)state;
    const unsigned char bin[64] = {9, 9, 9};
    const char *key = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const char *other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_int_equal(pegr_cache_store(tmpdir, key, bin, sizeof bin, NULL), PEGR_OK);
    size_t len = 0;
    char *good = read_raw(key, &len);
    unsigned char *out = NULL;
    size_t size = 0;

    /* One flipped byte in the binary: the checksum catches it. */
    good[len - 1] ^= 1;
    write_raw(key, good, len);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size, NULL), PEGR_CACHE_INVALID);
    assert_null(out);
    good[len - 1] ^= 1;

    /* Truncated. */
    write_raw(key, good, len - 5);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size, NULL), PEGR_CACHE_INVALID);
    /* Shorter than a header; empty. */
    write_raw(key, good, 10);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size, NULL), PEGR_CACHE_INVALID);
    write_raw(key, good, 0);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size, NULL), PEGR_CACHE_INVALID);
    /* Foreign: a valid file stored under one key, found under another name. */
    write_raw(other, good, len);
    assert_int_equal(pegr_cache_load(tmpdir, other, &out, &size, NULL), PEGR_CACHE_INVALID);
    /* Not ours at all. */
    write_raw(key, "garbage that is long enough to pass for a header, but is not one at all!!!!!!!!!!",
              82);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size, NULL), PEGR_CACHE_INVALID);
    free(good);
}

/* Peak resident memory so far, in KiB. */
static long peak_rss_kib(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

/* Put `what` at key's entry path: remove the file there first. */
static char *entry_path_cleared(const char *key)
{
    char *path = pegr_cache_path(tmpdir, key);
    assert_non_null(path);
    unlink(path);
    return path;
}

/* Load key with a 10 s alarm (SIGALRM ends the test process: a hang fails instead of blocking
 * the suite) and a memory check: the peak RSS may not grow by more than 16 MiB. Meanwhile the
 * address space is capped 64 MiB above its use, so a regression that reads /dev/zero fails here
 * instead of taking the machine's memory. */
static pegr_cache_result load_guarded(const char *key, const char *why_contains)
{
    unsigned char *out = NULL;
    size_t size = 0;
    pegr_error why = {0};
    struct rlimit saved, capped;
    assert_int_equal(getrlimit(RLIMIT_AS, &saved), 0);
    capped = saved;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long vm_kib = 0;
    while (f && fgets(line, sizeof line, f) && sscanf(line, "VmSize: %lu kB", &vm_kib) != 1) {}
    if (f) fclose(f);
    rlim_t cap = ((rlim_t)vm_kib + (64UL << 10)) * 1024;
    if (vm_kib && (saved.rlim_max == RLIM_INFINITY || cap < saved.rlim_max)) capped.rlim_cur = cap;
    assert_int_equal(setrlimit(RLIMIT_AS, &capped), 0);
    long before = peak_rss_kib();
    alarm(10);
    pegr_cache_result r = pegr_cache_load(tmpdir, key, &out, &size, &why);
    alarm(0);
    assert_int_equal(setrlimit(RLIMIT_AS, &saved), 0);
    assert_true(peak_rss_kib() - before < 16 * 1024);
    if (r == PEGR_CACHE_INVALID && why_contains) {
        printf("refused: %s\n", pegr_error_message(&why));
        assert_non_null(strstr(pegr_error_message(&why), why_contains));
    }
    pegr_error_clear(&why);
    free(out);
    return r;
}

static void test_fifo_named_like_an_entry_is_refused_without_blocking(void **state)
{
    (void)state;
    const char *key = "cccccccccccccccccccccccccccccccc";
    char *path = entry_path_cleared(key);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(load_guarded(key, "FIFO"), PEGR_CACHE_INVALID);
    /* A store replaces it (rename over the FIFO, nothing written through it). */
    const unsigned char bin[] = {4, 5, 6};
    assert_int_equal(pegr_cache_store(tmpdir, key, bin, sizeof bin, NULL), PEGR_OK);
    assert_int_equal(load_guarded(key, NULL), PEGR_CACHE_HIT);
    free(path);
}

static void test_symlink_to_dev_zero_is_refused_without_reading(void **state)
{
    (void)state;
    const char *key = "dddddddddddddddddddddddddddddddd";
    char *path = entry_path_cleared(key);
    assert_int_equal(symlink("/dev/zero", path), 0);
    assert_int_equal(load_guarded(key, "symbolic link"), PEGR_CACHE_INVALID);
    free(path);
}

static void test_symlink_to_a_valid_entry_is_not_followed(void **state)
{
    (void)state;
    const char *key = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    const unsigned char bin[] = {7, 7, 7};
    char *sub = pegr_path_join(tmpdir, "elsewhere");
    assert_int_equal(pegr_cache_store(sub, key, bin, sizeof bin, NULL), PEGR_OK);
    char *target = pegr_cache_path(sub, key);
    char *path = entry_path_cleared(key);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(load_guarded(key, "symbolic link"), PEGR_CACHE_INVALID);
    free(path);
    free(target);
    free(sub);
}

static void test_file_over_the_size_cap_is_refused_without_reading(void **state)
{
    (void)state;
    const char *key = "ffffffffffffffffffffffffffffffff";
    const unsigned char bin[] = {1};
    assert_int_equal(pegr_cache_store(tmpdir, key, bin, sizeof bin, NULL), PEGR_OK);
    /* A sparse file: a real entry's header, then holes up to one byte over the cap. */
    char *path = pegr_cache_path(tmpdir, key);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)PEGR_CACHE_MAX_BYTES + 1), 0);
    close(fd);
    assert_int_equal(load_guarded(key, "more than"), PEGR_CACHE_INVALID);
    free(path);
}

static void test_entry_with_a_rewritten_key_fails_the_checksum(void **state)
{
    (void)state;
    const char *key = "11111111111111111111111111111111";
    const char *other = "22222222222222222222222222222222";
    const unsigned char bin[40] = {3, 1, 4, 1, 5};
    assert_int_equal(pegr_cache_store(tmpdir, key, bin, sizeof bin, NULL), PEGR_OK);
    size_t len = 0;
    char *data = read_raw(key, &len);
    /* The key field (bytes 8..40) rewritten, the binary and its checksum untouched: format 1's
     * payload-only checksum still matched such a file and the wrong binary was loaded. */
    memcpy(data + 8, other, 32);
    write_raw(other, data, len);
    assert_int_equal(load_guarded(other, "checksum"), PEGR_CACHE_INVALID);
    free(data);
}

static void test_entry_of_the_old_format_is_ignored(void **state)
{
    (void)state;
    const char *key = "33333333333333333333333333333333";
    const unsigned char bin[16] = {8, 8};
    /* Format 1, written as pegr before this change did: checksum over the binary only. */
    unsigned char file[80 + sizeof bin];
    memcpy(file, "PEGRBIN1", 8);
    memcpy(file + 8, key, 32);
    for (int i = 0; i < 8; i++) file[40 + i] = (unsigned char)((uint64_t)sizeof bin >> (8 * i));
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_bytes(&h, bin, sizeof bin);
    char sum[33];
    pegr_hash_hex(&h, sum);
    memcpy(file + 48, sum, 32);
    memcpy(file + 80, bin, sizeof bin);
    write_raw(key, file, sizeof file);
    assert_int_equal(load_guarded(key, "format"), PEGR_CACHE_INVALID);
}

static void test_entry_of_another_user_is_refused(void **state)
{
    (void)state;
    if (geteuid() != 0) skip(); /* only root can give a file away */
    const char *key = "44444444444444444444444444444444";
    const unsigned char bin[] = {9};
    assert_int_equal(pegr_cache_store(tmpdir, key, bin, sizeof bin, NULL), PEGR_OK);
    char *path = pegr_cache_path(tmpdir, key);
    assert_int_equal(chown(path, 4242, 4242), 0);
    assert_int_equal(load_guarded(key, "belongs to user id 4242"), PEGR_CACHE_INVALID);
    free(path);
}

static void test_new_cache_dir_is_private(void **state)
{
    (void)state;
    char *dir = pegr_path_join(tmpdir, "new/cache");
    const unsigned char bin[] = {5};
    assert_int_equal(pegr_cache_store(dir, "55555555555555555555555555555555", bin, sizeof bin,
                                      NULL),
                     PEGR_OK);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700); /* others can neither plant nor read entries */
    free(dir);
}

static void test_cache_dir_follows_environment(void **state)
{
    (void)state;
    setenv("PEGR_CACHE_DIR", "/some/where", 1);
    unsetenv("PEGR_NO_CACHE");
    char *dir = pegr_cache_dir();
    assert_string_equal(dir, "/some/where");
    free(dir);
    setenv("PEGR_NO_CACHE", "1", 1);
    assert_null(pegr_cache_dir());
    setenv("PEGR_NO_CACHE", "0", 1);
    dir = pegr_cache_dir();
    assert_string_equal(dir, "/some/where");
    free(dir);
    unsetenv("PEGR_NO_CACHE");
    unsetenv("PEGR_CACHE_DIR");
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    dir = pegr_cache_dir();
    assert_string_equal(dir, "/xdg/pegr");
    free(dir);
    unsetenv("XDG_CACHE_HOME");
    setenv("HOME", "/home/u", 1);
    dir = pegr_cache_dir();
    assert_string_equal(dir, "/home/u/.cache/pegr");
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_is_stable_across_runs_and_versions),
        cmocka_unit_test(test_key_changes_with_every_input),
        cmocka_unit_test(test_store_then_load_returns_the_same_bytes),
        cmocka_unit_test(test_corrupt_truncated_and_foreign_files_are_invalid),
        cmocka_unit_test(test_fifo_named_like_an_entry_is_refused_without_blocking),
        cmocka_unit_test(test_symlink_to_dev_zero_is_refused_without_reading),
        cmocka_unit_test(test_symlink_to_a_valid_entry_is_not_followed),
        cmocka_unit_test(test_file_over_the_size_cap_is_refused_without_reading),
        cmocka_unit_test(test_entry_with_a_rewritten_key_fails_the_checksum),
        cmocka_unit_test(test_entry_of_the_old_format_is_ignored),
        cmocka_unit_test(test_entry_of_another_user_is_refused),
        cmocka_unit_test(test_new_cache_dir_is_private),
        cmocka_unit_test(test_cache_dir_follows_environment),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}

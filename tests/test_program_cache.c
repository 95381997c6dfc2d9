/* test_program_cache.c: the binary cache on its own (no OpenCL): key stability and sensitivity,
 * store/load round trip, and that corrupt, truncated or foreign files are never trusted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "program_cache.h"

/* The key of the fixed inputs below, as this version of pegr computes it. */
#define EXPECTED_KEY "282b4b0450a1558ac8eb969c6ca68506"

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

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
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
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size), PEGR_CACHE_MISS);
    assert_int_equal(pegr_cache_store(tmpdir, key, bin, sizeof bin, NULL), PEGR_OK);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size), PEGR_CACHE_HIT);
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
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size), PEGR_CACHE_INVALID);
    assert_null(out);
    good[len - 1] ^= 1;

    /* Truncated. */
    write_raw(key, good, len - 5);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size), PEGR_CACHE_INVALID);
    /* Shorter than a header; empty. */
    write_raw(key, good, 10);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size), PEGR_CACHE_INVALID);
    write_raw(key, good, 0);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size), PEGR_CACHE_INVALID);
    /* Foreign: a valid file stored under one key, found under another name. */
    write_raw(other, good, len);
    assert_int_equal(pegr_cache_load(tmpdir, other, &out, &size), PEGR_CACHE_INVALID);
    /* Not ours at all. */
    write_raw(key, "garbage that is long enough to pass for a header, but is not one at all!!!!!!!!!!",
              82);
    assert_int_equal(pegr_cache_load(tmpdir, key, &out, &size), PEGR_CACHE_INVALID);
    free(good);
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
        cmocka_unit_test(test_cache_dir_follows_environment),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}

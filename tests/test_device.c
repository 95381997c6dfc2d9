/* test_device.c: the device layer on a real OpenCL device (PoCL in CI): enumeration, every spec
 * form, building and running a kernel in both precisions, a syntax error's build log, the binary
 * cache (hit, corrupt file), and PEGR_KERNEL_DIR. Exits 77 (skip) only when no device exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"
#include "pegr/pegr.h"
#include "device/program_cache.h"
#include "test_device_pick.h"

static pegr_device_info *list;
static size_t count;
/* The device the suite runs on (PEGR_TEST_DEVICE, else the first): test_device_pick. */
static pegr_device_info *suite_device;
static char cache_dir[64];
static char kernel_dir[64];

static pegr_context *open_first(void)
{
    pegr_context *ctx = NULL;
    pegr_error err = {0};
    assert_int_equal(pegr_context_create(suite_device, NULL, &ctx, &err), PEGR_OK);
    pegr_error_clear(&err);
    return ctx;
}

static void test_enumeration_fills_every_fact(void **state)
{
    (void)state;
    assert_true(count >= 1);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(list[i].index, i);
        assert_true(strlen(list[i].name) > 0);
        assert_true(strlen(list[i].platform_name) > 0);
        assert_true(strncmp(list[i].opencl_c_version, "OpenCL C ", 9) == 0);
        assert_true(list[i].compute_units >= 1);
        assert_true(list[i].max_work_group_size >= 1);
        assert_true(list[i].global_mem_size > 0);
        assert_true(list[i].max_mem_alloc_size > 0);
        assert_true(list[i].max_mem_alloc_size <= list[i].global_mem_size);
        assert_true(list[i].local_mem_size > 0);
    }
}

static void test_every_spec_form_selects_the_device(void **state)
{
    (void)state;
    const pegr_device_info *d = &list[0];
    char pd[32], part[8];
    snprintf(pd, sizeof pd, "%zu:%zu", d->platform_index, d->device_index);
    snprintf(part, sizeof part, "%.5s", d->name);
    const char *specs[] = {"0", pd, pegr_device_type_name(d->type), part};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        size_t chosen = 99;
        assert_int_equal(pegr_device_select(list, count, specs[k], &chosen, NULL), PEGR_OK);
        /* A type word or name part may match an earlier device of the same kind; here the
         * device is the first, so each form must land on it. */
        assert_int_equal(chosen, 0);
    }
}

static void test_smoke_kernel_runs_exactly_in_each_precision(void **state)
{
    (void)state;
    pegr_context *ctx = open_first();
    double err = -1, seconds = 0;
    /* prime and tiny sizes: no multiple-of-N assumption */
    size_t sizes[] = {1, 7, 100003};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(pegr_smoke_run(ctx, PEGR_FP32, sizes[k], &err, &seconds), PEGR_OK);
        assert_true(err == 0.0);
        if (suite_device->fp64) {
            assert_int_equal(pegr_smoke_run(ctx, PEGR_FP64, sizes[k], &err, &seconds), PEGR_OK);
            assert_true(err == 0.0);
        } else {
            assert_int_equal(pegr_smoke_run(ctx, PEGR_FP64, sizes[k], &err, &seconds),
                             PEGR_ERR_UNSUPPORTED);
        }
    }
    pegr_context_destroy(ctx);
}

static void write_kernel_file(const char *name, const char *text)
{
    char *path = pegr_path_join(kernel_dir, name);
    assert_int_equal(pegr_file_write_atomic(path, text, strlen(text), NULL), PEGR_OK);
    free(path);
}

/* Copy cl/common.cl into the kernel directory; returns its number of lines. */
static unsigned copy_common_cl(void)
{
    const char *src = getenv("PEGR_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/cl/common.cl", src);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(pegr_file_read_all(path, &text, &len, NULL), PEGR_OK);
    write_kernel_file("common.cl", text);
    unsigned lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    free(text);
    return lines;
}

/* 1 when `log` names line `line` the way some driver does: clang-based compilers (PoCL, Mesa,
 * AMD, Apple, Oclgrind) write "broken.cl:4:12:" or "<program source>:4:12:", NVIDIA writes
 * "broken.cl(4): error", others "line 4". A number counts only with one of those marks before it
 * and no digit after it, so "14" or "-D PEGR_WG_SIZE=4" never pass for line 4. */
static int log_names_line(const char *log, unsigned line)
{
    char num[16];
    int n = snprintf(num, sizeof num, "%u", line);
    for (const char *p = strstr(log, num); p; p = strstr(p + 1, num)) {
        if (p[n] >= '0' && p[n] <= '9') continue;
        if (p > log && (p[-1] == ':' || p[-1] == '(')) return 1;
        if (p - log >= 5 && (strncmp(p - 5, "line ", 5) == 0 || strncmp(p - 5, "Line ", 5) == 0))
            return 1;
    }
    return 0;
}

static void test_log_names_line_knows_the_drivers_formats(void **state)
{
    (void)state;
    assert_true(log_names_line("broken.cl:4:29: error: expected expression", 4));        /* PoCL */
    assert_true(log_names_line("<program source>:4:29: error: expected expression", 4)); /* Apple */
    assert_true(log_names_line("broken.cl(4): error: expected an expression", 4));     /* NVIDIA */
    assert_true(log_names_line("error on line 4: expected an expression", 4));
    assert_false(log_names_line("broken.cl:14:29: error", 4));
    assert_false(log_names_line("broken.cl:41:2: error", 4));
    assert_false(log_names_line("options: -D PEGR_WG_SIZE=4 -D REAL=float", 4));
    assert_false(log_names_line("", 4));
}

static void test_syntax_error_returns_file_line_options_and_log(void **state)
{
    (void)state;
    unsigned common_lines = copy_common_cl();
    write_kernel_file("broken.cl", "/* line 1 */\n__kernel void broken(__global REAL *x)\n{\n"
                                   "    x[0] = undefined_thing + ;\n}\n");
    setenv("PEGR_KERNEL_DIR", kernel_dir, 1);
    pegr_context *ctx = open_first();
    pegr_program *prog = NULL;
    const char *files[] = {"broken.cl"};
    test_expect_api_error("clBuildProgram", "CL_BUILD_PROGRAM_FAILURE");
    assert_int_equal(pegr_program_build(ctx, files, 1, PEGR_FP32, NULL, &prog), PEGR_ERR_BUILD);
    assert_null(prog);
    const char *msg = pegr_context_error(ctx)->message;
    assert_non_null(msg);
    assert_non_null(strstr(msg, "clBuildProgram"));
    assert_non_null(strstr(msg, suite_device->name));  /* the device */
    assert_non_null(strstr(msg, "-D REAL=float")); /* the options */
    /* The driver's build log is in the message and names the line of the error in its own
     * format: line 4 of broken.cl, or, from a driver that ignores #line directives (Oclgrind
     * 21.10 writes "input.cl:76:"), that line's number in the program src/device/program.c assembles:
     * a #line line, common.cl, a blank line, a #line line, then broken.cl. */
    const char *log = strstr(msg, "build log:");
    assert_non_null(log);
    log += strlen("build log:");
    unsigned program_line = 1 + common_lines + 1 + 1 + 4;
    if (!log_names_line(log, 4) && !log_names_line(log, program_line))
        fail_msg("the build log names neither line 4 nor program line %u:\n%s", program_line, log);
    unsetenv("PEGR_KERNEL_DIR");
    pegr_context_destroy(ctx);
}

static void test_kernel_dir_override_is_used(void **state)
{
    (void)state;
    copy_common_cl();
    write_kernel_file("smoke.cl", "__kernel void only_on_disk(__global REAL *x) { x[0] = 1; }\n");
    setenv("PEGR_KERNEL_DIR", kernel_dir, 1);
    pegr_context *ctx = open_first();
    double err = 0;
    /* The on-disk smoke.cl lacks pegr_smoke_axpy, so the smoke run must fail creating it. */
    test_expect_api_error("clCreateKernel", "CL_INVALID_KERNEL_NAME");
    assert_int_not_equal(pegr_smoke_run(ctx, PEGR_FP32, 10, &err, NULL), PEGR_OK);
    assert_non_null(strstr(pegr_context_error(ctx)->message, "clCreateKernel"));
    unsetenv("PEGR_KERNEL_DIR");
    assert_int_equal(pegr_smoke_run(ctx, PEGR_FP32, 10, &err, NULL), PEGR_OK);
    pegr_context_destroy(ctx);
}

static pegr_program *build_smoke(pegr_context *ctx)
{
    pegr_program *prog = NULL;
    const char *files[] = {"smoke.cl"};
    assert_int_equal(pegr_program_build(ctx, files, 1, PEGR_FP32, "-D PEGR_TEST_CACHE=1", &prog),
                     PEGR_OK);
    return prog;
}

static void test_second_build_is_a_cache_hit_and_corrupt_files_are_rebuilt(void **state)
{
    (void)state;
    setenv("PEGR_CACHE_DIR", cache_dir, 1);
    unsetenv("PEGR_NO_CACHE");
    pegr_context *ctx = open_first();
    pegr_program *p1 = build_smoke(ctx);
    assert_int_equal(pegr_program_from_cache(p1), 0);
    pegr_program *p2 = build_smoke(ctx);
    assert_int_equal(pegr_program_from_cache(p2), 1);
    assert_string_equal(pegr_program_options(p1), pegr_program_options(p2));

    /* Corrupt every cache file: the next build must compile again, not trust the file. */
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "for f in '%s'/*.bin; do printf 'XXXX' | dd of=\"$f\" bs=1 seek=100 conv=notrunc "
             "status=none; done",
             cache_dir);
    assert_int_equal(system(cmd), 0);
    pegr_program *p3 = build_smoke(ctx);
    assert_int_equal(pegr_program_from_cache(p3), 0);
    /* ...and rewrite it, so the one after is a hit again. */
    pegr_program *p4 = build_smoke(ctx);
    assert_int_equal(pegr_program_from_cache(p4), 1);

    setenv("PEGR_NO_CACHE", "1", 1);
    pegr_program *p5 = build_smoke(ctx);
    assert_int_equal(pegr_program_from_cache(p5), 0);
    unsetenv("PEGR_NO_CACHE");

    pegr_program_release(p1);
    pegr_program_release(p2);
    pegr_program_release(p3);
    pegr_program_release(p4);
    pegr_program_release(p5);
    pegr_context_destroy(ctx);
}

static void test_work_group_cap_is_applied(void **state)
{
    (void)state;
    pegr_context_options opts = {0};
    opts.max_work_group_size = 1;
    pegr_context *ctx = NULL;
    assert_int_equal(pegr_context_create(suite_device, &opts, &ctx, NULL), PEGR_OK);
    assert_int_equal(pegr_context_max_work_group_size(ctx), 1);
    pegr_program *prog = build_smoke(ctx);
    assert_non_null(strstr(pegr_program_options(prog), "-D PEGR_WG_SIZE=1 "));
    pegr_program_release(prog);
    pegr_context_destroy(ctx);
}

int main(void)
{
    pegr_error err = {0};
    /* No PEGR_TEST_FORCE_FP32 here: the smoke test checks fp64 is refused exactly where the
     * device lacks it, so it needs the device's real fp64 flag. */
    if (!(suite_device = test_device_pick("test_device", 0, &list, &count, &err))) {
        printf("no OpenCL device, skipping: %s\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        return 77;
    }
    snprintf(cache_dir, sizeof cache_dir, "/tmp/pegr-test-cache-XXXXXX");
    snprintf(kernel_dir, sizeof kernel_dir, "/tmp/pegr-test-kernels-XXXXXX");
    if (!mkdtemp(cache_dir) || !mkdtemp(kernel_dir)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration_fills_every_fact),
        cmocka_unit_test(test_every_spec_form_selects_the_device),
        cmocka_unit_test(test_smoke_kernel_runs_exactly_in_each_precision),
        cmocka_unit_test(test_log_names_line_knows_the_drivers_formats),
        cmocka_unit_test(test_syntax_error_returns_file_line_options_and_log),
        cmocka_unit_test(test_kernel_dir_override_is_used),
        cmocka_unit_test(test_second_build_is_a_cache_hit_and_corrupt_files_are_rebuilt),
        cmocka_unit_test(test_work_group_cap_is_applied),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", cache_dir, kernel_dir);
    if (system(cmd) != 0) rc = rc ? rc : 1;
    pegr_device_list_free(list);
    return rc;
}

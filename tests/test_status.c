/* test_status.c: status names and messages come from one list; OpenCL codes pass through; the
 * error record formats, prefixes and frees its message. Host only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/format.h"
#include "pegr/status.h"

static void test_every_pegr_code_has_its_own_name_and_message(void **state)
{
    (void)state;
#define CHECK_(name, value, msg)                                                                   \
    assert_string_equal(pegr_status_name(value), #name);                                           \
    assert_string_equal(pegr_status_message(value), msg);                                          \
    assert_true((value) == 0 || (value) <= -10000);
    PEGR_STATUS_MAP(CHECK_)
#undef CHECK_
}

static void test_opencl_codes_pass_through_with_their_names(void **state)
{
    (void)state;
    assert_string_equal(pegr_status_name(-11), "CL_BUILD_PROGRAM_FAILURE");
    assert_string_equal(pegr_status_name(-4), "CL_MEM_OBJECT_ALLOCATION_FAILURE");
    assert_string_equal(pegr_status_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    assert_string_equal(pegr_status_name(-9999), "CL_UNKNOWN_ERROR");
    assert_string_equal(pegr_status_message(-5), "OpenCL error");
    assert_string_equal(pegr_status_name(-123456), "PEGR_UNKNOWN_STATUS");
}

static void test_error_record_formats_prefixes_and_clears(void **state)
{
    (void)state;
    pegr_error err = {0};
    assert_string_equal(pegr_error_message(&err), "success");
    assert_int_equal(pegr_error_set(&err, PEGR_ERR_IO, "cannot open '%s'", "x.npy"), PEGR_ERR_IO);
    assert_int_equal(err.status, PEGR_ERR_IO);
    assert_string_equal(pegr_error_message(&err), "cannot open 'x.npy'");
    pegr_error_prefix(&err, "reading %s", "X");
    assert_string_equal(pegr_error_message(&err), "reading X: cannot open 'x.npy'");
    pegr_error_clear(&err);
    assert_int_equal(err.status, PEGR_OK);
    assert_null(err.message);
    /* A NULL record is allowed everywhere: only the status comes back. */
    assert_int_equal(pegr_error_set(NULL, PEGR_ERR_SHAPE, "x"), PEGR_ERR_SHAPE);
    /* Without a message, the status's generic message is reported. */
    pegr_error_set(&err, PEGR_ERR_SHAPE, NULL);
    assert_string_equal(pegr_error_message(&err), "array shapes do not fit each other");
    pegr_error_clear(&err);
}

static char *format_helper(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = pegr_vformat(fmt, ap);
    va_end(ap);
    return s;
}

static void test_long_messages_are_not_truncated(void **state)
{
    (void)state;
    char big[20000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *s = format_helper("[%s]", big);
    assert_int_equal(strlen(s), sizeof big + 1);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pegr_code_has_its_own_name_and_message),
        cmocka_unit_test(test_opencl_codes_pass_through_with_their_names),
        cmocka_unit_test(test_error_record_formats_prefixes_and_clears),
        cmocka_unit_test(test_long_messages_are_not_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

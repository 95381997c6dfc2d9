/* test_json.c: the JSON writer of pegr/io.h -- the text it writes (commas, nesting, escapes,
 * non-finite numbers as null) and its nesting limit: deeper than PEGR_JSON_MAX_DEPTH marks the
 * writer failed (the text unusable, writing it refused) instead of writing past its state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "pegr/io.h"

static void test_compact_text(void **state)
{
    (void)state;
    pegr_json j;
    pegr_json_init(&j, 0);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "s", "a\"b\n");
    pegr_json_kv_number(&j, "x", 0.5);
    pegr_json_kv_number(&j, "nan", NAN);
    pegr_json_key(&j, "list");
    pegr_json_begin_array(&j);
    pegr_json_uint(&j, 1);
    pegr_json_bool(&j, 0);
    pegr_json_end_array(&j);
    pegr_json_end_object(&j);
    assert_false(j.failed);
    assert_string_equal(j.buf, "{\"s\":\"a\\\"b\\n\",\"x\":0.5,\"nan\":null,\"list\":[1,false]}");
    pegr_json_free(&j);
}

static void test_nesting_past_the_limit_fails(void **state)
{
    (void)state;
    pegr_json j;
    pegr_json_init(&j, 1);
    for (int k = 0; k < PEGR_JSON_MAX_DEPTH; k++) pegr_json_begin_array(&j);
    assert_false(j.failed); /* the limit itself is fine */
    pegr_json_begin_array(&j);
    pegr_json_uint(&j, 7);
    pegr_json_begin_array(&j);
    pegr_json_end_array(&j);
    pegr_json_end_array(&j);
    for (int k = 0; k < PEGR_JSON_MAX_DEPTH; k++) pegr_json_end_array(&j);
    assert_true(j.failed);
    assert_int_equal(j.depth, 0); /* balanced: the closing calls went through */
    pegr_error err = {0};
    assert_int_not_equal(pegr_json_write_file(&j, "/nonexistent-dir/never.json", &err), PEGR_OK);
    pegr_error_clear(&err);
    pegr_json_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_text),
        cmocka_unit_test(test_nesting_past_the_limit_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

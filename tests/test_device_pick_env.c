/* test_device_pick_env.c: the device suites' PEGR_TEST_DEVICE (test_device_pick): unset takes the
 * first device, a spec takes the device the library's --device rules give, and a spec that names
 * no device ends the suite with status 1 and a message instead of quietly using devices[0]. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_device_pick.h"

/* Pick with PEGR_TEST_DEVICE = spec (NULL: unset); returns the picked device's list index. */
static size_t pick_with(const char *spec)
{
    if (spec)
        setenv("PEGR_TEST_DEVICE", spec, 1);
    else
        unsetenv("PEGR_TEST_DEVICE");
    pegr_device_info *list = NULL;
    size_t count = 0;
    pegr_device_info *dev = test_device_pick(NULL, 0, &list, &count, NULL);
    if (!dev) skip(); /* no OpenCL device */
    size_t index = (size_t)(dev - list);
    assert_int_equal(dev->index, index);
    pegr_device_list_free(list);
    return index;
}

static void test_unset_takes_the_first_and_a_spec_its_device(void **state)
{
    (void)state;
    assert_int_equal(pick_with(NULL), 0);
    assert_int_equal(pick_with(""), 0);
    pegr_device_info *list = NULL;
    size_t count = 0;
    if (pegr_device_list(&list, &count, NULL) != PEGR_OK) skip();
    for (size_t i = 0; i < count; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "%zu:%zu", list[i].platform_index, list[i].device_index);
        assert_int_equal(pick_with(spec), i);
        snprintf(spec, sizeof spec, "%zu", i);
        assert_int_equal(pick_with(spec), i);
    }
    pegr_device_list_free(list);
}

static void test_a_spec_that_names_no_device_fails_the_suite(void **state)
{
    (void)state;
    /* First of the cases: OpenCL has not started in this process before the fork. */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("PEGR_TEST_DEVICE", "no-such-device-anywhere", 1);
        pegr_device_info *list = NULL;
        size_t count = 0;
        /* NULL: no device at all (skip); a device: the defect, a silent fallback */
        _exit(test_device_pick("child", 0, &list, &count, NULL) ? 0 : 77);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) skip();
    assert_int_equal(WEXITSTATUS(status), 1);
}

static void test_force_fp32_hides_fp64(void **state)
{
    (void)state;
    unsetenv("PEGR_TEST_DEVICE");
    setenv("PEGR_TEST_FORCE_FP32", "1", 1);
    pegr_device_info *list = NULL;
    size_t count = 0;
    pegr_device_info *dev = test_device_pick(NULL, 1, &list, &count, NULL);
    unsetenv("PEGR_TEST_FORCE_FP32");
    if (!dev) skip();
    assert_false(dev->fp64);
    pegr_device_list_free(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_spec_that_names_no_device_fails_the_suite),
        cmocka_unit_test(test_unset_takes_the_first_and_a_spec_its_device),
        cmocka_unit_test(test_force_fp32_hides_fp64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

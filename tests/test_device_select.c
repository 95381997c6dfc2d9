/* test_device_select.c: device specs against a fake device list (no OpenCL needed): index, P:D,
 * type words, name substrings, the default rule (real GPUs before simulators, discrete before
 * integrated, fp64 when asked for), PEGR_DEVICE, and the no-match message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/pegr.h"

static pegr_device_info fake[4];

static void add(size_t i, size_t p, size_t d, pegr_device_type t, const char *name,
                const char *vendor, const char *platform)
{
    memset(&fake[i], 0, sizeof fake[i]);
    fake[i].index = i;
    fake[i].platform_index = p;
    fake[i].device_index = d;
    fake[i].type = t;
    snprintf(fake[i].name, PEGR_INFO_STR, "%s", name);
    snprintf(fake[i].vendor, PEGR_INFO_STR, "%s", vendor);
    snprintf(fake[i].platform_name, PEGR_INFO_STR, "%s", platform);
}

static int setup(void **state)
{
    (void)state;
    add(0, 0, 0, PEGR_DEVICE_TYPE_CPU, "pthread-haswell", "GenuineIntel", "Portable Computing Language");
    add(1, 1, 0, PEGR_DEVICE_TYPE_ACCELERATOR, "FPGA Emulator", "Intel", "Intel FPGA SDK");
    add(2, 2, 0, PEGR_DEVICE_TYPE_GPU, "NVIDIA H100 80GB HBM3", "NVIDIA Corporation", "NVIDIA CUDA");
    add(3, 2, 1, PEGR_DEVICE_TYPE_GPU, "NVIDIA A100", "NVIDIA Corporation", "NVIDIA CUDA");
    unsetenv("PEGR_DEVICE");
    return 0;
}

static size_t pick(const char *spec)
{
    size_t chosen = 99;
    pegr_error err = {0};
    assert_int_equal(pegr_device_select(fake, 4, spec, &chosen, &err), PEGR_OK);
    pegr_error_clear(&err);
    return chosen;
}

static void test_index_spec_picks_that_position(void **state)
{
    (void)state;
    assert_int_equal(pick("0"), 0);
    assert_int_equal(pick("3"), 3);
}

static void test_platform_device_pair_spec(void **state)
{
    (void)state;
    assert_int_equal(pick("2:1"), 3);
    assert_int_equal(pick("1:0"), 1);
}

static void test_type_words_pick_the_first_of_that_type(void **state)
{
    (void)state;
    assert_int_equal(pick("cpu"), 0);
    assert_int_equal(pick("GPU"), 2);
    assert_int_equal(pick("accelerator"), 1);
}

static void test_name_substring_is_case_insensitive(void **state)
{
    (void)state;
    assert_int_equal(pick("a100"), 3);
    assert_int_equal(pick("h100"), 2);
    assert_int_equal(pick("portable"), 0); /* platform name */
    assert_int_equal(pick("genuineintel"), 0); /* vendor */
}

static void test_default_prefers_gpu_then_accelerator_then_cpu(void **state)
{
    (void)state;
    assert_int_equal(pick(NULL), 2);
    assert_int_equal(pick(""), 2);
    size_t chosen = 99;
    assert_int_equal(pegr_device_select(fake, 2, NULL, &chosen, NULL), PEGR_OK);
    assert_int_equal(chosen, 1);
    assert_int_equal(pegr_device_select(fake, 1, NULL, &chosen, NULL), PEGR_OK);
    assert_int_equal(chosen, 0);
}

static void test_no_match_names_the_spec_and_lists_devices(void **state)
{
    (void)state;
    const char *bad[] = {"no-such-device", "7", "5:0", "2:", "1:2:3"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        pegr_error err = {0};
        size_t chosen = 99;
        assert_int_equal(pegr_device_select(fake, 4, bad[k], &chosen, &err), PEGR_ERR_NO_DEVICE);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[k]);
        assert_non_null(strstr(err.message, quoted));
        assert_non_null(strstr(err.message, "NVIDIA A100"));
        assert_non_null(strstr(err.message, "pthread-haswell"));
        pegr_error_clear(&err);
    }
    pegr_error err = {0};
    size_t chosen = 99;
    assert_int_equal(pegr_device_select(fake, 1, "gpu", &chosen, &err), PEGR_ERR_NO_DEVICE);
    assert_non_null(strstr(err.message, "'gpu'"));
    pegr_error_clear(&err);
}

static void test_flag_wins_over_environment_which_wins_over_default(void **state)
{
    (void)state;
    assert_null(pegr_device_spec_effective(NULL));
    setenv("PEGR_DEVICE", "cpu", 1);
    assert_string_equal(pegr_device_spec_effective(NULL), "cpu");
    assert_string_equal(pegr_device_spec_effective(""), "cpu");
    assert_string_equal(pegr_device_spec_effective("gpu"), "gpu");
    setenv("PEGR_DEVICE", "", 1);
    assert_null(pegr_device_spec_effective(NULL));
    unsetenv("PEGR_DEVICE");
}

/* A fake list of up to 4 devices for the default-rule cases (issue 12 item 8). */
static pegr_device_info many[4];

static void add_many(size_t i, pegr_device_type t, const char *name, const char *platform,
                     int unified, int fp64)
{
    memset(&many[i], 0, sizeof many[i]);
    many[i].index = i;
    many[i].platform_index = i;
    many[i].type = t;
    many[i].host_unified_memory = unified;
    many[i].fp64 = fp64;
    snprintf(many[i].name, PEGR_INFO_STR, "%s", name);
    snprintf(many[i].platform_name, PEGR_INFO_STR, "%s", platform);
}

static size_t pick_default(size_t count, int need_fp64, char *reason, size_t reason_size)
{
    size_t chosen = 99;
    assert_int_equal(pegr_device_select_for(many, count, NULL, need_fp64, &chosen, reason,
                                            reason_size, NULL),
                     PEGR_OK);
    /* The plain call is the same rule without fp64. */
    if (!need_fp64) {
        size_t plain = 99;
        assert_int_equal(pegr_device_select(many, count, NULL, &plain, NULL), PEGR_OK);
        assert_int_equal(plain, chosen);
    }
    return chosen;
}

static void test_default_passes_over_a_simulator_listed_first(void **state)
{
    (void)state;
    /* Oclgrind registers as a GPU and comes first in the loader's list. */
    add_many(0, PEGR_DEVICE_TYPE_GPU, "Oclgrind Simulator", "Oclgrind", 0, 1);
    add_many(1, PEGR_DEVICE_TYPE_CPU, "pthread-haswell", "Portable Computing Language", 1, 1);
    add_many(2, PEGR_DEVICE_TYPE_GPU, "AMD Radeon RX 7900", "AMD Accelerated Parallel Processing", 0, 1);
    assert_true(pegr_device_is_simulator(&many[0]));
    assert_false(pegr_device_is_simulator(&many[2]));
    char reason[512];
    assert_int_equal(pick_default(3, 0, reason, sizeof reason), 2); /* the real GPU */
    assert_non_null(strstr(reason, "AMD Radeon RX 7900"));
    assert_non_null(strstr(reason, "a discrete GPU"));
    assert_non_null(strstr(reason, "simulator"));
    size_t chosen = 99;
    assert_int_equal(pegr_device_select(many, 3, "gpu", &chosen, NULL), PEGR_OK);
    assert_int_equal(chosen, 2); /* the type word too */
    /* Without a real GPU, a CPU beats the simulator; alone, the simulator is taken. */
    assert_int_equal(pick_default(2, 0, NULL, 0), 1);
    assert_int_equal(pick_default(1, 0, reason, sizeof reason), 0);
    assert_non_null(strstr(reason, "a simulator"));
    /* Named, it is followed. */
    assert_int_equal(pegr_device_select(many, 3, "oclgrind", &chosen, NULL), PEGR_OK);
    assert_int_equal(chosen, 0);
}

static void test_default_prefers_discrete_over_integrated(void **state)
{
    (void)state;
    add_many(0, PEGR_DEVICE_TYPE_GPU, "Intel(R) UHD Graphics 770", "Intel(R) OpenCL Graphics", 1, 0);
    add_many(1, PEGR_DEVICE_TYPE_GPU, "NVIDIA GeForce RTX 4090", "NVIDIA CUDA", 0, 1);
    add_many(2, PEGR_DEVICE_TYPE_CPU, "pthread-haswell", "Portable Computing Language", 1, 1);
    char reason[512];
    assert_int_equal(pick_default(3, 0, reason, sizeof reason), 1);
    assert_non_null(strstr(reason, "NVIDIA GeForce RTX 4090"));
    assert_non_null(strstr(reason, "Intel(R) UHD Graphics 770")); /* what was passed over */
    assert_non_null(strstr(reason, "integrated"));
    size_t chosen = 99;
    assert_int_equal(pegr_device_select(many, 3, "gpu", &chosen, NULL), PEGR_OK);
    assert_int_equal(chosen, 1);
    /* An integrated GPU still beats a CPU. */
    add_many(1, PEGR_DEVICE_TYPE_CPU, "pthread-haswell", "Portable Computing Language", 1, 1);
    assert_int_equal(pick_default(2, 0, NULL, 0), 0);
}

static void test_default_with_fp64_prefers_a_device_with_fp64(void **state)
{
    (void)state;
    /* An fp64-less GPU (Apple, Intel Arc, rusticl) first, a CPU with fp64 after it. */
    add_many(0, PEGR_DEVICE_TYPE_GPU, "Apple M2", "Apple", 1, 0);
    add_many(1, PEGR_DEVICE_TYPE_CPU, "pthread-haswell", "Portable Computing Language", 1, 1);
    char reason[512];
    assert_int_equal(pick_default(2, 0, reason, sizeof reason), 0); /* fp32: the GPU */
    assert_int_equal(pick_default(2, 1, reason, sizeof reason), 1); /* fp64: the CPU */
    assert_non_null(strstr(reason, "fp64"));
    assert_non_null(strstr(reason, "no fp64")); /* the GPU passed over, and why */
    /* With no fp64 anywhere the rule is unchanged and says so (the run's check then refuses). */
    add_many(1, PEGR_DEVICE_TYPE_CPU, "llvmpipe", "rusticl", 1, 0);
    assert_int_equal(pick_default(2, 1, reason, sizeof reason), 0);
    assert_non_null(strstr(reason, "no device has it"));
    /* A spec is followed as written, fp64 or not. */
    size_t chosen = 99;
    assert_int_equal(pegr_device_select_for(many, 2, "0", 1, &chosen, reason, sizeof reason, NULL),
                     PEGR_OK);
    assert_int_equal(chosen, 0);
    assert_non_null(strstr(reason, "named by the device spec '0'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_index_spec_picks_that_position, setup),
        cmocka_unit_test_setup(test_platform_device_pair_spec, setup),
        cmocka_unit_test_setup(test_type_words_pick_the_first_of_that_type, setup),
        cmocka_unit_test_setup(test_name_substring_is_case_insensitive, setup),
        cmocka_unit_test_setup(test_default_prefers_gpu_then_accelerator_then_cpu, setup),
        cmocka_unit_test_setup(test_no_match_names_the_spec_and_lists_devices, setup),
        cmocka_unit_test_setup(test_flag_wins_over_environment_which_wins_over_default, setup),
        cmocka_unit_test(test_default_passes_over_a_simulator_listed_first),
        cmocka_unit_test(test_default_prefers_discrete_over_integrated),
        cmocka_unit_test(test_default_with_fp64_prefers_a_device_with_fp64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

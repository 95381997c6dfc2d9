/* test_device_pick.h: which OpenCL device a device suite runs on (PEGR_TEST_DEVICE), shared by
 * every device suite so that CI can run them on each implementation it reaches. */
#ifndef PEGR_TESTS_TEST_DEVICE_PICK_H
#define PEGR_TESTS_TEST_DEVICE_PICK_H

#include <stddef.h>

#include "pegr/pegr.h"

/* Lists the devices (*list, *count; free with pegr_device_list_free) and returns the one the suite
 * runs on: the device PEGR_TEST_DEVICE names (the --device spec syntax: "0", "P:D", "cpu", a name
 * part), else the first listed. Prints one line on stderr naming it ("test_engine: device 0
 * (pthread-...)"); `suite` NULL keeps quiet (a forked child). A PEGR_TEST_DEVICE that names no
 * device ends the process with status 1 and the library's message: a suite must never quietly
 * run on another device than the one asked for. With no device at all returns NULL with *err set
 * and *count 0 (the suite skips).
 * PEGR_TEST_ONLY and PEGR_TEST_SKIP select the cases the suite runs: comma-separated cmocka
 * patterns (* and ?), each for every suite or, as SUITE:PATTERN, for that suite only (the first
 * that applies to the suite is used: cmocka takes one).
 * PEGR_TEST_FORCE_FP32=1 (and allow_force_fp32) clears the returned device's fp64 flag, so a suite
 * takes the branches an fp64-less device (rusticl, Apple GPUs, Intel Arc) takes, on any device. */
pegr_device_info *test_device_pick(const char *suite, int allow_force_fp32,
                                   pegr_device_info **list, size_t *count, pegr_error *err);

/* For suites whose tests have a host half and a device half: test_device_pick, and with no device
 * a line saying the device halves are skipped (then NULL, *list NULL, *count 0). */
pegr_device_info *test_device_pick_or_host_only(const char *suite, pegr_device_info **list,
                                                size_t *count);

/* The PEGR_TEST_ONLY / PEGR_TEST_SKIP filters for `suite` ("test_wg"), set in cmocka (test_device_pick
 * does it; a suite that picks its device in a child calls it in the process that runs cmocka). */
void test_case_filters(const char *suite);

/* PEGR_TEST_SMALL=1: the suites leave out their largest shapes (tools/test-matrix.sh sets it for
 * the slow implementations, rusticl and Oclgrind, where one launch costs 10-1000x PoCL's). */
int test_small_shapes(void);

/* A test that provokes an OpenCL error on purpose (a kernel that does not build, a kernel name
 * the program lacks, a binary the driver refuses) declares it first: under Oclgrind's API check
 * (OCLGRIND_CHECK_API set) one line on stderr, "pegr-test: expect Oclgrind API error FUNCTION
 * ERROR", which tools/oclgrind-wrap.sh reads to excuse exactly the next report and only when it
 * names FUNCTION and ERROR (every other report fails the test); elsewhere nothing. */
void test_expect_api_error(const char *function, const char *error);

#endif

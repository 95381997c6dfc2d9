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
 * PEGR_TEST_FORCE_FP32=1 (and allow_force_fp32) clears the returned device's fp64 flag, so a suite
 * takes the branches an fp64-less device (rusticl, Apple GPUs, Intel Arc) takes, on any device. */
pegr_device_info *test_device_pick(const char *suite, int allow_force_fp32,
                                   pegr_device_info **list, size_t *count, pegr_error *err);

/* For suites whose tests have a host half and a device half: test_device_pick, and with no device
 * a line saying the device halves are skipped (then NULL, *list NULL, *count 0). */
pegr_device_info *test_device_pick_or_host_only(const char *suite, pegr_device_info **list,
                                                size_t *count);

#endif

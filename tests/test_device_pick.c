/* test_device_pick.c: the device suites' choice of device from PEGR_TEST_DEVICE (see the header). */
#include "test_device_pick.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The cmocka pattern (* and ?) $VAR gives this suite: VAR is a comma-separated list of
 * "SUITE:PATTERN" (that suite only, e.g. test_gemm:test_every_variant_fp32*) or "PATTERN" (every
 * suite); the first entry that applies wins. 1 with it in out. */
static int case_filter(const char *var, const char *suite, char *out, size_t cap)
{
    const char *v = getenv(var);
    size_t slen = strlen(suite);
    while (v && *v) {
        size_t len = strcspn(v, ",");
        const char *colon = memchr(v, ':', len), *pat = v;
        if (colon) pat = (size_t)(colon - v) == slen && strncmp(v, suite, slen) == 0 ? colon + 1 : NULL;
        size_t plen = pat ? len - (size_t)(pat - v) : 0;
        if (pat && plen > 0 && plen < cap) {
            memcpy(out, pat, plen);
            out[plen] = '\0';
            return 1;
        }
        v += len + (v[len] == ',');
    }
    return 0;
}

void test_case_filters(const char *suite)
{
    /* PEGR_TEST_ONLY / PEGR_TEST_SKIP: the cases to run / to leave out -- how
     * tools/test-matrix.sh sizes a suite for a slow implementation */
    static char only[256], skip_cases[256];
    if (case_filter("PEGR_TEST_ONLY", suite, only, sizeof only)) cmocka_set_test_filter(only);
    if (case_filter("PEGR_TEST_SKIP", suite, skip_cases, sizeof skip_cases))
        cmocka_set_skip_filter(skip_cases);
}

pegr_device_info *test_device_pick(const char *suite, int allow_force_fp32,
                                   pegr_device_info **list, size_t *count, pegr_error *err)
{
    *list = NULL;
    *count = 0;
    if (pegr_device_list(list, count, err) != PEGR_OK || *count == 0) {
        if (*list) pegr_device_list_free(*list);
        *list = NULL;
        *count = 0;
        return NULL;
    }
    if (suite) test_case_filters(suite);
    const char *spec = getenv("PEGR_TEST_DEVICE");
    size_t chosen = 0; /* unset: the first device, as the suites always ran */
    if (spec && *spec) {
        pegr_error sel = {0};
        if (pegr_device_select(*list, *count, spec, &chosen, &sel) != PEGR_OK) {
            /* _exit, not a skip: a wrong spec in CI must fail the suite, not fall back to
             * devices[0] and report another device's results as this one's. */
            fprintf(stderr, "%s: PEGR_TEST_DEVICE=%s selects no device: %s\n",
                    suite ? suite : "test", spec, pegr_error_message(&sel));
            pegr_error_clear(&sel);
            _exit(1);
        }
    }
    pegr_device_info *dev = &(*list)[chosen];
    const char *force = getenv("PEGR_TEST_FORCE_FP32");
    int forced = allow_force_fp32 && force && *force && strcmp(force, "0") != 0 && dev->fp64;
    if (forced) dev->fp64 = 0;
    if (suite)
        fprintf(stderr, "%s: device %zu (%s, %s)%s%s%s\n", suite, chosen, dev->name,
                dev->platform_name, spec && *spec ? " from PEGR_TEST_DEVICE=" : "",
                spec && *spec ? spec : "", forced ? ", fp64 hidden by PEGR_TEST_FORCE_FP32" : "");
    return dev;
}

pegr_device_info *test_device_pick_or_host_only(const char *suite, pegr_device_info **list,
                                                size_t *count)
{
    pegr_error err = {0};
    pegr_device_info *d = test_device_pick(suite, 1, list, count, &err);
    if (!d) {
        printf("no OpenCL device: the device halves of these tests are skipped (%s)\n",
               pegr_error_message(&err));
        pegr_error_clear(&err);
        *list = NULL;
        *count = 0;
    }
    return d;
}

void test_expect_api_error(const char *function, const char *error)
{
    const char *check = getenv("OCLGRIND_CHECK_API");
    if (!check || !*check || strcmp(check, "0") == 0) return;
    fprintf(stderr, "pegr-test: expect Oclgrind API error %s %s\n", function, error);
    fflush(stderr);
}

int test_small_shapes(void)
{
    const char *v = getenv("PEGR_TEST_SMALL");
    return v && *v && strcmp(v, "0") != 0;
}

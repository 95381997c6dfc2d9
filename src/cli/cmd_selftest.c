/* cmd_selftest.c: `pegr selftest` -- build and run the smoke kernel on the selected device, in
 * each precision the device has, and report the error against the host and the timings. */
#include <stdio.h>

#include "commands.h"

static const pegr_command_spec SPEC = {
    "selftest", "build and run a small kernel on the device and check it against the host",
    "pegr selftest [--device SPEC] [--count N]"};

int pegr_cmd_selftest(int argc, char **argv)
{
    pegr_global_opts g = {0};
    size_t count = 1000003; /* prime, so no multiple-of-anything assumption can hide */
    pegr_arg args[] = {
        {"count", PEGR_ARG_SIZE, &count, "N", "elements in the smoke computation", NULL, 0},
        PEGR_GLOBAL_ARGS(&g),
    };
    int rc = pegr_args_parse(&SPEC, args, sizeof args / sizeof args[0], argc, argv);
    if (rc >= 0) return rc;
    if (count == 0 || count > 0xffffffffu)
        return pegr_args_usage_error(&SPEC, "--count must be in 1..4294967295, not %zu", count);

    pegr_context *ctx = NULL;
    if (pegr_cli_open_device(SPEC.name, &g, 0, &ctx) != PEGR_EXIT_OK) return PEGR_EXIT_FAILURE;
    const pegr_device_info *dev = pegr_context_device(ctx);
    printf("device %zu: %s (%s, %s)\n", dev->index, dev->name, pegr_device_type_name(dev->type),
           dev->platform_name);
    int code = PEGR_EXIT_OK;
    for (int p = 0; p < 2; p++) {
        pegr_precision prec = p ? PEGR_FP64 : PEGR_FP32;
        const char *pname = p ? "fp64" : "fp32";
        if (prec == PEGR_FP64 && !dev->fp64) {
            printf("%s: skipped, the device does not list cl_khr_fp64\n", pname);
            continue;
        }
        double err = 0, seconds = 0;
        if (pegr_smoke_run(ctx, prec, count, &err, &seconds) != PEGR_OK) {
            pegr_cli_error(SPEC.name, pegr_context_error(ctx));
            code = PEGR_EXIT_FAILURE;
            break;
        }
        /* a*x + y with a = 0.5 and quarter-integer x is exact in both precisions. */
        int ok = err == 0.0;
        printf("%s: axpy on %zu elements, max |error| %.3g, %.3f s (build + run) -- %s\n", pname,
               count, err, seconds, ok ? "ok" : "WRONG");
        if (!ok) code = PEGR_EXIT_FAILURE;
    }
    pegr_context_destroy(ctx);
    return code;
}

/* cmd_tune.c: `pegr tune` -- measure CLBlast's GEMM parameter candidates on the chosen device for
 * the shapes of a training step, store the fastest (engines on this device use it from then on). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "gemm_tuning.h"

static const pegr_command_spec SPEC = {
    "tune", "tune CLBlast's GEMM for this device on a training step's shapes; store the fastest",
    "pegr tune [--device SPEC] [--precision fp32|fp64] [--n N --d D --m M]"};

int pegr_cmd_tune(int argc, char **argv)
{
    pegr_global_opts g = {0};
    const char *precision = "fp32";
    size_t n = 200, d = 2000, m = 20, candidates = 0;
    pegr_arg args[] = {
        {"n", PEGR_ARG_SIZE, &n, "N", "training examples of the step to tune for (P = 2)", NULL, 0},
        {"d", PEGR_ARG_SIZE, &d, "D", "patch dimension", NULL, 0},
        {"m", PEGR_ARG_SIZE, &m, "M", "filters per class", NULL, 0},
        {"precision", PEGR_ARG_CHOICE, &precision, NULL, "arithmetic", "fp32|fp64", 0},
        {"candidates", PEGR_ARG_SIZE, &candidates, "K",
         "try only the first K parameter sets (0: all 16; each is a kernel compile)", NULL, 0},
        PEGR_GLOBAL_ARGS(&g),
    };
    int rc = pegr_args_parse(&SPEC, args, sizeof args / sizeof args[0], argc, argv);
    if (rc >= 0) return rc;
    if (!n || !d || !m) return pegr_args_usage_error(&SPEC, "--n, --d and --m must be >= 1");
    pegr_precision prec = strcmp(precision, "fp64") == 0 ? PEGR_FP64 : PEGR_FP32;
    pegr_context *ctx = NULL;
    if (pegr_cli_open_device(SPEC.name, &g, 0, &ctx) != PEGR_EXIT_OK) return PEGR_EXIT_FAILURE;
    const pegr_device_info *dev = pegr_context_device(ctx);
    if (prec == PEGR_FP64 && !dev->fp64) {
        fprintf(stderr, "pegr tune: the device does not list cl_khr_fp64; use --precision fp32\n");
        pegr_context_destroy(ctx);
        return PEGR_EXIT_FAILURE;
    }
    printf("tuning CLBlast's XgemmDirect on %s (%s), %s, for n %zu, d %zu, m %zu\n", dev->name,
           dev->platform_name, precision, n, d, m);
    pegr_tuning_result *res = NULL;
    size_t count = 0, best = 0;
    pegr_status s = pegr_tuning_run(ctx, prec, n, d, m, candidates, &res, &count, &best);
    if (s == PEGR_OK) {
        const char *const *names = pegr_tuning_names();
        printf("  %-76s %12s\n", "parameters", "ms per step");
        for (size_t k = 0; k < count; k++) {
            char desc[160] = "CLBlast's own (no override)";
            if (!res[k].is_default) {
                size_t u = 0;
                for (size_t i = 0; i < PEGR_TUNING_PARAMS && u < sizeof desc; i++)
                    u += (size_t)snprintf(desc + u, sizeof desc - u, "%s%s=%zu", i ? " " : "", names[i],
                                          res[k].values[i]);
            }
            if (res[k].failed) printf("  %-76s %12s\n", desc, "refused");
            else printf("%c %-76s %12.3f\n", k == best ? '*' : ' ', desc, 1e3 * res[k].seconds);
        }
        char *path = pegr_tuning_path(dev, prec);
        printf("fastest: %.3f ms against CLBlast's own %.3f ms (%.2fx)%s%s\n", 1e3 * res[best].seconds,
               1e3 * res[0].seconds, res[0].seconds / res[best].seconds,
               res[best].is_default ? "; nothing stored" : "; stored in ",
               res[best].is_default ? "" : (path ? path : "(no cache directory)"));
        free(path);
    } else {
        pegr_cli_error(SPEC.name, pegr_context_error(ctx));
    }
    free(res);
    pegr_context_destroy(ctx);
    return s == PEGR_OK ? PEGR_EXIT_OK : PEGR_EXIT_FAILURE;
}

/* cmd_tune.c: `pegr tune` -- measure CLBlast's GEMM parameter candidates and, per shape class,
 * pegr's own GEMM variants against CLBlast and the simple kernels on the chosen device for the
 * shapes of a training step; store the fastest (engines on this device use them from then on). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "pegr/tune.h"

static const pegr_command_spec SPEC = {
    "tune", "choose the fastest GEMMs (pegr's variants, CLBlast) for this device on a training "
    "step's shapes; store them",
    "pegr tune [--device SPEC] [--precision fp32|fp64] [--n N --d D --m M]"};

/* The per-class table: ms per product of every candidate, the winner starred, GFLOP/s of it. */
static void print_own(const pegr_device_info *dev, pegr_precision prec, const pegr_gemm_search *own)
{
    printf("per shape class, ms per product (M x N x K):\n  %-24s", "kernels");
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++) {
        char head[64];
        snprintf(head, sizeof head, "%s %zux%zux%zu", pegr_gemm_class_name(c), own->dims[c][0],
                 own->dims[c][1], own->dims[c][2]);
        printf(" %22s", head);
    }
    printf("\n");
    for (size_t i = 0; i < own->count; i++) {
        printf("  %-24s", pegr_gemm_choice_name(own->choice[i]));
        for (int c = 0; c < PEGR_GEMM_CLASSES; c++) {
            double t = own->seconds[i * PEGR_GEMM_CLASSES + c];
            if (t < 0) printf(" %22s", "skipped");
            else printf(" %21.3f%c", 1e3 * t, own->best[c] == (int)i ? '*' : ' ');
        }
        printf("\n");
    }
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++) {
        size_t b = (size_t)own->best[c];
        double t = own->seconds[b * PEGR_GEMM_CLASSES + c], t0 = own->seconds[c];
        double flops = 2.0 * (double)own->dims[c][0] * (double)own->dims[c][1] * (double)own->dims[c][2];
        printf("%s: %s, %.1f GFLOP/s (%.2fx the simple kernels)\n", pegr_gemm_class_name(c),
               pegr_gemm_choice_name(own->choice[b]), flops / t / 1e9, t0 / t);
    }
    char *path = pegr_tuning_path(dev, prec);
    printf("stored in %s\n", path ? path : "(no cache directory: not stored)");
    free(path);
}

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
         "try only the first K of CLBlast's parameter sets (0: all 16; each is a kernel compile)",
         NULL, 0},
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
    printf("tuning the GEMMs on %s (%s), %s, for n %zu, d %zu, m %zu\n", dev->name,
           dev->platform_name, precision, n, d, m);
    pegr_tuning_result *res = NULL;
    size_t count = 0, best = 0;
    pegr_gemm_search own = {0};
    pegr_status s = pegr_tuning_run(ctx, prec, n, d, m, candidates, &res, &count, &best, &own);
    if (s == PEGR_OK && count) {
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
        printf("CLBlast's fastest: %.3f ms against its own %.3f ms (%.2fx)\n", 1e3 * res[best].seconds,
               1e3 * res[0].seconds, res[0].seconds / res[best].seconds);
        free(path);
    }
    if (s == PEGR_OK) print_own(dev, prec, &own);
    else pegr_cli_error(SPEC.name, pegr_context_error(ctx));
    pegr_gemm_search_free(&own);
    free(res);
    pegr_context_destroy(ctx);
    return s == PEGR_OK ? PEGR_EXIT_OK : PEGR_EXIT_FAILURE;
}

/* main.c: the pegr command -- dispatch to subcommands; global options may come before the
 * subcommand (`pegr --device cpu devices`) and are handed on to it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

typedef struct pegr_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} pegr_command;

static const pegr_command COMMANDS[] = {
    {"train", "train gd / sgd / gr / pegr on the signal-noise model (the paper's experiment)",
     pegr_cmd_train},
    {"sweep", "a grid of runs x methods x seeds: resumable, every device, shards, Slurm, parallel",
     pegr_cmd_sweep},
    {"collect", "merge a sweep's shards into one results.csv", pegr_cmd_collect},
    {"bench", "time training steps on a device over a grid of sizes", pegr_cmd_bench},
    {"tune", "tune CLBlast's GEMM for this device and store the fastest", pegr_cmd_tune},
    {"data", "generate a signal-noise or XOR dataset as .npy files", pegr_cmd_data},
    {"grad", "gradients of gd / pegr / gr at given weights, with per-example norms", pegr_cmd_grad},
    {"devices", "list OpenCL devices and mark the selected one", pegr_cmd_devices},
    {"selftest", "build and run a small kernel on the device, checked against the host",
     pegr_cmd_selftest},
    {"check", "can pegr's numbers be trusted here? the conformance battery, per device",
     pegr_cmd_check},
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_help(FILE *out)
{
    fprintf(out,
            "pegr %s: per-example gradient regularization on the signal-noise model (OpenCL)\n\n"
            "usage: pegr [--device SPEC] [--verbose] COMMAND [options]\n"
            "       pegr --version | --help\n\ncommands:\n",
            pegr_version());
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n`pegr COMMAND --help` lists a command's options.\n"
                 "Environment: PEGR_DEVICE (default device spec), PEGR_KERNEL_DIR (load cl/*.cl from "
                 "disk),\n  PEGR_CACHE_DIR (kernel binary cache), PEGR_NO_CACHE=1 (no cache).\n"
                 "Exit codes: 0 success, 1 run-time error, 2 usage error, 3 training diverged,\n"
                 "  4 collect found missing or duplicated runs,\n"
                 "  130 interrupted (Ctrl-C / SIGTERM; the files hold what ran).\n");
}

static int usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, "pegr: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\nusage: pegr [--device SPEC] [--verbose] COMMAND [options]; pegr --help\n");
    return PEGR_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* Leading global options, kept to hand on to the subcommand. */
    int i = 1;
    while (i < argc && strncmp(argv[i], "-", 1) == 0) {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0) {
            printf("pegr %s\n", pegr_version());
            return PEGR_EXIT_OK;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(stdout);
            return PEGR_EXIT_OK;
        }
        if (strcmp(a, "--verbose") == 0 || strncmp(a, "--device=", 9) == 0) {
            i++;
        } else if (strcmp(a, "--device") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs a value (SPEC)", a);
            i += 2;
        } else {
            return usage_error("unknown option '%s' before the command", a);
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return PEGR_EXIT_USAGE;
    }
    const pegr_command *cmd = NULL;
    for (size_t k = 0; k < NCOMMANDS; k++)
        if (strcmp(argv[i], COMMANDS[k].name) == 0) cmd = &COMMANDS[k];
    if (!cmd) return usage_error("unknown command '%s'", argv[i]);

    /* argv for the subcommand: its name, then the leading globals, then its own arguments. */
    char **sub = malloc((size_t)argc * sizeof *sub);
    if (!sub) return PEGR_EXIT_FAILURE;
    int n = 0;
    sub[n++] = argv[i];
    for (int k = 1; k < i; k++) sub[n++] = argv[k];
    for (int k = i + 1; k < argc; k++) sub[n++] = argv[k];
    int rc = cmd->run(n, sub);
    free(sub);
    return rc;
}

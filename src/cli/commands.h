/* commands.h: the pegr subcommands and the helpers they share. */
#ifndef PEGR_CLI_COMMANDS_H
#define PEGR_CLI_COMMANDS_H

#include "args.h"
#include "pegr/pegr.h"

/* Each takes argv with argv[0] = the subcommand's name and returns the process exit code. */
int pegr_cmd_devices(int argc, char **argv);
int pegr_cmd_selftest(int argc, char **argv);
int pegr_cmd_data(int argc, char **argv);
int pegr_cmd_grad(int argc, char **argv);
int pegr_cmd_train(int argc, char **argv);
int pegr_cmd_bench(int argc, char **argv);
int pegr_cmd_sweep(int argc, char **argv);
int pegr_cmd_collect(int argc, char **argv);
int pegr_cmd_tune(int argc, char **argv);
int pegr_cmd_check(int argc, char **argv);

/* The device helpers (device_open.c): every command that needs a device opens it through
 * pegr_context_open / pegr_backend_open (the library's one device-open path) or, to list and
 * choose without opening, through pegr_cli_pick_device. */

/* List the devices and open the one `spec` (or $PEGR_DEVICE, or the default) selects, printing
 * a clear message on failure. OUT: *ctx. Returns PEGR_EXIT_OK or PEGR_EXIT_FAILURE. */
int pegr_cli_open_device(const char *cmd_name, const pegr_global_opts *g, int profiling,
                         pegr_context **ctx);
/* List every device and, when `chosen` is not NULL, pick the one `spec` selects by
 * pegr_device_select_for's rules (NULL or "": $PEGR_DEVICE, else the default; need_fp64 ranks fp64
 * devices first under the default rule), with one sentence on why in `reason` (reason_size > 0).
 * Prints "pegr CMD: error: ..." on failure. OUT: *list (free it with pegr_device_list_free, after
 * a failed selection too), *count, *chosen. Returns PEGR_EXIT_OK or PEGR_EXIT_FAILURE. */
int pegr_cli_pick_device(const char *cmd_name, const char *spec, int need_fp64,
                         pegr_device_info **list, size_t *count, size_t *chosen, char *reason,
                         size_t reason_size);
/* The backend options the global flags and --precision ask for (fp32|fp64; --verbose logs). */
void pegr_cli_backend_options(const pegr_global_opts *g, const char *precision,
                              pegr_backend_options *options);
/* The log callback the CLI installs with --verbose: "pegr: message" on stderr. */
void pegr_cli_log(void *user, pegr_log_level level, const char *message);
/* Print "pegr CMD: error: MESSAGE" on stderr. */
void pegr_cli_error(const char *cmd_name, const pegr_error *err);

#endif

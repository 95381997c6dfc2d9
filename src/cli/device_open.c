/* device_open.c: open (or only choose) the device the flags select, with the messages a user needs
 * when that fails; the CLI's log and error lines. */
#include <stdio.h>

#include "commands.h"

void pegr_cli_log(void *user, pegr_log_level level, const char *message)
{
    (void)user;
    static const char *const names[] = {"debug", "info", "warning"};
    fprintf(stderr, "pegr: %s: %s\n", names[level <= PEGR_LOG_WARN ? level : PEGR_LOG_WARN], message);
}

void pegr_cli_error(const char *cmd_name, const pegr_error *err)
{
    fprintf(stderr, "pegr %s: error: %s\n", cmd_name, pegr_error_message(err));
}

void pegr_cli_backend_options(const pegr_global_opts *g, const char *precision,
                              pegr_backend_options *options)
{
    pegr_backend_options_default(options);
    if (precision) pegr_precision_parse(precision, "--precision", &options->precision, NULL);
    if (g->verbose) options->log = pegr_cli_log;
}

int pegr_cli_open_device(const char *cmd_name, const pegr_global_opts *g, int profiling,
                         pegr_context **ctx)
{
    pegr_error err = {0};
    pegr_context_options opts = {0};
    opts.profiling = profiling;
    if (g->verbose) opts.log = pegr_cli_log;
    int code = pegr_context_open(g->device, 0, &opts, ctx, &err) == PEGR_OK ? PEGR_EXIT_OK
                                                                           : PEGR_EXIT_FAILURE;
    if (code != PEGR_EXIT_OK) pegr_cli_error(cmd_name, &err);
    pegr_error_clear(&err);
    return code;
}

int pegr_cli_pick_device(const char *cmd_name, const char *spec, int need_fp64,
                         pegr_device_info **list, size_t *count, size_t *chosen, char *reason,
                         size_t reason_size)
{
    pegr_error err = {0};
    *list = NULL;
    *count = 0;
    pegr_status s = pegr_device_list(list, count, &err);
    if (s == PEGR_OK && chosen)
        s = pegr_device_select_for(*list, *count, pegr_device_spec_effective(spec), need_fp64,
                                   chosen, reason, reason_size, &err);
    if (s != PEGR_OK) pegr_cli_error(cmd_name, &err);
    pegr_error_clear(&err);
    return s == PEGR_OK ? PEGR_EXIT_OK : PEGR_EXIT_FAILURE;
}

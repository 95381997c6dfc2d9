/* device_open.c: open the device the flags select, with the messages a user needs when that fails. */
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

int pegr_cli_open_device(const char *cmd_name, const pegr_global_opts *g, int profiling,
                         pegr_context **ctx)
{
    pegr_error err = {0};
    pegr_device_info *list = NULL;
    size_t count = 0, chosen = 0;
    int code = PEGR_EXIT_FAILURE;
    const char *spec = pegr_device_spec_effective(g->device);
    char reason[1024];
    if (pegr_device_list(&list, &count, &err) != PEGR_OK ||
        pegr_device_select_for(list, count, spec, 0, &chosen, reason, sizeof reason, &err) !=
            PEGR_OK) {
        pegr_cli_error(cmd_name, &err);
        goto done;
    }
    if (g->verbose) pegr_cli_log(NULL, PEGR_LOG_INFO, reason);
    pegr_context_options opts = {0};
    opts.profiling = profiling;
    if (g->verbose) opts.log = pegr_cli_log;
    if (pegr_context_create(&list[chosen], &opts, ctx, &err) != PEGR_OK) {
        pegr_cli_error(cmd_name, &err);
        goto done;
    }
    code = PEGR_EXIT_OK;
done:
    pegr_error_clear(&err);
    pegr_device_list_free(list);
    return code;
}

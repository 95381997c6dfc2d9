/* train_args.c: see train_args.h. */
#include "train_args.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_args.h"
#include "pegr/numparse.h"

size_t pegr_cli_experiment_args(pegr_train_config *c, const char **robust_sigmas, pegr_arg *out)
{
    /* The rows are the library's one table of training options (pegr_train_options: name, type,
     * range, field, help), each target the option's field of c; --robust-sigmas' text goes to
     * *robust_sigmas, read after parsing (pegr_cli_finish_experiment_args). */
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    if (n > PEGR_EXPERIMENT_MAX_ARGS) n = PEGR_EXPERIMENT_MAX_ARGS; /* test_sweep_api: they fit */
    for (size_t k = 0; k < n; k++) out[k] = pegr_cli_option_row(&table[k], c, 0, robust_sigmas);
    return n;
}

int pegr_cli_parse_sigmas(const char *list, pegr_train_config *c)
{
    /* the library's one reading of the option (pegr_train_config_set), as sweep axes use it */
    return pegr_train_config_set(c, "robust-sigmas", list, NULL) == PEGR_OK;
}

int pegr_cli_finish_experiment_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                                    pegr_train_config *c, const char *robust_sigmas)
{
    /* --mu-norm given is the ||mu|| to use: an SNR that came with the configuration (pegr train
     * --config) would otherwise win over it (an SNR > 0 sets ||mu||). */
    if (pegr_args_given(args, nargs, "mu-norm") && !pegr_args_given(args, nargs, "snr"))
        c->data.snr = 0;
    int rc = pegr_cli_check_data_args(cmd, args, nargs, &c->data);
    if (rc >= 0) return rc;
    /* Only a given list replaces c's: the one the configuration (preset or --config) holds. */
    if (pegr_args_given(args, nargs, "robust-sigmas") && !pegr_cli_parse_sigmas(robust_sigmas, c))
        return pegr_args_usage_error(cmd, "--robust-sigmas must be 'none' or a comma list of "
                                          "distinct numbers >= 0 (at most %d), not '%s'",
                                     PEGR_MAX_ROBUST, robust_sigmas);
    return -1;
}

int pegr_cli_apply_preset(const char *name, pegr_train_config *c)
{
    return pegr_train_config_preset(name, c, NULL) == PEGR_OK;
}

const char *pegr_cli_find_value(int argc, char **argv, const char *name)
{
    /* the last one, as the parser keeps the last of an option given twice */
    size_t len = strlen(name);
    const char *value = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0 || strncmp(argv[i] + 2, name, len) != 0) continue;
        const char *rest = argv[i] + 2 + len;
        if (*rest == '\0' && i + 1 < argc) value = argv[++i];
        else if (*rest == '=') value = rest + 1;
    }
    return value;
}

const char *pegr_cli_find_preset(int argc, char **argv)
{
    const char *preset = pegr_cli_find_value(argc, argv, "preset");
    return preset ? preset : "demo";
}

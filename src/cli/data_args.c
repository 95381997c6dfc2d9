/* data_args.c: option rows from the library's table of training options, and the checks on the
 * data-model options after parsing. */
#include "data_args.h"

#include <stddef.h>

pegr_arg pegr_cli_option_row(const pegr_train_option *o, void *base, size_t shift,
                             const char **sigmas)
{
    static const pegr_arg_kind kinds[] = {
        [PEGR_OPTION_SIZE] = PEGR_ARG_SIZE,
        [PEGR_OPTION_U64] = PEGR_ARG_U64,
        [PEGR_OPTION_DOUBLE] = PEGR_ARG_DOUBLE,
        [PEGR_OPTION_FLAG] = PEGR_ARG_FLAG,
        [PEGR_OPTION_METHOD] = PEGR_ARG_METHOD,
        [PEGR_OPTION_REPRESENTATION] = PEGR_ARG_REPRESENTATION,
        [PEGR_OPTION_SIGMAS] = PEGR_ARG_STRING,
    };
    void *target = o->type == PEGR_OPTION_SIGMAS ? (void *)sigmas
                                                 : (void *)((char *)base + o->offset - shift);
    return (pegr_arg){o->name, kinds[o->type], target, o->metavar, o->help, o->allowed, 0};
}

size_t pegr_cli_data_args(pegr_data_config *c, pegr_arg *out)
{
    const pegr_train_option *table = NULL;
    size_t count = pegr_train_options(&table), n = 0;
    for (size_t k = 0; k < count && n < PEGR_EXPERIMENT_MAX_ARGS; k++)
        if (table[k].data)
            out[n++] = pegr_cli_option_row(&table[k], c, offsetof(pegr_train_config, data), NULL);
    return n;
}

int pegr_cli_check_data_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                             const pegr_data_config *c)
{
    if (pegr_args_given(args, nargs, "mu-norm") && pegr_args_given(args, nargs, "snr"))
        return pegr_args_usage_error(cmd, "give --mu-norm or --snr, not both");
    if (pegr_args_given(args, nargs, "snr") && c->snr <= 0)
        return pegr_args_usage_error(cmd, "--snr must be > 0, not %g", c->snr);
    pegr_error err = {0};
    if (pegr_data_config_validate(c, &err) != PEGR_OK) {
        int rc = pegr_args_usage_error(cmd, "%s", pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    return -1;
}

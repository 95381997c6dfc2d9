/* data_args.c: checks on the data-model options after parsing. */
#include "data_args.h"

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

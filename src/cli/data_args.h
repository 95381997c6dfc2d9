/* data_args.h: option rows built from the library's table of training options -- the data-model
 * ones for `pegr data`, the helper `pegr train` and `pegr sweep` use for all of them -- plus the
 * check that only one of --mu-norm and --snr is given. */
#ifndef PEGR_CLI_DATA_ARGS_H
#define PEGR_CLI_DATA_ARGS_H

#include "args.h"
#include "pegr/data.h"
#include "pegr/train.h"

/* The most rows a command gets from the library's table of training options. */
#define PEGR_EXPERIMENT_MAX_ARGS 32

/* One row of an option table from the library's table of training options (pegr_train_options:
 * name, type, range, help): its target is the option's field in the struct at `base`, which sits
 * `shift` bytes into a pegr_train_config (0 for a pegr_train_config, offsetof(pegr_train_config,
 * data) for a pegr_data_config); a --robust-sigmas row's target is *sigmas (its text). */
pegr_arg pegr_cli_option_row(const pegr_train_option *o, void *base, size_t shift,
                             const char **sigmas);

/* The rows of the data-model options (the table's `data` ones, in its order) with c's fields as
 * targets: what `pegr data` takes. Room for PEGR_EXPERIMENT_MAX_ARGS in out; returns the count.
 * The ranges are the ones pegr_data_config_validate accepts, so a bad value is refused by the
 * parser naming the flag and its range; --snr 0 means "use --mu-norm" in a configuration but must
 * be > 0 when given, which pegr_cli_check_data_args checks. */
size_t pegr_cli_data_args(pegr_data_config *c, pegr_arg *out);

/* After parsing: --mu-norm and --snr together is a usage error; then the config is validated.
 * Returns -1 to go on or an exit code (the message printed). */
int pegr_cli_check_data_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                             const pegr_data_config *c);

#endif

/* data_args.h: option rows built from the library's table of training options -- the data-model
 * ones for `pegr data`, the helper `pegr train` and `pegr sweep` use for all of them -- plus the
 * check that only one of --mu-norm and --snr is given. */
#ifndef PEGR_CLI_DATA_ARGS_H
#define PEGR_CLI_DATA_ARGS_H

#include "args.h"
#include "pegr/data.h"
#include "pegr/run_files.h"
#include "pegr/train.h"

/* The most rows a command gets from the library's table of training options. */
#define PEGR_EXPERIMENT_MAX_ARGS 64

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

/* ---- the caller's own data (`pegr train|sweep --X X.npy --y y.npy ...`) ---------------------- */

/* The paths of --X, --y, --X-test, --y-test, --mu (NULL: not given), in PEGR_DATA_FILE_NAMES'
 * order: what pegr_train_write_config_data records. */
typedef struct pegr_cli_user_data {
    const char *path[PEGR_DATA_FILE_COUNT];
} pegr_cli_user_data;

/* The five rows into out; returns their count. */
size_t pegr_cli_user_data_args(pegr_cli_user_data *u, pegr_arg *out);
/* 1 when any of the five flags was given. */
int pegr_cli_user_data_given(const pegr_cli_user_data *u);
/* After parsing, with user data given: --X and --y together, --X-test and --y-test together; every
 * data-model flag but --seed (which still draws the initial weights) refused, as it would mean
 * nothing. -1 to go on, or an exit code (the message printed). */
int pegr_cli_check_user_data_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                                  const pegr_cli_user_data *u);
/* Read and check the files (as `pegr grad`: X (n, P, d), y (n,) of +-1, every value finite; the
 * test split's P and d X's, mu (d,)), build *ds from them and set c's n, n_test, d, P to their
 * shapes. Errors name the file and what would be right; *ds is left empty on failure. */
pegr_status pegr_cli_load_user_data(const pegr_cli_user_data *u, pegr_dataset *ds,
                                    pegr_data_config *c, pegr_error *err);

#endif

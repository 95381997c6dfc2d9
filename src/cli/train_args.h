/* train_args.h: the experiment's options -- model, training and data -- shared by `pegr train` and
 * `pegr sweep` (whose grid axes and fixed values are these same options), plus the presets. */
#ifndef PEGR_CLI_TRAIN_ARGS_H
#define PEGR_CLI_TRAIN_ARGS_H

#include "args.h"
#include "data_args.h"
#include "pegr/train.h"


/* Rows for c's options into out (room for PEGR_EXPERIMENT_MAX_ARGS); *robust_sigmas receives
 * --robust-sigmas' text. Returns the number of rows. */
size_t pegr_cli_experiment_args(pegr_train_config *c, const char **robust_sigmas, pegr_arg *out);
/* After parsing: the data checks and --robust-sigmas into c (when given; c keeps its list
 * otherwise), and a given --mu-norm clears c's SNR (the configuration's, from --config). -1 to go
 * on, or an exit code. */
int pegr_cli_finish_experiment_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                                    pegr_train_config *c, const char *robust_sigmas);
/* --robust-sigmas' text into c: "none" (no robustness test) or a comma list of distinct numbers >= 0
 * (at most PEGR_MAX_ROBUST), each through the strict number parser. 0 when the text is not that. */
int pegr_cli_parse_sigmas(const char *list, pegr_train_config *c);
/* The defaults, then the named preset: demo (docs/math.md's regime, also the defaults), large, tiny.
 * 0 for an unknown name. */
int pegr_cli_apply_preset(const char *name, pegr_train_config *c);
/* --preset's value in argv ("demo" when absent), so it can be applied before the other flags. */
const char *pegr_cli_find_preset(int argc, char **argv);
/* The value of --NAME in argv ("--NAME VALUE" or "--NAME=VALUE"; the last, as the parser keeps
 * the last of an option given twice), NULL when absent:
 * for the options read before the others (--preset, --config). */
const char *pegr_cli_find_value(int argc, char **argv, const char *name);
#define PEGR_PRESETS PEGR_TRAIN_PRESETS

#endif

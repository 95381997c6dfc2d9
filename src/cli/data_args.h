/* data_args.h: the data-model options shared by `pegr data` and (later) `pegr train`, as rows of
 * an option table, plus the check that only one of --mu-norm and --snr is given. */
#ifndef PEGR_CLI_DATA_ARGS_H
#define PEGR_CLI_DATA_ARGS_H

#include "args.h"
#include "pegr/data.h"

/* The ranges are the ones pegr_data_config_validate accepts (n, d, P >= 1; sigma_p, mu_norm,
 * snr finite and >= 0; label_flip in [0, 0.5]; n_test any), so a bad value is refused by the
 * parser, naming the flag and its range, rather than later by the config's field name. --snr 0
 * means "use --mu-norm" in a configuration, but given on the command line it must be > 0: that
 * one bound is not a closed range, pegr_cli_check_data_args checks it. */
#define PEGR_DATA_ARGS(c)                                                                          \
    {"n", PEGR_ARG_SIZE, &(c)->n, "N", "training examples", "1..", 0},                             \
    {"n-test", PEGR_ARG_SIZE, &(c)->n_test, "N", "test examples", NULL, 0},                        \
    {"d", PEGR_ARG_SIZE, &(c)->d, "D", "patch dimension", "1..", 0},                               \
    {"patches", PEGR_ARG_SIZE, &(c)->P, "P", "patches per example (one holds the signal)", "1..", 0}, \
    {"mu-norm", PEGR_ARG_DOUBLE, &(c)->mu_norm, "X", "signal strength ||mu||", "0..", 0},          \
    {"snr", PEGR_ARG_DOUBLE, &(c)->snr, "X",                                                       \
     "signal-to-noise ratio ||mu|| / (sigma_p sqrt(d)), > 0 when given; sets ||mu|| instead of "  \
     "--mu-norm", "0..", 0},                                                                       \
    {"sigma-p", PEGR_ARG_DOUBLE, &(c)->sigma_p, "X", "noise standard deviation", "0..", 0},        \
    {"isotropic", PEGR_ARG_FLAG, &(c)->isotropic, NULL,                                            \
     "isotropic noise (default: noise orthogonal to mu)", NULL, 0},                                \
    {"label-noise", PEGR_ARG_DOUBLE, &(c)->label_flip, "P",                                        \
     "probability of flipping a training label", "0..0.5", 0},                                     \
    {"flip-test", PEGR_ARG_FLAG, &(c)->flip_test, NULL, "flip test labels with --label-noise too", \
     NULL, 0},                                                                                     \
    {"seed", PEGR_ARG_U64, &(c)->seed, "S", "random seed (data and initial weights)", NULL, 0}

/* After parsing: --mu-norm and --snr together is a usage error; then the config is validated.
 * Returns -1 to go on or an exit code (the message printed). */
int pegr_cli_check_data_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                             const pegr_data_config *c);

#endif

/* train_args.c: see train_args.h. */
#include "train_args.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_args.h"
#include "numparse.h"

size_t pegr_cli_experiment_args(pegr_train_config *c, const char **robust_sigmas, pegr_arg *out)
{
    const pegr_arg rows[] = {
        {"method", PEGR_ARG_METHOD, &c->method, NULL, "training method", "gd|sgd|gr|pegr", 0},
        {"m", PEGR_ARG_SIZE, &c->m, "M", "filters per class", "1..", 0},
        {"q", PEGR_ARG_DOUBLE, &c->q, "Q", "activation max(z,0)^q (q = 1 or q >= 2 for gr and pegr)",
         NULL, 0},
        {"sigma0", PEGR_ARG_DOUBLE, &c->sigma0, "S", "initial weights ~ N(0, sigma0^2)", NULL, 0},
        {"lam", PEGR_ARG_DOUBLE, &c->lam, "LAM", "penalty weight of pegr and gr", NULL, 0},
        {"lr", PEGR_ARG_DOUBLE, &c->lr, "LR", "learning rate", NULL, 0},
        {"steps", PEGR_ARG_SIZE, &c->steps, "N", "training steps", NULL, 0},
        {"batch", PEGR_ARG_SIZE, &c->batch, "B", "sgd mini-batch size (reshuffled each epoch)", NULL, 0},
        {"log-every", PEGR_ARG_SIZE, &c->log_every, "N", "metrics every N steps", "1..", 0},
        {"representation", PEGR_ARG_REPRESENTATION, &c->representation, NULL,
         "train in the weights (primal) or in the span of the training patches (docs/math.md); auto: "
         "the cheaper for the sizes", "auto|primal|span", 0},
        {"robust-sigmas", PEGR_ARG_STRING, robust_sigmas, "LIST",
         "input-noise levels of the final robustness test ('none': skip)", NULL, 0},
        PEGR_DATA_ARGS(&c->data),
    };
    size_t n = sizeof rows / sizeof rows[0];
    memcpy(out, rows, sizeof rows);
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
    int rc = pegr_cli_check_data_args(cmd, args, nargs, &c->data);
    if (rc >= 0) return rc;
    if (!pegr_cli_parse_sigmas(robust_sigmas, c))
        return pegr_args_usage_error(cmd, "--robust-sigmas must be 'none' or a comma list of "
                                          "distinct numbers >= 0 (at most %d), not '%s'",
                                     PEGR_MAX_ROBUST, robust_sigmas);
    return -1;
}

int pegr_cli_apply_preset(const char *name, pegr_train_config *c)
{
    pegr_train_config_default(c); /* "demo": the regime of docs/math.md */
    if (strcmp(name, "demo") == 0) return 1;
    if (strcmp(name, "large") == 0) { /* docs/math.md's second regime */
        c->data.n = 200;
        c->data.d = 2000;
        c->data.mu_norm = 2.0;
        c->m = 20;
        c->steps = 2000;
        c->log_every = 20;
        return 1;
    }
    if (strcmp(name, "tiny") == 0) { /* seconds on a laptop: smoke runs and tests */
        c->data.n = 20;
        c->data.n_test = 200;
        c->data.d = 200;
        c->m = 4;
        c->steps = 200;
        return 1;
    }
    return 0;
}

const char *pegr_cli_find_preset(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) return argv[i + 1];
        if (strncmp(argv[i], "--preset=", 9) == 0) return argv[i] + 9;
    }
    return "demo";
}

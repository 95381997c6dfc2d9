/* data_args.c: checks on the data-model options after parsing. */
#include "data_args.h"

#include <math.h>
#include <string.h>

#include "json.h"

static int seen(const pegr_arg *args, size_t nargs, const char *name)
{
    for (size_t k = 0; k < nargs; k++)
        if (strcmp(args[k].name, name) == 0) return args[k].seen;
    return 0;
}

int pegr_cli_check_data_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                             const pegr_data_config *c)
{
    if (seen(args, nargs, "mu-norm") && seen(args, nargs, "snr"))
        return pegr_args_usage_error(cmd, "give --mu-norm or --snr, not both");
    if (seen(args, nargs, "snr") && c->snr <= 0)
        return pegr_args_usage_error(cmd, "--snr must be > 0, not %g", c->snr);
    pegr_error err = {0};
    if (pegr_data_config_validate(c, &err) != PEGR_OK) {
        int rc = pegr_args_usage_error(cmd, "%s", pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    return -1;
}

void pegr_cli_json_data_config(struct pegr_json *j, const pegr_data_config *c)
{
    double mu_norm = pegr_data_config_mu_norm(c);
    pegr_json_kv_uint(j, "n", c->n);
    pegr_json_kv_uint(j, "n_test", c->n_test);
    pegr_json_kv_uint(j, "d", c->d);
    pegr_json_kv_uint(j, "patches", c->P);
    pegr_json_kv_number(j, "mu_norm", mu_norm);
    /* null when sigma_p = 0 (no noise: the SNR is infinite) */
    pegr_json_kv_number(j, "snr", mu_norm / (c->sigma_p * sqrt((double)c->d)));
    pegr_json_kv_number(j, "sigma_p", c->sigma_p);
    pegr_json_kv_string(j, "noise", c->isotropic ? "isotropic" : "orthogonal");
    pegr_json_kv_number(j, "label_noise", c->label_flip);
    pegr_json_kv_bool(j, "flip_test", c->flip_test);
    pegr_json_kv_uint(j, "seed", c->seed);
}

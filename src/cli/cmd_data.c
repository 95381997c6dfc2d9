/* cmd_data.c: `pegr data` -- generate a signal-noise or XOR dataset and write it as .npy files plus
 * meta.json, every file written to a temporary name and renamed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "data_args.h"
#include "pegr/io.h"
#include "pegr/run_files.h"

static const pegr_command_spec SPEC = {
    "data", "generate a signal-noise or XOR dataset (X, y, mu, X_test, y_test, meta.json) into a "
    "directory",
    "pegr data --out DIR [--n N] [--d D] [--patches P] [--mu-norm X | --snr X] [--seed S] "
    "[--data xor --xor-a-norm A --xor-b-norm B] ..."};

static pegr_status write_split(const char *dir, const char *xname, const char *yname,
                               const pegr_split *split, size_t P, size_t d, pegr_error *err)
{
    size_t xshape[3] = {split->n, P, d}, yshape[1] = {split->n};
    pegr_status s = pegr_npy_write_in(dir, xname, split->X, 3, xshape, 0, err);
    if (s == PEGR_OK) s = pegr_npy_write_in(dir, yname, split->y, 1, yshape, 0, err);
    return s;
}

static pegr_status write_meta(const char *dir, const pegr_data_config *c, pegr_error *err)
{
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "pegr_version", pegr_version());
    int xor_model = c->model == PEGR_DATA_XOR;
    pegr_json_kv_string(&j, "generator",
                        xor_model ? "XOR model (Meng, Zou, Cao 2023), Philox4x32-10 streams"
                                  : "signal-noise model (Cao et al. 2022), Philox4x32-10 streams");
    pegr_data_config_json(&j, c);
    pegr_json_key(&j, "files");
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "X", "X.npy (n, patches, d) float64");
    pegr_json_kv_string(&j, "y", "y.npy (n,) float64, +1/-1 (after label noise)");
    pegr_json_kv_string(&j, "mu", xor_model ? "mu.npy (2, d) float64: row 0 u+ = a + b (class +1), "
                                              "row 1 u- = a - b (class -1); a = xor_a_norm * e_1, "
                                              "b = xor_b_norm * e_2"
                                            : "mu.npy (d,) float64, mu_norm * e_1");
    pegr_json_kv_string(&j, "X_test", "X_test.npy (n_test, patches, d) float64");
    pegr_json_kv_string(&j, "y_test", "y_test.npy (n_test,) float64, +1/-1");
    pegr_json_end_object(&j);
    pegr_json_end_object(&j);
    pegr_status s = pegr_json_write_in(&j, dir, "meta.json", err);
    pegr_json_free(&j);
    return s;
}

int pegr_cmd_data(int argc, char **argv)
{
    pegr_data_config c;
    pegr_data_config_default(&c);
    const char *out = NULL;
    pegr_global_opts g = {0}; /* accepted like everywhere; data generation runs on the host */
    const pegr_arg globals[] = {PEGR_GLOBAL_ARGS(&g)};
    pegr_arg args[1 + PEGR_EXPERIMENT_MAX_ARGS + sizeof globals / sizeof globals[0]] = {
        {"out", PEGR_ARG_STRING, &out, "DIR", "directory to write (created if missing)", NULL, 0},
    };
    size_t nargs = 1 + pegr_cli_data_args(&c, args + 1); /* the library's data options */
    memcpy(args + nargs, globals, sizeof globals);
    nargs += sizeof globals / sizeof globals[0];
    int rc = pegr_args_parse(&SPEC, args, nargs, argc, argv);
    if (rc >= 0) return rc;
    if (!out) return pegr_args_usage_error(&SPEC, "--out DIR is required");
    rc = pegr_cli_check_data_args(&SPEC, args, nargs, &c);
    if (rc >= 0) return rc;

    pegr_error err = {0};
    pegr_dataset ds = {0};
    size_t mshape[2] = {0, c.d}; /* mu: (d,), or the XOR model's (2, d) */
    pegr_status s = pegr_data_generate(&c, &ds, &err);
    if (s == PEGR_OK) s = pegr_mkdir_p(out, &err);
    if (s == PEGR_OK) s = write_split(out, "X.npy", "y.npy", &ds.train, c.P, c.d, &err);
    if (s == PEGR_OK) s = write_split(out, "X_test.npy", "y_test.npy", &ds.test, c.P, c.d, &err);
    mshape[0] = ds.n_signal;
    int rows = ds.n_signal > 1;
    if (s == PEGR_OK)
        s = pegr_npy_write_in(out, "mu.npy", ds.mu, rows ? 2 : 1, rows ? mshape : mshape + 1, 0, &err);
    /* meta.json last: its presence says the directory is complete. */
    if (s == PEGR_OK) s = write_meta(out, &c, &err);
    if (s == PEGR_OK)
        printf("wrote %s: %zu train and %zu test examples, %zu patches of dimension %zu, "
               "%s = %g\n", out, c.n, c.n_test, c.P, c.d, rows ? "||a +- b||" : "||mu||",
               ds.mu_norm);
    else
        pegr_cli_error(SPEC.name, &err);
    pegr_dataset_free(&ds);
    pegr_error_clear(&err);
    return s == PEGR_OK ? PEGR_EXIT_OK : PEGR_EXIT_FAILURE;
}

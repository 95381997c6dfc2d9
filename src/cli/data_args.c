/* data_args.c: option rows from the library's table of training options, and the checks on the
 * data-model options after parsing. */
#include "data_args.h"

#include <stddef.h>
#include <string.h>

#include "pegr/io.h"

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
        [PEGR_OPTION_CHOICE] = PEGR_ARG_INDEX,
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
    /* the XOR model's signal is a and b; --mu-norm would be silently ignored */
    if (c->model == PEGR_DATA_XOR && pegr_args_given(args, nargs, "mu-norm"))
        return pegr_args_usage_error(cmd, "--mu-norm sets the signal-noise model's ||mu||; with "
                                          "--data xor set --xor-a-norm and --xor-b-norm");
    pegr_error err = {0};
    if (pegr_data_config_validate(c, &err) != PEGR_OK) {
        int rc = pegr_args_usage_error(cmd, "%s", pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    return -1;
}

/* ---- the caller's own data ------------------------------------------------------------------ */

size_t pegr_cli_user_data_args(pegr_cli_user_data *u, pegr_arg *out)
{
    memset(u, 0, sizeof *u);
    const pegr_arg rows[PEGR_DATA_FILE_COUNT] = {
        {"X", PEGR_ARG_STRING, &u->path[0], "X.npy",
         "train on these patches, shape (n, patches, d), in place of generated data", NULL, 0},
        {"y", PEGR_ARG_STRING, &u->path[1], "y.npy", "their labels +1/-1, shape (n,) (with --X)", NULL, 0},
        {"X-test", PEGR_ARG_STRING, &u->path[2], "X.npy",
         "test patches (n_test, patches, d) (with --X; none: no test metrics)", NULL, 0},
        {"y-test", PEGR_ARG_STRING, &u->path[3], "y.npy", "test labels +1/-1 (with --X-test)", NULL, 0},
        {"mu", PEGR_ARG_STRING, &u->path[4], "mu.npy",
         "the signal vector, shape (d,) (with --X): gamma and rho are measured against it; "
         "without it they are absent", NULL, 0},
    };
    memcpy(out, rows, sizeof rows);
    return PEGR_DATA_FILE_COUNT;
}

int pegr_cli_user_data_given(const pegr_cli_user_data *u)
{
    for (size_t k = 0; k < PEGR_DATA_FILE_COUNT; k++)
        if (u->path[k]) return 1;
    return 0;
}

int pegr_cli_check_user_data_args(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs,
                                  const pegr_cli_user_data *u)
{
    if (!u->path[0] || !u->path[1])
        return pegr_args_usage_error(cmd, "your own data needs both --X and --y (--X-test, "
                                          "--y-test and --mu are optional)");
    if (!u->path[2] != !u->path[3])
        return pegr_args_usage_error(cmd, "give --X-test and --y-test together");
    const pegr_train_option *table = NULL;
    size_t count = pegr_train_options(&table);
    for (size_t k = 0; k < count; k++)
        if (table[k].data && strcmp(table[k].name, "seed") != 0 &&
            pegr_args_given(args, nargs, table[k].name))
            return pegr_args_usage_error(cmd, "--%s sets the generated data, which --X replaces: "
                                              "give one or the other (the shapes come from the "
                                              "files; --seed still draws the initial weights)",
                                         table[k].name);
    return -1;
}

/* X-like (n, P, d) file: 3 dimensions, n >= 1 (n_test may not be 0 either: a test file is given),
 * and where P, d are known (want_P > 0) those. */
static pegr_status check_patches(const pegr_array *a, const char *flag, const char *path,
                                 size_t want_P, size_t want_d, pegr_error *err)
{
    if (a->ndim != 3 || a->shape[0] == 0 || a->shape[1] == 0 || a->shape[2] == 0)
        return pegr_error_set(err, PEGR_ERR_SHAPE,
                              "--%s '%s' must have shape (n, patches, d), every size >= 1; it has "
                              "%d dimension(s) and %zu values", flag, path, a->ndim, a->size);
    if (want_P && (a->shape[1] != want_P || a->shape[2] != want_d))
        return pegr_error_set(err, PEGR_ERR_SHAPE,
                              "--%s '%s' has shape (%zu, %zu, %zu): its patches must be --X's "
                              "(%zu patches of d = %zu)", flag, path, a->shape[0], a->shape[1],
                              a->shape[2], want_P, want_d);
    return PEGR_OK;
}

/* Labels file: shape (n,) for the n examples of its X, every value +-1. */
static pegr_status check_labels(const pegr_array *a, const char *flag, const char *path, size_t n,
                                const char *xflag, pegr_error *err)
{
    if (a->ndim != 1 || a->shape[0] != n)
        return pegr_error_set(err, PEGR_ERR_SHAPE,
                              "--%s '%s' must have shape (%zu,) to match --%s's %zu examples, it has "
                              "%d dimension(s) and %zu values", flag, path, n, xflag, n, a->ndim,
                              a->size);
    return pegr_array_check_labels(a, path, err);
}

pegr_status pegr_cli_load_user_data(const pegr_cli_user_data *u, pegr_dataset *ds,
                                    pegr_data_config *c, pegr_error *err)
{
    static const char *const flags[PEGR_DATA_FILE_COUNT] = {"X", "y", "X-test", "y-test", "mu"};
    pegr_array a[PEGR_DATA_FILE_COUNT];
    memset(a, 0, sizeof a);
    memset(ds, 0, sizeof *ds);
    pegr_status s = PEGR_OK;
    for (size_t k = 0; k < PEGR_DATA_FILE_COUNT && s == PEGR_OK; k++)
        if (u->path[k]) s = pegr_npy_read(u->path[k], &a[k], err);
    if (s == PEGR_OK) s = check_patches(&a[0], flags[0], u->path[0], 0, 0, err);
    size_t n = s == PEGR_OK ? a[0].shape[0] : 0, P = a[0].shape[1], d = a[0].shape[2], n_test = 0;
    if (s == PEGR_OK) s = check_labels(&a[1], flags[1], u->path[1], n, flags[0], err);
    if (s == PEGR_OK && u->path[2]) {
        s = check_patches(&a[2], flags[2], u->path[2], P, d, err);
        n_test = a[2].shape[0];
        if (s == PEGR_OK) s = check_labels(&a[3], flags[3], u->path[3], n_test, flags[2], err);
    }
    if (s == PEGR_OK && u->path[4] && (a[4].ndim != 1 || a[4].shape[0] != d))
        s = pegr_error_set(err, PEGR_ERR_SHAPE,
                           "--mu '%s' must have shape (%zu,), d from --X; it has %d dimension(s) "
                           "and %zu values", u->path[4], d, a[4].ndim, a[4].size);
    if (s == PEGR_OK)
        s = pegr_dataset_from_arrays(a[0].data, a[1].data, n, P, d, a[2].data, a[3].data, n_test,
                                     a[4].data, ds, err);
    if (s == PEGR_OK) {
        c->n = n;
        c->n_test = n_test;
        c->P = P;
        c->d = d;
    }
    for (size_t k = 0; k < PEGR_DATA_FILE_COUNT; k++) pegr_array_free(&a[k]);
    return s;
}

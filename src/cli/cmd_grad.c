/* cmd_grad.c: `pegr grad` -- read X, y, W (.npy), evaluate one objective's gradient, the margins,
 * the per-example losses and squared gradient norms (and optionally the per-example gradients) on a
 * backend, and write them as .npy plus loss.json. The same command on another --device compares
 * devices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "pegr/backend.h"
#include "pegr/io.h"

static const pegr_command_spec SPEC = {
    "grad", "the gradient of gd, pegr or gr at W, with margins, losses and per-example norms",
    "pegr grad --X X.npy --y y.npy --W W.npy --out DIR [--method gd|pegr|gr] [--q Q] [--lam LAM]\n"
    "                 [--per-example] [--device SPEC|host] [--precision fp32|fp64]"};

typedef struct grad_inputs {
    pegr_array X, y, W;
    size_t n, P, d, m;
} grad_inputs;

static pegr_status read_inputs(const char *xpath, const char *ypath, const char *wpath,
                               grad_inputs *in, pegr_error *err)
{
    pegr_status s = pegr_npy_read(xpath, &in->X, err);
    if (s == PEGR_OK) s = pegr_npy_read(ypath, &in->y, err);
    if (s == PEGR_OK) s = pegr_npy_read(wpath, &in->W, err);
    if (s != PEGR_OK) return s;
    if (in->X.ndim != 3)
        return pegr_error_set(err, PEGR_ERR_SHAPE,
                              "X '%s' must have 3 dimensions (n, patches, d), it has %d", xpath,
                              in->X.ndim);
    in->n = in->X.shape[0];
    in->P = in->X.shape[1];
    in->d = in->X.shape[2];
    if (in->n == 0 || in->P == 0 || in->d == 0)
        return pegr_error_set(err, PEGR_ERR_SHAPE, "X '%s' has shape (%zu, %zu, %zu): every size must be >= 1",
                              xpath, in->n, in->P, in->d);
    if (in->y.ndim != 1 || in->y.shape[0] != in->n)
        return pegr_error_set(err, PEGR_ERR_SHAPE,
                              "y '%s' must have shape (%zu,) to match X's %zu examples, it has %d "
                              "dimension(s) and %zu values", ypath, in->n, in->n, in->y.ndim,
                              in->y.size);
    s = pegr_array_check_labels(&in->y, ypath, err);
    if (s != PEGR_OK) return s;
    if (in->W.ndim != 3 || in->W.shape[0] != 2 || in->W.shape[2] != in->d || in->W.shape[1] == 0)
        return pegr_error_set(err, PEGR_ERR_SHAPE,
                              "W '%s' must have shape (2, m, %zu) with m >= 1 (W[0]: the +1 class's "
                              "filters, d from X), it has %d dimension(s)%s", wpath, in->d,
                              in->W.ndim, in->W.ndim == 3 ? " of the wrong sizes" : "");
    in->m = in->W.shape[1];
    return PEGR_OK;
}

static void free_inputs(grad_inputs *in)
{
    pegr_array_free(&in->X);
    pegr_array_free(&in->y);
    pegr_array_free(&in->W);
}

typedef struct grad_outputs {
    double *grad, *margin, *loss, *norm2, *per_example;
    double mean_loss, objective;
} grad_outputs;

static pegr_status write_outputs(const char *dir, const grad_inputs *in, const grad_outputs *o,
                                 const char *method, double q, double lam, const char *device,
                                 const char *precision, pegr_error *err)
{
    size_t gshape[3] = {2, in->m, in->d}, nshape[1] = {in->n}, pshape[4] = {in->n, 2, in->m, in->d};
    pegr_status s = pegr_mkdir_p(dir, err);
    if (s == PEGR_OK) s = pegr_npy_write_in(dir, "grad.npy", o->grad, 3, gshape, 0, err);
    if (s == PEGR_OK) s = pegr_npy_write_in(dir, "margin.npy", o->margin, 1, nshape, 0, err);
    if (s == PEGR_OK) s = pegr_npy_write_in(dir, "per_example_loss.npy", o->loss, 1, nshape, 0, err);
    if (s == PEGR_OK) s = pegr_npy_write_in(dir, "per_example_norm2.npy", o->norm2, 1, nshape, 0, err);
    if (s == PEGR_OK && o->per_example)
        s = pegr_npy_write_in(dir, "per_example_grad.npy", o->per_example, 4, pshape, 0, err);
    if (s != PEGR_OK) return s;
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "method", method);
    pegr_json_kv_number(&j, "q", q);
    pegr_json_kv_number(&j, "lam", lam);
    pegr_json_kv_number(&j, "mean_loss", o->mean_loss);
    pegr_json_kv_number(&j, "objective", o->objective);
    pegr_json_kv_uint(&j, "n", in->n);
    pegr_json_kv_uint(&j, "patches", in->P);
    pegr_json_kv_uint(&j, "d", in->d);
    pegr_json_kv_uint(&j, "m", in->m);
    pegr_json_kv_string(&j, "device", device);
    pegr_json_kv_string(&j, "precision", precision);
    pegr_json_kv_string(&j, "pegr_version", pegr_version());
    pegr_json_end_object(&j);
    s = pegr_json_write_in(&j, dir, "loss.json", err);
    pegr_json_free(&j);
    return s;
}

static pegr_status alloc_outputs(const grad_inputs *in, int per_example, grad_outputs *o,
                                 pegr_error *err)
{
    size_t g = 2 * in->m * in->d;
    o->grad = calloc(g, sizeof(double));
    o->margin = calloc(in->n, sizeof(double));
    o->loss = calloc(in->n, sizeof(double));
    o->norm2 = calloc(in->n, sizeof(double));
    int bad = !o->grad || !o->margin || !o->loss || !o->norm2;
    if (per_example) {
        if (in->n > SIZE_MAX / sizeof(double) / g) bad = 1;
        else o->per_example = calloc(in->n * g, sizeof(double));
        bad |= !o->per_example;
    }
    if (bad)
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of host memory for the outputs "
                              "(n = %zu, m = %zu, d = %zu%s)", in->n, in->m, in->d,
                              per_example ? ", with --per-example" : "");
    return PEGR_OK;
}

static void free_outputs(grad_outputs *o)
{
    free(o->grad);
    free(o->margin);
    free(o->loss);
    free(o->norm2);
    free(o->per_example);
}

int pegr_cmd_grad(int argc, char **argv)
{
    pegr_global_opts g = {0};
    const char *xpath = NULL, *ypath = NULL, *wpath = NULL, *out = NULL;
    const char *method = "gd", *precision = "fp32";
    double q = 3.0, lam = 0.01;
    int per_example = 0;
    pegr_arg args[] = {
        {"X", PEGR_ARG_STRING, &xpath, "X.npy", "patches, shape (n, patches, d)", NULL, 0},
        {"y", PEGR_ARG_STRING, &ypath, "y.npy", "labels +1/-1, shape (n,)", NULL, 0},
        {"W", PEGR_ARG_STRING, &wpath, "W.npy", "weights, shape (2, m, d); W[0]: +1-class filters", NULL, 0},
        {"out", PEGR_ARG_STRING, &out, "DIR", "directory to write (created if missing)", NULL, 0},
        {"method", PEGR_ARG_CHOICE, &method, NULL, "objective", "gd|pegr|gr", 0},
        {"q", PEGR_ARG_DOUBLE, &q, "Q", "activation max(z,0)^q; q = 1 or q >= 2 for pegr and gr", NULL, 0},
        {"lam", PEGR_ARG_DOUBLE, &lam, "LAM", "penalty weight of pegr and gr", NULL, 0},
        {"per-example", PEGR_ARG_FLAG, &per_example, NULL,
         "also write per_example_grad.npy (n, 2, m, d)", NULL, 0},
        {"precision", PEGR_ARG_CHOICE, &precision, NULL,
         "device arithmetic (the host reference computes in fp64 and refuses fp32)", "fp32|fp64",
         0},
        PEGR_GLOBAL_ARGS(&g),
    };
    size_t nargs = sizeof args / sizeof args[0];
    int rc = pegr_args_parse(&SPEC, args, nargs, argc, argv);
    if (rc >= 0) return rc;
    if (!xpath || !ypath || !wpath || !out)
        return pegr_args_usage_error(&SPEC, "--X, --y, --W and --out are required");

    pegr_error err = {0};
    /* The host reference computes in fp64 only: an explicit --precision fp32 there is refused
     * (as pegr train does) rather than silently answered in fp64; without --precision each
     * backend uses its own. */
    const char *asked = pegr_args_given(args, nargs, "precision") ? precision : NULL;
    if (pegr_backend_check_request(g.device, asked, NULL, &err) != PEGR_OK) {
        rc = pegr_args_usage_error(&SPEC, "%s", pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    grad_inputs in = {0};
    grad_outputs o = {0};
    pegr_backend *backend = NULL;
    pegr_backend_options bopts;
    pegr_cli_backend_options(&g, precision, &bopts);
    pegr_status s = read_inputs(xpath, ypath, wpath, &in, &err);
    if (s == PEGR_OK) s = alloc_outputs(&in, per_example, &o, &err);
    if (s == PEGR_OK)
        s = pegr_backend_open(g.device, &bopts, &backend, &err);
    if (s == PEGR_OK) s = pegr_backend_set_data(backend, in.X.data, in.y.data, in.n, in.P, in.d, &err);
    if (s == PEGR_OK) s = pegr_backend_set_weights(backend, in.W.data, in.m, &err);
    if (s == PEGR_OK) {
        pegr_eval_request req = {.method = PEGR_METHOD_GD, .q = q, .lam = lam, .grad = o.grad,
                                 .margin = o.margin, .loss = o.loss, .norm2 = o.norm2,
                                 .per_example_grad = o.per_example, .mean_loss = &o.mean_loss,
                                 .objective = &o.objective};
        pegr_method_parse(method, "--method", &req.method, NULL); /* a choice of gd|pegr|gr */
        s = pegr_backend_evaluate(backend, &req, &err);
    }
    const char *device_desc = backend ? pegr_backend_description(backend) : "";
    if (s == PEGR_OK)
        s = write_outputs(out, &in, &o, method, q, lam, device_desc,
                          pegr_backend_precision_name(backend), &err);
    if (s == PEGR_OK)
        printf("%s on %s: mean loss %.17g, objective %.17g; wrote %s\n", method, device_desc,
               o.mean_loss, o.objective, out);
    else
        pegr_cli_error(SPEC.name, &err);
    pegr_backend_close(backend);
    free_outputs(&o);
    free_inputs(&in);
    pegr_error_clear(&err);
    return s == PEGR_OK ? PEGR_EXIT_OK : PEGR_EXIT_FAILURE;
}

/* grad.c: pegr's gradient at given weights, read from .npy files -- the library's smallest whole use.
 *
 *   grad X.npy y.npy W.npy GRAD.npy [BACKEND [gd|pegr|gr [Q [LAM]]]]
 *
 * Reads the patches X (n, P, d), the labels y (n,) and the weights W (2, m, d), opens BACKEND
 * ("host": the exact fp64 reference; or a device spec: "cpu", "0", ...; default: the default
 * device), evaluates the method's gradient (default pegr, q 3, lam 0.01), prints the mean loss and
 * the objective, and writes the gradient (2, m, d) to GRAD.npy. The numbers are those of
 *   pegr grad --X X.npy --y y.npy --W W.npy --out DIR --device BACKEND --method M --q Q --lam LAM
 * (`pegr data` writes such files; W may be any (2, m, d) array with the same d). */
#include <stdio.h>
#include <stdlib.h>

#include <pegr/io.h>
#include <pegr/pegr.h>

/* A number from the command line, or a message naming it and exit 2. */
static double number_arg(const char *name, const char *text)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end) {
        fprintf(stderr, "grad: %s must be a number, not '%s'\n", name, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 9) {
        fprintf(stderr, "usage: %s X.npy y.npy W.npy GRAD.npy [BACKEND [gd|pegr|gr [Q [LAM]]]]\n",
                argv[0]);
        return 2;
    }
    const char *backend_spec = argc > 5 ? argv[5] : NULL;
    pegr_eval_request req = {.method = PEGR_METHOD_PEGR, .q = 3.0, .lam = 0.01};
    if (argc > 7) req.q = number_arg("Q", argv[7]);
    if (argc > 8) req.lam = number_arg("LAM", argv[8]);

    pegr_error err = {0}; /* every call below fills it with a message when it fails */
    pegr_array X = {0}, y = {0}, W = {0};
    pegr_backend *b = NULL;
    double *grad = NULL, mean_loss = 0, objective = 0;
    pegr_status s = argc > 6 ? pegr_method_parse(argv[6], "the method", &req.method, &err) : PEGR_OK;
    if (s == PEGR_OK) s = pegr_npy_read(argv[1], &X, &err);
    if (s == PEGR_OK) s = pegr_npy_read(argv[2], &y, &err);
    if (s == PEGR_OK) s = pegr_npy_read(argv[3], &W, &err);
    /* The backend takes bare arrays and their sizes: the shapes must fit each other. */
    if (s == PEGR_OK && (X.ndim != 3 || y.ndim != 1 || y.shape[0] != X.shape[0] || W.ndim != 3 ||
                         W.shape[0] != 2 || W.shape[2] != X.shape[2]))
        s = pegr_error_set(&err, PEGR_ERR_SHAPE, "need X (n, P, d), y (n,) and W (2, m, d)");
    if (s == PEGR_OK && !(grad = malloc(W.size * sizeof *grad)))
        s = pegr_error_set(&err, PEGR_ERR_NO_MEMORY, "no memory for the gradient");

    /* Open the backend, give it the data and the weights, evaluate at those weights. */
    if (s == PEGR_OK) s = pegr_backend_open(backend_spec, NULL, &b, &err);
    if (s == PEGR_OK)
        s = pegr_backend_set_data(b, X.data, y.data, X.shape[0], X.shape[1], X.shape[2], &err);
    if (s == PEGR_OK) s = pegr_backend_set_weights(b, W.data, W.shape[1], &err);
    req.grad = grad;
    req.mean_loss = &mean_loss;
    req.objective = &objective;
    if (s == PEGR_OK) s = pegr_backend_evaluate(b, &req, &err);
    if (s == PEGR_OK) s = pegr_npy_write(argv[4], grad, 3, W.shape, 0, &err);

    if (s == PEGR_OK)
        printf("%s on %s: mean loss %.17g, objective %.17g\n", pegr_method_name(req.method),
               pegr_backend_description(b), mean_loss, objective);
    else
        fprintf(stderr, "grad: %s\n", pegr_error_message(&err));
    pegr_backend_close(b);
    free(grad);
    pegr_array_free(&X);
    pegr_array_free(&y);
    pegr_array_free(&W);
    pegr_error_clear(&err);
    return s == PEGR_OK ? 0 : 1;
}

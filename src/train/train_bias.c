/* train_bias.c: see train_bias.h. A bias is exact on every backend for free this way: it is the
 * weight of a coordinate that is 1 in every patch, so each method's gradient, the span form
 * (S + 1 for the patch Gram) and batched runs need nothing of their own; only what is measured
 * against the data's inputs (rho, the robust test's noise) is told about it (pegr_reference.bias). */
#include "train/train_bias.h"

#include <stdlib.h>
#include <string.h>

/* rows x (d + 1): each row of src (rows x d) with `last` appended. NULL when src is NULL or out of
 * memory (*oom set). */
static double *append_column(const double *src, size_t rows, size_t d, double last, int *oom)
{
    if (!src || rows == 0) return NULL;
    double *out = malloc(rows * (d + 1) * sizeof(double));
    if (!out) {
        *oom = 1;
        return NULL;
    }
    for (size_t t = 0; t < rows; t++) {
        memcpy(out + t * (d + 1), src + t * d, d * sizeof(double));
        out[t * (d + 1) + d] = last;
    }
    return out;
}

pegr_status pegr_bias_dataset(const pegr_dataset *ds, pegr_dataset *out, pegr_error *err)
{
    size_t d = ds->d, P = ds->P;
    int oom = 0;
    *out = *ds;
    out->d = d + 1;
    out->mu = append_column(ds->mu, ds->n_signal ? ds->n_signal : 1, d, 0.0, &oom);
    out->train.X = append_column(ds->train.X, ds->train.n * P, d, 1.0, &oom);
    out->test.X = append_column(ds->test.X, ds->test.n * P, d, 1.0, &oom);
    if (oom) {
        pegr_bias_dataset_free(out);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for the data with a bias");
    }
    return PEGR_OK;
}

void pegr_bias_dataset_free(pegr_dataset *aug)
{
    free(aug->mu);
    free(aug->train.X);
    free(aug->test.X);
    memset(aug, 0, sizeof *aug);
}

pegr_status pegr_train_init_weights(const pegr_train_config *c, size_t width, double *W,
                                    pegr_error *err)
{
    size_t m = c->m, d = c->bias ? width - 1 : width, cols = 2 * m;
    uint64_t seed = c->data.seed;
    if (!c->bias)
        return c->init == PEGR_INIT_UNIFORM
                   ? pegr_init_weights_uniform(seed, m, d, d, W, NULL, err)
                   : pegr_init_weights(seed, m, d, c->sigma0, W, err);
    /* The filters as without a bias, then each row moved to its place in the wider W. Why a
     * gaussian run's bias starts at 0: the network at step 0 is then the one without a bias
     * (same filters, same outputs), so what the bias changes is what it learns. */
    double *filters = malloc(cols * d * sizeof(double)), *b = calloc(cols, sizeof(double));
    pegr_status s = filters && b ? PEGR_OK
                                 : pegr_error_set(err, PEGR_ERR_NO_MEMORY,
                                                  "out of memory for the initial weights");
    if (s == PEGR_OK)
        s = c->init == PEGR_INIT_UNIFORM ? pegr_init_weights_uniform(seed, m, d, d, filters, b, err)
                                         : pegr_init_weights(seed, m, d, c->sigma0, filters, err);
    for (size_t k = 0; k < cols && s == PEGR_OK; k++) {
        memcpy(W + k * width, filters + k * d, d * sizeof(double));
        W[k * width + d] = b[k];
    }
    free(filters);
    free(b);
    return s;
}

/* A (cols x (d + 1)) -> its first d columns in place (rows packed), the last into b (cols). */
static void split_columns(double *A, size_t cols, size_t d, double *b)
{
    for (size_t k = 0; k < cols; k++) {
        b[k] = A[k * (d + 1) + d];
        memmove(A + k * d, A + k * (d + 1), d * sizeof(double));
    }
}

pegr_status pegr_bias_split(pegr_train_result *r, size_t m, size_t d, pegr_error *err)
{
    size_t cols = 2 * m;
    if (!r->W || !r->W0) return PEGR_OK;
    r->b = malloc(cols * sizeof(double));
    r->b0 = malloc(cols * sizeof(double));
    if (!r->b || !r->b0)
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory for the biases");
    split_columns(r->W, cols, d, r->b);
    split_columns(r->W0, cols, d, r->b0);
    return PEGR_OK;
}

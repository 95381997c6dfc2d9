/* train_bias.h: the model variants a training run sets up around the backends (docs/math.md,
 * "Model variants"): a per-filter bias, trained as the weight of a constant coordinate appended to
 * every patch, and the initialisation (gaussian or PyTorch's uniform). */
#ifndef PEGR_TRAIN_BIAS_H
#define PEGR_TRAIN_BIAS_H

#include <stddef.h>

#include "pegr/data.h"
#include "pegr/train.h"

/* What the backends train on with a bias: ds with every patch (train and test) given a last
 * coordinate 1 and mu (each of its rows) a last coordinate 0, so d is ds->d + 1. The labels and
 * signal patches are ds's (borrowed, not copied). On failure *out is left empty. Free with
 * pegr_bias_dataset_free (never pegr_dataset_free: the borrowed arrays stay ds's). */
pegr_status pegr_bias_dataset(const pegr_dataset *ds, pegr_dataset *out, pegr_error *err);
void pegr_bias_dataset_free(pegr_dataset *aug);

/* The run's initial weights W (2, m, width) for patches of `width` values: width = d, or with
 * c->bias width = d + 1 and W[j, r, d] the bias b0[j, r]. Gaussian: the filters N(0, sigma0^2)
 * (pegr_init_weights), a bias 0; uniform: filters and bias U(-kb, kb), kb = 1/sqrt(d)
 * (pegr_init_weights_uniform). The filters are the same numbers with and without a bias. */
pegr_status pegr_train_init_weights(const pegr_train_config *c, size_t width, double *W,
                                    pegr_error *err);

/* With a bias: r->W and r->W0 (2, m, d + 1), as the backends held them, become the filters
 * (2, m, d) and r->b, r->b0 (2, m) their last columns. A NULL r->W (a run that failed early) is
 * left as it is. */
pegr_status pegr_bias_split(pegr_train_result *r, size_t m, size_t d, pegr_error *err);

#endif

/* data.c: config defaults and validation, generation of the signal-noise and XOR datasets, and the
 * initial weights. The drawing rules (which stream and index each value comes from) are in data.h. */
#include "pegr/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/rng.h"

/* The projection below has dot products; with mu along e_1 (what pegr generates) they have one
 * nonzero term and their results do not depend on FMA contraction, but a general mu would. GCC does
 * not contract in ISO C mode (-std=c11) and ignores this pragma; clang honours it. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* The streams of one split. */
typedef struct split_streams {
    uint32_t labels, signal_pos, noise, flip, xor_sign;
} split_streams;

static const split_streams train_streams = {PEGR_STREAM_TRAIN_LABELS, PEGR_STREAM_TRAIN_SIGNAL_POS,
                                            PEGR_STREAM_TRAIN_NOISE, PEGR_STREAM_TRAIN_FLIP,
                                            PEGR_STREAM_TRAIN_XOR_SIGN};
static const split_streams test_streams = {PEGR_STREAM_TEST_LABELS, PEGR_STREAM_TEST_SIGNAL_POS,
                                           PEGR_STREAM_TEST_NOISE, PEGR_STREAM_TEST_FLIP,
                                           PEGR_STREAM_TEST_XOR_SIGN};

/* The XOR defaults: ||a|| = ||b|| = 2, so a + b is orthogonal to a - b (the paper's "classic XOR"
 * case, cos theta = 0) and ||a +- b|| = 2 sqrt(2), near the demo's ||mu|| = 3: in the demo's regime
 * (n 50, d 1000) gd with q = 3 memorizes the noise where pegr learns u+ and u-, and ReLU (q = 1)
 * sits between harmful (||a|| = ||b|| = 1) and benign (3) overfitting (docs/math.md). */
#define XOR_DEFAULT_NORM 2.0

void pegr_data_config_default(pegr_data_config *c)
{
    memset(c, 0, sizeof *c);
    c->n = 50;
    c->n_test = 1000;
    c->d = 1000;
    c->P = 2;
    c->mu_norm = 3.0;
    c->snr = 0.0;
    c->sigma_p = 1.0;
    c->isotropic = 0;
    c->label_flip = 0.0;
    c->flip_test = 0;
    c->seed = 0;
    c->model = PEGR_DATA_SIGNAL_NOISE;
    c->xor_a_norm = XOR_DEFAULT_NORM;
    c->xor_b_norm = XOR_DEFAULT_NORM;
}

/* a * b * c without overflow into *out; 0 when it would overflow. */
static int mul3_size(size_t a, size_t b, size_t c, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    size_t ab = a * b;
    if (ab != 0 && c > SIZE_MAX / ab) return 0;
    *out = ab * c;
    return 1;
}

/* Byte count of an (a, b, c) double array, 0 on overflow. */
static int array_bytes(size_t a, size_t b, size_t c, size_t *bytes)
{
    size_t count;
    return mul3_size(a, b, c, &count) && mul3_size(count, sizeof(double), 1, bytes);
}

static pegr_status check_count(const char *name, size_t v, pegr_error *err)
{
    if (v >= 1) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                          "data option '%s' = %zu is invalid: must be >= 1", name, v);
}

/* Finite and >= 0 (NaN fails the comparison). */
static pegr_status check_nonneg(const char *name, double v, pegr_error *err)
{
    if (v >= 0.0 && isfinite(v)) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                          "data option '%s' = %g is invalid: must be finite and >= 0", name, v);
}

static pegr_status check_flag(const char *name, int v, pegr_error *err)
{
    if (v == 0 || v == 1) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                          "data option '%s' = %d is invalid: must be 0 or 1", name, v);
}

/* Both splits' X must have a byte count that fits size_t (so do y, mu: they are smaller). */
static pegr_status check_sizes(const pegr_data_config *c, pegr_error *err)
{
    size_t bytes;
    if (!array_bytes(c->n, c->P, c->d, &bytes))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data options n = %zu, P = %zu, d = %zu are invalid: the train array "
                              "n*P*d doubles overflows size_t",
                              c->n, c->P, c->d);
    if (!array_bytes(c->n_test, c->P, c->d, &bytes))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data options n_test = %zu, P = %zu, d = %zu are invalid: the test "
                              "array n_test*P*d doubles overflows size_t",
                              c->n_test, c->P, c->d);
    return PEGR_OK;
}

/* The data model and, for XOR, its own options (the signal-noise model ignores them). */
static pegr_status check_xor(const pegr_data_config *c, pegr_error *err)
{
    if (c->model != PEGR_DATA_SIGNAL_NOISE && c->model != PEGR_DATA_XOR)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data option 'data' = %d is invalid: must be 0 (signal-noise) or 1 "
                              "(xor)", c->model);
    if (c->model != PEGR_DATA_XOR) return PEGR_OK;
    pegr_status st;
    if ((st = check_nonneg("xor_a_norm", c->xor_a_norm, err))) return st;
    if ((st = check_nonneg("xor_b_norm", c->xor_b_norm, err))) return st;
    if (c->d < 2)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data option 'd' = %zu is invalid with --data xor: the XOR model's "
                              "a and b lie along e_1 and e_2, so d must be >= 2", c->d);
    /* one ratio cannot set two norms: the XOR signal is set by --xor-a-norm and --xor-b-norm */
    if (c->snr > 0.0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data option 'snr' = %g is invalid with --data xor: set the signal "
                              "with --xor-a-norm and --xor-b-norm", c->snr);
    return PEGR_OK;
}

pegr_status pegr_data_config_validate(const pegr_data_config *c, pegr_error *err)
{
    if (!c) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "data config is NULL");
    pegr_status st;
    if ((st = check_count("n", c->n, err))) return st;
    if ((st = check_count("d", c->d, err))) return st;
    if ((st = check_count("P", c->P, err))) return st;
    if ((st = check_nonneg("sigma_p", c->sigma_p, err))) return st;
    if ((st = check_nonneg("mu_norm", c->mu_norm, err))) return st;
    if ((st = check_nonneg("snr", c->snr, err))) return st;
    if (!(c->label_flip >= 0.0 && c->label_flip <= 0.5))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data option 'label_flip' = %g is invalid: must be in [0, 0.5]",
                              c->label_flip);
    if ((st = check_flag("isotropic", c->isotropic, err))) return st;
    if ((st = check_flag("flip_test", c->flip_test, err))) return st;
    if ((st = check_sizes(c, err))) return st;
    if ((st = check_xor(c, err))) return st;
    if (!isfinite(pegr_data_config_mu_norm(c)))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "data option 'snr' = %g is invalid: snr * sigma_p * sqrt(d) = "
                              "%g * %g * sqrt(%zu) overflows",
                              c->snr, c->snr, c->sigma_p, c->d);
    return PEGR_OK;
}

double pegr_data_config_mu_norm(const pegr_data_config *c)
{
    if (c->model == PEGR_DATA_XOR) return hypot(c->xor_a_norm, c->xor_b_norm);
    if (c->snr > 0.0) return c->snr * c->sigma_p * sqrt((double)c->d);
    return c->mu_norm;
}

/* mu_hat = mu / ||mu||, computed with the largest |mu_k| scaled out so that nothing over- or
 * underflows, and so that mu = a e_1 gives mu_hat = e_1 exactly. Returns 0 when mu = 0. */
static int unit_direction(const double *mu, size_t d, double *mu_hat)
{
    double scale = 0.0;
    for (size_t k = 0; k < d; k++) scale = fmax(scale, fabs(mu[k]));
    if (scale == 0.0) return 0;
    double sum = 0.0;
    for (size_t k = 0; k < d; k++) {
        double t = mu[k] / scale;
        sum += t * t;
    }
    double root = sqrt(sum);
    for (size_t k = 0; k < d; k++) mu_hat[k] = (mu[k] / scale) / root;
    return 1;
}

/* xi -= <xi, mu_hat> mu_hat: the sigma_p^2 (I - mu mu^T / ||mu||^2) covariance of docs/math.md. */
static void project_out(double *xi, const double *mu_hat, size_t d)
{
    double dot = 0.0;
    for (size_t k = 0; k < d; k++) dot += xi[k] * mu_hat[k];
    for (size_t k = 0; k < d; k++) xi[k] -= dot * mu_hat[k];
}

/* Everything one split's generation needs besides its arrays. */
typedef struct split_plan {
    size_t P, d;
    const double *mu;     /* signal-noise: mu (d); XOR: u+ then u- (2, d) */
    const double *mu_hat; /* NULL: no projection (isotropic, or mu = 0) */
    const double *b_hat;  /* XOR: the second direction projected out (NULL: none) */
    int xor_model;
    double sigma_p;
    double flip;          /* flip probability for this split (0 when flips are off) */
    uint64_t seed;
    split_streams streams;
} split_plan;

static size_t draw_signal_patch(const split_plan *pl, size_t i)
{
    double u = pegr_rng_uniform(pl->seed, pl->streams.signal_pos, (uint64_t)i);
    /* u < 1, but u * P can round up to P for large P: clamp. */
    size_t p = (size_t)floor(u * (double)pl->P);
    return p < pl->P ? p : pl->P - 1;
}

/* One example: its labels, signal position and P patches. */
static void generate_example(const split_plan *pl, pegr_split *s, size_t i)
{
    double u_label = pegr_rng_uniform(pl->seed, pl->streams.labels, (uint64_t)i);
    double y_clean = u_label < 0.5 ? 1.0 : -1.0;
    size_t sig = draw_signal_patch(pl, i);
    s->y_clean[i] = y_clean;
    s->signal_patch[i] = sig;
    /* Flips only consume their stream when they are on, so flip = 0 never flips (u > 0). */
    int flipped =
        pl->flip > 0.0 && pegr_rng_uniform(pl->seed, pl->streams.flip, (uint64_t)i) < pl->flip;
    s->y[i] = flipped ? -y_clean : y_clean;
    for (size_t p = 0; p < pl->P; p++) {
        size_t first = (i * pl->P + p) * pl->d;
        double *row = s->X + first;
        if (p == sig && pl->xor_model) {
            /* sign * u+ for y_clean = +1, sign * u- for -1: the sign from its own stream */
            double sign =
                pegr_rng_uniform(pl->seed, pl->streams.xor_sign, (uint64_t)i) < 0.5 ? 1.0 : -1.0;
            const double *u = pl->mu + (y_clean > 0 ? 0 : pl->d);
            for (size_t k = 0; k < pl->d; k++) row[k] = sign * u[k];
            continue;
        }
        if (p == sig) {
            for (size_t k = 0; k < pl->d; k++) row[k] = y_clean * pl->mu[k];
            continue;
        }
        pegr_rng_fill_normal(pl->seed, pl->streams.noise, (uint64_t)first, pl->d, pl->sigma_p, row);
        if (pl->mu_hat) project_out(row, pl->mu_hat, pl->d);
        if (pl->b_hat) project_out(row, pl->b_hat, pl->d); /* b_hat is orthogonal to a_hat */
    }
}

static void split_free(pegr_split *s)
{
    free(s->X);
    free(s->y);
    free(s->y_clean);
    free(s->signal_patch);
    memset(s, 0, sizeof *s);
}

/* Allocate and fill a split of n examples; n = 0 leaves every array NULL. Sizes were validated. */
static pegr_status generate_split(const split_plan *pl, size_t n, pegr_split *s, pegr_error *err)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n == 0) return PEGR_OK;
    s->X = malloc(n * pl->P * pl->d * sizeof(double));
    s->y = malloc(n * sizeof(double));
    s->y_clean = malloc(n * sizeof(double));
    s->signal_patch = malloc(n * sizeof(size_t));
    if (!s->X || !s->y || !s->y_clean || !s->signal_patch) {
        split_free(s);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY,
                              "cannot allocate a split of n = %zu examples of P = %zu patches of "
                              "d = %zu doubles",
                              n, pl->P, pl->d);
    }
    for (size_t i = 0; i < n; i++) generate_example(pl, s, i);
    return PEGR_OK;
}

/* The unit direction of v (d) into a new array, or NULL in *hat when v = 0 (nothing to project). */
static pegr_status direction_of(const double *v, size_t d, double **hat, pegr_error *err)
{
    *hat = malloc(d * sizeof(double));
    if (!*hat) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "cannot allocate d = %zu doubles", d);
    if (!unit_direction(v, d, *hat)) {
        free(*hat);
        *hat = NULL;
    }
    return PEGR_OK;
}

/* Signal-noise: mu = mu_norm e_1. XOR: u+ = a + b and u- = a - b (rows of mu) with a = A e_1,
 * b = B e_2. And (unless isotropic) the unit directions to project the noise against: mu's, or
 * a's and b's. */
static pegr_status make_mu(const pegr_data_config *c, pegr_dataset *ds, double **mu_hat,
                           double **b_hat, pegr_error *err)
{
    *mu_hat = *b_hat = NULL;
    int xor_model = c->model == PEGR_DATA_XOR;
    ds->n_signal = xor_model ? 2 : 1;
    ds->mu = calloc(ds->n_signal * c->d, sizeof(double));
    if (!ds->mu)
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "cannot allocate mu of %zu x d = %zu doubles",
                              ds->n_signal, c->d);
    if (!xor_model) {
        ds->mu[0] = ds->mu_norm;
        if (c->isotropic || ds->mu_norm == 0.0) return PEGR_OK;
        return direction_of(ds->mu, c->d, mu_hat, err);
    }
    double *up = ds->mu, *um = ds->mu + c->d;
    up[0] = um[0] = c->xor_a_norm;
    up[1] = c->xor_b_norm;
    um[1] = -c->xor_b_norm;
    if (c->isotropic) return PEGR_OK;
    double *a = calloc(c->d, sizeof(double)), *b = calloc(c->d, sizeof(double));
    pegr_status st = a && b ? PEGR_OK
                            : pegr_error_set(err, PEGR_ERR_NO_MEMORY, "cannot allocate d = %zu "
                                             "doubles", c->d);
    if (st == PEGR_OK) {
        a[0] = c->xor_a_norm;
        b[1] = c->xor_b_norm;
        st = direction_of(a, c->d, mu_hat, err);
    }
    if (st == PEGR_OK) st = direction_of(b, c->d, b_hat, err);
    free(a);
    free(b);
    return st;
}

pegr_status pegr_data_generate(const pegr_data_config *c, pegr_dataset *out, pegr_error *err)
{
    if (!out) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "output dataset is NULL");
    memset(out, 0, sizeof *out);
    pegr_status st = pegr_data_config_validate(c, err);
    if (st) return st;
    out->d = c->d;
    out->P = c->P;
    out->mu_norm = pegr_data_config_mu_norm(c);
    double *mu_hat = NULL, *b_hat = NULL;
    st = make_mu(c, out, &mu_hat, &b_hat, err);
    split_plan plan = {c->P,           c->d,    out->mu,           mu_hat, b_hat,
                       c->model == PEGR_DATA_XOR, c->sigma_p, c->label_flip, c->seed,
                       train_streams};
    if (!st) st = generate_split(&plan, c->n, &out->train, err);
    plan.streams = test_streams;
    plan.flip = c->flip_test ? c->label_flip : 0.0;
    if (!st) st = generate_split(&plan, c->n_test, &out->test, err);
    free(mu_hat);
    free(b_hat);
    if (st) pegr_dataset_free(out);
    return st;
}

/* ---- a dataset from the caller's arrays ---------------------------------------------------- */

/* Every value of a (count,) array finite; labels (if labels) exactly +-1. */
static pegr_status check_values(const char *name, const double *a, size_t count, int labels,
                                pegr_error *err)
{
    for (size_t k = 0; k < count; k++) {
        if (!isfinite(a[k]))
            return pegr_error_set(err, PEGR_ERR_NONFINITE, "%s[%zu] = %g: every value must be finite",
                                  name, k, a[k]);
        if (labels && a[k] != 1.0 && a[k] != -1.0)
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "%s[%zu] = %g: labels must be +1 or -1", name, k, a[k]);
    }
    return PEGR_OK;
}

/* The patch of example x (P, d) with the largest |<x_p, mu>|: where the signal y mu sits in the
 * data model, whose other patches are orthogonal to mu (docs/math.md, "Your own data"). */
static size_t signal_patch_of(const double *x, size_t P, size_t d, const double *mu)
{
    size_t best = 0;
    double best_v = -1.0;
    for (size_t p = 0; p < P; p++) {
        double dot = 0.0;
        for (size_t k = 0; k < d; k++) dot += x[p * d + k] * mu[k];
        if (fabs(dot) > best_v) {
            best_v = fabs(dot);
            best = p;
        }
    }
    return best;
}

static pegr_status copy_split(const char *xname, const char *yname, const double *X, const double *y,
                              size_t n, size_t P, size_t d, const double *mu, pegr_split *s,
                              pegr_error *err)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n == 0) return PEGR_OK;
    if (!X || !y)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "%s or %s is NULL with %zu examples",
                              xname, yname, n);
    pegr_status st = check_values(xname, X, n * P * d, 0, err);
    if (st == PEGR_OK) st = check_values(yname, y, n, 1, err);
    if (st != PEGR_OK) return st;
    s->X = malloc(n * P * d * sizeof(double));
    s->y = malloc(n * sizeof(double));
    s->y_clean = malloc(n * sizeof(double));
    s->signal_patch = mu ? malloc(n * sizeof(size_t)) : NULL;
    if (!s->X || !s->y || !s->y_clean || (mu && !s->signal_patch)) {
        split_free(s);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "cannot copy %s of %zu examples", xname, n);
    }
    memcpy(s->X, X, n * P * d * sizeof(double));
    memcpy(s->y, y, n * sizeof(double));
    memcpy(s->y_clean, y, n * sizeof(double));
    for (size_t i = 0; mu && i < n; i++) s->signal_patch[i] = signal_patch_of(X + i * P * d, P, d, mu);
    return PEGR_OK;
}

pegr_status pegr_dataset_from_arrays(const double *X, const double *y, size_t n, size_t P, size_t d,
                                     const double *X_test, const double *y_test, size_t n_test,
                                     const double *mu, pegr_dataset *out, pegr_error *err)
{
    if (!out) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "output dataset is NULL");
    memset(out, 0, sizeof *out);
    size_t bytes;
    if (n == 0 || P == 0 || d == 0)
        return pegr_error_set(err, PEGR_ERR_SHAPE,
                              "X has shape (%zu, %zu, %zu): every size must be >= 1", n, P, d);
    if (!array_bytes(n, P, d, &bytes) || !array_bytes(n_test, P, d, &bytes))
        return pegr_error_set(err, PEGR_ERR_SHAPE, "X (%zu, %zu, %zu) or X_test (%zu, ...) is too "
                              "large: its byte count overflows size_t", n, P, d, n_test);
    pegr_status st = mu ? check_values("mu", mu, d, 0, err) : PEGR_OK;
    if (st) return st;
    out->d = d;
    out->P = P;
    out->mu_norm = NAN;
    if (mu) {
        out->n_signal = 1;
        out->mu = malloc(d * sizeof(double));
        if (!out->mu) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "cannot allocate mu");
        memcpy(out->mu, mu, d * sizeof(double));
        double s2 = 0.0;
        for (size_t k = 0; k < d; k++) s2 += mu[k] * mu[k];
        out->mu_norm = sqrt(s2);
    }
    st = copy_split("X", "y", X, y, n, P, d, mu, &out->train, err);
    if (!st) st = copy_split("X_test", "y_test", X_test, y_test, n_test, P, d, mu, &out->test, err);
    if (st) pegr_dataset_free(out);
    return st;
}

void pegr_dataset_free(pegr_dataset *ds)
{
    if (!ds) return;
    free(ds->mu);
    split_free(&ds->train);
    split_free(&ds->test);
    memset(ds, 0, sizeof *ds);
}

pegr_status pegr_init_weights(uint64_t seed, size_t m, size_t d, double sigma0, double *W,
                              pegr_error *err)
{
    if (!W) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "init weights: W is NULL");
    if (m == 0 || d == 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "init weights: m = %zu, d = %zu are invalid: both must be >= 1", m,
                              d);
    if (!(sigma0 >= 0.0 && isfinite(sigma0)))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "init weights: option 'sigma0' = %g is invalid: must be finite "
                              "and >= 0",
                              sigma0);
    size_t bytes;
    if (!array_bytes(2, m, d, &bytes))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "init weights: m = %zu, d = %zu are invalid: 2*m*d doubles overflows "
                              "size_t",
                              m, d);
    pegr_rng_fill_normal(seed, PEGR_STREAM_INIT_WEIGHTS, 0, 2 * m * d, sigma0, W);
    return PEGR_OK;
}

void pegr_perturb(uint64_t seed, double sigma, const double *src, size_t count, double *dst)
{
    pegr_rng_fill_normal(seed, PEGR_STREAM_PERTURB, 0, count, sigma, dst);
    for (size_t k = 0; k < count; k++) dst[k] += src[k];
}

/* train_options.c: the one table of training options (name, type, range, where the value lives in
 * pegr_train_config, help, results column) and pegr_train_config_set, which sets one by name the
 * way `pegr train --NAME VALUE` does. Sweep axes and any client set options through it. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pegr/train.h"
#include "util/json.h"
#include "util/numparse.h"

#define AT(field) offsetof(pegr_train_config, field)

/* The ranges are the ones pegr_data_config_validate / pegr_train_config_validate accept for each
 * value alone (n, d, P >= 1; sigma_p, mu_norm, snr >= 0; label noise in [0, 0.5]); what depends on
 * other values (q with the method, sizes that overflow) is validate's. */
static const pegr_train_option OPTIONS[] = {
    {"method", PEGR_OPTION_METHOD, AT(method), NULL, "training method", "gd|sgd|gr|pegr|sam",
     "method", 0},
    {"m", PEGR_OPTION_SIZE, AT(m), "M", "filters per class", "1..", "m", 0},
    {"q", PEGR_OPTION_DOUBLE, AT(q), "Q", "activation max(z,0)^q (q = 1 or q >= 2 for gr and pegr)",
     NULL, "q", 0},
    {"sigma0", PEGR_OPTION_DOUBLE, AT(sigma0), "S",
     "initial weights ~ N(0, sigma0^2) (--init gaussian; not used by uniform)", NULL, "sigma0", 0},
    {"init", PEGR_OPTION_CHOICE, AT(init), NULL,
     "initial weights: gaussian N(0, sigma0^2), a bias 0; uniform U(-k, k), k = 1/sqrt(d), "
     "filters and bias (PyTorch's nn.Conv1d default; ignores --sigma0)",
     PEGR_INITS, "init", 0},
    {"bias", PEGR_OPTION_FLAG, AT(bias), NULL,
     "a per-filter bias: z = <W[j,r], x_p> + b[j,r], trained with W (b.npy, b0.npy)", NULL, "bias",
     0},
    {"lam", PEGR_OPTION_DOUBLE, AT(lam), "LAM", "penalty weight of pegr and gr", NULL, "lam", 0},
    {"lr", PEGR_OPTION_DOUBLE, AT(lr), "LR", "learning rate", NULL, "lr", 0},
    {"sam-rho", PEGR_OPTION_DOUBLE, AT(sam_rho), "R",
     "sam's ascent radius: each step descends the gradient at W + R g/||g|| (> 0 for sam)", "0..",
     "sam_rho", 0},
    {"sam-variant", PEGR_OPTION_CHOICE, AT(sam_variant), NULL,
     "sam's ascent: full, one for all of W along grad L; per-example (1-SAM), example i's loss at "
     "its own W + R g_i/||g_i||",
     PEGR_SAM_VARIANTS, "sam_variant", 0},
    {"steps", PEGR_OPTION_SIZE, AT(steps), "N", "training steps", NULL, "steps", 0},
    {"batch", PEGR_OPTION_SIZE, AT(batch), "B", "sgd mini-batch size (reshuffled each epoch)", NULL,
     "batch", 0},
    {"log-every", PEGR_OPTION_SIZE, AT(log_every), "N", "metrics every N steps", "1..", "log_every",
     0},
    {"representation", PEGR_OPTION_REPRESENTATION, AT(representation), NULL,
     "train in the weights (primal) or in the span of the training patches (docs/math.md); auto: "
     "the cheaper for the sizes",
     "auto|primal|span", "representation", 0},
    {"robust-sigmas", PEGR_OPTION_SIGMAS, AT(robust_sigmas), "LIST",
     "input-noise levels of the final robustness test ('none': skip)", NULL, "robust-sigmas", 0},
    {"n", PEGR_OPTION_SIZE, AT(data.n), "N", "training examples", "1..", "n", 1},
    {"n-test", PEGR_OPTION_SIZE, AT(data.n_test), "N", "test examples", NULL, "n_test", 1},
    {"d", PEGR_OPTION_SIZE, AT(data.d), "D", "patch dimension", "1..", "d", 1},
    {"patches", PEGR_OPTION_SIZE, AT(data.P), "P", "patches per example (one holds the signal)",
     "1..", "patches", 1},
    {"mu-norm", PEGR_OPTION_DOUBLE, AT(data.mu_norm), "X", "signal strength ||mu||", "0..",
     "mu_norm", 1},
    {"snr", PEGR_OPTION_DOUBLE, AT(data.snr), "X",
     "signal-to-noise ratio ||mu|| / (sigma_p sqrt(d)), > 0 when given; sets ||mu|| instead of "
     "--mu-norm",
     "0..", "snr", 1},
    {"sigma-p", PEGR_OPTION_DOUBLE, AT(data.sigma_p), "X", "noise standard deviation", "0..",
     "sigma_p", 1},
    {"isotropic", PEGR_OPTION_FLAG, AT(data.isotropic), NULL,
     "isotropic noise (default: noise orthogonal to mu)", NULL, "isotropic", 1},
    {"label-noise", PEGR_OPTION_DOUBLE, AT(data.label_flip), "P",
     "probability of flipping a training label", "0..0.5", "label_noise", 1},
    {"flip-test", PEGR_OPTION_FLAG, AT(data.flip_test), NULL,
     "flip test labels with --label-noise too", NULL, "flip_test", 1},
    {"seed", PEGR_OPTION_U64, AT(data.seed), "S", "random seed (data and initial weights)", NULL,
     "seed", 1},
    {"data", PEGR_OPTION_CHOICE, AT(data.model), NULL,
     "data model: signal-noise (Cao et al. 2022) or xor (Meng, Zou, Cao 2023: signal +-(a+b) for "
     "y = +1, +-(a-b) for y = -1)",
     PEGR_DATA_MODELS, "data", 1},
    {"xor-a-norm", PEGR_OPTION_DOUBLE, AT(data.xor_a_norm), "X",
     "with --data xor: ||a|| (a = ||a|| e_1)", "0..", "xor_a_norm", 1},
    {"xor-b-norm", PEGR_OPTION_DOUBLE, AT(data.xor_b_norm), "X",
     "with --data xor: ||b|| (b = ||b|| e_2)", "0..", "xor_b_norm", 1},
    {"readout", PEGR_OPTION_CHOICE, AT(readout), NULL,
     "the readout's scale: mean-filters f = (1/m) sum over filters and patches (the theory "
     "papers'); mean-patches f = sum over filters of the mean over patches (Conv1d + mean pooling)",
     PEGR_READOUTS, "readout", 0},
    {"learn-readout", PEGR_OPTION_FLAG, AT(learn_readout), NULL,
     "train the second layer too: f = sum_{j,r} c_j v[j,r] kappa sum_p s(z), v starting at 1, by "
     "the same method and lr (default: v fixed at 1)",
     NULL, "learn_readout", 0},
};
#define NOPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

size_t pegr_train_options(const pegr_train_option **table)
{
    if (table) *table = OPTIONS;
    return NOPTIONS;
}

const pegr_train_option *pegr_train_option_find(const char *name)
{
    for (size_t k = 0; name && k < NOPTIONS; k++)
        if (strcmp(OPTIONS[k].name, name) == 0) return &OPTIONS[k];
    return NULL;
}

/* An option's range "MIN..MAX" as numbers; the table's own text, so a malformed one is a bug that
 * the library's tests catch (it then reads as no bound). */
static void range_of(const pegr_train_option *o, uint64_t *lo, uint64_t *hi, double *dlo,
                     double *dhi)
{
    uint64_t max = o->type == PEGR_OPTION_SIZE ? (uint64_t)SIZE_MAX : UINT64_MAX;
    if (pegr_parse_range_u64(o->type == PEGR_OPTION_DOUBLE ? NULL : o->allowed, max, lo, hi) !=
        PEGR_NUM_OK)
        pegr_parse_range_u64(NULL, max, lo, hi);
    if (pegr_parse_range_double(o->type == PEGR_OPTION_DOUBLE ? o->allowed : NULL, dlo, dhi) !=
        PEGR_NUM_OK)
        pegr_parse_range_double(NULL, dlo, dhi);
}

/* "none" or a comma list of distinct numbers >= 0, at most PEGR_MAX_ROBUST, into c. 0 when not. */
static int parse_sigmas(const char *list, pegr_train_config *c)
{
    pegr_train_config t = *c;
    t.n_robust = 0;
    if (strcmp(list, "none") != 0) {
        /* by hand rather than strtok: "0.1,,0.2", a trailing comma or an empty list are mistakes */
        for (const char *p = list;;) {
            size_t len = strcspn(p, ",");
            char tok[64];
            double v;
            if (len == 0 || len >= sizeof tok || t.n_robust == PEGR_MAX_ROBUST) return 0;
            memcpy(tok, p, len);
            tok[len] = '\0';
            if (pegr_parse_double(tok, 0, HUGE_VAL, &v) != PEGR_NUM_OK) return 0;
            for (size_t k = 0; k < t.n_robust; k++)
                if (t.robust_sigmas[k] == v) return 0; /* two columns of one name in results.csv */
            t.robust_sigmas[t.n_robust++] = v;
            if (p[len] == '\0') break;
            p += len + 1;
        }
    }
    memcpy(c->robust_sigmas, t.robust_sigmas, sizeof c->robust_sigmas);
    c->n_robust = t.n_robust;
    return 1;
}

/* The messages are those of the command line's parser (src/cli/args.c), word for word: a sweep's
 * axis value and a flag say the same about the same mistake. */
pegr_status pegr_train_config_set(pegr_train_config *c, const char *name, const char *value,
                                  pegr_error *err)
{
    const pegr_train_option *o = pegr_train_option_find(name);
    if (!c || !value)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_train_config_set: NULL argument");
    if (!o) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "unknown option '--%s'",
                                  name ? name : "(null)");
    void *at = (char *)c + o->offset;
    uint64_t lo, hi, u = 0;
    double dlo, dhi, v = 0;
    char what[128];
    switch (o->type) {
    case PEGR_OPTION_METHOD:
    case PEGR_OPTION_REPRESENTATION:
        if (!pegr_word_in_list(o->allowed, value))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "--%s must be one of %s, not '%s'", o->name, o->allowed, value);
        if (o->type == PEGR_OPTION_METHOD)
            return pegr_method_parse(value, o->name, (pegr_method *)at, err);
        return pegr_representation_parse(value, o->name, (pegr_representation *)at, err);
    case PEGR_OPTION_CHOICE: {
        int k = pegr_word_index(o->allowed, value);
        if (k < 0)
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "--%s must be one of %s, not '%s'", o->name, o->allowed, value);
        *(int *)at = k;
        return PEGR_OK;
    }
    case PEGR_OPTION_FLAG:
        if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "--%s must be 0 or 1, not '%s'",
                                  o->name, value);
        *(int *)at = value[0] == '1';
        return PEGR_OK;
    case PEGR_OPTION_SIGMAS:
        if (!parse_sigmas(value, c))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "--robust-sigmas must be 'none' or a comma list of distinct "
                                  "numbers >= 0 (at most %d), not '%s'", PEGR_MAX_ROBUST, value);
        return PEGR_OK;
    case PEGR_OPTION_SIZE:
    case PEGR_OPTION_U64:
        range_of(o, &lo, &hi, &dlo, &dhi);
        if (pegr_parse_u64(value, lo, hi, &u) != PEGR_NUM_OK) {
            pegr_describe_uint(lo, hi, what, sizeof what);
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "--%s needs %s, not '%s'",
                                  o->name, what, value);
        }
        if (o->type == PEGR_OPTION_SIZE) *(size_t *)at = (size_t)u; /* hi <= SIZE_MAX */
        else *(uint64_t *)at = u;
        return PEGR_OK;
    case PEGR_OPTION_DOUBLE:
        range_of(o, &lo, &hi, &dlo, &dhi);
        if (pegr_parse_double(value, dlo, dhi, &v) != PEGR_NUM_OK) {
            pegr_describe_double(dlo, dhi, what, sizeof what);
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "--%s needs %s, not '%s'",
                                  o->name, what, value);
        }
        /* an snr that is given must be > 0: 0 means "use --mu-norm", which giving snr is not */
        if (strcmp(o->name, "snr") == 0 && !(v > 0))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "--snr must be > 0, not %g", v);
        *(double *)at = v;
        return PEGR_OK;
    }
    return pegr_error_set(err, PEGR_ERR_INTERNAL, "option --%s has an unknown type", o->name);
}

/* ---- reading an option back as text ---------------------------------------------------------- */

/* The shortest text that reads back as v: the JSON writer's own number format. */
static void number_text(double v, char *buf, size_t size)
{
    pegr_json j;
    pegr_json_init(&j, 0);
    pegr_json_number(&j, v);
    snprintf(buf, size, "%s", j.buf && !j.failed ? j.buf : "null");
    pegr_json_free(&j);
}

/* The option's value in c as pegr_train_config_set's text ("0.1", "pegr", "0.1,0.2", "none"). */
static void value_text(const pegr_train_config *c, const pegr_train_option *o, char *buf,
                        size_t size)
{
    const void *at = (const char *)c + o->offset;
    switch (o->type) {
    case PEGR_OPTION_SIZE: snprintf(buf, size, "%zu", *(const size_t *)at); return;
    case PEGR_OPTION_U64:
        snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)at);
        return;
    case PEGR_OPTION_DOUBLE: number_text(*(const double *)at, buf, size); return;
    case PEGR_OPTION_FLAG: snprintf(buf, size, "%d", *(const int *)at ? 1 : 0); return;
    case PEGR_OPTION_CHOICE:
        if (!pegr_word_at(o->allowed, *(const int *)at, buf, size)) snprintf(buf, size, "?");
        return;
    case PEGR_OPTION_METHOD: {
        const char *name = pegr_method_name(*(const pegr_method *)at);
        snprintf(buf, size, "%s", name ? name : "?");
        return;
    }
    case PEGR_OPTION_REPRESENTATION: {
        const char *name = pegr_representation_name(*(const pegr_representation *)at);
        snprintf(buf, size, "%s", name ? name : "?");
        return;
    }
    case PEGR_OPTION_SIGMAS:
        snprintf(buf, size, "%s", c->n_robust ? "" : "none");
        for (size_t k = 0; k < c->n_robust && k < PEGR_MAX_ROBUST; k++) {
            if (k && strlen(buf) + 1 < size) strcat(buf, ",");
            size_t used = strlen(buf);
            number_text(c->robust_sigmas[k], buf + used, size - used);
        }
        return;
    }
    snprintf(buf, size, "?");
}

pegr_status pegr_train_config_get(const pegr_train_config *c, const char *name, char *buf,
                                  size_t size, pegr_error *err)
{
    const pegr_train_option *o = pegr_train_option_find(name);
    if (!c || !buf || size == 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_train_config_get: NULL argument or no room");
    buf[0] = '\0';
    if (!o) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "unknown option '--%s'",
                                  name ? name : "(null)");
    char text[PEGR_TRAIN_OPTION_TEXT_MAX];
    value_text(c, o, text, sizeof text);
    if (strlen(text) >= size)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "--%s's value needs %zu bytes, "
                              "the buffer has %zu", o->name, strlen(text) + 1, size);
    memcpy(buf, text, strlen(text) + 1);
    return PEGR_OK;
}

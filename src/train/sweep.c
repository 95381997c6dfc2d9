/* sweep.c: a sweep's grid -- axes over the training options, methods, seeds -- its checks, and its
 * runs enumerated in one fixed order with their ids, configurations and the canonical text. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/sweep_internal.h"
#include "util/hash.h"
#include "util/numparse.h"

void pegr_sweep_tell(const pegr_sweep_callbacks *cb, const char *fmt, ...)
{
    if (!cb || !cb->on_message) return;
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && (text = malloc((size_t)n + 1))) {
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    cb->on_message(cb->user, text ? text : "out of memory");
    free(text);
}

pegr_status pegr_sweep_create(const pegr_train_config *base, pegr_precision precision,
                              pegr_sweep **out, pegr_error *err)
{
    *out = NULL;
    pegr_sweep *s = calloc(1, sizeof *s);
    if (!s) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    pegr_status st = pegr_sweep_set_base(s, base, precision, err);
    if (st != PEGR_OK) {
        free(s);
        return st;
    }
    *out = s;
    return PEGR_OK;
}

pegr_status pegr_sweep_set_base(pegr_sweep *s, const pegr_train_config *base,
                                pegr_precision precision, pegr_error *err)
{
    /* The base alone is not validated: its method and seed are replaced in every run (a base
     * method of pegr with q 1.5 is fine in a sweep of gd runs); pegr_sweep_check validates each
     * run's configuration. */
    if (!base) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "no base configuration");
    if (!pegr_precision_name(precision))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "precision must be fp32 or fp64");
    s->base = *base;
    s->precision = precision;
    s->checked = 0;
    return PEGR_OK;
}

void pegr_sweep_free(pegr_sweep *s) { free(s); }

/* The bytes of a split's arrays, in a fixed order, into h. */
static void hash_split(pegr_hash *h, const pegr_split *sp, size_t P, size_t d)
{
    pegr_hash_bytes(h, &sp->n, sizeof sp->n);
    if (!sp->n) return;
    pegr_hash_bytes(h, sp->X, sp->n * P * d * sizeof(double));
    pegr_hash_bytes(h, sp->y, sp->n * sizeof(double));
}

pegr_status pegr_sweep_set_data(pegr_sweep *s, const pegr_dataset *ds, pegr_error *err)
{
    if (!s) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "no sweep");
    s->checked = 0;
    s->data = ds;
    if (!ds) return PEGR_OK;
    if (!ds->train.n || !ds->P || !ds->d || !ds->train.X || !ds->train.y)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep's dataset is empty");
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_bytes(&h, &ds->P, sizeof ds->P);
    pegr_hash_bytes(&h, &ds->d, sizeof ds->d);
    hash_split(&h, &ds->train, ds->P, ds->d);
    hash_split(&h, &ds->test, ds->P, ds->d);
    pegr_hash_field(&h, ds->mu ? "mu" : "no mu");
    if (ds->mu) pegr_hash_bytes(&h, ds->mu, ds->d * sizeof(double));
    pegr_hash_hex(&h, s->data_hash);
    return PEGR_OK;
}

const pegr_dataset *pegr_sweep_data(const pegr_sweep *s) { return s ? s->data : NULL; }

void pegr_sweep_text_free(char *text) { free(text); }

/* ---- axes ------------------------------------------------------------------------------------ */

/* "FROM:TO:STEP": exactly three decimal numbers, each through the one strict parser. */
static pegr_status range_values(const char *text, sweep_axis *axis, pegr_error *err)
{
    static const char *const syntax = "a range is FROM:TO:STEP, three decimal numbers, e.g. "
                                      "n=20:200:20";
    double ends[3];
    const char *p = text;
    for (size_t k = 0; k < 3; k++) {
        size_t len = strcspn(p, ":");
        int last = p[len] == '\0';
        char part[64]; /* a number longer than this is no number of a range */
        if (last != (k == 2) || len >= sizeof part)
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "%s", syntax);
        memcpy(part, p, len);
        part[len] = '\0';
        if (pegr_parse_double(part, -HUGE_VAL, HUGE_VAL, &ends[k]) != PEGR_NUM_OK)
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "'%s' is not a decimal number (%s)", part, syntax);
        if (!last) p += len + 1;
    }
    double a = ends[0], b = ends[1], step = ends[2];
    if (!(step > 0) || !(b >= a))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "a range needs FROM <= TO and STEP > 0");
    /* count with a relative tolerance, so 0.5:5:0.25 includes 5; TO - FROM may overflow to inf,
     * which is too many values too */
    double count = floor((b - a) / step + 1e-9) + 1;
    if (!(count <= PEGR_SWEEP_MAX_VALUES))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "too many values on one axis (at most 256)");
    for (size_t k = 0; k < (size_t)count; k++)
        snprintf(axis->values[k], sizeof axis->values[k], "%.10g", a + (double)k * step);
    axis->count = (size_t)count;
    return PEGR_OK;
}

/* A grid value becomes part of a run id, a directory name: only PEGR_SWEEP_ID_CHARS. */
static pegr_status check_value_chars(const char *value, pegr_error *err)
{
    size_t ok = strspn(value, PEGR_SWEEP_ID_CHARS);
    if (value[ok] == '\0') return PEGR_OK;
    unsigned char bad = (unsigned char)value[ok];
    if (bad < 0x20 || bad == 0x7f)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "value '%.*s...' holds the control "
                              "character 0x%02x: a grid value may hold only letters, digits and "
                              ". _ = + -", (int)ok, value, bad);
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "value '%s' holds '%c': a grid value may "
                          "hold only letters, digits and . _ = + - (it is part of each run's "
                          "directory name)", value, bad);
}

/* One more value of a list axis, checked. */
static pegr_status add_value(sweep_axis *axis, const char *p, size_t len, pegr_error *err)
{
    if (len == 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "an empty value (two commas together, or one at an end)");
    if (axis->count == PEGR_SWEEP_MAX_VALUES || len > PEGR_SWEEP_MAX_VALUE_LEN)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "too many (at most 256) or too long "
                              "(at most 31 characters) values on one axis");
    char *v = axis->values[axis->count];
    memcpy(v, p, len);
    v[len] = '\0';
    pegr_status st = check_value_chars(v, err);
    if (st != PEGR_OK) return st;
    for (size_t k = 0; k < axis->count; k++)
        if (!strcmp(axis->values[k], v))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                  "the value '%s' is given twice (each run once)", v);
    axis->count++;
    return PEGR_OK;
}

/* The axis's name: a training option that takes a value, other than method and seed. */
static pegr_status axis_name(sweep_axis *axis, const char *name, size_t len, pegr_error *err)
{
    static const char *const syntax =
        "a grid axis is NAME=FROM:TO:STEP or NAME=V1,V2,..., e.g. --grid mu-norm=0.5:5:0.25";
    if (len == 0 || len >= sizeof axis->name)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "%s", syntax);
    memcpy(axis->name, name, len);
    axis->name[len] = '\0';
    if (!strcmp(axis->name, "method") || !strcmp(axis->name, "seed"))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "method and seed are not grid axes: use --methods and --seeds");
    axis->option = pegr_train_option_find(axis->name);
    if (!axis->option || axis->option->type == PEGR_OPTION_FLAG)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the axis name is not an option of "
                              "pegr train (e.g. n, d, mu-norm, snr, lam, lr)");
    return PEGR_OK;
}

/* The new axis at s->axes[s->naxes] is complete. An axis name given twice is refused by
 * pegr_sweep_check (a caller may then name the axis in its own words right after adding it). */
static pegr_status commit_axis(pegr_sweep *s)
{
    s->naxes++;
    s->checked = 0;
    return PEGR_OK;
}

static pegr_status room_for_axis(const pegr_sweep *s, pegr_error *err)
{
    if (s->naxes < PEGR_SWEEP_MAX_AXES) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "at most %d grid axes",
                          PEGR_SWEEP_MAX_AXES);
}

pegr_status pegr_sweep_add_axis(pegr_sweep *s, const char *text, pegr_error *err)
{
    pegr_status st = room_for_axis(s, err);
    if (st != PEGR_OK) return st;
    sweep_axis *axis = &s->axes[s->naxes];
    memset(axis, 0, sizeof *axis);
    const char *eq = strchr(text, '=');
    st = axis_name(axis, text, eq ? (size_t)(eq - text) : 0, err);
    if (st != PEGR_OK) return st;
    const char *values = eq + 1;
    if (strchr(values, ':')) {
        st = range_values(values, axis, err);
    } else {
        /* by hand rather than strtok: "1,,2" and a trailing comma are mistakes, not one value */
        for (const char *p = values; st == PEGR_OK;) {
            size_t len = strcspn(p, ",");
            st = add_value(axis, p, len, err);
            if (p[len] == '\0') break;
            p += len + 1;
        }
    }
    return st == PEGR_OK ? commit_axis(s) : st;
}

pegr_status pegr_sweep_add_axis_values(pegr_sweep *s, const char *name, const char *const *values,
                                       size_t count, pegr_error *err)
{
    pegr_status st = room_for_axis(s, err);
    if (st != PEGR_OK) return st;
    sweep_axis *axis = &s->axes[s->naxes];
    memset(axis, 0, sizeof *axis);
    st = axis_name(axis, name, strlen(name), err);
    if (st == PEGR_OK && count == 0)
        st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the axis %s has no values", name);
    for (size_t k = 0; st == PEGR_OK && k < count; k++)
        st = add_value(axis, values[k], strlen(values[k]), err);
    return st == PEGR_OK ? commit_axis(s) : st;
}

pegr_status pegr_sweep_set_methods(pegr_sweep *s, const pegr_method *methods, size_t count,
                                   pegr_error *err)
{
    if (count == 0 || count > PEGR_SWEEP_MAX_METHODS)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "a sweep has 1 to %d methods, not %zu", PEGR_SWEEP_MAX_METHODS,
                              count);
    for (size_t m = 0; m < count; m++) {
        if (!pegr_method_name(methods[m]))
            return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "method %d is not a method",
                                  (int)methods[m]);
        for (size_t k = 0; k < m; k++)
            if (methods[k] == methods[m])
                return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                      "--methods names '%s' twice (each run once)",
                                      pegr_method_name(methods[m]));
    }
    memcpy(s->methods, methods, count * sizeof *methods);
    s->nmethods = count;
    s->checked = 0;
    return PEGR_OK;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* A seed twice would be the same run twice: refused, naming it. */
static pegr_status distinct_seeds(const uint64_t *seeds, size_t count, pegr_error *err)
{
    uint64_t *sorted = malloc((count ? count : 1) * sizeof *sorted);
    if (!sorted) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    memcpy(sorted, seeds, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, compare_u64);
    pegr_status st = PEGR_OK;
    for (size_t k = 1; k < count && st == PEGR_OK; k++)
        if (sorted[k] == sorted[k - 1])
            st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "seed %llu is given twice (each "
                                "run once)", (unsigned long long)sorted[k]);
    free(sorted);
    return st;
}

pegr_status pegr_sweep_set_seeds(pegr_sweep *s, const uint64_t *seeds, size_t count,
                                 pegr_error *err)
{
    if (count == 0 || count > PEGR_SWEEP_MAX_SEEDS)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "a sweep has 1 to %d seeds, not %zu",
                              PEGR_SWEEP_MAX_SEEDS, count);
    pegr_status st = distinct_seeds(seeds, count, err);
    if (st != PEGR_OK) return st;
    memcpy(s->seeds, seeds, count * sizeof *seeds);
    s->nseeds = count;
    s->checked = 0;
    return PEGR_OK;
}

pegr_status pegr_sweep_parse_seeds(pegr_sweep *s, const char *text, pegr_error *err)
{
    static const char *const syntax = "seeds are a list of numbers and ranges, e.g. 0-4 or 0,3,7";
    uint64_t *seeds = malloc(PEGR_SWEEP_MAX_SEEDS * sizeof *seeds);
    size_t n = 0;
    pegr_status st = seeds ? PEGR_OK : pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    for (const char *p = text; st == PEGR_OK;) {
        size_t len = strcspn(p, ",");
        char tok[64];
        if (len == 0 || len >= sizeof tok) {
            st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "%s", syntax);
            break;
        }
        memcpy(tok, p, len);
        tok[len] = '\0';
        /* A-B: the one strict number parser on each end (no sign, no space) */
        char *dash = strchr(tok, '-');
        if (dash) *dash = '\0';
        uint64_t a, b = 0;
        const char *bad = pegr_parse_u64(tok, 0, UINT64_MAX, &a) != PEGR_NUM_OK ? tok
                          : dash && pegr_parse_u64(dash + 1, 0, UINT64_MAX, &b) != PEGR_NUM_OK
                              ? dash + 1
                              : NULL;
        if (bad) {
            st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "'%s' is not a seed, an integer "
                                "from 0 to %llu (%s)", bad, (unsigned long long)UINT64_MAX, syntax);
            break;
        }
        if (!dash) b = a;
        if (b < a)
            st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "a seed range A-B needs A <= B");
        else if (b - a >= PEGR_SWEEP_MAX_SEEDS - n)
            st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "too many seeds (at most 1024)");
        if (st != PEGR_OK) break;
        for (uint64_t v = a;; v++) {
            seeds[n++] = v;
            if (v == b) break;
        }
        if (p[len] == '\0') break;
        p += len + 1;
    }
    if (st == PEGR_OK) st = pegr_sweep_set_seeds(s, seeds, n, err);
    free(seeds);
    return st;
}

/* ---- runs ------------------------------------------------------------------------------------ */

void pegr_sweep_coords(const pegr_sweep *s, size_t k, size_t *value_index, size_t *method,
                       size_t *seed)
{
    /* Order: the axes' tuple outermost (the first axis slowest), then the method, then the seed. */
    *seed = k % s->nseeds;
    k /= s->nseeds;
    *method = k % s->nmethods;
    k /= s->nmethods;
    for (size_t a = s->naxes; a-- > 0;) {
        value_index[a] = k % s->axes[a].count;
        k /= s->axes[a].count;
    }
}

/* The id without its fingerprint: "gd-s0-n=20-mu-norm=0.5" (messages about an invalid run). */
static void coords_id(const pegr_sweep *s, size_t k, char *out, size_t len)
{
    size_t vi[PEGR_SWEEP_MAX_AXES], mi, si;
    pegr_sweep_coords(s, k, vi, &mi, &si);
    size_t used = (size_t)snprintf(out, len, "%s-s%llu", pegr_method_name(s->methods[mi]),
                                   (unsigned long long)s->seeds[si]);
    for (size_t a = 0; a < s->naxes && used < len; a++)
        used += (size_t)snprintf(out + used, len - used, "-%s=%s", s->axes[a].name,
                                 s->axes[a].values[vi[a]]);
}

/* Set `count` axis values on *c through the option table (pegr_train_config_set), then the data
 * checks a command line makes after its flags: --mu-norm and --snr together refused, the data
 * model validated. The messages are the command line's. */
static pegr_status apply_values(const sweep_axis *const *axes, const size_t *vi, size_t count,
                                pegr_train_config *c, pegr_error *err)
{
    int mu = 0, snr = 0;
    for (size_t a = 0; a < count; a++) {
        pegr_status st = pegr_train_config_set(c, axes[a]->name, axes[a]->values[vi[a]], err);
        if (st != PEGR_OK) return st;
        mu |= !strcmp(axes[a]->name, "mu-norm");
        snr |= !strcmp(axes[a]->name, "snr");
    }
    if (mu && snr)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "give --mu-norm or --snr, not both");
    if (mu && c->data.model == PEGR_DATA_XOR) /* as the command line says of the flag */
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "--mu-norm sets the signal-noise model's ||mu||; with --data xor set "
                              "--xor-a-norm and --xor-b-norm");
    return pegr_data_config_validate(&c->data, err);
}

/* Run k's configuration, whether or not the sweep was checked (the check uses it). */
static pegr_status run_config(const pegr_sweep *s, size_t k, pegr_train_config *out,
                              pegr_error *err)
{
    size_t vi[PEGR_SWEEP_MAX_AXES], mi, si;
    pegr_sweep_coords(s, k, vi, &mi, &si);
    *out = s->base;
    out->method = s->methods[mi];
    out->data.seed = s->seeds[si];
    if (s->data) { /* the caller's own data: its shapes (data-model axes are refused) */
        out->data.n = s->data->train.n;
        out->data.n_test = s->data->test.n;
        out->data.d = s->data->d;
        out->data.P = s->data->P;
    }
    const sweep_axis *axes[PEGR_SWEEP_MAX_AXES];
    for (size_t a = 0; a < s->naxes; a++) axes[a] = &s->axes[a];
    pegr_status st = apply_values(axes, vi, s->naxes, out, err);
    if (st != PEGR_OK) return st;
    pegr_error inner = {0};
    st = pegr_train_config_validate(out, &inner);
    if (st != PEGR_OK) {
        char id[PEGR_SWEEP_ID_MAX + 1];
        coords_id(s, k, id, sizeof id);
        pegr_error_set(err, st, "run %s: %s", id, pegr_error_message(&inner));
        pegr_error_clear(&inner);
    }
    return st;
}

static pegr_status require_checked(const pegr_sweep *s, pegr_error *err)
{
    if (s && s->checked) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep was not checked "
                          "(pegr_sweep_check)");
}

pegr_status pegr_sweep_run_config(const pegr_sweep *s, size_t k, pegr_train_config *out,
                                  pegr_error *err)
{
    pegr_status st = require_checked(s, err);
    if (st == PEGR_OK && k >= s->nruns)
        st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "run %zu of a sweep of %zu runs", k,
                            s->nruns);
    return st == PEGR_OK ? run_config(s, k, out, err) : st;
}

/* The options the fixed lines of write_config hold (with method and seed, config_text's first
 * line); sweep.canonical's format for them is kept: existing sweep directories compare to it. */
static const char *const FIXED_LINE_OPTIONS[] = {
    "method", "seed", "n", "n-test", "d", "patches", "mu-norm", "snr", "sigma-p", "isotropic",
    "label-noise", "flip-test", "m", "q", "sigma0", "lam", "lr", "steps", "batch", "log-every",
    "representation", "sam-rho", "robust-sigmas"};

static int on_a_fixed_line(const char *name)
{
    for (size_t k = 0; k < sizeof FIXED_LINE_OPTIONS / sizeof FIXED_LINE_OPTIONS[0]; k++)
        if (!strcmp(FIXED_LINE_OPTIONS[k], name)) return 1;
    return 0;
}

/* Every option of a configuration that changes what a run computes, but method and seed: the
 * lines of sweep.canonical. The options added since that format was fixed (the data model, the
 * model variants, and any later row of the option table) follow as one "option NAME VALUE" line
 * each, in the table's order, only where the value is not the default: a new option needs no
 * code here, and the lines (and so the run ids) of sweeps that do not use it stay as they were. */
static void write_config(FILE *f, const pegr_train_config *c)
{
    const pegr_data_config *d = &c->data;
    fprintf(f,
            "data n %zu n_test %zu d %zu P %zu mu_norm %.17g snr %.17g sigma_p %.17g isotropic %d "
            "label_flip %.17g flip_test %d\n",
            d->n, d->n_test, d->d, d->P, d->mu_norm, d->snr, d->sigma_p, d->isotropic,
            d->label_flip, d->flip_test);
    fprintf(f, "model m %zu q %.17g sigma0 %.17g\n", c->m, c->q, c->sigma0);
    fprintf(f, "training lam %.17g lr %.17g steps %zu batch %zu log_every %zu representation %s "
               "sam_rho %.17g robust", c->lam, c->lr, c->steps, c->batch, c->log_every,
            pegr_representation_name(c->representation), c->sam_rho);
    for (size_t k = 0; k < c->n_robust; k++) fprintf(f, " %.17g", c->robust_sigmas[k]);
    fprintf(f, "\n");
    pegr_train_config def;
    pegr_train_config_default(&def);
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    char mine[PEGR_TRAIN_OPTION_TEXT_MAX], theirs[PEGR_TRAIN_OPTION_TEXT_MAX];
    for (size_t k = 0; k < n; k++) {
        if (on_a_fixed_line(table[k].name)) continue;
        pegr_train_config_get(c, table[k].name, mine, sizeof mine, NULL);
        pegr_train_config_get(&def, table[k].name, theirs, sizeof theirs, NULL);
        if (strcmp(mine, theirs) != 0) fprintf(f, "option %s %s\n", table[k].name, mine);
    }
}

/* write_config's text of c, with method and seed (malloc'ed; NULL when out of memory). */
static char *config_text(const pegr_train_config *c)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return NULL;
    fprintf(f, "method %s seed %llu\n", pegr_method_name(c->method),
            (unsigned long long)c->data.seed);
    write_config(f, c);
    fclose(f);
    return s;
}

/* The line that says a sweep trains on the caller's own data (nothing for generated data, so
 * existing sweep directories compare as before). */
static void write_data_line(FILE *f, const pegr_sweep *s)
{
    if (s->data) fprintf(f, "own_data %s\n", s->data_hash);
}

/* The PEGR_SWEEP_FINGERPRINT_HEX hex digits of a resolved run configuration: a hash of the
 * precision, method, seed and every option write_config lists. */
static void fingerprint(const pegr_sweep *s, const pegr_train_config *c,
                        char out[PEGR_SWEEP_FINGERPRINT_HEX + 1])
{
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_field(&h, pegr_precision_name(s->precision));
    char *text = config_text(c);
    pegr_hash_field(&h, text ? text : "");
    free(text);
    if (s->data) pegr_hash_field(&h, s->data_hash);
    char hex[33];
    pegr_hash_hex(&h, hex);
    memcpy(out, hex, PEGR_SWEEP_FINGERPRINT_HEX);
    out[PEGR_SWEEP_FINGERPRINT_HEX] = '\0';
}

pegr_status pegr_sweep_run_id(const pegr_sweep *s, size_t k, char *out, size_t len,
                              pegr_error *err)
{
    pegr_train_config c;
    pegr_status st = pegr_sweep_run_config(s, k, &c, err);
    if (st != PEGR_OK) return st;
    char id[PEGR_SWEEP_ID_MAX + PEGR_SWEEP_FINGERPRINT_HEX + 2], fp[PEGR_SWEEP_FINGERPRINT_HEX + 1];
    coords_id(s, k, id, sizeof id);
    fingerprint(s, &c, fp);
    size_t used = strlen(id);
    snprintf(id + used, sizeof id - used, "-%s", fp);
    if (!out || strlen(id) >= len)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "run %zu's id needs %zu bytes", k,
                              strlen(id) + 1);
    memcpy(out, id, strlen(id) + 1);
    return PEGR_OK;
}

size_t pegr_sweep_run_count(const pegr_sweep *s) { return s && s->checked ? s->nruns : 0; }

static size_t decimal_digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) v /= 10, n++;
    return n;
}

/* Two values of an axis that give the same configuration ("20,020", "0.5,0.50") would be the same
 * run under two ids: refused, naming both. Each value is set on the base alone. */
static pegr_status check_axes(const pegr_sweep *s, pegr_error *err)
{
    pegr_status st = PEGR_OK;
    for (size_t a = 0; a < s->naxes && st == PEGR_OK; a++) {
        const sweep_axis *axis = &s->axes[a];
        char **texts = calloc(axis->count, sizeof *texts);
        if (!texts) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
        for (size_t v = 0; v < axis->count && st == PEGR_OK; v++) {
            pegr_train_config c = s->base;
            st = apply_values(&axis, &v, 1, &c, err);
            if (st != PEGR_OK) break;
            texts[v] = config_text(&c);
            if (!texts[v]) st = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
            for (size_t w = 0; w < v && st == PEGR_OK; w++)
                if (!strcmp(texts[w], texts[v]))
                    st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "--grid %s: the values "
                                        "'%s' and '%s' are the same setting (each run once)",
                                        axis->name, axis->values[w], axis->values[v]);
        }
        for (size_t v = 0; v < axis->count; v++) free(texts[v]);
        free(texts);
    }
    if (st != PEGR_OK) return st;
    /* the longest id: the longest of each part (every combination is a run) */
    size_t longest = 0, method = 0;
    uint64_t seed = 0;
    for (size_t m = 0; m < s->nmethods; m++)
        if (strlen(pegr_method_name(s->methods[m])) > method)
            method = strlen(pegr_method_name(s->methods[m]));
    for (size_t k = 0; k < s->nseeds; k++)
        if (s->seeds[k] > seed) seed = s->seeds[k];
    longest = method + 2 + decimal_digits(seed) + 1 + PEGR_SWEEP_FINGERPRINT_HEX;
    for (size_t a = 0; a < s->naxes; a++) {
        size_t value = 0;
        for (size_t v = 0; v < s->axes[a].count; v++)
            if (strlen(s->axes[a].values[v]) > value) value = strlen(s->axes[a].values[v]);
        longest += 2 + strlen(s->axes[a].name) + value;
    }
    if (longest > PEGR_SWEEP_ID_MAX)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "run ids (each run's directory name: "
                              "method, seed, NAME=VALUE of each axis) would be up to %zu "
                              "characters, more than %d: use shorter grid values or fewer axes",
                              longest, PEGR_SWEEP_ID_MAX);
    return PEGR_OK;
}

/* a * b, or UINT64_MAX when the product does not fit */
static uint64_t mul_saturating(uint64_t a, uint64_t b)
{
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* At most PEGR_SWEEP_MAX_RUNS runs (the count computed without overflow), each valid. */
static pegr_status check_runs(const pegr_sweep *s, size_t *nruns, pegr_error *err)
{
    uint64_t count = mul_saturating(s->nmethods, s->nseeds);
    for (size_t a = 0; a < s->naxes; a++) count = mul_saturating(count, s->axes[a].count);
    if (count > PEGR_SWEEP_MAX_RUNS) {
        char factors[256] = "";
        size_t used = 0;
        for (size_t a = 0; a < s->naxes && used < sizeof factors; a++)
            used += (size_t)snprintf(factors + used, sizeof factors - used, "%zu values of %s x ",
                                     s->axes[a].count, s->axes[a].name);
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep has %s%llu runs (%s%zu "
                              "methods x %zu seeds), more than the %d a sweep may hold: use fewer "
                              "or coarser grid values or seeds, or split it into several sweeps",
                              count == UINT64_MAX ? "at least " : "", (unsigned long long)count,
                              factors, s->nmethods, s->nseeds, PEGR_SWEEP_MAX_RUNS);
    }
    /* Whether a run's configuration is valid does not depend on its seed (any seed is valid, and
     * no check reads it), so one seed of each axis tuple and method is enough: runs / seeds
     * checks, each a few microseconds. The combinations themselves are all checked, since one can
     * be invalid when its values alone are not (q 1.5 with pegr, or n * patches * d past
     * size_t). */
    for (size_t k = 0; k < (size_t)count; k += s->nseeds) {
        pegr_train_config c;
        pegr_status st = run_config(s, k, &c, err);
        if (st != PEGR_OK) return st;
    }
    *nruns = (size_t)count;
    return PEGR_OK;
}

pegr_status pegr_sweep_check(pegr_sweep *s, pegr_error *err)
{
    if (!s) return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "no sweep");
    if (s->nmethods == 0) {
        s->methods[0] = PEGR_METHOD_GD;
        s->methods[1] = PEGR_METHOD_PEGR;
        s->nmethods = 2;
    }
    if (s->nseeds == 0) {
        s->seeds[0] = 0;
        s->nseeds = 1;
    }
    s->checked = 0;
    for (size_t a = 0; a < s->naxes; a++)
        for (size_t b = 0; b < a; b++)
            if (!strcmp(s->axes[a].name, s->axes[b].name))
                return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "--grid names '%s' twice",
                                      s->axes[a].name);
    /* With the caller's own data a data-model axis would change nothing but the run ids; seed
     * still draws the initial weights. */
    const pegr_train_option *table = NULL;
    size_t ntable = pegr_train_options(&table);
    for (size_t a = 0; s->data && a < s->naxes; a++)
        for (size_t o = 0; o < ntable; o++)
            if (table[o].data && strcmp(table[o].name, "seed") != 0 &&
                !strcmp(table[o].name, s->axes[a].name))
                return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                                      "--grid over %s: a data-model option means nothing with your "
                                      "own data (--X); sweep the model and training options",
                                      s->axes[a].name);
    size_t nruns = 0;
    pegr_status st = check_axes(s, err);
    if (st == PEGR_OK) st = check_runs(s, &nruns, err);
    if (st != PEGR_OK) return st;
    s->nruns = nruns;
    s->checked = 1;
    return PEGR_OK;
}

/* ---- the parts ------------------------------------------------------------------------------- */

size_t pegr_sweep_axis_count(const pegr_sweep *s) { return s ? s->naxes : 0; }

const char *pegr_sweep_axis_name(const pegr_sweep *s, size_t axis)
{
    return s && axis < s->naxes ? s->axes[axis].name : NULL;
}

size_t pegr_sweep_axis_value_count(const pegr_sweep *s, size_t axis)
{
    return s && axis < s->naxes ? s->axes[axis].count : 0;
}

const char *pegr_sweep_axis_value(const pegr_sweep *s, size_t axis, size_t value)
{
    return s && axis < s->naxes && value < s->axes[axis].count ? s->axes[axis].values[value] : NULL;
}

const char *pegr_sweep_axis_column(const pegr_sweep *s, size_t axis)
{
    return s && axis < s->naxes ? s->axes[axis].option->column : NULL;
}

const pegr_train_config *pegr_sweep_base(const pegr_sweep *s) { return &s->base; }

pegr_precision pegr_sweep_precision(const pegr_sweep *s) { return s->precision; }

size_t pegr_sweep_method_count(const pegr_sweep *s) { return s ? s->nmethods : 0; }

size_t pegr_sweep_seed_count(const pegr_sweep *s) { return s ? s->nseeds : 0; }

char *pegr_sweep_canonical(const pegr_sweep *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return NULL;
    for (size_t a = 0; a < s->naxes; a++) {
        fprintf(f, "axis %s", s->axes[a].name);
        for (size_t v = 0; v < s->axes[a].count; v++) fprintf(f, " %s", s->axes[a].values[v]);
        fprintf(f, "\n");
    }
    fprintf(f, "methods");
    for (size_t m = 0; m < s->nmethods; m++) fprintf(f, " %s", pegr_method_name(s->methods[m]));
    fprintf(f, "\nseeds");
    for (size_t k = 0; k < s->nseeds; k++) fprintf(f, " %llu", (unsigned long long)s->seeds[k]);
    fprintf(f, "\nprecision %s\n", pegr_precision_name(s->precision));
    write_config(f, &s->base);
    write_data_line(f, s);
    fclose(f);
    return text;
}

size_t pegr_sweep_robust_columns(const pegr_sweep *s, double *sigmas)
{
    const sweep_axis *axis = NULL;
    for (size_t a = 0; a < s->naxes; a++)
        if (!strcmp(s->axes[a].name, "robust-sigmas")) axis = &s->axes[a];
    if (!axis) {
        memcpy(sigmas, s->base.robust_sigmas, s->base.n_robust * sizeof *sigmas);
        return s->base.n_robust;
    }
    size_t count = 0;
    for (size_t v = 0; v < axis->count; v++) {
        pegr_train_config c = s->base;
        if (pegr_train_config_set(&c, axis->name, axis->values[v], NULL) != PEGR_OK)
            continue; /* refused by the check */
        for (size_t k = 0; k < c.n_robust; k++) {
            size_t j = 0;
            while (j < count && sigmas[j] != c.robust_sigmas[k]) j++;
            if (j == count && count < PEGR_SWEEP_MAX_ROBUST_COLUMNS)
                sigmas[count++] = c.robust_sigmas[k];
        }
    }
    return count;
}

/* sweep_spec.c: see sweep_spec.h. */
#include "sweep_spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_args.h"
#include "util/hash.h"
#include "numparse.h"
#include "train_args.h"

static const pegr_command_spec RUN_SPEC = {"sweep", "one run of a sweep", "pegr sweep ..."};

static const pegr_command_spec *command_of(const sweep_spec *spec)
{
    return spec->cmd ? spec->cmd : &RUN_SPEC;
}

/* Is `name` an option of the experiment table (and allowed as an axis)? */
static int experiment_option(const char *name)
{
    pegr_train_config c;
    const char *sig = NULL;
    pegr_arg rows[PEGR_EXPERIMENT_MAX_ARGS];
    size_t n = pegr_cli_experiment_args(&c, &sig, rows);
    for (size_t k = 0; k < n; k++)
        if (strcmp(rows[k].name, name) == 0) return rows[k].kind != PEGR_ARG_FLAG;
    return 0;
}

/* "FROM:TO:STEP": exactly three decimal numbers, each through the one strict parser (sscanf's
 * "%lf" took leading spaces, hex, inf and nan). */
static const char *range_values(const char *text, sweep_axis *axis, char *msg, size_t msg_len)
{
    static const char *const syntax = "a range is FROM:TO:STEP, three decimal numbers, e.g. "
                                      "n=20:200:20";
    double ends[3];
    const char *p = text;
    for (size_t k = 0; k < 3; k++) {
        size_t len = strcspn(p, ":");
        int last = p[len] == '\0';
        char part[64]; /* a number longer than this is no number of a range */
        if (last != (k == 2) || len >= sizeof part) return syntax;
        memcpy(part, p, len);
        part[len] = '\0';
        if (pegr_parse_double(part, -HUGE_VAL, HUGE_VAL, &ends[k]) != PEGR_NUM_OK) {
            snprintf(msg, msg_len, "'%s' is not a decimal number (%s)", part, syntax);
            return msg;
        }
        if (!last) p += len + 1;
    }
    double a = ends[0], b = ends[1], step = ends[2];
    if (!(step > 0) || !(b >= a)) return "a range needs FROM <= TO and STEP > 0";
    /* count with a relative tolerance, so 0.5:5:0.25 includes 5; TO - FROM may overflow to inf,
     * which is too many values too */
    double count = floor((b - a) / step + 1e-9) + 1;
    if (!(count <= SWEEP_MAX_VALUES)) return "too many values on one axis (at most 256)";
    for (size_t k = 0; k < (size_t)count; k++) {
        double v = a + (double)k * step;
        snprintf(axis->values[k], sizeof axis->values[k], "%.10g", v);
    }
    axis->count = (size_t)count;
    return NULL;
}

/* A grid value becomes part of a run id, a directory name: only SWEEP_ID_CHARS (no '/', no
 * space, no quote, no control character). */
static const char *check_value_chars(const char *value, char *msg, size_t msg_len)
{
    size_t ok = strspn(value, SWEEP_ID_CHARS);
    if (value[ok] == '\0') return NULL;
    unsigned char bad = (unsigned char)value[ok];
    if (bad < 0x20 || bad == 0x7f)
        snprintf(msg, msg_len, "value '%.*s...' holds the control character 0x%02x: a grid value "
                 "may hold only letters, digits and . _ = + -", (int)ok, value, bad);
    else
        snprintf(msg, msg_len, "value '%s' holds '%c': a grid value may hold only letters, digits "
                 "and . _ = + - (it is part of each run's directory name)", value, bad);
    return msg;
}

const char *sweep_parse_axis(const char *text, sweep_axis *axis, char *msg, size_t msg_len)
{
    memset(axis, 0, sizeof *axis);
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || (size_t)(eq - text) >= sizeof axis->name)
        return "a grid axis is NAME=FROM:TO:STEP or NAME=V1,V2,..., e.g. --grid mu-norm=0.5:5:0.25";
    memcpy(axis->name, text, (size_t)(eq - text));
    axis->name[eq - text] = '\0';
    if (!strcmp(axis->name, "method") || !strcmp(axis->name, "seed"))
        return "method and seed are not grid axes: use --methods and --seeds";
    if (!experiment_option(axis->name))
        return "the axis name is not an option of pegr train (e.g. n, d, mu-norm, snr, lam, lr)";
    const char *values = eq + 1;
    if (strchr(values, ':')) return range_values(values, axis, msg, msg_len);
    /* by hand rather than strtok: "1,,2" and a trailing comma are mistakes, not one value */
    for (const char *p = values;;) {
        size_t len = strcspn(p, ",");
        if (len == 0) return "an empty value (two commas together, or one at an end)";
        if (axis->count == SWEEP_MAX_VALUES || len >= sizeof axis->values[0])
            return "too many (at most 256) or too long (at most 31 characters) values on one axis";
        char *v = axis->values[axis->count];
        memcpy(v, p, len);
        v[len] = '\0';
        if (check_value_chars(v, msg, msg_len)) return msg;
        for (size_t k = 0; k < axis->count; k++)
            if (!strcmp(axis->values[k], v)) {
                snprintf(msg, msg_len, "the value '%s' is given twice (each run once)", v);
                return msg;
            }
        axis->count++;
        if (p[len] == '\0') break;
        p += len + 1;
    }
    return NULL;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

const char *sweep_parse_seeds(const char *text, sweep_spec *spec, char *msg, size_t msg_len)
{
    static const char *const syntax = "seeds are a list of numbers and ranges, e.g. 0-4 or 0,3,7";
    spec->nseeds = 0;
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        char tok[64];
        if (len == 0 || len >= sizeof tok) return syntax;
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
            snprintf(msg, msg_len, "'%s' is not a seed, an integer from 0 to %llu (%s)", bad,
                     (unsigned long long)UINT64_MAX, syntax);
            return msg;
        }
        if (!dash) b = a;
        else if (b < a) return "a seed range A-B needs A <= B";
        if (b - a >= SWEEP_MAX_SEEDS - spec->nseeds) return "too many seeds (at most 1024)";
        for (uint64_t s = a;; s++) {
            spec->seeds[spec->nseeds++] = s;
            if (s == b) break;
        }
        if (p[len] == '\0') break;
        p += len + 1;
    }
    /* a seed twice would be the same run twice: refused, naming it */
    uint64_t sorted[SWEEP_MAX_SEEDS];
    memcpy(sorted, spec->seeds, spec->nseeds * sizeof *sorted);
    qsort(sorted, spec->nseeds, sizeof *sorted, compare_u64);
    for (size_t k = 1; k < spec->nseeds; k++)
        if (sorted[k] == sorted[k - 1]) {
            snprintf(msg, msg_len, "seed %llu is given twice (each run once)",
                     (unsigned long long)sorted[k]);
            return msg;
        }
    return NULL;
}

/* a * b, or UINT64_MAX when the product does not fit */
static uint64_t mul_saturating(uint64_t a, uint64_t b)
{
    return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

int sweep_check_runs(const sweep_spec *spec)
{
    const pegr_command_spec *cmd = command_of(spec);
    uint64_t count = mul_saturating(spec->nmethods, spec->nseeds);
    for (size_t a = 0; a < spec->naxes; a++) count = mul_saturating(count, spec->axes[a].count);
    if (count > SWEEP_MAX_RUNS) {
        char factors[256] = "";
        size_t used = 0;
        for (size_t a = 0; a < spec->naxes && used < sizeof factors; a++)
            used += (size_t)snprintf(factors + used, sizeof factors - used, "%zu values of %s x ",
                                     spec->axes[a].count, spec->axes[a].name);
        return pegr_args_usage_error(cmd, "the sweep has %s%llu runs (%s%zu methods x %zu seeds), "
                                     "more than the %d a sweep may hold: use fewer or coarser grid "
                                     "values or seeds, or split it into several sweeps",
                                     count == UINT64_MAX ? "at least " : "",
                                     (unsigned long long)count, factors, spec->nmethods,
                                     spec->nseeds, SWEEP_MAX_RUNS);
    }
    /* Every run's configuration must be valid before anything starts. Whether it is does not
     * depend on the seed (any seed is valid, and no check reads it), so one seed of each axis
     * tuple and method is enough: runs / seeds checks, each a few microseconds. The combinations
     * themselves are all checked, since one can be invalid when its values alone are not (q 1.5
     * with pegr, or n * patches * d past size_t). */
    for (size_t k = 0; k < (size_t)count; k += spec->nseeds) {
        pegr_train_config c;
        int rc = sweep_run_config(spec, k, &c);
        if (rc != PEGR_EXIT_OK) return rc;
    }
    return PEGR_EXIT_OK;
}

size_t sweep_run_count(const sweep_spec *spec)
{
    size_t count = spec->nmethods * spec->nseeds;
    for (size_t a = 0; a < spec->naxes; a++) count *= spec->axes[a].count;
    return count;
}

/* Order: the axes' tuple outermost (the first axis slowest), then the method, then the seed. */
void sweep_run_coords(const sweep_spec *spec, size_t k, size_t *value_index, size_t *method,
                      size_t *seed)
{
    *seed = k % spec->nseeds;
    k /= spec->nseeds;
    *method = k % spec->nmethods;
    k /= spec->nmethods;
    for (size_t a = spec->naxes; a-- > 0;) {
        value_index[a] = k % spec->axes[a].count;
        k /= spec->axes[a].count;
    }
}

/* The id without its fingerprint: "gd-s0-n=20-mu-norm=0.5" (messages about an invalid run). */
static void coords_id(const sweep_spec *spec, size_t k, char *out, size_t len)
{
    size_t vi[SWEEP_MAX_AXES], mi, si;
    sweep_run_coords(spec, k, vi, &mi, &si);
    size_t used = (size_t)snprintf(out, len, "%s-s%llu", spec->methods[mi],
                                   (unsigned long long)spec->seeds[si]);
    for (size_t a = 0; a < spec->naxes && used < len; a++)
        used += (size_t)snprintf(out + used, len - used, "-%s=%s", spec->axes[a].name,
                                 spec->axes[a].values[vi[a]]);
}

/* Apply `count` options (--names[i] values[i]) to *c through the experiment's option table: the
 * parsing and checks of pegr train's flags, --robust-sigmas' list included. -1 to go on, else the
 * exit code of a usage error (printed). */
static int apply_options(const pegr_command_spec *cmd, const char *const *names,
                         const char *const *values, size_t count, pegr_train_config *c)
{
    const char *sigmas = NULL; /* set only when robust-sigmas is among the options */
    pegr_arg rows[PEGR_EXPERIMENT_MAX_ARGS];
    size_t n = pegr_cli_experiment_args(c, &sigmas, rows);
    char *argv[1 + 2 * SWEEP_MAX_AXES];
    char flags[SWEEP_MAX_AXES][40];
    int argc = 0;
    argv[argc++] = "sweep";
    for (size_t a = 0; a < count && a < SWEEP_MAX_AXES; a++) {
        snprintf(flags[a], sizeof flags[a], "--%s", names[a]);
        argv[argc++] = flags[a];
        argv[argc++] = (char *)values[a];
    }
    int rc = pegr_args_parse(cmd, rows, n, argc, argv);
    if (rc >= 0) return rc;
    if (sigmas) return pegr_cli_finish_experiment_args(cmd, rows, n, c, sigmas);
    return pegr_cli_check_data_args(cmd, rows, n, &c->data);
}

int sweep_run_config(const sweep_spec *spec, size_t k, pegr_train_config *out)
{
    const pegr_command_spec *cmd = command_of(spec);
    size_t vi[SWEEP_MAX_AXES], mi, si;
    sweep_run_coords(spec, k, vi, &mi, &si);
    *out = spec->base;
    pegr_method_parse(spec->methods[mi], "--methods", &out->method, NULL); /* checked at parse */
    out->data.seed = spec->seeds[si];
    const char *names[SWEEP_MAX_AXES], *values[SWEEP_MAX_AXES];
    for (size_t a = 0; a < spec->naxes; a++) {
        names[a] = spec->axes[a].name;
        values[a] = spec->axes[a].values[vi[a]];
    }
    int rc = apply_options(cmd, names, values, spec->naxes, out);
    if (rc >= 0) return rc;
    pegr_error err = {0};
    if (pegr_train_config_validate(out, &err) != PEGR_OK) {
        char id[SWEEP_ID_MAX + 1];
        coords_id(spec, k, id, sizeof id);
        rc = pegr_args_usage_error(cmd, "run %s: %s", id, pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
    return PEGR_EXIT_OK;
}

/* Every option of a configuration that changes what a run computes, but method and seed: the
 * lines of sweep.canonical (their format is kept: existing sweep directories compare to it). */
static void write_config(FILE *f, const pegr_train_config *c)
{
    const pegr_data_config *d = &c->data;
    fprintf(f, "data n %zu n_test %zu d %zu P %zu mu_norm %.17g snr %.17g sigma_p %.17g isotropic %d "
               "label_flip %.17g flip_test %d\n", d->n, d->n_test, d->d, d->P, d->mu_norm, d->snr,
            d->sigma_p, d->isotropic, d->label_flip, d->flip_test);
    fprintf(f, "model m %zu q %.17g sigma0 %.17g\n", c->m, c->q, c->sigma0);
    fprintf(f, "training lam %.17g lr %.17g steps %zu batch %zu log_every %zu representation %s "
               "robust", c->lam, c->lr, c->steps, c->batch, c->log_every, pegr_representation_name(c->representation));
    for (size_t k = 0; k < c->n_robust; k++) fprintf(f, " %.17g", c->robust_sigmas[k]);
    fprintf(f, "\n");
}

/* write_config's text of c, with method and seed (malloc'ed; NULL when out of memory). */
static char *config_text(const pegr_train_config *c)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return NULL;
    fprintf(f, "method %s seed %llu\n", pegr_method_name(c->method), (unsigned long long)c->data.seed);
    write_config(f, c);
    fclose(f);
    return s;
}

void sweep_run_fingerprint(const sweep_spec *spec, const pegr_train_config *c,
                           char out[SWEEP_FINGERPRINT_HEX + 1])
{
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_field(&h, spec->precision);
    char *text = config_text(c);
    pegr_hash_field(&h, text ? text : "");
    free(text);
    char hex[33];
    pegr_hash_hex(&h, hex);
    memcpy(out, hex, SWEEP_FINGERPRINT_HEX);
    out[SWEEP_FINGERPRINT_HEX] = '\0';
}

void sweep_run_id(const sweep_spec *spec, size_t k, char *out, size_t len)
{
    coords_id(spec, k, out, len);
    pegr_train_config c;
    /* every run's configuration was checked when the sweep was parsed, so this cannot fail */
    if (sweep_run_config(spec, k, &c) != PEGR_EXIT_OK) return;
    char fp[SWEEP_FINGERPRINT_HEX + 1];
    sweep_run_fingerprint(spec, &c, fp);
    size_t used = strlen(out);
    if (used < len) snprintf(out + used, len - used, "-%s", fp);
}

static size_t decimal_digits(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) v /= 10, n++;
    return n;
}

int sweep_check_axes(const sweep_spec *spec)
{
    const pegr_command_spec *cmd = command_of(spec);
    /* two values of an axis that parse to the same configuration ("20,020", "0.5,0.50") would be
     * the same run under two ids: refused, naming both */
    for (size_t a = 0; a < spec->naxes; a++) {
        const sweep_axis *axis = &spec->axes[a];
        char *texts[SWEEP_MAX_VALUES] = {0};
        int rc = -1;
        for (size_t v = 0; v < axis->count && rc < 0; v++) {
            pegr_train_config c = spec->base;
            const char *name = axis->name, *value = axis->values[v];
            rc = apply_options(cmd, &name, &value, 1, &c);
            if (rc >= 0) break;
            texts[v] = config_text(&c);
            if (!texts[v]) rc = pegr_args_usage_error(cmd, "out of memory");
            for (size_t w = 0; w < v && rc < 0; w++)
                if (!strcmp(texts[w], texts[v]))
                    rc = pegr_args_usage_error(cmd, "--grid %s: the values '%s' and '%s' are the "
                                               "same setting (each run once)", axis->name,
                                               axis->values[w], value);
        }
        for (size_t v = 0; v < axis->count; v++) free(texts[v]);
        if (rc >= 0) return rc;
    }
    /* the longest id: the longest of each part (every combination is a run) */
    size_t longest = 0, method = 0;
    uint64_t seed = 0;
    for (size_t m = 0; m < spec->nmethods; m++)
        if (strlen(spec->methods[m]) > method) method = strlen(spec->methods[m]);
    for (size_t s = 0; s < spec->nseeds; s++)
        if (spec->seeds[s] > seed) seed = spec->seeds[s];
    longest = method + 2 + decimal_digits(seed) + 1 + SWEEP_FINGERPRINT_HEX;
    for (size_t a = 0; a < spec->naxes; a++) {
        size_t value = 0;
        for (size_t v = 0; v < spec->axes[a].count; v++)
            if (strlen(spec->axes[a].values[v]) > value) value = strlen(spec->axes[a].values[v]);
        longest += 2 + strlen(spec->axes[a].name) + value;
    }
    if (longest > SWEEP_ID_MAX)
        return pegr_args_usage_error(cmd, "run ids (each run's directory name: method, seed, "
                                     "NAME=VALUE of each axis) would be up to %zu characters, more "
                                     "than %d: use shorter grid values or fewer axes",
                                     longest, SWEEP_ID_MAX);
    return PEGR_EXIT_OK;
}

char *sweep_canonical(const sweep_spec *spec)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return NULL;
    for (size_t a = 0; a < spec->naxes; a++) {
        fprintf(f, "axis %s", spec->axes[a].name);
        for (size_t v = 0; v < spec->axes[a].count; v++) fprintf(f, " %s", spec->axes[a].values[v]);
        fprintf(f, "\n");
    }
    fprintf(f, "methods");
    for (size_t m = 0; m < spec->nmethods; m++) fprintf(f, " %s", spec->methods[m]);
    fprintf(f, "\nseeds");
    for (size_t k = 0; k < spec->nseeds; k++) fprintf(f, " %llu", (unsigned long long)spec->seeds[k]);
    fprintf(f, "\nprecision %s\n", spec->precision);
    write_config(f, &spec->base);
    fclose(f);
    return s;
}

size_t sweep_robust_columns(const sweep_spec *spec, double *sigmas)
{
    const sweep_axis *axis = NULL;
    for (size_t a = 0; a < spec->naxes; a++)
        if (!strcmp(spec->axes[a].name, "robust-sigmas")) axis = &spec->axes[a];
    if (!axis) {
        memcpy(sigmas, spec->base.robust_sigmas, spec->base.n_robust * sizeof *sigmas);
        return spec->base.n_robust;
    }
    size_t count = 0;
    for (size_t v = 0; v < axis->count; v++) {
        pegr_train_config c = spec->base;
        if (!pegr_cli_parse_sigmas(axis->values[v], &c)) continue; /* refused when parsed */
        for (size_t k = 0; k < c.n_robust; k++) {
            size_t j = 0;
            while (j < count && sigmas[j] != c.robust_sigmas[k]) j++;
            if (j == count && count < SWEEP_MAX_ROBUST_COLUMNS) sigmas[count++] = c.robust_sigmas[k];
        }
    }
    return count;
}

void sweep_axis_column(const char *option, char *out, size_t len)
{
    static const struct { const char *option, *column; } map[] = {
        {"mu-norm", "mu_norm"}, {"n-test", "n_test"}, {"sigma-p", "sigma_p"},
        {"label-noise", "label_noise"}, {"log-every", "log_every"},
    };
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
        if (!strcmp(option, map[k].option)) {
            snprintf(out, len, "%s", map[k].column);
            return;
        }
    snprintf(out, len, "%s", option);
}

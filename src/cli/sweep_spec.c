/* sweep_spec.c: see sweep_spec.h. */
#include "sweep_spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_args.h"
#include "train_args.h"

static const pegr_command_spec RUN_SPEC = {"sweep", "one run of a sweep", "pegr sweep ..."};

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

static const char *range_values(const char *spec, sweep_axis *axis)
{
    double a, b, step;
    char tail;
    if (sscanf(spec, "%lf:%lf:%lf%c", &a, &b, &step, &tail) != 3)
        return "a range is FROM:TO:STEP, e.g. n=20:200:20";
    if (!(step > 0) || !(b >= a) || !isfinite(a) || !isfinite(b))
        return "a range needs FROM <= TO and STEP > 0";
    /* count with a relative tolerance, so 0.5:5:0.25 includes 5 */
    size_t count = (size_t)floor((b - a) / step + 1e-9) + 1;
    if (count > SWEEP_MAX_VALUES) return "too many values on one axis (at most 256)";
    for (size_t k = 0; k < count; k++) {
        double v = a + (double)k * step;
        snprintf(axis->values[k], sizeof axis->values[k], "%.10g", v);
    }
    axis->count = count;
    return NULL;
}

const char *sweep_parse_axis(const char *text, sweep_axis *axis)
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
    if (strchr(values, ':')) return range_values(values, axis);
    char *copy = strdup(values), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (axis->count == SWEEP_MAX_VALUES || strlen(tok) >= sizeof axis->values[0]) {
            free(copy);
            return "too many or too long values on one axis";
        }
        snprintf(axis->values[axis->count++], sizeof axis->values[0], "%s", tok);
    }
    free(copy);
    return axis->count ? NULL : "an axis needs at least one value";
}

const char *sweep_parse_seeds(const char *text, sweep_spec *spec)
{
    spec->nseeds = 0;
    char *copy = strdup(text), *save = NULL;
    const char *msg = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && !msg; tok = strtok_r(NULL, ",", &save)) {
        unsigned long long a, b;
        char tail;
        int n = sscanf(tok, "%llu-%llu%c", &a, &b, &tail);
        if (n == 1 && strchr(tok, '-') == NULL) b = a;
        else if (n != 2 || b < a) msg = "seeds are a list of numbers and ranges, e.g. 0-4 or 0,3,7";
        for (unsigned long long s = a; !msg && s <= b; s++) {
            if (spec->nseeds == SWEEP_MAX_SEEDS) msg = "too many seeds (at most 1024)";
            else spec->seeds[spec->nseeds++] = s;
        }
    }
    free(copy);
    if (!msg && !spec->nseeds) msg = "--seeds needs at least one seed";
    return msg;
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

void sweep_run_id(const sweep_spec *spec, size_t k, char *out, size_t len)
{
    size_t vi[SWEEP_MAX_AXES], mi, si;
    sweep_run_coords(spec, k, vi, &mi, &si);
    size_t used = (size_t)snprintf(out, len, "%s-s%llu", spec->methods[mi],
                                   (unsigned long long)spec->seeds[si]);
    for (size_t a = 0; a < spec->naxes && used < len; a++)
        used += (size_t)snprintf(out + used, len - used, "-%s=%s", spec->axes[a].name,
                                 spec->axes[a].values[vi[a]]);
}

int sweep_run_config(const sweep_spec *spec, size_t k, pegr_train_config *out)
{
    size_t vi[SWEEP_MAX_AXES], mi, si;
    sweep_run_coords(spec, k, vi, &mi, &si);
    *out = spec->base;
    const char *sig = "unused";
    pegr_arg rows[PEGR_EXPERIMENT_MAX_ARGS];
    size_t n = pegr_cli_experiment_args(out, &sig, rows);
    char *argv[1 + 2 * SWEEP_MAX_AXES];
    char flags[SWEEP_MAX_AXES][40];
    int argc = 0;
    argv[argc++] = "sweep";
    for (size_t a = 0; a < spec->naxes; a++) {
        snprintf(flags[a], sizeof flags[a], "--%s", spec->axes[a].name);
        argv[argc++] = flags[a];
        argv[argc++] = (char *)spec->axes[a].values[vi[a]];
    }
    int rc = pegr_args_parse(&RUN_SPEC, rows, n, argc, argv);
    if (rc >= 0) return rc;
    out->method = spec->methods[mi];
    out->data.seed = spec->seeds[si];
    rc = pegr_cli_check_data_args(&RUN_SPEC, rows, n, &out->data);
    if (rc >= 0) return rc;
    pegr_error err = {0};
    if (pegr_train_config_validate(out, &err) != PEGR_OK) {
        char id[512];
        sweep_run_id(spec, k, id, sizeof id);
        rc = pegr_args_usage_error(&RUN_SPEC, "run %s: %s", id, pegr_error_message(&err));
        pegr_error_clear(&err);
        return rc;
    }
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
    const pegr_train_config *c = &spec->base;
    const pegr_data_config *d = &c->data;
    fprintf(f, "\nprecision %s\n", spec->precision);
    fprintf(f, "data n %zu n_test %zu d %zu P %zu mu_norm %.17g snr %.17g sigma_p %.17g isotropic %d "
               "label_flip %.17g flip_test %d\n", d->n, d->n_test, d->d, d->P, d->mu_norm, d->snr,
            d->sigma_p, d->isotropic, d->label_flip, d->flip_test);
    fprintf(f, "model m %zu q %.17g sigma0 %.17g\n", c->m, c->q, c->sigma0);
    fprintf(f, "training lam %.17g lr %.17g steps %zu batch %zu log_every %zu representation %s "
               "robust", c->lam, c->lr, c->steps, c->batch, c->log_every, c->representation);
    for (size_t k = 0; k < c->n_robust; k++) fprintf(f, " %.17g", c->robust_sigmas[k]);
    fprintf(f, "\n");
    fclose(f);
    return s;
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

/* sweep_results.c: a sweep's files: each finished run's row.csv (its parameters and final
 * metrics), results.csv assembled from the rows in run order (pegr_sweep_collect), sweep.json,
 * sweep.canonical and sweep.args. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/pegr.h"
#include "train/sweep_internal.h"
#include "train/train_output.h"
#include "util/fsutil.h"
#include "util/json.h"
#include "util/numparse.h"

static const char *const PARAM_COLUMNS =
    "n,n_test,d,patches,mu_norm,snr,sigma_p,noise,label_noise,m,q,sigma0,lam,lr,steps,batch,"
    "sam_rho,data,xor_a_norm,xor_b_norm,init,bias,readout,learn_readout,sam_variant";
static const char *const METRIC_COLUMNS =
    "train_loss,objective,train_error,test_error,gamma_max_pos,gamma_max_neg,gamma_mean,rho_mean,"
    "norm2_mean,norm2_var,grad_norm";

static char *csv_header(const pegr_sweep *spec)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return NULL;
    fprintf(f, "run_id,method,seed,%s,%s", PARAM_COLUMNS, METRIC_COLUMNS);
    double sigmas[PEGR_SWEEP_MAX_ROBUST_COLUMNS];
    size_t nsig = pegr_sweep_robust_columns(spec, sigmas);
    for (size_t k = 0; k < nsig; k++) fprintf(f, ",robust_test_error_%g", sigmas[k]);
    fprintf(f, ",steps_run,diverged,representation,device,wall_seconds\n");
    fclose(f);
    return s;
}

/* A comma, then the word a choice option's value stands for (its row's list: "uniform"). */
static void csv_choice(FILE *f, const char *option, int value)
{
    const pegr_train_option *o = pegr_train_option_find(option);
    char word[64];
    fputc(',', f);
    if (o && pegr_word_at(o->allowed, value, word, sizeof word)) fputs(word, f);
}

/* A comma, then the number (nothing for NaN). */
static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    pegr_csv_number(f, v);
}

/* A CSV field in quotes, quotes doubled (device names hold commas). */
static void csv_str(FILE *f, const char *s)
{
    fputs(",\"", f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* row.csv's fields: run_id, method, seed, the PARAM_COLUMNS, the METRIC_COLUMNS, one robust error
 * per sigma of the run, then the TAIL_FIELDS (steps_run, diverged, representation, device,
 * wall_seconds). */
#define LEGACY_PARAMS 17 /* n .. sam_rho: the PARAM_COLUMNS of rows written before the variants */
#define VARIANT_FIELDS 8 /* data .. sam_variant: variant_fields */
#define HEAD_FIELDS (3 + LEGACY_PARAMS + VARIANT_FIELDS + 11)
#define TAIL_FIELDS 5

/* The data model ("own" for the caller's data) and the model variants (docs/math.md): the
 * VARIANT_FIELDS fields of a row, each with its leading comma. */
static void variant_fields(FILE *f, const pegr_train_config *c, int own)
{
    const pegr_data_config *d = &c->data;
    if (own) fputs(",own", f);
    else csv_choice(f, "data", d->model);
    if (!own && d->model == PEGR_DATA_XOR) {
        csv_num(f, d->xor_a_norm);
        csv_num(f, d->xor_b_norm);
    } else {
        fputs(",,", f);
    }
    csv_choice(f, "init", c->init);
    fprintf(f, ",%d", c->bias ? 1 : 0);
    csv_choice(f, "readout", c->readout);
    fprintf(f, ",%d", c->learn_readout ? 1 : 0);
    csv_choice(f, "sam-variant", c->sam_variant);
}

pegr_status pegr_sweep_write_row(const char *run_dir, const char *id, const pegr_train_config *c,
                                 const pegr_train_result *r, const pegr_run_info *info,
                                 const pegr_dataset *own, pegr_error *err)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    const pegr_data_config *d = &c->data;
    double mu = pegr_data_config_mu_norm(d);
    fprintf(f, "%s,%s,%llu,%zu,%zu,%zu,%zu", id, pegr_method_name(c->method),
            (unsigned long long)d->seed, d->n, d->n_test, d->d, d->P);
    if (own) { /* the caller's data: only ||mu|| is known (NaN, an empty cell, without mu) */
        csv_num(f, own->mu_norm);
        fprintf(f, ",,,,");
    } else {
        csv_num(f, mu);
        csv_num(f, mu / (d->sigma_p * sqrt((double)d->d)));
        csv_num(f, d->sigma_p);
        fprintf(f, ",%s", d->isotropic ? "isotropic" : "orthogonal");
        csv_num(f, d->label_flip);
    }
    fprintf(f, ",%zu", c->m);
    csv_num(f, c->q);
    csv_num(f, c->sigma0);
    csv_num(f, c->lam);
    csv_num(f, c->lr);
    fprintf(f, ",%zu,%zu", c->steps, c->batch);
    csv_num(f, c->sam_rho);
    variant_fields(f, c, own != NULL);
    /* A diverged run has no final metrics: the last record's numbers (a loss of ln 2 from NaN
     * margins, a gradient norm of 0, a test error of 1) look like results and are not. Its metric
     * and robust fields are empty (NaN), as for a run without records; `diverged` says why. */
    const pegr_train_record *last = r->diverged ? NULL : pegr_train_result_last(r);
    pegr_metrics m;
    if (last) m = last->metrics;
    else memset(&m, 0xff, sizeof m); /* all NaN */
    const double v[] = {m.loss,         m.objective,    m.train_error, m.test_error,
                        m.gamma_max[0], m.gamma_max[1], m.gamma_mean,  m.rho_mean,
                        m.norm2_mean,   m.norm2_var,    m.grad_norm};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) csv_num(f, v[k]);
    for (size_t k = 0; k < c->n_robust; k++) csv_num(f, r->diverged ? NAN : r->robust_error[k]);
    fprintf(f, ",%zu,%d,%s", r->steps_run, r->diverged, r->span ? "span" : "primal");
    csv_str(f, info->device);
    csv_num(f, r->wall_seconds);
    fputc('\n', f);
    fclose(f);
    pegr_status st = pegr_file_write_in(run_dir, "row.csv", s, len, err);
    free(s);
    return st;
}

/* DIR/runs/ID/row.csv (malloc'ed; NULL when out of memory). */
static char *row_path(const char *dir, const char *id)
{
    char *runs = pegr_path_join(dir, "runs");
    char *run = runs ? pegr_path_join(runs, id) : NULL;
    char *path = run ? pegr_path_join(run, "row.csv") : NULL;
    free(runs);
    free(run);
    return path;
}

/* One field of a row: its text as written (quotes included). */
typedef struct csv_field {
    const char *start;
    size_t len;
} csv_field;

/* Split one CSV line (no newline) at the commas outside quotes. Returns the number of fields (at
 * most max are stored), or 0 for an unbalanced quote. */
static size_t split_fields(const char *line, size_t len, csv_field *fields, size_t max)
{
    size_t n = 0, start = 0;
    int quoted = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] == '"') quoted = !quoted;
        if (i < len && (quoted || line[i] != ',')) continue;
        if (n < max) fields[n] = (csv_field){line + start, i - start};
        n++;
        start = i + 1;
    }
    return quoted ? 0 : n;
}

/* Is `text` run k's row as sweep_write_row writes it: one complete line (with its newline), the
 * run's id first, as many fields as the header has for the run's robust sigmas? The fields go to
 * `fields` (room for HEAD_FIELDS + PEGR_MAX_ROBUST + TAIL_FIELDS). NULL, or why not. */
static const char *check_row(const char *text, size_t len, const char *id,
                             const pegr_train_config *c, csv_field *fields, char *why,
                             size_t why_len)
{
    if (len == 0) return "empty";
    if (strlen(text) != len) return "holds a NUL byte";
    const char *nl = strchr(text, '\n');
    if (!nl) return "truncated (no newline at the end of the row)";
    if ((size_t)(nl - text) + 1 != len) return "holds more than one line";
    size_t want = HEAD_FIELDS + c->n_robust + TAIL_FIELDS;
    size_t n = split_fields(text, (size_t)(nl - text), fields, want);
    if (n != want) {
        snprintf(why, why_len, "has %zu fields, not the %zu of the run's columns (truncated or "
                 "from another sweep)", n, want);
        return why;
    }
    if (fields[0].len != strlen(id) || strncmp(fields[0].start, id, fields[0].len)) {
        snprintf(why, why_len, "is the row of run '%.*s', not of %s", (int)fields[0].len,
                 fields[0].start, id);
        return why;
    }
    return NULL;
}

/* A row written before the variant columns existed (LEGACY_PARAMS parameters, then the metrics)
 * as today's: the run's VARIANT_FIELDS inserted after sam_rho. Such a run was trained with every
 * variant at its default, and its id says so (the identity lines of non-default variants did not
 * exist), so the inserted fields are c's. A row with another field count, or when out of memory,
 * is left as it is (check_row then says why it is not valid). */
static void upgrade_legacy_row(char **text, size_t *len, const pegr_train_config *c, int own)
{
    const char *nl = memchr(*text, '\n', *len);
    csv_field f[HEAD_FIELDS + PEGR_MAX_ROBUST + TAIL_FIELDS];
    size_t legacy = HEAD_FIELDS - VARIANT_FIELDS + c->n_robust + TAIL_FIELDS;
    if (!nl || split_fields(*text, (size_t)(nl - *text), f, legacy) != legacy) return;
    const char *cut = f[3 + LEGACY_PARAMS].start - 1; /* the comma before the first metric */
    char *s = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&s, &n);
    if (!out) return;
    fwrite(*text, 1, (size_t)(cut - *text), out);
    variant_fields(out, c, own);
    fwrite(cut, 1, *len - (size_t)(cut - *text), out);
    if (fclose(out) != 0 || !s) {
        free(s);
        return;
    }
    free(*text);
    *text = s;
    *len = n;
}

/* Read and check run k's row in dir (own: the sweep trains on the caller's data). 1: valid (its
 * fields in `fields`, its text in *text, malloc'ed); 0: no row; -1: a row that is not valid (said
 * on stderr, naming the file). */
static int read_row(const pegr_sweep_callbacks *cb, const char *dir, const char *id,
                    const pegr_train_config *c, int own, char **text, csv_field *fields)
{
    char *path = row_path(dir, id);
    size_t len = 0;
    *text = NULL;
    pegr_error err = {0};
    if (!path || pegr_file_read_all(path, text, &len, &err) != PEGR_OK) {
        free(path);
        pegr_error_clear(&err);
        return 0; /* missing (or unreadable: reported as missing) */
    }
    char why[160];
    upgrade_legacy_row(text, &len, c, own);
    const char *bad = check_row(*text, len, id, c, fields, why, sizeof why);
    if (bad) {
        pegr_sweep_tell(cb, "%s %s; not merged", path, bad);
        free(*text);
        *text = NULL;
    }
    free(path);
    return bad ? -1 : 1;
}

int pegr_sweep_run_is_done(const pegr_sweep *spec, size_t k, const char *out_dir)
{
    char id[PEGR_SWEEP_ID_MAX + 1];
    pegr_train_config c;
    if (pegr_sweep_run_id(spec, k, id, sizeof id, NULL) != PEGR_OK ||
        pegr_sweep_run_config(spec, k, &c, NULL) != PEGR_OK)
        return 0;
    csv_field fields[HEAD_FIELDS + PEGR_MAX_ROBUST + TAIL_FIELDS];
    char *text = NULL;
    int r = read_row(NULL, out_dir, id, &c, spec->data != NULL, &text, fields);
    free(text);
    return r == 1;
}

/* Write run k's row into f with its robust errors in the header's columns (sigmas[0..nsig)): a
 * run of a robust-sigmas axis has only its own sigma's; the other columns stay empty. */
static void put_row(FILE *f, const pegr_train_config *c, const csv_field *fields,
                    const double *sigmas, size_t nsig)
{
    for (size_t i = 0; i < HEAD_FIELDS; i++)
        fprintf(f, "%s%.*s", i ? "," : "", (int)fields[i].len, fields[i].start);
    for (size_t j = 0; j < nsig; j++) {
        fputc(',', f);
        for (size_t r = 0; r < c->n_robust; r++)
            if (c->robust_sigmas[r] == sigmas[j])
                fprintf(f, "%.*s", (int)fields[HEAD_FIELDS + r].len, fields[HEAD_FIELDS + r].start);
    }
    for (size_t i = HEAD_FIELDS + c->n_robust; i < HEAD_FIELDS + c->n_robust + TAIL_FIELDS; i++)
        fprintf(f, ",%.*s", (int)fields[i].len, fields[i].start);
    fputc('\n', f);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_ids(char **ids, size_t total)
{
    for (size_t k = 0; ids && k < total; k++) free(ids[k]);
    free(ids);
}

/* The ids of the sweep's runs into *out (total of them, malloc'ed), checked to be distinct: a
 * results.csv never holds one id twice. (Parsing refuses what would repeat an id -- a seed, a
 * method or a grid value given twice -- so this guards the merge against a future id scheme.) */
static pegr_status distinct_ids(const pegr_sweep *spec, size_t total, char ***out, pegr_error *err)
{
    size_t room = total ? total : 1;
    char **ids = calloc(room, sizeof *ids), **sorted = malloc(room * sizeof *sorted);
    pegr_status s = ids && sorted ? PEGR_OK : PEGR_ERR_NO_MEMORY;
    for (size_t k = 0; s == PEGR_OK && k < total; k++) {
        char id[PEGR_SWEEP_ID_MAX + 1];
        if (pegr_sweep_run_id(spec, k, id, sizeof id, NULL) != PEGR_OK || !(ids[k] = strdup(id)))
            s = PEGR_ERR_NO_MEMORY;
    }
    if (s != PEGR_OK) pegr_error_set(err, s, "out of memory");
    if (s == PEGR_OK) {
        memcpy(sorted, ids, total * sizeof *ids);
        qsort(sorted, total, sizeof *sorted, compare_strings);
        for (size_t k = 1; s == PEGR_OK && k < total; k++)
            if (!strcmp(sorted[k], sorted[k - 1]))
                s = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "two runs of the sweep have the "
                                   "id %s; results.csv would hold it twice", sorted[k]);
    }
    free(sorted);
    if (s != PEGR_OK) {
        free_ids(ids, total);
        ids = NULL;
    }
    *out = ids;
    return s;
}

pegr_status pegr_sweep_collect(const pegr_sweep *spec, const char *const *dirs, size_t ndirs,
                               const char *out_dir, const pegr_sweep_callbacks *cb,
                               pegr_sweep_tally *t, pegr_error *err)
{
    memset(t, 0, sizeof *t);
    if (!spec || !spec->checked)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep was not checked "
                              "(pegr_sweep_check)");
    size_t total = pegr_sweep_run_count(spec);
    char **ids = NULL;
    pegr_status s = distinct_ids(spec, total, &ids, err);
    if (s != PEGR_OK) return s;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    char *header = csv_header(spec);
    if (!f || !header) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    if (s == PEGR_OK) fputs(header, f);
    double sigmas[PEGR_SWEEP_MAX_ROBUST_COLUMNS];
    size_t nsig = pegr_sweep_robust_columns(spec, sigmas);
    for (size_t k = 0; s == PEGR_OK && k < total; k++) {
        pegr_train_config c;
        if (pegr_sweep_run_config(spec, k, &c, NULL) != PEGR_OK) {
            s = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "run %s is not valid", ids[k]);
            break;
        }
        csv_field fields[HEAD_FIELDS + PEGR_MAX_ROBUST + TAIL_FIELDS];
        char *row = NULL;
        size_t copies = 0;
        for (size_t d = 0; d < ndirs; d++) {
            csv_field other[HEAD_FIELDS + PEGR_MAX_ROBUST + TAIL_FIELDS];
            char *r = NULL;
            int got = read_row(cb, dirs[d], ids[k], &c, spec->data != NULL, &r, row ? other : fields);
            if (got < 0) t->bad++;
            if (got <= 0) continue;
            copies++;
            if (!row) row = r; /* the first valid one is kept */
            else free(r);
        }
        if (copies > 1) {
            t->duplicated++;
            pegr_sweep_tell(cb, "run %s was found in %zu directories (one row kept)", ids[k],
                            copies);
        }
        if (row) {
            put_row(f, &c, fields, sigmas, nsig);
            t->found++;
            free(row);
        } else {
            if (t->missing < PEGR_SWEEP_TALLY_IDS)
                t->missing_ids[t->missing] = ids[k], ids[k] = NULL;
            t->missing++;
        }
    }
    free_ids(ids, total);
    free(header);
    if (f) fclose(f);
    if (s == PEGR_OK) s = pegr_file_write_in(out_dir, "results.csv", text, len, err);
    free(text);
    return s;
}

void pegr_sweep_tally_free(pegr_sweep_tally *t)
{
    if (!t) return;
    for (size_t k = 0; k < PEGR_SWEEP_TALLY_IDS; k++) free(t->missing_ids[k]);
    memset(t, 0, sizeof *t);
}

pegr_status pegr_sweep_write_description(const pegr_sweep *spec, const char *dir,
                                         const char *const *args, size_t nargs, pegr_error *err)
{
    if (!spec || !spec->checked)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep was not checked "
                              "(pegr_sweep_check)");
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "pegr_version", pegr_version());
    pegr_json_key(&j, "axes");
    pegr_json_begin_array(&j);
    for (size_t a = 0; a < spec->naxes; a++) pegr_json_string(&j, pegr_sweep_axis_column(spec, a));
    pegr_json_end_array(&j);
    pegr_json_key(&j, "methods");
    pegr_json_begin_array(&j);
    for (size_t m = 0; m < spec->nmethods; m++)
        pegr_json_string(&j, pegr_method_name(spec->methods[m]));
    pegr_json_end_array(&j);
    pegr_json_key(&j, "seeds");
    pegr_json_begin_array(&j);
    for (size_t k = 0; k < spec->nseeds; k++) pegr_json_uint(&j, spec->seeds[k]);
    pegr_json_end_array(&j);
    pegr_json_kv_uint(&j, "runs", pegr_sweep_run_count(spec));
    pegr_json_end_object(&j);
    pegr_status s = pegr_json_write_in(&j, dir, "sweep.json", err);
    pegr_json_free(&j);
    /* sweep.canonical: what a restart compares against */
    char *canon = pegr_sweep_canonical(spec);
    if (s == PEGR_OK && !canon) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    if (s == PEGR_OK) s = pegr_file_write_in(dir, "sweep.canonical", canon, strlen(canon), err);
    free(canon);
    /* sweep.args: the defining arguments, one a line (the CLI's `pegr collect` and emitted scripts
     * read them back) */
    char *text = NULL;
    size_t len = 0;
    FILE *f = s == PEGR_OK ? open_memstream(&text, &len) : NULL;
    if (s == PEGR_OK && !f) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    if (s == PEGR_OK) {
        for (size_t i = 0; i < nargs; i++) fprintf(f, "%s\n", args[i]);
        fclose(f);
        s = pegr_file_write_in(dir, "sweep.args", text ? text : "", len, err);
    }
    free(text);
    return s;
}

/* train_output.c: see train_output.h. */
#include "train/train_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "pegr/pegr.h"
#include "util/fsutil.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/json_read.h"
#include "util/numparse.h"
#include "backend/metrics_summary.h"
#include "util/npy.h"

void pegr_data_config_json(pegr_json *j, const pegr_data_config *c)
{
    double mu_norm = pegr_data_config_mu_norm(c);
    pegr_json_kv_uint(j, "n", c->n);
    pegr_json_kv_uint(j, "n_test", c->n_test);
    pegr_json_kv_uint(j, "d", c->d);
    pegr_json_kv_uint(j, "patches", c->P);
    pegr_json_kv_number(j, "mu_norm", mu_norm);
    pegr_json_kv_number(j, "snr", mu_norm / (c->sigma_p * sqrt((double)c->d)));
    pegr_json_kv_number(j, "sigma_p", c->sigma_p);
    pegr_json_kv_string(j, "noise", c->isotropic ? "isotropic" : "orthogonal");
    pegr_json_kv_number(j, "label_noise", c->label_flip);
    pegr_json_kv_bool(j, "flip_test", c->flip_test);
    pegr_json_kv_uint(j, "seed", c->seed);
    if (c->model == PEGR_DATA_XOR) { /* only then: signal-noise descriptions stay as they were */
        pegr_json_kv_string(j, "model", "xor");
        pegr_json_kv_number(j, "xor_a_norm", c->xor_a_norm);
        pegr_json_kv_number(j, "xor_b_norm", c->xor_b_norm);
    }
}

/* ---- the options of a config, by the one option table ------------------------------------ */

/* config.json's "options" object holds every option of the table (pegr_train_options) under its
 * name, in the table's order, as the value pegr_train_config_set reads back to the same field: a
 * number (SIZE, U64, DOUBLE), true/false (FLAG), a name (METHOD, REPRESENTATION, CHOICE) or an array of
 * numbers (SIGMAS). It is what pegr_train_config_read reads; "data", "model" and "training" stay
 * beside it as the run's description (the resolved ||mu|| and SNR), for people and plots. A new
 * option in the table is written and read without code here; a new option *type* needs a case in
 * the switches below (-Wswitch names them). */

#define OPTION_TEXT_MAX PEGR_TRAIN_OPTION_TEXT_MAX

/* The option's value in c as pegr_train_config_set's text (pegr_train_config_get). */
static void option_text(const pegr_train_config *c, const pegr_train_option *o, char *buf,
                        size_t size)
{
    if (pegr_train_config_get(c, o->name, buf, size, NULL) != PEGR_OK) snprintf(buf, size, "?");
}

/* 1 when the option has the same value in a and b. */
static int option_equal(const pegr_train_config *a, const pegr_train_config *b,
                        const pegr_train_option *o)
{
    const void *x = (const char *)a + o->offset, *y = (const char *)b + o->offset;
    switch (o->type) {
    case PEGR_OPTION_SIZE: return *(const size_t *)x == *(const size_t *)y;
    case PEGR_OPTION_U64: return *(const uint64_t *)x == *(const uint64_t *)y;
    case PEGR_OPTION_DOUBLE: return *(const double *)x == *(const double *)y;
    case PEGR_OPTION_FLAG: return !*(const int *)x == !*(const int *)y;
    case PEGR_OPTION_CHOICE: return *(const int *)x == *(const int *)y;
    case PEGR_OPTION_METHOD: return *(const pegr_method *)x == *(const pegr_method *)y;
    case PEGR_OPTION_REPRESENTATION:
        return *(const pegr_representation *)x == *(const pegr_representation *)y;
    case PEGR_OPTION_SIGMAS:
        if (a->n_robust != b->n_robust || a->n_robust > PEGR_MAX_ROBUST) return 0;
        for (size_t k = 0; k < a->n_robust; k++)
            if (a->robust_sigmas[k] != b->robust_sigmas[k]) return 0;
        return 1;
    }
    return 0;
}

/* The first option (in the table's order) that differs between a and b, or NULL. */
static const pegr_train_option *first_difference(const pegr_train_config *a,
                                                 const pegr_train_config *b, size_t *how_many)
{
    const pegr_train_option *table = NULL, *first = NULL;
    size_t n = pegr_train_options(&table), count = 0;
    for (size_t k = 0; k < n; k++)
        if (!option_equal(a, b, &table[k])) {
            if (!first) first = &table[k];
            count++;
        }
    if (how_many) *how_many = count;
    return first;
}

int pegr_train_config_equal(const pegr_train_config *a, const pegr_train_config *b)
{
    return a && b && first_difference(a, b, NULL) == NULL;
}

/* One option's value into the "options" object. A value that pegr_train_config_set cannot give
 * and that is the default -- an SNR of 0, "not given: ||mu|| is --mu-norm" -- is written null,
 * which the reader takes as "the default". */
static void option_json(pegr_json *j, const pegr_train_config *c, const pegr_train_option *o)
{
    char text[OPTION_TEXT_MAX];
    option_text(c, o, text, sizeof text);
    pegr_train_config t = *c, def;
    pegr_train_config_default(&def);
    if (pegr_train_config_set(&t, o->name, text, NULL) != PEGR_OK && option_equal(c, &def, o)) {
        pegr_json_null(j);
        return;
    }
    const void *at = (const char *)c + o->offset;
    switch (o->type) {
    case PEGR_OPTION_SIZE: pegr_json_uint(j, *(const size_t *)at); return;
    case PEGR_OPTION_U64: pegr_json_uint(j, *(const uint64_t *)at); return;
    case PEGR_OPTION_DOUBLE: pegr_json_number(j, *(const double *)at); return;
    case PEGR_OPTION_FLAG: pegr_json_bool(j, *(const int *)at); return;
    case PEGR_OPTION_METHOD:
    case PEGR_OPTION_REPRESENTATION:
    case PEGR_OPTION_CHOICE: pegr_json_string(j, text); return;
    case PEGR_OPTION_SIGMAS:
        pegr_json_begin_array(j);
        for (size_t k = 0; k < c->n_robust && k < PEGR_MAX_ROBUST; k++)
            pegr_json_number(j, c->robust_sigmas[k]);
        pegr_json_end_array(j);
        return;
    }
    pegr_json_null(j);
}

static void options_json(pegr_json *j, const pegr_train_config *c)
{
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    pegr_json_begin_object(j);
    for (size_t k = 0; k < n; k++) {
        pegr_json_key(j, table[k].name);
        option_json(j, c, &table[k]);
    }
    pegr_json_end_object(j);
}

/* {"path": ..., "bytes": N, "hash": 32 hex digits} of one data file: its bytes read in chunks
 * (no size limit) through util/hash.h's 128-bit hash. */
static pegr_status data_file_json(pegr_json *j, const char *path, pegr_error *err)
{
    char hex[33];
    size_t bytes = 0;
    if (!pegr_hash_file(path, hex, &bytes))
        return pegr_error_set(err, PEGR_ERR_IO, "cannot read '%s' to hash it: %s", path,
                              strerror(errno));
    pegr_json_begin_object(j);
    pegr_json_kv_string(j, "path", path);
    pegr_json_kv_uint(j, "bytes", bytes);
    pegr_json_kv_string(j, "hash", hex);
    pegr_json_end_object(j);
    return PEGR_OK;
}

/* "data_files": each of the caller's data files, or null where not given. */
static pegr_status data_files_json(pegr_json *j, const char *const *paths, pegr_error *err)
{
    static const char *const names[] = PEGR_DATA_FILE_NAMES;
    pegr_json_key(j, "data_files");
    pegr_json_begin_object(j);
    pegr_status s = PEGR_OK;
    for (size_t k = 0; k < PEGR_DATA_FILE_COUNT && s == PEGR_OK; k++) {
        pegr_json_key(j, names[k]);
        if (paths[k]) s = data_file_json(j, paths[k], err);
        else pegr_json_null(j);
    }
    pegr_json_end_object(j);
    return s;
}

pegr_status pegr_train_write_config(const char *dir, const pegr_train_config *c,
                                    const pegr_run_info *info, pegr_error *err)
{
    return pegr_train_write_config_data(dir, c, info, NULL, err);
}

pegr_status pegr_train_write_config_data(const char *dir, const pegr_train_config *c,
                                         const pegr_run_info *info, const char *const *data_files,
                                         pegr_error *err)
{
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "pegr_version", pegr_version());
    pegr_json_kv_string(&j, "git_revision", pegr_git_revision());
    pegr_json_key(&j, "data");
    pegr_json_begin_object(&j);
    pegr_data_config_json(&j, &c->data);
    pegr_json_end_object(&j);
    pegr_json_key(&j, "model");
    pegr_json_begin_object(&j);
    pegr_json_kv_uint(&j, "m", c->m);
    pegr_json_kv_number(&j, "q", c->q);
    pegr_json_kv_number(&j, "sigma0", c->sigma0);
    pegr_json_end_object(&j);
    pegr_json_key(&j, "training");
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "method", pegr_method_name(c->method));
    pegr_json_kv_number(&j, "lam", c->lam);
    pegr_json_kv_number(&j, "lr", c->lr);
    pegr_json_kv_number(&j, "sam_rho", c->sam_rho);
    pegr_json_kv_uint(&j, "steps", c->steps);
    pegr_json_kv_uint(&j, "batch", c->batch);
    pegr_json_kv_uint(&j, "log_every", c->log_every);
    pegr_json_kv_string(&j, "representation", pegr_representation_name(c->representation));
    pegr_json_key(&j, "robust_sigmas");
    pegr_json_begin_array(&j);
    for (size_t k = 0; k < c->n_robust; k++) pegr_json_number(&j, c->robust_sigmas[k]);
    pegr_json_end_array(&j);
    pegr_json_end_object(&j);
    pegr_json_key(&j, "options");
    options_json(&j, c);
    pegr_json_key(&j, "device");
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "description", info->device);
    pegr_json_kv_string(&j, "precision", info->precision);
    if (info->gemm) pegr_json_kv_string(&j, "gemm", info->gemm);
    if (info->dev) {
        const pegr_device_info *d = info->dev;
        pegr_json_kv_string(&j, "name", d->name);
        pegr_json_kv_string(&j, "vendor", d->vendor);
        pegr_json_kv_string(&j, "type", pegr_device_type_name(d->type));
        pegr_json_kv_string(&j, "driver_version", d->driver_version);
        pegr_json_kv_string(&j, "opencl_c_version", d->opencl_c_version);
        pegr_json_kv_string(&j, "platform", d->platform_name);
        pegr_json_kv_string(&j, "platform_version", d->platform_version);
        pegr_json_kv_uint(&j, "compute_units", d->compute_units);
        pegr_json_kv_uint(&j, "global_mem_bytes", d->global_mem_size);
    }
    pegr_json_end_object(&j);
    pegr_status s = data_files ? data_files_json(&j, data_files, err) : PEGR_OK;
    pegr_json_end_object(&j);
    if (s == PEGR_OK) s = pegr_json_write_in(&j, dir, "config.json", err);
    pegr_json_free(&j);
    return s;
}

/* ---- reading a config back ---------------------------------------------------------------- */

/* The keys of a run's config.json (pegr_train_write_config); any other is refused. */
static const char *const CONFIG_KEYS[] = {"pegr_version", "git_revision", "data", "model",
                                          "training", "options", "device", "data_files"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* "MAJOR.MINOR.PATCH" -> MAJOR; 0 when the text does not start with digits and a '.'. */
static int major_of(const char *version, unsigned long *major)
{
    char *end = NULL;
    if (!version || *version < '0' || *version > '9') return 0;
    *major = strtoul(version, &end, 10);
    return *end == '.';
}

/* The JSON kind an option's value has in "options". */
static pegr_json_kind option_kind(pegr_option_type type)
{
    switch (type) {
    case PEGR_OPTION_SIZE:
    case PEGR_OPTION_U64:
    case PEGR_OPTION_DOUBLE: return PEGR_JSON_NUMBER;
    case PEGR_OPTION_FLAG: return PEGR_JSON_BOOL;
    case PEGR_OPTION_METHOD:
    case PEGR_OPTION_REPRESENTATION:
    case PEGR_OPTION_CHOICE: return PEGR_JSON_STRING;
    case PEGR_OPTION_SIGMAS: return PEGR_JSON_ARRAY;
    }
    return PEGR_JSON_NULL;
}

/* "PATH: line L, column C: WHAT" at a value; returns PEGR_ERR_FORMAT. */
static pegr_status config_error(pegr_error *err, const char *path, const pegr_json_value *at,
                                const char *what)
{
    return pegr_error_set(err, PEGR_ERR_FORMAT, "%s: line %zu, column %zu: %s", path, at->line,
                          at->column, what);
}

/* Append `piece` to buf (size bytes); 0 when it does not fit. */
static int append_text(char *buf, size_t size, const char *piece)
{
    size_t used = strlen(buf), n = strlen(piece);
    if (used + n + 1 > size) return 0;
    memcpy(buf + used, piece, n + 1);
    return 1;
}

/* One member of "options" into c through pegr_train_config_set, which reads the text the way
 * `pegr train --NAME TEXT` does: the JSON number's own token (no rounding on the way), a string
 * as it is, true/false as 1/0, an array as a comma list ([] is "none"). null keeps the default. */
static pegr_status read_option(const char *path, const char *name, const pegr_json_value *v,
                               pegr_train_config *c, pegr_error *err)
{
    char what[OPTION_TEXT_MAX];
    const pegr_train_option *o = pegr_train_option_find(name);
    if (!o) {
        snprintf(what, sizeof what, "\"%.64s\" is not an option of this pegr (`pegr train --help` "
                 "lists them)", name);
        return config_error(err, path, v, what);
    }
    if (v->kind == PEGR_JSON_NULL) return PEGR_OK;
    pegr_json_kind want = option_kind(o->type);
    if (v->kind != want) {
        snprintf(what, sizeof what, "option \"%s\" must be %s, not %s", name,
                 want == PEGR_JSON_ARRAY ? "an array of numbers" : pegr_json_kind_name(want),
                 pegr_json_kind_name(v->kind));
        return config_error(err, path, v, what);
    }
    char text[OPTION_TEXT_MAX] = "";
    int fits = 1;
    if (v->kind == PEGR_JSON_BOOL) fits = append_text(text, sizeof text, v->boolean ? "1" : "0");
    else if (v->kind != PEGR_JSON_ARRAY) fits = append_text(text, sizeof text, v->text);
    else if (v->count == 0) fits = append_text(text, sizeof text, "none");
    for (size_t k = 0; v->kind == PEGR_JSON_ARRAY && k < v->count && fits; k++) {
        if (v->items[k].kind != PEGR_JSON_NUMBER) {
            snprintf(what, sizeof what, "option \"%s\" must be an array of numbers, not one with "
                     "%s", name, pegr_json_kind_name(v->items[k].kind));
            return config_error(err, path, &v->items[k], what);
        }
        fits = (k == 0 || append_text(text, sizeof text, ",")) &&
               append_text(text, sizeof text, v->items[k].text);
    }
    if (!fits) {
        snprintf(what, sizeof what, "option \"%s\": a value longer than any it takes", name);
        return config_error(err, path, v, what);
    }
    pegr_error e = {0};
    if (pegr_train_config_set(c, name, text, &e) != PEGR_OK) {
        pegr_status s = config_error(err, path, v, pegr_error_message(&e));
        pegr_error_clear(&e);
        return s;
    }
    return PEGR_OK;
}

static pegr_status config_from_json(const char *path, const pegr_json_value *root,
                                    pegr_train_config *out, pegr_error *err)
{
    char what[OPTION_TEXT_MAX];
    if (root->kind != PEGR_JSON_OBJECT) {
        snprintf(what, sizeof what, "a run's config.json is an object, not %s",
                 pegr_json_kind_name(root->kind));
        return config_error(err, path, root, what);
    }
    for (size_t k = 0; k < root->count; k++) {
        size_t i = 0;
        while (i < COUNT(CONFIG_KEYS) && strcmp(CONFIG_KEYS[i], root->keys[k]) != 0) i++;
        if (i < COUNT(CONFIG_KEYS)) continue;
        snprintf(what, sizeof what, "unknown key \"%.64s\" (a run's config.json holds pegr_version, "
                 "git_revision, data, model, training, options and device; the options are in "
                 "\"options\")", root->keys[k]);
        return config_error(err, path, &root->items[k], what);
    }
    const pegr_json_value *version = pegr_json_member(root, "pegr_version");
    unsigned long theirs = 0, ours = 0;
    if (!version || version->kind != PEGR_JSON_STRING || !major_of(version->text, &theirs))
        return pegr_error_set(err, PEGR_ERR_FORMAT, "%s has no \"pegr_version\" string "
                              "(\"MAJOR.MINOR.PATCH\"): not a run's config.json", path);
    if (!major_of(pegr_version(), &ours) || theirs != ours)
        return pegr_error_set(err, PEGR_ERR_FORMAT, "%s was written by pegr %.32s, another major "
                              "version than this pegr %s: its options may mean other things, so "
                              "it is not read (give the options as flags)", path, version->text,
                              pegr_version());
    const pegr_json_value *options = pegr_json_member(root, "options");
    if (!options || options->kind != PEGR_JSON_OBJECT)
        return pegr_error_set(err, PEGR_ERR_FORMAT, "%s has no \"options\" object: written by an "
                              "older pegr, whose configs cannot be re-run (give the options as "
                              "flags), or not a run's config.json", path);
    pegr_train_config c;
    pegr_train_config_default(&c);
    for (size_t k = 0; k < options->count; k++) {
        pegr_status s = read_option(path, options->keys[k], &options->items[k], &c, err);
        if (s != PEGR_OK) return s;
    }
    /* Every option of the table must be there: a file without one was written by a pegr that did
     * not have it, and its default here need not be what that run used. */
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    char missing[OPTION_TEXT_MAX] = "";
    for (size_t k = 0; k < n; k++)
        if (!pegr_json_member(options, table[k].name) &&
            !(append_text(missing, sizeof missing, missing[0] ? ", " : "") &&
              append_text(missing, sizeof missing, table[k].name)))
            break; /* enough names for the message */
    if (missing[0])
        return pegr_error_set(err, PEGR_ERR_FORMAT, "%s: \"options\" lacks %s (written by another "
                              "version of pegr: every option of this one is needed)", path,
                              missing);
    *out = c;
    return PEGR_OK;
}

pegr_status pegr_train_config_read(const char *path, pegr_train_config *out, pegr_error *err)
{
    if (!path || !out)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_train_config_read: NULL argument");
    pegr_json_value root;
    pegr_status s = pegr_json_read_file(path, &root, err);
    if (s == PEGR_OK) s = config_from_json(path, &root, out, err);
    pegr_json_value_free(&root);
    return s;
}

void pegr_train_json_metrics(pegr_json *j, const pegr_metrics *m)
{
    pegr_json_kv_number(j, "train_loss", m->loss);
    pegr_json_kv_number(j, "objective", m->objective);
    pegr_json_kv_number(j, "train_error", m->train_error);
    pegr_json_kv_number(j, "test_error", m->test_error);
    pegr_json_key(j, "gamma_max");
    pegr_json_begin_array(j);
    pegr_json_number(j, m->gamma_max[0]);
    pegr_json_number(j, m->gamma_max[1]);
    pegr_json_end_array(j);
    pegr_json_kv_number(j, "gamma_mean", m->gamma_mean);
    pegr_json_kv_number(j, "rho_mean", m->rho_mean);
    pegr_json_kv_number(j, "norm2_mean", m->norm2_mean);
    pegr_json_kv_number(j, "norm2_var", m->norm2_var);
    pegr_json_kv_number(j, "grad_norm", m->grad_norm);
}

void pegr_csv_number(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.17g", v);
}

static pegr_status write_csv(const char *dir, const pegr_train_result *r, pegr_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    fprintf(f, "step,wall_seconds,train_loss,objective,train_error,test_error,gamma_max_pos,"
               "gamma_max_neg,gamma_mean,rho_mean,norm2_mean,norm2_var,grad_norm\n");
    for (size_t k = 0; k < r->n_records; k++) {
        const pegr_train_record *rec = &r->records[k];
        const pegr_metrics *m = &rec->metrics;
        fprintf(f, "%zu,", rec->step);
        double v[] = {rec->wall_seconds, m->loss,         m->objective,    m->train_error,
                      m->test_error,     m->gamma_max[0], m->gamma_max[1], m->gamma_mean,
                      m->rho_mean,       m->norm2_mean,   m->norm2_var,    m->grad_norm};
        size_t nv = sizeof v / sizeof v[0];
        for (size_t i = 0; i < nv; i++) {
            pegr_csv_number(f, v[i]);
            fputc(i + 1 == nv ? '\n' : ',', f);
        }
    }
    fclose(f);
    pegr_status s = pegr_file_write_in(dir, "metrics.csv", buf, len, err);
    free(buf);
    return s;
}

static pegr_status write_jsonl(const char *dir, const pegr_train_result *r, pegr_error *err)
{
    pegr_json all;
    pegr_json_init(&all, 0);
    for (size_t k = 0; k < r->n_records; k++) {
        pegr_json j;
        pegr_json_init(&j, 0);
        pegr_json_begin_object(&j);
        pegr_json_kv_uint(&j, "step", r->records[k].step);
        pegr_json_kv_number(&j, "wall_seconds", r->records[k].wall_seconds);
        pegr_train_json_metrics(&j, &r->records[k].metrics);
        pegr_json_end_object(&j);
        /* one object a line: splice the compact object into the file's text */
        if (j.buf) {
            pegr_json_raw(&all, j.buf);
            pegr_json_raw(&all, "\n");
        }
        pegr_json_free(&j);
    }
    pegr_status s = all.failed ? pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory")
                               : pegr_file_write_in(dir, "metrics.jsonl", all.buf ? all.buf : "",
                                                    all.len, err);
    pegr_json_free(&all);
    return s;
}

pegr_status pegr_train_write_metrics(const char *dir, const pegr_train_result *r, pegr_error *err)
{
    pegr_status s = write_jsonl(dir, r, err);
    if (s == PEGR_OK) s = write_csv(dir, r, err);
    return s;
}

static int all_finite(const double *v, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (!isfinite(v[k])) return 0;
    return 1;
}

pegr_status pegr_train_write_results(const char *dir, const pegr_train_config *c,
                                     const pegr_train_result *r, size_t d, pegr_error *err)
{
    const pegr_train_record *last = pegr_train_result_last(r);
    int w_finite = !r->diverged && r->W && all_finite(r->W, 2 * c->m * d);
    size_t wshape[3] = {2, c->m, d};
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "method", pegr_method_name(c->method));
    if (last) {
        /* A diverged run's final numbers were measured at non-finite weights: null, never the
         * plausible-looking values such weights give (loss ln 2, grad_norm 0, test error 1). */
        pegr_metrics m = last->metrics;
        if (r->diverged) pegr_metrics_unknown(&m);
        pegr_json_kv_uint(&j, "metrics_at_step", last->step);
        pegr_train_json_metrics(&j, &m);
    }
    pegr_json_key(&j, "robust_test_error");
    pegr_json_begin_array(&j);
    for (size_t k = 0; k < c->n_robust; k++) {
        pegr_json_begin_object(&j);
        pegr_json_kv_number(&j, "sigma", c->robust_sigmas[k]);
        pegr_json_kv_number(&j, "test_error", r->robust_error[k]);
        pegr_json_end_object(&j);
    }
    pegr_json_end_array(&j);
    pegr_json_kv_uint(&j, "steps_run", r->steps_run);
    pegr_json_kv_string(&j, "representation", r->span ? "span" : "primal");
    pegr_json_kv_bool(&j, "diverged", r->diverged);
    if (r->diverged) {
        pegr_json_kv_uint(&j, "diverged_step", (uint64_t)(r->diverged_step < 0 ? 0 : r->diverged_step));
        pegr_json_kv_string(&j, "advice", "NaN or Inf appeared: try a smaller --lr or --lam");
    }
    pegr_json_kv_bool(&j, "interrupted", r->interrupted);
    pegr_json_kv_bool(&j, "weights_written", w_finite);
    pegr_json_kv_number(&j, "wall_seconds", r->wall_seconds);
    /* trained in a batch of this many runs (wall_seconds is then the batch's) */
    pegr_json_kv_uint(&j, "batch_runs", r->batch_runs ? r->batch_runs : 1);
    pegr_json_end_object(&j);
    pegr_status s = pegr_train_write_metrics(dir, r, err);
    if (s == PEGR_OK) s = pegr_npy_write_in(dir, "W0.npy", r->W0, 3, wshape, 0, err);
    if (s == PEGR_OK && w_finite) s = pegr_npy_write_in(dir, "W.npy", r->W, 3, wshape, 0, err);
    /* a bias (--bias): b (2, m) beside W (2, m, d), never a (2, m, d + 1) to split */
    size_t bshape[2] = {2, c->m};
    if (s == PEGR_OK && r->b0) s = pegr_npy_write_in(dir, "b0.npy", r->b0, 2, bshape, 0, err);
    if (s == PEGR_OK && w_finite && r->b) /* a non-finite bias is divergence (train.c) */
        s = pegr_npy_write_in(dir, "b.npy", r->b, 2, bshape, 0, err);
    /* a learned second layer (--learn-readout): v (2, m) beside W (it starts at 1: no v0) */
    if (s == PEGR_OK && w_finite && r->v) s = pegr_npy_write_in(dir, "v.npy", r->v, 2, bshape, 0, err);
    /* summary.json last: its presence says the run's files are complete. */
    if (s == PEGR_OK) s = pegr_json_write_in(&j, dir, "summary.json", err);
    pegr_json_free(&j);
    return s;
}

/* ---- clearing a previous run -------------------------------------------------------------- */

/* Every file a run writes into its directory; pegr_file_write_in's temporaries are NAME.tmp.PID. */
static const char *const RUN_FILES[] = {"config.json", "metrics.jsonl", "metrics.csv",
                                        "summary.json", "W.npy",        "W0.npy",
                                        "b.npy",        "b0.npy",       "v.npy"};

static int is_run_file(const char *name)
{
    for (size_t k = 0; k < COUNT(RUN_FILES); k++) {
        size_t len = strlen(RUN_FILES[k]);
        if (strncmp(name, RUN_FILES[k], len) != 0) continue;
        if (name[len] == '\0') return 1;
        const char *pid = name + len + 5;
        if (strncmp(name + len, ".tmp.", 5) != 0 || *pid == '\0') continue;
        while (*pid >= '0' && *pid <= '9') pid++;
        if (*pid == '\0') return 1;
    }
    return 0;
}

/* Unlink the run files in the directory open as dfd (shown as `path` in messages). unlinkat
 * removes a symbolic link itself, never what it points to. */
static pegr_status clear_files_in(int dfd, const char *path, pegr_error *err)
{
    int scan = dup(dfd);
    DIR *dir = scan >= 0 ? fdopendir(scan) : NULL;
    if (!dir) {
        if (scan >= 0) close(scan);
        return pegr_error_set(err, PEGR_ERR_IO, "cannot list '%s' to remove a previous run's files: "
                              "%s", path, strerror(errno));
    }
    pegr_status s = PEGR_OK;
    for (struct dirent *ent; s == PEGR_OK && (ent = readdir(dir)) != NULL;)
        if (is_run_file(ent->d_name) && unlinkat(dfd, ent->d_name, 0) != 0 && errno != ENOENT)
            s = pegr_error_set(err, PEGR_ERR_IO, "cannot remove '%s/%s' of a previous run: %s", path,
                               ent->d_name, strerror(errno));
    closedir(dir);
    return s;
}

pegr_status pegr_train_clear_outputs(const char *dir, pegr_error *err)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        /* Nothing there yet (or not a directory: creating it reports that). */
        if (errno == ENOENT || errno == ENOTDIR) return PEGR_OK;
        return pegr_error_set(err, PEGR_ERR_IO, "cannot open '%s' to remove a previous run's "
                              "files: %s", dir, strerror(errno));
    }
    pegr_status s = clear_files_in(dfd, dir, err);
    /* The per-method directories of `pegr train --compare`: one per method's name. */
    for (int k = 0; k < PEGR_METHOD_COUNT && s == PEGR_OK; k++) {
        const char *method = pegr_method_name((pegr_method)k);
        /* O_NOFOLLOW: a symbolic link named like a method's directory is left alone. */
        int sub = openat(dfd, method, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue; /* none (or not a directory of ours) */
        char *path = pegr_path_join(dir, method);
        s = path ? clear_files_in(sub, path, err)
                 : pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
        close(sub);
        free(path);
        /* The directory goes too when that left it empty; a user's other files keep it. */
        if (s == PEGR_OK) (void)unlinkat(dfd, method, AT_REMOVEDIR);
    }
    close(dfd);
    return s;
}

/* ---- an earlier run in the output directory ------------------------------------------------ */

/* The run whose config.json is at dir[/sub]/config.json, if there is one, against `want`: the
 * config this command writes there (NULL: it writes none there, and clearing removes that run). */
static pegr_status check_run(const char *dir, const char *sub, const pegr_train_config *want,
                             int *runs, pegr_error *err)
{
    char *place = sub ? pegr_path_join(dir, sub) : strdup(dir);
    char *path = place ? pegr_path_join(place, "config.json") : NULL;
    struct stat st;
    pegr_status s = PEGR_OK;
    if (!path) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    else if (stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR)) {
        pegr_train_config there;
        pegr_error e = {0};
        size_t others = 0;
        const pegr_train_option *o = NULL;
        ++*runs;
        if (pegr_train_config_read(path, &there, &e) != PEGR_OK)
            s = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "'%s' holds a run whose config "
                               "cannot be read (%s)", dir, pegr_error_message(&e));
        else if (!want)
            s = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "'%s' holds another run (%s, which "
                               "this run would remove)", dir, path);
        else if ((o = first_difference(&there, want, &others)) != NULL) {
            char a[OPTION_TEXT_MAX], b[OPTION_TEXT_MAX];
            option_text(&there, o, a, sizeof a);
            option_text(want, o, b, sizeof b);
            s = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "'%s' holds another run: %s has "
                               "--%s %s where this run has --%s %s%s", dir, path, o->name, a,
                               o->name, b, others > 1 ? " (and other options differ)" : "");
        }
        pegr_error_clear(&e);
    }
    free(path);
    free(place);
    return s;
}

pegr_status pegr_train_check_outputs(const char *dir, const pegr_train_config *configs,
                                     size_t count, int per_method, pegr_error *err)
{
    if (!dir || (count && !configs) || (!per_method && count != 1))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "pegr_train_check_outputs: %s",
                              !per_method && count != 1 ? "a single run needs exactly one config"
                                                        : "NULL argument");
    DIR *d = opendir(dir);
    if (!d) {
        /* Nothing there yet (or not a directory: creating it reports that). */
        if (errno == ENOENT || errno == ENOTDIR) return PEGR_OK;
        return pegr_error_set(err, PEGR_ERR_IO, "cannot open '%s' to look for an earlier run: %s",
                              dir, strerror(errno));
    }
    int empty = 1;
    for (struct dirent *ent; empty && (ent = readdir(d)) != NULL;)
        empty = strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0;
    closedir(d);
    if (empty) return PEGR_OK;
    /* Every run found must be the one this command writes at its place; files beside runs (a
     * plot, notes) stay and are no reason to refuse. */
    int runs = 0;
    pegr_status s = check_run(dir, NULL, per_method ? NULL : configs, &runs, err);
    for (int k = 0; k < PEGR_METHOD_COUNT && s == PEGR_OK; k++) {
        const pegr_train_config *want = NULL;
        for (size_t i = 0; per_method && i < count; i++)
            if ((int)configs[i].method == k) want = &configs[i];
        s = check_run(dir, pegr_method_name((pegr_method)k), want, &runs, err);
    }
    if (s == PEGR_OK && !runs)
        s = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "'%s' is not empty and holds no pegr "
                           "run", dir);
    return s;
}

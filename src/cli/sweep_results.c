/* sweep_results.c: a sweep's files: each finished run's row.csv (its parameters and final
 * metrics), results.csv assembled from the rows in run order, sweep.json and sweep.args. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "json.h"
#include "sweep_cli.h"

static const char *const PARAM_COLUMNS =
    "n,n_test,d,patches,mu_norm,snr,sigma_p,noise,label_noise,m,q,sigma0,lam,lr,steps,batch";
static const char *const METRIC_COLUMNS =
    "train_loss,objective,train_error,test_error,gamma_max_pos,gamma_max_neg,gamma_mean,rho_mean,"
    "norm2_mean,norm2_var,grad_norm";

char *sweep_csv_header(const sweep_spec *spec)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return NULL;
    fprintf(f, "run_id,method,seed,%s,%s", PARAM_COLUMNS, METRIC_COLUMNS);
    for (size_t k = 0; k < spec->base.n_robust; k++)
        fprintf(f, ",robust_test_error_%g", spec->base.robust_sigmas[k]);
    fprintf(f, ",steps_run,diverged,representation,device,wall_seconds\n");
    fclose(f);
    return s;
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

pegr_status sweep_write_row(const char *run_dir, const char *id, const pegr_train_config *c,
                            const pegr_train_result *r, const pegr_run_info *info, pegr_error *err)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    const pegr_data_config *d = &c->data;
    double mu = pegr_data_config_mu_norm(d);
    fprintf(f, "%s,%s,%llu,%zu,%zu,%zu,%zu", id, c->method, (unsigned long long)d->seed, d->n,
            d->n_test, d->d, d->P);
    csv_num(f, mu);
    csv_num(f, mu / (d->sigma_p * sqrt((double)d->d)));
    csv_num(f, d->sigma_p);
    fprintf(f, ",%s", d->isotropic ? "isotropic" : "orthogonal");
    csv_num(f, d->label_flip);
    fprintf(f, ",%zu", c->m);
    csv_num(f, c->q);
    csv_num(f, c->sigma0);
    csv_num(f, c->lam);
    csv_num(f, c->lr);
    fprintf(f, ",%zu,%zu", c->steps, c->batch);
    const pegr_train_record *last = pegr_train_result_last(r);
    pegr_metrics m;
    if (last) m = last->metrics;
    else memset(&m, 0xff, sizeof m); /* all NaN */
    const double v[] = {m.loss,         m.objective,    m.train_error, m.test_error,
                        m.gamma_max[0], m.gamma_max[1], m.gamma_mean,  m.rho_mean,
                        m.norm2_mean,   m.norm2_var,    m.grad_norm};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) csv_num(f, v[k]);
    for (size_t k = 0; k < c->n_robust; k++) csv_num(f, r->robust_error[k]);
    fprintf(f, ",%zu,%d,%s", r->steps_run, r->diverged, r->span ? "span" : "primal");
    csv_str(f, info->device);
    csv_num(f, r->wall_seconds);
    fputc('\n', f);
    fclose(f);
    pegr_status st = pegr_file_write_in(run_dir, "row.csv", s, len, err);
    free(s);
    return st;
}

/* DIR/runs/ID/row.csv, or NULL. */
static char *read_row(const char *dir, const char *id)
{
    char rel[600];
    snprintf(rel, sizeof rel, "runs/%s/row.csv", id);
    char *path = pegr_path_join(dir, rel), *data = NULL;
    size_t len = 0;
    if (path && pegr_file_read_all(path, &data, &len, NULL) != PEGR_OK) data = NULL;
    free(path);
    return data;
}

pegr_status sweep_write_results(const sweep_spec *spec, const char *const *dirs, size_t ndirs,
                                const char *out_dir, size_t *found, size_t *missing,
                                size_t *duplicated, pegr_error *err)
{
    *found = *missing = *duplicated = 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    char *header = sweep_csv_header(spec);
    if (!f || !header) {
        if (f) fclose(f);
        free(text);
        free(header);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    }
    fputs(header, f);
    free(header);
    size_t total = sweep_run_count(spec);
    for (size_t k = 0; k < total; k++) {
        char id[512];
        sweep_run_id(spec, k, id, sizeof id);
        char *row = NULL;
        size_t copies = 0;
        for (size_t d = 0; d < ndirs; d++) {
            char *r = read_row(dirs[d], id);
            if (!r) continue;
            copies++;
            if (!row) row = r;
            else free(r);
        }
        if (copies > 1) {
            (*duplicated)++;
            fprintf(stderr, "pegr: run %s was found in %zu directories (one row kept)\n", id, copies);
        }
        if (row) {
            fputs(row, f);
            (*found)++;
            free(row);
        } else {
            (*missing)++;
        }
    }
    fclose(f);
    pegr_status s = pegr_file_write_in(out_dir, "results.csv", text, len, err);
    free(text);
    return s;
}

pegr_status sweep_write_description(const sweep_cli *cli, const char *dir, pegr_error *err)
{
    const sweep_spec *spec = &cli->spec;
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "pegr_version", pegr_version());
    pegr_json_key(&j, "axes");
    pegr_json_begin_array(&j);
    for (size_t a = 0; a < spec->naxes; a++) {
        char col[40];
        sweep_axis_column(spec->axes[a].name, col, sizeof col);
        pegr_json_string(&j, col);
    }
    pegr_json_end_array(&j);
    pegr_json_key(&j, "methods");
    pegr_json_begin_array(&j);
    for (size_t m = 0; m < spec->nmethods; m++) pegr_json_string(&j, spec->methods[m]);
    pegr_json_end_array(&j);
    pegr_json_key(&j, "seeds");
    pegr_json_begin_array(&j);
    for (size_t k = 0; k < spec->nseeds; k++) pegr_json_uint(&j, spec->seeds[k]);
    pegr_json_end_array(&j);
    pegr_json_kv_uint(&j, "runs", sweep_run_count(spec));
    pegr_json_end_object(&j);
    pegr_status s = pegr_json_write_in(&j, dir, "sweep.json", err);
    pegr_json_free(&j);
    /* sweep.canonical: what a restart compares against */
    char *canon = sweep_canonical(spec);
    if (s == PEGR_OK && !canon) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    if (s == PEGR_OK) s = pegr_file_write_in(dir, "sweep.canonical", canon, strlen(canon), err);
    free(canon);
    /* sweep.args: the defining arguments, one a line, for `pegr collect` and emitted scripts */
    char *args = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&args, &len);
    if (s == PEGR_OK && !f) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    if (s == PEGR_OK) {
        for (int i = 0; i < cli->spec_argc; i++) fprintf(f, "%s\n", cli->spec_argv[i]);
        fclose(f);
        s = pegr_file_write_in(dir, "sweep.args", args, len, err);
    }
    free(args);
    return s;
}

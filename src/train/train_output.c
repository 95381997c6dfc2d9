/* train_output.c: see train_output.h. */
#include "train/train_output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pegr/pegr.h"
#include "util/fsutil.h"
#include "util/json.h"
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
}

pegr_status pegr_train_write_config(const char *dir, const pegr_train_config *c,
                                    const pegr_run_info *info, pegr_error *err)
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
    pegr_json_kv_uint(&j, "steps", c->steps);
    pegr_json_kv_uint(&j, "batch", c->batch);
    pegr_json_kv_uint(&j, "log_every", c->log_every);
    pegr_json_kv_string(&j, "representation", pegr_representation_name(c->representation));
    pegr_json_key(&j, "robust_sigmas");
    pegr_json_begin_array(&j);
    for (size_t k = 0; k < c->n_robust; k++) pegr_json_number(&j, c->robust_sigmas[k]);
    pegr_json_end_array(&j);
    pegr_json_end_object(&j);
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
    pegr_json_end_object(&j);
    pegr_status s = pegr_json_write_in(&j, dir, "config.json", err);
    pegr_json_free(&j);
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
    /* summary.json last: its presence says the run's files are complete. */
    if (s == PEGR_OK) s = pegr_json_write_in(&j, dir, "summary.json", err);
    pegr_json_free(&j);
    return s;
}

/* ---- clearing a previous run -------------------------------------------------------------- */

/* Every file a run writes into its directory; pegr_file_write_in's temporaries are NAME.tmp.PID. */
static const char *const RUN_FILES[] = {"config.json", "metrics.jsonl", "metrics.csv",
                                        "summary.json", "W.npy",        "W0.npy"};
/* The per-method directories of `pegr train --compare`. */
static const char *const METHOD_DIRS[] = {"gd", "sgd", "gr", "pegr"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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
    for (size_t k = 0; k < COUNT(METHOD_DIRS) && s == PEGR_OK; k++) {
        /* O_NOFOLLOW: a symbolic link named like a method's directory is left alone. */
        int sub = openat(dfd, METHOD_DIRS[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) continue; /* none (or not a directory of ours) */
        char *path = pegr_path_join(dir, METHOD_DIRS[k]);
        s = path ? clear_files_in(sub, path, err)
                 : pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
        close(sub);
        free(path);
        /* The directory goes too when that left it empty; a user's other files keep it. */
        if (s == PEGR_OK) (void)unlinkat(dfd, METHOD_DIRS[k], AT_REMOVEDIR);
    }
    close(dfd);
    return s;
}

/* cmd_bench.c: `pegr bench` -- per-step time of gd, pegr, gr, sgd and per-example gradients over a
 * grid of sizes on one device: wall time (median of repeats after a warm-up) and device time from
 * OpenCL profiling events, the GEMM operation count and GFLOP/s, peak device memory, and the time
 * to the first step with a cold and a warm kernel cache. A table, and JSON with --json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "pegr/numparse.h"
#include "pegr/backend.h"
#include "pegr/data.h"
#include "pegr/io.h"

static const pegr_command_spec SPEC = {
    "bench", "time training steps on a device over a grid of sizes (wall and profiled device time)",
    "pegr bench [--grid full|quick|N:D:M,...] [--methods gd,pegr,gr,sgd,per_example]\n"
    "                  [--representation primal|span|both] [--json FILE] [--device SPEC]"};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_size {
    size_t n, d, m;
} bench_size;

typedef struct bench_record {
    const char *method, *representation;
    bench_size size;
    double wall_step, device_step, gflop, mib_peak;
    double launches; /* kernel launches and CLBlast calls per step (profiled enqueues) */
    const char *skipped; /* why, or NULL */
} bench_record;

/* Multiply-adds x 2 of the GEMMs of one step (the elementwise work is O(n m P^2)). */
static double step_flops(const char *method, int span, size_t n, size_t P, size_t d, size_t m)
{
    double rows = (double)(n * P), cols = 2.0 * (double)m;
    double gemm_primal = 2.0 * rows * cols * (double)d, gemm_span = 2.0 * rows * rows * cols;
    if (!strcmp(method, "per_example")) return 2.0 * gemm_primal; /* forward + n x 2m x d out */
    double one = span ? gemm_span : 2.0 * gemm_primal;
    return !strcmp(method, "gr") ? 2.0 * one : one;
}

typedef struct bench_opts {
    const char *device;
    pegr_backend_options backend; /* --precision, --verbose's log, and profiling on */
    size_t repeats, steps, warmup;
    int profile; /* print the per-kernel breakdown */
} bench_opts;

/* The OpenCL engine on the device the flags select (pegr_backend_open, the one way a device is
 * opened), with profiling. The host reference has no kernels to time: refused, as a spec that
 * names no device is. */
static pegr_status open_engine(const bench_opts *o, pegr_backend **b, pegr_error *err)
{
    const char *spec = pegr_device_spec_effective(o->device);
    *b = NULL;
    if (spec && strcmp(spec, "host") == 0)
        return pegr_error_set(err, PEGR_ERR_NO_DEVICE, "pegr bench times an OpenCL device's "
                              "kernels; 'host' is the host reference, which has none: name a "
                              "device (pegr devices)");
    return pegr_backend_open(o->device, &o->backend, b, err);
}

/* Set up data and weights of one size on the engine; *generated (when not NULL) gets the
 * clock when the host's data and weights are made, before anything goes to the device. */
static pegr_status load(pegr_backend *b, bench_size z, int span, pegr_dataset *ds, double *generated,
                        pegr_error *err)
{
    pegr_data_config dc;
    pegr_data_config_default(&dc);
    dc.n = z.n;
    dc.d = z.d;
    dc.n_test = 0;
    pegr_status s = pegr_data_generate(&dc, ds, err);
    double *W = s == PEGR_OK ? malloc(2 * z.m * z.d * sizeof(double)) : NULL;
    if (s == PEGR_OK && !W) s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    if (s == PEGR_OK) s = pegr_init_weights(0, z.m, z.d, 0.01, W, err);
    if (generated) *generated = pegr_now_seconds();
    if (s == PEGR_OK) s = pegr_backend_set_data(b, ds->train.X, ds->train.y, z.n, ds->P, z.d, err);
    if (s == PEGR_OK)
        s = pegr_backend_set_representation(b, span ? PEGR_REPRESENTATION_SPAN
                                                    : PEGR_REPRESENTATION_PRIMAL, err);
    if (s == PEGR_OK) s = pegr_backend_set_weights(b, W, z.m, err);
    free(W);
    return s;
}

/* One timed unit of work for the method: a step (gd, pegr, gr, sgd) or materializing every
 * per-example gradient. */
static pegr_status work(pegr_backend *b, const char *method, const double *batch, double *pe,
                        pegr_error *err)
{
    if (!strcmp(method, "per_example")) {
        pegr_eval_request r = {.method = PEGR_METHOD_GD, .q = 3.0, .per_example_grad = pe};
        return pegr_backend_evaluate(b, &r, err);
    }
    pegr_method m = !strcmp(method, "pegr") ? PEGR_METHOD_PEGR
                    : !strcmp(method, "gr") ? PEGR_METHOD_GR
                                            : PEGR_METHOD_GD;
    pegr_eval_request r = {.method = m, .q = 3.0, .lam = 0.01,
                           .weights = !strcmp(method, "sgd") ? batch : NULL};
    return pegr_backend_step(b, &r, 1e-6, err); /* a tiny lr: many steps stay finite */
}

static pegr_status sync(pegr_backend *b, pegr_error *err)
{
    long bad;
    return pegr_backend_first_nonfinite_step(b, &bad, err); /* a blocking read: the queue is done */
}

static pegr_status measure(pegr_backend *b, const bench_opts *o, const char *method, bench_size z,
                           bench_record *rec, pegr_error *err)
{
    double *batch = calloc(z.n, sizeof(double));
    double *pe = NULL;
    if (!strcmp(method, "per_example")) {
        double bytes = (double)z.n * 2.0 * (double)z.m * (double)z.d * sizeof(double);
        if (bytes > 2e9) {
            rec->skipped = "per-example gradients over 2 GB on the host";
            free(batch);
            return PEGR_OK;
        }
        pe = malloc((size_t)bytes);
    }
    if (!batch || (!strcmp(method, "per_example") && !pe)) {
        free(batch);
        free(pe);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < z.n && i < 10; i++) batch[i] = 1.0 / (double)(z.n < 10 ? z.n : 10);
    pegr_status s = PEGR_OK;
    for (size_t k = 0; k < o->warmup && s == PEGR_OK; k++) s = work(b, method, batch, pe, err);
    if (s == PEGR_OK) s = sync(b, err);
    pegr_backend_profile_reset(b);
    double times[64];
    size_t reps = o->repeats < 64 ? o->repeats : 64;
    for (size_t r = 0; r < reps && s == PEGR_OK; r++) {
        double t0 = pegr_now_seconds();
        for (size_t k = 0; k < o->steps && s == PEGR_OK; k++) s = work(b, method, batch, pe, err);
        if (s == PEGR_OK) s = sync(b, err);
        times[r] = (pegr_now_seconds() - t0) / (double)o->steps;
    }
    if (s == PEGR_OK) {
        qsort(times, reps, sizeof times[0], cmp_double);
        rec->wall_step = times[reps / 2];
        const pegr_kernel_time *kt = NULL;
        size_t nk = pegr_backend_profile(b, &kt);
        double dev = 0, per = 1.0 / (double)(reps * o->steps), launches = 0;
        for (size_t k = 0; k < nk; k++) {
            dev += kt[k].seconds;
            launches += (double)kt[k].launches;
        }
        rec->device_step = dev * per;
        rec->launches = launches * per;
        for (size_t k = 0; o->profile && k < nk; k++)
            printf("    %-24s %9.3f ms/step %5.1f%%  (%zu launches/step)\n", kt[k].name,
                   1e3 * kt[k].seconds * per, 100.0 * kt[k].seconds / dev,
                   (size_t)((double)kt[k].launches * per + 0.5));
        rec->gflop = step_flops(method, !strcmp(rec->representation, "span"), z.n, 2, z.d, z.m) / 1e9;
        rec->mib_peak = (double)pegr_backend_bytes_peak(b) / 1048576.0;
    }
    free(batch);
    free(pe);
    return s;
}

/* Where the time to the first step goes: the engine (context, program, kernels), the host's
 * data, setting it up on the device (uploads, K, the span state), the first step. */
typedef struct first_step_parts {
    double total, engine, data, setup, step;
} first_step_parts;

/* Time from nothing to one finished step: context, program (binary cache off or on), data, step
 * (in this process: the OpenCL platform is initialized already; a fresh process adds that). */
static pegr_status first_step_seconds(const bench_opts *o, int cache, first_step_parts *t,
                                      pegr_error *err)
{
    if (!cache) setenv("PEGR_NO_CACHE", "1", 1);
    double t0 = pegr_now_seconds(), opened = t0, generated = t0, loaded = t0;
    pegr_backend *b = NULL;
    pegr_dataset ds = {0};
    bench_size z = {200, 2000, 20};
    pegr_status s = open_engine(o, &b, err);
    if (s == PEGR_OK) {
        opened = pegr_now_seconds();
        s = load(b, z, 0, &ds, &generated, err);
    }
    if (s == PEGR_OK) s = sync(b, err); /* the setup done before the step's clock starts */
    loaded = pegr_now_seconds();
    if (s == PEGR_OK) s = work(b, "pegr", NULL, NULL, err);
    if (s == PEGR_OK) s = sync(b, err);
    double end = pegr_now_seconds();
    *t = (first_step_parts){end - t0, opened - t0, generated - opened, loaded - generated, end - loaded};
    pegr_backend_close(b);
    pegr_dataset_free(&ds);
    if (!cache) unsetenv("PEGR_NO_CACHE");
    return s;
}

/* One N:D:M of --grid (text, len bytes): three integers >= 1 through the strict parser (sscanf's
 * %zu skipped spaces and took -1 as 2^64-1). 1 when good. */
static int parse_size(const char *text, size_t len, bench_size *z)
{
    char item[72]; /* three 20-digit integers and two colons fit: a longer item is no size */
    if (len >= sizeof item) return 0;
    memcpy(item, text, len);
    item[len] = '\0';
    char *c1 = strchr(item, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || strchr(c2 + 1, ':')) return 0;
    *c1 = *c2 = '\0';
    return pegr_parse_size(item, 1, SIZE_MAX, &z->n) == PEGR_NUM_OK &&
           pegr_parse_size(c1 + 1, 1, SIZE_MAX, &z->d) == PEGR_NUM_OK &&
           pegr_parse_size(c2 + 1, 1, SIZE_MAX, &z->m) == PEGR_NUM_OK;
}

/* --grid: full, quick, or a comma list of N:D:M (each an integer >= 1), at most `max` of them.
 * -1 and the sizes in out[0..*count), else the exit code of a usage error (printed) naming the
 * option: checked before any device is opened. */
static int parse_grid(const char *grid, bench_size *out, size_t max, size_t *count)
{
    static const size_t ns[] = {50, 200, 1000}, ds[] = {1000, 2000, 10000}, ms[] = {10, 20, 64};
    *count = 0;
    if (!strcmp(grid, "full") || !strcmp(grid, "quick")) {
        int quick = !strcmp(grid, "quick");
        for (size_t a = 0; a < 3; a++)
            for (size_t b = 0; b < 3; b++)
                for (size_t c = 0; c < 3; c++) {
                    if (quick && !(b == 1 && c == 1)) continue; /* d 2000, m 20, every n */
                    if (*count < max) out[(*count)++] = (bench_size){ns[a], ds[b], ms[c]};
                }
        return -1;
    }
    /* by hand rather than strtok: an empty item ("1:2:3,,4:5:6") is a mistake, not skipped */
    for (const char *p = grid;;) {
        size_t len = strcspn(p, ",");
        if (*count == max)
            return pegr_args_usage_error(&SPEC, "--grid lists more than %zu sizes", max);
        if (!parse_size(p, len, &out[*count]))
            return pegr_args_usage_error(&SPEC, "--grid takes full, quick or N:D:M,... with N, D "
                                         "and M integers >= 1 (e.g. 200:2000:20), not '%.*s' in "
                                         "'%s'", (int)len, p, grid);
        (*count)++;
        if (p[len] == '\0') return -1;
        p += len + 1;
    }
}

static void json_record(pegr_json *j, const bench_record *r)
{
    pegr_json_begin_object(j);
    pegr_json_kv_string(j, "method", r->method);
    pegr_json_kv_string(j, "representation", r->representation);
    pegr_json_kv_uint(j, "n", r->size.n);
    pegr_json_kv_uint(j, "d", r->size.d);
    pegr_json_kv_uint(j, "m", r->size.m);
    pegr_json_kv_uint(j, "P", 2);
    if (r->skipped) {
        pegr_json_kv_string(j, "skipped", r->skipped);
    } else {
        pegr_json_kv_number(j, "wall_seconds_per_step", r->wall_step);
        pegr_json_kv_number(j, "device_seconds_per_step", r->device_step);
        pegr_json_kv_number(j, "gflop_per_step", r->gflop);
        pegr_json_kv_number(j, "gflops", r->gflop / r->wall_step);
        pegr_json_kv_number(j, "peak_device_mib", r->mib_peak);
        pegr_json_kv_number(j, "launches_per_step", r->launches);
    }
    pegr_json_end_object(j);
}

int pegr_cmd_bench(int argc, char **argv)
{
    pegr_global_opts g = {0};
    const char *grid = "quick", *methods = "gd,pegr,gr,sgd,per_example", *json_path = NULL;
    const char *rep = "both", *precision = "fp32";
    bench_opts o = {0};
    o.repeats = 7;
    o.steps = 5;
    o.warmup = 3;
    int no_first = 0;
    pegr_arg args[] = {
        {"grid", PEGR_ARG_STRING, &grid, "GRID",
         "full (n 50,200,1000 x d 1000,2000,10000 x m 10,20,64), quick (d 2000, m 20), or N:D:M,...",
         NULL, 0},
        {"methods", PEGR_ARG_STRING, &methods, "LIST", "what to time", NULL, 0},
        {"representation", PEGR_ARG_CHOICE, &rep, NULL, "the step's form", "primal|span|both", 0},
        {"repeats", PEGR_ARG_SIZE, &o.repeats, "R", "timed repeats (the median is reported)", "1..", 0},
        {"steps", PEGR_ARG_SIZE, &o.steps, "K", "steps per repeat", "1..", 0},
        {"warmup", PEGR_ARG_SIZE, &o.warmup, "W", "untimed steps first", NULL, 0},
        {"precision", PEGR_ARG_CHOICE, &precision, NULL, "arithmetic", "fp32|fp64", 0},
        {"json", PEGR_ARG_STRING, &json_path, "FILE", "also write the records as JSON", NULL, 0},
        {"no-first-step", PEGR_ARG_FLAG, &no_first, NULL, "skip the time-to-first-step runs", NULL, 0},
        {"profile", PEGR_ARG_FLAG, &o.profile, NULL, "print each kernel's share of the device time",
         NULL, 0},
        PEGR_GLOBAL_ARGS(&g),
    };
    int rc = pegr_args_parse(&SPEC, args, sizeof args / sizeof args[0], argc, argv);
    if (rc >= 0) return rc;
    bench_size sizes[32];
    size_t nsizes = 0;
    rc = parse_grid(grid, sizes, sizeof sizes / sizeof sizes[0], &nsizes);
    if (rc >= 0) return rc;
    char mbuf[128];
    const char *mlist[8];
    size_t nm = 0;
    /* a longer list was cut short, and methods past the 8th dropped, without a word */
    if (strlen(methods) >= sizeof mbuf)
        return pegr_args_usage_error(&SPEC, "--methods is longer than %zu characters", sizeof mbuf - 1);
    snprintf(mbuf, sizeof mbuf, "%s", methods);
    for (char *t = strtok(mbuf, ","); t; t = strtok(NULL, ",")) {
        if (strcmp(t, "gd") && strcmp(t, "pegr") && strcmp(t, "gr") && strcmp(t, "sgd") &&
            strcmp(t, "per_example"))
            return pegr_args_usage_error(&SPEC, "--methods takes gd, pegr, gr, sgd, per_example, not '%s'", t);
        if (nm == sizeof mlist / sizeof mlist[0])
            return pegr_args_usage_error(&SPEC, "--methods lists more than %zu methods",
                                         sizeof mlist / sizeof mlist[0]);
        mlist[nm++] = t;
    }
    o.device = g.device;
    pegr_cli_backend_options(&g, precision, &o.backend);
    o.backend.profiling = 1;
    const char *reps[2] = {"primal", "span"};
    size_t rep_first = !strcmp(rep, "span"), rep_last = !strcmp(rep, "primal") ? 0 : 1;

    pegr_error err = {0};
    pegr_backend *b = NULL;
    if (open_engine(&o, &b, &err) != PEGR_OK) {
        pegr_cli_error(SPEC.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    const pegr_device_info *dev = pegr_backend_device(b);
    char device_name[2 * PEGR_INFO_STR + 8];
    snprintf(device_name, sizeof device_name, "%s (%s)", dev->name, dev->platform_name);
    const char *gemm_name = pegr_backend_gemm_name(b);
    printf("pegr bench on %s (%s), %s, GEMM %s; median of %zu repeats of %zu steps\n", dev->name,
           dev->platform_name, precision, gemm_name, o.repeats, o.steps);
    printf("%-11s %-6s %5s %6s %4s %10s %10s %9s %8s %9s %13s\n", "method", "form", "n", "d", "m",
           "wall ms", "device ms", "GFLOP", "GFLOP/s", "peak MiB", "launches/step");
    bench_record recs[32 * 8 * 2];
    size_t nrec = 0;
    pegr_status s = PEGR_OK;
    for (size_t zi = 0; zi < nsizes && s == PEGR_OK; zi++)
        for (size_t ri = rep_first; ri <= rep_last && s == PEGR_OK; ri++) {
            pegr_dataset ds = {0};
            s = load(b, sizes[zi], (int)ri, &ds, NULL, &err); /* frees the previous size's buffers */
            pegr_backend_reset_peak(b); /* the peak of this size: its buffers plus transients */
            for (size_t mi = 0; mi < nm && s == PEGR_OK; mi++) {
                if (ri == 1 && !strcmp(mlist[mi], "per_example")) continue; /* the same in both forms */
                bench_record *r = &recs[nrec++];
                memset(r, 0, sizeof *r);
                r->method = mlist[mi];
                r->representation = reps[ri];
                r->size = sizes[zi];
                s = measure(b, &o, mlist[mi], sizes[zi], r, &err);
                if (s != PEGR_OK) break;
                if (r->skipped)
                    printf("%-11s %-6s %5zu %6zu %4zu  skipped: %s\n", r->method, r->representation,
                           r->size.n, r->size.d, r->size.m, r->skipped);
                else
                    printf("%-11s %-6s %5zu %6zu %4zu %10.3f %10.3f %9.4f %8.1f %9.1f %13.1f\n",
                           r->method, r->representation, r->size.n, r->size.d, r->size.m,
                           1e3 * r->wall_step, 1e3 * r->device_step, r->gflop,
                           r->gflop / r->wall_step, r->mib_peak, r->launches);
                fflush(stdout);
            }
            pegr_dataset_free(&ds);
        }
    pegr_backend_close(b);
    first_step_parts cold = {NAN, NAN, NAN, NAN, NAN}, warm = cold;
    if (s == PEGR_OK && !no_first) {
        s = first_step_seconds(&o, 0, &cold, &err);
        if (s == PEGR_OK) s = first_step_seconds(&o, 1, &warm, &err);
        if (s == PEGR_OK) s = first_step_seconds(&o, 1, &warm, &err); /* the cache now holds it */
        if (s == PEGR_OK)
            printf("time to the first pegr step (n 200, d 2000, m 20): %.3f s with pegr's binary "
                   "cache off, %.3f s with it warm (engine %.3f, data %.3f, setup %.3f, step %.3f)\n",
                   cold.total, warm.total, warm.engine, warm.data, warm.setup, warm.step);
    }
    if (s == PEGR_OK && json_path) {
        pegr_json j;
        pegr_json_init(&j, 1);
        pegr_json_begin_object(&j);
        pegr_json_kv_string(&j, "device", device_name);
        pegr_json_kv_string(&j, "gemm", gemm_name);
        pegr_json_kv_string(&j, "precision", precision);
        pegr_json_kv_number(&j, "first_step_seconds_cache_off", cold.total);
        pegr_json_kv_number(&j, "first_step_seconds_cache_warm", warm.total);
        pegr_json_kv_number(&j, "first_step_warm_engine_seconds", warm.engine);
        pegr_json_kv_number(&j, "first_step_warm_data_seconds", warm.data);
        pegr_json_kv_number(&j, "first_step_warm_setup_seconds", warm.setup);
        pegr_json_kv_number(&j, "first_step_warm_step_seconds", warm.step);
        pegr_json_key(&j, "records");
        pegr_json_begin_array(&j);
        for (size_t k = 0; k < nrec; k++) json_record(&j, &recs[k]);
        pegr_json_end_array(&j);
        pegr_json_end_object(&j);
        s = pegr_json_write_file(&j, json_path, &err);
        pegr_json_free(&j);
    }
    if (s != PEGR_OK) pegr_cli_error(SPEC.name, &err);
    pegr_error_clear(&err);
    return s == PEGR_OK ? PEGR_EXIT_OK : PEGR_EXIT_FAILURE;
}

/* check.c: `pegr check`'s conformance battery on one device (see check.h): each check builds what
 * it compares (engines, the host reference, products), keeps the worst error and where it was,
 * and ends in one record. Shapes are small on purpose: the battery must finish in seconds on a
 * CPU driver and in minutes on a simulator (Oclgrind), yet hit the edges -- n = P = d = m = 1,
 * sizes that no work-group or tile size divides, and one shape over a 64-wide GEMM tile. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check/check.h"
#include "util/clock.h"
#include "device/context_impl.h"
#include "pegr/data.h"
#include "engine/engine.h"
#include "engine/engine_internal.h" /* the fused path's switches: the battery runs each kernel path */
#include "util/fsutil.h"
#include "device/gemm_tuning.h"
#include "util/hash.h"
#include "host/host_ref.h"
#include "device/program_cache.h"
#include "util/rng.h"
#include "util/safe_open.h"

/* ---- comparisons ----------------------------------------------------------------------------- */

double pegr_tol_rate(pegr_precision precision, size_t n_examples)
{
    if (precision == PEGR_FP64) return 1e-12;
    return 1.0 / (double)(n_examples ? n_examples : 1) + 1e-6;
}

/* *worst = max(*worst, v), NaN sticking once it is there; 1 when v became the worst. */
static int worse(double *worst, double v)
{
    if (isnan(*worst)) return 0;
    if (v <= *worst) return 0;
    *worst = v; /* also NaN */
    return 1;
}

double pegr_check_rel_err(const double *a, const double *b, size_t count)
{
    double scale = 1e-300, worst = 0;
    for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < count; i++) worse(&worst, fabs(a[i] - b[i]) / scale);
    return worst;
}

static const char *const METRIC_NAMES[PEGR_CHECK_NMETRICS] = {
    "loss", "objective", "train_error", "test_error", "gamma_max+", "gamma_max-",
    "gamma_mean", "rho_mean", "norm2_mean", "norm2_var", "grad_norm"};

double pegr_check_metric(const pegr_metrics *m, int k)
{
    const double v[PEGR_CHECK_NMETRICS] = {m->loss,         m->objective,    m->train_error,
                                           m->test_error,   m->gamma_max[0], m->gamma_max[1],
                                           m->gamma_mean,   m->rho_mean,     m->norm2_mean,
                                           m->norm2_var,    m->grad_norm};
    return k >= 0 && k < PEGR_CHECK_NMETRICS ? v[k] : NAN;
}

int pegr_check_metric_is_rate(int k) { return k == 2 || k == 3; }

const char *pegr_check_metric_name(int k)
{
    return k >= 0 && k < PEGR_CHECK_NMETRICS ? METRIC_NAMES[k] : "?";
}

int pegr_check_records_error(const pegr_train_result *a, const pegr_train_result *b, double *scaled,
                             double *rate, char *where, size_t where_size)
{
    *scaled = *rate = 0;
    if (where && where_size) where[0] = '\0';
    if (a->n_records != b->n_records || a->steps_run != b->steps_run ||
        a->diverged != b->diverged || a->diverged_step != b->diverged_step)
        return 0;
    for (size_t k = 0; k < a->n_records; k++)
        if (a->records[k].step != b->records[k].step) return 0;
    for (int i = 0; i < PEGR_CHECK_NMETRICS; i++) {
        int is_rate = pegr_check_metric_is_rate(i);
        double scale = 1e-300;
        for (size_t k = 0; k < a->n_records; k++) {
            double x = pegr_check_metric(&a->records[k].metrics, i);
            double y = pegr_check_metric(&b->records[k].metrics, i);
            if (!isnan(x)) scale = fmax(scale, fabs(x));
            if (!isnan(y)) scale = fmax(scale, fabs(y));
        }
        for (size_t k = 0; k < a->n_records; k++) {
            double x = pegr_check_metric(&a->records[k].metrics, i);
            double y = pegr_check_metric(&b->records[k].metrics, i);
            if (isnan(x) && isnan(y)) continue;
            double e = is_rate ? fabs(x - y) : fabs(x - y) / scale;
            if (worse(is_rate ? rate : scaled, e) && !is_rate && where && where_size)
                snprintf(where, where_size, "%s at step %zu", METRIC_NAMES[i], a->records[k].step);
        }
    }
    return 1;
}

const char *pegr_check_status_name(pegr_check_status status)
{
    return status == PEGR_CHECK_PASS ? "pass" : status == PEGR_CHECK_FAIL ? "FAIL" : "skipped";
}

/* ---- the battery's state and records ---------------------------------------------------------- */

typedef struct check_run {
    const pegr_device_info *dev;
    const pegr_check_options *opt;
    pegr_check_summary *sum;
    pegr_precision prec;
    const char *fault;  /* the test hook's check name, or NULL */
    int fault_applied;  /* in the current record */
    int measured;       /* the current record has an error value */
    int failed_msg;     /* the current record failed with a message (fail) */
    int skipped;
    double t0;
    pegr_check_record rec;
} check_run;

struct check_def;
typedef void (*check_fn)(check_run *cr, const struct check_def *def);

typedef struct check_def {
    const char *name; /* NULL: one check per GEMM variant, "gemm-VARIANT" (check_name) */
    const char *what;
    check_fn fn;
    int a, b;         /* the check's parameters (method, representation, configuration) */
    double tol32, tol64;
} check_def;

static void begin(check_run *cr, const char *name, const char *what, double tol)
{
    memset(&cr->rec, 0, sizeof cr->rec);
    snprintf(cr->rec.name, sizeof cr->rec.name, "%s", name);
    cr->rec.what = what;
    cr->rec.precision = cr->prec;
    cr->rec.status = PEGR_CHECK_PASS;
    cr->rec.error = 0;
    cr->rec.tolerance = tol;
    cr->fault_applied = 0;
    cr->measured = 0;
    cr->failed_msg = 0;
    cr->skipped = 0;
    cr->t0 = pegr_now_seconds();
}

/* A failure that is not a measured error (a device error, a broken contract): the first one's
 * message is kept, and wins over "where the worst error is". */
static void fail(check_run *cr, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void fail(check_run *cr, const char *fmt, ...)
{
    if (cr->failed_msg) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cr->rec.detail, sizeof cr->rec.detail, fmt, ap);
    va_end(ap);
    cr->rec.status = PEGR_CHECK_FAIL;
    cr->failed_msg = 1;
}

static void skip(check_run *cr, const char *why)
{
    cr->skipped = 1;
    snprintf(cr->rec.detail, sizeof cr->rec.detail, "%s", why);
}

/* A measured error: the worst is kept, with where it was. */
static void note(check_run *cr, double e, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void note(check_run *cr, double e, const char *fmt, ...)
{
    int first = !cr->measured;
    cr->measured = 1;
    if (!worse(&cr->rec.error, e) && !first) return;
    if (cr->failed_msg) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cr->rec.detail, sizeof cr->rec.detail, fmt, ap);
    va_end(ap);
}

/* got against want (relative to max |want|), after the test hook's perturbation when armed for
 * this check (once per record: one device value off by 1% of the reference's scale). */
static void cmp(check_run *cr, double *got, const double *want, size_t count, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static void cmp(check_run *cr, double *got, const double *want, size_t count, const char *fmt, ...)
{
    if (cr->fault && !cr->fault_applied && count && strcmp(cr->fault, cr->rec.name) == 0) {
        double scale = 0;
        for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs(want[i]));
        got[0] += 0.01 * (scale > 0 ? scale : 1.0);
        cr->fault_applied = 1;
    }
    double e = pegr_check_rel_err(got, want, count);
    char where[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    note(cr, e, "%s", where);
}

static void end(check_run *cr)
{
    pegr_check_record *r = &cr->rec;
    r->seconds = pegr_now_seconds() - cr->t0;
    if (cr->failed_msg) {
        r->status = PEGR_CHECK_FAIL;
        if (!cr->measured) r->error = NAN;
    } else if (cr->skipped) {
        r->status = PEGR_CHECK_SKIP;
        r->error = NAN;
    } else if (!cr->measured) {
        r->status = PEGR_CHECK_FAIL;
        r->error = NAN;
        snprintf(r->detail, sizeof r->detail, "nothing was measured");
    } else {
        r->status = r->error <= r->tolerance ? PEGR_CHECK_PASS : PEGR_CHECK_FAIL;
    }
    if (r->status == PEGR_CHECK_PASS) cr->sum->passed++;
    else if (r->status == PEGR_CHECK_FAIL) cr->sum->failed++;
    else cr->sum->skipped++;
    if (cr->opt->on_record) cr->opt->on_record(cr->opt->user, r);
}

/* ---- devices, engines, problems ----------------------------------------------------------------- */

static pegr_context *open_context(check_run *cr, size_t wg_cap)
{
    pegr_context_options co = {0};
    co.max_work_group_size = wg_cap;
    co.log = cr->opt->log;
    co.log_user = cr->opt->log_user;
    pegr_context *ctx = NULL;
    pegr_error err = {0};
    if (pegr_context_create(cr->dev, &co, &ctx, &err) != PEGR_OK) {
        fail(cr, "cannot open the device: %s", pegr_error_message(&err));
        ctx = NULL;
    }
    pegr_error_clear(&err);
    return ctx;
}

/* The engine configurations the battery runs: each reaches a kernel path the others do not. */
typedef struct engine_config {
    size_t wg_cap;          /* a work-group cap: capped launches and the simple GEMM kernels */
    pegr_gemm_impl gemm;
    size_t chunk;           /* per-example gradients this many examples at a time */
    int no_fuse;            /* the three-kernel coefficient path */
    size_t fused_per_group; /* examples per work-group of the fused kernel */
} engine_config;

static pegr_backend *open_engine(check_run *cr, const engine_config *c)
{
    pegr_context *ctx = open_context(cr, c->wg_cap);
    if (!ctx) return NULL;
    pegr_engine_options eo = {.precision = cr->prec, .gemm = c->gemm, .per_example_chunk = c->chunk};
    pegr_error err = {0};
    pegr_backend *b = pegr_engine_create(ctx, &eo, &err);
    if (!b) fail(cr, "cannot create the engine: %s", pegr_error_message(&err));
    pegr_error_clear(&err);
    if (b) {
        ((pegr_engine *)b)->no_fuse = c->no_fuse;
        ((pegr_engine *)b)->fused_per_group = c->fused_per_group;
    }
    return b;
}

typedef pegr_check_problem problem;

/* check.h: Gaussian patches (not orthogonal), labels +-1, weights with pre-activations of order
 * one kept at least 1e-3 away from the kinks at 0 (where fp32 rounding could flip a ReLU). */
int pegr_check_problem_make(problem *p, size_t n, size_t P, size_t d, size_t m, uint64_t seed)
{
    *p = (problem){n, P, d, m, malloc(n * P * d * sizeof(double)), malloc(n * sizeof(double)),
                   malloc(2 * m * d * sizeof(double))};
    if (!p->X || !p->y || !p->W) return 0;
    pegr_rng_fill_normal(seed, 1, 0, n * P * d, 1.0, p->X);
    for (size_t i = 0; i < n; i++) p->y[i] = pegr_rng_uniform(seed, 2, i) < 0.5 ? 1.0 : -1.0;
    for (uint64_t attempt = 0;; attempt++) {
        pegr_rng_fill_normal(seed, 3, attempt * 2 * m * d, 2 * m * d, 1.0 / sqrt((double)d), p->W);
        int near_kink = 0;
        for (size_t row = 0; row < n * P && !near_kink; row++)
            for (size_t c = 0; c < 2 * m && !near_kink; c++) {
                double z = 0;
                for (size_t k = 0; k < d; k++) z += p->X[row * d + k] * p->W[c * d + k];
                near_kink = fabs(z) < 1e-3;
            }
        if (!near_kink) return 1;
    }
}

void pegr_check_problem_free(problem *p)
{
    free(p->X);
    free(p->y);
    free(p->W);
}

typedef pegr_check_outputs outputs;

int pegr_check_outputs_alloc(outputs *o, const problem *p, size_t runs, int per_example)
{
    size_t per = 2 * p->m * p->d;
    *o = (outputs){calloc(runs * per, sizeof(double)), calloc(runs * p->n, sizeof(double)),
                   calloc(runs * p->n, sizeof(double)), calloc(runs * p->n, sizeof(double)),
                   per_example ? calloc(runs * p->n * per, sizeof(double)) : NULL, 0, 0};
    return o->grad && o->margin && o->loss && o->norm2 && (o->pe || !per_example);
}

void pegr_check_outputs_free(outputs *o)
{
    free(o->grad);
    free(o->margin);
    free(o->loss);
    free(o->norm2);
    free(o->pe);
    memset(o, 0, sizeof *o);
}

pegr_eval_request pegr_check_request(outputs *o, pegr_method method, double q, double lam)
{
    pegr_eval_request req = {.method = method, .q = q, .lam = lam, .grad = o->grad,
                             .margin = o->margin, .loss = o->loss, .norm2 = o->norm2,
                             .per_example_grad = o->pe, .mean_loss = &o->mean_loss,
                             .objective = &o->objective};
    return req;
}


/* Data, representation and weights onto a backend; 0 (and the record failed) on error. */
static int load(check_run *cr, pegr_backend *b, const problem *p, int span)
{
    pegr_error err = {0};
    pegr_status s = b->ops->set_data(b, p->X, p->y, p->n, p->P, p->d, &err);
    if (s == PEGR_OK && b->ops->set_representation)
        s = b->ops->set_representation(b, span, &err);
    if (s == PEGR_OK) s = b->ops->set_weights(b, p->W, p->m, &err);
    if (s != PEGR_OK) fail(cr, "%s", pegr_error_message(&err));
    pegr_error_clear(&err);
    return s == PEGR_OK;
}

/* One evaluation on the device against the host reference: every output. `ref` (may be NULL): a
 * second device backend the outputs are also compared with (CLBlast against pegr's own GEMM). */
static void eval_against_host(check_run *cr, pegr_backend *b, pegr_backend *ref, const problem *p,
                              pegr_method method, double q, double lam, int span)
{
    outputs h, d, r;
    int ok = pegr_check_outputs_alloc(&h, p, 1, 1) & pegr_check_outputs_alloc(&d, p, 1, 1) & pegr_check_outputs_alloc(&r, p, 1, 1);
    pegr_error err = {0};
    if (!ok) {
        fail(cr, "out of memory");
        goto done;
    }
    pegr_eval_request hreq = pegr_check_request(&h, method, q, lam), dreq = pegr_check_request(&d, method, q, lam),
                      rreq = pegr_check_request(&r, method, q, lam);
    if (pegr_ref_evaluate(p->X, p->y, p->n, p->P, p->d, p->W, p->m, &hreq, &err) != PEGR_OK) {
        fail(cr, "host reference: %s", pegr_error_message(&err));
        goto done;
    }
    if (!load(cr, b, p, span)) goto done;
    if (b->ops->evaluate(b, &dreq, &err) != PEGR_OK) {
        fail(cr, "%s", pegr_error_message(&err));
        goto done;
    }
    if (ref && (!load(cr, ref, p, span) || ref->ops->evaluate(ref, &rreq, &err) != PEGR_OK)) {
        if (err.status) fail(cr, "%s", pegr_error_message(&err));
        goto done;
    }
    const size_t per = 2 * p->m * p->d;
    struct {
        const char *name;
        double *got, *want, *other;
        size_t count;
    } out[] = {
        {"gradient", d.grad, h.grad, r.grad, per},
        {"margins", d.margin, h.margin, r.margin, p->n},
        {"per-example losses", d.loss, h.loss, r.loss, p->n},
        {"per-example gradient norms", d.norm2, h.norm2, r.norm2, p->n},
        {"per-example gradients", d.pe, h.pe, r.pe, p->n * per},
        {"mean loss", &d.mean_loss, &h.mean_loss, &r.mean_loss, 1},
        {"objective", &d.objective, &h.objective, &r.objective, 1},
    };
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        cmp(cr, out[i].got, out[i].want, out[i].count, "%s, %s q=%g %s, n=%zu P=%zu d=%zu m=%zu",
            out[i].name, pegr_method_name(method), q, span ? "span" : "primal", p->n, p->P, p->d, p->m);
        if (ref)
            cmp(cr, out[i].got, out[i].other, out[i].count,
                "%s against pegr's own GEMM, %s %s, n=%zu P=%zu d=%zu m=%zu", out[i].name,
                pegr_method_name(method), span ? "span" : "primal", p->n, p->P, p->d, p->m);
    }
done:
    pegr_error_clear(&err);
    pegr_check_outputs_free(&h);
    pegr_check_outputs_free(&d);
    pegr_check_outputs_free(&r);
}

/* n, P, d, m: every dimension 1; sizes no work-group or vector width divides; one shape over a
 * 64-wide GEMM tile in every dimension of both products (rows nP = 69, K = d = 67). */
static const size_t SHAPES[][4] = {{1, 1, 1, 1}, {7, 3, 13, 3}, {23, 3, 67, 5}};
#define NSHAPES (sizeof SHAPES / sizeof SHAPES[0])

/* Every shape (the first `nshapes`), the methods in `methods` (bit 1 << method), both
 * representations unless `span` >= 0, each q of `qs`. */
#define ALL_METHODS 7
/* The GEMM checks: gd's products are every method's, gr adds one (<x, V>) */
#define GEMM_METHODS ((1 << PEGR_METHOD_GD) | (1 << PEGR_METHOD_GR))
static void eval_sweep(check_run *cr, pegr_backend *b, pegr_backend *ref, size_t nshapes,
                       int methods, int span, const double *qs, size_t nq)
{
    for (size_t s = 0; s < nshapes && cr->rec.status != PEGR_CHECK_FAIL; s++) {
        problem p;
        if (!pegr_check_problem_make(&p, SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], SHAPES[s][3], 100 + s)) {
            fail(cr, "out of memory");
            pegr_check_problem_free(&p);
            return;
        }
        for (int rep = span < 0 ? 0 : span; rep <= (span < 0 ? 1 : span); rep++)
            for (int method = 0; method < 3; method++)
                for (size_t qi = 0; qi < nq && (methods >> method & 1); qi++)
                    eval_against_host(cr, b, ref, &p, (pegr_method)method, qs[qi], 0.3, rep);
        pegr_check_problem_free(&p);
    }
}

/* ---- the checks --------------------------------------------------------------------------------- */

/* eval-<rep>-<method>: the default engine, every shape, q = 1 (ReLU) and 3. */
static void check_eval(check_run *cr, const check_def *def)
{
    engine_config c = {0};
    pegr_backend *b = open_engine(cr, &c);
    if (!b) return;
    const double qs[] = {1.0, 3.0};
    eval_sweep(cr, b, NULL, NSHAPES, 1 << def->a, def->b, qs, 2);
    b->ops->destroy(b);
}

/* The other kernel paths: def->a picks the engine configuration; every method, both forms, the
 * two smaller shapes. */
enum { CFG_THREE_KERNEL, CFG_FUSED_GROUPS, CFG_CHUNKED, CFG_WG_CAP, CFG_OWN };
static void check_eval_config(check_run *cr, const check_def *def)
{
    engine_config c = {0};
    if (def->a == CFG_THREE_KERNEL) c.no_fuse = 1;
    if (def->a == CFG_FUSED_GROUPS) c.fused_per_group = 3;
    if (def->a == CFG_CHUNKED) c.chunk = 2;
    if (def->a == CFG_WG_CAP) c.wg_cap = 3;
    if (def->a == CFG_OWN) c.gemm = PEGR_GEMM_OWN;
    pegr_backend *b = open_engine(cr, &c);
    if (!b) return;
    const double q = 3.0;
    if (def->a == CFG_OWN) eval_sweep(cr, b, NULL, NSHAPES, GEMM_METHODS, -1, &q, 1);
    else eval_sweep(cr, b, NULL, 2, ALL_METHODS, -1, &q, 1);
    b->ops->destroy(b);
}

/* CLBlast, forced on every product, against the host and against pegr's own GEMM. */
static void check_clblast(check_run *cr, const check_def *def)
{
    (void)def;
#ifndef PEGR_HAVE_CLBLAST
    skip(cr, "not built: this pegr has no CLBlast (pegr's own GEMM kernels are checked above)");
#else
    engine_config cb = {.gemm = PEGR_GEMM_CLBLAST}, own = {.gemm = PEGR_GEMM_OWN};
    pegr_backend *b = open_engine(cr, &cb);
    pegr_backend *o = b ? open_engine(cr, &own) : NULL;
    if (b && o) {
        const double q = 3.0;
        eval_sweep(cr, b, o, NSHAPES, GEMM_METHODS, -1, &q, 1);
        /* the engine found CLBlast wrong here (its first-use check) or CLBlast failed, and fell
         * back to pegr's kernels: pegr's numbers are still right (what was compared is pegr's own
         * GEMM), but say so */
        if (strcmp(pegr_engine_gemm_name(b), "clblast") != 0 && cr->rec.status != PEGR_CHECK_FAIL) {
            size_t u = strlen(cr->rec.detail);
            snprintf(cr->rec.detail + u, sizeof cr->rec.detail - u,
                     "%sCLBlast disagreed with pegr's own GEMM or failed on this device: pegr "
                     "falls back to its own kernels", u ? "; " : "");
        }
    }
    if (o) o->ops->destroy(o);
    if (b) b->ops->destroy(b);
#endif
}

/* A host array as REAL on the device (blocking: the caller's copy may go at once). */
static cl_mem upload_real(check_run *cr, pegr_context *ctx, const double *src, size_t count)
{
    size_t elem = cr->prec == PEGR_FP64 ? sizeof(double) : sizeof(float);
    void *tmp = malloc(count * elem);
    if (!tmp) return NULL;
    for (size_t i = 0; i < count; i++) {
        if (cr->prec == PEGR_FP64) ((double *)tmp)[i] = src[i];
        else ((float *)tmp)[i] = (float)src[i];
    }
    cl_int rc = CL_SUCCESS;
    cl_mem m = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, count * elem,
                              tmp, &rc);
    free(tmp);
    if (rc != CL_SUCCESS) {
        fail(cr, "clCreateBuffer of %zu bytes failed with %s", count * elem, pegr_status_name(rc));
        return NULL;
    }
    return m;
}

static int download_real(check_run *cr, pegr_context *ctx, cl_mem m, double *dst, size_t count)
{
    size_t elem = cr->prec == PEGR_FP64 ? sizeof(double) : sizeof(float);
    void *tmp = malloc(count * elem);
    if (!tmp) return 0;
    cl_int rc = clEnqueueReadBuffer(ctx->queue, m, CL_TRUE, 0, count * elem, tmp, 0, NULL, NULL);
    if (rc == CL_SUCCESS)
        for (size_t i = 0; i < count; i++)
            dst[i] = cr->prec == PEGR_FP64 ? ((double *)tmp)[i] : (double)((float *)tmp)[i];
    else
        fail(cr, "clEnqueueReadBuffer failed with %s", pegr_status_name(rc));
    free(tmp);
    return rc == CL_SUCCESS;
}

/* One of pegr's GEMM variants (def->a) on NT and TN products of a batch of 2 against the host. */
static void check_gemm_variant(check_run *cr, const check_def *def)
{
    pegr_context *ctx = open_context(cr, 0);
    if (!ctx) return;
    pegr_gemm_built built;
    if (pegr_gemm_variant_build(ctx, cr->prec, (size_t)def->a, &built) != PEGR_OK) {
        fail(cr, "%s", pegr_error_message(pegr_context_error(ctx)));
        pegr_context_destroy(ctx);
        return;
    }
    if (!built.fits) {
        skip(cr, "does not fit this device's work-group or local-memory limits (pegr skips it here)");
        pegr_context_destroy(ctx);
        return;
    }
    static const size_t DIMS[][3] = {{1, 1, 1}, {7, 6, 13}, {69, 10, 67}};
    const size_t batch = 2;
    for (size_t s = 0; s < sizeof DIMS / sizeof DIMS[0] && cr->rec.status != PEGR_CHECK_FAIL; s++)
        for (int shape = 0; shape < 2; shape++) {
            const size_t M = DIMS[s][0], N = DIMS[s][1], K = DIMS[s][2];
            const size_t na = M * K, nb = N * K, nc = M * N;
            double *a = malloc(batch * na * sizeof(double)), *b = malloc(batch * nb * sizeof(double));
            double *c = malloc(batch * nc * sizeof(double)), *want = malloc(batch * nc * sizeof(double));
            cl_mem A = NULL, B = NULL, C = NULL;
            if (!a || !b || !c || !want) {
                fail(cr, "out of memory");
                goto next;
            }
            pegr_rng_fill_normal(50 + s, 1, 0, batch * na, 1.0, a);
            pegr_rng_fill_normal(50 + s, 2, 0, batch * nb, 1.0, b);
            /* NT: C = A B^T, A (M x K), B (N x K); TN: C = A^T B, A (K x M), B (K x N) */
            for (size_t r = 0; r < batch; r++)
                for (size_t i = 0; i < M; i++)
                    for (size_t j = 0; j < N; j++) {
                        double sum = 0;
                        for (size_t k = 0; k < K; k++)
                            sum += shape == PEGR_GEMM_NT
                                       ? a[r * na + i * K + k] * b[r * nb + j * K + k]
                                       : a[r * na + k * M + i] * b[r * nb + k * N + j];
                        want[r * nc + i * N + j] = sum;
                    }
            A = upload_real(cr, ctx, a, batch * na);
            B = A ? upload_real(cr, ctx, b, batch * nb) : NULL;
            for (size_t i = 0; i < batch * nc; i++) c[i] = NAN;
            C = B ? upload_real(cr, ctx, c, batch * nc) : NULL;
            if (!C) goto next;
            if (pegr_gemm_variant_enqueue(ctx, (size_t)def->a, &built, (pegr_gemm_shape)shape, M, N,
                                          K, A, na, B, nb, C, nc, batch, NULL) != PEGR_OK) {
                fail(cr, "%s", pegr_error_message(pegr_context_error(ctx)));
                goto next;
            }
            if (download_real(cr, ctx, C, c, batch * nc))
                cmp(cr, c, want, batch * nc, "%s product %zu x %zu x %zu, batch of %zu",
                    shape == PEGR_GEMM_NT ? "NT" : "TN", M, N, K, batch);
        next:
            if (A) clReleaseMemObject(A);
            if (B) clReleaseMemObject(B);
            if (C) clReleaseMemObject(C);
            free(a);
            free(b);
            free(c);
            free(want);
        }
    pegr_gemm_variant_release(&built);
    pegr_context_destroy(ctx);
}

/* steps-<rep>-<method>: 8 steps on the device against the host's, W compared after every step;
 * mini-batch weights (sgd on every step, one step of the others) and a learning rate that
 * changes. def->a: 0 gd, 1 sgd, 2 pegr, 3 gr. */
static void check_steps(check_run *cr, const check_def *def)
{
    static const pegr_method METHODS[] = {PEGR_METHOD_GD, PEGR_METHOD_GD, PEGR_METHOD_PEGR,
                                          PEGR_METHOD_GR};
    const int sgd = def->a == 1;
    problem p;
    pegr_backend *h = NULL, *d = NULL;
    double *Wh = NULL, *Wd = NULL, *omega = NULL;
    pegr_error err = {0};
    if (!pegr_check_problem_make(&p, 7, 3, 13, 3, 12)) {
        fail(cr, "out of memory");
        goto done;
    }
    const size_t count = 2 * p.m * p.d;
    Wh = malloc(count * sizeof(double));
    Wd = malloc(count * sizeof(double));
    omega = calloc(p.n, sizeof(double));
    engine_config c = {0};
    h = pegr_host_backend_create(&err);
    if (!Wh || !Wd || !omega || !h) {
        fail(cr, "out of memory");
        goto done;
    }
    d = open_engine(cr, &c);
    if (!d || !load(cr, h, &p, 0) || !load(cr, d, &p, def->b)) goto done;
    for (int step = 0; step < 8; step++) {
        /* sgd: a batch of 3 of the 7 examples, a new one each step; the others: one such step */
        for (size_t i = 0; i < p.n; i++) omega[i] = 0;
        for (size_t j = 0; j < 3; j++) omega[((size_t)step * 3 + j) % p.n] = 1.0 / 3.0;
        pegr_eval_request req = {.method = METHODS[def->a], .q = 3.0, .lam = 0.002};
        req.weights = sgd || step == 2 ? omega : NULL;
        double lr = step < 4 ? 0.02 : 0.03;
        if (h->ops->step(h, &req, lr, &err) != PEGR_OK || d->ops->step(d, &req, lr, &err) != PEGR_OK ||
            h->ops->get_weights(h, Wh, &err) != PEGR_OK || d->ops->get_weights(d, Wd, &err) != PEGR_OK) {
            fail(cr, "step %d: %s", step, pegr_error_message(&err));
            goto done;
        }
        cmp(cr, Wd, Wh, count, "W after step %d of 8 (n=7 P=3 d=13 m=3)", step + 1);
    }
    /* the steps must have moved W, or the comparison proved nothing */
    double moved = pegr_check_rel_err(Wh, p.W, count);
    if (!(moved > 1e-4)) fail(cr, "the host's 8 steps moved W by only %.3g: nothing was checked", moved);
done:
    pegr_error_clear(&err);
    if (h) h->ops->destroy(h);
    if (d) d->ops->destroy(d);
    free(Wh);
    free(Wd);
    free(omega);
    pegr_check_problem_free(&p);
}

/* A small training run (the metrics at every log step, the robust error, the final weights). */
static pegr_train_config train_config(const char *method, const char *representation, size_t steps)
{
    pegr_train_config c;
    pegr_train_config_default(&c);
    c.data.n = 12;
    c.data.n_test = 40;
    c.data.d = 31;
    c.data.P = 2;
    c.m = 3;
    c.steps = steps;
    c.log_every = 5;
    c.batch = 4;
    pegr_method_parse(method, "method", &c.method, NULL); /* the names below are all known */
    pegr_representation_parse(representation, "representation", &c.representation, NULL);
    c.n_robust = 1;
    c.robust_sigmas[0] = 0.5;
    return c;
}

/* Two trainings of the same configuration: the records, the final W and the robust errors. */
static void compare_trainings(check_run *cr, const pegr_train_config *c, const pegr_train_result *a,
                              pegr_train_result *b, const char *label)
{
    double scaled = 0, rate = 0;
    char where[96];
    double rate_tol = pegr_tol_rate(cr->prec, c->data.n_test < c->data.n ? c->data.n_test : c->data.n);
    if (!pegr_check_records_error(b, a, &scaled, &rate, where, sizeof where)) {
        fail(cr, "%s: the runs differ in shape (records %zu vs %zu, steps %zu vs %zu, diverged %d vs %d)",
             label, b->n_records, a->n_records, b->steps_run, a->steps_run, b->diverged, a->diverged);
        return;
    }
    note(cr, scaled, "%s: %s", label, where[0] ? where : "every metric identical");
    if (!(rate <= rate_tol))
        fail(cr, "%s: an error rate differs by %.3g (allowed %.3g: one example flipping)", label,
             rate, rate_tol);
    cmp(cr, b->W, a->W, 2 * c->m * c->data.d, "%s: final W", label);
    for (size_t i = 0; i < c->n_robust; i++)
        if (!(fabs(a->robust_error[i] - b->robust_error[i]) <= rate_tol))
            fail(cr, "%s: robust error at sigma %g is %.17g, the reference's %.17g", label,
                 c->robust_sigmas[i], b->robust_error[i], a->robust_error[i]);
}

static const char *const TRAIN_METHODS[] = {"gd", "sgd", "pegr", "gr"};

/* train-<rep>-<method>: 20 steps with the metrics every 5 on the host (fp64) and on the device. */
static void check_train(check_run *cr, const check_def *def)
{
    pegr_train_config c = train_config(TRAIN_METHODS[def->a], def->b ? "span" : "primal", 20);
    pegr_dataset ds = {0};
    pegr_train_result h = {0}, d = {0};
    int have_h = 0, have_d = 0;
    pegr_error err = {0};
    engine_config ec = {0};
    pegr_backend *host = NULL, *dev = NULL;
    if (pegr_data_generate(&c.data, &ds, &err) != PEGR_OK) goto error;
    if (!(host = pegr_host_backend_create(&err))) goto error;
    if (pegr_train_run(host, &ds, &c, NULL, &h, &err) != PEGR_OK) goto error;
    have_h = 1;
    if (!(dev = open_engine(cr, &ec))) goto done;
    if (pegr_train_run(dev, &ds, &c, NULL, &d, &err) != PEGR_OK) goto error;
    have_d = 1;
    if (def->b && !d.span) fail(cr, "the device trained primal when span was asked");
    compare_trainings(cr, &c, &h, &d, "20 steps against the host");
    goto done;
error:
    fail(cr, "%s", pegr_error_message(&err));
done:
    if (have_h) pegr_train_result_free(&h);
    if (have_d) pegr_train_result_free(&d);
    if (host) host->ops->destroy(host);
    if (dev) dev->ops->destroy(dev);
    pegr_dataset_free(&ds);
    pegr_error_clear(&err);
}

/* batch-<rep>: 3 runs in one engine (as `pegr sweep` batches them), each with its own data,
 * weights, lam and learning rate: one evaluation and 4 steps (one with mini-batch weights), every
 * method, each run against the same run alone on the host. */
enum { BATCH_RUNS = 3 };
static void check_batch(check_run *cr, const check_def *def)
{
    const int span = def->b;
    problem p[BATCH_RUNS];
    memset(p, 0, sizeof p);
    problem all = {0};
    outputs bo = {0}, ho = {0};
    double *Wb = NULL, *Wh = NULL, *omega = NULL;
    pegr_backend *e = NULL;
    pegr_error err = {0};
    int ok = 1;
    for (size_t k = 0; k < BATCH_RUNS; k++) ok &= pegr_check_problem_make(&p[k], 7, 3, 13, 3, 40 + k);
    const size_t n = 7, P = 3, d = 13, m = 3, per = 2 * m * d;
    all = (problem){n, P, d, m, malloc(BATCH_RUNS * n * P * d * sizeof(double)),
                    malloc(BATCH_RUNS * n * sizeof(double)), malloc(BATCH_RUNS * per * sizeof(double))};
    ok &= all.X && all.y && all.W;
    ok &= pegr_check_outputs_alloc(&bo, &p[0], BATCH_RUNS, 1) & pegr_check_outputs_alloc(&ho, &p[0], 1, 1);
    Wb = malloc(BATCH_RUNS * per * sizeof(double));
    Wh = malloc(per * sizeof(double));
    omega = malloc(BATCH_RUNS * n * sizeof(double));
    if (!ok || !Wb || !Wh || !omega) {
        fail(cr, "out of memory");
        goto done;
    }
    double lam[BATCH_RUNS], lr[BATCH_RUNS], mean_loss[BATCH_RUNS], objective[BATCH_RUNS];
    for (size_t k = 0; k < BATCH_RUNS; k++) {
        memcpy(all.X + k * n * P * d, p[k].X, n * P * d * sizeof(double));
        memcpy(all.y + k * n, p[k].y, n * sizeof(double));
        memcpy(all.W + k * per, p[k].W, per * sizeof(double));
        for (size_t i = 0; i < n; i++) omega[k * n + i] = (i + k) % 2 ? 2.0 / (double)n : 0.0;
        lam[k] = 0.001 * (double)(k + 1);
        lr[k] = 0.01 * (double)(k + 1);
    }
    for (int method = 0; method < 3 && cr->rec.status != PEGR_CHECK_FAIL; method++) {
        engine_config c = {0};
        if (!(e = open_engine(cr, &c))) goto done;
        if (e->ops->set_runs(e, BATCH_RUNS, &err) != PEGR_OK) goto error;
        if (!load(cr, e, &all, span)) goto done;
        pegr_eval_request req = pegr_check_request(&bo, (pegr_method)method, 3.0, lam[0]);
        req.mean_loss = mean_loss;
        req.objective = objective;
        req.run_lam = lam;
        if (e->ops->evaluate(e, &req, &err) != PEGR_OK) goto error;
        pegr_eval_request step = {.method = (pegr_method)method, .q = 3.0, .lam = lam[0],
                                  .run_lam = lam, .run_lr = lr};
        for (int t = 0; t < 4; t++) {
            step.weights = t == 2 ? omega : NULL;
            if (e->ops->step(e, &step, 0.0, &err) != PEGR_OK) goto error;
        }
        if (e->ops->get_weights(e, Wb, &err) != PEGR_OK) goto error;
        e->ops->destroy(e);
        e = NULL;
        for (size_t k = 0; k < BATCH_RUNS; k++) {
            pegr_backend *h = pegr_host_backend_create(&err);
            if (!h) goto error;
            pegr_eval_request one = pegr_check_request(&ho, (pegr_method)method, 3.0, lam[k]);
            pegr_eval_request hstep = {.method = (pegr_method)method, .q = 3.0, .lam = lam[k]};
            pegr_status s = load(cr, h, &p[k], 0) ? h->ops->evaluate(h, &one, &err) : PEGR_ERR_INVALID_ARGUMENT;
            for (int t = 0; t < 4 && s == PEGR_OK; t++) {
                hstep.weights = t == 2 ? omega + k * n : NULL;
                s = h->ops->step(h, &hstep, lr[k], &err);
            }
            if (s == PEGR_OK) s = h->ops->get_weights(h, Wh, &err);
            h->ops->destroy(h);
            if (s != PEGR_OK) {
                if (err.status) fail(cr, "host: %s", pegr_error_message(&err));
                goto done;
            }
            const char *mn = pegr_method_name(method);
            cmp(cr, bo.grad + k * per, ho.grad, per, "run %zu of 3, %s: gradient", k, mn);
            cmp(cr, bo.margin + k * n, ho.margin, n, "run %zu of 3, %s: margins", k, mn);
            cmp(cr, bo.loss + k * n, ho.loss, n, "run %zu of 3, %s: losses", k, mn);
            cmp(cr, bo.norm2 + k * n, ho.norm2, n, "run %zu of 3, %s: gradient norms", k, mn);
            cmp(cr, bo.pe + k * n * per, ho.pe, n * per, "run %zu of 3, %s: per-example gradients", k, mn);
            cmp(cr, mean_loss + k, &ho.mean_loss, 1, "run %zu of 3, %s: mean loss", k, mn);
            cmp(cr, objective + k, &ho.objective, 1, "run %zu of 3, %s: objective", k, mn);
            cmp(cr, Wb + k * per, Wh, per, "run %zu of 3, %s: W after 4 steps", k, mn);
        }
    }
    goto done;
error:
    fail(cr, "%s", pegr_error_message(&err));
done:
    if (e) e->ops->destroy(e);
    pegr_error_clear(&err);
    for (size_t k = 0; k < BATCH_RUNS; k++) pegr_check_problem_free(&p[k]);
    pegr_check_problem_free(&all);
    pegr_check_outputs_free(&bo);
    pegr_check_outputs_free(&ho);
    free(Wb);
    free(Wh);
    free(omega);
}

/* batch-train: whole trainings batched (pegr_train_run_batch, what `pegr sweep` runs) against
 * each run trained alone on the same device: pegr in the primal form, sgd in the span form. */
static void check_batch_train(check_run *cr, const check_def *def)
{
    (void)def;
    static const char *const FORMS[2][2] = {{"pegr", "primal"}, {"sgd", "span"}};
    for (int f = 0; f < 2 && cr->rec.status != PEGR_CHECK_FAIL; f++) {
        pegr_train_config c[BATCH_RUNS];
        pegr_dataset ds[BATCH_RUNS];
        pegr_train_result batched[BATCH_RUNS], one;
        memset(ds, 0, sizeof ds);
        memset(batched, 0, sizeof batched);
        int have_batched = 0;
        pegr_error err = {0};
        engine_config ec = {0};
        pegr_backend *b = NULL;
        for (size_t k = 0; k < BATCH_RUNS; k++) {
            c[k] = train_config(FORMS[f][0], FORMS[f][1], 10); /* 8 trainings: kept short */
            c[k].data.seed = 7 + k;
            c[k].lam = 0.005 * (double)(k + 1);
            c[k].lr = 0.05 + 0.03 * (double)k;
            c[k].data.mu_norm = 2.0 + (double)k;
            c[k].sigma0 = 0.01 + 0.005 * (double)k;
            if (pegr_data_generate(&c[k].data, &ds[k], &err) != PEGR_OK) goto error;
        }
        if (!(b = open_engine(cr, &ec))) goto done;
        if (pegr_train_run_batch(b, ds, c, BATCH_RUNS, NULL, batched, &err) != PEGR_OK) goto error;
        have_batched = 1;
        b->ops->destroy(b);
        b = NULL;
        for (size_t k = 0; k < BATCH_RUNS && cr->rec.status != PEGR_CHECK_FAIL; k++) {
            if (!(b = open_engine(cr, &ec))) goto done;
            if (pegr_train_run(b, &ds[k], &c[k], NULL, &one, &err) != PEGR_OK) goto error;
            char label[96];
            snprintf(label, sizeof label, "%s %s, run %zu of 3 against it alone", FORMS[f][0],
                     FORMS[f][1], k);
            compare_trainings(cr, &c[k], &one, &batched[k], label);
            pegr_train_result_free(&one);
            b->ops->destroy(b);
            b = NULL;
        }
        goto done;
    error:
        fail(cr, "%s", pegr_error_message(&err));
    done:
        if (b) b->ops->destroy(b);
        for (size_t k = 0; k < BATCH_RUNS; k++) {
            if (have_batched) pegr_train_result_free(&batched[k]);
            pegr_dataset_free(&ds[k]);
        }
        pegr_error_clear(&err);
    }
}

/* The smoke kernel (y = a x + y) of `prog` on `count` values; OUT: y. */
static int run_smoke(check_run *cr, pegr_context *ctx, pegr_program *prog, size_t count, double *y)
{
    double *x = malloc(count * sizeof(double));
    cl_mem X = NULL, Y = NULL;
    cl_kernel k = NULL;
    int ok = 0;
    if (!x) goto done;
    pegr_rng_fill_normal(77, 1, 0, count, 1.0, x);
    pegr_rng_fill_normal(77, 2, 0, count, 1.0, y);
    X = upload_real(cr, ctx, x, count);
    Y = X ? upload_real(cr, ctx, y, count) : NULL;
    if (!Y) goto done;
    cl_int rc = CL_SUCCESS;
    k = clCreateKernel((cl_program)pegr_program_cl(prog), "pegr_smoke_axpy", &rc);
    cl_uint n = (cl_uint)count;
    double a = 0.7;
    float af = (float)a;
    if (rc == CL_SUCCESS) rc = clSetKernelArg(k, 0, sizeof n, &n);
    if (rc == CL_SUCCESS)
        rc = cr->prec == PEGR_FP64 ? clSetKernelArg(k, 1, sizeof a, &a) : clSetKernelArg(k, 1, sizeof af, &af);
    if (rc == CL_SUCCESS) rc = clSetKernelArg(k, 2, sizeof X, &X);
    if (rc == CL_SUCCESS) rc = clSetKernelArg(k, 3, sizeof Y, &Y);
    size_t global = count;
    if (rc == CL_SUCCESS) rc = clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, NULL, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        fail(cr, "the smoke kernel failed with %s", pegr_status_name(rc));
        goto done;
    }
    ok = download_real(cr, ctx, Y, y, count);
done:
    if (k) clReleaseKernel(k);
    if (X) clReleaseMemObject(X);
    if (Y) clReleaseMemObject(Y);
    free(x);
    return ok;
}

/* cache: a program never built before (a unique -D in its options) is compiled and stored under
 * its key, built again from the cache, and both binaries give identical results; the entry is
 * removed afterwards. */
static void check_cache(check_run *cr, const check_def *def)
{
    (void)def;
    char *dir = pegr_cache_dir(), *path = NULL;
    pegr_context *ctx = NULL;
    pegr_program *p1 = NULL, *p2 = NULL;
    double *r1 = NULL, *r2 = NULL;
    pegr_error err = {0};
    if (!dir) {
        skip(cr, "the binary cache is off (PEGR_NO_CACHE, or no cache directory)");
        return;
    }
    if (!(ctx = open_context(cr, 0))) goto done;
    static unsigned long counter;
    char options[96];
    snprintf(options, sizeof options, "-D PEGR_CHECK_NONCE=%lx_%lx_%lu", (unsigned long)getpid(),
             (unsigned long)(pegr_now_seconds() * 1e6), counter++);
    const char *files[] = {"smoke.cl"};
    if (pegr_program_build(ctx, files, 1, cr->prec, options, &p1) != PEGR_OK) {
        fail(cr, "%s", pegr_error_message(pegr_context_error(ctx)));
        goto done;
    }
    if (pegr_program_from_cache(p1)) fail(cr, "a program never built before came from the cache");
    const char *key = pegr_program_cache_key(p1);
    path = pegr_cache_path(dir, key);
    unsigned char *binary = NULL;
    size_t size = 0;
    pegr_cache_result hit = pegr_cache_load(dir, key, &binary, &size, &err);
    free(binary);
    if (hit != PEGR_CACHE_HIT)
        fail(cr, "the compiled binary was not stored under its key in %s%s%s", dir,
             err.status ? ": " : "", err.status ? pegr_error_message(&err) : "");
    if (pegr_program_build(ctx, files, 1, cr->prec, options, &p2) != PEGR_OK) {
        fail(cr, "rebuild: %s", pegr_error_message(pegr_context_error(ctx)));
        goto done;
    }
    if (!pegr_program_from_cache(p2)) fail(cr, "the stored binary was not loaded from the cache");
    const size_t count = 1009; /* prime */
    r1 = malloc(count * sizeof(double));
    r2 = malloc(count * sizeof(double));
    if (!r1 || !r2) {
        fail(cr, "out of memory");
        goto done;
    }
    if (run_smoke(cr, ctx, p1, count, r1) && run_smoke(cr, ctx, p2, count, r2))
        cmp(cr, r2, r1, count, "the cached binary's results against the compiled one's (must be identical)");
done:
    if (path) unlink(path); /* the entry was the check's own: leave nothing behind */
    pegr_program_release(p1);
    pegr_program_release(p2);
    if (ctx) pegr_context_destroy(ctx);
    pegr_error_clear(&err);
    free(dir);
    free(path);
    free(r1);
    free(r2);
}

/* ---- the table of checks ----------------------------------------------------------------------- */

#define T_EVAL PEGR_TOL_FP32_EVAL, PEGR_TOL_FP64
#define T_STEPS PEGR_TOL_FP32_STEPS, PEGR_TOL_FP64
#define T_BATCH PEGR_TOL_FP32_BATCH, PEGR_TOL_FP64
#define T_TRAIN PEGR_TOL_FP32_TRAIN, PEGR_TOL_FP64_TRAIN

static const char EVAL_WHAT[] = "gradient, margins, losses, norms, per-example gradients, objective "
                                "against the host on 3 edge shapes, q = 1 and 3";
static const char STEPS_WHAT[] = "8 steps against the host, W after each";
static const char TRAIN_WHAT[] = "20 steps against the host: every metric every 5 steps, final W, "
                                 "robust error";

static const check_def CHECKS[] = {
    {"eval-primal-gd", EVAL_WHAT, check_eval, 0, 0, T_EVAL},
    {"eval-primal-pegr", EVAL_WHAT, check_eval, 1, 0, T_EVAL},
    {"eval-primal-gr", EVAL_WHAT, check_eval, 2, 0, T_EVAL},
    {"eval-span-gd", EVAL_WHAT, check_eval, 0, 1, T_EVAL},
    {"eval-span-pegr", EVAL_WHAT, check_eval, 1, 1, T_EVAL},
    {"eval-span-gr", EVAL_WHAT, check_eval, 2, 1, T_EVAL},
    {"eval-three-kernel", "the unfused coefficient kernels against the host, every method and form",
     check_eval_config, CFG_THREE_KERNEL, 0, T_EVAL},
    {"eval-fused-groups", "the fused coefficient kernel with 3 examples per work-group",
     check_eval_config, CFG_FUSED_GROUPS, 0, T_EVAL},
    {"eval-chunked", "per-example gradients 2 examples at a time", check_eval_config, CFG_CHUNKED,
     0, T_EVAL},
    {"gemm-simple-wg-cap-3", "work-groups capped at 3: the simple GEMM kernels, capped launches",
     check_eval_config, CFG_WG_CAP, 0, T_EVAL},
    {"gemm-own", "pegr's own GEMM kernels forced on every product (PEGR_GEMM=own), gd and gr",
     check_eval_config, CFG_OWN, 0, T_EVAL},
    {"gemm-clblast", "CLBlast forced on every product, against the host and pegr's own GEMM, gd and gr",
     check_clblast, 0, 0, T_EVAL},
    {NULL, "one of pegr's GEMM variants: NT and TN products, batch of 2, against the host",
     check_gemm_variant, 0, 0, T_EVAL},
    {"steps-primal-gd", STEPS_WHAT, check_steps, 0, 0, T_STEPS},
    {"steps-primal-sgd", STEPS_WHAT, check_steps, 1, 0, T_STEPS},
    {"steps-primal-pegr", STEPS_WHAT, check_steps, 2, 0, T_STEPS},
    {"steps-primal-gr", STEPS_WHAT, check_steps, 3, 0, T_STEPS},
    {"steps-span-gd", STEPS_WHAT, check_steps, 0, 1, T_STEPS},
    {"steps-span-sgd", STEPS_WHAT, check_steps, 1, 1, T_STEPS},
    {"steps-span-pegr", STEPS_WHAT, check_steps, 2, 1, T_STEPS},
    {"steps-span-gr", STEPS_WHAT, check_steps, 3, 1, T_STEPS},
    {"train-primal-gd", TRAIN_WHAT, check_train, 0, 0, T_TRAIN},
    {"train-span-sgd", TRAIN_WHAT, check_train, 1, 1, T_TRAIN},
    {"train-primal-pegr", TRAIN_WHAT, check_train, 2, 0, T_TRAIN},
    {"train-span-gr", TRAIN_WHAT, check_train, 3, 1, T_TRAIN},
    {"batch-primal", "3 runs in one engine (evaluation, 4 steps) against each alone on the host",
     check_batch, 0, 0, T_BATCH},
    {"batch-span", "3 runs in one engine (evaluation, 4 steps) against each alone on the host",
     check_batch, 0, 1, T_BATCH},
    {"batch-train", "3 trainings batched (as pegr sweep runs them) against each trained alone",
     check_batch_train, 0, 0, T_TRAIN},
    {"cache", "kernel binary cache: compile, store, reload; results identical", check_cache, 0, 0,
     0.0, 0.0},
};
#define NCHECKS (sizeof CHECKS / sizeof CHECKS[0])

static void run_one(check_run *cr, const check_def *def, const char *name)
{
    double tol = cr->prec == PEGR_FP64 ? def->tol64 : def->tol32;
    begin(cr, name, def->what, tol);
    if (cr->prec == PEGR_FP64 && !cr->dev->fp64)
        skip(cr, "skipped: no fp64 (the device does not list cl_khr_fp64)");
    else
        def->fn(cr, def);
    end(cr);
}

/* The name of check `i` of the table, variant `v` for the per-variant entry. */
static void check_name(size_t i, size_t v, char *name, size_t size)
{
    if (CHECKS[i].name) snprintf(name, size, "%s", CHECKS[i].name);
    else snprintf(name, size, "gemm-%s", pegr_gemm_variant_at(v)->name);
}

int pegr_check_known(const char *wanted)
{
    char name[64];
    for (size_t i = 0; i < NCHECKS; i++)
        for (size_t v = 0; v < (CHECKS[i].name ? 1 : pegr_gemm_variant_count()); v++) {
            check_name(i, v, name, sizeof name);
            if (strcmp(name, wanted) == 0) return 1;
        }
    return 0;
}

pegr_status pegr_check_run(const pegr_device_info *device, const pegr_check_options *options,
                           pegr_check_summary *summary, pegr_error *err)
{
    memset(summary, 0, sizeof *summary);
    if (!options->fp32 && !options->fp64)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "no precision asked (fp32, fp64)");
    check_run cr = {.dev = device, .opt = options, .sum = summary};
    cr.fault = options->fault ? options->fault : getenv("PEGR_CHECK_FAULT");
    if (cr.fault && !*cr.fault) cr.fault = NULL;
    if (cr.fault && !pegr_check_known(cr.fault))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "the fault hook (PEGR_CHECK_FAULT) names '%s', which is no check",
                              cr.fault);
    double t0 = pegr_now_seconds();
    for (int pi = 0; pi < 2; pi++) {
        if (!(pi ? options->fp64 : options->fp32)) continue;
        cr.prec = pi ? PEGR_FP64 : PEGR_FP32;
        for (size_t i = 0; i < NCHECKS; i++)
            for (size_t v = 0; v < (CHECKS[i].name ? 1 : pegr_gemm_variant_count()); v++) {
                check_def def = CHECKS[i];
                if (!def.name) def.a = (int)v; /* one record per GEMM variant */
                char name[64];
                check_name(i, v, name, sizeof name);
                run_one(&cr, &def, name);
            }
    }
    summary->seconds = pegr_now_seconds() - t0;
    return PEGR_OK;
}

/* ---- a device's pass, cached ---------------------------------------------------------------------- */

/* The pass file of this pegr (version and revision, with or without CLBlast) on this device,
 * driver and precision, in the cache directory (NULL when caching is off); OUT: the text it holds. */
static char *pass_path(const pegr_device_info *dev, pegr_precision prec, char text[96])
{
    char *dir = pegr_cache_dir();
    if (!dir) return NULL;
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_field(&h, "pegr-check-pass-v1");
    pegr_hash_field(&h, pegr_version());
    pegr_hash_field(&h, pegr_git_revision());
#ifdef PEGR_HAVE_CLBLAST
    pegr_hash_field(&h, "clblast");
#endif
    pegr_hash_field(&h, dev->name);
    pegr_hash_field(&h, dev->version);
    pegr_hash_field(&h, dev->driver_version);
    pegr_hash_field(&h, dev->platform_name);
    pegr_hash_field(&h, dev->platform_version);
    pegr_hash_field(&h, prec == PEGR_FP64 ? "fp64" : "fp32");
    char key[33], name[64];
    pegr_hash_hex(&h, key);
    snprintf(name, sizeof name, "check-%s.pass", key);
    snprintf(text, 96, "pegr-check-pass 1 %s\n", key);
    char *path = pegr_path_join(dir, name);
    free(dir);
    return path;
}

typedef struct failed_names {
    const pegr_check_options *base;
    char *out;
    size_t size, used;
} failed_names;

static void collect_failed(void *user, const pegr_check_record *r)
{
    failed_names *f = user;
    if (r->status == PEGR_CHECK_FAIL && f->out && f->used + 1 < f->size) {
        int w = snprintf(f->out + f->used, f->size - f->used, "%s%s (%s)", f->used ? ", " : "",
                         r->name, r->detail);
        if (w > 0) f->used += (size_t)w;
        if (f->used >= f->size) f->used = f->size - 1; /* cut: the rest did not fit */
    }
    if (f->base && f->base->on_record) f->base->on_record(f->base->user, r);
}

pegr_status pegr_check_device(const pegr_device_info *device, pegr_precision precision,
                              const pegr_check_options *base, int *cached,
                              pegr_check_summary *summary, char *failed, size_t failed_size,
                              pegr_error *err)
{
    *cached = 0;
    memset(summary, 0, sizeof *summary);
    if (failed && failed_size) failed[0] = '\0';
    char text[96];
    /* A planted fault (the tests' hook) must run the battery: no cached pass is read or written. */
    const char *fault = base && base->fault ? base->fault : getenv("PEGR_CHECK_FAULT");
    char *path = fault && *fault ? NULL : pass_path(device, precision, text);
    if (path) {
        char *data = NULL;
        size_t len = 0;
        /* only this user's regular file, as the kernel cache reads its entries */
        if (pegr_safe_read_file(path, PEGR_SAFE_OWN, 256, &data, &len, NULL) == PEGR_OK &&
            len == strlen(text) && memcmp(data, text, len) == 0)
            *cached = 1;
        free(data);
        if (*cached) {
            free(path);
            return PEGR_OK;
        }
    }
    pegr_check_options o = {0};
    if (base) o = *base;
    failed_names f = {base, failed, failed_size, 0};
    o.fp32 = precision == PEGR_FP32;
    o.fp64 = precision == PEGR_FP64;
    o.on_record = collect_failed;
    o.user = &f;
    pegr_status s = pegr_check_run(device, &o, summary, err);
    if (s == PEGR_OK && summary->failed == 0 && path) {
        /* a pass is remembered; a failure is checked again next time (a driver may be fixed) */
        char *dir = pegr_cache_dir();
        pegr_error werr = {0};
        if (!dir || pegr_cache_mkdir(dir, &werr) != PEGR_OK ||
            pegr_file_write_atomic(path, text, strlen(text), &werr) != PEGR_OK) {
            if (base && base->log)
                base->log(base->log_user, PEGR_LOG_WARN, "the check's pass was not cached");
        }
        pegr_error_clear(&werr);
        free(dir);
    }
    free(path);
    return s;
}

/* gemm_tuning.c: see gemm_tuning.h. Without CLBlast every call reports PEGR_ERR_UNSUPPORTED. */
#include "device/gemm_tuning.h"
#include "util/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/fsutil.h"
#include "util/hash.h"
#include "device/program_cache.h"
#include "util/safe_open.h"

#ifdef PEGR_HAVE_CLBLAST
#include <clblast_c.h>
#endif

/* not const char *const: CLBlastOverrideParameters takes const char ** */
static const char *NAMES[PEGR_TUNING_PARAMS] = {"WGD",  "MDIMCD", "NDIMCD", "MDIMAD", "NDIMBD",
                                                      "KWID", "VWMD",   "VWND",   "PADA",   "PADB"};

/* Candidates: work-group tiles of 8..64, thread tiles and vector widths from 1 to 16 (a small
 * set that covers what suits CPUs -- wide vectors, few threads -- and GPUs). */
static const size_t CANDIDATES[][PEGR_TUNING_PARAMS] = {
    {8, 8, 8, 8, 8, 1, 1, 1, 1, 1},      {16, 8, 8, 8, 8, 2, 1, 1, 1, 1},
    {32, 8, 8, 8, 8, 2, 1, 1, 1, 1},     {32, 8, 8, 8, 8, 2, 4, 4, 1, 1},
    {32, 4, 4, 4, 4, 2, 4, 4, 1, 1},     {32, 4, 4, 4, 4, 8, 8, 8, 1, 1},
    {64, 8, 8, 8, 8, 2, 8, 8, 1, 1},     {64, 4, 4, 4, 4, 2, 16, 16, 1, 1},
    {32, 2, 2, 2, 2, 2, 16, 16, 1, 1},   {64, 8, 8, 8, 8, 8, 8, 8, 0, 0},
    {32, 16, 16, 16, 16, 2, 2, 2, 1, 1}, {16, 4, 4, 4, 4, 2, 4, 4, 0, 0},
    {64, 16, 16, 16, 16, 4, 4, 4, 1, 1}, {64, 8, 8, 8, 8, 4, 8, 8, 1, 1},
    {64, 4, 4, 4, 4, 4, 8, 8, 1, 1},     {32, 4, 4, 4, 4, 2, 8, 8, 1, 1},
};
#define NCANDIDATES (sizeof CANDIDATES / sizeof CANDIDATES[0])

const char *const *pegr_tuning_names(void) { return (const char *const *)NAMES; }

/* A file in the cache directory named PREFIX-<hash>.txt, the hash of KIND, the device, the
 * precision and EXTRA (NULL: none); NULL without a cache directory. */
static char *device_cache_path(const pegr_device_info *dev, pegr_precision precision,
                               const char *kind, const char *prefix, const char *extra)
{
    char *dir = pegr_cache_dir();
    if (!dir) return NULL;
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_field(&h, kind);
    pegr_hash_field(&h, dev->name);
    pegr_hash_field(&h, dev->driver_version);
    pegr_hash_field(&h, dev->platform_name);
    pegr_hash_field(&h, dev->platform_version);
    pegr_hash_field(&h, precision == PEGR_FP64 ? "fp64" : "fp32");
    if (extra) pegr_hash_field(&h, extra);
    char key[33], name[96];
    pegr_hash_hex(&h, key);
    snprintf(name, sizeof name, "%s-%s.txt", prefix, key);
    char *path = pegr_path_join(dir, name);
    free(dir);
    return path;
}

char *pegr_tuning_path(const pegr_device_info *dev, pegr_precision precision)
{
    return device_cache_path(dev, precision, "pegr-clblast-tuning-v1", "clblast", NULL);
}

unsigned pegr_clblast_checks_run = 0;

/* The versions a verdict holds for: pegr's (its kernels are the reference) and CLBlast's (the
 * headers it was built with; a rebuild against another CLBlast asks again). */
#ifdef PEGR_HAVE_CLBLAST
#define VERDICT_VERSIONS_(a, b, c) "pegr " PEGR_VERSION_STRING " clblast " #a "." #b "." #c
#define VERDICT_VERSIONS(a, b, c) VERDICT_VERSIONS_(a, b, c)
#define VERDICT_KEY VERDICT_VERSIONS(CLBLAST_VERSION_MAJOR, CLBLAST_VERSION_MINOR, CLBLAST_VERSION_PATCH)
#else
#define VERDICT_KEY "pegr " PEGR_VERSION_STRING " no clblast"
#endif
#define VERDICT_HEADER "pegr-clblast-check 1\n"

char *pegr_clblast_verdict_path(const pegr_device_info *dev, pegr_precision precision)
{
    return device_cache_path(dev, precision, "pegr-clblast-check-v1", "clblast-check", VERDICT_KEY);
}

pegr_clblast_verdict pegr_clblast_verdict_load(pegr_context *ctx, pegr_precision precision)
{
    char *path = pegr_clblast_verdict_path(&ctx->device, precision), *text = NULL;
    size_t len = 0;
    pegr_error err = {0};
    pegr_clblast_verdict v = PEGR_CLBLAST_UNCHECKED;
    pegr_status s = path ? pegr_safe_read_file(path, PEGR_SAFE_OWN, 64, &text, &len, &err)
                         : PEGR_ERR_NOT_FOUND;
    if (s == PEGR_OK) {
        const size_t h = strlen(VERDICT_HEADER);
        if (len > h && memcmp(text, VERDICT_HEADER, h) == 0) {
            if (len - h == 6 && memcmp(text + h, "agree\n", 6) == 0) v = PEGR_CLBLAST_AGREES;
            if (len - h == 9 && memcmp(text + h, "disagree\n", 9) == 0) v = PEGR_CLBLAST_DISAGREES;
        }
        if (v == PEGR_CLBLAST_UNCHECKED)
            pegr_ctx_log(ctx, PEGR_LOG_WARN, "ignoring '%s': not a CLBlast check verdict pegr stored "
                         "(expected '%.*s' then 'agree' or 'disagree'); checking CLBlast again",
                         path, (int)h - 1, VERDICT_HEADER);
    } else if (s != PEGR_ERR_NOT_FOUND) {
        pegr_ctx_log(ctx, PEGR_LOG_WARN, "ignoring the stored CLBlast check verdict (%s); checking "
                     "CLBlast again", pegr_error_message(&err));
    }
    if (v != PEGR_CLBLAST_UNCHECKED)
        pegr_ctx_log(ctx, PEGR_LOG_INFO, "CLBlast check: the stored verdict for this device is "
                     "'%s' (%s)", v == PEGR_CLBLAST_AGREES ? "agree" : "disagree", path);
    pegr_error_clear(&err);
    free(text);
    free(path);
    return v;
}

void pegr_clblast_verdict_store(pegr_context *ctx, pegr_precision precision,
                                pegr_clblast_verdict v)
{
    char *path = pegr_clblast_verdict_path(&ctx->device, precision);
    if (!path) return; /* no cache directory: every engine checks */
    char text[64], *dir = pegr_cache_dir();
    int len = snprintf(text, sizeof text, "%s%s\n", VERDICT_HEADER,
                       v == PEGR_CLBLAST_AGREES ? "agree" : "disagree");
    pegr_error err = {0};
    if ((dir && pegr_cache_mkdir(dir, &err) != PEGR_OK) ||
        pegr_file_write_atomic(path, text, (size_t)len, &err) != PEGR_OK)
        pegr_ctx_log(ctx, PEGR_LOG_WARN, "could not store the CLBlast check verdict (%s); the "
                     "next engine checks again", pegr_error_message(&err));
    pegr_error_clear(&err);
    free(dir);
    free(path);
}

/* The XgemmDirect line of a stored tuning; the writer and the reader both use it. */
static int tuning_line(const size_t v[PEGR_TUNING_PARAMS], char *line, size_t cap)
{
    return snprintf(line, cap, "XgemmDirect %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", v[0], v[1],
                    v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
}

#define TUNING_HEADER "pegr-gemm-tuning 2\n"
#define TUNING_NO_CLBLAST "XgemmDirect default\n"

/* Every line of a version 2 tuning, as the writer emits it (at most 512 bytes). */
static size_t tuning_text(const pegr_gemm_tuning *t, char *text, size_t cap)
{
    size_t u = (size_t)snprintf(text, cap, "%s", TUNING_HEADER);
    if (t->has_clblast) u += (size_t)tuning_line(t->values, text + u, cap - u);
    else u += (size_t)snprintf(text + u, cap - u, "%s", TUNING_NO_CLBLAST);
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++)
        u += (size_t)snprintf(text + u, cap - u, "%s %s\n", pegr_gemm_class_name(c),
                              pegr_gemm_choice_name(t->choices[c]));
    return u;
}

/* One line of `text` (from *pos, through its newline, or to the end without one). */
static int take_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
    if (*pos >= len) return 0;
    *line = text + *pos;
    const char *nl = memchr(*line, '\n', len - *pos);
    *n = nl ? (size_t)(nl - *line) + 1 : len - *pos;
    *pos += *n;
    return 1;
}

/* `line` (n bytes) is exactly `want`, or `want` without its newline when it ends the text. */
static int line_is(const char *line, size_t n, const char *want, int last)
{
    size_t w = strlen(want);
    return (n == w || (last && n == w - 1)) && memcmp(line, want, n) == 0;
}

/* The candidate an XgemmDirect line names (its index), or -1. */
static int candidate_of(const char *line, size_t n, int last)
{
    for (size_t c = 0; c < NCANDIDATES; c++) {
        char want[256];
        tuning_line(CANDIDATES[c], want, sizeof want);
        if (line_is(line, n, want, last)) return (int)c;
    }
    return -1;
}

/* A choice line for class `cls`: one of the choices this pegr has, exactly. */
static int choice_of(int cls, const char *line, size_t n, int last, int *choice)
{
    for (int ch = PEGR_GEMM_CHOICE_CLBLAST; ch < (int)pegr_gemm_variant_count(); ch++) {
        char want[128];
        snprintf(want, sizeof want, "%s %s\n", pegr_gemm_class_name(cls), pegr_gemm_choice_name(ch));
        if (line_is(line, n, want, last)) {
            *choice = ch;
            return 1;
        }
    }
    return 0;
}

static pegr_status parse_tuning(const char *text, size_t len, pegr_gemm_tuning *t)
{
    memset(t, 0, sizeof *t);
    size_t pos = 0, n = 0;
    const char *line = NULL;
    if (!take_line(text, len, &pos, &line, &n)) return PEGR_ERR_FORMAT;
    int cand = candidate_of(line, n, pos == len);
    if (cand >= 0 && pos == len) { /* version 1: the CLBlast line alone */
        t->has_clblast = 1;
        memcpy(t->values, CANDIDATES[cand], sizeof t->values);
        return PEGR_OK;
    }
    if (!line_is(line, n, TUNING_HEADER, 0)) return PEGR_ERR_FORMAT;
    if (!take_line(text, len, &pos, &line, &n)) return PEGR_ERR_FORMAT;
    if (!line_is(line, n, TUNING_NO_CLBLAST, pos == len)) {
        cand = candidate_of(line, n, pos == len);
        if (cand < 0) return PEGR_ERR_FORMAT;
        t->has_clblast = 1;
        memcpy(t->values, CANDIDATES[cand], sizeof t->values);
    }
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++)
        if (!take_line(text, len, &pos, &line, &n) ||
            !choice_of(c, line, n, pos == len, &t->choices[c]))
            return PEGR_ERR_FORMAT;
    if (pos != len) return PEGR_ERR_FORMAT; /* nothing after the last class */
    t->has_choices = 1;
    return PEGR_OK;
}

pegr_status pegr_tuning_read(const char *path, pegr_gemm_tuning *out, pegr_error *err)
{
    char *text = NULL;
    size_t len = 0;
    pegr_status s = pegr_safe_read_file(path, PEGR_SAFE_OWN, PEGR_TUNING_MAX_BYTES, &text, &len, err);
    if (s != PEGR_OK) return s;
    /* Exactly the lines pegr writes, with values it measured: nothing else is trusted. */
    if (parse_tuning(text, len, out) != PEGR_OK)
        s = pegr_error_set(err, PEGR_ERR_FORMAT,
                           "'%s' is not a tuning pegr stored: expected the line '%.*s' then "
                           "'XgemmDirect default' or 'XgemmDirect' and %d values of one of pegr's "
                           "CLBlast candidates, then one line per class (nt-small, nt-large, "
                           "tn-small, tn-large) naming simple, clblast or one of pegr's GEMM "
                           "variants (or, from older pegr, the XgemmDirect line alone)",
                           path, (int)strlen(TUNING_HEADER) - 1, TUNING_HEADER, PEGR_TUNING_PARAMS);
    free(text);
    return s;
}

/* The stored tuning, when there is one and $PEGR_NO_TUNING is unset: 1 with *t filled. */
static int stored_tuning(pegr_context *ctx, pegr_precision precision, pegr_gemm_tuning *t,
                         char **path_out)
{
    const char *off = getenv("PEGR_NO_TUNING");
    if (off && *off && strcmp(off, "0")) return 0;
    char *path = pegr_tuning_path(&ctx->device, precision);
    pegr_error err = {0};
    pegr_status s = path ? pegr_tuning_read(path, t, &err) : PEGR_ERR_NOT_FOUND;
    if (s != PEGR_OK && s != PEGR_ERR_NOT_FOUND)
        pegr_ctx_log(ctx, PEGR_LOG_WARN, "ignoring the stored GEMM tuning (%s); run `pegr tune` "
                     "to store a new one", pegr_error_message(&err));
    pegr_error_clear(&err);
    if (path_out && s == PEGR_OK) *path_out = path;
    else free(path);
    return s == PEGR_OK;
}

int pegr_tuning_choices(pegr_context *ctx, pegr_precision precision,
                        int choices[PEGR_GEMM_CLASSES])
{
    pegr_gemm_tuning t;
    if (!stored_tuning(ctx, precision, &t, NULL) || !t.has_choices) return 0;
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++) {
#ifndef PEGR_HAVE_CLBLAST
        if (t.choices[c] == PEGR_GEMM_CHOICE_CLBLAST) continue; /* the default stays */
#endif
        choices[c] = t.choices[c];
    }
    pegr_ctx_log(ctx, PEGR_LOG_INFO, "GEMM choices from `pegr tune`");
    return 1;
}

void pegr_gemm_search_free(pegr_gemm_search *s)
{
    free(s->choice);
    free(s->seconds);
    memset(s, 0, sizeof *s);
}

#ifdef PEGR_HAVE_CLBLAST
static CLBlastPrecision clblast_precision(pegr_precision p)
{
    return p == PEGR_FP64 ? CLBlastPrecisionDouble : CLBlastPrecisionSingle;
}

int pegr_tuning_apply(pegr_context *ctx, pegr_precision precision)
{
    pegr_gemm_tuning t;
    char *path = NULL;
    if (!stored_tuning(ctx, precision, &t, &path)) return 0;
    int applied = 0;
    if (t.has_clblast) {
        applied = CLBlastOverrideParameters((cl_device_id)ctx->device.cl_device, "XgemmDirect",
                                            clblast_precision(precision), PEGR_TUNING_PARAMS, NAMES,
                                            t.values) == CLBlastSuccess;
        pegr_ctx_log(ctx, PEGR_LOG_INFO, "CLBlast tuning %s: %s", applied ? "applied" : "refused",
                     path);
    }
    free(path);
    return applied;
}

/* One step's GEMMs: the span product S Gam^T, and the primal X W^T and C^T X. */
static CLBlastStatusCode step_gemms(cl_command_queue q, pegr_precision p, size_t R, size_t C,
                                    size_t D, cl_mem S, cl_mem X, cl_mem G, cl_mem Z)
{
    CLBlastStatusCode rc;
    if (p == PEGR_FP64) {
        rc = CLBlastDgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, R, C, R, 1,
                          S, 0, R, G, 0, R, 0, Z, 0, C, &q, NULL);
        if (!rc) rc = CLBlastDgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, R,
                                   C, D, 1, X, 0, D, G, 0, D, 0, Z, 0, C, &q, NULL);
        if (!rc) rc = CLBlastDgemm(CLBlastLayoutRowMajor, CLBlastTransposeYes, CLBlastTransposeNo, C,
                                   D, R, 1, Z, 0, C, X, 0, D, 0, G, 0, D, &q, NULL);
    } else {
        rc = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, R, C, R, 1,
                          S, 0, R, G, 0, R, 0, Z, 0, C, &q, NULL);
        if (!rc) rc = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, R,
                                   C, D, 1, X, 0, D, G, 0, D, 0, Z, 0, C, &q, NULL);
        if (!rc) rc = CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeYes, CLBlastTransposeNo, C,
                                   D, R, 1, Z, 0, C, X, 0, D, 0, G, 0, D, &q, NULL);
    }
    if (!rc) rc = (CLBlastStatusCode)clFinish(q);
    return rc;
}

/* Best of 5 timed repeats after one warm-up (which also compiles the kernel). */
static void measure(pegr_context *ctx, pegr_precision p, size_t R, size_t C, size_t D, cl_mem *bufs,
                    pegr_tuning_result *r)
{
    r->seconds = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = pegr_now_seconds();
        if (step_gemms(ctx->queue, p, R, C, D, bufs[0], bufs[1], bufs[2], bufs[3]) != CLBlastSuccess) {
            r->failed = 1;
            return;
        }
        double t = pegr_now_seconds() - t0;
        if (rep > 0 && t < r->seconds) r->seconds = t;
    }
}

/* CLBlast's parameter search on a step's three products; the winner is left in force. */
static pegr_status clblast_search(pegr_context *ctx, pegr_precision precision, size_t n, size_t d,
                                  size_t m, size_t max_candidates, pegr_tuning_result **results,
                                  size_t *count, size_t *best)
{
    size_t ncand = max_candidates && max_candidates < NCANDIDATES ? max_candidates : NCANDIDATES;
    size_t R = 2 * n, C = 2 * m, D = d, el = precision == PEGR_FP64 ? 8 : 4;
    size_t sizes[4] = {R * R * el, R * D * el, (C * D > C * R ? C * D : C * R) * el, R * D * el};
    cl_mem bufs[4] = {0};
    pegr_status status = PEGR_OK;
    *results = calloc(NCANDIDATES + 1, sizeof **results);
    if (!*results) return pegr_ctx_fail(ctx, PEGR_ERR_NO_MEMORY, "out of memory");
    for (int k = 0; k < 4; k++) {
        cl_int rc = CL_SUCCESS;
        bufs[k] = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, sizes[k], NULL, &rc);
        PEGR_CL_CHECK_RC(ctx, rc, "clCreateBuffer", done);
        /* zeros: any finite data times the same */
        const float zero = 0;
        PEGR_CL_CHECK(ctx, clEnqueueFillBuffer(ctx->queue, bufs[k], &zero, sizeof zero, 0, sizes[k],
                                               0, NULL, NULL), done);
    }
    cl_device_id dev = (cl_device_id)ctx->device.cl_device;
    /* entry 0: CLBlast's own parameters (nothing overridden yet in this process) */
    (*results)[0].is_default = 1;
    measure(ctx, precision, R, C, D, bufs, &(*results)[0]);
    *count = 1;
    *best = 0;
    for (size_t c = 0; c < ncand; c++) {
        pegr_tuning_result *r = &(*results)[*count];
        memcpy(r->values, CANDIDATES[c], sizeof r->values);
        (*count)++;
        if (CLBlastOverrideParameters(dev, "XgemmDirect", clblast_precision(precision),
                                      PEGR_TUNING_PARAMS, NAMES, r->values) != CLBlastSuccess) {
            r->failed = 1;
            continue;
        }
        measure(ctx, precision, R, C, D, bufs, r);
        if (!r->failed && r->seconds < (*results)[*best].seconds) *best = *count - 1;
    }
    /* leave this process with the winner in force (the own search compares against it) */
    if (!(*results)[*best].is_default)
        CLBlastOverrideParameters(dev, "XgemmDirect", clblast_precision(precision),
                                  PEGR_TUNING_PARAMS, NAMES, (*results)[*best].values);
done:
    for (int k = 0; k < 4; k++)
        if (bufs[k]) clReleaseMemObject(bufs[k]);
    return status;
}

/* One product of a class on CLBlast (row-major, as engine_gemm.c calls it). */
static CLBlastStatusCode clblast_one(cl_command_queue q, pegr_precision p, pegr_gemm_shape shape,
                                     size_t M, size_t N, size_t K, cl_mem A, cl_mem B, cl_mem C)
{
    CLBlastTranspose ta = shape == PEGR_GEMM_TN ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = shape == PEGR_GEMM_TN ? CLBlastTransposeNo : CLBlastTransposeYes;
    size_t lda = shape == PEGR_GEMM_TN ? M : K, ldb = shape == PEGR_GEMM_TN ? N : K;
    if (p == PEGR_FP64)
        return CLBlastDgemm(CLBlastLayoutRowMajor, ta, tb, M, N, K, 1, A, 0, lda, B, 0, ldb, 0, C,
                            0, N, &q, NULL);
    return CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, M, N, K, 1, A, 0, lda, B, 0, ldb, 0, C, 0, N,
                        &q, NULL);
}
#else
int pegr_tuning_apply(pegr_context *ctx, pegr_precision precision)
{
    (void)ctx;
    (void)precision;
    return 0;
}
#endif

/* ---- The search over the classes: simple, CLBlast and pegr's variants */
typedef struct own_bench {
    pegr_context *ctx;
    pegr_precision precision;
    cl_mem A, B, C;
    cl_kernel simple[2]; /* pegr_gemm_nt, pegr_gemm_tn */
} own_bench;

/* One product of a class with a candidate. */
static pegr_status run_one(own_bench *b, int choice, const pegr_gemm_built *built,
                           pegr_gemm_shape shape, const size_t dims[3])
{
    size_t M = dims[0], N = dims[1], K = dims[2];
    if (choice >= 0)
        return pegr_gemm_variant_enqueue(b->ctx, (size_t)choice, built, shape, M, N, K, b->A, 0,
                                         b->B, 0, b->C, 0, 1, NULL);
#ifdef PEGR_HAVE_CLBLAST
    if (choice == PEGR_GEMM_CHOICE_CLBLAST) {
        CLBlastStatusCode rc = clblast_one(b->ctx->queue, b->precision, shape, M, N, K, b->A, b->B,
                                           b->C);
        return rc == CLBlastSuccess ? PEGR_OK
                                    : pegr_ctx_fail(b->ctx, PEGR_ERR_CLBLAST, "CLBlast status %d",
                                                    (int)rc);
    }
#endif
    /* the simple kernels: (rows, cols, d) = (M, N, K) for NT, (K, M, N) for TN; global N x M */
    cl_uint u[3] = {(cl_uint)(shape == PEGR_GEMM_TN ? K : M), (cl_uint)(shape == PEGR_GEMM_TN ? M : N),
                    (cl_uint)(shape == PEGR_GEMM_TN ? N : K)};
    cl_ulong zero = 0;
    cl_kernel k = b->simple[shape];
    cl_int rc = CL_SUCCESS;
    for (cl_uint i = 0; i < 3 && rc == CL_SUCCESS; i++) rc = clSetKernelArg(k, i, sizeof u[i], &u[i]);
    cl_mem mems[3] = {b->A, b->B, b->C};
    for (cl_uint i = 0; i < 3 && rc == CL_SUCCESS; i++) {
        rc = clSetKernelArg(k, 3 + 2 * i, sizeof mems[i], &mems[i]);
        if (rc == CL_SUCCESS) rc = clSetKernelArg(k, 4 + 2 * i, sizeof zero, &zero);
    }
    size_t global[3] = {N, M, 1};
    if (rc == CL_SUCCESS) rc = clEnqueueNDRangeKernel(b->ctx->queue, k, 3, NULL, global, NULL, 0, NULL, NULL);
    return rc == CL_SUCCESS ? PEGR_OK : pegr_ctx_cl_fail(b->ctx, rc, "the simple GEMM", NULL);
}

/* Seconds per product: one warm-up (compiles what the driver compiles lazily), then the best of
 * 5 repeats of 3 products in a row (as a step queues them). */
static pegr_status time_one(own_bench *b, int choice, const pegr_gemm_built *built,
                            pegr_gemm_shape shape, const size_t dims[3], double *seconds)
{
    *seconds = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = pegr_now_seconds();
        for (int i = 0; i < 3; i++) {
            pegr_status s = run_one(b, choice, built, shape, dims);
            if (s != PEGR_OK) return s;
        }
        cl_int rc = clFinish(b->ctx->queue);
        if (rc != CL_SUCCESS) return pegr_ctx_cl_fail(b->ctx, rc, "clFinish", NULL);
        double t = (pegr_now_seconds() - t0) / 3;
        if (rep > 0 && t < *seconds) *seconds = t;
    }
    return PEGR_OK;
}

static pegr_status own_search(pegr_context *ctx, pegr_precision precision, size_t n, size_t d,
                              size_t m, pegr_gemm_search *out)
{
    size_t R = 2 * n, C = 2 * m, el = precision == PEGR_FP64 ? 8 : 4;
    const size_t dims[PEGR_GEMM_CLASSES][3] = {{R, C, R}, {R, C, d}, {C, R, R}, {C, d, R}};
    memcpy(out->dims, dims, sizeof dims);
    size_t nv = pegr_gemm_variant_count();
    out->count = 2 + nv;
    out->choice = calloc(out->count, sizeof *out->choice);
    out->seconds = calloc(out->count * PEGR_GEMM_CLASSES, sizeof *out->seconds);
    if (!out->choice || !out->seconds) return pegr_ctx_fail(ctx, PEGR_ERR_NO_MEMORY, "out of memory");
    out->choice[0] = PEGR_GEMM_CHOICE_SIMPLE;
    out->choice[1] = PEGR_GEMM_CHOICE_CLBLAST;
    for (size_t v = 0; v < nv; v++) out->choice[2 + v] = (int)v;
    own_bench b = {ctx, precision, NULL, NULL, NULL, {NULL, NULL}};
    size_t a_el = 0, b_el = 0, c_el = 0;
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++) {
        size_t M = dims[c][0], N = dims[c][1], K = dims[c][2];
        if (M * K > a_el) a_el = M * K;
        if (N * K > b_el) b_el = N * K;
        if (M * N > c_el) c_el = M * N;
    }
    pegr_status status = PEGR_OK;
    pegr_program *simple = NULL;
    cl_mem *mems[3] = {&b.A, &b.B, &b.C};
    size_t counts[3] = {a_el, b_el, c_el};
    for (int k = 0; k < 3; k++) {
        cl_int rc = CL_SUCCESS;
        *mems[k] = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, counts[k] * el, NULL, &rc);
        PEGR_CL_CHECK_RC(ctx, rc, "clCreateBuffer", done);
        const float zero = 0; /* zeros: any finite data times the same */
        PEGR_CL_CHECK(ctx, clEnqueueFillBuffer(ctx->queue, *mems[k], &zero, sizeof zero, 0,
                                               counts[k] * el, 0, NULL, NULL), done);
    }
    const char *files[] = {"gemm.cl"};
    status = pegr_program_build(ctx, files, 1, precision, NULL, &simple);
    if (status != PEGR_OK) goto done;
    const char *names[2] = {"pegr_gemm_nt", "pegr_gemm_tn"};
    for (int k = 0; k < 2; k++) {
        cl_int rc = CL_SUCCESS;
        b.simple[k] = clCreateKernel((cl_program)pegr_program_cl(simple), names[k], &rc);
        PEGR_CL_CHECK_RC(ctx, rc, "clCreateKernel", done);
    }
    for (size_t i = 0; i < out->count && status == PEGR_OK; i++) {
        int choice = out->choice[i];
        pegr_gemm_built built = {0};
        int usable = choice != PEGR_GEMM_CHOICE_CLBLAST;
#ifdef PEGR_HAVE_CLBLAST
        usable = 1;
#endif
        if (usable && choice >= 0) {
            status = pegr_gemm_variant_build(ctx, precision, (size_t)choice, &built);
            usable = status == PEGR_OK && built.fits;
        }
        for (int c = 0; c < PEGR_GEMM_CLASSES && status == PEGR_OK; c++) {
            double *sec = &out->seconds[i * PEGR_GEMM_CLASSES + c];
            *sec = -1;
            if (usable)
                status = time_one(&b, choice, &built, c < PEGR_GEMM_TN_SMALL ? PEGR_GEMM_NT
                                                                              : PEGR_GEMM_TN,
                                  dims[c], sec);
        }
        if (choice >= 0) pegr_gemm_variant_release(&built);
    }
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++) {
        out->best[c] = 0; /* the simple kernels always run */
        for (size_t i = 1; i < out->count; i++) {
            double t = out->seconds[i * PEGR_GEMM_CLASSES + c];
            if (t >= 0 && t < out->seconds[(size_t)out->best[c] * PEGR_GEMM_CLASSES + c])
                out->best[c] = (int)i;
        }
    }
done:
    for (int k = 0; k < 2; k++)
        if (b.simple[k]) clReleaseKernel(b.simple[k]);
    pegr_program_release(simple);
    for (int k = 0; k < 3; k++)
        if (*mems[k]) clReleaseMemObject(*mems[k]);
    return status;
}

/* Store what was measured (atomically replacing an older tuning). */
static pegr_status store_tuning(pegr_context *ctx, pegr_precision precision,
                                const pegr_gemm_tuning *t)
{
    char *path = pegr_tuning_path(&ctx->device, precision);
    if (!path) return PEGR_OK; /* no cache directory: nothing to store */
    char text[1024], *dir = pegr_cache_dir();
    size_t len = tuning_text(t, text, sizeof text);
    pegr_error err = {0};
    pegr_status status = PEGR_OK;
    if ((dir && pegr_cache_mkdir(dir, &err) != PEGR_OK) ||
        pegr_file_write_atomic(path, text, len, &err) != PEGR_OK)
        status = pegr_ctx_fail(ctx, err.status, "%s", pegr_error_message(&err));
    pegr_error_clear(&err);
    free(dir);
    free(path);
    return status;
}

pegr_status pegr_tuning_run(pegr_context *ctx, pegr_precision precision, size_t n, size_t d,
                            size_t m, size_t max_candidates, pegr_tuning_result **results,
                            size_t *count, size_t *best, pegr_gemm_search *own)
{
    memset(own, 0, sizeof *own);
    *results = NULL;
    *count = *best = 0;
    pegr_gemm_tuning t;
    memset(&t, 0, sizeof t);
    pegr_status status = PEGR_OK;
#ifdef PEGR_HAVE_CLBLAST
    status = clblast_search(ctx, precision, n, d, m, max_candidates, results, count, best);
    if (status != PEGR_OK) return status;
    t.has_clblast = !(*results)[*best].is_default;
    memcpy(t.values, (*results)[*best].values, sizeof t.values);
#else
    (void)max_candidates;
#endif
    status = own_search(ctx, precision, n, d, m, own);
    if (status != PEGR_OK) return status;
    t.has_choices = 1;
    for (int c = 0; c < PEGR_GEMM_CLASSES; c++) t.choices[c] = own->choice[own->best[c]];
    return store_tuning(ctx, precision, &t);
}

/* gemm_tuning.c: see gemm_tuning.h. Without CLBlast every call reports PEGR_ERR_UNSUPPORTED. */
#include "gemm_tuning.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"
#include "hash.h"
#include "program_cache.h"
#include "safe_open.h"

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

char *pegr_tuning_path(const pegr_device_info *dev, pegr_precision precision)
{
    char *dir = pegr_cache_dir();
    if (!dir) return NULL;
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_field(&h, "pegr-clblast-tuning-v1");
    pegr_hash_field(&h, dev->name);
    pegr_hash_field(&h, dev->driver_version);
    pegr_hash_field(&h, dev->platform_name);
    pegr_hash_field(&h, dev->platform_version);
    pegr_hash_field(&h, precision == PEGR_FP64 ? "fp64" : "fp32");
    char key[33], name[64];
    pegr_hash_hex(&h, key);
    snprintf(name, sizeof name, "clblast-%s.txt", key);
    char *path = pegr_path_join(dir, name);
    free(dir);
    return path;
}

/* The one line a stored tuning holds; the writer and the reader both use it. */
static int tuning_line(const size_t v[PEGR_TUNING_PARAMS], char *line, size_t cap)
{
    return snprintf(line, cap, "XgemmDirect %zu %zu %zu %zu %zu %zu %zu %zu %zu %zu\n", v[0], v[1],
                    v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
}

pegr_status pegr_tuning_read(const char *path, size_t values[PEGR_TUNING_PARAMS], pegr_error *err)
{
    char *text = NULL;
    size_t len = 0;
    pegr_status s = pegr_safe_read_file(path, PEGR_SAFE_OWN, PEGR_TUNING_MAX_BYTES, &text, &len, err);
    if (s != PEGR_OK) return s;
    /* Exactly a candidate's line (a missing final newline is fine): nothing else is trusted. */
    s = pegr_error_set(err, PEGR_ERR_FORMAT,
                       "'%s' is not a tuning pegr stored: expected one line 'XgemmDirect' and %d "
                       "values of one of pegr's candidate parameter sets",
                       path, PEGR_TUNING_PARAMS);
    for (size_t c = 0; c < NCANDIDATES && s != PEGR_OK; c++) {
        char line[256];
        size_t n = (size_t)tuning_line(CANDIDATES[c], line, sizeof line);
        if ((len == n || len == n - 1) && memcmp(text, line, len) == 0) {
            memcpy(values, CANDIDATES[c], sizeof CANDIDATES[c]);
            pegr_error_clear(err);
            s = PEGR_OK;
        }
    }
    free(text);
    return s;
}

#ifdef PEGR_HAVE_CLBLAST
static CLBlastPrecision clblast_precision(pegr_precision p)
{
    return p == PEGR_FP64 ? CLBlastPrecisionDouble : CLBlastPrecisionSingle;
}

int pegr_tuning_apply(pegr_context *ctx, pegr_precision precision)
{
    const char *off = getenv("PEGR_NO_TUNING");
    if (off && *off && strcmp(off, "0")) return 0;
    char *path = pegr_tuning_path(&ctx->device, precision);
    size_t v[PEGR_TUNING_PARAMS];
    int applied = 0;
    pegr_error err = {0};
    pegr_status s = path ? pegr_tuning_read(path, v, &err) : PEGR_ERR_NOT_FOUND;
    if (s == PEGR_OK) {
        applied = CLBlastOverrideParameters((cl_device_id)ctx->device.cl_device, "XgemmDirect",
                                            clblast_precision(precision), PEGR_TUNING_PARAMS, NAMES,
                                            v) == CLBlastSuccess;
        pegr_ctx_log(ctx, PEGR_LOG_INFO, "CLBlast tuning %s: %s", applied ? "applied" : "refused",
                     path);
    } else if (s != PEGR_ERR_NOT_FOUND) {
        pegr_ctx_log(ctx, PEGR_LOG_WARN, "ignoring the stored CLBlast tuning (%s); run `pegr tune` "
                     "to store a new one", pegr_error_message(&err));
    }
    pegr_error_clear(&err);
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

pegr_status pegr_tuning_run(pegr_context *ctx, pegr_precision precision, size_t n, size_t d,
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
    /* store the winner (or, when CLBlast's own is best, nothing -- and remove an older file) */
    char *path = pegr_tuning_path(&ctx->device, precision);
    if (path) {
        const pegr_tuning_result *b = &(*results)[*best];
        if (b->is_default) {
            remove(path);
        } else {
            char line[256], *dir = pegr_cache_dir();
            int len = tuning_line(b->values, line, sizeof line);
            pegr_error err = {0};
            if ((dir && pegr_cache_mkdir(dir, &err) != PEGR_OK) ||
                pegr_file_write_atomic(path, line, (size_t)len, &err) != PEGR_OK)
                status = pegr_ctx_fail(ctx, err.status, "%s", pegr_error_message(&err));
            pegr_error_clear(&err);
            free(dir);
        }
        /* leave this process with the winner in force */
        if (status == PEGR_OK && !b->is_default)
            CLBlastOverrideParameters(dev, "XgemmDirect", clblast_precision(precision),
                                      PEGR_TUNING_PARAMS, NAMES, b->values);
    }
    free(path);
done:
    for (int k = 0; k < 4; k++)
        if (bufs[k]) clReleaseMemObject(bufs[k]);
    return status;
}
#else
int pegr_tuning_apply(pegr_context *ctx, pegr_precision precision)
{
    (void)ctx;
    (void)precision;
    return 0;
}

pegr_status pegr_tuning_run(pegr_context *ctx, pegr_precision precision, size_t n, size_t d,
                            size_t m, size_t max_candidates, pegr_tuning_result **results,
                            size_t *count, size_t *best)
{
    (void)precision; (void)n; (void)d; (void)m; (void)max_candidates;
    *results = NULL;
    *count = *best = 0;
    return pegr_ctx_fail(ctx, PEGR_ERR_UNSUPPORTED, "this pegr was built without CLBlast: nothing to tune");
}
#endif

/* program.c: build OpenCL programs from the .cl files at run time, per device, with a -D preamble
 * and an on-disk binary cache; a failed build records the device, the options and the build log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "device/context_impl.h"
#include "util/clock.h"
#include "device/kernel_abi.h"
#include "device/kernel_source.h"
#include "device/program_cache.h"

struct pegr_program {
    cl_program program;
    char *options;
    int from_cache;
    double seconds; /* wall time of the build (or the cache load) */
    char key[33];   /* the binary cache's key: a hash of the source, options and device */
};

/* Every program starts with common.cl (REAL, fp64 pragma, helpers). */
static const char COMMON_FILE[] = "common.cl";

static int c_version_at_least_12(const char *opencl_c_version)
{
    /* "OpenCL C 1.2 pocl", "OpenCL C 3.0 ..." */
    int major = 0, minor = 0;
    if (sscanf(opencl_c_version, "OpenCL C %d.%d", &major, &minor) != 2) return 0;
    return major > 1 || (major == 1 && minor >= 2);
}

/* The -D preamble: everything per-device goes in here, never into the kernel text; then the
 * constants host and kernels share (kernel_abi.h), then the caller's extra options. */
static char *build_options(const pegr_context *ctx, pegr_precision precision, const char *extra)
{
    const pegr_device_info *dev = &ctx->device;
    /* A power of two not above the cap, so tree reductions in local memory are simple. */
    size_t wg = pegr_kernel_wg_size(pegr_context_max_work_group_size(ctx));
    size_t abi_len = pegr_kernel_abi_options(NULL, 0);
    char *abi = malloc(abi_len + 1);
    if (!abi) return NULL;
    pegr_kernel_abi_options(abi, abi_len + 1);
    const char *std = c_version_at_least_12(dev->opencl_c_version) ? "-cl-std=CL1.2 " : "";
    const char *real = precision == PEGR_FP64 ? "double" : "float";
    const char *sep = extra && *extra ? " " : "";
    const char *more = extra ? extra : "";
    const int fp64 = precision == PEGR_FP64, cpu = dev->type == PEGR_DEVICE_TYPE_CPU;
    /* Sized by a first pass: the extra options have no bound. */
#define OPTIONS_FORMAT "%s-D REAL=%s -D PEGR_FP64=%d -D PEGR_WG_SIZE=%zu -D PEGR_IS_CPU=%d %s%s%s"
    int len = snprintf(NULL, 0, OPTIONS_FORMAT, std, real, fp64, wg, cpu, abi, sep, more);
    char *buf = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (buf)
        snprintf(buf, (size_t)len + 1, OPTIONS_FORMAT, std, real, fp64, wg, cpu, abi, sep, more);
#undef OPTIONS_FORMAT
    free(abi);
    return buf;
}

/* common.cl followed by each file, each behind its own #line directive. */
static pegr_status assemble_source(pegr_context *ctx, const char *const *files, size_t nfiles,
                                   char **out)
{
    *out = NULL;
    size_t used = 0;
    char *all = NULL;
    for (size_t i = 0; i <= nfiles; i++) {
        const char *name = i == 0 ? COMMON_FILE : files[i - 1];
        char *text = NULL;
        pegr_status s = pegr_kernel_source_load(name, &text, &ctx->error);
        if (s != PEGR_OK) { free(all); return s; }
        size_t len = strlen(text);
        char *grown = realloc(all, used + len + 2);
        if (!grown) {
            free(text);
            free(all);
            return pegr_ctx_fail(ctx, PEGR_ERR_NO_MEMORY, "out of memory assembling kernels");
        }
        all = grown;
        memcpy(all + used, text, len);
        used += len;
        all[used++] = '\n';
        all[used] = '\0';
        free(text);
    }
    *out = all;
    return PEGR_OK;
}

static char *build_log(cl_program program, cl_device_id dev)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) != CL_SUCCESS)
        return strdup("(no build log available)");
    char *log = malloc(size + 1);
    if (!log) return NULL;
    if (clGetProgramBuildInfo(program, dev, CL_PROGRAM_BUILD_LOG, size, log, NULL) != CL_SUCCESS)
        size = 0;
    log[size] = '\0';
    return log;
}

/* Try the cached binary; 1 when it built, 0 otherwise. Nothing about a cache entry is an error:
 * a missing, odd or bad file, or a binary the driver refuses or does not report as built, is
 * logged and the caller compiles from source (and rewrites the entry atomically). */
static int build_from_cache(pegr_context *ctx, const char *dir, const char *key,
                            const char *options, cl_program *out)
{
    unsigned char *binary = NULL;
    size_t size = 0;
    pegr_error why = {0};
    pegr_cache_result r = pegr_cache_load(dir, key, &binary, &size, &why);
    if (r != PEGR_CACHE_HIT) {
        if (r == PEGR_CACHE_INVALID)
            pegr_ctx_log(ctx, PEGR_LOG_WARN, "ignoring the program cache entry for key %s (%s); "
                         "compiling from source", key, pegr_error_message(&why));
        pegr_error_clear(&why);
        return 0;
    }
    cl_device_id dev = (cl_device_id)ctx->device.cl_device;
    cl_int bin_status = CL_SUCCESS, rc = CL_SUCCESS;
    const unsigned char *bins[1] = {binary};
    cl_program p = clCreateProgramWithBinary(ctx->cl_ctx, 1, &dev, &size, bins, &bin_status, &rc);
    free(binary);
    if (rc == CL_SUCCESS && bin_status == CL_SUCCESS)
        rc = clBuildProgram(p, 1, &dev, options, NULL, NULL);
    /* The driver's own word that the program is built, not only clBuildProgram's return. */
    cl_build_status built = CL_BUILD_NONE;
    if (rc == CL_SUCCESS && bin_status == CL_SUCCESS)
        rc = clGetProgramBuildInfo(p, dev, CL_PROGRAM_BUILD_STATUS, sizeof built, &built, NULL);
    if (rc != CL_SUCCESS || bin_status != CL_SUCCESS || built != CL_BUILD_SUCCESS) {
        pegr_ctx_log(ctx, PEGR_LOG_WARN,
                     "cached binary %s rejected by the driver (%s); compiling from source", key,
                     rc != CL_SUCCESS || bin_status != CL_SUCCESS
                         ? pegr_status_name(rc != CL_SUCCESS ? rc : bin_status)
                         : "build status is not CL_BUILD_SUCCESS");
        if (p) clReleaseProgram(p);
        return 0;
    }
    *out = p;
    return 1;
}

static void store_in_cache(pegr_context *ctx, const char *dir, const char *key, cl_program p)
{
    size_t size = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        size == 0)
        return;
    unsigned char *binary = malloc(size);
    if (!binary) return;
    unsigned char *bins[1] = {binary};
    pegr_error err = {0};
    if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS &&
        pegr_cache_store(dir, key, binary, size, &err) != PEGR_OK)
        pegr_ctx_log(ctx, PEGR_LOG_WARN, "program cache not written: %s", pegr_error_message(&err));
    pegr_error_clear(&err);
    free(binary);
}

static pegr_status build_from_source(pegr_context *ctx, const char *source, const char *options,
                                     cl_program *out)
{
    cl_device_id dev = (cl_device_id)ctx->device.cl_device;
    cl_int rc = CL_SUCCESS;
    cl_program p = clCreateProgramWithSource(ctx->cl_ctx, 1, &source, NULL, &rc);
    if (rc != CL_SUCCESS) return pegr_ctx_cl_fail(ctx, rc, "clCreateProgramWithSource", NULL);
    rc = clBuildProgram(p, 1, &dev, options, NULL, NULL);
    if (rc != CL_SUCCESS) {
        char *log = build_log(p, dev);
        pegr_status s = pegr_ctx_fail(ctx, rc == CL_BUILD_PROGRAM_FAILURE ? PEGR_ERR_BUILD : rc,
                                      "clBuildProgram failed with %s (%d); options: %s; build log:\n%s",
                                      pegr_status_name(rc), (int)rc, options, log ? log : "");
        free(log);
        clReleaseProgram(p);
        return s;
    }
    *out = p;
    return PEGR_OK;
}

pegr_status pegr_program_build(pegr_context *ctx, const char *const *files, size_t nfiles,
                               pegr_precision precision, const char *extra_options,
                               pegr_program **out)
{
    *out = NULL;
    if (precision == PEGR_FP64 && !ctx->device.fp64)
        return pegr_ctx_fail(ctx, PEGR_ERR_UNSUPPORTED,
                             "fp64 was asked for but the device does not list cl_khr_fp64; use "
                             "--precision fp32 or another device");
    double t0 = pegr_now_seconds();
    pegr_program *prog = calloc(1, sizeof *prog);
    char *source = NULL, *dir = NULL;
    pegr_status status = PEGR_OK;
    if (!prog) return pegr_ctx_fail(ctx, PEGR_ERR_NO_MEMORY, "out of memory");
    prog->options = build_options(ctx, precision, extra_options);
    if (!prog->options) { status = pegr_ctx_fail(ctx, PEGR_ERR_NO_MEMORY, "out of memory"); goto done; }
    status = assemble_source(ctx, files, nfiles, &source);
    if (status != PEGR_OK) goto done;

    char *key = prog->key;
    pegr_cache_key(source, prog->options, &ctx->device, key);
    dir = pegr_cache_dir();
    if (dir && build_from_cache(ctx, dir, key, prog->options, &prog->program)) {
        prog->from_cache = 1;
        prog->seconds = pegr_now_seconds() - t0;
        pegr_ctx_log(ctx, PEGR_LOG_INFO, "program %s loaded from the binary cache in %.3f s (%s)",
                     key, prog->seconds, dir);
        goto done;
    }
    status = build_from_source(ctx, source, prog->options, &prog->program);
    prog->seconds = pegr_now_seconds() - t0;
    if (status == PEGR_OK)
        pegr_ctx_log(ctx, PEGR_LOG_INFO, "program %s compiled in %.3f s with %s", key,
                     prog->seconds, prog->options);
    if (status == PEGR_OK && dir) store_in_cache(ctx, dir, key, prog->program);

done:
    free(source);
    free(dir);
    if (status != PEGR_OK) {
        pegr_program_release(prog);
        return status;
    }
    *out = prog;
    return PEGR_OK;
}

void pegr_program_release(pegr_program *program)
{
    if (!program) return;
    if (program->program) clReleaseProgram(program->program);
    free(program->options);
    free(program);
}

void *pegr_program_cl(const pegr_program *program) { return program->program; }

int pegr_program_from_cache(const pegr_program *program) { return program->from_cache; }

const char *pegr_program_options(const pegr_program *program) { return program->options; }

const char *pegr_program_cache_key(const pegr_program *program) { return program->key; }

double pegr_program_build_seconds(const pegr_program *program) { return program->seconds; }

/* context.c: a pegr_context -- one device's OpenCL context and in-order queue -- and the helpers
 * that record errors (with the device named) and send log messages. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/context_impl.h"
#include "util/format.h"

pegr_status pegr_ctx_fail(pegr_context *ctx, pegr_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = pegr_vformat(fmt, ap);
    va_end(ap);
    pegr_error_set(&ctx->error, status, "%s (device '%s', platform '%s')", what ? what : "",
                   ctx->device.name, ctx->device.platform_name);
    free(what);
    return status;
}

pegr_status pegr_ctx_cl_fail(pegr_context *ctx, cl_int code, const char *call, const char *context)
{
    /* `call` may be the whole expression text from PEGR_CL_CHECK: keep the function's name. */
    size_t len = strcspn(call, "( ");
    return pegr_ctx_fail(ctx, code, "%.*s failed with %s (%d)%s%s", (int)len, call,
                         pegr_status_name(code), (int)code, context ? ": " : "",
                         context ? context : "");
}

void pegr_ctx_log(const pegr_context *ctx, pegr_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->options.log) return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = pegr_vformat(fmt, ap);
    va_end(ap);
    if (msg) ctx->options.log(ctx->options.log_user, level, msg);
    free(msg);
}

pegr_status pegr_context_create(const pegr_device_info *device, const pegr_context_options *options,
                                pegr_context **out, pegr_error *err)
{
    *out = NULL;
    pegr_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory creating a context");
    ctx->device = *device;
    if (options) ctx->options = *options;

    cl_device_id dev = (cl_device_id)device->cl_device;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     (cl_context_properties)device->cl_platform, 0};
    cl_int rc = CL_SUCCESS;
    ctx->cl_ctx = clCreateContext(props, 1, &dev, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) {
        pegr_ctx_cl_fail(ctx, rc, "clCreateContext", NULL);
        goto fail;
    }
    cl_command_queue_properties qprops = ctx->options.profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    /* clCreateCommandQueue is the OpenCL 1.2 call; it is deprecated only from 2.0 on. */
    ctx->queue = clCreateCommandQueue(ctx->cl_ctx, dev, qprops, &rc);
    if (rc != CL_SUCCESS) {
        pegr_ctx_cl_fail(ctx, rc, "clCreateCommandQueue", NULL);
        goto fail;
    }
    pegr_ctx_log(ctx, PEGR_LOG_INFO, "using device %zu: %s (%s, %s)", device->index, device->name,
                 pegr_device_type_name(device->type), device->platform_name);
    *out = ctx;
    return PEGR_OK;

fail:;
    pegr_status status = pegr_error_set(err, ctx->error.status, "%s", pegr_error_message(&ctx->error));
    pegr_context_destroy(ctx);
    return status;
}

void pegr_context_destroy(pegr_context *ctx)
{
    if (!ctx) return;
    if (ctx->queue) {
        clFinish(ctx->queue);
        clReleaseCommandQueue(ctx->queue);
    }
    if (ctx->cl_ctx) clReleaseContext(ctx->cl_ctx);
    pegr_error_clear(&ctx->error);
    free(ctx);
}

const pegr_device_info *pegr_context_device(const pegr_context *ctx) { return &ctx->device; }

const pegr_error *pegr_context_error(const pegr_context *ctx) { return &ctx->error; }

size_t pegr_context_max_work_group_size(const pegr_context *ctx)
{
    size_t limit = ctx->device.max_work_group_size;
    size_t cap = ctx->options.max_work_group_size;
    if (cap && cap < limit) limit = cap;
    return limit ? limit : 1;
}

pegr_status pegr_context_open(const char *spec, int need_fp64, const pegr_context_options *options,
                              pegr_context **out, pegr_error *err)
{
    pegr_device_info *list = NULL;
    size_t count = 0, chosen = 0;
    char reason[1024];
    pegr_context_options none = {0};
    if (!options) options = &none;
    *out = NULL;
    pegr_status s = pegr_device_list(&list, &count, err);
    if (s == PEGR_OK)
        s = pegr_device_select_for(list, count, pegr_device_spec_effective(spec), need_fp64,
                                   &chosen, reason, sizeof reason, err);
    if (s == PEGR_OK) {
        if (options->log) options->log(options->log_user, PEGR_LOG_INFO, reason);
        s = pegr_context_create(&list[chosen], options, out, err);
    }
    pegr_device_list_free(list);
    return s;
}

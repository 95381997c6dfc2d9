/* context_impl.h: the inside of a pegr_context and the helpers that record errors and log on it.
 * Only the library's own files include this. */
#ifndef PEGR_CONTEXT_IMPL_H
#define PEGR_CONTEXT_IMPL_H

#include "device/cl_include.h"
#include "pegr/pegr.h"

struct pegr_context {
    pegr_device_info device;
    pegr_context_options options;
    cl_context cl_ctx;
    cl_command_queue queue;
    pegr_error error; /* the last error on this handle */
};

/* Record an error on the context with the device's name appended; returns status. */
pegr_status pegr_ctx_fail(pegr_context *ctx, pegr_status status, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Record a failed OpenCL call: "clFoo failed with CL_BAR (-n) on device 'X' (context)". */
pegr_status pegr_ctx_cl_fail(pegr_context *ctx, cl_int code, const char *call, const char *context);
/* Send a message to the log callback, when one is set. */
void pegr_ctx_log(const pegr_context *ctx, pegr_log_level level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Evaluate an OpenCL call; on failure record it (the call's text) on ctx and jump to `label`.
 * Needs `pegr_status status` in scope. The clean-up ladder at `label` releases in reverse order
 * (the Khronos OpenCL-SDK's OCLERROR_RET idiom). */
#define PEGR_CL_CHECK(ctx, call, label)                                                            \
    do {                                                                                           \
        cl_int pegr_cl_rc_ = (call);                                                               \
        if (pegr_cl_rc_ != CL_SUCCESS) {                                                           \
            status = pegr_ctx_cl_fail((ctx), pegr_cl_rc_, #call, NULL);                            \
            goto label;                                                                            \
        }                                                                                          \
    } while (0)

/* The same for calls that report through an errcode_ret out-parameter: check `rc` after
 * `name` (a string, e.g. "clCreateBuffer"). */
#define PEGR_CL_CHECK_RC(ctx, rc, name, label)                                                     \
    do {                                                                                           \
        if ((rc) != CL_SUCCESS) {                                                                  \
            status = pegr_ctx_cl_fail((ctx), (rc), (name), NULL);                                  \
            goto label;                                                                            \
        }                                                                                          \
    } while (0)

#endif

/* status.c: names and messages of pegr and OpenCL status codes, and the pegr_error record.
 * OpenCL's codes are listed here by value (not from CL/cl.h) so that this file, and every
 * host-only part of pegr, builds and runs on a machine without OpenCL headers. */
#include "pegr/status.h"

#include "util/format.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OpenCL 1.2 error codes plus the ICD loader's, (name, value). */
#define PEGR_CL_ERROR_MAP(X)                                                                        \
    X(CL_DEVICE_NOT_FOUND, -1) X(CL_DEVICE_NOT_AVAILABLE, -2) X(CL_COMPILER_NOT_AVAILABLE, -3)      \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE, -4) X(CL_OUT_OF_RESOURCES, -5) X(CL_OUT_OF_HOST_MEMORY, -6)  \
    X(CL_PROFILING_INFO_NOT_AVAILABLE, -7) X(CL_MEM_COPY_OVERLAP, -8) X(CL_IMAGE_FORMAT_MISMATCH, -9) \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED, -10) X(CL_BUILD_PROGRAM_FAILURE, -11) X(CL_MAP_FAILURE, -12)    \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET, -13) X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST, -14)     \
    X(CL_COMPILE_PROGRAM_FAILURE, -15) X(CL_LINKER_NOT_AVAILABLE, -16) X(CL_LINK_PROGRAM_FAILURE, -17) \
    X(CL_DEVICE_PARTITION_FAILED, -18) X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE, -19)                      \
    X(CL_INVALID_VALUE, -30) X(CL_INVALID_DEVICE_TYPE, -31) X(CL_INVALID_PLATFORM, -32)              \
    X(CL_INVALID_DEVICE, -33) X(CL_INVALID_CONTEXT, -34) X(CL_INVALID_QUEUE_PROPERTIES, -35)         \
    X(CL_INVALID_COMMAND_QUEUE, -36) X(CL_INVALID_HOST_PTR, -37) X(CL_INVALID_MEM_OBJECT, -38)       \
    X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR, -39) X(CL_INVALID_IMAGE_SIZE, -40) X(CL_INVALID_SAMPLER, -41) \
    X(CL_INVALID_BINARY, -42) X(CL_INVALID_BUILD_OPTIONS, -43) X(CL_INVALID_PROGRAM, -44)            \
    X(CL_INVALID_PROGRAM_EXECUTABLE, -45) X(CL_INVALID_KERNEL_NAME, -46)                             \
    X(CL_INVALID_KERNEL_DEFINITION, -47) X(CL_INVALID_KERNEL, -48) X(CL_INVALID_ARG_INDEX, -49)      \
    X(CL_INVALID_ARG_VALUE, -50) X(CL_INVALID_ARG_SIZE, -51) X(CL_INVALID_KERNEL_ARGS, -52)          \
    X(CL_INVALID_WORK_DIMENSION, -53) X(CL_INVALID_WORK_GROUP_SIZE, -54)                             \
    X(CL_INVALID_WORK_ITEM_SIZE, -55) X(CL_INVALID_GLOBAL_OFFSET, -56)                               \
    X(CL_INVALID_EVENT_WAIT_LIST, -57) X(CL_INVALID_EVENT, -58) X(CL_INVALID_OPERATION, -59)         \
    X(CL_INVALID_GL_OBJECT, -60) X(CL_INVALID_BUFFER_SIZE, -61) X(CL_INVALID_MIP_LEVEL, -62)         \
    X(CL_INVALID_GLOBAL_WORK_SIZE, -63) X(CL_INVALID_PROPERTY, -64)                                  \
    X(CL_INVALID_IMAGE_DESCRIPTOR, -65) X(CL_INVALID_COMPILER_OPTIONS, -66)                          \
    X(CL_INVALID_LINKER_OPTIONS, -67) X(CL_INVALID_DEVICE_PARTITION_COUNT, -68)                      \
    X(CL_PLATFORM_NOT_FOUND_KHR, -1001)

const char *pegr_status_name(pegr_status status)
{
    switch (status) {
#define PEGR_NAME_CASE_(name, value, msg) case value: return #name;
        PEGR_STATUS_MAP(PEGR_NAME_CASE_)
#undef PEGR_NAME_CASE_
#define PEGR_CL_NAME_CASE_(name, value) case value: return #name;
        PEGR_CL_ERROR_MAP(PEGR_CL_NAME_CASE_)
#undef PEGR_CL_NAME_CASE_
    default: break;
    }
    if (status < 0 && status > -10000) return "CL_UNKNOWN_ERROR";
    return "PEGR_UNKNOWN_STATUS";
}

const char *pegr_status_message(pegr_status status)
{
    switch (status) {
#define PEGR_MSG_CASE_(name, value, msg) case value: return msg;
        PEGR_STATUS_MAP(PEGR_MSG_CASE_)
#undef PEGR_MSG_CASE_
    default: break;
    }
    if (status < 0 && status > -10000) return "OpenCL error";
    return "unknown status";
}

char *pegr_vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int len = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (len < 0) return NULL;
    char *s = malloc((size_t)len + 1);
    if (s) vsnprintf(s, (size_t)len + 1, fmt, ap);
    return s;
}

pegr_status pegr_error_set(pegr_error *err, pegr_status status, const char *fmt, ...)
{
    if (!err) return status;
    free(err->message);
    err->message = NULL;
    err->status = status;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        err->message = pegr_vformat(fmt, ap);
        va_end(ap);
    }
    return status;
}

void pegr_error_prefix(pegr_error *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    char *prefix = pegr_vformat(fmt, ap);
    va_end(ap);
    if (!prefix) return;
    const char *old = pegr_error_message(err);
    size_t len = strlen(prefix) + 2 + strlen(old) + 1;
    char *joined = malloc(len);
    if (joined) {
        snprintf(joined, len, "%s: %s", prefix, old);
        free(err->message);
        err->message = joined;
    }
    free(prefix);
}

const char *pegr_error_message(const pegr_error *err)
{
    if (!err) return "";
    if (err->message) return err->message;
    return pegr_status_message(err->status);
}

void pegr_error_clear(pegr_error *err)
{
    if (!err) return;
    free(err->message);
    err->message = NULL;
    err->status = PEGR_OK;
}

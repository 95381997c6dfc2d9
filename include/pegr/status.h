/* status.h: pegr's one status type, its codes and the error record that carries context.
 * 0 is success, negative is failure. OpenCL's own codes (-1 .. -9999) pass through unchanged;
 * pegr's own codes live in -10000 and below. Names and messages come from one X-macro list. */
#ifndef PEGR_STATUS_H
#define PEGR_STATUS_H

#include <stddef.h>

/* PEGR_API marks what libpegr exports. The library is built with -fvisibility=hidden, so anything
 * without it stays inside (a test checks that the installed library exports only pegr_ names). */
#ifndef PEGR_API
#if defined(_WIN32) && defined(PEGR_BUILDING_LIBRARY)
#define PEGR_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define PEGR_API __attribute__((visibility("default")))
#else
#define PEGR_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef int pegr_status;

/* X(name, value, message): the single list that the enum, pegr_status_name and
 * pegr_status_message are generated from (libuv's UV_ERRNO_MAP idea). */
#define PEGR_STATUS_MAP(X)                                                                          \
    X(PEGR_OK, 0, "success")                                                                         \
    X(PEGR_ERR_INVALID_ARGUMENT, -10001, "invalid argument")                                         \
    X(PEGR_ERR_NO_MEMORY, -10002, "out of host memory")                                              \
    X(PEGR_ERR_NO_PLATFORM, -10003, "no OpenCL platform is installed")                               \
    X(PEGR_ERR_NO_DEVICE, -10004, "no OpenCL device matches")                                        \
    X(PEGR_ERR_BUILD, -10005, "OpenCL program build failed")                                         \
    X(PEGR_ERR_IO, -10006, "file input/output failed")                                               \
    X(PEGR_ERR_FORMAT, -10007, "malformed input file")                                               \
    X(PEGR_ERR_SHAPE, -10008, "array shapes do not fit each other")                                  \
    X(PEGR_ERR_UNSUPPORTED, -10009, "not supported")                                                 \
    X(PEGR_ERR_NOT_FOUND, -10010, "not found")                                                       \
    X(PEGR_ERR_NONFINITE, -10011, "NaN or Inf encountered")                                          \
    X(PEGR_ERR_DEVICE_MEMORY, -10012, "allocation larger than the device allows")                    \
    X(PEGR_ERR_INTERNAL, -10013, "internal error")                                                   \
    X(PEGR_ERR_CLBLAST, -10014, "CLBlast call failed")

enum pegr_status_code {
#define PEGR_STATUS_ENUM_(name, value, msg) name = value,
    PEGR_STATUS_MAP(PEGR_STATUS_ENUM_)
#undef PEGR_STATUS_ENUM_
};

/* The symbolic name of a status ("PEGR_ERR_BUILD", "CL_OUT_OF_RESOURCES"); never NULL. */
PEGR_API const char *pegr_status_name(pegr_status status);
/* A one-line human message for a status; never NULL. */
PEGR_API const char *pegr_status_message(pegr_status status);

/* An error record: the status and a message with context (the failing call, the device, the file,
 * a build log). The message is heap-allocated and owned by the record; pegr_error_clear frees it.
 * Every fallible call takes an optional `pegr_error *err` (NULL is allowed: then only the status is
 * returned). A zero-initialised record ({0}) is empty and valid. */
typedef struct pegr_error {
    pegr_status status;
    char *message;
} pegr_error;

/* Record `status` with a printf-style message into err (if err is not NULL); returns status, so a
 * call site can write `return pegr_error_set(err, PEGR_ERR_IO, "cannot open '%s'", path);`. */
PEGR_API pegr_status pegr_error_set(pegr_error *err, pegr_status status, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Prefix the current message with more context: "context: old message". */
PEGR_API void pegr_error_prefix(pegr_error *err, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The message, or the status's generic message when none was recorded; never NULL. */
PEGR_API const char *pegr_error_message(const pegr_error *err);
/* Free the message and reset to PEGR_OK. */
PEGR_API void pegr_error_clear(pegr_error *err);

#ifdef __cplusplus
}
#endif
#endif

/* device.h: OpenCL devices -- listing and choosing them, a context (one device, its context and
 * in-order queue), programs built from the kernels in cl/ at run time, and the smoke test.
 *
 * Thread-safety: the listing and selection calls are pure and may run on any thread. A context, and
 * everything made on it, is used by one thread at a time; distinct contexts are independent. */
#ifndef PEGR_DEVICE_H
#define PEGR_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Devices -------------------------------------------------------------------------------- */

typedef enum pegr_device_type {
    PEGR_DEVICE_TYPE_OTHER = 0,
    PEGR_DEVICE_TYPE_CPU = 1,
    PEGR_DEVICE_TYPE_GPU = 2,
    PEGR_DEVICE_TYPE_ACCELERATOR = 3,
} pegr_device_type;

#define PEGR_INFO_STR 256

/* Facts about one OpenCL device, read once at enumeration. */
typedef struct pegr_device_info {
    size_t index;          /* position in the enumeration, as `pegr devices` prints it */
    size_t platform_index; /* P of the "P:D" spec */
    size_t device_index;   /* D of the "P:D" spec: index within its platform */
    char platform_name[PEGR_INFO_STR];
    char platform_vendor[PEGR_INFO_STR];
    char platform_version[PEGR_INFO_STR];
    char name[PEGR_INFO_STR];
    char vendor[PEGR_INFO_STR];
    char version[PEGR_INFO_STR];          /* CL_DEVICE_VERSION */
    char driver_version[PEGR_INFO_STR];
    char opencl_c_version[PEGR_INFO_STR];
    pegr_device_type type;
    uint32_t compute_units;
    size_t max_work_group_size;
    uint64_t local_mem_size;
    uint64_t global_mem_size;
    uint64_t max_mem_alloc_size;
    int fp64;    /* the device lists cl_khr_fp64 */
    int is_pocl; /* the platform is the Portable Computing Language */
    int host_unified_memory; /* CL_DEVICE_HOST_UNIFIED_MEMORY: an integrated GPU (or a CPU) */
    void *cl_platform; /* cl_platform_id */
    void *cl_device;   /* cl_device_id */
} pegr_device_info;

/* List every device of every platform. OUT: *list (free with pegr_device_list_free), *count.
 * With no platform at all returns PEGR_ERR_NO_PLATFORM with a message on how to install one. */
PEGR_API pegr_status pegr_device_list(pegr_device_info **list, size_t *count, pegr_error *err);
PEGR_API void pegr_device_list_free(pegr_device_info *list);

/* The name of a device type: "cpu", "gpu", "accelerator", "other". */
PEGR_API const char *pegr_device_type_name(pegr_device_type type);

/* The spec in force: `flag_spec` when given and non-empty, else $PEGR_DEVICE when set and non-empty,
 * else NULL (the default rule). */
PEGR_API const char *pegr_device_spec_effective(const char *flag_spec);

/* Pick a device by spec: an index as `pegr devices` prints it ("0"), "P:D", "cpu" / "gpu" /
 * "accelerator" (the best of that type by the default's order: "gpu" takes a real GPU before a
 * simulator, discrete before integrated), or a case-insensitive substring of the device, vendor or platform name. NULL or
 * "" picks the default: a real GPU (discrete before integrated), else an accelerator, else a CPU,
 * else a simulator (pegr_device_is_simulator), else the first device; the first in list order
 * among equals. Pure: works on any list (tests pass a fake one). OUT: *chosen, the list position.
 * A spec that matches nothing gives PEGR_ERR_NO_DEVICE naming the spec and listing the devices. */
PEGR_API pegr_status pegr_device_select(const pegr_device_info *list, size_t count, const char *spec,
                               size_t *chosen, pegr_error *err);

/* pegr_device_select for a run that needs fp64 (need_fp64 != 0): the default rule then ranks
 * devices with cl_khr_fp64 first (with none, it picks as without, and the run's fp64 check says
 * so). OUT (optional, reason_size > 0): reason, one sentence on why that device was chosen, for
 * the log. */
PEGR_API pegr_status pegr_device_select_for(const pegr_device_info *list, size_t count, const char *spec,
                                   int need_fp64, size_t *chosen, char *reason, size_t reason_size,
                                   pegr_error *err);

/* 1 when the device is a simulator (Oclgrind): correct but orders of magnitude slower, so never the
 * default while anything else is there. */
PEGR_API int pegr_device_is_simulator(const pegr_device_info *device);

/* ---- Context: one device, its OpenCL context and in-order queue ------------------------------- */

typedef enum pegr_log_level {
    PEGR_LOG_DEBUG = 0,
    PEGR_LOG_INFO = 1,
    PEGR_LOG_WARN = 2,
} pegr_log_level;

typedef void (*pegr_log_fn)(void *user, pegr_log_level level, const char *message);

typedef struct pegr_context_options {
    int profiling;              /* create the queue with CL_QUEUE_PROFILING_ENABLE */
    size_t max_work_group_size; /* cap on work-group sizes (0: the device's limit) */
    pegr_log_fn log;            /* optional: receives what the library has to say */
    void *log_user;
} pegr_context_options;

typedef struct pegr_context pegr_context;

/* Create a context on one device of a list from pegr_device_list (the info is copied). */
PEGR_API pegr_status pegr_context_create(const pegr_device_info *device, const pegr_context_options *options,
                                pegr_context **out, pegr_error *err);
PEGR_API void pegr_context_destroy(pegr_context *ctx);
/* The one way to open the device a spec selects: list the devices, pick one by
 * pegr_device_select_for's rules (spec NULL or "": $PEGR_DEVICE, else the default device; need_fp64
 * ranks fp64 devices first under the default rule), tell options->log why (INFO), create the
 * context. options may be NULL. A spec that matches nothing names the spec and lists the devices. */
PEGR_API pegr_status pegr_context_open(const char *spec, int need_fp64, const pegr_context_options *options,
                              pegr_context **out, pegr_error *err);
PEGR_API const pegr_device_info *pegr_context_device(const pegr_context *ctx);
/* The last error recorded on this context (status PEGR_OK when none). */
PEGR_API const pegr_error *pegr_context_error(const pegr_context *ctx);
/* The work-group size cap in force: min(device limit, options cap). */
PEGR_API size_t pegr_context_max_work_group_size(const pegr_context *ctx);

/* ---- Programs: .cl files from cl/, compiled per device at run time --------------------------- */

typedef enum pegr_precision {
    PEGR_FP32 = 0,
    PEGR_FP64 = 1,
} pegr_precision;

typedef struct pegr_program pegr_program;

/* Build the named kernel files (e.g. {"smoke.cl"}), in order, after the common preamble, with
 * -D REAL=float|double and the device's choices. Sources are the copies embedded at build time,
 * or the files in $PEGR_KERNEL_DIR when it is set. Binaries are cached on disk
 * ($PEGR_CACHE_DIR, default $XDG_CACHE_HOME/pegr or ~/.cache/pegr; off with PEGR_NO_CACHE=1).
 * `extra_options` (may be NULL) is appended to the build options. A failed build records the
 * device, the options and the full build log. fp64 on a device without cl_khr_fp64 is refused. */
PEGR_API pegr_status pegr_program_build(pegr_context *ctx, const char *const *files, size_t nfiles,
                               pegr_precision precision, const char *extra_options,
                               pegr_program **out);
PEGR_API void pegr_program_release(pegr_program *program);
/* The cl_program handle (for creating kernels). */
PEGR_API void *pegr_program_cl(const pegr_program *program);
/* 1 when the program came from the on-disk binary cache, 0 when it was compiled. */
PEGR_API int pegr_program_from_cache(const pegr_program *program);
/* The full build options used. */
PEGR_API const char *pegr_program_options(const pegr_program *program);
/* The key of the program's entry in the binary cache (32 hex digits: a hash of its source, build
 * options and device), whether or not a cache directory is in use. Owned by the program. */
PEGR_API const char *pegr_program_cache_key(const pegr_program *program);
/* Wall seconds the build (or the cache load) took. */
PEGR_API double pegr_program_build_seconds(const pegr_program *program);

/* Run the smoke kernel (y = a*x + y on `count` elements, REAL precision) and compare against the
 * host; OUT: *max_abs_err. A quick end-to-end check that building and running kernels works. */
PEGR_API pegr_status pegr_smoke_run(pegr_context *ctx, pegr_precision precision, size_t count,
                           double *max_abs_err, double *seconds);

#ifdef __cplusplus
}
#endif
#endif

/* engine_launch.h: the launch layer of the OpenCL engine (engine_launch.c): typed kernel arguments
 * (the first failure is kept) and launches that choose their work-group sizes (engine_internal.h
 * has the layers). */
#ifndef PEGR_ENGINE_LAUNCH_H
#define PEGR_ENGINE_LAUNCH_H

#include "engine/engine_buffers.h"

typedef struct engine_args {
    pegr_engine *e;
    cl_kernel kernel;
    const char *name;
    cl_uint next;
    cl_int rc;
} engine_args;

engine_args engine_args_begin(pegr_engine *e, cl_kernel kernel, const char *name);
void engine_arg_mem(engine_args *a, cl_mem mem);
void engine_arg_u32(engine_args *a, size_t value);
void engine_arg_u64(engine_args *a, size_t value);
void engine_arg_i32(engine_args *a, int value);
void engine_arg_real(engine_args *a, double value);
/* A __local argument of `bytes` bytes. */
void engine_arg_local(engine_args *a, size_t bytes);
/* Launch over `global` (dims 1..3; any sizes: kernels bounds-check) with the local size the
 * work-group cap asks for (NULL local when there is none). */
pegr_status engine_launch(engine_args *a, cl_uint dims, const size_t *global);
/* Launch with the caller's local size (within the kernel's and the cap's limits; global a
 * multiple of it), or one work-group of `local` work-items per run. */
pegr_status engine_launch_local(engine_args *a, cl_uint dims, const size_t *global,
                                const size_t *local);
pegr_status engine_launch_group_per_run(engine_args *a, size_t local);
/* The local size along dimension 0 engine_launch takes for a's kernel (0: NULL, the driver's
 * choice): without a cap, for 1-D launches, a multiple of the kernel's preferred multiple within
 * CL_KERNEL_WORK_GROUP_SIZE, the global size padded to it; with a cap, a power of two within it. */
size_t engine_launch_local_size(engine_args *a, cl_uint dims, size_t global0);
/* Tests: the global and local size (dimension 0, after padding) of the last launch of kernel
 * `name`; 0 when it has not been launched. */
int engine_launch_record(const pegr_engine *e, const char *name, size_t *global0, size_t *local0);

#endif

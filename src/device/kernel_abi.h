/* kernel_abi.h: the constants the host and the kernels (the .cl files) must agree on, defined once
 * here and handed to every program as -D options (pegr_kernel_abi_options; program.c appends them
 * to the per-device ones). No .cl file defines any of them: common.cl refuses to compile without
 * them, and the standalone kernel checks (tests/cl_program.sh) take the same options from
 * tests/kernel_abi_options.c, which prints what this header says. Header-only, so that program.c
 * and that printer share it without linking the library. */
#ifndef PEGR_KERNEL_ABI_H
#define PEGR_KERNEL_ABI_H

#include <stddef.h>
#include <stdio.h>

#include "pegr/backend.h" /* pegr_method: the values are the method ids the kernels receive */

/* The largest PEGR_WG_SIZE a program is built with (a power of two): the work-group size of the
 * kernels' local-memory trees, and so the size of their __local arrays. */
#define PEGR_WG_SIZE_MAX 256

/* The value of a run's first_bad (the first step whose weights are not finite) while no step
 * has diverged: INT_MAX, so that the kernels' atomic_min keeps the first step that does. The
 * host never records a step index at or above it (engine_eval.c clamps). */
#define PEGR_NO_DIVERGENCE 0x7fffffff

/* The sums pegr_train_stats writes per run, from the slot it is given on: the loss, the wrong
 * decisions, ||g_i||^2, ||g_i||^4 and rho (engine_object.h's SLOT_STATS row). */
#define PEGR_STATS_COUNT 5

/* The modes of pegr_reduce_sum: sum x, sum x^2, sum x w. */
enum { PEGR_REDUCE_SUM = 0, PEGR_REDUCE_SQUARES = 1, PEGR_REDUCE_DOT = 2 };

/* Every constant above, and the methods a kernel can be asked for (pegr_method), as one list:
 * X(NAME) for each. */
#define PEGR_KERNEL_ABI(X)                                                                         \
    X(PEGR_METHOD_GD)                                                                              \
    X(PEGR_METHOD_PEGR)                                                                            \
    X(PEGR_METHOD_GR)                                                                              \
    X(PEGR_REDUCE_SUM)                                                                             \
    X(PEGR_REDUCE_SQUARES)                                                                         \
    X(PEGR_REDUCE_DOT)                                                                             \
    X(PEGR_STATS_COUNT)                                                                            \
    X(PEGR_NO_DIVERGENCE)                                                                          \
    X(PEGR_WG_SIZE_MAX)

/* The list as "-D NAME=VALUE" options separated by spaces, snprintf-style: at most size bytes
 * (with the NUL) into buf; returns the length of the whole string (call with size 0 to size
 * the buffer). */
static inline size_t pegr_kernel_abi_options(char *buf, size_t size)
{
    size_t used = 0;
    /* #name is the name as written (an argument is not expanded for #); (name) its value. */
#define PEGR_KERNEL_ABI_OPTION_(name)                                                              \
    used += (size_t)snprintf(buf ? buf + (used < size ? used : size) : NULL,                       \
                             used < size ? size - used : 0, "%s-D %s=%ld", used ? " " : "",        \
                             #name, (long)(name));
    PEGR_KERNEL_ABI(PEGR_KERNEL_ABI_OPTION_)
#undef PEGR_KERNEL_ABI_OPTION_
    return used;
}

/* PEGR_WG_SIZE for a device (or cap) that allows work-groups of `limit`: the largest power of
 * two within it and PEGR_WG_SIZE_MAX (1 at least), so that tree reductions halve evenly. */
static inline size_t pegr_kernel_wg_size(size_t limit)
{
    size_t wg = 1;
    while (wg * 2 <= limit && wg < PEGR_WG_SIZE_MAX) wg *= 2;
    return wg;
}

#endif

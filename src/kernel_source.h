/* kernel_source.h: where kernel sources come from -- the copies embedded at build time, or the
 * .cl files in $PEGR_KERNEL_DIR during kernel development. */
#ifndef PEGR_KERNEL_SOURCE_H
#define PEGR_KERNEL_SOURCE_H

#include <stddef.h>

#include "pegr/status.h"

typedef struct pegr_embedded_kernel {
    const char *name;   /* base name, "smoke.cl" */
    const char *source; /* the file's text */
} pegr_embedded_kernel;

extern const pegr_embedded_kernel pegr_embedded_kernels[];
extern const size_t pegr_embedded_kernel_count;

/* The text of the named .cl file, malloc'ed (free it): from $PEGR_KERNEL_DIR when set, else the
 * embedded copy. The text starts with a #line directive naming the file, so compiler messages
 * point at the right file and line. */
pegr_status pegr_kernel_source_load(const char *name, char **text, pegr_error *err);

#endif

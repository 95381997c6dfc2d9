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

/* The largest .cl file read from $PEGR_KERNEL_DIR (the biggest of cl/ is a few tens of KB). */
#define PEGR_KERNEL_FILE_MAX_BYTES ((size_t)16 << 20)

/* The text of the named .cl file, malloc'ed (free it): from $PEGR_KERNEL_DIR when set, else the
 * embedded copy. The text starts with a #line directive naming the file, so compiler messages
 * point at the right file and line. A file in $PEGR_KERNEL_DIR must be a regular file (symbolic
 * links to one are followed) of at most PEGR_KERNEL_FILE_MAX_BYTES: a FIFO is refused without
 * blocking, a device such as /dev/zero without reading it. */
pegr_status pegr_kernel_source_load(const char *name, char **text, pegr_error *err);

#endif

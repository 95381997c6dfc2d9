/* fsutil.h: small file-system helpers: whole-file read, atomic write (temp name + rename),
 * mkdir -p, tree removal (rm -rf without a shell), path joining. */
#ifndef PEGR_FSUTIL_H
#define PEGR_FSUTIL_H

#include <stddef.h>

#include "pegr/status.h"

/* "dir/name", malloc'ed; NULL when out of memory. */
char *pegr_path_join(const char *dir, const char *name);
/* Read a whole file; *data is malloc'ed with a terminating NUL not counted in *len. */
pegr_status pegr_file_read_all(const char *path, char **data, size_t *len, pegr_error *err);
/* Write `len` bytes to path atomically: into "path.tmp.PID" first, then rename over path. On
 * failure nothing is left behind and an existing file at path is untouched. */
pegr_status pegr_file_write_atomic(const char *path, const void *data, size_t len, pegr_error *err);
/* pegr_file_write_atomic of DIR/NAME: how every output file of pegr is written. */
pegr_status pegr_file_write_in(const char *dir, const char *name, const void *data, size_t len,
                               pegr_error *err);
/* Create a directory and its parents (like mkdir -p); existing directories are fine. */
pegr_status pegr_mkdir_p(const char *path, pegr_error *err);
/* Remove path and, when it is a directory, everything below it (like rm -rf, without a shell).
 * Symbolic links are removed, never followed: nothing outside the tree is touched, even when an
 * entry is swapped for a link while the tree is removed. A path that does not exist is success. */
pegr_status pegr_remove_tree(const char *path, pegr_error *err);

#endif

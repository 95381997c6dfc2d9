/* fsutil.h: small file helpers: whole-file read, atomic write (temp name + rename),
 * mkdir -p, tree removal (rm -rf without a shell), path joining. */
#ifndef PEGR_FSUTIL_H
#define PEGR_FSUTIL_H

#include <stddef.h>

#include "pegr/status.h"

/* "dir/name", malloc'ed; NULL when out of memory. */
char *pegr_path_join(const char *dir, const char *name);
/* The most pegr_file_read_all reads: 64 MiB. Every file pegr reads this way is its own text
 * (sweep.args and sweep.canonical of a few KiB, a run's row.csv of under 1 KiB, a run's metrics
 * and summaries): the cap only stops a runaway read, it never bites a real file. */
#define PEGR_FILE_READ_MAX ((size_t)64 << 20)
/* Read a whole file; *data is malloc'ed with a terminating NUL not counted in *len. Only a regular
 * file (or a symbolic link to one) of at most PEGR_FILE_READ_MAX bytes is read: a FIFO, a device
 * such as /dev/zero or a directory is refused at once (pegr_safe_read_file, PEGR_SAFE_FOLLOW).
 * PEGR_ERR_NOT_FOUND when nothing is there, PEGR_ERR_IO for anything else wrong. */
pegr_status pegr_file_read_all(const char *path, char **data, size_t *len, pegr_error *err);
/* Write `len` bytes to path atomically: into "path.tmp.PID" first, then rename over path. On
 * failure nothing is left behind and an existing file at path is untouched. The temporary is
 * created new (O_EXCL | O_NOFOLLOW): a symlink or FIFO planted under its name is removed, never
 * written through or blocked on. */
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

/* safe_open.h: read a whole file that may sit in a directory someone else can write (the kernel
 * binary cache, the stored GEMM tuning, $PEGR_KERNEL_DIR, input arrays): never block on a FIFO,
 * never read a device such as /dev/zero, never allocate more than a size cap. */
#ifndef PEGR_SAFE_OPEN_H
#define PEGR_SAFE_OPEN_H

#include <stddef.h>

#include "pegr/status.h"

enum {
    /* Follow a symbolic link in the last path component (the default refuses it: O_NOFOLLOW). The
     * target is still checked: a link to /dev/zero is refused as not a regular file. */
    PEGR_SAFE_FOLLOW = 1u << 0,
    /* Also accept a pipe or FIFO (a user-named input such as <(cmd)): it is opened without
     * blocking -- a FIFO nobody writes to reads as empty instead of hanging the open -- and then
     * read up to the cap. Without this flag only regular files are accepted. */
    PEGR_SAFE_ALLOW_PIPE = 1u << 1,
    /* The file must belong to the effective user (as ssh checks its keys): an entry someone else
     * planted in a shared directory is refused. */
    PEGR_SAFE_OWN = 1u << 2,
};

/* Read path whole into *data (malloc'ed, NUL-terminated, the NUL not counted in *len), refusing
 * anything but a regular file (see the flags) of at most max_size bytes. Errors name the path and
 * what was wrong: PEGR_ERR_NOT_FOUND when nothing is there, PEGR_ERR_IO for a symbolic link, a
 * FIFO, a device, a directory, a file over the cap or of another owner, or a read error,
 * PEGR_ERR_NO_MEMORY. On failure *data is NULL. */
pegr_status pegr_safe_read_file(const char *path, unsigned flags, size_t max_size, char **data,
                                size_t *len, pegr_error *err);

#endif

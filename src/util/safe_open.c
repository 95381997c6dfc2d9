/* safe_open.c: see safe_open.h. POSIX: open(2) with O_NOFOLLOW | O_NONBLOCK, fstat(2) checks. */
#include "util/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Read from fd until EOF into a buffer of at most max_size bytes (+ the NUL). `hint` is the size
 * fstat reported (0 for a pipe): the buffer starts there, so a regular file is read in one
 * allocation; more bytes than max_size is an error, never an unbounded allocation. */
static pegr_status read_bounded(int fd, const char *path, size_t hint, size_t max_size,
                                char **data, size_t *len, pegr_error *err)
{
    /* hint + 1: a regular file's EOF is seen without growing the buffer. */
    size_t cap = hint < 4096 ? 4096 : hint < max_size ? hint + 1 : max_size;
    if (cap > max_size) cap = max_size;
    char *buf = malloc(cap + 1);
    if (!buf) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory reading '%s'", path);
    size_t used = 0;
    for (;;) {
        if (used == cap) {
            /* Full: one byte more than max_size means too large; otherwise grow (pipes, or a
             * file that grew since fstat) geometrically up to the cap. */
            if (cap == max_size) {
                char probe;
                ssize_t r;
                do r = read(fd, &probe, 1);
                while (r < 0 && errno == EINTR);
                if (r == 0) break;
                free(buf);
                if (r < 0)
                    return pegr_error_set(err, PEGR_ERR_IO, "error reading '%s': %s", path,
                                          strerror(errno));
                return pegr_error_set(err, PEGR_ERR_IO,
                                      "'%s' holds more than %zu bytes, the most accepted here",
                                      path, max_size);
            }
            size_t grown_cap = cap <= max_size / 2 ? cap * 2 : max_size;
            char *grown = realloc(buf, grown_cap + 1);
            if (!grown) {
                free(buf);
                return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory reading '%s'", path);
            }
            buf = grown;
            cap = grown_cap;
        }
        ssize_t r = read(fd, buf + used, cap - used);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return pegr_error_set(err, PEGR_ERR_IO, "error reading '%s': %s", path, strerror(e));
        }
        if (r == 0) break;
        used += (size_t)r;
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return PEGR_OK;
}

pegr_status pegr_safe_read_file(const char *path, unsigned flags, size_t max_size, char **data,
                                size_t *len, pegr_error *err)
{
    *data = NULL;
    *len = 0;
    if (max_size == SIZE_MAX) max_size = SIZE_MAX - 1; /* room for the NUL */
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
     * O_NOCTTY: a terminal named here never becomes ours. */
    int oflags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    if (!(flags & PEGR_SAFE_FOLLOW)) oflags |= O_NOFOLLOW;
    int fd = open(path, oflags);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT) return pegr_error_set(err, PEGR_ERR_NOT_FOUND, "'%s' does not exist", path);
        if (e == ELOOP && !(flags & PEGR_SAFE_FOLLOW))
            return pegr_error_set(err, PEGR_ERR_IO,
                                  "'%s' is a symbolic link; only a regular file is accepted here",
                                  path);
        return pegr_error_set(err, PEGR_ERR_IO, "cannot open '%s': %s", path, strerror(e));
    }
    pegr_status s = PEGR_OK;
    struct stat st;
    int is_pipe = 0;
    if (fstat(fd, &st) != 0) {
        s = pegr_error_set(err, PEGR_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
    } else if (S_ISFIFO(st.st_mode) && (flags & PEGR_SAFE_ALLOW_PIPE)) {
        is_pipe = 1;
    } else if (!S_ISREG(st.st_mode)) {
        s = pegr_error_set(err, PEGR_ERR_IO, "'%s' is %s; only a regular file%s is accepted here",
                           path, kind_of(st.st_mode),
                           flags & PEGR_SAFE_ALLOW_PIPE ? " or a pipe" : "");
    } else if ((uintmax_t)st.st_size > (uintmax_t)max_size) {
        s = pegr_error_set(err, PEGR_ERR_IO,
                           "'%s' is %jd bytes, more than the %zu accepted here", path,
                           (intmax_t)st.st_size, max_size);
    }
    if (s == PEGR_OK && (flags & PEGR_SAFE_OWN) && st.st_uid != geteuid())
        s = pegr_error_set(err, PEGR_ERR_IO,
                           "'%s' belongs to user id %ld, not to this user (%ld); refusing it", path,
                           (long)st.st_uid, (long)geteuid());
    /* A pipe is read blocking from here on: its writer is already there (or it reads as empty). */
    if (s == PEGR_OK && is_pipe) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
            s = pegr_error_set(err, PEGR_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    }
    if (s == PEGR_OK)
        s = read_bounded(fd, path, is_pipe ? 0 : (size_t)st.st_size, max_size, data, len, err);
    close(fd);
    return s;
}

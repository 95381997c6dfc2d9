/* fsutil.c: file helpers (POSIX). */
#include "util/fsutil.h"

#include "util/safe_open.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

char *pegr_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *out = malloc(a + b + 2);
    if (!out) return NULL;
    memcpy(out, dir, a);
    size_t at = a;
    if (a > 0 && dir[a - 1] != '/') out[at++] = '/';
    memcpy(out + at, name, b + 1);
    return out;
}

pegr_status pegr_file_read_all(const char *path, char **data, size_t *len, pegr_error *err)
{
    /* The files read here can sit in a directory others can write (a sweep directory shared by
     * shards, a run directory): a FIFO must not block, a link to /dev/zero must not be read until
     * memory runs out. A symbolic link is followed (a user may link a file into place) but its
     * target must be a regular file too. */
    return pegr_safe_read_file(path, PEGR_SAFE_FOLLOW, PEGR_FILE_READ_MAX, data, len, err);
}

/* Write all of data to fd, through short writes and EINTR. 0 or an errno value. */
static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Create tmp for writing as a new regular file: O_EXCL | O_NOFOLLOW, so a symlink planted under
 * the temporary's name is never written through and a FIFO never blocks the open. Something
 * already there that is not a directory (a leftover of a dead process with this pid, a planted
 * link or FIFO) is unlinked -- unlink removes a link itself, never its target -- and the create is
 * tried again, a few times in case the name keeps being taken; a directory there is an error. The
 * mode is fopen's (0666 less the umask), as before. Returns the fd, or -1 with errno set. */
static int create_temporary(const char *tmp)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
        struct stat st;
        if (lstat(tmp, &st) == 0 && S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return -1;
        }
        if (unlink(tmp) != 0 && errno != ENOENT) return -1;
    }
    errno = EEXIST;
    return -1;
}

pegr_status pegr_file_write_atomic(const char *path, const void *data, size_t len, pegr_error *err)
{
    size_t cap = strlen(path) + 32;
    char *tmp = malloc(cap);
    if (!tmp) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    pegr_status s = PEGR_OK;
    int fd = create_temporary(tmp);
    if (fd < 0) {
        s = pegr_error_set(err, PEGR_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    } else {
        int e = write_all(fd, data, len);
        if (close(fd) != 0 && e == 0) e = errno;
        if (e != 0)
            s = pegr_error_set(err, PEGR_ERR_IO, "cannot write '%s': %s", tmp, strerror(e));
        else if (rename(tmp, path) != 0)
            s = pegr_error_set(err, PEGR_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                               strerror(errno));
        if (s != PEGR_OK) unlink(tmp);
    }
    free(tmp);
    return s;
}

pegr_status pegr_file_write_in(const char *dir, const char *name, const void *data, size_t len,
                               pegr_error *err)
{
    char *path = pegr_path_join(dir, name);
    if (!path) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    pegr_status s = pegr_file_write_atomic(path, data, len, err);
    free(path);
    return s;
}

pegr_status pegr_mkdir_p(const char *path, pegr_error *err)
{
    char *copy = strdup(path);
    if (!copy) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    pegr_status s = PEGR_OK;
    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
                s = pegr_error_set(err, PEGR_ERR_IO, "cannot create directory '%s': %s", copy,
                                   strerror(errno));
                break;
            }
            *p = saved;
            if (saved == '\0') break;
        }
    }
    free(copy);
    if (s == PEGR_OK) {
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            s = pegr_error_set(err, PEGR_ERR_IO, "'%s' exists and is not a directory", path);
    }
    return s;
}

/* The entry `name` of the directory open as dirfd, and everything below it. Directories are opened
 * with O_NOFOLLOW | O_DIRECTORY relative to their parent's descriptor (openat/unlinkat rather than
 * nftw's path strings), so an entry replaced by a symlink between the lstat and the open is refused
 * (ELOOP/ENOTDIR) instead of followed; a symlink itself is just unlinked. `path` names the entry
 * in messages. One descriptor is open per level: run directories are a few levels deep. */
static pegr_status remove_at(int dirfd, const char *name, const char *path, pegr_error *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? PEGR_OK
                               : pegr_error_set(err, PEGR_ERR_IO, "cannot remove '%s': %s", path,
                                                strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
            return pegr_error_set(err, PEGR_ERR_IO, "cannot remove '%s': %s", path, strerror(errno));
        return PEGR_OK;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return pegr_error_set(err, PEGR_ERR_IO, "cannot open directory '%s' to remove it: %s", path,
                              strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return pegr_error_set(err, PEGR_ERR_IO, "cannot read directory '%s': %s", path, strerror(e));
    }
    pegr_status s = PEGR_OK;
    struct dirent *ent;
    while (s == PEGR_OK && (ent = readdir(d))) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
        char *child = pegr_path_join(path, ent->d_name);
        s = child ? remove_at(fd, ent->d_name, child, err)
                  : pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
        free(child);
    }
    closedir(d); /* closes fd */
    if (s == PEGR_OK && unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        s = pegr_error_set(err, PEGR_ERR_IO, "cannot remove directory '%s': %s", path,
                           strerror(errno));
    return s;
}

pegr_status pegr_remove_tree(const char *path, pegr_error *err)
{
    return remove_at(AT_FDCWD, path, path, err);
}

/* fsutil.c: file-system helpers (POSIX). */
#include "fsutil.h"

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
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return pegr_error_set(err, PEGR_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap + 1);
    pegr_status s = PEGR_OK;
    while (buf) {
        used += fread(buf + used, 1, cap - used, f);
        if (used < cap) break;
        char *grown = realloc(buf, cap * 2 + 1);
        if (!grown) { free(buf); buf = NULL; break; }
        buf = grown;
        cap *= 2;
    }
    if (!buf)
        s = pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory reading '%s'", path);
    else if (ferror(f))
        s = pegr_error_set(err, PEGR_ERR_IO, "error reading '%s'", path);
    fclose(f);
    if (s != PEGR_OK) { free(buf); return s; }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return PEGR_OK;
}

pegr_status pegr_file_write_atomic(const char *path, const void *data, size_t len, pegr_error *err)
{
    size_t cap = strlen(path) + 32;
    char *tmp = malloc(cap);
    if (!tmp) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    pegr_status s = PEGR_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        s = pegr_error_set(err, PEGR_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    } else {
        int bad = len > 0 && fwrite(data, 1, len, f) != len;
        bad |= fflush(f) != 0;
        bad |= fclose(f) != 0;
        if (bad)
            s = pegr_error_set(err, PEGR_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        else if (rename(tmp, path) != 0)
            s = pegr_error_set(err, PEGR_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                               strerror(errno));
        if (s != PEGR_OK) remove(tmp);
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

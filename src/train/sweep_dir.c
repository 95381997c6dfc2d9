/* sweep_dir.c: a sweep's directory: DIR/runs made, the sweep it holds compared, whole files read,
 * the lock that keeps two sweeps apart, and the temporary run directories of dead processes
 * removed. */
/* flock and kill(pid, 0) on every POSIX system, but flock is not in POSIX 2008: glibc and musl
 * show it with _DEFAULT_SOURCE, Darwin with _DARWIN_C_SOURCE (meson.build defines it there). */
#define _DEFAULT_SOURCE 1
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "train/sweep_internal.h"
#include "util/fsutil.h"

/* Room under DIR for runs/.ID.tmp.HOST.PID/FILE: ids and file names stay far below this. */
#define SWEEP_PATH_ROOM 1024

char *pegr_sweep_runs_path(const char *dir, const char *name)
{
    char *runs = pegr_path_join(dir, "runs");
    char *path = runs && name ? pegr_path_join(runs, name) : NULL;
    if (!name) return runs;
    free(runs);
    return path;
}

void pegr_sweep_host_name(char *host, size_t len)
{
    /* '.' -> '_', so the name is one dot-separated field of ".ID.tmp.HOST.PID" */
    host[0] = '\0';
    gethostname(host, len - 1);
    host[len - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == '.') *c = '_';
}

pegr_status pegr_sweep_dir_init(const char *dir, pegr_error *err)
{
    /* Paths under DIR are built to any length, but the kernel takes none over PATH_MAX: refuse a
     * DIR that leaves no room for the runs' paths before anything is created, not after a
     * half-made tree of directories. */
    if (strlen(dir) > PATH_MAX - SWEEP_PATH_ROOM)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep directory's name is %zu "
                              "characters long; at most %d fit (the runs' paths under it must "
                              "stay below PATH_MAX, %d)", strlen(dir), PATH_MAX - SWEEP_PATH_ROOM,
                              PATH_MAX);
    char *runs = pegr_sweep_runs_path(dir, NULL);
    pegr_status made = runs ? pegr_mkdir_p(runs, err)
                            : pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    free(runs);
    return made;
}

pegr_status pegr_sweep_dir_read(const char *dir, const char *name, char **text, size_t *len,
                                pegr_error *err)
{
    *text = NULL;
    *len = 0;
    char *path = pegr_path_join(dir, name);
    if (!path) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    pegr_status st = pegr_file_read_all(path, text, len, err);
    free(path);
    return st;
}

int pegr_sweep_dir_differs(const pegr_sweep *s, const char *dir)
{
    char *old = NULL, *now = pegr_sweep_canonical(s);
    size_t len = 0;
    int differs = now && pegr_sweep_dir_read(dir, "sweep.canonical", &old, &len, NULL) == PEGR_OK &&
                  strcmp(old, now) != 0;
    free(old);
    free(now);
    return differs;
}

/* ---- the lock -------------------------------------------------------------------------------- */

/* The descriptors stay open (and are inherited by forked workers) until the sweep ends; O_CLOEXEC
 * keeps them out of anything exec'ed, O_NOFOLLOW refuses a symlink planted at the lock's name. */
struct pegr_sweep_lock {
    int fd[2];
};

void pegr_sweep_unlock(pegr_sweep_lock *lock)
{
    if (!lock) return;
    for (int i = 0; i < 2; i++)
        if (lock->fd[i] >= 0) close(lock->fd[i]);
    free(lock);
}

/* The pid a lock file holds, 0 when none can be read. */
static long lock_holder(int fd)
{
    char text[32];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) return 0;
    text[n] = '\0';
    char *end = NULL;
    long pid = strtol(text, &end, 10);
    return end != text && pid > 0 ? pid : 0;
}

/* Lock DIR/NAME with `op` (LOCK_EX or LOCK_SH); the fd in *fd, this process's pid written in. */
static pegr_status lock_one(const char *dir, const char *name, int op, int *fd, pegr_error *err)
{
    char *path = pegr_path_join(dir, name);
    if (!path) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    pegr_status st = PEGR_OK;
    if (*fd < 0) {
        st = pegr_error_set(err, PEGR_ERR_IO, "cannot open the lock file '%s': %s", path,
                            strerror(errno));
    } else {
        int r;
        while ((r = flock(*fd, op | LOCK_NB)) != 0 && errno == EINTR) {}
        if (r == 0) {
            /* fixed width, so writers sharing a lock never leave a mix of two pids */
            char text[24];
            int len = snprintf(text, sizeof text, "%-11ld\n", (long)getpid());
            int written = pwrite(*fd, text, (size_t)len, 0) == len && ftruncate(*fd, len) == 0;
            (void)written; /* the pid only serves a second sweep's message: no reason to stop */
        } else if (errno == EWOULDBLOCK) {
            long pid = lock_holder(*fd);
            char who[48] = "";
            if (pid) snprintf(who, sizeof who, " (pid %ld)", pid);
            st = pegr_error_set(err, PEGR_ERR_IO, "%s is in use by another sweep%s; wait for it to "
                                "finish, or give this one another --out", dir, who);
        } else {
            st = pegr_error_set(err, PEGR_ERR_IO, "cannot lock '%s': %s", path, strerror(errno));
        }
        if (st != PEGR_OK) {
            close(*fd);
            *fd = -1;
        }
    }
    free(path);
    return st;
}

pegr_status pegr_sweep_lock_dir(const char *dir, size_t shard, size_t shards,
                                pegr_sweep_lock **out, pegr_error *err)
{
    *out = NULL;
    pegr_sweep_lock *lock = malloc(sizeof *lock);
    if (!lock) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    lock->fd[0] = lock->fd[1] = -1;
    pegr_status st = lock_one(dir, ".lock", shards > 1 ? LOCK_SH : LOCK_EX, &lock->fd[0], err);
    if (st == PEGR_OK && shards > 1) {
        char name[80];
        snprintf(name, sizeof name, ".lock.shard-%zu-of-%zu", shard, shards);
        st = lock_one(dir, name, LOCK_EX, &lock->fd[1], err);
    }
    if (st != PEGR_OK) {
        pegr_sweep_unlock(lock);
        return st;
    }
    *out = lock;
    return PEGR_OK;
}

/* ---- stale temporaries ----------------------------------------------------------------------- */

/* Is `name` (an entry of DIR/runs) a temporary run directory ".ID.tmp.HOST.PID" of this host
 * whose process is gone? Parsed from the end: an id never decides where HOST or PID starts. */
static int stale_temporary(const char *name, const char *host)
{
    const char *dot = strrchr(name, '.');
    size_t hl = strlen(host);
    if (name[0] != '.' || !dot || !dot[1] || strspn(dot + 1, "0123456789") != strlen(dot + 1))
        return 0;
    if ((size_t)(dot - name) < 1 + 5 + hl || memcmp(dot - hl, host, hl) != 0 ||
        memcmp(dot - hl - 5, ".tmp.", 5) != 0)
        return 0;
    errno = 0;
    long pid = strtol(dot + 1, NULL, 10);
    if (errno || pid <= 0 || (long)(pid_t)pid != pid) return 1; /* no process has that pid */
    /* EPERM: alive, someone else's */
    return !(kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

void pegr_sweep_remove_stale(const char *dir, const pegr_sweep_callbacks *cb)
{
    char host[256];
    pegr_sweep_host_name(host, sizeof host);
    char *runs = pegr_sweep_runs_path(dir, NULL);
    DIR *d = runs ? opendir(runs) : NULL;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        if (!stale_temporary(ent->d_name, host)) continue;
        char *path = pegr_path_join(runs, ent->d_name);
        pegr_error err = {0};
        if (!path || pegr_remove_tree(path, &err) != PEGR_OK)
            pegr_sweep_tell(cb, "could not remove a stale temporary directory: %s",
                            path ? pegr_error_message(&err) : "out of memory");
        pegr_error_clear(&err);
        free(path);
    }
    if (d) closedir(d);
    free(runs);
}

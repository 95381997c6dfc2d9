/* cmd_sweep.c: `pegr sweep` -- every run of a grid x methods x seeds, each landing atomically in
 * DIR/runs/ID (trained in a temporary directory, then renamed), so a sweep killed at any moment
 * and restarted runs each missing run exactly once. One worker per device (and per
 * --jobs-per-device), claiming runs from a shared counter; --shard I/N (or Slurm's array
 * variables) runs a deterministic share; --emit writes a Slurm job array or GNU parallel commands.
 * DIR/results.csv is rebuilt from the finished runs at the end. A sweep holds a lock on DIR (one
 * per shard) while it runs, so two sweeps never train the same runs. Workers die with the parent
 * and stop at the next step when it is asked to stop. No shell: trees go with pegr_remove_tree. */
/* MAP_ANONYMOUS (shared memory between workers) and flock are not in POSIX 2008: glibc and musl
 * show them with _DEFAULT_SOURCE, Darwin only with _DARWIN_C_SOURCE (meson.build defines it there;
 * here too for a build without meson). */
#define _DEFAULT_SOURCE 1
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON /* the BSD name: some systems define only this one */
#endif

#include "pegr/backend.h"
#include "check/check.h"
#include "util/clock.h"
#include "commands.h"
#include "interrupt.h"
#include "engine/engine.h"
#include "util/fsutil.h"
#include "sweep_cli.h"

#define MAX_WORKERS PEGR_CLI_MAX_FORWARD /* the parent hands stop signals on to each */


/* DIR/runs/ID (or DIR/runs/NAME for any name), malloc'ed; NULL when out of memory. Every path
 * under --out is built this way: --out has no length limit short of PATH_MAX. */
static char *runs_path(const char *out, const char *name)
{
    char *runs = pegr_path_join(out, "runs");
    char *path = runs && name ? pegr_path_join(runs, name) : NULL;
    if (!name) return runs;
    free(runs);
    return path;
}

/* Whether run k is done: DIR/runs/ID holds one complete row of that run (sweep_run_is_done). A
 * directory that is there but not done (a row.csv truncated, damaged, another run's, or missing)
 * is removed, so the run trains again and its rename into place finds the name free. It cannot be
 * a run on its way: runs land by renaming a complete directory, so DIR/runs/ID without its row
 * was damaged after landing (and this runs in the parent under the sweep's lock, or its shard's).
 * 1 done, 0 to run, -1 when a damaged directory could not be removed (said on stderr; the run is
 * then not trained and the sweep exits 1). */
static int run_state(const sweep_cli *cli, size_t k)
{
    if (sweep_run_is_done(&cli->spec, k, cli->out)) return 1;
    char id[SWEEP_ID_MAX + 1];
    sweep_run_id(&cli->spec, k, id, sizeof id);
    char *path = runs_path(cli->out, id);
    if (!path) {
        fprintf(stderr, "pegr sweep: run %s: out of memory\n", id);
        return -1;
    }
    struct stat st;
    int state = 0;
    if (lstat(path, &st) == 0) {
        fprintf(stderr, "pegr sweep: %s holds no complete row.csv of its run: training it again\n",
                path);
        pegr_error err = {0};
        if (pegr_remove_tree(path, &err) != PEGR_OK) {
            fprintf(stderr, "pegr sweep: run %s not trained: %s\n", id, pegr_error_message(&err));
            state = -1;
        }
        pegr_error_clear(&err);
    }
    free(path);
    return state;
}

/* This host's name as it appears in temporary run directories ('.' -> '_', so the name is one
 * dot-separated field of ".ID.tmp.HOST.PID"). */
static void host_name(char *host, size_t len)
{
    host[0] = '\0';
    gethostname(host, len - 1);
    host[len - 1] = '\0';
    for (char *c = host; *c; c++)
        if (*c == '.') *c = '_';
}

/* ---- the lock ------------------------------------------------------------------------------ */

/* Two sweeps on one DIR would train every run twice. A sweep holds flock locks while it runs:
 * unsharded, DIR/.lock exclusively; shard I of N, DIR/.lock shared (shards of one sweep run side by
 * side, on one machine or on several machines sharing DIR) plus DIR/.lock.shard-I-of-N
 * exclusively. The second sweep exits 1 naming the holder's pid, written into the lock files.
 * The descriptors stay open (and are inherited by the workers) until the sweep ends; O_CLOEXEC
 * keeps them out of anything exec'ed, O_NOFOLLOW refuses a symlink planted at the lock's name. */
typedef struct sweep_lock {
    int fd[2];
} sweep_lock;

static void unlock_dir(sweep_lock *lock)
{
    for (int i = 0; i < 2; i++)
        if (lock->fd[i] >= 0) close(lock->fd[i]);
    lock->fd[0] = lock->fd[1] = -1;
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

/* Lock DIR/NAME with `op` (LOCK_EX or LOCK_SH); 1 taken, 0 held by another sweep (said on stderr),
 * -1 error (said on stderr). On success the fd is in *fd, with this process's pid written in. */
static int lock_one(const char *out, const char *name, int op, int *fd)
{
    char *path = pegr_path_join(out, name);
    if (!path) return -1;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    int rc = -1;
    if (*fd < 0) {
        fprintf(stderr, "pegr sweep: cannot open the lock file '%s': %s\n", path, strerror(errno));
    } else {
        int r;
        while ((r = flock(*fd, op | LOCK_NB)) != 0 && errno == EINTR) {}
        if (r == 0) {
            /* fixed width, so writers sharing a lock never leave a mix of two pids */
            char text[24];
            int len = snprintf(text, sizeof text, "%-11ld\n", (long)getpid());
            int written = pwrite(*fd, text, (size_t)len, 0) == len && ftruncate(*fd, len) == 0;
            (void)written; /* the pid only serves a second sweep's message: no reason to stop */
            rc = 1;
        } else if (errno == EWOULDBLOCK) {
            long pid = lock_holder(*fd);
            char who[48] = "";
            if (pid) snprintf(who, sizeof who, " (pid %ld)", pid);
            fprintf(stderr, "pegr sweep: %s is in use by another sweep%s; wait for it to finish, "
                            "or give this one another --out\n", out, who);
            rc = 0;
        } else {
            fprintf(stderr, "pegr sweep: cannot lock '%s': %s\n", path, strerror(errno));
        }
        if (rc != 1) {
            close(*fd);
            *fd = -1;
        }
    }
    free(path);
    return rc;
}

/* -1 to go on (locked), else the exit code. */
static int lock_dir(const char *out, size_t shard, size_t shards, sweep_lock *lock)
{
    lock->fd[0] = lock->fd[1] = -1;
    int got = lock_one(out, ".lock", shards > 1 ? LOCK_SH : LOCK_EX, &lock->fd[0]);
    if (got == 1 && shards > 1) {
        char name[80];
        snprintf(name, sizeof name, ".lock.shard-%zu-of-%zu", shard, shards);
        got = lock_one(out, name, LOCK_EX, &lock->fd[1]);
    }
    if (got == 1) return -1;
    unlock_dir(lock);
    return PEGR_EXIT_FAILURE;
}

/* ---- the directory ------------------------------------------------------------------------- */

/* DIR/runs is made; a sweep that runs (not --emit) locks DIR; a new DIR is described, an existing
 * one must hold the same sweep unless --extend. -1 to go on, else the exit code. */
static int prepare_dir(const sweep_cli *cli, size_t shard, size_t shards, sweep_lock *lock)
{
    pegr_error err = {0};
    lock->fd[0] = lock->fd[1] = -1;
    /* Paths under DIR are built to any length, but the kernel takes none over PATH_MAX: refuse a
     * --out that leaves no room for runs/.ID.tmp.HOST.PID/FILE (ids and file names stay far below
     * 1024 characters) before anything is created, not after a half-made tree of directories. */
    if (strlen(cli->out) > PATH_MAX - 1024)
        return pegr_args_usage_error(&SWEEP_COMMAND,
                                     "--out is %zu characters long; at most %d fit (the runs' "
                                     "paths under it must stay below PATH_MAX, %d): give a "
                                     "shorter --out", strlen(cli->out), PATH_MAX - 1024, PATH_MAX);
    char *runs = runs_path(cli->out, NULL);
    pegr_status made = runs ? pegr_mkdir_p(runs, &err)
                            : pegr_error_set(&err, PEGR_ERR_NO_MEMORY, "out of memory");
    free(runs);
    if (made != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    if (!cli->emit) {
        int rc = lock_dir(cli->out, shard, shards, lock);
        if (rc >= 0) return rc;
    }
    char *path = pegr_path_join(cli->out, "sweep.canonical"), *old = NULL;
    size_t len = 0;
    char *now = sweep_canonical(&cli->spec);
    int differs = path && now && pegr_file_read_all(path, &old, &len, NULL) == PEGR_OK &&
                  strcmp(old, now) != 0;
    free(path);
    free(old);
    free(now);
    int rc = -1;
    if (differs && !cli->extend) {
        rc = pegr_args_usage_error(&SWEEP_COMMAND,
                                   "%s holds a different sweep (another grid, methods, seeds or "
                                   "options): use another --out, or --extend to add this one's "
                                   "runs to it (runs with the same id are reused)", cli->out);
    } else if (sweep_write_description(cli, cli->out, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        rc = PEGR_EXIT_FAILURE;
    }
    if (rc >= 0) unlock_dir(lock);
    return rc;
}

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

/* Temporary run directories of dead workers of this host (a killed sweep) go; others' stay. */
static void remove_stale_temporaries(const char *out)
{
    char host[256];
    host_name(host, sizeof host);
    char *runs = runs_path(out, NULL);
    DIR *d = runs ? opendir(runs) : NULL;
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        if (!stale_temporary(ent->d_name, host)) continue;
        char *path = pegr_path_join(runs, ent->d_name);
        pegr_error err = {0};
        if (!path || pegr_remove_tree(path, &err) != PEGR_OK)
            fprintf(stderr, "pegr sweep: could not remove a stale temporary directory: %s\n",
                    path ? pegr_error_message(&err) : "out of memory");
        pegr_error_clear(&err);
        free(path);
    }
    if (d) closedir(d);
    free(runs);
}

/* ---- workers ------------------------------------------------------------------------------- */

/* The runs to do, in batches: batch i is runs[first[i] .. first[i + 1]). */
typedef struct worker_plan {
    const sweep_cli *cli;
    const size_t *runs; /* this shard's runs still to do, batch after batch */
    const size_t *first;
    size_t nruns, nbatches;
    size_t *next;       /* shared counter of claimed batches (mmap) */
    size_t *landed;     /* shared count of finished runs */
} worker_plan;

/* One run of a batch on its way: where it trains and lands, its config and data. */
typedef struct pending_run {
    size_t k; /* the run's index in the sweep */
    char id[512];     /* bounded: ids are validated names, not paths */
    char *final, *tmp; /* DIR/runs/ID and DIR/runs/.ID.tmp.HOST.PID (malloc'ed; tmp NULL once gone) */
    pegr_train_config c;
    pegr_dataset ds;
    pegr_train_result r;
} pending_run;

static void discard(pending_run *pr)
{
    pegr_error err = {0};
    if (pr->tmp && pegr_remove_tree(pr->tmp, &err) != PEGR_OK)
        fprintf(stderr, "pegr sweep: could not remove a temporary run directory: %s\n",
                pegr_error_message(&err));
    pegr_error_clear(&err);
    free(pr->tmp);
    free(pr->final);
    pr->tmp = pr->final = NULL;
    pegr_train_result_free(&pr->r);
    pegr_dataset_free(&pr->ds);
}

/* Its temporary directory with config.json, and its data. 0: nothing to do (landed meanwhile) or
 * failed (said on stderr). */
static int prepare(const worker_plan *p, const pegr_run_info *info, pending_run *pr)
{
    const sweep_cli *cli = p->cli;
    char host[256], name[sizeof pr->id + sizeof host + 32];
    sweep_run_id(&cli->spec, pr->k, pr->id, sizeof pr->id);
    host_name(host, sizeof host);
    snprintf(name, sizeof name, ".%s.tmp.%s.%ld", pr->id, host, (long)getpid());
    pr->final = runs_path(cli->out, pr->id);
    pr->tmp = NULL;
    if (!pr->final) {
        fprintf(stderr, "pegr sweep: run %s failed: out of memory\n", pr->id);
        return 0;
    }
    if (access(pr->final, F_OK) == 0) return 0; /* done by someone else meanwhile */
    if (sweep_run_config(&cli->spec, pr->k, &pr->c) != PEGR_EXIT_OK) return 0;
    pegr_error err = {0};
    pr->tmp = runs_path(cli->out, name);
    pegr_status s = pr->tmp ? pegr_mkdir_p(pr->tmp, &err)
                            : pegr_error_set(&err, PEGR_ERR_NO_MEMORY, "out of memory");
    if (s == PEGR_OK) s = pegr_train_write_config(pr->tmp, &pr->c, info, &err);
    if (s == PEGR_OK) s = pegr_data_generate(&pr->c.data, &pr->ds, &err);
    if (s != PEGR_OK) {
        fprintf(stderr, "pegr sweep: run %s failed: %s\n", pr->id, pegr_error_message(&err));
        discard(pr);
    }
    pegr_error_clear(&err);
    return s == PEGR_OK;
}

/* A trained run's files, then the rename into place. 1 landed. */
static int land(const worker_plan *p, const pegr_run_info *info, pending_run *pr)
{
    pegr_error err = {0};
    pegr_status s = pegr_train_write_results(pr->tmp, &pr->c, &pr->r, pr->ds.d, &err);
    if (s == PEGR_OK) s = sweep_write_row(pr->tmp, pr->id, &pr->c, &pr->r, info, &err);
    int landed = s == PEGR_OK && rename(pr->tmp, pr->final) == 0;
    if (s != PEGR_OK) fprintf(stderr, "pegr sweep: run %s failed: %s\n", pr->id, pegr_error_message(&err));
    pegr_error_clear(&err);
    if (!landed) return 0;
    free(pr->tmp);
    pr->tmp = NULL; /* it is pr->final now */
    size_t done = __atomic_add_fetch(p->landed, 1, __ATOMIC_SEQ_CST);
    /* A diverged run has no result to show: its last record's numbers are NaN or those of weights
     * that blew up, so the line says "diverged" and nothing else (as its row's empty metrics). */
    const pegr_train_record *last = pegr_train_result_last(&pr->r);
    char result[64];
    if (pr->r.diverged || !last)
        snprintf(result, sizeof result, "%s", pr->r.diverged ? "diverged" : "no record");
    else
        snprintf(result, sizeof result, "test error %.3f", last->metrics.test_error);
    printf("[%zu/%zu] %s  %s  %.2fs%s\n", done, p->nruns, pr->id, result, pr->r.wall_seconds,
           pr->r.batch_runs > 1 ? " (batch)" : "");
    fflush(stdout);
    return 1;
}

/* Train runs[0..count) as one batch (prepared), then land each. A batch that does not fit the
 * device's memory is split in halves; a backend that cannot batch takes the runs one at a time.
 * Returns how many failed (interrupted runs are not failures). */
static size_t train_batch(const worker_plan *p, pegr_backend *b, const pegr_run_info *info,
                          pending_run *runs, size_t count)
{
    if (count == 0) return 0;
    if (count > 1 && !pegr_backend_can_batch(b)) {
        size_t failed = 0;
        for (size_t i = 0; i < count; i++) failed += train_batch(p, b, info, runs + i, 1);
        return failed;
    }
    pegr_train_config *c = malloc(count * sizeof *c);
    pegr_dataset *ds = malloc(count * sizeof *ds);
    pegr_train_result *r = calloc(count, sizeof *r);
    if (!c || !ds || !r) {
        free(c);
        free(ds);
        free(r);
        return count;
    }
    for (size_t i = 0; i < count; i++) {
        c[i] = runs[i].c;
        ds[i] = runs[i].ds;
    }
    pegr_error err = {0};
    pegr_train_callbacks cb = {NULL, pegr_cli_should_stop, NULL, NULL}; /* watches the parent too */
    pegr_status s = pegr_train_run_batch(b, ds, c, count, &cb, r, &err);
    if (s == PEGR_ERR_DEVICE_MEMORY && count > 1) {
        for (size_t i = 0; i < count; i++) pegr_train_result_free(&r[i]);
        pegr_error_clear(&err);
        free(c);
        free(ds);
        free(r);
        size_t half = count / 2;
        return train_batch(p, b, info, runs, half) + train_batch(p, b, info, runs + half, count - half);
    }
    size_t failed = 0;
    for (size_t i = 0; i < count; i++) {
        runs[i].r = r[i];
        if (s != PEGR_OK) {
            fprintf(stderr, "pegr sweep: run %s failed: %s\n", runs[i].id, pegr_error_message(&err));
            failed++;
        } else if (!r[i].interrupted && !land(p, info, &runs[i])) {
            failed++;
        }
    }
    pegr_error_clear(&err);
    free(c);
    free(ds);
    free(r);
    return failed;
}

/* Batch i of the plan: prepared, trained, landed; whatever did not land is removed. */
static size_t run_batch(const worker_plan *p, pegr_backend *b, const pegr_run_info *info, size_t i)
{
    size_t count = p->first[i + 1] - p->first[i], ready = 0, failed = 0;
    pending_run *runs = calloc(count, sizeof *runs);
    if (!runs) return count;
    for (size_t j = 0; j < count; j++) {
        runs[ready].k = p->runs[p->first[i] + j];
        if (prepare(p, info, &runs[ready])) {
            ready++;
            continue;
        }
        if (!runs[ready].final || access(runs[ready].final, F_OK) != 0)
            failed++; /* not landed by another worker */
        free(runs[ready].final);
        runs[ready].final = NULL;
    }
    failed += train_batch(p, b, info, runs, ready);
    for (size_t j = 0; j < ready; j++) discard(&runs[j]);
    free(runs);
    return failed;
}

/* Reorder runs[0..count) into batches of at most `limit` runs that can train together
 * (pegr_train_batchable), each batch's runs in sweep order; first[i] is where batch i starts
 * (first[nbatches] = count). Returns the number of batches. */
static size_t group_batches(const sweep_spec *spec, size_t *runs, size_t count, size_t limit,
                            size_t *first)
{
    pegr_train_config *c = malloc((count ? count : 1) * sizeof *c);
    size_t *order = malloc((count ? count : 1) * sizeof *order);
    char *taken = calloc(count ? count : 1, 1);
    size_t nbatches = 0, placed = 0;
    if (!c || !order || !taken) {
        for (size_t i = 0; i <= count; i++) first[i] = i; /* one run a batch */
        nbatches = count;
        goto done;
    }
    for (size_t i = 0; i < count; i++) sweep_run_config(spec, runs[i], &c[i]);
    for (size_t i = 0; i < count; i++) {
        if (taken[i]) continue;
        first[nbatches++] = placed;
        size_t size = 0;
        for (size_t j = i; j < count && size < limit; j++)
            if (!taken[j] && pegr_train_batchable(&c[i], &c[j])) {
                taken[j] = 1;
                order[placed++] = runs[j];
                size++;
            }
    }
    first[nbatches] = count;
    memcpy(runs, order, count * sizeof *runs);
done:
    free(c);
    free(order);
    free(taken);
    return nbatches;
}

/* A worker: its own backend on `device`, claiming runs until none is left. 0 on success. */
static int worker(const worker_plan *p, const char *device)
{
    pegr_error err = {0};
    pegr_backend *b = NULL;
    pegr_backend_options bopts;
    pegr_cli_backend_options(&p->cli->g, p->cli->precision, &bopts);
    if (pegr_backend_open(device, &bopts, &b, &err) != PEGR_OK) {
        fprintf(stderr, "pegr sweep: worker on '%s': %s\n", device ? device : "(default)",
                pegr_error_message(&err));
        pegr_error_clear(&err);
        return 1;
    }
    const pegr_device_info *dev = pegr_backend_device(b);
    pegr_run_info info = {pegr_backend_description(b), dev, pegr_backend_precision_name(b),
                          dev ? pegr_backend_gemm_name(b) : NULL};
    size_t failures = 0;
    while (!pegr_cli_stop_requested()) {
        size_t i = __atomic_fetch_add(p->next, 1, __ATOMIC_SEQ_CST);
        if (i >= p->nbatches) break;
        size_t failed = run_batch(p, b, &info, i);
        if (!pegr_cli_stop_requested()) failures += failed;
    }
    pegr_backend_close(b);
    return failures ? 1 : 0;
}

/* How many OpenCL devices there are, counted in a short-lived child that reports through a pipe.
 * The parent must not touch OpenCL before it forks the workers: an OpenCL runtime (PoCL, NVIDIA,
 * ROCm, Intel) initialised in a process is unusable in a child forked from it (the worker blocks
 * forever in its first enqueue). A counting child keeps fork() as the way to start workers (they
 * share the plan and counters in memory), where spawning fresh pegr processes would need the
 * whole plan passed to them. 0 when there is none or it could not be counted (said on stderr). */
static size_t count_devices(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "pegr sweep: --devices all: cannot make a pipe: %s\n", strerror(errno));
        return 0;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        pegr_device_info *list = NULL;
        size_t n = 0;
        pegr_error err = {0};
        if (pegr_device_list(&list, &n, &err) != PEGR_OK) {
            fprintf(stderr, "pegr sweep: --devices all: %s\n", pegr_error_message(&err));
            n = 0;
        }
        ssize_t w = write(fds[1], &n, sizeof n);
        _exit(w == (ssize_t)sizeof n ? 0 : 1); /* _exit: none of the runtime's exit handlers */
    }
    close(fds[1]);
    size_t n = 0, got = 0;
    if (pid < 0) {
        fprintf(stderr, "pegr sweep: --devices all: fork failed: %s\n", strerror(errno));
    } else {
        ssize_t r;
        while (got < sizeof n && ((r = read(fds[0], (char *)&n + got, sizeof n - got)) > 0 ||
                                  (r < 0 && errno == EINTR)))
            if (r > 0) got += (size_t)r;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    close(fds[0]);
    return got == sizeof n ? n : 0;
}

/* The device specs of the workers: --devices all / a list, else --device (or the default). The
 * specs point into *text (malloc'ed; free it); NULL is the default device. 0 when none. */
static size_t worker_devices(const sweep_cli *cli, const char **specs, size_t max, char **text)
{
    *text = NULL;
    if (!cli->devices) {
        specs[0] = pegr_device_spec_effective(cli->g.device); /* environment only, no OpenCL */
        return 1;
    }
    if (!strcmp(cli->devices, "all")) {
        size_t n = count_devices();
        if (n > max) n = max;
        *text = malloc(n * 22 + 1); /* "0,1,...": each index fits 21 characters and a comma */
        if (*text) (*text)[0] = '\0';
        for (size_t i = 0, at = 0; *text && i < n; i++)
            at += (size_t)sprintf(*text + at, "%s%zu", i ? "," : "", i);
    } else {
        *text = strdup(cli->devices);
    }
    if (!*text) return 0;
    size_t count = 0;
    char *save = NULL;
    for (char *t = strtok_r(*text, ",", &save); t && count < max; t = strtok_r(NULL, ",", &save))
        specs[count++] = t;
    return count;
}

/* The child of devices_pass_check: pegr check (src/check/check.h) in the sweep's precision on each OpenCL
 * device of the workers, once per device, unless this pegr passed it there before (cached per
 * device, driver, precision and pegr version). Exit status: 0 when every device passed. */
static int check_devices_child(const sweep_cli *cli, const char **specs, size_t ndev)
{
    pegr_precision prec = strcmp(cli->precision, "fp64") == 0 ? PEGR_FP64 : PEGR_FP32;
    const char *pname = prec == PEGR_FP64 ? "fp64" : "fp32";
    pegr_device_info *list = NULL;
    size_t count = 0;
    pegr_error err = {0};
    if (pegr_device_list(&list, &count, &err) != PEGR_OK) {
        fprintf(stderr, "pegr sweep: %s\n", pegr_error_message(&err));
        pegr_error_clear(&err);
        return 1;
    }
    char *seen = calloc(count ? count : 1, 1);
    int refused = !seen;
    for (size_t w = 0; seen && w < ndev; w++) {
        size_t at = 0;
        if (specs[w] && strcmp(specs[w], "host") == 0) continue; /* the reference itself */
        if (pegr_device_select_for(list, count, specs[w], prec == PEGR_FP64, &at, NULL, 0, &err) !=
            PEGR_OK) {
            pegr_error_clear(&err); /* the worker says what is wrong with the spec */
            continue;
        }
        if (seen[at]) continue;
        seen[at] = 1;
        const pegr_device_info *d = &list[at];
        pegr_check_options o = {0};
        o.log = cli->g.verbose ? pegr_cli_log : NULL;
        pegr_check_summary sum;
        int cached = 0;
        char failed[1024];
        printf("pegr sweep: checking device %zu (%s) in %s before using it (pegr check)...\n",
               d->index, d->name, pname);
        fflush(stdout);
        if (pegr_check_device(d, prec, &o, &cached, &sum, failed, sizeof failed, &err) != PEGR_OK) {
            fprintf(stderr, "pegr sweep: pegr check on device %zu (%s): %s\n", d->index, d->name,
                    pegr_error_message(&err));
            pegr_error_clear(&err);
            refused = 1;
        } else if (sum.failed) {
            fprintf(stderr,
                    "pegr sweep: refusing device %zu (%s): %zu check%s of pegr check failed there "
                    "in %s: %s\n  `pegr check --device %zu --precision %s` prints the table; leave "
                    "the device out of --devices, or set PEGR_SWEEP_NO_CHECK=1 to use it anyway\n",
                    d->index, d->name, sum.failed, sum.failed == 1 ? "" : "s", pname, failed,
                    d->index, pname);
            refused = 1;
        } else {
            printf("pegr sweep: device %zu (%s): pegr check %s\n", d->index, d->name,
                   cached ? "passed before (cached)"
                          : sum.passed ? "passed" : "had nothing to check in this precision");
        }
    }
    fflush(stdout);
    fflush(stderr);
    free(seen);
    pegr_device_list_free(list);
    return refused;
}

/* --devices: every OpenCL device passes `pegr check` before a run lands on it, or the sweep does
 * not start (issue 12: a device that gives wrong numbers must not fill a phase diagram). In a
 * child, as count_devices, so that the parent stays free of OpenCL until it forks its workers.
 * PEGR_SWEEP_NO_CHECK=1 skips it (a device checked some other way). 1 when the sweep may go on. */
static int devices_pass_check(const sweep_cli *cli, const char **specs, size_t ndev)
{
    const char *skip = getenv("PEGR_SWEEP_NO_CHECK");
    if (skip && *skip && strcmp(skip, "0") != 0) return 1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) _exit(check_devices_child(cli, specs, ndev)); /* _exit: no runtime handlers */
    if (pid < 0) {
        fprintf(stderr, "pegr sweep: fork failed: %s\n", strerror(errno));
        return 0;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ndev x jobs, at most MAX_WORKERS (without overflowing). */
static size_t worker_count(size_t ndev, size_t jobs)
{
    return jobs > MAX_WORKERS / ndev ? MAX_WORKERS : ndev * jobs;
}

/* The workers, each a forked process (one in this process when there is one). A worker dies with
 * its parent: SIGKILL from PR_SET_PDEATHSIG on Linux (a SIGKILLed parent cannot tell its workers
 * anything, and a worker must not land runs for a sweep nobody waits for; its temporary directory
 * goes with the next sweep), and everywhere a getppid() check at every step. SIGINT/SIGTERM of the
 * parent are handed on to every worker (interrupt.c), which stops at its next step. */
static int run_workers(const worker_plan *plan, const char **specs, size_t ndev, size_t nworkers)
{
    if (nworkers == 1) return worker(plan, specs[0]);
    pid_t pids[MAX_WORKERS], parent = getpid();
    size_t started = 0;
    for (size_t w = 0; w < nworkers; w++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            pegr_cli_forward_clear();
#ifdef __linux__
            prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
            pegr_cli_watch_parent(parent);
            if (getppid() != parent) _exit(1); /* the parent died before PDEATHSIG was set */
            _exit(worker(plan, specs[w % ndev]));
        }
        if (pid < 0) {
            fprintf(stderr, "pegr sweep: fork failed: %s\n", strerror(errno));
            break;
        }
        pids[started++] = pid;
        (void)pegr_cli_forward_stop_to(pid); /* room for MAX_WORKERS: it is the same number */
    }
    int failed = started == 0;
    for (size_t w = 0; w < started; w++) {
        int status = 0;
        while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR) {}
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    return failed;
}

/* Everything after the directory is ready and locked: the runs still to do, the workers, the
 * results. Returns the exit code. */
static int run_sweep(const sweep_cli *cli, size_t shard, size_t shards)
{
    remove_stale_temporaries(cli->out);

    size_t total = sweep_run_count(&cli->spec), mine = 0, done = 0, todo = 0;
    size_t *runs = malloc((total ? total : 1) * sizeof *runs);
    size_t *first = malloc((total + 1) * sizeof *first);
    const char *specs[MAX_WORKERS];
    char *spec_text = NULL;
    if (!runs || !first) {
        free(runs);
        free(first);
        fprintf(stderr, "pegr sweep: out of memory\n");
        return PEGR_EXIT_FAILURE;
    }
    int failed = 0;
    for (size_t k = 0; k < total; k++) {
        if (k % shards != shard) continue; /* interleaved shares: each gets every size */
        mine++;
        int state = run_state(cli, k);
        if (state > 0) done++;
        if (state == 0) runs[todo++] = k;
        if (state < 0) failed = 1;
    }
    size_t nbatches = group_batches(&cli->spec, runs, todo, cli->batch_runs, first);
    size_t ndev = worker_devices(cli, specs, MAX_WORKERS, &spec_text);
    if (ndev && todo && cli->devices && !devices_pass_check(cli, specs, ndev)) {
        free(runs);
        free(first);
        free(spec_text);
        return PEGR_EXIT_FAILURE;
    }
    size_t *shared = ndev ? mmap(NULL, 2 * sizeof(size_t), PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0)
                          : MAP_FAILED;
    if (shared == MAP_FAILED) {
        fprintf(stderr, "pegr sweep: %s\n", ndev ? "out of memory" : "no device to run on");
        free(runs);
        free(first);
        free(spec_text);
        return PEGR_EXIT_FAILURE;
    }
    size_t nworkers = worker_count(ndev, cli->jobs_per_device);
    printf("pegr sweep: %zu runs in %s; shard %zu/%zu holds %zu, %zu already done, %zu to run in "
           "%zu batch(es) on %zu worker(s)\n", total, cli->out, shard, shards, mine, done, todo,
           nbatches, nworkers);
    fflush(stdout);
    shared[0] = shared[1] = 0;
    pegr_cli_catch_stop_signals();
    worker_plan plan = {cli, runs, first, todo, nbatches, &shared[0], &shared[1]};
    double t0 = pegr_now_seconds();
    if (todo && run_workers(&plan, specs, ndev, nworkers)) failed = 1;
    double wall = pegr_now_seconds() - t0;
    size_t landed = shared[1];
    munmap(shared, 2 * sizeof(size_t));
    free(runs);
    free(first);
    free(spec_text);

    const char *dirs[1] = {cli->out};
    size_t found = 0, missing = 0, dup = 0;
    pegr_error err = {0};
    if (sweep_write_results(&cli->spec, dirs, 1, cli->out, &found, &missing, &dup, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    printf("pegr sweep: %zu runs finished in %.1f s (%.2f runs/s); %s/results.csv holds %zu of %zu "
           "runs\n", landed, wall, wall > 0 ? (double)landed / wall : 0.0, cli->out, found, total);
    if (pegr_cli_stop_requested()) {
        fprintf(stderr, "pegr sweep: interrupted; run the same command again to finish\n");
        return 130;
    }
    return failed ? PEGR_EXIT_FAILURE : PEGR_EXIT_OK;
}

int pegr_cmd_sweep(int argc, char **argv)
{
    sweep_cli cli;
    int rc = sweep_parse_cli(argc, argv, &cli);
    if (rc >= 0) return rc;
    size_t shard = 0, shards = 1;
    if (!cli.emit) { /* the share decides which lock a running sweep takes */
        rc = sweep_parse_shard(&cli, &shard, &shards);
        if (rc >= 0) return rc;
    }
    sweep_lock lock;
    rc = prepare_dir(&cli, shard, shards, &lock);
    if (rc >= 0) return rc;
    if (cli.emit) return sweep_emit(&cli);
    rc = run_sweep(&cli, shard, shards);
    unlock_dir(&lock);
    return rc;
}

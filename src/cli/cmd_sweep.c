/* cmd_sweep.c: `pegr sweep` -- every run of a grid x methods x seeds (the sweep, its directory,
 * its runs' landing and results.csv are the library's: pegr/sweep.h); this file is the process
 * management: one worker process per device (and per --jobs-per-device), claiming batches of the
 * plan from a shared counter; --shard I/N (or Slurm's array variables) runs a deterministic share;
 * --emit writes a Slurm job array or GNU parallel commands. A sweep holds a lock on DIR (one per
 * shard) while it runs, so two sweeps never train the same runs. Workers die with the parent and
 * stop at the next step when it is asked to stop. */
/* MAP_ANONYMOUS (shared memory between workers) is not in POSIX 2008: glibc and musl show it with
 * _DEFAULT_SOURCE, Darwin only with _DARWIN_C_SOURCE (meson.build defines it there; here too for a
 * build without meson). */
#define _DEFAULT_SOURCE 1
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1
#endif
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON /* the BSD name: some systems define only this one */
#endif

#include "commands.h"
#include "interrupt.h"
#include "pegr/check.h"
#include "pegr/pegr.h"
#include "pegr/sweep.h"
#include "sweep_cli.h"

#define MAX_WORKERS PEGR_CLI_MAX_FORWARD /* the parent hands stop signals on to each */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the directory ------------------------------------------------------------------------- */

/* DIR/runs is made; a sweep that runs (not --emit) locks DIR; a new DIR is described, an existing
 * one must hold the same sweep unless --extend. -1 to go on, else the exit code. */
static int prepare_dir(const sweep_cli *cli, size_t shard, size_t shards, pegr_sweep_lock **lock)
{
    pegr_error err = {0};
    *lock = NULL;
    /* the same limit pegr_sweep_dir_init keeps, said as a usage error naming the flag */
    if (strlen(cli->out) > PATH_MAX - 1024)
        return pegr_args_usage_error(&SWEEP_COMMAND,
                                     "--out is %zu characters long; at most %d fit (the runs' "
                                     "paths under it must stay below PATH_MAX, %d): give a "
                                     "shorter --out", strlen(cli->out), PATH_MAX - 1024, PATH_MAX);
    if (pegr_sweep_dir_init(cli->out, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    if (!cli->emit && pegr_sweep_lock_dir(cli->out, shard, shards, lock, &err) != PEGR_OK) {
        sweep_cli_message((void *)SWEEP_COMMAND.name, pegr_error_message(&err));
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    int rc = -1;
    if (!cli->extend && pegr_sweep_dir_differs(cli->sweep, cli->out)) {
        rc = pegr_args_usage_error(&SWEEP_COMMAND,
                                   "%s holds a different sweep (another grid, methods, seeds or "
                                   "options): use another --out, or --extend to add this one's "
                                   "runs to it (runs with the same id are reused)", cli->out);
    } else if (pegr_sweep_write_description(cli->sweep, cli->out,
                                            (const char *const *)cli->spec_argv,
                                            (size_t)cli->spec_argc, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        rc = PEGR_EXIT_FAILURE;
    }
    if (rc >= 0) {
        pegr_sweep_unlock(*lock);
        *lock = NULL;
    }
    return rc;
}

/* ---- workers ------------------------------------------------------------------------------- */

/* What the workers share: the plan and two counters in shared memory. */
typedef struct worker_plan {
    const sweep_cli *cli;
    const pegr_sweep_plan *plan;
    size_t *next;       /* shared counter of claimed batches (mmap) */
    size_t *landed;     /* shared count of finished runs */
} worker_plan;

/* on_landed: "[3/8] ID  test error 0.123  0.52s (batch)". A diverged run has no result to show:
 * its last record's numbers are NaN or those of weights that blew up, so the line says "diverged"
 * and nothing else (as its row's empty metrics). */
static void print_landed(void *user, const pegr_sweep_landed *run)
{
    const worker_plan *p = user;
    size_t done = __atomic_add_fetch(p->landed, 1, __ATOMIC_SEQ_CST);
    const pegr_train_result *r = run->result;
    const pegr_train_record *last = pegr_train_result_last(r);
    char result[64];
    if (r->diverged || !last)
        snprintf(result, sizeof result, "%s", r->diverged ? "diverged" : "no record");
    else
        snprintf(result, sizeof result, "test error %.3f", last->metrics.test_error);
    printf("[%zu/%zu] %s  %s  %.2fs%s\n", done, pegr_sweep_plan_todo(p->plan), run->id, result,
           r->wall_seconds, r->batch_runs > 1 ? " (batch)" : "");
    fflush(stdout);
}

static void print_message(void *user, const char *message)
{
    (void)user;
    sweep_cli_message((void *)SWEEP_COMMAND.name, message);
}

/* A worker: its own backend on `device`, claiming batches until none is left. 0 on success. */
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
    /* should_stop watches the parent too */
    pegr_sweep_callbacks cb = {print_landed, print_message, pegr_cli_should_stop, (void *)p, NULL};
    size_t failures = 0, nbatches = pegr_sweep_plan_batches(p->plan);
    while (!pegr_cli_stop_requested()) {
        size_t i = __atomic_fetch_add(p->next, 1, __ATOMIC_SEQ_CST);
        if (i >= nbatches) break;
        size_t failed = pegr_sweep_plan_run_batch(p->plan, b, i, &cb);
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

/* The child of devices_pass_check: pegr check (pegr/check.h) in the sweep's precision on each
 * OpenCL device of the workers, once per device, unless this pegr passed it there before (cached
 * per device, driver, precision and pegr version). Exit status: 0 when every device passed. */
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
    pegr_sweep_callbacks tell = {NULL, print_message, NULL, NULL, NULL};
    pegr_sweep_plan *plan = NULL;
    pegr_error err = {0};
    if (pegr_sweep_plan_create(cli->sweep, cli->out, shard, shards, cli->batch_runs, &tell, &plan,
                               &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    size_t total = pegr_sweep_run_count(cli->sweep), todo = pegr_sweep_plan_todo(plan);
    int failed = pegr_sweep_plan_failed(plan) > 0;
    const char *specs[MAX_WORKERS];
    char *spec_text = NULL;
    size_t ndev = worker_devices(cli, specs, MAX_WORKERS, &spec_text);
    if (ndev && todo && cli->devices && !devices_pass_check(cli, specs, ndev)) {
        pegr_sweep_plan_free(plan);
        free(spec_text);
        return PEGR_EXIT_FAILURE;
    }
    size_t *shared = ndev ? mmap(NULL, 2 * sizeof(size_t), PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0)
                          : MAP_FAILED;
    if (shared == MAP_FAILED) {
        fprintf(stderr, "pegr sweep: %s\n", ndev ? "out of memory" : "no device to run on");
        pegr_sweep_plan_free(plan);
        free(spec_text);
        return PEGR_EXIT_FAILURE;
    }
    size_t nworkers = worker_count(ndev, cli->jobs_per_device);
    printf("pegr sweep: %zu runs in %s; shard %zu/%zu holds %zu, %zu already done, %zu to run in "
           "%zu batch(es) on %zu worker(s)\n", total, cli->out, shard, shards,
           pegr_sweep_plan_share(plan), pegr_sweep_plan_done(plan), todo,
           pegr_sweep_plan_batches(plan), nworkers);
    fflush(stdout);
    shared[0] = shared[1] = 0;
    pegr_cli_catch_stop_signals();
    worker_plan wp = {cli, plan, &shared[0], &shared[1]};
    double t0 = now_seconds();
    if (todo && run_workers(&wp, specs, ndev, nworkers)) failed = 1;
    double wall = now_seconds() - t0;
    size_t landed = shared[1];
    munmap(shared, 2 * sizeof(size_t));
    pegr_sweep_plan_free(plan);
    free(spec_text);

    const char *dirs[1] = {cli->out};
    pegr_sweep_tally t;
    if (pegr_sweep_collect(cli->sweep, dirs, 1, cli->out, &tell, &t, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        pegr_sweep_tally_free(&t);
        return PEGR_EXIT_FAILURE;
    }
    printf("pegr sweep: %zu runs finished in %.1f s (%.2f runs/s); %s/results.csv holds %zu of %zu "
           "runs\n",
           landed, wall, wall > 0 ? (double)landed / wall : 0.0, cli->out, t.found, total);
    pegr_sweep_tally_free(&t);
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
    if (!cli.emit) /* the share decides which lock a running sweep takes */
        rc = sweep_parse_shard(&cli, &shard, &shards);
    pegr_sweep_lock *lock = NULL;
    if (rc < 0) rc = prepare_dir(&cli, shard, shards, &lock);
    if (rc < 0) rc = cli.emit ? sweep_emit(&cli) : run_sweep(&cli, shard, shards);
    pegr_sweep_unlock(lock);
    sweep_cli_free(&cli);
    return rc;
}

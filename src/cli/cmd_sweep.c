/* cmd_sweep.c: `pegr sweep` -- every run of a grid x methods x seeds, each landing atomically in
 * DIR/runs/ID (trained in a temporary directory, then renamed), so a sweep killed at any moment
 * and restarted runs each missing run exactly once. One worker per device (and per
 * --jobs-per-device), claiming runs from a shared counter; --shard I/N (or Slurm's array
 * variables) runs a deterministic share; --emit writes a Slurm job array or GNU parallel commands.
 * DIR/results.csv is rebuilt from the finished runs at the end. */
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS (shared memory between workers) is not in POSIX 2008 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "backend_open.h"
#include "clock.h"
#include "commands.h"
#include "interrupt.h"
#include "engine.h"
#include "fsutil.h"
#include "sweep_cli.h"

#define MAX_WORKERS 64


static int run_done(const char *out, const char *id)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/runs/%s/row.csv", out, id);
    return access(path, F_OK) == 0;
}

/* ---- the directory ------------------------------------------------------------------------- */

/* A new DIR is described; an existing one must hold the same sweep unless --extend. */
static int prepare_dir(const sweep_cli *cli)
{
    pegr_error err = {0};
    char runs[1024];
    snprintf(runs, sizeof runs, "%s/runs", cli->out);
    if (pegr_mkdir_p(runs, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    char *path = pegr_path_join(cli->out, "sweep.canonical"), *old = NULL;
    size_t len = 0;
    char *now = sweep_canonical(&cli->spec);
    int differs = path && now && pegr_file_read_all(path, &old, &len, NULL) == PEGR_OK &&
                  strcmp(old, now) != 0;
    free(path);
    free(old);
    free(now);
    if (differs && !cli->extend)
        return pegr_args_usage_error(&SWEEP_COMMAND,
                                     "%s holds a different sweep (another grid, methods, seeds or "
                                     "options): use another --out, or --extend to add this one's "
                                     "runs to it (runs with the same id are reused)", cli->out);
    if (sweep_write_description(cli, cli->out, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    return -1;
}

/* Temporary run directories of dead workers of this host (a killed sweep) go; others' stay. */
static void remove_stale_temporaries(const char *out)
{
    char runs[1024], host[128] = "";
    snprintf(runs, sizeof runs, "%s/runs", out);
    gethostname(host, sizeof host - 1);
    DIR *d = opendir(runs);
    if (!d) return;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        const char *tmp = strstr(ent->d_name, ".tmp.");
        if (ent->d_name[0] != '.' || !tmp) continue;
        char h[128];
        long pid = 0;
        if (sscanf(tmp + 5, "%127[^.].%ld", h, &pid) != 2 || strcmp(h, host)) continue;
        if (pid > 0 && kill((pid_t)pid, 0) == 0) continue; /* alive */
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", runs, ent->d_name);
        if (system(cmd) != 0) fprintf(stderr, "pegr sweep: could not remove %s/%s\n", runs, ent->d_name);
    }
    closedir(d);
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
    char id[512], final[1200], tmp[1400];
    pegr_train_config c;
    pegr_dataset ds;
    pegr_train_result r;
} pending_run;

static void discard(pending_run *pr)
{
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pr->tmp);
    if (pr->tmp[0] && system(cmd) != 0) fprintf(stderr, "pegr sweep: could not remove %s\n", pr->tmp);
    pr->tmp[0] = '\0';
    pegr_train_result_free(&pr->r);
    pegr_dataset_free(&pr->ds);
}

/* Its temporary directory with config.json, and its data. 0: nothing to do (landed meanwhile) or
 * failed (said on stderr). */
static int prepare(const worker_plan *p, const pegr_run_info *info, pending_run *pr)
{
    const sweep_cli *cli = p->cli;
    char host[128] = "";
    sweep_run_id(&cli->spec, pr->k, pr->id, sizeof pr->id);
    snprintf(pr->final, sizeof pr->final, "%s/runs/%s", cli->out, pr->id);
    if (access(pr->final, F_OK) == 0) return 0; /* done by someone else meanwhile */
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++)
        if (*c == '.') *c = '_';
    snprintf(pr->tmp, sizeof pr->tmp, "%s/runs/.%s.tmp.%s.%ld", cli->out, pr->id, host,
             (long)getpid());
    if (sweep_run_config(&cli->spec, pr->k, &pr->c) != PEGR_EXIT_OK) return 0;
    pegr_error err = {0};
    pegr_status s = pegr_mkdir_p(pr->tmp, &err);
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
    pr->tmp[0] = '\0';
    size_t done = __atomic_add_fetch(p->landed, 1, __ATOMIC_SEQ_CST);
    const pegr_train_record *last = pegr_train_result_last(&pr->r);
    printf("[%zu/%zu] %s  test error %.3f  %s%.2fs%s\n", done, p->nruns, pr->id,
           last ? last->metrics.test_error : -1.0, pr->r.diverged ? "(diverged)  " : "",
           pr->r.wall_seconds, pr->r.batch_runs > 1 ? " (batch)" : "");
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
    if (count > 1 && !b->ops->set_runs) {
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
    pegr_train_callbacks cb = {NULL, pegr_cli_should_stop, NULL};
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
        if (prepare(p, info, &runs[ready])) ready++;
        else if (access(runs[ready].final, F_OK) != 0) failed++; /* not landed by another worker */
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
    char desc[512] = "";
    pegr_precision prec = strcmp(p->cli->precision, "fp64") == 0 ? PEGR_FP64 : PEGR_FP32;
    if (pegr_backend_open(device, prec, p->cli->g.verbose ? pegr_cli_log : NULL, &b, desc,
                          sizeof desc, &err) != PEGR_OK) {
        fprintf(stderr, "pegr sweep: worker on '%s': %s\n", device ? device : "(default)",
                pegr_error_message(&err));
        pegr_error_clear(&err);
        return 1;
    }
    int is_engine = strcmp(b->ops->name, "opencl") == 0;
    pegr_context *ctx = is_engine ? pegr_engine_context(b) : NULL;
    pegr_run_info info = {desc, ctx ? pegr_context_device(ctx) : NULL,
                          pegr_backend_precision_name(b), is_engine ? pegr_engine_gemm_name(b) : NULL};
    size_t failures = 0;
    while (!pegr_cli_stop_requested()) {
        size_t i = __atomic_fetch_add(p->next, 1, __ATOMIC_SEQ_CST);
        if (i >= p->nbatches) break;
        size_t failed = run_batch(p, b, &info, i);
        if (!pegr_cli_stop_requested()) failures += failed;
    }
    b->ops->destroy(b);
    return failures ? 1 : 0;
}

/* The device specs of the workers: --devices all / a list, else --device (or the default). */
static size_t worker_devices(const sweep_cli *cli, char specs[][64], size_t max)
{
    size_t count = 0;
    if (cli->devices && !strcmp(cli->devices, "all")) {
        pegr_device_info *list = NULL;
        size_t n = 0;
        if (pegr_device_list(&list, &n, NULL) == PEGR_OK)
            for (size_t i = 0; i < n && count < max; i++) snprintf(specs[count++], 64, "%zu", i);
        pegr_device_list_free(list);
    } else if (cli->devices) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", cli->devices);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t && count < max; t = strtok_r(NULL, ",", &save))
            snprintf(specs[count++], 64, "%s", t);
    } else {
        const char *spec = pegr_device_spec_effective(cli->g.device);
        snprintf(specs[count++], 64, "%s", spec ? spec : "");
    }
    return count;
}

static int run_workers(const worker_plan *plan, char specs[][64], size_t ndev, size_t jobs)
{
    size_t nworkers = ndev * jobs;
    if (nworkers > MAX_WORKERS) nworkers = MAX_WORKERS;
    if (nworkers == 1) return worker(plan, specs[0][0] ? specs[0] : NULL);
    pid_t pids[MAX_WORKERS];
    for (size_t w = 0; w < nworkers; w++) {
        fflush(stdout);
        pids[w] = fork();
        if (pids[w] == 0) {
            const char *spec = specs[w % ndev];
            _exit(worker(plan, spec[0] ? spec : NULL));
        }
        if (pids[w] < 0) {
            fprintf(stderr, "pegr sweep: fork failed: %s\n", strerror(errno));
            nworkers = w;
            break;
        }
    }
    int failed = 0;
    for (size_t w = 0; w < nworkers; w++) {
        int status = 0;
        while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR) {}
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    return failed;
}

int pegr_cmd_sweep(int argc, char **argv)
{
    sweep_cli cli;
    int rc = sweep_parse_cli(argc, argv, &cli);
    if (rc >= 0) return rc;
    rc = prepare_dir(&cli);
    if (rc >= 0) return rc;
    if (cli.emit) return sweep_emit(&cli);
    size_t shard = 0, shards = 1;
    rc = sweep_parse_shard(&cli, &shard, &shards);
    if (rc >= 0) return rc;
    remove_stale_temporaries(cli.out);

    size_t total = sweep_run_count(&cli.spec), mine = 0, todo = 0;
    size_t *runs = malloc(total * sizeof *runs);
    if (!runs) return PEGR_EXIT_FAILURE;
    for (size_t k = 0; k < total; k++) {
        if (k % shards != shard) continue; /* interleaved shares: each gets every size */
        mine++;
        char id[512];
        sweep_run_id(&cli.spec, k, id, sizeof id);
        if (!run_done(cli.out, id)) runs[todo++] = k;
    }
    size_t *first = malloc((todo + 1) * sizeof *first);
    size_t nbatches = first ? group_batches(&cli.spec, runs, todo, cli.batch_runs, first) : 0;
    char specs[MAX_WORKERS][64];
    size_t ndev = worker_devices(&cli, specs, MAX_WORKERS);
    if (!ndev || !first) {
        fprintf(stderr, "pegr sweep: %s\n", first ? "no device to run on" : "out of memory");
        free(runs);
        free(first);
        return PEGR_EXIT_FAILURE;
    }
    printf("pegr sweep: %zu runs in %s; shard %zu/%zu holds %zu, %zu already done, %zu to run in "
           "%zu batch(es) on %zu worker(s)\n", total, cli.out, shard, shards, mine, mine - todo, todo,
           nbatches, ndev * cli.jobs_per_device < MAX_WORKERS ? ndev * cli.jobs_per_device : MAX_WORKERS);
    fflush(stdout);
    size_t *shared = mmap(NULL, 2 * sizeof(size_t), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        free(runs);
        return PEGR_EXIT_FAILURE;
    }
    shared[0] = shared[1] = 0;
    pegr_cli_catch_stop_signals();
    worker_plan plan = {&cli, runs, first, todo, nbatches, &shared[0], &shared[1]};
    double t0 = pegr_now_seconds();
    int failed = todo ? run_workers(&plan, specs, ndev, cli.jobs_per_device) : 0;
    double wall = pegr_now_seconds() - t0;
    size_t landed = shared[1];
    munmap(shared, 2 * sizeof(size_t));
    free(runs);
    free(first);

    const char *dirs[1] = {cli.out};
    size_t found = 0, missing = 0, dup = 0;
    pegr_error err = {0};
    if (sweep_write_results(&cli.spec, dirs, 1, cli.out, &found, &missing, &dup, &err) != PEGR_OK) {
        pegr_cli_error(SWEEP_COMMAND.name, &err);
        pegr_error_clear(&err);
        return PEGR_EXIT_FAILURE;
    }
    printf("pegr sweep: %zu runs finished in %.1f s (%.2f runs/s); %s/results.csv holds %zu of %zu "
           "runs\n", landed, wall, wall > 0 ? (double)landed / wall : 0.0, cli.out, found, total);
    if (pegr_cli_stop_requested()) {
        fprintf(stderr, "pegr sweep: interrupted; run the same command again to finish\n");
        return 130;
    }
    return failed ? PEGR_EXIT_FAILURE : PEGR_EXIT_OK;
}

/* sweep_run.c: running a sweep's runs: the plan of a share (which runs are still to do, in batches
 * of runs that train together), a batch trained and each of its runs landed atomically in
 * DIR/runs/ID (trained in DIR/runs/.ID.tmp.HOST.PID, then renamed), and a whole sweep in one
 * call. */
#define _DEFAULT_SOURCE 1 /* gethostname and friends where POSIX 2008 hides them */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train/sweep_internal.h"
#include "train/train_output.h"
#include "util/fsutil.h"

struct pegr_sweep_plan {
    const pegr_sweep *sweep;
    char *dir;
    size_t *runs;  /* the share's runs still to do, batch after batch */
    size_t *first; /* batch i is runs[first[i] .. first[i + 1]) */
    size_t todo, nbatches, share, done, failed;
};

/* Whether run k is done: DIR/runs/ID holds one complete row of that run. A directory that is there
 * but not done (a row.csv truncated, damaged, another run's, or missing) is removed, so the run
 * trains again and its rename into place finds the name free. It cannot be a run on its way: runs
 * land by renaming a complete directory, so DIR/runs/ID without its row was damaged after landing
 * (and plans are made under the sweep's lock). 1 done, 0 to run, -1 when a damaged directory could
 * not be removed (told; the run is then not trained). */
static int run_state(const pegr_sweep *s, size_t k, const char *dir, const pegr_sweep_callbacks *cb)
{
    if (pegr_sweep_run_is_done(s, k, dir)) return 1;
    char id[PEGR_SWEEP_ID_MAX + 1];
    if (pegr_sweep_run_id(s, k, id, sizeof id, NULL) != PEGR_OK) return -1;
    char *path = pegr_sweep_runs_path(dir, id);
    if (!path) {
        pegr_sweep_tell(cb, "run %s: out of memory", id);
        return -1;
    }
    struct stat st;
    int state = 0;
    if (lstat(path, &st) == 0) {
        pegr_sweep_tell(cb, "%s holds no complete row.csv of its run: training it again", path);
        pegr_error err = {0};
        if (pegr_remove_tree(path, &err) != PEGR_OK) {
            pegr_sweep_tell(cb, "run %s not trained: %s", id, pegr_error_message(&err));
            state = -1;
        }
        pegr_error_clear(&err);
    }
    free(path);
    return state;
}

/* Reorder runs[0..count) into batches of at most `limit` runs that can train together
 * (pegr_train_batchable), each batch's runs in sweep order; first[i] is where batch i starts
 * (first[nbatches] = count). Returns the number of batches. */
static size_t group_batches(const pegr_sweep *s, size_t *runs, size_t count, size_t limit,
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
    for (size_t i = 0; i < count; i++) pegr_sweep_run_config(s, runs[i], &c[i], NULL);
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

void pegr_sweep_plan_free(pegr_sweep_plan *p)
{
    if (!p) return;
    free(p->dir);
    free(p->runs);
    free(p->first);
    free(p);
}

pegr_status pegr_sweep_plan_create(const pegr_sweep *s, const char *dir, size_t shard,
                                   size_t shards, size_t batch_runs,
                                   const pegr_sweep_callbacks *cb, pegr_sweep_plan **out,
                                   pegr_error *err)
{
    *out = NULL;
    if (!s || !s->checked)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep was not checked "
                              "(pegr_sweep_check)");
    if (shards == 0 || shard >= shards)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "share %zu of %zu: the share must be "
                              "below the count", shard, shards);
    pegr_sweep_remove_stale(dir, cb);
    size_t total = s->nruns;
    pegr_sweep_plan *p = calloc(1, sizeof *p);
    if (p) {
        p->sweep = s;
        p->dir = strdup(dir);
        p->runs = malloc((total ? total : 1) * sizeof *p->runs);
        p->first = malloc((total + 1) * sizeof *p->first);
    }
    if (!p || !p->dir || !p->runs || !p->first) {
        pegr_sweep_plan_free(p);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t k = 0; k < total; k++) {
        if (k % shards != shard) continue; /* interleaved shares: each gets every size */
        p->share++;
        int state = run_state(s, k, dir, cb);
        if (state > 0) p->done++;
        if (state == 0) p->runs[p->todo++] = k;
        if (state < 0) p->failed++;
    }
    p->nbatches = group_batches(s, p->runs, p->todo,
                                batch_runs ? batch_runs : PEGR_SWEEP_DEFAULT_BATCH_RUNS, p->first);
    *out = p;
    return PEGR_OK;
}

size_t pegr_sweep_plan_share(const pegr_sweep_plan *p) { return p ? p->share : 0; }
size_t pegr_sweep_plan_done(const pegr_sweep_plan *p) { return p ? p->done : 0; }
size_t pegr_sweep_plan_todo(const pegr_sweep_plan *p) { return p ? p->todo : 0; }
size_t pegr_sweep_plan_batches(const pegr_sweep_plan *p) { return p ? p->nbatches : 0; }
size_t pegr_sweep_plan_failed(const pegr_sweep_plan *p) { return p ? p->failed : 0; }

/* ---- a batch --------------------------------------------------------------------------------- */

/* One run of a batch on its way: where it trains and lands, its config and data. */
typedef struct pending_run {
    size_t k; /* the run's index in the sweep */
    char id[PEGR_SWEEP_ID_MAX + 1];
    /* DIR/runs/ID and DIR/runs/.ID.tmp.HOST.PID (malloc'ed; tmp NULL once gone) */
    char *final, *tmp;
    pegr_train_config c;
    pegr_dataset ds; /* its own, or the sweep's (pegr_sweep_set_data): not freed here */
    pegr_train_result r;
} pending_run;

/* What every run of a batch shares. */
typedef struct batch_ctx {
    const pegr_sweep_plan *plan;
    const pegr_run_info *info;
    const pegr_sweep_callbacks *cb;
} batch_ctx;

static void discard(const batch_ctx *x, pending_run *pr)
{
    pegr_error err = {0};
    if (pr->tmp && pegr_remove_tree(pr->tmp, &err) != PEGR_OK)
        pegr_sweep_tell(x->cb, "could not remove a temporary run directory: %s",
                        pegr_error_message(&err));
    pegr_error_clear(&err);
    free(pr->tmp);
    free(pr->final);
    pr->tmp = pr->final = NULL;
    pegr_train_result_free(&pr->r);
    if (!pegr_sweep_data(x->plan->sweep)) pegr_dataset_free(&pr->ds);
    memset(&pr->ds, 0, sizeof pr->ds);
}

/* Its temporary directory with config.json, and its data. 0: nothing to do (landed meanwhile) or
 * failed (told). */
static int prepare(const batch_ctx *x, pending_run *pr)
{
    const pegr_sweep_plan *p = x->plan;
    char host[256], name[sizeof pr->id + sizeof host + 32];
    pr->final = pr->tmp = NULL;
    if (pegr_sweep_run_id(p->sweep, pr->k, pr->id, sizeof pr->id, NULL) != PEGR_OK) return 0;
    pegr_sweep_host_name(host, sizeof host);
    snprintf(name, sizeof name, ".%s.tmp.%s.%ld", pr->id, host, (long)getpid());
    pr->final = pegr_sweep_runs_path(p->dir, pr->id);
    if (!pr->final) {
        pegr_sweep_tell(x->cb, "run %s failed: out of memory", pr->id);
        return 0;
    }
    if (access(pr->final, F_OK) == 0) return 0; /* done by someone else meanwhile */
    pegr_error err = {0};
    pegr_status s = pegr_sweep_run_config(p->sweep, pr->k, &pr->c, &err);
    if (s == PEGR_OK) {
        pr->tmp = pegr_sweep_runs_path(p->dir, name);
        s = pr->tmp ? pegr_mkdir_p(pr->tmp, &err)
                    : pegr_error_set(&err, PEGR_ERR_NO_MEMORY, "out of memory");
    }
    if (s == PEGR_OK) s = pegr_train_write_config(pr->tmp, &pr->c, x->info, &err);
    const pegr_dataset *own = pegr_sweep_data(p->sweep);
    if (s == PEGR_OK && own) pr->ds = *own;
    else if (s == PEGR_OK) s = pegr_data_generate(&pr->c.data, &pr->ds, &err);
    if (s != PEGR_OK) {
        pegr_sweep_tell(x->cb, "run %s failed: %s", pr->id, pegr_error_message(&err));
        discard(x, pr);
    }
    pegr_error_clear(&err);
    return s == PEGR_OK;
}

/* A trained run's files, then the rename into place. 1 landed. */
static int land(const batch_ctx *x, pending_run *pr)
{
    pegr_error err = {0};
    pegr_status s = pegr_train_write_results(pr->tmp, &pr->c, &pr->r, pr->ds.d, &err);
    if (s == PEGR_OK) s = pegr_sweep_write_row(pr->tmp, pr->id, &pr->c, &pr->r, x->info,
                                                   pegr_sweep_data(x->plan->sweep), &err);
    int landed = s == PEGR_OK && rename(pr->tmp, pr->final) == 0;
    if (s != PEGR_OK) pegr_sweep_tell(x->cb, "run %s failed: %s", pr->id, pegr_error_message(&err));
    pegr_error_clear(&err);
    if (!landed) return 0;
    free(pr->tmp);
    pr->tmp = NULL; /* it is pr->final now */
    if (x->cb && x->cb->on_landed) {
        pegr_sweep_landed info = {pr->k, pr->id, &pr->c, &pr->r};
        x->cb->on_landed(x->cb->user, &info);
    }
    return 1;
}

/* Train runs[0..count) as one batch (prepared), then land each. A batch that does not fit the
 * device's memory is split in halves; a backend that cannot batch takes the runs one at a time.
 * Returns how many failed (interrupted runs are not failures). */
static size_t train_batch(const batch_ctx *x, pegr_backend *b, pending_run *runs, size_t count)
{
    if (count == 0) return 0;
    if (count > 1 && !pegr_backend_can_batch(b)) {
        size_t failed = 0;
        for (size_t i = 0; i < count; i++) failed += train_batch(x, b, runs + i, 1);
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
    pegr_train_callbacks tcb = {NULL, x->cb ? x->cb->should_stop : NULL, x->cb ? x->cb->user : NULL,
                                x->cb ? x->cb->cancel : NULL};
    pegr_status s = pegr_train_run_batch(b, ds, c, count, &tcb, r, &err);
    if (s == PEGR_ERR_DEVICE_MEMORY && count > 1) {
        for (size_t i = 0; i < count; i++) pegr_train_result_free(&r[i]);
        pegr_error_clear(&err);
        free(c);
        free(ds);
        free(r);
        size_t half = count / 2;
        return train_batch(x, b, runs, half) + train_batch(x, b, runs + half, count - half);
    }
    size_t failed = 0;
    for (size_t i = 0; i < count; i++) {
        runs[i].r = r[i];
        if (s != PEGR_OK) {
            pegr_sweep_tell(x->cb, "run %s failed: %s", runs[i].id, pegr_error_message(&err));
            failed++;
        } else if (!r[i].interrupted && !land(x, &runs[i])) {
            failed++;
        }
    }
    pegr_error_clear(&err);
    free(c);
    free(ds);
    free(r);
    return failed;
}

size_t pegr_sweep_plan_run_batch(const pegr_sweep_plan *p, pegr_backend *b, size_t i,
                                 const pegr_sweep_callbacks *cb)
{
    if (!p || i >= p->nbatches) return 0;
    const pegr_device_info *dev = pegr_backend_device(b);
    pegr_run_info info = {pegr_backend_description(b), dev, pegr_backend_precision_name(b),
                          dev ? pegr_backend_gemm_name(b) : NULL};
    batch_ctx x = {p, &info, cb};
    size_t count = p->first[i + 1] - p->first[i], ready = 0, failed = 0;
    pending_run *runs = calloc(count, sizeof *runs);
    if (!runs) return count;
    for (size_t j = 0; j < count; j++) {
        runs[ready].k = p->runs[p->first[i] + j];
        if (prepare(&x, &runs[ready])) {
            ready++;
            continue;
        }
        if (!runs[ready].final || access(runs[ready].final, F_OK) != 0)
            failed++; /* not landed by another worker */
        free(runs[ready].final);
        runs[ready].final = NULL;
    }
    failed += train_batch(&x, b, runs, ready);
    for (size_t j = 0; j < ready; j++) discard(&x, &runs[j]);
    free(runs);
    return failed;
}

/* ---- a whole sweep --------------------------------------------------------------------------- */

/* Counts landed runs for the summary, then hands on to the caller's callback. */
typedef struct run_all_ctx {
    const pegr_sweep_callbacks *cb;
    size_t landed;
} run_all_ctx;

static void count_landed(void *user, const pegr_sweep_landed *run)
{
    run_all_ctx *x = user;
    x->landed++;
    if (x->cb && x->cb->on_landed) x->cb->on_landed(x->cb->user, run);
}

static void pass_message(void *user, const char *message)
{
    run_all_ctx *x = user;
    if (x->cb && x->cb->on_message) x->cb->on_message(x->cb->user, message);
}

/* The caller's should_stop, or the cancel flag. */
static int stop_asked(const pegr_sweep_callbacks *cb)
{
    return cb && ((cb->cancel && *cb->cancel) || (cb->should_stop && cb->should_stop(cb->user)));
}

static int pass_should_stop(void *user)
{
    run_all_ctx *x = user;
    return x->cb && x->cb->should_stop && x->cb->should_stop(x->cb->user);
}

pegr_status pegr_sweep_run_all(const pegr_sweep *s, pegr_backend *backend, const char *dir,
                               const pegr_sweep_options *options, const pegr_sweep_callbacks *cb,
                               pegr_sweep_summary *summary, pegr_error *err)
{
    pegr_sweep_options none = {0};
    const pegr_sweep_options *o = options ? options : &none;
    pegr_sweep_summary sum;
    memset(&sum, 0, sizeof sum);
    if (summary) memset(summary, 0, sizeof *summary);
    if (!s || !s->checked)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "the sweep was not checked "
                              "(pegr_sweep_check)");
    pegr_sweep_lock *lock = NULL;
    pegr_sweep_plan *plan = NULL;
    pegr_status st = pegr_sweep_dir_init(dir, err);
    if (st == PEGR_OK) st = pegr_sweep_lock_dir(dir, 0, 1, &lock, err);
    if (st == PEGR_OK && !o->extend && pegr_sweep_dir_differs(s, dir))
        st = pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "%s holds a different sweep (another "
                            "grid, methods, seeds or options): use another directory, or extend to "
                            "add this one's runs to it (runs with the same id are reused)", dir);
    if (st == PEGR_OK) st = pegr_sweep_write_description(s, dir, o->args, o->nargs, err);
    run_all_ctx x = {cb, 0};
    pegr_sweep_callbacks mine = {count_landed, pass_message, pass_should_stop, &x,
                                 cb ? cb->cancel : NULL};
    if (st == PEGR_OK) st = pegr_sweep_plan_create(s, dir, 0, 1, o->batch_runs, &mine, &plan, err);
    if (st == PEGR_OK) {
        sum.runs = s->nruns;
        sum.done = plan->done;
        sum.failed = plan->failed;
        for (size_t i = 0; i < plan->nbatches && !stop_asked(cb); i++) {
            size_t failed = pegr_sweep_plan_run_batch(plan, backend, i, &mine);
            if (!stop_asked(cb)) sum.failed += failed;
        }
        sum.interrupted = stop_asked(cb);
        sum.landed = x.landed;
        const char *dirs[1] = {dir};
        st = pegr_sweep_collect(s, dirs, 1, dir, &mine, &sum.tally, err);
    }
    pegr_sweep_plan_free(plan);
    pegr_sweep_unlock(lock);
    if (summary) *summary = sum;
    else pegr_sweep_tally_free(&sum.tally);
    return st;
}

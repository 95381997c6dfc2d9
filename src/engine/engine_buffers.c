/* engine_buffers.c: the engine's device memory -- buffers allocated within the device's limits
 * and the engine's cap (with the accounting of what is in use), uploads that do not make the host
 * wait, blocking downloads -- and engine_report, where every op's failure ends. The bottom layer
 * of functions (engine_internal.h): it calls no other engine file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_buffers.h"

#define MIB (1024.0 * 1024.0)

pegr_status engine_alloc(pegr_engine *e, cl_mem *buf, size_t bytes, const char *name)
{
    const pegr_device_info *dev = &e->ctx->device;
    if (bytes == 0) bytes = e->elem; /* OpenCL refuses empty buffers */
    if (bytes > dev->max_mem_alloc_size || e->bytes_in_use + bytes > e->bytes_cap)
        return pegr_ctx_fail(e->ctx, PEGR_ERR_DEVICE_MEMORY,
                             "buffer '%s' needs %.1f MiB; the device allows %.1f MiB per allocation "
                             "and pegr's cap is %.1f MiB in all (%.0f%% of %.1f MiB global memory), "
                             "%.1f MiB already in use",
                             name, bytes / MIB, dev->max_mem_alloc_size / MIB, e->bytes_cap / MIB,
                             100.0 * e->options.memory_fraction, dev->global_mem_size / MIB,
                             e->bytes_in_use / MIB);
    cl_int rc = CL_SUCCESS;
    *buf = clCreateBuffer(e->ctx->cl_ctx, CL_MEM_READ_WRITE, bytes, NULL, &rc);
    if (rc != CL_SUCCESS) {
        *buf = NULL;
        char what[160];
        snprintf(what, sizeof what, "buffer '%s' of %.1f MiB", name, bytes / MIB);
        return pegr_ctx_cl_fail(e->ctx, rc, "clCreateBuffer", what);
    }
    e->bytes_in_use += bytes;
    if (e->bytes_in_use > e->bytes_peak) e->bytes_peak = e->bytes_in_use;
    return PEGR_OK;
}

void engine_free(pegr_engine *e, cl_mem *buf, size_t bytes)
{
    if (!*buf) return;
    clReleaseMemObject(*buf);
    *buf = NULL;
    if (bytes == 0) bytes = e->elem;
    e->bytes_in_use -= bytes < e->bytes_in_use ? bytes : e->bytes_in_use;
}

pegr_status engine_alloc_runs(pegr_engine *e, cl_mem *buf, size_t bytes, const char *name)
{
    return engine_alloc(e, buf, e->runs * bytes, name);
}

void engine_free_runs(pegr_engine *e, cl_mem *buf, size_t bytes)
{
    engine_free(e, buf, e->runs * bytes);
}

pegr_status engine_set_run_values(pegr_engine *e, cl_mem buf, double *held, const double *values,
                                  double value)
{
    int same = 1;
    for (size_t r = 0; r < e->runs; r++) same &= held[r] == (values ? values[r] : value);
    if (same) return PEGR_OK;
    for (size_t r = 0; r < e->runs; r++) held[r] = values ? values[r] : value;
    pegr_status s = engine_upload(e, buf, held, e->runs);
    if (s != PEGR_OK)
        for (size_t r = 0; r < e->runs; r++) held[r] = NAN; /* unknown now */
    return s;
}

/* An upload in flight: its host copy (in the device's precision) and the write's event. Uploads
 * are non-blocking so that a step that sends data (sgd's example weights, a changed learning
 * rate) does not make the host wait for the queue to drain: a blocking write on an in-order
 * queue waits for every command before it. */
typedef struct engine_staged {
    void *host;
    cl_event done;
} engine_staged;

/* At most this many uploads in flight; beyond it the host waits for them (bounds the memory). */
#define STAGED_MAX 64

/* Free the copies whose writes are done (all of them, waiting, with wait_all). */
static void staged_reap(pegr_engine *e, int wait_all)
{
    if (wait_all && e->nstaged) e->host_waits++;
    size_t kept = 0;
    for (size_t k = 0; k < e->nstaged; k++) {
        engine_staged *st = &e->staged[k];
        cl_int status = CL_COMPLETE;
        if (wait_all ||
            clGetEventInfo(st->done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                           NULL) != CL_SUCCESS)
            clWaitForEvents(1, &st->done); /* done (or failed) afterwards: the copy is free */
        else if (status > CL_COMPLETE) { /* queued, submitted or running: keep it */
            e->staged[kept++] = *st;
            continue;
        }
        clReleaseEvent(st->done);
        free(st->host);
    }
    e->nstaged = kept;
}

void engine_uploads_reap(pegr_engine *e) { staged_reap(e, 0); }

void engine_uploads_settle(pegr_engine *e)
{
    staged_reap(e, 1);
    free(e->staged);
    e->staged = NULL;
    e->staged_cap = 0;
}

pegr_status engine_upload(pegr_engine *e, cl_mem buf, const double *src, size_t count)
{
    if (count == 0) return PEGR_OK;
    staged_reap(e, e->nstaged >= STAGED_MAX);
    if (e->nstaged == e->staged_cap) {
        size_t cap = e->staged_cap ? 2 * e->staged_cap : 8;
        engine_staged *grown = realloc(e->staged, cap * sizeof *grown);
        if (!grown) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory for an upload");
        e->staged = grown;
        e->staged_cap = cap;
    }
    void *tmp = malloc(count * e->elem);
    if (!tmp) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory for an upload");
    if (e->elem == sizeof(double)) memcpy(tmp, src, count * sizeof(double));
    else
        for (size_t i = 0; i < count; i++) ((float *)tmp)[i] = (float)src[i];
    cl_event done = NULL;
    cl_int rc = clEnqueueWriteBuffer(e->ctx->queue, buf, CL_FALSE, 0, count * e->elem, tmp, 0, NULL,
                                     &done);
    if (rc != CL_SUCCESS) {
        free(tmp);
        return pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueWriteBuffer", NULL);
    }
    e->staged[e->nstaged++] = (engine_staged){tmp, done};
    return PEGR_OK;
}

pegr_status engine_download(pegr_engine *e, cl_mem buf, size_t offset, double *dst, size_t count)
{
    if (count == 0) return PEGR_OK;
    void *tmp = malloc(count * e->elem);
    if (!tmp) return pegr_ctx_fail(e->ctx, PEGR_ERR_NO_MEMORY, "out of host memory for a download");
    cl_int rc = clEnqueueReadBuffer(e->ctx->queue, buf, CL_TRUE, offset * e->elem, count * e->elem,
                                    tmp, 0, NULL, NULL);
    e->host_waits++;
    staged_reap(e, 0); /* the queue has drained: every upload before it is done */
    if (rc == CL_SUCCESS) {
        if (e->elem == sizeof(double)) memcpy(dst, tmp, count * sizeof(double));
        else
            for (size_t i = 0; i < count; i++) dst[i] = (double)((float *)tmp)[i];
    }
    free(tmp);
    return rc == CL_SUCCESS ? PEGR_OK : pegr_ctx_cl_fail(e->ctx, rc, "clEnqueueReadBuffer", NULL);
}

pegr_status engine_report(pegr_engine *e, pegr_status s, pegr_error *err)
{
    if (s == PEGR_OK) return s;
    const pegr_error *ctx_err = &e->ctx->error;
    if (ctx_err->status != PEGR_OK && ctx_err->message)
        return pegr_error_set(err, s, "%s", ctx_err->message);
    /* A failure that left no message on the context (a bug): never report it as "success". */
    return pegr_error_set(err, s, "the OpenCL engine failed with %s (%s) and recorded no detail "
                          "(device '%s')", pegr_status_name(s), pegr_status_message(s),
                          e->ctx->device.name);
}

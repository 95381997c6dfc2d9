/* engine_profile.c: per-kernel device time from OpenCL profiling events, when the context was
 * created with profiling. Each enqueue of the engine hands its event here; engine_profile_collect
 * (after the queue is finished) adds each event's end - start to its kernel's total. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_profile.h"

cl_event *engine_profile_event(pegr_engine *e, const char *name)
{
    if (!e->ctx->options.profiling) return NULL;
    if (e->prof.pending >= 4096) engine_profile_collect(e); /* bound the pending events */
    if (e->prof.pending == e->prof.cap) {
        size_t cap = e->prof.cap ? 2 * e->prof.cap : 64;
        engine_pending_event *grown = realloc(e->prof.events, cap * sizeof *grown);
        if (!grown) return NULL; /* profiling is best effort: this launch goes untimed */
        e->prof.events = grown;
        e->prof.cap = cap;
    }
    engine_pending_event *p = &e->prof.events[e->prof.pending++];
    p->name = name;
    p->event = NULL;
    return &p->event;
}

static pegr_kernel_time *slot_for(pegr_engine *e, const char *name)
{
    for (size_t k = 0; k < e->prof.nkernels; k++)
        if (strcmp(e->prof.kernels[k].name, name) == 0) return &e->prof.kernels[k];
    if (e->prof.nkernels == PEGR_ENGINE_MAX_PROFILED) return NULL;
    pegr_kernel_time *t = &e->prof.kernels[e->prof.nkernels++];
    t->name = name;
    t->seconds = 0;
    t->launches = 0;
    return t;
}

void engine_profile_collect(pegr_engine *e)
{
    if (!e->prof.pending) return;
    clFinish(e->ctx->queue);
    e->host_waits++;
    for (size_t k = 0; k < e->prof.pending; k++) {
        engine_pending_event *p = &e->prof.events[k];
        if (!p->event) continue;
        cl_ulong start = 0, end = 0;
        if (clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_START, sizeof start, &start,
                                    NULL) == CL_SUCCESS &&
            clGetEventProfilingInfo(p->event, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL) ==
                CL_SUCCESS) {
            pegr_kernel_time *t = slot_for(e, p->name);
            if (t) {
                t->seconds += 1e-9 * (double)(end - start);
                t->launches++;
            }
        }
        clReleaseEvent(p->event);
    }
    e->prof.pending = 0;
}

size_t pegr_engine_profile(pegr_backend *b, const pegr_kernel_time **times)
{
    pegr_engine *e = (pegr_engine *)b;
    engine_profile_collect(e);
    *times = e->prof.kernels;
    return e->prof.nkernels;
}

void pegr_engine_profile_reset(pegr_backend *b)
{
    pegr_engine *e = (pegr_engine *)b;
    engine_profile_collect(e);
    e->prof.nkernels = 0;
}

void engine_profile_free(pegr_engine *e)
{
    engine_profile_collect(e);
    free(e->prof.events);
    e->prof.events = NULL;
    e->prof.cap = 0;
}

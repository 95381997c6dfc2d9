/* engine_profile.h: the profiling layer of the OpenCL engine (engine_profile.c): each enqueue's
 * event, collected into per-kernel device times. Calls no other engine file (engine_internal.h has
 * the layers). */
#ifndef PEGR_ENGINE_PROFILE_H
#define PEGR_ENGINE_PROFILE_H

#include "engine/engine_object.h"

/* Where the next enqueue named `name` stores its event (NULL when not profiling). */
cl_event *engine_profile_event(pegr_engine *e, const char *name);
void engine_profile_collect(pegr_engine *e);
void engine_profile_free(pegr_engine *e);

#endif

/* clock.h: the monotonic clock of every timing pegr reports, declared in the public pegr/pegr.h
 * (pegr_now_seconds) and defined in clock.c. */
#ifndef PEGR_CLOCK_H
#define PEGR_CLOCK_H

#include "pegr/pegr.h"

#endif

/* clock.h: wall-clock seconds from a monotonic clock, for every timing pegr reports. */
#ifndef PEGR_CLOCK_H
#define PEGR_CLOCK_H

#include <time.h>

static inline double pegr_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif

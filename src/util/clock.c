/* clock.c: pegr_now_seconds, seconds from CLOCK_MONOTONIC. */
#include <time.h>

#include "util/clock.h"

double pegr_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

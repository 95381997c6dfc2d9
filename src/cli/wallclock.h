/* wallclock.h: the CLI's clock for what it times itself (progress rates, how often live files are
 * rewritten, bench's repeats): seconds from CLOCK_MONOTONIC, the clock the library's own timings
 * (records' wall_seconds, build seconds) come from. */
#ifndef PEGR_CLI_WALLCLOCK_H
#define PEGR_CLI_WALLCLOCK_H

#include <time.h>

static inline double pegr_cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif

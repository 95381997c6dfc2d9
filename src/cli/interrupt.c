/* interrupt.c: see interrupt.h. */
#include "interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void pegr_cli_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int pegr_cli_stop_requested(void) { return stop_requested != 0; }

int pegr_cli_should_stop(void *user)
{
    (void)user;
    return stop_requested != 0;
}

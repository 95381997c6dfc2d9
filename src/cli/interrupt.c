/* interrupt.c: see interrupt.h. Everything the handler touches is a volatile sig_atomic_t or a
 * pid written before the count that publishes it, and kill() is async-signal-safe. */
#include "interrupt.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0, stop_signal = SIGTERM;
static volatile pid_t forward[PEGR_CLI_MAX_FORWARD];
static volatile sig_atomic_t nforward = 0;
static pid_t watched_parent = 0;

static void on_signal(int sig)
{
    int saved = errno;
    stop_requested = 1;
    stop_signal = sig;
    for (sig_atomic_t i = 0; i < nforward; i++)
        if (forward[i] > 0) kill(forward[i], sig);
    errno = saved;
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

int pegr_cli_stop_requested(void)
{
    if (!stop_requested && watched_parent > 0 && getppid() != watched_parent) stop_requested = 1;
    return stop_requested != 0;
}

const volatile sig_atomic_t *pegr_cli_stop_flag(void) { return &stop_requested; }

int pegr_cli_should_stop(void *user)
{
    (void)user;
    return pegr_cli_stop_requested();
}

int pegr_cli_forward_stop_to(pid_t pid)
{
    if (nforward >= PEGR_CLI_MAX_FORWARD) return -1;
    forward[nforward] = pid;
    nforward = nforward + 1; /* published after the pid: the handler never sees an unset slot */
    /* A signal that arrived before the registration was not handed on by the handler. Sending it
     * again when it arrived after is harmless: the worker only sets its flag. */
    if (stop_requested) kill(pid, stop_signal);
    return 0;
}

void pegr_cli_forward_clear(void) { nforward = 0; }

void pegr_cli_watch_parent(pid_t parent) { watched_parent = parent; }

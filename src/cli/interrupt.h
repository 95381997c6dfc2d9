/* interrupt.h: Ctrl-C and SIGTERM ask long commands (train, sweep) to stop at the next step; a
 * sweep's parent hands the signal on to its workers, and a worker stops when its parent is gone. */
#ifndef PEGR_CLI_INTERRUPT_H
#define PEGR_CLI_INTERRUPT_H

#include <signal.h>
#include <sys/types.h>

/* Most processes a stop signal is handed on to (pegr sweep's workers). */
#define PEGR_CLI_MAX_FORWARD 64

/* Install the handlers for SIGINT and SIGTERM. */
void pegr_cli_catch_stop_signals(void);
/* Non-zero once a stop was asked for (or the watched parent is gone). */
int pegr_cli_stop_requested(void);
/* The flag the signal handlers set: a pegr_train_callbacks.cancel. */
const volatile sig_atomic_t *pegr_cli_stop_flag(void);
/* pegr_cli_stop_requested as a pegr_train_callbacks.should_stop (it also watches the parent). */
int pegr_cli_should_stop(void *user);

/* Hand every later SIGINT/SIGTERM on to `pid` (a worker), from the handler itself, so no signal is
 * missed between fork and waitpid; when a stop was already asked for, `pid` is signalled at once.
 * 0 on success, -1 when PEGR_CLI_MAX_FORWARD processes are registered already. */
int pegr_cli_forward_stop_to(pid_t pid);
/* In a freshly forked worker: hand nothing on (the parent's list is not the worker's). */
void pegr_cli_forward_clear(void);
/* In a worker: a stop is requested as soon as `parent` is no longer this process's parent (the
 * portable half of dying with the parent; on Linux the worker also has PR_SET_PDEATHSIG). */
void pegr_cli_watch_parent(pid_t parent);

#endif

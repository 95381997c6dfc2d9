/* interrupt.h: Ctrl-C and SIGTERM ask long commands (train, sweep) to stop at the next step. */
#ifndef PEGR_CLI_INTERRUPT_H
#define PEGR_CLI_INTERRUPT_H

/* Install the handlers for SIGINT and SIGTERM. */
void pegr_cli_catch_stop_signals(void);
/* Non-zero once a stop was asked for. */
int pegr_cli_stop_requested(void);
/* The same as a pegr_train_callbacks.should_stop. */
int pegr_cli_should_stop(void *user);

#endif

/* cli_support.h: running the pegr binary from cmocka tests: a shell line with $PEGR (the binary),
 * $T (a temporary directory) and $G (the golden data) set, its output captured. */
#ifndef PEGR_TESTS_CLI_SUPPORT_H
#define PEGR_TESTS_CLI_SUPPORT_H

/* Make the temporary directory; reads PEGR_EXE and PEGR_TEST_DATA_DIR. 0 on success. */
int cli_setup(const char *prefix);
/* Remove it. 0 on success. */
int cli_teardown(void);
/* The temporary directory. */
const char *cli_tmp(void);
const char *cli_data_dir(void);
/* Run a printf-formatted shell line; OUT: stdout+stderr (malloc'ed; may pass NULL). Returns the
 * exit status (-1 when killed by a signal). */
int cli_run(char **output, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The text of $T/rel (malloc'ed); fails the test when missing. */
char *cli_read(const char *rel);

#endif

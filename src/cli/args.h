/* args.h: the command line parser every pegr subcommand uses: long options (--name VALUE or
 * --name=VALUE), typed targets parsed strictly (numparse.h) within an optional range, --help
 * generated from the table with each default and range shown, and a usage error (exit 2) that
 * names the bad option or value and what would be accepted. */
#ifndef PEGR_CLI_ARGS_H
#define PEGR_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef enum pegr_arg_kind {
    PEGR_ARG_FLAG,   /* int, set to 1 */
    PEGR_ARG_STRING, /* const char * */
    PEGR_ARG_SIZE,   /* size_t: decimal digits only (no sign, space or prefix) */
    PEGR_ARG_U64,    /* uint64_t: the same */
    PEGR_ARG_DOUBLE, /* double: decimal, finite */
    PEGR_ARG_CHOICE, /* const char *, one of `choices` (a '|'-separated list) */
    PEGR_ARG_METHOD, /* pegr_method, by its name (pegr_method_parse); `allowed` lists the names */
    PEGR_ARG_REPRESENTATION, /* pegr_representation, by its name; `allowed` lists the names */
    PEGR_ARG_INDEX,  /* int: the position of the word given among `allowed`'s '|'-separated words
                        (a library option of type PEGR_OPTION_CHOICE) */
} pegr_arg_kind;

typedef struct pegr_arg {
    const char *name; /* without the leading "--" */
    pegr_arg_kind kind;
    void *target;
    const char *metavar; /* "N", "SPEC", ... (NULL for flags) */
    const char *help;
    /* PEGR_ARG_CHOICE: the accepted values, '|'-separated ("fp32|fp64").
     * PEGR_ARG_SIZE, _U64, _DOUBLE: the accepted range "MIN..MAX", both ends included, either
     * end may be left out ("1..64", "1..", "0..0.5"); NULL: any value of the type. A range here
     * rather than in fields of its own: a new field would make every positional row in the code
     * incomplete (-Wmissing-field-initializers). A malformed range is a bug: the parser aborts. */
    const char *allowed;
    int seen; /* set by the parser */
} pegr_arg;

/* A range for `allowed` from constants: PEGR_RANGE(1, MAX_WORKERS) -> "1..64"; an end may be
 * empty: PEGR_RANGE(1, ) -> "1..". */
#define PEGR_RANGE(lo, hi) PEGR_RANGE_TEXT_(lo, hi)
#define PEGR_RANGE_TEXT_(lo, hi) #lo ".." #hi

/* Exit codes of the pegr command (documented in the README). */
enum {
    PEGR_EXIT_OK = 0,
    PEGR_EXIT_FAILURE = 1, /* a run-time error: file, device, kernel build */
    PEGR_EXIT_USAGE = 2,   /* a bad flag or value */
};

typedef struct pegr_command_spec {
    const char *name;    /* "devices" */
    const char *summary; /* one line */
    const char *usage;   /* "pegr devices [--json]" */
} pegr_command_spec;

/* Parse argv[1..argc-1] (argv[0] is the subcommand's name). Returns -1 to go on, or an exit code:
 * PEGR_EXIT_OK after --help, PEGR_EXIT_USAGE after an error (message and usage on stderr).
 * Positional arguments are refused. */
int pegr_args_parse(const pegr_command_spec *cmd, pegr_arg *args, size_t nargs, int argc,
                    char **argv);
/* Was option `name` (without "--") given on the command line just parsed? 0 also when the table
 * has no such row. For checks that depend on an explicit choice rather than a default (the host
 * refuses an explicit --precision fp32; --mu-norm and --snr together). */
int pegr_args_given(const pegr_arg *args, size_t nargs, const char *name);
/* Print the command's help, every option with its default. */
void pegr_args_help(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs, void *stream);
/* The usage error helper for checks done after parsing (e.g. a value out of range): prints
 * "pegr NAME: MESSAGE" and the usage line, returns PEGR_EXIT_USAGE. */
int pegr_args_usage_error(const pegr_command_spec *cmd, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The options every subcommand accepts: --device SPEC and --verbose. */
typedef struct pegr_global_opts {
    const char *device;
    int verbose;
} pegr_global_opts;

#define PEGR_GLOBAL_ARGS(g)                                                                        \
    {"device", PEGR_ARG_STRING, &(g)->device, "SPEC",                                              \
     "device: index, P:D, cpu|gpu|accelerator, part of a name (default $PEGR_DEVICE, else first "   \
     "GPU, accelerator, CPU)", NULL, 0},                                                           \
    {"verbose", PEGR_ARG_FLAG, &(g)->verbose, NULL, "say what the library does (on stderr)", NULL, 0}

#endif

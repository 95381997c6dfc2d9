/* fuzz_args.c: a fuzz target for pegr's command line parsers. The input is an argv (arguments
 * separated by NUL or newline bytes) given to the parser of a whole `pegr sweep` command line
 * (sweep_parse_cli: the option table of pegr train and sweep, grids, seeds, methods), and each
 * argument alone to the library's grid axis and seed list parsers (pegr/sweep.h) and to the strict
 * number parser, whose results are checked against what they promise. Built two ways
 * (tests/fuzz/meson.build): with libFuzzer (clang -fsanitize=fuzzer), and with fuzz_main.c, a plain
 * driver for any compiler. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/numparse.h"
#include "cli/sweep_cli.h"
#include "pegr/sweep.h"

/* An argv longer than the sweep parser takes is refused there; a bit past that is enough. */
#define FUZZ_MAX_ARGS (SWEEP_MAX_ARGV + 8)

/* A parser's promise broken: abort, which both drivers report as a crash. */
static void broken(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_args: %s: '%s'\n", what, text);
    abort();
}

/* pegr_parse_u64 accepts digits only, and gives their value. */
static void check_u64(const char *text)
{
    uint64_t v = 0;
    pegr_num_status s = pegr_parse_u64(text, 0, UINT64_MAX, &v);
    if (s != PEGR_NUM_OK) return;
    if (!*text) broken("u64 accepted an empty text", text);
    for (const char *p = text; *p; p++)
        if (!isdigit((unsigned char)*p)) broken("u64 accepted a non-digit", text);
    const char *digits = text;
    while (digits[0] == '0' && digits[1]) digits++; /* leading zeros */
    char back[32];
    snprintf(back, sizeof back, "%" PRIu64, v);
    if (strcmp(back, digits)) broken("u64 gave another value", text);
    uint64_t w = 0;
    if (v < UINT64_MAX && pegr_parse_u64(text, v + 1, UINT64_MAX, &w) != PEGR_NUM_RANGE)
        broken("u64 ignored its lower bound", text);
}

/* pegr_parse_double accepts decimal text only and gives a finite value in range. */
static void check_double(const char *text)
{
    double v = 0;
    if (pegr_parse_double(text, -HUGE_VAL, HUGE_VAL, &v) != PEGR_NUM_OK) return;
    if (!isfinite(v)) broken("double accepted a non-finite value", text);
    for (const char *p = text; *p; p++)
        if (!strchr("0123456789+-.eE", *p)) broken("double accepted a foreign character", text);
    double w = 0;
    if (pegr_parse_double(text, 0.0, 1.0, &w) == PEGR_NUM_OK && !(w >= 0.0 && w <= 1.0))
        broken("double ignored its range", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the arguments, each its own allocation so that ASan sees a read past any one of them */
    char *argv[FUZZ_MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = strdup("sweep");
    size_t start = 0;
    for (size_t i = 0; i <= size && argc < FUZZ_MAX_ARGS; i++) {
        if (i < size && data[i] != '\0' && data[i] != '\n') continue;
        char *arg = malloc(i - start + 1);
        if (!arg) abort();
        memcpy(arg, data + start, i - start);
        arg[i - start] = '\0';
        argv[argc++] = arg;
        start = i + 1;
    }
    argv[argc] = NULL;

    static sweep_cli cli;
    if (sweep_parse_cli(argc, argv, &cli) < 0) sweep_cli_free(&cli);

    /* each argument alone as a grid axis and as a seed list of a fresh sweep (the library's
     * parsers, pegr/sweep.h) */
    pegr_train_config base;
    pegr_train_config_default(&base);
    for (int i = 1; i < argc; i++) {
        pegr_sweep *sweep = NULL;
        if (pegr_sweep_create(&base, PEGR_FP32, &sweep, NULL) != PEGR_OK) abort();
        (void)pegr_sweep_add_axis(sweep, argv[i], NULL);
        (void)pegr_sweep_parse_seeds(sweep, argv[i], NULL);
        pegr_sweep_free(sweep);
        check_u64(argv[i]);
        check_double(argv[i]);
    }
    for (int i = 0; i < argc; i++) free(argv[i]);
    return 0;
}

/* numparse.h: the library's strict parser for numbers that come as text (training options set by
 * name, sweep grids and seeds), with an accepted range, and the words that describe that range in
 * a message. The same functions, under the same names, as the CLI's src/cli/numparse.h (which the
 * CLI keeps while it may not include src/): one behaviour for a value wherever it is typed. */
#ifndef PEGR_UTIL_NUMPARSE_H
#define PEGR_UTIL_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

typedef enum pegr_num_status {
    PEGR_NUM_OK = 0,
    PEGR_NUM_SYNTAX, /* not a number of the kind asked for (empty, sign, space, junk, ...) */
    PEGR_NUM_RANGE,  /* a number, but outside [min, max] or the type (overflow) */
} pegr_num_status;

/* Decimal digits only, the whole text, overflow detected, in [min, max]; *out set on success. */
pegr_num_status pegr_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);
pegr_num_status pegr_parse_size(const char *text, size_t min, size_t max, size_t *out);
/* [+-]digits[.digits][(e|E)[+-]digits], finite, no underflow to a subnormal, in [min, max]. */
pegr_num_status pegr_parse_double(const char *text, double min, double max, double *out);
/* "an integer from 1 to 64" */
void pegr_describe_uint(uint64_t min, uint64_t max, char *buf, size_t len);
/* "a finite number", "a finite number >= 1", "a number from 0 to 0.5" */
void pegr_describe_double(double min, double max, char *buf, size_t len);

#endif

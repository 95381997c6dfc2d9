/* numparse.h: the one strict parser for numbers that come as text -- option values, sweep grids and
 * seeds, --shard's parts, environment variables, Python keywords -- with an accepted range, and the
 * words that describe that range in a message. Pure functions: any thread. */
#ifndef PEGR_NUMPARSE_H
#define PEGR_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pegr_num_status {
    PEGR_NUM_OK = 0,
    PEGR_NUM_SYNTAX, /* not a number of the kind asked for (empty, sign, space, junk, ...) */
    PEGR_NUM_RANGE,  /* a number, but outside [min, max] or the type (overflow) */
} pegr_num_status;

/* An unsigned integer: decimal digits only, the whole text -- no sign, no whitespace, no base
 * prefix, not empty -- with overflow detected, in [min, max]. On success *out is set; otherwise
 * it is left alone. (strtoull would skip leading spaces and accept "-1" as 2^64-1.) */
PEGR_API pegr_num_status pegr_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);
PEGR_API pegr_num_status pegr_parse_size(const char *text, size_t min, size_t max, size_t *out);

/* A decimal floating-point number, the whole text: an optional sign, digits with an optional
 * point, an optional exponent. No whitespace, no hex, no inf or nan; finite (1e400 is out of
 * range) and in [min, max] (pass -HUGE_VAL / HUGE_VAL for no bound). A result that underflows to
 * zero or a subnormal (1e-400) is refused as out of range rather than silently becoming 0. */
PEGR_API pegr_num_status pegr_parse_double(const char *text, double min, double max, double *out);

/* A range as pegr's option tables write it, "MIN..MAX", either end left out for no bound ("1..",
 * "..64", "0..0.5"): the ends parsed as above into [*lo, *hi], which start as [0, max] (integers)
 * or [-HUGE_VAL, HUGE_VAL] (numbers); NULL text is no bound at all. PEGR_NUM_SYNTAX for a
 * malformed range: no "..", an end that is not a number of the type, MIN > MAX. */
PEGR_API pegr_num_status pegr_parse_range_u64(const char *text, uint64_t max, uint64_t *lo,
                                              uint64_t *hi);
PEGR_API pegr_num_status pegr_parse_range_double(const char *text, double *lo, double *hi);
/* 1 when `word` is one of the '|'-separated words of `list` ("fp32|fp64"), else 0. */
PEGR_API int pegr_word_in_list(const char *list, const char *word);
/* The position (0, 1, ...) of `word` among the '|'-separated words of `list`, or -1. */
PEGR_API int pegr_word_index(const char *list, const char *word);
/* Word number `index` of `list` into buf (size bytes, truncated to fit, always terminated);
 * 0 when the list has no such word (buf is then ""), else 1. */
PEGR_API int pegr_word_at(const char *list, int index, char *buf, size_t size);

/* What an integer in [min, max] is, for messages: "an integer from 1 to 64". */
PEGR_API void pegr_describe_uint(uint64_t min, uint64_t max, char *buf, size_t len);
/* What a number in [min, max] is: "a finite number", "a number >= 1", "a number from 0 to 0.5". */
PEGR_API void pegr_describe_double(double min, double max, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif

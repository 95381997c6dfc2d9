/* numparse.c: the strict number parser of pegr/numparse.h. */
#include "util/numparse.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

pegr_num_status pegr_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!text || !*text) return PEGR_NUM_SYNTAX;
    uint64_t v = 0;
    int overflow = 0;
    /* by hand rather than strtoull: it skips whitespace, takes a sign and wraps "-1" */
    for (const char *p = text; *p; p++) {
        if (!is_digit(*p)) return PEGR_NUM_SYNTAX;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            overflow = 1; /* keep scanning: junk after is a syntax error */
        else v = v * 10 + d;
    }
    if (overflow || v < min || v > max) return PEGR_NUM_RANGE;
    *out = v;
    return PEGR_NUM_OK;
}

pegr_num_status pegr_parse_size(const char *text, size_t min, size_t max, size_t *out)
{
    uint64_t v;
    pegr_num_status s = pegr_parse_u64(text, (uint64_t)min, (uint64_t)max, &v);
    if (s == PEGR_NUM_OK) *out = (size_t)v; /* max <= SIZE_MAX, so v fits */
    return s;
}

/* [+-]digits[.digits][(e|E)[+-]digits], with at least one digit in the mantissa: the decimal
 * subset of what strtod takes (no space, hex, inf, nan). */
static int decimal_syntax(const char *p)
{
    if (*p == '+' || *p == '-') p++;
    size_t digits = 0;
    while (is_digit(*p)) p++, digits++;
    if (*p == '.') {
        p++;
        while (is_digit(*p)) p++, digits++;
    }
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!is_digit(*p)) return 0;
        while (is_digit(*p)) p++;
    }
    return *p == '\0';
}

pegr_num_status pegr_parse_double(const char *text, double min, double max, double *out)
{
    if (!text || !decimal_syntax(text)) return PEGR_NUM_SYNTAX;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (*end) return PEGR_NUM_SYNTAX; /* cannot happen after decimal_syntax; kept as a guard */
    /* ERANGE: overflow (to +-HUGE_VAL) or underflow (to 0 or a subnormal, digits lost) */
    if (errno == ERANGE || !isfinite(v) || v < min || v > max) return PEGR_NUM_RANGE;
    *out = v;
    return PEGR_NUM_OK;
}

void pegr_describe_uint(uint64_t min, uint64_t max, char *buf, size_t len)
{
    snprintf(buf, len, "an integer from %llu to %llu", (unsigned long long)min,
             (unsigned long long)max);
}

void pegr_describe_double(double min, double max, char *buf, size_t len)
{
    int lo = isfinite(min), hi = isfinite(max);
    if (lo && hi) snprintf(buf, len, "a number from %.15g to %.15g", min, max);
    else if (lo) snprintf(buf, len, "a finite number >= %.15g", min);
    else if (hi) snprintf(buf, len, "a finite number <= %.15g", max);
    else snprintf(buf, len, "a finite number");
}

/* Split "MIN..MAX" into MIN (copied into lo, a short literal) and MAX (a pointer into text). */
static int split_range(const char *text, char *lo, size_t lo_size, const char **hi)
{
    const char *dots = strstr(text, "..");
    if (!dots || (size_t)(dots - text) >= lo_size) return 0;
    memcpy(lo, text, (size_t)(dots - text));
    lo[dots - text] = '\0';
    *hi = dots + 2;
    return 1;
}

pegr_num_status pegr_parse_range_u64(const char *text, uint64_t max, uint64_t *lo, uint64_t *hi)
{
    char lo_text[32];
    const char *hi_text = NULL;
    *lo = 0;
    *hi = max;
    if (!text) return PEGR_NUM_OK;
    if (!split_range(text, lo_text, sizeof lo_text, &hi_text)) return PEGR_NUM_SYNTAX;
    if (*lo_text && pegr_parse_u64(lo_text, 0, max, lo) != PEGR_NUM_OK) return PEGR_NUM_SYNTAX;
    if (*hi_text && pegr_parse_u64(hi_text, *lo, max, hi) != PEGR_NUM_OK) return PEGR_NUM_SYNTAX;
    return PEGR_NUM_OK;
}

pegr_num_status pegr_parse_range_double(const char *text, double *lo, double *hi)
{
    char lo_text[32];
    const char *hi_text = NULL;
    *lo = -HUGE_VAL;
    *hi = HUGE_VAL;
    if (!text) return PEGR_NUM_OK;
    if (!split_range(text, lo_text, sizeof lo_text, &hi_text)) return PEGR_NUM_SYNTAX;
    if (*lo_text && pegr_parse_double(lo_text, -HUGE_VAL, HUGE_VAL, lo) != PEGR_NUM_OK)
        return PEGR_NUM_SYNTAX;
    if (*hi_text && pegr_parse_double(hi_text, *lo, HUGE_VAL, hi) != PEGR_NUM_OK)
        return PEGR_NUM_SYNTAX;
    return PEGR_NUM_OK;
}

int pegr_word_index(const char *list, const char *word)
{
    size_t n = strlen(word);
    int k = 0;
    for (const char *p = list; p && *p; k++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0) return k;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

int pegr_word_in_list(const char *list, const char *word)
{
    return pegr_word_index(list, word) >= 0;
}

int pegr_word_at(const char *list, int index, char *buf, size_t size)
{
    if (size) buf[0] = '\0';
    int k = 0;
    for (const char *p = list; p && *p && index >= 0; k++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (k == index) {
            if (size) snprintf(buf, size, "%.*s", (int)len, p);
            return 1;
        }
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

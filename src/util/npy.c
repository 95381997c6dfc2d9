/* npy.c: a NumPy .npy reader and writer (format 1.0/2.0/3.0) in plain C11.
 *
 * Reading: the whole file is loaded into memory and parsed from a (pointer, length) pair, so the
 * same code serves pegr_npy_read and pegr_npy_read_mem, and every access is bounds-checked against
 * that length. The header is a Python dict literal; instead of a general Python parser this file
 * has a small recursive-descent parser for exactly what NumPy writes ('descr' string,
 * 'fortran_order' bool, 'shape' tuple of ints), tolerant of key order, quotes and whitespace.
 * Values are decoded byte by byte as little-endian, so the code does not depend on the host's byte
 * order (it only assumes IEEE-754 doubles and floats).
 *
 * Writing: the header bytes equal NumPy's for the same array (NumPy's key order, repr spacing,
 * spare room for the growth axis and 64-byte alignment), then the data; the file goes to a temp
 * name first and is renamed over the target. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getpid, fileno, fstat (the build may already define it) */
#endif

#include "util/npy.h"

#include "util/fsutil.h"
#include "util/safe_open.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAGIC                  "\x93NUMPY"
#define NPY_MAGIC_LEN              6
#define NPY_ALIGN                  64     /* NumPy >= 1.14 aligns the data to 64 bytes */
#define NPY_GROWTH_AXIS_MAX_DIGITS 21     /* NumPy's spare header room for growing axis 0 */
#define NPY_V1_MAX_HEADER          65535u /* a version 1.0 header length is a uint16 */
#define NPY_SNIPPET                24 /* at most this many header chars are quoted in messages */

static const char npy_expected_dtypes[] =
    "expected float32/float64 ('<f4', '<f8'), int8/16/32/64 ('|i1', '<i2', '<i4', '<i8') or "
    "uint8 ('|u1')";

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* Copy up to NPY_SNIPPET chars of s[0..n) into buf for quoting in a message, replacing
 * non-printable bytes by '?' and marking a cut with "...". buf must hold NPY_SNIPPET + 4. */
static const char *snippet(char *buf, const char *s, size_t n)
{
    size_t k = n < NPY_SNIPPET ? n : NPY_SNIPPET;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (k < n) {
        memcpy(buf + k, "...", 4);
    } else {
        buf[k] = '\0';
    }
    return buf;
}

/* Little-endian unsigned load of n <= 8 bytes. */
static uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

static void store_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++, v >>= 8) p[i] = (unsigned char)(v & 0xffu);
}

/* Product of shape[0..ndim) into *size; returns 0 when it overflows size_t. Any zero entry makes
 * the product 0 however large the others are, as in NumPy (e.g. (2**40, 2**40, 0)). */
static int shape_product(const size_t *shape, int ndim, size_t *size)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) {
            *size = 0;
            return 1;
        }
    }
    for (int i = 0; i < ndim; i++) {
        if (n > SIZE_MAX / shape[i]) return 0;
        n *= shape[i];
    }
    *size = n;
    return 1;
}

/* "(3, 4)" style text of a shape, for messages. */
static const char *shape_text(char *buf, size_t cap, const size_t *shape, int ndim)
{
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && used < cap; i++) {
        used += (size_t)snprintf(buf + used, cap - used, i ? ", %zu" : "%zu", shape[i]);
    }
    if (used < cap) snprintf(buf + used, cap - used, ndim == 1 ? ",)" : ")");
    return buf;
}

/* The C-order multi-index of a flat index, e.g. "(1, 2)", for messages. */
static const char *index_text(char *buf, size_t cap, const size_t *shape, int ndim, size_t flat)
{
    size_t idx[PEGR_NPY_MAX_DIMS];
    for (int i = ndim; i-- > 0;) {
        idx[i] = shape[i] ? flat % shape[i] : 0;
        flat = shape[i] ? flat / shape[i] : 0;
    }
    return shape_text(buf, cap, idx, ndim);
}

/* ------------------------------------------------------------------------------------------ */
/* Header dict parsing                                                                        */
/* ------------------------------------------------------------------------------------------ */

enum { KEY_DESCR, KEY_FORTRAN, KEY_SHAPE, KEY_COUNT };
static const char *const npy_keys[KEY_COUNT] = {"descr", "fortran_order", "shape"};

typedef struct npy_header {
    const char *descr; /* points into the header text, not NUL-terminated */
    size_t descr_len;
    int fortran_order;
    int ndim;
    size_t shape[PEGR_NPY_MAX_DIMS];
    unsigned seen; /* bit k set once key k was parsed */
} npy_header;

typedef struct npy_cursor {
    const char *p, *end;
    const char *name; /* the file, for messages */
} npy_cursor;

static int peek(const npy_cursor *c) { return c->p < c->end ? (unsigned char)*c->p : -1; }

static void skip_ws(npy_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) {
        c->p++;
    }
}

/* What the cursor is looking at, quoted for "found ..." in messages: the next chars up to
 * whitespace, at most 12 of them. */
static const char *found(const npy_cursor *c, char *buf)
{
    if (c->p >= c->end) return "the end of the header";
    size_t n = 1;
    while (n < 12 && c->p + n < c->end && !strchr(" \t\r\n", c->p[n])) n++;
    char raw[NPY_SNIPPET + 4];
    snprintf(buf, NPY_SNIPPET + 8, "'%s'", snippet(raw, c->p, n));
    return buf;
}

/* A quoted string without escapes ('...' or "..."); NumPy's descr and keys never need any. */
static pegr_status parse_string(npy_cursor *c, const char *what, const char **s, size_t *n,
                                pegr_error *err)
{
    char fb[NPY_SNIPPET + 8];
    int q = peek(c);
    if (q != '\'' && q != '"') {
        return pegr_error_set(err, PEGR_ERR_FORMAT, "'%s': header: expected %s in quotes, found %s",
                              c->name, what, found(c, fb));
    }
    const char *start = ++c->p;
    while (c->p < c->end && *c->p != (char)q) {
        if (*c->p == '\\') {
            return pegr_error_set(err, PEGR_ERR_FORMAT,
                                  "'%s': header: escape sequences are not supported in %s", c->name,
                                  what);
        }
        c->p++;
    }
    if (c->p >= c->end) {
        return pegr_error_set(err, PEGR_ERR_FORMAT, "'%s': header: %s has no closing quote",
                              c->name, what);
    }
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return PEGR_OK;
}

/* Does the cursor start with the word w, not followed by more identifier characters? */
static int match_word(npy_cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    if (c->p + n < c->end) {
        unsigned char next = (unsigned char)c->p[n];
        unsigned char lower = (unsigned char)(next | 0x20);
        if (next == '_' || (next >= '0' && next <= '9') || (lower >= 'a' && lower <= 'z')) return 0;
    }
    c->p += n;
    return 1;
}

static pegr_status parse_bool(npy_cursor *c, int *value, pegr_error *err)
{
    char fb[NPY_SNIPPET + 8];
    if (match_word(c, "True")) {
        *value = 1;
    } else if (match_word(c, "False")) {
        *value = 0;
    } else {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header: 'fortran_order' must be True or False, found %s",
                              c->name, found(c, fb));
    }
    return PEGR_OK;
}

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* One shape entry: a decimal integer, optionally with Python 2's long suffix 'L' (old NumPy under
 * Python 2 wrote (3L, 4L)). The token runs to the next ',', ')' or whitespace. */
static pegr_status parse_dim(npy_cursor *c, int index, size_t *dim, pegr_error *err)
{
    const char *start = c->p;
    while (c->p < c->end && !strchr(",) \t\r\n", *c->p)) c->p++;
    size_t n = (size_t)(c->p - start);
    size_t digits = n;
    if (digits > 0 && (start[digits - 1] == 'L' || start[digits - 1] == 'l')) digits--;

    int all_digits = digits > 0;
    for (size_t i = 0; i < digits; i++) all_digits = all_digits && is_digit(start[i]);
    int negative = digits > 1 && start[0] == '-';
    for (size_t i = 1; negative && i < digits; i++) negative = is_digit(start[i]);

    char sb[NPY_SNIPPET + 4], fb[NPY_SNIPPET + 8];
    if (negative) {
        return pegr_error_set(
            err, PEGR_ERR_FORMAT,
            "'%s': header: shape entry %d is negative (%s); a shape is a tuple of "
            "non-negative integers, e.g. (3, 4)",
            c->name, index, snippet(sb, start, n));
    }
    if (!all_digits) {
        c->p = start; /* so that an empty token reports the character that stopped it */
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header: shape entry %d is not a non-negative integer (found "
                              "%s); a shape is a tuple of non-negative integers, e.g. (3, 4)",
                              c->name, index, n ? snippet(sb, start, n) : found(c, fb));
    }
    size_t v = 0;
    for (size_t i = 0; i < digits; i++) {
        size_t d = (size_t)(start[i] - '0');
        if (v > (SIZE_MAX - d) / 10) {
            return pegr_error_set(err, PEGR_ERR_FORMAT,
                                  "'%s': header: shape entry %d (%s) overflows size_t", c->name,
                                  index, snippet(sb, start, n));
        }
        v = v * 10 + d;
    }
    *dim = v;
    return PEGR_OK;
}

/* A shape tuple: (), (5,), (3, 4) or (3, 4,), any whitespace. (5) is an int in Python, not a
 * tuple, and NumPy rejects it; so does this. */
static pegr_status parse_shape(npy_cursor *c, npy_header *h, pegr_error *err)
{
    char fb[NPY_SNIPPET + 8];
    if (peek(c) != '(') {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header: 'shape' must be a tuple of non-negative integers such "
                              "as (3, 4), (5,) or (), found %s",
                              c->name, found(c, fb));
    }
    c->p++;
    skip_ws(c);
    int n = 0, trailing_comma = 0;
    while (peek(c) != ')') {
        if (n == PEGR_NPY_MAX_DIMS) {
            return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                                  "'%s': shape has more than %d dimensions; at most %d are "
                                  "supported",
                                  c->name, PEGR_NPY_MAX_DIMS, PEGR_NPY_MAX_DIMS);
        }
        pegr_status st = parse_dim(c, n, &h->shape[n], err);
        if (st != PEGR_OK) return st;
        n++;
        skip_ws(c);
        trailing_comma = peek(c) == ',';
        if (trailing_comma) {
            c->p++;
            skip_ws(c);
        } else if (peek(c) != ')') {
            return pegr_error_set(err, PEGR_ERR_FORMAT,
                                  "'%s': header: expected ',' or ')' in 'shape', found %s", c->name,
                                  found(c, fb));
        }
    }
    if (n == 1 && !trailing_comma) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header: 'shape' (%zu) is not a tuple; a 1-d shape is written "
                              "(%zu,)",
                              c->name, h->shape[0], h->shape[0]);
    }
    c->p++;
    h->ndim = n;
    return PEGR_OK;
}

static pegr_status parse_descr(npy_cursor *c, npy_header *h, pegr_error *err)
{
    if (peek(c) == '[') {
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                              "'%s': structured (record) dtypes are not supported; %s", c->name,
                              npy_expected_dtypes);
    }
    return parse_string(c, "the 'descr' dtype string (e.g. '<f8')", &h->descr, &h->descr_len, err);
}

static pegr_status parse_key(npy_cursor *c, npy_header *h, int *key, pegr_error *err)
{
    const char *s;
    size_t n;
    pegr_status st = parse_string(c, "a key", &s, &n, err);
    if (st != PEGR_OK) return st;
    for (int k = 0; k < KEY_COUNT; k++) {
        if (strlen(npy_keys[k]) != n || memcmp(npy_keys[k], s, n) != 0) continue;
        if (h->seen & (1u << k)) {
            return pegr_error_set(err, PEGR_ERR_FORMAT, "'%s': header: key '%s' appears twice",
                                  c->name, npy_keys[k]);
        }
        h->seen |= 1u << k;
        *key = k;
        return PEGR_OK;
    }
    char sb[NPY_SNIPPET + 4];
    return pegr_error_set(err, PEGR_ERR_FORMAT,
                          "'%s': header has an unexpected key '%s'; a .npy header has exactly the "
                          "keys 'descr', 'fortran_order' and 'shape'",
                          c->name, snippet(sb, s, n));
}

static pegr_status parse_entry(npy_cursor *c, npy_header *h, pegr_error *err)
{
    char fb[NPY_SNIPPET + 8];
    int key = 0;
    pegr_status st = parse_key(c, h, &key, err);
    if (st != PEGR_OK) return st;
    skip_ws(c);
    if (peek(c) != ':') {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header: expected ':' after '%s', found %s", c->name,
                              npy_keys[key], found(c, fb));
    }
    c->p++;
    skip_ws(c);
    switch (key) {
    case KEY_DESCR: return parse_descr(c, h, err);
    case KEY_FORTRAN: return parse_bool(c, &h->fortran_order, err);
    default: return parse_shape(c, h, err);
    }
}

/* The whole header text: one dict literal, then only whitespace (NumPy pads with spaces and ends
 * with '\n'). */
static pegr_status parse_header(const char *name, const char *text, size_t len, npy_header *h,
                                pegr_error *err)
{
    npy_cursor c = {text, text + len, name};
    char fb[NPY_SNIPPET + 8];
    memset(h, 0, sizeof *h);
    skip_ws(&c);
    if (peek(&c) != '{') {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header is not a Python dict literal: expected '{', found %s; "
                              "a .npy header looks like {'descr': '<f8', 'fortran_order': False, "
                              "'shape': (3, 4), }",
                              name, found(&c, fb));
    }
    c.p++;
    skip_ws(&c);
    while (peek(&c) != '}') {
        pegr_status st = parse_entry(&c, h, err);
        if (st != PEGR_OK) return st;
        skip_ws(&c);
        if (peek(&c) == ',') {
            c.p++;
            skip_ws(&c);
        } else if (peek(&c) != '}') {
            return pegr_error_set(err, PEGR_ERR_FORMAT,
                                  "'%s': header: expected ',' or '}' in the dict, found %s", name,
                                  found(&c, fb));
        }
    }
    c.p++;
    skip_ws(&c);
    if (c.p != c.end) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header: unexpected %s after the dict (only padding spaces and "
                              "a final newline may follow)",
                              name, found(&c, fb));
    }
    for (int k = 0; k < KEY_COUNT; k++) {
        if (!(h->seen & (1u << k))) {
            return pegr_error_set(err, PEGR_ERR_FORMAT,
                                  "'%s': header lacks the key '%s'; a .npy header has the keys "
                                  "'descr', 'fortran_order' and 'shape'",
                                  name, npy_keys[k]);
        }
    }
    return PEGR_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* dtype                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct npy_dtype {
    char kind;   /* 'f', 'i' or 'u' */
    size_t size; /* bytes per value */
} npy_dtype;

/* Why a NumPy dtype kind is not supported, for messages. */
static const char *kind_hint(char kind)
{
    switch (kind) {
    case 'c': return " (complex numbers)";
    case 'U': return " (Unicode strings)";
    case 'S': return " (byte strings)";
    case 'O': return " (Python objects, stored pickled)";
    case 'b': return " (booleans)";
    case 'M':
    case 'm': return " (datetimes)";
    case 'V': return " (raw bytes)";
    default: return "";
    }
}

static int dtype_supported(char kind, size_t size)
{
    if (kind == 'f') return size == 4 || size == 8;
    if (kind == 'i') return size == 1 || size == 2 || size == 4 || size == 8;
    if (kind == 'u') return size == 1;
    return 0;
}

/* Parse a descr such as "<f8": byte order, kind, item size. Byte order: '<' is always fine; for a
 * 1-byte type the order character is meaningless and any is accepted. '>' is refused (big-endian).
 * '|' and '=' on a multi-byte type do not say the byte order (NumPy never writes that), so they are
 * refused rather than guessed. */
static pegr_status parse_dtype(const char *name, const char *s, size_t n, npy_dtype *dt,
                               pegr_error *err)
{
    char sb[NPY_SNIPPET + 4];
    const char *shown = snippet(sb, s, n);
    if (n < 2 || s[0] == '\0' || !strchr("<>|=", s[0])) {
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                              "'%s': dtype '%s' is not supported (a descr starts with a byte-order "
                              "character '<', '>' or '|'); %s",
                              name, shown, npy_expected_dtypes);
    }
    char kind = s[1];
    size_t size = 0;
    int size_ok = n >= 3 && n <= 5; /* at most 3 digits: no overflow, and covers '<c16' etc. */
    for (size_t i = 2; size_ok && i < n; i++) {
        size_ok = is_digit(s[i]);
        if (size_ok) size = size * 10 + (size_t)(s[i] - '0');
    }
    if (!size_ok || !dtype_supported(kind, size)) {
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED, "'%s': dtype '%s'%s is not supported; %s",
                              name, shown, kind_hint(kind), npy_expected_dtypes);
    }
    if (size > 1 && s[0] == '>') {
        return pegr_error_set(
            err, PEGR_ERR_UNSUPPORTED,
            "'%s': big-endian dtype '%s' is not supported; save as little-endian, "
            "e.g. a.astype('<%s')",
            name, shown, shown + 1);
    }
    if (size > 1 && s[0] != '<') {
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                              "'%s': dtype '%s' does not state the byte order of a %zu-byte type; "
                              "save as little-endian, e.g. a.astype('<%s')",
                              name, shown, size, shown + 1);
    }
    dt->kind = kind;
    dt->size = size;
    return PEGR_OK;
}

/* One value at p, converted to double. Integers are sign-extended by hand and reinterpreted via
 * memcpy (int64_t is two's complement by definition), avoiding implementation-defined casts. */
static double load_value(const unsigned char *p, const npy_dtype *dt)
{
    uint64_t bits = load_le(p, dt->size);
    if (dt->kind == 'f') {
        if (dt->size == 4) {
            uint32_t b32 = (uint32_t)bits;
            float f;
            memcpy(&f, &b32, sizeof f);
            return (double)f;
        }
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    if (dt->kind == 'u') return (double)bits;
    if (dt->size < 8 && ((bits >> (8 * dt->size - 1)) & 1u)) bits |= UINT64_MAX << (8 * dt->size);
    int64_t v;
    memcpy(&v, &bits, sizeof v);
    return (double)v;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Magic, version and header length; header_off and header_len locate the header text in b. */
static pegr_status parse_preamble(const char *name, const unsigned char *b, size_t len,
                                  size_t *header_off, size_t *header_len, pegr_error *err)
{
    if (len < NPY_MAGIC_LEN + 2 || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': not a .npy file: it does not start with the magic string "
                              "\\x93NUMPY followed by a version (%zu bytes)",
                              name, len);
    }
    unsigned major = b[6], minor = b[7];
    if (minor != 0 || major < 1 || major > 3) {
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                              "'%s': .npy format version %u.%u is not supported; expected 1.0, 2.0 "
                              "or 3.0",
                              name, major, minor);
    }
    size_t len_bytes = major == 1 ? 2 : 4; /* 1.0: uint16 header length; 2.0 and 3.0: uint32 */
    size_t off = NPY_MAGIC_LEN + 2 + len_bytes;
    if (len < off) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': file ends inside the .npy preamble (%zu bytes, need %zu)",
                              name, len, off);
    }
    size_t hlen = (size_t)load_le(b + NPY_MAGIC_LEN + 2, len_bytes);
    if (hlen > len - off) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': header length %zu runs past the end of the file (only %zu "
                              "bytes follow the %zu-byte preamble)",
                              name, hlen, len - off, off);
    }
    *header_off = off;
    *header_len = hlen;
    return PEGR_OK;
}

/* Element and byte counts of the header's shape, and a check that the data is exactly that long
 * (a short file is truncated; a long one does not match its header either). */
static pegr_status check_data_length(const char *name, const npy_header *h, const npy_dtype *dt,
                                     size_t available, size_t *size, pegr_error *err)
{
    char sb[PEGR_NPY_MAX_DIMS * 24 + 8];
    size_t n;
    if (!shape_product(h->shape, h->ndim, &n) || n > SIZE_MAX / dt->size ||
        n > SIZE_MAX / sizeof(double)) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': shape %s has too many elements: the size overflows size_t",
                              name, shape_text(sb, sizeof sb, h->shape, h->ndim));
    }
    size_t expected = n * dt->size;
    if (available < expected) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': data is truncated: shape %s of %zu-byte values: expected %zu "
                              "bytes of data, found %zu",
                              name, shape_text(sb, sizeof sb, h->shape, h->ndim), dt->size,
                              expected, available);
    }
    if (available > expected) {
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': file does not match its header: shape %s of %zu-byte values: "
                              "expected %zu bytes of data, found %zu (trailing bytes)",
                              name, shape_text(sb, sizeof sb, h->shape, h->ndim), dt->size,
                              expected, available);
    }
    *size = n;
    return PEGR_OK;
}

/* Convert n values to double into out, refusing NaN and Inf (naming the first one's index). */
static pegr_status decode_values(const char *name, const unsigned char *src, const npy_header *h,
                                 const npy_dtype *dt, size_t n, double *out, pegr_error *err)
{
    for (size_t i = 0; i < n; i++) {
        double v = load_value(src + i * dt->size, dt);
        if (isfinite(v)) {
            out[i] = v;
            continue;
        }
        char ib[PEGR_NPY_MAX_DIMS * 24 + 8], where[sizeof ib + 16] = "";
        if (h->ndim >= 2) {
            snprintf(where, sizeof where, " (index %s)",
                     index_text(ib, sizeof ib, h->shape, h->ndim, i));
        }
        return pegr_error_set(err, PEGR_ERR_NONFINITE,
                              "'%s': value at flat index %zu%s is %s; every value must be finite",
                              name, i, where, isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
    }
    return PEGR_OK;
}

pegr_status pegr_npy_read_mem(const void *buf, size_t len, const char *name, pegr_array *out,
                              pegr_error *err)
{
    if (!name) name = "<memory>";
    if (!out || (!buf && len)) {
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "'%s': pegr_npy_read_mem needs an output array and a buffer", name);
    }
    memset(out, 0, sizeof *out);
    const unsigned char *b = buf;
    size_t hoff = 0, hlen = 0, size = 0;
    npy_header h = {0};
    npy_dtype dt = {0}; /* initialised only to quiet -Wmaybe-uninitialized at -O2 */
    pegr_status st = parse_preamble(name, b, len, &hoff, &hlen, err);
    if (st == PEGR_OK) st = parse_header(name, (const char *)b + hoff, hlen, &h, err);
    if (st == PEGR_OK) st = parse_dtype(name, h.descr, h.descr_len, &dt, err);
    if (st == PEGR_OK && h.fortran_order) {
        st = pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                            "'%s': Fortran order is not supported; save with "
                            "np.ascontiguousarray(a)",
                            name);
    }
    if (st == PEGR_OK) st = check_data_length(name, &h, &dt, len - hoff - hlen, &size, err);
    if (st != PEGR_OK) return st;

    /* Never malloc(0): a successful read always yields a non-NULL data pointer. */
    double *data = malloc(size ? size * sizeof(double) : 1);
    if (!data) {
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "'%s': cannot allocate %zu values", name,
                              size);
    }
    st = decode_values(name, b + hoff + hlen, &h, &dt, size, data, err);
    if (st != PEGR_OK) {
        free(data);
        return st;
    }
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof h.shape);
    out->size = size;
    out->data = data;
    memcpy(out->descr, h.descr, h.descr_len); /* parse_dtype bounded descr_len to <= 5 */
    out->descr[h.descr_len] = '\0';
    out->is_integer = dt.kind != 'f';
    return PEGR_OK;
}

pegr_status pegr_npy_read(const char *path, pegr_array *out, pegr_error *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out) {
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_npy_read needs a path and an output array");
    }
    /* A regular file (read in one allocation of its size) or a pipe such as <(cmd); never a
     * device: a path that is (or links to) /dev/zero would otherwise be read until memory runs
     * out. A FIFO is opened without blocking, so one nobody writes to reads as empty. */
    char *buf = NULL;
    size_t len = 0;
    pegr_status st = pegr_safe_read_file(path, PEGR_SAFE_FOLLOW | PEGR_SAFE_ALLOW_PIPE, SIZE_MAX,
                                         &buf, &len, err);
    if (st == PEGR_ERR_NOT_FOUND)
        return pegr_error_set(err, PEGR_ERR_IO, "cannot open '%s': %s", path, strerror(ENOENT));
    if (st != PEGR_OK) return st;
    st = pegr_npy_read_mem(buf, len, path, out, err);
    free(buf);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Refuse values that the reader would refuse: NaN, Inf, and (for float32) finite doubles that
 * round to Inf. Checked before any file is created. */
static pegr_status check_writable(const char *path, const double *data, size_t n, int as_float32,
                                  pegr_error *err)
{
    for (size_t i = 0; i < n; i++) {
        double v = data[i];
        if (!isfinite(v)) {
            return pegr_error_set(err, PEGR_ERR_NONFINITE,
                                  "cannot write '%s': value at flat index %zu is %s; every value "
                                  "must be finite",
                                  path, i, isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"));
        }
        if (as_float32 && !isfinite((float)v)) {
            return pegr_error_set(
                err, PEGR_ERR_NONFINITE,
                "cannot write '%s' as float32: value at flat index %zu (%.17g) is "
                "outside the float32 range",
                path, i, v);
        }
    }
    return PEGR_OK;
}

/* The preamble and header exactly as NumPy writes them: keys sorted, repr() spacing, spare
 * spaces for the growth axis (axis 0 in C order), padding so the data starts at a multiple of 64,
 * final '\n'. Version 1.0 unless the header exceeds 65535 bytes (impossible with <= 8 dims, kept
 * for fidelity to the format). Returns the byte count written into buf. */
static size_t build_header(unsigned char *buf, size_t cap, int ndim, const size_t *shape,
                           int as_float32)
{
    char dict[512], sb[PEGR_NPY_MAX_DIMS * 24 + 8];
    size_t n = (size_t)snprintf(dict, sizeof dict,
                                "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                                as_float32 ? "<f4" : "<f8", shape_text(sb, sizeof sb, shape, ndim));
    size_t growth = 0;
    if (ndim > 0) {
        size_t digits = (size_t)snprintf(NULL, 0, "%zu", shape[0]);
        if (digits < NPY_GROWTH_AXIS_MAX_DIGITS) growth = NPY_GROWTH_AXIS_MAX_DIGITS - digits;
    }
    size_t text = n + growth + 1; /* + '\n' */
    unsigned version = 1;
    size_t pre = NPY_MAGIC_LEN + 2 + 2;
    size_t pad = NPY_ALIGN - (pre + text) % NPY_ALIGN; /* 1..64, as NumPy: never 0 */
    if (text + pad > NPY_V1_MAX_HEADER) {
        version = 2;
        pre = NPY_MAGIC_LEN + 2 + 4;
        pad = NPY_ALIGN - (pre + text) % NPY_ALIGN;
    }
    size_t total = pre + text + pad;
    if (total > cap) return 0; /* cannot happen: the dict is bounded by PEGR_NPY_MAX_DIMS */
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    store_le(buf + 8, text + pad, pre - 8);
    memcpy(buf + pre, dict, n);
    memset(buf + pre + n, ' ', growth + pad);
    buf[total - 1] = '\n';
    return total;
}

/* Values as little-endian float64/float32, in chunks through a small buffer. */
static int write_values(FILE *f, const double *data, size_t n, int as_float32)
{
    unsigned char chunk[8192];
    size_t item = as_float32 ? 4 : 8, per_chunk = sizeof chunk / item;
    for (size_t i = 0; i < n; i += per_chunk) {
        size_t k = n - i < per_chunk ? n - i : per_chunk;
        for (size_t j = 0; j < k; j++) {
            if (as_float32) {
                float v = (float)data[i + j];
                uint32_t bits;
                memcpy(&bits, &v, sizeof bits);
                store_le(chunk + j * 4, bits, 4);
            } else {
                uint64_t bits;
                memcpy(&bits, &data[i + j], sizeof bits);
                store_le(chunk + j * 8, bits, 8);
            }
        }
        if (fwrite(chunk, item, k, f) != k) return 0;
    }
    return 1;
}

/* Write header and data to the temp file and close it; the caller removes it on failure. */
static pegr_status write_temp(const char *tmp, const unsigned char *header, size_t header_len,
                              const double *data, size_t n, int as_float32, pegr_error *err)
{
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        return pegr_error_set(err, PEGR_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    }
    int ok = fwrite(header, 1, header_len, f) == header_len &&
             write_values(f, data, n, as_float32) && fflush(f) == 0;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (!ok) return pegr_error_set(err, PEGR_ERR_IO, "cannot write '%s': %s", tmp, strerror(e));
    return PEGR_OK;
}

pegr_status pegr_npy_write(const char *path, const double *data, int ndim, const size_t *shape,
                           int as_float32, pegr_error *err)
{
    size_t n = 0;
    if (!path || ndim < 0 || ndim > PEGR_NPY_MAX_DIMS || (ndim > 0 && !shape)) {
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_npy_write('%s'): needs a path and 0..%d dimensions (got %d)",
                              path ? path : "(null)", PEGR_NPY_MAX_DIMS, ndim);
    }
    if (!shape_product(shape, ndim, &n) || n > SIZE_MAX / 8) {
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_npy_write('%s'): the element count overflows size_t", path);
    }
    if (n > 0 && !data) {
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_npy_write('%s'): data is NULL for %zu elements", path, n);
    }
    pegr_status st = check_writable(path, data, n, as_float32, err);
    if (st != PEGR_OK) return st;

    unsigned char header[1024];
    size_t header_len = build_header(header, sizeof header, ndim, shape, as_float32);
    if (header_len == 0) {
        return pegr_error_set(err, PEGR_ERR_INTERNAL, "'%s': .npy header too long", path);
    }

    long pid = (long)getpid(); /* per-process temp name: concurrent writers do not collide */
    size_t tmp_len = (size_t)snprintf(NULL, 0, "%s.tmp.%ld", path, pid) + 1;
    char *tmp = malloc(tmp_len);
    if (!tmp) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "cannot write '%s': no memory", path);
    snprintf(tmp, tmp_len, "%s.tmp.%ld", path, pid);

    st = write_temp(tmp, header, header_len, data, n, as_float32, err);
    if (st == PEGR_OK && rename(tmp, path) != 0) {
        st = pegr_error_set(err, PEGR_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                            strerror(errno));
    }
    if (st != PEGR_OK) remove(tmp); /* may not exist (open failed); nothing to do then */
    free(tmp);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Labels and cleanup                                                                         */
/* ------------------------------------------------------------------------------------------ */

pegr_status pegr_array_check_labels(const pegr_array *a, const char *name, pegr_error *err)
{
    if (!name) name = "labels";
    if (!a || (a->size > 0 && !a->data)) {
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "'%s': no label array", name);
    }
    for (size_t i = 0; i < a->size; i++) {
        double v = a->data[i];
        if (v == 1.0 || v == -1.0) continue;
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "'%s': label at flat index %zu is %.17g; every label must be exactly "
                              "+1 or -1",
                              name, i, v);
    }
    return PEGR_OK;
}

void pegr_array_free(pegr_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

pegr_status pegr_npy_write_in(const char *dir, const char *name, const double *data, int ndim,
                              const size_t *shape, int as_float32, pegr_error *err)
{
    char *path = pegr_path_join(dir, name);
    if (!path) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    pegr_status s = pegr_npy_write(path, data, ndim, shape, as_float32, err);
    free(path);
    return s;
}

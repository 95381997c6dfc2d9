/* json_read.c: see json_read.h. A recursive-descent reader over the bytes; recursion is bounded by
 * PEGR_JSON_READ_MAX_DEPTH, so any input costs at most that much stack. */
#include "util/json_read.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"

typedef struct parser {
    const char *s;
    size_t len, pos;
    const char *name;
    pegr_error *err;
    size_t line, line_start; /* the current line (1-based) and the offset where it starts */
} parser;

/* Line and column (1-based, bytes) of offset `at` on the current line: a newline is only ever
 * consumed as space between tokens (inside a string it is refused), so every offset a message
 * names -- a token's start, an escape, the current position -- lies on the current line. Counted
 * as the text is read, not rescanned: a message costs nothing per value. */
static void where(const parser *p, size_t at, size_t *line, size_t *column)
{
    *line = p->line;
    *column = at - p->line_start + 1;
}

/* What is at p->pos, for "found ...": a printable byte quoted, another byte in hex, or the end. */
static void describe_here(const parser *p, char *buf, size_t size)
{
    if (p->pos >= p->len) {
        snprintf(buf, size, "the end of the text");
        return;
    }
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c > 0x20 && c < 0x7f) snprintf(buf, size, "'%c'", c);
    else snprintf(buf, size, "byte 0x%02x", c);
}

/* "NAME: line L, column C: MESSAGE" at offset `at`; returns PEGR_ERR_FORMAT. */
static pegr_status fail_at(parser *p, size_t at, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static pegr_status fail_at(parser *p, size_t at, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line, column;
    where(p, at, &line, &column);
    return pegr_error_set(p->err, PEGR_ERR_FORMAT, "%s: line %zu, column %zu: %s", p->name, line,
                          column, msg);
}

/* "expected WHAT, found ..." at the current position. */
static pegr_status expected(parser *p, const char *what)
{
    char found[32];
    describe_here(p, found, sizeof found);
    return fail_at(p, p->pos, "expected %s, found %s", what, found);
}

static pegr_status no_memory(parser *p)
{
    return pegr_error_set(p->err, PEGR_ERR_NO_MEMORY, "%s: out of memory", p->name);
}

static void skip_space(parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        if (c == '\n') p->line++, p->line_start = p->pos + 1;
        p->pos++;
    }
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* ---- strings ------------------------------------------------------------------------------ */

typedef struct text_buf {
    char *buf;
    size_t len, cap;
} text_buf;

static int put(text_buf *t, const char *bytes, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 32;
        while (cap < t->len + n + 1) cap *= 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) return 0;
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, bytes, n);
    t->len += n;
    t->buf[t->len] = '\0';
    return 1;
}

static int put_utf8(text_buf *t, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) b[0] = (char)(0xc0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3f)), n = 2;
    else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return put(t, b, n);
}

/* The 4 hex digits after "\u" at p->pos. */
static pegr_status hex4(parser *p, unsigned long *out)
{
    unsigned long v = 0;
    for (int k = 0; k < 4; k++) {
        int c = peek(p), d;
        if (is_digit(c)) d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return expected(p, "4 hex digits after \\u");
        v = v * 16 + (unsigned long)d;
        p->pos++;
    }
    *out = v;
    return PEGR_OK;
}

/* One escape after the backslash at p->pos - 1 into t. */
static pegr_status escape(parser *p, text_buf *t)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t at = p->pos - 1;
    int c = peek(p);
    const char *hit = c > 0 ? strchr(from, c) : NULL;
    if (hit) {
        p->pos++;
        return put(t, &to[hit - from], 1) ? PEGR_OK : no_memory(p);
    }
    if (c != 'u')
        return fail_at(p, at, "bad escape in a string: the escapes are \\\" \\\\ \\/ \\b \\f \\n "
                              "\\r \\t and \\uXXXX");
    p->pos++;
    unsigned long cp;
    pegr_status s = hex4(p, &cp);
    if (s != PEGR_OK) return s;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail_at(p, at, "a lone low surrogate \\u%04lx in a string", cp);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        /* a high surrogate: its low half must follow as a second \u escape */
        unsigned long lo;
        if (p->pos + 1 >= p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
            return fail_at(p, at, "a high surrogate \\u%04lx in a string without its low half", cp);
        p->pos += 2;
        if ((s = hex4(p, &lo)) != PEGR_OK) return s;
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail_at(p, at, "a high surrogate \\u%04lx followed by \\u%04lx, not a low one",
                           cp, lo);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0) return fail_at(p, at, "\\u0000 in a string (no C string holds it)");
    return put_utf8(t, cp) ? PEGR_OK : no_memory(p);
}

/* A string at p->pos (which is '"') into *out (malloc'ed). Bytes >= 0x80 are taken as they are:
 * pegr writes device names as their drivers give them. */
static pegr_status parse_string(parser *p, char **out)
{
    size_t start = p->pos++;
    text_buf t = {0};
    pegr_status s = put(&t, "", 0) ? PEGR_OK : no_memory(p);
    while (s == PEGR_OK) {
        if (p->pos >= p->len) {
            s = fail_at(p, start, "a string that never ends (no closing '\"' before the end)");
            break;
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            s = fail_at(p, p->pos, "a control character (byte 0x%02x) inside a string: write it "
                                   "as an escape (\\n, \\t, \\u00XX)", c);
            break;
        }
        p->pos++;
        if (c == '\\') s = escape(p, &t);
        else if (!put(&t, (const char *)&c, 1)) s = no_memory(p);
    }
    if (s != PEGR_OK) {
        free(t.buf);
        return s;
    }
    *out = t.buf;
    return PEGR_OK;
}

/* ---- numbers ------------------------------------------------------------------------------ */

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static pegr_status parse_number(parser *p, pegr_json_value *v)
{
    size_t start = p->pos;
    if (peek(p) == '-') p->pos++;
    if (!is_digit(peek(p))) return expected(p, "a digit in a number");
    if (peek(p) == '0' && p->pos + 1 < p->len && is_digit((unsigned char)p->s[p->pos + 1]))
        return fail_at(p, p->pos, "a number with a leading zero (JSON writes 12, not 012)");
    while (is_digit(peek(p))) p->pos++;
    if (peek(p) == '.') {
        p->pos++;
        if (!is_digit(peek(p))) return expected(p, "a digit after the decimal point");
        while (is_digit(peek(p))) p->pos++;
    }
    if (peek(p) == 'e' || peek(p) == 'E') {
        p->pos++;
        if (peek(p) == '+' || peek(p) == '-') p->pos++;
        if (!is_digit(peek(p))) return expected(p, "a digit in the exponent");
        while (is_digit(peek(p))) p->pos++;
    }
    size_t n = p->pos - start;
    char *tok = malloc(n + 1);
    if (!tok) return no_memory(p);
    memcpy(tok, p->s + start, n);
    tok[n] = '\0';
    errno = 0;
    double x = strtod(tok, NULL);
    /* An overflow would read as infinity: refused. An underflow reads as 0 or a subnormal, as
     * JSON allows; a caller that cares parses `text` itself (the option parser refuses it). */
    if (!isfinite(x)) {
        pegr_status s = fail_at(p, start, "the number %.40s%s is too large for a double", tok,
                                n > 40 ? "..." : "");
        free(tok);
        return s;
    }
    v->kind = PEGR_JSON_NUMBER;
    v->number = x;
    v->text = tok;
    return PEGR_OK;
}

/* ---- values ------------------------------------------------------------------------------- */

static pegr_status parse_value(parser *p, pegr_json_value *v, int depth);

/* Room for one more item (and key) in a container. */
static int grow(pegr_json_value *v, size_t *cap)
{
    if (v->count < *cap) return 1;
    size_t cap2 = *cap ? *cap * 2 : 4;
    pegr_json_value *items = realloc(v->items, cap2 * sizeof *items);
    if (!items) return 0;
    v->items = items;
    if (v->kind == PEGR_JSON_OBJECT) {
        char **keys = realloc(v->keys, cap2 * sizeof *keys);
        if (!keys) return 0;
        v->keys = keys;
    }
    *cap = cap2;
    return 1;
}

static pegr_status parse_array(parser *p, pegr_json_value *v, int depth)
{
    size_t cap = 0;
    v->kind = PEGR_JSON_ARRAY;
    p->pos++; /* '[' */
    skip_space(p);
    if (peek(p) == ']') {
        p->pos++;
        return PEGR_OK;
    }
    for (;;) {
        if (!grow(v, &cap)) return no_memory(p);
        pegr_status s = parse_value(p, &v->items[v->count], depth + 1);
        if (s != PEGR_OK) return s;
        v->count++;
        skip_space(p);
        if (peek(p) == ']') {
            p->pos++;
            return PEGR_OK;
        }
        if (peek(p) != ',') return expected(p, "',' or ']' after an item of an array");
        p->pos++;
        skip_space(p);
    }
}

static pegr_status parse_object(parser *p, pegr_json_value *v, int depth)
{
    size_t cap = 0;
    v->kind = PEGR_JSON_OBJECT;
    p->pos++; /* '{' */
    skip_space(p);
    if (peek(p) == '}') {
        p->pos++;
        return PEGR_OK;
    }
    for (;;) {
        if (peek(p) != '"')
            return expected(p, v->count ? "a key (a string) after ','" : "a key (a string) or '}'");
        if (v->count == PEGR_JSON_READ_MAX_MEMBERS)
            return fail_at(p, p->pos, "an object with more than %d members",
                           PEGR_JSON_READ_MAX_MEMBERS);
        if (!grow(v, &cap)) return no_memory(p);
        size_t key_at = p->pos;
        char *key = NULL;
        pegr_status s = parse_string(p, &key);
        if (s != PEGR_OK) return s;
        for (size_t k = 0; k < v->count; k++)
            if (strcmp(v->keys[k], key) == 0) {
                s = fail_at(p, key_at, "the key \"%.64s\" twice in one object", key);
                free(key);
                return s;
            }
        skip_space(p);
        if (peek(p) != ':') {
            char what[128];
            snprintf(what, sizeof what, "':' after the key \"%.64s\"", key);
            free(key);
            return expected(p, what);
        }
        p->pos++;
        skip_space(p);
        s = parse_value(p, &v->items[v->count], depth + 1);
        if (s != PEGR_OK) {
            free(key);
            return s;
        }
        v->keys[v->count++] = key;
        skip_space(p);
        if (peek(p) == '}') {
            p->pos++;
            return PEGR_OK;
        }
        if (peek(p) != ',') {
            char what[128];
            snprintf(what, sizeof what, "',' or '}' after the member \"%.64s\"", key);
            return expected(p, what);
        }
        p->pos++;
        skip_space(p);
    }
}

static int word_here(const parser *p, const char *word)
{
    size_t n = strlen(word);
    return p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0;
}

/* One value at p->pos (after any space) into *v; on failure *v is freed and zeroed. */
static pegr_status parse_value(parser *p, pegr_json_value *v, int depth)
{
    memset(v, 0, sizeof *v);
    where(p, p->pos, &v->line, &v->column);
    int c = peek(p);
    pegr_status s = PEGR_OK;
    if (c == '{' || c == '[') {
        if (depth >= PEGR_JSON_READ_MAX_DEPTH)
            return fail_at(p, p->pos, "objects and arrays nested deeper than %d levels",
                           PEGR_JSON_READ_MAX_DEPTH);
        s = c == '{' ? parse_object(p, v, depth) : parse_array(p, v, depth);
    } else if (c == '"') {
        v->kind = PEGR_JSON_STRING;
        s = parse_string(p, &v->text);
    } else if (c == '-' || is_digit(c)) {
        s = parse_number(p, v);
    } else if (word_here(p, "true") || word_here(p, "false")) {
        v->kind = PEGR_JSON_BOOL;
        v->boolean = c == 't';
        p->pos += v->boolean ? 4 : 5;
    } else if (word_here(p, "null")) {
        v->kind = PEGR_JSON_NULL;
        p->pos += 4;
    } else {
        s = expected(p, "a value (an object, array, string, number, true, false or null)");
    }
    if (s != PEGR_OK) pegr_json_value_free(v);
    return s;
}

pegr_status pegr_json_parse(const char *text, size_t len, const char *name, pegr_json_value *out,
                            pegr_error *err)
{
    parser p = {text, len, 0, name ? name : "JSON text", err, 1, 0};
    memset(out, 0, sizeof *out);
    if (len > PEGR_JSON_READ_MAX_BYTES)
        return pegr_error_set(err, PEGR_ERR_FORMAT, "%s: %zu bytes, more than the %zu a JSON file "
                              "pegr reads may hold", p.name, len, PEGR_JSON_READ_MAX_BYTES);
    skip_space(&p);
    pegr_status s = parse_value(&p, out, 0);
    if (s == PEGR_OK) {
        skip_space(&p);
        if (p.pos < p.len) {
            s = expected(&p, "the end of the text after the value");
            pegr_json_value_free(out);
        }
    }
    return s;
}

pegr_status pegr_json_read_file(const char *path, pegr_json_value *out, pegr_error *err)
{
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    pegr_status s = pegr_file_read_all(path, &text, &len, err);
    if (s == PEGR_OK) s = pegr_json_parse(text, len, path, out, err);
    free(text);
    return s;
}

void pegr_json_value_free(pegr_json_value *v)
{
    if (!v) return;
    for (size_t k = 0; k < v->count; k++) {
        pegr_json_value_free(&v->items[k]);
        if (v->keys) free(v->keys[k]);
    }
    free(v->items);
    free(v->keys);
    free(v->text);
    memset(v, 0, sizeof *v);
}

const pegr_json_value *pegr_json_member(const pegr_json_value *v, const char *key)
{
    if (!v || v->kind != PEGR_JSON_OBJECT || !key) return NULL;
    for (size_t k = 0; k < v->count; k++)
        if (strcmp(v->keys[k], key) == 0) return &v->items[k];
    return NULL;
}

const char *pegr_json_kind_name(pegr_json_kind kind)
{
    switch (kind) {
    case PEGR_JSON_NULL: return "null";
    case PEGR_JSON_BOOL: return "true or false";
    case PEGR_JSON_NUMBER: return "a number";
    case PEGR_JSON_STRING: return "a string";
    case PEGR_JSON_ARRAY: return "an array";
    case PEGR_JSON_OBJECT: return "an object";
    }
    return "a value";
}

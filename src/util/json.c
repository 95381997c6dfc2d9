/* json.c: see json.h. */
#include "util/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"

void pegr_json_init(pegr_json *j, int pretty)
{
    memset(j, 0, sizeof *j);
    j->pretty = pretty;
}

void pegr_json_free(pegr_json *j)
{
    free(j->buf);
    memset(j, 0, sizeof *j);
}

static void append(pegr_json *j, const char *s, size_t n)
{
    if (j->failed) return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1) cap *= 2;
        char *grown = realloc(j->buf, cap);
        if (!grown) { j->failed = 1; return; }
        j->buf = grown;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void append_str(pegr_json *j, const char *s) { append(j, s, strlen(s)); }

static void newline_indent(pegr_json *j)
{
    if (!j->pretty) return;
    append_str(j, "\n");
    for (int i = 0; i < j->depth; i++) append_str(j, "  ");
}

/* Before any value or key: a comma after a previous item, and the indentation. */
static void before_item(pegr_json *j)
{
    if (j->after_key) { j->after_key = 0; return; }
    if (j->depth > PEGR_JSON_MAX_DEPTH) return; /* failed already (open_scope) */
    if (j->depth > 0) {
        if (j->count[j->depth - 1]++ > 0) append_str(j, ",");
        newline_indent(j);
    }
}

static void open_scope(pegr_json *j, const char *bracket)
{
    before_item(j);
    append_str(j, bracket);
    /* Deeper than count[] can track: the text is unusable, as after a failed allocation (the
     * depth still counts, so the closing calls stay balanced). */
    if (j->depth < PEGR_JSON_MAX_DEPTH) j->count[j->depth] = 0;
    else j->failed = 1;
    j->depth++;
}

static void close_scope(pegr_json *j, const char *bracket)
{
    j->depth--;
    if (j->depth >= 0 && j->depth < PEGR_JSON_MAX_DEPTH && j->count[j->depth] > 0) newline_indent(j);
    append_str(j, bracket);
}

void pegr_json_begin_object(pegr_json *j) { open_scope(j, "{"); }
void pegr_json_end_object(pegr_json *j) { close_scope(j, "}"); }
void pegr_json_begin_array(pegr_json *j) { open_scope(j, "["); }
void pegr_json_end_array(pegr_json *j) { close_scope(j, "]"); }

static void quoted(pegr_json *j, const char *s)
{
    append_str(j, "\"");
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': append_str(j, "\\\""); break;
        case '\\': append_str(j, "\\\\"); break;
        case '\n': append_str(j, "\\n"); break;
        case '\r': append_str(j, "\\r"); break;
        case '\t': append_str(j, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                append_str(j, esc);
            } else {
                append(j, (const char *)p, 1);
            }
        }
    }
    append_str(j, "\"");
}

void pegr_json_key(pegr_json *j, const char *key)
{
    before_item(j);
    quoted(j, key);
    append_str(j, j->pretty ? ": " : ":");
    j->after_key = 1;
}

void pegr_json_string(pegr_json *j, const char *s)
{
    before_item(j);
    quoted(j, s);
}

void pegr_json_number(pegr_json *j, double v)
{
    before_item(j);
    if (!isfinite(v)) { append_str(j, "null"); return; }
    char buf[40];
    /* The shortest of %.15g/%.17g that reads back as the same double. */
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    append_str(j, buf);
}

void pegr_json_uint(pegr_json *j, uint64_t v)
{
    before_item(j);
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    append_str(j, buf);
}

void pegr_json_bool(pegr_json *j, int v)
{
    before_item(j);
    append_str(j, v ? "true" : "false");
}

void pegr_json_null(pegr_json *j)
{
    before_item(j);
    append_str(j, "null");
}

void pegr_json_kv_string(pegr_json *j, const char *key, const char *s)
{
    pegr_json_key(j, key);
    pegr_json_string(j, s);
}

void pegr_json_kv_number(pegr_json *j, const char *key, double v)
{
    pegr_json_key(j, key);
    pegr_json_number(j, v);
}

void pegr_json_kv_uint(pegr_json *j, const char *key, uint64_t v)
{
    pegr_json_key(j, key);
    pegr_json_uint(j, v);
}

void pegr_json_kv_bool(pegr_json *j, const char *key, int v)
{
    pegr_json_key(j, key);
    pegr_json_bool(j, v);
}

void pegr_json_raw(pegr_json *j, const char *text) { append_str(j, text); }

pegr_status pegr_json_write_file(const pegr_json *j, const char *path, pegr_error *err)
{
    if (j->failed) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory writing '%s'", path);
    pegr_status s = PEGR_OK;
    char *text = malloc(j->len + 2);
    if (!text) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory writing '%s'", path);
    memcpy(text, j->buf ? j->buf : "", j->len);
    text[j->len] = '\n';
    s = pegr_file_write_atomic(path, text, j->len + 1, err);
    free(text);
    return s;
}

pegr_status pegr_json_write_in(const pegr_json *j, const char *dir, const char *name,
                               pegr_error *err)
{
    char *path = pegr_path_join(dir, name);
    if (!path) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    pegr_status s = pegr_json_write_file(j, path, err);
    free(path);
    return s;
}

/* json.h: a tiny JSON writer into a growable buffer (for meta.json, loss.json, `pegr devices
 * --json`). Commas and nesting are tracked, strings escaped, non-finite numbers written as null. */
#ifndef PEGR_JSON_H
#define PEGR_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/status.h"

#define PEGR_JSON_MAX_DEPTH 16

typedef struct pegr_json {
    char *buf;
    size_t len, cap;
    int failed;                     /* out of memory at some point: the text is unusable */
    int depth;
    int count[PEGR_JSON_MAX_DEPTH]; /* items written so far at each depth */
    int after_key;
    int pretty;
} pegr_json;

void pegr_json_init(pegr_json *j, int pretty);
void pegr_json_free(pegr_json *j);
void pegr_json_begin_object(pegr_json *j);
void pegr_json_end_object(pegr_json *j);
void pegr_json_begin_array(pegr_json *j);
void pegr_json_end_array(pegr_json *j);
void pegr_json_key(pegr_json *j, const char *key);
void pegr_json_string(pegr_json *j, const char *s);
void pegr_json_number(pegr_json *j, double v); /* shortest round-trip form (%.17g) */
void pegr_json_uint(pegr_json *j, uint64_t v);
void pegr_json_bool(pegr_json *j, int v);
void pegr_json_null(pegr_json *j);
/* key + value shorthands */
void pegr_json_kv_string(pegr_json *j, const char *key, const char *s);
void pegr_json_kv_number(pegr_json *j, const char *key, double v);
void pegr_json_kv_uint(pegr_json *j, const char *key, uint64_t v);
void pegr_json_kv_bool(pegr_json *j, const char *key, int v);
/* Append text as it is (e.g. one compact object per line for a .jsonl file). */
void pegr_json_raw(pegr_json *j, const char *text);
/* Write the text (plus a newline) to path atomically. */
pegr_status pegr_json_write_file(const pegr_json *j, const char *path, pegr_error *err);
/* The same to DIR/NAME. */
pegr_status pegr_json_write_in(const pegr_json *j, const char *dir, const char *name,
                               pegr_error *err);

#endif

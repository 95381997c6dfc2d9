/* json_read.h: a small strict JSON reader for the files pegr writes itself (config.json first):
 * RFC 8259 values -- objects, arrays, strings with every escape, numbers, true, false, null --
 * into a tree, with every limit explicit and every error naming the file, the line and column and
 * what was expected there. Internal: the library reads its own files with it (the public readers
 * are calls such as pegr_train_config_read). */
#ifndef PEGR_JSON_READ_H
#define PEGR_JSON_READ_H

#include <stddef.h>

#include "pegr/status.h"

/* The limits: deeper nesting, a longer text or a larger object is refused rather than read (no
 * file pegr writes comes near them; they bound the reader's time and stack on any input). */
#define PEGR_JSON_READ_MAX_DEPTH 32
#define PEGR_JSON_READ_MAX_BYTES ((size_t)1 << 20)
#define PEGR_JSON_READ_MAX_MEMBERS 4096 /* per object (duplicate keys are looked for) */

typedef enum pegr_json_kind {
    PEGR_JSON_NULL,
    PEGR_JSON_BOOL,
    PEGR_JSON_NUMBER,
    PEGR_JSON_STRING,
    PEGR_JSON_ARRAY,
    PEGR_JSON_OBJECT,
} pegr_json_kind;

typedef struct pegr_json_value {
    pegr_json_kind kind;
    int boolean;    /* BOOL */
    double number;  /* NUMBER: its value (finite: a number too large for a double is refused) */
    /* NUMBER: the token as written ("0.10000000000000001"), so a caller can parse it its own way
     * (an integer exactly, an option's strict parser); STRING: the decoded text, UTF-8, NUL-
     * terminated (a \u0000 inside is refused: no C string holds it). */
    char *text;
    size_t count;   /* ARRAY, OBJECT: how many items */
    struct pegr_json_value *items; /* ARRAY, OBJECT: the values */
    char **keys;    /* OBJECT: the keys, decoded; distinct (a duplicate key is refused) */
    size_t line, column; /* where the value starts (1-based; column in bytes), for messages */
} pegr_json_value;

/* Parse `len` bytes of `text` (NUL not needed) as one JSON value with only whitespace around it.
 * `name` (a file's path) starts every error message: "NAME: line 3, column 7: expected ',' or '}'
 * after a member of an object, found 'x'". OUT: *out (free with pegr_json_value_free; zeroed on
 * failure). PEGR_ERR_FORMAT for malformed or over-limit input, PEGR_ERR_NO_MEMORY. */
pegr_status pegr_json_parse(const char *text, size_t len, const char *name, pegr_json_value *out,
                            pegr_error *err);
/* pegr_json_parse of a whole file (at most PEGR_JSON_READ_MAX_BYTES); the path names it.
 * PEGR_ERR_NOT_FOUND when nothing is there, PEGR_ERR_IO when it cannot be read. */
pegr_status pegr_json_read_file(const char *path, pegr_json_value *out, pegr_error *err);
void pegr_json_value_free(pegr_json_value *v);
/* The member `key` of an object, or NULL (also when v is not an object). */
const pegr_json_value *pegr_json_member(const pegr_json_value *v, const char *key);
/* "an object", "a string", ...: for messages. */
const char *pegr_json_kind_name(pegr_json_kind kind);

#endif

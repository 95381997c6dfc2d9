/* test_config_read.c: the strict JSON reader (util/json_read.h) on valid and malformed input --
 * every prefix of a real config.json, deep nesting, bad escapes and surrogates, numbers too large,
 * duplicate keys, the size limits, messages with line and column -- and pegr_train_config_read:
 * a config written by pegr_train_write_config reads back equal field by field for every option
 * of the table set away from its default (so an option added to the table is covered without a
 * new line here), for every method and representation; a config.json with an unknown, missing or
 * mistyped option, another major version or no "options" is refused naming the file; and
 * pegr_train_check_outputs on the directories it must allow or refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pegr/pegr.h"
#include "pegr/numparse.h"
#include "pegr/run_files.h"
#include "util/json_read.h"

static char tmp_dir[] = "/tmp/pegr-config-read-XXXXXX";

/* ---- the JSON reader ------------------------------------------------------------------------ */

static pegr_status parse(const char *text, pegr_json_value *v, pegr_error *err)
{
    return pegr_json_parse(text, strlen(text), "t.json", v, err);
}

static void test_reads_every_kind_of_value(void **state)
{
    (void)state;
    const char *text = " {\"o\": {\"a\": [1, -2.5e-3, 0, true, false, null, []]},\n"
                       "  \"s\": \"q\\\"b\\\\s\\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 \xc3\xa8\",\n"
                       "  \"big\": 18446744073709551615, \"e\": {} } \r\n";
    pegr_json_value v;
    pegr_error err = {0};
    if (parse(text, &v, &err) != PEGR_OK) fail_msg("%s", pegr_error_message(&err));
    assert_int_equal(v.kind, PEGR_JSON_OBJECT);
    assert_int_equal(v.count, 4);
    const pegr_json_value *a = pegr_json_member(pegr_json_member(&v, "o"), "a");
    assert_non_null(a);
    assert_int_equal(a->kind, PEGR_JSON_ARRAY);
    assert_int_equal(a->count, 7);
    assert_true(a->items[1].number == -2.5e-3);
    assert_string_equal(a->items[1].text, "-2.5e-3");
    assert_int_equal(a->items[3].kind, PEGR_JSON_BOOL);
    assert_true(a->items[3].boolean);
    assert_false(a->items[4].boolean);
    assert_int_equal(a->items[5].kind, PEGR_JSON_NULL);
    assert_int_equal(a->items[6].count, 0);
    const pegr_json_value *s = pegr_json_member(&v, "s");
    assert_string_equal(s->text, "q\"b\\s/ \b\f\n\r\t \xc3\xa9 \xf0\x9f\x98\x80 \xc3\xa8");
    /* the token is kept: an integer beyond a double's 53 bits is exact in it */
    assert_string_equal(pegr_json_member(&v, "big")->text, "18446744073709551615");
    assert_int_equal(pegr_json_member(&v, "e")->kind, PEGR_JSON_OBJECT);
    assert_null(pegr_json_member(&v, "missing"));
    assert_int_equal(s->line, 2);
    assert_int_equal(s->column, 8);
    pegr_json_value_free(&v);
}

static void expect_format_error(const char *text, size_t len, const char *what)
{
    pegr_json_value v;
    pegr_error err = {0};
    pegr_status s = pegr_json_parse(text, len, "t.json", &v, &err);
    if (s != PEGR_ERR_FORMAT) fail_msg("'%.60s': status %d, not a format error", text, (int)s);
    const char *msg = pegr_error_message(&err);
    if (!strstr(msg, what) || strncmp(msg, "t.json", 6) != 0)
        fail_msg("'%.60s': '%s' does not say '%s'", text, msg, what);
    assert_int_equal(v.kind, PEGR_JSON_NULL); /* zeroed */
    assert_null(v.items);
    pegr_error_clear(&err);
}

static void test_refuses_malformed_text_saying_where_and_what(void **state)
{
    (void)state;
    static const struct { const char *text, *what; } cases[] = {
        {"", "line 1, column 1: expected a value (an object, array, string, number, true, false "
             "or null), found the end of the text"},
        {"{", "expected a key (a string) or '}', found the end of the text"},
        {"{\"a\":1", "expected ',' or '}' after the member \"a\", found the end of the text"},
        {"{\"a\" 1}", "expected ':' after the key \"a\", found '1'"},
        {"{\"a\":1,}", "expected a key (a string) after ','"},
        {"{'a':1}", "expected a key (a string) or '}', found '''"},
        {"[1,]", "expected a value"},
        {"[1 2]", "expected ',' or ']' after an item of an array"},
        {"\"abc", "line 1, column 1: a string that never ends"},
        {"\"a\\x\"", "column 3: bad escape in a string"},
        {"\"\\u12\"", "expected 4 hex digits after \\u, found '\"'"},
        {"\"\\ud800\"", "a high surrogate \\ud800 in a string without its low half"},
        {"\"\\ud800\\u0041\"", "followed by \\u0041, not a low one"},
        {"\"\\udc00\"", "a lone low surrogate"},
        {"\"\\u0000\"", "\\u0000 in a string"},
        {"\"a\tb\"", "a control character (byte 0x09) inside a string"},
        {"\"a\nb\"", "a control character (byte 0x0a) inside a string"},
        {"012", "a number with a leading zero"},
        {"-", "expected a digit in a number, found the end of the text"},
        {"+1", "expected a value"},
        {".5", "expected a value"},
        {"1.", "expected a digit after the decimal point"},
        {"1e", "expected a digit in the exponent"},
        {"1e+", "expected a digit in the exponent"},
        {"1e400", "the number 1e400 is too large for a double"},
        {"-1e999", "too large for a double"},
        {"NaN", "expected a value"},
        {"Infinity", "expected a value"},
        {"nul", "expected a value"},
        {"truex", "expected the end of the text after the value, found 'x'"},
        {"1 2", "expected the end of the text after the value, found '2'"},
        {"// no comments\n1", "expected a value"},
        {"{\"a\":1,\"a\":2}", "column 8: the key \"a\" twice in one object"},
        {"{\n  \"a\": 1,\n  \"b\" 2\n}", "line 3, column 7: expected ':' after the key \"b\""},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_format_error(cases[k].text, strlen(cases[k].text), cases[k].what);
    /* a NUL byte is a byte like any other: not the end of the text */
    expect_format_error("[1]\0", 4, "found byte 0x00");
}

static void test_limits_depth_size_and_members(void **state)
{
    (void)state;
    /* PEGR_JSON_READ_MAX_DEPTH levels are read; one more is refused (not a stack overflow) */
    size_t depth = PEGR_JSON_READ_MAX_DEPTH;
    /* static, not malloc: GCC's -Warray-bounds in the sanitizer build misreads memset on a
     * freshly malloc'ed buffer here (a false positive that -Werror turns into a build failure) */
    static char deep[2 * 100000 + 1];
    char *text = deep;
    memset(text, '[', depth);
    memset(text + depth, ']', depth);
    pegr_json_value v;
    assert_int_equal(pegr_json_parse(text, 2 * depth, "t.json", &v, NULL), PEGR_OK);
    pegr_json_value_free(&v);
    memset(text, '[', depth + 1);
    memset(text + depth + 1, ']', depth + 1);
    expect_format_error(text, 2 * depth + 2, "nested deeper than 32 levels");
    /* far deeper, as an attack would: the same answer, at once */
    memset(text, '[', 100000);
    expect_format_error(text, 100000, "nested deeper than");
    memset(text, '{', 100000);
    expect_format_error(text, 100000, "expected a key");
    /* more than PEGR_JSON_READ_MAX_BYTES */
    size_t big = PEGR_JSON_READ_MAX_BYTES + 1;
    text = malloc(big);
    assert_non_null(text);
    memset(text, ' ', big);
    text[0] = '1';
    expect_format_error(text, big, "more than the");
    free(text);
    /* an object of PEGR_JSON_READ_MAX_MEMBERS + 1 members */
    size_t n = PEGR_JSON_READ_MAX_MEMBERS + 1, len = 0;
    text = malloc(n * 16 + 8);
    assert_non_null(text);
    text[len++] = '{';
    for (size_t k = 0; k < n; k++) len += (size_t)sprintf(text + len, "%s\"k%zu\":0", k ? "," : "", k);
    text[len++] = '}';
    expect_format_error(text, len, "more than 4096 members");
    free(text);
    /* a number of many digits is read (no fixed buffer) */
    text = malloc(5002);
    assert_non_null(text);
    text[0] = '0', text[1] = '.';
    memset(text + 2, '3', 5000);
    assert_int_equal(pegr_json_parse(text, 5002, "t.json", &v, NULL), PEGR_OK);
    assert_true(fabs(v.number - 1.0 / 3) < 1e-15);
    pegr_json_value_free(&v);
    free(text);
}

/* A run's config (the defaults, no run info beyond the host's) written into dir. */
static void write_config(const char *dir, const pegr_train_config *c)
{
    pegr_run_info info = {"host reference (fp64)", NULL, "fp64", NULL};
    pegr_error err = {0};
    mkdir(dir, 0700);
    if (pegr_train_write_config(dir, c, &info, &err) != PEGR_OK)
        fail_msg("%s", pegr_error_message(&err));
}

static char *path_in(const char *name)
{
    char *dir = pegr_path_join(tmp_dir, name);
    assert_non_null(dir);
    return dir;
}

/* Every proper prefix of a real config.json is refused (a file cut short by a full disk or a
 * killed writer), with a message and nothing leaked (valgrind runs this suite). */
static void test_every_truncation_of_a_config_is_refused(void **state)
{
    (void)state;
    pegr_train_config c;
    pegr_train_config_default(&c);
    char *dir = path_in("trunc"), *file = pegr_path_join(dir, "config.json");
    write_config(dir, &c);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(pegr_file_read_all(file, &text, &len, NULL), PEGR_OK);
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' ')) len--; /* to the last '}' */
    for (size_t cut = 0; cut < len; cut++) {
        pegr_json_value v;
        pegr_error err = {0};
        if (pegr_json_parse(text, cut, "t.json", &v, &err) != PEGR_ERR_FORMAT)
            fail_msg("the first %zu bytes of config.json were read", cut);
        assert_non_null(strstr(pegr_error_message(&err), "t.json: line "));
        pegr_error_clear(&err);
    }
    pegr_json_value v;
    assert_int_equal(pegr_json_parse(text, len, "t.json", &v, NULL), PEGR_OK);
    pegr_json_value_free(&v);
    free(text);
    free(file);
    free(dir);
}

/* ---- configs: the round trip ---------------------------------------------------------------- */

/* The bytes of an option's field (not SIGMAS, which is two fields). */
static size_t field_size(const pegr_train_option *o)
{
    switch (o->type) {
    case PEGR_OPTION_SIZE: return sizeof(size_t);
    case PEGR_OPTION_U64: return sizeof(uint64_t);
    case PEGR_OPTION_DOUBLE: return sizeof(double);
    case PEGR_OPTION_FLAG:
    case PEGR_OPTION_CHOICE: return sizeof(int);
    case PEGR_OPTION_METHOD: return sizeof(pegr_method);
    case PEGR_OPTION_REPRESENTATION: return sizeof(pegr_representation);
    case PEGR_OPTION_SIGMAS: return 0;
    }
    return 0;
}

/* Each option of the table in a and b is the same: its field compared by type. */
static void assert_configs_equal(const pegr_train_config *a, const pegr_train_config *b)
{
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    for (size_t k = 0; k < n; k++) {
        const pegr_train_option *o = &table[k];
        const char *x = (const char *)a + o->offset, *y = (const char *)b + o->offset;
        size_t size = field_size(o); /* bit for bit, doubles too */
        if (o->type == PEGR_OPTION_SIGMAS) {
            assert_int_equal(a->n_robust, b->n_robust);
            size = a->n_robust * sizeof(double);
        }
        if (memcmp(x, y, size) != 0) fail_msg("option --%s differs after the round trip", o->name);
    }
    assert_true(pegr_train_config_equal(a, b));
}

/* c with every option of the table away from its default, by type: an integer at its range's top
 * (a 64-bit seed is exact only as an integer) or the default + 3, a number that needs all 17
 * digits, a flag flipped, a list of sigmas; method and representation as given. */
static void non_default_config(pegr_method method, pegr_representation rep, pegr_train_config *c)
{
    pegr_train_config def;
    pegr_train_config_default(&def);
    *c = def;
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    for (size_t k = 0; k < n; k++) {
        const pegr_train_option *o = &table[k];
        const char *at = (const char *)&def + o->offset;
        char text[64];
        uint64_t lo = 0, hi = UINT64_MAX;
        switch (o->type) {
        case PEGR_OPTION_SIZE:
            assert_int_equal(pegr_parse_range_u64(o->allowed, SIZE_MAX, &lo, &hi), PEGR_NUM_OK);
            snprintf(text, sizeof text, "%zu",
                     *(const size_t *)at + 3 <= hi ? *(const size_t *)at + 3 : (size_t)lo);
            break;
        case PEGR_OPTION_U64:
            assert_int_equal(pegr_parse_range_u64(o->allowed, UINT64_MAX, &lo, &hi), PEGR_NUM_OK);
            snprintf(text, sizeof text, "%llu", (unsigned long long)hi);
            break;
        case PEGR_OPTION_DOUBLE: {
            /* the first of these its range takes and its default is not */
            static const char *const tries[] = {"0.30000000000000004", "1.2345678901234567",
                                                "3.5", "1e-07"};
            size_t t = 0;
            for (;; t++) {
                assert_true(t < sizeof tries / sizeof tries[0]);
                pegr_train_config probe = def;
                if (pegr_train_config_set(&probe, o->name, tries[t], NULL) == PEGR_OK &&
                    !pegr_train_config_equal(&probe, &def))
                    break;
            }
            snprintf(text, sizeof text, "%s", tries[t]);
            break;
        }
        case PEGR_OPTION_FLAG: snprintf(text, sizeof text, "%d", !*(const int *)at); break;
        case PEGR_OPTION_CHOICE: /* the next word of the list after the default's (the first) */
            if (!pegr_word_at(o->allowed, *(const int *)at + 1, text, sizeof text))
                assert_true(pegr_word_at(o->allowed, 0, text, sizeof text));
            break;
        case PEGR_OPTION_METHOD: snprintf(text, sizeof text, "%s", pegr_method_name(method)); break;
        case PEGR_OPTION_REPRESENTATION:
            snprintf(text, sizeof text, "%s", pegr_representation_name(rep));
            break;
        case PEGR_OPTION_SIGMAS: snprintf(text, sizeof text, "0.3,1e-05,2,0.30000000000000004"); break;
        }
        pegr_error err = {0};
        if (pegr_train_config_set(c, o->name, text, &err) != PEGR_OK)
            fail_msg("--%s %s: %s", o->name, text, pegr_error_message(&err));
    }
    /* every option but the two chosen ones really is away from its default: the default with
     * that one option of c differs from the default */
    for (size_t k = 0; k < n; k++) {
        const pegr_train_option *o = &table[k];
        if (o->type == PEGR_OPTION_METHOD || o->type == PEGR_OPTION_REPRESENTATION) continue;
        pegr_train_config one = def;
        if (o->type == PEGR_OPTION_SIGMAS) {
            memcpy(one.robust_sigmas, c->robust_sigmas, sizeof one.robust_sigmas);
            one.n_robust = c->n_robust;
        } else {
            memcpy((char *)&one + o->offset, (const char *)c + o->offset, field_size(o));
        }
        if (pegr_train_config_equal(&one, &def)) fail_msg("--%s kept its default", o->name);
    }
}

static void round_trip(const pegr_train_config *c, const char *name)
{
    char *dir = path_in(name), *file = pegr_path_join(dir, "config.json");
    write_config(dir, c);
    pegr_train_config back;
    memset(&back, 0xa5, sizeof back); /* every field must be written by the reader */
    pegr_error err = {0};
    if (pegr_train_config_read(file, &back, &err) != PEGR_OK)
        fail_msg("%s: %s", name, pegr_error_message(&err));
    assert_configs_equal(c, &back);
    free(file);
    free(dir);
}

/* pegr_train_config_get gives each option's text, which pegr_train_config_set reads back to the
 * same value: a config rebuilt option by option from those texts equals the original. */
static void test_config_get_reads_back_through_set(void **state)
{
    (void)state;
    pegr_train_config c, d;
    non_default_config(PEGR_METHOD_SAM, PEGR_REPRESENTATION_SPAN, &c);
    pegr_train_config_default(&d);
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    char text[PEGR_TRAIN_OPTION_TEXT_MAX];
    pegr_error err = {0};
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(pegr_train_config_get(&c, table[k].name, text, sizeof text, &err), PEGR_OK);
        if (pegr_train_config_set(&d, table[k].name, text, &err) != PEGR_OK)
            fail_msg("--%s '%s': %s", table[k].name, text, pegr_error_message(&err));
    }
    assert_true(pegr_train_config_equal(&c, &d));
    assert_int_equal(pegr_train_config_get(&c, "init", text, sizeof text, NULL), PEGR_OK);
    assert_string_equal(text, "uniform"); /* a choice: its word */
    assert_int_equal(pegr_train_config_get(&c, "nope", text, sizeof text, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(pegr_error_message(&err), "unknown option '--nope'"));
    pegr_error_clear(&err);
    char small[3];
    assert_int_equal(pegr_train_config_get(&c, "robust-sigmas", small, sizeof small, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    assert_string_equal(small, "");
    pegr_error_clear(&err);
}

static void test_a_written_config_reads_back_equal(void **state)
{
    (void)state;
    pegr_train_config c;
    pegr_train_config_default(&c); /* the SNR not given: written null, read as the default 0 */
    round_trip(&c, "rt-default");
    for (int m = 0; m < PEGR_METHOD_COUNT; m++)
        for (int r = 0; r < PEGR_REPRESENTATION_COUNT; r++) {
            char name[64];
            snprintf(name, sizeof name, "rt-%s-%s", pegr_method_name((pegr_method)m),
                     pegr_representation_name((pegr_representation)r));
            non_default_config((pegr_method)m, (pegr_representation)r, &c);
            round_trip(&c, name);
        }
    /* no robust test at all, and each preset */
    c.n_robust = 0;
    round_trip(&c, "rt-no-sigmas");
    const char *presets = pegr_train_preset_names();
    for (const char *p = presets; *p;) {
        char name[32];
        size_t len = strcspn(p, "|");
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        assert_int_equal(pegr_train_config_preset(name, &c, NULL), PEGR_OK);
        round_trip(&c, name);
        p += len + (p[len] == '|');
    }
}

/* ---- configs: refusals ---------------------------------------------------------------------- */

/* The JSON value as text (the writer's format; an integer token stays exact). */
static void dump(pegr_json *j, const pegr_json_value *v)
{
    switch (v->kind) {
    case PEGR_JSON_NULL: pegr_json_null(j); return;
    case PEGR_JSON_BOOL: pegr_json_bool(j, v->boolean); return;
    case PEGR_JSON_NUMBER:
        if (strspn(v->text, "0123456789") == strlen(v->text))
            pegr_json_uint(j, strtoull(v->text, NULL, 10)); /* a 64-bit seed stays exact */
        else pegr_json_number(j, v->number);
        return;
    case PEGR_JSON_STRING: pegr_json_string(j, v->text); return;
    case PEGR_JSON_ARRAY:
        pegr_json_begin_array(j);
        for (size_t k = 0; k < v->count; k++) dump(j, &v->items[k]);
        pegr_json_end_array(j);
        return;
    case PEGR_JSON_OBJECT:
        pegr_json_begin_object(j);
        for (size_t k = 0; k < v->count; k++) {
            pegr_json_key(j, v->keys[k]);
            dump(j, &v->items[k]);
        }
        pegr_json_end_object(j);
        return;
    }
}

#define NUMBER_HERE "@number@"

/* One member of an object replaced by `with` (a string, number text or NULL: removed) or, when the
 * key is not there, added. */
static void edit(pegr_json_value *obj, const char *key, pegr_json_kind kind, const char *with)
{
    size_t k = 0;
    while (k < obj->count && strcmp(obj->keys[k], key) != 0) k++;
    if (k == obj->count) {
        obj->items = realloc(obj->items, (k + 1) * sizeof *obj->items);
        obj->keys = realloc(obj->keys, (k + 1) * sizeof *obj->keys);
        assert_non_null(obj->items);
        assert_non_null(obj->keys);
        obj->keys[k] = strdup(key);
        memset(&obj->items[k], 0, sizeof obj->items[k]);
        obj->count++;
    }
    pegr_json_value_free(&obj->items[k]);
    if (!with) { /* remove */
        free(obj->keys[k]);
        memmove(&obj->items[k], &obj->items[k + 1], (obj->count - k - 1) * sizeof *obj->items);
        memmove(&obj->keys[k], &obj->keys[k + 1], (obj->count - k - 1) * sizeof *obj->keys);
        obj->count--;
        return;
    }
    /* a number goes in as a placeholder string that the text gets its token for (dump would
     * write 1e400 as null) */
    obj->items[k].kind = kind == PEGR_JSON_NUMBER ? PEGR_JSON_STRING : kind;
    obj->items[k].text = strdup(kind == PEGR_JSON_NUMBER ? NUMBER_HERE : with);
}

/* The first option of a type in the table (NULL: none). */
static const pegr_train_option *option_of(pegr_option_type type, int bounded_above)
{
    const pegr_train_option *table = NULL;
    size_t n = pegr_train_options(&table);
    for (size_t k = 0; k < n; k++) {
        double lo, hi;
        if (table[k].type != type) continue;
        if (!bounded_above) return &table[k];
        if (pegr_parse_range_double(table[k].allowed, &lo, &hi) == PEGR_NUM_OK && isfinite(hi))
            return &table[k];
    }
    return NULL;
}

typedef struct mistake {
    int top; /* 1: at the top of the file, 0: in "options" */
    const char *key;
    pegr_json_kind kind;
    const char *value; /* NULL: remove the key */
    const char *what;  /* in the message */
} mistake;

static void expect_refused_config(const mistake *m)
{
    pegr_train_config c;
    pegr_train_config_default(&c);
    char *dir = path_in("bad"), *file = pegr_path_join(dir, "config.json");
    write_config(dir, &c);
    pegr_json_value root;
    assert_int_equal(pegr_json_read_file(file, &root, NULL), PEGR_OK);
    pegr_json_value *options = (pegr_json_value *)pegr_json_member(&root, "options");
    assert_non_null(options);
    edit(m->top ? &root : options, m->key, m->kind, m->value);
    pegr_json j;
    pegr_json_init(&j, 1);
    dump(&j, &root);
    char *text = j.buf, *at = strstr(text, "\"" NUMBER_HERE "\"");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    if (at && m->kind == PEGR_JSON_NUMBER)
        fprintf(f, "%.*s%s%s", (int)(at - text), text, m->value, at + strlen(NUMBER_HERE) + 2);
    else fputs(text, f);
    fclose(f);
    pegr_json_free(&j);
    pegr_json_value_free(&root);
    pegr_train_config out, before;
    memset(&out, 0x5a, sizeof out);
    before = out;
    pegr_error err = {0};
    pegr_status s = pegr_train_config_read(file, &out, &err);
    const char *msg = pegr_error_message(&err);
    if (s != PEGR_ERR_FORMAT || !strstr(msg, m->what) || !strstr(msg, file))
        fail_msg("%s = %s: status %d, '%s' does not say '%s'", m->key, m->value ? m->value : "-",
                 (int)s, msg, m->what);
    assert_memory_equal(&out, &before, sizeof out); /* unchanged on failure */
    pegr_error_clear(&err);
    free(file);
    free(dir);
}

static void test_a_wrong_config_is_refused_naming_the_file(void **state)
{
    (void)state;
    const pegr_train_option *table = NULL;
    pegr_train_options(&table);
    const pegr_train_option *num = option_of(PEGR_OPTION_DOUBLE, 0),
                            *bounded = option_of(PEGR_OPTION_DOUBLE, 1),
                            *size = option_of(PEGR_OPTION_SIZE, 0),
                            *sigmas = option_of(PEGR_OPTION_SIGMAS, 0);
    assert_non_null(num);
    assert_non_null(bounded);
    assert_non_null(size);
    assert_non_null(sigmas);
    char lacks[64], typed[128], range[64], integer[64], arr[96];
    snprintf(lacks, sizeof lacks, "\"options\" lacks %s", table[0].name);
    snprintf(typed, sizeof typed, "option \"%s\" must be a number, not a string", num->name);
    snprintf(range, sizeof range, "--%s needs a number", bounded->name);
    snprintf(integer, sizeof integer, "--%s needs an integer", size->name);
    snprintf(arr, sizeof arr, "option \"%s\" must be an array of numbers", sigmas->name);
    double lo, hi;
    assert_int_equal(pegr_parse_range_double(bounded->allowed, &lo, &hi), PEGR_NUM_OK);
    char above[32];
    snprintf(above, sizeof above, "%g", hi * 2 + 1);
    unsigned long major = strtoul(pegr_version(), NULL, 10);
    char other_major[32];
    snprintf(other_major, sizeof other_major, "%lu.0.0", major + 1);
    const mistake cases[] = {
        {0, table[0].name, PEGR_JSON_NULL, NULL, lacks},
        {0, "no-such-option", PEGR_JSON_NUMBER, "1", "\"no-such-option\" is not an option"},
        {0, num->name, PEGR_JSON_STRING, "0.1", typed},
        {0, bounded->name, PEGR_JSON_NUMBER, above, range},
        {0, size->name, PEGR_JSON_NUMBER, "1.5", integer},
        {0, size->name, PEGR_JSON_NUMBER, "1e400", "too large for a double"},
        {0, sigmas->name, PEGR_JSON_STRING, "0.1", arr},
        {1, "pegr_version", PEGR_JSON_STRING, other_major, "another major version"},
        {1, "pegr_version", PEGR_JSON_NULL, NULL, "no \"pegr_version\""},
        {1, "lr", PEGR_JSON_NUMBER, "1", "unknown key \"lr\""},
        {1, "options", PEGR_JSON_NULL, NULL, "has no \"options\" object"},
        {1, "options", PEGR_JSON_ARRAY, "", "has no \"options\" object"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) expect_refused_config(&cases[k]);
    /* a file that is not there, or not JSON */
    char *none = path_in("none.json");
    pegr_train_config c;
    pegr_error err = {0};
    assert_int_equal(pegr_train_config_read(none, &c, &err), PEGR_ERR_NOT_FOUND);
    assert_non_null(strstr(pegr_error_message(&err), none));
    pegr_error_clear(&err);
    assert_int_equal(pegr_file_write_atomic(none, "[1, 2", 5, NULL), PEGR_OK);
    assert_int_equal(pegr_train_config_read(none, &c, &err), PEGR_ERR_FORMAT);
    assert_non_null(strstr(pegr_error_message(&err), "none.json: line 1, column 6"));
    pegr_error_clear(&err);
    free(none);
}

/* ---- an earlier run in an output directory -------------------------------------------------- */

static pegr_status check(const char *dir, const pegr_train_config *c, size_t count, int per_method,
                         const char *what)
{
    pegr_error err = {0};
    pegr_status s = pegr_train_check_outputs(dir, c, count, per_method, &err);
    if (what && (s != PEGR_ERR_INVALID_ARGUMENT || !strstr(pegr_error_message(&err), what)))
        fail_msg("%s: status %d, '%s' does not say '%s'", dir, (int)s, pegr_error_message(&err),
                 what);
    if (!what && s != PEGR_OK) fail_msg("%s: %s", dir, pegr_error_message(&err));
    pegr_error_clear(&err);
    return s;
}

static void test_check_outputs_allows_the_same_run_only(void **state)
{
    (void)state;
    pegr_train_config c, other;
    pegr_train_config_default(&c);
    other = c;
    other.lr = 0.25;
    char *dir = path_in("out"), *gd = pegr_path_join(dir, "gd");
    check(dir, &c, 1, 0, NULL); /* not there */
    mkdir(dir, 0700);
    check(dir, &c, 1, 0, NULL); /* empty */
    write_config(dir, &c);
    check(dir, &c, 1, 0, NULL); /* the same run */
    check(dir, &other, 1, 0, "has --lr 0.1 where this run has --lr 0.25");
    pegr_train_config two[2] = {c, c};
    two[0].method = PEGR_METHOD_GD;
    check(dir, two, 2, 1, "which this run would remove"); /* --compare over a plain run */
    assert_int_equal(pegr_train_clear_outputs(dir, NULL), PEGR_OK);
    write_config(gd, &two[0]);
    check(dir, two, 2, 1, NULL);             /* its own gd run, pegr yet to come */
    check(dir, two + 1, 1, 1, "which this run would remove"); /* gd's run would go */
    check(dir, &c, 1, 0, "which this run would remove");      /* a plain run over --compare */
    assert_int_equal(pegr_train_clear_outputs(dir, NULL), PEGR_OK);
    assert_int_equal(pegr_file_write_in(dir, "notes.txt", "n", 1, NULL), PEGR_OK);
    check(dir, &c, 1, 0, "is not empty and holds no pegr run");
    write_config(dir, &c);
    check(dir, &c, 1, 0, NULL); /* notes beside the same run are fine */
    free(gd);
    free(dir);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return pegr_remove_tree(tmp_dir, NULL) == PEGR_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_every_kind_of_value),
        cmocka_unit_test(test_refuses_malformed_text_saying_where_and_what),
        cmocka_unit_test(test_limits_depth_size_and_members),
        cmocka_unit_test(test_every_truncation_of_a_config_is_refused),
        cmocka_unit_test(test_config_get_reads_back_through_set),
        cmocka_unit_test(test_a_written_config_reads_back_equal),
        cmocka_unit_test(test_a_wrong_config_is_refused_naming_the_file),
        cmocka_unit_test(test_check_outputs_allows_the_same_run_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* fuzz_main.c: a plain driver for fuzz targets where libFuzzer is not available (gcc, or clang
 * without its fuzzer runtime): runs each corpus file, then deterministic pseudo-random mutations
 * of them -- bit flips, bytes and tokens that matter to a command line parser, deletions,
 * duplications, splices, tokens of -dict=FILE -- for -runs=N inputs or -max_total_time=T seconds. Without coverage
 * feedback it finds less than libFuzzer, but it runs the same target under the sanitizers
 * anywhere. A crash is an abort (the sanitizers' report on stderr); the input being run is saved
 * first to the file -artifact=PATH names (default ./fuzz-last-input), to be replayed with the
 * driver and that path. With only files and no -runs or -max_total_time, it replays them, the
 * target's output shown. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 4096

typedef struct input {
    uint8_t *data;
    size_t size;
} input;

typedef struct corpus {
    input *items;
    size_t count, cap;
} corpus;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz driver: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static void add_input(corpus *c, const uint8_t *data, size_t size)
{
    if (c->count == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->items = realloc(c->items, c->cap * sizeof *c->items);
        if (!c->items) die("out of memory", NULL);
    }
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) die("out of memory", NULL);
    if (size) memcpy(copy, data, size);
    c->items[c->count++] = (input){copy, size};
}

static void free_corpus(corpus *c)
{
    for (size_t k = 0; k < c->count; k++) free(c->items[k].data);
    free(c->items);
    *c = (corpus){0};
}

static void load_file(corpus *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open", path);
    uint8_t buf[FUZZ_MAX_INPUT];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    add_input(c, buf, n);
}

/* A file, or every regular file in a directory (sorted, so runs repeat exactly). */
static void load_path(corpus *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) die("cannot find", path);
    if (!S_ISDIR(st.st_mode)) {
        load_file(c, path);
        return;
    }
    struct dirent **names = NULL;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) die("cannot read the directory", path);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
        char *full = malloc(len);
        if (!full) die("out of memory", NULL);
        snprintf(full, len, "%s/%s", path, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(full, &st) == 0 && S_ISREG(st.st_mode))
            load_file(c, full);
        free(full);
        free(names[i]);
    }
    free(names);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void) /* xorshift64* */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t below(size_t n) { return n ? (size_t)(next_random() % n) : 0; }

/* The dictionary (-dict=FILE, libFuzzer's format: one "token" a line, with \\, \" and \xHH
 * escapes; # comments): tokens the mutations insert. */
static corpus dict;

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void load_dict(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open", path);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char *p = strchr(line, '"');
        if (line[0] == '#' || !p) continue;
        uint8_t token[512];
        size_t n = 0;
        for (p++; *p && *p != '"'; p++) {
            if (*p != '\\') token[n++] = (uint8_t)*p;
            else if (p[1] == 'x' && hex_value(p[2]) >= 0 && hex_value(p[3]) >= 0) {
                token[n++] = (uint8_t)(hex_value(p[2]) * 16 + hex_value(p[3]));
                p += 3;
            } else if (p[1]) token[n++] = (uint8_t)*++p;
        }
        if (*p != '"') die("a dictionary line is not \"token\"", line);
        add_input(&dict, token, n);
    }
    fclose(f);
}

static void insert(uint8_t *buf, size_t *size, size_t at, const uint8_t *bytes, size_t n)
{
    if (*size + n > FUZZ_MAX_INPUT) return;
    memmove(buf + at + n, buf + at, *size - at);
    memcpy(buf + at, bytes, n);
    *size += n;
}

static void mutate(uint8_t *buf, size_t *size, const corpus *c)
{
    static const uint8_t interesting[] = {'\0', '\n', '-', '=', ':', ',', '.', '/', '0', '9', ' ',
                                          'e', 'x', '+', 0x7f, 0xff};
    size_t steps = 1 + below(4);
    for (size_t s = 0; s < steps; s++) {
        size_t at = below(*size + 1);
        switch (below(7)) {
        case 0:
            if (*size) buf[below(*size)] ^= (uint8_t)(1u << below(8));
            break;
        case 1:
            if (*size) buf[below(*size)] = interesting[below(sizeof interesting)];
            break;
        case 2:
        case 3: { /* a token, half the time as an argument of its own */
            if (!dict.count) break;
            const input *t = &dict.items[below(dict.count)];
            if (below(2)) insert(buf, size, at, (const uint8_t *)"\0", 1);
            insert(buf, size, at, t->data, t->size);
            break;
        }
        case 4: { /* delete a range */
            size_t n = below(*size - (at < *size ? at : *size) + 1);
            if (at < *size) {
                memmove(buf + at, buf + at + n, *size - at - n);
                *size -= n;
            }
            break;
        }
        case 5: { /* duplicate a range */
            if (!*size) break;
            size_t from = below(*size), n = 1 + below(*size - from);
            uint8_t tmp[FUZZ_MAX_INPUT];
            memcpy(tmp, buf + from, n);
            insert(buf, size, at, tmp, n);
            break;
        }
        default: { /* splice in a piece of another corpus input */
            const input *o = &c->items[below(c->count)];
            if (!o->size) break;
            size_t from = below(o->size), n = 1 + below(o->size - from);
            insert(buf, size, at, o->data + from, n);
            break;
        }
        }
    }
}

static const char *artifact = "fuzz-last-input";

static void save_artifact(const uint8_t *data, size_t size)
{
    FILE *f = fopen(artifact, "wb");
    if (!f) die("cannot write", artifact);
    if (size && fwrite(data, 1, size, f) != size) die("cannot write", artifact);
    fclose(f);
}

/* A flag's count: digits only, else a usage error. */
static long count_flag(const char *text)
{
    char *end = NULL;
    long v = text[0] >= '0' && text[0] <= '9' ? strtol(text, &end, 10) : -1;
    if (v < 0 || !end || *end) die("a flag needs a non-negative integer, not", text);
    return v;
}

int main(int argc, char **argv)
{
    long runs = -1, max_time = -1;
    corpus c = {0};
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6)) runs = count_flag(argv[i] + 6);
        else if (!strncmp(argv[i], "-max_total_time=", 16)) max_time = count_flag(argv[i] + 16);
        else if (!strncmp(argv[i], "-seed=", 6)) rng_state = (uint64_t)count_flag(argv[i] + 6) | 1;
        else if (!strncmp(argv[i], "-artifact=", 10)) artifact = argv[i] + 10;
        else if (!strncmp(argv[i], "-dict=", 6)) load_dict(argv[i] + 6);
        else if (argv[i][0] == '-') fprintf(stderr, "fuzz driver: ignoring %s\n", argv[i]);
        else load_path(&c, argv[i]);
    }
    if (runs < 0 && max_time < 0) { /* replay */
        for (size_t k = 0; k < c.count; k++) LLVMFuzzerTestOneInput(c.items[k].data, c.items[k].size);
        printf("fuzz driver: replayed %zu input(s)\n", c.count);
        /* freed here too: a replay under LeakSanitizer reports only the target's leaks */
        free_corpus(&c);
        free_corpus(&dict);
        return 0;
    }
    if (!c.count) add_input(&c, (const uint8_t *)"", 0);
    /* the target's own output (usage errors) would drown everything: to /dev/null, ours to a
     * copy of stderr. A sanitizer report goes there too: replay the saved input to see it. */
    int err = dup(2), null = open("/dev/null", O_WRONLY);
    FILE *log = err >= 0 ? fdopen(err, "w") : NULL;
    if (!log || null < 0) die("cannot set up the output", NULL);
    fprintf(log, "fuzz driver: %zu corpus input(s); each input is saved to %s before it runs: "
                 "on a crash, replay it with this program and that path to see the report\n",
            c.count, artifact);
    fflush(log);
    dup2(null, 1);
    dup2(null, 2);
    time_t t0 = time(NULL);
    long done = 0;
    for (size_t k = 0; k < c.count; k++, done++) {
        save_artifact(c.items[k].data, c.items[k].size);
        LLVMFuzzerTestOneInput(c.items[k].data, c.items[k].size);
    }
    uint8_t buf[FUZZ_MAX_INPUT];
    size_t size = 0;
    while ((runs < 0 || done < runs) && (max_time < 0 || time(NULL) - t0 < max_time)) {
        if (!size || below(4) == 0) { /* a fresh start from the corpus, else go on mutating */
            const input *in = &c.items[below(c.count)];
            memcpy(buf, in->data, in->size);
            size = in->size;
        }
        mutate(buf, &size, &c);
        save_artifact(buf, size);
        LLVMFuzzerTestOneInput(buf, size);
        done++;
    }
    dup2(err, 2); /* a leak report at exit (LeakSanitizer) is to be seen */
    fprintf(log, "fuzz driver: %ld input(s) in %ld s, no crash\n", done, (long)(time(NULL) - t0));
    unlink(artifact);
    free_corpus(&c);
    free_corpus(&dict);
    fclose(log);
    close(null);
    return 0;
}

/* test_npy.c: cmocka tests of the .npy reader/writer (src/util/npy.c): round trips, files laid out byte
 * for byte as NumPy writes them, integer labels, every malformed-input error (status code and a
 * telling message), clean failure on every truncation and on corrupted headers, atomic writes, and
 * the golden NumPy-written files under $PEGR_TEST_DATA_DIR (skipped when unset). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp, link, dirent */
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pegr/io.h" /* the .npy calls are public */

/* ------------------------------------------------------------------------------------------ */
/* Helpers: temp dir fixture, byte buffers, NumPy-layout crafting                             */
/* ------------------------------------------------------------------------------------------ */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup_dir(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/pegr_npy_XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

/* Removes what a test left (files, empty subdirectories), then the dir itself. */
static int teardown_dir(void **state)
{
    fixture *fx = *state;
    DIR *d = opendir(fx->dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
            remove(p);
        }
        closedir(d);
    }
    int rc = rmdir(fx->dir);
    free(fx);
    return rc == 0 ? 0 : -1;
}

static const char *in_dir(char *buf, size_t cap, void **state, const char *name)
{
    fixture *fx = *state;
    snprintf(buf, cap, "%s/%s", fx->dir, name);
    return buf;
}

static int count_entries(void **state)
{
    fixture *fx = *state;
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    }
    closedir(d);
    return n;
}

typedef struct blob {
    unsigned char *p;
    size_t n;
} blob;

static blob read_bytes(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    blob b = {malloc(1 << 20), 0};
    assert_non_null(b.p);
    b.n = fread(b.p, 1, 1 << 20, f);
    assert_true(feof(f));
    fclose(f);
    return b;
}

static void write_bytes(const char *path, blob b)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
    assert_int_equal(fclose(f), 0);
}

static void put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++, v >>= 8) p[i] = (unsigned char)(v & 0xff);
}

/* Little-endian bytes of doubles / floats / integers, independent of the host's byte order. */
static void f64_le(unsigned char *out, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &v[i], 8);
        put_le(out + 8 * i, bits, 8);
    }
}

static void f32_le(unsigned char *out, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        put_le(out + 4 * i, bits, 4);
    }
}

static void int_le(unsigned char *out, const int64_t *v, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) put_le(out + size * i, (uint64_t)v[i], size);
}

/* A .npy file laid out as NumPy writes it: "\x93NUMPY", version major.0, header length (uint16
 * for 1.0, uint32 for 2.0/3.0), the dict text, `extra` spaces (NumPy >= 1.23's growth-axis room),
 * spaces padding preamble+header to a multiple of `align` (16 before NumPy 1.14, 64 since), '\n',
 * then the data. The buffer is exactly sized, so valgrind catches any over-read. */
static blob craft(int major, const char *dict, size_t extra, size_t align, const void *data,
                  size_t data_len)
{
    size_t pre = major == 1 ? 10 : 12;
    size_t text = strlen(dict) + extra + 1;
    size_t pad = align - (pre + text) % align;
    blob b;
    b.n = pre + text + pad + data_len;
    b.p = malloc(b.n);
    assert_non_null(b.p);
    memcpy(b.p, "\x93NUMPY", 6);
    b.p[6] = (unsigned char)major;
    b.p[7] = 0;
    put_le(b.p + 8, text + pad, pre - 8);
    memcpy(b.p + pre, dict, strlen(dict));
    memset(b.p + pre + strlen(dict), ' ', extra + pad);
    b.p[pre + text + pad - 1] = '\n';
    if (data_len) memcpy(b.p + pre + text + pad, data, data_len);
    return b;
}

/* A version 1.0, 64-aligned file whose data is `count` doubles 0.5, 1.5, 2.5, ... */
static blob craft_f8(const char *dict, size_t count)
{
    unsigned char data[8 * 64];
    double v[64];
    assert_true(count <= 64);
    for (size_t i = 0; i < count; i++) v[i] = (double)i + 0.5;
    f64_le(data, v, count);
    return craft(1, dict, 0, 64, data, 8 * count);
}

static blob craft_dict(const char *dict) { return craft_f8(dict, 6); }

static void assert_contains_(const char *msg, const char *want, int line)
{
    if (want && !strstr(msg, want)) {
        fail_msg("line %d: message \"%s\" lacks \"%s\"", line, msg, want);
    }
}

/* Read `b` from memory as "bad.npy" and check: status `code` (returned and recorded), a message
 * naming the file and containing want1 and want2 (either may be NULL), the output left zeroed. */
static void expect_error_(blob b, pegr_status code, const char *want1, const char *want2, int line)
{
    pegr_array a;
    memset(&a, 0x5a, sizeof a); /* garbage: the reader must zero it */
    pegr_error err = {0};
    pegr_status st = pegr_npy_read_mem(b.p, b.n, "bad.npy", &a, &err);
    if (st != code) {
        fail_msg("line %d: status %s, wanted %s (message: %s)", line, pegr_status_name(st),
                 pegr_status_name(code), pegr_error_message(&err));
    }
    assert_int_equal(err.status, code);
    assert_non_null(err.message);
    assert_contains_(err.message, "bad.npy", line);
    assert_contains_(err.message, want1, line);
    assert_contains_(err.message, want2, line);
    assert_null(a.data);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.size, 0);
    pegr_error_clear(&err);
    free(b.p);
}

#define expect_error(b, code, w1, w2) expect_error_((b), (code), (w1), (w2), __LINE__)
#define assert_contains(msg, want)    assert_contains_((msg), (want), __LINE__)

/* Read b from memory, expecting success; frees b. */
static void read_ok(blob b, pegr_array *a)
{
    pegr_error err = {0};
    pegr_status st = pegr_npy_read_mem(b.p, b.n, "ok.npy", a, &err);
    if (st != PEGR_OK) fail_msg("unexpected error: %s", pegr_error_message(&err));
    pegr_error_clear(&err);
    free(b.p);
}

static void assert_shape(const pegr_array *a, int ndim, const size_t *shape)
{
    assert_int_equal(a->ndim, ndim);
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        assert_int_equal(a->shape[i], shape[i]);
        size *= shape[i];
    }
    assert_int_equal(a->size, size);
    assert_non_null(a->data);
}

/* ------------------------------------------------------------------------------------------ */
/* Round trips                                                                                */
/* ------------------------------------------------------------------------------------------ */

static const double six[6] = {1.0, -2.5, 3.25, 0.0, -0.125, 1e300};
static const size_t shape_six[1] = {6};

static void roundtrip_one(void **state, int ndim, const size_t *shape, int as_float32)
{
    char p[256];
    in_dir(p, sizeof p, state, "rt.npy");
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    double *v = malloc((n ? n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) v[i] = ((double)i - 7.25) / 3.0 * (i % 2 ? 1e-7 : 1e7);

    pegr_error err = {0};
    assert_int_equal(pegr_npy_write(p, n ? v : NULL, ndim, shape, as_float32, &err), PEGR_OK);
    pegr_array a;
    assert_int_equal(pegr_npy_read(p, &a, &err), PEGR_OK);
    assert_shape(&a, ndim, shape);
    assert_string_equal(a.descr, as_float32 ? "<f4" : "<f8");
    assert_int_equal(a.is_integer, 0);
    for (size_t i = 0; i < n; i++) {
        double want = as_float32 ? (double)(float)v[i] : v[i];
        assert_memory_equal(&a.data[i], &want, sizeof want); /* bit-exact */
    }
    pegr_array_free(&a);
    free(v);
    assert_int_equal(count_entries(state), 1); /* no temp file left behind */
}

static const size_t shape_4d[] = {2, 3, 4, 5}, shape_1d[] = {7}, shape_zero[] = {3, 0, 2},
                    shape_2d[] = {4, 3};

static void test_roundtrip_f64_preserves_values_and_shapes(void **state)
{
    roundtrip_one(state, 0, NULL, 0);
    roundtrip_one(state, 1, shape_1d, 0);
    roundtrip_one(state, 2, shape_2d, 0);
    roundtrip_one(state, 4, shape_4d, 0);
    roundtrip_one(state, 3, shape_zero, 0);
}

static void test_roundtrip_f32_rounds_values_to_float(void **state)
{
    roundtrip_one(state, 0, NULL, 1);
    roundtrip_one(state, 1, shape_1d, 1);
    roundtrip_one(state, 4, shape_4d, 1);
    roundtrip_one(state, 3, shape_zero, 1);
}

/* Expected header texts and lengths below were produced by NumPy 2.4 (np.save / its header
 * writer): version 1.0, dict + spare spaces + padding + '\n', data at a multiple of 64. The last
 * case only fits in 192 bytes because of NumPy's growth-axis spaces. */
static void test_write_header_matches_numpy_bytes(void **state)
{
    static const struct {
        int ndim;
        size_t shape[6];
        const char *dict;
        size_t header_len;
    } cases[] = {
        {0, {0}, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 118},
        {1, {5}, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", 118},
        {3, {8, 2, 16}, "{'descr': '<f8', 'fortran_order': False, 'shape': (8, 2, 16), }", 118},
        {6,
         {1, 0, 1000000000, 1000000000, 1000000000, 1000000000},
         "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 0, 1000000000, 1000000000, "
         "1000000000, 1000000000), }",
         182},
    };
    char p[256];
    in_dir(p, sizeof p, state, "h.npy");
    double zeros[8 * 2 * 16] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        assert_int_equal(pegr_npy_write(p, zeros, cases[c].ndim, cases[c].shape, 0, NULL), PEGR_OK);
        blob b = read_bytes(p);
        assert_true(b.n >= 10 + cases[c].header_len);
        assert_memory_equal(b.p, "\x93NUMPY\x01\x00", 8);
        assert_int_equal(b.p[8] | (b.p[9] << 8), cases[c].header_len);
        size_t dl = strlen(cases[c].dict);
        assert_memory_equal(b.p + 10, cases[c].dict, dl);
        for (size_t i = 10 + dl; i < 10 + cases[c].header_len - 1; i++)
            assert_int_equal(b.p[i], ' ');
        assert_int_equal(b.p[10 + cases[c].header_len - 1], '\n');
        free(b.p);
    }
}

static void test_write_data_offset_is_multiple_of_64(void **state)
{
    char p[256];
    in_dir(p, sizeof p, state, "align.npy");
    size_t shape[PEGR_NPY_MAX_DIMS];
    for (int ndim = 0; ndim <= PEGR_NPY_MAX_DIMS; ndim++) {
        for (size_t big = 0; big < 3; big++) {
            for (int i = 0; i < ndim; i++) shape[i] = i == ndim - 1 ? 0 : (size_t)1 << (20 * big);
            assert_int_equal(pegr_npy_write(p, six, ndim, shape, ndim % 2, NULL), PEGR_OK);
            blob b = read_bytes(p);
            size_t header_len = (size_t)(b.p[8] | (b.p[9] << 8));
            assert_int_equal((10 + header_len) % 64, 0);
            assert_int_equal(b.p[10 + header_len - 1], '\n');
            assert_int_equal(b.n, 10 + header_len + (ndim == 0 ? 8 : 0)); /* ndim 0: one f8 */
            free(b.p);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Files as NumPy writes them                                                                 */
/* ------------------------------------------------------------------------------------------ */


static void check_six(const pegr_array *a)
{
    static const size_t shape[2] = {2, 3};
    assert_shape(a, 2, shape);
    assert_string_equal(a->descr, "<f8");
    assert_memory_equal(a->data, six, sizeof six);
}

/* NumPy 1.0 .. 1.13: keys sorted, 16-byte alignment, no growth-axis spaces; read from a file. */
static void test_read_numpy_1x_v1_header_16_byte_aligned(void **state)
{
    unsigned char data[sizeof six];
    f64_le(data, six, 6);
    blob b = craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 0, 16, data,
                   sizeof data);
    assert_int_equal(b.n, 80 + 48); /* 10 + 70 bytes of header, a multiple of 16 */
    char p[256];
    write_bytes(in_dir(p, sizeof p, state, "old.npy"), b);
    free(b.p);
    pegr_array a;
    pegr_error err = {0};
    assert_int_equal(pegr_npy_read(p, &a, &err), PEGR_OK);
    check_six(&a);
    pegr_array_free(&a);
}

/* NumPy >= 1.23: growth-axis spaces, 64-byte alignment. */
static void test_read_numpy_current_v1_header_64_byte_aligned(void **state)
{
    (void)state;
    unsigned char data[sizeof six];
    f64_le(data, six, 6);
    pegr_array a;
    read_ok(craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 20, 64, data,
                  sizeof data),
            &a);
    check_six(&a);
    pegr_array_free(&a);
}

static void test_read_version_2_and_3_headers(void **state)
{
    (void)state;
    unsigned char data[sizeof six];
    f64_le(data, six, 6);
    for (int major = 2; major <= 3; major++) {
        pegr_array a;
        read_ok(craft(major, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 20, 64,
                      data, sizeof data),
                &a);
        check_six(&a);
        pegr_array_free(&a);
    }
}

static void test_read_header_any_key_order_quotes_and_whitespace(void **state)
{
    (void)state;
    static const char *const dicts[] = {
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}",
        "{\"fortran_order\":False,\"descr\":\"<f8\",\"shape\":(2,3)}",
        "  {\t'descr' :\n'<f8' ,'shape':( 2 , 3 , ) ,'fortran_order' : False , }\r",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }", /* Python 2 NumPy */
    };
    unsigned char data[sizeof six];
    f64_le(data, six, 6);
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; i++) {
        pegr_array a;
        read_ok(craft(1, dicts[i], 0, 64, data, sizeof data), &a);
        check_six(&a);
        pegr_array_free(&a);
    }
}

static void test_read_scalar_and_empty_shapes(void **state)
{
    (void)state;
    unsigned char data[8];
    double v = 42.0;
    f64_le(data, &v, 1);
    pegr_array a;
    read_ok(craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 0, 64, data, 8),
            &a);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(a.size, 1);
    assert_true(a.data[0] == 42.0);
    pegr_array_free(&a);

    static const size_t empty[2] = {0, 5};
    read_ok(craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 5), }", 0, 64, NULL, 0),
            &a);
    assert_shape(&a, 2, empty);
    pegr_array_free(&a);

    /* a zero entry makes the size 0 even when the other entries' product would overflow */
    static const size_t empty_big[3] = {(size_t)1 << 40, (size_t)1 << 40, 0};
    read_ok(craft(1, "{'descr': '<f8', 'fortran_order': False, "
                     "'shape': (1099511627776, 1099511627776, 0), }",
                  0, 64, NULL, 0),
            &a);
    assert_shape(&a, 3, empty_big);
    pegr_array_free(&a);
}

/* ------------------------------------------------------------------------------------------ */
/* Integer dtypes and labels                                                                  */
/* ------------------------------------------------------------------------------------------ */

static const int64_t labels[5] = {1, -1, -1, 1, -1};

static void read_int_labels(const char *descr, size_t size)
{
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (5,), }", descr);
    unsigned char data[5 * 8];
    int_le(data, labels, 5, size);
    pegr_array a;
    read_ok(craft(1, dict, 20, 64, data, 5 * size), &a);
    static const size_t shape[1] = {5};
    assert_shape(&a, 1, shape);
    assert_string_equal(a.descr, descr);
    assert_int_equal(a.is_integer, 1);
    for (size_t i = 0; i < 5; i++) assert_true(a.data[i] == (double)labels[i]);
    assert_int_equal(pegr_array_check_labels(&a, "y.npy", NULL), PEGR_OK);
    pegr_array_free(&a);
}

static void test_read_int64_labels_converted(void **state)
{
    (void)state;
    read_int_labels("<i8", 8);
}

static void test_read_int32_labels_converted(void **state)
{
    (void)state;
    read_int_labels("<i4", 4);
    read_int_labels("<i2", 2);
    read_int_labels("|i1", 1);
}

static void test_read_extreme_integers_and_float32_converted(void **state)
{
    (void)state;
    static const struct {
        const char *descr;
        size_t size;
        int64_t raw;
        double want;
    } cases[] = {
        {"|i1", 1, -128, -128.0},
        {"|u1", 1, 255, 255.0},
        {"<i2", 2, -32768, -32768.0},
        {"<i4", 4, INT32_MIN, (double)INT32_MIN},
        {"<i8", 8, INT64_MIN, -9223372036854775808.0},
        {"<i8", 8, ((int64_t)1 << 53) + 1, 9007199254740992.0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (1,), }",
                 cases[c].descr);
        unsigned char data[8];
        int_le(data, &cases[c].raw, 1, cases[c].size);
        pegr_array a;
        read_ok(craft(1, dict, 20, 64, data, cases[c].size), &a);
        assert_true(a.data[0] == cases[c].want);
        assert_int_equal(a.is_integer, 1);
        pegr_array_free(&a);
    }
    float f[2] = {0.1f, -3.5f};
    unsigned char data[8];
    f32_le(data, f, 2);
    pegr_array a;
    read_ok(craft(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 20, 64, data, 8),
            &a);
    assert_string_equal(a.descr, "<f4");
    assert_true(a.data[0] == (double)0.1f && a.data[1] == -3.5);
    pegr_array_free(&a);
}

static void test_check_labels_accepts_plus_minus_one(void **state)
{
    (void)state;
    double v[4] = {1.0, -1.0, -1.0, 1.0};
    pegr_array a = {.ndim = 1, .shape = {4}, .size = 4, .data = v};
    pegr_error err = {0};
    assert_int_equal(pegr_array_check_labels(&a, "y.npy", &err), PEGR_OK);
    assert_null(err.message);
}

static void check_labels_rejects(double bad, const char *shown)
{
    double v[4] = {1.0, -1.0, bad, 1.0};
    pegr_array a = {.ndim = 1, .shape = {4}, .size = 4, .data = v};
    pegr_error err = {0};
    assert_int_equal(pegr_array_check_labels(&a, "y.npy", &err), PEGR_ERR_FORMAT);
    assert_contains(err.message, "'y.npy'");
    assert_contains(err.message, "index 2");
    assert_contains(err.message, shown);
    assert_contains(err.message, "+1 or -1");
    pegr_error_clear(&err);
}

static void test_check_labels_rejects_zero(void **state)
{
    (void)state;
    check_labels_rejects(0.0, "is 0;");
}

static void test_check_labels_rejects_two(void **state)
{
    (void)state;
    check_labels_rejects(2.0, "is 2;");
    check_labels_rejects(0.999, "is 0.999");
}

/* ------------------------------------------------------------------------------------------ */
/* Malformed input                                                                            */
/* ------------------------------------------------------------------------------------------ */

static void test_bad_magic_is_format_error(void **state)
{
    (void)state;
    blob b = craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }");
    b.p[1] = 'n';
    expect_error(b, PEGR_ERR_FORMAT, "not a .npy file", "magic");
    blob csv = {malloc(12), 12};
    memcpy(csv.p, "1.0,2.0,3.0\n", 12);
    expect_error(csv, PEGR_ERR_FORMAT, "magic", NULL);
}

static void test_short_file_is_format_error(void **state)
{
    (void)state;
    blob empty = {malloc(1), 0};
    expect_error(empty, PEGR_ERR_FORMAT, "magic", "(0 bytes)");
    blob pre = {malloc(9), 9};
    memcpy(pre.p, "\x93NUMPY\x01\x00\x10", 9);
    expect_error(pre, PEGR_ERR_FORMAT, "ends inside the .npy preamble", NULL);
}

static void test_unsupported_version_is_rejected(void **state)
{
    (void)state;
    blob b = craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }");
    b.p[6] = 4;
    expect_error(b, PEGR_ERR_UNSUPPORTED, "version 4.0", "expected 1.0, 2.0 or 3.0");
    b = craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }");
    b.p[7] = 1;
    expect_error(b, PEGR_ERR_UNSUPPORTED, "version 1.1", NULL);
}

static void test_header_length_past_eof_is_format_error(void **state)
{
    (void)state;
    blob b = craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 0, 64, NULL, 0);
    b.p[8] = 0xff;
    b.p[9] = 0x7f;
    expect_error(b, PEGR_ERR_FORMAT, "header length 32767 runs past the end of the file",
                 "only 118 bytes follow");
    b = craft(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 0, 64, NULL, 0);
    b.p[11] = 0xff; /* a 4 GiB header length */
    expect_error(b, PEGR_ERR_FORMAT, "runs past the end of the file", NULL);
}

static void test_header_not_a_dict_is_format_error(void **state)
{
    (void)state;
    expect_error(craft_dict("['descr', '<f8']"), PEGR_ERR_FORMAT, "not a Python dict literal",
                 "found '['descr'");
    expect_error(craft_dict(""), PEGR_ERR_FORMAT, "not a Python dict literal", NULL);
}

static void test_header_missing_keys_are_format_errors(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, }"), PEGR_ERR_FORMAT,
                 "lacks the key 'shape'", "'descr', 'fortran_order' and 'shape'");
    expect_error(craft_dict("{'descr': '<f8', 'shape': (2, 3), }"), PEGR_ERR_FORMAT,
                 "lacks the key 'fortran_order'", NULL);
    expect_error(craft_dict("{'fortran_order': False, 'shape': (2, 3), }"), PEGR_ERR_FORMAT,
                 "lacks the key 'descr'", NULL);
    expect_error(craft_dict("{}"), PEGR_ERR_FORMAT, "lacks the key", NULL);
}

static void test_header_unknown_and_duplicate_keys_are_format_errors(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}"),
                 PEGR_ERR_FORMAT, "unexpected key 'x'", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, }"),
                 PEGR_ERR_FORMAT, "'descr' appears twice", NULL);
}

static void test_header_syntax_errors_are_format_errors(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr' '<f8', 'fortran_order': False, 'shape': (2, 3), }"),
                 PEGR_ERR_FORMAT, "expected ':' after 'descr'", NULL);
    expect_error(craft_dict("{'descr: '<f8', 'fortran_order': False, 'shape': (2, 3), }"),
                 PEGR_ERR_FORMAT, "unexpected key 'descr: '", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)"),
                 PEGR_ERR_FORMAT, "expected ',' or '}'", "the end of the header");
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)} x"),
                 PEGR_ERR_FORMAT, "unexpected 'x' after the dict", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}"),
                 PEGR_ERR_FORMAT, "'fortran_order' must be True or False", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': Falsey, 'shape': (2, 3)}"),
                 PEGR_ERR_FORMAT, "must be True or False", NULL);
    expect_error(craft_dict("{'descr': '<f8"), PEGR_ERR_FORMAT, "no closing quote", NULL);
    expect_error(craft_dict("{descr: '<f8'}"), PEGR_ERR_FORMAT, "expected a key in quotes", NULL);
    expect_error(craft_dict("{'descr': <f8, 'fortran_order': False, 'shape': (2, 3)}"),
                 PEGR_ERR_FORMAT, "'descr' dtype string", NULL);
}

static void test_fortran_order_is_unsupported(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }"),
                 PEGR_ERR_UNSUPPORTED,
                 "Fortran order is not supported; save with np.ascontiguousarray", NULL);
}

static void test_big_endian_is_unsupported_with_hint(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }"),
                 PEGR_ERR_UNSUPPORTED, "big-endian dtype '>f8'",
                 "save as little-endian, e.g. a.astype('<f8')");
    expect_error(craft_dict("{'descr': '>i4', 'fortran_order': False, 'shape': (12,), }"),
                 PEGR_ERR_UNSUPPORTED, "big-endian", "a.astype('<i4')");
}

static void test_unsupported_dtypes_are_rejected(void **state)
{
    (void)state;
    static const struct {
        const char *descr, *want, *want2;
    } cases[] = {
        {"<c16", "dtype '<c16' (complex numbers) is not supported", "expected float32"},
        {"<U3", "dtype '<U3' (Unicode strings) is not supported", "expected float32"},
        {"|O", "dtype '|O' (Python objects", "expected float32"},
        {"<f2", "dtype '<f2' is not supported", "expected float32"},
        {"|b1", "(booleans)", "expected float32"},
        {"<u4", "dtype '<u4' is not supported", "expected float32"},
        {"<f8x", "dtype '<f8x' is not supported", "expected float32"},
        {"f8", "byte-order character", "expected float32"},
        {"|f8", "does not state the byte order of a 8-byte type", "a.astype('<f8')"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (2, 3), }",
                 cases[c].descr);
        expect_error(craft_dict(dict), PEGR_ERR_UNSUPPORTED, cases[c].want, cases[c].want2);
    }
    expect_error(
        craft_dict(
            "{'descr': [('a', '<f8'), ('b', '<i4')], 'fortran_order': False, 'shape': (2,)}"),
        PEGR_ERR_UNSUPPORTED, "structured (record) dtypes are not supported", NULL);
}

static void test_shape_negative_entry_is_format_error(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3), }"),
                 PEGR_ERR_FORMAT, "shape entry 1 is negative (-3)", "non-negative integers");
}

static void test_shape_non_integer_entry_is_format_error(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5, 3), }"),
                 PEGR_ERR_FORMAT, "shape entry 0 is not a non-negative integer (found 2.5)", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, None), }"),
                 PEGR_ERR_FORMAT, "found None", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, , 3), }"),
                 PEGR_ERR_FORMAT, "shape entry 1 is not a non-negative integer (found ','", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3], }"),
                 PEGR_ERR_FORMAT, "'shape' must be a tuple", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (6), }"),
                 PEGR_ERR_FORMAT, "(6) is not a tuple", "(6,)");
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2 3), }"),
                 PEGR_ERR_FORMAT, "expected ',' or ')'", NULL);
}

static void test_shape_too_many_dims_is_unsupported(void **state)
{
    (void)state;
    expect_error(
        craft_dict(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 6)}"),
        PEGR_ERR_UNSUPPORTED, "more than 8 dimensions", "at most 8");
    /* exactly 8 is fine */
    pegr_array a;
    read_ok(
        craft_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 2, 3)}"),
        &a);
    assert_int_equal(a.ndim, 8);
    pegr_array_free(&a);
}

static void test_shape_product_overflow_is_format_error(void **state)
{
    (void)state;
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (4294967296, 4294967296, 2), }"),
                 PEGR_ERR_FORMAT, "too many elements", "overflows size_t");
    /* the element count fits, the byte count does not */
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (2305843009213693952,), }"),
                 PEGR_ERR_FORMAT, "overflows size_t", NULL);
    expect_error(craft_dict("{'descr': '<f8', 'fortran_order': False, "
                            "'shape': (99999999999999999999999,), }"),
                 PEGR_ERR_FORMAT, "shape entry 0 (99999999999999999999999) overflows", NULL);
}

static void test_truncated_data_is_format_error(void **state)
{
    (void)state;
    expect_error(craft_f8("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 5),
                 PEGR_ERR_FORMAT, "truncated", "expected 48 bytes of data, found 40");
    expect_error(craft_f8("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 0),
                 PEGR_ERR_FORMAT, "expected 48 bytes of data, found 0", NULL);
}

static void test_trailing_data_is_format_error(void **state)
{
    (void)state;
    expect_error(craft_f8("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 7),
                 PEGR_ERR_FORMAT, "does not match its header",
                 "expected 48 bytes of data, found 56");
}

static void test_nan_is_nonfinite_naming_flat_index(void **state)
{
    (void)state;
    double v[6] = {1, 2, 3, 4, NAN, 6};
    unsigned char data[48];
    f64_le(data, v, 6);
    expect_error(
        craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 0, 64, data, 48),
        PEGR_ERR_NONFINITE, "flat index 4 (index (1, 1)) is NaN", "must be finite");
}

static void test_inf_is_nonfinite_naming_flat_index(void **state)
{
    (void)state;
    double v[3] = {1, -INFINITY, 3};
    unsigned char data[24];
    f64_le(data, v, 3);
    expect_error(
        craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", 0, 64, data, 24),
        PEGR_ERR_NONFINITE, "flat index 1 is -Inf", NULL);
    float f[2] = {0.0f, INFINITY};
    f32_le(data, f, 2);
    expect_error(
        craft(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 0, 64, data, 8),
        PEGR_ERR_NONFINITE, "flat index 1 is +Inf", NULL);
}

static void test_missing_file_is_io_error(void **state)
{
    char p[256];
    in_dir(p, sizeof p, state, "absent.npy");
    pegr_array a;
    pegr_error err = {0};
    assert_int_equal(pegr_npy_read(p, &a, &err), PEGR_ERR_IO);
    assert_contains(err.message, p);
    assert_contains(err.message, "No such file");
    assert_null(a.data);
    /* a directory opens on Linux but cannot be read */
    fixture *fx = *state;
    assert_int_equal(pegr_npy_read(fx->dir, &a, &err), PEGR_ERR_IO);
    assert_contains(err.message, fx->dir);
    pegr_error_clear(&err);
}

static void test_error_record_is_optional(void **state)
{
    (void)state;
    blob b = craft_dict("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }");
    pegr_array a;
    assert_int_equal(pegr_npy_read_mem(b.p, b.n, NULL, &a, NULL), PEGR_ERR_UNSUPPORTED);
    pegr_error err = {0};
    assert_int_equal(pegr_npy_read_mem(b.p, b.n, NULL, &a, &err), PEGR_ERR_UNSUPPORTED);
    assert_contains(err.message, "<memory>");
    pegr_error_clear(&err);
    free(b.p);
}

/* Each proper prefix of a valid file must fail cleanly: an error, a message naming the file, the
 * output zeroed, no over-read (exact-size copies, so valgrind would see one). */
static void test_every_truncation_fails_cleanly(void **state)
{
    (void)state;
    unsigned char data[sizeof six];
    f64_le(data, six, 6);
    blob whole = craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 20, 64,
                       data, sizeof data);
    for (size_t len = 0; len < whole.n; len++) {
        blob b = {malloc(len ? len : 1), len};
        memcpy(b.p, whole.p, len);
        expect_error(b, PEGR_ERR_FORMAT, NULL, NULL);
    }
    free(whole.p);
}

/* Random byte corruption of the preamble and header (a fixed-seed LCG, so runs repeat): every
 * result is either a successful read or an error with a message naming the file. */
static void test_corrupted_headers_fail_cleanly(void **state)
{
    (void)state;
    static const char alphabet[] = "{}()[],:'\" 0123456789-LTrueFalsdcpfhion<>|=\n\x93";
    unsigned char data[sizeof six];
    f64_le(data, six, 6);
    blob whole = craft(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 0, 64,
                       data, sizeof data);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    int successes = 0;
    for (int iter = 0; iter < 3000; iter++) {
        blob b = {malloc(whole.n), whole.n};
        memcpy(b.p, whole.p, whole.n);
        for (int k = 0; k < 1 + iter % 3; k++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            size_t pos = (size_t)(seed >> 33) % 80; /* preamble and header */
            unsigned pick = (unsigned)(seed >> 20) & 0xff;
            b.p[pos] = pick < 128 ? (unsigned char)alphabet[pick % (sizeof alphabet - 1)]
                                  : (unsigned char)pick;
        }
        pegr_array a;
        pegr_error err = {0};
        pegr_status st = pegr_npy_read_mem(b.p, b.n, "fuzz.npy", &a, &err);
        if (st == PEGR_OK) {
            successes++;
            assert_non_null(a.data);
            pegr_array_free(&a);
        } else {
            assert_int_equal(err.status, st);
            assert_contains(err.message, "fuzz.npy");
            assert_null(a.data);
        }
        pegr_error_clear(&err);
        free(b.p);
    }
    assert_true(successes < 3000);
    free(whole.p);
}

/* ------------------------------------------------------------------------------------------ */
/* Writing: failures and atomic replacement                                                   */
/* ------------------------------------------------------------------------------------------ */

static void test_write_to_missing_directory_fails_and_leaves_no_file(void **state)
{
    char p[256], dir[256];
    in_dir(p, sizeof p, state, "no_such_dir/x.npy");
    pegr_error err = {0};
    assert_int_equal(pegr_npy_write(p, six, 1, shape_six, 0, &err), PEGR_ERR_IO);
    assert_contains(err.message, "no_such_dir/x.npy");
    assert_contains(err.message, "No such file");
    pegr_error_clear(&err);
    struct stat sb;
    assert_int_not_equal(stat(in_dir(dir, sizeof dir, state, "no_such_dir"), &sb), 0);
    assert_int_equal(count_entries(state), 0);
}

/* The temp file is created and written, then rename fails (a file cannot replace a directory):
 * the temp file must be removed and the directory left as it was. */
static void test_write_over_directory_fails_and_removes_temp(void **state)
{
    char p[256];
    in_dir(p, sizeof p, state, "target");
    assert_int_equal(mkdir(p, 0700), 0);
    pegr_error err = {0};
    assert_int_equal(pegr_npy_write(p, six, 1, shape_six, 0, &err), PEGR_ERR_IO);
    assert_contains(err.message, "cannot rename");
    pegr_error_clear(&err);
    assert_int_equal(count_entries(state), 1);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
}

/* Rewriting goes to a new file renamed over the old one, never into the old file in place: a hard
 * link to the old file still holds the old content afterwards. */
static void test_write_replaces_existing_file_atomically(void **state)
{
    char p[256], old[256];
    in_dir(p, sizeof p, state, "w.npy");
    in_dir(old, sizeof old, state, "w_old_link.npy");
    static const size_t three[1] = {3};
    double first[3] = {1, 2, 3}, second[4] = {-1, -2, -3, -4};
    assert_int_equal(pegr_npy_write(p, first, 1, three, 0, NULL), PEGR_OK);
    assert_int_equal(link(p, old), 0);
    static const size_t two_by_two[2] = {2, 2};
    assert_int_equal(pegr_npy_write(p, second, 2, two_by_two, 0, NULL), PEGR_OK);

    pegr_array a;
    assert_int_equal(pegr_npy_read(p, &a, NULL), PEGR_OK);
    assert_shape(&a, 2, two_by_two);
    assert_memory_equal(a.data, second, sizeof second);
    pegr_array_free(&a);
    assert_int_equal(pegr_npy_read(old, &a, NULL), PEGR_OK);
    assert_shape(&a, 1, three);
    assert_memory_equal(a.data, first, sizeof first);
    pegr_array_free(&a);
    assert_int_equal(count_entries(state), 2); /* w.npy and the link: no temp file */
}

static void test_failed_write_leaves_existing_file_untouched(void **state)
{
    char p[256];
    in_dir(p, sizeof p, state, "keep.npy");
    assert_int_equal(pegr_npy_write(p, six, 1, shape_six, 0, NULL), PEGR_OK);
    blob before = read_bytes(p);
    double bad[6] = {1, 2, NAN, 4, 5, 6};
    pegr_error err = {0};
    assert_int_equal(pegr_npy_write(p, bad, 1, shape_six, 0, &err), PEGR_ERR_NONFINITE);
    assert_contains(err.message, "flat index 2 is NaN");
    assert_int_equal(pegr_npy_write(p, six, 9, (size_t[]){1, 1, 1, 1, 1, 1, 1, 1, 6}, 0, &err),
                     PEGR_ERR_INVALID_ARGUMENT);
    pegr_error_clear(&err);
    blob after = read_bytes(p);
    assert_int_equal(after.n, before.n);
    assert_memory_equal(after.p, before.p, before.n);
    free(before.p);
    free(after.p);
    assert_int_equal(count_entries(state), 1);
}

static void test_write_rejects_bad_arguments_and_nonfinite(void **state)
{
    char p[256];
    in_dir(p, sizeof p, state, "args.npy");
    pegr_error err = {0};
    assert_int_equal(pegr_npy_write(NULL, six, 1, shape_six, 0, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(pegr_npy_write(p, six, -1, shape_six, 0, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(pegr_npy_write(p, six, 1, NULL, 0, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_int_equal(pegr_npy_write(p, NULL, 1, shape_six, 0, &err), PEGR_ERR_INVALID_ARGUMENT);
    static const size_t huge[2] = {SIZE_MAX / 2, 4};
    assert_int_equal(pegr_npy_write(p, six, 2, huge, 0, &err), PEGR_ERR_INVALID_ARGUMENT);
    assert_contains(err.message, "overflows");
    double inf[1] = {INFINITY};
    static const size_t one[1] = {1};
    assert_int_equal(pegr_npy_write(p, inf, 1, one, 0, &err), PEGR_ERR_NONFINITE);
    assert_contains(err.message, "+Inf");
    double big[1] = {1e300}; /* finite as double, Inf as float32 */
    assert_int_equal(pegr_npy_write(p, big, 1, one, 1, &err), PEGR_ERR_NONFINITE);
    assert_contains(err.message, "outside the float32 range");
    pegr_error_clear(&err);
    assert_int_equal(count_entries(state), 0);
}

static void test_array_free_is_safe_on_zeroed_struct(void **state)
{
    (void)state;
    pegr_array a = {0};
    pegr_array_free(&a);
    pegr_array_free(&a);
    pegr_array_free(NULL);
    a.data = malloc(16);
    a.size = 2;
    pegr_array_free(&a);
    assert_null(a.data);
    assert_int_equal(a.size, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Golden NumPy-written files                                                                 */
/* ------------------------------------------------------------------------------------------ */

static const char *golden_path(char *buf, size_t cap, const char *file)
{
    const char *dir = getenv("PEGR_TEST_DATA_DIR");
    if (!dir || !*dir) return NULL;
    snprintf(buf, cap, "%s/golden/cao2patch_q3/%s", dir, file);
    return buf;
}

static void test_read_golden_numpy_file(void **state)
{
    (void)state;
    char p[1024];
    if (!golden_path(p, sizeof p, "X.npy")) skip();
    pegr_array a;
    pegr_error err = {0};
    if (pegr_npy_read(p, &a, &err) != PEGR_OK) fail_msg("%s", pegr_error_message(&err));
    static const size_t shape[3] = {8, 2, 16};
    assert_shape(&a, 3, shape);
    assert_string_equal(a.descr, "<f8");
    assert_int_equal(a.is_integer, 0);
    double sumsq = 0;
    for (size_t i = 0; i < a.size; i++) sumsq += a.data[i] * a.data[i];
    assert_true(sumsq > 0); /* real data, not zeros */
    pegr_array_free(&a);

    assert_non_null(golden_path(p, sizeof p, "y.npy"));
    assert_int_equal(pegr_npy_read(p, &a, &err), PEGR_OK);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], 8);
    assert_int_equal(pegr_array_check_labels(&a, p, &err), PEGR_OK);
    pegr_array_free(&a);
}

/* Reading a NumPy-written file and writing it back gives the same bytes. */
static void test_write_reproduces_golden_numpy_bytes(void **state)
{
    char p[1024], out[256];
    if (!golden_path(p, sizeof p, "X.npy")) skip();
    in_dir(out, sizeof out, state, "X.npy");
    pegr_array a;
    assert_int_equal(pegr_npy_read(p, &a, NULL), PEGR_OK);
    assert_int_equal(pegr_npy_write(out, a.data, a.ndim, a.shape, 0, NULL), PEGR_OK);
    pegr_array_free(&a);
    blob want = read_bytes(p), got = read_bytes(out);
    assert_int_equal(got.n, want.n);
    assert_memory_equal(got.p, want.p, want.n);
    free(want.p);
    free(got.p);
}

int main(void)
{
#define FILE_TEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)
    const struct CMUnitTest tests[] = {
        FILE_TEST(test_roundtrip_f64_preserves_values_and_shapes),
        FILE_TEST(test_roundtrip_f32_rounds_values_to_float),
        FILE_TEST(test_write_header_matches_numpy_bytes),
        FILE_TEST(test_write_data_offset_is_multiple_of_64),
        FILE_TEST(test_read_numpy_1x_v1_header_16_byte_aligned),
        cmocka_unit_test(test_read_numpy_current_v1_header_64_byte_aligned),
        cmocka_unit_test(test_read_version_2_and_3_headers),
        cmocka_unit_test(test_read_header_any_key_order_quotes_and_whitespace),
        cmocka_unit_test(test_read_scalar_and_empty_shapes),
        cmocka_unit_test(test_read_int64_labels_converted),
        cmocka_unit_test(test_read_int32_labels_converted),
        cmocka_unit_test(test_read_extreme_integers_and_float32_converted),
        cmocka_unit_test(test_check_labels_accepts_plus_minus_one),
        cmocka_unit_test(test_check_labels_rejects_zero),
        cmocka_unit_test(test_check_labels_rejects_two),
        cmocka_unit_test(test_bad_magic_is_format_error),
        cmocka_unit_test(test_short_file_is_format_error),
        cmocka_unit_test(test_unsupported_version_is_rejected),
        cmocka_unit_test(test_header_length_past_eof_is_format_error),
        cmocka_unit_test(test_header_not_a_dict_is_format_error),
        cmocka_unit_test(test_header_missing_keys_are_format_errors),
        cmocka_unit_test(test_header_unknown_and_duplicate_keys_are_format_errors),
        cmocka_unit_test(test_header_syntax_errors_are_format_errors),
        cmocka_unit_test(test_fortran_order_is_unsupported),
        cmocka_unit_test(test_big_endian_is_unsupported_with_hint),
        cmocka_unit_test(test_unsupported_dtypes_are_rejected),
        cmocka_unit_test(test_shape_negative_entry_is_format_error),
        cmocka_unit_test(test_shape_non_integer_entry_is_format_error),
        cmocka_unit_test(test_shape_too_many_dims_is_unsupported),
        cmocka_unit_test(test_shape_product_overflow_is_format_error),
        cmocka_unit_test(test_truncated_data_is_format_error),
        cmocka_unit_test(test_trailing_data_is_format_error),
        cmocka_unit_test(test_nan_is_nonfinite_naming_flat_index),
        cmocka_unit_test(test_inf_is_nonfinite_naming_flat_index),
        FILE_TEST(test_missing_file_is_io_error),
        cmocka_unit_test(test_error_record_is_optional),
        cmocka_unit_test(test_every_truncation_fails_cleanly),
        cmocka_unit_test(test_corrupted_headers_fail_cleanly),
        FILE_TEST(test_write_to_missing_directory_fails_and_leaves_no_file),
        FILE_TEST(test_write_over_directory_fails_and_removes_temp),
        FILE_TEST(test_write_replaces_existing_file_atomically),
        FILE_TEST(test_failed_write_leaves_existing_file_untouched),
        FILE_TEST(test_write_rejects_bad_arguments_and_nonfinite),
        cmocka_unit_test(test_array_free_is_safe_on_zeroed_struct),
        cmocka_unit_test(test_read_golden_numpy_file),
        FILE_TEST(test_write_reproduces_golden_numpy_bytes),
    };
#undef FILE_TEST
    return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}

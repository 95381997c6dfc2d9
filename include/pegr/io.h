/* io.h: the files pegr reads and writes -- NumPy .npy arrays (X, y, W and every array a command
 * writes), and what a client needs to write its own results the way pegr writes its own: whole
 * files written atomically (a temporary name, then rename), mkdir -p, tree removal without a shell,
 * path joining, whole-file reads, and the small JSON writer every pegr JSON file comes from.
 *
 * Errors: every fallible call returns a pegr_status and fills the optional `err` (status.h) with a
 * message naming the file and what was wrong. Ownership: what a call allocates for the caller is
 * said at the call (malloc'ed: free() it; a pegr_array: pegr_array_free). Thread-safety: no call
 * keeps global state; distinct objects may be used from distinct threads at once. Two writers of
 * the same path race as two rename(2)s do: the file is one of the two, never a mixture. */
#ifndef PEGR_IO_H
#define PEGR_IO_H

#include <stddef.h>
#include <stdint.h>

#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- .npy arrays --------------------------------------------------------------------------- */

#define PEGR_NPY_MAX_DIMS 8

/* An array read from a .npy file: its shape and its values as C-order double. The caller owns it
 * (pegr_array_free). */
typedef struct pegr_array {
    int ndim;
    size_t shape[PEGR_NPY_MAX_DIMS];
    size_t size;    /* product of shape (1 for ndim 0) */
    double *data;   /* owned, values converted to double, C order; non-NULL after a read */
    char descr[16]; /* the file's dtype descr, e.g. "<f4", "<f8", "<i8", "|i1" */
    int is_integer; /* 1 when the file's dtype was an integer type */
} pegr_array;

/* Read a .npy file (format 1.0, 2.0 and 3.0 headers; little-endian or byte-order-free '|'
 * float32/float64 and int8/16/32/64, uint8; C order). Every value must be finite. `out` is
 * overwritten (not freed first); on failure it is left zeroed. int64 values beyond 2^53 are rounded
 * to the nearest double. path must be a regular file (symbolic links followed) or a pipe, as from
 * <(cmd); a device such as /dev/zero is refused without reading it, and a FIFO is opened without
 * blocking (one nobody writes to reads as empty). Errors: PEGR_ERR_IO (open/read, not a regular
 * file or pipe), PEGR_ERR_FORMAT (malformed file),
 * PEGR_ERR_UNSUPPORTED (dtype, byte order, Fortran order, version, > PEGR_NPY_MAX_DIMS dims),
 * PEGR_ERR_NONFINITE (NaN/Inf, naming the flat index), PEGR_ERR_NO_MEMORY. */
PEGR_API pegr_status pegr_npy_read(const char *path, pegr_array *out, pegr_error *err);

/* Same from a memory buffer (for fuzz-like tests); name is used in messages (NULL: "<memory>").
 * Never reads outside buf[0 .. len). */
PEGR_API pegr_status pegr_npy_read_mem(const void *buf, size_t len, const char *name,
                                       pegr_array *out, pegr_error *err);

/* Write a C-order little-endian float64 (or float32, values rounded) array atomically: write to
 * "PATH.tmp.<pid>", fsync-free fflush+fclose check, then rename over PATH; on any failure remove
 * the temp file and leave PATH untouched. Format 1.0 header (2.0 if the header would not fit 65535
 * bytes), padded with spaces and a final '\n' so that the data starts at a multiple of 64 bytes
 * (NumPy's current rule, including its spare room for growing the first axis, so the header bytes
 * equal NumPy's). Every value must be finite (and, for float32, within float range): a file that
 * pegr_npy_read would reject is never written (PEGR_ERR_NONFINITE). data may be NULL when the
 * array has no elements. Bad arguments (NULL path, ndim outside 0..PEGR_NPY_MAX_DIMS, element count
 * overflow) give PEGR_ERR_INVALID_ARGUMENT. The caller keeps data and shape. */
PEGR_API pegr_status pegr_npy_write(const char *path, const double *data, int ndim,
                                    const size_t *shape, int as_float32, pegr_error *err);

/* pegr_npy_write of DIR/NAME: the one way the commands write their output arrays. */
PEGR_API pegr_status pegr_npy_write_in(const char *dir, const char *name, const double *data,
                                       int ndim, const size_t *shape, int as_float32,
                                       pegr_error *err);

/* Check that every value is exactly +1 or -1 (labels), naming the file and the first offending
 * index and value. PEGR_ERR_FORMAT when one is not. name may be NULL ("labels"). */
PEGR_API pegr_status pegr_array_check_labels(const pegr_array *a, const char *name,
                                             pegr_error *err);

/* Frees data, zeroes the struct; safe on a zeroed struct and on NULL. */
PEGR_API void pegr_array_free(pegr_array *a);

/* ---- Files ----------------------------------------------------------------------------------- */

/* "dir/name", malloc'ed (free it); NULL when out of memory. No length limit: nothing is cut. */
PEGR_API char *pegr_path_join(const char *dir, const char *name);

/* The most pegr_file_read_all reads: 64 MiB. Every file pegr reads this way is its own text
 * (sweep.args and sweep.canonical of a few KiB, a run's row.csv of under 1 KiB, a run's metrics
 * and summaries): the cap only stops a runaway read, it never bites a real file. */
#define PEGR_FILE_READ_MAX ((size_t)64 << 20)

/* Read a whole file; *data is malloc'ed (free it) with a terminating NUL not counted in *len. Only
 * a regular file (or a symbolic link to one) of at most PEGR_FILE_READ_MAX bytes is read: a FIFO,
 * a device such as /dev/zero or a directory is refused at once. PEGR_ERR_NOT_FOUND when nothing is
 * there, PEGR_ERR_IO for anything else wrong. */
PEGR_API pegr_status pegr_file_read_all(const char *path, char **data, size_t *len,
                                        pegr_error *err);

/* Write `len` bytes to path atomically: into "path.tmp.PID" first, then rename over path. On
 * failure nothing is left behind and an existing file at path is untouched. The temporary is
 * created new (O_EXCL | O_NOFOLLOW): a symlink or FIFO planted under its name is removed, never
 * written through or blocked on. */
PEGR_API pegr_status pegr_file_write_atomic(const char *path, const void *data, size_t len,
                                            pegr_error *err);

/* pegr_file_write_atomic of DIR/NAME: how every output file of pegr is written. */
PEGR_API pegr_status pegr_file_write_in(const char *dir, const char *name, const void *data,
                                        size_t len, pegr_error *err);

/* Create a directory and its parents (like mkdir -p); existing directories are fine. */
PEGR_API pegr_status pegr_mkdir_p(const char *path, pegr_error *err);

/* Remove path and, when it is a directory, everything below it (like rm -rf, without a shell).
 * Symbolic links are removed, never followed: nothing outside the tree is touched, even when an
 * entry is swapped for a link while the tree is removed. A path that does not exist is success. */
PEGR_API pegr_status pegr_remove_tree(const char *path, pegr_error *err);

/* ---- JSON ------------------------------------------------------------------------------------ */

/* A tiny JSON writer into a growable buffer: every JSON file pegr writes (config.json,
 * summary.json, loss.json, meta.json, `pegr devices --json`, `pegr check --json`) comes from it,
 * so a client that writes its own results with it gets the same number format. Commas and nesting
 * are tracked, strings escaped, non-finite numbers written as null.
 *
 * The caller owns the struct (usually on its stack): pegr_json_init, the calls below, then
 * pegr_json_free. Read `buf` (the NUL-terminated text so far, NULL before anything was written),
 * `len` and `failed` (out of memory at some point: the text is unusable and the write calls
 * refuse it); the other fields are the writer's state. Objects and arrays nest at most
 * PEGR_JSON_MAX_DEPTH deep; deeper nesting sets `failed`. One writer is used by one thread at a time. */
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

/* pretty: 1 for one item per line indented by two spaces per level, 0 for one line. */
PEGR_API void pegr_json_init(pegr_json *j, int pretty);
PEGR_API void pegr_json_free(pegr_json *j);
PEGR_API void pegr_json_begin_object(pegr_json *j);
PEGR_API void pegr_json_end_object(pegr_json *j);
PEGR_API void pegr_json_begin_array(pegr_json *j);
PEGR_API void pegr_json_end_array(pegr_json *j);
PEGR_API void pegr_json_key(pegr_json *j, const char *key);
PEGR_API void pegr_json_string(pegr_json *j, const char *s);
PEGR_API void pegr_json_number(pegr_json *j, double v); /* shortest round-trip form (%.17g) */
PEGR_API void pegr_json_uint(pegr_json *j, uint64_t v);
PEGR_API void pegr_json_bool(pegr_json *j, int v);
PEGR_API void pegr_json_null(pegr_json *j);
/* key + value shorthands */
PEGR_API void pegr_json_kv_string(pegr_json *j, const char *key, const char *s);
PEGR_API void pegr_json_kv_number(pegr_json *j, const char *key, double v);
PEGR_API void pegr_json_kv_uint(pegr_json *j, const char *key, uint64_t v);
PEGR_API void pegr_json_kv_bool(pegr_json *j, const char *key, int v);
/* Append text as it is (e.g. one compact object per line for a .jsonl file). */
PEGR_API void pegr_json_raw(pegr_json *j, const char *text);
/* Write the text (plus a newline) to path atomically (pegr_file_write_atomic). */
PEGR_API pegr_status pegr_json_write_file(const pegr_json *j, const char *path, pegr_error *err);
/* The same to DIR/NAME. */
PEGR_API pegr_status pegr_json_write_in(const pegr_json *j, const char *dir, const char *name,
                                        pegr_error *err);

#ifdef __cplusplus
}
#endif
#endif

/* npy.h: reading and writing NumPy .npy files (pegr's host-side array I/O), arrays held as C-order
 * double, plus the label check for y files. Plain C11, no dependencies besides libc/libm. */
#ifndef PEGR_NPY_H
#define PEGR_NPY_H

#include <stddef.h>

#include "pegr/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PEGR_NPY_MAX_DIMS 8

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
pegr_status pegr_npy_read(const char *path, pegr_array *out, pegr_error *err);

/* Same from a memory buffer (for fuzz-like tests); name is used in messages (NULL: "<memory>").
 * Never reads outside buf[0 .. len). */
pegr_status pegr_npy_read_mem(const void *buf, size_t len, const char *name, pegr_array *out,
                              pegr_error *err);

/* Write a C-order little-endian float64 (or float32, values rounded) array atomically: write to
 * "PATH.tmp.<pid>", fsync-free fflush+fclose check, then rename over PATH; on any failure remove
 * the temp file and leave PATH untouched. Format 1.0 header (2.0 if the header would not fit 65535
 * bytes), padded with spaces and a final '\n' so that the data starts at a multiple of 64 bytes
 * (NumPy's current rule, including its spare room for growing the first axis, so the header bytes
 * equal NumPy's). Every value must be finite (and, for float32, within float range): a file that
 * pegr_npy_read would reject is never written (PEGR_ERR_NONFINITE). data may be NULL when the
 * array has no elements. Bad arguments (NULL path, ndim outside 0..PEGR_NPY_MAX_DIMS, element count
 * overflow) give PEGR_ERR_INVALID_ARGUMENT. */
pegr_status pegr_npy_write(const char *path, const double *data, int ndim, const size_t *shape,
                           int as_float32, pegr_error *err);

/* pegr_npy_write of DIR/NAME: the one way the commands write their output arrays. */
pegr_status pegr_npy_write_in(const char *dir, const char *name, const double *data, int ndim,
                              const size_t *shape, int as_float32, pegr_error *err);

/* Check that every value is exactly +1 or -1 (labels), naming the file and the first offending
 * index and value. PEGR_ERR_FORMAT when one is not. name may be NULL ("labels"). */
pegr_status pegr_array_check_labels(const pegr_array *a, const char *name, pegr_error *err);

/* Frees data, zeroes the struct; safe on a zeroed struct and on NULL. */
void pegr_array_free(pegr_array *a);

#ifdef __cplusplus
}
#endif
#endif

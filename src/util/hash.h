/* hash.h: a 128-bit non-cryptographic hash (two independent 64-bit FNV-1a-style lanes) for cache
 * keys and checksums. Stable across machines and versions of pegr: changing it invalidates caches. */
#ifndef PEGR_HASH_H
#define PEGR_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct pegr_hash {
    uint64_t lo, hi;
} pegr_hash;

void pegr_hash_init(pegr_hash *h);
void pegr_hash_bytes(pegr_hash *h, const void *data, size_t len);
/* Hash a string with its length first, so ("ab","c") and ("a","bc") differ. */
void pegr_hash_field(pegr_hash *h, const char *s);
/* 32 lowercase hex digits and a NUL. */
void pegr_hash_hex(const pegr_hash *h, char out[33]);
/* The hash of a file's bytes (read in chunks: no size limit) as hex into out, its size into *bytes.
 * 0 when it cannot be read (errno says why; out and *bytes are then unspecified), else 1. */
int pegr_hash_file(const char *path, char out[33], size_t *bytes);

#endif

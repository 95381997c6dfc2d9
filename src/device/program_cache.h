/* program_cache.h: the on-disk cache of compiled OpenCL program binaries. A file holds a header
 * (magic, the key it was stored under, the binary's size, and a checksum over that header and the
 * binary) and the binary; anything that does not check out is reported and rebuilt, never trusted.
 * The directory may be writable by others: an entry is opened without following a symbolic link
 * or blocking on a FIFO, and accepted only as a regular file of this user below a size cap. */
#ifndef PEGR_PROGRAM_CACHE_H
#define PEGR_PROGRAM_CACHE_H

#include <stddef.h>

#include "pegr/pegr.h"

/* The cache directory in force, malloc'ed, or NULL when caching is off (PEGR_NO_CACHE=1) or no
 * directory can be named: $PEGR_CACHE_DIR, else $XDG_CACHE_HOME/pegr, else $HOME/.cache/pegr. */
char *pegr_cache_dir(void);

/* The key: a hash of the source, the build options, the device's name and version, the driver
 * version, and the platform's name and version. */
void pegr_cache_key(const char *source, const char *options, const pegr_device_info *device,
                    char key[33]);

/* The largest entry accepted (header + binary): far above any real program (PoCL's are ~100 KB,
 * GPU drivers' a few MB), far below what would exhaust memory. */
#define PEGR_CACHE_MAX_BYTES ((size_t)128 << 20)

typedef enum pegr_cache_result {
    PEGR_CACHE_HIT = 0,
    PEGR_CACHE_MISS = 1,    /* no file */
    /* a file that is corrupt, truncated, of an older format, stored under another key, over the
     * size cap, not a regular file (FIFO, device, symbolic link) or not this user's */
    PEGR_CACHE_INVALID = 2,
} pegr_cache_result;

/* Look the key up in dir. On a hit *binary (malloc'ed) and *size are set; on PEGR_CACHE_INVALID
 * `why` (may be NULL) says what was wrong with the file. Never blocks, never reads more than
 * PEGR_CACHE_MAX_BYTES. */
pegr_cache_result pegr_cache_load(const char *dir, const char *key, unsigned char **binary,
                                  size_t *size, pegr_error *why);
/* Create the cache directory: mode 0700 when it is new (it holds code the driver will load and
 * settings CLBlast will use), its parents as pegr_mkdir_p does. An existing one is fine. */
pegr_status pegr_cache_mkdir(const char *dir, pegr_error *err);
/* Store a binary under key (creating dir, mode 0700 when it is new; atomic write, so it replaces
 * whatever was there -- a FIFO or a symbolic link included -- without writing through it). */
pegr_status pegr_cache_store(const char *dir, const char *key, const unsigned char *binary,
                             size_t size, pegr_error *err);
/* The file a key is stored in, malloc'ed. */
char *pegr_cache_path(const char *dir, const char *key);

#endif

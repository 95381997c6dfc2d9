/* program_cache.h: the on-disk cache of compiled OpenCL program binaries. A file holds a header
 * (magic, the key it was stored under, the binary's size and checksum) and the binary; anything
 * that does not check out is reported as a miss and rebuilt, never trusted. */
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

typedef enum pegr_cache_result {
    PEGR_CACHE_HIT = 0,
    PEGR_CACHE_MISS = 1,    /* no file */
    PEGR_CACHE_INVALID = 2, /* a file that is corrupt, truncated or stored under another key */
} pegr_cache_result;

/* Look the key up in dir. On a hit *binary (malloc'ed) and *size are set. */
pegr_cache_result pegr_cache_load(const char *dir, const char *key, unsigned char **binary,
                                  size_t *size);
/* Store a binary under key (creating dir, atomic write). */
pegr_status pegr_cache_store(const char *dir, const char *key, const unsigned char *binary,
                             size_t size, pegr_error *err);
/* The file a key is stored in, malloc'ed. */
char *pegr_cache_path(const char *dir, const char *key);

#endif

/* program_cache.c: see program_cache.h. */
#include "device/program_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fsutil.h"
#include "util/hash.h"
#include "util/safe_open.h"

/* Format 2: the checksum covers the header (magic, key, size) as well as the binary, so an entry
 * whose key field was rewritten no longer checks out (format 1's covered the binary only). Files
 * of format 1 fail the magic and are rebuilt. */
static const char MAGIC[8] = {'P', 'E', 'G', 'R', 'B', 'I', 'N', '2'};
/* magic (8) + key (32 hex) + size (8, little-endian) + checksum (32 hex) */
#define SUMMED_HEADER (8 + 32 + 8)
#define HEADER_SIZE (SUMMED_HEADER + 32)

char *pegr_cache_dir(void)
{
    const char *off = getenv("PEGR_NO_CACHE");
    if (off && *off && strcmp(off, "0") != 0) return NULL;
    const char *dir = getenv("PEGR_CACHE_DIR");
    if (dir && *dir) return strdup(dir);
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return pegr_path_join(xdg, "pegr");
    const char *home = getenv("HOME");
    if (home && *home) return pegr_path_join(home, ".cache/pegr");
    return NULL;
}

void pegr_cache_key(const char *source, const char *options, const pegr_device_info *device,
                    char key[33])
{
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_field(&h, "pegr-program-cache-v2");
    pegr_hash_field(&h, source);
    pegr_hash_field(&h, options);
    pegr_hash_field(&h, device->name);
    pegr_hash_field(&h, device->version);
    pegr_hash_field(&h, device->driver_version);
    pegr_hash_field(&h, device->platform_name);
    pegr_hash_field(&h, device->platform_version);
    pegr_hash_hex(&h, key);
}

/* The checksum of an entry: over its first SUMMED_HEADER bytes (magic, key, size) and the binary. */
static void checksum(const unsigned char *header, const unsigned char *binary, size_t size,
                     char out[33])
{
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_bytes(&h, header, SUMMED_HEADER);
    pegr_hash_bytes(&h, binary, size);
    pegr_hash_hex(&h, out);
}

char *pegr_cache_path(const char *dir, const char *key)
{
    char name[48];
    snprintf(name, sizeof name, "%s.bin", key);
    return pegr_path_join(dir, name);
}

/* Why an entry was refused, for the log. */
static void invalid(pegr_error *why, const char *path, const char *what)
{
    pegr_error_set(why, PEGR_ERR_FORMAT, "'%s': %s", path, what);
}

pegr_cache_result pegr_cache_load(const char *dir, const char *key, unsigned char **binary,
                                  size_t *size, pegr_error *why)
{
    *binary = NULL;
    *size = 0;
    char *path = pegr_cache_path(dir, key);
    if (!path) return PEGR_CACHE_MISS;
    char *data = NULL;
    size_t len = 0;
    /* No symbolic link, FIFO or device, nothing of another user, nothing over the cap. */
    pegr_error err = {0};
    pegr_status s = pegr_safe_read_file(path, PEGR_SAFE_OWN, PEGR_CACHE_MAX_BYTES, &data, &len,
                                        &err);
    pegr_cache_result result = PEGR_CACHE_INVALID;
    if (s == PEGR_ERR_NOT_FOUND) {
        result = PEGR_CACHE_MISS;
    } else if (s != PEGR_OK) {
        pegr_error_set(why, s, "%s", pegr_error_message(&err));
    } else if (len < HEADER_SIZE) {
        invalid(why, path, "shorter than an entry's header");
    } else if (memcmp(data, MAGIC, 8) != 0) {
        invalid(why, path, "not an entry of this cache format");
    } else if (memcmp(data + 8, key, 32) != 0) {
        invalid(why, path, "stored under another key");
    } else {
        const unsigned char *u = (const unsigned char *)data;
        uint64_t stored = 0;
        for (int i = 0; i < 8; i++) stored |= (uint64_t)u[40 + i] << (8 * i);
        char sum[33] = "";
        if (stored != 0 && stored == len - HEADER_SIZE)
            checksum(u, u + HEADER_SIZE, (size_t)stored, sum);
        if (stored == 0 || stored != len - HEADER_SIZE) {
            invalid(why, path, "truncated or padded: its size field does not match the file");
        } else if (memcmp(sum, data + 48, 32) != 0) {
            invalid(why, path, "checksum mismatch (corrupt or altered)");
        } else if ((*binary = malloc((size_t)stored)) != NULL) {
            memcpy(*binary, data + HEADER_SIZE, (size_t)stored);
            *size = (size_t)stored;
            result = PEGR_CACHE_HIT;
        } else {
            invalid(why, path, "out of memory loading it");
        }
    }
    pegr_error_clear(&err);
    free(path);
    free(data);
    return result;
}

pegr_status pegr_cache_mkdir(const char *dir, pegr_error *err)
{
    if (mkdir(dir, 0700) == 0) return PEGR_OK;
    if (errno == ENOENT) {
        /* The parents first (default mode), then the directory itself, private. */
        char *parent = strdup(dir);
        if (!parent) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
        char *slash = strrchr(parent, '/');
        pegr_status s = PEGR_OK;
        if (slash && slash != parent) {
            *slash = '\0';
            s = pegr_mkdir_p(parent, err);
        }
        free(parent);
        if (s != PEGR_OK) return s;
        if (mkdir(dir, 0700) == 0) return PEGR_OK;
    }
    /* EEXIST (or anything else): pegr_mkdir_p checks it is a directory and names the problem. */
    return pegr_mkdir_p(dir, err);
}

pegr_status pegr_cache_store(const char *dir, const char *key, const unsigned char *binary,
                             size_t size, pegr_error *err)
{
    pegr_status s = pegr_cache_mkdir(dir, err);
    if (s != PEGR_OK) return s;
    unsigned char *file = malloc(HEADER_SIZE + size);
    char *path = pegr_cache_path(dir, key);
    if (!file || !path) {
        free(file);
        free(path);
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory writing the cache");
    }
    memcpy(file, MAGIC, 8);
    memcpy(file + 8, key, 32);
    for (int i = 0; i < 8; i++) file[40 + i] = (unsigned char)((uint64_t)size >> (8 * i));
    char sum[33];
    checksum(file, binary, size, sum);
    memcpy(file + 48, sum, 32);
    memcpy(file + HEADER_SIZE, binary, size);
    s = pegr_file_write_atomic(path, file, HEADER_SIZE + size, err);
    free(file);
    free(path);
    return s;
}

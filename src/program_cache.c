/* program_cache.c: see program_cache.h. */
#include "program_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "hash.h"

static const char MAGIC[8] = {'P', 'E', 'G', 'R', 'B', 'I', 'N', '1'};
/* magic (8) + key (32 hex) + size (8, little-endian) + checksum (32 hex) */
#define HEADER_SIZE (8 + 32 + 8 + 32)

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
    pegr_hash_field(&h, "pegr-program-cache-v1");
    pegr_hash_field(&h, source);
    pegr_hash_field(&h, options);
    pegr_hash_field(&h, device->name);
    pegr_hash_field(&h, device->version);
    pegr_hash_field(&h, device->driver_version);
    pegr_hash_field(&h, device->platform_name);
    pegr_hash_field(&h, device->platform_version);
    pegr_hash_hex(&h, key);
}

static void checksum(const unsigned char *data, size_t size, char out[33])
{
    pegr_hash h;
    pegr_hash_init(&h);
    pegr_hash_bytes(&h, data, size);
    pegr_hash_hex(&h, out);
}

char *pegr_cache_path(const char *dir, const char *key)
{
    char name[48];
    snprintf(name, sizeof name, "%s.bin", key);
    return pegr_path_join(dir, name);
}

pegr_cache_result pegr_cache_load(const char *dir, const char *key, unsigned char **binary,
                                  size_t *size)
{
    *binary = NULL;
    *size = 0;
    char *path = pegr_cache_path(dir, key);
    if (!path) return PEGR_CACHE_MISS;
    char *data = NULL;
    size_t len = 0;
    pegr_status s = pegr_file_read_all(path, &data, &len, NULL);
    free(path);
    if (s != PEGR_OK) return PEGR_CACHE_MISS;

    pegr_cache_result result = PEGR_CACHE_INVALID;
    if (len >= HEADER_SIZE && memcmp(data, MAGIC, 8) == 0 && memcmp(data + 8, key, 32) == 0) {
        uint64_t stored = 0;
        for (int i = 0; i < 8; i++) stored |= (uint64_t)(unsigned char)data[40 + i] << (8 * i);
        if (stored == len - HEADER_SIZE && stored > 0) {
            char sum[33];
            checksum((unsigned char *)data + HEADER_SIZE, (size_t)stored, sum);
            if (memcmp(sum, data + 48, 32) == 0) {
                *binary = malloc((size_t)stored);
                if (*binary) {
                    memcpy(*binary, data + HEADER_SIZE, (size_t)stored);
                    *size = (size_t)stored;
                    result = PEGR_CACHE_HIT;
                }
            }
        }
    }
    free(data);
    return result;
}

pegr_status pegr_cache_store(const char *dir, const char *key, const unsigned char *binary,
                             size_t size, pegr_error *err)
{
    pegr_status s = pegr_mkdir_p(dir, err);
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
    checksum(binary, size, sum);
    memcpy(file + 48, sum, 32);
    memcpy(file + HEADER_SIZE, binary, size);
    s = pegr_file_write_atomic(path, file, HEADER_SIZE + size, err);
    free(file);
    free(path);
    return s;
}

/* hash.c: see hash.h. Lane lo is FNV-1a 64; lane hi is FNV-1a 64 from another offset with a final
 * avalanche (splitmix64's finalizer), so the two lanes do not collide together. */
#include "util/hash.h"

#include <stdio.h>
#include <string.h>

#define FNV_PRIME 0x100000001b3ULL

void pegr_hash_init(pegr_hash *h)
{
    h->lo = 0xcbf29ce484222325ULL;
    h->hi = 0x84222325cbf29ce4ULL;
}

void pegr_hash_bytes(pegr_hash *h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h->lo = (h->lo ^ p[i]) * FNV_PRIME;
        h->hi = (h->hi ^ (uint64_t)(p[i] + 0x9e)) * FNV_PRIME;
        h->hi ^= h->hi >> 29;
    }
}

void pegr_hash_field(pegr_hash *h, const char *s)
{
    uint64_t len = s ? strlen(s) : 0;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(len >> (8 * i));
    pegr_hash_bytes(h, le, sizeof le);
    if (len) pegr_hash_bytes(h, s, (size_t)len);
}

static uint64_t avalanche(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int pegr_hash_file(const char *path, char out[33], size_t *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    pegr_hash h;
    pegr_hash_init(&h);
    unsigned char buf[65536];
    size_t got;
    *bytes = 0;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        pegr_hash_bytes(&h, buf, got);
        *bytes += got;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) return 0;
    pegr_hash_hex(&h, out);
    return 1;
}

void pegr_hash_hex(const pegr_hash *h, char out[33])
{
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h->lo,
             (unsigned long long)avalanche(h->hi));
}

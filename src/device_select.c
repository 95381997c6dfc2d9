/* device_select.c: choose a device from a list by a spec string. Pure (no OpenCL calls), so tests
 * can drive it with a fake list. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/pegr.h"

const char *pegr_device_type_name(pegr_device_type type)
{
    switch (type) {
    case PEGR_DEVICE_TYPE_CPU: return "cpu";
    case PEGR_DEVICE_TYPE_GPU: return "gpu";
    case PEGR_DEVICE_TYPE_ACCELERATOR: return "accelerator";
    default: return "other";
    }
}

const char *pegr_device_spec_effective(const char *flag_spec)
{
    if (flag_spec && *flag_spec) return flag_spec;
    const char *env = getenv("PEGR_DEVICE");
    if (env && *env) return env;
    return NULL;
}

static int contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle), h = strlen(haystack);
    for (size_t i = 0; i + n <= h; i++) {
        size_t k = 0;
        while (k < n && tolower((unsigned char)haystack[i + k]) == tolower((unsigned char)needle[k]))
            k++;
        if (k == n) return 1;
    }
    return 0;
}

static int equals_nocase(const char *a, const char *b)
{
    return strlen(a) == strlen(b) && contains_nocase(a, b);
}

/* Parse a whole string as a non-negative decimal integer. */
static int parse_index(const char *s, size_t *out)
{
    if (!*s) return 0;
    size_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s)) return 0;
        if (v > (SIZE_MAX - 9) / 10) return 0;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static int parse_pair(const char *s, size_t *p, size_t *d)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || strchr(colon + 1, ':')) return 0;
    char left[32];
    size_t len = (size_t)(colon - s);
    if (len >= sizeof left) return 0;
    memcpy(left, s, len);
    left[len] = '\0';
    return parse_index(left, p) && parse_index(colon + 1, d);
}

static int first_of_type(const pegr_device_info *list, size_t count, pegr_device_type t, size_t *out)
{
    for (size_t i = 0; i < count; i++)
        if (list[i].type == t) { *out = i; return 1; }
    return 0;
}

/* The message for a spec that matched nothing lists every device with its index. */
static pegr_status no_match(const pegr_device_info *list, size_t count, const char *spec,
                            const char *why, pegr_error *err)
{
    size_t cap = 256 + count * (3 * PEGR_INFO_STR + 64);
    char *msg = malloc(cap);
    if (!msg) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
    size_t used = (size_t)snprintf(msg, cap,
                                   "device spec '%s' %s. Use an index, P:D, cpu, gpu, accelerator "
                                   "or part of a name. Devices:", spec, why);
    for (size_t i = 0; i < count && used < cap; i++)
        used += (size_t)snprintf(msg + used, cap - used, "\n  %zu  (%zu:%zu)  %s  [%s, %s]", i,
                                 list[i].platform_index, list[i].device_index, list[i].name,
                                 pegr_device_type_name(list[i].type), list[i].platform_name);
    pegr_status s = pegr_error_set(err, PEGR_ERR_NO_DEVICE, "%s", msg);
    free(msg);
    return s;
}

pegr_status pegr_device_select(const pegr_device_info *list, size_t count, const char *spec,
                               size_t *chosen, pegr_error *err)
{
    if (count == 0) return pegr_error_set(err, PEGR_ERR_NO_DEVICE, "there is no OpenCL device");
    if (!spec || !*spec) {
        /* The default: the first GPU, else accelerator, else CPU, else whatever comes first. */
        if (first_of_type(list, count, PEGR_DEVICE_TYPE_GPU, chosen)) return PEGR_OK;
        if (first_of_type(list, count, PEGR_DEVICE_TYPE_ACCELERATOR, chosen)) return PEGR_OK;
        if (first_of_type(list, count, PEGR_DEVICE_TYPE_CPU, chosen)) return PEGR_OK;
        *chosen = 0;
        return PEGR_OK;
    }
    size_t a, b;
    if (parse_index(spec, &a)) {
        if (a < count) { *chosen = a; return PEGR_OK; }
        return no_match(list, count, spec, "is past the last device index", err);
    }
    if (parse_pair(spec, &a, &b)) {
        for (size_t i = 0; i < count; i++)
            if (list[i].platform_index == a && list[i].device_index == b) { *chosen = i; return PEGR_OK; }
        return no_match(list, count, spec, "names no platform:device pair", err);
    }
    static const struct { const char *word; pegr_device_type type; } types[] = {
        {"cpu", PEGR_DEVICE_TYPE_CPU},
        {"gpu", PEGR_DEVICE_TYPE_GPU},
        {"accelerator", PEGR_DEVICE_TYPE_ACCELERATOR},
    };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        if (!equals_nocase(spec, types[t].word)) continue;
        if (first_of_type(list, count, types[t].type, chosen)) return PEGR_OK;
        return no_match(list, count, spec, "asks for a device type that is not present", err);
    }
    /* A name substring: the device's name first, then its vendor, then the platform's name. */
    for (size_t i = 0; i < count; i++)
        if (contains_nocase(list[i].name, spec)) { *chosen = i; return PEGR_OK; }
    for (size_t i = 0; i < count; i++)
        if (contains_nocase(list[i].vendor, spec) || contains_nocase(list[i].platform_name, spec) ||
            contains_nocase(list[i].platform_vendor, spec)) {
            *chosen = i;
            return PEGR_OK;
        }
    return no_match(list, count, spec, "matches no device", err);
}

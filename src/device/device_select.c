/* device_select.c: choose a device from a list by a spec string. Pure (no OpenCL calls), so tests
 * can drive it with a fake list. */
#include <ctype.h>
#include <stdarg.h>
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

int pegr_device_is_simulator(const pegr_device_info *device)
{
    /* Oclgrind reports itself as a GPU ("Oclgrind Simulator" on platform "Oclgrind"). */
    return contains_nocase(device->name, "oclgrind") ||
           contains_nocase(device->platform_name, "oclgrind") ||
           contains_nocase(device->name, "simulator");
}

/* The default rule's classes, best first: a simulator is a correctness tool far slower than any
 * CPU driver; a discrete GPU has its own memory and usually far more bandwidth than an integrated
 * one that shares the host's. */
typedef enum device_class {
    CLASS_DISCRETE_GPU,
    CLASS_INTEGRATED_GPU,
    CLASS_ACCELERATOR,
    CLASS_CPU,
    CLASS_SIMULATOR,
    CLASS_OTHER,
    CLASS_COUNT
} device_class;

static const char *const CLASS_NAMES[CLASS_COUNT] = {
    "a discrete GPU", "an integrated GPU (host-unified memory)", "an accelerator", "a CPU",
    "a simulator", "a device of another type"};

static device_class class_of(const pegr_device_info *d)
{
    if (pegr_device_is_simulator(d)) return CLASS_SIMULATOR;
    switch (d->type) {
    case PEGR_DEVICE_TYPE_GPU: return d->host_unified_memory ? CLASS_INTEGRATED_GPU : CLASS_DISCRETE_GPU;
    case PEGR_DEVICE_TYPE_ACCELERATOR: return CLASS_ACCELERATOR;
    case PEGR_DEVICE_TYPE_CPU: return CLASS_CPU;
    default: return CLASS_OTHER;
    }
}

/* Append to a reason buffer (a no-op without one; truncation is fine for a log line). */
static void reason_add(char *reason, size_t size, const char *fmt, ...)
{
    if (!reason || size == 0) return;
    size_t used = strlen(reason);
    if (used + 1 >= size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason + used, size - used, fmt, ap);
    va_end(ap);
}

/* The default rule: the best class (with fp64 wanted and present somewhere, every device without
 * it ranks below every device with it), the first in list order among equals. */
static size_t pick_default(const pegr_device_info *list, size_t count, int need_fp64, char *reason,
                           size_t reason_size)
{
    int any_fp64 = 0;
    for (size_t i = 0; i < count; i++) any_fp64 |= list[i].fp64 != 0;
    int fp64_first = need_fp64 && any_fp64;
    size_t best = 0;
    int best_rank = 2 * CLASS_COUNT;
    for (size_t i = 0; i < count; i++) {
        int rank = (int)class_of(&list[i]) + (fp64_first && !list[i].fp64 ? CLASS_COUNT : 0);
        if (rank < best_rank) { best_rank = rank; best = i; }
    }
    reason_add(reason, reason_size,
               "default device %zu '%s' (%zu:%zu): %s; the default takes a discrete GPU, then an "
               "integrated GPU, an accelerator, a CPU, a simulator%s",
               best, list[best].name, list[best].platform_index, list[best].device_index,
               CLASS_NAMES[class_of(&list[best])],
               fp64_first ? ", a device with fp64 first as fp64 was asked for" : "");
    if (need_fp64 && !any_fp64) reason_add(reason, reason_size, " (fp64 was asked for, but no device has it)");
    const char *sep = "; also there:";
    for (size_t i = 0; i < count; i++) {
        if (i == best) continue;
        reason_add(reason, reason_size, "%s %zu '%s' (%s%s)", sep, i, list[i].name,
                   CLASS_NAMES[class_of(&list[i])], fp64_first && !list[i].fp64 ? ", no fp64" : "");
        sep = ",";
    }
    return best;
}

/* The best device of a type by the default rule's classes ("gpu": a real GPU before Oclgrind,
 * discrete before integrated), the first in list order among equals. */
static int best_of_type(const pegr_device_info *list, size_t count, pegr_device_type t, size_t *out)
{
    int found = 0;
    for (size_t i = 0; i < count; i++)
        if (list[i].type == t && (!found || class_of(&list[i]) < class_of(&list[*out]))) {
            *out = i;
            found = 1;
        }
    return found;
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

static pegr_status select_by_spec(const pegr_device_info *list, size_t count, const char *spec,
                                  size_t *chosen, pegr_error *err);

pegr_status pegr_device_select(const pegr_device_info *list, size_t count, const char *spec,
                               size_t *chosen, pegr_error *err)
{
    return pegr_device_select_for(list, count, spec, 0, chosen, NULL, 0, err);
}

pegr_status pegr_device_select_for(const pegr_device_info *list, size_t count, const char *spec,
                                   int need_fp64, size_t *chosen, char *reason, size_t reason_size,
                                   pegr_error *err)
{
    if (reason && reason_size) reason[0] = '\0';
    if (count == 0) return pegr_error_set(err, PEGR_ERR_NO_DEVICE, "there is no OpenCL device");
    if (!spec || !*spec) {
        *chosen = pick_default(list, count, need_fp64, reason, reason_size);
        return PEGR_OK;
    }
    /* A spec is the user's choice: it is followed as written (fp64 is checked where it is used). */
    pegr_status s = select_by_spec(list, count, spec, chosen, err);
    if (s == PEGR_OK)
        reason_add(reason, reason_size, "device %zu '%s' (%zu:%zu): named by the device spec '%s'",
                   *chosen, list[*chosen].name, list[*chosen].platform_index,
                   list[*chosen].device_index, spec);
    return s;
}

static pegr_status select_by_spec(const pegr_device_info *list, size_t count, const char *spec,
                                  size_t *chosen, pegr_error *err)
{
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
        if (best_of_type(list, count, types[t].type, chosen)) return PEGR_OK;
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

/* kernel_source.c: load a kernel's source text, embedded or from $PEGR_KERNEL_DIR. */
#include "device/kernel_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"
#include "util/safe_open.h"

static pegr_status with_line_directive(const char *name, const char *body, size_t len, char **text,
                                       pegr_error *err)
{
    size_t cap = strlen(name) + len + 32;
    char *out = malloc(cap);
    if (!out) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory loading '%s'", name);
    int head = snprintf(out, cap, "#line 1 \"%s\"\n", name);
    memcpy(out + head, body, len);
    out[(size_t)head + len] = '\0';
    *text = out;
    return PEGR_OK;
}

pegr_status pegr_kernel_source_load(const char *name, char **text, pegr_error *err)
{
    *text = NULL;
    const char *dir = getenv("PEGR_KERNEL_DIR");
    if (dir && *dir) {
        char *path = pegr_path_join(dir, name);
        if (!path) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
        char *body = NULL;
        size_t len = 0;
        /* Symbolic links are followed (a kernel checkout may use them), but only to a regular
         * file under the cap. */
        pegr_status s = pegr_safe_read_file(path, PEGR_SAFE_FOLLOW, PEGR_KERNEL_FILE_MAX_BYTES,
                                            &body, &len, err);
        if (s != PEGR_OK)
            pegr_error_prefix(err, "PEGR_KERNEL_DIR is set to '%s' but kernel '%s' could not be read",
                              dir, name);
        else
            s = with_line_directive(name, body, len, text, err);
        free(body);
        free(path);
        return s;
    }
    for (size_t i = 0; i < pegr_embedded_kernel_count; i++)
        if (strcmp(pegr_embedded_kernels[i].name, name) == 0)
            return with_line_directive(name, pegr_embedded_kernels[i].source,
                                       strlen(pegr_embedded_kernels[i].source), text, err);
    return pegr_error_set(err, PEGR_ERR_NOT_FOUND, "no kernel file '%s' is embedded in libpegr", name);
}

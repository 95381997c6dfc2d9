/* backend_open.c: see backend_open.h. */
#include "backend_open.h"

#include <stdio.h>
#include <string.h>

#include "host_ref.h"

pegr_status pegr_backend_open(const char *spec, pegr_precision precision, pegr_log_fn log,
                              pegr_backend **out, char *desc, size_t desc_len, pegr_error *err)
{
    (void)log;
    *out = NULL;
    spec = pegr_device_spec_effective(spec);
    if (spec && strcmp(spec, "host") == 0) {
        *out = pegr_host_backend_create(err);
        if (!*out) return err ? err->status : PEGR_ERR_NO_MEMORY;
        (*out)->precision_name = "fp64";
        snprintf(desc, desc_len, "host reference (plain C, fp64)");
        return PEGR_OK;
    }
    (void)precision;
    return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                          "the OpenCL engine is not available in this build yet; use --device host");
}

const char *pegr_backend_precision_name(const pegr_backend *b)
{
    return b->precision_name ? b->precision_name : "fp64";
}

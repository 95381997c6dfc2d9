/* backend_open.c: see backend_open.h. */
#include "api/backend_open.h"

#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "host/host_ref.h"

static pegr_status open_host(pegr_backend **out, char *desc, size_t desc_len, pegr_error *err)
{
    *out = pegr_host_backend_create(err);
    if (!*out) return err ? err->status : PEGR_ERR_NO_MEMORY;
    (*out)->precision_name = "fp64";
    snprintf(desc, desc_len, "host reference (plain C, fp64)");
    return PEGR_OK;
}

pegr_status pegr_backend_open(const char *spec, pegr_precision precision, pegr_log_fn log,
                              pegr_backend **out, char *desc, size_t desc_len, pegr_error *err)
{
    *out = NULL;
    spec = pegr_device_spec_effective(spec);
    if (spec && strcmp(spec, "host") == 0) return open_host(out, desc, desc_len, err);

    pegr_device_info *list = NULL;
    size_t count = 0, chosen = 0;
    char reason[1024];
    pegr_status s = pegr_device_list(&list, &count, err);
    if (s == PEGR_OK)
        s = pegr_device_select_for(list, count, spec, precision == PEGR_FP64, &chosen, reason,
                                   sizeof reason, err);
    pegr_context *ctx = NULL;
    if (s == PEGR_OK) {
        if (log) log(NULL, PEGR_LOG_INFO, reason);
        pegr_context_options copts = {0};
        copts.log = log;
        s = pegr_context_create(&list[chosen], &copts, &ctx, err);
    }
    if (s == PEGR_OK) {
        snprintf(desc, desc_len, "device %zu: %s (%s, %s)", list[chosen].index, list[chosen].name,
                 pegr_device_type_name(list[chosen].type), list[chosen].platform_name);
        pegr_engine_options eopts = {0};
        eopts.precision = precision;
        *out = pegr_engine_create(ctx, &eopts, err); /* owns ctx from here on */
        if (!*out) s = err ? err->status : PEGR_ERR_INTERNAL;
    }
    pegr_device_list_free(list);
    return s;
}

pegr_status pegr_backend_check_request(const char *spec, const char *precision,
                                       const char *representation, pegr_error *err)
{
    spec = pegr_device_spec_effective(spec);
    if (!spec || strcmp(spec, "host") != 0) return PEGR_OK; /* a device: the engine checks fp64 */
    if (precision && strcmp(precision, "fp64") != 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "--precision %s is not available on --device host: the host "
                              "reference computes in fp64 only; drop --precision (or give fp64), "
                              "or use an OpenCL device (e.g. --device cpu) for %s", precision,
                              precision);
    if (representation && strcmp(representation, "span") == 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "--representation span is not available on --device host: the host "
                              "reference trains in the primal form only; use --representation "
                              "primal (or auto), or an OpenCL device (e.g. --device cpu) for span");
    return PEGR_OK;
}

const char *pegr_backend_precision_name(const pegr_backend *b)
{
    return b->precision_name ? b->precision_name : "fp64";
}

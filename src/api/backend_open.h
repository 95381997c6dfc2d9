/* backend_open.h: open a compute backend by device spec: "host" is the plain-C reference, anything
 * else (or nothing) an OpenCL device chosen by pegr_device_select's rules. */
#ifndef PEGR_BACKEND_OPEN_H
#define PEGR_BACKEND_OPEN_H

#include <stddef.h>

#include "backend/backend.h"
#include "pegr/pegr.h"

/* spec: "host", a device spec, or NULL/"" ($PEGR_DEVICE, else the default device). OUT: *out, and
 * a one-line description of what was opened in desc. The host reference computes in fp64 whatever
 * `precision` says; pegr_backend_precision_name tells what was used. */
pegr_status pegr_backend_open(const char *spec, pegr_precision precision, pegr_log_fn log,
                              pegr_backend **out, char *desc, size_t desc_len, pegr_error *err);

/* Refuse, before anything is opened, what the backend `spec` names cannot do rather than doing
 * something else: the host reference computes in fp64 and in the primal form only. precision:
 * "fp32"/"fp64" as the user asked, NULL when not asked (then each backend uses its own);
 * representation: "span" is refused on the host (NULL, "auto" and "primal" are fine).
 * PEGR_ERR_INVALID_ARGUMENT naming the option and what to use instead. */
pegr_status pegr_backend_check_request(const char *spec, const char *precision,
                                       const char *representation, pegr_error *err);

/* "fp32" or "fp64". */
const char *pegr_backend_precision_name(const pegr_backend *b);

#endif

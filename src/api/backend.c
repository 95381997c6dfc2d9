/* backend.c: the public backend calls of pegr/backend.h -- opening the host reference or the OpenCL
 * engine by spec, and the wrappers that forward each call through the backend's function table
 * (backend_impl.h), answering for the optional entries a backend does not have. */
#include <stdio.h>
#include <string.h>

#include "backend/backend_impl.h"
#include "engine/engine.h"
#include "host/host_ref.h"

void pegr_backend_options_default(pegr_backend_options *o)
{
    memset(o, 0, sizeof *o);
    o->precision = PEGR_FP32;
    o->gemm = PEGR_GEMM_AUTO;
}

static pegr_status open_host(const pegr_backend_options *o, pegr_backend **out, pegr_error *err)
{
    if (o->precision_set && o->precision != PEGR_FP64)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "precision %s is not available on the host reference: it computes "
                              "in fp64 only; ask for fp64 (or nothing), or open an OpenCL device",
                              pegr_precision_name(o->precision));
    *out = pegr_host_backend_create(err);
    if (!*out) return err ? err->status : PEGR_ERR_NO_MEMORY;
    (*out)->precision_name = "fp64";
    snprintf((*out)->description, sizeof (*out)->description, "host reference (plain C, fp64)");
    return PEGR_OK;
}

pegr_status pegr_backend_open(const char *spec, const pegr_backend_options *options,
                              pegr_backend **out, pegr_error *err)
{
    pegr_backend_options o;
    if (options) o = *options;
    else pegr_backend_options_default(&o);
    *out = NULL;
    spec = pegr_device_spec_effective(spec);
    if (spec && strcmp(spec, "host") == 0) return open_host(&o, out, err);

    pegr_context_options copts = {0};
    copts.profiling = o.profiling;
    copts.max_work_group_size = o.max_work_group_size;
    copts.log = o.log;
    copts.log_user = o.log_user;
    pegr_context *ctx = NULL;
    pegr_status s = pegr_context_open(spec, o.precision == PEGR_FP64, &copts, &ctx, err);
    if (s != PEGR_OK) return s;
    const pegr_device_info *dev = pegr_context_device(ctx); /* the context's copy */
    pegr_engine_options eopts = {0};
    eopts.precision = o.precision;
    eopts.gemm = o.gemm;
    eopts.memory_fraction = o.memory_fraction;
    eopts.per_example_chunk = o.per_example_chunk;
    *out = pegr_engine_create(ctx, &eopts, err); /* owns ctx from here on */
    if (!*out) return err && err->status != PEGR_OK ? err->status : PEGR_ERR_INTERNAL;
    int len = snprintf(NULL, 0, "device %zu: %s (%s, %s)", dev->index, dev->name,
                       pegr_device_type_name(dev->type), dev->platform_name);
    if (len >= (int)sizeof (*out)->description) len = (int)sizeof (*out)->description - 1;
    snprintf((*out)->description, (size_t)len + 1, "device %zu: %s (%s, %s)", dev->index, dev->name,
             pegr_device_type_name(dev->type), dev->platform_name);
    return PEGR_OK;
}

void pegr_backend_close(pegr_backend *b)
{
    if (b) b->ops->destroy(b);
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

const char *pegr_backend_name(const pegr_backend *b) { return b->ops->name; }
const char *pegr_backend_description(const pegr_backend *b) { return b->description; }

const char *pegr_backend_precision_name(const pegr_backend *b)
{
    return b->precision_name ? b->precision_name : "fp64";
}

pegr_context *pegr_backend_context(pegr_backend *b)
{
    return b->ops->context ? b->ops->context(b) : NULL;
}

const pegr_device_info *pegr_backend_device(const pegr_backend *b)
{
    pegr_context *ctx = b->ops->context ? b->ops->context((pegr_backend *)b) : NULL;
    return ctx ? pegr_context_device(ctx) : NULL;
}

const char *pegr_backend_gemm_name(const pegr_backend *b)
{
    return b->ops->gemm_name ? b->ops->gemm_name(b) : "host";
}

int pegr_backend_can_batch(const pegr_backend *b) { return b->ops->set_runs != NULL; }

pegr_status pegr_backend_set_runs(pegr_backend *b, size_t runs, pegr_error *err)
{
    if (b->ops->set_runs) return b->ops->set_runs(b, runs, err);
    if (runs == 1) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                          "the %s backend trains one run at a time (asked for %zu together); open "
                          "an OpenCL device for batched runs", b->ops->name, runs);
}

pegr_status pegr_backend_set_representation(pegr_backend *b, pegr_representation representation,
                                            pegr_error *err)
{
    if (representation != PEGR_REPRESENTATION_PRIMAL && representation != PEGR_REPRESENTATION_SPAN)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "representation must be primal or span here (auto is decided by a "
                              "training run), got %d", (int)representation);
    int span = representation == PEGR_REPRESENTATION_SPAN;
    if (b->ops->set_representation) return b->ops->set_representation(b, span, err);
    if (!span) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_UNSUPPORTED,
                          "the %s backend trains in the primal form only; use primal, or an "
                          "OpenCL device for span", b->ops->name);
}

pegr_status pegr_backend_set_data(pegr_backend *b, const double *X, const double *y, size_t n,
                                  size_t P, size_t d, pegr_error *err)
{
    return b->ops->set_data(b, X, y, n, P, d, err);
}

pegr_status pegr_backend_set_weights(pegr_backend *b, const double *W, size_t m, pegr_error *err)
{
    return b->ops->set_weights(b, W, m, err);
}

pegr_status pegr_backend_set_reference(pegr_backend *b, const pegr_reference *ref, pegr_error *err)
{
    return b->ops->set_reference(b, ref, err);
}

/* SGD is a training schedule (gd with per-example weights), not an objective a backend computes. */
static pegr_status check_request_method(const pegr_eval_request *req, pegr_error *err)
{
    if (req->method == PEGR_METHOD_GD || req->method == PEGR_METHOD_PEGR ||
        req->method == PEGR_METHOD_GR)
        return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                          "a backend evaluates gd, pegr or gr (got method %d%s); sgd is gd with "
                          "per-example weights (the request's weights), sam is "
                          "pegr_backend_sam_step", (int)req->method,
                          req->method == PEGR_METHOD_SGD   ? ", sgd"
                          : req->method == PEGR_METHOD_SAM ? ", sam"
                                                           : "");
}

pegr_status pegr_backend_evaluate(pegr_backend *b, const pegr_eval_request *req, pegr_error *err)
{
    pegr_status s = check_request_method(req, err);
    return s != PEGR_OK ? s : b->ops->evaluate(b, req, err);
}

pegr_status pegr_backend_step(pegr_backend *b, const pegr_eval_request *req, double lr,
                              pegr_error *err)
{
    pegr_status s = check_request_method(req, err);
    return s != PEGR_OK ? s : b->ops->step(b, req, lr, err);
}

pegr_status pegr_backend_sam_step(pegr_backend *b, const pegr_eval_request *req, double lr,
                                  double rho, const double *run_rho, pegr_error *err)
{
    if (req->method != PEGR_METHOD_GD)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "SAM steps on L: the request's method must be gd (got %s)",
                              pegr_method_name(req->method) ? pegr_method_name(req->method)
                                                            : "an unknown method");
    if (!b->ops->sam_step)
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED, "the %s backend has no SAM step",
                              b->ops->name);
    return b->ops->sam_step(b, req, lr, rho, run_rho, err);
}

pegr_status pegr_backend_set_sam_variant(pegr_backend *b, pegr_sam_variant variant,
                                         pegr_error *err)
{
    if (variant != PEGR_SAM_FULL && variant != PEGR_SAM_PER_EXAMPLE)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "SAM variant %d is unknown: use one of " PEGR_SAM_VARIANTS,
                              (int)variant);
    b->sam_variant = (int)variant;
    return PEGR_OK;
}

pegr_status pegr_backend_set_readout(pegr_backend *b, pegr_readout readout, int learn,
                                     pegr_error *err)
{
    if (readout != PEGR_READOUT_MEAN_FILTERS && readout != PEGR_READOUT_MEAN_PATCHES)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "readout %d is unknown: use one of " PEGR_READOUTS, (int)readout);
    if (b->ops->set_readout) return b->ops->set_readout(b, (int)readout, learn != 0, err);
    if (readout == PEGR_READOUT_MEAN_FILTERS && !learn) return PEGR_OK;
    return pegr_error_set(err, PEGR_ERR_UNSUPPORTED, "the %s backend has the default readout only",
                          b->ops->name);
}

pegr_status pegr_backend_get_readout(pegr_backend *b, double *v, pegr_error *err)
{
    if (!b->ops->get_readout)
        return pegr_error_set(err, PEGR_ERR_UNSUPPORTED, "the %s backend has no second layer",
                              b->ops->name);
    return b->ops->get_readout(b, v, err);
}

pegr_status pegr_backend_get_weights(pegr_backend *b, double *W, pegr_error *err)
{
    return b->ops->get_weights(b, W, err);
}

pegr_status pegr_backend_perturbed_test_error(pegr_backend *b, double q, const double *sigmas,
                                              size_t nsigmas, const uint64_t *seed,
                                              double *error_rate, pegr_error *err)
{
    return b->ops->perturbed_test_error(b, q, sigmas, nsigmas, seed, error_rate, err);
}

pegr_status pegr_backend_first_nonfinite_step(pegr_backend *b, long *step, pegr_error *err)
{
    return b->ops->first_nonfinite_step(b, step, err);
}

size_t pegr_backend_bytes_in_use(const pegr_backend *b)
{
    return b->ops->bytes_in_use ? b->ops->bytes_in_use(b) : 0;
}

size_t pegr_backend_bytes_peak(const pegr_backend *b)
{
    return b->ops->bytes_peak ? b->ops->bytes_peak(b) : 0;
}

void pegr_backend_reset_peak(pegr_backend *b)
{
    if (b->ops->reset_peak) b->ops->reset_peak(b);
}

size_t pegr_backend_profile(pegr_backend *b, const pegr_kernel_time **times)
{
    *times = NULL;
    return b->ops->profile ? b->ops->profile(b, times) : 0;
}

void pegr_backend_profile_reset(pegr_backend *b)
{
    if (b->ops->profile_reset) b->ops->profile_reset(b);
}

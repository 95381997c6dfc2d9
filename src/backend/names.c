/* names.c: the one table between the names users type ("pegr", "span", "fp64") and the enums of
 * pegr/backend.h and pegr/device.h; the CLI, the sweep grid, config.json and the Python package all
 * go through it. */
#include <string.h>

#include "pegr/backend.h"

static const char *const METHOD_NAMES[PEGR_METHOD_COUNT] = {
    [PEGR_METHOD_GD] = "gd", [PEGR_METHOD_PEGR] = "pegr", [PEGR_METHOD_GR] = "gr",
    [PEGR_METHOD_SGD] = "sgd", [PEGR_METHOD_SAM] = "sam"};
static const char *const REPRESENTATION_NAMES[PEGR_REPRESENTATION_COUNT] = {
    [PEGR_REPRESENTATION_AUTO] = "auto", [PEGR_REPRESENTATION_PRIMAL] = "primal",
    [PEGR_REPRESENTATION_SPAN] = "span"};
static const char *const PRECISION_NAMES[2] = {[PEGR_FP32] = "fp32", [PEGR_FP64] = "fp64"};

static const char *name_of(const char *const *names, size_t count, int value)
{
    return value >= 0 && (size_t)value < count ? names[value] : NULL;
}

/* The index of `name` in names, or PEGR_ERR_INVALID_ARGUMENT listing them all. */
static pegr_status parse(const char *const *names, size_t count, const char *name, const char *what,
                         int *out, pegr_error *err)
{
    for (size_t i = 0; name && i < count; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (int)i;
            return PEGR_OK;
        }
    char list[128] = "";
    for (size_t i = 0; i < count; i++) {
        strncat(list, names[i], sizeof list - strlen(list) - 1);
        if (i + 1 < count) strncat(list, i + 2 < count ? ", " : " or ", sizeof list - strlen(list) - 1);
    }
    return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT, "%s must be %s, got '%s'",
                          what ? what : "the value", list, name ? name : "(none)");
}

const char *pegr_method_name(pegr_method m) { return name_of(METHOD_NAMES, PEGR_METHOD_COUNT, m); }

pegr_status pegr_method_parse(const char *name, const char *what, pegr_method *out, pegr_error *err)
{
    int v = 0;
    pegr_status s = parse(METHOD_NAMES, PEGR_METHOD_COUNT, name, what, &v, err);
    if (s == PEGR_OK) *out = (pegr_method)v;
    return s;
}

const char *pegr_representation_name(pegr_representation r)
{
    return name_of(REPRESENTATION_NAMES, PEGR_REPRESENTATION_COUNT, r);
}

pegr_status pegr_representation_parse(const char *name, const char *what, pegr_representation *out,
                                      pegr_error *err)
{
    int v = 0;
    pegr_status s = parse(REPRESENTATION_NAMES, PEGR_REPRESENTATION_COUNT, name, what, &v, err);
    if (s == PEGR_OK) *out = (pegr_representation)v;
    return s;
}

const char *pegr_precision_name(pegr_precision p) { return name_of(PRECISION_NAMES, 2, p); }

pegr_status pegr_precision_parse(const char *name, const char *what, pegr_precision *out,
                                 pegr_error *err)
{
    int v = 0;
    pegr_status s = parse(PRECISION_NAMES, 2, name, what, &v, err);
    if (s == PEGR_OK) *out = (pegr_precision)v;
    return s;
}

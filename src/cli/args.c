/* args.c: see args.h. */
#include "args.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/numparse.h"
#include "pegr/backend.h"

static void print_usage_line(const pegr_command_spec *cmd, FILE *out)
{
    fprintf(out, "usage: %s\n       pegr %s --help for every option\n", cmd->usage, cmd->name);
}

int pegr_args_usage_error(const pegr_command_spec *cmd, const char *fmt, ...)
{
    fprintf(stderr, "pegr %s: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    print_usage_line(cmd, stderr);
    return PEGR_EXIT_USAGE;
}

/* The row's numeric range: the type's limits, narrowed by `allowed` ("MIN..MAX", an end may be
 * empty). A malformed range is a bug in the table, not a user error: say so and abort. */
typedef struct arg_range {
    uint64_t lo, hi; /* SIZE, U64 */
    double dlo, dhi; /* DOUBLE */
} arg_range;

static arg_range range_of(const pegr_arg *a)
{
    arg_range r;
    uint64_t max = a->kind == PEGR_ARG_SIZE ? (uint64_t)SIZE_MAX : UINT64_MAX;
    int ok = pegr_parse_range_u64(a->kind == PEGR_ARG_DOUBLE ? NULL : a->allowed, max, &r.lo,
                                  &r.hi) == PEGR_NUM_OK &&
             pegr_parse_range_double(a->kind == PEGR_ARG_DOUBLE ? a->allowed : NULL, &r.dlo,
                                     &r.dhi) == PEGR_NUM_OK;
    if (!ok) {
        fprintf(stderr, "pegr: internal error: option --%s has a malformed range '%s'\n", a->name,
                a->allowed);
        abort();
    }
    return r;
}

static int bad_number(const pegr_command_spec *cmd, const pegr_arg *a, const char *value)
{
    arg_range r = range_of(a);
    char what[128];
    if (a->kind == PEGR_ARG_DOUBLE) pegr_describe_double(r.dlo, r.dhi, what, sizeof what);
    else pegr_describe_uint(r.lo, r.hi, what, sizeof what);
    return pegr_args_usage_error(cmd, "--%s needs %s, not '%s'", a->name, what, value);
}

/* The kinds given as one word of a '|'-separated list in `allowed`. */
static int is_choice(pegr_arg_kind kind)
{
    return kind == PEGR_ARG_CHOICE || kind == PEGR_ARG_METHOD || kind == PEGR_ARG_REPRESENTATION ||
           kind == PEGR_ARG_INDEX;
}

static int set_value(const pegr_command_spec *cmd, pegr_arg *a, const char *value)
{
    if (is_choice(a->kind) && !pegr_word_in_list(a->allowed, value))
        return pegr_args_usage_error(cmd, "--%s must be one of %s, not '%s'", a->name, a->allowed,
                                     value);
    switch (a->kind) {
    case PEGR_ARG_STRING:
        if (!*value) return pegr_args_usage_error(cmd, "--%s needs a non-empty value", a->name);
        *(const char **)a->target = value;
        return -1;
    case PEGR_ARG_CHOICE:
        *(const char **)a->target = value;
        return -1;
    case PEGR_ARG_INDEX: /* in the list: checked above */
        *(int *)a->target = pegr_word_index(a->allowed, value);
        return -1;
    case PEGR_ARG_METHOD: /* `allowed` is a subset of the library's names: parsing cannot fail */
        return pegr_method_parse(value, a->name, (pegr_method *)a->target, NULL) == PEGR_OK
                   ? -1
                   : pegr_args_usage_error(cmd, "--%s: unknown method '%s'", a->name, value);
    case PEGR_ARG_REPRESENTATION:
        return pegr_representation_parse(value, a->name, (pegr_representation *)a->target, NULL) ==
                       PEGR_OK
                   ? -1
                   : pegr_args_usage_error(cmd, "--%s: unknown representation '%s'", a->name,
                                           value);
    case PEGR_ARG_SIZE:
    case PEGR_ARG_U64: {
        arg_range r = range_of(a);
        uint64_t v;
        if (pegr_parse_u64(value, r.lo, r.hi, &v) != PEGR_NUM_OK) return bad_number(cmd, a, value);
        if (a->kind == PEGR_ARG_SIZE) *(size_t *)a->target = (size_t)v; /* r.hi <= SIZE_MAX */
        else *(uint64_t *)a->target = v;
        return -1;
    }
    case PEGR_ARG_DOUBLE: {
        arg_range r = range_of(a);
        if (pegr_parse_double(value, r.dlo, r.dhi, (double *)a->target) != PEGR_NUM_OK)
            return bad_number(cmd, a, value);
        return -1;
    }
    case PEGR_ARG_FLAG: break;
    }
    return -1;
}

int pegr_args_parse(const pegr_command_spec *cmd, pegr_arg *args, size_t nargs, int argc,
                    char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            pegr_args_help(cmd, args, nargs, stdout);
            return PEGR_EXIT_OK;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return pegr_args_usage_error(cmd, "unexpected argument '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        pegr_arg *a = NULL;
        for (size_t k = 0; k < nargs; k++)
            if (strlen(args[k].name) == name_len && strncmp(args[k].name, name, name_len) == 0)
                a = &args[k];
        if (!a) return pegr_args_usage_error(cmd, "unknown option '--%.*s'", (int)name_len, name);
        a->seen = 1;
        if (a->kind == PEGR_ARG_FLAG) {
            if (eq) return pegr_args_usage_error(cmd, "--%s takes no value", a->name);
            *(int *)a->target = 1;
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc)
                return pegr_args_usage_error(cmd, "--%s needs a value (%s)", a->name,
                                             a->metavar ? a->metavar : "VALUE");
            value = argv[++i];
        }
        int rc = set_value(cmd, a, value);
        if (rc >= 0) return rc;
    }
    return -1;
}

int pegr_args_given(const pegr_arg *args, size_t nargs, const char *name)
{
    for (size_t k = 0; k < nargs; k++)
        if (strcmp(args[k].name, name) == 0) return args[k].seen;
    return 0;
}

static void print_default(const pegr_arg *a, FILE *out)
{
    switch (a->kind) {
    case PEGR_ARG_FLAG: break;
    case PEGR_ARG_STRING:
    case PEGR_ARG_CHOICE: {
        const char *v = *(const char *const *)a->target;
        if (v) fprintf(out, " [default: %s]", v);
        break;
    }
    case PEGR_ARG_SIZE: fprintf(out, " [default: %zu]", *(const size_t *)a->target); break;
    case PEGR_ARG_U64:
        fprintf(out, " [default: %llu]", (unsigned long long)*(const uint64_t *)a->target);
        break;
    case PEGR_ARG_DOUBLE: fprintf(out, " [default: %g]", *(const double *)a->target); break;
    case PEGR_ARG_METHOD:
        fprintf(out, " [default: %s]", pegr_method_name(*(const pegr_method *)a->target));
        break;
    case PEGR_ARG_REPRESENTATION:
        fprintf(out, " [default: %s]",
                pegr_representation_name(*(const pegr_representation *)a->target));
        break;
    case PEGR_ARG_INDEX: {
        char word[64];
        if (pegr_word_at(a->allowed, *(const int *)a->target, word, sizeof word))
            fprintf(out, " [default: %s]", word);
        break;
    }
    }
    if (!is_choice(a->kind) && a->allowed) {
        (void)range_of(a); /* a malformed range shows up in --help, which the tests run */
        fprintf(out, " [range: %s]", a->allowed);
    }
}

void pegr_args_help(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs, void *stream)
{
    FILE *out = stream;
    fprintf(out, "pegr %s: %s\n\nusage: %s\n\noptions:\n", cmd->name, cmd->summary, cmd->usage);
    for (size_t k = 0; k < nargs; k++) {
        const pegr_arg *a = &args[k];
        char head[64];
        if (is_choice(a->kind))
            snprintf(head, sizeof head, "--%s %s", a->name, a->allowed);
        else
            snprintf(head, sizeof head, "--%s%s%s", a->name, a->metavar ? " " : "",
                     a->metavar ? a->metavar : "");
        fprintf(out, "  %-26s %s", head, a->help);
        print_default(a, out);
        fputc('\n', out);
    }
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

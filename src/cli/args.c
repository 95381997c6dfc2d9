/* args.c: see args.h. */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int choice_ok(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

static int set_value(const pegr_command_spec *cmd, pegr_arg *a, const char *value)
{
    char *end = NULL;
    errno = 0;
    switch (a->kind) {
    case PEGR_ARG_STRING:
        if (!*value) return pegr_args_usage_error(cmd, "--%s needs a non-empty value", a->name);
        *(const char **)a->target = value;
        return -1;
    case PEGR_ARG_CHOICE:
        if (!choice_ok(a->choices, value))
            return pegr_args_usage_error(cmd, "--%s must be one of %s, not '%s'", a->name,
                                         a->choices, value);
        *(const char **)a->target = value;
        return -1;
    case PEGR_ARG_SIZE:
    case PEGR_ARG_U64: {
        if (*value == '-' || *value == '\0')
            return pegr_args_usage_error(cmd, "--%s needs a non-negative integer, not '%s'", a->name,
                                         value);
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || *end || (a->kind == PEGR_ARG_SIZE && v > SIZE_MAX))
            return pegr_args_usage_error(cmd, "--%s needs a non-negative integer, not '%s'", a->name,
                                         value);
        if (a->kind == PEGR_ARG_SIZE) *(size_t *)a->target = (size_t)v;
        else *(uint64_t *)a->target = (uint64_t)v;
        return -1;
    }
    case PEGR_ARG_DOUBLE: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return pegr_args_usage_error(cmd, "--%s needs a finite number, not '%s'", a->name, value);
        *(double *)a->target = v;
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
    }
}

void pegr_args_help(const pegr_command_spec *cmd, const pegr_arg *args, size_t nargs, void *stream)
{
    FILE *out = stream;
    fprintf(out, "pegr %s: %s\n\nusage: %s\n\noptions:\n", cmd->name, cmd->summary, cmd->usage);
    for (size_t k = 0; k < nargs; k++) {
        const pegr_arg *a = &args[k];
        char head[64];
        if (a->kind == PEGR_ARG_CHOICE)
            snprintf(head, sizeof head, "--%s %s", a->name, a->choices);
        else
            snprintf(head, sizeof head, "--%s%s%s", a->name, a->metavar ? " " : "",
                     a->metavar ? a->metavar : "");
        fprintf(out, "  %-26s %s", head, a->help);
        print_default(a, out);
        fputc('\n', out);
    }
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

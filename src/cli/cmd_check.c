/* cmd_check.c: `pegr check` -- the conformance battery (pegr/check.h) on the selected device or on
 * every device: a table per device (check, precision, worst error, tolerance, result), a summary
 * line, the same records as JSON with --json, and exit 1 when any check failed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "pegr/check.h"
#include "pegr/io.h"

static const pegr_command_spec SPEC = {
    "check",
    "can pegr's numbers be trusted on this device? every kernel path, training steps, batched "
    "runs, the GEMMs and the binary cache against the host reference (exit 1 on any failure); "
    "--device all checks every OpenCL device",
    "pegr check [--device SPEC|all] [--precision fp32|fp64|both] [--json FILE]"};

/* Every record, kept for the JSON file, with the device it came from. */
typedef struct kept_record {
    pegr_check_record rec;
    size_t device; /* index into the device list */
} kept_record;

typedef struct check_output {
    kept_record *recs;
    size_t n, cap;
    int out_of_memory;
    size_t device;
} check_output;

static void print_header(void)
{
    printf("  %-30s %-9s %-11s %-9s %s\n", "check", "precision", "worst err", "tolerance", "result");
}

static void on_record(void *user, const pegr_check_record *r)
{
    check_output *out = user;
    const char *prec = r->precision == PEGR_FP64 ? "fp64" : "fp32";
    if (r->status == PEGR_CHECK_SKIP) {
        printf("  %-30s %-9s %-11s %-9s %s\n", r->name, prec, "-", "-", r->detail);
    } else {
        char err[32];
        if (isnan(r->error)) snprintf(err, sizeof err, "-");
        else snprintf(err, sizeof err, "%.3g", r->error);
        printf("  %-30s %-9s %-11s %-9.3g %s\n", r->name, prec, err, r->tolerance,
               pegr_check_status_name(r->status));
        if (r->status == PEGR_CHECK_FAIL) printf("      %s\n", r->detail);
    }
    fflush(stdout);
    if (out->n == out->cap) {
        size_t cap = out->cap ? 2 * out->cap : 64;
        kept_record *grown = realloc(out->recs, cap * sizeof *grown);
        if (!grown) {
            out->out_of_memory = 1;
            return;
        }
        out->recs = grown;
        out->cap = cap;
    }
    out->recs[out->n].rec = *r;
    out->recs[out->n].device = out->device;
    out->n++;
}

static pegr_status write_json(const char *path, const check_output *out,
                              const pegr_device_info *list, const size_t *chosen, size_t nchosen,
                              const pegr_check_summary *sums, pegr_error *err)
{
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_object(&j);
    pegr_json_kv_string(&j, "pegr_version", pegr_version());
    size_t passed = 0, failed = 0, skipped = 0;
    pegr_json_key(&j, "devices");
    pegr_json_begin_array(&j);
    for (size_t i = 0; i < nchosen; i++) {
        const pegr_device_info *d = &list[chosen[i]];
        pegr_json_begin_object(&j);
        pegr_json_kv_uint(&j, "index", d->index);
        pegr_json_kv_string(&j, "name", d->name);
        pegr_json_kv_string(&j, "platform", d->platform_name);
        pegr_json_kv_string(&j, "driver_version", d->driver_version);
        pegr_json_kv_bool(&j, "fp64", d->fp64);
        pegr_json_kv_uint(&j, "passed", sums[i].passed);
        pegr_json_kv_uint(&j, "failed", sums[i].failed);
        pegr_json_kv_uint(&j, "skipped", sums[i].skipped);
        pegr_json_kv_number(&j, "seconds", sums[i].seconds);
        pegr_json_end_object(&j);
        passed += sums[i].passed;
        failed += sums[i].failed;
        skipped += sums[i].skipped;
    }
    pegr_json_end_array(&j);
    pegr_json_key(&j, "records");
    pegr_json_begin_array(&j);
    for (size_t i = 0; i < out->n; i++) {
        const pegr_check_record *r = &out->recs[i].rec;
        pegr_json_begin_object(&j);
        pegr_json_kv_uint(&j, "device_index", list[out->recs[i].device].index);
        pegr_json_kv_string(&j, "device", list[out->recs[i].device].name);
        pegr_json_kv_string(&j, "check", r->name);
        pegr_json_kv_string(&j, "precision", r->precision == PEGR_FP64 ? "fp64" : "fp32");
        pegr_json_kv_string(&j, "status", r->status == PEGR_CHECK_PASS   ? "pass"
                                          : r->status == PEGR_CHECK_FAIL ? "fail"
                                                                         : "skipped");
        pegr_json_kv_number(&j, "error", r->error); /* NaN: null */
        pegr_json_kv_number(&j, "tolerance", r->tolerance);
        pegr_json_kv_string(&j, "detail", r->detail);
        pegr_json_kv_string(&j, "what", r->what ? r->what : "");
        pegr_json_kv_number(&j, "seconds", r->seconds);
        pegr_json_end_object(&j);
    }
    pegr_json_end_array(&j);
    pegr_json_kv_uint(&j, "passed", passed);
    pegr_json_kv_uint(&j, "failed", failed);
    pegr_json_kv_uint(&j, "skipped", skipped);
    pegr_json_end_object(&j);
    pegr_status s = j.failed ? pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory writing JSON")
                             : pegr_json_write_file(&j, path, err); /* temporary name, rename */
    pegr_json_free(&j);
    return s;
}

int pegr_cmd_check(int argc, char **argv)
{
    pegr_global_opts g = {0};
    const char *precision = "both", *json = NULL;
    pegr_arg args[] = {
        {"precision", PEGR_ARG_CHOICE, &precision, "P",
         "the precisions to check (fp64 rows are skipped on a device without cl_khr_fp64)",
         "fp32|fp64|both", 0},
        {"json", PEGR_ARG_STRING, &json, "FILE", "also write every record to FILE as JSON", NULL, 0},
        PEGR_GLOBAL_ARGS(&g),
    };
    int rc = pegr_args_parse(&SPEC, args, sizeof args / sizeof args[0], argc, argv);
    if (rc >= 0) return rc;
    if (json && !*json) return pegr_args_usage_error(&SPEC, "--json needs a file name, not ''");
    const char *fault = getenv("PEGR_CHECK_FAULT"); /* the battery's test hook (pegr/check.h) */
    if (fault && *fault && !pegr_check_known(fault))
        return pegr_args_usage_error(&SPEC, "PEGR_CHECK_FAULT='%s' names no check (a test hook: "
                                            "unset it)", fault);

    pegr_error err = {0};
    pegr_device_info *list = NULL;
    size_t count = 0, nchosen = 0;
    size_t *chosen = NULL;
    pegr_check_summary *sums = NULL;
    check_output out = {0};
    int code = PEGR_EXIT_FAILURE;
    const char *spec = pegr_device_spec_effective(g.device);
    int all = spec && strcmp(spec, "all") == 0;
    if (spec && strcmp(spec, "host") == 0)
        return pegr_args_usage_error(&SPEC, "--device host: the host is the reference every check "
                                            "compares against, not a device to check; name an "
                                            "OpenCL device (pegr devices) or all");
    int fp64_only = strcmp(precision, "fp64") == 0;
    /* --device all: every device; otherwise the one the spec selects */
    size_t one = 0;
    char reason[1024];
    if (pegr_cli_pick_device(SPEC.name, spec, fp64_only, &list, &count, all ? NULL : &one, reason,
                             sizeof reason) != PEGR_EXIT_OK)
        goto done;
    chosen = calloc(count ? count : 1, sizeof *chosen);
    sums = calloc(count ? count : 1, sizeof *sums);
    if (!chosen || !sums) goto done;
    if (all) {
        for (size_t i = 0; i < count; i++) chosen[nchosen++] = i;
    } else {
        if (g.verbose) pegr_cli_log(NULL, PEGR_LOG_INFO, reason);
        chosen[nchosen++] = one;
    }

    pegr_check_options opts = {0};
    opts.fp32 = strcmp(precision, "fp64") != 0;
    opts.fp64 = strcmp(precision, "fp32") != 0;
    opts.on_record = on_record;
    opts.user = &out;
    if (g.verbose) opts.log = pegr_cli_log;
    size_t passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < nchosen; i++) {
        const pegr_device_info *d = &list[chosen[i]];
        printf("%sdevice %zu (%zu:%zu): %s (%s, %s, driver %s)%s\n", i ? "\n" : "", d->index,
               d->platform_index, d->device_index, d->name, pegr_device_type_name(d->type),
               d->platform_name, d->driver_version, d->fp64 ? "" : ", no fp64");
        print_header();
        out.device = chosen[i];
        if (pegr_check_run(d, &opts, &sums[i], &err) != PEGR_OK) {
            pegr_cli_error(SPEC.name, &err);
            goto done;
        }
        printf("  %zu passed, %zu failed, %zu skipped in %.1f s\n", sums[i].passed, sums[i].failed,
               sums[i].skipped, sums[i].seconds);
        passed += sums[i].passed;
        failed += sums[i].failed;
        skipped += sums[i].skipped;
    }
    if (out.out_of_memory) {
        fprintf(stderr, "pegr check: error: out of memory keeping the records\n");
        goto done;
    }
    printf("\n%zu checks passed, %zu failed on %zu device%s (%zu skipped)\n", passed, failed,
           nchosen, nchosen == 1 ? "" : "s", skipped);
    if (json && write_json(json, &out, list, chosen, nchosen, sums, &err) != PEGR_OK) {
        pegr_cli_error(SPEC.name, &err);
        goto done;
    }
    code = failed ? PEGR_EXIT_FAILURE : PEGR_EXIT_OK;
    fflush(stdout); /* the table before the verdict on stderr */
    for (size_t i = 0; i < nchosen; i++)
        if (sums[i].failed)
            fprintf(stderr, "pegr check: %zu check%s failed on device %zu (%s): do not trust pegr's "
                            "numbers there (see the FAIL rows)\n", sums[i].failed,
                    sums[i].failed == 1 ? "" : "s", list[chosen[i]].index, list[chosen[i]].name);
done:
    pegr_error_clear(&err);
    free(out.recs);
    free(chosen);
    free(sums);
    pegr_device_list_free(list);
    return code;
}

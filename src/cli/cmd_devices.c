/* cmd_devices.c: `pegr devices` -- list every OpenCL device and mark the one that would be used. */
#include <inttypes.h>
#include <stdio.h>

#include "commands.h"
#include "pegr/io.h"

static const pegr_command_spec SPEC = {
    "devices", "list every OpenCL device; '*' marks the one the flag/environment/default selects",
    "pegr devices [--json] [--device SPEC]"};

static void print_json(const pegr_device_info *list, size_t count, size_t chosen, int has_choice)
{
    pegr_json j;
    pegr_json_init(&j, 1);
    pegr_json_begin_array(&j);
    for (size_t i = 0; i < count; i++) {
        const pegr_device_info *d = &list[i];
        pegr_json_begin_object(&j);
        pegr_json_kv_uint(&j, "index", d->index);
        char pd[48];
        snprintf(pd, sizeof pd, "%zu:%zu", d->platform_index, d->device_index);
        pegr_json_kv_string(&j, "spec", pd);
        pegr_json_kv_bool(&j, "selected", has_choice && i == chosen);
        pegr_json_kv_string(&j, "name", d->name);
        pegr_json_kv_string(&j, "vendor", d->vendor);
        pegr_json_kv_string(&j, "type", pegr_device_type_name(d->type));
        pegr_json_kv_string(&j, "version", d->version);
        pegr_json_kv_string(&j, "driver_version", d->driver_version);
        pegr_json_kv_string(&j, "opencl_c_version", d->opencl_c_version);
        pegr_json_kv_string(&j, "platform_name", d->platform_name);
        pegr_json_kv_string(&j, "platform_vendor", d->platform_vendor);
        pegr_json_kv_string(&j, "platform_version", d->platform_version);
        pegr_json_kv_uint(&j, "compute_units", d->compute_units);
        pegr_json_kv_uint(&j, "max_work_group_size", d->max_work_group_size);
        pegr_json_kv_uint(&j, "local_mem_bytes", d->local_mem_size);
        pegr_json_kv_uint(&j, "global_mem_bytes", d->global_mem_size);
        pegr_json_kv_uint(&j, "max_alloc_bytes", d->max_mem_alloc_size);
        pegr_json_kv_bool(&j, "fp64", d->fp64);
        pegr_json_kv_bool(&j, "pocl", d->is_pocl);
        pegr_json_end_object(&j);
    }
    pegr_json_end_array(&j);
    printf("%s\n", j.buf ? j.buf : "[]");
    pegr_json_free(&j);
}

static void print_table(const pegr_device_info *list, size_t count, size_t chosen, int has_choice)
{
    for (size_t i = 0; i < count; i++) {
        const pegr_device_info *d = &list[i];
        printf("%c %zu  (%zu:%zu)  %s\n", has_choice && i == chosen ? '*' : ' ', i,
               d->platform_index, d->device_index, d->name);
        printf("      type %s, %u compute units, max work-group %zu, fp64 %s%s\n",
               pegr_device_type_name(d->type), d->compute_units, d->max_work_group_size,
               d->fp64 ? "yes" : "no", d->is_pocl ? ", PoCL" : "");
        printf("      global memory %.1f MiB, max allocation %.1f MiB, local memory %.1f KiB\n",
               (double)d->global_mem_size / 1048576.0, (double)d->max_mem_alloc_size / 1048576.0,
               (double)d->local_mem_size / 1024.0);
        printf("      %s; %s; driver %s\n", d->opencl_c_version, d->version, d->driver_version);
        printf("      platform %s (%s, %s)\n", d->platform_name, d->platform_vendor,
               d->platform_version);
    }
}

int pegr_cmd_devices(int argc, char **argv)
{
    pegr_global_opts g = {0};
    int json = 0;
    pegr_arg args[] = {
        {"json", PEGR_ARG_FLAG, &json, NULL, "print JSON instead of a table", NULL, 0},
        PEGR_GLOBAL_ARGS(&g),
    };
    int rc = pegr_args_parse(&SPEC, args, sizeof args / sizeof args[0], argc, argv);
    if (rc >= 0) return rc;

    pegr_device_info *list = NULL;
    size_t count = 0, chosen = 0;
    const char *spec = pegr_device_spec_effective(g.device);
    char reason[1024];
    /* A spec that matches nothing is an error (the message lists the devices). */
    int code = pegr_cli_pick_device(SPEC.name, spec, 0, &list, &count, &chosen, reason,
                                    sizeof reason);
    if (code == PEGR_EXIT_OK) {
        if (json) print_json(list, count, chosen, 1);
        else print_table(list, count, chosen, 1);
        if (!json && g.verbose)
            fprintf(stderr, "pegr: selected by %s: %s\n",
                    g.device && *g.device ? "--device" : spec ? "PEGR_DEVICE" : "the default rule",
                    reason);
    }
    pegr_device_list_free(list);
    return code;
}

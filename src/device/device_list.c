/* device_list.c: enumerate every OpenCL platform and device and read the facts pegr needs. */
#include <stdlib.h>
#include <string.h>

#include "device/cl_include.h"
#include "pegr/pegr.h"

/* cl_khr_icd's "no platform" code; not in every header. */
#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

static const char NO_PLATFORM_HELP[] =
    "no OpenCL platform found. Install one: on Debian/Ubuntu `apt-get install pocl-opencl-icd` "
    "gives a CPU device (GPU vendors ship their own ICD). The ICD loader finds platforms through "
    "the .icd files in /etc/OpenCL/vendors, or in the directory named by OCL_ICD_VENDORS; "
    "`--device host` runs the plain-C reference without OpenCL";

static void platform_str(cl_platform_id p, cl_platform_info what, char *out)
{
    out[0] = '\0';
    if (clGetPlatformInfo(p, what, PEGR_INFO_STR, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[PEGR_INFO_STR - 1] = '\0';
}

static void device_str(cl_device_id d, cl_device_info what, char *out)
{
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, PEGR_INFO_STR, out, NULL) != CL_SUCCESS) out[0] = '\0';
    out[PEGR_INFO_STR - 1] = '\0';
    /* Some drivers pad names with trailing spaces. */
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == ' ') out[--len] = '\0';
}

/* Extensions can be longer than PEGR_INFO_STR: ask for the size first. */
static int device_has_extension(cl_device_id d, const char *ext)
{
    size_t size = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &size) != CL_SUCCESS || size == 0)
        return 0;
    char *all = malloc(size + 1);
    if (!all) return 0;
    int found = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, size, all, NULL) == CL_SUCCESS) {
        all[size] = '\0';
        size_t n = strlen(ext);
        for (const char *s = strstr(all, ext); s; s = strstr(s + 1, ext)) {
            int starts = (s == all || s[-1] == ' ');
            int ends = (s[n] == '\0' || s[n] == ' ');
            if (starts && ends) { found = 1; break; }
        }
    }
    free(all);
    return found;
}

static pegr_device_type type_of(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return PEGR_DEVICE_TYPE_GPU;
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return PEGR_DEVICE_TYPE_ACCELERATOR;
    if (t & CL_DEVICE_TYPE_CPU) return PEGR_DEVICE_TYPE_CPU;
    return PEGR_DEVICE_TYPE_OTHER;
}

static void read_device(cl_platform_id p, cl_device_id d, pegr_device_info *info)
{
    memset(info, 0, sizeof *info);
    info->cl_platform = p;
    info->cl_device = d;
    platform_str(p, CL_PLATFORM_NAME, info->platform_name);
    platform_str(p, CL_PLATFORM_VENDOR, info->platform_vendor);
    platform_str(p, CL_PLATFORM_VERSION, info->platform_version);
    device_str(d, CL_DEVICE_NAME, info->name);
    device_str(d, CL_DEVICE_VENDOR, info->vendor);
    device_str(d, CL_DEVICE_VERSION, info->version);
    device_str(d, CL_DRIVER_VERSION, info->driver_version);
    device_str(d, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version);

    cl_device_type t = 0;
    cl_uint units = 0;
    size_t wg = 0;
    cl_ulong local = 0, global = 0, alloc = 0;
    cl_bool unified = CL_FALSE;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof t, &t, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof alloc, &alloc, NULL);
    /* Deprecated from OpenCL 2.0 but still answered by every driver we know; one that refuses
     * leaves it false (ranked as discrete), which only matters among several GPUs. */
    clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    info->type = type_of(t);
    info->compute_units = units;
    info->max_work_group_size = wg ? wg : 1;
    info->local_mem_size = local;
    info->global_mem_size = global;
    info->max_mem_alloc_size = alloc;
    info->fp64 = device_has_extension(d, "cl_khr_fp64");
    info->host_unified_memory = unified == CL_TRUE;
    info->is_pocl = strstr(info->platform_name, "Portable Computing Language") != NULL ||
                    strstr(info->platform_version, "pocl") != NULL;
}

/* Append the devices of one platform to *list (grown with realloc). */
static pegr_status add_platform(cl_platform_id p, size_t pi, pegr_device_info **list, size_t *count,
                                pegr_error *err)
{
    cl_uint nd = 0;
    cl_int rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, NULL, &nd);
    if (rc == CL_DEVICE_NOT_FOUND || nd == 0) return PEGR_OK; /* a platform with no device */
    if (rc != CL_SUCCESS)
        return pegr_error_set(err, rc, "clGetDeviceIDs failed with %s (%d) on platform %zu",
                              pegr_status_name(rc), rc, pi);
    cl_device_id *ids = malloc(nd * sizeof *ids);
    pegr_device_info *grown = realloc(*list, (*count + nd) * sizeof **list);
    if (!ids || !grown) {
        free(ids);
        if (grown) *list = grown;
        return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory listing devices");
    }
    *list = grown;
    rc = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, ids, NULL);
    if (rc != CL_SUCCESS) {
        free(ids);
        return pegr_error_set(err, rc, "clGetDeviceIDs failed with %s (%d) on platform %zu",
                              pegr_status_name(rc), rc, pi);
    }
    for (cl_uint di = 0; di < nd; di++) {
        pegr_device_info *info = &(*list)[*count];
        read_device(p, ids[di], info);
        info->index = *count;
        info->platform_index = pi;
        info->device_index = di;
        (*count)++;
    }
    free(ids);
    return PEGR_OK;
}

pegr_status pegr_device_list(pegr_device_info **out, size_t *out_count, pegr_error *err)
{
    *out = NULL;
    *out_count = 0;
    cl_uint np = 0;
    cl_int rc = clGetPlatformIDs(0, NULL, &np);
    if (rc == CL_PLATFORM_NOT_FOUND_KHR || (rc == CL_SUCCESS && np == 0))
        return pegr_error_set(err, PEGR_ERR_NO_PLATFORM, "%s", NO_PLATFORM_HELP);
    if (rc != CL_SUCCESS)
        return pegr_error_set(err, rc, "clGetPlatformIDs failed with %s (%d); %s",
                              pegr_status_name(rc), rc, NO_PLATFORM_HELP);
    cl_platform_id *platforms = malloc(np * sizeof *platforms);
    if (!platforms) return pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory listing platforms");
    rc = clGetPlatformIDs(np, platforms, NULL);
    pegr_status status = rc;
    if (rc != CL_SUCCESS) {
        pegr_error_set(err, rc, "clGetPlatformIDs failed with %s (%d)", pegr_status_name(rc), rc);
    } else {
        for (cl_uint pi = 0; pi < np && status == PEGR_OK; pi++)
            status = add_platform(platforms[pi], pi, out, out_count, err);
    }
    free(platforms);
    if (status == PEGR_OK && *out_count == 0)
        status = pegr_error_set(err, PEGR_ERR_NO_DEVICE,
                                "%u OpenCL platform(s) found but no device on any of them", np);
    if (status != PEGR_OK) {
        free(*out);
        *out = NULL;
        *out_count = 0;
    }
    return status;
}

void pegr_device_list_free(pegr_device_info *list) { free(list); }

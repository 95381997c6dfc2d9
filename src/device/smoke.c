/* smoke.c: build and run the smoke kernel on a context and check it against the host. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "device/context_impl.h"
#include "util/clock.h"

pegr_status pegr_smoke_run(pegr_context *ctx, pegr_precision precision, size_t count,
                           double *max_abs_err, double *seconds)
{
    const size_t elem = precision == PEGR_FP64 ? sizeof(double) : sizeof(float);
    const double a = 0.5;
    pegr_status status = PEGR_OK;
    pegr_program *prog = NULL;
    cl_kernel kernel = NULL;
    cl_mem x = NULL, y = NULL;
    cl_int rc = CL_SUCCESS;
    unsigned char *hx = NULL, *hy = NULL;
    double t0 = pegr_now_seconds();
    *max_abs_err = INFINITY;

    if (count == 0 || count > UINT32_MAX)
        return pegr_ctx_fail(ctx, PEGR_ERR_INVALID_ARGUMENT, "smoke count %zu must be in 1..2^32-1",
                             count);
    hx = malloc(count * elem);
    hy = malloc(count * elem);
    if (!hx || !hy) { status = pegr_ctx_fail(ctx, PEGR_ERR_NO_MEMORY, "out of memory"); goto done; }
    for (size_t i = 0; i < count; i++) {
        double xv = (double)(i % 97) * 0.25, yv = 1.0 - (double)(i % 13);
        if (elem == sizeof(double)) { ((double *)hx)[i] = xv; ((double *)hy)[i] = yv; }
        else { ((float *)hx)[i] = (float)xv; ((float *)hy)[i] = (float)yv; }
    }
    const char *files[] = {"smoke.cl"};
    status = pegr_program_build(ctx, files, 1, precision, NULL, &prog);
    if (status != PEGR_OK) goto done;
    kernel = clCreateKernel((cl_program)pegr_program_cl(prog), "pegr_smoke_axpy", &rc);
    PEGR_CL_CHECK_RC(ctx, rc, "clCreateKernel", done);
    x = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, count * elem, hx, &rc);
    PEGR_CL_CHECK_RC(ctx, rc, "clCreateBuffer", done);
    y = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, count * elem, hy, &rc);
    PEGR_CL_CHECK_RC(ctx, rc, "clCreateBuffer", done);

    cl_uint n = (cl_uint)count;
    float af = (float)a;
    PEGR_CL_CHECK(ctx, clSetKernelArg(kernel, 0, sizeof n, &n), done);
    PEGR_CL_CHECK(ctx, clSetKernelArg(kernel, 1, elem, elem == sizeof(double) ? (const void *)&a
                                                                             : (const void *)&af),
                  done);
    PEGR_CL_CHECK(ctx, clSetKernelArg(kernel, 2, sizeof x, &x), done);
    PEGR_CL_CHECK(ctx, clSetKernelArg(kernel, 3, sizeof y, &y), done);
    size_t global = count;
    PEGR_CL_CHECK(ctx, clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, NULL, 0, NULL,
                                              NULL),
                  done);
    PEGR_CL_CHECK(ctx, clEnqueueReadBuffer(ctx->queue, y, CL_TRUE, 0, count * elem, hy, 0, NULL, NULL),
                  done);
    double worst = 0.0;
    for (size_t i = 0; i < count; i++) {
        double xv = (double)(i % 97) * 0.25, yv = 1.0 - (double)(i % 13);
        double got = elem == sizeof(double) ? ((double *)hy)[i] : (double)((float *)hy)[i];
        double e = fabs(got - (a * xv + yv));
        if (!(e <= worst)) worst = e; /* also catches NaN */
    }
    *max_abs_err = worst;

done:
    if (seconds) *seconds = pegr_now_seconds() - t0;
    if (y) clReleaseMemObject(y);
    if (x) clReleaseMemObject(x);
    if (kernel) clReleaseKernel(kernel);
    pegr_program_release(prog);
    free(hx);
    free(hy);
    return status;
}

/* smoke.cl: the smallest useful kernel, y = a*x + y, to check that building and running kernels
 * works on a device (pegr selftest, the device tests). */
__kernel void pegr_smoke_axpy(const uint n, const REAL a, __global const REAL *x,
                              __global REAL *y)
{
    const uint i = get_global_id(0);
    if (i < n) y[i] = a * x[i] + y[i];
}

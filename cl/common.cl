/* common.cl: the preamble every pegr program starts with. The host passes, as -D options:
 *   REAL          float or double (one kernel source serves both precisions)
 *   PEGR_FP64     1 when REAL is double (the device then lists cl_khr_fp64)
 *   PEGR_WG_SIZE  the work-group size kernels with local-memory reductions are launched with
 *                 (a power of two within the device's and the kernel's limits; may be 1)
 *   PEGR_IS_CPU   1 on CPU devices (access-pattern choices)
 * Only OpenCL C 1.2 is used here and in every kernel file. */
#ifndef REAL
#error "REAL must be defined by the host: -D REAL=float or -D REAL=double"
#endif
#ifndef PEGR_WG_SIZE
#error "PEGR_WG_SIZE must be defined by the host"
#endif

#if PEGR_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* Shared by the kernel files: the methods' numbers (the host's pegr_method) and the activation. */
#define PEGR_METHOD_GD 0
#define PEGR_METHOD_PEGR 1
#define PEGR_METHOD_GR 2

/* s(z) = max(z, 0)^q and its derivatives; q >= 1 (q = 1: ReLU, s'' = 0). */
inline void pegr_activation(const REAL z, const REAL q, REAL *s, REAL *ds, REAL *d2s)
{
    if (!(z > 0)) {
        *s = 0;
        *ds = 0;
        *d2s = 0;
    } else if (q == (REAL)1) {
        *s = z;
        *ds = 1;
        *d2s = 0;
    } else if (q == (REAL)2) {
        *s = z * z;
        *ds = 2 * z;
        *d2s = 2;
    } else {
        const REAL zq1 = pow(z, q - 1);
        *s = zq1 * z;
        *ds = q * zq1;
        *d2s = q * (q - 1) * pow(z, q - 2);
    }
}

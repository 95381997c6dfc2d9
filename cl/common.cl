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

/* Helper (non-kernel) functions are declared PEGR_INLINE. A bare `inline` is a C99 inline
 * definition: clang emits no body for it at -O0 (-cl-opt-disable), and the AMD and Mesa
 * toolchains then fail to link ("undefined hidden symbol"). `static inline` always emits one, but
 * OpenCL C 1.1 has no `static`; there a plain definition (external linkage, emitted at every
 * optimization level) is the portable form -- a program is one translation unit, so it cannot
 * clash. __OPENCL_C_VERSION__ is only defined from OpenCL C 1.2 on. */
#if defined(__OPENCL_C_VERSION__) && __OPENCL_C_VERSION__ >= 120
#define PEGR_INLINE static inline
#else
#define PEGR_INLINE
#endif

/* Shared by the kernel files: the methods' numbers (the host's pegr_method) and the activation. */
#define PEGR_METHOD_GD 0
#define PEGR_METHOD_PEGR 1
#define PEGR_METHOD_GR 2

/* s(z) = max(z, 0)^q and its derivatives; q >= 1 (q = 1: ReLU, s'' = 0). The integer q of the
 * experiments (1..4) use products only -- exact and far cheaper than pow, which dominated the
 * coefficient kernel on CPUs; any other q takes one pow. */
PEGR_INLINE void pegr_activation(const REAL z, const REAL q, REAL *s, REAL *ds, REAL *d2s)
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
    } else if (q == (REAL)3) {
        const REAL z2 = z * z;
        *s = z2 * z;
        *ds = 3 * z2;
        *d2s = 6 * z;
    } else if (q == (REAL)4) {
        const REAL z2 = z * z;
        *s = z2 * z2;
        *ds = 4 * z2 * z;
        *d2s = 12 * z2;
    } else {
        const REAL zq2 = pow(z, q - 2); /* z^(q-2); q in (1, 2) only reaches here for gd */
        *s = zq2 * z * z;
        *ds = q * zq2 * z;
        *d2s = q * (q - 1) * zq2;
    }
}

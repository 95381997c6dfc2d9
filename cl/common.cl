/* common.cl: the preamble every pegr program starts with. The host passes, as -D options
 * (src/device/program.c), per device and precision:
 *   REAL          float or double (one kernel source serves both precisions)
 *   PEGR_FP64     1 when REAL is double (the device then lists cl_khr_fp64)
 *   PEGR_WG_SIZE  the work-group size kernels with local-memory reductions are launched with
 *                 (a power of two within the device's and the kernel's limits; may be 1)
 *   PEGR_IS_CPU   1 on CPU devices (access-pattern choices)
 * and the constants host and kernels share, defined only in src/device/kernel_abi.h:
 *   PEGR_METHOD_GD, PEGR_METHOD_PEGR, PEGR_METHOD_GR  the method ids kernels receive (pegr_method)
 *   PEGR_REDUCE_SUM, PEGR_REDUCE_SQUARES, PEGR_REDUCE_DOT  pegr_reduce_sum's modes
 *   PEGR_STATS_COUNT    the sums pegr_train_stats writes per run
 *   PEGR_NO_DIVERGENCE  first_bad while no step has diverged (INT_MAX: atomic_min keeps the first)
 *   PEGR_WG_SIZE_MAX    the largest PEGR_WG_SIZE
 * Only OpenCL C 1.2 is used here and in every kernel file. */
#ifndef REAL
#error "REAL must be defined by the host: -D REAL=float or -D REAL=double"
#endif
#ifndef PEGR_WG_SIZE
#error "PEGR_WG_SIZE must be defined by the host"
#endif
#if !defined(PEGR_METHOD_GD) || !defined(PEGR_METHOD_PEGR) || !defined(PEGR_METHOD_GR) ||          \
    !defined(PEGR_REDUCE_SUM) || !defined(PEGR_REDUCE_SQUARES) || !defined(PEGR_REDUCE_DOT) ||     \
    !defined(PEGR_STATS_COUNT) || !defined(PEGR_NO_DIVERGENCE) || !defined(PEGR_WG_SIZE_MAX)
#error "the host passes the constants of src/device/kernel_abi.h as -D options"
#endif
#if PEGR_WG_SIZE > PEGR_WG_SIZE_MAX
#error "PEGR_WG_SIZE is above PEGR_WG_SIZE_MAX"
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

/* Shared by the kernel files: the activation. */
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

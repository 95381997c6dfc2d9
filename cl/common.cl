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

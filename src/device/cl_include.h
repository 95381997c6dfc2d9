/* cl_include.h: the one place OpenCL's header is included. CL_TARGET_OPENCL_VERSION=120 comes
 * from meson project-wide; Apple ships the header as a framework under another path. */
#ifndef PEGR_CL_INCLUDE_H
#define PEGR_CL_INCLUDE_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
/* Apple marks every OpenCL call deprecated (macOS 10.14 on); with warnings as errors the build
 * would stop. This macro of Apple's headers keeps them quiet. */
#ifndef CL_SILENCE_DEPRECATION
#define CL_SILENCE_DEPRECATION
#endif
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#endif

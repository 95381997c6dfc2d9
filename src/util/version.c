/* version.c: the library's version string, from meson's project version. */
#include "pegr/pegr.h"

#ifndef PEGR_VERSION_STRING
#define PEGR_VERSION_STRING "0.0.0"
#endif

const char *pegr_version(void) { return PEGR_VERSION_STRING; }

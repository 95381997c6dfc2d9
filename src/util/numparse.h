/* numparse.h: the strict number parser, declared in the public pegr/numparse.h. */
#ifndef PEGR_UTIL_NUMPARSE_H
#define PEGR_UTIL_NUMPARSE_H

#include "pegr/numparse.h"

#endif

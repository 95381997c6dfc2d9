/* fsutil.h: small file helpers (whole-file read, atomic write, mkdir -p, tree removal, path
 * joining) -- public since clients write their results the same way: the declarations are in
 * pegr/io.h; this name stays for the library's own includes. */
#ifndef PEGR_FSUTIL_H
#define PEGR_FSUTIL_H

#include "pegr/io.h"

#endif

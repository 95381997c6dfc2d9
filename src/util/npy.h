/* npy.h: reading and writing NumPy .npy files -- public since the CLI and clients read and write
 * them: the declarations are in pegr/io.h; this name stays for the library's own includes. */
#ifndef PEGR_NPY_H
#define PEGR_NPY_H

#include "pegr/io.h"

#endif

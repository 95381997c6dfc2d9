/* json.h: the tiny JSON writer every pegr JSON file comes from -- public (clients write results
 * with it): the declarations are in pegr/io.h; this name stays for the library's own includes. */
#ifndef PEGR_JSON_H
#define PEGR_JSON_H

#include "pegr/io.h"

#endif

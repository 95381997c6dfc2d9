/* train_output.h: a run's files in its output directory -- public (pegr/run_files.h), since the
 * CLI and clients write them; this name stays for the library's own includes. */
#ifndef PEGR_TRAIN_OUTPUT_H
#define PEGR_TRAIN_OUTPUT_H

#include "pegr/pegr.h" /* what its includers had through it before */
#include "pegr/run_files.h"

#endif

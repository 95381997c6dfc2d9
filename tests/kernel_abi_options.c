/* kernel_abi_options.c: prints the -D options of src/device/kernel_abi.h (the constants host and
 * kernels share) on one line, for the standalone kernel checks (tests/cl_program.sh): they
 * compile the kernels with exactly the options the library passes, written nowhere else. */
#include <stdio.h>
#include <stdlib.h>

#include "device/kernel_abi.h"

int main(void)
{
    size_t len = pegr_kernel_abi_options(NULL, 0);
    char *options = malloc(len + 1);
    if (!options) {
        fputs("kernel_abi_options: out of memory\n", stderr);
        return 1;
    }
    pegr_kernel_abi_options(options, len + 1);
    puts(options);
    free(options);
    return 0;
}

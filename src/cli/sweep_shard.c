/* sweep_shard.c: which share of a sweep this process runs: --shard I/N, else Slurm's array
 * variables (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT, from SLURM_ARRAY_TASK_MIN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sweep_cli.h"

int sweep_parse_shard(const sweep_cli *cli, size_t *index, size_t *count)
{
    *index = 0;
    *count = 1;
    if (cli->shard) {
        char tail;
        if (sscanf(cli->shard, "%zu/%zu%c", index, count, &tail) != 2 || *count == 0 || *index >= *count)
            return pegr_args_usage_error(&SWEEP_COMMAND, "--shard must be I/N with 0 <= I < N, not '%s'",
                                         cli->shard);
        return -1;
    }
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *n = getenv("SLURM_ARRAY_TASK_COUNT");
    if (id && n) { /* array indices may start at SLURM_ARRAY_TASK_MIN */
        const char *min = getenv("SLURM_ARRAY_TASK_MIN");
        long i = atol(id) - (min ? atol(min) : 0), c = atol(n);
        if (c <= 0 || i < 0 || i >= c)
            return pegr_args_usage_error(&SWEEP_COMMAND, "SLURM_ARRAY_TASK_ID %s does not fit "
                                         "SLURM_ARRAY_TASK_COUNT %s", id, n);
        *index = (size_t)i;
        *count = (size_t)c;
    }
    return -1;
}

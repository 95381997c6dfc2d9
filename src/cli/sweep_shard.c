/* sweep_shard.c: which share of a sweep this process runs: --shard I/N, else Slurm's array
 * variables (SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT, from SLURM_ARRAY_TASK_MIN), every
 * number parsed strictly (numparse.h): a typo must not quietly run share 0, or nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/numparse.h"
#include "sweep_cli.h"

static int bad_shard(const char *text)
{
    return pegr_args_usage_error(&SWEEP_COMMAND, "--shard must be I/N, integers (decimal digits "
                                 "only) with 0 <= I < N, not '%s'", text);
}

static int parse_shard_option(const char *text, size_t *index, size_t *count)
{
    const char *slash = strchr(text, '/');
    if (!slash) return bad_shard(text);
    char *i_text = strndup(text, (size_t)(slash - text));
    if (!i_text) {
        fprintf(stderr, "pegr sweep: out of memory\n");
        return PEGR_EXIT_FAILURE;
    }
    size_t i = 0, n = 0;
    int ok = pegr_parse_size(slash + 1, 1, SIZE_MAX, &n) == PEGR_NUM_OK &&
             pegr_parse_size(i_text, 0, n - 1, &i) == PEGR_NUM_OK;
    free(i_text);
    if (!ok) return bad_shard(text);
    *index = i;
    *count = n;
    return -1;
}

/* A Slurm variable as an integer in [min, max]; -1 to go on, else the usage error's exit code. */
static int slurm_variable(const char *name, const char *text, uint64_t min, uint64_t max,
                          uint64_t *out)
{
    if (pegr_parse_u64(text, min, max, out) == PEGR_NUM_OK) return -1;
    char what[96];
    pegr_describe_uint(min, max, what, sizeof what);
    return pegr_args_usage_error(&SWEEP_COMMAND, "%s must be %s, not '%s' (or give --shard I/N)",
                                 name, what, text);
}

int sweep_parse_shard(const sweep_cli *cli, size_t *index, size_t *count)
{
    *index = 0;
    *count = 1;
    if (cli->shard) return parse_shard_option(cli->shard, index, count);
    const char *id = getenv("SLURM_ARRAY_TASK_ID"), *n = getenv("SLURM_ARRAY_TASK_COUNT");
    if (!id || !n) return -1; /* not a Slurm array task: the whole sweep */
    /* array indices start at SLURM_ARRAY_TASK_MIN (0 when unset): this task's share is
     * ID - MIN of COUNT */
    const char *min_text = getenv("SLURM_ARRAY_TASK_MIN");
    uint64_t c = 0, min = 0, i = 0;
    int rc = slurm_variable("SLURM_ARRAY_TASK_COUNT", n, 1, SIZE_MAX, &c);
    if (rc < 0 && min_text) rc = slurm_variable("SLURM_ARRAY_TASK_MIN", min_text, 0, UINT64_MAX, &min);
    if (rc >= 0) return rc;
    /* ID in MIN .. MIN + COUNT - 1 (the sum capped: past UINT64_MAX any ID >= MIN fits) */
    uint64_t last = min > UINT64_MAX - (c - 1) ? UINT64_MAX : min + (c - 1);
    rc = slurm_variable("SLURM_ARRAY_TASK_ID", id, min, last, &i);
    if (rc >= 0) return rc;
    *index = (size_t)(i - min);
    *count = (size_t)c;
    return -1;
}

/* sweep_spec.h: what a sweep is -- grid axes over the experiment's options, methods, seeds, and the
 * fixed options -- and its runs, enumerated in one fixed order so that shards, restarts and
 * `pegr collect` all agree on which run is which. */
#ifndef PEGR_CLI_SWEEP_SPEC_H
#define PEGR_CLI_SWEEP_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "train.h"

#define SWEEP_MAX_AXES 4
#define SWEEP_MAX_VALUES 256
#define SWEEP_MAX_METHODS 4
#define SWEEP_MAX_SEEDS 1024

typedef struct sweep_axis {
    char name[32]; /* an experiment option: "n", "mu-norm", ... */
    char values[SWEEP_MAX_VALUES][32]; /* as text, exactly as passed to the option */
    size_t count;
} sweep_axis;

typedef struct sweep_spec {
    sweep_axis axes[SWEEP_MAX_AXES];
    size_t naxes;
    const char *methods[SWEEP_MAX_METHODS];
    size_t nmethods;
    uint64_t seeds[SWEEP_MAX_SEEDS];
    size_t nseeds;
    const char *preset;
    const char *precision;  /* "fp32" / "fp64" */
    pegr_train_config base; /* preset + fixed options, validated */
} sweep_spec;

/* Parse "name=a:b:step" (inclusive, floating point) or "name=v1,v2,..." into an axis; the name
 * must be an experiment option other than method and seed. NULL on success, else a message
 * (static storage). */
const char *sweep_parse_axis(const char *text, sweep_axis *axis);
/* Parse "0-4" or "0,3,7" (or a mix, "0-2,9"). NULL or a message. */
const char *sweep_parse_seeds(const char *text, sweep_spec *spec);

size_t sweep_run_count(const sweep_spec *spec);
/* Run k's coordinates: axis value indices (out[naxes]), method, seed. */
void sweep_run_coords(const sweep_spec *spec, size_t k, size_t *value_index, size_t *method,
                      size_t *seed);
/* Run k's id: "gd-s0-n=20-mu-norm=0.5": unique in the sweep, a file name. */
void sweep_run_id(const sweep_spec *spec, size_t k, char *out, size_t len);
/* Run k's configuration: base, then its axis values through the option parser, its method and
 * seed. PEGR_EXIT_OK or a usage error (printed). */
int sweep_run_config(const sweep_spec *spec, size_t k, pegr_train_config *out);
/* The text that identifies the sweep -- axes with values, methods, seeds, precision and every
 * resolved option of the base configuration -- so equal texts mean the same runs, whatever order
 * the flags came in. malloc'ed. */
char *sweep_canonical(const sweep_spec *spec);

/* The CSV column names of the axes ("mu-norm" -> "mu_norm") for sweep.json and the heatmaps. */
void sweep_axis_column(const char *option, char *out, size_t len);

#endif

/* train_output.h: a run's files in its output directory, each written to a temporary name and
 * renamed: config.json (the resolved configuration, the device, the version), metrics.jsonl and
 * metrics.csv (one record per log step), summary.json, W.npy and W0.npy. */
#ifndef PEGR_TRAIN_OUTPUT_H
#define PEGR_TRAIN_OUTPUT_H

#include <stdio.h>

#include "pegr/pegr.h"
#include "pegr/train.h"

typedef struct pegr_run_info {
    const char *device;          /* one line: "host reference ..." or "device 0: ..." */
    const pegr_device_info *dev; /* NULL for the host reference */
    const char *precision;       /* "fp32" / "fp64" as really used */
    const char *gemm;            /* "own", "clblast", or NULL */
} pegr_run_info;

/* config.json (before the run). */
pegr_status pegr_train_write_config(const char *dir, const pegr_train_config *c,
                                    const pegr_run_info *info, pegr_error *err);
/* metrics.jsonl and metrics.csv from the records so far (rewritten whole, atomically). */
pegr_status pegr_train_write_metrics(const char *dir, const pegr_train_result *r, pegr_error *err);
/* summary.json, metrics files, W.npy and W0.npy (W only when finite) after the run. */
pegr_status pegr_train_write_results(const char *dir, const pegr_train_config *c,
                                     const pegr_train_result *r, size_t d, pegr_error *err);

/* Before a run into `dir`: remove every file a previous run left there -- its files in dir and
 * in the per-method directories of --compare (dir/gd, dir/sgd, dir/gr, dir/pegr, removed when
 * that empties them), and their temporaries -- so nothing stale survives beside the new files.
 * Only pegr's own file names are touched, symbolic links are removed and never followed, other
 * files stay. A missing dir is fine. */
pegr_status pegr_train_clear_outputs(const char *dir, pegr_error *err);

/* The data options as resolved (the effective ||mu|| and SNR) as keys of a JSON object: in
 * config.json and in `pegr data`'s meta.json. */
struct pegr_json;
void pegr_data_config_json(struct pegr_json *j, const pegr_data_config *c);

/* The JSON keys of one record, shared by metrics.jsonl and the summary. */
void pegr_train_json_metrics(struct pegr_json *j, const pegr_metrics *m);

/* One CSV number, exact (%.17g); nothing for NaN/Inf (an empty cell, as JSON's null). */
void pegr_csv_number(FILE *f, double v);

#endif

/* run_files.h: a training run's files in its output directory, as `pegr train` and `pegr sweep`
 * write them: config.json (the resolved configuration, the device, the version), metrics.jsonl and
 * metrics.csv (one record per log step), summary.json, W.npy and W0.npy -- each written to a
 * temporary name and renamed (pegr/io.h), so a reader never sees half a file. A client that writes
 * these files for its own runs gets directories pegr's tools (`pegr collect`, tools/plot.py) read.
 *
 * Errors: a pegr_status, and the optional `err` names the file and what failed. Ownership: the
 * caller keeps everything it passes. Thread-safety: distinct directories may be written from
 * distinct threads at once; one directory by one writer at a time. */
#ifndef PEGR_RUN_FILES_H
#define PEGR_RUN_FILES_H

#include <stddef.h>
#include <stdio.h>

#include "pegr/device.h"
#include "pegr/io.h"
#include "pegr/status.h"
#include "pegr/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What ran the run, for config.json's "device" object. Every string is borrowed, not copied. */
typedef struct pegr_run_info {
    const char *device;          /* one line: pegr_backend_description, "host reference ..." or
                                    "device 0: ..." */
    const pegr_device_info *dev; /* NULL for the host reference (pegr_backend_device) */
    const char *precision;       /* "fp32" / "fp64" as really used (pegr_backend_precision_name) */
    const char *gemm;            /* "own", "clblast", or NULL (no "gemm" key) */
} pegr_run_info;

/* config.json (before the run). dir must exist. */
PEGR_API pegr_status pegr_train_write_config(const char *dir, const pegr_train_config *c,
                                             const pegr_run_info *info, pegr_error *err);
/* metrics.jsonl and metrics.csv from the records so far (rewritten whole, atomically): what a
 * progress callback calls now and then, so a killed run leaves valid files. */
PEGR_API pegr_status pegr_train_write_metrics(const char *dir, const pegr_train_result *r,
                                              pegr_error *err);
/* summary.json, the metrics files, W.npy and W0.npy (W only when finite) after the run; d is the
 * data's dimension (the weights are (2, c->m, d)). */
PEGR_API pegr_status pegr_train_write_results(const char *dir, const pegr_train_config *c,
                                              const pegr_train_result *r, size_t d,
                                              pegr_error *err);

/* Before a run into `dir`: remove every file a previous run left there -- its files in dir and
 * in the per-method directories of --compare (dir/gd, dir/sgd, dir/gr, dir/pegr, removed when
 * that empties them), and their temporaries -- so nothing stale survives beside the new files.
 * Only pegr's own file names are touched, symbolic links are removed and never followed, other
 * files stay. A missing dir is fine. */
PEGR_API pegr_status pegr_train_clear_outputs(const char *dir, pegr_error *err);

/* The data options as resolved (the effective ||mu|| and SNR) as keys of the JSON object being
 * written: in config.json and in `pegr data`'s meta.json. */
PEGR_API void pegr_data_config_json(pegr_json *j, const pegr_data_config *c);

/* The JSON keys of one record's metrics, shared by metrics.jsonl and the summary. */
PEGR_API void pegr_train_json_metrics(pegr_json *j, const pegr_metrics *m);

/* One CSV number as the metrics files write it: exact (%.17g); nothing for NaN/Inf (an empty
 * cell, as JSON's null). */
PEGR_API void pegr_csv_number(FILE *f, double v);

#ifdef __cplusplus
}
#endif
#endif

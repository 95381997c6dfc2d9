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

/* The files of a run on the caller's own data, in the order of these names (the `pegr train`
 * flags --X, --y, --X-test, --y-test, --mu). */
#define PEGR_DATA_FILE_COUNT 5
#define PEGR_DATA_FILE_NAMES {"X", "y", "X_test", "y_test", "mu"}

/* config.json (before the run). dir must exist. Besides the run's description ("data", "model",
 * "training": the resolved ||mu|| and SNR; "device"; "pegr_version", "git_revision") it holds
 * "options": every option of pegr_train_options under its name, as the value that reads back to
 * the same field (a number, true/false, a name, an array of numbers; null: the default where no
 * value gives it, an SNR not given) -- what pegr_train_config_read reads. */
PEGR_API pegr_status pegr_train_write_config(const char *dir, const pegr_train_config *c,
                                             const pegr_run_info *info, pegr_error *err);
/* pegr_train_write_config of a run on the caller's own data: data_files holds
 * PEGR_DATA_FILE_COUNT paths (NULL where not given), and config.json records each under
 * "data_files" with its size and a 128-bit hash of its bytes (null where not given), so a re-run
 * can tell whether the files changed. data_files NULL: exactly pegr_train_write_config. */
PEGR_API pegr_status pegr_train_write_config_data(const char *dir, const pegr_train_config *c,
                                                  const pegr_run_info *info,
                                                  const char *const *data_files, pegr_error *err);
/* The config of a run from its config.json (`pegr train --config FILE`): *out becomes the
 * defaults with every member of "options" set through pegr_train_config_set, so a config written
 * by pegr_train_write_config reads back equal field by field (pegr_train_config_equal). Refused
 * with PEGR_ERR_FORMAT and a message naming the file (and the line and column where it applies):
 * malformed JSON, a key config.json does not have, an unknown option, a missing option (every
 * option of the table must be there), a value of the wrong kind or out of the option's range, a
 * file of another major pegr version (pegr_version). PEGR_ERR_NOT_FOUND / PEGR_ERR_IO when it
 * cannot be read. Each value is checked as the option's flag checks it; the whole config is not
 * validated (flags may override it first): pegr_train_config_validate. *out is unchanged on
 * failure. */
PEGR_API pegr_status pegr_train_config_read(const char *path, pegr_train_config *out,
                                            pegr_error *err);
/* The data files the run of config.json at `path` trained on (its "data_files", written by
 * pegr_train_write_config_data), each checked against the file as it is now: OUT: paths[k]
 * (PEGR_DATA_FILE_COUNT entries, in PEGR_DATA_FILE_NAMES' order) the recorded path, malloc'ed
 * (free each), NULL where the run had none; all NULL for a run on generated data. Errors (every
 * paths[k] NULL then): PEGR_ERR_INVALID_ARGUMENT naming the file when it cannot be read now or no
 * longer has the recorded size and hash (the run cannot be repeated from it); PEGR_ERR_FORMAT for a
 * malformed record; the reader's errors for the file itself. */
PEGR_API pegr_status pegr_train_config_data_files(const char *path, char **paths, pegr_error *err);
/* 1 when every option of pegr_train_options has the same value in a and b (the sigmas: the same
 * list), else 0 (also for NULL). */
PEGR_API int pegr_train_config_equal(const pegr_train_config *a, const pegr_train_config *b);
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
 * in the per-method directories of --compare (dir/METHOD for each method's name, removed when
 * that empties them), and their temporaries -- so nothing stale survives beside the new files.
 * Only pegr's own file names are touched, symbolic links are removed and never followed, other
 * files stay. A missing dir is fine. */
PEGR_API pegr_status pegr_train_clear_outputs(const char *dir, pegr_error *err);

/* Before a run into `dir`: may it write there without destroying another run? PEGR_OK when dir
 * does not exist, is empty, or holds only runs equal (pegr_train_config_equal) to the ones this
 * run writes at their places: configs[0] into dir itself (per_method 0, count 1), or each
 * configs[k] into dir/METHOD (per_method 1, the layout of `pegr train --compare`). Other files
 * beside such runs (plots, notes) are no reason to refuse. Otherwise PEGR_ERR_INVALID_ARGUMENT
 * with a message naming dir and the reason: "'DIR' holds another run: DIR/config.json has --lr
 * 0.1 where this run has --lr 0.5", "... (DIR/gd/config.json, which this run would remove)", "...
 * a run whose config cannot be read (...)", "'DIR' is not empty and holds no pegr run". The
 * device and precision are not compared: the same config on another device is the same run.
 * PEGR_ERR_IO when dir cannot be listed. Nothing is changed. */
PEGR_API pegr_status pegr_train_check_outputs(const char *dir, const pegr_train_config *configs,
                                              size_t count, int per_method, pegr_error *err);

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

/* config_data_files.c: the data files a run's config.json records (a run on the caller's own data),
 * checked against the files as they are now, so `pegr train --config` repeats such a run on the
 * same bytes or says why it cannot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pegr/run_files.h"
#include "util/hash.h"
#include "util/json_read.h"

/* One recorded file {"path", "bytes", "hash"} against the file at that path now. */
static pegr_status check_one(const char *config, const char *name, const pegr_json_value *rec,
                             char **path_out, pegr_error *err)
{
    const pegr_json_value *path = pegr_json_member(rec, "path");
    const pegr_json_value *bytes = pegr_json_member(rec, "bytes");
    const pegr_json_value *hash = pegr_json_member(rec, "hash");
    if (rec->kind != PEGR_JSON_OBJECT || !path || path->kind != PEGR_JSON_STRING || !*path->text ||
        !bytes || bytes->kind != PEGR_JSON_NUMBER || !hash || hash->kind != PEGR_JSON_STRING ||
        strlen(hash->text) != 32)
        return pegr_error_set(err, PEGR_ERR_FORMAT,
                              "%s: data_files.%s must be {\"path\": ..., \"bytes\": N, \"hash\": 32 "
                              "hex digits} or null, as pegr train writes it", config, name);
    char now[33];
    size_t size = 0;
    if (!pegr_hash_file(path->text, now, &size))
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "%s: the run trained on %s = '%s', which cannot be read now (%s); "
                              "give --X and --y (and the other data files) to re-run it on files "
                              "where they are now", config, name, path->text, strerror(errno));
    if ((double)size != bytes->number || strcmp(now, hash->text) != 0)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "%s: the run trained on %s = '%s' of %.0f bytes with hash %s; that "
                              "file now has %zu bytes and hash %s: it changed, so the run cannot be "
                              "repeated from it (give --X and --y to train on the files as they "
                              "are)", config, name, path->text, bytes->number, hash->text, size,
                              now);
    *path_out = strdup(path->text);
    return *path_out ? PEGR_OK : pegr_error_set(err, PEGR_ERR_NO_MEMORY, "out of memory");
}

pegr_status pegr_train_config_data_files(const char *config, char **paths, pegr_error *err)
{
    static const char *const names[PEGR_DATA_FILE_COUNT] = PEGR_DATA_FILE_NAMES;
    if (!config || !paths)
        return pegr_error_set(err, PEGR_ERR_INVALID_ARGUMENT,
                              "pegr_train_config_data_files: NULL argument");
    for (size_t k = 0; k < PEGR_DATA_FILE_COUNT; k++) paths[k] = NULL;
    pegr_json_value root;
    pegr_status s = pegr_json_read_file(config, &root, err);
    const pegr_json_value *files = s == PEGR_OK ? pegr_json_member(&root, "data_files") : NULL;
    if (s == PEGR_OK && files && files->kind != PEGR_JSON_NULL && files->kind != PEGR_JSON_OBJECT)
        s = pegr_error_set(err, PEGR_ERR_FORMAT, "%s: data_files must be an object, not %s",
                           config, pegr_json_kind_name(files->kind));
    for (size_t k = 0; s == PEGR_OK && files && files->kind == PEGR_JSON_OBJECT &&
                       k < PEGR_DATA_FILE_COUNT; k++) {
        const pegr_json_value *rec = pegr_json_member(files, names[k]);
        if (rec && rec->kind != PEGR_JSON_NULL) s = check_one(config, names[k], rec, &paths[k], err);
    }
    if (s == PEGR_OK && (paths[2] != NULL) != (paths[3] != NULL))
        s = pegr_error_set(err, PEGR_ERR_FORMAT, "%s: data_files has one of X_test and y_test "
                           "without the other", config);
    if (s == PEGR_OK && files && files->kind == PEGR_JSON_OBJECT && (!paths[0] || !paths[1]))
        s = pegr_error_set(err, PEGR_ERR_FORMAT, "%s: data_files must record X and y", config);
    if (s != PEGR_OK)
        for (size_t k = 0; k < PEGR_DATA_FILE_COUNT; k++) {
            free(paths[k]);
            paths[k] = NULL;
        }
    pegr_json_value_free(&root); /* set by the reader on failure too */
    return s;
}

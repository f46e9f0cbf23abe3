/* SPDX-License-Identifier: MIT */
/* safetensors.c — model files in the safetensors format: saving, loading
 * and reading a parameter store (the reader is safetensors_read.c, the
 * writer safetensors_write.c; checkpoint.c builds on them too).
 *
 * The format, from its published specification
 * (https://github.com/huggingface/safetensors#format): an unsigned 64-bit
 * little-endian header length N; N bytes of UTF-8 JSON, an object mapping
 * each tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (byte offsets into the data after the header, end exclusive) plus an
 * optional "__metadata__" object of strings; then the data, little-endian
 * and row-major, the tensors tiling it with neither gaps nor overlaps.
 * Files written here pad the header with spaces so the data starts at a
 * multiple of 8 bytes, and put the 8-byte dtypes before the 4-byte ones, so
 * that every tensor is aligned to its element size for readers that map
 * the file (the reference writer does the same).
 *
 * Reading validates the whole header against the file's size before any
 * of its numbers is trusted for an allocation, then (for a load) matches it
 * against the model, reads all data into a temporary buffer and only then
 * copies: a bad file leaves the model as it was. Saving goes through a
 * temporary file that is flushed, synced and renamed over the target, so a
 * good file is never replaced by a half-written one. On a big-endian host
 * the bytes are swapped on the way in and out.
 *
 * json-c parses and writes the header. Its own allocations cannot go
 * through ag_malloc (json-c has no allocator hook); everything else does. */
#include "safetensors_internal.h"

/* ------------------------------------------------------------------ */
/* The public API                                                      */
/* ------------------------------------------------------------------ */

/* Names and tensors of a store as two arrays (borrowed entries). */
static bool store_arrays(const char *path, const ag_params *p, const char ***names,
                         ag_tensor ***ts)
{
    size_t n = ag_params_count(p);
    *names = ag_calloc(n, sizeof **names);
    *ts = ag_calloc(n, sizeof **ts);
    if (!*names || !*ts) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory", path);
        ag_free(*names);
        ag_free(*ts);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        (*ts)[i] = ag_params_at(p, i, &(*names)[i]);
    return true;
}

bool ag_safetensors_save(const char *path, const ag_params *p, const char *const *metadata)
{
    if (!path || !p) {
        ag_error_set(AG_ERR_NULL, "safetensors_save: %s is NULL", path ? "store" : "path");
        return false;
    }
    const char **names;
    ag_tensor **ts;
    if (!store_arrays(path, p, &names, &ts))
        return false;
    bool ok = ag_st_save(path, ag_params_count(p), names, ts, metadata);
    ag_free(names);
    ag_free(ts);
    return ok;
}

bool ag_safetensors_load(const char *path, ag_params *p)
{
    if (!path || !p) {
        ag_error_set(AG_ERR_NULL, "safetensors_load: %s is NULL", path ? "store" : "path");
        return false;
    }
    const char **names;
    ag_tensor **ts;
    if (!store_arrays(path, p, &names, &ts))
        return false;
    ag_st_file sf;
    bool ok = ag_st_open(&sf, path) && ag_st_load_into(&sf, ag_params_count(p), names, ts);
    ag_st_close(&sf);
    ag_free(names);
    ag_free(ts);
    return ok;
}

ag_params *ag_safetensors_read(const char *path)
{
    if (!path) {
        ag_error_set(AG_ERR_NULL, "safetensors_read: path is NULL");
        return NULL;
    }
    ag_st_file sf;
    if (!ag_st_open(&sf, path))
        return NULL;
    ag_params *p = ag_params_new();
    void **dest = ag_calloc(sf.n, sizeof *dest);
    bool ok = p && dest;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; ok && i < sf.n; i++) {
        const ag_st_entry *e = &sf.entries[i];
        size_t len = strlen(e->name);
        if (len == 0 || len > 127) {
            ag_error_set(AG_ERR_VALUE,
                         "%s: tensor name '%.40s%s' has %zu bytes; parameter names have 1 to 127",
                         path, e->name, len > 40 ? "..." : "", len);
            ok = false;
            break;
        }
        ag_tensor *t = ag_leaf_new(e->dtype, e->ndim, e->shape);
        ok = t && ag_params_add(p, e->name, t); /* the store frees t on failure */
        if (ok)
            dest[i] = t->data;
    }
    ok = ok && ag_st_read_data(&sf, dest);
    ag_free(dest);
    ag_st_close(&sf);
    if (!ok) {
        ag_params_free(p);
        return NULL;
    }
    return p;
}

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

#include <string.h>

/* ------------------------------------------------------------------ */
/* The public API                                                      */
/* ------------------------------------------------------------------ */

/* Names and tensors of a store as two arrays (borrowed entries). */
/* The store's names (renamed by the first pair of `map` whose `ours`
 * prefixes the name, when map is given) and tensors, in its order. The
 * renamed names are allocated (*owned, freed by free_arrays); two names
 * that a map makes one are refused. */
static bool store_arrays(const char *path, const ag_params *p, int n_map, const ag_name_map *map,
                         const char ***names, ag_tensor ***ts, char ***owned)
{
    size_t n = ag_params_count(p);
    *names = ag_calloc(n, sizeof **names);
    *ts = ag_calloc(n, sizeof **ts);
    *owned = ag_calloc(n, sizeof **owned);
    bool ok = *names && *ts && *owned;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; ok && i < n; i++) {
        const char *name;
        (*ts)[i] = ag_params_at(p, i, &name);
        (*names)[i] = name;
        for (int k = 0; k < n_map; k++) {
            size_t lo = strlen(map[k].ours);
            if (strncmp(name, map[k].ours, lo) != 0)
                continue;
            size_t size = strlen(map[k].theirs) + strlen(name + lo) + 1;
            char *r = ag_malloc(size);
            if (!r) {
                ag_error_set(AG_ERR_NOMEM, "%s: out of memory", path);
                ok = false;
                break;
            }
            snprintf(r, size, "%s%s", map[k].theirs, name + lo);
            (*owned)[i] = r;
            (*names)[i] = r;
            break;
        }
    }
    for (size_t i = 0; ok && i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp((*names)[i], (*names)[j]) == 0) {
                ag_error_set(AG_ERR_VALUE, "%s: the name map makes two tensors '%.100s'", path,
                             (*names)[i]);
                ok = false;
                break;
            }
    return ok;
}

static void free_arrays(const ag_params *p, const char **names, ag_tensor **ts, char **owned)
{
    for (size_t i = 0; owned && i < ag_params_count(p); i++)
        ag_free(owned[i]);
    ag_free(owned);
    ag_free(names);
    ag_free(ts);
}

static bool map_ok(const char *who, int n, const ag_name_map *map)
{
    if (n < 0 || (n > 0 && !map)) {
        ag_error_set(n < 0 ? AG_ERR_VALUE : AG_ERR_NULL, "%s: %d name pairs%s", who, n,
                     n > 0 ? " but map is NULL" : "");
        return false;
    }
    for (int k = 0; k < n; k++)
        if (!map[k].ours || !map[k].theirs) {
            ag_error_set(AG_ERR_NULL, "%s: name pair %d has a NULL prefix", who, k);
            return false;
        }
    return true;
}

bool ag_safetensors_save_as(const char *path, const ag_params *p, const char *const *metadata,
                            int n_map, const ag_name_map *map)
{
    if (!path || !p) {
        ag_error_set(AG_ERR_NULL, "safetensors_save: %s is NULL", path ? "store" : "path");
        return false;
    }
    if (!map_ok("safetensors_save_as", n_map, map))
        return false;
    const char **names = NULL;
    ag_tensor **ts = NULL;
    char **owned = NULL;
    bool ok = store_arrays(path, p, n_map, map, &names, &ts, &owned) &&
              ag_st_save(path, ag_params_count(p), names, ts, metadata);
    free_arrays(p, names, ts, owned);
    return ok;
}

bool ag_safetensors_save(const char *path, const ag_params *p, const char *const *metadata)
{
    return ag_safetensors_save_as(path, p, metadata, 0, NULL);
}

bool ag_safetensors_load_as(const char *path, ag_params *p, int n_map, const ag_name_map *map)
{
    if (!path || !p) {
        ag_error_set(AG_ERR_NULL, "safetensors_load: %s is NULL", path ? "store" : "path");
        return false;
    }
    if (!map_ok("safetensors_load_as", n_map, map))
        return false;
    const char **names = NULL;
    ag_tensor **ts = NULL;
    char **owned = NULL;
    bool ok = store_arrays(path, p, n_map, map, &names, &ts, &owned);
    if (ok) {
        ag_st_file sf;
        ok = ag_st_open(&sf, path) && ag_st_load_into(&sf, ag_params_count(p), names, ts);
        ag_st_close(&sf);
    }
    free_arrays(p, names, ts, owned);
    return ok;
}

bool ag_safetensors_load(const char *path, ag_params *p)
{
    return ag_safetensors_load_as(path, p, 0, NULL);
}

/* fc1. <-> 0., fc2. <-> 2., ...: nn.Sequential numbers its modules, and the
 * activation between two Linear layers takes the odd numbers. */
static const ag_name_map SEQUENTIAL[] = {
    {"fc1.", "0."},   {"fc2.", "2."},   {"fc3.", "4."},   {"fc4.", "6."},   {"fc5.", "8."},
    {"fc6.", "10."},  {"fc7.", "12."},  {"fc8.", "14."},  {"fc9.", "16."},  {"fc10.", "18."},
    {"fc11.", "20."}, {"fc12.", "22."}, {"fc13.", "24."}, {"fc14.", "26."}, {"fc15.", "28."},
};

const ag_name_map *ag_mlp_sequential_map(void)
{
    return SEQUENTIAL;
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
        ag_tensor *t = ag_empty(e->dtype, e->ndim, e->shape);
        ok = t && ag_params_add(p, e->name, t); /* the store frees t on failure */
        if (ok)
            dest[i] = ag_data(t);
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

/* SPDX-License-Identifier: MIT */
/* safetensors_write.c — writing a safetensors file.
 *
 * The header is built with json-c, padded with spaces so that the data
 * starts at a multiple of 8 bytes, with the 8-byte dtypes first so that
 * every tensor is aligned to its element size; the file goes through a
 * temporary that is flushed, synced and renamed over the target, so a good
 * file is never replaced by a half-written one.
 *
 * A save that is killed leaves its temporary behind, as large as the model.
 * The writer holds an exclusive flock on its temporary until it is renamed
 * or removed, and the system drops that lock when the writer dies; so the
 * next save of the same target removes every temporary of that target it
 * can lock: those are the leftovers of dead saves, never a live one's. */
#define _DEFAULT_SOURCE /* flock(2) */
#include "safetensors_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

#define TEMP_TAG ".tmp."
#define TEMP_HEX 5 /* hex digits of <r> below */

/* Whether `name` is "<base>.tmp.<pid>.<n>.<r>" as create_temp makes it:
 * decimal pid and n, five lower-case hex digits r, nothing more. */
static bool is_temp_of(const char *name, const char *base)
{
    size_t bl = strlen(base);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, TEMP_TAG, strlen(TEMP_TAG)) != 0)
        return false;
    const char *p = name + bl + strlen(TEMP_TAG);
    for (int field = 0; field < 2; field++) {
        const char *start = p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == start || *p++ != '.')
            return false;
    }
    for (int i = 0; i < TEMP_HEX; i++, p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return *p == '\0';
}

/* Whether the name `at` in directory dfd (AT_FDCWD for a path) is still
 * the file open as fd. */
static bool still_named(int dfd, const char *at, int fd)
{
    struct stat named, open_st;
    return fstatat(dfd, at, &named, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &open_st) == 0 &&
           named.st_dev == open_st.st_dev && named.st_ino == open_st.st_ino;
}

/* Removes the temporaries of earlier saves of `path` that died before
 * renaming them: regular files (not links) named as create_temp names them
 * and locked by no one. A live save holds its lock, so it is skipped; the
 * name is checked again under the lock, so that only the file locked is
 * removed. Best effort and silent: nothing here may fail a save. */
static void remove_stale_temps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[4096] = ".";
    if (slash) {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof dir)
            return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    if (!*base)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_temp_of(e->d_name, base))
            continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            still_named(dfd, e->d_name, fd)) {
            int rc = unlinkat(dfd, e->d_name, 0);
            (void)rc;
        }
        close(fd); /* drops the lock */
    }
    closedir(d);
}

/* A new file "<path>.tmp.<pid>.<n>.<r>" beside path, created exclusively
 * with mode 0666 less the umask (as fopen would), or with the mode of the
 * file it will replace, and locked (see remove_stale_temps) for as long as
 * it is open. */
static FILE *create_temp(const char *path, char **tmp_path)
{
    static atomic_uint counter;
    size_t size = strlen(path) + 64;
    char *tmp = ag_malloc(size);
    if (!tmp) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        unsigned c = atomic_fetch_add(&counter, 1u);
        snprintf(tmp, size, "%s.tmp.%ld.%u.%05lx", path, (long)getpid(), c,
                 (unsigned long)now.tv_nsec & 0xfffffUL);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0) {
            ag_error_set(AG_ERR_IO, "%s: cannot create the temporary file '%s': %s", path, tmp,
                         strerror(errno));
            break;
        }
        /* Between the open and the lock another save may have taken the
         * new file for a dead one's and removed it: then take another name.
         * A file system without flock makes saves skip the cleaning. */
        if (flock(fd, LOCK_EX | LOCK_NB) != 0 ? errno == EWOULDBLOCK
                                              : !still_named(AT_FDCWD, tmp, fd)) {
            close(fd);
            continue;
        }
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            /* Best effort: a failure here costs only the old permissions. */
            int rc = fchmod(fd, st.st_mode & 07777);
            (void)rc;
        }
        FILE *f = fdopen(fd, "wb");
        if (!f) {
            ag_error_set(AG_ERR_IO, "%s: cannot open the temporary file '%s': %s", path, tmp,
                         strerror(errno));
            close(fd);
            unlink(tmp);
            break;
        }
        *tmp_path = tmp;
        return f;
    }
    ag_error_set(AG_ERR_IO, "%s: no free temporary file name", path);
    ag_free(tmp);
    return NULL;
}

static bool write_all(FILE *f, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n;
}

/* Elements of `width` bytes, written little-endian. */
static bool write_le(FILE *f, const void *data, size_t nbytes, size_t width)
{
    if (ag_st_host_is_little_endian())
        return write_all(f, data, nbytes);
    unsigned char buf[4096];
    const unsigned char *p = data;
    while (nbytes > 0) {
        size_t chunk = nbytes < sizeof buf ? nbytes : sizeof buf;
        memcpy(buf, p, chunk);
        ag_st_swap_elements(buf, chunk, width);
        if (!write_all(f, buf, chunk))
            return false;
        p += chunk;
        nbytes -= chunk;
    }
    return true;
}

/* Makes the rename itself durable. Best effort: some file systems refuse
 * to sync a directory, and the data is safe on disk already. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (slash) {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        dir = ag_malloc(len + 1);
        if (!dir)
            return;
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    int fd = open(dir ? dir : ".", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        int rc = fsync(fd);
        (void)rc;
        close(fd);
    }
    ag_free(dir);
}

/* The header: {"__metadata__": {...}, "<name>": {"dtype", "shape",
 * "data_offsets"}, ...} in the caller's order. NULL with an error. */
static json_object *build_header(const char *path, size_t n, const char *const *names,
                                 ag_tensor *const *ts, const uint64_t *begin,
                                 const char *const *metadata)
{
    json_object *root = json_object_new_object();
    bool ok = root != NULL, nomem = !ok;
    if (ok && metadata && metadata[0]) {
        json_object *meta = json_object_new_object();
        ok = meta && json_object_object_add(root, AG_ST_METADATA_KEY, meta) == 0;
        if (!ok)
            json_object_put(meta);
        nomem = !ok;
        for (size_t i = 0; ok && metadata[i]; i += 2) {
            if (json_object_object_get_ex(meta, metadata[i], NULL)) {
                ag_error_set(AG_ERR_VALUE, "%s: metadata key '%.*s' appears twice", path, SHOWN,
                             metadata[i]);
                ok = false;
                break;
            }
            json_object *s = json_object_new_string(metadata[i + 1]);
            ok = s && json_object_object_add(meta, metadata[i], s) == 0;
            if (!ok)
                json_object_put(s);
            nomem = !ok;
        }
    }
    for (size_t k = 0; ok && k < n; k++) {
        const ag_tensor *t = ts[k];
        if (json_object_object_get_ex(root, names[k], NULL)) {
            ag_error_set(AG_ERR_VALUE, "%s: two tensors are named '%.*s'", path, SHOWN, names[k]);
            ok = false;
            break;
        }
        json_object *e = json_object_new_object();
        json_object *shape = json_object_new_array_ext(ag_ndim(t));
        json_object *offs = json_object_new_array_ext(2);
        json_object *dt = json_object_new_string(ag_st_dtype_name(ag_tensor_dtype(t)));
        ok = e && shape && offs && dt;
        for (int i = 0; ok && i < ag_ndim(t); i++) {
            json_object *d = json_object_new_int64(ag_shape(t)[i]);
            ok = d && json_object_array_add(shape, d) == 0;
            if (!ok)
                json_object_put(d);
        }
        size_t nbytes = ag_numel(t) * ag_dtype_size(ag_tensor_dtype(t));
        json_object *b = ok ? json_object_new_uint64(begin[k]) : NULL;
        ok = ok && b && json_object_array_add(offs, b) == 0;
        if (!ok)
            json_object_put(b);
        json_object *x = ok ? json_object_new_uint64(begin[k] + nbytes) : NULL;
        ok = ok && x && json_object_array_add(offs, x) == 0;
        if (!ok)
            json_object_put(x);
        /* json-c takes ownership of a value only when adding it succeeds,
         * so whatever was not handed over is released below. */
        if (ok && (ok = json_object_object_add(e, "dtype", dt) == 0))
            dt = NULL;
        if (ok && (ok = json_object_object_add(e, "shape", shape) == 0))
            shape = NULL;
        if (ok && (ok = json_object_object_add(e, "data_offsets", offs) == 0))
            offs = NULL;
        if (ok && (ok = json_object_object_add(root, names[k], e) == 0))
            e = NULL;
        json_object_put(dt);
        json_object_put(shape);
        json_object_put(offs);
        json_object_put(e);
        nomem = !ok;
    }
    if (!ok) {
        if (nomem)
            ag_error_set(AG_ERR_NOMEM, "%s: out of memory building the header", path);
        json_object_put(root);
        return NULL;
    }
    return root;
}

/* The header as we would read it back: strict JSON, valid UTF-8 (a name
 * that is not UTF-8 would make a file no reader accepts). */
static bool header_readable(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new();
    if (!tok)
        return true; /* cannot check; the write itself is still correct */
    json_tokener_set_flags(tok, TOKENER_FLAGS);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    bool ok = o && json_tokener_get_error(tok) == json_tokener_success;
    json_object_put(o);
    json_tokener_free(tok);
    return ok;
}

bool ag_st_save(const char *path, size_t n, const char *const *names, ag_tensor *const *ts,
                const char *const *metadata)
{
    for (size_t k = 0; k < n; k++) {
        if (!names[k] || !ts[k]) {
            ag_error_set(AG_ERR_NULL, "%s: tensor %zu %s is NULL", path, k,
                         names[k] ? "" : "name");
            return false;
        }
        if (!ag_tensor_live(ts[k])) {
            ag_error_set(AG_ERR_STALE, "%s: tensor '%.*s' is an intermediate whose tape was reset",
                         path, SHOWN, names[k]);
            return false;
        }
        if (strcmp(names[k], AG_ST_METADATA_KEY) == 0) {
            ag_error_set(AG_ERR_VALUE, "%s: a tensor cannot be named '" AG_ST_METADATA_KEY
                                       "': the format reserves that key", path);
            return false;
        }
    }
    for (size_t i = 0; metadata && metadata[i]; i += 2)
        if (!metadata[i + 1]) {
            ag_error_set(AG_ERR_VALUE,
                         "%s: metadata key '%.*s' has no value (pass key, value, ..., NULL)",
                         path, SHOWN, metadata[i]);
            return false;
        }

    /* Data layout: 8-byte dtypes first, then 4-byte ones, each group in the
     * caller's order, so each tensor starts at a multiple of its element
     * size (the data section starts at a multiple of 8). */
    uint64_t *begin = ag_calloc(n, sizeof *begin);
    size_t *order = ag_calloc(n, sizeof *order);
    if (!begin || !order) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory", path);
        ag_free(begin);
        ag_free(order);
        return false;
    }
    size_t j = 0;
    uint64_t off = 0;
    for (size_t width = 8; width >= 4; width -= 4)
        for (size_t k = 0; k < n; k++)
            if (ag_dtype_size(ag_tensor_dtype(ts[k])) == width) {
                order[j++] = k;
                begin[k] = off;
                off += ag_numel(ts[k]) * width;
            }

    json_object *root = build_header(path, n, names, ts, begin, metadata);
    size_t jlen = 0;
    const char *json = root ? json_object_to_json_string_length(
                                  root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &jlen)
                            : NULL;
    bool ok = json != NULL;
    if (root && !json)
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory writing the header", path);
    if (ok && !header_readable(json, jlen)) {
        ag_error_set(AG_ERR_VALUE, "%s: a tensor name or metadata string is not valid UTF-8", path);
        ok = false;
    }
    char *tmp = NULL;
    if (ok)
        remove_stale_temps(path);
    FILE *f = ok ? create_temp(path, &tmp) : NULL;
    ok = ok && f;
    if (ok) {
        size_t pad = (8 - jlen % 8) % 8;
        uint64_t hlen = (uint64_t)jlen + pad;
        unsigned char len8[8];
        for (int i = 0; i < 8; i++)
            len8[i] = (unsigned char)(hlen >> (8 * i));
        static const char spaces[8] = "        ";
        ok = write_all(f, len8, 8) && write_all(f, json, jlen) && write_all(f, spaces, pad);
        for (size_t i = 0; ok && i < n; i++) {
            const ag_tensor *t = ts[order[i]];
            size_t width = ag_dtype_size(ag_tensor_dtype(t));
            ok = write_le(f, ag_data_const(t), ag_numel(t) * width, width);
        }
        /* fflush hands the bytes to the kernel, fsync to the disk: only then
         * may the rename make them the file at `path`. */
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        int err = errno;
        /* The lock lives with the open file, which this keeps open until
         * the rename is done, so no other save takes the finished
         * temporary for a dead one's in between. */
        int lock = dup(fileno(f));
        int rc = fclose(f);
        if (ok && rc != 0)
            err = errno;
        ok = ok && rc == 0;
        if (!ok)
            ag_error_set(AG_ERR_IO, "%s: writing failed: %s (any previous file is unchanged)",
                         path, strerror(err));
        if (ok && rename(tmp, path) != 0) {
            ag_error_set(AG_ERR_IO, "%s: cannot rename the temporary file over it: %s "
                                    "(any previous file is unchanged)", path, strerror(errno));
            ok = false;
        }
        if (!ok)
            unlink(tmp);
        if (lock >= 0)
            close(lock);
        if (ok)
            sync_parent_dir(path);
    }
    json_object_put(root);
    ag_free(tmp);
    ag_free(begin);
    ag_free(order);
    return ok;
}


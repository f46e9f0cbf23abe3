/* SPDX-License-Identifier: MIT */
/* idx.c — MNIST-format IDX files into a data set.
 *
 * An IDX file is a 4-byte magic number (two zero bytes, an element type,
 * the number of dimensions), one big-endian 32-bit size per dimension, then
 * the elements in row-major order. MNIST and Fashion-MNIST ship images as
 * magic 0x00000803 (unsigned bytes, 3 dimensions: count, rows, columns) and
 * labels as 0x00000801 (unsigned bytes, 1 dimension), usually gzip'd.
 *
 * A file starting with the gzip magic bytes (1f 8b) is inflated with zlib;
 * any other file is read as it is. A header is never trusted with memory:
 * its declared size must be within ag_read_limit; for a plain file it is
 * checked against the file's size before anything is allocated, and a gzip
 * stream (whose size is unknown until it ends) is read into a buffer that
 * grows only as data actually arrives and never past the declared size, so
 * a header declaring 4 billion images costs nothing but an error, and a
 * bomb inflates no further than one byte past what its header declares.
 * The stream must end with its CRC-32 and length trailer right after the
 * data, and the file with the stream. Offsets in messages count bytes from
 * the start of the file, or of the decompressed stream for a gzip file. */
#include "op.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_U8 0x08
#define IMAGES_MAGIC 0x00000803u
#define LABELS_MAGIC 0x00000801u

typedef struct src {
    const char *path;
    const char *what;   /* "images" or "labels" */
    FILE *f;
    bool gz;            /* a gzip stream, inflated through zs */
    z_stream zs;
    unsigned char *in;  /* compressed bytes read from f, for zs */
    bool in_eof;        /* f has no more compressed bytes */
    bool ended;         /* inflate reached the end of the stream (its trailer checked) */
    uint64_t off;       /* bytes consumed (decompressed ones for gzip) */
    int64_t size;       /* a plain regular file's size, else -1 */
    bool failed;        /* an error was recorded */
} src;

enum { IN_CHUNK = 1 << 17 };

static const char *kind(const src *s)
{
    return s->gz ? " of the decompressed data" : "";
}

/* zlib's own allocations go through the library's allocator, so the
 * out-of-memory tests reach them too. */
static voidpf z_alloc(voidpf opaque, uInt n, uInt size)
{
    (void)opaque;
    return ag_calloc(n, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    ag_free(p);
}

static bool src_open(src *s)
{
    s->size = -1;
    s->f = fopen(s->path, "rb");
    if (!s->f) {
        ag_error_set(AG_ERR_IO, "idx_load: cannot open the %s file \"%s\": %s", s->what,
                     s->path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(s->f), &st) == 0 && S_ISREG(st.st_mode))
        s->size = (int64_t)st.st_size;
    unsigned char m[2];
    size_t k = fread(m, 1, 2, s->f);
    if (k < 2 && ferror(s->f)) {
        ag_error_set(AG_ERR_IO, "idx_load: error reading the %s file \"%s\": %s", s->what,
                     s->path, strerror(errno));
        return false;
    }
    rewind(s->f);
    if (k == 2 && m[0] == 0x1f && m[1] == 0x8b) {
        /* inflate directly rather than through gzread: gzread accepts a
         * stream whose CRC and length trailer is cut off, and reads on
         * into any member or garbage that follows. */
        s->size = -1;
        s->in = ag_malloc(IN_CHUNK);
        s->zs.zalloc = z_alloc;
        s->zs.zfree = z_free;
        if (!s->in || inflateInit2(&s->zs, 16 + MAX_WBITS) != Z_OK) {
            ag_error_set(AG_ERR_NOMEM, "idx_load: out of memory to decompress the %s file "
                         "\"%s\"", s->what, s->path);
            ag_free(s->in);
            s->in = NULL;
            return false;
        }
        s->gz = true;
    }
    return true;
}

static void src_close(src *s)
{
    if (s->f)
        fclose(s->f);
    if (s->gz)
        inflateEnd(&s->zs);
    ag_free(s->in);
    s->f = NULL;
    s->in = NULL;
    s->gz = false;
}

/* Records a read error of f (errno set by stdio). */
static void read_error(src *s, uint64_t at)
{
    ag_error_set(AG_ERR_IO, "idx_load: %s: offset %llu%s: read error: %s", s->path,
                 (unsigned long long)at, kind(s), strerror(errno));
    s->failed = true;
}

/* Inflates up to n bytes into buf; fewer when the stream ends (s->ended)
 * or the file does (neither is an error here: the caller knows what was
 * expected). Corrupt data, a bad CRC or length, and read errors are
 * recorded (s->failed). */
static size_t inflate_some(src *s, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n && !s->ended && !s->failed) {
        if (s->zs.avail_in == 0 && !s->in_eof) {
            size_t k = fread(s->in, 1, IN_CHUNK, s->f);
            if (k < IN_CHUNK && ferror(s->f)) {
                read_error(s, s->off + got);
                break;
            }
            s->in_eof = k < IN_CHUNK;
            s->zs.next_in = s->in;
            s->zs.avail_in = (uInt)k;
        }
        size_t want = n - got;
        s->zs.next_out = buf + got;
        s->zs.avail_out = want > (1u << 30) ? 1u << 30 : (uInt)want;
        uInt before = s->zs.avail_out, in_before = s->zs.avail_in;
        int rc = inflate(&s->zs, Z_NO_FLUSH);
        got += before - s->zs.avail_out;
        if (rc == Z_STREAM_END) {
            s->ended = true;
        } else if (rc == Z_MEM_ERROR) {
            ag_error_set(AG_ERR_NOMEM, "idx_load: %s: out of memory while decompressing",
                         s->path);
            s->failed = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %llu%s: corrupt gzip data: %s",
                         s->path, (unsigned long long)(s->off + got), kind(s),
                         s->zs.msg ? s->zs.msg : "bad stream");
            s->failed = true;
        } else if (s->in_eof && s->zs.avail_in == 0 && before == s->zs.avail_out &&
                   in_before == 0) {
            break; /* the file ended inside the stream */
        }
    }
    return got;
}

/* Reads up to n bytes; fewer only at the end of the data. */
static size_t src_read(src *s, void *buf, size_t n)
{
    size_t got;
    if (s->gz) {
        got = inflate_some(s, buf, n);
    } else {
        got = fread(buf, 1, n, s->f);
        if (got < n && ferror(s->f))
            read_error(s, s->off + got);
    }
    s->off += got;
    return got;
}

/* After the last element: nothing may follow. For gzip, the stream must
 * also end there with its trailer (CRC-32 and length, which inflate checks)
 * and the file with the stream — a second member or trailing garbage is
 * refused rather than guessed at. */
static bool src_finish(src *s, const char *what)
{
    uint64_t end = s->off;
    if (!s->gz) {
        if (s->size >= 0)
            return true; /* check_size compared the sizes already */
        unsigned char extra;
        size_t k = src_read(s, &extra, 1);
        if (!s->failed && k > 0)
            ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %llu: unexpected data after %s",
                         s->path, (unsigned long long)end, what);
        return !s->failed && k == 0;
    }
    unsigned char extra;
    size_t k = src_read(s, &extra, 1);
    if (s->failed)
        return false;
    if (k > 0) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %llu%s: unexpected data after %s",
                     s->path, (unsigned long long)end, kind(s), what);
        return false;
    }
    if (!s->ended) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: the gzip stream is cut off after the data "
                     "(offset %llu%s): its CRC-32 and length trailer is missing, so the data "
                     "cannot be verified; the file is truncated", s->path,
                     (unsigned long long)end, kind(s));
        return false;
    }
    bool more = s->zs.avail_in > 0;
    if (!more) {
        int c = fgetc(s->f);
        if (c == EOF && ferror(s->f)) {
            read_error(s, end);
            return false;
        }
        more = c != EOF;
    }
    if (more) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: bytes follow the end of the gzip stream "
                     "(a second member or garbage); an IDX file is one gzip stream", s->path);
        return false;
    }
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads and checks the header: u8 elements, `ndim` dimensions, none 0. */
static bool read_header(src *s, int ndim, uint32_t *dims)
{
    uint32_t want = ndim == 3 ? IMAGES_MAGIC : LABELS_MAGIC;
    unsigned char h[4 * 4];
    size_t len = 4 + 4 * (size_t)ndim;
    size_t k = src_read(s, h, len);
    if (s->failed)
        return false;
    if (k < 4 || (h[0] == 0 && h[1] == 0 && h[3] == ndim && k < len)) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %zu%s: truncated header: the data ends "
                     "after %zu bytes; an IDX %s header has %zu (magic 0x%08x and %d "
                     "dimension%s)", s->path, k, kind(s), k, s->what, len, want, ndim,
                     ndim == 1 ? "" : "s");
        return false;
    }
    uint32_t magic = be32(h);
    if (h[0] != 0 || h[1] != 0) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset 0%s: bad magic number 0x%08x: not an "
                     "IDX file (an IDX %s file starts with 0x%08x)", s->path, kind(s), magic,
                     s->what, want);
        return false;
    }
    if (h[2] != IDX_U8) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset 2%s: element type 0x%02x (magic "
                     "0x%08x) is not unsigned bytes (0x08); only u8 IDX files are supported",
                     s->path, kind(s), h[2], magic);
        return false;
    }
    if (h[3] != ndim) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset 3%s: %d dimension%s (magic 0x%08x%s), "
                     "but an IDX %s file has %d (magic 0x%08x)", s->path, kind(s), h[3],
                     h[3] == 1 ? "" : "s", magic,
                     magic == IMAGES_MAGIC ? ": an images file"
                     : magic == LABELS_MAGIC ? ": a labels file" : "",
                     s->what, ndim, want);
        return false;
    }
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        if (dims[i] == 0) {
            ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %d%s: dimension %d of the %s is 0",
                         s->path, 4 + 4 * i, kind(s), i, s->what);
            return false;
        }
    }
    return true;
}

/* Whether a file of `bytes` bytes (decompressed) is within ag_read_limit. */
static bool within_limit(const char *path, const char *which, uint64_t bytes, const char *what)
{
    uint64_t limit = ag_read_limit();
    if (bytes <= limit)
        return true;
    ag_error_set(AG_ERR_VALUE, "idx_load: %s: the %s header declares %s, %llu bytes in all, "
                 "beyond the read limit of %llu bytes (raise it with ag_read_limit_set)",
                 path, which, what, (unsigned long long)bytes, (unsigned long long)limit);
    return false;
}

/* For a plain regular file: whether exactly `bytes` bytes of elements
 * (described by `what`) follow the header. Checked before anything is
 * allocated or read. */
static bool check_size(const src *s, uint64_t bytes, const char *what)
{
    if (s->size < 0)
        return true;
    uint64_t start = s->off, have = (uint64_t)s->size - start;
    if (have < bytes) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %llu: truncated: the header declares %s "
                     "(%llu bytes from offset %llu), but the file ends after %llu of them",
                     s->path, (unsigned long long)(start + have), what, (unsigned long long)bytes,
                     (unsigned long long)start, (unsigned long long)have);
        return false;
    }
    if (have > bytes) {
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %llu: %llu bytes of unexpected data "
                     "after %s", s->path, (unsigned long long)(start + bytes),
                     (unsigned long long)(have - bytes), what);
        return false;
    }
    return true;
}

/* Reads exactly `bytes` bytes of elements (described by `what` for
 * messages) into a new buffer, and checks that nothing follows them. */
static unsigned char *read_payload(src *s, uint64_t bytes, const char *what)
{
    uint64_t start = s->off;
    if (bytes > SIZE_MAX) {
        ag_error_set(AG_ERR_NOMEM, "idx_load: %s: the header declares %s: %llu bytes, more than "
                     "this machine can address", s->path, what, (unsigned long long)bytes);
        return NULL;
    }
    if (!check_size(s, bytes, what))
        return NULL;
    /* A known size was checked above: one allocation. Otherwise grow with
     * the data, from 1 MiB. */
    size_t cap = s->size >= 0 || bytes < (1u << 20) ? (size_t)bytes : 1u << 20;
    unsigned char *buf = ag_malloc(cap);
    if (!buf) {
        ag_error_set(AG_ERR_NOMEM, "idx_load: %s: out of memory for %zu bytes of %s", s->path,
                     cap, s->what);
        return NULL;
    }
    size_t got = 0;
    while (got < bytes) {
        if (got == cap) {
            size_t ncap = cap > (size_t)bytes / 2 ? (size_t)bytes : 2 * cap;
            unsigned char *nb = ag_realloc(buf, ncap);
            if (!nb) {
                ag_error_set(AG_ERR_NOMEM, "idx_load: %s: out of memory for %zu bytes of %s",
                             s->path, ncap, s->what);
                ag_free(buf);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t k = src_read(s, buf + got, cap - got);
        got += k;
        if (s->failed) {
            ag_free(buf);
            return NULL;
        }
        if (got < cap) {
            ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset %llu%s: truncated: the header "
                         "declares %s (%llu bytes from offset %llu), but the data ends after "
                         "%zu of them", s->path, (unsigned long long)s->off, kind(s), what,
                         (unsigned long long)bytes, (unsigned long long)start, got);
            ag_free(buf);
            return NULL;
        }
    }
    if (!src_finish(s, what)) {
        ag_free(buf);
        return NULL;
    }
    return buf;
}

ag_dataset *ag_idx_load(const char *images_path, const char *labels_path, ag_dtype dtype)
{
    if (!images_path || !labels_path) {
        ag_error_set(AG_ERR_NULL, "idx_load: the %s path is NULL", images_path ? "labels" : "images");
        return NULL;
    }
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "idx_load: X must be f32 or f64, not %s", ag_dtype_str(dtype));
        return NULL;
    }
    src im = {.path = images_path, .what = "images"};
    src lb = {.path = labels_path, .what = "labels"};
    uint32_t idims[3], ldims[1];
    unsigned char *pixels = NULL, *labels = NULL;
    ag_dataset *ds = NULL;
    if (!src_open(&im) || !read_header(&im, 3, idims) || !src_open(&lb) ||
        !read_header(&lb, 1, ldims))
        goto done;
    if (idims[0] != ldims[0]) {
        ag_error_set(AG_ERR_PARSE, "idx_load: the counts at offset 4 differ: %s has %lu images "
                     "but %s has %lu labels", images_path, (unsigned long)idims[0], labels_path,
                     (unsigned long)ldims[0]);
        goto done;
    }
    uint64_t n = idims[0], d = (uint64_t)idims[1] * idims[2];
    char iwhat[96], lwhat[64];
    snprintf(iwhat, sizeof iwhat, "%lu images of %lux%lu", (unsigned long)n,
             (unsigned long)idims[1], (unsigned long)idims[2]);
    snprintf(lwhat, sizeof lwhat, "%lu labels", (unsigned long)n);
    if (d > UINT64_MAX / n) { /* three 32-bit sizes can multiply past 64 bits */
        ag_error_set(AG_ERR_PARSE, "idx_load: %s: offset 4: the header declares %s, more bytes "
                     "than any file holds", images_path, iwhat);
        goto done;
    }
    /* Before any size check reads the files' lengths or any buffer grows:
     * what the headers declare must be within the caller's limit. */
    if (!within_limit(images_path, "images", 16 + n * d, iwhat) ||
        !within_limit(labels_path, "labels", 8 + n, lwhat))
        goto done;
    /* Both sizes first (plain files), then the data: images, then labels. */
    if (!check_size(&im, n * d, iwhat) || !check_size(&lb, n, lwhat))
        goto done;
    pixels = read_payload(&im, n * d, iwhat);
    labels = pixels ? read_payload(&lb, n, lwhat) : NULL;
    if (!labels)
        goto done;

    ds = ag_calloc(1, sizeof *ds);
    if (!ds) {
        ag_error_set(AG_ERR_NOMEM, "idx_load: out of memory");
        goto done;
    }
    ds->X = ag_empty(dtype, 2, (const int64_t[]){(int64_t)n, (int64_t)d});
    ds->y = ds->X ? ag_empty(AG_I64, 1, (const int64_t[]){(int64_t)n}) : NULL;
    if (!ds->y) {
        ag_dataset_free(ds);
        ds = NULL;
        goto done;
    }
    double scale[256];
    for (int v = 0; v < 256; v++)
        scale[v] = v / 255.0;
    size_t total = (size_t)(n * d);
    if (dtype == AG_F32) {
        float *x = ag_data(ds->X);
        for (size_t i = 0; i < total; i++)
            x[i] = (float)scale[pixels[i]];
    } else {
        double *x = ag_data(ds->X);
        for (size_t i = 0; i < total; i++)
            x[i] = scale[pixels[i]];
    }
    int64_t *y = ag_data(ds->y), max_label = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = labels[i];
        if (y[i] > max_label)
            max_label = y[i];
    }
    ds->n = (int64_t)n;
    ds->d = (int64_t)d;
    ds->n_classes = max_label + 1;
done:
    ag_free(pixels);
    ag_free(labels);
    src_close(&im);
    src_close(&lb);
    return ds;
}

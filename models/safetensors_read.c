/* SPDX-License-Identifier: MIT */
/* safetensors_read.c — opening and validating a safetensors file, and
 * loading its tensors.
 *
 * The header is validated whole against the file's size before any of its
 * numbers is trusted for an allocation; a load matches it against the
 * model, reads all data into a temporary buffer and only then copies, so a
 * bad file leaves the model as it was. The format and the writer's
 * conventions are described in safetensors.c. */
#include "safetensors_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Dtypes and byte order                                               */
/* ------------------------------------------------------------------ */

/* Every dtype of the specification; those autograd cannot hold are listed
 * so that the message can say why a file does not load. */
static const struct {
    const char *name;
    unsigned size;
    int dtype; /* ag_dtype, or -1 */
} st_dtypes[] = {
    {"F32", 4, AG_F32},    {"F64", 8, AG_F64},    {"I64", 8, AG_I64},    {"BOOL", 1, -1},
    {"U8", 1, -1},         {"I8", 1, -1},         {"F8_E5M2", 1, -1},    {"F8_E4M3", 1, -1},
    {"I16", 2, -1},        {"U16", 2, -1},        {"F16", 2, -1},        {"BF16", 2, -1},
    {"I32", 4, -1},        {"U32", 4, -1},        {"U64", 8, -1},
};

const char *ag_st_dtype_name(ag_dtype d)
{
    return d == AG_F32 ? "F32" : d == AG_F64 ? "F64" : "I64";
}

bool ag_st_host_is_little_endian(void)
{
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

void ag_st_swap_elements(unsigned char *p, size_t nbytes, size_t width)
{
    for (size_t i = 0; i + width <= nbytes; i += width)
        for (size_t a = i, b = i + width - 1; a < b; a++, b--) {
            unsigned char c = p[a];
            p[a] = p[b];
            p[b] = c;
        }
}

static char *shape_str(int ndim, const int64_t *shape, char *buf, size_t size)
{
    return ag_format_shape(ndim, shape, buf, size);
}

/* ------------------------------------------------------------------ */
/* Reading: the header                                                 */
/* ------------------------------------------------------------------ */

void ag_st_close(ag_st_file *sf)
{
    if (!sf)
        return;
    if (sf->f)
        fclose(sf->f);
    json_object_put(sf->header);
    ag_free(sf->entries);
    ag_free(sf->by_name);
    ag_free(sf->by_begin);
    memset(sf, 0, sizeof *sf);
}

/* A short read: an I/O error, or a file that shrank after it was measured. */
static bool read_failed(const ag_st_file *sf, const char *what)
{
    if (ferror(sf->f))
        ag_error_set(AG_ERR_IO, "%s: reading %s failed: %s", sf->path, what, strerror(errno));
    else
        ag_error_set(AG_ERR_IO, "%s: the file ended while reading %s (did it change meanwhile?)",
                     sf->path, what);
    return false;
}

/* A JSON integer >= 0. json-c saturates larger numbers at UINT64_MAX, which
 * every range check below rejects. */
static bool get_u64(json_object *v, uint64_t *out)
{
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
        return false;
    *out = json_object_get_uint64(v);
    return true;
}

static bool check_text(const char *path, const char *where, size_t index, const char *what,
                       const char *t);

static bool check_metadata(const char *path, json_object *m)
{
    if (json_object_is_type(m, json_type_null))
        return true;
    if (!json_object_is_type(m, json_type_object)) {
        ag_error_set(AG_ERR_PARSE, "%s: \"" AG_ST_METADATA_KEY "\" is not an object of strings",
                     path);
        return false;
    }
    size_t index = 0;
    json_object_object_foreach(m, key, val) {
        if (!check_text(path, "metadata entry", index, "key", key) ||
            (json_object_is_type(val, json_type_string) &&
             !check_text(path, "metadata entry", index, "value", json_object_get_string(val))))
            return false;
        index++;
        if (!json_object_is_type(val, json_type_string)) {
            ag_error_set(AG_ERR_PARSE, "%s: metadata '%.*s' is not a string", path, SHOWN, key);
            return false;
        }
    }
    return true;
}

/* One tensor's entry: dtype, shape and offsets, checked on their own and
 * against the data section's length. */
static bool parse_entry(const char *path, const char *name, json_object *v, uint64_t data_len,
                        ag_st_entry *e)
{
    e->name = name;
    if (!json_object_is_type(v, json_type_object)) {
        ag_error_set(AG_ERR_PARSE, "%s: the entry of tensor '%.*s' is not a JSON object", path,
                     SHOWN, name);
        return false;
    }
    json_object *jd = NULL, *js = NULL, *jo = NULL;
    if (!json_object_object_get_ex(v, "dtype", &jd) || !json_object_is_type(jd, json_type_string)) {
        ag_error_set(AG_ERR_PARSE, "%s: tensor '%.*s' has no \"dtype\" string", path, SHOWN, name);
        return false;
    }
    const char *ds = json_object_get_string(jd);
    size_t k = 0, nd = sizeof st_dtypes / sizeof st_dtypes[0];
    while (k < nd && strcmp(st_dtypes[k].name, ds) != 0)
        k++;
    if (k == nd) {
        ag_error_set(AG_ERR_DTYPE, "%s: tensor '%.*s' has unknown dtype '%.*s'", path, SHOWN, name,
                     32, ds);
        return false;
    }
    if (st_dtypes[k].dtype < 0) {
        ag_error_set(AG_ERR_DTYPE,
                     "%s: tensor '%.*s' has dtype %s, which autograd cannot hold (it reads F32, "
                     "F64 and I64)",
                     path, SHOWN, name, st_dtypes[k].name);
        return false;
    }
    e->dtype = (ag_dtype)st_dtypes[k].dtype;

    if (!json_object_object_get_ex(v, "shape", &js) || !json_object_is_type(js, json_type_array)) {
        ag_error_set(AG_ERR_PARSE, "%s: tensor '%.*s' has no \"shape\" array", path, SHOWN, name);
        return false;
    }
    size_t rank = json_object_array_length(js);
    if (rank > AG_MAX_DIMS) {
        ag_error_set(AG_ERR_SHAPE,
                     "%s: tensor '%.*s' has %zu dimensions; autograd tensors have at most %d",
                     path, SHOWN, name, rank, AG_MAX_DIMS);
        return false;
    }
    e->ndim = (int)rank;
    for (size_t i = 0; i < rank; i++) {
        uint64_t d;
        if (!get_u64(json_object_array_get_idx(js, i), &d) || d > (uint64_t)INT64_MAX) {
            ag_error_set(AG_ERR_PARSE, "%s: dimension %zu of tensor '%.*s' is not an integer >= 0",
                         path, i, SHOWN, name);
            return false;
        }
        e->shape[i] = (int64_t)d;
    }

    if (!json_object_object_get_ex(v, "data_offsets", &jo) ||
        !json_object_is_type(jo, json_type_array) || json_object_array_length(jo) != 2 ||
        !get_u64(json_object_array_get_idx(jo, 0), &e->begin) ||
        !get_u64(json_object_array_get_idx(jo, 1), &e->end)) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: tensor '%.*s' needs \"data_offsets\": [begin, end] with integers >= 0",
                     path, SHOWN, name);
        return false;
    }
    if (e->begin > e->end) {
        ag_error_set(AG_ERR_PARSE, "%s: tensor '%.*s' has data_offsets [%llu, %llu): end before begin",
                     path, SHOWN, name, (ull)e->begin, (ull)e->end);
        return false;
    }
    if (e->end > data_len) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: tensor '%.*s' has data_offsets [%llu, %llu), past the end of the data "
                     "(%llu bytes): truncated or corrupt",
                     path, SHOWN, name, (ull)e->begin, (ull)e->end, (ull)data_len);
        return false;
    }
    /* Elements × size without overflow; a zero dimension makes it 0 whatever
     * the others are. */
    uint64_t numel = 1;
    bool empty = false, overflow = false;
    for (int i = 0; i < e->ndim; i++)
        empty |= e->shape[i] == 0;
    for (int i = 0; i < e->ndim && !empty; i++) {
        uint64_t d = (uint64_t)e->shape[i];
        if (numel > UINT64_MAX / d)
            overflow = true;
        else
            numel *= d;
    }
    char sb[160];
    if (empty)
        numel = 0;
    if (overflow || numel > UINT64_MAX / st_dtypes[k].size) {
        ag_error_set(AG_ERR_SHAPE, "%s: tensor '%.*s' has shape %s, too many elements", path,
                     SHOWN, name, shape_str(e->ndim, e->shape, sb, sizeof sb));
        return false;
    }
    uint64_t bytes = numel * st_dtypes[k].size;
    if (bytes != e->end - e->begin) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: tensor '%.*s' of dtype %s and shape %s needs %llu bytes, but its "
                     "data_offsets [%llu, %llu) hold %llu",
                     path, SHOWN, name, st_dtypes[k].name,
                     shape_str(e->ndim, e->shape, sb, sizeof sb), (ull)bytes, (ull)e->begin,
                     (ull)e->end, (ull)(e->end - e->begin));
        return false;
    }
    return true;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(ag_st_entry *const *)a)->name, (*(ag_st_entry *const *)b)->name);
}

static int cmp_begin(const void *a, const void *b)
{
    const ag_st_entry *x = *(ag_st_entry *const *)a, *y = *(ag_st_entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* The tensors must tile [0, data_len): sorted by offset, each begins where
 * the previous one ended. As in the reference implementation, gaps are
 * refused too (they could hide a second file inside this one). */
static bool check_tiling(const ag_st_file *sf)
{
    uint64_t cursor = 0;
    const ag_st_entry *prev = NULL;
    for (size_t i = 0; i < sf->n; i++) {
        const ag_st_entry *e = sf->by_begin[i];
        if (e->begin < cursor) {
            ag_error_set(AG_ERR_PARSE, "%s: tensors '%.*s' [%llu, %llu) and '%.*s' [%llu, %llu) overlap",
                         sf->path, SHOWN / 2, prev->name, (ull)prev->begin, (ull)prev->end,
                         SHOWN / 2, e->name, (ull)e->begin, (ull)e->end);
            return false;
        }
        if (e->begin > cursor) {
            ag_error_set(AG_ERR_PARSE, "%s: data bytes [%llu, %llu) belong to no tensor (a gap before '%.*s')",
                         sf->path, (ull)cursor, (ull)e->begin, SHOWN, e->name);
            return false;
        }
        cursor = e->end;
        prev = e;
    }
    if (cursor != sf->data_len) {
        ag_error_set(AG_ERR_PARSE, "%s: the last %llu bytes of the data belong to no tensor",
                     sf->path, (ull)(sf->data_len - cursor));
        return false;
    }
    return true;
}

/* Strict UTF-8: json-c's validation lets overlong forms, surrogates and code
 * points past U+10FFFF through, and names are compared byte for byte, so two
 * spellings of one name (or text no other reader accepts) must be refused.
 * Returns the offset of the first bad byte, or len when all is well. */
static size_t utf8_bad_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            if (c == 0)
                return i;
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong below U+0800 */
            if (c == 0xED)
                hi = 0x9F; /* surrogates U+D800..U+DFFF */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong below U+10000 */
            if (c == 0xF4)
                hi = 0x8F; /* beyond U+10FFFF */
        } else
            return i;
        if (len - i - 1 < n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            unsigned b = s[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
                return i;
        }
        i += n + 1;
    }
    return len;
}

/* `where` and `index` place the text for the reader of the message:
 * "header entry 3" (counting from 0, __metadata__ included) or
 * "metadata entry 0". */
static bool check_text(const char *path, const char *where, size_t index, const char *what,
                       const char *t)
{
    size_t len = strlen(t);
    size_t at = utf8_bad_at((const unsigned char *)t, len);
    if (at != len) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: %s %zu: the %s is not valid UTF-8 at its byte %zu (0x%02x: overlong, "
                     "surrogate, beyond U+10FFFF or truncated)",
                     path, where, index, what, at, (unsigned)(unsigned char)t[at]);
        return false;
    }
    return true;
}

/* json-c turns \u0000 into a NUL that ends its C-string keys, so a name with
 * one would be silently cut short: refuse the escape anywhere in the header. */
static bool check_no_nul_escape(const char *path, const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (text[i] != '\\')
            continue;
        if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) {
            ag_error_set(AG_ERR_PARSE,
                         "%s: the header has a \\u0000 escape (an embedded NUL) at byte %zu",
                         path, 8 + i);
            return false;
        }
        i++; /* the escaped character, so \\u0000 is text, not a NUL */
    }
    return true;
}

static bool parse_header(ag_st_file *sf, const char *text, size_t len)
{
    const char *path = sf->path;
    if (text[0] != '{') {
        ag_error_set(AG_ERR_PARSE, "%s: the header does not start with '{': not a safetensors file",
                     path);
        return false;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for the JSON parser", path);
        return false;
    }
    json_tokener_set_flags(tok, TOKENER_FLAGS);
    json_object *root = json_tokener_parse_ex(tok, text, (int)len); /* len <= MAX_HEADER */
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        json_object_put(root);
        if (jerr == json_tokener_continue)
            ag_error_set(AG_ERR_PARSE, "%s: the header's JSON is incomplete (%zu bytes)", path, len);
        else
            ag_error_set(AG_ERR_PARSE, "%s: the header is not valid JSON: %s at byte %zu", path,
                         json_tokener_error_desc(jerr), 8 + end);
        return false;
    }
    sf->header = root;
    for (size_t i = end; i < len; i++) {
        char c = text[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            ag_error_set(AG_ERR_PARSE, "%s: byte 0x%02x at %zu follows the header's JSON", path,
                         (unsigned)(unsigned char)c, 8 + i);
            return false;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        ag_error_set(AG_ERR_PARSE, "%s: the header is not a JSON object", path);
        return false;
    }
    size_t count = (size_t)json_object_object_length(root);
    if (count > AG_ST_MAX_TENSORS + 1) {
        ag_error_set(AG_ERR_PARSE, "%s: the header has %zu entries, more than the cap of %u tensors",
                     path, count, (unsigned)AG_ST_MAX_TENSORS);
        return false;
    }
    sf->entries = ag_calloc(count, sizeof *sf->entries);
    sf->by_name = ag_calloc(count, sizeof *sf->by_name);
    sf->by_begin = ag_calloc(count, sizeof *sf->by_begin);
    if (!sf->entries || !sf->by_name || !sf->by_begin) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for %zu header entries", path, count);
        return false;
    }
    /* json-c keeps one value per key (the last of duplicates); what remains
     * is validated as a whole, so a duplicate cannot smuggle in bytes. */
    size_t index = 0;
    json_object_object_foreach(root, key, val) {
        if (!check_text(path, "header entry", index++, "name", key))
            return false;
        if (strcmp(key, AG_ST_METADATA_KEY) == 0) {
            if (!check_metadata(path, val))
                return false;
            continue;
        }
        if (!parse_entry(path, key, val, sf->data_len, &sf->entries[sf->n]))
            return false;
        sf->n++;
    }
    for (size_t i = 0; i < sf->n; i++)
        sf->by_name[i] = sf->by_begin[i] = &sf->entries[i];
    if (sf->n) {
        qsort(sf->by_name, sf->n, sizeof *sf->by_name, cmp_name);
        qsort(sf->by_begin, sf->n, sizeof *sf->by_begin, cmp_begin);
    }
    return check_tiling(sf);
}

bool ag_st_open(ag_st_file *sf, const char *path)
{
    memset(sf, 0, sizeof *sf);
    sf->path = path;
    sf->f = fopen(path, "rb");
    if (!sf->f) {
        ag_error_set(AG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(sf->f), &st) != 0) {
        ag_error_set(AG_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        ag_st_close(sf);
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        ag_error_set(AG_ERR_IO, "%s: not a regular file", path);
        ag_st_close(sf);
        return false;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < 8) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: the file has %llu bytes, fewer than the 8-byte header length: "
                     "truncated or not a safetensors file",
                     path, (ull)size);
        ag_st_close(sf);
        return false;
    }
    if (size > ag_read_limit()) {
        ag_error_set(AG_ERR_VALUE,
                     "%s: the file has %llu bytes, beyond the read limit of %llu (raise it with "
                     "ag_read_limit_set)",
                     path, (ull)size, (ull)ag_read_limit());
        ag_st_close(sf);
        return false;
    }
    unsigned char len8[8];
    if (fread(len8, 1, 8, sf->f) != 8) {
        read_failed(sf, "the header length");
        ag_st_close(sf);
        return false;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | len8[i];
    const char *why = hlen < 2            ? "is too small for a JSON object"
                      : hlen > MAX_HEADER ? "exceeds the 100 MB limit"
                      : hlen > size - 8   ? "runs past the end of the file"
                                          : NULL;
    if (why) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: header length %llu %s (file of %llu bytes): truncated, corrupt or not "
                     "a safetensors file",
                     path, (ull)hlen, why, (ull)size);
        ag_st_close(sf);
        return false;
    }
    sf->data_start = 8 + hlen;
    sf->data_len = size - 8 - hlen;
    char *text = ag_malloc((size_t)hlen);
    if (!text) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for a %llu-byte header", path, (ull)hlen);
        ag_st_close(sf);
        return false;
    }
    bool ok = fread(text, 1, (size_t)hlen, sf->f) == hlen || read_failed(sf, "the header");
    ok = ok && check_no_nul_escape(path, text, (size_t)hlen);
    ok = ok && parse_header(sf, text, (size_t)hlen);
    ag_free(text);
    if (!ok)
        ag_st_close(sf);
    return ok;
}

const char *ag_st_metadata(const ag_st_file *sf, const char *key)
{
    json_object *m = NULL, *v = NULL;
    if (!sf->header || !json_object_object_get_ex(sf->header, AG_ST_METADATA_KEY, &m) ||
        !json_object_is_type(m, json_type_object) || !json_object_object_get_ex(m, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

ag_st_entry *ag_st_find(const ag_st_file *sf, const char *name)
{
    if (sf->n == 0)
        return NULL;
    ag_st_entry key = {.name = name};
    const ag_st_entry *kp = &key;
    ag_st_entry **hit = bsearch(&kp, sf->by_name, sf->n, sizeof *sf->by_name, cmp_name);
    return hit ? *hit : NULL;
}

/* ------------------------------------------------------------------ */
/* Reading: matching and data                                          */
/* ------------------------------------------------------------------ */

bool ag_st_match(ag_st_file *sf, size_t n, const char *const *names, ag_tensor *const *ts)
{
    for (size_t i = 0; i < sf->n; i++)
        sf->entries[i].used = false;
    char a[160], b[160];
    for (size_t k = 0; k < n; k++) {
        ag_st_entry *e = ag_st_find(sf, names[k]);
        const ag_tensor *t = ts[k];
        if (!e) {
            ag_error_set(AG_ERR_NOTFOUND, "%s: tensor '%.*s' of the model is not in the file",
                         sf->path, SHOWN, names[k]);
            return false;
        }
        ag_dtype dt = ag_tensor_dtype(t);
        int nd = ag_ndim(t);
        const int64_t *shape = ag_shape(t);
        if (e->dtype != dt) {
            ag_error_set(AG_ERR_DTYPE, "%s: tensor '%.*s' is %s in the file but %s in the model",
                         sf->path, SHOWN, names[k], ag_st_dtype_name(e->dtype),
                         ag_st_dtype_name(dt));
            return false;
        }
        bool same = e->ndim == nd;
        for (int i = 0; same && i < e->ndim; i++)
            same = e->shape[i] == shape[i];
        if (!same) {
            ag_error_set(AG_ERR_SHAPE, "%s: tensor '%.*s' has shape %s in the file but %s in the model",
                         sf->path, SHOWN, names[k], shape_str(e->ndim, e->shape, a, sizeof a),
                         shape_str(nd, shape, b, sizeof b));
            return false;
        }
        e->used = true;
    }
    for (size_t i = 0; i < sf->n; i++)
        if (!sf->entries[i].used) {
            ag_error_set(AG_ERR_NOTFOUND,
                         "%s: the file has a tensor '%.*s' that the model does not (%zu tensors "
                         "in the file, %zu in the model)",
                         sf->path, SHOWN, sf->entries[i].name, sf->n, n);
            return false;
        }
    return true;
}

bool ag_st_read_data(ag_st_file *sf, void *const *dest)
{
    if (fseeko(sf->f, (off_t)sf->data_start, SEEK_SET) != 0) {
        ag_error_set(AG_ERR_IO, "%s: cannot seek to the data: %s", sf->path, strerror(errno));
        return false;
    }
    /* The tiling check guarantees that reading in offset order is one
     * sequential pass over the data section. */
    for (size_t i = 0; i < sf->n; i++) {
        const ag_st_entry *e = sf->by_begin[i];
        size_t nbytes = (size_t)(e->end - e->begin);
        if (nbytes && fread(dest[e - sf->entries], 1, nbytes, sf->f) != nbytes)
            return read_failed(sf, "the data");
    }
    if (!ag_st_host_is_little_endian())
        for (size_t i = 0; i < sf->n; i++)
            ag_st_swap_elements(dest[i], (size_t)(sf->entries[i].end - sf->entries[i].begin),
                          ag_dtype_size(sf->entries[i].dtype));
    return true;
}

bool ag_st_load_into(ag_st_file *sf, size_t n, const char *const *names, ag_tensor *const *ts)
{
    if (!ag_st_match(sf, n, names, ts))
        return false;
    if (sf->data_len > SIZE_MAX) {
        ag_error_set(AG_ERR_NOMEM, "%s: %llu bytes of data do not fit in memory", sf->path,
                     (ull)sf->data_len);
        return false;
    }
    unsigned char *buf = ag_malloc((size_t)sf->data_len);
    void **dest = ag_calloc(sf->n, sizeof *dest);
    bool ok = buf && dest;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for %llu bytes of data", sf->path,
                     (ull)sf->data_len);
    for (size_t i = 0; ok && i < sf->n; i++)
        dest[i] = buf + sf->entries[i].begin;
    ok = ok && ag_st_read_data(sf, dest);
    /* Everything is read and checked: only now do the tensors change. */
    for (size_t k = 0; ok && k < n; k++) {
        const ag_st_entry *e = ag_st_find(sf, names[k]);
        size_t nbytes = (size_t)(e->end - e->begin);
        if (nbytes)
            memcpy(ag_data(ts[k]), buf + e->begin, nbytes);
        ag_mark_changed(ts[k]);
    }
    ag_free(dest);
    ag_free(buf);
    return ok;
}


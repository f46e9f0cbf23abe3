/* check-safetensors.c — model files and checkpoints: round trips that keep
 * every bit, files written byte by byte from the format's specification,
 * every kind of malformed file (each must give its documented status, a
 * message naming the file and the problem, and leave the model exactly as
 * it was), saves that fail or are killed half-way (the old file survives),
 * bit-identical predictions after save/load, and training that resumes
 * from a checkpoint bit-identically to an uninterrupted run.
 *
 * Expected bytes are built here from the specification (an 8-byte
 * little-endian header length, a JSON header, little-endian row-major data)
 * with shifts and memcpy, never with the library's writer. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Fixture: a fresh directory per test, and stores freed afterwards     */
/* ------------------------------------------------------------------ */

static char dir[256];
static ag_params *kept_params[64];
static size_t n_kept_params;
static ag_optim *kept_optims[128];
static size_t n_kept_optims;
static ag_mlp *kept_mlps[128];
static size_t n_kept_mlps;

static ag_params *keep_params(ag_params *p)
{
    ck_assert_msg(p != NULL, "store is NULL: %s: %s", ag_status_str(ag_last_status()),
                  ag_last_error());
    ck_assert(n_kept_params < H_COUNT(kept_params));
    kept_params[n_kept_params++] = p;
    return p;
}

static ag_optim *keep_optim(ag_optim *o)
{
    ck_assert_msg(o != NULL, "optimizer is NULL: %s", ag_last_error());
    ck_assert(n_kept_optims < H_COUNT(kept_optims));
    kept_optims[n_kept_optims++] = o;
    return o;
}

static ag_mlp *keep_mlp(ag_mlp *m)
{
    ck_assert_msg(m != NULL, "mlp is NULL: %s", ag_last_error());
    ck_assert(n_kept_mlps < H_COUNT(kept_mlps));
    kept_mlps[n_kept_mlps++] = m;
    return m;
}

static void st_setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ag-st-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp(%s): %s", dir, strerror(errno));
}

static void st_teardown(void)
{
    while (n_kept_optims > 0)
        ag_optim_free(kept_optims[--n_kept_optims]);
    while (n_kept_mlps > 0)
        ag_mlp_free(kept_mlps[--n_kept_mlps]);
    while (n_kept_params > 0)
        ag_params_free(kept_params[--n_kept_params]);
    chmod(dir, 0700);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static TCase *st_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = h_tcase(s, name, timeout);
    tcase_add_checked_fixture(tc, st_setup, st_teardown);
    return tc;
}

/* "<dir>/<name>" into buf (600 bytes). */
static void tpath_into(char *buf, const char *name)
{
    snprintf(buf, 600, "%s/%s", dir, name);
}

/* "<dir>/<name>" in one of a few rotating buffers, for paths used at once. */
static const char *tpath(const char *name)
{
    static char bufs[8][600];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

/* Files in the test directory whose name contains ".tmp." (left-over
 * temporary files). */
static int count_temp_files(void)
{
    DIR *d = opendir(dir);
    ck_assert(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */
/* Bytes                                                               */
/* ------------------------------------------------------------------ */

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void b_put(bytes *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        ck_assert(b->p != NULL);
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void b_u64le(bytes *b, uint64_t v)
{
    unsigned char c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    b_put(b, c, 8);
}

static void b_u32le(bytes *b, uint32_t v)
{
    unsigned char c[4];
    for (int i = 0; i < 4; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    b_put(b, c, 4);
}

static void b_f32(bytes *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b_u32le(b, u);
}

static void b_f64(bytes *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    b_u64le(b, u);
}

static void b_i64(bytes *b, int64_t v)
{
    b_u64le(b, (uint64_t)v);
}

/* Whether the n bytes at p contain the string s. */
static bool contains(const void *p, size_t n, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp((const unsigned char *)p + i, s, len) == 0)
            return true;
    return false;
}

static void b_free(bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
    ck_assert(n == 0 || fwrite(p, 1, n, f) == n);
    ck_assert(fclose(f) == 0);
}

static bytes read_file(const char *path)
{
    bytes b = {0};
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
    unsigned char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        b_put(&b, chunk, n);
    fclose(f);
    return b;
}

/* A file from its parts: the header length (hlen_override, or the JSON's
 * length plus `pad` spaces), the JSON, the spaces, the data. */
static void write_st(const char *path, const char *json, size_t json_len, size_t pad,
                     const bytes *data, const uint64_t *hlen_override)
{
    bytes f = {0};
    b_u64le(&f, hlen_override ? *hlen_override : json_len + pad);
    b_put(&f, json, json_len);
    for (size_t i = 0; i < pad; i++)
        b_put(&f, " ", 1);
    if (data)
        b_put(&f, data->p, data->n);
    write_file(path, f.p, f.n);
    b_free(&f);
}

/* Pads to the 8-byte alignment the writer uses. */
static void write_st_aligned(const char *path, const char *json, const bytes *data)
{
    size_t len = strlen(json);
    write_st(path, json, len, (8 - len % 8) % 8, data, NULL);
}

/* ------------------------------------------------------------------ */
/* Stores                                                              */
/* ------------------------------------------------------------------ */

static ag_tensor *add(ag_params *p, const char *name, ag_dtype dt, int ndim, const int64_t *shape,
                      const void *data)
{
    ag_tensor *t = ag_params_add(p, name, ag_from_array(dt, ndim, shape, data));
    ck_assert_msg(t != NULL, "add %s: %s", name, ag_last_error());
    return t;
}

static float nan_payload_f32(void)
{
    uint32_t u = 0x7fc12345u;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double nan_payload_f64(void)
{
    uint64_t u = 0xfff8000000abcdefull;
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static const float W1[12] = {1.5f, -2.0f, 0.1f, 3.0e38f, -0.0f, 1e-45f /* denormal */,
                             FLT_MIN, 7.25f, -1.0f / 3.0f, 0.0f, 1e10f, -1e-10f};
static const float B1[4] = {0.5f, -0.25f, 2.0f, 1.0f / 7.0f};
static const double EMB[12] = {0.1, -0.2, 1.0 / 3.0, 2.5e-310 /* denormal */, DBL_MAX, -DBL_MIN,
                               3.141592653589793, -0.0, 1e300, 42.0, -7.5, 2.0 / 3.0};
static const int64_t STEPS[5] = {INT64_MIN, -1, 0, 1, INT64_MAX};

/* Every dtype, a 0-d tensor of each float dtype, zero-size tensors, special
 * values (signed zero, infinities, NaN payloads, denormals, extremes), and
 * names with a slash and non-ASCII letters. Insertion order mixes 4- and
 * 8-byte dtypes on purpose. */
static ag_params *make_store(void)
{
    ag_params *p = keep_params(ag_params_new());
    float w[12];
    memcpy(w, W1, sizeof w);
    w[9] = nan_payload_f32();
    w[10] = INFINITY;
    double e[12];
    memcpy(e, EMB, sizeof e);
    e[9] = nan_payload_f64();
    e[10] = -INFINITY;
    add(p, "fc1.weight", AG_F32, 2, H_SHAPE(3, 4), w);
    add(p, "steps", AG_I64, 1, H_SHAPE(5), STEPS);
    add(p, "fc1.bias", AG_F32, 1, H_SHAPE(4), B1);
    add(p, "emb", AG_F64, 3, H_SHAPE(2, 3, 2), e);
    double s = -1.0 / 3.0;
    float sf = 0.75f;
    int64_t si = -123456789012345;
    add(p, "scale", AG_F64, 0, NULL, &s);
    add(p, "t0", AG_F32, 0, NULL, &sf);
    add(p, "i0", AG_I64, 0, NULL, &si);
    add(p, "empty", AG_F32, 2, H_SHAPE(0, 3), W1);
    add(p, "empty.i", AG_I64, 1, H_SHAPE(0), STEPS);
    add(p, "empty.d", AG_F64, 3, H_SHAPE(2, 0, 4), EMB);
    add(p, "layer/0.wéight", AG_F32, 2, H_SHAPE(1, 3), B1);
    return p;
}

/* Same names, dtypes, shapes, requires_grad flags and bytes, in the same order. */
static void assert_identical(const ag_params *a, const ag_params *b)
{
    ck_assert_uint_eq(ag_params_count(a), ag_params_count(b));
    for (size_t i = 0; i < ag_params_count(a); i++) {
        const char *na, *nb;
        const ag_tensor *ta = ag_params_at(a, i, &na), *tb = ag_params_at(b, i, &nb);
        ck_assert_str_eq(na, nb);
        ck_assert_msg(ag_tensor_dtype(ta) == ag_tensor_dtype(tb), "%s: dtype %s vs %s", na,
                      ag_dtype_str(ag_tensor_dtype(ta)), ag_dtype_str(ag_tensor_dtype(tb)));
        ck_assert_shape(tb, ag_ndim(ta), ag_shape(ta));
        ck_assert_msg(ag_requires_grad(ta) == ag_requires_grad(tb), "%s: requires_grad differs", na);
        size_t nbytes = ag_numel(ta) * ag_dtype_size(ag_tensor_dtype(ta));
        ck_assert_msg(nbytes == 0 || memcmp(ag_data_const(ta), ag_data_const(tb), nbytes) == 0,
                      "%s: the bytes differ", na);
    }
}

/* The reference model of the hand-written files: a F32 (2,2), b I64 (3),
 * c F64 (). */
static const float A_VALS[4] = {1.5f, -2.0f, 0.25f, 8.0f};
static const int64_t B_VALS[3] = {7, -1, (int64_t)1 << 40};
static const double C_VAL = 0.1;

static ag_params *abc_model(void)
{
    ag_params *p = keep_params(ag_params_new());
    float a[4] = {9, 9, 9, 9};
    int64_t b[3] = {9, 9, 9};
    double c = 9;
    add(p, "a", AG_F32, 2, H_SHAPE(2, 2), a);
    add(p, "b", AG_I64, 1, H_SHAPE(3), b);
    add(p, "c", AG_F64, 0, NULL, &c);
    return p;
}

/* The data of a, b, c in that order (48 bytes), then `extra` zero bytes. */
static bytes abc_data(size_t extra)
{
    bytes d = {0};
    for (int i = 0; i < 4; i++)
        b_f32(&d, A_VALS[i]);
    for (int i = 0; i < 3; i++)
        b_i64(&d, B_VALS[i]);
    b_f64(&d, C_VAL);
    for (size_t i = 0; i < extra; i++)
        b_put(&d, "", 1);
    return d;
}

#define EA "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"
#define EB "\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[16,40]}"
#define EC "\"c\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[40,48]}"

/* ------------------------------------------------------------------ */
/* Failure checks                                                      */
/* ------------------------------------------------------------------ */

static bool documented(ag_status s)
{
    return s == AG_ERR_PARSE || s == AG_ERR_IO || s == AG_ERR_SHAPE || s == AG_ERR_DTYPE ||
           s == AG_ERR_NOTFOUND;
}

/* Loading `path` into p fails with `status` (or any documented status when
 * status is AG_OK), a message naming the file and containing `substr`,
 * and p stays byte-identical. */
static void expect_load_fails(const char *what, const char *path, ag_params *p, ag_status status,
                              const char *substr)
{
    ag_params *before = ag_params_clone(p);
    ck_assert_msg(before != NULL, "clone: %s", ag_last_error());
    ag_error_clear();
    bool ok = ag_safetensors_load(path, p);
    ag_status s = ag_last_status();
    char msg[600];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    bool same_status = status == AG_OK ? documented(s) : s == status;
    bool names_file = strstr(msg, path) != NULL;
    bool names_problem = !substr || strstr(msg, substr) != NULL;
    ag_error_clear();
    /* Compare before asserting, so the clone is freed on every path. */
    bool unchanged = true;
    for (size_t i = 0; i < ag_params_count(p); i++) {
        const ag_tensor *a = ag_params_at(p, i, NULL), *b = ag_params_at(before, i, NULL);
        size_t nbytes = ag_numel(a) * ag_dtype_size(ag_tensor_dtype(a));
        unchanged &= nbytes == 0 || memcmp(ag_data_const(a), ag_data_const(b), nbytes) == 0;
    }
    ag_params_free(before);
    ck_assert_msg(!ok, "%s: the load succeeded", what);
    ck_assert_msg(same_status, "%s: status %s, expected %s (\"%s\")", what, ag_status_str(s),
                  status == AG_OK ? "a documented one" : ag_status_str(status), msg);
    ck_assert_msg(names_file, "%s: message \"%s\" does not name the file", what, msg);
    ck_assert_msg(names_problem, "%s: message \"%s\" does not contain \"%s\"", what, msg, substr);
    ck_assert_msg(unchanged, "%s: the model changed although the load failed", what);
}

/* ag_safetensors_read fails the same way. */
static void expect_read_fails(const char *what, const char *path, ag_status status,
                              const char *substr)
{
    ag_error_clear();
    ag_params *r = ag_safetensors_read(path);
    ag_status s = ag_last_status();
    char msg[600];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_params_free(r);
    ag_error_clear();
    ck_assert_msg(r == NULL, "%s: the read succeeded", what);
    ck_assert_msg(s == status, "%s: read status %s, expected %s (\"%s\")", what, ag_status_str(s),
                  ag_status_str(status), msg);
    ck_assert_msg(strstr(msg, path) != NULL, "%s: read message \"%s\" does not name the file",
                  what, msg);
    ck_assert_msg(!substr || strstr(msg, substr), "%s: read message \"%s\" lacks \"%s\"", what,
                  msg, substr);
}

/* ------------------------------------------------------------------ */
/* Round trips                                                         */
/* ------------------------------------------------------------------ */

START_TEST(test_roundtrip_every_dtype_bit_identical)
{
    ag_params *p = make_store();
    char path[600];
    tpath_into(path, "model.safetensors");
    ck_assert_msg(ag_safetensors_save(path, p, (const char *[]){"source", "check", NULL}),
                  "save: %s", ag_last_error());
    ck_assert_int_eq(count_temp_files(), 0);

    /* Read back: same names in the same order, dtypes, shapes and bits;
     * float tensors require grad (as ag_params_add makes them), i64 not. */
    ag_params *r = keep_params(ag_safetensors_read(path));
    assert_identical(p, r);
    for (size_t i = 0; i < ag_params_count(r); i++) {
        const ag_tensor *t = ag_params_at(r, i, NULL);
        ck_assert(ag_is_leaf(t));
        ck_assert(ag_requires_grad(t) == (ag_tensor_dtype(t) != AG_I64));
    }

    /* Load into a store of the same layout holding other values. */
    ag_params *q = keep_params(ag_params_clone(p));
    for (size_t i = 0; i < ag_params_count(q); i++) {
        ag_tensor *t = ag_params_at(q, i, NULL);
        memset(ag_data(t), 0x5a, ag_numel(t) * ag_dtype_size(ag_tensor_dtype(t)));
    }
    ck_assert_msg(ag_safetensors_load(path, q), "load: %s", ag_last_error());
    assert_identical(p, q);
    ck_assert_ok();
}
END_TEST

START_TEST(test_saved_file_follows_the_spec)
{
    ag_params *p = make_store();
    char path[600];
    tpath_into(path, "spec.safetensors");
    ck_assert(ag_safetensors_save(path, p, (const char *[]){"format", "pt", "note", "a/b ✓", NULL}));
    bytes f = read_file(path);
    ck_assert_uint_ge(f.n, 8);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f.p[i];
    ck_assert_uint_le(8 + hlen, f.n);
    ck_assert_msg((8 + hlen) % 8 == 0, "the data starts at %llu, not a multiple of 8",
                  (unsigned long long)(8 + hlen));
    ck_assert_int_eq(f.p[8], '{');
    /* Slashes and UTF-8 are written as they are. */
    ck_assert(contains(f.p + 8, hlen, "\"layer/0.wéight\""));

    json_tokener *tok = json_tokener_new();
    json_object *root = json_tokener_parse_ex(tok, (const char *)f.p + 8, (int)hlen);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    ck_assert_msg(root && json_object_is_type(root, json_type_object), "header is not JSON");
    for (size_t i = end; i < hlen; i++)
        ck_assert_msg(f.p[8 + i] == ' ', "header byte %zu after the JSON is 0x%02x", i, f.p[8 + i]);

    json_object *meta, *v;
    ck_assert(json_object_object_get_ex(root, "__metadata__", &meta));
    ck_assert(json_object_object_get_ex(meta, "format", &v));
    ck_assert_str_eq(json_object_get_string(v), "pt");
    ck_assert(json_object_object_get_ex(meta, "note", &v));
    ck_assert_str_eq(json_object_get_string(v), "a/b ✓");
    ck_assert_int_eq(json_object_object_length(root), (int)ag_params_count(p) + 1);

    /* Every tensor: its dtype string, shape, offsets inside the data,
     * aligned to its element size, and its bytes the little-endian encoding
     * of its values; together they tile the data exactly. */
    uint64_t data_len = f.n - 8 - hlen, covered = 0;
    const unsigned char *data = f.p + 8 + hlen;
    for (size_t i = 0; i < ag_params_count(p); i++) {
        const char *name;
        const ag_tensor *t = ag_params_at(p, i, &name);
        json_object *e, *dt, *sh, *off;
        ck_assert_msg(json_object_object_get_ex(root, name, &e), "'%s' not in the header", name);
        ck_assert(json_object_object_get_ex(e, "dtype", &dt));
        ck_assert(json_object_object_get_ex(e, "shape", &sh));
        ck_assert(json_object_object_get_ex(e, "data_offsets", &off));
        ag_dtype d = ag_tensor_dtype(t);
        ck_assert_str_eq(json_object_get_string(dt), d == AG_F32 ? "F32" : d == AG_F64 ? "F64" : "I64");
        ck_assert_int_eq(json_object_array_length(sh), ag_ndim(t));
        for (int k = 0; k < ag_ndim(t); k++)
            ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(sh, (size_t)k)),
                             ag_dim(t, k));
        ck_assert_int_eq(json_object_array_length(off), 2);
        uint64_t b = (uint64_t)json_object_get_int64(json_object_array_get_idx(off, 0));
        uint64_t x = (uint64_t)json_object_get_int64(json_object_array_get_idx(off, 1));
        size_t width = ag_dtype_size(d);
        ck_assert_uint_le(b, x);
        ck_assert_uint_le(x, data_len);
        ck_assert_uint_eq(x - b, ag_numel(t) * width);
        ck_assert_msg(b % width == 0, "'%s' starts at %llu, not aligned to %zu", name,
                      (unsigned long long)b, width);
        covered += x - b;
        bytes want = {0};
        for (size_t k = 0; k < ag_numel(t); k++) {
            const void *src = (const unsigned char *)ag_data_const(t) + k * width;
            if (width == 4) {
                uint32_t u;
                memcpy(&u, src, 4);
                b_u32le(&want, u);
            } else {
                uint64_t u;
                memcpy(&u, src, 8);
                b_u64le(&want, u);
            }
        }
        ck_assert_msg(want.n == 0 || memcmp(data + b, want.p, want.n) == 0,
                      "'%s': the data bytes are not its little-endian values", name);
        b_free(&want);
    }
    ck_assert_uint_eq(covered, data_len);
    json_object_put(root);
    b_free(&f);
}
END_TEST

START_TEST(test_handwritten_file_loads)
{
    /* Written from the spec: keys in the order c, a, b; data in the order
     * b, c, a; metadata; and (second file) no padding at all. */
    bytes d = {0};
    for (int i = 0; i < 3; i++)
        b_i64(&d, B_VALS[i]);
    b_f64(&d, C_VAL);
    for (int i = 0; i < 4; i++)
        b_f32(&d, A_VALS[i]);
    const char *json =
        "{\"c\": {\"dtype\": \"F64\", \"shape\": [], \"data_offsets\": [24, 32]},\n"
        " \"__metadata__\": {\"format\": \"pt\"},\n"
        " \"a\": {\"shape\": [2, 2], \"dtype\": \"F32\", \"data_offsets\": [32, 48]},\n"
        " \"b\": {\"dtype\": \"I64\", \"data_offsets\": [0, 24], \"shape\": [3]}}";
    for (int variant = 0; variant < 2; variant++) {
        char path[600];
        tpath_into(path, variant ? "unpadded.st" : "hand.st");
        size_t len = strlen(json);
        write_st(path, json, len, variant ? 0 : (8 - len % 8) % 8 + 8, &d, NULL);

        ag_params *r = keep_params(ag_safetensors_read(path));
        ck_assert_uint_eq(ag_params_count(r), 3);
        const char *n0, *n1, *n2;
        ag_params_at(r, 0, &n0);
        ag_params_at(r, 1, &n1);
        ag_params_at(r, 2, &n2);
        ck_assert_str_eq(n0, "c"); /* header order */
        ck_assert_str_eq(n1, "a");
        ck_assert_str_eq(n2, "b");
        ag_tensor *a = ag_params_get(r, "a"), *b = ag_params_get(r, "b"), *c = ag_params_get(r, "c");
        ck_assert_shape(a, 2, H_SHAPE(2, 2));
        ck_assert_shape(b, 1, H_SHAPE(3));
        ck_assert_shape(c, 0, NULL);
        ck_assert_int_eq(ag_tensor_dtype(a), AG_F32);
        ck_assert_int_eq(ag_tensor_dtype(b), AG_I64);
        ck_assert_int_eq(ag_tensor_dtype(c), AG_F64);
        ck_assert(memcmp(ag_data_const(a), A_VALS, sizeof A_VALS) == 0);
        ck_assert(memcmp(ag_data_const(b), B_VALS, sizeof B_VALS) == 0);
        ck_assert(ag_item(c) == C_VAL);

        ag_params *m = abc_model();
        ck_assert_msg(ag_safetensors_load(path, m), "load: %s", ag_last_error());
        ck_assert(memcmp(ag_data_const(ag_params_get(m, "a")), A_VALS, sizeof A_VALS) == 0);
        ck_assert(memcmp(ag_data_const(ag_params_get(m, "b")), B_VALS, sizeof B_VALS) == 0);
        ck_assert(ag_item(ag_params_get(m, "c")) == C_VAL);
    }
    b_free(&d);
    ck_assert_ok();
}
END_TEST

START_TEST(test_empty_store_and_overwrite)
{
    ag_params *e = keep_params(ag_params_new());
    char path[600];
    tpath_into(path, "empty.st");
    ck_assert(ag_safetensors_save(path, e, NULL));
    bytes f = read_file(path);
    /* 8 bytes of length, "{}" and six spaces of padding. */
    ck_assert_uint_eq(f.n, 16);
    ck_assert_int_eq(f.p[0], 8);
    ck_assert(memcmp(f.p + 8, "{}      ", 8) == 0);
    b_free(&f);
    ag_params *r = keep_params(ag_safetensors_read(path));
    ck_assert_uint_eq(ag_params_count(r), 0);
    ck_assert(ag_safetensors_load(path, e));

    /* Saving over an existing file replaces it whole. */
    ag_params *p = make_store();
    ck_assert(ag_safetensors_save(path, p, NULL));
    ag_params *r2 = keep_params(ag_safetensors_read(path));
    assert_identical(p, r2);
    ck_assert(ag_safetensors_save(path, e, NULL));
    ag_params *r3 = keep_params(ag_safetensors_read(path));
    ck_assert_uint_eq(ag_params_count(r3), 0);
    ck_assert_int_eq(count_temp_files(), 0);
    ck_assert_ok();
}
END_TEST

static ag_tensor *predict(const ag_mlp *m, ag_tensor *X)
{
    bool prev = ag_no_grad_begin();
    ag_tensor *y = ag_mlp_forward(m, X);
    ag_grad_mode_set(prev);
    ck_assert_tensor(y);
    return y;
}

START_TEST(test_mlp_predictions_identical_after_load)
{
    const ag_dtype dts[] = {AG_F32, AG_F64};
    for (size_t k = 0; k < H_COUNT(dts); k++) {
        ag_rng rng;
        ag_rng_seed(&rng, 11);
        ag_mlp *m = keep_mlp(ag_mlp_new(4, H_SHAPE(5, 8, 6, 3), AG_ACT_TANH, dts[k], &rng));
        ag_tensor *X = h_rand(dts[k], 2, H_SHAPE(7, 5), -2, 2, &rng);
        ag_tensor *y1 = predict(m, X);
        size_t nbytes = ag_numel(y1) * ag_dtype_size(dts[k]);
        char path[600];
        tpath_into(path, "mlp.st");
        ck_assert(ag_safetensors_save(path, m->params, NULL));

        ag_rng_seed(&rng, 12345);
        ag_mlp *m2 = keep_mlp(ag_mlp_new(4, H_SHAPE(5, 8, 6, 3), AG_ACT_TANH, dts[k], &rng));
        ag_tensor *y2 = predict(m2, X);
        ck_assert_msg(memcmp(ag_data_const(y1), ag_data_const(y2), nbytes) != 0,
                      "another seed gave the same predictions: the test would prove nothing");
        ck_assert_msg(ag_safetensors_load(path, m2->params), "load: %s", ag_last_error());
        ag_tensor *y3 = predict(m2, X);
        ck_assert_msg(memcmp(ag_data_const(y1), ag_data_const(y3), nbytes) == 0,
                      "%s predictions differ after save and load", ag_dtype_str(dts[k]));
        ag_tape_reset(NULL);
    }
    ck_assert_ok();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Malformed files                                                     */
/* ------------------------------------------------------------------ */

typedef struct bad_case {
    const char *what;
    const char *json;
    size_t extra;         /* zero bytes appended to the 48 of a, b, c */
    size_t cut;           /* data bytes removed from the end of those 48 */
    ag_status status;
    const char *substr;
    bool file_is_valid;   /* a model mismatch: ag_safetensors_read succeeds */
} bad_case;

static const bad_case BAD[] = {
    {"incomplete JSON", "{" EA ",", 0, 0, AG_ERR_PARSE, "JSON", false},
    {"trailing comma", "{" EA "," EB "," EC ",}", 0, 0, AG_ERR_PARSE, "not valid JSON", false},
    {"not an object", "[" EA "]", 0, 0, AG_ERR_PARSE, "does not start with '{'", false},
    {"garbage after the JSON", "{" EA "," EB "," EC "} x", 0, 0, AG_ERR_PARSE, "JSON", false},
    {"single quotes", "{'a':1}", 0, 0, AG_ERR_PARSE, "", false},
    {"entry not an object", "{\"a\":[1,2]," EB "," EC "}", 0, 0, AG_ERR_PARSE, "'a' is not a JSON object", false},
    {"no dtype", "{\"a\":{\"shape\":[2,2],\"data_offsets\":[0,16]}," EB "," EC "}", 0, 0,
     AG_ERR_PARSE, "dtype", false},
    {"unknown dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2,2],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_DTYPE, "unknown dtype 'F33'", false},
    {"lowercase dtype", "{\"a\":{\"dtype\":\"f32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_DTYPE, "unknown dtype 'f32'", false},
    {"unsupported dtype", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2,4],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_DTYPE, "F16", false},
    {"dtype not a string", "{\"a\":{\"dtype\":4,\"shape\":[2,2],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "dtype", false},
    {"negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2,-2],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "dimension 0", false},
    {"fractional dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2.0],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "dimension 1", false},
    {"shape not an array", "{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "shape", false},
    {"nine dimensions", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,4,1,1,1,1],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_SHAPE, "9 dimensions", false},
    {"element count overflows",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_SHAPE, "too many elements", false},
    {"byte count overflows", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_SHAPE, "too many elements", false},
    {"three offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,8,16]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "data_offsets", false},
    {"negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[-16,0]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "data_offsets", false},
    {"huge offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[18446744073709551600,18446744073709551616]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "past the end", false},
    {"end before begin", "{" EA "," EB ",\"c\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[48,40]}}",
     0, 0, AG_ERR_PARSE, "end before begin", false},
    {"offsets past the data", "{" EA "," EB ",\"c\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[40,56]}}",
     0, 0, AG_ERR_PARSE, "past the end of the data (48 bytes)", false},
    {"size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "needs 24 bytes", false},
    {"overlapping tensors",
     "{" EA ",\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[8,32]},"
     "\"c\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[32,40]}}",
     0, 8, AG_ERR_PARSE, "overlap", false},
    {"same range twice",
     "{" EA ",\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
     "\"c\":{\"dtype\":\"F64\",\"shape\":[4],\"data_offsets\":[16,48]}}",
     0, 0, AG_ERR_PARSE, "overlap", false},
    {"a gap", "{" EA ",\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[24,48]},"
     "\"c\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[48,56]}}",
     8, 0, AG_ERR_PARSE, "bytes [16, 24) belong to no tensor", false},
    {"trailing data", "{" EA "," EB "," EC "}", 8, 0, AG_ERR_PARSE, "last 8 bytes", false},
    {"metadata not strings", "{\"__metadata__\":{\"k\":1}," EA "," EB "," EC "}", 0, 0,
     AG_ERR_PARSE, "metadata 'k'", false},
    {"metadata not an object", "{\"__metadata__\":[\"k\"]," EA "," EB "," EC "}", 0, 0,
     AG_ERR_PARSE, "__metadata__", false},
    {"invalid UTF-8", "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_PARSE, "utf-8", false},
    {"missing tensor", "{" EA "," EB "}", 0, 8, AG_ERR_NOTFOUND,
     "tensor 'c' of the model is not in the file", true},
    {"extra tensor", "{" EA "," EB "," EC ",\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[48,52]}}",
     4, 0, AG_ERR_NOTFOUND, "tensor 'd' that the model does not", true},
    {"shape mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_SHAPE, "tensor 'a' has shape (4) in the file but (2,2) in the model", true},
    {"transposed shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,4],\"data_offsets\":[0,16]}," EB "," EC "}",
     0, 0, AG_ERR_SHAPE, "(1,4) in the file but (2,2)", true},
    {"dtype mismatch", "{" EA "," EB ",\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[40,48]}}",
     0, 0, AG_ERR_DTYPE, "tensor 'c' is I64 in the file but F64 in the model", true},
    {"f32 for f64", "{" EA "," EB ",\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[40,48]}}",
     0, 0, AG_ERR_DTYPE, "'c' is F32 in the file but F64", true},
};

START_TEST(test_malformed_headers)
{
    ag_params *m = abc_model();
    for (size_t i = 0; i < H_COUNT(BAD); i++) {
        const bad_case *c = &BAD[i];
        bytes d = abc_data(c->extra);
        d.n -= c->cut;
        char name[64];
        snprintf(name, sizeof name, "bad%zu.st", i);
        char path[600];
        tpath_into(path, name);
        write_st_aligned(path, c->json, &d);
        b_free(&d);
        expect_load_fails(c->what, path, m, c->status, c->substr);
        if (c->file_is_valid) {
            ag_error_clear();
            ag_params *r = ag_safetensors_read(path);
            ck_assert_msg(r != NULL, "%s: the file should read: %s", c->what, ag_last_error());
            ag_params_free(r);
        } else {
            expect_read_fails(c->what, path, c->status, c->substr);
        }
    }
    /* And the valid file of the same pieces loads (so each case above failed
     * for its own reason). */
    bytes d = abc_data(0);
    char path[600];
    tpath_into(path, "good.st");
    write_st_aligned(path, "{" EA "," EB "," EC "}", &d);
    b_free(&d);
    ck_assert_msg(ag_safetensors_load(path, m), "%s", ag_last_error());
    ck_assert(memcmp(ag_data_const(ag_params_get(m, "a")), A_VALS, sizeof A_VALS) == 0);
    ck_assert_ok();
}
END_TEST

START_TEST(test_header_length_and_odd_bytes)
{
    ag_params *m = abc_model();
    bytes d = abc_data(0);
    const char *json = "{" EA "," EB "," EC "}";
    size_t len = strlen(json);
    char path[600];
    tpath_into(path, "len.st");
    struct {
        const char *what;
        uint64_t hlen;
        const char *substr;
    } cases[] = {
        {"length past the end", len + 48 + 8, "runs past the end of the file"},
        {"absurd length", (uint64_t)1 << 62, "exceeds the 100 MB limit"},
        {"all ones", UINT64_MAX, "header length"},
        {"zero length", 0, "too small"},
        {"one byte", 1, "too small"},
        {"length too short", len - 5, "JSON"},
        {"length too long (into the data)", len + 8, ""},
    };
    for (size_t i = 0; i < H_COUNT(cases); i++) {
        write_st(path, json, len, 0, &d, &cases[i].hlen);
        expect_load_fails(cases[i].what, path, m, AG_ERR_PARSE, cases[i].substr);
        expect_read_fails(cases[i].what, path, AG_ERR_PARSE, cases[i].substr);
    }

    /* A NUL byte inside the JSON. */
    char nul[] = "{\"a\":{\"dtype\":\"F3\0\",\"shape\":[2,2],\"data_offsets\":[0,16]}," EB "," EC "}";
    write_st(path, nul, sizeof nul - 1, 0, &d, NULL);
    expect_load_fails("NUL in the header", path, m, AG_ERR_PARSE, "JSON");

    /* Files too short to hold a length, an empty file, a directory, a
     * missing file. */
    write_file(path, "\x10\0\0", 3);
    expect_load_fails("three bytes", path, m, AG_ERR_PARSE, "fewer than the 8-byte header length");
    write_file(path, "", 0);
    expect_load_fails("empty file", path, m, AG_ERR_PARSE, "truncated");
    expect_load_fails("a directory", dir, m, AG_ERR_IO, "not a regular file");
    expect_read_fails("a directory", dir, AG_ERR_IO, "not a regular file");
    expect_load_fails("no such file", tpath("missing.st"), m, AG_ERR_IO, "No such file");
    expect_read_fails("no such file", tpath("missing.st"), AG_ERR_IO, "cannot open");
    b_free(&d);
}
END_TEST

START_TEST(test_truncated_at_every_byte)
{
    ag_params *p = make_store();
    char good[600];
    tpath_into(good, "good.st");
    char cut[600];
    tpath_into(cut, "cut.st");
    ck_assert(ag_safetensors_save(good, p, (const char *[]){"k", "v", NULL}));
    bytes f = read_file(good);
    ag_params *q = keep_params(ag_params_clone(p));
    for (size_t n = 0; n < f.n; n++) {
        write_file(cut, f.p, n);
        char what[64];
        snprintf(what, sizeof what, "cut to %zu of %zu bytes", n, f.n);
        expect_load_fails(what, cut, q, AG_ERR_PARSE, "truncated");
        if (n % 7 == 0 || n < 16)
            expect_read_fails(what, cut, AG_ERR_PARSE, "truncated");
    }
    /* The whole file loads. */
    write_file(cut, f.p, f.n);
    ck_assert(ag_safetensors_load(cut, q));
    assert_identical(p, q);
    b_free(&f);
}
END_TEST

START_TEST(test_corrupted_header_bytes)
{
    /* Every byte of the length and the header replaced by each of a few
     * values: whatever happens, nothing crashes, errors are documented and
     * name the file, and the model is untouched unless the load succeeds
     * (which can only restore the same values: the file was saved from
     * this very model). */
    ag_params *p = abc_model();
    char good[600];
    tpath_into(good, "good.st");
    char bad[600];
    tpath_into(bad, "bad.st");
    ck_assert(ag_safetensors_save(good, p, (const char *[]){"k", "v", NULL}));
    bytes f = read_file(good);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | f.p[i];
    static const unsigned char vals[] = {'x', '0', '9', '"', '{', '}', ',', ' ', '-', 0x00, 0xff, 0x80};
    ag_params *before = keep_params(ag_params_clone(p));
    size_t n_ok = 0, n_failed = 0;
    for (size_t pos = 0; pos < 8 + hlen; pos++)
        for (size_t v = 0; v < sizeof vals; v++) {
            if (f.p[pos] == vals[v])
                continue;
            unsigned char old = f.p[pos];
            f.p[pos] = vals[v];
            write_file(bad, f.p, f.n);
            f.p[pos] = old;
            ag_error_clear();
            if (ag_safetensors_load(bad, p)) {
                n_ok++;
            } else {
                n_failed++;
                ck_assert_msg(documented(ag_last_status()), "byte %zu = 0x%02x: status %s (%s)",
                              pos, vals[v], ag_status_str(ag_last_status()), ag_last_error());
                ck_assert_msg(strstr(ag_last_error(), bad) != NULL,
                              "byte %zu = 0x%02x: \"%s\" does not name the file", pos, vals[v],
                              ag_last_error());
            }
            assert_identical(before, p);
            ag_error_clear();
            ag_params *r = ag_safetensors_read(bad);
            ck_assert(r != NULL || documented(ag_last_status()));
            ag_params_free(r);
        }
    ck_assert_uint_gt(n_failed, n_ok);
    b_free(&f);
    ag_error_clear();
}
END_TEST

START_TEST(test_read_refuses_names_the_store_cannot_hold)
{
    bytes d = {0};
    b_f32(&d, 1.0f);
    char path[600];
    tpath_into(path, "names.st");
    write_st_aligned(path, "{\"\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", &d);
    expect_read_fails("empty name", path, AG_ERR_VALUE, "1 to 127");
    char json[512], longname[201];
    memset(longname, 'n', 200);
    longname[200] = '\0';
    snprintf(json, sizeof json, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
             longname);
    write_st_aligned(path, json, &d);
    expect_read_fails("long name", path, AG_ERR_VALUE, "200 bytes");
    b_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Saving safely                                                       */
/* ------------------------------------------------------------------ */

START_TEST(test_save_argument_errors)
{
    ag_params *p = make_store();
    char path[600];
    tpath_into(path, "args.st");
    ag_error_clear();
    ck_assert(!ag_safetensors_save(NULL, p, NULL));
    ck_assert_error(AG_ERR_NULL, "path");
    ag_error_clear();
    ck_assert(!ag_safetensors_save(path, NULL, NULL));
    ck_assert_error(AG_ERR_NULL, "store");
    ag_error_clear();
    ck_assert(!ag_safetensors_load(path, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_safetensors_read(NULL));
    ck_assert_status(AG_ERR_NULL);

    ag_error_clear();
    ck_assert(!ag_safetensors_save(path, p, (const char *[]){"a", "1", "b", NULL}));
    ck_assert_error(AG_ERR_VALUE, "metadata key 'b' has no value");
    ag_error_clear();
    ck_assert(!ag_safetensors_save(path, p, (const char *[]){"a", "1", "a", "2", NULL}));
    ck_assert_error(AG_ERR_VALUE, "'a' appears twice");

    ag_params *q = keep_params(ag_params_new());
    add(q, "__metadata__", AG_F32, 0, NULL, (float[]){1});
    ag_error_clear();
    ck_assert(!ag_safetensors_save(path, q, NULL));
    ck_assert_error(AG_ERR_VALUE, "__metadata__");

    ag_params *u = keep_params(ag_params_new());
    add(u, "bad\xff", AG_F32, 0, NULL, (float[]){1});
    ag_error_clear();
    ck_assert(!ag_safetensors_save(path, u, NULL));
    ck_assert_error(AG_ERR_VALUE, "UTF-8");

    /* None of these created a file, temporary or not. */
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(count_temp_files(), 0);

    ag_error_clear();
    ck_assert(!ag_safetensors_save(tpath("no/such/dir/x.st"), p, NULL));
    ck_assert_error(AG_ERR_IO, "no/such/dir/x.st");
    ag_error_clear();
}
END_TEST

/* A store of n f32 values, all `v`. */
static ag_params *big_store(size_t n, float v)
{
    ag_params *p = keep_params(ag_params_new());
    ag_tensor *t = ag_params_add(p, "big", ag_full(AG_F32, 1, H_SHAPE((int64_t)n), v));
    ck_assert_tensor(t);
    add(p, "small", AG_F64, 1, H_SHAPE(3), (double[]){v, v, v});
    return p;
}

START_TEST(test_failed_save_keeps_the_old_file)
{
    /* The old file, then a save that cannot finish: the file-size limit
     * (RLIMIT_FSIZE) makes the writes fail half-way with EFBIG, as a full
     * disk would. */
    ag_params *old = make_store();
    char path[600];
    tpath_into(path, "keep.st");
    ck_assert(ag_safetensors_save(path, old, NULL));
    bytes before = read_file(path);
    ag_params *big = big_store(100000, 2.0f);

    struct rlimit lim, saved;
    ck_assert(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    lim = saved;
    lim.rlim_cur = 64 * 1024;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    ag_error_clear();
    bool ok = ag_safetensors_save(path, big, NULL);
    ag_status s = ag_last_status();
    char msg[600];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, prev);

    ck_assert_msg(!ok, "the save succeeded under a 64 KiB file-size limit");
    ck_assert_msg(s == AG_ERR_IO, "status %s (%s)", ag_status_str(s), msg);
    ck_assert_msg(strstr(msg, path) && strstr(msg, "unchanged"), "message: %s", msg);
    bytes after = read_file(path);
    ck_assert_uint_eq(after.n, before.n);
    ck_assert(memcmp(after.p, before.p, before.n) == 0);
    ck_assert_int_eq(count_temp_files(), 0);
    b_free(&before);
    b_free(&after);
    ag_error_clear();

    /* A target that is a directory: the rename fails; the temporary file
     * goes away. */
    ck_assert(mkdir(tpath("adir"), 0700) == 0);
    ck_assert(!ag_safetensors_save(tpath("adir"), old, NULL));
    ck_assert_status(AG_ERR_IO);
    ck_assert_int_eq(count_temp_files(), 0);
    rmdir(tpath("adir"));
    ag_error_clear();

    /* A folder without write permission (meaningless for root, who may
     * write anywhere). */
    if (geteuid() != 0) {
        ck_assert(chmod(dir, 0500) == 0);
        ag_error_clear();
        ok = ag_safetensors_save(path, big, NULL);
        chmod(dir, 0700);
        ck_assert(!ok);
        ck_assert_error(AG_ERR_IO, "temporary file");
        ag_params *r = keep_params(ag_safetensors_read(path));
        assert_identical(old, r);
    }
    ag_error_clear();
}
END_TEST

START_TEST(test_killed_save_leaves_a_loadable_file)
{
    /* A child saves a large model over the file again and again and is
     * killed at some moment; the file must then hold one complete model,
     * the old or the new one. */
    size_t n = h_valgrind() ? (1u << 16) : (1u << 19);
    ag_params *v1 = big_store(n, 1.0f), *v2 = big_store(n, 2.0f);
    char path[600];
    tpath_into(path, "killed.st");
    ck_assert(ag_safetensors_save(path, v1, NULL));
    const long delays[] = {0, 500, 3000, 15000, 40000}; /* microseconds */
    for (size_t k = 0; k < H_COUNT(delays); k++) {
        fflush(NULL);
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            for (;;)
                if (!ag_safetensors_save(path, v2, NULL))
                    _exit(2);
        }
        nanosleep(&(struct timespec){0, delays[k] * 1000}, NULL);
        kill(pid, SIGKILL);
        int status;
        ck_assert(waitpid(pid, &status, 0) == pid);
        ck_assert_msg(WIFSIGNALED(status), "the child stopped on its own (status %d)", status);
        ag_params *r = ag_safetensors_read(path);
        ck_assert_msg(r != NULL, "after a kill at %u us: %s", (unsigned)delays[k], ag_last_error());
        keep_params(r);
        const float *d = ag_data_const(ag_params_get(r, "big"));
        ck_assert(d[0] == 1.0f || d[0] == 2.0f);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(d[i] == d[0], "element %zu is %g, element 0 is %g", i, d[i], d[0]);
        ck_assert(ag_get_flat(ag_params_get(r, "small"), 2) == d[0]);
    }
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

typedef struct train_data {
    ag_tensor *X, *Y;
} train_data;

static train_data make_data(ag_dtype dt)
{
    ag_rng rng;
    ag_rng_seed(&rng, 2024);
    train_data d = {h_rand(dt, 2, H_SHAPE(16, 4), -1, 1, &rng), h_rand(dt, 2, H_SHAPE(16, 2), -1, 1, &rng)};
    return d;
}

static ag_mlp *make_mlp(uint64_t seed, ag_dtype dt, int64_t hidden)
{
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    return keep_mlp(ag_mlp_new(3, H_SHAPE(4, hidden, 2), AG_ACT_TANH, dt, &rng));
}

/* `steps` full-batch steps of mean squared error. */
static void train(ag_mlp *m, ag_optim *o, const train_data *d, int steps)
{
    for (int s = 0; s < steps; s++) {
        ag_optim_zero_grad(o);
        ag_tensor *loss = ag_mean(ag_square(ag_sub(ag_mlp_forward(m, d->X), d->Y)));
        ck_assert_tensor(loss);
        ck_assert_msg(ag_backward(loss), "backward: %s", ag_last_error());
        ck_assert_msg(ag_optim_step(o), "step: %s", ag_last_error());
        ag_tape_reset(NULL);
    }
}

static bool stores_identical(const ag_params *a, const ag_params *b)
{
    if (ag_params_count(a) != ag_params_count(b))
        return false;
    for (size_t i = 0; i < ag_params_count(a); i++) {
        const ag_tensor *ta = ag_params_at(a, i, NULL), *tb = ag_params_at(b, i, NULL);
        size_t nbytes = ag_numel(ta) * ag_dtype_size(ag_tensor_dtype(ta));
        if (ag_numel(ta) != ag_numel(tb) || memcmp(ag_data_const(ta), ag_data_const(tb), nbytes))
            return false;
    }
    return true;
}

START_TEST(test_checkpoint_resume_is_bit_identical)
{
    const ag_optim_config cfgs[] = {
        {.kind = AG_ADAM, .lr = 0.01},
        {.kind = AG_ADAMW, .lr = 0.02 / 3, /* 17 digits needed */ .weight_decay = 0.1, .beta1 = 0.8, .beta2 = 0.99},
        {.kind = AG_SGD, .lr = 0.05, .momentum = 0.9, .nesterov = true},
        {.kind = AG_SGD, .lr = 0.1},
        {.kind = AG_ADAM, .lr = 0.01, .clip_norm = 0.05, .weight_decay = 0.01},
    };
    const ag_dtype dts[] = {AG_F32, AG_F64};
    const int N = 6, M = 9;
    for (size_t di = 0; di < H_COUNT(dts); di++) {
        train_data d = make_data(dts[di]);
        for (size_t ci = 0; ci < H_COUNT(cfgs); ci++) {
            const ag_optim_config *cfg = &cfgs[ci];
            /* Uninterrupted: N + M steps. */
            ag_mlp *a = make_mlp(7, dts[di], 6);
            ag_optim *oa = keep_optim(ag_optim_new(a->params, cfg));
            train(a, oa, &d, N + M);

            /* N steps, a checkpoint, and a fresh process's view: another
             * initialisation and an optimizer made with a wrong rate. */
            ag_mlp *b = make_mlp(7, dts[di], 6);
            ag_optim *ob = keep_optim(ag_optim_new(b->params, cfg));
            train(b, ob, &d, N);
            char path[600];
            tpath_into(path, "ckpt.st");
            ck_assert_msg(ag_checkpoint_save(path, b->params, ob), "save: %s", ag_last_error());

            ag_mlp *c = make_mlp(99, dts[di], 6);
            ag_optim_config wrong = *cfg;
            wrong.lr = cfg->lr * 3;
            ag_optim *oc = keep_optim(ag_optim_new(c->params, &wrong));
            train(c, oc, &d, 2);
            ck_assert_msg(ag_checkpoint_load(path, c->params, oc), "load: %s", ag_last_error());
            ck_assert_uint_eq(ag_optim_steps(oc), (uint64_t)N);
            ck_assert(ag_optim_lr(oc) == cfg->lr);
            ck_assert(stores_identical(b->params, c->params));
            ck_assert(stores_identical(ag_optim_state(ob), ag_optim_state(oc)));
            train(c, oc, &d, M);

            ck_assert_msg(stores_identical(a->params, c->params),
                          "config %zu, %s: resumed parameters differ from the uninterrupted run",
                          ci, ag_dtype_str(dts[di]));
            ck_assert(stores_identical(ag_optim_state(oa), ag_optim_state(oc)));
            ck_assert_uint_eq(ag_optim_steps(oc), (uint64_t)(N + M));

            /* The optimizer's part matters: the model alone, resumed with
             * a fresh optimizer, ends elsewhere (for stateful optimizers). */
            if (ag_params_count(ag_optim_state(ob)) > 0) {
                ck_assert(ag_safetensors_save(tpath("model.st"), b->params, NULL));
                ag_mlp *e = make_mlp(99, dts[di], 6);
                ag_optim *oe = keep_optim(ag_optim_new(e->params, cfg));
                ck_assert(ag_safetensors_load(tpath("model.st"), e->params));
                train(e, oe, &d, M);
                ck_assert_msg(!stores_identical(a->params, e->params),
                              "config %zu: a fresh optimizer gave the same result", ci);
            }
        }
    }
    ck_assert_ok();
}
END_TEST

typedef struct snapshot {
    ag_params *model, *state;
    uint64_t steps;
    double lr;
} snapshot;

static snapshot take(const ag_params *model, ag_optim *o)
{
    snapshot s = {keep_params(ag_params_clone(model)), keep_params(ag_params_clone(ag_optim_state(o))),
                  ag_optim_steps(o), ag_optim_lr(o)};
    return s;
}

static void expect_ckpt_fails(const char *what, const char *path, ag_params *model, ag_optim *o,
                              ag_status status, const char *substr)
{
    snapshot s = take(model, o);
    ag_error_clear();
    bool ok = ag_checkpoint_load(path, model, o);
    ck_assert_msg(!ok, "%s: the load succeeded", what);
    ck_assert_msg(ag_last_status() == status, "%s: status %s, expected %s (%s)", what,
                  ag_status_str(ag_last_status()), ag_status_str(status), ag_last_error());
    ck_assert_msg(strstr(ag_last_error(), path) && strstr(ag_last_error(), substr),
                  "%s: message \"%s\" lacks the file or \"%s\"", what, ag_last_error(), substr);
    assert_identical(s.model, model);
    assert_identical(s.state, ag_optim_state(o));
    ck_assert_uint_eq(ag_optim_steps(o), s.steps);
    ck_assert(ag_optim_lr(o) == s.lr);
    ag_error_clear();
}

START_TEST(test_checkpoint_validates_before_changing_anything)
{
    train_data d = make_data(AG_F32);
    ag_mlp *m = make_mlp(1, AG_F32, 6);
    ag_optim *o = keep_optim(ag_optim_new(m->params, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.01}));
    train(m, o, &d, 3);
    char ckpt[600];
    tpath_into(ckpt, "ckpt.st");
    ck_assert(ag_checkpoint_save(ckpt, m->params, o));

    /* The file is a plain safetensors file with both groups. */
    ag_params *r = keep_params(ag_safetensors_read(ckpt));
    ck_assert_uint_eq(ag_params_count(r), ag_params_count(m->params) * 3);
    ck_assert_ptr_nonnull(ag_params_get(r, "model.fc1.weight"));
    ck_assert_ptr_nonnull(ag_params_get(r, "optim.exp_avg.fc1.weight"));
    ck_assert_ptr_nonnull(ag_params_get(r, "optim.exp_avg_sq.fc2.bias"));
    bytes f = read_file(ckpt);
    ck_assert(contains(f.p, f.n, "\"format\":\"autograd-checkpoint\""));
    ck_assert(contains(f.p, f.n, "\"optim.steps\":\"3\""));
    ck_assert(contains(f.p, f.n, "\"optim.lr\":\"0.01\""));

    /* A model being trained elsewhere: state, steps and rate of its own. */
    ag_mlp *t = make_mlp(2, AG_F32, 6);
    ag_optim *ot = keep_optim(ag_optim_new(t->params, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.2}));
    train(t, ot, &d, 1);

    ck_assert(ag_safetensors_save(tpath("plain.st"), m->params, NULL));
    expect_ckpt_fails("plain model file", tpath("plain.st"), t->params, ot, AG_ERR_PARSE,
                      "not an autograd checkpoint");

    ag_mlp *w = make_mlp(3, AG_F32, 5);
    ag_optim *ow = keep_optim(ag_optim_new(w->params, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.2}));
    expect_ckpt_fails("other architecture", ckpt, w->params, ow, AG_ERR_SHAPE,
                      "tensor 'model.fc1.weight' has shape (4,6) in the file but (4,5) in the model");

    /* The model part fits, the optimizer's does not: the model must not
     * change either. */
    ag_optim *os = keep_optim(ag_optim_new(t->params, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1, .momentum = 0.9}));
    expect_ckpt_fails("other optimizer", ckpt, t->params, os, AG_ERR_NOTFOUND,
                      "optim.momentum_buffer.fc1.weight");
    ag_optim *op = keep_optim(ag_optim_new(t->params, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
    expect_ckpt_fails("stateless optimizer", ckpt, t->params, op, AG_ERR_NOTFOUND,
                      "optim.exp_avg");

    /* Metadata: the same tensors with a bad tag, step count or rate. */
    struct {
        const char *what;
        const char *meta[7];
        const char *substr;
    } metas[] = {
        {"wrong format", {"format", "autograd-checkpoint-v9", "optim.steps", "3", "optim.lr", "0.01", NULL}, "format"},
        {"no steps", {"format", "autograd-checkpoint", "optim.lr", "0.01", NULL}, "\"optim.steps\" is missing"},
        {"signed steps", {"format", "autograd-checkpoint", "optim.steps", "-3", "optim.lr", "0.01", NULL}, "'-3'"},
        {"steps with junk", {"format", "autograd-checkpoint", "optim.steps", "3x", "optim.lr", "0.01", NULL}, "optim.steps"},
        {"steps overflow", {"format", "autograd-checkpoint", "optim.steps", "99999999999999999999999", "optim.lr", "0.01", NULL}, "optim.steps"},
        {"no rate", {"format", "autograd-checkpoint", "optim.steps", "3", NULL}, "\"optim.lr\" is missing"},
        {"NaN rate", {"format", "autograd-checkpoint", "optim.steps", "3", "optim.lr", "nan", NULL}, "optim.lr"},
        {"negative rate", {"format", "autograd-checkpoint", "optim.steps", "3", "optim.lr", "-0.5", NULL}, "optim.lr"},
        {"rate with junk", {"format", "autograd-checkpoint", "optim.steps", "3", "optim.lr", "0.01 ", NULL}, "optim.lr"},
    };
    for (size_t i = 0; i < H_COUNT(metas); i++) {
        ck_assert(ag_safetensors_save(tpath("meta.st"), r, metas[i].meta));
        expect_ckpt_fails(metas[i].what, tpath("meta.st"), t->params, ot, AG_ERR_PARSE,
                          metas[i].substr);
    }

    /* A truncated checkpoint. */
    write_file(tpath("cut.st"), f.p, f.n - 1);
    expect_ckpt_fails("truncated", tpath("cut.st"), t->params, ot, AG_ERR_PARSE, "truncated");
    b_free(&f);

    /* And the real thing loads. */
    ck_assert_msg(ag_checkpoint_load(ckpt, t->params, ot), "%s", ag_last_error());
    ck_assert(stores_identical(m->params, t->params));
    ck_assert(stores_identical(ag_optim_state(o), ag_optim_state(ot)));
    ck_assert_uint_eq(ag_optim_steps(ot), 3);
    ck_assert(ag_optim_lr(ot) == 0.01);

    ag_error_clear();
    ck_assert(!ag_checkpoint_save(ckpt, m->params, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_checkpoint_load(ckpt, NULL, ot));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Out of memory                                                       */
/* ------------------------------------------------------------------ */

typedef enum oom_op { OOM_SAVE, OOM_LOAD, OOM_READ, OOM_CKPT_SAVE, OOM_CKPT_LOAD } oom_op;

typedef struct oom_ctx {
    ag_params *model;    /* what is loaded into (or saved) */
    ag_params *other;    /* a different store, saved over the old file */
    ag_optim *opt;
    const char *file;    /* a good model file */
    const char *ckpt;    /* a good checkpoint of model and opt */
    const char *target;  /* where saves go: holds the old file */
} oom_ctx;

static bool oom_run(const oom_ctx *c, oom_op op)
{
    switch (op) {
    case OOM_SAVE: return ag_safetensors_save(c->target, c->other, (const char *[]){"k", "v", NULL});
    case OOM_LOAD: return ag_safetensors_load(c->file, c->model);
    case OOM_READ: {
        ag_params *r = ag_safetensors_read(c->file);
        ag_params_free(r);
        return r != NULL;
    }
    case OOM_CKPT_SAVE: return ag_checkpoint_save(c->target, c->model, c->opt);
    default: return ag_checkpoint_load(c->ckpt, c->model, c->opt);
    }
}

START_TEST(test_every_allocation_can_fail)
{
    /* Each allocation of a save, a load, a read and a checkpoint save and
     * load fails in turn (ag_alloc_fail_after): the call reports
     * AG_ERR_NOMEM (the message names the file, or the store or tensor
     * constructor that failed), leaks nothing (valgrind and
     * LeakSanitizer run this), leaves the model, the optimizer and any old
     * file as they were, and the next call succeeds. json-c's own
     * allocations are not counted: it has no allocator hook. */
    train_data d = make_data(AG_F64);
    ag_mlp *m = make_mlp(5, AG_F64, 6);
    ag_optim *o = keep_optim(ag_optim_new(m->params, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.01}));
    train(m, o, &d, 2);
    char file[600], ckpt[600], target[600];
    tpath_into(file, "model.st");
    tpath_into(ckpt, "ckpt.st");
    tpath_into(target, "target.st");
    ck_assert(ag_safetensors_save(file, m->params, NULL));
    ck_assert(ag_checkpoint_save(ckpt, m->params, o));
    oom_ctx c = {m->params, make_store(), o, file, ckpt, target};
    const char *names[] = {"save", "load", "read", "checkpoint save", "checkpoint load"};
    for (int op = OOM_SAVE; op <= OOM_CKPT_LOAD; op++) {
        ck_assert(ag_safetensors_save(target, c.model, NULL));
        bytes old = read_file(target);
        snapshot s = take(m->params, o);
        size_t before = ag_alloc_count();
        ck_assert_msg(oom_run(&c, (oom_op)op), "%s: %s", names[op], ag_last_error());
        long total = (long)(ag_alloc_count() - before);
        ck_assert_int_gt(total, 0);
        for (long k = 0; k < total; k++) {
            ck_assert(ag_safetensors_save(target, c.model, NULL));
            ag_error_clear();
            ag_alloc_fail_after(k);
            bool ok = oom_run(&c, (oom_op)op);
            ag_alloc_fail_after(-1);
            ag_status st = ag_last_status();
            char msg[600];
            snprintf(msg, sizeof msg, "%s", ag_last_error());
            ag_error_clear();
            /* Only the best-effort directory sync may fail quietly. */
            if (!ok) {
                ck_assert_msg(st == AG_ERR_NOMEM, "%s, allocation %ld of %ld: %s (%s)",
                              names[op], k, total, ag_status_str(st), msg);
                ck_assert_msg(msg[0] != '\0', "%s: no message", names[op]);
                assert_identical(s.model, m->params);
                assert_identical(s.state, ag_optim_state(o));
                ck_assert_uint_eq(ag_optim_steps(o), s.steps);
                bytes now = read_file(target);
                ck_assert_msg(now.n == old.n && memcmp(now.p, old.p, old.n) == 0,
                              "%s, allocation %ld: the old file changed", names[op], k);
                b_free(&now);
            } else {
                ck_assert_msg(op == OOM_SAVE || op == OOM_CKPT_SAVE,
                              "%s succeeded with allocation %ld of %ld failing", names[op], k, total);
            }
            ck_assert_int_eq(count_temp_files(), 0);
            ck_assert_msg(oom_run(&c, (oom_op)op), "%s after a failure: %s", names[op],
                          ag_last_error());
        }
        b_free(&old);
    }
    ag_error_clear();
}
END_TEST

Suite *safetensors_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = st_tcase(s, "round trips", H_TIMEOUT);
    tcase_add_test(tc, test_roundtrip_every_dtype_bit_identical);
    tcase_add_test(tc, test_saved_file_follows_the_spec);
    tcase_add_test(tc, test_handwritten_file_loads);
    tcase_add_test(tc, test_empty_store_and_overwrite);
    tcase_add_test(tc, test_mlp_predictions_identical_after_load);
    tc = st_tcase(s, "malformed files", 300);
    tcase_add_test(tc, test_malformed_headers);
    tcase_add_test(tc, test_header_length_and_odd_bytes);
    tcase_add_test(tc, test_truncated_at_every_byte);
    tcase_add_test(tc, test_corrupted_header_bytes);
    tcase_add_test(tc, test_read_refuses_names_the_store_cannot_hold);
    tc = st_tcase(s, "safe saving", 300);
    tcase_add_test(tc, test_save_argument_errors);
    tcase_add_test(tc, test_failed_save_keeps_the_old_file);
    tcase_add_test(tc, test_killed_save_leaves_a_loadable_file);
    tc = st_tcase(s, "checkpoints", 300);
    tcase_add_test(tc, test_checkpoint_resume_is_bit_identical);
    tcase_add_test(tc, test_checkpoint_validates_before_changing_anything);
    tc = st_tcase(s, "out of memory", 300);
    tcase_add_test(tc, test_every_allocation_can_fail);
    return s;
}

H_MAIN(safetensors_suite)

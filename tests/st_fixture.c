/* SPDX-License-Identifier: MIT */
/* st_fixture.c — the safetensors suites' shared fixture and helpers (see
 * st_fixture.h). */
#include "st_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Fixture: a fresh directory per test, and stores freed afterwards     */
/* ------------------------------------------------------------------ */

char st_dir[256];
static ag_params *kept_params[64];
static size_t n_kept_params;
static ag_optim *kept_optims[128];
static size_t n_kept_optims;
static ag_mlp *kept_mlps[128];
static size_t n_kept_mlps;

ag_params *keep_params(ag_params *p)
{
    ck_assert_msg(p != NULL, "store is NULL: %s: %s", ag_status_str(ag_last_status()),
                  ag_last_error());
    ck_assert(n_kept_params < H_COUNT(kept_params));
    kept_params[n_kept_params++] = p;
    return p;
}

ag_optim *keep_optim(ag_optim *o)
{
    ck_assert_msg(o != NULL, "optimizer is NULL: %s", ag_last_error());
    ck_assert(n_kept_optims < H_COUNT(kept_optims));
    kept_optims[n_kept_optims++] = o;
    return o;
}

ag_mlp *keep_mlp(ag_mlp *m)
{
    ck_assert_msg(m != NULL, "mlp is NULL: %s", ag_last_error());
    ck_assert(n_kept_mlps < H_COUNT(kept_mlps));
    kept_mlps[n_kept_mlps++] = m;
    return m;
}

static void st_setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(st_dir, sizeof st_dir, "%s/ag-st-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_msg(mkdtemp(st_dir) != NULL, "mkdtemp(%s): %s", st_dir, strerror(errno));
}

static void st_teardown(void)
{
    while (n_kept_optims > 0)
        ag_optim_free(kept_optims[--n_kept_optims]);
    while (n_kept_mlps > 0)
        ag_mlp_free(kept_mlps[--n_kept_mlps]);
    while (n_kept_params > 0)
        ag_params_free(kept_params[--n_kept_params]);
    chmod(st_dir, 0700);
    DIR *d = opendir(st_dir);
    if (d) {
        struct dirent *e;
        char p[600];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", st_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(st_dir);
}

TCase *st_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = h_tcase(s, name, timeout);
    tcase_add_checked_fixture(tc, st_setup, st_teardown);
    return tc;
}

/* "<st_dir>/<name>" into buf (600 bytes). */
void tpath_into(char *buf, const char *name)
{
    snprintf(buf, 600, "%s/%s", st_dir, name);
}

/* "<st_dir>/<name>" in one of a few rotating buffers, for paths used at once. */
const char *tpath(const char *name)
{
    static char bufs[8][600];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", st_dir, name);
    return b;
}

/* Files in the test directory whose name contains ".tmp." (left-over
 * temporary files). */
int count_temp_files(void)
{
    DIR *d = opendir(st_dir);
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

void b_put(bytes *b, const void *d, size_t n)
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

void b_u64le(bytes *b, uint64_t v)
{
    unsigned char c[8];
    for (int i = 0; i < 8; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    b_put(b, c, 8);
}

void b_u32le(bytes *b, uint32_t v)
{
    unsigned char c[4];
    for (int i = 0; i < 4; i++)
        c[i] = (unsigned char)(v >> (8 * i));
    b_put(b, c, 4);
}

void b_f32(bytes *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    b_u32le(b, u);
}

void b_f64(bytes *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    b_u64le(b, u);
}

void b_i64(bytes *b, int64_t v)
{
    b_u64le(b, (uint64_t)v);
}

/* Whether the n bytes at p contain the string s. */
bool contains(const void *p, size_t n, const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp((const unsigned char *)p + i, s, len) == 0)
            return true;
    return false;
}

void b_free(bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
    ck_assert(n == 0 || fwrite(p, 1, n, f) == n);
    ck_assert(fclose(f) == 0);
}

bytes read_file(const char *path)
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
void write_st(const char *path, const char *json, size_t json_len, size_t pad,
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

/* ------------------------------------------------------------------ */
/* Stores                                                              */
/* ------------------------------------------------------------------ */

ag_tensor *add(ag_params *p, const char *name, ag_dtype dt, int ndim, const int64_t *shape,
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
ag_params *make_store(void)
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
void assert_identical(const ag_params *a, const ag_params *b)
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
const float A_VALS[4] = {1.5f, -2.0f, 0.25f, 8.0f};
const int64_t B_VALS[3] = {7, -1, (int64_t)1 << 40};
const double C_VAL = 0.1;

ag_params *abc_model(void)
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

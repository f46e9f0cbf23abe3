/* SPDX-License-Identifier: MIT */
/* check-st_malformed.c — model files that must be refused: every kind of
 * malformed header (bad JSON, dtypes, shapes, offsets, overlaps, gaps,
 * metadata, UTF-8), files that do not match the model, bad header lengths,
 * a file truncated at every byte, every header byte corrupted, and names a
 * store cannot hold. Each must give its documented status, a message naming
 * the file and the problem, and leave the model exactly as it was.
 *
 * The files are written here from the format's specification (an 8-byte
 * little-endian header length, a JSON header, little-endian row-major data)
 * with shifts and memcpy (st_fixture.h), never with the library's writer;
 * each malformed header differs from a valid one of the same pieces, which
 * is checked to load. */
#include "st_fixture.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Hand-written files                                                  */
/* ------------------------------------------------------------------ */

/* Pads to the 8-byte alignment the writer uses. */
static void write_st_aligned(const char *path, const char *json, const bytes *data)
{
    size_t len = strlen(json);
    write_st(path, json, len, (8 - len % 8) % 8, data, NULL);
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
    expect_load_fails("a directory", st_dir, m, AG_ERR_IO, "not a regular file");
    expect_read_fails("a directory", st_dir, AG_ERR_IO, "not a regular file");
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

Suite *st_malformed_suite(void)
{
    Suite *s = suite_create("st_malformed");
    TCase *tc = st_tcase(s, "malformed files", 300);
    tcase_add_test(tc, test_malformed_headers);
    tcase_add_test(tc, test_header_length_and_odd_bytes);
    tcase_add_test(tc, test_truncated_at_every_byte);
    tcase_add_test(tc, test_corrupted_header_bytes);
    tcase_add_test(tc, test_read_refuses_names_the_store_cannot_hold);
    return s;
}

H_MAIN(st_malformed_suite)

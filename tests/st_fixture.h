/* SPDX-License-Identifier: MIT */
/* st_fixture.h — what the safetensors suites (check-safetensors.c,
 * check-st_malformed.c, check-checkpoint.c) share, on top of harness.h.
 *
 * A fresh temporary directory per test (st_tcase's checked fixture), and
 * stores, optimizers and MLPs handed to keep_*() freed by its teardown, so
 * a failing test leaks nothing under CK_FORK=no + valgrind. Byte buffers
 * for building files from the format's specification (an 8-byte
 * little-endian header length, a JSON header, little-endian row-major
 * data) with shifts and memcpy, never with the library's writer. And the
 * reference stores: make_store (every dtype and special value) and
 * abc_model (the model of the hand-written files).
 *
 * Built into the harness library (tests/meson.build); a suite that uses
 * none of it links none of it. */
#ifndef AG_TEST_ST_FIXTURE_H
#define AG_TEST_ST_FIXTURE_H

#include "harness.h"

/* ---- fixture: a fresh directory per test, and things freed afterwards ---- */

/* The test's directory (made by the setup, emptied and removed by the
 * teardown). */
extern char st_dir[256];
/* Each hands its non-NULL argument to the teardown and returns it; a NULL
 * argument fails the test with the library's error. */
ag_params *keep_params(ag_params *p);
ag_optim *keep_optim(ag_optim *o);
ag_mlp *keep_mlp(ag_mlp *m);
/* A test case with the harness's fixture and the directory's, added to s. */
TCase *st_tcase(Suite *s, const char *name, double timeout);
/* "<st_dir>/<name>" into buf (600 bytes). */
void tpath_into(char *buf, const char *name);
/* "<st_dir>/<name>" in one of a few rotating buffers, for paths used at once. */
const char *tpath(const char *name);
/* Files in the test directory whose name contains ".tmp." (left-over
 * temporary files). */
int count_temp_files(void);

/* ---- bytes ---- */

typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

void b_put(bytes *b, const void *d, size_t n);
/* Little-endian encodings of the value. */
void b_u64le(bytes *b, uint64_t v);
void b_u32le(bytes *b, uint32_t v);
void b_f32(bytes *b, float f);
void b_f64(bytes *b, double d);
void b_i64(bytes *b, int64_t v);
/* Whether the n bytes at p contain the string s. */
bool contains(const void *p, size_t n, const char *s);
void b_free(bytes *b);
void write_file(const char *path, const void *p, size_t n);
bytes read_file(const char *path);
/* A file from its parts: the header length (hlen_override, or the JSON's
 * length plus `pad` spaces), the JSON, the spaces, the data. */
void write_st(const char *path, const char *json, size_t json_len, size_t pad,
              const bytes *data, const uint64_t *hlen_override);

/* ---- stores ---- */

/* A tensor of `data` added to p as `name`; fails the test if the add does. */
ag_tensor *add(ag_params *p, const char *name, ag_dtype dt, int ndim, const int64_t *shape,
               const void *data);
/* A kept store of every dtype, a 0-d tensor of each float dtype, zero-size
 * tensors, special values (signed zero, infinities, NaN payloads,
 * denormals, extremes), and names with a slash and non-ASCII letters. */
ag_params *make_store(void);
/* Same names, dtypes, shapes, requires_grad flags and bytes, in the same order. */
void assert_identical(const ag_params *a, const ag_params *b);

/* The reference model of the hand-written files: a F32 (2,2), b I64 (3),
 * c F64 (); abc_model is a kept store of that layout holding 9s. */
extern const float A_VALS[4];
extern const int64_t B_VALS[3];
extern const double C_VAL;
ag_params *abc_model(void);

#endif

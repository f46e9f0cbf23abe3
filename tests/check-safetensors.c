/* SPDX-License-Identifier: MIT */
/* check-safetensors.c — model files: round trips that keep every bit,
 * saved files checked byte by byte against the format's specification,
 * files written by hand from the specification, bit-identical predictions
 * after save/load, and saving safely: argument errors, saves that fail or
 * are killed half-way (the old file survives, no temporary file is left).
 * Malformed files are check-st_malformed.c's, checkpoints and allocation
 * failures check-checkpoint.c's.
 *
 * Expected bytes are built here from the specification (an 8-byte
 * little-endian header length, a JSON header, little-endian row-major data)
 * with shifts and memcpy (st_fixture.h), never with the library's writer;
 * the saved header is parsed with json-c, not with the library's reader. */
#include "st_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

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
        ck_assert(chmod(st_dir, 0500) == 0);
        ag_error_clear();
        ok = ag_safetensors_save(path, big, NULL);
        chmod(st_dir, 0700);
        ck_assert(!ok);
        ck_assert_error(AG_ERR_IO, "temporary file");
        ag_params *r = keep_params(ag_safetensors_read(path));
        assert_identical(old, r);
    }
    ag_error_clear();
}
END_TEST

/* A file of `n` bytes at path. */
static void write_junk(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s", path);
    for (size_t i = 0; i < n; i++)
        fputc((int)(i * 31u), f);
    ck_assert(fclose(f) == 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

START_TEST(test_stale_temporaries_are_removed)
{
    /* What killed saves leave (unlocked temporaries of the target) goes
     * at the next save of that target; a live save's temporary (locked),
     * names that only look alike, another target's temporaries, links
     * and directories stay. */
    ag_params *p = make_store();
    char path[600], name[700];
    tpath_into(path, "stale.st");
    const char *stale[] = {".tmp.4242.7.0beef", ".tmp.1.0.00000", ".tmp.99999999.12.fffff"};
    for (size_t i = 0; i < H_COUNT(stale); i++) {
        snprintf(name, sizeof name, "%s%s", path, stale[i]);
        write_junk(name, i == 0 ? (1u << 20) : 10);
    }
    const char *alike[] = {".tmp.1.2.abcd", ".tmp.1.2.abcdef", ".tmp.x.2.abcde", ".tmp.1.2.ABCDE",
                           ".tmp..2.abcde", ".tmp.1.2.abcde.old", ".tmpx.1.2.abcde", "x.tmp.1.2.abcde"};
    for (size_t i = 0; i < H_COUNT(alike); i++) {
        snprintf(name, sizeof name, "%s%s", path, alike[i]);
        write_junk(name, 10);
    }
    char other[700], live[700], dir[700], link[700], victim[600];
    snprintf(other, sizeof other, "%s.tmp.5.5.12345", tpath("other.st"));
    write_junk(other, 10);
    snprintf(live, sizeof live, "%s.tmp.6.6.66666", path);
    write_junk(live, 10);
    int live_fd = open(live, O_RDONLY);
    ck_assert(live_fd >= 0 && flock(live_fd, LOCK_EX | LOCK_NB) == 0);
    snprintf(dir, sizeof dir, "%s.tmp.7.7.77777", path);
    ck_assert(mkdir(dir, 0700) == 0);
    tpath_into(victim, "victim");
    write_junk(victim, 10);
    snprintf(link, sizeof link, "%s.tmp.8.8.88888", path);
    ck_assert(symlink(victim, link) == 0);

    ck_assert_msg(ag_safetensors_save(path, p, NULL), "%s", ag_last_error());
    for (size_t i = 0; i < H_COUNT(stale); i++) {
        snprintf(name, sizeof name, "%s%s", path, stale[i]);
        ck_assert_msg(!exists(name), "%s was left", name);
    }
    for (size_t i = 0; i < H_COUNT(alike); i++) {
        snprintf(name, sizeof name, "%s%s", path, alike[i]);
        ck_assert_msg(exists(name), "%s was removed", name);
    }
    ck_assert(exists(other) && exists(live) && exists(dir) && exists(link) && exists(victim));
    assert_identical(p, keep_params(ag_safetensors_read(path)));

    /* Once the live save is gone (its lock with it), its file is stale. */
    close(live_fd);
    ck_assert(ag_safetensors_save(path, p, NULL));
    ck_assert(!exists(live));
    ck_assert(exists(other) && exists(dir) && exists(link) && exists(victim));
    ck_assert(rmdir(dir) == 0);
}
END_TEST

START_TEST(test_concurrent_saves_of_one_target)
{
    /* Three processes save one target 40 times each: each save's cleaning
     * must leave the others' live temporaries alone, so every save
     * succeeds, and the last leaves one complete file and no temporary. */
    ag_params *v[3] = {big_store(1u << 16, 1.0f), big_store(1u << 16, 2.0f),
                       big_store(1u << 16, 3.0f)};
    char path[600];
    tpath_into(path, "shared.st");
    pid_t pids[3];
    fflush(NULL);
    for (int c = 0; c < 3; c++) {
        pids[c] = fork();
        ck_assert(pids[c] >= 0);
        if (pids[c] == 0) {
            for (int k = 0; k < 40; k++)
                if (!ag_safetensors_save(path, v[c], NULL)) {
                    fprintf(stderr, "save %d of child %d: %s\n", k, c, ag_last_error());
                    _exit(2);
                }
            _exit(0);
        }
    }
    for (int c = 0; c < 3; c++) {
        int status;
        ck_assert(waitpid(pids[c], &status, 0) == pids[c]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", c,
                      status);
    }
    ag_params *r = keep_params(ag_safetensors_read(path));
    ck_assert_msg(r != NULL, "%s", ag_last_error());
    float first = ((const float *)ag_data_const(ag_params_get(r, "big")))[0];
    ck_assert(first == 1.0f || first == 2.0f || first == 3.0f);
    ck_assert_int_eq(count_temp_files(), 0);
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
    /* The kills left temporaries behind (as large as the model); the next
     * save removes them. */
    int left = count_temp_files();
    ck_assert(ag_safetensors_save(path, v1, NULL));
    ck_assert_msg(count_temp_files() == 0, "%d temporaries of killed saves, %d after a save", left,
                  count_temp_files());
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
    tc = st_tcase(s, "safe saving", 300);
    tcase_add_test(tc, test_save_argument_errors);
    tcase_add_test(tc, test_failed_save_keeps_the_old_file);
    tcase_add_test(tc, test_killed_save_leaves_a_loadable_file);
    tcase_add_test(tc, test_stale_temporaries_are_removed);
    tcase_add_test(tc, test_concurrent_saves_of_one_target);
    return s;
}

H_MAIN(safetensors_suite)

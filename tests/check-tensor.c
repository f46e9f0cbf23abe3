/* SPDX-License-Identifier: MIT */
/* check-tensor.c — tensors: constructors, random leaves, element access,
 * shape queries, printing, dtypes, labels and the shapes a tensor refuses. */
#include "harness.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- constructors ---- */

START_TEST(test_zeros_ones_full)
{
    const ag_dtype dts[] = {AG_F32, AG_F64, AG_I64};
    for (size_t k = 0; k < H_COUNT(dts); k++) {
        ag_tensor *z = h_keep(ag_zeros(dts[k], 2, H_SHAPE(3, 4)));
        ag_tensor *o = h_keep(ag_ones(dts[k], 3, H_SHAPE(2, 1, 5)));
        ag_tensor *f = h_keep(ag_full(dts[k], 1, H_SHAPE(7), -3.0));
        ck_assert_tensor(z);
        ck_assert_tensor(o);
        ck_assert_tensor(f);
        ck_assert_shape(z, 2, H_SHAPE(3, 4));
        ck_assert_shape(o, 3, H_SHAPE(2, 1, 5));
        ck_assert_shape(f, 1, H_SHAPE(7));
        ck_assert_uint_eq(ag_numel(z), 12);
        ck_assert_uint_eq(ag_numel(o), 10);
        ck_assert_uint_eq(ag_numel(f), 7);
        ck_assert_int_eq(ag_tensor_dtype(z), dts[k]);
        for (size_t i = 0; i < 12; i++)
            ck_assert_msg(ag_get_flat(z, i) == 0.0, "zeros[%zu] = %g", i, ag_get_flat(z, i));
        for (size_t i = 0; i < 10; i++)
            ck_assert_msg(ag_get_flat(o, i) == 1.0, "ones[%zu] = %g", i, ag_get_flat(o, i));
        for (size_t i = 0; i < 7; i++)
            ck_assert_msg(ag_get_flat(f, i) == -3.0, "full[%zu] = %g", i, ag_get_flat(f, i));
        ck_assert(ag_is_leaf(z));
        ck_assert(!ag_requires_grad(z));
        ck_assert_ptr_null(ag_grad_of(z));
    }
    ck_assert_ok();
}
END_TEST

START_TEST(test_full_converts_to_dtype)
{
    ag_tensor *f = h_keep(ag_full(AG_F32, 1, H_SHAPE(2), 0.1));
    ag_tensor *d = h_keep(ag_full(AG_F64, 1, H_SHAPE(2), 0.1));
    ag_tensor *i = h_keep(ag_full(AG_I64, 1, H_SHAPE(2), 7.0));
    ck_assert_tensor(f);
    ck_assert_tensor(d);
    ck_assert_tensor(i);
    /* f32 storage rounds 0.1 to the nearest float, which is not 0.1. */
    ck_assert(ag_get_flat(f, 1) == (double)0.1f);
    ck_assert(ag_get_flat(f, 1) != 0.1);
    ck_assert(ag_get_flat(d, 1) == 0.1);
    ck_assert(((const int64_t *)ag_data_const(i))[1] == 7);
}
END_TEST

START_TEST(test_from_array_and_scalar)
{
    const double dv[] = {1.5, -2.0, 3.25, 4.0, 0.0, -6.5};
    const float fv[] = {1.5f, -2.0f, 3.25f, 4.0f, 0.0f, -6.5f};
    const int64_t iv[] = {1, -2, 3, 4, 0, INT64_C(1) << 40};
    ag_tensor *d = h_keep(ag_from_array(AG_F64, 2, H_SHAPE(2, 3), dv));
    ag_tensor *f = h_keep(ag_from_array(AG_F32, 2, H_SHAPE(3, 2), fv));
    ag_tensor *i = h_keep(ag_from_array(AG_I64, 1, H_SHAPE(6), iv));
    ck_assert_tensor(d);
    ck_assert_tensor(f);
    ck_assert_tensor(i);
    for (size_t k = 0; k < 6; k++) {
        ck_assert(ag_get_flat(d, k) == dv[k]);
        ck_assert(ag_get_flat(f, k) == (double)fv[k]);
        ck_assert(((const int64_t *)ag_data_const(i))[k] == iv[k]);
    }
    /* The data is copied, not borrowed. */
    double buf[2] = {1, 2};
    ag_tensor *c = h_keep(ag_from_array(AG_F64, 1, H_SHAPE(2), buf));
    buf[0] = 99;
    ck_assert(ag_get_flat(c, 0) == 1.0);

    ag_tensor *s = h_keep(ag_scalar(AG_F64, 2.5));
    ck_assert_tensor(s);
    ck_assert_int_eq(ag_ndim(s), 0);
    ck_assert_uint_eq(ag_numel(s), 1);
    ck_assert(ag_item(s) == 2.5);
    ag_tensor *s32 = h_keep(ag_scalar(AG_F32, 1.0 / 3.0));
    ck_assert(ag_item(s32) == (double)(float)(1.0 / 3.0));
    ck_assert_ok();
}
END_TEST

START_TEST(test_clone)
{
    ag_tensor *a = h_param(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *c = h_keep(ag_clone(a));
    ck_assert_tensor(c);
    ck_assert_shape(c, 2, H_SHAPE(2, 2));
    ck_assert(ag_is_leaf(c));
    /* A copy of the value only: not its requires_grad, not its gradient. */
    ck_assert(!ag_requires_grad(c));
    ck_assert_ptr_null(ag_grad_of(c));
    ck_assert_ptr_ne(ag_data(c), ag_data(a));
    ck_assert(ag_set_flat(a, 0, 100));
    ck_assert(ag_get_flat(c, 0) == 1.0);
    ck_assert(ag_get_flat(c, 3) == 4.0);

    /* Cloning an intermediate gives a leaf that outlives the reset. */
    ag_tensor *y = ag_mul(a, a);
    ck_assert_tensor(y);
    ck_assert(!ag_is_leaf(y));
    ag_tensor *yc = h_keep(ag_clone(y));
    ck_assert_tensor(yc);
    ag_tape_reset(NULL);
    ck_assert(ag_is_leaf(yc));
    ck_assert(ag_get_flat(yc, 0) == 100.0 * 100.0);
    ck_assert(ag_get_flat(yc, 2) == 9.0);
    ck_assert_ok();

    ck_assert_ptr_null(ag_clone(NULL));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

START_TEST(test_free_rules)
{
    ag_tensor_free(NULL); /* a no-op */
    ag_tensor *a = h_pscalar(AG_F64, 3);
    ag_tensor *y = ag_add(a, a);
    ck_assert_tensor(y);
    ag_tensor_free(y); /* an intermediate: a no-op, it dies with the tape */
    ck_assert(ag_item(y) == 6.0);
    /* A leaf with a gradient frees both (valgrind/ASan check the rest). */
    ag_tensor *b = ag_scalar(AG_F64, 2);
    ck_assert(ag_set_requires_grad(b, true));
    ag_tensor *z = ag_mul(b, b);
    ck_assert(ag_backward(z));
    ck_assert_tensor(ag_grad_of(b));
    ag_tensor_free(b);
    ck_assert_ok();
}
END_TEST

START_TEST(test_zero_size)
{
    ag_tensor *e = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(0, 3)));
    ck_assert_tensor(e);
    ck_assert_shape(e, 2, H_SHAPE(0, 3));
    ck_assert_uint_eq(ag_numel(e), 0);
    ck_assert(isnan(ag_get_flat(e, 0)));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ag_tensor *e1 = h_keep(ag_ones(AG_F32, 1, H_SHAPE(0)));
    ck_assert_tensor(e1);
    ck_assert_uint_eq(ag_numel(e1), 0);
}
END_TEST

/* ---- random leaves ---- */

/* The reference generators, written from their published definitions. */
static uint64_t ref_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t ref_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t ref_xoshiro(uint64_t s[4])
{
    uint64_t result = ref_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return result;
}

START_TEST(test_rng_is_xoshiro256starstar)
{
    /* The published first output of splitmix64 seeded with 0. */
    uint64_t x = 0;
    ck_assert(ref_splitmix64(&x) == UINT64_C(0xe220a8397b1dcdaf));

    const uint64_t seeds[] = {0, 1, 42, UINT64_C(0xdeadbeefcafebabe)};
    for (size_t k = 0; k < H_COUNT(seeds); k++) {
        uint64_t sm = seeds[k], s[4];
        for (int i = 0; i < 4; i++)
            s[i] = ref_splitmix64(&sm);
        ag_rng rng;
        ag_rng_seed(&rng, seeds[k]);
        for (int i = 0; i < 1000; i++) {
            uint64_t want = ref_xoshiro(s);
            uint64_t got = ag_rng_next(&rng);
            ck_assert_msg(got == want, "seed %llu, draw %d: %llx, expected %llx",
                          (unsigned long long)seeds[k], i, (unsigned long long)got,
                          (unsigned long long)want);
        }
    }
}
END_TEST

START_TEST(test_rng_uniform_normal)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    enum { N = 20000 };
    double sum = 0, sum2 = 0;
    for (int i = 0; i < N; i++) {
        double u = ag_rng_uniform(&rng);
        ck_assert(u >= 0.0 && u < 1.0);
        sum += u;
    }
    /* Mean 1/2, standard error sqrt(1/12/N) = 0.002: five of them. */
    ck_assert_near(sum / N, 0.5, 0, 5 * sqrt(1.0 / 12 / N));
    sum = 0;
    for (int i = 0; i < N; i++) {
        double z = ag_rng_normal(&rng);
        ck_assert(isfinite(z));
        sum += z;
        sum2 += z * z;
    }
    /* Mean 0 (s.e. 1/sqrt(N)), variance 1 (s.e. sqrt(2/N)). */
    ck_assert_near(sum / N, 0.0, 0, 5 / sqrt(N));
    ck_assert_near(sum2 / N, 1.0, 0, 5 * sqrt(2.0 / N));
}
END_TEST

START_TEST(test_rand_deterministic)
{
    ag_rng r1, r2, r3;
    ag_rng_seed(&r1, 1234);
    ag_rng_seed(&r2, 1234);
    ag_rng_seed(&r3, 1235);
    const int64_t *shape = H_SHAPE(4, 5);
    ag_tensor *a = h_rand(AG_F64, 2, shape, -2, 3, &r1);
    ag_tensor *b = h_rand(AG_F64, 2, shape, -2, 3, &r2);
    ag_tensor *c = h_rand(AG_F64, 2, shape, -2, 3, &r3);
    size_t differ = 0;
    for (size_t i = 0; i < 20; i++) {
        double v = ag_get_flat(a, i);
        ck_assert(v == ag_get_flat(b, i));
        ck_assert(v >= -2 && v < 3);
        differ += v != ag_get_flat(c, i);
    }
    ck_assert_uint_eq(differ, 20);

    ag_rng_seed(&r1, 99);
    ag_rng_seed(&r2, 99);
    ag_tensor *n1 = h_keep(ag_rand_normal(AG_F32, 1, H_SHAPE(1000), 3.0, 0.5, &r1));
    ag_tensor *n2 = h_keep(ag_rand_normal(AG_F32, 1, H_SHAPE(1000), 3.0, 0.5, &r2));
    ck_assert_tensor(n1);
    ck_assert_tensor(n2);
    ck_assert_int_eq(ag_tensor_dtype(n1), AG_F32);
    double mean = 0;
    for (size_t i = 0; i < 1000; i++) {
        ck_assert(ag_get_flat(n1, i) == ag_get_flat(n2, i));
        mean += ag_get_flat(n1, i) / 1000;
    }
    /* Mean 3, standard error 0.5 / sqrt(1000) = 0.016. */
    ck_assert_near(mean, 3.0, 0, 5 * 0.5 / sqrt(1000));
}
END_TEST

START_TEST(test_rand_errors)
{
    ck_assert_ptr_null(ag_rand_uniform(AG_F64, 1, H_SHAPE(3), 0, 1, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ck_assert_ptr_null(ag_rand_uniform(AG_F64, 1, H_SHAPE(3), 1, 1, &rng));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert_ptr_null(ag_rand_normal(AG_F64, 1, H_SHAPE(3), 0, -1, &rng));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert_ptr_null(ag_rand_uniform(AG_F64, 1, H_SHAPE(-3), 0, 1, &rng));
    ck_assert_status(AG_ERR_SHAPE);
}
END_TEST

/* ---- element access ---- */

START_TEST(test_get_set_item)
{
    /* x[i][j][k] = 100 i + 10 j + k over (2,3,4). */
    double v[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                v[(i * 3 + j) * 4 + k] = 100 * i + 10 * j + k;
    ag_tensor *x = h_arr(AG_F64, 3, H_SHAPE(2, 3, 4), v);
    ck_assert(ag_get(x, H_SHAPE(1, 2, 3)) == 123.0);
    ck_assert(ag_get(x, H_SHAPE(0, 1, 2)) == 12.0);
    ck_assert(ag_get_flat(x, 23) == 123.0);
    ck_assert(ag_set_flat(x, 5, -1.5));
    ck_assert(ag_get(x, H_SHAPE(0, 1, 1)) == -1.5);
    ck_assert(((const double *)ag_data_const(x))[5] == -1.5);
    ((double *)ag_data(x))[6] = 42;
    ck_assert(ag_get(x, H_SHAPE(0, 1, 2)) == 42.0);
    ck_assert_ok();

    ck_assert(isnan(ag_get(x, H_SHAPE(2, 0, 0))));
    ck_assert_error(AG_ERR_VALUE, "out of range");
    ag_error_clear();
    ck_assert(isnan(ag_get(x, H_SHAPE(0, -1, 0))));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(isnan(ag_get_flat(x, 24)));
    ck_assert_error(AG_ERR_VALUE, "24");
    ag_error_clear();
    ck_assert(!ag_set_flat(x, 24, 0));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();

    ck_assert(isnan(ag_item(x)));
    ck_assert_error(AG_ERR_SHAPE, "(2,3,4)");
    ag_error_clear();
    ag_tensor *one = h_arr(AG_F32, 2, H_SHAPE(1, 1), H_VALS(0.25));
    ck_assert(ag_item(one) == 0.25);
    ck_assert(ag_get(one, H_SHAPE(0, 0)) == 0.25);
    ag_tensor *s = h_scalar(AG_F64, -7);
    ck_assert(ag_get(s, NULL) == -7.0);
    ck_assert_ok();
}
END_TEST

START_TEST(test_set_flat_refuses_intermediates)
{
    ag_tensor *a = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_tensor *y = ag_add_scalar(a, 1);
    ck_assert_tensor(y);
    ck_assert(!ag_set_flat(y, 0, 5));
    ck_assert_status(AG_ERR_STATE);
    ck_assert(ag_get_flat(y, 0) == 2.0);
}
END_TEST

/* ---- shape queries ---- */

START_TEST(test_shape_queries)
{
    ag_tensor *x = h_keep(ag_zeros(AG_F32, 3, H_SHAPE(2, 5, 7)));
    ck_assert_int_eq(ag_ndim(x), 3);
    ck_assert_int_eq(ag_dim(x, 0), 2);
    ck_assert_int_eq(ag_dim(x, 2), 7);
    ck_assert_int_eq(ag_dim(x, -1), 7);
    ck_assert_int_eq(ag_dim(x, -3), 2);
    ck_assert_uint_eq(ag_numel(x), 70);
    const int64_t *s = ag_shape(x);
    ck_assert_ptr_nonnull(s);
    ck_assert(s[0] == 2 && s[1] == 5 && s[2] == 7);
    char buf[32];
    ck_assert_str_eq(ag_shape_str(x, buf, sizeof buf), "(2,5,7)");
    ag_tensor *sc = h_scalar(AG_F64, 1);
    ck_assert_str_eq(ag_shape_str(sc, buf, sizeof buf), "()");
    ck_assert_int_eq(ag_ndim(sc), 0);
    ck_assert_uint_eq(ag_numel(sc), 1);
    /* A short buffer is truncated, never overrun. */
    char small[4];
    ag_shape_str(x, small, sizeof small);
    ck_assert_uint_lt(strlen(small), sizeof small);
    ck_assert_ok();

    ck_assert_int_eq(ag_dim(x, 3), 0);
    ck_assert_error(AG_ERR_VALUE, "axis 3");
    ag_error_clear();
    ck_assert_int_eq(ag_dim(x, -4), 0);
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();

    ck_assert_int_eq(ag_ndim(NULL), 0);
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_uint_eq(ag_numel(NULL), 0);
    ck_assert_ptr_null(ag_shape(NULL));
    ck_assert_ptr_null(ag_data(NULL));
    ck_assert(isnan(ag_item(NULL)));
    ck_assert_int_eq(ag_tensor_dtype(NULL), AG_F32);
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

/* ---- printing ---- */

/* What ag_fprint writes for t, read back from a tmpfile. */
static const char *print_to_string(const ag_tensor *t, char *buf, size_t size)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ag_fprint(f, t);
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_print)
{
    char out[2048];
    ag_tensor *m = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4.5));
    print_to_string(m, out, sizeof out);
    ck_assert_msg(strncmp(out, "tensor([[", 9) == 0, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "1.0000, 2.0000]") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "[3.0000, 4.5000]]") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "f64)") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "requires_grad") == NULL, "printed \"%s\"", out);

    ag_tensor *p = h_param(AG_F32, 1, H_SHAPE(3), H_VALS(-0.5, 0, 0.125));
    ag_set_label(p, "w");
    print_to_string(p, out, sizeof out);
    ck_assert_msg(strstr(out, "[-0.5000, 0.0000, 0.1250]") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "f32") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "requires_grad") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "w") != NULL, "printed \"%s\"", out);

    /* Ten elements: the first and last three around "...". */
    double v[10];
    for (int i = 0; i < 10; i++)
        v[i] = i;
    ag_tensor *big = h_arr(AG_F64, 1, H_SHAPE(10), v);
    print_to_string(big, out, sizeof out);
    ck_assert_msg(strstr(out, "0.0000, 1.0000, 2.0000, ...") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "7.0000, 8.0000, 9.0000]") != NULL, "printed \"%s\"", out);
    ck_assert_msg(strstr(out, "5.0000") == NULL, "printed \"%s\"", out);

    ag_tensor *iv = h_keep(ag_from_array(AG_I64, 1, H_SHAPE(3), (const int64_t[]){3, -1, 12}));
    print_to_string(iv, out, sizeof out);
    ck_assert_msg(strstr(out, "[3, -1, 12]") != NULL && strstr(out, "i64") != NULL,
                  "printed \"%s\"", out);

    ag_tensor *s = h_scalar(AG_F64, 2.5);
    print_to_string(s, out, sizeof out);
    ck_assert_msg(strstr(out, "2.5000") != NULL, "printed \"%s\"", out);

    ag_tensor *e = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(0, 3)));
    print_to_string(e, out, sizeof out);
    ck_assert_msg(strstr(out, "(0,3)") != NULL, "printed \"%s\"", out);

    print_to_string(NULL, out, sizeof out);
    ck_assert_msg(strstr(out, "NULL") != NULL, "printed \"%s\"", out);

    ag_tensor *y = ag_mul(p, p);
    ck_assert_tensor(y);
    ag_tape_reset(NULL);
    print_to_string(y, out, sizeof out);
    ck_assert_msg(strstr(out, "stale") != NULL, "printed \"%s\"", out);
    ag_fprint(NULL, m); /* no file: a no-op */
}
END_TEST

/* ---- dtypes ---- */

START_TEST(test_dtypes)
{
    ck_assert_str_eq(ag_dtype_str(AG_F32), "f32");
    ck_assert_str_eq(ag_dtype_str(AG_F64), "f64");
    ck_assert_str_eq(ag_dtype_str(AG_I64), "i64");
    ck_assert_uint_eq(ag_dtype_size(AG_F32), sizeof(float));
    ck_assert_uint_eq(ag_dtype_size(AG_F64), sizeof(double));
    ck_assert_uint_eq(ag_dtype_size(AG_I64), sizeof(int64_t));

    ag_tensor *i = h_keep(ag_zeros(AG_I64, 1, H_SHAPE(3)));
    ck_assert(!ag_set_requires_grad(i, true));
    ck_assert_status(AG_ERR_DTYPE);
    ck_assert(!ag_requires_grad(i));
    ag_error_clear();
    /* Unmarking is always allowed. */
    ck_assert(ag_set_requires_grad(i, false));

    ck_assert_ptr_null(ag_zeros((ag_dtype)7, 1, H_SHAPE(3)));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();

    /* f32 rounds each stored value, f64 keeps it. */
    ag_tensor *f = h_arr(AG_F32, 1, H_SHAPE(1), H_VALS(1.0 + 1e-9));
    ck_assert(ag_get_flat(f, 0) == 1.0);
    ag_tensor *d = h_arr(AG_F64, 1, H_SHAPE(1), H_VALS(1.0 + 1e-9));
    ck_assert(ag_get_flat(d, 0) == 1.0 + 1e-9);
    /* i64 truncates. */
    ag_tensor *n = h_arr(AG_I64, 1, H_SHAPE(1), H_VALS(-3.0));
    ck_assert(ag_get_flat(n, 0) == -3.0);
}
END_TEST

START_TEST(test_requires_grad_flags)
{
    ag_tensor *a = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ck_assert(!ag_requires_grad(a));
    ck_assert(ag_set_requires_grad(a, true));
    ck_assert(ag_requires_grad(a));
    ck_assert(ag_set_requires_grad(a, false));
    ck_assert(!ag_requires_grad(a));
    ck_assert(!ag_requires_grad(NULL));
    ck_assert(!ag_is_leaf(NULL));
    ck_assert(!ag_set_requires_grad(NULL, true));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

/* ---- labels ---- */

START_TEST(test_labels)
{
    ag_tensor *a = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ck_assert_str_eq(ag_label(a), "");
    ag_set_label(a, "weights");
    ck_assert_str_eq(ag_label(a), "weights");
    /* The string is copied. */
    char name[8] = "bias";
    ag_set_label(a, name);
    name[0] = 'X';
    ck_assert_str_eq(ag_label(a), "bias");
    /* At most 31 bytes kept. */
    const char *longname = "abcdefghijklmnopqrstuvwxyz0123456789";
    ag_set_label(a, longname);
    ck_assert_uint_eq(strlen(ag_label(a)), 31);
    ck_assert(strncmp(ag_label(a), longname, 31) == 0);
    ag_set_label(a, NULL);
    ck_assert_str_eq(ag_label(a), "");
    ck_assert_str_eq(ag_label(NULL), "");
    ck_assert_ok();

    /* Intermediates can be labelled too. */
    ag_tensor *y = ag_neg(a);
    ck_assert_tensor(y);
    ag_set_label(y, "y");
    ck_assert_str_eq(ag_label(y), "y");
}
END_TEST

/* ---- bad shapes ---- */

START_TEST(test_bad_shapes)
{
    const int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    ck_assert_ptr_null(ag_zeros(AG_F64, 9, nine));
    ck_assert_error(AG_ERR_SHAPE, "9 dimensions");
    ag_error_clear();

    /* Eight dimensions are fine. */
    const int64_t eight[8] = {2, 1, 2, 1, 2, 1, 2, 3};
    ag_tensor *e = h_keep(ag_ones(AG_F64, 8, eight));
    ck_assert_tensor(e);
    ck_assert_uint_eq(ag_numel(e), 48);
    ck_assert_int_eq(ag_dim(e, -1), 3);

    ck_assert_ptr_null(ag_zeros(AG_F64, -1, eight));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();

    ck_assert_ptr_null(ag_ones(AG_F32, 2, H_SHAPE(3, -2)));
    ck_assert_error(AG_ERR_SHAPE, "-2");
    ag_error_clear();

    ck_assert_ptr_null(ag_full(AG_F64, 2, H_SHAPE(INT64_MAX, INT64_MAX), 0));
    ck_assert_error(AG_ERR_SHAPE, "too many elements");
    ag_error_clear();

    /* 2^31 * 2^31 * 8 bytes overflows 64 bits. */
    ck_assert_ptr_null(ag_zeros(AG_F64, 2, H_SHAPE(INT64_C(1) << 31, INT64_C(1) << 31)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();

    /* Three dimensions whose product overflows. */
    ck_assert_ptr_null(ag_zeros(AG_F64, 3, H_SHAPE(INT64_C(1) << 40, INT64_C(1) << 40, 2)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();

    ck_assert_ptr_null(ag_from_array(AG_F64, 2, H_SHAPE(2, -1), H_VALS(1, 2)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_from_array(AG_F64, 1, H_SHAPE(2), NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_ptr_null(ag_zeros(AG_F64, 2, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();

    /* A NULL shape is fine for a scalar. */
    ag_tensor *s = h_keep(ag_zeros(AG_F64, 0, NULL));
    ck_assert_tensor(s);
    ck_assert_ok();
}
END_TEST

START_TEST(test_status_names)
{
    ck_assert_str_eq(ag_status_str(AG_OK), "AG_OK");
    ck_assert_str_eq(ag_status_str(AG_ERR_NULL), "AG_ERR_NULL");
    ck_assert_str_eq(ag_status_str(AG_ERR_SHAPE), "AG_ERR_SHAPE");
    ck_assert_str_eq(ag_status_str(AG_ERR_DTYPE), "AG_ERR_DTYPE");
    ck_assert_str_eq(ag_status_str(AG_ERR_STALE), "AG_ERR_STALE");
    ck_assert_str_eq(ag_status_str(AG_ERR_VALUE), "AG_ERR_VALUE");
    ck_assert_str_eq(ag_status_str(AG_ERR_NOMEM), "AG_ERR_NOMEM");
    ck_assert_str_eq(ag_status_str(AG_ERR_STATE), "AG_ERR_STATE");
    ck_assert_str_eq(ag_status_str(AG_ERR_IO), "AG_ERR_IO");
    ck_assert_str_eq(ag_status_str(AG_ERR_PARSE), "AG_ERR_PARSE");
    ck_assert_str_eq(ag_status_str(AG_ERR_NOTFOUND), "AG_ERR_NOTFOUND");
    ck_assert_str_eq(ag_status_str(AG_ERR_NUMERIC), "AG_ERR_NUMERIC");
    ck_assert_ptr_nonnull(ag_status_str((ag_status)1000));
}
END_TEST

Suite *tensor_suite(void);
Suite *tensor_suite(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = h_tcase(s, "constructors", H_TIMEOUT);
    tcase_add_test(tc, test_zeros_ones_full);
    tcase_add_test(tc, test_full_converts_to_dtype);
    tcase_add_test(tc, test_from_array_and_scalar);
    tcase_add_test(tc, test_clone);
    tcase_add_test(tc, test_free_rules);
    tcase_add_test(tc, test_zero_size);
    tc = h_tcase(s, "random", H_TIMEOUT);
    tcase_add_test(tc, test_rng_is_xoshiro256starstar);
    tcase_add_test(tc, test_rng_uniform_normal);
    tcase_add_test(tc, test_rand_deterministic);
    tcase_add_test(tc, test_rand_errors);
    tc = h_tcase(s, "access", H_TIMEOUT);
    tcase_add_test(tc, test_get_set_item);
    tcase_add_test(tc, test_set_flat_refuses_intermediates);
    tc = h_tcase(s, "shape queries", H_TIMEOUT);
    tcase_add_test(tc, test_shape_queries);
    tc = h_tcase(s, "printing", H_TIMEOUT);
    tcase_add_test(tc, test_print);
    tc = h_tcase(s, "dtypes and flags", H_TIMEOUT);
    tcase_add_test(tc, test_dtypes);
    tcase_add_test(tc, test_requires_grad_flags);
    tcase_add_test(tc, test_status_names);
    tc = h_tcase(s, "labels", H_TIMEOUT);
    tcase_add_test(tc, test_labels);
    tc = h_tcase(s, "bad shapes", H_TIMEOUT);
    tcase_add_test(tc, test_bad_shapes);
    return s;
}

H_MAIN(tensor_suite)

/* SPDX-License-Identifier: MIT */
/* check-random.c — random tensors on the tape (ag_randn, ag_rand,
 * ag_bernoulli in autograd/core/rng.c) and dropout (ops/dropout.c).
 *
 * Statistics are tested over 10^6 draws against their definitions: a
 * sample mean lies within 5 standard errors of the true mean (a false
 * alarm about once in 1.7 million runs, and the seeds are fixed, so a
 * passing run passes every time), with the standard error from the
 * distribution: 1/√n for normal(0,1), √(1/12/n) for uniform [0,1),
 * √(p(1−p)/n) for a Bernoulli frequency, and √(2/n) for the variance
 * of a normal sample. Dropout's kept elements are compared with
 * x · (1/(1 − p)) computed here in the dtype (PyTorch's order), and with
 * x/(1 − p) to within an ulp. */
#include "harness.h"

#include <float.h>

enum { N = 1000000 };

/* The sample mean and variance of a tensor's elements. */
static void moments(const ag_tensor *t, double *mean, double *var)
{
    size_t n = ag_numel(t);
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += ag_get_flat(t, i);
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = ag_get_flat(t, i) - *mean;
        ss += d * d;
    }
    *var = ss / (double)(n - 1);
}

/* ---- randn and rand ---- */

START_TEST(test_randn_statistics)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 2026);
    ag_tensor *z = ag_randn(dt, 2, H_SHAPE(1000, 1000), &rng);
    ck_assert_shape(z, 2, H_SHAPE(1000, 1000));
    ck_assert_int_eq(ag_tensor_dtype(z), dt);
    double mean, var;
    moments(z, &mean, &var);
    ck_assert_msg(fabs(mean) < 5 / sqrt(N), "mean %g", mean);
    ck_assert_msg(fabs(var - 1) < 5 * sqrt(2.0 / N), "variance %g", var);
    /* A tape tensor without gradient. */
    ck_assert(!ag_is_leaf(z));
    ck_assert(!ag_requires_grad(z));
    ck_assert_ptr_null(ag_node_op(z));
}
END_TEST

START_TEST(test_rand_statistics_and_range)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 99);
    ag_tensor *u = ag_rand(dt, 1, H_SHAPE(N), &rng);
    ck_assert_tensor(u);
    /* Counted, then asserted once: a Check assertion per element costs a
     * write to its log. */
    size_t outside = 0;
    for (size_t i = 0; i < N; i++) {
        double v = ag_get_flat(u, i);
        outside += !(v >= 0 && v < 1);
    }
    ck_assert_uint_eq(outside, 0);
    double mean, var;
    moments(u, &mean, &var);
    ck_assert_msg(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / N), "mean %g", mean);
    ck_assert_msg(fabs(var - 1.0 / 12) < 0.001, "variance %g", var);
}
END_TEST

/* The inverse of an odd number modulo 2^64 (Newton's iteration: each step
 * doubles the correct low bits, from 3). */
static uint64_t inverse_mod64(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

/* A generator whose first draw is the largest double below 1: xoshiro256**
 * outputs rotl(s[1] · 5, 7) · 9, so s[1] is solved for the output
 * 2^64 − 1 (whose top 53 bits make ag_rng_uniform's 1 − 2^-53). That
 * double rounds to 1.0f; ag_rand's f32 result must stay below 1. */
START_TEST(test_rand_f32_never_one)
{
    uint64_t r = UINT64_MAX * inverse_mod64(9);
    uint64_t s1 = ((r >> 7) | (r << 57)) * inverse_mod64(5);
    ag_rng top = {{0, s1, 0, 0}}, probe = top;
    ck_assert_double_eq(ag_rng_uniform(&probe), 1.0 - 0x1p-53);
    ck_assert(((float)(1.0 - 0x1p-53)) == 1.0f); /* why the guard exists */
    ag_rng a = top, b = top;
    ag_tensor *u64 = ag_rand(AG_F64, 0, NULL, &a);
    ag_tensor *u32 = ag_rand(AG_F32, 0, NULL, &b);
    ck_assert_double_eq(ag_item(u64), 1.0 - 0x1p-53);
    ck_assert_double_eq(ag_item(u32), 1.0 - 0x1p-24); /* the largest float below 1 */
}
END_TEST

START_TEST(test_same_seed_same_tensor)
{
    ag_rng a, b, c;
    ag_rng_seed(&a, 42);
    ag_rng_seed(&b, 42);
    ag_rng_seed(&c, 43);
    ag_tensor *x = ag_randn(AG_F64, 2, H_SHAPE(3, 4), &a);
    ag_tensor *y = ag_randn(AG_F64, 2, H_SHAPE(3, 4), &b);
    ag_tensor *z = ag_randn(AG_F64, 2, H_SHAPE(3, 4), &c);
    ck_assert(memcmp(ag_data_const(x), ag_data_const(y), 12 * sizeof(double)) == 0);
    ck_assert(memcmp(ag_data_const(x), ag_data_const(z), 12 * sizeof(double)) != 0);
    /* The tensor is the stream's draws in row-major order. */
    ag_rng d;
    ag_rng_seed(&d, 42);
    for (size_t i = 0; i < 12; i++)
        ck_assert_double_eq(ag_get_flat(x, i), ag_rng_normal(&d));
    /* f32 holds the f64 draws rounded, for randn and rand alike. */
    ag_rng_seed(&a, 7);
    ag_rng_seed(&b, 7);
    ag_tensor *n64 = ag_randn(AG_F64, 1, H_SHAPE(1000), &a);
    ag_tensor *n32 = ag_randn(AG_F32, 1, H_SHAPE(1000), &b);
    ag_tensor *u64 = ag_rand(AG_F64, 1, H_SHAPE(1000), &a);
    ag_tensor *u32 = ag_rand(AG_F32, 1, H_SHAPE(1000), &b);
    for (size_t i = 0; i < 1000; i++) {
        ck_assert(((const float *)ag_data_const(n32))[i] ==
                  (float)((const double *)ag_data_const(n64))[i]);
        ck_assert(((const float *)ag_data_const(u32))[i] ==
                  (float)((const double *)ag_data_const(u64))[i]);
    }
    /* And both streams stayed in step. */
    ck_assert_uint_eq(ag_rng_next(&a), ag_rng_next(&b));
}
END_TEST

START_TEST(test_random_tensors_die_at_reset)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_tensor *z = ag_randn(AG_F64, 1, H_SHAPE(3), &rng);
    ag_tensor *u = ag_rand(AG_F32, 0, NULL, &rng);
    ag_tensor *b = ag_bernoulli(u, &rng);
    ck_assert(z && u && b);
    ck_assert_int_eq(ag_ndim(u), 0);
    ag_tape_reset(NULL);
    ck_assert_uint_eq(ag_numel(z), 0);
    ck_assert_status(AG_ERR_STALE);
}
END_TEST

/* ---- bernoulli ---- */

START_TEST(test_bernoulli_frequency)
{
    ag_dtype dt = H_DTYPES[_i];
    const double p[] = {0, 0.1, 0.5, 0.9, 1};
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    for (size_t k = 0; k < H_COUNT(p); k++) {
        ag_tensor *pt = h_keep(ag_full(dt, 2, H_SHAPE(1000, 1000), p[k]));
        ag_tensor *b = ag_bernoulli(pt, &rng);
        ck_assert_tensor(b);
        ck_assert_int_eq(ag_tensor_dtype(b), dt);
        double ones = 0;
        size_t other = 0;
        for (size_t i = 0; i < N; i++) {
            double v = ag_get_flat(b, i);
            other += v != 0 && v != 1;
            ones += v;
        }
        ck_assert_uint_eq(other, 0);
        /* p itself as the dtype holds it. */
        double pk = dt == AG_F32 ? (double)(float)p[k] : p[k];
        double se = sqrt(pk * (1 - pk) / N);
        if (se == 0)
            ck_assert_double_eq(ones / N, pk); /* never for 0, always for 1 */
        else
            ck_assert_msg(fabs(ones / N - pk) < 5 * se, "p %g: frequency %g", pk, ones / N);
    }
}
END_TEST

/* Each element has its own probability: a row of p = [0, 1, 0.5]. */
START_TEST(test_bernoulli_elementwise)
{
    ag_rng rng;
    ag_rng_seed(&rng, 12);
    ag_tensor *p = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(100000, 3)));
    for (size_t i = 0; i < 100000; i++) {
        ag_set_flat(p, 3 * i + 1, 1);
        ag_set_flat(p, 3 * i + 2, 0.5);
    }
    ag_tensor *b = ag_bernoulli(p, &rng);
    double half = 0;
    size_t wrong = 0;
    for (size_t i = 0; i < 100000; i++) {
        wrong += ag_get_flat(b, 3 * i) != 0 || ag_get_flat(b, 3 * i + 1) != 1;
        half += ag_get_flat(b, 3 * i + 2);
    }
    ck_assert_uint_eq(wrong, 0);
    ck_assert_msg(fabs(half / 100000 - 0.5) < 5 * sqrt(0.25 / 100000), "%g", half / 100000);
    /* p may require grad; the sample carries none. */
    ag_tensor *q = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(0.3, 0.7));
    ag_tensor *s = ag_bernoulli(q, &rng);
    ck_assert(!ag_requires_grad(s));
}
END_TEST

START_TEST(test_random_errors)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_tensor *p = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(0, 0.5, 1, 0.2, 0.3, 1.5));
    ag_rng before = rng;
    ck_assert_ptr_null(ag_bernoulli(p, &rng));
    ck_assert_error(AG_ERR_VALUE, "bernoulli: p[1,2] = 1.5 in p of shape (2,3); probabilities are in [0, 1]");
    ck_assert(memcmp(&before, &rng, sizeof rng) == 0); /* nothing drawn */
    ag_error_clear();
    ag_tensor *nan = h_arr(AG_F32, 1, H_SHAPE(2), H_VALS(0.5, NAN));
    ck_assert_ptr_null(ag_bernoulli(nan, &rng));
    ck_assert_error(AG_ERR_VALUE, "bernoulli: p[1] = nan");
    ag_error_clear();
    ag_tensor *neg = h_scalar(AG_F64, -0.25);
    ck_assert_ptr_null(ag_bernoulli(neg, &rng));
    ck_assert_error(AG_ERR_VALUE, "bernoulli: p[] = -0.25");
    ag_error_clear();
    ck_assert_ptr_null(ag_bernoulli(p, NULL));
    ck_assert_error(AG_ERR_NULL, "bernoulli: rng is NULL");
    ag_error_clear();
    ag_tensor *ip = h_keep(ag_zeros(AG_I64, 1, H_SHAPE(2)));
    ck_assert_ptr_null(ag_bernoulli(ip, &rng));
    ck_assert_error(AG_ERR_DTYPE, "bernoulli: input 0 is i64");
    ag_error_clear();
    ck_assert_ptr_null(ag_randn(AG_I64, 1, H_SHAPE(2), &rng));
    ck_assert_error(AG_ERR_DTYPE, "randn: dtype i64; random tensors are f32 or f64");
    ag_error_clear();
    ck_assert_ptr_null(ag_rand(AG_F64, 1, H_SHAPE(-2), &rng));
    ck_assert_error(AG_ERR_SHAPE, "rand: dimension 0 is -2");
    ag_error_clear();
    ck_assert_ptr_null(ag_randn(AG_F64, 1, H_SHAPE(2), NULL));
    ck_assert_error(AG_ERR_NULL, "randn: rng is NULL");
}
END_TEST

/* ---- dropout ---- */

/* x uniform in [1, 2): never 0, so a 0 in the result is a dropped element. */
static ag_tensor *nonzero_input(ag_dtype dt, int64_t n, uint64_t seed, bool grad)
{
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    ag_tensor *x = h_rand(dt, 1, H_SHAPE(n), 1, 2, &rng);
    if (grad)
        ag_set_requires_grad(x, true);
    return x;
}

/* The scale of a kept element, as the dtype computes it. */
static double kept_scale(ag_dtype dt, double p)
{
    return dt == AG_F32 ? (double)(1.0f / (float)(1 - p)) : 1 / (1 - p);
}

START_TEST(test_dropout_fraction_and_scale)
{
    ag_dtype dt = H_DTYPES[_i];
    const double p = 0.3;
    ag_tensor *x = nonzero_input(dt, N, 1, false);
    ag_rng rng;
    ag_rng_seed(&rng, 21);
    ag_tensor *y = ag_dropout(x, p, true, &rng);
    ck_assert_shape(y, 1, H_SHAPE(N));
    double s = kept_scale(dt, p), zeros = 0;
    size_t inexact = 0, far = 0;
    for (size_t i = 0; i < N; i++) {
        double xi = ag_get_flat(x, i), yi = ag_get_flat(y, i);
        if (yi == 0) {
            zeros++;
            continue;
        }
        /* Exactly x · (1/(1−p)) in the dtype, and x/(1−p) to an ulp. */
        double want = dt == AG_F32 ? (double)((float)xi * (float)s) : xi * s;
        inexact += yi != want;
        far += !h_near(yi, xi / (1 - p), dt == AG_F32 ? 2 * FLT_EPSILON : 2 * DBL_EPSILON, 0);
    }
    ck_assert_uint_eq(inexact, 0);
    ck_assert_uint_eq(far, 0);
    ck_assert_msg(fabs(zeros / N - p) < 5 * sqrt(p * (1 - p) / N), "zeroed %g", zeros / N);
}
END_TEST

/* E[dropout(x)] = x: the mean of dropout(ones) is 1 within 5 standard
 * errors, each element being 1/(1−p) with probability 1−p (variance
 * p/(1−p)). */
START_TEST(test_dropout_expected_value)
{
    ag_dtype dt = H_DTYPES[_i];
    const double p = 0.6;
    ag_tensor *x = h_keep(ag_ones(dt, 2, H_SHAPE(1000, 1000)));
    ag_rng rng;
    ag_rng_seed(&rng, 31);
    double mean, var;
    moments(ag_dropout(x, p, true, &rng), &mean, &var);
    ck_assert_msg(fabs(mean - 1) < 5 * sqrt(p / (1 - p) / N), "mean %g", mean);
    ck_assert_msg(fabs(var - p / (1 - p)) < 0.01, "variance %g", var);
}
END_TEST

/* Not training, p = 0 or an empty x: x itself (the same pointer, as
 * PyTorch returns its input). p = 1: zeros. No mask is drawn in any of
 * these, so no rng is needed. */
START_TEST(test_dropout_identity_and_p_one)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = nonzero_input(dt, 8, 2, true);
    ck_assert_ptr_eq(ag_dropout(x, 0.5, false, NULL), x);
    ck_assert_ptr_eq(ag_dropout(x, 0.0, true, NULL), x);
    ag_tensor *e = h_keep(ag_zeros(dt, 2, H_SHAPE(0, 4)));
    ck_assert_ptr_eq(ag_dropout(e, 0.5, true, NULL), e);
    ck_assert_ok();
    ag_tensor *z = ag_dropout(x, 1.0, true, NULL); /* nothing drawn */
    ck_assert_values(z, 8, H_VALS(0, 0, 0, 0, 0, 0, 0, 0), 0, 0);
    ck_assert(ag_backward(ag_sum(z)));
    ck_assert_values(ag_grad_of(x), 8, H_VALS(0, 0, 0, 0, 0, 0, 0, 0), 0, 0);
}
END_TEST

/* d Σ dropout(x) / dx = mask/(1−p): 1/(1−p) where kept, 0 where dropped;
 * and the second derivative of Σ dropout(x)² is 2·m² (H·1 by ag_hvp). */
START_TEST(test_dropout_gradient)
{
    ag_dtype dt = H_DTYPES[_i];
    const double p = 0.25;
    ag_tensor *x = nonzero_input(dt, 1000, 4, true);
    ag_rng rng;
    ag_rng_seed(&rng, 41);
    ag_tensor *y = ag_dropout(x, p, true, &rng);
    ck_assert(ag_requires_grad(y));
    ck_assert(ag_backward(ag_sum(y)));
    ag_tensor *g = ag_grad_of(x);
    double s = kept_scale(dt, p);
    size_t dropped = 0;
    for (size_t i = 0; i < 1000; i++) {
        bool kept = ag_get_flat(y, i) != 0;
        dropped += !kept;
        ck_assert_double_eq(ag_get_flat(g, i), kept ? s : 0.0);
    }
    ck_assert(dropped > 0 && dropped < 1000);

    /* The same seed, the same mask: the hvp of Σ dropout(x)² with ones. */
    ag_rng_seed(&rng, 41);
    ag_tensor *y2 = ag_dropout(x, p, true, &rng);
    ag_tensor *v = h_keep(ag_ones(dt, 1, H_SHAPE(1000)));
    ag_tensor *hv = ag_hvp(ag_sum(ag_square(y2)), x, v);
    ck_assert_tensor(hv);
    for (size_t i = 0; i < 1000; i++) {
        double m = ag_get_flat(y, i) != 0 ? s : 0.0;
        ck_assert_near(ag_get_flat(hv, i), 2 * m * m, h_rtol(dt), 0);
    }
}
END_TEST

/* One seed drops the same elements of an f32 and an f64 tensor, and of
 * two runs. */
START_TEST(test_dropout_same_mask)
{
    ag_tensor *x64 = nonzero_input(AG_F64, 10000, 5, false);
    ag_tensor *x32 = nonzero_input(AG_F32, 10000, 5, false);
    ag_rng a, b, c;
    ag_rng_seed(&a, 51);
    ag_rng_seed(&b, 51);
    ag_rng_seed(&c, 51);
    ag_tensor *y64 = ag_dropout(x64, 0.5, true, &a);
    ag_tensor *y32 = ag_dropout(x32, 0.5, true, &b);
    ag_tensor *again = ag_dropout(x64, 0.5, true, &c);
    size_t differ = 0;
    for (size_t i = 0; i < 10000; i++)
        differ += (ag_get_flat(y64, i) == 0) != (ag_get_flat(y32, i) == 0) ||
                  ag_get_flat(y64, i) != ag_get_flat(again, i);
    ck_assert_uint_eq(differ, 0);
}
END_TEST

/* The registry's dropout example draws its mask from a generator seeded
 * afresh on every call, so finite differences see one function. */
START_TEST(test_dropout_registry_checks)
{
    const ag_op *op = ag_op_find("dropout");
    ck_assert_ptr_nonnull(op);
    for (uint64_t seed = 1; seed <= 4; seed++) {
        ag_gradcheck_report rep;
        char buf[4096];
        ck_assert_msg(ag_gradcheck_op(op, seed, NULL, &rep), "%s",
                      h_report_str(&rep, buf, sizeof buf));
        ck_assert_msg(ag_gradgradcheck_op(op, seed, NULL, &rep), "%s",
                      h_report_str(&rep, buf, sizeof buf));
    }
}
END_TEST

/* A realistic layer: dropout(0.5) on a batch of 64 flattened 28×28 images
 * in f32, its gradient through a linear map. */
START_TEST(test_dropout_realistic_batch)
{
    ag_rng rng;
    ag_rng_seed(&rng, 61);
    ag_tensor *x = h_keep(ag_rand_uniform(AG_F32, 2, H_SHAPE(64, 784), 0.5, 1, &rng));
    ag_tensor *w = h_keep(ag_rand_normal(AG_F32, 2, H_SHAPE(784, 10), 0, 0.05, &rng));
    ag_set_requires_grad(x, true);
    ag_tensor *h = ag_dropout(x, 0.5, true, &rng);
    ck_assert(ag_backward(ag_sum(ag_matmul(h, w))));
    const ag_tensor *g = ag_grad_of(x);
    /* dx[r][c] = m[r][c] · Σ_k w[c][k], m = 2 where kept. */
    size_t zeros = 0, wrong = 0;
    for (size_t r = 0; r < 64; r++)
        for (size_t c = 0; c < 784; c++) {
            size_t i = r * 784 + c;
            double row_w = 0;
            for (int k = 0; k < 10; k++)
                row_w += ag_get(w, H_SHAPE((int64_t)c, k));
            bool kept = ag_get_flat(h, i) != 0;
            zeros += !kept;
            wrong += !h_near(ag_get_flat(g, i), kept ? 2 * row_w : 0.0, 1e-5, 1e-6);
        }
    ck_assert_uint_eq(wrong, 0);
    double n = 64 * 784;
    ck_assert_msg(fabs(zeros / n - 0.5) < 5 * sqrt(0.25 / n), "zeroed %g", zeros / n);
}
END_TEST

START_TEST(test_dropout_errors)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert_ptr_null(ag_dropout(x, 1.5, true, &rng));
    ck_assert_error(AG_ERR_VALUE, "dropout: p = 1.5 for x of shape (2,3); a drop probability is in [0, 1]");
    ag_error_clear();
    ck_assert_ptr_null(ag_dropout(x, -0.1, false, &rng));
    ck_assert_error(AG_ERR_VALUE, "dropout: p = -0.1");
    ag_error_clear();
    ck_assert_ptr_null(ag_dropout(x, NAN, true, &rng));
    ck_assert_error(AG_ERR_VALUE, "dropout: p = nan");
    ag_error_clear();
    ck_assert_ptr_null(ag_dropout(x, 0.5, true, NULL));
    ck_assert_error(AG_ERR_NULL, "dropout: rng is NULL while training");
    ag_error_clear();
    ck_assert_ptr_null(ag_dropout(NULL, 0.5, true, &rng));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

Suite *random_suite(void)
{
    Suite *s = suite_create("random");
    TCase *tc = h_tcase(s, "randn and rand", H_TIMEOUT);
    tcase_add_loop_test(tc, test_randn_statistics, 0, 2);
    tcase_add_loop_test(tc, test_rand_statistics_and_range, 0, 2);
    tcase_add_test(tc, test_rand_f32_never_one);
    tcase_add_test(tc, test_same_seed_same_tensor);
    tcase_add_test(tc, test_random_tensors_die_at_reset);
    tc = h_tcase(s, "bernoulli", H_TIMEOUT);
    tcase_add_loop_test(tc, test_bernoulli_frequency, 0, 2);
    tcase_add_test(tc, test_bernoulli_elementwise);
    tcase_add_test(tc, test_random_errors);
    tc = h_tcase(s, "dropout", H_TIMEOUT);
    tcase_add_loop_test(tc, test_dropout_fraction_and_scale, 0, 2);
    tcase_add_loop_test(tc, test_dropout_expected_value, 0, 2);
    tcase_add_loop_test(tc, test_dropout_identity_and_p_one, 0, 2);
    tcase_add_loop_test(tc, test_dropout_gradient, 0, 2);
    tcase_add_test(tc, test_dropout_same_mask);
    tcase_add_test(tc, test_dropout_registry_checks);
    tcase_add_test(tc, test_dropout_realistic_batch);
    tcase_add_test(tc, test_dropout_errors);
    return s;
}

H_MAIN(random_suite)

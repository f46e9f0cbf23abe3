/* SPDX-License-Identifier: MIT */
/* check-sequence_ops.c — the sequence-model ops (ops/sequence.c):
 * embedding, masked_fill, tril and triu, and a causal attention mask
 * built from them.
 *
 * Expected values are worked out by hand in the comments from PyTorch's
 * definitions (F.embedding picks rows; torch.tril keeps (i, j) with
 * j − i <= diagonal, torch.triu those with j − i >= diagonal;
 * Tensor.masked_fill writes value where the mask is set), or, at a
 * realistic size, computed by plain loops in this file. Errors name the
 * op, the offending id or the shapes. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

#define H_IDX(...) ((const int64_t[]){__VA_ARGS__})

/* A kept i64 tensor. */
static ag_tensor *ids_of(int ndim, const int64_t *shape, const int64_t *values)
{
    ag_tensor *t = h_keep(ag_from_array(AG_I64, ndim, shape, values));
    ck_assert_msg(t != NULL, "from_array: %s", ag_last_error());
    return t;
}

/* weight[r][c] = 10 r + c, (4, 3). */
static ag_tensor *formula_weight(ag_dtype dt)
{
    double v[12];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 3; c++)
            v[r * 3 + c] = 10 * r + c;
    return h_param(dt, 2, H_SHAPE(4, 3), v);
}

/* ---- embedding ---- */

START_TEST(test_embedding_known_values)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *w = formula_weight(dt);
    ag_tensor *ids = ids_of(2, H_SHAPE(2, 2), H_IDX(1, 3, 1, 0));
    ag_tensor *y = ag_embedding(ids, w);
    /* Rows 1, 3, 1, 0 of the weight, shape (2, 2, 3). */
    ck_assert_shape(y, 3, H_SHAPE(2, 2, 3));
    ck_assert_values(y, 12, H_VALS(10, 11, 12, 30, 31, 32, 10, 11, 12, 0, 1, 2), 0, 0);

    /* d Σ y ⊙ c / dw for c = 1..12 in flat order: row 1 is picked at
     * (0,0) and (1,0), so gets c[0..2] + c[6..8] = (1+7, 2+8, 3+9); row 3
     * gets c[3..5] = (4, 5, 6); row 0 gets c[9..11]; row 2 nothing. */
    double cv[12];
    for (int i = 0; i < 12; i++)
        cv[i] = i + 1;
    ag_tensor *c = h_arr(dt, 3, H_SHAPE(2, 2, 3), cv);
    ck_assert(ag_backward(ag_sum(ag_mul(y, c))));
    ck_assert_values(ag_grad_of(w), 12, H_VALS(10, 11, 12, 8, 10, 12, 0, 0, 0, 4, 5, 6), 0, 0);
    ck_assert_ptr_null(ag_grad_of(ids));
    ag_zero_grad(w);
    ag_tape_reset(NULL);

    /* With c = 1 everywhere, a row's gradient counts its picks: row 1
     * twice, rows 0 and 3 once, row 2 never. */
    ck_assert(ag_backward(ag_sum(ag_embedding(ids, w))));
    ck_assert_values(ag_grad_of(w), 12, H_VALS(1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1), 0, 0);
    ag_zero_grad(w);
    ag_tape_reset(NULL);

    /* A 0-d id gives one row of shape (dim). */
    ag_tensor *one = h_keep(ag_from_array(AG_I64, 0, NULL, H_IDX(2)));
    ag_tensor *r = ag_embedding(one, w);
    ck_assert_shape(r, 1, H_SHAPE(3));
    ck_assert_values(r, 3, H_VALS(20, 21, 22), 0, 0);

    /* 1-D ids, each row once in reverse: the weight flipped. */
    ag_tensor *r1 = ag_embedding(ids_of(1, H_SHAPE(4), H_IDX(3, 2, 1, 0)), w);
    ck_assert_shape(r1, 2, H_SHAPE(4, 3));
    ck_assert_values(r1, 12, H_VALS(30, 31, 32, 20, 21, 22, 10, 11, 12, 0, 1, 2), 0, 0);
}
END_TEST

START_TEST(test_embedding_zero_size)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *w = formula_weight(dt);
    /* No ids: (0, dim), and the weight's gradient is all zeros. */
    ag_tensor *y = ag_embedding(h_keep(ag_zeros(AG_I64, 1, H_SHAPE(0))), w);
    ck_assert_shape(y, 2, H_SHAPE(0, 3));
    ck_assert(ag_backward(ag_sum(y)));
    double z[12] = {0};
    ck_assert_values(ag_grad_of(w), 12, z, 0, 0);
    /* An empty vocabulary with empty ids is fine too. */
    ag_tensor *e = h_param(dt, 2, H_SHAPE(0, 3), NULL);
    ck_assert_shape(ag_embedding(h_keep(ag_zeros(AG_I64, 2, H_SHAPE(2, 0))), e), 3,
                    H_SHAPE(2, 0, 3));
}
END_TEST

static ag_tensor *embed_sq(ag_tensor *const *in, void *ctx)
{
    ag_tensor *e = ag_embedding(ctx, in[0]);
    return ag_sum(ag_mul(e, ag_mul(e, e)));
}

START_TEST(test_embedding_gradgrad)
{
    /* Σ e³ over picks with repeats: the Hessian is diagonal in the weight
     * with 6 w times the pick count, which gradgradcheck checks against
     * finite differences of the gradient. */
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    ag_tensor *w = h_rand(AG_F64, 2, H_SHAPE(5, 3), -1, 1, &rng);
    ag_set_requires_grad(w, true);
    ag_tensor *ids = ids_of(2, H_SHAPE(2, 3), H_IDX(4, 0, 4, 2, 4, 0));
    ck_assert_gradcheck(embed_sq, ids, 1, &w);
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    char buf[4096];
    ck_assert_msg(ag_gradgradcheck(embed_sq, ids, 1, &w, &o, &rep), "%s",
                  h_report_str(&rep, buf, sizeof buf));
}
END_TEST

/* A realistic size: a vocabulary of 10000 by 128 and ids (32, 64), against
 * plain loops for the rows and for the scatter-add of the gradient. */
START_TEST(test_embedding_realistic)
{
    ag_dtype dt = H_DTYPES[_i];
    enum { V = 10000, D = 128, B = 32, T = 64 };
    ag_rng rng;
    ag_rng_seed(&rng, 77);
    ag_tensor *w = h_rand(dt, 2, H_SHAPE(V, D), -1, 1, &rng);
    ag_set_requires_grad(w, true);
    ag_tensor *ids = h_keep(ag_zeros(AG_I64, 2, H_SHAPE(B, T)));
    int64_t *iv = ag_data(ids);
    /* Random ids, and a run of a few frequent ones so that rows repeat. */
    for (size_t i = 0; i < B * T; i++)
        iv[i] = i % 5 == 0 ? (int64_t)(i % 7) : (int64_t)(ag_rng_next(&rng) % V);
    iv[B * T - 1] = V - 1;
    ag_tensor *c = h_rand(dt, 3, H_SHAPE(B, T, D), -1, 1, &rng);
    ag_tensor *y = ag_embedding(ids, w);
    ck_assert_shape(y, 3, H_SHAPE(B, T, D));
    for (size_t i = 0; i < B * T; i++)
        for (size_t d = 0; d < D; d++)
            ck_assert_msg(ag_get_flat(y, i * D + d) == ag_get_flat(w, (size_t)iv[i] * D + d),
                          "y[%zu][%zu]", i, d);
    ck_assert(ag_backward(ag_sum(ag_mul(y, c))));
    /* The loop sums in double; the op in the weight's dtype. A frequent
     * row sums about 60 terms that may cancel, so the bound is relative to
     * the sum of their magnitudes: 60 f32 roundings stay below 1e-5 of it. */
    double *want = calloc((size_t)V * D, sizeof *want);
    double *mag = calloc((size_t)V * D, sizeof *mag);
    ck_assert(want && mag);
    for (size_t i = 0; i < B * T; i++)
        for (size_t d = 0; d < D; d++) {
            want[(size_t)iv[i] * D + d] += ag_get_flat(c, i * D + d);
            mag[(size_t)iv[i] * D + d] += fabs(ag_get_flat(c, i * D + d));
        }
    const ag_tensor *gw = ag_grad_of(w);
    ck_assert_shape(gw, 2, H_SHAPE(V, D));
    double rel = dt == AG_F32 ? 1e-5 : 1e-13;
    size_t bad = 0;
    for (size_t k = 0; k < (size_t)V * D; k++)
        bad += !(fabs(ag_get_flat(gw, k) - want[k]) <= rel * mag[k]);
    free(want);
    free(mag);
    ck_assert_msg(bad == 0, "%zu gradient elements differ from the loop's", bad);
}
END_TEST

/* ---- tril and triu ---- */

typedef ag_tensor *(*tri_fn)(ag_tensor *, int64_t);

static void check_tri(tri_fn f, ag_tensor *x, int64_t k, const double *want, int ndim,
                      const int64_t *shape, size_t n)
{
    ag_tensor *y = f(x, k);
    ck_assert_shape(y, ndim, shape);
    ck_assert_values(y, n, want, 0, 0);
    /* d Σ y / dx is 1 where x is kept, 0 where it is zeroed: here x has
     * no zeros, so that is want ≠ 0. */
    ag_zero_grad(x);
    ck_assert(ag_backward(ag_sum(y)));
    const ag_tensor *g = ag_grad_of(x);
    ck_assert_ptr_nonnull(g);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ag_get_flat(g, i) == (want[i] != 0), "grad[%zu] = %g (diagonal %lld)", i,
                      ag_get_flat(g, i), (long long)k);
    ag_tape_reset(NULL);
}

START_TEST(test_tril_triu_3x4)
{
    ag_dtype dt = H_DTYPES[_i];
    /* x = [[1,2,3,4],[5,6,7,8],[9,10,11,12]] */
    double xv[12];
    for (int i = 0; i < 12; i++)
        xv[i] = i + 1;
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 4), xv);
    const int64_t *s = H_SHAPE(3, 4);
    /* tril keeps j − i <= k. */
    check_tri(ag_tril, x, 0, H_VALS(1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0), 2, s, 12);
    check_tri(ag_tril, x, -1, H_VALS(0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0), 2, s, 12);
    check_tri(ag_tril, x, 1, H_VALS(1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12), 2, s, 12);
    /* triu keeps j − i >= k. */
    check_tri(ag_triu, x, 0, H_VALS(1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12), 2, s, 12);
    check_tri(ag_triu, x, -1, H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12), 2, s, 12);
    check_tri(ag_triu, x, 1, H_VALS(0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12), 2, s, 12);
    /* Offsets past the matrix keep everything or nothing. */
    double zero[12] = {0};
    check_tri(ag_tril, x, 3, xv, 2, s, 12);
    check_tri(ag_tril, x, -3, zero, 2, s, 12);
    check_tri(ag_triu, x, -2, xv, 2, s, 12);
    check_tri(ag_triu, x, 4, zero, 2, s, 12);
    check_tri(ag_tril, x, INT64_MAX, xv, 2, s, 12);
    check_tri(ag_triu, x, INT64_MIN, xv, 2, s, 12);
}
END_TEST

START_TEST(test_tril_triu_batched)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Two 3x3 matrices, 1..9 and 10..18: each is cut on its own. */
    double xv[18];
    for (int i = 0; i < 18; i++)
        xv[i] = i + 1;
    ag_tensor *x = h_param(dt, 3, H_SHAPE(2, 3, 3), xv);
    const int64_t *s = H_SHAPE(2, 3, 3);
    check_tri(ag_tril, x, 0,
              H_VALS(1, 0, 0, 4, 5, 0, 7, 8, 9, 10, 0, 0, 13, 14, 0, 16, 17, 18), 3, s, 18);
    check_tri(ag_tril, x, -1,
              H_VALS(0, 0, 0, 4, 0, 0, 7, 8, 0, 0, 0, 0, 13, 0, 0, 16, 17, 0), 3, s, 18);
    check_tri(ag_tril, x, 1,
              H_VALS(1, 2, 0, 4, 5, 6, 7, 8, 9, 10, 11, 0, 13, 14, 15, 16, 17, 18), 3, s, 18);
    check_tri(ag_triu, x, 0,
              H_VALS(1, 2, 3, 0, 5, 6, 0, 0, 9, 10, 11, 12, 0, 14, 15, 0, 0, 18), 3, s, 18);
    check_tri(ag_triu, x, -1,
              H_VALS(1, 2, 3, 4, 5, 6, 0, 8, 9, 10, 11, 12, 13, 14, 15, 0, 17, 18), 3, s, 18);
    check_tri(ag_triu, x, 1,
              H_VALS(0, 2, 3, 0, 0, 6, 0, 0, 0, 0, 11, 12, 0, 0, 15, 0, 0, 0), 3, s, 18);
}
END_TEST

START_TEST(test_tril_zeroes_inf_and_nan)
{
    /* A zeroed element is 0 whatever x holds there (0 · inf would be NaN). */
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, INFINITY, NAN, -INFINITY));
    ag_tensor *lo = ag_tril(x, 0), *up = ag_triu(x, 0);
    ck_assert_double_eq(ag_get_flat(lo, 1), 0);
    ck_assert(isnan(ag_get_flat(lo, 2)));
    ck_assert_double_eq(ag_get_flat(lo, 3), -INFINITY);
    ck_assert_double_eq(ag_get_flat(up, 2), 0);
    ck_assert_double_eq(ag_get_flat(up, 1), INFINITY);
    /* Zero-size matrices and batches pass through. */
    ag_tensor *e = h_arr(AG_F32, 3, H_SHAPE(0, 2, 3), NULL);
    ck_assert_shape(ag_triu(e, 1), 3, H_SHAPE(0, 2, 3));
    ag_tensor *e2 = h_arr(AG_F32, 2, H_SHAPE(3, 0), NULL);
    ck_assert_shape(ag_tril(e2, 0), 2, H_SHAPE(3, 0));
}
END_TEST

/* ---- masked_fill ---- */

START_TEST(test_masked_fill)
{
    ag_dtype dt = H_DTYPES[_i];
    /* x = [[1,2,3],[4,5,6]] */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    /* An i64 mask (3) broadcast over the rows: the middle column filled. */
    ag_tensor *m = ids_of(1, H_SHAPE(3), H_IDX(0, 1, 0));
    ag_tensor *y = ag_masked_fill(x, m, -9);
    ck_assert_shape(y, 2, H_SHAPE(2, 3));
    ck_assert_values(y, 6, H_VALS(1, -9, 3, 4, -9, 6), 0, 0);
    /* d Σ y ⊙ c / dx = c where the mask is 0, else 0; c = 1..6. */
    ag_tensor *c = h_arr(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert(ag_backward(ag_sum(ag_mul(y, c))));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(1, 0, 3, 4, 0, 6), 0, 0);
    ck_assert_ptr_null(ag_grad_of(m));
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* A float mask (2,1) of the other dtype, 0/1 (any non-zero counts):
     * the first row filled. */
    ag_tensor *mf = h_arr(dt == AG_F64 ? AG_F32 : AG_F64, 2, H_SHAPE(2, 1), H_VALS(1, 0));
    ag_tensor *y2 = ag_masked_fill(x, mf, 0.5);
    ck_assert_values(y2, 6, H_VALS(0.5, 0.5, 0.5, 4, 5, 6), 0, 0);
    ck_assert(ag_backward(ag_sum(y2)));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(0, 0, 0, 1, 1, 1), 0, 0);
    ag_tape_reset(NULL);

    /* A mask of x's own shape, and a 0-d mask that fills everything. */
    ag_tensor *mm = ids_of(2, H_SHAPE(2, 3), H_IDX(1, 0, 0, 0, 0, 7));
    ck_assert_values(ag_masked_fill(x, mm, INFINITY), 6, H_VALS(INFINITY, 2, 3, 4, 5, INFINITY),
                     0, 0);
    ag_tensor *all = h_keep(ag_from_array(AG_I64, 0, NULL, H_IDX(1)));
    ck_assert_values(ag_masked_fill(x, all, 2), 6, H_VALS(2, 2, 2, 2, 2, 2), 0, 0);
}
END_TEST

/* ---- a causal mask ---- */

START_TEST(test_causal_softmax)
{
    ag_dtype dt = H_DTYPES[_i];
    enum { T = 5 };
    ag_rng rng;
    ag_rng_seed(&rng, 9);
    ag_tensor *scores = h_rand(dt, 2, H_SHAPE(T, T), -3, 3, &rng);
    ag_set_requires_grad(scores, true);
    ag_tensor *ones = h_keep(ag_ones(dt, 2, H_SHAPE(T, T)));
    /* triu(ones, 1) marks the future: j > i. */
    ag_tensor *future = ag_triu(ones, 1);
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j < T; j++)
            ck_assert_double_eq(ag_get_flat(future, i * T + j), j > i ? 1 : 0);
    ag_tensor *p = ag_softmax(ag_masked_fill(scores, future, -INFINITY), -1);
    ck_assert_tensor(p);
    /* Exact zeros above the diagonal; below, the softmax of the row's
     * prefix, computed here in double. */
    for (size_t i = 0; i < T; i++) {
        double z = 0;
        for (size_t j = 0; j <= i; j++)
            z += exp(ag_get_flat(scores, i * T + j));
        for (size_t j = 0; j < T; j++) {
            double got = ag_get_flat(p, i * T + j);
            if (j > i)
                ck_assert_msg(got == 0, "p[%zu][%zu] = %g", i, j, got);
            else
                ck_assert_near(got, exp(ag_get_flat(scores, i * T + j)) / z, h_rtol(dt),
                               h_atol(dt));
        }
    }
    ck_assert_double_eq(ag_get_flat(p, 0), 1);
    /* The gradient reaches the visible scores and is exactly 0 (not NaN)
     * for the masked ones. */
    ag_tensor *c = h_rand(dt, 2, H_SHAPE(T, T), -1, 1, &rng);
    ck_assert(ag_backward(ag_sum(ag_mul(p, c))));
    const ag_tensor *g = ag_grad_of(scores);
    ck_assert_ptr_nonnull(g);
    for (size_t i = 0; i < T; i++)
        for (size_t j = 0; j < T; j++) {
            double v = ag_get_flat(g, i * T + j);
            ck_assert_msg(j > i ? v == 0 : isfinite(v), "grad[%zu][%zu] = %g", i, j, v);
        }
}
END_TEST

/* ---- errors ---- */

START_TEST(test_sequence_errors)
{
    ag_tensor *w = formula_weight(AG_F64);
    /* An id out of range names the op, the id, its position and the
     * weight's shape. */
    ck_assert_ptr_null(ag_embedding(ids_of(2, H_SHAPE(2, 2), H_IDX(0, 1, 4, 2)), w));
    ck_assert_error(AG_ERR_VALUE, "embedding");
    ck_assert_error(AG_ERR_VALUE, "id 4");
    ck_assert_error(AG_ERR_VALUE, "position (1,0)");
    ck_assert_error(AG_ERR_VALUE, "(4,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_embedding(ids_of(1, H_SHAPE(3), H_IDX(0, -1, 2)), w));
    ck_assert_error(AG_ERR_VALUE, "id -1");
    ck_assert_error(AG_ERR_VALUE, "position (1)");
    ag_error_clear();
    /* ids must be i64; the weight 2-D and float. */
    ag_tensor *fids = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(0, 1));
    ck_assert_ptr_null(ag_embedding(fids, w));
    ck_assert_error(AG_ERR_DTYPE, "embedding");
    ck_assert_error(AG_ERR_DTYPE, "i64");
    ag_error_clear();
    ag_tensor *w1 = h_arr(AG_F64, 1, H_SHAPE(4), H_VALS(1, 2, 3, 4));
    ck_assert_ptr_null(ag_embedding(ids_of(1, H_SHAPE(1), H_IDX(0)), w1));
    ck_assert_error(AG_ERR_SHAPE, "embedding");
    ck_assert_error(AG_ERR_SHAPE, "(4)");
    ag_error_clear();
    ag_tensor *wi = ids_of(2, H_SHAPE(2, 2), H_IDX(1, 2, 3, 4));
    ck_assert_ptr_null(ag_embedding(ids_of(1, H_SHAPE(1), H_IDX(0)), wi));
    ck_assert_error(AG_ERR_DTYPE, "embedding");
    ag_error_clear();

    /* A mask that does not broadcast to x names both shapes — also one
     * that would broadcast with x to a larger shape. */
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert_ptr_null(ag_masked_fill(x, ids_of(1, H_SHAPE(2), H_IDX(0, 1)), 0));
    ck_assert_error(AG_ERR_SHAPE, "masked_fill");
    ck_assert_error(AG_ERR_SHAPE, "(2)");
    ck_assert_error(AG_ERR_SHAPE, "(2,3)");
    ag_error_clear();
    ag_tensor *big = h_arr(AG_F64, 3, H_SHAPE(4, 2, 3), NULL);
    ck_assert_ptr_null(ag_masked_fill(x, big, 0));
    ck_assert_error(AG_ERR_SHAPE, "(4,2,3)");
    ag_error_clear();
    /* x must be float. */
    ck_assert_ptr_null(ag_masked_fill(wi, ids_of(1, H_SHAPE(2), H_IDX(0, 1)), 0));
    ck_assert_error(AG_ERR_DTYPE, "masked_fill");
    ag_error_clear();

    /* tril and triu need a matrix (or a batch of them). */
    ag_tensor *v = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ck_assert_ptr_null(ag_tril(v, 0));
    ck_assert_error(AG_ERR_SHAPE, "tril");
    ck_assert_error(AG_ERR_SHAPE, "(3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_triu(h_scalar(AG_F32, 1), 0));
    ck_assert_error(AG_ERR_SHAPE, "triu");
    ag_error_clear();
    ck_assert_ptr_null(ag_triu(wi, 0));
    ck_assert_error(AG_ERR_DTYPE, "triu");
    ag_error_clear();
}
END_TEST

Suite *sequence_ops_suite(void);
Suite *sequence_ops_suite(void)
{
    Suite *s = suite_create("sequence_ops");
    TCase *tc = h_tcase(s, "embedding", H_TIMEOUT);
    tcase_add_loop_test(tc, test_embedding_known_values, 0, 2);
    tcase_add_loop_test(tc, test_embedding_zero_size, 0, 2);
    tcase_add_test(tc, test_embedding_gradgrad);
    tc = h_tcase(s, "embedding at size", 300);
    tcase_add_loop_test(tc, test_embedding_realistic, 0, 2);
    tc = h_tcase(s, "tril and triu", H_TIMEOUT);
    tcase_add_loop_test(tc, test_tril_triu_3x4, 0, 2);
    tcase_add_loop_test(tc, test_tril_triu_batched, 0, 2);
    tcase_add_test(tc, test_tril_zeroes_inf_and_nan);
    tc = h_tcase(s, "masked_fill", H_TIMEOUT);
    tcase_add_loop_test(tc, test_masked_fill, 0, 2);
    tcase_add_loop_test(tc, test_causal_softmax, 0, 2);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_sequence_errors);
    return s;
}

H_MAIN(sequence_ops_suite)

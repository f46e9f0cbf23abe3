/* SPDX-License-Identifier: MIT */
/* check-index.c — picking elements by integer index (ops/index.c): gather
 * and its adjoint scatter_add, index_select, argmax/argmin, max/min over
 * all elements or an axis, logsumexp, one_hot and detach.
 *
 * Expected values are worked out by hand in the comments (small tensors),
 * or computed here with naive loops and <math.h> (logsumexp against
 * log Σ exp for moderate values; 1000 + ln 2 for [1000, 1000]). Ties of
 * max/min send the gradient to the first extreme element in row-major
 * order, as documented; argmax/argmin pick the first on ties and never
 * hide a NaN. Errors name the op and the offending value and position. */
#include "harness.h"

#include <float.h>
#include <stdio.h>

/* An i64 index tensor, kept by the fixture. */
static ag_tensor *idx(int ndim, const int64_t *shape, const int64_t *values)
{
    ag_tensor *t = h_keep(ag_from_array(AG_I64, ndim, shape, values));
    ck_assert_msg(t != NULL, "from_array: %s", ag_last_error());
    return t;
}
#define H_IDX(...) ((const int64_t[]){__VA_ARGS__})

/* ---- gather and scatter_add ---- */

START_TEST(test_gather_known_values)
{
    ag_dtype dt = H_DTYPES[_i];
    /* x = [[1,2,3],[4,5,6]] */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    /* Along axis 1, index [[2,0],[1,1]]: y[i][j] = x[i][index[i][j]]
     * = [[3,1],[5,5]]. */
    ag_tensor *i1 = idx(2, H_SHAPE(2, 2), H_IDX(2, 0, 1, 1));
    ag_tensor *y = ag_gather(x, 1, i1);
    ck_assert_shape(y, 2, H_SHAPE(2, 2));
    ck_assert_ptr_eq(ag_node_op(y), ag_op_find("gather"));
    ck_assert_values(y, 4, H_VALS(3, 1, 5, 5), 0, 0);
    /* d Σ y ⊙ [[1,2],[4,8]] / dx: x[0][2] gets 1, x[0][0] gets 2, x[1][1]
     * gets 4 + 8 (repeated). */
    ag_tensor *w = h_arr(dt, 2, H_SHAPE(2, 2), H_VALS(1, 2, 4, 8));
    ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(2, 0, 1, 0, 12, 0), 0, 0);
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* Along axis 0 (given as -2), index [[1,0,1]] of one row (smaller than
     * x off the axis is allowed): y[0][j] = x[index[0][j]][j] = [4,2,6]. */
    ag_tensor *i0 = idx(2, H_SHAPE(1, 3), H_IDX(1, 0, 1));
    ag_tensor *y0 = ag_gather(x, -2, i0);
    ck_assert_shape(y0, 2, H_SHAPE(1, 3));
    ck_assert_values(y0, 3, H_VALS(4, 2, 6), 0, 0);
    ck_assert(ag_backward(ag_sum(y0)));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(0, 1, 0, 1, 0, 1), 0, 0);
    /* The index carries no gradient (and may not even ask for one). */
    ck_assert_ptr_null(ag_grad_of(i0));
}
END_TEST

START_TEST(test_scatter_add_known_values)
{
    ag_dtype dt = H_DTYPES[_i];
    /* src [[1,2],[3,4]], index [[0,0],[2,1]] along axis 1 into (2,3):
     * row 0: position 0 gets 1 + 2 (repeated indices add up) -> [3,0,0];
     * row 1: position 2 gets 3, position 1 gets 4 -> [0,4,3]. */
    ag_tensor *src = h_param(dt, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *ix = idx(2, H_SHAPE(2, 2), H_IDX(0, 0, 2, 1));
    ag_tensor *y = ag_scatter_add(src, 1, ix, 2, H_SHAPE(2, 3));
    ck_assert_shape(y, 2, H_SHAPE(2, 3));
    ck_assert_ptr_eq(ag_node_op(y), ag_op_find("scatter_add"));
    ck_assert_values(y, 6, H_VALS(3, 0, 0, 0, 4, 3), 0, 0);
    /* The gradient gathers: d Σ y ⊙ w / dsrc[i][j] = w[i][index[i][j]]
     * with w = [[1,2,4],[8,16,32]] -> [[1,1],[32,16]]. */
    ag_tensor *w = h_arr(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 4, 8, 16, 32));
    ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
    ck_assert_values(ag_grad_of(src), 4, H_VALS(1, 1, 32, 16), 0, 0);
    ag_tape_reset(NULL);

    /* 1-D: [1,2,4] into 2 slots at [1,1,0] -> [4, 1+2]. */
    ag_tensor *s1 = h_arr(dt, 1, H_SHAPE(3), H_VALS(1, 2, 4));
    ag_tensor *y1 = ag_scatter_add(s1, 0, idx(1, H_SHAPE(3), H_IDX(1, 1, 0)), 1, H_SHAPE(2));
    ck_assert_values(y1, 2, H_VALS(4, 3), 0, 0);
}
END_TEST

START_TEST(test_index_select)
{
    ag_dtype dt = H_DTYPES[_i];
    /* x = [[1,2],[3,4],[5,6]] */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 2), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *y = ag_index_select(x, 0, idx(1, H_SHAPE(3), H_IDX(2, 0, 2)));
    ck_assert_shape(y, 2, H_SHAPE(3, 2));
    ck_assert_values(y, 6, H_VALS(5, 6, 1, 2, 5, 6), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    /* Row 2 chosen twice, row 0 once, row 1 never. */
    ck_assert_values(ag_grad_of(x), 6, H_VALS(1, 1, 0, 0, 2, 2), 0, 0);
    ag_tape_reset(NULL);
    ag_tensor *c = ag_index_select(x, -1, idx(1, H_SHAPE(2), H_IDX(1, 1)));
    ck_assert_shape(c, 2, H_SHAPE(3, 2));
    ck_assert_values(c, 6, H_VALS(2, 2, 4, 4, 6, 6), 0, 0);
    /* An empty index selects nothing. */
    ag_tensor *e = ag_index_select(x, 0, idx(1, H_SHAPE(0), H_IDX(0)));
    ck_assert_shape(e, 2, H_SHAPE(0, 2));
}
END_TEST

/* ---- argmax, argmin ---- */

START_TEST(test_argmax_argmin)
{
    ag_dtype dt = H_DTYPES[_i];
    /* [[1,3,3,2],[5,-1,5,-1]]: ties pick the first. */
    ag_tensor *x = h_arr(dt, 2, H_SHAPE(2, 4), H_VALS(1, 3, 3, 2, 5, -1, 5, -1));
    ag_tensor *am = ag_argmax(x, 1, false);
    ck_assert_shape(am, 1, H_SHAPE(2));
    ck_assert_int_eq(ag_tensor_dtype(am), AG_I64);
    ck_assert_values(am, 2, H_VALS(1, 0), 0, 0);
    ck_assert_values(ag_argmin(x, -1, false), 2, H_VALS(0, 1), 0, 0);
    /* Along axis 0, keepdim: columns (1,5) (3,-1) (3,5) (2,-1). */
    ag_tensor *a0 = ag_argmax(x, 0, true);
    ck_assert_shape(a0, 2, H_SHAPE(1, 4));
    ck_assert_values(a0, 4, H_VALS(1, 0, 1, 0), 0, 0);
    ck_assert_values(ag_argmin(x, 0, true), 4, H_VALS(0, 1, 0, 1), 0, 0);
    /* A column of equal values: the first. */
    ag_tensor *t = h_arr(dt, 2, H_SHAPE(3, 1), H_VALS(7, 7, 7));
    ck_assert_values(ag_argmax(t, 0, false), 1, H_VALS(0), 0, 0);
    ck_assert_values(ag_argmin(t, 0, false), 1, H_VALS(0), 0, 0);
    /* NaN is never hidden: argmax picks the first NaN (it counts as the
     * largest), and so does argmin (numpy's propagation). */
    ag_tensor *n = h_arr(dt, 1, H_SHAPE(5), H_VALS(1, 9, NAN, 3, NAN));
    ck_assert_values(ag_argmax(n, 0, false), 1, H_VALS(2), 0, 0);
    ck_assert_values(ag_argmin(n, 0, false), 1, H_VALS(2), 0, 0);
    ag_tensor *n0 = h_arr(dt, 1, H_SHAPE(3), H_VALS(NAN, 5, 1));
    ck_assert_values(ag_argmax(n0, 0, false), 1, H_VALS(0), 0, 0);
    /* max follows argmax: NaN. */
    ck_assert(isnan(ag_item(ag_max(n))));
}
END_TEST

/* ---- max, min ---- */

START_TEST(test_max_min_ties_go_to_first)
{
    ag_dtype dt = H_DTYPES[_i];
    /* x = [[1,5,5],[7,2,7]]: the maximum 7 at flat 3 and 5, the minimum 1. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(1, 5, 5, 7, 2, 7));
    ag_tensor *m = ag_max(x);
    ck_assert_shape(m, 0, NULL);
    ck_assert_values(m, 1, H_VALS(7), 0, 0);
    ck_assert(ag_backward(m));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(0, 0, 0, 1, 0, 0), 0, 0);
    ag_zero_grad(x);
    ag_tape_reset(NULL);
    ag_tensor *mn = ag_min(x);
    ck_assert_values(mn, 1, H_VALS(1), 0, 0);
    ck_assert(ag_backward(mn));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(1, 0, 0, 0, 0, 0), 0, 0);
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* Along axis 1: rows [1,5,5] -> 5 (flat 1), [7,2,7] -> 7 (flat 3). */
    ag_tensor *r = ag_max_axis(x, 1, false);
    ck_assert_shape(r, 1, H_SHAPE(2));
    ck_assert_values(r, 2, H_VALS(5, 7), 0, 0);
    ag_tensor *w = h_arr(dt, 1, H_SHAPE(2), H_VALS(2, 3));
    ck_assert(ag_backward(ag_sum(ag_mul(r, w))));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(0, 2, 0, 3, 0, 0), 0, 0);
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* Along axis 0 with keepdim: columns (1,7) (5,2) (5,7). */
    ag_tensor *c = ag_max_axis(x, 0, true);
    ck_assert_shape(c, 2, H_SHAPE(1, 3));
    ck_assert_values(c, 3, H_VALS(7, 5, 7), 0, 0);
    ck_assert(ag_backward(ag_sum(c)));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(0, 1, 0, 1, 0, 1), 0, 0);
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* Column ties: y = [[4,1],[4,3],[2,3]]; max along 0 -> [4,3] from rows
     * 0 and 1 (the first of each tie), min along 0 -> [2,1]. */
    ag_tensor *y = h_param(dt, 2, H_SHAPE(3, 2), H_VALS(4, 1, 4, 3, 2, 3));
    ag_tensor *cm = ag_max_axis(y, 0, false);
    ck_assert_values(cm, 2, H_VALS(4, 3), 0, 0);
    ck_assert(ag_backward(ag_sum(cm)));
    ck_assert_values(ag_grad_of(y), 6, H_VALS(1, 0, 0, 1, 0, 0), 0, 0);
    ag_zero_grad(y);
    ag_tape_reset(NULL);
    ag_tensor *cn = ag_min_axis(y, -2, true);
    ck_assert_shape(cn, 2, H_SHAPE(1, 2));
    ck_assert_values(cn, 2, H_VALS(2, 1), 0, 0);
    ck_assert(ag_backward(ag_sum(cn)));
    ck_assert_values(ag_grad_of(y), 6, H_VALS(0, 1, 0, 0, 1, 0), 0, 0);
    ag_zero_grad(y);
    ag_tape_reset(NULL);
    /* Row ties for min: [[1,1],[0,0]] -> [1,0], each from column 0. */
    ag_tensor *z = h_param(dt, 2, H_SHAPE(2, 2), H_VALS(1, 1, 0, 0));
    ck_assert(ag_backward(ag_sum(ag_min_axis(z, 1, false))));
    ck_assert_values(ag_grad_of(z), 4, H_VALS(1, 0, 1, 0), 0, 0);
}
END_TEST

/* ---- logsumexp ---- */

START_TEST(test_logsumexp_moderate)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    /* x (3,4) in [-5, 5]: the naive formula is exact enough there. */
    ag_tensor *x = h_rand(dt, 2, H_SHAPE(3, 4), -5, 5, &rng);
    ck_assert(ag_set_requires_grad(x, true));
    double v[12];
    for (int i = 0; i < 12; i++)
        v[i] = ag_get_flat(x, (size_t)i);

    double all = 0;
    for (int i = 0; i < 12; i++)
        all += exp(v[i]);
    ag_tensor *l = ag_logsumexp(x);
    ck_assert_shape(l, 0, NULL);
    ck_assert_near(ag_item(l), log(all), h_rtol(dt), h_atol(dt));
    /* d lse / dx_i = e^x_i / Σ e^x. */
    ck_assert(ag_backward(l));
    for (int i = 0; i < 12; i++)
        ck_assert_near(h_grad_at(x, (size_t)i), exp(v[i]) / all, h_rtol(dt), h_atol(dt));
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* Along axis 1 (rows) and axis 0 (columns, keepdim). */
    ag_tensor *r = ag_logsumexp_axis(x, 1, false);
    ck_assert_shape(r, 1, H_SHAPE(3));
    double rows[3];
    for (int i = 0; i < 3; i++) {
        double s = 0;
        for (int j = 0; j < 4; j++)
            s += exp(v[i * 4 + j]);
        rows[i] = s;
        ck_assert_near(ag_get_flat(r, (size_t)i), log(s), h_rtol(dt), h_atol(dt));
    }
    ck_assert(ag_backward(ag_sum(r)));
    for (int i = 0; i < 12; i++)
        ck_assert_near(h_grad_at(x, (size_t)i), exp(v[i]) / rows[i / 4], h_rtol(dt), h_atol(dt));
    ag_tape_reset(NULL);
    ag_tensor *c = ag_logsumexp_axis(x, 0, true);
    ck_assert_shape(c, 2, H_SHAPE(1, 4));
    for (int j = 0; j < 4; j++) {
        double s = 0;
        for (int i = 0; i < 3; i++)
            s += exp(v[i * 4 + j]);
        ck_assert_near(ag_get_flat(c, (size_t)j), log(s), h_rtol(dt), h_atol(dt));
    }
}
END_TEST

START_TEST(test_logsumexp_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Rows: [1000,1000] -> 1000 + ln 2;  [-1000,-1000] -> -1000 + ln 2;
     * [1000,-1000] -> 1000 + ln(1 + e^-2000) = 1000;  [-1000, 0] -> ln(1 +
     * e^-1000) = 0 (e^-1000 underflows). Naively e^1000 overflows. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(4, 2), H_VALS(1000, 1000, -1000, -1000, 1000, -1000, -1000, 0));
    ag_tensor *l = ag_logsumexp_axis(x, 1, false);
    ck_assert_tensor(l);
    const double want[4] = {1000 + log(2.0), -1000 + log(2.0), 1000, 0};
    /* In f32 the ulp of 1000 is 6.1e-5, i.e. 6e-8 relative: rtol 1e-5 is
     * ample; the 0 of the last row must come out exactly 0 up to e^-1000. */
    ck_assert_values(l, 4, want, h_rtol(dt), dt == AG_F64 ? H_ATOL_F64 : FLT_MIN);
    ck_assert(ag_backward(ag_sum(l)));
    /* Gradient: the softmax of each row: [.5,.5], [.5,.5], [1,0], [0,1]. */
    ck_assert_values(ag_grad_of(x), 8, H_VALS(0.5, 0.5, 0.5, 0.5, 1, 0, 0, 1), h_rtol(dt),
                     DBL_MIN);
    ag_tape_reset(NULL);
    ag_tensor *two = h_arr(dt, 1, H_SHAPE(2), H_VALS(1000, 1000));
    ck_assert_near(ag_item(ag_logsumexp(two)), 1000 + log(2.0), h_rtol(dt), 0);
}
END_TEST

/* ---- one_hot, detach ---- */

START_TEST(test_one_hot)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *l = idx(1, H_SHAPE(3), H_IDX(2, 0, 1));
    ag_tensor *o = ag_one_hot(l, 4, dt);
    ck_assert_shape(o, 2, H_SHAPE(3, 4));
    ck_assert_int_eq(ag_tensor_dtype(o), dt);
    ck_assert_values(o, 12, H_VALS(0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0), 0, 0);
    ck_assert(!ag_requires_grad(o));
    /* Labels of any shape: (2,2) -> (2,2,2). */
    ag_tensor *l2 = idx(2, H_SHAPE(2, 2), H_IDX(1, 1, 0, 1));
    ag_tensor *o2 = ag_one_hot(l2, 2, dt);
    ck_assert_shape(o2, 3, H_SHAPE(2, 2, 2));
    ck_assert_values(o2, 8, H_VALS(0, 1, 0, 1, 1, 0, 0, 1), 0, 0);
}
END_TEST

START_TEST(test_detach_cuts_the_graph)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 1, H_SHAPE(3), H_VALS(1, -2, 3));
    ag_tensor *sq = ag_mul(x, x);
    ag_tensor *d = ag_detach(sq);
    ck_assert_values(d, 3, H_VALS(1, 4, 9), 0, 0);
    ck_assert(!ag_requires_grad(d));
    /* d(detach(x²) · x)/dx = x² (a constant times x), not 3x². */
    ck_assert(ag_backward(ag_sum(ag_mul(d, x))));
    ck_assert_values(ag_grad_of(x), 3, H_VALS(1, 4, 9), 0, 0);
}
END_TEST

/* ---- gradient checks with repeated indices ---- */

typedef struct index_ctx {
    ag_tensor *index; /* (4,2) for gather/scatter_add */
    ag_tensor *rows;  /* 1-D for index_select */
} index_ctx;

static ag_tensor *f_gather_scatter(ag_tensor *const *in, void *ctx)
{
    const index_ctx *c = ctx;
    /* gather along 0 with repeats, then scatter back into 3 rows, then a
     * row-wise max and a logsumexp over columns: every op of the file. */
    ag_tensor *g = ag_gather(in[0], 0, c->index);
    ag_tensor *s = ag_scatter_add(ag_mul(g, g), 0, c->index, 2, H_SHAPE(3, 2));
    ag_tensor *m = ag_max_axis(ag_add(s, in[0]), 1, true);
    ag_tensor *sel = ag_index_select(in[0], 0, c->rows);
    return ag_add(ag_logsumexp_axis(ag_mul(s, m), 0, false), ag_min(sel));
}

START_TEST(test_gradcheck_index_ops)
{
    ag_rng rng;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ag_rng_seed(&rng, seed);
        ag_tensor *x = h_rand(AG_F64, 2, H_SHAPE(3, 2), -2, 2, &rng);
        ck_assert(ag_set_requires_grad(x, true));
        /* (4,2): rows 2, 0, 2, 1 — row 2 twice. */
        index_ctx c = {idx(2, H_SHAPE(4, 2), H_IDX(2, 1, 0, 0, 2, 2, 1, 1)),
                       idx(1, H_SHAPE(3), H_IDX(2, 0, 2))};
        ck_assert_gradcheck(f_gather_scatter, &c, 1, &x);
    }
}
END_TEST

/* ---- errors ---- */

START_TEST(test_index_errors)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    /* Out of range: the value and its position in the index. */
    ag_tensor *bad = idx(2, H_SHAPE(2, 2), H_IDX(0, 1, 2, 3));
    ck_assert_ptr_null(ag_gather(x, 1, bad));
    ck_assert_error(AG_ERR_VALUE, "gather");
    ck_assert_error(AG_ERR_VALUE, "index 3");
    ck_assert_error(AG_ERR_VALUE, "(1,1)");
    ag_error_clear();
    ag_tensor *neg = idx(2, H_SHAPE(1, 2), H_IDX(0, -1));
    ck_assert_ptr_null(ag_gather(x, 1, neg));
    ck_assert_error(AG_ERR_VALUE, "index -1");
    ck_assert_error(AG_ERR_VALUE, "(0,1)");
    ag_error_clear();
    ck_assert_ptr_null(ag_scatter_add(x, 1, idx(2, H_SHAPE(2, 3), H_IDX(0, 0, 0, 0, 5, 0)), 2,
                                      H_SHAPE(2, 4)));
    ck_assert_error(AG_ERR_VALUE, "scatter_add");
    ck_assert_error(AG_ERR_VALUE, "index 5");
    ck_assert_error(AG_ERR_VALUE, "(1,1)");
    ag_error_clear();

    /* Wrong index dtype. */
    ag_tensor *fidx = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(0, 1, 1, 0));
    ck_assert_ptr_null(ag_gather(x, 1, fidx));
    ck_assert_error(AG_ERR_DTYPE, "gather");
    ck_assert_error(AG_ERR_DTYPE, "i64");
    ag_error_clear();
    ck_assert_ptr_null(ag_scatter_add(x, 1, h_arr(AG_F32, 2, H_SHAPE(2, 3), NULL), 2, H_SHAPE(2, 3)));
    ck_assert_error(AG_ERR_DTYPE, "scatter_add");
    ag_error_clear();
    ck_assert_ptr_null(ag_index_select(x, 0, h_arr(AG_F64, 1, H_SHAPE(1), H_VALS(0))));
    ck_assert_error(AG_ERR_DTYPE, "index_select");
    ag_error_clear();
    ck_assert_ptr_null(ag_one_hot(h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(0, 1)), 2, AG_F64));
    ck_assert_error(AG_ERR_DTYPE, "one_hot");
    ag_error_clear();
    ck_assert_ptr_null(ag_gather(x, 1, NULL));
    ck_assert_error(AG_ERR_NULL, "gather");
    ag_error_clear();

    /* Axis out of range. */
    ag_tensor *i2 = idx(2, H_SHAPE(1, 1), H_IDX(0));
    ck_assert_ptr_null(ag_gather(x, 2, i2));
    ck_assert_error(AG_ERR_VALUE, "gather");
    ck_assert_error(AG_ERR_VALUE, "axis 2");
    ag_error_clear();
    ck_assert_ptr_null(ag_gather(x, -3, i2));
    ck_assert_error(AG_ERR_VALUE, "axis -3");
    ag_error_clear();
    ck_assert_ptr_null(ag_scatter_add(x, 3, i2, 2, H_SHAPE(2, 3)));
    ck_assert_error(AG_ERR_VALUE, "axis 3");
    ag_error_clear();
    ck_assert_ptr_null(ag_index_select(x, 2, idx(1, H_SHAPE(1), H_IDX(0))));
    ck_assert_error(AG_ERR_VALUE, "index_select");
    ag_error_clear();
    ck_assert_ptr_null(ag_argmax(x, 2, false));
    ck_assert_error(AG_ERR_VALUE, "argmax");
    ck_assert_error(AG_ERR_VALUE, "axis 2");
    ag_error_clear();
    ck_assert_ptr_null(ag_argmin(x, -3, false));
    ck_assert_error(AG_ERR_VALUE, "argmin");
    ag_error_clear();
    ck_assert_ptr_null(ag_max_axis(x, 5, false));
    ck_assert_error(AG_ERR_VALUE, "max");
    ck_assert_error(AG_ERR_VALUE, "axis 5");
    ag_error_clear();
    ck_assert_ptr_null(ag_min_axis(x, -4, true));
    ck_assert_error(AG_ERR_VALUE, "min");
    ag_error_clear();
    ck_assert_ptr_null(ag_logsumexp_axis(x, 2, false));
    ck_assert_error(AG_ERR_VALUE, "logsumexp");
    ck_assert_error(AG_ERR_VALUE, "axis 2");
    ag_error_clear();

    /* Shapes: gather's index of another rank; scatter_add's source and
     * index that differ. */
    ck_assert_ptr_null(ag_gather(x, 1, idx(1, H_SHAPE(2), H_IDX(0, 1))));
    ck_assert_error(AG_ERR_SHAPE, "gather");
    ag_error_clear();
    ck_assert_ptr_null(ag_scatter_add(x, 1, idx(2, H_SHAPE(2, 2), H_IDX(0, 0, 0, 0)), 2,
                                      H_SHAPE(2, 3)));
    ck_assert_error(AG_ERR_SHAPE, "scatter_add");
    ag_error_clear();
    /* Nothing to pick from an empty axis. */
    ag_tensor *e = h_arr(AG_F64, 2, H_SHAPE(2, 0), NULL);
    ck_assert_ptr_null(ag_max_axis(e, 1, false));
    ck_assert_error(AG_ERR_SHAPE, "max");
    ag_error_clear();
    ck_assert_ptr_null(ag_argmin(e, 1, false));
    ck_assert_error(AG_ERR_SHAPE, "argmin");
    ag_error_clear();

    /* one_hot: a label out of range names the label and its position. */
    ck_assert_ptr_null(ag_one_hot(idx(1, H_SHAPE(3), H_IDX(0, 3, 1)), 3, AG_F64));
    ck_assert_error(AG_ERR_VALUE, "one_hot");
    ck_assert_error(AG_ERR_VALUE, "label 3");
    ck_assert_error(AG_ERR_VALUE, "position 1");
    ag_error_clear();
    ck_assert_ptr_null(ag_one_hot(idx(1, H_SHAPE(2), H_IDX(0, -2)), 3, AG_F32));
    ck_assert_error(AG_ERR_VALUE, "label -2");
    ag_error_clear();
    ck_assert_ptr_null(ag_one_hot(idx(1, H_SHAPE(2), H_IDX(0, 0)), 0, AG_F32));
    ck_assert_error(AG_ERR_VALUE, "one_hot");
    ag_error_clear();
}
END_TEST

START_TEST(test_index_select_error_names_op)
{
    /* The message names the op the caller used (index_select) and the bad
     * value at its position in the caller's 1-D index (position 1), not in
     * an internal expanded index. */
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert_ptr_null(ag_index_select(x, 1, idx(1, H_SHAPE(2), H_IDX(0, 7))));
    ck_assert_error(AG_ERR_VALUE, "index 7");
    ck_assert_error(AG_ERR_VALUE, "index_select");
    ck_assert_error(AG_ERR_VALUE, "position 1");
}
END_TEST

Suite *index_suite(void);
Suite *index_suite(void)
{
    Suite *s = suite_create("index");
    TCase *tc = h_tcase(s, "gather and scatter_add", H_TIMEOUT);
    tcase_add_loop_test(tc, test_gather_known_values, 0, 2);
    tcase_add_loop_test(tc, test_scatter_add_known_values, 0, 2);
    tcase_add_loop_test(tc, test_index_select, 0, 2);
    tc = h_tcase(s, "argmax and argmin", H_TIMEOUT);
    tcase_add_loop_test(tc, test_argmax_argmin, 0, 2);
    tc = h_tcase(s, "max and min", H_TIMEOUT);
    tcase_add_loop_test(tc, test_max_min_ties_go_to_first, 0, 2);
    tc = h_tcase(s, "logsumexp", H_TIMEOUT);
    tcase_add_loop_test(tc, test_logsumexp_moderate, 0, 2);
    tcase_add_loop_test(tc, test_logsumexp_extremes, 0, 2);
    tc = h_tcase(s, "one_hot and detach", H_TIMEOUT);
    tcase_add_loop_test(tc, test_one_hot, 0, 2);
    tcase_add_loop_test(tc, test_detach_cuts_the_graph, 0, 2);
    tc = h_tcase(s, "gradcheck", 300);
    tcase_add_test(tc, test_gradcheck_index_ops);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_index_errors);
    tcase_add_test(tc, test_index_select_error_names_op);
    return s;
}

H_MAIN(index_suite)

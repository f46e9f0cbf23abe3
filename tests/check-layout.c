/* SPDX-License-Identifier: MIT */
/* check-layout.c — the layout family: permute and transpose, slice (Python
 * semantics) and slice_ranges, concat and stack, expand_dims and squeeze:
 * their values, their errors, and f32 and zero-size tensors (values and
 * gradients).
 *
 * Expected values come from index arithmetic written in the tests (a naive
 * loop over the multi-index, or a hand-made list of positions for the
 * slice cases, worked out from Python's slice rules), never from the
 * library's output. The family's gradients (known values, finite
 * differences, the registry sweep) are in check-layout_grad.c; counting()
 * is in layout_fixture.[ch]. */
#include "layout_fixture.h"

/* ---- permute and transpose ---- */

START_TEST(test_permute_values)
{
    ag_tensor *x = counting(AG_F64, 3, H_SHAPE(2, 3, 4));
    /* y's axis i is x's axis perm[i]: y[i][j][k] = x[j][k][i]. */
    ag_tensor *y = ag_permute(x, 3, (const int[]){2, 0, 1});
    ck_assert_shape(y, 3, H_SHAPE(4, 2, 3));
    double want[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                want[(i * 2 + j) * 3 + k] = 100 + j * 12 + k * 4 + i;
    ck_assert_values_f64(y, 24, want);

    /* Negative axes count from the end: (-1, 0, 1) is (2, 0, 1). */
    ag_tensor *z = ag_permute(x, 3, (const int[]){-1, 0, -2});
    ck_assert_shape(z, 3, H_SHAPE(4, 2, 3));
    ck_assert_values_f64(z, 24, want);

    /* The identity gives a copy, a new intermediate. */
    ag_tensor *same = ag_permute(x, 3, (const int[]){0, 1, 2});
    ck_assert_shape(same, 3, H_SHAPE(2, 3, 4));
    ck_assert(!ag_is_leaf(same));
    for (size_t i = 0; i < 24; i++)
        ck_assert_f64(ag_get_flat(same, i), 100.0 + (double)i);

    /* A scalar has the empty permutation. */
    ag_tensor *s = ag_permute(h_scalar(AG_F64, 7.5), 0, NULL);
    ck_assert_shape(s, 0, NULL);
    ck_assert_f64(ag_item(s), 7.5);
    ck_assert_ok();
}
END_TEST

START_TEST(test_transpose_values)
{
    /* [[1,2,3],[4,5,6]]ᵀ = [[1,4],[2,5],[3,6]], by hand. */
    ag_tensor *m = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *t = ag_transpose(m, 0, 1);
    ck_assert_shape(t, 2, H_SHAPE(3, 2));
    ck_assert_values_f64(t, 6, H_VALS(1, 4, 2, 5, 3, 6));
    ag_tensor *t2 = ag_transpose(m, -1, -2);
    ck_assert_values_f64(t2, 6, H_VALS(1, 4, 2, 5, 3, 6));

    /* Axes 0 and 2 of (2,3,4): y[i][j][k] = x[k][j][i]. */
    ag_tensor *x = counting(AG_F64, 3, H_SHAPE(2, 3, 4));
    ag_tensor *y = ag_transpose(x, 0, 2);
    ck_assert_shape(y, 3, H_SHAPE(4, 3, 2));
    double want[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                want[(i * 3 + j) * 2 + k] = 100 + k * 12 + j * 4 + i;
    ck_assert_values_f64(y, 24, want);

    /* Swapping an axis with itself copies. */
    ag_tensor *c = ag_transpose(x, 1, 1);
    ck_assert_shape(c, 3, H_SHAPE(2, 3, 4));
    ck_assert_f64(ag_get_flat(c, 23), 123);
    ck_assert_ok();
}
END_TEST

/* ---- slice ---- */

typedef struct slice_case {
    int64_t start, stop, step;
    int n;           /* expected length */
    int pos[10];     /* expected positions, from Python's rules by hand */
} slice_case;

START_TEST(test_slice_python_semantics)
{
    /* x = [100, ..., 109]; x[start:stop:step] as Python gives it. */
    static const slice_case cases[] = {
        {2, 7, 1, 5, {2, 3, 4, 5, 6}},              /* x[2:7] */
        {-3, AG_END, 1, 3, {7, 8, 9}},              /* x[-3:] */
        {1, -1, 3, 3, {1, 4, 7}},                   /* x[1:-1:3] */
        {0, AG_END, 2, 5, {0, 2, 4, 6, 8}},         /* x[::2] */
        {1, AG_END, 2, 5, {1, 3, 5, 7, 9}},         /* x[1::2] */
        {-1, AG_END, -1, 10, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}, /* x[::-1] */
        {8, 2, -2, 3, {8, 6, 4}},                   /* x[8:2:-2] */
        {-2, -8, -3, 2, {8, 5}},                    /* x[-2:-8:-3] */
        {-100, 100, 1, 10, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, /* clamped both ends */
        {100, -100, -1, 10, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}, /* clamped, backwards */
        {100, -100, -4, 3, {9, 5, 1}},              /* x[100:-100:-4] */
        {-100, 3, 1, 3, {0, 1, 2}},                 /* x[-100:3] */
        {5, 2, 1, 0, {0}},                          /* stop before start: empty */
        {2, 5, -1, 0, {0}},                         /* backwards the wrong way: empty */
        {10, AG_END, 1, 0, {0}},                    /* start at the end: empty */
        {3, 3, 1, 0, {0}},                          /* x[3:3] */
        {0, AG_END, -1, 1, {0}},                    /* x[0::-1] */
        {1, INT64_MIN, -1, 2, {1, 0}},              /* a stop below -len clamps to before 0 */
        {-1, -11, -1, 10, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}}, /* x[-1:-11:-1] */
        {-1, -10, -1, 9, {9, 8, 7, 6, 5, 4, 3, 2, 1}},     /* -10 is position 0, excluded */
        {3, 4, INT64_MAX, 1, {3}},                  /* a huge step takes one element */
        {5, 0, INT64_MIN, 1, {5}},                  /* ... backwards too */
        {INT64_MIN, INT64_MAX, 4, 3, {0, 4, 8}},    /* extreme bounds */
    };
    ag_tensor *x = counting(AG_F64, 1, H_SHAPE(10));
    for (size_t c = 0; c < H_COUNT(cases); c++) {
        const slice_case *k = &cases[c];
        ag_tensor *y = ag_slice(x, 0, k->start, k->stop, k->step);
        ck_assert_msg(y != NULL, "case %zu: %s", c, ag_last_error());
        ck_assert_msg(ag_ndim(y) == 1 && ag_dim(y, 0) == k->n, "case %zu: length %lld, want %d",
                      c, (long long)ag_dim(y, 0), k->n);
        for (int i = 0; i < k->n; i++)
            ck_assert_msg(ag_get_flat(y, (size_t)i) == 100.0 + k->pos[i],
                          "case %zu (%lld:%lld:%lld): element %d is %g, want %d", c,
                          (long long)k->start, (long long)k->stop, (long long)k->step, i,
                          ag_get_flat(y, (size_t)i), 100 + k->pos[i]);
    }
    ck_assert_ok();
}
END_TEST

START_TEST(test_slice_axes)
{
    /* (3,5): columns from the last, every other one: y[i][k] = x[i][4 - 2k]. */
    ag_tensor *x = counting(AG_F64, 2, H_SHAPE(3, 5));
    ag_tensor *y = ag_slice(x, 1, -1, AG_END, -2);
    ck_assert_shape(y, 2, H_SHAPE(3, 3));
    double want[9];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            want[i * 3 + k] = 100 + i * 5 + (4 - 2 * k);
    ck_assert_values_f64(y, 9, want);

    /* Rows 1.. through axis -2. */
    ag_tensor *r = ag_slice(x, -2, 1, AG_END, 1);
    ck_assert_shape(r, 2, H_SHAPE(2, 5));
    for (int i = 0; i < 10; i++)
        ck_assert_f64(ag_get_flat(r, (size_t)i), 105.0 + i);

    /* The middle axis of (2,3,2), reversed: y[a][b][c] = x[a][2-b][c]. */
    ag_tensor *x3 = counting(AG_F64, 3, H_SHAPE(2, 3, 2));
    ag_tensor *m = ag_slice(x3, 1, 2, INT64_MIN, -1);
    ck_assert_shape(m, 3, H_SHAPE(2, 3, 2));
    double w3[12];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 2; c++)
                w3[(a * 3 + b) * 2 + c] = 100 + a * 6 + (2 - b) * 2 + c;
    ck_assert_values_f64(m, 12, w3);

    /* An empty result keeps the other dimensions. */
    ag_tensor *e = ag_slice(x, 0, 2, 1, 1);
    ck_assert_shape(e, 2, H_SHAPE(0, 5));
    ck_assert_ok();
}
END_TEST

START_TEST(test_slice_ranges_values)
{
    ag_tensor *x = counting(AG_F64, 2, H_SHAPE(3, 4));
    /* x[1:, ::-2] = rows 1, 2 and columns 3, 1. */
    ag_range r[2] = {{1, AG_END, 1}, {-1, AG_END, -2}};
    ag_tensor *y = ag_slice_ranges(x, r);
    ck_assert_shape(y, 2, H_SHAPE(2, 2));
    ck_assert_values_f64(y, 4, H_VALS(107, 105, 111, 109));

    /* A whole axis records no node: one slice, straight from the leaf. */
    ag_tensor *p = h_param(AG_F64, 2, H_SHAPE(3, 4), NULL);
    ag_tensor *one = ag_slice_ranges(p, (const ag_range[]){{0, AG_END, 1}, {1, 3, 1}});
    ck_assert_shape(one, 2, H_SHAPE(3, 2));
    ck_assert_ptr_eq(ag_node_op(one), ag_op_find("slice"));
    ck_assert_ptr_eq(ag_node_input(one, 0), p);
    ck_assert_ok();

    /* Whole axes: a copy, not x itself. */
    ag_range whole[2] = {{0, AG_END, 1}, {-100, 100, 1}};
    ag_tensor *c = ag_slice_ranges(x, whole);
    ck_assert_shape(c, 2, H_SHAPE(3, 4));
    ck_assert(c != x && !ag_is_leaf(c));
    for (size_t i = 0; i < 12; i++)
        ck_assert_f64(ag_get_flat(c, i), 100.0 + (double)i);

    /* A scalar has no ranges to give. */
    ag_tensor *s = ag_slice_ranges(h_scalar(AG_F64, 2.5), NULL);
    ck_assert_f64(ag_item(s), 2.5);
    ck_assert_ok();
}
END_TEST

/* ---- concat and stack ---- */

START_TEST(test_concat_values)
{
    ag_tensor *a = h_arr(AG_F64, 2, H_SHAPE(2, 1), H_VALS(1, 2));
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(3, 4, 5, 6, 7, 8));
    ag_tensor *e = h_arr(AG_F64, 2, H_SHAPE(2, 0), NULL);
    ag_tensor *c = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(9, 10, 11, 12));
    /* Along axis 1: each row is a's row, b's row, c's row. */
    ag_tensor *y = ag_concat(4, (ag_tensor *[]){a, b, e, c}, 1);
    ck_assert_shape(y, 2, H_SHAPE(2, 6));
    ck_assert_values_f64(y, 12, H_VALS(1, 3, 4, 5, 9, 10, 2, 6, 7, 8, 11, 12));
    ag_tensor *y2 = ag_concat(4, (ag_tensor *[]){a, b, e, c}, -1);
    ck_assert_values_f64(y2, 12, H_VALS(1, 3, 4, 5, 9, 10, 2, 6, 7, 8, 11, 12));

    /* Along axis 0: the blocks one after another. */
    ag_tensor *r = h_arr(AG_F64, 2, H_SHAPE(1, 3), H_VALS(-1, -2, -3));
    ag_tensor *z = ag_concat(3, (ag_tensor *[]){b, r, b}, 0);
    ck_assert_shape(z, 2, H_SHAPE(5, 3));
    ck_assert_values_f64(z, 15, H_VALS(3, 4, 5, 6, 7, 8, -1, -2, -3, 3, 4, 5, 6, 7, 8));

    /* The middle axis of 3-D pieces: a naive loop gives the expected values. */
    ag_tensor *p = counting(AG_F64, 3, H_SHAPE(2, 1, 2));
    ag_tensor *q = h_arr(AG_F64, 3, H_SHAPE(2, 2, 2), H_VALS(0, 1, 2, 3, 4, 5, 6, 7));
    ag_tensor *m = ag_concat(2, (ag_tensor *[]){p, q}, 1);
    ck_assert_shape(m, 3, H_SHAPE(2, 3, 2));
    double want[12];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                want[(i * 3 + j) * 2 + k] = j == 0 ? 100 + i * 2 + k : (i * 2 + j - 1) * 2 + k;
    ck_assert_values_f64(m, 12, want);

    /* One piece: a copy. */
    ag_tensor *one = ag_concat(1, &b, 0);
    ck_assert_shape(one, 2, H_SHAPE(2, 3));
    ck_assert(one != b);
    ck_assert_values_f64(one, 6, H_VALS(3, 4, 5, 6, 7, 8));
    ck_assert_ok();
}
END_TEST

START_TEST(test_stack_values)
{
    ag_tensor *a = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(-1, -2, -3, -4, -5, -6));
    ag_tensor *s0 = ag_stack(2, (ag_tensor *[]){a, b}, 0);
    ck_assert_shape(s0, 3, H_SHAPE(2, 2, 3));
    ck_assert_values_f64(s0, 12, H_VALS(1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6));

    /* A new last axis interleaves: y[i][j][k] = xs[k][i][j]. */
    ag_tensor *s2 = ag_stack(2, (ag_tensor *[]){a, b}, -1);
    ck_assert_shape(s2, 3, H_SHAPE(2, 3, 2));
    ck_assert_values_f64(s2, 12, H_VALS(1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6));

    /* The middle: y[i][k][j] = xs[k][i][j]. */
    ag_tensor *s1 = ag_stack(2, (ag_tensor *[]){a, b}, 1);
    ck_assert_shape(s1, 3, H_SHAPE(2, 2, 3));
    ck_assert_values_f64(s1, 12, H_VALS(1, 2, 3, -1, -2, -3, 4, 5, 6, -4, -5, -6));

    /* Scalars stack into a vector. */
    ag_tensor *v = ag_stack(3, (ag_tensor *[]){h_scalar(AG_F64, 7), h_scalar(AG_F64, 8),
                                                h_scalar(AG_F64, 9)},
                            0);
    ck_assert_shape(v, 1, H_SHAPE(3));
    ck_assert_values_f64(v, 3, H_VALS(7, 8, 9));
    ck_assert_ok();
}
END_TEST

/* ---- expand_dims and squeeze ---- */

START_TEST(test_expand_squeeze_values)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert_shape(ag_expand_dims(x, 0), 3, H_SHAPE(1, 2, 3));
    ck_assert_shape(ag_expand_dims(x, 1), 3, H_SHAPE(2, 1, 3));
    ck_assert_shape(ag_expand_dims(x, 2), 3, H_SHAPE(2, 3, 1));
    ck_assert_shape(ag_expand_dims(x, -1), 3, H_SHAPE(2, 3, 1));
    ck_assert_shape(ag_expand_dims(x, -3), 3, H_SHAPE(1, 2, 3));
    ag_tensor *e = ag_expand_dims(x, 1);
    ck_assert_values_f64(e, 6, H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *back = ag_squeeze(e, 1);
    ck_assert_shape(back, 2, H_SHAPE(2, 3));
    ck_assert_values_f64(back, 6, H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert_shape(ag_squeeze(ag_expand_dims(x, -1), -1), 2, H_SHAPE(2, 3));

    ag_tensor *s = ag_expand_dims(h_scalar(AG_F64, 4), 0);
    ck_assert_shape(s, 1, H_SHAPE(1));
    ag_tensor *s0 = ag_squeeze(s, 0);
    ck_assert_shape(s0, 0, NULL);
    ck_assert_f64(ag_item(s0), 4);
    ck_assert_ok();
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors_permute_transpose)
{
    ag_tensor *x = counting(AG_F64, 3, H_SHAPE(2, 3, 4));
    ck_assert_ptr_null(ag_permute(x, 2, (const int[]){1, 0}));
    ck_assert_error(AG_ERR_VALUE, "permute: 2 axes given for shape (2,3,4)");
    ag_error_clear();
    ck_assert_ptr_null(ag_permute(x, 3, (const int[]){0, 1, 1}));
    ck_assert_error(AG_ERR_VALUE, "axis 1 appears twice and axis 2 is missing");
    ag_error_clear();
    ck_assert_ptr_null(ag_permute(x, 3, (const int[]){2, 2, 0}));
    ck_assert_error(AG_ERR_VALUE, "axis 2 appears twice and axis 1 is missing");
    ag_error_clear();
    ck_assert_ptr_null(ag_permute(x, 3, (const int[]){0, 3, 1}));
    ck_assert_error(AG_ERR_VALUE, "permute: axis 3 in (0,3,1) out of range for shape (2,3,4)");
    ag_error_clear();
    ck_assert_ptr_null(ag_permute(x, 3, (const int[]){0, -4, 1}));
    ck_assert_error(AG_ERR_VALUE, "axis -4");
    ag_error_clear();
    ck_assert_ptr_null(ag_permute(x, 3, NULL));
    ck_assert_error(AG_ERR_NULL, "permute: perm is NULL");
    ag_error_clear();
    ck_assert_ptr_null(ag_transpose(x, 0, 3));
    ck_assert_error(AG_ERR_VALUE, "transpose: axis 3 out of range for shape (2,3,4)");
    ag_error_clear();
    ck_assert_ptr_null(ag_transpose(x, -4, 0));
    ck_assert_error(AG_ERR_VALUE, "transpose: axis -4 out of range");
    ag_error_clear();
    ck_assert_ptr_null(ag_transpose(h_scalar(AG_F64, 1), 0, 0));
    ck_assert_error(AG_ERR_VALUE, "transpose: axis 0 out of range for shape ()");
}
END_TEST

START_TEST(test_errors_slice)
{
    ag_tensor *x = counting(AG_F64, 2, H_SHAPE(2, 3));
    ck_assert_ptr_null(ag_slice(x, 3, 0, 1, 1));
    ck_assert_error(AG_ERR_VALUE, "slice: axis 3 out of range for shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_slice(x, -3, 0, 1, 1));
    ck_assert_error(AG_ERR_VALUE, "slice: axis -3 out of range for shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_slice(x, 1, 0, 2, 0));
    ck_assert_error(AG_ERR_VALUE, "slice: step 0 on axis 1 of shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_slice(h_scalar(AG_F64, 1), 0, 0, 1, 1));
    ck_assert_error(AG_ERR_VALUE, "slice: axis 0 out of range for shape ()");
    ag_error_clear();
    ck_assert_ptr_null(ag_slice_ranges(x, NULL));
    ck_assert_error(AG_ERR_NULL, "slice_ranges: ranges is NULL");
    ag_error_clear();
    ck_assert_ptr_null(ag_slice_ranges(x, (const ag_range[]){{0, AG_END, 1}, {0, 1, 0}}));
    ck_assert_error(AG_ERR_VALUE, "slice_ranges: step 0 on axis 1 of shape (2,3)");
}
END_TEST

START_TEST(test_errors_concat_stack)
{
    ag_tensor *a = counting(AG_F64, 2, H_SHAPE(2, 3));
    ag_tensor *b = counting(AG_F64, 2, H_SHAPE(2, 4));
    ag_tensor *c = counting(AG_F64, 3, H_SHAPE(2, 3, 1));
    ag_tensor *f = counting(AG_F32, 2, H_SHAPE(2, 3));
    ag_tensor *i = h_keep(ag_zeros(AG_I64, 2, H_SHAPE(2, 3)));
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){a, b}, 0));
    ck_assert_error(AG_ERR_SHAPE, "concat: input 1 has shape (2,4) but input 0 has (2,3) off axis 0");
    ag_error_clear();
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){a, c}, 0));
    ck_assert_error(AG_ERR_SHAPE, "concat: input 1 has shape (2,3,1) but input 0 has (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){a, b}, 2));
    ck_assert_error(AG_ERR_VALUE, "concat: axis 2 out of range for shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_concat(0, (ag_tensor *[]){a}, 0));
    ck_assert_error(AG_ERR_VALUE, "concat: 0 tensors; need at least 1");
    ag_error_clear();
    ck_assert_ptr_null(ag_concat(2, NULL, 0));
    ck_assert_error(AG_ERR_NULL, "concat");
    ag_error_clear();
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){a, NULL}, 0));
    ck_assert_error(AG_ERR_NULL, "concat: input 1 is NULL");
    ag_error_clear();
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){a, f}, 0));
    ck_assert_error(AG_ERR_DTYPE, "concat");
    ag_error_clear();
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){h_scalar(AG_F64, 1), h_scalar(AG_F64, 2)}, 0));
    ck_assert_error(AG_ERR_SHAPE, "concat: input 0 is 0-dimensional");
    ag_error_clear();
    /* i64 joins i64 (check-tensors.c), not a float tensor. */
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){i, a}, 0));
    ck_assert_error(AG_ERR_DTYPE, "concat: input 0 is i64 but input 1 is f64; convert one first with ag_cast");
    ag_error_clear();

    ck_assert_ptr_null(ag_stack(2, (ag_tensor *[]){a, b}, 0));
    ck_assert_error(AG_ERR_SHAPE, "stack: input 1 has shape (2,4) but input 0 has (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_stack(2, (ag_tensor *[]){a, a}, 3));
    ck_assert_error(AG_ERR_VALUE, "stack: axis 3 out of range");
    ag_error_clear();
    ck_assert_ptr_null(ag_stack(2, (ag_tensor *[]){a, a}, -4));
    ck_assert_error(AG_ERR_VALUE, "stack: axis -4 out of range");
    ag_error_clear();
    ck_assert_ptr_null(ag_stack(0, (ag_tensor *[]){a}, 0));
    ck_assert_error(AG_ERR_VALUE, "stack: 0 tensors");
    ag_error_clear();
    ck_assert_ptr_null(ag_stack(2, (ag_tensor *[]){NULL, a}, 0));
    ck_assert_error(AG_ERR_NULL, "stack: input 0 is NULL");
}
END_TEST

START_TEST(test_errors_expand_squeeze)
{
    ag_tensor *x = counting(AG_F64, 2, H_SHAPE(2, 3));
    ck_assert_ptr_null(ag_squeeze(x, 1));
    ck_assert_error(AG_ERR_SHAPE, "squeeze: axis 1 of shape (2,3) has size 3, not 1");
    ag_error_clear();
    ck_assert_ptr_null(ag_squeeze(x, 2));
    ck_assert_error(AG_ERR_VALUE, "squeeze: axis 2 out of range for shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_expand_dims(x, 3));
    ck_assert_error(AG_ERR_VALUE, "expand_dims: axis 3 out of range for shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_expand_dims(x, -4));
    ck_assert_error(AG_ERR_VALUE, "expand_dims: axis -4 out of range");
    ag_error_clear();
    ag_tensor *big = h_keep(ag_zeros(AG_F64, 8, H_SHAPE(1, 1, 1, 1, 1, 1, 1, 1)));
    ck_assert_ptr_null(ag_expand_dims(big, 0));
    ck_assert_error(AG_ERR_SHAPE, "expand_dims: shape (1,1,1,1,1,1,1,1) already has 8 dimensions");
    ag_error_clear();
    ck_assert_ptr_null(ag_stack(1, &big, 0));
    ck_assert_error(AG_ERR_SHAPE, "stack");
}
END_TEST

/* Op k of the family on x (and x again where it takes several). */
static const char *const op_names[] = {"permute", "transpose",   "slice",   "slice_ranges",
                                       "concat",  "stack",       "expand_dims", "squeeze",
                                       "concat"};

static ag_tensor *run_op(int k, ag_tensor *x)
{
    static const ag_range r[2] = {{0, AG_END, 1}, {0, AG_END, 1}};
    switch (k) {
    case 0: return ag_permute(x, 2, (const int[]){1, 0});
    case 1: return ag_transpose(x, 0, 1);
    case 2: return ag_slice(x, 0, 0, 1, 1);
    case 3: return ag_slice_ranges(x, r);
    case 4: return ag_concat(1, &x, 0);
    case 5: return ag_stack(1, &x, 0);
    case 6: return ag_expand_dims(x, 0);
    case 7: return ag_squeeze(x, 1);
    default: return ag_concat(2, (ag_tensor *[]){x, x}, 0);
    }
}

/* A NULL input gives NULL and AG_ERR_NULL, the message naming the op; an
 * i64 input an unrecorded i64 result (the values are checked in
 * check-tensors.c); in an expression the first error is kept. */
START_TEST(test_errors_null_and_dtype)
{
    ag_tensor *i = h_keep(ag_zeros(AG_I64, 2, H_SHAPE(2, 1)));
    for (int k = 0; k < (int)H_COUNT(op_names); k++) {
        ag_error_clear();
        ck_assert_ptr_null(run_op(k, NULL));
        ck_assert_error(AG_ERR_NULL, op_names[k]);
        ag_error_clear();
        ag_tensor *y = run_op(k, i);
        ck_assert_msg(y != NULL, "%s of an i64 tensor: %s", op_names[k], ag_last_error());
        ck_assert_int_eq(ag_tensor_dtype(y), AG_I64);
        ck_assert(!ag_requires_grad(y));
    }
    ag_error_clear();
    ag_tensor *x = counting(AG_F64, 2, H_SHAPE(2, 3));
    ag_tensor *y = ag_squeeze(ag_concat(2, (ag_tensor *[]){ag_slice(x, 5, 0, 1, 1), x}, 0), 0);
    ck_assert_ptr_null(y);
    ck_assert_error(AG_ERR_VALUE, "slice: axis 5 out of range for shape (2,3)");
}
END_TEST

/* ---- f32 and zero-size ---- */

START_TEST(test_f32_matches_f64)
{
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_tensor *x64 = h_rand(AG_F64, 3, H_SHAPE(2, 3, 4), -2, 2, &rng);
    ag_tensor *x32 = h_keep(ag_zeros(AG_F32, 3, H_SHAPE(2, 3, 4)));
    for (size_t e = 0; e < 24; e++) {
        /* Values exactly representable in f32, so a copy must be exact. */
        float v = (float)ag_get_flat(x64, e);
        ag_set_flat(x64, e, v);
        ag_set_flat(x32, e, v);
    }
    ag_range r[3] = {{-1, AG_END, -1}, {0, AG_END, 1}, {1, AG_END, 1}};
    for (int pass = 0; pass < 2; pass++) {
        ag_tensor *y[2];
        for (int k = 0; k < 2; k++) {
            ag_tensor *x = k ? x32 : x64;
            ag_tensor *ys = NULL;
            switch (pass) {
            case 0:
                ys = ag_permute(x, 3, (const int[]){1, 2, 0}); /* (3,4,2) */
                ys = ag_concat(
                    3,
                    (ag_tensor *[]){ys, ag_slice_ranges(ys, r),
                                    ag_slice(ag_transpose(ag_transpose(x, 0, 2), 0, 1), 2, -1, 0, -1)},
                    2);
                break;
            default:
                ys = ag_stack(2, (ag_tensor *[]){ag_squeeze(ag_expand_dims(x, 3), 3), x}, 1);
                break;
            }
            ck_assert_tensor(ys);
            y[k] = ys;
        }
        ck_assert_int_eq(ag_tensor_dtype(y[1]), AG_F32);
        ck_assert_uint_eq(ag_numel(y[0]), ag_numel(y[1]));
        for (size_t e = 0; e < ag_numel(y[0]); e++)
            ck_assert(ag_get_flat(y[0], e) == ag_get_flat(y[1], e));
    }
    ck_assert_ok();
}
END_TEST

START_TEST(test_f32_gradient)
{
    ag_tensor *x = h_param(AG_F32, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *y = ag_concat(2, (ag_tensor *[]){ag_slice(x, 0, -1, AG_END, -1), ag_transpose(x, 0, 0)}, 0);
    ck_assert(ag_backward_seed(y, h_arr(AG_F32, 2, H_SHAPE(4, 3),
                                        H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12))));
    /* Row 0 of x gets seed row 1 and row 2; row 1 gets seed rows 0 and 3. */
    ck_assert_int_eq(ag_tensor_dtype(ag_grad_of(x)), AG_F32);
    ck_assert_values_f32(ag_grad_of(x), 6, H_VALS(11, 13, 15, 11, 13, 15));
}
END_TEST

START_TEST(test_zero_size)
{
    ag_tensor *z = h_param(AG_F64, 2, H_SHAPE(0, 3), NULL);
    ag_tensor *p = ag_permute(z, 2, (const int[]){1, 0});
    ck_assert_shape(p, 2, H_SHAPE(3, 0));
    ck_assert_shape(ag_transpose(z, 0, 1), 2, H_SHAPE(3, 0));
    ck_assert_shape(ag_slice(z, 1, -1, AG_END, -2), 2, H_SHAPE(0, 2));
    ck_assert_shape(ag_slice(z, 0, 0, 5, 1), 2, H_SHAPE(0, 3));
    ck_assert_shape(ag_expand_dims(z, 0), 3, H_SHAPE(1, 0, 3));
    ck_assert_shape(ag_squeeze(ag_expand_dims(z, 2), 2), 2, H_SHAPE(0, 3));
    ck_assert_shape(ag_stack(2, (ag_tensor *[]){z, z}, 1), 3, H_SHAPE(0, 2, 3));
    ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *c = ag_concat(3, (ag_tensor *[]){z, x, z}, 0);
    ck_assert_shape(c, 2, H_SHAPE(2, 3));
    ck_assert_values_f64(c, 6, H_VALS(1, 2, 3, 4, 5, 6));
    /* Gradients flow through and around empty pieces. */
    ck_assert(ag_backward(ag_sum(ag_mul(c, c))));
    ck_assert_values_f64(ag_grad_of(x), 6, H_VALS(2, 4, 6, 8, 10, 12));
    ag_tensor *gz = ag_grad_of(z);
    ck_assert(gz == NULL || ag_numel(gz) == 0);
    ag_tape_reset(NULL);

    /* An empty slice of a non-empty tensor: the gradient is all zeros. */
    ag_zero_grad(x);
    ag_tensor *e = ag_slice(x, 1, 2, 0, 1);
    ck_assert_shape(e, 2, H_SHAPE(2, 0));
    ck_assert(ag_backward(ag_sum(e)));
    ck_assert_values_f64(ag_grad_of(x), 6, H_VALS(0, 0, 0, 0, 0, 0));
    ag_tape_reset(NULL);

    /* Huge dimensions beside a zero one: no element, no overflow. */
    ag_tensor *h = h_keep(ag_zeros(AG_F64, 3, H_SHAPE(0, (int64_t)1 << 40, (int64_t)1 << 40)));
    ck_assert_tensor(h);
    ck_assert_shape(ag_slice(h, 2, 5, (int64_t)1 << 39, 3), 3,
                    H_SHAPE(0, (int64_t)1 << 40, ((((int64_t)1 << 39) - 5 - 1) / 3) + 1));
    ck_assert_shape(ag_permute(h, 3, (const int[]){0, 2, 1}), 3,
                    H_SHAPE(0, (int64_t)1 << 40, (int64_t)1 << 40));
    ck_assert_shape(ag_concat(2, (ag_tensor *[]){h, h}, 1), 3,
                    H_SHAPE(0, (int64_t)1 << 41, (int64_t)1 << 40));
    ck_assert_ok();
}
END_TEST

/* A training-style loop over layout ops allocates nothing after the first
 * step (intermediates and scratch come from the tape's arena). */
START_TEST(test_no_allocation_in_steady_state)
{
    ag_tensor *x = h_param(AG_F64, 3, H_SHAPE(2, 3, 4), NULL);
    size_t before = 0;
    for (int step = 0; step < 3; step++) {
        if (step == 2)
            before = ag_alloc_count();
        ag_tensor *parts[3] = {ag_permute(x, 3, (const int[]){0, 2, 1}),
                               ag_slice(ag_permute(x, 3, (const int[]){0, 2, 1}), 1, -1, AG_END, -1),
                               ag_transpose(x, 1, 2)};
        ag_tensor *s = ag_stack(3, parts, 0);
        ag_tensor *loss = ag_sum(ag_squeeze(ag_slice(s, 0, 1, 2, 1), 0));
        ck_assert(ag_backward(loss));
        ag_sgd_update(x, 0.1);
        ag_tape_reset(NULL);
    }
    ck_assert_uint_eq(ag_alloc_count(), before);
}
END_TEST

Suite *layout_suite(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = h_tcase(s, "values", H_TIMEOUT);
    tcase_add_test(tc, test_permute_values);
    tcase_add_test(tc, test_transpose_values);
    tcase_add_test(tc, test_slice_python_semantics);
    tcase_add_test(tc, test_slice_axes);
    tcase_add_test(tc, test_slice_ranges_values);
    tcase_add_test(tc, test_concat_values);
    tcase_add_test(tc, test_stack_values);
    tcase_add_test(tc, test_expand_squeeze_values);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_errors_permute_transpose);
    tcase_add_test(tc, test_errors_slice);
    tcase_add_test(tc, test_errors_concat_stack);
    tcase_add_test(tc, test_errors_expand_squeeze);
    tcase_add_test(tc, test_errors_null_and_dtype);
    tc = h_tcase(s, "dtypes and sizes", H_TIMEOUT);
    tcase_add_test(tc, test_f32_matches_f64);
    tcase_add_test(tc, test_f32_gradient);
    tcase_add_test(tc, test_zero_size);
    tcase_add_test(tc, test_no_allocation_in_steady_state);
    return s;
}

H_MAIN(layout_suite)

/* SPDX-License-Identifier: MIT */
/* check-tensors.c — converting and cutting tensors: ag_cast (ops/cast.c),
 * ag_split and ag_chunk (ops/split.c), and i64 tensors passing through the
 * ops that only move or pick elements (reshape, slice, slice_ranges,
 * concat, stack, expand_dims, squeeze, permute, transpose, index_select,
 * gather).
 *
 * Expected values are worked out by hand in the comments, from C's own
 * conversions ((float)v, truncation toward zero), or from PyTorch's
 * documented behaviour: torch.chunk makes pieces of ceil(n / chunks), so
 * 5 into 3 gives 2, 2, 1 and 6 into 4 gives 2, 2, 2 (three pieces), 2
 * into 5 gives 1, 1; torch.split of 5 by 2 gives 2, 2, 1; an empty axis
 * splits into one empty piece and chunks into `chunks` empty ones (ATen's
 * chunk; all confirmed by hand with this machine's torch). The i64
 * tests use values above 2^53, which a copy through a double would round,
 * so they prove the copies exact. */
#include "harness.h"

#include <float.h>

#define H_I64(...) ((const int64_t[]){__VA_ARGS__})

/* An i64 leaf kept by the fixture. */
static ag_tensor *i64_arr(int ndim, const int64_t *shape, const int64_t *values)
{
    ag_tensor *t = h_keep(ag_from_array(AG_I64, ndim, shape, values));
    ck_assert_msg(t != NULL, "from_array: %s", ag_last_error());
    return t;
}

/* Every element of an i64 tensor against want, exactly (no double
 * in between: ag_get_flat would round values above 2^53). */
static void assert_i64(const ag_tensor *t, size_t n, const int64_t *want)
{
    ck_assert_msg(t != NULL, "NULL: %s", ag_last_error());
    ck_assert_int_eq(ag_tensor_dtype(t), AG_I64);
    ck_assert_uint_eq(ag_numel(t), n);
    const int64_t *v = ag_data_const(t);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(v[i] == want[i], "element %zu is %lld, expected %lld", i, (long long)v[i],
                      (long long)want[i]);
    ck_assert(!ag_requires_grad(t));
    ck_assert_ptr_null(ag_node_op(t));
}

/* ---- cast ---- */

START_TEST(test_cast_values)
{
    /* f64 -> f32 rounds as C's (float) does; f32 -> f64 is exact. */
    const double v[] = {1.0 / 3.0, -2.25, 1e-3, 16777217.0};
    ag_tensor *x64 = h_arr(AG_F64, 1, H_SHAPE(4), v);
    ag_tensor *y32 = ag_cast(x64, AG_F32);
    ck_assert_shape(y32, 1, H_SHAPE(4));
    ck_assert_int_eq(ag_tensor_dtype(y32), AG_F32);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(((const float *)ag_data_const(y32))[i] == (float)v[i], "element %zu", i);
    /* 16777217 = 2^24 + 1 rounds to 2^24 in f32 (ties to even). */
    ck_assert_double_eq(ag_get_flat(y32, 3), 16777216.0);
    ag_tensor *back = ag_cast(y32, AG_F64);
    ck_assert_int_eq(ag_tensor_dtype(back), AG_F64);
    for (size_t i = 0; i < 4; i++)
        ck_assert_double_eq(ag_get_flat(back, i), (double)(float)v[i]);

    /* To i64: truncation toward zero, as PyTorch's .to(torch.int64). */
    ag_tensor *f = h_arr(AG_F64, 1, H_SHAPE(5), H_VALS(1.7, -1.7, 2.5, -0.5, -3.0));
    assert_i64(ag_cast(f, AG_I64), 5, H_I64(1, -1, 2, 0, -3));
    ag_tensor *f32 = h_arr(AG_F32, 1, H_SHAPE(2), H_VALS(7.9, -7.9));
    assert_i64(ag_cast(f32, AG_I64), 2, H_I64(7, -7));

    /* From i64: 2^53 + 1 is not a double; it rounds to 2^53 (ties to even). */
    ag_tensor *n = i64_arr(1, H_SHAPE(3), H_I64(3, -4, (INT64_C(1) << 53) + 1));
    ag_tensor *d = ag_cast(n, AG_F64);
    ck_assert_values(d, 3, H_VALS(3, -4, 9007199254740992.0), 0, 0);
    ck_assert(!ag_requires_grad(d));
    ag_tensor *s = ag_cast(n, AG_F32);
    ck_assert_int_eq(ag_tensor_dtype(s), AG_F32);
    ck_assert_values(s, 3, H_VALS(3, -4, 9007199254740992.0), 0, 0);
    ck_assert_ok();
}
END_TEST

START_TEST(test_cast_i64_round_trip)
{
    /* Every i64 a double holds exactly (|v| <= 2^53) comes back unchanged
     * through f64; small ones through f32 too. */
    const int64_t big[] = {0, 1, -1, (INT64_C(1) << 53), -(INT64_C(1) << 53), 123456789012345};
    ag_tensor *n = i64_arr(2, H_SHAPE(2, 3), big);
    ag_tensor *r = ag_cast(ag_cast(n, AG_F64), AG_I64);
    ck_assert_shape(r, 2, H_SHAPE(2, 3));
    assert_i64(r, 6, big);
    const int64_t small[] = {0, 1, -1, 16777216, -16777216, 42};
    ag_tensor *m = i64_arr(1, H_SHAPE(6), small);
    assert_i64(ag_cast(ag_cast(m, AG_F32), AG_I64), 6, small);
    /* The limits: -2^63 is INT64_MIN; 2^63 is past INT64_MAX (an error below). */
    ag_tensor *lim = h_arr(AG_F64, 1, H_SHAPE(1), H_VALS(-0x1p63));
    assert_i64(ag_cast(lim, AG_I64), 1, H_I64(INT64_MIN));
}
END_TEST

START_TEST(test_cast_same_dtype_is_x)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ck_assert_ptr_eq(ag_cast(x, AG_F64), x);
    ag_tensor *n = i64_arr(1, H_SHAPE(1), H_I64(5));
    ck_assert_ptr_eq(ag_cast(n, AG_I64), n);
    /* A recorded intermediate too. */
    ag_tensor *y = ag_mul(x, x);
    ck_assert_ptr_eq(ag_cast(y, AG_F64), y);
}
END_TEST

/* d Σ cast(x) ⊙ w / dx = w, delivered in x's dtype, both ways. */
START_TEST(test_cast_gradient_both_ways)
{
    ag_dtype from = H_DTYPES[_i], to = from == AG_F64 ? AG_F32 : AG_F64;
    ag_tensor *x = h_param(from, 2, H_SHAPE(2, 2), H_VALS(0.5, -1.25, 2, 3.5));
    ag_tensor *w = h_arr(to, 2, H_SHAPE(2, 2), H_VALS(1, -2, 0.25, 8));
    ag_tensor *y = ag_cast(x, to);
    ck_assert_ptr_eq(ag_node_op(y), ag_op_find("cast"));
    ck_assert(ag_requires_grad(y));
    ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
    ag_tensor *g = ag_grad_of(x);
    ck_assert_int_eq(ag_tensor_dtype(g), from);
    ck_assert_values(g, 4, H_VALS(1, -2, 0.25, 8), 0, 0); /* exact in either dtype */
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* Σ cast(x)² : 2x, and the same through the round trip. */
    ck_assert(ag_backward(ag_sum(ag_square(ag_cast(ag_cast(x, to), from)))));
    ck_assert_values(ag_grad_of(x), 4, H_VALS(1, -2.5, 4, 7), 0, 0);
}
END_TEST

/* Second order through a cast: d/dx Σ (d/dx Σ cast(x)³) = 6x. */
START_TEST(test_cast_double_backward)
{
    ag_dtype from = H_DTYPES[_i], to = from == AG_F64 ? AG_F32 : AG_F64;
    ag_tensor *x = h_param(from, 1, H_SHAPE(3), H_VALS(0.5, -1, 2));
    ag_tensor *c = ag_cast(x, to);
    ag_tensor *loss = ag_sum(ag_mul(c, ag_mul(c, c)));
    ag_tensor *g;
    ck_assert(ag_grad(1, &loss, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &g));
    ck_assert_int_eq(ag_tensor_dtype(g), from);
    ck_assert_values(g, 3, H_VALS(0.75, 3, 12), h_rtol(AG_F32), 0); /* 3x² */
    ag_tensor *gg;
    ag_tensor *sg = ag_sum(g);
    ck_assert(ag_grad(1, &sg, NULL, 1, &x, 0, &gg));
    ck_assert_values(gg, 3, H_VALS(3, -6, 12), h_rtol(AG_F32), 0); /* 6x */
}
END_TEST

/* The op's registry check (f64 finite differences, f32 against f64, zero
 * size, second order) at a few seeds beside the sweep's one. */
START_TEST(test_cast_registry_checks)
{
    const ag_op *op = ag_op_find("cast");
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

START_TEST(test_cast_no_gradient_through_i64)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1.5, 2.5));
    ag_tensor *n = ag_cast(x, AG_I64);
    assert_i64(n, 2, H_I64(1, 2));
    ag_tensor *back = ag_cast(n, AG_F64);
    ck_assert(!ag_requires_grad(back));
    ck_assert_ptr_null(ag_node_op(back));
    ck_assert_ok();
}
END_TEST

START_TEST(test_cast_errors)
{
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(1, NAN, 2));
    ck_assert_ptr_null(ag_cast(x, AG_I64));
    ck_assert_error(AG_ERR_VALUE, "cast: element 1 of f64 tensor (3) is nan");
    ag_error_clear();
    ag_tensor *big = h_arr(AG_F32, 1, H_SHAPE(2), H_VALS(0, 0x1p63));
    ck_assert_ptr_null(ag_cast(big, AG_I64));
    ck_assert_error(AG_ERR_VALUE, "element 1");
    ag_error_clear();
    ag_tensor *inf = h_arr(AG_F64, 1, H_SHAPE(1), H_VALS(-INFINITY));
    ck_assert_ptr_null(ag_cast(inf, AG_I64));
    ck_assert_error(AG_ERR_VALUE, "-inf");
    ag_error_clear();
    ck_assert_ptr_null(ag_cast(x, (ag_dtype)7));
    ck_assert_error(AG_ERR_DTYPE, "cast: unknown dtype 7");
    ag_error_clear();
    /* Mixing f32 and f64 names the way out. */
    ag_tensor *a = h_arr(AG_F32, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ck_assert_ptr_null(ag_add(a, x));
    ck_assert_error(AG_ERR_DTYPE, "add: input 0 is f32 but input 1 is f64; convert one first with ag_cast");
    ag_error_clear();
    ck_assert_ptr_null(ag_cast(NULL, AG_F32));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

/* ---- split and chunk ---- */

/* The lengths of the pieces along axis, into len[]. */
static int piece_lengths(int n, ag_tensor **pieces, int axis, int64_t *len)
{
    for (int i = 0; i < n; i++) {
        ck_assert_msg(pieces[i] != NULL, "piece %d is NULL", i);
        len[i] = ag_dim(pieces[i], axis);
    }
    return n;
}

START_TEST(test_chunk_pytorch_sizes)
{
    ag_tensor *out[8];
    int64_t len[8];
    /* torch.chunk(arange(5), 3): sizes 2, 2, 1. */
    ag_tensor *x5 = h_arr(AG_F64, 1, H_SHAPE(5), H_VALS(0, 1, 2, 3, 4));
    ck_assert_int_eq(ag_chunk(x5, 3, 0, out, 8), 3);
    piece_lengths(3, out, 0, len);
    ck_assert(len[0] == 2 && len[1] == 2 && len[2] == 1);
    ck_assert_values(out[0], 2, H_VALS(0, 1), 0, 0);
    ck_assert_values(out[1], 2, H_VALS(2, 3), 0, 0);
    ck_assert_values(out[2], 1, H_VALS(4), 0, 0);
    /* torch.chunk(arange(6), 4): three pieces of 2, not four. */
    ag_tensor *x6 = h_arr(AG_F64, 1, H_SHAPE(6), H_VALS(0, 1, 2, 3, 4, 5));
    ck_assert_int_eq(ag_chunk(x6, 4, 0, out, 8), 3);
    piece_lengths(3, out, 0, len);
    ck_assert(len[0] == 2 && len[1] == 2 && len[2] == 2);
    ck_assert_values(out[2], 2, H_VALS(4, 5), 0, 0);
    /* torch.chunk(arange(2), 5): two pieces of 1. */
    ag_tensor *x2 = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(7, 8));
    ck_assert_int_eq(ag_chunk(x2, 5, 0, out, 8), 2);
    ck_assert_values(out[1], 1, H_VALS(8), 0, 0);
    /* An empty axis: `chunks` empty pieces. */
    ag_tensor *e = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(0, 3)));
    ck_assert_int_eq(ag_chunk(e, 3, 0, out, 8), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_shape(out[i], 2, H_SHAPE(0, 3));
    /* Exactly as many slots as pieces is enough. */
    ck_assert_int_eq(ag_chunk(x5, 3, 0, out, 3), 3);
}
END_TEST

START_TEST(test_split_pytorch_sizes)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *out[8];
    /* x = [[0..4],[5..9]]; split by 2 along axis 1 (as -1): 2, 2, 1 columns. */
    ag_tensor *x = h_arr(dt, 2, H_SHAPE(2, 5), H_VALS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    ck_assert_int_eq(ag_split(x, 2, -1, out, 8), 3);
    ck_assert_shape(out[0], 2, H_SHAPE(2, 2));
    ck_assert_shape(out[1], 2, H_SHAPE(2, 2));
    ck_assert_shape(out[2], 2, H_SHAPE(2, 1));
    ck_assert_values(out[0], 4, H_VALS(0, 1, 5, 6), 0, 0);
    ck_assert_values(out[1], 4, H_VALS(2, 3, 7, 8), 0, 0);
    ck_assert_values(out[2], 2, H_VALS(4, 9), 0, 0);
    ck_assert_int_eq(ag_tensor_dtype(out[2]), dt);
    /* A size covering the axis: one piece, the whole tensor (a copy). */
    ck_assert_int_eq(ag_split(x, 5, 1, out, 8), 1);
    ck_assert_values(out[0], 10, H_VALS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), 0, 0);
    ck_assert_int_eq(ag_split(x, INT64_MAX, 1, out, 8), 1);
    ck_assert_shape(out[0], 2, H_SHAPE(2, 5));
    /* Along axis 0 by 1: the rows. */
    ck_assert_int_eq(ag_split(x, 1, 0, out, 8), 2);
    ck_assert_values(out[1], 5, H_VALS(5, 6, 7, 8, 9), 0, 0);
    /* An empty axis is one empty piece (torch.split), even with size 0. */
    ag_tensor *e = h_keep(ag_zeros(dt, 2, H_SHAPE(3, 0)));
    ck_assert_int_eq(ag_split(e, 2, 1, out, 8), 1);
    ck_assert_shape(out[0], 2, H_SHAPE(3, 0));
    ck_assert_int_eq(ag_split(e, 0, 1, out, 8), 1);
    ck_assert_ok();
}
END_TEST

/* Σ_k (k+1)·Σ piece_k along axis 1 of a (2,5) x split by 2: the columns of
 * the gradient are 1, 1, 2, 2, 3. A piece left unused sends zeros. */
START_TEST(test_split_gradient_through_pieces)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 5), H_VALS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    ag_tensor *out[3];
    ck_assert_int_eq(ag_split(x, 2, 1, out, 3), 3);
    ag_tensor *loss = NULL;
    for (int k = 0; k < 3; k++) {
        ag_tensor *term = ag_mul_scalar(ag_sum(out[k]), k + 1);
        loss = loss ? ag_add(loss, term) : term;
    }
    ck_assert(ag_backward(loss));
    ck_assert_values(ag_grad_of(x), 10, H_VALS(1, 1, 2, 2, 3, 1, 1, 2, 2, 3), 0, 0);
    ag_zero_grad(x);
    ag_tape_reset(NULL);
    /* Only the middle chunk of 3 along axis 1: 5 -> 2, 2, 1. */
    ck_assert_int_eq(ag_chunk(x, 3, 1, out, 3), 3);
    ck_assert(ag_backward(ag_sum(ag_square(out[1])))); /* 2x on columns 2 and 3 */
    ck_assert_values(ag_grad_of(x), 10, H_VALS(0, 0, 4, 6, 0, 0, 0, 14, 16, 0), 0, 0);
}
END_TEST

/* Finite differences of Σ_k w_k Σ piece_k² through chunk (3 pieces of a
 * (3,4) along 0 -> 1, 1, 1) and split. */
static ag_tensor *pieces_fn(ag_tensor *const *in, void *ctx)
{
    ag_tensor *out[4];
    int n = ctx ? ag_chunk(in[0], 3, 0, out, 4) : ag_split(in[0], 3, 1, out, 4);
    ag_tensor *loss = NULL;
    for (int k = 0; k < n; k++) {
        ag_tensor *term = ag_mul_scalar(ag_sum(ag_square(out[k])), 0.5 + k);
        loss = loss ? ag_add(loss, term) : term;
    }
    return loss;
}

START_TEST(test_split_chunk_gradcheck)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_tensor *x = h_rand(AG_F64, 2, H_SHAPE(3, 4), -2, 2, &rng);
    ag_set_requires_grad(x, true);
    ck_assert_gradcheck(pieces_fn, NULL, 1, &x);
    ck_assert_gradcheck(pieces_fn, (void *)1, 1, &x);
}
END_TEST

START_TEST(test_split_errors)
{
    ag_tensor *out[2];
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 5), H_VALS(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
    ck_assert_int_eq(ag_split(x, 2, 1, out, 2), -1);
    ck_assert_error(AG_ERR_VALUE, "split: axis 1 of shape (2,5) makes 3 pieces but max_out is 2");
    ag_error_clear();
    ck_assert_int_eq(ag_chunk(x, 5, 1, out, 2), -1);
    ck_assert_error(AG_ERR_VALUE, "chunk: axis 1 of shape (2,5) makes 5 pieces but max_out is 2");
    ag_error_clear();
    ck_assert_int_eq(ag_split(x, 2, 2, out, 2), -1);
    ck_assert_error(AG_ERR_VALUE, "split: axis 2 out of range for shape (2,5)");
    ag_error_clear();
    ck_assert_int_eq(ag_chunk(x, 2, -3, out, 2), -1);
    ck_assert_error(AG_ERR_VALUE, "chunk: axis -3 out of range for shape (2,5)");
    ag_error_clear();
    ck_assert_int_eq(ag_split(x, 0, 1, out, 2), -1);
    ck_assert_error(AG_ERR_VALUE, "split: split_size 0 for axis 1 of shape (2,5)");
    ag_error_clear();
    ck_assert_int_eq(ag_split(x, -1, 1, out, 2), -1);
    ck_assert_error(AG_ERR_VALUE, "split_size -1");
    ag_error_clear();
    ck_assert_int_eq(ag_chunk(x, 0, 1, out, 2), -1);
    ck_assert_error(AG_ERR_VALUE, "chunk: 0 chunks");
    ag_error_clear();
    ck_assert_int_eq(ag_chunk(x, 2, 1, out, -1), -1);
    ck_assert_error(AG_ERR_VALUE, "max_out is -1");
    ag_error_clear();
    ag_tensor *s = h_scalar(AG_F64, 1);
    ck_assert_int_eq(ag_split(s, 1, 0, out, 2), -1);
    ck_assert_error(AG_ERR_SHAPE, "split: x is 0-dimensional");
    ag_error_clear();
    ck_assert_int_eq(ag_split(x, 2, 1, NULL, 2), -1);
    ck_assert_error(AG_ERR_NULL, "split: out is NULL");
}
END_TEST

/* ---- i64 through the layout and index ops ---- */

/* Values above 2^53: B + k for k = 0..5, x = [[B, B+1, B+2], [B+3, B+4, B+5]]. */
#define B ((INT64_C(1) << 53) + 1)

static ag_tensor *i64_matrix(void)
{
    return i64_arr(2, H_SHAPE(2, 3), H_I64(B, B + 1, B + 2, B + 3, B + 4, B + 5));
}

START_TEST(test_i64_reshape_slice)
{
    ag_tensor *x = i64_matrix();
    ag_tensor *r = ag_reshape(x, 2, H_SHAPE(3, 2));
    ck_assert_shape(r, 2, H_SHAPE(3, 2));
    assert_i64(r, 6, H_I64(B, B + 1, B + 2, B + 3, B + 4, B + 5));
    /* x[:, ::-1] */
    assert_i64(ag_slice(x, 1, -1, AG_END, -1), 6, H_I64(B + 2, B + 1, B, B + 5, B + 4, B + 3));
    /* x[1:, 0:3:2] */
    ag_tensor *sr = ag_slice_ranges(x, (const ag_range[]){{1, AG_END, 1}, {0, 3, 2}});
    ck_assert_shape(sr, 2, H_SHAPE(1, 2));
    assert_i64(sr, 2, H_I64(B + 3, B + 5));
    /* Every axis whole: still a copy. */
    assert_i64(ag_slice_ranges(x, (const ag_range[]){{0, AG_END, 1}, {0, AG_END, 1}}), 6,
               H_I64(B, B + 1, B + 2, B + 3, B + 4, B + 5));
}
END_TEST

START_TEST(test_i64_concat_stack)
{
    ag_tensor *x = i64_matrix();
    ag_tensor *y = i64_arr(2, H_SHAPE(1, 3), H_I64(-1, -2, -3));
    ag_tensor *c = ag_concat(2, (ag_tensor *[]){x, y}, 0);
    ck_assert_shape(c, 2, H_SHAPE(3, 3));
    assert_i64(c, 9, H_I64(B, B + 1, B + 2, B + 3, B + 4, B + 5, -1, -2, -3));
    /* stack of x's two rows along a new last axis: [[B, B+3], [B+1, B+4], [B+2, B+5]]. */
    ag_tensor *r0 = ag_slice(x, 0, 0, 1, 1), *r1 = ag_slice(x, 0, 1, 2, 1);
    ag_tensor *s = ag_stack(2, (ag_tensor *[]){ag_squeeze(r0, 0), ag_squeeze(r1, 0)}, -1);
    ck_assert_shape(s, 2, H_SHAPE(3, 2));
    assert_i64(s, 6, H_I64(B, B + 3, B + 1, B + 4, B + 2, B + 5));
    ag_tensor *e = ag_expand_dims(x, 1);
    ck_assert_shape(e, 3, H_SHAPE(2, 1, 3));
    assert_i64(e, 6, H_I64(B, B + 1, B + 2, B + 3, B + 4, B + 5));
    ag_tensor *q = ag_squeeze(e, 1);
    ck_assert_shape(q, 2, H_SHAPE(2, 3));
    assert_i64(q, 6, H_I64(B, B + 1, B + 2, B + 3, B + 4, B + 5));
    /* Mixed with a float tensor: the way out is named. */
    ag_tensor *f = h_arr(AG_F64, 2, H_SHAPE(1, 3), H_VALS(1, 2, 3));
    ck_assert_ptr_null(ag_concat(2, (ag_tensor *[]){x, f}, 0));
    ck_assert_error(AG_ERR_DTYPE, "concat: input 0 is i64 but input 1 is f64; convert one first with ag_cast");
}
END_TEST

START_TEST(test_i64_permute_transpose)
{
    ag_tensor *x = i64_matrix();
    ag_tensor *t = ag_transpose(x, 0, 1);
    ck_assert_shape(t, 2, H_SHAPE(3, 2));
    assert_i64(t, 6, H_I64(B, B + 3, B + 1, B + 4, B + 2, B + 5));
    /* (2,1,3) permuted (2,0,1) -> (3,2,1): element [k][i][0] = x[i][k]. */
    ag_tensor *p = ag_permute(ag_expand_dims(x, 1), 3, (const int[]){2, 0, 1});
    ck_assert_shape(p, 3, H_SHAPE(3, 2, 1));
    assert_i64(p, 6, H_I64(B, B + 3, B + 1, B + 4, B + 2, B + 5));
}
END_TEST

START_TEST(test_i64_index_select_gather)
{
    ag_tensor *x = i64_matrix();
    ag_tensor *cols = i64_arr(1, H_SHAPE(3), H_I64(2, 0, 2));
    ag_tensor *s = ag_index_select(x, 1, cols);
    ck_assert_shape(s, 2, H_SHAPE(2, 3));
    assert_i64(s, 6, H_I64(B + 2, B, B + 2, B + 5, B + 3, B + 5));
    /* gather along 0 with [[1, 0, 1]]: [x[1][0], x[0][1], x[1][2]]. */
    ag_tensor *g = ag_gather(x, 0, i64_arr(2, H_SHAPE(1, 3), H_I64(1, 0, 1)));
    ck_assert_shape(g, 2, H_SHAPE(1, 3));
    assert_i64(g, 3, H_I64(B + 3, B + 1, B + 5));
}
END_TEST

START_TEST(test_i64_split_chunk)
{
    ag_tensor *x = i64_matrix();
    ag_tensor *out[3];
    ck_assert_int_eq(ag_split(x, 2, 1, out, 3), 2);
    assert_i64(out[0], 4, H_I64(B, B + 1, B + 3, B + 4));
    assert_i64(out[1], 2, H_I64(B + 2, B + 5));
    ck_assert_int_eq(ag_chunk(x, 2, 0, out, 3), 2);
    assert_i64(out[1], 3, H_I64(B + 3, B + 4, B + 5));
}
END_TEST

/* The float ops still refuse i64, and i64 results are never recorded even
 * beside inputs that require grad. */
START_TEST(test_i64_float_ops_refuse)
{
    ag_tensor *x = i64_matrix();
    ck_assert_ptr_null(ag_add(x, x));
    ck_assert_error(AG_ERR_DTYPE, "add: input 0 is i64; this op takes f32 or f64");
    ag_error_clear();
    ck_assert_ptr_null(ag_sum(x));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_exp(x));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_dropout(x, 0.5, true, &(ag_rng){{1, 2, 3, 4}}));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    /* A gather of float values by an index picked from i64 labels with
     * index_select (labels of a batch): only the float path is recorded. */
    ag_tensor *w = h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *labels = i64_arr(1, H_SHAPE(4), H_I64(2, 0, 1, 1));
    ag_tensor *batch = ag_index_select(labels, 0, i64_arr(1, H_SHAPE(2), H_I64(3, 0)));
    assert_i64(batch, 2, H_I64(1, 2));
    ag_tensor *picked = ag_gather(w, 1, ag_reshape(batch, 2, H_SHAPE(2, 1)));
    ck_assert_values(picked, 2, H_VALS(2, 6), 0, 0);
    ck_assert(ag_backward(ag_sum(picked)));
    ck_assert_values(ag_grad_of(w), 6, H_VALS(0, 1, 0, 0, 0, 1), 0, 0);
}
END_TEST

/* A realistic batch: 64 labels of a 10-class problem, chunked into 4
 * mini-batches beside their 64 images of 28×28 (f32), each chunk a
 * (16,1,28,28) slice of the images and 16 labels. */
START_TEST(test_realistic_batch)
{
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    int64_t labels[64];
    for (int i = 0; i < 64; i++)
        labels[i] = (i * 7) % 10;
    ag_tensor *y = i64_arr(1, H_SHAPE(64), labels);
    ag_tensor *x = h_keep(ag_rand_normal(AG_F32, 4, H_SHAPE(64, 1, 28, 28), 0, 1, &rng));
    ag_tensor *xs[4], *ys[4];
    ck_assert_int_eq(ag_chunk(x, 4, 0, xs, 4), 4);
    ck_assert_int_eq(ag_chunk(y, 4, 0, ys, 4), 4);
    for (int k = 0; k < 4; k++) {
        ck_assert_shape(xs[k], 4, H_SHAPE(16, 1, 28, 28));
        assert_i64(ys[k], 16, labels + 16 * k);
        const float *a = ag_data_const(xs[k]), *b = ag_data_const(x);
        ck_assert(memcmp(a, b + (size_t)k * 16 * 784, 16 * 784 * sizeof *a) == 0);
    }
    /* The f64 copy of a chunk, and back, is the chunk itself. */
    ag_tensor *back = ag_cast(ag_cast(xs[2], AG_F64), AG_F32);
    ck_assert(memcmp(ag_data_const(back), ag_data_const(xs[2]), 16 * 784 * sizeof(float)) == 0);
}
END_TEST

Suite *tensors_suite(void)
{
    Suite *s = suite_create("tensors");
    TCase *tc = h_tcase(s, "cast", H_TIMEOUT);
    tcase_add_test(tc, test_cast_values);
    tcase_add_test(tc, test_cast_i64_round_trip);
    tcase_add_test(tc, test_cast_same_dtype_is_x);
    tcase_add_loop_test(tc, test_cast_gradient_both_ways, 0, 2);
    tcase_add_loop_test(tc, test_cast_double_backward, 0, 2);
    tcase_add_test(tc, test_cast_registry_checks);
    tcase_add_test(tc, test_cast_no_gradient_through_i64);
    tcase_add_test(tc, test_cast_errors);
    tc = h_tcase(s, "split and chunk", H_TIMEOUT);
    tcase_add_test(tc, test_chunk_pytorch_sizes);
    tcase_add_loop_test(tc, test_split_pytorch_sizes, 0, 2);
    tcase_add_loop_test(tc, test_split_gradient_through_pieces, 0, 2);
    tcase_add_test(tc, test_split_chunk_gradcheck);
    tcase_add_test(tc, test_split_errors);
    tc = h_tcase(s, "i64 through layout and index ops", H_TIMEOUT);
    tcase_add_test(tc, test_i64_reshape_slice);
    tcase_add_test(tc, test_i64_concat_stack);
    tcase_add_test(tc, test_i64_permute_transpose);
    tcase_add_test(tc, test_i64_index_select_gather);
    tcase_add_test(tc, test_i64_split_chunk);
    tcase_add_test(tc, test_i64_float_ops_refuse);
    tcase_add_test(tc, test_realistic_batch);
    return s;
}

H_MAIN(tensors_suite)

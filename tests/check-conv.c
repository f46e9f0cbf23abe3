/* SPDX-License-Identifier: MIT */
/* check-conv.c — ag_conv2d, ag_conv1d and ag_conv_transpose2d (ops/conv.c):
 * values, gradients, second derivatives and errors.
 *
 * Expected values come from three independent sources:
 *  - small cases worked by hand from the definition (cross-correlation:
 *    y[i, j] = Σ_ab w[a, b] x[i·s − p + a·d, j·s − p + b·d]), in the comments;
 *  - PyTorch: tests/conv_reference.py builds inputs from fixed formulas,
 *    runs F.conv2d / F.conv_transpose2d / F.conv1d in float64 and writes the
 *    outputs and the gradients of sum(y ⊙ g) to tests/conv_reference.h
 *    (stride, padding, dilation, groups, output_padding, bias or none,
 *    conv1d); here the same inputs run in f64 and in f32;
 *  - at a realistic size (a batch of 64 28×28 images, 6 filters 5×5), a
 *    direct loop written below, for the output and the weight gradient.
 * Gradients are also checked by finite differences (ag_gradcheck, f64, with
 * every option on), and the second derivatives of conv2d and its transpose
 * by ag_gradgradcheck. */
#include "harness.h"
#include "conv_reference.h"

#include <stdio.h>

/* ---- worked by hand ---- */

/* x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]]:
 *   y[0,0] = 1·1 + 2·2 + 3·4 + 4·5 = 37, y[0,1] = 1·2 + 2·3 + 3·5 + 4·6 = 47,
 *   y[1,0] = 1·4 + 2·5 + 3·7 + 4·8 = 67, y[1,1] = 1·5 + 2·6 + 3·8 + 4·9 = 77;
 * plus bias 0.5. For the loss sum(y): dx[i,j] is the sum of the taps that
 * touch x[i,j] (the centre one is touched by all four: 10), dw[a,b] the sum
 * of the 2×2 block of x at (a,b) (12, 16, 24, 28), db the number of
 * outputs (4). */
START_TEST(test_hand_3x3_2x2)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 4, H_SHAPE(1, 1, 3, 3), H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9));
    ag_tensor *w = h_param(dt, 4, H_SHAPE(1, 1, 2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *b = h_param(dt, 1, H_SHAPE(1), H_VALS(0.5));
    ag_tensor *y = ag_conv2d(x, w, b, NULL);
    ck_assert_shape(y, 4, H_SHAPE(1, 1, 2, 2));
    ck_assert_values(y, 4, H_VALS(37.5, 47.5, 67.5, 77.5), h_rtol(dt), h_atol(dt));
    ck_assert(ag_backward(ag_sum(y)));
    ck_assert_values(ag_grad_of(x), 9, H_VALS(1, 3, 2, 4, 10, 6, 3, 7, 4), h_rtol(dt), h_atol(dt));
    ck_assert_values(ag_grad_of(w), 4, H_VALS(12, 16, 24, 28), h_rtol(dt), h_atol(dt));
    ck_assert_values(ag_grad_of(b), 1, H_VALS(4), h_rtol(dt), h_atol(dt));
}
END_TEST

/* The same x and w with padding 1 and stride 2: x padded to 5×5, windows
 * at rows/cols {0, 2}:
 *   y[0,0] = 4·1 (only x[0,0], under tap (1,1)),
 *   y[0,1] = 3·2 + 4·3 (x[0,1], x[0,2] under taps (1,0), (1,1)) = 18,
 *   y[1,0] = 2·4 + 4·7 (x[1,0], x[2,0] under taps (0,1), (1,1)) = 36,
 *   y[1,1] = 1·5 + 2·6 + 3·8 + 4·9 = 77.
 * With dilation 2 instead (no padding, stride 1) the kernel spans the
 * corners: y = 1·1 + 2·3 + 3·7 + 4·9 = 64. */
START_TEST(test_hand_stride_padding_dilation)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_arr(dt, 4, H_SHAPE(1, 1, 3, 3), H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9));
    ag_tensor *w = h_arr(dt, 4, H_SHAPE(1, 1, 2, 2), H_VALS(1, 2, 3, 4));
    ag_conv_opts o = ag_conv_defaults();
    o.stride[0] = o.stride[1] = 2;
    o.padding[0] = o.padding[1] = 1;
    ag_tensor *y = ag_conv2d(x, w, NULL, &o);
    ck_assert_shape(y, 4, H_SHAPE(1, 1, 2, 2));
    ck_assert_values(y, 4, H_VALS(4, 18, 36, 77), h_rtol(dt), h_atol(dt));
    o = ag_conv_defaults();
    o.dilation[0] = o.dilation[1] = 2;
    y = ag_conv2d(x, w, NULL, &o);
    ck_assert_shape(y, 4, H_SHAPE(1, 1, 1, 1));
    ck_assert_values(y, 1, H_VALS(64), h_rtol(dt), h_atol(dt));
}
END_TEST

/* Groups 2 on 2 channels: each output channel sees only its own input
 * channel. x channel 0 is all 1, channel 1 all 10; weights (2,1,1,1) = 2, 3:
 * y channel 0 = 2, channel 1 = 30 (a dense conv would mix them). */
START_TEST(test_hand_groups)
{
    ag_tensor *x = h_arr(AG_F64, 4, H_SHAPE(1, 2, 1, 2), H_VALS(1, 1, 10, 10));
    ag_tensor *w = h_arr(AG_F64, 4, H_SHAPE(2, 1, 1, 1), H_VALS(2, 3));
    ag_conv_opts o = ag_conv_defaults();
    o.groups = 2;
    ag_tensor *y = ag_conv2d(x, w, NULL, &o);
    ck_assert_shape(y, 4, H_SHAPE(1, 2, 1, 2));
    ck_assert_values_f64(y, 4, H_VALS(2, 2, 30, 30));
}
END_TEST

/* Transposed: each x[i,j] stamps x[i,j]·w at (i, j) of a 3×3 output:
 * x = [[1,2],[3,4]], w = [[1,2],[3,4]]:
 *   [[1, 1·2 + 2·1, 2·2], [1·3 + 3·1, 1·4 + 2·3 + 3·2 + 4·1, 2·4 + 4·2],
 *    [3·3, 3·4 + 4·3, 4·4]] = [[1,4,4],[6,20,16],[9,24,16]]. */
START_TEST(test_hand_transpose)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_arr(dt, 4, H_SHAPE(1, 1, 2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *w = h_arr(dt, 4, H_SHAPE(1, 1, 2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *y = ag_conv_transpose2d(x, w, NULL, NULL);
    ck_assert_shape(y, 4, H_SHAPE(1, 1, 3, 3));
    ck_assert_values(y, 9, H_VALS(1, 4, 4, 6, 20, 16, 9, 24, 16), h_rtol(dt), h_atol(dt));
}
END_TEST

/* conv1d of [1,2,3,4,5] with the difference kernel [1,−1]: x[i] − x[i+1] =
 * −1 everywhere, 4 outputs; stride 2 keeps outputs 0 and 2. */
START_TEST(test_hand_conv1d)
{
    ag_tensor *x = h_arr(AG_F64, 3, H_SHAPE(1, 1, 5), H_VALS(1, 2, 3, 4, 5));
    ag_tensor *w = h_arr(AG_F64, 3, H_SHAPE(1, 1, 2), H_VALS(1, -1));
    ag_tensor *y = ag_conv1d(x, w, NULL, NULL);
    ck_assert_shape(y, 3, H_SHAPE(1, 1, 4));
    ck_assert_values_f64(y, 4, H_VALS(-1, -1, -1, -1));
    ag_conv_opts o = ag_conv_defaults();
    o.stride[0] = 2;
    y = ag_conv1d(x, w, NULL, &o);
    ck_assert_shape(y, 3, H_SHAPE(1, 1, 2));
    ck_assert_values_f64(y, 2, H_VALS(-1, -1));
}
END_TEST

/* ---- against PyTorch ---- */

/* The formulas of tests/conv_reference.py. */
static double x_at(size_t i) { return sin(0.37 * (double)i + 0.1); }
static double w_at(size_t i) { return cos(0.53 * (double)i) / 2; }
static double b_at(size_t i) { return 0.1 * (double)i - 0.2; }
static double g_at(size_t i) { return sin(0.29 * (double)i + 1); }

static ag_tensor *filled(ag_dtype dt, int ndim, const int64_t *shape, double (*f)(size_t),
                         bool grad)
{
    ag_tensor *t = h_keep(ag_zeros(dt, ndim, shape));
    ck_assert_tensor(t);
    for (size_t i = 0; i < ag_numel(t); i++)
        ag_set_flat(t, i, f(i));
    if (grad)
        ck_assert(ag_set_requires_grad(t, true));
    return t;
}

static ag_tensor *run_ref(const conv_ref *r, ag_tensor *x, ag_tensor *w, ag_tensor *b)
{
    ag_conv_opts o = {.groups = r->groups};
    for (int d = 0; d < 2; d++) {
        o.stride[d] = r->stride[d];
        o.padding[d] = r->padding[d];
        o.dilation[d] = r->dilation[d];
        o.output_padding[d] = r->output_padding[d];
    }
    if (strcmp(r->op, "conv2d") == 0)
        return ag_conv2d(x, w, b, &o);
    if (strcmp(r->op, "conv1d") == 0)
        return ag_conv1d(x, w, b, &o);
    return ag_conv_transpose2d(x, w, b, &o);
}

/* Loop index: dtype (bit 0), whether the first-order kernels run (bit 1),
 * and whether the GEMMs go to the portable kernel instead of BLAS (bit 2;
 * the fixture restores the backend). */
START_TEST(test_pytorch_reference)
{
    ag_dtype dt = H_DTYPES[_i & 1];
    bool prev = ag_set_grad_kernels(_i & 2);
    if (_i & 4)
        ck_assert(ag_matmul_backend_set(AG_MATMUL_BUILTIN));
    /* Sums of up to 50 products of O(1) values: 1e-12 of f64 rounding and
     * 2e-5 of f32's leave two orders of magnitude. */
    double rtol = dt == AG_F64 ? 1e-12 : 2e-5, atol = dt == AG_F64 ? 1e-12 : 2e-5;
    for (size_t c = 0; c < H_COUNT(CONV_REFS); c++) {
        const conv_ref *r = &CONV_REFS[c];
        int nd = r->nsp + 2;
        ag_tensor *x = filled(dt, nd, r->xs, x_at, true), *w = filled(dt, nd, r->ws, w_at, true);
        int64_t cout = r->ys[1];
        ag_tensor *b = r->has_bias ? filled(dt, 1, &cout, b_at, true) : NULL;
        ag_tensor *y = run_ref(r, x, w, b);
        ck_assert_msg(y != NULL, "%s: %s", r->name, ag_last_error());
        ck_assert_msg(h_shape_is(y, nd, r->ys), "%s: wrong output shape", r->name);
        for (size_t i = 0; i < ag_numel(y); i++)
            ck_assert_msg(h_near(ag_get_flat(y, i), r->y[i], rtol, atol),
                          "%s: y[%zu] = %.17g, PyTorch %.17g", r->name, i, ag_get_flat(y, i),
                          r->y[i]);
        ag_tensor *g = filled(dt, nd, r->ys, g_at, false);
        ck_assert(ag_backward(ag_sum(ag_mul(y, g))));
        const ag_tensor *grads[3] = {ag_grad_of(x), ag_grad_of(w), b ? ag_grad_of(b) : NULL};
        const double *want[3] = {r->dx, r->dw, r->db};
        const char *names[3] = {"dx", "dw", "db"};
        for (int k = 0; k < 3; k++) {
            if (!want[k])
                continue;
            ck_assert_msg(grads[k] != NULL, "%s: no %s", r->name, names[k]);
            for (size_t i = 0; i < ag_numel(grads[k]); i++)
                ck_assert_msg(h_near(ag_get_flat(grads[k], i), want[k][i], rtol, atol),
                              "%s: %s[%zu] = %.17g, PyTorch %.17g", r->name, names[k], i,
                              ag_get_flat(grads[k], i), want[k][i]);
        }
        ag_tape_reset(NULL);
    }
    ag_set_grad_kernels(prev);
}
END_TEST

/* ---- finite differences ---- */

typedef struct conv_case {
    const char *op;
    ag_conv_opts o;
} conv_case;

static ag_tensor *f_conv(ag_tensor *const *in, void *ctx)
{
    const conv_case *c = ctx;
    if (strcmp(c->op, "conv2d") == 0)
        return ag_conv2d(in[0], in[1], in[2], &c->o);
    if (strcmp(c->op, "conv1d") == 0)
        return ag_conv1d(in[0], in[1], in[2], &c->o);
    return ag_conv_transpose2d(in[0], in[1], in[2], &c->o);
}

/* Every option at once, H and W different, on random f64 inputs. */
static const conv_case GRAD_CASES[] = {
    {"conv2d", {{2, 1}, {1, 2}, {2, 1}, {0, 0}, 2}},
    {"conv_transpose2d", {{2, 1}, {1, 0}, {1, 2}, {1, 1}, 2}},
    {"conv1d", {{2, 0}, {1, 0}, {2, 0}, {0, 0}, 2}},
};

static void grad_inputs(const conv_case *c, ag_rng *rng, ag_tensor **in)
{
    if (strcmp(c->op, "conv1d") == 0) {
        in[0] = h_rand(AG_F64, 3, H_SHAPE(2, 4, 7), -1, 1, rng);
        in[1] = h_rand(AG_F64, 3, H_SHAPE(4, 2, 3), -1, 1, rng);
        in[2] = h_rand(AG_F64, 1, H_SHAPE(4), -1, 1, rng);
    } else if (strcmp(c->op, "conv2d") == 0) {
        in[0] = h_rand(AG_F64, 4, H_SHAPE(2, 4, 5, 6), -1, 1, rng);
        in[1] = h_rand(AG_F64, 4, H_SHAPE(4, 2, 2, 3), -1, 1, rng);
        in[2] = h_rand(AG_F64, 1, H_SHAPE(4), -1, 1, rng);
    } else {
        in[0] = h_rand(AG_F64, 4, H_SHAPE(2, 4, 3, 3), -1, 1, rng);
        in[1] = h_rand(AG_F64, 4, H_SHAPE(4, 1, 2, 3), -1, 1, rng);
        in[2] = h_rand(AG_F64, 1, H_SHAPE(2), -1, 1, rng);
    }
    for (int i = 0; i < 3; i++)
        ck_assert(ag_set_requires_grad(in[i], true));
}

START_TEST(test_gradcheck)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    for (size_t c = 0; c < H_COUNT(GRAD_CASES); c++) {
        ag_tensor *in[3];
        grad_inputs(&GRAD_CASES[c], &rng, in);
        ck_assert_gradcheck(f_conv, (void *)&GRAD_CASES[c], 3, in);
    }
}
END_TEST

START_TEST(test_gradgradcheck)
{
    ag_rng rng;
    ag_rng_seed(&rng, 8);
    for (size_t c = 0; c < 2; c++) { /* conv2d and conv_transpose2d */
        ag_tensor *in[3];
        grad_inputs(&GRAD_CASES[c], &rng, in);
        ag_gradcheck_opts o = h_gradcheck_opts();
        ag_gradcheck_report rep;
        char buf[4096];
        ck_assert_msg(ag_gradgradcheck(f_conv, (void *)&GRAD_CASES[c], 3, in, &o, &rep), "%s: %s",
                      GRAD_CASES[c].op, h_report_str(&rep, buf, sizeof buf));
    }
}
END_TEST

/* ---- a realistic size, against a direct loop ---- */

/* LeNet's first layer: 64 images 1×28×28, 6 filters 5×5, padding 2 (so
 * 28×28 out), in f32 as a training step runs it. The reference sums in
 * double, straight from the definition. Under valgrind, 4 images. */
START_TEST(test_lenet_size_against_direct_loop)
{
    int64_t n = h_valgrind() ? 4 : 64, c = 1, h = 28, o = 6, k = 5, pad = 2;
    ag_tensor *x = filled(AG_F32, 4, H_SHAPE(n, c, h, h), x_at, false);
    ag_tensor *w = filled(AG_F32, 4, H_SHAPE(o, c, k, k), w_at, true);
    ag_tensor *b = filled(AG_F32, 1, H_SHAPE(o), b_at, true);
    ag_conv_opts opts = ag_conv_defaults();
    opts.padding[0] = opts.padding[1] = pad;
    ag_tensor *y = ag_conv2d(x, w, b, &opts);
    ck_assert_shape(y, 4, H_SHAPE(n, o, h, h));
    ag_tensor *g = filled(AG_F32, 4, H_SHAPE(n, o, h, h), g_at, false);
    ck_assert(ag_backward(ag_sum(ag_mul(y, g))));
    /* The inputs as f32 rounded them. */
    const float *X = ag_data(x), *W = ag_data(w), *B = ag_data(b), *G = ag_data(g);
    double dw[6 * 25] = {0};
    for (int64_t im = 0; im < n; im++)
        for (int64_t f = 0; f < o; f++)
            for (int64_t i = 0; i < h; i++)
                for (int64_t j = 0; j < h; j++) {
                    size_t yi = (size_t)(((im * o + f) * h + i) * h + j);
                    double s = B[f];
                    for (int64_t a = 0; a < k; a++)
                        for (int64_t e = 0; e < k; e++) {
                            int64_t r = i - pad + a, q = j - pad + e;
                            if (r < 0 || r >= h || q < 0 || q >= h)
                                continue;
                            double xv = X[(im * h + r) * h + q];
                            s += W[f * k * k + a * k + e] * xv;
                            dw[f * k * k + a * k + e] += G[yi] * xv;
                        }
                    /* 26 f32 products of values below 1 in magnitude. */
                    ck_assert_msg(h_near(ag_get_flat(y, yi), s, 1e-5, 1e-5),
                                  "y[%zu] = %.9g, direct loop %.9g", yi, ag_get_flat(y, yi), s);
                }
    /* dw sums n·28·28 products (50176 at n = 64): f32 accumulation in a
     * GEMM loses about √terms ulps relative to the sum's scale. */
    const ag_tensor *gw = ag_grad_of(w);
    for (size_t i = 0; i < 6 * 25; i++)
        ck_assert_msg(h_near(ag_get_flat(gw, i), dw[i], 1e-4, 1e-3 * (double)n),
                      "dw[%zu] = %.9g, direct loop %.9g", i, ag_get_flat(gw, i), dw[i]);
}
END_TEST

/* ---- zero-size batches and defaults ---- */

START_TEST(test_zero_batch)
{
    ag_tensor *x = h_param(AG_F64, 4, H_SHAPE(0, 2, 5, 5), NULL);
    ag_tensor *w = h_param(AG_F64, 4, H_SHAPE(3, 2, 3, 3), NULL);
    ag_tensor *b = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *y = ag_conv2d(x, w, b, NULL);
    ck_assert_shape(y, 4, H_SHAPE(0, 3, 3, 3));
    ck_assert(ag_backward(ag_sum(y)));
    /* No images: every weight and bias gradient is 0. */
    const ag_tensor *gw = ag_grad_of(w), *gb = ag_grad_of(b);
    for (size_t i = 0; i < ag_numel(gw); i++)
        ck_assert_f64(ag_get_flat(gw, i), 0);
    ck_assert_values_f64(gb, 3, H_VALS(0, 0, 0));
    ag_tensor *t = ag_conv_transpose2d(x, h_arr(AG_F64, 4, H_SHAPE(2, 1, 2, 2), NULL), NULL, NULL);
    ck_assert_shape(t, 4, H_SHAPE(0, 1, 6, 6));
    ck_assert_shape(ag_conv1d(h_arr(AG_F64, 3, H_SHAPE(0, 1, 4), NULL),
                              h_arr(AG_F64, 3, H_SHAPE(2, 1, 2), NULL), NULL, NULL),
                    3, H_SHAPE(0, 2, 3));
}
END_TEST

START_TEST(test_defaults)
{
    ag_conv_opts d = ag_conv_defaults();
    ck_assert_int_eq(d.stride[0], 1);
    ck_assert_int_eq(d.stride[1], 1);
    ck_assert_int_eq(d.padding[0], 0);
    ck_assert_int_eq(d.padding[1], 0);
    ck_assert_int_eq(d.dilation[0], 1);
    ck_assert_int_eq(d.dilation[1], 1);
    ck_assert_int_eq(d.output_padding[0], 0);
    ck_assert_int_eq(d.output_padding[1], 0);
    ck_assert_int_eq(d.groups, 1);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors)
{
    ag_tensor *x = h_arr(AG_F64, 4, H_SHAPE(2, 3, 8, 8), NULL);
    ag_tensor *w = h_arr(AG_F64, 4, H_SHAPE(4, 3, 3, 3), NULL);
    ag_conv_opts o = ag_conv_defaults();

    /* An NHWC batch for a 1-channel kernel: the expected layout is named. */
    ag_tensor *nhwc = h_arr(AG_F64, 4, H_SHAPE(64, 28, 28, 1), NULL);
    ag_tensor *w1 = h_arr(AG_F64, 4, H_SHAPE(6, 1, 5, 5), NULL);
    ck_assert_ptr_null(ag_conv2d(nhwc, w1, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv2d: x (64,28,28,1)");
    ck_assert_error(AG_ERR_SHAPE, "weight (6,1,5,5)");
    ck_assert_error(AG_ERR_SHAPE, "expected (N, 1, H, W)");
    ck_assert_error(AG_ERR_SHAPE, "NCHW");
    ag_error_clear();

    /* Channels that do not match. */
    ck_assert_ptr_null(ag_conv2d(x, h_arr(AG_F64, 4, H_SHAPE(4, 2, 3, 3), NULL), NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv2d: x (2,3,8,8) does not fit weight (4,2,3,3) with groups 1: expected (N, 2, H, W)");
    ag_error_clear();
    o.groups = 2;
    ck_assert_ptr_null(ag_conv2d(x, h_arr(AG_F64, 4, H_SHAPE(4, 1, 3, 3), NULL), NULL, &o));
    ck_assert_error(AG_ERR_SHAPE, "expected (N, 2, H, W)");
    ag_error_clear();

    /* Groups that do not divide the channels. */
    o.groups = 3;
    ck_assert_ptr_null(ag_conv2d(x, h_arr(AG_F64, 4, H_SHAPE(4, 1, 3, 3), NULL), NULL, &o));
    ck_assert_error(AG_ERR_VALUE, "conv2d: groups 3 does not divide the 4 output channels of weight (4,1,3,3)");
    ag_error_clear();
    o.groups = 0;
    ck_assert_ptr_null(ag_conv2d(x, w, NULL, &o));
    ck_assert_error(AG_ERR_VALUE, "groups 0");
    ag_error_clear();
    o.groups = 2;
    ck_assert_ptr_null(ag_conv_transpose2d(x, h_arr(AG_F64, 4, H_SHAPE(3, 2, 3, 3), NULL), NULL, &o));
    ck_assert_error(AG_ERR_VALUE, "conv_transpose2d: groups 2 does not divide the 3 input channels of weight (3,2,3,3)");
    ag_error_clear();
    o = ag_conv_defaults();

    /* A kernel larger than the padded input. */
    ag_tensor *big = h_arr(AG_F64, 4, H_SHAPE(4, 3, 9, 3), NULL);
    ck_assert_ptr_null(ag_conv2d(x, big, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv2d: x (2,3,8,8) is 8 in H with padding 0, smaller than the kernel of weight (4,3,9,3) (extent 9");
    ag_error_clear();
    o.padding[0] = 1; /* 10 rows: fits */
    ck_assert_ptr_nonnull(ag_conv2d(x, big, NULL, &o));
    o.dilation[1] = 4; /* extent 9 in W against 8 */
    ck_assert_ptr_null(ag_conv2d(x, big, NULL, &o));
    ck_assert_error(AG_ERR_SHAPE, "in W with padding 0");
    ck_assert_error(AG_ERR_SHAPE, "dilation 4");
    ag_error_clear();
    o = ag_conv_defaults();

    /* Zero or negative stride, negative padding, zero dilation. */
    for (int i = 0; i < 4; i++) {
        o = ag_conv_defaults();
        if (i == 0)
            o.stride[0] = 0;
        else if (i == 1)
            o.stride[1] = -1;
        else if (i == 2)
            o.padding[0] = -1;
        else
            o.dilation[1] = 0;
        ck_assert_ptr_null(ag_conv2d(x, w, NULL, &o));
        ck_assert_error(AG_ERR_VALUE, "conv2d: stride");
        ck_assert_error(AG_ERR_VALUE, i == 0 ? "stride 0" : i == 1 ? "stride -1" : i == 2 ? "padding -1" : "dilation 0");
        ag_error_clear();
    }
    o = ag_conv_defaults();
    o.output_padding[0] = -1;
    ck_assert_ptr_null(ag_conv_transpose2d(x, h_arr(AG_F64, 4, H_SHAPE(3, 2, 3, 3), NULL), NULL, &o));
    ck_assert_error(AG_ERR_VALUE, "output_padding");
    ag_error_clear();
    /* output_padding must be below the stride or the dilation. */
    o = ag_conv_defaults();
    o.stride[0] = 2;
    o.output_padding[0] = 2;
    ck_assert_ptr_null(ag_conv_transpose2d(x, h_arr(AG_F64, 4, H_SHAPE(3, 2, 3, 3), NULL), NULL, &o));
    ck_assert_error(AG_ERR_VALUE, "conv_transpose2d: output_padding 2 in H must be smaller than the stride 2 or the dilation 1");
    ag_error_clear();
    /* Padding that eats the whole transposed output: (1 − 1)·1 − 2 + 1 = −1 rows. */
    o = ag_conv_defaults();
    o.padding[0] = 1;
    ck_assert_ptr_null(ag_conv_transpose2d(h_arr(AG_F64, 4, H_SHAPE(1, 1, 1, 1), NULL),
                                           h_arr(AG_F64, 4, H_SHAPE(1, 1, 1, 1), NULL), NULL, &o));
    ck_assert_error(AG_ERR_SHAPE, "conv_transpose2d: x (1,1,1,1) and weight (1,1,1,1) with stride 1, padding 1 give an output of size -1 in H");
    ag_error_clear();
    o = ag_conv_defaults();

    /* Wrong ranks. */
    ag_tensor *x3 = h_arr(AG_F64, 3, H_SHAPE(3, 8, 8), NULL);
    ck_assert_ptr_null(ag_conv2d(x3, w, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv2d: x (3,8,8) and weight (4,3,3,3): expected x (N, C, H, W) and weight (Cout, Cin/groups, kH, kW)");
    ag_error_clear();
    ck_assert_ptr_null(ag_conv1d(x, w, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv1d: x (2,3,8,8) and weight (4,3,3,3): expected x (N, C, L)");
    ag_error_clear();
    ck_assert_ptr_null(ag_conv1d(x3, h_arr(AG_F64, 3, H_SHAPE(2, 4, 3), NULL), NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv1d: x (3,8,8) does not fit weight (2,4,3) with groups 1: expected (N, 4, L)");
    ag_error_clear();

    /* A bias of the wrong length or rank. */
    ck_assert_ptr_null(ag_conv2d(x, w, h_arr(AG_F64, 1, H_SHAPE(5), NULL), NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv2d: bias (5) for weight (4,3,3,3) with groups 1: expected (4)");
    ag_error_clear();
    ck_assert_ptr_null(ag_conv2d(x, w, h_arr(AG_F64, 2, H_SHAPE(1, 4), NULL), NULL));
    ck_assert_error(AG_ERR_SHAPE, "bias (1,4)");
    ag_error_clear();
    /* The transpose's bias has Cout = weight's dim 1 × groups channels. */
    ck_assert_ptr_null(ag_conv_transpose2d(x, h_arr(AG_F64, 4, H_SHAPE(3, 2, 3, 3), NULL),
                                           h_arr(AG_F64, 1, H_SHAPE(3), NULL), NULL));
    ck_assert_error(AG_ERR_SHAPE, "conv_transpose2d: bias (3) for weight (3,2,3,3) with groups 1: expected (2)");
    ag_error_clear();

    /* Mixed dtypes, through ag_check_inputs. */
    ck_assert_ptr_null(ag_conv2d(x, h_arr(AG_F32, 4, H_SHAPE(4, 3, 3, 3), NULL), NULL, NULL));
    ck_assert_error(AG_ERR_DTYPE, "conv2d");
    ag_error_clear();
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = h_tcase(s, "values", H_TIMEOUT);
    tcase_add_loop_test(tc, test_hand_3x3_2x2, 0, 2);
    tcase_add_loop_test(tc, test_hand_stride_padding_dilation, 0, 2);
    tcase_add_test(tc, test_hand_groups);
    tcase_add_loop_test(tc, test_hand_transpose, 0, 2);
    tcase_add_test(tc, test_hand_conv1d);
    tcase_add_loop_test(tc, test_pytorch_reference, 0, 8);
    tcase_add_test(tc, test_zero_batch);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_errors);
    tc = h_tcase(s, "gradients", H_TIMEOUT);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_gradgradcheck);
    tc = h_tcase(s, "realistic", H_TIMEOUT);
    tcase_add_test(tc, test_lenet_size_against_direct_loop);
    return s;
}

H_MAIN(conv_suite)

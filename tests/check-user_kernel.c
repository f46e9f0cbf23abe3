/* SPDX-License-Identifier: MIT */
/* check-user_kernel.c — a user's op gets what a built-in gets: a
 * first-order kernel beside its rule, run by first-order sweeps, and the
 * same check of kernel against rule in ag_gradcheck_op.
 *
 * The op is y = x³ (rule dx += 3 x² g, written with ops); its kernel
 * writes the same product with loops. A second op whose kernel is wrong
 * (2.5 x² g) must fail the check though its rule is right. Its own binary,
 * so that no registry sweep of another suite meets the wrong kernel. */
#include "harness.h"

#include <stdio.h>

static const ag_op *cube_op, *bad_op;
static int kernel_calls;

/* y = x³ in the input's dtype. */
static ag_tensor *cube_apply_as(const ag_op *op, ag_tensor *const *in)
{
    ag_tensor *x = in[0];
    if (!ag_check_inputs(ag_op_info(op)->name, 1, in))
        return NULL;
    ag_tensor *y = ag_op_result(op, ag_tensor_dtype(x), ag_ndim(x), ag_shape(x), 1, in, NULL, 0);
    if (!y)
        return NULL;
    size_t n = ag_numel(x);
    if (ag_tensor_dtype(x) == AG_F32) {
        const float *xv = ag_data_const(x);
        float *yv = ag_data(y);
        for (size_t i = 0; i < n; i++)
            yv[i] = xv[i] * xv[i] * xv[i];
    } else {
        const double *xv = ag_data_const(x);
        double *yv = ag_data(y);
        for (size_t i = 0; i < n; i++)
            yv[i] = xv[i] * xv[i] * xv[i];
    }
    return y;
}

static ag_tensor *cube_apply(ag_tensor *const *in, const void *params)
{
    (void)params;
    return cube_apply_as(cube_op, in);
}

static ag_tensor *bad_apply(ag_tensor *const *in, const void *params)
{
    (void)params;
    return cube_apply_as(bad_op, in);
}

static bool cube_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = ag_node_input(y, 0);
    return (gin[0] = ag_mul(g, ag_mul_scalar(ag_mul(x, x), 3.0))) != NULL;
}

/* dst += c x² g (or dst = ... on a fresh buffer), in x's dtype. */
static bool kernel_with(double c, ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    kernel_calls++;
    if (!dst[0].x)
        return true;
    ag_tensor *x = ag_node_input(y, 0);
    void *d = ag_grad_dst_data(&dst[0]);
    if (!d)
        return false;
    size_t n = ag_numel(x);
    bool acc = dst[0].accumulate;
    if (ag_tensor_dtype(x) == AG_F32) {
        const float *xv = ag_data_const(x), *gv = ag_data_const(g);
        float *dv = d;
        for (size_t i = 0; i < n; i++) {
            float v = (float)c * xv[i] * xv[i] * gv[i];
            dv[i] = acc ? dv[i] + v : v;
        }
    } else {
        const double *xv = ag_data_const(x), *gv = ag_data_const(g);
        double *dv = d;
        for (size_t i = 0; i < n; i++) {
            double v = c * xv[i] * xv[i] * gv[i];
            dv[i] = acc ? dv[i] + v : v;
        }
    }
    return true;
}

static bool cube_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    return kernel_with(3.0, y, g, dst);
}

static bool bad_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    return kernel_with(2.5, y, g, dst);
}

/* Each test registers the ops again: the harness's teardown ends with
 * ag_shutdown, which empties the registry. */
static void register_ops(void)
{
    cube_op = ag_op_register(&(ag_op_def){
        .name = "user_cube",
        .n_inputs = 1,
        .forward = cube_apply,
        .vjp = cube_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += 3 x^2 g",
        .kernel = cube_kernel,
    });
    bad_op = ag_op_register(&(ag_op_def){
        .name = "user_cube_bad_kernel",
        .n_inputs = 1,
        .forward = bad_apply,
        .vjp = cube_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .kernel = bad_kernel,
    });
    ck_assert_msg(cube_op && bad_op, "%s", ag_last_error());
}

START_TEST(test_user_kernel_passes_the_sweep)
{
    register_ops();
    ag_gradcheck_report rep;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ck_assert_msg(ag_gradcheck_op(cube_op, seed, NULL, &rep), "seed %llu: %s",
                      (unsigned long long)seed, ag_last_error());
        ck_assert(rep.kernel_checked);
        ck_assert_msg(rep.kernel_max_err <= 1e-12 && rep.kernel_max_err_f32 <= 1e-5,
                      "kernel vs rule: %g (f64), %g (f32)", rep.kernel_max_err,
                      rep.kernel_max_err_f32);
    }
    ck_assert_ok();
}
END_TEST

START_TEST(test_wrong_user_kernel_fails_the_sweep)
{
    register_ops();
    ag_gradcheck_report rep;
    ck_assert(!ag_gradcheck_op(bad_op, 1, NULL, &rep));
    ck_assert_ok(); /* a failed check, not an error */
    ck_assert(rep.kernel_checked);
    /* The kernel is off by a sixth of the rule: far beyond the bound, and
     * the first-order gradient (the kernel's) disagrees with the finite
     * differences too. */
    ck_assert_msg(rep.kernel_max_err > 1e-3, "kernel vs rule: %g", rep.kernel_max_err);
    ck_assert(!rep.inputs[0].pass);
    /* With the kernels off the gradient is the rule's, which is right; the
     * comparison of kernel and rule still fails the op. */
    bool prev = ag_set_grad_kernels(false);
    ck_assert(!ag_gradcheck_op(bad_op, 1, NULL, &rep));
    ag_set_grad_kernels(prev);
    ck_assert_ok();
    ck_assert(rep.inputs[0].pass);
    ck_assert_msg(rep.kernel_max_err > 1e-3, "kernel vs rule: %g", rep.kernel_max_err);
}
END_TEST

START_TEST(test_first_order_sweep_runs_the_user_kernel)
{
    register_ops();
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(-1.5, 0.5, 2.0));
    ag_tensor *in[1] = {x};
    int before = kernel_calls;
    ag_tensor *loss = ag_sum(ag_mul_scalar(ag_op_apply(cube_op, in, NULL), 2.0));
    ck_assert(ag_backward(loss));
    ck_assert_int_eq(kernel_calls, before + 1);
    const double xs[] = {-1.5, 0.5, 2.0};
    for (int i = 0; i < 3; i++)
        ck_assert_f64(h_grad_at(x, (size_t)i), 2.0 * 3.0 * xs[i] * xs[i]);
    /* With the kernels off the rule runs, to the same gradient. */
    ag_tape_reset(NULL);
    ag_zero_grad(x);
    bool prev = ag_set_grad_kernels(false);
    loss = ag_sum(ag_mul_scalar(ag_op_apply(cube_op, in, NULL), 2.0));
    ck_assert(ag_backward(loss));
    ag_set_grad_kernels(prev);
    ck_assert_int_eq(kernel_calls, before + 1);
    for (int i = 0; i < 3; i++)
        ck_assert_f64(h_grad_at(x, (size_t)i), 2.0 * 3.0 * xs[i] * xs[i]);
}
END_TEST

/* An elementwise user op needs no forward function: its maps are the forward,
 * as for the built-in unary ops. y = x³ again, run by ag_op_apply. */
static void cube_f32(size_t n, const float *restrict x, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * x[i] * x[i];
}

static void cube_f64(size_t n, const double *restrict x, double *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * x[i] * x[i];
}

START_TEST(test_user_op_by_maps)
{
    const ag_op *op = ag_op_register(&(ag_op_def){
        .name = "user_cube_map",
        .n_inputs = 1,
        .vjp = cube_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .kernel = cube_kernel,
        .map_f32 = cube_f32,
        .map_f64 = cube_f64,
    });
    ck_assert_msg(op != NULL, "%s", ag_last_error());
    ag_gradcheck_report rep;
    ck_assert_msg(ag_gradcheck_op(op, 5, NULL, &rep), "%s", ag_last_error());
    ck_assert(rep.kernel_checked && rep.f32_checked);
    ag_tensor *x = h_param(AG_F32, 1, H_SHAPE(2), H_VALS(1.5, -2.0));
    ag_tensor *y = ag_op_apply(op, &x, NULL);
    ck_assert_tensor(y);
    ck_assert(ag_node_op(y) == op);
    ck_assert(ag_get_flat(y, 0) == 3.375 && ag_get_flat(y, 1) == -8.0);
    /* One map is not enough: which dtype would the other run in? */
    ck_assert(ag_op_register(&(ag_op_def){.name = "user_half_map", .n_inputs = 1,
                                          .vjp = cube_vjp, .domain_lo = -1, .domain_hi = 1,
                                          .map_f64 = cube_f64}) == NULL);
    ck_assert_error(AG_ERR_VALUE, "map_f32 and map_f64");
    ag_error_clear();
}
END_TEST

/* A binary elementwise user op by its rows: y = a² + b², broadcasting done
 * by the library; the rule sums the gradients back to each input's shape. */
static void sq_sum_f32(size_t m, size_t n, const float *a, ptrdiff_t sa, ptrdiff_t ra,
                       const float *b, ptrdiff_t sb, ptrdiff_t rb, float *y)
{
    for (size_t r = 0; r < m; r++, a += ra, b += rb, y += n)
        for (size_t i = 0; i < n; i++)
            y[i] = a[(ptrdiff_t)i * sa] * a[(ptrdiff_t)i * sa] +
                   b[(ptrdiff_t)i * sb] * b[(ptrdiff_t)i * sb];
}

static void sq_sum_f64(size_t m, size_t n, const double *a, ptrdiff_t sa, ptrdiff_t ra,
                       const double *b, ptrdiff_t sb, ptrdiff_t rb, double *y)
{
    for (size_t r = 0; r < m; r++, a += ra, b += rb, y += n)
        for (size_t i = 0; i < n; i++)
            y[i] = a[(ptrdiff_t)i * sa] * a[(ptrdiff_t)i * sa] +
                   b[(ptrdiff_t)i * sb] * b[(ptrdiff_t)i * sb];
}

static bool sq_sum_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    for (int k = 0; k < 2; k++) {
        ag_tensor *x = ag_node_input(y, k);
        if (ag_requires_grad(x) &&
            !(gin[k] = ag_sum_to(ag_mul(g, ag_mul_scalar(x, 2.0)), ag_ndim(x), ag_shape(x))))
            return false;
    }
    return true;
}

START_TEST(test_user_op_by_rows)
{
    const ag_op *op = ag_op_register(&(ag_op_def){
        .name = "user_sq_sum",
        .n_inputs = 2,
        .vjp = sq_sum_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rows_f32 = sq_sum_f32,
        .rows_f64 = sq_sum_f64,
    });
    ck_assert_msg(op != NULL, "%s", ag_last_error());
    ag_gradcheck_report rep;
    for (uint64_t seed = 1; seed <= 4; seed++)
        ck_assert_msg(ag_gradcheck_op(op, seed, NULL, &rep), "seed %llu: %s",
                      (unsigned long long)seed, ag_last_error());
    /* (2,3) against (3): the row of b repeats. */
    ag_tensor *in[2] = {h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, -1, 0.5, 0)),
                        h_param(AG_F64, 1, H_SHAPE(3), H_VALS(2, -1, 0.25))};
    ag_tensor *y = ag_op_apply(op, in, NULL);
    ck_assert_tensor(y);
    ck_assert_shape(y, 2, H_SHAPE(2, 3));
    const double want[6] = {5, 5, 9.0625, 5, 1.25, 0.0625};
    for (size_t i = 0; i < 6; i++)
        ck_assert_f64(ag_get_flat(y, i), want[i]);
}
END_TEST

START_TEST(test_kernel_without_rule_refused)
{
    ck_assert(ag_op_register(&(ag_op_def){.name = "user_kernel_only", .n_inputs = 1,
                                          .forward = cube_apply, .domain_lo = -1, .domain_hi = 1,
                                          .flags = AG_OP_COMPOSITE, .kernel = cube_kernel}) == NULL);
    ck_assert_error(AG_ERR_VALUE, "a kernel needs a vjp rule");
    ag_error_clear();
}
END_TEST

static Suite *user_kernel_suite(void)
{
    Suite *s = suite_create("user_kernel");
    TCase *tc = h_tcase(s, "user kernels", H_TIMEOUT);
    tcase_add_test(tc, test_user_kernel_passes_the_sweep);
    tcase_add_test(tc, test_wrong_user_kernel_fails_the_sweep);
    tcase_add_test(tc, test_first_order_sweep_runs_the_user_kernel);
    tcase_add_test(tc, test_kernel_without_rule_refused);
    tcase_add_test(tc, test_user_op_by_maps);
    tcase_add_test(tc, test_user_op_by_rows);
    return s;
}

H_MAIN(user_kernel_suite)

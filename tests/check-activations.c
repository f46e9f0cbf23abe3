/* SPDX-License-Identifier: MIT */
/* check-activations.c — gelu, gelu_tanh, silu, leaky_relu, elu, hardtanh,
 * sin, cos, erf, log1p, expm1, rsub, rdiv (ops/unary.c) and var/std
 * (ops/reduce.c).
 *
 * Where the expected values come from:
 *   - PyTorch: tests/activations_reference.py evaluates every function and
 *     its first and second derivatives with torch.autograd in f64 on the
 *     grid -3..3 step 0.25; its output is committed as
 *     tests/activations_fixture.h. The grid holds the kinks (0, the bounds
 *     of hardtanh), so the subgradients there are PyTorch's.
 *   - Tables and hand derivations: Φ(1), φ(1), erf(0.5), e^-1, and the
 *     series of log1p and expm1 at 1e-10.
 *   - var/std: [1,2,3,4] has mean 5/2 and squares summing to 5, so the
 *     biased variance is 5/4 and the unbiased 5/3; its gradient
 *     2(x - mean)/(N - correction) by hand.
 *   - Finite differences: gradcheck and gradgradcheck in f64.
 * f32 is compared with the same references at f32's tolerance. */
#include "harness.h"

#include "activations_fixture.h"

#include <float.h>

/* Applies the op named by a fixture row (its parameters as the row gives
 * them) to x. */
static ag_tensor *apply_named(const char *name, const double *p, ag_tensor *x)
{
    if (strcmp(name, "gelu") == 0)
        return ag_gelu(x);
    if (strcmp(name, "gelu_tanh") == 0)
        return ag_gelu_tanh(x);
    if (strcmp(name, "silu") == 0)
        return ag_silu(x);
    if (strcmp(name, "leaky_relu") == 0)
        return ag_leaky_relu(x, p[0]);
    if (strcmp(name, "elu") == 0)
        return ag_elu(x, p[0]);
    if (strcmp(name, "hardtanh") == 0)
        return ag_hardtanh(x, p[0], p[1]);
    if (strcmp(name, "sin") == 0)
        return ag_sin(x);
    if (strcmp(name, "cos") == 0)
        return ag_cos(x);
    if (strcmp(name, "erf") == 0)
        return ag_erf(x);
    if (strcmp(name, "log1p") == 0)
        return ag_log1p(x);
    if (strcmp(name, "expm1") == 0)
        return ag_expm1(x);
    if (strcmp(name, "rsub") == 0)
        return ag_rsub(x, p[0]);
    if (strcmp(name, "rdiv") == 0)
        return ag_rdiv(x, p[0]);
    ck_abort_msg("no op %s in the test's table", name);
    return NULL;
}

/* Where the second derivative is a convention rather than a value: at a
 * kink of the first derivative. PyTorch's elu takes the right side's 0 at
 * x = 0 (its double backward tests x < 0 where its backward tests x <= 0);
 * the library's rule, where(x > 0, g, g·α·e^x), differentiates to the left
 * side's α there. leaky_relu and hardtanh are piecewise linear: 0 on both
 * sides, so nothing to skip. */
static bool second_derivative_is_convention(const act_reference *r, double x)
{
    return strcmp(r->name, "elu") == 0 && x == 0;
}

/* Values, first and second derivatives of every fixture row in dtype dt:
 * dy from one create_graph sweep of sum(f(x)), d2y from the gradient of
 * sum(dy) (the functions are elementwise, so these are the diagonals). */
static void check_reference(ag_dtype dt, double rtol, double atol)
{
    for (size_t c = 0; c < H_COUNT(ACT_REFERENCE); c++) {
        const act_reference *r = &ACT_REFERENCE[c];
        int64_t n = (int64_t)r->n;
        ag_tensor *x = h_param(dt, 1, &n, r->x);
        ag_tensor *y = apply_named(r->name, r->params, x);
        ck_assert_tensor(y);
        ag_tensor *dy = NULL, *d2y = NULL;
        ck_assert_msg(ag_grad(1, (ag_tensor *[]){ag_sum(y)}, NULL, 1, &x, AG_GRAD_CREATE_GRAPH,
                              &dy),
                      "%s: %s", r->name, ag_last_error());
        /* A piecewise-linear function's derivative is constant in x. */
        ck_assert_msg(ag_grad(1, (ag_tensor *[]){ag_sum(dy)}, NULL, 1, &x, AG_GRAD_ALLOW_UNUSED,
                              &d2y),
                      "%s: %s", r->name, ag_last_error());
        for (size_t i = 0; i < r->n; i++) {
            double xi = r->x[i];
            ck_assert_msg(h_near(ag_get_flat(y, i), r->y[i], rtol, atol),
                          "%s(%g; %g, %g) = %.17g, PyTorch %.17g", r->name, xi, r->params[0],
                          r->params[1], ag_get_flat(y, i), r->y[i]);
            ck_assert_msg(h_near(ag_get_flat(dy, i), r->dy[i], rtol, atol),
                          "%s'(%g; %g, %g) = %.17g, PyTorch %.17g", r->name, xi, r->params[0],
                          r->params[1], ag_get_flat(dy, i), r->dy[i]);
            if (second_derivative_is_convention(r, xi))
                continue;
            ck_assert_msg(h_near(ag_get_flat(d2y, i), r->d2y[i], rtol, atol),
                          "%s''(%g; %g, %g) = %.17g, PyTorch %.17g", r->name, xi, r->params[0],
                          r->params[1], ag_get_flat(d2y, i), r->d2y[i]);
        }
        ag_tape_reset(NULL);
    }
}

/* f64: libm functions accurate to an ulp or two, composed a few times;
 * 1e-12 relative (and 1e-14 absolute, for the values near 0). */
START_TEST(test_pytorch_reference_f64)
{
    check_reference(AG_F64, H_RTOL_F64, H_ATOL_F64);
}
END_TEST

/* f32 against the same f64 reference: the inputs are exact in f32 (the
 * grid's multiples of 1/4), so the error is f32's own rounding. The
 * second derivatives compose up to a dozen f32 roundings of O(10) values
 * (gelu_tanh's), which stays below 1e-5 relative plus 1e-5 absolute. */
START_TEST(test_pytorch_reference_f32)
{
    check_reference(AG_F32, 1e-5, 1e-5);
}
END_TEST

/* The first-order kernels (gelu, gelu_tanh, silu, leaky_relu, elu) give
 * what the rules give, on the grid (kinks included) and with a gradient
 * already there to add to. */
START_TEST(test_kernels_match_rules)
{
    static const char *const with_kernel[] = {"gelu", "gelu_tanh", "silu", "leaky_relu", "elu"};
    for (size_t c = 0; c < H_COUNT(ACT_REFERENCE); c++) {
        const act_reference *r = &ACT_REFERENCE[c];
        bool listed = false;
        for (size_t k = 0; k < H_COUNT(with_kernel); k++)
            listed = listed || strcmp(r->name, with_kernel[k]) == 0;
        if (!listed)
            continue;
        for (int d = 0; d < 2; d++) {
            ag_dtype dt = H_DTYPES[d];
            int64_t n = (int64_t)r->n;
            ag_tensor *x = h_param(dt, 1, &n, r->x);
            double got[2][25];
            for (int kernels = 0; kernels < 2; kernels++) {
                bool prev = ag_set_grad_kernels(kernels);
                ag_zero_grad(x);
                for (int sweep = 0; sweep < 2; sweep++) /* overwrite, then add */
                    ck_assert(ag_backward(ag_sum(apply_named(r->name, r->params, x))));
                ag_set_grad_kernels(prev);
                for (size_t i = 0; i < r->n; i++)
                    got[kernels][i] = h_grad_at(x, i);
                ag_tape_reset(NULL);
            }
            for (size_t i = 0; i < r->n; i++) {
                ck_assert_near(got[1][i], got[0][i], h_rtol(dt), h_atol(dt));
                ck_assert_near(got[1][i], 2 * r->dy[i], h_rtol(dt), h_atol(dt));
            }
        }
    }
}
END_TEST

/* Single values from tables and from the definitions. */
START_TEST(test_hand_values)
{
    const double phi1 = 0.8413447460685429;   /* Φ(1), normal table */
    const double pdf1 = 0.24197072451914337;  /* φ(1) = e^(-1/2)/√(2π) */
    const double erf_half = 0.5204998778130465; /* erf(0.5), table */
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        double rt = h_rtol(dt), at = h_atol(dt);
        ag_tensor *one = h_pscalar(dt, 1.0);
        /* gelu(1) = 1·Φ(1), gelu'(1) = Φ(1) + 1·φ(1) */
        ag_tensor *y = ag_gelu(one);
        ck_assert_near(ag_get_flat(y, 0), phi1, rt, at);
        ck_assert(ag_backward(y));
        ck_assert_near(h_grad_at(one, 0), phi1 + pdf1, rt, at);
        /* silu(1) = 1/(1 + e^-1), silu'(1) = σ(1)(1 + (1 - σ(1))) */
        double s1 = 1 / (1 + exp(-1.0));
        ag_zero_grad(one);
        y = ag_silu(one);
        ck_assert_near(ag_get_flat(y, 0), s1, rt, at);
        ck_assert(ag_backward(y));
        ck_assert_near(h_grad_at(one, 0), s1 * (2 - s1), rt, at);
        /* gelu_tanh(1) from its definition, 0.5(1 + tanh(√(2/π)·1.044715)) */
        double t = tanh(sqrt(2 / (4 * atan(1.0))) * 1.044715);
        ck_assert_near(ag_get_flat(ag_gelu_tanh(one), 0), 0.5 * (1 + t), rt, at);
        /* elu(-1, α=1) = e^-1 - 1; elu'(-1) = e^-1 */
        ag_tensor *m1 = h_pscalar(dt, -1.0);
        y = ag_elu(m1, 1.0);
        ck_assert_near(ag_get_flat(y, 0), exp(-1.0) - 1, rt, at);
        ck_assert(ag_backward(y));
        ck_assert_near(h_grad_at(m1, 0), exp(-1.0), rt, at);
        /* erf(0.5), erf'(0.5) = 2/√π e^(-1/4) */
        ag_tensor *half = h_pscalar(dt, 0.5);
        y = ag_erf(half);
        ck_assert_near(ag_get_flat(y, 0), erf_half, rt, at);
        ck_assert(ag_backward(y));
        ck_assert_near(h_grad_at(half, 0), 2 / sqrt(4 * atan(1.0)) * exp(-0.25), rt, at);
        /* leaky_relu(-2, 0.1) = -0.2; hardtanh clips; rsub, rdiv */
        ag_tensor *m2 = h_scalar(dt, -2.0);
        ck_assert_near(ag_get_flat(ag_leaky_relu(m2, 0.1), 0), -0.2, rt, at);
        ck_assert_near(ag_get_flat(ag_hardtanh(m2, -1, 1), 0), -1, rt, at);
        ck_assert_near(ag_get_flat(ag_rsub(m2, 3), 0), 5, rt, at);
        ck_assert_near(ag_get_flat(ag_rdiv(m2, 3), 0), -1.5, rt, at);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* log1p and expm1 keep the digits that 1 + x and e^x - 1 round away:
 * log1p(x) = x - x²/2 + ..., expm1(x) = x + x²/2 + ...; at x = 1e-10 the
 * series' first two terms are exact to 1e-30. The naive forms are off by
 * 8e-8 relative in f64 and give 0 in f32. */
START_TEST(test_log1p_expm1_small)
{
    const double x = 1e-10;
    ag_tensor *a = h_scalar(AG_F64, x);
    ck_assert_near(ag_get_flat(ag_log1p(a), 0), x - x * x / 2, 1e-15, 0);
    ck_assert_near(ag_get_flat(ag_expm1(a), 0), x + x * x / 2, 1e-15, 0);
    ag_tensor *b = h_scalar(AG_F32, x);
    double xf = (double)(float)x;
    ck_assert_near(ag_get_flat(ag_log1p(b), 0), xf, 1e-6, 0);
    ck_assert_near(ag_get_flat(ag_expm1(b), 0), xf, 1e-6, 0);
    /* log1p's domain ends at -1: -inf there, NaN below, as C's log1p. */
    ag_tensor *edge = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(-1, -2));
    ag_tensor *l = ag_log1p(edge);
    ck_assert(isinf(ag_get_flat(l, 0)) && ag_get_flat(l, 0) < 0);
    ck_assert(isnan(ag_get_flat(l, 1)));
}
END_TEST

/* Far out, where naive forms overflow: silu(-1000) is -0 (σ via e^x),
 * gelu of ±40 is 0 and 40, elu(-1000) is -α. */
START_TEST(test_extremes)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        ag_tensor *x = h_param(dt, 1, H_SHAPE(2), H_VALS(-1000, 1000));
        ag_tensor *s = ag_silu(x);
        ck_assert_near(ag_get_flat(s, 0), 0, 0, 0);
        ck_assert_near(ag_get_flat(s, 1), 1000, 0, 0);
        ck_assert(ag_backward(ag_sum(s)));
        ck_assert_near(h_grad_at(x, 0), 0, 0, 0);
        ck_assert_near(h_grad_at(x, 1), 1, 0, 0);
        ag_tensor *e = ag_elu(x, 2.0);
        ck_assert_near(ag_get_flat(e, 0), -2, 0, 0);
        ag_tensor *g = ag_gelu(h_arr(dt, 1, H_SHAPE(2), H_VALS(-40, 40)));
        ck_assert_near(ag_get_flat(g, 0), 0, 0, 0);
        ck_assert_near(ag_get_flat(g, 1), 40, 0, 0);
        ag_tensor *gt = ag_gelu_tanh(h_arr(dt, 1, H_SHAPE(2), H_VALS(-40, 40)));
        ck_assert_near(ag_get_flat(gt, 0), 0, 0, 0);
        ck_assert_near(ag_get_flat(gt, 1), 40, 0, 0);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* A zero-size batch gives an empty result of its shape and an empty
 * gradient, for every op of the table. */
START_TEST(test_zero_size)
{
    for (size_t c = 0; c < H_COUNT(ACT_REFERENCE); c++) {
        const act_reference *r = &ACT_REFERENCE[c];
        ag_tensor *x = h_keep(ag_zeros(AG_F32, 2, H_SHAPE(0, 3)));
        ck_assert(ag_set_requires_grad(x, true));
        ag_tensor *y = apply_named(r->name, r->params, x);
        ck_assert_shape(y, 2, H_SHAPE(0, 3));
        ck_assert_msg(ag_backward(ag_sum(y)), "%s: %s", r->name, ag_last_error());
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- gradcheck and gradgradcheck in f64 ---- */

typedef struct named_op {
    const char *name;
    double p[2];
} named_op;

static ag_tensor *f_named(ag_tensor *const *in, void *ctx)
{
    const named_op *op = ctx;
    return apply_named(op->name, op->p, in[0]);
}

/* Points away from every kink (0, ±1, 0.5, -2) and pole, on both sides of
 * each; log1p's shifted above -1. */
START_TEST(test_gradcheck_each)
{
    static const named_op ops[] = {
        {"gelu", {0}},        {"gelu_tanh", {0}},    {"silu", {0}},
        {"leaky_relu", {0.01}}, {"leaky_relu", {0.2}}, {"elu", {1.0}},
        {"elu", {1.5}},       {"hardtanh", {-1, 1}}, {"hardtanh", {-2, 0.5}},
        {"sin", {0}},         {"cos", {0}},          {"erf", {0}},
        {"log1p", {0}},       {"expm1", {0}},        {"rsub", {0.75}},
        {"rdiv", {-1.5}},
    };
    static const double pts[] = {-2.3, -1.1, -0.4, 0.35, 0.9, 1.7};
    static const double pts_log1p[] = {-0.9, -0.45, -0.1, 0.3, 1.2, 2.6};
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (size_t i = 0; i < H_COUNT(ops); i++) {
        const double *v = strcmp(ops[i].name, "log1p") == 0 ? pts_log1p : pts;
        ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(2, 3), v);
        ag_gradcheck_report rep;
        char buf[2048];
        /* The rule and, where there is one, the first-order kernel. */
        for (int kernels = 0; kernels < 2; kernels++) {
            bool prev = ag_set_grad_kernels(kernels);
            bool ok = ag_gradcheck(f_named, (void *)&ops[i], 1, &x, &o, &rep);
            ag_set_grad_kernels(prev);
            ck_assert_msg(ok, "%s (kernels %d): %s", ops[i].name, kernels,
                          h_report_str(&rep, buf, sizeof buf));
        }
        ck_assert_msg(ag_gradgradcheck(f_named, (void *)&ops[i], 1, &x, &o, &rep), "%s: %s",
                      ops[i].name, h_report_str(&rep, buf, sizeof buf));
        ag_tape_reset(NULL);
    }
}
END_TEST

/* Every new op is registered and passes the registry's own checks (f64
 * gradcheck, f32 against f64, kernel against rule, zero-size inputs) and
 * its second-order check, on a few seeds. */
START_TEST(test_registry_entries)
{
    static const char *const names[] = {"gelu", "gelu_tanh", "silu", "leaky_relu", "elu",
                                        "hardtanh", "sin", "cos", "erf", "log1p",
                                        "expm1", "rsub", "rdiv", "var", "std"};
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (size_t i = 0; i < H_COUNT(names); i++) {
        const ag_op *op = ag_op_find(names[i]);
        ck_assert_msg(op != NULL, "%s is not registered", names[i]);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            ag_gradcheck_report rep;
            char buf[2048];
            ck_assert_msg(ag_gradcheck_op(op, seed, &o, &rep), "%s seed %llu: %s %s", names[i],
                          (unsigned long long)seed, ag_last_error(),
                          h_report_str(&rep, buf, sizeof buf));
            ck_assert_msg(ag_gradgradcheck_op(op, seed, &o, &rep), "%s seed %llu: %s %s",
                          names[i], (unsigned long long)seed, ag_last_error(),
                          h_report_str(&rep, buf, sizeof buf));
        }
    }
}
END_TEST

/* ---- var and std ---- */

START_TEST(test_var_hand_example)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        double rt = h_rtol(dt), at = h_atol(dt);
        ag_tensor *x = h_param(dt, 1, H_SHAPE(4), H_VALS(1, 2, 3, 4));
        /* mean 5/2; squares 9/4 + 1/4 + 1/4 + 9/4 = 5 */
        ag_tensor *biased = ag_var(x, 0), *unbiased = ag_var(x, 1);
        ck_assert_shape(biased, 0, NULL);
        ck_assert_near(ag_get_flat(biased, 0), 1.25, rt, at);
        ck_assert_near(ag_get_flat(unbiased, 0), 5.0 / 3, rt, at);
        ck_assert_near(ag_get_flat(ag_std(x, 0), 0), sqrt(1.25), rt, at);
        ck_assert_near(ag_get_flat(ag_std(x, 1), 0), sqrt(5.0 / 3), rt, at);
        /* d var/dx = 2(x - 5/2)/3 = (-1, -1/3, 1/3, 1) */
        ck_assert(ag_backward(unbiased));
        const double dvar[] = {-1, -1.0 / 3, 1.0 / 3, 1};
        for (size_t i = 0; i < 4; i++)
            ck_assert_near(h_grad_at(x, i), dvar[i], rt, at);
        /* d std/dx = (x - 5/2) / (N - c) / std, biased: (x - 5/2) / (4 √1.25) */
        ag_zero_grad(x);
        ck_assert(ag_backward(ag_std(x, 0)));
        for (size_t i = 0; i < 4; i++)
            ck_assert_near(h_grad_at(x, i), ((double)i + 1 - 2.5) / (4 * sqrt(1.25)), rt, at);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* [[1,2,3,4],[2,4,6,8]]: rows have variances (unbiased) 5/3 and 4·5/3;
 * columns are pairs (k, 2k) of mean 1.5k and squares k²/2, so the biased
 * variance k²/4 and the unbiased k²/2. */
START_TEST(test_var_axes)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        double rt = h_rtol(dt), at = h_atol(dt);
        ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 4), H_VALS(1, 2, 3, 4, 2, 4, 6, 8));
        for (int axis = -2; axis <= 1; axis++) {
            bool rows = axis == 1 || axis == -1;
            for (int keep = 0; keep < 2; keep++)
                for (int corr = 0; corr < 2; corr++) {
                    ag_tensor *v = ag_var_axis(x, axis, corr, keep);
                    ag_tensor *s = ag_std_axis(x, axis, corr, keep);
                    if (rows && keep)
                        ck_assert_shape(v, 2, H_SHAPE(2, 1));
                    else if (rows)
                        ck_assert_shape(v, 1, H_SHAPE(2));
                    else if (keep)
                        ck_assert_shape(v, 2, H_SHAPE(1, 4));
                    else
                        ck_assert_shape(v, 1, H_SHAPE(4));
                    ck_assert(ag_numel(s) == ag_numel(v));
                    for (size_t i = 0; i < ag_numel(v); i++) {
                        double k = (double)i + 1;
                        double want = rows ? (i + 1) * (i + 1) * 5.0 / (corr ? 3 : 4)
                                           : k * k / (corr ? 2 : 4);
                        ck_assert_near(ag_get_flat(v, i), want, rt, at);
                        ck_assert_near(ag_get_flat(s, i), sqrt(want), rt, at);
                    }
                }
        }
        /* The gradient along rows, unbiased: 2(x - row mean)/3. */
        ck_assert(ag_backward(ag_sum(ag_var_axis(x, -1, 1, true))));
        const double xs[] = {1, 2, 3, 4, 2, 4, 6, 8}, means[] = {2.5, 5};
        for (size_t i = 0; i < 8; i++)
            ck_assert_near(h_grad_at(x, i), 2 * (xs[i] - means[i / 4]) / 3, rt, at);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* N ≤ correction: PyTorch's divisor max(N - correction, 0) is 0, giving
 * +inf for a positive sum of squares and NaN (0/0) for a zero one. No
 * element: NaN. */
START_TEST(test_var_small_n)
{
    ag_tensor *one = h_arr(AG_F64, 1, H_SHAPE(1), H_VALS(3));
    ck_assert(isnan(ag_get_flat(ag_var(one, 1), 0)));
    ck_assert(isnan(ag_get_flat(ag_std(one, 1), 0)));
    ck_assert_near(ag_get_flat(ag_var(one, 0), 0), 0, 0, 0);
    ag_tensor *two = h_arr(AG_F32, 1, H_SHAPE(2), H_VALS(1, 2));
    for (int corr = 2; corr <= 3; corr++) {
        double v = ag_get_flat(ag_var(two, corr), 0);
        ck_assert(isinf(v) && v > 0);
    }
    /* A negative correction divides by more than N, as PyTorch allows. */
    ck_assert_near(ag_get_flat(ag_var(two, -2), 0), 0.5 / 4, 1e-6, 0);
    ag_tensor *empty = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(0, 3)));
    ck_assert(isnan(ag_get_flat(ag_var(empty, 1), 0)));
    ag_tensor *cols = ag_var_axis(empty, 1, 1, false); /* three per row, no rows */
    ck_assert_shape(cols, 1, H_SHAPE(0));
    ag_tensor *rows = ag_var_axis(empty, 0, 0, false); /* no element per column */
    ck_assert_shape(rows, 1, H_SHAPE(3));
    ck_assert(isnan(ag_get_flat(rows, 0)));
}
END_TEST

static ag_tensor *f_var_axis(ag_tensor *const *in, void *ctx)
{
    const int *a = ctx; /* axis, correction, keepdim */
    return ag_var_axis(in[0], a[0], a[1], a[2]);
}
static ag_tensor *f_std_axis(ag_tensor *const *in, void *ctx)
{
    const int *a = ctx;
    return ag_std_axis(in[0], a[0], a[1], a[2]);
}
static ag_tensor *f_var(ag_tensor *const *in, void *ctx)
{
    return ag_var(in[0], *(const int *)ctx);
}
static ag_tensor *f_std(ag_tensor *const *in, void *ctx)
{
    return ag_std(in[0], *(const int *)ctx);
}

START_TEST(test_var_gradcheck)
{
    ag_rng rng;
    ag_rng_seed(&rng, 14);
    ag_tensor *x = h_keep(ag_rand_uniform(AG_F64, 3, H_SHAPE(2, 3, 4), -2, 2, &rng));
    ck_assert(ag_set_requires_grad(x, true));
    ag_gradcheck_opts o = h_gradcheck_opts();
    char buf[2048];
    ag_gradcheck_report rep;
    for (int corr = 0; corr < 2; corr++) {
        ag_fn whole[] = {f_var, f_std};
        for (int k = 0; k < 2; k++) {
            ck_assert_msg(ag_gradcheck(whole[k], &corr, 1, &x, &o, &rep), "%s",
                          h_report_str(&rep, buf, sizeof buf));
            ck_assert_msg(ag_gradgradcheck(whole[k], &corr, 1, &x, &o, &rep), "%s",
                          h_report_str(&rep, buf, sizeof buf));
        }
        for (int axis = -3; axis < 3; axis++) {
            int a[3] = {axis, corr, axis % 2 != 0};
            ag_fn along[] = {f_var_axis, f_std_axis};
            for (int k = 0; k < 2; k++) {
                ck_assert_msg(ag_gradcheck(along[k], a, 1, &x, &o, &rep), "%s",
                              h_report_str(&rep, buf, sizeof buf));
                ck_assert_msg(ag_gradgradcheck(along[k], a, 1, &x, &o, &rep), "%s",
                              h_report_str(&rep, buf, sizeof buf));
            }
        }
    }
}
END_TEST

/* ---- realistic size ---- */

/* A batch of 64 28×28 images: gelu and silu forward and backward in f32
 * against f64, and the per-image variance against a two-pass loop written
 * here. */
START_TEST(test_batch_of_images)
{
    ag_rng rng;
    ag_rng_seed(&rng, 2814);
    const int64_t *shape = H_SHAPE(64, 784);
    ag_tensor *x64 = h_keep(ag_rand_normal(AG_F64, 2, shape, 0, 1.5, &rng));
    ag_tensor *x32 = h_keep(ag_zeros(AG_F32, 2, shape));
    for (size_t i = 0; i < 64 * 784; i++)
        ag_set_flat(x32, i, ag_get_flat(x64, i));
    ck_assert(ag_set_requires_grad(x64, true) && ag_set_requires_grad(x32, true));
    ag_tensor *(*fs[])(ag_tensor *) = {ag_gelu, ag_silu, ag_gelu_tanh};
    for (size_t f = 0; f < H_COUNT(fs); f++) {
        ag_zero_grad(x64);
        ag_zero_grad(x32);
        ag_tensor *y64 = fs[f](x64), *y32 = fs[f](x32);
        ck_assert(ag_backward(ag_sum(y64)) && ag_backward(ag_sum(y32)));
        for (size_t i = 0; i < 64 * 784; i++) {
            ck_assert_near(ag_get_flat(y32, i), ag_get_flat(y64, i), 1e-5, 1e-6);
            ck_assert_near(h_grad_at(x32, i), h_grad_at(x64, i), 1e-5, 1e-6);
        }
        ag_tape_reset(NULL);
    }
    ag_tensor *v = ag_var_axis(x64, 1, 1, false);
    ck_assert_shape(v, 1, H_SHAPE(64));
    for (size_t r = 0; r < 64; r++) {
        double m = 0, ss = 0;
        for (size_t j = 0; j < 784; j++)
            m += ag_get_flat(x64, r * 784 + j);
        m /= 784;
        for (size_t j = 0; j < 784; j++) {
            double dv = ag_get_flat(x64, r * 784 + j) - m;
            ss += dv * dv;
        }
        ck_assert_near(ag_get_flat(v, r), ss / 783, 1e-12, 0);
    }
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert_ptr_null(ag_hardtanh(x, 1.0, -1.0));
    ck_assert_error(AG_ERR_VALUE, "hardtanh: min_val 1 is above max_val -1");
    ag_error_clear();
    ck_assert_ptr_null(ag_var_axis(x, 2, 1, false));
    ck_assert_error(AG_ERR_VALUE, "var: axis 2 out of range for shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_std_axis(x, -3, 1, true));
    ck_assert_error(AG_ERR_VALUE, "std: axis -3 out of range for shape (2,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_var(NULL, 1));
    ck_assert_error(AG_ERR_NULL, "var");
    ag_error_clear();
    ck_assert_ptr_null(ag_rsub(NULL, 1));
    ck_assert_error(AG_ERR_NULL, "rsub");
    ag_error_clear();
    ck_assert_ptr_null(ag_leaky_relu(NULL, 0.1));
    ck_assert_error(AG_ERR_NULL, "leaky_relu");
    ag_error_clear();
    ck_assert_ptr_null(ag_gelu(NULL));
    ck_assert_error(AG_ERR_NULL, "gelu");
    ag_error_clear();
    /* Index tensors are no input for a float op. */
    ag_tensor *idx = h_keep(ag_zeros(AG_I64, 1, H_SHAPE(3)));
    ck_assert_ptr_null(ag_silu(idx));
    ck_assert_error(AG_ERR_DTYPE, "silu");
    ag_error_clear();
    ck_assert_ptr_null(ag_std_axis(idx, 0, 1, false));
    ck_assert_error(AG_ERR_DTYPE, "std");
    ag_error_clear();
    /* A stale intermediate is refused by name. */
    ag_tensor *p = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_tensor *e = ag_exp(p);
    ag_tape_reset(NULL);
    ck_assert_ptr_null(ag_elu(e, 1.0));
    ck_assert_error(AG_ERR_STALE, "elu");
}
END_TEST

static Suite *activations_suite(void)
{
    Suite *s = suite_create("activations");
    TCase *tc = h_tcase(s, "reference", H_TIMEOUT);
    tcase_add_test(tc, test_pytorch_reference_f64);
    tcase_add_test(tc, test_pytorch_reference_f32);
    tcase_add_test(tc, test_kernels_match_rules);
    tc = h_tcase(s, "hand", H_TIMEOUT);
    tcase_add_test(tc, test_hand_values);
    tcase_add_test(tc, test_log1p_expm1_small);
    tcase_add_test(tc, test_extremes);
    tcase_add_test(tc, test_zero_size);
    tc = h_tcase(s, "gradcheck", H_TIMEOUT);
    tcase_add_test(tc, test_gradcheck_each);
    tcase_add_test(tc, test_registry_entries);
    tc = h_tcase(s, "var", H_TIMEOUT);
    tcase_add_test(tc, test_var_hand_example);
    tcase_add_test(tc, test_var_axes);
    tcase_add_test(tc, test_var_small_n);
    tcase_add_test(tc, test_var_gradcheck);
    tc = h_tcase(s, "size", H_TIMEOUT);
    tcase_add_test(tc, test_batch_of_images);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_errors);
    return s;
}

H_MAIN(activations_suite)

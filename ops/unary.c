/* SPDX-License-Identifier: MIT */
/* unary.c — elementwise functions of one tensor.
 *
 * Each op's kernel and its vector-Jacobian rule sit together under a one-line
 * statement of the rule. Rules reuse the output where the derivative is a
 * function of it (sigmoid, tanh, exp), as KANN does. */
#include "ops_internal.h"

#include <math.h>

/* The forward of every op given by its maps (these and the one-input ops of
 * elementwise.c): check, allocate and record, run the map of x's dtype. */
ag_tensor *ag_unary_op(const ag_op *op, ag_tensor *x)
{
    if (!ag_inputs_ok(op->def.name, 1, &x))
        return NULL;
    ag_tensor *y = ag_op_result_checked(op, x->dtype, x->ndim, x->shape, x->numel, 1, &x, NULL, 0);
    if (!y)
        return NULL;
    if (x->dtype == AG_F32)
        op->def.map_f32(x->numel, x->data, y->data);
    else
        op->def.map_f64(x->numel, x->data, y->data);
    return y;
}
/* y = -x;  dx += -g */
AG_UNARY_MAPS(neg, -v, -v)
static bool neg_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    (void)y;
    return (gin[0] = ag_neg(g)) != NULL;
}
AG_UNARY_GRAD(neg, -gv, -gv)
static ag_op OP_NEG = {.def = {
        .name = "neg",
        .n_inputs = 1,
        .vjp = neg_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += -g",
        .kernel = neg_kernel,
        .map_f32 = neg_f32,
        .map_f64 = neg_f64,
    }};
ag_tensor *ag_neg(ag_tensor *x) { return ag_unary_op(&OP_NEG, x); }

/* y = e^x;  dx += g * y */
AG_UNARY_MAPS(exp, expf(v), exp(v))
static bool exp_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, y)) != NULL;
}
AG_UNARY_GRAD(exp, gv * yv, gv * yv)
static ag_op OP_EXP = {.def = {
        .name = "exp",
        .n_inputs = 1,
        .vjp = exp_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += g * y",
        .kernel = exp_kernel,
        .map_f32 = exp_f32,
        .map_f64 = exp_f64,
    }};
ag_tensor *ag_exp(ag_tensor *x) { return ag_unary_op(&OP_EXP, x); }

/* y = ln x;  dx += g / x */
AG_UNARY_MAPS(log, logf(v), log(v))
static bool log_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_div(g, y->inputs[0])) != NULL;
}
/* log wants positive inputs: the checker draws them away from 0. */
AG_UNARY_GRAD(log, gv / xv, gv / xv)
static ag_op OP_LOG = {.def = {
        .name = "log",
        .n_inputs = 1,
        .vjp = log_vjp,
        .domain_lo = 0.2,
        .domain_hi = 3,
        .rule = "dx += g / x",
        .kernel = log_kernel,
        .map_f32 = log_f32,
        .map_f64 = log_f64,
    }};
ag_tensor *ag_log(ag_tensor *x) { return ag_unary_op(&OP_LOG, x); }

/* y = 1 / (1 + e^-x);  dx += g * y * (1 - y)
 * For x < 0 the form e^x / (1 + e^x) is used: e^-x would overflow for
 * x < -88 (f32) or -709 (f64), while e^x only underflows to 0 harmlessly. */
float ag_sigmoid_f32(float v)
{
    if (v >= 0)
        return 1.0f / (1.0f + expf(-v));
    float e = expf(v);
    return e / (1.0f + e);
}
double ag_sigmoid_f64(double v)
{
    if (v >= 0)
        return 1.0 / (1.0 + exp(-v));
    double e = exp(v);
    return e / (1.0 + e);
}
AG_UNARY_MAPS(sigmoid, ag_sigmoid_f32(v), ag_sigmoid_f64(v))
static bool sigmoid_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *one_minus_y = ag_add_scalar(ag_neg(y), 1.0);
    return (gin[0] = ag_mul(g, ag_mul(y, one_minus_y))) != NULL;
}
AG_UNARY_GRAD(sigmoid, gv * (yv * (-yv + 1.0f)), gv * (yv * (-yv + 1.0)))
static ag_op OP_SIGMOID = {.def = {
        .name = "sigmoid",
        .n_inputs = 1,
        .vjp = sigmoid_vjp,
        .domain_lo = -4,
        .domain_hi = 4,
        .rule = "dx += g * y * (1 - y)",
        .kernel = sigmoid_kernel,
        .map_f32 = sigmoid_f32,
        .map_f64 = sigmoid_f64,
    }};
ag_tensor *ag_sigmoid(ag_tensor *x) { return ag_unary_op(&OP_SIGMOID, x); }

/* y = tanh x;  dx += g * (1 - y²) */
AG_UNARY_MAPS(tanh, tanhf(v), tanh(v))
static bool tanh_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *one_minus_y2 = ag_add_scalar(ag_neg(ag_mul(y, y)), 1.0);
    return (gin[0] = ag_mul(g, one_minus_y2)) != NULL;
}
AG_UNARY_GRAD(tanh, gv * (-(yv * yv) + 1.0f), gv * (-(yv * yv) + 1.0))
static ag_op OP_TANH = {.def = {
        .name = "tanh",
        .n_inputs = 1,
        .vjp = tanh_vjp,
        .domain_lo = -3,
        .domain_hi = 3,
        .rule = "dx += g * (1 - y^2)",
        .kernel = tanh_kernel,
        .map_f32 = tanh_f32,
        .map_f64 = tanh_f64,
    }};
ag_tensor *ag_tanh(ag_tensor *x) { return ag_unary_op(&OP_TANH, x); }

/* y = step(x) = (x > 0 ? 1 : 0);  no gradient (0 almost everywhere).
 * The mask in relu's rule; a constant under differentiation. */
AG_UNARY_MAPS(step, v > 0 ? 1.0f : 0.0f, v > 0 ? 1.0 : 0.0)
static bool step_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    (void)y, (void)g, (void)gin;
    return true;
}
static ag_op OP_STEP = {.def = {
        .name = "step",
        .n_inputs = 1,
        .vjp = step_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "none (constant)",
        .map_f32 = step_f32,
        .map_f64 = step_f64,
    }};
ag_tensor *ag_step(ag_tensor *x) { return ag_unary_op(&OP_STEP, x); }

/* y = max(x, 0);  dx += g * step(x)
 * At x = 0 the subgradient 0 is chosen, as PyTorch does. */
AG_UNARY_MAPS(relu, v > 0 ? v : 0.0f, v > 0 ? v : 0.0)
static bool relu_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_step(y->inputs[0]))) != NULL;
}
/* g where x > 0, else 0 (as PyTorch's threshold_backward; the rule's g·step(x)
 * differs only for an infinite or NaN g at x ≤ 0, where it gives NaN). */
AG_UNARY_GRAD(relu, xv > 0 ? gv : 0.0f, xv > 0 ? gv : 0.0)
static ag_op OP_RELU = {.def = {
        .name = "relu",
        .n_inputs = 1,
        .vjp = relu_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "dx += g * step(x)",
        .kernel = relu_kernel,
        .map_f32 = relu_f32,
        .map_f64 = relu_f64,
    }};
ag_tensor *ag_relu(ag_tensor *x) { return ag_unary_op(&OP_RELU, x); }


void ag_ops_register_unary(void)
{
    ag_op_register_builtin(&OP_NEG);
    ag_op_register_builtin(&OP_EXP);
    ag_op_register_builtin(&OP_LOG);
    ag_op_register_builtin(&OP_SIGMOID);
    ag_op_register_builtin(&OP_TANH);
    ag_op_register_builtin(&OP_STEP);
    ag_op_register_builtin(&OP_RELU);
}

/* SPDX-License-Identifier: MIT */
/* binary.c — elementwise arithmetic of two tensors, with numpy broadcasting,
 * and with a scalar constant.
 *
 * Each op: its rule as one line, the row kernels, the builder, the
 * vector-Jacobian rule written with public ops, and its registry entry.
 * Gradients of broadcast inputs go through ag_sum_to and nowhere else. */
#include "ops_internal.h"

AG_BINARY_ROWS(add_f32, float, x + z)
AG_BINARY_ROWS(add_f64, double, x + z)
AG_BINARY_ROWS(sub_f32, float, x - z)
AG_BINARY_ROWS(sub_f64, double, x - z)
AG_BINARY_ROWS(mul_f32, float, x * z)
AG_BINARY_ROWS(mul_f64, double, x * z)
AG_BINARY_ROWS(div_f32, float, x / z)
AG_BINARY_ROWS(div_f64, double, x / z)

/* Input i of node y wants a gradient: the rules skip the others. */
static bool wants(ag_tensor *y, int i)
{
    return y->inputs[i]->requires_grad;
}

static ag_tensor *to_shape_of(ag_tensor *g, const ag_tensor *x)
{
    return ag_sum_to(g, x->ndim, x->shape);
}

/* y = a + b;  da += sum_to(g), db += sum_to(g) */
static bool add_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (wants(y, 0) && !(gin[0] = to_shape_of(g, a)))
        return false;
    if (wants(y, 1) && !(gin[1] = to_shape_of(g, b)))
        return false;
    return true;
}

/* y = a - b;  da += sum_to(g), db += sum_to(-g) */
static bool sub_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (wants(y, 0) && !(gin[0] = to_shape_of(g, a)))
        return false;
    if (wants(y, 1) && !(gin[1] = to_shape_of(ag_neg(g), b)))
        return false;
    return true;
}

/* y = a * b;  da += sum_to(g * b), db += sum_to(g * a) */
static bool mul_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (wants(y, 0) && !(gin[0] = to_shape_of(ag_mul(g, b), a)))
        return false;
    if (wants(y, 1) && !(gin[1] = to_shape_of(ag_mul(g, a), b)))
        return false;
    return true;
}

/* y = a / b;  da += sum_to(g / b), db += sum_to(-g * y / b) */
static bool div_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (wants(y, 0) && !(gin[0] = to_shape_of(ag_div(g, b), a)))
        return false;
    /* y is a node of the graph, so this rule stays right when it is
     * differentiated again: y's own rule carries its dependence on b. */
    if (wants(y, 1) && !(gin[1] = to_shape_of(ag_neg(ag_mul(g, ag_div(y, b))), b)))
        return false;
    return true;
}

/* The rules above as loops, for first-order sweeps. */
AG_GRAD_ROWS(grad_g_f32, float, gv)
AG_GRAD_ROWS(grad_g_f64, double, gv)
AG_GRAD_ROWS(grad_neg_g_f32, float, -gv)
AG_GRAD_ROWS(grad_neg_g_f64, double, -gv)
AG_GRAD_ROWS(grad_g_b_f32, float, gv * bv)
AG_GRAD_ROWS(grad_g_b_f64, double, gv * bv)
AG_GRAD_ROWS(grad_g_a_f32, float, gv * av)
AG_GRAD_ROWS(grad_g_a_f64, double, gv * av)
AG_GRAD_ROWS(grad_div_a_f32, float, gv / bv)
AG_GRAD_ROWS(grad_div_a_f64, double, gv / bv)
AG_GRAD_ROWS(grad_div_b_f32, float, -(gv * (yv / bv)))
AG_GRAD_ROWS(grad_div_b_f64, double, -(gv * (yv / bv)))

static const ag_binary_grad ADD_GRAD = {{grad_g_f32, grad_g_f32}, {grad_g_f64, grad_g_f64}, {true, true}};
static const ag_binary_grad SUB_GRAD = {{grad_g_f32, grad_neg_g_f32}, {grad_g_f64, grad_neg_g_f64}, {true, false}};
static const ag_binary_grad MUL_GRAD = {{grad_g_b_f32, grad_g_a_f32}, {grad_g_b_f64, grad_g_a_f64}, {false, false}};
static const ag_binary_grad DIV_GRAD = {{grad_div_a_f32, grad_div_b_f32}, {grad_div_a_f64, grad_div_b_f64}, {false, false}};

static bool add_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *d) { return ag_binary_grad_run(&ADD_GRAD, y, g, d); }
static bool sub_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *d) { return ag_binary_grad_run(&SUB_GRAD, y, g, d); }
static bool mul_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *d) { return ag_binary_grad_run(&MUL_GRAD, y, g, d); }
static bool div_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *d) { return ag_binary_grad_run(&DIV_GRAD, y, g, d); }


/* Shapes that exercise broadcasting on both sides and size-1 dimensions. */
static void sample_broadcast(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    static const int64_t pairs[][2][3] = {
        {{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {1, 3, 1}}, {{3, 1, 4}, {1, 2, 1}},
        {{2, 1, 4}, {1, 1, 4}}, {{1, 1, 1}, {2, 3, 4}},
    };
    static const int ranks[][2] = {{3, 3}, {3, 2}, {3, 3}, {3, 1}, {0, 3}};
    size_t k = ag_rng_next(rng) % (sizeof ranks / sizeof ranks[0]);
    for (int i = 0; i < 2; i++) {
        ndim[i] = ranks[k][i];
        for (int d = 0; d < ndim[i]; d++)
            shape[i][d] = pairs[k][i][3 - ndim[i] + d];
    }
}

static ag_op OP_ADD = {.def = {
        .name = "add",
        .n_inputs = 2,
        .vjp = add_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_broadcast,
        .rule = "da += sum_to(g), db += sum_to(g)",
        .kernel = add_kernel,
        .rows_f32 = add_f32,
        .rows_f64 = add_f64,
    }};
static ag_op OP_SUB = {.def = {
        .name = "sub",
        .n_inputs = 2,
        .vjp = sub_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_broadcast,
        .rule = "da += sum_to(g), db += sum_to(-g)",
        .kernel = sub_kernel,
        .rows_f32 = sub_f32,
        .rows_f64 = sub_f64,
    }};
static ag_op OP_MUL = {.def = {
        .name = "mul",
        .n_inputs = 2,
        .vjp = mul_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_broadcast,
        .rule = "da += sum_to(g * b), db += sum_to(g * a)",
        .kernel = mul_kernel,
        .rows_f32 = mul_f32,
        .rows_f64 = mul_f64,
    }};
/* Divisors are kept away from zero, where the quotient blows up. */
static ag_op OP_DIV = {.def = {
        .name = "div",
        .n_inputs = 2,
        .vjp = div_vjp,
        .domain_lo = 0.5,
        .domain_hi = 2,
        .sample = sample_broadcast,
        .rule = "da += sum_to(g / b), db += sum_to(-g * y / b)",
        .kernel = div_kernel,
        .rows_f32 = div_f32,
        .rows_f64 = div_f64,
    }};

ag_tensor *ag_add(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_ADD, a, b); }
ag_tensor *ag_sub(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_SUB, a, b); }
ag_tensor *ag_mul(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_MUL, a, b); }
ag_tensor *ag_div(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_DIV, a, b); }

/* ---- with a scalar constant: y = x + c, y = x * c ---- */

typedef struct scalar_params {
    double c;
} scalar_params;

static ag_tensor *scalar_op(ag_op *op, ag_tensor *x, const scalar_params *p, bool multiply)
{
    if (!ag_inputs_ok(op->def.name, 1, &x))
        return NULL;
    double c = p->c;
    ag_tensor *y = ag_op_result_checked(op, x->dtype, x->ndim, x->shape, x->numel, 1, &x, p, sizeof *p);
    if (!y)
        return NULL;
    size_t n = x->numel;
    if (x->dtype == AG_F32) {
        const float *restrict xs = x->data;
        float *restrict ys = y->data;
        float cf = (float)c;
        if (multiply)
            for (size_t i = 0; i < n; i++)
                ys[i] = xs[i] * cf;
        else
            for (size_t i = 0; i < n; i++)
                ys[i] = xs[i] + cf;
    } else {
        const double *restrict xs = x->data;
        double *restrict ys = y->data;
        if (multiply)
            for (size_t i = 0; i < n; i++)
                ys[i] = xs[i] * c;
        else
            for (size_t i = 0; i < n; i++)
                ys[i] = xs[i] + c;
    }
    return y;
}

/* y = x + c;  dx += g */
static bool add_scalar_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    (void)y;
    gin[0] = g;
    return true;
}

/* y = x * c;  dx += g * c */
static bool mul_scalar_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const scalar_params *p = y->params;
    return (gin[0] = ag_mul_scalar(g, p->c)) != NULL;
}

static bool add_scalar_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    (void)y;
    return ag_grad_pass(dst, g);
}

/* As mul_scalar's rule: g times c rounded to the dtype. */
static bool mul_scalar_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const scalar_params *p = y->params;
    void *d = ag_grad_dst_data(dst);
    if (!d)
        return false;
    size_t n = y->numel;
    if (y->dtype == AG_F32) {
        float *restrict ds = d, c = (float)p->c;
        const float *restrict gs = g->data;
        for (size_t i = 0; i < n; i++)
            ds[i] = (dst->accumulate ? ds[i] : 0.0f) + gs[i] * c;
    } else {
        double *restrict ds = d;
        const double *restrict gs = g->data;
        for (size_t i = 0; i < n; i++)
            ds[i] = (dst->accumulate ? ds[i] : 0.0) + gs[i] * p->c;
    }
    return true;
}

static ag_op OP_ADD_SCALAR, OP_MUL_SCALAR;

static ag_tensor *add_scalar_forward(ag_tensor *const *in, const void *params)
{
    return scalar_op(&OP_ADD_SCALAR, in[0], params, false);
}
static ag_tensor *mul_scalar_forward(ag_tensor *const *in, const void *params)
{
    return scalar_op(&OP_MUL_SCALAR, in[0], params, true);
}

/* Constants that are not 0 or 1, so that a rule dropping them is caught. */
static ag_tensor *add_scalar_example(ag_tensor *const *in) { return ag_add_scalar(in[0], 0.75); }
static ag_tensor *mul_scalar_example(ag_tensor *const *in) { return ag_mul_scalar(in[0], -1.5); }

static ag_op OP_ADD_SCALAR = {.def = {
        .name = "add_scalar",
        .n_inputs = 1,
        .forward = add_scalar_forward,
        .example = add_scalar_example,
        .vjp = add_scalar_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += g",
        .kernel = add_scalar_kernel,
    }};
static ag_op OP_MUL_SCALAR = {.def = {
        .name = "mul_scalar",
        .n_inputs = 1,
        .forward = mul_scalar_forward,
        .example = mul_scalar_example,
        .vjp = mul_scalar_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += g * c",
        .kernel = mul_scalar_kernel,
    }};

ag_tensor *ag_add_scalar(ag_tensor *x, double c) { return add_scalar_forward(&x, &(scalar_params){c}); }
ag_tensor *ag_mul_scalar(ag_tensor *x, double c) { return mul_scalar_forward(&x, &(scalar_params){c}); }

void ag_ops_register_binary(void)
{
    ag_op_register_builtin(&OP_ADD);
    ag_op_register_builtin(&OP_SUB);
    ag_op_register_builtin(&OP_MUL);
    ag_op_register_builtin(&OP_DIV);
    ag_op_register_builtin(&OP_ADD_SCALAR);
    ag_op_register_builtin(&OP_MUL_SCALAR);
}

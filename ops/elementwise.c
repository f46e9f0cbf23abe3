/* SPDX-License-Identifier: MIT */
/* elementwise.c — the rest of the elementwise functions: powers and roots,
 * abs and clamp, the softplus pair, maximum/minimum/where, and comparisons.
 *
 * Comparisons produce 0/1 masks in the inputs' dtype and carry no gradient;
 * the rules of the kinked ops (abs, clamp, maximum, minimum) are written with
 * them, and each states which subgradient it picks at the kink. */
#include "ops_internal.h"

#include <math.h>

static bool wants(const ag_tensor *y, int i)
{
    return y->inputs[i]->requires_grad;
}

static ag_tensor *to_shape_of(ag_tensor *g, const ag_tensor *x)
{
    return ag_sum_to(g, x->ndim, x->shape);
}

/* ---- comparisons: masks, no gradient ---- */

AG_BINARY_ROWS(gt_f32, float, x > z ? 1.0f : 0.0f)
AG_BINARY_ROWS(gt_f64, double, x > z ? 1.0 : 0.0)
AG_BINARY_ROWS(ge_f32, float, x >= z ? 1.0f : 0.0f)
AG_BINARY_ROWS(ge_f64, double, x >= z ? 1.0 : 0.0)
AG_BINARY_ROWS(lt_f32, float, x < z ? 1.0f : 0.0f)
AG_BINARY_ROWS(lt_f64, double, x < z ? 1.0 : 0.0)
AG_BINARY_ROWS(le_f32, float, x <= z ? 1.0f : 0.0f)
AG_BINARY_ROWS(le_f64, double, x <= z ? 1.0 : 0.0)
AG_BINARY_ROWS(eq_f32, float, x == z ? 1.0f : 0.0f)
AG_BINARY_ROWS(eq_f64, double, x == z ? 1.0 : 0.0)
AG_BINARY_ROWS(ne_f32, float, x != z ? 1.0f : 0.0f)
AG_BINARY_ROWS(ne_f64, double, x != z ? 1.0 : 0.0)

/* y = (a ? b);  no gradient: a mask is constant almost everywhere. */
static bool mask_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    (void)y, (void)g, (void)gin;
    return true;
}


#define MASK_FLAGS (AG_OP_KINK | AG_OP_NO_GRAD)
static ag_op OP_GT = {.def = {
        .name = "gt",
        .n_inputs = 2,
        .vjp = mask_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = MASK_FLAGS,
        .rule = "none (mask)",
        .rows_f32 = gt_f32,
        .rows_f64 = gt_f64,
    }};
static ag_op OP_GE = {.def = {
        .name = "ge",
        .n_inputs = 2,
        .vjp = mask_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = MASK_FLAGS,
        .rule = "none (mask)",
        .rows_f32 = ge_f32,
        .rows_f64 = ge_f64,
    }};
static ag_op OP_LT = {.def = {
        .name = "lt",
        .n_inputs = 2,
        .vjp = mask_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = MASK_FLAGS,
        .rule = "none (mask)",
        .rows_f32 = lt_f32,
        .rows_f64 = lt_f64,
    }};
static ag_op OP_LE = {.def = {
        .name = "le",
        .n_inputs = 2,
        .vjp = mask_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = MASK_FLAGS,
        .rule = "none (mask)",
        .rows_f32 = le_f32,
        .rows_f64 = le_f64,
    }};
static ag_op OP_EQ = {.def = {
        .name = "eq",
        .n_inputs = 2,
        .vjp = mask_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = MASK_FLAGS,
        .rule = "none (mask)",
        .rows_f32 = eq_f32,
        .rows_f64 = eq_f64,
    }};
static ag_op OP_NE = {.def = {
        .name = "ne",
        .n_inputs = 2,
        .vjp = mask_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = MASK_FLAGS,
        .rule = "none (mask)",
        .rows_f32 = ne_f32,
        .rows_f64 = ne_f64,
    }};

ag_tensor *ag_gt(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_GT, a, b); }
ag_tensor *ag_ge(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_GE, a, b); }
ag_tensor *ag_lt(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_LT, a, b); }
ag_tensor *ag_le(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_LE, a, b); }
ag_tensor *ag_eq(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_EQ, a, b); }
ag_tensor *ag_ne(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_NE, a, b); }

/* ---- maximum and minimum ---- */

/* A NaN on either side wins (x != x is the NaN test), so the result does
 * not depend on the order of the arguments and a NaN is never hidden. */
AG_BINARY_ROWS(maximum_f32, float, (x >= z || x != x) ? x : z)
AG_BINARY_ROWS(maximum_f64, double, (x >= z || x != x) ? x : z)
AG_BINARY_ROWS(minimum_f32, float, (x <= z || x != x) ? x : z)
AG_BINARY_ROWS(minimum_f64, double, (x <= z || x != x) ? x : z)

/* y = max(a, b);  da += sum_to(g * (a >= b)), db += sum_to(g * (a < b))
 * On a tie the whole gradient goes to a, so the two parts still add to g. */
static bool maximum_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (wants(y, 0) && !(gin[0] = to_shape_of(ag_mul(g, ag_ge(a, b)), a)))
        return false;
    if (wants(y, 1) && !(gin[1] = to_shape_of(ag_mul(g, ag_lt(a, b)), b)))
        return false;
    return true;
}

/* y = min(a, b);  da += sum_to(g * (a <= b)), db += sum_to(g * (a > b)) */
static bool minimum_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (wants(y, 0) && !(gin[0] = to_shape_of(ag_mul(g, ag_le(a, b)), a)))
        return false;
    if (wants(y, 1) && !(gin[1] = to_shape_of(ag_mul(g, ag_gt(a, b)), b)))
        return false;
    return true;
}


static ag_op OP_MAXIMUM = {.def = {
        .name = "maximum",
        .n_inputs = 2,
        .vjp = maximum_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "da += g * (a >= b), db += g * (a < b)",
        .rows_f32 = maximum_f32,
        .rows_f64 = maximum_f64,
    }};
static ag_op OP_MINIMUM = {.def = {
        .name = "minimum",
        .n_inputs = 2,
        .vjp = minimum_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "da += g * (a <= b), db += g * (a > b)",
        .rows_f32 = minimum_f32,
        .rows_f64 = minimum_f64,
    }};

ag_tensor *ag_maximum(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_MAXIMUM, a, b); }
ag_tensor *ag_minimum(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_MINIMUM, a, b); }

/* ---- pow ---- */

AG_BINARY_ROWS(pow_f32, float, powf(x, z))
AG_BINARY_ROWS(pow_f64, double, pow(x, z))

/* y = a^b;  da += sum_to(g * (b == 0 ? 0 : b * a^(b-1))), db += sum_to(g * y * ln a)
 * a^0 is the constant 1, but b·a^(b−1) at a = 0 would be 0·∞ = NaN: the
 * exponent-0 case is masked, as PyTorch does. The exponent's gradient needs
 * a > 0; the checker draws bases from (0.5, 2). */
static bool pow_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    ag_tensor *zero = ag_const_scalar(g->dtype, 0.0);
    if (wants(y, 0)) {
        ag_tensor *d = ag_mul(b, ag_pow(a, ag_add_scalar(b, -1.0)));
        d = ag_where(ag_eq(b, zero), zero, d);
        if (!(gin[0] = to_shape_of(ag_mul(g, d), a)))
            return false;
    }
    if (wants(y, 1) && !(gin[1] = to_shape_of(ag_mul(g, ag_mul(y, ag_log(a))), b)))
        return false;
    return true;
}

static ag_op OP_POW = {.def = {
        .name = "pow",
        .n_inputs = 2,
        .vjp = pow_vjp,
        .domain_lo = 0.5,
        .domain_hi = 2,
        .rule = "da += g * (b == 0 ? 0 : b * a^(b-1)), db += g * y * ln a",
        .rows_f32 = pow_f32,
        .rows_f64 = pow_f64,
    }};
ag_tensor *ag_pow(ag_tensor *a, ag_tensor *b) { return ag_binary_op(&OP_POW, a, b); }

typedef struct pow_params {
    double p;
} pow_params;

static ag_op OP_POW_SCALAR;

/* y = x^p;  dx += g * p * x^(p-1) */
static ag_tensor *pow_scalar_forward(ag_tensor *const *in, const void *params)
{
    const pow_params *pp = params;
    ag_tensor *x = in[0];
    double p = pp->p;
    if (!ag_check_inputs("pow_scalar", 1, &x))
        return NULL;
    ag_tensor *y = ag_op_result(&OP_POW_SCALAR, x->dtype, x->ndim, x->shape, 1, &x, pp, sizeof *pp);
    if (!y)
        return NULL;
    if (x->dtype == AG_F32)
        for (size_t i = 0; i < x->numel; i++)
            ((float *)y->data)[i] = powf(((const float *)x->data)[i], (float)p);
    else
        for (size_t i = 0; i < x->numel; i++)
            ((double *)y->data)[i] = pow(((const double *)x->data)[i], p);
    return y;
}

ag_tensor *ag_pow_scalar(ag_tensor *x, double p)
{
    return pow_scalar_forward(&x, &(pow_params){p});
}

static bool pow_scalar_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const pow_params *pp = y->params;
    ag_tensor *x = y->inputs[0];
    /* p = 0: y is the constant 1 and the rule below would ask for x^-1. */
    if (pp->p == 0)
        return (gin[0] = ag_mul_scalar(g, 0.0)) != NULL;
    return (gin[0] = ag_mul(g, ag_mul_scalar(ag_pow_scalar(x, pp->p - 1), pp->p))) != NULL;
}

/* Not an integer: x^(p-1) in the rule is then no simple product. */
static ag_tensor *pow_scalar_example(ag_tensor *const *in) { return ag_pow_scalar(in[0], 2.5); }
static ag_op OP_POW_SCALAR = {.def = {
        .name = "pow_scalar",
        .n_inputs = 1,
        .forward = pow_scalar_forward,
        .example = pow_scalar_example,
        .vjp = pow_scalar_vjp,
        .domain_lo = 0.2,
        .domain_hi = 3,
        .rule = "dx += g * p * x^(p-1)",
    }};

/* ---- unary ---- */


/* y = √x;  dx += g / (2y) */
AG_UNARY_MAPS(sqrt, sqrtf(v), sqrt(v))
static bool sqrt_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_div(ag_mul_scalar(g, 0.5), y)) != NULL;
}
AG_UNARY_GRAD(sqrt, (gv * 0.5f) / yv, (gv * 0.5) / yv)
static ag_op OP_SQRT = {.def = {
        .name = "sqrt",
        .n_inputs = 1,
        .vjp = sqrt_vjp,
        .domain_lo = 0.2,
        .domain_hi = 3,
        .rule = "dx += g / (2y)",
        .kernel = sqrt_kernel,
        .map_f32 = sqrt_f32,
        .map_f64 = sqrt_f64,
    }};
ag_tensor *ag_sqrt(ag_tensor *x) { return ag_unary_op(&OP_SQRT, x); }

/* y = sign(x) ∈ {-1, 0, 1};  no gradient (0 almost everywhere) */
AG_UNARY_MAPS(sign, (float)((v > 0) - (v < 0)), (double)((v > 0) - (v < 0)))
static ag_op OP_SIGN = {.def = {
        .name = "sign",
        .n_inputs = 1,
        .vjp = mask_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = MASK_FLAGS,
        .rule = "none (constant)",
        .map_f32 = sign_f32,
        .map_f64 = sign_f64,
    }};
ag_tensor *ag_sign(ag_tensor *x) { return ag_unary_op(&OP_SIGN, x); }

/* y = |x|;  dx += g * sign(x)   (subgradient 0 at x = 0) */
AG_UNARY_MAPS(abs, fabsf(v), fabs(v))
static bool abs_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_sign(y->inputs[0]))) != NULL;
}
AG_UNARY_GRAD(abs, gv * (float)((xv > 0) - (xv < 0)), gv * (double)((xv > 0) - (xv < 0)))
static ag_op OP_ABS = {.def = {
        .name = "abs",
        .n_inputs = 1,
        .vjp = abs_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "dx += g * sign(x)",
        .kernel = abs_kernel,
        .map_f32 = abs_f32,
        .map_f64 = abs_f64,
    }};
ag_tensor *ag_abs(ag_tensor *x) { return ag_unary_op(&OP_ABS, x); }

/* y = x²;  dx += g * 2x */
AG_UNARY_MAPS(square, v * v, v * v)
static bool square_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_mul_scalar(y->inputs[0], 2.0))) != NULL;
}
AG_UNARY_GRAD(square, gv * (xv * 2.0f), gv * (xv * 2.0))
static ag_op OP_SQUARE = {.def = {
        .name = "square",
        .n_inputs = 1,
        .vjp = square_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += g * 2x",
        .kernel = square_kernel,
        .map_f32 = square_f32,
        .map_f64 = square_f64,
    }};
ag_tensor *ag_square(ag_tensor *x) { return ag_unary_op(&OP_SQUARE, x); }

/* y = 1/x;  dx += -g * y² */
AG_UNARY_MAPS(reciprocal, 1.0f / v, 1.0 / v)
static bool reciprocal_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_neg(ag_mul(g, ag_mul(y, y)))) != NULL;
}
AG_UNARY_GRAD(reciprocal, -(gv * (yv * yv)), -(gv * (yv * yv)))
static ag_op OP_RECIPROCAL = {.def = {
        .name = "reciprocal",
        .n_inputs = 1,
        .vjp = reciprocal_vjp,
        .domain_lo = 0.5,
        .domain_hi = 2,
        .rule = "dx += -g * y^2",
        .kernel = reciprocal_kernel,
        .map_f32 = reciprocal_f32,
        .map_f64 = reciprocal_f64,
    }};
ag_tensor *ag_reciprocal(ag_tensor *x) { return ag_unary_op(&OP_RECIPROCAL, x); }

/* y = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|);  dx += g * σ(x)
 * The rewritten form never exponentiates a positive number, so it is
 * exact for large |x| where the naive one overflows or loses everything. */
AG_UNARY_MAPS(softplus, fmaxf(v, 0.0f) + log1pf(expf(-fabsf(v))), fmax(v, 0.0) + log1p(exp(-fabs(v))))
static bool softplus_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_sigmoid(y->inputs[0]))) != NULL;
}
AG_UNARY_GRAD(softplus, gv * ag_sigmoid_f32(xv), gv * ag_sigmoid_f64(xv))
static ag_op OP_SOFTPLUS = {.costly = true, .def = {
        .name = "softplus",
        .n_inputs = 1,
        .vjp = softplus_vjp,
        .domain_lo = -4,
        .domain_hi = 4,
        .rule = "dx += g * sigmoid(x)",
        .kernel = softplus_kernel,
        .map_f32 = softplus_f32,
        .map_f64 = softplus_f64,
    }};
ag_tensor *ag_softplus(ag_tensor *x) { return ag_unary_op(&OP_SOFTPLUS, x); }

/* y = ln σ(x) = -softplus(-x) = min(x, 0) - ln(1 + e^-|x|);  dx += g * σ(-x) */
AG_UNARY_MAPS(log_sigmoid, fminf(v, 0.0f) - log1pf(expf(-fabsf(v))), fmin(v, 0.0) - log1p(exp(-fabs(v))))
static bool log_sigmoid_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_sigmoid(ag_neg(y->inputs[0])))) != NULL;
}
AG_UNARY_GRAD(log_sigmoid, gv * ag_sigmoid_f32(-xv), gv * ag_sigmoid_f64(-xv))
static ag_op OP_LOG_SIGMOID = {.costly = true, .def = {
        .name = "log_sigmoid",
        .n_inputs = 1,
        .vjp = log_sigmoid_vjp,
        .domain_lo = -4,
        .domain_hi = 4,
        .rule = "dx += g * sigmoid(-x)",
        .kernel = log_sigmoid_kernel,
        .map_f32 = log_sigmoid_f32,
        .map_f64 = log_sigmoid_f64,
    }};
ag_tensor *ag_log_sigmoid(ag_tensor *x) { return ag_unary_op(&OP_LOG_SIGMOID, x); }


/* ---- clamp ---- */

typedef struct clamp_params {
    double lo, hi;
} clamp_params;

static ag_op OP_CLAMP;

/* y = min(max(x, lo), hi);  dx += g * (lo < x < hi)
 * At either bound the subgradient 0 is chosen (the value is pinned there). */
static ag_tensor *clamp_forward(ag_tensor *const *in, const void *params)
{
    const clamp_params *p = params;
    ag_tensor *x = in[0];
    double lo = p->lo, hi = p->hi;
    if (!ag_check_inputs("clamp", 1, &x))
        return NULL;
    if (!(lo <= hi)) {
        ag_error_set(AG_ERR_VALUE, "clamp: lower bound %g is above upper bound %g", lo, hi);
        return NULL;
    }
    ag_tensor *y = ag_op_result(&OP_CLAMP, x->dtype, x->ndim, x->shape, 1, &x, p, sizeof *p);
    if (!y)
        return NULL;
    for (size_t i = 0; i < x->numel; i++) {
        double v = ag_load(x, i);
        ag_store(y, i, v < lo ? lo : v > hi ? hi : v);
    }
    return y;
}

ag_tensor *ag_clamp(ag_tensor *x, double lo, double hi)
{
    return clamp_forward(&x, &(clamp_params){lo, hi});
}

static bool clamp_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const clamp_params *p = y->params;
    ag_tensor *x = y->inputs[0];
    ag_tensor *inside = ag_mul(ag_step(ag_add_scalar(x, -p->lo)), ag_step(ag_add_scalar(ag_neg(x), p->hi)));
    return (gin[0] = ag_mul(g, inside)) != NULL;
}

/* Bounds inside the domain, so that both clip. */
static ag_tensor *clamp_example(ag_tensor *const *in) { return ag_clamp(in[0], -1.0, 1.0); }
static ag_op OP_CLAMP = {.def = {
        .name = "clamp",
        .n_inputs = 1,
        .forward = clamp_forward,
        .example = clamp_example,
        .vjp = clamp_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "dx += g * (lo < x < hi)",
    }};

/* ---- where ---- */

static ag_op OP_WHERE;

/* y = cond ? a : b (cond any dtype, nonzero = true; all three broadcast);
 * da += sum_to(where(cond, g, 0)), db += sum_to(where(cond, 0, g)) */
static ag_tensor *where_forward(ag_tensor *const *in, const void *params)
{
    (void)params; /* none: the condition is the node's third input */
    ag_tensor *a = in[0], *b = in[1], *cond = in[2];
    ag_tensor *ab[2] = {a, b};
    if (!cond) {
        ag_error_set(AG_ERR_NULL, "where: cond is NULL");
        return NULL;
    }
    if (ag_is_stale(cond)) {
        ag_check_inputs("where", 1, &cond);
        return NULL;
    }
    if (!ag_check_inputs("where", 2, ab))
        return NULL;
    int nd1, nd;
    int64_t s1[AG_MAX_DIMS], shape[AG_MAX_DIMS];
    if (!ag_broadcast_shapes("where", a->ndim, a->shape, b->ndim, b->shape, &nd1, s1) ||
        !ag_broadcast_shapes("where", cond->ndim, cond->shape, nd1, s1, &nd, shape))
        return NULL;
    ag_tensor *y = ag_op_result(&OP_WHERE, a->dtype, nd, shape, 3, in, NULL, 0);
    if (!y || y->numel == 0)
        return y;
    int64_t sa[AG_MAX_DIMS], sb[AG_MAX_DIMS], sc[AG_MAX_DIMS];
    ag_broadcast_strides(a, nd, shape, sa);
    ag_broadcast_strides(b, nd, shape, sb);
    ag_broadcast_strides(cond, nd, shape, sc);
    /* Element by element: where is rarely hot, and three strided operands
     * would need a wider odometer for little gain. */
    int64_t idx[AG_MAX_DIMS] = {0};
    for (size_t i = 0; i < y->numel; i++) {
        size_t oa = 0, ob = 0, oc = 0;
        for (int d = 0; d < nd; d++) {
            oa += (size_t)(idx[d] * sa[d]);
            ob += (size_t)(idx[d] * sb[d]);
            oc += (size_t)(idx[d] * sc[d]);
        }
        ag_store(y, i, ag_load(cond, oc) != 0 ? ag_load(a, oa) : ag_load(b, ob));
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < shape[d])
                break;
            idx[d] = 0;
        }
    }
    return y;
}

ag_tensor *ag_where(ag_tensor *cond, ag_tensor *a, ag_tensor *b)
{
    return where_forward((ag_tensor *[]){a, b, cond}, NULL);
}

static bool where_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1], *cond = y->inputs[2];
    ag_tensor *zero = ag_const_scalar(g->dtype, 0.0);
    if (wants(y, 0) && !(gin[0] = to_shape_of(ag_where(cond, g, zero), a)))
        return false;
    if (wants(y, 1) && !(gin[1] = to_shape_of(ag_where(cond, zero, g), b)))
        return false;
    return true;
}

/* The registry gives a and b; the condition a > b picks the larger
 * (maximum by where). */
static ag_tensor *where_example(ag_tensor *const *in)
{
    if (in[0] && in[1] && in[0]->dtype != AG_I64)
        return ag_where(ag_detach(ag_gt(in[0], in[1])), in[0], in[1]);
    return ag_where(NULL, in[0], in[1]);
}
static ag_op OP_WHERE = {.def = {
        .name = "where",
        .n_inputs = 2,
        .forward = where_forward,
        .example = where_example,
        .vjp = where_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "da += where(c, g, 0), db += where(c, 0, g)",
    }};

void ag_ops_register_elementwise(void)
{
    ag_op *ops[] = {&OP_POW, &OP_POW_SCALAR, &OP_SQRT, &OP_ABS, &OP_SIGN, &OP_SQUARE,
                    &OP_RECIPROCAL, &OP_SOFTPLUS, &OP_LOG_SIGMOID, &OP_CLAMP, &OP_MAXIMUM,
                    &OP_MINIMUM, &OP_WHERE, &OP_GT, &OP_GE, &OP_LT, &OP_LE, &OP_EQ, &OP_NE};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        ag_op_register_builtin(ops[i]);
}

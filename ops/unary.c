/* SPDX-License-Identifier: MIT */
/* unary.c — elementwise functions of one tensor: the exponential family,
 * sigmoid and tanh, sin/cos/erf/log1p/expm1, and the activations (relu,
 * gelu, silu, leaky_relu, elu, hardtanh), with rsub and rdiv.
 *
 * Each op's kernel and its vector-Jacobian rule sit together under a one-line
 * statement of the rule. Rules reuse the output where the derivative is a
 * function of it (sigmoid, tanh, exp), as KANN does. */
#include "ops_internal.h"

#include <math.h>

/* A map over a slice of the elements: each element depends on its own
 * input only, so any cut gives the same bits. */
typedef struct map_job {
    const ag_op *op;
    const ag_tensor *x;
    ag_tensor *y;
} map_job;

static void map_chunk(size_t lo, size_t hi, void *ctx)
{
    const map_job *j = ctx;
    if (j->x->dtype == AG_F32)
        j->op->def.map_f32(hi - lo, (const float *)j->x->data + lo, (float *)j->y->data + lo);
    else
        j->op->def.map_f64(hi - lo, (const double *)j->x->data + lo, (double *)j->y->data + lo);
}

/* The forward of every op given by its maps (these and the one-input ops of
 * elementwise.c): check, allocate and record, run the map of x's dtype. */
ag_tensor *ag_unary_op(const ag_op *op, ag_tensor *x)
{
    if (!ag_inputs_ok(op->def.name, 1, &x))
        return NULL;
    ag_tensor *y = ag_op_result_checked(op, x->dtype, x->ndim, x->shape, x->numel, 1, &x, NULL, 0);
    if (!y)
        return NULL;
    /* Only built-in maps are split: a user's map may keep state. */
    size_t grain = op->costly ? AG_GRAIN_MATH : AG_GRAIN;
    if (x->numel >= 2 * grain && !op->user) {
        map_job j = {op, x, y};
        ag_parallel_for(x->numel, grain, map_chunk, &j);
        return y;
    }
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
static ag_op OP_EXP = {.costly = true, .def = {
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
static ag_op OP_LOG = {.costly = true, .def = {
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
static ag_op OP_SIGMOID = {.costly = true, .def = {
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
static ag_op OP_TANH = {.costly = true, .def = {
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


/* ---- special functions and the activations of CNNs and Transformers ---- */

/* Constants of the Gaussian, to 20 digits: C11's <math.h> names none. */
#define SQRT1_2 0.70710678118654752440       /* 1/√2 */
#define TWO_OVER_SQRT_PI 1.12837916709551257390 /* 2/√π, erf's slope at 0 */
#define INV_SQRT_2PI 0.39894228040143267794  /* 1/√(2π), φ(0) */
#define SQRT_2_OVER_PI 0.79788456080286535588 /* √(2/π), gelu_tanh's β */
#define GELU_KAPPA 0.044715                  /* gelu_tanh's cubic coefficient */

/* y = sin x;  dx += g * cos x */
AG_UNARY_MAPS(sin, sinf(v), sin(v))
static bool sin_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_cos(y->inputs[0]))) != NULL;
}
static ag_op OP_SIN = {.costly = true, .def = {
        .name = "sin",
        .n_inputs = 1,
        .vjp = sin_vjp,
        .domain_lo = -3,
        .domain_hi = 3,
        .rule = "dx += g * cos(x)",
        .map_f32 = sin_f32,
        .map_f64 = sin_f64,
    }};
ag_tensor *ag_sin(ag_tensor *x) { return ag_unary_op(&OP_SIN, x); }

/* y = cos x;  dx += -g * sin x */
AG_UNARY_MAPS(cos, cosf(v), cos(v))
static bool cos_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_neg(ag_sin(y->inputs[0])))) != NULL;
}
static ag_op OP_COS = {.costly = true, .def = {
        .name = "cos",
        .n_inputs = 1,
        .vjp = cos_vjp,
        .domain_lo = -3,
        .domain_hi = 3,
        .rule = "dx += -g * sin(x)",
        .map_f32 = cos_f32,
        .map_f64 = cos_f64,
    }};
ag_tensor *ag_cos(ag_tensor *x) { return ag_unary_op(&OP_COS, x); }

/* y = erf x;  dx += g * 2/√π * e^(-x²) */
AG_UNARY_MAPS(erf, erff(v), erf(v))
static bool erf_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *d = ag_mul_scalar(ag_exp(ag_neg(ag_square(y->inputs[0]))), TWO_OVER_SQRT_PI);
    return (gin[0] = ag_mul(g, d)) != NULL;
}
static ag_op OP_ERF = {.costly = true, .def = {
        .name = "erf",
        .n_inputs = 1,
        .vjp = erf_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += g * 2/sqrt(pi) * exp(-x^2)",
        .map_f32 = erf_f32,
        .map_f64 = erf_f64,
    }};
ag_tensor *ag_erf(ag_tensor *x) { return ag_unary_op(&OP_ERF, x); }

/* y = ln(1 + x), exact for small x where 1 + x would round;  dx += g / (1 + x)
 * Defined above -1: the checker draws from (-0.8, 3), away from the pole. */
AG_UNARY_MAPS(log1p, log1pf(v), log1p(v))
static bool log1p_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_div(g, ag_add_scalar(y->inputs[0], 1.0))) != NULL;
}
static ag_op OP_LOG1P = {.costly = true, .def = {
        .name = "log1p",
        .n_inputs = 1,
        .vjp = log1p_vjp,
        .domain_lo = -0.8,
        .domain_hi = 3,
        .rule = "dx += g / (1 + x)",
        .map_f32 = log1p_f32,
        .map_f64 = log1p_f64,
    }};
ag_tensor *ag_log1p(ag_tensor *x) { return ag_unary_op(&OP_LOG1P, x); }

/* y = e^x - 1, exact for small x;  dx += g * (y + 1) (PyTorch's form) */
AG_UNARY_MAPS(expm1, expm1f(v), expm1(v))
static bool expm1_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_add_scalar(y, 1.0))) != NULL;
}
static ag_op OP_EXPM1 = {.costly = true, .def = {
        .name = "expm1",
        .n_inputs = 1,
        .vjp = expm1_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += g * (y + 1)",
        .map_f32 = expm1_f32,
        .map_f64 = expm1_f64,
    }};
ag_tensor *ag_expm1(ag_tensor *x) { return ag_unary_op(&OP_EXPM1, x); }

/* y = x Φ(x), Φ(x) = (1 + erf(x/√2)) / 2;  dx += g * (Φ(x) + x φ(x)),
 * φ(x) = e^(-x²/2) / √(2π). The forward is PyTorch's (approximate='none'). */
AG_UNARY_MAPS(gelu, v * 0.5f * (1.0f + erff(v * (float)SQRT1_2)),
              v * 0.5 * (1.0 + erf(v * SQRT1_2)))
static bool gelu_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0];
    ag_tensor *cdf = ag_mul_scalar(ag_add_scalar(ag_erf(ag_mul_scalar(x, SQRT1_2)), 1.0), 0.5);
    ag_tensor *pdf = ag_mul_scalar(ag_exp(ag_mul_scalar(ag_square(x), -0.5)), INV_SQRT_2PI);
    return (gin[0] = ag_mul(g, ag_add(cdf, ag_mul(x, pdf)))) != NULL;
}
AG_UNARY_GRAD(gelu,
              gv * ((erff(xv * (float)SQRT1_2) + 1.0f) * 0.5f +
                    xv * (expf((xv * xv) * -0.5f) * (float)INV_SQRT_2PI)),
              gv * ((erf(xv * SQRT1_2) + 1.0) * 0.5 + xv * (exp((xv * xv) * -0.5) * INV_SQRT_2PI)))
static ag_op OP_GELU = {.costly = true, .def = {
        .name = "gelu",
        .n_inputs = 1,
        .vjp = gelu_vjp,
        .domain_lo = -3,
        .domain_hi = 3,
        .rule = "dx += g * (Phi(x) + x * phi(x))",
        .kernel = gelu_kernel,
        .map_f32 = gelu_f32,
        .map_f64 = gelu_f64,
    }};
ag_tensor *ag_gelu(ag_tensor *x) { return ag_unary_op(&OP_GELU, x); }

/* y = x/2 (1 + t), t = tanh(u), u = β(x + κx³);
 * dx += g * ((1 + t)/2 + x/2 (1 - t²) β(1 + 3κx²))
 * PyTorch's approximate='tanh' (β = √(2/π), κ = 0.044715), in its order. */
static float gelu_tanh_f32_1(float v)
{
    float inner = (float)SQRT_2_OVER_PI * (v + (float)GELU_KAPPA * (v * v * v));
    return 0.5f * v * (1.0f + tanhf(inner));
}
static double gelu_tanh_f64_1(double v)
{
    double inner = SQRT_2_OVER_PI * (v + GELU_KAPPA * (v * v * v));
    return 0.5 * v * (1.0 + tanh(inner));
}
/* The derivative, for the kernel, in the rule's order of operations. */
static float gelu_tanh_d_f32(float x)
{
    float t = tanhf((x + (x * x) * x * (float)GELU_KAPPA) * (float)SQRT_2_OVER_PI);
    float slope = ((x * x) * (float)(3 * GELU_KAPPA) + 1.0f) * (float)SQRT_2_OVER_PI;
    return (t + 1.0f) * 0.5f + (x * 0.5f) * ((-(t * t) + 1.0f) * slope);
}
static double gelu_tanh_d_f64(double x)
{
    double t = tanh((x + (x * x) * x * GELU_KAPPA) * SQRT_2_OVER_PI);
    double slope = ((x * x) * (3 * GELU_KAPPA) + 1.0) * SQRT_2_OVER_PI;
    return (t + 1.0) * 0.5 + (x * 0.5) * ((-(t * t) + 1.0) * slope);
}
AG_UNARY_MAPS(gelu_tanh, gelu_tanh_f32_1(v), gelu_tanh_f64_1(v))
static bool gelu_tanh_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *x2 = ag_square(x);
    ag_tensor *u = ag_mul_scalar(ag_add(x, ag_mul_scalar(ag_mul(x2, x), GELU_KAPPA)), SQRT_2_OVER_PI);
    ag_tensor *t = ag_tanh(u);
    ag_tensor *slope = ag_mul_scalar(ag_add_scalar(ag_mul_scalar(x2, 3 * GELU_KAPPA), 1.0), SQRT_2_OVER_PI);
    ag_tensor *left = ag_mul_scalar(ag_add_scalar(t, 1.0), 0.5);
    ag_tensor *right = ag_mul(ag_mul_scalar(x, 0.5), ag_mul(ag_add_scalar(ag_neg(ag_square(t)), 1.0), slope));
    return (gin[0] = ag_mul(g, ag_add(left, right))) != NULL;
}
AG_UNARY_GRAD(gelu_tanh, gv * gelu_tanh_d_f32(xv), gv * gelu_tanh_d_f64(xv))
static ag_op OP_GELU_TANH = {.costly = true, .def = {
        .name = "gelu_tanh",
        .n_inputs = 1,
        .vjp = gelu_tanh_vjp,
        .domain_lo = -3,
        .domain_hi = 3,
        .rule = "dx += g * ((1 + t)/2 + x/2 * (1 - t^2) * b * (1 + 3k x^2)), t = tanh(b(x + k x^3))",
        .kernel = gelu_tanh_kernel,
        .map_f32 = gelu_tanh_f32,
        .map_f64 = gelu_tanh_f64,
    }};
ag_tensor *ag_gelu_tanh(ag_tensor *x) { return ag_unary_op(&OP_GELU_TANH, x); }

/* y = x σ(x);  dx += g * σ(x) (1 + x (1 - σ(x)))
 * σ without overflow (ag_sigmoid_f*), where PyTorch's x / (1 + e^-x) gives
 * the same values. */
AG_UNARY_MAPS(silu, v * ag_sigmoid_f32(v), v * ag_sigmoid_f64(v))
static bool silu_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *s = ag_sigmoid(x);
    ag_tensor *d = ag_mul(s, ag_add_scalar(ag_mul(x, ag_add_scalar(ag_neg(s), 1.0)), 1.0));
    return (gin[0] = ag_mul(g, d)) != NULL;
}
AG_UNARY_GRAD(silu,
              gv * (ag_sigmoid_f32(xv) * (xv * (-ag_sigmoid_f32(xv) + 1.0f) + 1.0f)),
              gv * (ag_sigmoid_f64(xv) * (xv * (-ag_sigmoid_f64(xv) + 1.0) + 1.0)))
static ag_op OP_SILU = {.costly = true, .def = {
        .name = "silu",
        .n_inputs = 1,
        .vjp = silu_vjp,
        .domain_lo = -4,
        .domain_hi = 4,
        .rule = "dx += g * sigmoid(x) * (1 + x * (1 - sigmoid(x)))",
        .kernel = silu_kernel,
        .map_f32 = silu_f32,
        .map_f64 = silu_f64,
    }};
ag_tensor *ag_silu(ag_tensor *x) { return ag_unary_op(&OP_SILU, x); }

/* ---- activations with a parameter ---- */

typedef struct activation_params {
    double a; /* leaky_relu's negative slope, elu's alpha */
} activation_params;

static ag_op OP_LEAKY_RELU, OP_ELU;

/* Checks x, records a node of op keeping p, and leaves the filling to the
 * caller: the shared start of the forwards below. */
static ag_tensor *activation_result(ag_op *op, ag_tensor *x, const activation_params *p)
{
    if (!ag_check_inputs(op->def.name, 1, &x))
        return NULL;
    return ag_op_result(op, x->dtype, x->ndim, x->shape, 1, &x, p, sizeof *p);
}

/* The gradient g where x > 0 and g * d(x) elsewhere, as loops; T the
 * dtype's type, D the derivative on the negative side (of xv and a). */
#define KINKED_GRAD(T, D)                                                                     \
    {                                                                                         \
        const T *restrict G = g->data, *restrict X = y->inputs[0]->data;                      \
        T *restrict dd = d, a = (T)p->a;                                                      \
        (void)a;                                                                              \
        for (size_t i = 0; i < n; i++) {                                                      \
            T xv = X[i], v = xv > 0 ? G[i] : G[i] * (D);                                      \
            dd[i] = dst->accumulate ? dd[i] + v : v;                                          \
        }                                                                                     \
    }

/* y = x > 0 ? x : a x;  dx += where(x > 0, g, g * a)
 * At 0 the slope a is taken, as PyTorch does (its test is x > 0). */
static ag_tensor *leaky_relu_forward(ag_tensor *const *in, const void *params)
{
    const activation_params *p = params;
    ag_tensor *x = in[0], *y = activation_result(&OP_LEAKY_RELU, x, p);
    if (!y)
        return NULL;
    if (x->dtype == AG_F32) {
        const float *xs = x->data;
        float *ys = y->data, a = (float)p->a;
        for (size_t i = 0; i < x->numel; i++)
            ys[i] = xs[i] > 0 ? xs[i] : xs[i] * a;
    } else {
        const double *xs = x->data;
        double *ys = y->data;
        for (size_t i = 0; i < x->numel; i++)
            ys[i] = xs[i] > 0 ? xs[i] : xs[i] * p->a;
    }
    return y;
}

ag_tensor *ag_leaky_relu(ag_tensor *x, double negative_slope)
{
    return leaky_relu_forward(&x, &(activation_params){negative_slope});
}

static bool leaky_relu_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const activation_params *p = y->params;
    return (gin[0] = ag_where(ag_step(y->inputs[0]), g, ag_mul_scalar(g, p->a))) != NULL;
}

static bool leaky_relu_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const activation_params *p = y->params;
    void *d = ag_grad_dst_data(dst);
    if (!d)
        return false;
    size_t n = y->numel;
    if (y->dtype == AG_F32)
        KINKED_GRAD(float, a)
    else
        KINKED_GRAD(double, a)
    return true;
}

/* A slope far from PyTorch's default 0.01, so that a rule dropping it is caught. */
static ag_tensor *leaky_relu_example(ag_tensor *const *in) { return ag_leaky_relu(in[0], 0.2); }
static ag_op OP_LEAKY_RELU = {.def = {
        .name = "leaky_relu",
        .n_inputs = 1,
        .forward = leaky_relu_forward,
        .example = leaky_relu_example,
        .vjp = leaky_relu_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "dx += where(x > 0, g, g * a)",
        .kernel = leaky_relu_kernel,
    }};

/* y = x > 0 ? x : a (e^x - 1);  dx += where(x > 0, g, g * a e^x)
 * Continuous at 0, with a kink there unless a = 1; PyTorch takes the
 * negative side's slope a at 0 (its test is x <= 0), and so does this. */
static ag_tensor *elu_forward(ag_tensor *const *in, const void *params)
{
    const activation_params *p = params;
    ag_tensor *x = in[0], *y = activation_result(&OP_ELU, x, p);
    if (!y)
        return NULL;
    if (x->dtype == AG_F32) {
        const float *xs = x->data;
        float *ys = y->data, a = (float)p->a;
        for (size_t i = 0; i < x->numel; i++)
            ys[i] = xs[i] > 0 ? xs[i] : expm1f(xs[i]) * a;
    } else {
        const double *xs = x->data;
        double *ys = y->data;
        for (size_t i = 0; i < x->numel; i++)
            ys[i] = xs[i] > 0 ? xs[i] : expm1(xs[i]) * p->a;
    }
    return y;
}

ag_tensor *ag_elu(ag_tensor *x, double alpha)
{
    return elu_forward(&x, &(activation_params){alpha});
}

static bool elu_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const activation_params *p = y->params;
    ag_tensor *x = y->inputs[0];
    ag_tensor *neg_side = ag_mul(g, ag_mul_scalar(ag_exp(x), p->a));
    return (gin[0] = ag_where(ag_step(x), g, neg_side)) != NULL;
}

static bool elu_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const activation_params *p = y->params;
    void *d = ag_grad_dst_data(dst);
    if (!d)
        return false;
    size_t n = y->numel;
    if (y->dtype == AG_F32)
        KINKED_GRAD(float, expf(xv) * a)
    else
        KINKED_GRAD(double, exp(xv) * a)
    return true;
}

/* alpha ≠ 1, so that the kink at 0 is real and a rule dropping alpha is caught. */
static ag_tensor *elu_example(ag_tensor *const *in) { return ag_elu(in[0], 1.5); }
static ag_op OP_ELU = {.def = {
        .name = "elu",
        .n_inputs = 1,
        .forward = elu_forward,
        .example = elu_example,
        .vjp = elu_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .rule = "dx += where(x > 0, g, g * a * exp(x))",
        .kernel = elu_kernel,
    }};

/* ---- composites: no node of their own, checked through their parts ---- */

/* hardtanh is clamp under PyTorch's other name: its gradient (1 strictly
 * inside, 0 at and beyond the bounds) is clamp's here. */
ag_tensor *ag_hardtanh(ag_tensor *x, double min_val, double max_val)
{
    if (!ag_check_inputs("hardtanh", 1, &x))
        return NULL;
    if (!(min_val <= max_val)) {
        ag_error_set(AG_ERR_VALUE, "hardtanh: min_val %g is above max_val %g", min_val, max_val);
        return NULL;
    }
    return ag_clamp(x, min_val, max_val);
}

/* c - x as -x + c, and c / x as (1/x)·c: the latter is PyTorch's own
 * Tensor.__rdiv__ (x.reciprocal() * c), so the roundings agree too. */
ag_tensor *ag_rsub(ag_tensor *x, double c)
{
    if (!ag_check_inputs("rsub", 1, &x))
        return NULL;
    return ag_add_scalar(ag_neg(x), c);
}

ag_tensor *ag_rdiv(ag_tensor *x, double c)
{
    if (!ag_check_inputs("rdiv", 1, &x))
        return NULL;
    return ag_mul_scalar(ag_reciprocal(x), c);
}

/* Bounds inside the domain, so that both clip; constants not 0 or 1. */
static ag_tensor *hardtanh_example(ag_tensor *const *in) { return ag_hardtanh(in[0], -1.0, 0.5); }
static ag_tensor *rsub_example(ag_tensor *const *in) { return ag_rsub(in[0], 0.75); }
static ag_tensor *rdiv_example(ag_tensor *const *in) { return ag_rdiv(in[0], -1.5); }
static ag_op OP_HARDTANH = {.def = {
        .name = "hardtanh",
        .n_inputs = 1,
        .example = hardtanh_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_KINK,
    }};
static ag_op OP_RSUB = {.def = {
        .name = "rsub",
        .n_inputs = 1,
        .example = rsub_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
    }};
/* Away from the pole at 0, as reciprocal. */
static ag_op OP_RDIV = {.def = {
        .name = "rdiv",
        .n_inputs = 1,
        .example = rdiv_example,
        .domain_lo = 0.5,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
    }};

void ag_ops_register_unary(void)
{
    ag_op *ops[] = {&OP_NEG,  &OP_EXP,   &OP_LOG,       &OP_SIGMOID,    &OP_TANH, &OP_STEP,
                    &OP_RELU, &OP_SIN,   &OP_COS,       &OP_ERF,        &OP_LOG1P, &OP_EXPM1,
                    &OP_GELU, &OP_GELU_TANH, &OP_SILU, &OP_LEAKY_RELU, &OP_ELU, &OP_HARDTANH,
                    &OP_RSUB, &OP_RDIV};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        ag_op_register_builtin(ops[i]);
}

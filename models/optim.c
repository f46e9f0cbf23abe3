/* SPDX-License-Identifier: MIT */
/* optim.c — SGD (momentum, Nesterov), Adam and AdamW.
 *
 * An optimizer reads the gradients the tape left on the parameters and
 * updates the values in place; it records nothing. Its state (momentum
 * buffers, first and second moments) lives in a parameter store of its own,
 * keyed by "<kind>.<parameter name>", so a checkpoint can save it beside the
 * model and training resumes exactly where it stopped. The update formulas
 * follow PyTorch's torch.optim definitions, so a run can be compared with
 * PyTorch step by step.
 *
 * A step is two passes over the gradients, both plain loops the compiler
 * vectorizes, because a training step is meant to cost within about 10% of
 * hand-written C, whose update is `w[i] -= lr * g[i]`: the global norm,
 * which also finds a NaN or Inf before anything changes, then the update. */
#include "op.h"
#include "../autograd/vector_clones.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* The largest step count: Adam's bias corrections take the count as a
 * double, exact up to 2^53, and no run takes 9e15 steps, so a larger count
 * is a corrupted one (a checkpoint's, say), and one that could reach
 * UINT64_MAX would wrap to 0, where the corrections divide by zero. */
#define MAX_STEPS ((uint64_t)1 << 53)

struct ag_optim {
    ag_optim_config cfg;
    ag_params *params; /* borrowed */
    ag_params *state;  /* owned: buffers per parameter, same order as params */
    ag_tensor **buf1;  /* momentum buffer or exp_avg, per parameter (NULL for i64) */
    ag_tensor **buf2;  /* exp_avg_sq (Adam/AdamW) */
    /* Each parameter as the step under way sees it, looked up once per step
     * (a small step, the tiny MLP's, is mostly such lookups): the norm pass
     * and the update read it from here. */
    struct step_item {
        ag_tensor *p;
        const char *name;
        const ag_tensor *g; /* its gradient, NULL when it takes no part */
        size_t n;
        bool f32;
    } *items;
    size_t n;
    bool has_f32;      /* some parameter is f32 (its norm pass may need a recount) */
    uint64_t steps;
    double last_norm;
};

static bool add_state(ag_optim *o, const char *kind, const char *name, const ag_tensor *like,
                      ag_tensor **slot)
{
    char key[160];
    snprintf(key, sizeof key, "%s.%s", kind, name);
    ag_tensor *t = ag_zeros(ag_tensor_dtype(like), ag_ndim(like), ag_shape(like));
    if (!t || !ag_params_add(o->state, key, t))
        return false;
    ag_set_requires_grad(t, false);
    *slot = t;
    return true;
}

ag_optim_config ag_optim_defaults(ag_optim_kind kind)
{
    /* PyTorch's defaults (torch.optim.SGD, Adam, AdamW). */
    ag_optim_config c = {.kind = kind, .lr = 1e-3};
    if (kind != AG_SGD) {
        c.beta1 = 0.9;
        c.beta2 = 0.999;
        c.eps = 1e-8;
    }
    if (kind == AG_ADAMW)
        c.weight_decay = 0.01;
    return c;
}

ag_optim *ag_optim_new(ag_params *params, const ag_optim_config *cfg)
{
    if (!params || !cfg) {
        ag_error_set(AG_ERR_NULL, "optim_new: %s is NULL", params ? "config" : "params");
        return NULL;
    }
    ag_optim_config c = *cfg;
    if (c.kind != AG_SGD && c.kind != AG_ADAM && c.kind != AG_ADAMW) {
        ag_error_set(AG_ERR_VALUE, "optim_new: unknown optimizer kind %d", (int)c.kind);
        return NULL;
    }
    /* Zero means zero: the defaults come from ag_optim_defaults. eps is
     * Adam's alone (SGD ignores it). */
    bool adam = c.kind != AG_SGD;
    /* Every setting finite: an infinite rate, decay or eps turns finite
     * parameters into Inf or NaN, or freezes them, at the first step. */
    const struct {
        const char *name;
        double v;
        bool ok;
        const char *range;
    } checks[] = {
        {"lr", c.lr, c.lr >= 0 && isfinite(c.lr), ">= 0 and finite"},
        {"momentum", c.momentum, c.momentum >= 0 && c.momentum < 1, "in [0, 1)"},
        {"beta1", c.beta1, c.beta1 >= 0 && c.beta1 < 1, "in [0, 1)"},
        {"beta2", c.beta2, c.beta2 >= 0 && c.beta2 < 1, "in [0, 1)"},
        {"eps", c.eps, !adam || (c.eps > 0 && isfinite(c.eps)),
         "> 0 and finite (ag_optim_defaults sets 1e-8)"},
        {"weight_decay", c.weight_decay, c.weight_decay >= 0 && isfinite(c.weight_decay),
         ">= 0 and finite"},
        {"clip_norm", c.clip_norm, c.clip_norm >= 0 && isfinite(c.clip_norm),
         ">= 0 and finite (0: no clipping)"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (!checks[i].ok) {
            ag_error_set(AG_ERR_VALUE, "optim_new: %s is %g; it must be %s", checks[i].name,
                         checks[i].v, checks[i].range);
            return NULL;
        }
    if (c.nesterov && c.momentum == 0) {
        ag_error_set(AG_ERR_VALUE, "optim_new: Nesterov momentum needs a momentum > 0");
        return NULL;
    }
    ag_optim *o = ag_calloc(1, sizeof *o);
    size_t n = ag_params_count(params);
    if (o) {
        o->buf1 = ag_calloc(n, sizeof *o->buf1);
        o->buf2 = ag_calloc(n, sizeof *o->buf2);
        o->items = ag_calloc(n ? n : 1, sizeof *o->items);
        o->state = ag_params_new();
    }
    if (!o || !o->buf1 || !o->buf2 || !o->items || !o->state) {
        ag_error_set(AG_ERR_NOMEM, "optim_new: out of memory");
        ag_optim_free(o);
        return NULL;
    }
    o->cfg = c;
    o->params = params;
    o->n = n;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        const char *name;
        const ag_tensor *p = ag_params_at(params, i, &name);
        if (ag_tensor_dtype(p) == AG_I64)
            continue;
        o->has_f32 |= ag_tensor_dtype(p) == AG_F32;
        if (c.kind == AG_SGD) {
            if (c.momentum > 0)
                ok = add_state(o, "momentum_buffer", name, p, &o->buf1[i]);
        } else {
            ok = add_state(o, "exp_avg", name, p, &o->buf1[i]) &&
                 add_state(o, "exp_avg_sq", name, p, &o->buf2[i]);
        }
    }
    if (!ok) {
        ag_optim_free(o);
        return NULL;
    }
    return o;
}

void ag_optim_free(ag_optim *o)
{
    if (!o)
        return;
    ag_params_free(o->state);
    ag_free(o->buf1);
    ag_free(o->buf2);
    ag_free(o->items);
    ag_free(o);
}

/* ---- the global gradient norm ----
 *
 * Every step needs it, for clipping and to refuse a step with a NaN or Inf
 * gradient, so it must cost a fraction of the update. f32 squares are summed
 * in f32, in LANES independent accumulators: the additions have no order
 * imposed on them, so GCC vectorizes the loop without -ffast-math, and
 * LANES of them hide the latency of the adds. Every BLOCK elements the
 * lanes go into a double, which bounds the f32 rounding to that of sums of
 * BLOCK / LANES terms: at most about 4e-6 relative on the sum (2e-6 on the
 * norm), 1e-7 typically; PyTorch too computes an f32 norm in f32. f64
 * gradients take the same loops in double. */
enum { LANES = 16, BLOCK = 1024 };

/* An f32 square overflows for |g| > 1.8e19, and is subnormal (inexact, and
 * slow) or 0 for |g| < 1.1e-19: an f32 sum of squares that is not finite or
 * below this bound is recounted in double, where f32 squares are exact.
 * Above it, the squares that lost precision (each by at most 1.4e-45) are a
 * negligible part of the sum for any realistic parameter count. */
#define F32_SQUARES_TRUSTED 1e-30

#define SUM_SQUARES(T)                                                                        \
    /* Σ g[i]² over m elements, m a multiple of LANES, accumulated in T. */                   \
    static double block_squares_##T(const T *restrict g, size_t m)                            \
    {                                                                                         \
        T lane[LANES] = {0};                                                                  \
        for (size_t i = 0; i < m; i += LANES)                                                 \
            for (int k = 0; k < LANES; k++)                                                   \
                lane[k] += g[i + k] * g[i + k];                                               \
        /* the lanes added pairwise in double: four rounds of vector adds,                     \
         * where a running sum waited on each of sixteen adds in turn */                      \
        double d[LANES];                                                                      \
        for (int k = 0; k < LANES; k++)                                                       \
            d[k] = (double)lane[k];                                                           \
        for (int w = LANES / 2; w > 0; w /= 2)                                                \
            for (int k = 0; k < w; k++)                                                       \
                d[k] += d[k + w];                                                             \
        return d[0];                                                                          \
    }                                                                                         \
                                                                                              \
    /* Σ g[i]² over n elements: blocks in T, each added into a double. */                     \
    AG_VECTOR_CLONES static double sum_squares_##T(const T *restrict g, size_t n)             \
    {                                                                                         \
        double s = 0;                                                                         \
        size_t i = 0, m;                                                                      \
        while ((m = (n - i < BLOCK ? n - i : BLOCK) / LANES * LANES) > 0) {                   \
            s += block_squares_##T(g + i, m);                                                 \
            i += m;                                                                           \
        }                                                                                     \
        for (; i < n; i++)                                                                    \
            s += (double)g[i] * (double)g[i];                                                 \
        return s;                                                                             \
    }

SUM_SQUARES(float)
SUM_SQUARES(double)

/* Σ g[i]² of f32 values with every square and sum in double (8 lanes, so
 * it vectorizes too): the recount for sums the f32 pass cannot be trusted
 * with. */
static double sum_squares_float_exact(const float *restrict g, size_t n)
{
    double lane[8] = {0}, s = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            lane[k] += (double)g[i + k] * (double)g[i + k];
    for (; i < n; i++)
        s += (double)g[i] * (double)g[i];
    for (int k = 0; k < 8; k++)
        s += lane[k];
    return s;
}

/* The gradient a step uses for parameter p, or NULL when p takes no part
 * in the step: an i64 tensor, one frozen with ag_set_requires_grad(p,
 * false) (even if it kept a gradient from before it was frozen, as PyTorch
 * skips a parameter whose grad is None), or one no gradient has reached.
 * ag_grad_of, not p->grad: a gradient zeroed by ag_zero_grad is only
 * marked zero, and its buffer is cleared when it is read. Called after the
 * staleness check, so every gradient is readable. */
static const ag_tensor *step_grad(const ag_tensor *p)
{
    if (ag_tensor_dtype(p) == AG_I64 || !ag_requires_grad(p))
        return NULL;
    return ag_grad_of(p);
}

/* Element j of an f32 or f64 gradient, as a double. */
static double grad_at(const ag_tensor *g, size_t j)
{
    const void *d = ag_data_const(g);
    return ag_tensor_dtype(g) == AG_F32 ? ((const float *)d)[j] : ((const double *)d)[j];
}

/* Σ g² over the gradients the step will use; `exact` recounts f32 ones in
 * double. */
static double grad_sum_squares(const ag_optim *o, bool exact)
{
    double s = 0;
    for (size_t i = 0; i < o->n; i++) {
        const ag_tensor *g = o->items[i].g;
        if (!g)
            continue;
        const void *d = ag_data_const(g);
        size_t n = o->items[i].n;
        if (!o->items[i].f32)
            s += sum_squares_double(d, n);
        else if (exact)
            s += sum_squares_float_exact(d, n);
        else
            s += sum_squares_float(d, n);
    }
    return s;
}

/* The norm of finite gradients whose squares overflow a double (|g| above
 * 1.3e154), as LAPACK's dnrm2 does it: the largest |g| times the norm of
 * g / max. NaN or Inf when a gradient is. Two more passes, but only after
 * the sum overflowed, which no realistic training reaches: the common step
 * pays nothing for it. */
static double grad_norm_scaled(const ag_optim *o)
{
    double amax = 0;
    for (size_t i = 0; i < o->n; i++) {
        const ag_tensor *g = o->items[i].g;
        for (size_t j = 0, n = g ? ag_numel(g) : 0; j < n; j++) {
            double v = fabs(grad_at(g, j));
            if (!(v <= DBL_MAX))
                return v; /* NaN or Inf */
            amax = v > amax ? v : amax;
        }
    }
    double s = 0;
    for (size_t i = 0; amax > 0 && i < o->n; i++) {
        const ag_tensor *g = o->items[i].g;
        for (size_t j = 0, n = g ? ag_numel(g) : 0; j < n; j++) {
            double v = grad_at(g, j) / amax;
            s += v * v;
        }
    }
    return amax * sqrt(s);
}

/* The global L2 norm of the gradients: NaN or Inf when one of them is. */
static double grad_norm(const ag_optim *o)
{
    double s = grad_sum_squares(o, false);
    if (o->has_f32 && !(s >= F32_SQUARES_TRUSTED && isfinite(s)))
        s = grad_sum_squares(o, true);
    if (!isfinite(s))
        return grad_norm_scaled(o);
    return sqrt(s);
}

/* ---- the update ----
 *
 * One loop per rule and dtype, with the rule's coefficients in locals of
 * the parameter's precision, so that each loop is branch-free and
 * vectorizes: plain SGD on f32 costs what `w[i] -= lr * g[i]` costs. The
 * arithmetic is in the parameter's precision, as PyTorch's is; the
 * coefficients (bias corrections, the clipping scale) are worked out once
 * per step in double, as PyTorch works out its Python scalars. */
typedef enum update_rule {
    SGD_PLAIN,    /* no momentum, no weight decay: the common case, kept lean */
    SGD_DECAY,    /* weight decay, no momentum */
    SGD_MOMENTUM, /* momentum (and weight decay, possibly 0) */
    SGD_NESTEROV,
    ADAM_L2,      /* Adam, weight decay (possibly 0) added to the gradient */
    ADAMW         /* Adam, weight decay applied to the parameter */
} update_rule;

/* One step's coefficients. `scale` rescales clipped gradients (1 when not
 * clipped); the Adam ones fold in the bias corrections of step t. */
typedef struct step_coefs {
    update_rule rule;
    double lr, scale, weight_decay, momentum;
    double beta1, beta2, eps;
    double step_size;   /* Adam: lr / (1 − β1^t) */
    double inv_c2_sqrt; /* Adam: 1 / √(1 − β2^t) */
    double keep;        /* AdamW: 1 − lr·λ, the decoupled decay */
} step_coefs;

static step_coefs step_coefficients(const ag_optim_config *c, double norm, uint64_t t)
{
    step_coefs k = {.lr = c->lr, .scale = 1.0, .weight_decay = c->weight_decay,
                    .momentum = c->momentum, .beta1 = c->beta1, .beta2 = c->beta2,
                    .eps = c->eps, .keep = 1.0};
    if (c->clip_norm > 0 && norm > c->clip_norm)
        k.scale = c->clip_norm / norm;
    if (c->kind == AG_SGD) {
        if (c->momentum > 0)
            k.rule = c->nesterov ? SGD_NESTEROV : SGD_MOMENTUM;
        else
            k.rule = c->weight_decay > 0 ? SGD_DECAY : SGD_PLAIN;
        return k;
    }
    k.step_size = c->lr / (1.0 - pow(c->beta1, (double)t));
    k.inv_c2_sqrt = 1.0 / sqrt(1.0 - pow(c->beta2, (double)t));
    if (c->kind == AG_ADAMW) {
        k.rule = ADAMW;
        k.keep = 1.0 - c->lr * c->weight_decay;
    } else {
        k.rule = ADAM_L2;
    }
    return k;
}

/* Whether every coefficient of k is finite in double and, when f32
 * parameters take part, in float too (the loops round them to the
 * parameter's precision: a step size of 1e39 is Inf in f32), and the bias
 * corrections are nonzero. With validated settings and a step count below
 * MAX_STEPS this always holds; it is the guard that a future setting or a
 * corrupted count cannot slip past. Names the first bad coefficient. */
static bool coefs_finite(const step_coefs *k, bool f32, const char **bad, double *value)
{
    const struct {
        const char *name;
        double v;
    } c[] = {{"learning rate", k->lr},           {"clipping scale", k->scale},
             {"weight decay", k->weight_decay},  {"momentum", k->momentum},
             {"Adam step size lr / (1 - beta1^t)", k->step_size},
             {"Adam bias correction 1 / sqrt(1 - beta2^t)", k->inv_c2_sqrt},
             {"AdamW decay factor 1 - lr * weight_decay", k->keep}};
    double limit = f32 ? FLT_MAX : DBL_MAX;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (!(fabs(c[i].v) <= limit)) {
            *bad = c[i].name;
            *value = c[i].v;
            return false;
        }
    /* A zero 1/sqrt(1 - beta2^t) would divide the moments by eps alone. */
    if ((k->rule == ADAM_L2 || k->rule == ADAMW) && !(k->inv_c2_sqrt > 0)) {
        *bad = c[5].name;
        *value = k->inv_c2_sqrt;
        return false;
    }
    return true;
}

/* An element that is NaN or ±Inf, as an integer flag the loops OR
 * together: integer ORs have no order to keep, so the loops still
 * vectorize, where a floating-point test-and-branch would not. x − x is 0
 * for every finite x and NaN for ±Inf and NaN (IEEE arithmetic: the
 * compiler may not fold it without -ffinite-math-only), so the test is one
 * subtraction and one unordered compare in x's own precision: a test
 * through fabs in double cost the f32 update loop three times the
 * instructions of `w[i] -= lr * g[i]`. */
#define NONFINITE(x) ((x) - (x) != (x) - (x))

/* The loops for one dtype T, with SQRT its square root. In each, g is the
 * raw gradient and s the clipping scale; the formulas are torch.optim's. */
#define UPDATE_LOOPS(T, SQRT)                                                                 \
    /* w ← w − γ(s·g). Each loop returns nonzero when a value it wrote is                     \
     * not finite. Without clipping s is 1 and s·g is g exactly, so the                       \
     * common step leaves out a multiply per element (the loop is bound by                    \
     * its instructions, not memory, on the standard MLP's 235k weights). */                  \
    static unsigned sgd_plain_##T(size_t n, T *restrict w, const T *restrict g, T lr, T s)    \
    {                                                                                         \
        unsigned bad = 0;                                                                     \
        if (s == 1) {                                                                         \
            for (size_t i = 0; i < n; i++) {                                                  \
                T x = w[i] - lr * g[i];                                                       \
                w[i] = x;                                                                     \
                bad |= NONFINITE(x);                                                          \
            }                                                                                 \
            return bad;                                                                       \
        }                                                                                     \
        for (size_t i = 0; i < n; i++) {                                                      \
            T x = w[i] - lr * (s * g[i]);                                                     \
            w[i] = x;                                                                         \
            bad |= NONFINITE(x);                                                              \
        }                                                                                     \
        return bad;                                                                           \
    }                                                                                         \
                                                                                              \
    /* w ← w − γ(s·g + λw) */                                                                 \
    static unsigned sgd_decay_##T(size_t n, T *restrict w, const T *restrict g, T lr, T s,    \
                                  T wd)                                                       \
    {                                                                                         \
        unsigned bad = 0;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                      \
            T x = w[i] - lr * (s * g[i] + wd * w[i]);                                         \
            w[i] = x;                                                                         \
            bad |= NONFINITE(x);                                                              \
        }                                                                                     \
        return bad;                                                                           \
    }                                                                                         \
                                                                                              \
    /* d = s·g + λw;  b ← μb + d;  w ← w − γb, or w − γ(d + μb) with Nesterov.                \
     * (PyTorch sets b = d at the first step; b starts at 0, so μb + d is d.) */              \
    static unsigned sgd_momentum_##T(size_t n, T *restrict w, const T *restrict g,            \
                                     T *restrict b, T lr, T s, T wd, T mu)                    \
    {                                                                                         \
        unsigned bad = 0;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                      \
            T d = s * g[i] + wd * w[i], m = mu * b[i] + d;                                    \
            T x = w[i] - lr * m;                                                              \
            b[i] = m;                                                                         \
            w[i] = x;                                                                         \
            bad |= NONFINITE(x) | NONFINITE(m);                                               \
        }                                                                                     \
        return bad;                                                                           \
    }                                                                                         \
    static unsigned sgd_nesterov_##T(size_t n, T *restrict w, const T *restrict g,            \
                                     T *restrict b, T lr, T s, T wd, T mu)                    \
    {                                                                                         \
        unsigned bad = 0;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                      \
            T d = s * g[i] + wd * w[i], m = mu * b[i] + d;                                    \
            T x = w[i] - lr * (d + mu * m);                                                   \
            b[i] = m;                                                                         \
            w[i] = x;                                                                         \
            bad |= NONFINITE(x) | NONFINITE(m);                                               \
        }                                                                                     \
        return bad;                                                                           \
    }                                                                                         \
                                                                                              \
    /* d = s·g + λ₂w (λ₂ = λ for Adam, 0 for AdamW);  m ← β1 m + (1−β1) d;                    \
     * v ← β2 v + (1−β2) d²;  w ← κw − (γ/c1) m / (√v / √c2 + ε), where κ = 1 − γλ for        \
     * AdamW and 1 for Adam. (GCC vectorizes the square root only with                        \
     * -fno-math-errno.) */                                                                   \
    static unsigned adam_##T(size_t n, T *restrict w, const T *restrict g, T *restrict m,     \
                             T *restrict v, const step_coefs *k)                              \
    {                                                                                         \
        unsigned bad = 0;                                                                     \
        const T s = (T)k->scale, wd = k->rule == ADAMW ? 0 : (T)k->weight_decay;              \
        const T keep = (T)k->keep, b1 = (T)k->beta1, a1 = (T)(1.0 - k->beta1);                \
        const T b2 = (T)k->beta2, a2 = (T)(1.0 - k->beta2), step = (T)k->step_size;           \
        const T inv_c2_sqrt = (T)k->inv_c2_sqrt, eps = (T)k->eps;                             \
        for (size_t i = 0; i < n; i++) {                                                      \
            T d = s * g[i] + wd * w[i];                                                       \
            T mi = b1 * m[i] + a1 * d, vi = b2 * v[i] + a2 * d * d;                           \
            T x = keep * w[i] - step * mi / (SQRT(vi) * inv_c2_sqrt + eps);                   \
            m[i] = mi;                                                                        \
            v[i] = vi;                                                                        \
            w[i] = x;                                                                         \
            /* v too: an infinite v (d² overflowing) freezes w for good. */                   \
            bad |= NONFINITE(x) | NONFINITE(mi) | NONFINITE(vi);                              \
        }                                                                                     \
        return bad;                                                                           \
    }                                                                                         \
                                                                                              \
    /* One parameter's update; b1 and b2 are its state buffers (momentum, or                  \
     * Adam's moments), present whenever its rule needs them. */                              \
    AG_VECTOR_CLONES static unsigned update_##T(const step_coefs *k, size_t n, T *w,          \
                                                const T *g, T *b1, T *b2)                     \
    {                                                                                         \
        const T lr = (T)k->lr, s = (T)k->scale, wd = (T)k->weight_decay;                      \
        const T mu = (T)k->momentum;                                                          \
        switch (k->rule) {                                                                    \
        case SGD_PLAIN: return sgd_plain_##T(n, w, g, lr, s);                                 \
        case SGD_DECAY: return sgd_decay_##T(n, w, g, lr, s, wd);                             \
        case SGD_MOMENTUM: return sgd_momentum_##T(n, w, g, b1, lr, s, wd, mu);               \
        case SGD_NESTEROV: return sgd_nesterov_##T(n, w, g, b1, lr, s, wd, mu);               \
        case ADAM_L2:                                                                         \
        case ADAMW: return adam_##T(n, w, g, b1, b2, k);                                      \
        }                                                                                     \
        return 0;                                                                             \
    }

UPDATE_LOOPS(float, sqrtf)
UPDATE_LOOPS(double, sqrt)

/* A parameter's update on the library's threads (ag_parallel_for) past
 * ag_parallel_grain() elements per chunk: every element is updated from
 * its own values only, so any cut of the range gives the same bits. */

typedef struct update_job {
    const step_coefs *k;
    bool f32;
    void *w, *b1, *b2;
    const void *g;
    atomic_uint bad; /* ORed by the chunks */
} update_job;

static void update_chunk(size_t lo, size_t hi, void *ctx)
{
    update_job *j = ctx;
    unsigned bad;
    if (j->f32)
        bad = update_float(j->k, hi - lo, (float *)j->w + lo, (const float *)j->g + lo,
                           j->b1 ? (float *)j->b1 + lo : NULL, j->b2 ? (float *)j->b2 + lo : NULL);
    else
        bad = update_double(j->k, hi - lo, (double *)j->w + lo, (const double *)j->g + lo,
                            j->b1 ? (double *)j->b1 + lo : NULL,
                            j->b2 ? (double *)j->b2 + lo : NULL);
    if (bad)
        atomic_fetch_or(&j->bad, bad);
}

bool ag_optim_step(ag_optim *o)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_step: optimizer is NULL");
        return false;
    }
    if (ag_params_count(o->params) != o->n) {
        ag_error_set(AG_ERR_STATE, "optim_step: parameters were added after the optimizer was made");
        return false;
    }
    /* A graph gradient (create_graph) of a reset tape is an error to report,
     * not a parameter to skip: ag_grad_of records AG_ERR_STALE for it. */
    ag_status before = ag_last_status();
    bool any_grad = false, any_trainable = false;
    for (size_t i = 0; i < o->n; i++) {
        struct step_item *it = &o->items[i];
        it->p = ag_params_at(o->params, i, &it->name);
        ag_dtype dt = ag_tensor_dtype(it->p);
        it->f32 = dt == AG_F32;
        it->n = ag_numel(it->p);
        any_trainable |= dt != AG_I64 && ag_requires_grad(it->p);
        if (!(it->g = step_grad(it->p)) && before == AG_OK && ag_last_status() == AG_ERR_STALE)
            return false;
        any_grad |= it->g != NULL;
    }
    /* A step that would update nothing is a forgotten ag_backward (or a
     * model whose every parameter is frozen), not a step to count. */
    if (!any_grad) {
        ag_error_set(AG_ERR_STATE,
                     any_trainable
                         ? "optim_step: no parameter has a gradient; call ag_backward(loss) "
                           "before the step"
                         : "optim_step: no parameter requires grad; call "
                           "ag_set_requires_grad(w, true) on the parameters to train before "
                           "the forward pass");
        return false;
    }
    if (o->steps >= MAX_STEPS) {
        ag_error_set(AG_ERR_STATE,
                     "optim_step: the step count %" PRIu64 " is at the limit 2^53 (a "
                     "corrupted count? set it with ag_optim_set_steps); parameters left "
                     "unchanged",
                     o->steps);
        return false;
    }
    o->last_norm = grad_norm(o);
    if (!isfinite(o->last_norm)) {
        ag_error_set(AG_ERR_NUMERIC, "optim_step: the gradients contain NaN or Inf (norm %g); "
                                     "parameters left unchanged", o->last_norm);
        return false;
    }
    step_coefs k = step_coefficients(&o->cfg, o->last_norm, o->steps + 1);
    const char *bad_coef = NULL;
    double bad_value = 0;
    if (!coefs_finite(&k, o->has_f32, &bad_coef, &bad_value)) {
        ag_error_set(AG_ERR_NUMERIC,
                     "optim_step: step %" PRIu64 ": the %s is %g, not a finite nonzero "
                     "number%s; parameters left unchanged",
                     o->steps + 1, bad_coef, bad_value, o->has_f32 ? " in f32" : "");
        return false;
    }
    o->steps++;
    /* Results that overflowed are found while they are written (an integer
     * flag in the update loops, no extra pass), so the step has happened
     * when it is reported: the caller learns at once, and restores. */
    const char *first_bad = NULL;
    size_t grain = ag_parallel_grain();
    for (size_t i = 0; i < o->n; i++) {
        const struct step_item *it = &o->items[i];
        if (!it->g)
            continue;
        void *b1 = o->buf1[i] ? ag_data(o->buf1[i]) : NULL;
        void *b2 = o->buf2[i] ? ag_data(o->buf2[i]) : NULL;
        void *w = ag_data(it->p);
        const void *g = ag_data_const(it->g);
        size_t n = it->n;
        unsigned bad;
        if (n >= 2 * grain) {
            update_job j = {&k, it->f32, w, b1, b2, g, 0};
            ag_parallel_for(n, grain, update_chunk, &j);
            bad = atomic_load(&j.bad);
        } else {
            bad = it->f32 ? update_float(&k, n, w, g, b1, b2) : update_double(&k, n, w, g, b1, b2);
        }
        ag_mark_changed(it->p);
        if (bad && !first_bad)
            first_bad = it->name;
    }
    if (first_bad) {
        ag_error_set(AG_ERR_NUMERIC,
                     "optim_step: step %" PRIu64 " made '%s' (or its optimizer state) NaN or "
                     "Inf from finite gradients (norm %g, learning rate %g): the update "
                     "overflowed, or the parameter was not finite before; the step was "
                     "applied: restore the parameters (a checkpoint) and lower the learning "
                     "rate",
                     o->steps, first_bad, o->last_norm, o->cfg.lr);
        return false;
    }
    return true;
}

void ag_optim_zero_grad(ag_optim *o)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_zero_grad: o is NULL");
        return;
    }
    if (o)
        ag_params_zero_grad(o->params);
}

double ag_optim_lr(const ag_optim *o)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_lr: o is NULL");
        return NAN;
    }
    return o ? o->cfg.lr : NAN;
}

bool ag_optim_set_lr(ag_optim *o, double lr)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_set_lr: optimizer is NULL");
        return false;
    }
    if (!(lr >= 0 && isfinite(lr))) {
        ag_error_set(AG_ERR_VALUE,
                     "optim_set_lr: learning rate %g; it must be >= 0 and finite (kept %g)", lr,
                     o->cfg.lr);
        return false;
    }
    o->cfg.lr = lr;
    return true;
}

uint64_t ag_optim_steps(const ag_optim *o)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_steps: o is NULL");
        return 0;
    }
    return o ? o->steps : 0;
}

bool ag_optim_set_steps(ag_optim *o, uint64_t steps)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_set_steps: optimizer is NULL");
        return false;
    }
    if (steps > MAX_STEPS) {
        ag_error_set(AG_ERR_VALUE,
                     "optim_set_steps: %" PRIu64 " steps is past the limit 2^53 = %" PRIu64
                     " (kept %" PRIu64 ")",
                     steps, MAX_STEPS, o->steps);
        return false;
    }
    o->steps = steps;
    return true;
}

bool ag_optim_config_get(const ag_optim *o, ag_optim_config *cfg)
{
    if (!o || !cfg) {
        ag_error_set(AG_ERR_NULL, "optim_config_get: %s is NULL", o ? "config" : "optimizer");
        return false;
    }
    *cfg = o->cfg;
    return true;
}

ag_params *ag_optim_state(ag_optim *o)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_state: o is NULL");
        return NULL;
    }
    return o ? o->state : NULL;
}

double ag_optim_last_grad_norm(const ag_optim *o)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_last_grad_norm: o is NULL");
        return NAN;
    }
    return o ? o->last_norm : NAN;
}

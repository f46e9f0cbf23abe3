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
#include "../autograd/internal.h"

#include <math.h>
#include <string.h>

struct ag_optim {
    ag_optim_config cfg;
    ag_params *params; /* borrowed */
    ag_params *state;  /* owned: buffers per parameter, same order as params */
    ag_tensor **buf1;  /* momentum buffer or exp_avg, per parameter (NULL for i64) */
    ag_tensor **buf2;  /* exp_avg_sq (Adam/AdamW) */
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
    ag_tensor *t = ag_zeros(like->dtype, like->ndim, like->shape);
    if (!t || !ag_params_add(o->state, key, t))
        return false;
    t->requires_grad = false;
    *slot = t;
    return true;
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
    if (c.beta1 == 0)
        c.beta1 = c.kind == AG_SGD ? 0 : 0.9;
    if (c.beta2 == 0)
        c.beta2 = c.kind == AG_SGD ? 0 : 0.999;
    if (c.eps == 0)
        c.eps = 1e-8;
    if (!(c.lr >= 0) || !(c.momentum >= 0 && c.momentum < 1) || !(c.weight_decay >= 0) ||
        !(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1) || !(c.eps > 0) ||
        !(c.clip_norm >= 0) || (c.nesterov && c.momentum == 0)) {
        ag_error_set(AG_ERR_VALUE,
                     "optim_new: bad settings (lr %g, momentum %g, betas %g/%g, eps %g, weight "
                     "decay %g, clip %g%s)",
                     c.lr, c.momentum, c.beta1, c.beta2, c.eps, c.weight_decay, c.clip_norm,
                     c.nesterov && c.momentum == 0 ? ", Nesterov without momentum" : "");
        return NULL;
    }
    ag_optim *o = ag_calloc(1, sizeof *o);
    size_t n = ag_params_count(params);
    if (o) {
        o->buf1 = ag_calloc(n, sizeof *o->buf1);
        o->buf2 = ag_calloc(n, sizeof *o->buf2);
        o->state = ag_params_new();
    }
    if (!o || !o->buf1 || !o->buf2 || !o->state) {
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
        if (p->dtype == AG_I64)
            continue;
        o->has_f32 |= p->dtype == AG_F32;
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
        double s = 0;                                                                         \
        for (int k = 0; k < LANES; k++)                                                       \
            s += (double)lane[k];                                                             \
        return s;                                                                             \
    }                                                                                         \
                                                                                              \
    /* Σ g[i]² over n elements: blocks in T, each added into a double. */                     \
    static double sum_squares_##T(const T *restrict g, size_t n)                              \
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

/* Σ g² over the gradients the step will use; `exact` recounts f32 ones in
 * double. Called after the staleness check, so every gradient is readable. */
static double grad_sum_squares(const ag_optim *o, bool exact)
{
    double s = 0;
    for (size_t i = 0; i < o->n; i++) {
        const ag_tensor *p = ag_params_at(o->params, i, NULL);
        if (p->dtype == AG_I64)
            continue;
        /* ag_grad_of, not p->grad: a gradient zeroed by ag_zero_grad is only
         * marked zero, and its buffer is cleared when it is read. */
        const ag_tensor *g = ag_grad_of(p);
        if (!g)
            continue;
        if (g->dtype == AG_F64)
            s += sum_squares_double(g->data, g->numel);
        else if (exact)
            s += sum_squares_float_exact(g->data, g->numel);
        else
            s += sum_squares_float(g->data, g->numel);
    }
    return s;
}

/* The global L2 norm of the gradients: NaN or Inf when one of them is. */
static double grad_norm(const ag_optim *o)
{
    double s = grad_sum_squares(o, false);
    if (o->has_f32 && !(s >= F32_SQUARES_TRUSTED && isfinite(s)))
        s = grad_sum_squares(o, true);
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

/* The loops for one dtype T, with SQRT its square root. In each, g is the
 * raw gradient and s the clipping scale; the formulas are torch.optim's. */
#define UPDATE_LOOPS(T, SQRT)                                                                 \
    /* w ← w − γ(s·g) */                                                                      \
    static void sgd_plain_##T(size_t n, T *restrict w, const T *restrict g, T lr, T s)        \
    {                                                                                         \
        for (size_t i = 0; i < n; i++)                                                        \
            w[i] -= lr * (s * g[i]);                                                          \
    }                                                                                         \
                                                                                              \
    /* w ← w − γ(s·g + λw) */                                                                 \
    static void sgd_decay_##T(size_t n, T *restrict w, const T *restrict g, T lr, T s, T wd)  \
    {                                                                                         \
        for (size_t i = 0; i < n; i++)                                                        \
            w[i] -= lr * (s * g[i] + wd * w[i]);                                              \
    }                                                                                         \
                                                                                              \
    /* d = s·g + λw;  b ← μb + d;  w ← w − γb, or w − γ(d + μb) with Nesterov.                \
     * (PyTorch sets b = d at the first step; b starts at 0, so μb + d is d.) */              \
    static void sgd_momentum_##T(size_t n, T *restrict w, const T *restrict g,                \
                                 T *restrict b, T lr, T s, T wd, T mu)                        \
    {                                                                                         \
        for (size_t i = 0; i < n; i++) {                                                      \
            T d = s * g[i] + wd * w[i], m = mu * b[i] + d;                                    \
            b[i] = m;                                                                         \
            w[i] -= lr * m;                                                                   \
        }                                                                                     \
    }                                                                                         \
    static void sgd_nesterov_##T(size_t n, T *restrict w, const T *restrict g,                \
                                 T *restrict b, T lr, T s, T wd, T mu)                        \
    {                                                                                         \
        for (size_t i = 0; i < n; i++) {                                                      \
            T d = s * g[i] + wd * w[i], m = mu * b[i] + d;                                    \
            b[i] = m;                                                                         \
            w[i] -= lr * (d + mu * m);                                                        \
        }                                                                                     \
    }                                                                                         \
                                                                                              \
    /* d = s·g + λ₂w (λ₂ = λ for Adam, 0 for AdamW);  m ← β1 m + (1−β1) d;                    \
     * v ← β2 v + (1−β2) d²;  w ← κw − (γ/c1) m / (√v / √c2 + ε), where κ = 1 − γλ for        \
     * AdamW and 1 for Adam. (GCC vectorizes the square root only with                        \
     * -fno-math-errno.) */                                                                   \
    static void adam_##T(size_t n, T *restrict w, const T *restrict g, T *restrict m,         \
                         T *restrict v, const step_coefs *k)                                  \
    {                                                                                         \
        const T s = (T)k->scale, wd = k->rule == ADAMW ? 0 : (T)k->weight_decay;              \
        const T keep = (T)k->keep, b1 = (T)k->beta1, a1 = (T)(1.0 - k->beta1);                \
        const T b2 = (T)k->beta2, a2 = (T)(1.0 - k->beta2), step = (T)k->step_size;           \
        const T inv_c2_sqrt = (T)k->inv_c2_sqrt, eps = (T)k->eps;                             \
        for (size_t i = 0; i < n; i++) {                                                      \
            T d = s * g[i] + wd * w[i];                                                       \
            T mi = b1 * m[i] + a1 * d, vi = b2 * v[i] + a2 * d * d;                           \
            m[i] = mi;                                                                        \
            v[i] = vi;                                                                        \
            w[i] = keep * w[i] - step * mi / (SQRT(vi) * inv_c2_sqrt + eps);                  \
        }                                                                                     \
    }                                                                                         \
                                                                                              \
    /* One parameter's update; b1 and b2 are its state buffers (momentum, or                  \
     * Adam's moments), present whenever its rule needs them. */                              \
    static void update_##T(const step_coefs *k, size_t n, T *w, const T *g, T *b1, T *b2)     \
    {                                                                                         \
        const T lr = (T)k->lr, s = (T)k->scale, wd = (T)k->weight_decay;                      \
        const T mu = (T)k->momentum;                                                          \
        switch (k->rule) {                                                                    \
        case SGD_PLAIN: sgd_plain_##T(n, w, g, lr, s); break;                                 \
        case SGD_DECAY: sgd_decay_##T(n, w, g, lr, s, wd); break;                             \
        case SGD_MOMENTUM: sgd_momentum_##T(n, w, g, b1, lr, s, wd, mu); break;               \
        case SGD_NESTEROV: sgd_nesterov_##T(n, w, g, b1, lr, s, wd, mu); break;               \
        case ADAM_L2:                                                                         \
        case ADAMW: adam_##T(n, w, g, b1, b2, k); break;                                      \
        }                                                                                     \
    }

UPDATE_LOOPS(float, sqrtf)
UPDATE_LOOPS(double, sqrt)

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
    /* Before any ag_grad_of: a graph gradient (create_graph) from a reset
     * tape is an error to report, not a buffer to read. */
    for (size_t i = 0; i < o->n; i++) {
        const char *name;
        const ag_tensor *p = ag_params_at(o->params, i, &name);
        if (p->grad && !p->grad->leaf && ag_is_stale(p->grad)) {
            ag_error_set(AG_ERR_STALE, "optim_step: the gradient of '%s' is from a tape that was reset", name);
            return false;
        }
    }
    o->last_norm = grad_norm(o);
    if (!isfinite(o->last_norm)) {
        ag_error_set(AG_ERR_NUMERIC, "optim_step: the gradients contain NaN or Inf (norm %g); "
                                     "parameters left unchanged", o->last_norm);
        return false;
    }
    o->steps++;
    step_coefs k = step_coefficients(&o->cfg, o->last_norm, o->steps);
    for (size_t i = 0; i < o->n; i++) {
        ag_tensor *p = ag_params_at(o->params, i, NULL);
        if (p->dtype == AG_I64)
            continue;
        const ag_tensor *g = ag_grad_of(p);
        if (!g)
            continue;
        void *b1 = o->buf1[i] ? o->buf1[i]->data : NULL;
        void *b2 = o->buf2[i] ? o->buf2[i]->data : NULL;
        if (p->dtype == AG_F32)
            update_float(&k, p->numel, p->data, g->data, b1, b2);
        else
            update_double(&k, p->numel, p->data, g->data, b1, b2);
    }
    return true;
}

void ag_optim_zero_grad(ag_optim *o)
{
    if (o)
        ag_params_zero_grad(o->params);
}

double ag_optim_lr(const ag_optim *o)
{
    return o ? o->cfg.lr : NAN;
}

bool ag_optim_set_lr(ag_optim *o, double lr)
{
    if (!o) {
        ag_error_set(AG_ERR_NULL, "optim_set_lr: optimizer is NULL");
        return false;
    }
    if (!(lr >= 0)) {
        ag_error_set(AG_ERR_VALUE, "optim_set_lr: learning rate %g; it must be >= 0 (kept %g)", lr,
                     o->cfg.lr);
        return false;
    }
    o->cfg.lr = lr;
    return true;
}

uint64_t ag_optim_steps(const ag_optim *o)
{
    return o ? o->steps : 0;
}

void ag_optim_set_steps(ag_optim *o, uint64_t steps)
{
    if (o)
        o->steps = steps;
}

ag_params *ag_optim_state(ag_optim *o)
{
    return o ? o->state : NULL;
}

double ag_optim_last_grad_norm(const ag_optim *o)
{
    return o ? o->last_norm : NAN;
}

/* optim.c — SGD (momentum, Nesterov), Adam and AdamW.
 *
 * An optimizer reads the gradients the tape left on the parameters and
 * updates the values in place; it records nothing. Its state (momentum
 * buffers, first and second moments) lives in a parameter store of its own,
 * keyed by "<kind>.<parameter name>", so a checkpoint can save it beside the
 * model and training resumes exactly where it stopped. The update formulas
 * follow PyTorch's torch.optim definitions, so a run can be compared with
 * PyTorch step by step. */
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

static double grad_norm(const ag_optim *o)
{
    double s = 0;
    for (size_t i = 0; i < o->n; i++) {
        const ag_tensor *p = ag_params_at(o->params, i, NULL);
        const ag_tensor *g = p->grad;
        if (!g || p->dtype == AG_I64 || ag_is_stale(g))
            continue;
        for (size_t e = 0; e < g->numel; e++) {
            double v = ag_load(g, e);
            s += v * v;
        }
    }
    return sqrt(s);
}

/* One parameter's update, in the parameter's own precision. `scale`
 * carries gradient clipping; c1 and c2 are Adam's bias corrections. */
#define UPDATE(T)                                                                             \
    static void update_##T(const ag_optim_config *c, size_t n, T *restrict w,                 \
                           const T *restrict g, T *restrict b1, T *restrict b2, double scale, \
                           double c1, double c2)                                              \
    {                                                                                         \
        for (size_t i = 0; i < n; i++) {                                                      \
            double gi = scale * (double)g[i], wi = (double)w[i];                              \
            if (c->kind != AG_ADAMW)                                                          \
                gi += c->weight_decay * wi;                                                   \
            if (c->kind == AG_SGD) {                                                          \
                if (b1) {                                                                     \
                    double buf = c->momentum * (double)b1[i] + gi;                            \
                    b1[i] = (T)buf;                                                           \
                    gi = c->nesterov ? gi + c->momentum * buf : buf;                          \
                }                                                                             \
                w[i] = (T)(wi - c->lr * gi);                                                  \
            } else {                                                                          \
                if (c->kind == AG_ADAMW)                                                      \
                    wi -= c->lr * c->weight_decay * wi;                                       \
                double m = c->beta1 * (double)b1[i] + (1 - c->beta1) * gi;                    \
                double v = c->beta2 * (double)b2[i] + (1 - c->beta2) * gi * gi;               \
                b1[i] = (T)m;                                                                 \
                b2[i] = (T)v;                                                                 \
                w[i] = (T)(wi - c->lr * (m / c1) / (sqrt(v / c2) + c->eps));                  \
            }                                                                                 \
        }                                                                                     \
    }

UPDATE(float)
UPDATE(double)

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
    for (size_t i = 0; i < o->n; i++) {
        const char *name;
        const ag_tensor *p = ag_params_at(o->params, i, &name);
        if (p->grad && !p->grad->leaf && ag_is_stale(p->grad)) {
            ag_error_set(AG_ERR_STALE, "optim_step: the gradient of '%s' is from a tape that was reset", name);
            return false;
        }
    }
    o->last_norm = grad_norm(o);
    double scale = 1.0;
    if (o->cfg.clip_norm > 0 && o->last_norm > o->cfg.clip_norm)
        scale = o->cfg.clip_norm / o->last_norm;
    if (!isfinite(o->last_norm)) {
        ag_error_set(AG_ERR_NUMERIC, "optim_step: the gradients contain NaN or Inf (norm %g); "
                                     "parameters left unchanged", o->last_norm);
        return false;
    }
    o->steps++;
    double c1 = 1.0, c2 = 1.0;
    if (o->cfg.kind != AG_SGD) {
        c1 = 1.0 - pow(o->cfg.beta1, (double)o->steps);
        c2 = 1.0 - pow(o->cfg.beta2, (double)o->steps);
    }
    for (size_t i = 0; i < o->n; i++) {
        ag_tensor *p = ag_params_at(o->params, i, NULL);
        const ag_tensor *g = p->grad;
        if (!g || p->dtype == AG_I64)
            continue;
        void *b1 = o->buf1[i] ? o->buf1[i]->data : NULL;
        void *b2 = o->buf2[i] ? o->buf2[i]->data : NULL;
        if (p->dtype == AG_F32)
            update_float(&o->cfg, p->numel, p->data, g->data, b1, b2, scale, c1, c2);
        else
            update_double(&o->cfg, p->numel, p->data, g->data, b1, b2, scale, c1, c2);
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

void ag_optim_set_lr(ag_optim *o, double lr)
{
    if (o && lr >= 0)
        o->cfg.lr = lr;
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

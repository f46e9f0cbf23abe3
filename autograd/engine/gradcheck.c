/* SPDX-License-Identifier: MIT */
/* gradcheck.c — checking vector-Jacobian rules against finite differences.
 *
 * The function is evaluated on f64 copies of the inputs. A non-scalar result
 * is projected on a fixed random tensor r, so one backward sweep gives the
 * gradient of <f(x), r> for every input element at once; central
 * differences of the same projection give the reference. A wrong rule
 * changes that gradient for almost every r, and the report names the input
 * and the element where the two disagree most. */
#include "internal.h"

#include <math.h>
#include <string.h>

ag_gradcheck_opts ag_gradcheck_defaults(void)
{
    ag_gradcheck_opts o = {.eps = 1e-6, .atol = 1e-7, .rtol = 1e-6, .seed = 42};
    return o;
}

/* <y, r> in double. */
static double project(const ag_tensor *y, const ag_tensor *r)
{
    double s = 0;
    for (size_t i = 0; i < y->numel; i++)
        s += ag_load(y, i) * ag_load(r, i);
    return s;
}

void ag_unflatten(size_t flat, int ndim, const int64_t *shape, int64_t *index)
{
    for (int d = ndim - 1; d >= 0; d--) {
        index[d] = shape[d] ? (int64_t)(flat % (size_t)shape[d]) : 0;
        flat = shape[d] ? flat / (size_t)shape[d] : 0;
    }
}

typedef struct check_state {
    ag_fn f;
    void *ctx;
    int n;
    ag_tensor *x[AG_GRADCHECK_MAX_INPUTS];
    ag_tensor *r;
    ag_tape *tape;
} check_state;

/* f at the current x, projected; NAN (and the error kept) when f fails. */
static double evaluate(check_state *s, bool *ok)
{
    ag_tensor *y = s->f(s->x, s->ctx);
    double v = NAN;
    if (!y)
        *ok = false;
    else if (s->r && y->numel == s->r->numel)
        v = project(y, s->r);
    else
        *ok = false;
    ag_tape_reset(s->tape);
    return v;
}

/* One forward and backward sweep at the current x: the analytic gradient
 * of <f, r> into grads[i] (n elements of input i; 0 where no path leads). */
static bool analytic(check_state *s, double **grads)
{
    bool prev = ag_grad_mode();
    ag_grad_mode_set(true);
    for (int i = 0; i < s->n; i++)
        if (s->x[i])
            ag_zero_grad(s->x[i]);
    ag_tensor *y = s->f(s->x, s->ctx);
    bool ok = y != NULL;
    if (ok && y->requires_grad)
        ok = ag_backward_seed(y, s->r);
    for (int i = 0; ok && i < s->n; i++) {
        if (!grads[i])
            continue;
        const ag_tensor *g = ag_grad_of(s->x[i]);
        for (size_t e = 0; e < s->x[i]->numel; e++)
            grads[i][e] = g ? ag_load(g, e) : 0.0;
    }
    ag_tape_reset(s->tape);
    ag_grad_mode_set(prev);
    return ok;
}

static void compare_input(check_state *s, int i, const double *grad, double f0,
                          const ag_gradcheck_opts *o, ag_gradcheck_input *rep, bool *ok)
{
    ag_tensor *x = s->x[i];
    double worst_ratio = -1;
    rep->checked = true;
    rep->pass = true;
    rep->ndim = x->ndim;
    for (size_t e = 0; e < x->numel && *ok; e++) {
        double orig = ag_load(x, e);
        ag_store(x, e, orig + o->eps);
        double fp = evaluate(s, ok);
        ag_store(x, e, orig - o->eps);
        double fm = evaluate(s, ok);
        ag_store(x, e, orig);
        double numeric = (fp - fm) / (2 * o->eps);
        double err = fabs(grad[e] - numeric);
        double tol = o->atol + o->rtol * fabs(numeric) + o->nondet_tol;
        double rel = err / fmax(fabs(numeric), 1e-300);
        /* One-sided slopes that disagree by far more than a smooth
         * function's eps·f'' mean no derivative exists here (a kink): any
         * value between them is a valid subgradient. */
        double left = (f0 - fm) / o->eps, right = (fp - f0) / o->eps;
        double lo = fmin(left, right) - tol, hi = fmax(left, right) + tol;
        bool kink = fabs(left - right) > sqrt(o->eps) * (1 + fabs(numeric)) &&
                    grad[e] >= lo && grad[e] <= hi;
        if (kink) {
            if (rep->n_kinks++ == 0)
                rep->first_kink = e;
            continue;
        }
        if (!(err <= tol))
            rep->pass = false;
        if (err > rep->max_abs_err || isnan(err))
            rep->max_abs_err = err;
        if (rel > rep->max_rel_err && fabs(numeric) > o->atol)
            rep->max_rel_err = rel;
        double ratio = isnan(err) ? INFINITY : err / tol;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            rep->worst_flat = e;
            rep->analytic = grad[e];
            rep->numeric = numeric;
        }
    }
    ag_unflatten(rep->worst_flat, x->ndim, x->shape, rep->worst_index);
}

bool ag_gradcheck(ag_fn f, void *ctx, int n, ag_tensor *const *inputs,
                  const ag_gradcheck_opts *opts, ag_gradcheck_report *report)
{
    ag_gradcheck_report local;
    ag_gradcheck_report *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    snprintf(rep->name, sizeof rep->name, "function");
    if (!f || !inputs) {
        ag_error_set(AG_ERR_NULL, "gradcheck: %s is NULL", f ? "inputs" : "function");
        return false;
    }
    if (n < 1 || n > AG_GRADCHECK_MAX_INPUTS) {
        ag_error_set(AG_ERR_VALUE, "gradcheck: %d inputs; 1 to %d are supported", n,
                     AG_GRADCHECK_MAX_INPUTS);
        return false;
    }
    if (!ag_check_inputs_any_dtype("gradcheck", n, inputs))
        return false;
    ag_gradcheck_opts o = opts ? *opts : ag_gradcheck_defaults();
    if (!(o.eps > 0) || !(o.atol >= 0) || !(o.rtol >= 0) || !(o.nondet_tol >= 0)) {
        ag_error_set(AG_ERR_VALUE, "gradcheck: eps must be > 0 and tolerances >= 0");
        return false;
    }
    rep->n_inputs = n;

    /* Which inputs to check: those that require grad, or every float input
     * when none does. */
    bool any_marked = false;
    for (int i = 0; i < n; i++)
        any_marked |= inputs[i]->requires_grad;

    check_state s = {.f = f, .ctx = ctx, .n = n};
    s.tape = ag_tape_new();
    if (!s.tape)
        return false;
    ag_tape *prev_tape = ag_tape_use(s.tape);
    bool prev_mode = ag_grad_mode();
    ag_grad_mode_set(true);

    double *grads[AG_GRADCHECK_MAX_INPUTS] = {0}, *again[AG_GRADCHECK_MAX_INPUTS] = {0};
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const ag_tensor *in = inputs[i];
        bool is_float = in->dtype != AG_I64;
        s.x[i] = ag_leaf_new(is_float ? AG_F64 : AG_I64, in->ndim, in->shape);
        ok = s.x[i] != NULL;
        for (size_t e = 0; ok && e < in->numel; e++)
            ag_store(s.x[i], e, ag_load(in, e));
        if (ok && is_float && (in->requires_grad || !any_marked)) {
            s.x[i]->requires_grad = true;
            size_t bytes = (in->numel ? in->numel : 1) * sizeof(double);
            grads[i] = ag_malloc(bytes);
            again[i] = ag_malloc(bytes);
            ok = grads[i] && again[i];
            if (!ok)
                ag_error_set(AG_ERR_NOMEM, "gradcheck: out of memory");
        }
    }

    /* The projection r: weights of random sign and magnitude in [0.5, 1.5),
     * none near 0, so no output element escapes the check. */
    ag_tensor *y = ok ? f(s.x, ctx) : NULL;
    ok = ok && y != NULL;
    if (ok) {
        ag_rng rng;
        ag_rng_seed(&rng, o.seed);
        s.r = ag_leaf_new(AG_F64, y->ndim, y->shape);
        ok = s.r != NULL;
        for (size_t e = 0; ok && e < s.r->numel; e++) {
            double w = y->numel == 1 ? 1.0 : 0.5 + ag_rng_uniform(&rng);
            ag_store(s.r, e, (ag_rng_next(&rng) & 1) && y->numel > 1 ? -w : w);
        }
    }
    ag_tape_reset(s.tape);

    /* The analytic gradient, twice: the second run measures nondeterminism. */
    ok = ok && analytic(&s, grads) && analytic(&s, again);
    for (int i = 0; ok && i < n; i++)
        for (size_t e = 0; grads[i] && e < s.x[i]->numel; e++) {
            double d = fabs(grads[i][e] - again[i][e]);
            if (d > rep->nondet_diff || isnan(d))
                rep->nondet_diff = d;
        }

    if (ok) {
        ag_grad_mode_set(false);
        rep->pass = !(rep->nondet_diff > o.nondet_tol);
        double f0 = evaluate(&s, &ok);
        for (int i = 0; i < n && ok; i++) {
            if (!grads[i])
                continue;
            compare_input(&s, i, grads[i], f0, &o, &rep->inputs[i], &ok);
            rep->pass &= rep->inputs[i].pass;
        }
    }
    if (!ok)
        rep->pass = false;

    for (int i = 0; i < n; i++) {
        ag_tensor_free(s.x[i]);
        ag_free(grads[i]);
        ag_free(again[i]);
    }
    ag_tensor_free(s.r);
    ag_tape_use(prev_tape);
    ag_tape_free(s.tape);
    ag_grad_mode_set(prev_mode);

    if (ok && !rep->pass && o.per_node) {
        ag_gradcheck_opts inner = o;
        inner.per_node = false;
        ag_gradcheck_nodes_report *nr = ag_xmalloc(sizeof *nr, "gradcheck");
        if (nr) {
            ag_gradcheck_nodes(f, ctx, n, inputs, &inner, nr);
            ag_format_culprit(nr, rep->culprit, sizeof rep->culprit);
            ag_free(nr);
        }
    }
    return ok && rep->pass;
}


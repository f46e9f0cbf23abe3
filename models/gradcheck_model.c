/* SPDX-License-Identifier: MIT */
/* gradcheck_model.c — checking a whole model's gradient, parameter by
 * parameter, against finite differences.
 *
 * ag_gradcheck takes at most AG_GRADCHECK_MAX_INPUTS tensors; a model has
 * as many as its store holds. This checker does what ag_gradcheck does for
 * each input — one backward sweep for every analytic derivative, then two
 * evaluations per element for the central difference, the same tolerance
 * and the same allowance for kinks — over every tensor of an f64 copy of
 * the store, so the caller's store is never touched. When it fails it hands
 * the recorded graph to the public per-node checker, ag_gradcheck_nodes, to
 * name the node whose rule is wrong. */
#include "op.h"
#include "tools.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The state of one check: the f64 store the model runs on, which of its
 * tensors are checked, their analytic gradients, and the private tape. */
typedef struct model_check {
    ag_model_fn f;
    void *ctx;
    ag_params *q;       /* the f64 copy */
    size_t n;           /* tensors in q */
    bool *checked;      /* per tensor */
    double **grad;      /* per checked tensor, its numel entries */
    ag_tape *tape;
} model_check;

/* An f64 copy of p's tensors under the same names (i64 tensors copied as
 * they are), marked for checking as ag_gradcheck marks inputs: those that
 * require grad, or every float tensor when none does. */
static bool clone_f64(const ag_params *p, model_check *c)
{
    c->n = ag_params_count(p);
    c->q = ag_params_new();
    c->checked = ag_calloc(c->n ? c->n : 1, sizeof *c->checked);
    c->grad = ag_calloc(c->n ? c->n : 1, sizeof *c->grad);
    if (!c->q || !c->checked || !c->grad) {
        ag_error_set(AG_ERR_NOMEM, "gradcheck_model: out of memory");
        return false;
    }
    bool any_marked = false;
    for (size_t i = 0; i < c->n; i++)
        any_marked |= ag_requires_grad(ag_params_at(p, i, NULL));
    for (size_t i = 0; i < c->n; i++) {
        const char *name;
        const ag_tensor *t = ag_params_at(p, i, &name);
        ag_dtype dt = ag_tensor_dtype(t);
        ag_tensor *u;
        if (dt == AG_I64) {
            u = ag_clone(t);
        } else {
            u = ag_empty(AG_F64, ag_ndim(t), ag_shape(t));
            double *d = u ? ag_data(u) : NULL;
            for (size_t e = 0; d && e < ag_numel(t); e++)
                d[e] = dt == AG_F32 ? (double)((const float *)ag_data_const(t))[e]
                                    : ((const double *)ag_data_const(t))[e];
        }
        if (!u || !ag_params_add(c->q, name, u))
            return false; /* ag_params_add freed u */
        c->checked[i] = dt != AG_I64 && (ag_requires_grad(t) || !any_marked);
        if (dt != AG_I64 && !ag_set_requires_grad(u, c->checked[i]))
            return false;
        if (c->checked[i]) {
            c->grad[i] = ag_malloc((ag_numel(u) ? ag_numel(u) : 1) * sizeof(double));
            if (!c->grad[i]) {
                ag_error_set(AG_ERR_NOMEM, "gradcheck_model: out of memory for '%s'", name);
                return false;
            }
        }
    }
    return true;
}

/* Whether the model's result is a scalar loss; an error naming its shape
 * otherwise. */
static bool is_scalar(const ag_tensor *y)
{
    if (ag_numel(y) == 1 && ag_tensor_dtype(y) != AG_I64)
        return true;
    char s[160];
    ag_error_set(AG_ERR_SHAPE, "gradcheck_model: the model function gave a %s %s; a scalar "
                 "loss (one float element) is checked", ag_dtype_str(ag_tensor_dtype(y)),
                 ag_shape_str(y, s, sizeof s));
    return false;
}

/* One forward and backward sweep: the analytic gradient of every checked
 * tensor into `out` (0 where no path reaches it). */
static bool analytic(model_check *c, double **out)
{
    ag_grad_mode_set(true);
    for (size_t i = 0; i < c->n; i++)
        if (c->checked[i])
            ag_zero_grad(ag_params_at(c->q, i, NULL));
    ag_tensor *y = c->f(c->q, c->ctx);
    bool ok = y != NULL && is_scalar(y);
    if (ok && ag_requires_grad(y))
        ok = ag_backward(y);
    for (size_t i = 0; ok && i < c->n; i++) {
        if (!c->checked[i])
            continue;
        ag_tensor *t = ag_params_at(c->q, i, NULL);
        const ag_tensor *g = ag_grad_of(t);
        const double *gd = g ? ag_data_const(g) : NULL;
        for (size_t e = 0; e < ag_numel(t); e++)
            out[i][e] = gd ? gd[e] : 0.0;
    }
    ag_tape_reset(c->tape);
    return ok;
}

/* The loss at the store's current values, without recording; NAN and
 * *ok = false when the model fails. */
static double evaluate(model_check *c, bool *ok)
{
    ag_tensor *y = c->f(c->q, c->ctx);
    double v = NAN;
    if (y && is_scalar(y))
        v = ag_item(y);
    else
        *ok = false;
    ag_tape_reset(c->tape);
    return v;
}

/* Central differences on every element of tensor i, compared with the
 * analytic gradient as ag_gradcheck compares them (see
 * autograd/engine/gradcheck.c): |a - n| <= atol + rtol |n| + nondet_tol,
 * and an element where the one-sided slopes disagree (a kink) passes when
 * the analytic value lies between them. *worst_ratio carries the largest
 * error / tolerance seen so far over all tensors. */
static void compare_tensor(model_check *c, size_t i, double f0, const ag_gradcheck_opts *o,
                           ag_model_gradcheck_report *rep, double *worst_ratio, bool *ok)
{
    const char *name;
    ag_tensor *t = ag_params_at(c->q, i, &name);
    double *x = ag_data(t);
    const double *grad = c->grad[i];
    for (size_t e = 0; e < ag_numel(t) && *ok; e++) {
        double orig = x[e];
        x[e] = orig + o->eps;
        double fp = evaluate(c, ok);
        x[e] = orig - o->eps;
        double fm = evaluate(c, ok);
        x[e] = orig;
        double numeric = (fp - fm) / (2 * o->eps);
        double err = fabs(grad[e] - numeric);
        double tol = o->atol + o->rtol * fabs(numeric) + o->nondet_tol;
        double rel = err / fmax(fabs(numeric), 1e-300);
        double left = (f0 - fm) / o->eps, right = (fp - f0) / o->eps;
        double lo = fmin(left, right) - tol, hi = fmax(left, right) + tol;
        bool kink = fabs(left - right) > sqrt(o->eps) * (1 + fabs(numeric)) && grad[e] >= lo &&
                    grad[e] <= hi;
        rep->n_checked++;
        if (kink) {
            rep->n_kinks++;
            continue;
        }
        if (!(err <= tol))
            rep->pass = false;
        if (err > rep->max_abs_err || isnan(err))
            rep->max_abs_err = err;
        if (rel > rep->max_rel_err && fabs(numeric) > o->atol)
            rep->max_rel_err = rel;
        double ratio = isnan(err) ? INFINITY : err / tol;
        if (ratio > *worst_ratio) {
            *worst_ratio = ratio;
            snprintf(rep->worst_param, sizeof rep->worst_param, "%s", name);
            rep->worst_index = e;
            rep->analytic = grad[e];
            rep->numeric = numeric;
        }
    }
}

/* ag_gradcheck_nodes checks the nodes a function of tensors records; the
 * model reads its store instead, so the function it is handed ignores its
 * one (placeholder) input and runs the model on the f64 store. */
static ag_tensor *run_model(ag_tensor *const *inputs, void *ctx)
{
    (void)inputs;
    model_check *c = ctx;
    return c->f(c->q, c->ctx);
}

/* The per-node check, its findings copied into the report; its one-line
 * summary is the public printer's, less the printer's prefix. */
static void find_culprit(model_check *c, const ag_gradcheck_opts *o, ag_model_gradcheck_report *rep)
{
    ag_gradcheck_opts inner = *o;
    inner.per_node = false;
    ag_gradcheck_nodes_report *nr = ag_malloc(sizeof *nr);
    ag_tensor *placeholder = ag_scalar(AG_F64, 0);
    if (nr && placeholder) {
        ag_gradcheck_nodes(run_model, c, 1, &placeholder, &inner, nr);
        rep->culprit_node = nr->bad_node;
        snprintf(rep->culprit_op, sizeof rep->culprit_op, "%s", nr->op);
        snprintf(rep->culprit_label, sizeof rep->culprit_label, "%s", nr->label);
        char line[512] = "";
        FILE *mem = fmemopen(line, sizeof line - 1, "w");
        if (mem) {
            ag_gradcheck_nodes_fprint(mem, nr);
            fclose(mem);
        }
        const char *prefix = "gradcheck by node: ";
        const char *s = strncmp(line, prefix, strlen(prefix)) == 0 ? line + strlen(prefix) : line;
        snprintf(rep->culprit, sizeof rep->culprit, "%.*s", (int)strcspn(s, "\n"), s);
    }
    ag_tensor_free(placeholder);
    ag_free(nr);
}

bool ag_gradcheck_model(ag_model_fn f, void *ctx, const ag_params *p, const ag_gradcheck_opts *opts,
                        ag_model_gradcheck_report *report)
{
    ag_model_gradcheck_report local;
    ag_model_gradcheck_report *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    rep->culprit_node = -1;
    if (!f || !p) {
        ag_error_set(AG_ERR_NULL, "gradcheck_model: %s is NULL",
                     f ? "the parameter store" : "the model function");
        return false;
    }
    ag_gradcheck_opts o = opts ? *opts : ag_gradcheck_defaults();
    if (!(o.eps > 0) || !(o.atol >= 0) || !(o.rtol >= 0) || !(o.nondet_tol >= 0)) {
        ag_error_set(AG_ERR_VALUE, "gradcheck_model: eps %g, atol %g, rtol %g, nondet_tol %g: eps "
                     "must be > 0 and the tolerances >= 0", o.eps, o.atol, o.rtol, o.nondet_tol);
        return false;
    }
    model_check c = {.f = f, .ctx = ctx};
    c.tape = ag_tape_new();
    if (!c.tape)
        return false;
    ag_tape *prev_tape = ag_tape_use(c.tape);
    bool prev_mode = ag_grad_mode();

    bool ok = clone_f64(p, &c);
    double **again = ok ? ag_calloc(c.n ? c.n : 1, sizeof *again) : NULL;
    ok = ok && again;
    for (size_t i = 0; ok && i < c.n; i++) {
        if (!c.checked[i])
            continue;
        size_t numel = ag_numel(ag_params_at(c.q, i, NULL));
        again[i] = ag_malloc((numel ? numel : 1) * sizeof(double));
        ok = again[i] != NULL;
    }
    if (c.q && !ok && ag_last_status() == AG_OK)
        ag_error_set(AG_ERR_NOMEM, "gradcheck_model: out of memory");

    /* The analytic gradient twice: the second run measures nondeterminism. */
    ok = ok && analytic(&c, c.grad) && analytic(&c, again);
    for (size_t i = 0; ok && i < c.n; i++) {
        size_t numel = c.checked[i] ? ag_numel(ag_params_at(c.q, i, NULL)) : 0;
        for (size_t e = 0; e < numel; e++) {
            double d = fabs(c.grad[i][e] - again[i][e]);
            if (d > rep->nondet_diff || isnan(d))
                rep->nondet_diff = d;
        }
    }
    if (ok) {
        ag_grad_mode_set(false);
        rep->pass = !(rep->nondet_diff > o.nondet_tol);
        double f0 = evaluate(&c, &ok), worst_ratio = -1;
        for (size_t i = 0; ok && i < c.n; i++)
            if (c.checked[i])
                compare_tensor(&c, i, f0, &o, rep, &worst_ratio, &ok);
    }
    if (!ok)
        rep->pass = false;
    ag_grad_mode_set(prev_mode);
    if (ok && !rep->pass && o.per_node)
        find_culprit(&c, &o, rep);

    for (size_t i = 0; i < c.n; i++) {
        if (c.grad)
            ag_free(c.grad[i]);
        if (again)
            ag_free(again[i]);
    }
    ag_free(again);
    ag_free(c.grad);
    ag_free(c.checked);
    ag_params_free(c.q);
    ag_tape_use(prev_tape);
    ag_tape_free(c.tape);
    return ok && rep->pass;
}

void ag_model_gradcheck_fprint(FILE *f, const ag_model_gradcheck_report *r)
{
    if (!f || !r) {
        ag_error_set(AG_ERR_NULL, "model_gradcheck_fprint: %s is NULL", f ? "the report" : "f");
        return;
    }
    fprintf(f, "gradcheck of the model: %s, %zu elements checked (%zu at kinks)\n",
            r->pass ? "PASS" : "FAIL", r->n_checked, r->n_kinks);
    if (r->worst_param[0])
        fprintf(f, "  worst: %s[%zu]: analytic %.10g, numeric %.10g; max abs err %.3g, max rel "
                "err %.3g\n", r->worst_param, r->worst_index, r->analytic, r->numeric,
                r->max_abs_err, r->max_rel_err);
    if (r->culprit[0])
        fprintf(f, "  culprit: %s\n", r->culprit);
}

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

static void unflatten(size_t flat, int ndim, const int64_t *shape, int64_t *index)
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

static bool compare_input(check_state *s, int i, const ag_gradcheck_opts *o,
                          ag_gradcheck_input *rep)
{
    ag_tensor *x = s->x[i];
    ag_tensor *grad = x->grad;
    size_t n = x->numel;
    double *analytic = ag_malloc((n ? n : 1) * sizeof *analytic);
    if (!analytic) {
        ag_error_set(AG_ERR_NOMEM, "gradcheck: out of memory");
        return false;
    }
    for (size_t e = 0; e < n; e++)
        analytic[e] = grad ? ag_load(grad, e) : 0.0; /* no path from x: the gradient is 0 */
    bool ok = true;
    double worst_ratio = -1;
    rep->checked = true;
    rep->pass = true;
    rep->ndim = x->ndim;
    for (size_t e = 0; e < n && ok; e++) {
        double orig = ag_load(x, e);
        ag_store(x, e, orig + o->eps);
        double fp = evaluate(s, &ok);
        ag_store(x, e, orig - o->eps);
        double fm = evaluate(s, &ok);
        ag_store(x, e, orig);
        double numeric = (fp - fm) / (2 * o->eps);
        double err = fabs(analytic[e] - numeric);
        double tol = o->atol + o->rtol * fabs(numeric);
        double rel = err / fmax(fabs(numeric), 1e-300);
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
            rep->analytic = analytic[e];
            rep->numeric = numeric;
        }
    }
    unflatten(rep->worst_flat, x->ndim, x->shape, rep->worst_index);
    ag_free(analytic);
    return ok;
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
    for (int i = 0; i < n; i++) {
        if (!inputs[i]) {
            ag_error_set(AG_ERR_NULL, "gradcheck: input %d is NULL", i);
            return false;
        }
        if (ag_is_stale(inputs[i])) {
            ag_check_inputs("gradcheck", n, inputs);
            return false;
        }
    }
    ag_gradcheck_opts o = opts ? *opts : ag_gradcheck_defaults();
    if (!(o.eps > 0) || !(o.atol >= 0) || !(o.rtol >= 0)) {
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

    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const ag_tensor *in = inputs[i];
        bool is_float = in->dtype != AG_I64;
        s.x[i] = ag_leaf_new(is_float ? AG_F64 : AG_I64, in->ndim, in->shape);
        if (!s.x[i]) {
            ok = false;
            break;
        }
        for (size_t e = 0; e < in->numel; e++)
            ag_store(s.x[i], e, ag_load(in, e));
        if (is_float && (in->requires_grad || !any_marked))
            s.x[i]->requires_grad = true;
    }

    ag_tensor *y = ok ? f(s.x, ctx) : NULL;
    if (ok && !y) {
        ok = false;
    } else if (ok && !y->requires_grad) {
        /* Nothing flows: every gradient is 0; the differences must agree. */
        s.r = ag_ones(AG_F64, y->ndim, y->shape);
        ok = s.r != NULL;
    } else if (ok) {
        ag_rng rng;
        ag_rng_seed(&rng, o.seed);
        s.r = ag_leaf_new(AG_F64, y->ndim, y->shape);
        ok = s.r != NULL;
        /* Weights of random sign and magnitude in [0.5, 1.5): none near 0,
         * so no output element escapes the check. */
        for (size_t e = 0; ok && e < s.r->numel; e++) {
            double w = y->numel == 1 ? 1.0 : 0.5 + ag_rng_uniform(&rng);
            ag_store(s.r, e, (ag_rng_next(&rng) & 1) && y->numel > 1 ? -w : w);
        }
        if (ok)
            ok = ag_backward_seed(y, s.r);
    }
    ag_tape_reset(s.tape);

    if (ok) {
        ag_grad_mode_set(false);
        rep->pass = true;
        for (int i = 0; i < n && ok; i++) {
            if (!s.x[i]->requires_grad)
                continue;
            ok = compare_input(&s, i, &o, &rep->inputs[i]);
            rep->pass &= rep->inputs[i].pass;
        }
    }
    if (!ok)
        rep->pass = false;

    for (int i = 0; i < n; i++)
        ag_tensor_free(s.x[i]);
    ag_tensor_free(s.r);
    ag_tape_use(prev_tape == s.tape ? NULL : prev_tape);
    ag_tape_free(s.tape);
    ag_grad_mode_set(prev_mode);
    return ok && rep->pass;
}

static ag_tensor *call_op(ag_tensor *const *inputs, void *ctx)
{
    const ag_op *op = ctx;
    return op->def.apply(inputs, NULL);
}

bool ag_gradcheck_op(const ag_op *op, uint64_t seed, const ag_gradcheck_opts *opts,
                     ag_gradcheck_report *report)
{
    if (!op) {
        ag_error_set(AG_ERR_NULL, "gradcheck_op: op is NULL");
        return false;
    }
    const ag_op_def *def = &op->def;
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    int ndim[AG_GRADCHECK_MAX_INPUTS];
    int64_t shape[AG_GRADCHECK_MAX_INPUTS][AG_MAX_DIMS];
    if (def->sample) {
        def->sample(&rng, ndim, shape);
    } else {
        int nd = (int)(ag_rng_next(&rng) % 4);
        for (int d = 0; d < nd; d++)
            shape[0][d] = 1 + (int64_t)(ag_rng_next(&rng) % 4);
        for (int i = 0; i < def->n_inputs; i++) {
            ndim[i] = nd;
            memcpy(shape[i], shape[0], sizeof shape[0]);
        }
    }
    ag_tensor *in[AG_GRADCHECK_MAX_INPUTS] = {0};
    bool ok = true;
    for (int i = 0; i < def->n_inputs && ok; i++) {
        in[i] = ag_rand_uniform(AG_F64, ndim[i], shape[i], def->domain_lo, def->domain_hi, &rng);
        ok = in[i] && ag_set_requires_grad(in[i], true);
    }
    ag_gradcheck_opts o = opts ? *opts : ag_gradcheck_defaults();
    bool pass = ok && ag_gradcheck(call_op, (void *)op, def->n_inputs, in, &o, report);
    if (report)
        snprintf(report->name, sizeof report->name, "%s", def->name);
    for (int i = 0; i < def->n_inputs; i++)
        ag_tensor_free(in[i]);
    return pass;
}

void ag_gradcheck_fprint(FILE *f, const ag_gradcheck_report *rep)
{
    if (!f || !rep)
        return;
    fprintf(f, "gradcheck %s: %s\n", rep->name, rep->pass ? "PASS" : "FAIL");
    fprintf(f, "  %-5s %-14s %18s %18s %10s %10s\n", "input", "worst element", "analytic",
            "numeric", "abs err", "rel err");
    for (int i = 0; i < rep->n_inputs; i++) {
        const ag_gradcheck_input *in = &rep->inputs[i];
        if (!in->checked) {
            fprintf(f, "  %-5d (not checked: does not require grad)\n", i);
            continue;
        }
        char idx[64];
        ag_format_shape(in->ndim, in->worst_index, idx, sizeof idx);
        idx[0] = '[';
        idx[strlen(idx) - 1] = ']';
        fprintf(f, "  %-5d %-14s %18.10g %18.10g %10.2e %10.2e  %s\n", i, idx, in->analytic,
                in->numeric, in->max_abs_err, in->max_rel_err, in->pass ? "ok" : "WRONG");
    }
}

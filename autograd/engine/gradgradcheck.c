/* SPDX-License-Identifier: MIT */
/* gradgradcheck.c — checking second derivatives.
 *
 * The first derivative is itself a function of the inputs, built with ops
 * by a recorded sweep: x ↦ <∇_x <f(x), r1>, r2> for fixed random r1, r2.
 * Checking that function with ag_gradcheck compares the gradient of the
 * gradient (from the rules run twice) with finite differences of the
 * analytic gradient — every rule's own derivative is put to the test. */
#include "internal.h"

#include <string.h>

typedef struct second {
    ag_fn f;
    void *ctx;
    int n;
    uint64_t seed;
    ag_tensor *r1;                                  /* projection of f's result */
    ag_tensor *r2[AG_GRADCHECK_MAX_INPUTS];         /* projections of the gradients */
} second;

static ag_tensor *random_like(const ag_tensor *t, ag_rng *rng)
{
    ag_tensor *r = ag_leaf_new(AG_F64, t->ndim, t->shape);
    for (size_t e = 0; r && e < r->numel; e++) {
        double w = 0.5 + ag_rng_uniform(rng);
        ag_store(r, e, ag_rng_next(rng) & 1 ? -w : w);
    }
    return r;
}

/* r1 and every r2, drawn together from one stream so that they are the
 * same whichever evaluation draws them; all or none (AG_ERR_NOMEM). */
static bool draw_projections(second *s, const ag_tensor *y, ag_tensor *const *x)
{
    ag_rng rng;
    ag_rng_seed(&rng, s->seed ^ 0x5eedULL);
    s->r1 = y->numel == 1 ? ag_full(AG_F64, y->ndim, y->shape, 1.0) : random_like(y, &rng);
    bool ok = s->r1 != NULL;
    for (int i = 0; ok && i < s->n; i++)
        if (x[i]->requires_grad)
            ok = (s->r2[i] = random_like(x[i], &rng)) != NULL;
    if (!ok) {
        ag_tensor_free(s->r1);
        s->r1 = NULL;
        for (int i = 0; i < s->n; i++) {
            ag_tensor_free(s->r2[i]);
            s->r2[i] = NULL;
        }
    }
    return ok;
}

static ag_tensor *first_derivative(ag_tensor *const *x, void *ctx)
{
    second *s = ctx;
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true); /* the first derivative is always recorded */
    ag_tensor *y = s->f(x, s->ctx);
    ag_tensor *out = NULL;
    if (y && !s->r1 && !draw_projections(s, y, x))
        y = NULL;
    ag_tensor *xs[AG_GRADCHECK_MAX_INPUTS], *gs[AG_GRADCHECK_MAX_INPUTS];
    int k = 0, which[AG_GRADCHECK_MAX_INPUTS];
    for (int i = 0; i < s->n; i++)
        if (x[i]->requires_grad) {
            which[k] = i;
            xs[k++] = x[i];
        }
    ag_tensor *proj = y ? ag_sum(ag_mul(y, s->r1)) : NULL;
    if (proj && k > 0 && proj->requires_grad &&
        ag_grad(1, &proj, NULL, k, xs, AG_GRAD_CREATE_GRAPH | AG_GRAD_ALLOW_UNUSED, gs)) {
        for (int j = 0; j < k; j++) {
            ag_tensor *term = ag_sum(ag_mul(gs[j], s->r2[which[j]]));
            out = term && j > 0 ? ag_add(out, term) : term;
            if (!out)
                break; /* the error is recorded; no partial sum */
        }
    } else if (proj && !proj->requires_grad) {
        out = ag_mul_scalar(proj, 0.0); /* no dependence: every derivative is 0 */
    }
    ag_grad_mode_set(mode);
    return out;
}

bool ag_gradgradcheck(ag_fn f, void *ctx, int n, ag_tensor *const *inputs,
                      const ag_gradcheck_opts *opts, ag_gradcheck_report *report)
{
    ag_gradcheck_opts o = opts ? *opts : ag_gradcheck_defaults();
    second s = {.f = f, .ctx = ctx, .n = n, .seed = o.seed};
    if (!f) {
        ag_error_set(AG_ERR_NULL, "gradgradcheck: function is NULL");
        return false;
    }
    bool pass = ag_gradcheck(first_derivative, &s, n, inputs, &o, report);
    if (report)
        snprintf(report->name, sizeof report->name, "second derivative");
    ag_tensor_free(s.r1);
    for (int i = 0; i < AG_GRADCHECK_MAX_INPUTS; i++)
        ag_tensor_free(s.r2[i]);
    return pass;
}

static ag_tensor *call_op(ag_tensor *const *inputs, void *ctx)
{
    const ag_op *op = ctx;
    return ag_op_apply(op, inputs, NULL);
}

bool ag_gradgradcheck_op(const ag_op *op, uint64_t seed, const ag_gradcheck_opts *opts,
                         ag_gradcheck_report *report)
{
    if (!op) {
        ag_error_set(AG_ERR_NULL, "gradgradcheck_op: op is NULL");
        return false;
    }
    const ag_op_def *def = &op->def;
    int ndim[AG_GRADCHECK_MAX_INPUTS];
    int64_t shape[AG_GRADCHECK_MAX_INPUTS][AG_MAX_DIMS];
    ag_tensor *in[AG_GRADCHECK_MAX_INPUTS] = {0};
    bool ok = ag_op_random_inputs(def, seed, ndim, shape, in);
    bool pass = ok && ag_gradgradcheck(call_op, (void *)op, def->n_inputs, in, opts, report);
    if (report)
        snprintf(report->name, sizeof report->name, "%s (second order)", def->name);
    for (int i = 0; i < def->n_inputs; i++)
        ag_tensor_free(in[i]);
    return pass;
}

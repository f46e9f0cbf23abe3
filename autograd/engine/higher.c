/* SPDX-License-Identifier: MIT */
/* higher.c — derivatives of derivatives, from ag_grad with create_graph.
 *
 * Every vector-Jacobian rule is written with ops, so a sweep recorded with
 * create_graph is an expression like any other; these helpers differentiate
 * it again. None of them has a formula of its own. */
#include "internal.h"

#include <string.h>

static bool scalar_loss(const char *what, ag_tensor *loss, ag_tensor *x)
{
    ag_tensor *in[2] = {loss, x};
    if (!ag_check_inputs(what, 2, in))
        return false;
    if (loss->numel != 1) {
        ag_error_set(AG_ERR_SHAPE, "%s: the loss has %zu elements; it must have one", what,
                     loss->numel);
        return false;
    }
    return true;
}

/* H·v = ∇_x <∇_x loss, v> */
ag_tensor *ag_hvp(ag_tensor *loss, ag_tensor *x, ag_tensor *v)
{
    if (!scalar_loss("hvp", loss, x) || !ag_check_inputs("hvp", 1, &v))
        return NULL;
    ag_tensor *g;
    if (!ag_grad(1, &loss, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &g))
        return NULL;
    ag_tensor *gv = ag_sum(ag_mul(g, v));
    ag_tensor *hv;
    if (!gv || !ag_grad(1, &gv, NULL, 1, &x, AG_GRAD_ALLOW_UNUSED, &hv))
        return NULL;
    return hv;
}

/* Row i of d(flat f)/d(flat x) for every i: one vjp per row, from one
 * recorded first derivative when `first` is the gradient of a loss. */
static ag_tensor *rows(const char *what, ag_tensor *f, ag_tensor *x)
{
    int64_t m = (int64_t)f->numel, n = (int64_t)x->numel;
    ag_tensor *flat = ag_reshape(f, 1, &m);
    ag_tensor *out = ag_tape_tensor(x->dtype, 2, (int64_t[]){m, n});
    if (!flat || !out)
        return NULL;
    for (int64_t i = 0; i < m; i++) {
        ag_tensor *fi = ag_sum(ag_slice(flat, 0, i, i + 1, 1));
        ag_tensor *row;
        if (!fi || !ag_grad(1, &fi, NULL, 1, &x, AG_GRAD_ALLOW_UNUSED, &row)) {
            if (ag_last_status() == AG_OK)
                ag_error_set(AG_ERR_STATE, "%s: row %lld failed", what, (long long)i);
            return NULL;
        }
        memcpy((char *)out->data + (size_t)(i * n) * ag_dtype_size(x->dtype), row->data,
               (size_t)n * ag_dtype_size(x->dtype));
    }
    return out;
}

ag_tensor *ag_hessian(ag_tensor *loss, ag_tensor *x)
{
    if (!scalar_loss("hessian", loss, x))
        return NULL;
    ag_tensor *g;
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true); /* the row slices must be recorded to be differentiated */
    bool ok = ag_grad(1, &loss, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &g);
    ag_tensor *h = ok ? rows("hessian", g, x) : NULL;
    ag_grad_mode_set(mode);
    return h;
}

ag_tensor *ag_jacobian(ag_tensor *y, ag_tensor *x)
{
    ag_tensor *in[2] = {y, x};
    if (!ag_check_inputs("jacobian", 2, in))
        return NULL;
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true);
    ag_tensor *j = rows("jacobian", y, x);
    ag_grad_mode_set(mode);
    return j;
}

/* J·v: with u a free variable of y's shape, w(u) = Jᵀu is linear in u and
 * its vector-Jacobian product with v is (Jᵀ)ᵀv = J·v. */
ag_tensor *ag_jvp(ag_tensor *y, ag_tensor *x, ag_tensor *v)
{
    ag_tensor *in[3] = {y, x, v};
    if (!ag_check_inputs("jvp", 3, in))
        return NULL;
    bool same = x->ndim == v->ndim;
    for (int d = 0; same && d < x->ndim; d++)
        same = x->shape[d] == v->shape[d];
    if (!same) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "jvp: v has shape %s but x has %s",
                     ag_format_shape(v->ndim, v->shape, a, sizeof a),
                     ag_format_shape(x->ndim, x->shape, b, sizeof b));
        return NULL;
    }
    /* u lives on the tape (an unrecorded variable that requires grad), so
     * it dies with the graph that uses it. */
    ag_tensor *u = ag_tape_tensor(y->dtype, y->ndim, y->shape);
    if (!u)
        return NULL;
    memset(u->data, 0, u->numel * ag_dtype_size(u->dtype));
    u->requires_grad = true;
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true);
    ag_tensor *w, *jv = NULL;
    if (ag_grad(1, &y, &u, 1, &x, AG_GRAD_CREATE_GRAPH | AG_GRAD_ALLOW_UNUSED, &w))
        ag_grad(1, &w, &v, 1, &u, AG_GRAD_ALLOW_UNUSED, &jv);
    ag_grad_mode_set(mode);
    return jv;
}

/* SPDX-License-Identifier: MIT */
/* sgd.c — the plainest optimizer step, for examples and the lecture:
 * w -= lr * dE/dw, run without recording.
 *
 * The caller names the tensor to update, so a missing gradient is always a
 * mistake (requires_grad never set, or no backward run): it is an error
 * that says which, never a silent no-op that leaves a model untrained. */
#include "op.h"

#include <math.h>

/* Elements [lo, hi) of w -= lr * g, in double, then rounded to the
 * parameter's dtype. Each element from its own values: split over the
 * library's threads past SGD_GRAIN elements a chunk (ag_parallel_for),
 * with the same bits as on one thread. */
#define SGD_GRAIN ((size_t)1 << 16)

typedef struct sgd_job {
    bool f32;
    void *w;
    const void *g;
    double lr;
} sgd_job;

static void sgd_chunk(size_t lo, size_t hi, void *ctx)
{
    const sgd_job *j = ctx;
    double lr = j->lr;
    if (j->f32) {
        float *x = j->w;
        const float *d = j->g;
        for (size_t i = lo; i < hi; i++)
            x[i] = (float)((double)x[i] - lr * (double)d[i]);
    } else {
        double *x = j->w;
        const double *d = j->g;
        for (size_t i = lo; i < hi; i++)
            x[i] = x[i] - lr * d[i];
    }
}

bool ag_sgd_update(ag_tensor *t, double lr)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "sgd_update: tensor is NULL");
        return false;
    }
    if (!ag_is_leaf(t)) { /* a stale tensor has recorded AG_ERR_STALE already */
        ag_error_set(AG_ERR_STATE, "sgd_update: only leaves (parameters) can be updated");
        return false;
    }
    /* Messages name the tensor by its label, which ag_params_add sets. */
    const char *name = ag_label(t)[0] ? ag_label(t) : "w";
    if (!isfinite(lr)) {
        ag_error_set(AG_ERR_VALUE, "sgd_update: learning rate %g for '%s'; it must be finite", lr,
                     name);
        return false;
    }
    ag_dtype dtype = ag_tensor_dtype(t);
    if (dtype == AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "sgd_update: '%s' is an i64 tensor; only float tensors have "
                                   "gradients", name);
        return false;
    }
    if (!ag_requires_grad(t)) {
        ag_error_set(AG_ERR_STATE,
                     "sgd_update: '%s' does not require grad, so no gradient is computed for "
                     "it; call ag_set_requires_grad(%s, true) before the forward pass, and "
                     "ag_backward before the update",
                     name, name);
        return false;
    }
    /* A graph gradient of a reset tape makes ag_grad_of record AG_ERR_STALE
     * (which the message below then leaves in place). */
    ag_tensor *g = ag_grad_of(t);
    if (!g) {
        ag_error_set(AG_ERR_STATE,
                     "sgd_update: no gradient has reached '%s' yet; call ag_backward on a loss "
                     "that depends on it before the update",
                     name);
        return false;
    }
    size_t n = ag_numel(t);
    sgd_job j = {dtype == AG_F32, ag_data(t), ag_data_const(g), lr};
    if (n >= 2 * SGD_GRAIN)
        ag_parallel_for(n, SGD_GRAIN, sgd_chunk, &j);
    else
        sgd_chunk(0, n, &j);
    ag_mark_changed(t);
    return true;
}

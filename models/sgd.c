/* SPDX-License-Identifier: MIT */
/* sgd.c — the plainest optimizer step, for examples and the lecture:
 * w -= lr * dE/dw, run without recording.
 *
 * The caller names the tensor to update, so a missing gradient is always a
 * mistake (requires_grad never set, or no backward run): it is an error
 * that says which, never a silent no-op that leaves a model untrained. */
#include "../autograd/internal.h"

#include <math.h>

bool ag_sgd_update(ag_tensor *t, double lr)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "sgd_update: tensor is NULL");
        return false;
    }
    if (ag_is_stale(t) || !t->leaf) {
        ag_error_set(AG_ERR_STATE, "sgd_update: only leaves (parameters) can be updated");
        return false;
    }
    /* Messages name the tensor by its label, which ag_params_add sets. */
    const char *name = t->label[0] ? t->label : "w";
    if (!isfinite(lr)) {
        ag_error_set(AG_ERR_VALUE, "sgd_update: learning rate %g for '%s'; it must be finite", lr,
                     name);
        return false;
    }
    if (t->dtype == AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "sgd_update: '%s' is an i64 tensor; only float tensors have "
                                   "gradients", name);
        return false;
    }
    if (!t->requires_grad) {
        ag_error_set(AG_ERR_STATE,
                     "sgd_update: '%s' does not require grad, so no gradient is computed for "
                     "it; call ag_set_requires_grad(%s, true) before the forward pass, and "
                     "ag_backward before the update",
                     name, name);
        return false;
    }
    /* Before ag_grad_of: a graph gradient from a reset tape is an error to
     * report, not a buffer to read. */
    if (t->grad && !t->grad->leaf && ag_is_stale(t->grad)) {
        ag_error_set(AG_ERR_STALE, "sgd_update: the gradient is from a tape that was reset");
        return false;
    }
    /* Not t->grad directly: a gradient zeroed by ag_zero_grad is only
     * marked zero, and ag_grad_of clears its buffer when it is read. */
    const ag_tensor *g = ag_grad_of(t);
    if (!g) {
        ag_error_set(AG_ERR_STATE,
                     "sgd_update: no gradient has reached '%s' yet; call ag_backward on a loss "
                     "that depends on it before the update",
                     name);
        return false;
    }
    for (size_t i = 0; i < t->numel; i++)
        ag_store(t, i, ag_load(t, i) - lr * ag_load(g, i));
    ag_tensor_modified(t);
    return true;
}

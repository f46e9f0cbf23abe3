/* sgd.c — the plainest optimizer step, for examples and the lecture:
 * w -= lr * dE/dw, run without recording. */
#include "../autograd/internal.h"

bool ag_sgd_update(ag_tensor *t, double lr)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "sgd_update: tensor is NULL");
        return false;
    }
    if (!t->leaf) {
        ag_error_set(AG_ERR_STATE, "sgd_update: only leaves (parameters) can be updated");
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
    if (!g)
        return true;
    for (size_t i = 0; i < t->numel; i++)
        ag_store(t, i, ag_load(t, i) - lr * ag_load(g, i));
    return true;
}

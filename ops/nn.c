/* nn.c — softmax and the losses, as composites of stable primitives.
 *
 * None of these has a rule of its own: log_softmax is x − logsumexp(x), the
 * binary cross-entropy from logits is softplus(z) − z·y, cross-entropy is
 * the negative log-likelihood of log_softmax. Each primitive underneath is
 * exact for large |x|, so the losses stay finite and correct for logits of
 * ±1000 in f32 and f64, and their gradients (softmax − one_hot, σ(z) − y)
 * fall out of the chain rule. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

static ag_tensor *reduce(const char *op, ag_tensor *loss, ag_reduction r)
{
    switch (r) {
    case AG_REDUCE_MEAN: return ag_mean(loss);
    case AG_REDUCE_SUM: return ag_sum(loss);
    case AG_REDUCE_NONE: return loss;
    }
    ag_error_set(AG_ERR_VALUE, "%s: unknown reduction %d", op, (int)r);
    return NULL;
}

static bool axis_ok(const char *op, ag_tensor *x, int axis)
{
    if (!ag_check_inputs(op, 1, &x))
        return false;
    if (axis < -x->ndim || axis >= x->ndim) {
        char s[160];
        ag_error_set(AG_ERR_VALUE, "%s: axis %d out of range for shape %s (%d dimensions)", op,
                     axis, ag_format_shape(x->ndim, x->shape, s, sizeof s), x->ndim);
        return false;
    }
    return true;
}

/* log softmax(x) = (x − m) − log Σ e^(x − m) along axis, m the (constant)
 * row maximum. Subtracting m first keeps the result exact in f32 for large
 * logits: x − m is computed exactly, while x − logsumexp(x) would lose the
 * digits of log Σ below the ulp of |x| (6e-5 at 1000 in f32). */
ag_tensor *ag_log_softmax(ag_tensor *x, int axis)
{
    if (!axis_ok("log_softmax", x, axis))
        return NULL;
    ag_tensor *m = ag_detach(ag_max_axis(x, axis, true));
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->numel; i++)
        if (!isfinite(ag_load(m, i)))
            ag_store(m, i, 0.0); /* no shift for an all −inf row (it gives NaN, as in PyTorch) */
    ag_tensor *shifted = ag_sub(x, m);
    return ag_sub(shifted, ag_log(ag_sum_axis(ag_exp(shifted), axis, true)));
}

/* softmax(x) = e^(log softmax(x)) along axis: no overflow, sums to 1. */
ag_tensor *ag_softmax(ag_tensor *x, int axis)
{
    if (!axis_ok("softmax", x, axis))
        return NULL;
    return ag_exp(ag_log_softmax(x, axis));
}

/* ℓ = softplus(z) − z·y = −[y ln σ(z) + (1 − y) ln(1 − σ(z))] elementwise. */
ag_tensor *ag_bce_with_logits(ag_tensor *logits, ag_tensor *targets, ag_reduction r)
{
    ag_tensor *in[2] = {logits, targets};
    if (!ag_check_inputs("bce_with_logits", 2, in))
        return NULL;
    if (!ag_same_shape(logits->ndim, logits->shape, targets->ndim, targets->shape)) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "bce_with_logits: logits %s and targets %s differ in shape",
                     ag_format_shape(logits->ndim, logits->shape, a, sizeof a),
                     ag_format_shape(targets->ndim, targets->shape, b, sizeof b));
        return NULL;
    }
    return reduce("bce_with_logits", ag_sub(ag_softplus(logits), ag_mul(logits, targets)), r);
}

/* Checks (N, C) scores against N i64 labels in [0, C) and returns the
 * labels as an (N, 1) index for gather. */
static ag_tensor *label_index(const char *op, ag_tensor *scores, ag_tensor *labels)
{
    if (!ag_check_inputs(op, 1, &scores))
        return NULL;
    if (!labels) {
        ag_error_set(AG_ERR_NULL, "%s: labels is NULL", op);
        return NULL;
    }
    if (ag_is_stale(labels)) {
        ag_check_inputs(op, 1, &labels);
        return NULL;
    }
    if (labels->dtype != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "%s: labels are %s; class labels are i64 tensors", op,
                     ag_dtype_str(labels->dtype));
        return NULL;
    }
    if (scores->ndim != 2 || labels->ndim != 1 || labels->shape[0] != scores->shape[0]) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "%s: scores %s and labels %s; expected (N, C) and (N)", op,
                     ag_format_shape(scores->ndim, scores->shape, a, sizeof a),
                     ag_format_shape(labels->ndim, labels->shape, b, sizeof b));
        return NULL;
    }
    const int64_t *lv = labels->data;
    for (int64_t i = 0; i < labels->shape[0]; i++)
        if (lv[i] < 0 || lv[i] >= scores->shape[1]) {
            ag_error_set(AG_ERR_VALUE, "%s: label %lld at position %lld is out of range for %lld classes",
                         op, (long long)lv[i], (long long)i, (long long)scores->shape[1]);
            return NULL;
        }
    int64_t shape[2] = {labels->shape[0], 1};
    ag_tensor *idx = ag_tape_tensor(AG_I64, 2, shape);
    if (idx)
        memcpy(idx->data, labels->data, labels->numel * sizeof(int64_t));
    return idx;
}

/* ℓ_i = −logp[i, labels_i] for log-probabilities (N, C). */
ag_tensor *ag_nll(ag_tensor *logp, ag_tensor *labels, ag_reduction r)
{
    ag_tensor *idx = label_index("nll", logp, labels);
    if (!idx)
        return NULL;
    int64_t n = logp->shape[0];
    return reduce("nll", ag_neg(ag_reshape(ag_gather(logp, 1, idx), 1, &n)), r);
}

/* ℓ_i = logsumexp(z_i) − z[i, labels_i] for logits (N, C). */
ag_tensor *ag_cross_entropy(ag_tensor *logits, ag_tensor *labels, ag_reduction r)
{
    /* Labels are checked here so that the message names cross_entropy. */
    if (!label_index("cross_entropy", logits, labels))
        return NULL;
    return ag_nll(ag_log_softmax(logits, 1), labels, r);
}

/* ℓ = (pred − target)² elementwise (shapes broadcast). */
ag_tensor *ag_mse(ag_tensor *pred, ag_tensor *target, ag_reduction r)
{
    ag_tensor *in[2] = {pred, target};
    int nd;
    int64_t shape[AG_MAX_DIMS];
    if (!ag_check_inputs("mse", 2, in) ||
        !ag_broadcast_shapes("mse", pred->ndim, pred->shape, target->ndim, target->shape, &nd,
                             shape))
        return NULL;
    return reduce("mse", ag_square(ag_sub(pred, target)), r);
}

/* ---- registry entries: composites, checked through their parts ---- */

/* Labels for the sweep: row i gets class (3i + 1) mod C. */
static ag_tensor *sweep_labels(const ag_tensor *scores)
{
    if (!scores || scores->ndim != 2)
        return NULL;
    ag_tensor *l = ag_tape_tensor(AG_I64, 1, scores->shape);
    if (l)
        for (int64_t i = 0; i < scores->shape[0]; i++)
            ((int64_t *)l->data)[i] = (3 * i + 1) % scores->shape[1];
    return l;
}

static ag_tensor *apply_softmax(ag_tensor *const *in, const void *p) { (void)p; return ag_softmax(in[0], -1); }
static ag_tensor *apply_log_softmax(ag_tensor *const *in, const void *p) { (void)p; return ag_log_softmax(in[0], 0); }
static ag_tensor *apply_bce(ag_tensor *const *in, const void *p) { (void)p; return ag_bce_with_logits(in[0], in[1], AG_REDUCE_MEAN); }
static ag_tensor *apply_mse(ag_tensor *const *in, const void *p) { (void)p; return ag_mse(in[0], in[1], AG_REDUCE_SUM); }
static ag_tensor *apply_ce(ag_tensor *const *in, const void *p)
{
    (void)p;
    return ag_cross_entropy(in[0], in[1] ? in[1] : sweep_labels(in[0]), AG_REDUCE_MEAN);
}
static ag_tensor *apply_nll(ag_tensor *const *in, const void *p)
{
    (void)p;
    return ag_nll(in[0], in[1] ? in[1] : sweep_labels(in[0]), AG_REDUCE_NONE);
}

static void sample_rows(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = ndim[1] = 2;
    shape[0][0] = shape[1][0] = 1 + (int64_t)(ag_rng_next(rng) % 4);
    shape[0][1] = shape[1][1] = 1 + (int64_t)(ag_rng_next(rng) % 5);
}

#define COMPOSITE AG_OP_COMPOSITE
static ag_op OP_SOFTMAX = {.def = {"softmax", 1, apply_softmax, NULL, -3, 3, COMPOSITE, sample_rows}};
static ag_op OP_LOG_SOFTMAX = {.def = {"log_softmax", 1, apply_log_softmax, NULL, -3, 3, COMPOSITE, sample_rows}};
/* Targets are drawn from [0, 1) like the logits: any real y is a valid target. */
static ag_op OP_BCE = {.def = {"bce_with_logits", 2, apply_bce, NULL, -1, 1, COMPOSITE | AG_OP_NO_BROADCAST, sample_rows}};
static ag_op OP_CE = {.def = {"cross_entropy", 1, apply_ce, NULL, -3, 3, COMPOSITE, sample_rows}};
static ag_op OP_NLL = {.def = {"nll", 1, apply_nll, NULL, -3, -0.1, COMPOSITE, sample_rows}};
static ag_op OP_MSE = {.def = {"mse", 2, apply_mse, NULL, -2, 2, COMPOSITE, sample_rows}};

void ag_ops_register_nn(void)
{
    ag_op_register_builtin(&OP_SOFTMAX);
    ag_op_register_builtin(&OP_LOG_SOFTMAX);
    ag_op_register_builtin(&OP_BCE);
    ag_op_register_builtin(&OP_CE);
    ag_op_register_builtin(&OP_NLL);
    ag_op_register_builtin(&OP_MSE);
}

/* SPDX-License-Identifier: MIT */
/* nn.c — softmax and the losses.
 *
 * softmax, log_softmax, nll and mse are composites of stable primitives:
 * log_softmax is (x − m) − log Σ e^(x − m), nll a gather of it, mse a
 * square. The two losses a training step ends in, cross_entropy and
 * bce_with_logits, are primitives of their own, so that the loss is one
 * node forward and one loop backward rather than ten nodes each way. Their
 * rules are still written with ops (softmax − one_hot, σ(z) − y), so that
 * create_graph sweeps can differentiate them again; their kernels compute
 * the same products with loops, rounding as the rules do. Every loss stays
 * finite and exact for logits of ±1000 in f32 and f64. */
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

/* Shapes for the sweep of the losses: (N, C) for every input. */
static void sample_rows(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = ndim[1] = 2;
    shape[0][0] = shape[1][0] = 1 + (int64_t)(ag_rng_next(rng) % 4);
    shape[0][1] = shape[1][1] = 1 + (int64_t)(ag_rng_next(rng) % 5);
}

static bool reduction_ok(const char *op, ag_reduction r)
{
    if (r == AG_REDUCE_MEAN || r == AG_REDUCE_SUM || r == AG_REDUCE_NONE)
        return true;
    ag_error_set(AG_ERR_VALUE, "%s: unknown reduction %d", op, (int)r);
    return false;
}

/* The factor of a reduction: 1/n for a mean (NaN comes of 0/0 for a mean
 * over nothing, as numpy gives), 1 for a sum. The forward applies it in
 * double, as ag_mean does; the backward rounds it to the dtype first, as
 * mul_scalar does in the rules. */
static double reduction_scale(ag_reduction r, size_t n)
{
    return r == AG_REDUCE_MEAN ? 1.0 / (double)n : 1.0;
}

/* ---- bce_with_logits ---- */

static ag_op OP_BCE;

/* The node's params: the reduction, then σ(z) for every logit as the
 * forward found it (n elements of the dtype), so that the backward kernel
 * needs no second exponential: the forward already has e^(−|z|), from
 * which softplus and σ both follow. A forward re-run from a node's params
 * only reads r. */
typedef struct bce_params {
    ag_reduction r;
    double sigmoid[]; /* n floats or doubles, as the logits */
} bce_params;

/* softplus(z) = max(z, 0) + log1p(e) (max as a comparison, which GCC
 * inlines where it calls fmax; the sum is the same for −0 and NaN), σ(z) = 1/(1 + e) or e/(1 + e) with
 * e = e^(−|z|): as ops/elementwise.c computes softplus and ops/unary.c
 * computes σ (e^(−z) for z ≥ 0, e^z below), so that the loss is the one the
 * composite softplus(z) − z·y gave, and σ the one ag_sigmoid gives, bit for
 * bit. Sums accumulate in double whatever the dtype, as ag_sum's do. */
#define BCE_FORWARD(T, EXP, LOG1P, FABS)                                                      \
    {                                                                                         \
        const T *restrict Z = logits->data, *restrict Yt = targets->data;                     \
        T *restrict S = (T *)(void *)p->sigmoid;                                              \
        double acc = 0;                                                                       \
        for (size_t i = 0; i < n; i++) {                                                      \
            T v = Z[i], e = EXP(-FABS(v));                                                    \
            T li = ((v > 0 ? v : (T)0) + LOG1P(e)) - v * Yt[i];                               \
            S[i] = v >= 0 ? (T)1 / ((T)1 + e) : e / ((T)1 + e);                               \
            if (r == AG_REDUCE_NONE)                                                          \
                ((T *)y->data)[i] = li;                                                       \
            else                                                                              \
                acc += li;                                                                    \
        }                                                                                     \
        if (r != AG_REDUCE_NONE)                                                              \
            ((T *)y->data)[0] = (T)(acc * reduction_scale(r, n));                             \
    }

/* ℓ = softplus(z) − z·y = −[y ln σ(z) + (1 − y) ln(1 − σ(z))] elementwise,
 * then reduced over every element. */
static ag_tensor *bce_forward(ag_tensor *const *in, const void *params)
{
    ag_reduction r = ((const bce_params *)params)->r;
    ag_tensor *logits = in[0], *targets = in[1];
    if (!ag_check_inputs("bce_with_logits", 2, in))
        return NULL;
    if (!ag_same_shape(logits->ndim, logits->shape, targets->ndim, targets->shape)) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "bce_with_logits: logits %s and targets %s differ in shape",
                     ag_format_shape(logits->ndim, logits->shape, a, sizeof a),
                     ag_format_shape(targets->ndim, targets->shape, b, sizeof b));
        return NULL;
    }
    if (!reduction_ok("bce_with_logits", r))
        return NULL;
    size_t n = logits->numel;
    size_t n_params = sizeof(bce_params) + n * ag_dtype_size(logits->dtype);
    bce_params *p = ag_tape_alloc(n_params);
    if (!p)
        return NULL;
    p->r = r;
    /* The loss goes into a scratch tensor first and the result is made
     * after the loop, so that the node's copy of the params has σ. */
    int ndim = r == AG_REDUCE_NONE ? logits->ndim : 0;
    ag_tensor *y = ag_tape_tensor(logits->dtype, ndim, logits->shape);
    if (!y)
        return NULL;
    if (logits->dtype == AG_F32)
        BCE_FORWARD(float, expf, log1pf, fabsf)
    else
        BCE_FORWARD(double, exp, log1p, fabs)
    ag_tensor *loss = ag_op_result(&OP_BCE, logits->dtype, ndim, logits->shape, 2, in, p, n_params);
    if (!loss)
        return NULL;
    memcpy(loss->data, y->data, loss->numel * ag_dtype_size(loss->dtype));
    return loss;
}

ag_tensor *ag_bce_with_logits(ag_tensor *logits, ag_tensor *targets, ag_reduction r)
{
    bce_params head = {.r = r};
    return bce_forward((ag_tensor *[]){logits, targets}, &head);
}

/* dz += g·(σ(z) − y), dy += −g·z, with g each element's share of the
 * upstream gradient: itself for none, broadcast for sum, over n for mean.
 * Targets may require grad (soft labels that are learned). */
static bool bce_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const bce_params *p = y->params;
    ag_tensor *z = y->inputs[0], *t = y->inputs[1];
    ag_tensor *w = p->r == AG_REDUCE_MEAN ? ag_mul_scalar(g, reduction_scale(p->r, z->numel)) : g;
    if (z->requires_grad && !(gin[0] = ag_mul(w, ag_sub(ag_sigmoid(z), t))))
        return false;
    if (t->requires_grad && !(gin[1] = ag_neg(ag_mul(w, z))))
        return false;
    return true;
}

/* σ(z) as the forward saved it, the value ag_sigmoid gives (see BCE_FORWARD). */
#define BCE_GRAD(T)                                                                           \
    {                                                                                         \
        const T *restrict G = g->data, *restrict Z = z->data, *restrict Yt = t->data;         \
        const T *restrict S = (const T *)(const void *)p->sigmoid;                            \
        T *restrict DZ = dz, *restrict DY = dy;                                               \
        T w = none ? 0 : G[0] * (T)reduction_scale(p->r, n);                                  \
        for (size_t i = 0; i < n; i++) {                                                      \
            T gv = none ? G[i] : w;                                                           \
            if (DZ) {                                                                         \
                T v = gv * (S[i] - Yt[i]);                                                    \
                DZ[i] = acc_z ? DZ[i] + v : v;                                                \
            }                                                                                 \
            if (DY) {                                                                         \
                T v = -(gv * Z[i]);                                                           \
                DY[i] = acc_y ? DY[i] + v : v;                                                \
            }                                                                                 \
        }                                                                                     \
    }

static bool bce_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const bce_params *p = y->params;
    ag_tensor *z = y->inputs[0], *t = y->inputs[1];
    void *dz = NULL, *dy = NULL;
    if ((dst[0].x && !(dz = ag_grad_dst_data(&dst[0]))) ||
        (dst[1].x && !(dy = ag_grad_dst_data(&dst[1]))))
        return false;
    bool acc_z = dst[0].accumulate, acc_y = dst[1].accumulate, none = p->r == AG_REDUCE_NONE;
    size_t n = z->numel;
    if (y->dtype == AG_F32)
        BCE_GRAD(float)
    else
        BCE_GRAD(double)
    return true;
}

static ag_tensor *bce_example(ag_tensor *const *in)
{
    return ag_bce_with_logits(in[0], in[1], AG_REDUCE_MEAN);
}

/* Targets are drawn from [-1, 1) like the logits: any real y is a valid
 * target. */
static ag_op OP_BCE = {.def = {
        .name = "bce_with_logits",
        .n_inputs = 2,
        .forward = bce_forward,
        .example = bce_example,
        .vjp = bce_vjp,
        .domain_lo = -1,
        .domain_hi = 1,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_rows,
        .rule = "dz += g * (sigmoid(z) - y), dy += -g * z (g / n for mean)",
        .kernel = bce_kernel,
    }};

/* ---- class labels ---- */

/* Checks (N, C) scores against N i64 labels in [0, C). */
static bool labels_ok(const char *op, ag_tensor *scores, ag_tensor *labels)
{
    if (!ag_check_inputs(op, 1, &scores))
        return false;
    if (!labels) {
        ag_error_set(AG_ERR_NULL, "%s: labels is NULL", op);
        return false;
    }
    if (ag_is_stale(labels)) {
        ag_check_inputs(op, 1, &labels);
        return false;
    }
    if (labels->dtype != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "%s: labels are %s; class labels are i64 tensors", op,
                     ag_dtype_str(labels->dtype));
        return false;
    }
    if (scores->ndim != 2 || labels->ndim != 1 || labels->shape[0] != scores->shape[0]) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "%s: scores %s and labels %s; expected (N, C) and (N)", op,
                     ag_format_shape(scores->ndim, scores->shape, a, sizeof a),
                     ag_format_shape(labels->ndim, labels->shape, b, sizeof b));
        return false;
    }
    const int64_t *lv = labels->data;
    for (int64_t i = 0; i < labels->shape[0]; i++)
        if (lv[i] < 0 || lv[i] >= scores->shape[1]) {
            ag_error_set(AG_ERR_VALUE, "%s: label %lld at position %lld is out of range for %lld classes",
                         op, (long long)lv[i], (long long)i, (long long)scores->shape[1]);
            return false;
        }
    return true;
}

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

/* ---- nll ---- */

/* ℓ_i = −logp[i, labels_i] for log-probabilities (N, C): a gather. */
ag_tensor *ag_nll(ag_tensor *logp, ag_tensor *labels, ag_reduction r)
{
    if (!labels_ok("nll", logp, labels))
        return NULL;
    int64_t n = logp->shape[0], shape[2] = {n, 1};
    ag_tensor *idx = ag_tape_tensor(AG_I64, 2, shape);
    if (!idx)
        return NULL;
    memcpy(idx->data, labels->data, labels->numel * sizeof(int64_t));
    return reduce("nll", ag_neg(ag_reshape(ag_gather(logp, 1, idx), 1, &n)), r);
}

/* ---- cross_entropy ---- */

typedef struct ce_params {
    ag_reduction r;
    /* Row i's shift m_i and ln Σ_j e^(z_ij − m_i), as the forward rounded
     * them: the kernel forms the softmax from them with one exp per element
     * and no second pass over the row. */
    double rows[];
} ce_params;

static ag_op OP_CE;

/* Row by row: m the row's maximum (0 when it is not finite: an all −inf row
 * then gives NaN, as PyTorch does), z − m exact, e^(z − m) summed in double
 * as ag_sum_axis does. These are the steps, and the roundings, of the
 * composite log_softmax-then-nll this op replaces. */
#define CE_ROWS(T, EXP, LOG)                                                                  \
    {                                                                                         \
        const T *restrict Z = logits->data;                                                   \
        for (int64_t i = 0; i < n; i++) {                                                     \
            const T *row = Z + i * c;                                                         \
            T m = -(T)INFINITY;                                                               \
            for (int64_t j = 0; j < c; j++)                                                   \
                if (row[j] > m)                                                               \
                    m = row[j];                                                               \
            if (!isfinite(m))                                                                 \
                m = 0;                                                                        \
            double s = 0;                                                                     \
            for (int64_t j = 0; j < c; j++)                                                   \
                s += EXP(row[j] - m);                                                         \
            p->rows[2 * i] = m;                                                               \
            p->rows[2 * i + 1] = LOG((T)s);                                                   \
        }                                                                                     \
    }

/* ℓ_i = ln Σ − (z_label − m), the negated log-softmax at the label. */
#define CE_LOSS(T)                                                                            \
    {                                                                                         \
        const T *restrict Z = logits->data;                                                   \
        T *restrict L = y->data;                                                              \
        double total = 0;                                                                     \
        for (int64_t i = 0; i < n; i++) {                                                     \
            T m = (T)p->rows[2 * i], lse = (T)p->rows[2 * i + 1];                             \
            T li = lse - (Z[i * c + lab[i]] - m);                                             \
            if (r == AG_REDUCE_NONE)                                                          \
                L[i] = li;                                                                    \
            else                                                                              \
                total += li;                                                                  \
        }                                                                                     \
        if (r != AG_REDUCE_NONE)                                                              \
            L[0] = (T)(total * reduction_scale(r, (size_t)n));                                \
    }

/* ℓ_i = logsumexp(z_i) − z[i, labels_i] for logits (N, C), then reduced
 * over the N rows. The labels are the node's second input; of its params
 * only the reduction is an option, the row statistics are computed here. */
static ag_tensor *ce_forward(ag_tensor *const *in, const void *params)
{
    ag_tensor *logits = in[0], *labels = in[1];
    ag_reduction r = ((const ce_params *)params)->r;
    if (!labels_ok("cross_entropy", logits, labels) || !reduction_ok("cross_entropy", r))
        return NULL;
    int64_t n = logits->shape[0], c = logits->shape[1];
    if (c == 0) {
        char a[160];
        ag_error_set(AG_ERR_SHAPE, "cross_entropy: logits %s have no classes",
                     ag_format_shape(logits->ndim, logits->shape, a, sizeof a));
        return NULL;
    }
    /* The row statistics go into the params, which the node keeps a copy of
     * when it is recorded. */
    size_t n_params = sizeof(ce_params) + 2 * (size_t)n * sizeof(double);
    ce_params *p = ag_tape_alloc(n_params);
    if (!p)
        return NULL;
    p->r = r;
    if (logits->dtype == AG_F32)
        CE_ROWS(float, expf, logf)
    else
        CE_ROWS(double, exp, log)
    ag_tensor *y = ag_op_result(&OP_CE, logits->dtype, r == AG_REDUCE_NONE ? 1 : 0, &n, 2, in, p,
                                n_params);
    if (!y)
        return NULL;
    const int64_t *lab = labels->data;
    if (y->dtype == AG_F32)
        CE_LOSS(float)
    else
        CE_LOSS(double)
    return y;
}

ag_tensor *ag_cross_entropy(ag_tensor *logits, ag_tensor *labels, ag_reduction r)
{
    ce_params head = {.r = r};
    return ce_forward((ag_tensor *[]){logits, labels}, &head);
}

/* dz += (softmax(z) − one_hot(labels)) · g_i, with g_i row i's share of the
 * upstream gradient: itself for none, broadcast for sum, over N for mean. */
static bool ce_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const ce_params *p = y->params;
    ag_tensor *z = y->inputs[0];
    int64_t col[2] = {z->shape[0], 1};
    ag_tensor *w = p->r == AG_REDUCE_NONE ? ag_reshape(g, 2, col)
                   : p->r == AG_REDUCE_MEAN
                       ? ag_mul_scalar(g, reduction_scale(p->r, (size_t)z->shape[0]))
                       : g;
    ag_tensor *d = ag_sub(ag_softmax(z, 1), ag_one_hot(y->inputs[1], z->shape[1], z->dtype));
    return (gin[0] = ag_mul(d, w)) != NULL;
}

/* The softmax as the rule's softmax (exp of log_softmax) forms it. */
#define CE_GRAD(T, EXP)                                                                       \
    {                                                                                         \
        const T *restrict Z = z->data, *restrict G = g->data;                                 \
        T *restrict D = d;                                                                    \
        T w = none ? 0 : G[0] * (T)reduction_scale(p->r, (size_t)n);                          \
        for (int64_t i = 0; i < n; i++) {                                                     \
            const T *row = Z + i * c;                                                         \
            T *drow = D + i * c;                                                              \
            T m = (T)p->rows[2 * i], lse = (T)p->rows[2 * i + 1], gi = none ? G[i] : w;       \
            for (int64_t j = 0; j < c; j++) {                                                 \
                T v = (EXP((row[j] - m) - lse) - (j == lab[i] ? (T)1 : (T)0)) * gi;           \
                drow[j] = acc ? drow[j] + v : v;                                              \
            }                                                                                 \
        }                                                                                     \
    }

static bool ce_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    if (!dst[0].x) /* labels never take a gradient */
        return true;
    const ce_params *p = y->params;
    ag_tensor *z = y->inputs[0];
    void *d = ag_grad_dst_data(&dst[0]);
    if (!d)
        return false;
    bool acc = dst[0].accumulate, none = p->r == AG_REDUCE_NONE;
    int64_t n = z->shape[0], c = z->shape[1];
    const int64_t *lab = y->inputs[1]->data;
    if (y->dtype == AG_F32)
        CE_GRAD(float, expf)
    else
        CE_GRAD(double, exp)
    return true;
}

static ag_tensor *ce_example(ag_tensor *const *in)
{
    return ag_cross_entropy(in[0], sweep_labels(in[0]), AG_REDUCE_MEAN);
}

/* Labels come from sweep_labels (or, when a node is re-run, the node's own). */
static ag_op OP_CE = {.def = {
        .name = "cross_entropy",
        .n_inputs = 1,
        .forward = ce_forward,
        .example = ce_example,
        .vjp = ce_vjp,
        .domain_lo = -3,
        .domain_hi = 3,
        .sample = sample_rows,
        .rule = "dz += (softmax(z) - one_hot(labels)) * g per row (g / N for mean)",
        .kernel = ce_kernel,
    }};

/* ℓ = (pred − target)² elementwise, for a pred and a target of one shape.
 * Not broadcast, as bce_with_logits is not (and unlike PyTorch, which only
 * warns): a (4,1) prediction against a (4) target would broadcast to (4,4)
 * and average 16 differences, every prediction against every target, a
 * plausible-looking wrong loss. */
ag_tensor *ag_mse(ag_tensor *pred, ag_tensor *target, ag_reduction r)
{
    ag_tensor *in[2] = {pred, target};
    if (!ag_check_inputs("mse", 2, in))
        return NULL;
    if (!ag_same_shape(pred->ndim, pred->shape, target->ndim, target->shape)) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "mse: pred %s and target %s differ in shape",
                     ag_format_shape(pred->ndim, pred->shape, a, sizeof a),
                     ag_format_shape(target->ndim, target->shape, b, sizeof b));
        return NULL;
    }
    if (!reduction_ok("mse", r))
        return NULL;
    return reduce("mse", ag_square(ag_sub(pred, target)), r);
}

/* ---- registry entries of the composites, checked through their parts ---- */

static ag_tensor *softmax_example(ag_tensor *const *in) { return ag_softmax(in[0], -1); }
static ag_tensor *log_softmax_example(ag_tensor *const *in) { return ag_log_softmax(in[0], 0); }
static ag_tensor *mse_example(ag_tensor *const *in) { return ag_mse(in[0], in[1], AG_REDUCE_SUM); }
static ag_tensor *nll_example(ag_tensor *const *in)
{
    return ag_nll(in[0], sweep_labels(in[0]), AG_REDUCE_NONE);
}

#define COMPOSITE AG_OP_COMPOSITE
static ag_op OP_SOFTMAX = {.def = {
        .name = "softmax",
        .n_inputs = 1,
        .example = softmax_example,
        .domain_lo = -3,
        .domain_hi = 3,
        .flags = COMPOSITE,
        .sample = sample_rows,
    }};
static ag_op OP_LOG_SOFTMAX = {.def = {
        .name = "log_softmax",
        .n_inputs = 1,
        .example = log_softmax_example,
        .domain_lo = -3,
        .domain_hi = 3,
        .flags = COMPOSITE,
        .sample = sample_rows,
    }};
static ag_op OP_NLL = {.def = {
        .name = "nll",
        .n_inputs = 1,
        .example = nll_example,
        .domain_lo = -3,
        .domain_hi = -0.1,
        .flags = COMPOSITE,
        .sample = sample_rows,
    }};
static ag_op OP_MSE = {.def = {
        .name = "mse",
        .n_inputs = 2,
        .example = mse_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_rows,
    }};

void ag_ops_register_nn(void)
{
    ag_op_register_builtin(&OP_SOFTMAX);
    ag_op_register_builtin(&OP_LOG_SOFTMAX);
    ag_op_register_builtin(&OP_BCE);
    ag_op_register_builtin(&OP_CE);
    ag_op_register_builtin(&OP_NLL);
    ag_op_register_builtin(&OP_MSE);
}

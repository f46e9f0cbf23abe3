/* SPDX-License-Identifier: MIT */
/* index.c — picking elements by integer index: gather and its adjoint
 * scatter_add, and what is built on them (index_select, max/min along an
 * axis), plus the integer-valued helpers argmax, argmin and one_hot.
 *
 * gather and scatter_add are each other's gradient, so every op here that
 * selects elements — a class label's log-probability, the maximum of a row —
 * gets its backward rule from these two primitives. Index tensors are i64,
 * travel as extra node inputs after the differentiable one, and never
 * receive a gradient. gather and index_select also pick from i64 tensors
 * (labels by index), unrecorded: no i64 tensor requires grad. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

typedef struct index_params {
    int axis;
    int ndim;                    /* scatter_add: the result's shape */
    int64_t shape[AG_MAX_DIMS];
} index_params;

static ag_op OP_GATHER, OP_SCATTER_ADD;

static bool index_ok(const char *op, const ag_tensor *index)
{
    if (!index) {
        ag_error_set(AG_ERR_NULL, "%s: index is NULL", op);
        return false;
    }
    if (ag_is_stale(index)) {
        ag_tensor *t = (ag_tensor *)index;
        ag_check_inputs(op, 1, &t);
        return false;
    }
    if (index->dtype != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "%s: index is %s; indices are i64 tensors", op,
                     ag_dtype_str(index->dtype));
        return false;
    }
    return true;
}

static int norm_axis(const char *op, int axis, int ndim)
{
    int a = axis < 0 ? axis + ndim : axis;
    if (a < 0 || a >= ndim) {
        ag_error_set(AG_ERR_VALUE, "%s: axis %d out of range for %d dimensions", op, axis, ndim);
        return -1;
    }
    return a;
}

/* Offsets of `index` laid against a tensor of shape `full`: the element of
 * `full` addressed by each index element, with the axis coordinate replaced
 * by the index value. Returns false (with an error) on a bad index value. */
static bool index_offsets(const char *op, const ag_tensor *index, int axis, int ndim,
                          const int64_t *full, size_t *offsets)
{
    const int64_t *iv = index->data;
    int64_t coord[AG_MAX_DIMS] = {0};
    size_t stride[AG_MAX_DIMS];
    size_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= (size_t)full[d];
    }
    for (size_t i = 0; i < index->numel; i++) {
        int64_t v = iv[i];
        if (v < 0 || v >= full[axis]) {
            char pos[160];
            ag_error_set(AG_ERR_VALUE, "%s: index %lld at position %s is out of range for axis %d of size %lld",
                         op, (long long)v, ag_format_shape(ndim, coord, pos, sizeof pos), axis,
                         (long long)full[axis]);
            return false;
        }
        size_t off = 0;
        for (int d = 0; d < ndim; d++)
            off += (size_t)(d == axis ? v : coord[d]) * stride[d];
        offsets[i] = off;
        for (int d = ndim - 1; d >= 0; d--) {
            if (++coord[d] < index->shape[d])
                break;
            coord[d] = 0;
        }
    }
    return true;
}

/* The index's shape must fit inside `full` off the axis. */
static bool index_shape_ok(const char *op, const ag_tensor *index, int axis, int ndim,
                           const int64_t *full)
{
    bool ok = index->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = d == axis || index->shape[d] <= full[d];
    if (!ok) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE,
                     "%s: index of shape %s does not fit a tensor of shape %s along axis %d (same "
                     "rank, no larger off the axis)",
                     op, ag_format_shape(index->ndim, index->shape, a, sizeof a),
                     ag_format_shape(ndim, full, b, sizeof b), axis);
    }
    return ok;
}

/* y[..i..] = x[..index[..i..]..] along axis;  dx += scatter_add(g, axis, index, shape of x)
 * The index is the node's second input; its params hold the axis. */
static ag_tensor *gather_forward(ag_tensor *const *in, const void *params)
{
    const index_params *p = params;
    ag_tensor *x = in[0], *index = in[1];
    if (!ag_check_inputs_data("gather", 1, &x) || !index_ok("gather", index))
        return NULL;
    int a = norm_axis("gather", p->axis, x->ndim);
    if (a < 0 || !index_shape_ok("gather", index, a, x->ndim, x->shape))
        return NULL;
    size_t *off = ag_tape_alloc((index->numel ? index->numel : 1) * sizeof *off);
    if (!off || !index_offsets("gather", index, a, x->ndim, x->shape, off))
        return NULL;
    index_params q = {.axis = a};
    ag_tensor *y = ag_op_result(&OP_GATHER, x->dtype, index->ndim, index->shape, 2, in, &q, sizeof q);
    if (!y)
        return NULL;
    if (x->dtype == AG_F32)
        for (size_t i = 0; i < y->numel; i++)
            ((float *)y->data)[i] = ((const float *)x->data)[off[i]];
    else if (x->dtype == AG_I64)
        for (size_t i = 0; i < y->numel; i++)
            ((int64_t *)y->data)[i] = ((const int64_t *)x->data)[off[i]];
    else
        for (size_t i = 0; i < y->numel; i++)
            ((double *)y->data)[i] = ((const double *)x->data)[off[i]];
    return y;
}

ag_tensor *ag_gather(ag_tensor *x, int axis, ag_tensor *index)
{
    return gather_forward((ag_tensor *[]){x, index}, &(index_params){.axis = axis});
}

static bool gather_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const index_params *p = y->params;
    ag_tensor *x = y->inputs[0];
    return (gin[0] = ag_scatter_add(g, p->axis, y->inputs[1], x->ndim, x->shape)) != NULL;
}

/* y = zeros(shape); y[..index[..i..]..] += g[..i..];  dg += gather(gy, axis, index)
 * The index is the node's second input; its params hold the axis and the
 * result's shape. */
static ag_tensor *scatter_add_forward(ag_tensor *const *in, const void *params)
{
    const index_params *p = params;
    ag_tensor *src = in[0], *index = in[1];
    int ndim = p->ndim;
    const int64_t *shape = p->shape;
    if (!ag_check_inputs("scatter_add", 1, &src) || !index_ok("scatter_add", index))
        return NULL;
    size_t numel;
    if (!ag_shape_check("scatter_add", ndim, shape, &numel))
        return NULL;
    int a = norm_axis("scatter_add", p->axis, ndim);
    if (a < 0 || !index_shape_ok("scatter_add", index, a, ndim, shape))
        return NULL;
    if (!ag_same_shape(src->ndim, src->shape, index->ndim, index->shape)) {
        char s1[160], s2[160];
        ag_error_set(AG_ERR_SHAPE, "scatter_add: source of shape %s and index of shape %s differ",
                     ag_format_shape(src->ndim, src->shape, s1, sizeof s1),
                     ag_format_shape(index->ndim, index->shape, s2, sizeof s2));
        return NULL;
    }
    size_t *off = ag_tape_alloc((index->numel ? index->numel : 1) * sizeof *off);
    if (!off || !index_offsets("scatter_add", index, a, ndim, shape, off))
        return NULL;
    index_params q = *p;
    q.axis = a;
    ag_tensor *y = ag_op_result(&OP_SCATTER_ADD, src->dtype, ndim, shape, 2, in, &q, sizeof q);
    if (!y)
        return NULL;
    memset(y->data, 0, y->numel * ag_dtype_size(y->dtype));
    if (src->dtype == AG_F32)
        for (size_t i = 0; i < src->numel; i++)
            ((float *)y->data)[off[i]] += ((const float *)src->data)[i];
    else
        for (size_t i = 0; i < src->numel; i++)
            ((double *)y->data)[off[i]] += ((const double *)src->data)[i];
    return y;
}

ag_tensor *ag_scatter_add(ag_tensor *src, int axis, ag_tensor *index, int ndim,
                          const int64_t *shape)
{
    size_t numel;
    if (!ag_shape_check("scatter_add", ndim, shape, &numel))
        return NULL;
    index_params p = {.axis = axis, .ndim = ndim};
    if (ndim > 0) /* shape may be NULL for a scalar; memcpy's may not */
        memcpy(p.shape, shape, (size_t)ndim * sizeof *shape);
    return scatter_add_forward((ag_tensor *[]){src, index}, &p);
}

static bool scatter_add_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const index_params *p = y->params;
    return (gin[0] = ag_gather(g, p->axis, y->inputs[1])) != NULL;
}

/* For the registry sweep: a fixed index pattern that repeats some
 * positions (so scatter_add really adds) and skips others. */
static ag_tensor *sweep_index(int ndim, const int64_t *xshape, int axis, int64_t len)
{
    int64_t shape[AG_MAX_DIMS];
    for (int d = 0; d < ndim; d++)
        shape[d] = d == axis ? len : xshape[d];
    ag_tensor *idx = ag_tape_tensor(AG_I64, ndim, shape);
    if (!idx)
        return NULL;
    int64_t size = xshape[axis];
    for (size_t i = 0; i < idx->numel; i++)
        ((int64_t *)idx->data)[i] = size ? (int64_t)((i * 7 + 3) % (size_t)size) : 0;
    return idx;
}

/* Along the first axis, with one index more than the axis is long. */
static ag_tensor *gather_example(ag_tensor *const *in)
{
    const ag_tensor *x = in[0];
    if (!x || x->ndim == 0)
        return ag_gather(in[0], 0, NULL);
    return ag_gather(in[0], 0, sweep_index(x->ndim, x->shape, 0, x->shape[0] + 1));
}

/* Scatters the rows of the source into a result with one row fewer. */
static ag_tensor *scatter_add_example(ag_tensor *const *in)
{
    const ag_tensor *s = in[0];
    if (!s || s->ndim == 0)
        return ag_scatter_add(in[0], 0, NULL, 0, NULL);
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, s->shape, (size_t)s->ndim * sizeof *shape);
    shape[0] = s->shape[0] > 1 ? s->shape[0] - 1 : 1;
    ag_tensor *idx = ag_tape_tensor(AG_I64, s->ndim, s->shape);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < idx->numel; i++)
        ((int64_t *)idx->data)[i] = (int64_t)((i * 5 + 1) % (size_t)shape[0]);
    return ag_scatter_add(in[0], 0, idx, s->ndim, shape);
}

static void sample_rank1to3(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 1 + (int)(ag_rng_next(rng) % 3);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = 1 + (int64_t)(ag_rng_next(rng) % 4);
}

static ag_op OP_GATHER = {.def = {
        .name = "gather",
        .n_inputs = 1,
        .forward = gather_forward,
        .example = gather_example,
        .vjp = gather_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_rank1to3,
        .rule = "dx += scatter_add(g, index)",
    }};
static ag_op OP_SCATTER_ADD = {.def = {
        .name = "scatter_add",
        .n_inputs = 1,
        .forward = scatter_add_forward,
        .example = scatter_add_example,
        .vjp = scatter_add_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_rank1to3,
        .rule = "dsrc += gather(g, index)",
    }};

/* ---- composites ---- */

/* x's slices at positions index (1-D) along axis: a gather with the index
 * spread over the other dimensions. */
ag_tensor *ag_index_select(ag_tensor *x, int axis, ag_tensor *index)
{
    if (!ag_check_inputs_data("index_select", 1, &x) || !index_ok("index_select", index))
        return NULL;
    int a = norm_axis("index_select", axis, x->ndim);
    if (a < 0)
        return NULL;
    if (index->ndim != 1) {
        ag_error_set(AG_ERR_SHAPE, "index_select: index must be 1-D, not %d-D", index->ndim);
        return NULL;
    }
    const int64_t *iv = index->data;
    for (int64_t j = 0; j < index->shape[0]; j++)
        if (iv[j] < 0 || iv[j] >= x->shape[a]) {
            ag_error_set(AG_ERR_VALUE,
                         "index_select: index %lld at position %lld is out of range for axis %d "
                         "of size %lld",
                         (long long)iv[j], (long long)j, a, (long long)x->shape[a]);
            return NULL;
        }
    int64_t shape[AG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = d == a ? index->shape[0] : x->shape[d];
    ag_tensor *full = ag_tape_tensor(AG_I64, x->ndim, shape);
    if (!full)
        return NULL;
    size_t inner = 1;
    for (int d = a + 1; d < x->ndim; d++)
        inner *= (size_t)x->shape[d];
    for (size_t i = 0; i < full->numel; i++)
        ((int64_t *)full->data)[i] = iv[(i / inner) % (size_t)index->shape[0]];
    return ag_gather(x, a, full);
}

/* i64 positions of the largest (smallest) element along axis: the first
 * one on ties; NaN counts as larger than everything (numpy's choice), so a
 * NaN is never hidden. Carries no gradient. */
static ag_tensor *arg_extreme(const char *op, ag_tensor *x, int axis, bool keepdim, bool largest)
{
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    int a = norm_axis(op, axis, x->ndim);
    if (a < 0)
        return NULL;
    if (x->shape[a] == 0) {
        ag_error_set(AG_ERR_SHAPE, "%s: axis %d has size 0: no element to pick", op, axis);
        return NULL;
    }
    int64_t shape[AG_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != a || keepdim)
            shape[nd++] = d == a ? 1 : x->shape[d];
    ag_tensor *y = ag_tape_tensor(AG_I64, nd, shape);
    if (!y)
        return NULL;
    size_t len = (size_t)x->shape[a], inner = 1, outer = 1;
    for (int d = 0; d < a; d++)
        outer *= (size_t)x->shape[d];
    for (int d = a + 1; d < x->ndim; d++)
        inner *= (size_t)x->shape[d];
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t base = o * len * inner + i, best = 0;
            double bv = ag_load(x, base);
            for (size_t k = 1; k < len && !isnan(bv); k++) {
                double v = ag_load(x, base + k * inner);
                if (isnan(v) || (largest ? v > bv : v < bv)) {
                    bv = v;
                    best = k;
                }
            }
            ((int64_t *)y->data)[o * inner + i] = (int64_t)best;
        }
    return y;
}

ag_tensor *ag_argmax(ag_tensor *x, int axis, bool keepdim)
{
    return arg_extreme("argmax", x, axis, keepdim, true);
}

ag_tensor *ag_argmin(ag_tensor *x, int axis, bool keepdim)
{
    return arg_extreme("argmin", x, axis, keepdim, false);
}

/* max/min along an axis: gather at the arg-extreme, so the gradient goes to
 * that one element (the first, on ties). */
static ag_tensor *extreme_axis(const char *op, ag_tensor *x, int axis, bool keepdim, bool largest)
{
    ag_tensor *idx = arg_extreme(op, x, axis, true, largest);
    if (!idx)
        return NULL;
    int a = axis < 0 ? axis + x->ndim : axis;
    ag_tensor *y = ag_gather(x, a, idx);
    if (!y || keepdim)
        return y;
    int64_t shape[AG_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != a)
            shape[nd++] = x->shape[d];
    return ag_reshape(y, nd, shape);
}

static ag_tensor *extreme_all(const char *op, ag_tensor *x, bool largest)
{
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    int64_t n = (int64_t)x->numel;
    return extreme_axis(op, ag_reshape(x, 1, &n), 0, false, largest);
}

ag_tensor *ag_max(ag_tensor *x) { return extreme_all("max", x, true); }
ag_tensor *ag_min(ag_tensor *x) { return extreme_all("min", x, false); }
ag_tensor *ag_max_axis(ag_tensor *x, int axis, bool keepdim) { return extreme_axis("max", x, axis, keepdim, true); }
ag_tensor *ag_min_axis(ag_tensor *x, int axis, bool keepdim) { return extreme_axis("min", x, axis, keepdim, false); }

/* log Σ e^x along an axis, shifted by the (constant) maximum so that no
 * exponential overflows: logsumexp(x) = m + log Σ e^(x − m). The shift is
 * detached: its gradient would cancel anyway, and routing it through the
 * arg-max would only add work. An all −inf row gives −inf, not NaN. */
static ag_tensor *lse(ag_tensor *x, int axis, bool all, bool keepdim)
{
    if (!ag_check_inputs("logsumexp", 1, &x))
        return NULL;
    ag_tensor *flat = x;
    int a = axis;
    if (all) {
        int64_t n = (int64_t)x->numel;
        flat = ag_reshape(x, 1, &n);
        a = 0;
    } else if (norm_axis("logsumexp", axis, x->ndim) < 0) {
        return NULL;
    }
    if (!flat)
        return NULL;
    if (flat->shape[a < 0 ? a + flat->ndim : a] == 0) {
        ag_error_set(AG_ERR_SHAPE, "logsumexp: axis %d has size 0", axis);
        return NULL;
    }
    ag_tensor *m = ag_detach(ag_max_axis(flat, a, true));
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->numel; i++)
        if (!isfinite(ag_load(m, i)))
            ag_store(m, i, 0.0);
    ag_tensor *s = ag_log(ag_sum_axis(ag_exp(ag_sub(flat, m)), a, true));
    ag_tensor *y = ag_add(s, m);
    if (!y)
        return NULL;
    if (all) {
        if (!keepdim)
            return ag_reshape(y, 0, NULL);
        int64_t ones[AG_MAX_DIMS];
        for (int d = 0; d < x->ndim; d++)
            ones[d] = 1;
        return ag_reshape(y, x->ndim, ones);
    }
    if (keepdim)
        return y;
    int an = a < 0 ? a + x->ndim : a;
    int64_t shape[AG_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != an)
            shape[nd++] = x->shape[d];
    return ag_reshape(y, nd, shape);
}

ag_tensor *ag_logsumexp(ag_tensor *x) { return lse(x, 0, true, false); }
ag_tensor *ag_logsumexp_axis(ag_tensor *x, int axis, bool keepdim) { return lse(x, axis, false, keepdim); }

/* labels (i64, any shape) -> (shape..., n_classes) of 0/1 in dtype. */
ag_tensor *ag_one_hot(ag_tensor *labels, int64_t n_classes, ag_dtype dtype)
{
    if (!index_ok("one_hot", labels))
        return NULL;
    if (n_classes < 1 || labels->ndim >= AG_MAX_DIMS || dtype == AG_I64) {
        ag_error_set(AG_ERR_VALUE,
                     n_classes < 1 ? "one_hot: %lld classes; need at least 1"
                                   : "one_hot: bad rank or dtype (%lld classes)",
                     (long long)n_classes);
        return NULL;
    }
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, labels->shape, (size_t)labels->ndim * sizeof *shape);
    shape[labels->ndim] = n_classes;
    const int64_t *lv = labels->data;
    for (size_t i = 0; i < labels->numel; i++)
        if (lv[i] < 0 || lv[i] >= n_classes) {
            ag_error_set(AG_ERR_VALUE, "one_hot: label %lld at position %zu is out of range for %lld classes",
                         (long long)lv[i], i, (long long)n_classes);
            return NULL;
        }
    ag_tensor *y = ag_tape_tensor(dtype, labels->ndim + 1, shape);
    if (!y)
        return NULL;
    memset(y->data, 0, y->numel * ag_dtype_size(dtype));
    for (size_t i = 0; i < labels->numel; i++)
        ag_store(y, i * (size_t)n_classes + (size_t)lv[i], 1.0);
    return y;
}

/* A copy of x's value that is cut from the graph. */
ag_tensor *ag_detach(ag_tensor *x)
{
    if (!x) {
        ag_error_set(AG_ERR_NULL, "detach: input is NULL");
        return NULL;
    }
    if (ag_is_stale(x)) {
        ag_check_inputs("detach", 1, &x); /* records the stale-input message */
        return NULL;
    }
    ag_tensor *y = ag_tape_tensor(x->dtype, x->ndim, x->shape);
    if (y)
        memcpy(y->data, x->data, x->numel * ag_dtype_size(x->dtype));
    return y;
}

static ag_tensor *max_example(ag_tensor *const *in) { return ag_max_axis(in[0], -1, false); }
static ag_tensor *min_example(ag_tensor *const *in) { return ag_min_axis(in[0], 0, true); }
static ag_tensor *logsumexp_example(ag_tensor *const *in) { return ag_logsumexp_axis(in[0], -1, false); }

/* Two more indices than the first axis is long: some rows picked twice. */
static ag_tensor *index_select_example(ag_tensor *const *in)
{
    const ag_tensor *x = in[0];
    if (!x || x->ndim == 0)
        return ag_index_select(in[0], 0, NULL);
    return ag_index_select(in[0], 0, sweep_index(1, x->shape, 0, x->shape[0] + 2));
}

/* Ties are measure-zero for random inputs but are kinks all the same. */
static ag_op OP_MAX = {.def = {
        .name = "max",
        .n_inputs = 1,
        .example = max_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_KINK,
        .sample = sample_rank1to3,
    }};
static ag_op OP_MIN = {.def = {
        .name = "min",
        .n_inputs = 1,
        .example = min_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_KINK,
        .sample = sample_rank1to3,
    }};
static ag_op OP_LOGSUMEXP = {.def = {
        .name = "logsumexp",
        .n_inputs = 1,
        .example = logsumexp_example,
        .domain_lo = -3,
        .domain_hi = 3,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_rank1to3,
    }};
static ag_op OP_INDEX_SELECT = {.def = {
        .name = "index_select",
        .n_inputs = 1,
        .example = index_select_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_rank1to3,
    }};

void ag_ops_register_index(void)
{
    ag_op_register_builtin(&OP_GATHER);
    ag_op_register_builtin(&OP_SCATTER_ADD);
    ag_op_register_builtin(&OP_INDEX_SELECT);
    ag_op_register_builtin(&OP_MAX);
    ag_op_register_builtin(&OP_MIN);
    ag_op_register_builtin(&OP_LOGSUMEXP);
}

/* SPDX-License-Identifier: MIT */
/* layout.c — ops that move elements between positions and axes without
 * computing: permute (and transpose over it), slice along one axis and its
 * adjoint slice_backward, concat (and stack over it), expand_dims, squeeze.
 *
 * Three primitives carry every rule here, and their rules are each other:
 * permute's gradient is the inverse permute, slice's is slice_backward (the
 * upstream gradient placed into zeros at the sliced positions), whose own
 * gradient is the same slice again, and concat's gradient slices the
 * upstream gradient back into its pieces. Every rule is written with these
 * public ops, so gradients of gradients come out of the same sweep. The
 * forward kernels share two strided copies: one reads a strided view of the
 * source into a contiguous result, the other writes a contiguous source
 * into a strided view of the result. They copy i64 tensors too (indices,
 * labels): those pass through every op here unrecorded, as no i64 tensor
 * requires grad. */
#include "ops_internal.h"

#include <string.h>

static ag_op OP_PERMUTE, OP_SLICE, OP_SLICE_BACKWARD, OP_CONCAT;

static ag_tensor *slice_backward_forward(ag_tensor *const *in, const void *params);

/* ---- shared helpers ---- */

/* Element strides of a contiguous row-major tensor of this shape. Only
 * used when the tensor has elements, so every stride fits; the product is
 * unsigned because a zero-size shape may have dimensions whose product does
 * not. */
static void contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    uint64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = (int64_t)s;
        s *= (uint64_t)shape[d];
    }
}

/* dst (contiguous) = the view of src that starts at element `base` and
 * steps by stride[d] along dst's dimension d. */
static void copy_from_view(ag_tensor *dst, const ag_tensor *src, const int64_t *stride,
                           ptrdiff_t base)
{
    if (dst->numel == 0)
        return;
    int nd = dst->ndim;
    size_t inner = nd ? (size_t)dst->shape[nd - 1] : 1;
    ptrdiff_t step = nd ? (ptrdiff_t)stride[nd - 1] : 0;
    ag_odometer it;
    ag_odometer_init(&it, nd, dst->shape, stride, NULL);
    for (size_t o = 0; o < dst->numel / inner; o++, ag_odometer_next_row(&it)) {
        ptrdiff_t at = base + it.off[0]; /* summed first: the row's start is in range */
        if (dst->dtype == AG_F32) {
            const float *s = (const float *)src->data + at;
            float *restrict d = (float *)dst->data + o * inner;
            for (size_t i = 0; i < inner; i++)
                d[i] = s[(ptrdiff_t)i * step];
        } else if (dst->dtype == AG_I64) {
            const int64_t *s = (const int64_t *)src->data + at;
            int64_t *restrict d = (int64_t *)dst->data + o * inner;
            for (size_t i = 0; i < inner; i++)
                d[i] = s[(ptrdiff_t)i * step];
        } else {
            const double *s = (const double *)src->data + at;
            double *restrict d = (double *)dst->data + o * inner;
            for (size_t i = 0; i < inner; i++)
                d[i] = s[(ptrdiff_t)i * step];
        }
    }
}

/* The view of dst that starts at `base` and steps by stride[d] along src's
 * dimension d = src (contiguous). The view's positions are distinct. */
static void copy_to_view(ag_tensor *dst, const ag_tensor *src, const int64_t *stride,
                         ptrdiff_t base)
{
    if (src->numel == 0)
        return;
    int nd = src->ndim;
    size_t inner = nd ? (size_t)src->shape[nd - 1] : 1;
    ptrdiff_t step = nd ? (ptrdiff_t)stride[nd - 1] : 0;
    ag_odometer it;
    ag_odometer_init(&it, nd, src->shape, stride, NULL);
    for (size_t o = 0; o < src->numel / inner; o++, ag_odometer_next_row(&it)) {
        ptrdiff_t at = base + it.off[0];
        if (src->dtype == AG_F32) {
            const float *restrict s = (const float *)src->data + o * inner;
            float *d = (float *)dst->data + at;
            for (size_t i = 0; i < inner; i++)
                d[(ptrdiff_t)i * step] = s[i];
        } else if (src->dtype == AG_I64) {
            const int64_t *restrict s = (const int64_t *)src->data + o * inner;
            int64_t *d = (int64_t *)dst->data + at;
            for (size_t i = 0; i < inner; i++)
                d[(ptrdiff_t)i * step] = s[i];
        } else {
            const double *restrict s = (const double *)src->data + o * inner;
            double *d = (double *)dst->data + at;
            for (size_t i = 0; i < inner; i++)
                d[(ptrdiff_t)i * step] = s[i];
        }
    }
}

/* axis (negative from the end) as 0..ndim-1, or -1 with an error naming
 * the op and the shape. */
static int norm_axis(const char *op, int axis, int ndim, const int64_t *shape)
{
    int a = axis < 0 ? axis + ndim : axis;
    if (a < 0 || a >= ndim) {
        char s[160];
        ag_error_set(AG_ERR_VALUE, "%s: axis %d out of range for shape %s", op, axis,
                     ag_format_shape(ndim, shape, s, sizeof s));
        return -1;
    }
    return a;
}

/* "(1,0,2)" for an axis list. */
static const char *format_axes(int n, const int *axes, char *buf, size_t size)
{
    int64_t v[AG_MAX_DIMS];
    for (int i = 0; i < n && i < AG_MAX_DIMS; i++)
        v[i] = axes[i];
    return ag_format_shape(n < AG_MAX_DIMS ? n : AG_MAX_DIMS, v, buf, size);
}

/* ---- permute ---- */

typedef struct permute_params {
    int n;
    int perm[AG_MAX_DIMS]; /* normalized: 0..n-1, each once */
} permute_params;

/* Whether x has the n axes an axis list names; an error otherwise. */
static bool permute_arity(const ag_tensor *x, int n)
{
    if (n == x->ndim)
        return true;
    char s[160];
    ag_error_set(AG_ERR_VALUE, "permute: %d axes given for shape %s of %d dimensions", n,
                 ag_format_shape(x->ndim, x->shape, s, sizeof s), x->ndim);
    return false;
}

/* y = permute(x, p);  dx += permute(g, p⁻¹) */
static ag_tensor *permute_forward(ag_tensor *const *in, const void *params)
{
    const permute_params *p = params;
    ag_tensor *x = in[0];
    if (!ag_check_inputs_data("permute", 1, &x) || !permute_arity(x, p->n))
        return NULL;
    int n = p->n, seen[AG_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++)
        if (p->perm[i] >= 0 && p->perm[i] < n)
            seen[p->perm[i]]++;
    /* n entries: a repeated (or out of range) axis means a missing one. */
    int twice = -1, missing = -1;
    for (int a = n - 1; a >= 0; a--) {
        if (seen[a] > 1)
            twice = a;
        if (seen[a] == 0)
            missing = a;
    }
    if (missing >= 0) {
        char s[160], q[160];
        ag_error_set(AG_ERR_VALUE,
                     "permute: %s is not a permutation of the %d axes of %s: axis %d appears "
                     "twice and axis %d is missing",
                     format_axes(n, p->perm, q, sizeof q), n,
                     ag_format_shape(x->ndim, x->shape, s, sizeof s), twice, missing);
        return NULL;
    }
    int64_t shape[AG_MAX_DIMS], xstride[AG_MAX_DIMS], stride[AG_MAX_DIMS];
    contiguous_strides(n, x->shape, xstride);
    for (int i = 0; i < n; i++) {
        shape[i] = x->shape[p->perm[i]];
        stride[i] = xstride[p->perm[i]];
    }
    ag_tensor *y = ag_op_result(&OP_PERMUTE, x->dtype, n, shape, 1, &x, p, sizeof *p);
    if (y)
        copy_from_view(y, x, stride, 0);
    return y;
}

ag_tensor *ag_permute(ag_tensor *x, int n, const int *perm)
{
    if (!ag_check_inputs_data("permute", 1, &x) || !permute_arity(x, n))
        return NULL;
    if (n > 0 && !perm) {
        ag_error_set(AG_ERR_NULL, "permute: perm is NULL");
        return NULL;
    }
    permute_params p = {.n = n};
    for (int i = 0; i < n; i++) {
        int a = perm[i] < 0 ? perm[i] + n : perm[i];
        if (a < 0 || a >= n) {
            char s[160], q[160];
            ag_error_set(AG_ERR_VALUE, "permute: axis %d in %s out of range for shape %s",
                         perm[i], format_axes(n, perm, q, sizeof q),
                         ag_format_shape(x->ndim, x->shape, s, sizeof s));
            return NULL;
        }
        p.perm[i] = a;
    }
    return permute_forward(&x, &p);
}

static bool permute_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const permute_params *p = y->params;
    int inv[AG_MAX_DIMS];
    for (int i = 0; i < p->n; i++)
        inv[p->perm[i]] = i;
    return (gin[0] = ag_permute(g, p->n, inv)) != NULL;
}

/* y = transpose(x, a, b) = permute(x, the identity with a and b swapped): a composite */
ag_tensor *ag_transpose(ag_tensor *x, int axis0, int axis1)
{
    if (!ag_check_inputs_data("transpose", 1, &x))
        return NULL;
    int a = norm_axis("transpose", axis0, x->ndim, x->shape);
    int b = a < 0 ? -1 : norm_axis("transpose", axis1, x->ndim, x->shape);
    if (b < 0)
        return NULL;
    int perm[AG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        perm[d] = d;
    perm[a] = b;
    perm[b] = a;
    return ag_permute(x, x->ndim, perm);
}

/* ---- slice and its adjoint ---- */

typedef struct slice_params {
    int axis;                   /* normalized */
    int ndim;                   /* slice_backward: the result's shape */
    int64_t start, step, count; /* resolved: positions start + k·step, 0 <= k < count */
    int64_t shape[AG_MAX_DIMS];
} slice_params;

/* Python's rule for one bound: negative counts from the end, then clamp to
 * [0, len] for a positive step or to [-1, len-1] for a negative one. */
static int64_t clamp_bound(int64_t i, int64_t len, bool backward)
{
    if (i < 0) {
        i += len;
        if (i < 0)
            i = backward ? -1 : 0;
    } else if (i >= len) {
        i = backward ? len - 1 : len;
    }
    return i;
}

/* The positions of start:stop:step on an axis of length len. */
static void resolve_slice(int64_t len, int64_t start, int64_t stop, int64_t step,
                          int64_t *first, int64_t *count)
{
    bool backward = step < 0;
    int64_t b = clamp_bound(start, len, backward);
    /* AG_END is Python's omitted stop: to the end in the step's direction. */
    int64_t e = stop == AG_END ? (backward ? -1 : len) : clamp_bound(stop, len, backward);
    /* |step| as unsigned: -INT64_MIN does not fit an int64_t. */
    uint64_t mag = backward ? (uint64_t)0 - (uint64_t)step : (uint64_t)step;
    uint64_t span = backward ? (b > e ? (uint64_t)(b - e) : 0) : (e > b ? (uint64_t)(e - b) : 0);
    *first = b;
    *count = span ? (int64_t)((span - 1) / mag + 1) : 0;
}

/* Whether start + k·step, 0 <= k < count, all lie in [0, len) (then they
 * are distinct, as step is nonzero). Computed without overflow. */
static bool positions_fit(int64_t start, int64_t step, int64_t count, int64_t len)
{
    if (count == 0)
        return true;
    if (count < 0 || step == 0 || start < 0 || start >= len)
        return false;
    uint64_t room = step > 0 ? (uint64_t)(len - 1 - start) : (uint64_t)start;
    uint64_t mag = step > 0 ? (uint64_t)step : (uint64_t)0 - (uint64_t)step;
    return (uint64_t)(count - 1) <= room / mag;
}

/* The strides and first element of the view start:step along axis of a
 * tensor of this shape. Only called for tensors with elements and count >
 * 0, where every offset is below the element count; a step is only
 * multiplied in when it is ever taken (count > 1), so a huge step cannot
 * overflow. */
static ptrdiff_t view_of_slice(int ndim, const int64_t *shape, int axis, int64_t start,
                               int64_t step, int64_t count, int64_t *stride)
{
    contiguous_strides(ndim, shape, stride);
    ptrdiff_t base = (ptrdiff_t)(start * stride[axis]);
    if (count > 1)
        stride[axis] *= step;
    return base;
}

/* y = x[start:stop:step] along axis;  dx += slice_backward(g, shape of x)
 * At resolved positions: start + k·step for 0 <= k < count. */
static ag_tensor *slice_forward(ag_tensor *const *in, const void *params)
{
    const slice_params *p = params;
    ag_tensor *x = in[0];
    if (!ag_check_inputs_data("slice", 1, &x))
        return NULL;
    if (x->ndim != p->ndim || p->axis < 0 || p->axis >= x->ndim ||
        !positions_fit(p->start, p->step, p->count, x->shape[p->axis])) {
        char s[160];
        ag_error_set(AG_ERR_SHAPE, "slice: %lld positions from %lld by step %lld on axis %d do "
                     "not fit shape %s", (long long)p->count, (long long)p->start,
                     (long long)p->step, p->axis, ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    int64_t shape[AG_MAX_DIMS], stride[AG_MAX_DIMS];
    memcpy(shape, x->shape, (size_t)x->ndim * sizeof *shape);
    shape[p->axis] = p->count;
    /* The node keeps x's shape, which slice_backward's params share. */
    slice_params q = *p;
    memcpy(q.shape, x->shape, (size_t)x->ndim * sizeof *x->shape);
    ag_tensor *y = ag_op_result(&OP_SLICE, x->dtype, x->ndim, shape, 1, &x, &q, sizeof q);
    if (y && y->numel) {
        ptrdiff_t base =
            view_of_slice(x->ndim, x->shape, p->axis, p->start, p->step, p->count, stride);
        copy_from_view(y, x, stride, base);
    }
    return y;
}

/* The slice of x at resolved positions, for the rules. */
static ag_tensor *slice_at(ag_tensor *x, int axis, int64_t start, int64_t step, int64_t count)
{
    slice_params p = {.axis = axis, .ndim = x ? x->ndim : 0, .start = start, .step = step,
                      .count = count};
    return slice_forward(&x, &p);
}

ag_tensor *ag_slice(ag_tensor *x, int axis, int64_t start, int64_t stop, int64_t step)
{
    if (!ag_check_inputs_data("slice", 1, &x))
        return NULL;
    int a = norm_axis("slice", axis, x->ndim, x->shape);
    if (a < 0)
        return NULL;
    if (step == 0) {
        char s[160];
        ag_error_set(AG_ERR_VALUE, "slice: step 0 on axis %d of shape %s; a step must be nonzero",
                     axis, ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    int64_t first, count;
    resolve_slice(x->shape[a], start, stop, step, &first, &count);
    return slice_at(x, a, first, step, count);
}

/* The node's params (x's shape, the resolved positions) are slice_backward's. */
static bool slice_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = slice_backward_forward(&g, y->params)) != NULL;
}

/* y = zeros(shape) with y[start + k·step] = g[k] along axis;  dg += slice(gy) at those positions
 * The adjoint of slice: internal (no public builder) but registered, so
 * that sweeps check it and second-order gradients flow through it. Its
 * params: the result's shape, the axis and the positions' start and step
 * (their count is g's length along the axis). */
static ag_tensor *slice_backward_forward(ag_tensor *const *in, const void *params)
{
    const slice_params *p = params;
    ag_tensor *g = in[0];
    if (!ag_check_inputs("slice_backward", 1, &g))
        return NULL;
    int ndim = p->ndim;
    const int64_t *shape = p->shape;
    size_t numel;
    if (!ag_shape_check("slice_backward", ndim, shape, &numel))
        return NULL;
    char s1[160], s2[160];
    int a = norm_axis("slice_backward", p->axis, ndim, shape);
    if (a < 0)
        return NULL;
    bool fits = g->ndim == ndim;
    for (int d = 0; fits && d < ndim; d++)
        fits = d == a || g->shape[d] == shape[d];
    if (!fits) {
        ag_error_set(AG_ERR_SHAPE, "slice_backward: %s does not fit into %s off axis %d",
                     ag_format_shape(g->ndim, g->shape, s1, sizeof s1),
                     ag_format_shape(ndim, shape, s2, sizeof s2), a);
        return NULL;
    }
    slice_params q = *p;
    q.axis = a;
    q.count = g->shape[a];
    if (!positions_fit(q.start, q.step, q.count, shape[a])) {
        ag_error_set(AG_ERR_VALUE,
                     "slice_backward: %lld positions from %lld by step %lld do not fit axis %d "
                     "of %s",
                     (long long)q.count, (long long)q.start, (long long)q.step, a,
                     ag_format_shape(ndim, shape, s2, sizeof s2));
        return NULL;
    }
    ag_tensor *y = ag_op_result(&OP_SLICE_BACKWARD, g->dtype, ndim, shape, 1, &g, &q, sizeof q);
    if (!y)
        return NULL;
    memset(y->data, 0, y->numel * ag_dtype_size(y->dtype));
    if (g->numel) {
        int64_t stride[AG_MAX_DIMS];
        ptrdiff_t base = view_of_slice(ndim, shape, a, q.start, q.step, q.count, stride);
        copy_to_view(y, g, stride, base);
    }
    return y;
}

/* The node's params (its shape, the positions) are slice's, of gy. */
static bool slice_backward_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = slice_forward(&g, y->params)) != NULL;
}

/* y = x[r_0, r_1, ...]: one slice per axis whose range is not the whole
 * axis; a composite */
ag_tensor *ag_slice_ranges(ag_tensor *x, const ag_range *ranges)
{
    if (!ag_check_inputs_data("slice_ranges", 1, &x))
        return NULL;
    if (!ranges && x->ndim > 0) {
        ag_error_set(AG_ERR_NULL, "slice_ranges: ranges is NULL");
        return NULL;
    }
    ag_tensor *y = x;
    for (int d = 0; d < x->ndim && y; d++) {
        const ag_range *r = &ranges[d];
        if (r->step == 0) {
            char s[160];
            ag_error_set(AG_ERR_VALUE,
                         "slice_ranges: step 0 on axis %d of shape %s; a step must be nonzero", d,
                         ag_format_shape(x->ndim, x->shape, s, sizeof s));
            return NULL;
        }
        int64_t first, count;
        resolve_slice(x->shape[d], r->start, r->stop, r->step, &first, &count);
        if (r->step == 1 && first == 0 && count == x->shape[d])
            continue;
        y = slice_at(y, d, first, r->step, count);
    }
    /* Every axis whole: still a new intermediate, as every op returns. */
    return y == x ? ag_reshape(x, x->ndim, x->shape) : y;
}

/* ---- concat and stack ---- */

typedef struct concat_params {
    int axis; /* normalized */
    int n;    /* the number of inputs */
} concat_params;

/* y = concat(x_0, ..., x_{n-1}) along axis;  dx_i += slice(g, axis, o_i, o_i + len_i)
 * where o_i is the summed length of the inputs before x_i. */
static ag_tensor *concat_of(ag_tensor *const *xs, const void *params)
{
    const concat_params *p = params;
    int n = p->n;
    if (n < 1) {
        ag_error_set(AG_ERR_VALUE, "concat: %d tensors; need at least 1", n);
        return NULL;
    }
    if (!ag_check_inputs_data("concat", n, xs))
        return NULL;
    const ag_tensor *x0 = xs[0];
    char s1[160], s2[160];
    if (x0->ndim == 0) {
        ag_error_set(AG_ERR_SHAPE,
                     "concat: input 0 is 0-dimensional; concat joins along an existing axis "
                     "(ag_stack adds one)");
        return NULL;
    }
    int a = norm_axis("concat", p->axis, x0->ndim, x0->shape);
    if (a < 0)
        return NULL;
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, x0->shape, (size_t)x0->ndim * sizeof *shape);
    shape[a] = 0;
    for (int i = 0; i < n; i++) {
        const ag_tensor *x = xs[i];
        bool fits = x->ndim == x0->ndim;
        for (int d = 0; fits && d < x0->ndim; d++)
            fits = d == a || x->shape[d] == x0->shape[d];
        if (!fits) {
            ag_error_set(AG_ERR_SHAPE, "concat: input %d has shape %s but input 0 has %s off axis %d",
                         i, ag_format_shape(x->ndim, x->shape, s1, sizeof s1),
                         ag_format_shape(x0->ndim, x0->shape, s2, sizeof s2), a);
            return NULL;
        }
        if (x->shape[a] > INT64_MAX - shape[a]) {
            ag_error_set(AG_ERR_SHAPE, "concat: the joined axis %d overflows", a);
            return NULL;
        }
        shape[a] += x->shape[a];
    }
    concat_params q = {a, n};
    ag_tensor *y = ag_op_result(&OP_CONCAT, x0->dtype, x0->ndim, shape, n, xs, &q, sizeof q);
    if (!y)
        return NULL;
    int64_t stride[AG_MAX_DIMS];
    contiguous_strides(y->ndim, y->shape, stride);
    int64_t offset = 0;
    for (int i = 0; i < n; i++) {
        if (xs[i]->numel)
            copy_to_view(y, xs[i], stride, (ptrdiff_t)(offset * stride[a]));
        offset += xs[i]->shape[a];
    }
    return y;
}

ag_tensor *ag_concat(int n, ag_tensor *const *xs, int axis)
{
    if (!xs && n >= 1) {
        ag_error_set(AG_ERR_NULL, "concat: the list of tensors is NULL");
        return NULL;
    }
    return concat_of(xs, &(concat_params){axis, n});
}

/* The registry's forward: a node's params may name more inputs than the
 * AG_GRADCHECK_MAX_INPUTS entries ag_op_apply is handed, so it refuses
 * those instead of reading past the array. */
static ag_tensor *concat_forward(ag_tensor *const *xs, const void *params)
{
    const concat_params *p = params;
    if (p && p->n > AG_GRADCHECK_MAX_INPUTS) {
        ag_error_set(AG_ERR_VALUE, "concat: a node of %d inputs cannot be re-run (at most %d)",
                     p->n, AG_GRADCHECK_MAX_INPUTS);
        return NULL;
    }
    return concat_of(xs, params);
}

static bool concat_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const concat_params *p = y->params;
    int64_t offset = 0;
    /* The node's own input count: the registry's arity (2) is only its sample. */
    for (int i = 0; i < y->n_inputs; i++) {
        ag_tensor *x = y->inputs[i];
        if (x->requires_grad && !(gin[i] = slice_at(g, p->axis, offset, 1, x->shape[p->axis])))
            return false;
        offset += x->shape[p->axis];
    }
    return true;
}

/* y = stack(x_0, ..., x_{n-1}) at a new axis = concat(expand_dims(x_i, axis)); a composite */
ag_tensor *ag_stack(int n, ag_tensor *const *xs, int axis)
{
    if (n < 1) {
        ag_error_set(AG_ERR_VALUE, "stack: %d tensors; need at least 1", n);
        return NULL;
    }
    if (!xs) {
        ag_error_set(AG_ERR_NULL, "stack: the list of tensors is NULL");
        return NULL;
    }
    if (!ag_check_inputs_data("stack", n, xs))
        return NULL;
    const ag_tensor *x0 = xs[0];
    char s1[160], s2[160];
    for (int i = 1; i < n; i++)
        if (!ag_same_shape(xs[i]->ndim, xs[i]->shape, x0->ndim, x0->shape)) {
            ag_error_set(AG_ERR_SHAPE,
                         "stack: input %d has shape %s but input 0 has %s; stacked tensors "
                         "share one shape",
                         i, ag_format_shape(xs[i]->ndim, xs[i]->shape, s1, sizeof s1),
                         ag_format_shape(x0->ndim, x0->shape, s2, sizeof s2));
            return NULL;
        }
    if (x0->ndim >= AG_MAX_DIMS) {
        ag_error_set(AG_ERR_SHAPE, "stack: inputs of shape %s already have %d dimensions",
                     ag_format_shape(x0->ndim, x0->shape, s1, sizeof s1), AG_MAX_DIMS);
        return NULL;
    }
    int a = axis < 0 ? axis + x0->ndim + 1 : axis;
    if (a < 0 || a > x0->ndim) {
        ag_error_set(AG_ERR_VALUE, "stack: axis %d out of range for a new axis of shape %s (%d..%d)",
                     axis, ag_format_shape(x0->ndim, x0->shape, s1, sizeof s1), -x0->ndim - 1,
                     x0->ndim);
        return NULL;
    }
    ag_tensor **parts = ag_tape_alloc((size_t)n * sizeof *parts);
    if (!parts)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!(parts[i] = ag_expand_dims(xs[i], a)))
            return NULL;
    return ag_concat(n, parts, a);
}

/* ---- expand_dims and squeeze: reshapes ---- */

/* y = x with a size-1 axis inserted at axis = reshape(x); a composite */
ag_tensor *ag_expand_dims(ag_tensor *x, int axis)
{
    if (!ag_check_inputs_data("expand_dims", 1, &x))
        return NULL;
    char s[160];
    if (x->ndim >= AG_MAX_DIMS) {
        ag_error_set(AG_ERR_SHAPE, "expand_dims: shape %s already has %d dimensions",
                     ag_format_shape(x->ndim, x->shape, s, sizeof s), AG_MAX_DIMS);
        return NULL;
    }
    int a = axis < 0 ? axis + x->ndim + 1 : axis;
    if (a < 0 || a > x->ndim) {
        ag_error_set(AG_ERR_VALUE, "expand_dims: axis %d out of range for shape %s (%d..%d)", axis,
                     ag_format_shape(x->ndim, x->shape, s, sizeof s), -x->ndim - 1, x->ndim);
        return NULL;
    }
    int64_t shape[AG_MAX_DIMS];
    for (int d = 0, k = 0; d <= x->ndim; d++)
        shape[d] = d == a ? 1 : x->shape[k++];
    return ag_reshape(x, x->ndim + 1, shape);
}

/* y = x without its size-1 axis at axis = reshape(x); a composite */
ag_tensor *ag_squeeze(ag_tensor *x, int axis)
{
    if (!ag_check_inputs_data("squeeze", 1, &x))
        return NULL;
    int a = norm_axis("squeeze", axis, x->ndim, x->shape);
    if (a < 0)
        return NULL;
    if (x->shape[a] != 1) {
        char s[160];
        ag_error_set(AG_ERR_SHAPE, "squeeze: axis %d of shape %s has size %lld, not 1", axis,
                     ag_format_shape(x->ndim, x->shape, s, sizeof s), (long long)x->shape[a]);
        return NULL;
    }
    int64_t shape[AG_MAX_DIMS];
    for (int d = 0, k = 0; d < x->ndim; d++)
        if (d != a)
            shape[k++] = x->shape[d];
    return ag_reshape(x, x->ndim - 1, shape);
}

/* ---- registry entries ----
 * Examples: options that exercise each op's hard parts on any shape its
 * sample rule draws. */

/* A cyclic shift of the axes: unlike a reversal it is not its own inverse,
 * so a rule that forgot to invert would be caught. */
static ag_tensor *permute_example(ag_tensor *const *in)
{
    int n = in[0] ? in[0]->ndim : 0, perm[AG_MAX_DIMS];
    for (int i = 0; i < n; i++)
        perm[i] = (i + 1) % n;
    return ag_permute(in[0], n, perm);
}

static ag_tensor *transpose_example(ag_tensor *const *in)
{
    return ag_transpose(in[0], 0, -1);
}

/* Every other element from the end of the last axis: a negative step. */
static ag_tensor *slice_example(ag_tensor *const *in)
{
    return ag_slice(in[0], -1, -1, AG_END, -2);
}

/* g along the last axis goes to positions 2n, 2n-2, ..., 2 of 2n+1. */
static ag_tensor *slice_backward_example(ag_tensor *const *in)
{
    const ag_tensor *g = in[0];
    slice_params p = {.axis = -1, .start = 0, .step = 1};
    if (g && g->ndim > 0) {
        p.ndim = g->ndim;
        memcpy(p.shape, g->shape, (size_t)g->ndim * sizeof *p.shape);
        int64_t n = g->shape[g->ndim - 1];
        p.shape[g->ndim - 1] = 2 * n + 1;
        p.start = 2 * n;
        p.step = -2;
    }
    return slice_backward_forward(in, &p);
}

/* Reversed even axes, whole odd axes (which are skipped). */
static ag_tensor *slice_ranges_example(ag_tensor *const *in)
{
    ag_range r[AG_MAX_DIMS];
    for (int d = 0; d < AG_MAX_DIMS; d++)
        r[d] = d % 2 ? (ag_range){0, AG_END, 1} : (ag_range){-1, AG_END, -1};
    return ag_slice_ranges(in[0], r);
}

/* Along the first axis where the inputs differ (0 when they agree), so
 * any pair the sample draws — or one with a dimension zeroed — joins. */
static ag_tensor *concat_example(ag_tensor *const *in)
{
    int axis = 0;
    if (in[0] && in[1] && in[0]->ndim == in[1]->ndim)
        for (int d = in[0]->ndim - 1; d >= 0; d--)
            if (in[0]->shape[d] != in[1]->shape[d])
                axis = d;
    return ag_concat(2, in, axis);
}

/* Interleaves the two inputs: a new last axis. */
static ag_tensor *stack_example(ag_tensor *const *in)
{
    return ag_stack(2, in, -1);
}

static ag_tensor *expand_dims_example(ag_tensor *const *in)
{
    return ag_expand_dims(in[0], in[0] && in[0]->ndim > 0 ? 1 : 0);
}

/* The last size-1 axis. */
static ag_tensor *squeeze_example(ag_tensor *const *in)
{
    int axis = 0;
    if (in[0])
        for (int d = 0; d < in[0]->ndim; d++)
            if (in[0]->shape[d] == 1)
                axis = d;
    return ag_squeeze(in[0], axis);
}

static int64_t dim1to4(ag_rng *rng)
{
    return 1 + (int64_t)(ag_rng_next(rng) % 4);
}

/* Rank 1 to 4, dimensions 1 to 4. */
static void sample_any(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 1 + (int)(ag_rng_next(rng) % 4);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = dim1to4(rng);
}

/* Rank 2 to 4, for transpose. */
static void sample_matrixish(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 2 + (int)(ag_rng_next(rng) % 3);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = dim1to4(rng);
}

/* Rank 2 to 4 with a size-1 axis after the first, so that the sweep's
 * zero-size variant (the first dimension zeroed) still has one. */
static void sample_squeezable(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    sample_matrixish(rng, ndim, shape);
    shape[0][1 + (int)(ag_rng_next(rng) % (uint64_t)(ndim[0] - 1))] = 1;
}

/* Two shapes of one rank that differ only along a random axis, where the
 * second may be empty. */
static void sample_concat(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    sample_any(rng, ndim, shape);
    ndim[1] = ndim[0];
    memcpy(shape[1], shape[0], sizeof shape[0]);
    int axis = (int)(ag_rng_next(rng) % (uint64_t)ndim[0]);
    shape[1][axis] = (int64_t)(ag_rng_next(rng) % 4);
}

/* Two inputs of one shape, rank 0 to 3. */
static void sample_stack(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = ndim[1] = (int)(ag_rng_next(rng) % 4);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = shape[1][d] = dim1to4(rng);
}

#define COMPOSITE AG_OP_COMPOSITE
#define NO_BCAST AG_OP_NO_BROADCAST
static ag_op OP_PERMUTE = {.def = {
        .name = "permute",
        .n_inputs = 1,
        .forward = permute_forward,
        .example = permute_example,
        .vjp = permute_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_any,
        .rule = "dx += permute(g, p^-1)",
    }};
static ag_op OP_SLICE = {.def = {
        .name = "slice",
        .n_inputs = 1,
        .forward = slice_forward,
        .example = slice_example,
        .vjp = slice_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_any,
        .rule = "dx += slice_backward(g): g at the sliced positions, 0 elsewhere",
    }};
static ag_op OP_SLICE_BACKWARD = {.def = {
        .name = "slice_backward",
        .n_inputs = 1,
        .forward = slice_backward_forward,
        .example = slice_backward_example,
        .vjp = slice_backward_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_any,
        .rule = "dg += slice(gy) at the same positions",
    }};
static ag_op OP_CONCAT = {.def = {
        .name = "concat",
        .n_inputs = 2,
        .forward = concat_forward,
        .example = concat_example,
        .vjp = concat_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = NO_BCAST,
        .sample = sample_concat,
        .rule = "dx_i += slice(g, axis, o_i, o_i + len_i)",
    }};
static ag_op OP_TRANSPOSE = {.def = {
        .name = "transpose",
        .n_inputs = 1,
        .example = transpose_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = COMPOSITE,
        .sample = sample_matrixish,
    }};
static ag_op OP_SLICE_RANGES = {.def = {
        .name = "slice_ranges",
        .n_inputs = 1,
        .example = slice_ranges_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = COMPOSITE,
        .sample = sample_any,
    }};
static ag_op OP_STACK = {.def = {
        .name = "stack",
        .n_inputs = 2,
        .example = stack_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = COMPOSITE | NO_BCAST,
        .sample = sample_stack,
    }};
static ag_op OP_EXPAND_DIMS = {.def = {
        .name = "expand_dims",
        .n_inputs = 1,
        .example = expand_dims_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = COMPOSITE,
    }};
static ag_op OP_SQUEEZE = {.def = {
        .name = "squeeze",
        .n_inputs = 1,
        .example = squeeze_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = COMPOSITE,
        .sample = sample_squeezable,
    }};

void ag_ops_register_layout(void)
{
    ag_op_register_builtin(&OP_PERMUTE);
    ag_op_register_builtin(&OP_TRANSPOSE);
    ag_op_register_builtin(&OP_SLICE);
    ag_op_register_builtin(&OP_SLICE_BACKWARD);
    ag_op_register_builtin(&OP_SLICE_RANGES);
    ag_op_register_builtin(&OP_CONCAT);
    ag_op_register_builtin(&OP_STACK);
    ag_op_register_builtin(&OP_EXPAND_DIMS);
    ag_op_register_builtin(&OP_SQUEEZE);
}

/* SPDX-License-Identifier: MIT */
/* shape.c — ops that move elements without computing: reshape, and the pair
 * broadcast_to / sum_to, each the other's gradient. */
#include "ops_internal.h"

#include <string.h>

typedef struct shape_params {
    int ndim;
    int64_t shape[AG_MAX_DIMS];
} shape_params;

/* A target shape as an op's options. */
static shape_params params_of(int ndim, const int64_t *shape)
{
    shape_params p = {.ndim = ndim};
    if (ndim > 0) /* shape may be NULL for a scalar; memcpy's may not */
        memcpy(p.shape, shape, (size_t)ndim * sizeof *shape);
    return p;
}

static ag_op OP_RESHAPE, OP_BROADCAST_TO, OP_SUM_TO;

/* The options of a shape op, from a shape checked first (an error naming
 * `op` when it is not one). */
static bool pack_shape(const char *op, int ndim, const int64_t *shape, shape_params *p)
{
    size_t numel;
    if (!ag_shape_check(op, ndim, shape, &numel))
        return false;
    *p = params_of(ndim, shape);
    return true;
}

/* y = reshape(x);  dx += reshape(g, shape of x) */
static ag_tensor *reshape_forward(ag_tensor *const *in, const void *params)
{
    const shape_params *p = params;
    ag_tensor *x = in[0];
    int ndim = p->ndim;
    const int64_t *shape = p->shape;
    if (!ag_check_inputs_data("reshape", 1, &x))
        return NULL;
    size_t numel;
    if (!ag_shape_check("reshape", ndim, shape, &numel))
        return NULL;
    if (numel != x->numel) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "reshape: %s (%zu elements) to %s (%zu elements)",
                     ag_format_shape(x->ndim, x->shape, a, sizeof a), x->numel,
                     ag_format_shape(ndim, shape, b, sizeof b), numel);
        return NULL;
    }
    ag_tensor *y = ag_op_result(&OP_RESHAPE, x->dtype, ndim, shape, 1, &x, p, sizeof *p);
    if (y)
        memcpy(y->data, x->data, numel * ag_dtype_size(x->dtype));
    return y;
}

ag_tensor *ag_reshape(ag_tensor *x, int ndim, const int64_t *shape)
{
    shape_params p;
    return pack_shape("reshape", ndim, shape, &p) ? reshape_forward(&x, &p) : NULL;
}

static bool reshape_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0];
    return (gin[0] = ag_reshape(g, x->ndim, x->shape)) != NULL;
}

static bool reshape_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    (void)y;
    return ag_grad_pass(dst, g);
}

/* Whether shape `small` broadcasts to exactly `big` (numpy's rule: aligned
 * from the right, each dimension equal or 1 in small, none added to big). */
static bool broadcasts_to(int n_small, const int64_t *small, int n_big, const int64_t *big)
{
    int nd;
    int64_t out[AG_MAX_DIMS];
    return n_small <= n_big && ag_broadcast_shapes(NULL, n_small, small, n_big, big, &nd, out) &&
           ag_same_shape(nd, out, n_big, big);
}

/* y = broadcast_to(x, shape);  dx += sum_to(g, shape of x) */
static ag_tensor *broadcast_to_forward(ag_tensor *const *in, const void *params)
{
    const shape_params *p = params;
    ag_tensor *x = in[0];
    int ndim = p->ndim;
    const int64_t *shape = p->shape;
    if (!ag_inputs_ok("broadcast_to", 1, &x))
        return NULL;
    size_t numel;
    if (!ag_shape_check("broadcast_to", ndim, shape, &numel))
        return NULL;
    if (!broadcasts_to(x->ndim, x->shape, ndim, shape)) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "broadcast_to: %s cannot be broadcast to %s",
                     ag_format_shape(x->ndim, x->shape, a, sizeof a),
                     ag_format_shape(ndim, shape, b, sizeof b));
        return NULL;
    }
    if (ag_same_shape(x->ndim, x->shape, ndim, shape))
        return x;
    ag_tensor *y = ag_op_result(&OP_BROADCAST_TO, x->dtype, ndim, shape, 1, &x, p, sizeof *p);
    if (!y || y->numel == 0)
        return y;
    int64_t sx[AG_MAX_DIMS];
    ag_broadcast_strides(x, ndim, shape, sx);
    size_t inner = ndim ? (size_t)shape[ndim - 1] : 1;
    ptrdiff_t step = ndim ? sx[ndim - 1] : 0;
    ag_odometer it;
    ag_odometer_init(&it, ndim, shape, sx, NULL);
    for (size_t o = 0; o < y->numel / inner; o++, ag_odometer_next_row(&it)) {
        if (x->dtype == AG_F32) {
            const float *src = (const float *)x->data + it.off[0];
            float *dst = (float *)y->data + o * inner;
            for (size_t i = 0; i < inner; i++)
                dst[i] = src[(ptrdiff_t)i * step];
        } else {
            const double *src = (const double *)x->data + it.off[0];
            double *dst = (double *)y->data + o * inner;
            for (size_t i = 0; i < inner; i++)
                dst[i] = src[(ptrdiff_t)i * step];
        }
    }
    return y;
}

ag_tensor *ag_broadcast_to(ag_tensor *x, int ndim, const int64_t *shape)
{
    shape_params p;
    return pack_shape("broadcast_to", ndim, shape, &p) ? broadcast_to_forward(&x, &p) : NULL;
}

static bool broadcast_to_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0];
    return (gin[0] = ag_sum_to(g, x->ndim, x->shape)) != NULL;
}

/* y = sum_to(x, shape): x summed over the dimensions that broadcasting
 * `shape` to x's shape would have expanded;  dx += broadcast_to(g, shape of x) */
static ag_tensor *sum_to_forward(ag_tensor *const *in, const void *params)
{
    const shape_params *p = params;
    ag_tensor *x = in[0];
    int ndim = p->ndim;
    const int64_t *shape = p->shape;
    if (!ag_inputs_ok("sum_to", 1, &x))
        return NULL;
    size_t numel;
    if (!ag_shape_check("sum_to", ndim, shape, &numel))
        return NULL;
    if (!broadcasts_to(ndim, shape, x->ndim, x->shape)) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "sum_to: %s cannot be summed to %s (it does not broadcast from it)",
                     ag_format_shape(x->ndim, x->shape, a, sizeof a),
                     ag_format_shape(ndim, shape, b, sizeof b));
        return NULL;
    }
    if (ag_same_shape(x->ndim, x->shape, ndim, shape))
        return x;
    ag_tensor *y = ag_op_result(&OP_SUM_TO, x->dtype, ndim, shape, 1, &x, p, sizeof *p);
    if (!y)
        return NULL;
    memset(y->data, 0, y->numel * ag_dtype_size(y->dtype));
    if (x->numel == 0)
        return y;
    /* Walk x; the output index follows with stride 0 along summed dimensions. */
    int64_t sy[AG_MAX_DIMS];
    ag_broadcast_strides(y, x->ndim, x->shape, sy);
    int xd = x->ndim;
    size_t inner = xd ? (size_t)x->shape[xd - 1] : 1;
    ptrdiff_t step = xd ? sy[xd - 1] : 0;
    ag_odometer it;
    ag_odometer_init(&it, xd, x->shape, sy, NULL);
    for (size_t o = 0; o < x->numel / inner; o++, ag_odometer_next_row(&it)) {
        if (x->dtype == AG_F32) {
            const float *src = (const float *)x->data + o * inner;
            float *dst = (float *)y->data + it.off[0];
            for (size_t i = 0; i < inner; i++)
                dst[(ptrdiff_t)i * step] += src[i];
        } else {
            const double *src = (const double *)x->data + o * inner;
            double *dst = (double *)y->data + it.off[0];
            for (size_t i = 0; i < inner; i++)
                dst[(ptrdiff_t)i * step] += src[i];
        }
    }
    return y;
}

ag_tensor *ag_sum_to(ag_tensor *x, int ndim, const int64_t *shape)
{
    /* Every broadcasting op's rule asks this of a same-shape gradient: no
     * copy of the shape for it. */
    if (ag_inputs_ok("sum_to", 1, &x) && (ndim == 0 || shape) &&
        ag_same_shape(x->ndim, x->shape, ndim, shape))
        return x;
    shape_params p;
    return pack_shape("sum_to", ndim, shape, &p) ? sum_to_forward(&x, &p) : NULL;
}

static bool sum_to_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0];
    return (gin[0] = ag_broadcast_to(g, x->ndim, x->shape)) != NULL;
}

/* Flattened. */
static ag_tensor *reshape_example(ag_tensor *const *in)
{
    int64_t n = in[0] ? (int64_t)in[0]->numel : 0;
    return ag_reshape(in[0], 1, &n);
}

/* (..) -> (2, ..) with size-1 dimensions expanded to 3. */
static ag_tensor *broadcast_to_example(ag_tensor *const *in)
{
    const ag_tensor *x = in[0];
    int64_t shape[AG_MAX_DIMS] = {2};
    int nd = x ? x->ndim + 1 : 1;
    for (int d = 0; d + 1 < nd; d++)
        shape[d + 1] = x->shape[d] == 1 ? 3 : x->shape[d];
    return ag_broadcast_to(in[0], nd, shape);
}

/* Sums away the first dimension and any second one down to 1. */
static ag_tensor *sum_to_example(ag_tensor *const *in)
{
    const ag_tensor *x = in[0];
    int64_t shape[AG_MAX_DIMS];
    int nd = x && x->ndim > 0 ? x->ndim - 1 : 0;
    for (int d = 0; d < nd; d++)
        shape[d] = x->shape[d + 1];
    if (nd > 1)
        shape[0] = 1;
    return ag_sum_to(in[0], nd, shape);
}

static void sample_small(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 1 + (int)(ag_rng_next(rng) % 3);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = 1 + (int64_t)(ag_rng_next(rng) % 3);
}

static ag_op OP_RESHAPE = {.def = {
        .name = "reshape",
        .n_inputs = 1,
        .forward = reshape_forward,
        .example = reshape_example,
        .vjp = reshape_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_small,
        .rule = "dx += reshape(g, shape of x)",
        .kernel = reshape_kernel,
    }};
static ag_op OP_BROADCAST_TO = {.def = {
        .name = "broadcast_to",
        .n_inputs = 1,
        .forward = broadcast_to_forward,
        .example = broadcast_to_example,
        .vjp = broadcast_to_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_small,
        .rule = "dx += sum_to(g, shape of x)",
    }};
static ag_op OP_SUM_TO = {.def = {
        .name = "sum_to",
        .n_inputs = 1,
        .forward = sum_to_forward,
        .example = sum_to_example,
        .vjp = sum_to_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_small,
        .rule = "dx += broadcast_to(g, shape of x)",
    }};

void ag_ops_register_shape(void)
{
    ag_op_register_builtin(&OP_RESHAPE);
    ag_op_register_builtin(&OP_BROADCAST_TO);
    ag_op_register_builtin(&OP_SUM_TO);
}

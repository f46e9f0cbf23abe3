/* SPDX-License-Identifier: MIT */
/* reduce.c — sums and means, over all elements or along one axis, and
 * the variance and standard deviation built from them.
 *
 * Sums accumulate in double whatever the dtype, so an f32 mean over a large
 * batch does not drift. Their gradients broadcast the upstream gradient back
 * over the reduced dimension (with the axis restored as size 1 first). */
#include "ops_internal.h"

#include <math.h>

typedef struct reduce_params {
    int axis;     /* normalized, or -1 for all elements */
    bool keepdim;
    bool mean;
} reduce_params;

static ag_op OP_SUM, OP_MEAN;

/* The shape with `axis` removed or kept as 1. */
static int reduced_shape(const ag_tensor *x, int axis, bool keepdim, int64_t *shape)
{
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d == axis) {
            if (keepdim)
                shape[nd++] = 1;
        } else {
            shape[nd++] = x->shape[d];
        }
    }
    return nd;
}

/* Whether a (axis as given, normalized) is an axis of x; an error naming
 * the op and the given axis otherwise. */
static bool axis_ok(const char *name, int axis, int a, const ag_tensor *x)
{
    if (a >= 0 && a < x->ndim)
        return true;
    char s[160];
    ag_error_set(AG_ERR_VALUE, "%s: axis %d out of range for shape %s (%d dimensions)", name,
                 axis, ag_format_shape(x->ndim, x->shape, s, sizeof s), x->ndim);
    return false;
}

/* Sums of x viewed as (outer, len, inner): output q = o * inner + i is
 * the sum of len elements, in order, from x[o * len * inner + i] with
 * stride inner. */
typedef struct reduce_job {
    const ag_tensor *x;
    ag_tensor *y;
    size_t len, inner;
    double scale;
    double *part; /* a full sum's block sums */
    size_t block;
} reduce_job;

static double sum_strided(const ag_tensor *x, size_t base, size_t len, size_t inner)
{
    double acc = 0;
    if (x->dtype == AG_F32) {
        const float *xs = x->data;
        for (size_t k = 0; k < len; k++)
            acc += xs[base + k * inner];
    } else {
        const double *xs = x->data;
        for (size_t k = 0; k < len; k++)
            acc += xs[base + k * inner];
    }
    return acc;
}

static void sum_outputs(size_t lo, size_t hi, void *ctx)
{
    const reduce_job *j = ctx;
    for (size_t q = lo; q < hi; q++) {
        size_t o = q / j->inner, i = q % j->inner;
        ag_store(j->y, q, sum_strided(j->x, o * j->len * j->inner + i, j->len, j->inner) * j->scale);
    }
}

/* A full sum's blocks: more than two blocks of SUM_BLOCK elements, at most
 * SUM_MAX_BLOCKS (larger blocks past that), so the block sums fit on the
 * stack. Below it a full sum is one block, as it always was. */
#define SUM_BLOCK ((size_t)1 << 15)
#define SUM_MAX_BLOCKS 64

static void sum_blocks(size_t lo, size_t hi, void *ctx)
{
    const reduce_job *j = ctx;
    for (size_t b = lo; b < hi; b++) {
        size_t start = b * j->block, n = j->len - start < j->block ? j->len - start : j->block;
        j->part[b] = sum_strided(j->x, start, n, 1);
    }
}

/* y = sum(x) [along axis];   dx += broadcast(g)
 * y = mean(x) [along axis];  dx += broadcast(g) / n
 * One forward for both: the params say which (and whether over all). */
static ag_tensor *reduce_forward(ag_tensor *const *in, const void *params)
{
    reduce_params p = *(const reduce_params *)params;
    ag_op *op = p.mean ? &OP_MEAN : &OP_SUM;
    const char *name = op->def.name;
    ag_tensor *x = in[0];
    if (!ag_check_inputs(name, 1, &x))
        return NULL;
    bool all = p.axis == -1;
    int a = p.axis;
    if (!all && !axis_ok(name, a, a, x))
        return NULL;
    bool keepdim = p.keepdim;
    int64_t shape[AG_MAX_DIMS];
    int nd = all ? 0 : reduced_shape(x, a, keepdim, shape);
    if (all && keepdim) {
        nd = x->ndim;
        for (int d = 0; d < nd; d++)
            shape[d] = 1;
    }
    ag_tensor *y = ag_op_result(op, x->dtype, nd, shape, 1, &x, &p, sizeof p);
    if (!y)
        return NULL;
    /* View x as (outer, len, inner) around the reduced axis. */
    size_t outer = 1, len = x->numel, inner = 1;
    if (!all) {
        len = (size_t)x->shape[a];
        for (int d = 0; d < a; d++)
            outer *= (size_t)x->shape[d];
        for (int d = a + 1; d < x->ndim; d++)
            inner *= (size_t)x->shape[d];
    }
    /* For a mean over nothing, 0/0 gives NaN, as numpy does. */
    double scale = p.mean ? 1.0 / (double)len : 1.0;
    reduce_job j = {x, y, len, inner, scale, NULL, 0};
    size_t n_out = outer * inner;
    if (n_out == 1 && len > 2 * SUM_BLOCK) {
        /* One sum over many elements: fixed blocks, summed on any thread,
         * their sums added in block order. The blocks depend on len only,
         * so every thread count gives the same bits. */
        size_t bs = SUM_BLOCK;
        if (len > bs * SUM_MAX_BLOCKS)
            bs = (len + SUM_MAX_BLOCKS - 1) / SUM_MAX_BLOCKS;
        double part[SUM_MAX_BLOCKS];
        j.part = part;
        j.block = bs;
        size_t nb = (len + bs - 1) / bs;
        ag_parallel_for(nb, 1, sum_blocks, &j);
        double acc = 0;
        for (size_t b = 0; b < nb; b++)
            acc += part[b];
        ag_store(y, 0, acc * scale);
    } else if (n_out >= 2 && n_out * len >= 2 * AG_GRAIN) {
        /* Outputs are independent, each summed in the serial order. */
        ag_parallel_for(n_out, (AG_GRAIN + len - 1) / (len ? len : 1), sum_outputs, &j);
    } else {
        sum_outputs(0, n_out, &j);
    }
    return y;
}

/* Along one axis (negative from the end). */
static ag_tensor *reduce_axis(ag_tensor *x, int axis, bool keepdim, bool mean)
{
    if (!ag_check_inputs(mean ? "mean" : "sum", 1, &x))
        return NULL;
    int a = axis < 0 ? axis + x->ndim : axis;
    if (!axis_ok(mean ? "mean" : "sum", axis, a, x))
        return NULL;
    return reduce_forward(&x, &(reduce_params){a, keepdim, mean});
}

ag_tensor *ag_sum(ag_tensor *x) { return reduce_forward(&x, &(reduce_params){-1, false, false}); }
ag_tensor *ag_mean(ag_tensor *x) { return reduce_forward(&x, &(reduce_params){-1, false, true}); }
ag_tensor *ag_sum_axis(ag_tensor *x, int axis, bool keepdim) { return reduce_axis(x, axis, keepdim, false); }
ag_tensor *ag_mean_axis(ag_tensor *x, int axis, bool keepdim) { return reduce_axis(x, axis, keepdim, true); }

static bool reduce_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const reduce_params *p = y->params;
    ag_tensor *x = y->inputs[0];
    ag_tensor *gk = g;
    if (p->axis >= 0 && !p->keepdim) {
        int64_t shape[AG_MAX_DIMS];
        int nd = reduced_shape(x, p->axis, true, shape);
        gk = ag_reshape(g, nd, shape);
    }
    ag_tensor *gx = ag_broadcast_to(gk, x->ndim, x->shape);
    if (p->mean) {
        size_t n = p->axis >= 0 ? (size_t)x->shape[p->axis] : x->numel;
        gx = ag_mul_scalar(gx, 1.0 / (double)n);
    }
    return (gin[0] = gx) != NULL;
}

/* The rule as a loop: x viewed as (outer, len, inner) around the axis, each
 * element gets its row's g (times 1/n rounded to the dtype, as mul_scalar
 * does in the rule). Slices of outer on the threads (each element of dx
 * written once); a full sum's gradient (outer 1) splits along len. */
typedef struct reduce_grad_job {
    const ag_tensor *g;
    void *d;
    size_t outer, len, inner;
    double scale;
    bool mean, acc;
} reduce_grad_job;

#define REDUCE_GRAD(T)                                                                        \
    {                                                                                         \
        const T *restrict gs = j->g->data;                                                    \
        T *restrict ds = j->d, sc = (T)j->scale;                                              \
        for (size_t o = o0; o < o1; o++)                                                      \
            for (size_t k = k0; k < k1; k++)                                                  \
                for (size_t i = 0; i < inner; i++) {                                          \
                    T v = j->mean ? gs[o * inner + i] * sc : gs[o * inner + i];               \
                    size_t e = (o * len + k) * inner + i;                                     \
                    ds[e] = j->acc ? ds[e] + v : v;                                           \
                }                                                                             \
    }

static void reduce_grad_chunk(size_t lo, size_t hi, void *ctx)
{
    const reduce_grad_job *j = ctx;
    size_t len = j->len, inner = j->inner;
    size_t o0 = lo, o1 = hi, k0 = 0, k1 = len;
    if (j->outer == 1) /* the chunk is a slice of len */
        o0 = 0, o1 = 1, k0 = lo, k1 = hi;
    if (j->g->dtype == AG_F32)
        REDUCE_GRAD(float)
    else
        REDUCE_GRAD(double)
}

static bool reduce_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const reduce_params *p = y->params;
    ag_tensor *x = y->inputs[0];
    void *d = ag_grad_dst_data(dst);
    if (!d)
        return false;
    size_t outer = 1, len = x->numel, inner = 1;
    if (p->axis >= 0) {
        len = (size_t)x->shape[p->axis];
        for (int k = 0; k < p->axis; k++)
            outer *= (size_t)x->shape[k];
        for (int k = p->axis + 1; k < x->ndim; k++)
            inner *= (size_t)x->shape[k];
    }
    reduce_grad_job j = {g, d, outer, len, inner, 1.0 / (double)len, p->mean, dst->accumulate};
    size_t n = outer == 1 ? len : outer, per = outer == 1 ? inner : len * inner;
    if (x->numel >= 2 * AG_GRAIN && n >= 2)
        ag_parallel_for(n, (AG_GRAIN + per - 1) / (per ? per : 1), reduce_grad_chunk, &j);
    else
        reduce_grad_chunk(0, n, &j);
    return true;
}

/* The sum along the last axis; the mean along the first, kept. */
static ag_tensor *sum_example(ag_tensor *const *in) { return ag_sum_axis(in[0], -1, false); }
static ag_tensor *mean_example(ag_tensor *const *in) { return ag_mean_axis(in[0], 0, true); }

static void sample_nonscalar(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 1 + (int)(ag_rng_next(rng) % 3);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = 1 + (int64_t)(ag_rng_next(rng) % 4);
}

static ag_op OP_SUM = {.def = {
        .name = "sum",
        .n_inputs = 1,
        .forward = reduce_forward,
        .example = sum_example,
        .vjp = reduce_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_nonscalar,
        .rule = "dx += broadcast(g)",
        .kernel = reduce_kernel,
    }};
static ag_op OP_MEAN = {.def = {
        .name = "mean",
        .n_inputs = 1,
        .forward = reduce_forward,
        .example = mean_example,
        .vjp = reduce_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_nonscalar,
        .rule = "dx += broadcast(g) / n",
        .kernel = reduce_kernel,
    }};

/* ---- variance and standard deviation: composites of the above ---- */

/* var = Σ (x - mean)² / (N - correction), the two-pass form (stable where
 * Σx² - N mean² cancels). As PyTorch, a divisor N - correction ≤ 0 is
 * taken as 0: the result is +inf where the squares sum to more than 0 and
 * NaN where they are all 0 (one element with correction 1). `all` reduces
 * every element (axis unused, no keepdim). */
static ag_tensor *variance(const char *name, ag_tensor *x, bool all, int axis, int correction,
                           bool keepdim)
{
    if (!ag_check_inputs(name, 1, &x))
        return NULL;
    int a = axis < 0 ? axis + x->ndim : axis;
    if (!all && !axis_ok(name, axis, a, x))
        return NULL;
    double n = all ? (double)x->numel : (double)x->shape[a];
    double dof = n - (double)correction;
    double scale = dof > 0 ? 1.0 / dof : INFINITY;
    ag_tensor *m = all ? ag_mean(x) : ag_mean_axis(x, a, true);
    ag_tensor *sq = ag_square(ag_sub(x, m));
    return ag_mul_scalar(all ? ag_sum(sq) : ag_sum_axis(sq, a, keepdim), scale);
}

ag_tensor *ag_var(ag_tensor *x, int correction)
{
    return variance("var", x, true, 0, correction, false);
}

ag_tensor *ag_var_axis(ag_tensor *x, int axis, int correction, bool keepdim)
{
    return variance("var", x, false, axis, correction, keepdim);
}

ag_tensor *ag_std(ag_tensor *x, int correction)
{
    if (!ag_check_inputs("std", 1, &x))
        return NULL;
    return ag_sqrt(variance("std", x, true, 0, correction, false));
}

ag_tensor *ag_std_axis(ag_tensor *x, int axis, int correction, bool keepdim)
{
    if (!ag_check_inputs("std", 1, &x))
        return NULL;
    return ag_sqrt(variance("std", x, false, axis, correction, keepdim));
}

/* Shapes with a last axis of 2 to 4 elements, so that the unbiased
 * variance along it is finite. */
static void sample_var(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    sample_nonscalar(rng, ndim, shape);
    shape[0][ndim[0] - 1] = 2 + (int64_t)(ag_rng_next(rng) % 3);
}

/* The unbiased variance along the last axis; the biased deviation of
 * everything (the sample never gives a single element). */
static ag_tensor *var_example(ag_tensor *const *in) { return ag_var_axis(in[0], -1, 1, false); }
static ag_tensor *std_example(ag_tensor *const *in) { return ag_std(in[0], 0); }

static ag_op OP_VAR = {.def = {
        .name = "var",
        .n_inputs = 1,
        .example = var_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_var,
    }};
static ag_op OP_STD = {.def = {
        .name = "std",
        .n_inputs = 1,
        .example = std_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_var,
    }};

void ag_ops_register_reduce(void)
{
    ag_op_register_builtin(&OP_SUM);
    ag_op_register_builtin(&OP_MEAN);
    ag_op_register_builtin(&OP_VAR);
    ag_op_register_builtin(&OP_STD);
}

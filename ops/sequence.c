/* SPDX-License-Identifier: MIT */
/* sequence.c — the ops a sequence model needs beyond the dense ones: token
 * embedding, masking, and the triangular parts of a matrix (a causal mask).
 *
 * All four are composites of existing primitives, so they record no node of
 * their own and their gradients (and gradients of gradients) come from the
 * rules of those primitives: embedding is an index_select of the weight's
 * rows, whose rule scatter-adds, so a repeated id accumulates into its row;
 * masked_fill, tril and triu are a `where` against a constant, which passes
 * the gradient where the input is kept and nothing elsewhere. `where` rather
 * than a multiply by a 0/1 mask: a zeroed element is then 0 even when the
 * input there is ±inf or NaN, as PyTorch's are. */
#include "ops_internal.h"

#include <string.h>

/* ---- embedding ---- */

/* Rows of weight (num, dim) picked by i64 ids of any shape: (ids..., dim). */
ag_tensor *ag_embedding(ag_tensor *ids, ag_tensor *weight)
{
    if (!ids) {
        ag_error_set(AG_ERR_NULL, "embedding: ids is NULL");
        return NULL;
    }
    if (!ag_check_inputs("embedding", 1, &weight))
        return NULL;
    if (ag_is_stale(ids)) {
        ag_check_inputs("embedding", 1, &ids); /* words the stale-input message */
        return NULL;
    }
    char ws[160], is[160];
    if (ids->dtype != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "embedding: ids of shape %s are %s; ids are i64 tensors",
                     ag_format_shape(ids->ndim, ids->shape, is, sizeof is),
                     ag_dtype_str(ids->dtype));
        return NULL;
    }
    if (weight->ndim != 2) {
        ag_error_set(AG_ERR_SHAPE, "embedding: weight of shape %s is not 2-D (num, dim)",
                     ag_format_shape(weight->ndim, weight->shape, ws, sizeof ws));
        return NULL;
    }
    if (ids->ndim + 1 > AG_MAX_DIMS) {
        ag_error_set(AG_ERR_SHAPE, "embedding: ids of shape %s leave no room for the dim axis "
                     "(at most %d dimensions)",
                     ag_format_shape(ids->ndim, ids->shape, is, sizeof is), AG_MAX_DIMS);
        return NULL;
    }
    /* Checked here rather than left to index_select, so that the message
     * gives the id's position in ids, not in the flattened copy. */
    const int64_t *iv = ids->data;
    int64_t num = weight->shape[0];
    for (size_t i = 0; i < ids->numel; i++)
        if (iv[i] < 0 || iv[i] >= num) {
            int64_t pos[AG_MAX_DIMS];
            char ps[160];
            size_t rest = i; /* the flat position as coordinates of ids */
            for (int d = ids->ndim - 1; d >= 0; d--) {
                pos[d] = (int64_t)(rest % (size_t)ids->shape[d]);
                rest /= (size_t)ids->shape[d];
            }
            ag_error_set(AG_ERR_VALUE,
                         "embedding: id %lld at position %s is out of range for weight of "
                         "shape %s",
                         (long long)iv[i], ag_format_shape(ids->ndim, pos, ps, sizeof ps),
                         ag_format_shape(weight->ndim, weight->shape, ws, sizeof ws));
            return NULL;
        }
    int64_t n = (int64_t)ids->numel;
    ag_tensor *rows = ag_index_select(weight, 0, ag_reshape(ids, 1, &n));
    if (!rows)
        return NULL;
    int64_t shape[AG_MAX_DIMS];
    if (ids->ndim > 0)
        memcpy(shape, ids->shape, (size_t)ids->ndim * sizeof *shape);
    shape[ids->ndim] = weight->shape[1];
    return ag_reshape(rows, ids->ndim + 1, shape);
}

/* ---- masked_fill ---- */

/* where(mask, value, x): the mask must broadcast to x's shape (not x to
 * the mask's), as PyTorch's in-place-shaped masked_fill requires. */
ag_tensor *ag_masked_fill(ag_tensor *x, ag_tensor *mask, double value)
{
    if (!ag_check_inputs("masked_fill", 1, &x))
        return NULL;
    if (!mask) {
        ag_error_set(AG_ERR_NULL, "masked_fill: mask is NULL");
        return NULL;
    }
    if (!ag_check_inputs_any_dtype("masked_fill", 1, &mask))
        return NULL;
    int nd;
    int64_t shape[AG_MAX_DIMS];
    if (!ag_broadcast_shapes(NULL, mask->ndim, mask->shape, x->ndim, x->shape, &nd, shape) ||
        !ag_same_shape(nd, shape, x->ndim, x->shape)) {
        char ms[160], xs[160];
        ag_error_set(AG_ERR_SHAPE, "masked_fill: mask of shape %s does not broadcast to x of "
                     "shape %s",
                     ag_format_shape(mask->ndim, mask->shape, ms, sizeof ms),
                     ag_format_shape(x->ndim, x->shape, xs, sizeof xs));
        return NULL;
    }
    return ag_where(mask, ag_const_scalar(x->dtype, value), x);
}

/* ---- tril / triu ---- */

/* x where the last two dimensions' (i, j) satisfy j − i <= k (lower) or
 * j − i >= k (upper), else 0: where() against an i64 mask of those two
 * dimensions, broadcast over the batch. */
static ag_tensor *triangle(const char *op, ag_tensor *x, int64_t k, bool lower)
{
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    if (x->ndim < 2) {
        char xs[160];
        ag_error_set(AG_ERR_SHAPE, "%s: x of shape %s has %d dimension%s; it needs at least 2",
                     op, ag_format_shape(x->ndim, x->shape, xs, sizeof xs), x->ndim,
                     x->ndim == 1 ? "" : "s");
        return NULL;
    }
    int64_t rows = x->shape[x->ndim - 2], cols = x->shape[x->ndim - 1];
    ag_tensor *keep = ag_tape_tensor(AG_I64, 2, (int64_t[]){rows, cols});
    if (!keep)
        return NULL;
    int64_t *kv = keep->data;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) /* j − i cannot overflow: both are sizes */
            kv[i * cols + j] = lower ? j - i <= k : j - i >= k;
    return ag_where(keep, x, ag_const_scalar(x->dtype, 0.0));
}

ag_tensor *ag_tril(ag_tensor *x, int64_t diagonal) { return triangle("tril", x, diagonal, true); }
ag_tensor *ag_triu(ag_tensor *x, int64_t diagonal) { return triangle("triu", x, diagonal, false); }

/* ---- the registry's view ---- */

/* ids (2, num + 1) cycling through the rows, so that most rows are picked
 * more than once (their gradients must add up) — and (2, 0) for an empty
 * weight, which has no row to pick. */
static ag_tensor *embedding_example(ag_tensor *const *in)
{
    const ag_tensor *w = in[0];
    if (!w || w->ndim != 2)
        return ag_embedding(NULL, in[0]);
    int64_t num = w->shape[0];
    ag_tensor *ids = ag_tape_tensor(AG_I64, 2, (int64_t[]){2, num ? num + 1 : 0});
    if (!ids)
        return NULL;
    for (size_t i = 0; i < ids->numel; i++)
        ((int64_t *)ids->data)[i] = (int64_t)((i * 3 + 1) % (size_t)num);
    return ag_embedding(ids, in[0]);
}

/* A mask over x's last dimension only (so it broadcasts over the rest),
 * setting every third element. */
static ag_tensor *masked_fill_example(ag_tensor *const *in)
{
    const ag_tensor *x = in[0];
    if (!x)
        return ag_masked_fill(NULL, NULL, 0.0);
    int nd = x->ndim > 0 ? 1 : 0;
    ag_tensor *mask = ag_tape_tensor(AG_I64, nd, nd ? &x->shape[x->ndim - 1] : NULL);
    if (!mask)
        return NULL;
    for (size_t i = 0; i < mask->numel; i++)
        ((int64_t *)mask->data)[i] = i % 3 == 1;
    return ag_masked_fill(in[0], mask, -1.5);
}

static ag_tensor *tril_example(ag_tensor *const *in) { return ag_tril(in[0], -1); }
static ag_tensor *triu_example(ag_tensor *const *in) { return ag_triu(in[0], 1); }

/* Weights (1..5, 1..4). */
static void sample_weight(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 2;
    shape[0][0] = 1 + (int64_t)(ag_rng_next(rng) % 5);
    shape[0][1] = 1 + (int64_t)(ag_rng_next(rng) % 4);
}

/* Matrices and batches of them, (2..4) x (2..4) with a batch of 1..3:
 * big enough for a diagonal offset of ±1 to keep some and zero some. */
static void sample_matrices(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 2 + (int)(ag_rng_next(rng) % 2);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = (d < ndim[0] - 2 ? 1 : 2) + (int64_t)(ag_rng_next(rng) % 3);
}

static ag_op OP_EMBEDDING = {.def = {
        .name = "embedding",
        .n_inputs = 1,
        .example = embedding_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_weight,
    }};
static ag_op OP_MASKED_FILL = {.def = {
        .name = "masked_fill",
        .n_inputs = 1,
        .example = masked_fill_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
    }};
static ag_op OP_TRIL = {.def = {
        .name = "tril",
        .n_inputs = 1,
        .example = tril_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_matrices,
    }};
static ag_op OP_TRIU = {.def = {
        .name = "triu",
        .n_inputs = 1,
        .example = triu_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_matrices,
    }};

void ag_ops_register_sequence(void)
{
    ag_op_register_builtin(&OP_EMBEDDING);
    ag_op_register_builtin(&OP_MASKED_FILL);
    ag_op_register_builtin(&OP_TRIL);
    ag_op_register_builtin(&OP_TRIU);
}

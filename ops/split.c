/* SPDX-License-Identifier: MIT */
/* split.c — cutting a tensor into pieces along an axis: torch.split with an
 * int size and torch.chunk with a count.
 *
 * Each piece is an ag_slice of the input, so each carries slice's rule and
 * the gradients of the pieces add up into the input's (zeros where a piece
 * was not used). Both take i64 tensors too. Registered as composites whose
 * examples join the pieces again in reverse order, so that the sweep sends
 * a gradient back through every piece. */
#include "ops_internal.h"

/* Slices x along axis a into count pieces of `size` (the last may be
 * smaller), or into `count` empty pieces when the axis is empty. */
static int cut(const char *op, ag_tensor *x, int a, int64_t size, int64_t count, ag_tensor **out,
               int max_out)
{
    char s[160];
    if (count > max_out) {
        ag_error_set(AG_ERR_VALUE, "%s: axis %d of shape %s makes %lld pieces but max_out is %d",
                     op, a, ag_format_shape(x->ndim, x->shape, s, sizeof s), (long long)count,
                     max_out);
        return -1;
    }
    int64_t n = x->shape[a];
    for (int64_t k = 0; k < count; k++) {
        int64_t start = k * size < n ? k * size : n;
        int64_t stop = size < n - start ? start + size : n; /* no start + size overflow */
        if (!(out[k] = ag_slice(x, a, start, stop, 1))) {
            for (int64_t j = 0; j < k; j++)
                out[j] = NULL;
            return -1;
        }
    }
    return (int)count;
}

/* The checks split and chunk share: x, out, max_out and the axis. Returns
 * the axis normalized, or -1. */
static int cut_args(const char *op, ag_tensor *x, int axis, ag_tensor **out, int max_out)
{
    if (!ag_check_inputs_data(op, 1, &x))
        return -1;
    if (!out) {
        ag_error_set(AG_ERR_NULL, "%s: out is NULL", op);
        return -1;
    }
    char s[160];
    if (x->ndim == 0) {
        ag_error_set(AG_ERR_SHAPE, "%s: x is 0-dimensional; %s cuts along an existing axis", op,
                     op);
        return -1;
    }
    int a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim) {
        ag_error_set(AG_ERR_VALUE, "%s: axis %d out of range for shape %s", op, axis,
                     ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return -1;
    }
    if (max_out < 0) {
        ag_error_set(AG_ERR_VALUE, "%s: max_out is %d; it counts the entries of out", op, max_out);
        return -1;
    }
    return a;
}

int ag_split(ag_tensor *x, int64_t split_size, int axis, ag_tensor **out, int max_out)
{
    int a = cut_args("split", x, axis, out, max_out);
    if (a < 0)
        return -1;
    int64_t n = x->shape[a];
    /* PyTorch: a size of 0 only for an empty axis; an empty axis is one
     * empty piece. */
    if (split_size < 0 || (split_size == 0 && n > 0)) {
        char s[160];
        ag_error_set(AG_ERR_VALUE, "split: split_size %lld for axis %d of shape %s; it must be >= 1",
                     (long long)split_size, axis, ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return -1;
    }
    int64_t count = n == 0 ? 1 : n / split_size + (n % split_size != 0);
    return cut("split", x, a, split_size, count, out, max_out);
}

int ag_chunk(ag_tensor *x, int chunks, int axis, ag_tensor **out, int max_out)
{
    int a = cut_args("chunk", x, axis, out, max_out);
    if (a < 0)
        return -1;
    if (chunks < 1) {
        ag_error_set(AG_ERR_VALUE, "chunk: %d chunks; need at least 1", chunks);
        return -1;
    }
    int64_t n = x->shape[a];
    /* Pieces of ceil(n / chunks), as torch.chunk: fewer than `chunks` when
     * that size covers the axis sooner (6 in 4 chunks: 2, 2, 2). An empty
     * axis gives `chunks` empty pieces, as PyTorch's. */
    int64_t size = n / chunks + (n % chunks != 0);
    int64_t count = n == 0 ? chunks : n / size + (n % size != 0);
    return cut("chunk", x, a, size, count, out, max_out);
}

/* ---- registry entries: the pieces joined again in reverse order ---- */

static ag_tensor *join_reversed(int n, ag_tensor **pieces, int axis)
{
    if (n < 0)
        return NULL;
    for (int i = 0; i < n / 2; i++) {
        ag_tensor *t = pieces[i];
        pieces[i] = pieces[n - 1 - i];
        pieces[n - 1 - i] = t;
    }
    return ag_concat(n, pieces, axis);
}

/* Pieces of 2 along the last axis: an odd length leaves a short last one. */
static ag_tensor *split_example(ag_tensor *const *in)
{
    ag_tensor *pieces[AG_MAX_DIMS * 4];
    return join_reversed(ag_split(in[0], 2, -1, pieces, (int)(sizeof pieces / sizeof *pieces)),
                         pieces, -1);
}

/* Three chunks along the first axis (fewer for a short axis). */
static ag_tensor *chunk_example(ag_tensor *const *in)
{
    ag_tensor *pieces[3];
    return join_reversed(ag_chunk(in[0], 3, 0, pieces, 3), pieces, 0);
}

/* Rank 1 to 3, dimensions 1 to 5: lengths that split evenly and not. */
static void sample_cut(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 1 + (int)(ag_rng_next(rng) % 3);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = 1 + (int64_t)(ag_rng_next(rng) % 5);
}

static ag_op OP_SPLIT = {.def = {
        .name = "split",
        .n_inputs = 1,
        .example = split_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_cut,
    }};
static ag_op OP_CHUNK = {.def = {
        .name = "chunk",
        .n_inputs = 1,
        .example = chunk_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
        .sample = sample_cut,
    }};

void ag_ops_register_split(void)
{
    ag_op_register_builtin(&OP_SPLIT);
    ag_op_register_builtin(&OP_CHUNK);
}

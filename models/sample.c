/* SPDX-License-Identifier: MIT */
/* sample.c — drawing the next token from a language model's logits, with
 * temperature and top-k as nanoGPT's generate does.
 *
 * The draw is computed in double from the logits' values, outside any
 * tape: sampling is not differentiable, and a token generator calls it once
 * per token, so it reads the row directly rather than building softmax
 * nodes. exp((l - max) / T) keeps the largest weight at 1, so nothing
 * overflows whatever the scale of the logits. */
#include "op.h"

#include <math.h>
#include <stdlib.h>

/* Rank order for top-k: larger logit first, lower id first among equals. */
typedef struct ranked {
    double v;
    int64_t id;
} ranked;

/* The candidates of a draw: every id when k == V, else the k first in rank
 * order, those with a larger logit than the k-th's, or its logit and an id
 * no larger. */
typedef struct top {
    int64_t k, V;
    double cut;     /* the k-th's logit */
    int64_t cut_id; /* and id */
} top;

static bool candidate(const top *c, double l, int64_t j)
{
    return c->k == c->V || l > c->cut || (l == c->cut && j <= c->cut_id);
}

static int ranked_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

int64_t ag_sample_logits(const ag_tensor *logits, double temperature, int64_t top_k, ag_rng *rng)
{
    if (!logits || !rng) {
        ag_error_set(AG_ERR_NULL, "sample_logits: the %s is NULL", logits ? "rng" : "logits");
        return -1;
    }
    if (!ag_tensor_live(logits)) {
        ag_error_set(AG_ERR_STALE, "sample_logits: the logits are an intermediate of a reset "
                     "tape");
        return -1;
    }
    ag_dtype dt = ag_tensor_dtype(logits);
    if (dt != AG_F32 && dt != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "sample_logits: logits are f32 or f64, not %s",
                     ag_dtype_str(dt));
        return -1;
    }
    int nd = ag_ndim(logits);
    int64_t V = nd >= 1 ? ag_dim(logits, nd - 1) : 0;
    if ((nd != 1 && nd != 2) || V == 0 || (nd == 2 && ag_dim(logits, 0) == 0)) {
        char sh[64];
        ag_error_set(AG_ERR_SHAPE, "sample_logits: logits %s; expected (V) or (L, V) with V and "
                     "L >= 1", ag_shape_str(logits, sh, sizeof sh));
        return -1;
    }
    if (!(temperature >= 0)) {
        ag_error_set(AG_ERR_VALUE, "sample_logits: temperature %g; it must be >= 0",
                     temperature);
        return -1;
    }
    if (top_k < 0) {
        ag_error_set(AG_ERR_VALUE, "sample_logits: top_k %lld; it must be >= 0 (0 = all)",
                     (long long)top_k);
        return -1;
    }
    /* The last row: a (L, V) tensor's predictions for each position, of
     * which generation wants the one after the last. ag_get_flat reads
     * through any layout. */
    size_t row = nd == 2 ? (size_t)(ag_dim(logits, 0) - 1) * (size_t)V : 0;
    int64_t best = -1;
    double max = -INFINITY;
    for (int64_t j = 0; j < V; j++) {
        double l = ag_get_flat(logits, row + (size_t)j);
        if (isnan(l) || l == INFINITY) {
            ag_error_set(AG_ERR_VALUE, "sample_logits: logit %lld (of %lld) is %g; logits must "
                         "be finite or -inf", (long long)j, (long long)V, l);
            return -1;
        }
        if (best < 0 ? l > -INFINITY : l > max) {
            max = l;
            best = j;
        }
    }
    if (best < 0) {
        ag_error_set(AG_ERR_VALUE, "sample_logits: all %lld logits are -inf", (long long)V);
        return -1;
    }
    if (temperature == 0)
        return best;
    int64_t k = top_k == 0 || top_k > V ? V : top_k;
    top c = {.k = k, .V = V, .cut = -INFINITY, .cut_id = V};
    /* The k-th in rank order, found by sorting (a language model's
     * vocabulary is small next to its forward pass). */
    if (k < V) {
        ranked *r = ag_malloc((size_t)V * sizeof *r);
        if (!r) {
            ag_error_set(AG_ERR_NOMEM, "sample_logits: out of memory for %lld logits",
                         (long long)V);
            return -1;
        }
        for (int64_t j = 0; j < V; j++)
            r[j] = (ranked){ag_get_flat(logits, row + (size_t)j), j};
        qsort(r, (size_t)V, sizeof *r, ranked_cmp);
        c.cut = r[k - 1].v;
        c.cut_id = r[k - 1].id;
        ag_free(r);
    }
    double total = 0;
    for (int64_t j = 0; j < V; j++) {
        double l = ag_get_flat(logits, row + (size_t)j);
        if (candidate(&c, l, j))
            total += exp((l - max) / temperature);
    }
    double u = ag_rng_uniform(rng) * total, cum = 0;
    int64_t last = best;
    for (int64_t j = 0; j < V; j++) {
        double l = ag_get_flat(logits, row + (size_t)j);
        if (!candidate(&c, l, j))
            continue;
        double w = exp((l - max) / temperature);
        if (w == 0)
            continue;
        cum += w;
        last = j;
        if (u < cum)
            return j;
    }
    /* Rounding left u at the very top: the last candidate of weight > 0. */
    return last;
}

/* SPDX-License-Identifier: MIT */
/* attention.c — scaled dot-product attention, softmax(q kᵀ/√E + mask) v.
 *
 * A composite of public ops (batched matmul with transposes, add, softmax,
 * where, mul), so its gradient and the gradient of that gradient come from
 * their rules. The batch dimensions are folded into one so that the two
 * products are single ag_matmul_t calls on 3-D operands. Where some
 * position is blocked (by the causal flag or a −inf in the mask) the
 * softmax is taken over the open positions only, with tape constants built
 * here, so that a fully blocked row gives zeros rather than NaN. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

#define OP "scaled_dot_product_attention"

static int64_t prod(int n, const int64_t *s)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= s[i];
    return p;
}

static bool shapes_ok(ag_tensor *q, ag_tensor *k, ag_tensor *v, ag_tensor *mask, bool causal)
{
    char sq[160], sk[160], sv[160], sm[160];
    ag_format_shape(q->ndim, q->shape, sq, sizeof sq);
    ag_format_shape(k->ndim, k->shape, sk, sizeof sk);
    ag_format_shape(v->ndim, v->shape, sv, sizeof sv);
    if (mask && causal) {
        ag_error_set(AG_ERR_VALUE, OP ": both a mask %s and causal given; pass one",
                     ag_format_shape(mask->ndim, mask->shape, sm, sizeof sm));
        return false;
    }
    if (q->ndim < 2 || k->ndim != q->ndim || v->ndim != q->ndim) {
        ag_error_set(AG_ERR_SHAPE,
                     OP ": q %s, k %s and v %s must have one rank of at least 2 "
                     "(..., L, E), (..., S, E), (..., S, Ev)",
                     sq, sk, sv);
        return false;
    }
    int r = q->ndim - 2;
    for (int i = 0; i < r; i++)
        if (k->shape[i] != q->shape[i] || v->shape[i] != q->shape[i]) {
            ag_error_set(AG_ERR_SHAPE, OP ": batch dimensions of q %s, k %s and v %s differ", sq,
                         sk, sv);
            return false;
        }
    if (k->shape[r + 1] != q->shape[r + 1]) {
        ag_error_set(AG_ERR_SHAPE,
                     OP ": q %s and k %s differ in the embedding size E (%lld vs %lld)", sq, sk,
                     (long long)q->shape[r + 1], (long long)k->shape[r + 1]);
        return false;
    }
    if (v->shape[r] != k->shape[r]) {
        ag_error_set(AG_ERR_SHAPE, OP ": k %s and v %s differ in the key count S (%lld vs %lld)",
                     sk, sv, (long long)k->shape[r], (long long)v->shape[r]);
        return false;
    }
    if (mask) {
        /* The mask may only broadcast up to the scores' shape (..., L, S). */
        int64_t s[AG_MAX_DIMS];
        memcpy(s, q->shape, (size_t)r * sizeof(int64_t));
        s[r] = q->shape[r];
        s[r + 1] = k->shape[r];
        bool ok = mask->ndim <= q->ndim;
        for (int i = 0; ok && i < mask->ndim; i++) {
            int64_t d = mask->shape[mask->ndim - 1 - i];
            ok = d == 1 || d == s[q->ndim - 1 - i];
        }
        if (!ok) {
            char ss[160];
            ag_error_set(AG_ERR_SHAPE, OP ": mask %s does not broadcast to the scores' shape %s",
                         ag_format_shape(mask->ndim, mask->shape, sm, sizeof sm),
                         ag_format_shape(q->ndim, s, ss, sizeof ss));
            return false;
        }
    }
    return true;
}

/* Whether every score is finite (then only the causal flag blocks). */
static bool all_finite(const ag_tensor *s)
{
    size_t n = ag_numel(s);
    if (s->dtype == AG_F32) {
        const float *x = ag_data((ag_tensor *)s);
        float acc = 0.0f;
        for (size_t i = 0; i < n; i++)
            acc += x[i] * 0.0f; /* inf·0 and NaN·0 are NaN: one test at the end */
        return acc == 0.0f;
    }
    const double *x = ag_data((ag_tensor *)s);
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += x[i] * 0.0;
    return acc == 0.0;
}

/* The causal softmax of finite scores s (B, L, S) as two ops, softmax(s +
 * bias) with bias (L, S) a tape constant of 0 where key j <= query i and
 * -1e30 elsewhere, instead of the seven of the general path below: the
 * step of a small GPT spends a tenth of its time here otherwise. The sum
 * of a finite score and -1e30 stays finite (no -inf reaches anomaly mode)
 * and its exponential after the row's maximum is subtracted is exactly 0,
 * so blocked weights and their gradients are exactly 0 as in the general
 * path; every row keeps key 0 open, so none is fully blocked. */
static ag_tensor *causal_softmax(ag_tensor *s, int64_t L, int64_t S)
{
    ag_tensor *bias = ag_tape_tensor(s->dtype, 2, (int64_t[]){L, S});
    if (!bias)
        return NULL;
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < S; j++)
            ag_store(bias, (size_t)(i * S + j), j > i ? -1e30 : 0.0);
    return ag_softmax(ag_add(s, bias), -1);
}

/* Softmax along the last axis of s (B, L, S) over the open positions: those
 * not −inf in s and, when causal, with key j ≤ query i (PyTorch's tril of
 * ones(L, S), aligned at the top left). With nothing blocked it is
 * ag_softmax. Otherwise, with `open` the 0/1 constant of open positions and
 * m the largest open score of a row (0 when none is open),
 *     p = open·e^(where(open, s, 0) − m) / (Σ_S open·e^(…) + [row all blocked]),
 * so no −inf enters an op (anomaly mode would flag the causal mask
 * otherwise), blocked weights are exactly 0 with zero gradients, and a fully
 * blocked row gives 0/1 = 0 instead of 0/0. */
static ag_tensor *masked_softmax(ag_tensor *s, bool causal)
{
    if (!s)
        return NULL;
    int64_t B = s->shape[0], L = s->shape[1], S = s->shape[2];
    if (S == 0)
        return s; /* no key: an empty weight matrix, and the product gives zeros */
    if (causal && all_finite(s))
        return causal_softmax(s, L, S);
    ag_tensor *open = ag_tape_tensor(s->dtype, 3, (int64_t[]){B, L, S});
    ag_tensor *m = ag_tape_tensor(s->dtype, 3, (int64_t[]){B, L, 1});
    ag_tensor *closed_row = ag_tape_tensor(s->dtype, 3, (int64_t[]){B, L, 1});
    if (!open || !m || !closed_row)
        return NULL;
    bool any_blocked = false;
    for (int64_t row = 0; row < B * L; row++) {
        int64_t i = row % L;
        bool row_open = false;
        double max = 0.0;
        for (int64_t j = 0; j < S; j++) {
            size_t at = (size_t)(row * S + j);
            double x = ag_load(s, at);
            bool o = x != -INFINITY && !(causal && j > i); /* NaN stays open, to be seen */
            ag_store(open, at, o ? 1.0 : 0.0);
            any_blocked |= !o;
            if (o && isfinite(x) && (!row_open || x > max))
                max = x;
            row_open |= o;
        }
        ag_store(m, (size_t)row, max);
        ag_store(closed_row, (size_t)row, row_open ? 0.0 : 1.0);
    }
    if (!any_blocked)
        return ag_softmax(s, -1);
    ag_tensor *e = ag_mul(ag_exp(ag_sub(ag_where(open, s, ag_const_scalar(s->dtype, 0.0)), m)),
                          open);
    return ag_div(e, ag_add(ag_sum_axis(e, -1, true), closed_row));
}

ag_tensor *ag_scaled_dot_product_attention(ag_tensor *q, ag_tensor *k, ag_tensor *v,
                                           ag_tensor *mask, bool causal)
{
    ag_tensor *in[4] = {q, k, v, mask};
    if (!ag_check_inputs(OP, mask ? 4 : 3, in) || !shapes_ok(q, k, v, mask, causal))
        return NULL;
    int n = q->ndim, r = n - 2;
    int64_t B = prod(r, q->shape), L = q->shape[r], S = k->shape[r], E = q->shape[r + 1],
            Ev = v->shape[r + 1];
    ag_tensor *q3 = ag_reshape(q, 3, (int64_t[]){B, L, E});
    ag_tensor *k3 = ag_reshape(k, 3, (int64_t[]){B, S, E});
    ag_tensor *v3 = ag_reshape(v, 3, (int64_t[]){B, S, Ev});
    /* With E = 0 every score is 0; scale 1 keeps it 0 rather than 0·∞. */
    double scale = E > 0 ? 1.0 / sqrt((double)E) : 1.0;
    ag_tensor *s = ag_mul_scalar(ag_matmul_t(q3, false, k3, true), scale);
    if (mask) {
        int64_t full[AG_MAX_DIMS];
        memcpy(full, q->shape, (size_t)r * sizeof(int64_t));
        full[r] = L;
        full[r + 1] = S;
        s = ag_reshape(ag_add(ag_reshape(s, n, full), mask), 3, (int64_t[]){B, L, S});
    }
    ag_tensor *o = ag_matmul_t(masked_softmax(s, causal), false, v3, false);
    int64_t out[AG_MAX_DIMS];
    memcpy(out, q->shape, (size_t)r * sizeof(int64_t));
    out[r] = L;
    out[r + 1] = Ev;
    return ag_reshape(o, n, out);
}

/* ---- registry entry, checked through its parts ---- */

/* Blocks some positions of the sample's mask: key j < query i, and the
 * whole last row when there are two or more, so that the sweep crosses
 * −inf entries and a fully blocked row; causal runs beside it. */
static ag_tensor *attention_example(ag_tensor *const *in)
{
    ag_tensor *q = in[0], *k = in[1];
    if (!ag_check_inputs(OP, 4, in))
        return NULL;
    int r = q->ndim - 2;
    if (r < 0 || k->ndim != q->ndim)
        return ag_scaled_dot_product_attention(in[0], in[1], in[2], in[3], false);
    int64_t L = q->shape[r], S = k->shape[r];
    ag_tensor *block = ag_tape_tensor(q->dtype, 2, (int64_t[]){L, S});
    if (!block)
        return NULL;
    for (int64_t i = 0; i < L; i++)
        for (int64_t j = 0; j < S; j++)
            ag_store(block, (size_t)(i * S + j), j < i || (L > 1 && i == L - 1) ? -INFINITY : 0.0);
    ag_tensor *masked = ag_scaled_dot_product_attention(in[0], in[1], in[2],
                                                        ag_add(in[3], block), false);
    return ag_add(masked, ag_scaled_dot_product_attention(in[0], in[1], in[2], NULL, true));
}

/* q (..., L, E), k (..., S, E), v (..., S, Ev) with 0 to 2 batch
 * dimensions, and a mask of (L, S), (1, S), (L, 1) or the full (..., L, S). */
static void sample_attention(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    int r = (int)(ag_rng_next(rng) % 3);
    int64_t L = 1 + (int64_t)(ag_rng_next(rng) % 4), S = 1 + (int64_t)(ag_rng_next(rng) % 4),
            E = 1 + (int64_t)(ag_rng_next(rng) % 4), Ev = 1 + (int64_t)(ag_rng_next(rng) % 4);
    for (int i = 0; i < r; i++) {
        int64_t b = 1 + (int64_t)(ag_rng_next(rng) % 3);
        shape[0][i] = shape[1][i] = shape[2][i] = shape[3][i] = b;
    }
    ndim[0] = ndim[1] = ndim[2] = r + 2;
    shape[0][r] = L, shape[0][r + 1] = E;
    shape[1][r] = S, shape[1][r + 1] = E;
    shape[2][r] = S, shape[2][r + 1] = Ev;
    switch (ag_rng_next(rng) % 4) {
    case 0: ndim[3] = 2, shape[3][0] = L, shape[3][1] = S; break;
    case 1: ndim[3] = 2, shape[3][0] = 1, shape[3][1] = S; break;
    case 2: ndim[3] = 2, shape[3][0] = L, shape[3][1] = 1; break;
    default: ndim[3] = r + 2, shape[3][r] = L, shape[3][r + 1] = S; break;
    }
}

static ag_op OP_ATTENTION = {.def = {
        .name = "scaled_dot_product_attention",
        .n_inputs = 4,
        .example = attention_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_attention,
    }};

void ag_ops_register_attention(void) { ag_op_register_builtin(&OP_ATTENTION); }

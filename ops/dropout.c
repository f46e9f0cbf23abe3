/* SPDX-License-Identifier: MIT */
/* dropout.c — F.dropout: inverted dropout, a composite of a Bernoulli mask
 * and a product.
 *
 * y = x · m with m = bernoulli(1 − p) / (1 − p), a constant of the tape
 * (no gradient), so dx = g · m through mul's rule and double backward
 * works as for any product. The scaled mask is made as PyTorch's CPU
 * kernel makes it (the 0/1 mask divided by 1 − p, then multiplied into
 * x), so a kept element is x · (1/(1 − p)) rounded in x's dtype. */
#include "ops_internal.h"

ag_tensor *ag_dropout(ag_tensor *x, double p, bool training, ag_rng *rng)
{
    if (!ag_check_inputs("dropout", 1, &x))
        return NULL;
    if (!(p >= 0 && p <= 1)) {
        char s[160];
        ag_error_set(AG_ERR_VALUE, "dropout: p = %g for x of shape %s; a drop probability is in [0, 1]",
                     p, ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    /* As PyTorch: x itself when nothing is dropped. */
    if (!training || p == 0 || x->numel == 0)
        return x;
    if (p == 1)
        return ag_mul_scalar(x, 0.0); /* PyTorch's x * 0: zeros, with a zero gradient */
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "dropout: rng is NULL while training (seed one with ag_rng_seed)");
        return NULL;
    }
    /* The keep probability in f64 whatever x's dtype, so that a seed drops
     * the same elements of an f32 and an f64 tensor. */
    ag_tensor *keep = ag_tape_tensor(AG_F64, x->ndim, x->shape);
    if (!keep)
        return NULL;
    for (size_t i = 0; i < keep->numel; i++)
        ((double *)keep->data)[i] = 1.0 - p;
    ag_tensor *mask = ag_bernoulli(keep, rng);
    ag_tensor *m = mask ? ag_tape_tensor((ag_dtype)x->dtype, x->ndim, x->shape) : NULL;
    if (!m)
        return NULL;
    /* The 0/1 mask divided by 1 − p in x's dtype, as PyTorch's div_. */
    for (size_t i = 0; i < m->numel; i++) {
        double kept = ((const double *)mask->data)[i];
        if (x->dtype == AG_F32)
            ((float *)m->data)[i] = (float)kept / (float)(1.0 - p);
        else
            ((double *)m->data)[i] = kept / (1.0 - p);
    }
    return ag_mul(x, m);
}

/* The sweep compares finite differences of the example evaluated many
 * times, so every evaluation must drop the same elements: the generator
 * is seeded afresh, with one fixed seed, on each call (a stream shared
 * across calls would draw a new mask each time). The f32 run draws the
 * same mask, as the keep probability is taken in f64. */
static ag_tensor *dropout_example(ag_tensor *const *in)
{
    ag_rng rng;
    ag_rng_seed(&rng, 0xd20u);
    return ag_dropout(in[0], 0.25, true, &rng);
}

static ag_op OP_DROPOUT = {.def = {
        .name = "dropout",
        .n_inputs = 1,
        .example = dropout_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE,
    }};

void ag_ops_register_dropout(void)
{
    ag_op_register_builtin(&OP_DROPOUT);
}

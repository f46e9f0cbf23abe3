/* SPDX-License-Identifier: MIT */
/* transformer.c — embeddings, multi-head self-attention and a pre-LN
 * Transformer block on the named parameter store.
 *
 * Names and layouts are those of PyTorch's nn.Embedding,
 * nn.MultiheadAttention(batch_first=True) and
 * nn.TransformerEncoderLayer(norm_first=True), so a state_dict moves both
 * ways. Everything is built from public ops; the heads are split with one
 * permute of the packed q|k|v projection (and merged with one more), so
 * the three projections stay a single GEMM and the heads cost two copies
 * of an activation, not six. */
#include "models_internal.h"
#include "op.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static bool heads_divide(const char *op, int64_t width, int64_t heads)
{
    if (heads >= 1 && width % heads == 0)
        return true;
    ag_error_set(AG_ERR_VALUE, "%s: embed_dim %lld is not divisible by num_heads %lld", op,
                 (long long)width, (long long)heads);
    return false;
}

static ag_tensor *labelled(ag_tensor *y, const char *name)
{
    if (y)
        ag_set_label(y, name);
    return y;
}

/* The names of `layer`'s tensors, each "<layer>.<suffix>", all free in p;
 * false with AG_ERR_VALUE naming the layer otherwise. Checked before
 * anything is added, so a refused init leaves no half-built layer. */
static bool names_free(const char *op, const ag_params *p, const char *layer, int n,
                       const char *const *suffixes)
{
    char full[128];
    for (int i = 0; i < n; i++) {
        if (!ag_layer_name(op, full, sizeof full, layer, suffixes[i]))
            return false;
        if (ag_layer_name_taken(p, full)) {
            ag_error_set(AG_ERR_VALUE, "%s: layer '%.100s' exists already ('%s')", op, layer,
                         full);
            return false;
        }
    }
    return true;
}

/* Adds "<layer>.<what>" = t (freed by ag_params_add on failure). */
static bool add(const char *op, ag_params *p, const char *layer, const char *what, ag_tensor *t)
{
    char full[128];
    if (!ag_layer_name(op, full, sizeof full, layer, what)) {
        ag_tensor_free(t);
        return false;
    }
    return ag_params_add(p, full, t) != NULL;
}

/* nn.Linear's default init (kaiming_uniform with a = √5, and its bias
 * rule): weight (out, in) and bias (out) both U(±1/√in). */
static bool torch_linear(const char *op, ag_params *p, const char *layer, int64_t in, int64_t out,
                         bool bias, ag_dtype dtype, ag_rng *rng)
{
    double a = 1.0 / sqrt((double)in);
    if (!add(op, p, layer, "weight", ag_rand_uniform(dtype, 2, (int64_t[]){out, in}, -a, a, rng)))
        return false;
    return !bias || add(op, p, layer, "bias", ag_rand_uniform(dtype, 1, &out, -a, a, rng));
}

/* x (..., in) · Wᵀ (+ b) for W (out, in): one affine_t (or matmul_t)
 * node on x folded to (M, in), so no transpose of W is ever copied. */
static ag_tensor *linear_nd(const char *op, ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    if (!x || !W)
        return NULL;
    int n = ag_ndim(x);
    if (n < 1 || ag_ndim(W) != 2 || ag_dim(x, -1) != ag_dim(W, 1) ||
        (b && (ag_ndim(b) != 1 || ag_dim(b, 0) != ag_dim(W, 0)))) {
        char sx[160], sw[160], sb[160] = "none";
        if (b)
            ag_format_shape(ag_ndim(b), ag_shape(b), sb, sizeof sb);
        ag_error_set(AG_ERR_SHAPE, "%s: x %s and weight %s (bias %s) do not fit x (..., in), "
                                   "weight (out, in), bias (out)",
                     op, ag_format_shape(n, ag_shape(x), sx, sizeof sx),
                     ag_format_shape(ag_ndim(W), ag_shape(W), sw, sizeof sw), sb);
        return NULL;
    }
    int64_t in = ag_dim(W, 1), out = ag_dim(W, 0);
    int64_t rows = in ? (int64_t)ag_numel(x) / in : 0;
    if (in == 0) { /* no columns to count the rows by */
        rows = 1;
        for (int i = 0; i + 1 < n; i++)
            rows *= ag_dim(x, i);
    }
    ag_tensor *x2 = n == 2 ? x : ag_reshape(x, 2, (int64_t[]){rows, in});
    ag_tensor *y = b ? ag_affine_t(x2, W, b) : ag_matmul_t(x2, false, W, true);
    if (!y || n == 2)
        return y;
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, ag_shape(x), (size_t)n * sizeof(int64_t));
    shape[n - 1] = out;
    return ag_reshape(y, n, shape);
}

/* ---- embeddings and tied weights ---- */

/* ag_check_inputs for an i64 tensor (that one wants floats): not NULL,
 * keeping an earlier error (a failed sub-expression is reported once),
 * and not stale. */
static bool ids_ok(const char *op, const ag_tensor *ids)
{
    if (!ids) {
        if (ag_last_status() == AG_OK)
            ag_error_set(AG_ERR_NULL, "%s: ids is NULL", op);
        return false;
    }
    if (!ag_tensor_live(ids)) {
        ag_error_set(AG_ERR_STALE, "%s: ids were freed or their tape was reset", op);
        return false;
    }
    return true;
}

bool ag_embedding_init(ag_params *p, const char *name, int64_t num_embeddings, int64_t dim,
                       ag_dtype dtype, ag_rng *rng)
{
    const char *op = "embedding_init";
    if (!p || !name || !rng) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, !p ? "params" : !name ? "name" : "rng");
        return false;
    }
    if (!ag_layer_positive(op, "num_embeddings", num_embeddings) ||
        !ag_layer_positive(op, "dim", dim) || !ag_layer_float_dtype(op, dtype) ||
        !names_free(op, p, name, 1, (const char *[]){"weight"}))
        return false;
    return add(op, p, name, "weight",
               ag_rand_normal(dtype, 2, (int64_t[]){num_embeddings, dim}, 0.0, 1.0, rng));
}

ag_tensor *ag_embedding_layer(const ag_params *p, const char *name, ag_tensor *ids)
{
    const char *op = "embedding_layer";
    char w[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return NULL;
    }
    if (!ids_ok(op, ids) || !ag_layer_name(op, w, sizeof w, name, "weight"))
        return NULL;
    ag_tensor *weight = ag_params_get(p, w);
    return weight ? labelled(ag_embedding(ids, weight), name) : NULL;
}

ag_tensor *ag_linear_tied(const ag_params *p, const char *weight_name, const char *bias_name,
                          ag_tensor *x)
{
    const char *op = "linear_tied";
    if (!p || !weight_name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "weight_name" : "params");
        return NULL;
    }
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    ag_tensor *W = ag_params_get(p, weight_name);
    ag_tensor *b = W && bias_name ? ag_params_get(p, bias_name) : NULL;
    if (!W || (bias_name && !b))
        return NULL;
    return labelled(linear_nd(op, x, W, b), weight_name);
}

/* ---- multi-head attention ---- */

static const char *const mha_suffixes[4] = {"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                            "out_proj.bias"};

bool ag_mha_init(ag_params *p, const char *name, int64_t embed_dim, int64_t num_heads,
                 ag_dtype dtype, ag_rng *rng)
{
    const char *op = "mha_init";
    if (!p || !name || !rng) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, !p ? "params" : !name ? "name" : "rng");
        return false;
    }
    if (!ag_layer_positive(op, "embed_dim", embed_dim) ||
        !ag_layer_positive(op, "num_heads", num_heads) || !heads_divide(op, embed_dim, num_heads) ||
        !ag_layer_float_dtype(op, dtype) || !names_free(op, p, name, 4, mha_suffixes))
        return false;
    int64_t E = embed_dim, E3 = 3 * embed_dim;
    double a = 1.0 / sqrt((double)E); /* out_proj is an nn.Linear(E, E) */
    return add(op, p, name, mha_suffixes[0],
               ag_init_tensor(dtype, 2, (int64_t[]){E3, E}, AG_INIT_XAVIER_UNIFORM, rng)) &&
           add(op, p, name, mha_suffixes[1], ag_zeros(dtype, 1, &E3)) &&
           add(op, p, name, mha_suffixes[2],
               ag_rand_uniform(dtype, 2, (int64_t[]){E, E}, -a, a, rng)) &&
           add(op, p, name, mha_suffixes[3], ag_zeros(dtype, 1, &E));
}

/* softmax(q kᵀ/√D + mask) v; with dropout in training, the weights are
 * dropped before the product, as nn.MultiheadAttention does, which needs
 * them spelled out (scaled_dot_product_attention has no dropout). */
static ag_tensor *attend(ag_tensor *q, ag_tensor *k, ag_tensor *v, ag_tensor *mask, bool causal,
                         double drop, bool training, ag_rng *rng)
{
    if (!training || drop == 0.0)
        return ag_scaled_dot_product_attention(q, k, v, mask, causal);
    ag_tensor *s = ag_mul_scalar(ag_matmul(q, ag_transpose(k, -1, -2)),
                                 1.0 / sqrt((double)ag_dim(q, -1)));
    if (mask)
        s = ag_add(s, mask);
    /* The future gets the dtype's lowest finite value, not −inf: its weight
     * is still exactly 0 (the diagonal is always open, so the row's maximum
     * is a real score), and anomaly mode, which flags any Inf, stays quiet.
     * ag_ge(s, s) is ones of s's shape (comparisons record nothing). */
    if (causal && s)
        s = ag_masked_fill(s, ag_triu(ag_ge(s, s), 1),
                           ag_tensor_dtype(s) == AG_F32 ? -FLT_MAX : -DBL_MAX);
    return ag_matmul(ag_dropout(ag_softmax(s, -1), drop, true, rng), v);
}

/* The layer's four tensors under `name`, in mha_suffixes' order, with the
 * width E; false with the lookup's error. */
static bool mha_tensors(const char *op, const ag_params *p, const char *name, ag_tensor **t,
                        int64_t *E)
{
    char full[128];
    for (int i = 0; i < 4; i++)
        if (!ag_layer_name(op, full, sizeof full, name, mha_suffixes[i]) ||
            !(t[i] = ag_params_get(p, full)))
            return false;
    if (ag_ndim(t[0]) != 2) {
        char s[160];
        ag_error_set(AG_ERR_SHAPE, "%s: %s.%s is %s; it must be (3E, E)", op, name,
                     mha_suffixes[0], ag_format_shape(ag_ndim(t[0]), ag_shape(t[0]), s, sizeof s));
        return false;
    }
    *E = ag_dim(t[0], 1);
    return true;
}

/* Whether x is (N, T, width), and `heads` divides the width. */
static bool x_ok(const char *op, ag_tensor *x, int64_t width, const char *what, int64_t heads)
{
    if (ag_ndim(x) != 3 || ag_dim(x, 2) != width) {
        char s[160];
        ag_error_set(AG_ERR_SHAPE, "%s: x %s must be (N, T, %s) with %s = %lld, the layer's width",
                     op, ag_format_shape(ag_ndim(x), ag_shape(x), s, sizeof s), what, what,
                     (long long)width);
        return false;
    }
    return heads_divide(op, width, heads);
}

/* Self-attention of x folded to (N·T, E), checked by the caller, with
 * tensors t (mha_tensors); the result is (N·T, E) too, so a block keeps
 * its activations 2-D and reshapes (which copy) only at its ends. */
static ag_tensor *mha(const ag_params *p, ag_tensor *const *t, ag_tensor *x2, int64_t N, int64_t T,
                      int64_t heads, ag_tensor *mask, bool causal, double drop)
{
    int64_t E = ag_dim(t[0], 1), D = E / heads;
    /* (N·T, 3E) → (N, T, 3, H, D) → (3, N, H, T, D): q, k, v by heads. */
    ag_tensor *qkv = ag_affine_t(x2, t[0], t[1]);
    qkv = ag_permute(ag_reshape(qkv, 5, (int64_t[]){N, T, 3, heads, D}), 5,
                     (int[]){2, 0, 3, 1, 4});
    ag_tensor *part[3];
    if (!qkv || ag_split(qkv, 1, 0, part, 3) != 3)
        return NULL;
    ag_tensor *m = mask;
    if (m && ag_ndim(m) == 3 && ag_dim(m, 0) == N * heads) /* PyTorch's (N·H, T, S) */
        m = ag_reshape(m, 4, (int64_t[]){N, heads, ag_dim(m, 1), ag_dim(m, 2)});
    ag_tensor *o = attend(part[0], part[1], part[2], m, causal, drop, ag_params_training(p),
                          ag_params_rng(p));
    /* (1, N, H, T, D) → (1, N, T, H, D) = (N·T, E), heads side by side. */
    o = ag_reshape(ag_permute(o, 5, (int[]){0, 1, 3, 2, 4}), 2, (int64_t[]){N * T, E});
    return ag_affine_t(o, t[2], t[3]);
}

ag_tensor *ag_mha_self(const ag_params *p, const char *name, ag_tensor *x, int64_t num_heads,
                       ag_tensor *mask, bool causal)
{
    const char *op = "mha_self";
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return NULL;
    }
    ag_tensor *t[4];
    int64_t E;
    if (!ag_check_inputs(op, mask ? 2 : 1, (ag_tensor *[]){x, mask}) ||
        !mha_tensors(op, p, name, t, &E) || !x_ok(op, x, E, "E", num_heads))
        return NULL;
    int64_t N = ag_dim(x, 0), T = ag_dim(x, 1);
    ag_tensor *y = mha(p, t, ag_reshape(x, 2, (int64_t[]){N * T, E}), N, T, num_heads, mask,
                       causal, 0.0);
    return labelled(ag_reshape(y, 3, (int64_t[]){N, T, E}), name);
}

/* ---- the pre-LN block ---- */

static const char *const block_suffixes[12] = {
    "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",  "linear1.weight",         "linear1.bias",
    "linear2.weight",           "linear2.bias",           "norm1.weight",
    "norm1.bias",               "norm2.weight",           "norm2.bias"};

bool ag_transformer_block_init(ag_params *p, const char *name, int64_t d_model, int64_t nhead,
                               int64_t dim_ff, ag_dtype dtype, ag_rng *rng)
{
    const char *op = "transformer_block_init";
    char sub[5][128];
    if (!p || !name || !rng) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, !p ? "params" : !name ? "name" : "rng");
        return false;
    }
    if (!ag_layer_positive(op, "d_model", d_model) || !ag_layer_positive(op, "nhead", nhead) ||
        !ag_layer_positive(op, "dim_feedforward", dim_ff) || !heads_divide(op, d_model, nhead) ||
        !ag_layer_float_dtype(op, dtype) || !names_free(op, p, name, 12, block_suffixes))
        return false;
    const char *parts[5] = {"self_attn", "linear1", "linear2", "norm1", "norm2"};
    for (int i = 0; i < 5; i++)
        if (!ag_layer_name(op, sub[i], sizeof sub[i], name, parts[i]))
            return false;
    /* In the order of PyTorch's state_dict. */
    return ag_mha_init(p, sub[0], d_model, nhead, dtype, rng) &&
           torch_linear(op, p, sub[1], d_model, dim_ff, true, dtype, rng) &&
           torch_linear(op, p, sub[2], dim_ff, d_model, true, dtype, rng) &&
           ag_layer_norm_init(p, sub[3], 1, &d_model, dtype) &&
           ag_layer_norm_init(p, sub[4], 1, &d_model, dtype);
}

/* The feed-forward half's linear layer "<sub>" on x (M, in). */
static ag_tensor *block_linear(const char *op, const ag_params *p, const char *sub, ag_tensor *x)
{
    char w[128], b[128];
    if (!ag_layer_name(op, w, sizeof w, sub, "weight") ||
        !ag_layer_name(op, b, sizeof b, sub, "bias"))
        return NULL;
    ag_tensor *W = ag_params_get(p, w), *B = W ? ag_params_get(p, b) : NULL;
    return B ? labelled(linear_nd(op, x, W, B), sub) : NULL;
}

ag_tensor *ag_transformer_block(const ag_params *p, const char *name, ag_tensor *x, int64_t nhead,
                                double dropout, bool causal)
{
    const char *op = "transformer_block";
    char sub[5][128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return NULL;
    }
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    if (!(dropout >= 0.0 && dropout <= 1.0)) {
        ag_error_set(AG_ERR_VALUE, "%s: dropout %g is outside [0, 1]", op, dropout);
        return NULL;
    }
    const char *parts[5] = {"self_attn", "linear1", "linear2", "norm1", "norm2"};
    for (int i = 0; i < 5; i++)
        if (!ag_layer_name(op, sub[i], sizeof sub[i], name, parts[i]))
            return NULL;
    /* x is checked before norm1 sees it, so a wrong x is reported as the
     * block's, with the shape it needs. */
    ag_tensor *t[4];
    int64_t E;
    if (!mha_tensors(op, p, sub[0], t, &E) || !x_ok(op, x, E, "d_model", nhead))
        return NULL;
    int64_t N = ag_dim(x, 0), T = ag_dim(x, 1);
    ag_tensor *x2 = ag_reshape(x, 2, (int64_t[]){N * T, E});
    ag_tensor *a = mha(p, t, ag_layer_norm_layer(p, sub[3], x2), N, T, nhead, NULL, causal,
                       dropout);
    ag_tensor *h = ag_add(x2, ag_dropout_layer(p, labelled(a, sub[0]), dropout));
    ag_tensor *f = ag_gelu(block_linear(op, p, sub[1], ag_layer_norm_layer(p, sub[4], h)));
    f = block_linear(op, p, sub[2], ag_dropout_layer(p, f, dropout));
    ag_tensor *y = ag_add(h, ag_dropout_layer(p, f, dropout));
    return labelled(ag_reshape(y, 3, (int64_t[]){N, T, E}), name);
}

/* SPDX-License-Identifier: MIT */
/* gpt.c — a small decoder-only language model (GPT) from the Transformer
 * layers: token and position embeddings, causal pre-LN blocks, a final
 * layer norm and a head, tied to the token embedding or not.
 *
 * The positions 0 .. T−1 are the first T rows of the position table, so
 * they are a slice of it rather than an embedding lookup of made-up ids:
 * the same values and gradient without an index tensor. */
#include "op.h"

#include <math.h>
#include <stdio.h>

static bool config_ok(const char *op, const ag_gpt_config *cfg)
{
    const struct {
        const char *what;
        int64_t n;
    } sizes[] = {{"vocab_size", cfg->vocab_size}, {"block_size", cfg->block_size},
                 {"d_model", cfg->d_model},       {"n_layer", cfg->n_layer},
                 {"n_head", cfg->n_head},         {"d_ff", cfg->d_ff}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].n < 1) {
            ag_error_set(AG_ERR_VALUE, "%s: config %s is %lld; it must be >= 1", op, sizes[i].what,
                         (long long)sizes[i].n);
            return false;
        }
    if (cfg->d_model % cfg->n_head) {
        ag_error_set(AG_ERR_VALUE, "%s: config d_model %lld is not divisible by n_head %lld", op,
                     (long long)cfg->d_model, (long long)cfg->n_head);
        return false;
    }
    if (!(cfg->dropout >= 0.0 && cfg->dropout < 1.0)) {
        ag_error_set(AG_ERR_VALUE, "%s: config dropout %g is outside [0, 1)", op, cfg->dropout);
        return false;
    }
    return true;
}

/* t *= a in place, on a leaf's values (nothing is recorded). */
static bool scale_values(ag_tensor *t, double a)
{
    if (!t)
        return false;
    size_t n = ag_numel(t);
    if (ag_tensor_dtype(t) == AG_F32) {
        float *v = ag_data(t);
        for (size_t i = 0; i < n; i++)
            v[i] = (float)(v[i] * a);
    } else {
        double *v = ag_data(t);
        for (size_t i = 0; i < n; i++)
            v[i] *= a;
    }
    return true;
}

ag_params *ag_gpt_new(const ag_gpt_config *cfg, ag_dtype dtype, uint64_t seed)
{
    const char *op = "gpt_new";
    if (!cfg) {
        ag_error_set(AG_ERR_NULL, "%s: cfg is NULL", op);
        return NULL;
    }
    if (!config_ok(op, cfg))
        return NULL;
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "%s: dtype %s; parameters are f32 or f64", op,
                     ag_dtype_str(dtype));
        return NULL;
    }
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    ag_params *p = ag_params_new();
    if (!p)
        return NULL;
    ag_params_seed(p, seed);
    bool ok = ag_embedding_init(p, "tok_emb", cfg->vocab_size, cfg->d_model, dtype, &rng) &&
              ag_embedding_init(p, "pos_emb", cfg->block_size, cfg->d_model, dtype, &rng);
    /* GPT-2's N(0, 0.02²) rather than nn.Embedding's N(0, 1): with the head
     * tied to tok_emb, unit-variance rows give logits of size √d and a first
     * loss of about 85 nats instead of ln V. */
    ok = ok && scale_values(ag_params_get(p, "tok_emb.weight"), 0.02) &&
         scale_values(ag_params_get(p, "pos_emb.weight"), 0.02);
    for (int64_t i = 0; ok && i < cfg->n_layer; i++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%lld", (long long)i);
        ok = ag_transformer_block_init(p, name, cfg->d_model, cfg->n_head, cfg->d_ff, dtype, &rng);
    }
    ok = ok && ag_layer_norm_init(p, "ln_f", 1, &cfg->d_model, dtype);
    if (ok && !cfg->tie_weights) { /* nn.Linear(d_model, vocab, bias=False) */
        double a = 1.0 / sqrt((double)cfg->d_model);
        ok = ag_params_add(p, "head.weight",
                           ag_rand_uniform(dtype, 2, (int64_t[]){cfg->vocab_size, cfg->d_model},
                                           -a, a, &rng)) != NULL;
    }
    if (!ok) {
        ag_params_free(p);
        return NULL;
    }
    return p;
}

ag_tensor *ag_gpt_logits(const ag_params *p, const ag_gpt_config *cfg, ag_tensor *ids)
{
    const char *op = "gpt_logits";
    if (!p || !cfg) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "cfg" : "params");
        return NULL;
    }
    if (!ids) {
        if (ag_last_status() == AG_OK)
            ag_error_set(AG_ERR_NULL, "%s: ids is NULL", op);
        return NULL;
    }
    if (!ag_tensor_live(ids)) {
        ag_error_set(AG_ERR_STALE, "%s: ids were freed or their tape was reset", op);
        return NULL;
    }
    if (!config_ok(op, cfg))
        return NULL;
    char s[160];
    if (ag_tensor_dtype(ids) != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "%s: ids are %s; token ids are i64", op,
                     ag_dtype_str(ag_tensor_dtype(ids)));
        return NULL;
    }
    if (ag_ndim(ids) != 2) {
        ag_error_set(AG_ERR_SHAPE, "%s: ids %s must be (N, T)", op,
                     ag_format_shape(ag_ndim(ids), ag_shape(ids), s, sizeof s));
        return NULL;
    }
    int64_t T = ag_dim(ids, 1);
    if (T > cfg->block_size) {
        ag_error_set(AG_ERR_SHAPE, "%s: ids %s has T = %lld positions, above block_size %lld", op,
                     ag_format_shape(2, ag_shape(ids), s, sizeof s), (long long)T,
                     (long long)cfg->block_size);
        return NULL;
    }
    ag_tensor *pos_table = ag_params_get(p, "pos_emb.weight");
    if (!pos_table)
        return NULL;
    if (ag_ndim(pos_table) != 2 || ag_dim(pos_table, 0) < T) {
        ag_error_set(AG_ERR_SHAPE, "%s: pos_emb.weight %s has fewer than T = %lld rows", op,
                     ag_format_shape(ag_ndim(pos_table), ag_shape(pos_table), s, sizeof s),
                     (long long)T);
        return NULL;
    }
    ag_tensor *h = ag_add(ag_embedding_layer(p, "tok_emb", ids), ag_slice(pos_table, 0, 0, T, 1));
    h = ag_dropout_layer(p, h, cfg->dropout);
    for (int64_t i = 0; h && i < cfg->n_layer; i++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%lld", (long long)i);
        h = ag_transformer_block(p, name, h, cfg->n_head, cfg->dropout, true);
    }
    h = ag_layer_norm_layer(p, "ln_f", h);
    return ag_linear_tied(p, cfg->tie_weights ? "tok_emb.weight" : "head.weight", NULL, h);
}

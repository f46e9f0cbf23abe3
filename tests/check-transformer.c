/* SPDX-License-Identifier: MIT */
/* check-transformer.c — embeddings, tied heads, multi-head attention, the
 * pre-LN Transformer block and the small GPT (models/transformer.c,
 * models/gpt.c).
 *
 * Known values come from PyTorch (tests/transformer_reference.py writes
 * tests/transformer_reference.h): nn.MultiheadAttention,
 * nn.TransformerEncoderLayer(norm_first=True, gelu) and a GPT made of nn
 * modules under the same names, with their weights loaded here by name.
 * Gradients of whole models are also checked against central differences
 * (ag_gradcheck_model); the tied weight's gradient against the sum of its
 * two uses; dropout against evaluation mode and its limits (p = 1 drops
 * every branch, so a block is the identity). */
#include "harness.h"
#include "transformer_reference.h"

#include <math.h>
#include <string.h>

/* Writes every reference tensor into the store's tensor of that name,
 * which must exist with that shape: the layer's names and layouts are
 * PyTorch's. */
static void load(ag_params *p, const tr_ref *refs, int n)
{
    ck_assert_int_eq((int)ag_params_count(p), n);
    for (int i = 0; i < n; i++) {
        ag_tensor *t = ag_params_get(p, refs[i].name);
        ck_assert_msg(t != NULL, "no tensor '%s' in the store", refs[i].name);
        ck_assert_shape(t, refs[i].ndim, refs[i].shape);
        memcpy(ag_data(t), refs[i].data, ag_numel(t) * sizeof(double));
    }
}

static void check_grads(const ag_params *p, const tr_ref *refs, int n)
{
    for (int i = 0; i < n; i++) {
        ag_tensor *g = ag_grad_of(ag_params_get(p, refs[i].name));
        ck_assert_msg(g != NULL, "no gradient for '%s'", refs[i].name);
        const double *got = ag_data_const(g);
        for (size_t j = 0; j < ag_numel(g); j++)
            ck_assert_msg(h_near(got[j], refs[i].data[j], 1e-12, 1e-13),
                          "grad of %s [%zu]: %.17g vs %.17g", refs[i].name, j, got[j],
                          refs[i].data[j]);
    }
}

static void check_values(const ag_tensor *t, size_t n, const double *want, const char *what)
{
    ck_assert_uint_eq(ag_numel(t), n);
    const double *got = ag_data_const(t);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(h_near(got[i], want[i], 1e-12, 1e-13), "%s [%zu]: %.17g vs %.17g", what, i,
                      got[i], want[i]);
}

/* ---- PyTorch's values ---- */

typedef struct attn_case {
    const tr_ref *params, *grads;
    int n;
    const double *x, *r, *y, *gx, *mask;
    bool causal;
} attn_case;

START_TEST(test_mha_reference)
{
    const attn_case cases[3] = {
        {tr_mha_params, tr_mha_grads, TR_MHA_N_PARAMS, tr_mha_x, tr_mha_r, tr_mha_y, tr_mha_gx,
         NULL, false},
        {tr_mha_causal_params, tr_mha_causal_grads, TR_MHA_CAUSAL_N_PARAMS, tr_mha_causal_x,
         tr_mha_causal_r, tr_mha_causal_y, tr_mha_causal_gx, NULL, true},
        {tr_mha_mask3_params, tr_mha_mask3_grads, TR_MHA_MASK3_N_PARAMS, tr_mha_mask3_x,
         tr_mha_mask3_r, tr_mha_mask3_y, tr_mha_mask3_gx, tr_mha_mask3_mask, false},
    };
    const attn_case *c = &cases[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_params *p = ag_params_new();
    ck_assert(ag_mha_init(p, "attn", 6, 2, AG_F64, &rng));
    load(p, c->params, c->n);
    ag_tensor *x = h_param(AG_F64, 3, H_SHAPE(2, 4, 6), c->x);
    ag_tensor *r = h_arr(AG_F64, 3, H_SHAPE(2, 4, 6), c->r);
    ag_tensor *mask = c->mask ? h_arr(AG_F64, 3, H_SHAPE(4, 4, 4), c->mask) : NULL;
    ag_tensor *y = ag_mha_self(p, "attn", x, 2, mask, c->causal);
    ck_assert_tensor(y);
    ck_assert_shape(y, 3, H_SHAPE(2, 4, 6));
    ck_assert_str_eq(ag_label(y), "attn");
    check_values(y, 48, c->y, "mha output");
    ck_assert(ag_backward(ag_sum(ag_mul(y, r))));
    check_grads(p, c->grads, c->n);
    check_values(ag_grad_of(x), 48, c->gx, "grad of x");
    ag_params_free(p);
}
END_TEST

START_TEST(test_block_reference)
{
    bool causal = _i == 1;
    const tr_ref *params = causal ? tr_block_causal_params : tr_block_params;
    const tr_ref *grads = causal ? tr_block_causal_grads : tr_block_grads;
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_params *p = ag_params_new();
    ck_assert(ag_transformer_block_init(p, "blk", 6, 2, 10, AG_F64, &rng));
    load(p, params, TR_BLOCK_N_PARAMS);
    ag_tensor *x = h_param(AG_F64, 3, H_SHAPE(2, 5, 6), causal ? tr_block_causal_x : tr_block_x);
    ag_tensor *r = h_arr(AG_F64, 3, H_SHAPE(2, 5, 6), causal ? tr_block_causal_r : tr_block_r);
    /* Training mode, dropout 0: as PyTorch's module with dropout=0.0. */
    ag_tensor *y = ag_transformer_block(p, "blk", x, 2, 0.0, causal);
    ck_assert_tensor(y);
    ck_assert_shape(y, 3, H_SHAPE(2, 5, 6));
    check_values(y, 60, causal ? tr_block_causal_y : tr_block_y, "block output");
    ck_assert(ag_backward(ag_sum(ag_mul(y, r))));
    check_grads(p, grads, TR_BLOCK_N_PARAMS);
    check_values(ag_grad_of(x), 60, causal ? tr_block_causal_gx : tr_block_gx, "grad of x");
    ag_params_free(p);
}
END_TEST

static ag_gpt_config tiny_gpt(bool tied)
{
    return (ag_gpt_config){.vocab_size = TR_GPT_V, .block_size = TR_GPT_B, .d_model = TR_GPT_d,
                           .n_layer = TR_GPT_L, .n_head = TR_GPT_H, .d_ff = TR_GPT_ff,
                           .dropout = 0.0, .tie_weights = tied};
}

/* Mean cross-entropy of the logits against targets, both (N, T). */
static ag_tensor *lm_loss(ag_tensor *logits, ag_tensor *targets)
{
    int64_t rows = ag_dim(logits, 0) * ag_dim(logits, 1), V = ag_dim(logits, 2);
    return ag_cross_entropy(ag_reshape(logits, 2, (int64_t[]){rows, V}),
                            ag_reshape(targets, 1, &rows), AG_REDUCE_MEAN);
}

START_TEST(test_gpt_reference)
{
    bool tied = _i == 1;
    ag_gpt_config cfg = tiny_gpt(tied);
    ag_params *p = ag_gpt_new(&cfg, AG_F64, 3);
    ck_assert_ptr_nonnull(p);
    const tr_ref *params = tied ? tr_gpt_tied_params : tr_gpt_untied_params;
    const tr_ref *grads = tied ? tr_gpt_tied_grads : tr_gpt_untied_grads;
    int n = tied ? TR_GPT_TIED_N_PARAMS : TR_GPT_UNTIED_N_PARAMS;
    load(p, params, n);
    ag_tensor *ids = h_keep(ag_from_array(AG_I64, 2, H_SHAPE(2, 4),
                                          tied ? tr_gpt_tied_ids : tr_gpt_untied_ids));
    ag_tensor *targets = h_keep(ag_from_array(
        AG_I64, 2, H_SHAPE(2, 4), tied ? tr_gpt_tied_targets : tr_gpt_untied_targets));
    ag_tensor *logits = ag_gpt_logits(p, &cfg, ids);
    ck_assert_tensor(logits);
    ck_assert_shape(logits, 3, H_SHAPE(2, 4, TR_GPT_V));
    check_values(logits, 2 * 4 * TR_GPT_V, tied ? tr_gpt_tied_logits : tr_gpt_untied_logits,
                 "logits");
    ag_tensor *loss = lm_loss(logits, targets);
    ck_assert_f64(ag_item(loss), (tied ? tr_gpt_tied_loss : tr_gpt_untied_loss)[0]);
    ck_assert(ag_backward(loss));
    check_grads(p, grads, n);
    ag_params_free(p);
}
END_TEST

/* The same GPT in f32: PyTorch's f64 values to f32's precision. */
START_TEST(test_gpt_reference_f32)
{
    ag_gpt_config cfg = tiny_gpt(false);
    ag_params *p = ag_gpt_new(&cfg, AG_F32, 3);
    ck_assert_int_eq((int)ag_params_count(p), TR_GPT_UNTIED_N_PARAMS);
    for (int i = 0; i < TR_GPT_UNTIED_N_PARAMS; i++) {
        ag_tensor *t = ag_params_get(p, tr_gpt_untied_params[i].name);
        ck_assert_ptr_nonnull(t);
        for (size_t j = 0; j < ag_numel(t); j++)
            ag_set_flat(t, j, tr_gpt_untied_params[i].data[j]);
    }
    ag_tensor *ids = h_keep(ag_from_array(AG_I64, 2, H_SHAPE(2, 4), tr_gpt_untied_ids));
    ag_tensor *logits = ag_gpt_logits(p, &cfg, ids);
    ck_assert_tensor(logits);
    ck_assert_int_eq(ag_tensor_dtype(logits), AG_F32);
    for (size_t i = 0; i < ag_numel(logits); i++)
        ck_assert_near(ag_get_flat(logits, i), tr_gpt_untied_logits[i], 1e-4, 1e-4);
    ag_params_free(p);
}
END_TEST

/* ---- embeddings and the tied head ---- */

START_TEST(test_embedding_layer)
{
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    ag_params *p = ag_params_new();
    ck_assert(ag_embedding_init(p, "emb", 5, 3, AG_F64, &rng));
    ag_tensor *w = ag_params_get(p, "emb.weight");
    ck_assert_shape(w, 2, H_SHAPE(5, 3));
    ck_assert(ag_requires_grad(w));
    ag_tensor *ids = h_arr(AG_I64, 2, H_SHAPE(2, 2), H_VALS(4, 0, 4, 2));
    ag_tensor *e = ag_embedding_layer(p, "emb", ids);
    ck_assert_shape(e, 3, H_SHAPE(2, 2, 3));
    ck_assert_str_eq(ag_label(e), "emb");
    for (int k = 0; k < 3; k++) {
        ck_assert_f64(ag_get_flat(e, (size_t)k), ag_get_flat(w, (size_t)(12 + k)));
        ck_assert_f64(ag_get_flat(e, (size_t)(9 + k)), ag_get_flat(w, (size_t)(6 + k)));
    }
    /* Row 4 is picked twice: its gradient is 2 per element, rows 1, 3 none. */
    ck_assert(ag_backward(ag_sum(e)));
    const double want[15] = {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2};
    check_values(ag_grad_of(w), 15, want, "embedding grad");
    ag_params_free(p);

    /* nn.Embedding's N(0, 1): the mean and variance of many draws. */
    p = ag_params_new();
    ck_assert(ag_embedding_init(p, "big", 400, 100, AG_F64, &rng));
    w = ag_params_get(p, "big.weight");
    double s = 0, s2 = 0;
    for (size_t i = 0; i < 40000; i++) {
        double v = ag_get_flat(w, i);
        s += v, s2 += v * v;
    }
    ck_assert(fabs(s / 40000) < 0.03);
    ck_assert(fabs(s2 / 40000 - 1) < 0.05);
    ag_params_free(p);
}
END_TEST

/* The tied head x·Eᵀ and an embedding lookup share E: E's gradient must
 * be the sum of both uses, which is checked element by element against
 * the two uses computed on separate copies of E and against central
 * differences. */
static ag_tensor *tied_loss(const ag_params *p, void *ctx)
{
    ag_tensor *ids = ctx;
    ag_tensor *h = ag_tanh(ag_embedding_layer(p, "emb", ids)); /* (2, 3, 4) */
    return ag_sum(ag_square(ag_linear_tied(p, "emb.weight", "bias", h)));
}

START_TEST(test_linear_tied)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_params *p = ag_params_new();
    ck_assert(ag_embedding_init(p, "emb", 5, 4, AG_F64, &rng));
    ck_assert(ag_params_add(p, "bias", ag_rand_normal(AG_F64, 1, H_SHAPE(5), 0, 1, &rng)));
    ag_tensor *ids = h_arr(AG_I64, 2, H_SHAPE(2, 3), H_VALS(0, 3, 3, 4, 1, 0));
    ag_tensor *y = ag_linear_tied(p, "emb.weight", "bias", ag_embedding_layer(p, "emb", ids));
    ck_assert_shape(y, 3, H_SHAPE(2, 3, 5));
    /* y[n, t, v] = Σ_k E[id, k] E[v, k] + b[v], from the definition. */
    ag_tensor *E = ag_params_get(p, "emb.weight"), *b = ag_params_get(p, "bias");
    for (int i = 0; i < 6; i++)
        for (int v = 0; v < 5; v++) {
            int64_t id = (int64_t)ag_get_flat(ids, (size_t)i);
            double want = ag_get_flat(b, (size_t)v);
            for (int k = 0; k < 4; k++)
                want += ag_get_flat(E, (size_t)(id * 4 + k)) * ag_get_flat(E, (size_t)(v * 4 + k));
            ck_assert_f64(ag_get_flat(y, (size_t)(i * 5 + v)), want);
        }
    ag_tape_reset(NULL);

    /* The two uses on separate copies: "emb.weight" for the lookup and a
     * clone "head" for the head; the shared gradient is their sum. */
    ag_params *two = ag_params_new();
    ck_assert(ag_params_add(two, "emb.weight", ag_clone(E)));
    ck_assert(ag_params_add(two, "head", ag_clone(E)));
    ck_assert(ag_params_add(two, "bias", ag_clone(b)));
    ag_tensor *h = ag_tanh(ag_embedding_layer(two, "emb", ids));
    ck_assert(ag_backward(ag_sum(ag_square(ag_linear_tied(two, "head", "bias", h)))));
    ck_assert(ag_backward(tied_loss(p, ids)));
    const ag_tensor *g1 = ag_grad_of(ag_params_get(two, "emb.weight"));
    const ag_tensor *g2 = ag_grad_of(ag_params_get(two, "head"));
    const ag_tensor *g = ag_grad_of(E);
    bool both_used = false;
    for (size_t i = 0; i < 20; i++) {
        ck_assert_f64(ag_get_flat(g, i), ag_get_flat(g1, i) + ag_get_flat(g2, i));
        both_used |= ag_get_flat(g1, i) != 0 && ag_get_flat(g2, i) != 0;
    }
    ck_assert(both_used);
    ag_model_gradcheck_report rep;
    ag_gradcheck_opts o = h_gradcheck_opts();
    ck_assert_msg(ag_gradcheck_model(tied_loss, ids, p, &o, &rep), "%s", ag_last_error());
    ag_params_free(two);
    ag_params_free(p);
}
END_TEST

/* ---- inits ---- */

START_TEST(test_inits)
{
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    ag_params *p = ag_params_new();
    ck_assert(ag_transformer_block_init(p, "b", 64, 4, 256, AG_F32, &rng));
    const char *names[12] = {"b.self_attn.in_proj_weight", "b.self_attn.in_proj_bias",
                             "b.self_attn.out_proj.weight", "b.self_attn.out_proj.bias",
                             "b.linear1.weight", "b.linear1.bias", "b.linear2.weight",
                             "b.linear2.bias", "b.norm1.weight", "b.norm1.bias",
                             "b.norm2.weight", "b.norm2.bias"};
    ck_assert_uint_eq(ag_params_count(p), 12);
    for (size_t i = 0; i < 12; i++) {
        const char *name;
        ag_params_at(p, i, &name);
        ck_assert_str_eq(name, names[i]);
    }
    /* Bounds: xavier √(6/(64 + 192)), Linear 1/√in; biases of the
     * attention zero, of the Linears within 1/√in; norms ones, zeros. */
    struct {
        const char *name;
        double bound;
    } uni[] = {{"b.self_attn.in_proj_weight", sqrt(6.0 / 256)},
               {"b.self_attn.out_proj.weight", 1 / 8.0},
               {"b.linear1.weight", 1 / 8.0},
               {"b.linear1.bias", 1 / 8.0},
               {"b.linear2.weight", 1 / 16.0},
               {"b.linear2.bias", 1 / 16.0}};
    for (size_t u = 0; u < H_COUNT(uni); u++) {
        ag_tensor *t = ag_params_get(p, uni[u].name);
        double mx = 0;
        for (size_t i = 0; i < ag_numel(t); i++)
            mx = fmax(mx, fabs(ag_get_flat(t, i)));
        ck_assert_msg(mx <= uni[u].bound && mx > 0.9 * uni[u].bound, "%s: max |w| %g, bound %g",
                      uni[u].name, mx, uni[u].bound);
    }
    for (size_t i = 0; i < 192; i++)
        ck_assert(ag_get_flat(ag_params_get(p, "b.self_attn.in_proj_bias"), i) == 0);
    for (size_t i = 0; i < 64; i++) {
        ck_assert(ag_get_flat(ag_params_get(p, "b.self_attn.out_proj.bias"), i) == 0);
        ck_assert(ag_get_flat(ag_params_get(p, "b.norm2.weight"), i) == 1);
    }
    /* A taken name refuses the whole block and adds nothing. */
    ck_assert(!ag_transformer_block_init(p, "b", 64, 4, 256, AG_F32, &rng));
    ck_assert_error(AG_ERR_VALUE, "exists already");
    ck_assert_uint_eq(ag_params_count(p), 12);
    ag_error_clear();
    ag_params_free(p);

    /* The GPT's names, tied and untied. */
    for (int tied = 0; tied < 2; tied++) {
        ag_gpt_config cfg = tiny_gpt(tied);
        p = ag_gpt_new(&cfg, AG_F32, 1);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(ag_params_count(p), 2 + 12 * TR_GPT_L + 2 + (tied ? 0 : 1));
        ck_assert_ptr_nonnull(ag_params_get(p, "blocks.1.linear2.bias"));
        ck_assert_ptr_nonnull(ag_params_get(p, "ln_f.bias"));
        ck_assert_ptr_nonnull(ag_params_get(p, "pos_emb.weight"));
        ck_assert(tied ? ag_params_get(p, "head.weight") == NULL
                       : ag_params_get(p, "head.weight") != NULL);
        ag_error_clear();
        ag_params_free(p);
    }
}
END_TEST

/* ---- gradients against central differences ---- */

typedef struct block_ctx {
    ag_tensor *x; /* f64 */
    bool causal;
} block_ctx;

static ag_tensor *block_loss(const ag_params *p, void *ctx)
{
    block_ctx *c = ctx;
    ag_tensor *y = ag_transformer_block(p, "blk", c->x, 2, 0.0, c->causal);
    return ag_sum(ag_mul(y, ag_sin(y)));
}

START_TEST(test_block_gradcheck)
{
    ag_rng rng;
    ag_rng_seed(&rng, 21);
    ag_params *p = ag_params_new();
    ck_assert(ag_transformer_block_init(p, "blk", 4, 2, 6, AG_F32, &rng));
    /* Random norms, so their gradients are not at the init's symmetric point. */
    for (size_t i = 0; i < ag_params_count(p); i++) {
        ag_tensor *t = ag_params_at(p, i, NULL);
        for (size_t j = 0; j < ag_numel(t); j++)
            ag_set_flat(t, j, ag_get_flat(t, j) + 0.2 * ag_rng_normal(&rng));
    }
    block_ctx c = {h_rand(AG_F64, 3, H_SHAPE(2, 3, 4), -1, 1, &rng), _i == 1};
    ag_model_gradcheck_report rep;
    ag_gradcheck_opts o = h_gradcheck_opts();
    bool ok = ag_gradcheck_model(block_loss, &c, p, &o, &rep);
    ck_assert_msg(ok, "%s: worst %s[%zu] %g vs %g", ag_last_error(), rep.worst_param,
                  rep.worst_index, rep.analytic, rep.numeric);
    ck_assert_uint_eq(rep.n_checked, ag_params_numel(p));
    ag_params_free(p);
}
END_TEST

typedef struct gpt_ctx {
    ag_gpt_config cfg;
    ag_tensor *ids, *targets;
} gpt_ctx;

static ag_tensor *gpt_loss(const ag_params *p, void *ctx)
{
    gpt_ctx *c = ctx;
    return lm_loss(ag_gpt_logits(p, &c->cfg, c->ids), c->targets);
}

START_TEST(test_gpt_gradcheck)
{
    gpt_ctx c = {.cfg = {.vocab_size = 5, .block_size = 4, .d_model = 4, .n_layer = 1,
                         .n_head = 2, .d_ff = 6, .tie_weights = _i == 1}};
    ag_params *p = ag_gpt_new(&c.cfg, AG_F64, 9);
    c.ids = h_arr(AG_I64, 2, H_SHAPE(2, 3), H_VALS(1, 4, 0, 2, 2, 3));
    c.targets = h_arr(AG_I64, 2, H_SHAPE(2, 3), H_VALS(4, 0, 2, 2, 3, 1));
    ag_model_gradcheck_report rep;
    ag_gradcheck_opts o = h_gradcheck_opts();
    bool ok = ag_gradcheck_model(gpt_loss, &c, p, &o, &rep);
    ck_assert_msg(ok, "%s: worst %s[%zu] %g vs %g", ag_last_error(), rep.worst_param,
                  rep.worst_index, rep.analytic, rep.numeric);
    ag_params_free(p);
}
END_TEST

/* ---- dropout ---- */

START_TEST(test_dropout_modes)
{
    ag_rng rng;
    ag_rng_seed(&rng, 31);
    ag_params *p = ag_params_new();
    ck_assert(ag_transformer_block_init(p, "blk", 8, 2, 16, AG_F64, &rng));
    ag_tensor *x = h_rand(AG_F64, 3, H_SHAPE(2, 5, 8), -1, 1, &rng);
    ag_tensor *ref = h_keep(ag_clone(ag_transformer_block(p, "blk", x, 2, 0.0, true)));

    /* Evaluation: every dropout is the identity (PyTorch's module.eval()). */
    ag_params_set_training(p, false);
    ag_tensor *y = ag_transformer_block(p, "blk", x, 2, 0.5, true);
    for (size_t i = 0; i < 80; i++)
        ck_assert(ag_get_flat(y, i) == ag_get_flat(ref, i));

    /* Training: it differs, and one seed gives one result. */
    ag_params_set_training(p, true);
    ag_params_seed(p, 4);
    ag_tensor *a = ag_transformer_block(p, "blk", x, 2, 0.5, true);
    ag_params_seed(p, 4);
    ag_tensor *b = ag_transformer_block(p, "blk", x, 2, 0.5, true);
    bool differs = false;
    for (size_t i = 0; i < 80; i++) {
        differs |= ag_get_flat(a, i) != ag_get_flat(ref, i);
        ck_assert(ag_get_flat(a, i) == ag_get_flat(b, i));
    }
    ck_assert(differs);
    ck_assert(ag_backward(ag_sum(a)));

    /* A dropout so small that every draw keeps (u < 1 − 1e-300 = 1) and
     * scales by 1: the block must equal the one without dropout, which
     * checks the spelled-out attention that dropout on its weights takes,
     * causal and not. */
    for (int causal = 0; causal < 2; causal++) {
        ag_tensor *want = ag_transformer_block(p, "blk", x, 2, 0.0, causal);
        ag_tensor *got = ag_transformer_block(p, "blk", x, 2, 1e-300, causal);
        for (size_t i = 0; i < 80; i++)
            ck_assert_f64(ag_get_flat(got, i), ag_get_flat(want, i));
    }

    /* p = 1 in training: each branch's output is dropped whole (the
     * attention's weights, its output, the hidden layer and the feed-
     * forward output), so the block is x itself, as in PyTorch. */
    y = ag_transformer_block(p, "blk", x, 2, 1.0, true);
    for (size_t i = 0; i < 80; i++)
        ck_assert(ag_get_flat(y, i) == ag_get_flat(x, i));

    /* The GPT: evaluation ignores its dropout. */
    ag_gpt_config cfg = tiny_gpt(true);
    ag_params *g = ag_gpt_new(&cfg, AG_F64, 2);
    ag_tensor *ids = h_arr(AG_I64, 2, H_SHAPE(1, 5), H_VALS(0, 1, 2, 3, 4));
    ag_tensor *l0 = h_keep(ag_clone(ag_gpt_logits(g, &cfg, ids)));
    cfg.dropout = 0.3;
    ag_params_set_training(g, false);
    ag_tensor *l1 = ag_gpt_logits(g, &cfg, ids);
    ag_params_set_training(g, true);
    ag_tensor *l2 = ag_gpt_logits(g, &cfg, ids);
    differs = false;
    for (size_t i = 0; i < ag_numel(l0); i++) {
        ck_assert(ag_get_flat(l1, i) == ag_get_flat(l0, i));
        differs |= ag_get_flat(l2, i) != ag_get_flat(l0, i);
    }
    ck_assert(differs);
    ag_params_free(g);
    ag_params_free(p);
}
END_TEST

/* ---- causality ---- */

/* Changing the last token changes only the last position's logits. */
START_TEST(test_gpt_causal)
{
    ag_gpt_config cfg = tiny_gpt(false);
    ag_params *p = ag_gpt_new(&cfg, AG_F64, 4);
    ag_tensor *a = ag_gpt_logits(p, &cfg, h_arr(AG_I64, 2, H_SHAPE(1, 5), H_VALS(1, 2, 3, 4, 5)));
    ag_tensor *b = ag_gpt_logits(p, &cfg, h_arr(AG_I64, 2, H_SHAPE(1, 5), H_VALS(1, 2, 3, 4, 0)));
    for (size_t i = 0; i < 4 * TR_GPT_V; i++)
        ck_assert_f64(ag_get_flat(a, i), ag_get_flat(b, i));
    bool differs = false;
    for (size_t i = 4 * TR_GPT_V; i < 5 * TR_GPT_V; i++)
        differs |= ag_get_flat(a, i) != ag_get_flat(b, i);
    ck_assert(differs);
    /* A shorter sequence gives the same first positions. */
    ag_tensor *c = ag_gpt_logits(p, &cfg, h_arr(AG_I64, 2, H_SHAPE(1, 3), H_VALS(1, 2, 3)));
    for (size_t i = 0; i < 3 * TR_GPT_V; i++)
        ck_assert_f64(ag_get_flat(c, i), ag_get_flat(a, i));
    ag_params_free(p);
}
END_TEST

/* ---- edge cases ---- */

/* An empty batch gives an empty result of the right shape. */
START_TEST(test_zero_size)
{
    ag_gpt_config cfg = tiny_gpt(true);
    ag_params *p = ag_gpt_new(&cfg, AG_F64, 8);
    ag_tensor *x0 = h_param(AG_F64, 3, H_SHAPE(0, 3, TR_GPT_d), NULL);
    ag_tensor *y = ag_transformer_block(p, "blocks.0", x0, TR_GPT_H, 0.0, true);
    ck_assert_tensor(y);
    ck_assert_shape(y, 3, H_SHAPE(0, 3, TR_GPT_d));
    y = ag_mha_self(p, "blocks.1.self_attn", x0, TR_GPT_H, NULL, false);
    ck_assert_shape(y, 3, H_SHAPE(0, 3, TR_GPT_d));
    ag_tensor *l = ag_gpt_logits(p, &cfg, h_arr(AG_I64, 2, H_SHAPE(0, 4), NULL));
    ck_assert_tensor(l);
    ck_assert_shape(l, 3, H_SHAPE(0, 4, TR_GPT_V));
    ck_assert(ag_backward(ag_sum(l)));
    ag_params_free(p);
}
END_TEST

/* Dropout on the attention weights spells the causal softmax out with a
 * −inf fill; anomaly mode must not take it for a NaN or Inf. */
START_TEST(test_dropout_anomaly)
{
    ag_gpt_config cfg = tiny_gpt(false);
    cfg.dropout = 0.2;
    ag_params *p = ag_gpt_new(&cfg, AG_F64, 8);
    ag_anomaly_mode_set(true);
    ag_tensor *ids = h_arr(AG_I64, 2, H_SHAPE(2, 5), H_VALS(0, 1, 2, 3, 4, 4, 3, 2, 1, 0));
    ag_tensor *l = ag_gpt_logits(p, &cfg, ids);
    ck_assert_tensor(l);
    ck_assert(ag_backward(ag_sum(ag_square(l))));
    ck_assert_ok();
    ag_anomaly_mode_set(false);
    ag_params_free(p);
}
END_TEST

/* ---- bad input ---- */

START_TEST(test_errors)
{
    ag_rng rng;
    ag_rng_seed(&rng, 41);
    ag_params *p = ag_params_new();
    ck_assert(!ag_mha_init(p, "a", 10, 3, AG_F64, &rng));
    ck_assert_error(AG_ERR_VALUE, "mha_init: embed_dim 10 is not divisible by num_heads 3");
    ag_error_clear();
    ck_assert(!ag_transformer_block_init(p, "b", 10, 4, 8, AG_F64, &rng));
    ck_assert_error(AG_ERR_VALUE, "transformer_block_init: embed_dim 10 is not divisible by "
                                  "num_heads 4");
    ag_error_clear();
    ck_assert(!ag_mha_init(p, "a", 0, 1, AG_F64, &rng));
    ck_assert_error(AG_ERR_VALUE, "embed_dim is 0");
    ag_error_clear();
    ck_assert(!ag_embedding_init(p, "e", 3, 2, AG_I64, &rng));
    ck_assert_error(AG_ERR_DTYPE, "embedding_init");
    ag_error_clear();
    ck_assert_uint_eq(ag_params_count(p), 0);

    ck_assert(ag_mha_init(p, "a", 6, 2, AG_F64, &rng));
    ck_assert(ag_transformer_block_init(p, "b", 6, 2, 8, AG_F64, &rng));
    ag_tensor *x = h_rand(AG_F64, 3, H_SHAPE(2, 3, 6), -1, 1, &rng);
    ck_assert_ptr_null(ag_mha_self(p, "a", x, 4, NULL, false));
    ck_assert_error(AG_ERR_VALUE, "mha_self: embed_dim 6 is not divisible by num_heads 4");
    ag_error_clear();
    ck_assert_ptr_null(ag_transformer_block(p, "b", x, 5, 0.0, false));
    ck_assert_error(AG_ERR_VALUE, "transformer_block: embed_dim 6 is not divisible by num_heads 5");
    ag_error_clear();
    ag_tensor *x2 = h_rand(AG_F64, 2, H_SHAPE(3, 6), -1, 1, &rng);
    ck_assert_ptr_null(ag_mha_self(p, "a", x2, 2, NULL, false));
    ck_assert_error(AG_ERR_SHAPE, "mha_self: x (3,6) must be (N, T, E) with E = 6");
    ag_error_clear();
    ag_tensor *x5 = h_rand(AG_F64, 3, H_SHAPE(2, 3, 5), -1, 1, &rng);
    ck_assert_ptr_null(ag_mha_self(p, "a", x5, 1, NULL, false));
    ck_assert_error(AG_ERR_SHAPE, "x (2,3,5) must be (N, T, E) with E = 6");
    ag_error_clear();
    ck_assert_ptr_null(ag_transformer_block(p, "b", x5, 2, 0.0, true));
    ck_assert_error(AG_ERR_SHAPE, "transformer_block: x (2,3,5) must be (N, T, d_model)");
    ag_error_clear();
    ck_assert_ptr_null(ag_transformer_block(p, "b", x, 2, 1.5, true));
    ck_assert_error(AG_ERR_VALUE, "dropout 1.5");
    ag_error_clear();
    ck_assert_ptr_null(ag_mha_self(p, "nothing", x, 2, NULL, false));
    ck_assert_error(AG_ERR_NOTFOUND, "nothing.in_proj_weight");
    ag_error_clear();
    ag_tensor *mask = h_arr(AG_F64, 2, H_SHAPE(3, 3), NULL);
    ck_assert_ptr_null(ag_mha_self(p, "a", x, 2, mask, true));
    ck_assert_error(AG_ERR_VALUE, "both a mask");
    ag_error_clear();
    ag_tensor *wide = h_rand(AG_F64, 2, H_SHAPE(3, 5), -1, 1, &rng);
    ck_assert_ptr_null(ag_linear_tied(p, "a.out_proj.weight", NULL, wide));
    ck_assert_error(AG_ERR_SHAPE, "linear_tied: x (3,5) and weight (6,6)");
    ag_error_clear();
    ck_assert_ptr_null(ag_linear_tied(p, "a.out_proj.weight", "no.bias", x));
    ck_assert_error(AG_ERR_NOTFOUND, "no.bias");
    ag_error_clear();
    ag_params_free(p);

    /* The GPT's config and ids. */
    ag_gpt_config cfg = tiny_gpt(true);
    ag_gpt_config bad = cfg;
    bad.n_head = 4;
    ck_assert_ptr_null(ag_gpt_new(&bad, AG_F64, 1));
    ck_assert_error(AG_ERR_VALUE, "gpt_new: config d_model 6 is not divisible by n_head 4");
    ag_error_clear();
    bad = cfg;
    bad.vocab_size = 0;
    ck_assert_ptr_null(ag_gpt_new(&bad, AG_F64, 1));
    ck_assert_error(AG_ERR_VALUE, "config vocab_size is 0");
    ag_error_clear();
    bad = cfg;
    bad.dropout = 1.0;
    ck_assert_ptr_null(ag_gpt_new(&bad, AG_F64, 1));
    ck_assert_error(AG_ERR_VALUE, "config dropout 1");
    ag_error_clear();
    ck_assert_ptr_null(ag_gpt_new(&cfg, AG_I64, 1));
    ck_assert_error(AG_ERR_DTYPE, "gpt_new");
    ag_error_clear();

    p = ag_gpt_new(&cfg, AG_F64, 1);
    ag_tensor *long_ids = h_arr(AG_I64, 2, H_SHAPE(1, 6), H_VALS(0, 1, 2, 3, 4, 5));
    ck_assert_ptr_null(ag_gpt_logits(p, &cfg, long_ids));
    ck_assert_error(AG_ERR_SHAPE, "gpt_logits: ids (1,6) has T = 6 positions, above block_size 5");
    ag_error_clear();
    ag_tensor *oov = h_arr(AG_I64, 2, H_SHAPE(1, 3), H_VALS(0, 7, 1));
    ck_assert_ptr_null(ag_gpt_logits(p, &cfg, oov));
    ck_assert_error(AG_ERR_VALUE, "7");
    ag_error_clear();
    ag_tensor *neg = h_arr(AG_I64, 2, H_SHAPE(1, 3), H_VALS(0, -2, 1));
    ck_assert_ptr_null(ag_gpt_logits(p, &cfg, neg));
    ck_assert_error(AG_ERR_VALUE, "-2");
    ag_error_clear();
    ck_assert_ptr_null(ag_gpt_logits(p, &cfg, h_arr(AG_F64, 2, H_SHAPE(1, 3), NULL)));
    ck_assert_error(AG_ERR_DTYPE, "gpt_logits: ids are f64");
    ag_error_clear();
    ck_assert_ptr_null(ag_gpt_logits(p, &cfg, h_arr(AG_I64, 1, H_SHAPE(3), NULL)));
    ck_assert_error(AG_ERR_SHAPE, "gpt_logits: ids (3) must be (N, T)");
    ag_error_clear();
    bad = cfg;
    bad.n_head = 5;
    ck_assert_ptr_null(ag_gpt_logits(p, &bad, oov));
    ck_assert_error(AG_ERR_VALUE, "gpt_logits: config d_model 6 is not divisible by n_head 5");
    ag_error_clear();
    ag_params_free(p);
}
END_TEST

/* ---- size ---- */

/* A deep GPT whose forward graph has over 10⁵ nodes (fewer under
 * valgrind): the sweep is iterative, so depth costs no stack. Every
 * gradient is finite, and a small step against it lowers the loss. */
START_TEST(test_deep_stack)
{
    bool small = h_valgrind();
    ag_gpt_config cfg = {.vocab_size = 11, .block_size = 8, .d_model = 8,
                         .n_layer = small ? 8 : 2000, .n_head = 2, .d_ff = 16,
                         .tie_weights = true};
    ag_params *p = ag_gpt_new(&cfg, AG_F64, 6);
    ck_assert_ptr_nonnull(p);
    gpt_ctx c = {.cfg = cfg};
    c.ids = h_arr(AG_I64, 2, H_SHAPE(2, 8), H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 4, 5));
    c.targets = h_arr(AG_I64, 2, H_SHAPE(2, 8), H_VALS(2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1, 2, 3, 4, 5, 6));
    ag_tape *tape = h_tape();
    ag_tape_use(tape);
    ag_tensor *loss = gpt_loss(p, &c);
    ck_assert_tensor(loss);
    double before = ag_item(loss);
    ck_assert(isfinite(before));
    ck_assert(ag_backward(loss));
    if (!small)
        ck_assert_uint_ge(ag_tape_size(tape), 100000);
    double norm2 = 0;
    for (size_t i = 0; i < ag_params_count(p); i++) {
        const double *g = ag_data_const(ag_grad_of(ag_params_at(p, i, NULL)));
        for (size_t j = 0; j < ag_numel(ag_params_at(p, i, NULL)); j++) {
            ck_assert(isfinite(g[j]));
            norm2 += g[j] * g[j];
        }
    }
    ck_assert(norm2 > 0);
    double step = 1e-4 / sqrt(norm2); /* a step of length 1e-4 lowers it by ~1e-4·‖g‖ */
    for (size_t i = 0; i < ag_params_count(p); i++) {
        ag_tensor *t = ag_params_at(p, i, NULL);
        double *w = ag_data(t);
        const double *g = ag_data_const(ag_grad_of(t));
        for (size_t j = 0; j < ag_numel(t); j++)
            w[j] -= step * g[j];
    }
    ag_tape_reset(tape);
    double after = ag_item(gpt_loss(p, &c));
    ck_assert_msg(after < before - 0.5e-4 * sqrt(norm2), "loss %.17g then %.17g, |g| %g", before,
                  after, sqrt(norm2));
    ag_tape_reset(tape);
    ag_params_free(p);
}
END_TEST

static Suite *transformer_suite(void)
{
    Suite *s = suite_create("transformer");
    TCase *tc = h_tcase(s, "pytorch", H_TIMEOUT);
    tcase_add_loop_test(tc, test_mha_reference, 0, 3);
    tcase_add_loop_test(tc, test_block_reference, 0, 2);
    tcase_add_loop_test(tc, test_gpt_reference, 0, 2);
    tcase_add_test(tc, test_gpt_reference_f32);
    tc = h_tcase(s, "layers", H_TIMEOUT);
    tcase_add_test(tc, test_embedding_layer);
    tcase_add_test(tc, test_linear_tied);
    tcase_add_test(tc, test_inits);
    tcase_add_test(tc, test_dropout_modes);
    tcase_add_test(tc, test_gpt_causal);
    tcase_add_test(tc, test_zero_size);
    tcase_add_test(tc, test_dropout_anomaly);
    tc = h_tcase(s, "gradients", H_TIMEOUT);
    tcase_add_loop_test(tc, test_block_gradcheck, 0, 2);
    tcase_add_loop_test(tc, test_gpt_gradcheck, 0, 2);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_errors);
    tc = h_tcase(s, "size", 300);
    tcase_add_test(tc, test_deep_stack);
    return s;
}

H_MAIN(transformer_suite)

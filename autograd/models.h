/* SPDX-License-Identifier: MIT */
/* models.h — models as expressions: named parameters, initialisation,
 * layers, optimizers, data sets, training and model files.
 *
 * Included at the end of autograd.h, and including it; nothing here knows a gradient formula: every
 * gradient comes from the tape. */
#ifndef AG_MODELS_H
#define AG_MODELS_H

#include "autograd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Parameters by name                                                  */
/* ------------------------------------------------------------------ */

/* A store of named leaf tensors ("fc1.weight"), kept in insertion order.
 * Optimizers, zeroing, counting, saving and loading iterate over it. */
typedef struct ag_params ag_params;

/* A new, empty store. Caller owns; free with ag_params_free. */
AG_API ag_params *ag_params_new(void);
/* Frees the store and every tensor it owns. NULL is a no-op. */
AG_API void ag_params_free(ag_params *p);
/* Adds leaf t under `name` (copied, 1 to 127 bytes); the store takes
 * ownership of t. Float tensors are marked requires_grad. Returns t, or
 * NULL with an error. On failure t is freed (AG_ERR_NULL, AG_ERR_NOMEM, or
 * AG_ERR_VALUE for a bad name or a name that is taken by another tensor),
 * with two exceptions, in which t is left alone: t is not a leaf
 * (AG_ERR_VALUE; intermediates belong to their tape), and t is already in
 * this store, under this or any other name (AG_ERR_VALUE naming the name it
 * has; it stays the store's, unchanged). A store holds a tensor once: to
 * hold its values twice, add an ag_clone. A tensor must not be in two
 * stores at once (each would free it); this is not detected. */
AG_API ag_tensor *ag_params_add(ag_params *p, const char *name, ag_tensor *t);
/* The tensor under `name`, or NULL (AG_ERR_NOTFOUND). Borrowed. */
AG_API ag_tensor *ag_params_get(const ag_params *p, const char *name);
/* The number of tensors, and the i-th in insertion order (with its name;
 * both borrowed; `name` may be NULL). For a NULL store: 0 and NULL with
 * AG_ERR_NULL; an i out of range is AG_ERR_VALUE. */
AG_API size_t ag_params_count(const ag_params *p);
/* The i-th tensor, and its name. */
AG_API ag_tensor *ag_params_at(const ag_params *p, size_t i, const char **name);
/* The total number of scalars in all tensors (0 and AG_ERR_NULL for NULL). */
AG_API size_t ag_params_numel(const ag_params *p);
/* Zeroes every tensor's gradient. A NULL store records AG_ERR_NULL. */
AG_API void ag_params_zero_grad(ag_params *p);
/* A deep copy (values, requires_grad, the training mode and the
 * generator's state). Caller owns. */
AG_API ag_params *ag_params_clone(const ag_params *p);
/* Training or evaluation mode, as PyTorch's module.train() and .eval():
 * the layers that behave differently read it from their store (dropout
 * drops only in training; batch norm uses the batch's statistics and
 * updates its running ones in training, the running ones in evaluation).
 * A new store is in training mode. Returns the previous mode (false with
 * AG_ERR_NULL for a NULL store). */
AG_API bool ag_params_set_training(ag_params *p, bool training);
/* Whether the store is in training mode (false with AG_ERR_NULL for NULL). */
AG_API bool ag_params_training(const ag_params *p);
/* The store's generator, which stochastic layers (dropout) draw from:
 * seeded with 0 when the store is made, reseeded by ag_params_seed.
 * Borrowed; NULL with AG_ERR_NULL for a NULL store. */
AG_API ag_rng *ag_params_rng(const ag_params *p);
/* Restarts the store's generator at `seed` (AG_ERR_NULL for a NULL store). */
AG_API void ag_params_seed(ag_params *p, uint64_t seed);

/* ------------------------------------------------------------------ */
/* Initialisation (seeded)                                             */
/* ------------------------------------------------------------------ */

typedef enum ag_init {
    AG_INIT_ZEROS = 0,
    AG_INIT_XAVIER_UNIFORM, /* U(±√(6/(fan_in+fan_out))) — Glorot & Bengio 2010 */
    AG_INIT_XAVIER_NORMAL,  /* N(0, 2/(fan_in+fan_out)) */
    AG_INIT_HE_UNIFORM,     /* U(±√(6/fan_in)) — He et al. 2015, for ReLU */
    AG_INIT_HE_NORMAL       /* N(0, 2/fan_in) */
} ag_init;

/* A new (fan_in, fan_out) leaf initialised by `init` from rng (rows are
 * inputs, so a layer computes x·W). */
AG_API ag_tensor *ag_init_matrix(ag_dtype dtype, int64_t fan_in, int64_t fan_out, ag_init init,
                          ag_rng *rng);
/* A new weight leaf of any shape of rank >= 2 initialised by `init` from
 * rng with PyTorch's fans: fan_in = shape[1]·r and fan_out = shape[0]·r,
 * r the product of shape[2:] (a conv weight's kernel area). AG_ERR_SHAPE
 * for a rank below 2 or a dimension below 1, AG_ERR_DTYPE for i64,
 * AG_ERR_NULL for a NULL shape (or rng, unless init is zeros). */
AG_API ag_tensor *ag_init_tensor(ag_dtype dtype, int ndim, const int64_t *shape, ag_init init,
                          ag_rng *rng);

/* ------------------------------------------------------------------ */
/* Layers and models                                                   */
/* ------------------------------------------------------------------ */

typedef enum ag_activation {
    AG_ACT_NONE = 0,
    AG_ACT_SIGMOID,
    AG_ACT_TANH,
    AG_ACT_RELU
} ag_activation;

/* act(x): one of the activations by enum. */
AG_API ag_tensor *ag_activate(ag_tensor *x, ag_activation act);

/* Adds "<name>.weight" (out, in) and "<name>.bias" (out) to p, as
 * PyTorch's nn.Linear(in, out) stores them, initialised by `init` (bias
 * zeros; the weight's numbers are ag_init_matrix(in, out)'s, transposed).
 * Returns false on error. */
AG_API bool ag_linear_init(ag_params *p, const char *name, int64_t in, int64_t out, ag_dtype dtype,
                    ag_init init, ag_rng *rng);
/* x·Wᵀ + b with "<name>.weight" (out, in) and "<name>.bias" from p; x is
 * (batch, in): PyTorch's nn.Linear. */
AG_API ag_tensor *ag_linear(const ag_params *p, const char *name, ag_tensor *x);

/* Convolution layers, as PyTorch's nn.Conv2d and nn.ConvTranspose2d: the
 * init adds "<name>.weight" — (out, in/groups, kh, kw) for conv2d,
 * (in, out/groups, kh, kw) for its transpose, PyTorch's layouts — drawn by
 * `init` with ag_init_tensor's fans, and, when `bias`, "<name>.bias" (out)
 * of zeros. False on error, adding nothing: sizes below 1, groups that do
 * not divide both channel counts (AG_ERR_VALUE), a name taken, a NULL rng
 * for a random init. The layer function runs ag_conv2d (or
 * ag_conv_transpose2d) with the store's tensors and `opts` (NULL: the
 * defaults) and labels the result `name`. */
AG_API bool ag_conv2d_init(ag_params *p, const char *name, int64_t in_channels, int64_t out_channels,
                    int64_t kh, int64_t kw, int64_t groups, bool bias, ag_dtype dtype, ag_init init,
                    ag_rng *rng);
AG_API ag_tensor *ag_conv2d_layer(const ag_params *p, const char *name, ag_tensor *x,
                           const ag_conv_opts *opts);
/* The transposed convolution's init: weight (in, out/groups, kh, kw). */
AG_API bool ag_conv_transpose2d_init(ag_params *p, const char *name, int64_t in_channels,
                              int64_t out_channels, int64_t kh, int64_t kw, int64_t groups,
                              bool bias, ag_dtype dtype, ag_init init, ag_rng *rng);
/* The transposed convolution layer (labelled `name`). */
AG_API ag_tensor *ag_conv_transpose2d_layer(const ag_params *p, const char *name, ag_tensor *x,
                                     const ag_conv_opts *opts);

/* Batch normalisation, as nn.BatchNorm1d/2d: the init adds "<name>.weight"
 * (ones), "<name>.bias" (zeros), and the state "<name>.running_mean"
 * (zeros), "<name>.running_var" (ones) and "<name>.num_batches_tracked"
 * (an i64 0), which do not require grad (optimizers skip them; model files
 * keep them). The layer normalises x (N, C) or (N, C, ...) with ag_batch_norm,
 * momentum 0.1 and eps 1e-5: in training mode (ag_params_training) with
 * the batch's statistics, updating the running ones and the count; in
 * evaluation mode with the running ones. Labelled `name`. */
AG_API bool ag_batch_norm_init(ag_params *p, const char *name, int64_t num_features, ag_dtype dtype);
AG_API ag_tensor *ag_batch_norm_layer(const ag_params *p, const char *name, ag_tensor *x);
/* Layer normalisation over the trailing dimensions of `shape` (ndim of
 * them), as nn.LayerNorm(shape): weight (ones) and bias (zeros) of that
 * shape; eps 1e-5. */
AG_API bool ag_layer_norm_init(ag_params *p, const char *name, int ndim, const int64_t *shape,
                        ag_dtype dtype);
AG_API ag_tensor *ag_layer_norm_layer(const ag_params *p, const char *name, ag_tensor *x);
/* Group normalisation, as nn.GroupNorm(groups, num_channels): weight and
 * bias (num_channels); the group count is the forward's argument. */
AG_API bool ag_group_norm_init(ag_params *p, const char *name, int64_t num_channels, ag_dtype dtype);
AG_API ag_tensor *ag_group_norm_layer(const ag_params *p, const char *name, ag_tensor *x,
                               int64_t groups);
/* Dropout with probability prob in training mode, drawing from the
 * store's generator (ag_params_rng); x itself in evaluation mode. */
AG_API ag_tensor *ag_dropout_layer(const ag_params *p, ag_tensor *x, double prob);

/* Layers in order, as PyTorch's nn.Sequential: each ag_seq_* call appends
 * one layer, named by its position as nn.Sequential names them ("0.weight",
 * "3.bias"; layers without parameters take a position too), so the same
 * stack's PyTorch state_dict loads by name (ag_safetensors_load). Weights
 * are drawn from the model's generator (seeded by ag_sequential_new) with
 * He uniform initialisation unless ag_sequential_set_init chose another
 * for the layers added after it; biases start at zero. Each ag_seq_* call
 * returns false on error and adds nothing. */
typedef struct ag_sequential ag_sequential;
/* An empty stack whose parameters will be of `dtype` (f32 or f64). Caller
 * owns; free with ag_sequential_free. */
AG_API ag_sequential *ag_sequential_new(ag_dtype dtype, uint64_t seed);
/* Frees the model and its store. NULL is a no-op. */
AG_API void ag_sequential_free(ag_sequential *s);
/* The model's store (borrowed): for optimizers, model files, train/eval mode. */
AG_API ag_params *ag_sequential_params(const ag_sequential *s);
/* The number of layers. */
AG_API int ag_sequential_len(const ag_sequential *s);
/* The initialisation of the layers added from now on. */
AG_API bool ag_sequential_set_init(ag_sequential *s, ag_init init);
/* nn.Conv2d(in, out, kernel) with opts (NULL: stride 1, no padding; change
 * what differs in a copy of ag_conv_defaults()); a square kernel. */
AG_API bool ag_seq_conv2d(ag_sequential *s, int64_t in_channels, int64_t out_channels, int64_t kernel,
                   const ag_conv_opts *opts);
/* nn.ConvTranspose2d(in, out, kernel) with opts. */
AG_API bool ag_seq_conv_transpose2d(ag_sequential *s, int64_t in_channels, int64_t out_channels,
                             int64_t kernel, const ag_conv_opts *opts);
/* nn.Linear(in, out). */
AG_API bool ag_seq_linear(ag_sequential *s, int64_t in_features, int64_t out_features);
/* An activation (nn.ReLU and others). */
AG_API bool ag_seq_activation(ag_sequential *s, ag_activation act);
/* nn.MaxPool2d(kernel, stride), no padding; stride 0 is the kernel. */
AG_API bool ag_seq_max_pool2d(ag_sequential *s, int64_t kernel, int64_t stride);
/* nn.AvgPool2d(kernel, stride), no padding; stride 0 is the kernel. */
AG_API bool ag_seq_avg_pool2d(ag_sequential *s, int64_t kernel, int64_t stride);
/* nn.BatchNorm2d(num_features) (or 1d for (N, C) input). */
AG_API bool ag_seq_batch_norm(ag_sequential *s, int64_t num_features);
/* nn.Dropout(p). */
AG_API bool ag_seq_dropout(ag_sequential *s, double p);
/* nn.Flatten(): (N, ...) to (N, rest). */
AG_API bool ag_seq_flatten(ag_sequential *s);
/* nn.Unflatten(1, shape): (N, k) to (N, shape...), ndim 1 to 7. */
AG_API bool ag_seq_unflatten(ag_sequential *s, int ndim, const int64_t *shape);
/* Runs the layers in order on x with the model's store. When a layer
 * fails the error names its position and kind before the op's message.
 * Outputs without a label of their layer's are labelled "<pos>.<kind>". */
AG_API ag_tensor *ag_sequential_forward(const ag_sequential *s, ag_tensor *x);
/* The same with another store holding the same names (a clone, or its f64
 * copy inside ag_gradcheck_model). */
AG_API ag_tensor *ag_sequential_apply(const ag_sequential *s, const ag_params *p, ag_tensor *x);

/* A multilayer perceptron: sizes[0] inputs, sizes[n-1] outputs, layers
 * "fc1", "fc2", ... with `act` between them and none after the last. */
typedef struct ag_mlp {
    ag_params *params;  /* owned */
    int n_layers;       /* n_sizes - 1 */
    int64_t sizes[16];
    ag_activation act;
    /* Layer l's "fc<l+1>.weight" and "fc<l+1>.bias", owned by params, kept
     * by ag_mlp_new so that the forward pass looks up no names. Loading a
     * model file or a checkpoint writes into these very tensors. A copy of
     * the struct given another store (a clone, say) is still correct: the
     * forward pass falls back to the names when params does not hold these
     * tensors where ag_mlp_new put them. */
    ag_tensor *weight[15], *bias[15];
} ag_mlp;

/* Builds the MLP's parameters (He init for ReLU, Xavier otherwise).
 * Caller owns; free with ag_mlp_free. */
AG_API ag_mlp *ag_mlp_new(int n_sizes, const int64_t *sizes, ag_activation act, ag_dtype dtype,
                   ag_rng *rng);
/* Frees the model and its store. NULL is a no-op. */
AG_API void ag_mlp_free(ag_mlp *m);
/* The logits (batch, sizes[n-1]) for x (batch, sizes[0]). */
AG_API ag_tensor *ag_mlp_forward(const ag_mlp *m, ag_tensor *x);

/* Binary logistic regression p(y=1|x) = σ(x·w + b): parameters "w" (d, 1)
 * and "b" (1). */
AG_API ag_params *ag_logreg_new(int64_t d, ag_dtype dtype);
/* The logits x·w + b, (batch, 1). */
AG_API ag_tensor *ag_logreg_logits(const ag_params *p, ag_tensor *x);

/* Multinomial (softmax) regression: "W" (d, k), "b" (k); logits x·W + b. */
AG_API ag_params *ag_softmax_regression_new(int64_t d, int64_t k, ag_dtype dtype);
/* The logits x W + b, (n, k). */
AG_API ag_tensor *ag_softmax_regression_logits(const ag_params *p, ag_tensor *x);

/* λ/2 · Σ‖W‖² over every parameter whose name ends in "weight" or is "w"/"W"
 * (biases are not penalised). Add it to a loss. */
AG_API ag_tensor *ag_l2_penalty(const ag_params *p, double lambda);

/* ------------------------------------------------------------------ */
/* Embeddings, attention and a small GPT                               */
/* ------------------------------------------------------------------ */

/* Layers of a Transformer under the names and layouts of PyTorch's
 * modules, so a state_dict moves both ways by name. Inits draw from rng as
 * PyTorch's constructors do (not the same numbers) and return false on
 * error, adding nothing: AG_ERR_NULL, AG_ERR_VALUE for sizes below 1, a
 * head count that does not divide the width (naming both) or a name
 * taken, AG_ERR_DTYPE for i64. Forwards build expressions from the store
 * (borrowed; results owned by the tape), label the output with the layer's
 * name, and return NULL with the error of the first step that failed
 * (messages name the op, the shapes and the offending value). */

/* nn.Embedding(num_embeddings, dim): "<name>.weight" (num, dim) drawn from
 * N(0, 1). */
AG_API bool ag_embedding_init(ag_params *p, const char *name, int64_t num_embeddings, int64_t dim,
                              ag_dtype dtype, ag_rng *rng);
/* The rows of "<name>.weight" picked by the i64 ids (any shape): (ids...,
 * dim), as ag_embedding (AG_ERR_VALUE names an id out of range). */
AG_API ag_tensor *ag_embedding_layer(const ag_params *p, const char *name, ag_tensor *ids);
/* x·Wᵀ (+ b) for x (..., in) with W (out, in) taken from the store under
 * any name, and b (out) under bias_name (NULL: no bias): a head sharing
 * another layer's weight (a language model's output tied to its token
 * embedding). The shared weight's gradient is the sum over its uses, as
 * for any tensor used twice. The result is (..., out), labelled
 * weight_name. AG_ERR_SHAPE names x's and W's shapes when they do not fit. */
AG_API ag_tensor *ag_linear_tied(const ag_params *p, const char *weight_name,
                                 const char *bias_name, ag_tensor *x);

/* nn.MultiheadAttention(embed_dim, num_heads, batch_first=True):
 * "<name>.in_proj_weight" (3E, E) Xavier-uniform, "<name>.in_proj_bias"
 * (3E) zeros, "<name>.out_proj.weight" (E, E) as nn.Linear's (U(±1/√E)),
 * "<name>.out_proj.bias" (E) zeros. */
AG_API bool ag_mha_init(ag_params *p, const char *name, int64_t embed_dim, int64_t num_heads,
                        ag_dtype dtype, ag_rng *rng);
/* Self-attention of x (N, T, E) with num_heads heads: the module's
 * forward(x, x, x, attn_mask=mask, need_weights=False)[0], (N, T, E).
 * mask is NULL or an additive float mask (−inf blocks) of (T, T) or
 * (N·num_heads, T, T), as PyTorch's float attn_mask; causal blocks the
 * future (key j > query i) and needs mask NULL. AG_ERR_SHAPE for x not
 * (N, T, E) with the store's E, AG_ERR_VALUE for heads that do not divide
 * E (naming both). */
AG_API ag_tensor *ag_mha_self(const ag_params *p, const char *name, ag_tensor *x,
                              int64_t num_heads, ag_tensor *mask, bool causal);

/* A pre-LN Transformer block, nn.TransformerEncoderLayer(d_model, nhead,
 * dim_ff, dropout, activation="gelu", batch_first=True, norm_first=True):
 * "<name>.self_attn.*" (ag_mha_init), "<name>.linear1.*" (dim_ff,
 * d_model), "<name>.linear2.*" (d_model, dim_ff) (weights and biases
 * U(±1/√in), as nn.Linear), "<name>.norm1.*" and "<name>.norm2.*"
 * (nn.LayerNorm(d_model), eps 1e-5). */
AG_API bool ag_transformer_block_init(ag_params *p, const char *name, int64_t d_model,
                                      int64_t nhead, int64_t dim_ff, ag_dtype dtype, ag_rng *rng);
/* x + drop1(attn(norm1(x))), then h + drop2(linear2(drop(gelu(linear1(
 * norm2(h)))))) for x (N, T, d_model), causal or not. In training mode
 * (ag_params_training) with dropout > 0 the three dropouts, and the one
 * on the attention weights that PyTorch's self_attn applies, draw from the
 * store's generator; in evaluation mode the block is deterministic.
 * dropout outside [0, 1] is AG_ERR_VALUE. */
AG_API ag_tensor *ag_transformer_block(const ag_params *p, const char *name, ag_tensor *x,
                                       int64_t nhead, double dropout, bool causal);

/* A small decoder-only language model (GPT): token and position
 * embeddings, n_layer causal pre-LN blocks, a final layer norm and a head
 * to vocab_size logits, tied to the token embedding or not. */
typedef struct ag_gpt_config {
    int64_t vocab_size; /* tokens 0 .. vocab_size - 1 */
    int64_t block_size; /* the longest sequence (positions) */
    int64_t d_model;    /* the width; n_head divides it */
    int64_t n_layer;
    int64_t n_head;
    int64_t d_ff;       /* the feed-forward width (4·d_model in GPT-2) */
    double dropout;     /* after the embeddings and in every block, in [0, 1) */
    bool tie_weights;   /* the head is tok_emb.weight (no head.weight) */
} ag_gpt_config;

/* A new store with "tok_emb.weight" (vocab, d), "pos_emb.weight"
 * (block_size, d) (both N(0, 0.02²), as GPT-2 draws them: nn.Embedding's
 * N(0, 1) under a tied head starts the loss near 85 nats), "blocks.<i>.*" (ag_transformer_block_init
 * names), "ln_f.weight", "ln_f.bias" and, untied, "head.weight" (vocab, d)
 * (no bias, U(±1/√d)), drawn from a generator seeded with `seed`; the
 * store's own generator (dropout) is seeded with it too. Caller owns; free
 * with ag_params_free. NULL with AG_ERR_NULL, AG_ERR_VALUE for a size below
 * 1, heads that do not divide d_model, or dropout outside [0, 1). */
AG_API ag_params *ag_gpt_new(const ag_gpt_config *cfg, ag_dtype dtype, uint64_t seed);
/* The logits (N, T, vocab_size) of i64 ids (N, T) with T <= block_size,
 * each position seeing itself and the ones before. AG_ERR_DTYPE for ids
 * that are not i64, AG_ERR_SHAPE for ids that are not 2-D or T above
 * block_size (naming both), AG_ERR_VALUE for an id out of the vocabulary
 * (naming it) or a bad config, AG_ERR_NULL for a NULL argument. */
AG_API ag_tensor *ag_gpt_logits(const ag_params *p, const ag_gpt_config *cfg, ag_tensor *ids);

/* ------------------------------------------------------------------ */
/* Optimizers                                                          */
/* ------------------------------------------------------------------ */

typedef enum ag_optim_kind { AG_SGD = 0, AG_ADAM, AG_ADAMW } ag_optim_kind;

typedef struct ag_optim_config {
    ag_optim_kind kind;
    double lr;           /* learning rate */
    double momentum;     /* SGD: 0 for plain SGD */
    bool nesterov;       /* SGD: Nesterov momentum */
    double beta1, beta2; /* Adam/AdamW: the moments' decay rates (0 means 0) */
    double eps;          /* Adam/AdamW: > 0, added to the root of the second moment */
    double weight_decay; /* SGD/Adam: L2 added to the gradient; AdamW: decoupled */
    double clip_norm;    /* > 0: scale all gradients by clip/‖g‖ when their global norm
                            ‖g‖ exceeds clip (PyTorch adds 1e-6 to ‖g‖; we do not) */
} ag_optim_config;

/* Every field means what it says, zero included; PyTorch's defaults come
 * from ag_optim_defaults, to change what differs:
 *     ag_optim_config c = ag_optim_defaults(AG_ADAM);   // lr 1e-3, betas 0.9, 0.999, eps 1e-8
 *     c.lr = 0.01;
 * (AdamW also gets weight_decay 0.01; SGD lr 1e-3 and nothing else.) An
 * unknown kind gets lr 1e-3 and zeros, which ag_optim_new refuses. */
AG_API ag_optim_config ag_optim_defaults(ag_optim_kind kind);

/* The optimizer keeps its state (momenta, moments) per parameter name, so it
 * can be saved and restored with the model. */
typedef struct ag_optim ag_optim;

/* An optimizer over every float tensor of `params` (borrowed: it must
 * outlive the optimizer). Every setting must be finite and in its range
 * (lr, eps, weight_decay, clip_norm >= 0, eps > 0, momentum and the betas in
 * [0, 1), Nesterov only with momentum): otherwise NULL with AG_ERR_VALUE
 * naming the setting and its value. Caller owns; free with ag_optim_free. */
AG_API ag_optim *ag_optim_new(ag_params *params, const ag_optim_config *cfg);
/* Frees the optimizer and its state (not the parameters). NULL is a no-op. */
AG_API void ag_optim_free(ag_optim *o);
/* One update from the current gradients, run without recording, in each
 * parameter's precision (f32 parameters are updated in f32 arithmetic, as
 * PyTorch does). Parameters that take no part are left as they are, state
 * included: those no gradient has reached yet (PyTorch's grad None), and
 * those frozen with ag_set_requires_grad(p, false) (even with a gradient
 * left from before). Refused, changing nothing (no parameter, no state, no
 * step count), with false and:
 * - AG_ERR_STATE when no parameter has a gradient (ag_backward was not
 *   called) or none requires grad, when parameters were added to the store
 *   after the optimizer was made, or when the step count is at its limit
 *   2^53 (see ag_optim_set_steps);
 * - AG_ERR_STALE for a graph gradient from a tape that was reset;
 * - AG_ERR_NUMERIC when any gradient holds a NaN or Inf, or a coefficient
 *   of the step (the rate, Adam's bias-corrected step size lr/(1 - beta1^t)
 *   and 1/sqrt(1 - beta2^t), AdamW's 1 - lr * weight_decay) is not finite in
 *   the parameters' precision.
 * An update that overflows (finite parameters and gradients, but a rate so
 * large that a parameter or a moment becomes Inf or NaN) is found while it
 * is written, at no extra pass: the step is then applied, counted, and
 * reported as false with AG_ERR_NUMERIC naming the first such parameter;
 * restore the parameters (from a checkpoint) before going on. */
AG_API bool ag_optim_step(ag_optim *o);
/* Zeroes the gradients of the optimizer's parameters. The getters below
 * and this record AG_ERR_NULL for a NULL optimizer, and return NaN (rates,
 * norms), 0 (steps), NULL (state) or false. */
AG_API void ag_optim_zero_grad(ag_optim *o);
AG_API double ag_optim_lr(const ag_optim *o); /* the learning rate in use */
/* Sets the learning rate; a negative, infinite or NaN rate is refused
 * (false, AG_ERR_VALUE) and the rate is kept. */
AG_API bool ag_optim_set_lr(ag_optim *o, double lr);
/* Steps taken so far (Adam's bias correction uses it). */
AG_API uint64_t ag_optim_steps(const ag_optim *o);
/* Sets the step count (to resume a run). At most 2^53, the largest count
 * the bias corrections see exactly (no run takes that many steps): a larger
 * one is refused with AG_ERR_VALUE and the count is kept; AG_ERR_NULL for a
 * NULL optimizer. */
AG_API bool ag_optim_set_steps(ag_optim *o, uint64_t steps);
/* The optimizer's settings as it was made with them, and the current
 * learning rate, into *cfg. False with AG_ERR_NULL. */
AG_API bool ag_optim_config_get(const ag_optim *o, ag_optim_config *cfg);
/* The optimizer's state as named tensors ("exp_avg.fc1.weight", ...),
 * owned by the optimizer; values may be written (to restore a checkpoint)
 * but not the set of names. */
AG_API ag_params *ag_optim_state(ag_optim *o);
/* The global L2 norm of all gradients, before clipping, of the last step
 * (also of a refused one: NaN or Inf then). f32 gradients' squares are
 * summed in f32 blocks: about 1e-7 relative error, at most 2e-6. */
AG_API double ag_optim_last_grad_norm(const ag_optim *o);

/* Learning-rate schedules: the rate for step t (0-based) of `total`. */
typedef enum ag_schedule { AG_SCHEDULE_CONSTANT = 0, AG_SCHEDULE_STEP, AG_SCHEDULE_COSINE } ag_schedule;
typedef struct ag_schedule_config {
    ag_schedule kind;
    double base_lr;
    uint64_t step_size;  /* STEP: multiply by gamma every step_size steps */
    double gamma;
    uint64_t total;      /* COSINE: steps to anneal over ... */
    double min_lr;       /* ... down to min_lr */
} ag_schedule_config;
/* NaN with AG_ERR_NULL for a NULL s. */
AG_API double ag_schedule_lr(const ag_schedule_config *s, uint64_t t);

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

/* A data set: features X (n, d) in a float dtype, labels y (n) as i64
 * class indices, and the feature names when the source had them. The
 * loaders below return one (caller owns; free with ag_dataset_free). A data
 * set may also be filled in by hand (a struct on the stack with caller-owned
 * tensors) for ag_dataset_split, ag_standardizer_*, ag_dataset_targets,
 * ag_batches_new and ag_train; such a one is not passed to ag_dataset_free. */
typedef struct ag_dataset {
    ag_tensor *X;          /* owned; (n, d), f32 or f64 */
    ag_tensor *y;          /* owned; (n), i64 labels 0, 1, 2, ... */
    int64_t n, d;          /* rows and features: must match X's shape */
    int64_t n_classes;     /* 1 + the largest label */
    char **feature_names;  /* d names (each owned), or NULL when the source had none */
} ag_dataset;

/* Frees the data set, its tensors and its names. NULL is a no-op. */
AG_API void ag_dataset_free(ag_dataset *d);

/* The largest number of bytes any reader takes from one file — the data
 * ag_csv_load parses, the decompressed bytes ag_idx_load inflates, the
 * header and data ag_safetensors_load and ag_checkpoint_load read — and so
 * a bound on what they allocate for it. A file that would go beyond it is
 * refused (AG_ERR_VALUE naming the file, the size and the limit) before
 * the memory is taken, whatever its headers declare: a server that reads
 * files it did not write sets it to what it expects. Process-wide; 0
 * restores the default, AG_READ_LIMIT_DEFAULT (4 GiB). Returns the limit
 * now in force. */
#define AG_READ_LIMIT_DEFAULT ((uint64_t)4 << 30)
AG_API uint64_t ag_read_limit_set(uint64_t max_bytes); /* sets the limit */
/* The limit in force (AG_READ_LIMIT_DEFAULT unless set). */
AG_API uint64_t ag_read_limit(void);

/* Options of ag_csv_load. Every field means what it says, zero included: a
 * zero-initialised struct selects column 0 as the label (label_index 0).
 * NULL options, or ag_csv_defaults(), mean a header row, the label in the
 * last column (label_index -1) and X in f32. */
typedef struct ag_csv_options {
    const char *label_column; /* the label column by header name, or NULL ... */
    int label_index;          /* ... by 0-based index; negative counts from the end (-1 = last) */
    ag_dtype dtype;           /* of X: AG_F32 (0, the default) or AG_F64 */
    bool no_header;           /* the first row is data (no feature names; label by index) */
} ag_csv_options;

/* The options NULL stands for: {.label_column = NULL, .label_index = -1,
 * .dtype = AG_F32, .no_header = false}, to change what differs. */
AG_API ag_csv_options ag_csv_defaults(void);

/* Reads a numeric CSV file: comma-separated fields; a header row of column
 * names (kept, without the label's, in feature_names) unless no_header;
 * any line length; LF or CRLF line ends, with or without a final one; a
 * UTF-8 byte-order mark; '#' comment lines and blank lines skipped;
 * double-quoted fields ("" for a quote, not spanning lines); blanks around
 * fields ignored. Every field is a decimal number read in the C locale
 * (whatever setlocale said); empty fields, text, trailing garbage ("1.5x"),
 * hexadecimal, NaN and infinities are refused, as are values beyond the
 * range of X's dtype. Labels must be whole numbers in 0..2^31-1 ("1.0" is
 * 1); n_classes is 1 + the largest. X is (n, d) with the label column
 * removed and the other columns in file order. A file longer than
 * ag_read_limit is refused (AG_ERR_VALUE).
 *
 * Errors: AG_ERR_IO for a file that cannot be opened or read ("csv_load:
 * cannot open "wdbc.csv": No such file or directory"); AG_ERR_PARSE for
 * malformed content, as "csv_load: path:line:column: problem" with the
 * physical line (comments and blank lines count) and the 1-based byte
 * column of the offending field, or of the end of a short row
 * ("csv_load: wdbc.csv:17:4: 'abc' is not a number (column 'mean_texture')",
 * "row has 30 fields, the header has 31", "label 2.5 is not a whole
 * number"), also for a file without a header or data rows;
 * AG_ERR_NOTFOUND for a label_column not in the header; AG_ERR_VALUE for a
 * label_index out of range (or a label name with no_header); AG_ERR_DTYPE
 * for an integer dtype; AG_ERR_NOMEM. Returns NULL on any error, having
 * freed everything. Caller owns the result; free with ag_dataset_free. */
AG_API ag_dataset *ag_csv_load(const char *path, const ag_csv_options *opts);

/* Reads an MNIST-format image set: an IDX images file (magic 0x00000803:
 * unsigned bytes, dimensions count x rows x cols, big-endian) and an IDX
 * labels file (magic 0x00000801: unsigned bytes, dimension count). Each file
 * may be plain or gzip-compressed (recognised by its first two bytes, 1f 8b,
 * and read through zlib). X is (n, rows*cols) with pixel / 255 in [0, 1], in
 * `dtype` (f32 or f64); y holds the labels; no feature names.
 *
 * The files are validated before trusting them with memory: the magic
 * numbers, element type and dimensions (none 0), equal counts in both
 * files, and the exact data length (a truncated file or trailing bytes are
 * errors; a plain file's declared size is checked against the file's size
 * before anything is allocated, and a gzip stream is read into a buffer
 * that grows only as data arrives, so a header declaring absurd sizes fails
 * cleanly). The declared sizes must be within ag_read_limit (AG_ERR_VALUE
 * otherwise), and a gzip stream is inflated no further than one byte past
 * them. A gzip file must be one complete stream: its CRC-32 and length
 * trailer present and right, and nothing after it (a second member is
 * refused). Errors (AG_ERR_PARSE, AG_ERR_IO for open and read failures,
 * AG_ERR_DTYPE, AG_ERR_NOMEM) name the file, the byte offset (in the
 * decompressed data for gzip) and the problem: "idx_load: t10k.gz: offset
 * 7856 of the decompressed data: truncated: the header declares 10000
 * images of 28x28 (7840000 bytes from offset 16), but the data ends after
 * 7840 of them". Caller owns the result; free with ag_dataset_free. */
AG_API ag_dataset *ag_idx_load(const char *images_path, const char *labels_path, ag_dtype dtype);

/* Splits the rows of d into a training set and a test set of
 * round(n * test_fraction) rows (half away from zero), after a seeded
 * Fisher-Yates shuffle: the same seed gives the same split on every
 * platform, every row lands in exactly one set, and both sets hold their
 * rows in the shuffled order. test_fraction must be in (0, 1) and leave
 * both sets non-empty (AG_ERR_VALUE otherwise). Both results are new data
 * sets (caller owns; free with ag_dataset_free) with copies of d's feature
 * names and d's n_classes (even when a class misses one side). d is
 * borrowed. On error *train and *test are NULL. */
AG_API bool ag_dataset_split(const ag_dataset *d, double test_fraction, uint64_t seed,
                      ag_dataset **train, ag_dataset **test);

/* Per-feature mean and standard deviation, fitted on one set (the training
 * set) and applied to any (train, then test), so that no statistic of the
 * test set leaks into training. The standard deviation is the population
 * one (divided by n, as scikit-learn's StandardScaler), computed in f64 in
 * two passes; a constant feature gets mean = its value and std 1, so it
 * becomes exactly 0. */
typedef struct ag_standardizer {
    int64_t d;
    double *mean;  /* owned; d entries */
    double *std;   /* owned; d entries, all > 0 */
} ag_standardizer;
/* Fits s on d's features. *s is overwritten without being read (call
 * ag_standardizer_free before refitting one); on error it is left empty,
 * so ag_standardizer_free is always safe. Errors: AG_ERR_VALUE for a set of
 * no rows, AG_ERR_NUMERIC for a NaN or infinite feature, AG_ERR_NOMEM. */
AG_API bool ag_standardizer_fit(ag_standardizer *s, const ag_dataset *d);
/* Replaces d's X in place by (X - mean) / std. AG_ERR_SHAPE when d has a
 * different number of features than s was fitted on. */
AG_API bool ag_standardizer_apply(const ag_standardizer *s, ag_dataset *d);
/* Frees the statistics and empties s (s itself is the caller's). NULL is a
 * no-op. */
AG_API void ag_standardizer_free(ag_standardizer *s);

/* The labels as an (n, 1) tensor of 0/1 in a float dtype, the targets of a
 * binary model (logistic regression). AG_ERR_VALUE, naming the first row,
 * when a label is neither 0 nor 1. Caller owns; free with ag_tensor_free. */
AG_API ag_tensor *ag_dataset_targets(const ag_dataset *d, ag_dtype dtype);

/* Minibatches of a data set, in a seeded random order that changes every
 * epoch (or in row order when shuffle is false). Epoch k's order depends
 * only on the seed and k: two iterators with one seed give the same
 * batches, and every row appears exactly once per epoch. The batches have
 * batch_size rows (at most n) except the last of an epoch, which holds the
 * rest. The batch tensors are leaves owned by the iterator and reused: all
 * of them (one set of the batch size, one of the last batch's size) are
 * made by ag_batches_new, so iterating allocates nothing. d is borrowed: it
 * must outlive the iterator, and keep its shape (its values may change, e.g.
 * by standardizing). Caller owns the iterator; free with ag_batches_free.
 * AG_ERR_VALUE for a batch size below 1. */
typedef struct ag_batches ag_batches;
/* A new iterator over d. */
AG_API ag_batches *ag_batches_new(const ag_dataset *d, int64_t batch_size, bool shuffle, uint64_t seed);
/* Frees the iterator and its batch tensors. NULL is a no-op. */
AG_API void ag_batches_free(ag_batches *b);
/* The next batch of the epoch: X (b, d) in the data set's dtype, y (b) i64,
 * and targets (b, 1), the labels as numbers in X's dtype (the 0/1 targets of
 * a binary set). Any of the three pointers may be NULL. Owned by the
 * iterator (do not free them); valid, and unchanged, until the next call.
 * Returns false, with the pointers set to NULL, at the end of an epoch; the
 * call after that starts the next epoch with a new order. Also false, with
 * an error recorded, for a NULL iterator or a data set whose shape changed. */
AG_API bool ag_batches_next(ag_batches *b, ag_tensor **X, ag_tensor **y, ag_tensor **targets);
/* Batches per epoch: ceil(n / batch_size). */
AG_API int64_t ag_batches_count(const ag_batches *b);

/* ------------------------------------------------------------------ */
/* Text for language models (models/text.c, models/sample.c)           */
/* ------------------------------------------------------------------ */

/* Text as a sequence of token ids over a vocabulary, as char-rnn and
 * nanoGPT's shakespeare_char prepare it. At AG_TEXT_CHARS a token is one
 * Unicode code point (the text must be valid UTF-8: no overlong forms,
 * surrogates, code points past U+10FFFF, truncated sequences or NUL bytes).
 * At AG_TEXT_WORDS the text is split at ASCII whitespace (space, \t, \r,
 * \v, \f) and a token is a maximal run of other bytes, except that every
 * "\n" is a token of its own, so line structure survives (a CRLF file
 * gives the same tokens as an LF one). The vocabulary is the sorted
 * distinct tokens, as Python's sorted(set(tokens)): by code point for
 * CHARS, by bytes for WORDS (the same order for UTF-8), so ids do not
 * depend on the order the text met them. A vocabulary is immutable and
 * shared by reference count among the texts made from it (ag_text_split,
 * ag_text_from_string with a vocabulary): it lives until the last of them
 * is freed. */
typedef enum { AG_TEXT_CHARS, AG_TEXT_WORDS } ag_text_level;
typedef struct ag_text ag_text;
typedef struct ag_vocab ag_vocab;

/* Reads a UTF-8 text file and tokenizes it at `level`, building its
 * vocabulary. A leading UTF-8 byte-order mark is skipped. A file longer
 * than ag_read_limit is refused (AG_ERR_VALUE) before it is read whole.
 * Errors: AG_ERR_IO for a file that cannot be opened or read (a directory
 * included), naming the path; AG_ERR_VALUE naming the path and the byte
 * offset for invalid UTF-8 or a NUL byte ("not text"), and naming the path
 * for a text without tokens ("empty text"; at WORDS also one of only
 * blanks); AG_ERR_NOMEM. Caller owns the result; free with ag_text_free. */
AG_API ag_text *ag_text_load(const char *path, ag_text_level level);
/* Tokenizes the len bytes at s (NUL bytes are refused, as by ag_text_load,
 * and no byte-order mark is skipped). With vocab NULL it builds the
 * vocabulary of s (AG_ERR_VALUE for no tokens); otherwise it encodes s with
 * vocab, which the new text then shares (the vocabulary's level must be
 * `level`; an empty s gives a text of no tokens), and a token not in
 * vocab is AG_ERR_VALUE naming it and its byte offset, as for a prompt
 * with a character the model never saw. Caller owns the result; free with
 * ag_text_free. */
AG_API ag_text *ag_text_from_string(const char *s, size_t len, ag_text_level level,
                                    const ag_vocab *vocab);
/* Frees the text, and its vocabulary when no other text shares it. NULL is
 * a no-op. */
AG_API void ag_text_free(ag_text *t);
/* The number of tokens (0 with AG_ERR_NULL for NULL). */
AG_API int64_t ag_text_len(const ag_text *t);
/* The token ids, ag_text_len of them, each in [0, vocabulary size). Owned
 * by the text (NULL with AG_ERR_NULL for NULL). */
AG_API const int64_t *ag_text_ids(const ag_text *t);
/* The text's vocabulary, owned by the text (and the texts sharing it):
 * valid while the text lives. NULL with AG_ERR_NULL for NULL. */
AG_API const ag_vocab *ag_text_vocab(const ag_text *t);

/* The number of distinct tokens (0 with AG_ERR_NULL for NULL). */
AG_API int64_t ag_vocab_size(const ag_vocab *v);
/* The id of the token of len bytes at token, by binary search; -1 with
 * AG_ERR_NOTFOUND when it is not in the vocabulary (AG_ERR_NULL for a NULL
 * argument). */
AG_API int64_t ag_vocab_id(const ag_vocab *v, const char *token, size_t len);
/* Token `id`: its bytes, NUL-terminated and owned by the vocabulary, and
 * their count in *len (len may be NULL). NULL with AG_ERR_VALUE for an id
 * out of range. */
AG_API const char *ag_vocab_token(const ag_vocab *v, int64_t id, size_t *len);
/* Writes the text of n ids to buf, NUL-terminated: CHARS tokens
 * concatenated; WORDS tokens joined by single spaces, except that no space
 * goes before or after a "\n" token (so decoding the ids of a text gives
 * its words with runs of blanks made one space). False, with buf holding
 * "" (when cap > 0), for ids out of range (AG_ERR_VALUE naming the id and
 * its position) or n < 0; false with AG_ERR_VALUE naming the size needed
 * when cap is too small, buf then holding the longest prefix of whole
 * tokens that fits. */
AG_API bool ag_vocab_decode(const ag_vocab *v, const int64_t *ids, int64_t n, char *buf,
                            size_t cap);
/* The cap ag_vocab_decode needs for these ids (the bytes and the NUL); 0
 * with the error ag_vocab_decode would report for bad ids. */
AG_API size_t ag_vocab_decode_size(const ag_vocab *v, const int64_t *ids, int64_t n);

/* Holds out a fraction of t's lines for testing. A line is the tokens up to
 * and including a "\n" token (the last line may lack one). round(lines *
 * held_out) lines (half away from zero), chosen by a seeded Fisher-Yates
 * shuffle (the same seed gives the same split on every platform), go to
 * *test and the rest to *train, each keeping its lines in t's order. Both
 * share t's vocabulary. held_out must be in (0, 1) and leave both parts a
 * line (AG_ERR_VALUE naming the counts otherwise, as for a text of one
 * line). Caller owns both; free with ag_text_free. On error both are
 * NULL. */
AG_API bool ag_text_split(const ag_text *t, double held_out, uint64_t seed, ag_text **train,
                          ag_text **test);
/* A new text of t's lines (as ag_text_split defines them) in a seeded random
 * order (Fisher-Yates; the same seed gives the same order everywhere),
 * sharing t's vocabulary. For a list whose order would teach the model
 * something that is not in the lines — a sorted word list, whose next word
 * shares the previous one's prefix. A last line without "\n" gets none
 * added: its tokens may end up joined to the next line's. Caller owns; free
 * with ag_text_free. NULL with AG_ERR_NULL or AG_ERR_NOMEM. */
AG_API ag_text *ag_text_shuffle_lines(const ag_text *t, uint64_t seed);

/* Batches of (T, N) windows of a text for next-token prediction, as
 * char-rnn and nanoGPT train. The windows start at 0, T, 2T, ... (not
 * overlapping) for every start with start + T + 1 <= len, so there are
 * W = (len - 1) / T of them; each epoch visits every window once, in a
 * seeded random order that depends only on the seed and the epoch number
 * (or in text order when shuffle is false). A batch holds N windows as
 * columns (N at most W); the last of an epoch holds the rest, so it has
 * fewer columns when N does not divide W (none is dropped). x[t][n] =
 * ids[start_n + t] and y[t][n] = ids[start_n + t + 1], i64. The batch
 * tensors are leaves owned by the iterator and reused, all made by
 * ag_text_batches_new, so iterating allocates nothing. t is borrowed and
 * must outlive the iterator. Errors: AG_ERR_VALUE for T or N below 1 and
 * for a text too short for one window (naming its length and T + 1).
 * Caller owns the iterator; free with ag_text_batches_free. */
typedef struct ag_text_batches ag_text_batches;
/* A new iterator over t. */
AG_API ag_text_batches *ag_text_batches_new(const ag_text *t, int64_t T, int64_t N, bool shuffle,
                                            uint64_t seed);
/* Frees the iterator and its batch tensors. NULL is a no-op. */
AG_API void ag_text_batches_free(ag_text_batches *b);
/* The next batch of the epoch: x and y (T, n) with n = N but in the last
 * batch. Either pointer may be NULL. Owned by the iterator (do not free
 * them); valid, and unchanged, until the next call. Returns false, with the
 * pointers set to NULL, at the end of an epoch; the call after that starts
 * the next epoch with a new order. Also false, with AG_ERR_NULL, for a NULL
 * iterator. */
AG_API bool ag_text_batches_next(ag_text_batches *b, ag_tensor **x, ag_tensor **y);
/* Batches per epoch: ceil(W / N). */
AG_API int64_t ag_text_batches_count(const ag_text_batches *b);

/* Draws a token id from logits, the next-token scores of a language model:
 * a 1-D (V) tensor, or the last row of a 2-D (L, V) one (the prediction
 * after the last position), f32 or f64. The draw follows
 * softmax(logits / temperature) restricted to the top_k largest logits
 * (ties ranked by lower id; 0 or top_k >= V means all), using one
 * ag_rng_uniform draw of rng; temperature 0 returns the argmax (the lowest
 * id among equals) and draws nothing. -inf logits (masked) have
 * probability 0. Returns -1 on error: AG_ERR_NULL for NULL arguments,
 * AG_ERR_VALUE for a temperature < 0 or NaN, top_k < 0, a NaN or +inf
 * logit (naming its position) or only -inf among the candidates,
 * AG_ERR_SHAPE for another rank or V = 0, AG_ERR_DTYPE for another dtype,
 * AG_ERR_NOMEM. */
AG_API int64_t ag_sample_logits(const ag_tensor *logits, double temperature, int64_t top_k,
                                ag_rng *rng);

/* A language model as the two functions below see it: logits (T, N, V) of
 * the next token at every position of the ids (T, N) (i64), each position
 * seeing only the ones before it (an LSTM run from a zero state, a causal
 * Transformer). The result may be an intermediate of the current tape. */
typedef ag_tensor *(*ag_lm_logits_fn)(void *model, ag_tensor *ids);
/* The mean cross-entropy, in nats per token, of the model on a text: the
 * text is cut into its non-overlapping windows of T + 1 tokens (starts 0,
 * T, 2T, ...; a shorter tail is left out), each window's first T tokens are
 * the input (N windows per call of the model) and every position is scored
 * on the token after it, so a recurrent model starts afresh at each window
 * as a Transformer with context T does. Divide by ln 2 for bits per token.
 * Runs without recording on a private tape (the caller's tape and
 * intermediates are left as they were). False with AG_ERR_NULL, AG_ERR_VALUE
 * for T or N < 1 or a text with no window (naming its length),
 * AG_ERR_SHAPE when the model's logits are not (T, n, V) (naming both),
 * AG_ERR_VALUE from the cross-entropy for logits with fewer classes than
 * the text's ids, or the model's own error when it returns NULL. */
AG_API bool ag_lm_evaluate(ag_lm_logits_fn logits, void *model, const ag_text *text, int64_t T,
                           int64_t N, double *nats_per_token);
/* Extends ids[0 .. n_prompt) by n_new tokens written to ids[n_prompt ..
 * n_prompt + n_new) (the caller's array, of at least that length): each
 * token is drawn by ag_sample_logits(temperature, top_k, rng) from the
 * model's last position given the last `context` tokens (fewer at the
 * start), run as ids (T, 1). Without recording, on a private tape. False
 * with AG_ERR_NULL, AG_ERR_VALUE for n_prompt < 1, n_new < 0 or context
 * < 1, AG_ERR_SHAPE for logits that are not (T, 1, V), or the sampler's or
 * the model's error; the tokens drawn before an error stay written. */
AG_API bool ag_lm_generate(ag_lm_logits_fn logits, void *model, int64_t *ids, int64_t n_prompt,
                           int64_t n_new, int64_t context, double temperature, int64_t top_k,
                           ag_rng *rng);

/* ------------------------------------------------------------------ */
/* Model files: safetensors                                            */
/* ------------------------------------------------------------------ */

/* The format (huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of UTF-8 JSON mapping each tensor's name to
 * {"dtype": "F32"|"F64"|"I64", "shape": [...], "data_offsets": [begin,
 * end)} plus optional "__metadata__" strings, then the raw little-endian
 * row-major data, which the tensors tile without gaps or overlaps. Files
 * move to and from PyTorch/numpy as they are. Error messages start with the
 * file's path: "model.st: tensor 'fc1.weight' has shape (3,4) in the file
 * but (4,3) in the model". */

/* Saves every tensor of p under its name. `metadata` is NULL or a
 * NULL-terminated list key, value, key, value, ... of strings (borrowed).
 * The header is padded with spaces so the data starts at a multiple of 8,
 * and 8-byte tensors come before 4-byte ones, so each is aligned. The bytes
 * go to a new temporary file "<path>.tmp.<pid>.<n>.<5 hex digits>" in the
 * same folder, locked (flock) while it is written, then flushed, fsync'd
 * and renamed over `path`: a failed or killed save never leaves a partial
 * file where a good one was. A killed save leaves its temporary file; the
 * next save of the same path removes every such file no one holds locked
 * (regular files of exactly that name pattern; saves running at the same
 * time keep theirs). Errors: AG_ERR_NULL; AG_ERR_VALUE for a key without a
 * value, a repeated key, a tensor named "__metadata__" or a name that is
 * not UTF-8; AG_ERR_IO (naming the system's reason) when the temporary file
 * cannot be created, written, synced or renamed — it is removed then, and
 * any file at `path` is unchanged. */
AG_API bool ag_safetensors_save(const char *path, const ag_params *p, const char *const *metadata);

/* Loads a file into the existing tensors of p: the file must hold exactly
 * p's tensors, each with the same dtype and shape. The header is validated
 * first and whole (length >= 2, within the file and at most 100 MB; at
 * most 1,000,000 tensors; strict JSON; names of valid UTF-8 without NUL;
 * known dtypes; shapes of 0..8 dimensions whose byte size, without
 * overflow, equals end - begin; a file no larger than ag_read_limit();
 * offsets inside the data; no overlaps, gaps or trailing bytes), then matched against p, then all data is read into a
 * temporary buffer, and only then copied: on any error p is unchanged.
 * Errors: AG_ERR_IO (cannot open or read, not a regular file); AG_ERR_PARSE
 * (truncated file, bad header length, bad JSON, bad offsets or sizes,
 * overlaps); AG_ERR_DTYPE (a dtype that is unknown or not F32/F64/I64, or
 * differs from the model's); AG_ERR_SHAPE (more than 8 dimensions, a size
 * that overflows, or a shape that differs from the model's);
 * AG_ERR_NOTFOUND (a tensor of p missing from the file, or one in the file
 * that p lacks — named); AG_ERR_NOMEM; AG_ERR_NULL. Metadata is ignored. */
AG_API bool ag_safetensors_load(const char *path, ag_params *p);

/* Name maps for model files written or read by other programs: n pairs of
 * prefixes, ours and theirs; a name starting with `ours` is written or
 * looked up as `theirs` followed by the rest (the first matching pair
 * applies; other names stay as they are). */
typedef struct ag_name_map {
    const char *ours, *theirs;
} ag_name_map;

/* ag_safetensors_save and ag_safetensors_load through a name map (n_map
 * pairs; 0 and NULL for none). AG_ERR_VALUE when the map gives two tensors
 * one name; AG_ERR_NULL for a NULL map with n_map > 0 or a NULL prefix. */
AG_API bool ag_safetensors_save_as(const char *path, const ag_params *p,
                                   const char *const *metadata, int n_map,
                                   const ag_name_map *map);
/* The loading half: the file's names are the mapped ones. */
AG_API bool ag_safetensors_load_as(const char *path, ag_params *p, int n_map,
                                   const ag_name_map *map);

/* The map between an ag_mlp's names and the state dict of PyTorch's
 * nn.Sequential(Linear, activation, Linear, ..., Linear): "fc1." <-> "0.",
 * "fc2." <-> "2.", ... (the activations take the odd numbers), 15 pairs;
 * pass m->n_layers of them. With the layers' (out, in) weights the file
 * then loads into PyTorch with load_state_dict as it is, and PyTorch's own
 * file into the ag_mlp:
 *     ag_safetensors_load_as("model.safetensors", m->params, m->n_layers,
 *                            ag_mlp_sequential_map());
 * Borrowed, static. */
AG_API const ag_name_map *ag_mlp_sequential_map(void);

/* Reads every tensor of a file into a new store, in the header's order,
 * with the same validation and errors as ag_safetensors_load (less the
 * matching) and AG_ERR_VALUE for a name the store cannot hold (empty or
 * over 127 bytes). Float tensors require grad, as ag_params_add makes them.
 * Caller owns; free with ag_params_free. NULL on error. */
AG_API ag_params *ag_safetensors_read(const char *path);

/* A training checkpoint: one safetensors file with the model's tensors as
 * "model.<name>", the optimizer's state (ag_optim_state) as
 * "optim.<name>", and the metadata {"format": "autograd-checkpoint",
 * "optim.steps": "<n>", "optim.lr": "<lr, 17 digits>"}. Values are kept bit
 * for bit, so N steps, a save, a load and M more steps give exactly the
 * parameters of N + M uninterrupted steps, provided the optimizer is made
 * with the same settings (which are not stored: a different kind shows as
 * missing state tensors). Saving is as safe as ag_safetensors_save. */
AG_API bool ag_checkpoint_save(const char *path, const ag_params *model, ag_optim *opt);
/* Restores a checkpoint into a model and an optimizer of the same layout:
 * values, step count and learning rate. Everything — the format tag
 * (AG_ERR_PARSE for a plain model file), the step count and rate, and both
 * groups of tensors, as ag_safetensors_load checks them — is validated
 * before anything changes: on any error the model and the optimizer are as
 * they were. */
AG_API bool ag_checkpoint_load(const char *path, ag_params *model, ag_optim *opt);

/* ------------------------------------------------------------------ */
/* Recurrent layers                                                    */
/* ------------------------------------------------------------------ */

/* PyTorch's nn.RNNCell (tanh), nn.LSTMCell and nn.GRUCell, and one layer
 * of nn.RNN, nn.LSTM and nn.GRU unrolled over a (T, N, I) sequence.
 * A cell's init adds, as those modules' state_dicts name and lay them out,
 * "<name>.weight_ih" (G·H, I), "<name>.weight_hh" (G·H, H) and, when
 * `bias`, "<name>.bias_ih" and "<name>.bias_hh" (G·H), G = 1, 4 (gates
 * i, f, g, o) or 3 (r, z, n), every element drawn from rng uniform in
 * (−1/√H, 1/√H) as PyTorch's reset_parameters draws them. False on error,
 * adding nothing: a NULL p, name or rng (AG_ERR_NULL), sizes below 1
 * (AG_ERR_VALUE), a dtype other than f32/f64 (AG_ERR_DTYPE), a name taken
 * (AG_ERR_VALUE).
 *
 * The forwards read the store: a missing weight is AG_ERR_NOTFOUND naming
 * it; x must be (N, I) (a cell) or (T, N, I) (the unroll), of the weights'
 * dtype; a state h or c, (N, H), may be NULL for zeros (PyTorch's
 * default). Errors name the function and the shapes (AG_ERR_SHAPE,
 * AG_ERR_DTYPE). Results are owned by the tape, valid until ag_tape_reset,
 * and labelled `name`.
 *
 * Truncated backpropagation through time: intermediates die at every
 * reset, so the state a chunk ends with is copied into an ag_rnn_state,
 * whose leaves carry it into the next chunk as constants — the gradient
 * stops there:
 *
 *     ag_rnn_state *s = ag_rnn_state_new(AG_CELL_LSTM, N, H, AG_F32);
 *     for each chunk x (T, N, I) of the sequence:
 *         ag_tensor *h_n, *c_n;
 *         ag_tensor *y = ag_rnn_unroll(p, "lstm", AG_CELL_LSTM, x,
 *                                      ag_rnn_state_h(s), ag_rnn_state_c(s), &h_n, &c_n);
 *         ag_tensor *loss = ...y...;
 *         ag_params_zero_grad(p);
 *         ag_backward(loss);
 *         ag_rnn_state_keep(s, h_n, c_n);   // after backward, before the reset
 *         ag_optim_step(opt);
 *         ag_tape_reset(NULL);
 *     (ag_rnn_state_reset(s) at the start of a new, unrelated sequence)
 *
 * Keeping before backward is caught: keep counts as an in-place change of
 * the state's leaves, so the backward of the graph that read them fails
 * with AG_ERR_STATE instead of using the new values. */
typedef enum ag_cell_kind { AG_CELL_RNN = 0, AG_CELL_LSTM, AG_CELL_GRU } ag_cell_kind;

/* nn.RNNCell(input_size, hidden_size, bias): the init. */
AG_API bool ag_rnn_cell_init(ag_params *p, const char *name, int64_t input_size,
                             int64_t hidden_size, bool bias, ag_dtype dtype, ag_rng *rng);
/* h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), (N, H). */
AG_API ag_tensor *ag_rnn_cell(const ag_params *p, const char *name, ag_tensor *x, ag_tensor *h);
/* nn.LSTMCell(input_size, hidden_size, bias): the init. */
AG_API bool ag_lstm_cell_init(ag_params *p, const char *name, int64_t input_size,
                              int64_t hidden_size, bool bias, ag_dtype dtype, ag_rng *rng);
/* (i, f, g, o) = (σ, σ, tanh, σ)(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) cut in
 * four; c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'), written to *h_out and
 * *c_out (NULL on error; both pointers required, AG_ERR_NULL). */
AG_API bool ag_lstm_cell(const ag_params *p, const char *name, ag_tensor *x, ag_tensor *h,
                         ag_tensor *c, ag_tensor **h_out, ag_tensor **c_out);
/* nn.GRUCell(input_size, hidden_size, bias): the init. */
AG_API bool ag_gru_cell_init(ag_params *p, const char *name, int64_t input_size,
                             int64_t hidden_size, bool bias, ag_dtype dtype, ag_rng *rng);
/* r, z = σ(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z});
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h. */
AG_API ag_tensor *ag_gru_cell(const ag_params *p, const char *name, ag_tensor *x, ag_tensor *h);

/* The cell `kind` made by its init under `name`, run over x (T, N, I) from
 * h0 (and, for an LSTM, c0), (N, H) or NULL for zeros: the (T, N, H)
 * outputs h_1 .. h_T, as nn.LSTM/nn.GRU/nn.RNN's output for one layer.
 * The last state goes to *h_n and *c_n (intermediates; c_n NULL unless an
 * LSTM); either pointer may be NULL when not wanted. All T inputs are
 * projected by one matrix product before the loop. T and N must be >= 1
 * (AG_ERR_SHAPE); c0 for another kind is AG_ERR_VALUE. */
AG_API ag_tensor *ag_rnn_unroll(const ag_params *p, const char *name, ag_cell_kind kind,
                                ag_tensor *x, ag_tensor *h0, ag_tensor *c0, ag_tensor **h_n,
                                ag_tensor **c_n);

/* The recurrent state kept across tape resets (opaque). */
typedef struct ag_rnn_state ag_rnn_state;
/* A new state: h (and c for an LSTM), (batch, hidden) leaves of zeros
 * owned by the state, not requiring grad. Caller owns; free with
 * ag_rnn_state_free. NULL with AG_ERR_VALUE for a bad kind or a size below
 * 1, AG_ERR_DTYPE for a dtype not f32/f64. */
AG_API ag_rnn_state *ag_rnn_state_new(ag_cell_kind kind, int64_t batch, int64_t hidden,
                                      ag_dtype dtype);
/* Frees the state and its tensors. NULL is a no-op. */
AG_API void ag_rnn_state_free(ag_rnn_state *s);
/* The state's h leaf (borrowed, valid until ag_rnn_state_free): pass it
 * as h0. NULL with AG_ERR_NULL for a NULL state. */
AG_API ag_tensor *ag_rnn_state_h(const ag_rnn_state *s);
/* The state's c leaf, or NULL (no error) for a state not an LSTM's. */
AG_API ag_tensor *ag_rnn_state_c(const ag_rnn_state *s);
/* Copies the values of h_n and c_n (the unroll's last state; c_n NULL
 * unless an LSTM) into the state, cutting the graph there. Both are
 * checked (AG_ERR_SHAPE naming shape and dtype, AG_ERR_NULL, AG_ERR_VALUE
 * for a c_n to a state without one) before either is copied. */
AG_API bool ag_rnn_state_keep(ag_rnn_state *s, const ag_tensor *h_n, const ag_tensor *c_n);
/* Sets the state to zeros (a new sequence). AG_ERR_NULL for NULL. */
AG_API void ag_rnn_state_reset(ag_rnn_state *s);

/* Storage for the four pairs of ag_rnn_torch_names. */
typedef struct ag_rnn_names {
    char ours[4][128], theirs[4][128];
    ag_name_map map[4];
} ag_rnn_names;
/* The name map between a cell's tensors and a one-layer nn.LSTM, nn.GRU
 * or nn.RNN's state_dict: "<name>.weight_ih" <-> "<module>weight_ih_l0",
 * and so weight_hh, bias_ih, bias_hh. `module` is the prefix of the
 * PyTorch module's names: "" for the layer's own state_dict, "rnn." for a
 * field `rnn` of a bigger model. Fills *out and returns its four pairs
 * (pointing into *out, valid while it is):
 *     ag_rnn_names names;
 *     ag_safetensors_load_as("lstm.safetensors", p, 4,
 *                            ag_rnn_torch_names(&names, "lstm", ""));
 * NULL with AG_ERR_NULL, or AG_ERR_VALUE for names over 127 bytes. */
AG_API const ag_name_map *ag_rnn_torch_names(ag_rnn_names *out, const char *name,
                                             const char *module);

/* ------------------------------------------------------------------ */
/* Training                                                            */
/* ------------------------------------------------------------------ */

/* A loss for one minibatch, built as an expression: the training helper
 * calls it, runs backward, steps the optimizer and resets the tape. */
typedef ag_tensor *(*ag_loss_fn)(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *targets);
/* The model's logits for evaluation (accuracy: argmax for several columns,
 * logit > 0 for one). Only a classifier has them: ag_train and ag_evaluate
 * take NULL for a model of another loss (regression, an autoencoder, a
 * VAE's ELBO), and then report no accuracy. */
typedef ag_tensor *(*ag_logits_fn)(void *model, ag_tensor *X);

typedef struct ag_train_config {
    int epochs;
    int64_t batch_size;
    uint64_t seed;              /* shuffling */
    const ag_schedule_config *schedule; /* NULL: the optimizer's lr throughout */
    bool quiet;                 /* no progress output */
    FILE *progress;             /* NULL: stderr; a bar on a terminal, plain lines otherwise */
    const char *log_csv;        /* NULL, or a file for one line per epoch:
                                   epoch,train_loss,test_loss,test_accuracy,seconds
                                   (no test_accuracy column without a logits function) */
    const char *plot_script;    /* NULL, or a gnuplot script to write: `gnuplot <it>` draws
                                   the loss curves and (with logits) the accuracy curve
                                   from the log (log_csv, or <it>.csv) to <it less
                                   .gp>.png, also while training runs; the library itself
                                   starts no process */
    bool stop_on_nan;           /* stop with AG_ERR_NUMERIC when a loss is not finite */
    ag_params *params;          /* NULL, or the model's store: in evaluation mode
                                   (ag_params_set_training) while `test` is evaluated, back
                                   to its mode after, as PyTorch's model.eval() and
                                   model.train() around a validation pass; dropout and
                                   batch norm read it */
} ag_train_config;

typedef struct ag_epoch_stats {
    int epoch;
    double train_loss;     /* mean over the epoch's batches */
    double test_loss;      /* NAN without a test set */
    double test_accuracy;  /* NAN without a test set or a logits function */
    double seconds;
    double examples_per_s;
} ag_epoch_stats;

/* Trains for cfg->epochs over `train`, evaluating on `test` (may be NULL)
 * after every epoch. `stats` (may be NULL) receives the last epoch's
 * figures. Returns false on error (the message says which epoch and step);
 * the failed step's graph is left on the tape for inspection (reset it).
 * `model` is only handed to loss and logits (it may be NULL if they do not
 * need it). `logits` may be NULL for a model that is no classifier: the
 * epoch line then shows the test loss only, test_accuracy is NAN, the log
 * and plot have no accuracy, and the labels need not be classes (with
 * logits, a label outside 0 .. n_classes - 1 is AG_ERR_VALUE before
 * training starts). NULL loss, opt, train or cfg is AG_ERR_NULL. */
AG_API bool ag_train(void *model, ag_loss_fn loss, ag_logits_fn logits, ag_optim *opt,
              const ag_dataset *train, const ag_dataset *test, const ag_train_config *cfg,
              ag_epoch_stats *stats);

/* Accuracy and mean loss of a model on a data set, in batches, without
 * recording. loss may be NULL (then *mean_loss is NAN), or logits (then
 * *accuracy is NAN and labels need not be classes), but not both; accuracy
 * and mean_loss may be NULL (that figure is not stored). NULL d, or NULL
 * loss and logits, is AG_ERR_NULL. */
AG_API bool ag_evaluate(void *model, ag_loss_fn loss, ag_logits_fn logits, const ag_dataset *d,
                 int64_t batch_size, double *accuracy, double *mean_loss);

/* ------------------------------------------------------------------ */
/* Pictures, and checking a whole model's gradient                     */
/* ------------------------------------------------------------------ */

/* Writes a batch of images as one PNG grid, as torchvision's make_grid and
 * save_image lay it out. t is (N, H, W) (grey), (N, 1, H, W) (grey) or
 * (N, 3, H, W) (RGB), f32 or f64; values are mapped from [lo, hi] to
 * 0..255 (clamped, x·255 + 0.5 truncated; NaN is 0); lo == hi maps each
 * image from its own minimum and maximum (an image of one value is black).
 * `nrow` images per row of the grid (0: ceil(sqrt(N)); at most N are
 * used), `pad` pixels of grey (128) border around and between the images,
 * and `scale` >= 1 repeats each pixel scale×scale times, so that 8×8
 * digits can be seen: the picture is cols·(W·scale + pad) + pad pixels
 * wide, and as tall by the rows. Cells past the last image stay grey. t is
 * borrowed. The file goes to a temporary "<path>.tmp.<pid>.<n>" beside it,
 * then is synced and renamed over `path`, so a failed save leaves any old
 * file as it was. Returns false with: AG_ERR_NULL; AG_ERR_STALE; AG_ERR_DTYPE
 * for i64; AG_ERR_SHAPE (naming the shape) for another shape or an empty
 * dimension; AG_ERR_VALUE for nrow or pad < 0, scale < 1, a range that is
 * not finite lo <= hi, a picture over 1,000,000 pixels on a side, and for
 * a library built without libpng (the message says so); AG_ERR_IO naming
 * the path and the system's reason when the file cannot be created,
 * written, synced or renamed. */
AG_API bool ag_save_png_grid(const char *path, const ag_tensor *t, int nrow, int pad, int scale,
                             double lo, double hi);

/* A model's scalar loss, built with ops from the tensors of the store
 * (read with ag_params_get or ag_params_at). It must not depend on a fixed
 * dtype: ag_gradcheck_model calls it with an f64 copy of the store, so the
 * data it mixes in must be f64 too (keep an f64 copy in ctx). */
typedef ag_tensor *(*ag_model_fn)(const ag_params *p, void *ctx);

/* The options are tools.h's (ag_gradcheck_defaults); named here so that
 * this header does not need that one (C11 allows the typedef twice). */
typedef struct ag_gradcheck_opts ag_gradcheck_opts;

typedef struct ag_model_gradcheck_report {
    bool pass;               /* every checked element passed */
    size_t n_checked;        /* elements compared (kinks included) */
    size_t n_kinks;          /* elements at a kink holding a valid subgradient: not failed */
    char worst_param[128];   /* the store name of the tensor with the worst element ... */
    size_t worst_index;      /* ... and that element's flat (row-major) index */
    double analytic;         /* the gradient from the vjp rules there */
    double numeric;          /* the central difference there */
    double max_abs_err;      /* over every element */
    double max_rel_err;      /* |a - n| / |n|, over elements whose |n| > atol */
    double nondet_diff;      /* largest difference between two analytic runs */
    /* Filled when opts->per_node is set and the check failed: */
    long culprit_node;       /* tape position of the first wrong node, or -1 */
    char culprit_op[64];     /* its op */
    char culprit_label[32];  /* its label (ag_set_label), "" when none */
    char culprit[256];       /* one line: "node 3: op 'swish' label 'h' inputs (2,3) ..." */
} ag_model_gradcheck_report;

/* Checks every element of every parameter of p against central
 * differences, as ag_gradcheck checks its inputs (same options, defaults
 * and tolerance |analytic - numeric| <= atol + rtol·|numeric| +
 * nondet_tol, kinks allowed), with no limit on the number of tensors. The
 * parameters checked are those that require grad (all float ones when none
 * does); f32 and f64 alike are copied into a new f64 store, on which f runs
 * — p is read only, left bit for bit as it was, and its gradients
 * untouched. f runs on a private tape (the current one is left as it
 * was): twice with backward, then twice per element. The report (may be
 * NULL) names the worst element by its tensor's store name and flat
 * index. With opts->per_node set and a failure, the recorded graph is
 * handed to ag_gradcheck_nodes, and the first node whose rule is wrong is
 * copied into the report (culprit_*). opts may be NULL for the defaults.
 * Returns whether all passed; false with AG_ERR_NULL for a NULL f or p,
 * AG_ERR_VALUE for a bad eps or tolerance, AG_ERR_SHAPE when f gives
 * anything but one float element, and f's own error when it gives NULL. */
AG_API bool ag_gradcheck_model(ag_model_fn f, void *ctx, const ag_params *p,
                               const ag_gradcheck_opts *opts,
                               ag_model_gradcheck_report *report);
/* Prints the report in up to three lines: the verdict and count, the
 * worst element with both values, the culprit. A NULL f or report records
 * AG_ERR_NULL. */
AG_API void ag_model_gradcheck_fprint(FILE *f, const ag_model_gradcheck_report *report);

/* ------------------------------------------------------------------ */
/* Line plots (loss curves) as PNG                                     */
/* ------------------------------------------------------------------ */

/* One curve: n points (x[i], y[i]); x NULL means 0, 1, 2, ... . Borrowed
 * for the call. A point whose x or y is NaN or infinite (or, on a log
 * axis, whose y is <= 0) is skipped and breaks the line there; a point
 * with no drawn neighbour is a dot. */
typedef struct ag_plot_series {
    const char *name;  /* in the legend; NULL or "" leaves it out */
    const double *x;   /* NULL: the index */
    const double *y;   /* may be NULL only when n == 0 */
    int64_t n;         /* >= 0 */
} ag_plot_series;

typedef struct ag_plot_opts {
    const char *title, *xlabel, *ylabel; /* each may be NULL (none) */
    int width, height;                   /* pixels, each 160 .. 4000 */
    bool log_y;                          /* a logarithmic y axis */
} ag_plot_opts;

/* No title or labels, 640 × 400 pixels, a linear y axis. */
AG_API ag_plot_opts ag_plot_defaults(void);

/* Draws up to 10 series as lines and writes the picture to `path` as an
 * RGB PNG, without any external program: white background, a framed plot
 * area with light grid lines at "nice" ticks (1, 2 or 5 times a power of
 * ten; on a log axis powers of ten), numeric tick labels, the title above
 * and the axis labels below and to the left, and a legend of the named
 * series in the corner of the plot area the lines cross least. Series k is
 * drawn in colour k of matplotlib's tab10 palette (#1f77b4, #ff7f0e,
 * #2ca02c, #d62728, #9467bd, #8c564b, #e377c2, #7f7f7f, #bcbd22, #17becf),
 * anti-aliased, about 2 pixels wide (more on large pictures); text is a
 * built-in 5×7 font of printable ASCII, other bytes drawn as boxes. Each
 * axis spans the range of the drawn points widened by 5% of it on both
 * sides (in log10(y) on a log axis; a single value v is first widened to
 * v ± |v|/10, or ± 1 when v is 0, or ± half a decade on a log axis), and
 * maps linearly onto the plot area, the lowest value to its left or bottom
 * edge. A series with no drawable point is fine when another has one;
 * long series are fine (each pixel column draws only the first, lowest,
 * highest and last point that fall in it). opts may be NULL (defaults).
 * The file is written to a temporary beside `path`, synced and renamed
 * over it, as ag_save_png_grid does. Returns false with AG_ERR_NULL (path,
 * series, or a series' y with n > 0); AG_ERR_VALUE for n_series outside
 * 1 .. 10, a negative n, a width or height outside 160 .. 4000 (or too
 * small to leave a plot area of 32 × 32 beside the tick labels), no
 * drawable point in any series (or no positive y on a log axis), values
 * whose range a double cannot hold, and for a library built without
 * libpng (the message says so); AG_ERR_NOMEM; AG_ERR_IO naming the path
 * and the system's reason. */
AG_API bool ag_save_png_plot(const char *path, int n_series, const ag_plot_series *series,
                             const ag_plot_opts *opts);

#ifdef __cplusplus
}
#endif

#include "ag_locations.h"

#endif

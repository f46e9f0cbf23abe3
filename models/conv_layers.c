/* SPDX-License-Identifier: MIT */
/* conv_layers.c — convolution, normalisation and dropout layers on the
 * named parameter store.
 *
 * Each layer is a pair, as ag_linear is: an init that adds the layer's
 * tensors to a store under PyTorch's names and layouts (so a state_dict
 * saved by PyTorch loads into it), and a function that builds the layer's
 * expression from the store. Options that are not parameters (stride,
 * padding, groups of a group norm) are arguments of the forward, as in
 * torch.nn.functional. Each output is labelled with the layer's name so
 * that ag_explain and the per-node gradient checker name the layer. */
#include "models_internal.h"
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The checks and names both convolution inits share; `a` and `b` are the
 * weight's first two dimensions (out, in/groups for conv2d; in,
 * out/groups for its transpose). */
static bool conv_init(const char *op, ag_params *p, const char *name, int64_t in, int64_t out,
                      int64_t kh, int64_t kw, int64_t groups, bool bias, ag_dtype dtype,
                      ag_init init, ag_rng *rng, bool transposed)
{
    char w[128], b[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return false;
    }
    if (!ag_layer_name(op, w, sizeof w, name, "weight") ||
        !ag_layer_name(op, b, sizeof b, name, "bias") ||
        !ag_layer_positive(op, "in_channels", in) || !ag_layer_positive(op, "out_channels", out) ||
        !ag_layer_positive(op, "kernel height", kh) || !ag_layer_positive(op, "kernel width", kw) ||
        !ag_layer_positive(op, "groups", groups) || !ag_layer_float_dtype(op, dtype))
        return false;
    if (in % groups || out % groups) {
        ag_error_set(AG_ERR_VALUE,
                     "%s: groups %lld must divide in_channels %lld and out_channels %lld", op,
                     (long long)groups, (long long)in, (long long)out);
        return false;
    }
    if (init != AG_INIT_ZEROS && !rng) {
        ag_error_set(AG_ERR_NULL, "%s: rng is NULL (seed one with ag_rng_seed)", op);
        return false;
    }
    if (ag_layer_name_taken(p, w) || (bias && ag_layer_name_taken(p, b))) {
        ag_error_set(AG_ERR_VALUE, "%s: layer '%.100s' exists already", op, name);
        return false;
    }
    int64_t shape[4] = {transposed ? in : out, (transposed ? out : in) / groups, kh, kw};
    ag_tensor *weight = ag_init_tensor(dtype, 4, shape, init, rng);
    if (!weight || !ag_params_add(p, w, weight))
        return false;
    return !bias || ag_params_add(p, b, ag_zeros(dtype, 1, &out));
}

bool ag_conv2d_init(ag_params *p, const char *name, int64_t in_channels, int64_t out_channels,
                    int64_t kh, int64_t kw, int64_t groups, bool bias, ag_dtype dtype, ag_init init,
                    ag_rng *rng)
{
    return conv_init("conv2d_init", p, name, in_channels, out_channels, kh, kw, groups, bias,
                     dtype, init, rng, false);
}

bool ag_conv_transpose2d_init(ag_params *p, const char *name, int64_t in_channels,
                              int64_t out_channels, int64_t kh, int64_t kw, int64_t groups,
                              bool bias, ag_dtype dtype, ag_init init, ag_rng *rng)
{
    return conv_init("conv_transpose2d_init", p, name, in_channels, out_channels, kh, kw, groups,
                     bias, dtype, init, rng, true);
}

/* The layer's tensor `what`, or NULL; a missing bias is not an error. */
static ag_tensor *optional(const ag_params *p, const char *name)
{
    return ag_layer_name_taken(p, name) ? ag_params_get(p, name) : NULL;
}

static ag_tensor *labelled(ag_tensor *y, const char *name)
{
    if (y)
        ag_set_label(y, name);
    return y;
}

typedef ag_tensor *(*conv_fn)(ag_tensor *x, ag_tensor *weight, ag_tensor *bias,
                              const ag_conv_opts *opts);

/* Either convolution with the layer's weight and (optional) bias. */
static ag_tensor *conv_layer(const char *op, conv_fn conv, const ag_params *p, const char *name,
                             ag_tensor *x, const ag_conv_opts *opts)
{
    char w[128], b[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return NULL;
    }
    if (!ag_check_inputs(op, 1, &x) || !ag_layer_name(op, w, sizeof w, name, "weight") ||
        !ag_layer_name(op, b, sizeof b, name, "bias"))
        return NULL;
    ag_tensor *weight = ag_params_get(p, w);
    if (!weight)
        return NULL;
    return labelled(conv(x, weight, optional(p, b), opts), name);
}

ag_tensor *ag_conv2d_layer(const ag_params *p, const char *name, ag_tensor *x,
                           const ag_conv_opts *opts)
{
    return conv_layer("conv2d_layer", ag_conv2d, p, name, x, opts);
}

ag_tensor *ag_conv_transpose2d_layer(const ag_params *p, const char *name, ag_tensor *x,
                                     const ag_conv_opts *opts)
{
    return conv_layer("conv_transpose2d_layer", ag_conv_transpose2d, p, name, x, opts);
}

/* ---- normalisation ---- */

/* Adds "<name>.weight" (ones) and "<name>.bias" (zeros) of `shape`. */
static bool affine_params(const char *op, ag_params *p, const char *name, int ndim,
                          const int64_t *shape, ag_dtype dtype)
{
    char w[128], b[128];
    if (!ag_layer_name(op, w, sizeof w, name, "weight") ||
        !ag_layer_name(op, b, sizeof b, name, "bias"))
        return false;
    if (ag_layer_name_taken(p, w) || ag_layer_name_taken(p, b)) {
        ag_error_set(AG_ERR_VALUE, "%s: layer '%.100s' exists already", op, name);
        return false;
    }
    return ag_params_add(p, w, ag_ones(dtype, ndim, shape)) &&
           ag_params_add(p, b, ag_zeros(dtype, ndim, shape));
}

/* A store entry that is state, not a parameter: never trained. */
static bool add_buffer(ag_params *p, const char *name, const char *what, ag_tensor *t)
{
    char full[128];
    if (!ag_layer_name("batch_norm_init", full, sizeof full, name, what)) {
        ag_tensor_free(t);
        return false;
    }
    if (!ag_params_add(p, full, t))
        return false;
    return ag_tensor_dtype(t) == AG_I64 || ag_set_requires_grad(t, false);
}

bool ag_batch_norm_init(ag_params *p, const char *name, int64_t num_features, ag_dtype dtype)
{
    const char *op = "batch_norm_init";
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return false;
    }
    if (!ag_layer_positive(op, "num_features", num_features) || !ag_layer_float_dtype(op, dtype))
        return false;
    char rm[128];
    if (!ag_layer_name(op, rm, sizeof rm, name, "running_mean"))
        return false;
    if (ag_layer_name_taken(p, rm)) {
        ag_error_set(AG_ERR_VALUE, "%s: layer '%.100s' exists already", op, name);
        return false;
    }
    return affine_params(op, p, name, 1, &num_features, dtype) &&
           add_buffer(p, name, "running_mean", ag_zeros(dtype, 1, &num_features)) &&
           add_buffer(p, name, "running_var", ag_ones(dtype, 1, &num_features)) &&
           add_buffer(p, name, "num_batches_tracked", ag_zeros(AG_I64, 0, NULL));
}

/* PyTorch's BatchNorm defaults. */
enum { BN_MOMENTUM_PERCENT = 10 };
static const double bn_eps = 1e-5;

ag_tensor *ag_batch_norm_layer(const ag_params *p, const char *name, ag_tensor *x)
{
    const char *op = "batch_norm_layer";
    char w[128], b[128], rm[128], rv[128], nb[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return NULL;
    }
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    if (!ag_layer_name(op, w, sizeof w, name, "weight") ||
        !ag_layer_name(op, b, sizeof b, name, "bias") ||
        !ag_layer_name(op, rm, sizeof rm, name, "running_mean") ||
        !ag_layer_name(op, rv, sizeof rv, name, "running_var") ||
        !ag_layer_name(op, nb, sizeof nb, name, "num_batches_tracked"))
        return NULL;
    bool training = ag_params_training(p);
    ag_tensor *y =
        ag_batch_norm(x, ag_params_get(p, rm), ag_params_get(p, rv), ag_params_get(p, w),
                      ag_params_get(p, b), training, BN_MOMENTUM_PERCENT / 100.0, bn_eps);
    if (y && training) {
        ag_tensor *count = optional(p, nb);
        if (count && ag_tensor_dtype(count) == AG_I64 && ag_numel(count) == 1)
            ag_set_flat(count, 0, ag_get_flat(count, 0) + 1);
    }
    return labelled(y, name);
}

bool ag_layer_norm_init(ag_params *p, const char *name, int ndim, const int64_t *shape,
                        ag_dtype dtype)
{
    const char *op = "layer_norm_init";
    if (!p || !name || !shape) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, !p ? "params" : !name ? "name" : "shape");
        return false;
    }
    if (ndim < 1 || ndim > AG_MAX_DIMS) {
        ag_error_set(AG_ERR_VALUE, "%s: %d normalised dimensions; 1 to %d", op, ndim, AG_MAX_DIMS);
        return false;
    }
    for (int i = 0; i < ndim; i++)
        if (!ag_layer_positive(op, "a normalised dimension", shape[i]))
            return false;
    return ag_layer_float_dtype(op, dtype) && affine_params(op, p, name, ndim, shape, dtype);
}

ag_tensor *ag_layer_norm_layer(const ag_params *p, const char *name, ag_tensor *x)
{
    const char *op = "layer_norm_layer";
    char w[128], b[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return NULL;
    }
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    if (!ag_layer_name(op, w, sizeof w, name, "weight") ||
        !ag_layer_name(op, b, sizeof b, name, "bias"))
        return NULL;
    ag_tensor *weight = ag_params_get(p, w);
    if (!weight)
        return NULL;
    return labelled(ag_layer_norm(x, ag_ndim(weight), weight, ag_params_get(p, b), bn_eps), name);
}

bool ag_group_norm_init(ag_params *p, const char *name, int64_t num_channels, ag_dtype dtype)
{
    const char *op = "group_norm_init";
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return false;
    }
    return ag_layer_positive(op, "num_channels", num_channels) && ag_layer_float_dtype(op, dtype) &&
           affine_params(op, p, name, 1, &num_channels, dtype);
}

ag_tensor *ag_group_norm_layer(const ag_params *p, const char *name, ag_tensor *x, int64_t groups)
{
    const char *op = "group_norm_layer";
    char w[128], b[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return NULL;
    }
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    if (!ag_layer_name(op, w, sizeof w, name, "weight") ||
        !ag_layer_name(op, b, sizeof b, name, "bias"))
        return NULL;
    return labelled(ag_group_norm(x, groups, ag_params_get(p, w), ag_params_get(p, b), bn_eps),
                    name);
}

ag_tensor *ag_dropout_layer(const ag_params *p, ag_tensor *x, double prob)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "dropout_layer: params is NULL");
        return NULL;
    }
    return ag_dropout(x, prob, ag_params_training(p), ag_params_rng(p));
}

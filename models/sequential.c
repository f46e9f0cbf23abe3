/* SPDX-License-Identifier: MIT */
/* sequential.c — layers stacked in order, as PyTorch's nn.Sequential.
 *
 * A list of layer descriptions and a store. Layers are named by their
 * position ("0.weight", "3.bias"), as nn.Sequential's state_dict names
 * them, so the weights of the same stack built in PyTorch load by name;
 * layers without parameters (activations, pooling, flatten) take a
 * position too. The forward is the layers' functions called in order: the
 * model stays an expression, and any store with the same names (a clone
 * in f64 for the model gradient checker) can be run through it. */
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum kind {
    K_CONV2D,
    K_CONV_T2D,
    K_LINEAR,
    K_ACT,
    K_MAX_POOL,
    K_AVG_POOL,
    K_BATCH_NORM,
    K_DROPOUT,
    K_FLATTEN,
    K_UNFLATTEN
} kind;

static const char *const kind_names[] = {
    "conv2d", "conv_transpose2d", "linear", "activation", "max_pool2d",
    "avg_pool2d", "batch_norm", "dropout", "flatten", "unflatten",
};

typedef struct layer {
    kind kind;
    char name[16];      /* its position, "0", "1", ... */
    ag_conv_opts conv;  /* conv2d, conv_transpose2d */
    ag_activation act;
    int64_t kernel[2], stride[2];
    double p;           /* dropout */
    int ndim;           /* unflatten: the shape after the batch dimension */
    int64_t shape[AG_MAX_DIMS];
} layer;

struct ag_sequential {
    ag_params *params;
    ag_dtype dtype;
    ag_init init;
    ag_rng rng;
    layer *layers;
    int n, cap;
};

ag_sequential *ag_sequential_new(ag_dtype dtype, uint64_t seed)
{
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "sequential_new: dtype %s; parameters are f32 or f64",
                     ag_dtype_str(dtype));
        return NULL;
    }
    ag_sequential *s = ag_calloc(1, sizeof *s);
    if (!s || !(s->params = ag_params_new())) {
        ag_free(s);
        ag_error_set(AG_ERR_NOMEM, "sequential_new: out of memory");
        return NULL;
    }
    s->dtype = dtype;
    s->init = AG_INIT_HE_UNIFORM;
    ag_rng_seed(&s->rng, seed);
    ag_params_seed(s->params, seed ^ 0x9e3779b97f4a7c15u); /* dropout's own stream */
    return s;
}

void ag_sequential_free(ag_sequential *s)
{
    if (!s)
        return;
    ag_params_free(s->params);
    ag_free(s->layers);
    ag_free(s);
}

ag_params *ag_sequential_params(const ag_sequential *s)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "sequential_params: model is NULL");
        return NULL;
    }
    return s->params;
}

int ag_sequential_len(const ag_sequential *s)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "sequential_len: model is NULL");
        return 0;
    }
    return s->n;
}

bool ag_sequential_set_init(ag_sequential *s, ag_init init)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "sequential_set_init: model is NULL");
        return false;
    }
    if (init < AG_INIT_ZEROS || init > AG_INIT_HE_NORMAL) {
        ag_error_set(AG_ERR_VALUE, "sequential_set_init: unknown init %d", (int)init);
        return false;
    }
    s->init = init;
    return true;
}

/* A new layer at the end, named by its position; NULL on error (nothing
 * added). The caller fills it and keeps it only if its parameters could
 * be made (pop otherwise). */
static layer *push(const char *op, ag_sequential *s, kind k)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "%s: model is NULL", op);
        return NULL;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 8;
        layer *l = ag_realloc(s->layers, (size_t)cap * sizeof *l);
        if (!l) {
            ag_error_set(AG_ERR_NOMEM, "%s: out of memory", op);
            return NULL;
        }
        s->layers = l;
        s->cap = cap;
    }
    layer *l = &s->layers[s->n++];
    memset(l, 0, sizeof *l);
    l->kind = k;
    snprintf(l->name, sizeof l->name, "%d", s->n - 1);
    return l;
}

static bool keep(ag_sequential *s, bool ok)
{
    if (!ok)
        s->n--;
    return ok;
}

bool ag_seq_conv2d(ag_sequential *s, int64_t in_channels, int64_t out_channels, int64_t kernel,
                   const ag_conv_opts *opts)
{
    layer *l = push("seq_conv2d", s, K_CONV2D);
    if (!l)
        return false;
    l->conv = opts ? *opts : ag_conv_defaults();
    return keep(s, ag_conv2d_init(s->params, l->name, in_channels, out_channels, kernel, kernel,
                                  l->conv.groups, true, s->dtype, s->init, &s->rng));
}

bool ag_seq_conv_transpose2d(ag_sequential *s, int64_t in_channels, int64_t out_channels,
                             int64_t kernel, const ag_conv_opts *opts)
{
    layer *l = push("seq_conv_transpose2d", s, K_CONV_T2D);
    if (!l)
        return false;
    l->conv = opts ? *opts : ag_conv_defaults();
    return keep(s, ag_conv_transpose2d_init(s->params, l->name, in_channels, out_channels, kernel,
                                            kernel, l->conv.groups, true, s->dtype, s->init,
                                            &s->rng));
}

bool ag_seq_linear(ag_sequential *s, int64_t in_features, int64_t out_features)
{
    layer *l = push("seq_linear", s, K_LINEAR);
    if (!l)
        return false;
    return keep(s, ag_linear_init(s->params, l->name, in_features, out_features, s->dtype,
                                  s->init, &s->rng));
}

bool ag_seq_activation(ag_sequential *s, ag_activation act)
{
    layer *l = push("seq_activation", s, K_ACT);
    if (!l)
        return false;
    l->act = act;
    /* Checked now rather than at the first forward. */
    bool ok = act == AG_ACT_NONE || act == AG_ACT_SIGMOID || act == AG_ACT_TANH ||
              act == AG_ACT_RELU;
    if (!ok)
        ag_error_set(AG_ERR_VALUE, "seq_activation: unknown activation %d", (int)act);
    return keep(s, ok);
}

static bool pool(const char *op, ag_sequential *s, kind k, int64_t kernel, int64_t stride)
{
    layer *l = push(op, s, k);
    if (!l)
        return false;
    bool ok = kernel >= 1 && stride >= 0;
    if (!ok)
        ag_error_set(AG_ERR_VALUE, "%s: kernel %lld and stride %lld; kernel >= 1, stride >= 1 "
                     "(0: the kernel's)", op, (long long)kernel, (long long)stride);
    l->kernel[0] = l->kernel[1] = kernel;
    l->stride[0] = l->stride[1] = stride ? stride : kernel;
    return keep(s, ok);
}

bool ag_seq_max_pool2d(ag_sequential *s, int64_t kernel, int64_t stride)
{
    return pool("seq_max_pool2d", s, K_MAX_POOL, kernel, stride);
}

bool ag_seq_avg_pool2d(ag_sequential *s, int64_t kernel, int64_t stride)
{
    return pool("seq_avg_pool2d", s, K_AVG_POOL, kernel, stride);
}

bool ag_seq_batch_norm(ag_sequential *s, int64_t num_features)
{
    layer *l = push("seq_batch_norm", s, K_BATCH_NORM);
    if (!l)
        return false;
    return keep(s, ag_batch_norm_init(s->params, l->name, num_features, s->dtype));
}

bool ag_seq_dropout(ag_sequential *s, double p)
{
    layer *l = push("seq_dropout", s, K_DROPOUT);
    if (!l)
        return false;
    l->p = p;
    bool ok = p >= 0 && p <= 1;
    if (!ok)
        ag_error_set(AG_ERR_VALUE, "seq_dropout: probability %g; it must be in [0, 1]", p);
    return keep(s, ok);
}

bool ag_seq_flatten(ag_sequential *s)
{
    return push("seq_flatten", s, K_FLATTEN) != NULL;
}

bool ag_seq_unflatten(ag_sequential *s, int ndim, const int64_t *shape)
{
    if (!shape && ndim > 0) {
        ag_error_set(AG_ERR_NULL, "seq_unflatten: shape is NULL");
        return false;
    }
    layer *l = push("seq_unflatten", s, K_UNFLATTEN);
    if (!l)
        return false;
    bool ok = ndim >= 1 && ndim < AG_MAX_DIMS;
    if (!ok)
        ag_error_set(AG_ERR_VALUE, "seq_unflatten: %d dimensions; 1 to %d after the batch's", ndim,
                     AG_MAX_DIMS - 1);
    for (int i = 0; ok && i < ndim; i++) {
        ok = shape[i] >= 1;
        if (!ok)
            ag_error_set(AG_ERR_VALUE, "seq_unflatten: dimension %d is %lld; it must be >= 1", i,
                         (long long)shape[i]);
        l->shape[i] = shape[i];
    }
    l->ndim = ndim;
    return keep(s, ok);
}

/* (N, ...) -> (N, rest) or (N, ...) -> (N, shape...). */
static ag_tensor *reshape_batch(ag_tensor *x, int ndim, const int64_t *shape)
{
    if (!x)
        return NULL;
    int64_t to[AG_MAX_DIMS];
    to[0] = ag_ndim(x) ? ag_dim(x, 0) : 1;
    if (ndim == 0) {
        int64_t rest = 1;
        for (int i = 1; i < ag_ndim(x); i++)
            rest *= ag_dim(x, i);
        to[1] = rest;
        return ag_reshape(x, 2, to);
    }
    memcpy(to + 1, shape, (size_t)ndim * sizeof *shape);
    return ag_reshape(x, ndim + 1, to);
}

static ag_tensor *run(const layer *l, const ag_params *p, ag_tensor *x)
{
    switch (l->kind) {
    case K_CONV2D: return ag_conv2d_layer(p, l->name, x, &l->conv);
    case K_CONV_T2D: return ag_conv_transpose2d_layer(p, l->name, x, &l->conv);
    case K_LINEAR: return ag_linear(p, l->name, x);
    case K_ACT: return ag_activate(x, l->act);
    case K_MAX_POOL: return ag_max_pool2d(x, l->kernel, l->stride, NULL);
    case K_AVG_POOL: return ag_avg_pool2d(x, l->kernel, l->stride, NULL, true);
    case K_BATCH_NORM: return ag_batch_norm_layer(p, l->name, x);
    case K_DROPOUT: return ag_dropout_layer(p, x, l->p);
    case K_FLATTEN: return reshape_batch(x, 0, NULL);
    case K_UNFLATTEN: return reshape_batch(x, l->ndim, l->shape);
    }
    return NULL;
}

ag_tensor *ag_sequential_apply(const ag_sequential *s, const ag_params *p, ag_tensor *x)
{
    if (!s || !p) {
        ag_error_set(AG_ERR_NULL, "sequential_apply: %s is NULL", s ? "store" : "model");
        return NULL;
    }
    if (!ag_check_inputs("sequential", 1, &x))
        return NULL;
    for (int i = 0; i < s->n; i++) {
        const layer *l = &s->layers[i];
        ag_tensor *y = run(l, p, x);
        if (!y) {
            /* Say which layer, keeping the op's own message after it. */
            char msg[512];
            snprintf(msg, sizeof msg, "%s", ag_last_error());
            ag_status st = ag_last_status();
            ag_error_clear();
            ag_error_set(st == AG_OK ? AG_ERR_VALUE : st, "sequential: layer %s (%s): %s", l->name,
                         kind_names[l->kind], msg);
            return NULL;
        }
        /* Parameterised layers label their output with their name; the
         * others take the position and kind, so every step is named. */
        const char *had = ag_label(y);
        if (y != x && (!had || !*had)) {
            char label[40];
            snprintf(label, sizeof label, "%s.%s", l->name, kind_names[l->kind]);
            ag_set_label(y, label);
        }
        x = y;
    }
    return x;
}

ag_tensor *ag_sequential_forward(const ag_sequential *s, ag_tensor *x)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "sequential_forward: model is NULL");
        return NULL;
    }
    return ag_sequential_apply(s, s->params, x);
}

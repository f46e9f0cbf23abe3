/* SPDX-License-Identifier: MIT */
/* layers.c — layers and models as expression builders.
 *
 * A layer is a function from named parameters and an input to an expression;
 * a model is its parameters plus a forward function. Nothing here computes a
 * gradient: logistic regression, softmax regression and the MLP are trained
 * through the tape like any user's model. */
#include "op.h"

#include <math.h>
#include <string.h>

/* The checks every constructor makes before it adds anything to a store,
 * so a refused call leaves no half-built layer behind: enums are checked
 * by value (a cast int such as 99 is no activation), dtypes are float (an
 * i64 weight holds its draws truncated to zeros), sizes >= 1. */
static bool float_dtype_ok(const char *op, ag_dtype dtype)
{
    if (dtype == AG_F32 || dtype == AG_F64)
        return true;
    ag_error_set(AG_ERR_DTYPE, "%s: dtype %s (%d); parameters are f32 or f64", op,
                 ag_dtype_str(dtype), (int)dtype);
    return false;
}

static bool activation_ok(const char *op, ag_activation act)
{
    if (act == AG_ACT_NONE || act == AG_ACT_SIGMOID || act == AG_ACT_TANH || act == AG_ACT_RELU)
        return true;
    ag_error_set(AG_ERR_VALUE,
                 "%s: unknown activation %d (AG_ACT_NONE, _SIGMOID, _TANH or _RELU)", op,
                 (int)act);
    return false;
}

static bool init_ok(const char *op, ag_init init)
{
    if (init >= AG_INIT_ZEROS && init <= AG_INIT_HE_NORMAL)
        return true;
    ag_error_set(AG_ERR_VALUE, "%s: unknown init %d", op, (int)init);
    return false;
}

static bool size_ok(const char *op, const char *what, int64_t n)
{
    if (n >= 1)
        return true;
    ag_error_set(AG_ERR_SHAPE, "%s: %s is %lld; it must be >= 1", op, what, (long long)n);
    return false;
}

/* Whether p holds `name`, without leaving the lookup's AG_ERR_NOTFOUND. */
static bool name_taken(const ag_params *p, const char *name)
{
    bool pending = ag_last_status() != AG_OK;
    bool taken = ag_params_get(p, name) != NULL;
    if (!taken && !pending)
        ag_error_clear();
    return taken;
}

ag_tensor *ag_activate(ag_tensor *x, ag_activation act)
{
    if (!ag_check_inputs("activate", 1, &x))
        return NULL;
    switch (act) {
    case AG_ACT_NONE: return x;
    case AG_ACT_SIGMOID: return ag_sigmoid(x);
    case AG_ACT_TANH: return ag_tanh(x);
    case AG_ACT_RELU: return ag_relu(x);
    }
    ag_error_set(AG_ERR_VALUE, "activate: unknown activation %d", (int)act);
    return NULL;
}

/* x·W + b (the regressions' W is (d, k), as their formulas write it): one
 * affine node when the shapes are a batch, a matrix and a bias that fit;
 * anything else through matmul and add, with numpy's rules and their error
 * messages. */
static ag_tensor *affine(ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    if (x && W && b && ag_ndim(x) == 2 && ag_ndim(W) == 2 && ag_ndim(b) == 1 &&
        ag_dim(x, 1) == ag_dim(W, 0) && ag_dim(W, 1) == ag_dim(b, 0))
        return ag_affine(x, W, b);
    return ag_add(ag_matmul(x, W), b);
}

/* Whether x, W (out, in) and b are a batch, a weight and a bias that
 * affine_t takes as one node. */
static bool affine_t_fits(ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    return x && W && b && ag_ndim(x) == 2 && ag_ndim(W) == 2 && ag_ndim(b) == 1 &&
           ag_dim(x, 1) == ag_dim(W, 1) && ag_dim(W, 0) == ag_dim(b, 0);
}

/* x·Wᵀ + b with W stored (out, in), as PyTorch's nn.Linear stores it (the
 * layers' weights): affine_t, or the same fallback. */
static ag_tensor *affine_out_in(ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    if (affine_t_fits(x, W, b))
        return ag_affine_t(x, W, b);
    return ag_add(ag_matmul(x, W && ag_ndim(W) == 2 ? ag_transpose2d(W) : W), b);
}

/* relu(x·Wᵀ + b) in one node (ag_affine_t_relu) when affine_out_in would
 * make one affine_t node; otherwise the two steps. */
static ag_tensor *affine_out_in_relu(ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    if (affine_t_fits(x, W, b))
        return ag_affine_t_relu(x, W, b);
    return ag_relu(affine_out_in(x, W, b));
}

/* An (out, in) weight initialised as ag_init_matrix draws an (in, out) one,
 * element for element transposed: the same numbers as before the layers
 * took PyTorch's layout, so seeded runs keep their trajectories. */
static ag_tensor *init_weight(ag_dtype dtype, int64_t in, int64_t out, ag_init init, ag_rng *rng)
{
    ag_tensor *drawn = ag_init_matrix(dtype, in, out, init, rng);
    ag_tensor *w = drawn ? ag_zeros(dtype, 2, (int64_t[]){out, in}) : NULL;
    if (w) {
        size_t es = ag_dtype_size(dtype);
        const char *src = ag_data_const(drawn);
        char *dst = ag_data(w);
        for (int64_t i = 0; i < in; i++)
            for (int64_t o = 0; o < out; o++)
                memcpy(dst + (size_t)(o * in + i) * es, src + (size_t)(i * out + o) * es, es);
    }
    ag_tensor_free(drawn);
    return w;
}

static bool param_name(char *buf, size_t size, const char *layer, const char *what)
{
    if ((size_t)snprintf(buf, size, "%s.%s", layer, what) >= size) {
        ag_error_set(AG_ERR_VALUE, "linear: layer name '%.40s...' is too long", layer);
        return false;
    }
    return true;
}

bool ag_linear_init(ag_params *p, const char *name, int64_t in, int64_t out, ag_dtype dtype,
                    ag_init init, ag_rng *rng)
{
    char w[128], b[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "linear_init: %s is NULL", p ? "name" : "params");
        return false;
    }
    if (!param_name(w, sizeof w, name, "weight") || !param_name(b, sizeof b, name, "bias") ||
        !size_ok("linear_init", "in", in) || !size_ok("linear_init", "out", out) ||
        !float_dtype_ok("linear_init", dtype) || !init_ok("linear_init", init))
        return false;
    if (init != AG_INIT_ZEROS && !rng) {
        ag_error_set(AG_ERR_NULL, "linear_init: rng is NULL (seed one with ag_rng_seed)");
        return false;
    }
    /* Both names free before either is added: a taken bias name must not
     * leave the weight behind. */
    if (name_taken(p, w) || name_taken(p, b)) {
        ag_error_set(AG_ERR_VALUE, "linear_init: layer '%.100s' exists already", name);
        return false;
    }
    return ag_params_add(p, w, init_weight(dtype, in, out, init, rng)) &&
           ag_params_add(p, b, ag_zeros(dtype, 1, &out));
}

/* y = x·Wᵀ + b, the bias broadcast over the batch. */
ag_tensor *ag_linear(const ag_params *p, const char *name, ag_tensor *x)
{
    char w[128], b[128];
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "linear: %s is NULL", p ? "name" : "params");
        return NULL;
    }
    if (!param_name(w, sizeof w, name, "weight") || !param_name(b, sizeof b, name, "bias"))
        return NULL;
    /* Labelled with the layer's name, so that explanations and the
     * per-node checker say which layer a node belongs to. */
    ag_tensor *y = affine_out_in(x, ag_params_get(p, w), ag_params_get(p, b));
    if (y)
        ag_set_label(y, name);
    return y;
}

_Static_assert(sizeof((ag_mlp *)0)->weight / sizeof(ag_tensor *) + 1 ==
                   sizeof((ag_mlp *)0)->sizes / sizeof(int64_t),
               "ag_mlp: a weight and a bias per pair of consecutive sizes");

ag_mlp *ag_mlp_new(int n_sizes, const int64_t *sizes, ag_activation act, ag_dtype dtype,
                   ag_rng *rng)
{
    int max_sizes = (int)(sizeof((ag_mlp *)0)->sizes / sizeof(int64_t));
    if (!sizes) {
        ag_error_set(AG_ERR_NULL, "mlp_new: sizes is NULL");
        return NULL;
    }
    if (n_sizes < 2 || n_sizes > max_sizes) {
        ag_error_set(AG_ERR_VALUE, "mlp_new: %d layer sizes; an MLP has 2 to %d", n_sizes,
                     max_sizes);
        return NULL;
    }
    if (!activation_ok("mlp_new", act) || !float_dtype_ok("mlp_new", dtype))
        return NULL;
    for (int l = 0; l < n_sizes; l++)
        if (sizes[l] < 1) {
            ag_error_set(AG_ERR_SHAPE, "mlp_new: sizes[%d] is %lld; every layer size must be >= 1",
                         l, (long long)sizes[l]);
            return NULL;
        }
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "mlp_new: rng is NULL (seed one with ag_rng_seed)");
        return NULL;
    }
    ag_mlp *m = ag_calloc(1, sizeof *m);
    if (!m) {
        ag_error_set(AG_ERR_NOMEM, "mlp_new: out of memory");
        return NULL;
    }
    m->params = ag_params_new();
    m->n_layers = n_sizes - 1;
    m->act = act;
    memcpy(m->sizes, sizes, (size_t)n_sizes * sizeof *sizes);
    ag_init init = act == AG_ACT_RELU ? AG_INIT_HE_UNIFORM : AG_INIT_XAVIER_UNIFORM;
    bool ok = m->params != NULL;
    for (int l = 0; ok && l < m->n_layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "fc%d", l + 1);
        ok = ag_linear_init(m->params, name, sizes[l], sizes[l + 1], dtype, init, rng);
        if (ok) {
            /* ag_linear_init adds the weight, then the bias. */
            m->weight[l] = ag_params_at(m->params, 2 * (size_t)l, NULL);
            m->bias[l] = ag_params_at(m->params, 2 * (size_t)l + 1, NULL);
        }
    }
    if (!ok) {
        ag_mlp_free(m);
        return NULL;
    }
    return m;
}

void ag_mlp_free(ag_mlp *m)
{
    if (!m)
        return;
    ag_params_free(m->params);
    ag_free(m);
}

/* Whether layer l's cached tensors are the ones m->params holds.
 *
 * Loading (ag_safetensors_load, ag_checkpoint_load) copies values into the
 * existing tensors and a store never drops one, so for the model ag_mlp_new
 * made this always holds. The struct is public, though: a copy of it given
 * another store (ag_params_clone, to evaluate a snapshot) would keep
 * pointers into the first store's tensors. Comparing the pointers with the
 * store's entries where ag_mlp_new put them costs two array reads per
 * layer, against the two formatted names and hash lookups it saves. */
static bool layer_cached(const ag_mlp *m, int l)
{
    size_t at = 2 * (size_t)l;
    return at + 1 < ag_params_count(m->params) &&
           ag_params_at(m->params, at, NULL) == m->weight[l] &&
           ag_params_at(m->params, at + 1, NULL) == m->bias[l];
}

ag_tensor *ag_mlp_forward(const ag_mlp *m, ag_tensor *x)
{
    if (!m) {
        ag_error_set(AG_ERR_NULL, "mlp_forward: model is NULL");
        return NULL;
    }
    ag_tensor *h = x;
    for (int l = 0; l < m->n_layers; l++) {
        bool hidden = l + 1 < m->n_layers, cached = layer_cached(m, l);
        /* a hidden layer and its ReLU as one node: the same bits */
        bool fused = cached && hidden && m->act == AG_ACT_RELU;
        if (fused) {
            h = affine_out_in_relu(h, m->weight[l], m->bias[l]);
        } else if (cached) {
            h = affine_out_in(h, m->weight[l], m->bias[l]);
        } else {
            char name[32];
            snprintf(name, sizeof name, "fc%d", l + 1);
            h = ag_linear(m->params, name, h);
        }
        if (hidden && !fused)
            h = ag_activate(h, m->act);
    }
    return h;
}

ag_params *ag_logreg_new(int64_t d, ag_dtype dtype)
{
    if (!size_ok("logreg_new", "the feature count d", d) || !float_dtype_ok("logreg_new", dtype))
        return NULL;
    ag_params *p = ag_params_new();
    int64_t wshape[2] = {d, 1}, bshape[1] = {1};
    if (!p || !ag_params_add(p, "w", ag_zeros(dtype, 2, wshape)) ||
        !ag_params_add(p, "b", ag_zeros(dtype, 1, bshape))) {
        ag_params_free(p);
        return NULL;
    }
    return p;
}

/* x·w + b: the log-odds of y = 1. */
ag_tensor *ag_logreg_logits(const ag_params *p, ag_tensor *x)
{
    return affine(x, ag_params_get(p, "w"), ag_params_get(p, "b"));
}

ag_params *ag_softmax_regression_new(int64_t d, int64_t k, ag_dtype dtype)
{
    if (!size_ok("softmax_regression_new", "the feature count d", d) ||
        !size_ok("softmax_regression_new", "the class count k", k) ||
        !float_dtype_ok("softmax_regression_new", dtype))
        return NULL;
    ag_params *p = ag_params_new();
    int64_t wshape[2] = {d, k}, bshape[1] = {k};
    if (!p || !ag_params_add(p, "W", ag_zeros(dtype, 2, wshape)) ||
        !ag_params_add(p, "b", ag_zeros(dtype, 1, bshape))) {
        ag_params_free(p);
        return NULL;
    }
    return p;
}

ag_tensor *ag_softmax_regression_logits(const ag_params *p, ag_tensor *x)
{
    return affine(x, ag_params_get(p, "W"), ag_params_get(p, "b"));
}

static bool is_weight(const char *name)
{
    size_t n = strlen(name);
    return !strcmp(name, "w") || !strcmp(name, "W") ||
           (n >= 6 && !strcmp(name + n - 6, "weight"));
}

/* λ/2 Σ w² over the weights. */
ag_tensor *ag_l2_penalty(const ag_params *p, double lambda)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "l2_penalty: params is NULL");
        return NULL;
    }
    if (!(lambda >= 0 && isfinite(lambda))) {
        ag_error_set(AG_ERR_VALUE, "l2_penalty: lambda %g; it must be >= 0 and finite", lambda);
        return NULL;
    }
    ag_tensor *total = NULL;
    for (size_t i = 0; i < ag_params_count(p); i++) {
        const char *name;
        ag_tensor *t = ag_params_at(p, i, &name);
        if (ag_tensor_dtype(t) == AG_I64 || !is_weight(name))
            continue;
        ag_tensor *s = ag_sum(ag_square(t));
        total = total ? ag_add(total, s) : s;
    }
    if (!total) {
        ag_error_set(AG_ERR_VALUE, "l2_penalty: no parameter named like a weight (w, W, *weight)");
        return NULL;
    }
    return ag_mul_scalar(total, 0.5 * lambda);
}

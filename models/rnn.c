/* SPDX-License-Identifier: MIT */
/* rnn.c — recurrent layers: PyTorch's nn.RNNCell (tanh), nn.LSTMCell and
 * nn.GRUCell on the named parameter store, an unroll over a (T, N, I)
 * sequence (one layer of nn.RNN, nn.LSTM, nn.GRU), the state object that
 * carries h (and c) across tape resets for truncated backpropagation
 * through time, and the name map from a one-layer nn.LSTM's state_dict.
 *
 * Every cell is written with public ops, so its gradient (and gradients of
 * gradients) come from the tape. The unroll projects all T inputs with one
 * matrix product before the loop, so a step adds only h·W_hhᵀ and the
 * gates' elementwise work; the projection is cut into its T steps by
 * halving (see step_inputs) rather than by T slices of the whole. */
#include "models_internal.h"
#include "op.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct cell_names {
    char w_ih[128], w_hh[128], b_ih[128], b_hh[128];
} cell_names;

static bool make_names(const char *op, const char *name, cell_names *n)
{
    if (snprintf(n->w_ih, sizeof n->w_ih, "%s.weight_ih", name) >= (int)sizeof n->w_ih ||
        snprintf(n->w_hh, sizeof n->w_hh, "%s.weight_hh", name) >= (int)sizeof n->w_hh ||
        snprintf(n->b_ih, sizeof n->b_ih, "%s.bias_ih", name) >= (int)sizeof n->b_ih ||
        snprintf(n->b_hh, sizeof n->b_hh, "%s.bias_hh", name) >= (int)sizeof n->b_hh) {
        ag_error_set(AG_ERR_VALUE, "%s: layer name '%.40s...' is too long", op, name);
        return false;
    }
    return true;
}

/* The number of gate blocks stacked in the weights: 1, 4 (i, f, g, o) or
 * 3 (r, z, n), as PyTorch stacks them. */
static int n_gates(ag_cell_kind kind)
{
    return kind == AG_CELL_LSTM ? 4 : kind == AG_CELL_GRU ? 3 : 1;
}

static const char *kind_str(ag_cell_kind kind)
{
    return kind == AG_CELL_LSTM ? "lstm" : kind == AG_CELL_GRU ? "gru" : "rnn";
}

static bool valid_kind(const char *op, ag_cell_kind kind)
{
    if (kind == AG_CELL_RNN || kind == AG_CELL_LSTM || kind == AG_CELL_GRU)
        return true;
    ag_error_set(AG_ERR_VALUE, "%s: cell kind %d; use AG_CELL_RNN, AG_CELL_LSTM or AG_CELL_GRU",
                 op, (int)kind);
    return false;
}

/* ---- initialisation ---- */

static bool cell_init(const char *op, ag_cell_kind kind, ag_params *p, const char *name,
                      int64_t input_size, int64_t hidden_size, bool bias, ag_dtype dtype,
                      ag_rng *rng)
{
    if (!p || !name || !rng) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, !p ? "params" : !name ? "name" : "rng");
        return false;
    }
    cell_names n;
    if (!make_names(op, name, &n))
        return false;
    if (input_size < 1 || hidden_size < 1) {
        ag_error_set(AG_ERR_VALUE, "%s: input_size %lld, hidden_size %lld; both must be >= 1", op,
                     (long long)input_size, (long long)hidden_size);
        return false;
    }
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "%s: dtype %s; parameters are f32 or f64", op,
                     ag_dtype_str(dtype));
        return false;
    }
    if (ag_layer_name_taken(p, n.w_ih) || ag_layer_name_taken(p, n.w_hh) ||
        ag_layer_name_taken(p, n.b_ih) || ag_layer_name_taken(p, n.b_hh)) {
        ag_error_set(AG_ERR_VALUE, "%s: layer '%.100s' exists already", op, name);
        return false;
    }
    /* PyTorch's reset_parameters: every tensor uniform(−1/√H, 1/√H), drawn
     * in registration order. */
    double k = 1.0 / sqrt((double)hidden_size);
    int64_t gh = n_gates(kind) * hidden_size;
    ag_tensor *w_ih = ag_rand_uniform(dtype, 2, (int64_t[]){gh, input_size}, -k, k, rng);
    ag_tensor *w_hh = ag_rand_uniform(dtype, 2, (int64_t[]){gh, hidden_size}, -k, k, rng);
    ag_tensor *b_ih = bias ? ag_rand_uniform(dtype, 1, &gh, -k, k, rng) : NULL;
    ag_tensor *b_hh = bias ? ag_rand_uniform(dtype, 1, &gh, -k, k, rng) : NULL;
    if (!w_ih || !w_hh || (bias && (!b_ih || !b_hh))) {
        ag_tensor_free(w_ih);
        ag_tensor_free(w_hh);
        ag_tensor_free(b_ih);
        ag_tensor_free(b_hh);
        return false;
    }
    /* ag_params_add frees the tensor it refuses; free the ones not yet added. */
    if (!ag_params_add(p, n.w_ih, w_ih)) {
        ag_tensor_free(w_hh);
        ag_tensor_free(b_ih);
        ag_tensor_free(b_hh);
        return false;
    }
    if (!ag_params_add(p, n.w_hh, w_hh)) {
        ag_tensor_free(b_ih);
        ag_tensor_free(b_hh);
        return false;
    }
    if (bias && !ag_params_add(p, n.b_ih, b_ih)) {
        ag_tensor_free(b_hh);
        return false;
    }
    return !bias || ag_params_add(p, n.b_hh, b_hh);
}

bool ag_rnn_cell_init(ag_params *p, const char *name, int64_t input_size, int64_t hidden_size,
                      bool bias, ag_dtype dtype, ag_rng *rng)
{
    return cell_init("rnn_cell_init", AG_CELL_RNN, p, name, input_size, hidden_size, bias, dtype,
                     rng);
}

bool ag_lstm_cell_init(ag_params *p, const char *name, int64_t input_size, int64_t hidden_size,
                       bool bias, ag_dtype dtype, ag_rng *rng)
{
    return cell_init("lstm_cell_init", AG_CELL_LSTM, p, name, input_size, hidden_size, bias, dtype,
                     rng);
}

bool ag_gru_cell_init(ag_params *p, const char *name, int64_t input_size, int64_t hidden_size,
                      bool bias, ag_dtype dtype, ag_rng *rng)
{
    return cell_init("gru_cell_init", AG_CELL_GRU, p, name, input_size, hidden_size, bias, dtype,
                     rng);
}

/* ---- the layer's tensors, checked ---- */

typedef struct cell {
    ag_cell_kind kind;
    ag_tensor *w_ih, *w_hh, *b_ih, *b_hh; /* borrowed from the store; biases may be NULL */
    int64_t input, hidden;
} cell;

static bool shape_is(const ag_tensor *t, int ndim, const int64_t *shape)
{
    if (ag_ndim(t) != ndim)
        return false;
    for (int d = 0; d < ndim; d++)
        if (ag_dim(t, d) != shape[d])
            return false;
    return true;
}

/* Reads and checks the layer's weights: both present, of one float dtype,
 * weight_ih (G·H, I), weight_hh (G·H, H), the biases (G·H) or both absent. */
static bool load_cell(const char *op, const ag_params *p, const char *name, ag_cell_kind kind,
                      cell *c)
{
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, p ? "name" : "params");
        return false;
    }
    cell_names n;
    if (!make_names(op, name, &n))
        return false;
    c->kind = kind;
    if (!ag_layer_name_taken(p, n.w_ih) || !ag_layer_name_taken(p, n.w_hh)) {
        ag_error_set(AG_ERR_NOTFOUND, "%s: the store has no '%s'; make the layer with "
                     "ag_%s_cell_init", op, ag_layer_name_taken(p, n.w_ih) ? n.w_hh : n.w_ih,
                     kind_str(kind));
        return false;
    }
    c->w_ih = ag_params_get(p, n.w_ih);
    c->w_hh = ag_params_get(p, n.w_hh);
    bool has_bi = ag_layer_name_taken(p, n.b_ih), has_bh = ag_layer_name_taken(p, n.b_hh);
    if (has_bi != has_bh) {
        ag_error_set(AG_ERR_NOTFOUND, "%s: the store has '%s' but not '%s'", op,
                     has_bi ? n.b_ih : n.b_hh, has_bi ? n.b_hh : n.b_ih);
        return false;
    }
    c->b_ih = has_bi ? ag_params_get(p, n.b_ih) : NULL;
    c->b_hh = has_bh ? ag_params_get(p, n.b_hh) : NULL;
    int g = n_gates(kind);
    c->hidden = ag_ndim(c->w_hh) == 2 ? ag_dim(c->w_hh, 1) : 0;
    c->input = ag_ndim(c->w_ih) == 2 ? ag_dim(c->w_ih, 1) : 0;
    int64_t gh = g * c->hidden;
    ag_dtype dt = ag_tensor_dtype(c->w_ih);
    bool ok = c->hidden > 0 && c->input > 0 && shape_is(c->w_ih, 2, (int64_t[]){gh, c->input}) &&
              shape_is(c->w_hh, 2, (int64_t[]){gh, c->hidden}) &&
              (!c->b_ih || (shape_is(c->b_ih, 1, &gh) && shape_is(c->b_hh, 1, &gh)));
    if (!ok) {
        char s1[64], s2[64], s3[64];
        ag_error_set(AG_ERR_SHAPE, "%s: '%s' has weight_ih %s, weight_hh %s, bias_ih %s; a %s "
                     "cell needs (%d·H, I), (%d·H, H) and (%d·H)", op, name,
                     ag_shape_str(c->w_ih, s1, sizeof s1), ag_shape_str(c->w_hh, s2, sizeof s2),
                     c->b_ih ? ag_shape_str(c->b_ih, s3, sizeof s3) : "none", kind_str(kind), g, g,
                     g);
        return false;
    }
    if ((dt != AG_F32 && dt != AG_F64) || ag_tensor_dtype(c->w_hh) != dt ||
        (c->b_ih && (ag_tensor_dtype(c->b_ih) != dt || ag_tensor_dtype(c->b_hh) != dt))) {
        ag_error_set(AG_ERR_DTYPE, "%s: '%s' mixes dtypes or is not f32/f64", op, name);
        return false;
    }
    return true;
}

/* t is NULL (allowed), or 2-D (N, H) of the cell's dtype. */
static bool check_state(const char *op, const char *what, const ag_tensor *t, int64_t n,
                        int64_t h, ag_dtype dtype)
{
    if (!t)
        return true;
    if (!ag_check_inputs(op, 1, (ag_tensor *const[]){(ag_tensor *)t}))
        return false;
    char s[64];
    if (!shape_is(t, 2, (int64_t[]){n, h})) {
        ag_error_set(AG_ERR_SHAPE, "%s: %s has shape %s; it must be (N, H) = (%lld, %lld)", op,
                     what, ag_shape_str(t, s, sizeof s), (long long)n, (long long)h);
        return false;
    }
    if (ag_tensor_dtype(t) != dtype) {
        ag_error_set(AG_ERR_DTYPE, "%s: %s is %s but the weights are %s", op, what,
                     ag_dtype_str(ag_tensor_dtype(t)), ag_dtype_str(dtype));
        return false;
    }
    return true;
}

/* ---- one step ---- */

/* h W_hhᵀ + b_hh, or just b_hh (or NULL, meaning zeros) when h is NULL. */
static ag_tensor *hidden_part(const cell *c, ag_tensor *h)
{
    if (!h)
        return c->b_hh;
    return c->b_hh ? ag_affine_t(h, c->w_hh, c->b_hh) : ag_matmul_t(h, false, c->w_hh, true);
}

static ag_tensor *add_opt(ag_tensor *a, ag_tensor *b)
{
    return b ? ag_add(a, b) : a;
}

/* One step from gi = x W_ihᵀ + b_ih (N, G·H). h and c may be NULL (zeros).
 * Writes h' and, for an LSTM, c'. */
static bool step(const cell *c, ag_tensor *gi, ag_tensor *h, ag_tensor *cs, ag_tensor **h_out,
                 ag_tensor **c_out)
{
    ag_tensor *gh = hidden_part(c, h);
    if (h && !gh)
        return false;
    switch (c->kind) {
    case AG_CELL_RNN:
        *h_out = ag_tanh(add_opt(gi, gh));
        return *h_out != NULL;
    case AG_CELL_LSTM: {
        /* c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'), gates (i, f, g, o) */
        ag_tensor *q[4];
        if (ag_chunk(add_opt(gi, gh), 4, 1, q, 4) != 4)
            return false;
        ag_tensor *i = ag_sigmoid(q[0]), *g = ag_tanh(q[2]), *o = ag_sigmoid(q[3]);
        ag_tensor *ig = ag_mul(i, g);
        *c_out = cs ? ag_add(ag_mul(ag_sigmoid(q[1]), cs), ig) : ig;
        *h_out = ag_mul(o, ag_tanh(*c_out));
        return *h_out != NULL;
    }
    case AG_CELL_GRU: {
        /* r, z = σ(gi + gh) on the first 2H; n = tanh(gi_n + r ⊙ gh_n);
         * h' = (1 − z) ⊙ n + z ⊙ h = n + z ⊙ (h − n) */
        int64_t H = c->hidden;
        /* Axis -1: with h NULL, gh is b_hh alone, (3H). */
        ag_tensor *rz = ag_sigmoid(add_opt(ag_slice(gi, -1, 0, 2 * H, 1),
                                           gh ? ag_slice(gh, -1, 0, 2 * H, 1) : NULL));
        ag_tensor *r = ag_slice(rz, -1, 0, H, 1), *z = ag_slice(rz, -1, H, 2 * H, 1);
        ag_tensor *gi_n = ag_slice(gi, -1, 2 * H, 3 * H, 1);
        ag_tensor *n = ag_tanh(gh ? ag_add(gi_n, ag_mul(r, ag_slice(gh, -1, 2 * H, 3 * H, 1)))
                                  : gi_n);
        *h_out = h ? ag_add(n, ag_mul(z, ag_sub(h, n))) : ag_sub(n, ag_mul(z, n));
        return *h_out != NULL;
    }
    }
    return false;
}

/* x W_ihᵀ + b_ih for x (M, I). */
static ag_tensor *input_part(const cell *c, ag_tensor *x)
{
    return c->b_ih ? ag_affine_t(x, c->w_ih, c->b_ih) : ag_matmul_t(x, false, c->w_ih, true);
}

static ag_tensor *labelled(ag_tensor *y, const char *name)
{
    if (y)
        ag_set_label(y, name);
    return y;
}

/* The checks every cell forward shares. */
static bool cell_args(const char *op, const ag_params *p, const char *name, ag_cell_kind kind,
                      ag_tensor *x, ag_tensor *h, ag_tensor *cs, cell *c)
{
    if (!load_cell(op, p, name, kind, c) || !ag_check_inputs(op, 1, &x))
        return false;
    char s[64];
    if (ag_ndim(x) != 2 || ag_dim(x, 1) != c->input) {
        ag_error_set(AG_ERR_SHAPE, "%s: x has shape %s; it must be (N, I) with I = %lld", op,
                     ag_shape_str(x, s, sizeof s), (long long)c->input);
        return false;
    }
    ag_dtype dt = ag_tensor_dtype(c->w_ih);
    if (ag_tensor_dtype(x) != dt) {
        ag_error_set(AG_ERR_DTYPE, "%s: x is %s but the weights are %s", op,
                     ag_dtype_str(ag_tensor_dtype(x)), ag_dtype_str(dt));
        return false;
    }
    int64_t n = ag_dim(x, 0);
    return check_state(op, "h", h, n, c->hidden, dt) && check_state(op, "c", cs, n, c->hidden, dt);
}

static ag_tensor *one_cell(const char *op, ag_cell_kind kind, const ag_params *p,
                           const char *name, ag_tensor *x, ag_tensor *h)
{
    cell c;
    if (!cell_args(op, p, name, kind, x, h, NULL, &c))
        return NULL;
    ag_tensor *h_out = NULL;
    if (!step(&c, input_part(&c, x), h, NULL, &h_out, NULL))
        return NULL;
    return labelled(h_out, name);
}

ag_tensor *ag_rnn_cell(const ag_params *p, const char *name, ag_tensor *x, ag_tensor *h)
{
    return one_cell("rnn_cell", AG_CELL_RNN, p, name, x, h);
}

ag_tensor *ag_gru_cell(const ag_params *p, const char *name, ag_tensor *x, ag_tensor *h)
{
    return one_cell("gru_cell", AG_CELL_GRU, p, name, x, h);
}

bool ag_lstm_cell(const ag_params *p, const char *name, ag_tensor *x, ag_tensor *h, ag_tensor *c,
                  ag_tensor **h_out, ag_tensor **c_out)
{
    const char *op = "lstm_cell";
    if (!h_out || !c_out) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, h_out ? "c_out" : "h_out");
        return false;
    }
    *h_out = *c_out = NULL;
    cell cl;
    if (!cell_args(op, p, name, AG_CELL_LSTM, x, h, c, &cl))
        return false;
    ag_tensor *hn = NULL, *cn = NULL;
    if (!step(&cl, input_part(&cl, x), h, c, &hn, &cn))
        return false;
    *h_out = labelled(hn, name);
    *c_out = cn;
    return true;
}

/* ---- the unroll ---- */

/* Cuts rows [lo, hi) of xp (M, G·H), whose rows are steps' N rows each,
 * into one tensor per step. A slice's gradient is a tensor of its whole
 * input's size, so T slices of the whole would cost T² in backward;
 * halving costs 2·log₂T passes over it. Depth log₂T ≤ 63. */
static bool step_inputs(ag_tensor *xp, int64_t t0, int64_t t1, int64_t n, ag_tensor **out)
{
    if (t1 - t0 == 1) {
        out[t0] = xp;
        return true;
    }
    int64_t mid = t0 + (t1 - t0) / 2;
    ag_tensor *a = ag_slice(xp, 0, 0, (mid - t0) * n, 1);
    ag_tensor *b = ag_slice(xp, 0, (mid - t0) * n, (t1 - t0) * n, 1);
    return a && b && step_inputs(a, t0, mid, n, out) && step_inputs(b, mid, t1, n, out);
}

ag_tensor *ag_rnn_unroll(const ag_params *p, const char *name, ag_cell_kind kind, ag_tensor *x,
                         ag_tensor *h0, ag_tensor *c0, ag_tensor **h_n, ag_tensor **c_n)
{
    const char *op = "rnn_unroll";
    if (h_n)
        *h_n = NULL;
    if (c_n)
        *c_n = NULL;
    cell c;
    if (!valid_kind(op, kind) || !load_cell(op, p, name, kind, &c) || !ag_check_inputs(op, 1, &x))
        return NULL;
    char s[64];
    if (ag_ndim(x) != 3 || ag_dim(x, 2) != c.input) {
        ag_error_set(AG_ERR_SHAPE, "%s: x has shape %s; it must be (T, N, I) with I = %lld", op,
                     ag_shape_str(x, s, sizeof s), (long long)c.input);
        return NULL;
    }
    ag_dtype dt = ag_tensor_dtype(c.w_ih);
    if (ag_tensor_dtype(x) != dt) {
        ag_error_set(AG_ERR_DTYPE, "%s: x is %s but the weights are %s", op,
                     ag_dtype_str(ag_tensor_dtype(x)), ag_dtype_str(dt));
        return NULL;
    }
    int64_t T = ag_dim(x, 0), N = ag_dim(x, 1), H = c.hidden;
    if (T < 1 || N < 1) {
        ag_error_set(AG_ERR_SHAPE, "%s: x has shape %s; T and N must be >= 1", op,
                     ag_shape_str(x, s, sizeof s));
        return NULL;
    }
    if (!check_state(op, "h0", h0, N, H, dt) || !check_state(op, "c0", c0, N, H, dt))
        return NULL;
    if (c0 && kind != AG_CELL_LSTM) {
        ag_error_set(AG_ERR_VALUE, "%s: c0 given to a %s layer; only an LSTM has a cell state",
                     op, kind_str(kind));
        return NULL;
    }
    ag_tensor **xs = ag_malloc((size_t)T * 2 * sizeof *xs);
    if (!xs)
        return NULL;
    ag_tensor **hs = xs + T;
    /* One product for all T·N rows, then one tensor per step. */
    ag_tensor *xp = input_part(&c, ag_reshape(x, 2, (int64_t[]){T * N, c.input}));
    ag_tensor *y = NULL, *h = h0, *cs = c0;
    if (xp && step_inputs(xp, 0, T, N, xs)) {
        bool ok = true;
        for (int64_t t = 0; t < T && ok; t++) {
            ag_tensor *cn = NULL;
            ok = step(&c, xs[t], h, cs, &hs[t], &cn);
            h = hs[t];
            cs = cn;
        }
        if (ok)
            y = ag_reshape(ag_concat((int)T, hs, 0), 3, (int64_t[]){T, N, H});
    }
    ag_free(xs);
    if (!y)
        return NULL;
    if (h_n)
        *h_n = h;
    if (c_n)
        *c_n = cs;
    return labelled(y, name);
}

/* ---- state across tape resets ---- */

struct ag_rnn_state {
    ag_cell_kind kind;
    ag_tensor *h, *c; /* leaves, owned; c NULL unless an LSTM */
};

ag_rnn_state *ag_rnn_state_new(ag_cell_kind kind, int64_t batch, int64_t hidden, ag_dtype dtype)
{
    const char *op = "rnn_state_new";
    if (!valid_kind(op, kind))
        return NULL;
    if (batch < 1 || hidden < 1) {
        ag_error_set(AG_ERR_VALUE, "%s: batch %lld, hidden %lld; both must be >= 1", op,
                     (long long)batch, (long long)hidden);
        return NULL;
    }
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "%s: dtype %s; a state is f32 or f64", op, ag_dtype_str(dtype));
        return NULL;
    }
    ag_rnn_state *s = ag_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->kind = kind;
    int64_t shape[2] = {batch, hidden};
    s->h = ag_zeros(dtype, 2, shape);
    s->c = kind == AG_CELL_LSTM ? ag_zeros(dtype, 2, shape) : NULL;
    if (!s->h || (kind == AG_CELL_LSTM && !s->c)) {
        ag_rnn_state_free(s);
        return NULL;
    }
    return s;
}

void ag_rnn_state_free(ag_rnn_state *s)
{
    if (!s)
        return;
    ag_tensor_free(s->h);
    ag_tensor_free(s->c);
    ag_free(s);
}

ag_tensor *ag_rnn_state_h(const ag_rnn_state *s)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "rnn_state_h: state is NULL");
        return NULL;
    }
    return s->h;
}

ag_tensor *ag_rnn_state_c(const ag_rnn_state *s)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "rnn_state_c: state is NULL");
        return NULL;
    }
    return s->c;
}

/* Copies src's values into the leaf dst (same shape and dtype). */
static bool copy_into(const char *op, const char *what, ag_tensor *dst, const ag_tensor *src)
{
    if (!ag_check_inputs(op, 1, (ag_tensor *const[]){(ag_tensor *)src}))
        return false;
    char s1[64], s2[64];
    if (!shape_is(src, 2, ag_shape(dst)) || ag_tensor_dtype(src) != ag_tensor_dtype(dst)) {
        ag_error_set(AG_ERR_SHAPE, "%s: %s is %s %s; the state holds %s %s", op, what,
                     ag_shape_str(src, s1, sizeof s1), ag_dtype_str(ag_tensor_dtype(src)),
                     ag_shape_str(dst, s2, sizeof s2), ag_dtype_str(ag_tensor_dtype(dst)));
        return false;
    }
    return true;
}

bool ag_rnn_state_keep(ag_rnn_state *s, const ag_tensor *h_n, const ag_tensor *c_n)
{
    const char *op = "rnn_state_keep";
    if (!s || !h_n) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, s ? "h_n" : "state");
        return false;
    }
    if (s->kind == AG_CELL_LSTM && !c_n) {
        ag_error_set(AG_ERR_NULL, "%s: c_n is NULL but the state is an LSTM's", op);
        return false;
    }
    if (s->kind != AG_CELL_LSTM && c_n) {
        ag_error_set(AG_ERR_VALUE, "%s: c_n given to a %s state, which has no cell state", op,
                     kind_str(s->kind));
        return false;
    }
    /* Check both before changing either, so a failure leaves the state. */
    if (!copy_into(op, "h_n", s->h, h_n) || (c_n && !copy_into(op, "c_n", s->c, c_n)))
        return false;
    size_t bytes = ag_numel(s->h) * ag_dtype_size(ag_tensor_dtype(s->h));
    memcpy(ag_data(s->h), ag_data_const(h_n), bytes);
    /* A graph that read the old values must not now backpropagate with the
     * new ones: the version check turns that into an error. */
    ag_mark_changed(s->h);
    if (c_n) {
        memcpy(ag_data(s->c), ag_data_const(c_n), bytes);
        ag_mark_changed(s->c);
    }
    return true;
}

void ag_rnn_state_reset(ag_rnn_state *s)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "rnn_state_reset: state is NULL");
        return;
    }
    size_t bytes = ag_numel(s->h) * ag_dtype_size(ag_tensor_dtype(s->h));
    memset(ag_data(s->h), 0, bytes);
    ag_mark_changed(s->h);
    if (s->c) {
        memset(ag_data(s->c), 0, bytes);
        ag_mark_changed(s->c);
    }
}

/* ---- PyTorch's names ---- */

const ag_name_map *ag_rnn_torch_names(ag_rnn_names *out, const char *name, const char *module)
{
    const char *op = "rnn_torch_names";
    if (!out || !name || !module) {
        ag_error_set(AG_ERR_NULL, "%s: %s is NULL", op, !out ? "out" : !name ? "name" : "module");
        return NULL;
    }
    static const char *const what[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    for (int i = 0; i < 4; i++) {
        if (snprintf(out->ours[i], sizeof out->ours[i], "%s.%s", name, what[i]) >=
                (int)sizeof out->ours[i] ||
            snprintf(out->theirs[i], sizeof out->theirs[i], "%s%s_l0", module, what[i]) >=
                (int)sizeof out->theirs[i]) {
            ag_error_set(AG_ERR_VALUE, "%s: name '%.40s' or module '%.40s' is too long", op, name,
                         module);
            return NULL;
        }
        out->map[i] = (ag_name_map){out->ours[i], out->theirs[i]};
    }
    return out->map;
}

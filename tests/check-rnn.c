/* SPDX-License-Identifier: MIT */
/* check-rnn.c — recurrent layers: nn.RNNCell, nn.LSTMCell, nn.GRUCell and
 * one layer of nn.RNN, nn.LSTM, nn.GRU unrolled, against PyTorch.
 *
 * The expected values come from tests/rnn_reference.py (float64 PyTorch),
 * committed as rnn_reference.h: outputs, final states and the gradients of
 * a weighted sum of them with respect to every parameter, the input and
 * the initial state. The weights and inputs are rebuilt here from the
 * script's formulas. Long unrolls pass ag_gradcheck_model; truncated BPTT
 * is checked against its definition (chunk 2 run alone from the kept
 * state as a constant); a graph of over 10⁵ nodes runs backward; bad
 * arguments give messages naming the function and the shapes. */
#include "harness.h"

#include <autograd/tools.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnn_reference.h"

enum { N = RNN_REF_N, I = RNN_REF_I, H = RNN_REF_H };

typedef double (*fn1)(size_t i);
static double f_wih(size_t i) { return 0.4 * sin(0.7 * (double)i + 0.3); }
static double f_whh(size_t i) { return 0.4 * cos(0.5 * (double)i + 0.1); }
static double f_bih(size_t i) { return 0.3 * sin(1.3 * (double)i - 0.2); }
static double f_bhh(size_t i) { return 0.3 * cos(0.9 * (double)i + 0.4); }
static double f_x(size_t i) { return sin(0.37 * (double)i + 0.5); }
static double f_h0(size_t i) { return 0.5 * cos(0.23 * (double)i); }
static double f_c0(size_t i) { return 0.5 * sin(0.41 * (double)i + 1); }
static double f_g(size_t i) { return cos(0.4 * (double)i + 0.2); }
static double f_gh(size_t i) { return sin(0.3 * (double)i); }
static double f_gc(size_t i) { return cos(0.6 * (double)i + 0.5); }

/* A kept leaf of the formula's values. */
static ag_tensor *formula(ag_dtype dt, int ndim, const int64_t *shape, fn1 f, bool grad)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = f(i);
    ag_tensor *t = grad ? h_param(dt, ndim, shape, v) : h_arr(dt, ndim, shape, v);
    free(v);
    return t;
}

/* Overwrites a store tensor with the formula's values. */
static void fill(ag_tensor *t, fn1 f)
{
    for (size_t i = 0; i < ag_numel(t); i++)
        ck_assert(ag_set_flat(t, i, f(i)));
}

static const fn1 weight_fns[4] = {f_wih, f_whh, f_bih, f_bhh};
static const char *const weight_names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};

typedef bool (*init_fn)(ag_params *, const char *, int64_t, int64_t, bool, ag_dtype, ag_rng *);
static const init_fn inits[3] = {ag_rnn_cell_init, ag_lstm_cell_init, ag_gru_cell_init};

/* A store holding the cell `name` of `kind` with the script's weights. */
static ag_params *store(ag_cell_kind kind, ag_dtype dt, const char *name)
{
    ag_params *p = ag_params_new();
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ck_assert_msg(inits[kind](p, name, I, H, true, dt, &rng), "%s", ag_last_error());
    for (int k = 0; k < 4; k++) {
        char full[64];
        snprintf(full, sizeof full, "%s.%s", name, weight_names[k]);
        fill(ag_params_get(p, full), weight_fns[k]);
    }
    return p;
}

static double tol_r(ag_dtype dt) { return dt == AG_F64 ? 1e-12 : 1e-4; }
static double tol_a(ag_dtype dt) { return dt == AG_F64 ? 1e-13 : 2e-5; }

/* f32 tolerance: inputs rounded to f32 (relative 6e-8) pass through at
 * most 5 steps of products of length <= 4 and saturating activations,
 * with gradients summed over the steps; the values and gradients are
 * O(1), so a few hundred ulps (2e-5 absolute, 1e-4 relative) covers the
 * rounding without hiding a wrong formula, whose errors are O(0.01) and
 * larger. */
static void expect(const char *what, const ag_tensor *t, const double *want, size_t n,
                   ag_dtype dt)
{
    ck_assert_msg(t != NULL, "%s: NULL (%s)", what, ag_last_error());
    ck_assert_uint_eq(ag_numel(t), n);
    for (size_t i = 0; i < n; i++) {
        double got = ag_get_flat(t, i);
        ck_assert_msg(h_near(got, want[i], tol_r(dt), tol_a(dt)), "%s %s [%zu]: %.17g vs %.17g",
                      what, ag_dtype_str(dt), i, got, want[i]);
    }
}
#define EXPECT(what, t, arr, dt) expect(what, t, arr, H_COUNT(arr), dt)

/* Σ out·g + Σ h·g_h (+ Σ c·g_c), the script's loss. */
static ag_tensor *ref_loss(ag_tensor *out, ag_tensor *h, ag_tensor *c)
{
    ag_dtype dt = ag_tensor_dtype(out);
    ag_tensor *loss = ag_add(ag_sum(ag_mul(out, formula(dt, ag_ndim(out), ag_shape(out), f_g, false))),
                             ag_sum(ag_mul(h, formula(dt, 2, H_SHAPE(N, H), f_gh, false))));
    if (c)
        loss = ag_add(loss, ag_sum(ag_mul(c, formula(dt, 2, H_SHAPE(N, H), f_gc, false))));
    return loss;
}

typedef struct expected {
    const double *out, *c, *dw[4], *dx, *dh0, *dc0;
    size_t n_out, n_w[4], n_x;
} expected;

#define REF(prefix, cvals, dc0vals)                                                              \
    ((expected){prefix##_out, cvals, {prefix##_dweight_ih, prefix##_dweight_hh, prefix##_dbias_ih, \
                                      prefix##_dbias_hh},                                        \
                prefix##_dx, prefix##_dh0, dc0vals, H_COUNT(prefix##_out),                       \
                {H_COUNT(prefix##_dweight_ih), H_COUNT(prefix##_dweight_hh),                     \
                 H_COUNT(prefix##_dbias_ih), H_COUNT(prefix##_dbias_hh)},                        \
                H_COUNT(prefix##_dx)})

static void check_grads(const char *what, ag_params *p, const expected *e, ag_tensor *x,
                        ag_tensor *h0, ag_tensor *c0, ag_dtype dt)
{
    for (int k = 0; k < 4; k++) {
        char full[64];
        snprintf(full, sizeof full, "cell.%s", weight_names[k]);
        char label[96];
        snprintf(label, sizeof label, "%s d%s", what, weight_names[k]);
        expect(label, ag_grad_of(ag_params_get(p, full)), e->dw[k], e->n_w[k], dt);
    }
    expect("dx", ag_grad_of(x), e->dx, e->n_x, dt);
    expect("dh0", ag_grad_of(h0), e->dh0, N * H, dt);
    if (c0)
        expect("dc0", ag_grad_of(c0), e->dc0, N * H, dt);
}

/* Three steps of each cell, f64 and f32 (_i: kind + 3·(dtype)). */
START_TEST(test_cells_pytorch)
{
    ag_cell_kind kind = (ag_cell_kind)(_i % 3);
    ag_dtype dt = _i < 3 ? AG_F64 : AG_F32;
    expected e = kind == AG_CELL_RNN    ? REF(rnn_cell, NULL, NULL)
                 : kind == AG_CELL_LSTM ? REF(lstm_cell, lstm_cell_c, lstm_cell_dc0)
                                        : REF(gru_cell, NULL, NULL);
    ag_params *p = store(kind, dt, "cell");
    enum { T = RNN_REF_T_CELL };
    ag_tensor *x = formula(dt, 3, H_SHAPE(T, N, I), f_x, true);
    ag_tensor *h0 = formula(dt, 2, H_SHAPE(N, H), f_h0, true);
    ag_tensor *c0 = kind == AG_CELL_LSTM ? formula(dt, 2, H_SHAPE(N, H), f_c0, true) : NULL;
    ag_tensor *h = h0, *c = c0, *outs[T];
    for (int t = 0; t < T; t++) {
        ag_tensor *xt = ag_reshape(ag_slice(x, 0, t, t + 1, 1), 2, H_SHAPE(N, I));
        if (kind == AG_CELL_LSTM)
            ck_assert_msg(ag_lstm_cell(p, "cell", xt, h, c, &h, &c), "%s", ag_last_error());
        else
            h = kind == AG_CELL_RNN ? ag_rnn_cell(p, "cell", xt, h) : ag_gru_cell(p, "cell", xt, h);
        ck_assert_tensor(h);
        ck_assert_str_eq(ag_label(h), "cell");
        outs[t] = h;
    }
    ag_tensor *out = ag_stack(T, outs, 0);
    expect("out", out, e.out, e.n_out, dt);
    if (c)
        expect("c", c, e.c, N * H, dt);
    ck_assert(ag_backward(ref_loss(out, h, c)));
    check_grads("cell", p, &e, x, h0, c0, dt);

    /* A NULL state is zeros. */
    ag_tensor *x0 = ag_reshape(ag_slice(x, 0, 0, 1, 1), 2, H_SHAPE(N, I));
    if (kind == AG_CELL_LSTM) {
        ck_assert(ag_lstm_cell(p, "cell", x0, NULL, NULL, &h, &c));
        EXPECT("zero h", h, lstm_cell_zero, dt);
        EXPECT("zero c", c, lstm_cell_zero_c, dt);
    } else if (kind == AG_CELL_RNN) {
        EXPECT("zero", ag_rnn_cell(p, "cell", x0, NULL), rnn_cell_zero, dt);
    } else {
        EXPECT("zero", ag_gru_cell(p, "cell", x0, NULL), gru_cell_zero, dt);
    }
    ck_assert_ok();
    ag_params_free(p);
}
END_TEST

static expected layer_ref(ag_cell_kind kind)
{
    return kind == AG_CELL_RNN    ? REF(rnn_layer, NULL, NULL)
           : kind == AG_CELL_LSTM ? REF(lstm_layer, lstm_layer_c_n, lstm_layer_dc0)
                                  : REF(gru_layer, NULL, NULL);
}

/* One layer over T = 5 steps, f64 and f32. */
START_TEST(test_unroll_pytorch)
{
    ag_cell_kind kind = (ag_cell_kind)(_i % 3);
    ag_dtype dt = _i < 3 ? AG_F64 : AG_F32;
    expected e = layer_ref(kind);
    const double *h_n_want = kind == AG_CELL_RNN    ? rnn_layer_h_n
                             : kind == AG_CELL_LSTM ? lstm_layer_h_n
                                                    : gru_layer_h_n;
    ag_params *p = store(kind, dt, "cell");
    enum { T = RNN_REF_T_LAYER };
    ag_tensor *x = formula(dt, 3, H_SHAPE(T, N, I), f_x, true);
    ag_tensor *h0 = formula(dt, 2, H_SHAPE(N, H), f_h0, true);
    ag_tensor *c0 = kind == AG_CELL_LSTM ? formula(dt, 2, H_SHAPE(N, H), f_c0, true) : NULL;
    ag_tensor *h_n, *c_n;
    ag_tensor *y = ag_rnn_unroll(p, "cell", kind, x, h0, c0, &h_n, &c_n);
    ck_assert_tensor(y);
    ck_assert_shape(y, 3, H_SHAPE(T, N, H));
    ck_assert_str_eq(ag_label(y), "cell");
    expect("out", y, e.out, e.n_out, dt);
    expect("h_n", h_n, h_n_want, N * H, dt);
    ck_assert((c_n != NULL) == (kind == AG_CELL_LSTM));
    if (c_n)
        expect("c_n", c_n, e.c, N * H, dt);
    ck_assert(ag_backward(ref_loss(y, h_n, c_n)));
    check_grads("layer", p, &e, x, h0, c0, dt);
    /* Unwanted final states may be left out. */
    ck_assert_tensor(ag_rnn_unroll(p, "cell", kind, x, NULL, NULL, NULL, NULL));
    ck_assert_ok();
    ag_params_free(p);
}
END_TEST

/* PyTorch's state_dict names (from the script) load into a cell's store
 * through ag_rnn_torch_names, and the layer then gives PyTorch's output. */
START_TEST(test_torch_names)
{
    ag_cell_kind kind = (ag_cell_kind)_i;
    const char *const *names = kind == AG_CELL_RNN    ? rnn_layer_names
                               : kind == AG_CELL_LSTM ? lstm_layer_names
                                                      : gru_layer_names;
    ag_params *theirs = ag_params_new();
    int64_t gh = (kind == AG_CELL_LSTM ? 4 : kind == AG_CELL_GRU ? 3 : 1) * H;
    const int64_t *shapes[4] = {H_SHAPE(gh, I), H_SHAPE(gh, H), H_SHAPE(gh), H_SHAPE(gh)};
    for (int k = 0; k < 4; k++) {
        ag_tensor *t = ag_zeros(AG_F64, k < 2 ? 2 : 1, shapes[k]);
        fill(t, weight_fns[k]);
        ck_assert(ag_params_add(theirs, names[k], t));
    }
    char dir[] = "/tmp/check-rnn-XXXXXX";
    ck_assert(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/layer.safetensors", dir);
    ck_assert_msg(ag_safetensors_save(path, theirs, NULL), "%s", ag_last_error());

    ag_params *ours = ag_params_new();
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ck_assert(inits[kind](ours, "enc", I, H, true, AG_F64, &rng));
    ag_rnn_names nm;
    const ag_name_map *map = ag_rnn_torch_names(&nm, "enc", "");
    ck_assert_ptr_nonnull(map);
    ck_assert_str_eq(map[0].ours, "enc.weight_ih");
    ck_assert_str_eq(map[0].theirs, "weight_ih_l0");
    ck_assert_msg(ag_safetensors_load_as(path, ours, 4, map), "%s", ag_last_error());
    ag_tensor *x = formula(AG_F64, 3, H_SHAPE(RNN_REF_T_LAYER, N, I), f_x, false);
    ag_tensor *h0 = formula(AG_F64, 2, H_SHAPE(N, H), f_h0, false);
    ag_tensor *c0 = kind == AG_CELL_LSTM ? formula(AG_F64, 2, H_SHAPE(N, H), f_c0, false) : NULL;
    expected e = layer_ref(kind);
    expect("loaded", ag_rnn_unroll(ours, "enc", kind, x, h0, c0, NULL, NULL), e.out, e.n_out,
           AG_F64);
    /* And back: our store saved through the map is PyTorch's names. */
    ck_assert(ag_safetensors_save_as(path, ours, NULL, 4, map));
    ag_params *back = ag_safetensors_read(path);
    ck_assert_ptr_nonnull(back);
    for (int k = 0; k < 4; k++)
        ck_assert_ptr_nonnull(ag_params_get(back, names[k]));
    /* Inside a bigger model: "rnn.weight_ih_l0". */
    ck_assert_str_eq(ag_rnn_torch_names(&nm, "enc", "rnn.")[3].theirs, "rnn.bias_hh_l0");
    unlink(path);
    rmdir(dir);
    ag_params_free(back);
    ag_params_free(ours);
    ag_params_free(theirs);
}
END_TEST

/* ---- gradient checks of long unrolls ---- */

typedef struct gc_ctx {
    ag_cell_kind kind;
    ag_tensor *x, *g; /* f64 (T, N, I) and (T, N, H) */
} gc_ctx;

static ag_tensor *unroll_loss(const ag_params *p, void *ctx)
{
    gc_ctx *c = ctx;
    ag_tensor *h_n, *c_n;
    ag_tensor *h0 = ag_params_get(p, "h0");
    ag_tensor *c0 = c->kind == AG_CELL_LSTM ? ag_params_get(p, "c0") : NULL;
    ag_tensor *y = ag_rnn_unroll(p, "cell", c->kind, c->x, h0, c0, &h_n, &c_n);
    ag_tensor *loss = ag_add(ag_sum(ag_mul(y, c->g)), ag_sum(ag_square(h_n)));
    return c_n ? ag_add(loss, ag_sum(c_n)) : loss;
}

START_TEST(test_gradcheck_long)
{
    ag_cell_kind kind = _i ? AG_CELL_GRU : AG_CELL_LSTM;
    int64_t T = 50, n = 2, in = 3, hid = 4;
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    ag_params *p = ag_params_new();
    ck_assert(inits[kind](p, "cell", in, hid, true, AG_F64, &rng));
    ck_assert(ag_params_add(p, "h0", ag_rand_uniform(AG_F64, 2, H_SHAPE(n, hid), -1, 1, &rng)));
    if (kind == AG_CELL_LSTM)
        ck_assert(ag_params_add(p, "c0", ag_rand_uniform(AG_F64, 2, H_SHAPE(n, hid), -1, 1, &rng)));
    gc_ctx c = {kind, h_rand(AG_F64, 3, H_SHAPE(T, n, in), -1, 1, &rng),
                h_rand(AG_F64, 3, H_SHAPE(T, n, hid), -1, 1, &rng)};
    ag_model_gradcheck_report rep;
    ag_gradcheck_opts o = h_gradcheck_opts();
    bool ok = ag_gradcheck_model(unroll_loss, &c, p, &o, &rep);
    char buf[1024];
    FILE *mem = fmemopen(buf, sizeof buf, "w");
    ag_model_gradcheck_fprint(mem, &rep);
    fclose(mem);
    ck_assert_msg(ok, "%s: %s\n%s", kind == AG_CELL_LSTM ? "lstm" : "gru", ag_last_error(), buf);
    ck_assert_uint_eq(rep.n_checked, ag_params_numel(p));
    ag_params_free(p);
}
END_TEST

/* ---- truncated BPTT ---- */

static ag_tensor *chunk_loss(ag_tensor *y, ag_tensor *g)
{
    return ag_sum(ag_mul(y, g));
}

START_TEST(test_tbptt)
{
    enum { T = 4, NB = 2, IN = 3, HID = 4 };
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    ag_params *p = ag_params_new();
    ck_assert(ag_lstm_cell_init(p, "lstm", IN, HID, true, AG_F64, &rng));
    ag_tensor *x1 = h_rand(AG_F64, 3, H_SHAPE(T, NB, IN), -1, 1, &rng);
    ag_tensor *x2 = h_rand(AG_F64, 3, H_SHAPE(T, NB, IN), -1, 1, &rng);
    ag_tensor *g = h_rand(AG_F64, 3, H_SHAPE(T, NB, HID), -1, 1, &rng);
    ag_rnn_state *s = ag_rnn_state_new(AG_CELL_LSTM, NB, HID, AG_F64);
    ck_assert_ptr_nonnull(s);
    ck_assert(!ag_requires_grad(ag_rnn_state_h(s)) && ag_is_leaf(ag_rnn_state_h(s)));
    ck_assert_double_eq(ag_get_flat(ag_rnn_state_c(s), 3), 0);

    /* Chunk 1, then keep its last state. */
    ag_tensor *h_n, *c_n;
    ag_tensor *y1 = ag_rnn_unroll(p, "lstm", AG_CELL_LSTM, x1, ag_rnn_state_h(s),
                                  ag_rnn_state_c(s), &h_n, &c_n);
    ck_assert(ag_backward(chunk_loss(y1, g)));
    ck_assert(ag_rnn_state_keep(s, h_n, c_n));
    for (size_t i = 0; i < NB * HID; i++) {
        ck_assert_double_eq(ag_get_flat(ag_rnn_state_h(s), i), ag_get_flat(h_n, i));
        ck_assert_double_eq(ag_get_flat(ag_rnn_state_c(s), i), ag_get_flat(c_n, i));
    }
    ag_tape_reset(NULL);
    ag_params_zero_grad(p);

    /* Chunk 2 from the kept state. */
    ag_tensor *y2 = ag_rnn_unroll(p, "lstm", AG_CELL_LSTM, x2, ag_rnn_state_h(s),
                                  ag_rnn_state_c(s), NULL, NULL);
    ck_assert(ag_backward(chunk_loss(y2, g)));
    size_t np = ag_params_count(p);
    double *got = malloc(4 * 64 * HID * sizeof *got);
    size_t k = 0;
    for (size_t j = 0; j < np; j++) {
        const ag_tensor *gr = ag_grad_of(ag_params_at(p, j, NULL));
        for (size_t i = 0; i < ag_numel(gr); i++)
            got[k++] = ag_get_flat(gr, i);
    }
    ag_tape_reset(NULL);

    /* The definition: chunk 2 alone, from copies of the kept values as
     * constants. */
    ag_params_zero_grad(p);
    ag_tensor *h_c = h_keep(ag_clone(ag_rnn_state_h(s)));
    ag_tensor *c_c = h_keep(ag_clone(ag_rnn_state_c(s)));
    ck_assert(ag_backward(chunk_loss(ag_rnn_unroll(p, "lstm", AG_CELL_LSTM, x2, h_c, c_c, NULL,
                                                   NULL), g)));
    k = 0;
    for (size_t j = 0; j < np; j++) {
        const ag_tensor *gr = ag_grad_of(ag_params_at(p, j, NULL));
        for (size_t i = 0; i < ag_numel(gr); i++, k++)
            ck_assert_double_eq(got[k], ag_get_flat(gr, i));
    }
    ag_tape_reset(NULL);

    /* Full BPTT over both chunks differs: the truncation cut something.
     * Its outputs of chunk 2 are the same values, though. */
    ag_params_zero_grad(p);
    ag_tensor *both = ag_concat(2, (ag_tensor *[]){x1, x2}, 0);
    ag_tensor *y = ag_rnn_unroll(p, "lstm", AG_CELL_LSTM, both, NULL, NULL, NULL, NULL);
    ag_tensor *y2_full = ag_slice(y, 0, T, 2 * T, 1);
    ck_assert(ag_backward(chunk_loss(y2_full, g)));
    double diff = 0;
    k = 0;
    for (size_t j = 0; j < np; j++) {
        const ag_tensor *gr = ag_grad_of(ag_params_at(p, j, NULL));
        for (size_t i = 0; i < ag_numel(gr); i++, k++)
            diff = fmax(diff, fabs(got[k] - ag_get_flat(gr, i)));
    }
    ck_assert_msg(diff > 1e-6, "full BPTT equals the truncated gradient (%g)", diff);
    ag_tape_reset(NULL);
    free(got);

    /* Keeping before backward: the graph read the old state, and the
     * version check refuses the sweep. */
    y1 = ag_rnn_unroll(p, "lstm", AG_CELL_LSTM, x1, ag_rnn_state_h(s), ag_rnn_state_c(s), &h_n,
                       &c_n);
    ag_tensor *loss = chunk_loss(y1, g);
    ck_assert(ag_rnn_state_keep(s, h_n, c_n));
    ck_assert(!ag_backward(loss));
    ck_assert_status(AG_ERR_STATE);
    ag_error_clear();
    ag_tape_reset(NULL);

    ag_rnn_state_reset(s);
    ck_assert_double_eq(ag_get_flat(ag_rnn_state_h(s), 1), 0);
    ck_assert_double_eq(ag_get_flat(ag_rnn_state_c(s), 1), 0);
    ag_rnn_state_free(s);
    ag_params_free(p);
}
END_TEST

/* ---- a big graph ---- */

START_TEST(test_long_chain)
{
    int64_t T = h_valgrind() ? 2000 : 25000;
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_params *p = ag_params_new();
    ck_assert(ag_rnn_cell_init(p, "rnn", 2, 3, true, AG_F64, &rng));
    ag_tensor *x = h_rand(AG_F64, 3, H_SHAPE(T, 1, 2), -1, 1, &rng);
    ag_tensor *h_n;
    ag_tensor *y = ag_rnn_unroll(p, "rnn", AG_CELL_RNN, x, NULL, NULL, &h_n, NULL);
    ck_assert_tensor(y);
    if (!h_valgrind())
        ck_assert_uint_ge(ag_tape_size(NULL), 100000);
    ck_assert(ag_backward(ag_add(ag_mean(y), ag_sum(h_n))));
    const ag_tensor *gw = ag_grad_of(ag_params_get(p, "rnn.weight_hh"));
    ck_assert_ptr_nonnull(gw);
    for (size_t i = 0; i < ag_numel(gw); i++)
        ck_assert(isfinite(ag_get_flat(gw, i)));
    ag_params_free(p);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors)
{
    ag_rng rng;
    ag_rng_seed(&rng, 2);
    ag_params *p = ag_params_new();
    ck_assert(ag_lstm_cell_init(p, "l", 3, 4, true, AG_F64, &rng));
    ck_assert(ag_gru_cell_init(p, "g", 3, 4, false, AG_F64, &rng));
    ck_assert_uint_eq(ag_params_count(p), 6);

    ck_assert(!ag_lstm_cell_init(p, "l", 3, 4, true, AG_F64, &rng));
    ck_assert_error(AG_ERR_VALUE, "lstm_cell_init: layer 'l' exists already");
    ag_error_clear();
    ck_assert(!ag_rnn_cell_init(p, "r", 0, 4, true, AG_F64, &rng));
    ck_assert_error(AG_ERR_VALUE, "rnn_cell_init: input_size 0, hidden_size 4");
    ag_error_clear();
    ck_assert(!ag_gru_cell_init(p, "r", 3, -1, true, AG_F64, &rng));
    ck_assert_error(AG_ERR_VALUE, "hidden_size -1");
    ag_error_clear();
    ck_assert(!ag_rnn_cell_init(p, "r", 3, 4, true, AG_I64, &rng));
    ck_assert_error(AG_ERR_DTYPE, "rnn_cell_init: dtype i64");
    ag_error_clear();
    ck_assert_uint_eq(ag_params_count(p), 6);

    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *x5 = h_arr(AG_F64, 2, H_SHAPE(2, 5), H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    ag_tensor *seq = h_keep(ag_zeros(AG_F64, 3, H_SHAPE(2, 2, 3)));
    ag_tensor *hbad = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(2, 5)));
    ag_tensor *h32 = h_keep(ag_zeros(AG_F32, 2, H_SHAPE(2, 4)));
    ag_tensor *ho, *co;

    ck_assert_ptr_null(ag_gru_cell(p, "g", x5, NULL));
    ck_assert_error(AG_ERR_SHAPE, "gru_cell: x has shape (2,5); it must be (N, I) with I = 3");
    ag_error_clear();
    ck_assert_ptr_null(ag_gru_cell(p, "g", seq, NULL));
    ck_assert_error(AG_ERR_SHAPE, "gru_cell: x has shape (2,2,3)");
    ag_error_clear();
    ck_assert(!ag_lstm_cell(p, "l", x, hbad, NULL, &ho, &co));
    ck_assert_error(AG_ERR_SHAPE, "lstm_cell: h has shape (2,5); it must be (N, H) = (2, 4)");
    ck_assert_ptr_null(ho);
    ag_error_clear();
    ck_assert(!ag_lstm_cell(p, "l", x, NULL, h32, &ho, &co));
    ck_assert_error(AG_ERR_DTYPE, "lstm_cell: c is f32 but the weights are f64");
    ag_error_clear();
    ck_assert_ptr_null(ag_rnn_cell(p, "nope", x, NULL));
    ck_assert_error(AG_ERR_NOTFOUND, "rnn_cell: the store has no 'nope.weight_ih'");
    ag_error_clear();
    /* The wrong kind of layer: an LSTM's weights read as a GRU's. */
    ck_assert_ptr_null(ag_gru_cell(p, "l", x, NULL));
    ck_assert_error(AG_ERR_SHAPE, "gru_cell: 'l' has weight_ih (16,3)");
    ag_error_clear();

    ck_assert_ptr_null(ag_rnn_unroll(p, "g", AG_CELL_GRU, x, NULL, NULL, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "rnn_unroll: x has shape (2,3); it must be (T, N, I) with I = 3");
    ag_error_clear();
    ck_assert_ptr_null(ag_rnn_unroll(p, "g", AG_CELL_GRU, seq, hbad, NULL, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "rnn_unroll: h0 has shape (2,5)");
    ag_error_clear();
    ck_assert_ptr_null(ag_rnn_unroll(p, "g", AG_CELL_GRU, seq, NULL, h32, NULL, NULL));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ag_tensor *c0 = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(2, 4)));
    ck_assert_ptr_null(ag_rnn_unroll(p, "g", AG_CELL_GRU, seq, NULL, c0, NULL, NULL));
    ck_assert_error(AG_ERR_VALUE, "rnn_unroll: c0 given to a gru layer");
    ag_error_clear();
    ck_assert_ptr_null(ag_rnn_unroll(p, "g", (ag_cell_kind)7, seq, NULL, NULL, NULL, NULL));
    ck_assert_error(AG_ERR_VALUE, "rnn_unroll: cell kind 7");
    ag_error_clear();
    ag_tensor *empty = h_keep(ag_zeros(AG_F64, 3, H_SHAPE(0, 2, 3)));
    ck_assert_ptr_null(ag_rnn_unroll(p, "g", AG_CELL_GRU, empty, NULL, NULL, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "rnn_unroll: x has shape (0,2,3); T and N must be >= 1");
    ag_error_clear();

    ck_assert_ptr_null(ag_rnn_state_new(AG_CELL_GRU, 0, 4, AG_F64));
    ck_assert_error(AG_ERR_VALUE, "rnn_state_new: batch 0, hidden 4");
    ag_error_clear();
    ck_assert_ptr_null(ag_rnn_state_new(AG_CELL_GRU, 2, 4, AG_I64));
    ck_assert_error(AG_ERR_DTYPE, "rnn_state_new: dtype i64");
    ag_error_clear();
    ag_rnn_state *s = ag_rnn_state_new(AG_CELL_GRU, 2, 4, AG_F64);
    ck_assert_ptr_null(ag_rnn_state_c(s));
    ck_assert_ok();
    ck_assert(!ag_rnn_state_keep(s, hbad, NULL));
    ck_assert_error(AG_ERR_SHAPE, "rnn_state_keep: h_n is (2,5) f64; the state holds (2,4) f64");
    ag_error_clear();
    ck_assert(!ag_rnn_state_keep(s, c0, c0));
    ck_assert_error(AG_ERR_VALUE, "rnn_state_keep: c_n given to a gru state");
    ag_error_clear();
    ag_rnn_state_free(s);
    s = ag_rnn_state_new(AG_CELL_LSTM, 2, 4, AG_F64);
    ck_assert(!ag_rnn_state_keep(s, c0, NULL));
    ck_assert_error(AG_ERR_NULL, "rnn_state_keep: c_n is NULL but the state is an LSTM's");
    ag_error_clear();
    ag_rnn_state_free(s);
    ag_params_free(p);
}
END_TEST

/* The step at the realistic size of the benchmark (T = N = 32, I = H =
 * 128, f32) runs and its tape holds few nodes per step. */
START_TEST(test_realistic_size)
{
    int64_t T = h_valgrind() ? 4 : 32, n = 32, d = 128;
    ag_rng rng;
    ag_rng_seed(&rng, 9);
    ag_params *p = ag_params_new();
    ck_assert(ag_lstm_cell_init(p, "lstm", d, d, true, AG_F32, &rng));
    ag_tensor *x = h_rand(AG_F32, 3, H_SHAPE(T, n, d), -1, 1, &rng);
    ag_tensor *y = ag_rnn_unroll(p, "lstm", AG_CELL_LSTM, x, NULL, NULL, NULL, NULL);
    ck_assert_tensor(y);
    ck_assert_uint_le(ag_tape_size(NULL), (size_t)(18 * T + 8)); /* 17 a step */
    ck_assert(ag_backward(ag_mean(ag_square(y))));
    ck_assert_ptr_nonnull(ag_grad_of(ag_params_get(p, "lstm.weight_ih")));
    ag_params_free(p);
}
END_TEST

static Suite *rnn_suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *tc = h_tcase(s, "pytorch", H_TIMEOUT);
    tcase_add_loop_test(tc, test_cells_pytorch, 0, 6);
    tcase_add_loop_test(tc, test_unroll_pytorch, 0, 6);
    tcase_add_loop_test(tc, test_torch_names, 0, 3);
    tc = h_tcase(s, "gradients", 4 * H_TIMEOUT);
    tcase_add_loop_test(tc, test_gradcheck_long, 0, 2);
    tcase_add_test(tc, test_tbptt);
    tc = h_tcase(s, "size", 4 * H_TIMEOUT);
    tcase_add_test(tc, test_long_chain);
    tcase_add_test(tc, test_realistic_size);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_errors);
    return s;
}

H_MAIN(rnn_suite)

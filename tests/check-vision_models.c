/* SPDX-License-Identifier: MIT */
/* check-vision_models.c — the vision layers and stacks of models/: their
 * names, layouts and semantics against PyTorch, the training and
 * evaluation modes, initialisation by PyTorch's fans, and whole models
 * (a small CNN, a small VAE) checked end to end by ag_gradcheck_model,
 * which names the layer whose rule is broken on purpose.
 *
 * Expected values come from PyTorch (tests/vision_models_reference.py,
 * whose output is committed as vision_models_reference.h), from the
 * definition of the initialisations, and from finite differences. */
#include "models_fixture.h"

#include <autograd/tools.h>

#include <math.h>
#include <string.h>

#include "vision_models_reference.h"

/* ------------------------------------------------------------------ */
/* A stack against PyTorch's nn.Sequential                             */
/* ------------------------------------------------------------------ */

/* The stack of vision_models_reference.py, in f64. */
static ag_sequential *reference_stack(void)
{
    ag_sequential *s = ag_sequential_new(AG_F64, 1);
    ag_conv_opts pad1 = ag_conv_defaults();
    pad1.padding[0] = pad1.padding[1] = 1;
    ck_assert_msg(s && ag_seq_conv2d(s, 1, 2, 3, &pad1) && ag_seq_activation(s, AG_ACT_RELU) &&
                      ag_seq_max_pool2d(s, 2, 0) && ag_seq_conv2d(s, 2, 3, 3, NULL) &&
                      ag_seq_batch_norm(s, 3) && ag_seq_activation(s, AG_ACT_TANH) &&
                      ag_seq_flatten(s) && ag_seq_linear(s, 12, 4),
                  "%s", ag_last_error());
    return s;
}

/* The script's formula, parameter by parameter name. */
static void fill_like_reference(ag_params *p)
{
    static const char *const names[] = {"0.weight", "0.bias", "3.weight", "3.bias",
                                        "4.weight", "4.bias", "7.weight", "7.bias"};
    for (size_t k = 0; k < H_COUNT(names); k++) {
        ag_tensor *t = ag_params_get(p, names[k]);
        ck_assert_msg(t != NULL, "no parameter '%s': %s", names[k], ag_last_error());
        for (size_t i = 0; i < ag_numel(t); i++)
            ag_set_flat(t, i, 0.3 * sin(1.3 * (double)i + (double)k));
    }
}

static ag_tensor *reference_input(void)
{
    double x[2 * 64];
    for (int i = 0; i < 128; i++)
        x[i] = cos(0.7 * i);
    return h_arr(AG_F64, 4, H_SHAPE(2, 1, 8, 8), x);
}

/* The store holds nn.Sequential's state_dict: the same names, in the same
 * order, with PyTorch's shapes (the header's comment lists them). */
START_TEST(test_sequential_names_and_shapes)
{
    ag_sequential *s = reference_stack();
    ag_params *p = ag_sequential_params(s);
    static const struct {
        const char *name;
        int ndim;
        int64_t shape[4];
    } want[] = {
        {"0.weight", 4, {2, 1, 3, 3}}, {"0.bias", 1, {2}},         {"3.weight", 4, {3, 2, 3, 3}},
        {"3.bias", 1, {3}},            {"4.weight", 1, {3}},       {"4.bias", 1, {3}},
        {"4.running_mean", 1, {3}},    {"4.running_var", 1, {3}},  {"4.num_batches_tracked", 0, {0}},
        {"7.weight", 2, {4, 12}},      {"7.bias", 1, {4}},
    };
    ck_assert_uint_eq(ag_params_count(p), H_COUNT(want));
    ck_assert_int_eq(ag_sequential_len(s), 8);
    for (size_t i = 0; i < H_COUNT(want); i++) {
        const char *name;
        ag_tensor *t = ag_params_at(p, i, &name);
        ck_assert_str_eq(name, want[i].name);
        ck_assert_int_eq(ag_ndim(t), want[i].ndim);
        for (int d = 0; d < want[i].ndim; d++)
            ck_assert_int_eq(ag_dim(t, d), want[i].shape[d]);
    }
    /* The batch norm's state is not trained; its count is an integer. */
    ck_assert(!ag_requires_grad(ag_params_get(p, "4.running_mean")));
    ck_assert(!ag_requires_grad(ag_params_get(p, "4.running_var")));
    ck_assert_int_eq(ag_tensor_dtype(ag_params_get(p, "4.num_batches_tracked")), AG_I64);
    ck_assert(ag_requires_grad(ag_params_get(p, "4.weight")));
    ag_sequential_free(s);
}
END_TEST

/* Training mode: batch statistics, running statistics updated with
 * momentum 0.1 and the unbiased variance, the count bumped. Evaluation
 * mode afterwards: the running statistics. Both outputs as PyTorch's. */
START_TEST(test_sequential_matches_pytorch)
{
    ag_sequential *s = reference_stack();
    ag_params *p = ag_sequential_params(s);
    fill_like_reference(p);
    ag_tensor *x = reference_input();

    ck_assert(ag_params_training(p));
    ag_tensor *y = ag_sequential_forward(s, x);
    ck_assert_tensor(y);
    ck_assert_int_eq(ag_dim(y, 0), 2);
    ck_assert_int_eq(ag_dim(y, 1), 4);
    for (size_t i = 0; i < 8; i++)
        ck_assert_near(ag_get_flat(y, i), REF_TRAIN_OUT[i], 1e-12, 1e-13);
    for (size_t c = 0; c < 3; c++) {
        ck_assert_near(ag_get_flat(ag_params_get(p, "4.running_mean"), c), REF_RUNNING_MEAN[c],
                       1e-12, 1e-14);
        ck_assert_near(ag_get_flat(ag_params_get(p, "4.running_var"), c), REF_RUNNING_VAR[c],
                       1e-12, 1e-14);
    }
    ck_assert_double_eq(ag_get_flat(ag_params_get(p, "4.num_batches_tracked"), 0), 1);

    ck_assert(ag_params_set_training(p, false)); /* it was training */
    ag_tensor *e = ag_sequential_forward(s, x);
    ck_assert_tensor(e);
    for (size_t i = 0; i < 8; i++)
        ck_assert_near(ag_get_flat(e, i), REF_EVAL_OUT[i], 1e-12, 1e-13);
    /* Evaluation leaves the state alone. */
    ck_assert_double_eq(ag_get_flat(ag_params_get(p, "4.num_batches_tracked"), 0), 1);
    ck_assert_near(ag_get_flat(ag_params_get(p, "4.running_mean"), 0), REF_RUNNING_MEAN[0], 1e-12,
                   1e-14);
    ag_tape_reset(ag_tape_current());
    ag_sequential_free(s);
}
END_TEST

/* The same stack in f32 gives the same numbers to f32 precision. */
START_TEST(test_sequential_f32)
{
    ag_sequential *s = ag_sequential_new(AG_F32, 1);
    ag_conv_opts pad1 = ag_conv_defaults();
    pad1.padding[0] = pad1.padding[1] = 1;
    ck_assert(ag_seq_conv2d(s, 1, 2, 3, &pad1) && ag_seq_activation(s, AG_ACT_RELU) &&
              ag_seq_max_pool2d(s, 2, 2) && ag_seq_conv2d(s, 2, 3, 3, NULL) &&
              ag_seq_batch_norm(s, 3) && ag_seq_activation(s, AG_ACT_TANH) && ag_seq_flatten(s) &&
              ag_seq_linear(s, 12, 4));
    fill_like_reference(ag_sequential_params(s));
    ag_tensor *y = ag_sequential_forward(s, ag_cast(reference_input(), AG_F32));
    ck_assert_tensor(y);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    for (size_t i = 0; i < 8; i++)
        ck_assert_near(ag_get_flat(y, i), REF_TRAIN_OUT[i], 1e-5, 1e-6);
    ag_tape_reset(ag_tape_current());
    ag_sequential_free(s);
}
END_TEST

/* A layer that fails names its position and kind before the op's message. */
START_TEST(test_sequential_errors)
{
    ag_sequential *s = reference_stack();
    /* 3 channels where the first convolution takes 1 */
    ag_tensor *x = h_arr(AG_F64, 4, H_SHAPE(2, 3, 8, 8), NULL);
    ck_assert(ag_sequential_forward(s, x) == NULL);
    ck_assert_status(AG_ERR_SHAPE);
    ck_assert_msg(strstr(ag_last_error(), "sequential: layer 0 (conv2d): conv2d") != NULL, "%s",
                  ag_last_error());
    ag_error_clear();
    /* A channel count that does not divide the groups, refused when added. */
    ag_conv_opts g2 = ag_conv_defaults();
    g2.groups = 2;
    ck_assert(!ag_seq_conv2d(s, 3, 4, 3, &g2));
    ck_assert_status(AG_ERR_VALUE);
    ck_assert_int_eq(ag_sequential_len(s), 8); /* nothing added */
    ag_error_clear();
    ck_assert(!ag_seq_dropout(s, 1.5));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(!ag_seq_max_pool2d(s, 0, 0));
    ck_assert_status(AG_ERR_VALUE);
    ck_assert_int_eq(ag_sequential_len(s), 8);
    ag_error_clear();
    ck_assert(ag_sequential_new(AG_I64, 1) == NULL);
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ag_sequential_free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Modes, dropout, initialisation                                      */
/* ------------------------------------------------------------------ */

START_TEST(test_dropout_layer_follows_the_mode)
{
    ag_params *p = own_params(ag_params_new());
    ag_params_seed(p, 9);
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(100, 100), NULL);
    for (size_t i = 0; i < ag_numel(x); i++)
        ag_set_flat(x, i, 1.0);
    ag_tensor *y = ag_dropout_layer(p, x, 0.25);
    ck_assert_tensor(y);
    size_t zeros = 0;
    for (size_t i = 0; i < ag_numel(y); i++) {
        double v = ag_get_flat(y, i);
        if (v == 0)
            zeros++;
        else
            ck_assert_near(v, 1 / 0.75, 1e-15, 0); /* inverted scaling */
    }
    /* 10^4 draws of p = 0.25: within 5 standard deviations (5·43). */
    ck_assert_msg(fabs((double)zeros - 2500) < 5 * sqrt(10000 * 0.25 * 0.75), "%zu zeros", zeros);
    ck_assert(ag_params_set_training(p, false));
    ck_assert(ag_dropout_layer(p, x, 0.25) == x); /* evaluation: x itself */
    /* The store's generator makes the mask: the same seed, the same mask. */
    ag_params_set_training(p, true);
    ag_params_seed(p, 9);
    ag_tensor *again = ag_dropout_layer(p, x, 0.25);
    for (size_t i = 0; i < ag_numel(y); i++)
        ck_assert_double_eq(ag_get_flat(again, i), ag_get_flat(y, i));
    /* A clone keeps the mode and the generator's state. */
    ag_params_set_training(p, false);
    ag_params *c = own_params(ag_params_clone(p));
    ck_assert(!ag_params_training(c));
    ag_tape_reset(ag_tape_current());
}
END_TEST

/* He uniform on a conv weight (out, in/groups, kh, kw): U(±√(6/fan_in))
 * with fan_in = in/groups·kh·kw, PyTorch's fan. 16·3·5·5 = 1200 draws of
 * U(−a, a): every one inside, the largest near a, the variance a²/3. */
START_TEST(test_conv_init_fans)
{
    ag_rng rng;
    ag_rng_seed(&rng, 4);
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_conv2d_init(p, "c", 6, 16, 5, 5, 2, true, AG_F64, AG_INIT_HE_UNIFORM, &rng));
    ag_tensor *w = ag_params_get(p, "c.weight");
    ck_assert_int_eq(ag_dim(w, 1), 3);
    double a = sqrt(6.0 / (3 * 25)), maxabs = 0, ss = 0;
    for (size_t i = 0; i < ag_numel(w); i++) {
        double v = ag_get_flat(w, i);
        ck_assert(fabs(v) <= a);
        maxabs = fmax(maxabs, fabs(v));
        ss += v * v;
    }
    ck_assert(maxabs > 0.98 * a);
    double var = ss / (double)ag_numel(w), want = a * a / 3;
    /* The variance of v² for U(−a, a) is 4a⁴/45: 5 standard errors. */
    ck_assert_msg(fabs(var - want) < 5 * sqrt(4 * pow(a, 4) / 45 / (double)ag_numel(w)),
                  "variance %g, want %g", var, want);
    ck_assert_double_eq(ag_get_flat(ag_params_get(p, "c.bias"), 0), 0);

    /* Xavier normal on a transposed conv weight (in, out/groups, kh, kw):
     * std √(2/(fan_in + fan_out)) with fan_in = out/groups·k², fan_out =
     * in·k², as PyTorch computes them from the tensor's shape. */
    ck_assert(ag_conv_transpose2d_init(p, "t", 32, 16, 4, 4, 1, false, AG_F64,
                                       AG_INIT_XAVIER_NORMAL, &rng));
    ck_assert(ag_params_get(p, "t.bias") == NULL); /* bias false: none */
    ag_error_clear();
    ag_tensor *t = ag_params_get(p, "t.weight");
    ck_assert_int_eq(ag_dim(t, 0), 32);
    ck_assert_int_eq(ag_dim(t, 1), 16);
    ss = 0;
    for (size_t i = 0; i < ag_numel(t); i++)
        ss += ag_get_flat(t, i) * ag_get_flat(t, i);
    double sd = sqrt(ss / (double)ag_numel(t)), want_sd = sqrt(2.0 / (16 * 16 + 32 * 16));
    /* 8192 normal draws: the sample deviation within 5% of σ (5 standard
     * errors of σ/√(2n) = 0.8%). */
    ck_assert_msg(fabs(sd / want_sd - 1) < 0.05, "sd %g, want %g", sd, want_sd);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Whole models through ag_gradcheck_model                             */
/* ------------------------------------------------------------------ */

typedef struct cnn_data {
    ag_tensor *X; /* (3, 1, 6, 6) f64 */
    ag_tensor *y; /* (3) labels */
    const ag_op *wrong; /* NULL, or an activation whose rule is planted wrong */
} cnn_data;

/* y = tanh(x) with the rule dx += g·(1 − y) (the square forgotten). */
static void tanh_f32(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}
static void tanh_f64(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = tanh(x[i]);
}
static bool tanh_wrong_vjp(ag_tensor *node, ag_tensor *g, ag_tensor **grad_in)
{
    return (grad_in[0] = ag_mul(g, ag_rsub(node, 1.0))) != NULL;
}

static const ag_op *register_tanh_wrong(void)
{
    const ag_op *op = ag_op_find("tanh_wrong");
    if (!op) {
        ag_error_clear();
        op = ag_op_register(&(ag_op_def){.name = "tanh_wrong", .n_inputs = 1,
                                         .vjp = tanh_wrong_vjp, .domain_lo = -1, .domain_hi = 1,
                                         .map_f32 = tanh_f32, .map_f64 = tanh_f64});
    }
    ck_assert_msg(op != NULL, "%s", ag_last_error());
    return op;
}

/* conv 1→2 (3x3, padding 1, stride 2) → tanh → batch norm → avg pool 3 →
 * flatten → linear 2→3 → cross-entropy: every vision layer with a
 * parameter, in training mode. The activation is the planted wrong one
 * when asked, labelled "act1". */
static ag_tensor *cnn_loss(const ag_params *p, void *ctx)
{
    cnn_data *d = ctx;
    ag_conv_opts o = ag_conv_defaults();
    o.stride[0] = o.stride[1] = 2;
    o.padding[0] = o.padding[1] = 1;
    ag_tensor *h = ag_conv2d_layer(p, "conv1", d->X, &o); /* (3, 2, 3, 3) */
    if (d->wrong) {
        h = ag_op_apply(d->wrong, &h, NULL);
        ag_set_label(h, "act1");
    } else {
        h = ag_tanh(h);
    }
    h = ag_batch_norm_layer(p, "bn1", h);
    h = ag_avg_pool2d(h, H_SHAPE(3, 3), NULL, NULL, true); /* (3, 2, 1, 1) */
    h = ag_reshape(h, 2, H_SHAPE(3, 2));
    return ag_cross_entropy(ag_linear(p, "fc", h), d->y, AG_REDUCE_MEAN);
}

static ag_params *cnn_store(void)
{
    ag_rng rng;
    ag_rng_seed(&rng, 12);
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_conv2d_init(p, "conv1", 1, 2, 3, 3, 1, true, AG_F32, AG_INIT_HE_UNIFORM, &rng));
    ck_assert(ag_batch_norm_init(p, "bn1", 2, AG_F32));
    ck_assert(ag_linear_init(p, "fc", 2, 3, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng));
    /* Non-trivial biases, scale and shift. */
    for (size_t i = 0; i < 2; i++) {
        ag_set_flat(ag_params_get(p, "conv1.bias"), i, 0.1 * (double)i - 0.05);
        ag_set_flat(ag_params_get(p, "bn1.weight"), i, 1.2 - 0.3 * (double)i);
        ag_set_flat(ag_params_get(p, "bn1.bias"), i, 0.2 * (double)i);
    }
    return p;
}

static cnn_data cnn_inputs(void)
{
    double x[3 * 36], y[3] = {0, 2, 1};
    for (int i = 0; i < 3 * 36; i++)
        x[i] = sin(0.9 * i) + 0.3 * cos(2.1 * i);
    return (cnn_data){.X = h_arr(AG_F64, 4, H_SHAPE(3, 1, 6, 6), x),
                      .y = h_arr(AG_I64, 1, H_SHAPE(3), y)};
}

START_TEST(test_cnn_passes)
{
    ag_params *p = cnn_store();
    cnn_data d = cnn_inputs();
    ag_model_gradcheck_report rep;
    ck_assert_msg(ag_gradcheck_model(cnn_loss, &d, p, NULL, &rep), "%s: worst %s[%zu] %g vs %g",
                  ag_last_error(), rep.worst_param, rep.worst_index, rep.analytic, rep.numeric);
    /* conv 2·9 + 2, bn 2 + 2, fc 3·2 + 3; the running statistics and the
     * count do not require grad and are not checked. */
    ck_assert_uint_eq(rep.n_checked, 20 + 4 + 9);
}
END_TEST

/* The planted rule: the gradient reaching conv1 is wrong, fc's and bn1's
 * are right, so the worst element is conv1's and the per-node check names
 * the op and its label. */
START_TEST(test_cnn_broken_layer_is_named)
{
    ag_params *p = cnn_store();
    cnn_data d = cnn_inputs();
    d.wrong = register_tanh_wrong();
    ag_model_gradcheck_report rep;
    ag_gradcheck_opts o = ag_gradcheck_defaults();
    o.per_node = true;
    ck_assert(!ag_gradcheck_model(cnn_loss, &d, p, &o, &rep));
    ck_assert(!rep.pass);
    ck_assert_msg(strncmp(rep.worst_param, "conv1.", 6) == 0, "worst: %s", rep.worst_param);
    ck_assert_str_eq(rep.culprit_op, "tanh_wrong");
    ck_assert_str_eq(rep.culprit_label, "act1");
    ag_error_clear();
}
END_TEST

/* A small VAE: encoder 4-3-(2, 2), ε fixed (drawn from a generator
 * reseeded at every call, so every evaluation of the finite differences
 * sees the same draw), decoder 2-3-4, the negative ELBO. */
typedef struct vae_data {
    ag_tensor *X; /* (5, 4) in (0, 1), f64 */
} vae_data;

static ag_tensor *vae_loss(const ag_params *p, void *ctx)
{
    vae_data *d = ctx;
    ag_rng rng;
    ag_rng_seed(&rng, 77);
    ag_tensor *h = ag_tanh(ag_linear(p, "enc", d->X));
    ag_tensor *mu = ag_linear(p, "mu", h), *logvar = ag_linear(p, "logvar", h);
    ag_tensor *eps = ag_randn(AG_F64, 2, H_SHAPE(5, 2), &rng);
    ag_tensor *z = ag_add(mu, ag_mul(ag_exp(ag_mul_scalar(logvar, 0.5)), eps));
    ag_tensor *logits = ag_linear(p, "dec2", ag_tanh(ag_linear(p, "dec1", z)));
    ag_tensor *rec = ag_bce_with_logits(logits, d->X, AG_REDUCE_SUM);
    ag_tensor *kl = ag_mul_scalar(
        ag_sum(ag_sub(ag_sub(ag_add_scalar(logvar, 1), ag_square(mu)), ag_exp(logvar))), -0.5);
    return ag_mul_scalar(ag_add(rec, kl), 1.0 / 5);
}

START_TEST(test_vae_passes)
{
    ag_rng rng;
    ag_rng_seed(&rng, 8);
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_linear_init(p, "enc", 4, 3, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng));
    ck_assert(ag_linear_init(p, "mu", 3, 2, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng));
    ck_assert(ag_linear_init(p, "logvar", 3, 2, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng));
    ck_assert(ag_linear_init(p, "dec1", 2, 3, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng));
    ck_assert(ag_linear_init(p, "dec2", 3, 4, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng));
    double x[20];
    for (int i = 0; i < 20; i++)
        x[i] = 0.5 + 0.4 * sin(1.7 * i);
    vae_data d = {.X = h_arr(AG_F64, 2, H_SHAPE(5, 4), x)};
    ag_model_gradcheck_report rep;
    ck_assert_msg(ag_gradcheck_model(vae_loss, &d, p, NULL, &rep), "%s: worst %s[%zu] %g vs %g",
                  ag_last_error(), rep.worst_param, rep.worst_index, rep.analytic, rep.numeric);
    ck_assert_uint_eq(rep.n_checked, (4 * 3 + 3) + 2 * (3 * 2 + 2) + (2 * 3 + 3) + (3 * 4 + 4));
}
END_TEST

/* A sequential CNN through ag_sequential_apply on the checker's f64 copy. */
typedef struct seq_data {
    const ag_sequential *s;
    ag_tensor *X; /* (2, 1, 8, 8) f64 */
} seq_data;

static ag_tensor *seq_loss(const ag_params *p, void *ctx)
{
    seq_data *d = ctx;
    return ag_sum(ag_square(ag_sequential_apply(d->s, p, d->X)));
}

START_TEST(test_sequential_gradcheck)
{
    ag_sequential *s = ag_sequential_new(AG_F32, 3);
    ag_conv_opts pad1 = ag_conv_defaults();
    pad1.padding[0] = pad1.padding[1] = 1;
    ck_assert(ag_seq_conv2d(s, 1, 2, 3, &pad1) && ag_seq_activation(s, AG_ACT_TANH) &&
              ag_seq_avg_pool2d(s, 2, 0) && ag_seq_conv_transpose2d(s, 2, 1, 2, NULL) &&
              ag_seq_flatten(s) && ag_seq_linear(s, 25, 2)); /* (2, 1, 5, 5) flattened */
    seq_data d = {.s = s, .X = reference_input()};
    ag_model_gradcheck_report rep;
    bool ok = ag_gradcheck_model(seq_loss, &d, ag_sequential_params(s), NULL, &rep);
    ck_assert_msg(ok, "%s: worst %s[%zu] %g vs %g", ag_last_error(), rep.worst_param,
                  rep.worst_index, rep.analytic, rep.numeric);
    ck_assert_uint_eq(rep.n_checked, (18 + 2) + (8 + 1) + (50 + 2));
    ag_sequential_free(s);
}
END_TEST

/* The layers label their results with their names, so ag_explain and the
 * per-node checker speak of "conv1" and "0.max_pool2d", not node numbers. */
START_TEST(test_layers_label_their_results)
{
    ag_params *p = cnn_store();
    cnn_data d = cnn_inputs();
    ag_tensor *x = ag_cast(d.X, AG_F32);
    ag_tensor *h = ag_conv2d_layer(p, "conv1", x, NULL);
    ck_assert_str_eq(ag_label(h), "conv1");
    ck_assert_str_eq(ag_label(ag_batch_norm_layer(p, "bn1", h)), "bn1");
    ag_sequential *s = reference_stack();
    ag_tensor *y = ag_sequential_forward(s, reference_input());
    ck_assert_tensor(y);
    ck_assert_str_eq(ag_label(y), "7");
    ck_assert_str_eq(ag_label(ag_node_input(y, 0)), "6.flatten");
    ag_tape_reset(ag_tape_current());
    ag_sequential_free(s);
}
END_TEST

/* ag_train with the model's store in its config: the training steps see
 * training mode, the evaluation of the test set evaluation mode, and the
 * store is back in training mode afterwards. */
typedef struct mode_probe {
    ag_params *p;
    int train_calls, eval_calls;
} mode_probe;

static ag_tensor *probe_loss(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)y, (void)targets;
    mode_probe *m = model;
    if (ag_params_training(m->p))
        m->train_calls++;
    else
        m->eval_calls++;
    return ag_mean(ag_square(ag_linear(m->p, "fc", X)));
}

START_TEST(test_train_switches_modes)
{
    ag_rng rng;
    ag_rng_seed(&rng, 2);
    mode_probe m = {.p = own_params(ag_params_new())};
    ck_assert(ag_linear_init(m.p, "fc", 3, 1, AG_F64, AG_INIT_XAVIER_UNIFORM, &rng));
    ag_dataset *d = own_dataset(ag_calloc(1, sizeof *d));
    d->X = ag_zeros(AG_F64, 2, H_SHAPE(8, 3));
    d->y = ag_zeros(AG_I64, 1, H_SHAPE(8));
    d->n = 8, d->d = 3, d->n_classes = 1;
    ag_optim_config oc = ag_optim_defaults(AG_SGD);
    ag_optim *opt = own_optim(ag_optim_new(m.p, &oc));
    ag_train_config cfg = {.epochs = 2, .batch_size = 4, .quiet = true, .params = m.p};
    ck_assert_msg(ag_train(&m, probe_loss, NULL, opt, d, d, &cfg, NULL), "%s", ag_last_error());
    ck_assert_int_eq(m.train_calls, 2 * 2); /* two batches of 4, twice */
    ck_assert_int_eq(m.eval_calls, 2 * 2);
    ck_assert(ag_params_training(m.p));
}
END_TEST

/* A stack of 10^5 layers (tanh, no parameters; 10^4 under valgrind):
 * adding, the forward pass and the backward sweep through it are loops,
 * not recursion, and the gradient is the product of the local
 * derivatives, computed here from the forward values alone. */
START_TEST(test_sequential_deep)
{
    const int DEPTH = h_valgrind() ? 10000 : 100000;
    char last[32];
    snprintf(last, sizeof last, "%d.activation", DEPTH - 1);
    ag_sequential *s = ag_sequential_new(AG_F64, 1);
    for (int i = 0; i < DEPTH; i++)
        ck_assert(ag_seq_activation(s, AG_ACT_TANH));
    ck_assert_int_eq(ag_sequential_len(s), DEPTH);
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), (double[]){0.5, -2.0});
    ag_tensor *y = ag_sequential_forward(s, x);
    ck_assert_tensor(y);
    ck_assert_str_eq(ag_label(y), last);
    ck_assert(ag_backward(ag_sum(y)));
    for (size_t e = 0; e < 2; e++) {
        double v = ag_get_flat(x, e), d = 1;
        for (int i = 0; i < DEPTH; i++) {
            double t = tanh(v);
            d *= 1 - t * t;
            v = t;
        }
        ck_assert_near(ag_get_flat(y, e), v, 1e-12, 1e-15);
        ck_assert_near(ag_get_flat(ag_grad_of(x), e), d, 1e-9, 1e-300);
    }
    ag_tape_reset(ag_tape_current());
    ag_sequential_free(s);
}
END_TEST

Suite *vision_models_suite(void);
Suite *vision_models_suite(void)
{
    Suite *s = suite_create("vision_models");
    TCase *tc = h_tcase(s, "vision_models", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_sequential_names_and_shapes);
    tcase_add_test(tc, test_sequential_matches_pytorch);
    tcase_add_test(tc, test_sequential_f32);
    tcase_add_test(tc, test_sequential_errors);
    tcase_add_test(tc, test_dropout_layer_follows_the_mode);
    tcase_add_test(tc, test_conv_init_fans);
    tcase_add_test(tc, test_cnn_passes);
    tcase_add_test(tc, test_cnn_broken_layer_is_named);
    tcase_add_test(tc, test_vae_passes);
    tcase_add_test(tc, test_sequential_gradcheck);
    tcase_add_test(tc, test_layers_label_their_results);
    tcase_add_test(tc, test_train_switches_modes);
    tcase_add_test(tc, test_sequential_deep);
    return s;
}

H_MAIN(vision_models_suite)

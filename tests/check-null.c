/* SPDX-License-Identifier: MIT */
/* check-null.c — every public function, given NULL for each pointer
 * argument in turn (the other arguments valid), reports AG_ERR_NULL with
 * its documented error value, or does what its header documents for NULL.
 *
 * DESIGN.md: "Invalid API use (NULL where forbidden) is an error too, not a
 * crash." One table row per (function, pointer argument): the argument that
 * is NULL, whether the header forbids it (ERR: the row's expression checks
 * the documented error value, and the status must be AG_ERR_NULL) or gives
 * NULL a meaning (OK: the expression checks that meaning, and the status
 * must stay AG_OK), or NOPTR for a function without pointer arguments, so
 * that it is still listed. Each row is its own forked test, so a crash names
 * its row, and the whole table runs once more in anomaly mode, where the
 * ag_locations.h wrappers record a location before every op.
 *
 * The table cannot silently fall behind the headers: test_table_complete
 * reads the installed headers (found from AG_TEST_DATA, the tests' data
 * folder, two levels below the source root), lists every `ag_*(`
 * declaration with its pointer parameters, and fails for a function or a
 * pointer parameter without a row, for a row naming a function or
 * parameter that does not exist, and for an ag_locations.h wrapper of a
 * function that is not declared. */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef AG_TEST_DATA_PATH
#define AG_TEST_DATA_PATH "tests/data"
#endif

/* ------------------------------------------------------------------ */
/* The fixture: one valid value for every argument                     */
/* ------------------------------------------------------------------ */

static struct {
    ag_rng rng;
    ag_tensor *x;      /* f64 (2,3) in (0, 1), requires grad */
    ag_tensor *y;      /* f64 (2,3) in (0, 1) */
    ag_tensor *w;      /* f64 (3,2), for x @ w */
    ag_tensor *b;      /* f64 (2), a bias for x @ w */
    ag_tensor *v;      /* f64 (3) */
    ag_tensor *s;      /* f64 0-d, requires grad */
    ag_tensor *ones;   /* f64 (2,3) ones: a seed or a vector of x's shape */
    ag_tensor *idx;    /* i64 (2,3) zeros: a gather index into x along axis 1 */
    ag_tensor *pos;    /* i64 (2) {0, 1}: rows of x, or class labels of x's rows */
    ag_tensor *sq;     /* x * x, recorded */
    ag_tensor *loss;   /* sum(x * x), recorded */
    ag_tape *tape;     /* a second tape */
    const ag_op *op;   /* "add" */
    ag_mlp *mlp;       /* 3-4-2, tanh */
    ag_params *p;      /* the MLP's store: "fc1.weight" (3,4), "fc1.bias" (4), ... */
    ag_params *logreg; /* d = 3 */
    ag_params *smreg;  /* d = 3, k = 2 */
    ag_sequential *seq; /* conv2d(1, 2, 3) "0", batch_norm(2) "1", f64 */
    ag_tensor *img;    /* f64 (2,1,4,4) zeros: an input of seq */
    ag_params *rnn;    /* cells "rnn", "lstm", "gru": I = 3 (x's), H = 4 */
    ag_tensor *seq3;   /* f64 (1,2,3) zeros: a sequence of x's rows */
    ag_tensor *h24;    /* f64 (2,4) zeros: a state of the cells */
    ag_tensor *ho, *co; /* outputs of ag_lstm_cell */
    ag_rnn_state *gru_state; /* (2,4) f64 */
    ag_rnn_names rnn_names;
    ag_optim *opt;     /* Adam over p */
    ag_optim_config cfg;
    ag_schedule_config sched;
    ag_dataset ds;     /* by hand: X (4,3) f64, y (4) {0, 1, 0, 1}; tensors kept */
    ag_batches *batches;
    ag_text *text;     /* "ab\nba" at AG_TEXT_CHARS: ids 1 2 0 2 1 */
    ag_text_batches *tbatches; /* over text, T 2, N 1 */
    ag_tensor *bigram; /* f64 (3,3) zeros: logits of a language model of text */
    double nats;
    int64_t gen[4];    /* a prompt {1} and room for three tokens */
    ag_standardizer st;
    ag_train_config train;
    FILE *out;         /* where printing functions write */
    char dir[256];     /* a temporary folder for model files */
    char model[320], ckpt[320], dot[320], svg[320], plot[320];
    ag_plot_series series; /* two points, for ag_save_png_plot */
    char csv[320], images[320], labels[320];
    char buf[64];
    ag_gradcheck_opts gc_opts;
    ag_gradcheck_report rep;
    ag_gradcheck_nodes_report nrep;
    ag_model_gradcheck_report mrep;
    ag_explanation expl;
    ag_op_def def;
    ag_gpt_config gcfg; /* vocab 5, block 4, d 4, 1 layer, 2 heads, d_ff 6, untied */
    ag_params *gpt;     /* its store: "tok_emb.weight", "blocks.0.self_attn.*", ... */
    ag_tensor *ids;     /* i64 (1,3) token ids */
    ag_tensor *seqx;    /* f64 (1,3,4): an input of "blocks.0" */
} F;

static const char *test_data(void)
{
    const char *d = getenv("AG_TEST_DATA");
    return d && *d ? d : AG_TEST_DATA_PATH;
}

static ag_tensor *sum_sq(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(ag_mul(in[0], in[0]));
}

/* A model's loss from its store: the sum of squares of the MLP's first bias. */
static ag_tensor *store_sum_sq(const ag_params *p, void *ctx)
{
    (void)ctx;
    return ag_sum(ag_square(ag_params_get(p, "fc1.bias")));
}

static ag_tensor *logits_of(void *model, ag_tensor *X)
{
    return ag_mlp_forward(model, X);
}

static ag_tensor *loss_of(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)targets;
    return ag_cross_entropy(ag_mlp_forward(model, X), y, AG_REDUCE_MEAN);
}

/* The same, ignoring `model` (the fixture's MLP): for rows that pass a
 * NULL model, which the training helpers only hand on. */
static ag_tensor *logits_fixed(void *model, ag_tensor *X)
{
    (void)model;
    return ag_mlp_forward(F.mlp, X);
}

static ag_tensor *loss_fixed(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)model;
    return loss_of(F.mlp, X, y, targets);
}

static ag_tensor *apply_first(ag_tensor *const *in, const void *params)
{
    (void)params;
    return ag_neg(in[0]);
}

/* A NULL opts is the defaults: a 1x1 transposed convolution of 2 channels
 * on the fixture's (after its conv) 2-channel maps. */
static bool transpose_layer_default_opts(void)
{
    ag_params *p = ag_params_new();
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    bool ok = ag_conv_transpose2d_init(p, "t", 2, 1, 1, 1, 1, true, AG_F64, AG_INIT_HE_UNIFORM, &rng);
    ag_tensor *x = ag_zeros(AG_F64, 4, H_SHAPE(1, 2, 3, 3));
    ok = ok && ag_ndim(ag_conv_transpose2d_layer(p, "t", x, NULL)) == 4;
    ag_tensor_free(x);
    ag_params_free(p);
    return ok;
}

/* An ag_seq_* call with NULL opts added its layer. */
static bool seq_added(bool ok)
{
    return ok && ag_sequential_len(F.seq) == 3;
}

static bool vjp_neg(ag_tensor *node, ag_tensor *g, ag_tensor **grad_in)
{
    (void)node;
    grad_in[0] = ag_neg(g);
    return grad_in[0] != NULL;
}

static size_t n_seen;
static void count_op(const ag_op *op, void *ctx)
{
    (void)op;
    (void)ctx;
    n_seen++;
}

static void fixture_setup(void)
{
    memset(&F, 0, sizeof F);
    ag_rng_seed(&F.rng, 12);
    F.x = h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(0.1, 0.2, 0.3, 0.4, 0.5, 0.6));
    F.y = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(0.6, 0.5, 0.4, 0.3, 0.2, 0.1));
    F.w = h_arr(AG_F64, 2, H_SHAPE(3, 2), H_VALS(1, 2, 3, 4, 5, 6));
    F.b = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    F.v = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    F.s = h_pscalar(AG_F64, 0.5);
    F.ones = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 1, 1, 1, 1, 1));
    F.idx = h_arr(AG_I64, 2, H_SHAPE(2, 3), NULL);
    F.pos = h_arr(AG_I64, 1, H_SHAPE(2), H_VALS(0, 1));
    F.sq = ag_mul(F.x, F.x);
    F.loss = ag_sum(F.sq);
    ck_assert_tensor(F.loss);
    F.tape = h_tape();
    F.op = ag_op_find("add");
    ck_assert_ptr_nonnull(F.op);

    F.mlp = ag_mlp_new(3, H_SHAPE(3, 4, 2), AG_ACT_TANH, AG_F64, &F.rng);
    ck_assert_msg(F.mlp != NULL, "%s", ag_last_error());
    F.p = F.mlp->params;
    F.seq = ag_sequential_new(AG_F64, 1);
    ck_assert_msg(F.seq && ag_seq_conv2d(F.seq, 1, 2, 3, NULL) && ag_seq_batch_norm(F.seq, 2),
                  "%s", ag_last_error());
    F.img = ag_zeros(AG_F64, 4, H_SHAPE(2, 1, 4, 4));
    F.rnn = ag_params_new();
    ck_assert_msg(ag_rnn_cell_init(F.rnn, "rnn", 3, 4, true, AG_F64, &F.rng) &&
                      ag_lstm_cell_init(F.rnn, "lstm", 3, 4, true, AG_F64, &F.rng) &&
                      ag_gru_cell_init(F.rnn, "gru", 3, 4, true, AG_F64, &F.rng),
                  "%s", ag_last_error());
    F.seq3 = ag_zeros(AG_F64, 3, H_SHAPE(1, 2, 3));
    F.h24 = ag_zeros(AG_F64, 2, H_SHAPE(2, 4));
    F.gru_state = ag_rnn_state_new(AG_CELL_GRU, 2, 4, AG_F64);
    ck_assert_msg(F.seq3 && F.h24 && F.gru_state, "%s", ag_last_error());
    F.logreg = ag_logreg_new(3, AG_F64);
    F.gcfg = (ag_gpt_config){.vocab_size = 5, .block_size = 4, .d_model = 4, .n_layer = 1,
                             .n_head = 2, .d_ff = 6};
    F.gpt = ag_gpt_new(&F.gcfg, AG_F64, 1);
    F.ids = ag_from_array(AG_I64, 2, H_SHAPE(1, 3), (const int64_t[]){1, 0, 4});
    F.seqx = ag_zeros(AG_F64, 3, H_SHAPE(1, 3, 4));
    F.smreg = ag_softmax_regression_new(3, 2, AG_F64);
    F.cfg = (ag_optim_config){.kind = AG_ADAM, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999,
                              .eps = 1e-8};
    F.opt = ag_optim_new(F.p, &F.cfg);
    ck_assert_msg(F.logreg && F.smreg && F.opt, "%s", ag_last_error());
    F.sched = (ag_schedule_config){.kind = AG_SCHEDULE_CONSTANT, .base_lr = 0.1};

    F.ds.X = h_arr(AG_F64, 2, H_SHAPE(4, 3), H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 3, 2));
    F.ds.y = h_arr(AG_I64, 1, H_SHAPE(4), H_VALS(0, 1, 0, 1));
    F.ds.n = 4;
    F.ds.d = 3;
    F.ds.n_classes = 2;
    F.batches = ag_batches_new(&F.ds, 2, true, 1);
    ck_assert_msg(F.batches != NULL, "%s", ag_last_error());
    F.text = ag_text_from_string("ab\nba", 5, AG_TEXT_CHARS, NULL);
    F.tbatches = F.text ? ag_text_batches_new(F.text, 2, 1, true, 1) : NULL;
    ck_assert_msg(F.tbatches != NULL, "%s", ag_last_error());
    F.bigram = ag_zeros(AG_F64, 2, H_SHAPE(3, 3));
    F.gen[0] = 1;
    ck_assert_msg(ag_standardizer_fit(&F.st, &F.ds), "%s", ag_last_error());
    F.train = (ag_train_config){.epochs = 1, .batch_size = 2, .seed = 1, .quiet = true};

    F.out = tmpfile();
    ck_assert_msg(F.out != NULL, "tmpfile: %s", strerror(errno));
    const char *tmp = getenv("TMPDIR");
    snprintf(F.dir, sizeof F.dir, "%s/ag-check-null-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(F.dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(F.model, sizeof F.model, "%s/model.safetensors", F.dir);
    snprintf(F.ckpt, sizeof F.ckpt, "%s/train.ckpt", F.dir);
    snprintf(F.dot, sizeof F.dot, "%s/graph.dot", F.dir);
    snprintf(F.svg, sizeof F.svg, "%s/graph.svg", F.dir);
    snprintf(F.plot, sizeof F.plot, "%s/plot.png", F.dir);
    static const double plot_y[] = {1, 2};
    F.series = (ag_plot_series){"loss", NULL, plot_y, 2};
    ck_assert_msg(ag_safetensors_save(F.model, F.p, NULL), "%s", ag_last_error());
    ck_assert_msg(ag_checkpoint_save(F.ckpt, F.p, F.opt), "%s", ag_last_error());
    FILE *dot = fopen(F.dot, "w");
    ck_assert_msg(dot && ag_graph_dot(dot, 1, &F.loss), "%s", ag_last_error());
    fclose(dot);
    snprintf(F.csv, sizeof F.csv, "%s/small.csv", test_data());
    snprintf(F.images, sizeof F.images, "%s/tiny-images-idx3-ubyte", test_data());
    snprintf(F.labels, sizeof F.labels, "%s/tiny-labels-idx1-ubyte", test_data());

    F.gc_opts = ag_gradcheck_defaults();
    F.def = (ag_op_def){.name = "null_probe", .n_inputs = 1, .forward = apply_first,
                        .vjp = vjp_neg, .domain_lo = -1, .domain_hi = 1};
    ag_error_clear();
}

static void fixture_teardown(void)
{
    ag_anomaly_mode_set(false);
    ag_set_location_(NULL, 0, NULL);
    ag_standardizer_free(&F.st);
    ag_batches_free(F.batches);
    ag_text_batches_free(F.tbatches);
    ag_text_free(F.text);
    ag_tensor_free(F.bigram);
    ag_optim_free(F.opt);
    ag_mlp_free(F.mlp);
    ag_sequential_free(F.seq);
    ag_tensor_free(F.img);
    ag_params_free(F.rnn);
    ag_tensor_free(F.seq3);
    ag_tensor_free(F.h24);
    ag_rnn_state_free(F.gru_state);
    ag_params_free(F.logreg);
    ag_params_free(F.smreg);
    ag_params_free(F.gpt);
    ag_tensor_free(F.ids);
    ag_tensor_free(F.seqx);
    if (F.out)
        fclose(F.out);
    if (F.dir[0]) {
        const char *files[] = {F.model, F.ckpt, F.dot, F.svg, F.plot};
        for (size_t i = 0; i < H_COUNT(files); i++)
            remove(files[i]);
        rmdir(F.dir);
    }
    memset(&F, 0, sizeof F);
}

/* ------------------------------------------------------------------ */
/* Helpers for rows whose call needs more than one expression          */
/* ------------------------------------------------------------------ */

#define T1(a) ((ag_tensor *const[]){(a)})
#define T2(a, b) ((ag_tensor *const[]){(a), (b)})
#define IS_NULL(e) ((e) == NULL)
#define VOID_CALL(e) ((void)(e), true)

/* ag_save_png_plot with opts NULL draws with the defaults; a library
 * built without libpng says so, which is no NULL error. */
static bool plot_default_opts(void)
{
    if (ag_save_png_plot(F.plot, 1, &F.series, NULL))
        return true;
    bool no_png = ag_last_status() == AG_ERR_VALUE && strstr(ag_last_error(), "without libpng");
    if (no_png)
        ag_error_clear();
    return no_png;
}

/* A leaf for ag_params_add, which takes it over (and frees it on failure). */
static ag_tensor *fresh(void)
{
    return ag_zeros(AG_F64, 1, H_SHAPE(2));
}

/* The pools' NULL stride is the kernel, a NULL padding 0: the same result
 * as given explicitly, on x reshaped to (1, 1, 2, 3). */
static ag_tensor *pool_of(bool avg, const int64_t *k, const int64_t *s, const int64_t *p)
{
    ag_tensor *x = ag_reshape(F.x, 4, H_SHAPE(1, 1, 2, 3));
    return avg ? ag_avg_pool2d(x, k, s, p, true) : ag_max_pool2d(x, k, s, p);
}

static bool same_values(const ag_tensor *a, const ag_tensor *b)
{
    if (!a || !b || ag_numel(a) != ag_numel(b) || ag_ndim(a) != ag_ndim(b))
        return false;
    for (size_t i = 0; i < ag_numel(a); i++)
        if (ag_get_flat(a, i) != ag_get_flat(b, i))
            return false;
    return true;
}

static bool stride_is_kernel(bool avg)
{
    const int64_t *k = H_SHAPE(1, 2);
    return same_values(pool_of(avg, k, NULL, NULL), pool_of(avg, k, k, NULL));
}

static bool pool_unpadded(bool avg)
{
    const int64_t *k = H_SHAPE(2, 1), *s = H_SHAPE(1, 1);
    return same_values(pool_of(avg, k, s, NULL), pool_of(avg, k, s, H_SHAPE(0, 0)));
}

/* batch_norm of F.x (2,3) in training with one of running_mean,
 * running_var, weight, bias NULL and the others given (fresh running
 * statistics: they are updated in place). */
static bool batch_norm_without(int which)
{
    ag_tensor *rm = ag_zeros(AG_F64, 1, H_SHAPE(3)), *rv = ag_ones(AG_F64, 1, H_SHAPE(3));
    ag_tensor *y = ag_batch_norm(F.x, which == 0 ? NULL : rm, which == 1 ? NULL : rv,
                                 which == 2 ? NULL : F.v, which == 3 ? NULL : F.v, true, 0.1,
                                 1e-5);
    ag_tensor_free(rm);
    ag_tensor_free(rv);
    return y != NULL;
}

static bool zeros_0d(void)
{
    ag_tensor *t = ag_zeros(AG_F64, 0, NULL);
    bool ok = t && ag_ndim(t) == 0 && ag_item(t) == 0.0;
    ag_tensor_free(t);
    return ok;
}

/* A convolution of ones by ones with a NULL bias (no bias) or NULL opts
 * (the defaults, here with a bias of 0.5): op 0 conv2d of (1,1,3,3) by
 * (1,1,2,2), 1 conv1d of (1,1,3) by (1,1,2), 2 conv_transpose2d of
 * (1,1,2,2) by (1,1,2,2); the sum of the result counts the products. */
static bool conv_null_ok(int op, bool null_opts)
{
    int nd = op == 1 ? 3 : 4;
    const int64_t *xs = op == 0 ? H_SHAPE(1, 1, 3, 3) : op == 1 ? H_SHAPE(1, 1, 3) : H_SHAPE(1, 1, 2, 2);
    const int64_t *ws = op == 1 ? H_SHAPE(1, 1, 2) : H_SHAPE(1, 1, 2, 2);
    ag_tensor *x = ag_ones(AG_F64, nd, xs), *w = ag_ones(AG_F64, nd, ws);
    ag_tensor *b = ag_full(AG_F64, 1, H_SHAPE(1), 0.5);
    ag_conv_opts d = ag_conv_defaults();
    ag_tensor *bias = null_opts ? b : NULL;
    const ag_conv_opts *o = null_opts ? NULL : &d;
    ag_tensor *y = op == 0 ? ag_conv2d(x, w, bias, o)
                   : op == 1 ? ag_conv1d(x, w, bias, o)
                             : ag_conv_transpose2d(x, w, bias, o);
    /* products: 4 outputs of 4, 2 of 2, 16 stamped; outputs 4, 2, 9 */
    double want = op == 0 ? 16 : op == 1 ? 4 : 16, n_out = op == 0 ? 4 : op == 1 ? 2 : 9;
    if (null_opts)
        want += 0.5 * n_out;
    bool ok = y && ag_item(ag_sum(y)) == want;
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(b);
    return ok;
}

static bool label_cleared(void)
{
    ag_set_label(F.x, "x");
    ag_set_label(F.x, NULL);
    return strcmp(ag_label(F.x), "") == 0;
}

static bool get_0d(void)
{
    return ag_get(F.s, NULL) == 0.5;
}

static bool tape_free_default(void)
{
    ag_tape_free(NULL);
    return ag_tape_size(NULL) == 0;
}

static bool tape_use_default(void)
{
    ag_tape_use(F.tape);
    return ag_tape_use(NULL) == F.tape && ag_tape_current() != F.tape;
}

static bool tape_reset_current(void)
{
    ag_tape_reset(NULL);
    return ag_tape_size(NULL) == 0;
}

/* which: 0 outputs, 1 outputs[0], 2 seeds, 3 seeds[0], 4 inputs, 5 inputs[0],
 * 6 grads. */
static bool grad_with_null(int which)
{
    ag_tensor *out[1] = {which == 1 ? NULL : F.loss};
    ag_tensor *seed[1] = {which == 3 ? NULL : h_scalar(AG_F64, 1)};
    ag_tensor *in[1] = {which == 5 ? NULL : F.x};
    ag_tensor *g[1] = {NULL};
    bool ok = ag_grad(1, which == 0 ? NULL : out, which == 2 ? NULL : seed, 1,
                      which == 4 ? NULL : in, 0, which == 6 ? NULL : g);
    if (which == 2 || which == 3)
        return ok && g[0] && ag_get_flat(g[0], 0) == 0.2;
    return !ok;
}

/* which: 0 node, 1 grad_out, 2 inputs, 3 inputs[0], 4 grad_in, 5 grad_in[0],
 * 6 ctx (stdout). */
static bool trace_with_null(int which)
{
    ag_tensor *in[2] = {which == 3 ? NULL : F.x, F.x};
    ag_tensor *gin[2] = {which == 5 ? NULL : F.ones, F.ones};
    ag_trace_hook(which == 6 ? NULL : F.out, which == 0 ? NULL : F.sq,
                  which == 1 ? NULL : F.ones, 2, which == 2 ? NULL : in,
                  which == 4 ? NULL : gin);
    return true;
}

static bool hook_ctx_null(void)
{
    ag_set_backward_hook(ag_trace_hook, NULL);
    ag_set_backward_hook(NULL, NULL);
    return ag_backward(F.loss);
}

/* A NULL hook removes the one installed: a sweep then calls nothing. */
static int ready_calls;
static void count_ready(void *ctx, ag_tensor *leaf)
{
    (void)leaf;
    ready_calls += ctx == NULL;
}

static bool ready_hook_null(void)
{
    ready_calls = 0;
    ag_set_grad_ready_hook(count_ready, NULL);
    ag_set_grad_ready_hook(NULL, F.out);
    return ag_backward(F.loss) && ready_calls == 0;
}

/* A NULL ctx is passed back as it is. */
static bool ready_hook_ctx_null(void)
{
    ready_calls = 0;
    ag_set_grad_ready_hook(count_ready, NULL);
    bool ok = ag_backward(F.loss);
    ag_set_grad_ready_hook(NULL, NULL);
    return ok && ready_calls == 1;
}

/* which: 0 op, 1 shape, 2 inputs, 3 inputs[0], 4 params (n_params 8),
 * 5 params with n_params 0 (allowed). */
static bool op_result_with_null(int which)
{
    double params = 1;
    ag_tensor *in[2] = {which == 3 ? NULL : F.x, F.y};
    ag_tensor *t = ag_op_result(which == 0 ? NULL : F.op, AG_F64, 2,
                                which == 1 ? NULL : H_SHAPE(2, 3), 2, which == 2 ? NULL : in,
                                which >= 4 ? NULL : &params, which == 5 ? 0 : sizeof params);
    return which == 5 ? t != NULL : t == NULL;
}

/* ag_parallel_for passes ctx through untouched: NULL is the caller's. */
static void count_indices(size_t lo, size_t hi, void *ctx)
{
    (void)ctx;
    (void)lo, (void)hi;
}
static bool parallel_ctx_null(void)
{
    ag_parallel_for(4, 1, count_indices, NULL);
    return true;
}

static bool op_foreach_ctx_null(void)
{
    n_seen = 0;
    ag_op_foreach(count_op, NULL);
    return n_seen == ag_op_count();
}

static bool params_at_no_name(void)
{
    return ag_params_at(F.p, 0, NULL) == ag_params_get(F.p, "fc1.weight");
}

static bool csv_default_opts(void)
{
    ag_dataset *d = ag_csv_load(F.csv, NULL);
    bool ok = d != NULL;
    ag_dataset_free(d);
    return ok;
}

static bool split_with_null(int which)
{
    ag_dataset *tr = NULL, *te = NULL;
    bool ok = ag_dataset_split(which == 0 ? NULL : &F.ds, 0.5, 1, which == 1 ? NULL : &tr,
                               which == 2 ? NULL : &te);
    ag_dataset_free(tr);
    ag_dataset_free(te);
    return !ok;
}

static bool standardizer_fit_null(void)
{
    ag_standardizer s;
    return !ag_standardizer_fit(&s, NULL);
}

/* which: 0 X, 1 y, 2 targets; the others are returned. */
static bool batches_next_part(int which)
{
    ag_tensor *X, *y, *t;
    bool ok = ag_batches_next(F.batches, which == 0 ? NULL : &X, which == 1 ? NULL : &y,
                              which == 2 ? NULL : &t);
    return ok && (which == 0 || ag_dim(X, 0) == 2) && (which == 1 || ag_dim(y, 0) == 2) &&
           (which == 2 || ag_dim(t, 0) == 2);
}

/* A NULL vocabulary: one is built. */
static bool text_own_vocab(void)
{
    ag_text *t = ag_text_from_string("ba", 2, AG_TEXT_CHARS, NULL);
    bool ok = t && ag_vocab_size(ag_text_vocab(t)) == 2;
    ag_text_free(t);
    return ok;
}

/* which: 0 t, 1 train, 2 test. */
static bool text_split_with_null(int which)
{
    ag_text *tr = NULL, *te = NULL;
    bool ok = ag_text_split(which == 0 ? NULL : F.text, 0.5, 1, which == 1 ? NULL : &tr,
                            which == 2 ? NULL : &te);
    ag_text_free(tr);
    ag_text_free(te);
    return !ok;
}

/* which: 0 x, 1 y; the other is returned, (2, 1). */
static bool text_batches_next_part(int which)
{
    ag_tensor *x, *y;
    bool ok = ag_text_batches_next(F.tbatches, which == 0 ? NULL : &x, which == 1 ? NULL : &y);
    return ok && (which == 0 || ag_dim(x, 0) == 2) && (which == 1 || ag_dim(y, 0) == 2);
}

/* A language model of F.text's three tokens: zero logits from F.bigram. */
static ag_tensor *bigram_lm(void *model, ag_tensor *ids)
{
    (void)model;
    return ag_embedding(ids, F.bigram);
}

static const int64_t text_ids[] = {1, 2};

/* which: 0 model, 1 loss, 2 logits, 3 opt, 4 train, 5 test, 6 cfg, 7 stats.
 * A NULL model is handed on to the functions, which ignore it then. */
static bool train_with_null(int which)
{
    ag_epoch_stats st;
    bool ok = ag_train(which == 0 ? NULL : F.mlp, which == 1 ? NULL : which == 0 ? loss_fixed : loss_of,
                       which == 2 ? NULL : which == 0 ? logits_fixed : logits_of,
                       which == 3 ? NULL : F.opt, which == 4 ? NULL : &F.ds,
                       which == 5 ? NULL : &F.ds, which == 6 ? NULL : &F.train,
                       which == 7 ? NULL : &st);
    if (which == 0 || which == 2 || which == 5 || which == 7)
        return ok && ag_tape_size(NULL) == 0;
    return !ok;
}

/* which: 0 model, 1 loss, 2 logits, 3 d, 4 accuracy, 5 mean_loss. */
static bool evaluate_with_null(int which)
{
    double acc = -1, ml = -1;
    bool ok = ag_evaluate(which == 0 ? NULL : F.mlp, which == 1 ? NULL : which == 0 ? loss_fixed : loss_of,
                          which == 2 ? NULL : which == 0 ? logits_fixed : logits_of,
                          which == 3 ? NULL : &F.ds, 2, which == 4 ? NULL : &acc,
                          which == 5 ? NULL : &ml);
    switch (which) {
    case 0: return ok && acc >= 0 && acc <= 1 && ml > 0;
    case 1: return ok && acc >= 0 && acc <= 1 && isnan(ml);
    case 2: return ok && isnan(acc) && ml > 0;
    case 4: return ok && ml > 0;
    case 5: return ok && acc >= 0 && acc <= 1;
    default: return !ok;
    }
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

enum kind {
    ERR,  /* NULL is forbidden: the expression checks the documented error value */
    OK,   /* NULL has a documented meaning, which the expression checks */
    NOPTR /* no pointer argument; listed so that the table is complete */
};

/* ROW(function, the argument given NULL ("name[i]" for an entry of an
 * array argument; "-" for NOPTR), kind, an expression that is true when the
 * call returned its documented value). */
#define NULL_CASES(ROW)                                                                          \
    /* status codes and types */                                                                 \
    ROW(ag_status_str, "-", NOPTR, true)                                                         \
    ROW(ag_last_status, "-", NOPTR, true)                                                        \
    ROW(ag_last_error, "-", NOPTR, true)                                                         \
    ROW(ag_error_clear, "-", NOPTR, true)                                                        \
    ROW(ag_dtype_str, "-", NOPTR, true)                                                          \
    ROW(ag_dtype_size, "-", NOPTR, true)                                                         \
    /* tensors: lifecycle */                                                                     \
    ROW(ag_zeros, "shape", ERR, IS_NULL(ag_zeros(AG_F64, 2, NULL)))                              \
    ROW(ag_zeros, "shape", OK, zeros_0d())                                                       \
    ROW(ag_ones, "shape", ERR, IS_NULL(ag_ones(AG_F64, 2, NULL)))                                \
    ROW(ag_full, "shape", ERR, IS_NULL(ag_full(AG_F64, 2, NULL, 1.0)))                           \
    ROW(ag_from_array, "shape", ERR, IS_NULL(ag_from_array(AG_F64, 1, NULL, H_VALS(1, 2))))      \
    ROW(ag_from_array, "data", ERR, IS_NULL(ag_from_array(AG_F64, 1, H_SHAPE(2), NULL)))         \
    ROW(ag_scalar, "-", NOPTR, true)                                                             \
    ROW(ag_clone, "t", ERR, IS_NULL(ag_clone(NULL)))                                             \
    ROW(ag_tensor_free, "t", OK, VOID_CALL(ag_tensor_free(NULL)))                                \
    ROW(ag_set_requires_grad, "t", ERR, !ag_set_requires_grad(NULL, true))                       \
    ROW(ag_requires_grad, "t", ERR, !ag_requires_grad(NULL))                                     \
    ROW(ag_is_leaf, "t", ERR, !ag_is_leaf(NULL))                                                 \
    ROW(ag_set_label, "t", ERR, VOID_CALL(ag_set_label(NULL, "x")))                              \
    ROW(ag_set_label, "label", OK, label_cleared())                                              \
    ROW(ag_label, "t", OK, strcmp(ag_label(NULL), "") == 0)                                      \
    /* tensors: access */                                                                        \
    ROW(ag_tensor_dtype, "t", ERR, ag_tensor_dtype(NULL) == AG_F32)                              \
    ROW(ag_ndim, "t", ERR, ag_ndim(NULL) == 0)                                                   \
    ROW(ag_dim, "t", ERR, ag_dim(NULL, 0) == 0)                                                  \
    ROW(ag_shape, "t", ERR, IS_NULL(ag_shape(NULL)))                                             \
    ROW(ag_numel, "t", ERR, ag_numel(NULL) == 0)                                                 \
    ROW(ag_data, "t", ERR, IS_NULL(ag_data(NULL)))                                               \
    ROW(ag_data_const, "t", ERR, IS_NULL(ag_data_const(NULL)))                                   \
    ROW(ag_item, "t", ERR, isnan(ag_item(NULL)))                                                 \
    ROW(ag_get_flat, "t", ERR, isnan(ag_get_flat(NULL, 0)))                                      \
    ROW(ag_get, "t", ERR, isnan(ag_get(NULL, H_SHAPE(0, 0))))                                    \
    ROW(ag_get, "index", ERR, isnan(ag_get(F.x, NULL)))                                          \
    ROW(ag_get, "index", OK, get_0d())                                                           \
    ROW(ag_set_flat, "t", ERR, !ag_set_flat(NULL, 0, 1.0))                                       \
    ROW(ag_grad_of, "t", ERR, IS_NULL(ag_grad_of(NULL)))                                         \
    ROW(ag_zero_grad, "t", ERR, VOID_CALL(ag_zero_grad(NULL)))                                   \
    /* the tape and grad mode */                                                                 \
    ROW(ag_tape_new, "-", NOPTR, true)                                                           \
    ROW(ag_tape_free, "tape", OK, tape_free_default())                                           \
    ROW(ag_tape_current, "-", NOPTR, true)                                                       \
    ROW(ag_tape_use, "tape", OK, tape_use_default())                                             \
    ROW(ag_tape_reset, "tape", OK, tape_reset_current())                                         \
    ROW(ag_debug_lifetimes, "-", NOPTR, true)                                                    \
    ROW(ag_tape_set_max_nodes, "tape", OK, ag_tape_set_max_nodes(NULL, 0))                       \
    ROW(ag_tape_size, "tape", OK, ag_tape_size(NULL) == ag_tape_size(ag_tape_current()))         \
    ROW(ag_tape_capacity, "tape", OK,                                                            \
        ag_tape_capacity(NULL) == ag_tape_capacity(ag_tape_current()))                           \
    ROW(ag_tape_generation, "tape", OK,                                                          \
        ag_tape_generation(NULL) == ag_tape_generation(ag_tape_current()))                       \
    ROW(ag_grad_mode, "-", NOPTR, true)                                                          \
    ROW(ag_grad_mode_set, "-", NOPTR, true)                                                      \
    ROW(ag_no_grad_begin, "-", NOPTR, true)                                                      \
    /* ops */                                                                                    \
    ROW(ag_add, "a", ERR, IS_NULL(ag_add(NULL, F.y)))                                            \
    ROW(ag_add, "b", ERR, IS_NULL(ag_add(F.x, NULL)))                                            \
    ROW(ag_sub, "a", ERR, IS_NULL(ag_sub(NULL, F.y)))                                            \
    ROW(ag_sub, "b", ERR, IS_NULL(ag_sub(F.x, NULL)))                                            \
    ROW(ag_mul, "a", ERR, IS_NULL(ag_mul(NULL, F.y)))                                            \
    ROW(ag_mul, "b", ERR, IS_NULL(ag_mul(F.x, NULL)))                                            \
    ROW(ag_div, "a", ERR, IS_NULL(ag_div(NULL, F.y)))                                            \
    ROW(ag_div, "b", ERR, IS_NULL(ag_div(F.x, NULL)))                                            \
    ROW(ag_add_scalar, "x", ERR, IS_NULL(ag_add_scalar(NULL, 1.0)))                              \
    ROW(ag_mul_scalar, "x", ERR, IS_NULL(ag_mul_scalar(NULL, 2.0)))                              \
    ROW(ag_neg, "x", ERR, IS_NULL(ag_neg(NULL)))                                                 \
    ROW(ag_exp, "x", ERR, IS_NULL(ag_exp(NULL)))                                                 \
    ROW(ag_log, "x", ERR, IS_NULL(ag_log(NULL)))                                                 \
    ROW(ag_sigmoid, "x", ERR, IS_NULL(ag_sigmoid(NULL)))                                         \
    ROW(ag_tanh, "x", ERR, IS_NULL(ag_tanh(NULL)))                                               \
    ROW(ag_relu, "x", ERR, IS_NULL(ag_relu(NULL)))                                               \
    ROW(ag_step, "x", ERR, IS_NULL(ag_step(NULL)))                                               \
    ROW(ag_pow, "a", ERR, IS_NULL(ag_pow(NULL, F.y)))                                            \
    ROW(ag_pow, "b", ERR, IS_NULL(ag_pow(F.x, NULL)))                                            \
    ROW(ag_pow_scalar, "x", ERR, IS_NULL(ag_pow_scalar(NULL, 2.0)))                              \
    ROW(ag_sqrt, "x", ERR, IS_NULL(ag_sqrt(NULL)))                                               \
    ROW(ag_abs, "x", ERR, IS_NULL(ag_abs(NULL)))                                                 \
    ROW(ag_sign, "x", ERR, IS_NULL(ag_sign(NULL)))                                               \
    ROW(ag_square, "x", ERR, IS_NULL(ag_square(NULL)))                                           \
    ROW(ag_reciprocal, "x", ERR, IS_NULL(ag_reciprocal(NULL)))                                   \
    ROW(ag_softplus, "x", ERR, IS_NULL(ag_softplus(NULL)))                                       \
    ROW(ag_log_sigmoid, "x", ERR, IS_NULL(ag_log_sigmoid(NULL)))                                 \
    ROW(ag_clamp, "x", ERR, IS_NULL(ag_clamp(NULL, 0.0, 1.0)))                                   \
    ROW(ag_maximum, "a", ERR, IS_NULL(ag_maximum(NULL, F.y)))                                    \
    ROW(ag_maximum, "b", ERR, IS_NULL(ag_maximum(F.x, NULL)))                                    \
    ROW(ag_minimum, "a", ERR, IS_NULL(ag_minimum(NULL, F.y)))                                    \
    ROW(ag_minimum, "b", ERR, IS_NULL(ag_minimum(F.x, NULL)))                                    \
    ROW(ag_where, "cond", ERR, IS_NULL(ag_where(NULL, F.x, F.y)))                                \
    ROW(ag_where, "a", ERR, IS_NULL(ag_where(F.ones, NULL, F.y)))                                \
    ROW(ag_where, "b", ERR, IS_NULL(ag_where(F.ones, F.x, NULL)))                                \
    ROW(ag_gt, "a", ERR, IS_NULL(ag_gt(NULL, F.y)))                                              \
    ROW(ag_gt, "b", ERR, IS_NULL(ag_gt(F.x, NULL)))                                              \
    ROW(ag_ge, "a", ERR, IS_NULL(ag_ge(NULL, F.y)))                                              \
    ROW(ag_ge, "b", ERR, IS_NULL(ag_ge(F.x, NULL)))                                              \
    ROW(ag_lt, "a", ERR, IS_NULL(ag_lt(NULL, F.y)))                                              \
    ROW(ag_lt, "b", ERR, IS_NULL(ag_lt(F.x, NULL)))                                              \
    ROW(ag_le, "a", ERR, IS_NULL(ag_le(NULL, F.y)))                                              \
    ROW(ag_le, "b", ERR, IS_NULL(ag_le(F.x, NULL)))                                              \
    ROW(ag_eq, "a", ERR, IS_NULL(ag_eq(NULL, F.y)))                                              \
    ROW(ag_eq, "b", ERR, IS_NULL(ag_eq(F.x, NULL)))                                              \
    ROW(ag_ne, "a", ERR, IS_NULL(ag_ne(NULL, F.y)))                                              \
    ROW(ag_ne, "b", ERR, IS_NULL(ag_ne(F.x, NULL)))                                              \
    ROW(ag_gelu, "x", ERR, IS_NULL(ag_gelu(NULL)))                                               \
    ROW(ag_gelu_tanh, "x", ERR, IS_NULL(ag_gelu_tanh(NULL)))                                     \
    ROW(ag_silu, "x", ERR, IS_NULL(ag_silu(NULL)))                                               \
    ROW(ag_leaky_relu, "x", ERR, IS_NULL(ag_leaky_relu(NULL, 0.01)))                             \
    ROW(ag_elu, "x", ERR, IS_NULL(ag_elu(NULL, 1.0)))                                            \
    ROW(ag_hardtanh, "x", ERR, IS_NULL(ag_hardtanh(NULL, -1.0, 1.0)))                            \
    ROW(ag_sin, "x", ERR, IS_NULL(ag_sin(NULL)))                                                 \
    ROW(ag_cos, "x", ERR, IS_NULL(ag_cos(NULL)))                                                 \
    ROW(ag_erf, "x", ERR, IS_NULL(ag_erf(NULL)))                                                 \
    ROW(ag_log1p, "x", ERR, IS_NULL(ag_log1p(NULL)))                                             \
    ROW(ag_expm1, "x", ERR, IS_NULL(ag_expm1(NULL)))                                             \
    ROW(ag_rsub, "x", ERR, IS_NULL(ag_rsub(NULL, 1.0)))                                          \
    ROW(ag_rdiv, "x", ERR, IS_NULL(ag_rdiv(NULL, 1.0)))                                          \
    ROW(ag_var, "x", ERR, IS_NULL(ag_var(NULL, 1)))                                              \
    ROW(ag_var_axis, "x", ERR, IS_NULL(ag_var_axis(NULL, 0, 1, false)))                          \
    ROW(ag_std, "x", ERR, IS_NULL(ag_std(NULL, 1)))                                              \
    ROW(ag_std_axis, "x", ERR, IS_NULL(ag_std_axis(NULL, 0, 1, false)))                          \
    ROW(ag_matmul, "a", ERR, IS_NULL(ag_matmul(NULL, F.w)))                                      \
    ROW(ag_matmul, "b", ERR, IS_NULL(ag_matmul(F.x, NULL)))                                      \
    ROW(ag_matmul_t, "a", ERR, IS_NULL(ag_matmul_t(NULL, false, F.w, false)))                    \
    ROW(ag_matmul_t, "b", ERR, IS_NULL(ag_matmul_t(F.x, false, NULL, false)))                    \
    ROW(ag_affine, "x", ERR, IS_NULL(ag_affine(NULL, F.w, F.b)))                                 \
    ROW(ag_affine, "W", ERR, IS_NULL(ag_affine(F.x, NULL, F.b)))                                 \
    ROW(ag_affine, "b", ERR, IS_NULL(ag_affine(F.x, F.w, NULL)))                                 \
    ROW(ag_affine_t, "x", ERR, IS_NULL(ag_affine_t(NULL, F.w, F.b)))                             \
    ROW(ag_affine_t, "W", ERR, IS_NULL(ag_affine_t(F.x, NULL, F.b)))                             \
    ROW(ag_affine_t, "b", ERR, IS_NULL(ag_affine_t(F.x, F.w, NULL)))                             \
    ROW(ag_affine_t_relu, "x", ERR, IS_NULL(ag_affine_t_relu(NULL, F.w, F.b)))                   \
    ROW(ag_affine_t_relu, "W", ERR, IS_NULL(ag_affine_t_relu(F.x, NULL, F.b)))                   \
    ROW(ag_affine_t_relu, "b", ERR, IS_NULL(ag_affine_t_relu(F.x, F.w, NULL)))                   \
    ROW(ag_dot, "a", ERR, IS_NULL(ag_dot(NULL, F.v)))                                            \
    ROW(ag_dot, "b", ERR, IS_NULL(ag_dot(F.v, NULL)))                                            \
    ROW(ag_outer, "a", ERR, IS_NULL(ag_outer(NULL, F.v)))                                        \
    ROW(ag_outer, "b", ERR, IS_NULL(ag_outer(F.v, NULL)))                                        \
    ROW(ag_transpose2d, "x", ERR, IS_NULL(ag_transpose2d(NULL)))                                 \
    ROW(ag_sum, "x", ERR, IS_NULL(ag_sum(NULL)))                                                 \
    ROW(ag_mean, "x", ERR, IS_NULL(ag_mean(NULL)))                                               \
    ROW(ag_sum_axis, "x", ERR, IS_NULL(ag_sum_axis(NULL, 0, false)))                             \
    ROW(ag_mean_axis, "x", ERR, IS_NULL(ag_mean_axis(NULL, 0, false)))                           \
    ROW(ag_reshape, "x", ERR, IS_NULL(ag_reshape(NULL, 1, H_SHAPE(6))))                          \
    ROW(ag_reshape, "shape", ERR, IS_NULL(ag_reshape(F.x, 1, NULL)))                             \
    ROW(ag_broadcast_to, "x", ERR, IS_NULL(ag_broadcast_to(NULL, 2, H_SHAPE(2, 3))))             \
    ROW(ag_broadcast_to, "shape", ERR, IS_NULL(ag_broadcast_to(F.b, 2, NULL)))                   \
    ROW(ag_sum_to, "x", ERR, IS_NULL(ag_sum_to(NULL, 1, H_SHAPE(3))))                            \
    ROW(ag_sum_to, "shape", ERR, IS_NULL(ag_sum_to(F.x, 1, NULL)))                               \
    ROW(ag_gather, "x", ERR, IS_NULL(ag_gather(NULL, 1, F.idx)))                                 \
    ROW(ag_gather, "index", ERR, IS_NULL(ag_gather(F.x, 1, NULL)))                               \
    ROW(ag_scatter_add, "src", ERR, IS_NULL(ag_scatter_add(NULL, 1, F.idx, 2, H_SHAPE(2, 3))))   \
    ROW(ag_scatter_add, "index", ERR, IS_NULL(ag_scatter_add(F.x, 1, NULL, 2, H_SHAPE(2, 3))))   \
    ROW(ag_scatter_add, "shape", ERR, IS_NULL(ag_scatter_add(F.x, 1, F.idx, 2, NULL)))           \
    ROW(ag_index_select, "x", ERR, IS_NULL(ag_index_select(NULL, 0, F.pos)))                     \
    ROW(ag_index_select, "index", ERR, IS_NULL(ag_index_select(F.x, 0, NULL)))                   \
    ROW(ag_argmax, "x", ERR, IS_NULL(ag_argmax(NULL, 0, false)))                                 \
    ROW(ag_argmin, "x", ERR, IS_NULL(ag_argmin(NULL, 0, false)))                                 \
    ROW(ag_one_hot, "labels", ERR, IS_NULL(ag_one_hot(NULL, 3, AG_F64)))                         \
    ROW(ag_detach, "x", ERR, IS_NULL(ag_detach(NULL)))                                           \
    ROW(ag_embedding, "ids", ERR, IS_NULL(ag_embedding(NULL, F.w)))                              \
    ROW(ag_embedding, "weight", ERR, IS_NULL(ag_embedding(F.idx, NULL)))                         \
    ROW(ag_masked_fill, "x", ERR, IS_NULL(ag_masked_fill(NULL, F.ones, 0.0)))                    \
    ROW(ag_masked_fill, "mask", ERR, IS_NULL(ag_masked_fill(F.x, NULL, 0.0)))                    \
    ROW(ag_tril, "x", ERR, IS_NULL(ag_tril(NULL, 0)))                                            \
    ROW(ag_triu, "x", ERR, IS_NULL(ag_triu(NULL, 0)))                                            \
    ROW(ag_max, "x", ERR, IS_NULL(ag_max(NULL)))                                                 \
    ROW(ag_min, "x", ERR, IS_NULL(ag_min(NULL)))                                                 \
    ROW(ag_max_axis, "x", ERR, IS_NULL(ag_max_axis(NULL, 0, false)))                             \
    ROW(ag_min_axis, "x", ERR, IS_NULL(ag_min_axis(NULL, 0, false)))                             \
    ROW(ag_logsumexp, "x", ERR, IS_NULL(ag_logsumexp(NULL)))                                     \
    ROW(ag_logsumexp_axis, "x", ERR, IS_NULL(ag_logsumexp_axis(NULL, 0, false)))                 \
    ROW(ag_softmax, "x", ERR, IS_NULL(ag_softmax(NULL, 1)))                                      \
    ROW(ag_log_softmax, "x", ERR, IS_NULL(ag_log_softmax(NULL, 1)))                              \
    ROW(ag_scaled_dot_product_attention, "q", ERR,                                               \
        IS_NULL(ag_scaled_dot_product_attention(NULL, F.x, F.x, NULL, false)))                   \
    ROW(ag_scaled_dot_product_attention, "k", ERR,                                               \
        IS_NULL(ag_scaled_dot_product_attention(F.x, NULL, F.x, NULL, false)))                   \
    ROW(ag_scaled_dot_product_attention, "v", ERR,                                               \
        IS_NULL(ag_scaled_dot_product_attention(F.x, F.x, NULL, NULL, false)))                   \
    ROW(ag_scaled_dot_product_attention, "mask", OK,                                             \
        ag_scaled_dot_product_attention(F.x, F.x, F.x, NULL, true) != NULL)                      \
    ROW(ag_bce_with_logits, "logits", ERR, IS_NULL(ag_bce_with_logits(NULL, F.y, AG_REDUCE_MEAN))) \
    ROW(ag_bce_with_logits, "targets", ERR, IS_NULL(ag_bce_with_logits(F.x, NULL, AG_REDUCE_MEAN))) \
    ROW(ag_cross_entropy, "logits", ERR, IS_NULL(ag_cross_entropy(NULL, F.pos, AG_REDUCE_MEAN))) \
    ROW(ag_cross_entropy, "labels", ERR, IS_NULL(ag_cross_entropy(F.x, NULL, AG_REDUCE_MEAN)))   \
    ROW(ag_nll, "logp", ERR, IS_NULL(ag_nll(NULL, F.pos, AG_REDUCE_MEAN)))                       \
    ROW(ag_nll, "labels", ERR, IS_NULL(ag_nll(F.x, NULL, AG_REDUCE_MEAN)))                       \
    ROW(ag_mse, "pred", ERR, IS_NULL(ag_mse(NULL, F.y, AG_REDUCE_MEAN)))                         \
    ROW(ag_mse, "target", ERR, IS_NULL(ag_mse(F.x, NULL, AG_REDUCE_MEAN)))                       \
    ROW(ag_max_pool2d, "x", ERR, IS_NULL(ag_max_pool2d(NULL, H_SHAPE(1, 1), NULL, NULL)))        \
    ROW(ag_max_pool2d, "kernel", ERR, IS_NULL(ag_max_pool2d(F.x, NULL, NULL, NULL)))          \
    ROW(ag_max_pool2d, "stride", OK, stride_is_kernel(false))                                    \
    ROW(ag_max_pool2d, "padding", OK, pool_unpadded(false))                                      \
    ROW(ag_avg_pool2d, "x", ERR, IS_NULL(ag_avg_pool2d(NULL, H_SHAPE(1, 1), NULL, NULL, true)))  \
    ROW(ag_avg_pool2d, "kernel", ERR, IS_NULL(ag_avg_pool2d(F.x, NULL, NULL, NULL, true)))    \
    ROW(ag_avg_pool2d, "stride", OK, stride_is_kernel(true))                                     \
    ROW(ag_avg_pool2d, "padding", OK, pool_unpadded(true))                                       \
    ROW(ag_adaptive_avg_pool2d, "x", ERR, IS_NULL(ag_adaptive_avg_pool2d(NULL, 1, 1)))           \
    ROW(ag_batch_norm, "x", ERR, IS_NULL(ag_batch_norm(NULL, NULL, NULL, NULL, NULL, true, .1, 1e-5))) \
    ROW(ag_batch_norm, "running_mean", OK, batch_norm_without(0)) \
    ROW(ag_batch_norm, "running_var", OK, batch_norm_without(1)) \
    ROW(ag_batch_norm, "weight", OK, batch_norm_without(2)) \
    ROW(ag_batch_norm, "bias", OK, batch_norm_without(3)) \
    ROW(ag_layer_norm, "x", ERR, IS_NULL(ag_layer_norm(NULL, 1, NULL, NULL, 1e-5)))              \
    ROW(ag_layer_norm, "weight", OK, ag_layer_norm(F.x, 1, NULL, F.v, 1e-5) != NULL)             \
    ROW(ag_layer_norm, "bias", OK, ag_layer_norm(F.x, 1, F.v, NULL, 1e-5) != NULL)               \
    ROW(ag_group_norm, "x", ERR, IS_NULL(ag_group_norm(NULL, 1, NULL, NULL, 1e-5)))              \
    ROW(ag_group_norm, "weight", OK, ag_group_norm(F.x, 3, NULL, F.v, 1e-5) != NULL)             \
    ROW(ag_group_norm, "bias", OK, ag_group_norm(F.x, 3, F.v, NULL, 1e-5) != NULL)               \
    ROW(ag_conv_defaults, "-", NOPTR, true)                                                      \
    ROW(ag_conv2d, "x", ERR, IS_NULL(ag_conv2d(NULL, F.x, NULL, NULL)))                          \
    ROW(ag_conv2d, "weight", ERR, IS_NULL(ag_conv2d(F.x, NULL, NULL, NULL)))                     \
    ROW(ag_conv2d, "bias", OK, conv_null_ok(0, false))                                           \
    ROW(ag_conv2d, "opts", OK, conv_null_ok(0, true))                                            \
    ROW(ag_conv1d, "x", ERR, IS_NULL(ag_conv1d(NULL, F.x, NULL, NULL)))                          \
    ROW(ag_conv1d, "weight", ERR, IS_NULL(ag_conv1d(F.x, NULL, NULL, NULL)))                     \
    ROW(ag_conv1d, "bias", OK, conv_null_ok(1, false))                                           \
    ROW(ag_conv1d, "opts", OK, conv_null_ok(1, true))                                            \
    ROW(ag_conv_transpose2d, "x", ERR, IS_NULL(ag_conv_transpose2d(NULL, F.x, NULL, NULL)))      \
    ROW(ag_conv_transpose2d, "weight", ERR, IS_NULL(ag_conv_transpose2d(F.x, NULL, NULL, NULL))) \
    ROW(ag_conv_transpose2d, "bias", OK, conv_null_ok(2, false))                                 \
    ROW(ag_conv_transpose2d, "opts", OK, conv_null_ok(2, true))                                  \
    ROW(ag_transpose, "x", ERR, IS_NULL(ag_transpose(NULL, 0, 1)))                               \
    ROW(ag_permute, "x", ERR, IS_NULL(ag_permute(NULL, 2, ((const int[]){1, 0}))))               \
    ROW(ag_permute, "perm", ERR, IS_NULL(ag_permute(F.x, 2, NULL)))                              \
    ROW(ag_slice, "x", ERR, IS_NULL(ag_slice(NULL, 0, 0, 1, 1)))                                 \
    ROW(ag_slice_ranges, "x", ERR, IS_NULL(ag_slice_ranges(NULL, ((const ag_range[]){{0, 1, 1}})))) \
    ROW(ag_slice_ranges, "ranges", ERR, IS_NULL(ag_slice_ranges(F.x, NULL)))                     \
    ROW(ag_concat, "xs", ERR, IS_NULL(ag_concat(2, NULL, 0)))                                    \
    ROW(ag_concat, "xs[0]", ERR, IS_NULL(ag_concat(2, T2(NULL, F.y), 0)))                        \
    ROW(ag_concat, "xs[1]", ERR, IS_NULL(ag_concat(2, T2(F.x, NULL), 0)))                        \
    ROW(ag_stack, "xs", ERR, IS_NULL(ag_stack(2, NULL, 0)))                                      \
    ROW(ag_stack, "xs[0]", ERR, IS_NULL(ag_stack(2, T2(NULL, F.y), 0)))                          \
    ROW(ag_stack, "xs[1]", ERR, IS_NULL(ag_stack(2, T2(F.x, NULL), 0)))                          \
    ROW(ag_expand_dims, "x", ERR, IS_NULL(ag_expand_dims(NULL, 0)))                              \
    ROW(ag_squeeze, "x", ERR, IS_NULL(ag_squeeze(NULL, 0)))                                      \
    /* casts, splitting, random tensors, dropout */                                             \
    ROW(ag_cast, "x", ERR, IS_NULL(ag_cast(NULL, AG_F32)))                                       \
    ROW(ag_split, "x", ERR, ag_split(NULL, 1, 0, (ag_tensor *[4]){0}, 4) == -1)                  \
    ROW(ag_split, "out", ERR, ag_split(F.x, 1, 0, NULL, 4) == -1)                                \
    ROW(ag_chunk, "x", ERR, ag_chunk(NULL, 2, 0, (ag_tensor *[4]){0}, 4) == -1)                  \
    ROW(ag_chunk, "out", ERR, ag_chunk(F.x, 2, 0, NULL, 4) == -1)                                \
    ROW(ag_randn, "shape", ERR, IS_NULL(ag_randn(AG_F64, 1, NULL, &F.rng)))                      \
    ROW(ag_randn, "rng", ERR, IS_NULL(ag_randn(AG_F64, 1, H_SHAPE(2), NULL)))                    \
    ROW(ag_rand, "shape", ERR, IS_NULL(ag_rand(AG_F64, 1, NULL, &F.rng)))                        \
    ROW(ag_rand, "rng", ERR, IS_NULL(ag_rand(AG_F64, 1, H_SHAPE(2), NULL)))                      \
    ROW(ag_bernoulli, "p", ERR, IS_NULL(ag_bernoulli(NULL, &F.rng)))                             \
    ROW(ag_bernoulli, "rng", ERR, IS_NULL(ag_bernoulli(F.y, NULL)))                              \
    ROW(ag_dropout, "x", ERR, IS_NULL(ag_dropout(NULL, 0.5, true, &F.rng)))                      \
    ROW(ag_dropout, "rng", ERR, IS_NULL(ag_dropout(F.x, 0.5, true, NULL)))                       \
    /* backward */                                                                               \
    ROW(ag_backward, "loss", ERR, !ag_backward(NULL))                                            \
    ROW(ag_backward_seed, "output", ERR, !ag_backward_seed(NULL, F.ones))                        \
    ROW(ag_backward_seed, "seed", ERR, !ag_backward_seed(F.sq, NULL))                            \
    ROW(ag_backward_ex, "output", ERR, !ag_backward_ex(NULL, F.ones, false))                     \
    ROW(ag_backward_ex, "seed", OK, ag_backward_ex(F.loss, NULL, false))                         \
    ROW(ag_grad, "outputs", ERR, grad_with_null(0))                                              \
    ROW(ag_grad, "outputs[0]", ERR, grad_with_null(1))                                           \
    ROW(ag_grad, "seeds", OK, grad_with_null(2))                                                 \
    ROW(ag_grad, "seeds[0]", OK, grad_with_null(3))                                              \
    ROW(ag_grad, "inputs", ERR, grad_with_null(4))                                               \
    ROW(ag_grad, "inputs[0]", ERR, grad_with_null(5))                                            \
    ROW(ag_grad, "grads", ERR, grad_with_null(6))                                                \
    ROW(ag_hvp, "loss", ERR, IS_NULL(ag_hvp(NULL, F.x, F.ones)))                                 \
    ROW(ag_hvp, "x", ERR, IS_NULL(ag_hvp(F.loss, NULL, F.ones)))                                 \
    ROW(ag_hvp, "v", ERR, IS_NULL(ag_hvp(F.loss, F.x, NULL)))                                    \
    ROW(ag_hessian, "loss", ERR, IS_NULL(ag_hessian(NULL, F.x)))                                 \
    ROW(ag_hessian, "x", ERR, IS_NULL(ag_hessian(F.loss, NULL)))                                 \
    ROW(ag_jacobian, "y", ERR, IS_NULL(ag_jacobian(NULL, F.x)))                                  \
    ROW(ag_jacobian, "x", ERR, IS_NULL(ag_jacobian(F.sq, NULL)))                                 \
    ROW(ag_jvp, "y", ERR, IS_NULL(ag_jvp(NULL, F.x, F.ones)))                                    \
    ROW(ag_jvp, "x", ERR, IS_NULL(ag_jvp(F.sq, NULL, F.ones)))                                   \
    ROW(ag_jvp, "v", ERR, IS_NULL(ag_jvp(F.sq, F.x, NULL)))                                      \
    ROW(ag_set_backward_hook, "hook", OK, VOID_CALL(ag_set_backward_hook(NULL, F.out)))          \
    ROW(ag_set_backward_hook, "ctx", OK, hook_ctx_null())                                        \
    ROW(ag_set_grad_ready_hook, "hook", OK, ready_hook_null())                                   \
    ROW(ag_set_grad_ready_hook, "ctx", OK, ready_hook_ctx_null())                                \
    ROW(ag_set_grad_kernels, "-", NOPTR, true)                                                   \
    ROW(ag_trace_hook, "node", ERR, trace_with_null(0))                                          \
    ROW(ag_trace_hook, "grad_out", ERR, trace_with_null(1))                                      \
    ROW(ag_trace_hook, "inputs", ERR, trace_with_null(2))                                        \
    ROW(ag_trace_hook, "inputs[0]", ERR, trace_with_null(3))                                     \
    ROW(ag_trace_hook, "grad_in", ERR, trace_with_null(4))                                       \
    ROW(ag_trace_hook, "grad_in[0]", OK, trace_with_null(5))                                     \
    ROW(ag_trace_hook, "ctx", OK, trace_with_null(6))                                            \
    /* explaining, drawing */                                                                    \
    ROW(ag_explain, "f", OK, ag_explain(NULL, F.loss, F.x, 0, 4, &F.expl) && F.expl.total == 0.2) \
    ROW(ag_explain, "loss", ERR, !ag_explain(F.out, NULL, F.x, 0, 4, &F.expl))                   \
    ROW(ag_explain, "x", ERR, !ag_explain(F.out, F.loss, NULL, 0, 4, &F.expl))                   \
    ROW(ag_explain, "out", OK, ag_explain(F.out, F.loss, F.x, 0, 4, NULL))                       \
    ROW(ag_graph_dot, "f", ERR, !ag_graph_dot(NULL, 1, &F.loss))                                 \
    ROW(ag_graph_dot, "outputs", ERR, !ag_graph_dot(F.out, 1, NULL))                             \
    ROW(ag_graph_dot, "outputs[0]", ERR, !ag_graph_dot(F.out, 2, T2(F.loss, NULL)))              \
    /* the op registry */                                                                        \
    ROW(ag_op_register, "def", ERR, IS_NULL(ag_op_register(NULL)))                               \
    ROW(ag_op_find, "name", ERR, IS_NULL(ag_op_find(NULL)))                                      \
    ROW(ag_op_info, "op", ERR, IS_NULL(ag_op_info(NULL)))                                        \
    ROW(ag_op_apply, "op", ERR, IS_NULL(ag_op_apply(NULL, (ag_tensor *[]){F.x, F.x}, NULL)))      \
    ROW(ag_op_apply, "inputs", ERR, IS_NULL(ag_op_apply(F.op, NULL, NULL)))                      \
    ROW(ag_op_apply, "params", OK, !IS_NULL(ag_op_apply(F.op, (ag_tensor *[]){F.x, F.x}, NULL))) \
    ROW(ag_op_foreach, "f", ERR, VOID_CALL(ag_op_foreach(NULL, NULL)))                           \
    ROW(ag_op_foreach, "ctx", OK, op_foreach_ctx_null())                                         \
    ROW(ag_op_count, "-", NOPTR, true)                                                           \
    ROW(ag_op_result, "op", ERR, op_result_with_null(0))                                         \
    ROW(ag_op_result, "shape", ERR, op_result_with_null(1))                                      \
    ROW(ag_op_result, "inputs", ERR, op_result_with_null(2))                                     \
    ROW(ag_op_result, "inputs[0]", ERR, op_result_with_null(3))                                  \
    ROW(ag_op_result, "params", ERR, op_result_with_null(4))                                     \
    ROW(ag_op_result, "params", OK, op_result_with_null(5))                                      \
    ROW(ag_check_inputs, "op_name", ERR, !ag_check_inputs(NULL, 1, T1(F.x)))                     \
    ROW(ag_check_inputs, "inputs", ERR, !ag_check_inputs("probe", 1, NULL))                      \
    ROW(ag_check_inputs, "inputs[0]", ERR, !ag_check_inputs("probe", 2, T2(F.x, NULL)))          \
    ROW(ag_node_op, "t", ERR, IS_NULL(ag_node_op(NULL)))                                         \
    ROW(ag_node_n_inputs, "t", ERR, ag_node_n_inputs(NULL) == 0)                                 \
    ROW(ag_node_input, "t", ERR, IS_NULL(ag_node_input(NULL, 0)))                                \
    ROW(ag_node_params, "t", ERR, IS_NULL(ag_node_params(NULL)))                                 \
    ROW(ag_grad_dst_data, "d", ERR, IS_NULL(ag_grad_dst_data(NULL)))                             \
    ROW(ag_node_index, "t", ERR, ag_node_index(NULL) == -1)                                      \
    /* tools */                                                                                  \
    ROW(ag_rng_seed, "rng", ERR, VOID_CALL(ag_rng_seed(NULL, 1)))                                \
    ROW(ag_rng_next, "rng", ERR, ag_rng_next(NULL) == 0)                                         \
    ROW(ag_rng_uniform, "rng", ERR, isnan(ag_rng_uniform(NULL)))                                 \
    ROW(ag_rng_normal, "rng", ERR, isnan(ag_rng_normal(NULL)))                                   \
    ROW(ag_rand_uniform, "shape", ERR, IS_NULL(ag_rand_uniform(AG_F64, 1, NULL, 0, 1, &F.rng)))  \
    ROW(ag_rand_uniform, "rng", ERR, IS_NULL(ag_rand_uniform(AG_F64, 1, H_SHAPE(2), 0, 1, NULL))) \
    ROW(ag_rand_normal, "shape", ERR, IS_NULL(ag_rand_normal(AG_F64, 1, NULL, 0, 1, &F.rng)))    \
    ROW(ag_rand_normal, "rng", ERR, IS_NULL(ag_rand_normal(AG_F64, 1, H_SHAPE(2), 0, 1, NULL)))  \
    ROW(ag_fprint, "f", ERR, VOID_CALL(ag_fprint(NULL, F.x)))                                    \
    ROW(ag_fprint, "t", OK, VOID_CALL(ag_fprint(F.out, NULL)))                                   \
    ROW(ag_print, "t", OK, VOID_CALL(ag_print(NULL)))                                            \
    ROW(ag_shape_str, "t", ERR, ag_shape_str(NULL, F.buf, sizeof F.buf) == F.buf)                \
    ROW(ag_shape_str, "buf", ERR, IS_NULL(ag_shape_str(F.x, NULL, 64)))                          \
    ROW(ag_sgd_update, "t", ERR, !ag_sgd_update(NULL, 0.1))                                      \
    ROW(ag_matmul_backend_set, "-", NOPTR, true)                                                 \
    ROW(ag_matmul_backend_get, "-", NOPTR, true)                                                 \
    ROW(ag_have_blas, "-", NOPTR, true)                                                          \
    /* gradient checking */                                                                      \
    ROW(ag_gradcheck_defaults, "-", NOPTR, true)                                                 \
    ROW(ag_gradcheck, "f", ERR, !ag_gradcheck(NULL, NULL, 1, T1(F.x), &F.gc_opts, &F.rep))       \
    ROW(ag_gradcheck, "ctx", OK, ag_gradcheck(sum_sq, NULL, 1, T1(F.x), &F.gc_opts, &F.rep))     \
    ROW(ag_gradcheck, "inputs", ERR, !ag_gradcheck(sum_sq, NULL, 1, NULL, &F.gc_opts, &F.rep))   \
    ROW(ag_gradcheck, "inputs[0]", ERR,                                                          \
        !ag_gradcheck(sum_sq, NULL, 1, T1(NULL), &F.gc_opts, &F.rep))                            \
    ROW(ag_gradcheck, "opts", OK, ag_gradcheck(sum_sq, NULL, 1, T1(F.x), NULL, &F.rep))          \
    ROW(ag_gradcheck, "report", OK, ag_gradcheck(sum_sq, NULL, 1, T1(F.x), &F.gc_opts, NULL))    \
    ROW(ag_gradcheck_op, "op", ERR, !ag_gradcheck_op(NULL, 1, &F.gc_opts, &F.rep))               \
    ROW(ag_gradcheck_op, "opts", OK, ag_gradcheck_op(F.op, 1, NULL, &F.rep))                     \
    ROW(ag_gradcheck_op, "report", OK, ag_gradcheck_op(F.op, 1, &F.gc_opts, NULL))               \
    ROW(ag_gradcheck_fprint, "f", ERR, VOID_CALL(ag_gradcheck_fprint(NULL, &F.rep)))             \
    ROW(ag_gradcheck_fprint, "report", ERR, VOID_CALL(ag_gradcheck_fprint(F.out, NULL)))         \
    ROW(ag_gradgradcheck, "f", ERR, !ag_gradgradcheck(NULL, NULL, 1, T1(F.x), &F.gc_opts, &F.rep)) \
    ROW(ag_gradgradcheck, "ctx", OK, ag_gradgradcheck(sum_sq, NULL, 1, T1(F.x), &F.gc_opts, &F.rep)) \
    ROW(ag_gradgradcheck, "inputs", ERR,                                                         \
        !ag_gradgradcheck(sum_sq, NULL, 1, NULL, &F.gc_opts, &F.rep))                            \
    ROW(ag_gradgradcheck, "inputs[0]", ERR,                                                      \
        !ag_gradgradcheck(sum_sq, NULL, 1, T1(NULL), &F.gc_opts, &F.rep))                        \
    ROW(ag_gradgradcheck, "opts", OK, ag_gradgradcheck(sum_sq, NULL, 1, T1(F.x), NULL, &F.rep))  \
    ROW(ag_gradgradcheck, "report", OK,                                                          \
        ag_gradgradcheck(sum_sq, NULL, 1, T1(F.x), &F.gc_opts, NULL))                            \
    ROW(ag_gradgradcheck_op, "op", ERR, !ag_gradgradcheck_op(NULL, 1, &F.gc_opts, &F.rep))       \
    ROW(ag_gradgradcheck_op, "opts", OK, ag_gradgradcheck_op(F.op, 1, NULL, &F.rep))             \
    ROW(ag_gradgradcheck_op, "report", OK, ag_gradgradcheck_op(F.op, 1, &F.gc_opts, NULL))       \
    ROW(ag_gradcheck_nodes, "f", ERR,                                                            \
        !ag_gradcheck_nodes(NULL, NULL, 1, T1(F.x), &F.gc_opts, &F.nrep))                        \
    ROW(ag_gradcheck_nodes, "ctx", OK,                                                           \
        ag_gradcheck_nodes(sum_sq, NULL, 1, T1(F.x), &F.gc_opts, &F.nrep))                       \
    ROW(ag_gradcheck_nodes, "inputs", ERR,                                                       \
        !ag_gradcheck_nodes(sum_sq, NULL, 1, NULL, &F.gc_opts, &F.nrep))                         \
    ROW(ag_gradcheck_nodes, "inputs[0]", ERR,                                                    \
        !ag_gradcheck_nodes(sum_sq, NULL, 1, T1(NULL), &F.gc_opts, &F.nrep))                     \
    ROW(ag_gradcheck_nodes, "opts", OK, ag_gradcheck_nodes(sum_sq, NULL, 1, T1(F.x), NULL, &F.nrep)) \
    ROW(ag_gradcheck_nodes, "report", OK,                                                        \
        ag_gradcheck_nodes(sum_sq, NULL, 1, T1(F.x), &F.gc_opts, NULL))                          \
    ROW(ag_gradcheck_model, "f", ERR, !ag_gradcheck_model(NULL, NULL, F.p, &F.gc_opts, &F.mrep)) \
    ROW(ag_gradcheck_model, "ctx", OK, ag_gradcheck_model(store_sum_sq, NULL, F.p, &F.gc_opts, &F.mrep)) \
    ROW(ag_gradcheck_model, "p", ERR,                                                            \
        !ag_gradcheck_model(store_sum_sq, NULL, NULL, &F.gc_opts, &F.mrep))                      \
    ROW(ag_gradcheck_model, "opts", OK, ag_gradcheck_model(store_sum_sq, NULL, F.p, NULL, &F.mrep)) \
    ROW(ag_gradcheck_model, "report", OK,                                                        \
        ag_gradcheck_model(store_sum_sq, NULL, F.p, &F.gc_opts, NULL))                           \
    ROW(ag_model_gradcheck_fprint, "f", ERR, VOID_CALL(ag_model_gradcheck_fprint(NULL, &F.mrep))) \
    ROW(ag_model_gradcheck_fprint, "report", ERR,                                                \
        VOID_CALL(ag_model_gradcheck_fprint(F.out, NULL)))                                       \
    ROW(ag_save_png_grid, "path", ERR, !ag_save_png_grid(NULL, F.x, 0, 1, 1, 0, 1))              \
    ROW(ag_save_png_grid, "t", ERR, !ag_save_png_grid(F.model, NULL, 0, 1, 1, 0, 1))             \
    ROW(ag_plot_defaults, "-", NOPTR, true)                                                      \
    ROW(ag_save_png_plot, "path", ERR, !ag_save_png_plot(NULL, 1, &F.series, NULL))              \
    ROW(ag_save_png_plot, "series", ERR, !ag_save_png_plot(F.plot, 1, NULL, NULL))               \
    ROW(ag_save_png_plot, "opts", OK, plot_default_opts())                                         \
    ROW(ag_gradcheck_nodes_fprint, "f", ERR, VOID_CALL(ag_gradcheck_nodes_fprint(NULL, &F.nrep))) \
    ROW(ag_gradcheck_nodes_fprint, "report", ERR,                                                \
        VOID_CALL(ag_gradcheck_nodes_fprint(F.out, NULL)))                                       \
    ROW(ag_alloc_count, "-", NOPTR, true)                                                        \
    ROW(ag_version, "-", NOPTR, true)                                                            \
    ROW(ag_error_set, "fmt", ERR, (ag_error_set(AG_ERR_NULL, NULL), true))                       \
    ROW(ag_malloc, "-", NOPTR, true)                                                             \
    ROW(ag_calloc, "-", NOPTR, true)                                                             \
    ROW(ag_realloc, "p", OK, (ag_free(ag_realloc(NULL, 8)), true))                               \
    ROW(ag_free, "p", OK, (ag_free(NULL), true))                                                 \
    ROW(ag_empty, "shape", ERR, IS_NULL(ag_empty(AG_F64, 1, NULL)))                              \
    ROW(ag_mark_changed, "t", ERR, (ag_mark_changed(NULL), true))                                \
    ROW(ag_tensor_live, "t", OK, !ag_tensor_live(NULL))                                          \
    ROW(ag_format_shape, "shape", OK, strcmp(ag_format_shape(2, NULL, F.buf, 8), "?") == 0)      \
    ROW(ag_format_shape, "buf", ERR, IS_NULL(ag_format_shape(1, (int64_t[]){3}, NULL, 8)))       \
    ROW(ag_optim_defaults, "-", NOPTR, true)                                                     \
    ROW(ag_csv_defaults, "-", NOPTR, true)                                                       \
    ROW(ag_alloc_fail_after, "-", NOPTR, true)                                                   \
    ROW(ag_shutdown, "-", NOPTR, true)                                                           \
    ROW(ag_set_num_threads, "-", NOPTR, true)                                                    \
    ROW(ag_get_num_threads, "-", NOPTR, true)                                                    \
    ROW(ag_thread_create_fail, "-", NOPTR, true)                                                 \
    ROW(ag_parallel_jobs, "-", NOPTR, true)                                                      \
    ROW(ag_parallel_grain, "-", NOPTR, true)                                                     \
    ROW(ag_parallel_grain_set, "-", NOPTR, true)                                                 \
    ROW(ag_parallel_shutdown, "-", NOPTR, true)                                                  \
    ROW(ag_parallel_for, "fn", ERR, VOID_CALL(ag_parallel_for(4, 1, NULL, NULL)))                \
    ROW(ag_parallel_for, "ctx", OK, parallel_ctx_null())                                         \
    /* anomaly mode */                                                                           \
    ROW(ag_anomaly_mode_set, "-", NOPTR, true)                                                   \
    ROW(ag_anomaly_mode, "-", NOPTR, true)                                                       \
    ROW(ag_node_location, "t", ERR, strcmp(ag_node_location(NULL, F.buf, sizeof F.buf), "") == 0) \
    ROW(ag_node_location, "buf", ERR, strcmp(ag_node_location(F.loss, NULL, 64), "") == 0)       \
    ROW(ag_set_location_, "file", OK, VOID_CALL(ag_set_location_(NULL, 1, "f")))                 \
    ROW(ag_set_location_, "func", OK, VOID_CALL(ag_set_location_("f.c", 1, NULL)))               \
    /* parameters */                                                                             \
    ROW(ag_params_new, "-", NOPTR, true)                                                         \
    ROW(ag_params_free, "p", OK, VOID_CALL(ag_params_free(NULL)))                                \
    ROW(ag_params_add, "p", ERR, IS_NULL(ag_params_add(NULL, "z", fresh())))                     \
    ROW(ag_params_add, "name", ERR, IS_NULL(ag_params_add(F.p, NULL, fresh())))                  \
    ROW(ag_params_add, "t", ERR, IS_NULL(ag_params_add(F.p, "z", NULL)))                         \
    ROW(ag_params_get, "p", ERR, IS_NULL(ag_params_get(NULL, "fc1.weight")))                     \
    ROW(ag_params_get, "name", ERR, IS_NULL(ag_params_get(F.p, NULL)))                           \
    ROW(ag_params_count, "p", ERR, ag_params_count(NULL) == 0)                                   \
    ROW(ag_params_at, "p", ERR, IS_NULL(ag_params_at(NULL, 0, NULL)))                            \
    ROW(ag_params_at, "name", OK, params_at_no_name())                                           \
    ROW(ag_params_numel, "p", ERR, ag_params_numel(NULL) == 0)                                   \
    ROW(ag_read_limit_set, "-", NOPTR, true)                                                     \
    ROW(ag_read_limit, "-", NOPTR, true)                                                         \
    ROW(ag_params_zero_grad, "p", ERR, VOID_CALL(ag_params_zero_grad(NULL)))                     \
    ROW(ag_params_clone, "p", ERR, IS_NULL(ag_params_clone(NULL)))                               \
    ROW(ag_init_matrix, "rng", ERR,                                                              \
        IS_NULL(ag_init_matrix(AG_F64, 3, 2, AG_INIT_XAVIER_UNIFORM, NULL)))                     \
    /* layers and models */                                                                      \
    ROW(ag_init_tensor, "shape", ERR,                                                            \
        IS_NULL(ag_init_tensor(AG_F64, 4, NULL, AG_INIT_HE_UNIFORM, &F.rng)))                    \
    ROW(ag_init_tensor, "rng", ERR,                                                              \
        IS_NULL(ag_init_tensor(AG_F64, 2, H_SHAPE(3, 2), AG_INIT_HE_UNIFORM, NULL)))             \
    ROW(ag_params_set_training, "p", ERR, !ag_params_set_training(NULL, true))                   \
    ROW(ag_params_training, "p", ERR, !ag_params_training(NULL))                                 \
    ROW(ag_params_rng, "p", ERR, IS_NULL(ag_params_rng(NULL)))                                   \
    ROW(ag_params_seed, "p", ERR, VOID_CALL(ag_params_seed(NULL, 1)))                            \
    ROW(ag_conv2d_init, "p", ERR,                                                                \
        !ag_conv2d_init(NULL, "c9", 1, 2, 3, 3, 1, true, AG_F64, AG_INIT_HE_UNIFORM, &F.rng))    \
    ROW(ag_conv2d_init, "name", ERR,                                                             \
        !ag_conv2d_init(F.p, NULL, 1, 2, 3, 3, 1, true, AG_F64, AG_INIT_HE_UNIFORM, &F.rng))     \
    ROW(ag_conv2d_init, "rng", ERR,                                                              \
        !ag_conv2d_init(F.p, "c9", 1, 2, 3, 3, 1, true, AG_F64, AG_INIT_HE_UNIFORM, NULL))       \
    ROW(ag_conv2d_layer, "p", ERR, IS_NULL(ag_conv2d_layer(NULL, "0", F.img, NULL)))             \
    ROW(ag_conv2d_layer, "name", ERR,                                                            \
        IS_NULL(ag_conv2d_layer(ag_sequential_params(F.seq), NULL, F.img, NULL)))                \
    ROW(ag_conv2d_layer, "x", ERR,                                                               \
        IS_NULL(ag_conv2d_layer(ag_sequential_params(F.seq), "0", NULL, NULL)))                  \
    ROW(ag_conv2d_layer, "opts", OK,                                                             \
        ag_ndim(ag_conv2d_layer(ag_sequential_params(F.seq), "0", F.img, NULL)) == 4)            \
    ROW(ag_conv_transpose2d_init, "p", ERR,                                                      \
        !ag_conv_transpose2d_init(NULL, "t9", 2, 1, 3, 3, 1, true, AG_F64, AG_INIT_HE_UNIFORM,   \
                                  &F.rng))                                                       \
    ROW(ag_conv_transpose2d_init, "name", ERR,                                                   \
        !ag_conv_transpose2d_init(F.p, NULL, 2, 1, 3, 3, 1, true, AG_F64, AG_INIT_HE_UNIFORM,    \
                                  &F.rng))                                                       \
    ROW(ag_conv_transpose2d_init, "rng", ERR,                                                    \
        !ag_conv_transpose2d_init(F.p, "t9", 2, 1, 3, 3, 1, true, AG_F64, AG_INIT_HE_UNIFORM,    \
                                  NULL))                                                         \
    ROW(ag_conv_transpose2d_layer, "p", ERR,                                                     \
        IS_NULL(ag_conv_transpose2d_layer(NULL, "0", F.img, NULL)))                              \
    ROW(ag_conv_transpose2d_layer, "name", ERR,                                                  \
        IS_NULL(ag_conv_transpose2d_layer(ag_sequential_params(F.seq), NULL, F.img, NULL)))      \
    ROW(ag_conv_transpose2d_layer, "x", ERR,                                                     \
        IS_NULL(ag_conv_transpose2d_layer(ag_sequential_params(F.seq), "0", NULL, NULL)))        \
    ROW(ag_conv_transpose2d_layer, "opts", OK, transpose_layer_default_opts())                   \
    ROW(ag_batch_norm_init, "p", ERR, !ag_batch_norm_init(NULL, "bn9", 2, AG_F64))               \
    ROW(ag_batch_norm_init, "name", ERR, !ag_batch_norm_init(F.p, NULL, 2, AG_F64))              \
    ROW(ag_batch_norm_layer, "p", ERR, IS_NULL(ag_batch_norm_layer(NULL, "1", F.img)))           \
    ROW(ag_batch_norm_layer, "name", ERR,                                                        \
        IS_NULL(ag_batch_norm_layer(ag_sequential_params(F.seq), NULL, F.img)))                  \
    ROW(ag_batch_norm_layer, "x", ERR,                                                           \
        IS_NULL(ag_batch_norm_layer(ag_sequential_params(F.seq), "1", NULL)))                    \
    ROW(ag_layer_norm_init, "p", ERR, !ag_layer_norm_init(NULL, "ln9", 1, H_SHAPE(3), AG_F64))   \
    ROW(ag_layer_norm_init, "name", ERR, !ag_layer_norm_init(F.p, NULL, 1, H_SHAPE(3), AG_F64))  \
    ROW(ag_layer_norm_init, "shape", ERR, !ag_layer_norm_init(F.p, "ln9", 1, NULL, AG_F64))      \
    ROW(ag_layer_norm_layer, "p", ERR, IS_NULL(ag_layer_norm_layer(NULL, "ln", F.x)))            \
    ROW(ag_layer_norm_layer, "name", ERR, IS_NULL(ag_layer_norm_layer(F.p, NULL, F.x)))          \
    ROW(ag_layer_norm_layer, "x", ERR, IS_NULL(ag_layer_norm_layer(F.p, "ln", NULL)))            \
    ROW(ag_group_norm_init, "p", ERR, !ag_group_norm_init(NULL, "gn9", 2, AG_F64))               \
    ROW(ag_group_norm_init, "name", ERR, !ag_group_norm_init(F.p, NULL, 2, AG_F64))              \
    ROW(ag_group_norm_layer, "p", ERR, IS_NULL(ag_group_norm_layer(NULL, "gn", F.img, 1)))       \
    ROW(ag_group_norm_layer, "name", ERR, IS_NULL(ag_group_norm_layer(F.p, NULL, F.img, 1)))     \
    ROW(ag_group_norm_layer, "x", ERR, IS_NULL(ag_group_norm_layer(F.p, "gn", NULL, 1)))         \
    ROW(ag_dropout_layer, "p", ERR, IS_NULL(ag_dropout_layer(NULL, F.x, 0.5)))                   \
    ROW(ag_dropout_layer, "x", ERR, IS_NULL(ag_dropout_layer(F.p, NULL, 0.5)))                   \
    ROW(ag_embedding_init, "p", ERR, !ag_embedding_init(NULL, "e9", 3, 2, AG_F64, &F.rng))       \
    ROW(ag_embedding_init, "name", ERR, !ag_embedding_init(F.p, NULL, 3, 2, AG_F64, &F.rng))     \
    ROW(ag_embedding_init, "rng", ERR, !ag_embedding_init(F.p, "e9", 3, 2, AG_F64, NULL))        \
    ROW(ag_embedding_layer, "p", ERR, IS_NULL(ag_embedding_layer(NULL, "tok_emb", F.ids)))       \
    ROW(ag_embedding_layer, "name", ERR, IS_NULL(ag_embedding_layer(F.gpt, NULL, F.ids)))        \
    ROW(ag_embedding_layer, "ids", ERR, IS_NULL(ag_embedding_layer(F.gpt, "tok_emb", NULL)))     \
    ROW(ag_linear_tied, "p", ERR, IS_NULL(ag_linear_tied(NULL, "tok_emb.weight", NULL, F.seqx))) \
    ROW(ag_linear_tied, "weight_name", ERR, IS_NULL(ag_linear_tied(F.gpt, NULL, NULL, F.seqx)))  \
    ROW(ag_linear_tied, "bias_name", OK,                                                         \
        ag_dim(ag_linear_tied(F.gpt, "tok_emb.weight", NULL, F.seqx), 2) == 5)                   \
    ROW(ag_linear_tied, "x", ERR, IS_NULL(ag_linear_tied(F.gpt, "tok_emb.weight", NULL, NULL)))  \
    ROW(ag_mha_init, "p", ERR, !ag_mha_init(NULL, "m9", 4, 2, AG_F64, &F.rng))                   \
    ROW(ag_mha_init, "name", ERR, !ag_mha_init(F.p, NULL, 4, 2, AG_F64, &F.rng))                 \
    ROW(ag_mha_init, "rng", ERR, !ag_mha_init(F.p, "m9", 4, 2, AG_F64, NULL))                    \
    ROW(ag_mha_self, "p", ERR,                                                                   \
        IS_NULL(ag_mha_self(NULL, "blocks.0.self_attn", F.seqx, 2, NULL, false)))                \
    ROW(ag_mha_self, "name", ERR, IS_NULL(ag_mha_self(F.gpt, NULL, F.seqx, 2, NULL, false)))     \
    ROW(ag_mha_self, "x", ERR,                                                                   \
        IS_NULL(ag_mha_self(F.gpt, "blocks.0.self_attn", NULL, 2, NULL, false)))                 \
    ROW(ag_mha_self, "mask", OK,                                                                 \
        ag_ndim(ag_mha_self(F.gpt, "blocks.0.self_attn", F.seqx, 2, NULL, true)) == 3)           \
    ROW(ag_transformer_block_init, "p", ERR,                                                     \
        !ag_transformer_block_init(NULL, "t9", 4, 2, 6, AG_F64, &F.rng))                         \
    ROW(ag_transformer_block_init, "name", ERR,                                                  \
        !ag_transformer_block_init(F.p, NULL, 4, 2, 6, AG_F64, &F.rng))                          \
    ROW(ag_transformer_block_init, "rng", ERR,                                                   \
        !ag_transformer_block_init(F.p, "t9", 4, 2, 6, AG_F64, NULL))                            \
    ROW(ag_transformer_block, "p", ERR,                                                          \
        IS_NULL(ag_transformer_block(NULL, "blocks.0", F.seqx, 2, 0.0, true)))                   \
    ROW(ag_transformer_block, "name", ERR,                                                       \
        IS_NULL(ag_transformer_block(F.gpt, NULL, F.seqx, 2, 0.0, true)))                        \
    ROW(ag_transformer_block, "x", ERR,                                                          \
        IS_NULL(ag_transformer_block(F.gpt, "blocks.0", NULL, 2, 0.0, true)))                    \
    ROW(ag_gpt_new, "cfg", ERR, IS_NULL(ag_gpt_new(NULL, AG_F64, 1)))                            \
    ROW(ag_gpt_logits, "p", ERR, IS_NULL(ag_gpt_logits(NULL, &F.gcfg, F.ids)))                   \
    ROW(ag_gpt_logits, "cfg", ERR, IS_NULL(ag_gpt_logits(F.gpt, NULL, F.ids)))                   \
    ROW(ag_gpt_logits, "ids", ERR, IS_NULL(ag_gpt_logits(F.gpt, &F.gcfg, NULL)))                 \
    ROW(ag_rnn_cell_init, "p", ERR, !ag_rnn_cell_init(NULL, "r9", 3, 4, true, AG_F64, &F.rng))   \
    ROW(ag_rnn_cell_init, "name", ERR, !ag_rnn_cell_init(F.rnn, NULL, 3, 4, true, AG_F64, &F.rng)) \
    ROW(ag_rnn_cell_init, "rng", ERR, !ag_rnn_cell_init(F.rnn, "r9", 3, 4, true, AG_F64, NULL))  \
    ROW(ag_rnn_cell, "p", ERR, IS_NULL(ag_rnn_cell(NULL, "rnn", F.x, NULL)))                     \
    ROW(ag_rnn_cell, "name", ERR, IS_NULL(ag_rnn_cell(F.rnn, NULL, F.x, NULL)))                  \
    ROW(ag_rnn_cell, "x", ERR, IS_NULL(ag_rnn_cell(F.rnn, "rnn", NULL, NULL)))                   \
    ROW(ag_rnn_cell, "h", OK, ag_ndim(ag_rnn_cell(F.rnn, "rnn", F.x, NULL)) == 2)                \
    ROW(ag_lstm_cell_init, "p", ERR, !ag_lstm_cell_init(NULL, "l9", 3, 4, true, AG_F64, &F.rng)) \
    ROW(ag_lstm_cell_init, "name", ERR,                                                          \
        !ag_lstm_cell_init(F.rnn, NULL, 3, 4, true, AG_F64, &F.rng))                             \
    ROW(ag_lstm_cell_init, "rng", ERR, !ag_lstm_cell_init(F.rnn, "l9", 3, 4, true, AG_F64, NULL)) \
    ROW(ag_lstm_cell, "p", ERR, !ag_lstm_cell(NULL, "lstm", F.x, NULL, NULL, &F.ho, &F.co))      \
    ROW(ag_lstm_cell, "name", ERR, !ag_lstm_cell(F.rnn, NULL, F.x, NULL, NULL, &F.ho, &F.co))    \
    ROW(ag_lstm_cell, "x", ERR, !ag_lstm_cell(F.rnn, "lstm", NULL, NULL, NULL, &F.ho, &F.co))    \
    ROW(ag_lstm_cell, "h", OK,                                                                   \
        ag_lstm_cell(F.rnn, "lstm", F.x, NULL, F.h24, &F.ho, &F.co) && ag_ndim(F.ho) == 2)       \
    ROW(ag_lstm_cell, "c", OK,                                                                   \
        ag_lstm_cell(F.rnn, "lstm", F.x, F.h24, NULL, &F.ho, &F.co) && ag_ndim(F.co) == 2)       \
    ROW(ag_lstm_cell, "h_out", ERR, !ag_lstm_cell(F.rnn, "lstm", F.x, NULL, NULL, NULL, &F.co))  \
    ROW(ag_lstm_cell, "c_out", ERR, !ag_lstm_cell(F.rnn, "lstm", F.x, NULL, NULL, &F.ho, NULL))  \
    ROW(ag_gru_cell_init, "p", ERR, !ag_gru_cell_init(NULL, "g9", 3, 4, true, AG_F64, &F.rng))   \
    ROW(ag_gru_cell_init, "name", ERR, !ag_gru_cell_init(F.rnn, NULL, 3, 4, true, AG_F64, &F.rng)) \
    ROW(ag_gru_cell_init, "rng", ERR, !ag_gru_cell_init(F.rnn, "g9", 3, 4, true, AG_F64, NULL))  \
    ROW(ag_gru_cell, "p", ERR, IS_NULL(ag_gru_cell(NULL, "gru", F.x, NULL)))                     \
    ROW(ag_gru_cell, "name", ERR, IS_NULL(ag_gru_cell(F.rnn, NULL, F.x, NULL)))                  \
    ROW(ag_gru_cell, "x", ERR, IS_NULL(ag_gru_cell(F.rnn, "gru", NULL, NULL)))                   \
    ROW(ag_gru_cell, "h", OK, ag_ndim(ag_gru_cell(F.rnn, "gru", F.x, NULL)) == 2)                \
    ROW(ag_rnn_unroll, "p", ERR,                                                                 \
        IS_NULL(ag_rnn_unroll(NULL, "gru", AG_CELL_GRU, F.seq3, NULL, NULL, NULL, NULL)))        \
    ROW(ag_rnn_unroll, "name", ERR,                                                              \
        IS_NULL(ag_rnn_unroll(F.rnn, NULL, AG_CELL_GRU, F.seq3, NULL, NULL, NULL, NULL)))        \
    ROW(ag_rnn_unroll, "x", ERR,                                                                 \
        IS_NULL(ag_rnn_unroll(F.rnn, "gru", AG_CELL_GRU, NULL, NULL, NULL, NULL, NULL)))         \
    ROW(ag_rnn_unroll, "h0", OK,                                                                 \
        ag_ndim(ag_rnn_unroll(F.rnn, "lstm", AG_CELL_LSTM, F.seq3, NULL, F.h24, &F.ho, &F.co)) == 3) \
    ROW(ag_rnn_unroll, "c0", OK,                                                                 \
        ag_ndim(ag_rnn_unroll(F.rnn, "lstm", AG_CELL_LSTM, F.seq3, F.h24, NULL, &F.ho, &F.co)) == 3) \
    ROW(ag_rnn_unroll, "h_n", OK,                                                                \
        ag_ndim(ag_rnn_unroll(F.rnn, "lstm", AG_CELL_LSTM, F.seq3, NULL, NULL, NULL, &F.co)) == 3) \
    ROW(ag_rnn_unroll, "c_n", OK,                                                                \
        ag_ndim(ag_rnn_unroll(F.rnn, "lstm", AG_CELL_LSTM, F.seq3, NULL, NULL, &F.ho, NULL)) == 3) \
    ROW(ag_rnn_state_new, "-", NOPTR, true)                                                      \
    ROW(ag_rnn_state_free, "s", OK, VOID_CALL(ag_rnn_state_free(NULL)))                          \
    ROW(ag_rnn_state_h, "s", ERR, IS_NULL(ag_rnn_state_h(NULL)))                                 \
    ROW(ag_rnn_state_c, "s", ERR, IS_NULL(ag_rnn_state_c(NULL)))                                 \
    ROW(ag_rnn_state_keep, "s", ERR, !ag_rnn_state_keep(NULL, F.h24, NULL))                      \
    ROW(ag_rnn_state_keep, "h_n", ERR, !ag_rnn_state_keep(F.gru_state, NULL, NULL))              \
    ROW(ag_rnn_state_keep, "c_n", OK, ag_rnn_state_keep(F.gru_state, F.h24, NULL))               \
    ROW(ag_rnn_state_reset, "s", ERR, VOID_CALL(ag_rnn_state_reset(NULL)))                       \
    ROW(ag_rnn_torch_names, "out", ERR, IS_NULL(ag_rnn_torch_names(NULL, "gru", "")))            \
    ROW(ag_rnn_torch_names, "name", ERR, IS_NULL(ag_rnn_torch_names(&F.rnn_names, NULL, "")))    \
    ROW(ag_rnn_torch_names, "module", ERR,                                                       \
        IS_NULL(ag_rnn_torch_names(&F.rnn_names, "gru", NULL)))                                  \
    ROW(ag_sequential_new, "-", NOPTR, true)                                                     \
    ROW(ag_sequential_free, "s", OK, VOID_CALL(ag_sequential_free(NULL)))                        \
    ROW(ag_sequential_params, "s", ERR, IS_NULL(ag_sequential_params(NULL)))                     \
    ROW(ag_sequential_len, "s", ERR, ag_sequential_len(NULL) == 0)                               \
    ROW(ag_sequential_set_init, "s", ERR, !ag_sequential_set_init(NULL, AG_INIT_HE_UNIFORM))     \
    ROW(ag_seq_conv2d, "s", ERR, !ag_seq_conv2d(NULL, 1, 2, 3, NULL))                            \
    ROW(ag_seq_conv2d, "opts", OK, seq_added(ag_seq_conv2d(F.seq, 2, 2, 1, NULL)))               \
    ROW(ag_seq_conv_transpose2d, "s", ERR, !ag_seq_conv_transpose2d(NULL, 1, 2, 3, NULL))        \
    ROW(ag_seq_conv_transpose2d, "opts", OK,                                                     \
        seq_added(ag_seq_conv_transpose2d(F.seq, 2, 2, 1, NULL)))                                \
    ROW(ag_seq_linear, "s", ERR, !ag_seq_linear(NULL, 3, 2))                                     \
    ROW(ag_seq_activation, "s", ERR, !ag_seq_activation(NULL, AG_ACT_RELU))                      \
    ROW(ag_seq_max_pool2d, "s", ERR, !ag_seq_max_pool2d(NULL, 2, 2))                             \
    ROW(ag_seq_avg_pool2d, "s", ERR, !ag_seq_avg_pool2d(NULL, 2, 2))                             \
    ROW(ag_seq_batch_norm, "s", ERR, !ag_seq_batch_norm(NULL, 2))                                \
    ROW(ag_seq_dropout, "s", ERR, !ag_seq_dropout(NULL, 0.5))                                    \
    ROW(ag_seq_flatten, "s", ERR, !ag_seq_flatten(NULL))                                         \
    ROW(ag_seq_unflatten, "s", ERR, !ag_seq_unflatten(NULL, 1, H_SHAPE(3)))                      \
    ROW(ag_seq_unflatten, "shape", ERR, !ag_seq_unflatten(F.seq, 1, NULL))                       \
    ROW(ag_sequential_forward, "s", ERR, IS_NULL(ag_sequential_forward(NULL, F.img)))            \
    ROW(ag_sequential_forward, "x", ERR, IS_NULL(ag_sequential_forward(F.seq, NULL)))            \
    ROW(ag_sequential_apply, "s", ERR, IS_NULL(ag_sequential_apply(NULL, F.p, F.img)))           \
    ROW(ag_sequential_apply, "p", ERR, IS_NULL(ag_sequential_apply(F.seq, NULL, F.img)))         \
    ROW(ag_sequential_apply, "x", ERR,                                                           \
        IS_NULL(ag_sequential_apply(F.seq, ag_sequential_params(F.seq), NULL)))                  \
    ROW(ag_activate, "x", ERR, IS_NULL(ag_activate(NULL, AG_ACT_TANH)))                          \
    ROW(ag_linear_init, "p", ERR,                                                                \
        !ag_linear_init(NULL, "fc9", 3, 2, AG_F64, AG_INIT_XAVIER_UNIFORM, &F.rng))              \
    ROW(ag_linear_init, "name", ERR,                                                             \
        !ag_linear_init(F.p, NULL, 3, 2, AG_F64, AG_INIT_XAVIER_UNIFORM, &F.rng))                \
    ROW(ag_linear_init, "rng", ERR,                                                              \
        !ag_linear_init(F.p, "fc9", 3, 2, AG_F64, AG_INIT_XAVIER_UNIFORM, NULL))                 \
    ROW(ag_linear, "p", ERR, IS_NULL(ag_linear(NULL, "fc1", F.x)))                               \
    ROW(ag_linear, "name", ERR, IS_NULL(ag_linear(F.p, NULL, F.x)))                              \
    ROW(ag_linear, "x", ERR, IS_NULL(ag_linear(F.p, "fc1", NULL)))                               \
    ROW(ag_mlp_new, "sizes", ERR, IS_NULL(ag_mlp_new(3, NULL, AG_ACT_TANH, AG_F64, &F.rng)))     \
    ROW(ag_mlp_new, "rng", ERR,                                                                  \
        IS_NULL(ag_mlp_new(3, H_SHAPE(3, 4, 2), AG_ACT_TANH, AG_F64, NULL)))                     \
    ROW(ag_mlp_free, "m", OK, VOID_CALL(ag_mlp_free(NULL)))                                      \
    ROW(ag_mlp_forward, "m", ERR, IS_NULL(ag_mlp_forward(NULL, F.x)))                            \
    ROW(ag_mlp_forward, "x", ERR, IS_NULL(ag_mlp_forward(F.mlp, NULL)))                          \
    ROW(ag_logreg_new, "-", NOPTR, true)                                                         \
    ROW(ag_logreg_logits, "p", ERR, IS_NULL(ag_logreg_logits(NULL, F.x)))                        \
    ROW(ag_logreg_logits, "x", ERR, IS_NULL(ag_logreg_logits(F.logreg, NULL)))                   \
    ROW(ag_softmax_regression_new, "-", NOPTR, true)                                             \
    ROW(ag_softmax_regression_logits, "p", ERR, IS_NULL(ag_softmax_regression_logits(NULL, F.x))) \
    ROW(ag_softmax_regression_logits, "x", ERR,                                                  \
        IS_NULL(ag_softmax_regression_logits(F.smreg, NULL)))                                    \
    ROW(ag_l2_penalty, "p", ERR, IS_NULL(ag_l2_penalty(NULL, 0.1)))                              \
    /* optimizers */                                                                             \
    ROW(ag_optim_new, "params", ERR, IS_NULL(ag_optim_new(NULL, &F.cfg)))                        \
    ROW(ag_optim_new, "cfg", ERR, IS_NULL(ag_optim_new(F.p, NULL)))                              \
    ROW(ag_optim_free, "o", OK, VOID_CALL(ag_optim_free(NULL)))                                  \
    ROW(ag_optim_step, "o", ERR, !ag_optim_step(NULL))                                           \
    ROW(ag_optim_zero_grad, "o", ERR, VOID_CALL(ag_optim_zero_grad(NULL)))                       \
    ROW(ag_optim_lr, "o", ERR, isnan(ag_optim_lr(NULL)))                                         \
    ROW(ag_optim_set_lr, "o", ERR, !ag_optim_set_lr(NULL, 0.1))                                  \
    ROW(ag_optim_steps, "o", ERR, ag_optim_steps(NULL) == 0)                                     \
    ROW(ag_optim_set_steps, "o", ERR, VOID_CALL(ag_optim_set_steps(NULL, 3)))                    \
    ROW(ag_optim_state, "o", ERR, IS_NULL(ag_optim_state(NULL)))                                 \
    ROW(ag_optim_config_get, "o", ERR, !ag_optim_config_get(NULL, &F.cfg))                       \
    ROW(ag_optim_config_get, "cfg", ERR, !ag_optim_config_get(F.opt, NULL))                      \
    ROW(ag_optim_last_grad_norm, "o", ERR, isnan(ag_optim_last_grad_norm(NULL)))                 \
    ROW(ag_schedule_lr, "s", ERR, isnan(ag_schedule_lr(NULL, 0)))                                \
    /* data */                                                                                   \
    ROW(ag_dataset_free, "d", OK, VOID_CALL(ag_dataset_free(NULL)))                              \
    ROW(ag_csv_load, "path", ERR, IS_NULL(ag_csv_load(NULL, NULL)))                              \
    ROW(ag_csv_load, "opts", OK, csv_default_opts())                                             \
    ROW(ag_idx_load, "images_path", ERR, IS_NULL(ag_idx_load(NULL, F.labels, AG_F64)))           \
    ROW(ag_idx_load, "labels_path", ERR, IS_NULL(ag_idx_load(F.images, NULL, AG_F64)))           \
    ROW(ag_dataset_split, "d", ERR, split_with_null(0))                                          \
    ROW(ag_dataset_split, "train", ERR, split_with_null(1))                                      \
    ROW(ag_dataset_split, "test", ERR, split_with_null(2))                                       \
    ROW(ag_standardizer_fit, "s", ERR, !ag_standardizer_fit(NULL, &F.ds))                        \
    ROW(ag_standardizer_fit, "d", ERR, standardizer_fit_null())                                  \
    ROW(ag_standardizer_apply, "s", ERR, !ag_standardizer_apply(NULL, &F.ds))                    \
    ROW(ag_standardizer_apply, "d", ERR, !ag_standardizer_apply(&F.st, NULL))                    \
    ROW(ag_standardizer_free, "s", OK, VOID_CALL(ag_standardizer_free(NULL)))                    \
    ROW(ag_dataset_targets, "d", ERR, IS_NULL(ag_dataset_targets(NULL, AG_F64)))                 \
    ROW(ag_batches_new, "d", ERR, IS_NULL(ag_batches_new(NULL, 2, true, 1)))                     \
    ROW(ag_batches_free, "b", OK, VOID_CALL(ag_batches_free(NULL)))                              \
    ROW(ag_batches_next, "b", ERR, !ag_batches_next(NULL, NULL, NULL, NULL))                     \
    ROW(ag_batches_next, "X", OK, batches_next_part(0))                                          \
    ROW(ag_batches_next, "y", OK, batches_next_part(1))                                          \
    ROW(ag_batches_next, "targets", OK, batches_next_part(2))                                    \
    ROW(ag_batches_count, "b", ERR, ag_batches_count(NULL) == 0)                                 \
    /* text */                                                                                   \
    ROW(ag_text_load, "path", ERR, IS_NULL(ag_text_load(NULL, AG_TEXT_CHARS)))                   \
    ROW(ag_text_from_string, "s", ERR, IS_NULL(ag_text_from_string(NULL, 1, AG_TEXT_CHARS, NULL)))\
    ROW(ag_text_from_string, "vocab", OK, text_own_vocab())                                      \
    ROW(ag_text_free, "t", OK, VOID_CALL(ag_text_free(NULL)))                                    \
    ROW(ag_text_len, "t", ERR, ag_text_len(NULL) == 0)                                           \
    ROW(ag_text_ids, "t", ERR, IS_NULL(ag_text_ids(NULL)))                                       \
    ROW(ag_text_vocab, "t", ERR, IS_NULL(ag_text_vocab(NULL)))                                   \
    ROW(ag_vocab_size, "v", ERR, ag_vocab_size(NULL) == 0)                                       \
    ROW(ag_vocab_id, "v", ERR, ag_vocab_id(NULL, "a", 1) == -1)                                  \
    ROW(ag_vocab_id, "token", ERR, ag_vocab_id(ag_text_vocab(F.text), NULL, 1) == -1)            \
    ROW(ag_vocab_token, "v", ERR, IS_NULL(ag_vocab_token(NULL, 0, NULL)))                        \
    ROW(ag_vocab_token, "len", OK, *ag_vocab_token(ag_text_vocab(F.text), 1, NULL) == 'a')       \
    ROW(ag_vocab_decode, "v", ERR, !ag_vocab_decode(NULL, text_ids, 2, F.buf, sizeof F.buf))     \
    ROW(ag_vocab_decode, "ids", ERR,                                                             \
        !ag_vocab_decode(ag_text_vocab(F.text), NULL, 2, F.buf, sizeof F.buf))                   \
    ROW(ag_vocab_decode, "buf", ERR, !ag_vocab_decode(ag_text_vocab(F.text), text_ids, 2, NULL, 8))\
    ROW(ag_vocab_decode_size, "v", ERR, ag_vocab_decode_size(NULL, text_ids, 2) == 0)            \
    ROW(ag_vocab_decode_size, "ids", ERR,                                                        \
        ag_vocab_decode_size(ag_text_vocab(F.text), NULL, 2) == 0)                               \
    ROW(ag_text_split, "t", ERR, text_split_with_null(0))                                        \
    ROW(ag_text_split, "train", ERR, text_split_with_null(1))                                    \
    ROW(ag_text_split, "test", ERR, text_split_with_null(2))                                     \
    ROW(ag_text_shuffle_lines, "t", ERR, IS_NULL(ag_text_shuffle_lines(NULL, 1)))                \
    ROW(ag_text_batches_new, "t", ERR, IS_NULL(ag_text_batches_new(NULL, 2, 1, true, 1)))        \
    ROW(ag_text_batches_free, "b", OK, VOID_CALL(ag_text_batches_free(NULL)))                    \
    ROW(ag_text_batches_next, "b", ERR, !ag_text_batches_next(NULL, NULL, NULL))                 \
    ROW(ag_text_batches_next, "x", OK, text_batches_next_part(0))                                \
    ROW(ag_text_batches_next, "y", OK, text_batches_next_part(1))                                \
    ROW(ag_text_batches_count, "b", ERR, ag_text_batches_count(NULL) == 0)                       \
    ROW(ag_sample_logits, "logits", ERR, ag_sample_logits(NULL, 1, 0, &F.rng) == -1)             \
    ROW(ag_sample_logits, "rng", ERR, ag_sample_logits(F.v, 1, 0, NULL) == -1)                   \
    ROW(ag_lm_evaluate, "logits", ERR, !ag_lm_evaluate(NULL, NULL, F.text, 2, 1, &F.nats))       \
    ROW(ag_lm_evaluate, "model", OK, ag_lm_evaluate(bigram_lm, NULL, F.text, 2, 1, &F.nats))     \
    ROW(ag_lm_evaluate, "text", ERR, !ag_lm_evaluate(bigram_lm, NULL, NULL, 2, 1, &F.nats))      \
    ROW(ag_lm_evaluate, "nats_per_token", ERR, !ag_lm_evaluate(bigram_lm, NULL, F.text, 2, 1, NULL))\
    ROW(ag_lm_generate, "logits", ERR, !ag_lm_generate(NULL, NULL, F.gen, 1, 3, 2, 1, 0, &F.rng))\
    ROW(ag_lm_generate, "model", OK, ag_lm_generate(bigram_lm, NULL, F.gen, 1, 3, 2, 1, 0, &F.rng))\
    ROW(ag_lm_generate, "ids", ERR, !ag_lm_generate(bigram_lm, NULL, NULL, 1, 3, 2, 1, 0, &F.rng))\
    ROW(ag_lm_generate, "rng", ERR, !ag_lm_generate(bigram_lm, NULL, F.gen, 1, 3, 2, 1, 0, NULL))\
    /* model files */                                                                            \
    ROW(ag_safetensors_save, "path", ERR, !ag_safetensors_save(NULL, F.p, NULL))                 \
    ROW(ag_safetensors_save, "p", ERR, !ag_safetensors_save(F.model, NULL, NULL))                \
    ROW(ag_safetensors_save, "metadata", OK, ag_safetensors_save(F.model, F.p, NULL))            \
    ROW(ag_safetensors_load, "path", ERR, !ag_safetensors_load(NULL, F.p))                       \
    ROW(ag_safetensors_load, "p", ERR, !ag_safetensors_load(F.model, NULL))                      \
    ROW(ag_safetensors_save_as, "path", ERR, !ag_safetensors_save_as(NULL, F.p, NULL, 0, NULL))   \
    ROW(ag_safetensors_save_as, "p", ERR, !ag_safetensors_save_as(F.model, NULL, NULL, 0, NULL))  \
    ROW(ag_safetensors_save_as, "metadata", OK, ag_safetensors_save_as(F.model, F.p, NULL, 0, NULL)) \
    ROW(ag_safetensors_save_as, "map", ERR, !ag_safetensors_save_as(F.model, F.p, NULL, 1, NULL)) \
    ROW(ag_safetensors_load_as, "path", ERR, !ag_safetensors_load_as(NULL, F.p, 0, NULL))         \
    ROW(ag_safetensors_load_as, "p", ERR, !ag_safetensors_load_as(F.model, NULL, 0, NULL))        \
    ROW(ag_safetensors_load_as, "map", ERR, !ag_safetensors_load_as(F.model, F.p, 1, NULL))       \
    ROW(ag_mlp_sequential_map, "-", NOPTR, true)                                                 \
    ROW(ag_safetensors_read, "path", ERR, IS_NULL(ag_safetensors_read(NULL)))                    \
    ROW(ag_checkpoint_save, "path", ERR, !ag_checkpoint_save(NULL, F.p, F.opt))                  \
    ROW(ag_checkpoint_save, "model", ERR, !ag_checkpoint_save(F.ckpt, NULL, F.opt))              \
    ROW(ag_checkpoint_save, "opt", ERR, !ag_checkpoint_save(F.ckpt, F.p, NULL))                  \
    ROW(ag_checkpoint_load, "path", ERR, !ag_checkpoint_load(NULL, F.p, F.opt))                  \
    ROW(ag_checkpoint_load, "model", ERR, !ag_checkpoint_load(F.ckpt, NULL, F.opt))              \
    ROW(ag_checkpoint_load, "opt", ERR, !ag_checkpoint_load(F.ckpt, F.p, NULL))                  \
    /* training */                                                                               \
    ROW(ag_train, "model", OK, train_with_null(0))                                               \
    ROW(ag_train, "loss", ERR, train_with_null(1))                                               \
    ROW(ag_train, "logits", OK, train_with_null(2))                                              \
    ROW(ag_train, "opt", ERR, train_with_null(3))                                                \
    ROW(ag_train, "train", ERR, train_with_null(4))                                              \
    ROW(ag_train, "test", OK, train_with_null(5))                                                \
    ROW(ag_train, "cfg", ERR, train_with_null(6))                                                \
    ROW(ag_train, "stats", OK, train_with_null(7))                                               \
    ROW(ag_evaluate, "model", OK, evaluate_with_null(0))                                         \
    ROW(ag_evaluate, "loss", OK, evaluate_with_null(1))                                          \
    ROW(ag_evaluate, "logits", OK, evaluate_with_null(2))                                        \
    ROW(ag_evaluate, "d", ERR, evaluate_with_null(3))                                            \
    ROW(ag_evaluate, "accuracy", OK, evaluate_with_null(4))                                      \
    ROW(ag_evaluate, "mean_loss", OK, evaluate_with_null(5))

typedef struct null_row {
    const char *fn;  /* the function */
    const char *arg; /* the argument given NULL */
    enum kind kind;
    const char *expr;
} null_row;

#define META(fn, arg, kind, expr) {#fn, arg, kind, #expr},
static const null_row ROWS[] = {NULL_CASES(META)};
#undef META
enum { N_ROWS = (int)H_COUNT(ROWS) };

/* Runs row `want`: its expression's value. */
static bool run_row(int want)
{
    int k = 0;
#define RUN(fn, arg, kind, expr)                                                                 \
    if (k++ == want)                                                                             \
        return (expr);
    NULL_CASES(RUN)
#undef RUN
    ck_abort_msg("no row %d", want);
    return false;
}

static void check_row(int i, bool anomaly)
{
    const null_row *r = &ROWS[i];
    if (r->kind == NOPTR)
        return;
    fixture_setup();
    ag_anomaly_mode_set(anomaly);
    ag_error_clear();
    bool value_ok = run_row(i);
    ag_status st = ag_last_status();
    ag_status want = r->kind == ERR ? AG_ERR_NULL : AG_OK;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_error_clear();
    ck_assert_msg(value_ok && st == want,
                  "%s with %s NULL%s: %s, status %s (expected %s, \"%s\")", r->fn, r->arg,
                  anomaly ? " in anomaly mode" : "",
                  value_ok ? "documented value" : "wrong value", ag_status_str(st),
                  ag_status_str(want), msg);
    if (want == AG_ERR_NULL) {
        /* The library's messages start with the function's name, without ag_. */
        ck_assert_msg(strstr(msg, r->fn + 3) != NULL || strstr(msg, "NULL") != NULL,
                      "%s: message \"%s\" names neither the function nor NULL", r->fn, msg);
    }
}

START_TEST(test_null_row)
{
    check_row(_i, false);
}
END_TEST

START_TEST(test_null_row_anomaly)
{
    check_row(_i, true);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Completeness: the table against the installed headers               */
/* ------------------------------------------------------------------ */

typedef struct decl {
    char name[64];
    int n_ptr;
    char ptr[12][32]; /* the pointer parameters' names */
} decl;

enum { MAX_DECLS = 400 };
static decl decls[MAX_DECLS];
static int n_decls;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Blanks comments; with `directives`, also preprocessor lines (with their
 * continuations), so that what is left is C declarations. */
static void blank_noise(char *s, bool directives)
{
    bool line_start = true;
    for (char *p = s; *p; p++) {
        if (p[0] == '/' && p[1] == '*') {
            char *e = strstr(p + 2, "*/");
            char *end = e ? e + 2 : p + strlen(p);
            for (; p < end; p++)
                if (*p != '\n')
                    *p = ' ';
            p--;
            continue;
        }
        if (p[0] == '/' && p[1] == '/') {
            for (; *p && *p != '\n'; p++)
                *p = ' ';
            p--;
            continue;
        }
        if (directives && line_start && *p == '#') {
            for (; *p && !(*p == '\n' && p[-1] != '\\'); p++)
                *p = ' ';
            p--;
            continue;
        }
        if (*p == '\n')
            line_start = true;
        else if (!isspace((unsigned char)*p))
            line_start = false;
    }
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Names of function-pointer typedefs ("typedef ... (*ag_fn)(...)"): a
 * parameter of such a type is a pointer too. */
static char fnptr_types[32][40];
static int n_fnptr_types;

static void collect_fnptr_types(const char *s)
{
    for (const char *p = s; (p = strstr(p, "typedef")) != NULL; p += 7) {
        const char *semi = strchr(p, ';');
        const char *star = strstr(p, "(*");
        if (!semi || !star || star > semi)
            continue;
        star += 2;
        size_t n = 0;
        while (ident_char(star[n]))
            n++;
        ck_assert_int_lt(n_fnptr_types, (int)H_COUNT(fnptr_types));
        snprintf(fnptr_types[n_fnptr_types++], sizeof fnptr_types[0], "%.*s", (int)n, star);
    }
}

static bool is_fnptr_type(const char *param)
{
    while (isspace((unsigned char)*param))
        param++;
    if (strncmp(param, "const ", 6) == 0)
        param += 6;
    for (int i = 0; i < n_fnptr_types; i++) {
        size_t n = strlen(fnptr_types[i]);
        if (strncmp(param, fnptr_types[i], n) == 0 && !ident_char(param[n]))
            return true;
    }
    return false;
}

/* One parameter, text [b, e): records its name if it is a pointer (an
 * array parameter, `const int64_t kernel[2]`, is one). */
static void add_param(decl *d, const char *b, const char *e)
{
    char text[256];
    snprintf(text, sizeof text, "%.*s", (int)(e - b), b);
    const char *name_end, *name_begin;
    const char *fp = strstr(text, "(*");
    char *bracket = strchr(text, '[');
    if (!fp && bracket) {
        *bracket = '\0';
        name_end = bracket;
        for (name_begin = name_end; name_begin > text && ident_char(name_begin[-1]); name_begin--)
            ;
    } else if (fp) {
        name_begin = fp + 2;
        for (name_end = name_begin; ident_char(*name_end); name_end++)
            ;
    } else {
        name_end = text + strlen(text);
        while (name_end > text && !ident_char(name_end[-1]))
            name_end--;
        for (name_begin = name_end; name_begin > text && ident_char(name_begin[-1]); name_begin--)
            ;
        if (!strchr(text, '*') && !is_fnptr_type(text))
            return;
    }
    ck_assert_int_lt(d->n_ptr, (int)H_COUNT(d->ptr));
    snprintf(d->ptr[d->n_ptr++], sizeof d->ptr[0], "%.*s", (int)(name_end - name_begin),
             name_begin);
}

static void collect_decls(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (!(p[0] == 'a' && p[1] == 'g' && p[2] == '_') || (p > s && ident_char(p[-1])))
            continue;
        const char *q = p;
        while (ident_char(*q))
            q++;
        const char *paren = q;
        while (isspace((unsigned char)*paren))
            paren++;
        if (*paren != '(') {
            p = q - 1;
            continue;
        }
        ck_assert_int_lt(n_decls, MAX_DECLS);
        decl *d = &decls[n_decls++];
        memset(d, 0, sizeof *d);
        snprintf(d->name, sizeof d->name, "%.*s", (int)(q - p), p);
        int depth = 0;
        const char *arg = paren + 1, *c;
        for (c = paren; *c; c++) {
            if (*c == '(')
                depth++;
            else if (*c == ')' && --depth == 0)
                break;
            else if (*c == ',' && depth == 1) {
                add_param(d, arg, c);
                arg = c + 1;
            }
        }
        ck_assert_msg(*c == ')', "unbalanced declaration of %s", d->name);
        add_param(d, arg, c);
        p = c;
    }
}

static const decl *find_decl(const char *name)
{
    for (int i = 0; i < n_decls; i++)
        if (strcmp(decls[i].name, name) == 0)
            return &decls[i];
    return NULL;
}

/* Whether the row's argument ("xs" or "xs[0]") is the parameter. */
static bool arg_is(const char *arg, const char *param)
{
    size_t n = strlen(param);
    return strncmp(arg, param, n) == 0 && (arg[n] == '\0' || arg[n] == '[');
}

START_TEST(test_table_complete)
{
    char root[512], path[640];
    snprintf(root, sizeof root, "%s/../..", test_data());
    const char *api[] = {"autograd/autograd.h", "autograd/op.h", "autograd/models.h", "autograd/tools.h",
                         "autograd/testing.h"};
    n_decls = n_fnptr_types = 0;
    for (size_t h = 0; h < H_COUNT(api); h++) {
        snprintf(path, sizeof path, "%s/%s", root, api[h]);
        char *s = read_text(path);
        blank_noise(s, true);
        collect_fnptr_types(s);
        free(s);
    }
    for (size_t h = 0; h < H_COUNT(api); h++) {
        snprintf(path, sizeof path, "%s/%s", root, api[h]);
        char *s = read_text(path);
        blank_noise(s, true);
        collect_decls(s);
        free(s);
    }
    /* A sanity floor, so that a parser broken into finding nothing fails. */
    ck_assert_int_gt(n_decls, 200);
    ck_assert_ptr_nonnull(find_decl("ag_trace_hook"));
    ck_assert_int_eq(find_decl("ag_trace_hook")->n_ptr, 5);
    ck_assert_int_eq(find_decl("ag_train")->n_ptr, 8);

    char missing[4096] = "";
    size_t used = 0;
#define NOTE(...)                                                                                \
    do {                                                                                         \
        if (used < sizeof missing)                                                               \
            used += (size_t)snprintf(missing + used, sizeof missing - used, __VA_ARGS__);        \
    } while (0)
    for (int i = 0; i < n_decls; i++) {
        const decl *d = &decls[i];
        bool listed = false;
        for (int r = 0; r < N_ROWS; r++)
            listed |= strcmp(ROWS[r].fn, d->name) == 0;
        if (!listed)
            NOTE("\n  %s has no row", d->name);
        for (int k = 0; k < d->n_ptr; k++) {
            bool covered = false;
            for (int r = 0; r < N_ROWS; r++)
                covered |= strcmp(ROWS[r].fn, d->name) == 0 && arg_is(ROWS[r].arg, d->ptr[k]);
            if (!covered)
                NOTE("\n  %s: no row gives NULL for pointer argument '%s'", d->name, d->ptr[k]);
        }
    }
    for (int r = 0; r < N_ROWS; r++) {
        const decl *d = find_decl(ROWS[r].fn);
        if (!d) {
            NOTE("\n  row %d: %s is not declared in the installed headers", r, ROWS[r].fn);
            continue;
        }
        if (ROWS[r].kind == NOPTR) {
            if (d->n_ptr > 0)
                NOTE("\n  row %d: %s is NOPTR but has pointer arguments", r, ROWS[r].fn);
            continue;
        }
        bool known = false;
        for (int k = 0; k < d->n_ptr; k++)
            known |= arg_is(ROWS[r].arg, d->ptr[k]);
        if (!known)
            NOTE("\n  row %d: %s has no pointer argument '%s'", r, ROWS[r].fn, ROWS[r].arg);
    }

    /* Every anomaly-mode wrapper wraps a declared function (so its row
     * tests the wrapper too: the rows call through it). */
    snprintf(path, sizeof path, "%s/autograd/ag_locations.h", root);
    char *s = read_text(path);
    blank_noise(s, false);
    int n_wrappers = 0;
    for (const char *p = s; (p = strstr(p, "#define ag_")) != NULL; p++) {
        const char *b = p + 8, *e = b;
        while (ident_char(*e))
            e++;
        if (*e != '(')
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(e - b), b);
        n_wrappers++;
        if (!find_decl(name))
            NOTE("\n  ag_locations.h wraps %s, which is not declared", name);
    }
    free(s);
    ck_assert_int_gt(n_wrappers, 50);
    ck_assert_msg(missing[0] == '\0', "the NULL table of check-null.c is incomplete:%s", missing);
#undef NOTE
}
END_TEST

Suite *null_suite(void);
Suite *null_suite(void)
{
    Suite *s = suite_create("null");
    TCase *tc = h_tcase(s, "table", H_TIMEOUT);
    tcase_add_test(tc, test_table_complete);
    tc = h_tcase(s, "rows", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, fixture_teardown);
    tcase_add_loop_test(tc, test_null_row, 0, N_ROWS);
    tc = h_tcase(s, "rows_anomaly", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, fixture_teardown);
    tcase_add_loop_test(tc, test_null_row_anomaly, 0, N_ROWS);
    return s;
}

H_MAIN(null_suite)

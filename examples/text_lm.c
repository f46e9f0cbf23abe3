/* SPDX-License-Identifier: MIT */
/* text_lm.c — character-level language models on real text: an LSTM
 * (char-rnn) and a small GPT, trained on the same data and measured the
 * same way, so their held-out losses can be compared.
 *
 *   text_lm lstm|gpt [text-file] [out-prefix] [steps (default 1000)]
 *
 * The text (default: Debian's word list, wamerican, one word per line) is
 * put in a seeded random order by lines — the list is sorted, and a model
 * that reads neighbours learns the order (each word shares a prefix with
 * the one before) rather than the spelling — and a seeded 10 % of the lines
 * is held out. The models, of about the same
 * size (~420,000 parameters):
 *   lstm  characters embedded in 128 numbers, one LSTM layer of 256 units
 *         (PyTorch's nn.LSTM layout, gates i, f, g, o), a linear layer to
 *         the vocabulary. Trained with truncated backpropagation through
 *         time, as char-rnn is: the training text is cut into BATCH
 *         streams read side by side, SEQ characters a step; the state is
 *         carried to the next chunk (ag_rnn_state_keep), the gradient stops
 *         at the chunk's start.
 *   gpt   a decoder-only Transformer: token and position embeddings of
 *         width 128, 2 pre-LN blocks with 4 causal attention heads and a
 *         feed-forward of 512, the output layer tied to the token
 *         embedding. Trained on windows of SEQ + 1 characters in a seeded
 *         random order (ag_text_batches).
 * Both: Adam with a cosine schedule down to 1e-4 — from 2e-3 for the
 * LSTM, from 3e-3 after 100 steps of linear warm-up for the GPT (the
 * settings that did best for each in 1000 steps) — gradients clipped at
 * norm 1, BATCH sequences of SEQ characters a step, no dropout.
 *
 * Every EVAL_EVERY steps it prints the training loss (the mean of the
 * last TRAIN_EVERY steps) and the held-out loss in bits per character, measured by
 * ag_lm_evaluate: windows of SEQ characters, each read from scratch (the
 * LSTM from a zero state, the GPT with that window as its context). At the
 * end it writes both curves to <out-prefix>_loss.png and prints made-up
 * words sampled at temperature 0.8. Everything is seeded: a run prints the
 * same numbers each time (with the same BLAS and thread count). */
#include <autograd/autograd.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SEQ = 64, BATCH = 32, TRAIN_EVERY = 50, EVAL_EVERY = 200, EMBED = 128, HIDDEN = 256 };
static const double LN2 = 0.69314718055994530942; /* nats per bit */

typedef struct model {
    bool gpt;
    ag_params *p;
    int64_t vocab;
    ag_gpt_config cfg;  /* the GPT's */
    ag_rnn_state *state; /* the LSTM's, carried between chunks */
} model;

/* The LSTM's logits (T, N, V) for ids (T, N), from the state (h0, c0) or,
 * when they are NULL, from zeros; the final state goes to *h_n and *c_n. */
static ag_tensor *lstm_forward(const model *m, ag_tensor *ids, ag_tensor *h0, ag_tensor *c0,
                               ag_tensor **h_n, ag_tensor **c_n)
{
    int64_t T = ag_shape(ids)[0], N = ag_shape(ids)[1];
    ag_tensor *x = ag_embedding_layer(m->p, "embed", ids);
    ag_tensor *h = ag_rnn_unroll(m->p, "lstm", AG_CELL_LSTM, x, h0, c0, h_n, c_n);
    ag_tensor *z = ag_linear(m->p, "head", ag_reshape(h, 2, (int64_t[]){T * N, HIDDEN}));
    return ag_reshape(z, 3, (int64_t[]){T, N, m->vocab});
}

/* Either model as ag_lm_evaluate and ag_lm_generate see it: ids (T, N) to
 * logits (T, N, V). The GPT reads (N, T). */
static ag_tensor *lm_logits(void *ctx, ag_tensor *ids)
{
    const model *m = ctx;
    if (!m->gpt)
        return lstm_forward(m, ids, NULL, NULL, NULL, NULL);
    return ag_transpose(ag_gpt_logits(m->p, &m->cfg, ag_transpose(ids, 0, 1)), 0, 1);
}

static int fail(const char *what)
{
    fprintf(stderr, "text_lm: %s: %s\n", what, ag_last_error());
    return 1;
}

static bool make_model(model *m, int64_t vocab)
{
    m->vocab = vocab;
    if (m->gpt) {
        m->cfg = (ag_gpt_config){.vocab_size = vocab, .block_size = SEQ, .d_model = 128,
                                 .n_layer = 2, .n_head = 4, .d_ff = 512, .dropout = 0.0,
                                 .tie_weights = true};
        m->p = ag_gpt_new(&m->cfg, AG_F32, 2024);
        return m->p != NULL;
    }
    ag_rng rng;
    ag_rng_seed(&rng, 2024);
    m->p = ag_params_new();
    m->state = ag_rnn_state_new(AG_CELL_LSTM, BATCH, HIDDEN, AG_F32);
    return m->p && m->state && ag_embedding_init(m->p, "embed", vocab, EMBED, AG_F32, &rng) &&
           ag_lstm_cell_init(m->p, "lstm", EMBED, HIDDEN, true, AG_F32, &rng) &&
           ag_linear_init(m->p, "head", HIDDEN, vocab, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng);
}

/* The GPT's training step: the next batch of windows (a new epoch when
 * one ends). */
static ag_tensor *gpt_loss(model *m, ag_text_batches *batches)
{
    ag_tensor *x, *y;
    if (!ag_text_batches_next(batches, &x, &y) && !ag_text_batches_next(batches, &x, &y))
        return NULL;
    int64_t n = ag_shape(x)[1];
    return ag_cross_entropy(ag_reshape(lm_logits(m, x), 2, (int64_t[]){SEQ * n, m->vocab}),
                            ag_reshape(y, 1, (int64_t[]){SEQ * n}), AG_REDUCE_MEAN);
}

/* The LSTM's training step: chunk `step` of the BATCH streams (stream j
 * reads the text from j·stream_len on); the state restarts with the
 * streams. *h_n and *c_n receive the final state, to be kept after the
 * backward sweep. */
static ag_tensor *lstm_loss(model *m, const ag_text *train, int64_t step, ag_tensor *x,
                            ag_tensor *y, ag_tensor **h_n, ag_tensor **c_n)
{
    const int64_t *ids = ag_text_ids(train);
    int64_t stream_len = (ag_text_len(train) - 1) / BATCH, chunk = step % (stream_len / SEQ);
    if (chunk == 0)
        ag_rnn_state_reset(m->state);
    int64_t *px = ag_data(x), *py = ag_data(y);
    for (int64_t t = 0; t < SEQ; t++)
        for (int64_t j = 0; j < BATCH; j++) {
            int64_t s = j * stream_len + chunk * SEQ + t;
            px[t * BATCH + j] = ids[s];
            py[t * BATCH + j] = ids[s + 1];
        }
    ag_tensor *z = lstm_forward(m, x, ag_rnn_state_h(m->state), ag_rnn_state_c(m->state), h_n, c_n);
    return ag_cross_entropy(ag_reshape(z, 2, (int64_t[]){SEQ * BATCH, m->vocab}), y, AG_REDUCE_MEAN);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "lstm") != 0 && strcmp(argv[1], "gpt") != 0)) {
        fprintf(stderr, "usage: text_lm lstm|gpt [text-file] [out-prefix] [steps]\n");
        return 2;
    }
    model m = {.gpt = strcmp(argv[1], "gpt") == 0};
    const char *path = argc > 2 ? argv[2] : "/usr/share/dict/american-english";
    const char *prefix = argc > 3 ? argv[3] : (m.gpt ? "build/text_gpt" : "build/text_lstm");
    int steps = argc > 4 ? atoi(argv[4]) : 1000;
    if (steps < 1)
        steps = 1;

    ag_text *all = ag_text_load(path, AG_TEXT_CHARS), *train = NULL, *test = NULL;
    if (!all)
        return fail("reading the text");
    ag_text *shuffled = ag_text_shuffle_lines(all, 7);
    if (!shuffled || !ag_text_split(shuffled, 0.1, 7, &train, &test))
        return fail("splitting the text");
    const ag_vocab *vocab = ag_text_vocab(all);
    printf("%s: %lld characters, %lld distinct; %lld for training, %lld held out\n", path,
           (long long)ag_text_len(all), (long long)ag_vocab_size(vocab),
           (long long)ag_text_len(train), (long long)ag_text_len(test));
    if (ag_text_len(train) < (int64_t)BATCH * (SEQ + 1))
        return fprintf(stderr, "text_lm: the text is too short for %d streams of %d\n", BATCH,
                       SEQ + 1), 1;
    if (!make_model(&m, ag_vocab_size(vocab)))
        return fail("making the model");
    if (m.gpt)
        printf("model: GPT, %lld blocks of width %lld, %lld heads, feed-forward %lld, context %lld, "
               "tied output layer: %zu parameters\n",
               (long long)m.cfg.n_layer, (long long)m.cfg.d_model, (long long)m.cfg.n_head,
               (long long)m.cfg.d_ff, (long long)m.cfg.block_size, ag_params_numel(m.p));
    else
        printf("model: embedding %lld×%d, LSTM %d→%d, linear %d→%lld: %zu parameters\n",
               (long long)m.vocab, EMBED, EMBED, HIDDEN, HIDDEN, (long long)m.vocab,
               ag_params_numel(m.p));

    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    oc.lr = m.gpt ? 3e-3 : 2e-3;
    oc.clip_norm = 1.0;
    ag_optim *opt = ag_optim_new(m.p, &oc);
    ag_schedule_config sched = {.kind = AG_SCHEDULE_COSINE, .base_lr = oc.lr,
                                .total = (uint64_t)steps, .min_lr = 1e-4};
    const int warmup = m.gpt ? 100 : 0;
    ag_text_batches *batches = m.gpt ? ag_text_batches_new(train, SEQ, BATCH, true, 2024) : NULL;
    ag_tensor *x = ag_zeros(AG_I64, 2, (int64_t[]){SEQ, BATCH});
    ag_tensor *y = ag_zeros(AG_I64, 1, (int64_t[]){SEQ * BATCH});
    /* The curves: the training loss's mean over each TRAIN_EVERY steps, the
     * held-out loss every EVAL_EVERY steps and at the end. */
    int n_train = (steps + TRAIN_EVERY - 1) / TRAIN_EVERY, n_test = steps / EVAL_EVERY + 1;
    int done_train = 0, done_test = 0;
    double *curves = calloc(2 * ((size_t)n_train + (size_t)n_test), sizeof(double));
    if (!opt || (m.gpt && !batches) || !x || !y || !curves)
        return fail("setting up the training");
    double *train_at = curves, *train_bits = train_at + n_train;
    double *test_at = train_bits + n_train, *test_bits = test_at + n_test;

    double running = 0, nats = NAN;
    int in_running = 0;
    for (int step = 0; step < steps; step++) {
        double ramp = step < warmup ? (step + 1.0) / warmup : 1.0;
        ag_optim_set_lr(opt, ramp * ag_schedule_lr(&sched, (uint64_t)step));
        ag_tensor *h_n = NULL, *c_n = NULL;
        ag_tensor *loss = m.gpt ? gpt_loss(&m, batches) : lstm_loss(&m, train, step, x, y, &h_n, &c_n);
        if (!loss || !ag_backward(loss) || !ag_optim_step(opt) ||
            (!m.gpt && !ag_rnn_state_keep(m.state, h_n, c_n)))
            return fail("a training step");
        ag_optim_zero_grad(opt);
        running += ag_item(loss);
        in_running++;
        ag_tape_reset(ag_tape_current());

        if ((step + 1) % TRAIN_EVERY == 0 || step + 1 == steps) {
            train_at[done_train] = step + 1;
            train_bits[done_train++] = running / in_running / LN2;
            running = 0;
            in_running = 0;
        }
        if ((step + 1) % EVAL_EVERY == 0 || step + 1 == steps) {
            if (!ag_lm_evaluate(lm_logits, &m, test, SEQ, BATCH, &nats))
                return fail("evaluating on the held-out text");
            test_at[done_test] = step + 1;
            test_bits[done_test++] = nats / LN2;
            printf("step %5d: training %.3f bits/char (the last %d steps), held out %.3f bits/char\n",
                   step + 1, train_bits[done_train - 1], TRAIN_EVERY, nats / LN2);
            fflush(stdout);
        }
    }
    printf("%s: held-out loss %.4f bits per character (%.4f nats) after %d steps\n", argv[1],
           nats / LN2, nats, steps);

    char png[1024];
    snprintf(png, sizeof png, "%s_loss.png", prefix);
    ag_plot_series series[2] = {
        {"training (mean of 50 steps)", train_at, train_bits, done_train},
        {"held out", test_at, test_bits, done_test}};
    ag_plot_opts po = ag_plot_defaults();
    po.title = m.gpt ? "Small GPT, characters of the word list" : "LSTM, characters of the word list";
    po.xlabel = "step";
    po.ylabel = "bits per character";
    if (!ag_save_png_plot(png, 2, series, &po))
        return fail("writing the loss curves");
    printf("wrote %s\n", png);

    /* Made-up words: what the model writes after a newline. */
    enum { SAMPLE = 200 };
    int64_t sample[SAMPLE + 1];
    sample[0] = ag_vocab_id(vocab, "\n", 1);
    ag_rng rng;
    ag_rng_seed(&rng, 99);
    if (sample[0] < 0 || !ag_lm_generate(lm_logits, &m, sample, 1, SAMPLE, SEQ, 0.8, 0, &rng))
        return fail("sampling");
    char text[SAMPLE * 4 + 1];
    if (!ag_vocab_decode(vocab, sample + 1, SAMPLE, text, sizeof text))
        return fail("decoding the sample");
    for (char *c = text; *c; c++) /* one line of words */
        if (*c == '\n')
            *c = ' ';
    printf("sampled at temperature 0.8: %s\n", text);

    free(curves);
    ag_tensor_free(x);
    ag_tensor_free(y);
    ag_text_batches_free(batches);
    ag_rnn_state_free(m.state);
    ag_optim_free(opt);
    ag_params_free(m.p);
    ag_text_free(train);
    ag_text_free(test);
    ag_text_free(shuffled);
    ag_text_free(all);
    ag_shutdown();
    return 0;
}

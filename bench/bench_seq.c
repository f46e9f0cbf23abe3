/* SPDX-License-Identifier: MIT */
/* bench_seq.c — sequence models' training steps, against PyTorch
 * (bench/torch_peer.py) and KANN's LSTM (bench/kann_lstm.c), same shapes,
 * run by bench/run.sh in the same environment passes:
 *
 *   lstm   a character LSTM language model: T = 32 steps, N = 32
 *          sequences, one-hot input of 128 symbols, one LSTM layer of 128
 *          units (ag_rnn_unroll), a linear layer to 128 classes,
 *          cross-entropy over the T·N positions, Adam, f32.
 *   gpt    a small GPT (ag_gpt_logits): N = 16, T = 64, 128 symbols, width
 *          128, 2 pre-LN blocks with 4 heads and a feed-forward of 512, no
 *          dropout, causal, the head tied to the token embedding, Adam, f32.
 *
 * A step is what a user writes: forward, loss, backward, optimizer step,
 * tape reset. Four batches are cycled. Options: --results FILE, --quick. */
#include "bench.h"

#include <autograd/autograd.h>

#include <stdlib.h>

enum { V = 128, NB = 4 };

static double elapsed_us(uint64_t t0) { return (double)(bench_now_ns() - t0) / 1e3; }

/* Times `samples` steps after `warmup`, and writes the result line. */
typedef double (*step_fn)(void *ctx, int k);

static void run(const bench_opts *o, const char *name, step_fn step, void *ctx)
{
    int warmup = o->quick ? 3 : 10, samples = o->quick ? 6 : 40;
    double *t = malloc((size_t)samples * sizeof *t);
    double loss = 0;
    bench_check(t != NULL, "allocating the samples");
    for (int i = 0; i < warmup + samples; i++) {
        uint64_t t0 = bench_now_ns();
        loss = step(ctx, i % NB);
        if (i >= warmup)
            t[i - warmup] = elapsed_us(t0);
    }
    bench_stats s = bench_summarize(t, (size_t)samples);
    printf("  %-13s %10.2f %10.2f %10.2f   (loss %.4f)\n", name, s.median, s.min, s.max, loss);
    char f[160];
    snprintf(f, sizeof f, "bench=%s impl=engine blas_threads=%d", name, bench_blas_threads());
    bench_result(f, s, "us");
    free(t);
}

/* ---- LSTM ---- */

enum { LT = 32, LN = 32, LH = 128 };

typedef struct lstm_bench {
    ag_params *p;
    ag_optim *opt;
    ag_tensor *x[NB], *y[NB];
} lstm_bench;

static double lstm_step(void *ctx, int k)
{
    lstm_bench *b = ctx;
    ag_optim_zero_grad(b->opt);
    ag_tensor *h = ag_rnn_unroll(b->p, "lstm", AG_CELL_LSTM, b->x[k], NULL, NULL, NULL, NULL);
    ag_tensor *z = ag_linear(b->p, "head", ag_reshape(h, 2, (int64_t[]){LT * LN, LH}));
    ag_tensor *l = ag_cross_entropy(z, b->y[k], AG_REDUCE_MEAN);
    bench_check(ag_backward(l) && ag_optim_step(b->opt), "the LSTM step");
    double loss = ag_item(l);
    ag_tape_reset(ag_tape_current());
    return loss;
}

static void bench_lstm(const bench_opts *o)
{
    lstm_bench b = {ag_params_new(), NULL, {0}, {0}};
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    bench_check(b.p && ag_lstm_cell_init(b.p, "lstm", V, LH, true, AG_F32, &rng) &&
                    ag_linear_init(b.p, "head", LH, V, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng),
                "making the LSTM");
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    b.opt = ag_optim_new(b.p, &oc);
    bench_check(b.opt != NULL, "making the optimizer");
    for (int k = 0; k < NB; k++) {
        b.x[k] = ag_zeros(AG_F32, 3, (int64_t[]){LT, LN, V});
        b.y[k] = ag_zeros(AG_I64, 1, (int64_t[]){LT * LN});
        bench_check(b.x[k] && b.y[k], "making the batches");
        float *px = ag_data(b.x[k]);
        int64_t *py = ag_data(b.y[k]);
        for (int64_t i = 0; i < LT * LN; i++) {
            px[i * V + (int64_t)(ag_rng_next(&rng) % V)] = 1.0f; /* one-hot */
            py[i] = (int64_t)(ag_rng_next(&rng) % V);
        }
    }
    run(o, "lstm", lstm_step, &b);
    for (int k = 0; k < NB; k++) {
        ag_tensor_free(b.x[k]);
        ag_tensor_free(b.y[k]);
    }
    ag_optim_free(b.opt);
    ag_params_free(b.p);
}

/* ---- GPT ---- */

enum { GN = 16, GT = 64 };

typedef struct gpt_bench {
    ag_params *p;
    ag_gpt_config cfg;
    ag_optim *opt;
    ag_tensor *x[NB], *y[NB];
} gpt_bench;

static double gpt_step(void *ctx, int k)
{
    gpt_bench *b = ctx;
    ag_optim_zero_grad(b->opt);
    ag_tensor *z = ag_gpt_logits(b->p, &b->cfg, b->x[k]);
    ag_tensor *l = ag_cross_entropy(ag_reshape(z, 2, (int64_t[]){GN * GT, V}), b->y[k],
                                    AG_REDUCE_MEAN);
    bench_check(ag_backward(l) && ag_optim_step(b->opt), "the GPT step");
    double loss = ag_item(l);
    ag_tape_reset(ag_tape_current());
    return loss;
}

static void bench_gpt(const bench_opts *o)
{
    gpt_bench b = {.cfg = {.vocab_size = V, .block_size = GT, .d_model = 128, .n_layer = 2,
                           .n_head = 4, .d_ff = 512, .dropout = 0.0, .tie_weights = true}};
    b.p = ag_gpt_new(&b.cfg, AG_F32, 42);
    bench_check(b.p != NULL, "making the GPT");
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    b.opt = ag_optim_new(b.p, &oc);
    bench_check(b.opt != NULL, "making the optimizer");
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    for (int k = 0; k < NB; k++) {
        b.x[k] = ag_zeros(AG_I64, 2, (int64_t[]){GN, GT});
        b.y[k] = ag_zeros(AG_I64, 1, (int64_t[]){GN * GT});
        bench_check(b.x[k] && b.y[k], "making the batches");
        int64_t *px = ag_data(b.x[k]), *py = ag_data(b.y[k]);
        for (int64_t i = 0; i < GN * GT; i++) {
            px[i] = (int64_t)(ag_rng_next(&rng) % V);
            py[i] = (int64_t)(ag_rng_next(&rng) % V);
        }
    }
    run(o, "gpt", gpt_step, &b);
    for (int k = 0; k < NB; k++) {
        ag_tensor_free(b.x[k]);
        ag_tensor_free(b.y[k]);
    }
    ag_optim_free(b.opt);
    ag_params_free(b.p);
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, NULL, NULL);
    printf("bench_seq: %s\n-- engine: median, min, max (us)\n", bench_blas_desc());
    bench_lstm(&o);
    bench_gpt(&o);
    bench_results_close();
    ag_shutdown();
    return 0;
}

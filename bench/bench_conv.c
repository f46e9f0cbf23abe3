/* SPDX-License-Identifier: MIT */
/* bench_conv.c — convolutional work, against PyTorch (bench/torch_peer.py,
 * same shapes, run by bench/run.sh in the same environment passes):
 *
 *   lenet      one training step of examples/cnn_fashion.c's network (conv
 *              1-16 k5 pad 2, ReLU, max pool 2, conv 16-32 k5, ReLU, max pool
 *              2, linear 800-120-84-10), batch 64 of 1x28x28 in f32,
 *              cross-entropy, Adam, tape reset: what a user writes.
 *   conv_*     ag_conv2d forward and backward alone (input, weight and bias
 *              gradients of sum(y)) at three sizes:
 *                lenet1  64x1x28x28,  16 filters 5x5, padding 2
 *                mid     64x16x14x14, 32 filters 5x5
 *                vgg     32x64x16x16, 64 filters 3x3, padding 1
 *
 * A sample is one step (milliseconds each, far above the clock's jitter).
 * Options: --results FILE, --quick. */
#include "bench.h"

#include <autograd/autograd.h>

#include <stdlib.h>

enum { NB = 4 };

static double elapsed_us(uint64_t t0) { return (double)(bench_now_ns() - t0) / 1e3; }

static ag_tensor *lenet_logits(ag_sequential *m, ag_tensor *X)
{
    return ag_sequential_forward(m, X);
}

static void bench_lenet(const bench_opts *o)
{
    ag_sequential *m = ag_sequential_new(AG_F32, 42);
    ag_conv_opts pad2 = ag_conv_defaults();
    pad2.padding[0] = pad2.padding[1] = 2;
    bench_check(m && ag_seq_conv2d(m, 1, 16, 5, &pad2) && ag_seq_activation(m, AG_ACT_RELU) &&
                    ag_seq_max_pool2d(m, 2, 2) && ag_seq_conv2d(m, 16, 32, 5, NULL) &&
                    ag_seq_activation(m, AG_ACT_RELU) && ag_seq_max_pool2d(m, 2, 2) &&
                    ag_seq_flatten(m) && ag_seq_linear(m, 800, 120) &&
                    ag_seq_activation(m, AG_ACT_RELU) && ag_seq_linear(m, 120, 84) &&
                    ag_seq_activation(m, AG_ACT_RELU) && ag_seq_linear(m, 84, 10),
                "building the network");
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = ag_optim_new(ag_sequential_params(m), &oc);
    bench_check(opt != NULL, "making the optimizer");
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_tensor *X[NB], *y[NB];
    for (int k = 0; k < NB; k++) {
        X[k] = ag_rand_uniform(AG_F32, 4, (int64_t[]){64, 1, 28, 28}, 0, 1, &rng);
        y[k] = ag_zeros(AG_I64, 1, (int64_t[]){64});
        for (size_t i = 0; i < 64; i++)
            ag_set_flat(y[k], i, (double)(ag_rng_next(&rng) % 10));
    }
    int warmup = o->quick ? 5 : 20, samples = o->quick ? 8 : 60;
    double *t = malloc((size_t)samples * sizeof *t);
    double loss = 0;
    for (int i = 0; i < warmup + samples; i++) {
        int k = i % NB;
        uint64_t t0 = bench_now_ns();
        ag_optim_zero_grad(opt);
        ag_tensor *l = ag_cross_entropy(lenet_logits(m, X[k]), y[k], AG_REDUCE_MEAN);
        bench_check(ag_backward(l) && ag_optim_step(opt), "the training step");
        loss = ag_item(l);
        ag_tape_reset(ag_tape_current());
        if (i >= warmup)
            t[i - warmup] = elapsed_us(t0);
    }
    bench_stats s = bench_summarize(t, (size_t)samples);
    printf("  lenet         %10.2f %10.2f %10.2f   (loss %.4f)\n", s.median, s.min, s.max, loss);
    char f[160];
    snprintf(f, sizeof f, "bench=lenet impl=engine blas_threads=%d", bench_blas_threads());
    bench_result(f, s, "us");
    free(t);
    for (int k = 0; k < NB; k++) {
        ag_tensor_free(X[k]);
        ag_tensor_free(y[k]);
    }
    ag_optim_free(opt);
    ag_sequential_free(m);
}

typedef struct conv_size {
    const char *name;
    int64_t n, cin, h, w, cout, k, stride, pad;
} conv_size;

static const conv_size SIZES[] = {
    {"lenet1", 64, 1, 28, 28, 16, 5, 1, 2},
    {"mid", 64, 16, 14, 14, 32, 5, 1, 0},
    {"vgg", 32, 64, 16, 16, 64, 3, 1, 1},
};

static void bench_conv(const bench_opts *o, const conv_size *c)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_tensor *x = ag_rand_uniform(AG_F32, 4, (int64_t[]){c->n, c->cin, c->h, c->w}, 0, 1, &rng);
    ag_tensor *w = ag_rand_uniform(AG_F32, 4, (int64_t[]){c->cout, c->cin, c->k, c->k}, -0.5, 0.5,
                                   &rng);
    ag_tensor *b = ag_zeros(AG_F32, 1, (int64_t[]){c->cout});
    bench_check(x && w && b && ag_set_requires_grad(x, true) && ag_set_requires_grad(w, true) &&
                    ag_set_requires_grad(b, true),
                "making the inputs");
    ag_conv_opts opts = ag_conv_defaults();
    opts.stride[0] = opts.stride[1] = c->stride;
    opts.padding[0] = opts.padding[1] = c->pad;
    int warmup = o->quick ? 3 : 10, samples = o->quick ? 5 : 40;
    double *t = malloc((size_t)samples * sizeof *t);
    for (int i = 0; i < warmup + samples; i++) {
        uint64_t t0 = bench_now_ns();
        ag_zero_grad(x);
        ag_zero_grad(w);
        ag_zero_grad(b);
        bench_check(ag_backward(ag_sum(ag_conv2d(x, w, b, &opts))), "conv2d forward and backward");
        ag_tape_reset(ag_tape_current());
        if (i >= warmup)
            t[i - warmup] = elapsed_us(t0);
    }
    bench_stats s = bench_summarize(t, (size_t)samples);
    printf("  conv_%-8s %10.2f %10.2f %10.2f\n", c->name, s.median, s.min, s.max);
    char f[160];
    snprintf(f, sizeof f, "bench=conv_%s impl=engine blas_threads=%d", c->name,
             bench_blas_threads());
    bench_result(f, s, "us");
    free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(b);
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, NULL, NULL);
    printf("bench_conv: %s\n-- engine: median, min, max (us)\n", bench_blas_desc());
    bench_lenet(&o);
    for (size_t i = 0; i < sizeof SIZES / sizeof SIZES[0]; i++)
        bench_conv(&o, &SIZES[i]);
    bench_results_close();
    ag_shutdown();
    return 0;
}

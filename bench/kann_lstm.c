/* SPDX-License-Identifier: MIT */
/* kann_lstm.c — KANN's LSTM training step, the peer of bench_seq's "lstm":
 * T = 32 steps unrolled, N = 32 sequences, one-hot input of 128 symbols,
 * an LSTM of 128 units (kann_layer_lstm without layer normalisation), a
 * dense layer to 128 classes, softmax and multi-class cross-entropy, one
 * RMSprop update (KANN's optimizer; the engine and PyTorch use Adam, whose
 * update costs about the same per parameter). f32.
 *
 * KANN is not part of this project: bench/kann_peer.sh compiles this file
 * with a KANN checkout given by KANN_DIR, out of tree, with KANN's CBLAS
 * path on OpenBLAS; nothing of KANN is committed here.
 *
 * Usage: kann_lstm [--quick] [--results FILE] */
#include "bench.h"

#include "kann.h"

#include <stdlib.h>
#include <string.h>

enum { T = 32, N = 32, H = 128, V = 128, NB = 4 };

static double elapsed_us(uint64_t t0) { return (double)(bench_now_ns() - t0) / 1e3; }

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, NULL, NULL);
    kann_srand(42);
    kad_node_t *t = kann_layer_input(V);
    t->ext_label = 1;
    t = kann_layer_lstm(t, H, 0);
    t = kann_layer_dense(t, V);
    t = kad_softmax(t);
    kad_node_t *truth = kad_feed(2, 1, V);
    truth->ext_flag |= KANN_F_TRUTH;
    t = kad_ce_multi(t, truth);
    t->ext_flag |= KANN_F_COST;
    kann_t *ann = kann_new(t, 0);
    kann_t *ua = kann_unroll(ann, T);
    kann_set_batch_size(ua, N);
    kann_switch(ua, 1);

    /* NB batches of one-hot inputs and targets, cycled as the peers do. */
    float *x[NB][T], *y[NB][T];
    for (int b = 0; b < NB; b++)
        for (int u = 0; u < T; u++) {
            x[b][u] = calloc((size_t)N * V, sizeof(float));
            y[b][u] = calloc((size_t)N * V, sizeof(float));
        }
    for (int b = 0; b < NB; b++)
        for (int n = 0; n < N; n++) {
            int prev = (int)(kann_drand() * V);
            for (int u = 0; u < T; u++) {
                int next = (int)(kann_drand() * V);
                x[b][u][n * V + prev] = 1.0f;
                y[b][u][n * V + next] = 1.0f;
                prev = next;
            }
        }
    float *bind_x[T], *bind_y[T];
    kann_feed_bind(ua, KANN_F_IN, 1, bind_x);
    kann_feed_bind(ua, KANN_F_TRUTH, 0, bind_y);
    int n_var = kann_size_var(ua);
    float *r = calloc((size_t)n_var, sizeof(float));

    int warmup = o.quick ? 3 : 10, samples = o.quick ? 6 : 40;
    double *times = malloc((size_t)samples * sizeof *times);
    float cost = 0;
    for (int i = 0; i < warmup + samples; i++) {
        int b = i % NB;
        memcpy(bind_x, x[b], sizeof bind_x);
        memcpy(bind_y, y[b], sizeof bind_y);
        uint64_t t0 = bench_now_ns();
        /* The feeds are bound by pointer: rebind this batch's arrays. */
        kann_feed_bind(ua, KANN_F_IN, 1, bind_x);
        kann_feed_bind(ua, KANN_F_TRUTH, 0, bind_y);
        cost = kann_cost(ua, 0, 1);
        kann_RMSprop(n_var, 1e-3f, 0, 0.9f, ua->g, ua->x, r);
        if (i >= warmup)
            times[i - warmup] = elapsed_us(t0);
    }
    bench_stats s = bench_summarize(times, (size_t)samples);
    printf("kann_lstm: T=%d N=%d H=%d V=%d, %s\n", T, N, H, V, bench_blas_desc());
    printf("  lstm (KANN)   %10.2f %10.2f %10.2f us   (loss %.4f)\n", s.median, s.min, s.max,
           (double)cost);
    char fields[160];
    snprintf(fields, sizeof fields, "bench=lstm impl=kann blas_threads=%d", bench_blas_threads());
    bench_result(fields, s, "us");

    free(times);
    free(r);
    for (int b = 0; b < NB; b++)
        for (int u = 0; u < T; u++) {
            free(x[b][u]);
            free(y[b][u]);
        }
    kann_delete_unrolled(ua);
    kann_delete(ann);
    bench_results_close();
    return 0;
}

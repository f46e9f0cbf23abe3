/* SPDX-License-Identifier: MIT */
/* bench_scalar.c — a micrograd-style graph: an MLP built from 0-d tensors
 * (every weight a scalar leaf, every neuron Σ w·x + b through scalar ag_mul
 * and ag_add, then ag_tanh), evaluated on several samples with a squared
 * error summed over them. Sizes 8-32-32-1 on 40 samples make 107,640
 * recorded nodes per forward pass. Timed: building the graph (forward),
 * ag_backward over it, and zeroing the 1,345 parameters' gradients plus
 * the tape reset; reported as ns per recorded node. The PyTorch peer builds
 * the same graph from 0-d tensors on fewer samples (it is slower per node),
 * also reported per node.
 *
 * The loop is written the way micrograd's is, so what is measured is the
 * cost of recording and sweeping a node, not arithmetic.
 *
 * Options: --samples=N (default 40), --results FILE, --quick. */
#include "bench.h"

#include <autograd/autograd.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { L = 3, WIDTH_MAX = 32 };
static const int SIZES[L + 1] = {8, 32, 32, 1};

typedef struct net {
    ag_tensor *W[L][WIDTH_MAX][WIDTH_MAX]; /* W[l][i][j]: input i to neuron j */
    ag_tensor *b[L][WIDTH_MAX];
    ag_tensor **params;
    size_t n_params;
} net;

static ag_tensor *scalar_param(ag_rng *rng, double bound, net *m)
{
    ag_tensor *t = ag_scalar(AG_F64, (2 * ag_rng_uniform(rng) - 1) * bound);
    bench_check(t && ag_set_requires_grad(t, true), "scalar parameter");
    m->params[m->n_params++] = t;
    return t;
}

static void net_init(net *m, ag_rng *rng)
{
    size_t n = 0;
    for (int l = 0; l < L; l++)
        n += (size_t)(SIZES[l] + 1) * (size_t)SIZES[l + 1];
    m->params = malloc(n * sizeof *m->params);
    m->n_params = 0;
    for (int l = 0; l < L; l++) {
        double bound = 1.0 / sqrt(SIZES[l]);
        for (int j = 0; j < SIZES[l + 1]; j++) {
            for (int i = 0; i < SIZES[l]; i++)
                m->W[l][i][j] = scalar_param(rng, bound, m);
            m->b[l][j] = scalar_param(rng, bound, m);
        }
    }
}

/* Σ_s (mlp(x_s) − y_s)², every operation a recorded scalar node. Not
 * inlined, nor is scalar_backward, so that a profiler can count exactly
 * these two (bench/profile.sh). */
__attribute__((noinline)) static ag_tensor *scalar_forward(const net *m, int n_samples,
                                                          ag_tensor *const *x, ag_tensor *const *y)
{
    ag_tensor *loss = NULL;
    ag_tensor *h[WIDTH_MAX], *out[WIDTH_MAX];
    for (int s = 0; s < n_samples; s++) {
        for (int i = 0; i < SIZES[0]; i++)
            h[i] = x[s * SIZES[0] + i];
        for (int l = 0; l < L; l++) {
            for (int j = 0; j < SIZES[l + 1]; j++) {
                ag_tensor *acc = m->b[l][j];
                for (int i = 0; i < SIZES[l]; i++)
                    acc = ag_add(acc, ag_mul(m->W[l][i][j], h[i]));
                out[j] = l + 1 < L ? ag_tanh(acc) : acc;
            }
            memcpy(h, out, sizeof(ag_tensor *) * (size_t)SIZES[l + 1]);
        }
        ag_tensor *d = ag_sub(h[0], y[s]);
        ag_tensor *sq = ag_mul(d, d);
        loss = loss ? ag_add(loss, sq) : sq;
    }
    return loss;
}

__attribute__((noinline)) static bool scalar_backward(ag_tensor *loss)
{
    return ag_backward(loss);
}

static int n_samples = 40;

static int parse_extra(const char *a, void *ctx)
{
    (void)ctx;
    if (!strncmp(a, "--samples=", 10)) {
        n_samples = atoi(a + 10);
        return n_samples > 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, parse_extra, NULL);
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    net m;
    net_init(&m, &rng);
    ag_tensor **x = malloc(sizeof *x * (size_t)(n_samples * SIZES[0]));
    ag_tensor **y = malloc(sizeof *y * (size_t)n_samples);
    for (int s = 0; s < n_samples; s++) {
        for (int i = 0; i < SIZES[0]; i++)
            x[s * SIZES[0] + i] = ag_scalar(AG_F64, 2 * ag_rng_uniform(&rng) - 1);
        y[s] = ag_scalar(AG_F64, ag_rng_uniform(&rng) > 0.5 ? 1.0 : -1.0);
    }

    /* Four warm-up iterations: the tape's arenas (data, and headers for even and
     * odd generations) each reach their final single block by the fourth. */
    int warmup = 4, reps = o.quick ? 3 : 15;
    double *tf = malloc(sizeof(double) * (size_t)reps), *tb = malloc(sizeof(double) * (size_t)reps),
           *tz = malloc(sizeof(double) * (size_t)reps), *tt = malloc(sizeof(double) * (size_t)reps);
    size_t nodes = 0, allocs = 0;
    double loss_value = 0;
    for (int r = -warmup; r < reps; r++) {
        size_t a0 = ag_alloc_count();
        uint64_t t0 = bench_now_ns();
        ag_tensor *loss = scalar_forward(&m, n_samples, x, y);
        uint64_t t1 = bench_now_ns();
        bench_check(loss && scalar_backward(loss), "scalar graph backward");
        uint64_t t2 = bench_now_ns();
        nodes = ag_tape_size(NULL);
        loss_value = ag_item(loss);
        for (size_t i = 0; i < m.n_params; i++)
            ag_zero_grad(m.params[i]);
        ag_tape_reset(NULL);
        uint64_t t3 = bench_now_ns();
        if (r < 0)
            continue;
        allocs = ag_alloc_count() - a0;
        tf[r] = (double)(t1 - t0) / (double)nodes;
        tb[r] = (double)(t2 - t1) / (double)nodes;
        tt[r] = (double)(t2 - t0) / (double)nodes;
        tz[r] = (double)(t3 - t2) / (double)nodes;
    }
    bench_stats sf = bench_summarize(tf, (size_t)reps), sb = bench_summarize(tb, (size_t)reps),
                st = bench_summarize(tt, (size_t)reps), sz = bench_summarize(tz, (size_t)reps);

    printf("== Scalar graph: MLP 8-32-32-1 of 0-d f64 tensors (mul/add/tanh), %d samples, "
           "%zu nodes, %zu parameters ==\n",
           n_samples, nodes, m.n_params);
    printf("  %d repetitions after %d warm-up; ns per recorded node (loss %.6f)\n", reps, warmup,
           loss_value);
    printf("  %-28s %9s %9s %9s\n", "phase", "median", "min", "max");
    printf("  %-28s %9.1f %9.1f %9.1f\n", "forward (record)", sf.median, sf.min, sf.max);
    printf("  %-28s %9.1f %9.1f %9.1f\n", "backward", sb.median, sb.min, sb.max);
    printf("  %-28s %9.1f %9.1f %9.1f\n", "forward + backward", st.median, st.min, st.max);
    printf("  %-28s %9.1f %9.1f %9.1f\n", "zero_grad + reset", sz.median, sz.min, sz.max);
    printf("  heap allocations per steady-state iteration: %zu; %d iterations in all\n", allocs,
           warmup + reps);

    bench_stats *all[4] = {&sf, &sb, &st, &sz};
    static const char *phase[4] = {"forward", "backward", "total", "zero_reset"};
    for (int p = 0; p < 4; p++) {
        char f[128];
        snprintf(f, sizeof f, "bench=scalar impl=engine phase=%s nodes=%zu", phase[p], nodes);
        bench_result(f, *all[p], "ns_per_node");
    }
    bench_result_value("bench=scalar impl=engine what=allocs_per_step", (double)allocs, "count");

    for (size_t i = 0; i < m.n_params; i++)
        ag_tensor_free(m.params[i]);
    for (int i = 0; i < n_samples * SIZES[0]; i++)
        ag_tensor_free(x[i]);
    for (int s = 0; s < n_samples; s++)
        ag_tensor_free(y[s]);
    free(m.params), free(x), free(y), free(tf), free(tb), free(tz), free(tt);
    bench_results_close();
    ag_shutdown();
    return 0;
}

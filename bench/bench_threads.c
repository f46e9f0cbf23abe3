/* SPDX-License-Identifier: MIT */
/* bench_threads.c — where splitting a kernel over the thread pool starts
 * to pay, which is what the library's grains (ag_parallel_grain for cheap
 * loops and a sixteenth of it for transcendental maps, set in
 * autograd/core/parallel.c) are set from.
 *
 * Part 1, the pool itself: a cheap map (y = a + b) and a transcendental
 * one (y = exp(a)), in f32, over n elements, run on the calling thread and
 * split in two by ag_parallel_for with two threads. Their ratio at each n
 * shows the crossover: below it, waking the worker costs more than half
 * the work saves.
 *
 * Part 2, the library's own ops (ag_add, ag_relu, ag_exp, and the sum
 * along an axis, forward under no-grad; and an SGD update of a parameter
 * of n elements) with ag_set_num_threads(1) and (2): below the grain both
 * rows must be the same; above it the second should be faster.
 *
 * Options: --results FILE, --quick. The pool needs two online CPUs to show
 * anything; OPENBLAS_NUM_THREADS does not matter (no BLAS is called). */
#include "bench.h"

#include <autograd/autograd.h>
#include <autograd/op.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct map_job {
    const float *a, *b;
    float *y;
} map_job;

static void add_chunk(size_t lo, size_t hi, void *ctx)
{
    map_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        j->y[i] = j->a[i] + j->b[i];
}

static void exp_chunk(size_t lo, size_t hi, void *ctx)
{
    map_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        j->y[i] = expf(j->a[i]);
}

/* Repetitions so that one measurement takes about `budget_ns`. */
static int reps_for(double ns_per_call, double budget_ns, int lo, int hi)
{
    double r = budget_ns / (ns_per_call > 1 ? ns_per_call : 1);
    return r < lo ? lo : r > hi ? hi : (int)r;
}

/* Median ns of one call of fn over [0, n), serial (grain 0 means serial)
 * or split with the given grain. Each sample times `inner` calls. */
static double time_map(ag_parallel_fn fn, map_job *j, size_t n, bool split, int samples)
{
    double *t = malloc(sizeof(double) * (size_t)samples);
    bench_check(t != NULL, "samples");
    /* calibrate the inner count on one serial call */
    uint64_t c0 = bench_now_ns();
    fn(0, n, j);
    double one = (double)(bench_now_ns() - c0);
    int inner = reps_for(one, 2e5, 1, 100000);
    for (int w = 0; w < 3; w++)
        split ? ag_parallel_for(n, n / 2, fn, j) : fn(0, n, j);
    for (int s = 0; s < samples; s++) {
        uint64_t t0 = bench_now_ns();
        for (int k = 0; k < inner; k++) {
            if (split)
                ag_parallel_for(n, n / 2, fn, j);
            else
                fn(0, n, j);
        }
        t[s] = (double)(bench_now_ns() - t0) / inner;
    }
    bench_stats st = bench_summarize(t, (size_t)samples);
    free(t);
    return st.median;
}

typedef enum { K_ADD, K_RELU, K_EXP, K_SUM, K_SGD } op_kind;
static const char *K_NAMES[] = {"add", "relu", "exp", "sum_axis", "sgd"};

/* Median ns of one op call on n elements with the current thread setting. */
static double time_op(op_kind k, size_t n, int samples)
{
    int64_t shape[1] = {(int64_t)n};
    int64_t shape2[2] = {(int64_t)(n / 64), 64};
    ag_tensor *a = ag_full(AG_F32, 1, shape, 0.25), *b = ag_full(AG_F32, 1, shape, 0.5);
    ag_tensor *m = ag_full(AG_F32, 2, shape2, 0.25);
    bench_check(a && b && m, "tensors");
    ag_params *ps = NULL;
    ag_optim *opt = NULL;
    if (k == K_SGD) {
        ps = ag_params_new();
        bench_check(ps && ag_params_add(ps, "w", a) && ag_set_requires_grad(a, true), "params");
        ag_tensor *loss = ag_sum(ag_mul(a, b));
        bench_check(loss && ag_backward(loss), "backward");
        ag_optim_config c = ag_optim_defaults(AG_SGD);
        c.lr = 1e-6;
        c.momentum = 0.9;
        opt = ag_optim_new(ps, &c);
        bench_check(opt != NULL, "sgd");
    }
    bool prev = ag_no_grad_begin();
    double *t = malloc(sizeof(double) * (size_t)samples);
    bench_check(t != NULL, "samples");
    int inner = 1;
    for (int s = -3; s < samples; s++) {
        uint64_t t0 = bench_now_ns();
        for (int r = 0; r < inner; r++) {
            ag_tensor *y = NULL;
            switch (k) {
            case K_ADD: y = ag_add(a, b); break;
            case K_RELU: y = ag_relu(a); break;
            case K_EXP: y = ag_exp(a); break;
            case K_SUM: y = ag_sum_axis(m, 1, false); break;
            case K_SGD: bench_check(ag_optim_step(opt), "step"); break;
            }
            bench_check(k == K_SGD || y != NULL, K_NAMES[k]);
            ag_tape_reset(NULL);
        }
        double per = (double)(bench_now_ns() - t0) / inner;
        if (s == -3)
            inner = reps_for(per, 2e5, 1, 100000);
        if (s >= 0)
            t[s] = per;
    }
    ag_grad_mode_set(prev);
    bench_stats st = bench_summarize(t, (size_t)samples);
    free(t);
    ag_optim_free(opt);
    if (ps)
        ag_params_free(ps); /* frees a */
    else
        ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(m);
    return st.median;
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, NULL, NULL);
    int samples = o.quick ? 5 : 31;
    size_t max_n = (size_t)1 << (o.quick ? 18 : 22);
    char fields[160];

    printf("== Thread pool: one call on the calling thread against ag_parallel_for split in "
           "two (2 threads); f32, median ns per call of %d samples ==\n",
           samples);
    bench_check(ag_set_num_threads(2), "set_num_threads");
    float *a = malloc(sizeof(float) * max_n), *b = malloc(sizeof(float) * max_n),
          *y = malloc(sizeof(float) * max_n);
    bench_check(a && b && y, "buffers");
    for (size_t i = 0; i < max_n; i++) {
        a[i] = (float)(i % 17) * 0.125f - 1.0f;
        b[i] = 0.5f;
    }
    map_job j = {a, b, y};
    printf("  %-9s %-9s %12s %12s %8s\n", "kernel", "n", "serial", "split", "gain");
    struct {
        const char *name;
        ag_parallel_fn fn;
    } maps[] = {{"add", add_chunk}, {"exp", exp_chunk}};
    for (int k = 0; k < 2; k++) {
        for (size_t n = 1024; n <= max_n; n *= 2) {
            double s1 = time_map(maps[k].fn, &j, n, false, samples);
            double s2 = time_map(maps[k].fn, &j, n, true, samples);
            printf("  %-9s %-9zu %12.0f %12.0f %7.2fx\n", maps[k].name, n, s1, s2, s1 / s2);
            snprintf(fields, sizeof fields, "bench=pool_%s n=%zu impl=serial", maps[k].name, n);
            bench_result_value(fields, s1, "ns");
            snprintf(fields, sizeof fields, "bench=pool_%s n=%zu impl=split", maps[k].name, n);
            bench_result_value(fields, s2, "ns");
        }
    }
    free(a);
    free(b);
    free(y);

    printf("== The library's ops with 1 and 2 threads (f32, no-grad; sum_axis sums rows of 64; "
           "sgd is one momentum step); median ns per call ==\n");
    printf("  %-9s %-9s %12s %12s %8s\n", "op", "n", "1 thread", "2 threads", "gain");
    for (int k = K_ADD; k <= K_SGD; k++) {
        for (size_t n = 4096; n <= max_n; n *= 4) {
            bench_check(ag_set_num_threads(1), "set_num_threads");
            double t1 = time_op((op_kind)k, n, samples);
            bench_check(ag_set_num_threads(2), "set_num_threads");
            double t2 = time_op((op_kind)k, n, samples);
            printf("  %-9s %-9zu %12.0f %12.0f %7.2fx\n", K_NAMES[k], n, t1, t2, t1 / t2);
            snprintf(fields, sizeof fields, "bench=op_%s n=%zu threads=1", K_NAMES[k], n);
            bench_result_value(fields, t1, "ns");
            snprintf(fields, sizeof fields, "bench=op_%s n=%zu threads=2", K_NAMES[k], n);
            bench_result_value(fields, t2, "ns");
        }
    }
    bench_results_close();
    ag_shutdown();
    return 0;
}

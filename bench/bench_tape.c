/* SPDX-License-Identifier: MIT */
/* bench_tape.c — the tape's own cost: recording a node and sweeping it
 * backward, on tensors so small (0-d, and 4 elements) that the arithmetic
 * is nothing and the bookkeeping is everything.
 *
 * For each op a chain of N nodes is built, y = op(y, c) or y = op(y), from
 * a leaf that requires grad (and, for the binary ops, a second leaf c that
 * requires grad too, so both inputs get gradients):
 *   record     building the chain with grad mode on, per node
 *   no-grad    the same chain under no-grad (same kernels and result
 *              tensors, nothing recorded): record − no-grad is what
 *              recording adds
 *   backward   ag_backward over the chain, per node: each node's
 *              first-order kernel writing into the inputs' gradient
 *              buffers (an intermediate's buffer is made on first use)
 *   reset      zero_grad of the leaves + ag_tape_reset, per node
 *
 * Options: --results FILE, --quick. */
#include "bench.h"

#include <autograd/autograd.h>

#include <stdlib.h>
#include <string.h>

enum { N = 10000 };

typedef enum { OP_ADD, OP_MUL, OP_TANH } op_kind;
static const char *OP_NAMES[] = {"add", "mul", "tanh"};

static ag_tensor *chain(op_kind op, ag_tensor *x, ag_tensor *c)
{
    ag_tensor *y = x;
    for (int i = 0; i < N; i++) {
        switch (op) {
        case OP_ADD: y = ag_add(y, c); break;
        case OP_MUL: y = ag_mul(y, c); break;
        case OP_TANH: y = ag_tanh(y); break;
        }
    }
    return y;
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, NULL, NULL);
    int reps = o.quick ? 5 : 31, warmup = 4; /* the arenas settle by the fourth */
    printf("== Tape overhead: chains of %d nodes on tiny tensors (f64); ns per node, median "
           "[min, max] of %d repetitions ==\n",
           N, reps);
    printf("  %-5s %-6s %-22s %-22s %-22s %-22s %s\n", "op", "numel", "record", "no-grad",
           "backward", "zero_grad+reset", "allocs/iter");
    double *tr = malloc(sizeof(double) * (size_t)reps), *tn = malloc(sizeof(double) * (size_t)reps),
           *tb = malloc(sizeof(double) * (size_t)reps), *tz = malloc(sizeof(double) * (size_t)reps);
    for (int op = OP_ADD; op <= OP_TANH; op++) {
        for (int numel = 1; numel <= 4; numel += 3) {
            /* numel 1 is a 0-d tensor (a scalar, as micrograd's); 4 a vector */
            int ndim = numel == 1 ? 0 : 1;
            int64_t shape[1] = {numel};
            /* c = 1 keeps mul's chain finite; 0.5 keeps tanh's away from 0. */
            ag_tensor *x = ag_full(AG_F64, ndim, shape, 0.5);
            ag_tensor *c = ag_full(AG_F64, ndim, shape, op == OP_MUL ? 1.0 : 1e-4);
            ag_tensor *seed = ag_ones(AG_F64, ndim, shape);
            bench_check(x && c && seed && ag_set_requires_grad(x, true) &&
                            ag_set_requires_grad(c, true),
                        "leaves");
            size_t allocs = 0;
            for (int r = -warmup; r < reps; r++) {
                size_t a0 = ag_alloc_count();
                uint64_t t0 = bench_now_ns();
                ag_tensor *y = chain((op_kind)op, x, c);
                uint64_t t1 = bench_now_ns();
                bench_check(y && ag_backward_seed(y, seed), "chain backward");
                uint64_t t2 = bench_now_ns();
                ag_zero_grad(x);
                ag_zero_grad(c);
                ag_tape_reset(NULL);
                uint64_t t3 = bench_now_ns();
                bool prev = ag_no_grad_begin();
                uint64_t t4 = bench_now_ns();
                ag_tensor *z = chain((op_kind)op, x, c);
                uint64_t t5 = bench_now_ns();
                ag_grad_mode_set(prev);
                bench_check(z != NULL, "no-grad chain");
                ag_tape_reset(NULL);
                if (r < 0)
                    continue;
                allocs = ag_alloc_count() - a0;
                tr[r] = (double)(t1 - t0) / N;
                tb[r] = (double)(t2 - t1) / N;
                tz[r] = (double)(t3 - t2) / N;
                tn[r] = (double)(t5 - t4) / N;
            }
            bench_stats sr = bench_summarize(tr, (size_t)reps), sn = bench_summarize(tn, (size_t)reps),
                        sb = bench_summarize(tb, (size_t)reps), sz = bench_summarize(tz, (size_t)reps);
            char cell[4][32];
            bench_stats *all[4] = {&sr, &sn, &sb, &sz};
            static const char *phase[4] = {"record", "nograd", "backward", "zero_reset"};
            for (int p = 0; p < 4; p++) {
                snprintf(cell[p], sizeof cell[p], "%.1f [%.1f, %.1f]", all[p]->median, all[p]->min,
                         all[p]->max);
                char f[128];
                snprintf(f, sizeof f, "bench=tape impl=engine op=%s numel=%d phase=%s",
                         OP_NAMES[op], numel, phase[p]);
                bench_result(f, *all[p], "ns_per_node");
            }
            printf("  %-5s %-6d %-22s %-22s %-22s %-22s %zu\n", OP_NAMES[op], numel, cell[0], cell[1],
                   cell[2], cell[3], allocs);
            ag_tensor_free(x);
            ag_tensor_free(c);
            ag_tensor_free(seed);
        }
    }
    free(tr), free(tn), free(tb), free(tz);
    bench_results_close();
    ag_shutdown();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* bench_ddp.c — data-parallel training steps over MPI (autograd/ddp.h):
 *
 *   mpirun -np 1 bench_ddp [--quick]      mpirun -np 2 bench_ddp [--quick]
 *
 * Models (f32, Adam, cross-entropy, random data):
 *   mlp    784-256-128-10 ReLU (bench_mlp.c's standard shape)
 *   lenet  examples/cnn_fashion.c's CNN (bench_conv.c's lenet)
 * each at a global batch of 64 shared over the ranks (strong scaling: what
 * N ranks buy on one problem) and at 64 rows per rank (weak scaling: the
 * global batch grows with N).
 *
 * Printed per case: steps per second (the mean over the timed steps of the
 * slowest rank's step, which is what the run advances at), the gradient
 * bytes each rank reduces per step and the buckets, and the overlap: `comm`
 * is the time of the step's reductions on their own (ag_ddp_wait with no
 * backward before it: every bucket starts and is waited for there), `wait`
 * the time a training step still blocks in ag_ddp_wait after its backward
 * sweep, and hidden = 1 - wait / comm, the share of the communication the
 * sweep covered. With one rank there is nothing to send. */
#include <autograd/autograd.h>
#include <autograd/ddp.h>

#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, world;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_ddp: rank %d: %s: %s\n", rank, what, ag_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

typedef struct model {
    const char *name;
    ag_mlp *mlp;
    ag_sequential *seq;
    ag_params *params;
    int ndim;
    int64_t shape[4]; /* of one row */
} model;

static model make_model(const char *name)
{
    model m = {.name = name};
    if (strcmp(name, "mlp") == 0) {
        ag_rng rng;
        ag_rng_seed(&rng, 1);
        m.mlp = ag_mlp_new(4, (int64_t[]){784, 256, 128, 10}, AG_ACT_RELU, AG_F32, &rng);
        check(m.mlp != NULL, "mlp");
        m.params = m.mlp->params;
        m.ndim = 2;
        m.shape[1] = 784;
    } else {
        ag_sequential *s = ag_sequential_new(AG_F32, 42);
        ag_conv_opts pad2 = ag_conv_defaults();
        pad2.padding[0] = pad2.padding[1] = 2;
        check(s && ag_seq_conv2d(s, 1, 16, 5, &pad2) && ag_seq_activation(s, AG_ACT_RELU) &&
                  ag_seq_max_pool2d(s, 2, 2) && ag_seq_conv2d(s, 16, 32, 5, NULL) &&
                  ag_seq_activation(s, AG_ACT_RELU) && ag_seq_max_pool2d(s, 2, 2) &&
                  ag_seq_flatten(s) && ag_seq_linear(s, 800, 120) &&
                  ag_seq_activation(s, AG_ACT_RELU) && ag_seq_linear(s, 120, 84) &&
                  ag_seq_activation(s, AG_ACT_RELU) && ag_seq_linear(s, 84, 10),
              "lenet");
        m.seq = s;
        m.params = ag_sequential_params(s);
        m.ndim = 4;
        m.shape[1] = 1;
        m.shape[2] = 28;
        m.shape[3] = 28;
    }
    return m;
}

static ag_tensor *forward(const model *m, ag_tensor *X)
{
    return m->mlp ? ag_mlp_forward(m->mlp, X) : ag_sequential_forward(m->seq, X);
}

static void free_model(model *m)
{
    if (m->mlp)
        ag_mlp_free(m->mlp);
    else
        ag_sequential_free(m->seq);
}

static void run(const char *name, int64_t global, bool quick)
{
    model m = make_model(name);
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = ag_optim_new(m.params, &oc);
    check(opt != NULL, "optim");
    ag_ddp *ddp = ag_ddp_new(m.params, opt, NULL);
    check(ddp != NULL, "ddp_new");
    int64_t lo = rank * global / world, hi = (rank + 1) * global / world, rows = hi - lo;
    int64_t shape[4];
    memcpy(shape, m.shape, sizeof shape);
    shape[0] = rows;
    ag_rng rng;
    ag_rng_seed(&rng, 7 + (uint64_t)rank);
    ag_tensor *X = ag_rand_uniform(AG_F32, m.ndim, shape, 0, 1, &rng);
    ag_tensor *y = ag_zeros(AG_I64, 1, (int64_t[]){rows});
    check(X && y, "data");
    for (int64_t i = 0; i < rows; i++)
        ag_set_flat(y, (size_t)i, (double)(ag_rng_next(&rng) % 10));
    bool mlp = m.mlp != NULL;
    int warm = quick ? 3 : 10, steps = quick ? (mlp ? 20 : 5) : (mlp ? 200 : 40);

    /* The reductions alone: no backward, so every bucket starts in the wait. */
    for (int i = 0; i < warm + steps; i++) {
        if (i == warm)
            MPI_Barrier(MPI_COMM_WORLD);
        check(ag_ddp_wait(ddp), "wait");
    }
    ag_ddp_stats s0;
    ag_ddp_stats_get(ddp, &s0);
    /* ... measured again from here, over the timed steps only. */
    double comm = 0;
    for (int i = 0; i < steps; i++) {
        double t0 = MPI_Wtime();
        check(ag_ddp_wait(ddp), "wait");
        comm += MPI_Wtime() - t0;
    }
    comm /= steps;

    double total = 0;
    ag_ddp_stats a, b;
    for (int i = 0; i < warm + steps; i++) {
        if (i == warm) {
            MPI_Barrier(MPI_COMM_WORLD);
            ag_ddp_stats_get(ddp, &a);
        }
        double t0 = MPI_Wtime();
        ag_optim_zero_grad(opt);
        ag_tensor *loss = ag_mul_scalar(ag_cross_entropy(forward(&m, X), y, AG_REDUCE_SUM),
                                        1.0 / (double)global);
        check(ag_ddp_backward(ddp, loss), "backward");
        check(ag_ddp_step(ddp), "step");
        ag_tape_reset(NULL);
        double dt = MPI_Wtime() - t0, slowest = dt;
        MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (i >= warm)
            total += slowest;
    }
    ag_ddp_stats_get(ddp, &b);
    double wait = (b.wait_seconds - a.wait_seconds) / steps;
    double bw = (b.backward_seconds - a.backward_seconds) / steps;
    double hidden = world > 1 && comm > 0 ? 1 - wait / comm : 0;
    if (hidden < 0)
        hidden = 0;
    /* Rank 0 prints the largest comm and wait over the ranks. */
    double mx[2] = {comm, wait}, out[2];
    MPI_Reduce(mx, out, 2, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("%-6s ranks %d  batch %3lld global (%3lld per rank)  %8.1f steps/s  %7.0f "
               "samples/s  %7zu B/step in %d buckets  backward %7.3f ms  comm %7.3f ms  wait "
               "%7.3f ms  hidden %3.0f%%  started in sweep %3.0f%%\n",
               name, world, (long long)global, (long long)rows, steps / total,
               (double)global * steps / total, b.bytes_per_step, b.n_buckets, 1e3 * bw,
               1e3 * out[0], 1e3 * out[1], 100 * hidden,
               100.0 * (double)(b.started_in_backward - a.started_in_backward) /
                   (double)(b.buckets_reduced - a.buckets_reduced));
    (void)s0;
    ag_tensor_free(X);
    ag_tensor_free(y);
    ag_ddp_free(ddp);
    ag_optim_free(opt);
    free_model(&m);
}

int main(int argc, char **argv)
{
    check(ag_ddp_init(&argc, &argv), "init");
    rank = ag_ddp_rank();
    world = ag_ddp_world_size();
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (rank == 0)
        printf("bench_ddp: %d rank%s, OPENBLAS_NUM_THREADS=%s\n", world, world > 1 ? "s" : "",
               getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    const char *models[] = {"mlp", "lenet"};
    for (int k = 0; k < 2; k++) {
        run(models[k], 64, quick);          /* strong scaling */
        run(models[k], 64 * world, quick);  /* weak scaling */
    }
    ag_shutdown();
    ag_ddp_finalize();
    return 0;
}

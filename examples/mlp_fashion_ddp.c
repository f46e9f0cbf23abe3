/* SPDX-License-Identifier: MIT */
/* mlp_fashion_ddp.c — examples/mlp_fashion.c's 784-256-128-10 ReLU MLP on
 * Fashion-MNIST, trained data-parallel over MPI (autograd/ddp.h):
 *
 *   mpirun -np 2 mlp_fashion_ddp [dataset-dir] [epochs] [global batch]
 *
 * Every rank loads the data and builds the model; ag_ddp_new gives all of
 * them rank 0's weights; each global batch of 128 is shared out over the
 * ranks, and the gradients are summed in rank order (the deterministic
 * mode), so a run is the same bit for bit every time with the same number
 * of ranks. Rank 0 prints the progress and the test accuracy (about 88%
 * after a few epochs, as the single-process example). Built only when the
 * library was built with MPI. */
#include <autograd/autograd.h>
#include <autograd/ddp.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static ag_tensor *logits(void *m, ag_tensor *X)
{
    return ag_mlp_forward(m, X);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (!ag_ddp_init(&argc, &argv)) {
        fprintf(stderr, "mlp_fashion_ddp: %s\n", ag_last_error());
        return 1;
    }
    int rank = ag_ddp_rank(), world = ag_ddp_world_size();
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 3;
    int64_t batch = argc > 3 ? atoll(argv[3]) : 128;
    char ti[1024], tl[1024], vi[1024], vl[1024];
    snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(vi, sizeof vi, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(vl, sizeof vl, "%s/t10k-labels-idx1-ubyte.gz", dir);
    ag_dataset *train = ag_idx_load(ti, tl, AG_F32);
    ag_dataset *test = train ? ag_idx_load(vi, vl, AG_F32) : NULL;

    /* The same seed on every rank; rank 0's weights win anyway. */
    ag_rng rng;
    ag_rng_seed(&rng, 2024);
    ag_mlp *mlp = test ? ag_mlp_new(4, (int64_t[]){784, 256, 128, 10}, AG_ACT_RELU, AG_F32, &rng)
                       : NULL;
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = mlp ? ag_optim_new(mlp->params, &oc) : NULL;
    ag_ddp_batches *b = opt ? ag_ddp_batches_new(train, batch, true, 5, rank, world) : NULL;
    ag_ddp_options o = ag_ddp_defaults();
    o.deterministic = true;
    /* A rank that cannot load the data exits before the first collective;
     * mpirun then stops the others, so none waits for it. */
    if (!b) {
        fprintf(stderr, "mlp_fashion_ddp: rank %d: %s%s\n", rank, ag_last_error(),
                train ? "" : " (apt-get install dataset-fashion-mnist)");
        return 1;
    }
    ag_ddp *ddp = ag_ddp_new(mlp->params, opt, &o);
    if (!ddp) {
        fprintf(stderr, "mlp_fashion_ddp: rank %d: %s\n", rank, ag_last_error());
        return 1;
    }
    if (rank == 0)
        printf("Fashion-MNIST: %lld training and %lld test images; %d ranks, global batch "
               "%lld (%lld per rank)\n", (long long)train->n, (long long)test->n, world,
               (long long)batch, (long long)(batch / world));
    int status = 0;
    for (int e = 1; e <= epochs && status == 0; e++) {
        double t0 = now(), loss_sum = 0;
        int64_t steps = 0, total = ag_ddp_batches_count(b);
        ag_tensor *X, *y;
        int64_t n_global;
        while (ag_ddp_batches_next(b, &X, &y, &n_global)) {
            ag_optim_zero_grad(opt);
            if (ag_dim(X, 0) > 0) {
                /* This rank's share of the global batch's mean loss. */
                ag_tensor *loss = ag_mul_scalar(ag_cross_entropy(logits(mlp, X), y, AG_REDUCE_SUM),
                                                1.0 / (double)n_global);
                if (loss)
                    loss_sum += ag_item(loss);
                ag_ddp_backward(ddp, loss);
            }
            if (!ag_ddp_step(ddp)) {
                fprintf(stderr, "mlp_fashion_ddp: rank %d: epoch %d step %lld: %s\n", rank, e,
                        (long long)steps, ag_last_error());
                status = 1;
                break;
            }
            ag_tape_reset(NULL);
            steps++;
            if (rank == 0 && steps % 100 == 0) {
                printf("\r  epoch %d: %lld/%lld steps", e, (long long)steps, (long long)total);
                fflush(stdout);
            }
        }
        if (status)
            break;
        double secs = now() - t0, acc = NAN;
        /* Every rank holds the same weights: rank 0 alone evaluates, and
         * the others wait for its verdict. */
        bool ok = rank != 0 || ag_evaluate(mlp, NULL, logits, test, 1000, &acc, NULL);
        /* The ranks' shares of each batch's mean loss add up to it. */
        if (!ag_ddp_agree(ddp, ok) || !ag_ddp_sum(ddp, &loss_sum, 1)) {
            fprintf(stderr, "mlp_fashion_ddp: rank %d: %s\n", rank, ag_last_error());
            status = 1;
            break;
        }
        if (rank == 0)
            printf("\r  epoch %d: training loss %.4f, test accuracy %.2f%%, %.1f s (%.0f "
                   "images/s)\n", e, loss_sum / (double)steps, 100 * acc, secs,
                   (double)train->n / secs);
    }
    ag_ddp_free(ddp);
    ag_ddp_batches_free(b);
    ag_optim_free(opt);
    ag_mlp_free(mlp);
    ag_dataset_free(train);
    ag_dataset_free(test);
    ag_shutdown();
    ag_ddp_finalize();
    return status;
}

/* SPDX-License-Identifier: MIT */
/* mlp_fashion.c — a 784-256-128-10 ReLU MLP on Fashion-MNIST with Adam.
 *
 *   mlp_fashion [dataset-dir] [epochs]
 *
 * The data comes from Debian's dataset-fashion-mnist package (the demo
 * command installs it); the dataset directory defaults to that package's.
 * Prints a progress bar on a terminal, the seconds per epoch and the test
 * accuracy (about 88-89%). */
#include <autograd/autograd.h>

#include <stdio.h>
#include <stdlib.h>

static ag_tensor *logits(void *m, ag_tensor *X)
{
    return ag_mlp_forward(m, X);
}

static ag_tensor *loss(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)targets;
    return ag_cross_entropy(logits(m, X), y, AG_REDUCE_MEAN);
}

static int fail(const char *what)
{
    fprintf(stderr, "mlp_fashion: %s: %s\n", what, ag_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 12;
    char ti[1024], tl[1024], vi[1024], vl[1024];
    snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(vi, sizeof vi, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(vl, sizeof vl, "%s/t10k-labels-idx1-ubyte.gz", dir);
    ag_dataset *train = ag_idx_load(ti, tl, AG_F32);
    ag_dataset *test = train ? ag_idx_load(vi, vl, AG_F32) : NULL;
    if (!test)
        return fail("loading Fashion-MNIST (apt-get install dataset-fashion-mnist)");
    printf("Fashion-MNIST: %lld training and %lld test images\n", (long long)train->n,
           (long long)test->n);

    ag_rng rng;
    ag_rng_seed(&rng, 2024);
    ag_mlp *mlp = ag_mlp_new(4, (int64_t[]){784, 256, 128, 10}, AG_ACT_RELU, AG_F32, &rng);
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = mlp ? ag_optim_new(mlp->params, &oc) : NULL;
    if (!opt)
        return fail("making the model");
    ag_epoch_stats st;
    ag_train_config cfg = {.epochs = epochs, .batch_size = 128, .seed = 5, .progress = stdout};
    if (!ag_train(mlp, loss, logits, opt, train, test, &cfg, &st))
        return fail("training");
    printf("test accuracy: %.2f%% (%.1f s per epoch)\n", 100 * st.test_accuracy, st.seconds);

    ag_optim_free(opt);
    ag_mlp_free(mlp);
    ag_dataset_free(train);
    ag_dataset_free(test);
    ag_shutdown();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* cnn_fashion.c — a LeNet-style CNN on Fashion-MNIST with Adam.
 *
 *   cnn_fashion [dataset-dir] [epochs]
 *
 * The network is PyTorch's
 *
 *     nn.Sequential(Conv2d(1, C1, 5, padding=2), ReLU(), MaxPool2d(2),
 *                   Conv2d(C1, C2, 5), ReLU(), MaxPool2d(2), Flatten(),
 *                   Linear(C2*5*5, 120), ReLU(), Linear(120, 84), ReLU(),
 *                   Linear(84, 10))
 *
 * LeNet-5's shape with wider convolutions (16 and 32 maps instead of 6 and
 * 16), trained with Adam whose rate decays on a cosine over the run: the
 * decay is worth about half a point of accuracy here. ag_train puts the
 * store in evaluation mode while it evaluates (nothing here depends on the
 * mode, but a batch norm or dropout layer added to the stack would).
 *
 * built with ag_sequential, so its parameters carry nn.Sequential's names
 * ("0.weight", "3.bias", ...). The data comes from Debian's
 * dataset-fashion-mnist package (the demo command installs it). Prints a
 * progress bar on a terminal, the seconds per epoch and the test accuracy. */
#include <autograd/autograd.h>

#include <stdio.h>
#include <stdlib.h>

enum { C1 = 16, C2 = 32 };

/* The loader gives rows of 784 pixels; the network takes (N, 1, 28, 28). */
static ag_tensor *logits(void *m, ag_tensor *X)
{
    ag_tensor *images = ag_reshape(X, 4, (int64_t[]){ag_dim(X, 0), 1, 28, 28});
    return ag_sequential_forward(m, images);
}

static ag_tensor *loss(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)targets;
    return ag_cross_entropy(logits(m, X), y, AG_REDUCE_MEAN);
}

static int fail(const char *what)
{
    fprintf(stderr, "cnn_fashion: %s: %s\n", what, ag_last_error());
    return 1;
}

static bool build(ag_sequential *m)
{
    ag_conv_opts pad2 = ag_conv_defaults();
    pad2.padding[0] = pad2.padding[1] = 2;
    return ag_seq_conv2d(m, 1, C1, 5, &pad2) && ag_seq_activation(m, AG_ACT_RELU) &&
           ag_seq_max_pool2d(m, 2, 2) && ag_seq_conv2d(m, C1, C2, 5, NULL) &&
           ag_seq_activation(m, AG_ACT_RELU) && ag_seq_max_pool2d(m, 2, 2) && ag_seq_flatten(m) &&
           ag_seq_linear(m, C2 * 5 * 5, 120) && ag_seq_activation(m, AG_ACT_RELU) &&
           ag_seq_linear(m, 120, 84) && ag_seq_activation(m, AG_ACT_RELU) &&
           ag_seq_linear(m, 84, 10);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 8;
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

    ag_sequential *m = ag_sequential_new(AG_F32, 2024);
    if (!m || !build(m))
        return fail("making the model");
    printf("LeNet-style CNN: %d layers, %zu parameters\n", ag_sequential_len(m),
           ag_params_numel(ag_sequential_params(m)));
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = ag_optim_new(ag_sequential_params(m), &oc);
    if (!opt)
        return fail("making the optimizer");
    ag_epoch_stats st;
    int64_t steps = (train->n + 63) / 64 * epochs;
    ag_schedule_config cosine = {.kind = AG_SCHEDULE_COSINE, .base_lr = oc.lr,
                                 .total = (uint64_t)steps, .min_lr = 0};
    ag_train_config cfg = {.epochs = epochs, .batch_size = 64, .seed = 5, .schedule = &cosine,
                           .progress = stdout, .params = ag_sequential_params(m)};
    if (!ag_train(m, loss, logits, opt, train, test, &cfg, &st))
        return fail("training");
    printf("test accuracy: %.2f%% (%.1f s per epoch)\n", 100 * st.test_accuracy, st.seconds);

    ag_optim_free(opt);
    ag_sequential_free(m);
    ag_dataset_free(train);
    ag_dataset_free(test);
    ag_shutdown();
    return 0;
}

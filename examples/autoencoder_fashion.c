/* SPDX-License-Identifier: MIT */
/* autoencoder_fashion.c — a convolutional autoencoder on Fashion-MNIST.
 *
 *   autoencoder_fashion [dataset-dir] [out.png] [epochs]
 *
 * The encoder halves the picture twice with strided convolutions
 * (1x28x28 -> 16x14x14 -> 8x7x7, a code of 392 numbers for 784 pixels);
 * the decoder doubles it back with
 * transposed convolutions (output_padding 1 gives 14 and 28 exactly), and
 * its last layer's logits are compared with the pixels by binary cross
 * entropy, as the pixels lie in [0, 1]. Trained with ag_train, which takes
 * any loss: there is no accuracy here, only the reconstruction loss.
 * Writes a PNG (default build/autoencoder_fashion.png): 16 test images in
 * the top two rows, their reconstructions in the two rows below. */
#include <autograd/autograd.h>

#include <stdio.h>
#include <stdlib.h>

static ag_tensor *reconstruct(void *m, ag_tensor *X)
{
    ag_tensor *images = ag_reshape(X, 4, (int64_t[]){ag_dim(X, 0), 1, 28, 28});
    return ag_sequential_forward(m, images); /* logits, (N, 1, 28, 28) */
}

static ag_tensor *loss(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)y, (void)targets;
    ag_tensor *images = ag_reshape(X, 4, (int64_t[]){ag_dim(X, 0), 1, 28, 28});
    return ag_bce_with_logits(reconstruct(m, X), images, AG_REDUCE_MEAN);
}

static int fail(const char *what)
{
    fprintf(stderr, "autoencoder_fashion: %s: %s\n", what, ag_last_error());
    return 1;
}

static bool build(ag_sequential *m)
{
    ag_conv_opts down = ag_conv_defaults(), up = ag_conv_defaults();
    down.stride[0] = down.stride[1] = 2;
    down.padding[0] = down.padding[1] = 1;
    up = down;
    up.output_padding[0] = up.output_padding[1] = 1;
    return ag_seq_conv2d(m, 1, 16, 3, &down) && ag_seq_activation(m, AG_ACT_RELU) &&
           ag_seq_conv2d(m, 16, 8, 3, &down) && ag_seq_activation(m, AG_ACT_RELU) &&
           ag_seq_conv_transpose2d(m, 8, 16, 3, &up) && ag_seq_activation(m, AG_ACT_RELU) &&
           ag_seq_conv_transpose2d(m, 16, 1, 3, &up);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    const char *png = argc > 2 ? argv[2] : "build/autoencoder_fashion.png";
    int epochs = argc > 3 ? atoi(argv[3]) : 3;
    char ti[1024], tl[1024], vi[1024], vl[1024];
    snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(vi, sizeof vi, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(vl, sizeof vl, "%s/t10k-labels-idx1-ubyte.gz", dir);
    ag_dataset *train = ag_idx_load(ti, tl, AG_F32);
    ag_dataset *test = train ? ag_idx_load(vi, vl, AG_F32) : NULL;
    if (!test)
        return fail("loading Fashion-MNIST (apt-get install dataset-fashion-mnist)");

    ag_sequential *m = ag_sequential_new(AG_F32, 11);
    if (!m || !build(m))
        return fail("making the model");
    printf("convolutional autoencoder: %zu parameters, an 8x7x7 code for 784 pixels\n",
           ag_params_numel(ag_sequential_params(m)));
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = ag_optim_new(ag_sequential_params(m), &oc);
    if (!opt)
        return fail("making the optimizer");
    ag_epoch_stats st;
    ag_train_config cfg = {.epochs = epochs, .batch_size = 64, .seed = 3, .progress = stdout};
    if (!ag_train(m, loss, NULL, opt, train, test, &cfg, &st))
        return fail("training");
    printf("test reconstruction loss: %.4f (binary cross entropy per pixel)\n", st.test_loss);

    /* 16 test images over their reconstructions. */
    ag_tensor *first = ag_slice(test->X, 0, 0, 16, 1);
    ag_tensor *images = ag_reshape(first, 4, (int64_t[]){16, 1, 28, 28});
    bool grad = ag_no_grad_begin();
    ag_tensor *recon = ag_sigmoid(reconstruct(m, first));
    ag_grad_mode_set(grad);
    ag_tensor *both = ag_concat(2, (ag_tensor *[]){images, recon}, 0);
    if (!both || !ag_save_png_grid(png, both, 8, 2, 3, 0.0, 1.0))
        return fail("writing the picture");
    printf("wrote %s: rows 1-2 test images, rows 3-4 their reconstructions\n", png);

    ag_tape_reset(ag_tape_current());
    ag_optim_free(opt);
    ag_sequential_free(m);
    ag_dataset_free(train);
    ag_dataset_free(test);
    ag_shutdown();
    return 0;
}

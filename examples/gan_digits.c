/* SPDX-License-Identifier: MIT */
/* gan_digits.c — a generative adversarial network (Goodfellow et al. 2014)
 * on the 8x8 handwritten digits, two MLPs written as expressions.
 *
 *   gan_digits [data-dir] [out.png] [steps]
 *
 * The generator maps z ~ N(0, I) (32 numbers) through 32-128-256-64 with
 * leaky ReLUs and a tanh to a picture in [−1, 1]; the discriminator maps a
 * picture through 64-128-64-1 to the logit of "real". Each step trains the
 * discriminator on a batch of real digits (label 1) and of generated ones
 * (label 0, detached: the generator does not move), then the generator to
 * make the discriminator say 1 (the non-saturating loss). Adam with lr
 * 2e-4 and β₁ = 0.5, as DCGAN. Prints both losses as it goes and writes a
 * grid of 64 samples (default build/gan_digits.png), each pixel drawn 4x4. */
#include <autograd/autograd.h>

#include <stdio.h>
#include <stdlib.h>

enum { Z = 32, BATCH = 64 };

static ag_tensor *generator(const ag_params *g, ag_tensor *z)
{
    ag_tensor *h = ag_leaky_relu(ag_linear(g, "fc1", z), 0.2);
    h = ag_leaky_relu(ag_linear(g, "fc2", h), 0.2);
    return ag_tanh(ag_linear(g, "fc3", h));
}

static ag_tensor *discriminator(const ag_params *d, ag_tensor *x)
{
    ag_tensor *h = ag_leaky_relu(ag_linear(d, "fc1", x), 0.2);
    h = ag_leaky_relu(ag_linear(d, "fc2", h), 0.2);
    return ag_linear(d, "fc3", h);
}

static int fail(const char *what)
{
    fprintf(stderr, "gan_digits: %s: %s\n", what, ag_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/digits8x8.csv", argc > 1 ? argv[1] : "examples/data");
    const char *png = argc > 2 ? argv[2] : "build/gan_digits.png";
    int steps = argc > 3 ? atoi(argv[3]) : 20000;
    ag_dataset *digits = ag_csv_load(path, &(ag_csv_options){.label_column = "digit", .dtype = AG_F32});
    if (!digits)
        return fail("loading the digits");
    /* Pixels 0..16 to [−1, 1], the generator's tanh range. */
    ag_tensor *X = ag_clone(digits->X);
    float *px = ag_data(X);
    for (size_t i = 0; i < ag_numel(X); i++)
        px[i] = px[i] / 8.0f - 1.0f;
    printf("8x8 digits: %lld images\n", (long long)digits->n);

    ag_rng rng;
    ag_rng_seed(&rng, 21);
    ag_params *g = ag_params_new(), *d = ag_params_new();
    if (!g || !d || !ag_linear_init(g, "fc1", Z, 128, AG_F32, AG_INIT_HE_UNIFORM, &rng) ||
        !ag_linear_init(g, "fc2", 128, 256, AG_F32, AG_INIT_HE_UNIFORM, &rng) ||
        !ag_linear_init(g, "fc3", 256, 64, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng) ||
        !ag_linear_init(d, "fc1", 64, 128, AG_F32, AG_INIT_HE_UNIFORM, &rng) ||
        !ag_linear_init(d, "fc2", 128, 64, AG_F32, AG_INIT_HE_UNIFORM, &rng) ||
        !ag_linear_init(d, "fc3", 64, 1, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng))
        return fail("making the networks");
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    oc.lr = 2e-4;
    oc.beta1 = 0.5;
    ag_optim *opt_g = ag_optim_new(g, &oc), *opt_d = ag_optim_new(d, &oc);
    ag_tensor *ones = ag_ones(AG_F32, 2, (int64_t[]){BATCH, 1});
    ag_tensor *zeros = ag_zeros(AG_F32, 2, (int64_t[]){BATCH, 1});
    ag_tensor *pick = ag_zeros(AG_I64, 1, (int64_t[]){BATCH});
    if (!opt_g || !opt_d || !ones || !zeros || !pick)
        return fail("making the optimizers");

    double ld_avg = 0, lg_avg = 0;
    for (int step = 1; step <= steps; step++) {
        for (int i = 0; i < BATCH; i++)
            ag_set_flat(pick, (size_t)i, (double)(ag_rng_next(&rng) % (uint64_t)digits->n));
        ag_tensor *real = ag_index_select(X, 0, pick);

        /* The discriminator: real digits are 1, generated ones 0. */
        ag_tensor *fake = ag_detach(generator(g, ag_randn(AG_F32, 2, (int64_t[]){BATCH, Z}, &rng)));
        ag_tensor *loss_d = ag_add(ag_bce_with_logits(discriminator(d, real), ones, AG_REDUCE_MEAN),
                                   ag_bce_with_logits(discriminator(d, fake), zeros, AG_REDUCE_MEAN));
        if (!ag_backward(loss_d) || !ag_optim_step(opt_d))
            return fail("the discriminator's step");
        ag_optim_zero_grad(opt_d);

        /* The generator: make the discriminator say 1. */
        ag_tensor *made = generator(g, ag_randn(AG_F32, 2, (int64_t[]){BATCH, Z}, &rng));
        ag_tensor *loss_g = ag_bce_with_logits(discriminator(d, made), ones, AG_REDUCE_MEAN);
        if (!ag_backward(loss_g) || !ag_optim_step(opt_g))
            return fail("the generator's step");
        ag_optim_zero_grad(opt_g);
        ag_optim_zero_grad(opt_d); /* the generator's loss reached the discriminator too */

        ld_avg += ag_item(loss_d);
        lg_avg += ag_item(loss_g);
        if (step % 1000 == 0) {
            printf("step %5d: discriminator loss %.3f, generator loss %.3f (means of the last 1000)\n",
                   step, ld_avg / 1000, lg_avg / 1000);
            fflush(stdout);
            ld_avg = lg_avg = 0;
        }
        ag_tape_reset(ag_tape_current());
    }

    bool grad = ag_no_grad_begin();
    ag_tensor *z = ag_randn(AG_F32, 2, (int64_t[]){64, Z}, &rng);
    ag_tensor *samples = ag_reshape(generator(g, z), 3, (int64_t[]){64, 8, 8});
    ag_grad_mode_set(grad);
    if (!samples || !ag_save_png_grid(png, samples, 8, 1, 4, -1.0, 1.0))
        return fail("writing the picture");
    printf("wrote %s: 64 generated digits\n", png);

    ag_tape_reset(ag_tape_current());
    ag_tensor_free(ones);
    ag_tensor_free(zeros);
    ag_tensor_free(pick);
    ag_tensor_free(X);
    ag_optim_free(opt_g);
    ag_optim_free(opt_d);
    ag_params_free(g);
    ag_params_free(d);
    ag_dataset_free(digits);
    ag_shutdown();
    return 0;
}

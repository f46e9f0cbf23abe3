/* SPDX-License-Identifier: MIT */
/* vae_fashion.c — a variational autoencoder on Fashion-MNIST (Kingma &
 * Welling 2014), written as an expression.
 *
 *   vae_fashion [dataset-dir] [out-prefix] [epochs]
 *
 * Encoder 784-400-(20, 20) gives the mean μ and the log-variance of
 * q(z|x); z = μ + σ·ε with ε ~ N(0, 1) drawn by ag_randn (the
 * reparameterisation: the gradient flows through μ and σ, not through the
 * draw); decoder 20-400-784 gives the logits of p(x|z), a Bernoulli per
 * pixel. The loss is the negative ELBO per image:
 *
 *     −ELBO = Σ BCE(logits, x) + KL(q(z|x) ‖ N(0, I)),
 *     KL = −½ Σ (1 + log σ² − μ² − σ²).
 *
 * Trained with ag_train, which takes any loss. Prints the test set's ELBO
 * (one draw of ε per image) and writes two PNGs: <prefix>_recon.png (16
 * test images over their reconstructions) and <prefix>_samples.png (64
 * decodings of z drawn from the prior). */
#include <autograd/autograd.h>

#include <stdio.h>
#include <stdlib.h>

enum { LATENT = 20, HIDDEN = 400 };

typedef struct vae {
    ag_params *p;
    ag_rng rng; /* ε */
} vae;

static ag_tensor *decode(const vae *m, ag_tensor *z)
{
    return ag_linear(m->p, "fc4", ag_relu(ag_linear(m->p, "fc3", z)));
}

/* The negative ELBO, averaged over the batch. */
static ag_tensor *loss(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)y, (void)targets;
    vae *m = model;
    ag_tensor *h = ag_relu(ag_linear(m->p, "fc1", X));
    ag_tensor *mu = ag_linear(m->p, "fc_mu", h);
    ag_tensor *logvar = ag_linear(m->p, "fc_logvar", h);
    ag_tensor *sigma = ag_exp(ag_mul_scalar(logvar, 0.5));
    ag_tensor *eps = ag_randn(ag_tensor_dtype(X), 2, (int64_t[]){ag_dim(X, 0), LATENT}, &m->rng);
    ag_tensor *z = ag_add(mu, ag_mul(sigma, eps));
    ag_set_label(z, "z");
    ag_tensor *rec = ag_bce_with_logits(decode(m, z), X, AG_REDUCE_SUM);
    ag_tensor *kl_terms = ag_sub(ag_sub(ag_add_scalar(logvar, 1.0), ag_square(mu)), ag_exp(logvar));
    ag_tensor *kl = ag_mul_scalar(ag_sum(kl_terms), -0.5);
    return ag_mul_scalar(ag_add(rec, kl), 1.0 / (double)ag_dim(X, 0));
}

static int fail(const char *what)
{
    fprintf(stderr, "vae_fashion: %s: %s\n", what, ag_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    const char *prefix = argc > 2 ? argv[2] : "build/vae_fashion";
    int epochs = argc > 3 ? atoi(argv[3]) : 10;
    char ti[1024], tl[1024], vi[1024], vl[1024], recon_png[1100], samples_png[1100];
    snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", dir);
    snprintf(vi, sizeof vi, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(vl, sizeof vl, "%s/t10k-labels-idx1-ubyte.gz", dir);
    snprintf(recon_png, sizeof recon_png, "%s_recon.png", prefix);
    snprintf(samples_png, sizeof samples_png, "%s_samples.png", prefix);
    ag_dataset *train = ag_idx_load(ti, tl, AG_F32);
    ag_dataset *test = train ? ag_idx_load(vi, vl, AG_F32) : NULL;
    if (!test)
        return fail("loading Fashion-MNIST (apt-get install dataset-fashion-mnist)");

    vae m = {.p = ag_params_new()};
    ag_rng init;
    ag_rng_seed(&init, 17);
    ag_rng_seed(&m.rng, 18);
    if (!m.p || !ag_linear_init(m.p, "fc1", 784, HIDDEN, AG_F32, AG_INIT_HE_UNIFORM, &init) ||
        !ag_linear_init(m.p, "fc_mu", HIDDEN, LATENT, AG_F32, AG_INIT_XAVIER_UNIFORM, &init) ||
        !ag_linear_init(m.p, "fc_logvar", HIDDEN, LATENT, AG_F32, AG_INIT_XAVIER_UNIFORM, &init) ||
        !ag_linear_init(m.p, "fc3", LATENT, HIDDEN, AG_F32, AG_INIT_HE_UNIFORM, &init) ||
        !ag_linear_init(m.p, "fc4", HIDDEN, 784, AG_F32, AG_INIT_XAVIER_UNIFORM, &init))
        return fail("making the model");
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = ag_optim_new(m.p, &oc);
    if (!opt)
        return fail("making the optimizer");
    ag_epoch_stats st;
    ag_train_config cfg = {.epochs = epochs, .batch_size = 128, .seed = 4, .progress = stdout};
    if (!ag_train(&m, loss, NULL, opt, train, test, &cfg, &st))
        return fail("training");
    printf("test ELBO: %.2f nats per image (the negative of the test loss; one draw of eps)\n",
           -st.test_loss);

    bool grad = ag_no_grad_begin();
    /* Reconstructions: the decoder at the posterior mean. */
    ag_tensor *first = ag_slice(test->X, 0, 0, 16, 1);
    ag_tensor *mu = ag_linear(m.p, "fc_mu", ag_relu(ag_linear(m.p, "fc1", first)));
    ag_tensor *recon = ag_sigmoid(decode(&m, mu));
    ag_tensor *both = ag_reshape(ag_concat(2, (ag_tensor *[]){first, recon}, 0), 3,
                                 (int64_t[]){32, 28, 28});
    /* Samples: the decoder at z drawn from the prior N(0, I). */
    ag_tensor *z = ag_randn(AG_F32, 2, (int64_t[]){64, LATENT}, &m.rng);
    ag_tensor *samples = ag_reshape(ag_sigmoid(decode(&m, z)), 3, (int64_t[]){64, 28, 28});
    ag_grad_mode_set(grad);
    if (!both || !samples || !ag_save_png_grid(recon_png, both, 8, 2, 3, 0.0, 1.0) ||
        !ag_save_png_grid(samples_png, samples, 8, 2, 3, 0.0, 1.0))
        return fail("writing the pictures");
    printf("wrote %s (rows 1-2 test images, rows 3-4 reconstructions) and %s (64 samples)\n",
           recon_png, samples_png);

    ag_tape_reset(ag_tape_current());
    ag_optim_free(opt);
    ag_params_free(m.p);
    ag_dataset_free(train);
    ag_dataset_free(test);
    ag_shutdown();
    return 0;
}

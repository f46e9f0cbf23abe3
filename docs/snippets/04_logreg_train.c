/* Maximum likelihood by gradient descent: data drawn from the Gaussian classes
 * of step 1 (Bayes values w = 2, b = -2.8473), logistic regression fitted to
 * it with the engine's gradients. */
#include <autograd/autograd.h>

#include <stdio.h>

static double mean_nll(ag_tensor *x, ag_tensor *y, ag_tensor *w, ag_tensor *b, ag_tensor **loss)
{
    ag_tensor *z = ag_add(ag_mul(x, w), b); /* log-odds w x_i + b, broadcast */
    *loss = ag_bce_with_logits(z, y, AG_REDUCE_MEAN);
    return ag_item(*loss);
}

int main(void)
{
    enum { N = 500 };
    double xs[N], ys[N];
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    for (int i = 0; i < N; i++) {
        ys[i] = ag_rng_uniform(&rng) < 0.3;                /* y ~ Bernoulli(0.3) */
        xs[i] = (ys[i] ? 2.0 : 0.0) + ag_rng_normal(&rng); /* x | y ~ N(mu_y, 1) */
    }
    ag_tensor *x = ag_from_array(AG_F64, 1, (int64_t[]){N}, xs);
    ag_tensor *y = ag_from_array(AG_F64, 1, (int64_t[]){N}, ys);
    ag_tensor *w = ag_scalar(AG_F64, 0.0), *b = ag_scalar(AG_F64, 0.0);
    ag_set_requires_grad(w, true);
    ag_set_requires_grad(b, true);

    for (int step = 0; step <= 1000; step++) {
        ag_tensor *loss;
        double value = mean_nll(x, y, w, b, &loss);
        ag_zero_grad(w);
        ag_zero_grad(b);
        if (!ag_backward(loss)) { /* also reports an error from building loss */
            fprintf(stderr, "%s\n", ag_last_error());
            return 1;
        }
        if (step == 0 || step == 10 || step == 50 || step == 200 || step == 1000)
            printf("step %4d  loss %.4f  w %.4f  b %7.4f\n", step, value, ag_item(w), ag_item(b));
        ag_sgd_update(w, 0.5); /* w <- w - 0.5 dloss/dw */
        ag_sgd_update(b, 0.5);
        ag_tape_reset(NULL);   /* frees this step's intermediates */
    }

    ag_tensor *loss, *w_true = ag_scalar(AG_F64, 2.0), *b_true = ag_scalar(AG_F64, -2.8473);
    printf("loss at the Bayes parameters (2, -2.8473): %.4f\n",
           mean_nll(x, y, w_true, b_true, &loss));

    ag_tape_reset(NULL);
    ag_tensor_free(w_true);
    ag_tensor_free(b_true);
    ag_tensor_free(x);
    ag_tensor_free(y);
    ag_tensor_free(w);
    ag_tensor_free(b);
    ag_shutdown();
    return 0;
}

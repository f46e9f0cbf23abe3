/* XOR: no line separates its classes, so logistic regression cannot fit it;
 * a 2-4-1 MLP with a tanh hidden layer can. Both train by gradient descent
 * on the same loss, the mean negative log-likelihood, with the same engine. */
#include <autograd/autograd.h>

#include <stdio.h>

int main(void)
{
    ag_tensor *X = ag_from_array(AG_F64, 2, (int64_t[]){4, 2}, (double[]){0, 0, 0, 1, 1, 0, 1, 1});
    ag_tensor *y = ag_from_array(AG_F64, 2, (int64_t[]){4, 1}, (double[]){0, 1, 1, 0});
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_mlp *mlp = ag_mlp_new(3, (int64_t[]){2, 4, 1}, AG_ACT_TANH, AG_F64, &rng);
    ag_params *logreg = ag_logreg_new(2, AG_F64);
    ag_optim_config cfg = {.kind = AG_SGD, .lr = 0.5};
    ag_optim *opt_mlp = ag_optim_new(mlp->params, &cfg);
    ag_optim *opt_lr = ag_optim_new(logreg, &cfg);

    for (int step = 0; step <= 2000; step++) {
        ag_tensor *loss_mlp = ag_bce_with_logits(ag_mlp_forward(mlp, X), y, AG_REDUCE_MEAN);
        ag_tensor *loss_lr = ag_bce_with_logits(ag_logreg_logits(logreg, X), y, AG_REDUCE_MEAN);
        ag_optim_zero_grad(opt_mlp);
        ag_optim_zero_grad(opt_lr);
        if (!loss_mlp || !loss_lr || !ag_backward(loss_mlp) || !ag_backward(loss_lr)) {
            fprintf(stderr, "%s\n", ag_last_error());
            return 1;
        }
        if (step % 500 == 0)
            printf("step %4d  loss: logistic regression %.4f  MLP %.4f\n", step,
                   ag_item(loss_lr), ag_item(loss_mlp));
        ag_optim_step(opt_mlp);
        ag_optim_step(opt_lr);
        ag_tape_reset(NULL);
    }

    bool mode = ag_no_grad_begin();
    ag_tensor *p_mlp = ag_sigmoid(ag_mlp_forward(mlp, X));
    ag_tensor *p_lr = ag_sigmoid(ag_logreg_logits(logreg, X));
    ag_grad_mode_set(mode);
    printf("x1 x2  y   p(y=1|x): logistic regression   MLP\n");
    for (size_t i = 0; i < 4; i++)
        printf(" %.0f  %.0f  %.0f   %30.4f   %.4f\n", ag_get_flat(X, 2 * i),
               ag_get_flat(X, 2 * i + 1), ag_get_flat(y, i), ag_get_flat(p_lr, i),
               ag_get_flat(p_mlp, i));

    ag_tape_reset(NULL);
    ag_optim_free(opt_mlp);
    ag_optim_free(opt_lr);
    ag_mlp_free(mlp);
    ag_params_free(logreg);
    ag_tensor_free(X);
    ag_tensor_free(y);
    ag_shutdown();
    return 0;
}

/* Backward for the 2-2-2 network: the chain rule for w(1)10 = W2[0][0] (the
 * weight from hidden unit 0 to output unit 0), then one update. */
#include <autograd/autograd.h>

#include <stdio.h>

int main(void)
{
    ag_tensor *x = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.5});
    ag_tensor *t = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.9});
    ag_tensor *W1 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.1, 0.2, 0.3, 0.1});
    ag_tensor *W2 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.4, 0.5, 0.1, 0.3});
    ag_set_requires_grad(W1, true);
    ag_set_requires_grad(W2, true);
    ag_tensor *a1 = ag_sigmoid(ag_matmul(x, W1));
    ag_tensor *z2 = ag_matmul(a1, W2);
    ag_tensor *a2 = ag_sigmoid(z2);
    ag_tensor *d = ag_sub(t, a2);
    ag_tensor *E = ag_mul_scalar(ag_sum(ag_mul(d, d)), 0.5);
    if (!E || !ag_backward(E)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }

    /* Each factor by its formula, from the forward values ... */
    double a10 = ag_get_flat(a1, 0), a20 = ag_get_flat(a2, 0), t1 = 0.2;
    double f1 = a20 - t1, f2 = a20 * (1 - a20), f3 = a10;
    printf("dE/da20   = a20 - t1      = %.2f\n", f1);
    printf("da20/dz20 = a20 (1 - a20) = %.2f\n", f2);
    printf("dz20/dw   = a10           = %.2f\n", f3);
    printf("dE/dw = %.2f x %.2f x %.2f = %.3f\n", f1, f2, f3, f1 * f2 * f3);
    /* ... and the gradients the backward sweep left on each tensor. */
    printf("engine: dE/da20 = %.4f  dE/dz20 = %.4f  dE/dw = %.4f\n",
           ag_get_flat(ag_grad_of(a2), 0), ag_get_flat(ag_grad_of(z2), 0),
           ag_get_flat(ag_grad_of(W2), 0));

    double before = ag_get_flat(W2, 0);
    ag_sgd_update(W2, 0.3); /* W2 <- W2 - 0.3 dE/dW2 */
    ag_sgd_update(W1, 0.3);
    printf("update, learning rate 0.3: w %.1f -> %.4f\n", before, ag_get_flat(W2, 0));

    ag_tape_reset(NULL);
    ag_tensor_free(x);
    ag_tensor_free(t);
    ag_tensor_free(W1);
    ag_tensor_free(W2);
    ag_shutdown();
    return 0;
}

/* The lecture's 2-2-2 network, forward: inputs x, hidden layer a1 = σ(x W1),
 * output layer a2 = σ(a1 W2), squared error E against the targets t. */
#include <autograd/autograd.h>

#include <stdio.h>

int main(void)
{
    ag_tensor *x = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.5});
    ag_tensor *t = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.9});
    /* W[i][j] is the weight from unit i of one layer to unit j of the next. */
    ag_tensor *W1 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.1, 0.2, 0.3, 0.1});
    ag_tensor *W2 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.4, 0.5, 0.1, 0.3});
    ag_set_requires_grad(W1, true);
    ag_set_requires_grad(W2, true);

    ag_tensor *z1 = ag_matmul(x, W1);  /* hidden layer */
    ag_tensor *a1 = ag_sigmoid(z1);
    ag_tensor *z2 = ag_matmul(a1, W2); /* output layer */
    ag_tensor *a2 = ag_sigmoid(z2);
    ag_tensor *d = ag_sub(t, a2);
    ag_tensor *E = ag_mul_scalar(ag_sum(ag_mul(d, d)), 0.5); /* ½ Σ (t - a2)² */
    if (!E) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }

    for (size_t j = 0; j < 2; j++)
        printf("z1%zu = %.2f  a1%zu = %.2f\n", j, ag_get_flat(z1, j), j, ag_get_flat(a1, j));
    for (size_t j = 0; j < 2; j++)
        printf("z2%zu = %.2f  a2%zu = %.2f\n", j, ag_get_flat(z2, j), j, ag_get_flat(a2, j));
    printf("E = %.4f\n", ag_item(E));
    printf("a2 = ");
    ag_print(a2);
    printf("nodes on the tape: %zu\n", ag_tape_size(NULL));

    ag_tape_reset(NULL);
    ag_tensor_free(x);
    ag_tensor_free(t);
    ag_tensor_free(W1);
    ag_tensor_free(W2);
    ag_shutdown();
    return 0;
}

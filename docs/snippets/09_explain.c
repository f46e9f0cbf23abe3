/* One gradient as the chain rule writes it: a sum over the paths from a
 * weight to the error, each path a product of local derivatives. */
#include <autograd/autograd.h>
#include <autograd/tools.h>

#include <stdio.h>

int main(void)
{
    ag_tensor *x = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.5});
    ag_tensor *t = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.9});
    ag_tensor *W1 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.1, 0.2, 0.3, 0.1});
    ag_tensor *W2 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.4, 0.5, 0.1, 0.3});
    ag_set_requires_grad(W1, true);
    ag_set_requires_grad(W2, true);
    ag_tensor *z1 = ag_matmul(x, W1);
    ag_tensor *a1 = ag_sigmoid(z1);
    ag_tensor *z2 = ag_matmul(a1, W2);
    ag_tensor *a2 = ag_sigmoid(z2);
    ag_tensor *d = ag_sub(t, a2);
    ag_tensor *E = ag_mul_scalar(ag_sum(ag_mul(d, d)), 0.5);
    if (!E) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    const char *names[] = {"W1", "W2", "z1", "a1", "z2", "a2", "E"};
    ag_tensor *tensors[] = {W1, W2, z1, a1, z2, a2, E}; /* named tensors: the steps of a path */
    for (int i = 0; i < 7; i++)
        ag_set_label(tensors[i], names[i]);

    /* W2[0,0] (flat element 0) is the lecture's w(1)10: one path. */
    ag_explanation ex;
    if (!ag_explain(stdout, E, W2, 0, 4, &ex))
        fprintf(stderr, "%s\n", ag_last_error());
    printf("\n");
    /* W1[0,0] reaches E through a10 and then both outputs: two paths. */
    if (!ag_explain(stdout, E, W1, 0, 4, &ex))
        fprintf(stderr, "%s\n", ag_last_error());
    printf("\nex.n_paths_total = %zu, ex.paths[1].product = %.4g, ex.total = %.4g\n",
           ex.n_paths_total, ex.paths[1].product, ex.total);

    ag_tape_reset(NULL);
    ag_tensor_free(x);
    ag_tensor_free(t);
    ag_tensor_free(W1);
    ag_tensor_free(W2);
    ag_shutdown();
    return 0;
}

/* The backward sweep of the 2-2-2 network, node by node, as the engine
 * runs it: a hook prints each step. Labels name the tensors in the trace. */
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
    ag_tensor *sq = ag_mul(d, d);
    ag_tensor *E = ag_mul_scalar(ag_sum(sq), 0.5);
    if (!E) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    const char *names[] = {"x", "t", "W1", "W2", "z1", "a1", "z2", "a2", "d", "d^2", "E"};
    ag_tensor *tensors[] = {x, t, W1, W2, z1, a1, z2, a2, d, sq, E};
    for (int i = 0; i < 11; i++)
        ag_set_label(tensors[i], names[i]);

    ag_set_backward_hook(ag_trace_hook, stdout); /* print every step ... */
    bool ok = ag_backward(E);
    ag_set_backward_hook(NULL, NULL);            /* ... of this sweep only */
    if (!ok) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }

    ag_tape_reset(NULL);
    ag_tensor_free(x);
    ag_tensor_free(t);
    ag_tensor_free(W1);
    ag_tensor_free(W2);
    ag_shutdown();
    return 0;
}

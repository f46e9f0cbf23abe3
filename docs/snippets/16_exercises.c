/* The answers to the exercises, computed by the engine. */
#include <autograd/autograd.h>

#include <stdio.h>

int main(void)
{
    /* 1. dL/dz for z = (1, 2, 3), y = 2 under softmax + cross-entropy. */
    int64_t label = 2;
    ag_tensor *z = ag_from_array(AG_F64, 2, (int64_t[]){1, 3}, (double[]){1, 2, 3});
    ag_tensor *y = ag_from_array(AG_I64, 1, (int64_t[]){1}, &label);
    ag_set_requires_grad(z, true);
    ag_tensor *L = ag_cross_entropy(z, y, AG_REDUCE_MEAN);
    if (!L || !ag_backward(L)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    ag_tensor *gz = ag_grad_of(z);
    printf("1. dL/dz = (%.4f, %.4f, %.4f)\n", ag_get_flat(gz, 0), ag_get_flat(gz, 1),
           ag_get_flat(gz, 2));
    ag_tape_reset(NULL);

    /* 2. f = max(x, y) * (x + y) at x = 2, y = 5, upstream 1. */
    ag_tensor *x2 = ag_scalar(AG_F64, 2.0);
    ag_tensor *y2 = ag_scalar(AG_F64, 5.0);
    ag_set_requires_grad(x2, true);
    ag_set_requires_grad(y2, true);
    ag_tensor *f = ag_mul(ag_maximum(x2, y2), ag_add(x2, y2));
    if (!f || !ag_backward(f)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    printf("2. f = %.0f  df/dx = %.0f  df/dy = %.0f\n", ag_item(f), ag_item(ag_grad_of(x2)),
           ag_item(ag_grad_of(y2)));
    ag_tape_reset(NULL);

    /* 3. The largest sigma'(z), at z = 0, and the bound for 5 sigmoids. */
    ag_tensor *z3 = ag_scalar(AG_F64, 0.0);
    ag_set_requires_grad(z3, true);
    ag_tensor *s = ag_sigmoid(z3);
    if (!s || !ag_backward(s)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    double d = ag_item(ag_grad_of(z3));
    printf("3. sigma'(0) = %.4f  (1/4)^5 = %.6f\n", d, d * d * d * d * d);

    ag_tape_reset(NULL);
    ag_tensor_free(z);
    ag_tensor_free(y);
    ag_tensor_free(x2);
    ag_tensor_free(y2);
    ag_tensor_free(z3);
    ag_shutdown();
    return 0;
}

/* The three gate patterns of backpropagation, each on one node with concrete
 * numbers: add distributes the upstream gradient, mul swaps its inputs,
 * max routes the gradient to the larger input. */
#include <autograd/autograd.h>

#include <stdio.h>

/* Builds out = op(a, b), scales it by the upstream gradient g (so that
 * dL/dout = g for L = g * out), and prints what reaches a and b. */
static int gate(const char *name, ag_tensor *(*op)(ag_tensor *, ag_tensor *), double av,
                double bv, double g)
{
    ag_tensor *a = ag_scalar(AG_F64, av);
    ag_tensor *b = ag_scalar(AG_F64, bv);
    ag_set_requires_grad(a, true);
    ag_set_requires_grad(b, true);
    ag_tensor *out = op(a, b);
    ag_tensor *L = ag_mul_scalar(out, g);
    if (!L || !ag_backward(L)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    printf("%-8s a = %4.1f  b = %4.1f  out = %5.1f  upstream %.1f  ->  dL/da = %5.1f  dL/db = %5.1f\n",
           name, av, bv, ag_item(out), g, ag_item(ag_grad_of(a)), ag_item(ag_grad_of(b)));
    ag_tape_reset(NULL);
    ag_tensor_free(a);
    ag_tensor_free(b);
    return 0;
}

int main(void)
{
    if (gate("add", ag_add, 3.0, -4.0, 2.0) || gate("mul", ag_mul, 3.0, -4.0, 2.0) ||
        gate("maximum", ag_maximum, 3.0, -4.0, 2.0) || gate("maximum", ag_maximum, -1.0, 5.0, 2.0))
        return 1;
    ag_shutdown();
    return 0;
}

/* Vanishing gradients: a chain of n sigmoid layers h <- sigmoid(w h + b)
 * multiplies dy/dx by w sigma'(z) <= w/4 per layer, so the gradient that
 * reaches the input shrinks geometrically with the depth. */
#include <autograd/autograd.h>

#include <math.h>
#include <stdio.h>

int main(void)
{
    printf("layers   |dy/dx|      4^-n\n");
    for (int n = 1; n <= 30; n = n < 5 ? n + 1 : n + 5) {
        ag_tensor *x = ag_scalar(AG_F64, 0.5);
        ag_tensor *w = ag_scalar(AG_F64, 1.0);
        ag_tensor *b = ag_scalar(AG_F64, 0.0);
        ag_set_requires_grad(x, true);
        ag_tensor *h = x;
        for (int k = 0; k < n; k++)
            h = ag_sigmoid(ag_add(ag_mul(w, h), b));
        if (!h || !ag_backward(h)) {
            fprintf(stderr, "%s\n", ag_last_error());
            return 1;
        }
        printf("%6d   %.3e   %.3e\n", n, fabs(ag_item(ag_grad_of(x))), pow(4.0, -n));
        ag_tape_reset(NULL);
        ag_tensor_free(x);
        ag_tensor_free(w);
        ag_tensor_free(b);
    }
    ag_shutdown();
    return 0;
}

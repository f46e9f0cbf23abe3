/* The gradient of the mean negative log-likelihood, from the engine. The
 * loss is written out from its definition; the backward sweep applies the
 * rules of log, sigmoid, mul, ... and arrives at (p_i - y_i) / n for each
 * log-odds z_i, the textbook result. */
#include <autograd/autograd.h>

#include <stdio.h>

enum { N = 8 };
static const double xs[N] = {-1.0, -0.5, 0.3, 0.8, 1.2, 1.7, 2.4, 3.1};
static const double ys[N] = {0, 0, 0, 1, 0, 1, 1, 1};

int main(void)
{
    ag_tensor *x = ag_from_array(AG_F64, 1, (int64_t[]){N}, xs);
    ag_tensor *y = ag_from_array(AG_F64, 1, (int64_t[]){N}, ys);
    ag_tensor *w = ag_scalar(AG_F64, 1.0), *b = ag_scalar(AG_F64, 0.0);
    ag_set_requires_grad(w, true);
    ag_set_requires_grad(b, true);

    ag_tensor *z = ag_add(ag_mul(x, w), b); /* z_i = w x_i + b (w and b broadcast) */
    ag_tensor *p = ag_sigmoid(z);
    ag_tensor *loss = ag_neg(ag_mean(ag_add(ag_mul(y, ag_log(p)),   /* -mean(y log p */
        ag_mul(ag_add_scalar(ag_neg(y), 1), ag_log(ag_add_scalar(ag_neg(p), 1)))))); /* + ... */
    if (!loss || !ag_backward(loss)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    printf("loss = %.6f  dloss/dw = %.6f  dloss/db = %.6f\n", ag_item(loss),
           ag_item(ag_grad_of(w)), ag_item(ag_grad_of(b)));

    printf("  x_i  y_i     p_i  p_i - y_i  n dloss/dz_i\n");
    double gw = 0, gb = 0; /* the textbook formulas, summed by hand */
    for (size_t i = 0; i < N; i++) {
        double pi = ag_get_flat(p, i);
        printf("%5.1f  %3.0f  %6.4f  %9.4f  %11.4f\n", xs[i], ys[i], pi, pi - ys[i],
               N * ag_get_flat(ag_grad_of(z), i));
        gw += (pi - ys[i]) * xs[i] / N;
        gb += (pi - ys[i]) / N;
    }
    printf("(1/n) sum (p_i - y_i) x_i = %.6f  (1/n) sum (p_i - y_i) = %.6f\n", gw, gb);

    ag_tape_reset(NULL);
    ag_tensor_free(x);
    ag_tensor_free(y);
    ag_tensor_free(w);
    ag_tensor_free(b);
    ag_shutdown();
    return 0;
}

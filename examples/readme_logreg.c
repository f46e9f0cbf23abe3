/* SPDX-License-Identifier: MIT */
/* readme_logreg.c — the README's example: logistic regression as an expression.
 *
 * p = sigmoid(X w + b) on eight 2-D points, the mean negative log-likelihood
 * as the loss, plain gradient descent. One point of class 0 sits among
 * class 1, so no line separates the classes: the loss levels off above 0
 * and the best accuracy is 7/8. Each step is forward, backward, update,
 * reset: the reset frees every intermediate at once and keeps the memory
 * for the next step. */
#include <autograd/autograd.h>

#include <stdio.h>

int main(void)
{
    enum { N = 8 };
    const double xs[N * 2] = {0.0, 0.5,  1.0, 0.0,  0.5, 1.0,  2.5, 2.5,   /* class 0 */
                              2.0, 2.5,  3.0, 2.0,  2.5, 3.0,  3.0, 3.0};  /* class 1 */
    const double ys[N] = {0, 0, 0, 0, 1, 1, 1, 1};
    ag_tensor *X = ag_from_array(AG_F64, 2, (int64_t[]){N, 2}, xs);
    ag_tensor *y = ag_from_array(AG_F64, 2, (int64_t[]){N, 1}, ys);
    ag_tensor *w = ag_zeros(AG_F64, 2, (int64_t[]){2, 1});
    ag_tensor *b = ag_zeros(AG_F64, 0, NULL);
    ag_set_requires_grad(w, true);
    ag_set_requires_grad(b, true);
    int status = 0;

    for (int step = 0; step <= 500; step++) {
        ag_tensor *p = ag_sigmoid(ag_add(ag_matmul(X, w), b));          /* p = σ(Xw + b) */
        ag_tensor *nll = ag_neg(ag_mean(ag_add(ag_mul(y, ag_log(p)),     /* −mean(y log p */
            ag_mul(ag_add_scalar(ag_neg(y), 1), ag_log(ag_add_scalar(ag_neg(p), 1)))))); /* + (1−y) log(1−p)) */
        ag_zero_grad(w);
        ag_zero_grad(b);
        if (!nll || !ag_backward(nll)) {                                 /* fills w's and b's grad */
            fprintf(stderr, "readme_logreg: %s\n", ag_last_error());
            status = 1;
            break;
        }
        if (step % 100 == 0)
            printf("step %3d  loss %.4f\n", step, ag_item(nll));
        ag_sgd_update(w, 0.5);                                           /* w -= 0.5 dL/dw */
        ag_sgd_update(b, 0.5);
        ag_tape_reset(NULL);                                             /* frees every intermediate */
    }

    if (status == 0) {
        bool mode = ag_no_grad_begin();                                  /* evaluate without recording */
        ag_tensor *p = ag_sigmoid(ag_add(ag_matmul(X, w), b));
        int correct = 0;
        for (int i = 0; i < N; i++)
            correct += (ag_get_flat(p, (size_t)i) > 0.5) == (ys[i] > 0.5);
        ag_grad_mode_set(mode);
        printf("w = (%.3f, %.3f)  b = %.3f\n", ag_get_flat(w, 0), ag_get_flat(w, 1), ag_item(b));
        printf("accuracy %d/%d\n", correct, N);
        ag_tape_reset(NULL);
    }

    ag_tensor_free(X);
    ag_tensor_free(y);
    ag_tensor_free(w);
    ag_tensor_free(b);
    ag_shutdown();
    return status;
}

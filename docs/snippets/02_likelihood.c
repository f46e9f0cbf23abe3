/* The likelihood of a data set under logistic regression, and its negative
 * logarithm, for two settings of the parameters. */
#include <autograd/autograd.h>

#include <stdio.h>

enum { N = 8 };
static const double xs[N] = {-1.0, -0.5, 0.3, 0.8, 1.2, 1.7, 2.4, 3.1};
static const double ys[N] = {0, 0, 0, 1, 0, 1, 1, 1};

static void show(ag_tensor *x, ag_tensor *y, double w, double b)
{
    ag_tensor *z = ag_add_scalar(ag_mul_scalar(x, w), b);  /* log-odds w x + b */
    ag_tensor *p = ag_sigmoid(z);                           /* p(y=1|x) */
    ag_tensor *q = ag_add_scalar(ag_neg(p), 1);             /* p(y=0|x) = 1 - p */
    ag_tensor *one_minus_y = ag_add_scalar(ag_neg(y), 1);
    /* p(y_i|x_i) = p_i^y_i (1 - p_i)^(1 - y_i): p where y = 1, 1 - p where y = 0 */
    ag_tensor *py = ag_add(ag_mul(y, p), ag_mul(one_minus_y, q));
    ag_tensor *nll = ag_neg(ag_sum(ag_log(py)));            /* -Σ log p(y_i|x_i) */
    ag_tensor *bce = ag_bce_with_logits(z, y, AG_REDUCE_SUM);
    if (!nll || !bce) {
        fprintf(stderr, "%s\n", ag_last_error());
        return;
    }
    double likelihood = 1;
    for (size_t i = 0; i < N; i++)
        likelihood *= ag_get_flat(py, i);
    printf("w = %.4f  b = %7.4f:  L = %.6f  NLL = %.4f  bce_with_logits = %.4f\n", w, b,
           likelihood, ag_item(nll), ag_item(bce));
    ag_tape_reset(NULL);
}

int main(void)
{
    ag_tensor *x = ag_from_array(AG_F64, 1, (int64_t[]){N}, xs);
    ag_tensor *y = ag_from_array(AG_F64, 1, (int64_t[]){N}, ys);
    show(x, y, 0.0, 0.0);     /* p = 1/2 everywhere: L = 2^-8, NLL = 8 log 2 */
    show(x, y, 2.0, -2.8473); /* the Bayes parameters of the previous step */
    show(x, y, 3.0, -3.0);
    ag_tensor_free(x);
    ag_tensor_free(y);
    ag_shutdown();
    return 0;
}

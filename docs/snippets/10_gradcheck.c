/* Gradient checking: the gradients from the backward sweep against central
 * differences (E(w + h) - E(w - h)) / 2h, first for one weight by hand,
 * then for every element of W1 and W2 with ag_gradcheck. */
#include <autograd/autograd.h>
#include <autograd/tools.h>

#include <stdio.h>

/* E as a function of (W1, W2); x and t come in through ctx. */
static ag_tensor *error_fn(ag_tensor *const *in, void *ctx)
{
    ag_tensor *const *xt = ctx;
    ag_tensor *a1 = ag_sigmoid(ag_matmul(xt[0], in[0]));
    ag_tensor *d = ag_sub(xt[1], ag_sigmoid(ag_matmul(a1, in[1])));
    return ag_mul_scalar(ag_sum(ag_mul(d, d)), 0.5);
}

int main(void)
{
    ag_tensor *xt[2] = {ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.5}),
                        ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.9})};
    ag_tensor *W[2] = {ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.1, 0.2, 0.3, 0.1}),
                       ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.4, 0.5, 0.1, 0.3})};
    ag_set_requires_grad(W[0], true);
    ag_set_requires_grad(W[1], true);

    const double h = 1e-5;
    bool mode = ag_no_grad_begin(); /* two evaluations, nothing to record */
    ag_set_flat(W[1], 0, 0.4 + h);
    double e_plus = ag_item(error_fn(W, xt));
    ag_set_flat(W[1], 0, 0.4 - h);
    double e_minus = ag_item(error_fn(W, xt));
    ag_set_flat(W[1], 0, 0.4);
    ag_grad_mode_set(mode);
    ag_tensor *E = error_fn(W, xt);
    if (!E || !ag_backward(E)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    printf("w(1)10: central difference %.6f, backward %.6f\n", (e_plus - e_minus) / (2 * h),
           ag_get_flat(ag_grad_of(W[1]), 0));
    ag_tape_reset(NULL);

    ag_gradcheck_report rep;
    bool pass = ag_gradcheck(error_fn, xt, 2, W, NULL, &rep);
    for (int i = 0; i < 2; i++) /* differences at rounding level; print only their bound */
        printf("W%d: %s, largest |analytic - numeric| %s 1e-9\n", i + 1,
               rep.inputs[i].pass ? "pass" : "FAIL", rep.inputs[i].max_abs_err < 1e-9 ? "<" : ">=");
    printf("gradcheck: %s\n", pass ? "PASS" : "FAIL");

    for (int i = 0; i < 2; i++) {
        ag_tensor_free(xt[i]);
        ag_tensor_free(W[i]);
    }
    ag_shutdown();
    return 0;
}

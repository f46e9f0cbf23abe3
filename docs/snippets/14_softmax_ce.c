/* The gradient of softmax + cross-entropy with respect to the logits is
 * p - y: the engine's gradient next to softmax(z) - onehot(y) computed by
 * hand, for one example with three classes. */
#include <autograd/autograd.h>

#include <math.h>
#include <stdio.h>

int main(void)
{
    double zv[3] = {2.0, 1.0, 0.1};
    int64_t label = 0;
    ag_tensor *z = ag_from_array(AG_F64, 2, (int64_t[]){1, 3}, zv);
    ag_tensor *y = ag_from_array(AG_I64, 1, (int64_t[]){1}, &label);
    ag_set_requires_grad(z, true);
    ag_tensor *L = ag_cross_entropy(z, y, AG_REDUCE_MEAN);
    if (!L || !ag_backward(L)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }

    /* softmax by hand: p_k = e^{z_k} / sum_j e^{z_j} */
    double p[3], sum = 0;
    for (int k = 0; k < 3; k++)
        sum += p[k] = exp(zv[k]);
    for (int k = 0; k < 3; k++)
        p[k] /= sum;

    printf("z = (%.1f, %.1f, %.1f), y = %lld\n", zv[0], zv[1], zv[2], (long long)label);
    printf("L = -ln p_y = %.4f (by hand %.4f)\n", ag_item(L), -log(p[label]));
    printf("k   p_k      p_k - y_k   engine dL/dz_k\n");
    for (int k = 0; k < 3; k++)
        printf("%d   %.4f   %8.4f    %8.4f\n", k, p[k], p[k] - (k == label),
               ag_get_flat(ag_grad_of(z), (size_t)k));

    ag_tape_reset(NULL);
    ag_tensor_free(z);
    ag_tensor_free(y);
    ag_shutdown();
    return 0;
}

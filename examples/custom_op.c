/* SPDX-License-Identifier: MIT */
/* custom_op.c — adding an op without touching the library, and checking it.
 *
 * swish(x) = x·σ(x) is registered with a raw forward kernel and a
 * hand-written backward, swish'(x) = σ(x)·(1 + x·(1 − σ(x))), expressed with
 * the library's ops so it can itself be differentiated. The gradient checker
 * then certifies the rule. A second op, "swish_wrong", carries a planted
 * mistake (the derivative of x·σ(x) taken as σ(x) alone); the checker names
 * it, the input and the element, and a model that uses it is traced back to
 * the node by the per-node check. */
#include <autograd/op.h>

#include <math.h>
#include <stdio.h>

static const ag_op *SWISH, *SWISH_WRONG;

/* The forward kernel, written by hand: one result, recorded as a node of
 * `op` when gradients are wanted. */
static ag_tensor *swish_as(const ag_op *op, ag_tensor *x)
{
    if (!ag_check_inputs(ag_op_info(op)->name, 1, &x))
        return NULL;
    ag_dtype dt = ag_tensor_dtype(x);
    ag_tensor *y = ag_op_result(op, dt, ag_ndim(x), ag_shape(x), 1, &x, NULL, 0);
    if (!y)
        return NULL;
    size_t n = ag_numel(x);
    if (dt == AG_F64) {
        const double *xs = ag_data(x);
        double *ys = ag_data(y);
        for (size_t i = 0; i < n; i++)
            ys[i] = xs[i] / (1.0 + exp(-xs[i]));
    } else {
        const float *xs = ag_data(x);
        float *ys = ag_data(y);
        for (size_t i = 0; i < n; i++)
            ys[i] = xs[i] / (1.0f + expf(-xs[i]));
    }
    return y;
}

static ag_tensor *swish(ag_tensor *x) { return swish_as(SWISH, x); }
static ag_tensor *swish_wrong(ag_tensor *x) { return swish_as(SWISH_WRONG, x); }

/* dx += g · σ(x) · (1 + x · (1 − σ(x))) */
static bool swish_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **grad_in)
{
    ag_tensor *x = ag_node_input(y, 0);
    ag_tensor *s = ag_sigmoid(x);
    ag_tensor *inner = ag_add_scalar(ag_mul(x, ag_add_scalar(ag_neg(s), 1.0)), 1.0);
    grad_in[0] = ag_mul(g, ag_mul(s, inner));
    return grad_in[0] != NULL;
}

/* The planted mistake: dx += g · σ(x), forgetting the product rule. */
static bool swish_wrong_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **grad_in)
{
    grad_in[0] = ag_mul(g, ag_sigmoid(ag_node_input(y, 0)));
    return grad_in[0] != NULL;
}

static ag_tensor *swish_forward(ag_tensor *const *in, const void *params)
{
    (void)params;
    return swish(in[0]);
}

static ag_tensor *swish_wrong_forward(ag_tensor *const *in, const void *params)
{
    (void)params;
    return swish_wrong(in[0]);
}

/* A small model with the wrong op in its middle: mean(swish_wrong(W·v) ⊙ W). */
static ag_tensor *model(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *h = ag_matmul(in[0], in[1]);
    ag_set_label(h, "h");
    ag_tensor *a = swish_wrong(h);
    ag_set_label(a, "activation");
    return ag_mean(ag_mul(a, in[0]));
}

int main(void)
{
    SWISH = ag_op_register(&(ag_op_def){.name = "swish", .n_inputs = 1, .forward = swish_forward,
                                        .vjp = swish_vjp, .domain_lo = -3, .domain_hi = 3});
    SWISH_WRONG = ag_op_register(&(ag_op_def){.name = "swish_wrong", .n_inputs = 1,
                                              .forward = swish_wrong_forward, .vjp = swish_wrong_vjp,
                                              .domain_lo = -3, .domain_hi = 3});
    if (!SWISH || !SWISH_WRONG) {
        fprintf(stderr, "custom_op: %s\n", ag_last_error());
        return 1;
    }

    ag_gradcheck_report rep;
    bool ok = ag_gradcheck_op(SWISH, 7, NULL, &rep);
    ag_gradcheck_fprint(stdout, &rep);
    bool caught = !ag_gradcheck_op(SWISH_WRONG, 7, NULL, &rep);
    ag_gradcheck_fprint(stdout, &rep);

    /* The wrong op inside a model: the whole-model check fails, and the
     * per-node check names the node. */
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_tensor *W = ag_rand_normal(AG_F64, 2, (int64_t[]){2, 3}, 0, 1, &rng);
    ag_tensor *v = ag_rand_normal(AG_F64, 2, (int64_t[]){3, 3}, 0, 1, &rng);
    ag_set_requires_grad(W, true);
    ag_set_requires_grad(v, true);
    ag_gradcheck_opts opts = ag_gradcheck_defaults();
    opts.per_node = true;
    ag_tensor *inputs[2] = {W, v};
    bool model_ok = ag_gradcheck(model, NULL, 2, inputs, &opts, &rep);
    printf("\nmodel check: %s\n", model_ok ? "PASS" : "FAIL");
    printf("culprit: %s\n", rep.culprit);

    ag_tensor_free(W);
    ag_tensor_free(v);
    ag_shutdown();
    printf("\nswish: %s; planted mistake %s\n", ok ? "rule verified" : "RULE WRONG",
           caught ? "caught" : "NOT caught");
    return ok && caught && !model_ok ? 0 : 1;
}

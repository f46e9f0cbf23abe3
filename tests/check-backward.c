/* SPDX-License-Identifier: MIT */
/* check-backward.c — the backward sweep: hand-derived gradients of scalar
 * expressions, fan-out and diamonds, accumulation, seeds, the errors of
 * backward, deep chains and second derivatives. */
#include "harness.h"

#include <stdio.h>

static double grad1(const ag_tensor *leaf)
{
    ag_tensor *g = ag_grad_of(leaf);
    ck_assert_msg(g != NULL, "no gradient reached the leaf");
    return ag_item(g);
}

/* ---- scalar expressions ---- */

START_TEST(test_scalar_expressions)
{
    const double xs[] = {0.7, -1.3, 2.0};
    const double ys[] = {1.9, 0.4, 3.5};
    for (size_t k = 0; k < H_COUNT(xs); k++) {
        double xv = xs[k], yv = ys[k];
        ag_tensor *x = h_pscalar(AG_F64, xv), *y = h_pscalar(AG_F64, yv);

        /* f = (x y + e^x) / y = x + e^x / y
         * df/dx = 1 + e^x / y,  df/dy = -e^x / y² */
        ag_tensor *f = ag_div(ag_add(ag_mul(x, y), ag_exp(x)), y);
        ck_assert_tensor(f);
        ck_assert_f64(ag_item(f), (xv * yv + exp(xv)) / yv);
        ck_assert(ag_backward(f));
        ck_assert_f64(grad1(x), 1 + exp(xv) / yv);
        ck_assert_f64(grad1(y), -exp(xv) / (yv * yv));
        ag_zero_grad(x);
        ag_zero_grad(y);
        ag_tape_reset(NULL);

        /* g = tanh(x) log(y) - σ(x y)
         * dg/dx = (1 - tanh²x) log y - σ'(xy) y,  dg/dy = tanh x / y - σ'(xy) x */
        ag_tensor *g = ag_sub(ag_mul(ag_tanh(x), ag_log(y)), ag_sigmoid(ag_mul(x, y)));
        ck_assert_tensor(g);
        double s = 1 / (1 + exp(-xv * yv)), ds = s * (1 - s), t = tanh(xv);
        ck_assert_f64(ag_item(g), t * log(yv) - s);
        ck_assert(ag_backward(g));
        ck_assert_f64(grad1(x), (1 - t * t) * log(yv) - ds * yv);
        ck_assert_f64(grad1(y), t / yv - ds * xv);
        ag_zero_grad(x);
        ag_zero_grad(y);
        ag_tape_reset(NULL);

        /* h = relu(x) * 3 + (-x) + 0.5
         * dh/dx = 3 [x > 0] - 1 */
        ag_tensor *h = ag_add_scalar(ag_add(ag_mul_scalar(ag_relu(x), 3), ag_neg(x)), 0.5);
        ck_assert_tensor(h);
        ck_assert_f64(ag_item(h), 3 * fmax(xv, 0) - xv + 0.5);
        ck_assert(ag_backward(h));
        ck_assert_f64(grad1(x), (xv > 0 ? 3.0 : 0.0) - 1);
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_f32_expression)
{
    /* The same sweep in f32: f = x e^x,  df/dx = (1 + x) e^x. */
    ag_tensor *x = h_pscalar(AG_F32, 0.75);
    ag_tensor *f = ag_mul(x, ag_exp(x));
    ck_assert_tensor(f);
    ck_assert(ag_backward(f));
    ag_tensor *g = ag_grad_of(x);
    ck_assert_tensor(g);
    ck_assert_int_eq(ag_tensor_dtype(g), AG_F32);
    ck_assert_f32(ag_item(g), 1.75 * exp(0.75));
}
END_TEST

/* ---- graph shapes ---- */

START_TEST(test_fan_out_accumulates)
{
    /* z = x·x + x:  dz/dx = 2x + 1 (x feeds three uses). */
    ag_tensor *x = h_pscalar(AG_F64, 1.25);
    ag_tensor *z = ag_add(ag_mul(x, x), x);
    ck_assert_tensor(z);
    ck_assert(ag_backward(z));
    ck_assert_f64(grad1(x), 2 * 1.25 + 1);
    ag_zero_grad(x);
    ag_tape_reset(NULL);

    /* An intermediate used twice: u = x + 1, z = u·u·u, dz/dx = 3u². */
    ag_tensor *u = ag_add_scalar(x, 1);
    z = ag_mul(ag_mul(u, u), u);
    ck_assert(ag_backward(z));
    ck_assert_f64(grad1(x), 3 * 2.25 * 2.25);
    /* The gradient the sweep left on u is the same number. */
    ck_assert_f64(ag_item(ag_grad_of(u)), 3 * 2.25 * 2.25);
}
END_TEST

START_TEST(test_diamond)
{
    /* x -> u = x + 1, v = 3x -> w = u v -> e = exp(w) ...
     * dw/dx = v + 3u = 6x + 3;  de/dx = e^w (6x + 3). */
    double xv = 0.4;
    ag_tensor *x = h_pscalar(AG_F64, xv);
    ag_tensor *u = ag_add_scalar(x, 1);
    ag_tensor *v = ag_mul_scalar(x, 3);
    ag_tensor *w = ag_mul(u, v);
    ag_tensor *e = ag_exp(w);
    ck_assert_tensor(e);
    ck_assert(ag_backward(e));
    double wv = (xv + 1) * 3 * xv;
    ck_assert_f64(grad1(x), exp(wv) * (6 * xv + 3));
    ck_assert_f64(ag_item(ag_grad_of(u)), exp(wv) * 3 * xv);
    ck_assert_f64(ag_item(ag_grad_of(v)), exp(wv) * (xv + 1));
    ck_assert_f64(ag_item(ag_grad_of(e)), 1.0);

    /* A double diamond over vectors: y = sum((a+b)·(a−b)) = Σ a² − b². */
    ag_tensor *a = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *b = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(-1, 0.5, 4));
    ag_tensor *y = ag_sum(ag_mul(ag_add(a, b), ag_sub(a, b)));
    ck_assert_tensor(y);
    ck_assert_f64(ag_item(y), 1 + 4 + 9 - 1 - 0.25 - 16);
    ck_assert(ag_backward(y));
    ck_assert_values_f64(ag_grad_of(a), 3, H_VALS(2, 4, 6));
    ck_assert_values_f64(ag_grad_of(b), 3, H_VALS(2, -1, -8));
}
END_TEST

START_TEST(test_unused_and_constant_inputs)
{
    ag_tensor *x = h_pscalar(AG_F64, 2);
    ag_tensor *unused = h_pscalar(AG_F64, 5);
    ag_tensor *c = h_scalar(AG_F64, 7); /* does not require grad */
    ag_tensor *y = ag_mul(x, c);
    ck_assert(ag_backward(y));
    ck_assert_f64(grad1(x), 7);
    ck_assert_ptr_null(ag_grad_of(unused));
    ck_assert_ptr_null(ag_grad_of(c));
}
END_TEST

START_TEST(test_backward_of_a_leaf)
{
    ag_tensor *x = h_pscalar(AG_F64, 4);
    ck_assert(ag_backward(x));
    ck_assert_f64(grad1(x), 1);
}
END_TEST

/* ---- accumulation ---- */

START_TEST(test_backward_twice_accumulates)
{
    /* Documented: a second backward before a reset adds the leaves'
     * gradients again (intermediates' gradients are recomputed). */
    ag_tensor *x = h_pscalar(AG_F64, 1.5);
    ag_tensor *u = ag_mul(x, x);
    ag_tensor *z = ag_add(u, x);
    ck_assert(ag_backward(z));
    ck_assert_f64(grad1(x), 4);
    ck_assert(ag_backward(z));
    ck_assert_f64(grad1(x), 8);
    ck_assert_f64(ag_item(ag_grad_of(u)), 1);

    /* Across steps, without zeroing, gradients keep adding up. */
    ag_tape_reset(NULL);
    z = ag_mul_scalar(x, 10);
    ck_assert(ag_backward(z));
    ck_assert_f64(grad1(x), 18);
}
END_TEST

START_TEST(test_zero_grad)
{
    ag_tensor *w = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_tensor *l = ag_sum(ag_mul(w, w));
    ck_assert(ag_backward(l));
    ck_assert_values_f64(ag_grad_of(w), 2, H_VALS(2, 4));
    ag_tensor *g = ag_grad_of(w);
    ag_zero_grad(w);
    /* The buffer is kept (the steady state allocates nothing) and zeroed. */
    ck_assert_ptr_eq(ag_grad_of(w), g);
    ck_assert_values_f64(ag_grad_of(w), 2, H_VALS(0, 0));
    ag_tape_reset(NULL);
    l = ag_sum(ag_mul_scalar(w, 3));
    ck_assert(ag_backward(l));
    ck_assert_values_f64(ag_grad_of(w), 2, H_VALS(3, 3));
    /* On a leaf without a gradient, and on NULL, it does nothing harmful. */
    ag_tensor *fresh = h_param(AG_F64, 1, H_SHAPE(2), NULL);
    ag_zero_grad(fresh);
    ck_assert_ptr_null(ag_grad_of(fresh));
    ck_assert_ok();
    ag_zero_grad(NULL);
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

/* A small network that reaches every case of the kernel path: a weight's
 * gradient from a GEMM, a bias broadcast over the batch and used by two
 * nodes (its gradient accumulates), an intermediate consumed three times,
 * x*x (one input twice: the rule runs), leaves given to several ops. */
static ag_tensor *kernel_net(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *x = in[0], *W1 = in[1], *b1 = in[2], *W2 = in[3];
    ag_tensor *h = ag_relu(ag_add(ag_matmul(x, W1), b1));
    ag_tensor *t = ag_sum(ag_tanh(ag_matmul(h, W2)));
    ag_tensor *s = ag_mean(ag_mul(ag_sigmoid(h), b1));
    ag_tensor *q = ag_sum(ag_mul(h, h));
    ag_tensor *r = ag_sum(ag_div(ag_sub(ag_exp(ag_mul_scalar(h, 0.1)), ag_mean(x)), ag_add_scalar(h, 3.0)));
    return ag_add(ag_add(t, s), ag_add(ag_mul_scalar(q, 0.25), r));
}

/* Inputs: x (5,3) and W1 (3,4) against each other, b1 (4), W2 (4,2). */
static void kernel_net_inputs(ag_dtype dt, ag_tensor **in)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    const int64_t shapes[4][2] = {{5, 3}, {3, 4}, {4, 0}, {4, 2}};
    const int nd[4] = {2, 2, 1, 2};
    for (int i = 0; i < 4; i++) {
        in[i] = h_rand(dt, nd[i], shapes[i], -1.0, 1.0, &rng);
        ck_assert(ag_set_requires_grad(in[i], true));
    }
}

/* Copies the four gradients (ag_grad_of, so a lazily zeroed one reads 0). */
static void grads_of(ag_tensor *const *in, double (*g)[20])
{
    for (int i = 0; i < 4; i++) {
        const ag_tensor *gi = ag_grad_of(in[i]);
        ck_assert(ag_numel(in[i]) <= 20);
        for (size_t e = 0; e < ag_numel(in[i]); e++)
            g[i][e] = gi ? ag_get_flat(gi, e) : 0.0;
    }
}

/* The kernels give the rules' gradients (run with the kernels off), both
 * into fresh buffers, into buffers marked zero, and added to gradients
 * already there; and the result matches finite differences. */
START_TEST(test_kernels_match_rules)
{
    ag_dtype dt = _i ? AG_F32 : AG_F64;
    double rtol = _i ? H_RTOL_F32 : H_RTOL_F64, atol = _i ? H_ATOL_F32 : H_ATOL_F64;
    ag_tensor *in[4];
    kernel_net_inputs(dt, in);
    double rule[4][20] = {{0}}, kern[4][20] = {{0}}, twice[4][20] = {{0}};
    ck_assert(ag_set_grad_kernels(false));
    ck_assert_msg(ag_backward(kernel_net(in, NULL)), "%s", ag_last_error());
    grads_of(in, rule);
    ag_tape_reset(NULL);
    ck_assert(!ag_set_grad_kernels(true));
    for (int i = 0; i < 4; i++)
        ag_zero_grad(in[i]);
    ck_assert_msg(ag_backward(kernel_net(in, NULL)), "%s", ag_last_error());
    grads_of(in, kern);
    /* Without ag_zero_grad, a second backward adds the same again. */
    ag_tape_reset(NULL);
    ck_assert_msg(ag_backward(kernel_net(in, NULL)), "%s", ag_last_error());
    grads_of(in, twice);
    for (int i = 0; i < 4; i++)
        for (size_t e = 0; e < ag_numel(in[i]); e++) {
            ck_assert_msg(h_near(kern[i][e], rule[i][e], rtol, atol),
                          "input %d element %zu: kernels %.17g, rules %.17g", i, e, kern[i][e],
                          rule[i][e]);
            ck_assert_msg(h_near(twice[i][e], 2 * rule[i][e], rtol, atol),
                          "input %d element %zu after two sweeps: %.17g, want %.17g", i, e,
                          twice[i][e], 2 * rule[i][e]);
        }
    /* A gradient marked zero reads as zeros, and the next sweep writes over
     * whatever the buffer held. */
    ag_tape_reset(NULL);
    for (int i = 0; i < 4; i++) {
        ag_zero_grad(in[i]);
        const ag_tensor *g = ag_grad_of(in[i]);
        for (size_t e = 0; e < ag_numel(in[i]); e++)
            ck_assert_double_eq(ag_get_flat(g, e), 0.0);
        ag_zero_grad(in[i]);
    }
    ck_assert_msg(ag_backward(kernel_net(in, NULL)), "%s", ag_last_error());
    grads_of(in, twice);
    for (int i = 0; i < 4; i++)
        for (size_t e = 0; e < ag_numel(in[i]); e++)
            ck_assert_msg(h_near(twice[i][e], rule[i][e], rtol, atol),
                          "input %d element %zu after zero_grad: %.17g, want %.17g", i, e,
                          twice[i][e], rule[i][e]);
    ag_tape_reset(NULL);
    if (dt == AG_F64) {
        char msg[4096];
        ck_assert_msg(h_gradcheck(kernel_net, NULL, 4, in, msg, sizeof msg), "%s", msg);
    }
}
END_TEST

/* ---- seeds ---- */

START_TEST(test_backward_seed)
{
    /* y = x² elementwise; the VJP with seed s is 2 x s. */
    ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, -2, 3, 0.5));
    ag_tensor *s = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 10, -1, 4));
    ag_tensor *y = ag_mul(x, x);
    ck_assert(ag_backward_seed(y, s));
    ck_assert_values_f64(ag_grad_of(x), 4, H_VALS(2, -40, -6, 4));
    ag_zero_grad(x);

    /* A scalar output with an explicit seed scales the gradient. */
    ag_tensor *t = ag_sum(y);
    ag_tensor *two = h_scalar(AG_F64, 2);
    ck_assert(ag_backward_seed(t, two));
    ck_assert_values_f64(ag_grad_of(x), 4, H_VALS(4, -8, 12, 2));

    /* The general form with a NULL seed is plain backward. */
    ag_zero_grad(x);
    ck_assert(ag_backward_ex(t, NULL, false));
    ck_assert_values_f64(ag_grad_of(x), 4, H_VALS(2, -4, 6, 1));

    /* Wrong seeds. */
    ag_tensor *bad = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert(!ag_backward_seed(y, bad));
    ck_assert_error(AG_ERR_SHAPE, "(4)");
    ag_error_clear();
    ck_assert(!ag_backward_seed(y, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_tensor *s32 = h_arr(AG_F32, 2, H_SHAPE(2, 2), NULL);
    ck_assert(!ag_backward_seed(y, s32));
    ck_assert_status(AG_ERR_DTYPE);
}
END_TEST

/* ---- errors of backward ---- */

START_TEST(test_backward_errors)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *y = ag_mul(x, x);

    ck_assert(!ag_backward(y));
    ck_assert_error(AG_ERR_SHAPE, "(3)");
    ck_assert_ptr_null(ag_grad_of(x));
    ag_error_clear();

    ag_tensor *c = h_arr(AG_F64, 1, H_SHAPE(1), H_VALS(2));
    ag_tensor *k = ag_mul(c, c);
    ck_assert(!ag_backward(k));
    ck_assert_status(AG_ERR_STATE);
    ag_error_clear();
    ck_assert(!ag_backward(c));
    ck_assert_status(AG_ERR_STATE);
    ag_error_clear();

    ck_assert(!ag_backward(NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();

    ag_tensor *l = ag_sum(y);
    ck_assert_tensor(l);
    ag_tape_reset(NULL);
    ck_assert(!ag_backward(l));
    ck_assert_error(AG_ERR_STALE, "reset");
    ck_assert_ptr_null(ag_grad_of(x));
}
END_TEST

/* A hook that tries to start a sweep inside a sweep. */
typedef struct reentry {
    ag_tensor *other;
    int calls;
    bool inner_ok;
    ag_status inner_status;
} reentry;

static void reenter(void *ctx, const ag_tensor *node, const ag_tensor *grad_out, int n_inputs,
                    ag_tensor *const *inputs, ag_tensor *const *grad_in)
{
    (void)node, (void)grad_out, (void)n_inputs, (void)inputs, (void)grad_in;
    reentry *r = ctx;
    if (r->calls++ == 0) {
        r->inner_ok = ag_backward(r->other);
        r->inner_status = ag_last_status();
    }
}

START_TEST(test_backward_inside_backward)
{
    ag_tensor *x = h_pscalar(AG_F64, 2);
    reentry r = {0};
    r.other = ag_mul(x, x);
    ag_tensor *y = ag_exp(x);
    ag_set_backward_hook(reenter, &r);
    ag_backward(y);
    ag_set_backward_hook(NULL, NULL);
    ck_assert_int_eq(r.calls, 1);
    ck_assert(!r.inner_ok);
    ck_assert_int_eq(r.inner_status, AG_ERR_STATE);
}
END_TEST

/* ---- the hook sees every node ---- */

typedef struct trace {
    int calls;
    long order[8];
} trace;

static void record(void *ctx, const ag_tensor *node, const ag_tensor *grad_out, int n_inputs,
                   ag_tensor *const *inputs, ag_tensor *const *grad_in)
{
    (void)grad_out, (void)inputs, (void)grad_in, (void)n_inputs;
    trace *t = ctx;
    if (t->calls < 8)
        t->order[t->calls] = ag_node_index(node);
    t->calls++;
}

START_TEST(test_hook_order)
{
    ag_tensor *x = h_pscalar(AG_F64, 0.5);
    ag_tensor *a = ag_exp(x);        /* node 0 */
    ag_tensor *b = ag_mul(a, x);     /* node 1 */
    ag_tensor *dead = ag_neg(x);     /* node 2: not reachable from c */
    ag_tensor *c = ag_add_scalar(b, 1); /* node 3 */
    ck_assert_tensor(dead);
    trace t = {0};
    ag_set_backward_hook(record, &t);
    ck_assert(ag_backward(c));
    ag_set_backward_hook(NULL, NULL);
    ck_assert_int_eq(t.calls, 3);
    ck_assert_int_eq(t.order[0], 3);
    ck_assert_int_eq(t.order[1], 1);
    ck_assert_int_eq(t.order[2], 0);
    ck_assert_f64(grad1(x), exp(0.5) * 1.5);
}
END_TEST

/* ---- deep chains ---- */

static size_t chain_length(void)
{
    return h_valgrind() ? 20000 : 1000000;
}

START_TEST(test_long_mul_chain)
{
    /* y = x · c^N through N mul_scalar nodes: dy/dx = c^N. Every node is
     * visited by the sweep; a recursive sweep would overflow the stack. */
    size_t n = chain_length();
    const double c = 1 + 1e-6;
    ag_tape *tape = h_tape();
    ag_tape *prev = ag_tape_use(tape);
    ag_tensor *x = h_pscalar(AG_F64, 0.5);
    ag_tensor *y = x;
    for (size_t i = 0; i < n && y; i++)
        y = ag_mul_scalar(y, c);
    ck_assert_tensor(y);
    ck_assert_uint_eq(ag_tape_size(tape), n);
    ck_assert(ag_backward(y));
    /* N roundings of relative size 1e-16 each: 1e-9 relative is ample. */
    double want = pow(c, (double)n);
    ck_assert_near(grad1(x), want, 1e-9, 0);
    ck_assert_near(ag_item(y), 0.5 * want, 1e-9, 0);
    ag_tape_use(prev);
}
END_TEST

START_TEST(test_long_add_chain)
{
    /* y = x + x + ... + x (N + 1 terms, N add nodes): dy/dx = N + 1, the
     * leaf's gradient accumulated N + 1 times. */
    size_t n = chain_length();
    ag_tape *tape = h_tape();
    ag_tape *prev = ag_tape_use(tape);
    ag_tensor *x = h_pscalar(AG_F64, 0.5);
    ag_tensor *y = x;
    for (size_t i = 0; i < n && y; i++)
        y = ag_add(y, x);
    ck_assert_tensor(y);
    ck_assert(ag_backward(y));
    ck_assert(grad1(x) == (double)(n + 1));
    ck_assert(ag_item(y) == 0.5 * (double)(n + 1));
    ag_tape_use(prev);
}
END_TEST

/* ---- second order ---- */

START_TEST(test_create_graph_second_derivative)
{
    /* f = x³ (as x·x·x): f' = 3x², f'' = 6x. */
    double xv = 1.5;
    ag_tensor *x = h_pscalar(AG_F64, xv);
    ag_tensor *f = ag_mul(ag_mul(x, x), x);
    ck_assert(ag_backward_ex(f, NULL, true));
    ag_tensor *g = ag_grad_of(x);
    ck_assert_tensor(g);
    ck_assert_f64(ag_item(g), 3 * xv * xv);
    ck_assert(ag_requires_grad(g));
    ag_zero_grad(x); /* forget the graph gradient before differentiating it */
    ck_assert(ag_backward(g));
    ck_assert_f64(grad1(x), 6 * xv);

    /* A mixed partial: h = x² y, dh/dx = 2xy, d(dh/dx)/dy = 2x. */
    ag_tape_reset(NULL);
    ag_zero_grad(x);
    ag_tensor *y = h_pscalar(AG_F64, -0.75);
    ag_tensor *h = ag_mul(ag_mul(x, x), y);
    ck_assert(ag_backward_ex(h, NULL, true));
    ag_tensor *hx = ag_grad_of(x);
    ck_assert_f64(ag_item(hx), 2 * xv * -0.75);
    ag_zero_grad(x);
    ag_zero_grad(y);
    ck_assert(ag_backward(hx));
    ck_assert_f64(grad1(y), 2 * xv);
    ck_assert_f64(grad1(x), 2 * -0.75);
}
END_TEST

Suite *backward_suite(void);
Suite *backward_suite(void)
{
    Suite *s = suite_create("backward");
    TCase *tc = h_tcase(s, "scalar expressions", H_TIMEOUT);
    tcase_add_test(tc, test_scalar_expressions);
    tcase_add_test(tc, test_f32_expression);
    tc = h_tcase(s, "graph shapes", H_TIMEOUT);
    tcase_add_test(tc, test_fan_out_accumulates);
    tcase_add_test(tc, test_diamond);
    tcase_add_test(tc, test_unused_and_constant_inputs);
    tcase_add_test(tc, test_backward_of_a_leaf);
    tcase_add_test(tc, test_hook_order);
    tc = h_tcase(s, "accumulation", H_TIMEOUT);
    tcase_add_test(tc, test_backward_twice_accumulates);
    tcase_add_test(tc, test_zero_grad);
    tc = h_tcase(s, "kernels", H_TIMEOUT);
    tcase_add_loop_test(tc, test_kernels_match_rules, 0, 2);
    tc = h_tcase(s, "seeds", H_TIMEOUT);
    tcase_add_test(tc, test_backward_seed);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_backward_errors);
    tcase_add_test(tc, test_backward_inside_backward);
    tc = h_tcase(s, "deep chains", 300);
    tcase_add_test(tc, test_long_mul_chain);
    tcase_add_test(tc, test_long_add_chain);
    tc = h_tcase(s, "second order", H_TIMEOUT);
    tcase_add_test(tc, test_create_graph_second_derivative);
    return s;
}

H_MAIN(backward_suite)

/* SPDX-License-Identifier: MIT */
/* check-higher.c — gradients of gradients: ag_grad, create_graph, Hessians,
 * Hessian-vector products, Jacobians, JVPs and the second-order checker.
 *
 * Expected values come from closed forms written here (tanh's derivatives,
 * 2I for a sum of squares, Xᵀ diag(p(1−p)) X / n + λI for logistic
 * regression) or from finite differences of the analytic gradient. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

/* d/dx, d²/dx², d³/dx³ of tanh at 0.3 through three recorded sweeps. */
START_TEST(test_third_derivative_of_tanh)
{
    double x0 = 0.3, t = tanh(x0), s = 1 - t * t;
    ag_tensor *x = h_pscalar(AG_F64, x0);
    ag_tensor *y = ag_tanh(x), *g1, *g2, *g3;
    ck_assert(ag_grad(1, &y, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &g1));
    ck_assert(ag_grad(1, &g1, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &g2));
    ck_assert(ag_grad(1, &g2, NULL, 1, &x, 0, &g3));
    ck_assert_f64(ag_item(g1), s);
    ck_assert_f64(ag_item(g2), -2 * t * s);
    ck_assert_f64(ag_item(g3), -2 * s * s + 4 * t * t * s);
}
END_TEST

/* The same through ag_backward_ex(create_graph): x.grad is a graph tensor. */
START_TEST(test_backward_create_graph)
{
    ag_tensor *x = h_pscalar(AG_F64, 1.5);
    ag_tensor *y = ag_mul(ag_mul(x, x), x); /* x³ */
    ck_assert(ag_backward_ex(y, NULL, true));
    ag_tensor *g = ag_grad_of(x);           /* 3x² as an expression */
    ck_assert_tensor(g);
    ck_assert(!ag_is_leaf(g));
    ck_assert_f64(ag_item(g), 3 * 1.5 * 1.5);
    ag_tensor *h;
    ck_assert(ag_grad(1, &g, NULL, 1, &x, 0, &h));
    ck_assert_f64(ag_item(h), 6 * 1.5);
    ag_zero_grad(x);
    ck_assert(ag_grad_of(x) == NULL);
}
END_TEST

START_TEST(test_grad_leaves_dot_grad_alone)
{
    ag_tensor *a = h_pscalar(AG_F64, 2.0), *b = h_pscalar(AG_F64, -3.0);
    ag_tensor *y = ag_mul(a, b);
    ag_tensor *g[2];
    ck_assert(ag_grad(1, &y, NULL, 2, (ag_tensor *[]){a, b}, 0, g));
    ck_assert_f64(ag_item(g[0]), -3.0);
    ck_assert_f64(ag_item(g[1]), 2.0);
    ck_assert(ag_grad_of(a) == NULL && ag_grad_of(b) == NULL);
}
END_TEST

START_TEST(test_grad_unused_input)
{
    ag_tensor *a = h_pscalar(AG_F64, 2.0), *c = h_pscalar(AG_F64, 5.0);
    ag_tensor *y = ag_mul(a, a);
    ag_tensor *g[2];
    ck_assert(!ag_grad(1, &y, NULL, 2, (ag_tensor *[]){a, c}, 0, g));
    ck_assert_error(AG_ERR_STATE, "does not influence");
    ag_error_clear();
    ck_assert(ag_grad(1, &y, NULL, 2, (ag_tensor *[]){a, c}, AG_GRAD_ALLOW_UNUSED, g));
    ck_assert_f64(ag_item(g[0]), 4.0);
    ck_assert_f64(ag_item(g[1]), 0.0);
}
END_TEST

/* Several outputs with seeds: d(2·y1 + 3·y2)/dx. */
START_TEST(test_grad_several_outputs)
{
    ag_tensor *x = h_pscalar(AG_F64, 0.5);
    ag_tensor *y1 = ag_exp(x), *y2 = ag_mul(x, x);
    ag_tensor *s[2] = {h_scalar(AG_F64, 2.0), h_scalar(AG_F64, 3.0)};
    ag_tensor *g;
    ck_assert(ag_grad(2, (ag_tensor *[]){y1, y2}, s, 1, &x, 0, &g));
    ck_assert_f64(ag_item(g), 2 * exp(0.5) + 3 * 2 * 0.5);
}
END_TEST

/* An intermediate as the input: dL/dz for z = 2x, L = z². */
START_TEST(test_grad_of_intermediate)
{
    ag_tensor *x = h_pscalar(AG_F64, 1.25);
    ag_tensor *z = ag_mul_scalar(x, 2.0);
    ag_tensor *L = ag_mul(z, z);
    ag_tensor *g;
    ck_assert(ag_grad(1, &L, NULL, 1, &z, 0, &g));
    ck_assert_f64(ag_item(g), 2 * 2.5);
}
END_TEST

/* ag_grad's contract: no tensor's ag_grad_of changes, intermediates' included
 * (the probe: h = x², y = 5h; after backward h's gradient is 5, and an
 * ag_grad(h, x) in between must not leave 1 there). */
START_TEST(test_grad_leaves_intermediate_grads_alone)
{
    for (int create = 0; create < 2; create++) {
        ag_tensor *x = h_pscalar(AG_F64, 3.0);
        ag_tensor *h = ag_mul(x, x), *y = ag_mul_scalar(h, 5.0);
        ck_assert(ag_backward(y));
        ck_assert_f64(ag_item(ag_grad_of(h)), 5.0);
        ck_assert_f64(ag_item(ag_grad_of(x)), 30.0);
        ag_tensor *g;
        ck_assert(ag_grad(1, &h, NULL, 1, &x, create ? AG_GRAD_CREATE_GRAPH : 0, &g));
        ck_assert_f64(ag_item(g), 6.0);
        ck_assert_f64(ag_item(ag_grad_of(h)), 5.0);
        ck_assert_f64(ag_item(ag_grad_of(y)), 1.0);
        ck_assert_f64(ag_item(ag_grad_of(x)), 30.0);
        /* ... and a gradient with respect to the intermediate itself */
        ck_assert(ag_grad(1, &y, NULL, 1, &h, 0, &g));
        ck_assert_f64(ag_item(g), 5.0);
        ck_assert_f64(ag_item(ag_grad_of(h)), 5.0);
        /* a later backward still starts afresh from the intermediates */
        ag_zero_grad(x);
        ck_assert(ag_backward(y));
        ck_assert_f64(ag_item(ag_grad_of(h)), 5.0);
        ck_assert_f64(ag_item(ag_grad_of(x)), 30.0);
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_hessian_sum_of_squares)
{
    ag_tensor *v = h_param(AG_F64, 1, H_SHAPE(4), H_VALS(1, -2, 0.5, 3));
    ag_tensor *H = ag_hessian(ag_sum(ag_square(v)), v);
    ck_assert_shape(H, 2, H_SHAPE(4, 4));
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            ck_assert_f64(ag_get_flat(H, (size_t)(i * 4 + j)), i == j ? 2.0 : 0.0);
}
END_TEST

/* Logistic regression: H = Xᵀ diag(p(1−p)) X / n + λ I, and H·v. */
START_TEST(test_hessian_logistic_regression)
{
    enum { N = 7, D = 3 };
    ag_rng rng;
    ag_rng_seed(&rng, 99);
    ag_tensor *X = h_rand(AG_F64, 2, H_SHAPE(N, D), -2, 2, &rng);
    double yv[N] = {1, 0, 0, 1, 1, 0, 1};
    ag_tensor *y = h_arr(AG_F64, 2, H_SHAPE(N, 1), yv);
    ag_tensor *w = h_param(AG_F64, 2, H_SHAPE(D, 1), H_VALS(0.3, -0.7, 0.2));
    const double lambda = 0.05;
    ag_tensor *L = ag_add(ag_bce_with_logits(ag_matmul(X, w), y, AG_REDUCE_MEAN),
                          ag_mul_scalar(ag_sum(ag_square(w)), 0.5 * lambda));
    ag_tensor *H = ag_hessian(L, w);
    ck_assert_shape(H, 2, H_SHAPE(D, D));
    double want[D][D] = {{0}};
    for (int i = 0; i < N; i++) {
        double z = 0;
        for (int k = 0; k < D; k++)
            z += ag_get_flat(X, (size_t)(i * D + k)) * ag_get_flat(w, (size_t)k);
        double p = 1 / (1 + exp(-z));
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++)
                want[a][b] += ag_get_flat(X, (size_t)(i * D + a)) * p * (1 - p) *
                              ag_get_flat(X, (size_t)(i * D + b)) / N;
    }
    for (int a = 0; a < D; a++)
        want[a][a] += lambda;
    for (int a = 0; a < D; a++)
        for (int b = 0; b < D; b++)
            ck_assert_near(ag_get_flat(H, (size_t)(a * D + b)), want[a][b], 1e-12, 1e-14);
    ag_tensor *v = h_arr(AG_F64, 2, H_SHAPE(D, 1), H_VALS(1, -1, 2));
    ag_tensor *Hv = ag_hvp(L, w, v);
    ck_assert_shape(Hv, 2, H_SHAPE(D, 1));
    for (int a = 0; a < D; a++)
        ck_assert_near(ag_get_flat(Hv, (size_t)a), want[a][0] - want[a][1] + 2 * want[a][2], 1e-12,
                       1e-14);
}
END_TEST

/* A small tanh MLP: its Hessian against central differences of its
 * analytic gradient. */
typedef struct mlp_ctx {
    ag_tensor *X, *W2;
} mlp_ctx;

static ag_tensor *mlp_loss(ag_tensor *W1, const mlp_ctx *c)
{
    return ag_mean(ag_square(ag_matmul(ag_tanh(ag_matmul(c->X, W1)), c->W2)));
}

START_TEST(test_hessian_tanh_mlp_vs_differences)
{
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    mlp_ctx c = {h_rand(AG_F64, 2, H_SHAPE(4, 2), -1, 1, &rng),
                 h_rand(AG_F64, 2, H_SHAPE(3, 1), -1, 1, &rng)};
    ag_tensor *W1 = h_rand(AG_F64, 2, H_SHAPE(2, 3), -1, 1, &rng);
    ag_set_requires_grad(W1, true);
    ag_tensor *H = ag_hessian(mlp_loss(W1, &c), W1);
    ck_assert_shape(H, 2, H_SHAPE(6, 6));
    const double eps = 1e-5;
    for (size_t j = 0; j < 6; j++) {
        double w0 = ag_get_flat(W1, j);
        double gp[6], gm[6];
        for (int side = 0; side < 2; side++) {
            ag_set_flat(W1, j, w0 + (side ? -eps : eps));
            ag_tensor *L = mlp_loss(W1, &c), *g;
            ck_assert(ag_grad(1, &L, NULL, 1, &W1, 0, &g));
            for (size_t i = 0; i < 6; i++)
                (side ? gm : gp)[i] = ag_get_flat(g, i);
        }
        ag_set_flat(W1, j, w0);
        for (size_t i = 0; i < 6; i++)
            ck_assert_near(ag_get_flat(H, i * 6 + j), (gp[i] - gm[i]) / (2 * eps), 1e-6, 1e-8);
    }
}
END_TEST

START_TEST(test_jacobian_and_jvp)
{
    ag_tensor *v = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *y = ag_mul(ag_mul(v, v), ag_sum(v)); /* y_i = v_i² Σv */
    ag_tensor *J = ag_jacobian(y, v);
    ck_assert_shape(J, 2, H_SHAPE(3, 3));
    double vs[3] = {1, 2, 3}, S = 6;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            ck_assert_f64(ag_get_flat(J, (size_t)(i * 3 + j)),
                          (i == j ? 2 * vs[i] * S : 0) + vs[i] * vs[i]);
    ag_tensor *d = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(1, 0, -1));
    ag_tensor *Jd = ag_jvp(y, v, d);
    ck_assert_shape(Jd, 1, H_SHAPE(3));
    for (int i = 0; i < 3; i++) {
        double want = 0;
        for (int j = 0; j < 3; j++)
            want += ((i == j ? 2 * vs[i] * S : 0) + vs[i] * vs[i]) * (double[]){1, 0, -1}[j];
        ck_assert_f64(ag_get_flat(Jd, (size_t)i), want);
    }
}
END_TEST

typedef struct sweep {
    int checked, failed;
    char first[256];
} sweep;

static void second_order(const ag_op *op, void *ctx)
{
    sweep *s = ctx;
    const ag_op_def *def = ag_op_info(op);
    if (def->first_order)
        return;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ag_gradcheck_report rep;
        ag_gradcheck_opts o = h_gradcheck_opts();
        o.seed = seed;
        if (!ag_gradgradcheck_op(op, seed, &o, &rep)) {
            if (!s->failed++)
                snprintf(s->first, sizeof s->first, "%s (seed %llu): %s", def->name,
                         (unsigned long long)seed, ag_last_error());
            return;
        }
    }
    s->checked++;
}

START_TEST(test_gradgradcheck_registry)
{
    sweep s = {0};
    ag_op_foreach(second_order, &s);
    ck_assert_msg(s.failed == 0, "%d ops fail at second order; first: %s", s.failed, s.first);
    ck_assert_int_ge(s.checked, 50);
}
END_TEST

/* A rule that is right at first order but built from a raw value, so its
 * own derivative is wrong: gradgradcheck must notice. */
static ag_tensor *cube_apply(ag_tensor *const *in, const void *p);
static const ag_op *CUBE;

static bool cube_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    /* 3x² computed as a constant tensor: correct value, no dependence on x. */
    ag_tensor *x = ag_node_input(y, 0);
    ag_tensor *d = ag_detach(ag_mul_scalar(ag_mul(x, x), 3.0));
    return (gin[0] = ag_mul(g, d)) != NULL;
}

static ag_tensor *cube_apply(ag_tensor *const *in, const void *p)
{
    (void)p;
    ag_tensor *x = in[0];
    if (!ag_check_inputs("cube_detached", 1, &x))
        return NULL;
    ag_tensor *y = ag_op_result(CUBE, ag_tensor_dtype(x), ag_ndim(x), ag_shape(x), 1, &x, NULL, 0);
    for (size_t i = 0; y && i < ag_numel(x); i++) {
        double v = ag_get_flat(x, i);
        if (ag_tensor_dtype(x) == AG_F64)
            ((double *)ag_data(y))[i] = v * v * v;
        else
            ((float *)ag_data(y))[i] = (float)(v * v * v);
    }
    return y;
}

START_TEST(test_gradgradcheck_catches_detached_rule)
{
    CUBE = ag_op_find("cube_detached"); /* registered anew after each shutdown */
    if (!CUBE) {
        ag_error_clear();
        CUBE = ag_op_register(&(ag_op_def){.name = "cube_detached", .n_inputs = 1,
                                           .forward = cube_apply, .vjp = cube_vjp,
                                           .domain_lo = -2, .domain_hi = 2});
    }
    ck_assert_tensor(CUBE);
    ag_gradcheck_report rep;
    ck_assert(ag_gradcheck_op(CUBE, 1, NULL, &rep));
    ck_assert(!ag_gradgradcheck_op(CUBE, 1, NULL, &rep));
    ck_assert(!rep.pass);
}
END_TEST

static Suite *higher_suite(void)
{
    Suite *s = suite_create("higher");
    TCase *tc = h_tcase(s, "grad", H_TIMEOUT);
    tcase_add_test(tc, test_third_derivative_of_tanh);
    tcase_add_test(tc, test_backward_create_graph);
    tcase_add_test(tc, test_grad_leaves_dot_grad_alone);
    tcase_add_test(tc, test_grad_unused_input);
    tcase_add_test(tc, test_grad_several_outputs);
    tcase_add_test(tc, test_grad_of_intermediate);
    tcase_add_test(tc, test_grad_leaves_intermediate_grads_alone);
    tc = h_tcase(s, "hessians", H_TIMEOUT);
    tcase_add_test(tc, test_hessian_sum_of_squares);
    tcase_add_test(tc, test_hessian_logistic_regression);
    tcase_add_test(tc, test_hessian_tanh_mlp_vs_differences);
    tcase_add_test(tc, test_jacobian_and_jvp);
    tc = h_tcase(s, "second-order checks", 300);
    tcase_add_test(tc, test_gradgradcheck_registry);
    tcase_add_test(tc, test_gradgradcheck_catches_detached_rule);
    return s;
}

H_MAIN(higher_suite)

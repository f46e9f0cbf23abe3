/* SPDX-License-Identifier: MIT */
/* check-large_graphs.c — every API that walks a graph, on graphs of 10⁵ nodes.
 *
 * The bugs found by probing were of the kind "bigger than a buffer": a
 * create_graph sweep kept a pointer to the tape's node list while recording
 * into it, and a 3,000-node chain was enough to move the list under it.
 * So each graph-walking API runs here on a chain long enough to reallocate
 * every buffer many times over.
 *
 * The chain is y₀ = x, y_{k+1} = y_k + c·tanh(y_k) (three nodes per level:
 * tanh, mul_scalar, add) with c = 1/levels, so that f = y_L stays O(1) and
 * its derivatives neither vanish nor explode. Expected values come from
 * forward-mode recurrences written here from the chain rule:
 *   f'_{k+1}  = f'_k (1 + c s_k),                       s_k = 1 − tanh²(y_k)
 *   f''_{k+1} = f''_k (1 + c s_k) + f'_k² c s'_k,       s'_k = −2 tanh(y_k) s_k
 * and from finite differences of the engine's first derivative. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

/* Levels for about 10⁵ recorded nodes (3 per level), and the 1,500-level
 * chain of tanh(1.5·y) that the probe crashed on. */
enum { LEVELS = 33334, PROBE_LEVELS = 1500 };

typedef struct chain_ref {
    double f, d1, d2;
} chain_ref;

static chain_ref chain_by_hand(double x, int levels)
{
    double c = 1.0 / levels, y = x, d1 = 1, d2 = 0;
    for (int k = 0; k < levels; k++) {
        double t = tanh(y), s = 1 - t * t, ds = -2 * t * s;
        d2 = d2 * (1 + c * s) + d1 * d1 * c * ds;
        d1 = d1 * (1 + c * s);
        y = y + c * t;
    }
    return (chain_ref){y, d1, d2};
}

static ag_tensor *chain(ag_tensor *x, int levels)
{
    double c = 1.0 / levels;
    ag_tensor *y = x;
    for (int k = 0; k < levels && y; k++)
        y = ag_add(y, ag_mul_scalar(ag_tanh(y), c));
    return y;
}

/* L(x0, x1) = f(x0)·f(x1): a Hessian with every entry non-zero. */
static ag_tensor *product_loss(ag_tensor *const *in, void *ctx)
{
    int levels = *(const int *)ctx;
    ag_tensor *y = chain(in[0], levels);
    ag_tensor *a = ag_sum(ag_slice(y, 0, 0, 1, 1)), *b = ag_sum(ag_slice(y, 0, 1, 2, 1));
    return ag_mul(a, b);
}

static const double X0 = 0.3, X1 = -0.7;

static void expected_hessian(int levels, double g[2], double h[4])
{
    chain_ref a = chain_by_hand(X0, levels), b = chain_by_hand(X1, levels);
    g[0] = a.d1 * b.f;
    g[1] = a.f * b.d1;
    h[0] = a.d2 * b.f;
    h[1] = h[2] = a.d1 * b.d1;
    h[3] = a.f * b.d2;
}

/* The recurrences round once per level in a different order than the
 * engine; 1e-10 relative is many orders above that and far below a wrong rule. */
#define LARGE_RTOL 1e-10
#define LARGE_ATOL 1e-12

/* The probe: 1,500 levels of tanh(1.5·y), second derivative by create_graph. */
START_TEST(test_create_graph_on_the_probe_chain)
{
    ag_tensor *x = h_pscalar(AG_F64, 0.2);
    ag_tensor *y = x;
    double v = 0.2, d1 = 1, d2 = 0;
    for (int k = 0; k < PROBE_LEVELS; k++) {
        y = ag_tanh(ag_mul_scalar(y, 1.5));
        double t = tanh(1.5 * v), s = 1 - t * t;
        d2 = d2 * 1.5 * s + d1 * d1 * 2.25 * (-2 * t * s);
        d1 = d1 * 1.5 * s;
        v = t;
    }
    ck_assert_tensor(y);
    ag_tensor *g, *h;
    ck_assert_msg(ag_grad(1, &y, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &g), "%s", ag_last_error());
    ck_assert_msg(ag_grad(1, &g, NULL, 1, &x, 0, &h), "%s", ag_last_error());
    ck_assert_near(ag_item(g), d1, LARGE_RTOL, 1e-300);
    ck_assert_near(ag_item(h), d2, LARGE_RTOL, 1e-300);
    ag_tensor *H = ag_hessian(y, x);
    ck_assert_tensor(H);
    ck_assert_near(ag_get_flat(H, 0), d2, LARGE_RTOL, 1e-300);
}
END_TEST

static ag_tensor *big_x(void)
{
    return h_param(AG_F64, 1, H_SHAPE(2), H_VALS(X0, X1));
}

START_TEST(test_backward_and_grad)
{
    int levels = LEVELS;
    double g[2], h[4];
    expected_hessian(levels, g, h);
    ag_tensor *x = big_x();
    ag_tensor *L = product_loss(&x, &levels);
    ck_assert_tensor(L);
    ck_assert_uint_ge(ag_tape_size(NULL), 100000);
    ck_assert_msg(ag_backward(L), "%s", ag_last_error());
    ck_assert_values(ag_grad_of(x), 2, g, LARGE_RTOL, LARGE_ATOL);
    /* ag_grad leaves every gradient as it was, an intermediate's included:
     * a = f(x0) has dL/da = f(x1). */
    ag_tensor *a = ag_node_input(L, 0);
    double fb = chain_by_hand(X1, levels).f;
    ck_assert_near(ag_item(ag_grad_of(a)), fb, LARGE_RTOL, LARGE_ATOL);
    ag_tensor *gx;
    ck_assert_msg(ag_grad(1, &L, NULL, 1, &x, 0, &gx), "%s", ag_last_error());
    ck_assert_values(gx, 2, g, LARGE_RTOL, LARGE_ATOL);
    ck_assert_near(ag_item(ag_grad_of(a)), fb, LARGE_RTOL, LARGE_ATOL);
    ck_assert_values(ag_grad_of(x), 2, g, LARGE_RTOL, LARGE_ATOL);
    ag_zero_grad(x);
    /* The rules without their kernels agree too. */
    bool prev = ag_set_grad_kernels(false);
    ck_assert_msg(ag_backward(L), "%s", ag_last_error());
    ag_set_grad_kernels(prev);
    ck_assert_values(ag_grad_of(x), 2, g, LARGE_RTOL, LARGE_ATOL);
}
END_TEST

START_TEST(test_second_derivatives)
{
    int levels = LEVELS;
    double g[2], h[4];
    expected_hessian(levels, g, h);
    ag_tensor *x = big_x();
    ag_tensor *L = product_loss(&x, &levels);
    ck_assert_tensor(L);

    /* create_graph, then the gradient of one component of the gradient */
    ag_tensor *gx, *h0;
    ck_assert_msg(ag_grad(1, &L, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &gx), "%s", ag_last_error());
    ck_assert_values(gx, 2, g, LARGE_RTOL, LARGE_ATOL);
    ag_tensor *g0 = ag_sum(ag_slice(gx, 0, 0, 1, 1));
    ck_assert_msg(ag_grad(1, &g0, NULL, 1, &x, 0, &h0), "%s", ag_last_error());
    ck_assert_values(h0, 2, h, LARGE_RTOL, LARGE_ATOL);

    /* ag_backward_ex with create_graph leaves a graph gradient in x */
    ck_assert_msg(ag_backward_ex(L, NULL, true), "%s", ag_last_error());
    ck_assert_values(ag_grad_of(x), 2, g, LARGE_RTOL, LARGE_ATOL);
    ag_zero_grad(x);

    ag_tensor *H = ag_hessian(L, x);
    ck_assert_values(H, 4, h, LARGE_RTOL, LARGE_ATOL);

    ag_tensor *v = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(1.0, -2.0));
    double hv[2] = {h[0] - 2 * h[1], h[2] - 2 * h[3]};
    ck_assert_values(ag_hvp(L, x, v), 2, hv, LARGE_RTOL, LARGE_ATOL);

    /* Jacobian and JVP of the vector chain: diag(f'(x0), f'(x1)) */
    ag_tensor *y = chain(x, levels);
    double d0 = chain_by_hand(X0, levels).d1, d1 = chain_by_hand(X1, levels).d1;
    ck_assert_values(ag_jacobian(y, x), 4, ((double[]){d0, 0, 0, d1}), LARGE_RTOL, LARGE_ATOL);
    ck_assert_values(ag_jvp(y, x, v), 2, ((double[]){d0, -2 * d1}), LARGE_RTOL, LARGE_ATOL);
}
END_TEST

/* The second derivative against finite differences of the engine's own
 * first derivative (central, h = 1e-5: truncation ~1e-10 relative). */
START_TEST(test_second_derivative_vs_differences_of_the_first)
{
    int levels = LEVELS;
    double eps = 1e-5, fd[4];
    for (int j = 0; j < 2; j++) {
        double gp[2], gm[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            double xs[2] = {X0, X1};
            xs[j] += sgn ? -eps : eps;
            ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), xs);
            ag_tensor *gx, *L = product_loss(&x, &levels);
            ck_assert_msg(L && ag_grad(1, &L, NULL, 1, &x, 0, &gx), "%s", ag_last_error());
            for (int i = 0; i < 2; i++)
                (sgn ? gm : gp)[i] = ag_get_flat(gx, i);
            ag_tape_reset(NULL);
        }
        for (int i = 0; i < 2; i++)
            fd[i * 2 + j] = (gp[i] - gm[i]) / (2 * eps);
    }
    ag_tensor *x = big_x();
    ag_tensor *H = ag_hessian(product_loss(&x, &levels), x);
    ck_assert_values(H, 4, fd, 1e-6, 1e-8);
}
END_TEST

START_TEST(test_gradcheck_and_gradgradcheck)
{
    int levels = LEVELS;
    ag_tensor *x = big_x();
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    ck_assert_msg(ag_gradcheck(product_loss, &levels, 1, &x, &o, &rep), "%s", ag_last_error());
    ck_assert_msg(ag_gradgradcheck(product_loss, &levels, 1, &x, &o, &rep), "%s",
                  ag_last_error());
}
END_TEST

START_TEST(test_gradcheck_nodes)
{
    int levels = LEVELS;
    ag_tensor *x = big_x();
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_nodes_report rep;
    ck_assert_msg(ag_gradcheck_nodes(product_loss, &levels, 1, &x, &o, &rep), "%s",
                  ag_last_error());
    ck_assert_uint_ge(rep.n_nodes, 100000);
    ck_assert_uint_eq(rep.n_checked, rep.n_nodes);
}
END_TEST

/* A hook sees every node once; the trace hook prints each of them. */
static void count_hook(void *ctx, const ag_tensor *node, const ag_tensor *g, int n,
                       ag_tensor *const *in, ag_tensor *const *gin)
{
    (void)node, (void)g, (void)n, (void)in, (void)gin;
    ++*(size_t *)ctx;
}

START_TEST(test_hooks_explain_and_dot)
{
    int levels = LEVELS;
    double g[2], h[4];
    expected_hessian(levels, g, h);
    ag_tensor *x = big_x();
    ag_tensor *L = product_loss(&x, &levels);
    ck_assert_tensor(L);
    size_t recorded = ag_tape_size(NULL), seen = 0;
    ag_set_backward_hook(count_hook, &seen);
    bool ok = ag_backward(L);
    ag_set_backward_hook(NULL, NULL);
    ck_assert_msg(ok, "%s", ag_last_error());
    ck_assert_uint_eq(seen, recorded);

    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ag_zero_grad(x);
    ag_set_backward_hook(ag_trace_hook, f);
    ok = ag_backward(L);
    ag_set_backward_hook(NULL, NULL);
    ck_assert_msg(ok, "%s", ag_last_error());
    ck_assert_values(ag_grad_of(x), 2, g, LARGE_RTOL, LARGE_ATOL);
    ck_assert_int_gt(ftell(f), (long)recorded); /* at least a byte per node */

    ag_explanation ex;
    rewind(f);
    ck_assert_msg(ag_explain(f, L, x, 1, 6, &ex), "%s", ag_last_error());
    ck_assert_near(ex.total, g[1], LARGE_RTOL, LARGE_ATOL);

    rewind(f);
    ck_assert_msg(ag_graph_dot(f, 1, &L), "%s", ag_last_error());
    ck_assert_int_gt(ftell(f), (long)recorded);
    fclose(f);
}
END_TEST

static Suite *large_graphs_suite(void)
{
    Suite *s = suite_create("large_graphs");
    TCase *tc = h_tcase(s, "probe", H_TIMEOUT);
    tcase_add_test(tc, test_create_graph_on_the_probe_chain);
    tc = h_tcase(s, "1e5 nodes", 600);
    tcase_add_test(tc, test_backward_and_grad);
    tcase_add_test(tc, test_second_derivatives);
    tcase_add_test(tc, test_second_derivative_vs_differences_of_the_first);
    tcase_add_test(tc, test_gradcheck_and_gradgradcheck);
    tcase_add_test(tc, test_gradcheck_nodes);
    tcase_add_test(tc, test_hooks_explain_and_dot);
    return s;
}

H_MAIN(large_graphs_suite)

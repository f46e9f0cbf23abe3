/* SPDX-License-Identifier: MIT */
/* check-grad_ready.c — the grad-ready hook (ag_set_grad_ready_hook): when
 * it fires, for which leaves, how often, and that the gradient it shows is
 * the final one.
 *
 * Expected orders come from the graphs as written here: a leaf is final
 * right after the sweep passes its lowest-numbered consumer, and the sweep
 * goes from the last node recorded down to the first. Expected gradients
 * are derived by hand from the expressions (product rule), or are the
 * gradients of the same computation run without the hook. */
#include "harness.h"

#include <autograd/models.h>
#include <autograd/tools.h>

#include <stdlib.h>

/* What the hook saw: the leaves in order and a copy of each gradient's
 * first value at the time. */
#define MAX_SEEN 8
typedef struct seen {
    size_t n;
    ag_tensor *leaf[MAX_SEEN];
    double first[MAX_SEEN];
    bool had_grad[MAX_SEEN];
} seen;

static void record(void *ctx, ag_tensor *leaf)
{
    seen *s = ctx;
    if (s->n < MAX_SEEN) {
        ag_tensor *g = ag_grad_of(leaf);
        s->leaf[s->n] = leaf;
        s->had_grad[s->n] = g != NULL;
        s->first[s->n] = g ? ag_get_flat(g, 0) : NAN;
    }
    s->n++;
}

/* c * (b * (a * 2)): node 0 uses a, node 1 b, node 2 c; so c is final
 * first, then b, then a. dL/da = 2bc, dL/db = 2ac, dL/dc = 2ab. */
START_TEST(test_chain_order_and_values)
{
    ag_tensor *a = h_pscalar(AG_F64, 3), *b = h_pscalar(AG_F64, 5), *c = h_pscalar(AG_F64, 7);
    ag_tensor *two = h_scalar(AG_F64, 2);
    ag_tensor *loss = ag_mul(ag_mul(ag_mul(a, two), b), c);
    ck_assert_tensor(loss);
    seen s = {0};
    ag_set_grad_ready_hook(record, &s);
    ck_assert(ag_backward(loss));
    ag_set_grad_ready_hook(NULL, NULL);
    ck_assert_uint_eq(s.n, 3);
    ck_assert_ptr_eq(s.leaf[0], c);
    ck_assert_ptr_eq(s.leaf[1], b);
    ck_assert_ptr_eq(s.leaf[2], a);
    ck_assert_f64(s.first[0], 2 * 3 * 5);
    ck_assert_f64(s.first[1], 2 * 3 * 7);
    ck_assert_f64(s.first[2], 2 * 5 * 7);
    ck_assert_ok();
}
END_TEST

/* L = sin(w v) * w + w * w: w is used by nodes 0 (w v), 2 (· w) and 3
 * (w * w, given twice); v by node 0 only. Both are final only after node 0,
 * in its input order: w, then v. dL/dw = cos(wv) v w + sin(wv) + 2w,
 * dL/dv = cos(wv) w². The node w*w, which also uses w, must not fire it. */
START_TEST(test_shared_leaves_fire_once_at_their_lowest_consumer)
{
    double wv = 0.7, vv = -1.3;
    ag_tensor *w = h_pscalar(AG_F64, wv), *v = h_pscalar(AG_F64, vv);
    /* One statement per node: C leaves the order of arguments' evaluation
     * open, and the order of recording is what is under test. */
    ag_tensor *wv_ = ag_mul(w, v);
    ag_tensor *t = ag_mul(ag_sin(wv_), w);
    ag_tensor *loss = ag_add(t, ag_mul(w, w));
    ck_assert_tensor(loss);
    seen s = {0};
    ag_set_grad_ready_hook(record, &s);
    ck_assert(ag_backward(loss));
    ag_set_grad_ready_hook(NULL, NULL);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_ptr_eq(s.leaf[0], w);
    ck_assert_ptr_eq(s.leaf[1], v);
    double dw = cos(wv * vv) * vv * wv + sin(wv * vv) + 2 * wv, dv = cos(wv * vv) * wv * wv;
    ck_assert_f64(s.first[0], dw);
    ck_assert_f64(s.first[1], dv);
    ck_assert_f64(h_grad_at(w, 0), dw);
    ck_assert_f64(h_grad_at(v, 0), dv);
    ck_assert_ok();
}
END_TEST

/* Leaves that do not require grad, and leaves the loss does not use, never
 * fire; the output itself, when it is a leaf, fires once. */
START_TEST(test_only_leaves_that_require_grad_and_are_used)
{
    ag_tensor *x = h_pscalar(AG_F64, 2), *k = h_scalar(AG_F64, 3), *unused = h_pscalar(AG_F64, 1);
    (void)unused;
    ag_tensor *loss = ag_mul(x, k);
    seen s = {0};
    ag_set_grad_ready_hook(record, &s);
    ck_assert(ag_backward(loss));
    ck_assert_uint_eq(s.n, 1);
    ck_assert_ptr_eq(s.leaf[0], x);
    ck_assert_f64(s.first[0], 3);
    s.n = 0;
    ck_assert(ag_backward(x)); /* d x / d x = 1, added to the 3 already there */
    ck_assert_uint_eq(s.n, 1);
    ck_assert_ptr_eq(s.leaf[0], x);
    ck_assert_f64(s.first[0], 4);
    ag_set_grad_ready_hook(NULL, NULL);
    ck_assert_ok();
}
END_TEST

/* ag_grad leaves .grad alone, so nothing is final there; a removed hook
 * sees nothing; create_graph sweeps fire too, with the graph gradient. */
START_TEST(test_ag_grad_and_removal_and_create_graph)
{
    ag_tensor *x = h_pscalar(AG_F64, 1.5);
    seen s = {0};
    ag_set_grad_ready_hook(record, &s);
    ag_tensor *loss = ag_mul(ag_mul(x, x), x);
    ag_tensor *g = NULL;
    ck_assert_tensor(loss);
    ck_assert(ag_grad(1, &loss, NULL, 1, &x, 0, &g));
    ck_assert_uint_eq(s.n, 0);
    ck_assert(ag_backward_ex(loss, NULL, true));
    ck_assert_uint_eq(s.n, 1);
    ck_assert_f64(s.first[0], 3 * 1.5 * 1.5);
    ag_set_grad_ready_hook(NULL, &s);
    ag_zero_grad(x);
    loss = ag_mul(x, x);
    ck_assert(ag_backward(loss));
    ck_assert_uint_eq(s.n, 1);
    ck_assert_ok();
}
END_TEST

/* An MLP step with the first-order kernels on: every parameter fires
 * exactly once, with its final gradient, and the gradients equal those of
 * the same step without the hook. */
typedef struct mlp_seen {
    ag_params *p;
    int fired[8];
    int order[8];
    int n;
    double *copy[8];
} mlp_seen;

static void record_param(void *ctx, ag_tensor *leaf)
{
    mlp_seen *s = ctx;
    for (size_t i = 0; i < ag_params_count(s->p); i++) {
        if (ag_params_at(s->p, i, NULL) != leaf)
            continue;
        ag_tensor *g = ag_grad_of(leaf);
        s->fired[i]++;
        s->order[s->n++] = (int)i;
        free(s->copy[i]);
        s->copy[i] = malloc(ag_numel(g) * sizeof(double));
        for (size_t k = 0; k < ag_numel(g); k++)
            s->copy[i][k] = ag_get_flat(g, k);
    }
}

START_TEST(test_mlp_every_parameter_once_with_final_gradient)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 17);
    int64_t sizes[] = {6, 5, 4, 3};
    ag_mlp *m = ag_mlp_new(4, sizes, AG_ACT_RELU, dt, &rng);
    ck_assert_ptr_nonnull(m);
    ag_tensor *x = h_rand(dt, 2, (int64_t[]){8, 6}, -1, 1, &rng);
    int64_t labels[8] = {0, 1, 2, 0, 1, 2, 2, 1};
    ag_tensor *y = h_keep(ag_from_array(AG_I64, 1, (int64_t[]){8}, labels));
    size_t np = ag_params_count(m->params);
    ck_assert_uint_eq(np, 6);
    /* without the hook */
    ck_assert(ag_backward(ag_cross_entropy(ag_mlp_forward(m, x), y, AG_REDUCE_MEAN)));
    double *want[6];
    for (size_t i = 0; i < np; i++) {
        ag_tensor *g = ag_grad_of(ag_params_at(m->params, i, NULL));
        want[i] = malloc(ag_numel(g) * sizeof(double));
        for (size_t k = 0; k < ag_numel(g); k++)
            want[i][k] = ag_get_flat(g, k);
    }
    ag_params_zero_grad(m->params);
    ag_tape_reset(NULL);
    mlp_seen s = {.p = m->params};
    ag_set_grad_ready_hook(record_param, &s);
    ck_assert(ag_backward(ag_cross_entropy(ag_mlp_forward(m, x), y, AG_REDUCE_MEAN)));
    ag_set_grad_ready_hook(NULL, NULL);
    ck_assert_int_eq(s.n, 6);
    for (size_t i = 0; i < np; i++) {
        ck_assert_int_eq(s.fired[i], 1);
        ag_tensor *g = ag_grad_of(ag_params_at(m->params, i, NULL));
        for (size_t k = 0; k < ag_numel(g); k++) {
            ck_assert(s.copy[i][k] == ag_get_flat(g, k));
            ck_assert(want[i][k] == ag_get_flat(g, k));
        }
        free(want[i]);
        free(s.copy[i]);
    }
    /* The last layer is final first: its parameters (4, 5) before the
     * middle one's (2, 3) before the first's (0, 1). */
    ck_assert_int_ge(s.order[0], 4);
    ck_assert_int_ge(s.order[1], 4);
    ck_assert_int_ge(s.order[2], 2);
    ck_assert_int_le(s.order[3], 3);
    ck_assert_int_le(s.order[4], 1);
    ck_assert_int_le(s.order[5], 1);
    ag_mlp_free(m);
    ck_assert_ok();
}
END_TEST

/* 10^5 scalar leaves, s = x0 + x1² + ... + x_{n-1}²: x_i is used once, by
 * node 2i - 1 (its square; x0 by the first add), so they are final from
 * the last to the first, each with gradient 2 x_i (x0: 1). */
typedef struct big_seen {
    ag_tensor **x;
    long n, next;
    bool in_order, values_ok;
} big_seen;

static void record_big(void *ctx, ag_tensor *leaf)
{
    big_seen *s = ctx;
    long i = s->next--;
    if (i < 0 || s->x[i] != leaf) {
        s->in_order = false;
        return;
    }
    double want = i == 0 ? 1 : 2 * ag_item(leaf);
    if (ag_get_flat(ag_grad_of(leaf), 0) != want)
        s->values_ok = false;
}

START_TEST(test_large_graph)
{
    long n = 100000;
    ag_tensor **x = malloc((size_t)n * sizeof *x);
    ck_assert_ptr_nonnull(x);
    ag_tensor *sum = NULL;
    for (long i = 0; i < n; i++) {
        x[i] = ag_scalar(AG_F64, 0.001 * (double)(i % 1000) - 0.5);
        ag_set_requires_grad(x[i], true);
        sum = i == 0 ? ag_add(x[0], h_scalar(AG_F64, 0)) : ag_add(sum, ag_mul(x[i], x[i]));
    }
    ck_assert_tensor(sum);
    big_seen s = {x, n, n - 1, true, true};
    ag_set_grad_ready_hook(record_big, &s);
    ck_assert(ag_backward(sum));
    ag_set_grad_ready_hook(NULL, NULL);
    ck_assert(s.in_order);
    ck_assert(s.values_ok);
    ck_assert_int_eq(s.next, -1);
    /* One leaf used by each of 10^5 chained nodes fires once, at the end. */
    ag_tape_reset(NULL);
    ag_tensor *w = h_pscalar(AG_F64, 1.0);
    ag_tensor *y = w;
    for (long i = 0; i < n; i++)
        y = ag_mul(y, w);
    seen one = {0};
    ag_set_grad_ready_hook(record, &one);
    ck_assert(ag_backward(y));
    ag_set_grad_ready_hook(NULL, NULL);
    ck_assert_uint_eq(one.n, 1);
    ck_assert_f64(one.first[0], (double)(n + 1)); /* d w^(n+1) / dw at 1 */
    ag_tape_reset(NULL);
    for (long i = 0; i < n; i++)
        ag_tensor_free(x[i]);
    free(x);
    ck_assert_ok();
}
END_TEST

/* Every allocation of a step with the hook, failing in turn: reported as
 * AG_ERR_NOMEM (or harmless), nothing fired after the failure twice, and a
 * clean step afterwards gives the hand-derived result. */
static bool hooked_step(seen *s, double *dw)
{
    ag_tape *t = ag_tape_new();
    if (!t)
        return false;
    ag_tape *prev = ag_tape_use(t);
    ag_tensor *w = ag_scalar(AG_F64, 0.5), *v = ag_scalar(AG_F64, 2);
    bool ok = w && v;
    if (ok) {
        ag_set_requires_grad(w, true);
        ag_set_requires_grad(v, true);
        ag_set_grad_ready_hook(record, s);
        ok = ag_backward(ag_mul(ag_mul(w, v), ag_exp(w)));
        ag_set_grad_ready_hook(NULL, NULL);
        ag_tensor *g = ok ? ag_grad_of(w) : NULL;
        *dw = g ? ag_item(g) : NAN;
    }
    ag_tensor_free(w);
    ag_tensor_free(v);
    ag_tape_use(prev);
    ag_tape_free(t);
    return ok;
}

START_TEST(test_allocation_failures)
{
    seen s = {0};
    double dw;
    double want = 2 * exp(0.5) + 0.5 * 2 * exp(0.5); /* d(w v e^w)/dw = v e^w + w v e^w */
    size_t before = ag_alloc_count();
    ck_assert(hooked_step(&s, &dw));
    long total = (long)(ag_alloc_count() - before);
    ck_assert_uint_eq(s.n, 2);
    ck_assert_f64(dw, want);
    long reported = 0;
    for (long k = 0; k < total; k++) {
        seen f = {0};
        ag_error_clear();
        ag_alloc_fail_after(k);
        bool ok = hooked_step(&f, &dw);
        ag_alloc_fail_after(-1);
        if (ok) {
            ck_assert_uint_eq(f.n, 2);
            ck_assert_f64(dw, want);
        } else {
            reported++;
            ck_assert_status(AG_ERR_NOMEM);
            ck_assert_uint_le(f.n, 2);
        }
        ag_error_clear();
        seen c = {0};
        ck_assert(hooked_step(&c, &dw));
        ck_assert_uint_eq(c.n, 2);
        ck_assert_f64(dw, want);
    }
    ck_assert_int_gt(reported, 0);
}
END_TEST

Suite *grad_ready_suite(void);
Suite *grad_ready_suite(void)
{
    Suite *s = suite_create("grad_ready");
    TCase *tc = h_tcase(s, "order", H_TIMEOUT);
    tcase_add_test(tc, test_chain_order_and_values);
    tcase_add_test(tc, test_shared_leaves_fire_once_at_their_lowest_consumer);
    tcase_add_test(tc, test_only_leaves_that_require_grad_and_are_used);
    tcase_add_test(tc, test_ag_grad_and_removal_and_create_graph);
    tcase_add_loop_test(tc, test_mlp_every_parameter_once_with_final_gradient, 0, 2);
    tc = h_tcase(s, "scale", H_TIMEOUT * 4);
    tcase_add_test(tc, test_large_graph);
    tcase_add_test(tc, test_allocation_failures);
    return s;
}

H_MAIN(grad_ready_suite)

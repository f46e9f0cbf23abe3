/* SPDX-License-Identifier: MIT */
/* check-tape.c — the tape: recording, reset and memory reuse, stale
 * intermediates, grad mode, and several tapes on one thread. */
#include "harness.h"

#include <stdio.h>

/* ---- recording ---- */

START_TEST(test_records_nodes_in_order)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *c = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(4, 5, 6));
    ck_assert_uint_eq(ag_tape_size(NULL), 0);
    ag_tensor *a = ag_mul(x, c);
    ag_tensor *b = ag_exp(a);
    ag_tensor *s = ag_sum(b);
    ck_assert_tensor(s);
    ck_assert_uint_eq(ag_tape_size(NULL), 3);
    ck_assert_int_eq(ag_node_index(a), 0);
    ck_assert_int_eq(ag_node_index(b), 1);
    ck_assert_int_eq(ag_node_index(s), 2);
    ck_assert_int_eq(ag_node_index(x), -1);
    ck_assert_ptr_eq(ag_node_op(a), ag_op_find("mul"));
    ck_assert_ptr_eq(ag_node_op(b), ag_op_find("exp"));
    ck_assert_ptr_eq(ag_node_op(s), ag_op_find("sum"));
    ck_assert_ptr_null(ag_node_op(x));
    ck_assert_int_eq(ag_node_n_inputs(a), 2);
    ck_assert_int_eq(ag_node_n_inputs(x), 0);
    ck_assert_ptr_eq(ag_node_input(a, 0), x);
    ck_assert_ptr_eq(ag_node_input(a, 1), c);
    ck_assert_ptr_eq(ag_node_input(b, 0), a);
    ck_assert_ptr_null(ag_node_input(a, 2));
    ck_assert_ptr_null(ag_node_input(a, -1));
    ck_assert(ag_requires_grad(a) && !ag_is_leaf(a));

    /* An op whose inputs need no gradient is computed but not recorded. */
    ag_tensor *k = ag_mul(c, c);
    ck_assert_tensor(k);
    ck_assert_uint_eq(ag_tape_size(NULL), 3);
    ck_assert(!ag_requires_grad(k));
    ck_assert_ptr_null(ag_node_op(k));
    ck_assert(ag_get_flat(k, 2) == 36.0);
    ck_assert_ok();
}
END_TEST

START_TEST(test_reset_empties_and_counts_generations)
{
    ag_tensor *x = h_pscalar(AG_F64, 2);
    uint64_t g0 = ag_tape_generation(NULL);
    for (int i = 0; i < 5; i++) {
        ag_tensor *y = ag_mul(x, x);
        ck_assert_tensor(y);
        ck_assert_uint_eq(ag_tape_size(NULL), 1);
        ag_tape_reset(NULL);
        ck_assert_uint_eq(ag_tape_size(NULL), 0);
        ck_assert_uint_eq(ag_tape_generation(NULL), g0 + (uint64_t)i + 1);
    }
    /* Resetting a tape by name is the same as resetting the current one. */
    ag_tape_reset(ag_tape_current());
    ck_assert_uint_eq(ag_tape_generation(NULL), g0 + 6);
}
END_TEST

/* ---- reuse: the steady state of a training loop allocates nothing ---- */

typedef struct logreg {
    ag_tensor *X, *y, *w, *b;
} logreg;

/* Mean negative log-likelihood of σ(Xw + b), written from ops. */
static ag_tensor *nll(const logreg *m)
{
    ag_tensor *p = ag_sigmoid(ag_add(ag_matmul(m->X, m->w), m->b));
    ag_tensor *ll = ag_add(ag_mul(m->y, ag_log(p)),
                           ag_mul(ag_add_scalar(ag_neg(m->y), 1), ag_log(ag_add_scalar(ag_neg(p), 1))));
    return ag_neg(ag_mean(ll));
}

static double train_step(const logreg *m)
{
    ag_tensor *loss = nll(m);
    ck_assert_tensor(loss);
    double v = ag_item(loss);
    ag_zero_grad(m->w);
    ag_zero_grad(m->b);
    ck_assert_msg(ag_backward(loss), "backward: %s", ag_last_error());
    bool mode = ag_no_grad_begin();
    ck_assert(ag_sgd_update(m->w, 0.5));
    ck_assert(ag_sgd_update(m->b, 0.5));
    ag_grad_mode_set(mode);
    ag_tape_reset(NULL);
    return v;
}

START_TEST(test_reset_reuses_memory)
{
    /* 256 samples of 8 features: each step's intermediates (about 20 tensors
     * of 2 KB and up) outgrow the arena's first 64 KB block, so the test
     * also covers the arena merging its blocks after a spill. */
    enum { N = 256, D = 8 };
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    logreg m;
    m.X = h_rand(AG_F64, 2, H_SHAPE(N, D), -1, 1, &rng);
    double yv[N];
    for (int i = 0; i < N; i++)
        yv[i] = ag_get(m.X, H_SHAPE(i, 0)) + 0.5 * ag_get(m.X, H_SHAPE(i, 1)) > 0 ? 1 : 0;
    m.y = h_arr(AG_F64, 2, H_SHAPE(N, 1), yv);
    m.w = h_param(AG_F64, 2, H_SHAPE(D, 1), NULL);
    m.b = h_pscalar(AG_F64, 0);

    double first = 0, last = 0;
    for (int step = 0; step < 3; step++) {
        double v = train_step(&m);
        if (step == 0)
            first = v;
    }
    /* At w = 0, b = 0 every p is 1/2, so the loss is ln 2. */
    ck_assert_f64(first, log(2.0));

    size_t cap = ag_tape_capacity(NULL);
    size_t allocs = ag_alloc_count();
    ck_assert_uint_gt(cap, 64 * 1024);
    for (int step = 0; step < 20; step++) {
        last = train_step(&m);
        if (h_debug_lifetimes())
            continue; /* a new header block every step, by design */
        ck_assert_msg(ag_tape_capacity(NULL) == cap, "step %d: capacity %zu, was %zu", step,
                      ag_tape_capacity(NULL), cap);
        ck_assert_msg(ag_alloc_count() == allocs, "step %d: %zu heap allocations in the loop",
                      step, ag_alloc_count() - allocs);
    }
    /* Gradient descent on a convex loss from its ln 2 start goes down. */
    ck_assert_double_lt(last, first - 0.1);
}
END_TEST

START_TEST(test_capacity_grows_with_demand)
{
    size_t cap0 = ag_tape_capacity(NULL);
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(100000), NULL);
    ag_tensor *y = ag_add_scalar(x, 1); /* 800 KB of data */
    ck_assert_tensor(y);
    ck_assert_uint_ge(ag_tape_capacity(NULL), cap0 + 100000 * sizeof(double));
    /* Tensor headers alternate between two arenas by generation, so the
     * second generation may still add one; from the third on, nothing. */
    ag_tape_reset(NULL);
    ck_assert_tensor(ag_add_scalar(x, 1));
    ag_tape_reset(NULL);
    size_t cap1 = ag_tape_capacity(NULL);
    for (int step = 0; step < 4; step++) {
        y = ag_add_scalar(x, 2);
        ck_assert_tensor(y);
        ck_assert(ag_get_flat(y, 99999) == 2.0);
        if (!h_debug_lifetimes())
            ck_assert_uint_eq(ag_tape_capacity(NULL), cap1);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- stale intermediates ---- */

START_TEST(test_stale_use_is_reported)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(3, 4));
    ag_tensor *loss = ag_sum(ag_mul(x, x));
    ck_assert_tensor(loss);
    ag_set_label(loss, "loss");
    ck_assert(ag_item(loss) == 25.0);
    ag_tape_reset(NULL);

    ck_assert(isnan(ag_item(loss)));
    ck_assert_error(AG_ERR_STALE, "reset");
    ck_assert_msg(strstr(ag_last_error(), "loss") != NULL, "message \"%s\" lacks the label",
                  ag_last_error());
    ag_error_clear();

    ck_assert(isnan(ag_get_flat(loss, 0)));
    ck_assert_status(AG_ERR_STALE);
    ag_error_clear();
    ck_assert_ptr_null(ag_data(loss));
    ck_assert_status(AG_ERR_STALE);
    ag_error_clear();
    ck_assert_int_eq(ag_ndim(loss), 0);
    ck_assert_uint_eq(ag_numel(loss), 0);
    ck_assert_status(AG_ERR_STALE);
    ag_error_clear();
    ck_assert(!ag_requires_grad(loss));
    ck_assert_ptr_null(ag_node_op(loss));
    ck_assert_ptr_null(ag_grad_of(loss));
    ck_assert_status(AG_ERR_STALE);
    ag_error_clear();

    /* An op on it fails and names the op and the reset. */
    ck_assert_ptr_null(ag_add(x, loss));
    ck_assert_error(AG_ERR_STALE, "add");
    ck_assert_msg(strstr(ag_last_error(), "reset") != NULL, "message \"%s\"", ag_last_error());
    ag_error_clear();
    ck_assert_ptr_null(ag_clone(loss));
    ck_assert_status(AG_ERR_STALE);
    ag_error_clear();
    ck_assert(!ag_backward(loss));
    ck_assert_status(AG_ERR_STALE);
    ag_error_clear();

    /* The leaf is untouched by the reset. */
    ck_assert(ag_get_flat(x, 1) == 4.0);
    ck_assert_ok();
}
END_TEST

START_TEST(test_new_tensors_after_reset_are_valid)
{
    ag_tensor *x = h_pscalar(AG_F64, 1.5);
    ag_tensor *old = ag_mul(x, x);
    ck_assert_tensor(old);
    ag_tape_reset(NULL);
    ag_tensor *fresh = ag_mul(x, x);
    ck_assert_tensor(fresh);
    ck_assert(ag_item(fresh) == 2.25);
    ck_assert_ok();
    /* The old one is still reported, even though a new tensor now lives in
     * the same generation of the tape. */
    ck_assert(isnan(ag_item(old)));
    ck_assert_status(AG_ERR_STALE);
}
END_TEST

/* ---- grad mode ---- */

START_TEST(test_no_grad_does_not_record)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(1, -2, 3));
    ck_assert(ag_grad_mode());
    bool prev = ag_no_grad_begin();
    ck_assert(prev);
    ck_assert(!ag_grad_mode());
    ag_tensor *y = ag_sum(ag_mul(ag_exp(x), x));
    ck_assert_tensor(y);
    ck_assert_uint_eq(ag_tape_size(NULL), 0);
    ck_assert(!ag_requires_grad(y));
    ck_assert_ptr_null(ag_node_op(y));
    ck_assert_f64(ag_item(y), exp(1.0) * 1 + exp(-2.0) * -2 + exp(3.0) * 3);
    /* Nested scopes: the inner begin reports that grad was already off. */
    ck_assert(!ag_no_grad_begin());
    ag_grad_mode_set(prev);
    ck_assert(ag_grad_mode());

    /* Nothing to differentiate. */
    ck_assert(!ag_backward(y));
    ck_assert_error(AG_ERR_STATE, "does not require grad");
    ag_error_clear();

    /* With grad mode back on, the same expression records 3 nodes. */
    ag_tensor *z = ag_sum(ag_mul(ag_exp(x), x));
    ck_assert_tensor(z);
    ck_assert_uint_eq(ag_tape_size(NULL), 3);
    ck_assert(ag_requires_grad(z));
}
END_TEST

/* ---- several tapes ---- */

START_TEST(test_multiple_tapes)
{
    ag_tensor *x = h_pscalar(AG_F64, 3);
    ag_tape *def = ag_tape_current();
    ck_assert_ptr_nonnull(def);
    ag_tape *t1 = h_tape();

    ag_tape *prev = ag_tape_use(t1);
    ck_assert_ptr_eq(prev, def);
    ck_assert_ptr_eq(ag_tape_current(), t1);
    ag_tensor *y1 = ag_mul(x, x); /* 9, on t1 */
    ck_assert_tensor(y1);
    ck_assert_uint_eq(ag_tape_size(t1), 1);
    ck_assert_uint_eq(ag_tape_size(def), 0);
    ck_assert_ptr_eq(ag_tape_use(prev), t1);
    ck_assert_ptr_eq(ag_tape_current(), def);

    ag_tensor *y0 = ag_add(x, x); /* 6, on the default tape */
    ag_tensor *y0b = ag_mul(y0, x);
    ck_assert_tensor(y0b);
    ck_assert_uint_eq(ag_tape_size(def), 2);
    ck_assert_uint_eq(ag_tape_size(t1), 1);

    /* Backward from an output on a tape that is not current. */
    ck_assert(ag_backward(y1));
    ck_assert(ag_item(ag_grad_of(x)) == 6.0); /* d(x²)/dx at 3 */
    ck_assert_ptr_eq(ag_tape_current(), def);
    ag_zero_grad(x);
    ck_assert(ag_backward(y0b)); /* d(2x·x)/dx = 4x = 12 */
    ck_assert(ag_item(ag_grad_of(x)) == 12.0);

    /* Resetting one tape leaves the other's intermediates alive. */
    ag_tape_reset(t1);
    ck_assert(isnan(ag_item(y1)));
    ck_assert_status(AG_ERR_STALE);
    ag_error_clear();
    ck_assert(ag_item(y0) == 6.0);
    ck_assert(ag_item(y0b) == 18.0);
    ck_assert_uint_eq(ag_tape_size(t1), 0);
    ck_assert_uint_eq(ag_tape_size(def), 2);

    /* Nested scopes restore in order. */
    ag_tape *t2 = h_tape();
    ag_tape *p1 = ag_tape_use(t1);
    ag_tape *p2 = ag_tape_use(t2);
    ck_assert_ptr_eq(p1, def);
    ck_assert_ptr_eq(p2, t1);
    ck_assert_ptr_eq(ag_tape_use(p2), t2);
    ck_assert_ptr_eq(ag_tape_use(p1), t1);
    ck_assert_ptr_eq(ag_tape_current(), def);
    ck_assert_ok();
}
END_TEST

START_TEST(test_freeing_current_tape_falls_back)
{
    ag_tensor *x = h_pscalar(AG_F64, 2);
    ag_tape *def = ag_tape_current();
    ag_tape *t = ag_tape_new();
    ck_assert_ptr_nonnull(t);
    ag_tape_use(t);
    ag_tensor *y = ag_mul(x, x);
    ck_assert_tensor(y);
    ag_tape_free(t); /* frees y with it */
    ck_assert_ptr_eq(ag_tape_current(), def);
    ag_tensor *z = ag_mul(x, x);
    ck_assert_tensor(z);
    ck_assert_uint_eq(ag_tape_size(def), 1);
    ag_tape_free(NULL); /* the default tape; a new one is made on demand */
    ck_assert_ptr_nonnull(ag_tape_current());
    ck_assert_uint_eq(ag_tape_size(NULL), 0);
    ck_assert_ok();
}
END_TEST

Suite *tape_suite(void);
Suite *tape_suite(void)
{
    Suite *s = suite_create("tape");
    TCase *tc = h_tcase(s, "recording", H_TIMEOUT);
    tcase_add_test(tc, test_records_nodes_in_order);
    tcase_add_test(tc, test_reset_empties_and_counts_generations);
    tc = h_tcase(s, "reuse", H_TIMEOUT);
    tcase_add_test(tc, test_reset_reuses_memory);
    tcase_add_test(tc, test_capacity_grows_with_demand);
    tc = h_tcase(s, "stale", H_TIMEOUT);
    tcase_add_test(tc, test_stale_use_is_reported);
    tcase_add_test(tc, test_new_tensors_after_reset_are_valid);
    tc = h_tcase(s, "grad mode", H_TIMEOUT);
    tcase_add_test(tc, test_no_grad_does_not_record);
    tc = h_tcase(s, "multiple tapes", H_TIMEOUT);
    tcase_add_test(tc, test_multiple_tapes);
    tcase_add_test(tc, test_freeing_current_tape_falls_back);
    return s;
}

H_MAIN(tape_suite)

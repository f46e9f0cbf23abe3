/* SPDX-License-Identifier: MIT */
/* check-lifetimes.c — what a kept intermediate does after any number of
 * resets, in-place changes between forward and backward, and the tape's
 * optional node limit.
 *
 * The probes: a loss kept across two resets after a step whose headers
 * spilled into a second arena block made the staleness check read freed
 * memory; across two resets of a same-shaped step it silently read the
 * newer loss (6006 instead of 60); ag_set_flat on a weight between forward
 * and backward gave a wrong gradient with AG_OK. Expected values are by
 * hand. The suite runs as it is and again with AG_DEBUG_LIFETIMES=1
 * (tests/meson.build), under ASan and under valgrind. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

static bool debug_env(void)
{
    const char *e = getenv("AG_DEBUG_LIFETIMES");
    return e && e[0] && strcmp(e, "0") != 0;
}

/* One step of about 2n scalar nodes: loss = Σ_{k<n} (x + k) = n·x + n(n−1)/2. */
static ag_tensor *step(ag_tensor *x, int n)
{
    ag_tensor *loss = NULL;
    for (int k = 0; k < n; k++) {
        ag_tensor *t = ag_add_scalar(x, k);
        loss = loss ? ag_add(loss, t) : t;
    }
    return loss;
}

static double step_value(double x, int n)
{
    return n * x + n * (n - 1) / 2.0;
}

/* Every use of a kept pointer must be refused, or, where the documented
 * aliasing applies (normal mode, two or more resets), read a live tensor
 * of the current step. Returns whether it was refused as stale. */
static bool use_kept(ag_tensor *kept, ag_tensor *x)
{
    ag_error_clear();
    double v = ag_item(kept);
    bool stale = ag_last_status() == AG_ERR_STALE;
    if (!stale) {
        ck_assert_msg(ag_last_status() == AG_OK, "item: %s", ag_last_error());
        ck_assert(!isnan(v));
    }
    /* The other entry points agree with the first. */
    ag_error_clear();
    ag_tensor *sum = ag_add(kept, x);
    ck_assert_int_eq(sum == NULL, stale);
    if (stale)
        ck_assert_status(AG_ERR_STALE);
    ag_error_clear();
    (void)ag_numel(kept);
    (void)ag_label(kept);
    (void)ag_grad_of(kept);
    (void)ag_node_op(kept);
    (void)ag_node_input(kept, 0);
    char buf[64];
    (void)ag_shape_str(kept, buf, sizeof buf);
    ag_tensor_free(kept); /* never frees an intermediate, live or not */
    ag_error_clear();
    return stale;
}

/* One reset: always stale, whatever the step sizes. */
START_TEST(test_kept_across_one_reset_is_stale)
{
    ag_tensor *x = h_pscalar(AG_F64, 2.0);
    for (int n = 1; n <= 4000; n *= 4) {
        ag_tensor *kept = step(x, n);
        ck_assert_f64(ag_item(kept), step_value(2.0, n));
        ag_set_label(kept, "loss");
        ag_tape_reset(NULL);
        ck_assert_tensor(step(x, n)); /* the next step reuses the data arena */
        ck_assert(use_kept(kept, x));
        ag_error_clear();
        ag_item(kept);
        ck_assert_error(AG_ERR_STALE, "'loss'");
        ag_tape_reset(NULL);
    }
}
END_TEST

/* The probe's crash: headers spilled into a second block (4,000 nodes are
 * far more than the first 64 KiB block holds), then two resets and more
 * steps of other sizes. With any number of resets a kept pointer is never
 * a read of freed memory (ASan and valgrind watch), and in debug mode it
 * is always stale. */
START_TEST(test_kept_across_many_resets_after_a_spill)
{
    bool debug = debug_env();
    ag_tensor *x = h_pscalar(AG_F64, 1.0);
    int sizes[] = {4000, 1, 7000, 30, 4000, 2, 12000, 5};
    for (int first = 0; first < 3; first++) {
        ag_tensor *kept = step(x, sizes[first]);
        ck_assert_tensor(kept);
        for (int r = 0; r < (int)H_COUNT(sizes); r++) {
            ag_tape_reset(NULL);
            ck_assert_tensor(step(x, sizes[r]));
            bool stale = use_kept(kept, x);
            if (debug || r == 0)
                ck_assert_msg(stale, "kept pointer used as live after %d resets", r + 1);
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

/* The probe's silent value: the same step twice more, so that in normal
 * mode the kept pointer's address holds the newest loss. Normal mode
 * documents that (it reads the newer tensor: 6006, as the probe saw);
 * debug mode refuses it. */
START_TEST(test_same_step_two_resets_later)
{
    ag_tensor *x = h_pscalar(AG_F64, 0.0);
    ag_tensor *kept = step(x, 4);   /* 0+1+2+3 = 6 */
    ck_assert_f64(ag_item(kept), 6.0);
    ag_tape_reset(NULL);
    ck_assert_tensor(step(x, 4));
    ag_tape_reset(NULL);
    ck_assert(ag_set_flat(x, 0, 1500.0));
    ag_tensor *now = step(x, 4); /* 4·1500 + 6 = 6006 */
    ck_assert_f64(ag_item(now), 6006.0);
    ag_error_clear();
    double v = ag_item(kept);
    if (debug_env()) {
        ck_assert_error(AG_ERR_STALE, "reset");
        ck_assert(isnan(v));
    } else {
        ck_assert_ptr_eq(kept, now); /* the aliasing the header documents */
        ck_assert_f64(v, 6006.0);
    }
}
END_TEST

/* A kept pointer that falls inside a newer, larger header (not at its
 * start) is refused by the tag, without following the bytes it would read
 * as a tape pointer. */
START_TEST(test_kept_pointer_inside_a_newer_header)
{
    ag_tensor *x = h_pscalar(AG_F64, 1.0);
    ag_tensor *first = ag_add_scalar(x, 1), *second = ag_add_scalar(first, 1);
    ck_assert_tensor(second);
    ag_tape_reset(NULL);
    ag_tape_reset(NULL);
    /* 8-dimensional results: each header is the struct, 8 dimensions,
     * inputs and inline data, much longer than a scalar's. */
    ag_tensor *big = h_param(AG_F64, 8, H_SHAPE(1, 1, 1, 1, 1, 1, 1, 2), H_VALS(1, 2));
    ag_tensor *r = ag_mul(ag_add(big, big), big);
    ck_assert_tensor(r);
    ag_error_clear();
    ck_assert(isnan(ag_item(second)));
    ck_assert_error(AG_ERR_STALE, debug_env() ? "reset" : "not a live tensor");
}
END_TEST

START_TEST(test_debug_mode_switch)
{
    bool prev = ag_debug_lifetimes(true);
    ck_assert_int_eq(prev, debug_env());
    ag_tensor *x = h_pscalar(AG_F64, 0.0);
    ag_tape *tape = h_tape();
    ag_tape_use(tape);
    ag_tape_reset(tape); /* the mode takes effect at a reset */
    ag_tensor *kept = step(x, 4);
    for (int r = 0; r < 6; r++) {
        ag_tape_reset(tape);
        ck_assert_tensor(step(x, 4));
        ck_assert(use_kept(kept, x));
    }
    ck_assert(ag_debug_lifetimes(prev));
    ag_tape_use(NULL);
}
END_TEST

/* ---- in-place changes between forward and backward ---- */

START_TEST(test_set_flat_after_forward_fails_backward)
{
    ag_tensor *w = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1.0, 2.0));
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(3.0, 4.0));
    ag_tensor *b = h_pscalar(AG_F64, 0.5);
    ag_set_label(w, "w");
    ag_tensor *y = ag_add(ag_sum(ag_mul(w, ag_tanh(x))), b);
    ck_assert_tensor(y);
    ck_assert(ag_set_flat(w, 0, 10.0));
    ck_assert(!ag_backward(y));
    ck_assert_error(AG_ERR_STATE, "'w'");
    ck_assert_msg(strstr(ag_last_error(), "mul") && strstr(ag_last_error(), "in place"), "%s",
                  ag_last_error());
    /* Checked before the sweep changed anything: b got no gradient. */
    ck_assert_ptr_null(ag_grad_of(b));
    ck_assert_ptr_null(ag_grad_of(w));
    /* The same for ag_grad and a change of an input that needs no grad. */
    ag_tape_reset(NULL);
    y = ag_sum(ag_mul(w, x));
    ck_assert(ag_set_flat(x, 1, -1.0));
    ag_tensor *g;
    ck_assert(!ag_grad(1, &y, NULL, 1, &w, 0, &g));
    ck_assert_status(AG_ERR_STATE);
    /* A fresh forward pass after the change is fine: dy/dw = x. */
    ag_tape_reset(NULL);
    ag_error_clear();
    y = ag_sum(ag_mul(w, x));
    ck_assert(ag_backward(y));
    ck_assert_values_f64(ag_grad_of(w), 2, H_VALS(3.0, -1.0));
}
END_TEST

/* A change of a tensor the swept graph does not use is no error (a line
 * search records several forward passes on one tape). */
START_TEST(test_change_outside_the_swept_graph)
{
    ag_tensor *w = h_pscalar(AG_F64, 2.0);
    ag_tensor *old = ag_mul(w, w);
    ck_assert_tensor(old);
    ck_assert(ag_set_flat(w, 0, 3.0));
    ag_tensor *y = ag_mul(ag_mul(w, w), w); /* w³ at 3: dy/dw = 27 */
    ck_assert(ag_backward(y));
    ck_assert_f64(ag_item(ag_grad_of(w)), 27.0);
    ck_assert(!ag_backward(old));
    ck_assert_status(AG_ERR_STATE);
}
END_TEST

/* An optimizer step between forward and backward is an in-place change too. */
START_TEST(test_sgd_update_counts_as_a_change)
{
    ag_tensor *w = h_pscalar(AG_F64, 2.0);
    ag_tensor *y = ag_mul(w, w);
    ck_assert(ag_backward(y));
    ck_assert(ag_sgd_update(w, 0.1));
    ck_assert_f64(ag_get_flat(w, 0), 2.0 - 0.1 * 4.0);
    ag_zero_grad(w);
    ck_assert(!ag_backward(y));
    ck_assert_status(AG_ERR_STATE);
}
END_TEST

/* ---- the node limit ---- */

/* A leaf's gradient from a create_graph sweep is a tensor of the tape: after
 * a reset ag_grad_of says so (AG_ERR_STALE) instead of handing out freed
 * memory, and an SGD step from it is refused the same way, the leaf kept. */
START_TEST(test_graph_gradient_dies_with_its_tape)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1.5, -2.0));
    ag_tape *t = h_tape();
    ag_tape *prev = ag_tape_use(t);
    ck_assert(ag_backward_ex(ag_sum(ag_mul(x, x)), NULL, true));
    ck_assert_f64(h_grad_at(x, 1), -4.0);
    ag_tape_reset(t);
    ag_tape_reset(t);
    ck_assert(ag_grad_of(x) == NULL);
    ck_assert_error(AG_ERR_STALE, "tape that was reset");
    ag_error_clear();
    ck_assert(!ag_sgd_update(x, 0.1));
    ck_assert_error(AG_ERR_STALE, "tape that was reset");
    ag_error_clear();
    ck_assert(ag_get_flat(x, 0) == 1.5 && ag_get_flat(x, 1) == -2.0);
    /* ag_zero_grad forgets it; a first-order sweep gives a leaf buffer again. */
    ag_zero_grad(x);
    ck_assert(ag_backward(ag_sum(ag_mul(x, x))));
    ck_assert(ag_sgd_update(x, 0.1));
    ck_assert_f64(ag_get_flat(x, 0), 1.5 - 0.1 * 3.0);
    ag_tape_use(prev);
}
END_TEST

START_TEST(test_node_limit_asks_about_reset)
{
    ag_tensor *x = h_pscalar(AG_F64, 1.0);
    ck_assert(ag_tape_set_max_nodes(NULL, 1000));
    ag_tensor *y = x;
    int made = 0;
    for (int k = 0; k < 5000 && y; k++, made++)
        y = ag_add_scalar(y, 1.0);
    ck_assert_int_eq(made, 1001); /* the 1001st op failed */
    ck_assert_ptr_null(y);
    ck_assert_error(AG_ERR_STATE, "ag_tape_reset");
    ck_assert_uint_eq(ag_tape_size(NULL), 1000);
    /* A training loop that resets stays under it for good. */
    ag_tape_reset(NULL);
    ag_error_clear();
    for (int s = 0; s < 200; s++) {
        ag_tensor *l = step(x, 100);
        ck_assert(l && ag_backward(l));
        ag_tape_reset(NULL);
    }
    ck_assert(ag_tape_set_max_nodes(NULL, 0));
}
END_TEST

static Suite *lifetimes_suite(void)
{
    Suite *s = suite_create("lifetimes");
    TCase *tc = h_tcase(s, "kept intermediates", H_TIMEOUT);
    tcase_add_test(tc, test_kept_across_one_reset_is_stale);
    tcase_add_test(tc, test_kept_across_many_resets_after_a_spill);
    tcase_add_test(tc, test_same_step_two_resets_later);
    tcase_add_test(tc, test_kept_pointer_inside_a_newer_header);
    tcase_add_test(tc, test_debug_mode_switch);
    tc = h_tcase(s, "versions", H_TIMEOUT);
    tcase_add_test(tc, test_set_flat_after_forward_fails_backward);
    tcase_add_test(tc, test_change_outside_the_swept_graph);
    tcase_add_test(tc, test_sgd_update_counts_as_a_change);
    tc = h_tcase(s, "node limit", H_TIMEOUT);
    tcase_add_test(tc, test_node_limit_asks_about_reset);
    tcase_add_test(tc, test_graph_gradient_dies_with_its_tape);
    return s;
}

H_MAIN(lifetimes_suite)

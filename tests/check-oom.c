/* SPDX-License-Identifier: MIT */
/* check-oom.c — running out of memory is an error, not a crash or a leak.
 *
 * ag_alloc_fail_after(k) fails the k-th allocation from now; sweeping k over
 * everything a first training step allocates (tape, arena, nodes, model,
 * optimizer state, gradients) proves that each failure is reported as
 * AG_ERR_NOMEM, leaks nothing (valgrind and LeakSanitizer run this suite) and
 * leaves the library usable: a clean run afterwards gives the same loss as a
 * run that never failed. */
#include "harness.h"

#include <stdio.h>

/* A first training step from scratch; returns the loss after one SGD step,
 * or NAN when something failed (the error is left for the caller). */
static double first_step(void)
{
    double out = NAN;
    ag_tape *tape = ag_tape_new();
    ag_tape *prev = tape ? ag_tape_use(tape) : NULL;
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    ag_mlp *m = tape ? ag_mlp_new(3, (int64_t[]){4, 8, 3}, AG_ACT_RELU, AG_F64, &rng) : NULL;
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    oc.lr = 0.01;
    ag_optim *opt = m ? ag_optim_new(m->params, &oc) : NULL;
    ag_tensor *X = ag_rand_normal(AG_F64, 2, (int64_t[]){5, 4}, 0, 1, &rng);
    ag_tensor *y = ag_from_array(AG_I64, 1, (int64_t[]){5}, (int64_t[]){0, 1, 2, 1, 0});
    if (opt && X && y) {
        ag_tensor *loss = ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
        if (loss && ag_backward(loss) && ag_optim_step(opt)) {
            ag_tape_reset(tape);
            ag_tensor *again = ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
            if (again)
                out = ag_item(again);
        }
    }
    if (tape) {
        ag_tape_use(prev);
        ag_tape_free(tape);
    }
    ag_tensor_free(X);
    ag_tensor_free(y);
    ag_optim_free(opt);
    ag_mlp_free(m);
    return out;
}

START_TEST(test_every_allocation_of_a_training_step_can_fail)
{
    ag_error_clear();
    double reference = first_step();
    ck_assert_msg(isfinite(reference), "reference run failed: %s", ag_last_error());
    size_t before = ag_alloc_count();
    ck_assert(isfinite(first_step()));
    long total = (long)(ag_alloc_count() - before);
    ck_assert_int_gt(total, 10);
    fprintf(stderr, "allocations in a first step: %ld\n", total);
    for (long k = 0; k <= total; k++) {
        ag_error_clear();
        ag_alloc_fail_after(k);
        double v = first_step();
        ag_alloc_fail_after(-1);
        if (k < total) {
            ck_assert_msg(isnan(v), "allocation %ld of %ld failed but the step succeeded", k, total);
            ck_assert_msg(ag_last_status() == AG_ERR_NOMEM,
                          "allocation %ld failed: status %s, message \"%s\"", k,
                          ag_status_str(ag_last_status()), ag_last_error());
        }
        ag_error_clear();
        double clean = first_step();
        ck_assert_msg(clean == reference, "after failing allocation %ld: loss %.17g, expected %.17g",
                      k, clean, reference);
    }
}
END_TEST

START_TEST(test_failed_op_keeps_tape_usable)
{
    ag_tensor *a = h_keep(ag_ones(AG_F64, 2, H_SHAPE(64, 64)));
    ck_assert(ag_set_requires_grad(a, true));
    ag_alloc_fail_after(0); /* the arena must grow for a 64x64 product on a fresh tape */
    ag_tape *t = ag_tape_new();
    ag_alloc_fail_after(-1);
    ck_assert(t == NULL);
    ck_assert_status(AG_ERR_NOMEM);
    ag_error_clear();
    t = h_tape();
    ag_tape *prev = ag_tape_use(t);
    ag_alloc_fail_after(0);
    ag_tensor *p = ag_matmul(a, a);
    ag_alloc_fail_after(-1);
    ck_assert(p == NULL);
    ck_assert_status(AG_ERR_NOMEM);
    ag_error_clear();
    p = ag_matmul(a, a);
    ck_assert_tensor(p);
    ag_tape_use(prev);
}
END_TEST

static Suite *oom_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = h_tcase(s, "out of memory", 300);
    tcase_add_test(tc, test_every_allocation_of_a_training_step_can_fail);
    tcase_add_test(tc, test_failed_op_keeps_tape_usable);
    return s;
}

H_MAIN(oom_suite)

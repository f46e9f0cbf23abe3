/* SPDX-License-Identifier: MIT */
/* check-oom_vision.c — running out of memory in the vision layers and ops
 * is an error, not a crash or a leak.
 *
 * As check-oom does for an MLP: ag_alloc_fail_after(k) fails the k-th
 * allocation from now, and k sweeps over everything a first step of a
 * small CNN allocates — the stack (ag_sequential, its store, conv, batch
 * norm, dropout and linear layers), the tape, the convolution's column
 * buffers, the pooling indices, the optimizer's state and the gradients.
 * Each failure must be AG_ERR_NOMEM (valgrind and LeakSanitizer run this
 * suite, so a leak on any of those paths fails it) and a clean run
 * afterwards must give the same loss as one that never failed. The same
 * sweep covers ag_gradcheck_model, which clones the store. */
#include "harness.h"

#include <autograd/tools.h>

#include <stdio.h>

static bool build(ag_sequential *s)
{
    ag_conv_opts pad1 = ag_conv_defaults();
    pad1.padding[0] = pad1.padding[1] = 1;
    return ag_seq_conv2d(s, 1, 3, 3, &pad1) && ag_seq_batch_norm(s, 3) &&
           ag_seq_activation(s, AG_ACT_RELU) && ag_seq_max_pool2d(s, 2, 0) &&
           ag_seq_conv_transpose2d(s, 3, 2, 2, NULL) && ag_seq_avg_pool2d(s, 2, 0) &&
           ag_seq_flatten(s) && ag_seq_dropout(s, 0.25) && ag_seq_linear(s, 2 * 2 * 2, 3);
}

/* A first training step of the CNN from scratch; the loss after one Adam
 * step, or NAN when something failed (the error is left for the caller). */
static double first_step(void)
{
    double out = NAN;
    ag_tape *tape = ag_tape_new();
    ag_tape *prev = tape ? ag_tape_use(tape) : NULL;
    ag_sequential *m = tape ? ag_sequential_new(AG_F64, 42) : NULL;
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    ag_optim *opt = m && build(m) ? ag_optim_new(ag_sequential_params(m), &oc) : NULL;
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_tensor *X = ag_rand_normal(AG_F64, 4, (int64_t[]){4, 1, 8, 8}, 0, 1, &rng);
    ag_tensor *y = ag_from_array(AG_I64, 1, (int64_t[]){4}, (int64_t[]){0, 1, 2, 1});
    if (opt && X && y) {
        ag_tensor *loss = ag_cross_entropy(ag_sequential_forward(m, X), y, AG_REDUCE_MEAN);
        if (loss && ag_backward(loss) && ag_optim_step(opt)) {
            ag_tape_reset(tape);
            ag_params_set_training(ag_sequential_params(m), false);
            ag_tensor *again = ag_cross_entropy(ag_sequential_forward(m, X), y, AG_REDUCE_MEAN);
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
    ag_sequential_free(m);
    return out;
}

/* Sweeps every allocation of f; f returns NAN on failure. At most
 * max_optional of them may fail without failing f (see below). */
static void sweep(double (*f)(void), const char *what, long max_optional)
{
    ag_error_clear();
    double reference = f();
    ck_assert_msg(isfinite(reference), "%s: reference run failed: %s", what, ag_last_error());
    size_t before = ag_alloc_count();
    ck_assert(isfinite(f()));
    long total = (long)(ag_alloc_count() - before);
    ck_assert_int_gt(total, 10);
    fprintf(stderr, "allocations in %s: %ld\n", what, total);
    long optional = 0;
    for (long k = 0; k <= total; k++) {
        ag_error_clear();
        ag_alloc_fail_after(k);
        double v = f();
        ag_alloc_fail_after(-1);
        if (k < total && !isnan(v)) {
            /* One allocation may fail unseen: when a step spilled over its
             * tape's first block, ag_tape_reset merges the blocks into one,
             * and keeps them as they are if that block cannot be had. The
             * step's result must then be the reference's, with no error. */
            ck_assert_msg(v == reference && ag_last_status() == AG_OK,
                          "%s: allocation %ld of %ld failed, the run gave %.17g (%s)", what, k,
                          total, v, ag_last_error());
            optional++;
        } else if (k < total) {
            ck_assert_msg(ag_last_status() == AG_ERR_NOMEM,
                          "%s: allocation %ld failed: status %s, message \"%s\"", what, k,
                          ag_status_str(ag_last_status()), ag_last_error());
        }
        ag_error_clear();
        double clean = f();
        ck_assert_msg(clean == reference, "%s: after failing allocation %ld: %.17g, expected %.17g",
                      what, k, clean, reference);
    }
    ck_assert_msg(optional <= max_optional, "%s: %ld allocations failed without an error", what,
                  optional);
}

START_TEST(test_cnn_step)
{
    sweep(first_step, "a CNN's first step", 1); /* the reset's merged block */
}
END_TEST

/* ag_gradcheck_model of a small conv model: its worst error, or NAN. */
typedef struct gc_data {
    ag_tensor *X;
} gc_data;

static ag_tensor *gc_loss(const ag_params *p, void *ctx)
{
    gc_data *d = ctx;
    ag_tensor *h = ag_tanh(ag_conv2d_layer(p, "c", d->X, NULL));
    return ag_sum(ag_square(ag_batch_norm_layer(p, "bn", h)));
}

static double model_check(void)
{
    double out = NAN;
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_params *p = ag_params_new();
    ag_tensor *X = ag_rand_normal(AG_F64, 4, (int64_t[]){2, 1, 4, 4}, 0, 1, &rng);
    gc_data d = {.X = X};
    if (p && X && ag_conv2d_init(p, "c", 1, 2, 2, 2, 1, true, AG_F64, AG_INIT_HE_UNIFORM, &rng) &&
        ag_batch_norm_init(p, "bn", 2, AG_F64)) {
        ag_model_gradcheck_report rep;
        if (ag_gradcheck_model(gc_loss, &d, p, NULL, &rep) && rep.pass)
            out = rep.max_abs_err;
    }
    ag_tensor_free(X);
    ag_params_free(p);
    return out;
}

START_TEST(test_model_gradcheck)
{
    sweep(model_check, "ag_gradcheck_model", 0);
}
END_TEST

Suite *oom_vision_suite(void);
Suite *oom_vision_suite(void)
{
    Suite *s = suite_create("oom_vision");
    TCase *tc = h_tcase(s, "out of memory in the vision layers", 300);
    tcase_add_test(tc, test_cnn_step);
    tcase_add_test(tc, test_model_gradcheck);
    return s;
}

H_MAIN(oom_vision_suite)

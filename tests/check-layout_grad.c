/* SPDX-License-Identifier: MIT */
/* check-layout_grad.c — the gradients of the layout family (permute and
 * transpose, slice and slice_ranges, concat and stack, expand_dims and
 * squeeze): known values, first and second derivatives against finite
 * differences, the registry's sweep of every op of the family (f32 within
 * one rounding of f64, zero-size inputs), and recorded nodes re-run from
 * their params by the per-node checker.
 *
 * Known gradients come from index arithmetic written in the tests, never
 * from the library's output. Values, errors, f32 and zero-size tensors are
 * in check-layout.c; counting() is in layout_fixture.[ch]. */
#include "layout_fixture.h"

/* ---- gradients: known values ---- */

START_TEST(test_backward_values)
{
    /* d/dx sum(w ⊙ slice(x, 1, -1::-2)) puts w at columns 2 and 0. */
    ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *w = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(10, 20, 30, 40));
    ck_assert(ag_backward(ag_sum(ag_mul(ag_slice(x, 1, -1, AG_END, -2), w))));
    ck_assert_values_f64(ag_grad_of(x), 6, H_VALS(20, 0, 10, 40, 0, 30));
    ag_tape_reset(NULL);

    /* Permute: the seed comes back to x[j][k][i] from y[i][j][k]. */
    ag_tensor *p = h_param(AG_F64, 3, H_SHAPE(2, 3, 4), NULL);
    ag_tensor *seed = counting(AG_F64, 3, H_SHAPE(4, 2, 3));
    ck_assert(ag_backward_seed(ag_permute(p, 3, (const int[]){2, 0, 1}), seed));
    double want[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                want[j * 12 + k * 4 + i] = 100 + (i * 2 + j) * 3 + k;
    ck_assert_values_f64(ag_grad_of(p), 24, want);
    ag_tape_reset(NULL);

    /* Concat: each piece gets its block of the seed; b asked for none. */
    ag_tensor *a = h_param(AG_F64, 2, H_SHAPE(2, 1), NULL);
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(2, 1), NULL);
    ag_tensor *c = h_param(AG_F64, 2, H_SHAPE(2, 2), NULL);
    ag_tensor *s = h_arr(AG_F64, 2, H_SHAPE(2, 4), H_VALS(1, 2, 3, 4, 5, 6, 7, 8));
    ck_assert(ag_backward_seed(ag_concat(3, (ag_tensor *[]){a, b, c}, 1), s));
    ck_assert_values_f64(ag_grad_of(a), 2, H_VALS(1, 5));
    ck_assert_ptr_null(ag_grad_of(b));
    ck_assert_values_f64(ag_grad_of(c), 4, H_VALS(3, 4, 7, 8));
    ag_tape_reset(NULL);

    /* The same tensor twice: both blocks add up. */
    ag_zero_grad(a);
    ck_assert(ag_backward(ag_sum(ag_concat(2, (ag_tensor *[]){a, a}, 0))));
    ck_assert_values_f64(ag_grad_of(a), 2, H_VALS(2, 2));
    ck_assert_ok();
}
END_TEST

/* ---- gradients: finite differences ---- */

static ag_tensor *f_permute(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    /* sum(permute(x) ⊙ w) and a nonlinear term, so the rule sees a varying g. */
    ag_tensor *y = ag_permute(in[0], 3, (const int[]){1, 2, 0});
    return ag_add(ag_sum(ag_mul(y, in[1])), ag_sum(ag_mul(ag_mul(y, y), in[1])));
}

static ag_tensor *f_transpose(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *t = ag_transpose(in[0], 0, 2);
    return ag_mul(t, ag_exp(t));
}

static ag_tensor *f_slices(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    /* Columns 4, 2, 0 times columns 0, 1, 2: overlapping, one reversed. */
    ag_tensor *r = ag_slice(in[0], -1, -1, AG_END, -2);
    ag_tensor *f = ag_slice(in[0], 1, 0, 3, 1);
    return ag_mul(r, f);
}

static ag_tensor *f_slice_ranges(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_range r[3] = {{-1, AG_END, -1}, {1, 3, 1}, {0, AG_END, 3}};
    ag_tensor *y = ag_slice_ranges(in[0], r);
    return ag_mul(y, y);
}

static ag_tensor *f_concat3(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *y = ag_concat(3, in, 0);
    return ag_mul(y, ag_tanh(y));
}

static ag_tensor *f_stack(ag_tensor *const *in, void *ctx)
{
    int axis = *(const int *)ctx;
    ag_tensor *y = ag_stack(3, in, axis);
    return ag_mul(y, ag_sigmoid(y));
}

static ag_tensor *f_expand_squeeze(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *e = ag_expand_dims(in[0], 1);  /* (2,1,3) */
    ag_tensor *s = ag_squeeze(in[1], 0);      /* (1,3) -> (3) */
    return ag_mul(ag_squeeze(ag_mul(e, e), 1), s);
}

START_TEST(test_gradcheck_functions)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_tensor *x = h_rand(AG_F64, 3, H_SHAPE(2, 3, 4), -1, 1, &rng);
    ag_tensor *w = h_rand(AG_F64, 3, H_SHAPE(3, 4, 2), -1, 1, &rng);
    ag_set_requires_grad(x, true);
    ag_set_requires_grad(w, true);
    ck_assert_gradcheck(f_permute, NULL, 2, ((ag_tensor *[]){x, w}));
    ck_assert_gradcheck(f_transpose, NULL, 1, &x);

    ag_tensor *m = h_rand(AG_F64, 2, H_SHAPE(3, 5), -1, 1, &rng);
    ag_set_requires_grad(m, true);
    ck_assert_gradcheck(f_slices, NULL, 1, &m);

    ag_tensor *t = h_rand(AG_F64, 3, H_SHAPE(3, 4, 5), -1, 1, &rng);
    ag_set_requires_grad(t, true);
    ck_assert_gradcheck(f_slice_ranges, NULL, 1, &t);

    /* Three pieces, the middle one a constant. */
    ag_tensor *a = h_rand(AG_F64, 2, H_SHAPE(1, 3), -1, 1, &rng);
    ag_tensor *b = h_rand(AG_F64, 2, H_SHAPE(2, 3), -1, 1, &rng);
    ag_tensor *c = h_rand(AG_F64, 2, H_SHAPE(3, 3), -1, 1, &rng);
    ag_set_requires_grad(a, true);
    ag_set_requires_grad(c, true);
    ck_assert_gradcheck(f_concat3, NULL, 3, ((ag_tensor *[]){a, b, c}));
    /* ... and every piece. */
    ag_set_requires_grad(b, true);
    ck_assert_gradcheck(f_concat3, NULL, 3, ((ag_tensor *[]){a, b, c}));

    ag_tensor *s[3];
    for (int i = 0; i < 3; i++) {
        s[i] = h_rand(AG_F64, 2, H_SHAPE(2, 2), -1, 1, &rng);
        ag_set_requires_grad(s[i], true);
    }
    for (int axis = -3; axis <= 2; axis++)
        ck_assert_gradcheck(f_stack, &axis, 3, s);

    ag_tensor *p = h_rand(AG_F64, 2, H_SHAPE(2, 3), -1, 1, &rng);
    ag_tensor *q = h_rand(AG_F64, 2, H_SHAPE(1, 3), -1, 1, &rng);
    ag_set_requires_grad(p, true);
    ag_set_requires_grad(q, true);
    ck_assert_gradcheck(f_expand_squeeze, NULL, 2, ((ag_tensor *[]){p, q}));
}
END_TEST

/* Second order: the function is the gradient of sum(w ⊙ op(x)³), taken
 * with create_graph, so checking it differentiates each rule's rule. */
typedef ag_tensor *(*layout_fn)(ag_tensor *x);

typedef struct second_order {
    layout_fn op;
    ag_tensor *w; /* op(x)'s shape */
} second_order;

static ag_tensor *f_grad_of(ag_tensor *const *in, void *ctx)
{
    const second_order *c = ctx;
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true); /* the checker evaluates in no-grad mode */
    ag_tensor *y = c->op(in[0]);
    ag_tensor *loss = ag_sum(ag_mul(c->w, ag_mul(y, ag_mul(y, y))));
    ag_tensor *g = NULL;
    if (loss && ag_backward_ex(loss, NULL, true))
        g = ag_grad_of(in[0]);
    /* The graph gradient is returned; the leaf forgets it, so that the
     * checker's own sweep starts from nothing. */
    ag_zero_grad(in[0]);
    ag_grad_mode_set(mode);
    return g;
}

static ag_tensor *op_permute(ag_tensor *x) { return ag_permute(x, 3, (const int[]){2, 0, 1}); }
static ag_tensor *op_slice(ag_tensor *x) { return ag_slice(x, 1, -1, 0, -2); }
static ag_tensor *op_concat(ag_tensor *x)
{
    return ag_concat(3, (ag_tensor *[]){x, ag_slice(x, 0, 1, 2, 1), x}, 0);
}
static ag_tensor *op_stack(ag_tensor *x) { return ag_stack(2, (ag_tensor *[]){x, x}, 1); }
static ag_tensor *op_squeeze(ag_tensor *x) { return ag_squeeze(ag_expand_dims(x, 0), 0); }

START_TEST(test_gradcheck_second_order)
{
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    ag_tensor *x = h_rand(AG_F64, 3, H_SHAPE(2, 3, 4), -1, 1, &rng);
    ag_set_requires_grad(x, true);
    struct {
        layout_fn op;
        int ndim;
        int64_t shape[4];
    } cases[] = {
        {op_permute, 3, {4, 2, 3}}, {op_slice, 3, {2, 1, 4}}, {op_concat, 3, {5, 3, 4}},
        {op_stack, 4, {2, 2, 3, 4}}, {op_squeeze, 3, {2, 3, 4}},
    };
    for (size_t k = 0; k < H_COUNT(cases); k++) {
        second_order c = {cases[k].op,
                          h_rand(AG_F64, cases[k].ndim, cases[k].shape, 0.5, 1.5, &rng)};
        ck_assert_gradcheck(f_grad_of, &c, 1, &x);
    }
}
END_TEST

/* ---- the registry: every op of the family certifies itself ---- */

static const char *const layout_ops[] = {
    "permute", "transpose", "slice", "slice_backward", "slice_ranges",
    "concat",  "stack",     "expand_dims", "squeeze",
};

START_TEST(test_registry_sweep)
{
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (size_t k = 0; k < H_COUNT(layout_ops); k++) {
        const ag_op *op = ag_op_find(layout_ops[k]);
        ck_assert_msg(op != NULL, "%s is not registered: %s", layout_ops[k], ag_last_error());
        for (uint64_t seed = 1; seed <= 12; seed++) {
            ag_gradcheck_report rep;
            bool pass = ag_gradcheck_op(op, seed, &o, &rep);
            char buf[3072];
            ck_assert_msg(pass, "%s, seed %llu: %s\n%s", layout_ops[k], (unsigned long long)seed,
                          ag_last_error(), h_report_str(&rep, buf, sizeof buf));
            /* Moving elements computes nothing: f32 differs from f64 by the
             * rounding of the inputs alone, at most 2^-24 relative. */
            ck_assert_msg(rep.f32_checked && rep.f32_max_err <= ldexp(1.0, -24),
                          "%s: f32 differs from f64 by %g, more than one rounding",
                          layout_ops[k], rep.f32_max_err);
            ck_assert_msg(strcmp(rep.zero_size, "ok") == 0, "%s, seed %llu: zero-size: %s",
                          layout_ops[k], (unsigned long long)seed, rep.zero_size);
        }
    }
    /* Primitives carry a rule; composites are listed without one. */
    const char *const composites[] = {"transpose", "slice_ranges", "stack", "expand_dims",
                                      "squeeze"};
    for (size_t k = 0; k < H_COUNT(composites); k++) {
        const ag_op_def *d = ag_op_info(ag_op_find(composites[k]));
        ck_assert(d && (d->flags & AG_OP_COMPOSITE) && !d->vjp);
    }
    ck_assert_ok();
}
END_TEST

/* Re-running recorded nodes from their params (the per-node checker):
 * a concat of three, negative-step slices and their adjoints all pass. */
static ag_tensor *f_model(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *x = in[0];                                            /* (3,3) */
    ag_tensor *rev = ag_slice(x, 1, -1, AG_END, -1);                 /* (3,3) */
    ag_tensor *col = ag_slice(x, 1, 0, 1, 1);                        /* (3,1) */
    ag_tensor *j = ag_concat(2, (ag_tensor *[]){rev, col}, 1);       /* (3,4) */
    ag_tensor *corner = ag_slice_ranges(x, (const ag_range[]){{0, 1, 1}, {-1, -2, -1}});
    ag_tensor *row = ag_concat(2, (ag_tensor *[]){ag_transpose(col, 0, 1), corner}, 1); /* (1,4) */
    ag_tensor *k = ag_concat(3, (ag_tensor *[]){j, row, j}, 0);      /* (7,4) */
    return ag_sum(ag_mul(k, ag_tanh(k)));
}

START_TEST(test_nodes_rerun)
{
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    ag_tensor *x = h_rand(AG_F64, 2, H_SHAPE(3, 3), -1, 1, &rng);
    ag_set_requires_grad(x, true);
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_nodes_report rep;
    bool pass = ag_gradcheck_nodes(f_model, NULL, 1, &x, &o, &rep);
    ck_assert_msg(pass, "%s (%zu nodes)", ag_last_error(), rep.n_nodes);
    ck_assert_uint_gt(rep.n_checked, 5);
    ck_assert_gradcheck(f_model, NULL, 1, &x);
}
END_TEST

Suite *layout_grad_suite(void);
Suite *layout_grad_suite(void)
{
    Suite *s = suite_create("layout_grad");
    TCase *tc = h_tcase(s, "gradients", H_TIMEOUT * 4);
    tcase_add_test(tc, test_backward_values);
    tcase_add_test(tc, test_gradcheck_functions);
    tcase_add_test(tc, test_gradcheck_second_order);
    tcase_add_test(tc, test_nodes_rerun);
    tc = h_tcase(s, "registry", H_TIMEOUT * 4);
    tcase_add_test(tc, test_registry_sweep);
    return s;
}

H_MAIN(layout_grad_suite)

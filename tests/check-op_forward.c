/* SPDX-License-Identifier: MIT */
/* check-op_forward.c — an op's forward takes its parameters, and its sweep
 * case is table data (op.h's ag_forward_fn and ag_example_fn).
 *
 * A user op with options, y = c·x with c in its params, is written as the
 * built-ins are: a forward that takes the params struct the node keeps,
 * and a builder that only packs c into it. Re-running a recorded node
 * (ag_op_apply with the node's params, as ag_gradcheck_nodes does) must go
 * through that same forward with the node's c; with NULL params ag_op_apply
 * runs the op's example (c = -1.5 here), and a composite may be given by
 * its example alone. Registration refuses a descriptor with no way to run
 * the op. Expected values are c·x worked by hand. */
#include "harness.h"

typedef struct scale_params {
    double c;
} scale_params;

static const ag_op *scale_op;
static int forward_calls;
static double last_c;

/* y = c·x;  dx += c·g */
static ag_tensor *scale_forward(ag_tensor *const *in, const void *params)
{
    const scale_params *p = params;
    ag_tensor *x = in[0];
    forward_calls++;
    last_c = p->c;
    if (!ag_check_inputs("user_scale", 1, &x))
        return NULL;
    ag_tensor *y = ag_op_result(scale_op, ag_tensor_dtype(x), ag_ndim(x), ag_shape(x), 1, &x, p,
                                sizeof *p);
    if (!y)
        return NULL;
    size_t n = ag_numel(x);
    if (ag_tensor_dtype(x) == AG_F32) {
        const float *xv = ag_data_const(x);
        float *yv = ag_data(y);
        for (size_t i = 0; i < n; i++)
            yv[i] = (float)p->c * xv[i];
    } else {
        const double *xv = ag_data_const(x);
        double *yv = ag_data(y);
        for (size_t i = 0; i < n; i++)
            yv[i] = p->c * xv[i];
    }
    return y;
}

static ag_tensor *user_scale(ag_tensor *x, double c)
{
    return scale_forward(&x, &(scale_params){c});
}

static bool scale_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const scale_params *p = ag_node_params(y);
    return (gin[0] = ag_mul_scalar(g, p->c)) != NULL;
}

static ag_tensor *scale_example(ag_tensor *const *in)
{
    return user_scale(in[0], -1.5);
}

static void register_scale(void)
{
    scale_op = ag_op_register(&(ag_op_def){
        .name = "user_scale",
        .n_inputs = 1,
        .forward = scale_forward,
        .example = scale_example,
        .vjp = scale_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += c g",
    });
    ck_assert_msg(scale_op != NULL, "%s", ag_last_error());
    forward_calls = 0;
}

/* ---- a recorded node re-runs through its forward, with its params ---- */

static ag_tensor *scale_model(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(user_scale(in[0], 2.5));
}

START_TEST(test_node_reruns_through_forward)
{
    register_scale();
    ag_tensor *x = ag_from_array(AG_F64, 1, H_SHAPE(3), H_VALS(1, -2, 4));
    ag_set_requires_grad(x, true);
    ag_tensor *y = user_scale(x, 2.5);
    ck_assert_ptr_nonnull(y);
    ck_assert_ptr_eq(ag_node_op(y), scale_op);
    ck_assert_int_eq(forward_calls, 1);

    /* The node's params, handed back, make the same node again. */
    ag_tensor *again = ag_op_apply(scale_op, (ag_tensor *[]){x}, ag_node_params(y));
    ck_assert_ptr_nonnull(again);
    ck_assert_int_eq(forward_calls, 2);
    ck_assert_f64(last_c, 2.5);
    const double want[3] = {2.5, -5, 10};
    for (size_t i = 0; i < 3; i++)
        ck_assert_f64(ag_get_flat(again, i), want[i]);

    /* The per-node check re-runs the node the same way: every call it
     * makes sees the node's c, none the example's. */
    forward_calls = 0;
    ag_gradcheck_nodes_report rep;
    ck_assert_msg(ag_gradcheck_nodes(scale_model, NULL, 1, &x, NULL, &rep), "%s", ag_last_error());
    ck_assert(rep.pass);
    ck_assert_int_ge(forward_calls, 2);
    ck_assert_f64(last_c, 2.5);
    ag_tensor_free(x);
}
END_TEST

/* ---- NULL params: the example ---- */

START_TEST(test_example_builds_the_sweep_case)
{
    register_scale();
    ag_tensor *x = ag_from_array(AG_F64, 1, H_SHAPE(2), H_VALS(2, -0.5));
    ag_set_requires_grad(x, true);
    ag_tensor *y = ag_op_apply(scale_op, (ag_tensor *[]){x}, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_f64(ag_get_flat(y, 0), -3.0);
    ck_assert_f64(ag_get_flat(y, 1), 0.75);
    const scale_params *p = ag_node_params(y);
    ck_assert_ptr_nonnull(p);
    ck_assert_f64(p->c, -1.5);
    ck_assert_msg(ag_gradcheck_op(scale_op, 3, NULL, NULL), "%s", ag_last_error());
    ag_tensor_free(x);
}
END_TEST

/* y = 2·x + x as a composite: no node of its own, only an example. */
static ag_tensor *three_x_example(ag_tensor *const *in)
{
    return ag_add(ag_mul_scalar(in[0], 2.0), in[0]);
}

START_TEST(test_composite_by_example_alone)
{
    const ag_op *op = ag_op_register(&(ag_op_def){.name = "user_three_x", .n_inputs = 1,
                                                  .example = three_x_example, .domain_lo = -1,
                                                  .domain_hi = 1, .flags = AG_OP_COMPOSITE});
    ck_assert_msg(op != NULL, "%s", ag_last_error());
    ck_assert(ag_op_info(op)->forward == NULL);
    ag_tensor *x = ag_from_array(AG_F64, 1, H_SHAPE(2), H_VALS(1, -2));
    ag_tensor *y = ag_op_apply(op, (ag_tensor *[]){x}, NULL);
    ck_assert_ptr_nonnull(y);
    ck_assert_f64(ag_get_flat(y, 0), 3.0);
    ck_assert_f64(ag_get_flat(y, 1), -6.0);
    ck_assert_msg(ag_gradcheck_op(op, 5, NULL, NULL), "%s", ag_last_error());
    /* No node of its own, so no node's params can be its. */
    scale_params p = {1.0};
    ck_assert_ptr_null(ag_op_apply(op, (ag_tensor *[]){x}, &p));
    ck_assert_error(AG_ERR_VALUE, "user_three_x has no forward to take params");
    ag_error_clear();
    ag_tensor_free(x);
}
END_TEST

/* ---- registration refuses an op it could not run ---- */

START_TEST(test_register_needs_a_way_to_run)
{
    ag_op_def none = {.name = "user_nothing", .n_inputs = 1, .vjp = scale_vjp,
                      .domain_lo = -1, .domain_hi = 1};
    ck_assert_ptr_null(ag_op_register(&none));
    ck_assert_error(AG_ERR_VALUE, "an op needs a name, a forward function");
    ag_error_clear();

    /* An example alone runs only a composite: a recorded op's nodes are
     * re-run through its forward. */
    none.example = scale_example;
    ck_assert_ptr_null(ag_op_register(&none));
    ck_assert_error(AG_ERR_VALUE, "got op user_nothing");
    ag_error_clear();

    /* Nothing of the refused ones was registered. */
    ck_assert_ptr_null(ag_op_find("user_nothing"));
    ag_error_clear();
}
END_TEST

/* A built-in's node re-runs through ag_op_apply with its own params: a
 * concat of 3 gives back its inputs end to end (1, 2, 3, 4, 5, 6), and a
 * concat of 10 — more inputs than the AG_GRADCHECK_MAX_INPUTS entries
 * ag_op_apply is handed — is refused by name instead of read past. */
START_TEST(test_concat_node_reruns_or_refuses)
{
    ag_tensor *leaves[10];
    for (int i = 0; i < 10; i++) {
        double v[2] = {2 * i + 1, 2 * i + 2};
        leaves[i] = ag_from_array(AG_F64, 1, (int64_t[]){2}, v);
        ag_set_requires_grad(leaves[i], true);
    }
    ag_tensor *three = ag_concat(3, leaves, 0);
    ck_assert_ptr_nonnull(three);
    ag_tensor *in[AG_GRADCHECK_MAX_INPUTS] = {leaves[0], leaves[1], leaves[2]};
    ag_tensor *again = ag_op_apply(ag_node_op(three), in, ag_node_params(three));
    ck_assert_msg(again != NULL, "%s", ag_last_error());
    ck_assert_uint_eq(ag_numel(again), 6);
    for (size_t i = 0; i < 6; i++)
        ck_assert_double_eq(ag_get_flat(again, i), (double)(i + 1));

    ag_tensor *ten = ag_concat(10, leaves, 0);
    ck_assert_ptr_nonnull(ten);
    for (int i = 0; i < AG_GRADCHECK_MAX_INPUTS; i++)
        in[i] = leaves[i];
    ck_assert_ptr_null(ag_op_apply(ag_node_op(ten), in, ag_node_params(ten)));
    ck_assert_error(AG_ERR_VALUE, "a node of 10 inputs cannot be re-run");
    ag_error_clear();
    ag_tape_reset(NULL);
    for (int i = 0; i < 10; i++)
        ag_tensor_free(leaves[i]);
}
END_TEST

static Suite *op_forward_suite(void)
{
    Suite *s = suite_create("op_forward");
    TCase *tc = h_tcase(s, "forward and example", H_TIMEOUT);
    tcase_add_test(tc, test_node_reruns_through_forward);
    tcase_add_test(tc, test_example_builds_the_sweep_case);
    tcase_add_test(tc, test_composite_by_example_alone);
    tcase_add_test(tc, test_register_needs_a_way_to_run);
    tcase_add_test(tc, test_concat_node_reruns_or_refuses);
    return s;
}

H_MAIN(op_forward_suite)

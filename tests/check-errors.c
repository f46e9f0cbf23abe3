/* SPDX-License-Identifier: MIT */
/* check-errors.c — the error paths: NULL inputs propagate and the first
 * error is kept, messages name the op and the shapes, dtype and axis and
 * shape errors, misuse of intermediates, the op registry, and a user op with
 * a deliberately wrong vector-Jacobian rule caught by the gradient checker. */
#include "harness.h"

#include <stdio.h>

/* ---- NULL inputs ---- */

typedef struct null_case {
    const char *name;
    ag_tensor *(*call)(ag_tensor *x, ag_tensor *y); /* one of them may be NULL */
} null_case;

static ag_tensor *c_add(ag_tensor *x, ag_tensor *y) { return ag_add(x, y); }
static ag_tensor *c_sub(ag_tensor *x, ag_tensor *y) { return ag_sub(x, y); }
static ag_tensor *c_mul(ag_tensor *x, ag_tensor *y) { return ag_mul(x, y); }
static ag_tensor *c_div(ag_tensor *x, ag_tensor *y) { return ag_div(x, y); }
static ag_tensor *c_matmul(ag_tensor *x, ag_tensor *y) { return ag_matmul(x, y); }
static ag_tensor *c_neg(ag_tensor *x, ag_tensor *y) { (void)y; return ag_neg(x); }
static ag_tensor *c_exp(ag_tensor *x, ag_tensor *y) { (void)y; return ag_exp(x); }
static ag_tensor *c_log(ag_tensor *x, ag_tensor *y) { (void)y; return ag_log(x); }
static ag_tensor *c_sigmoid(ag_tensor *x, ag_tensor *y) { (void)y; return ag_sigmoid(x); }
static ag_tensor *c_tanh(ag_tensor *x, ag_tensor *y) { (void)y; return ag_tanh(x); }
static ag_tensor *c_relu(ag_tensor *x, ag_tensor *y) { (void)y; return ag_relu(x); }
static ag_tensor *c_step(ag_tensor *x, ag_tensor *y) { (void)y; return ag_step(x); }
static ag_tensor *c_transpose2d(ag_tensor *x, ag_tensor *y) { (void)y; return ag_transpose2d(x); }
static ag_tensor *c_sum(ag_tensor *x, ag_tensor *y) { (void)y; return ag_sum(x); }
static ag_tensor *c_mean(ag_tensor *x, ag_tensor *y) { (void)y; return ag_mean(x); }
static ag_tensor *c_sum_axis(ag_tensor *x, ag_tensor *y) { (void)y; return ag_sum_axis(x, 0, false); }
static ag_tensor *c_mean_axis(ag_tensor *x, ag_tensor *y) { (void)y; return ag_mean_axis(x, 0, true); }
static ag_tensor *c_reshape(ag_tensor *x, ag_tensor *y) { (void)y; return ag_reshape(x, 1, H_SHAPE(4)); }
static ag_tensor *c_broadcast_to(ag_tensor *x, ag_tensor *y) { (void)y; return ag_broadcast_to(x, 3, H_SHAPE(3, 2, 2)); }
static ag_tensor *c_sum_to(ag_tensor *x, ag_tensor *y) { (void)y; return ag_sum_to(x, 1, H_SHAPE(2)); }
static ag_tensor *c_add_scalar(ag_tensor *x, ag_tensor *y) { (void)y; return ag_add_scalar(x, 1); }
static ag_tensor *c_mul_scalar(ag_tensor *x, ag_tensor *y) { (void)y; return ag_mul_scalar(x, 2); }

static const null_case BINARY[] = {
    {"add", c_add}, {"sub", c_sub}, {"mul", c_mul}, {"div", c_div}, {"matmul", c_matmul},
};
static const null_case UNARY[] = {
    {"neg", c_neg},           {"exp", c_exp},           {"log", c_log},
    {"sigmoid", c_sigmoid},   {"tanh", c_tanh},         {"relu", c_relu},
    {"step", c_step},         {"transpose2d", c_transpose2d}, {"sum", c_sum},
    {"mean", c_mean},         {"sum", c_sum_axis},      {"mean", c_mean_axis},
    {"reshape", c_reshape},   {"broadcast_to", c_broadcast_to}, {"sum_to", c_sum_to},
    {"add_scalar", c_add_scalar}, {"mul_scalar", c_mul_scalar},
};

START_TEST(test_null_inputs)
{
    ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4));
    for (size_t i = 0; i < H_COUNT(BINARY); i++)
        for (int side = 0; side < 2; side++) {
            ag_error_clear();
            ag_tensor *y = side ? BINARY[i].call(x, NULL) : BINARY[i].call(NULL, x);
            ck_assert_msg(y == NULL, "%s with a NULL input gave a tensor", BINARY[i].name);
            ck_assert_status(AG_ERR_NULL);
            ck_assert_msg(strstr(ag_last_error(), BINARY[i].name) != NULL,
                          "message \"%s\" does not name %s", ag_last_error(), BINARY[i].name);
        }
    for (size_t i = 0; i < H_COUNT(UNARY); i++) {
        ag_error_clear();
        ck_assert_msg(UNARY[i].call(NULL, NULL) == NULL, "%s(NULL) gave a tensor", UNARY[i].name);
        ck_assert_status(AG_ERR_NULL);
        ck_assert_msg(strstr(ag_last_error(), UNARY[i].name) != NULL,
                      "message \"%s\" does not name %s", ag_last_error(), UNARY[i].name);
        /* The same call on a real tensor works (so the NULL is the cause). */
        ag_error_clear();
        ck_assert_msg(UNARY[i].call(x, NULL) != NULL, "%s(x): %s", UNARY[i].name,
                      ag_last_error());
    }
    ck_assert_uint_eq(ag_tape_size(NULL), H_COUNT(UNARY));
}
END_TEST

START_TEST(test_first_error_is_kept)
{
    ag_tensor *a = h_param(AG_F64, 2, H_SHAPE(3, 4), NULL);
    ag_tensor *b = h_param(AG_F64, 2, H_SHAPE(5, 2), NULL);
    ag_tensor *c = h_param(AG_F64, 2, H_SHAPE(3, 2), NULL);
    /* The inner matmul fails; every op above it gets a NULL input. */
    ag_tensor *loss = ag_mean(ag_sigmoid(ag_add(ag_matmul(a, b), c)));
    ck_assert_ptr_null(loss);
    ck_assert_status(AG_ERR_SHAPE);
    ck_assert_str_eq(ag_last_error(), "matmul: (3,4) @ (5,2): inner dimensions 4 and 5 differ");
    /* Later errors, and later successes, leave it in place. */
    ck_assert_ptr_null(ag_exp(NULL));
    ck_assert_ptr_null(ag_sum_axis(c, 5, false));
    ck_assert_ptr_nonnull(ag_add(c, c));
    ck_assert_status(AG_ERR_SHAPE);
    ck_assert_str_eq(ag_last_error(), "matmul: (3,4) @ (5,2): inner dimensions 4 and 5 differ");

    /* An inner reshape, deeper down. */
    ag_error_clear();
    ag_tensor *l2 = ag_sum(ag_log(ag_exp(ag_mul_scalar(ag_reshape(a, 2, H_SHAPE(5, 5)), 2))));
    ck_assert_ptr_null(l2);
    ck_assert_error(AG_ERR_SHAPE, "reshape");
    ck_assert_msg(strncmp(ag_last_error(), "reshape", 7) == 0, "message \"%s\"", ag_last_error());
    ck_assert_msg(strstr(ag_last_error(), "(3,4)") && strstr(ag_last_error(), "(5,5)"),
                  "message \"%s\" does not name both shapes", ag_last_error());
}
END_TEST

START_TEST(test_error_clear)
{
    ck_assert_ok();
    ck_assert_str_eq(ag_last_error(), "");
    ck_assert_ptr_null(ag_exp(NULL));
    ck_assert_status(AG_ERR_NULL);
    ck_assert_str_ne(ag_last_error(), "");
    ag_error_clear();
    ck_assert_ok();
    ck_assert_str_eq(ag_last_error(), "");
    /* The next failure is reported again. */
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(2), NULL);
    ck_assert_ptr_null(ag_sum_axis(x, 1, false));
    ck_assert_status(AG_ERR_VALUE);
}
END_TEST

/* ---- shapes ---- */

START_TEST(test_matmul_shape_errors)
{
    ag_tensor *a = h_arr(AG_F64, 2, H_SHAPE(3, 4), NULL);
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(5, 2), NULL);
    ck_assert_ptr_null(ag_matmul(a, b));
    ck_assert_error(AG_ERR_SHAPE, "matmul: (3,4) @ (5,2): inner dimensions 4 and 5 differ");
    ag_error_clear();
    /* Transposed: op(a) is (4,3), so inner dimensions 3 and 5 differ. */
    ck_assert_ptr_null(ag_matmul_t(a, true, b, false));
    ck_assert_error(AG_ERR_SHAPE, "inner dimensions 3 and 5 differ");
    ag_error_clear();
    /* But aᵀ @ (3,2) works: (4,3) @ (3,2). */
    ag_tensor *c = h_arr(AG_F64, 2, H_SHAPE(3, 2), NULL);
    ag_tensor *ok = ag_matmul_t(a, true, c, false);
    ck_assert_shape(ok, 2, H_SHAPE(4, 2));
    /* A 1-D right operand is a column: (3,4) @ (5) does not fit either. */
    ag_tensor *v5 = h_arr(AG_F64, 1, H_SHAPE(5), NULL);
    ck_assert_ptr_null(ag_matmul(a, v5));
    ck_assert_error(AG_ERR_SHAPE, "inner dimensions 4 and 5 differ");
    ag_error_clear();
    ag_tensor *s = h_scalar(AG_F64, 2);
    ck_assert_ptr_null(ag_matmul(a, s));
    ck_assert_error(AG_ERR_SHAPE, "matmul");
    ag_error_clear();
    /* The transposing primitive takes only matrices (or batches of them). */
    ag_tensor *v = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_matmul_t(a, false, v, false));
    ck_assert_error(AG_ERR_SHAPE, "2-D");
    ag_error_clear();
    ck_assert_ptr_null(ag_transpose2d(v));
    ck_assert_error(AG_ERR_SHAPE, "transpose2d");
}
END_TEST

START_TEST(test_reshape_errors)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_reshape(x, 1, H_SHAPE(4)));
    ck_assert_error(AG_ERR_SHAPE, "reshape");
    ck_assert_msg(strstr(ag_last_error(), "(2,3)") != NULL, "message \"%s\"", ag_last_error());
    ag_error_clear();
    ck_assert_ptr_null(ag_reshape(x, 2, H_SHAPE(3, 3)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_reshape(x, 2, H_SHAPE(-2, -3)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_reshape(x, 9, (const int64_t[9]){1, 1, 1, 1, 1, 1, 1, 2, 3}));
    ck_assert_status(AG_ERR_SHAPE);
}
END_TEST

START_TEST(test_axis_errors)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_sum_axis(x, 2, false));
    ck_assert_error(AG_ERR_VALUE, "axis 2");
    ck_assert_msg(strstr(ag_last_error(), "sum") != NULL, "message \"%s\"", ag_last_error());
    ag_error_clear();
    ck_assert_ptr_null(ag_mean_axis(x, -3, true));
    ck_assert_error(AG_ERR_VALUE, "axis -3");
    ck_assert_msg(strstr(ag_last_error(), "mean") != NULL, "message \"%s\"", ag_last_error());
    ag_error_clear();
    ag_tensor *s = h_scalar(AG_F64, 1);
    ck_assert_ptr_null(ag_sum_axis(s, 0, false));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    /* In range from both ends. */
    ck_assert_ptr_nonnull(ag_sum_axis(x, -2, false));
    ck_assert_ptr_nonnull(ag_mean_axis(x, 1, false));
    ck_assert_ok();
}
END_TEST

/* ---- dtypes ---- */

START_TEST(test_dtype_errors)
{
    ag_tensor *f = h_arr(AG_F32, 2, H_SHAPE(2, 2), NULL);
    ag_tensor *d = h_arr(AG_F64, 2, H_SHAPE(2, 2), NULL);
    ag_tensor *i = h_arr(AG_I64, 2, H_SHAPE(2, 2), NULL);
    ck_assert_ptr_null(ag_add(f, d));
    ck_assert_error(AG_ERR_DTYPE, "add");
    ck_assert_error(AG_ERR_DTYPE, "convert one first with ag_cast");
    ck_assert_msg(strstr(ag_last_error(), "f32") && strstr(ag_last_error(), "f64"),
                  "message \"%s\" does not name both dtypes", ag_last_error());
    ag_error_clear();
    ck_assert_ptr_null(ag_mul(d, f));
    ck_assert_error(AG_ERR_DTYPE, "mul");
    ag_error_clear();
    ck_assert_ptr_null(ag_matmul(f, d));
    ck_assert_error(AG_ERR_DTYPE, "matmul");
    ag_error_clear();

    /* Integer tensors are indices and labels: the float ops refuse them. */
    ck_assert_ptr_null(ag_exp(i));
    ck_assert_error(AG_ERR_DTYPE, "i64");
    ag_error_clear();
    ck_assert_ptr_null(ag_add(i, i));
    ck_assert_error(AG_ERR_DTYPE, "add");
    ag_error_clear();
    ck_assert_ptr_null(ag_add(d, i));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_sum(i));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_matmul(i, i));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_mul_scalar(i, 2));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    /* reshape only moves elements: an i64 passes (unrecorded). */
    ag_tensor *r = ag_reshape(i, 1, H_SHAPE(4));
    ck_assert_tensor(r);
    ck_assert_int_eq(ag_tensor_dtype(r), AG_I64);
    ck_assert(!ag_requires_grad(r));
    ck_assert(!ag_set_requires_grad(i, true));
    ck_assert_status(AG_ERR_DTYPE);
}
END_TEST

/* ---- misuse ---- */

START_TEST(test_intermediate_misuse)
{
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_tensor *c = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_tensor *y = ag_mul(x, x);
    ck_assert_tensor(y);
    ck_assert(!ag_set_requires_grad(y, false));
    ck_assert_error(AG_ERR_STATE, "intermediate");
    ck_assert(ag_requires_grad(y));
    ag_error_clear();
    /* An unrecorded result is an intermediate too. */
    ag_tensor *k = ag_mul(c, c);
    ck_assert(!ag_set_requires_grad(k, true));
    ck_assert_status(AG_ERR_STATE);
    ck_assert(!ag_requires_grad(k));
    ag_error_clear();
    ck_assert(!ag_sgd_update(y, 0.1));
    ck_assert_status(AG_ERR_STATE);
    ag_error_clear();
    ck_assert(!ag_sgd_update(NULL, 0.1));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    /* No gradient yet: an error that says to run backward, x untouched. */
    ck_assert(!ag_sgd_update(x, 0.1));
    ck_assert_error(AG_ERR_STATE, "ag_backward");
    ck_assert(ag_get_flat(x, 0) == 1.0);
    ag_error_clear();
}
END_TEST

START_TEST(test_null_tolerant_calls)
{
    /* Calls that take NULL without crashing. */
    ag_tensor_free(NULL);
    ag_set_label(NULL, "x");
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_zero_grad(NULL);
    ck_assert_ptr_null(ag_grad_of(NULL));
    ck_assert_ptr_null(ag_node_op(NULL));
    ck_assert_int_eq(ag_node_n_inputs(NULL), 0);
    ck_assert_ptr_null(ag_node_input(NULL, 0));
    ck_assert_ptr_null(ag_node_params(NULL));
    ck_assert_int_eq(ag_node_index(NULL), -1);
    ck_assert_ptr_null(ag_op_info(NULL));
    ag_op_foreach(NULL, NULL);
    ag_gradcheck_fprint(NULL, NULL);
    ag_gradcheck_fprint(stderr, NULL);
    ag_rng_seed(NULL, 1);
    ck_assert(!ag_backward_seed(NULL, NULL));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

START_TEST(test_backend_errors)
{
    ck_assert(!ag_matmul_backend_set((ag_matmul_backend)5));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(ag_matmul_backend_set(AG_MATMUL_BUILTIN));
    ck_assert_int_eq(ag_matmul_backend_get(), AG_MATMUL_BUILTIN);
    if (!ag_have_blas()) {
        ck_assert(!ag_matmul_backend_set(AG_MATMUL_BLAS));
        ck_assert_error(AG_ERR_VALUE, "BLAS");
        ck_assert_int_eq(ag_matmul_backend_get(), AG_MATMUL_BUILTIN);
    } else {
        ck_assert(ag_matmul_backend_set(AG_MATMUL_BLAS));
        ck_assert_ok();
    }
}
END_TEST

/* ---- the registry ---- */

START_TEST(test_registry_lookup_errors)
{
    ck_assert_ptr_null(ag_op_find("no_such_op"));
    ck_assert_error(AG_ERR_NOTFOUND, "no_such_op");
    ag_error_clear();
    ck_assert_ptr_null(ag_op_find(NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    const ag_op *add = ag_op_find("add");
    ck_assert_ptr_nonnull(add);
    ck_assert_ok();

    /* A second op named "add" is refused, whatever else it says. */
    ag_op_def def = *ag_op_info(add);
    size_t count = ag_op_count();
    ck_assert_ptr_null(ag_op_register(&def));
    ck_assert_error(AG_ERR_VALUE, "add");
    ck_assert_uint_eq(ag_op_count(), count);
    ck_assert_ptr_eq(ag_op_find("add"), add);
}
END_TEST

static ag_tensor *apply_dummy(ag_tensor *const *in, const void *params)
{
    (void)params;
    return ag_neg(in[0]);
}

static bool vjp_dummy(ag_tensor *node, ag_tensor *g, ag_tensor **gin)
{
    (void)node;
    return (gin[0] = ag_neg(g)) != NULL;
}

START_TEST(test_registry_register_errors)
{
    size_t count = ag_op_count();
    ag_op_def good = {.name = "test_negate", .n_inputs = 1, .forward = apply_dummy,
                      .vjp = vjp_dummy, .domain_lo = -1, .domain_hi = 1};

    ag_op_def bad = good;
    bad.forward = NULL;
    ck_assert_ptr_null(ag_op_register(&bad));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    bad = good;
    bad.vjp = NULL; /* only a composite may lack a rule */
    ck_assert_ptr_null(ag_op_register(&bad));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    bad = good;
    bad.n_inputs = 0;
    ck_assert_ptr_null(ag_op_register(&bad));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    bad.n_inputs = AG_GRADCHECK_MAX_INPUTS + 1;
    ck_assert_ptr_null(ag_op_register(&bad));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    bad = good;
    bad.name = "";
    ck_assert_ptr_null(ag_op_register(&bad));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    bad.name = NULL;
    ck_assert_ptr_null(ag_op_register(&bad));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    bad = good;
    bad.domain_lo = 2;
    bad.domain_hi = 1;
    ck_assert_ptr_null(ag_op_register(&bad));
    ck_assert_error(AG_ERR_VALUE, "domain");
    ag_error_clear();
    ck_assert_ptr_null(ag_op_register(NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_uint_eq(ag_op_count(), count);

    /* The good one registers once, under a copy of its name. */
    char name[16] = "test_negate";
    good.name = name;
    const ag_op *op = ag_op_register(&good);
    ck_assert_msg(op != NULL, "%s", ag_last_error());
    name[0] = 'X';
    ck_assert_str_eq(ag_op_info(op)->name, "test_negate");
    ck_assert_ptr_eq(ag_op_find("test_negate"), op);
    ck_assert_uint_eq(ag_op_count(), count + 1);
    name[0] = 't';
    ck_assert_ptr_null(ag_op_register(&good));
    ck_assert_error(AG_ERR_VALUE, "test_negate");
    ck_assert_uint_eq(ag_op_count(), count + 1);

    /* A composite has no node of its own. */
    ag_error_clear();
    ag_op_def comp = {.name = "test_composite", .n_inputs = 1, .forward = apply_dummy,
                      .domain_lo = -1, .domain_hi = 1, .flags = AG_OP_COMPOSITE};
    const ag_op *cop = ag_op_register(&comp);
    ck_assert_msg(cop != NULL, "%s", ag_last_error());
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), NULL);
    ck_assert_ptr_null(ag_op_result(cop, AG_F64, 1, H_SHAPE(2), 1, &x, NULL, 0));
    ck_assert_status(AG_ERR_STATE);
    ag_error_clear();
    ck_assert_ptr_null(ag_op_result(NULL, AG_F64, 1, H_SHAPE(2), 1, &x, NULL, 0));
    ck_assert_status(AG_ERR_NULL);
    /* A node holds at most 32767 inputs; more is refused, not truncated. */
    ag_error_clear();
    enum { MANY = 32768 };
    static ag_tensor *many[MANY];
    for (int i = 0; i < MANY; i++)
        many[i] = x;
    ck_assert_ptr_null(ag_op_result(op, AG_F64, 1, H_SHAPE(2), MANY, many, NULL, 0));
    ck_assert_error(AG_ERR_VALUE, "test_negate: bad input list (32768 inputs; at most 32767)");
    ag_error_clear();
}
END_TEST

/* ---- a user op with a wrong rule ---- */

/* y = a · b² elementwise (same shapes). The rule for a is right; the rule
 * for b, 2 g a b, is made wrong by g·step(a − 0.9): wrong exactly where
 * a > 0.9. */
static const ag_op *SQMUL;
static bool sqmul_wrong;

static ag_tensor *sqmul(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2] = {a, b};
    if (!ag_check_inputs("test_sqmul", 2, in))
        return NULL;
    if (!h_shape_is(b, ag_ndim(a), ag_shape(a)))
        return NULL;
    ag_tensor *y = ag_op_result(SQMUL, ag_tensor_dtype(a), ag_ndim(a), ag_shape(a), 2, in, NULL, 0);
    if (!y)
        return NULL;
    size_t n = ag_numel(a);
    if (ag_tensor_dtype(a) == AG_F32) {
        const float *pa = ag_data_const(a), *pb = ag_data_const(b);
        float *py = ag_data(y);
        for (size_t i = 0; i < n; i++)
            py[i] = pa[i] * pb[i] * pb[i];
    } else {
        const double *pa = ag_data_const(a), *pb = ag_data_const(b);
        double *py = ag_data(y);
        for (size_t i = 0; i < n; i++)
            py[i] = pa[i] * pb[i] * pb[i];
    }
    return y;
}

static ag_tensor *apply_sqmul(ag_tensor *const *in, const void *params)
{
    (void)params;
    return sqmul(in[0], in[1]);
}

static bool sqmul_vjp(ag_tensor *node, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *a = ag_node_input(node, 0), *b = ag_node_input(node, 1);
    if (ag_requires_grad(a) && !(gin[0] = ag_mul(g, ag_mul(b, b))))
        return false;
    if (ag_requires_grad(b)) {
        gin[1] = ag_mul_scalar(ag_mul(g, ag_mul(a, b)), 2);
        if (sqmul_wrong)
            gin[1] = ag_add(gin[1], ag_mul(g, ag_step(ag_add_scalar(a, -0.9))));
        if (!gin[1])
            return false;
    }
    return true;
}

static void sample_23(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    (void)rng;
    for (int i = 0; i < 2; i++) {
        ndim[i] = 2;
        shape[i][0] = 2;
        shape[i][1] = 3;
    }
}

static void register_sqmul(bool wrong)
{
    /* a in [1, 2]: every element of b's rule is wrong when it is. */
    ag_op_def def = {.name = "test_sqmul", .n_inputs = 2, .forward = apply_sqmul,
                     .vjp = sqmul_vjp, .domain_lo = 1, .domain_hi = 2,
                     .flags = AG_OP_NO_BROADCAST, .sample = sample_23};
    sqmul_wrong = wrong;
    SQMUL = ag_op_register(&def);
    ck_assert_msg(SQMUL != NULL, "register: %s", ag_last_error());
}

static ag_tensor *f_sum_sqmul(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(sqmul(in[0], in[1]));
}

START_TEST(test_user_op_right_rule_passes)
{
    register_sqmul(false);
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ag_gradcheck_report rep;
        memset(&rep, 0, sizeof rep);
        char r[2048];
        ck_assert_msg(ag_gradcheck_op(SQMUL, seed, &o, &rep), "%s",
                      h_report_str(&rep, r, sizeof r));
        ck_assert_str_eq(rep.name, "test_sqmul");
    }
    /* It is in the registry's sweep like any built-in. */
    ck_assert_ptr_eq(ag_op_find("test_sqmul"), SQMUL);
    /* And its values and hand-derived gradients are right. */
    ag_tensor *a = h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *b = h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(-1, 0.5, 2, 1, 3, -2));
    ag_tensor *y = sqmul(a, b);
    ck_assert_values_f64(y, 6, H_VALS(1, 0.5, 12, 4, 45, 24));
    ck_assert(ag_backward(ag_sum(y)));
    ck_assert_values_f64(ag_grad_of(a), 6, H_VALS(1, 0.25, 4, 1, 9, 4));
    ck_assert_values_f64(ag_grad_of(b), 6, H_VALS(-2, 2, 12, 8, 30, -24));
}
END_TEST

START_TEST(test_user_op_wrong_rule_is_caught)
{
    register_sqmul(true);
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck_op(SQMUL, 1, &o, &rep));
    ck_assert(!rep.pass);
    ck_assert_str_eq(rep.name, "test_sqmul");
    ck_assert_int_eq(rep.n_inputs, 2);
    ck_assert(rep.inputs[0].checked && rep.inputs[0].pass);
    ck_assert(rep.inputs[1].checked && !rep.inputs[1].pass);
    ck_assert_int_eq(rep.inputs[1].ndim, 2);
    ck_assert_uint_lt(rep.inputs[1].worst_flat, 6);
    ck_assert_int_eq(rep.inputs[1].worst_index[0] * 3 + rep.inputs[1].worst_index[1],
                     (int64_t)rep.inputs[1].worst_flat);
    /* The error is g at that element, and |g| = |r| >= 0.5 for the
     * checker's random projection r. */
    ck_assert_double_ge(fabs(rep.inputs[1].analytic - rep.inputs[1].numeric), 0.49);
    ck_assert_double_ge(rep.inputs[1].max_abs_err, 0.49);
    char out[2048];
    h_report_str(&rep, out, sizeof out);
    ck_assert_msg(strstr(out, "test_sqmul") && strstr(out, "FAIL"), "report:\n%s", out);
}
END_TEST

START_TEST(test_user_op_wrong_element_is_named)
{
    /* Only a[1][1] (flat 4) exceeds 0.9, so only that element of b's
     * gradient is wrong, by exactly 1 (the output is summed: g = 1). The
     * report must name input 1 and element [1,1], with analytic = 2ab + 1
     * and numeric = 2ab there. */
    register_sqmul(true);
    ag_tensor *a = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(0.2, 0.3, 0.4, 0.5, 1.5, 0.7));
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, -1, 2, -2, 0.5, 3));
    ck_assert(ag_set_requires_grad(a, true));
    ck_assert(ag_set_requires_grad(b, true));
    ag_tensor *in[2] = {a, b};
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(f_sum_sqmul, NULL, 2, in, &o, &rep));
    ck_assert(rep.inputs[0].pass);
    ck_assert(!rep.inputs[1].pass);
    ck_assert_uint_eq(rep.inputs[1].worst_flat, 4);
    ck_assert_int_eq(rep.inputs[1].worst_index[0], 1);
    ck_assert_int_eq(rep.inputs[1].worst_index[1], 1);
    ck_assert_near(rep.inputs[1].numeric, 2 * 1.5 * 0.5, 1e-6, 1e-8);
    ck_assert_near(rep.inputs[1].analytic, 2 * 1.5 * 0.5 + 1, 1e-12, 1e-12);
    char out[2048];
    h_report_str(&rep, out, sizeof out);
    ck_assert_msg(strstr(out, "[1,1]") != NULL, "report does not name [1,1]:\n%s", out);
    ck_assert_msg(strstr(out, "WRONG") != NULL, "report:\n%s", out);
}
END_TEST

/* ---- gradcheck's own argument errors ---- */

static ag_tensor *f_id(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(in[0]);
}

static ag_tensor *f_fails(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_reshape(in[0], 1, H_SHAPE(99));
}

START_TEST(test_gradcheck_argument_errors)
{
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_tensor *in[1] = {x};
    ck_assert(!ag_gradcheck(NULL, NULL, 1, in, NULL, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_gradcheck(f_id, NULL, 0, in, NULL, NULL));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(!ag_gradcheck(f_id, NULL, AG_GRADCHECK_MAX_INPUTS + 1, in, NULL, NULL));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ag_tensor *none[1] = {NULL};
    ck_assert(!ag_gradcheck(f_id, NULL, 1, none, NULL, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_gradcheck_opts o = h_gradcheck_opts();
    o.eps = 0;
    ck_assert(!ag_gradcheck(f_id, NULL, 1, in, &o, NULL));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    o = h_gradcheck_opts();
    o.rtol = -1;
    ck_assert(!ag_gradcheck(f_id, NULL, 1, in, &o, NULL));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    /* An error inside f fails the check and is kept. */
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(f_fails, NULL, 1, in, NULL, &rep));
    ck_assert(!rep.pass);
    ck_assert_error(AG_ERR_SHAPE, "reshape");
    ag_error_clear();
    ck_assert(!ag_gradcheck_op(NULL, 1, NULL, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    /* A correct function passes with the defaults (opts NULL). */
    ck_assert(ag_gradcheck(f_id, NULL, 1, in, NULL, NULL));
    ck_assert_uint_eq(ag_tape_size(NULL), 0);
}
END_TEST

Suite *errors_suite(void);
Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = h_tcase(s, "propagation", H_TIMEOUT);
    tcase_add_test(tc, test_null_inputs);
    tcase_add_test(tc, test_first_error_is_kept);
    tcase_add_test(tc, test_error_clear);
    tcase_add_test(tc, test_null_tolerant_calls);
    tc = h_tcase(s, "shapes", H_TIMEOUT);
    tcase_add_test(tc, test_matmul_shape_errors);
    tcase_add_test(tc, test_reshape_errors);
    tcase_add_test(tc, test_axis_errors);
    tc = h_tcase(s, "dtypes", H_TIMEOUT);
    tcase_add_test(tc, test_dtype_errors);
    tc = h_tcase(s, "misuse", H_TIMEOUT);
    tcase_add_test(tc, test_intermediate_misuse);
    tcase_add_test(tc, test_backend_errors);
    tc = h_tcase(s, "registry", H_TIMEOUT);
    tcase_add_test(tc, test_registry_lookup_errors);
    tcase_add_test(tc, test_registry_register_errors);
    tc = h_tcase(s, "wrong rules", H_TIMEOUT);
    tcase_add_test(tc, test_user_op_right_rule_passes);
    tcase_add_test(tc, test_user_op_wrong_rule_is_caught);
    tcase_add_test(tc, test_user_op_wrong_element_is_named);
    tcase_add_test(tc, test_gradcheck_argument_errors);
    return s;
}

H_MAIN(errors_suite)

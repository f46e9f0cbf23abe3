/* SPDX-License-Identifier: MIT */
/* check-gradcheck_model.c — ag_gradcheck_model: every parameter of a store
 * against central differences.
 *
 * A correct model (an f32 two-layer MLP with cross-entropy) passes on all
 * of its 26 parameters, and the store is left bit for bit as it was. A
 * model through a user op whose rule is planted wrong (y = 2x with the
 * rule dx += g, half the true gradient) fails: the expected worst element
 * is derived by hand from that factor of two, and the per-node check names
 * the op and the label set on its result. Kinks pass as ag_gradcheck lets
 * them; bad arguments are errors. */
#include "models_fixture.h"

#include <autograd/tools.h>

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Models                                                              */
/* ------------------------------------------------------------------ */

/* The data a model mixes in, in f64 as the checker's store is. */
typedef struct mlp_data {
    ag_tensor *X; /* (5, 3) */
    ag_tensor *y; /* (5) labels 0, 1 */
    const ag_op *wrong; /* NULL, or the op placed after the first layer */
} mlp_data;

static const ag_op *double_wrong_op;

static void twice_f32(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = 2 * x[i];
}

static void twice_f64(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = 2 * x[i];
}

/* The planted mistake: y = 2x, but dx += g (the factor 2 forgotten). */
static bool twice_wrong_vjp(ag_tensor *node, ag_tensor *g, ag_tensor **grad_in)
{
    (void)node;
    grad_in[0] = g;
    return true;
}

static const ag_op *register_wrong(void)
{
    /* ag_shutdown, run by the fixture after each test, empties the registry. */
    if (!ag_op_find("double_wrong")) {
        ag_error_clear();
        double_wrong_op = ag_op_register(&(ag_op_def){
            .name = "double_wrong", .n_inputs = 1, .vjp = twice_wrong_vjp, .domain_lo = -1,
            .domain_hi = 1, .map_f32 = twice_f32, .map_f64 = twice_f64});
    }
    ck_assert_msg(double_wrong_op != NULL, "%s", ag_last_error());
    return double_wrong_op;
}

/* mean cross-entropy of fc2(tanh(fc1(X))), with the wrong op after fc1
 * when data->wrong is set. */
static ag_tensor *mlp_loss(const ag_params *p, void *ctx)
{
    mlp_data *d = ctx;
    ag_tensor *h = ag_linear(p, "fc1", d->X);
    ag_set_label(h, "h");
    if (d->wrong) {
        h = ag_op_apply(d->wrong, &h, NULL);
        ag_set_label(h, "doubled");
    }
    return ag_cross_entropy(ag_linear(p, "fc2", ag_tanh(h)), d->y, AG_REDUCE_MEAN);
}

static ag_params *mlp_store(ag_dtype dt)
{
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_linear_init(p, "fc1", 3, 4, dt, AG_INIT_XAVIER_UNIFORM, &rng));
    ck_assert(ag_linear_init(p, "fc2", 4, 2, dt, AG_INIT_XAVIER_UNIFORM, &rng));
    /* Non-zero biases, so that their gradients are not special. */
    ag_tensor *b = ag_params_get(p, "fc1.bias");
    for (size_t i = 0; i < 4; i++)
        ag_set_flat(b, i, 0.1 * (double)i - 0.15);
    return p;
}

static mlp_data mlp_inputs(void)
{
    mlp_data d = {
        .X = h_arr(AG_F64, 2, H_SHAPE(5, 3),
                   H_VALS(0.5, -1.0, 0.3, 1.2, 0.1, -0.7, -0.4, 0.9, 0.8, 0.0, -1.3, 0.6, 1.5, 0.2,
                          -0.2)),
        .y = h_arr(AG_I64, 1, H_SHAPE(5), H_VALS(0, 1, 1, 0, 1)),
    };
    return d;
}

/* A copy of every tensor's bytes, to compare the store with afterwards. */
typedef struct snapshot {
    size_t n;
    size_t bytes[8];
    unsigned char *data[8];
} snapshot;

static snapshot take(const ag_params *p)
{
    snapshot s = {.n = ag_params_count(p)};
    ck_assert_uint_le(s.n, 8);
    for (size_t i = 0; i < s.n; i++) {
        const ag_tensor *t = ag_params_at(p, i, NULL);
        s.bytes[i] = ag_numel(t) * ag_dtype_size(ag_tensor_dtype(t));
        s.data[i] = malloc(s.bytes[i]);
        memcpy(s.data[i], ag_data_const(t), s.bytes[i]);
    }
    return s;
}

/* The store holds the same tensors with the same bytes, and no gradient. */
static void same_as(const ag_params *p, snapshot *s)
{
    ck_assert_uint_eq(ag_params_count(p), s->n);
    for (size_t i = 0; i < s->n; i++) {
        const char *name;
        const ag_tensor *t = ag_params_at(p, i, &name);
        ck_assert_msg(memcmp(ag_data_const(t), s->data[i], s->bytes[i]) == 0,
                      "%s changed in the check", name);
        ck_assert_msg(ag_grad_of(t) == NULL, "%s has a gradient after the check", name);
        ck_assert(ag_requires_grad(t));
        free(s->data[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_mlp_passes)
{
    for (int k = 0; k < 2; k++) {
        ag_dtype dt = H_DTYPES[1 - k]; /* f32 first: the store the brief is about */
        ag_params *p = mlp_store(dt);
        mlp_data d = mlp_inputs();
        snapshot s = take(p);
        /* Something of the caller's on the current tape, which must survive. */
        ag_tensor *mine = ag_mul_scalar(h_pscalar(AG_F64, 2.0), 3.0);
        size_t before = ag_tape_size(NULL);
        ag_model_gradcheck_report rep;
        ag_gradcheck_opts o = h_gradcheck_opts();
        o.per_node = true;
        bool ok = ag_gradcheck_model(mlp_loss, &d, p, &o, &rep);
        char buf[1024];
        FILE *mem = fmemopen(buf, sizeof buf, "w");
        ag_model_gradcheck_fprint(mem, &rep);
        fclose(mem);
        ck_assert_msg(ok, "%s: %s\n%s", ag_dtype_str(dt), ag_last_error(), buf);
        ck_assert_ok();
        ck_assert(rep.pass);
        ck_assert_uint_eq(rep.n_checked, 3 * 4 + 4 + 4 * 2 + 2);
        ck_assert_uint_eq(rep.n_kinks, 0);
        ck_assert(rep.max_abs_err <= 1e-7);
        ck_assert(rep.worst_param[0] != '\0');
        ck_assert(rep.culprit[0] == '\0' && rep.culprit_node == -1);
        ck_assert_uint_eq(ag_tape_size(NULL), before);
        ck_assert_f64(ag_item(mine), 6.0);
        same_as(p, &s);
    }
}
END_TEST

/* The wrong op after fc1: every gradient reaching fc1 is half the true
 * one, while fc2's are right. So the worst element is in fc1 and its
 * analytic value is half its numeric one; the per-node check names the
 * node of double_wrong, labelled "doubled". */
START_TEST(test_wrong_rule_is_named)
{
    ag_params *p = mlp_store(AG_F32);
    mlp_data d = mlp_inputs();
    d.wrong = register_wrong();
    snapshot s = take(p);
    ag_model_gradcheck_report rep;
    ag_gradcheck_opts o = h_gradcheck_opts();
    ck_assert(!ag_gradcheck_model(mlp_loss, &d, p, &o, &rep));
    ck_assert_ok(); /* a failed check is no error */
    ck_assert(!rep.pass);
    ck_assert_msg(strncmp(rep.worst_param, "fc1.", 4) == 0, "worst: %s", rep.worst_param);
    ck_assert_near(rep.analytic, rep.numeric / 2, 1e-6, 1e-9);
    ck_assert(fabs(rep.numeric) > 1e-3);
    ck_assert(rep.culprit[0] == '\0' && rep.culprit_node == -1); /* per_node off */

    o.per_node = true;
    ck_assert(!ag_gradcheck_model(mlp_loss, &d, p, &o, &rep));
    ck_assert_ok();
    ck_assert_str_eq(rep.culprit_op, "double_wrong");
    ck_assert_str_eq(rep.culprit_label, "doubled");
    /* Recorded before it: fc1's matmul (or its transpose) and the bias add. */
    ck_assert_int_ge(rep.culprit_node, 1);
    ck_assert_msg(strstr(rep.culprit, "op 'double_wrong'") && strstr(rep.culprit, "label 'doubled'"),
                  "culprit: %s", rep.culprit);
    ck_assert_msg(strstr(rep.culprit, "(5,4)"), "culprit: %s", rep.culprit);
    same_as(p, &s);
}
END_TEST

/* Two tensors, the wrong op on the second only: loss = Σ a² + Σ (2b)²
 * with b = (0.5, -3, 1). d/db = 8b; the wrong rule gives 2·(2b)·1 = 4b,
 * so the error 4|b| is largest at b[1] = -3: analytic -12, numeric -24. */
struct two {
    const ag_op *wrong;
};

static ag_tensor *two_loss(const ag_params *p, void *ctx)
{
    struct two *t = ctx;
    ag_tensor *b = ag_params_get(p, "second.b");
    ag_tensor *wb = ag_op_apply(t->wrong, &b, NULL);
    return ag_add(ag_sum(ag_square(ag_params_get(p, "first.a"))), ag_sum(ag_square(wb)));
}

START_TEST(test_worst_by_name)
{
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_params_add(p, "first.a", make(AG_F64, 1, H_SHAPE(2), H_VALS(0.3, -0.6))));
    ck_assert(ag_params_add(p, "second.b", make(AG_F32, 1, H_SHAPE(3), H_VALS(0.5, -3, 1))));
    struct two t = {register_wrong()};
    ag_model_gradcheck_report rep;
    ck_assert(!ag_gradcheck_model(two_loss, &t, p, NULL, &rep));
    ck_assert_str_eq(rep.worst_param, "second.b");
    ck_assert_uint_eq(rep.worst_index, 1);
    ck_assert_near(rep.analytic, -12.0, 1e-9, 1e-9);
    ck_assert_near(rep.numeric, -24.0, 1e-6, 1e-6);
    ck_assert_near(rep.max_abs_err, 12.0, 1e-6, 1e-6);
    ck_assert_uint_eq(rep.n_checked, 5);
    /* A frozen tensor is not checked (the others still are): freezing b
     * leaves a, whose gradient 2a is right. */
    ag_set_requires_grad(ag_params_get(p, "second.b"), false);
    ck_assert_msg(ag_gradcheck_model(two_loss, &t, p, NULL, &rep), "%s", ag_last_error());
    ck_assert_uint_eq(rep.n_checked, 2);
}
END_TEST

/* relu at 0 has no derivative; its rule's 0 lies between the one-sided
 * slopes 0 and 1, so the element is a kink, not a failure. */
static ag_tensor *relu_sum(const ag_params *p, void *ctx)
{
    (void)ctx;
    return ag_sum(ag_relu(ag_params_get(p, "w")));
}

START_TEST(test_kink)
{
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_params_add(p, "w", make(AG_F32, 1, H_SHAPE(3), H_VALS(-1, 0, 2))));
    ag_model_gradcheck_report rep;
    ck_assert_msg(ag_gradcheck_model(relu_sum, NULL, p, NULL, &rep), "%s", ag_last_error());
    ck_assert_uint_eq(rep.n_kinks, 1);
    ck_assert_uint_eq(rep.n_checked, 3);
}
END_TEST

static ag_tensor *not_scalar(const ag_params *p, void *ctx)
{
    mlp_data *d = ctx;
    return ag_linear(p, "fc2", ag_tanh(ag_linear(p, "fc1", d->X)));
}

static ag_tensor *missing(const ag_params *p, void *ctx)
{
    (void)ctx;
    return ag_sum(ag_params_get(p, "no.such"));
}

START_TEST(test_errors)
{
    ag_params *p = mlp_store(AG_F32);
    mlp_data d = mlp_inputs();
    snapshot s = take(p);
    ag_model_gradcheck_report rep;
    ck_assert(!ag_gradcheck_model(NULL, &d, p, NULL, &rep));
    ck_assert_error(AG_ERR_NULL, "model function");
    ck_assert(!rep.pass);
    ag_error_clear();
    ck_assert(!ag_gradcheck_model(mlp_loss, &d, NULL, NULL, &rep));
    ck_assert_error(AG_ERR_NULL, "parameter store");
    ag_error_clear();
    ck_assert(!ag_gradcheck_model(not_scalar, &d, p, NULL, &rep));
    ck_assert_error(AG_ERR_SHAPE, "(5,2)");
    ck_assert(!rep.pass);
    ag_error_clear();
    ck_assert(!ag_gradcheck_model(missing, NULL, p, NULL, NULL));
    ck_assert_error(AG_ERR_NOTFOUND, "no.such");
    ag_error_clear();
    ag_gradcheck_opts o = ag_gradcheck_defaults();
    o.eps = 0;
    ck_assert(!ag_gradcheck_model(mlp_loss, &d, p, &o, &rep));
    ck_assert_error(AG_ERR_VALUE, "eps 0");
    ag_error_clear();
    ck_assert_uint_eq(ag_tape_size(NULL), 0);
    same_as(p, &s);
}
END_TEST

/* A realistic size: an MLP 64-32-10 (2410 parameters) on 16 rows. */
START_TEST(test_realistic)
{
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_linear_init(p, "fc1", 64, 32, AG_F32, AG_INIT_HE_UNIFORM, &rng));
    ck_assert(ag_linear_init(p, "fc2", 32, 10, AG_F32, AG_INIT_XAVIER_UNIFORM, &rng));
    double xs[16 * 64], ys[16];
    for (int i = 0; i < 16 * 64; i++)
        xs[i] = ag_rng_uniform(&rng) * 2 - 1;
    for (int i = 0; i < 16; i++)
        ys[i] = i % 10;
    mlp_data d = {.X = h_arr(AG_F64, 2, H_SHAPE(16, 64), xs), .y = h_arr(AG_I64, 1, H_SHAPE(16), ys)};
    ag_model_gradcheck_report rep;
    ck_assert_msg(ag_gradcheck_model(mlp_loss, &d, p, NULL, &rep), "%s: worst %s[%zu] %g vs %g",
                  ag_last_error(), rep.worst_param, rep.worst_index, rep.analytic, rep.numeric);
    ck_assert_uint_eq(rep.n_checked, 64 * 32 + 32 + 32 * 10 + 10);
}
END_TEST

Suite *gradcheck_model_suite(void);
Suite *gradcheck_model_suite(void)
{
    Suite *s = suite_create("gradcheck_model");
    TCase *tc = h_tcase(s, "gradcheck_model", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_mlp_passes);
    tcase_add_test(tc, test_wrong_rule_is_named);
    tcase_add_test(tc, test_worst_by_name);
    tcase_add_test(tc, test_kink);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_realistic);
    return s;
}

H_MAIN(gradcheck_model_suite)

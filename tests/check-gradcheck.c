/* SPDX-License-Identifier: MIT */
/* check-gradcheck.c — the gradient checker itself (autograd/gradcheck*.c),
 * on user ops whose rules are planted wrong on purpose.
 *
 *  2. A planted wrong backward — swish, x·σ(x), whose rule forgets the
 *     product rule — is caught: the report names the op, the input, the
 *     element and both values, the numeric one equal to the true
 *     derivative σ(x)(1 + x(1 − σ(x))) computed here.
 *  3. Inside a model (matmul → the wrong op → mean) the whole-model check
 *     fails and the per-node check names the wrong node — op, label,
 *     input shape — and not the correct matmul before it.
 *  4. Kinks (relu and abs at exactly 0, a tie of max) are counted as
 *     kinks, not failures; a wrong rule away from a kink, or a rule at a
 *     kink outside the one-sided slopes, still fails.
 *  5. nondet_tol: an op whose forward varies from run to run (a counter
 *     scales its result by 1 ± 1e-10, and its rule reuses that result, as
 *     rules written with y do) fails with nondet_tol = 0 and passes with
 *     the tolerance derived here from the size of the variation.
 *  6. Which inputs are checked (and nothing else touched); bad arguments
 *     give errors.
 *
 * 1 (every op in the registry) and 7 (the example programs) are in
 * check-gradcheck_registry.c; report_text() is in gradcheck_fixture.[ch]. */
#include "gradcheck_fixture.h"

#include <stdio.h>

static double sigma(double x)
{
    return 1 / (1 + exp(-x));
}

/* The true derivative of swish(x) = x σ(x). */
static double swish_prime(double x)
{
    return sigma(x) * (1 + x * (1 - sigma(x)));
}

/* ---- user ops for the tests ---- */

typedef double (*scalar_fn)(double);

static double f_swish(double x) { return x * sigma(x); }
static double f_relu(double x) { return x > 0 ? x : 0; }

/* A user op's forward kernel, written by hand as a user would: applies f
 * elementwise and records the node of `op`. */
static ag_tensor *user_unary(const ag_op *op, ag_tensor *x, scalar_fn f)
{
    if (!op || !ag_check_inputs(ag_op_info(op)->name, 1, &x))
        return NULL;
    ag_dtype dt = ag_tensor_dtype(x);
    ag_tensor *y = ag_op_result(op, dt, ag_ndim(x), ag_shape(x), 1, &x, NULL, 0);
    if (!y)
        return NULL;
    size_t n = ag_numel(x);
    if (dt == AG_F64) {
        const double *xs = ag_data_const(x);
        double *ys = ag_data(y);
        for (size_t i = 0; i < n; i++)
            ys[i] = f(xs[i]);
    } else {
        const float *xs = ag_data_const(x);
        float *ys = ag_data(y);
        for (size_t i = 0; i < n; i++)
            ys[i] = (float)f((double)xs[i]);
    }
    return y;
}

static const ag_op *SWISH, *SWISH_WRONG, *SWISH_WRONG_1, *RELU_WRONG, *RELU_BAD_AT_KINK, *NOISY_EXP;

static ag_tensor *swish(ag_tensor *x) { return user_unary(SWISH, x, f_swish); }
static ag_tensor *swish_wrong(ag_tensor *x) { return user_unary(SWISH_WRONG, x, f_swish); }

static ag_tensor *apply_swish(ag_tensor *const *in, const void *p) { (void)p; return swish(in[0]); }
static ag_tensor *apply_swish_wrong(ag_tensor *const *in, const void *p) { (void)p; return swish_wrong(in[0]); }
static ag_tensor *apply_swish_wrong_1(ag_tensor *const *in, const void *p) { (void)p; return user_unary(SWISH_WRONG_1, in[0], f_swish); }
static ag_tensor *apply_relu_wrong(ag_tensor *const *in, const void *p) { (void)p; return user_unary(RELU_WRONG, in[0], f_relu); }
static ag_tensor *apply_relu_bad(ag_tensor *const *in, const void *p) { (void)p; return user_unary(RELU_BAD_AT_KINK, in[0], f_relu); }

/* dx += g σ(x)(1 + x(1 − σ(x))): right. */
static bool swish_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = ag_node_input(y, 0);
    ag_tensor *s = ag_sigmoid(x);
    ag_tensor *inner = ag_add_scalar(ag_mul(x, ag_add_scalar(ag_neg(s), 1)), 1);
    return (gin[0] = ag_mul(g, ag_mul(s, inner))) != NULL;
}

/* dx += g σ(x): the product rule forgotten (the x σ'(x) term is missing). */
static bool swish_wrong_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, ag_sigmoid(ag_node_input(y, 0)))) != NULL;
}

/* relu with slope 2: wrong wherever x > 0, but 0 (a valid subgradient) at 0. */
static bool relu_wrong_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul_scalar(ag_mul(g, ag_step(ag_node_input(y, 0))), 2)) != NULL;
}

/* relu's rule, except 3 at x = 0: outside the one-sided slopes [0, 1]. */
static bool relu_bad_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = ag_node_input(y, 0);
    ag_tensor *at0 = ag_eq(x, ag_mul_scalar(x, 0));
    return (gin[0] = ag_mul(g, ag_add(ag_step(x), ag_mul_scalar(at0, 3)))) != NULL;
}

/* A forward that varies between runs, as a reduction with atomics does: a
 * counter scales the result by 1 + δ·s with s cycling through -1, 0, 1. */
#define NOISE 1e-10
static unsigned long noisy_calls;

static double noisy_scale;
static double f_noisy(double x) { return exp(x) * noisy_scale; }

static ag_tensor *noisy_exp(ag_tensor *x)
{
    noisy_scale = 1 + NOISE * ((double)(noisy_calls++ % 3) - 1);
    return user_unary(NOISY_EXP, x, f_noisy);
}

static ag_tensor *apply_noisy(ag_tensor *const *in, const void *p) { (void)p; return noisy_exp(in[0]); }

/* dx += g·y: exp's rule, written with the result (which carries the noise). */
static bool noisy_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_mul(g, y)) != NULL;
}

/* One element, so the checker's projection is the identity (r = 1). */
static void sample_one(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    (void)rng;
    ndim[0] = 1;
    shape[0][0] = 1;
}

static const ag_op *register_op(const char *name, ag_forward_fn apply, ag_vjp_fn vjp, unsigned flags,
                                void (*sample)(ag_rng *, int *, int64_t (*)[AG_MAX_DIMS]))
{
    ag_op_def def = {.name = name, .n_inputs = 1, .forward = apply, .vjp = vjp,
                     .domain_lo = -3, .domain_hi = 3, .flags = flags, .sample = sample};
    const ag_op *op = ag_op_register(&def);
    ck_assert_msg(op != NULL, "register %s: %s", name, ag_last_error());
    return op;
}

/* The registry is freed by each test's teardown (ag_shutdown), so every
 * test registers what it uses. */
static void register_all(void)
{
    SWISH = register_op("test_swish", apply_swish, swish_vjp, 0, NULL);
    SWISH_WRONG = register_op("test_swish_wrong", apply_swish_wrong, swish_wrong_vjp, 0, NULL);
    RELU_WRONG = register_op("test_relu_wrong", apply_relu_wrong, relu_wrong_vjp, AG_OP_KINK, NULL);
    RELU_BAD_AT_KINK = register_op("test_relu_bad_at_kink", apply_relu_bad, relu_bad_vjp, AG_OP_KINK, NULL);
    NOISY_EXP = register_op("test_noisy_exp", apply_noisy, noisy_vjp, 0, NULL);
}

/* Functions to check. */
static ag_tensor *f_sum_of(ag_tensor *const *in, void *ctx)
{
    const ag_op *op = ctx;
    return ag_sum(ag_op_apply(op, in, NULL));
}

static ag_tensor *f_sum_relu(ag_tensor *const *in, void *ctx) { (void)ctx; return ag_sum(ag_relu(in[0])); }
static ag_tensor *f_sum_abs(ag_tensor *const *in, void *ctx) { (void)ctx; return ag_sum(ag_abs(in[0])); }
static ag_tensor *f_max(ag_tensor *const *in, void *ctx) { (void)ctx; return ag_max(in[0]); }
static ag_tensor *f_sum_maximum(ag_tensor *const *in, void *ctx) { (void)ctx; return ag_sum(ag_maximum(in[0], in[1])); }

static ag_tensor *f_fails(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_reshape(in[0], 1, H_SHAPE(99));
}


/* ---- 2. a planted wrong backward ---- */

START_TEST(test_planted_wrong_backward_is_caught)
{
    register_all();
    /* Known inputs. The rule's error σ(x)·x(1 − σ(x)) is largest, both
     * absolutely and relative to the true derivative, at x = 1.5 (element
     * [1,0]) — worked out below rather than trusted. */
    const double xs[6] = {0.05, 0.2, -0.05, 1.5, 0.1, 0};
    ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(2, 3), xs);
    /* Which element is worst, computed here by both measures. */
    size_t worst_abs = 0, worst_rel = 0;
    for (size_t i = 1; i < 6; i++) {
        double e = fabs(swish_prime(xs[i]) - sigma(xs[i]));
        double ew = fabs(swish_prime(xs[worst_abs]) - sigma(xs[worst_abs]));
        if (e > ew)
            worst_abs = i;
        double r = e / fabs(swish_prime(xs[i]));
        double rw = fabs(swish_prime(xs[worst_rel]) - sigma(xs[worst_rel])) /
                    fabs(swish_prime(xs[worst_rel]));
        if (r > rw)
            worst_rel = i;
    }
    ck_assert_uint_eq(worst_abs, 3);
    ck_assert_uint_eq(worst_rel, 3);

    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(f_sum_of, (void *)SWISH_WRONG, 1, &x, &o, &rep));
    ck_assert(!rep.pass);
    ck_assert_int_eq(rep.n_inputs, 1);
    const ag_gradcheck_input *in = &rep.inputs[0];
    ck_assert(in->checked && !in->pass);
    ck_assert_int_eq(in->ndim, 2);
    ck_assert_uint_eq(in->worst_flat, 3);
    ck_assert_int_eq(in->worst_index[0], 1);
    ck_assert_int_eq(in->worst_index[1], 0);
    /* Both values: the rule's σ(1.5) and the true derivative. The central
     * difference has truncation error ~eps²·f''' and rounding ~1e-16/eps:
     * 1e-8 absolute is ample. */
    ck_assert_near(in->analytic, sigma(1.5), 1e-12, 1e-15);
    ck_assert_near(in->numeric, swish_prime(1.5), 0, 1e-8);
    ck_assert_near(in->max_abs_err, swish_prime(1.5) - sigma(1.5), 0, 1e-8);
    char *text = report_text(&rep);
    ck_assert_msg(strstr(text, "[1,0]") && strstr(text, "WRONG") && strstr(text, "FAIL"),
                  "report:\n%s", text);
    char a[32], n[32];
    snprintf(a, sizeof a, "%.6f", sigma(1.5));
    snprintf(n, sizeof n, "%.6f", swish_prime(1.5));
    ck_assert_msg(strstr(text, a) && strstr(text, n), "report lacks %s and %s:\n%s", a, n, text);

    /* The correct rule passes at the same point. */
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_sum_of, (void *)SWISH, 1, &x, &o, &rep), "%s", report_text(&rep));
}
END_TEST

START_TEST(test_planted_wrong_op_is_named)
{
    register_all();
    /* Through the registry sweep: a one-element sample, so the projection
     * is 1 and the analytic value is σ(x) itself — which gives back the
     * random x the checker drew, and with it the true derivative. */
    SWISH_WRONG_1 = register_op("test_swish_wrong_1", apply_swish_wrong_1, swish_wrong_vjp, 0,
                                sample_one);
    const ag_op *op = SWISH_WRONG_1;
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ag_gradcheck_report rep;
        memset(&rep, 0, sizeof rep);
        ck_assert(!ag_gradcheck_op(op, seed, &o, &rep));
        ck_assert(!rep.pass);
        ck_assert_str_eq(rep.name, "test_swish_wrong_1");
        ck_assert(rep.inputs[0].checked && !rep.inputs[0].pass);
        ck_assert_uint_eq(rep.inputs[0].worst_flat, 0);
        double s = rep.inputs[0].analytic;
        ck_assert(s > 0 && s < 1);
        double x = log(s / (1 - s));
        ck_assert(x >= -3 && x <= 3);
        ck_assert_near(rep.inputs[0].numeric, swish_prime(x), 0, 1e-8);
        char *text = report_text(&rep);
        ck_assert_msg(strstr(text, "test_swish_wrong_1") && strstr(text, "WRONG"), "%s", text);
    }
    /* And the right rule passes the same sweep, on the default shapes too. */
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ag_gradcheck_report rep;
        memset(&rep, 0, sizeof rep);
        ck_assert_msg(ag_gradcheck_op(SWISH, seed, &o, &rep), "%s", report_text(&rep));
        ck_assert(rep.f32_checked && rep.f32_max_err <= 1e-5);
        ck_assert(rep.zero_size_ok);
    }
}
END_TEST

/* ---- 3. the per-node mode ---- */

typedef struct model_ctx {
    bool wrong;
} model_ctx;

/* mean(swish(W @ v)), the activation labelled "act". */
static ag_tensor *model(ag_tensor *const *in, void *ctx)
{
    const model_ctx *c = ctx;
    ag_tensor *h = ag_matmul(in[0], in[1]);
    if (!h)
        return NULL;
    ag_set_label(h, "h");
    ag_tensor *a = c->wrong ? swish_wrong(h) : swish(h);
    if (!a)
        return NULL;
    ag_set_label(a, "act");
    return ag_mean(a);
}

START_TEST(test_per_node_names_the_culprit)
{
    register_all();
    ag_rng rng;
    ag_rng_seed(&rng, 77);
    ag_tensor *W = h_rand(AG_F64, 2, H_SHAPE(2, 3), -1, 1, &rng);
    ag_tensor *v = h_rand(AG_F64, 2, H_SHAPE(3, 4), -1, 1, &rng);
    ck_assert(ag_set_requires_grad(W, true));
    ck_assert(ag_set_requires_grad(v, true));
    ag_tensor *in[2] = {W, v};
    /* h = W v by hand, for the culprit's values below. */
    double h[8];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += ag_get_flat(W, (size_t)(i * 3 + k)) * ag_get_flat(v, (size_t)(k * 4 + j));
            h[i * 4 + j] = s;
        }

    /* The correct model passes, and so does every node. */
    model_ctx right = {false}, wrong = {true};
    ag_gradcheck_opts o = h_gradcheck_opts();
    o.per_node = true;
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(model, &right, 2, in, &o, &rep), "%s", report_text(&rep));
    ck_assert_str_eq(rep.culprit, "");
    ag_gradcheck_nodes_report nr;
    memset(&nr, 0, sizeof nr);
    ck_assert(ag_gradcheck_nodes(model, &right, 2, in, &o, &nr));
    ck_assert(nr.pass);
    ck_assert_int_eq(nr.bad_node, -1);
    ck_assert_uint_eq(nr.n_nodes, 3); /* matmul, swish, mean */
    ck_assert_uint_eq(nr.n_checked, 3);

    /* The wrong one fails as a whole ... */
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(model, &wrong, 2, in, &o, &rep));
    ck_assert(!rep.inputs[0].pass);
    ck_assert(!rep.inputs[1].pass);
    /* ... and per_node names node 1, its op, label and input shape. */
    ck_assert_msg(strstr(rep.culprit, "node 1") && strstr(rep.culprit, "'test_swish_wrong'") &&
                      strstr(rep.culprit, "label 'act'") && strstr(rep.culprit, "(2,4)"),
                  "culprit: \"%s\"", rep.culprit);
    ck_assert_msg(strstr(rep.culprit, "matmul") == NULL && strstr(rep.culprit, "node 0") == NULL,
                  "culprit: \"%s\"", rep.culprit);
    char *text = report_text(&rep);
    ck_assert_msg(strstr(text, "culprit") && strstr(text, "test_swish_wrong"), "%s", text);

    memset(&nr, 0, sizeof nr);
    ck_assert(!ag_gradcheck_nodes(model, &wrong, 2, in, &o, &nr));
    ck_assert(!nr.pass);
    ck_assert_int_eq(nr.bad_node, 1);
    ck_assert_str_eq(nr.op, "test_swish_wrong");
    ck_assert_str_eq(nr.label, "act");
    ck_assert_uint_eq(nr.n_nodes, 3);
    ck_assert_uint_eq(nr.n_checked, 2); /* matmul passed, then the culprit */
    ck_assert_int_eq(nr.n_inputs, 1);
    ck_assert_int_eq(nr.ndim[0], 2);
    ck_assert_int_eq(nr.shape[0][0], 2);
    ck_assert_int_eq(nr.shape[0][1], 4);
    /* The node's own check, at the values it saw: whatever the projection
     * weight r at the worst element e, analytic = r σ(h_e) and numeric =
     * r σ(h_e)(1 + h_e(1 − σ(h_e))). */
    const ag_gradcheck_input *d = &nr.detail.inputs[0];
    ck_assert(d->checked && !d->pass);
    ck_assert_uint_lt(d->worst_flat, 8);
    double he = h[d->worst_flat];
    ck_assert_near(d->numeric / d->analytic, 1 + he * (1 - sigma(he)), 1e-6, 0);
    ck_assert_str_eq(nr.detail.name, "test_swish_wrong");
    char line[512] = "";
    FILE *f = fmemopen(line, sizeof line, "w");
    ck_assert_ptr_nonnull(f);
    ag_gradcheck_nodes_fprint(f, &nr);
    fclose(f);
    ck_assert_msg(strstr(line, "test_swish_wrong") && strstr(line, "act"), "%s", line);
}
END_TEST

/* ---- 4. kinks ---- */

START_TEST(test_kink_relu_at_zero)
{
    /* relu at exactly 0 (element 1): one-sided slopes 0 and 1, the rule's
     * subgradient 0 between them. Away from 0 nothing is counted. */
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(-1, 0, 2));
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_sum_relu, NULL, 1, &x, &o, &rep), "%s", report_text(&rep));
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 1);
    ck_assert_uint_eq(rep.inputs[0].first_kink, 1);
    char *text = report_text(&rep);
    ck_assert_msg(strstr(text, "kink") != NULL, "%s", text);
    ag_tensor *w = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(-1, 0.5, 2));
    memset(&rep, 0, sizeof rep);
    ck_assert(ag_gradcheck(f_sum_relu, NULL, 1, &w, &o, &rep));
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 0);
}
END_TEST

START_TEST(test_kink_abs_at_zero)
{
    /* abs at exactly 0 (elements 0 and 3): one-sided slopes -1 and 1. The
     * central difference there happens to equal the rule's subgradient 0,
     * but the element is still at a kink and must be reported as one. */
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    ag_tensor *y = h_param(AG_F64, 2, H_SHAPE(2, 2), H_VALS(0, -1.5, 0.5, 0));
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_sum_abs, NULL, 1, &y, &o, &rep), "%s", report_text(&rep));
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 2);
    ck_assert_uint_eq(rep.inputs[0].first_kink, 0);
}
END_TEST

START_TEST(test_kink_max_tie)
{
    /* max with an exact tie (elements 1 and 2): moving either up moves the
     * max, moving it down does not — both are kinks, neither a failure. */
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    ag_tensor *z = h_param(AG_F64, 1, H_SHAPE(4), H_VALS(1, 3, 3, 2));
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_max, NULL, 1, &z, &o, &rep), "%s", report_text(&rep));
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 2);
    ck_assert_uint_eq(rep.inputs[0].first_kink, 1);

    /* maximum(a, b) tied at element 1: a kink in both inputs. */
    ag_tensor *ab[2] = {h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2)),
                        h_param(AG_F64, 1, H_SHAPE(2), H_VALS(2, 2))};
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_sum_maximum, NULL, 2, ab, &o, &rep), "%s", report_text(&rep));
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 1);
    ck_assert_uint_eq(rep.inputs[1].n_kinks, 1);
    ck_assert_uint_eq(rep.inputs[0].first_kink, 1);
    ck_assert_uint_eq(rep.inputs[1].first_kink, 1);
}
END_TEST

START_TEST(test_wrong_rule_still_fails_near_kinks)
{
    register_all();
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(-1, 0, 2));

    /* Slope 2 for x > 0: element 2 (no kink) is wrong; element 1 at the
     * kink holds a valid subgradient (0). */
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(f_sum_of, (void *)RELU_WRONG, 1, &x, &o, &rep));
    ck_assert(!rep.inputs[0].pass);
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 1);
    ck_assert_uint_eq(rep.inputs[0].first_kink, 1);
    ck_assert_uint_eq(rep.inputs[0].worst_flat, 2);
    ck_assert_near(rep.inputs[0].analytic, 2, 0, 0);
    ck_assert_near(rep.inputs[0].numeric, 1, 0, 1e-8);

    /* 3 at the kink: outside the one-sided slopes 0 and 1, so a failure,
     * not a kink; the central difference there is 1/2. */
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(f_sum_of, (void *)RELU_BAD_AT_KINK, 1, &x, &o, &rep));
    ck_assert(!rep.inputs[0].pass);
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 0);
    ck_assert_uint_eq(rep.inputs[0].worst_flat, 1);
    ck_assert_near(rep.inputs[0].analytic, 3, 0, 0);
    ck_assert_near(rep.inputs[0].numeric, 0.5, 0, 1e-8);
}
END_TEST

/* ---- 5. nondet_tol ---- */

START_TEST(test_nondet_tol)
{
    register_all();
    const double xs[4] = {0.1, 0.5, 0.9, 0.3};
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(4), xs);
    double sum_exp = 0, max_exp = 0;
    for (int i = 0; i < 4; i++) {
        sum_exp += exp(xs[i]);
        max_exp = fmax(max_exp, exp(xs[i]));
    }
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;

    /* Exact repetition demanded: two analytic runs differ by δ·|s1 − s2|·e^x
     * (|s1 − s2| is 1 or 2), so the check fails and says by how much. */
    o.nondet_tol = 0;
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(f_sum_of, (void *)NOISY_EXP, 1, &x, &o, &rep));
    ck_assert(!rep.pass);
    ck_assert_msg(rep.nondet_diff >= NOISE * max_exp * (1 - 1e-3) &&
                      rep.nondet_diff <= 2 * NOISE * max_exp * (1 + 1e-3),
                  "nondet_diff %g, expected between %g and %g", rep.nondet_diff,
                  NOISE * max_exp, 2 * NOISE * max_exp);
    char *text = report_text(&rep);
    ck_assert_msg(strstr(text, "repeated runs differ"), "%s", text);

    /* The tolerance derived from the noise: any two evaluations of
     * f = Σ e^x (1 + δ s) differ by at most 2δ Σ e^x, so a central
     * difference is off by at most 2δ Σ e^x / (2 eps), and the analytic
     * runs by 2δ max e^x, less than that. Twice the bound, for slack. */
    o.nondet_tol = 2 * (2 * NOISE * sum_exp / (2 * o.eps));
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_sum_of, (void *)NOISY_EXP, 1, &x, &o, &rep), "nondet_tol %g:\n%s",
                  o.nondet_tol, report_text(&rep));
    ck_assert(rep.nondet_diff > 0 && rep.nondet_diff <= o.nondet_tol);
    /* Passed on the tolerance, not as kinks. */
    ck_assert_uint_eq(rep.inputs[0].n_kinks, 0);

    /* The tolerance does not hide a wrong rule: the planted swish mistake
     * (0.22 at x = 1.5) is far above it. */
    ag_tensor *y = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1.5, -0.5));
    memset(&rep, 0, sizeof rep);
    ck_assert(!ag_gradcheck(f_sum_of, (void *)SWISH_WRONG, 1, &y, &o, &rep));
}
END_TEST

/* ---- which inputs are checked; nothing else touched ---- */

typedef struct gather_ctx {
    int axis;
} gather_ctx;

/* Σ gather(a, axis, index) ⊙ b, the index an input of the function. */
static ag_tensor *f_gather_mul(ag_tensor *const *in, void *ctx)
{
    const gather_ctx *c = ctx;
    return ag_sum(ag_mul(ag_gather(in[0], c->axis, in[2]), in[1]));
}

START_TEST(test_checked_inputs_and_isolation)
{
    ag_tensor *a = h_param(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(0.5, -1, 2, 0.25));
    ag_tensor *index = h_keep(ag_from_array(AG_I64, 2, H_SHAPE(2, 2), (const int64_t[]){2, 0, 1, 1}));
    ck_assert_ptr_nonnull(index);
    ag_tensor *in[3] = {a, b, index};
    /* Something on the current tape, to see that it is left alone. */
    ag_tensor *pre = ag_mul_scalar(a, 2);
    ck_assert_tensor(pre);
    ag_tape *tape = ag_tape_current();
    size_t nodes = ag_tape_size(tape);
    uint64_t gen = ag_tape_generation(tape);

    gather_ctx c = {1};
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_gather_mul, &c, 3, in, &o, &rep), "%s", report_text(&rep));
    /* Only a requires grad: b (a float constant) and the index are not
     * checked. */
    ck_assert_int_eq(rep.n_inputs, 3);
    ck_assert(rep.inputs[0].checked && rep.inputs[0].pass);
    ck_assert(!rep.inputs[1].checked);
    ck_assert(!rep.inputs[2].checked);
    ck_assert_str_eq(rep.name, "function");

    /* Nothing touched: the current tape, its nodes and generation, the
     * inputs' values, and their gradients (none yet). */
    ck_assert_ptr_eq(ag_tape_current(), tape);
    ck_assert_uint_eq(ag_tape_size(tape), nodes);
    ck_assert_uint_eq(ag_tape_generation(tape), gen);
    ck_assert_values(pre, 6, H_VALS(2, 4, 6, 8, 10, 12), 0, 0);
    ck_assert_values(a, 6, H_VALS(1, 2, 3, 4, 5, 6), 0, 0);
    ck_assert_ptr_null(ag_grad_of(a));
    /* Backward through what was recorded before still works. */
    ck_assert(ag_backward(ag_sum(pre)));
    ck_assert_values(ag_grad_of(a), 6, H_VALS(2, 2, 2, 2, 2, 2), 0, 0);

    /* With no input marked, every float input is checked (not the index). */
    ag_tensor *a2 = h_arr(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *in2[3] = {a2, b, index};
    memset(&rep, 0, sizeof rep);
    ck_assert_msg(ag_gradcheck(f_gather_mul, &c, 3, in2, &o, &rep), "%s", report_text(&rep));
    ck_assert(rep.inputs[0].checked && rep.inputs[1].checked && !rep.inputs[2].checked);
    ck_assert(!ag_requires_grad(a2));
}
END_TEST

/* ---- 6. bad arguments ---- */

START_TEST(test_bad_arguments)
{
    register_all();
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_tensor *nine[9];
    for (int i = 0; i < 9; i++)
        nine[i] = x;
    ag_gradcheck_report rep;
    ag_gradcheck_nodes_report nr;

    memset(&rep, 0xff, sizeof rep);
    ck_assert(!ag_gradcheck(NULL, NULL, 1, &x, NULL, &rep));
    ck_assert_error(AG_ERR_NULL, "gradcheck");
    ck_assert(!rep.pass);
    ag_error_clear();
    ck_assert(!ag_gradcheck(f_sum_relu, NULL, 1, NULL, NULL, &rep));
    ck_assert_error(AG_ERR_NULL, "gradcheck");
    ag_error_clear();
    ck_assert(!ag_gradcheck(f_sum_relu, NULL, 0, &x, NULL, &rep));
    ck_assert_error(AG_ERR_VALUE, "gradcheck");
    ck_assert(!rep.pass);
    ag_error_clear();
    ck_assert(!ag_gradcheck(f_sum_relu, NULL, 9, nine, NULL, &rep));
    ck_assert_error(AG_ERR_VALUE, "gradcheck");
    ag_error_clear();
    ck_assert(!ag_gradcheck(f_sum_relu, NULL, -1, &x, NULL, &rep));
    ck_assert_error(AG_ERR_VALUE, "gradcheck");
    ag_error_clear();
    const double bad_eps[3] = {0, -1e-6, NAN};
    for (int i = 0; i < 3; i++) {
        ag_gradcheck_opts o = ag_gradcheck_defaults();
        o.eps = bad_eps[i];
        ck_assert(!ag_gradcheck(f_sum_relu, NULL, 1, &x, &o, &rep));
        ck_assert_error(AG_ERR_VALUE, "eps");
        ck_assert(!rep.pass);
        ag_error_clear();
    }
    ag_gradcheck_opts neg = ag_gradcheck_defaults();
    neg.rtol = -1;
    ck_assert(!ag_gradcheck(f_sum_relu, NULL, 1, &x, &neg, &rep));
    ck_assert_error(AG_ERR_VALUE, "gradcheck");
    ag_error_clear();
    neg = ag_gradcheck_defaults();
    neg.nondet_tol = -1e-9;
    ck_assert(!ag_gradcheck(f_sum_relu, NULL, 1, &x, &neg, &rep));
    ck_assert_error(AG_ERR_VALUE, "gradcheck");
    ag_error_clear();
    /* A NULL input. */
    ag_tensor *none[1] = {NULL};
    ck_assert(!ag_gradcheck(f_sum_relu, NULL, 1, none, NULL, &rep));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();

    /* The per-node and per-op entries. */
    ck_assert(!ag_gradcheck_nodes(NULL, NULL, 1, &x, NULL, &nr));
    ck_assert_error(AG_ERR_NULL, "gradcheck_nodes");
    ck_assert(!nr.pass);
    ag_error_clear();
    ck_assert(!ag_gradcheck_nodes(f_sum_relu, NULL, 0, &x, NULL, &nr));
    ck_assert_error(AG_ERR_VALUE, "gradcheck_nodes");
    ag_error_clear();
    ck_assert(!ag_gradcheck_nodes(f_sum_relu, NULL, 9, nine, NULL, &nr));
    ck_assert_error(AG_ERR_VALUE, "gradcheck_nodes");
    ag_error_clear();
    ag_gradcheck_opts zero = ag_gradcheck_defaults();
    zero.eps = 0;
    ck_assert(!ag_gradcheck_nodes(f_sum_relu, NULL, 1, &x, &zero, &nr));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(!ag_gradcheck_op(NULL, 1, NULL, &rep));
    ck_assert_error(AG_ERR_NULL, "gradcheck_op");
    ag_error_clear();
    ck_assert(!ag_gradcheck_op(SWISH, 1, &zero, &rep));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    /* A function that fails: the check fails and its error is kept. */
    ck_assert(!ag_gradcheck(f_fails, NULL, 1, &x, NULL, &rep));
    ck_assert_error(AG_ERR_SHAPE, "reshape");
    ck_assert(!rep.pass);
    ag_error_clear();
}
END_TEST

Suite *gradcheck_suite(void);
Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("gradcheck");
    TCase *tc = h_tcase(s, "planted wrong backward", H_TIMEOUT);
    tcase_add_test(tc, test_planted_wrong_backward_is_caught);
    tcase_add_test(tc, test_planted_wrong_op_is_named);
    tc = h_tcase(s, "per node", H_TIMEOUT);
    tcase_add_test(tc, test_per_node_names_the_culprit);
    tc = h_tcase(s, "kinks", H_TIMEOUT);
    tcase_add_test(tc, test_kink_relu_at_zero);
    tcase_add_test(tc, test_kink_abs_at_zero);
    tcase_add_test(tc, test_kink_max_tie);
    tcase_add_test(tc, test_wrong_rule_still_fails_near_kinks);
    tc = h_tcase(s, "nondet_tol", H_TIMEOUT);
    tcase_add_test(tc, test_nondet_tol);
    tc = h_tcase(s, "arguments", H_TIMEOUT);
    tcase_add_test(tc, test_checked_inputs_and_isolation);
    tcase_add_test(tc, test_bad_arguments);
    return s;
}

H_MAIN(gradcheck_suite)

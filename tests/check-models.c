/* SPDX-License-Identifier: MIT */
/* check-models.c — the models layer's building blocks: the parameter store,
 * initialisation, and layers and models (activations, linear layers, MLPs,
 * logistic and softmax regression, the L2 penalty).
 *
 * Every expected value is derived here, independently of the code under
 * test: layer outputs and gradients from loops over the raw arrays, and
 * initialisation statistics from the distributions' moments.
 *
 * The optimizers and schedules are tested in check-optim.c and training on
 * real data in check-train.c. The three share models_fixture.h: resources
 * that are not tensors (stores, optimizers, models) are registered with
 * own_*() and freed by models_teardown, so a failing test leaks nothing
 * under CK_FORK=no + valgrind, and files go to a temporary folder. */
#include "models_fixture.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

/* Sets every element of a parameter from doubles. */
static void set_values(ag_tensor *t, size_t n, const double *values)
{
    ck_assert_tensor(t);
    ck_assert_uint_eq(ag_numel(t), n);
    for (size_t i = 0; i < n; i++)
        ck_assert(ag_set_flat(t, i, values[i]));
}

/* Sets a layer's (out, in) weight from the matrix W[i * out + o] (in, out)
 * that the tests write their formulas with: element (o, i) = W[i][o]. */
static void set_weight(ag_tensor *t, int64_t in, int64_t out, const double *W)
{
    ck_assert_shape(t, 2, H_SHAPE(out, in));
    for (int64_t i = 0; i < in; i++)
        for (int64_t o = 0; o < out; o++)
            ck_assert(ag_set_flat(t, (size_t)(o * in + i), W[i * out + o]));
}

/* ------------------------------------------------------------------ */
/* Parameters by name                                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_params_add_get_order)
{
    ag_params *p = own_params(ag_params_new());
    ck_assert(p != NULL);
    ck_assert_uint_eq(ag_params_count(p), 0);
    ck_assert_uint_eq(ag_params_numel(p), 0);

    ag_tensor *w = make(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ag_tensor *b = make(AG_F32, 1, H_SHAPE(3), NULL);
    ag_tensor *v = make(AG_F64, 2, H_SHAPE(3, 1), NULL);
    ag_tensor *n = make(AG_I64, 0, NULL, H_VALS(7));
    ck_assert(!ag_requires_grad(w) && !ag_requires_grad(b));
    ck_assert_ptr_eq(ag_params_add(p, "fc1.weight", w), w);
    ck_assert_ptr_eq(ag_params_add(p, "fc1.bias", b), b);
    ck_assert_ptr_eq(ag_params_add(p, "fc2.weight", v), v);
    ck_assert_ptr_eq(ag_params_add(p, "steps", n), n);
    ck_assert_ok();

    /* Float tensors become parameters; an integer one cannot carry a
     * gradient. */
    ck_assert(ag_requires_grad(w) && ag_requires_grad(b) && ag_requires_grad(v));
    ck_assert(!ag_requires_grad(n));

    ck_assert_uint_eq(ag_params_count(p), 4);
    ck_assert_uint_eq(ag_params_numel(p), 6 + 3 + 3 + 1);

    /* Insertion order, with names; not hash order. */
    const char *want_names[] = {"fc1.weight", "fc1.bias", "fc2.weight", "steps"};
    ag_tensor *want_t[] = {w, b, v, n};
    for (size_t i = 0; i < 4; i++) {
        const char *name = NULL;
        ck_assert_ptr_eq(ag_params_at(p, i, &name), want_t[i]);
        ck_assert_str_eq(name, want_names[i]);
        ck_assert_ptr_eq(ag_params_at(p, i, NULL), want_t[i]);
        ck_assert_ptr_eq(ag_params_get(p, want_names[i]), want_t[i]);
    }
    ck_assert_ok();

    ck_assert_ptr_null(ag_params_get(p, "fc3.weight"));
    ck_assert_error(AG_ERR_NOTFOUND, "fc3.weight");
    ag_error_clear();
    ck_assert_ptr_null(ag_params_get(p, "fc1")); /* no prefix matching */
    ck_assert_status(AG_ERR_NOTFOUND);
    ag_error_clear();
    ck_assert_ptr_null(ag_params_at(p, 4, NULL));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert_ptr_null(ag_params_get(NULL, "w"));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_uint_eq(ag_params_count(NULL), 0);
    ag_params_free(NULL);
}
END_TEST

/* Many names: the hash and the order array grow past their first sizes. */
START_TEST(test_params_many)
{
    ag_params *p = own_params(ag_params_new());
    enum { N = 200 };
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d.weight", i);
        ck_assert(ag_params_add(p, name, make(AG_F32, 1, H_SHAPE(i % 5 + 1), NULL)) != NULL);
    }
    ck_assert_uint_eq(ag_params_count(p), N);
    size_t numel = 0;
    for (int i = 0; i < N; i++) {
        char name[32];
        const char *got;
        snprintf(name, sizeof name, "layer%d.weight", i);
        ag_tensor *t = ag_params_at(p, (size_t)i, &got);
        ck_assert_str_eq(got, name);
        ck_assert_ptr_eq(ag_params_get(p, name), t);
        ck_assert_uint_eq(ag_numel(t), (size_t)(i % 5 + 1));
        numel += (size_t)(i % 5 + 1);
    }
    ck_assert_uint_eq(ag_params_numel(p), numel);
}
END_TEST

/* Rejected names and tensors: the store is unchanged, and it frees the
 * tensor it was given (valgrind checks that nothing leaks and nothing is
 * freed twice). */
START_TEST(test_params_bad_names)
{
    ag_params *p = own_params(ag_params_new());
    ag_tensor *w = make(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ck_assert(ag_params_add(p, "w", w) == w);

    ck_assert_ptr_null(ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(2), NULL)));
    ck_assert_error(AG_ERR_VALUE, "'w'");
    ag_error_clear();
    ck_assert_uint_eq(ag_params_count(p), 1);
    ck_assert_ptr_eq(ag_params_get(p, "w"), w); /* the first one stays */
    ck_assert_f64(ag_get_flat(w, 1), 2.0);

    ck_assert_ptr_null(ag_params_add(p, "", make(AG_F64, 0, NULL, NULL)));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();

    char name[200];
    memset(name, 'a', sizeof name);
    name[128] = '\0'; /* 128 bytes: one too many */
    ck_assert_ptr_null(ag_params_add(p, name, make(AG_F64, 0, NULL, NULL)));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    name[127] = '\0'; /* 127 bytes: the longest allowed */
    ag_tensor *t = make(AG_F64, 0, NULL, NULL);
    ck_assert_ptr_eq(ag_params_add(p, name, t), t);
    ck_assert_ptr_eq(ag_params_get(p, name), t);
    ck_assert_ok();

    ck_assert_ptr_null(ag_params_add(p, NULL, make(AG_F64, 0, NULL, NULL)));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_ptr_null(ag_params_add(p, "x", NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_ptr_null(ag_params_add(NULL, "x", make(AG_F64, 0, NULL, NULL)));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();

    /* An intermediate is not a parameter (and stays the tape's). */
    ag_tensor *a = h_pscalar(AG_F64, 2.0);
    ag_tensor *sq = ag_mul(a, a);
    ck_assert_tensor(sq);
    ck_assert_ptr_null(ag_params_add(p, "sq", sq));
    ck_assert_error(AG_ERR_VALUE, "sq");
    ag_error_clear();
    ck_assert_f64(ag_item(sq), 4.0); /* still alive, owned by the tape */
    ck_assert_uint_eq(ag_params_count(p), 2);
}
END_TEST

START_TEST(test_params_zero_grad)
{
    ag_params *p = own_params(ag_params_new());
    ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(3), H_VALS(1, -2, 3)));
    ag_tensor *b = ag_params_add(p, "b", make(AG_F64, 0, NULL, H_VALS(0.5)));
    /* L = Σ w² + 3b: dL/dw = 2w, dL/db = 3 */
    ag_tensor *L = ag_add(ag_sum(ag_square(w)), ag_mul_scalar(b, 3.0));
    ck_assert(ag_backward(L));
    ck_assert_values_f64(ag_grad_of(w), 3, H_VALS(2, -4, 6));
    ck_assert_f64(h_grad_at(b, 0), 3.0);
    ag_tape_reset(NULL);

    ag_params_zero_grad(p);
    for (size_t i = 0; i < 3; i++)
        ck_assert_f64(h_grad_at(w, i), 0.0);
    ck_assert_f64(h_grad_at(b, 0), 0.0);

    /* Zeroed, not stale: the next backward starts from zero instead of
     * adding to the previous gradient. */
    L = ag_sum(ag_mul(w, w));
    ck_assert(ag_backward(L));
    ck_assert_values_f64(ag_grad_of(w), 3, H_VALS(2, -4, 6));
    ck_assert_f64(h_grad_at(b, 0), 0.0);
    ag_params_zero_grad(NULL);
}
END_TEST

START_TEST(test_params_clone)
{
    ag_params *p = own_params(ag_params_new());
    ag_params_add(p, "fc.weight", make(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4)));
    ag_params_add(p, "fc.bias", make(AG_F32, 1, H_SHAPE(2), H_VALS(-1, 0.25)));
    ag_params_add(p, "count", make(AG_I64, 1, H_SHAPE(2), H_VALS(5, 9)));
    ag_tensor *frozen = ag_params_add(p, "frozen", make(AG_F64, 0, NULL, H_VALS(3)));
    ck_assert(ag_set_requires_grad(frozen, false));

    ag_params *c = own_params(ag_params_clone(p));
    ck_assert(c != NULL);
    ck_assert_uint_eq(ag_params_count(c), 4);
    ck_assert_uint_eq(ag_params_numel(c), ag_params_numel(p));
    for (size_t i = 0; i < 4; i++) {
        const char *np, *nc;
        ag_tensor *tp = ag_params_at(p, i, &np), *tc = ag_params_at(c, i, &nc);
        ck_assert_str_eq(nc, np);
        ck_assert_ptr_ne(tc, tp);
        ck_assert_ptr_ne(ag_data(tc), ag_data(tp));
        ck_assert_int_eq(ag_tensor_dtype(tc), ag_tensor_dtype(tp));
        ck_assert(h_shape_is(tc, ag_ndim(tp), ag_shape(tp)));
        ck_assert(ag_is_leaf(tc));
        ck_assert_int_eq(ag_requires_grad(tc), ag_requires_grad(tp));
        for (size_t e = 0; e < ag_numel(tp); e++)
            ck_assert(ag_get_flat(tc, e) == ag_get_flat(tp, e));
    }
    ck_assert(!ag_requires_grad(ag_params_get(c, "frozen")));
    ck_assert(!ag_requires_grad(ag_params_get(c, "count")));

    /* Deep: writing the copy leaves the original alone. */
    ck_assert(ag_set_flat(ag_params_get(c, "fc.weight"), 0, 100.0));
    ck_assert_f64(ag_get_flat(ag_params_get(p, "fc.weight"), 0), 1.0);
    ck_assert_ptr_null(ag_params_clone(NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Initialisation                                                      */
/* ------------------------------------------------------------------ */

typedef struct moments {
    double mean, var, min, max;
    double within_1sd; /* the fraction with |x| <= the expected standard deviation */
} moments;

static moments sample_moments(const ag_tensor *t, double sd)
{
    size_t n = ag_numel(t);
    double s = 0, lo = INFINITY, hi = -INFINITY;
    size_t in = 0;
    for (size_t i = 0; i < n; i++) {
        double v = ag_get_flat(t, i);
        s += v;
        lo = fmin(lo, v);
        hi = fmax(hi, v);
        in += fabs(v) <= sd;
    }
    double mean = s / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = ag_get_flat(t, i) - mean;
        ss += d * d;
    }
    return (moments){mean, ss / (double)(n - 1), lo, hi, (double)in / (double)n};
}

/* Tolerances are 5 standard errors of the estimator: a correct sampler
 * fails one check with probability below 6e-7 (and the draws are seeded, so
 * the suite is deterministic anyway), while a wrong scale — √(3/n) for
 * √(6/n), fan_out for fan_in, a normal for a uniform — is off by tens or
 * hundreds of standard errors.
 *   sample mean: SE = σ/√n.
 *   sample variance: SE = √(Var(X²)/n) with Var(X²) = E X⁴ − σ⁴, which is
 *     4a⁴/45 for U(−a, a) (E X⁴ = a⁴/5, σ² = a²/3) and 2σ⁴ for a normal.
 *   fraction within one σ of 0: p(1−p)/n binomial variance, p = 0.682689
 *     for a normal and 1/√3 = 0.57735 for a uniform (σ = a/√3).
 *   extremes of a uniform: P(max < a(1 − δ)) = (1 − δ/2)^n, e^-25 for
 *     δ = 1e-3, n = 10⁵: the draw must reach the ends of its range. */
typedef struct init_case {
    ag_init init;
    int64_t fan_in, fan_out;
} init_case;

static const init_case init_cases[] = {
    {AG_INIT_XAVIER_UNIFORM, 400, 250},
    {AG_INIT_XAVIER_NORMAL, 400, 250},
    {AG_INIT_HE_UNIFORM, 400, 250},
    {AG_INIT_HE_NORMAL, 400, 250},
    {AG_INIT_XAVIER_UNIFORM, 100, 1000},
    {AG_INIT_HE_UNIFORM, 1000, 100},
};

START_TEST(test_init_statistics)
{
    const init_case *c = &init_cases[_i];
    double fi = (double)c->fan_in, fo = (double)c->fan_out;
    bool uniform = c->init == AG_INIT_XAVIER_UNIFORM || c->init == AG_INIT_HE_UNIFORM;
    bool he = c->init == AG_INIT_HE_UNIFORM || c->init == AG_INIT_HE_NORMAL;
    /* The published variances: Glorot & Bengio 2/(fan_in + fan_out), He
     * 2/fan_in; a uniform bound a has variance a²/3, so a = √(6/...). */
    double var = he ? 2.0 / fi : 2.0 / (fi + fo);
    double a = sqrt(3.0 * var);
    ag_rng rng;
    ag_rng_seed(&rng, 12345);
    ag_tensor *t = h_keep(ag_init_matrix(AG_F64, c->fan_in, c->fan_out, c->init, &rng));
    ck_assert_shape(t, 2, H_SHAPE(c->fan_in, c->fan_out));
    ck_assert(ag_is_leaf(t));
    ck_assert_int_eq(ag_tensor_dtype(t), AG_F64);

    double n = (double)ag_numel(t), sd = sqrt(var);
    moments m = sample_moments(t, sd);
    double se_mean = sd / sqrt(n);
    double var4 = uniform ? 4.0 * a * a * a * a / 45.0 : 2.0 * var * var;
    double se_var = sqrt(var4 / n);
    double p1 = uniform ? 1.0 / sqrt(3.0) : 0.682689492137;
    double se_p = sqrt(p1 * (1 - p1) / n);
    ck_assert_msg(fabs(m.mean) <= 5 * se_mean, "mean %g, SE %g", m.mean, se_mean);
    ck_assert_msg(fabs(m.var - var) <= 5 * se_var, "variance %g, expected %g, SE %g", m.var,
                  var, se_var);
    ck_assert_msg(fabs(m.within_1sd - p1) <= 5 * se_p, "P(|x| <= sd) = %g, expected %g, SE %g",
                  m.within_1sd, p1, se_p);
    if (uniform) {
        ck_assert_msg(m.min >= -a && m.max <= a, "range [%g, %g] outside ±%g", m.min, m.max, a);
        ck_assert_msg(m.max > a * (1 - 1e-3) && m.min < -a * (1 - 1e-3),
                      "range [%g, %g] does not reach ±%g", m.min, m.max, a);
    } else {
        /* A normal's draws go past 3σ (P(|x| > 3σ) = 0.0027, 270 expected
         * of 10⁵) — a uniform's never exceed √3σ. */
        ck_assert_msg(m.max > 3 * sd && m.min < -3 * sd, "range [%g, %g], σ = %g", m.min, m.max,
                      sd);
    }
}
END_TEST

START_TEST(test_init_f32_and_zeros)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_tensor *z = h_keep(ag_init_matrix(AG_F32, 3, 5, AG_INIT_ZEROS, &rng));
    ck_assert_shape(z, 2, H_SHAPE(3, 5));
    ck_assert_int_eq(ag_tensor_dtype(z), AG_F32);
    for (size_t i = 0; i < 15; i++)
        ck_assert(ag_get_flat(z, i) == 0.0);

    /* f32 uniform: inside ±√(6/fan_in) (rounded to float: allow one ulp). */
    ag_tensor *h = h_keep(ag_init_matrix(AG_F32, 50, 40, AG_INIT_HE_UNIFORM, &rng));
    ck_assert_shape(h, 2, H_SHAPE(50, 40));
    ck_assert_int_eq(ag_tensor_dtype(h), AG_F32);
    double a = sqrt(6.0 / 50.0);
    moments m = sample_moments(h, a / sqrt(3.0));
    ck_assert(m.min >= -a * (1 + FLT_EPSILON) && m.max <= a * (1 + FLT_EPSILON));
    /* 2000 draws: P(max < 0.99a) = 0.995^2000 = 4e-5. */
    ck_assert(m.max > 0.99 * a && m.min < -0.99 * a);
}
END_TEST

START_TEST(test_init_seeds)
{
    ag_rng r1, r2, r3;
    ag_rng_seed(&r1, 2024);
    ag_rng_seed(&r2, 2024);
    ag_rng_seed(&r3, 2025);
    for (int k = AG_INIT_XAVIER_UNIFORM; k <= AG_INIT_HE_NORMAL; k++) {
        ag_tensor *a = h_keep(ag_init_matrix(AG_F64, 30, 20, (ag_init)k, &r1));
        ag_tensor *b = h_keep(ag_init_matrix(AG_F64, 30, 20, (ag_init)k, &r2));
        ag_tensor *c = h_keep(ag_init_matrix(AG_F64, 30, 20, (ag_init)k, &r3));
        ck_assert_tensor(a);
        ck_assert_tensor(b);
        ck_assert_tensor(c);
        ck_assert_msg(memcmp(ag_data(a), ag_data(b), 600 * sizeof(double)) == 0,
                      "init %d: same seed, different values", k);
        /* Continuous draws from different streams: any equal pair would
         * have probability ~600 · 2^-52. */
        size_t same = 0;
        for (size_t i = 0; i < 600; i++)
            same += ag_get_flat(a, i) == ag_get_flat(c, i);
        ck_assert_msg(same == 0, "init %d: %zu of 600 values equal across seeds", k, same);
    }
    /* The generator advances: a second draw from one stream differs. */
    ag_rng_seed(&r1, 9);
    ag_tensor *a = h_keep(ag_init_matrix(AG_F64, 10, 10, AG_INIT_HE_NORMAL, &r1));
    ag_tensor *b = h_keep(ag_init_matrix(AG_F64, 10, 10, AG_INIT_HE_NORMAL, &r1));
    ck_assert(memcmp(ag_data(a), ag_data(b), 100 * sizeof(double)) != 0);
}
END_TEST

START_TEST(test_init_errors)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ck_assert_ptr_null(ag_init_matrix(AG_F64, 0, 3, AG_INIT_HE_UNIFORM, &rng));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_init_matrix(AG_F64, 3, -1, AG_INIT_ZEROS, &rng));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_init_matrix(AG_F64, 3, 3, (ag_init)99, &rng));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Layers and models                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_activate)
{
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(4), H_VALS(-2, -0.5, 0, 1.5));
    const double xs[] = {-2, -0.5, 0, 1.5};
    ck_assert_ptr_eq(ag_activate(x, AG_ACT_NONE), x);
    ag_tensor *s = ag_activate(x, AG_ACT_SIGMOID), *t = ag_activate(x, AG_ACT_TANH),
              *r = ag_activate(x, AG_ACT_RELU);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_f64(ag_get_flat(s, i), 1 / (1 + exp(-xs[i])));
        ck_assert_f64(ag_get_flat(t, i), tanh(xs[i]));
        ck_assert_f64(ag_get_flat(r, i), xs[i] > 0 ? xs[i] : 0);
    }
    ck_assert_ptr_null(ag_activate(x, (ag_activation)42));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
}
END_TEST

/* y = x·W + b against a triple loop; dL/dW and dL/db for L = Σ y ⊙ c,
 * whose gradients are dW[i][j] = Σ_n x[n][i] c[n][j], db[j] = Σ_n c[n][j]. */
START_TEST(test_linear)
{
    enum { N = 4, IN = 3, OUT = 2 };
    const double W[IN * OUT] = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};
    const double B[OUT] = {0.1, -0.2};
    const double X[N * IN] = {1, 2, 3, -1, 0.5, 2, 0, 0, 1, 4, -3, 0.5};
    const double C[N * OUT] = {1, -1, 2, 0.5, -0.5, 3, 1.5, 1};
    ag_params *p = own_params(ag_params_new());
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ck_assert(ag_linear_init(p, "enc", IN, OUT, AG_F64, AG_INIT_XAVIER_UNIFORM, &rng));
    ck_assert_uint_eq(ag_params_count(p), 2);
    const char *n0, *n1;
    ag_tensor *w = ag_params_at(p, 0, &n0), *b = ag_params_at(p, 1, &n1);
    ck_assert_str_eq(n0, "enc.weight");
    ck_assert_str_eq(n1, "enc.bias");
    ck_assert_shape(w, 2, H_SHAPE(OUT, IN)); /* (out, in), as nn.Linear */
    ck_assert_shape(b, 1, H_SHAPE(OUT));
    for (size_t i = 0; i < OUT; i++)
        ck_assert(ag_get_flat(b, i) == 0.0);
    double bound = sqrt(6.0 / (IN + OUT));
    for (size_t i = 0; i < IN * OUT; i++)
        ck_assert(fabs(ag_get_flat(w, i)) <= bound);

    set_weight(w, IN, OUT, W);
    set_values(b, OUT, B);
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(N, IN), X);
    ag_tensor *c = h_arr(AG_F64, 2, H_SHAPE(N, OUT), C);
    ag_tensor *y = ag_linear(p, "enc", x);
    ck_assert_shape(y, 2, H_SHAPE(N, OUT));
    for (int n = 0; n < N; n++)
        for (int j = 0; j < OUT; j++) {
            double s = B[j];
            for (int i = 0; i < IN; i++)
                s += X[n * IN + i] * W[i * OUT + j];
            ck_assert_f64(ag_get(y, H_SHAPE(n, j)), s);
        }
    ck_assert(ag_backward(ag_sum(ag_mul(y, c))));
    for (int i = 0; i < IN; i++)
        for (int j = 0; j < OUT; j++) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += X[n * IN + i] * C[n * OUT + j];
            ck_assert_f64(h_grad_at(w, (size_t)(j * IN + i)), s);
        }
    for (int j = 0; j < OUT; j++) {
        double s = 0;
        for (int n = 0; n < N; n++)
            s += C[n * OUT + j];
        ck_assert_f64(h_grad_at(b, (size_t)j), s);
    }

    /* Errors: an unknown layer, a wrong input width, a taken name. */
    ck_assert_ptr_null(ag_linear(p, "dec", x));
    /* dec.weight or dec.bias, whichever is looked up first */
    ck_assert_error(AG_ERR_NOTFOUND, "'dec.");
    ag_error_clear();
    ck_assert_ptr_null(ag_linear(p, "enc", h_arr(AG_F64, 2, H_SHAPE(N, IN + 1), NULL)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert(!ag_linear_init(p, "enc", IN, OUT, AG_F64, AG_INIT_ZEROS, &rng));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
}
END_TEST

/* A 3-4-2 ReLU MLP with weights set by hand, against loops: some hidden
 * units are negative before the ReLU, so the activation matters. */
START_TEST(test_mlp_relu_values)
{
    const double W1[3 * 4] = {1, -1, 0.5, 2, -2, 0.5, 1, -1, 0.5, 1.5, -0.5, 0.25};
    const double B1[4] = {0.1, -0.3, 0.2, -1.0};
    const double W2[4 * 2] = {1, -1, 0.5, 2, -1.5, 0.25, 0.75, -0.5};
    const double B2[2] = {0.05, -0.05};
    const double X[2 * 3] = {1, 2, -1, -0.5, 0.25, 2};
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    ag_mlp *m = own_mlp(ag_mlp_new(3, H_SHAPE(3, 4, 2), AG_ACT_RELU, AG_F64, &rng));
    ck_assert(m != NULL);
    ck_assert_int_eq(m->n_layers, 2);
    ck_assert_uint_eq(ag_params_count(m->params), 4);
    ck_assert_uint_eq(ag_params_numel(m->params), 3 * 4 + 4 + 4 * 2 + 2);
    const char *names[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    for (size_t i = 0; i < 4; i++) {
        const char *nm;
        ag_params_at(m->params, i, &nm);
        ck_assert_str_eq(nm, names[i]);
    }
    ck_assert_shape(ag_params_get(m->params, "fc1.weight"), 2, H_SHAPE(4, 3));
    ck_assert_shape(ag_params_get(m->params, "fc2.weight"), 2, H_SHAPE(2, 4));
    ck_assert_shape(ag_params_get(m->params, "fc2.bias"), 1, H_SHAPE(2));
    set_weight(ag_params_get(m->params, "fc1.weight"), 3, 4, W1);
    set_values(ag_params_get(m->params, "fc1.bias"), 4, B1);
    set_weight(ag_params_get(m->params, "fc2.weight"), 4, 2, W2);
    set_values(ag_params_get(m->params, "fc2.bias"), 2, B2);

    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), X);
    ag_tensor *out = ag_mlp_forward(m, x);
    ck_assert_shape(out, 2, H_SHAPE(2, 2));
    int negatives = 0;
    for (int n = 0; n < 2; n++) {
        double h[4];
        for (int j = 0; j < 4; j++) {
            double s = B1[j];
            for (int i = 0; i < 3; i++)
                s += X[n * 3 + i] * W1[i * 4 + j];
            negatives += s < 0;
            h[j] = s > 0 ? s : 0;
        }
        for (int k = 0; k < 2; k++) {
            double s = B2[k];
            for (int j = 0; j < 4; j++)
                s += h[j] * W2[j * 2 + k];
            ck_assert_f64(ag_get(out, H_SHAPE(n, k)), s);
        }
    }
    ck_assert_int_ge(negatives, 2); /* the test exercises the ReLU */
    ck_assert_ptr_null(ag_mlp_forward(NULL, x));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
}
END_TEST

/* 2-3-2-1 tanh: activations between layers, none after the last (the
 * output is far outside (−1, 1)). */
START_TEST(test_mlp_tanh_values)
{
    const double W1[2 * 3] = {1, -2, 0.5, 0.3, 1, -1};
    const double B1[3] = {0, 0.5, -0.5};
    const double W2[3 * 2] = {2, -1, 1, 3, -2, 0.5};
    const double B2[2] = {0.1, 0.2};
    const double W3[2 * 1] = {4, -3};
    const double B3[1] = {1.5};
    const double X[3 * 2] = {0.5, -1, 2, 0.25, -1.5, 1};
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    ag_mlp *m = own_mlp(ag_mlp_new(4, H_SHAPE(2, 3, 2, 1), AG_ACT_TANH, AG_F64, &rng));
    ck_assert(m != NULL);
    ck_assert_int_eq(m->n_layers, 3);
    set_weight(ag_params_get(m->params, "fc1.weight"), 2, 3, W1);
    set_values(ag_params_get(m->params, "fc1.bias"), 3, B1);
    set_weight(ag_params_get(m->params, "fc2.weight"), 3, 2, W2);
    set_values(ag_params_get(m->params, "fc2.bias"), 2, B2);
    set_weight(ag_params_get(m->params, "fc3.weight"), 2, 1, W3);
    set_values(ag_params_get(m->params, "fc3.bias"), 1, B3);
    ag_tensor *out = ag_mlp_forward(m, h_arr(AG_F64, 2, H_SHAPE(3, 2), X));
    ck_assert_shape(out, 2, H_SHAPE(3, 1));
    double biggest = 0;
    for (int n = 0; n < 3; n++) {
        double h1[3], h2[2], o = B3[0];
        for (int j = 0; j < 3; j++) {
            double s = B1[j];
            for (int i = 0; i < 2; i++)
                s += X[n * 2 + i] * W1[i * 3 + j];
            h1[j] = tanh(s);
        }
        for (int k = 0; k < 2; k++) {
            double s = B2[k];
            for (int j = 0; j < 3; j++)
                s += h1[j] * W2[j * 2 + k];
            h2[k] = tanh(s);
        }
        for (int k = 0; k < 2; k++)
            o += h2[k] * W3[k];
        ck_assert_f64(ag_get_flat(out, (size_t)n), o);
        biggest = fmax(biggest, fabs(o));
    }
    ck_assert(biggest > 1.5);
}
END_TEST

/* He uniform for ReLU, Xavier uniform otherwise: for a 64-32 layer the
 * bounds are √(6/64) = 0.306 and √(6/96) = 0.25; with 2048 draws the largest
 * |w| exceeds 0.9 of its bound (P(miss) = 0.95^2048 ≈ 1e-46), so each
 * model's largest weight tells the two apart. */
START_TEST(test_mlp_init_and_errors)
{
    ag_rng rng;
    ag_rng_seed(&rng, 21);
    ag_mlp *r = own_mlp(ag_mlp_new(3, H_SHAPE(64, 32, 10), AG_ACT_RELU, AG_F32, &rng));
    ag_mlp *t = own_mlp(ag_mlp_new(3, H_SHAPE(64, 32, 10), AG_ACT_TANH, AG_F32, &rng));
    ck_assert(r && t);
    double he = sqrt(6.0 / 64), xavier = sqrt(6.0 / 96);
    double mr = 0, mt = 0;
    const ag_tensor *wr = ag_params_get(r->params, "fc1.weight");
    const ag_tensor *wt = ag_params_get(t->params, "fc1.weight");
    for (size_t i = 0; i < 64 * 32; i++) {
        mr = fmax(mr, fabs(ag_get_flat(wr, i)));
        mt = fmax(mt, fabs(ag_get_flat(wt, i)));
    }
    ck_assert_msg(mr <= he * (1 + FLT_EPSILON) && mr > 0.9 * he, "ReLU: max |w| %g, bound %g", mr,
                  he);
    ck_assert_msg(mt <= xavier * (1 + FLT_EPSILON) && mt > 0.9 * xavier,
                  "tanh: max |w| %g, bound %g", mt, xavier);
    const ag_tensor *b = ag_params_get(r->params, "fc2.bias");
    for (size_t i = 0; i < 10; i++)
        ck_assert(ag_get_flat(b, i) == 0.0);

    ck_assert_ptr_null(ag_mlp_new(1, H_SHAPE(3), AG_ACT_RELU, AG_F64, &rng));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    int64_t many[17];
    for (int i = 0; i < 17; i++)
        many[i] = 2;
    ck_assert_ptr_null(ag_mlp_new(17, many, AG_ACT_RELU, AG_F64, &rng));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ag_mlp *deep = own_mlp(ag_mlp_new(16, many, AG_ACT_RELU, AG_F64, &rng));
    ck_assert(deep != NULL);
    ck_assert_int_eq(deep->n_layers, 15);
    ck_assert_ptr_nonnull(ag_params_get(deep->params, "fc15.bias"));
    ck_assert_ptr_null(ag_mlp_new(3, H_SHAPE(4, 0, 2), AG_ACT_RELU, AG_F64, &rng));
    ck_assert_int_ne(ag_last_status(), AG_OK);
    ag_error_clear();
    ag_mlp_free(NULL);
}
END_TEST

/* ag_mlp_forward uses the layer tensors ag_mlp_new kept, with no lookup by
 * name. Those must be the tensors that hold the values: after
 * ag_checkpoint_load or ag_safetensors_load into a model the forward pass
 * gives the saved model's outputs (bit for bit: same values, same ops),
 * and a copy of the struct given a cloned store computes with the clone's
 * values, not the original's. */
START_TEST(test_mlp_forward_after_load)
{
    const int64_t sizes[] = {5, 8, 3};
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_mlp *a = own_mlp(ag_mlp_new(3, sizes, AG_ACT_TANH, AG_F64, &rng));
    ag_mlp *b = own_mlp(ag_mlp_new(3, sizes, AG_ACT_TANH, AG_F64, &rng));
    ag_mlp *c = own_mlp(ag_mlp_new(3, sizes, AG_ACT_TANH, AG_F64, &rng));
    ck_assert(a && b && c);
    /* Non-zero biases, so that a bias read from the wrong tensor shows. */
    ck_assert(ag_set_flat(ag_params_get(a->params, "fc1.bias"), 2, 0.75));
    ck_assert(ag_set_flat(ag_params_get(a->params, "fc2.bias"), 1, -1.5));
    const ag_optim_config oc = {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9};
    ag_optim *oa = own_optim(ag_optim_new(a->params, &oc));
    ag_optim *ob = own_optim(ag_optim_new(b->params, &oc));
    ck_assert(oa && ob);
    ag_tensor *x = h_rand(AG_F64, 2, H_SHAPE(4, 5), -1, 1, &rng);
    enum { NOUT = 4 * 3 };
    double want[NOUT];
    ag_tensor *ya = ag_mlp_forward(a, x);
    ck_assert_tensor(ya);
    memcpy(want, ag_data(ya), sizeof want);
    ag_tensor *yb = ag_mlp_forward(b, x);
    ck_assert_tensor(yb);
    ck_assert(memcmp(ag_data(yb), want, sizeof want) != 0);

    const char *ckpt = tmp_path("mlp_forward.ckpt");
    ck_assert_msg(ag_checkpoint_save(ckpt, a->params, oa), "%s", ag_last_error());
    ck_assert_msg(ag_checkpoint_load(ckpt, b->params, ob), "%s", ag_last_error());
    const char *model = tmp_path("mlp_forward.st");
    ck_assert_msg(ag_safetensors_save(model, a->params, NULL), "%s", ag_last_error());
    ck_assert_msg(ag_safetensors_load(model, c->params), "%s", ag_last_error());
    const ag_mlp *loaded[] = {b, c};
    for (size_t k = 0; k < H_COUNT(loaded); k++) {
        ag_tensor *y = ag_mlp_forward(loaded[k], x);
        ck_assert_tensor(y);
        for (size_t i = 0; i < NOUT; i++)
            ck_assert_msg(ag_get_flat(y, i) == want[i],
                          "model %zu, output %zu: %.17g, expected %.17g", k, i,
                          ag_get_flat(y, i), want[i]);
    }
    ag_tape_reset(NULL);

    /* A copy with a cloned store whose last layer maps everything to its
     * bias: every row of the output is that bias. */
    ag_mlp copy = *a;
    copy.params = own_params(ag_params_clone(a->params));
    ck_assert(copy.params != NULL);
    const double bias[3] = {0.5, -2, 4};
    set_values(ag_params_get(copy.params, "fc2.weight"), 8 * 3, (const double[24]){0});
    set_values(ag_params_get(copy.params, "fc2.bias"), 3, bias);
    ag_tensor *yc = ag_mlp_forward(&copy, x);
    ck_assert_shape(yc, 2, H_SHAPE(4, 3));
    for (size_t i = 0; i < NOUT; i++)
        ck_assert(ag_get_flat(yc, i) == bias[i % 3]);
    ag_tensor *y2 = ag_mlp_forward(a, x);
    ck_assert_tensor(y2);
    ck_assert(memcmp(ag_data(y2), want, sizeof want) == 0);
}
END_TEST

START_TEST(test_logreg_and_softmax_logits)
{
    enum { N = 3, D = 4, K = 3 };
    const double X[N * D] = {1, 0, -1, 2, 0.5, 0.5, 3, -2, -1, 4, 0, 1};
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(N, D), X);

    ag_params *lr = own_params(ag_logreg_new(D, AG_F64));
    ck_assert(lr != NULL);
    ck_assert_uint_eq(ag_params_count(lr), 2);
    const char *nw, *nb;
    ag_tensor *w = ag_params_at(lr, 0, &nw), *b = ag_params_at(lr, 1, &nb);
    ck_assert_str_eq(nw, "w");
    ck_assert_str_eq(nb, "b");
    ck_assert_shape(w, 2, H_SHAPE(D, 1));
    ck_assert_shape(b, 1, H_SHAPE(1));
    ck_assert(ag_requires_grad(w) && ag_requires_grad(b));
    for (size_t i = 0; i < D; i++)
        ck_assert(ag_get_flat(w, i) == 0.0);
    const double Wv[D] = {0.5, -1, 0.25, 2}, Bv = -0.75;
    set_values(w, D, Wv);
    set_values(b, 1, &Bv);
    ag_tensor *z = ag_logreg_logits(lr, x);
    ck_assert_shape(z, 2, H_SHAPE(N, 1));
    for (int n = 0; n < N; n++) {
        double s = Bv;
        for (int i = 0; i < D; i++)
            s += X[n * D + i] * Wv[i];
        ck_assert_f64(ag_get_flat(z, (size_t)n), s);
    }

    ag_params *sm = own_params(ag_softmax_regression_new(D, K, AG_F64));
    ck_assert(sm != NULL);
    ck_assert_uint_eq(ag_params_count(sm), 2);
    ck_assert_shape(ag_params_get(sm, "W"), 2, H_SHAPE(D, K));
    ck_assert_shape(ag_params_get(sm, "b"), 1, H_SHAPE(K));
    const double W[D * K] = {1, 0, -1, 0.5, 0.5, 2, -1, 3, 0, 0.25, -0.5, 1};
    const double B[K] = {0.1, 0.2, -0.3};
    set_values(ag_params_get(sm, "W"), D * K, W);
    set_values(ag_params_get(sm, "b"), K, B);
    ag_tensor *zs = ag_softmax_regression_logits(sm, x);
    ck_assert_shape(zs, 2, H_SHAPE(N, K));
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double s = B[k];
            for (int i = 0; i < D; i++)
                s += X[n * D + i] * W[i * K + k];
            ck_assert_f64(ag_get(zs, H_SHAPE(n, k)), s);
        }
}
END_TEST

/* λ/2 Σ w² over the parameters named like weights ("w", "W", "*weight"),
 * never over biases or other parameters; its gradient is λw on the weights
 * and nothing elsewhere. Σ w² = (1 + 4 + 9 + 0.25) + (4 + 1) + (0.25 +
 * 2.25) = 21.75, so the penalty at λ = 0.3 is 0.15 · 21.75 = 3.2625. */
START_TEST(test_l2_penalty)
{
    ag_params *p = own_params(ag_params_new());
    ag_tensor *fw =
        ag_params_add(p, "fc1.weight", make(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, -2, 3, 0.5)));
    ag_tensor *fb = ag_params_add(p, "fc1.bias", make(AG_F64, 1, H_SHAPE(2), H_VALS(10, -10)));
    ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 2, H_SHAPE(2, 1), H_VALS(2, -1)));
    ag_tensor *W = ag_params_add(p, "W", make(AG_F64, 2, H_SHAPE(1, 2), H_VALS(0.5, 1.5)));
    ag_tensor *b = ag_params_add(p, "b", make(AG_F64, 1, H_SHAPE(1), H_VALS(7)));
    ag_tensor *g = ag_params_add(p, "gain", make(AG_F64, 0, NULL, H_VALS(4)));
    ag_params_add(p, "weight_count", make(AG_I64, 0, NULL, H_VALS(3)));
    ag_tensor *pen = ag_l2_penalty(p, 0.3);
    ck_assert_tensor(pen);
    ck_assert_uint_eq(ag_numel(pen), 1);
    ck_assert_f64(ag_item(pen), 3.2625);
    ck_assert(ag_backward(pen));
    ck_assert_values_f64(ag_grad_of(fw), 4, H_VALS(0.3, -0.6, 0.9, 0.15));
    ck_assert_values_f64(ag_grad_of(w), 2, H_VALS(0.6, -0.3));
    ck_assert_values_f64(ag_grad_of(W), 2, H_VALS(0.15, 0.45));
    for (size_t i = 0; i < 2; i++)
        ck_assert(h_grad_at(fb, i) == 0.0);
    ck_assert(h_grad_at(b, 0) == 0.0 && h_grad_at(g, 0) == 0.0);

    ag_params *none = own_params(ag_params_new());
    ag_params_add(none, "fc.bias", make(AG_F64, 1, H_SHAPE(2), NULL));
    ck_assert_ptr_null(ag_l2_penalty(none, 0.1));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert_ptr_null(ag_l2_penalty(NULL, 0.1));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *models_suite(void)
{
    Suite *s = suite_create("models");
    TCase *tc;

    tc = h_tcase(s, "params", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_params_add_get_order);
    tcase_add_test(tc, test_params_many);
    tcase_add_test(tc, test_params_bad_names);
    tcase_add_test(tc, test_params_zero_grad);
    tcase_add_test(tc, test_params_clone);

    tc = h_tcase(s, "init", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_loop_test(tc, test_init_statistics, 0, (int)H_COUNT(init_cases));
    tcase_add_test(tc, test_init_f32_and_zeros);
    tcase_add_test(tc, test_init_seeds);
    tcase_add_test(tc, test_init_errors);

    tc = h_tcase(s, "layers", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown);
    tcase_add_test(tc, test_activate);
    tcase_add_test(tc, test_linear);
    tcase_add_test(tc, test_mlp_relu_values);
    tcase_add_test(tc, test_mlp_tanh_values);
    tcase_add_test(tc, test_mlp_init_and_errors);
    tcase_add_test(tc, test_mlp_forward_after_load);
    tcase_add_test(tc, test_logreg_and_softmax_logits);
    tcase_add_test(tc, test_l2_penalty);

    return s;
}

H_MAIN(models_suite)

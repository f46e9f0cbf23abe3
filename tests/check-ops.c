/* SPDX-License-Identifier: MIT */
/* check-ops.c — every core op but the matrix products against values
 * computed in the test (with <math.h> or naive loops), in f64 and f32:
 * elementwise binary and unary ops, sigmoid at extreme inputs, reductions
 * and shape ops; and gradient checks: every op in the registry (so new ops
 * are covered automatically, matmul on the portable kernel too) and
 * composite functions written by hand (matmul_t on both backends among
 * them).
 *
 * matmul, matmul_t, affine and transpose2d (values and gradients against a
 * triple loop, on both backends) are in check-matmul.c; A6 is in
 * ops_fixture.[ch]. */
#include "ops_fixture.h"

#include <stdio.h>

/* Exactly representable in f32, so both dtypes see the same inputs (as A6). */
static const double B6[6] = {0.5, -2.0, 1.25, 4.0, -0.75, 1.5};
/* Positive, for log. */
static const double P6[6] = {0.125, 0.5, 1.0, 2.0, 3.5, 10.0};

/* ---- elementwise binary ---- */

typedef ag_tensor *(*binary_fn)(ag_tensor *, ag_tensor *);

static double ref_binary(int op, double a, double b)
{
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
    }
}

/* d(a op b)/da and d(a op b)/db, by hand. */
static void ref_binary_grad(int op, double a, double b, double *da, double *db)
{
    switch (op) {
    case 0: *da = 1, *db = 1; break;
    case 1: *da = 1, *db = -1; break;
    case 2: *da = b, *db = a; break;
    default: *da = 1 / b, *db = -a / (b * b); break;
    }
}

START_TEST(test_binary_values_and_grads)
{
    const binary_fn fns[4] = {ag_add, ag_sub, ag_mul, ag_div};
    const char *names[4] = {"add", "sub", "mul", "div"};
    ag_dtype dt = H_DTYPES[_i];
    for (int op = 0; op < 4; op++) {
        ag_tensor *a = h_param(dt, 2, H_SHAPE(2, 3), A6);
        ag_tensor *b = h_param(dt, 2, H_SHAPE(2, 3), B6);
        ag_tensor *y = fns[op](a, b);
        ck_assert_tensor(y);
        ck_assert_shape(y, 2, H_SHAPE(2, 3));
        ck_assert_int_eq(ag_tensor_dtype(y), dt);
        ck_assert_ptr_eq(ag_node_op(y), ag_op_find(names[op]));
        double want[6], wa[6], wb[6];
        for (int i = 0; i < 6; i++) {
            want[i] = ref_binary(op, A6[i], B6[i]);
            ref_binary_grad(op, A6[i], B6[i], &wa[i], &wb[i]);
        }
        ck_assert_values(y, 6, want, h_rtol(dt), h_atol(dt));
        ck_assert(ag_backward(ag_sum(y)));
        ck_assert_values(ag_grad_of(a), 6, wa, h_rtol(dt), h_atol(dt));
        ck_assert_values(ag_grad_of(b), 6, wb, h_rtol(dt), h_atol(dt));
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_scalar_constant_ops)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 1, H_SHAPE(6), A6);
    ag_tensor *p = ag_add_scalar(x, 2.5);
    ag_tensor *q = ag_mul_scalar(x, -3);
    double wp[6], wq[6];
    for (int i = 0; i < 6; i++)
        wp[i] = A6[i] + 2.5, wq[i] = A6[i] * -3;
    ck_assert_values(p, 6, wp, h_rtol(dt), h_atol(dt));
    ck_assert_values(q, 6, wq, h_rtol(dt), h_atol(dt));
    /* d/dx Σ (x + 2.5) + Σ (-3x) = 1 - 3 */
    ck_assert(ag_backward(ag_add(ag_sum(p), ag_sum(q))));
    const double g[6] = {-2, -2, -2, -2, -2, -2};
    ck_assert_values(ag_grad_of(x), 6, g, h_rtol(dt), h_atol(dt));
}
END_TEST

/* ---- elementwise unary ---- */

typedef ag_tensor *(*unary_fn)(ag_tensor *);

typedef struct unary_case {
    const char *name;
    unary_fn fn;
    const double *x;
    double (*f)(double);
    double (*df)(double);
} unary_case;

static double r_neg(double x) { return -x; }
static double d_neg(double x) { (void)x; return -1; }
static double d_exp(double x) { return exp(x); }
static double d_log(double x) { return 1 / x; }
static double r_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double d_sigmoid(double x) { return exp(-x) / ((1 + exp(-x)) * (1 + exp(-x))); }
static double d_tanh(double x) { return 1 / (cosh(x) * cosh(x)); }
static double r_relu(double x) { return x > 0 ? x : 0; }
static double d_relu(double x) { return x > 0 ? 1 : 0; }
static double r_step(double x) { return x > 0 ? 1 : 0; }
static double d_step(double x) { (void)x; return 0; }

static const unary_case UNARY[] = {
    {"neg", ag_neg, A6, r_neg, d_neg},
    {"exp", ag_exp, A6, exp, d_exp},
    {"log", ag_log, P6, log, d_log},
    {"sigmoid", ag_sigmoid, A6, r_sigmoid, d_sigmoid},
    {"tanh", ag_tanh, A6, tanh, d_tanh},
    {"relu", ag_relu, A6, r_relu, d_relu},
    {"step", ag_step, A6, r_step, d_step},
};

START_TEST(test_unary_values_and_grads)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        const unary_case *c = &UNARY[_i];
        ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 2), c->x);
        ag_tensor *y = c->fn(x);
        ck_assert_tensor(y);
        ck_assert_shape(y, 2, H_SHAPE(3, 2));
        ck_assert_ptr_eq(ag_node_op(y), ag_op_find(c->name));
        double want[6], dwant[6];
        for (int i = 0; i < 6; i++)
            want[i] = c->f(c->x[i]), dwant[i] = c->df(c->x[i]);
        ck_assert_values(y, 6, want, h_rtol(dt), h_atol(dt));
        /* d/dx Σ f(x) = f'(x), elementwise (relu and step take 0 at 0). */
        ck_assert(ag_backward(ag_sum(y)));
        ag_tensor *g = ag_grad_of(x);
        if (c->fn == ag_step && !g)
            continue; /* no gradient flows through step: none or zeros */
        ck_assert_values(g, 6, dwant, h_rtol(dt), h_atol(dt));
    }
}
END_TEST

START_TEST(test_relu_and_step_at_zero)
{
    /* The subgradient 0 at 0, as documented. */
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(-0.0, 0.0, 1e-300));
    ck_assert(ag_backward(ag_sum(ag_relu(x))));
    ck_assert_values_f64(ag_grad_of(x), 3, H_VALS(0, 0, 1));
    ag_tensor *s = ag_step(x);
    ck_assert_values_f64(s, 3, H_VALS(0, 0, 1));
    /* step is a constant under differentiation: d(step(x)·x)/dx = step(x). */
    ag_zero_grad(x);
    ag_tensor *v = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(-1, 2));
    ck_assert(ag_backward(ag_sum(ag_mul(ag_step(v), v))));
    ck_assert_values_f64(ag_grad_of(v), 2, H_VALS(0, 1));
}
END_TEST

START_TEST(test_sigmoid_extremes)
{
    const double xs[] = {-1000, -745, -710, -100, -89, -40, -20, 0, 20, 40, 89, 100, 710, 1000};
    enum { N = sizeof xs / sizeof xs[0] };
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        ag_tensor *x = h_param(dt, 1, H_SHAPE(N), xs);
        ag_tensor *y = ag_sigmoid(x);
        ck_assert_tensor(y);
        ck_assert(ag_backward(ag_sum(y)));
        ag_tensor *g = ag_grad_of(x);
        ck_assert_tensor(g);
        for (int i = 0; i < N; i++) {
            double v = ag_get_flat(y, (size_t)i), gv = ag_get_flat(g, (size_t)i);
            ck_assert_msg(isfinite(v) && v >= 0 && v <= 1, "%s sigmoid(%g) = %g",
                          ag_dtype_str(dt), xs[i], v);
            ck_assert_msg(isfinite(gv) && gv >= 0 && gv <= 0.25, "%s sigmoid'(%g) = %g",
                          ag_dtype_str(dt), xs[i], gv);
            /* σ(x) = e^x (1 − e^x + …): for x ≤ −40, e^x alone to 1e-17;
             * for x ≥ 40, 1 − e^−x rounds to exactly 1 in both dtypes. */
            double want = xs[i] <= -40 ? exp(xs[i]) : xs[i] >= 40 ? 1.0 : 1 / (1 + exp(-xs[i]));
            double dwant = exp(-fabs(xs[i])) / ((1 + exp(-fabs(xs[i]))) * (1 + exp(-fabs(xs[i]))));
            if (dt == AG_F64) {
                /* Subnormal results (e^-745) keep few digits: the absolute
                 * floor covers them. */
                ck_assert_near(v, want, H_RTOL_F64, 1e-300);
                ck_assert_near(gv, dwant, H_RTOL_F64, 1e-15);
            } else {
                /* Below FLT_MIN f32 has no relative precision. */
                ck_assert_near(v, want, H_RTOL_F32, 1e-37);
                ck_assert_near(gv, dwant, H_RTOL_F32, 1e-7);
            }
        }
        ck_assert(ag_get_flat(y, 0) == 0.0);     /* sigmoid(-1000) */
        ck_assert(ag_get_flat(y, N - 1) == 1.0); /* sigmoid(1000) */
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- reductions ---- */

/* x[i][j][k] = sin(1 + i + 2j + 3k) over (2,3,4): no symmetry to hide a
 * wrong axis. */
static void fill_234(double *v)
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                v[(i * 3 + j) * 4 + k] = sin(1.0 + i + 2 * j + 3 * k);
}

START_TEST(test_sum_mean)
{
    ag_dtype dt = H_DTYPES[_i];
    double v[24], total = 0;
    fill_234(v);
    ag_tensor *x = h_param(dt, 3, H_SHAPE(2, 3, 4), v);
    for (int i = 0; i < 24; i++)
        total += ag_get_flat(x, (size_t)i); /* the stored (maybe rounded) values */
    ag_tensor *s = ag_sum(x);
    ag_tensor *m = ag_mean(x);
    ck_assert_shape(s, 0, NULL);
    ck_assert_shape(m, 0, NULL);
    ck_assert_near(ag_item(s), total, h_rtol(dt), h_atol(dt));
    ck_assert_near(ag_item(m), total / 24, h_rtol(dt), h_atol(dt));
    /* d(sum + 2 mean)/dx = 1 + 2/24 everywhere. */
    ck_assert(ag_backward(ag_add(s, ag_mul_scalar(m, 2))));
    double g[24];
    for (int i = 0; i < 24; i++)
        g[i] = 1 + 2.0 / 24;
    ck_assert_values(ag_grad_of(x), 24, g, h_rtol(dt), h_atol(dt));
}
END_TEST

START_TEST(test_sum_mean_axis)
{
    ag_dtype dt = H_DTYPES[_i];
    double v[24];
    fill_234(v);
    ag_tensor *x = h_param(dt, 3, H_SHAPE(2, 3, 4), v);
    const int64_t dims[3] = {2, 3, 4};
    for (int axis = -3; axis < 3; axis++) {
        int a = axis < 0 ? axis + 3 : axis;
        for (int keep = 0; keep < 2; keep++)
            for (int mean = 0; mean < 2; mean++) {
                ag_tensor *y = mean ? ag_mean_axis(x, axis, keep) : ag_sum_axis(x, axis, keep);
                ck_assert_tensor(y);
                int64_t shape[3];
                int nd = 0;
                for (int d = 0; d < 3; d++)
                    if (d != a)
                        shape[nd++] = dims[d];
                    else if (keep)
                        shape[nd++] = 1;
                ck_assert_shape(y, nd, shape);
                /* Naive: the output at (i,j,k) with the axis coordinate
                 * removed sums over that coordinate. */
                int64_t idx[3];
                size_t out = 0;
                for (idx[0] = 0; idx[0] < (a == 0 ? 1 : 2); idx[0]++)
                    for (idx[1] = 0; idx[1] < (a == 1 ? 1 : 3); idx[1]++)
                        for (idx[2] = 0; idx[2] < (a == 2 ? 1 : 4); idx[2]++) {
                            double s = 0;
                            int64_t j[3] = {idx[0], idx[1], idx[2]};
                            for (j[a] = 0; j[a] < dims[a]; j[a]++)
                                s += ag_get(x, j);
                            if (mean)
                                s /= (double)dims[a];
                            ck_assert_near(ag_get_flat(y, out), s, h_rtol(dt), h_atol(dt));
                            out++;
                        }
                /* d Σ(y ⊙ w)/dx[i,j,k] = w at (i,j,k) with the axis removed,
                 * divided by the axis length for a mean. */
                ag_rng rng;
                ag_rng_seed(&rng, (uint64_t)(a * 4 + keep * 2 + mean));
                ag_tensor *w = h_rand(dt, nd, shape, -1, 1, &rng);
                ag_zero_grad(x);
                ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
                ag_tensor *gx = ag_grad_of(x);
                ck_assert_tensor(gx);
                for (int64_t i = 0; i < 24; i++) {
                    /* w's flat index: x's coordinates without the axis. */
                    int64_t c[3] = {i / 12, (i / 4) % 3, i % 4};
                    size_t wi = 0;
                    for (int e = 0; e < 3; e++)
                        if (e != a)
                            wi = wi * (size_t)dims[e] + (size_t)c[e];
                    double want = ag_get_flat(w, wi) / (mean ? (double)dims[a] : 1.0);
                    ck_assert_near(ag_get_flat(gx, (size_t)i), want, h_rtol(dt), h_atol(dt));
                }
                ag_tape_reset(NULL);
            }
    }
}
END_TEST

START_TEST(test_f32_sum_accumulates_in_double)
{
    /* 10^6 copies of 0.1f: a float accumulator drifts by about 1%; the
     * documented double accumulator is exact to f32 rounding. */
    size_t n = h_valgrind() ? 100000 : 1000000;
    ag_tensor *x = h_keep(ag_full(AG_F32, 1, (const int64_t[]){(int64_t)n}, 0.1));
    ck_assert_tensor(x);
    ag_tensor *s = ag_sum(x);
    ck_assert_near(ag_item(s), (double)n * (double)0.1f, H_RTOL_F32, 0);
    ag_tensor *m = ag_mean(x);
    ck_assert_near(ag_item(m), (double)0.1f, H_RTOL_F32, 0);
}
END_TEST

START_TEST(test_reduce_empty)
{
    ag_tensor *e = h_arr(AG_F64, 2, H_SHAPE(0, 3), NULL);
    ck_assert(ag_item(ag_sum(e)) == 0.0);
    /* 0/0, as numpy gives. */
    ck_assert(isnan(ag_item(ag_mean(e))));
    ag_tensor *s0 = ag_sum_axis(e, 0, false);
    ck_assert_shape(s0, 1, H_SHAPE(3));
    ck_assert_values_f64(s0, 3, H_VALS(0, 0, 0));
    ck_assert_ok();
}
END_TEST

/* ---- shape ops ---- */

START_TEST(test_reshape)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 3), A6);
    ag_tensor *y = ag_reshape(x, 3, H_SHAPE(3, 1, 2));
    ck_assert_shape(y, 3, H_SHAPE(3, 1, 2));
    ck_assert_values(y, 6, A6, 0, 0);
    ck_assert(ag_get(y, H_SHAPE(2, 0, 1)) == A6[5]);
    ag_tensor *flat = ag_reshape(x, 1, H_SHAPE(6));
    ck_assert_shape(flat, 1, H_SHAPE(6));
    /* Gradient: the upstream gradient in x's shape, same order. */
    ag_tensor *w = h_arr(dt, 3, H_SHAPE(3, 1, 2), B6);
    ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
    ck_assert_shape(ag_grad_of(x), 2, H_SHAPE(2, 3));
    ck_assert_values(ag_grad_of(x), 6, B6, 0, 0);
    /* To and from a scalar. */
    ag_tensor *one = h_arr(dt, 2, H_SHAPE(1, 1), H_VALS(4));
    ag_tensor *sc = ag_reshape(one, 0, NULL);
    ck_assert_shape(sc, 0, NULL);
    ck_assert(ag_item(sc) == 4.0);
}
END_TEST

START_TEST(test_broadcast_to_and_sum_to)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 1), H_VALS(1, 2, 3));
    ag_tensor *y = ag_broadcast_to(x, 3, H_SHAPE(2, 3, 4));
    ck_assert_shape(y, 3, H_SHAPE(2, 3, 4));
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++)
            for (int64_t k = 0; k < 4; k++)
                ck_assert(ag_get(y, (int64_t[]){i, j, k}) == (double)(j + 1));
    /* Gradient of broadcast_to sums over the copies: Σ y ⊙ w, w[i][j][k] =
     * i + 10 j + 100 k, gives dx[j] = Σ_ik w = 8·10j + 2·(0+100+200+300) + 4·(0+1). */
    double wv[24];
    for (int i = 0; i < 24; i++)
        wv[i] = (i / 12) + 10 * ((i / 4) % 3) + 100 * (i % 4);
    ag_tensor *w = h_arr(dt, 3, H_SHAPE(2, 3, 4), wv);
    ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
    double want[3];
    for (int j = 0; j < 3; j++)
        want[j] = 8.0 * 10 * j + 2.0 * 600 + 4.0 * 1;
    ck_assert_values(ag_grad_of(x), 3, want, h_rtol(dt), h_atol(dt));

    /* sum_to: (2,3,4) down to (3,1), (4,), () and (1,3,1). */
    ag_tensor *wp = h_param(dt, 3, H_SHAPE(2, 3, 4), wv);
    ag_tensor *s31 = ag_sum_to(wp, 2, H_SHAPE(3, 1));
    ck_assert_shape(s31, 2, H_SHAPE(3, 1));
    ck_assert_values(s31, 3, want, h_rtol(dt), h_atol(dt));
    ag_tensor *s4 = ag_sum_to(wp, 1, H_SHAPE(4));
    double w4[4];
    for (int k = 0; k < 4; k++)
        w4[k] = 6.0 * 100 * k + 3.0 * 1 + 2.0 * 30; /* Σ_ij (i + 10j + 100k) */
    ck_assert_values(s4, 4, w4, h_rtol(dt), h_atol(dt));
    double total = 0;
    for (int i = 0; i < 24; i++)
        total += wv[i];
    ck_assert_near(ag_item(ag_sum_to(wp, 0, NULL)), total, h_rtol(dt), h_atol(dt));
    ag_tensor *s131 = ag_sum_to(wp, 3, H_SHAPE(1, 3, 1));
    ck_assert_shape(s131, 3, H_SHAPE(1, 3, 1));
    ck_assert_values(s131, 3, want, h_rtol(dt), h_atol(dt));
    /* sum_to's gradient broadcasts back: Σ (s4 ⊙ [1,2,3,4]) gives k+1 everywhere. */
    ag_tensor *c = h_arr(dt, 1, H_SHAPE(4), H_VALS(1, 2, 3, 4));
    ck_assert(ag_backward(ag_sum(ag_mul(s4, c))));
    double g[24];
    for (int i = 0; i < 24; i++)
        g[i] = i % 4 + 1;
    ck_assert_values(ag_grad_of(wp), 24, g, 0, 0);
}
END_TEST

/* ---- gradient checks: the registry ---- */

typedef struct op_list {
    const ag_op *ops[256];
    size_t n;
} op_list;

static void collect(const ag_op *op, void *ctx)
{
    op_list *l = ctx;
    if (l->n < H_COUNT(l->ops))
        l->ops[l->n++] = op;
}

START_TEST(test_registry_has_core_ops)
{
    static const char *core[] = {"add", "sub", "mul", "div", "neg", "exp", "log",
                                 "sigmoid", "tanh", "relu", "step", "matmul", "sum", "mean",
                                 "reshape", "broadcast_to", "sum_to", "transpose2d",
                                 "add_scalar", "mul_scalar"};
    op_list l = {.n = 0};
    ag_op_foreach(collect, &l);
    ck_assert_uint_eq(l.n, ag_op_count());
    for (size_t i = 0; i < H_COUNT(core); i++) {
        const ag_op *op = ag_op_find(core[i]);
        ck_assert_msg(op != NULL, "op '%s' is not registered", core[i]);
        ck_assert_str_eq(ag_op_info(op)->name, core[i]);
        bool listed = false;
        for (size_t j = 0; j < l.n; j++)
            listed |= l.ops[j] == op;
        ck_assert_msg(listed, "ag_op_foreach skips '%s'", core[i]);
    }
}
END_TEST

START_TEST(test_registry_gradcheck)
{
    /* Every op in the registry, several random draws each, in f64 with
     * rtol 1e-6. An op added to the library is checked here without
     * touching this file. */
    enum { SEEDS = 4 };
    op_list l = {.n = 0};
    ag_op_foreach(collect, &l);
    ck_assert_uint_gt(l.n, 0);
    ag_gradcheck_opts o = h_gradcheck_opts();
    ck_assert(o.rtol <= 1e-6);
    static char failures[16384];
    size_t used = 0;
    int n_failed = 0;
    failures[0] = '\0';
    for (size_t i = 0; i < l.n; i++) {
        for (uint64_t seed = 1; seed <= SEEDS; seed++) {
            ag_gradcheck_report rep;
            memset(&rep, 0, sizeof rep);
            ag_error_clear();
            if (ag_gradcheck_op(l.ops[i], seed * 7919, &o, &rep))
                continue;
            n_failed++;
            char r[2048];
            int w = snprintf(failures + used, sizeof failures - used,
                             "op '%s' seed %llu: %s %s\n%s", ag_op_info(l.ops[i])->name,
                             (unsigned long long)(seed * 7919), ag_status_str(ag_last_status()),
                             ag_last_error(), h_report_str(&rep, r, sizeof r));
            if (w > 0 && (size_t)w < sizeof failures - used)
                used += (size_t)w;
            break;
        }
        ag_tape_reset(NULL);
    }
    ag_error_clear();
    ck_assert_msg(n_failed == 0, "%d of %zu ops fail their gradient check:\n%s", n_failed, l.n,
                  failures);
}
END_TEST

START_TEST(test_registry_gradcheck_builtin_matmul)
{
    /* The sweep above ran matmul on the default backend; the portable
     * kernel's products go through the same check here. */
    ck_assert(ag_matmul_backend_set(AG_MATMUL_BUILTIN));
    const ag_op *op = ag_op_find("matmul");
    ck_assert_ptr_nonnull(op);
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (uint64_t seed = 1; seed <= 6; seed++) {
        ag_gradcheck_report rep;
        memset(&rep, 0, sizeof rep);
        char r[2048];
        ck_assert_msg(ag_gradcheck_op(op, seed, &o, &rep), "seed %llu:\n%s",
                      (unsigned long long)seed, h_report_str(&rep, r, sizeof r));
    }
}
END_TEST

/* ---- gradient checks: composite functions ---- */

typedef struct mm_flags {
    bool ta, tb;
} mm_flags;

static ag_tensor *f_matmul_t(ag_tensor *const *in, void *ctx)
{
    const mm_flags *f = ctx;
    return ag_matmul_t(in[0], f->ta, in[1], f->tb);
}

START_TEST(test_gradcheck_matmul_t_both_backends)
{
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    for (int backend = 0; backend < 2; backend++) {
        if (backend == 1 && !ag_have_blas())
            break;
        ck_assert(ag_matmul_backend_set(backend ? AG_MATMUL_BLAS : AG_MATMUL_BUILTIN));
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                mm_flags f = {ta, tb};
                ag_tensor *in[2] = {
                    h_rand(AG_F64, 2, ta ? H_SHAPE(4, 3) : H_SHAPE(3, 4), -1, 1, &rng),
                    h_rand(AG_F64, 2, tb ? H_SHAPE(2, 4) : H_SHAPE(4, 2), -1, 1, &rng)};
                ck_assert_gradcheck(f_matmul_t, &f, 2, in);
            }
    }
}
END_TEST

/* Logistic regression: mean NLL of σ(Xw + b), X and y in ctx. */
typedef struct data {
    ag_tensor *X, *y;
} data;

static ag_tensor *f_logreg(ag_tensor *const *in, void *ctx)
{
    const data *d = ctx;
    ag_tensor *p = ag_sigmoid(ag_add(ag_matmul(d->X, in[0]), in[1]));
    ag_tensor *ll = ag_add(ag_mul(d->y, ag_log(p)),
                           ag_mul(ag_add_scalar(ag_neg(d->y), 1), ag_log(ag_add_scalar(ag_neg(p), 1))));
    return ag_neg(ag_mean(ll));
}

/* A two-layer tanh network with a squared error: mean((tanh(X W1 + b1) W2 + b2 − Y)²). */
static ag_tensor *f_mlp(ag_tensor *const *in, void *ctx)
{
    const data *d = ctx;
    ag_tensor *h = ag_tanh(ag_add(ag_matmul(d->X, in[0]), in[1]));
    ag_tensor *out = ag_add(ag_matmul(h, in[2]), in[3]);
    ag_tensor *e = ag_sub(out, d->y);
    return ag_mean(ag_mul(e, e));
}

/* Softmax cross-entropy, written out: −mean Σ_j y log(e^z / Σ_k e^z). */
static ag_tensor *f_softmax_ce(ag_tensor *const *in, void *ctx)
{
    const data *d = ctx;
    ag_tensor *e = ag_exp(in[0]);
    ag_tensor *p = ag_div(e, ag_sum_axis(e, -1, true));
    return ag_neg(ag_mean(ag_sum_axis(ag_mul(d->y, ag_log(p)), 1, false)));
}

/* Elementwise functions, broadcasting and shape ops together:
 * σ(a) tanh(b) + e^(−a²) / (1 + Σ relu(c)) − mean over rows of
 * reshape(transpose(broadcast c (3,1) to (3,4)), (2,6)). */
static ag_tensor *f_mix(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *a = in[0], *b = in[1], *c = in[2];
    ag_tensor *t1 = ag_mul(ag_sigmoid(a), ag_tanh(b));
    ag_tensor *t2 = ag_div(ag_exp(ag_neg(ag_mul(a, a))), ag_add_scalar(ag_sum(ag_relu(c)), 1));
    ag_tensor *cb = ag_transpose2d(ag_broadcast_to(c, 2, H_SHAPE(3, 4)));
    ag_tensor *t3 = ag_mean_axis(ag_reshape(cb, 2, H_SHAPE(2, 6)), 0, true);
    return ag_sub(ag_add(t1, t2), t3);
}

START_TEST(test_gradcheck_composites)
{
    ag_rng rng;
    ag_rng_seed(&rng, 21);
    data d;
    d.X = h_rand(AG_F64, 2, H_SHAPE(5, 3), -1, 1, &rng);
    d.y = h_arr(AG_F64, 2, H_SHAPE(5, 1), H_VALS(1, 0, 0, 1, 1));
    ag_tensor *lr[2] = {h_rand(AG_F64, 2, H_SHAPE(3, 1), -1, 1, &rng),
                        h_rand(AG_F64, 0, NULL, -1, 1, &rng)};
    ck_assert_gradcheck(f_logreg, &d, 2, lr);

    data d2;
    d2.X = d.X;
    d2.y = h_rand(AG_F64, 2, H_SHAPE(5, 2), -1, 1, &rng);
    ag_tensor *mlp[4] = {h_rand(AG_F64, 2, H_SHAPE(3, 4), -1, 1, &rng),
                         h_rand(AG_F64, 1, H_SHAPE(4), -1, 1, &rng),
                         h_rand(AG_F64, 2, H_SHAPE(4, 2), -1, 1, &rng),
                         h_rand(AG_F64, 2, H_SHAPE(1, 2), -1, 1, &rng)};
    ck_assert_gradcheck(f_mlp, &d2, 4, mlp);

    data d3;
    d3.X = NULL;
    d3.y = h_arr(AG_F64, 2, H_SHAPE(3, 4), H_VALS(0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1));
    ag_tensor *z[1] = {h_rand(AG_F64, 2, H_SHAPE(3, 4), -2, 2, &rng)};
    ck_assert_gradcheck(f_softmax_ce, &d3, 1, z);

    /* relu's kink at 0 is avoided: c is drawn in [0.2, 1). */
    ag_tensor *mix[3] = {h_rand(AG_F64, 2, H_SHAPE(2, 6), -1, 1, &rng),
                         h_rand(AG_F64, 1, H_SHAPE(6), -1, 1, &rng),
                         h_rand(AG_F64, 2, H_SHAPE(3, 1), 0.2, 1, &rng)};
    ck_assert_gradcheck(f_mix, NULL, 3, mix);
}
END_TEST

/* The checker's own report on a correct function: every input checked,
 * errors tiny; inputs not marked are skipped when some are. */
static ag_tensor *f_xy(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(ag_mul(ag_exp(in[0]), in[1]));
}

START_TEST(test_gradcheck_report_on_success)
{
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(0.1, -0.2, 0.3));
    ag_tensor *y = h_arr(AG_F32, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *in[2] = {x, y};
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    /* Nothing marked: every float input is checked (f32 ones in f64). */
    ck_assert(ag_gradcheck(f_xy, NULL, 2, in, &o, &rep));
    ck_assert(rep.pass);
    ck_assert_int_eq(rep.n_inputs, 2);
    ck_assert(rep.inputs[0].checked && rep.inputs[1].checked);
    ck_assert_double_le(rep.inputs[0].max_rel_err, 1e-6);
    ck_assert_double_le(rep.inputs[1].max_rel_err, 1e-6);
    /* Only the marked one is checked when one is marked. */
    ck_assert(ag_set_requires_grad(x, true));
    memset(&rep, 0, sizeof rep);
    ck_assert(ag_gradcheck(f_xy, NULL, 2, in, &o, &rep));
    ck_assert(rep.inputs[0].checked);
    ck_assert(!rep.inputs[1].checked);
    /* The caller's tensors and tape are left as they were. */
    ck_assert_ptr_null(ag_grad_of(x));
    ck_assert(ag_get_flat(x, 1) == -0.2);
    ck_assert_uint_eq(ag_tape_size(NULL), 0);
    ck_assert_ok();
}
END_TEST

Suite *ops_suite(void);
Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = h_tcase(s, "binary", H_TIMEOUT);
    tcase_add_loop_test(tc, test_binary_values_and_grads, 0, 2);
    tcase_add_loop_test(tc, test_scalar_constant_ops, 0, 2);
    tc = h_tcase(s, "unary", H_TIMEOUT);
    tcase_add_loop_test(tc, test_unary_values_and_grads, 0, (int)H_COUNT(UNARY));
    tcase_add_test(tc, test_relu_and_step_at_zero);
    tcase_add_test(tc, test_sigmoid_extremes);
    tc = h_tcase(s, "reductions", H_TIMEOUT);
    tcase_add_loop_test(tc, test_sum_mean, 0, 2);
    tcase_add_loop_test(tc, test_sum_mean_axis, 0, 2);
    tcase_add_test(tc, test_f32_sum_accumulates_in_double);
    tcase_add_test(tc, test_reduce_empty);
    tc = h_tcase(s, "shape", H_TIMEOUT);
    tcase_add_loop_test(tc, test_reshape, 0, 2);
    tcase_add_loop_test(tc, test_broadcast_to_and_sum_to, 0, 2);
    tc = h_tcase(s, "gradcheck registry", 300);
    tcase_add_test(tc, test_registry_has_core_ops);
    tcase_add_test(tc, test_registry_gradcheck);
    tcase_add_test(tc, test_registry_gradcheck_builtin_matmul);
    tc = h_tcase(s, "gradcheck composites", 120);
    tcase_add_test(tc, test_gradcheck_matmul_t_both_backends);
    tcase_add_test(tc, test_gradcheck_composites);
    tcase_add_test(tc, test_gradcheck_report_on_success);
    return s;
}

H_MAIN(ops_suite)

/* SPDX-License-Identifier: MIT */
/* check-broadcast.c — numpy broadcasting in the binary ops: values and
 * gradients for the common shape pairs, scalars, size-0 dimensions, and the
 * error for shapes that do not broadcast. */
#include "harness.h"

#include <stdio.h>

typedef ag_tensor *(*binary_fn)(ag_tensor *, ag_tensor *);

static const binary_fn FNS[4] = {ag_add, ag_sub, ag_mul, ag_div};
static const char *const NAMES[4] = {"add", "sub", "mul", "div"};

static double ref(int op, double a, double b)
{
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
    }
}

static double dref_a(int op, double a, double b)
{
    (void)a;
    switch (op) {
    case 0:
    case 1: return 1;
    case 2: return b;
    default: return 1 / b;
    }
}

static double dref_b(int op, double a, double b)
{
    switch (op) {
    case 0: return 1;
    case 1: return -1;
    case 2: return a;
    default: return -a / (b * b);
    }
}

/* Whether the message is "<op>: shapes <a> and <b> do not broadcast...",
 * where a and b are given without their closing parenthesis and a 1-D shape
 * may be written "(4)" or, numpy-style, "(4,)". */
static bool shapes_message(const char *msg, const char *op, const char *a, const char *b)
{
    static const char *const closers[2] = {")", ",)"};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            char want[200];
            snprintf(want, sizeof want, "%s: shapes %s%s and %s%s do not broadcast", op, a,
                     closers[i], b, closers[j]);
            if (strstr(msg, want))
                return true;
        }
    return false;
}

#define ck_assert_shapes_error(op, a, b)                                                         \
    do {                                                                                        \
        ck_assert_status(AG_ERR_SHAPE);                                                         \
        ck_assert_msg(shapes_message(ag_last_error(), (op), (a), (b)),                          \
                      "message \"%s\" does not say \"%s: shapes %s) and %s) do not "            \
                      "broadcast\"",                                                            \
                      ag_last_error(), (op), (a), (b));                                         \
    } while (0)

START_TEST(test_column_plus_row)
{
    /* (3,1) op (1,4) -> (3,4): y[i][j] = a[i] op b[j]; for L = Σ y,
     * da[i] = Σ_j ∂/∂a, db[j] = Σ_i ∂/∂b. */
    const double av[3] = {1.5, -2, 0.25};
    const double bv[4] = {0.5, 2, -4, 1.25};
    for (int d = 0; d < 2; d++)
        for (int op = 0; op < 4; op++) {
            ag_dtype dt = H_DTYPES[d];
            ag_tensor *a = h_param(dt, 2, H_SHAPE(3, 1), av);
            ag_tensor *b = h_param(dt, 2, H_SHAPE(1, 4), bv);
            ag_tensor *y = FNS[op](a, b);
            ck_assert_shape(y, 2, H_SHAPE(3, 4));
            double want[12], da[3] = {0}, db[4] = {0};
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 4; j++) {
                    want[i * 4 + j] = ref(op, av[i], bv[j]);
                    da[i] += dref_a(op, av[i], bv[j]);
                    db[j] += dref_b(op, av[i], bv[j]);
                }
            ck_assert_values(y, 12, want, h_rtol(dt), h_atol(dt));
            ck_assert(ag_backward(ag_sum(y)));
            ck_assert_shape(ag_grad_of(a), 2, H_SHAPE(3, 1));
            ck_assert_shape(ag_grad_of(b), 2, H_SHAPE(1, 4));
            ck_assert_values(ag_grad_of(a), 3, da, h_rtol(dt), h_atol(dt));
            ck_assert_values(ag_grad_of(b), 4, db, h_rtol(dt), h_atol(dt));
            ag_tape_reset(NULL);
        }
}
END_TEST

START_TEST(test_3d_times_vector)
{
    /* (2,3,4) * (4,): y[i][j][k] = a[i][j][k] b[k]; for L = Σ y ⊙ w,
     * da = w b, db[k] = Σ_ij w a. And the other way round, (4,) * (2,3,4). */
    double av[24], wv[24];
    for (int i = 0; i < 24; i++)
        av[i] = 0.1 * i - 1, wv[i] = (i % 5) - 2;
    const double bv[4] = {2, -1, 0.5, 3};
    for (int d = 0; d < 2; d++)
        for (int swap = 0; swap < 2; swap++) {
            ag_dtype dt = H_DTYPES[d];
            ag_tensor *a = h_param(dt, 3, H_SHAPE(2, 3, 4), av);
            ag_tensor *b = h_param(dt, 1, H_SHAPE(4), bv);
            ag_tensor *w = h_arr(dt, 3, H_SHAPE(2, 3, 4), wv);
            ag_tensor *y = swap ? ag_mul(b, a) : ag_mul(a, b);
            ck_assert_shape(y, 3, H_SHAPE(2, 3, 4));
            double want[24], da[24], db[4] = {0};
            for (int i = 0; i < 24; i++) {
                /* the stored a, which f32 rounds */
                double ai = ag_get_flat(a, (size_t)i);
                want[i] = ai * bv[i % 4];
                da[i] = wv[i] * bv[i % 4];
                db[i % 4] += wv[i] * ai;
            }
            ck_assert_values(y, 24, want, h_rtol(dt), h_atol(dt));
            ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
            ck_assert_values(ag_grad_of(a), 24, da, h_rtol(dt), h_atol(dt));
            ck_assert_values(ag_grad_of(b), 4, db, h_rtol(dt), h_atol(dt));
            ag_tape_reset(NULL);
        }
}
END_TEST

START_TEST(test_middle_axis_and_rank_extension)
{
    /* (2,1,3) - (4,1) -> (2,4,3): y[i][j][k] = a[i][0][k] − b[j][0]. */
    double av[6] = {1, 2, 3, 4, 5, 6}, bv[4] = {10, 20, 30, 40};
    ag_tensor *a = h_param(AG_F64, 3, H_SHAPE(2, 1, 3), av);
    ag_tensor *b = h_param(AG_F64, 2, H_SHAPE(4, 1), bv);
    ag_tensor *y = ag_sub(a, b);
    ck_assert_shape(y, 3, H_SHAPE(2, 4, 3));
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 4; j++)
            for (int64_t k = 0; k < 3; k++)
                ck_assert(ag_get(y, (int64_t[]){i, j, k}) == av[i * 3 + k] - bv[j]);
    ck_assert(ag_backward(ag_sum(y)));
    /* Each a element is used 4 times, each b element 6 times with sign −. */
    ck_assert_values_f64(ag_grad_of(a), 6, H_VALS(4, 4, 4, 4, 4, 4));
    ck_assert_values_f64(ag_grad_of(b), 4, H_VALS(-6, -6, -6, -6));
}
END_TEST

START_TEST(test_scalars)
{
    /* () op (2,3), (2,3) op (), () op () and () op (1,). */
    const double xv[6] = {1, -2, 3, -4, 5, 0.5};
    for (int op = 0; op < 4; op++) {
        ag_tensor *s = h_pscalar(AG_F64, 2.5);
        ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(2, 3), xv);
        ag_tensor *y1 = FNS[op](s, x);
        ag_tensor *y2 = FNS[op](x, s);
        ck_assert_shape(y1, 2, H_SHAPE(2, 3));
        ck_assert_shape(y2, 2, H_SHAPE(2, 3));
        double w1[6], w2[6], ds = 0, dx[6];
        for (int i = 0; i < 6; i++) {
            w1[i] = ref(op, 2.5, xv[i]);
            w2[i] = ref(op, xv[i], 2.5);
            ds += dref_a(op, 2.5, xv[i]) + dref_b(op, xv[i], 2.5);
            dx[i] = dref_b(op, 2.5, xv[i]) + dref_a(op, xv[i], 2.5);
        }
        ck_assert_values_f64(y1, 6, w1);
        ck_assert_values_f64(y2, 6, w2);
        ck_assert(ag_backward(ag_add(ag_sum(y1), ag_sum(y2))));
        ck_assert_shape(ag_grad_of(s), 0, NULL);
        ck_assert_f64(ag_item(ag_grad_of(s)), ds);
        ck_assert_values_f64(ag_grad_of(x), 6, dx);

        ag_tensor *t = h_pscalar(AG_F64, -0.5);
        ag_tensor *ss = FNS[op](s, t);
        ck_assert_shape(ss, 0, NULL);
        ck_assert_f64(ag_item(ss), ref(op, 2.5, -0.5));
        ag_tensor *one = h_arr(AG_F64, 1, H_SHAPE(1), H_VALS(4));
        ag_tensor *s1 = FNS[op](s, one);
        ck_assert_shape(s1, 1, H_SHAPE(1));
        ck_assert_f64(ag_item(s1), ref(op, 2.5, 4));
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_size_zero)
{
    /* (0,3) + (1,3) -> (0,3); (2,0) * (2,1) -> (2,0); (0,) - () -> (0,):
     * empty results, and backward through them gives zero gradients of the
     * inputs' shapes. */
    ag_tensor *a = h_param(AG_F64, 2, H_SHAPE(0, 3), NULL);
    ag_tensor *b = h_param(AG_F64, 2, H_SHAPE(1, 3), H_VALS(1, 2, 3));
    ag_tensor *y = ag_add(a, b);
    ck_assert_shape(y, 2, H_SHAPE(0, 3));
    ck_assert_uint_eq(ag_numel(y), 0);
    ag_tensor *l = ag_sum(y);
    ck_assert(ag_item(l) == 0.0);
    ck_assert(ag_backward(l));
    if (ag_grad_of(b))
        ck_assert_values_f64(ag_grad_of(b), 3, H_VALS(0, 0, 0));
    ag_tape_reset(NULL);

    ag_tensor *c = h_arr(AG_F64, 2, H_SHAPE(2, 0), NULL);
    ag_tensor *d = h_arr(AG_F64, 2, H_SHAPE(2, 1), H_VALS(5, 6));
    ck_assert_shape(ag_mul(c, d), 2, H_SHAPE(2, 0));
    ck_assert_shape(ag_mul(d, c), 2, H_SHAPE(2, 0));
    ag_tensor *e = h_arr(AG_F64, 1, H_SHAPE(0), NULL);
    ag_tensor *s = h_scalar(AG_F64, 1);
    ck_assert_shape(ag_sub(e, s), 1, H_SHAPE(0));
    ck_assert_shape(ag_div(s, e), 1, H_SHAPE(0));
    ck_assert_shape(ag_broadcast_to(s, 2, H_SHAPE(0, 4)), 2, H_SHAPE(0, 4));
    ck_assert_ok();

    /* 0 against 3 does not broadcast: neither is 1. */
    ag_tensor *three = h_arr(AG_F64, 1, H_SHAPE(3), NULL);
    ck_assert_ptr_null(ag_add(e, three));
    ck_assert_shapes_error("add", "(0", "(3");
}
END_TEST

START_TEST(test_incompatible_shapes)
{
    ag_tensor *a = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ag_tensor *b = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    for (int op = 0; op < 4; op++) {
        ag_error_clear();
        ck_assert_ptr_null(FNS[op](a, b));
        ck_assert_shapes_error(NAMES[op], "(2,3", "(4");
    }
    /* The order of the shapes follows the operands. */
    ag_error_clear();
    ag_tensor *c = h_arr(AG_F64, 3, H_SHAPE(5, 1, 2), NULL);
    ck_assert_ptr_null(ag_mul(c, a));
    ck_assert_shapes_error("mul", "(5,1,2", "(2,3");
    /* Inside an expression, the failing op is the one reported. */
    ag_error_clear();
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), NULL);
    ck_assert_ptr_null(ag_sum(ag_exp(ag_add(x, b))));
    ck_assert_shapes_error("add", "(3", "(4");
}
END_TEST

START_TEST(test_broadcast_to_sum_to_errors)
{
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(3), NULL);
    ck_assert_ptr_null(ag_broadcast_to(x, 1, H_SHAPE(4)));
    ck_assert_error(AG_ERR_SHAPE, "broadcast_to");
    ag_error_clear();
    /* Broadcasting never drops dimensions. */
    ag_tensor *m = h_arr(AG_F64, 2, H_SHAPE(1, 3), NULL);
    ck_assert_ptr_null(ag_broadcast_to(m, 1, H_SHAPE(3)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ag_tensor *y = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_sum_to(y, 1, H_SHAPE(4)));
    ck_assert_error(AG_ERR_SHAPE, "sum_to");
    ag_error_clear();
    ck_assert_ptr_null(ag_sum_to(y, 3, H_SHAPE(1, 2, 3)));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_broadcast_to(x, 2, H_SHAPE(2, -3)));
    ck_assert_status(AG_ERR_SHAPE);
}
END_TEST

/* Gradient checks over broadcast shape pairs, for every binary op. */
typedef struct bin_ctx {
    int op;
} bin_ctx;

static ag_tensor *f_bin(ag_tensor *const *in, void *ctx)
{
    const bin_ctx *c = ctx;
    return FNS[c->op](in[0], in[1]);
}

START_TEST(test_broadcast_gradcheck)
{
    static const int nds[][2] = {{2, 2}, {3, 1}, {1, 3}, {0, 2}, {3, 3}, {2, 0}};
    static const int64_t shapes[][2][3] = {
        {{3, 1}, {1, 4}}, {{2, 3, 4}, {4}}, {{4}, {2, 3, 4}},
        {{0}, {2, 3}},    {{2, 1, 3}, {1, 4, 1}}, {{3, 2}, {0}},
    };
    ag_rng rng;
    ag_rng_seed(&rng, 17);
    for (int op = 0; op < 4; op++)
        for (size_t k = 0; k < H_COUNT(nds); k++) {
            bin_ctx c = {op};
            /* Divisors away from 0. */
            ag_tensor *in[2] = {h_rand(AG_F64, nds[k][0], shapes[k][0], -2, 2, &rng),
                                h_rand(AG_F64, nds[k][1], shapes[k][1], 0.5, 2, &rng)};
            ck_assert_gradcheck(f_bin, &c, 2, in);
        }
}
END_TEST

Suite *broadcast_suite(void);
Suite *broadcast_suite(void)
{
    Suite *s = suite_create("broadcast");
    TCase *tc = h_tcase(s, "shapes", H_TIMEOUT);
    tcase_add_test(tc, test_column_plus_row);
    tcase_add_test(tc, test_3d_times_vector);
    tcase_add_test(tc, test_middle_axis_and_rank_extension);
    tcase_add_test(tc, test_scalars);
    tcase_add_test(tc, test_size_zero);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_incompatible_shapes);
    tcase_add_test(tc, test_broadcast_to_sum_to_errors);
    tc = h_tcase(s, "gradients", H_TIMEOUT);
    tcase_add_test(tc, test_broadcast_gradcheck);
    return s;
}

H_MAIN(broadcast_suite)

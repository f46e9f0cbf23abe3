/* SPDX-License-Identifier: MIT */
/* check-elementwise.c — the elementwise family of ops/elementwise.c: pow
 * (tensor and scalar exponent), sqrt, abs, sign, square, reciprocal,
 * softplus, log_sigmoid, clamp, maximum, minimum, where and the six
 * comparisons.
 *
 * Values and gradients are computed here with <math.h> and C's own
 * comparison operators, element by element, with broadcasting done by a
 * naive index loop written in this file; the subgradients at kinks are the
 * ones autograd.h documents (abs'(0) = 0, clamp' = 0 at its bounds, ties of
 * maximum/minimum go to a); masks carry no gradient. softplus and
 * log_sigmoid are checked at ±100 and ±1000 in both dtypes, where the naive
 * formulas overflow. Broadcast gradients are also certified by finite
 * differences on random shapes with size-1 dimensions. */
#include "harness.h"

#include <float.h>
#include <stdio.h>

/* Broadcast gradients are sums of up to 9 terms of magnitude up to ~8
 * (pow's a^b ln a and b a^(b-1) on the test's domains) that may cancel:
 * the rounding of such a sum is at most 9 · 8 · u, i.e. 1.6e-14 in f64
 * and 8.6e-6 in f32, so the absolute floors are 1e-13 and 1e-5. */
static double grad_atol_of(ag_dtype dt)
{
    return dt == AG_F64 ? 1e-13 : 1e-5;
}

/* The gradient of x after a backward sweep, or zeros when none arrived
 * (no path carries a gradient): either way, what the test compares. */

/* ---- broadcasting, by hand ---- */

/* The flat offset into a tensor of shape (n, s) of the element that the
 * output multi-index idx (nd entries) reads under numpy broadcasting. */
static size_t bcast_offset(int nd, const int64_t *idx, int n, const int64_t *s)
{
    size_t off = 0;
    for (int d = 0; d < n; d++) {
        int64_t i = idx[nd - n + d];
        off = off * (size_t)s[d] + (size_t)(s[d] == 1 ? 0 : i);
    }
    return off;
}

/* numpy's broadcast of two shapes (asserted to exist). */
static int bcast_shape(int na, const int64_t *sa, int nb, const int64_t *sb, int64_t *out)
{
    int nd = na > nb ? na : nb;
    for (int i = 0; i < nd; i++) {
        int ia = na - nd + i, ib = nb - nd + i;
        int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        ck_assert(da == db || da == 1 || db == 1);
        out[i] = da == 1 ? db : da;
    }
    return nd;
}

static void next_index(int nd, const int64_t *shape, int64_t *idx)
{
    for (int d = nd - 1; d >= 0; d--) {
        if (++idx[d] < shape[d])
            return;
        idx[d] = 0;
    }
}

static size_t numel_of(int nd, const int64_t *s)
{
    size_t n = 1;
    for (int d = 0; d < nd; d++)
        n *= (size_t)s[d];
    return n;
}

/* Random shapes that broadcast: a of rank 0..3 with dimensions 1..3; b its
 * trailing dimensions (some dropped from the front), each kept or replaced
 * by 1, and a's dimensions likewise set to 1 where b keeps them — so size-1
 * dimensions broadcast in both directions. Swapped at random. */
static void random_bcast_pair(ag_rng *rng, int *na, int64_t *sa, int *nb, int64_t *sb)
{
    int n = (int)(ag_rng_next(rng) % 4);
    int64_t full[3];
    for (int d = 0; d < n; d++)
        full[d] = 1 + (int64_t)(ag_rng_next(rng) % 3);
    int drop = n ? (int)(ag_rng_next(rng) % (unsigned)(n + 1)) : 0;
    int m = n - drop;
    for (int d = 0; d < n; d++)
        sa[d] = full[d];
    for (int d = 0; d < m; d++) {
        sb[d] = full[drop + d];
        unsigned r = (unsigned)(ag_rng_next(rng) % 3);
        if (r == 1)
            sb[d] = 1;
        else if (r == 2)
            sa[drop + d] = 1;
    }
    *na = n;
    *nb = m;
    if (ag_rng_next(rng) & 1) {
        int64_t t[3];
        memcpy(t, sa, sizeof t);
        memcpy(sa, sb, sizeof t);
        memcpy(sb, t, sizeof t);
        int tn = *na;
        *na = *nb;
        *nb = tn;
    }
}

/* ---- the binary ops against references ---- */

typedef ag_tensor *(*binary_fn)(ag_tensor *, ag_tensor *);

typedef struct binary_case {
    const char *name;
    binary_fn fn;
    double (*f)(double, double);
    double (*da)(double, double); /* NULL: a mask, no gradient */
    double (*db)(double, double);
    double lo_a, hi_a, lo_b, hi_b; /* random inputs */
} binary_case;

static double r_pow(double a, double b) { return pow(a, b); }
static double da_pow(double a, double b) { return b * pow(a, b - 1); }
static double db_pow(double a, double b) { return pow(a, b) * log(a); }
static double r_max(double a, double b) { return a >= b ? a : b; }
static double da_max(double a, double b) { return a >= b ? 1 : 0; } /* tie: to a */
static double db_max(double a, double b) { return a >= b ? 0 : 1; }
static double r_min(double a, double b) { return a <= b ? a : b; }
static double da_min(double a, double b) { return a <= b ? 1 : 0; } /* tie: to a */
static double db_min(double a, double b) { return a <= b ? 0 : 1; }
static double r_gt(double a, double b) { return a > b; }
static double r_ge(double a, double b) { return a >= b; }
static double r_lt(double a, double b) { return a < b; }
static double r_le(double a, double b) { return a <= b; }
static double r_eq(double a, double b) { return a == b; }
static double r_ne(double a, double b) { return a != b; }

/* Comparison inputs are small integers so that ties (and equality) occur. */
static const binary_case BINARY[] = {
    {"pow", ag_pow, r_pow, da_pow, db_pow, 0.5, 2, -2, 2},
    {"maximum", ag_maximum, r_max, da_max, db_max, -2, 2, -2, 2},
    {"minimum", ag_minimum, r_min, da_min, db_min, -2, 2, -2, 2},
    {"gt", ag_gt, r_gt, NULL, NULL, -2, 2, -2, 2},
    {"ge", ag_ge, r_ge, NULL, NULL, -2, 2, -2, 2},
    {"lt", ag_lt, r_lt, NULL, NULL, -2, 2, -2, 2},
    {"le", ag_le, r_le, NULL, NULL, -2, 2, -2, 2},
    {"eq", ag_eq, r_eq, NULL, NULL, -2, 2, -2, 2},
    {"ne", ag_ne, r_ne, NULL, NULL, -2, 2, -2, 2},
};
enum { N_BINARY = sizeof BINARY / sizeof BINARY[0] };

/* f(a, b) with random broadcasting shapes against the naive loop, and
 * d Σ (f ⊙ w)/da, /db (w random) accumulated by the loop over the output:
 * every output element adds w·∂f into the input element it read. */
START_TEST(test_binary_broadcast_values_and_grads)
{
    const binary_case *c = &BINARY[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 100 + (uint64_t)_i);
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        for (int trial = 0; trial < 8; trial++) {
            int na, nb;
            int64_t sa[3] = {0}, sb[3] = {0}, so[3] = {0};
            random_bcast_pair(&rng, &na, sa, &nb, sb);
            int no = bcast_shape(na, sa, nb, sb, so);
            bool mask = c->da == NULL;
            ag_tensor *A = h_rand(dt, na, sa, c->lo_a, c->hi_a, &rng);
            ag_tensor *B = h_rand(dt, nb, sb, c->lo_b, c->hi_b, &rng);
            if (mask || c->fn == ag_maximum || c->fn == ag_minimum) {
                /* Integers in [-2, 2]: ties are common. */
                for (size_t i = 0; i < ag_numel(A); i++)
                    ag_set_flat(A, i, floor(ag_get_flat(A, i) + 0.5));
                for (size_t i = 0; i < ag_numel(B); i++)
                    ag_set_flat(B, i, floor(ag_get_flat(B, i) + 0.5));
            }
            ck_assert(ag_set_requires_grad(A, true));
            ck_assert(ag_set_requires_grad(B, true));
            ag_tensor *W = h_rand(dt, no, so, 0.5, 1.5, &rng);
            ag_tensor *y = c->fn(A, B);
            ck_assert_tensor(y);
            ck_assert_shape(y, no, so);
            ck_assert_int_eq(ag_tensor_dtype(y), dt);
            ck_assert_ptr_eq(ag_node_op(y), ag_op_find(c->name));

            /* Ranks up to 3 of dimensions up to 3: at most 27 elements. Fixed
             * arrays, so a failing assertion leaks nothing under CK_FORK=no. */
            size_t n = numel_of(no, so);
            double want[27] = {0}, ga[27] = {0}, gb[27] = {0};
            ck_assert(n <= 27);
            int64_t idx[3] = {0, 0, 0};
            for (size_t i = 0; i < n; i++, next_index(no, so, idx)) {
                size_t oa = bcast_offset(no, idx, na, sa), ob = bcast_offset(no, idx, nb, sb);
                double a = ag_get_flat(A, oa), b = ag_get_flat(B, ob), w = ag_get_flat(W, i);
                want[i] = c->f(a, b);
                if (!mask) {
                    ga[oa] += w * c->da(a, b);
                    gb[ob] += w * c->db(a, b);
                }
            }
            ck_assert_values(y, n, want, h_rtol(dt), h_atol(dt));
            ck_assert(ag_backward(ag_sum(ag_mul(y, W))));
            /* A mask passes nothing back: the gradients stay zero. */
            for (size_t i = 0; i < ag_numel(A); i++)
                ck_assert_near(h_grad_at(A, i), ga[i], h_rtol(dt), grad_atol_of(dt));
            for (size_t i = 0; i < ag_numel(B); i++)
                ck_assert_near(h_grad_at(B, i), gb[i], h_rtol(dt), grad_atol_of(dt));
            ag_tape_reset(NULL);
        }
    }
}
END_TEST

/* The same ops by hand, on one small case each, to pin the conventions. */
START_TEST(test_pow_known_values)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *a = h_param(dt, 1, H_SHAPE(4), H_VALS(4, 0.25, 2, 9));
    ag_tensor *b = h_param(dt, 1, H_SHAPE(4), H_VALS(0.5, -1, 3, 0));
    ag_tensor *y = ag_pow(a, b);
    /* 4^0.5 = 2, 0.25^-1 = 4, 2^3 = 8, 9^0 = 1 */
    ck_assert_values(y, 4, H_VALS(2, 4, 8, 1), h_rtol(dt), h_atol(dt));
    ck_assert(ag_backward(ag_sum(y)));
    /* da = b a^(b-1): 0.5/2, -1/0.0625, 3·4, 0;  db = a^b ln a */
    ck_assert_values(ag_grad_of(a), 4, H_VALS(0.25, -16, 12, 0), h_rtol(dt), h_atol(dt));
    const double db[4] = {2 * log(4.0), 4 * log(0.25), 8 * log(2.0), 1 * log(9.0)};
    ck_assert_values(ag_grad_of(b), 4, db, h_rtol(dt), h_atol(dt));
}
END_TEST

START_TEST(test_pow_scalar)
{
    ag_dtype dt = H_DTYPES[_i];
    const double xs[4] = {0.5, 1.5, 2, 3};
    const double ps[5] = {2.5, -1, 0.5, 3, 0};
    for (int k = 0; k < 5; k++) {
        double p = ps[k];
        ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 2), xs);
        ag_tensor *y = ag_pow_scalar(x, p);
        ck_assert_shape(y, 2, H_SHAPE(2, 2));
        ck_assert_ptr_eq(ag_node_op(y), ag_op_find("pow_scalar"));
        double want[4], dwant[4];
        for (int i = 0; i < 4; i++) {
            want[i] = pow(xs[i], p);
            dwant[i] = p == 0 ? 0 : p * pow(xs[i], p - 1);
        }
        ck_assert_values(y, 4, want, h_rtol(dt), h_atol(dt));
        ck_assert(ag_backward(ag_sum(y)));
        ck_assert_values(ag_grad_of(x), 4, dwant, h_rtol(dt), h_atol(dt));
        ag_tape_reset(NULL);
    }
    /* An integer exponent takes negative bases: (-2)^3 = -8, d = 3·4. */
    ag_tensor *n = h_param(dt, 1, H_SHAPE(2), H_VALS(-2, -0.5));
    ag_tensor *y = ag_pow_scalar(n, 3);
    ck_assert_values(y, 2, H_VALS(-8, -0.125), h_rtol(dt), h_atol(dt));
    ck_assert(ag_backward(ag_sum(y)));
    ck_assert_values(ag_grad_of(n), 2, H_VALS(12, 0.75), h_rtol(dt), h_atol(dt));
}
END_TEST

START_TEST(test_maximum_minimum_ties)
{
    /* a = [1, 2, 3], b = [3, 2, 1]: the middle element ties, and the
     * documented choice sends its whole gradient to a. */
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *a = h_param(dt, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *b = h_param(dt, 1, H_SHAPE(3), H_VALS(3, 2, 1));
    ag_tensor *mx = ag_maximum(a, b);
    ck_assert_values(mx, 3, H_VALS(3, 2, 3), 0, 0);
    ck_assert(ag_backward(ag_sum(mx)));
    ck_assert_values(ag_grad_of(a), 3, H_VALS(0, 1, 1), 0, 0);
    ck_assert_values(ag_grad_of(b), 3, H_VALS(1, 0, 0), 0, 0);
    ag_zero_grad(a);
    ag_zero_grad(b);
    ag_tensor *mn = ag_minimum(a, b);
    ck_assert_values(mn, 3, H_VALS(1, 2, 1), 0, 0);
    ck_assert(ag_backward(ag_sum(mn)));
    ck_assert_values(ag_grad_of(a), 3, H_VALS(1, 1, 0), 0, 0);
    ck_assert_values(ag_grad_of(b), 3, H_VALS(0, 0, 1), 0, 0);
    ag_zero_grad(a);
    ag_zero_grad(b);
    /* Broadcast against a scalar that ties with one element: b's gradient
     * is the count of elements where b alone is the larger. */
    ag_tensor *s = h_pscalar(dt, 2);
    ck_assert(ag_backward(ag_sum(ag_maximum(a, s))));
    ck_assert_values(ag_grad_of(a), 3, H_VALS(0, 1, 1), 0, 0);
    ck_assert_values(ag_grad_of(s), 1, H_VALS(1), 0, 0);
}
END_TEST

START_TEST(test_pow_zero_exponent_gradient)
{
    /* a^0 = 1 for every a, so d(a^0)/da = 0 — at a = 0 too, where the rule
     * b·a^(b−1) reads 0·0^−1 = 0·inf and must not turn into NaN. The same
     * through pow_scalar. */
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *a = h_param(dt, 1, H_SHAPE(3), H_VALS(0, 0, 3));
    ag_tensor *b = h_arr(dt, 1, H_SHAPE(3), H_VALS(0, 0, 0));
    ag_tensor *y = ag_pow(a, b);
    ck_assert_values(y, 3, H_VALS(1, 1, 1), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    ck_assert_values(ag_grad_of(a), 3, H_VALS(0, 0, 0), 0, 0);
    ag_zero_grad(a);
    ag_tape_reset(NULL);
    ck_assert(ag_backward(ag_sum(ag_pow_scalar(a, 0))));
    ck_assert_values(ag_grad_of(a), 3, H_VALS(0, 0, 0), 0, 0);
}
END_TEST

START_TEST(test_maximum_minimum_nan)
{
    /* A NaN is never hidden (as max and argmax document, and as numpy and
     * PyTorch do): maximum and minimum return NaN whichever argument holds
     * it, so the op stays symmetric. */
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *a = h_arr(dt, 1, H_SHAPE(2), H_VALS(NAN, 1));
    ag_tensor *b = h_arr(dt, 1, H_SHAPE(2), H_VALS(1, NAN));
    ag_tensor *mx = ag_maximum(a, b), *mn = ag_minimum(a, b);
    ck_assert_tensor(mx);
    ck_assert_tensor(mn);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_msg(isnan(ag_get_flat(mx, i)), "maximum element %zu = %g, expected NaN", i,
                      ag_get_flat(mx, i));
        ck_assert_msg(isnan(ag_get_flat(mn, i)), "minimum element %zu = %g, expected NaN", i,
                      ag_get_flat(mn, i));
    }
}
END_TEST

/* ---- unary ---- */

typedef ag_tensor *(*unary_fn)(ag_tensor *);

typedef struct unary_case {
    const char *name;
    unary_fn fn;
    double (*f)(double);
    double (*df)(double); /* NULL: no gradient (sign) */
    const double *x;
} unary_case;

/* Exactly representable in f32. */
static const double MIXED[8] = {-3.5, -1, -0.25, 0, 0.5, 1.25, 2, 4};
static const double POSITIVE[8] = {0.0625, 0.25, 0.5, 1, 1.5, 2, 4, 9};

static double r_abs(double x) { return fabs(x); }
static double d_abs(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; } /* 0 at 0, as documented */
static double r_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double d_sqrt(double x) { return 0.5 / sqrt(x); }
static double r_square(double x) { return x * x; }
static double d_square(double x) { return 2 * x; }
static double r_recip(double x) { return 1 / x; }
static double d_recip(double x) { return -1 / (x * x); }
/* Naive forms: fine for |x| <= 4. */
static double r_softplus(double x) { return log(1 + exp(x)); }
static double d_softplus(double x) { return 1 / (1 + exp(-x)); }
static double r_logsig(double x) { return log(1 / (1 + exp(-x))); }
static double d_logsig(double x) { return 1 / (1 + exp(x)); }

static const unary_case UNARY[] = {
    {"sqrt", ag_sqrt, sqrt, d_sqrt, POSITIVE},
    {"abs", ag_abs, r_abs, d_abs, MIXED},
    {"sign", ag_sign, r_sign, NULL, MIXED},
    {"square", ag_square, r_square, d_square, MIXED},
    {"reciprocal", ag_reciprocal, r_recip, d_recip, POSITIVE},
    {"softplus", ag_softplus, r_softplus, d_softplus, MIXED},
    {"log_sigmoid", ag_log_sigmoid, r_logsig, d_logsig, MIXED},
};
enum { N_UNARY = sizeof UNARY / sizeof UNARY[0] };

START_TEST(test_unary_values_and_grads)
{
    const unary_case *c = &UNARY[_i];
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = H_DTYPES[d];
        ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 4), c->x);
        ag_tensor *y = c->fn(x);
        ck_assert_tensor(y);
        ck_assert_shape(y, 2, H_SHAPE(2, 4));
        ck_assert_int_eq(ag_tensor_dtype(y), dt);
        ck_assert_ptr_eq(ag_node_op(y), ag_op_find(c->name));
        double want[8], dwant[8];
        for (int i = 0; i < 8; i++) {
            want[i] = c->f(c->x[i]);
            dwant[i] = c->df ? c->df(c->x[i]) : 0;
        }
        ck_assert_values(y, 8, want, h_rtol(dt), h_atol(dt));
        /* Weighted, so that each element's own derivative is seen: the
         * weights are distinct powers of two (exact in f32). */
        ag_tensor *w = h_arr(dt, 2, H_SHAPE(2, 4), H_VALS(1, 2, 4, 8, 0.5, 0.25, 16, 32));
        ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
        for (int i = 0; i < 8; i++)
            ck_assert_near(h_grad_at(x, (size_t)i), dwant[i] * ag_get_flat(w, (size_t)i),
                           h_rtol(dt), h_atol(dt));
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_abs_sign_at_zero)
{
    ag_dtype dt = H_DTYPES[_i];
    /* abs'(0) = 0 (documented), for +0 and -0 alike. */
    ag_tensor *x = h_param(dt, 1, H_SHAPE(4), H_VALS(-0.0, 0.0, -2, 3));
    ck_assert(ag_backward(ag_sum(ag_abs(x))));
    ck_assert_values(ag_grad_of(x), 4, H_VALS(0, 0, -1, 1), 0, 0);
    ag_zero_grad(x);
    /* sign is a constant under differentiation: d Σ sign(x)·x = sign(x),
     * with nothing added through sign itself. */
    ag_tensor *s = ag_sign(x);
    ck_assert_values(s, 4, H_VALS(0, 0, -1, 1), 0, 0);
    ck_assert(ag_backward(ag_sum(ag_mul(s, x))));
    ck_assert_values(ag_grad_of(x), 4, H_VALS(0, 0, -1, 1), 0, 0);
}
END_TEST

/* softplus and log_sigmoid where the naive formulas overflow. */
START_TEST(test_softplus_log_sigmoid_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    const double xs[4] = {1000, -1000, 100, -100};
    ag_tensor *x = h_param(dt, 1, H_SHAPE(4), xs);
    ag_tensor *sp = ag_softplus(x);
    ag_tensor *ls = ag_log_sigmoid(x);
    ck_assert_tensor(sp);
    ck_assert_tensor(ls);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(isfinite(ag_get_flat(sp, i)) && isfinite(ag_get_flat(ls, i)),
                      "%s: softplus(%g) = %g, log_sigmoid(%g) = %g", ag_dtype_str(dt), xs[i],
                      ag_get_flat(sp, i), xs[i], ag_get_flat(ls, i));
    /* softplus(x) = x + ln(1 + e^-x) for x > 0: ln(1 + e^-100) = 3.7e-44 is
     * far below half an ulp of 100 in either dtype, so 1000 and 100 come out
     * exactly; softplus(x) = ln(1 + e^x) ≈ e^x for x < 0. */
    ck_assert(ag_get_flat(sp, 0) == 1000.0);
    ck_assert(ag_get_flat(sp, 2) == 100.0);
    /* e^-1000 (5e-435) underflows every dtype: 0, or at most the smallest
     * subnormal double. */
    ck_assert(ag_get_flat(sp, 1) >= 0 && ag_get_flat(sp, 1) <= DBL_TRUE_MIN);
    /* ln σ(x) = -softplus(-x). */
    ck_assert(ag_get_flat(ls, 1) == -1000.0);
    ck_assert(ag_get_flat(ls, 3) == -100.0);
    ck_assert(ag_get_flat(ls, 0) <= 0 && ag_get_flat(ls, 0) >= -DBL_TRUE_MIN);
    if (dt == AG_F64) {
        /* e^-100 = 3.72e-44 is a normal double: ln(1 + u) = u (1 - u/2 ...)
         * to a relative 1e-44, so the value is e^-100 to rounding. */
        ck_assert_near(ag_get_flat(sp, 3), exp(-100), H_RTOL_F64, 0);
        ck_assert_near(ag_get_flat(ls, 2), -exp(-100), H_RTOL_F64, 0);
    } else {
        /* In f32 e^-100 is below FLT_MIN (1.2e-38): only absolute precision
         * remains, and 0 up to e^-100 is the right answer. */
        ck_assert(ag_get_flat(sp, 3) >= 0 && ag_get_flat(sp, 3) <= 2 * exp(-100));
        ck_assert(ag_get_flat(ls, 2) <= 0 && ag_get_flat(ls, 2) >= -2 * exp(-100));
    }

    /* Gradients: softplus' = σ(x), (ln σ)' = σ(-x) = 1 - σ(x). */
    ck_assert(ag_backward(ag_add(ag_sum(sp), ag_sum(ag_mul_scalar(ls, 2)))));
    ag_tensor *g = ag_grad_of(x);
    ck_assert_tensor(g);
    /* d = σ(x) + 2σ(-x):  x=1000 -> 1, x=-1000 -> 2, x=100 -> 1 + 2e^-100,
     * x=-100 -> e^-100 + 2(1 - e^-100) = 2 to rounding. */
    ck_assert_near(ag_get_flat(g, 0), 1, h_rtol(dt), 0);
    ck_assert_near(ag_get_flat(g, 1), 2, h_rtol(dt), 0);
    ck_assert_near(ag_get_flat(g, 2), 1, h_rtol(dt), 0);
    ck_assert_near(ag_get_flat(g, 3), 2, h_rtol(dt), 0);
    ag_tape_reset(NULL);

    /* Each gradient alone, where the tiny side must not be lost or NaN. */
    ag_zero_grad(x);
    ck_assert(ag_backward(ag_sum(ag_softplus(x))));
    g = ag_grad_of(x);
    ck_assert_near(ag_get_flat(g, 0), 1, 0, 0);
    ck_assert(ag_get_flat(g, 1) >= 0 && ag_get_flat(g, 1) <= DBL_TRUE_MIN);
    if (dt == AG_F64)
        ck_assert_near(ag_get_flat(g, 3), exp(-100), H_RTOL_F64, 0);
    else
        ck_assert(ag_get_flat(g, 3) >= 0 && ag_get_flat(g, 3) <= 2 * exp(-100));
    ag_tape_reset(NULL);
    ag_zero_grad(x);
    ck_assert(ag_backward(ag_sum(ag_log_sigmoid(x))));
    g = ag_grad_of(x);
    ck_assert_near(ag_get_flat(g, 1), 1, 0, 0);
    ck_assert(ag_get_flat(g, 0) >= 0 && ag_get_flat(g, 0) <= DBL_TRUE_MIN);
    if (dt == AG_F64)
        ck_assert_near(ag_get_flat(g, 2), exp(-100), H_RTOL_F64, 0);
    else
        ck_assert(ag_get_flat(g, 2) >= 0 && ag_get_flat(g, 2) <= 2 * exp(-100));
}
END_TEST

/* ---- clamp ---- */

START_TEST(test_clamp)
{
    ag_dtype dt = H_DTYPES[_i];
    /* lo = -1, hi = 1.5: below, at lo, inside, at hi, above. */
    const double xs[7] = {-3, -1, -0.5, 0, 1.25, 1.5, 4};
    ag_tensor *x = h_param(dt, 1, H_SHAPE(7), xs);
    ag_tensor *y = ag_clamp(x, -1, 1.5);
    ck_assert_ptr_eq(ag_node_op(y), ag_op_find("clamp"));
    ck_assert_values(y, 7, H_VALS(-1, -1, -0.5, 0, 1.25, 1.5, 1.5), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    /* 1 strictly inside, 0 at and beyond the bounds (documented). */
    ck_assert_values(ag_grad_of(x), 7, H_VALS(0, 0, 1, 1, 1, 0, 0), 0, 0);
    ag_zero_grad(x);
    /* lo == hi: a constant. */
    ag_tensor *c = ag_clamp(x, 0.5, 0.5);
    ck_assert_values(c, 7, H_VALS(0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5), 0, 0);
    ck_assert(ag_backward(ag_sum(c)));
    for (size_t i = 0; i < 7; i++)
        ck_assert(h_grad_at(x, i) == 0);
}
END_TEST

/* ---- where ---- */

START_TEST(test_where)
{
    ag_dtype dt = H_DTYPES[_i];
    /* cond (2,1), a (2,3), b a scalar: the three broadcast to (2,3). */
    ag_tensor *cond = h_arr(dt, 2, H_SHAPE(2, 1), H_VALS(1, 0));
    ag_tensor *a = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *b = h_pscalar(dt, -7);
    ag_tensor *y = ag_where(cond, a, b);
    ck_assert_shape(y, 2, H_SHAPE(2, 3));
    ck_assert_values(y, 6, H_VALS(1, 2, 3, -7, -7, -7), 0, 0);
    ag_tensor *w = h_arr(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 4, 8, 16, 32));
    ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
    /* a gets w where cond holds; b the sum of w where it does not. */
    ck_assert_values(ag_grad_of(a), 6, H_VALS(1, 2, 4, 0, 0, 0), 0, 0);
    ck_assert_values(ag_grad_of(b), 1, H_VALS(8 + 16 + 32), 0, 0);
    ag_tape_reset(NULL);

    /* An i64 condition (nonzero is true), broadcast along the last axis;
     * a float condition that requires grad gets none. */
    ag_tensor *ci = h_arr(AG_I64, 1, H_SHAPE(3), H_VALS(0, 5, -1));
    ag_tensor *a2 = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *b2 = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(-1, -2, -3, -4, -5, -6));
    ag_tensor *y2 = ag_where(ci, a2, b2);
    ck_assert_values(y2, 6, H_VALS(-1, 2, 3, -4, 5, 6), 0, 0);
    ag_tensor *cf = h_param(dt, 1, H_SHAPE(3), H_VALS(1, 0, 0.5));
    ag_tensor *y3 = ag_where(cf, a2, b2);
    ck_assert_values(y3, 6, H_VALS(1, -2, 3, 4, -5, 6), 0, 0);
    ck_assert(ag_backward(ag_add(ag_sum(y2), ag_sum(y3))));
    ck_assert_values(ag_grad_of(a2), 6, H_VALS(1, 1, 2, 1, 1, 2), 0, 0);
    ck_assert_values(ag_grad_of(b2), 6, H_VALS(1, 1, 0, 1, 1, 0), 0, 0);
    for (size_t i = 0; i < 3; i++)
        ck_assert(h_grad_at(cf, i) == 0);
}
END_TEST

/* ---- masks ---- */

START_TEST(test_masks_carry_no_gradient)
{
    ag_dtype dt = H_DTYPES[_i];
    binary_fn masks[6] = {ag_gt, ag_ge, ag_lt, ag_le, ag_eq, ag_ne};
    for (int k = 0; k < 6; k++) {
        ag_tensor *a = h_param(dt, 1, H_SHAPE(3), H_VALS(1, 2, 3));
        ag_tensor *b = h_param(dt, 1, H_SHAPE(3), H_VALS(2, 2, 2));
        ag_tensor *m = masks[k](a, b);
        ck_assert_tensor(m);
        ck_assert_int_eq(ag_tensor_dtype(m), dt);
        /* Only the product's own factor a reaches a: d Σ m·a / da = m, and
         * nothing through the mask (which would add to a and reach b). */
        ck_assert(ag_backward(ag_sum(ag_mul(m, a))));
        for (size_t i = 0; i < 3; i++) {
            ck_assert_near(h_grad_at(a, i), ag_get_flat(m, i), 0, 0);
            ck_assert(h_grad_at(b, i) == 0);
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- gradient checks with broadcasting ---- */

typedef struct fn_box {
    binary_fn fn;
} fn_box;

static ag_tensor *f_binary(ag_tensor *const *in, void *ctx)
{
    const fn_box *b = ctx;
    return b->fn(in[0], in[1]);
}

static ag_tensor *f_where_gt(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    /* The condition is a constant computed from the inputs' values. */
    return ag_where(ag_detach(ag_gt(in[0], in[1])), ag_square(in[0]), in[1]);
}

static ag_tensor *f_unary_chain(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    /* Every differentiable unary op of the family, composed (x in [0.5, 2]). */
    ag_tensor *x = in[0];
    ag_tensor *t = ag_add(ag_sqrt(x), ag_reciprocal(x));
    t = ag_add(t, ag_softplus(ag_square(x)));
    t = ag_add(t, ag_log_sigmoid(ag_neg(x)));
    t = ag_add(t, ag_pow_scalar(x, 1.5));
    t = ag_add(t, ag_abs(ag_add_scalar(x, -3)));
    return ag_add(t, ag_clamp(ag_mul_scalar(x, 2), -10, 10));
}

START_TEST(test_gradcheck_broadcast_random_shapes)
{
    /* pow, maximum, minimum and where on random broadcasting shapes with
     * size-1 dimensions, five seeds each, in f64 with rtol 1e-6. */
    const binary_fn fns[3] = {ag_pow, ag_maximum, ag_minimum};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ag_rng rng;
        ag_rng_seed(&rng, seed);
        for (int k = 0; k < 4; k++) {
            int na, nb;
            int64_t sa[3] = {0}, sb[3] = {0};
            random_bcast_pair(&rng, &na, sa, &nb, sb);
            double lo = k == 0 ? 0.5 : -2;
            ag_tensor *in[2] = {h_rand(AG_F64, na, sa, lo, 2, &rng),
                                h_rand(AG_F64, nb, sb, -2, 2, &rng)};
            ck_assert(ag_set_requires_grad(in[0], true));
            ck_assert(ag_set_requires_grad(in[1], true));
            if (k < 3) {
                fn_box box = {fns[k]};
                ck_assert_gradcheck(f_binary, &box, 2, in);
            } else {
                ck_assert_gradcheck(f_where_gt, NULL, 2, in);
            }
        }
    }
    ag_rng rng;
    ag_rng_seed(&rng, 9);
    ag_tensor *x = h_rand(AG_F64, 3, H_SHAPE(2, 1, 3), 0.5, 2, &rng);
    ck_assert(ag_set_requires_grad(x, true));
    ck_assert_gradcheck(f_unary_chain, NULL, 1, &x);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_dtype_errors)
{
    ag_tensor *f = h_arr(AG_F32, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *d = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    ag_tensor *i = h_arr(AG_I64, 1, H_SHAPE(3), H_VALS(1, 2, 3));
    const binary_fn fns[9] = {ag_pow, ag_maximum, ag_minimum, ag_gt, ag_ge,
                              ag_lt, ag_le, ag_eq, ag_ne};
    const char *names[9] = {"pow", "maximum", "minimum", "gt", "ge", "lt", "le", "eq", "ne"};
    for (int k = 0; k < 9; k++) {
        ck_assert_ptr_null(fns[k](f, d));
        ck_assert_error(AG_ERR_DTYPE, names[k]);
        ck_assert_msg(strstr(ag_last_error(), "f32") && strstr(ag_last_error(), "f64"),
                      "%s: message \"%s\" does not name both dtypes", names[k], ag_last_error());
        ag_error_clear();
        ck_assert_ptr_null(fns[k](i, i));
        ck_assert_error(AG_ERR_DTYPE, names[k]);
        ck_assert_error(AG_ERR_DTYPE, "i64");
        ag_error_clear();
    }
    ck_assert_ptr_null(ag_where(d, f, d));
    ck_assert_error(AG_ERR_DTYPE, "where");
    ag_error_clear();
    ck_assert_ptr_null(ag_where(d, i, i));
    ck_assert_error(AG_ERR_DTYPE, "where");
    ag_error_clear();
    for (int k = 0; k < N_UNARY; k++) {
        ck_assert_ptr_null(UNARY[k].fn(i));
        ck_assert_error(AG_ERR_DTYPE, UNARY[k].name);
        ck_assert_error(AG_ERR_DTYPE, "i64");
        ag_error_clear();
    }
    ck_assert_ptr_null(ag_pow_scalar(i, 2));
    ck_assert_error(AG_ERR_DTYPE, "pow_scalar");
    ag_error_clear();
    ck_assert_ptr_null(ag_clamp(i, 0, 1));
    ck_assert_error(AG_ERR_DTYPE, "clamp");
}
END_TEST

START_TEST(test_value_and_shape_errors)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ag_tensor *y = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_clamp(x, 2, 1));
    ck_assert_error(AG_ERR_VALUE, "clamp");
    ck_assert_msg(strstr(ag_last_error(), "2") && strstr(ag_last_error(), "1"),
                  "message \"%s\" does not name the bounds", ag_last_error());
    ag_error_clear();
    ck_assert_ptr_null(ag_clamp(x, NAN, 1));
    ck_assert_error(AG_ERR_VALUE, "clamp");
    ag_error_clear();
    const binary_fn fns[9] = {ag_pow, ag_maximum, ag_minimum, ag_gt, ag_ge,
                              ag_lt, ag_le, ag_eq, ag_ne};
    const char *names[9] = {"pow", "maximum", "minimum", "gt", "ge", "lt", "le", "eq", "ne"};
    for (int k = 0; k < 9; k++) {
        ck_assert_ptr_null(fns[k](x, y));
        ck_assert_error(AG_ERR_SHAPE, names[k]);
        ck_assert_msg(strstr(ag_last_error(), "(2,3)") && strstr(ag_last_error(), "(4"),
                      "%s: message \"%s\" does not name both shapes", names[k], ag_last_error());
        ag_error_clear();
        ck_assert_ptr_null(fns[k](x, NULL));
        ck_assert_error(AG_ERR_NULL, names[k]);
        ag_error_clear();
    }
    /* where: a and b fit, the condition does not. */
    ag_tensor *c = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_where(c, x, x));
    ck_assert_error(AG_ERR_SHAPE, "where");
    ag_error_clear();
    ck_assert_ptr_null(ag_where(x, x, y));
    ck_assert_error(AG_ERR_SHAPE, "where");
    ag_error_clear();
    ck_assert_ptr_null(ag_where(NULL, x, x));
    ck_assert_error(AG_ERR_NULL, "where");
    ag_error_clear();
    for (int k = 0; k < N_UNARY; k++) {
        ck_assert_ptr_null(UNARY[k].fn(NULL));
        ck_assert_error(AG_ERR_NULL, UNARY[k].name);
        ag_error_clear();
    }
}
END_TEST

Suite *elementwise_suite(void);
Suite *elementwise_suite(void)
{
    Suite *s = suite_create("elementwise");
    TCase *tc = h_tcase(s, "binary against naive loops", H_TIMEOUT);
    tcase_add_loop_test(tc, test_binary_broadcast_values_and_grads, 0, N_BINARY);
    tc = h_tcase(s, "pow", H_TIMEOUT);
    tcase_add_loop_test(tc, test_pow_known_values, 0, 2);
    tcase_add_loop_test(tc, test_pow_scalar, 0, 2);
    tcase_add_loop_test(tc, test_pow_zero_exponent_gradient, 0, 2);
    tc = h_tcase(s, "unary", H_TIMEOUT);
    tcase_add_loop_test(tc, test_unary_values_and_grads, 0, N_UNARY);
    tcase_add_loop_test(tc, test_abs_sign_at_zero, 0, 2);
    tc = h_tcase(s, "extremes", H_TIMEOUT);
    tcase_add_loop_test(tc, test_softplus_log_sigmoid_extremes, 0, 2);
    tc = h_tcase(s, "subgradients", H_TIMEOUT);
    tcase_add_loop_test(tc, test_maximum_minimum_ties, 0, 2);
    tcase_add_loop_test(tc, test_clamp, 0, 2);
    tcase_add_loop_test(tc, test_maximum_minimum_nan, 0, 2);
    tc = h_tcase(s, "where and masks", H_TIMEOUT);
    tcase_add_loop_test(tc, test_where, 0, 2);
    tcase_add_loop_test(tc, test_masks_carry_no_gradient, 0, 2);
    tc = h_tcase(s, "gradcheck", 300);
    tcase_add_test(tc, test_gradcheck_broadcast_random_shapes);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_dtype_errors);
    tcase_add_test(tc, test_value_and_shape_errors);
    return s;
}

H_MAIN(elementwise_suite)

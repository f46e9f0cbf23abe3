/* SPDX-License-Identifier: MIT */
/* harness.h — what every Check suite of the library shares.
 *
 * Tolerances (with the reason for each), assertions on numbers, shapes and
 * error statuses, leaves and tapes that are freed by the fixture's teardown
 * (so a test that fails half-way still leaks nothing under CK_FORK=no and
 * valgrind), a gradient-check wrapper that prints the checker's report when
 * it fails, and the main() runner.
 *
 * Every expected value in the suites is derived independently of the code
 * under test: by hand, with <math.h> in the test, with a naive loop written
 * in the test, or by finite differences. */
#ifndef AG_TEST_HARNESS_H
#define AG_TEST_HARNESS_H

#include <autograd/autograd.h>
#include <autograd/op.h>
#include <autograd/testing.h>
#include <check.h>

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- tolerances ----
 * f64, exact-ish ops (a handful of roundings of O(1) values, libm calls
 * accurate to an ulp or two): 1e-12 relative leaves three orders of magnitude
 * above rounding and is still nine below any formula mistake. The absolute
 * floor only matters for expected values that are 0.
 * f32: FLT_EPSILON is 1.2e-7; a few roundings (and expf/tanhf accurate to a
 * couple of ulp) stay well below 1e-5 relative.
 * Gradient checks: central differences with eps 1e-6 in f64 have truncation
 * error ~eps² and rounding error ~1e-16/eps ≈ 1e-10, so rtol 1e-6 is tight
 * yet safe. */
#define H_RTOL_F64 1e-12
#define H_ATOL_F64 1e-14
#define H_RTOL_F32 1e-5
#define H_ATOL_F32 1e-6
#define H_GRAD_RTOL 1e-6
#define H_GRAD_ATOL 1e-7

/* The float dtypes, for tests that run in both. */
extern const ag_dtype H_DTYPES[2]; /* {AG_F64, AG_F32} */
/* The tolerances above for a dtype. */
double h_rtol(ag_dtype dt);
double h_atol(ag_dtype dt);
/* Element i of x's gradient, 0 when no gradient reached x. */
double h_grad_at(const ag_tensor *x, size_t i);

/* Literal shapes and values: H_SHAPE(3, 4), H_VALS(1, 2, 3). */
#define H_SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define H_VALS(...) ((const double[]){__VA_ARGS__})
#define H_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* |got - want| <= atol + rtol * |want|; equal infinities pass, NaN never. */
bool h_near(double got, double want, double rtol, double atol);

#define ck_assert_near(got, want, rtol, atol)                                                    \
    do {                                                                                        \
        double h_g_ = (got), h_w_ = (want);                                                     \
        ck_assert_msg(h_near(h_g_, h_w_, (rtol), (atol)),                                       \
                      "%s = %.17g, expected %.17g (%s) within rtol %g, atol %g", #got, h_g_,    \
                      h_w_, #want, (double)(rtol), (double)(atol));                             \
    } while (0)
#define ck_assert_f64(got, want) ck_assert_near(got, want, H_RTOL_F64, H_ATOL_F64)
#define ck_assert_f32(got, want) ck_assert_near(got, want, H_RTOL_F32, H_ATOL_F32)

/* Every element of t (flat order) against want[0..n-1]. */
#define ck_assert_values(t, n, want, rtol, atol)                                                 \
    do {                                                                                        \
        const ag_tensor *h_t_ = (t);                                                            \
        size_t h_n_ = (n);                                                                      \
        ck_assert_msg(h_t_ != NULL, "%s is NULL: %s", #t, ag_last_error());                     \
        ck_assert_msg(ag_numel(h_t_) == h_n_, "%s has %zu elements, expected %zu", #t,          \
                      ag_numel(h_t_), h_n_);                                                     \
        for (size_t h_i_ = 0; h_i_ < h_n_; h_i_++) {                                            \
            double h_g_ = ag_get_flat(h_t_, h_i_), h_w_ = (want)[h_i_];                         \
            ck_assert_msg(h_near(h_g_, h_w_, (rtol), (atol)),                                   \
                          "%s[%zu] = %.17g, expected %.17g within rtol %g, atol %g", #t, h_i_,  \
                          h_g_, h_w_, (double)(rtol), (double)(atol));                          \
        }                                                                                       \
    } while (0)
#define ck_assert_values_f64(t, n, want) ck_assert_values(t, n, want, H_RTOL_F64, H_ATOL_F64)
#define ck_assert_values_f32(t, n, want) ck_assert_values(t, n, want, H_RTOL_F32, H_ATOL_F32)

/* The shape, against ndim entries of `shape` (NULL for a scalar). */
bool h_shape_is(const ag_tensor *t, int ndim, const int64_t *shape);
/* "(3,4)", written by the test itself (not by ag_shape_str). */
const char *h_fmt_shape(int ndim, const int64_t *shape, char *buf, size_t size);
#define ck_assert_shape(t, ndim, shape)                                                          \
    do {                                                                                        \
        char h_a_[160], h_b_[160];                                                              \
        const ag_tensor *h_t_ = (t);                                                            \
        ck_assert_msg(h_t_ != NULL, "%s is NULL: %s", #t, ag_last_error());                     \
        ck_assert_msg(h_shape_is(h_t_, (ndim), (shape)), "%s has shape %s, expected %s", #t,    \
                      h_fmt_shape(ag_ndim(h_t_), ag_shape(h_t_), h_a_, sizeof h_a_),            \
                      h_fmt_shape((ndim), (shape), h_b_, sizeof h_b_));                         \
    } while (0)

/* The thread's error status, and optionally a substring of its message. */
#define ck_assert_status(want)                                                                   \
    do {                                                                                        \
        ag_status h_s_ = ag_last_status();                                                      \
        ck_assert_msg(h_s_ == (want), "status %s, expected %s (message: \"%s\")",               \
                      ag_status_str(h_s_), ag_status_str(want), ag_last_error());               \
    } while (0)
#define ck_assert_ok() ck_assert_status(AG_OK)
#define ck_assert_error(want, substr)                                                            \
    do {                                                                                        \
        ck_assert_status(want);                                                                 \
        ck_assert_msg(strstr(ag_last_error(), (substr)) != NULL,                                \
                      "error message \"%s\" does not contain \"%s\"", ag_last_error(),          \
                      (substr));                                                                \
    } while (0)

/* A non-NULL result, or a failure that shows the library's error. */
#define ck_assert_tensor(t)                                                                      \
    ck_assert_msg((t) != NULL, "%s is NULL: %s: %s", #t, ag_status_str(ag_last_status()),        \
                  ag_last_error())

/* ---- leaves and tapes freed by the teardown ---- */

/* Hands t (a leaf, or NULL) to the fixture, which frees it after the test.
 * Returns t. */
ag_tensor *h_keep(ag_tensor *t);
/* A kept leaf of dtype and shape holding `values` (doubles, converted). */
ag_tensor *h_arr(ag_dtype dtype, int ndim, const int64_t *shape, const double *values);
/* The same, marked as requiring grad. */
ag_tensor *h_param(ag_dtype dtype, int ndim, const int64_t *shape, const double *values);
/* A kept 0-d leaf; h_pscalar marks it as requiring grad. */
ag_tensor *h_scalar(ag_dtype dtype, double v);
ag_tensor *h_pscalar(ag_dtype dtype, double v);
/* A kept leaf of uniform random values in [lo, hi). */
ag_tensor *h_rand(ag_dtype dtype, int ndim, const int64_t *shape, double lo, double hi,
                  ag_rng *rng);
/* A new tape, freed by the teardown (after making the default tape current). */
ag_tape *h_tape(void);

/* ---- gradient checks ---- */

/* The checker's defaults with the suite's tolerances (rtol 1e-6). */
ag_gradcheck_opts h_gradcheck_opts(void);
/* The report as the library prints it, into buf. */
const char *h_report_str(const ag_gradcheck_report *rep, char *buf, size_t size);
/* ag_gradcheck with h_gradcheck_opts; on failure `msg` holds the error and
 * the report. */
bool h_gradcheck(ag_fn f, void *ctx, int n, ag_tensor *const *inputs, char *msg, size_t size);
#define ck_assert_gradcheck(f, ctx, n, inputs)                                                   \
    do {                                                                                        \
        char h_m_[4096];                                                                        \
        ck_assert_msg(h_gradcheck((f), (ctx), (n), (inputs), h_m_, sizeof h_m_),                \
                      "gradcheck of %s failed:\n%s", #f, h_m_);                                 \
    } while (0)

/* ---- fixtures and the runner ---- */

/* Whether the suite runs under valgrind (AG_TEST_VALGRIND=1): slow tests
 * shrink their sizes. */
bool h_valgrind(void);
/* Whether the suite runs in lifetime debug mode (AG_DEBUG_LIFETIMES=1):
 * header memory is never reused there, so tests of the steady state's
 * allocations and capacity do not apply. */
bool h_debug_lifetimes(void);

/* A test case with the harness's fixture (a clean error slot, grad mode on,
 * the default tape current and empty; kept leaves and tapes freed, the
 * matmul backend restored and the library shut down afterwards) and a
 * timeout of `timeout` seconds, added to s. */
TCase *h_tcase(Suite *s, const char *name, double timeout);
#define H_TIMEOUT 60.0

/* Runs the suite with CK_NORMAL (which prints "100%: Checks: N, Failures: 0,
 * Errors: 0"), shuts the library down and returns the exit status. */
int h_run(Suite *s);
#define H_MAIN(suite_fn)                                                                         \
    int main(void)                                                                              \
    {                                                                                           \
        return h_run(suite_fn());                                                               \
    }

#endif

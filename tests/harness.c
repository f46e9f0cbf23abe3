/* SPDX-License-Identifier: MIT */
/* harness.c — the shared helpers of the Check suites (see harness.h). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAX_KEPT = 512, MAX_TAPES = 16 };

static ag_tensor *kept[MAX_KEPT];
static size_t n_kept;
static ag_tape *tapes[MAX_TAPES];
static size_t n_tapes;

const ag_dtype H_DTYPES[2] = {AG_F64, AG_F32};

double h_rtol(ag_dtype dt)
{
    return dt == AG_F64 ? H_RTOL_F64 : H_RTOL_F32;
}

double h_atol(ag_dtype dt)
{
    return dt == AG_F64 ? H_ATOL_F64 : H_ATOL_F32;
}

double h_grad_at(const ag_tensor *x, size_t i)
{
    ag_tensor *g = ag_grad_of(x);
    return g ? ag_get_flat(g, i) : 0.0;
}

bool h_near(double got, double want, double rtol, double atol)
{
    if (isnan(got) || isnan(want))
        return false;
    if (isinf(want) || isinf(got))
        return got == want;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

bool h_shape_is(const ag_tensor *t, int ndim, const int64_t *shape)
{
    if (ag_ndim(t) != ndim)
        return false;
    const int64_t *s = ag_shape(t);
    if (!s)
        return false;
    for (int i = 0; i < ndim; i++)
        if (s[i] != shape[i])
            return false;
    return true;
}

const char *h_fmt_shape(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t n = 0;
    int w = snprintf(buf, size, "(");
    n = w > 0 ? (size_t)w : 0;
    for (int i = 0; shape && i < ndim && n < size; i++) {
        w = snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)shape[i]);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n < size)
        snprintf(buf + n, size - n, ")");
    return buf;
}

ag_tensor *h_keep(ag_tensor *t)
{
    if (!t)
        return NULL;
    ck_assert_msg(n_kept < MAX_KEPT, "harness: more than %d kept leaves", MAX_KEPT);
    kept[n_kept++] = t;
    return t;
}

ag_tensor *h_arr(ag_dtype dtype, int ndim, const int64_t *shape, const double *values)
{
    ag_tensor *t = h_keep(ag_zeros(dtype, ndim, shape));
    ck_assert_msg(t != NULL, "harness: zeros failed: %s", ag_last_error());
    size_t n = ag_numel(t);
    for (size_t i = 0; values && i < n; i++)
        ck_assert_msg(ag_set_flat(t, i, values[i]), "harness: set_flat failed: %s",
                      ag_last_error());
    return t;
}

ag_tensor *h_param(ag_dtype dtype, int ndim, const int64_t *shape, const double *values)
{
    ag_tensor *t = h_arr(dtype, ndim, shape, values);
    ck_assert_msg(ag_set_requires_grad(t, true), "harness: set_requires_grad failed: %s",
                  ag_last_error());
    return t;
}

ag_tensor *h_scalar(ag_dtype dtype, double v)
{
    return h_arr(dtype, 0, NULL, &v);
}

ag_tensor *h_pscalar(ag_dtype dtype, double v)
{
    return h_param(dtype, 0, NULL, &v);
}

ag_tensor *h_rand(ag_dtype dtype, int ndim, const int64_t *shape, double lo, double hi,
                  ag_rng *rng)
{
    ag_tensor *t = h_keep(ag_rand_uniform(dtype, ndim, shape, lo, hi, rng));
    ck_assert_msg(t != NULL, "harness: rand_uniform failed: %s", ag_last_error());
    return t;
}

ag_tape *h_tape(void)
{
    ck_assert_msg(n_tapes < MAX_TAPES, "harness: more than %d tapes", MAX_TAPES);
    ag_tape *t = ag_tape_new();
    ck_assert_msg(t != NULL, "harness: tape_new failed: %s", ag_last_error());
    tapes[n_tapes++] = t;
    return t;
}

ag_gradcheck_opts h_gradcheck_opts(void)
{
    ag_gradcheck_opts o = ag_gradcheck_defaults();
    o.rtol = H_GRAD_RTOL;
    o.atol = H_GRAD_ATOL;
    return o;
}

const char *h_report_str(const ag_gradcheck_report *rep, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fmemopen(buf, size, "w");
    if (!f)
        return buf;
    ag_gradcheck_fprint(f, rep);
    fclose(f);
    buf[size - 1] = '\0';
    return buf;
}

bool h_gradcheck(ag_fn f, void *ctx, int n, ag_tensor *const *inputs, char *msg, size_t size)
{
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    memset(&rep, 0, sizeof rep);
    bool pass = ag_gradcheck(f, ctx, n, inputs, &o, &rep);
    if (!pass) {
        char r[3072];
        snprintf(msg, size, "error: %s: %s\n%s", ag_status_str(ag_last_status()), ag_last_error(),
                 h_report_str(&rep, r, sizeof r));
    } else {
        msg[0] = '\0';
    }
    return pass;
}

bool h_valgrind(void)
{
    const char *v = getenv("AG_TEST_VALGRIND");
    return v && *v && strcmp(v, "0") != 0;
}

bool h_debug_lifetimes(void)
{
    const char *v = getenv("AG_DEBUG_LIFETIMES");
    return v && *v && strcmp(v, "0") != 0;
}

static void setup(void)
{
    ag_error_clear();
    ag_grad_mode_set(true);
    ag_set_backward_hook(NULL, NULL);
    ag_tape_use(NULL);
    ag_tape_reset(NULL);
}

static void teardown(void)
{
    ag_tape_use(NULL);
    while (n_tapes > 0)
        ag_tape_free(tapes[--n_tapes]);
    while (n_kept > 0)
        ag_tensor_free(kept[--n_kept]);
    ag_set_backward_hook(NULL, NULL);
    ag_grad_mode_set(true);
    ag_matmul_backend_set(ag_have_blas() ? AG_MATMUL_BLAS : AG_MATMUL_BUILTIN);
    ag_error_clear();
    /* Frees the default tape and the registry (user ops included), so that
     * each test starts from a fresh library even without fork. */
    ag_shutdown();
}

TCase *h_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

int h_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ag_shutdown();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

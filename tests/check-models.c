/* check-models.c — the models layer: the parameter store, initialisation,
 * layers, optimizers, schedules, and training on real data.
 *
 * Every expected value is derived here, independently of the code under
 * test: layer outputs from loops over the raw arrays, optimizer trajectories
 * from torch.optim's published update rules written out step by step,
 * initialisation statistics from the distributions' moments, and the
 * trained logistic regression's optimum from its first-order condition
 * evaluated with plain loops. The training tests use the repository's copy
 * of the data (examples/data), passed by meson in AG_DATA_DIR.
 *
 * Resources that are not tensors (stores, optimizers, models, data sets,
 * iterators) are registered with own_*() and freed by this file's
 * teardown, so a failing test leaks nothing under CK_FORK=no + valgrind. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_SQRT1_2
#define M_SQRT1_2 0.70710678118654752440
#endif

/* Built with AddressSanitizer (GCC defines __SANITIZE_ADDRESS__, clang has
 * __has_feature): timing budgets do not apply. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ------------------------------------------------------------------ */
/* Resources freed by the teardown                                     */
/* ------------------------------------------------------------------ */

typedef enum { R_PARAMS, R_OPTIM, R_MLP, R_DATASET, R_BATCHES } rkind;
enum { MAX_OWNED = 128 };
static struct {
    rkind kind;
    void *p;
} owned[MAX_OWNED];
static size_t n_owned;

static void *own(rkind kind, void *p)
{
    if (!p)
        return NULL;
    ck_assert_msg(n_owned < MAX_OWNED, "more than %d owned resources", MAX_OWNED);
    owned[n_owned].kind = kind;
    owned[n_owned].p = p;
    n_owned++;
    return p;
}
static ag_params *own_params(ag_params *p) { return own(R_PARAMS, p); }
static ag_optim *own_optim(ag_optim *o) { return own(R_OPTIM, o); }
static ag_mlp *own_mlp(ag_mlp *m) { return own(R_MLP, m); }
static ag_dataset *own_dataset(ag_dataset *d) { return own(R_DATASET, d); }
static ag_batches *own_batches(ag_batches *b) { return own(R_BATCHES, b); }

/* Frees in reverse order (an optimizer before the store it borrows). */
static void free_owned(void)
{
    while (n_owned > 0) {
        n_owned--;
        void *p = owned[n_owned].p;
        switch (owned[n_owned].kind) {
        case R_PARAMS: ag_params_free(p); break;
        case R_OPTIM: ag_optim_free(p); break;
        case R_MLP: ag_mlp_free(p); break;
        case R_DATASET: ag_dataset_free(p); break;
        case R_BATCHES: ag_batches_free(p); break;
        }
    }
}

/* The training tests' temporary folder. It is made and removed, with
 * whatever is in it, by an unchecked fixture — in the parent process, once
 * per test case — because in fork mode a failing test's process exits
 * without running the checked teardown. */
static char tmp_dir[256];

static void tmp_dir_setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/ag-models-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        fprintf(stderr, "check-models: mkdtemp %s: %s\n", tmp_dir, strerror(errno));
        tmp_dir[0] = '\0';
    }
}

static void tmp_dir_teardown(void)
{
    if (!tmp_dir[0])
        return;
    DIR *dir = opendir(tmp_dir);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        unlink(path);
    }
    if (dir)
        closedir(dir);
    rmdir(tmp_dir);
    tmp_dir[0] = '\0';
}

/* A path in the temporary folder (each test uses names of its own). */
static const char *tmp_path(const char *name)
{
    static char path[512];
    ck_assert_msg(tmp_dir[0], "no temporary folder");
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

static void models_teardown(void)
{
    free_owned();
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A leaf holding `values`, not kept by the harness (for handing to a store,
 * which takes ownership). */
static ag_tensor *make(ag_dtype dtype, int ndim, const int64_t *shape, const double *values)
{
    ag_tensor *t = ag_zeros(dtype, ndim, shape);
    ck_assert_tensor(t);
    for (size_t i = 0; values && i < ag_numel(t); i++)
        ck_assert(ag_set_flat(t, i, values[i]));
    return t;
}

/* Sets every element of a parameter from doubles. */
static void set_values(ag_tensor *t, size_t n, const double *values)
{
    ck_assert_tensor(t);
    ck_assert_uint_eq(ag_numel(t), n);
    for (size_t i = 0; i < n; i++)
        ck_assert(ag_set_flat(t, i, values[i]));
}

/* The gradient of a leaf as a value, 0 when none reached it. */
static double grad_at(const ag_tensor *t, size_t i)
{
    const ag_tensor *g = ag_grad_of(t);
    return g ? ag_get_flat(g, i) : 0.0;
}

static double sigmoid_ref(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* ln(1 + e^z) without overflow. */
static double softplus_ref(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
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
    ck_assert_f64(grad_at(b, 0), 3.0);
    ag_tape_reset(NULL);

    ag_params_zero_grad(p);
    for (size_t i = 0; i < 3; i++)
        ck_assert_f64(grad_at(w, i), 0.0);
    ck_assert_f64(grad_at(b, 0), 0.0);

    /* Zeroed, not stale: the next backward starts from zero instead of
     * adding to the previous gradient. */
    L = ag_sum(ag_mul(w, w));
    ck_assert(ag_backward(L));
    ck_assert_values_f64(ag_grad_of(w), 3, H_VALS(2, -4, 6));
    ck_assert_f64(grad_at(b, 0), 0.0);
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
    ck_assert_shape(w, 2, H_SHAPE(IN, OUT));
    ck_assert_shape(b, 1, H_SHAPE(OUT));
    for (size_t i = 0; i < OUT; i++)
        ck_assert(ag_get_flat(b, i) == 0.0);
    double bound = sqrt(6.0 / (IN + OUT));
    for (size_t i = 0; i < IN * OUT; i++)
        ck_assert(fabs(ag_get_flat(w, i)) <= bound);

    set_values(w, IN * OUT, W);
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
            ck_assert_f64(grad_at(w, (size_t)(i * OUT + j)), s);
        }
    for (int j = 0; j < OUT; j++) {
        double s = 0;
        for (int n = 0; n < N; n++)
            s += C[n * OUT + j];
        ck_assert_f64(grad_at(b, (size_t)j), s);
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
    ck_assert_shape(ag_params_get(m->params, "fc1.weight"), 2, H_SHAPE(3, 4));
    ck_assert_shape(ag_params_get(m->params, "fc2.weight"), 2, H_SHAPE(4, 2));
    ck_assert_shape(ag_params_get(m->params, "fc2.bias"), 1, H_SHAPE(2));
    set_values(ag_params_get(m->params, "fc1.weight"), 12, W1);
    set_values(ag_params_get(m->params, "fc1.bias"), 4, B1);
    set_values(ag_params_get(m->params, "fc2.weight"), 8, W2);
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
    set_values(ag_params_get(m->params, "fc1.weight"), 6, W1);
    set_values(ag_params_get(m->params, "fc1.bias"), 3, B1);
    set_values(ag_params_get(m->params, "fc2.weight"), 6, W2);
    set_values(ag_params_get(m->params, "fc2.bias"), 2, B2);
    set_values(ag_params_get(m->params, "fc3.weight"), 2, W3);
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
        ck_assert(grad_at(fb, i) == 0.0);
    ck_assert(grad_at(b, 0) == 0.0 && grad_at(g, 0) == 0.0);

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
/* Optimizers against torch.optim's published update rules             */
/* ------------------------------------------------------------------ */

/* The tiny problem: parameters w (3) and fc.bias (2), loss
 *   L = Σ_i (½ a_i w_i² + q_i w_i) + Σ_j (½ c_j b_j² + r_j b_j),
 * so ∂L/∂w = a⊙w + q and ∂L/∂b = c⊙b + r, computed here by hand from the
 * reference trajectory. The gradients differ in sign and size and change
 * from step to step. */
enum { NW = 3, NB = 2, NP = NW + NB };
static const double QA[NW] = {1.0, 2.0, 0.5}, QQ[NW] = {-1.0, 0.5, 2.0}, QW0[NW] = {0.5, -1.0, 2.0};
static const double QC[NB] = {3.0, 1.0}, QR[NB] = {0.25, -2.0}, QB0[NB] = {1.0, -0.5};

static void quad_grad(const double *th, double *g)
{
    for (int i = 0; i < NW; i++)
        g[i] = QA[i] * th[i] + QQ[i];
    for (int j = 0; j < NB; j++)
        g[NW + j] = QC[j] * th[NW + j] + QR[j];
}

typedef struct quad {
    ag_params *p;
    ag_tensor *w, *b, *A, *Q, *C, *R;
} quad;

static quad quad_new(ag_dtype dt)
{
    quad q;
    q.p = own_params(ag_params_new());
    q.w = ag_params_add(q.p, "w", make(dt, 1, H_SHAPE(NW), QW0));
    q.b = ag_params_add(q.p, "fc.bias", make(dt, 1, H_SHAPE(NB), QB0));
    q.A = h_arr(dt, 1, H_SHAPE(NW), QA);
    q.Q = h_arr(dt, 1, H_SHAPE(NW), QQ);
    q.C = h_arr(dt, 1, H_SHAPE(NB), QC);
    q.R = h_arr(dt, 1, H_SHAPE(NB), QR);
    ck_assert(q.w && q.b);
    return q;
}

static ag_tensor *quad_loss(const quad *q)
{
    ag_tensor *lw = ag_add(ag_mul_scalar(ag_mul(q->A, ag_square(q->w)), 0.5), ag_mul(q->Q, q->w));
    ag_tensor *lb = ag_add(ag_mul_scalar(ag_mul(q->C, ag_square(q->b)), 0.5), ag_mul(q->R, q->b));
    return ag_add(ag_sum(lw), ag_sum(lb));
}

/* One training step as ag_train takes it. */
static bool quad_step(const quad *q, ag_optim *o)
{
    ag_optim_zero_grad(o);
    ag_tensor *L = quad_loss(q);
    bool ok = L && ag_backward(L) && ag_optim_step(o);
    ag_tape_reset(NULL);
    return ok;
}

/* The reference optimizer: torch.optim's documented algorithms, written
 * out for one flat parameter vector (dampening 0, maximize off, amsgrad
 * off), preceded by torch.nn.utils.clip_grad_norm_'s global rescaling.
 *   clip:  ‖g‖ = √Σg² over every parameter; if ‖g‖ > c: g ← g·c/‖g‖
 *          (torch divides by ‖g‖ + 1e-6; the library's contract is a norm of
 *          at most c, exactly c after clipping, so no epsilon here)
 *   SGD:   g ← g + λθ;  b ← g at t = 1, μb + g after;
 *          g ← g + μb (Nesterov) or b;  θ ← θ − γg
 *   Adam:  g ← g + λθ;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 *          θ ← θ − γ (m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)
 *   AdamW: θ ← θ − γλθ first, then Adam without the λθ term. */
typedef struct ref_state {
    double th[NP], b1[NP], b2[NP], norm;
    int t;
} ref_state;

static void ref_step(const ag_optim_config *c, ref_state *s)
{
    double g[NP], ss = 0;
    quad_grad(s->th, g);
    for (int i = 0; i < NP; i++)
        ss += g[i] * g[i];
    s->norm = sqrt(ss);
    if (c->clip_norm > 0 && s->norm > c->clip_norm)
        for (int i = 0; i < NP; i++)
            g[i] *= c->clip_norm / s->norm;
    s->t++;
    double beta1 = c->beta1 ? c->beta1 : 0.9, beta2 = c->beta2 ? c->beta2 : 0.999;
    double eps = c->eps ? c->eps : 1e-8;
    for (int i = 0; i < NP; i++) {
        double gi = g[i], th = s->th[i];
        if (c->kind == AG_SGD) {
            gi += c->weight_decay * th;
            if (c->momentum != 0) {
                s->b1[i] = s->t > 1 ? c->momentum * s->b1[i] + gi : gi;
                gi = c->nesterov ? gi + c->momentum * s->b1[i] : s->b1[i];
            }
            s->th[i] = th - c->lr * gi;
        } else {
            if (c->kind == AG_ADAMW)
                th -= c->lr * c->weight_decay * th;
            else
                gi += c->weight_decay * th;
            s->b1[i] = beta1 * s->b1[i] + (1 - beta1) * gi;
            s->b2[i] = beta2 * s->b2[i] + (1 - beta2) * gi * gi;
            double mhat = s->b1[i] / (1 - pow(beta1, s->t));
            double vhat = s->b2[i] / (1 - pow(beta2, s->t));
            s->th[i] = th - c->lr * mhat / (sqrt(vhat) + eps);
        }
    }
}

typedef struct optim_case {
    const char *what;
    ag_dtype dtype;
    ag_optim_config cfg;
} optim_case;

static const optim_case optim_cases[] = {
    {"SGD", AG_F64, {.kind = AG_SGD, .lr = 0.1}},
    {"SGD momentum", AG_F64, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9}},
    {"SGD Nesterov", AG_F64, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true}},
    {"SGD weight decay", AG_F64, {.kind = AG_SGD, .lr = 0.1, .weight_decay = 0.3}},
    {"SGD momentum + weight decay", AG_F64,
     {.kind = AG_SGD, .lr = 0.05, .momentum = 0.8, .weight_decay = 0.3}},
    {"SGD Nesterov + weight decay", AG_F64,
     {.kind = AG_SGD, .lr = 0.05, .momentum = 0.5, .nesterov = true, .weight_decay = 0.2}},
    {"Adam (default betas, eps)", AG_F64, {.kind = AG_ADAM, .lr = 0.1}},
    {"Adam (betas 0.8/0.99, eps 1e-3)", AG_F64,
     {.kind = AG_ADAM, .lr = 0.2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3}},
    {"Adam + L2 weight decay", AG_F64, {.kind = AG_ADAM, .lr = 0.1, .weight_decay = 0.5}},
    {"AdamW", AG_F64, {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.5}},
    {"AdamW (betas 0.5/0.9)", AG_F64,
     {.kind = AG_ADAMW, .lr = 0.3, .beta1 = 0.5, .beta2 = 0.9, .weight_decay = 0.1}},
    /* The first gradient's norm is √28.3125 ≈ 5.32: clip_norm 1 clips
     * every step, 100 never does. */
    {"SGD clipped", AG_F64, {.kind = AG_SGD, .lr = 0.1, .clip_norm = 1.0}},
    {"SGD momentum clipped + weight decay", AG_F64,
     {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 0.3, .clip_norm = 2.0}},
    {"Adam clipped + weight decay", AG_F64,
     {.kind = AG_ADAM, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 1.0}},
    {"AdamW clipped", AG_F64, {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 0.5}},
    {"SGD clip above the norm", AG_F64, {.kind = AG_SGD, .lr = 0.1, .clip_norm = 100.0}},
    /* f32 parameters and state, updated in f32 arithmetic: the reference
     * runs in f64, so the difference is f32 rounding of a few operations
     * per step. One case per update loop (plain, weight decay, momentum,
     * Nesterov, Adam, AdamW), with and without clipping. */
    {"SGD Nesterov f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true}},
    {"AdamW f32", AG_F32, {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 1.0}},
    {"SGD f32", AG_F32, {.kind = AG_SGD, .lr = 0.1}},
    {"SGD clipped f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .clip_norm = 1.0}},
    {"SGD weight decay f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .weight_decay = 0.3}},
    {"SGD momentum f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9}},
    {"SGD momentum clipped + weight decay f32", AG_F32,
     {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 0.3, .clip_norm = 2.0}},
    {"Adam f32", AG_F32, {.kind = AG_ADAM, .lr = 0.1}},
    {"Adam (betas 0.8/0.99, eps 1e-3) f32", AG_F32,
     {.kind = AG_ADAM, .lr = 0.2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3}},
    {"Adam clipped + weight decay f32", AG_F32,
     {.kind = AG_ADAM, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 1.0}},
};

static void check_state_tensor(ag_params *state, const char *key, size_t n, const double *want,
                               double rtol, double atol)
{
    ag_tensor *t = ag_params_get(state, key);
    ck_assert_msg(t != NULL, "no optimizer state named %s", key);
    ck_assert_values(t, n, want, rtol, atol);
}

START_TEST(test_optim_formulas)
{
    const optim_case *oc = &optim_cases[_i];
    const ag_optim_config *c = &oc->cfg;
    /* f64: a step is a few roundings of O(1) values (1e-12 relative, see
     * harness.h); f32: 1e-5 relative over three steps of O(1) values. */
    double rtol = oc->dtype == AG_F64 ? H_RTOL_F64 : 1e-5;
    double atol = oc->dtype == AG_F64 ? 1e-15 : 1e-6;
    quad q = quad_new(oc->dtype);
    ag_optim *o = own_optim(ag_optim_new(q.p, c));
    ck_assert_msg(o != NULL, "%s: %s", oc->what, ag_last_error());
    ck_assert_uint_eq(ag_optim_steps(o), 0);
    ck_assert_f64(ag_optim_lr(o), c->lr);

    ref_state s = {.t = 0};
    memcpy(s.th, QW0, sizeof QW0);
    memcpy(s.th + NW, QB0, sizeof QB0);
    bool clipped = false;
    for (int step = 1; step <= 3; step++) {
        ck_assert_msg(quad_step(&q, o), "%s, step %d: %s", oc->what, step, ag_last_error());
        ref_step(c, &s);
        clipped |= c->clip_norm > 0 && s.norm > c->clip_norm;
        ck_assert_uint_eq(ag_optim_steps(o), (uint64_t)step);
        ck_assert_msg(h_near(ag_optim_last_grad_norm(o), s.norm, rtol, atol),
                      "%s, step %d: gradient norm %.17g, expected %.17g", oc->what, step,
                      ag_optim_last_grad_norm(o), s.norm);
        for (int i = 0; i < NP; i++) {
            double got = i < NW ? ag_get_flat(q.w, (size_t)i) : ag_get_flat(q.b, (size_t)(i - NW));
            ck_assert_msg(h_near(got, s.th[i], rtol, atol),
                          "%s, step %d, parameter %d: %.17g, expected %.17g", oc->what, step, i,
                          got, s.th[i]);
        }
    }
    if (c->clip_norm > 0 && c->clip_norm < 5)
        ck_assert_msg(clipped, "%s: the case should clip", oc->what);

    /* The state, by name: "momentum_buffer.<name>" for SGD with momentum,
     * "exp_avg.<name>" and "exp_avg_sq.<name>" for Adam and AdamW, none for
     * plain SGD. */
    ag_params *st = ag_optim_state(o);
    ck_assert(st != NULL);
    if (c->kind == AG_SGD) {
        ck_assert_uint_eq(ag_params_count(st), c->momentum > 0 ? 2 : 0);
        if (c->momentum > 0) {
            check_state_tensor(st, "momentum_buffer.w", NW, s.b1, rtol, atol);
            check_state_tensor(st, "momentum_buffer.fc.bias", NB, s.b1 + NW, rtol, atol);
        }
    } else {
        ck_assert_uint_eq(ag_params_count(st), 4);
        check_state_tensor(st, "exp_avg.w", NW, s.b1, rtol, atol);
        check_state_tensor(st, "exp_avg.fc.bias", NB, s.b1 + NW, rtol, atol);
        check_state_tensor(st, "exp_avg_sq.w", NW, s.b2, rtol, atol);
        check_state_tensor(st, "exp_avg_sq.fc.bias", NB, s.b2 + NW, rtol, atol);
    }
    for (size_t i = 0; i < ag_params_count(st); i++)
        ck_assert(!ag_requires_grad(ag_params_at(st, i, NULL)));
}
END_TEST

/* The step counter drives Adam's bias correction: restoring it (as a
 * checkpoint does) continues the reference trajectory exactly; an lr set
 * between steps is the one used. */
START_TEST(test_optim_steps_and_lr)
{
    ag_optim_config c = {.kind = AG_ADAM, .lr = 0.1};
    quad q = quad_new(AG_F64);
    ag_optim *o = own_optim(ag_optim_new(q.p, &c));
    ref_state s = {.t = 0};
    memcpy(s.th, QW0, sizeof QW0);
    memcpy(s.th + NW, QB0, sizeof QB0);
    ck_assert(quad_step(&q, o));
    ref_step(&c, &s);
    /* Pretend 9 steps were taken: the next step is step 10 in the bias
     * corrections. */
    ag_optim_set_steps(o, 9);
    ck_assert_uint_eq(ag_optim_steps(o), 9);
    s.t = 9;
    ck_assert(ag_optim_set_lr(o, 0.02));
    c.lr = 0.02;
    ck_assert_f64(ag_optim_lr(o), 0.02);
    ck_assert(quad_step(&q, o));
    ref_step(&c, &s);
    ck_assert_uint_eq(ag_optim_steps(o), 10);
    for (int i = 0; i < NP; i++) {
        double got = i < NW ? ag_get_flat(q.w, (size_t)i) : ag_get_flat(q.b, (size_t)(i - NW));
        ck_assert_f64(got, s.th[i]);
    }
    /* A bad rate is refused with a message, and the rate kept. */
    ck_assert(!ag_optim_set_lr(o, -1.0));
    ck_assert_error(AG_ERR_VALUE, "optim_set_lr: learning rate -1");
    ag_error_clear();
    ck_assert(!ag_optim_set_lr(o, NAN));
    ck_assert_error(AG_ERR_VALUE, "must be >= 0 (kept 0.02)");
    ag_error_clear();
    ck_assert_f64(ag_optim_lr(o), 0.02);
    ck_assert(!ag_optim_set_lr(NULL, 0.1));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_uint_eq(ag_optim_steps(NULL), 0);
    ck_assert(isnan(ag_optim_lr(NULL)));
    ck_assert_ptr_null(ag_optim_state(NULL));
}
END_TEST

/* A parameter that no gradient reached is left alone, and so is its state;
 * an integer tensor in the store gets no state and is never touched. */
START_TEST(test_optim_untouched_parameters)
{
    ag_params *p = own_params(ag_params_new());
    ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(2), H_VALS(1, -1)));
    ag_tensor *u = ag_params_add(p, "unused.weight", make(AG_F64, 1, H_SHAPE(2), H_VALS(3, 4)));
    ag_tensor *k = ag_params_add(p, "count", make(AG_I64, 0, NULL, H_VALS(42)));
    ag_optim *o = own_optim(ag_optim_new(p, &(ag_optim_config){.kind = AG_ADAMW, .lr = 0.1,
                                                               .weight_decay = 0.5}));
    ck_assert(o != NULL);
    ag_params *st = ag_optim_state(o);
    ck_assert_uint_eq(ag_params_count(st), 4); /* exp_avg and exp_avg_sq of w and unused */
    ck_assert_ptr_null(ag_params_get(st, "exp_avg.count"));
    ag_error_clear();
    for (int step = 0; step < 3; step++) {
        ag_optim_zero_grad(o);
        ck_assert(ag_backward(ag_sum(ag_square(w))));
        ck_assert(ag_optim_step(o));
        ag_tape_reset(NULL);
    }
    ck_assert(ag_get_flat(u, 0) == 3.0 && ag_get_flat(u, 1) == 4.0);
    ck_assert(ag_get_flat(k, 0) == 42.0);
    ck_assert(ag_get_flat(ag_params_get(st, "exp_avg.unused.weight"), 0) == 0.0);
    ck_assert(ag_get_flat(w, 0) != 1.0);
}
END_TEST

/* A NaN or Inf anywhere in the gradients: AG_ERR_NUMERIC, and nothing
 * changes — no parameter (not even those with finite gradients), no state,
 * no step count. */
START_TEST(test_optim_nonfinite_gradient)
{
    const double bad[] = {NAN, INFINITY, -INFINITY};
    const ag_optim_config cfgs[] = {
        {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9},
        {.kind = AG_ADAM, .lr = 0.1},
        {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.1, .clip_norm = 1.0},
    };
    for (size_t ci = 0; ci < H_COUNT(cfgs); ci++)
        for (size_t bi = 0; bi < H_COUNT(bad); bi++) {
            ag_params *p = own_params(ag_params_new());
            ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3)));
            ag_tensor *b = ag_params_add(p, "b", make(AG_F64, 1, H_SHAPE(2), H_VALS(-1, 1)));
            ag_tensor *K = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(0.5, -0.25, 2));
            ag_optim *o = own_optim(ag_optim_new(p, &cfgs[ci]));
            ck_assert(o != NULL);
            /* L = Σ K⊙w + Σ b²: dL/dw = K. A good step first, so the state
             * holds values that must survive. */
            ag_optim_zero_grad(o);
            ck_assert(ag_backward(ag_add(ag_sum(ag_mul(K, w)), ag_sum(ag_square(b)))));
            ck_assert(ag_optim_step(o));
            ag_tape_reset(NULL);

            double w0[3], b0[2];
            memcpy(w0, ag_data(w), sizeof w0);
            memcpy(b0, ag_data(b), sizeof b0);
            ag_params *st = ag_optim_state(o);
            double st0[4][3] = {{0}};
            for (size_t i = 0; i < ag_params_count(st); i++)
                memcpy(st0[i], ag_data(ag_params_at(st, i, NULL)),
                       ag_numel(ag_params_at(st, i, NULL)) * sizeof(double));

            ck_assert(ag_set_flat(K, 1, bad[bi]));
            ag_optim_zero_grad(o);
            ck_assert(ag_backward(ag_add(ag_sum(ag_mul(K, w)), ag_sum(ag_square(b)))));
            ck_assert(!ag_optim_step(o));
            ck_assert_status(AG_ERR_NUMERIC);
            ag_error_clear();
            ag_tape_reset(NULL);
            ck_assert_msg(memcmp(ag_data(w), w0, sizeof w0) == 0, "config %zu: w changed", ci);
            ck_assert_msg(memcmp(ag_data(b), b0, sizeof b0) == 0, "config %zu: b changed", ci);
            for (size_t i = 0; i < ag_params_count(st); i++)
                ck_assert_msg(memcmp(st0[i], ag_data(ag_params_at(st, i, NULL)),
                                     ag_numel(ag_params_at(st, i, NULL)) * sizeof(double)) == 0,
                              "config %zu: state %zu changed", ci, i);
            ck_assert_uint_eq(ag_optim_steps(o), 1);

            /* Fixed, training goes on. */
            ck_assert(ag_set_flat(K, 1, -0.25));
            ag_optim_zero_grad(o);
            ck_assert(ag_backward(ag_add(ag_sum(ag_mul(K, w)), ag_sum(ag_square(b)))));
            ck_assert(ag_optim_step(o));
            ag_tape_reset(NULL);
            ck_assert_uint_eq(ag_optim_steps(o), 2);
            ck_assert(ag_get_flat(w, 0) != w0[0]);
        }
}
END_TEST

/* ---- the update loops and the norm pass on larger parameters ----
 *
 * The optimizer sums f32 squares in blocks of 1024 elements (16 lanes of
 * f32, each block added into a double) and recounts in double when that sum
 * overflows, underflows or is NaN; the parameters below span several
 * blocks and a tail that is not a multiple of 16. Gradients are set
 * exactly: the gradient of Σ K⊙w with respect to w is K. */

/* Backward of Σ K_j⊙w_j for each pair (one sweep each, as the pairs may
 * differ in dtype), so that w_j's gradient (zeroed before) is K_j. */
static void set_grads(size_t n, ag_tensor *const *w, ag_tensor *const *K)
{
    for (size_t j = 0; j < n; j++) {
        ag_tensor *L = ag_sum(ag_mul(K[j], w[j]));
        ck_assert_msg(L && ag_backward(L), "pair %zu: %s", j, ag_last_error());
    }
}

/* √Σ K_j² over the pairs' values as stored, in double. */
static double norm_ref(size_t n, ag_tensor *const *K)
{
    double ss = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < ag_numel(K[j]); i++)
            ss += ag_get_flat(K[j], i) * ag_get_flat(K[j], i);
    return sqrt(ss);
}

/* Plain SGD on an f32 parameter of 1037 elements (a block and a tail of
 * 13): w − γ·s·g by hand, s = c/‖g‖ when clipping. The library computes in
 * f32: γ and s·g rounded, then the difference, so each element is within
 * 2^-23·(|w| + |γsg|) of the exact value, plus the error of ‖g‖ (at most
 * 2e-6 relative) through s. */
START_TEST(test_optim_sgd_f32_by_hand)
{
    enum { N = 1037 };
    const double lr = 0.05;
    for (int clip = 0; clip < 2; clip++) {
        ag_rng rng;
        ag_rng_seed(&rng, 31);
        ag_params *p = own_params(ag_params_new());
        ag_tensor *w = ag_params_add(p, "w", ag_rand_uniform(AG_F32, 1, H_SHAPE(N), -1, 1, &rng));
        ag_tensor *K = h_rand(AG_F32, 1, H_SHAPE(N), -2, 2, &rng);
        ck_assert(w && K);
        double gnorm = norm_ref(1, &K);
        double clip_norm = clip ? gnorm / 3 : 0, s = clip ? clip_norm / gnorm : 1;
        ag_optim *o = own_optim(
            ag_optim_new(p, &(ag_optim_config){.kind = AG_SGD, .lr = lr, .clip_norm = clip_norm}));
        ck_assert(o != NULL);
        double w0[N];
        for (size_t i = 0; i < N; i++)
            w0[i] = ag_get_flat(w, i);
        ag_optim_zero_grad(o);
        set_grads(1, &w, &K);
        ck_assert_msg(ag_optim_step(o), "%s", ag_last_error());
        ag_tape_reset(NULL);
        ck_assert_near(ag_optim_last_grad_norm(o), gnorm, 2e-6, 0);
        for (size_t i = 0; i < N; i++) {
            double step = lr * s * ag_get_flat(K, i), want = w0[i] - step;
            double tol = FLT_EPSILON * (fabs(w0[i]) + fabs(step)) + (clip ? 3e-6 * fabs(step) : 0);
            double got = ag_get_flat(w, i);
            ck_assert_msg(fabs(got - want) <= tol && got != w0[i],
                          "clip %d, element %zu: %.9g, expected %.9g (from %.9g)", clip, i, got,
                          want, w0[i]);
        }
    }
}
END_TEST

/* ‖g‖ over several parameters of both precisions (a 3000x2 f32 one: five
 * full blocks and a tail; an f64 one; a 7-element f32 bias), against a
 * double sum here: at gradients of order 1, at 1e20 (f32 squares
 * overflow, so the norm is recounted in double) and at 1e-25 (f32 squares
 * underflow: recounted too). The f32 part rounds to 2e-6 relative at most;
 * a recount is exact to f64 rounding. The step is taken in every case. */
START_TEST(test_optim_norm_many_blocks)
{
    const double scales[] = {1.0, 1e20, 1e-25};
    for (size_t si = 0; si < H_COUNT(scales); si++) {
        ag_rng rng;
        ag_rng_seed(&rng, 7);
        double a = scales[si];
        ag_params *p = own_params(ag_params_new());
        ag_tensor *w[3], *K[3];
        w[0] = ag_params_add(p, "fc.weight", ag_zeros(AG_F32, 2, H_SHAPE(3000, 2)));
        w[1] = ag_params_add(p, "g", ag_zeros(AG_F64, 1, H_SHAPE(2500)));
        w[2] = ag_params_add(p, "fc.bias", ag_zeros(AG_F32, 1, H_SHAPE(7)));
        K[0] = h_rand(AG_F32, 2, H_SHAPE(3000, 2), -2 * a, 2 * a, &rng);
        K[1] = h_rand(AG_F64, 1, H_SHAPE(2500), -a, a, &rng);
        K[2] = h_rand(AG_F32, 1, H_SHAPE(7), -a, a, &rng);
        ag_optim *o = own_optim(ag_optim_new(p, &(ag_optim_config){.kind = AG_SGD, .lr = 0}));
        ck_assert(o != NULL);
        ag_optim_zero_grad(o);
        set_grads(3, w, K);
        ck_assert_msg(ag_optim_step(o), "scale %g: %s", a, ag_last_error());
        ag_tape_reset(NULL);
        double want = norm_ref(3, K), got = ag_optim_last_grad_norm(o);
        ck_assert_msg(want > 0 && isfinite(want), "scale %g: reference norm %g", a, want);
        ck_assert_msg(h_near(got, want, si == 0 ? 2e-6 : 1e-12, 0),
                      "scale %g: norm %.17g, expected %.17g", a, got, want);
    }
}
END_TEST

/* A NaN or Inf far past the first block of the norm pass (element 5000 of
 * a 3000x2 f32 gradient) is found: the step is refused, and neither
 * parameter nor any state tensor changes. */
START_TEST(test_optim_nonfinite_far)
{
    const double bad[] = {NAN, INFINITY, -INFINITY};
    const ag_optim_config cfgs[] = {
        {.kind = AG_SGD, .lr = 0.1},
        {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 0.01},
        {.kind = AG_ADAM, .lr = 0.1},
    };
    enum { NWB = 3000 * 2, NBB = 5 };
    for (size_t ci = 0; ci < H_COUNT(cfgs); ci++)
        for (size_t bi = 0; bi < H_COUNT(bad); bi++) {
            ag_rng rng;
            ag_rng_seed(&rng, 3);
            ag_params *p = own_params(ag_params_new());
            ag_tensor *w[2], *K[2];
            w[0] = ag_params_add(p, "w", ag_rand_uniform(AG_F32, 2, H_SHAPE(3000, 2), -1, 1, &rng));
            w[1] = ag_params_add(p, "b", ag_rand_uniform(AG_F32, 1, H_SHAPE(NBB), -1, 1, &rng));
            K[0] = h_rand(AG_F32, 2, H_SHAPE(3000, 2), -1, 1, &rng);
            K[1] = h_rand(AG_F32, 1, H_SHAPE(NBB), -1, 1, &rng);
            ag_optim *o = own_optim(ag_optim_new(p, &cfgs[ci]));
            ck_assert(o != NULL);
            ag_optim_zero_grad(o);
            set_grads(2, w, K);
            ck_assert(ag_optim_step(o));
            ag_tape_reset(NULL);

            static float w0[NWB], b0[NBB], st0[4][NWB];
            memcpy(w0, ag_data(w[0]), sizeof w0);
            memcpy(b0, ag_data(w[1]), sizeof b0);
            ag_params *st = ag_optim_state(o);
            ck_assert_uint_le(ag_params_count(st), 4);
            for (size_t i = 0; i < ag_params_count(st); i++) {
                const ag_tensor *t = ag_params_at(st, i, NULL);
                memcpy(st0[i], ag_data_const(t), ag_numel(t) * sizeof(float));
            }

            ck_assert(ag_set_flat(K[0], 5000, bad[bi]));
            ag_optim_zero_grad(o);
            set_grads(2, w, K);
            ck_assert(!ag_optim_step(o));
            ck_assert_status(AG_ERR_NUMERIC);
            ag_error_clear();
            ag_tape_reset(NULL);
            ck_assert(!isfinite(ag_optim_last_grad_norm(o)));
            ck_assert_msg(memcmp(ag_data(w[0]), w0, sizeof w0) == 0, "config %zu: w changed", ci);
            ck_assert_msg(memcmp(ag_data(w[1]), b0, sizeof b0) == 0, "config %zu: b changed", ci);
            for (size_t i = 0; i < ag_params_count(st); i++) {
                const ag_tensor *t = ag_params_at(st, i, NULL);
                ck_assert_msg(memcmp(st0[i], ag_data_const(t), ag_numel(t) * sizeof(float)) == 0,
                              "config %zu: state %zu changed", ci, i);
            }
            ck_assert_uint_eq(ag_optim_steps(o), 1);
        }
}
END_TEST

/* A step after ag_optim_zero_grad with no backward sees zero gradients:
 * plain SGD leaves w as it is and reports a norm of 0; SGD with momentum
 * moves w by γμb only (b the first step's gradient). So does ag_sgd_update.
 * (A zeroed gradient may only be marked zero, its buffer still holding the
 * last values; the optimizer must read it through ag_grad_of.) */
START_TEST(test_optim_zeroed_gradient)
{
    const double W0[3] = {1, -2, 0.5}, G[3] = {0.25, -1, 2};
    const double lr = 0.1, mu = 0.5;
    for (int momentum = 0; momentum < 2; momentum++) {
        ag_params *p = own_params(ag_params_new());
        ag_tensor *w = ag_params_add(p, "w", make(AG_F32, 1, H_SHAPE(3), W0));
        ag_tensor *K = h_arr(AG_F32, 1, H_SHAPE(3), G);
        ag_optim *o = own_optim(ag_optim_new(
            p, &(ag_optim_config){.kind = AG_SGD, .lr = lr, .momentum = momentum ? mu : 0}));
        ck_assert(o != NULL);
        ag_optim_zero_grad(o);
        set_grads(1, &w, &K);
        ck_assert(ag_optim_step(o));
        ag_tape_reset(NULL);
        ag_optim_zero_grad(o);
        ck_assert(ag_optim_step(o));
        ck_assert(ag_optim_last_grad_norm(o) == 0.0);
        for (size_t i = 0; i < 3; i++) {
            double want = W0[i] - lr * G[i] - (momentum ? lr * mu * G[i] : 0);
            ck_assert_near(ag_get_flat(w, i), want, H_RTOL_F32, H_ATOL_F32);
        }
        double w1 = ag_get_flat(w, 1);
        ck_assert(ag_sgd_update(w, 1.0));
        ck_assert(ag_get_flat(w, 1) == w1);
    }
}
END_TEST

START_TEST(test_optim_bad_settings)
{
    ag_params *p = own_params(ag_params_new());
    ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(2), NULL));
    const ag_optim_config bad[] = {
        {.kind = AG_SGD, .lr = -0.1},
        {.kind = AG_SGD, .lr = NAN},
        {.kind = AG_SGD, .lr = 0.1, .momentum = -0.5},
        {.kind = AG_SGD, .lr = 0.1, .momentum = 1.0},
        {.kind = AG_SGD, .lr = 0.1, .momentum = NAN},
        {.kind = AG_SGD, .lr = 0.1, .nesterov = true}, /* Nesterov needs momentum */
        {.kind = AG_SGD, .lr = 0.1, .weight_decay = -1e-4},
        {.kind = AG_SGD, .lr = 0.1, .clip_norm = -1.0},
        {.kind = AG_ADAM, .lr = 0.1, .beta1 = 1.0},
        {.kind = AG_ADAM, .lr = 0.1, .beta1 = -0.1},
        {.kind = AG_ADAM, .lr = 0.1, .beta2 = 1.0},
        {.kind = AG_ADAM, .lr = 0.1, .beta2 = 1.5},
        {.kind = AG_ADAM, .lr = 0.1, .eps = -1e-8},
        {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = NAN},
        {.kind = (ag_optim_kind)7, .lr = 0.1},
    };
    for (size_t i = 0; i < H_COUNT(bad); i++) {
        ag_optim *o = ag_optim_new(p, &bad[i]);
        if (o)
            ag_optim_free(o);
        ck_assert_msg(o == NULL, "bad config %zu accepted", i);
        ck_assert_msg(ag_last_status() == AG_ERR_VALUE, "bad config %zu: status %s", i,
                      ag_status_str(ag_last_status()));
        ag_error_clear();
    }
    ck_assert_ptr_null(ag_optim_new(NULL, &bad[0]));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_ptr_null(ag_optim_new(p, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_optim_step(NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_optim_free(NULL);

    /* lr 0 is allowed (a frozen run); a store that grew after the
     * optimizer was made is an error, not a read past the state arrays. */
    ag_optim *o = own_optim(ag_optim_new(p, &(ag_optim_config){.kind = AG_ADAM, .lr = 0}));
    ck_assert(o != NULL);
    ag_params_add(p, "late", make(AG_F64, 1, H_SHAPE(2), NULL));
    ck_assert(!ag_optim_step(o));
    ck_assert_status(AG_ERR_STATE);
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Learning-rate schedules                                             */
/* ------------------------------------------------------------------ */

START_TEST(test_schedules)
{
    ag_schedule_config k = {.kind = AG_SCHEDULE_CONSTANT, .base_lr = 0.3};
    ck_assert_f64(ag_schedule_lr(&k, 0), 0.3);
    ck_assert_f64(ag_schedule_lr(&k, 1000000), 0.3);

    /* StepLR: base · γ^⌊t / step_size⌋. */
    ag_schedule_config s = {.kind = AG_SCHEDULE_STEP, .base_lr = 0.1, .step_size = 3, .gamma = 0.5};
    const double want[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125};
    for (uint64_t t = 0; t < H_COUNT(want); t++)
        ck_assert_f64(ag_schedule_lr(&s, t), want[t]);
    ck_assert_f64(ag_schedule_lr(&s, 3 * 20), 0.1 * pow(0.5, 20));

    /* Cosine annealing (SGDR without restarts):
     * min + (base − min)(1 + cos(πt/T))/2, then min from t = T on.
     * At T/4, T/2, 3T/4 the cosine is 1/√2, 0, −1/√2. */
    ag_schedule_config c = {
        .kind = AG_SCHEDULE_COSINE, .base_lr = 0.1, .total = 100, .min_lr = 0.001};
    ck_assert_f64(ag_schedule_lr(&c, 0), 0.1);
    ck_assert_f64(ag_schedule_lr(&c, 25), 0.001 + 0.099 * (1 + M_SQRT1_2) / 2);
    ck_assert_f64(ag_schedule_lr(&c, 50), 0.001 + 0.099 / 2);
    ck_assert_f64(ag_schedule_lr(&c, 75), 0.001 + 0.099 * (1 - M_SQRT1_2) / 2);
    ck_assert_f64(ag_schedule_lr(&c, 100), 0.001);
    ck_assert_f64(ag_schedule_lr(&c, 5000), 0.001);
    ck_assert_f64(ag_schedule_lr(&c, 10), 0.001 + 0.099 * (1 + cos(M_PI / 10)) / 2);
    double prev = INFINITY;
    for (uint64_t t = 0; t <= 100; t++) {
        double lr = ag_schedule_lr(&c, t);
        ck_assert(lr < prev && lr >= 0.001 && lr <= 0.1);
        prev = lr;
    }
    ck_assert(isnan(ag_schedule_lr(NULL, 0)));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Training on real data                                               */
/* ------------------------------------------------------------------ */

#ifndef AG_DATA_DIR_PATH
#define AG_DATA_DIR_PATH "examples/data"
#endif

static const char *data_dir(void)
{
    const char *d = getenv("AG_DATA_DIR");
    return d && *d ? d : AG_DATA_DIR_PATH;
}

typedef struct split {
    ag_dataset *all, *train, *test;
} split;

/* file (in the data folder) → 80/20 split from `seed` → features
 * standardized with the training set's statistics. */
static split load_split(const char *file, const char *label, ag_dtype dtype, uint64_t seed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir(), file);
    split s = {0};
    ag_csv_options opts = {.label_column = label, .dtype = dtype};
    s.all = own_dataset(ag_csv_load(path, &opts));
    ck_assert_msg(s.all != NULL, "loading %s (set AG_DATA_DIR to the data folder): %s", path,
                  ag_last_error());
    ck_assert_msg(ag_dataset_split(s.all, 0.2, seed, &s.train, &s.test), "split: %s",
                  ag_last_error());
    own_dataset(s.train);
    own_dataset(s.test);
    ck_assert_int_eq(s.train->n + s.test->n, s.all->n);
    ck_assert_msg(llabs(s.test->n - (s.all->n + 2) / 5) <= 1, "test set of %lld rows of %lld",
                  (long long)s.test->n, (long long)s.all->n);
    ag_standardizer st = {0};
    bool ok = ag_standardizer_fit(&st, s.train) && ag_standardizer_apply(&st, s.train) &&
              ag_standardizer_apply(&st, s.test);
    ag_standardizer_free(&st);
    ck_assert_msg(ok, "standardizing: %s", ag_last_error());
    ck_assert_int_eq(ag_tensor_dtype(s.train->X), dtype);
    return s;
}

/* ---- logistic regression on WDBC with an L2 penalty ---- */

typedef struct logreg_model {
    ag_params *p;
    double lambda;
    /* calls: every call; train_calls: those with grad mode on (training,
     * not evaluation). For the NaN test the loss is NaN at training call
     * nan_at (1-based; 0: never), and the parameters it saw are kept in
     * `seen`. */
    int calls, train_calls, nan_at;
    ag_params *seen;
} logreg_model;

static ag_tensor *logreg_logits_fn(void *m, ag_tensor *X)
{
    return ag_logreg_logits(((logreg_model *)m)->p, X);
}

/* mean NLL from the logits + λ/2 ‖w‖² */
static ag_tensor *logreg_loss_fn(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)y;
    logreg_model *mod = m;
    mod->calls++;
    mod->train_calls += ag_grad_mode();
    ag_tensor *l = ag_bce_with_logits(ag_logreg_logits(mod->p, X), targets, AG_REDUCE_MEAN);
    if (mod->lambda > 0)
        l = ag_add(l, ag_l2_penalty(mod->p, mod->lambda));
    if (ag_grad_mode() && mod->train_calls == mod->nan_at) {
        mod->seen = ag_params_clone(mod->p);
        l = ag_add_scalar(l, NAN);
    }
    return l;
}

/* The objective's gradient, independently: with p_i = σ(x_i·w + b),
 *   ∂/∂w_j = Σ_i x_ij (p_i − y_i)/n + λ w_j,   ∂/∂b = Σ_i (p_i − y_i)/n,
 * and the objective itself, Σ_i [softplus(z_i) − y_i z_i]/n + λ/2 ‖w‖².
 * Plain loops over the raw f64 arrays; g has d + 1 entries (b last). */
static double logreg_ref(const ag_dataset *ds, const double *w, double b, double lambda, double *g)
{
    const double *X = ag_data_const(ds->X);
    const int64_t *y = ag_data_const(ds->y);
    int64_t n = ds->n, d = ds->d;
    double loss = 0;
    for (int64_t j = 0; g && j <= d; j++)
        g[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        double z = b;
        for (int64_t j = 0; j < d; j++)
            z += X[i * d + j] * w[j];
        double r = sigmoid_ref(z) - (double)y[i];
        loss += softplus_ref(z) - (double)y[i] * z;
        for (int64_t j = 0; g && j < d; j++)
            g[j] += X[i * d + j] * r;
        if (g)
            g[d] += r;
    }
    double ww = 0;
    for (int64_t j = 0; j < d; j++) {
        ww += w[j] * w[j];
        if (g)
            g[j] = g[j] / (double)n + lambda * w[j];
    }
    if (g)
        g[d] /= (double)n;
    return loss / (double)n + 0.5 * lambda * ww;
}

/* Accuracy with the rule "x·w + b > 0 predicts 1", by loops. */
static double logreg_accuracy_ref(const ag_dataset *ds, const double *w, double b)
{
    const double *X = ag_data_const(ds->X);
    const int64_t *y = ag_data_const(ds->y);
    int64_t correct = 0;
    for (int64_t i = 0; i < ds->n; i++) {
        double z = b;
        for (int64_t j = 0; j < ds->d; j++)
            z += X[i * ds->d + j] * w[j];
        correct += (z > 0) == (y[i] == 1);
    }
    return (double)correct / (double)ds->n;
}

static double norm2(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* Full-batch gradient descent with Nesterov momentum on
 * mean NLL + λ/2‖w‖², until the library's gradient norm is below `tol`.
 * Returns the number of steps; the parameters are left at the point whose
 * gradient was last measured (the step is not taken once converged). */
static int logreg_fit(logreg_model *m, const ag_dataset *train, ag_tensor *targets, double tol,
                      int max_steps, double *final_norm)
{
    /* lr 1/L with L an upper bound of the Hessian's largest eigenvalue:
     * ∇² = Xᵀ diag(p(1−p)) X/n + λ on w (and the bias column of ones), with
     * p(1−p) ≤ 1/4, and λ_max(XᵀX/n) ≤ its trace = d for standardized
     * features (+1 for the bias column). */
    double L = 0.25 * (double)(train->d + 1) + m->lambda;
    ag_optim *o = own_optim(ag_optim_new(m->p, &(ag_optim_config){
                                                 .kind = AG_SGD, .lr = 1.0 / L, .momentum = 0.9,
                                                 .nesterov = true}));
    ck_assert(o != NULL);
    ag_tensor *w = ag_params_get(m->p, "w"), *b = ag_params_get(m->p, "b");
    int step;
    double gn = INFINITY;
    for (step = 0; step < max_steps; step++) {
        ag_optim_zero_grad(o);
        ag_tensor *l = logreg_loss_fn(m, train->X, train->y, targets);
        ck_assert_msg(l && ag_backward(l), "step %d: %s", step, ag_last_error());
        double s = 0;
        for (size_t j = 0; j < ag_numel(w); j++)
            s += grad_at(w, j) * grad_at(w, j);
        s += grad_at(b, 0) * grad_at(b, 0);
        gn = sqrt(s);
        if (gn < tol) {
            ag_tape_reset(NULL);
            break;
        }
        ck_assert_msg(ag_optim_step(o), "step %d: %s", step, ag_last_error());
        ag_tape_reset(NULL);
    }
    *final_norm = gn;
    return step;
}

/* Issue 4: "logistic regression on WDBC with an L2 penalty λ > 0 converges
 * to the unique optimum (gradient norm < 1e-6 in f64) and the test checks
 * the optimum's first-order condition". The penalised objective is
 * λ-strongly convex, so its optimum θ* is unique, and for any θ,
 * ‖θ − θ*‖ ≤ ‖∇(θ)‖/λ: two runs from different starting points must end
 * within (‖∇₁‖ + ‖∇₂‖)/λ of each other. */
START_TEST(test_train_logreg_wdbc_optimum)
{
    const double lambda = 1e-2, tol = 1e-6;
    split s = load_split("wdbc.csv", "benign", AG_F64, 2024);
    ck_assert_int_eq(s.all->n, 569);
    ck_assert_int_eq(s.all->d, 30);
    ck_assert_int_eq(s.all->n_classes, 2);
    int64_t d = s.train->d;
    ag_tensor *T = h_keep(ag_dataset_targets(s.train, AG_F64));
    ck_assert_shape(T, 2, H_SHAPE(s.train->n, 1));

    double theta[2][31], gnorm[2];
    for (int run = 0; run < 2; run++) {
        logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = lambda};
        ck_assert(m.p != NULL);
        ag_tensor *w = ag_params_get(m.p, "w"), *b = ag_params_get(m.p, "b");
        if (run == 1) { /* a second, random starting point */
            ag_rng rng;
            ag_rng_seed(&rng, 99);
            for (int64_t j = 0; j < d; j++)
                ag_set_flat(w, (size_t)j, 2.0 * ag_rng_normal(&rng));
            ag_set_flat(b, 0, -3.0);
        }
        /* At the start the first-order condition is far from holding. */
        double w0[31], g0[31];
        for (int64_t j = 0; j < d; j++)
            w0[j] = ag_get_flat(w, (size_t)j);
        logreg_ref(s.train, w0, ag_get_flat(b, 0), lambda, g0);
        ck_assert_msg(norm2(g0, (size_t)d + 1) > 0.1, "initial gradient norm %g",
                      norm2(g0, (size_t)d + 1));

        double lib_norm;
        int steps = logreg_fit(&m, s.train, T, tol, 20000, &lib_norm);
        ck_assert_msg(lib_norm < tol, "run %d: gradient norm %g after %d steps", run, lib_norm,
                      steps);

        /* The first-order condition, by loops: Xᵀ(σ(Xw + b) − y)/n + λw = 0
         * and Σ(σ − y)/n = 0, each component to 1e-6 (its norm too). */
        double wf[31], g[31];
        for (int64_t j = 0; j < d; j++)
            wf[j] = ag_get_flat(w, (size_t)j);
        double bf = ag_get_flat(b, 0);
        logreg_ref(s.train, wf, bf, lambda, g);
        for (int64_t j = 0; j <= d; j++)
            ck_assert_msg(fabs(g[j]) < tol, "run %d: first-order condition %lld: %g", run,
                          (long long)j, g[j]);
        gnorm[run] = norm2(g, (size_t)d + 1);
        ck_assert_msg(gnorm[run] < tol, "run %d: ‖∇‖ = %g", run, gnorm[run]);
        /* The penalty is active: w* = −Xᵀ(σ − y)/(nλ) is not 0. */
        ck_assert(norm2(wf, (size_t)d) > 1.0);
        memcpy(theta[run], wf, (size_t)d * sizeof(double));
        theta[run][d] = bf;

        /* Plausible on held-out data; ag_evaluate counts as the loop does
         * (and its mean loss is the objective on the test set). */
        double acc = logreg_accuracy_ref(s.test, wf, bf);
        ck_assert_msg(acc > 0.9, "test accuracy %g", acc);
        double lib_acc, lib_loss;
        ck_assert(ag_evaluate(&m, logreg_loss_fn, logreg_logits_fn, s.test, 50, &lib_acc,
                              &lib_loss));
        ck_assert_f64(lib_acc, acc);
        ck_assert_near(lib_loss, logreg_ref(s.test, wf, bf, lambda, NULL), 1e-12, 0);
    }
    double diff[31];
    for (int64_t j = 0; j <= d; j++)
        diff[j] = theta[0][j] - theta[1][j];
    double bound = (gnorm[0] + gnorm[1]) / lambda;
    ck_assert_msg(norm2(diff, (size_t)d + 1) <= bound, "two runs %g apart, bound %g",
                  norm2(diff, (size_t)d + 1), bound);
}
END_TEST

/* ---- the MLP on the 8x8 digits ---- */

static ag_tensor *mlp_logits_fn(void *m, ag_tensor *X)
{
    return ag_mlp_forward(m, X);
}

static ag_tensor *mlp_loss_fn(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)targets;
    return ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
}

/* A 64-h-10 ReLU MLP's accuracy and mean cross-entropy on a data set, by
 * loops over the raw f32 arrays (computed in double). */
static void mlp_eval_ref(const ag_mlp *m, const ag_dataset *ds, double *acc, double *loss)
{
    const ag_tensor *W1 = ag_params_get(m->params, "fc1.weight");
    const ag_tensor *B1 = ag_params_get(m->params, "fc1.bias");
    const ag_tensor *W2 = ag_params_get(m->params, "fc2.weight");
    const ag_tensor *B2 = ag_params_get(m->params, "fc2.bias");
    const float *w1 = ag_data_const(W1), *b1 = ag_data_const(B1);
    const float *w2 = ag_data_const(W2), *b2 = ag_data_const(B2);
    int64_t in = ag_dim(W1, 0), hid = ag_dim(W1, 1), k = ag_dim(W2, 1);
    const float *X = ag_data_const(ds->X);
    const int64_t *y = ag_data_const(ds->y);
    double h[256], z[16], nll = 0;
    int64_t correct = 0;
    ck_assert(hid <= 256 && k <= 16 && in == ds->d);
    for (int64_t i = 0; i < ds->n; i++) {
        for (int64_t j = 0; j < hid; j++) {
            double s = b1[j];
            for (int64_t c = 0; c < in; c++)
                s += (double)X[i * in + c] * w1[c * hid + j];
            h[j] = s > 0 ? s : 0;
        }
        int64_t best = 0;
        double zmax = -INFINITY;
        for (int64_t c = 0; c < k; c++) {
            double s = b2[c];
            for (int64_t j = 0; j < hid; j++)
                s += h[j] * w2[j * k + c];
            z[c] = s;
            if (s > zmax) {
                zmax = s;
                best = c;
            }
        }
        double se = 0;
        for (int64_t c = 0; c < k; c++)
            se += exp(z[c] - zmax);
        nll += zmax + log(se) - z[y[i]];
        correct += best == y[i];
    }
    *acc = (double)correct / (double)ds->n;
    *loss = nll / (double)ds->n;
}

/* Issue 4: "the MLP on digits reaches ≥ 95% test accuracy from a fixed
 * seed in under a minute on 2 cores". 64-128-10 ReLU, Adam (lr 1e-3), 30
 * epochs of batches of 32: over initialisation seeds 1–8 this reaches
 * 96.1–97.2%, so the threshold is not met by luck of one seed (64 hidden
 * units gave 95.0–96.7%, too close to it). The accuracy is recounted with
 * loops from the trained weights. */
START_TEST(test_train_mlp_digits)
{
    split s = load_split("digits8x8.csv", "digit", AG_F32, 42);
    ck_assert_int_eq(s.all->n, 1797);
    ck_assert_int_eq(s.all->d, 64);
    ck_assert_int_eq(s.all->n_classes, 10);
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_mlp *m = own_mlp(ag_mlp_new(3, H_SHAPE(64, 128, 10), AG_ACT_RELU, AG_F32, &rng));
    ag_optim_config oc = {.kind = AG_ADAM, .lr = 1e-3};
    ag_optim *o = own_optim(ag_optim_new(m->params, &oc));
    ck_assert(m && o);

    double acc0, loss0;
    mlp_eval_ref(m, s.test, &acc0, &loss0);
    ag_train_config cfg = {.epochs = 30, .batch_size = 32, .seed = 101, .quiet = true};
    ag_epoch_stats st;
    double t0 = now_s();
    ck_assert_msg(ag_train(m, mlp_loss_fn, mlp_logits_fn, o, s.train, s.test, &cfg, &st), "%s",
                  ag_last_error());
    double secs = now_s() - t0;
    ck_assert_int_eq(st.epoch, 30);
    ck_assert_uint_eq(ag_optim_steps(o), 30 * (uint64_t)((s.train->n + 31) / 32));

    double acc, loss;
    mlp_eval_ref(m, s.test, &acc, &loss);
    ck_assert_msg(acc >= 0.95, "test accuracy %.4f after 30 epochs (%.4f before)", acc, acc0);
    ck_assert_msg(acc0 < 0.5 && loss < loss0 / 4, "before: %.4f / %.4f, after: %.4f / %.4f", acc0,
                  loss0, acc, loss);

    /* ag_evaluate and the last epoch's figures agree with the loops. The
     * model is f32: a logit pair closer than f32 rounding could flip one
     * prediction (1/n), and the mean loss is an f32 sum (1e-5 relative). */
    double lib_acc, lib_loss;
    ck_assert(ag_evaluate(m, mlp_loss_fn, mlp_logits_fn, s.test, 100, &lib_acc, &lib_loss));
    ck_assert_near(lib_acc, acc, 0, 1.0 / (double)s.test->n + 1e-12);
    ck_assert_near(lib_loss, loss, 1e-5, 1e-6);
    ck_assert_near(st.test_accuracy, acc, 0, 1.0 / (double)s.test->n + 1e-12);
    ck_assert_near(st.test_loss, loss, 1e-5, 1e-6);

    /* Issue 4's budget: under a minute (here on the machine the suite runs
     * on; valgrind and sanitizers are exempt, being 10–50× slower). */
    if (!h_valgrind() && !SANITIZED)
        ck_assert_msg(secs < 60.0, "30 epochs took %.1f s", secs);
}
END_TEST

/* ---- ag_train's CSV log, schedule and NaN stop ---- */

typedef struct log_row {
    int epoch;
    double train_loss, test_loss, test_accuracy;
} log_row;

/* Parses the log: a header naming the columns, then one row per epoch.
 * Columns are found by name. Returns the number of rows. */
static int read_log(const char *path, log_row *rows, int max_rows)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "log %s: %s", path, strerror(errno));
    char line[1024];
    ck_assert(fgets(line, sizeof line, f) != NULL);
    int col[4] = {-1, -1, -1, -1}, ncols = 0;
    const char *names[4] = {"epoch", "train_loss", "test_loss", "test_accuracy"};
    for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), ncols++)
        for (int k = 0; k < 4; k++)
            if (!strcmp(tok, names[k]))
                col[k] = ncols;
    for (int k = 0; k < 4; k++)
        ck_assert_msg(col[k] >= 0, "the log's header has no column %s", names[k]);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_msg(n < max_rows, "more than %d rows in the log", max_rows);
        double v[16];
        int c = 0;
        char *p = line;
        while (c < 16) {
            char *end;
            v[c++] = strtod(p, &end);
            ck_assert_msg(end != p, "row %d, column %d: not a number: %s", n + 1, c, line);
            if (*end != ',')
                break;
            p = end + 1;
        }
        ck_assert_msg(c == ncols, "row %d has %d columns, the header %d", n + 1, c, ncols);
        rows[n].epoch = (int)v[col[0]];
        ck_assert(v[col[0]] == rows[n].epoch);
        rows[n].train_loss = v[col[1]];
        rows[n].test_loss = v[col[2]];
        rows[n].test_accuracy = v[col[3]];
        n++;
    }
    fclose(f);
    return n;
}

/* The largest divisor of n in [lo, hi], or n. */
static int64_t batch_dividing(int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t b = hi; b >= lo; b--)
        if (n % b == 0)
            return b;
    return n;
}

static void logreg_params_out(const ag_params *p, double *w, double *b, int64_t d)
{
    ck_assert_int_le(d, 30); /* the callers' arrays */
    for (int64_t j = 0; j < d; j++)
        w[j] = ag_get_flat(ag_params_get(p, "w"), (size_t)j);
    *b = ag_get_flat(ag_params_get(p, "b"), 0);
}

/* With lr = 0 the model never changes, so every epoch's train loss (the
 * mean of its batch means; batches of one size) is the objective on the
 * whole training set, and the test figures are the objective and accuracy
 * on the test set — all computed here by loops. */
START_TEST(test_train_log_frozen)
{
    const double lambda = 0.05;
    split s = load_split("wdbc.csv", "benign", AG_F64, 7);
    int64_t d = s.train->d;
    ck_assert_int_le(d, 30);
    logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = lambda};
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    double w[31], b = 0.3;
    for (int64_t j = 0; j < d; j++) {
        w[j] = 0.5 * ag_rng_normal(&rng);
        ag_set_flat(ag_params_get(m.p, "w"), (size_t)j, w[j]);
    }
    ag_set_flat(ag_params_get(m.p, "b"), 0, b);
    ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0}));
    int64_t B = batch_dividing(s.train->n, 8, 128);
    const char *log_path = tmp_path("frozen.csv");
    ag_train_config cfg = {.epochs = 4, .batch_size = B, .seed = 11, .quiet = true,
                           .log_csv = log_path};
    ag_epoch_stats st;
    ck_assert_msg(ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, &st),
                  "%s", ag_last_error());

    double train_obj = logreg_ref(s.train, w, b, lambda, NULL);
    double test_obj = logreg_ref(s.test, w, b, lambda, NULL);
    double test_acc = logreg_accuracy_ref(s.test, w, b);
    log_row rows[8];
    int n = read_log(log_path, rows, 8);
    ck_assert_int_eq(n, 4);
    /* Mean of n/B batch means, each a sum of B terms: rounding ~1e-15. */
    for (int e = 0; e < n; e++) {
        ck_assert_int_eq(rows[e].epoch, e + 1);
        ck_assert_near(rows[e].train_loss, train_obj, 1e-12, 0);
        ck_assert_near(rows[e].test_loss, test_obj, 1e-12, 0);
        ck_assert_f64(rows[e].test_accuracy, test_acc);
    }
    ck_assert_int_eq(st.epoch, 4);
    ck_assert(st.train_loss == rows[3].train_loss); /* %.17g round-trips */
    ck_assert(st.test_loss == rows[3].test_loss);
    ck_assert(st.test_accuracy == rows[3].test_accuracy);
    ck_assert_int_eq(m.calls, 4 * (int)(s.train->n / B) + 4 * (int)((s.test->n + B - 1) / B));
}
END_TEST

/* Training for real: a row per epoch, the train loss falls, the last row is
 * the returned stats, the test figures are those of the final parameters,
 * and a step schedule sets the lr from the optimizer's step count. */
START_TEST(test_train_log_and_schedule)
{
    const double lambda = 1e-3;
    const int epochs = 5;
    split s = load_split("wdbc.csv", "benign", AG_F64, 7);
    int64_t d = s.train->d, B = 32;
    logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = lambda};
    ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 1.0}));
    uint64_t per_epoch = (uint64_t)((s.train->n + B - 1) / B);
    ag_schedule_config sched = {.kind = AG_SCHEDULE_STEP, .base_lr = 0.2, .step_size = per_epoch,
                                .gamma = 0.5};
    const char *log_path = tmp_path("train.csv");
    ag_train_config cfg = {.epochs = epochs, .batch_size = B, .seed = 1, .quiet = true,
                           .log_csv = log_path, .schedule = &sched};
    ag_epoch_stats st;
    ck_assert_msg(ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, &st),
                  "%s", ag_last_error());
    uint64_t S = (uint64_t)epochs * per_epoch;
    ck_assert_uint_eq(ag_optim_steps(o), S);
    /* The last step ran at 0.2 · 0.5^⌊(S − 1)/per_epoch⌋ = 0.2 · 0.5^4. */
    ck_assert_f64(ag_optim_lr(o), 0.2 * 0.0625);

    log_row rows[16];
    int n = read_log(log_path, rows, 16);
    ck_assert_int_eq(n, epochs);
    for (int e = 0; e < n; e++) {
        ck_assert_int_eq(rows[e].epoch, e + 1);
        ck_assert(isfinite(rows[e].train_loss) && rows[e].train_loss > 0);
        ck_assert(rows[e].test_accuracy >= 0 && rows[e].test_accuracy <= 1);
    }
    /* From w = 0 the first batches' loss is ln 2 = 0.693; the fit brings
     * the mean NLL under 0.2 (WDBC is nearly separable). */
    ck_assert_msg(rows[0].train_loss < log(2.0) && rows[n - 1].train_loss < rows[0].train_loss &&
                      rows[n - 1].train_loss < 0.2,
                  "train loss %g → %g", rows[0].train_loss, rows[n - 1].train_loss);
    ck_assert_int_eq(st.epoch, epochs);
    ck_assert(st.train_loss == rows[n - 1].train_loss);
    ck_assert(st.test_loss == rows[n - 1].test_loss);
    ck_assert(st.test_accuracy == rows[n - 1].test_accuracy);
    double w[31], b;
    logreg_params_out(m.p, w, &b, d);
    ck_assert_near(rows[n - 1].test_loss, logreg_ref(s.test, w, b, lambda, NULL), 1e-12, 0);
    ck_assert_f64(rows[n - 1].test_accuracy, logreg_accuracy_ref(s.test, w, b));
    ck_assert(rows[n - 1].test_accuracy > 0.9);
}
END_TEST

/* A NaN loss at epoch 2, step 3: with stop_on_nan, ag_train stops at once
 * with AG_ERR_NUMERIC naming the epoch and step; the NaN step updates
 * nothing (the parameters are those the NaN loss saw), the loss is not
 * called again, and the log holds the one finished epoch. Without the
 * flag, training goes on and that epoch's train loss is NaN. */
START_TEST(test_train_stop_on_nan)
{
    split s = load_split("wdbc.csv", "benign", AG_F64, 3);
    int64_t d = s.train->d, B = 64;
    int per_epoch = (int)((s.train->n + B - 1) / B);
    for (int stop = 1; stop >= 0; stop--) {
        logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = 1e-3,
                          .nan_at = per_epoch + 3};
        ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.05}));
        const char *log_path = tmp_path(stop ? "nan-stop.csv" : "nan-go.csv");
        ag_train_config cfg = {.epochs = 3, .batch_size = B, .seed = 5, .quiet = true,
                               .log_csv = log_path, .stop_on_nan = stop};
        ag_epoch_stats st;
        bool ok = ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, &st);
        ck_assert_msg(m.seen != NULL, "the NaN loss was never built");
        own_params(m.seen);
        log_row rows[8];
        int n = read_log(log_path, rows, 8);
        if (stop) {
            ck_assert(!ok);
            ck_assert_status(AG_ERR_NUMERIC);
            ck_assert_msg(strstr(ag_last_error(), "epoch 2") && strstr(ag_last_error(), "step 3"),
                          "message: %s", ag_last_error());
            ag_error_clear();
            ck_assert_int_eq(m.train_calls, m.nan_at);
            ck_assert_uint_eq(ag_optim_steps(o), (uint64_t)m.nan_at - 1);
            for (size_t i = 0; i < ag_params_count(m.p); i++) {
                const ag_tensor *a = ag_params_at(m.p, i, NULL), *c = ag_params_at(m.seen, i, NULL);
                ck_assert(memcmp(ag_data_const(a), ag_data_const(c),
                                 ag_numel(a) * sizeof(double)) == 0);
                for (size_t e = 0; e < ag_numel(a); e++)
                    ck_assert(isfinite(ag_get_flat(a, e)));
            }
            ck_assert_int_eq(n, 1);
            ck_assert_int_eq(rows[0].epoch, 1);
            ck_assert(isfinite(rows[0].train_loss));
        } else {
            ck_assert_msg(ok, "%s", ag_last_error());
            ck_assert_int_eq(n, 3);
            ck_assert(isfinite(rows[0].train_loss) && isnan(rows[1].train_loss) &&
                      isfinite(rows[2].train_loss));
            ck_assert_uint_eq(ag_optim_steps(o), 3 * (uint64_t)per_epoch);
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

/* A step whose loss fails (here an expression of mismatched shapes at the
 * second training call) stops training, and the error names the epoch and
 * step before the op's own message. An error the caller left pending is
 * left as it was: it is not this call's to re-word. */
static ag_tensor *failing_loss_fn(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    logreg_model *mod = m;
    ag_tensor *l = logreg_loss_fn(m, X, y, targets);
    if (mod->train_calls == 2)
        return ag_add(l, ag_matmul(X, X)); /* (B,d) @ (B,d): inner dimensions differ */
    return l;
}

START_TEST(test_train_step_error_names_the_step)
{
    split s = load_split("wdbc.csv", "benign", AG_F64, 3);
    for (int pending = 0; pending < 2; pending++) {
        logreg_model m = {.p = own_params(ag_logreg_new(s.train->d, AG_F64))};
        ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
        ag_train_config cfg = {.epochs = 2, .batch_size = 64, .seed = 5, .quiet = true};
        ag_error_clear();
        if (pending) {
            ck_assert_ptr_null(ag_add(NULL, NULL));
            ck_assert_error(AG_ERR_NULL, "add: input 0 is NULL");
        }
        ag_epoch_stats st;
        ck_assert(!ag_train(&m, failing_loss_fn, logreg_logits_fn, o, s.train, NULL, &cfg, &st));
        ck_assert_int_eq(m.train_calls, 2);
        ck_assert_uint_eq(ag_optim_steps(o), 1);
        if (pending) {
            ck_assert_status(AG_ERR_NULL);
            ck_assert_str_eq(ag_last_error(), "add: input 0 is NULL");
        } else {
            ck_assert_error(AG_ERR_SHAPE, "train: epoch 1, step 2: matmul:");
        }
        ag_error_clear();
        ag_tape_reset(NULL);
    }
    /* A schedule that gives a negative rate stops training at its first step. */
    logreg_model m = {.p = own_params(ag_logreg_new(s.train->d, AG_F64))};
    ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
    ag_schedule_config bad = {.kind = AG_SCHEDULE_CONSTANT, .base_lr = -0.1};
    ag_train_config cfg = {.epochs = 1, .batch_size = 64, .quiet = true, .schedule = &bad};
    ck_assert(!ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, NULL, &cfg, NULL));
    ck_assert_error(AG_ERR_VALUE, "train: epoch 1, step 1: optim_set_lr: learning rate -0.1");
    ag_error_clear();
    ck_assert_int_eq(m.train_calls, 0);
    ck_assert_f64(ag_optim_lr(o), 0.1);
}
END_TEST

/* ---- no allocation in the steady state ---- */

/* What is counted: ag_alloc_count() is the number of calls to the
 * library's allocator (ag_malloc, ag_calloc, ag_realloc) — every heap
 * allocation the library makes; not bytes, and not allocations made by
 * OpenBLAS or libc on their own. After a warm-up epoch, a whole second
 * epoch of ag_train-style steps — next batch from the iterator, zero the
 * gradients, forward, backward, optimizer step, tape reset — must add none.
 * The batch size is 32 and the training set is not a multiple of it, so
 * each epoch ends with a smaller batch and the steady state covers both
 * batch shapes, as in ag_train. */
typedef struct step_case {
    const char *what;
    bool mlp; /* 64-32-10 ReLU + cross-entropy, f32, Adam; else logistic
               * regression + BCE + L2, f64, SGD Nesterov */
} step_case;

static const step_case step_cases[] = {{"MLP, Adam, f32", true}, {"logreg + L2, SGD, f64", false}};

START_TEST(test_no_alloc_steady_state)
{
    const step_case *sc = &step_cases[_i];
    split s = sc->mlp ? load_split("digits8x8.csv", "digit", AG_F32, 42)
                      : load_split("wdbc.csv", "benign", AG_F64, 42);
    void *model;
    ag_loss_fn loss;
    ag_params *params;
    logreg_model lm = {0};
    if (sc->mlp) {
        ag_rng rng;
        ag_rng_seed(&rng, 1);
        ag_mlp *m = own_mlp(ag_mlp_new(3, H_SHAPE(64, 32, 10), AG_ACT_RELU, AG_F32, &rng));
        ck_assert(m != NULL);
        model = m;
        loss = mlp_loss_fn;
        params = m->params;
    } else {
        lm.p = own_params(ag_logreg_new(s.train->d, AG_F64));
        lm.lambda = 1e-2;
        model = &lm;
        loss = logreg_loss_fn;
        params = lm.p;
    }
    ag_optim_config adam = {.kind = AG_ADAM, .lr = 1e-3};
    ag_optim_config sgd = {.kind = AG_SGD, .lr = 0.05, .momentum = 0.9, .nesterov = true};
    ag_optim *o = own_optim(ag_optim_new(params, sc->mlp ? &adam : &sgd));
    ck_assert(o != NULL);
    const int64_t B = 32, per_epoch = (s.train->n + B - 1) / B;
    ck_assert_msg(s.train->n % B != 0, "%lld rows: no smaller last batch", (long long)s.train->n);
    ag_batches *it = own_batches(ag_batches_new(s.train, B, true, 17));
    ck_assert(it != NULL);
    ck_assert_int_eq(ag_batches_count(it), per_epoch);

    size_t counts[3];
    double first_loss = NAN, last_loss = NAN;
    bool ok = true;
    int64_t steps[2] = {0, 0};
    size_t tape_nodes = 0;
    counts[0] = ag_alloc_count();
    for (int epoch = 0; epoch < 2; epoch++) {
        ag_tensor *X, *y, *t;
        while (ok && ag_batches_next(it, &X, &y, &t)) {
            ag_optim_zero_grad(o);
            ag_tensor *l = loss(model, X, y, t);
            ok = l != NULL;
            if (ok) {
                double v = ag_item(l);
                if (isnan(first_loss))
                    first_loss = v;
                last_loss = v;
                tape_nodes = ag_tape_size(NULL);
                ok = ag_backward(l) && ag_optim_step(o);
            }
            ag_tape_reset(NULL);
            steps[epoch]++;
        }
        counts[epoch + 1] = ag_alloc_count();
    }
    ck_assert_msg(ok, "%s", ag_last_error());
    ck_assert_int_eq(steps[0], per_epoch);
    ck_assert_int_eq(steps[1], per_epoch);
    ck_assert_uint_eq(ag_optim_steps(o), 2 * (uint64_t)per_epoch);
    ck_assert_uint_ge(tape_nodes, 4);     /* the steps record a real graph (the MLP: affine, relu, affine, loss) ... */
    ck_assert(last_loss < first_loss);    /* ... and train */
    ck_assert_uint_gt(counts[1], counts[0]); /* the counter sees the warm-up's allocations */
    ck_assert_msg(counts[2] == counts[1],
                  "%s: the second epoch (%lld steps of batch %lld) made %zu allocations",
                  sc->what, (long long)steps[1], (long long)B, counts[2] - counts[1]);
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

    tc = h_tcase(s, "optim", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_loop_test(tc, test_optim_formulas, 0, (int)H_COUNT(optim_cases));
    tcase_add_test(tc, test_optim_steps_and_lr);
    tcase_add_test(tc, test_optim_untouched_parameters);
    tcase_add_test(tc, test_optim_nonfinite_gradient);
    tcase_add_test(tc, test_optim_sgd_f32_by_hand);
    tcase_add_test(tc, test_optim_norm_many_blocks);
    tcase_add_test(tc, test_optim_nonfinite_far);
    tcase_add_test(tc, test_optim_zeroed_gradient);
    tcase_add_test(tc, test_optim_bad_settings);

    tc = h_tcase(s, "schedule", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_schedules);

    /* Training on real data: generous limits for valgrind and sanitizers
     * (the budget of issue 4 is asserted inside the digits test). */
    tc = h_tcase(s, "train", 900.0);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown);
    tcase_add_test(tc, test_train_logreg_wdbc_optimum);
    tcase_add_test(tc, test_train_mlp_digits);
    tcase_add_test(tc, test_train_log_frozen);
    tcase_add_test(tc, test_train_log_and_schedule);
    tcase_add_test(tc, test_train_stop_on_nan);
    tcase_add_test(tc, test_train_step_error_names_the_step);
    tcase_add_loop_test(tc, test_no_alloc_steady_state, 0, (int)H_COUNT(step_cases));

    return s;
}

H_MAIN(models_suite)

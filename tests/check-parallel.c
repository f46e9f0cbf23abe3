/* SPDX-License-Identifier: MIT */
/* check-parallel.c — the thread pool (ag_parallel_for, ag_set_num_threads)
 * and the kernels split over it.
 *
 * The pool: every index of [0, n) is run exactly once, in contiguous
 * chunks of at least the grain, for many n, grains and thread counts;
 * nested loops and loops from several user threads at once finish (they
 * run serially rather than wait); a failing pthread_create leaves one
 * thread. The kernels: every op that splits its work, an MLP training step
 * and a CNN training step give the same bits with one thread and with two,
 * at sizes past the test grain (the pool's job counter proves the two-thread
 * run reached the workers). The expected values are the one-thread run's:
 * the claim under test is that the thread count does not change a bit,
 * and the one-thread path is the kernels' serial loop, which the op
 * suites check against independent values. */
#include "harness.h"

#include "../autograd/testing.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pool ---- */

typedef struct cover {
    size_t n, grain;
    atomic_int *hits;
    atomic_int short_chunks; /* chunks below the grain (only a serial run's one chunk may be) */
    atomic_int chunks;
} cover;

static void mark(size_t lo, size_t hi, void *ctx)
{
    cover *c = ctx;
    atomic_fetch_add(&c->chunks, 1);
    if (hi - lo < c->grain && !(lo == 0 && hi == c->n))
        atomic_fetch_add(&c->short_chunks, 1);
    for (size_t i = lo; i < hi; i++)
        atomic_fetch_add(&c->hits[i], 1);
}

/* Runs a loop over [0, n) and checks that each index was run once. */
static void check_cover(size_t n, size_t grain)
{
    cover c = {.n = n, .grain = grain ? grain : 1};
    c.hits = calloc(n + 1, sizeof *c.hits);
    ck_assert_ptr_nonnull(c.hits);
    ag_parallel_for(n, grain, mark, &c);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(atomic_load(&c.hits[i]) == 1, "n %zu grain %zu threads %d: index %zu run %d times",
                      n, grain, ag_get_num_threads(), i, atomic_load(&c.hits[i]));
    ck_assert_int_eq(atomic_load(&c.short_chunks), 0);
    ck_assert_int_le(atomic_load(&c.chunks), ag_get_num_threads() > 1 ? ag_get_num_threads() : 1);
    free(c.hits);
}

START_TEST(test_chunks_cover_every_index_once)
{
    static const size_t ns[] = {0, 1, 2, 3, 7, 64, 100, 1000, 4097, 100003};
    static const size_t grains[] = {0, 1, 3, 64, 1000, 50000};
    static const int threads[] = {1, 2, 3, 4, 7};
    /* Under valgrind, which runs one thread at a time and makes every
     * hand-over slow, the first sizes, grains and thread counts only. */
    size_t n_ns = h_valgrind() ? 8 : sizeof ns / sizeof *ns;
    size_t n_grains = h_valgrind() ? 4 : sizeof grains / sizeof *grains;
    size_t n_threads = h_valgrind() ? 3 : sizeof threads / sizeof *threads;
    for (size_t t = 0; t < n_threads; t++) {
        ck_assert(ag_set_num_threads(threads[t]));
        ck_assert_int_eq(ag_get_num_threads(), threads[t]);
        for (size_t i = 0; i < n_ns; i++)
            for (size_t g = 0; g < n_grains; g++)
                check_cover(ns[i], grains[g]);
    }
}
END_TEST

/* A chunk that records which thread ran it, after a pause long enough for
 * a worker to take the other chunk. */
typedef struct who {
    pthread_t id[2];
    atomic_int k;
} who;

static void note_thread(size_t lo, size_t hi, void *ctx)
{
    who *w = ctx;
    (void)hi;
    w->id[lo ? 1 : 0] = pthread_self();
    atomic_fetch_add(&w->k, 1);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

START_TEST(test_two_threads_run_two_chunks_on_two_threads)
{
    ck_assert(ag_set_num_threads(2));
    unsigned long before = ag_parallel_jobs();
    who w = {0};
    ag_parallel_for(2, 1, note_thread, &w);
    ck_assert_int_eq(atomic_load(&w.k), 2);
    ck_assert_uint_eq(ag_parallel_jobs(), before + 1);
    /* The caller takes chunks too; while it sleeps in one, the worker
     * takes the other (a loaded machine may let the caller take both). */
    if (!pthread_equal(w.id[0], w.id[1]))
        ck_assert(pthread_equal(w.id[0], pthread_self()) || pthread_equal(w.id[1], pthread_self()));
}
END_TEST

START_TEST(test_failed_pthread_create_runs_on_one_thread)
{
    ag_parallel_shutdown();
    ag_thread_create_fail(true);
    ck_assert(ag_set_num_threads(4));
    unsigned long before = ag_parallel_jobs();
    who w = {0};
    ag_parallel_for(2, 1, note_thread, &w);
    check_cover(1000, 1);
    ag_thread_create_fail(false);
    /* No worker: the whole range as one chunk on the caller. */
    ck_assert_int_eq(atomic_load(&w.k), 1);
    ck_assert(pthread_equal(w.id[0], pthread_self()));
    ck_assert_uint_eq(ag_parallel_jobs(), before); /* no job went to a pool without workers */
    /* The next loop starts the workers that failed before. */
    ag_parallel_for(2, 1, note_thread, &w);
    ck_assert_uint_eq(ag_parallel_jobs(), before + 1);
}
END_TEST

START_TEST(test_set_num_threads_refuses_fewer_than_one)
{
    ck_assert(ag_set_num_threads(3));
    ag_error_clear();
    ck_assert(!ag_set_num_threads(0));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "set_num_threads"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "0 threads"));
    ag_error_clear();
    ck_assert(!ag_set_num_threads(-5));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "-5"));
    ck_assert_int_eq(ag_get_num_threads(), 3); /* kept */
    ag_error_clear();
    ck_assert(ag_set_num_threads(100000));
    ck_assert_int_eq(ag_get_num_threads(), 256);
    ck_assert(ag_set_num_threads(1));
    ck_assert_int_eq(ag_last_status(), AG_OK);
}
END_TEST

/* A loop whose chunks each run a loop of their own: the inner ones run
 * serially on whichever thread runs the outer chunk. */
typedef struct nest {
    size_t rows, cols;
    atomic_int *hits;
} nest;

typedef struct nest_row {
    const nest *n;
    size_t row;
} nest_row;

static void inner(size_t lo, size_t hi, void *ctx)
{
    const nest_row *r = ctx;
    for (size_t j = lo; j < hi; j++)
        atomic_fetch_add(&r->n->hits[r->row * r->n->cols + j], 1);
}

static void outer(size_t lo, size_t hi, void *ctx)
{
    const nest *n = ctx;
    for (size_t i = lo; i < hi; i++) {
        nest_row r = {n, i};
        ag_parallel_for(n->cols, 1, inner, &r);
    }
}

START_TEST(test_nested_loops_finish)
{
    ck_assert(ag_set_num_threads(2));
    nest n = {37, 101, NULL};
    n.hits = calloc(n.rows * n.cols, sizeof *n.hits);
    ck_assert_ptr_nonnull(n.hits);
    ag_parallel_for(n.rows, 1, outer, &n);
    for (size_t i = 0; i < n.rows * n.cols; i++)
        ck_assert_int_eq(atomic_load(&n.hits[i]), 1);
    free(n.hits);
}
END_TEST

enum { USERS = 4, USER_LOOPS = 200 };

static void *user_thread(void *arg)
{
    atomic_int *failures = arg;
    for (int k = 0; k < (h_valgrind() ? USER_LOOPS / 10 : USER_LOOPS); k++) {
        size_t n = 1000 + (size_t)k * 7;
        cover c = {.n = n, .grain = 16};
        c.hits = calloc(n, sizeof *c.hits);
        if (!c.hits) {
            atomic_fetch_add(failures, 1);
            continue;
        }
        ag_parallel_for(n, 16, mark, &c);
        for (size_t i = 0; i < n; i++)
            if (atomic_load(&c.hits[i]) != 1)
                atomic_fetch_add(failures, 1);
        free(c.hits);
    }
    return NULL;
}

START_TEST(test_loops_from_several_threads_finish)
{
    ck_assert(ag_set_num_threads(2));
    atomic_int failures = 0;
    pthread_t th[USERS];
    for (int i = 0; i < USERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, user_thread, &failures), 0);
    for (int i = 0; i < USERS; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&failures), 0);
}
END_TEST

/* ---- the kernels: one thread against two, bit for bit ---- */

/* The products through the portable kernel: OpenBLAS's own threads are
 * not what is under test, and ThreadSanitizer (scripts/test.sh runs this
 * suite there) cannot see their synchronisation, which is not built with
 * it. The harness's fixture restores the backend. */
static void no_blas_threads(void)
{
    ag_matmul_backend_set(AG_MATMUL_BUILTIN);
}

/* Builds the output of one op from its inputs (leaves requiring grad). */
typedef ag_tensor *(*op_fn)(ag_tensor **in);

typedef struct op_case {
    const char *name;
    op_fn f;
    int n_in;
    int ndim[3];
    int64_t shape[3][4];
    double lo, hi; /* the inputs' range */
} op_case;

/* The output's bytes, then each input's gradient's, of f on inputs drawn
 * from a fixed seed, with `threads` threads; the loss is a weighted sum of
 * the output (weights from the seed too), so each gradient element
 * differs. Heap; the caller frees. */
static unsigned char *run_case(const op_case *c, ag_dtype dt, int threads, size_t *size)
{
    no_blas_threads();
    ck_assert(ag_set_num_threads(threads));
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    ag_tensor *in[3] = {NULL};
    for (int i = 0; i < c->n_in; i++) {
        in[i] = h_rand(dt, c->ndim[i], c->shape[i], c->lo, c->hi, &rng);
        ag_set_requires_grad(in[i], true);
    }
    ag_tensor *y = c->f(in);
    ck_assert_tensor(y);
    ag_tensor *w = h_rand(dt, ag_ndim(y), ag_shape(y), -1, 1, &rng);
    ag_tensor *loss = ag_sum(ag_mul(y, w));
    ck_assert_tensor(loss);
    ck_assert(ag_backward(loss));
    size_t es = ag_dtype_size(dt), total = ag_numel(y) * es;
    for (int i = 0; i < c->n_in; i++)
        total += ag_numel(in[i]) * es;
    unsigned char *buf = malloc(total + 1), *p = buf;
    ck_assert_ptr_nonnull(buf);
    memcpy(p, ag_data_const(y), ag_numel(y) * es);
    p += ag_numel(y) * es;
    for (int i = 0; i < c->n_in; i++) {
        ag_tensor *g = ag_grad_of(in[i]);
        ck_assert_tensor(g);
        memcpy(p, ag_data_const(g), ag_numel(in[i]) * es);
        p += ag_numel(in[i]) * es;
    }
    ag_tape_reset(NULL);
    *size = total;
    return buf;
}

static ag_tensor *f_exp(ag_tensor **in) { return ag_exp(in[0]); }
static ag_tensor *f_tanh(ag_tensor **in) { return ag_tanh(in[0]); }
static ag_tensor *f_gelu(ag_tensor **in) { return ag_gelu(in[0]); }
static ag_tensor *f_relu(ag_tensor **in) { return ag_relu(in[0]); }
static ag_tensor *f_sqrt(ag_tensor **in) { return ag_sqrt(in[0]); }
static ag_tensor *f_add(ag_tensor **in) { return ag_add(in[0], in[1]); }
static ag_tensor *f_mul(ag_tensor **in) { return ag_mul(in[0], in[1]); }
static ag_tensor *f_div(ag_tensor **in) { return ag_div(in[0], in[1]); }
static ag_tensor *f_sum0(ag_tensor **in) { return ag_sum_axis(in[0], 0, false); }
static ag_tensor *f_mean1(ag_tensor **in) { return ag_mean_axis(in[0], 1, true); }
static ag_tensor *f_sum_all(ag_tensor **in) { return ag_sum(in[0]); }
static ag_tensor *f_mean_all(ag_tensor **in) { return ag_mean(in[0]); }
static ag_tensor *f_conv(ag_tensor **in)
{
    ag_conv_opts o = ag_conv_defaults();
    o.padding[0] = o.padding[1] = 1;
    return ag_conv2d(in[0], in[1], NULL, &o);
}
static ag_tensor *f_conv_strided(ag_tensor **in)
{
    ag_conv_opts o = ag_conv_defaults();
    o.stride[0] = o.stride[1] = 2;
    o.dilation[0] = 2;
    o.groups = 2;
    return ag_conv2d(in[0], in[1], NULL, &o);
}
static ag_tensor *f_max_pool(ag_tensor **in)
{
    return ag_max_pool2d(in[0], (int64_t[]){3, 3}, (int64_t[]){2, 2}, (int64_t[]){1, 1});
}
static ag_tensor *f_avg_pool(ag_tensor **in)
{
    return ag_avg_pool2d(in[0], (int64_t[]){2, 2}, (int64_t[]){2, 2}, (int64_t[]){0, 0}, true);
}
static ag_tensor *f_adaptive(ag_tensor **in) { return ag_adaptive_avg_pool2d(in[0], 5, 3); }
static ag_tensor *f_batch_norm(ag_tensor **in)
{
    return ag_batch_norm(in[0], NULL, NULL, in[1], in[2], true, 0.1, 1e-5);
}
static ag_tensor *f_layer_norm(ag_tensor **in) { return ag_layer_norm(in[0], 1, in[1], in[2], 1e-5); }

/* Sizes past the grain the kernel tests set (TEST_GRAIN). */
static const op_case cases[] = {
    {"exp", f_exp, 1, {2}, {{512, 300}}, -2, 2},
    {"tanh", f_tanh, 1, {1}, {{40001}}, -3, 3},
    {"gelu", f_gelu, 1, {2}, {{100, 333}}, -3, 3},
    {"relu", f_relu, 1, {2}, {{512, 520}}, -1, 1},
    {"sqrt", f_sqrt, 1, {1}, {{270001}}, 0.5, 2},
    {"add", f_add, 2, {2, 2}, {{512, 300}, {512, 300}}, -1, 1},
    {"add (bias)", f_add, 2, {2, 1}, {{2048, 130}, {130}}, -1, 1},
    {"mul", f_mul, 2, {1, 1}, {{300007}, {300007}}, -1, 1},
    {"mul (rows)", f_mul, 2, {2, 2}, {{1, 300}, {1000, 300}}, -1, 1},
    {"div", f_div, 2, {2, 2}, {{600, 300}, {600, 300}}, 0.5, 2},
    {"sum axis 0", f_sum0, 1, {2}, {{700, 300}}, -1, 1},
    {"mean axis 1", f_mean1, 1, {3}, {{30, 200, 50}}, -1, 1},
    {"sum", f_sum_all, 1, {1}, {{300001}}, -1, 1},
    {"mean", f_mean_all, 1, {2}, {{2000, 1000}}, -1, 1},
    {"conv2d", f_conv, 2, {4, 4}, {{4, 8, 96, 96}, {16, 8, 3, 3}}, -1, 1},
    {"conv2d strided", f_conv_strided, 2, {4, 4}, {{2, 16, 100, 90}, {8, 8, 3, 3}}, -1, 1},
    {"max_pool2d", f_max_pool, 1, {4}, {{16, 16, 40, 40}}, -1, 1},
    {"avg_pool2d", f_avg_pool, 1, {4}, {{16, 16, 40, 40}}, -1, 1},
    {"adaptive_avg_pool2d", f_adaptive, 1, {4}, {{16, 16, 40, 40}}, -1, 1},
    {"batch_norm", f_batch_norm, 3, {4, 1, 1}, {{32, 16, 24, 24}, {16}, {16}}, -1, 1},
    {"layer_norm", f_layer_norm, 3, {2, 1, 1}, {{1024, 256}, {256}, {256}}, -1, 1},
};

START_TEST(test_op_is_bit_identical_on_one_and_two_threads)
{
    const op_case *c = &cases[_i / 2];
    ag_dtype dt = _i % 2 ? AG_F64 : AG_F32;
    /* Under valgrind, which looks for memory errors rather than thread
     * effects, f32 only (the kernels are the same code for both). */
    if (h_valgrind() && dt == AG_F64)
        return;
    size_t n1, n2;
    unsigned char *one = run_case(c, dt, 1, &n1);
    unsigned long before = ag_parallel_jobs();
    unsigned char *two = run_case(c, dt, 2, &n2);
    ck_assert_msg(ag_parallel_jobs() > before, "%s: the two-thread run used no worker", c->name);
    ck_assert_uint_eq(n1, n2);
    size_t first = n1;
    for (size_t i = 0; i < n1 && first == n1; i++)
        if (one[i] != two[i])
            first = i;
    ck_assert_msg(first == n1, "%s (%s): byte %zu of %zu differs between 1 and 2 threads", c->name,
                  ag_dtype_str(dt), first, n1);
    free(one);
    free(two);
}
END_TEST

/* ---- whole training steps ---- */

/* Every parameter's bytes after `steps` steps of training with `threads`
 * threads. */
static unsigned char *params_bytes(ag_params *p, size_t *size)
{
    size_t total = 0, n = ag_params_count(p);
    for (size_t i = 0; i < n; i++) {
        ag_tensor *t = ag_params_at(p, i, NULL);
        total += ag_numel(t) * ag_dtype_size(ag_tensor_dtype(t));
    }
    unsigned char *buf = malloc(total + 1), *q = buf;
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < n; i++) {
        ag_tensor *t = ag_params_at(p, i, NULL);
        size_t b = ag_numel(t) * ag_dtype_size(ag_tensor_dtype(t));
        memcpy(q, ag_data_const(t), b);
        q += b;
    }
    *size = total;
    return buf;
}

/* A 64-512-256-10 ReLU MLP (its hidden activations and its 512×256
 * weight past the test grain at a batch of 256) trained 3 steps with Adam,
 * then 2 with SGD and momentum, then one ag_sgd_update of each
 * parameter. */
static unsigned char *mlp_run(int threads, size_t *size)
{
    no_blas_threads();
    ck_assert(ag_set_num_threads(threads));
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_mlp *m = ag_mlp_new(4, (int64_t[]){64, 512, 256, 10}, AG_ACT_RELU, AG_F32, &rng);
    ck_assert_msg((m) != NULL, "%s", ag_last_error());
    ag_tensor *X = h_rand(AG_F32, 2, (int64_t[]){256, 64}, 0, 1, &rng);
    int64_t labels[256];
    for (int i = 0; i < 256; i++)
        labels[i] = (int64_t)(ag_rng_next(&rng) % 10);
    ag_tensor *y = h_keep(ag_from_array(AG_I64, 1, (int64_t[]){256}, labels));
    ag_optim_config cfg[2] = {ag_optim_defaults(AG_ADAM), ag_optim_defaults(AG_SGD)};
    cfg[1].momentum = 0.9;
    cfg[1].lr = 0.01;
    for (int k = 0; k < 2; k++) {
        ag_optim *opt = ag_optim_new(m->params, &cfg[k]);
        ck_assert_msg((opt) != NULL, "%s", ag_last_error());
        for (int step = 0; step < 3 - k; step++) {
            ag_optim_zero_grad(opt);
            ag_tensor *loss = ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
            ck_assert_tensor(loss);
            ck_assert(ag_backward(loss));
            ck_assert(ag_optim_step(opt));
            ag_tape_reset(NULL);
        }
        ag_optim_free(opt);
    }
    ag_tensor *loss = ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
    ck_assert(ag_backward(loss));
    for (size_t i = 0; i < ag_params_count(m->params); i++)
        ck_assert(ag_sgd_update(ag_params_at(m->params, i, NULL), 0.05));
    ag_tape_reset(NULL);
    unsigned char *b = params_bytes(m->params, size);
    ag_mlp_free(m);
    return b;
}

START_TEST(test_mlp_training_is_bit_identical_on_one_and_two_threads)
{
    size_t n1, n2;
    unsigned char *one = mlp_run(1, &n1);
    unsigned long before = ag_parallel_jobs();
    unsigned char *two = mlp_run(2, &n2);
    ck_assert(ag_parallel_jobs() > before);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(one, two, n1) == 0);
    free(one);
    free(two);
}
END_TEST

/* conv 3→16 (3×3, padding 1) → batch norm → ReLU → 2×2 max pool → conv
 * 16→32 → avg pool → linear 32·8·8 → 10, on 16 images of 32×32, 3 Adam
 * steps. */
static unsigned char *cnn_run(int threads, size_t *size)
{
    no_blas_threads();
    ck_assert(ag_set_num_threads(threads));
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    ag_params *p = ag_params_new();
    ck_assert_msg((p) != NULL, "%s", ag_last_error());
    ag_params_add(p, "c1.weight", ag_rand_normal(AG_F32, 4, (int64_t[]){16, 3, 3, 3}, 0, 0.2, &rng));
    ag_params_add(p, "bn.weight", ag_rand_normal(AG_F32, 1, (int64_t[]){16}, 1, 0.1, &rng));
    ag_params_add(p, "bn.bias", ag_rand_normal(AG_F32, 1, (int64_t[]){16}, 0, 0.1, &rng));
    ag_params_add(p, "c2.weight", ag_rand_normal(AG_F32, 4, (int64_t[]){32, 16, 3, 3}, 0, 0.1, &rng));
    ag_params_add(p, "fc.weight", ag_rand_normal(AG_F32, 2, (int64_t[]){10, 32 * 8 * 8}, 0, 0.02, &rng));
    ck_assert_uint_eq(ag_params_count(p), 5);
    ag_tensor *X = h_rand(AG_F32, 4, (int64_t[]){16, 3, 32, 32}, 0, 1, &rng);
    int64_t labels[16];
    for (int i = 0; i < 16; i++)
        labels[i] = (int64_t)(ag_rng_next(&rng) % 10);
    ag_tensor *y = h_keep(ag_from_array(AG_I64, 1, (int64_t[]){16}, labels));
    ag_optim *opt = ag_optim_new(p, &(ag_optim_config){.kind = AG_ADAM, .lr = 1e-3, .beta1 = 0.9,
                                                       .beta2 = 0.999, .eps = 1e-8});
    ck_assert_msg((opt) != NULL, "%s", ag_last_error());
    ag_conv_opts same = ag_conv_defaults();
    same.padding[0] = same.padding[1] = 1;
    for (int step = 0; step < 3; step++) {
        ag_optim_zero_grad(opt);
        ag_tensor *h = ag_conv2d(X, ag_params_get(p, "c1.weight"), NULL, &same);
        h = ag_batch_norm(h, NULL, NULL, ag_params_get(p, "bn.weight"), ag_params_get(p, "bn.bias"),
                          true, 0.1, 1e-5);
        h = ag_max_pool2d(ag_relu(h), (int64_t[]){2, 2}, (int64_t[]){2, 2}, (int64_t[]){0, 0});
        h = ag_relu(ag_conv2d(h, ag_params_get(p, "c2.weight"), NULL, &same));
        h = ag_avg_pool2d(h, (int64_t[]){2, 2}, (int64_t[]){2, 2}, (int64_t[]){0, 0}, true);
        h = ag_reshape(h, 2, (int64_t[]){16, 32 * 8 * 8});
        ag_tensor *logits = ag_matmul(h, ag_transpose(ag_params_get(p, "fc.weight"), 0, 1));
        ag_tensor *loss = ag_cross_entropy(logits, y, AG_REDUCE_MEAN);
        ck_assert_tensor(loss);
        ck_assert(ag_backward(loss));
        ck_assert(ag_optim_step(opt));
        ag_tape_reset(NULL);
    }
    ag_optim_free(opt);
    unsigned char *b = params_bytes(p, size);
    ag_params_free(p);
    return b;
}

START_TEST(test_cnn_training_is_bit_identical_on_one_and_two_threads)
{
    size_t n1, n2;
    unsigned char *one = cnn_run(1, &n1);
    unsigned long before = ag_parallel_jobs();
    unsigned char *two = cnn_run(2, &n2);
    ck_assert(ag_parallel_jobs() > before);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(one, two, n1) == 0);
    free(one);
    free(two);
}
END_TEST

/* ---- several user threads training on the pool at once ---- */

typedef struct trainer {
    unsigned char *bytes;
    size_t size;
} trainer;

/* A smaller CNN-free run per thread, on its own tape: elementwise ops
 * and Adam past the test grain, so the threads compete for the pool. */
static void *train_thread(void *arg)
{
    trainer *t = arg;
    ag_tape *tape = ag_tape_new();
    ag_tape_use(tape);
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_params *p = ag_params_new();
    ag_tensor *w = ag_params_add(p, "w", ag_rand_normal(AG_F32, 2, (int64_t[]){512, 300}, 0, 1, &rng));
    ag_tensor *x = ag_rand_normal(AG_F32, 2, (int64_t[]){512, 300}, 0, 1, &rng);
    ag_optim *opt = ag_optim_new(p, &(ag_optim_config){.kind = AG_ADAM, .lr = 1e-2, .beta1 = 0.9,
                                                       .beta2 = 0.999, .eps = 1e-8});
    for (int step = 0; opt && w && x && step < 5; step++) {
        ag_optim_zero_grad(opt);
        ag_tensor *loss = ag_mean(ag_tanh(ag_mul(ag_exp(ag_mul_scalar(w, 0.1)), x)));
        if (!loss || !ag_backward(loss) || !ag_optim_step(opt))
            break;
        ag_tape_reset(NULL);
    }
    t->size = ag_numel(w) * sizeof(float);
    t->bytes = malloc(t->size);
    if (t->bytes)
        memcpy(t->bytes, ag_data_const(w), t->size);
    ag_optim_free(opt);
    ag_tensor_free(x);
    ag_params_free(p);
    ag_tape_use(NULL);
    ag_tape_free(tape);
    return NULL;
}

START_TEST(test_user_threads_share_the_pool)
{
    ck_assert(ag_set_num_threads(1));
    trainer ref = {0};
    train_thread(&ref);
    ck_assert_ptr_nonnull(ref.bytes);
    ck_assert(ag_set_num_threads(2));
    enum { T = 3 };
    trainer t[T] = {{0}};
    pthread_t th[T];
    for (int i = 0; i < T; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, train_thread, &t[i]), 0);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < T; i++) {
        ck_assert_ptr_nonnull(t[i].bytes);
        ck_assert(t[i].size == ref.size && memcmp(t[i].bytes, ref.bytes, ref.size) == 0);
        free(t[i].bytes);
    }
    free(ref.bytes);
}
END_TEST

/* The library's grain (2^19 elements, measured for speed) would need
 * tensors of millions of elements to reach the threads, too many for
 * valgrind and ThreadSanitizer; the kernels are the same code at any grain,
 * so the kernel tests lower it. */
enum { TEST_GRAIN = 1 << 13 };
static void small_grain(void) { ag_parallel_grain_set(TEST_GRAIN); }

START_TEST(test_grain_is_the_measured_default_and_can_be_lowered)
{
    ck_assert_uint_eq(ag_parallel_grain(), (size_t)1 << 19);
    ag_parallel_grain_set(100);
    ck_assert_uint_eq(ag_parallel_grain(), 100);
    ag_parallel_grain_set(0);
    ck_assert_uint_eq(ag_parallel_grain(), (size_t)1 << 19);
    /* Below 2 * grain elements a map stays on the calling thread: */
    ck_assert(ag_set_num_threads(2));
    ag_tensor *x = ag_full(AG_F32, 1, (int64_t[]){1 << 19}, 0.5);
    ck_assert_ptr_nonnull(x);
    unsigned long before = ag_parallel_jobs();
    ag_tensor *y = ag_relu(x);
    ck_assert_ptr_nonnull(y);
    ck_assert_uint_eq(ag_parallel_jobs(), before);
    /* ... and from it, on the pool. */
    ag_parallel_grain_set((1 << 19) / 2);
    ck_assert_ptr_nonnull(ag_relu(x));
    ck_assert_uint_gt(ag_parallel_jobs(), before);
    ag_parallel_grain_set(0);
    /* A transcendental map splits from a sixteenth of it: exp of 2^16
     * elements on the pool, of 2^16 - 1 not. */
    ag_tensor *e1 = ag_full(AG_F32, 1, (int64_t[]){(1 << 16) - 1}, 0.5);
    ag_tensor *e2 = ag_full(AG_F32, 1, (int64_t[]){1 << 16}, 0.5);
    ck_assert(e1 && e2);
    before = ag_parallel_jobs();
    ck_assert_ptr_nonnull(ag_exp(e1));
    ck_assert_uint_eq(ag_parallel_jobs(), before);
    ck_assert_ptr_nonnull(ag_exp(e2));
    ck_assert_uint_gt(ag_parallel_jobs(), before);
    ag_tape_reset(NULL);
    ag_tensor_free(x);
    ag_tensor_free(e1);
    ag_tensor_free(e2);
}
END_TEST

static Suite *parallel_suite(void)
{
    Suite *s = suite_create("parallel");
    TCase *tc = h_tcase(s, "pool", 120);
    tcase_add_test(tc, test_chunks_cover_every_index_once);
    tcase_add_test(tc, test_two_threads_run_two_chunks_on_two_threads);
    tcase_add_test(tc, test_failed_pthread_create_runs_on_one_thread);
    tcase_add_test(tc, test_set_num_threads_refuses_fewer_than_one);
    tcase_add_test(tc, test_grain_is_the_measured_default_and_can_be_lowered);
    tcase_add_test(tc, test_nested_loops_finish);
    tcase_add_test(tc, test_loops_from_several_threads_finish);
    tc = h_tcase(s, "kernels", 240);
    tcase_add_checked_fixture(tc, small_grain, NULL);
    tcase_add_loop_test(tc, test_op_is_bit_identical_on_one_and_two_threads, 0,
                        (int)(2 * sizeof cases / sizeof *cases));
    tcase_add_test(tc, test_mlp_training_is_bit_identical_on_one_and_two_threads);
    tcase_add_test(tc, test_cnn_training_is_bit_identical_on_one_and_two_threads);
    tcase_add_test(tc, test_user_threads_share_the_pool);
    return s;
}

H_MAIN(parallel_suite)

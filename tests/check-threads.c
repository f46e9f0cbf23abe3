/* SPDX-License-Identifier: MIT */
/* check-threads.c — the library under several threads at once.
 *
 * Tapes, grad mode and errors are per thread; the op registry, anomaly mode
 * and the allocator's counters are process-wide. These tests run threads
 * that each train a small MLP on a tape of their own while another thread
 * changes the process-wide state — registering ops, toggling anomaly mode —
 * so that the ThreadSanitizer stage of scripts/test.sh sees every shared
 * access, and check that the threads do not disturb one another: a thread's
 * training run gives bit for bit the loss the same run gives alone. */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

enum { N_TRAINERS = 3, MAX_THREADS = 8 };

/* Training steps per run: valgrind runs threads one at a time and slowly. */
static int train_steps(void)
{
    return h_valgrind() ? 6 : 40;
}

typedef struct trainer {
    uint64_t seed;
    int steps;
    double loss;     /* after the last step; NAN on failure */
    ag_status status;
    char error[256];
} trainer;

/* A 4-8-3 ReLU MLP trained with Adam on 12 points drawn from `seed`, on a
 * tape of its own; the loss of the last step into t->loss. Runs on any
 * thread, and on the calling thread for the reference. */
static void train(trainer *t)
{
    ag_error_clear();
    t->loss = NAN;
    ag_rng rng;
    ag_rng_seed(&rng, t->seed);
    ag_tape *tape = ag_tape_new();
    ag_tape *prev = tape ? ag_tape_use(tape) : NULL;
    ag_mlp *m = tape ? ag_mlp_new(3, (int64_t[]){4, 8, 3}, AG_ACT_RELU, AG_F64, &rng) : NULL;
    ag_optim *opt =
        m ? ag_optim_new(m->params, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.02, .beta1 = 0.9,
                                                       .beta2 = 0.999, .eps = 1e-8}) : NULL;
    ag_tensor *X = ag_rand_normal(AG_F64, 2, (int64_t[]){12, 4}, 0, 1, &rng);
    int64_t labels[12];
    for (int i = 0; i < 12; i++)
        labels[i] = (int64_t)(ag_rng_next(&rng) % 3);
    ag_tensor *y = ag_from_array(AG_I64, 1, (int64_t[]){12}, labels);
    for (int step = 0; opt && X && y && step < t->steps; step++) {
        ag_optim_zero_grad(opt);
        ag_tensor *loss = ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
        if (!loss || !ag_backward(loss) || !ag_optim_step(opt))
            break;
        if (step == t->steps - 1)
            t->loss = ag_item(loss);
        ag_tape_reset(tape);
    }
    t->status = ag_last_status();
    snprintf(t->error, sizeof t->error, "%s", ag_last_error());
    if (tape) {
        ag_tape_use(prev);
        ag_tape_free(tape);
    }
    ag_tensor_free(X);
    ag_tensor_free(y);
    ag_optim_free(opt);
    ag_mlp_free(m);
}

static void *train_thread(void *arg)
{
    train(arg);
    ag_tape_free(NULL); /* the thread's default tape, if anything made one */
    return NULL;
}

/* The trainers' runs, one after the other on this thread: the reference. */
static void reference_losses(trainer *t, int n, double *want)
{
    for (int i = 0; i < n; i++) {
        train(&t[i]);
        ck_assert_msg(isfinite(t[i].loss), "reference run %d failed: %s", i, t[i].error);
        want[i] = t[i].loss;
    }
}

static void start(pthread_t *th, void *(*fn)(void *), void *arg)
{
    ck_assert_int_eq(pthread_create(th, NULL, fn, arg), 0);
}

static void join(pthread_t th)
{
    ck_assert_int_eq(pthread_join(th, NULL), 0);
}

static void init_trainers(trainer *t, int n)
{
    for (int i = 0; i < n; i++)
        t[i] = (trainer){.seed = 1000 + 17 * (uint64_t)i, .steps = train_steps()};
}

START_TEST(test_threads_train_on_their_own_tapes_deterministically)
{
    trainer t[N_TRAINERS];
    double want[N_TRAINERS];
    init_trainers(t, N_TRAINERS);
    reference_losses(t, N_TRAINERS, want);
    /* Different seeds give different runs: a thread that trained on another
     * thread's tape or data would be noticed. */
    ck_assert(want[0] != want[1] && want[1] != want[2]);
    pthread_t th[N_TRAINERS];
    for (int i = 0; i < N_TRAINERS; i++)
        start(&th[i], train_thread, &t[i]);
    for (int i = 0; i < N_TRAINERS; i++)
        join(th[i]);
    for (int i = 0; i < N_TRAINERS; i++) {
        ck_assert_msg(t[i].status == AG_OK, "thread %d: %s: %s", i, ag_status_str(t[i].status),
                      t[i].error);
        ck_assert_msg(t[i].loss == want[i], "thread %d: loss %.17g, alone %.17g", i, t[i].loss,
                      want[i]);
    }
}
END_TEST

/* ---- registering ops while others run and look them up ---- */

enum { N_USER_OPS = 64 };

static atomic_int ops_registered;

/* y = 3x, dx = 3g: a user op whose value tells that the right op ran. */
static ag_tensor *triple_apply(ag_tensor *const *in, const void *params);

static bool triple_vjp(ag_tensor *node, ag_tensor *g, ag_tensor **grad_in)
{
    (void)node;
    grad_in[0] = ag_mul_scalar(g, 3.0);
    return grad_in[0] != NULL;
}

static void user_op_name(int k, char *buf, size_t size)
{
    snprintf(buf, size, "thread_triple_%d", k);
}

static ag_tensor *triple_as(const ag_op *op, ag_tensor *x)
{
    if (!ag_check_inputs(ag_op_info(op)->name, 1, &x))
        return NULL;
    ag_tensor *y = ag_op_result(op, AG_F64, ag_ndim(x), ag_shape(x), 1, &x, NULL, 0);
    if (!y)
        return NULL;
    const double *xs = ag_data(x);
    double *ys = ag_data(y);
    for (size_t i = 0; i < ag_numel(x); i++)
        ys[i] = 3.0 * xs[i];
    return y;
}

static ag_tensor *triple_apply(ag_tensor *const *in, const void *params)
{
    (void)in;
    (void)params;
    return NULL; /* not used: the lookup thread calls triple_as with the op it found */
}

typedef struct registrar {
    int registered;
    ag_status status;
    char error[256];
} registrar;

static void *register_thread(void *arg)
{
    registrar *r = arg;
    ag_error_clear();
    for (int k = 0; k < N_USER_OPS; k++) {
        char name[64];
        user_op_name(k, name, sizeof name);
        ag_op_def def = {.name = name, .n_inputs = 1, .forward = triple_apply, .vjp = triple_vjp,
                         .domain_lo = -1, .domain_hi = 1};
        if (!ag_op_register(&def))
            break;
        r->registered++;
        atomic_store(&ops_registered, k + 1);
        if (k % 8 == 0)
            sched_yield(); /* let the others in between registrations */
    }
    r->status = ag_last_status();
    snprintf(r->error, sizeof r->error, "%s", ag_last_error());
    ag_tape_free(NULL);
    return NULL;
}

typedef struct looker {
    int found;        /* user ops found and run with the right value */
    int wrong;        /* found but gave another value, or failed */
    size_t min_count; /* the smallest ag_op_count seen */
    ag_status status;
    char error[256];
} looker;

static void count_op(const ag_op *op, void *ctx)
{
    (void)op;
    (*(size_t *)ctx)++;
}

/* Looks every user op up as soon as the registrar announces it, runs it on
 * a recorded leaf, backpropagates, and sweeps the registry in between. */
static void *lookup_thread(void *arg)
{
    looker *l = arg;
    ag_error_clear();
    l->min_count = SIZE_MAX;
    ag_tape *tape = ag_tape_new();
    ag_tape *prev = ag_tape_use(tape);
    ag_tensor *x = ag_from_array(AG_F64, 1, (int64_t[]){2}, (double[]){1.5, -2.0});
    ag_set_requires_grad(x, true);
    for (int k = 0; k < N_USER_OPS && tape && x;) {
        if (atomic_load(&ops_registered) <= k) {
            size_t n = 0;
            ag_op_foreach(count_op, &n);
            if (n < l->min_count)
                l->min_count = n;
            sched_yield();
            continue;
        }
        char name[64];
        user_op_name(k, name, sizeof name);
        const ag_op *op = ag_op_find(name);
        ag_tensor *y = op ? triple_as(op, x) : NULL;
        ag_zero_grad(x);
        bool ok = y && ag_backward(ag_sum(y)) && ag_get_flat(y, 0) == 4.5 &&
                  ag_get_flat(y, 1) == -6.0 && ag_get_flat(ag_grad_of(x), 0) == 3.0;
        if (ok)
            l->found++;
        else
            l->wrong++;
        if (!ag_op_find("matmul"))
            l->wrong++;
        size_t c = ag_op_count();
        if (c < l->min_count)
            l->min_count = c;
        ag_tape_reset(tape);
        k++;
    }
    l->status = ag_last_status();
    snprintf(l->error, sizeof l->error, "%s", ag_last_error());
    ag_tensor_free(x);
    ag_tape_use(prev);
    ag_tape_free(tape);
    ag_tape_free(NULL);
    return NULL;
}

START_TEST(test_registering_ops_while_others_run_and_look_up)
{
    atomic_store(&ops_registered, 0);
    trainer t[2];
    double want[2];
    init_trainers(t, 2);
    reference_losses(t, 2, want);
    size_t builtins = ag_op_count();
    registrar r = {0};
    looker l = {0};
    pthread_t th[4];
    start(&th[0], train_thread, &t[0]);
    start(&th[1], lookup_thread, &l);
    start(&th[2], register_thread, &r);
    start(&th[3], train_thread, &t[1]);
    for (int i = 0; i < 4; i++)
        join(th[i]);
    ck_assert_msg(r.registered == N_USER_OPS, "registered %d of %d: %s", r.registered,
                  N_USER_OPS, r.error);
    ck_assert_msg(r.status == AG_OK, "registrar: %s", r.error);
    ck_assert_msg(l.status == AG_OK, "lookup thread: %s: %s", ag_status_str(l.status), l.error);
    ck_assert_int_eq(l.found, N_USER_OPS);
    ck_assert_int_eq(l.wrong, 0);
    ck_assert_uint_ge(l.min_count, builtins);
    ck_assert_uint_eq(ag_op_count(), builtins + N_USER_OPS);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(t[i].status == AG_OK, "trainer %d: %s", i, t[i].error);
        ck_assert_msg(t[i].loss == want[i], "trainer %d: loss %.17g, alone %.17g", i, t[i].loss,
                      want[i]);
    }
}
END_TEST

/* ---- toggling anomaly mode while others run ---- */

static atomic_bool stop_toggling;

static void *toggle_thread(void *arg)
{
    atomic_long *toggles = arg;
    while (!atomic_load(&stop_toggling)) {
        ag_anomaly_mode_set(!ag_anomaly_mode());
        atomic_fetch_add(toggles, 1);
        sched_yield();
    }
    ag_anomaly_mode_set(false);
    return NULL;
}

START_TEST(test_toggling_anomaly_mode_while_others_run)
{
    trainer t[N_TRAINERS];
    double want[N_TRAINERS];
    init_trainers(t, N_TRAINERS);
    reference_losses(t, N_TRAINERS, want);
    atomic_store(&stop_toggling, false);
    atomic_long toggles = 0;
    pthread_t toggler, th[N_TRAINERS];
    start(&toggler, toggle_thread, &toggles);
    /* The trainers start once the toggler runs: on a loaded machine it
     * might otherwise first be scheduled after they are done. */
    while (atomic_load(&toggles) == 0)
        sched_yield();
    for (int i = 0; i < N_TRAINERS; i++)
        start(&th[i], train_thread, &t[i]);
    for (int i = 0; i < N_TRAINERS; i++)
        join(th[i]);
    atomic_store(&stop_toggling, true);
    join(toggler);
    ck_assert_int_gt(atomic_load(&toggles), 0);
    ck_assert(!ag_anomaly_mode());
    for (int i = 0; i < N_TRAINERS; i++) {
        ck_assert_msg(t[i].status == AG_OK, "thread %d: %s: %s", i, ag_status_str(t[i].status),
                      t[i].error);
        /* In anomaly mode a sweep runs every node's rule instead of its
         * first-order kernel; the two differ only in the order of sums
         * (ag_set_grad_kernels), so the runs agree to rounding, not bit for
         * bit. */
        ck_assert_near(t[i].loss, want[i], 1e-9, 1e-12);
    }
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = h_tcase(s, "threads", 240);
    tcase_add_test(tc, test_threads_train_on_their_own_tapes_deterministically);
    tcase_add_test(tc, test_registering_ops_while_others_run_and_look_up);
    tcase_add_test(tc, test_toggling_anomaly_mode_while_others_run);
    return s;
}

H_MAIN(threads_suite)

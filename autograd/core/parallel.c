/* SPDX-License-Identifier: MIT */
/* parallel.c — the thread pool behind ag_parallel_for: the non-GEMM
 * kernels (elementwise maps, reductions along an axis, im2col, pooling,
 * normalisation, optimizer updates) split their index range over it.
 *
 * One process-wide pool of ag_get_num_threads() - 1 workers, started on the
 * first parallel call that needs them (a program that stays on one thread,
 * or never reaches a threshold, starts none). A call splits [0, n) into at
 * most as many contiguous chunks as there are threads, each at least
 * `grain` long; the workers and the caller take chunks until none is left,
 * and the call returns when every chunk is done.
 *
 * One job at a time: a call that finds the pool busy (another user thread's
 * job, each thread having its own tape) or that is made inside a chunk
 * (a nested call) runs serially on its own thread instead of waiting, so
 * nothing can deadlock. Chunks are claimed under the pool's mutex: there
 * are only a few per job, and a lock is what ThreadSanitizer reads best.
 *
 * Nothing here allocates (the workers' handles are a fixed array): the only
 * failure is pthread_create's, after which the pool runs with the workers
 * it has, none meaning serially. Under WebAssembly without -pthread
 * pthread_create always fails, so the playground runs on one thread. */
#include "../internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* The default of ag_parallel_grain, from bench/bench_threads on the 2-core
 * benchmark machine (bench/RESULTS.md has the tables). A chunk is handed to
 * a worker sleeping on a condition variable, whose wake-up costs 10-20 µs
 * on that VM, so a split pays only past some tens of microseconds of work:
 * a split add lost up to 2^18 elements and gained from 2^19-2^20 (1.2-1.8x
 * in four measurements), an SGD update gained from 2^20 (1.1-1.5x); a
 * split exp gained from 2^14-2^16 elements in three of the four (1.4-1.8x
 * at 2^16) and nowhere in one, when the second vCPU ran at 65-85 % of the
 * first's speed. So 2^19 for cheap loops (kernels split n >= 2^20) and a
 * sixteenth, 2^15, for transcendental maps (AG_GRAIN_MATH: from 2^16). */
#define DEFAULT_GRAIN ((size_t)1 << 19)

_Atomic size_t ag_grain_ = DEFAULT_GRAIN;

size_t ag_parallel_grain(void) { return atomic_load_explicit(&ag_grain_, memory_order_relaxed); }

void ag_parallel_grain_set(size_t grain)
{
    atomic_store_explicit(&ag_grain_, grain ? grain : DEFAULT_GRAIN, memory_order_relaxed);
}

/* Threads beyond this are not started (ag_set_num_threads caps to it). */
#define MAX_THREADS 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER; /* a new job, or stop */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* a job's last chunk done */

/* All below under `lock`. */
static int n_threads;            /* the setting; 0 until read from the environment */
static pthread_t workers[MAX_THREADS - 1];
static int n_workers;            /* started and not yet joined */
static bool stopping;            /* ag_shutdown: workers leave */
static bool busy;                /* a job is posted and not finished */
static unsigned long job_id;     /* bumped per job: a worker's wake-up test */
static ag_parallel_fn job_fn;
static void *job_ctx;
static size_t job_n, job_chunks, job_next, job_done;
static bool fail_create;         /* testing: pthread_create "fails" */
static unsigned long jobs_run;   /* testing: jobs handed to the pool */
static bool atfork_set;

/* Set on workers for good and on a caller while its job runs: a call from
 * there is nested and runs serially. */
static _Thread_local bool in_region;

unsigned long ag_parallel_jobs(void)
{
    pthread_mutex_lock(&lock);
    unsigned long n = jobs_run;
    pthread_mutex_unlock(&lock);
    return n;
}

/* A fork (Check runs each test in one) copies the pool's state but none of
 * its workers: the child starts with none, and the lock is taken around
 * the fork so that the child never inherits it held. */
static void before_fork(void) { pthread_mutex_lock(&lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }
static void after_fork_child(void)
{
    n_workers = 0;
    busy = false;
    stopping = false;
    job_chunks = job_next = job_done = 0;
    pthread_mutex_unlock(&lock);
}

void ag_thread_create_fail(bool on)
{
    pthread_mutex_lock(&lock);
    fail_create = on;
    pthread_mutex_unlock(&lock);
}

/* A positive integer environment variable, else 0. */
static int env_threads(const char *name)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1)
        return 0;
    return v > MAX_THREADS ? MAX_THREADS : (int)v;
}

/* The default: AG_NUM_THREADS, else OPENBLAS_NUM_THREADS (so that one
 * setting governs both, as PyTorch's does), else the online CPUs. */
static int default_threads(void)
{
    int n = env_threads("AG_NUM_THREADS");
    if (!n)
        n = env_threads("OPENBLAS_NUM_THREADS");
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c < 1 ? 1 : c > MAX_THREADS ? MAX_THREADS : (int)c;
    }
    return n;
}

/* Under lock. */
static int threads_locked(void)
{
    if (!n_threads)
        n_threads = default_threads();
    return n_threads;
}

bool ag_set_num_threads(int n)
{
    if (n < 1) {
        ag_error_set(AG_ERR_VALUE, "set_num_threads: %d threads: need at least 1", n);
        return false;
    }
    pthread_mutex_lock(&lock);
    n_threads = n > MAX_THREADS ? MAX_THREADS : n;
    pthread_mutex_unlock(&lock);
    return true;
}

int ag_get_num_threads(void)
{
    pthread_mutex_lock(&lock);
    int n = threads_locked();
    pthread_mutex_unlock(&lock);
    return n;
}

/* Runs chunks of the current job until none is left; under lock on entry
 * and exit. */
static void run_chunks_locked(void)
{
    while (job_next < job_chunks) {
        size_t c = job_next++;
        ag_parallel_fn fn = job_fn;
        void *ctx = job_ctx;
        size_t lo = job_n * c / job_chunks, hi = job_n * (c + 1) / job_chunks;
        pthread_mutex_unlock(&lock);
        fn(lo, hi, ctx);
        pthread_mutex_lock(&lock);
        if (++job_done == job_chunks)
            pthread_cond_broadcast(&done_cv);
    }
}

static void *worker_main(void *arg)
{
    (void)arg;
    in_region = true;
    pthread_mutex_lock(&lock);
    unsigned long seen = job_id;
    for (;;) {
        while (!stopping && (job_id == seen || job_next >= job_chunks))
            pthread_cond_wait(&work_cv, &lock);
        if (stopping)
            break;
        seen = job_id;
        run_chunks_locked();
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Starts workers up to want (under lock); returns how many run. */
static int start_workers_locked(int want)
{
    if (want > MAX_THREADS - 1)
        want = MAX_THREADS - 1;
    if (!atfork_set && n_workers < want && !fail_create) {
        if (pthread_atfork(before_fork, after_fork_parent, after_fork_child) != 0)
            return n_workers; /* no workers rather than a child that could hang */
        atfork_set = true;
    }
    while (n_workers < want && !fail_create) {
        if (pthread_create(&workers[n_workers], NULL, worker_main, NULL) != 0)
            break;
        n_workers++;
    }
    return n_workers;
}

void ag_parallel_for(size_t n, size_t grain, ag_parallel_fn fn, void *ctx)
{
    if (!fn) {
        ag_error_set(AG_ERR_NULL, "parallel_for: fn is NULL");
        return;
    }
    if (n == 0)
        return;
    if (grain < 1)
        grain = 1;
    if (n < 2 * grain || in_region) {
        fn(0, n, ctx);
        return;
    }
    pthread_mutex_lock(&lock);
    int threads = threads_locked();
    if (busy || threads < 2 || stopping) {
        pthread_mutex_unlock(&lock);
        fn(0, n, ctx);
        return;
    }
    int helpers = start_workers_locked(threads - 1);
    if (helpers > threads - 1)
        helpers = threads - 1; /* the setting went down since they started */
    size_t chunks = n / grain;
    if (chunks > (size_t)helpers + 1)
        chunks = (size_t)helpers + 1;
    if (chunks < 2) {
        pthread_mutex_unlock(&lock);
        fn(0, n, ctx);
        return;
    }
    busy = true;
    jobs_run++;
    job_id++;
    job_fn = fn;
    job_ctx = ctx;
    job_n = n;
    job_chunks = chunks;
    job_next = job_done = 0;
    pthread_cond_broadcast(&work_cv);
    in_region = true;
    run_chunks_locked();
    while (job_done < job_chunks)
        pthread_cond_wait(&done_cv, &lock);
    in_region = false;
    busy = false;
    job_fn = NULL;
    job_ctx = NULL;
    pthread_mutex_unlock(&lock);
}

void ag_parallel_shutdown(void)
{
    pthread_mutex_lock(&lock);
    if (busy || in_region) {
        /* Another thread's job runs: leave the workers to it. */
        pthread_mutex_unlock(&lock);
        return;
    }
    stopping = true;
    pthread_cond_broadcast(&work_cv);
    int n = n_workers;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n; i++)
        pthread_join(workers[i], NULL);
    pthread_mutex_lock(&lock);
    n_workers = 0;
    stopping = false;
    pthread_mutex_unlock(&lock);
}

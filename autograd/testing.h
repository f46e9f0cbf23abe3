/* SPDX-License-Identifier: MIT */
/* testing.h — hooks for the library's own tests, not installed: they
 * change how the library behaves (a planned allocation failure) and have
 * no place in a program. */
#ifndef AG_TESTING_H
#define AG_TESTING_H

#include "op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For out-of-memory tests: lets k more allocations succeed and fails the
 * next one (then all succeed again); a negative k cancels. Every caller
 * must report AG_ERR_NOMEM (or its own error) and leak nothing. The plan is
 * process-wide: with several threads the failure hits whichever thread
 * makes that allocation. */
void ag_alloc_fail_after(long k);

/* For the thread pool's fallback test: while on, starting a worker fails
 * as pthread_create can, so ag_parallel_for runs with the workers already
 * started (none after ag_shutdown: serially). */
void ag_thread_create_fail(bool on);
/* How many loops ag_parallel_for has handed to the pool (not run serially)
 * since the process started: a test's proof that it reached the threads. */
unsigned long ag_parallel_jobs(void);
/* Sets the grain ag_parallel_grain returns (0: back to the default), so
 * that a test reaches the threads with tensors of a size valgrind and
 * ThreadSanitizer can run. */
void ag_parallel_grain_set(size_t grain);
/* Stops and joins the pool's workers (ag_shutdown calls it); a later
 * parallel call starts them again. Does nothing while a loop runs. */
void ag_parallel_shutdown(void);

#ifdef __cplusplus
}
#endif

#endif

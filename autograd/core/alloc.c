/* SPDX-License-Identifier: MIT */
/* alloc.c — the one allocation path of the library.
 *
 * Every heap allocation goes through here so that a test can count them (a
 * training loop's steady state must make none) and fail the k-th one, to
 * prove that running out of memory is reported as AG_ERR_NOMEM and leaks
 * nothing. */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

_Thread_local bool ag_hash_oom_;

/* Both are process-wide and atomic, since any thread may allocate: the
 * count sums every thread's allocations, and the planned failure hits the
 * k-th allocation of whichever thread makes it (tests that plan one run it
 * on a single thread). */
static atomic_size_t alloc_count;
/* Allocations left before the injected failure; negative: none planned. */
static atomic_long fail_countdown = -1;

/* Counts the allocation; false when it is the one planned to fail. */
static bool allowed(void)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    long left = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (left < 0)
        return true;
    left = atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
    return left != 0;
}

void *ag_malloc(size_t size)
{
    return allowed() ? malloc(size ? size : 1) : NULL;
}

void *ag_calloc(size_t n, size_t size)
{
    return allowed() ? calloc(n ? n : 1, size ? size : 1) : NULL;
}

void *ag_realloc(void *p, size_t size)
{
    return allowed() ? realloc(p, size ? size : 1) : NULL;
}

void ag_free(void *p)
{
    free(p);
}

static void *reported(void *p, const char *who)
{
    if (!p)
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory", who);
    return p;
}

void *ag_xmalloc(size_t size, const char *who)
{
    return reported(ag_malloc(size), who);
}

void *ag_xcalloc(size_t n, size_t size, const char *who)
{
    if (size && n > SIZE_MAX / size)
        return reported(NULL, who);
    return reported(ag_calloc(n, size), who);
}

void *ag_xrealloc(void *p, size_t size, const char *who)
{
    return reported(ag_realloc(p, size), who);
}

size_t ag_alloc_count(void)
{
    return atomic_load_explicit(&alloc_count, memory_order_relaxed);
}

void ag_alloc_fail_after(long k)
{
    atomic_store_explicit(&fail_countdown, k < 0 ? -1 : k, memory_order_relaxed);
}

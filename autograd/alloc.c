/* alloc.c — the one allocation path of the library.
 *
 * Every heap allocation goes through here so that a test can count them (a
 * training loop's steady state must make none) and, later, fail the k-th one
 * to prove that out-of-memory is reported and leaks nothing. */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_size_t alloc_count;

void *ag_malloc(size_t size)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    return malloc(size ? size : 1);
}

void *ag_calloc(size_t n, size_t size)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    return calloc(n ? n : 1, size ? size : 1);
}

void *ag_realloc(void *p, size_t size)
{
    atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
    return realloc(p, size ? size : 1);
}

void ag_free(void *p)
{
    free(p);
}

size_t ag_alloc_count(void)
{
    return atomic_load_explicit(&alloc_count, memory_order_relaxed);
}

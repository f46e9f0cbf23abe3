/* SPDX-License-Identifier: MIT */
/* read_limit.c — the one bound every file reader checks before it
 * allocates for a file's contents (see ag_read_limit_set). An atomic, since
 * a loader thread may read while another sets it. */
#include "op.h"

#include <stdatomic.h>

static _Atomic uint64_t limit = AG_READ_LIMIT_DEFAULT;

uint64_t ag_read_limit_set(uint64_t max_bytes)
{
    uint64_t v = max_bytes ? max_bytes : AG_READ_LIMIT_DEFAULT;
    atomic_store_explicit(&limit, v, memory_order_relaxed);
    return v;
}

uint64_t ag_read_limit(void)
{
    return atomic_load_explicit(&limit, memory_order_relaxed);
}

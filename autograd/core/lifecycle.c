/* SPDX-License-Identifier: MIT */
/* lifecycle.c — process-wide teardown. */
#include "internal.h"

void ag_shutdown(void)
{
    ag_tape_free(NULL);
    ag_registry_free();
    ag_parallel_shutdown();
}

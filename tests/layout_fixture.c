/* SPDX-License-Identifier: MIT */
/* layout_fixture.c — the layout suites' shared helper (see
 * layout_fixture.h). */
#include "layout_fixture.h"

ag_tensor *counting(ag_dtype dtype, int ndim, const int64_t *shape)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= (size_t)shape[d];
    double v[256];
    ck_assert(n <= H_COUNT(v));
    for (size_t i = 0; i < n; i++)
        v[i] = 100.0 + (double)i;
    return h_arr(dtype, ndim, shape, v);
}

/* SPDX-License-Identifier: MIT */
/* grad_buffer.c — the gradient buffers that kernels write into: adding a
 * gradient into one, and making one on first use. In the core, below the
 * ops whose kernels call them and the sweep that hands them out. */
#include "internal.h"

void ag_add_into(ag_dtype dtype, size_t n, void *dst, const void *src)
{
    if (dtype == AG_F32) {
        float *restrict d = dst;
        const float *restrict s = src;
        for (size_t i = 0; i < n; i++)
            d[i] += s[i];
    } else {
        double *restrict d = dst;
        const double *restrict s = src;
        for (size_t i = 0; i < n; i++)
            d[i] += s[i];
    }
}

void *ag_grad_dst_data(ag_grad_dst *d)
{
    if (!d || (!d->data && !d->x)) {
        ag_error_set(AG_ERR_NULL, "grad_dst_data: %s is NULL", d ? "d->x" : "d");
        return NULL;
    }
    if (d->data)
        return d->data;
    ag_tensor *x = d->x;
    ag_tensor *t = ag_tape_tensor(x->dtype, x->ndim, x->shape);
    if (!t)
        return NULL;
    x->grad = t;
    x->grad_owned = true;
    d->data = t->data;
    d->accumulate = false;
    return d->data;
}

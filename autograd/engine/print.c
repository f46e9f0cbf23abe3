/* SPDX-License-Identifier: MIT */
/* print.c — numpy-like printing of tensors.
 *
 * Small tensors print whole; along any dimension longer than 6, only the
 * first and last three entries are shown around "...". */
#include "internal.h"

#include <math.h>

enum { EDGE = 3, FULL = 6 };

static void print_value(FILE *f, const ag_tensor *t, size_t i)
{
    if (t->dtype == AG_I64)
        fprintf(f, "%lld", (long long)((const int64_t *)t->data)[i]);
    else
        fprintf(f, "%.4f", ag_load(t, i));
}

static void print_dim(FILE *f, const ag_tensor *t, int d, size_t offset, int indent)
{
    if (d == t->ndim) {
        print_value(f, t, offset);
        return;
    }
    size_t stride = 1;
    for (int k = d + 1; k < t->ndim; k++)
        stride *= (size_t)t->shape[k];
    int64_t n = t->shape[d];
    fputc('[', f);
    for (int64_t i = 0; i < n; i++) {
        if (n > FULL && i == EDGE) {
            fputs(d == t->ndim - 1 ? "..., " : "...,\n", f);
            if (d != t->ndim - 1)
                fprintf(f, "%*s", indent + 1, "");
            i = n - EDGE - 1;
            continue;
        }
        print_dim(f, t, d + 1, offset + (size_t)i * stride, indent + 1);
        if (i + 1 < n) {
            if (d == t->ndim - 1)
                fputs(", ", f);
            else
                fprintf(f, ",\n%*s", indent + 1, "");
        }
    }
    fputc(']', f);
}

void ag_fprint(FILE *f, const ag_tensor *t)
{
    if (!f) {
        ag_error_set(AG_ERR_NULL, "fprint: f is NULL");
        return;
    }
    if (!t) {
        fputs("tensor(NULL)\n", f);
        return;
    }
    if (ag_is_stale(t)) {
        fputs("tensor(<stale: its tape was reset>)\n", f);
        return;
    }
    fputs("tensor(", f);
    if (t->numel == 0) {
        char s[160];
        fprintf(f, "[], shape=%s", ag_format_shape(t->ndim, t->shape, s, sizeof s));
    } else {
        print_dim(f, t, 0, 0, 7);
    }
    fprintf(f, ", %s%s%s%s)\n", ag_dtype_str(t->dtype), t->requires_grad ? ", requires_grad" : "",
            t->label[0] ? ", label=" : "", t->label);
}

void ag_print(const ag_tensor *t)
{
    ag_fprint(stdout, t);
}

/* SPDX-License-Identifier: MIT */
/* trace.c — printing the backward sweep step by step.
 *
 * A teaching aid built on the sweep's observer hook: for each node, in the
 * order backward visits them, the node and its op, the upstream gradient,
 * the rule the op applies and what it sends to each input. Small tensors
 * print their values; larger ones their shape and norm. */
#include "internal.h"

#include <math.h>
#include <string.h>

enum { INLINE_MAX = 6 };

/* "0.3669", "[0.3669, -0.2875]" or "(64,10), norm 1.234". */
char *ag_format_values(const ag_tensor *t, char *buf, size_t size)
{
    if (!t) {
        snprintf(buf, size, "none");
        return buf;
    }
    if (t->numel == 1 && t->ndim == 0) {
        snprintf(buf, size, "%.4g", ag_load(t, 0));
        return buf;
    }
    if (t->numel <= INLINE_MAX) {
        size_t n = (size_t)snprintf(buf, size, "[");
        for (size_t i = 0; i < t->numel && n < size; i++)
            n += (size_t)snprintf(buf + n, size - n, i ? ", %.4g" : "%.4g", ag_load(t, i));
        if (n < size)
            snprintf(buf + n, size - n, "]");
        return buf;
    }
    double s = 0;
    for (size_t i = 0; i < t->numel; i++)
        s += ag_load(t, i) * ag_load(t, i);
    char shape[96];
    snprintf(buf, size, "%s, norm %.4g", ag_format_shape(t->ndim, t->shape, shape, sizeof shape),
             sqrt(s));
    return buf;
}

void ag_trace_hook(void *ctx, const ag_tensor *node, const ag_tensor *grad_out, int n_inputs,
                   ag_tensor *const *inputs, ag_tensor *const *grad_in)
{
    const char *missing = !node ? "node" : !grad_out ? "grad_out" : n_inputs > 0 && !inputs ? "inputs"
                          : n_inputs > 0 && !grad_in ? "grad_in" : NULL;
    for (int j = 0; !missing && j < n_inputs; j++)
        if (!inputs[j])
            missing = "an input";
    if (missing) {
        ag_error_set(AG_ERR_NULL, "trace_hook: %s is NULL", missing);
        return;
    }
    if (!node->op) {
        ag_error_set(AG_ERR_VALUE, "trace_hook: the node is a leaf, not a recorded op");
        return;
    }
    FILE *f = ctx ? ctx : stdout;
    char name[64], shape[96], vals[512], in_name[64];
    fprintf(f, "[%ld] %s = %s(", (long)node->index, ag_tensor_name(node, name, sizeof name),
            node->op->def.name);
    for (int j = 0; j < n_inputs; j++)
        fprintf(f, "%s%s", j ? ", " : "", ag_tensor_name(inputs[j], in_name, sizeof in_name));
    fprintf(f, ")  %s\n", ag_format_shape(node->ndim, node->shape, shape, sizeof shape));
    fprintf(f, "    upstream grad   %s\n", ag_format_values(grad_out, vals, sizeof vals));
    if (node->op->def.rule)
        fprintf(f, "    rule            %s\n", node->op->def.rule);
    for (int j = 0; j < n_inputs; j++) {
        if (!inputs[j]->requires_grad)
            continue;
        fprintf(f, "    to %-12s += %s\n", ag_tensor_name(inputs[j], in_name, sizeof in_name),
                ag_format_values(grad_in[j], vals, sizeof vals));
    }
}

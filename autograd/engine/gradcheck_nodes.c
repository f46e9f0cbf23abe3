/* SPDX-License-Identifier: MIT */
/* gradcheck_nodes.c — finding the wrong rule inside a model.
 *
 * When the gradient of a whole model disagrees with finite differences, the
 * culprit is one node whose rule is wrong. Each recorded node can be checked
 * on its own — its op re-run from its stored params on copies of the values
 * it actually saw — so walking the tape in order names the first bad node,
 * with its op, label and shapes, instead of leaving the user to bisect. */
#include "internal.h"

#include <string.h>

typedef struct node_call {
    const ag_op *op;
    const void *params;
} node_call;

/* Through the op's forward with the node's own params and inputs, the
 * same function its builder called: never its example, which would pick
 * options of its own (a node without params passes NULL). */
static ag_tensor *rerun_node(ag_tensor *const *inputs, void *ctx)
{
    const node_call *c = ctx;
    if (c->op->def.forward)
        return c->op->def.forward(inputs, c->params);
    return ag_op_apply(c->op, inputs, c->params);
}

/* Copies of a node's inputs as leaves, marked as the originals were. */
static bool copy_inputs(const ag_tensor *node, ag_tensor **copies)
{
    for (int j = 0; j < node->n_inputs; j++) {
        const ag_tensor *in = node->inputs[j];
        copies[j] = ag_leaf_new(in->dtype == AG_I64 ? AG_I64 : AG_F64, in->ndim, in->shape);
        if (!copies[j])
            return false;
        for (size_t e = 0; e < in->numel; e++)
            ag_store(copies[j], e, ag_load(in, e));
        copies[j]->requires_grad = in->requires_grad;
    }
    return true;
}

bool ag_gradcheck_nodes(ag_fn f, void *ctx, int n, ag_tensor *const *inputs,
                        const ag_gradcheck_opts *opts, ag_gradcheck_nodes_report *report)
{
    ag_gradcheck_nodes_report local;
    ag_gradcheck_nodes_report *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    rep->bad_node = -1;
    if (!f || !inputs || n < 1 || n > AG_GRADCHECK_MAX_INPUTS) {
        ag_error_set(f && inputs ? AG_ERR_VALUE : AG_ERR_NULL,
                     "gradcheck_nodes: need a function and 1 to %d inputs", AG_GRADCHECK_MAX_INPUTS);
        return false;
    }
    if (!ag_check_inputs_any_dtype("gradcheck_nodes", n, inputs))
        return false;
    ag_gradcheck_opts o = opts ? *opts : ag_gradcheck_defaults();
    o.per_node = false;

    bool any_marked = false;
    for (int i = 0; i < n; i++)
        any_marked |= inputs[i]->requires_grad;
    ag_tape *tape = ag_tape_new();
    if (!tape)
        return false;
    ag_tape *prev = ag_tape_use(tape);
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true);

    ag_tensor *x[AG_GRADCHECK_MAX_INPUTS] = {0};
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        bool is_float = inputs[i]->dtype != AG_I64;
        x[i] = ag_leaf_new(is_float ? AG_F64 : AG_I64, inputs[i]->ndim, inputs[i]->shape);
        ok = x[i] != NULL;
        for (size_t e = 0; ok && e < inputs[i]->numel; e++)
            ag_store(x[i], e, ag_load(inputs[i], e));
        if (ok && is_float && (inputs[i]->requires_grad || !any_marked))
            x[i]->requires_grad = true;
    }
    ok = ok && f(x, ctx) != NULL;
    rep->pass = ok;

    /* The nodes f recorded; checking one records more on the same tape. */
    size_t count = ok ? tape->n_nodes : 0;
    rep->n_nodes = count;
    for (size_t k = 0; ok && k < count; k++) {
        const ag_tensor *node = ag_tape_node(tape, k);
        if (node->n_inputs > AG_GRADCHECK_MAX_INPUTS)
            continue; /* a concat of many pieces; its rule is checked by the sweep */
        ag_tensor *copies[AG_GRADCHECK_MAX_INPUTS] = {0};
        node_call call = {node->op, node->params};
        ok = copy_inputs(node, copies);
        bool pass = ok && ag_gradcheck(rerun_node, &call, node->n_inputs, copies, &o, &rep->detail);
        for (int j = 0; j < node->n_inputs; j++)
            ag_tensor_free(copies[j]);
        rep->n_checked++;
        if (!pass) {
            rep->pass = false;
            rep->bad_node = (long)k;
            snprintf(rep->op, sizeof rep->op, "%s", node->op->def.name);
            snprintf(rep->label, sizeof rep->label, "%s", node->label);
            snprintf(rep->detail.name, sizeof rep->detail.name, "%s", node->op->def.name);
            rep->n_inputs = node->n_inputs;
            for (int j = 0; j < node->n_inputs; j++) {
                rep->ndim[j] = node->inputs[j]->ndim;
                memcpy(rep->shape[j], node->inputs[j]->shape, sizeof rep->shape[j]);
            }
            break;
        }
    }
    if (!ok)
        rep->pass = false;
    for (int i = 0; i < n; i++)
        ag_tensor_free(x[i]);
    ag_grad_mode_set(mode);
    ag_tape_use(prev);
    ag_tape_free(tape);
    return rep->pass;
}

char *ag_format_culprit(const ag_gradcheck_nodes_report *r, char *buf, size_t size)
{
    if (r->bad_node < 0) {
        snprintf(buf, size, r->pass ? "all %zu nodes pass" : "no single node is wrong (%zu checked)",
                 r->n_checked);
        return buf;
    }
    size_t len = (size_t)snprintf(buf, size, "node %ld: op '%s'%s%s%s inputs", r->bad_node, r->op,
                                  r->label[0] ? " label '" : "", r->label, r->label[0] ? "'" : "");
    for (int j = 0; j < r->n_inputs && len < size; j++) {
        char s[128];
        len += (size_t)snprintf(buf + len, size - len, " %s",
                                ag_format_shape(r->ndim[j], r->shape[j], s, sizeof s));
    }
    for (int j = 0; j < r->detail.n_inputs && len < size; j++) {
        const ag_gradcheck_input *in = &r->detail.inputs[j];
        if (!in->checked || in->pass)
            continue;
        char idx[64];
        ag_format_shape(in->ndim, in->worst_index, idx, sizeof idx);
        len += (size_t)snprintf(buf + len, size - len,
                                "; input %d element %s: analytic %.6g, numeric %.6g", j, idx,
                                in->analytic, in->numeric);
        break;
    }
    return buf;
}

void ag_gradcheck_nodes_fprint(FILE *f, const ag_gradcheck_nodes_report *r)
{
    if (!f || !r) {
        ag_error_set(AG_ERR_NULL, "gradcheck_nodes_fprint: %s is NULL", f ? "report" : "f");
        return;
    }
    char buf[512];
    fprintf(f, "gradcheck by node: %s\n", ag_format_culprit(r, buf, sizeof buf));
}

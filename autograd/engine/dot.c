/* SPDX-License-Identifier: MIT */
/* dot.c — the recorded graph as a Graphviz picture.
 *
 * One box per tensor reachable from the outputs: op, label and shape, and
 * for small tensors the value and the gradient left by the last backward
 * sweep. Parameters, constants and computed nodes are drawn differently, so
 * a student can see which boxes training changes. A backward pass recorded
 * with create_graph is just more nodes on the tape, and draws the same way.
 * Rendering the DOT is the caller's (the library starts no process):
 * `dot -Tsvg graph.dot -o graph.svg`, as examples/seed_backprop.c does. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct seen {
    const ag_tensor *t;
    size_t id;
    UT_hash_handle hh;
} seen;

/* DOT strings are double-quoted: escape what would end or break them. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void put_node(FILE *f, const ag_tensor *t, size_t id)
{
    char name[64], shape[96], vals[512];
    const char *style;
    if (!t->leaf && t->op)
        style = "shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\"";
    else if (t->requires_grad)
        style = "shape=box, style=filled, fillcolor=\"#fde9c8\", penwidth=2";
    else
        style = "shape=box, style=filled, fillcolor=\"#eeeeee\"";
    fprintf(f, "  n%zu [%s, label=\"", id, style);
    if (!t->leaf && t->op) {
        put_escaped(f, t->op->def.name);
        if (t->label[0]) {
            fputs(": ", f);
            put_escaped(f, t->label);
        }
    } else {
        put_escaped(f, t->label[0] ? t->label : t->requires_grad ? "parameter" : "constant");
    }
    fprintf(f, "\\n%s %s", ag_format_shape(t->ndim, t->shape, shape, sizeof shape),
            ag_dtype_str(t->dtype));
    if (t->numel <= 6) {
        fputs("\\nvalue ", f);
        put_escaped(f, ag_format_values(t, vals, sizeof vals));
        const ag_tensor *g = t->leaf ? ag_grad_of(t) : t->grad;
        if (g && (g->leaf || !ag_is_stale(g))) {
            fputs("\\ngrad ", f);
            put_escaped(f, ag_format_values(g, vals, sizeof vals));
        }
    }
    fputs("\"];\n", f);
    (void)name;
}

bool ag_graph_dot(FILE *f, int n, ag_tensor *const *outputs)
{
    if (!f || !outputs || n < 1) {
        ag_error_set(AG_ERR_NULL, "graph_dot: need a file and at least one output");
        return false;
    }
    if (!ag_check_inputs_any_dtype("graph_dot", n, outputs))
        return false;
    seen *set = NULL;
    const ag_tensor **stack = NULL;
    size_t top = 0, cap = 0, next_id = 0;
    bool ok = true;
    fprintf(f, "digraph autograd {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n");
    for (int i = 0; i < n && ok; i++) {
        if (top == cap) {
            cap = cap ? 2 * cap : 64;
            const ag_tensor **s = ag_realloc(stack, cap * sizeof *s);
            if (!s) {
                ok = false;
                break;
            }
            stack = s;
        }
        stack[top++] = outputs[i];
    }
    /* Depth-first with an explicit stack: graphs can be deep. */
    while (ok && top > 0) {
        const ag_tensor *t = stack[--top];
        seen *s = NULL;
        HASH_FIND_PTR(set, &t, s);
        if (s)
            continue;
        s = ag_malloc(sizeof *s);
        if (!s) {
            ok = false;
            break;
        }
        s->t = t;
        s->id = next_id++;
        ag_hash_oom_ = false;
        HASH_ADD_PTR(set, t, s);
        if (ag_hash_oom_) {
            ag_free(s);
            ok = false;
            break;
        }
        put_node(f, t, s->id);
        for (int j = 0; t->op && j < t->n_inputs; j++) {
            if (top == cap) {
                cap = cap ? 2 * cap : 64;
                const ag_tensor **ns = ag_realloc(stack, cap * sizeof *ns);
                if (!ns) {
                    ok = false;
                    break;
                }
                stack = ns;
            }
            stack[top++] = t->inputs[j];
        }
    }
    /* Edges, once every node has its id. */
    seen *s, *tmp;
    HASH_ITER(hh, set, s, tmp) {
        const ag_tensor *t = s->t;
        for (int j = 0; ok && t->op && j < t->n_inputs; j++) {
            seen *in = NULL;
            const ag_tensor *ip = t->inputs[j];
            HASH_FIND_PTR(set, &ip, in);
            if (in)
                fprintf(f, "  n%zu -> n%zu%s;\n", in->id, s->id,
                        t->n_inputs > 1 ? (j == 0 ? " [taillabel=\"0\"]" : " [taillabel=\"1\"]") : "");
        }
    }
    fputs("}\n", f);
    HASH_ITER(hh, set, s, tmp) {
        HASH_DEL(set, s);
        ag_free(s);
    }
    ag_free(stack);
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "graph_dot: out of memory");
    return ok;
}

/* SPDX-License-Identifier: MIT */
/* explain.c — one gradient as a sum over paths of products of local
 * derivatives: the chain rule, with numbers.
 *
 * The graph is unfolded to single elements: each node's rule, run with a
 * one-hot upstream gradient, gives the local derivatives of one output
 * element with respect to every input element (a row of its Jacobian), and
 * its nonzero entries are the element-level edges. The labelled tensors on
 * the way from x to the loss are the waypoints a lecture would name (a20,
 * z20, ...); between two waypoints the derivatives of the unnamed steps are
 * summed over their paths, so each printed path is a product of a few named
 * factors: ∂E/∂a20 · ∂a20/∂z20 · ∂z20/∂w = 0.37 × 0.25 × 0.54. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The unfolded graph grows with the elements involved, not the nodes: a
 * scalar chain of 10⁵ nodes is 10⁵ vertices, a matmul a dense block of
 * edges. The caps keep a mistaken call on a large model to a few hundred
 * MB and a clear error. */
enum { MAX_VERTS = 1 << 20, MAX_EDGES = 1 << 24 };

typedef struct vkey {
    const ag_tensor *t;
    size_t e;
} vkey;

typedef struct vert {
    vkey k;
    size_t id;      /* position in graph.v */
    long index;     /* tape position; -1 for leaves */
    size_t first;   /* its edges: edges[first .. first + n_edges) */
    size_t n_edges;
    bool reach;     /* the target is reachable from here */
    bool waypoint;
    double D;       /* scratch for the path sums */
    UT_hash_handle hh;
} vert;

typedef struct edge {
    size_t to;      /* vertex id */
    double w;       /* ∂from/∂to */
} edge;

typedef struct graph {
    vert *by_key;
    vert **v;       /* by id */
    size_t nv, capv;
    edge *e;
    size_t ne, cape;
} graph;

static void graph_free(graph *g)
{
    vert *x, *tmp;
    HASH_ITER(hh, g->by_key, x, tmp) {
        HASH_DEL(g->by_key, x);
        ag_free(x);
    }
    ag_free(g->v);
    ag_free(g->e);
}

static size_t find_or_add(graph *g, const ag_tensor *t, size_t e, bool *added)
{
    vkey k;
    memset(&k, 0, sizeof k);
    k.t = t;
    k.e = e;
    vert *x = NULL;
    HASH_FIND(hh, g->by_key, &k, sizeof k, x);
    *added = false;
    if (x)
        return x->id;
    if (g->nv >= MAX_VERTS) {
        ag_error_set(AG_ERR_VALUE,
                     "explain: more than %d scalar steps lead to the loss; too many paths to "
                     "list (use the backward trace)",
                     MAX_VERTS);
        return SIZE_MAX;
    }
    if (g->nv == g->capv) {
        size_t cap = g->capv ? 2 * g->capv : 64;
        vert **v = ag_xrealloc(g->v, cap * sizeof *v, "explain");
        if (!v)
            return SIZE_MAX;
        g->v = v;
        g->capv = cap;
    }
    x = ag_xcalloc(1, sizeof *x, "explain");
    if (!x)
        return SIZE_MAX;
    x->k = k;
    x->id = g->nv;
    x->index = t->leaf ? -1 : t->index;
    ag_hash_oom_ = false;
    HASH_ADD(hh, g->by_key, k, sizeof k, x);
    if (ag_hash_oom_) {
        ag_free(x);
        ag_error_set(AG_ERR_NOMEM, "explain: out of memory");
        return SIZE_MAX;
    }
    g->v[g->nv] = x;
    *added = true;
    return g->nv++;
}

static bool add_edge(graph *g, size_t to, double w)
{
    if (g->ne >= MAX_EDGES) {
        ag_error_set(AG_ERR_VALUE,
                     "explain: more than %d element-level derivatives lead to the loss; too "
                     "many to unfold (use the backward trace)",
                     MAX_EDGES);
        return false;
    }
    if (g->ne == g->cape) {
        size_t cap = g->cape ? 2 * g->cape : 256;
        edge *e = ag_xrealloc(g->e, cap * sizeof *e, "explain");
        if (!e)
            return false;
        g->e = e;
        g->cape = cap;
    }
    g->e[g->ne].to = to;
    g->e[g->ne].w = w;
    g->ne++;
    return true;
}

/* Unfolds the element-level graph below (loss, le): a vertex's edges are
 * the nonzero entries of its node's rule run on a one-hot gradient. */
static bool unfold(graph *g, const ag_tensor *loss, size_t le)
{
    bool added;
    if (find_or_add(g, loss, le, &added) == SIZE_MAX)
        return false;
    for (size_t id = 0; id < g->nv; id++) {
        vert *v = g->v[id];
        const ag_tensor *t = v->k.t;
        v->first = g->ne;
        if (t->leaf || !t->op)
            continue;
        ag_tensor *seed = ag_tape_tensor(t->dtype, t->ndim, t->shape);
        if (!seed)
            return false;
        memset(seed->data, 0, t->numel * ag_dtype_size(t->dtype));
        ag_store(seed, v->k.e, 1.0);
        ag_tensor *local[AG_GRADCHECK_MAX_INPUTS] = {0};
        ag_tensor **gin = t->n_inputs <= AG_GRADCHECK_MAX_INPUTS
                              ? local
                              : ag_tape_alloc((size_t)t->n_inputs * sizeof *gin);
        if (!gin)
            return false;
        memset(gin, 0, (size_t)t->n_inputs * sizeof *gin);
        if (!t->op->def.vjp((ag_tensor *)t, seed, gin))
            return false;
        for (int j = 0; j < t->n_inputs; j++) {
            const ag_tensor *in = t->inputs[j];
            if (!gin[j] || !in->requires_grad)
                continue;
            for (size_t i = 0; i < gin[j]->numel; i++) {
                double w = ag_load(gin[j], i);
                if (w == 0)
                    continue;
                size_t to = find_or_add(g, in, i, &added);
                if (to == SIZE_MAX || !add_edge(g, to, w))
                    return false;
                v = g->v[id]; /* g->v may have moved */
            }
        }
        v->n_edges = g->ne - v->first;
    }
    return true;
}

static int by_index_desc(const void *a, const void *b)
{
    const vert *x = *(vert *const *)a, *y = *(vert *const *)b;
    return x->index < y->index ? 1 : x->index > y->index ? -1 : 0;
}

static void vert_name(const vert *v, char *buf, size_t size)
{
    char name[64];
    ag_tensor_name(v->k.t, name, sizeof name);
    if (v->k.t->numel == 1) {
        snprintf(buf, size, "%s", name);
        return;
    }
    int64_t idx[AG_MAX_DIMS];
    char s[96];
    ag_unflatten(v->k.e, v->k.t->ndim, v->k.t->shape, idx);
    ag_format_shape(v->k.t->ndim, idx, s, sizeof s);
    s[0] = '[';
    s[strlen(s) - 1] = ']';
    snprintf(buf, size, "%s%s", name, s);
}

typedef struct walker {
    graph *g;
    size_t target;
    double *factor;       /* factor[w * nw + u]: ∂w/∂u between waypoints w, u */
    size_t *wid;          /* waypoint number -> vertex id */
    size_t nw;
    ag_explanation *out;
    size_t n_paths;
    size_t stack[AG_EXPLAIN_MAX_FACTORS + 1];
    double fstack[AG_EXPLAIN_MAX_FACTORS];
    bool exploded;
} walker;

static void record_path(walker *w, int depth)
{
    w->n_paths++;
    if (!w->out || w->out->n_paths >= AG_EXPLAIN_MAX_PATHS) {
        w->exploded = w->n_paths > AG_EXPLAIN_MAX_PATHS;
        return;
    }
    ag_explain_path *p = &w->out->paths[w->out->n_paths++];
    p->n_factors = depth;
    p->product = 1;
    for (int i = 0; i <= depth; i++)
        vert_name(w->g->v[w->wid[w->stack[i]]], p->names[i], sizeof p->names[i]);
    for (int i = 0; i < depth; i++) {
        p->factors[i] = w->fstack[i];
        p->product *= w->fstack[i];
    }
}

/* Every waypoint path from waypoint `at` to the target. */
static void walk(walker *w, size_t at, int depth)
{
    w->stack[depth] = at;
    if (w->wid[at] == w->target) {
        record_path(w, depth);
        return;
    }
    if (depth >= AG_EXPLAIN_MAX_FACTORS || w->n_paths > 4 * AG_EXPLAIN_MAX_PATHS) {
        w->exploded = true;
        return;
    }
    for (size_t u = 0; u < w->nw; u++) {
        double f = w->factor[at * w->nw + u];
        if (f == 0 || u == at)
            continue;
        w->fstack[depth] = f;
        walk(w, u, depth + 1);
    }
}

bool ag_explain(FILE *f, ag_tensor *loss, ag_tensor *x, size_t element, int digits,
                ag_explanation *out)
{
    ag_explanation *local = NULL;
    if (!out) {
        local = ag_xmalloc(sizeof *local, "explain");
        if (!local)
            return false;
        out = local;
    }
    memset(out, 0, sizeof *out);
    ag_tensor *args[2] = {loss, x};
    bool valid = ag_check_inputs("explain", 2, args);
    if (valid && (loss->numel != 1 || !loss->requires_grad || loss->leaf)) {
        ag_error_set(AG_ERR_VALUE, "explain: the loss must be a recorded one-element result");
        valid = false;
    }
    if (valid && element >= x->numel) {
        ag_error_set(AG_ERR_VALUE, "explain: element %zu out of range for %zu elements", element,
                     x->numel);
        valid = false;
    }
    if (!valid) {
        ag_free(local);
        return false;
    }
    if (digits < 1 || digits > 17)
        digits = 4;
    ag_tape *prev = ag_tape_use(loss->tape);
    bool mode = ag_no_grad_begin();
    graph g = {0};
    bool ok = unfold(&g, loss, 0);
    size_t target = SIZE_MAX;
    for (size_t i = 0; ok && i < g.nv; i++)
        if (g.v[i]->k.t == x && g.v[i]->k.e == element)
            target = i;
    walker w = {.g = &g, .target = target, .out = out};
    double total = 0;
    if (ok && target == SIZE_MAX) {
        /* No path: the derivative is 0. */
        if (f)
            fprintf(f, "no path leads from this element to the loss: the derivative is 0\n");
    } else if (ok) {
        /* Reachability, from the inputs up (ascending tape order). */
        vert **sorted = ag_xmalloc(g.nv * sizeof *sorted, "explain");
        ok = sorted != NULL;
        for (size_t i = 0; ok && i < g.nv; i++)
            sorted[i] = g.v[i];
        if (ok) {
            qsort(sorted, g.nv, sizeof *sorted, by_index_desc);
            for (size_t i = g.nv; i-- > 0;) {
                vert *v = sorted[i];
                v->reach = v == g.v[target];
                for (size_t k = 0; k < v->n_edges && !v->reach; k++)
                    v->reach = g.v[g.e[v->first + k].to]->reach;
            }
            /* Waypoints: the loss, the target and every labelled element on the way. */
            size_t nw = 0;
            w.wid = ag_xmalloc(g.nv * sizeof *w.wid, "explain");
            size_t *wnum = w.wid ? ag_xmalloc(g.nv * sizeof *wnum, "explain") : NULL;
            ok = w.wid && wnum;
            for (size_t i = 0; ok && i < g.nv; i++) {
                vert *v = g.v[i];
                v->waypoint = v->reach && (i == 0 || i == target || v->k.t->label[0]);
                wnum[i] = SIZE_MAX;
                if (v->waypoint) {
                    wnum[i] = nw;
                    w.wid[nw++] = i;
                }
            }
            w.nw = nw;
            w.factor = ok ? ag_xcalloc(nw * nw, sizeof *w.factor, "explain") : NULL;
            ok = ok && w.factor;
            /* For each waypoint, sum the paths down to the next waypoints. */
            for (size_t a = 0; ok && a < nw; a++) {
                for (size_t i = 0; i < g.nv; i++)
                    sorted[i]->D = 0;
                g.v[w.wid[a]]->D = 1;
                for (size_t i = 0; i < g.nv; i++) {
                    vert *v = sorted[i];
                    if (v->D == 0 || (v->waypoint && v != g.v[w.wid[a]]))
                        continue;
                    for (size_t k = 0; k < v->n_edges; k++) {
                        vert *u = g.v[g.e[v->first + k].to];
                        if (u->reach)
                            u->D += v->D * g.e[v->first + k].w;
                    }
                }
                for (size_t i = 0; i < g.nv; i++)
                    if (g.v[i]->waypoint && i != w.wid[a] && g.v[i]->D != 0)
                        w.factor[a * nw + wnum[i]] = g.v[i]->D;
            }
            w.target = target;
            if (ok)
                walk(&w, 0, 0);
            ag_free(wnum);
        }
        ag_free(sorted);
        /* The total is the sum over all paths, listed or not: the waypoint
         * sums already add up every element-level path. */
        if (ok) {
            for (size_t i = 0; i < g.nv; i++)
                g.v[i]->D = 0;
            g.v[0]->D = 1;
            vert **order = ag_xmalloc(g.nv * sizeof *order, "explain");
            ok = order != NULL;
            for (size_t i = 0; ok && i < g.nv; i++)
                order[i] = g.v[i];
            if (ok) {
                qsort(order, g.nv, sizeof *order, by_index_desc);
                for (size_t i = 0; i < g.nv; i++)
                    for (size_t k = 0; k < order[i]->n_edges; k++)
                        g.v[g.e[order[i]->first + k].to]->D += order[i]->D * g.e[order[i]->first + k].w;
                total = g.v[target]->D;
            }
            ag_free(order);
        }
    }
    if (out) {
        out->total = total;
        out->exploded = w.exploded;
        out->n_paths_total = w.n_paths;
    }
    if (ok && f && target != SIZE_MAX) {
        char ln[64], xn[64];
        vert_name(g.v[0], ln, sizeof ln);
        vert_name(g.v[target], xn, sizeof xn);
        fprintf(f, "d%s/d%s as a sum over %zu path%s:\n", ln, xn, w.n_paths, w.n_paths == 1 ? "" : "s");
        size_t shown = out ? (size_t)out->n_paths : 0;
        for (size_t i = 0; i < shown; i++) {
            const ag_explain_path *p = &out->paths[i];
            fprintf(f, "  ");
            for (int k = 0; k < p->n_factors; k++)
                fprintf(f, "%sd%s/d%s", k ? " * " : "", p->names[k], p->names[k + 1]);
            fprintf(f, "\n    = ");
            for (int k = 0; k < p->n_factors; k++)
                fprintf(f, "%s%.*g", k ? " x " : "", digits, p->factors[k]);
            fprintf(f, " = %.*g\n", digits, p->product);
        }
        fprintf(f, "  total d%s/d%s = %.*g\n", ln, xn, digits, total);
        if (w.exploded) {
            fprintf(f, "  the paths explode (%zu listed); the backward trace shows the same "
                       "computation node by node:\n", shown);
            ag_tensor *seed = ag_tape_tensor(loss->dtype, loss->ndim, loss->shape);
            ok = seed != NULL;
            if (seed) {
                ag_store(seed, 0, 1.0);
                ag_thread_state *ts = ag_thread();
                ag_backward_hook hook = ts->hook;
                void *hctx = ts->hook_ctx;
                ag_set_backward_hook(ag_trace_hook, f);
                ok = ag_backward_sweep(loss, seed, false, false);
                ag_set_backward_hook(hook, hctx);
            }
        }
    }
    ag_free(w.wid);
    ag_free(w.factor);
    graph_free(&g);
    ag_free(local);
    ag_grad_mode_set(mode);
    ag_tape_use(prev);
    return ok;
}

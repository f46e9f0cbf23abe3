/* SPDX-License-Identifier: MIT */
/* backward.c — the one generic backward sweep.
 *
 * Tape order is a topological order (an op's inputs exist before it), so the
 * sweep needs no sort and no recursion: it walks the node list from the
 * output down to the first node, and a node is visited when a gradient has
 * reached it. Each node's vector-Jacobian rule is written with the public
 * ops; here they run unrecorded unless the sweep is asked to record itself
 * (create_graph), in which case the gradients are graph tensors that can be
 * differentiated again. Nothing in this file knows an op by name. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static _Thread_local bool in_sweep;

/* ag_grad's mode: gradients of these leaves are collected here instead of
 * in the leaves, and other leaves are left alone. */
typedef struct capture {
    int n;
    ag_tensor *const *leaves;
    ag_tensor **grads;
} capture;
static _Thread_local capture *captured;

void ag_set_backward_hook(ag_backward_hook hook, void *ctx)
{
    ag_thread()->hook = hook;
    ag_thread()->hook_ctx = ctx;
}

void ag_set_grad_ready_hook(ag_grad_ready_hook hook, void *ctx)
{
    ag_thread()->ready_hook = hook;
    ag_thread()->ready_ctx = ctx;
}

/* When each leaf's gradient is final: leaves[off[i] .. off[i+1]) are the
 * leaves whose lowest-numbered consumer among the nodes the sweep reaches
 * is node i, in the order of that node's inputs. Built only when a
 * grad-ready hook is installed. */
typedef struct ready_plan {
    int32_t *off;
    ag_tensor **leaves;
} ready_plan;

static size_t ptr_slot(const void *p, size_t mask)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) & mask;
}

/* The slot of leaf in an open-addressing table of `mask + 1` entries: its
 * own, or the empty one where it goes. */
static size_t leaf_slot(ag_tensor **keys, size_t mask, const ag_tensor *leaf)
{
    size_t k = ptr_slot(leaf, mask);
    while (keys[k] && keys[k] != leaf)
        k = (k + 1) & mask;
    return k;
}

static bool nomem_plan(size_t top)
{
    ag_error_set(AG_ERR_NOMEM, "backward: out of memory planning the grad-ready hook over %zu "
                 "nodes", top + 1);
    return false;
}

/* Three passes over the nodes 0..top from the arena: which nodes the sweep
 * reaches (from the output down, as versions_ok finds them) and how many
 * leaf inputs they have; each leaf's lowest consumer (a hash table keyed by
 * address, updated from the top down so the last write is the lowest);
 * then the leaves listed per node, walking nodes and inputs in order, so
 * the order does not depend on addresses and is the same in every process
 * that builds the same graph. */
static bool plan_ready(ag_tape *tape, size_t top, ready_plan *plan)
{
    unsigned char *reached = ag_tape_alloc(top + 1);
    if (!reached)
        return nomem_plan(top);
    memset(reached, 0, top + 1);
    reached[top] = 1;
    size_t edges = 0;
    for (size_t i = top + 1; i-- > 0;) {
        if (!reached[i])
            continue;
        const ag_tensor *node = ag_tape_node(tape, i);
        for (int j = 0; j < node->n_inputs; j++) {
            const ag_tensor *t = node->inputs[j];
            if (!t->requires_grad)
                continue;
            if (t->leaf)
                edges++;
            else if (t->tape == tape && t->index >= 0)
                reached[t->index] = 1;
        }
    }
    plan->off = ag_tape_alloc((top + 2) * sizeof *plan->off);
    if (!plan->off)
        return nomem_plan(top);
    memset(plan->off, 0, (top + 2) * sizeof *plan->off);
    plan->leaves = NULL;
    if (edges == 0)
        return true;
    size_t cap = 16;
    while (cap < 2 * edges)
        cap *= 2;
    ag_tensor **keys = ag_tape_alloc(cap * sizeof *keys);
    int32_t *lowest = ag_tape_alloc(cap * sizeof *lowest);
    if (!keys || !lowest)
        return nomem_plan(top);
    memset(keys, 0, cap * sizeof *keys);
    size_t n_leaves = 0;
    for (size_t i = top + 1; i-- > 0;) {
        if (!reached[i])
            continue;
        ag_tensor *node = ag_tape_node(tape, i);
        for (int j = 0; j < node->n_inputs; j++) {
            ag_tensor *t = node->inputs[j];
            if (!t->requires_grad || !t->leaf)
                continue;
            size_t k = leaf_slot(keys, cap - 1, t);
            if (!keys[k]) {
                keys[k] = t;
                n_leaves++;
            }
            lowest[k] = (int32_t)i;
        }
    }
    plan->leaves = ag_tape_alloc(n_leaves * sizeof *plan->leaves);
    if (!plan->leaves)
        return nomem_plan(top);
    for (size_t k = 0; k < cap; k++)
        if (keys[k])
            plan->off[lowest[k] + 1]++;
    for (size_t i = 0; i <= top; i++)
        plan->off[i + 1] += plan->off[i];
    /* Placed in node order; a leaf given twice to one node is placed once
     * (its slot is marked done). */
    size_t placed = 0;
    for (size_t i = 0; i <= top && placed < n_leaves; i++) {
        if (!reached[i])
            continue;
        ag_tensor *node = ag_tape_node(tape, i);
        for (int j = 0; j < node->n_inputs; j++) {
            ag_tensor *t = node->inputs[j];
            if (!t->requires_grad || !t->leaf)
                continue;
            size_t k = leaf_slot(keys, cap - 1, t);
            if (lowest[k] != (int32_t)i)
                continue;
            plan->leaves[placed++] = t;
            lowest[k] = -1;
        }
    }
    return true;
}

static bool same_shape(const ag_tensor *a, const ag_tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

/* Adds g into a leaf's own gradient buffer, made on first use and kept
 * across steps (marked zero by ag_zero_grad), so the steady state allocates
 * nothing. Under create_graph the gradient is a graph tensor instead. */
static bool accumulate_leaf(ag_tensor *leaf, ag_tensor *g, bool create_graph)
{
    if (create_graph) {
        if (leaf->grad && leaf->grad->leaf) {
            if (leaf->grad_zero) {
                ag_free(leaf->grad);
                leaf->grad_zero = false;
                leaf->grad = g;
                return true;
            }
            /* Gradients from an earlier first-order sweep: fold them in as a
             * constant copied to the tape, since the heap buffer is freed. */
            ag_tensor *old = ag_tape_tensor(leaf->dtype, leaf->ndim, leaf->shape);
            if (!old)
                return false;
            memcpy(old->data, leaf->grad->data, leaf->numel * ag_dtype_size(leaf->dtype));
            ag_tensor *sum = ag_add(old, g);
            if (!sum)
                return false;
            ag_free(leaf->grad);
            leaf->grad = sum;
            return true;
        }
        ag_tensor *sum = leaf->grad ? ag_add(leaf->grad, g) : g;
        if (!sum)
            return false;
        leaf->grad = sum;
        return true;
    }
    if (leaf->grad && !leaf->grad->leaf) {
        /* A graph gradient from a create_graph sweep: ag_zero_grad forgets it. */
        if (ag_is_stale(leaf->grad)) {
            leaf->grad = NULL;
        } else {
            ag_tensor *sum = ag_add(leaf->grad, g);
            if (!sum)
                return false;
            leaf->grad = sum;
            return true;
        }
    }
    if (!leaf->grad) {
        leaf->grad = ag_leaf_new(leaf->dtype, leaf->ndim, leaf->shape);
        if (!leaf->grad)
            return false;
        leaf->grad_zero = true;
    }
    size_t bytes = leaf->numel * ag_dtype_size(leaf->dtype);
    if (leaf->grad_zero) {
        memcpy(leaf->grad->data, g->data, bytes);
        leaf->grad_zero = false;
        return true;
    }
    ag_add_into(leaf->dtype, leaf->numel, leaf->grad->data, g->data);
    return true;
}

static bool accumulate(const ag_tensor *node, int input, ag_tensor *t, ag_tensor *g,
                       bool create_graph)
{
    if (captured && t->leaf) {
        for (int k = 0; k < captured->n; k++) {
            if (captured->leaves[k] != t)
                continue;
            if (!same_shape(t, g) || t->dtype != g->dtype)
                break; /* reported below */
            ag_tensor *prev = captured->grads[k];
            captured->grads[k] = prev ? ag_add(prev, g) : g;
            return captured->grads[k] != NULL;
        }
    }
    if (!same_shape(t, g) || t->dtype != g->dtype) {
        char want[160], got[160];
        ag_error_set(AG_ERR_SHAPE,
                     "backward: the rule of op '%s' gave input %d a gradient of shape %s (%s), "
                     "but the input has shape %s (%s)",
                     node->op->def.name, input, ag_format_shape(g->ndim, g->shape, got, sizeof got),
                     ag_dtype_str(g->dtype), ag_format_shape(t->ndim, t->shape, want, sizeof want),
                     ag_dtype_str(t->dtype));
        return false;
    }
    if (t->leaf)
        return accumulate_leaf(t, g, create_graph);
    if (!t->grad) {
        t->grad = g;
        t->grad_owned = false; /* g may be another input's gradient too */
        return true;
    }
    if (t->grad_owned && !create_graph) {
        ag_add_into(t->dtype, t->numel, t->grad->data, g->data);
        return true;
    }
    ag_tensor *sum = ag_add(t->grad, g);
    if (!sum)
        return false;
    t->grad = sum;
    t->grad_owned = !create_graph; /* a fresh, unrecorded result */
    return true;
}

static _Thread_local bool kernels_off;

bool ag_set_grad_kernels(bool on)
{
    bool prev = !kernels_off;
    kernels_off = !on;
    return prev;
}


/* The kernel path: gradient buffers for the inputs, then one call. Leaves
 * get their own buffer (overwritten when marked zero); an intermediate's
 * buffer is made by the kernel on first use, or copied when the gradient
 * it has is shared. Returns -1 with nothing changed that matters when the
 * node must take the rule path instead (an input given twice, a leaf
 * holding a graph gradient), else whether the kernel succeeded. */
static int run_kernel(ag_tensor *node)
{
    ag_grad_dst dst[8];
    int n = node->n_inputs;
    if (n > 8)
        return -1;
    for (int j = 0; j < n; j++) {
        ag_tensor *in = node->inputs[j];
        dst[j] = (ag_grad_dst){0};
        if (!in->requires_grad)
            continue;
        for (int i = 0; i < j; i++)
            if (node->inputs[i] == in)
                return -1; /* x*x: two writes into one buffer; the rule adds them */
        if (in->leaf) {
            if (in->grad && !in->grad->leaf) {
                if (!ag_is_stale(in->grad))
                    return -1; /* a graph gradient from create_graph: the rule adds to it */
                in->grad = NULL;
            }
            if (!in->grad) {
                in->grad = ag_leaf_new(in->dtype, in->ndim, in->shape);
                if (!in->grad)
                    return false;
                in->grad_zero = true;
            }
            dst[j].data = in->grad->data;
            dst[j].accumulate = !in->grad_zero;
        } else if (in->grad) {
            if (!in->grad_owned) {
                ag_tensor *own = ag_tape_tensor(in->dtype, in->ndim, in->shape);
                if (!own)
                    return false;
                memcpy(own->data, in->grad->data, in->numel * ag_dtype_size(in->dtype));
                in->grad = own;
                in->grad_owned = true;
            }
            dst[j].data = in->grad->data;
            dst[j].accumulate = true;
        }
        dst[j].x = in;
    }
    if (!node->op->def.kernel(node, node->grad, dst)) {
        if (ag_last_status() == AG_OK)
            ag_error_set(AG_ERR_STATE, "backward: the kernel of op '%s' failed", node->op->def.name);
        return false;
    }
    for (int j = 0; j < n; j++) {
        ag_tensor *in = dst[j].x;
        if (!in)
            continue;
        if (in->leaf) {
            in->grad_zero = false;
        } else if (dst[j].alias) {
            in->grad = dst[j].alias;
            in->grad_owned = false;
        }
    }
    return true;
}

/* A node's rule reads the values its inputs had when it was recorded; one
 * changed in place since (ag_set_flat on a weight between forward and
 * backward) would give a wrong gradient, so it is an error, as in PyTorch.
 * Every input of a node the sweep will reach counts, not only those a rule
 * reads. (A node's own result is written after it is recorded — a user
 * op's forward fills it through ag_data — so it is checked where it is an
 * input: at its consumers.) Checked before the sweep changes anything, and
 * only when something was changed in place since the tape's first node. */
static bool versions_ok(ag_tape *tape, const ag_tensor *output)
{
    if (tape->changes_at_first == ag_changes_)
        return true;
    size_t top = (size_t)output->index;
    unsigned char *reached = ag_tape_alloc(top + 1);
    if (!reached)
        return false;
    memset(reached, 0, top + 1);
    reached[top] = 1;
    for (size_t i = top + 1; i-- > 0;) {
        if (!reached[i])
            continue;
        const ag_tensor *node = ag_tape_node(tape, i);
        const uint32_t *recorded = ag_node_versions(node);
        for (int j = 0; j < node->n_inputs; j++) {
            const ag_tensor *t = node->inputs[j];
            if (t->version != recorded[j]) {
                char name[96];
                ag_tensor_name(t, name, sizeof name);
                ag_error_set(AG_ERR_STATE,
                             "backward: tensor '%s' (input %d of op '%s', node #%d) was changed in "
                             "place after the forward pass used it (version %u, recorded %u); "
                             "compute the forward pass again after changing it",
                             name, j, node->op->def.name, node->index, (unsigned)t->version,
                             (unsigned)recorded[j]);
                return false;
            }
            if (t->tape == tape && t->index >= 0 && t->requires_grad)
                reached[t->index] = 1;
        }
    }
    return true;
}

/* One node: its kernel when `kernels` allows and it has one, else its
 * rule, the hook and anomaly checks, and the accumulation. */
static bool run_rule(ag_tensor *node, bool create_graph, bool to_leaves, bool kernels)
{
    if (kernels && node->op->def.kernel) {
        int r = run_kernel(node);
        if (r >= 0)
            return r;
    }
    ag_thread_state *ts = ag_thread();
    ag_tensor *local[8];
    int n = node->n_inputs;
    ag_tensor **gin = n <= 8 ? local : ag_tape_alloc((size_t)n * sizeof *gin);
    if (!gin)
        return false;
    memset(gin, 0, (size_t)n * sizeof *gin);
    if (!node->op->def.vjp(node, node->grad, gin)) {
        if (ag_last_status() == AG_OK)
            ag_error_set(AG_ERR_STATE, "backward: the rule of op '%s' failed", node->op->def.name);
        return false;
    }
    if (ag_anomaly_on_ && !ag_anomaly_check_grads(node, node->grad, n, gin))
        return false;
    if (ts->hook)
        ts->hook(ts->hook_ctx, node, node->grad, n, node->inputs, gin);
    for (int j = 0; j < n; j++) {
        ag_tensor *in = node->inputs[j];
        if (!gin[j] || !in->requires_grad || (in->leaf && !to_leaves && !captured))
            continue;
        if (in->leaf && captured) {
            bool wanted = false;
            for (int k = 0; k < captured->n && !wanted; k++)
                wanted = captured->leaves[k] == in;
            if (!wanted)
                continue;
        }
        if (!accumulate(node, j, in, gin[j], create_graph))
            return false;
    }
    return true;
}

bool ag_backward_ex(ag_tensor *output, ag_tensor *seed, bool create_graph)
{
    return ag_backward_sweep(output, seed, create_graph, true);
}

bool ag_backward_sweep(ag_tensor *output, ag_tensor *seed, bool create_graph, bool to_leaves)
{
    ag_tensor *args[2] = {output, seed};
    if (!ag_check_inputs("backward", seed ? 2 : 1, args))
        return false;
    if (in_sweep) {
        ag_error_set(AG_ERR_STATE, "backward: called from inside a backward sweep (a hook or rule)");
        return false;
    }
    if (!output->requires_grad) {
        ag_error_set(AG_ERR_STATE,
                     "backward: the output does not require grad: no leaf of its expression "
                     "was marked with ag_set_requires_grad, or it was computed in no-grad mode");
        return false;
    }
    if (seed && !same_shape(seed, output)) {
        char a[160], b[160];
        ag_error_set(AG_ERR_SHAPE, "backward: seed of shape %s for an output of shape %s",
                     ag_format_shape(seed->ndim, seed->shape, a, sizeof a),
                     ag_format_shape(output->ndim, output->shape, b, sizeof b));
        return false;
    }
    if (!seed && output->numel != 1) {
        char a[160];
        ag_error_set(AG_ERR_SHAPE,
                     "backward: output of shape %s has %zu elements; backward without a seed "
                     "needs one element (reduce it with ag_sum or ag_mean, or use "
                     "ag_backward_seed)",
                     ag_format_shape(output->ndim, output->shape, a, sizeof a), output->numel);
        return false;
    }

    if (ag_anomaly_on_ && !ag_anomaly_check_output(output))
        return false;
    ag_tape *prev_tape = NULL;
    bool switched = false;
    if (!output->leaf && output->tape != ag_tape_current()) {
        prev_tape = ag_tape_use(output->tape);
        switched = true;
    }
    ag_thread_state *ts = ag_thread();
    bool prev_mode = ts->grad_enabled;
    bool prev_create = ts->create_graph;
    ts->grad_enabled = create_graph;
    ts->create_graph = create_graph;
    in_sweep = true;

    bool ok = true;
    if (!seed) {
        seed = ag_tape_tensor(output->dtype, output->ndim, output->shape);
        if (seed)
            ag_store(seed, 0, 1.0);
        ok = seed != NULL;
    }
    /* ag_grad (captured) and sweeps that stop short of the leaves change no
     * leaf's gradient, so they fire no grad-ready hook. */
    ag_grad_ready_hook ready = to_leaves && !captured ? ts->ready_hook : NULL;
    void *ready_ctx = ts->ready_ctx;
    if (ok && output->leaf && to_leaves) {
        ok = accumulate_leaf(output, seed, create_graph);
        if (ok && ready)
            ready(ready_ctx, output);
    } else if (ok && !output->leaf && !versions_ok(output->tape, output)) {
        ok = false;
    } else if (ok && !output->leaf) {
        ag_tape *tape = output->tape;
        long top = output->index;
        /* Gradients of intermediates from an earlier sweep are forgotten, so
         * that a second backward before a reset adds only to the leaves. The
         * first sweep after a reset finds none (results are made without). */
        if (tape->swept)
            for (long i = 0; i <= top; i++)
                ag_tape_node(tape, i)->grad = NULL;
        tape->swept = true;
        output->grad = seed;
        output->grad_owned = false; /* the caller's seed */
        /* Kernels write first-order gradients only, and skip what a hook,
         * anomaly mode or ag_grad's capture would see. */
        bool kernels = !kernels_off && !create_graph && to_leaves && !captured && !ts->hook &&
                       !ag_anomaly_on_;
        /* A node is looked up by index on every step: a sweep that records
         * itself appends to the node list, which may move it. */
        ready_plan plan = {0};
        if (ready)
            ok = plan_ready(tape, (size_t)top, &plan);
        for (long i = top; i >= 0 && ok; i--) {
            ag_tensor *node = ag_tape_node(tape, i);
            if (node->grad)
                ok = run_rule(node, create_graph, to_leaves, kernels);
            if (ok && ready)
                for (int32_t k = plan.off[i]; k < plan.off[i + 1]; k++)
                    ready(ready_ctx, plan.leaves[k]);
        }
    }

    in_sweep = false;
    ts->grad_enabled = prev_mode;
    ts->create_graph = prev_create;
    if (switched)
        ag_tape_use(prev_tape);
    return ok;
}

bool ag_backward(ag_tensor *loss)
{
    return ag_backward_ex(loss, NULL, false);
}

bool ag_backward_seed(ag_tensor *output, ag_tensor *seed)
{
    if (!seed) {
        ag_error_set(AG_ERR_NULL, "backward_seed: seed is NULL");
        return false;
    }
    return ag_backward_ex(output, seed, false);
}

/* The grad fields of a tape's nodes 0..top and the tape's swept flag. */
typedef struct saved_grads {
    ag_tape *tape;
    long top;
    bool swept;
    ag_tensor **grad;
    bool *owned;
} saved_grads;

static bool save_grads(const ag_tensor *out, saved_grads *s)
{
    ag_tape *tape = out->tape;
    size_t n = (size_t)out->index + 1;
    s->grad = ag_malloc(n * sizeof *s->grad);
    s->owned = ag_malloc(n);
    if (!s->grad || !s->owned) {
        ag_free(s->grad);
        ag_free(s->owned);
        s->grad = NULL;
        s->owned = NULL;
        ag_error_set(AG_ERR_NOMEM, "grad: out of memory saving the gradients of %zu nodes", n);
        return false;
    }
    s->tape = tape;
    s->top = out->index;
    s->swept = tape->swept;
    for (size_t i = 0; i < n; i++) {
        ag_tensor *node = ag_tape_node(tape, i);
        s->grad[i] = node->grad;
        s->owned[i] = node->grad_owned;
    }
    return true;
}

static void restore_grads(saved_grads *s)
{
    if (!s->tape)
        return;
    for (long i = 0; i <= s->top; i++) {
        ag_tensor *node = ag_tape_node(s->tape, (size_t)i);
        node->grad = s->grad[i];
        node->grad_owned = s->owned[i];
    }
    s->tape->swept = s->swept;
    ag_free(s->grad);
    ag_free(s->owned);
}

/* The functional form: one sweep from <outputs, seeds> (a sum of scalars
 * built with ops when there are several outputs), collecting the gradients
 * of the requested inputs without touching any leaf's .grad. */
bool ag_grad(int n_out, ag_tensor *const *outputs, ag_tensor *const *seeds, int n_in,
             ag_tensor *const *inputs, unsigned flags, ag_tensor **grads)
{
    if (n_out < 1 || n_in < 1 || !outputs || !inputs || !grads) {
        ag_error_set(AG_ERR_NULL, "grad: need outputs, inputs and room for the gradients");
        return false;
    }
    for (int i = 0; i < n_in; i++)
        grads[i] = NULL;
    if (!ag_check_inputs("grad", n_out, outputs) || !ag_check_inputs("grad", n_in, inputs))
        return false;
    bool create = flags & AG_GRAD_CREATE_GRAPH;
    ag_tensor *out = outputs[0], *seed = seeds ? seeds[0] : NULL;
    if (n_out > 1) {
        /* <outputs, seeds> as one scalar, recorded so that one sweep covers all. */
        bool mode = ag_grad_mode();
        ag_grad_mode_set(true);
        out = NULL;
        for (int i = 0; i < n_out; i++) {
            ag_tensor *term = seeds && seeds[i] ? ag_sum(ag_mul(outputs[i], seeds[i]))
                                                : ag_sum(outputs[i]);
            out = out ? ag_add(out, term) : term;
        }
        ag_grad_mode_set(mode);
        seed = NULL;
        if (!out)
            return false;
    }
    /* The sweep keeps its partial gradients in the intermediates' grad
     * fields. ag_grad promises to leave every ag_grad_of as it was, so the
     * fields of the nodes it may visit are saved here and put back after. */
    saved_grads saved = {0};
    if (!out->leaf && out->requires_grad && !save_grads(out, &saved))
        return false;
    for (int i = 0; i < n_in; i++)
        if (!inputs[i]->leaf)
            inputs[i]->grad = NULL;
    capture cap = {n_in, inputs, grads};
    captured = &cap;
    bool ok = true;
    if (out->requires_grad)
        ok = ag_backward_sweep(out, seed, create, false);
    captured = NULL;
    for (int i = 0; ok && i < n_in; i++)
        if (!inputs[i]->leaf && inputs[i] != out)
            grads[i] = inputs[i]->grad;
    restore_grads(&saved);
    if (!ok) {
        for (int i = 0; i < n_in; i++)
            grads[i] = NULL;
        return false;
    }
    for (int i = 0; i < n_in; i++) {
        ag_tensor *in = inputs[i];
        if (in == out) {
            grads[i] = seed ? seed : ag_const_scalar(out->dtype, 1.0);
            if (grads[i] && out->ndim > 0)
                grads[i] = ag_reshape(grads[i], out->ndim, out->shape);
        }
        if (grads[i])
            continue;
        if (!(flags & AG_GRAD_ALLOW_UNUSED)) {
            ag_error_set(AG_ERR_STATE,
                         "grad: input %d%s%s%s does not influence the outputs (pass "
                         "AG_GRAD_ALLOW_UNUSED to get zeros)",
                         i, in->label[0] ? " '" : "", in->label, in->label[0] ? "'" : "");
            return false;
        }
        grads[i] = ag_tape_tensor(in->dtype, in->ndim, in->shape);
        if (!grads[i])
            return false;
        memset(grads[i]->data, 0, in->numel * ag_dtype_size(in->dtype));
    }
    return true;
}

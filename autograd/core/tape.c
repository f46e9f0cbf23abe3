/* SPDX-License-Identifier: MIT */
/* tape.c — the tape: an arena for intermediates and the list of recorded nodes.
 *
 * A training step allocates every intermediate from the arena and appends
 * each recorded result to the node list; ag_tape_reset rewinds both at once.
 * The arena keeps its blocks, and after a step that needed more than one
 * block it coalesces them into one, so from the second step on a loop of the
 * same shape allocates nothing from the heap.
 *
 * Tensor headers come from two header arenas used in alternate generations.
 * A header made before a reset is therefore still intact (and marked with its
 * old generation) for the whole next generation, which is what lets the
 * common mistake — reading last step's loss after the reset — be reported
 * as AG_ERR_STALE instead of reading a header that a new tensor now uses. */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef ag_block block;
typedef ag_arena arena;

enum { ARENA_MIN_BLOCK = 1 << 16 };

static block *block_new(size_t cap)
{
    if (cap > SIZE_MAX - sizeof(block))
        return NULL;
    block *b = ag_malloc(sizeof(block) + cap);
    if (!b)
        return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

/* The slow path: the next block (kept from earlier generations) or a new
 * one twice the size. */
static void *arena_grow(arena *a, size_t size)
{
    for (;;) {
        if (a->cur && a->cur->cap - a->cur->used >= size) {
            void *p = a->cur->mem + a->cur->used;
            a->cur->used += size;
            return p;
        }
        if (a->cur && a->cur->next) {
            a->cur = a->cur->next;
            a->cur->used = 0;
            continue;
        }
        size_t cap = a->cur ? a->cur->cap * 2 : ARENA_MIN_BLOCK;
        if (cap < size)
            cap = size;
        block *b = block_new(cap);
        if (!b)
            return NULL;
        if (a->cur)
            a->cur->next = b;
        else
            a->head = b;
        a->cur = b;
    }
}

/* size bytes aligned to `align` (a power of two up to 64; blocks start
 * 64-aligned and every size is rounded to the alignment). */
static inline void *arena_alloc_aligned(arena *a, size_t size, size_t align)
{
    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    block *c = a->cur;
    if (c && c->cap - c->used >= size) {
        void *p = c->mem + c->used;
        c->used += size;
        return p;
    }
    return arena_grow(a, size);
}

/* Data: 64-aligned, for the vector loops and BLAS. */
static void *arena_alloc(arena *a, size_t size)
{
    return arena_alloc_aligned(a, size, 64);
}

static void arena_free_blocks(block *b)
{
    while (b) {
        block *next = b->next;
        ag_free(b);
        b = next;
    }
}

/* Rewinds the arena. When the last generation spilled over into more than
 * one block, the blocks are replaced by one that holds them all, so the
 * next generation of the same size fits without allocating; `coalesce`
 * false keeps them as they are (header arenas: a kept pointer may point
 * into any of their blocks). */
static void arena_reset(arena *a, bool coalesce)
{
    if (coalesce && a->head && a->head->next && a->cur != a->head) {
        size_t total = 0;
        for (block *b = a->head; b; b = b->next)
            total += b->cap;
        block *big = block_new(total);
        if (big) {
            arena_free_blocks(a->head);
            a->head = big;
        }
    }
    a->cur = a->head;
    if (a->head)
        a->head->used = 0;
}

static size_t arena_capacity(const arena *a)
{
    size_t total = 0;
    for (block *b = a->head; b; b = b->next)
        total += b->cap;
    return total;
}

/* ---- thread state ---- */

static _Thread_local ag_thread_state thread_state = {.grad_enabled = true};
static _Thread_local ag_tape *current_tape;
static _Thread_local ag_tape *default_tape;

ag_thread_state *ag_thread(void)
{
    return &thread_state;
}

bool ag_grad_mode(void)
{
    return thread_state.grad_enabled;
}

void ag_grad_mode_set(bool enabled)
{
    thread_state.grad_enabled = enabled;
}

bool ag_no_grad_begin(void)
{
    bool prev = thread_state.grad_enabled;
    thread_state.grad_enabled = false;
    return prev;
}

/* ---- tapes ---- */

ag_tape *ag_tape_new(void)
{
    ag_tape *t = ag_calloc(1, sizeof *t);
    if (!t)
        ag_error_set(AG_ERR_NOMEM, "tape_new: out of memory");
    return t;
}

void ag_tape_free(ag_tape *tape)
{
    if (!tape) {
        tape = default_tape;
        default_tape = NULL;
        if (!tape)
            return;
    } else if (tape == default_tape) {
        default_tape = NULL;
    }
    if (current_tape == tape)
        current_tape = NULL;
    arena_free_blocks(tape->retired);
    arena_free_blocks(tape->data.head);
    arena_free_blocks(tape->headers[0].head);
    arena_free_blocks(tape->headers[1].head);
    ag_free(tape->nodes);
    ag_free(tape);
}

ag_tape *ag_tape_current(void)
{
    if (current_tape)
        return current_tape;
    if (!default_tape)
        default_tape = ag_tape_new();
    /* Remembered as current, so that tape_now's test hits from now on. */
    return current_tape = default_tape;
}

/* The current tape, with the common case inline: every op asks. */
static inline ag_tape *tape_now(void)
{
    return current_tape ? current_tape : ag_tape_current();
}

ag_tape *ag_tape_use(ag_tape *tape)
{
    /* A thread still on a default tape it has not used yet gets NULL,
     * which selects that tape again: switching tapes allocates nothing and
     * so cannot fail. */
    ag_tape *prev = current_tape ? current_tape : default_tape;
    current_tape = tape;
    return prev;
}

void ag_tape_reset(ag_tape *tape)
{
    if (!tape)
        tape = ag_tape_current();
    if (!tape)
        return;
    tape->generation++;
    tape->swept = false;
    arena_reset(&tape->data, true);
    arena *h = &tape->headers[tape->generation & 1];
    if (ag_debug_lifetimes_on() && h->head) {
        /* Headers of two generations ago stay as they were, so that any
         * later use of one is seen as stale, whatever the resets since. */
        block *last = h->head;
        while (last->next)
            last = last->next;
        last->next = tape->retired;
        tape->retired = h->head;
        h->head = h->cur = NULL;
    }
    arena_reset(h, false);
    tape->n_nodes = 0;
}

_Thread_local uint64_t ag_changes_;

/* ---- lifetime debug mode ---- */

/* -1 until first asked: then the environment's AG_DEBUG_LIFETIMES. */
static atomic_int debug_lifetimes = -1;

bool ag_debug_lifetimes_on(void)
{
    int v = atomic_load_explicit(&debug_lifetimes, memory_order_relaxed);
    if (v < 0) {
        const char *env = getenv("AG_DEBUG_LIFETIMES");
        int want = env && env[0] && strcmp(env, "0") != 0;
        atomic_compare_exchange_strong(&debug_lifetimes, &v, want);
        v = atomic_load_explicit(&debug_lifetimes, memory_order_relaxed);
    }
    return v > 0;
}

bool ag_debug_lifetimes(bool on)
{
    bool prev = ag_debug_lifetimes_on();
    atomic_store(&debug_lifetimes, on ? 1 : 0);
    return prev;
}

bool ag_tape_set_max_nodes(ag_tape *tape, size_t max_nodes)
{
    if (!tape)
        tape = ag_tape_current();
    if (!tape) {
        ag_error_set(AG_ERR_NOMEM, "tape_set_max_nodes: out of memory for the default tape");
        return false;
    }
    tape->max_nodes = max_nodes;
    return true;
}

void *ag_tape_header_alloc(ag_tape *tape, size_t size)
{
    void *p = arena_alloc_aligned(&tape->headers[tape->generation & 1], size, 8);
    if (!p)
        ag_error_set(AG_ERR_NOMEM, "tape: out of memory for %zu bytes", size);
    return p;
}

size_t ag_tape_size(const ag_tape *tape)
{
    if (!tape)
        tape = ag_tape_current();
    return tape ? tape->n_nodes : 0;
}

size_t ag_tape_capacity(const ag_tape *tape)
{
    if (!tape)
        tape = ag_tape_current();
    if (!tape)
        return 0;
    return arena_capacity(&tape->data) + arena_capacity(&tape->headers[0]) +
           arena_capacity(&tape->headers[1]) + tape->cap_nodes * sizeof(ag_tensor *);
}

uint64_t ag_tape_generation(const ag_tape *tape)
{
    if (!tape)
        tape = ag_tape_current();
    return tape ? tape->generation : 0;
}

void *ag_tape_alloc(size_t size)
{
    ag_tape *tape = tape_now();
    void *p = tape ? arena_alloc(&tape->data, size) : NULL;
    if (!p)
        ag_error_set(AG_ERR_NOMEM, "tape: out of memory for %zu bytes", size);
    return p;
}

/* Small data (a scalar, a short vector) shares the header's allocation. */
enum { INLINE_DATA_MAX = 64 };

/* A header (with `extra` bytes after it, 8-aligned) and the data of a new
 * unrecorded intermediate on `tape`; the shape is already checked. */
static AG_ALWAYS_INLINE ag_tensor *new_tensor(ag_tape *tape, ag_dtype dtype, int ndim, const int64_t *shape,
                             size_t numel, size_t extra)
{
    size_t bytes = numel * ag_dtype_size(dtype);
    bool inline_data = bytes <= INLINE_DATA_MAX;
    size_t head = sizeof(ag_tensor) + (size_t)ndim * sizeof(int64_t) + extra;
    ag_tensor *t = arena_alloc_aligned(&tape->headers[tape->generation & 1],
                                       head + (inline_data ? bytes : 0), 8);
    void *data = !t ? NULL : inline_data ? (unsigned char *)t + head : arena_alloc(&tape->data, bytes);
    if (!t || !data) {
        ag_error_set(AG_ERR_NOMEM, "tape: out of memory for a tensor of %zu elements", numel);
        return NULL;
    }
    /* Only the fields a reader may look at are set. */
    t->data = data;
    t->grad = NULL;
    t->tape = tape;
    t->generation = (uint32_t)tape->generation;
    t->tag = ag_tensor_tag(t, tape, t->generation);
    t->version = 0;
    t->op = NULL;
    t->inputs = NULL;
    t->params = NULL;
    t->numel = numel;
    t->shape = (int64_t *)(t + 1);
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->label = ag_no_label_;
    t->site = NULL;
    t->index = -1;
    t->n_inputs = 0;
    t->ndim = (int8_t)ndim;
    t->dtype = (uint8_t)dtype;
    t->requires_grad = false;
    t->leaf = false;
    t->grad_zero = t->grad_owned = false;
    return t;
}

ag_tensor *ag_tape_tensor(ag_dtype dtype, int ndim, const int64_t *shape)
{
    size_t numel;
    if (!ag_shape_check("tensor", ndim, shape, &numel))
        return NULL;
    ag_tape *tape = tape_now();
    if (!tape) {
        ag_error_set(AG_ERR_NOMEM, "tape: out of memory");
        return NULL;
    }
    return new_tensor(tape, dtype, ndim, shape, numel, 0);
}

/* A kernel's destination without a buffer yet (an intermediate's gradient)
 * gets one from the tape, like every tensor of the step. */
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

static bool push_node(ag_tape *tape, ag_tensor *t)
{
    if (tape->max_nodes && tape->n_nodes >= tape->max_nodes) {
        ag_error_set(AG_ERR_STATE,
                     "tape: %zu nodes recorded since the last reset, the limit set with "
                     "ag_tape_set_max_nodes; was ag_tape_reset forgotten at the end of a step?",
                     tape->n_nodes);
        return false;
    }
    if (tape->n_nodes >= INT32_MAX) {
        ag_error_set(AG_ERR_NOMEM, "tape: more than %d nodes; reset the tape", INT32_MAX);
        return false;
    }
    if (tape->n_nodes == tape->cap_nodes) {
        size_t cap = tape->cap_nodes ? tape->cap_nodes * 2 : 1024;
        ag_tensor **nodes = ag_realloc(tape->nodes, cap * sizeof *nodes);
        if (!nodes) {
            ag_error_set(AG_ERR_NOMEM, "tape: out of memory for %zu nodes", cap);
            return false;
        }
        tape->nodes = nodes;
        tape->cap_nodes = cap;
    }
    if (tape->n_nodes == 0)
        tape->changes_at_first = ag_changes_;
    t->index = (int32_t)tape->n_nodes;
    tape->nodes[tape->n_nodes++] = t;
    return true;
}

ag_tensor *ag_const_scalar(ag_dtype dtype, double value)
{
    ag_tensor *t = ag_tape_tensor(dtype, 0, NULL);
    if (t)
        ag_store(t, 0, value);
    return t;
}

ag_tensor *ag_op_result(const ag_op *op, ag_dtype dtype, int ndim, const int64_t *shape,
                        int n_inputs, ag_tensor *const *inputs, const void *params,
                        size_t n_params)
{
    const char *name = op ? op->def.name : "op_result";
    if (!op) {
        ag_error_set(AG_ERR_NULL, "op_result: op is NULL");
        return NULL;
    }
    if ((n_inputs > 0 && !inputs) || (n_params > 0 && !params)) {
        ag_error_set(AG_ERR_NULL, "op_result: %s is NULL", params || !n_params ? "inputs" : "params");
        return NULL;
    }
    if (!op->def.vjp) {
        ag_error_set(AG_ERR_STATE, "%s: a composite op records no node of its own", name);
        return NULL;
    }
    if (n_inputs < 0 || n_inputs > AG_MAX_INPUTS || (n_inputs > 0 && !inputs)) {
        ag_error_set(AG_ERR_VALUE, "%s: bad input list (%d inputs; at most %d)", name, n_inputs,
                     AG_MAX_INPUTS);
        return NULL;
    }
    for (int i = 0; i < n_inputs; i++) {
        if (!inputs[i]) {
            ag_error_set(AG_ERR_NULL, "%s: input %d is NULL", name, i);
            return NULL;
        }
        if (ag_is_stale(inputs[i])) {
            ag_check_inputs(name, n_inputs, inputs); /* records the stale-input message */
            return NULL;
        }
    }
    size_t numel;
    if (!ag_shape_check(name, ndim, shape, &numel))
        return NULL;
    return ag_op_result_checked(op, dtype, ndim, shape, numel, n_inputs, inputs, params,
                                n_params);
}

ag_tensor *ag_op_result_checked(const ag_op *op, ag_dtype dtype, int ndim, const int64_t *shape,
                                size_t numel, int n_inputs, ag_tensor *const *inputs,
                                const void *params, size_t n_params)
{
    bool record = false;
    if (thread_state.grad_enabled)
        for (int i = 0; i < n_inputs && !record; i++)
            record = inputs[i]->requires_grad;
    if (record && ag_anomaly_on_ && !ag_anomaly_check_inputs(op->def.name, n_inputs, inputs))
        return NULL;
    ag_tape *tape = tape_now();
    if (!tape) {
        ag_error_set(AG_ERR_NOMEM, "tape: out of memory");
        return NULL;
    }
    /* A node's input list, its inputs' versions and its params follow its
     * header in one allocation. */
    size_t n_in = record ? (size_t)n_inputs * sizeof(ag_tensor *) +
                               (((size_t)n_inputs * sizeof(uint32_t) + 7) & ~(size_t)7)
                         : 0;
    size_t n_par = record ? (n_params + 7) & ~(size_t)7 : 0;
    ag_tensor *t = new_tensor(tape, dtype, ndim, shape, numel, n_in + n_par);
    if (!t || !record)
        return t;
    t->inputs = (ag_tensor **)(t->shape + ndim);
    t->n_inputs = (int16_t)n_inputs;
    uint32_t *versions = ag_node_versions(t);
    for (int i = 0; i < n_inputs; i++) {
        t->inputs[i] = inputs[i];
        versions[i] = inputs[i]->version;
    }
    if (n_params) {
        t->params = (unsigned char *)t->inputs + n_in;
        if (params)
            memcpy(t->params, params, n_params);
    }
    t->op = op;
    t->requires_grad = true;
    if (ag_anomaly_on_)
        ag_anomaly_stamp(t);
    if (!push_node(tape, t))
        return NULL;
    return t;
}

const ag_op *ag_node_op(const ag_tensor *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "node_op: t is NULL");
        return NULL;
    }
    return t && !ag_is_stale(t) ? t->op : NULL;
}

int ag_node_n_inputs(const ag_tensor *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "node_n_inputs: t is NULL");
        return 0;
    }
    return t && !ag_is_stale(t) ? t->n_inputs : 0;
}

ag_tensor *ag_node_input(const ag_tensor *t, int i)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "node_input: t is NULL");
        return NULL;
    }
    if (!t || ag_is_stale(t) || i < 0 || i >= t->n_inputs)
        return NULL;
    return t->inputs[i];
}

const void *ag_node_params(const ag_tensor *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "node_params: t is NULL");
        return NULL;
    }
    return t && !ag_is_stale(t) ? t->params : NULL;
}

long ag_node_index(const ag_tensor *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "node_index: t is NULL");
        return -1;
    }
    return t && !ag_is_stale(t) ? t->index : -1;
}


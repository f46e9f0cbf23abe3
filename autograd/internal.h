/* SPDX-License-Identifier: MIT */
/* internal.h — the core's private structures, shared by autograd/ and ops/.
 *
 * Users see ag_tensor and ag_tape as opaque types; this header lays them out
 * and declares the helpers that the op files build on (allocation, error
 * recording, arena results, broadcasting). Nothing here is installed. */
#ifndef AG_INTERNAL_H
#define AG_INTERNAL_H

#include "autograd.h"
#include "op.h"
#include "testing.h"
#include "vector_clones.h"

void *ag_malloc(size_t size);
void ag_free(void *p);
/* uthash allocates through the library's allocator too, and must not exit
 * when that fails: it leaves the table as it was and raises this flag,
 * which each insertion checks (clear it first with ag_hash_oom_ = false). */
extern _Thread_local bool ag_hash_oom_;
#define uthash_malloc(sz) ag_malloc(sz)
#define uthash_free(ptr, sz) ag_free(ptr)
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) ((void)(obj), ag_hash_oom_ = true)
#include <uthash.h>

#include <stdatomic.h>

/* For the few helpers on every op's path that must not cost a call. */
#if defined(__GNUC__)
#define AG_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define AG_ALWAYS_INLINE inline
#endif

/* --- allocation: every heap byte goes through ag_malloc and friends (op.h) --- */
/* The same, recording AG_ERR_NOMEM ("<who>: out of memory") on failure, so
 * that a caller which returns false on NULL never returns it with no error
 * (a checker's false would then read as "the check failed"). ag_xcalloc
 * also refuses an n * size that overflows. */
void *ag_xmalloc(size_t size, const char *who);
void *ag_xcalloc(size_t n, size_t size, const char *who);
void *ag_xrealloc(void *p, size_t size, const char *who);

/* --- errors: ag_error_set is in op.h --- */

/* --- tensors --- */
struct ag_tensor {
    void *data;               /* numel elements of dtype, row-major */
    ag_tensor *grad;          /* leaf: heap, owned by the leaf; intermediate: tape-owned */
    ag_tape *tape;            /* the tape that owns this intermediate; NULL for a leaf */
    const ag_op *op;          /* the op that made it, when recorded */
    ag_tensor **inputs;       /* n_inputs inputs, after the shape */
    void *params;             /* op options copied after the inputs (axis, flags...) */
    size_t numel;             /* product of shape (1 for a scalar) */
    int64_t *shape;           /* ndim dimensions, right after the header */
    char *label;              /* ag_no_label_ until ag_set_label gives it AG_LABEL_SIZE bytes */
    const struct ag_site *site; /* anomaly mode: where the op was called, else NULL */
    uint64_t tag;             /* ag_tensor_tag of this header: see ag_is_live */
    uint32_t version;         /* bumped by every in-place change of the data (ag_set_flat,
                                 ag_data, optimizer updates); a node records its inputs' */
    uint32_t generation;      /* the tape's generation when this was made (its low 32 bits:
                                 a pointer kept for 2^32 resets could pass for live) */
    int32_t index;            /* position in the tape's node list, -1 if not recorded */
    int16_t n_inputs;         /* at most AG_MAX_INPUTS */
    int8_t ndim;
    uint8_t dtype;            /* an ag_dtype */
    bool requires_grad;       /* leaf: set by the user; intermediate: it was recorded */
    bool leaf;                /* caller-owned (heap) rather than tape-owned */
    bool grad_zero;           /* leaf: grad's buffer is logically zero (ag_zero_grad does not
                                 clear it; the next sweep overwrites it, ag_grad_of clears it) */
    bool grad_owned;          /* intermediate: grad is a buffer of its own, safe to add into in
                                 place (not shared with another tensor's gradient) */
};
enum { AG_MAX_INPUTS = INT16_MAX };
/* The header is small on purpose: a scalar graph makes one per node, and
 * a node of a scalar op (header, input list and data in one allocation)
 * fits two cache lines. */

/* --- tapes: laid out here so that the staleness test below is inline --- */
typedef struct ag_block {
    struct ag_block *next;
    size_t cap;
    size_t used;
    _Alignas(64) unsigned char mem[];
} ag_block;

typedef struct ag_arena {
    ag_block *head; /* first block; the only one in the steady state */
    ag_block *cur;  /* block being filled */
} ag_arena;

struct ag_tape {
    ag_arena data;        /* tensor data, index arrays, params */
    ag_arena headers[2];  /* tensor headers and labels, by generation parity; their blocks
                             are only freed with the tape (see ag_is_live) */
    ag_block *retired;    /* header blocks kept, never reused, in lifetime debug mode */
    size_t max_nodes;     /* ag_tape_set_max_nodes; 0 for no limit */
    uint64_t changes_at_first; /* ag_changes_ when the first node since the reset was recorded */
    ag_tensor **nodes;    /* recorded results in creation order (a topological order) */
    size_t n_nodes;
    size_t cap_nodes;
    uint64_t generation;
    bool swept;           /* a backward sweep ran since the last reset, so intermediates
                             may hold gradients from it */
};

/* A tensor's label buffer, made on the first ag_set_label; until then the
 * label is this shared empty string (never written). */
enum { AG_LABEL_SIZE = 32 };
extern char ag_no_label_[1];

/* Where an op was called (anomaly mode): static strings from the macros. */
typedef struct ag_site {
    const char *file;
    const char *func;
    int line;
} ag_site;

/* A header's tag: a mix of its own address, its tape and its generation.
 *
 * A pointer kept across two or more resets may point into header memory
 * that newer tensors now use, possibly into the middle of one, where the
 * bytes read as `tape` are anything. Header blocks are never freed while
 * the tape lives, so reading the pointer's fields is defined; the tag then
 * tells a header written for this very address, tape and generation from
 * whatever else is there, before `tape` is followed. */
static inline uint64_t ag_tensor_tag(const ag_tensor *t, const ag_tape *tape, uint32_t generation)
{
    uint64_t h = (uint64_t)(uintptr_t)t ^ ((uint64_t)(uintptr_t)tape << 1) ^
                 ((uint64_t)generation << 32 | generation);
    return (h * 0x9E3779B97F4A7C15ULL) | 1;
}

/* Whether t is a tensor one may use: a leaf, or an intermediate of its
 * tape's current generation. Every op asks this of every input, so it is a
 * few loads, a multiply and two compares. */
static inline bool ag_is_live(const ag_tensor *t)
{
    const ag_tape *tape = t->tape;
    return t->tag == ag_tensor_tag(t, tape, t->generation) &&
           (!tape || t->generation == (uint32_t)tape->generation);
}

static inline bool ag_is_stale(const ag_tensor *t)
{
    return !ag_is_live(t);
}

/* In-place changes made by this thread, so that a backward sweep can skip
 * the version check when there were none since its tape's first node. */
extern _Thread_local uint64_t ag_changes_;

/* Marks t's data as changed in place (see ag_tensor.version). */
static inline void ag_tensor_modified(ag_tensor *t)
{
    t->version++;
    ag_changes_++;
}

/* Lifetime debug mode (ag_debug_lifetimes, AG_DEBUG_LIFETIMES=1). */
bool ag_debug_lifetimes_on(void);

/* Bytes from the current generation's header arena of `tape` (8-aligned),
 * which outlive a stale header's readers: labels of intermediates. */
void *ag_tape_header_alloc(ag_tape *tape, size_t size);

/* The versions an op node recorded of its inputs, after its input list. */
static inline uint32_t *ag_node_versions(const ag_tensor *node)
{
    return (uint32_t *)(node->inputs + node->n_inputs);
}

/* Validates a shape (rank, non-negative dims, no overflow) and returns its
 * element count through *numel; records an error naming `what` if bad. */
bool ag_shape_check(const char *what, int ndim, const int64_t *shape, size_t *numel);

/* A new leaf with uninitialised data (NULL + error on a bad shape). */
ag_tensor *ag_leaf_new(ag_dtype dtype, int ndim, const int64_t *shape);

/* ag_op_result for built-in builders whose inputs passed ag_check_inputs
 * (or ag_inputs_ok) and whose result shape is valid with numel elements:
 * the same result without checking those again. */
ag_tensor *ag_op_result_checked(const ag_op *op, ag_dtype dtype, int ndim, const int64_t *shape,
                                size_t numel, int n_inputs, ag_tensor *const *inputs,
                                const void *params, size_t n_params);

/* ag_check_inputs's test inline (float inputs of one dtype, none NULL or
 * stale); the function runs only to word an error. */
static inline bool ag_inputs_ok(const char *op_name, int n, ag_tensor *const *inputs)
{
    for (int i = 0; i < n; i++) {
        const ag_tensor *t = inputs[i];
        if (!t || !ag_is_live(t) || t->dtype == AG_I64 || t->dtype != inputs[0]->dtype)
            return ag_check_inputs(op_name, n, inputs);
    }
    return true;
}

/* A new unrecorded intermediate on the current tape, uninitialised. */
ag_tensor *ag_tape_tensor(ag_dtype dtype, int ndim, const int64_t *shape);

/* An unrecorded 0-d constant on the current tape (for rules like where(c, g, 0)). */
ag_tensor *ag_const_scalar(ag_dtype dtype, double value);

/* Bytes from the current tape's arena (64-byte aligned), valid until reset. */
void *ag_tape_alloc(size_t size);

/* The backward sweep; with to_leaves false it leaves the leaves' gradients
 * alone (a dry run for traces). */
bool ag_backward_sweep(ag_tensor *output, ag_tensor *seed, bool create_graph, bool to_leaves);

/* A tensor's name for printouts: its label, or "#index op", "param", "const". */
char *ag_tensor_name(const ag_tensor *t, char *buf, size_t size);
/* Values for printouts: "0.3669", "[0.37, -0.29]" or "(64,10), norm 1.2". */
char *ag_format_values(const ag_tensor *t, char *buf, size_t size);

/* Anomaly mode (anomaly.c): stamp a new node with the caller's location;
 * report the first NaN/Inf among an op's inputs, an output, or a rule's
 * gradients (false and AG_ERR_NUMERIC). */
void ag_anomaly_stamp(ag_tensor *t);
bool ag_anomaly_check_inputs(const char *op, int n, ag_tensor *const *inputs);
bool ag_anomaly_check_output(const ag_tensor *t);
bool ag_anomaly_check_grads(const ag_tensor *node, const ag_tensor *g, int n,
                            ag_tensor *const *gin);

/* Node i of a tape (i < tape->n_nodes). There is no way to borrow the node
 * list itself: recording appends to it and may move it, so a walker that
 * records (a create_graph sweep, a checker re-running ops) must index the
 * tape anew at each step. */
static inline ag_tensor *ag_tape_node(const ag_tape *tape, size_t i)
{
    return tape->nodes[i];
}

/* Like ag_check_inputs (NULL, stale) but any dtype, i64 included. */
bool ag_check_inputs_any_dtype(const char *op_name, int n, ag_tensor *const *inputs);
/* The check of the ops that move or pick elements without computing
 * (reshape, slice, concat, permute, gather...): as ag_check_inputs, but i64
 * inputs pass too, all inputs of one dtype. An i64 result of such an op
 * is never recorded, as no i64 tensor requires grad. */
bool ag_check_inputs_data(const char *op_name, int n, ag_tensor *const *inputs);

/* Random shapes for checking an op: its sample rule, or one shared shape. */
void ag_sample_shapes(const ag_op_def *def, ag_rng *rng, int *ndim,
                      int64_t (*shape)[AG_MAX_DIMS]);

/* The op's inputs for a random check: shapes from its sample rule, values
 * uniform in its domain, f64 leaves requiring grad (caller frees in[]). */
bool ag_op_random_inputs(const ag_op_def *def, uint64_t seed, int *ndim,
                         int64_t (*shape)[AG_MAX_DIMS], ag_tensor **in);

/* Flat index -> multi-index of a shape. */
void ag_unflatten(size_t flat, int ndim, const int64_t *shape, int64_t *index);

/* "node 3: op 'swish' label 'h' inputs (2,3); input 0 element (1,2): ..." */
char *ag_format_culprit(const ag_gradcheck_nodes_report *r, char *buf, size_t size);


/* The element at flat index i as a double (no checks). */
static inline double ag_load(const ag_tensor *t, size_t i)
{
    switch (t->dtype) {
    case AG_F32: return ((const float *)t->data)[i];
    case AG_F64: return ((const double *)t->data)[i];
    default: return (double)((const int64_t *)t->data)[i];
    }
}

static inline void ag_store(ag_tensor *t, size_t i, double v)
{
    switch (t->dtype) {
    case AG_F32: ((float *)t->data)[i] = (float)v; break;
    case AG_F64: ((double *)t->data)[i] = v; break;
    default: ((int64_t *)t->data)[i] = (int64_t)v; break;
    }
}

/* dst += src over n elements of a float dtype (gradient accumulation). */
void ag_add_into(ag_dtype dtype, size_t n, void *dst, const void *src);



/* --- registry --- */
struct ag_op {
    ag_op_def def;
    bool builtin;      /* a static object in ops/, never freed */
    bool costly;       /* its map calls a transcendental function: split over the
                          threads from AG_GRAIN_MATH elements, not AG_GRAIN */
    bool user;         /* made by ag_op_register: its maps and rows (which may keep
                          state) run on the calling thread only; a built-in's are
                          split over the pool, registered yet or not */
    size_t order;      /* registration order, for ag_op_foreach */
    UT_hash_handle hh;
};

/* Registers a built-in op object through the same validation and insertion
 * as ag_op_register (a failure is recorded as an error); called only from
 * the list of built-ins, which the registry runs under its lock. */
void ag_op_register_builtin(ag_op *op);
/* The registry's own operations, without the built-ins (the public
 * ag_op_register, ag_op_find, ag_op_foreach and ag_op_count are in
 * ops/builtin.c: they register the built-ins first, through
 * ag_registry_ensure, and call these). */
void ag_registry_ensure(void (*register_builtins)(void));
const ag_op *ag_registry_add(const ag_op_def *def);
const ag_op *ag_registry_find(const char *name);
void ag_registry_foreach(void (*f)(const ag_op *op, void *ctx), void *ctx);
size_t ag_registry_count(void);
/* Empties the registry (ag_shutdown). */
void ag_registry_free(void);

/* --- thread state --- */
typedef struct ag_thread_state {
    bool grad_enabled;
    bool create_graph;             /* set while a backward sweep records itself */
    ag_backward_hook hook;
    void *hook_ctx;
    ag_grad_ready_hook ready_hook; /* ag_set_grad_ready_hook */
    void *ready_ctx;
} ag_thread_state;

ag_thread_state *ag_thread(void);

/* --- the thread pool (parallel.c; ag_parallel_for is in op.h) --- */
/* The grains of the parallel kernels: the least work per chunk, in
 * elements (or output elements, rows, planes as each kernel says), below
 * which a kernel stays on the calling thread. AG_GRAIN is
 * ag_parallel_grain() (op.h), for loops of a few operations per element;
 * AG_GRAIN_MATH, a sixteenth of it, for maps that call a transcendental
 * function per element (exp, tanh, erf: op->costly). bench/bench_threads
 * measured both (parallel.c says how). */
extern _Atomic size_t ag_grain_; /* parallel.c; read inline on every op's path */
#define AG_GRAIN atomic_load_explicit(&ag_grain_, memory_order_relaxed)
#define AG_GRAIN_MATH (AG_GRAIN / 16 ? AG_GRAIN / 16 : 1)

#endif

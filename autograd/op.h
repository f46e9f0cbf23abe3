/* SPDX-License-Identifier: MIT */
/* op.h — for op authors: defining an op (its forward, its rule, its
 * domain), registering it, building its result, reading a node's inputs,
 * and checking the op against finite differences.
 *
 * Model writers need only autograd.h; this adds what a new op needs, as
 * examples/custom_op.c shows:
 *
 *     #include <autograd/op.h>
 */
#ifndef AG_OP_H
#define AG_OP_H

#include "autograd.h"
#include "tools.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* What ops and extensions share with the library                      */
/* ------------------------------------------------------------------ */

/* Records an error (printf-style message) unless one is pending: the first
 * error wins, so that a failure deep in an expression is the one reported.
 * Ops, and code built on the library, report their own errors with it. A
 * NULL fmt records the status's name; AG_OK is recorded as AG_ERR_VALUE. */
AG_API void ag_error_set(ag_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The library's allocator: counted (ag_alloc_count) and failable in the
 * out-of-memory tests, so code that allocates through it is covered by
 * them. NULL on failure, with no error recorded (the caller words it);
 * ag_free(NULL) is a no-op. */
AG_API void *ag_malloc(size_t size);
AG_API void *ag_calloc(size_t n, size_t size); /* zeroed */
AG_API void *ag_realloc(void *p, size_t size); /* as realloc */
AG_API void ag_free(void *p);                  /* as free */

/* A chunk of a parallel loop: the indices [begin, end) of the range, and
 * the caller's context. */
typedef void (*ag_parallel_fn)(size_t begin, size_t end, void *ctx);
/* Runs fn over [0, n) split into contiguous chunks of at least `grain`
 * indices (0 counts as 1), on the library's thread pool and the calling
 * thread (see ag_set_num_threads), and returns when every chunk is done.
 * Runs fn(0, n, ctx) on the calling thread when n < 2 * grain, when one
 * thread is set, when called from inside a chunk, or when the pool is
 * running another thread's loop. How [0, n) is cut depends on the thread
 * count, so fn must give the same result for any cut (each index writes
 * its own outputs); fn must not fail, record errors (they are per thread)
 * or call BLAS. Nothing for n = 0; AG_ERR_NULL for a NULL fn. */
AG_API void ag_parallel_for(size_t n, size_t grain, ag_parallel_fn fn, void *ctx);
/* The grain the library's own cheap loops (add, relu, sums, optimizer
 * updates) pass to ag_parallel_for: the fewest elements per chunk for which
 * handing a chunk to another thread pays. 2^19, measured by
 * bench/bench_threads on the benchmark machine (bench/RESULTS.md): below
 * about a million elements a split add or update was slower than one
 * thread. Maps that call exp, tanh or erf per element use a sixteenth of
 * it. A loop of your own with about as much work per element can pass it. */
AG_API size_t ag_parallel_grain(void);

/* Whether t may be used: a leaf not freed, or an intermediate of its tape's
 * current generation. Records nothing (NULL gives false). */
AG_API bool ag_tensor_live(const ag_tensor *t);

/* Formats a shape as "(3,4)" ("()" for 0-d) into buf (size bytes) and
 * returns buf, for error messages; a NULL shape with ndim > 0 writes "?". */
AG_API char *ag_format_shape(int ndim, const int64_t *shape, char *buf, size_t size);

/* A leaf with uninitialised data (fill it through ag_data): ag_zeros
 * without the zeroing. Caller owns; free with ag_tensor_free. */
AG_API ag_tensor *ag_empty(ag_dtype dtype, int ndim, const int64_t *shape);
/* Tells the version check that t's data was written through ag_data (as
 * an optimizer does), so that a backward sweep through a node that saved
 * t before fails instead of using the new values. AG_ERR_NULL for NULL,
 * AG_ERR_STALE for an intermediate of a reset tape. */
AG_API void ag_mark_changed(ag_tensor *t);

/* ------------------------------------------------------------------ */
/* Op registry                                                         */
/* ------------------------------------------------------------------ */

/* A node's vector-Jacobian rule: given the node (its inputs through
 * ag_node_input, its own value as `node`) and the upstream gradient g (the
 * node's shape), set grad_in[i] to the gradient for input i, of input i's
 * shape, or leave NULL where input i needs none (ag_requires_grad false).
 * Write it with the public ops, so it can itself be recorded. Return false
 * on error. */
typedef bool (*ag_vjp_fn)(ag_tensor *node, ag_tensor *g, ag_tensor **grad_in);

/* An op's forward, taking its parameters: checks the inputs against
 * `params`, computes the result and records the node (as ag_op_result
 * does). `inputs` holds the op's n_inputs differentiable inputs, then —
 * when a recorded node is re-run — the node's further inputs (index
 * tensors, conditions), NULL-padded to AG_GRADCHECK_MAX_INPUTS entries.
 * `params` are the bytes such a node keeps (ag_node_params): the op's
 * public builder normalises its arguments (negative axes, AG_END,
 * defaults) into them and calls this function, and ag_op_apply calls it
 * with a node's params to re-run the node (ag_gradcheck_nodes), so both
 * go through the same code. Borrowed, read only during the call; NULL
 * only for an op that stores no params, or one without an example (an op
 * whose forward needs params gives an example for the sweeps). */
typedef ag_tensor *(*ag_forward_fn)(ag_tensor *const *inputs, const void *params);

/* How the registry sweep builds an op on sample inputs (drawn from its
 * domain with shapes from its sample rule): picks the options that
 * exercise the op's hard parts on those shapes (a negative step, a cyclic
 * permutation, an index tensor made up for the shape) and calls the public
 * builder. `inputs` as for ag_forward_fn, without the further inputs: an
 * index tensor is the example's own to make (on the current tape). Called
 * by ag_op_apply with NULL params; the result is owned by the tape. */
typedef ag_tensor *(*ag_example_fn)(ag_tensor *const *inputs);

/* The forward of an elementwise function of one tensor, for n contiguous
 * elements: y[i] = f(x[i]). An op with both maps (and one input) needs no
 * forward function: ag_op_apply and its builder run the map of the input's
 * dtype into a new result. */
typedef void (*ag_map_f32)(size_t n, const float *x, float *y);
typedef void (*ag_map_f64)(size_t n, const double *x, double *y);

/* The forward of an elementwise function of two tensors that broadcast,
 * for m rows of n elements: y[r*n + i] = f(a[r*ra + i*sa], b[r*rb + i*sb])
 * (a stride 0 repeats an element or a row). An op with both (and two
 * inputs) needs no forward function: broadcasting, the result and the node
 * come from the library. */
typedef void (*ag_rows_f32)(size_t m, size_t n, const float *a, ptrdiff_t sa, ptrdiff_t ra,
                            const float *b, ptrdiff_t sb, ptrdiff_t rb, float *y);
typedef void (*ag_rows_f64)(size_t m, size_t n, const double *a, ptrdiff_t sa, ptrdiff_t ra,
                            const double *b, ptrdiff_t sb, ptrdiff_t rb, double *y);

/* A first-order kernel: beside its rule (written with ops, so that it can
 * be differentiated again), an op may carry a kernel that computes the
 * same vector-Jacobian product with plain loops straight into the inputs'
 * gradient buffers. A first-order sweep (no create_graph, no hook, no
 * anomaly mode, no ag_grad capture) runs the kernel when there is one; the
 * rule remains the definition, and ag_gradcheck_op checks that both agree
 * (for built-in and user ops alike). */
typedef struct ag_grad_dst {
    ag_tensor *x;     /* the input; NULL when it wants no gradient */
    void *data;       /* x's gradient buffer (x's shape and dtype), or NULL until
                         ag_grad_dst_data makes one */
    bool accumulate;  /* data holds a gradient to add to; otherwise overwrite all of it */
    ag_tensor *alias; /* instead of writing, a kernel may set this when data is NULL: a
                         tensor of x's shape and dtype that is the gradient (g itself, for
                         add), which the sweep will not write into */
} ag_grad_dst;

/* Fills dst[j] for every input j with dst[j].x set, from the node y and its
 * upstream gradient g; false with an error recorded. */
typedef bool (*ag_grad_kernel)(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst);

/* d's gradient buffer, made on first use (uninitialised: d->accumulate is
 * then false, and the kernel must write every element). NULL with
 * AG_ERR_NOMEM. */
AG_API void *ag_grad_dst_data(ag_grad_dst *d);

enum {
    AG_OP_KINK = 1u << 0,         /* derivative has kinks (relu at 0, max ties) */
    AG_OP_NO_BROADCAST = 1u << 1, /* the op does not broadcast its inputs: the default
                                     sample rule then gives every input one shape
                                     (otherwise shapes that broadcast) */
    AG_OP_COMPOSITE = 1u << 2,    /* built from other ops: records no node of its own and
                                     has no vjp; listed so that checks and sweeps cover it */
    AG_OP_NO_GRAD = 1u << 3       /* its result carries no gradient (masks, comparisons) */
};

typedef struct ag_op_def {
    const char *name;  /* unique, e.g. "sigmoid" */
    int n_inputs;      /* arity */
    ag_forward_fn forward; /* the op's forward taking its params (see ag_forward_fn); NULL
                              for an elementwise op given by its maps or rows, and for a
                              composite, which records no node of its own */
    ag_example_fn example; /* how the sweep builds it on sample inputs (see ag_example_fn);
                              NULL: forward(inputs, NULL), or the maps or rows */
    ag_vjp_fn vjp;     /* the vector-Jacobian rule (NULL for a composite) */
    double domain_lo;  /* inputs for gradient checks are drawn from [lo, hi] */
    double domain_hi;
    unsigned flags;    /* AG_OP_* */
    /* Shapes for random checks: fills ndim[i] and shape[i] for each input.
     * NULL: every input gets the same random shape of rank 0 to 3. */
    void (*sample)(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS]);
    /* The rule in words, for traces: "dx += g * y * (1 - y)". May be NULL. */
    const char *rule;
    /* NULL when the rule is twice differentiable (gradgradcheck sweeps it);
     * otherwise why not, e.g. "a raw kernel with no composite form". */
    const char *first_order;
    /* The rule as plain loops for first-order sweeps, or NULL (the rule
     * runs). Must agree with vjp up to the order of sums. */
    ag_grad_kernel kernel;
    /* An elementwise op of one input: its forward in each dtype. */
    ag_map_f32 map_f32;
    ag_map_f64 map_f64;
    /* An elementwise op of two inputs that broadcast: the same. */
    ag_rows_f32 rows_f32;
    ag_rows_f64 rows_f64;
} ag_op_def;

typedef struct ag_op ag_op;

/* Registers an op under def->name (def and its strings are copied): the
 * one path by which every op, built-in or a user's, enters the registry,
 * validated alike. A definition needs a name, 1 to AG_GRADCHECK_MAX_INPUTS
 * inputs, a non-empty domain, a way to run it (a forward; with one input
 * both maps, with two both rows; or, for a composite, an example), a vjp
 * unless it is a composite, and a kernel only beside a vjp. Returns the
 * registered op, or NULL with AG_ERR_VALUE when the name is taken or the
 * definition is incomplete (AG_ERR_NULL for a NULL def). The registry
 * lives for the whole process and is behind a lock: any thread may
 * register and look ops up while others run ops. */
AG_API const ag_op *ag_op_register(const ag_op_def *def);
/* The op registered under `name`, or NULL (AG_ERR_NOTFOUND; AG_ERR_NULL
 * for a NULL name). */
AG_API const ag_op *ag_op_find(const char *name);
/* Runs the op on inputs. With params (a recorded node's, ag_node_params)
 * it calls the op's forward, re-running the node exactly as it was made.
 * With NULL params it builds the op as the registry sweep does: its
 * example when it has one, else forward(inputs, NULL), else for an
 * elementwise op its map or rows of the inputs' dtype (the result recorded
 * as a node of op). The result is owned by the tape. NULL with AG_ERR_NULL
 * for a NULL op or inputs, AG_ERR_VALUE for params given to a composite
 * (it has no forward), or the op's own error. */
AG_API ag_tensor *ag_op_apply(const ag_op *op, ag_tensor *const *inputs, const void *params);
/* The op's definition. Borrowed. NULL with AG_ERR_NULL for a NULL op. */
AG_API const ag_op_def *ag_op_info(const ag_op *op);
/* Calls f on every registered op in registration order (ctx is handed on
 * and may be NULL). A NULL f records AG_ERR_NULL. */
AG_API void ag_op_foreach(void (*f)(const ag_op *op, void *ctx), void *ctx);
/* The number of registered ops. */
AG_API size_t ag_op_count(void);

/* Creates the result of a user-defined op: a new intermediate of the given
 * dtype and shape with uninitialised data, recorded as a node of `op` with
 * `inputs` when grad mode is on and any input requires grad. Fill its data
 * through ag_data before returning it. `params` (n_params bytes, may be 0)
 * are copied into the node for the vjp rule (ag_node_params). At most
 * 32767 inputs (AG_ERR_VALUE beyond). In a first-order sweep the node
 * runs the op's kernel when it has one, else its rule. AG_ERR_NULL
 * for a NULL op, a NULL shape with ndim > 0, NULL inputs (or entry) with
 * n_inputs > 0, or NULL params with n_params > 0. */
AG_API ag_tensor *ag_op_result(const ag_op *op, ag_dtype dtype, int ndim, const int64_t *shape,
                        int n_inputs, ag_tensor *const *inputs, const void *params, size_t n_params);
/* Validates an op's inputs before its shape rule runs: none NULL
 * (AG_ERR_NULL, keeping an earlier error, so a failed sub-expression is
 * reported once), none stale (AG_ERR_STALE), all of one float dtype
 * (AG_ERR_DTYPE). Messages name `op_name`. A NULL op_name, or a NULL
 * `inputs` with n > 0, is AG_ERR_NULL. */
AG_API bool ag_check_inputs(const char *op_name, int n, ag_tensor *const *inputs);
/* The op that made t, or NULL for a leaf or an unrecorded result. */
AG_API const ag_op *ag_node_op(const ag_tensor *t);
/* The number of inputs of the node that made t (0 for a leaf). */
AG_API int ag_node_n_inputs(const ag_tensor *t);
/* Input i of the node that made t. Borrowed. */
AG_API ag_tensor *ag_node_input(const ag_tensor *t, int i);
/* The bytes stored with ag_op_result's params. Borrowed. */
AG_API const void *ag_node_params(const ag_tensor *t);
/* t's position on its tape (0 for the first recorded node), or -1.
 * For a NULL t each of these five gives NULL, 0 or -1 with AG_ERR_NULL. */
AG_API long ag_node_index(const ag_tensor *t);

/* Built-in ops carry, beside their rule (written with ops, so that it can
 * be differentiated again), a kernel computing the same product with plain
 * loops straight into the gradient buffers: a weight's gradient comes out
 * of one GEMM call with no temporary. First-order sweeps use the kernels;
 * create_graph sweeps, hooks, anomaly mode and ag_grad use the rules.
 * Turning the kernels off (for this thread) runs every node through its
 * rule: the two agree up to the order of summation, which ag_gradcheck_op
 * checks for every op. Returns the previous setting. */
AG_API bool ag_set_grad_kernels(bool on);

/* Checks a registered op on random inputs drawn from its domain, with
 * shapes from its sample rule (broadcasting and size-1 dimensions included).
 * `seed` makes the draw repeatable. Beyond the gradient it checks that the
 * op computes in f32 what it computes in f64 (within f32 precision), and
 * that zero-size inputs give a result or a clear error, never a crash.
 * opts and report may be NULL, as for ag_gradcheck. */
AG_API bool ag_gradcheck_op(const ag_op *op, uint64_t seed, const ag_gradcheck_opts *opts,
                     ag_gradcheck_report *report);
/* The same for a registered op on random inputs from its domain. Ops whose
 * rule is not twice differentiable carry AG_OP_FIRST_ORDER and a reason. */
AG_API bool ag_gradgradcheck_op(const ag_op *op, uint64_t seed, const ag_gradcheck_opts *opts,
                         ag_gradcheck_report *report);

#ifdef __cplusplus
}
#endif

#endif

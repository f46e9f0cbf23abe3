/* SPDX-License-Identifier: MIT */
/* autograd.h — tape-based reverse-mode automatic differentiation in C11.
 *
 * A worked example: logistic regression as an expression.
 *
 *     #include <autograd/autograd.h>
 *
 *     double xs[] = {0.5, 1.0,  -1.0, 2.0,  1.5, -0.5};   // 3 samples, 2 features
 *     double ys[] = {1, 0, 1};
 *     ag_tensor *X = ag_from_array(AG_F64, 2, (int64_t[]){3, 2}, xs);
 *     ag_tensor *y = ag_from_array(AG_F64, 2, (int64_t[]){3, 1}, ys);
 *     ag_tensor *w = ag_zeros(AG_F64, 2, (int64_t[]){2, 1});
 *     ag_tensor *b = ag_zeros(AG_F64, 0, NULL);
 *     ag_set_requires_grad(w, true);
 *     ag_set_requires_grad(b, true);
 *     for (int step = 0; step < 100; step++) {
 *         ag_tensor *p = ag_sigmoid(ag_add(ag_matmul(X, w), b));     // p = σ(Xw + b)
 *         ag_tensor *nll = ag_neg(ag_mean(ag_add(                     // −mean(y log p
 *             ag_mul(y, ag_log(p)),                                   //   + (1−y) log(1−p))
 *             ag_mul(ag_add_scalar(ag_neg(y), 1), ag_log(ag_add_scalar(ag_neg(p), 1))))));
 *         if (!nll) { fprintf(stderr, "%s\n", ag_last_error()); break; }
 *         ag_zero_grad(w); ag_zero_grad(b);
 *         ag_backward(nll);                                           // fills w->grad, b->grad
 *         ag_sgd_update(w, 0.5); ag_sgd_update(b, 0.5);
 *         ag_tape_reset(NULL);                                        // frees every intermediate
 *     }
 *
 * Sections: status codes · types · tensors (lifecycle, access) · the tape and
 * grad mode · ops · backward · random numbers, printing, matrix kernels.
 * Layers, losses, optimizers, data and model files are in models.h (included
 * at the end); gradient checking, traces, explaining a gradient, the graph
 * in DOT and anomaly mode, for teaching and checking, in tools.h; defining
 * a new op in op.h.
 *
 * Ownership words used below:
 *   "caller owns; free with ag_tensor_free" — a leaf, lives until freed.
 *   "owned by the tape, valid until ag_tape_reset" — an intermediate.
 *   "borrowed" — the callee keeps no reference past the call.
 */
#ifndef AUTOGRAD_H
#define AUTOGRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Marks what the shared library exports: it is built with
 * -fvisibility=hidden, so everything else (the internal helpers the
 * layers share) stays inside it. Empty for programs using the library. */
#if defined(AG_BUILDING_LIBRARY) && defined(__GNUC__)
#define AG_API __attribute__((visibility("default")))
#else
#define AG_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header (semantic versioning: the major number
 * changes when a program has to change). */
#define AG_VERSION_MAJOR 0
#define AG_VERSION_MINOR 1
#define AG_VERSION_PATCH 0

/* The version of the library linked, "MAJOR.MINOR.PATCH": it may differ
 * from the header's macros when a program runs against another build. */
AG_API const char *ag_version(void);

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

typedef enum ag_status {
    AG_OK = 0,
    AG_ERR_NULL,      /* a NULL argument where a value is required (or a NULL input from an earlier failure) */
    AG_ERR_SHAPE,     /* shapes do not fit the op (broadcasting, inner dimensions, rank) */
    AG_ERR_DTYPE,     /* dtypes differ or the op does not take this dtype */
    AG_ERR_STALE,     /* an intermediate used after its tape was reset */
    AG_ERR_VALUE,     /* an argument out of range (axis, index, size, option) */
    AG_ERR_NOMEM,     /* an allocation failed */
    AG_ERR_STATE,     /* a call at the wrong time (backward without grad, no graph) */
    AG_ERR_IO,        /* reading or writing a file failed */
    AG_ERR_PARSE,     /* a malformed file or string */
    AG_ERR_NOTFOUND,  /* a name not in a registry or store */
    AG_ERR_NUMERIC    /* a NaN or Inf where a finite value is required */
} ag_status;

/* The status's name, e.g. "AG_ERR_SHAPE". Never NULL. */
AG_API const char *ag_status_str(ag_status s);

/* The first error recorded on this thread since the last ag_error_clear, or
 * AG_OK. Ops return NULL on failure and keep the first error, so a whole
 * expression can be checked once at its end. */
AG_API ag_status ag_last_status(void);

/* The message of the first error on this thread ("" when there is none). The
 * message names the op and the offending shapes or values, e.g.
 * "matmul: (3,4) @ (5,2): inner dimensions 4 and 5 differ". Borrowed: valid
 * until the next ag_error_clear on this thread. */
AG_API const char *ag_last_error(void);

/* Forgets the recorded error, so that the next failure is reported. */
AG_API void ag_error_clear(void);

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

#define AG_MAX_DIMS 8

typedef enum ag_dtype {
    AG_F32 = 0, /* float */
    AG_F64 = 1, /* double */
    AG_I64 = 2  /* int64_t: indices and class labels; carries no gradient */
} ag_dtype;

/* "f32", "f64" or "i64". */
AG_API const char *ag_dtype_str(ag_dtype d);
/* Bytes per element of the dtype. */
AG_API size_t ag_dtype_size(ag_dtype d);

/* A tensor: contiguous row-major data, a shape of 0..AG_MAX_DIMS dimensions,
 * an optional gradient and, for results of recorded ops, the node that made
 * it. The struct is opaque; use the accessors below. */
typedef struct ag_tensor ag_tensor;

/* A tape: the arena that holds every intermediate and the append-only list
 * of recorded nodes. Opaque. */
typedef struct ag_tape ag_tape;

/* ------------------------------------------------------------------ */
/* Tensors: lifecycle                                                  */
/* ------------------------------------------------------------------ */

/* Every constructor below makes a leaf: caller owns; free with
 * ag_tensor_free. They return NULL and record an error on a bad shape
 * (ndim outside 0..8, a negative dimension, a size that overflows) or when
 * memory runs out. `shape` is borrowed and may be NULL when ndim is 0. */

/* A tensor of zeros. */
AG_API ag_tensor *ag_zeros(ag_dtype dtype, int ndim, const int64_t *shape);
/* A tensor of ones. */
AG_API ag_tensor *ag_ones(ag_dtype dtype, int ndim, const int64_t *shape);
/* A tensor filled with `value` (converted to the dtype). */
AG_API ag_tensor *ag_full(ag_dtype dtype, int ndim, const int64_t *shape, double value);
/* A copy of `data`, which holds numel elements of the dtype's C type
 * (float, double or int64_t) in row-major order. */
AG_API ag_tensor *ag_from_array(ag_dtype dtype, int ndim, const int64_t *shape, const void *data);
/* A 0-dimensional tensor holding `value`. */
AG_API ag_tensor *ag_scalar(ag_dtype dtype, double value);
/* A deep copy of any tensor's value (not its graph or gradient) as a new leaf. */
AG_API ag_tensor *ag_clone(const ag_tensor *t);

/* Frees a leaf and its gradient. ag_tensor_free(NULL) is a no-op, and so is
 * freeing an intermediate: intermediates die with their tape's reset. */
AG_API void ag_tensor_free(ag_tensor *t);

/* Marks a leaf as a parameter whose gradient ag_backward fills. Records
 * AG_ERR_STATE for an intermediate (only leaves can be made to require grad)
 * and AG_ERR_DTYPE for an integer tensor; returns false then. */
AG_API bool ag_set_requires_grad(ag_tensor *t, bool requires_grad);
/* Whether gradients flow to t (a marked leaf, or a recorded result).
 * False with AG_ERR_NULL for NULL. */
AG_API bool ag_requires_grad(const ag_tensor *t);
/* Whether t is a leaf (caller-owned) rather than a tape intermediate.
 * False with AG_ERR_NULL for NULL. */
AG_API bool ag_is_leaf(const ag_tensor *t);

/* Gives t a name used by every printout (trace, graph, errors). The string
 * is copied (at most 31 bytes kept); a NULL label clears it. A NULL t
 * records AG_ERR_NULL. */
AG_API void ag_set_label(ag_tensor *t, const char *label);
/* The label, or "" when none was set. Borrowed. "" for NULL too, without
 * an error: labels only feed printouts, which show a failed result as such. */
AG_API const char *ag_label(const ag_tensor *t);

/* ------------------------------------------------------------------ */
/* Tensors: access                                                     */
/* ------------------------------------------------------------------ */

/* Shape queries. They return 0 (or AG_F32) for NULL or a stale tensor,
 * and record the error. */
AG_API ag_dtype ag_tensor_dtype(const ag_tensor *t);
AG_API int ag_ndim(const ag_tensor *t); /* the number of dimensions, 0 to 8 */
/* The size of dimension `axis`; negative axes count from the end. */
AG_API int64_t ag_dim(const ag_tensor *t, int axis);
/* All dimensions (borrowed, ag_ndim(t) entries; NULL on error). */
AG_API const int64_t *ag_shape(const ag_tensor *t);
/* The number of elements (1 for a scalar). */
AG_API size_t ag_numel(const ag_tensor *t);

/* The raw element storage, row-major: float*, double* or int64_t* by dtype.
 * Borrowed: valid while the tensor is. NULL (and an error) for NULL or stale
 * tensors. Writing through it is allowed for leaves, and for an op's own
 * result inside its forward. Such writes are not seen by the version check
 * below (ag_set_flat's are): after changing a leaf that a recorded graph
 * used, compute the forward pass again before backward. */
AG_API void *ag_data(ag_tensor *t);
AG_API const void *ag_data_const(const ag_tensor *t); /* the same storage, read-only */

/* The single value of a one-element tensor, as a double. NaN and an error
 * otherwise. */
AG_API double ag_item(const ag_tensor *t);
/* Element at the flat row-major index i, as a double. NaN and an error when
 * out of range. */
AG_API double ag_get_flat(const ag_tensor *t, size_t i);
/* Element at a multi-index (ag_ndim(t) entries; may be NULL for a 0-d t),
 * as a double. NaN and AG_ERR_NULL for a NULL index otherwise. */
AG_API double ag_get(const ag_tensor *t, const int64_t *index);
/* Sets one element of a leaf. Returns false and records an error for an
 * intermediate or an index out of range. It counts as an in-place change,
 * as optimizer updates do: every recorded node keeps the version of each
 * input it used, and a backward sweep that reaches a node one of whose
 * inputs was changed since fails with AG_ERR_STATE naming the tensor and
 * the op, instead of computing a gradient from the new values (PyTorch's
 * "modified by an inplace operation"). */
AG_API bool ag_set_flat(ag_tensor *t, size_t i, double value);

/* The gradient accumulated by ag_backward: for a leaf, a tensor of the
 * leaf's shape owned by the leaf (valid until ag_tensor_free or the next
 * ag_zero_grad); for an intermediate, the gradient from the last backward
 * sweep, owned by the tape.
 * NULL when no gradient has reached t, and that is not an error (the status
 * stays AG_OK, as a PyTorch .grad of None is no exception): t does not
 * require grad (ag_set_requires_grad(t, true) was forgotten before the
 * forward pass), no ag_backward has run since it was made, or the loss
 * does not depend on t (after ag_zero_grad it is zeros, not NULL).
 * ag_sgd_update and ag_optim_step, which need a gradient, say which of
 * these it is. NULL with AG_ERR_NULL for a NULL t. */
AG_API ag_tensor *ag_grad_of(const ag_tensor *t);
/* Sets a leaf's gradient to zero (keeps its memory for reuse). The buffer
 * is cleared lazily: the next backward overwrites it, and ag_grad_of
 * clears it if it is read first. So read the gradient through ag_grad_of
 * after every ag_zero_grad, not through a data pointer kept from before. */
AG_API void ag_zero_grad(ag_tensor *t);

/* ------------------------------------------------------------------ */
/* The tape and grad mode                                              */
/* ------------------------------------------------------------------ */

/* A new, empty tape. Caller owns; free with ag_tape_free. */
AG_API ag_tape *ag_tape_new(void);
/* Frees a tape and every intermediate in it. If it is the current tape of
 * this thread, the thread falls back to its default tape. NULL: frees this
 * thread's default tape (call it at the end of a program or thread). */
AG_API void ag_tape_free(ag_tape *tape);
/* This thread's current tape. A default tape is made on first use. */
AG_API ag_tape *ag_tape_current(void);
/* Makes `tape` current on this thread and returns the previous current
 * tape, so scopes can nest. NULL selects the default tape, and is what it
 * returns when the thread was on a default tape not made yet (passing that
 * back restores it): switching tapes allocates nothing and cannot fail. */
AG_API ag_tape *ag_tape_use(ag_tape *tape);
/* Frees every intermediate of `tape` (NULL: the current tape) at once and
 * keeps the memory for the next step: after the first step, a training loop
 * allocates nothing. An intermediate used after this is reported as
 * AG_ERR_STALE. Exactly so after one reset; after two or more, the memory
 * of the kept pointer may have been given to a tensor of the current step.
 * The library never reads freed memory for it (header memory is only freed
 * with the tape) and checks a tag, so such a use is either AG_ERR_STALE or
 * — only when a newer tensor's header starts at that very address — reads
 * that newer tensor. ag_debug_lifetimes catches every such use. */
AG_API void ag_tape_reset(ag_tape *tape);
/* Lifetime debug mode, process-wide: while on, tensor header memory is
 * never reused (it is kept until its tape is freed, so memory grows with
 * every step), and every use of an intermediate after any number of resets
 * is AG_ERR_STALE, as AddressSanitizer's quarantine catches a use after
 * free. The environment variable AG_DEBUG_LIFETIMES=1 turns it on from the
 * start. Takes effect at the next reset; returns the previous setting. */
AG_API bool ag_debug_lifetimes(bool on);
/* Refuse to record more than max_nodes nodes on `tape` (NULL: the current
 * tape) between resets: an op that would record one more fails with
 * AG_ERR_STATE and a message asking whether ag_tape_reset was forgotten. 0
 * (the default) means no limit. false with AG_ERR_NOMEM only when the
 * default tape cannot be made. */
AG_API bool ag_tape_set_max_nodes(ag_tape *tape, size_t max_nodes);
/* The number of nodes recorded since the last reset. Here and in the next
 * two, NULL means the current tape. */
AG_API size_t ag_tape_size(const ag_tape *tape);
/* Bytes the tape holds in reserve (its arena capacity). */
AG_API size_t ag_tape_capacity(const ag_tape *tape);
/* The tape's generation: increases by one at every reset. */
AG_API uint64_t ag_tape_generation(const ag_tape *tape);

/* Grad mode: when off, ops compute without recording (evaluation, optimizer
 * updates). ag_no_grad_begin returns the previous mode for ag_grad_mode_set. */
AG_API bool ag_grad_mode(void);
AG_API void ag_grad_mode_set(bool enabled); /* recording on or off, for this thread */
AG_API bool ag_no_grad_begin(void); /* recording off; returns the mode before */

/* ------------------------------------------------------------------ */
/* Ops                                                                 */
/* ------------------------------------------------------------------ */

/* Every op returns a new intermediate (owned by the tape, valid until
 * ag_tape_reset) — except ag_broadcast_to and ag_sum_to, which return their
 * input itself when it already has the requested shape (and ag_cast and
 * ag_dropout when there is nothing to do) — recorded when grad mode is on and an input requires grad.
 * A NULL input gives NULL and keeps the first error; bad shapes or dtypes give
 * NULL and an error naming the op and the shapes. Inputs must share one
 * float dtype (convert with ag_cast), except that the ops which only move
 * or pick elements — ag_reshape, the layout ops, ag_split, ag_chunk,
 * ag_gather and ag_index_select — take i64 tensors too, giving unrecorded
 * i64 results. Binary ops broadcast as numpy does. */

/* Elementwise binary, with broadcasting. */
AG_API ag_tensor *ag_add(ag_tensor *a, ag_tensor *b); /* a + b */
AG_API ag_tensor *ag_sub(ag_tensor *a, ag_tensor *b); /* a - b */
AG_API ag_tensor *ag_mul(ag_tensor *a, ag_tensor *b); /* a * b */
AG_API ag_tensor *ag_div(ag_tensor *a, ag_tensor *b); /* a / b */

/* With a scalar constant (not differentiated). */
AG_API ag_tensor *ag_add_scalar(ag_tensor *x, double c); /* x + c */
AG_API ag_tensor *ag_mul_scalar(ag_tensor *x, double c); /* x * c */

/* Elementwise unary. */
AG_API ag_tensor *ag_neg(ag_tensor *x);     /* -x */
AG_API ag_tensor *ag_exp(ag_tensor *x);     /* e^x */
AG_API ag_tensor *ag_log(ag_tensor *x);     /* ln x (x <= 0 gives -inf/NaN, as in C) */
AG_API ag_tensor *ag_sigmoid(ag_tensor *x); /* 1 / (1 + e^-x), without overflow for any x */
AG_API ag_tensor *ag_tanh(ag_tensor *x);    /* tanh x */
AG_API ag_tensor *ag_relu(ag_tensor *x);    /* max(x, 0); derivative 0 at x = 0 */
AG_API ag_tensor *ag_step(ag_tensor *x);    /* 1 where x > 0, else 0; carries no gradient */

/* More elementwise functions (f32/f64, broadcasting where two inputs). */
AG_API ag_tensor *ag_pow(ag_tensor *a, ag_tensor *b);       /* a^b; the gradient for b needs a > 0 */
AG_API ag_tensor *ag_pow_scalar(ag_tensor *x, double p);    /* x^p */
AG_API ag_tensor *ag_sqrt(ag_tensor *x);                    /* √x */
AG_API ag_tensor *ag_abs(ag_tensor *x);                     /* |x|; subgradient 0 at 0 */
AG_API ag_tensor *ag_sign(ag_tensor *x);                    /* -1, 0 or 1; carries no gradient */
AG_API ag_tensor *ag_square(ag_tensor *x);                  /* x² */
AG_API ag_tensor *ag_reciprocal(ag_tensor *x);              /* 1/x */
AG_API ag_tensor *ag_softplus(ag_tensor *x);                /* ln(1 + e^x), exact for any x */
AG_API ag_tensor *ag_log_sigmoid(ag_tensor *x);             /* ln σ(x), exact for any x */
/* min(max(x, lo), hi); gradient 1 strictly inside, 0 at and beyond the bounds. */
AG_API ag_tensor *ag_clamp(ag_tensor *x, double lo, double hi);
/* Elementwise larger/smaller of a and b; on a tie the gradient goes to a. */
AG_API ag_tensor *ag_maximum(ag_tensor *a, ag_tensor *b);
AG_API ag_tensor *ag_minimum(ag_tensor *a, ag_tensor *b); /* the smaller of a and b */
/* cond ? a : b elementwise; cond of any dtype (nonzero is true) gets no
 * gradient; the three shapes broadcast together. */
AG_API ag_tensor *ag_where(ag_tensor *cond, ag_tensor *a, ag_tensor *b);
/* Comparisons: 0/1 masks in the inputs' dtype, with broadcasting; no gradient. */
AG_API ag_tensor *ag_gt(ag_tensor *a, ag_tensor *b);
AG_API ag_tensor *ag_ge(ag_tensor *a, ag_tensor *b); /* a >= b */
AG_API ag_tensor *ag_lt(ag_tensor *a, ag_tensor *b); /* a < b */
AG_API ag_tensor *ag_le(ag_tensor *a, ag_tensor *b); /* a <= b */
AG_API ag_tensor *ag_eq(ag_tensor *a, ag_tensor *b); /* a == b */
AG_API ag_tensor *ag_ne(ag_tensor *a, ag_tensor *b); /* a != b */

/* Activations, special functions and the variance (f32/f64, PyTorch's
 * semantics and names). Each returns a new intermediate as the ops above;
 * NULL with the op named in the error for a NULL or stale input (and for
 * hardtanh's min_val > max_val, var's and std's axis out of range). */
AG_API ag_tensor *ag_gelu(ag_tensor *x);      /* x·Φ(x) with erf, PyTorch's approximate='none' */
/* x/2·(1 + tanh(√(2/π)(x + 0.044715x³))), PyTorch's approximate='tanh' */
AG_API ag_tensor *ag_gelu_tanh(ag_tensor *x);
AG_API ag_tensor *ag_silu(ag_tensor *x);      /* x·σ(x) (swish) */
/* x > 0 ? x : negative_slope·x; the slope at 0 is negative_slope, as PyTorch's */
AG_API ag_tensor *ag_leaky_relu(ag_tensor *x, double negative_slope);
/* x > 0 ? x : alpha·(e^x − 1); at 0 the slope is alpha (a kink unless alpha = 1) */
AG_API ag_tensor *ag_elu(ag_tensor *x, double alpha);
/* min(max(x, min_val), max_val) (ag_clamp); gradient 1 strictly inside, 0
 * at and beyond the bounds, as PyTorch's. AG_ERR_VALUE when min_val > max_val. */
AG_API ag_tensor *ag_hardtanh(ag_tensor *x, double min_val, double max_val);
AG_API ag_tensor *ag_sin(ag_tensor *x);       /* sin x */
AG_API ag_tensor *ag_cos(ag_tensor *x);       /* cos x */
AG_API ag_tensor *ag_erf(ag_tensor *x);       /* the error function, 2/√π ∫₀ˣ e^(−t²) dt */
AG_API ag_tensor *ag_log1p(ag_tensor *x);     /* ln(1 + x), exact for small x; NaN below −1 */
AG_API ag_tensor *ag_expm1(ag_tensor *x);     /* e^x − 1, exact for small x */
AG_API ag_tensor *ag_rsub(ag_tensor *x, double c); /* c − x */
AG_API ag_tensor *ag_rdiv(ag_tensor *x, double c); /* c / x, as PyTorch computes it: (1/x)·c */
/* The variance of every element (a 0-d result): Σ(x − mean)² / (N − correction);
 * correction 1 is unbiased (PyTorch's default), 0 biased. As PyTorch, where
 * N ≤ correction the divisor is taken as 0: +inf, or NaN when every square
 * is 0 (a single element with correction 1, or no element). */
AG_API ag_tensor *ag_var(ag_tensor *x, int correction);
/* The variance along one axis (negative counts from the end), N its
 * length; that dimension removed, or kept with size 1 when keepdim. */
AG_API ag_tensor *ag_var_axis(ag_tensor *x, int axis, int correction, bool keepdim);
AG_API ag_tensor *ag_std(ag_tensor *x, int correction); /* √ag_var(x, correction) */
/* √ag_var_axis(x, axis, correction, keepdim) */
AG_API ag_tensor *ag_std_axis(ag_tensor *x, int axis, int correction, bool keepdim);

/* Matrix product with numpy's rules: (m,k) @ (k,n) -> (m,n); a 1-D left
 * operand is a row and a 1-D right operand a column (the added dimension is
 * dropped from the result); leading batch dimensions broadcast, e.g.
 * (2,1,3,4) @ (5,4,6) -> (2,5,3,6). Two 1-D operands give their dot product. */
AG_API ag_tensor *ag_matmul(ag_tensor *a, ag_tensor *b);
/* op(a) @ op(b), where op transposes the last two dimensions of an operand
 * when its flag is set; operands are both 2-D, or both 3-D with one batch
 * size. Gradients of matmul are written with this op, so no transpose is
 * ever materialized. */
AG_API ag_tensor *ag_matmul_t(ag_tensor *a, bool transpose_a, ag_tensor *b, bool transpose_b);
/* x @ W + b for x (n,k), W (k,m) and a bias b (m) added to every row: a
 * layer's affine map as one node (PyTorch's addmm). The bias is copied into
 * the result and the product added onto it by the same GEMM call (beta 1),
 * which saves the separate pass and node of ag_add(ag_matmul(x, W), b);
 * the gradients are those of that expression. AG_ERR_SHAPE for other
 * shapes (use ag_matmul and ag_add). */
AG_API ag_tensor *ag_affine(ag_tensor *x, ag_tensor *W, ag_tensor *b);
/* x Wᵀ + b with W (m, k), as PyTorch's F.linear and nn.Linear store it:
 * one node, the transpose a GEMM flag (no copy). The layers use it. */
AG_API ag_tensor *ag_affine_t(ag_tensor *x, ag_tensor *W, ag_tensor *b);
/* relu(x Wᵀ + b) as one node: ag_affine_t with the ReLU applied in place
 * (PyTorch's F.relu(F.linear(x, W, b))). The same values and gradients as
 * ag_relu(ag_affine_t(x, W, b)), bit for bit, one node and one tensor
 * fewer. ag_mlp_forward uses it for ReLU layers. Errors as ag_affine_t. */
AG_API ag_tensor *ag_affine_t_relu(ag_tensor *x, ag_tensor *W, ag_tensor *b);
/* Σ a_i b_i for 1-D tensors of one length (a 0-d result). */
AG_API ag_tensor *ag_dot(ag_tensor *a, ag_tensor *b);
/* The (n, m) outer product of 1-D tensors a (n) and b (m). */
AG_API ag_tensor *ag_outer(ag_tensor *a, ag_tensor *b);
/* The 2-D transpose (a copy). */
AG_API ag_tensor *ag_transpose2d(ag_tensor *x);

/* Reductions. Without an axis: a 0-dimensional result. Along an axis
 * (negative counts from the end): that dimension removed, or kept with
 * size 1 when keepdim. */
AG_API ag_tensor *ag_sum(ag_tensor *x);
AG_API ag_tensor *ag_mean(ag_tensor *x); /* the mean of every element */
AG_API ag_tensor *ag_sum_axis(ag_tensor *x, int axis, bool keepdim); /* the sum along one axis */
AG_API ag_tensor *ag_mean_axis(ag_tensor *x, int axis, bool keepdim); /* the mean along one axis */

/* Shape. */
/* The same elements in a new shape of equal element count. */
AG_API ag_tensor *ag_reshape(ag_tensor *x, int ndim, const int64_t *shape);
/* x broadcast (numpy rules) to `shape`. */
AG_API ag_tensor *ag_broadcast_to(ag_tensor *x, int ndim, const int64_t *shape);
/* The inverse of broadcasting: sums x down to `shape`, which x's shape must
 * broadcast from. Every broadcasting op's gradient goes through this one op. */
AG_API ag_tensor *ag_sum_to(ag_tensor *x, int ndim, const int64_t *shape);

/* Indexing. Index tensors are i64 and never carry a gradient. */
/* y[...i...] = x[...index[...i...]...], the index replacing the coordinate
 * along `axis` (PyTorch's gather): index has x's rank, the result its shape.
 * AG_ERR_VALUE names an index value out of range and its position. */
AG_API ag_tensor *ag_gather(ag_tensor *x, int axis, ag_tensor *index);
/* The adjoint of gather: zeros of `shape`, with src[...i...] added at
 * [...index[...i...]...] along axis (repeated positions add up). */
AG_API ag_tensor *ag_scatter_add(ag_tensor *src, int axis, ag_tensor *index, int ndim,
                          const int64_t *shape);
/* The slices of x at the positions of the 1-D index along axis. */
AG_API ag_tensor *ag_index_select(ag_tensor *x, int axis, ag_tensor *index);
/* i64 positions of the largest/smallest element along axis: the first on
 * ties; the first NaN is always picked (so a NaN is never hidden, as in
 * numpy). Not recorded. */
AG_API ag_tensor *ag_argmax(ag_tensor *x, int axis, bool keepdim);
AG_API ag_tensor *ag_argmin(ag_tensor *x, int axis, bool keepdim); /* the index of the smallest */
/* (labels..., n_classes) rows of 0/1 in dtype for i64 labels. Not recorded. */
AG_API ag_tensor *ag_one_hot(ag_tensor *labels, int64_t n_classes, ag_dtype dtype);
/* A copy of x's value cut from the graph (a constant to what follows). */
AG_API ag_tensor *ag_detach(ag_tensor *x);

/* Extremes and a stable log-sum-exp. The gradient of max/min goes to the
 * extreme element — the first one, in row-major order, on ties. */
AG_API ag_tensor *ag_max(ag_tensor *x);
AG_API ag_tensor *ag_min(ag_tensor *x); /* the smallest element */
/* The largest along one axis. */
AG_API ag_tensor *ag_max_axis(ag_tensor *x, int axis, bool keepdim);
/* The smallest along one axis. */
AG_API ag_tensor *ag_min_axis(ag_tensor *x, int axis, bool keepdim);
/* log Σ e^x without overflow (finite for inputs of ±1000 in f32). */
AG_API ag_tensor *ag_logsumexp(ag_tensor *x);
/* The same along one axis. */
AG_API ag_tensor *ag_logsumexp_axis(ag_tensor *x, int axis, bool keepdim);

/* Neural-net functions and losses, stable for logits of ±1000 in f32 and f64. */
typedef enum ag_reduction {
    AG_REDUCE_MEAN = 0, /* the mean over all elements (over the N rows for nll/cross_entropy) */
    AG_REDUCE_SUM = 1,
    AG_REDUCE_NONE = 2  /* one loss per element (per row) */
} ag_reduction;
/* e^x / Σ e^x along axis. */
AG_API ag_tensor *ag_softmax(ag_tensor *x, int axis);
/* x − logsumexp(x) along axis. */
AG_API ag_tensor *ag_log_softmax(ag_tensor *x, int axis);
/* −[y ln σ(z) + (1 − y) ln(1 − σ(z))], computed as softplus(z) − z·y;
 * logits and targets of one shape. */
AG_API ag_tensor *ag_bce_with_logits(ag_tensor *logits, ag_tensor *targets, ag_reduction r);
/* −log softmax(z)[i, label_i] for logits (N, C) and i64 labels (N);
 * AG_ERR_VALUE names a label out of [0, C) and its position. */
AG_API ag_tensor *ag_cross_entropy(ag_tensor *logits, ag_tensor *labels, ag_reduction r);
/* −logp[i, label_i] for log-probabilities (N, C) and i64 labels (N). */
AG_API ag_tensor *ag_nll(ag_tensor *logp, ag_tensor *labels, ag_reduction r);
/* (pred − target)², shapes broadcasting. */
AG_API ag_tensor *ag_mse(ag_tensor *pred, ag_tensor *target, ag_reduction r);

/* Attention. */
/* PyTorch 2's F.scaled_dot_product_attention(q, k, v, attn_mask, is_causal):
 * q (..., L, E), k (..., S, E), v (..., S, Ev) with equal batch dimensions
 * (0 or more) give (..., L, Ev) = softmax(q kᵀ/√E + mask) v, the softmax
 * along S. mask is NULL or a float additive mask of q's dtype that
 * broadcasts to (..., L, S) (−inf blocks a position; it gets a gradient
 * like any input); causal blocks key j > query i (PyTorch's tril of
 * ones(L, S), aligned at the top left) and needs mask NULL. Unlike
 * PyTorch, which gives NaN, a row whose every position is blocked gives
 * zeros, with zero gradients. Built from public ops, so it can be
 * differentiated twice. A new intermediate (owned by the tape); inputs are
 * borrowed. NULL with AG_ERR_NULL / AG_ERR_STALE / AG_ERR_DTYPE for bad
 * inputs, AG_ERR_SHAPE naming the shapes for ranks below 2 or unequal,
 * batch dimensions, E or S that differ, or a mask that does not broadcast,
 * and AG_ERR_VALUE for a mask together with causal. */
AG_API ag_tensor *ag_scaled_dot_product_attention(ag_tensor *q, ag_tensor *k, ag_tensor *v,
                                                  ag_tensor *mask, bool causal);

/* Convolution, as PyTorch's F.conv2d, F.conv1d and F.conv_transpose2d:
 * NCHW layout, weights (Cout, Cin/groups, kH, kW) for convolution and
 * (Cin, Cout/groups, kH, kW) for its transpose, zero padding on both
 * sides, output sizes as PyTorch computes them. f32 and f64. Results are
 * new intermediates (owned by the tape); inputs are borrowed. Errors name
 * the op and the shapes: AG_ERR_SHAPE for wrong ranks, channel counts that
 * do not match (the message gives the expected shape, e.g. "expected
 * (N, 1, H, W)", and says when x looks channels-last), a kernel larger than
 * the padded input and a bias that is not (Cout); AG_ERR_VALUE for a
 * stride or dilation below 1, negative padding, and groups that do not
 * divide the channels. Every gradient is itself written with these ops,
 * so convolutions can be differentiated twice. */
typedef struct ag_conv_opts {
    int64_t stride[2];         /* (sH, sW); conv1d uses [0] only (so for every field) */
    int64_t padding[2];        /* zero padding on both sides */
    int64_t dilation[2];       /* spacing of the kernel taps (1: adjacent) */
    int64_t output_padding[2]; /* conv_transpose2d only: extra rows/cols at the end, each
                                  below the stride or the dilation; ignored by conv */
    int64_t groups;            /* channels split into this many independent groups */
} ag_conv_opts;
/* Stride 1, padding 0, dilation 1, output_padding 0, groups 1. */
AG_API ag_conv_opts ag_conv_defaults(void);
/* y[n, o] = bias[o] + Σ_c weight[o, c] ⋆ x[n, group(o)'s channel c] for x
 * (N, Cin, H, W), weight (Cout, Cin/groups, kH, kW), bias (Cout) or NULL;
 * y is (N, Cout, (H + 2pH − dH(kH − 1) − 1)/sH + 1, the same in W). opts
 * NULL means ag_conv_defaults(); opts is borrowed. */
AG_API ag_tensor *ag_conv2d(ag_tensor *x, ag_tensor *weight, ag_tensor *bias,
                            const ag_conv_opts *opts);
/* The same in one dimension: x (N, Cin, L), weight (Cout, Cin/groups, k),
 * bias (Cout) or NULL; the options' index 0 apply. Built on ag_conv2d with
 * H = 1. */
AG_API ag_tensor *ag_conv1d(ag_tensor *x, ag_tensor *weight, ag_tensor *bias,
                            const ag_conv_opts *opts);
/* The transpose (the gradient of ag_conv2d with respect to its input):
 * x (N, Cin, H, W), weight (Cin, Cout/groups, kH, kW), bias (Cout) or
 * NULL; y is (N, Cout, (H − 1)sH − 2pH + dH(kH − 1) + opH + 1, the same
 * in W). AG_ERR_VALUE when an output_padding is negative or not below
 * the stride or the dilation of its dimension. */
AG_API ag_tensor *ag_conv_transpose2d(ag_tensor *x, ag_tensor *weight, ag_tensor *bias,
                                      const ag_conv_opts *opts);

/* Sequence ops, as PyTorch's F.embedding, Tensor.masked_fill, torch.tril
 * and torch.triu, in f32 and f64. Results are new intermediates (owned by
 * the tape); inputs are borrowed. Each is built on index_select or where,
 * so its gradient can be differentiated again. */
/* The rows of weight (num, dim) picked by the i64 ids, of any shape (0-d
 * included): the result is (ids..., dim). weight's gradient accumulates
 * over repeated ids (a scatter-add); ids get none. AG_ERR_DTYPE for ids
 * that are not i64, AG_ERR_SHAPE for a weight that is not 2-D, and
 * AG_ERR_VALUE for an id < 0 or >= num, naming the id, its position in
 * ids and the weight's shape. */
AG_API ag_tensor *ag_embedding(ag_tensor *ids, ag_tensor *weight);
/* x where mask is 0 and value where it is non-zero. The mask (f32 or f64
 * 0/1, or i64) must broadcast to x's shape, which the result keeps
 * (AG_ERR_SHAPE names both shapes otherwise). Gradient: g where mask is 0,
 * else 0; the mask gets none. value may be ±inf (a causal mask's −inf). */
AG_API ag_tensor *ag_masked_fill(ag_tensor *x, ag_tensor *mask, double value);
/* The lower triangle of the last two dimensions of x (rank >= 2, else
 * AG_ERR_SHAPE): element (..., i, j) is kept where j − i <= diagonal and
 * is 0 elsewhere (exactly 0, even where x is ±inf or NaN). diagonal 0 is
 * the main diagonal, > 0 above it, < 0 below. */
AG_API ag_tensor *ag_tril(ag_tensor *x, int64_t diagonal);
/* The upper triangle: (..., i, j) kept where j − i >= diagonal; triu of
 * ones with diagonal 1 marks the future positions of a causal mask. */
AG_API ag_tensor *ag_triu(ag_tensor *x, int64_t diagonal);

/* Layout: moving elements between axes. Axes may be negative (from the end).
 * Results are copies (never views) and new intermediates, even when nothing
 * moves; results are bit-identical copies of the input elements (i64
 * included, unrecorded). A bad axis is AG_ERR_VALUE ("slice: axis 3 out
 * of range for shape (2,3)"); shapes that do not fit are AG_ERR_SHAPE. Gradients:
 * permute's is the inverse permute, slice's places g into zeros of x's
 * shape, concat's slices g back into the pieces; the others are built on
 * these and on ag_reshape, so every gradient can be differentiated again. */
#define AG_END INT64_MAX /* a slice's stop meaning "to the end", in the step's direction */
/* Swaps two axes (a permute; the same axis twice gives a copy). */
AG_API ag_tensor *ag_transpose(ag_tensor *x, int axis0, int axis1);
/* Reorders the axes: the result's axis i is x's axis perm[i] (n = ag_ndim(x);
 * perm is borrowed and may be NULL when n is 0). AG_ERR_VALUE when n differs
 * from x's rank, an entry is out of range, or an axis repeats (the message
 * names the repeated and the missing axis). */
AG_API ag_tensor *ag_permute(ag_tensor *x, int n, const int *perm);
/* The elements start, start+step, ... before stop along one axis, with
 * Python's slice semantics: negative start/stop count from the end,
 * out-of-range bounds clamp, an empty range gives a size-0 axis, and step
 * may be negative (x[start:stop:-1] walks backwards) but not 0
 * (AG_ERR_VALUE). stop = AG_END is Python's omitted stop: to the end in the
 * step's direction, so ag_slice(x, a, -1, AG_END, -1) reverses axis a, as
 * x[::-1] does. */
AG_API ag_tensor *ag_slice(ag_tensor *x, int axis, int64_t start, int64_t stop, int64_t step);
typedef struct ag_range {
    int64_t start, stop, step;
} ag_range;
/* A slice on every axis at once: ranges[i] applies to axis i (ag_ndim(x)
 * entries, borrowed; may be NULL for a 0-d x). {0, AG_END, 1} keeps an axis
 * whole, and whole axes cost nothing: one ag_slice is made per other axis. */
AG_API ag_tensor *ag_slice_ranges(ag_tensor *x, const ag_range *ranges);
/* Joins n >= 1 tensors (the array is borrowed) of one rank >= 1 along an
 * existing axis; the other dimensions must agree (AG_ERR_SHAPE names the
 * first input that differs from input 0), pieces may have size 0 along the
 * axis. One node with n inputs: each input that requires grad gets its
 * block of the gradient. */
AG_API ag_tensor *ag_concat(int n, ag_tensor *const *xs, int axis);
/* Stacks n >= 1 tensors of one shape along a new axis at position axis
 * (0..ndim; negative from the end, -1 making it the last): expand_dims of
 * each, then concat. AG_ERR_SHAPE when the shapes differ. */
AG_API ag_tensor *ag_stack(int n, ag_tensor *const *xs, int axis);
/* Inserts a size-1 axis at position axis (0..ndim; negative from the end,
 * -1 appending it). AG_ERR_SHAPE for an input of AG_MAX_DIMS dimensions. */
AG_API ag_tensor *ag_expand_dims(ag_tensor *x, int axis);
/* Removes a size-1 axis (AG_ERR_SHAPE if its size is not 1). */
AG_API ag_tensor *ag_squeeze(ag_tensor *x, int axis);

/* ------------------------------------------------------------------ */
/* Pooling and normalisation                                           */
/* ------------------------------------------------------------------ */

/* PyTorch's F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d,
 * F.batch_norm, F.layer_norm and F.group_norm on NCHW batches, f32 or f64.
 * Results are intermediates as for every op; errors name the op, the
 * shapes and the offending value. */

/* The largest element of each kH×kW window of x (N, C, H, W), the windows
 * `stride` apart (NULL: the kernel) over x padded by `padding` (NULL: 0)
 * on each side with −inf; the result is (N, C, oH, oW) with
 * oH = ⌊(H + 2·padH − kH) / strideH⌋ + 1. The gradient goes to the first
 * largest element of each window; a NaN is always picked. kernel and
 * stride must be positive, padding at most half the kernel (PyTorch's
 * rule), the padded input at least the kernel (AG_ERR_VALUE / AG_ERR_SHAPE);
 * N may be 0, not C, H or W. A NULL x or kernel is AG_ERR_NULL. */
AG_API ag_tensor *ag_max_pool2d(ag_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2]);
/* The mean of each window, windows as in ag_max_pool2d, padded with 0:
 * count_include_pad divides by the window's area within the padded input
 * (PyTorch's default), otherwise by the number of x's elements in it.
 * Errors as ag_max_pool2d. */
AG_API ag_tensor *ag_avg_pool2d(ag_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], bool count_include_pad);
/* x (N, C, H, W) averaged into (N, C, out_h, out_w) bins, bin i of rows
 * ⌊i·H/out_h⌋ to ⌈(i+1)·H/out_h⌉ (bins may overlap), as PyTorch's
 * adaptive_avg_pool2d. out_h and out_w must be positive (AG_ERR_VALUE). */
AG_API ag_tensor *ag_adaptive_avg_pool2d(ag_tensor *x, int64_t out_h, int64_t out_w);
/* Batch normalisation of x (N, C) or (N, C, *) per channel:
 * (x − mean)·(var + eps)^(−1/2)·weight + bias. Training: mean and biased
 * var of the batch (AG_ERR_VALUE when N·(spatial size) is 1: "expected
 * more than 1 value per channel when training"), and when the running
 * statistics are given they are updated in place, unrecorded:
 * r = (1 − momentum)·r + momentum·stat with the unbiased variance for
 * running_var (an empty batch leaves them), counted as in-place changes
 * (ag_mark_changed). Not training: running_mean and running_var (both
 * required, AG_ERR_VALUE) are used, copied into the graph. running_mean,
 * running_var (borrowed leaves), weight and bias (C) may each be NULL
 * (no update, weight 1, bias 0); another length is AG_ERR_SHAPE, the
 * message naming the NCHW shape when x looks channels-last. eps must be
 * finite and >= 0. */
AG_API ag_tensor *ag_batch_norm(ag_tensor *x, ag_tensor *running_mean, ag_tensor *running_var,
                         ag_tensor *weight, ag_tensor *bias, bool training, double momentum,
                         double eps);
/* Normalises x over its last n_dims dimensions (1 to ag_ndim(x)) with
 * their mean and biased variance, then multiplies by weight and adds bias,
 * each of those trailing dimensions' shape or NULL (AG_ERR_SHAPE
 * otherwise). */
AG_API ag_tensor *ag_layer_norm(ag_tensor *x, int n_dims, ag_tensor *weight, ag_tensor *bias,
                         double eps);
/* Normalises x (N, C, *) over each of `groups` groups of C / groups
 * consecutive channels (with all their positions), then weight and bias
 * (C) or NULL per channel. AG_ERR_VALUE when groups does not divide C. */
AG_API ag_tensor *ag_group_norm(ag_tensor *x, int64_t groups, ag_tensor *weight, ag_tensor *bias,
                         double eps);

/* ------------------------------------------------------------------ */
/* Backward                                                            */
/* ------------------------------------------------------------------ */

/* Seeds d(loss)/d(loss) = 1 and sweeps the nodes reachable from `loss` in
 * reverse tape order, calling each node's vector-Jacobian rule and adding
 * the results into the inputs' gradients; leaves that require grad receive
 * theirs in ag_grad_of(leaf). No recursion: chains of millions of nodes are
 * fine. Calling it again before a reset adds the gradients again (as
 * PyTorch's retain_graph does); zero them with ag_zero_grad. Errors:
 * AG_ERR_SHAPE for a loss with more than one element (use ag_backward_seed),
 * AG_ERR_STALE after a reset, AG_ERR_STATE when loss does not require grad.
 * Returns false on error. */
AG_API bool ag_backward(ag_tensor *loss);
/* The same from any output, seeded with `seed` (the output's shape): the
 * vector in the vector-Jacobian product. A NULL seed is AG_ERR_NULL (use
 * ag_backward_ex for the implicit seed 1). */
AG_API bool ag_backward_seed(ag_tensor *output, ag_tensor *seed);

/* The general form: seed may be NULL for a one-element output. With
 * create_graph the sweep is itself recorded: the gradients it leaves (in
 * ag_grad_of of leaves and intermediates) are graph tensors owned by the
 * tape, which can be differentiated again (Hessian-vector products, Newton
 * steps). A leaf's graph gradient dies at the next reset. */
AG_API bool ag_backward_ex(ag_tensor *output, ag_tensor *seed, bool create_graph);

/* Flags of ag_grad. */
enum {
    AG_GRAD_CREATE_GRAPH = 1u << 0, /* record the sweep: the gradients can be differentiated */
    AG_GRAD_ALLOW_UNUSED = 1u << 1  /* zeros for inputs the outputs do not depend on
                                       (otherwise AG_ERR_STATE, as PyTorch) */
};

/* The functional backward: grads[i] = d<outputs, seeds>/d inputs[i] for
 * leaves or intermediates, returned as tensors owned by the tape (valid
 * until ag_tape_reset) without touching any tensor's ag_grad_of. seeds may
 * be NULL (then every output must have one element and is seeded with 1; a
 * NULL entry seeds ones). With AG_GRAD_CREATE_GRAPH the gradients are graph
 * tensors: differentiate them again for Hessians and higher orders. NULL
 * outputs, inputs or grads, or a NULL entry of outputs or inputs, is
 * AG_ERR_NULL. */
AG_API bool ag_grad(int n_out, ag_tensor *const *outputs, ag_tensor *const *seeds, int n_in,
             ag_tensor *const *inputs, unsigned flags, ag_tensor **grads);

/* Second-order helpers built on ag_grad; results are tape tensors.
 * The Hessian-vector product H·v of a scalar loss with respect to x (v of
 * x's shape): the gradient of <∇loss, v>. */
AG_API ag_tensor *ag_hvp(ag_tensor *loss, ag_tensor *x, ag_tensor *v);
/* The full Hessian of a scalar loss with respect to x, as (n, n) with
 * n = ag_numel(x): one H·e_i row per element (for small x: teaching, tests,
 * Newton's method). */
AG_API ag_tensor *ag_hessian(ag_tensor *loss, ag_tensor *x);
/* The Jacobian of y with respect to x, as (ag_numel(y), ag_numel(x)), one
 * vector-Jacobian product per row. */
AG_API ag_tensor *ag_jacobian(ag_tensor *y, ag_tensor *x);
/* The Jacobian-vector product J·v (v of x's shape, result of y's shape) by
 * the double-vjp trick: u ↦ Jᵀu is linear in u, and its vjp with v is J·v. */
AG_API ag_tensor *ag_jvp(ag_tensor *y, ag_tensor *x, ag_tensor *v);


typedef struct ag_rng ag_rng;

/* ------------------------------------------------------------------ */
/* Casts, splitting, random tensors and dropout                        */
/* ------------------------------------------------------------------ */

/* x converted to dtype (PyTorch's .to): between f32 and f64 a recorded op
 * whose gradient is g converted back to x's dtype; to or from AG_I64 an
 * unrecorded result without gradient (float to i64 truncates toward zero;
 * AG_ERR_VALUE names an element no int64_t holds: NaN, ±inf, |v| >= 2^63).
 * The same dtype gives x itself, not a copy. AG_ERR_DTYPE for an unknown
 * dtype. Owned by the tape, valid until ag_tape_reset. */
AG_API ag_tensor *ag_cast(ag_tensor *x, ag_dtype dtype);
/* torch.split with an int: x cut along axis into pieces of split_size (the
 * last may be smaller; an empty axis is one empty piece). Writes the
 * pieces (slices of x, owned by the tape, each passing its gradient back
 * into x's) to out[0..] and returns their number, or -1 with an error:
 * AG_ERR_VALUE for max_out too small (naming how many are needed), a bad
 * axis or a split_size below 1, AG_ERR_SHAPE for a 0-d x, AG_ERR_NULL for
 * a NULL x or out. i64 tensors are cut too. */
AG_API int ag_split(ag_tensor *x, int64_t split_size, int axis, ag_tensor **out, int max_out);
/* torch.chunk: pieces of ceil(n / chunks) along axis, so fewer than
 * `chunks` when that size covers the axis sooner (6 in 4 chunks gives
 * 2, 2, 2); an empty axis gives `chunks` empty pieces. Otherwise as
 * ag_split (chunks < 1 is AG_ERR_VALUE). */
AG_API int ag_chunk(ag_tensor *x, int chunks, int axis, ag_tensor **out, int max_out);
/* Random tensors of dtype f32 or f64 (AG_ERR_DTYPE otherwise) drawn from
 * rng, owned by the tape (valid until ag_tape_reset, as any op result) and
 * carrying no gradient. Elements take the stream's draws in row-major
 * order, computed in double; an f32 tensor holds them rounded, so one seed
 * gives the same values in both dtypes. ag_randn: normal(0, 1). ag_rand:
 * uniform in [0, 1) (an f32 draw that would round up to 1 is the largest
 * float below 1). NULL with AG_ERR_NULL for a NULL rng. */
AG_API ag_tensor *ag_randn(ag_dtype dtype, int ndim, const int64_t *shape, ag_rng *rng);
AG_API ag_tensor *ag_rand(ag_dtype dtype, int ndim, const int64_t *shape, ag_rng *rng); /* uniform [0, 1) */
/* 0 or 1 for each element of p, 1 with probability p[i] (u < p[i] for a
 * uniform draw u): p's shape and dtype, owned by the tape, no gradient.
 * AG_ERR_VALUE names an element of p outside [0, 1] (NaN included), before
 * anything is drawn; AG_ERR_DTYPE for an i64 p, AG_ERR_NULL for a NULL p
 * or rng. */
AG_API ag_tensor *ag_bernoulli(ag_tensor *p, ag_rng *rng);
/* F.dropout: when training, each element of x zeroed with probability p
 * and the others scaled by 1/(1 − p) (inverted dropout, so the expected
 * value is x), the mask drawn from rng: x · m with m = bernoulli(1 − p) /
 * (1 − p) a constant, so the gradient is g · m. The keep probability is
 * drawn in f64 whatever x's dtype: a seed drops the same elements of f32
 * and f64 tensors. When not training, or p == 0, or x is empty: x itself,
 * as PyTorch returns its input. p == 1 gives zeros (x · 0, as PyTorch).
 * rng is only read when a mask is drawn (training, 0 < p < 1); NULL then
 * is AG_ERR_NULL. p outside [0, 1] is AG_ERR_VALUE. Owned by the tape. */
AG_API ag_tensor *ag_dropout(ag_tensor *x, double p, bool training, ag_rng *rng);

/* ------------------------------------------------------------------ */
/* Random numbers, printing, matrix kernels                            */
/* ------------------------------------------------------------------ */

/* A seeded random number generator (xoshiro256**). Deterministic across
 * platforms for a given seed. */
struct ag_rng {
    uint64_t s[4];
};
AG_API void ag_rng_seed(ag_rng *rng, uint64_t seed); /* starts the stream of `seed` */
AG_API uint64_t ag_rng_next(ag_rng *rng); /* 64 random bits */
/* Uniform in [0, 1). */
AG_API double ag_rng_uniform(ag_rng *rng);
/* Standard normal. */
AG_API double ag_rng_normal(ag_rng *rng);
/* A NULL rng records AG_ERR_NULL in all four: ag_rng_seed does nothing,
 * ag_rng_next returns 0, ag_rng_uniform and ag_rng_normal NaN. */

/* Leaves with random elements: uniform in [lo, hi), or normal(mean, std).
 * NULL with AG_ERR_NULL for a NULL rng. */
AG_API ag_tensor *ag_rand_uniform(ag_dtype dtype, int ndim, const int64_t *shape, double lo, double hi,
                           ag_rng *rng);
AG_API ag_tensor *ag_rand_normal(ag_dtype dtype, int ndim, const int64_t *shape, double mean, double std,
                          ag_rng *rng); /* normal(mean, std) elements */

/* Writes t numpy-style ("tensor([[1.0000, 2.0000], ...], f64)"); large
 * tensors are summarised with "...". A NULL t prints "tensor(NULL)" (the
 * result of a failed op); a NULL f records AG_ERR_NULL. */
AG_API void ag_fprint(FILE *f, const ag_tensor *t);
AG_API void ag_print(const ag_tensor *t); /* ag_fprint to stdout */
/* The shape as "(3,4)" into buf; returns buf. A NULL t writes "()" and
 * records AG_ERR_NULL; a NULL buf returns NULL with AG_ERR_NULL. */
AG_API char *ag_shape_str(const ag_tensor *t, char *buf, size_t size);

/* One plain gradient-descent step on a leaf: t -= lr * grad; it counts as
 * an in-place change of t (see ag_set_flat). False with AG_ERR_STATE, t
 * untouched, when t is an intermediate, does not require grad, or has no
 * gradient yet (the message says which and what to call); AG_ERR_VALUE for
 * a learning rate that is not finite, AG_ERR_DTYPE for an i64 tensor. */
AG_API bool ag_sgd_update(ag_tensor *t, double lr);

/* Matrix products use OpenBLAS when the library was built with it; the
 * portable blocked kernel otherwise, or when selected here (tests run both).
 * Returns false when BLAS was requested but not built in. */
typedef enum ag_matmul_backend { AG_MATMUL_BUILTIN = 0, AG_MATMUL_BLAS = 1 } ag_matmul_backend;
/* Selects the kernel for this thread. */
AG_API bool ag_matmul_backend_set(ag_matmul_backend backend);
AG_API ag_matmul_backend ag_matmul_backend_get(void); /* the kernel selected for this thread */
/* Whether the library was built with BLAS. */
AG_API bool ag_have_blas(void);

/* The number of heap allocations the library has made so far, by every
 * thread (all go through one allocator). A training loop's steady state
 * adds none: compare the count before and after a step. */
AG_API size_t ag_alloc_count(void);

/* Frees this thread's default tape and the op registry (call once at the
 * end of a program; valgrind then reports nothing). */
AG_API void ag_shutdown(void);

/* ---- threads (issue 18): the pool the non-GEMM kernels share ---- */

/* Sets how many threads the library's own kernels use (PyTorch's
 * torch.set_num_threads): elementwise maps, reductions along an axis,
 * im2col/col2im, pooling, normalisation and optimizer updates split their
 * work over a pool of n - 1 workers and the calling thread once a tensor
 * is past a size threshold (small work stays on the caller). The default
 * is AG_NUM_THREADS from the environment, else OPENBLAS_NUM_THREADS, else
 * the number of online CPUs; values above 256 are capped. Process-wide;
 * the workers start on the first call that needs them and stop in
 * ag_shutdown. Returns false with AG_ERR_VALUE for n < 1 (the setting is
 * kept).
 *
 * Sharing cores with BLAS: matrix products keep OpenBLAS's own threads
 * (OPENBLAS_NUM_THREADS), and the library never calls BLAS from inside a
 * parallel region, so the two pools take turns rather than stacking: at
 * any moment either a GEMM runs on OpenBLAS's threads or a kernel runs on
 * this pool. Set both to the number of cores (the default does when only
 * OPENBLAS_NUM_THREADS is set). Several user threads (a tape each) share
 * the one pool: a call made while another thread's job runs, or from
 * inside a chunk, runs on its own thread instead of waiting.
 *
 * Results do not depend on the setting: every parallel kernel either
 * writes each output element from one chunk, or (full reductions) sums
 * fixed-size blocks and adds the block sums in order, so one thread and
 * many give the same bits. */
AG_API bool ag_set_num_threads(int n);
/* The current setting (read from the environment on first use). */
AG_API int ag_get_num_threads(void);

/* For the wrappers in ag_locations.h; not for direct use. Atomic because
 * one thread may toggle the mode while others run ops; a relaxed load is
 * enough for a mode flag (no other data is published through it) and costs
 * a plain load. C++ has no _Atomic before C++23, so C++ callers reach the
 * flag through ag_anomaly_mode() (tools.h) instead. */
#ifndef __cplusplus
#include <stdatomic.h>
AG_API extern atomic_bool ag_anomaly_on_;
#endif
/* file and func may be NULL (an unknown place). */
AG_API void ag_set_location_(const char *file, int line, const char *func);

#ifdef __cplusplus
}
#endif

/* The models layer, which ends with the source-location macros (they must
 * follow every declaration they wrap). */
#include "models.h"

#endif

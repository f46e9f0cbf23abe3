/* SPDX-License-Identifier: MIT */
/* tools.h — for teaching and checking: watching the backward sweep step by
 * step, explaining a gradient as the chain rule does, drawing the graph,
 * checking gradients against finite differences (a function, a whole
 * model node by node), and anomaly mode.
 *
 * Model writers need only autograd.h (and models.h); a lecture, a test or
 * an op author's check adds
 *
 *     #include <autograd/tools.h>
 *
 * as examples/seed_backprop.c and examples/custom_op.c do. None of these
 * functions builds a tensor of the user's graph, so none has a source-
 * location macro. */
#ifndef AG_TOOLS_H
#define AG_TOOLS_H

#include "autograd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Watching the backward sweep                                         */
/* ------------------------------------------------------------------ */

/* An observer of the backward sweep, called once per node after its rule
 * ran: the node, its upstream gradient, and the gradient it sends to each
 * input (NULL where an input takes none). For traces and teaching. */
typedef void (*ag_backward_hook)(void *ctx, const ag_tensor *node, const ag_tensor *grad_out,
                                 int n_inputs, ag_tensor *const *inputs, ag_tensor *const *grad_in);
/* Installs the hook for this thread (NULL removes it). While a hook is
 * installed every node runs its rule, so the hook sees every gradient. */
AG_API void ag_set_backward_hook(ag_backward_hook hook, void *ctx);

/* ------------------------------------------------------------------ */
/* A leaf's gradient is final (issue 17: data-parallel training)       */
/* ------------------------------------------------------------------ */

/* Called during ag_backward (and ag_backward_seed, ag_backward_ex) once per
 * leaf that requires grad and that a node of the sweep consumes, as soon as
 * no node still to be visited can add to that leaf's gradient: right after
 * the sweep has passed the lowest-numbered node using the leaf. The leaf's
 * gradient (ag_grad_of) is then final for this sweep, so a data-parallel
 * trainer can start sending it while the sweep goes on (PyTorch's
 * register_post_accumulate_grad_hook). Leaves fire in the order their last
 * consumers are visited (from the loss down), and the leaves of one node in
 * the order of its inputs; the order depends only on the graph, not on
 * addresses. A leaf whose consumers all sent it nothing (their own
 * gradients were absent) still fires, its gradient as it was before the
 * sweep (NULL if it never had one). ag_grad (which leaves .grad alone)
 * fires nothing, nor does a failed sweep after its failure. The hook
 * must not run ag_backward; it may read and write the leaf's gradient. */
typedef void (*ag_grad_ready_hook)(void *ctx, ag_tensor *leaf);
/* Installs the hook for this thread (NULL removes it; ctx is passed back
 * untouched and may be NULL). Unlike ag_set_backward_hook it leaves the
 * first-order kernels on; a sweep without the hook pays nothing for it,
 * and one with it makes one pass over the tape first (memory from the
 * tape's arena: ag_backward fails with AG_ERR_NOMEM when that fails). */
AG_API void ag_set_grad_ready_hook(ag_grad_ready_hook hook, void *ctx);

/* A ready-made hook that prints each step of the sweep to the FILE* given
 * as ctx (stdout when NULL): the node (label or "#index op"), its upstream
 * gradient, the op's rule, and what it adds to each input — values for
 * small tensors, shape and norm for large ones:
 *     ag_set_backward_hook(ag_trace_hook, stdout);  ag_backward(loss);
 * Entries of grad_in may be NULL (inputs that take no gradient); a NULL
 * node, grad_out, inputs (or entry of it) or grad_in prints nothing and
 * records AG_ERR_NULL, and a leaf as node AG_ERR_VALUE. */
AG_API void ag_trace_hook(void *ctx, const ag_tensor *node, const ag_tensor *grad_out, int n_inputs,
                   ag_tensor *const *inputs, ag_tensor *const *grad_in);

/* ------------------------------------------------------------------ */
/* Explaining a gradient, drawing the graph                            */
/* ------------------------------------------------------------------ */

#define AG_EXPLAIN_MAX_PATHS 16
#define AG_EXPLAIN_MAX_FACTORS 15

typedef struct ag_explain_path {
    int n_factors;                                  /* number of chain-rule factors */
    char names[AG_EXPLAIN_MAX_FACTORS + 1][48];     /* loss, waypoints ..., x */
    double factors[AG_EXPLAIN_MAX_FACTORS];         /* factor k = d names[k] / d names[k+1] */
    double product;
} ag_explain_path;

typedef struct ag_explanation {
    int n_paths;                                    /* paths listed (at most AG_EXPLAIN_MAX_PATHS) */
    size_t n_paths_total;                           /* paths found */
    bool exploded;                                  /* more paths than could be listed */
    ag_explain_path paths[AG_EXPLAIN_MAX_PATHS];
    double total;                                   /* d loss / d x[element], over every path */
} ag_explanation;

/* Explains d loss / d x[element] as the chain rule does: a sum over the
 * paths from x to the loss, each a product of local derivatives with
 * numbers. The steps named on a path are the labelled tensors it passes
 * (ag_set_label), so a network labelled as in a lecture prints
 *     dE/da20 * da20/dz20 * dz20/dw1_10 = 0.3669 x 0.2455 x 0.5424 = 0.04886
 * and unnamed steps in between are multiplied (and summed) into the factors.
 * Elements of tensors are named label[i,j]. When there are too many paths to
 * list, it says so, prints the total and falls back to the backward trace.
 * Writes to f (may be NULL) with `digits` significant digits and fills out
 * (may be NULL). Needs the recorded graph: call it before ag_tape_reset.
 * Leaves' gradients are not touched. */
AG_API bool ag_explain(FILE *f, ag_tensor *loss, ag_tensor *x, size_t element, int digits,
                ag_explanation *out);

/* Writes the graph that made `outputs` in Graphviz DOT: one box per tensor
 * with op, label, shape and — for tensors of up to 6 elements — value and
 * gradient; parameters (orange, bold), constants (grey) and computed nodes
 * (blue, rounded) drawn apart. False with AG_ERR_NULL for a NULL f, outputs
 * or output. */
AG_API bool ag_graph_dot(FILE *f, int n, ag_tensor *const *outputs);
/* The library writes the DOT and starts no process: render it with
 * Graphviz, `dot -Tsvg graph.dot -o graph.svg` (examples/seed_backprop.c
 * does so from C). */


/* ------------------------------------------------------------------ */
/* Gradient checking                                                   */
/* ------------------------------------------------------------------ */

/* A function of n tensors to check: builds its result from the inputs with
 * ops. It must not depend on a fixed dtype: the checker calls it with f64
 * copies of the inputs. */
typedef ag_tensor *(*ag_fn)(ag_tensor *const *inputs, void *ctx);

#define AG_GRADCHECK_MAX_INPUTS 8

typedef struct ag_gradcheck_opts {
    double eps;        /* central-difference step (default 1e-6) */
    double atol;       /* pass when |analytic - numeric| <= atol + rtol * |numeric| */
    double rtol;       /* (defaults 1e-7 and 1e-6) */
    uint64_t seed;     /* seed of the random projection of a non-scalar result */
    double nondet_tol; /* for ops whose result varies between runs (atomics,
                          threads): how much two evaluations at one point may
                          differ; it is added to the tolerance (default 0:
                          results must repeat exactly) */
    bool per_node;     /* when the check fails, re-check every recorded node's
                          own rule and name the first wrong one (report->culprit) */
} ag_gradcheck_opts;

/* The defaults above. */
AG_API ag_gradcheck_opts ag_gradcheck_defaults(void);

typedef struct ag_gradcheck_input {
    bool checked;                      /* false for inputs that do not require grad */
    bool pass;
    int ndim;                          /* of the input */
    size_t worst_flat;                 /* the element with the largest error ... */
    int64_t worst_index[AG_MAX_DIMS];  /* ... as a multi-index */
    double analytic;                   /* the gradient from the vjp rules at that element */
    double numeric;                    /* the central difference at that element */
    double max_abs_err;                /* over every element */
    double max_rel_err;                /* |a - n| / max(|n|, tiny), over every element */
    size_t n_kinks;                    /* elements within eps of a kink holding a valid
                                          subgradient (below): reported, not failed */
    size_t first_kink;                 /* flat index of the first of them */
} ag_gradcheck_input;

/* A kink: an element where the one-sided differences disagree (relu at 0,
 * abs at 0, a tie of max), so the function has no derivative there. Such an
 * element is not a failure when the analytic value lies between the two
 * one-sided slopes (a valid subgradient); it is counted in n_kinks. */

typedef struct ag_gradcheck_report {
    bool pass;                                   /* every checked input passed */
    int n_inputs;
    ag_gradcheck_input inputs[AG_GRADCHECK_MAX_INPUTS];
    char name[64];                               /* what was checked (op name or "function") */
    double nondet_diff;                          /* largest difference between repeated runs */
    /* Filled by ag_gradcheck_op: */
    bool f32_checked;                            /* the op also ran in f32 ... */
    double f32_max_err;                          /* ... and differed from f64 by at most this */
    bool kernel_checked;                         /* first-order kernels ran against the rules ... */
    double kernel_max_err;                       /* ... and differed by at most this in f64 (bound
                                                    1e-12: only the order of sums may differ) */
    double kernel_max_err_f32;                   /* ... and in f32 (bound 1e-5) */
    bool zero_size_ok;                           /* zero-size inputs gave a result or a clear error */
    char zero_size[96];                          /* "ok" or the error the op gave */
    /* Filled when opts.per_node is set and the check failed: */
    char culprit[256];                           /* "node 3: op 'swish' label 'h' inputs (2,3): ..." */
} ag_gradcheck_report;

/* Checks the vector-Jacobian rules behind f at `inputs`: the gradient of
 * <f(inputs), r> (r = 1 for a scalar result, a seeded random tensor
 * otherwise) from ag_backward against central differences in f64, on every
 * element of every input that requires grad. Fills `report` (may be NULL)
 * and returns whether all passed. Uses a private tape; the inputs and the
 * current tape are left as they were. `opts` may be NULL for the defaults.
 * Errors from f are recorded and make the check fail. */
AG_API bool ag_gradcheck(ag_fn f, void *ctx, int n, ag_tensor *const *inputs,
                  const ag_gradcheck_opts *opts, ag_gradcheck_report *report);


/* Prints the report as a short table: one line per input with the worst
 * element, both values and the errors. A NULL f or report records
 * AG_ERR_NULL. */
AG_API void ag_gradcheck_fprint(FILE *f, const ag_gradcheck_report *report);

/* Second derivatives: checks the gradient of x ↦ <∇<f(x), r1>, r2> (the
 * first derivative as a recorded expression) against finite differences
 * of that analytic gradient, so each rule's own derivative is tested.
 * Arguments as for ag_gradcheck (ctx, opts and report may be NULL). */
AG_API bool ag_gradgradcheck(ag_fn f, void *ctx, int n, ag_tensor *const *inputs,
                      const ag_gradcheck_opts *opts, ag_gradcheck_report *report);

/* What ag_gradcheck_nodes found. */
typedef struct ag_gradcheck_nodes_report {
    bool pass;                      /* every node's rule agreed with its differences */
    size_t n_nodes;                 /* nodes recorded by f */
    size_t n_checked;               /* nodes checked (up to the first wrong one) */
    long bad_node;                  /* tape position of the first wrong node, or -1 */
    char op[64];                    /* its op */
    char label[32];                 /* its label ("" when none was set) */
    int n_inputs;                   /* its inputs' shapes */
    int ndim[AG_GRADCHECK_MAX_INPUTS];
    int64_t shape[AG_GRADCHECK_MAX_INPUTS][AG_MAX_DIMS];
    ag_gradcheck_report detail;     /* the failing node's own check */
} ag_gradcheck_nodes_report;

/* Checks a whole model one node at a time: runs f once (in f64) and then,
 * along the tape, checks each recorded node's own rule at the values it
 * actually saw, stopping at the first node whose rule is wrong. Use it when
 * ag_gradcheck of a model fails, to find the culprit without bisecting by
 * hand. Returns whether every node passed. ctx, opts and report may be
 * NULL; a NULL f, inputs or input is AG_ERR_NULL. */
AG_API bool ag_gradcheck_nodes(ag_fn f, void *ctx, int n, ag_tensor *const *inputs,
                        const ag_gradcheck_opts *opts, ag_gradcheck_nodes_report *report);
/* One line naming the culprit (or "all N nodes pass"). A NULL f or report
 * records AG_ERR_NULL. */
AG_API void ag_gradcheck_nodes_fprint(FILE *f, const ag_gradcheck_nodes_report *report);

/* ------------------------------------------------------------------ */
/* Anomaly mode                                                        */
/* ------------------------------------------------------------------ */

/* When on (process-wide; any thread may toggle it while others run ops,
 * and each op sees the setting of the moment it runs), every recorded node
 * remembers the file, line and function of the expression that made it,
 * and the first NaN or Inf that a recorded op produces — in the forward
 * pass, when the value is used or backpropagated, or in a gradient during
 * the backward sweep — is reported as AG_ERR_NUMERIC naming the op, its
 * label, its inputs' ranges and that source location; the op that would
 * consume it returns NULL. Off by default: it scans every value, which
 * costs time. */
AG_API void ag_anomaly_mode_set(bool on);
AG_API bool ag_anomaly_mode(void); /* whether anomaly mode is on */
/* Where a recorded tensor was made in anomaly mode ("file.c:42 in main"),
 * or "" when unknown, written to buf, which it returns. "" with
 * AG_ERR_NULL for a NULL t or buf. */
AG_API const char *ag_node_location(const ag_tensor *t, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif

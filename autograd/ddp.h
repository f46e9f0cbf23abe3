/* SPDX-License-Identifier: MIT */
/* ddp.h — data-parallel training over MPI, as PyTorch's
 * DistributedDataParallel does it: every process (rank) holds the whole
 * model, takes its own part of each global batch, and the gradients are
 * summed over the ranks before every optimizer step, so all ranks take the
 * same step. Installed, and in the library, only when it was built with
 * MPI (meson option `mpi`); a program built against it links MPI too
 * (mpicc, or pkg-config's ompi-c). No MPI type appears here.
 *
 *     ag_ddp_init(&argc, &argv);
 *     ag_mlp *m = ag_mlp_new(...);                 // same seed on every rank
 *     ag_optim *opt = ag_optim_new(m->params, &cfg);
 *     ag_ddp *ddp = ag_ddp_new(m->params, opt, NULL);   // rank 0's values everywhere
 *     ag_ddp_batches *b = ag_ddp_batches_new(train, 64, true, seed,
 *                                            ag_ddp_rank(), ag_ddp_world_size());
 *     while (ag_ddp_batches_next(b, &X, &y, &n_global)) {
 *         ag_optim_zero_grad(opt);
 *         // the rank's SUM over its rows divided by the GLOBAL batch size
 *         ag_tensor *loss = ag_mul_scalar(ag_cross_entropy(ag_mlp_forward(m, X), y,
 *                                                          AG_REDUCE_SUM), 1.0 / n_global);
 *         ag_ddp_backward(ddp, loss);      // reductions start as gradients become final
 *         if (!ag_ddp_step(ddp))           // waits, agrees, steps: false on every rank
 *             { fprintf(stderr, "%s\n", ag_last_error()); ... }
 *         ag_tape_reset(NULL);
 *     }
 *     ag_ddp_free(ddp); ag_ddp_finalize();
 *
 * Scaling: nothing is divided here. PyTorch's DDP divides the sum by the
 * number of ranks, which with per-rank mean losses is the mean of the
 * ranks' means, wrong when their shards differ in size (the last batch of
 * an epoch); a loss that is the rank's sum over its rows over the global
 * batch size makes the summed gradient exactly that of one process with
 * the whole batch.
 *
 * Collectives: every function marked "collective" must be called by every
 * rank, in the same order; it then returns the same verdict on every rank.
 * An error on one rank (a bad shape, a NaN loss, a file that cannot be
 * written) is sent to all: each returns false with the same status and the
 * message "ddp: rank R of N: <the failing rank's message>" (the lowest
 * failing rank's), rather than leaving the others waiting. */
#ifndef AG_DDP_H
#define AG_DDP_H

#include "models.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

/* Starts MPI (MPI_Init with argc and argv, which may be NULL) unless the
 * program already did; then the functions below may be called. Collective.
 * False with AG_ERR_STATE when MPI cannot be started or was finalized. */
AG_API bool ag_ddp_init(int *argc, char ***argv);
/* Ends MPI if ag_ddp_init started it (a program that called MPI_Init
 * itself calls MPI_Finalize itself). Free every ag_ddp first. Collective.
 * False with AG_ERR_STATE if MPI was not started. */
AG_API bool ag_ddp_finalize(void);
/* This process's rank in MPI_COMM_WORLD (0 .. world size - 1); -1 with
 * AG_ERR_STATE before ag_ddp_init. */
AG_API int ag_ddp_rank(void);
/* The number of processes in MPI_COMM_WORLD (0 with AG_ERR_STATE before
 * ag_ddp_init). */
AG_API int ag_ddp_world_size(void);

/* ------------------------------------------------------------------ */
/* The data-parallel handle                                            */
/* ------------------------------------------------------------------ */

typedef struct ag_ddp_options {
    size_t bucket_bytes; /* gradients are sent in buckets of at most this many bytes
                            (default 256 KiB; a parameter larger than that is a
                            bucket of its own) */
    bool deterministic;  /* sum the ranks' gradients in rank order (an allgather,
                            then rank 0's + rank 1's + ...), so results do not
                            depend on MPI's reduction tree: f64 runs then equal,
                            bit for bit, one process summing the same shards in
                            the same order. Costs N times the memory and traffic
                            of an allreduce. Default false. */
    bool overlap;        /* start each bucket's reduction during the backward sweep,
                            as soon as its gradients are final (default true);
                            false starts them all in ag_ddp_wait (to measure what
                            the overlap hides) */
} ag_ddp_options;

/* The defaults above. */
AG_API ag_ddp_options ag_ddp_defaults(void);

typedef struct ag_ddp ag_ddp;

/* A handle over `params` (and `opt`, which may be NULL; both borrowed: they
 * must outlive the handle, and opt must be an optimizer over params) on
 * MPI_COMM_WORLD (duplicated, so its messages never mix with the
 * program's). Checks that every rank has the same parameters (names,
 * dtypes, shapes, in order; else AG_ERR_VALUE on every rank), then
 * broadcasts rank 0's values, optimizer state, step count and learning
 * rate (ag_ddp_broadcast). The float parameters that require grad are
 * grouped into buckets of one dtype, first in the reverse order of the
 * store (the order an MLP's gradients become final); after the first step
 * they are regrouped in the order rank 0 saw them become final. opts may
 * be NULL (the defaults). Collective, even for a NULL params (AG_ERR_NULL
 * on that rank, AG_ERR_STATE on the others). Caller owns; free with
 * ag_ddp_free. NULL on every rank with an error when any rank fails. */
AG_API ag_ddp *ag_ddp_new(ag_params *params, ag_optim *opt, const ag_ddp_options *opts);
/* Frees the handle (not the parameters or the optimizer), after waiting
 * for any reduction still running. Collective. NULL is a no-op. */
AG_API void ag_ddp_free(ag_ddp *d);
/* Copies rank 0's parameter values (every tensor of the store, integer
 * buffers included), optimizer state tensors, step count and learning rate
 * to every rank. Collective; false with an error on every rank when the
 * ranks' parameters differ in layout (AG_ERR_VALUE) or d is NULL. */
AG_API bool ag_ddp_broadcast(ag_ddp *d);

/* One rank's backward pass of a step: ag_backward(loss) with a grad-ready
 * hook that copies each parameter's gradient into its bucket as soon as it
 * is final and starts the bucket's reduction (non-blocking) when the
 * bucket is full, in bucket order, so the communication runs while the
 * sweep goes on. The loss must be this rank's sum over its rows divided by
 * the global batch size (see the top of this header). Not collective, and
 * may be skipped by a rank with no rows (ag_ddp_wait sends zeros for it).
 * A NULL loss (an op before it failed: the thread's error is kept), a loss
 * that is NaN or infinite (AG_ERR_NUMERIC), a failed ag_backward, or a
 * second call before ag_ddp_wait (AG_ERR_STATE) returns false and marks the
 * step as failed on this rank: the next ag_ddp_wait or ag_ddp_step reports
 * it on every rank. */
AG_API bool ag_ddp_backward(ag_ddp *d, ag_tensor *loss);
/* Finishes the step's reductions: starts those not started (the gradients
 * of parameters the sweep did not reach are sent as they are: zeros after
 * ag_optim_zero_grad, and zeros for none; so a rank may also run plain
 * ag_backward, which sends everything here, without overlap), waits for
 * all of them, and writes the
 * summed gradients into the parameters' gradients (making one for a
 * parameter that had none, so every rank steps every parameter alike).
 * Then agrees on whether any rank failed since the last wait (its
 * ag_ddp_backward, or ag_ddp_fail): if so, false on every rank with that
 * rank's message and status. Collective. */
AG_API bool ag_ddp_wait(ag_ddp *d);
/* ag_ddp_wait, then the optimizer's step (ag_optim_step) on every rank if
 * all succeeded, then agreement on the step's result. The same parameters
 * and verdict on every rank; on a failure before the update no rank has
 * updated. False with AG_ERR_STATE when the handle has no optimizer.
 * Collective. */
AG_API bool ag_ddp_step(ag_ddp *d);
/* Marks this step as failed on this rank with the thread's current error
 * (or, when there is none, AG_ERR_STATE with `what`, which may be NULL):
 * for failures the module cannot see, such as a batch that failed to load.
 * The next ag_ddp_wait or ag_ddp_step reports it on every rank. Not
 * collective. False for a NULL d (AG_ERR_NULL), else true. */
AG_API bool ag_ddp_fail(ag_ddp *d, const char *what);
/* Agreement alone: true on every rank when `ok` is true on every rank;
 * else false everywhere with the lowest failing rank's current error
 * (status and message). For the program's own steps (evaluation, I/O).
 * Collective. */
AG_API bool ag_ddp_agree(ag_ddp *d, bool ok);

/* Replaces values[0 .. n) on every rank by their sums over the ranks (an
 * allreduce, for metrics: losses, counts of correct answers). Collective.
 * False on every rank with AG_ERR_NULL for a NULL d, or values with n >
 * 0, on any rank; n must be the same on every rank (0 does nothing). */
AG_API bool ag_ddp_sum(ag_ddp *d, double *values, int n);

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

/* Rank 0 writes the parameters and the optimizer (ag_checkpoint_save: one
 * file, written to a temporary name and renamed, so a crash leaves the old
 * file whole; a plain model file, ag_safetensors_save, without an
 * optimizer); the others write nothing. Collective: false on every rank
 * when rank 0 fails, with its message. */
AG_API bool ag_ddp_save(ag_ddp *d, const char *path);
/* Every rank reads the checkpoint (ag_checkpoint_load, or
 * ag_safetensors_load without an optimizer) from `path`, a file every rank
 * can read (a shared file system, or a copy on each machine). Collective:
 * false on every rank when any rank fails, with its message; a rank that
 * failed is left as it was, and the ranks may then differ (exit, or load
 * again, or call ag_ddp_broadcast). */
AG_API bool ag_ddp_load(ag_ddp *d, const char *path);

/* ------------------------------------------------------------------ */
/* Sharded batches                                                     */
/* ------------------------------------------------------------------ */

/* Minibatches of a data set shared out over the ranks. The global batches
 * are exactly those of ag_batches_new(d, batch_size, shuffle, seed): the
 * same seeded order per epoch, batch_size rows each but the last of an
 * epoch, which holds the rest. Rank r of N takes rows [r m / N, (r + 1) m /
 * N) of a global batch of m rows (integer division): contiguous, in rank
 * order, shares differing by at most one row, and none when m < N for some
 * ranks (such a rank still calls ag_ddp_wait or ag_ddp_step). No rows are
 * dropped or repeated. The same arguments on every rank (but the rank)
 * give every rank its part of the same batches; nothing here talks to
 * other processes. d is borrowed and must outlive the iterator. Caller
 * owns; free with ag_ddp_batches_free. NULL with AG_ERR_VALUE for a batch
 * size below 1, a world size below 1 or a rank outside [0, world_size). */
typedef struct ag_ddp_batches ag_ddp_batches;
/* A new iterator over d for rank `rank` of `world_size` (above). */
AG_API ag_ddp_batches *ag_ddp_batches_new(const ag_dataset *d, int64_t batch_size, bool shuffle,
                                          uint64_t seed, int rank, int world_size);
/* Frees the iterator and its batch tensors. NULL is a no-op. */
AG_API void ag_ddp_batches_free(ag_ddp_batches *b);
/* This rank's part of the next global batch: X (n_local, d) and y
 * (n_local) leaves owned by the iterator (valid until the next call), and
 * the global batch's size in *n_global (divide the summed loss by it). X, y
 * and n_global may be NULL. False at the end of an epoch (the next call
 * starts the next one), or with an error (AG_ERR_NULL, AG_ERR_NOMEM, or
 * AG_ERR_SHAPE when the data set changed shape). */
AG_API bool ag_ddp_batches_next(ag_ddp_batches *b, ag_tensor **X, ag_tensor **y,
                                int64_t *n_global);
/* The data set's row numbers of this rank's part of the last batch
 * returned, and their count in *n (may be NULL). Borrowed, valid until the
 * next call. NULL with AG_ERR_NULL for a NULL b. */
AG_API const int64_t *ag_ddp_batches_indices(const ag_ddp_batches *b, int64_t *n);
/* Global batches per epoch: ceil(rows / batch_size); 0 with AG_ERR_NULL. */
AG_API int64_t ag_ddp_batches_count(const ag_ddp_batches *b);

/* ------------------------------------------------------------------ */
/* Measuring                                                           */
/* ------------------------------------------------------------------ */

typedef struct ag_ddp_stats {
    uint64_t steps;          /* ag_ddp_wait calls */
    int n_buckets;           /* buckets now */
    size_t bytes_per_step;   /* gradient bytes each rank reduces per step */
    double backward_seconds; /* in ag_ddp_backward (the sweep, packing, starting) */
    double wait_seconds;     /* blocked in ag_ddp_wait on the reductions */
    uint64_t buckets_reduced;     /* buckets reduced, over all steps */
    uint64_t started_in_backward; /* of which started during a sweep (the rest
                                     started in ag_ddp_wait) */
} ag_ddp_stats;

/* The counters since the handle was made, into *out. False with
 * AG_ERR_NULL for a NULL d or out. */
AG_API bool ag_ddp_stats_get(const ag_ddp *d, ag_ddp_stats *out);

#ifdef __cplusplus
}
#endif

#endif

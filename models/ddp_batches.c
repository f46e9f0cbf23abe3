/* SPDX-License-Identifier: MIT */
/* ddp_batches.c — a data set's global minibatches shared out over the
 * ranks of a data-parallel run (autograd/ddp.h).
 *
 * The global batches are ag_batches' (the same seeded order per epoch, from
 * the same mixing of seed and epoch), so N ranks see together exactly the
 * batches one process would; each rank keeps a contiguous slice, in rank
 * order, so that the shards laid end to end are the global batch in its
 * order. Pure computation: no process talks to another here. */
#include "models_internal.h"

#include <autograd/ddp.h>

#include <string.h>

/* At most four shard sizes occur: floor and ceil of B / N for the full
 * batches, and of the last batch's size; one set of tensors per size. */
#define N_SIZES 4

struct ag_ddp_batches {
    const ag_dataset *d;       /* borrowed */
    int64_t n, dd, size;       /* rows, features, global batch size */
    ag_dtype dtype;
    bool shuffle;
    uint64_t seed, epoch;
    bool in_epoch;
    int64_t pos;               /* perm position of the next global batch */
    int64_t *perm;
    int rank, world;
    const int64_t *last;       /* this rank's rows of the last batch */
    int64_t n_last;
    int64_t rows[N_SIZES];     /* the shard size each set holds, -1 unused */
    ag_tensor *X[N_SIZES], *y[N_SIZES];
};

void ag_ddp_batches_free(ag_ddp_batches *b)
{
    if (!b)
        return;
    for (int k = 0; k < N_SIZES; k++) {
        ag_tensor_free(b->X[k]);
        ag_tensor_free(b->y[k]);
    }
    ag_free(b->perm);
    ag_free(b);
}

ag_ddp_batches *ag_ddp_batches_new(const ag_dataset *d, int64_t batch_size, bool shuffle,
                                   uint64_t seed, int rank, int world_size)
{
    if (!d || !d->X || !d->y) {
        ag_error_set(AG_ERR_NULL, "ddp_batches_new: the data set (or its X or y) is NULL");
        return NULL;
    }
    if (batch_size < 1 || world_size < 1 || rank < 0 || rank >= world_size) {
        ag_error_set(AG_ERR_VALUE, "ddp_batches_new: batch size %lld, rank %d of %d: need a "
                     "batch size >= 1 and 0 <= rank < world size", (long long)batch_size, rank,
                     world_size);
        return NULL;
    }
    if (ag_ndim(d->X) != 2 || ag_ndim(d->y) != 1 || ag_dim(d->X, 0) != ag_dim(d->y, 0) ||
        ag_tensor_dtype(d->y) != AG_I64 ||
        (ag_tensor_dtype(d->X) != AG_F32 && ag_tensor_dtype(d->X) != AG_F64)) {
        ag_error_set(AG_ERR_SHAPE, "ddp_batches_new: need X (n, d) f32 or f64 and y (n) i64");
        return NULL;
    }
    ag_ddp_batches *b = ag_malloc(sizeof *b);
    if (!b) {
        ag_error_set(AG_ERR_NOMEM, "ddp_batches_new: out of memory");
        return NULL;
    }
    memset(b, 0, sizeof *b);
    b->d = d;
    b->n = ag_dim(d->X, 0);
    b->dd = ag_dim(d->X, 1);
    b->dtype = ag_tensor_dtype(d->X);
    b->size = batch_size < b->n ? batch_size : (b->n ? b->n : 1);
    b->shuffle = shuffle;
    b->seed = seed;
    b->rank = rank;
    b->world = world_size;
    for (int k = 0; k < N_SIZES; k++)
        b->rows[k] = -1;
    b->perm = ag_malloc((size_t)(b->n ? b->n : 1) * sizeof *b->perm);
    if (!b->perm) {
        ag_ddp_batches_free(b);
        ag_error_set(AG_ERR_NOMEM, "ddp_batches_new: out of memory for %lld rows",
                     (long long)b->n);
        return NULL;
    }
    return b;
}

/* The tensors for shards of m rows: made on first use, kept. */
static int tensors_for(ag_ddp_batches *b, int64_t m)
{
    for (int k = 0; k < N_SIZES; k++)
        if (b->rows[k] == m)
            return k;
    for (int k = 0; k < N_SIZES; k++) {
        if (b->rows[k] != -1)
            continue;
        b->X[k] = ag_zeros(b->dtype, 2, (int64_t[]){m, b->dd});
        b->y[k] = ag_zeros(AG_I64, 1, (int64_t[]){m});
        if (!b->X[k] || !b->y[k]) {
            ag_tensor_free(b->X[k]);
            ag_tensor_free(b->y[k]);
            b->X[k] = b->y[k] = NULL;
            return -1; /* the error is the allocation's */
        }
        b->rows[k] = m;
        return k;
    }
    ag_error_set(AG_ERR_STATE, "ddp_batches_next: more than %d shard sizes", N_SIZES);
    return -1;
}

bool ag_ddp_batches_next(ag_ddp_batches *b, ag_tensor **X, ag_tensor **y, int64_t *n_global)
{
    if (X)
        *X = NULL;
    if (y)
        *y = NULL;
    if (n_global)
        *n_global = 0;
    if (!b) {
        ag_error_set(AG_ERR_NULL, "ddp_batches_next: the iterator is NULL");
        return false;
    }
    const ag_dataset *d = b->d;
    if (!d->X || !d->y || ag_ndim(d->X) != 2 || ag_dim(d->X, 0) != b->n ||
        ag_dim(d->X, 1) != b->dd || ag_tensor_dtype(d->X) != b->dtype || ag_ndim(d->y) != 1 ||
        ag_dim(d->y, 0) != b->n) {
        ag_error_set(AG_ERR_SHAPE, "ddp_batches_next: the data set's X or y changed since "
                     "ag_ddp_batches_new (expected X (%lld,%lld) %s and y (%lld) i64)",
                     (long long)b->n, (long long)b->dd, ag_dtype_str(b->dtype), (long long)b->n);
        return false;
    }
    if (!b->in_epoch) {
        /* ag_batches' order for this seed and epoch: the global batches agree */
        ag_epoch_order(b->perm, b->n, b->shuffle, b->seed, b->epoch);
        b->pos = 0;
        b->in_epoch = true;
    }
    if (b->pos >= b->n) {
        b->in_epoch = false;
        b->epoch++;
        b->n_last = 0;
        return false;
    }
    int64_t m = b->n - b->pos < b->size ? b->n - b->pos : b->size;
    int64_t lo = b->rank * m / b->world, hi = (b->rank + 1) * m / b->world;
    int k = tensors_for(b, hi - lo);
    if (k < 0)
        return false;
    size_t row = (size_t)b->dd * ag_dtype_size(b->dtype);
    const unsigned char *src = ag_data_const(d->X);
    unsigned char *dst = ag_data(b->X[k]);
    const int64_t *ys = ag_data_const(d->y);
    int64_t *yd = ag_data(b->y[k]);
    const int64_t *idx = b->perm + b->pos + lo;
    for (int64_t i = 0; i < hi - lo; i++) {
        memcpy(dst + (size_t)i * row, src + (size_t)idx[i] * row, row);
        yd[i] = ys[idx[i]];
    }
    b->last = idx;
    b->n_last = hi - lo;
    b->pos += m;
    if (X)
        *X = b->X[k];
    if (y)
        *y = b->y[k];
    if (n_global)
        *n_global = m;
    return true;
}

const int64_t *ag_ddp_batches_indices(const ag_ddp_batches *b, int64_t *n)
{
    if (n)
        *n = 0;
    if (!b) {
        ag_error_set(AG_ERR_NULL, "ddp_batches_indices: the iterator is NULL");
        return NULL;
    }
    if (n)
        *n = b->n_last;
    return b->n_last ? b->last : b->perm;
}

int64_t ag_ddp_batches_count(const ag_ddp_batches *b)
{
    if (!b) {
        ag_error_set(AG_ERR_NULL, "ddp_batches_count: the iterator is NULL");
        return 0;
    }
    return (b->n + b->size - 1) / b->size;
}

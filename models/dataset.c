/* SPDX-License-Identifier: MIT */
/* dataset.c — what is done with a data set once it is loaded: splitting it
 * into training and test rows, standardizing features, binary targets, and
 * iterating over it in shuffled minibatches.
 *
 * Every random order here is a Fisher-Yates shuffle driven by ag_rng, so a
 * seed fixes it on every platform. The minibatch iterator allocates all its
 * tensors when it is made (one set of the batch size and, when the last
 * batch of an epoch is smaller, one set of that size), so iterating never
 * touches the heap: a training loop's steady state stays allocation-free. */
#include "models_internal.h"
#include "op.h"

#include <math.h>
#include <string.h>

/* Element i of an f32 or f64 buffer as a double, and back (rounded to the
 * buffer's dtype). */
static double load_at(const void *p, ag_dtype dt, size_t i)
{
    return dt == AG_F32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

static void store_at(void *p, ag_dtype dt, size_t i, double v)
{
    if (dt == AG_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

void ag_dataset_free(ag_dataset *d)
{
    if (!d)
        return;
    ag_tensor_free(d->X);
    ag_tensor_free(d->y);
    if (d->feature_names) {
        for (int64_t j = 0; j < d->d; j++)
            ag_free(d->feature_names[j]);
        ag_free(d->feature_names);
    }
    ag_free(d);
}

/* X (n, d) of a float dtype and y (n) i64, agreeing with d->n and d->d. */
static bool check_dataset(const char *what, const ag_dataset *d)
{
    if (!d || !d->X || !d->y) {
        ag_error_set(AG_ERR_NULL, "%s: the data set %s NULL", what,
                     !d ? "is" : !d->X ? "has X" : "has y");
        return false;
    }
    if (!ag_tensor_live(d->X) || !ag_tensor_live(d->y)) {
        ag_error_set(AG_ERR_STALE, "%s: the data set's %s is an intermediate of a reset tape",
                     what, !ag_tensor_live(d->X) ? "X" : "y");
        return false;
    }
    const ag_tensor *X = d->X, *y = d->y;
    if (ag_ndim(X) != 2 || ag_ndim(y) != 1 || ag_dim(X, 0) != ag_dim(y, 0) || ag_dim(X, 0) != d->n ||
        ag_dim(X, 1) != d->d) {
        char a[64], b[64];
        ag_error_set(AG_ERR_SHAPE, "%s: the data set has X %s and y %s with n = %lld, d = %lld; "
                     "expected X (n, d) and y (n)", what,
                     ag_shape_str(X, a, sizeof a),
                     ag_shape_str(y, b, sizeof b), (long long)d->n,
                     (long long)d->d);
        return false;
    }
    ag_dtype xt = ag_tensor_dtype(X), yt = ag_tensor_dtype(y);
    if ((xt != AG_F32 && xt != AG_F64) || yt != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "%s: the data set has X %s and y %s; expected X f32 or f64 "
                     "and y i64", what, ag_dtype_str(xt), ag_dtype_str(yt));
        return false;
    }
    return true;
}

/* ---- split ---- */

/* The rows idx[0..m) of d as a new data set with d's names and classes. */
static ag_dataset *subset(const ag_dataset *d, const int64_t *idx, int64_t m, int64_t n_classes)
{
    ag_dataset *s = ag_calloc(1, sizeof *s);
    if (!s) {
        ag_error_set(AG_ERR_NOMEM, "dataset_split: out of memory");
        return NULL;
    }
    s->X = ag_empty(ag_tensor_dtype(d->X), 2, (const int64_t[]){m, d->d});
    s->y = s->X ? ag_empty(AG_I64, 1, (const int64_t[]){m}) : NULL;
    if (!s->y) {
        ag_dataset_free(s);
        return NULL;
    }
    s->n = m;
    s->d = d->d;
    s->n_classes = n_classes;
    size_t row = (size_t)d->d * ag_dtype_size(ag_tensor_dtype(d->X));
    const unsigned char *src = ag_data(d->X);
    unsigned char *dst = ag_data(s->X);
    const int64_t *ys = ag_data_const(d->y);
    int64_t *yd = ag_data(s->y);
    for (int64_t i = 0; i < m; i++) {
        memcpy(dst + (size_t)i * row, src + (size_t)idx[i] * row, row);
        yd[i] = ys[idx[i]];
    }
    if (d->feature_names) {
        s->feature_names = ag_calloc((size_t)d->d, sizeof *s->feature_names);
        for (int64_t j = 0; s->feature_names && j < d->d; j++) {
            const char *name = d->feature_names[j] ? d->feature_names[j] : "";
            size_t len = strlen(name);
            s->feature_names[j] = ag_malloc(len + 1);
            if (!s->feature_names[j]) {
                ag_dataset_free(s);
                s = NULL;
                break;
            }
            memcpy(s->feature_names[j], name, len + 1);
        }
        if (s && !s->feature_names) {
            ag_dataset_free(s);
            s = NULL;
        }
        if (!s)
            ag_error_set(AG_ERR_NOMEM, "dataset_split: out of memory");
    }
    return s;
}

bool ag_dataset_split(const ag_dataset *d, double test_fraction, uint64_t seed,
                      ag_dataset **train, ag_dataset **test)
{
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!train || !test) {
        ag_error_set(AG_ERR_NULL, "dataset_split: the %s result pointer is NULL",
                     train ? "test" : "train");
        return false;
    }
    if (!check_dataset("dataset_split", d))
        return false;
    if (!(test_fraction > 0 && test_fraction < 1)) {
        ag_error_set(AG_ERR_VALUE, "dataset_split: test_fraction %g is not in (0, 1)",
                     test_fraction);
        return false;
    }
    int64_t n = d->n, n_test = (int64_t)llround((double)n * test_fraction);
    if (n_test == 0 || n_test == n) {
        ag_error_set(AG_ERR_VALUE, "dataset_split: a test fraction of %g of %lld rows leaves the "
                     "%s set empty", test_fraction, (long long)n, n_test == 0 ? "test" : "training");
        return false;
    }
    int64_t *perm = ag_malloc((size_t)n * sizeof *perm);
    if (!perm) {
        ag_error_set(AG_ERR_NOMEM, "dataset_split: out of memory for %lld rows", (long long)n);
        return false;
    }
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    ag_permutation(perm, n, &rng);
    /* Keep the parent's class count even if a class misses one side. */
    int64_t n_classes = d->n_classes;
    const int64_t *y = ag_data_const(d->y);
    for (int64_t i = 0; i < n; i++)
        if (y[i] + 1 > n_classes)
            n_classes = y[i] + 1;
    *test = subset(d, perm, n_test, n_classes);
    *train = *test ? subset(d, perm + n_test, n - n_test, n_classes) : NULL;
    ag_free(perm);
    if (!*train) {
        ag_dataset_free(*test);
        *test = NULL;
        return false;
    }
    return true;
}

/* ---- standardizer ---- */

bool ag_standardizer_fit(ag_standardizer *s, const ag_dataset *d)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "standardizer_fit: the standardizer is NULL");
        return false;
    }
    memset(s, 0, sizeof *s);
    if (!check_dataset("standardizer_fit", d))
        return false;
    if (d->n < 1) {
        ag_error_set(AG_ERR_VALUE, "standardizer_fit: the data set has no rows");
        return false;
    }
    size_t n = (size_t)d->n, dd = (size_t)d->d;
    double *mean = ag_calloc(dd, sizeof *mean), *sq = ag_calloc(dd, sizeof *sq);
    double *lo = ag_malloc(dd * sizeof *lo), *hi = ag_malloc(dd * sizeof *hi);
    bool ok = mean && sq && lo && hi;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "standardizer_fit: out of memory");
    /* Two passes (the mean, then squared deviations from it): no
     * cancellation, unlike sum(x²) - n·mean². Rows are the outer loop to
     * read X in memory order. */
    const void *xs = ag_data_const(d->X);
    ag_dtype xt = ag_tensor_dtype(d->X);
    for (size_t i = 0; ok && i < n; i++) {
        for (size_t j = 0; j < dd; j++) {
            double x = load_at(xs, xt, i * dd + j);
            if (!isfinite(x)) {
                ag_error_set(AG_ERR_NUMERIC, "standardizer_fit: X[%zu, %zu] is %g; the "
                             "features must be finite", i, j, x);
                ok = false;
                break;
            }
            mean[j] += x;
            if (i == 0 || x < lo[j])
                lo[j] = x;
            if (i == 0 || x > hi[j])
                hi[j] = x;
        }
    }
    for (size_t j = 0; ok && j < dd; j++)
        mean[j] = lo[j] == hi[j] ? lo[j] : mean[j] / (double)n;
    for (size_t i = 0; ok && i < n; i++)
        for (size_t j = 0; j < dd; j++) {
            double e = load_at(xs, xt, i * dd + j) - mean[j];
            sq[j] += e * e;
        }
    ag_free(lo);
    ag_free(hi);
    if (!ok) {
        ag_free(mean);
        ag_free(sq);
        return false;
    }
    for (size_t j = 0; j < dd; j++) {
        double sd = sqrt(sq[j] / (double)n);
        sq[j] = sd > 0 ? sd : 1.0; /* constant features: left as x - mean = 0 */
    }
    s->d = d->d;
    s->mean = mean;
    s->std = sq;
    return true;
}

bool ag_standardizer_apply(const ag_standardizer *s, ag_dataset *d)
{
    if (!s || !s->mean || !s->std) {
        ag_error_set(AG_ERR_NULL, "standardizer_apply: the standardizer is %s", s ? "not fitted"
                                                                                  : "NULL");
        return false;
    }
    if (!check_dataset("standardizer_apply", d))
        return false;
    if (s->d != d->d) {
        ag_error_set(AG_ERR_SHAPE, "standardizer_apply: fitted on %lld features, the data set "
                     "has %lld", (long long)s->d, (long long)d->d);
        return false;
    }
    if (!ag_is_leaf(d->X)) {
        ag_error_set(AG_ERR_STATE, "standardizer_apply: X is an intermediate; only a leaf can be "
                     "changed in place");
        return false;
    }
    size_t n = (size_t)d->n, dd = (size_t)d->d;
    void *xs = ag_data(d->X);
    ag_dtype xt = ag_tensor_dtype(d->X);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dd; j++)
            store_at(xs, xt, i * dd + j, (load_at(xs, xt, i * dd + j) - s->mean[j]) / s->std[j]);
    return true;
}

void ag_standardizer_free(ag_standardizer *s)
{
    if (!s)
        return;
    ag_free(s->mean);
    ag_free(s->std);
    s->mean = s->std = NULL;
    s->d = 0;
}

/* ---- targets ---- */

ag_tensor *ag_dataset_targets(const ag_dataset *d, ag_dtype dtype)
{
    if (!check_dataset("dataset_targets", d))
        return NULL;
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "dataset_targets: targets are f32 or f64, not %s",
                     ag_dtype_str(dtype));
        return NULL;
    }
    const int64_t *y = ag_data_const(d->y);
    for (int64_t i = 0; i < d->n; i++) {
        if (y[i] != 0 && y[i] != 1) {
            ag_error_set(AG_ERR_VALUE, "dataset_targets: row %lld has label %lld; binary targets "
                         "need labels 0 and 1 (this set has %lld classes: use the labels with "
                         "a multi-class loss)", (long long)i, (long long)y[i],
                         (long long)d->n_classes);
            return NULL;
        }
    }
    ag_tensor *t = ag_empty(dtype, 2, (const int64_t[]){d->n, 1});
    void *td = t ? ag_data(t) : NULL;
    for (int64_t i = 0; td && i < d->n; i++)
        store_at(td, dtype, (size_t)i, (double)y[i]);
    return t;
}

/* ---- minibatches ---- */

struct ag_batches {
    const ag_dataset *d;       /* borrowed */
    int64_t n, dd, size;       /* rows, features, batch size (at most n) */
    ag_dtype dtype;            /* of X, as when the iterator was made */
    bool shuffle;
    uint64_t seed;
    uint64_t epoch;            /* the current (or next) epoch, from 0 */
    bool in_epoch;             /* perm holds this epoch's order */
    int64_t pos;               /* perm position of the next batch's first row */
    int64_t *perm;
    ag_tensor *X[2], *y[2], *t[2]; /* [0] the batch size, [1] the last, smaller batch */
};

void ag_batches_free(ag_batches *b)
{
    if (!b)
        return;
    for (int k = 0; k < 2; k++) {
        ag_tensor_free(b->X[k]);
        ag_tensor_free(b->y[k]);
        ag_tensor_free(b->t[k]);
    }
    ag_free(b->perm);
    ag_free(b);
}

ag_batches *ag_batches_new(const ag_dataset *d, int64_t batch_size, bool shuffle, uint64_t seed)
{
    if (!check_dataset("batches_new", d))
        return NULL;
    if (batch_size < 1) {
        ag_error_set(AG_ERR_VALUE, "batches_new: batch size %lld; it must be >= 1",
                     (long long)batch_size);
        return NULL;
    }
    ag_batches *b = ag_calloc(1, sizeof *b);
    if (!b) {
        ag_error_set(AG_ERR_NOMEM, "batches_new: out of memory");
        return NULL;
    }
    b->d = d;
    b->n = d->n;
    b->dd = d->d;
    b->size = batch_size < d->n ? batch_size : d->n;
    b->dtype = ag_tensor_dtype(d->X);
    b->shuffle = shuffle;
    b->seed = seed;
    b->perm = ag_malloc((size_t)(b->n ? b->n : 1) * sizeof *b->perm);
    if (!b->perm) {
        ag_error_set(AG_ERR_NOMEM, "batches_new: out of memory for %lld rows", (long long)b->n);
        ag_batches_free(b);
        return NULL;
    }
    int64_t sizes[2] = {b->size, b->size ? b->n % b->size : 0};
    for (int k = 0; k < 2; k++) {
        if (sizes[k] == 0)
            continue;
        b->X[k] = ag_empty(b->dtype, 2, (const int64_t[]){sizes[k], b->dd});
        b->y[k] = ag_empty(AG_I64, 1, (const int64_t[]){sizes[k]});
        b->t[k] = ag_empty(b->dtype, 2, (const int64_t[]){sizes[k], 1});
        if (!b->X[k] || !b->y[k] || !b->t[k]) {
            ag_batches_free(b);
            return NULL;
        }
    }
    return b;
}

bool ag_batches_next(ag_batches *b, ag_tensor **X, ag_tensor **y, ag_tensor **targets)
{
    if (X)
        *X = NULL;
    if (y)
        *y = NULL;
    if (targets)
        *targets = NULL;
    if (!b) {
        ag_error_set(AG_ERR_NULL, "batches_next: the iterator is NULL");
        return false;
    }
    const ag_dataset *d = b->d;
    if (!d->X || !d->y || ag_ndim(d->X) != 2 || ag_dim(d->X, 0) != b->n ||
        ag_dim(d->X, 1) != b->dd || ag_tensor_dtype(d->X) != b->dtype || ag_ndim(d->y) != 1 ||
        ag_dim(d->y, 0) != b->n || ag_tensor_dtype(d->y) != AG_I64) {
        ag_error_set(AG_ERR_SHAPE, "batches_next: the data set's X or y changed since "
                     "ag_batches_new (expected X (%lld,%lld) %s and y (%lld) i64)",
                     (long long)b->n, (long long)b->dd, ag_dtype_str(b->dtype), (long long)b->n);
        return false;
    }
    if (!b->in_epoch) {
        ag_epoch_order(b->perm, b->n, b->shuffle, b->seed, b->epoch);
        b->pos = 0;
        b->in_epoch = true;
    }
    if (b->pos >= b->n) {
        b->in_epoch = false;
        b->epoch++;
        return false;
    }
    int64_t m = b->n - b->pos < b->size ? b->n - b->pos : b->size;
    int k = m == b->size ? 0 : 1;
    size_t row = (size_t)b->dd * ag_dtype_size(b->dtype);
    const unsigned char *src = ag_data(d->X);
    unsigned char *dst = ag_data(b->X[k]);
    const int64_t *ys = ag_data_const(d->y);
    int64_t *yd = ag_data(b->y[k]);
    void *td = ag_data(b->t[k]);
    const int64_t *idx = b->perm + b->pos;
    for (int64_t i = 0; i < m; i++) {
        memcpy(dst + (size_t)i * row, src + (size_t)idx[i] * row, row);
        yd[i] = ys[idx[i]];
        store_at(td, b->dtype, (size_t)i, (double)ys[idx[i]]);
    }
    b->pos += m;
    if (X)
        *X = b->X[k];
    if (y)
        *y = b->y[k];
    if (targets)
        *targets = b->t[k];
    return true;
}

int64_t ag_batches_count(const ag_batches *b)
{
    if (!b) {
        ag_error_set(AG_ERR_NULL, "batches_count: the iterator is NULL");
        return 0;
    }
    return b->size ? (b->n + b->size - 1) / b->size : 0;
}

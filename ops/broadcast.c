/* SPDX-License-Identifier: MIT */
/* broadcast.c — numpy broadcasting, shared by every op that broadcasts.
 *
 * Forward kernels iterate with the odometer; backward rules never repeat
 * the reduction logic: each calls ag_sum_to, the one op that undoes a
 * broadcast (tinygrad's lesson). */
#include "ops_internal.h"

#include <string.h>

bool ag_broadcast_shapes(const char *op, int na, const int64_t *sa, int nb, const int64_t *sb,
                         int *ndim, int64_t *shape)
{
    int nd = na > nb ? na : nb;
    for (int i = 0; i < nd; i++) {
        int ia = na - nd + i, ib = nb - nd + i;
        int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            if (!op)
                return false;
            char a[160], b[160];
            ag_error_set(AG_ERR_SHAPE,
                         "%s: shapes %s and %s do not broadcast: dimension %d is %lld vs %lld",
                         op, ag_format_shape(na, sa, a, sizeof a),
                         ag_format_shape(nb, sb, b, sizeof b), i, (long long)da, (long long)db);
            return false;
        }
        shape[i] = da == 1 ? db : da;
    }
    *ndim = nd;
    return true;
}

void ag_broadcast_strides(const ag_tensor *t, int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        int it = t->ndim - ndim + i;
        if (it < 0 || t->shape[it] == 1) {
            strides[i] = 0;
        } else {
            strides[i] = s;
        }
        if (it >= 0)
            s *= t->shape[it];
        (void)shape;
    }
}

void ag_odometer_init(ag_odometer *it, int ndim, const int64_t *shape, const int64_t *stride0,
                      const int64_t *stride1)
{
    it->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        it->shape[i] = shape[i];
        it->idx[i] = 0;
        it->stride[0][i] = stride0 ? stride0[i] : 0;
        it->stride[1][i] = stride1 ? stride1[i] : 0;
    }
    it->off[0] = it->off[1] = 0;
}

void ag_odometer_next_row(ag_odometer *it)
{
    for (int d = it->ndim - 2; d >= 0; d--) {
        it->idx[d]++;
        it->off[0] += it->stride[0][d];
        it->off[1] += it->stride[1][d];
        if (it->idx[d] < it->shape[d])
            return;
        it->off[0] -= it->stride[0][d] * it->shape[d];
        it->off[1] -= it->stride[1][d] * it->shape[d];
        it->idx[d] = 0;
    }
}

/* The row length n when each of a and b is either all of y's shape or
 * broadcast along leading dimensions only (a bias against a batch): then
 * every row of y pairs a row of each operand without an odometer. 0 when
 * the shapes are anything else. */
/* Whether t, aligned right against y, is y's trailing dimensions (after
 * dropping t's leading 1s), i.e. broadcast along leading dimensions only. */
static bool is_suffix(const ag_tensor *t, const ag_tensor *y)
{
    int k = 0;
    while (k < t->ndim && t->shape[k] == 1)
        k++;
    int m = t->ndim - k;
    if (m > y->ndim)
        return false;
    for (int i = 0; i < m; i++)
        if (t->shape[k + i] != y->shape[y->ndim - m + i])
            return false;
    return true;
}

static size_t suffix_rows(const ag_tensor *a, const ag_tensor *b, const ag_tensor *y)
{
    const ag_tensor *small = a->numel <= b->numel ? a : b;
    const ag_tensor *other = small == a ? b : a;
    size_t n = small->numel;
    if (n == 0 || !is_suffix(small, y))
        return 0;
    if (other->numel == y->numel || (other->numel == n && is_suffix(other, y)))
        return n;
    return 0;
}

/* The general broadcast, row by row: an odometer over y's rows keeping
 * the offsets of a and b, their strides along a row in *ia and *ib, and
 * the row length as the result. */
static size_t rows_of(const ag_tensor *a, const ag_tensor *b, const ag_tensor *y,
                      ag_odometer *it, ptrdiff_t *ia, ptrdiff_t *ib)
{
    int nd = y->ndim;
    int64_t sa[AG_MAX_DIMS] = {0}, sb[AG_MAX_DIMS] = {0}; /* {0}: GCC -O3 cannot see that nd = 0 reads none */
    ag_broadcast_strides(a, nd, y->shape, sa);
    ag_broadcast_strides(b, nd, y->shape, sb);
    *ia = nd ? sa[nd - 1] : 0;
    *ib = nd ? sb[nd - 1] : 0;
    ag_odometer_init(it, nd, y->shape, sa, sb);
    return nd ? (size_t)y->shape[nd - 1] : 1;
}

/* A slice of a binary op's rows (y is m rows of n; a and b advance ra, rb
 * per row): of the rows when there are several, else of the one row's
 * elements. Each output element is written from one chunk, so any cut
 * gives the same bits. */
typedef struct rows_job {
    const ag_op *op;
    const ag_tensor *a, *b;
    ag_tensor *y;
    size_t n;
    ptrdiff_t ra, rb;
} rows_job;

static void rows_chunk(size_t lo, size_t hi, void *ctx)
{
    const rows_job *j = ctx;
    size_t m = hi - lo, n = j->n;
    ptrdiff_t oa = (ptrdiff_t)lo * j->ra, ob = (ptrdiff_t)lo * j->rb, oy = (ptrdiff_t)(lo * n);
    if (n == j->y->numel) { /* one row: lo and hi count elements */
        m = 1;
        n = hi - lo;
        oa = ob = oy = (ptrdiff_t)lo;
    }
    if (j->y->dtype == AG_F32)
        j->op->def.rows_f32(m, n, (const float *)j->a->data + oa, 1, j->ra,
                            (const float *)j->b->data + ob, 1, j->rb, (float *)j->y->data + oy);
    else
        j->op->def.rows_f64(m, n, (const double *)j->a->data + oa, 1, j->ra,
                            (const double *)j->b->data + ob, 1, j->rb, (double *)j->y->data + oy);
}

/* The shared builder: checks, broadcasts, allocates (recording the node)
 * and runs the kernel row by row. */
ag_tensor *ag_binary_op(const ag_op *op, ag_tensor *a, ag_tensor *b)
{
    ag_rows_f32 k32 = op->def.rows_f32;
    ag_rows_f64 k64 = op->def.rows_f64;
    ag_tensor *in[2] = {a, b};
    if (!ag_inputs_ok(op->def.name, 2, in))
        return NULL;
    int nd;
    int64_t shape[AG_MAX_DIMS];
    ag_tensor *y;
    if (ag_same_shape(a->ndim, a->shape, b->ndim, b->shape)) {
        /* The common case, and the whole of a scalar graph: no broadcast. */
        nd = a->ndim;
        y = ag_op_result_checked(op, a->dtype, nd, a->shape, a->numel, 2, in, NULL, 0);
    } else {
        if (!ag_broadcast_shapes(op->def.name, a->ndim, a->shape, b->ndim, b->shape, &nd, shape))
            return NULL;
        y = ag_op_result(op, a->dtype, nd, shape, 2, in, NULL, 0);
    }
    if (!y || y->numel == 0)
        return y;
    /* Same shapes are one row; a bias against a batch is a block of rows. */
    size_t n = a->numel == y->numel && b->numel == y->numel ? y->numel : suffix_rows(a, b, y);
    if (n) {
        ptrdiff_t ra = a->numel == y->numel ? (ptrdiff_t)n : 0;
        ptrdiff_t rb = b->numel == y->numel ? (ptrdiff_t)n : 0;
        if (y->numel >= 2 * AG_GRAIN && !op->user) {
            /* Only built-in rows are split: a user's may keep state. */
            rows_job j = {op, a, b, y, n, ra, rb};
            ag_parallel_for(n == y->numel ? n : y->numel / n,
                            n == y->numel ? AG_GRAIN : (AG_GRAIN + n - 1) / n,
                            rows_chunk, &j);
            return y;
        }
        if (a->dtype == AG_F32)
            k32(y->numel / n, n, a->data, 1, ra, b->data, 1, rb, y->data);
        else
            k64(y->numel / n, n, a->data, 1, ra, b->data, 1, rb, y->data);
        return y;
    }
    ag_odometer it;
    ptrdiff_t ia, ib;
    size_t inner = rows_of(a, b, y, &it, &ia, &ib);
    for (size_t o = 0; o < y->numel / inner; o++, ag_odometer_next_row(&it)) {
        if (a->dtype == AG_F32)
            k32(1, inner, (const float *)a->data + it.off[0], ia, 0,
                (const float *)b->data + it.off[1], ib, 0, (float *)y->data + o * inner);
        else
            k64(1, inner, (const double *)a->data + it.off[0], ia, 0,
                (const double *)b->data + it.off[1], ib, 0, (double *)y->data + o * inner);
    }
    return y;
}

/* A slice of a binary op's gradient rows for input `in`, whose gradient d
 * has y's shape (rows or, for one row, elements, as rows_chunk). */
typedef struct grad_rows_job {
    const ag_binary_grad *k;
    int in;
    const ag_tensor *y, *g;
    void *d;
    size_t n;
    ptrdiff_t ra, rb;
    bool acc;
} grad_rows_job;

static void grad_rows_chunk(size_t lo, size_t hi, void *ctx)
{
    const grad_rows_job *j = ctx;
    const ag_tensor *a = j->y->inputs[0], *b = j->y->inputs[1];
    size_t m = hi - lo, n = j->n;
    ptrdiff_t oa = (ptrdiff_t)lo * j->ra, ob = (ptrdiff_t)lo * j->rb, oy = (ptrdiff_t)(lo * n);
    if (n == j->y->numel) {
        m = 1;
        n = hi - lo;
        oa = ob = oy = (ptrdiff_t)lo;
    }
    if (j->y->dtype == AG_F32)
        j->k->f32[j->in](m, n, (const float *)j->g->data + oy, (const float *)a->data + oa, 1,
                         j->ra, (const float *)b->data + ob, 1, j->rb,
                         (const float *)j->y->data + oy, (float *)j->d + oy, 1,
                         (ptrdiff_t)j->n, j->acc);
    else
        j->k->f64[j->in](m, n, (const double *)j->g->data + oy, (const double *)a->data + oa, 1,
                         j->ra, (const double *)b->data + ob, 1, j->rb,
                         (const double *)j->y->data + oy, (double *)j->d + oy, 1,
                         (ptrdiff_t)j->n, j->acc);
}

/* The gradient of each input that wants one: g itself where allowed, else
 * the rows, run over y's shape with the odometer as the forward pass does.
 * An input's gradient has the input's strides, so a broadcast input's rows
 * sum into its buffer (cleared first when it is to be overwritten). */
bool ag_binary_grad_run(const ag_binary_grad *k, ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (y->numel == 1 && a->numel == 1 && b->numel == 1 && a->ndim == b->ndim &&
        g->ndim == a->ndim) {
        /* One element each (a scalar graph): no rows, strides or broadcast. */
        for (int j = 0; j < 2; j++) {
            if (!dst[j].x)
                continue;
            if (k->alias[j] && !dst[j].data) {
                dst[j].alias = g;
                continue;
            }
            void *d = dst[j].data ? dst[j].data : ag_grad_dst_data(&dst[j]);
            if (!d)
                return false;
            if (y->dtype == AG_F32)
                k->f32[j](1, 1, g->data, a->data, 1, 0, b->data, 1, 0, y->data, d, 1, 0,
                          dst[j].accumulate);
            else
                k->f64[j](1, 1, g->data, a->data, 1, 0, b->data, 1, 0, y->data, d, 1, 0,
                          dst[j].accumulate);
        }
        return true;
    }
    /* Same shapes are one row; a bias against a batch is a block of rows. */
    size_t n = 0;
    if (y->numel)
        n = a->numel == y->numel && b->numel == y->numel ? y->numel : suffix_rows(a, b, y);
    for (int j = 0; j < 2; j++) {
        ag_tensor *x = dst[j].x;
        if (!x)
            continue;
        bool full = x->numel == y->numel && y->numel > 0;
        if (k->alias[j] && full && !dst[j].data) {
            dst[j].alias = g->ndim == x->ndim ? g : ag_reshape(g, x->ndim, x->shape);
            if (!dst[j].alias)
                return false;
            continue;
        }
        void *d = dst[j].data ? dst[j].data : ag_grad_dst_data(&dst[j]);
        if (!d)
            return false;
        bool acc = dst[j].accumulate;
        if (!acc && !full) {
            memset(d, 0, x->numel * ag_dtype_size(x->dtype));
            acc = true;
        }
        if (y->numel == 0)
            continue;
        if (n) {
            size_t m = y->numel / n;
            ptrdiff_t ra = a->numel == y->numel ? (ptrdiff_t)n : 0;
            ptrdiff_t rb = b->numel == y->numel ? (ptrdiff_t)n : 0;
            ptrdiff_t rd = full ? (ptrdiff_t)n : 0;
            if (full && y->numel >= 2 * AG_GRAIN) {
                /* Each element of d from one chunk (a broadcast input's
                 * rows, summing into one buffer, stay serial). */
                grad_rows_job jb = {k, j, y, g, d, n, ra, rb, acc};
                ag_parallel_for(m == 1 ? n : m, m == 1 ? AG_GRAIN : (AG_GRAIN + n - 1) / n,
                                grad_rows_chunk, &jb);
                continue;
            }
            if (y->dtype == AG_F32)
                k->f32[j](m, n, g->data, a->data, 1, ra, b->data, 1, rb, y->data, d, 1, rd, acc);
            else
                k->f64[j](m, n, g->data, a->data, 1, ra, b->data, 1, rb, y->data, d, 1, rd, acc);
            continue;
        }
        ag_odometer it;
        ptrdiff_t ia, ib;
        size_t inner = rows_of(a, b, y, &it, &ia, &ib);
        for (size_t o = 0; o < y->numel / inner; o++, ag_odometer_next_row(&it)) {
            ptrdiff_t od = it.off[j];
            if (y->dtype == AG_F32)
                k->f32[j](1, inner, (const float *)g->data + o * inner,
                          (const float *)a->data + it.off[0], ia, 0,
                          (const float *)b->data + it.off[1], ib, 0,
                          (const float *)y->data + o * inner, (float *)d + od, j ? ib : ia, 0,
                          acc);
            else
                k->f64[j](1, inner, (const double *)g->data + o * inner,
                          (const double *)a->data + it.off[0], ia, 0,
                          (const double *)b->data + it.off[1], ib, 0,
                          (const double *)y->data + o * inner, (double *)d + od, j ? ib : ia, 0,
                          acc);
        }
    }
    return true;
}

bool ag_grad_pass(ag_grad_dst *dst, ag_tensor *g)
{
    ag_tensor *x = dst->x;
    if (!dst->data) {
        bool same = ag_same_shape(g->ndim, g->shape, x->ndim, x->shape);
        dst->alias = same ? g : ag_reshape(g, x->ndim, x->shape);
        return dst->alias != NULL;
    }
    if (dst->accumulate)
        ag_add_into(x->dtype, x->numel, dst->data, g->data);
    else
        memcpy(dst->data, g->data, x->numel * ag_dtype_size(x->dtype));
    return true;
}

ag_tensor *ag_op_apply(const ag_op *op, ag_tensor *const *inputs, const void *params)
{
    if (!op || !inputs) {
        ag_error_set(AG_ERR_NULL, "op_apply: %s is NULL", op ? "inputs" : "op");
        return NULL;
    }
    const ag_op_def *d = &op->def;
    if (!params && d->example)
        return d->example(inputs);
    if (d->forward)
        return d->forward(inputs, params);
    if (d->n_inputs == 2 && d->rows_f32 && d->rows_f64)
        return ag_binary_op(op, inputs[0], inputs[1]);
    if (d->n_inputs == 1 && d->map_f32 && d->map_f64)
        return ag_unary_op(op, inputs[0]);
    /* A composite records no node, so no node's params can be its. */
    ag_error_set(AG_ERR_VALUE, "op_apply: %s has no forward to take params (it records no node "
                 "of its own)", d->name);
    return NULL;
}

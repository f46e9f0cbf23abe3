/* broadcast.c — numpy broadcasting, shared by every op that broadcasts.
 *
 * Forward kernels iterate with the odometer; backward rules never repeat
 * the reduction logic: each calls ag_sum_to, the one op that undoes a
 * broadcast (tinygrad's lesson). */
#include "ops_internal.h"

bool ag_same_shape(int na, const int64_t *sa, int nb, const int64_t *sb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (sa[i] != sb[i])
            return false;
    return true;
}

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

/* The shared builder: checks, broadcasts, allocates (recording the node)
 * and runs the kernel row by row. */
ag_tensor *ag_binary_op(ag_op *op, ag_row_f32 k32, ag_row_f64 k64, ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2] = {a, b};
    if (!ag_check_inputs(op->def.name, 2, in))
        return NULL;
    int nd;
    int64_t shape[AG_MAX_DIMS];
    if (!ag_broadcast_shapes(op->def.name, a->ndim, a->shape, b->ndim, b->shape, &nd, shape))
        return NULL;
    ag_tensor *y = ag_op_result(op, a->dtype, nd, shape, 2, in, NULL, 0);
    if (!y || y->numel == 0)
        return y;
    if (a->numel == y->numel && b->numel == y->numel) {
        if (a->dtype == AG_F32)
            k32(y->numel, a->data, 1, b->data, 1, y->data);
        else
            k64(y->numel, a->data, 1, b->data, 1, y->data);
        return y;
    }
    int64_t sa[AG_MAX_DIMS], sb[AG_MAX_DIMS];
    ag_broadcast_strides(a, nd, shape, sa);
    ag_broadcast_strides(b, nd, shape, sb);
    size_t inner = nd ? (size_t)shape[nd - 1] : 1;
    ptrdiff_t ia = nd ? sa[nd - 1] : 0, ib = nd ? sb[nd - 1] : 0;
    ag_odometer it;
    ag_odometer_init(&it, nd, shape, sa, sb);
    for (size_t o = 0; o < y->numel / inner; o++, ag_odometer_next_row(&it)) {
        if (a->dtype == AG_F32)
            k32(inner, (const float *)a->data + it.off[0], ia, (const float *)b->data + it.off[1],
                ib, (float *)y->data + o * inner);
        else
            k64(inner, (const double *)a->data + it.off[0], ia,
                (const double *)b->data + it.off[1], ib, (double *)y->data + o * inner);
    }
    return y;
}

/* The shared builder of elementwise functions of one tensor. */
ag_tensor *ag_unary_op(ag_op *op, ag_map_f32 k32, ag_map_f64 k64, ag_tensor *x)
{
    if (!ag_check_inputs(op->def.name, 1, &x))
        return NULL;
    ag_tensor *y = ag_op_result(op, x->dtype, x->ndim, x->shape, 1, &x, NULL, 0);
    if (!y)
        return NULL;
    if (x->dtype == AG_F32)
        k32(x->numel, x->data, y->data);
    else
        k64(x->numel, x->data, y->data);
    return y;
}

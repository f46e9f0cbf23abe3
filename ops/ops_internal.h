/* ops_internal.h — helpers shared by the op families: broadcasting shapes
 * and strided iteration. */
#ifndef AG_OPS_INTERNAL_H
#define AG_OPS_INTERNAL_H

#include "../autograd/internal.h"

/* The numpy broadcast of two shapes into (ndim, shape); false and an error
 * naming `op` when a pair of dimensions differs and neither is 1 (no error
 * is recorded when op is NULL: the caller words its own). */
bool ag_broadcast_shapes(const char *op, int na, const int64_t *sa, int nb, const int64_t *sb,
                         int *ndim, int64_t *shape);

/* Element strides of t laid against an ndim-dimensional shape it broadcasts
 * to (aligned from the right): 0 along broadcast dimensions. */
void ag_broadcast_strides(const ag_tensor *t, int ndim, const int64_t *shape, int64_t *strides);

/* Walks the rows (all dimensions but the last) of an ndim shape, keeping
 * an element offset into up to two strided operands. */
typedef struct ag_odometer {
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    int64_t idx[AG_MAX_DIMS];
    int64_t stride[2][AG_MAX_DIMS];
    ptrdiff_t off[2];
} ag_odometer;

void ag_odometer_init(ag_odometer *it, int ndim, const int64_t *shape, const int64_t *stride0,
                      const int64_t *stride1);
void ag_odometer_next_row(ag_odometer *it);

/* Whether two shapes are equal. */
bool ag_same_shape(int na, const int64_t *sa, int nb, const int64_t *sb);

#endif

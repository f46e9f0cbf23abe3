/* SPDX-License-Identifier: MIT */
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
static inline bool ag_same_shape(int na, const int64_t *sa, int nb, const int64_t *sb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (sa[i] != sb[i])
            return false;
    return true;
}

/* C (m,n) = op(A) op(B) for row-major A and B, op transposing when ta or
 * tb says (A stored (k,m), B stored (n,k)); C += op(A) op(B) when acc.
 * Through BLAS when the library has it and the matmul backend selects it,
 * else the portable blocked kernel (matmul.c). False when that kernel's
 * scratch could not be had (AG_ERR_NOMEM recorded): C is then not
 * computed. */
bool ag_gemm(ag_dtype dtype, size_t m, size_t n, size_t k, const void *A, bool ta, const void *B,
             bool tb, void *C, bool acc);

/* ---- elementwise builders shared by the op families ---- */

/* Row kernels of a binary op are ag_rows_f32 / ag_rows_f64 (op.h). */

/* Defines the row kernel `name` for type T computing EXPR from x (of a)
 * and z (of b). The unit-stride branch is the one the compiler
 * vectorizes. */
#define AG_BINARY_ROWS(name, T, EXPR)                                                         \
    static void name(size_t m, size_t n, const T *a, ptrdiff_t sa, ptrdiff_t ra, const T *b, \
                     ptrdiff_t sb, ptrdiff_t rb, T *restrict y)                             \
    {                                                                                      \
        if (m == 1 && n == 1) { /* a scalar graph's every op: skip the loop set-up */      \
            T x = *a, z = *b;                                                              \
            *y = (EXPR);                                                                   \
            return;                                                                        \
        }                                                                                  \
        for (size_t r = 0; r < m; r++, a += ra, b += rb, y += n) {                         \
            if (sa == 1 && sb == 1) {                                                      \
                const T *restrict A = a, *restrict B = b;                                  \
                for (size_t i = 0; i < n; i++) {                                           \
                    T x = A[i], z = B[i];                                                  \
                    y[i] = (EXPR);                                                         \
                }                                                                          \
            } else {                                                                       \
                for (size_t i = 0; i < n; i++) {                                           \
                    T x = a[(ptrdiff_t)i * sa], z = b[(ptrdiff_t)i * sb];                  \
                    y[i] = (EXPR);                                                         \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    }

/* Checks, broadcasts, allocates (recording the node) and runs the row
 * kernel of the result's dtype. */
ag_tensor *ag_binary_op(const ag_op *op, ag_tensor *a, ag_tensor *b);


/* Defines name_f32 and name_f64 computing y[i] = EXPR(v = x[i]). */
#define AG_UNARY_MAPS(name, EXPR32, EXPR64)                                   \
    AG_VECTOR_CLONES static void name##_f32(size_t n, const float *restrict x,         \
                                            float *restrict y)                         \
    {                                                                      \
        for (size_t i = 0; i < n; i++) {                                   \
            float v = x[i];                                                \
            y[i] = (EXPR32);                                               \
        }                                                                  \
    }                                                                      \
    AG_VECTOR_CLONES static void name##_f64(size_t n, const double *restrict x,        \
                                            double *restrict y)                        \
    {                                                                      \
        for (size_t i = 0; i < n; i++) {                                   \
            double v = x[i];                                               \
            y[i] = (EXPR64);                                               \
        }                                                                  \
    }

/* Checks, allocates (recording the node) and runs the op's map of x's
 * dtype (op->def.map_f32 / map_f64). */
ag_tensor *ag_unary_op(const ag_op *op, ag_tensor *x);

/* σ(v) without overflow for either sign (unary.c). */
float ag_sigmoid_f32(float v);
double ag_sigmoid_f64(double v);

/* ---- first-order backward kernels (see ag_grad_kernel in internal.h) ---- */

/* Defines name_kernel for a unary op y = f(x): dx (+)= EXPR for each
 * element, with gv, xv, yv the elements of g, x and y in type T. EXPR
 * must round as the op's rule does, so that both paths agree. Past the
 * grain (AG_GRAIN_MATH for a costly op, else AG_GRAIN) the elements are
 * split over the threads; each is written from its own chunk, so the bits
 * do not change. */
#define AG_UNARY_GRAD(name, EXPR32, EXPR64)                                          \
    AG_VECTOR_CLONES static void name##_grad_chunk(size_t lo, size_t hi, void *ctx)   \
    {                                                                                 \
        const ag_grad_chunk_job *j = ctx;                                             \
        const ag_tensor *y = j->y, *g = j->g;                                         \
        if (y->dtype == AG_F32)                                                       \
            AG_GRAD_LOOP_(float, EXPR32)                                              \
        else                                                                          \
            AG_GRAD_LOOP_(double, EXPR64)                                             \
    }                                                                                 \
    static bool name##_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)           \
    {                                                                                 \
        void *d = ag_grad_dst_data(dst);                                              \
        if (!d)                                                                       \
            return false;                                                             \
        ag_grad_chunk_job j = {y, g, d, dst->accumulate};                             \
        size_t grain = y->op->costly ? AG_GRAIN_MATH : AG_GRAIN;                      \
        if (y->numel >= 2 * grain)                                                    \
            ag_parallel_for(y->numel, grain, name##_grad_chunk, &j);                  \
        else                                                                          \
            name##_grad_chunk(0, y->numel, &j);                                       \
        return true;                                                                  \
    }
typedef struct ag_grad_chunk_job {
    const ag_tensor *y, *g;
    void *d;
    bool acc;
} ag_grad_chunk_job;
#define AG_GRAD_LOOP_(T, EXPR)                                                        \
    {                                                                                 \
        const T *restrict G = (const T *)g->data + lo,                                \
                          *restrict X = (const T *)y->inputs[0]->data + lo,           \
                          *restrict Y = (const T *)y->data + lo;                      \
        T *restrict D = (T *)j->d + lo;                                               \
        size_t n = hi - lo;                                                           \
        (void)X, (void)Y;                                                             \
        if (j->acc)                                                                   \
            for (size_t i = 0; i < n; i++) {                                          \
                T gv = G[i], xv = X[i], yv = Y[i];                                    \
                (void)xv, (void)yv;                                                   \
                D[i] += (EXPR);                                                       \
            }                                                                         \
        else                                                                          \
            for (size_t i = 0; i < n; i++) {                                          \
                T gv = G[i], xv = X[i], yv = Y[i];                                    \
                (void)xv, (void)yv;                                                   \
                D[i] = (EXPR);                                                        \
            }                                                                         \
    }

/* Rows of a binary op's gradient: for m rows r of n elements,
 * d[r*rd + i*sd] (+)= EXPR(gv = g[r*n + i], av = a[r*ra + i*sa],
 * bv = b[r*rb + i*sb], yv = y[r*n + i]). d takes the strides of the input
 * it belongs to: 0 where that input was broadcast (then acc is true and
 * the rows sum into d). */
typedef void (*ag_grad_row_f32)(size_t m, size_t n, const float *g, const float *a,
                                ptrdiff_t sa, ptrdiff_t ra, const float *b, ptrdiff_t sb,
                                ptrdiff_t rb, const float *y, float *d, ptrdiff_t sd,
                                ptrdiff_t rd, bool acc);
typedef void (*ag_grad_row_f64)(size_t m, size_t n, const double *g, const double *a,
                                ptrdiff_t sa, ptrdiff_t ra, const double *b, ptrdiff_t sb,
                                ptrdiff_t rb, const double *y, double *d, ptrdiff_t sd,
                                ptrdiff_t rd, bool acc);

#define AG_GRAD_ROWS(name, T, EXPR)                                                            \
    static void name(size_t m, size_t n, const T *g, const T *a, ptrdiff_t sa, ptrdiff_t ra,  \
                     const T *b, ptrdiff_t sb, ptrdiff_t rb, const T *y, T *d, ptrdiff_t sd,  \
                     ptrdiff_t rd, bool acc)                                                  \
    {                                                                                         \
        if (m == 1 && n == 1) { /* a scalar graph's every op: skip the loop set-up */         \
            T gv = *g, av = *a, bv = *b, yv = *y;                                             \
            (void)av, (void)bv, (void)yv;                                                     \
            *d = acc ? *d + (EXPR) : (EXPR);                                                  \
            return;                                                                           \
        }                                                                                     \
        for (size_t r = 0; r < m; r++, g += n, a += ra, b += rb, y += n, d += rd) {           \
            if (sa == 1 && sb == 1 && sd == 1) {                                              \
                const T *restrict G = g, *restrict A = a, *restrict B = b, *restrict Y = y;   \
                T *restrict D = d;                                                            \
                if (acc)                                                                      \
                    for (size_t i = 0; i < n; i++) {                                          \
                        T gv = G[i], av = A[i], bv = B[i], yv = Y[i];                         \
                        (void)av, (void)bv, (void)yv;                                         \
                        D[i] += (EXPR);                                                       \
                    }                                                                         \
                else                                                                          \
                    for (size_t i = 0; i < n; i++) {                                          \
                        T gv = G[i], av = A[i], bv = B[i], yv = Y[i];                         \
                        (void)av, (void)bv, (void)yv;                                         \
                        D[i] = (EXPR);                                                        \
                    }                                                                         \
                continue;                                                                     \
            }                                                                                 \
            if (sd == 0 && acc) {                                                             \
                /* A whole row into one element (a bias's gradient): eight running sums in    \
                 * registers rather than a chain through memory, added once. */               \
                T part[8] = {0};                                                              \
                size_t i = 0;                                                                 \
                for (; i + 8 <= n; i += 8)                                                    \
                    for (size_t l = 0; l < 8; l++) {                                          \
                        T gv = g[i + l], av = a[(ptrdiff_t)(i + l) * sa],                     \
                          bv = b[(ptrdiff_t)(i + l) * sb], yv = y[i + l];                     \
                        (void)av, (void)bv, (void)yv;                                         \
                        part[l] += (EXPR);                                                    \
                    }                                                                         \
                for (; i < n; i++) {                                                          \
                    T gv = g[i], av = a[(ptrdiff_t)i * sa], bv = b[(ptrdiff_t)i * sb], yv = y[i]; \
                    (void)av, (void)bv, (void)yv;                                             \
                    part[0] += (EXPR);                                                        \
                }                                                                             \
                *d += ((part[0] + part[1]) + (part[2] + part[3])) +                           \
                      ((part[4] + part[5]) + (part[6] + part[7]));                            \
                continue;                                                                     \
            }                                                                                 \
            for (size_t i = 0; i < n; i++) {                                                  \
                T gv = g[i], av = a[(ptrdiff_t)i * sa], bv = b[(ptrdiff_t)i * sb], yv = y[i]; \
                (void)av, (void)bv, (void)yv;                                                 \
                T *p = d + (ptrdiff_t)i * sd;                                                 \
                *p = acc ? *p + (EXPR) : (EXPR);                                              \
            }                                                                                 \
        }                                                                                     \
    }

/* A binary op's gradient rows: [input][0 f32, 1 f64]; alias[j] when input
 * j's gradient is g itself wherever the shapes agree (add, sub's a). */
typedef struct ag_binary_grad {
    ag_grad_row_f32 f32[2];
    ag_grad_row_f64 f64[2];
    bool alias[2];
} ag_binary_grad;

/* Gives x the gradient g unchanged (same element count, in order): as an
 * alias when x has none yet, else copied or added into its buffer. */
bool ag_grad_pass(ag_grad_dst *dst, ag_tensor *g);

/* The kernel of a broadcasting binary op, from its rows. */
bool ag_binary_grad_run(const ag_binary_grad *k, ag_tensor *y, ag_tensor *g, ag_grad_dst *dst);

#endif

/* SPDX-License-Identifier: MIT */
/* matmul.c — matrix products, through BLAS or a portable blocked kernel.
 *
 * One op, "matmul", computes op(a) @ op(b) where op optionally transposes a
 * 2-D operand. Its gradients are products of the same op with the flags
 * flipped, so the backward pass never materializes a transpose and every
 * product, forward or backward, is one GEMM call. */
#include "ops_internal.h"

#include <string.h>

#ifdef AG_HAVE_BLAS
#include <cblas.h>
static _Thread_local ag_matmul_backend backend = AG_MATMUL_BLAS;
#else
static _Thread_local ag_matmul_backend backend = AG_MATMUL_BUILTIN;
#endif

bool ag_have_blas(void)
{
#ifdef AG_HAVE_BLAS
    return true;
#else
    return false;
#endif
}

bool ag_matmul_backend_set(ag_matmul_backend b)
{
    if (b == AG_MATMUL_BLAS && !ag_have_blas()) {
        ag_error_set(AG_ERR_VALUE, "matmul_backend_set: the library was built without BLAS");
        return false;
    }
    if (b != AG_MATMUL_BLAS && b != AG_MATMUL_BUILTIN) {
        ag_error_set(AG_ERR_VALUE, "matmul_backend_set: unknown backend %d", (int)b);
        return false;
    }
    backend = b;
    return true;
}

ag_matmul_backend ag_matmul_backend_get(void)
{
    return backend;
}

typedef struct matmul_params {
    bool ta, tb;
} matmul_params;

enum { BLOCK = 64 };

/* C (m,n) = op(A) op(B) with op(A) (m,k) and op(B) (k,n); lda/ldb are the
 * row lengths of A and B as stored. Transposed operands are first copied
 * into row-major scratch from the tape so that the inner loop runs over
 * contiguous rows of B and C, which the compiler vectorizes; the loops are
 * blocked over k and n to keep the rows of B in cache. False (with
 * AG_ERR_NOMEM recorded) when the scratch cannot be had: C is then not
 * computed, and the caller must fail rather than return it. */
#define BUILTIN_GEMM(name, T)                                                                  \
    static bool name(size_t m, size_t n, size_t k, const T *A, bool ta, const T *B, bool tb,   \
                     T *restrict C, bool acc)                                                 \
    {                                                                                         \
        if (ta) {                                                                             \
            T *At = ag_tape_alloc(m * k * sizeof(T));                                         \
            if (!At)                                                                          \
                return false;                                                                 \
            for (size_t i = 0; i < m; i++)                                                    \
                for (size_t p = 0; p < k; p++)                                                \
                    At[i * k + p] = A[p * m + i];                                             \
            A = At;                                                                           \
        }                                                                                     \
        if (tb) {                                                                             \
            T *Bt = ag_tape_alloc(k * n * sizeof(T));                                         \
            if (!Bt)                                                                          \
                return false;                                                                 \
            for (size_t p = 0; p < k; p++)                                                    \
                for (size_t j = 0; j < n; j++)                                                \
                    Bt[p * n + j] = B[j * k + p];                                             \
            B = Bt;                                                                           \
        }                                                                                     \
        if (!acc)                                                                             \
            memset(C, 0, m * n * sizeof(T));                                                  \
        for (size_t p0 = 0; p0 < k; p0 += BLOCK)                                              \
            for (size_t j0 = 0; j0 < n; j0 += BLOCK) {                                        \
                size_t p1 = p0 + BLOCK < k ? p0 + BLOCK : k;                                  \
                size_t j1 = j0 + BLOCK < n ? j0 + BLOCK : n;                                  \
                for (size_t i = 0; i < m; i++) {                                              \
                    T *restrict c = C + i * n;                                                \
                    for (size_t p = p0; p < p1; p++) {                                        \
                        T a = A[i * k + p];                                                   \
                        const T *restrict b = B + p * n;                                      \
                        for (size_t j = j0; j < j1; j++)                                      \
                            c[j] += a * b[j];                                                 \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
        return true;                                                                          \
    }

BUILTIN_GEMM(gemm_f32, float)
BUILTIN_GEMM(gemm_f64, double)

#ifdef AG_HAVE_BLAS
/* The loops for a small matrix-vector product, y += M x or y += Mᵀ x with
 * M (rows, cols) row-major. M x is a dot product per row, in LANES
 * independent sums (the additions' order is fixed, so GCC vectorizes it
 * without -ffast-math); Mᵀ x adds x[r] times row r into y, four rows at a
 * time. */
enum { LANES = 4 };
#define SMALL_GEMV(T)                                                                         \
    AG_VECTOR_CLONES static void small_gemv_##T(bool trans, size_t rows, size_t cols,         \
                                                const T *restrict M, const T *restrict x,     \
                                                T *restrict y)                                \
    {                                                                                         \
        if (trans) {                                                                          \
            /* four rows per pass over y, so y is loaded and stored a                          \
             * quarter as often */                                                            \
            size_t r = 0;                                                                     \
            for (; r + 4 <= rows; r += 4) {                                                   \
                const T *restrict r0 = M + r * cols, *restrict r1 = r0 + cols;                \
                const T *restrict r2 = r1 + cols, *restrict r3 = r2 + cols;                   \
                const T x0 = x[r], x1 = x[r + 1], x2 = x[r + 2], x3 = x[r + 3];               \
                for (size_t j = 0; j < cols; j++)                                             \
                    y[j] += (r0[j] * x0 + r1[j] * x1) + (r2[j] * x2 + r3[j] * x3);            \
            }                                                                                 \
            for (; r < rows; r++) {                                                           \
                const T xr = x[r], *restrict row = M + r * cols;                              \
                for (size_t j = 0; j < cols; j++)                                             \
                    y[j] += row[j] * xr;                                                      \
            }                                                                                 \
            return;                                                                           \
        }                                                                                     \
        size_t body = cols / LANES * LANES;                                                   \
        for (size_t r = 0; r < rows; r++) {                                                   \
            const T *restrict row = M + r * cols;                                             \
            T lane[LANES] = {0};                                                              \
            for (size_t p = 0; p < body; p += LANES)                                          \
                for (int l = 0; l < LANES; l++)                                               \
                    lane[l] += row[p + l] * x[p + l];                                         \
            T s = (lane[0] + lane[1]) + (lane[2] + lane[3]);                                  \
            for (size_t p = body; p < cols; p++)                                              \
                s += row[p] * x[p];                                                           \
            y[r] += s;                                                                        \
        }                                                                                     \
    }
SMALL_GEMV(float)
SMALL_GEMV(double)

/* Between these many matrix elements the loops above run instead of
 * BLAS's gemv. OpenBLAS 0.3.21 splits any gemv of 9216 elements or more
 * over its threads when it has several, and waking them for a few
 * microseconds of work made the logistic-regression step (569 × 30, f64;
 * bench/bench_logreg) 1.8 times the hand-written one with two OpenBLAS
 * threads; with one, the loops' AVX2 clone (vector_clones.h) was also
 * faster than OpenBLAS's own gemv there (1.07× the hand-written step
 * against 1.13×). Below 9216 OpenBLAS stays on one thread and its kernels
 * win (the tiny MLP's 32 × 16 products took 2.4 times as long in the
 * loops); above 2^17 its threads pay. */
#define SMALL_GEMV_MIN ((size_t)9216)
#define SMALL_GEMV_MAX ((size_t)1 << 17)

/* A product with one column (n = 1: a logistic regression's logits and
 * weight gradient) or one row (m = 1) as the matrix-vector product it is:
 * OpenBLAS's GEMM packs the whole matrix for it, at twice gemv's time.
 * The vector operand is contiguous whichever way it is flagged (a (k,1) or
 * (1,k) matrix). With n = 1, C = op(A) b; with m = 1, Cᵀ = op(B)ᵀ aᵀ. C
 * is cleared first and added to (beta 1) rather than scaled by beta 0,
 * which OpenBLAS versions differ on for NaN in the uninitialised buffer.
 * Small ones run in the loops above. */
static void gemv(ag_dtype dtype, size_t m, size_t n, size_t k, const void *A, bool ta,
                 const void *B, bool tb, void *C, bool acc)
{
    bool col = n == 1;
    const void *M = col ? A : B, *x = col ? B : A;
    /* The matrix as stored, and whether gemv must transpose it. */
    bool trans = col ? ta : !tb;
    size_t out = col ? m : n, rows = trans ? k : out, cols = trans ? out : k;
    if (!acc)
        memset(C, 0, out * ag_dtype_size(dtype));
    if (rows * cols >= SMALL_GEMV_MIN && rows * cols <= SMALL_GEMV_MAX) {
        if (dtype == AG_F32)
            small_gemv_float(trans, rows, cols, M, x, C);
        else
            small_gemv_double(trans, rows, cols, M, x, C);
        return;
    }
    if (dtype == AG_F32)
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, (int)rows, (int)cols, 1.0f,
                    M, (int)cols, x, 1, 1.0f, C, 1);
    else
        cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, (int)rows, (int)cols, 1.0,
                    M, (int)cols, x, 1, 1.0, C, 1);
}
#endif

/* C = a bᵀ (k = 1): both operands are contiguous vectors whatever their
 * flags ((m,1) or (1,m), (1,n) or (n,1)). */
#define OUTER(T)                                                                              \
    {                                                                                         \
        const T *restrict a = A, *restrict b = B;                                             \
        T *restrict c = C;                                                                    \
        for (size_t i = 0; i < m; i++) {                                                      \
            T *restrict ci = c + i * n;                                                       \
            const T ai = a[i];                                                                \
            if (acc)                                                                          \
                for (size_t j = 0; j < n; j++)                                                \
                    ci[j] += ai * b[j];                                                       \
            else                                                                              \
                for (size_t j = 0; j < n; j++)                                                \
                    ci[j] = ai * b[j];                                                        \
        }                                                                                     \
    }

/* C = op(A) op(B), or C += op(A) op(B) when acc (BLAS's beta = 1). False
 * when the built-in kernel's scratch could not be allocated (recorded). */
bool ag_gemm(ag_dtype dtype, size_t m, size_t n, size_t k, const void *A, bool ta,
             const void *B, bool tb, void *C, bool acc)
{
    if (k == 1 && m && n) {
        /* An outer product (an MLP's input gradient through a one-unit
         * layer): one product per element, which any GEMM rounds alike, so
         * a plain loop gives its result without the call and the packing. */
        if (dtype == AG_F32)
            OUTER(float)
        else
            OUTER(double)
        return true;
    }
#ifdef AG_HAVE_BLAS
    if (backend == AG_MATMUL_BLAS && m && n && k && (n == 1 || m == 1)) {
        gemv(dtype, m, n, k, A, ta, B, tb, C, acc);
        return true;
    }
    if (backend == AG_MATMUL_BLAS && m && n && k) {
        int lda = (int)(ta ? m : k), ldb = (int)(tb ? k : n);
        if (dtype == AG_F32)
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, A, lda, B,
                        ldb, acc ? 1.0f : 0.0f, C, (int)n);
        else
            cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0, A, lda, B,
                        ldb, acc ? 1.0 : 0.0, C, (int)n);
        return true;
    }
#endif
    if (dtype == AG_F32)
        return gemm_f32(m, n, k, A, ta, B, tb, C, acc);
    return gemm_f64(m, n, k, A, ta, B, tb, C, acc);
}

static ag_op OP_MATMUL;

/* y = op(A) op(B), op transposing when the params say (batched when both are 3-D);
 * dA += g op(B)ᵀ, dB += op(A)ᵀ g (in the stored orientation) */
static ag_tensor *matmul_forward(ag_tensor *const *in, const void *params)
{
    const matmul_params *p = params;
    ag_tensor *a = in[0], *b = in[1];
    bool ta = p->ta, tb = p->tb;
    if (!ag_check_inputs("matmul", 2, in))
        return NULL;
    bool batched = a->ndim == 3 && b->ndim == 3 && a->shape[0] == b->shape[0];
    if (!(a->ndim == 2 && b->ndim == 2) && !batched) {
        char sa[160], sb[160];
        ag_error_set(AG_ERR_SHAPE,
                     "matmul_t: %s @ %s: operands must both be 2-D, or both 3-D with the same "
                     "batch size (ag_matmul broadcasts other shapes)",
                     ag_format_shape(a->ndim, a->shape, sa, sizeof sa),
                     ag_format_shape(b->ndim, b->shape, sb, sizeof sb));
        return NULL;
    }
    int r = a->ndim - 2; /* the first matrix dimension */
    int64_t batch = batched ? a->shape[0] : 1;
    int64_t m = ta ? a->shape[r + 1] : a->shape[r], ka = ta ? a->shape[r] : a->shape[r + 1];
    int64_t kb = tb ? b->shape[r + 1] : b->shape[r], n = tb ? b->shape[r] : b->shape[r + 1];
    if (ka != kb) {
        char sa[160], sb[160];
        ag_error_set(AG_ERR_SHAPE, "matmul: %s%s @ %s%s: inner dimensions %lld and %lld differ",
                     ag_format_shape(a->ndim, a->shape, sa, sizeof sa), ta ? "ᵀ" : "",
                     ag_format_shape(b->ndim, b->shape, sb, sizeof sb), tb ? "ᵀ" : "",
                     (long long)ka, (long long)kb);
        return NULL;
    }
    if (m > INT32_MAX || n > INT32_MAX || ka > INT32_MAX) {
        ag_error_set(AG_ERR_SHAPE, "matmul: dimensions over 2^31 are not supported");
        return NULL;
    }
    int64_t shape[3] = {batch, m, n};
    ag_tensor *y = ag_op_result(&OP_MATMUL, a->dtype, a->ndim, batched ? shape : shape + 1, 2, in,
                                p, sizeof *p);
    if (!y)
        return NULL;
    size_t es = ag_dtype_size(a->dtype);
    size_t sa = (size_t)(m * ka) * es, sb = (size_t)(ka * n) * es, sy = (size_t)(m * n) * es;
    for (int64_t i = 0; i < batch; i++)
        if (!ag_gemm(a->dtype, (size_t)m, (size_t)n, (size_t)ka,
                     (const char *)a->data + (size_t)i * sa, ta,
                     (const char *)b->data + (size_t)i * sb, tb,
                     (char *)y->data + (size_t)i * sy, false))
            return NULL;
    return y;
}

ag_tensor *ag_matmul_t(ag_tensor *a, bool ta, ag_tensor *b, bool tb)
{
    return matmul_forward((ag_tensor *[]){a, b}, &(matmul_params){ta, tb});
}

/* The general product, as numpy's matmul: 1-D operands are promoted to a
 * row (left) or a column (right) and the added dimension dropped again;
 * leading (batch) dimensions broadcast, then fold into one batch dimension
 * for the 3-D primitive. Only reshapes and broadcasts are added, so the
 * gradient needs no rule of its own. */
ag_tensor *ag_matmul(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2] = {a, b};
    if (!ag_check_inputs("matmul", 2, in))
        return NULL;
    if (a->ndim == 2 && b->ndim == 2)
        return ag_matmul_t(a, false, b, false);
    if (a->ndim == 0 || b->ndim == 0) {
        ag_error_set(AG_ERR_SHAPE, "matmul: operands must have at least 1 dimension, not 0 (use ag_mul for scalars)");
        return NULL;
    }
    if (a->ndim == 1 && b->ndim == 1)
        return ag_dot(a, b);
    int64_t sa[AG_MAX_DIMS], sb[AG_MAX_DIMS];
    int na = a->ndim, nb = b->ndim;
    memcpy(sa, a->shape, (size_t)na * sizeof *sa);
    memcpy(sb, b->shape, (size_t)nb * sizeof *sb);
    bool row = na == 1, col = nb == 1;
    if (row)
        sa[1] = sa[0], sa[0] = 1, na = 2;
    if (col)
        sb[1] = 1, nb = 2;
    if (sa[na - 1] != sb[nb - 2]) {
        char s1[160], s2[160];
        ag_error_set(AG_ERR_SHAPE, "matmul: %s @ %s: inner dimensions %lld and %lld differ",
                     ag_format_shape(a->ndim, a->shape, s1, sizeof s1),
                     ag_format_shape(b->ndim, b->shape, s2, sizeof s2), (long long)sa[na - 1],
                     (long long)sb[nb - 2]);
        return NULL;
    }
    int nbatch;
    int64_t batch[AG_MAX_DIMS];
    if (!ag_broadcast_shapes("matmul", na - 2, sa, nb - 2, sb, &nbatch, batch))
        return NULL;
    if (nbatch + 2 > AG_MAX_DIMS) {
        ag_error_set(AG_ERR_SHAPE, "matmul: result would have more than %d dimensions", AG_MAX_DIMS);
        return NULL;
    }
    int64_t count = 1;
    for (int d = 0; d < nbatch; d++)
        count *= batch[d];
    int64_t m = sa[na - 2], k = sa[na - 1], n = sb[nb - 1];
    int64_t full_a[AG_MAX_DIMS], full_b[AG_MAX_DIMS];
    memcpy(full_a, batch, (size_t)nbatch * sizeof *batch);
    memcpy(full_b, batch, (size_t)nbatch * sizeof *batch);
    full_a[nbatch] = m, full_a[nbatch + 1] = k;
    full_b[nbatch] = k, full_b[nbatch + 1] = n;
    ag_tensor *a3 = ag_reshape(ag_broadcast_to(ag_reshape(a, na, sa), nbatch + 2, full_a), 3,
                               (int64_t[]){count, m, k});
    ag_tensor *b3 = ag_reshape(ag_broadcast_to(ag_reshape(b, nb, sb), nbatch + 2, full_b), 3,
                               (int64_t[]){count, k, n});
    ag_tensor *y3 = ag_matmul_t(a3, false, b3, false);
    /* The result: batch..., then m and n unless they came from promotion. */
    int64_t shape[AG_MAX_DIMS];
    int nd = nbatch;
    memcpy(shape, batch, (size_t)nbatch * sizeof *batch);
    if (!row)
        shape[nd++] = m;
    if (!col)
        shape[nd++] = n;
    return ag_reshape(y3, nd, shape);
}

/* The gradients of C = op(A) op(B) (batch products of (m,k) by (k,n)), as
 * GEMM calls straight into the buffers of dst[0] (A) and dst[1] (B) where
 * set: a weight's gradient is written (beta 0, after ag_zero_grad) or added
 * (beta 1) by the one call that computes it, with no temporary.
 *   dA = g op(B)ᵀ (A not transposed)    dA = op(B) gᵀ (A transposed)
 *   dB = op(A)ᵀ g (B not transposed)    dB = gᵀ op(A) (B transposed) */
static bool product_grads(ag_dtype dt, size_t batch, size_t m, size_t n, size_t k, const void *a,
                          bool ta, const void *b, bool tb, const void *g, ag_grad_dst *dst)
{
    size_t es = ag_dtype_size(dt), sa = m * k * es, sb = k * n * es, sy = m * n * es;
    const char *A = a, *B = b, *G = g;
    if (dst[0].x) {
        char *D = ag_grad_dst_data(&dst[0]);
        if (!D)
            return false;
        for (size_t i = 0; i < batch; i++) {
            bool ok = ta ? ag_gemm(dt, k, m, n, B + i * sb, tb, G + i * sy, true, D + i * sa,
                                   dst[0].accumulate)
                         : ag_gemm(dt, m, k, n, G + i * sy, false, B + i * sb, !tb, D + i * sa,
                                   dst[0].accumulate);
            if (!ok)
                return false;
        }
    }
    if (dst[1].x) {
        char *D = ag_grad_dst_data(&dst[1]);
        if (!D)
            return false;
        for (size_t i = 0; i < batch; i++) {
            bool ok = tb ? ag_gemm(dt, n, k, m, G + i * sy, true, A + i * sa, ta, D + i * sb,
                                   dst[1].accumulate)
                         : ag_gemm(dt, k, n, m, A + i * sa, !ta, G + i * sy, false, D + i * sb,
                                   dst[1].accumulate);
            if (!ok)
                return false;
        }
    }
    return true;
}

/* ---- affine: x @ W + b in one node ---- */

static ag_op OP_AFFINE, OP_AFFINE_T, OP_AFFINE_T_RELU;

#define BIAS_ROWS(T)                                                                          \
    {                                                                                         \
        const T *restrict B = b->data;                                                        \
        T *restrict Y = y->data;                                                              \
        if (m == 1)                                                                           \
            for (size_t r = 0; r < (size_t)n; r++)                                            \
                Y[r] = B[0];                                                                  \
        else                                                                                  \
            for (size_t r = 0; r < (size_t)n; r++)                                            \
                memcpy(Y + r * (size_t)m, B, (size_t)m * sizeof(T));                         \
    }

/* y ← max(y, 0) over n elements, as relu's map rounds (and a NaN to 0). */
#define RELU_IN_PLACE(T)                                                                      \
    AG_VECTOR_CLONES static void relu_in_place_##T(size_t n, T *restrict y)                   \
    {                                                                                         \
        for (size_t i = 0; i < n; i++)                                                        \
            y[i] = y[i] > 0 ? y[i] : 0;                                                       \
    }
RELU_IN_PLACE(float)
RELU_IN_PLACE(double)

/* x W + b, or x Wᵀ + b with W stored (m, k) as PyTorch's nn.Linear keeps
 * it: the transposed flag goes to the GEMM, so neither costs a copy. With
 * `relu`, max(·, 0) of that in place, in the same node. */
static ag_tensor *affine_build(const char *name, ag_op *op, ag_tensor *const *in, bool tw,
                               bool relu)
{
    ag_tensor *x = in[0], *W = in[1], *b = in[2];
    if (!ag_inputs_ok(name, 3, in))
        return NULL;
    int wk = tw ? 1 : 0, wm = tw ? 0 : 1; /* W's k and m axes */
    if (x->ndim != 2 || W->ndim != 2 || b->ndim != 1 || x->shape[1] != W->shape[wk] ||
        b->shape[0] != W->shape[wm]) {
        char sx[160], sw[160], sb[160];
        ag_error_set(AG_ERR_SHAPE, "%s: x %s @ W %s%s + b %s: need x (n,k), W %s and b (m)",
                     name, ag_format_shape(x->ndim, x->shape, sx, sizeof sx),
                     ag_format_shape(W->ndim, W->shape, sw, sizeof sw), tw ? "ᵀ" : "",
                     ag_format_shape(b->ndim, b->shape, sb, sizeof sb), tw ? "(m,k)" : "(k,m)");
        return NULL;
    }
    int64_t n = x->shape[0], k = x->shape[1], m = W->shape[wm];
    if (n > INT32_MAX || k > INT32_MAX || m > INT32_MAX) {
        ag_error_set(AG_ERR_SHAPE, "%s: dimensions over 2^31 are not supported", name);
        return NULL;
    }
    int64_t shape[2] = {n, m};
    ag_tensor *y = ag_op_result(op, x->dtype, 2, shape, 3, in, NULL, 0);
    if (!y || y->numel == 0)
        return y;
    /* The bias in every row: a copy per row, but a plain fill for rows of
     * one element (a logistic regression's), where a call per row costs
     * more than the copy. */
    if (x->dtype == AG_F32)
        BIAS_ROWS(float)
    else
        BIAS_ROWS(double)
    if (!ag_gemm(x->dtype, (size_t)n, (size_t)m, (size_t)k, x->data, false, W->data, tw,
                 y->data, true))
        return NULL;
    if (relu) {
        if (x->dtype == AG_F32)
            relu_in_place_float(y->numel, y->data);
        else
            relu_in_place_double(y->numel, y->data);
    }
    return y;
}

static ag_tensor *affine_forward(ag_tensor *const *in, const void *params)
{
    (void)params; /* none */
    return affine_build("affine", &OP_AFFINE, in, false, false);
}

static ag_tensor *affine_t_forward(ag_tensor *const *in, const void *params)
{
    (void)params; /* none */
    return affine_build("affine_t", &OP_AFFINE_T, in, true, false);
}

static ag_tensor *affine_t_relu_forward(ag_tensor *const *in, const void *params)
{
    (void)params; /* none */
    return affine_build("affine_t_relu", &OP_AFFINE_T_RELU, in, true, true);
}

ag_tensor *ag_affine(ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    return affine_forward((ag_tensor *[]){x, W, b}, NULL);
}

ag_tensor *ag_affine_t(ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    return affine_t_forward((ag_tensor *[]){x, W, b}, NULL);
}

ag_tensor *ag_affine_t_relu(ag_tensor *x, ag_tensor *W, ag_tensor *b)
{
    return affine_t_relu_forward((ag_tensor *[]){x, W, b}, NULL);
}

/* y = x W + b;  dx += g Wᵀ, dW += xᵀ g, db += sum_to(g) (the column sums) */
static bool affine_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *W = y->inputs[1], *b = y->inputs[2];
    if (x->requires_grad && !(gin[0] = ag_matmul_t(g, false, W, true)))
        return false;
    if (W->requires_grad && !(gin[1] = ag_matmul_t(x, true, g, false)))
        return false;
    if (b->requires_grad && !(gin[2] = ag_sum_to(g, 1, b->shape)))
        return false;
    return true;
}

/* y = relu(x Wᵀ + b): the rule of affine_t with g·step(y) for g (y > 0
 * exactly where x Wᵀ + b > 0, so the pre-activation need not be kept). */
static bool affine_t_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin);
static bool affine_t_relu_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *gm = ag_mul(g, ag_step(y));
    return gm && affine_t_vjp(y, gm, gin);
}

/* y = x Wᵀ + b;  dx += g W, dW += gᵀ x, db += sum_to(g) */
static bool affine_t_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *W = y->inputs[1], *b = y->inputs[2];
    if (x->requires_grad && !(gin[0] = ag_matmul_t(g, false, W, false)))
        return false;
    if (W->requires_grad && !(gin[1] = ag_matmul_t(g, true, x, false)))
        return false;
    if (b->requires_grad && !(gin[2] = ag_sum_to(g, 1, b->shape)))
        return false;
    return true;
}

/* The rule as two GEMM calls into the buffers and the column sums, added
 * row after row as sum_to adds them. The sums of COLUMN_BLOCK columns at a
 * time stay in registers while the rows go by (adding into D row after row
 * made every row wait for the last row's store); each column still adds
 * its rows in order, so the bits are sum_to's. */
enum { COLUMN_BLOCK = 16 };
#define COLUMN_SUMS(T)                                                                        \
    AG_VECTOR_CLONES static void column_sums_##T(size_t n, size_t m, const T *restrict G,     \
                                                 T *restrict D)                               \
    {                                                                                         \
        size_t j = 0;                                                                         \
        for (; j + COLUMN_BLOCK <= m; j += COLUMN_BLOCK) {                                    \
            T acc[COLUMN_BLOCK];                                                              \
            for (int l = 0; l < COLUMN_BLOCK; l++)                                            \
                acc[l] = D[j + l];                                                            \
            for (size_t r = 0; r < n; r++)                                                    \
                for (int l = 0; l < COLUMN_BLOCK; l++)                                        \
                    acc[l] += G[r * m + j + l];                                               \
            for (int l = 0; l < COLUMN_BLOCK; l++)                                            \
                D[j + l] = acc[l];                                                            \
        }                                                                                     \
        for (; j < m; j++) {                                                                  \
            T sum = D[j];                                                                     \
            for (size_t r = 0; r < n; r++)                                                    \
                sum += G[r * m + j];                                                          \
            D[j] = sum;                                                                       \
        }                                                                                     \
    }
COLUMN_SUMS(float)
COLUMN_SUMS(double)

static bool affine_grads(ag_tensor *y, const void *gd, ag_grad_dst *dst, bool tw)
{
    ag_tensor *x = y->inputs[0], *W = y->inputs[1];
    size_t n = (size_t)x->shape[0], k = (size_t)x->shape[1], m = (size_t)y->shape[1];
    if (!product_grads(y->dtype, 1, n, m, k, x->data, false, W->data, tw, gd, dst))
        return false;
    if (dst[2].x) {
        void *d = ag_grad_dst_data(&dst[2]);
        if (!d)
            return false;
        if (!dst[2].accumulate)
            memset(d, 0, m * ag_dtype_size(y->dtype));
        if (y->dtype == AG_F32)
            column_sums_float(n, m, gd, d);
        else
            column_sums_double(n, m, gd, d);
    }
    return true;
}

static bool affine_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    return affine_grads(y, g->data, dst, false);
}

static bool affine_t_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    return affine_grads(y, g->data, dst, true);
}

/* g where y > 0, else 0 (relu's kernel, on the output), into the tape's
 * scratch; then affine_t's. */
#define RELU_MASK(T)                                                                          \
    AG_VECTOR_CLONES static void relu_mask_##T(size_t n, const T *restrict y,                 \
                                               const T *restrict g, T *restrict out)          \
    {                                                                                         \
        for (size_t i = 0; i < n; i++)                                                        \
            out[i] = y[i] > 0 ? g[i] : 0;                                                     \
    }
RELU_MASK(float)
RELU_MASK(double)

static bool affine_t_relu_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    void *gm = ag_tape_alloc(y->numel * ag_dtype_size(y->dtype));
    if (!gm)
        return false;
    if (y->dtype == AG_F32)
        relu_mask_float(y->numel, y->data, g->data, gm);
    else
        relu_mask_double(y->numel, y->data, g->data, gm);
    return affine_grads(y, gm, dst, true);
}

static void sample_affine(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    int64_t n = 1 + (int64_t)(ag_rng_next(rng) % 4), k = 1 + (int64_t)(ag_rng_next(rng) % 4),
            m = 1 + (int64_t)(ag_rng_next(rng) % 4);
    ndim[0] = ndim[1] = 2;
    ndim[2] = 1;
    shape[0][0] = n, shape[0][1] = k;
    shape[1][0] = k, shape[1][1] = m;
    shape[2][0] = m;
}

static void sample_affine_t(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    sample_affine(rng, ndim, shape);
    int64_t k = shape[1][0];
    shape[1][0] = shape[1][1], shape[1][1] = k;
}

static ag_op OP_AFFINE = {.def = {
        .name = "affine",
        .n_inputs = 3,
        .forward = affine_forward,
        .vjp = affine_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_affine,
        .rule = "dx += g W^T, dW += x^T g, db += sum_to(g)",
        .kernel = affine_kernel,
    }};
static ag_op OP_AFFINE_T = {.def = {
        .name = "affine_t",
        .n_inputs = 3,
        .forward = affine_t_forward,
        .vjp = affine_t_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_affine_t,
        .rule = "dx += g W, dW += g^T x, db += sum_to(g)",
        .kernel = affine_t_kernel,
    }};
static ag_op OP_AFFINE_T_RELU = {.def = {
        .name = "affine_t_relu",
        .n_inputs = 3,
        .forward = affine_t_relu_forward,
        .vjp = affine_t_relu_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST | AG_OP_KINK,
        .sample = sample_affine_t,
        .rule = "h = g * step(y); dx += h W, dW += h^T x, db += sum_to(h)",
        .kernel = affine_t_relu_kernel,
    }};

/* a · b = Σ a_i b_i for 1-D tensors of one length. */
ag_tensor *ag_dot(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2] = {a, b};
    if (!ag_check_inputs("dot", 2, in))
        return NULL;
    if (a->ndim != 1 || b->ndim != 1 || a->shape[0] != b->shape[0]) {
        char s1[160], s2[160];
        ag_error_set(AG_ERR_SHAPE, "dot: %s . %s: need two 1-D tensors of one length",
                     ag_format_shape(a->ndim, a->shape, s1, sizeof s1),
                     ag_format_shape(b->ndim, b->shape, s2, sizeof s2));
        return NULL;
    }
    return ag_sum(ag_mul(a, b));
}

/* (a ⊗ b)_ij = a_i b_j for 1-D a (n) and b (m): an (n, m) result. */
ag_tensor *ag_outer(ag_tensor *a, ag_tensor *b)
{
    ag_tensor *in[2] = {a, b};
    if (!ag_check_inputs("outer", 2, in))
        return NULL;
    if (a->ndim != 1 || b->ndim != 1) {
        char s1[160], s2[160];
        ag_error_set(AG_ERR_SHAPE, "outer: %s and %s: need two 1-D tensors",
                     ag_format_shape(a->ndim, a->shape, s1, sizeof s1),
                     ag_format_shape(b->ndim, b->shape, s2, sizeof s2));
        return NULL;
    }
    return ag_mul(ag_reshape(a, 2, (int64_t[]){a->shape[0], 1}),
                  ag_reshape(b, 2, (int64_t[]){1, b->shape[0]}));
}

/* C = op(A) op(B):
 *   dA = g op(B)ᵀ          (A not transposed)    dA = op(B) gᵀ   (A transposed)
 *   dB = op(A)ᵀ g          (B not transposed)    dB = gᵀ op(A)   (B transposed) */
static bool matmul_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const matmul_params *p = y->params;
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    if (a->requires_grad) {
        gin[0] = p->ta ? ag_matmul_t(b, p->tb, g, true) : ag_matmul_t(g, false, b, !p->tb);
        if (!gin[0])
            return false;
    }
    if (b->requires_grad) {
        gin[1] = p->tb ? ag_matmul_t(g, true, a, p->ta) : ag_matmul_t(a, !p->ta, g, false);
        if (!gin[1])
            return false;
    }
    return true;
}

/* The rule above as GEMM calls into the buffers; the shapes were checked
 * when y was made. */
static bool matmul_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const matmul_params *p = y->params;
    ag_tensor *a = y->inputs[0], *b = y->inputs[1];
    int r = a->ndim - 2;
    size_t batch = a->ndim == 3 ? (size_t)a->shape[0] : 1;
    size_t m = (size_t)y->shape[r], n = (size_t)y->shape[r + 1];
    size_t k = (size_t)(p->ta ? a->shape[r] : a->shape[r + 1]);
    return product_grads(y->dtype, batch, m, n, k, a->data, p->ta, b->data, p->tb, g->data, dst);
}

static ag_tensor *matmul_example(ag_tensor *const *in) { return ag_matmul(in[0], in[1]); }

static void sample_matmul(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    int64_t m = 1 + (int64_t)(ag_rng_next(rng) % 4), k = 1 + (int64_t)(ag_rng_next(rng) % 4),
            n = 1 + (int64_t)(ag_rng_next(rng) % 4);
    ndim[0] = ndim[1] = 2;
    shape[0][0] = m, shape[0][1] = k;
    shape[1][0] = k, shape[1][1] = n;
}

static ag_op OP_MATMUL = {.def = {
        .name = "matmul",
        .n_inputs = 2,
        .forward = matmul_forward,
        .example = matmul_example,
        .vjp = matmul_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_matmul,
        .rule = "dA += g op(B)^T, dB += op(A)^T g",
        .kernel = matmul_kernel,
    }};

/* Batched and promoted shapes, through ag_matmul's reshapes and broadcasts. */
static void sample_matmul_general(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    static const int64_t cases[][2][4] = {
        {{2, 1, 3, 4}, {3, 4, 2, 0}}, {{3, 0, 0, 0}, {2, 3, 2, 0}}, {{2, 2, 3, 0}, {3, 0, 0, 0}},
        {{1, 2, 3, 0}, {4, 3, 2, 0}},
    };
    static const int ranks[][2] = {{4, 3}, {1, 3}, {3, 1}, {3, 3}};
    size_t c = ag_rng_next(rng) % 4;
    for (int i = 0; i < 2; i++) {
        ndim[i] = ranks[c][i];
        memcpy(shape[i], cases[c][i], (size_t)ndim[i] * sizeof(int64_t));
    }
}

static void sample_vectors(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = ndim[1] = 1;
    shape[0][0] = 1 + (int64_t)(ag_rng_next(rng) % 5);
    shape[1][0] = shape[0][0];
}

static ag_tensor *dot_example(ag_tensor *const *in) { return ag_dot(in[0], in[1]); }
static ag_tensor *outer_example(ag_tensor *const *in) { return ag_outer(in[0], in[1]); }

static ag_op OP_MATMUL_GENERAL = {.def = {
        .name = "matmul_batched",
        .n_inputs = 2,
        .example = matmul_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_matmul_general,
    }};
static ag_op OP_DOT = {.def = {
        .name = "dot",
        .n_inputs = 2,
        .example = dot_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_vectors,
    }};
static ag_op OP_OUTER = {.def = {
        .name = "outer",
        .n_inputs = 2,
        .example = outer_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_vectors,
    }};

/* y = xᵀ;  dx += gᵀ */
static ag_op OP_TRANSPOSE2D;

static ag_tensor *transpose2d_forward(ag_tensor *const *in, const void *params)
{
    (void)params; /* none */
    ag_tensor *x = in[0];
    if (!ag_check_inputs("transpose2d", 1, &x))
        return NULL;
    if (x->ndim != 2) {
        char s[160];
        ag_error_set(AG_ERR_SHAPE, "transpose2d: %s is not 2-D",
                     ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    int64_t shape[2] = {x->shape[1], x->shape[0]};
    ag_tensor *y = ag_op_result(&OP_TRANSPOSE2D, x->dtype, 2, shape, 1, &x, NULL, 0);
    if (!y)
        return NULL;
    size_t r = (size_t)x->shape[0], c = (size_t)x->shape[1];
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++) {
            if (x->dtype == AG_F32)
                ((float *)y->data)[j * r + i] = ((const float *)x->data)[i * c + j];
            else
                ((double *)y->data)[j * r + i] = ((const double *)x->data)[i * c + j];
        }
    return y;
}

ag_tensor *ag_transpose2d(ag_tensor *x)
{
    return transpose2d_forward(&x, NULL);
}

static bool transpose2d_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    (void)y;
    return (gin[0] = ag_transpose2d(g)) != NULL;
}

static void sample_2d(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 2;
    shape[0][0] = 1 + (int64_t)(ag_rng_next(rng) % 4);
    shape[0][1] = 1 + (int64_t)(ag_rng_next(rng) % 4);
}

static ag_op OP_TRANSPOSE2D = {.def = {
        .name = "transpose2d",
        .n_inputs = 1,
        .forward = transpose2d_forward,
        .vjp = transpose2d_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_2d,
        .rule = "dx += g^T",
    }};

void ag_ops_register_matmul(void)
{
    ag_op_register_builtin(&OP_MATMUL);
    ag_op_register_builtin(&OP_AFFINE);
    ag_op_register_builtin(&OP_AFFINE_T);
    ag_op_register_builtin(&OP_AFFINE_T_RELU);
    ag_op_register_builtin(&OP_MATMUL_GENERAL);
    ag_op_register_builtin(&OP_DOT);
    ag_op_register_builtin(&OP_OUTER);
    ag_op_register_builtin(&OP_TRANSPOSE2D);
}

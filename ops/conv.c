/* SPDX-License-Identifier: MIT */
/* conv.c — 2-D convolution (and 1-D on top of it), its transpose and its
 * weight gradient, as PyTorch's F.conv2d, F.conv1d and F.conv_transpose2d.
 *
 * Three primitives share one index relation, named after conv2d:
 *
 *     y[n, o, oh, ow] = Σ w[o, c, i, j] · x[n, gc + c, oh·s0 − p0 + i·d0, ow·s1 − p1 + j·d1]
 *
 * over c < C/groups and the kernel (i, j), with gc the first input channel
 * of o's group and x zero outside its bounds. The relation is bilinear in x
 * and w, so each derivative of it is one of the three ops again:
 *
 *   conv2d(x, w)            = y                      (x, w → y)
 *   conv_transpose2d(y, w)  = ∂⟨y, conv2d(x, w)⟩/∂x  (the adjoint in x)
 *   conv2d_weight(x, y)     = ∂⟨y, conv2d(x, w)⟩/∂w  (the adjoint in w)
 *
 * and the rules are those ops with roles swapped (PyTorch's
 * convolution_backward computes the same products). Each node keeps the
 * spatial size of its result in its params, so that a gradient always has
 * exactly its input's shape: conv2d's input gradient is a transpose whose
 * output padding is whatever makes it x's size, which need not be below the
 * stride when the size is given rather than derived.
 *
 * Kernels: im2col (each kernel tap of each channel becomes a row of
 * output-sized columns) then one GEMM per image and group, through
 * ag_gemm (BLAS when built with it). The input gradient is the GEMM with
 * the weight transposed, then col2im adding the columns back into place;
 * the weight gradient is a GEMM per image accumulating straight into the
 * buffer.
 *
 * Per image or batched? A batched forward (one im2col of all N images into
 * a (K, N·Ho·Wo) buffer, one GEMM per group, then a copy into NCHW order)
 * was timed against the per-image loop: OpenBLAS, f32, forward only,
 * fastest of 30 alternating runs on a loaded 2-core machine:
 *   x (64,1,28,28),  w (6,1,5,5)  (LeNet conv1):  per image 0.35 ms, batched 0.70 ms
 *   x (64,6,12,12),  w (16,6,5,5) (LeNet conv2):  per image 0.53 ms, batched 0.65 ms
 *   x (16,32,32,32), w (64,32,3,3), padding 1:    per image 15 ms,   batched 16 ms
 * The copy and the N-times larger column buffer (out of cache, and fresh
 * tape memory on a first step) cost more than the bigger GEMM saves, so
 * the loop is per image, reusing one image's column buffer. */
#include "ops_internal.h"

#include <stdio.h>
#include <string.h>

/* A node's params: the options, and the spatial size of the result (the
 * output of conv2d and conv_transpose2d, the kernel of conv2d_weight). */
typedef struct conv_params {
    int64_t stride[2], padding[2], dilation[2];
    int64_t groups;
    int64_t size[2];
} conv_params;

/* The sizes of the relation above: x (n, c, h, w), w (o, c/groups, kh, kw),
 * y (n, o, ho, wo). */
typedef struct geom {
    int64_t n, c, h, w;
    int64_t o, kh, kw;
    int64_t ho, wo;
    int64_t groups;
    int64_t s[2], p[2], d[2];
} geom;

ag_conv_opts ag_conv_defaults(void)
{
    return (ag_conv_opts){.stride = {1, 1}, .dilation = {1, 1}, .groups = 1};
}

/* memset for buffers that may be empty (a zero-size tensor's data may be NULL). */
static void zero(void *p, size_t bytes)
{
    if (bytes)
        memset(p, 0, bytes);
}

/* The k in [0, n) for which start + k·step lies in [0, len): [*lo, *hi). */
static void valid_range(int64_t start, int64_t step, int64_t len, int64_t n, int64_t *lo,
                        int64_t *hi)
{
    int64_t a = start >= 0 ? 0 : (-start + step - 1) / step;
    int64_t b = start > len - 1 ? 0 : (len - 1 - start) / step + 1;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
    if (*hi < *lo)
        *hi = *lo;
}

/* col (C/groups · kh · kw, ho · wo) from one image's group of channels x. */
#define IM2COL(name, T)                                                                       \
    static void name(const geom *g, const T *x, T *restrict col, int64_t r0, int64_t r1)      \
    {                                                                                         \
        int64_t hw = g->ho * g->wo;                                                           \
        for (int64_t r = r0; r < r1; r++) {                                                   \
                    int64_t c = r / (g->kh * g->kw), i = r / g->kw % g->kh, j = r % g->kw;    \
                    T *row = col + r * hw;                                                    \
                    int64_t h0 = i * g->d[0] - g->p[0], w0 = j * g->d[1] - g->p[1];           \
                    int64_t olo, ohi, wlo, whi;                                               \
                    valid_range(h0, g->s[0], g->h, g->ho, &olo, &ohi);                        \
                    valid_range(w0, g->s[1], g->w, g->wo, &wlo, &whi);                        \
                    memset(row, 0, (size_t)(olo * g->wo) * sizeof(T));                        \
                    for (int64_t oh = olo; oh < ohi; oh++) {                                  \
                        T *r = row + oh * g->wo;                                              \
                        const T *xr = x + (c * g->h + oh * g->s[0] + h0) * g->w + w0;         \
                        for (int64_t ow = 0; ow < wlo; ow++)                                  \
                            r[ow] = 0;                                                        \
                        if (g->s[1] == 1)                                                     \
                            memcpy(r + wlo, xr + wlo, (size_t)(whi - wlo) * sizeof(T));       \
                        else                                                                  \
                            for (int64_t ow = wlo; ow < whi; ow++)                            \
                                r[ow] = xr[ow * g->s[1]];                                     \
                        for (int64_t ow = whi; ow < g->wo; ow++)                              \
                            r[ow] = 0;                                                        \
                    }                                                                         \
                    memset(row + ohi * g->wo, 0, (size_t)((g->ho - ohi) * g->wo) * sizeof(T)); \
        }                                                                                     \
    }

/* The adjoint: adds each column entry back into the x position it came from. */
#define COL2IM(name, T)                                                                       \
    static void name(const geom *g, const T *restrict col, T *x, int64_t c0, int64_t c1)      \
    {                                                                                         \
        int64_t hw = g->ho * g->wo;                                                           \
        for (int64_t c = c0; c < c1; c++)                                                     \
            for (int64_t i = 0; i < g->kh; i++)                                               \
                for (int64_t j = 0; j < g->kw; j++) {                                         \
                    const T *row = col + ((c * g->kh + i) * g->kw + j) * hw;                  \
                    int64_t h0 = i * g->d[0] - g->p[0], w0 = j * g->d[1] - g->p[1];           \
                    int64_t olo, ohi, wlo, whi;                                               \
                    valid_range(h0, g->s[0], g->h, g->ho, &olo, &ohi);                        \
                    valid_range(w0, g->s[1], g->w, g->wo, &wlo, &whi);                        \
                    for (int64_t oh = olo; oh < ohi; oh++) {                                  \
                        const T *r = row + oh * g->wo;                                        \
                        T *xr = x + (c * g->h + oh * g->s[0] + h0) * g->w + w0;               \
                        for (int64_t ow = wlo; ow < whi; ow++)                                \
                            xr[ow * g->s[1]] += r[ow];                                        \
                    }                                                                         \
                }                                                                             \
    }

IM2COL(im2col_f32, float)
IM2COL(im2col_f64, double)
COL2IM(col2im_f32, float)
COL2IM(col2im_f64, double)

/* One image's im2col or col2im, split over the threads once the columns
 * are big enough (AG_GRAIN elements: the work is a copy). im2col's
 * rows are independent; col2im's taps of one channel add into the same x
 * elements, so it splits by channel, each channel's taps in the serial
 * order: the bits do not depend on the thread count. Per image, because
 * the GEMM between the two must run outside a parallel region (BLAS has
 * its own threads), so LeNet's small images stay on one thread. */
typedef struct col_job {
    ag_dtype dt;
    const geom *g;
    const void *src;
    void *dst;
} col_job;

static void im2col_chunk(size_t lo, size_t hi, void *ctx)
{
    const col_job *j = ctx;
    if (j->dt == AG_F32)
        im2col_f32(j->g, j->src, j->dst, (int64_t)lo, (int64_t)hi);
    else
        im2col_f64(j->g, j->src, j->dst, (int64_t)lo, (int64_t)hi);
}

static void col2im_chunk(size_t lo, size_t hi, void *ctx)
{
    const col_job *j = ctx;
    if (j->dt == AG_F32)
        col2im_f32(j->g, j->src, j->dst, (int64_t)lo, (int64_t)hi);
    else
        col2im_f64(j->g, j->src, j->dst, (int64_t)lo, (int64_t)hi);
}

static void im2col(ag_dtype dt, const geom *g, const void *x, void *col)
{
    size_t rows = (size_t)(g->c / g->groups * g->kh * g->kw), hw = (size_t)(g->ho * g->wo);
    col_job j = {dt, g, x, col};
    if (rows * hw >= 2 * AG_GRAIN)
        ag_parallel_for(rows, (AG_GRAIN + hw - 1) / hw, im2col_chunk, &j);
    else
        im2col_chunk(0, rows, &j);
}

static void col2im(ag_dtype dt, const geom *g, const void *col, void *x)
{
    size_t cg = (size_t)(g->c / g->groups);
    size_t per = (size_t)(g->kh * g->kw * g->ho * g->wo);
    col_job j = {dt, g, col, x};
    if (cg * per >= 2 * AG_GRAIN && per)
        ag_parallel_for(cg, (AG_GRAIN + per - 1) / per, col2im_chunk, &j);
    else
        col2im_chunk(0, cg, &j);
}

/* Scratch for one image's columns, from the tape (reused after a reset). */
static void *col_buffer(ag_dtype dt, const geom *g)
{
    size_t rows = (size_t)(g->c / g->groups * g->kh * g->kw), cols = (size_t)(g->ho * g->wo);
    size_t bytes = rows * cols * ag_dtype_size(dt);
    void *col = ag_tape_alloc(bytes ? bytes : 1);
    if (!col)
        ag_error_set(AG_ERR_NOMEM, "conv2d: no memory for a %zu×%zu column buffer", rows, cols);
    return col;
}

/* The offsets (in elements) of group q of image i in x, w and y. */
static size_t x_at(const geom *g, int64_t i, int64_t q)
{
    return (size_t)((i * g->c + q * (g->c / g->groups)) * g->h * g->w);
}
static size_t w_at(const geom *g, int64_t q)
{
    return (size_t)(q * (g->o / g->groups) * (g->c / g->groups) * g->kh * g->kw);
}
static size_t y_at(const geom *g, int64_t i, int64_t q)
{
    return (size_t)((i * g->o + q * (g->o / g->groups)) * g->ho * g->wo);
}

/* y (+)= conv2d(x, w): per image and group, y_q (o/G, ho·wo) = w_q (o/G, K) · col (K, ho·wo). */
static bool conv_fwd(ag_dtype dt, const geom *g, const void *x, const void *w, void *y, bool acc)
{
    size_t es = ag_dtype_size(dt), og = (size_t)(g->o / g->groups);
    size_t k = (size_t)(g->c / g->groups * g->kh * g->kw), hw = (size_t)(g->ho * g->wo);
    if (g->n == 0 || og == 0 || hw == 0 || k == 0) {
        if (!acc)
            zero(y, (size_t)(g->n * g->o) * hw * es);
        return true;
    }
    void *col = col_buffer(dt, g);
    if (!col)
        return false;
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t q = 0; q < g->groups; q++) {
            im2col(dt, g, (const char *)x + x_at(g, i, q) * es, col);
            if (!ag_gemm(dt, og, hw, k, (const char *)w + w_at(g, q) * es, false, col, false,
                         (char *)y + y_at(g, i, q) * es, acc))
                return false;
        }
    return true;
}

/* dx (+)= the adjoint of conv2d in x applied to gy: col = w_qᵀ gy_q, then col2im. */
static bool conv_bwd_input(ag_dtype dt, const geom *g, const void *gy, const void *w, void *dx,
                           bool acc)
{
    size_t es = ag_dtype_size(dt), og = (size_t)(g->o / g->groups);
    size_t k = (size_t)(g->c / g->groups * g->kh * g->kw), hw = (size_t)(g->ho * g->wo);
    if (!acc)
        zero(dx, (size_t)(g->n * g->c * g->h * g->w) * es);
    if (g->n == 0 || k == 0 || hw == 0)
        return true;
    void *col = col_buffer(dt, g);
    if (!col)
        return false;
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t q = 0; q < g->groups; q++) {
            if (!ag_gemm(dt, k, hw, og, (const char *)w + w_at(g, q) * es, true,
                         (const char *)gy + y_at(g, i, q) * es, false, col, false))
                return false;
            col2im(dt, g, col, (char *)dx + x_at(g, i, q) * es);
        }
    return true;
}

/* dw (+)= the adjoint of conv2d in w applied to gy: Σ over images of gy_q colᵀ. */
static bool conv_bwd_weight(ag_dtype dt, const geom *g, const void *x, const void *gy, void *dw,
                            bool acc)
{
    size_t es = ag_dtype_size(dt), og = (size_t)(g->o / g->groups);
    size_t k = (size_t)(g->c / g->groups * g->kh * g->kw), hw = (size_t)(g->ho * g->wo);
    if (!acc)
        zero(dw, (size_t)g->o * k * es);
    if (g->n == 0 || k == 0 || og == 0)
        return true;
    void *col = col_buffer(dt, g);
    if (!col)
        return false;
    for (int64_t i = 0; i < g->n; i++)
        for (int64_t q = 0; q < g->groups; q++) {
            im2col(dt, g, (const char *)x + x_at(g, i, q) * es, col);
            if (!ag_gemm(dt, og, k, hw, (const char *)gy + y_at(g, i, q) * es, false, col, true,
                         (char *)dw + w_at(g, q) * es, true))
                return false;
        }
    return true;
}

/* ---- the primitives' geometry, from their two inputs and params ---- */

enum role { ROLE_CONV, ROLE_TRANSPOSE, ROLE_WEIGHT };

static const char *const role_name[] = {"conv2d", "conv_transpose2d", "conv2d_weight"};

/* Fills g from the inputs of a node of the given role (conv2d: x and w;
 * conv_transpose2d: y-shaped input and w; conv2d_weight: x and y-shaped
 * gradient) and its params. The public builders have checked their
 * arguments with friendlier messages; this guards ag_op_apply's params. */
static bool geom_of(enum role role, ag_tensor *a, ag_tensor *b, const conv_params *p, geom *g)
{
    const char *name = role_name[role];
    char sa[160], sb[160];
    if (!p) {
        ag_error_set(AG_ERR_NULL, "%s: params are NULL", name);
        return false;
    }
    if (a->ndim != 4 || b->ndim != 4) {
        ag_error_set(AG_ERR_SHAPE, "%s: inputs %s and %s must both be 4-D", name,
                     ag_format_shape(a->ndim, a->shape, sa, sizeof sa),
                     ag_format_shape(b->ndim, b->shape, sb, sizeof sb));
        return false;
    }
    for (int d = 0; d < 2; d++)
        if (p->stride[d] < 1 || p->padding[d] < 0 || p->dilation[d] < 1 || p->size[d] < 0 ||
            p->stride[d] > INT32_MAX || p->padding[d] > INT32_MAX ||
            p->dilation[d] > INT32_MAX || p->size[d] > INT32_MAX) {
            ag_error_set(AG_ERR_VALUE,
                         "%s: stride %lld, padding %lld, dilation %lld, size %lld in dimension %d "
                         "(need stride and dilation >= 1, padding and size >= 0, all below 2^31)",
                         name, (long long)p->stride[d], (long long)p->padding[d],
                         (long long)p->dilation[d], (long long)p->size[d], d);
            return false;
        }
    if (p->groups < 1 || p->groups > INT32_MAX) {
        ag_error_set(AG_ERR_VALUE, "%s: groups %lld (need 1 to 2^31 - 1)", name,
                     (long long)p->groups);
        return false;
    }
    *g = (geom){.groups = p->groups,
                .s = {p->stride[0], p->stride[1]},
                .p = {p->padding[0], p->padding[1]},
                .d = {p->dilation[0], p->dilation[1]}};
    switch (role) {
    case ROLE_CONV:
        g->n = a->shape[0], g->c = a->shape[1], g->h = a->shape[2], g->w = a->shape[3];
        g->o = b->shape[0], g->kh = b->shape[2], g->kw = b->shape[3];
        g->ho = p->size[0], g->wo = p->size[1];
        break;
    case ROLE_TRANSPOSE:
        g->n = a->shape[0], g->o = a->shape[1], g->ho = a->shape[2], g->wo = a->shape[3];
        g->c = b->shape[1] * p->groups, g->kh = b->shape[2], g->kw = b->shape[3];
        g->h = p->size[0], g->w = p->size[1];
        break;
    case ROLE_WEIGHT:
        g->n = a->shape[0], g->c = a->shape[1], g->h = a->shape[2], g->w = a->shape[3];
        g->o = b->shape[1], g->ho = b->shape[2], g->wo = b->shape[3];
        g->kh = p->size[0], g->kw = p->size[1];
        break;
    }
    bool fits = g->c % p->groups == 0 && g->o % p->groups == 0;
    if (fits && role == ROLE_CONV)
        fits = b->shape[1] * p->groups == g->c;
    if (fits && role == ROLE_TRANSPOSE)
        fits = b->shape[0] == g->o;
    if (fits && role == ROLE_WEIGHT)
        fits = a->shape[0] == b->shape[0];
    if (!fits) {
        ag_error_set(AG_ERR_SHAPE, "%s: inputs %s and %s do not fit groups %lld", name,
                     ag_format_shape(a->ndim, a->shape, sa, sizeof sa),
                     ag_format_shape(b->ndim, b->shape, sb, sizeof sb), (long long)p->groups);
        return false;
    }
    /* The GEMM's dimensions are ints for BLAS. */
    if ((double)(g->c / g->groups) * (double)g->kh * (double)g->kw > INT32_MAX ||
        (double)g->ho * (double)g->wo > INT32_MAX || g->o > INT32_MAX) {
        ag_error_set(AG_ERR_SHAPE, "%s: dimensions over 2^31 are not supported", name);
        return false;
    }
    return true;
}

/* ---- the three primitives ---- */

static ag_op OP_CONV2D, OP_CONV_TRANSPOSE2D, OP_CONV2D_WEIGHT;

static ag_tensor *conv2d_forward(ag_tensor *const *in, const void *params)
{
    geom g;
    if (!ag_check_inputs("conv2d", 2, in) || !geom_of(ROLE_CONV, in[0], in[1], params, &g))
        return NULL;
    int64_t shape[4] = {g.n, g.o, g.ho, g.wo};
    ag_tensor *y = ag_op_result(&OP_CONV2D, in[0]->dtype, 4, shape, 2, in, params,
                                sizeof(conv_params));
    if (!y || !conv_fwd(y->dtype, &g, in[0]->data, in[1]->data, y->data, false))
        return NULL;
    return y;
}

static ag_tensor *conv_transpose2d_forward(ag_tensor *const *in, const void *params)
{
    geom g;
    if (!ag_check_inputs("conv_transpose2d", 2, in) ||
        !geom_of(ROLE_TRANSPOSE, in[0], in[1], params, &g))
        return NULL;
    int64_t shape[4] = {g.n, g.c, g.h, g.w};
    ag_tensor *y = ag_op_result(&OP_CONV_TRANSPOSE2D, in[0]->dtype, 4, shape, 2, in, params,
                                sizeof(conv_params));
    if (!y || !conv_bwd_input(y->dtype, &g, in[0]->data, in[1]->data, y->data, false))
        return NULL;
    return y;
}

static ag_tensor *conv2d_weight_forward(ag_tensor *const *in, const void *params)
{
    geom g;
    if (!ag_check_inputs("conv2d_weight", 2, in) ||
        !geom_of(ROLE_WEIGHT, in[0], in[1], params, &g))
        return NULL;
    int64_t shape[4] = {g.o, g.c / g.groups, g.kh, g.kw};
    ag_tensor *y = ag_op_result(&OP_CONV2D_WEIGHT, in[0]->dtype, 4, shape, 2, in, params,
                                sizeof(conv_params));
    if (!y || !conv_bwd_weight(y->dtype, &g, in[0]->data, in[1]->data, y->data, false))
        return NULL;
    return y;
}

/* The primitive of `role` on a and b with p's options and a result of
 * spatial size (h, w). */
static ag_tensor *sized(enum role role, ag_tensor *a, ag_tensor *b, const conv_params *p,
                        const int64_t *hw)
{
    conv_params q = *p;
    q.size[0] = hw[0], q.size[1] = hw[1];
    ag_tensor *in[2] = {a, b};
    switch (role) {
    case ROLE_CONV: return conv2d_forward(in, &q);
    case ROLE_TRANSPOSE: return conv_transpose2d_forward(in, &q);
    case ROLE_WEIGHT: break;
    }
    return conv2d_weight_forward(in, &q);
}

/* y = conv2d(x, w);  dx += conv_transpose2d(g, w) to x's size, dw += conv2d_weight(x, g) */
static bool conv2d_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *w = y->inputs[1];
    if (x->requires_grad && !(gin[0] = sized(ROLE_TRANSPOSE, g, w, y->params, x->shape + 2)))
        return false;
    if (w->requires_grad && !(gin[1] = sized(ROLE_WEIGHT, x, g, y->params, w->shape + 2)))
        return false;
    return true;
}

/* y = conv_transpose2d(x, w);  dx += conv2d(g, w) to x's size, dw += conv2d_weight(g, x) */
static bool conv_transpose2d_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *w = y->inputs[1];
    if (x->requires_grad && !(gin[0] = sized(ROLE_CONV, g, w, y->params, x->shape + 2)))
        return false;
    if (w->requires_grad && !(gin[1] = sized(ROLE_WEIGHT, g, x, y->params, w->shape + 2)))
        return false;
    return true;
}

/* y = conv2d_weight(x, gy) (= ∂⟨gy, conv2d(x, w)⟩/∂w), so ⟨G, y⟩ = ⟨gy, conv2d(x, G)⟩:
 * dx += conv_transpose2d(gy, G) to x's size, dgy += conv2d(x, G) to gy's size */
static bool conv2d_weight_vjp(ag_tensor *y, ag_tensor *G, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *gy = y->inputs[1];
    if (x->requires_grad && !(gin[0] = sized(ROLE_TRANSPOSE, gy, G, y->params, x->shape + 2)))
        return false;
    if (gy->requires_grad && !(gin[1] = sized(ROLE_CONV, x, G, y->params, gy->shape + 2)))
        return false;
    return true;
}

/* conv2d's rule straight into the buffers: col2im for dx, a GEMM per
 * image accumulating into dw. */
static bool conv2d_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    ag_tensor *x = y->inputs[0], *w = y->inputs[1];
    geom ge;
    if (!geom_of(ROLE_CONV, x, w, y->params, &ge))
        return false;
    void *d;
    if (dst[0].x && (!(d = ag_grad_dst_data(&dst[0])) ||
                     !conv_bwd_input(y->dtype, &ge, g->data, w->data, d, dst[0].accumulate)))
        return false;
    if (dst[1].x && (!(d = ag_grad_dst_data(&dst[1])) ||
                     !conv_bwd_weight(y->dtype, &ge, x->data, g->data, d, dst[1].accumulate)))
        return false;
    return true;
}

/* conv_transpose2d's rule into the buffers: dx is conv2d's forward of g,
 * dw conv2d's weight gradient with g as the input. */
static bool conv_transpose2d_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    ag_tensor *x = y->inputs[0], *w = y->inputs[1];
    geom ge;
    if (!geom_of(ROLE_TRANSPOSE, x, w, y->params, &ge))
        return false;
    void *d;
    if (dst[0].x && (!(d = ag_grad_dst_data(&dst[0])) ||
                     !conv_fwd(y->dtype, &ge, g->data, w->data, d, dst[0].accumulate)))
        return false;
    if (dst[1].x && (!(d = ag_grad_dst_data(&dst[1])) ||
                     !conv_bwd_weight(y->dtype, &ge, g->data, x->data, d, dst[1].accumulate)))
        return false;
    return true;
}

/* ---- the public builders ---- */

static const char *const dim_name[2][2] = {{"L", ""}, {"H", "W"}};

/* Checks the arguments of conv1d (nsp 1), conv2d or conv_transpose2d
 * (nsp 2) and fills the result's spatial size out[nsp]. */
static bool check_args(const char *name, int nsp, bool transposed, ag_tensor *x, ag_tensor *w,
                       ag_tensor *bias, const ag_conv_opts *o, int64_t *out)
{
    ag_tensor *in[3] = {x, w, bias};
    if (!ag_check_inputs(name, bias ? 3 : 2, in))
        return false;
    char sx[160], sw[160], sb[160];
    ag_format_shape(x->ndim, x->shape, sx, sizeof sx);
    ag_format_shape(w->ndim, w->shape, sw, sizeof sw);
    const char *layout = nsp == 1 ? "(N, C, L)" : "(N, C, H, W)";
    const char *wlayout = nsp == 1 ? (transposed ? "(Cin, Cout/groups, k)" : "(Cout, Cin/groups, k)")
                                   : (transposed ? "(Cin, Cout/groups, kH, kW)"
                                                 : "(Cout, Cin/groups, kH, kW)");
    if (x->ndim != nsp + 2 || w->ndim != nsp + 2) {
        ag_error_set(AG_ERR_SHAPE, "%s: x %s and weight %s: expected x %s and weight %s", name, sx,
                     sw, layout, wlayout);
        return false;
    }
    for (int d = 0; d < nsp; d++)
        if (o->stride[d] < 1 || o->padding[d] < 0 || o->dilation[d] < 1 ||
            (transposed && o->output_padding[d] < 0) || o->stride[d] > INT32_MAX ||
            o->padding[d] > INT32_MAX || o->dilation[d] > INT32_MAX ||
            (transposed && o->output_padding[d] > INT32_MAX)) {
            char extra[64] = "";
            if (transposed)
                snprintf(extra, sizeof extra, ", output_padding %lld",
                         (long long)o->output_padding[d]);
            ag_error_set(AG_ERR_VALUE,
                         "%s: stride %lld, padding %lld, dilation %lld%s in %s: stride and "
                         "dilation must be positive, padding%s non-negative (all below 2^31)",
                         name, (long long)o->stride[d], (long long)o->padding[d],
                         (long long)o->dilation[d], extra, dim_name[nsp - 1][d],
                         transposed ? " and output_padding" : "");
            return false;
        }
    int64_t groups = o->groups;
    /* conv: x's channels are weight's dim 1 times groups, weight's dim 0 the
     * output channels; transposed: x's channels are weight's dim 0. */
    int64_t split = w->shape[0]; /* the channels groups divide */
    const char *which = transposed ? "input" : "output";
    if (groups < 1 || groups > INT32_MAX || split % groups != 0) {
        ag_error_set(AG_ERR_VALUE, "%s: groups %lld does not divide the %lld %s channels of weight %s",
                     name, (long long)groups, (long long)split, which, sw);
        return false;
    }
    int64_t want = transposed ? w->shape[0] : w->shape[1] * groups;
    if (x->shape[1] != want) {
        bool nhwc = x->shape[x->ndim - 1] == want;
        char exp[64];
        snprintf(exp, sizeof exp, nsp == 1 ? "(N, %lld, L)" : "(N, %lld, H, W)", (long long)want);
        ag_error_set(AG_ERR_SHAPE,
                     "%s: x %s does not fit weight %s with groups %lld: expected %s%s", name, sx,
                     sw, (long long)groups, exp,
                     nhwc ? " (this looks like a channels-last batch; the layout is channels "
                            "first, NCHW)"
                          : "");
        return false;
    }
    int64_t cout = transposed ? w->shape[1] * groups : w->shape[0];
    if (bias && (bias->ndim != 1 || bias->shape[0] != cout)) {
        ag_error_set(AG_ERR_SHAPE, "%s: bias %s for weight %s with groups %lld: expected (%lld)",
                     name, ag_format_shape(bias->ndim, bias->shape, sb, sizeof sb), sw,
                     (long long)groups, (long long)cout);
        return false;
    }
    for (int d = 0; d < nsp; d++) {
        int64_t n = x->shape[2 + d], k = w->shape[2 + d];
        int64_t s = o->stride[d], p = o->padding[d], dil = o->dilation[d];
        if (k < 1) {
            ag_error_set(AG_ERR_SHAPE, "%s: weight %s has an empty kernel", name, sw);
            return false;
        }
        int64_t extent = dil * (k - 1) + 1;
        if (!transposed) {
            if (n + 2 * p < extent) {
                ag_error_set(AG_ERR_SHAPE,
                             "%s: x %s is %lld in %s with padding %lld, smaller than the kernel "
                             "of weight %s (extent %lld with dilation %lld)",
                             name, sx, (long long)(n + 2 * p), dim_name[nsp - 1][d], (long long)p,
                             sw, (long long)extent, (long long)dil);
                return false;
            }
            out[d] = (n + 2 * p - extent) / s + 1;
            continue;
        }
        int64_t op = o->output_padding[d];
        if (op >= s && op >= dil) {
            ag_error_set(AG_ERR_VALUE,
                         "%s: output_padding %lld in %s must be smaller than the stride %lld or "
                         "the dilation %lld",
                         name, (long long)op, dim_name[nsp - 1][d], (long long)s, (long long)dil);
            return false;
        }
        out[d] = (n - 1) * s - 2 * p + extent + op;
        if (out[d] < 1) {
            ag_error_set(AG_ERR_SHAPE,
                         "%s: x %s and weight %s with stride %lld, padding %lld give an output "
                         "of size %lld in %s",
                         name, sx, sw, (long long)s, (long long)p, (long long)out[d],
                         dim_name[nsp - 1][d]);
            return false;
        }
    }
    return true;
}

/* y + bias along dimension 1 of y's `ndim` dimensions (a broadcast add,
 * whose rule sums the gradient over the rest). */
static ag_tensor *add_bias(ag_tensor *y, ag_tensor *bias, int ndim)
{
    if (!bias || !y)
        return y;
    int64_t shape[4] = {1, bias->shape[0], 1, 1};
    return ag_add(y, ag_reshape(bias, ndim, shape));
}

static conv_params params_of(const ag_conv_opts *o, const int64_t *size)
{
    return (conv_params){.stride = {o->stride[0], o->stride[1]},
                         .padding = {o->padding[0], o->padding[1]},
                         .dilation = {o->dilation[0], o->dilation[1]},
                         .groups = o->groups,
                         .size = {size[0], size[1]}};
}

ag_tensor *ag_conv2d(ag_tensor *x, ag_tensor *weight, ag_tensor *bias, const ag_conv_opts *opts)
{
    ag_conv_opts o = opts ? *opts : ag_conv_defaults();
    int64_t out[2];
    if (!check_args("conv2d", 2, false, x, weight, bias, &o, out))
        return NULL;
    conv_params p = params_of(&o, out);
    return add_bias(conv2d_forward((ag_tensor *[]){x, weight}, &p), bias, 4);
}

ag_tensor *ag_conv_transpose2d(ag_tensor *x, ag_tensor *weight, ag_tensor *bias,
                               const ag_conv_opts *opts)
{
    ag_conv_opts o = opts ? *opts : ag_conv_defaults();
    int64_t out[2];
    if (!check_args("conv_transpose2d", 2, true, x, weight, bias, &o, out))
        return NULL;
    conv_params p = params_of(&o, out);
    return add_bias(conv_transpose2d_forward((ag_tensor *[]){x, weight}, &p), bias, 4);
}

/* conv2d on (N, C, 1, L) with a (Cout, C/groups, 1, k) kernel, reshaped back. */
ag_tensor *ag_conv1d(ag_tensor *x, ag_tensor *weight, ag_tensor *bias, const ag_conv_opts *opts)
{
    ag_conv_opts o = opts ? *opts : ag_conv_defaults();
    int64_t out[1];
    if (!check_args("conv1d", 1, false, x, weight, bias, &o, out))
        return NULL;
    ag_conv_opts o2 = {.stride = {1, o.stride[0]},
                       .padding = {0, o.padding[0]},
                       .dilation = {1, o.dilation[0]},
                       .groups = o.groups};
    int64_t size[2] = {1, out[0]};
    conv_params p = params_of(&o2, size);
    int64_t xs[4] = {x->shape[0], x->shape[1], 1, x->shape[2]};
    int64_t ws[4] = {weight->shape[0], weight->shape[1], 1, weight->shape[2]};
    int64_t ys[3] = {x->shape[0], weight->shape[0], out[0]};
    ag_tensor *y = conv2d_forward((ag_tensor *[]){ag_reshape(x, 4, xs), ag_reshape(weight, 4, ws)},
                                  &p);
    return add_bias(ag_reshape(y, 3, ys), bias, 3);
}

/* ---- the registry sweep ---- */

static uint64_t draw(ag_rng *rng, uint64_t lo, uint64_t hi)
{
    return lo + ag_rng_next(rng) % (hi - lo + 1);
}

/* The examples' options, per dimension: dim 0 strided, padded and dilated,
 * dim 1 plain, so that the two are not confused. The samples give sizes
 * where they fit (H + 2 >= 2(kH − 1) + 1 and W >= kW). */
static ag_conv_opts example_opts(int64_t groups)
{
    return (ag_conv_opts){.stride = {2, 1},
                          .padding = {1, 0},
                          .dilation = {2, 1},
                          .output_padding = {1, 0},
                          .groups = groups};
}

/* Groups 1 or 2 with 1 or 2 channels per group on either side. */
static void sample_channels(ag_rng *rng, int64_t *groups, int64_t *cg, int64_t *og)
{
    *groups = (int64_t)draw(rng, 1, 2);
    *cg = (int64_t)draw(rng, 1, 2);
    *og = (int64_t)draw(rng, 1, 2);
}

/* x (N, C, H, W) and weight (O, C/groups, kH, kW). */
static void sample_conv2d(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    int64_t gr, cg, og;
    sample_channels(rng, &gr, &cg, &og);
    int64_t kh = (int64_t)draw(rng, 1, 3), kw = (int64_t)draw(rng, 1, 3);
    ndim[0] = ndim[1] = 4;
    int64_t x[4] = {(int64_t)draw(rng, 1, 2), gr * cg, (int64_t)draw(rng, 3, 6),
                    (int64_t)draw(rng, 3, 6)};
    int64_t w[4] = {gr * og, cg, kh, kw};
    memcpy(shape[0], x, sizeof x);
    memcpy(shape[1], w, sizeof w);
}

/* x (N, Cin, H, W) and weight (Cin, Cout/groups, kH, kW); groups is 2 when Cin is even. */
static void sample_conv_transpose2d(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    int64_t cin = (int64_t)draw(rng, 1, 4);
    ndim[0] = ndim[1] = 4;
    int64_t x[4] = {(int64_t)draw(rng, 1, 2), cin, (int64_t)draw(rng, 1, 4),
                    (int64_t)draw(rng, 1, 4)};
    int64_t w[4] = {cin, (int64_t)draw(rng, 1, 2), (int64_t)draw(rng, 1, 3),
                    (int64_t)draw(rng, 1, 3)};
    memcpy(shape[0], x, sizeof x);
    memcpy(shape[1], w, sizeof w);
}

/* x (N, C, H, W) and the gradient of a conv2d of it with a 2×2 kernel under
 * example_opts: (N, O, (H − 1)/2 + 1, W − 1). */
static void sample_conv2d_weight(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    int64_t gr, cg, og;
    sample_channels(rng, &gr, &cg, &og);
    int64_t n = (int64_t)draw(rng, 1, 2), h = (int64_t)draw(rng, 2, 6),
            w = (int64_t)draw(rng, 2, 6);
    ndim[0] = ndim[1] = 4;
    int64_t x[4] = {n, gr * cg, h, w}, g[4] = {n, gr * og, (h - 1) / 2 + 1, w - 1};
    memcpy(shape[0], x, sizeof x);
    memcpy(shape[1], g, sizeof g);
}

/* x (N, C, L), weight (O, C/groups, k), bias (O). */
static void sample_conv1d(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    int64_t gr, cg, og;
    sample_channels(rng, &gr, &cg, &og);
    ndim[0] = ndim[1] = 3;
    ndim[2] = 1;
    int64_t x[3] = {(int64_t)draw(rng, 1, 2), gr * cg, (int64_t)draw(rng, 3, 7)};
    int64_t w[3] = {gr * og, cg, (int64_t)draw(rng, 1, 3)};
    memcpy(shape[0], x, sizeof x);
    memcpy(shape[1], w, sizeof w);
    shape[2][0] = gr * og;
}

/* The groups a weight implies for conv: x's channels over weight's dim 1. */
static int64_t implied_groups(ag_tensor *x, ag_tensor *w)
{
    return x && w && x->ndim >= 2 && w->ndim >= 2 && w->shape[1] > 0 ? x->shape[1] / w->shape[1]
                                                                     : 1;
}

static ag_tensor *conv2d_example(ag_tensor *const *in)
{
    ag_conv_opts o = example_opts(implied_groups(in[0], in[1]));
    return ag_conv2d(in[0], in[1], NULL, &o);
}

static ag_tensor *conv_transpose2d_example(ag_tensor *const *in)
{
    ag_conv_opts o = example_opts(in[0] && in[0]->ndim == 4 && in[0]->shape[1] % 2 == 0 ? 2 : 1);
    return ag_conv_transpose2d(in[0], in[1], NULL, &o);
}

static ag_tensor *conv2d_weight_example(ag_tensor *const *in)
{
    if (!ag_check_inputs("conv2d_weight", 2, in))
        return NULL;
    bool two = in[0]->ndim == 4 && in[1]->ndim == 4 && in[0]->shape[1] % 2 == 0 &&
               in[1]->shape[1] % 2 == 0;
    ag_conv_opts o = example_opts(two ? 2 : 1);
    int64_t k[2] = {2, 2};
    conv_params p = params_of(&o, k);
    return conv2d_weight_forward(in, &p);
}

static ag_tensor *conv1d_example(ag_tensor *const *in)
{
    ag_conv_opts o = example_opts(implied_groups(in[0], in[1]));
    return ag_conv1d(in[0], in[1], in[2], &o);
}

static ag_op OP_CONV2D = {.def = {
        .name = "conv2d",
        .n_inputs = 2,
        .forward = conv2d_forward,
        .example = conv2d_example,
        .vjp = conv2d_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_conv2d,
        .rule = "dx += conv_transpose2d(g, w) (x's size), dw += conv2d_weight(x, g)",
        .kernel = conv2d_kernel,
    }};
static ag_op OP_CONV_TRANSPOSE2D = {.def = {
        .name = "conv_transpose2d",
        .n_inputs = 2,
        .forward = conv_transpose2d_forward,
        .example = conv_transpose2d_example,
        .vjp = conv_transpose2d_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_conv_transpose2d,
        .rule = "dx += conv2d(g, w) (x's size), dw += conv2d_weight(g, x)",
        .kernel = conv_transpose2d_kernel,
    }};
static ag_op OP_CONV2D_WEIGHT = {.def = {
        .name = "conv2d_weight",
        .n_inputs = 2,
        .forward = conv2d_weight_forward,
        .example = conv2d_weight_example,
        .vjp = conv2d_weight_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_conv2d_weight,
        .rule = "dx += conv_transpose2d(gy, G) (x's size), dgy += conv2d(x, G) (gy's size)",
    }};
static ag_op OP_CONV1D = {.def = {
        .name = "conv1d",
        .n_inputs = 3,
        .example = conv1d_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_conv1d,
    }};

void ag_ops_register_conv(void)
{
    ag_op_register_builtin(&OP_CONV2D);
    ag_op_register_builtin(&OP_CONV_TRANSPOSE2D);
    ag_op_register_builtin(&OP_CONV2D_WEIGHT);
    ag_op_register_builtin(&OP_CONV1D);
}

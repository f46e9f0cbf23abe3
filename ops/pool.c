/* SPDX-License-Identifier: MIT */
/* pool.c — 2-D pooling over NCHW batches: max_pool2d, avg_pool2d and
 * adaptive_avg_pool2d, with PyTorch's window arithmetic.
 *
 * Every pool is a set of windows, one per output position: rows [h0, h1)
 * and columns [w0, w1) of the input plane, clipped to it, plus (for the
 * averages) a divisor. The windows are worked out once per call by
 * windows_of(), so each kernel below is a plain loop over them.
 *
 * max_pool2d keeps its argmax positions as an i64 node input, so its rule
 * is a scatter_add of g into those positions — an op, which scatter_add's
 * own rule (a gather) differentiates again. The averages are linear maps
 * A; their rule is Aᵀ, a primitive of its own (avg_pool2d_backward,
 * adaptive_avg_pool2d_backward), whose rule is A once more. Each pool has a
 * first-order kernel writing the same product straight into the gradient
 * buffer. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

typedef struct pool_params {
    int64_t kernel[2], stride[2], padding[2]; /* max_pool2d, avg_pool2d */
    int64_t out[2];                           /* adaptive_avg_pool2d: the output's H, W */
    int64_t in[2];                            /* the backward ops: the pooled input's H, W */
    bool count_include_pad;                   /* avg_pool2d */
    bool adaptive;                            /* the windows are adaptive bins */
} pool_params;

static ag_op OP_MAX_POOL, OP_AVG_POOL, OP_AVG_POOL_BACKWARD, OP_ADAPTIVE, OP_ADAPTIVE_BACKWARD;

/* Output positions and their windows along H and W, and the divisor of
 * each output element (averages only). Tape memory. */
typedef struct windows {
    int64_t oh, ow;
    int64_t *h0, *h1, *w0, *w1; /* [oh] and [ow] */
    double *div;                /* [oh * ow], or NULL for max */
} windows;

/* Output size along one axis for a kernel sliding with stride over a
 * padded input, PyTorch's floor mode. */
static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p)
{
    return (in + 2 * p - k) / s + 1;
}

static bool windows_of(const pool_params *p, int64_t H, int64_t W, int64_t oh, int64_t ow,
                       bool averages, windows *win)
{
    win->oh = oh;
    win->ow = ow;
    int64_t *b = ag_tape_alloc((size_t)(2 * (oh + ow) + 1) * sizeof *b);
    win->div = averages ? ag_tape_alloc((size_t)(oh * ow + 1) * sizeof *win->div) : NULL;
    if (!b || (averages && !win->div))
        return false;
    win->h0 = b;
    win->h1 = b + oh;
    win->w0 = b + 2 * oh;
    win->w1 = b + 2 * oh + ow;
    int64_t size[2] = {H, W}, n[2] = {oh, ow}, *lo[2] = {win->h0, win->w0},
            *hi[2] = {win->h1, win->w1};
    int64_t *full[2];
    int64_t *fb = ag_tape_alloc((size_t)(oh + ow + 1) * sizeof *fb);
    if (!fb)
        return false;
    full[0] = fb;
    full[1] = fb + oh;
    for (int a = 0; a < 2; a++)
        for (int64_t o = 0; o < n[a]; o++) {
            if (p->adaptive) {
                /* PyTorch's bins: floor(o·in/out) to ceil((o+1)·in/out). */
                lo[a][o] = o * size[a] / n[a];
                hi[a][o] = ((o + 1) * size[a] + n[a] - 1) / n[a];
                full[a][o] = hi[a][o] - lo[a][o];
                continue;
            }
            int64_t start = o * p->stride[a] - p->padding[a];
            int64_t end = start + p->kernel[a];
            if (end > size[a] + p->padding[a])
                end = size[a] + p->padding[a];
            full[a][o] = end - start; /* the window within the padded input */
            lo[a][o] = start < 0 ? 0 : start;
            hi[a][o] = end > size[a] ? size[a] : end;
        }
    if (averages)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                bool padded = !p->adaptive && p->count_include_pad;
                int64_t rows = padded ? full[0][i] : win->h1[i] - win->h0[i];
                int64_t cols = padded ? full[1][j] : win->w1[j] - win->w0[j];
                win->div[i * ow + j] = (double)(rows * cols);
            }
    return true;
}

/* ---- argument checks ---- */

static bool is_nchw(const char *op, const ag_tensor *x)
{
    char s[160];
    if (x->ndim != 4) {
        ag_error_set(AG_ERR_SHAPE, "%s: x has shape %s; expected (N, C, H, W)", op,
                     ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return false;
    }
    if (x->shape[1] == 0 || x->shape[2] == 0 || x->shape[3] == 0) {
        ag_error_set(AG_ERR_SHAPE,
                     "%s: x has shape %s; expected (N, C, H, W) with C, H and W nonzero", op,
                     ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return false;
    }
    return true;
}

/* A window that does not fit is the usual symptom of an NHWC batch (a
 * 28×28 image with C = 1 last): then the message names the NCHW shape. */
static void nhwc_hint(const ag_tensor *x, char *buf, size_t size)
{
    buf[0] = '\0';
    const int64_t *s = x->shape;
    if (s[3] <= 4 && s[1] > s[3] && s[2] > s[3]) {
        char want[160];
        ag_format_shape(4, (int64_t[]){s[0], s[3], s[1], s[2]}, want, sizeof want);
        snprintf(buf, size, " (is x NHWC? the NCHW batch would be %s)", want);
    }
}

/* kernel, stride and padding as PyTorch's max_pool2d and avg_pool2d check
 * them; *oh, *ow the output size. */
static bool sliding_ok(const char *op, const ag_tensor *x, const pool_params *p, int64_t *oh,
                       int64_t *ow)
{
    if (!is_nchw(op, x))
        return false;
    char a[64], b[64], s[160];
    if (p->kernel[0] <= 0 || p->kernel[1] <= 0) {
        ag_error_set(AG_ERR_VALUE, "%s: kernel %s must be positive", op,
                     ag_format_shape(2, p->kernel, a, sizeof a));
        return false;
    }
    if (p->stride[0] <= 0 || p->stride[1] <= 0) {
        ag_error_set(AG_ERR_VALUE, "%s: stride %s must be positive", op,
                     ag_format_shape(2, p->stride, a, sizeof a));
        return false;
    }
    if (p->padding[0] < 0 || p->padding[1] < 0) {
        ag_error_set(AG_ERR_VALUE, "%s: padding %s must not be negative", op,
                     ag_format_shape(2, p->padding, a, sizeof a));
        return false;
    }
    /* Beyond half the kernel a window could lie wholly in the padding. */
    if (p->padding[0] > p->kernel[0] / 2 || p->padding[1] > p->kernel[1] / 2) {
        ag_error_set(AG_ERR_VALUE, "%s: padding %s is more than half the kernel %s", op,
                     ag_format_shape(2, p->padding, a, sizeof a),
                     ag_format_shape(2, p->kernel, b, sizeof b));
        return false;
    }
    int64_t ph = x->shape[2] + 2 * p->padding[0], pw = x->shape[3] + 2 * p->padding[1];
    if (p->kernel[0] > ph || p->kernel[1] > pw) {
        char hint[200], padded[64];
        nhwc_hint(x, hint, sizeof hint);
        ag_error_set(AG_ERR_SHAPE, "%s: kernel %s is larger than the padded input %s of x %s%s",
                     op, ag_format_shape(2, p->kernel, a, sizeof a),
                     ag_format_shape(2, (int64_t[]){ph, pw}, padded, sizeof padded),
                     ag_format_shape(x->ndim, x->shape, s, sizeof s), hint);
        return false;
    }
    *oh = out_size(x->shape[2], p->kernel[0], p->stride[0], p->padding[0]);
    *ow = out_size(x->shape[3], p->kernel[1], p->stride[1], p->padding[1]);
    return true;
}

static bool adaptive_ok(const char *op, const ag_tensor *x, const pool_params *p)
{
    if (!is_nchw(op, x))
        return false;
    if (p->out[0] <= 0 || p->out[1] <= 0) {
        char a[64];
        ag_error_set(AG_ERR_VALUE, "%s: output size %s must be positive", op,
                     ag_format_shape(2, p->out, a, sizeof a));
        return false;
    }
    return true;
}

/* Fills a pool_params from the public arguments: stride NULL is the
 * kernel, padding NULL is 0. */
static bool sliding_params(const char *op, const int64_t *kernel, const int64_t *stride,
                           const int64_t *padding, pool_params *p)
{
    memset(p, 0, sizeof *p);
    if (!kernel) {
        ag_error_set(AG_ERR_NULL, "%s: kernel is NULL", op);
        return false;
    }
    for (int a = 0; a < 2; a++) {
        p->kernel[a] = kernel[a];
        p->stride[a] = stride ? stride[a] : kernel[a];
        p->padding[a] = padding ? padding[a] : 0;
    }
    return true;
}

/* ---- splitting the planes over the threads ----
 * Every kernel here works plane by plane (one image's channel), and
 * planes share nothing: a chunk is a range of planes, and each output
 * element is computed as on one thread. Planes are split once a chunk
 * gets AG_GRAIN elements of the input plane (the window reads). */
enum pool_kind { MAX_FWD, MAX_BWD, AVG_FWD, AVG_BWD };
typedef struct pool_job {
    enum pool_kind kind;
    windows win;
    const ag_tensor *x, *g;
    ag_tensor *y;
    void *d;
    int64_t *I;
    int64_t H, W;
    bool acc;
} pool_job;

static void pool_chunk(size_t lo, size_t hi, void *ctx);

static void run_planes(pool_job *j, int64_t planes)
{
    size_t per = (size_t)(j->H * j->W);
    if ((size_t)planes * per >= 2 * AG_GRAIN && per)
        ag_parallel_for((size_t)planes, (AG_GRAIN + per - 1) / per, pool_chunk, j);
    else
        pool_chunk(0, (size_t)planes, j);
}

/* ---- max_pool2d ---- */

/* The first largest element of each window (PyTorch's order: a NaN always
 * wins, so it is never hidden); I[o] its position h·W + w in its plane. */
#define MAX_FORWARD(T)                                                                        \
    {                                                                                         \
        const T *restrict X = x->data;                                                        \
        T *restrict Y = y->data;                                                              \
        for (int64_t pl = p0; pl < p1; pl++) {                                             \
            const T *xp = X + pl * H * W;                                                     \
            for (int64_t i = 0; i < win.oh; i++)                                              \
                for (int64_t j = 0; j < win.ow; j++) {                                        \
                    int64_t best = win.h0[i] * W + win.w0[j];                                 \
                    T bv = xp[best];                                                          \
                    for (int64_t h = win.h0[i]; h < win.h1[i]; h++)                           \
                        for (int64_t w = win.w0[j]; w < win.w1[j]; w++) {                     \
                            T v = xp[h * W + w];                                              \
                            if (v > bv || isnan(v)) {                                         \
                                bv = v;                                                       \
                                best = h * W + w;                                             \
                            }                                                                 \
                        }                                                                     \
                    int64_t o = pl * win.oh * win.ow + i * win.ow + j;                        \
                    Y[o] = bv;                                                                \
                    I[o] = best;                                                              \
                }                                                                             \
        }                                                                                     \
    }

/* The argmax positions are the node's second input (a new i64 tensor of
 * shape (N, C, oH·oW)); a re-run node's old one, in[1], is recomputed. */
static ag_tensor *max_pool_forward(ag_tensor *const *in, const void *params)
{
    const pool_params *p = params;
    ag_tensor *x = in[0];
    int64_t oh, ow;
    if (!ag_check_inputs("max_pool2d", 1, &x) || !sliding_ok("max_pool2d", x, p, &oh, &ow))
        return NULL;
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t planes = N * C;
    windows win;
    if (!windows_of(p, H, W, oh, ow, false, &win))
        return NULL;
    ag_tensor *idx = ag_tape_tensor(AG_I64, 3, (int64_t[]){N, C, oh * ow});
    if (!idx)
        return NULL;
    ag_tensor *y = ag_op_result(&OP_MAX_POOL, x->dtype, 4, (int64_t[]){N, C, oh, ow}, 2,
                                (ag_tensor *[]){x, idx}, p, sizeof *p);
    if (!y)
        return NULL;
    pool_job j = {.kind = MAX_FWD, .win = win, .x = x, .y = y, .I = idx->data, .H = H, .W = W};
    run_planes(&j, planes);
    return y;
}

ag_tensor *ag_max_pool2d(ag_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2])
{
    pool_params p;
    if (!sliding_params("max_pool2d", kernel, stride, padding, &p))
        return NULL;
    return max_pool_forward((ag_tensor *[]){x, NULL}, &p);
}

/* dx += scatter_add of g into the argmax positions, plane by plane. */
static bool max_pool_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    ag_tensor *x = y->inputs[0], *idx = y->inputs[1];
    int64_t N = x->shape[0], C = x->shape[1];
    int64_t gs[3] = {N, C, y->shape[2] * y->shape[3]}, xs[3] = {N, C, x->shape[2] * x->shape[3]};
    gin[0] = ag_reshape(ag_scatter_add(ag_reshape(g, 3, gs), 2, idx, 3, xs), 4, x->shape);
    return gin[0] != NULL;
}

#define MAX_GRAD(T)                                                                           \
    {                                                                                         \
        const T *restrict G = g->data;                                                        \
        T *restrict D = d;                                                                    \
        if (!acc)                                                                             \
            memset(D + p0 * plane, 0, (size_t)((p1 - p0) * plane) * sizeof(T));               \
        for (int64_t pl = p0; pl < p1; pl++)                                               \
            for (int64_t o = 0; o < per_plane; o++)                                           \
                D[pl * plane + I[pl * per_plane + o]] += G[pl * per_plane + o];               \
    }

static bool max_pool_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    ag_tensor *x = y->inputs[0];
    void *d = ag_grad_dst_data(dst);
    if (!d)
        return false;
    pool_job j = {.kind = MAX_BWD, .x = x, .y = y, .g = g, .d = d, .I = y->inputs[1]->data,
                  .H = x->shape[2], .W = x->shape[3], .acc = dst->accumulate};
    run_planes(&j, x->shape[0] * x->shape[1]);
    return true;
}

/* ---- the averages and their adjoints ---- */

/* y[o] = Σ_window x / div[o], summed in double. */
#define AVG_FORWARD(T)                                                                        \
    {                                                                                         \
        const T *restrict X = x->data;                                                        \
        T *restrict Y = y->data;                                                              \
        for (int64_t pl = p0; pl < p1; pl++) {                                             \
            const T *xp = X + pl * H * W;                                                     \
            T *yp = Y + pl * win.oh * win.ow;                                                 \
            for (int64_t i = 0; i < win.oh; i++)                                              \
                for (int64_t j = 0; j < win.ow; j++) {                                        \
                    double s = 0;                                                             \
                    for (int64_t h = win.h0[i]; h < win.h1[i]; h++)                           \
                        for (int64_t w = win.w0[j]; w < win.w1[j]; w++)                       \
                            s += xp[h * W + w];                                               \
                    yp[i * win.ow + j] = (T)(s / win.div[i * win.ow + j]);                    \
                }                                                                             \
        }                                                                                     \
    }

/* d[window of o] += g[o] / div[o]: Aᵀg, into d zeroed or holding a
 * gradient to add to. The rule's op and the kernel both run this. */
#define AVG_SCATTER(T)                                                                        \
    {                                                                                         \
        const T *restrict G = g->data;                                                        \
        T *restrict D = d;                                                                    \
        for (int64_t pl = p0; pl < p1; pl++) {                                             \
            T *dp = D + pl * H * W;                                                           \
            const T *gp = G + pl * win->oh * win->ow;                                         \
            for (int64_t i = 0; i < win->oh; i++)                                             \
                for (int64_t j = 0; j < win->ow; j++) {                                       \
                    T v = gp[i * win->ow + j] / (T)win->div[i * win->ow + j];                 \
                    for (int64_t h = win->h0[i]; h < win->h1[i]; h++)                         \
                        for (int64_t w = win->w0[j]; w < win->w1[j]; w++)                     \
                            dp[h * W + w] += v;                                               \
                }                                                                             \
        }                                                                                     \
    }

static void avg_scatter(const windows *win, ag_tensor *g, int64_t planes, int64_t H, int64_t W,
                        void *d)
{
    pool_job j = {.kind = AVG_BWD, .win = *win, .g = g, .d = d, .H = H, .W = W};
    run_planes(&j, planes);
}

static void pool_chunk(size_t lo, size_t hi, void *ctx)
{
    const pool_job *j = ctx;
    int64_t p0 = (int64_t)lo, p1 = (int64_t)hi, H = j->H, W = j->W;
    const ag_tensor *x = j->x, *g = j->g;
    ag_tensor *y = j->y;
    void *d = j->d;
    bool acc = j->acc;
    switch (j->kind) {
    case MAX_FWD: {
        windows win = j->win;
        int64_t *I = j->I;
        if (x->dtype == AG_F32)
            MAX_FORWARD(float)
        else
            MAX_FORWARD(double)
        break;
    }
    case MAX_BWD: {
        const int64_t *I = j->I;
        int64_t plane = H * W, per_plane = y->shape[2] * y->shape[3];
        if (x->dtype == AG_F32)
            MAX_GRAD(float)
        else
            MAX_GRAD(double)
        break;
    }
    case AVG_FWD: {
        windows win = j->win;
        if (x->dtype == AG_F32)
            AVG_FORWARD(float)
        else
            AVG_FORWARD(double)
        break;
    }
    case AVG_BWD: {
        const windows *win = &j->win;
        if (g->dtype == AG_F32)
            AVG_SCATTER(float)
        else
            AVG_SCATTER(double)
        break;
    }
    }
    (void)x, (void)g, (void)y, (void)d, (void)acc;
}

/* avg_pool2d and adaptive_avg_pool2d: p->adaptive tells which. */
static ag_tensor *avg_forward(ag_tensor *const *in, const void *params)
{
    const pool_params *p = params;
    const char *op = p->adaptive ? "adaptive_avg_pool2d" : "avg_pool2d";
    ag_tensor *x = in[0];
    int64_t oh, ow;
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    if (p->adaptive) {
        if (!adaptive_ok(op, x, p))
            return NULL;
        oh = p->out[0];
        ow = p->out[1];
    } else if (!sliding_ok(op, x, p, &oh, &ow)) {
        return NULL;
    }
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t planes = N * C;
    windows win;
    if (!windows_of(p, H, W, oh, ow, true, &win))
        return NULL;
    ag_tensor *y = ag_op_result(p->adaptive ? &OP_ADAPTIVE : &OP_AVG_POOL, x->dtype, 4,
                                (int64_t[]){N, C, oh, ow}, 1, &x, p, sizeof *p);
    if (!y)
        return NULL;
    pool_job j = {.kind = AVG_FWD, .win = win, .x = x, .y = y, .H = H, .W = W};
    run_planes(&j, planes);
    return y;
}

ag_tensor *ag_avg_pool2d(ag_tensor *x, const int64_t kernel[2], const int64_t stride[2],
                         const int64_t padding[2], bool count_include_pad)
{
    pool_params p;
    if (!sliding_params("avg_pool2d", kernel, stride, padding, &p))
        return NULL;
    p.count_include_pad = count_include_pad;
    return avg_forward(&x, &p);
}

ag_tensor *ag_adaptive_avg_pool2d(ag_tensor *x, int64_t out_h, int64_t out_w)
{
    pool_params p = {.out = {out_h, out_w}, .adaptive = true};
    return avg_forward(&x, &p);
}

/* dx = Aᵀg for the pool A that p describes, of shape (N, C, in[0], in[1]):
 * a primitive, linear in g, whose rule is A again. */
static ag_tensor *avg_backward_forward(ag_tensor *const *in, const void *params)
{
    const pool_params *p = params;
    const char *op = p->adaptive ? "adaptive_avg_pool2d_backward" : "avg_pool2d_backward";
    ag_tensor *g = in[0];
    if (!ag_check_inputs(op, 1, &g))
        return NULL;
    int64_t H = p->in[0], W = p->in[1], oh, ow;
    char s[160];
    if (g->ndim != 4) {
        ag_error_set(AG_ERR_SHAPE, "%s: g has shape %s; expected (N, C, oH, oW)", op,
                     ag_format_shape(g->ndim, g->shape, s, sizeof s));
        return NULL;
    }
    /* The pooled input's shape, checked as the pool checks it. */
    ag_tensor probe = {.ndim = 4, .shape = (int64_t[]){g->shape[0], g->shape[1], H, W}};
    if (p->adaptive) {
        if (!adaptive_ok(op, &probe, p))
            return NULL;
        oh = p->out[0];
        ow = p->out[1];
    } else if (!sliding_ok(op, &probe, p, &oh, &ow)) {
        return NULL;
    }
    if (g->shape[2] != oh || g->shape[3] != ow) {
        char a[64], b[64];
        ag_error_set(AG_ERR_SHAPE, "%s: g has shape %s; the pool of an input %s gives %s", op,
                     ag_format_shape(g->ndim, g->shape, s, sizeof s),
                     ag_format_shape(2, (int64_t[]){H, W}, a, sizeof a),
                     ag_format_shape(2, (int64_t[]){oh, ow}, b, sizeof b));
        return NULL;
    }
    windows win;
    if (!windows_of(p, H, W, oh, ow, true, &win))
        return NULL;
    ag_tensor *dx = ag_op_result(p->adaptive ? &OP_ADAPTIVE_BACKWARD : &OP_AVG_POOL_BACKWARD,
                                 g->dtype, 4, probe.shape, 1, &g, p, sizeof *p);
    if (!dx)
        return NULL;
    memset(dx->data, 0, dx->numel * ag_dtype_size(dx->dtype));
    avg_scatter(&win, g, g->shape[0] * g->shape[1], H, W, dx->data);
    return dx;
}

/* dx += Aᵀg, the backward op. */
static bool avg_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    pool_params p = *(const pool_params *)y->params;
    ag_tensor *x = y->inputs[0];
    p.in[0] = x->shape[2];
    p.in[1] = x->shape[3];
    return (gin[0] = avg_backward_forward(&g, &p)) != NULL;
}

/* dg += A gg: the adjoint of the adjoint is the pool. */
static bool avg_backward_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = avg_forward(&g, y->params)) != NULL;
}

static bool avg_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const pool_params *p = y->params;
    ag_tensor *x = y->inputs[0];
    int64_t H = x->shape[2], W = x->shape[3];
    windows win;
    void *d = ag_grad_dst_data(dst);
    if (!d || !windows_of(p, H, W, y->shape[2], y->shape[3], true, &win))
        return false;
    if (!dst->accumulate)
        memset(d, 0, x->numel * ag_dtype_size(x->dtype));
    avg_scatter(&win, g, x->shape[0] * x->shape[1], H, W, d);
    return true;
}

/* ---- registry entries ---- */

/* (N, C, H, W) with small planes, N and C of 1 or 2. */
static void sample_nchw(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 4;
    shape[0][0] = 1 + (int64_t)(ag_rng_next(rng) % 2);
    shape[0][1] = 1 + (int64_t)(ag_rng_next(rng) % 2);
    shape[0][2] = 2 + (int64_t)(ag_rng_next(rng) % 4);
    shape[0][3] = 2 + (int64_t)(ag_rng_next(rng) % 4);
}

/* A kernel of 2 rows and up to 3 columns, strides 1 and 2, padding on
 * both axes: windows overlap along H, skip along W, and the edge windows
 * are clipped. */
static void example_sliding(const ag_tensor *x, pool_params *p)
{
    int64_t kw = x && x->ndim == 4 && x->shape[3] < 3 ? 2 : 3;
    *p = (pool_params){.kernel = {2, kw}, .stride = {1, 2}, .padding = {1, 1}};
    p->count_include_pad = x && x->ndim == 4 && x->shape[2] % 2 == 0;
}

static ag_tensor *max_pool_example(ag_tensor *const *in)
{
    pool_params p;
    example_sliding(in[0], &p);
    return ag_max_pool2d(in[0], p.kernel, p.stride, p.padding);
}

static ag_tensor *avg_pool_example(ag_tensor *const *in)
{
    pool_params p;
    example_sliding(in[0], &p);
    return ag_avg_pool2d(in[0], p.kernel, p.stride, p.padding, p.count_include_pad);
}

/* Bins that overlap (H → H − 1) and bins wider than one (W → ⌈W/2⌉). */
static ag_tensor *adaptive_example(ag_tensor *const *in)
{
    const ag_tensor *x = in[0];
    if (!x || x->ndim != 4)
        return ag_adaptive_avg_pool2d(in[0], 1, 1);
    return ag_adaptive_avg_pool2d(in[0], x->shape[2] > 2 ? x->shape[2] - 1 : 3,
                                  (x->shape[3] + 1) / 2);
}

/* g (N, C, a, b) as the gradient of a pool of x (N, C, 2a − 1, b), with
 * the example's kernel (2, 3), stride (2, 1) and padding (1, 1). */
static ag_tensor *avg_backward_example(ag_tensor *const *in)
{
    const ag_tensor *g = in[0];
    pool_params p = {.kernel = {2, 3}, .stride = {2, 1}, .padding = {1, 1}};
    if (g && g->ndim == 4) {
        p.in[0] = 2 * g->shape[2] - 1;
        p.in[1] = g->shape[3];
        p.count_include_pad = g->shape[3] % 2 == 1;
    }
    return avg_backward_forward(in, &p);
}

/* g (N, C, a, b) as the gradient of an adaptive pool of x (N, C, a + 2,
 * 2b + 1): bins that overlap along both axes. */
static ag_tensor *adaptive_backward_example(ag_tensor *const *in)
{
    const ag_tensor *g = in[0];
    pool_params p = {.adaptive = true, .out = {1, 1}, .in = {1, 1}};
    if (g && g->ndim == 4) {
        p.out[0] = g->shape[2];
        p.out[1] = g->shape[3];
        p.in[0] = g->shape[2] + 2;
        p.in[1] = 2 * g->shape[3] + 1;
    }
    return avg_backward_forward(in, &p);
}

/* Ties between random inputs are improbable; at one the gradient goes to
 * the first largest element, a subgradient. */
static ag_op OP_MAX_POOL = {.def = {
        .name = "max_pool2d",
        .n_inputs = 1,
        .forward = max_pool_forward,
        .example = max_pool_example,
        .vjp = max_pool_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_KINK,
        .sample = sample_nchw,
        .rule = "dx += scatter_add(g, argmax positions)",
        .kernel = max_pool_kernel,
    }};
static ag_op OP_AVG_POOL = {.def = {
        .name = "avg_pool2d",
        .n_inputs = 1,
        .forward = avg_forward,
        .example = avg_pool_example,
        .vjp = avg_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_nchw,
        .rule = "dx += avg_pool2d_backward(g): g / divisor spread over each window",
        .kernel = avg_kernel,
    }};
static ag_op OP_AVG_POOL_BACKWARD = {.def = {
        .name = "avg_pool2d_backward",
        .n_inputs = 1,
        .forward = avg_backward_forward,
        .example = avg_backward_example,
        .vjp = avg_backward_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_nchw,
        .rule = "dg += avg_pool2d(gx)",
    }};
static ag_op OP_ADAPTIVE = {.def = {
        .name = "adaptive_avg_pool2d",
        .n_inputs = 1,
        .forward = avg_forward,
        .example = adaptive_example,
        .vjp = avg_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_nchw,
        .rule = "dx += adaptive_avg_pool2d_backward(g): g / bin size spread over each bin",
        .kernel = avg_kernel,
    }};
static ag_op OP_ADAPTIVE_BACKWARD = {.def = {
        .name = "adaptive_avg_pool2d_backward",
        .n_inputs = 1,
        .forward = avg_backward_forward,
        .example = adaptive_backward_example,
        .vjp = avg_backward_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .sample = sample_nchw,
        .rule = "dg += adaptive_avg_pool2d(gx)",
    }};

void ag_ops_register_pool(void)
{
    ag_op_register_builtin(&OP_MAX_POOL);
    ag_op_register_builtin(&OP_AVG_POOL);
    ag_op_register_builtin(&OP_AVG_POOL_BACKWARD);
    ag_op_register_builtin(&OP_ADAPTIVE);
    ag_op_register_builtin(&OP_ADAPTIVE_BACKWARD);
}

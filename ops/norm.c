/* SPDX-License-Identifier: MIT */
/* norm.c — batch_norm, layer_norm and group_norm, with PyTorch's
 * semantics (biased variance inside the normalisation, the unbiased one
 * in batch_norm's running variance).
 *
 * layer_norm, group_norm and batch_norm in evaluation are composites: x is
 * reshaped so that the elements normalised together lie along trailing
 * axes, then
 *     y = (x − mean) · (var + eps)^(−1/2) · weight + bias
 * with mean and var means along those axes (or the running statistics).
 * Every step is an op with a rule written in ops, so the gradients — and
 * their gradients — come from the parts. batch_norm in training, the one
 * a CNN runs at every step over whole activations, is a primitive with a
 * rule written in ops and a first-order kernel (see below). Its running
 * statistics are updated in place outside the graph. */
#include "ops_internal.h"

#include <math.h>
#include <string.h>

/* When a per-channel tensor's length matches x's last dimension instead of
 * its second, x is probably NHWC: names the NCHW shape it would have. */
static void nhwc_hint(const ag_tensor *x, int64_t len, char *buf, size_t size)
{
    buf[0] = '\0';
    int n = x->ndim;
    if (n < 3 || x->shape[n - 1] != len || x->shape[1] == len)
        return;
    int64_t want[AG_MAX_DIMS];
    want[0] = x->shape[0];
    want[1] = x->shape[n - 1];
    for (int d = 2; d < n; d++)
        want[d] = x->shape[d - 1];
    char s[160];
    snprintf(buf, size, " (is x channels-last? the NCHW batch would be %s)",
             ag_format_shape(n, want, s, sizeof s));
}

/* An optional tensor (weight, bias, a running statistic): NULL, or live,
 * of x's dtype and of shape (nd, want). */
static bool optional_ok(const char *op, const char *what, ag_tensor *x, ag_tensor *t, int nd,
                        const int64_t *want)
{
    if (!t)
        return true;
    if (!ag_check_inputs(op, 2, (ag_tensor *[]){x, t}))
        return false;
    if (ag_same_shape(t->ndim, t->shape, nd, want))
        return true;
    char a[160], b[160], c[160], hint[240] = "";
    if (nd == 1 && t->ndim == 1)
        nhwc_hint(x, t->shape[0], hint, sizeof hint);
    ag_error_set(AG_ERR_SHAPE, "%s: %s has shape %s; x %s needs %s%s", op, what,
                 ag_format_shape(t->ndim, t->shape, a, sizeof a),
                 ag_format_shape(x->ndim, x->shape, b, sizeof b),
                 ag_format_shape(nd, want, c, sizeof c), hint);
    return false;
}

static bool eps_ok(const char *op, double eps)
{
    if (eps >= 0 && isfinite(eps))
        return true;
    ag_error_set(AG_ERR_VALUE, "%s: eps %g must be finite and not negative", op, eps);
    return false;
}

/* x (N, C) or (N, C, *): rank 2 at least. */
static bool channels_ok(const char *op, ag_tensor *x)
{
    if (!ag_check_inputs(op, 1, &x))
        return false;
    if (x->ndim >= 2)
        return true;
    char s[160];
    ag_error_set(AG_ERR_SHAPE, "%s: x has shape %s; expected (N, C) or (N, C, *)", op,
                 ag_format_shape(x->ndim, x->shape, s, sizeof s));
    return false;
}

/* The product of x's dimensions from `from` on. */
static int64_t trailing(const ag_tensor *x, int from)
{
    int64_t n = 1;
    for (int d = from; d < x->ndim; d++)
        n *= x->shape[d];
    return n;
}

/* (x − mean) · (var + eps)^(−1/2) along `axes` (ascending, kept as size 1),
 * var the biased variance; *invstd, (var + eps)^(−1/2), is handed back
 * when asked for. */
static ag_tensor *normalise(ag_tensor *x, int n_axes, const int *axes, double eps,
                            ag_tensor **invstd_out)
{
    ag_tensor *mean = x;
    for (int i = n_axes - 1; i >= 0; i--)
        mean = ag_mean_axis(mean, axes[i], true);
    ag_tensor *d = ag_sub(x, mean);
    ag_tensor *var = ag_square(d);
    for (int i = n_axes - 1; i >= 0; i--)
        var = ag_mean_axis(var, axes[i], true);
    ag_tensor *invstd = ag_pow_scalar(ag_add_scalar(var, eps), -0.5);
    if (invstd_out)
        *invstd_out = invstd;
    return ag_mul(d, invstd);
}

/* y · weight + bias with weight and bias (C) laid along axis 1 of y's
 * (N, C, L) shape. */
static ag_tensor *affine_channels(ag_tensor *y, ag_tensor *weight, ag_tensor *bias, int64_t C)
{
    int64_t c3[3] = {1, C, 1};
    if (weight)
        y = ag_mul(y, ag_reshape(weight, 3, c3));
    if (bias)
        y = ag_add(y, ag_reshape(bias, 3, c3));
    return y;
}

/* r = (1 − momentum)·r + momentum·scale·stat[c] for each channel, in place
 * and unrecorded; the version bump makes a node that saved r before fail
 * its backward sweep rather than use the new values. */
static void update_running(ag_tensor *r, const double *stat, double scale, double momentum)
{
    if (!r)
        return;
    for (size_t c = 0; c < r->numel; c++)
        ag_store(r, c, (1 - momentum) * ag_load(r, c) + momentum * scale * stat[c]);
    ag_mark_changed(r);
}

/* ---- batch_norm in training: a primitive ----
 *
 * y = (x − mean)·invstd·w + b per channel, mean and invstd = (var +
 * eps)^(−1/2) of the batch. As a composite it was fifteen nodes over the
 * whole activation each way; as one node it is three passes over x forward
 * (the mean, the variance about it, y) and two backward (two sums per
 * channel, then dx). The node's inputs are x, w and b (a constant 1 and 0
 * standing in for a missing weight or bias, as PyTorch does); its params
 * keep eps and the statistics the forward computed, for the kernel. */

typedef struct bn_params {
    double eps;
    /* Per channel, as the forward computed them in double: the mean, then
     * invstd, then the biased variance (for the running statistics). */
    double stats[];
} bn_params;

static ag_op OP_BATCH_NORM;

/* Σ p[i] for i < n in double, and Σ (p[i] − m)² when sq; four partial sums,
 * so that the adds do not wait on one another. */
#define BN_SUMS(name, T)                                                                      \
    static double name(const T *restrict p, int64_t n, double m, bool sq)                     \
    {                                                                                         \
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                \
        int64_t i = 0;                                                                        \
        if (sq) {                                                                             \
            for (; i + 4 <= n; i += 4) {                                                      \
                double d0 = p[i] - m, d1 = p[i + 1] - m, d2 = p[i + 2] - m, d3 = p[i + 3] - m; \
                s0 += d0 * d0;                                                                \
                s1 += d1 * d1;                                                                \
                s2 += d2 * d2;                                                                \
                s3 += d3 * d3;                                                                \
            }                                                                                 \
            for (; i < n; i++)                                                                \
                s0 += (p[i] - m) * (p[i] - m);                                                \
        } else {                                                                              \
            for (; i + 4 <= n; i += 4) {                                                      \
                s0 += p[i];                                                                   \
                s1 += p[i + 1];                                                               \
                s2 += p[i + 2];                                                               \
                s3 += p[i + 3];                                                               \
            }                                                                                 \
            for (; i < n; i++)                                                                \
                s0 += p[i];                                                                   \
        }                                                                                     \
        return (s0 + s1) + (s2 + s3);                                                         \
    }
BN_SUMS(bn_sums_f32, float)
BN_SUMS(bn_sums_f64, double)

/* Σ g[i] and Σ g[i]·(x[i] − m) for i < n in double, into *sg and *sgd. */
#define BN_GRAD_SUMS(name, T)                                                                 \
    static void name(const T *restrict g, const T *restrict x, int64_t n, double m,           \
                     double *sg, double *sgd)                                                 \
    {                                                                                         \
        double a0 = 0, a1 = 0, b0 = 0, b1 = 0;                                                \
        int64_t i = 0;                                                                        \
        for (; i + 2 <= n; i += 2) {                                                          \
            a0 += g[i];                                                                       \
            a1 += g[i + 1];                                                                   \
            b0 += g[i] * (x[i] - m);                                                          \
            b1 += g[i + 1] * (x[i + 1] - m);                                                  \
        }                                                                                     \
        for (; i < n; i++) {                                                                  \
            a0 += g[i];                                                                       \
            b0 += g[i] * (x[i] - m);                                                          \
        }                                                                                     \
        *sg += a0 + a1;                                                                       \
        *sgd += b0 + b1;                                                                      \
    }
BN_GRAD_SUMS(bn_grad_sums_f32, float)
BN_GRAD_SUMS(bn_grad_sums_f64, double)

/* The statistics of x (N, C, L) into mean, invstd and var (C each): the
 * mean first, then the variance about it (two passes, so that a mean far
 * from 0 costs no digits). Channels c0..c1, each summed over n in order. */
#define BN_STATS(T, SUMS)                                                                     \
    {                                                                                         \
        const T *X = x->data;                                                                 \
        for (int64_t c = c0; c < c1; c++) {                                                   \
            for (int64_t n = 0; n < N; n++)                                                   \
                mean[c] += SUMS(X + (n * C + c) * L, L, 0, false);                            \
            mean[c] /= M;                                                                     \
            for (int64_t n = 0; n < N; n++)                                                   \
                var[c] += SUMS(X + (n * C + c) * L, L, mean[c], true);                        \
        }                                                                                     \
    }

/* y = (x − mean)·a + b with a = invstd·w, per channel, in the dtype; the
 * rows r0..r1 of x (N·C, L). */
#define BN_APPLY(T)                                                                           \
    {                                                                                         \
        const T *X = x->data, *Wt = w->data, *B = b->data;                                    \
        T *Y = y->data;                                                                       \
        for (int64_t r = r0; r < r1; r++) {                                                   \
                int64_t c = r % C;                                                            \
                const T *restrict xp = X + r * L;                                             \
                T *restrict yp = Y + r * L;                                                   \
                T m = (T)mean[c], a = (T)(invstd[c] * Wt[c]), bc = B[c];                      \
                for (int64_t l = 0; l < L; l++)                                               \
                    yp[l] = (xp[l] - m) * a + bc;                                             \
            }                                                                                 \
    }

/* The threads split batch norm's passes by channel (the sums over the
 * batch, each channel's in the serial order) or by row of (N·C, L) (the
 * maps), so every thread count gives the same bits. */
enum bn_pass { BN_PASS_STATS, BN_PASS_APPLY, BN_PASS_GRAD_SUMS, BN_PASS_GRAD_X };
typedef struct bn_job {
    enum bn_pass pass;
    const ag_tensor *x, *w, *b, *g;
    ag_tensor *y;
    void *dx;
    bool acc;
    int64_t N, C, L;
    double M;
    const double *mean, *invstd; /* the statistics (for the stats pass: mean and var out) */
    double *out0, *out1;         /* stats: mean, var; grad sums: sg, sgd */
    const double *sg, *sgx;
} bn_job;

static void bn_chunk(size_t lo, size_t hi, void *ctx);

/* The stats and gradient-sum passes go by channel (each N·L elements),
 * the others by row (L elements). */
static void bn_run(bn_job *j)
{
    bool by_channel = j->pass == BN_PASS_STATS || j->pass == BN_PASS_GRAD_SUMS;
    size_t n = (size_t)(by_channel ? j->C : j->N * j->C);
    size_t per = (size_t)(by_channel ? j->N * j->L : j->L);
    if (n * per >= 2 * AG_GRAIN && per)
        ag_parallel_for(n, (AG_GRAIN + per - 1) / per, bn_chunk, j);
    else
        bn_chunk(0, n, j);
}

/* The training forward of x, w and b, checked; *stats_out (when given)
 * gets the statistics (owned by the tape). */
static ag_tensor *bn_train(ag_tensor *x, ag_tensor *w, ag_tensor *b, double eps,
                           const double **stats_out)
{
    const char *op = "batch_norm";
    if (!channels_ok(op, x))
        return NULL;
    int64_t N = x->shape[0], C = x->shape[1], L = trailing(x, 2);
    if (!ag_check_inputs(op, 3, (ag_tensor *[]){x, w, b}) ||
        !optional_ok(op, "weight", x, w, 1, &C) || !optional_ok(op, "bias", x, b, 1, &C) ||
        !eps_ok(op, eps))
        return NULL;
    size_t n_params = sizeof(bn_params) + 3 * (size_t)C * sizeof(double);
    bn_params *p = ag_tape_alloc(n_params);
    if (!p)
        return NULL;
    p->eps = eps;
    double *mean = p->stats, *invstd = mean + C, *var = invstd + C;
    memset(mean, 0, 3 * (size_t)C * sizeof(double));
    /* An empty batch gives 0/0, NaN statistics, as the means of nothing. */
    double M = (double)(N * L);
    bn_run(&(bn_job){.pass = BN_PASS_STATS, .x = x, .N = N, .C = C, .L = L, .M = M,
                     .out0 = mean, .out1 = var});
    for (int64_t c = 0; c < C; c++) {
        var[c] /= M;
        invstd[c] = 1 / sqrt(var[c] + eps);
    }
    ag_tensor *y = ag_op_result(&OP_BATCH_NORM, x->dtype, x->ndim, x->shape, 3,
                                (ag_tensor *[]){x, w, b}, p, n_params);
    if (!y)
        return NULL;
    bn_run(&(bn_job){.pass = BN_PASS_APPLY, .x = x, .w = w, .b = b, .y = y, .N = N, .C = C,
                     .L = L, .mean = mean, .invstd = invstd});
    if (stats_out)
        *stats_out = p->stats;
    return y;
}

/* The registered forward, re-running a node: params give eps (the
 * statistics in them are recomputed). */
static ag_tensor *bn_forward(ag_tensor *const *in, const void *params)
{
    if (!params) {
        ag_error_set(AG_ERR_NULL, "batch_norm: params (eps) are NULL");
        return NULL;
    }
    return bn_train(in[0], in[1], in[2], ((const bn_params *)params)->eps, NULL);
}

/* Σ over the batch and positions of t (N, C, L): (1, C, 1). */
static ag_tensor *sum_channels(ag_tensor *t)
{
    return ag_sum_axis(ag_sum_axis(t, 2, true), 0, true);
}

/* With x̂ = (x − mean)·invstd and M = N·L values per channel:
 * db += Σg, dw += Σ g·x̂, dx += (w·invstd/M)·(M·g − Σg − x̂·Σ g·x̂). x̂ and
 * invstd are recomputed from x with ops, not taken from the params, so
 * that a create_graph sweep differentiates them too. */
static bool bn_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    const bn_params *p = y->params;
    ag_tensor *x = y->inputs[0], *w = y->inputs[1], *b = y->inputs[2];
    int64_t N = x->shape[0], C = x->shape[1], L = trailing(x, 2);
    int64_t s3[3] = {N, C, L}, c3[3] = {1, C, 1};
    ag_tensor *g3 = ag_reshape(g, 3, s3), *sg = sum_channels(g3);
    if (b->requires_grad && !(gin[2] = ag_reshape(sg, 1, &C)))
        return false;
    if (!x->requires_grad && !w->requires_grad)
        return true;
    ag_tensor *invstd = NULL;
    ag_tensor *xhat = normalise(ag_reshape(x, 3, s3), 2, (int[]){0, 2}, p->eps, &invstd);
    ag_tensor *sgx = sum_channels(ag_mul(g3, xhat));
    if (w->requires_grad && !(gin[1] = ag_reshape(sgx, 1, &C)))
        return false;
    if (x->requires_grad) {
        double inv_m = 1 / (double)(N * L);
        ag_tensor *centred = ag_sub(ag_sub(g3, ag_mul_scalar(sg, inv_m)),
                                    ag_mul(xhat, ag_mul_scalar(sgx, inv_m)));
        ag_tensor *k = ag_mul(ag_reshape(w, 3, c3), invstd);
        if (!(gin[0] = ag_reshape(ag_mul(centred, k), x->ndim, x->shape)))
            return false;
    }
    return true;
}

/* dw and db (C) from the per-channel sums, overwritten or added to. */
#define BN_GRAD_CHANNELS(T)                                                                   \
    {                                                                                         \
        T *DW = dw, *DB = db;                                                                 \
        for (int64_t c = 0; c < C; c++) {                                                     \
            if (DW) {                                                                         \
                T v = (T)sgx[c];                                                              \
                DW[c] = dst[1].accumulate ? DW[c] + v : v;                                    \
            }                                                                                 \
            if (DB) {                                                                         \
                T v = (T)sg[c];                                                               \
                DB[c] = dst[2].accumulate ? DB[c] + v : v;                                    \
            }                                                                                 \
        }                                                                                     \
    }

/* dx = k1·g − k2·(x − mean) − k3 per channel, the rule's formula with its
 * per-channel factors gathered (in double, then rounded to the dtype). */
#define BN_GRAD_X(T)                                                                          \
    {                                                                                         \
        const T *G = g->data, *X = x->data, *Wt = w->data;                                    \
        T *D = dx;                                                                            \
        for (int64_t r = r0; r < r1; r++) {                                                   \
                int64_t c = r % C;                                                            \
                const T *restrict gp = G + r * L, *restrict xp = X + r * L;                   \
                T *restrict dp = D + r * L;                                                   \
                double wi = Wt[c] * invstd[c];                                                \
                T m = (T)mean[c], k1 = (T)wi, k2 = (T)(wi * invstd[c] * sgx[c] / M),          \
                  k3 = (T)(wi * sg[c] / M);                                                   \
                if (acc)                                                                      \
                    for (int64_t l = 0; l < L; l++)                                           \
                        dp[l] += k1 * gp[l] - k2 * (xp[l] - m) - k3;                          \
                else                                                                          \
                    for (int64_t l = 0; l < L; l++)                                           \
                        dp[l] = k1 * gp[l] - k2 * (xp[l] - m) - k3;                           \
            }                                                                                 \
    }

/* The rule in two passes over x and g, with the forward's statistics: the
 * sums Σg and Σ g·(x − mean) per channel, then dx. */
static bool bn_kernel(ag_tensor *y, ag_tensor *g, ag_grad_dst *dst)
{
    const bn_params *p = y->params;
    ag_tensor *x = y->inputs[0], *w = y->inputs[1];
    int64_t N = x->shape[0], C = x->shape[1], L = trailing(x, 2);
    double M = (double)(N * L);
    const double *mean = p->stats, *invstd = mean + C;
    void *dx = NULL, *dw = NULL, *db = NULL;
    if ((dst[0].x && !(dx = ag_grad_dst_data(&dst[0]))) ||
        (dst[1].x && !(dw = ag_grad_dst_data(&dst[1]))) ||
        (dst[2].x && !(db = ag_grad_dst_data(&dst[2]))))
        return false;
    double *sg = ag_tape_alloc((3 * (size_t)C + 1) * sizeof(double)); /* never 0 bytes */
    if (!sg)
        return false;
    double *sgd = sg + C, *sgx = sgd + C;
    memset(sg, 0, 2 * (size_t)C * sizeof(double));
    bn_run(&(bn_job){.pass = BN_PASS_GRAD_SUMS, .x = x, .g = g, .N = N, .C = C, .L = L,
                     .mean = mean, .out0 = sg, .out1 = sgd});
    /* Σ g·x̂; over an empty batch a sum of nothing, 0, though invstd is NaN. */
    for (int64_t c = 0; c < C; c++)
        sgx[c] = N * L > 0 ? sgd[c] * invstd[c] : 0;
    if (x->dtype == AG_F32)
        BN_GRAD_CHANNELS(float)
    else
        BN_GRAD_CHANNELS(double)
    if (dx)
        bn_run(&(bn_job){.pass = BN_PASS_GRAD_X, .x = x, .w = w, .g = g, .dx = dx,
                         .acc = dst[0].accumulate, .N = N, .C = C, .L = L, .M = M, .mean = mean,
                         .invstd = invstd, .sg = sg, .sgx = sgx});
    return true;
}

static void bn_chunk(size_t lo, size_t hi, void *ctx)
{
    const bn_job *j = ctx;
    const ag_tensor *x = j->x, *w = j->w, *b = j->b, *g = j->g;
    ag_tensor *y = j->y;
    void *dx = j->dx;
    bool acc = j->acc;
    int64_t N = j->N, C = j->C, L = j->L, c0 = (int64_t)lo, c1 = (int64_t)hi;
    int64_t r0 = (int64_t)lo, r1 = (int64_t)hi;
    double M = j->M;
    const double *mean = j->mean, *invstd = j->invstd, *sg = j->sg, *sgx = j->sgx;
    switch (j->pass) {
    case BN_PASS_STATS: {
        double *mean = j->out0, *var = j->out1;
        if (x->dtype == AG_F32)
            BN_STATS(float, bn_sums_f32)
        else
            BN_STATS(double, bn_sums_f64)
        break;
    }
    case BN_PASS_APPLY:
        if (x->dtype == AG_F32)
            BN_APPLY(float)
        else
            BN_APPLY(double)
        break;
    case BN_PASS_GRAD_SUMS:
        for (int64_t c = c0; c < c1; c++)
            for (int64_t n = 0; n < N; n++) {
                size_t off = (size_t)((n * C + c) * L);
                if (x->dtype == AG_F32)
                    bn_grad_sums_f32((const float *)g->data + off, (const float *)x->data + off,
                                     L, mean[c], &j->out0[c], &j->out1[c]);
                else
                    bn_grad_sums_f64((const double *)g->data + off,
                                     (const double *)x->data + off, L, mean[c], &j->out0[c],
                                     &j->out1[c]);
            }
        break;
    case BN_PASS_GRAD_X:
        if (x->dtype == AG_F32)
            BN_GRAD_X(float)
        else
            BN_GRAD_X(double)
        break;
    }
    (void)w, (void)b, (void)y, (void)dx, (void)acc, (void)M, (void)sg, (void)sgx, (void)invstd;
}

/* A constant of `value` in each of C channels, on the tape: a missing
 * weight or bias. */
static ag_tensor *channel_constant(ag_dtype dt, int64_t C, double value)
{
    ag_tensor *t = ag_tape_tensor(dt, 1, &C);
    if (t)
        for (int64_t c = 0; c < C; c++)
            ag_store(t, (size_t)c, value);
    return t;
}

ag_tensor *ag_batch_norm(ag_tensor *x, ag_tensor *running_mean, ag_tensor *running_var,
                         ag_tensor *weight, ag_tensor *bias, bool training, double momentum,
                         double eps)
{
    const char *op = "batch_norm";
    if (!channels_ok(op, x))
        return NULL;
    int64_t N = x->shape[0], C = x->shape[1], L = trailing(x, 2);
    if (!optional_ok(op, "running_mean", x, running_mean, 1, &C) ||
        !optional_ok(op, "running_var", x, running_var, 1, &C) ||
        !optional_ok(op, "weight", x, weight, 1, &C) || !optional_ok(op, "bias", x, bias, 1, &C) ||
        !eps_ok(op, eps))
        return NULL;
    char s[160];
    if (!training && (!running_mean || !running_var)) {
        ag_error_set(AG_ERR_VALUE,
                     "%s: evaluation mode (training false) normalises with the running "
                     "statistics, but running_%s is NULL",
                     op, running_mean ? "var" : "mean");
        return NULL;
    }
    if (training && N * L == 1) {
        ag_error_set(AG_ERR_VALUE,
                     "%s: expected more than 1 value per channel when training, got x of shape %s",
                     op, ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    if (training && !isfinite(momentum)) {
        ag_error_set(AG_ERR_VALUE, "%s: momentum %g is not finite", op, momentum);
        return NULL;
    }
    if (training) {
        ag_tensor *w = weight ? weight : channel_constant(x->dtype, C, 1);
        ag_tensor *b = bias ? bias : channel_constant(x->dtype, C, 0);
        const double *stats = NULL;
        ag_tensor *y = w && b ? bn_train(x, w, b, eps, &stats) : NULL;
        /* An empty batch has no statistics (its means are 0/0): the
         * buffers are left as they are. */
        if (y && N * L > 0) {
            update_running(running_mean, stats, 1.0, momentum);
            update_running(running_var, stats + 2 * C, (double)(N * L) / (double)(N * L - 1),
                           momentum);
        }
        return y;
    }
    /* Evaluation is an affine map per channel: a composite. The running
     * statistics are copied, so that the graph keeps those of this call
     * whatever later happens to the buffers. */
    int64_t s3[3] = {N, C, L}, c3[3] = {1, C, 1};
    ag_tensor *mean = ag_reshape(ag_detach(running_mean), 3, c3);
    ag_tensor *var = ag_reshape(ag_detach(running_var), 3, c3);
    ag_tensor *y = ag_mul(ag_sub(ag_reshape(x, 3, s3), mean),
                          ag_pow_scalar(ag_add_scalar(var, eps), -0.5));
    return ag_reshape(affine_channels(y, weight, bias, C), x->ndim, x->shape);
}

ag_tensor *ag_layer_norm(ag_tensor *x, int n_dims, ag_tensor *weight, ag_tensor *bias, double eps)
{
    const char *op = "layer_norm";
    if (!ag_check_inputs(op, 1, &x))
        return NULL;
    if (n_dims < 1 || n_dims > x->ndim) {
        char s[160];
        ag_error_set(AG_ERR_VALUE, "%s: n_dims %d out of range for x of shape %s (1 to %d)", op,
                     n_dims, ag_format_shape(x->ndim, x->shape, s, sizeof s), x->ndim);
        return NULL;
    }
    int lead = x->ndim - n_dims;
    const int64_t *tail = x->shape + lead;
    if (!optional_ok(op, "weight", x, weight, n_dims, tail) ||
        !optional_ok(op, "bias", x, bias, n_dims, tail) || !eps_ok(op, eps))
        return NULL;
    int64_t M = 1, K = trailing(x, lead);
    for (int d = 0; d < lead; d++)
        M *= x->shape[d];
    int64_t s2[2] = {M, K};
    ag_tensor *y = normalise(ag_reshape(x, 2, s2), 1, (int[]){1}, eps, NULL);
    y = ag_reshape(y, x->ndim, x->shape);
    if (weight)
        y = ag_mul(y, weight);
    if (bias)
        y = ag_add(y, bias);
    return y;
}

ag_tensor *ag_group_norm(ag_tensor *x, int64_t groups, ag_tensor *weight, ag_tensor *bias,
                         double eps)
{
    const char *op = "group_norm";
    if (!channels_ok(op, x))
        return NULL;
    int64_t N = x->shape[0], C = x->shape[1], L = trailing(x, 2);
    char s[160];
    if (groups < 1 || C % groups != 0) {
        ag_error_set(AG_ERR_VALUE, "%s: %lld groups do not divide the %lld channels of x %s", op,
                     (long long)groups, (long long)C,
                     ag_format_shape(x->ndim, x->shape, s, sizeof s));
        return NULL;
    }
    if (!optional_ok(op, "weight", x, weight, 1, &C) || !optional_ok(op, "bias", x, bias, 1, &C) ||
        !eps_ok(op, eps))
        return NULL;
    int64_t sg[3] = {N, groups, C / groups * L}, s3[3] = {N, C, L};
    ag_tensor *y = normalise(ag_reshape(x, 3, sg), 1, (int[]){2}, eps, NULL);
    y = affine_channels(ag_reshape(y, 3, s3), weight, bias, C);
    return ag_reshape(y, x->ndim, x->shape);
}

/* ---- registry entries (layer_norm and group_norm: composites, checked
 * through their parts) ---- */

/* x (N, C, *) with N ≥ 2 (batch_norm needs two values per channel), and
 * weight and bias (C). */
static void sample_channels(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 2 + (int)(ag_rng_next(rng) % 3);
    shape[0][0] = 2 + (int64_t)(ag_rng_next(rng) % 2);
    shape[0][1] = 1 + (int64_t)(ag_rng_next(rng) % 3);
    for (int d = 2; d < ndim[0]; d++)
        shape[0][d] = 1 + (int64_t)(ag_rng_next(rng) % 3);
    ndim[1] = ndim[2] = 1;
    shape[1][0] = shape[2][0] = shape[0][1];
}

/* As sample_channels, with at least 3 values per channel: at 2, x̂ is
 * ±(1 − ε) and dx is all cancellation (its factor 1 − x̂² is about
 * eps/var), which the rule in f32 ops keeps to a few digits only, while
 * the kernel, with its statistics in double, keeps them all; the two would
 * then disagree by more than f32 rounding. check-pool_norm checks 2
 * values per channel in f64. */
static void sample_batch(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    sample_channels(rng, ndim, shape);
    int64_t per_channel = shape[0][0];
    for (int d = 2; d < ndim[0]; d++)
        per_channel *= shape[0][d];
    if (per_channel < 3)
        shape[0][0] = 3;
}

/* Training with running statistics (leaves made and freed here: the
 * result does not depend on them). */
static ag_tensor *batch_norm_example(ag_tensor *const *in)
{
    int64_t C = in[0] && ag_ndim(in[0]) >= 2 ? ag_dim(in[0], 1) : 1;
    ag_dtype dt = in[0] ? ag_tensor_dtype(in[0]) : AG_F64;
    ag_tensor *rm = ag_zeros(dt, 1, &C), *rv = ag_ones(dt, 1, &C);
    ag_tensor *y = ag_batch_norm(in[0], rm, rv, in[1], in[2], true, 0.1, 1e-5);
    ag_tensor_free(rm);
    ag_tensor_free(rv);
    return y;
}

/* x of rank 1 to 3; weight and bias of the shape of its last one or two
 * dimensions, which the example normalises over. */
static void sample_layer(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    ndim[0] = 1 + (int)(ag_rng_next(rng) % 3);
    for (int d = 0; d < ndim[0]; d++)
        shape[0][d] = 2 + (int64_t)(ag_rng_next(rng) % 3);
    int n = 1 + (int)(ag_rng_next(rng) % (uint64_t)(ndim[0] < 2 ? 1 : 2));
    ndim[1] = ndim[2] = n;
    for (int d = 0; d < n; d++)
        shape[1][d] = shape[2][d] = shape[0][ndim[0] - n + d];
}

static ag_tensor *layer_norm_example(ag_tensor *const *in)
{
    return ag_layer_norm(in[0], in[1] ? ag_ndim(in[1]) : 1, in[1], in[2], 1e-5);
}

/* x (N, C, *) with C of 2, 4 or 6, normalised in two groups. */
static void sample_groups(ag_rng *rng, int *ndim, int64_t (*shape)[AG_MAX_DIMS])
{
    sample_channels(rng, ndim, shape);
    shape[0][1] = shape[1][0] = shape[2][0] = 2 * (1 + (int64_t)(ag_rng_next(rng) % 3));
}

static ag_tensor *group_norm_example(ag_tensor *const *in)
{
    return ag_group_norm(in[0], 2, in[1], in[2], 1e-5);
}

static ag_op OP_BATCH_NORM = {.def = {
        .name = "batch_norm",
        .n_inputs = 3,
        .forward = bn_forward,
        .example = batch_norm_example,
        .vjp = bn_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_NO_BROADCAST,
        .sample = sample_batch,
        .rule = "x^ = (x - mean) * invstd: db += sum g, dw += sum g * x^, "
                "dx += w * invstd * (g - mean g - x^ * mean(g * x^))",
        .kernel = bn_kernel,
    }};
static ag_op OP_LAYER_NORM = {.def = {
        .name = "layer_norm",
        .n_inputs = 3,
        .example = layer_norm_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_layer,
    }};
static ag_op OP_GROUP_NORM = {.def = {
        .name = "group_norm",
        .n_inputs = 3,
        .example = group_norm_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_groups,
    }};

void ag_ops_register_norm(void)
{
    ag_op_register_builtin(&OP_BATCH_NORM);
    ag_op_register_builtin(&OP_LAYER_NORM);
    ag_op_register_builtin(&OP_GROUP_NORM);
}

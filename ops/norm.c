/* SPDX-License-Identifier: MIT */
/* norm.c — batch_norm, layer_norm and group_norm, with PyTorch's
 * semantics (biased variance inside the normalisation, the unbiased one
 * in batch_norm's running variance).
 *
 * All three are composites: x is reshaped so that the elements normalised
 * together lie along trailing axes, then
 *     y = (x − mean) · (var + eps)^(−1/2) · weight + bias
 * with mean and var means along those axes. Every step is an op with a
 * rule written in ops, so the gradients — and their gradients — come from
 * the parts, and nothing here needs a rule of its own. batch_norm's
 * running statistics are updated in place outside the graph. */
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
 * var the biased variance; *mean and *var are handed back for the running
 * statistics when asked for. */
static ag_tensor *normalise(ag_tensor *x, int n_axes, const int *axes, double eps,
                            ag_tensor **mean_out, ag_tensor **var_out)
{
    ag_tensor *mean = x;
    for (int i = n_axes - 1; i >= 0; i--)
        mean = ag_mean_axis(mean, axes[i], true);
    ag_tensor *d = ag_sub(x, mean);
    ag_tensor *var = ag_square(d);
    for (int i = n_axes - 1; i >= 0; i--)
        var = ag_mean_axis(var, axes[i], true);
    if (mean_out)
        *mean_out = mean;
    if (var_out)
        *var_out = var;
    return ag_mul(d, ag_pow_scalar(ag_add_scalar(var, eps), -0.5));
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

/* r = (1 − momentum)·r + momentum·stat for each channel, in place and
 * unrecorded; the version bump makes a node that saved r before fail its
 * backward sweep rather than use the new values. */
static void update_running(ag_tensor *r, const ag_tensor *stat, double scale, double momentum)
{
    if (!r)
        return;
    for (size_t c = 0; c < r->numel; c++)
        ag_store(r, c, (1 - momentum) * ag_load(r, c) + momentum * scale * ag_load(stat, c));
    ag_mark_changed(r);
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
    int64_t s3[3] = {N, C, L}, c3[3] = {1, C, 1};
    ag_tensor *x3 = ag_reshape(x, 3, s3), *y, *mean = NULL, *var = NULL;
    if (training) {
        y = normalise(x3, 2, (int[]){0, 2}, eps, &mean, &var);
    } else {
        /* Copies: the graph keeps the statistics of this call, whatever
         * later happens to the buffers. */
        mean = ag_reshape(ag_detach(running_mean), 3, c3);
        var = ag_reshape(ag_detach(running_var), 3, c3);
        y = ag_mul(ag_sub(x3, mean), ag_pow_scalar(ag_add_scalar(var, eps), -0.5));
    }
    y = ag_reshape(affine_channels(y, weight, bias, C), x->ndim, x->shape);
    /* An empty batch has no statistics (its means are 0/0): the buffers
     * are left as they are. */
    if (y && training && N * L > 0) {
        update_running(running_mean, mean, 1.0, momentum);
        update_running(running_var, var, (double)(N * L) / (double)(N * L - 1), momentum);
    }
    return y;
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
    ag_tensor *y = normalise(ag_reshape(x, 2, s2), 1, (int[]){1}, eps, NULL, NULL);
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
    ag_tensor *y = normalise(ag_reshape(x, 3, sg), 1, (int[]){2}, eps, NULL, NULL);
    y = affine_channels(ag_reshape(y, 3, s3), weight, bias, C);
    return ag_reshape(y, x->ndim, x->shape);
}

/* ---- registry entries: composites, checked through their parts ---- */

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
        .example = batch_norm_example,
        .domain_lo = -2,
        .domain_hi = 2,
        .flags = AG_OP_COMPOSITE | AG_OP_NO_BROADCAST,
        .sample = sample_channels,
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

/* SPDX-License-Identifier: MIT */
/* init.c — seeded weight initialisation.
 *
 * Xavier/Glorot keeps the variance of activations and gradients equal across
 * a layer for tanh/sigmoid; He doubles it to make up for the half of the
 * inputs a ReLU zeroes. Both only scale a uniform or normal draw. */
#include "op.h"

#include <math.h>

/* A tensor of `shape` drawn by `init` for a layer of fan_in inputs and
 * fan_out outputs per element; the checks are the callers'. */
static ag_tensor *draw(const char *op, ag_dtype dtype, int ndim, const int64_t *shape,
                       double fi, double fo, ag_init init, ag_rng *rng)
{
    /* An i64 weight would hold the draws truncated to integers: zeros. */
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "%s: dtype %s (%d); weights are f32 or f64", op,
                     ag_dtype_str(dtype), (int)dtype);
        return NULL;
    }
    switch (init) {
    case AG_INIT_ZEROS:
        return ag_zeros(dtype, ndim, shape);
    case AG_INIT_XAVIER_UNIFORM: {
        double a = sqrt(6.0 / (fi + fo));
        return ag_rand_uniform(dtype, ndim, shape, -a, a, rng);
    }
    case AG_INIT_XAVIER_NORMAL:
        return ag_rand_normal(dtype, ndim, shape, 0.0, sqrt(2.0 / (fi + fo)), rng);
    case AG_INIT_HE_UNIFORM: {
        double a = sqrt(6.0 / fi);
        return ag_rand_uniform(dtype, ndim, shape, -a, a, rng);
    }
    case AG_INIT_HE_NORMAL:
        return ag_rand_normal(dtype, ndim, shape, 0.0, sqrt(2.0 / fi), rng);
    }
    ag_error_set(AG_ERR_VALUE, "%s: unknown init %d", op, (int)init);
    return NULL;
}

ag_tensor *ag_init_matrix(ag_dtype dtype, int64_t fan_in, int64_t fan_out, ag_init init,
                          ag_rng *rng)
{
    int64_t shape[2] = {fan_in, fan_out};
    if (fan_in < 1 || fan_out < 1) {
        ag_error_set(AG_ERR_SHAPE, "init_matrix: fans %lld and %lld must be >= 1",
                     (long long)fan_in, (long long)fan_out);
        return NULL;
    }
    return draw("init_matrix", dtype, 2, shape, (double)fan_in, (double)fan_out, init, rng);
}

/* PyTorch's fans (torch.nn.init._calculate_fan_in_and_fan_out): a weight's
 * dimension 1 times its receptive field (the product of dimensions 2 and
 * on) is fan_in, dimension 0 times it fan_out. For a conv weight
 * (out, in/groups, kH, kW) that is in/groups·kH·kW inputs per output. */
ag_tensor *ag_init_tensor(ag_dtype dtype, int ndim, const int64_t *shape, ag_init init, ag_rng *rng)
{
    if (!shape) {
        ag_error_set(AG_ERR_NULL, "init_tensor: shape is NULL");
        return NULL;
    }
    if (ndim < 2 || ndim > AG_MAX_DIMS) {
        ag_error_set(AG_ERR_SHAPE, "init_tensor: %d dimensions; a weight has 2 to %d", ndim,
                     AG_MAX_DIMS);
        return NULL;
    }
    double receptive = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1) {
            char s[160];
            ag_error_set(AG_ERR_SHAPE, "init_tensor: shape %s has a dimension < 1",
                         ag_format_shape(ndim, shape, s, sizeof s));
            return NULL;
        }
        if (i >= 2)
            receptive *= (double)shape[i];
    }
    return draw("init_tensor", dtype, ndim, shape, (double)shape[1] * receptive,
                (double)shape[0] * receptive, init, rng);
}

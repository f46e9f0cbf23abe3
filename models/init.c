/* SPDX-License-Identifier: MIT */
/* init.c — seeded weight initialisation.
 *
 * Xavier/Glorot keeps the variance of activations and gradients equal across
 * a layer for tanh/sigmoid; He doubles it to make up for the half of the
 * inputs a ReLU zeroes. Both only scale a uniform or normal draw. */
#include "op.h"

#include <math.h>

ag_tensor *ag_init_matrix(ag_dtype dtype, int64_t fan_in, int64_t fan_out, ag_init init,
                          ag_rng *rng)
{
    int64_t shape[2] = {fan_in, fan_out};
    if (fan_in < 1 || fan_out < 1) {
        ag_error_set(AG_ERR_SHAPE, "init_matrix: fans %lld and %lld must be >= 1",
                     (long long)fan_in, (long long)fan_out);
        return NULL;
    }
    /* An i64 matrix would hold the draws truncated to integers: zeros. */
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "init_matrix: dtype %s (%d); weights are f32 or f64",
                     ag_dtype_str(dtype), (int)dtype);
        return NULL;
    }
    double fi = (double)fan_in, fo = (double)fan_out;
    switch (init) {
    case AG_INIT_ZEROS:
        return ag_zeros(dtype, 2, shape);
    case AG_INIT_XAVIER_UNIFORM: {
        double a = sqrt(6.0 / (fi + fo));
        return ag_rand_uniform(dtype, 2, shape, -a, a, rng);
    }
    case AG_INIT_XAVIER_NORMAL:
        return ag_rand_normal(dtype, 2, shape, 0.0, sqrt(2.0 / (fi + fo)), rng);
    case AG_INIT_HE_UNIFORM: {
        double a = sqrt(6.0 / fi);
        return ag_rand_uniform(dtype, 2, shape, -a, a, rng);
    }
    case AG_INIT_HE_NORMAL:
        return ag_rand_normal(dtype, 2, shape, 0.0, sqrt(2.0 / fi), rng);
    }
    ag_error_set(AG_ERR_VALUE, "init_matrix: unknown init %d", (int)init);
    return NULL;
}

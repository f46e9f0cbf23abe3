/* SPDX-License-Identifier: MIT */
/* cast.c — converting a tensor to another dtype (PyTorch's .to(dtype)).
 *
 * Between f32 and f64 the cast is a recorded op whose rule is the cast back:
 * the gradient of x is g converted to x's dtype. To or from i64 nothing is
 * recorded (an integer carries no gradient, as in PyTorch), so the result
 * is a plain tape tensor. Float to i64 truncates toward zero, as C and
 * PyTorch do; a value an int64_t cannot hold (NaN, ±inf, |v| >= 2^63) is
 * refused, where C would leave the result undefined. */
#include "ops_internal.h"

#include <math.h>

typedef struct cast_params {
    int dtype; /* an ag_dtype: the result's */
} cast_params;

static ag_op OP_CAST;

/* Refuses a float element that no int64_t holds, naming it. */
static bool fits_i64(const ag_tensor *x)
{
    for (size_t i = 0; i < x->numel; i++) {
        double v = ag_load(x, i);
        /* -2^63 is exact in both float types; 2^63 is the first value above INT64_MAX. */
        if (!(v >= -0x1p63 && v < 0x1p63)) {
            char s[160];
            ag_error_set(AG_ERR_VALUE,
                         "cast: element %zu of %s tensor %s is %g, which an i64 cannot hold "
                         "(finite and in [-2^63, 2^63) only)",
                         i, ag_dtype_str(x->dtype), ag_format_shape(x->ndim, x->shape, s, sizeof s),
                         v);
            return false;
        }
    }
    return true;
}

/* y = x in another dtype;  dx += cast(g, dtype of x) (f32 <-> f64 only) */
static ag_tensor *cast_forward(ag_tensor *const *in, const void *params)
{
    const cast_params *p = params;
    ag_tensor *x = in[0];
    if (!ag_check_inputs_data("cast", 1, &x))
        return NULL;
    ag_dtype to = (ag_dtype)p->dtype;
    if (to != AG_F32 && to != AG_F64 && to != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "cast: unknown dtype %d (AG_F32, AG_F64 or AG_I64)", p->dtype);
        return NULL;
    }
    if (to == x->dtype)
        return x; /* as PyTorch's .to: nothing to convert, no copy */
    if (to == AG_I64 && !fits_i64(x))
        return NULL;
    ag_tensor *y;
    if (to == AG_I64 || x->dtype == AG_I64)
        y = ag_tape_tensor(to, x->ndim, x->shape); /* no gradient crosses an integer */
    else
        y = ag_op_result_checked(&OP_CAST, to, x->ndim, x->shape, x->numel, 1, &x, p, sizeof *p);
    if (!y)
        return NULL;
    size_t n = x->numel;
    if (x->dtype == AG_F64 && to == AG_F32) {
        const double *restrict a = x->data;
        float *restrict b = y->data;
        for (size_t i = 0; i < n; i++)
            b[i] = (float)a[i];
    } else if (x->dtype == AG_F32 && to == AG_F64) {
        const float *restrict a = x->data;
        double *restrict b = y->data;
        for (size_t i = 0; i < n; i++)
            b[i] = a[i];
    } else {
        /* Through a double, which holds every f32 and rounds an i64 of more
         * than 53 bits once (to f32: once more, as PyTorch rounds too). */
        for (size_t i = 0; i < n; i++)
            ag_store(y, i, ag_load(x, i));
    }
    return y;
}

ag_tensor *ag_cast(ag_tensor *x, ag_dtype dtype)
{
    return cast_forward(&x, &(cast_params){(int)dtype});
}

static bool cast_vjp(ag_tensor *y, ag_tensor *g, ag_tensor **gin)
{
    return (gin[0] = ag_cast(g, (ag_dtype)y->inputs[0]->dtype)) != NULL;
}

/* The sweep checks an op in f64 (finite differences) and again in f32,
 * expecting a result of the input's dtype, so the example goes to the
 * other dtype and back. A plain round trip through f32 would round every
 * finite difference of an f64 input to f32 precision; instead the value
 * is x exactly (detach(x) + (r − detach(r)) with r the round trip) and the
 * gradient flows only through r: both casts' rules, whose product must be
 * the identity. */
static ag_tensor *cast_example(ag_tensor *const *in)
{
    ag_tensor *x = in[0];
    if (!x)
        return ag_cast(NULL, AG_F64);
    ag_dtype other = x->dtype == AG_F64 ? AG_F32 : AG_F64;
    ag_tensor *r = ag_cast(ag_cast(x, other), (ag_dtype)x->dtype);
    return ag_add(ag_detach(x), ag_sub(r, ag_detach(r)));
}

static ag_op OP_CAST = {.def = {
        .name = "cast",
        .n_inputs = 1,
        .forward = cast_forward,
        .example = cast_example,
        .vjp = cast_vjp,
        .domain_lo = -2,
        .domain_hi = 2,
        .rule = "dx += cast(g, dtype of x)",
    }};

void ag_ops_register_cast(void)
{
    ag_op_register_builtin(&OP_CAST);
}

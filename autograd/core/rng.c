/* SPDX-License-Identifier: MIT */
/* rng.c — a seeded generator (xoshiro256**, seeded through splitmix64),
 * random leaves and random tensors on the tape (randn, rand, bernoulli).
 * Same seed, same numbers, on every platform. */
#include "internal.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ag_rng_seed(ag_rng *rng, uint64_t seed)
{
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "rng_seed: rng is NULL");
        return;
    }
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t ag_rng_next(ag_rng *rng)
{
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "rng_next: rng is NULL");
        return 0;
    }
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ag_rng_uniform(ag_rng *rng)
{
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "rng_uniform: rng is NULL");
        return NAN;
    }
    /* The top 53 bits: every double in [0,1) on the 2^-53 grid, equally likely. */
    return (double)(ag_rng_next(rng) >> 11) * 0x1.0p-53;
}

double ag_rng_normal(ag_rng *rng)
{
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "rng_normal: rng is NULL");
        return NAN;
    }
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1]. */
    double u = 1.0 - ag_rng_uniform(rng), v = ag_rng_uniform(rng);
    return sqrt(-2.0 * log(u)) * cos(2.0 * 3.14159265358979323846 * v);
}

static ag_tensor *random_leaf(const char *what, ag_dtype dtype, int ndim, const int64_t *shape,
                              double a, double b, ag_rng *rng, bool normal)
{
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "%s: rng is NULL (seed one with ag_rng_seed)", what);
        return NULL;
    }
    if (!isfinite(a) || !isfinite(b) || (normal ? b < 0 : !(a < b))) {
        ag_error_set(AG_ERR_VALUE, "%s: bad parameters %g, %g", what, a, b);
        return NULL;
    }
    ag_tensor *t = ag_leaf_new(dtype, ndim, shape);
    if (!t)
        return NULL;
    for (size_t i = 0; i < t->numel; i++)
        ag_store(t, i, normal ? a + b * ag_rng_normal(rng) : a + (b - a) * ag_rng_uniform(rng));
    return t;
}

ag_tensor *ag_rand_uniform(ag_dtype dtype, int ndim, const int64_t *shape, double lo, double hi,
                           ag_rng *rng)
{
    return random_leaf("rand_uniform", dtype, ndim, shape, lo, hi, rng, false);
}

ag_tensor *ag_rand_normal(ag_dtype dtype, int ndim, const int64_t *shape, double mean, double std,
                          ag_rng *rng)
{
    return random_leaf("rand_normal", dtype, ndim, shape, mean, std, rng, true);
}

/* ---- random tensors on the tape ----
 * Made like any unrecorded intermediate (ag_tape_tensor): they die at the
 * tape's reset and carry no gradient. Each element takes the next draw(s)
 * of the stream in row-major order, computed in double; an f32 tensor holds
 * those doubles rounded, so a seed gives the same numbers in either dtype. */

static bool random_args(const char *what, ag_dtype dtype, ag_rng *rng)
{
    if (!rng) {
        ag_error_set(AG_ERR_NULL, "%s: rng is NULL (seed one with ag_rng_seed)", what);
        return false;
    }
    if (dtype != AG_F32 && dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "%s: dtype %s; random tensors are f32 or f64", what,
                     ag_dtype_str(dtype));
        return false;
    }
    return true;
}

ag_tensor *ag_randn(ag_dtype dtype, int ndim, const int64_t *shape, ag_rng *rng)
{
    size_t numel;
    if (!random_args("randn", dtype, rng) || !ag_shape_check("randn", ndim, shape, &numel))
        return NULL;
    ag_tensor *t = ag_tape_tensor(dtype, ndim, shape);
    for (size_t i = 0; t && i < t->numel; i++)
        ag_store(t, i, ag_rng_normal(rng));
    return t;
}

ag_tensor *ag_rand(ag_dtype dtype, int ndim, const int64_t *shape, ag_rng *rng)
{
    size_t numel;
    if (!random_args("rand", dtype, rng) || !ag_shape_check("rand", ndim, shape, &numel))
        return NULL;
    ag_tensor *t = ag_tape_tensor(dtype, ndim, shape);
    if (!t)
        return NULL;
    if (dtype == AG_F64) {
        for (size_t i = 0; i < t->numel; i++)
            ((double *)t->data)[i] = ag_rng_uniform(rng);
        return t;
    }
    /* Rounding to nearest takes a draw within 2^-25 of 1 to 1.0f, outside
     * [0, 1); such a draw becomes the largest float below 1 instead. */
    const float below_one = 1.0f - 0x1p-24f;
    for (size_t i = 0; i < t->numel; i++) {
        float u = (float)ag_rng_uniform(rng);
        ((float *)t->data)[i] = u < 1.0f ? u : below_one;
    }
    return t;
}

/* "[1,2]": the multi-index of flat position i in a shape, for messages. */
static char *format_position(size_t i, int ndim, const int64_t *shape, char *buf, size_t size)
{
    int64_t index[AG_MAX_DIMS];
    for (int d = ndim - 1; d >= 0; d--) {
        index[d] = shape[d] ? (int64_t)(i % (size_t)shape[d]) : 0;
        i = shape[d] ? i / (size_t)shape[d] : 0;
    }
    ag_format_shape(ndim, index, buf, size);
    buf[0] = '[';
    buf[strlen(buf) - 1] = ']';
    return buf;
}

ag_tensor *ag_bernoulli(ag_tensor *p, ag_rng *rng)
{
    if (!ag_check_inputs("bernoulli", 1, &p) || !random_args("bernoulli", p->dtype, rng))
        return NULL;
    /* Every probability is checked before the first draw, so a refused call
     * leaves the stream where it was. */
    for (size_t i = 0; i < p->numel; i++) {
        double v = ag_load(p, i);
        if (!(v >= 0 && v <= 1)) {
            char at[160], s[160];
            ag_error_set(AG_ERR_VALUE, "bernoulli: p%s = %g in p of shape %s; probabilities are in [0, 1]",
                         format_position(i, p->ndim, p->shape, at, sizeof at), v,
                         ag_format_shape(p->ndim, p->shape, s, sizeof s));
            return NULL;
        }
    }
    ag_tensor *t = ag_tape_tensor(p->dtype, p->ndim, p->shape);
    /* u < p with u in [0, 1): never for p = 0, always for p = 1. */
    for (size_t i = 0; t && i < t->numel; i++)
        ag_store(t, i, ag_rng_uniform(rng) < ag_load(p, i) ? 1.0 : 0.0);
    return t;
}

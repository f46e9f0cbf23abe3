/* SPDX-License-Identifier: MIT */
/* rng.c — a seeded generator (xoshiro256**, seeded through splitmix64) and
 * random leaves. Same seed, same numbers, on every platform. */
#include "internal.h"

#include <math.h>

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

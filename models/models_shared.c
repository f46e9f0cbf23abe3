/* SPDX-License-Identifier: MIT */
/* models_shared.c — the helpers of models_internal.h: layer names and
 * checks, and seeded permutations. */
#include "models_internal.h"

#include <stdio.h>

bool ag_layer_name(const char *op, char *buf, size_t size, const char *layer, const char *what)
{
    if ((size_t)snprintf(buf, size, "%s.%s", layer, what) >= size) {
        ag_error_set(AG_ERR_VALUE, "%s: layer name '%.40s...' is too long", op, layer);
        return false;
    }
    return true;
}

bool ag_layer_name_taken(const ag_params *p, const char *name)
{
    bool pending = ag_last_status() != AG_OK;
    bool taken = ag_params_get(p, name) != NULL;
    if (!taken && !pending)
        ag_error_clear();
    return taken;
}

bool ag_layer_positive(const char *op, const char *what, int64_t n)
{
    if (n >= 1)
        return true;
    ag_error_set(AG_ERR_VALUE, "%s: %s is %lld; it must be >= 1", op, what, (long long)n);
    return false;
}

bool ag_layer_float_dtype(const char *op, ag_dtype dtype)
{
    if (dtype == AG_F32 || dtype == AG_F64)
        return true;
    ag_error_set(AG_ERR_DTYPE, "%s: dtype %s; parameters are f32 or f64", op, ag_dtype_str(dtype));
    return false;
}

uint64_t ag_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), without modulo bias: draws below 2^64 mod bound
 * are rejected, so every residue has the same number of preimages. */
static uint64_t below(ag_rng *rng, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t x = ag_rng_next(rng);
        if (x >= threshold)
            return x % bound;
    }
}

void ag_epoch_order(int64_t *perm, int64_t n, bool shuffle, uint64_t seed, uint64_t epoch)
{
    if (!shuffle) {
        for (int64_t i = 0; i < n; i++)
            perm[i] = i;
        return;
    }
    /* The constant keeps these orders apart from ag_dataset_split's for one
     * seed. */
    ag_rng rng;
    ag_rng_seed(&rng, ag_mix64(ag_mix64(seed ^ 0x62617463685f6f72ULL) + epoch));
    ag_permutation(perm, n, &rng);
}

void ag_permutation(int64_t *p, int64_t n, ag_rng *rng)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)below(rng, (uint64_t)i + 1);
        int64_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

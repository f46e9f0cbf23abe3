/* SPDX-License-Identifier: MIT */
/* models_internal.h — what several files of models/ share and users do not
 * see: the checks and names of the layers' inits (conv_layers.c, rnn.c,
 * transformer.c), and seeded permutations (dataset.c, text.c). Built into
 * the library without AG_API, so not exported. */
#ifndef AG_MODELS_INTERNAL_H
#define AG_MODELS_INTERNAL_H

#include "op.h" /* ag_error_set */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<layer>.<what>" into buf; false with AG_ERR_VALUE (naming op) when it
 * does not fit. */
bool ag_layer_name(const char *op, char *buf, size_t size, const char *layer, const char *what);
/* Whether p holds `name`, without leaving the lookup's AG_ERR_NOTFOUND
 * behind (an error pending before the call stays). */
bool ag_layer_name_taken(const ag_params *p, const char *name);
/* n >= 1, else false with AG_ERR_VALUE naming op, what and n. */
bool ag_layer_positive(const char *op, const char *what, int64_t n);
/* f32 or f64, else false with AG_ERR_DTYPE naming op and the dtype. */
bool ag_layer_float_dtype(const char *op, ag_dtype dtype);

/* SplitMix64's finaliser: a seed and an epoch number mixed into the seed
 * of one epoch's order. */
uint64_t ag_mix64(uint64_t z);
/* p = a uniformly random permutation of 0..n-1 (Fisher-Yates, with draws
 * of rng free of modulo bias), the same for a seed on every platform. */
void ag_permutation(int64_t *p, int64_t n, ag_rng *rng);
/* perm = the order of rows 0..n-1 in epoch `epoch` of ag_batches with this
 * seed: shuffled by a seed mixed from both (so epoch k is the same whatever
 * ran before it), or 0..n-1 without shuffle. ag_ddp_batches uses the same
 * order, so N ranks' shards make up ag_batches' global batches. */
void ag_epoch_order(int64_t *perm, int64_t n, bool shuffle, uint64_t seed, uint64_t epoch);

#endif

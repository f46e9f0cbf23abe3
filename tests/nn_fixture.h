/* SPDX-License-Identifier: MIT */
/* nn_fixture.h — what the suites of ops/nn.c (check-nn.c,
 * check-nn_grad.c) share, on top of harness.h: i64 labels kept by the
 * harness, the logistic function computed with <math.h>, and moderate
 * logits exact in f32.
 *
 * Built into the harness library (tests/meson.build); a suite that uses
 * none of it links none of it. */
#ifndef AG_TEST_NN_FIXTURE_H
#define AG_TEST_NN_FIXTURE_H

#include "harness.h"

/* A kept 1-D i64 leaf of n labels. */
ag_tensor *labels(int n, const int64_t *values);
/* Literal labels: H_IDX(1, 0, 2). */
#define H_IDX(...) ((const int64_t[]){__VA_ARGS__})

/* σ(z) = 1/(1 + e^−z), the naive formula (fine for moderate z). */
double sigma(double z);

/* Logits for the moderate tests: (3,4), exact in f32. */
extern const double Z34[12];

#endif

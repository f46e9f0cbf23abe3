/* SPDX-License-Identifier: MIT */
/* layout_fixture.h — what the layout suites (check-layout.c,
 * check-layout_grad.c) share, on top of harness.h.
 *
 * Built into the harness library (tests/meson.build); a suite that uses
 * none of it links none of it. */
#ifndef AG_TEST_LAYOUT_FIXTURE_H
#define AG_TEST_LAYOUT_FIXTURE_H

#include "harness.h"

/* A kept leaf whose element at flat index i is 100 + i: values that are
 * not their own indices, so a wrong position cannot pass by accident. At
 * most 256 elements. */
ag_tensor *counting(ag_dtype dtype, int ndim, const int64_t *shape);

#endif

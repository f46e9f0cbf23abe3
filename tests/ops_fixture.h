/* SPDX-License-Identifier: MIT */
/* ops_fixture.h — what the core-op suites (check-ops.c, check-matmul.c)
 * share, on top of harness.h.
 *
 * Built into the harness library (tests/meson.build); a suite that uses
 * none of it links none of it. */
#ifndef AG_TEST_OPS_FIXTURE_H
#define AG_TEST_OPS_FIXTURE_H

#include "harness.h"

/* Six values exactly representable in f32, so both dtypes see the same
 * inputs; 0 among them. */
extern const double A6[6];

#endif

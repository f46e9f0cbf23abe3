/* SPDX-License-Identifier: MIT */
/* ops_fixture.c — the core-op suites' shared values (see ops_fixture.h). */
#include "ops_fixture.h"

const double A6[6] = {-1.5, -0.25, 0.0, 0.5, 2.0, 3.75};

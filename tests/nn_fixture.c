/* SPDX-License-Identifier: MIT */
/* nn_fixture.c — the nn suites' shared helpers (see nn_fixture.h). */
#include "nn_fixture.h"

ag_tensor *labels(int n, const int64_t *values)
{
    ag_tensor *t = h_keep(ag_from_array(AG_I64, 1, H_SHAPE(n), values));
    ck_assert_msg(t != NULL, "from_array: %s", ag_last_error());
    return t;
}

double sigma(double z)
{
    return 1 / (1 + exp(-z));
}

const double Z34[12] = {0.5, -1.25, 2, 0.75, -0.5, 1.5, -2, 0.25, 3, -3, 1, 0};

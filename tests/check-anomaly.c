/* SPDX-License-Identifier: MIT */
/* check-anomaly.c — anomaly mode: a NaN is traced to the op, label and
 * source line that made it, in the forward pass and in the backward sweep. */
#include "harness.h"

#include <stdio.h>

static int planted_line;

/* A small model with log of a negative number three ops deep. */
static ag_tensor *model(ag_tensor *x, ag_tensor *w)
{
    ag_tensor *h = ag_tanh(ag_matmul(x, w));
    ag_tensor *shifted = ag_add_scalar(h, -2.0); /* tanh − 2 < 0 everywhere */
    planted_line = __LINE__ + 1;
    ag_tensor *bad = ag_log(shifted);
    ag_set_label(bad, "log_h");
    return ag_mean(ag_mul(bad, bad));
}

START_TEST(test_forward_nan_names_op_label_and_line)
{
    ag_anomaly_mode_set(true);
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *w = h_param(AG_F64, 2, H_SHAPE(2, 1), H_VALS(0.5, -0.25));
    ag_tensor *loss = model(x, w);
    ag_anomaly_mode_set(false);
    ck_assert(loss == NULL);
    char where[64];
    snprintf(where, sizeof where, "check-anomaly.c:%d", planted_line);
    ck_assert_error(AG_ERR_NUMERIC, where);
    ck_assert_error(AG_ERR_NUMERIC, "op 'log'");
    ck_assert_error(AG_ERR_NUMERIC, "log_h");
    ck_assert_error(AG_ERR_NUMERIC, "NaN");
    ck_assert_error(AG_ERR_NUMERIC, "in model");
}
END_TEST

START_TEST(test_off_by_default_lets_nan_through)
{
    ck_assert(!ag_anomaly_mode());
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *w = h_param(AG_F64, 2, H_SHAPE(2, 1), H_VALS(0.5, -0.25));
    ag_tensor *loss = model(x, w);
    ck_assert_tensor(loss);
    ck_assert(isnan(ag_item(loss)));
    ck_assert_ok();
}
END_TEST

/* sqrt at 0 is finite, its gradient 1/(2·0) is not: the sweep reports it. */
START_TEST(test_backward_inf_names_the_rule)
{
    ag_anomaly_mode_set(true);
    ag_tensor *x = h_param(AG_F64, 1, H_SHAPE(3), H_VALS(1, 0, 4));
    ag_tensor *r = ag_sqrt(x);
    ag_set_label(r, "root");
    ag_tensor *loss = ag_sum(r);
    ck_assert_tensor(loss);
    bool ok = ag_backward(loss);
    ag_anomaly_mode_set(false);
    ck_assert(!ok);
    ck_assert_error(AG_ERR_NUMERIC, "rule of op 'sqrt'");
    ck_assert_error(AG_ERR_NUMERIC, "root");
    ck_assert_error(AG_ERR_NUMERIC, "check-anomaly.c:");
}
END_TEST

START_TEST(test_location_recorded)
{
    ag_anomaly_mode_set(true);
    ag_tensor *x = h_pscalar(AG_F64, 2.0);
    int line = __LINE__ + 1;
    ag_tensor *y = ag_exp(x);
    ag_anomaly_mode_set(false);
    char buf[256], want[64];
    snprintf(want, sizeof want, "check-anomaly.c:%d in test_location_recorded", line);
    ck_assert_msg(strstr(ag_node_location(y, buf, sizeof buf), want) != NULL, "location \"%s\"", buf);
}
END_TEST

static Suite *anomaly_suite(void)
{
    Suite *s = suite_create("anomaly");
    TCase *tc = h_tcase(s, "anomaly mode", H_TIMEOUT);
    tcase_add_test(tc, test_forward_nan_names_op_label_and_line);
    tcase_add_test(tc, test_off_by_default_lets_nan_through);
    tcase_add_test(tc, test_backward_inf_names_the_rule);
    tcase_add_test(tc, test_location_recorded);
    return s;
}

H_MAIN(anomaly_suite)

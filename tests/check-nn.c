/* SPDX-License-Identifier: MIT */
/* check-nn.c — softmax, log_softmax and the losses of ops/nn.c:
 * bce_with_logits (mean, sum, none), cross_entropy with i64 labels, nll and
 * mse — their values, their first derivatives and their errors.
 *
 * Expected values come from the closed forms, computed here with <math.h>:
 * softmax as e^x / Σ e^x, the binary cross-entropy as −[y ln σ(z) +
 * (1 − y) ln(1 − σ(z))] with σ(z) = 1/(1 + e^−z), the cross-entropy as
 * −ln(e^z_label / Σ e^z) — the naive formulas, fine for moderate logits —
 * and their gradients softmax − one_hot and σ(z) − y. For logits of ±1000
 * (where the naive forms overflow) the exact values are worked out by hand
 * in the comments. Both dtypes throughout.
 *
 * The losses as primitives (kernels against rules, second derivatives) and
 * the gradient checks are in check-nn_grad.c; the labels, σ and the logits
 * Z34 that both use are in nn_fixture.[ch]. */
#include "nn_fixture.h"

/* ---- softmax, log_softmax ---- */

START_TEST(test_softmax_rows)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 4), Z34);
    ag_tensor *s = ag_softmax(x, 1);
    ck_assert_shape(s, 2, H_SHAPE(3, 4));
    double p[12];
    for (int i = 0; i < 3; i++) {
        double sum = 0, rowsum = 0;
        for (int j = 0; j < 4; j++)
            sum += exp(Z34[i * 4 + j]);
        for (int j = 0; j < 4; j++) {
            p[i * 4 + j] = exp(Z34[i * 4 + j]) / sum;
            rowsum += ag_get_flat(s, (size_t)(i * 4 + j));
        }
        /* Four terms in [0, 1] added in double: 1 to rounding of the
         * dtype's values. */
        ck_assert_near(rowsum, 1, h_rtol(dt), 0);
    }
    ck_assert_values(s, 12, p, h_rtol(dt), h_atol(dt));
    /* d Σ w ⊙ softmax / dx = p ⊙ (w − Σ_j p_j w_j) per row. */
    const double w[12] = {1, 2, 3, 4, -1, 0.5, 2, 0, 1, 1, -2, 3};
    ag_tensor *W = h_arr(dt, 2, H_SHAPE(3, 4), w);
    ck_assert(ag_backward(ag_sum(ag_mul(s, W))));
    for (int i = 0; i < 3; i++) {
        double pw = 0;
        for (int j = 0; j < 4; j++)
            pw += p[i * 4 + j] * w[i * 4 + j];
        for (int j = 0; j < 4; j++) {
            size_t k = (size_t)(i * 4 + j);
            ck_assert_near(h_grad_at(x, k), p[k] * (w[k] - pw), h_rtol(dt), h_atol(dt));
        }
    }
    ag_tape_reset(NULL);
    /* Along axis 0 (columns). */
    ag_tensor *c = ag_softmax(x, 0);
    for (int j = 0; j < 4; j++) {
        double sum = 0;
        for (int i = 0; i < 3; i++)
            sum += exp(Z34[i * 4 + j]);
        for (int i = 0; i < 3; i++)
            ck_assert_near(ag_get_flat(c, (size_t)(i * 4 + j)), exp(Z34[i * 4 + j]) / sum,
                           h_rtol(dt), h_atol(dt));
    }
}
END_TEST

START_TEST(test_log_softmax)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 4), Z34);
    ag_tensor *l = ag_log_softmax(x, -1);
    ck_assert_shape(l, 2, H_SHAPE(3, 4));
    double p[12], want[12];
    for (int i = 0; i < 3; i++) {
        double sum = 0;
        for (int j = 0; j < 4; j++)
            sum += exp(Z34[i * 4 + j]);
        for (int j = 0; j < 4; j++) {
            p[i * 4 + j] = exp(Z34[i * 4 + j]) / sum;
            want[i * 4 + j] = log(p[i * 4 + j]);
        }
    }
    ck_assert_values(l, 12, want, h_rtol(dt), h_atol(dt));
    /* d Σ w ⊙ log_softmax / dx = w − p Σ_j w_j per row. */
    const double w[12] = {1, 2, 3, 4, -1, 0.5, 2, 0, 1, 1, -2, 3};
    ag_tensor *W = h_arr(dt, 2, H_SHAPE(3, 4), w);
    ck_assert(ag_backward(ag_sum(ag_mul(l, W))));
    for (int i = 0; i < 3; i++) {
        double sw = 0;
        for (int j = 0; j < 4; j++)
            sw += w[i * 4 + j];
        for (int j = 0; j < 4; j++) {
            size_t k = (size_t)(i * 4 + j);
            ck_assert_near(h_grad_at(x, k), w[k] - p[k] * sw, h_rtol(dt), h_atol(dt));
        }
    }
}
END_TEST

START_TEST(test_softmax_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Rows [1000,-1000], [1000,1000], [-1000,-1000], [-1000, 0]:
     * softmax   [1, e^-2000 = 0], [.5,.5], [.5,.5], [0, 1];
     * log_sm    [0, -2000],       [-ln2, -ln2] twice, [-1000, 0]. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(4, 2), H_VALS(1000, -1000, 1000, 1000, -1000, -1000, -1000, 0));
    ag_tensor *s = ag_softmax(x, 1);
    ag_tensor *l = ag_log_softmax(x, 1);
    ck_assert_values(s, 8, H_VALS(1, 0, 0.5, 0.5, 0.5, 0.5, 0, 1), h_rtol(dt), 0);
    const double want[8] = {0, -2000, -log(2.0), -log(2.0), -log(2.0), -log(2.0), -1000, 0};
    /* Exactly representable (0, -2000, -1000) or ln 2 to the dtype. */
    ck_assert_values(l, 8, want, h_rtol(dt), 0);
    /* d Σ log_softmax ⊙ w / dx with w = e_0 in each row: one_hot − softmax. */
    ag_tensor *w = h_arr(dt, 2, H_SHAPE(4, 2), H_VALS(1, 0, 1, 0, 1, 0, 1, 0));
    ck_assert(ag_backward(ag_sum(ag_mul(l, w))));
    ck_assert_values(ag_grad_of(x), 8, H_VALS(0, 0, 0.5, -0.5, 0.5, -0.5, 1, -1), h_rtol(dt), 0);
}
END_TEST

/* ---- bce_with_logits ---- */

START_TEST(test_bce_with_logits)
{
    ag_dtype dt = H_DTYPES[_i];
    const double z[6] = {-2, -0.5, 0, 0.25, 1.5, 3};
    const double y[6] = {0, 1, 0.5, 1, 0, 0.75};
    double want[6], dz[6], dy[6], sum = 0;
    for (int i = 0; i < 6; i++) {
        double p = sigma(z[i]);
        want[i] = -(y[i] * log(p) + (1 - y[i]) * log(1 - p));
        dz[i] = p - y[i];
        dy[i] = -z[i]; /* d/dy of −[y ln σ + (1−y) ln(1−σ)] = ln(1−σ) − ln σ = −z */
        sum += want[i];
    }
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        ag_tensor *Z = h_param(dt, 2, H_SHAPE(2, 3), z);
        ag_tensor *Y = h_param(dt, 2, H_SHAPE(2, 3), y);
        ag_tensor *L = ag_bce_with_logits(Z, Y, red[r]);
        ck_assert_tensor(L);
        double scale = 1;
        if (red[r] == AG_REDUCE_NONE) {
            ck_assert_shape(L, 2, H_SHAPE(2, 3));
            ck_assert_values(L, 6, want, h_rtol(dt), h_atol(dt));
            L = ag_sum(L);
        } else {
            ck_assert_shape(L, 0, NULL);
            scale = red[r] == AG_REDUCE_MEAN ? 1.0 / 6 : 1;
            ck_assert_near(ag_item(L), sum * scale, h_rtol(dt), h_atol(dt));
        }
        ck_assert(ag_backward(L));
        for (size_t i = 0; i < 6; i++) {
            ck_assert_near(h_grad_at(Z, i), dz[i] * scale, h_rtol(dt), h_atol(dt));
            ck_assert_near(h_grad_at(Y, i), dy[i] * scale, h_rtol(dt), h_atol(dt));
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_bce_with_logits_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    /* ℓ = softplus(z) − z y:
     *   z =  1000, y = 0   -> 1000        z =  1000, y = 1   -> 0
     *   z = -1000, y = 1   -> 1000        z = -1000, y = 0   -> 0
     *   z =  1000, y = 0.5 -> 500         z = -1000, y = 0.5 -> 500
     * (softplus(±1000) = 1000 or 0 exactly, see check-elementwise). */
    ag_tensor *Z = h_param(dt, 1, H_SHAPE(6), H_VALS(1000, 1000, -1000, -1000, 1000, -1000));
    ag_tensor *Y = h_arr(dt, 1, H_SHAPE(6), H_VALS(0, 1, 1, 0, 0.5, 0.5));
    ag_tensor *L = ag_bce_with_logits(Z, Y, AG_REDUCE_NONE);
    ck_assert_values(L, 6, H_VALS(1000, 0, 1000, 0, 500, 500), 0, 0);
    ag_tensor *S = ag_bce_with_logits(Z, Y, AG_REDUCE_SUM);
    ck_assert_near(ag_item(S), 3000, 0, 0);
    ag_tensor *M = ag_bce_with_logits(Z, Y, AG_REDUCE_MEAN);
    ck_assert_near(ag_item(M), 500, h_rtol(dt), 0);
    /* σ(z) − y: σ(1000) = 1 and σ(-1000) = 0 exactly in both dtypes. */
    ck_assert(ag_backward(S));
    ck_assert_values(ag_grad_of(Z), 6, H_VALS(1, 0, -1, 0, 0.5, -0.5), 0, 0);
}
END_TEST

/* ---- cross_entropy, nll ---- */

START_TEST(test_cross_entropy)
{
    ag_dtype dt = H_DTYPES[_i];
    const int64_t lab[3] = {2, 0, 3};
    double loss[3], sm[12], total = 0;
    for (int i = 0; i < 3; i++) {
        double sum = 0;
        for (int j = 0; j < 4; j++)
            sum += exp(Z34[i * 4 + j]);
        for (int j = 0; j < 4; j++)
            sm[i * 4 + j] = exp(Z34[i * 4 + j]) / sum;
        loss[i] = -log(exp(Z34[i * 4 + lab[i]]) / sum);
        total += loss[i];
    }
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 4), Z34);
        ag_tensor *L = ag_cross_entropy(x, labels(3, lab), red[r]);
        ck_assert_tensor(L);
        double scale = 1;
        if (red[r] == AG_REDUCE_NONE) {
            ck_assert_shape(L, 1, H_SHAPE(3));
            ck_assert_values(L, 3, loss, h_rtol(dt), h_atol(dt));
            L = ag_sum(L);
        } else {
            ck_assert_shape(L, 0, NULL);
            scale = red[r] == AG_REDUCE_MEAN ? 1.0 / 3 : 1; /* mean over the N rows */
            ck_assert_near(ag_item(L), total * scale, h_rtol(dt), h_atol(dt));
        }
        /* (softmax − one_hot) · scale */
        ck_assert(ag_backward(L));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                size_t k = (size_t)(i * 4 + j);
                double want = (sm[k] - (j == lab[i] ? 1 : 0)) * scale;
                ck_assert_near(h_grad_at(x, k), want, h_rtol(dt), h_atol(dt));
            }
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_cross_entropy_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Rows [1000,-1000] label 1 -> logsumexp − z_1 = 1000 + 1000 = 2000;
     * [1000,-1000] label 0 -> 0; [-1000,1000] label 1 -> 0;
     * [1000,1000] label 0 -> ln 2; [-1000,-1000] label 1 -> ln 2. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(5, 2),
                           H_VALS(1000, -1000, 1000, -1000, -1000, 1000, 1000, 1000, -1000, -1000));
    ag_tensor *lab = labels(5, H_IDX(1, 0, 1, 0, 1));
    ag_tensor *L = ag_cross_entropy(x, lab, AG_REDUCE_NONE);
    const double want[5] = {2000, 0, 0, log(2.0), log(2.0)};
    ck_assert_values(L, 5, want, h_rtol(dt), 0);
    ck_assert(ag_backward(ag_sum(L)));
    /* softmax − one_hot: [1,-1], [0,0], [0,0], [-.5,.5], [.5,-.5]. */
    ck_assert_values(ag_grad_of(x), 10, H_VALS(1, -1, 0, 0, 0, 0, -0.5, 0.5, 0.5, -0.5),
                     h_rtol(dt), 0);
    ag_tape_reset(NULL);
    ag_zero_grad(x);
    ag_tensor *M = ag_cross_entropy(x, lab, AG_REDUCE_MEAN);
    ck_assert_near(ag_item(M), (2000 + 2 * log(2.0)) / 5, h_rtol(dt), 0);
    ag_tensor *N = ag_nll(ag_log_softmax(x, 1), lab, AG_REDUCE_SUM);
    ck_assert_near(ag_item(N), 2000 + 2 * log(2.0), h_rtol(dt), 0);
}
END_TEST

START_TEST(test_nll)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Any scores: ℓ_i = −logp[i, label_i]. logp = [[-1,-2,-3],[-0.5,-4,-0.25]]. */
    ag_tensor *lp = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(-1, -2, -3, -0.5, -4, -0.25));
    ag_tensor *lab = labels(2, H_IDX(1, 2));
    ag_tensor *L = ag_nll(lp, lab, AG_REDUCE_NONE);
    ck_assert_shape(L, 1, H_SHAPE(2));
    ck_assert_values(L, 2, H_VALS(2, 0.25), 0, 0);
    ag_tensor *M = ag_nll(lp, lab, AG_REDUCE_MEAN);
    ck_assert_values(M, 1, H_VALS(1.125), 0, 0);
    ck_assert(ag_backward(M));
    /* −1/N at each label's position. */
    ck_assert_values(ag_grad_of(lp), 6, H_VALS(0, -0.5, 0, 0, 0, -0.5), 0, 0);
    ag_tape_reset(NULL);
    ag_zero_grad(lp);
    ag_tensor *S = ag_nll(lp, lab, AG_REDUCE_SUM);
    ck_assert_values(S, 1, H_VALS(2.25), 0, 0);
    ck_assert(ag_backward(S));
    ck_assert_values(ag_grad_of(lp), 6, H_VALS(0, -1, 0, 0, 0, -1), 0, 0);
}
END_TEST

/* ---- mse ---- */

START_TEST(test_mse)
{
    ag_dtype dt = H_DTYPES[_i];
    /* pred and target (2,3): one difference per element. */
    const double p[6] = {1, 2, 3, -1, 0.5, 4};
    const double t[6] = {0.5, 2, -1, 1.5, -0.5, 4.25};
    double want[6], total = 0;
    for (int i = 0; i < 6; i++) {
        want[i] = (p[i] - t[i]) * (p[i] - t[i]);
        total += want[i];
    }
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        ag_tensor *P = h_param(dt, 2, H_SHAPE(2, 3), p);
        ag_tensor *T = h_param(dt, 2, H_SHAPE(2, 3), t);
        ag_tensor *L = ag_mse(P, T, red[r]);
        ck_assert_tensor(L);
        double scale = 1;
        if (red[r] == AG_REDUCE_NONE) {
            ck_assert_shape(L, 2, H_SHAPE(2, 3));
            ck_assert_values(L, 6, want, h_rtol(dt), h_atol(dt));
            L = ag_sum(L);
        } else {
            scale = red[r] == AG_REDUCE_MEAN ? 1.0 / 6 : 1;
            ck_assert_near(ag_item(L), total * scale, h_rtol(dt), h_atol(dt));
        }
        ck_assert(ag_backward(L));
        /* dP = 2(p − t)·scale; dT = −2(p − t)·scale. */
        for (int i = 0; i < 6; i++) {
            ck_assert_near(h_grad_at(P, (size_t)i), 2 * (p[i] - t[i]) * scale, h_rtol(dt),
                           h_atol(dt));
            ck_assert_near(h_grad_at(T, (size_t)i), -2 * (p[i] - t[i]) * scale, h_rtol(dt),
                           h_atol(dt));
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- errors ---- */

START_TEST(test_label_errors)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(3, 4), Z34);
    /* A label out of [0, C): the label and its position. */
    ck_assert_ptr_null(ag_cross_entropy(x, labels(3, H_IDX(0, 3, 4)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_VALUE, "cross_entropy");
    ck_assert_error(AG_ERR_VALUE, "label 4");
    ck_assert_error(AG_ERR_VALUE, "position 2");
    ag_error_clear();
    ck_assert_ptr_null(ag_cross_entropy(x, labels(3, H_IDX(-1, 0, 0)), AG_REDUCE_SUM));
    ck_assert_error(AG_ERR_VALUE, "label -1");
    ck_assert_error(AG_ERR_VALUE, "position 0");
    ag_error_clear();
    ck_assert_ptr_null(ag_nll(x, labels(3, H_IDX(1, 9, 0)), AG_REDUCE_NONE));
    ck_assert_error(AG_ERR_VALUE, "nll");
    ck_assert_error(AG_ERR_VALUE, "label 9");
    ck_assert_error(AG_ERR_VALUE, "position 1");
    ag_error_clear();
    /* Labels must be i64. */
    ag_tensor *fl = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(0, 1, 2));
    ck_assert_ptr_null(ag_cross_entropy(x, fl, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "cross_entropy");
    ck_assert_error(AG_ERR_DTYPE, "i64");
    ag_error_clear();
    ck_assert_ptr_null(ag_nll(x, h_arr(AG_F32, 1, H_SHAPE(3), H_VALS(0, 1, 2)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "nll");
    ag_error_clear();
    ck_assert_ptr_null(ag_cross_entropy(x, NULL, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_NULL, "cross_entropy");
    ag_error_clear();
    /* Shapes: N labels for N rows of a 2-D score matrix. */
    ck_assert_ptr_null(ag_cross_entropy(x, labels(2, H_IDX(0, 1)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_SHAPE, "cross_entropy");
    ck_assert_error(AG_ERR_SHAPE, "(3,4)");
    ag_error_clear();
    ag_tensor *v = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_nll(v, labels(1, H_IDX(0)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_SHAPE, "nll");
    ag_error_clear();
    /* Integer logits. */
    ag_tensor *ix = h_arr(AG_I64, 2, H_SHAPE(3, 4), NULL);
    ck_assert_ptr_null(ag_cross_entropy(ix, labels(3, H_IDX(0, 0, 0)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "cross_entropy");
    ag_error_clear();
}
END_TEST

START_TEST(test_bce_errors)
{
    ag_tensor *z = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ag_tensor *y = h_arr(AG_F64, 1, H_SHAPE(3), NULL);
    /* Logits and targets of one shape (no broadcasting). */
    ck_assert_ptr_null(ag_bce_with_logits(z, y, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_SHAPE, "bce_with_logits");
    ck_assert_error(AG_ERR_SHAPE, "(2,3)");
    ag_error_clear();
    ag_tensor *y32 = h_arr(AG_F32, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_bce_with_logits(z, y32, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "bce_with_logits");
    ag_error_clear();
    ag_tensor *y64 = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_bce_with_logits(z, y64, (ag_reduction)7));
    ck_assert_error(AG_ERR_VALUE, "bce_with_logits");
    ag_error_clear();
}
END_TEST

START_TEST(test_mse_shape_error_names_op)
{
    /* Shapes that differ: the message names mse and both shapes. */
    ag_tensor *p = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ag_tensor *t = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_mse(p, t, AG_REDUCE_MEAN));
    ck_assert_status(AG_ERR_SHAPE);
    ck_assert_msg(strstr(ag_last_error(), "(2,3)") && strstr(ag_last_error(), "(4"),
                  "message \"%s\" does not name both shapes", ag_last_error());
    ck_assert_error(AG_ERR_SHAPE, "mse");
}
END_TEST

START_TEST(test_softmax_axis_error_names_op)
{
    /* An axis out of range: the message names the op the caller used. */
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_softmax(x, 2));
    ck_assert_error(AG_ERR_VALUE, "axis 2");
    ck_assert_error(AG_ERR_VALUE, "softmax");
    ag_error_clear();
    ck_assert_ptr_null(ag_log_softmax(x, -3));
    ck_assert_error(AG_ERR_VALUE, "axis -3");
    ck_assert_error(AG_ERR_VALUE, "log_softmax");
}
END_TEST

Suite *nn_suite(void);
Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = h_tcase(s, "softmax", H_TIMEOUT);
    tcase_add_loop_test(tc, test_softmax_rows, 0, 2);
    tcase_add_loop_test(tc, test_log_softmax, 0, 2);
    tcase_add_loop_test(tc, test_softmax_extremes, 0, 2);
    tc = h_tcase(s, "bce_with_logits", H_TIMEOUT);
    tcase_add_loop_test(tc, test_bce_with_logits, 0, 2);
    tcase_add_loop_test(tc, test_bce_with_logits_extremes, 0, 2);
    tc = h_tcase(s, "cross_entropy and nll", H_TIMEOUT);
    tcase_add_loop_test(tc, test_cross_entropy, 0, 2);
    tcase_add_loop_test(tc, test_cross_entropy_extremes, 0, 2);
    tcase_add_loop_test(tc, test_nll, 0, 2);
    tc = h_tcase(s, "mse", H_TIMEOUT);
    tcase_add_loop_test(tc, test_mse, 0, 2);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_label_errors);
    tcase_add_test(tc, test_bce_errors);
    tcase_add_test(tc, test_mse_shape_error_names_op);
    tcase_add_test(tc, test_softmax_axis_error_names_op);
    return s;
}

H_MAIN(nn_suite)

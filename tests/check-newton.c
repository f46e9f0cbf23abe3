/* SPDX-License-Identifier: MIT */
/* check-newton.c — Newton's method for L2-penalised logistic regression on
 * the standardized Breast Cancer Wisconsin data, with the Hessian from the
 * engine (issue: gradients of gradients).
 *
 * Independent checks: the optimum's first-order condition written out with
 * plain loops (Xᵀ(σ(Xw + b) − y)/n + λw = 0, Σ(σ − y)/n = 0), and plain
 * gradient descent reaching the same point. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef AG_DATA_DIR_PATH
#define AG_DATA_DIR_PATH "examples/data"
#endif

static const double LAMBDA = 1e-2;

typedef struct problem {
    ag_dataset *d;
    ag_standardizer s;
    ag_tensor *Xa, *y, *mask; /* [X 1], 0/1 targets, 1 on weights and 0 on the bias */
    int64_t n, p;
} problem;

static bool load(problem *pr)
{
    const char *dir = getenv("AG_DATA_DIR") ? getenv("AG_DATA_DIR") : AG_DATA_DIR_PATH;
    char path[1024];
    snprintf(path, sizeof path, "%s/wdbc.csv", dir);
    pr->d = ag_csv_load(path, &(ag_csv_options){.label_column = "benign", .dtype = AG_F64});
    if (!pr->d || !ag_standardizer_fit(&pr->s, pr->d) || !ag_standardizer_apply(&pr->s, pr->d))
        return false;
    pr->n = pr->d->n;
    pr->p = pr->d->d + 1;
    pr->Xa = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(pr->n, pr->p)));
    for (int64_t i = 0; i < pr->n; i++) {
        for (int64_t j = 0; j + 1 < pr->p; j++)
            ag_set_flat(pr->Xa, (size_t)(i * pr->p + j),
                        ag_get_flat(pr->d->X, (size_t)(i * (pr->p - 1) + j)));
        ag_set_flat(pr->Xa, (size_t)(i * pr->p + pr->p - 1), 1.0);
    }
    pr->y = h_keep(ag_dataset_targets(pr->d, AG_F64));
    pr->mask = h_keep(ag_ones(AG_F64, 2, H_SHAPE(pr->p, 1)));
    ag_set_flat(pr->mask, (size_t)(pr->p - 1), 0.0);
    return pr->y != NULL;
}

static void unload(problem *pr)
{
    ag_standardizer_free(&pr->s);
    ag_dataset_free(pr->d);
}

static ag_tensor *loss_of(const problem *pr, ag_tensor *theta)
{
    return ag_add(ag_bce_with_logits(ag_matmul(pr->Xa, theta), pr->y, AG_REDUCE_MEAN),
                  ag_mul_scalar(ag_sum(ag_square(ag_mul(theta, pr->mask))), 0.5 * LAMBDA));
}

/* Gaussian elimination with partial pivoting, for H Δ = g. */
static void solve(int n, double *A, double *b)
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(A[r * n + c]) > fabs(A[piv * n + c]))
                piv = r;
        for (int k = 0; k < n; k++) {
            double t = A[c * n + k];
            A[c * n + k] = A[piv * n + k];
            A[piv * n + k] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = c + 1; r < n; r++) {
            double f = A[r * n + c] / A[c * n + c];
            for (int k = c; k < n; k++)
                A[r * n + k] -= f * A[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        for (int k = r + 1; k < n; k++)
            b[r] -= A[r * n + k] * b[k];
        b[r] /= A[r * n + r];
    }
}

/* The gradient of the penalised mean NLL, with loops: no engine involved. */
static double hand_gradient_norm(const problem *pr, const double *theta)
{
    double g[64] = {0};
    int64_t n = pr->n, p = pr->p;
    for (int64_t i = 0; i < n; i++) {
        double z = 0;
        for (int64_t j = 0; j < p; j++)
            z += ag_get_flat(pr->Xa, (size_t)(i * p + j)) * theta[j];
        double r = 1 / (1 + exp(-z)) - ag_get_flat(pr->y, (size_t)i);
        for (int64_t j = 0; j < p; j++)
            g[j] += ag_get_flat(pr->Xa, (size_t)(i * p + j)) * r / (double)n;
    }
    double s = 0;
    for (int64_t j = 0; j < p; j++) {
        if (j + 1 < p)
            g[j] += LAMBDA * theta[j];
        s += g[j] * g[j];
    }
    return sqrt(s);
}

START_TEST(test_newton_converges_in_few_steps)
{
    problem pr;
    ck_assert_msg(load(&pr), "%s", ag_last_error());
    ck_assert_int_le(pr.p, 64);
    int p = (int)pr.p;
    ag_tensor *theta = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(pr.p, 1)));
    ck_assert(ag_set_requires_grad(theta, true));
    double H[64 * 64], step[64], gn = INFINITY;
    int it;
    for (it = 0; it < 15; it++) {
        ag_tensor *L = loss_of(&pr, theta), *g;
        ck_assert(ag_grad(1, &L, NULL, 1, &theta, AG_GRAD_CREATE_GRAPH, &g));
        ag_tensor *Hm = ag_hessian(L, theta);
        ck_assert_tensor(Hm);
        for (int i = 0; i < p * p; i++)
            H[i] = ag_get_flat(Hm, (size_t)i);
        for (int i = 0; i < p; i++)
            step[i] = ag_get_flat(g, (size_t)i);
        solve(p, H, step);
        for (int i = 0; i < p; i++)
            ag_set_flat(theta, (size_t)i, ag_get_flat(theta, (size_t)i) - step[i]);
        ag_tape_reset(NULL);
        double th[64];
        for (int i = 0; i < p; i++)
            th[i] = ag_get_flat(theta, (size_t)i);
        gn = hand_gradient_norm(&pr, th);
        if (gn < 1e-10)
            break;
    }
    ck_assert_msg(gn < 1e-10, "gradient norm %.3e after %d Newton steps", gn, it + 1);
    ck_assert_int_le(it + 1, 15);

    /* Gradient descent from zero reaches the same optimum. */
    double newton[64];
    for (int i = 0; i < p; i++) {
        newton[i] = ag_get_flat(theta, (size_t)i);
        ag_set_flat(theta, (size_t)i, 0.0);
    }
    double gd_norm = INFINITY;
    for (int k = 0; k < 20000 && gd_norm >= 1e-9; k++) {
        ag_zero_grad(theta);
        ck_assert(ag_backward(loss_of(&pr, theta)));
        const ag_tensor *g = ag_grad_of(theta);
        gd_norm = 0;
        for (int i = 0; i < p; i++)
            gd_norm += ag_get_flat(g, (size_t)i) * ag_get_flat(g, (size_t)i);
        gd_norm = sqrt(gd_norm);
        ag_sgd_update(theta, 0.2);
        ag_tape_reset(NULL);
    }
    ck_assert_msg(gd_norm < 1e-9, "gradient descent stalled at %.3e", gd_norm);
    for (int i = 0; i < p; i++)
        ck_assert_near(ag_get_flat(theta, (size_t)i), newton[i], 0, 1e-6);
    unload(&pr);
}
END_TEST

static Suite *newton_suite(void)
{
    Suite *s = suite_create("newton");
    TCase *tc = h_tcase(s, "newton", 300);
    tcase_add_test(tc, test_newton_converges_in_few_steps);
    return s;
}

H_MAIN(newton_suite)

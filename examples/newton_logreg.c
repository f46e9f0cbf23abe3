/* SPDX-License-Identifier: MIT */
/* newton_logreg.c — Newton's method for the lecture's maximum-likelihood
 * problem, with the Hessian from the engine.
 *
 *   newton_logreg [data-dir]
 *
 * Logistic regression on the standardized Breast Cancer Wisconsin data with
 * an L2 penalty λ/2‖w‖² (without it the data are separable and the weights
 * grow without bound). θ = (w, b) is one vector; the loss is the mean
 * negative log-likelihood from the logits. Each Newton step solves
 * H Δ = ∇L with H = ag_hessian(L, θ) — the gradient of the gradient, since
 * every backward rule is itself an expression — and converges in a handful
 * of steps. Plain gradient descent, for comparison, needs thousands. */
#include <autograd/autograd.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const double LAMBDA = 1e-2;

/* L(θ) = mean softplus(z) − z·y + λ/2 ‖w‖², z = [X 1]·θ; `mask` is 1 on w, 0 on b. */
static ag_tensor *loss_of(ag_tensor *Xa, ag_tensor *y, ag_tensor *theta, ag_tensor *mask)
{
    ag_tensor *z = ag_matmul(Xa, theta);
    ag_tensor *w = ag_mul(theta, mask);
    return ag_add(ag_bce_with_logits(z, y, AG_REDUCE_MEAN),
                  ag_mul_scalar(ag_sum(ag_square(w)), 0.5 * LAMBDA));
}

/* Solves H x = g in place of g by Cholesky (H is symmetric positive
 * definite here: λ > 0 and the data's curvature). A solver, not a
 * derivative: the Hessian itself comes from the engine. */
static bool cholesky_solve(int n, double *H, double *g)
{
    for (int j = 0; j < n; j++) {
        double d = H[j * n + j];
        for (int k = 0; k < j; k++)
            d -= H[j * n + k] * H[j * n + k];
        if (d <= 0)
            return false;
        H[j * n + j] = sqrt(d);
        for (int i = j + 1; i < n; i++) {
            double s = H[i * n + j];
            for (int k = 0; k < j; k++)
                s -= H[i * n + k] * H[j * n + k];
            H[i * n + j] = s / H[j * n + j];
        }
    }
    for (int i = 0; i < n; i++) {
        double s = g[i];
        for (int k = 0; k < i; k++)
            s -= H[i * n + k] * g[k];
        g[i] = s / H[i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = g[i];
        for (int k = i + 1; k < n; k++)
            s -= H[k * n + i] * g[k];
        g[i] = s / H[i * n + i];
    }
    return true;
}

static double norm(const ag_tensor *g)
{
    double s = 0;
    for (size_t i = 0; i < ag_numel(g); i++)
        s += ag_get_flat(g, i) * ag_get_flat(g, i);
    return sqrt(s);
}

int main(int argc, char **argv)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/wdbc.csv", argc > 1 ? argv[1] : "examples/data");
    ag_dataset *d = ag_csv_load(path, &(ag_csv_options){.label_column = "benign", .dtype = AG_F64});
    ag_standardizer s;
    if (!d || !ag_standardizer_fit(&s, d) || !ag_standardizer_apply(&s, d)) {
        fprintf(stderr, "newton_logreg: %s\n", ag_last_error());
        return 1;
    }
    int64_t n = d->n, p = d->d + 1;
    /* [X 1]: the bias as a last feature of ones. */
    ag_tensor *Xa = ag_zeros(AG_F64, 2, (int64_t[]){n, p});
    double *xa = ag_data(Xa);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < p - 1; j++)
            xa[i * p + j] = ag_get_flat(d->X, (size_t)(i * (p - 1) + j));
        xa[i * p + p - 1] = 1.0;
    }
    ag_tensor *y = ag_dataset_targets(d, AG_F64);
    ag_tensor *mask = ag_ones(AG_F64, 2, (int64_t[]){p, 1});
    ag_set_flat(mask, (size_t)(p - 1), 0.0);
    ag_tensor *theta = ag_zeros(AG_F64, 2, (int64_t[]){p, 1});
    ag_set_requires_grad(theta, true);
    printf("WDBC: %lld rows, %lld parameters, lambda = %g\n\n", (long long)n, (long long)p, LAMBDA);

    printf("Newton's method (Hessian from the engine)\n");
    printf("  iter  loss                  |grad|\n");
    double *H = malloc((size_t)(p * p) * sizeof *H), *step = malloc((size_t)p * sizeof *step);
    int it;
    for (it = 0; it <= 15; it++) {
        ag_tensor *L = loss_of(Xa, y, theta, mask);
        ag_tensor *g;
        if (!ag_grad(1, &L, NULL, 1, &theta, AG_GRAD_CREATE_GRAPH, &g)) {
            fprintf(stderr, "newton_logreg: %s\n", ag_last_error());
            return 1;
        }
        double gn = norm(g);
        printf("  %4d  %.15f  %.3e\n", it, ag_item(L), gn);
        if (gn < 1e-10)
            break;
        ag_tensor *Hm = ag_hessian(L, theta);
        if (!Hm) {
            fprintf(stderr, "newton_logreg: %s\n", ag_last_error());
            return 1;
        }
        for (int64_t i = 0; i < p * p; i++)
            H[i] = ag_get_flat(Hm, (size_t)i);
        for (int64_t i = 0; i < p; i++)
            step[i] = ag_get_flat(g, (size_t)i);
        if (!cholesky_solve((int)p, H, step)) {
            fprintf(stderr, "newton_logreg: the Hessian is not positive definite\n");
            return 1;
        }
        for (int64_t i = 0; i < p; i++)
            ag_set_flat(theta, (size_t)i, ag_get_flat(theta, (size_t)i) - step[i]);
        ag_tape_reset(NULL);
    }
    ag_tape_reset(NULL);
    ag_tensor *newton = ag_clone(theta);

    /* Gradient descent from the same start, with the step 1/L for the bound
     * L = 0.25·max row sum |XᵀX|/n + λ of the Hessian (p(1-p) <= 1/4). */
    double bound = 0;
    for (int64_t j = 0; j < p; j++) {
        double row = 0;
        for (int64_t k = 0; k < p; k++) {
            double s2 = 0;
            for (int64_t i = 0; i < n; i++)
                s2 += xa[i * p + j] * xa[i * p + k];
            row += fabs(s2) / (double)n;
        }
        bound = fmax(bound, 0.25 * row + LAMBDA);
    }
    for (int64_t i = 0; i < p; i++)
        ag_set_flat(theta, (size_t)i, 0.0);
    printf("\nGradient descent (step 1/%.2f)\n  iter  loss                  |grad|\n", bound);
    int gd;
    double gn = INFINITY;
    for (gd = 0; gd <= 200000 && gn >= 1e-9; gd++) {
        ag_zero_grad(theta);
        ag_tensor *L = loss_of(Xa, y, theta, mask);
        ag_backward(L);
        gn = norm(ag_grad_of(theta));
        if (gd % 2000 == 0 || gn < 1e-9)
            printf("  %6d  %.15f  %.3e\n", gd, ag_item(L), gn);
        ag_sgd_update(theta, 1.0 / bound);
        ag_tape_reset(NULL);
    }
    double diff = 0;
    for (int64_t i = 0; i < p; i++)
        diff = fmax(diff, fabs(ag_get_flat(theta, (size_t)i) - ag_get_flat(newton, (size_t)i)));
    printf("\nNewton: %d steps; gradient descent: %d steps; largest parameter difference %.2e\n",
           it, gd, diff);

    free(H);
    free(step);
    ag_tensor_free(newton);
    ag_tensor_free(theta);
    ag_tensor_free(mask);
    ag_tensor_free(y);
    ag_tensor_free(Xa);
    ag_standardizer_free(&s);
    ag_dataset_free(d);
    ag_shutdown();
    return it <= 15 && diff < 1e-6 ? 0 : 1;
}

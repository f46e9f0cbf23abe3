/* SPDX-License-Identifier: MIT */
/* logreg_2d.c — the lecture's picture: two classes in the plane and the
 * decision boundary w·x + b = 0 that logistic regression learns.
 *
 *   logreg_2d [output-prefix]        (default "logreg_2d")
 *
 * Two Gaussian clouds drawn from a seed; full-batch gradient descent on the
 * mean negative log-likelihood, written out as an expression. Writes
 * <prefix>.dat (points), <prefix>.gp (a gnuplot script) and, when gnuplot is
 * installed, <prefix>.png. */
#include <autograd/autograd.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 200 };

int main(int argc, char **argv)
{
    const char *prefix = argc > 1 ? argv[1] : "logreg_2d";
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    double xs[N * 2], ys[N];
    for (int i = 0; i < N; i++) {
        int c = i % 2; /* class 1 centred at (1.5, 1), class 0 at (-1, -1) */
        xs[2 * i] = (c ? 1.5 : -1.0) + ag_rng_normal(&rng);
        xs[2 * i + 1] = (c ? 1.0 : -1.0) + ag_rng_normal(&rng);
        ys[i] = c;
    }
    ag_tensor *X = ag_from_array(AG_F64, 2, (int64_t[]){N, 2}, xs);
    ag_tensor *y = ag_from_array(AG_F64, 2, (int64_t[]){N, 1}, ys);
    ag_tensor *w = ag_zeros(AG_F64, 2, (int64_t[]){2, 1});
    ag_tensor *b = ag_zeros(AG_F64, 1, (int64_t[]){1});
    ag_set_requires_grad(w, true);
    ag_set_requires_grad(b, true);

    for (int step = 0; step <= 500; step++) {
        ag_tensor *z = ag_add(ag_matmul(X, w), b);              /* logits w·x + b */
        ag_tensor *nll = ag_bce_with_logits(z, y, AG_REDUCE_MEAN);
        if (!nll) {
            fprintf(stderr, "logreg_2d: %s\n", ag_last_error());
            return 1;
        }
        if (step % 100 == 0)
            printf("step %3d  loss %.4f\n", step, ag_item(nll));
        ag_zero_grad(w);
        ag_zero_grad(b);
        ag_backward(nll);
        ag_sgd_update(w, 0.5);
        ag_sgd_update(b, 0.5);
        ag_tape_reset(NULL);
    }
    double w1 = ag_get_flat(w, 0), w2 = ag_get_flat(w, 1), b0 = ag_get_flat(b, 0);
    int correct = 0;
    for (int i = 0; i < N; i++)
        correct += ((w1 * xs[2 * i] + w2 * xs[2 * i + 1] + b0) > 0) == (ys[i] > 0.5);
    printf("boundary: %.4f x1 + %.4f x2 + %.4f = 0\n", w1, w2, b0);
    printf("training accuracy: %.1f%%\n", 100.0 * correct / N);

    char dat[512], gp[512], png[512];
    snprintf(dat, sizeof dat, "%s.dat", prefix);
    snprintf(gp, sizeof gp, "%s.gp", prefix);
    snprintf(png, sizeof png, "%s.png", prefix);
    FILE *f = fopen(dat, "w");
    FILE *g = f ? fopen(gp, "w") : NULL;
    if (!f || !g) {
        fprintf(stderr, "logreg_2d: cannot write %s\n", f ? gp : dat);
        return 1;
    }
    fprintf(f, "# x1 x2 class\n");
    for (int i = 0; i < N; i++)
        fprintf(f, "%.6f %.6f %d\n", xs[2 * i], xs[2 * i + 1], (int)ys[i]);
    fclose(f);
    /* The boundary p = 1/2 is w·x + b = 0; the dashed lines p = 0.1 and
     * p = 0.9 are w·x + b = -ln 9 and +ln 9: their distance shows how
     * quickly the model's probability changes across the boundary. */
    fprintf(g,
            "set terminal pngcairo size 640,600\n"
            "set output '%s'\n"
            "set title 'logistic regression, boundary %.2f x1 + %.2f x2 %c %.2f = 0'\n"
            "set xlabel 'x1'\nset ylabel 'x2'\n"
            "set key bottom left opaque box Left reverse\n"
            "set size ratio -1\nset grid\n"
            "set xrange [-5:5]\nset yrange [-5:5]\n"
            "f(x, c) = -(%.6f*x + %.6f - c)/%.6f\n"
            "plot '%s' using 1:($3==0?$2:1/0) with points pt 7 lc rgb '#1f77b4' title 'class 0 (y = 0)', \\\n"
            "     '%s' using 1:($3==1?$2:1/0) with points pt 5 lc rgb '#d62728' title 'class 1 (y = 1)', \\\n"
            "     f(x, 0) with lines lw 2 lc rgb 'black' title 'p = 0.5: w.x + b = 0', \\\n"
            "     f(x, -log(9)) with lines lw 1 dt 2 lc rgb '#1f77b4' title 'p = 0.1', \\\n"
            "     f(x, log(9)) with lines lw 1 dt 2 lc rgb '#d62728' title 'p = 0.9'\n",
            png, w1, w2, b0 < 0 ? '-' : '+', fabs(b0), w1, b0, w2, dat, dat);
    fclose(g);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>/dev/null", gp);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0 && system(cmd) == 0)
        printf("picture: %s\n", png);
    else
        printf("gnuplot not installed: run 'gnuplot %s' to draw %s\n", gp, png);

    ag_tensor_free(X);
    ag_tensor_free(y);
    ag_tensor_free(w);
    ag_tensor_free(b);
    ag_shutdown();
    return 0;
}

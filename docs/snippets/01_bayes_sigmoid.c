/* Two Gaussian classes with one shared variance: the posterior p(y=1|x)
 * from Bayes' rule is the sigmoid of a log-odds that is linear in x. */
#include <autograd/autograd.h>

#include <math.h>
#include <stdio.h>

/* The normal density N(x; mu, s^2). */
static double normal_pdf(double x, double mu, double s)
{
    const double pi = 3.14159265358979323846;
    return exp(-(x - mu) * (x - mu) / (2 * s * s)) / (s * sqrt(2 * pi));
}

int main(void)
{
    const double mu0 = 0.0, mu1 = 2.0, s = 1.0; /* class means, shared std */
    const double pi1 = 0.3, pi0 = 1 - pi1;      /* priors p(y=1), p(y=0) */
    const double w = (mu1 - mu0) / (s * s);     /* log-odds a(x) = w x + b */
    const double b = (mu0 * mu0 - mu1 * mu1) / (2 * s * s) + log(pi1 / pi0);

    enum { N = 6 };
    const double xs[N] = {-1.0, 0.0, 1.0, 1.5, 2.0, 3.0};
    ag_tensor *x = ag_from_array(AG_F64, 1, (int64_t[]){N}, xs);
    ag_tensor *p = ag_sigmoid(ag_add_scalar(ag_mul_scalar(x, w), b)); /* σ(w x + b) */
    if (!p) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }

    printf("w = %.4f  b = %.4f  boundary x = -b/w = %.4f\n", w, b, -b / w);
    printf("   x   Bayes p(y=1|x)   sigmoid(w x + b)\n");
    for (int i = 0; i < N; i++) {
        double joint1 = normal_pdf(xs[i], mu1, s) * pi1; /* p(x|y=1) p(y=1) */
        double joint0 = normal_pdf(xs[i], mu0, s) * pi0; /* p(x|y=0) p(y=0) */
        printf("%4.1f   %14.6f   %16.6f\n", xs[i], joint1 / (joint1 + joint0),
               ag_get_flat(p, (size_t)i));
    }

    ag_tape_reset(NULL);
    ag_tensor_free(x);
    ag_shutdown();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* bench_conv_direct.c — the choice of conv2d's forward kernel, measured:
 * ag_conv2d (im2col + one GEMM per image, ops/conv.c) against direct loops
 * (for each output channel, input channel and kernel tap, a row update the
 * compiler vectorizes), f32, at bench_conv's three sizes, stride 1. Prints
 * the fastest of 15 runs of each and the largest difference between them
 * (they sum in different orders). Run by hand:
 *
 *     OPENBLAS_NUM_THREADS=1 build-bench/bench/bench_conv_direct
 *
 * bench/RESULTS.md records what it printed. */
#include "bench.h"

#include <autograd/autograd.h>

#include <math.h>
#include <stdlib.h>

typedef struct size {
    const char *name;
    int n, c, h, o, k, p; /* square images and kernels, stride 1 */
} size;

static const size SIZES[] = {
    {"lenet1", 64, 1, 28, 16, 5, 2},
    {"mid", 64, 16, 14, 32, 5, 0},
    {"vgg", 32, 64, 16, 64, 3, 1},
};

/* y[n,o] = b[o] + Σ_c Σ_i,j w[o,c,i,j] · x[n,c, oh+i−p, ow+j−p]. */
static void direct(const size *s, const float *x, const float *w, const float *b, float *y)
{
    int H = s->h, Ho = s->h + 2 * s->p - s->k + 1, K = s->k, P = s->p;
    for (int n = 0; n < s->n; n++)
        for (int o = 0; o < s->o; o++) {
            float *yo = y + (size_t)(n * s->o + o) * (size_t)(Ho * Ho);
            for (int t = 0; t < Ho * Ho; t++)
                yo[t] = b[o];
            for (int c = 0; c < s->c; c++) {
                const float *xc = x + (size_t)(n * s->c + c) * (size_t)(H * H);
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++) {
                        float wv = w[((o * s->c + c) * K + i) * K + j];
                        int lo = P - j > 0 ? P - j : 0, hi = H + P - j < Ho ? H + P - j : Ho;
                        for (int oh = 0; oh < Ho; oh++) {
                            int h = oh + i - P;
                            if (h < 0 || h >= H)
                                continue;
                            float *yr = yo + oh * Ho;
                            const float *xr = xc + h * H + j - P;
                            for (int ow = lo; ow < hi; ow++)
                                yr[ow] += wv * xr[ow];
                        }
                    }
            }
        }
}

int main(int argc, char **argv)
{
    bench_opts opts = {0};
    bench_parse(argc, argv, &opts, NULL, NULL);
    printf("bench_conv_direct: %s\n", bench_blas_desc());
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    for (size_t z = 0; z < sizeof SIZES / sizeof SIZES[0]; z++) {
        const size *s = &SIZES[z];
        int Ho = s->h + 2 * s->p - s->k + 1;
        ag_tensor *x = ag_rand_uniform(AG_F32, 4, (int64_t[]){s->n, s->c, s->h, s->h}, 0, 1, &rng);
        ag_tensor *w =
            ag_rand_uniform(AG_F32, 4, (int64_t[]){s->o, s->c, s->k, s->k}, -0.5, 0.5, &rng);
        ag_tensor *b = ag_zeros(AG_F32, 1, (int64_t[]){s->o});
        float *y = malloc(sizeof(float) * (size_t)(s->n * s->o * Ho * Ho));
        bench_check(x && w && b && y, "making the inputs");
        ag_conv_opts o = ag_conv_defaults();
        o.padding[0] = o.padding[1] = s->p;
        double best_gemm = INFINITY, best_direct = INFINITY, maxdiff = 0;
        for (int rep = 0; rep < 15; rep++) {
            uint64_t t0 = bench_now_ns();
            ag_tensor *yy = ag_conv2d(x, w, b, &o);
            uint64_t t1 = bench_now_ns();
            direct(s, ag_data_const(x), ag_data_const(w), ag_data_const(b), y);
            uint64_t t2 = bench_now_ns();
            bench_check(yy != NULL, "conv2d");
            best_gemm = fmin(best_gemm, (double)(t1 - t0) / 1e6);
            best_direct = fmin(best_direct, (double)(t2 - t1) / 1e6);
            const float *a = ag_data_const(yy);
            for (size_t i = 0; i < ag_numel(yy); i++)
                maxdiff = fmax(maxdiff, fabs((double)a[i] - (double)y[i]));
            ag_tape_reset(NULL);
        }
        printf("  %-7s forward: im2col + GEMM %8.2f ms, direct loops %8.2f ms (largest difference "
               "%.2g)\n",
               s->name, best_gemm, best_direct, maxdiff);
        ag_tensor_free(x);
        ag_tensor_free(w);
        ag_tensor_free(b);
        free(y);
    }
    bench_results_close();
    ag_shutdown();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* bench_util.c — clock, statistics, result lines and machine description
 * shared by the benchmarks (see bench.h). */
#include "bench.h"

#include <autograd/autograd.h>
#include <cblas.h>

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

volatile double bench_sink;

static FILE *results;

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bench_stats bench_summarize(double *samples, size_t n)
{
    bench_stats s = {0, 0, 0, n};
    if (n == 0)
        return s;
    qsort(samples, n, sizeof *samples, cmp_double);
    s.min = samples[0];
    s.max = samples[n - 1];
    s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
    return s;
}

void bench_results_open(const char *path)
{
    if (!path)
        return;
    results = fopen(path, "a");
    if (!results) {
        perror(path);
        exit(2);
    }
}

void bench_results_close(void)
{
    if (results)
        fclose(results);
    results = NULL;
}

void bench_result(const char *fields, bench_stats s, const char *unit)
{
    if (results)
        fprintf(results, "RESULT %s median=%.6g min=%.6g max=%.6g unit=%s n=%zu\n", fields,
                s.median, s.min, s.max, unit, s.n);
}

void bench_result_value(const char *fields, double value, const char *unit)
{
    if (results)
        fprintf(results, "RESULT %s value=%.9g unit=%s\n", fields, value, unit);
}

int bench_blas_threads(void)
{
    return openblas_get_num_threads();
}

const char *bench_blas_desc(void)
{
    static char buf[256];
    /* openblas_get_config() ends with the core it was built for (DYNAMIC_ARCH
     * builds carry every core); openblas_get_corename() is the one chosen at
     * run time, which is what decides the speed of every GEMM below. */
    snprintf(buf, sizeof buf, "%s; kernel %s; %d thread(s)", openblas_get_config(),
             openblas_get_corename(), openblas_get_num_threads());
    return buf;
}

size_t bench_peak_rss(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss * 1024u; /* Linux reports kilobytes */
}

void bench_check(int ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "bench: %s failed: %s\n", what, ag_last_error());
    exit(1);
}

void bench_parse(int argc, char **argv, bench_opts *o, int (*extra)(const char *arg, void *ctx),
                 void *ctx)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--results") && i + 1 < argc) {
            o->results = argv[++i];
        } else if (!strncmp(a, "--results=", 10)) {
            o->results = a + 10;
        } else if (!strcmp(a, "--quick")) {
            o->quick = 1;
        } else if (!strcmp(a, "--blas-core")) {
            /* For the runner: which kernel OpenBLAS picks in this environment. */
            printf("%s\n", openblas_get_corename());
            exit(0);
        } else if (!extra || !extra(a, ctx)) {
            fprintf(stderr, "%s: unknown option '%s' (see the comment at the top of the source)\n",
                    argv[0], a);
            exit(2);
        }
    }
    bench_results_open(o->results);
}

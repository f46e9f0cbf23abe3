/* SPDX-License-Identifier: MIT */
/* bench.h — what every benchmark in bench/ shares: a monotonic clock,
 * summaries of repeated samples, the machine-readable result lines the
 * runner merges with the PyTorch peer's, and a description of the BLAS in
 * use (which OpenBLAS kernel was picked, with how many threads).
 *
 * The benchmarks are not tests: they print tables for a person and, with
 * --results FILE, append one line per measurement to FILE:
 *
 *     RESULT bench=mlp_standard impl=engine blas_threads=1 median=512.3 min=498.0 max=760.2 unit=us n=200
 *
 * (key=value fields; the runner's report.py reads them). */
#ifndef AG_BENCH_H
#define AG_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Nanoseconds from CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);

/* Median, min and max of n samples (the array is sorted in place). */
typedef struct bench_stats {
    double median, min, max;
    size_t n;
} bench_stats;
bench_stats bench_summarize(double *samples, size_t n);

/* Opens the results file named after --results (NULL: none). */
void bench_results_open(const char *path);
void bench_results_close(void);
/* Appends "RESULT <fields> median=.. min=.. max=.. unit=.. n=.." when a
 * results file is open. `fields` is a preformatted "bench=... impl=..." */
void bench_result(const char *fields, bench_stats s, const char *unit);
/* Appends "RESULT <fields> value=<v> unit=<unit>" (counts, bytes, checks). */
void bench_result_value(const char *fields, double value, const char *unit);

/* The BLAS in use, for the headers of the tables: "OpenBLAS 0.3.21 ...
 * core=SkylakeX threads=1", and the thread count alone. */
const char *bench_blas_desc(void);
int bench_blas_threads(void);

/* The process's peak resident set size so far, in bytes (getrusage). */
size_t bench_peak_rss(void);

/* Exits with the library's last error when `ok` is false: a benchmark that
 * measured a failing computation would report nonsense. */
void bench_check(int ok, const char *what);

/* Parses the common options: --results FILE, --quick (fewer samples, for a
 * smoke test), --blas-core (print the OpenBLAS kernel chosen here and exit:
 * the runner records it for each environment). Any other argument goes to
 * `extra` (may be NULL), which returns nonzero when it took it; an argument
 * nobody takes is a usage error (exit 2). Opens the results file. */
typedef struct bench_opts {
    const char *results;
    int quick;
} bench_opts;
void bench_parse(int argc, char **argv, bench_opts *o, int (*extra)(const char *arg, void *ctx),
                 void *ctx);

/* Keeps the compiler from deleting a computation whose result is unused. */
extern volatile double bench_sink;

#endif

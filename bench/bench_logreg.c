/* SPDX-License-Identifier: MIT */
/* bench_logreg.c — logistic regression on the standardized WDBC data
 * (569 x 30, f64): 1000 full-batch gradient steps (SGD, lr 0.1, from zero
 * weights), against hand-written C in this process.
 *
 *   engine      ag_logreg_logits + ag_bce_with_logits (mean) + ag_backward +
 *               ag_optim_step (SGD) + ag_tape_reset, as a user writes it.
 *   hand        the same step derived by hand: z = Xw + b, then one loop for
 *               the loss and g = (σ(z) − y)/n, then dw = Xᵀg, db = Σg, the
 *               update; the two products are the dgemm calls the engine
 *               makes (n = 1 columns).
 *   hand-gemv   the same with cblas_dgemv, the call a person would pick for
 *               a matrix-vector product: it shows what the engine's choice
 *               of dgemm for a one-column product costs.
 *
 * Each run starts from zero weights, so every run does the same work and
 * ends at the same loss, which is printed for each implementation (and by
 * the PyTorch peer) as a check. The data are read with a few lines of
 * parsing here (the benchmark must not depend on the library's readers) and
 * standardized with the population standard deviation.
 *
 * Options: --data=PATH (default: examples/data/wdbc.csv of the source tree,
 * else ../shared/data/wdbc.csv), --results FILE, --quick, --profile (one
 * untimed run of each, for callgrind: see profile_engine_run). */
#include "bench.h"

#include <autograd/autograd.h>
#include <cblas.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N_MAX = 1024, D = 30, STEPS = 1000 };
static const double LR = 0.1;

typedef struct wdbc {
    int n;
    double *X; /* n x D, standardized */
    double *y; /* n, 0/1 */
} wdbc;

/* Reads the header line and n rows of D features and a 0/1 label. */
static bool wdbc_read(const char *path, wdbc *w)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[8192];
    w->X = malloc(sizeof(double) * N_MAX * D);
    w->y = malloc(sizeof(double) * N_MAX);
    w->n = 0;
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        if (header) {
            header = false;
            continue;
        }
        if (line[0] == '\n' || line[0] == '\0')
            continue;
        if (w->n == N_MAX) {
            fprintf(stderr, "%s: more than %d rows\n", path, N_MAX);
            exit(1);
        }
        char *p = line, *end;
        for (int j = 0; j <= D; j++) {
            double v = strtod(p, &end);
            if (end == p) {
                fprintf(stderr, "%s:%d: field %d is not a number\n", path, w->n + 2, j + 1);
                exit(1);
            }
            if (j < D)
                w->X[w->n * D + j] = v;
            else
                w->y[w->n] = v;
            p = *end == ',' ? end + 1 : end;
        }
        w->n++;
    }
    fclose(f);
    /* (x − mean) / std, the population std (divided by n). */
    for (int j = 0; j < D; j++) {
        double m = 0, s = 0;
        for (int i = 0; i < w->n; i++)
            m += w->X[i * D + j];
        m /= w->n;
        for (int i = 0; i < w->n; i++)
            s += (w->X[i * D + j] - m) * (w->X[i * D + j] - m);
        s = sqrt(s / w->n);
        if (s == 0)
            s = 1;
        for (int i = 0; i < w->n; i++)
            w->X[i * D + j] = (w->X[i * D + j] - m) / s;
    }
    return w->n > 0;
}

/* ---- engine ---- */

typedef struct engine {
    ag_params *p;
    ag_optim *opt;
    ag_tensor *X, *y;
} engine;

static void engine_init(engine *e, const wdbc *w)
{
    e->p = ag_logreg_new(D, AG_F64);
    bench_check(e->p != NULL, "ag_logreg_new");
    ag_optim_config cfg = {.kind = AG_SGD, .lr = LR};
    e->opt = ag_optim_new(e->p, &cfg);
    bench_check(e->opt != NULL, "ag_optim_new");
    e->X = ag_from_array(AG_F64, 2, (int64_t[]){w->n, D}, w->X);
    e->y = ag_from_array(AG_F64, 2, (int64_t[]){w->n, 1}, w->y);
    bench_check(e->X && e->y, "data tensors");
}

static double engine_step(engine *e)
{
    ag_optim_zero_grad(e->opt);
    ag_tensor *loss = ag_bce_with_logits(ag_logreg_logits(e->p, e->X), e->y, AG_REDUCE_MEAN);
    bench_check(loss && ag_backward(loss) && ag_optim_step(e->opt), "engine step");
    double l = ag_item(loss);
    ag_tape_reset(NULL);
    return l;
}

/* 1000 steps from zero weights; returns the last loss. */
static double engine_run(engine *e)
{
    for (size_t i = 0; i < ag_params_count(e->p); i++)
        memset(ag_data(ag_params_at(e->p, i, NULL)), 0,
               ag_numel(ag_params_at(e->p, i, NULL)) * sizeof(double));
    double l = 0;
    for (int s = 0; s < STEPS; s++)
        l = engine_step(e);
    return l;
}

/* ---- hand ---- */

typedef struct hand {
    const wdbc *w;
    bool gemv;
    double wt[D], dw[D], b;
    double *z, *g; /* n */
} hand;

static double hand_run(hand *h)
{
    const int n = h->w->n;
    const double *X = h->w->X, *y = h->w->y;
    memset(h->wt, 0, sizeof h->wt);
    h->b = 0;
    double loss = 0;
    for (int s = 0; s < STEPS; s++) {
        if (h->gemv)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, n, D, 1.0, X, D, h->wt, 1, 0.0, h->z, 1);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, 1, D, 1.0, X, D, h->wt, 1,
                        0.0, h->z, 1);
        /* loss = mean(softplus(z) − z·y), g = (σ(z) − y) / n, db = Σg */
        double sum = 0, db = 0, inv_n = 1.0 / n;
        for (int i = 0; i < n; i++) {
            double v = h->z[i] + h->b;
            double e = exp(-fabs(v));
            sum += (v > 0 ? v : 0) + log1p(e) - v * y[i];
            double p = v >= 0 ? 1 / (1 + e) : e / (1 + e);
            h->g[i] = (p - y[i]) * inv_n;
            db += h->g[i];
        }
        loss = sum * inv_n;
        if (h->gemv)
            cblas_dgemv(CblasRowMajor, CblasTrans, n, D, 1.0, X, D, h->g, 1, 0.0, h->dw, 1);
        else
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, 1, n, 1.0, X, D, h->g, 1, 0.0,
                        h->dw, 1);
        for (int j = 0; j < D; j++)
            h->wt[j] -= LR * h->dw[j];
        h->b -= LR * db;
    }
    return loss;
}

/* ---- main ---- */

static const char *data_path;
static bool profile_only;

static int parse_extra(const char *a, void *ctx)
{
    (void)ctx;
    if (!strncmp(a, "--data=", 7)) {
        data_path = a + 7;
        return 1;
    }
    if (!strcmp(a, "--profile")) {
        profile_only = true;
        return 1;
    }
    return 0;
}

/* --profile: one run (1000 steps) of the engine, then of the hand-written
 * dgemm step, each in a function of its own so that callgrind can count one:
 *   valgrind --tool=callgrind --collect-atstart=no \
 *       --toggle-collect=profile_engine_run bench_logreg --profile */
__attribute__((noinline)) static double profile_engine_run(engine *e) { return engine_run(e); }
__attribute__((noinline)) static double profile_hand_run(hand *h) { return hand_run(h); }
__attribute__((noinline)) static double profile_hand_gemv_run(hand *h)
{
    h->gemv = true; /* a body of its own, so that GCC does not fold the two into one */
    return hand_run(h);
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, parse_extra, NULL);
    static const char *defaults[] = {BENCH_SOURCE_ROOT "/examples/data/wdbc.csv",
                                     BENCH_SOURCE_ROOT "/../shared/data/wdbc.csv"};
    wdbc w = {0};
    bool ok = false;
    if (data_path) {
        ok = wdbc_read(data_path, &w);
    } else {
        for (size_t i = 0; i < 2 && !ok; i++)
            if ((ok = wdbc_read(defaults[i], &w)))
                data_path = defaults[i];
    }
    if (!ok) {
        fprintf(stderr, "bench_logreg: cannot read the WDBC data (%s); pass --data=PATH\n",
                data_path ? data_path : defaults[0]);
        return 1;
    }

    engine e;
    engine_init(&e, &w);
    hand h = {&w, false, {0}, {0}, 0, malloc(sizeof(double) * (size_t)w.n),
              malloc(sizeof(double) * (size_t)w.n)};
    hand hv = h;
    hv.gemv = true;
    hv.z = malloc(sizeof(double) * (size_t)w.n);
    hv.g = malloc(sizeof(double) * (size_t)w.n);

    if (profile_only) {
        engine_run(&e); /* past the arenas' growth */
        double le = profile_engine_run(&e), lh = profile_hand_run(&h);
        double lv = profile_hand_gemv_run(&hv);
        printf("profile: one run of %d steps each; final losses engine %.12f, hand %.12f, "
               "hand-gemv %.12f\n", STEPS, le, lh, lv);
        free(h.z), free(h.g), free(hv.z), free(hv.g), free(w.X), free(w.y);
        ag_tensor_free(e.X);
        ag_tensor_free(e.y);
        ag_optim_free(e.opt);
        ag_params_free(e.p);
        ag_shutdown();
        return 0;
    }

    int runs = o.quick ? 3 : 9;
    double *te = malloc(sizeof(double) * (size_t)runs), *th = malloc(sizeof(double) * (size_t)runs),
           *tv = malloc(sizeof(double) * (size_t)runs);
    /* A warm-up run each, then interleaved timed runs. */
    double le = engine_run(&e), lh = hand_run(&h), lv = hand_run(&hv);
    size_t a0 = ag_alloc_count();
    engine_step(&e);
    size_t allocs = ag_alloc_count() - a0;
    for (int r = 0; r < runs; r++) {
        uint64_t t0 = bench_now_ns();
        le = engine_run(&e);
        uint64_t t1 = bench_now_ns();
        lh = hand_run(&h);
        uint64_t t2 = bench_now_ns();
        lv = hand_run(&hv);
        uint64_t t3 = bench_now_ns();
        te[r] = (double)(t1 - t0) / 1e6;
        th[r] = (double)(t2 - t1) / 1e6;
        tv[r] = (double)(t3 - t2) / 1e6;
    }
    bench_stats se = bench_summarize(te, (size_t)runs), sh = bench_summarize(th, (size_t)runs),
                sv = bench_summarize(tv, (size_t)runs);

    printf("== Logistic regression: WDBC %d x %d (standardized), f64, %d full-batch SGD steps, "
           "lr %.2g ==\n",
           w.n, D, STEPS, LR);
    printf("  data: %s\n  BLAS: %s\n", data_path, bench_blas_desc());
    printf("  %d runs after one warm-up run; ms per %d steps (µs per step = the same number)\n",
           runs, STEPS);
    printf("  %-10s %9s %9s %9s   %-12s %s\n", "impl", "median", "min", "max", "ratio", "final loss");
    printf("  %-10s %9.3f %9.3f %9.3f   %5.2fx hand   %.12f\n", "engine", se.median, se.min, se.max,
           se.median / sh.median, le);
    printf("  %-10s %9.3f %9.3f %9.3f   %-12s %.12f\n", "hand", sh.median, sh.min, sh.max, "", lh);
    printf("  %-10s %9.3f %9.3f %9.3f   %5.2fx hand   %.12f\n", "hand-gemv", sv.median, sv.min,
           sv.max, sv.median / sh.median, lv);
    bool agree = fabs(le - lh) < 1e-9 * fabs(lh) && fabs(lv - lh) < 1e-9 * fabs(lh);
    printf("  check: final losses %s; heap allocations per steady-state step: %zu\n",
           agree ? "agree" : "DISAGREE", allocs);

    char f[128];
    int thr = bench_blas_threads();
    snprintf(f, sizeof f, "bench=logreg impl=engine blas_threads=%d", thr);
    bench_result(f, se, "ms");
    snprintf(f, sizeof f, "bench=logreg impl=hand blas_threads=%d", thr);
    bench_result(f, sh, "ms");
    snprintf(f, sizeof f, "bench=logreg impl=hand-gemv blas_threads=%d", thr);
    bench_result(f, sv, "ms");
    snprintf(f, sizeof f, "bench=logreg impl=engine what=final_loss");
    bench_result_value(f, le, "loss");
    snprintf(f, sizeof f, "bench=logreg impl=hand what=final_loss");
    bench_result_value(f, lh, "loss");
    snprintf(f, sizeof f, "bench=logreg impl=engine what=allocs_per_step");
    bench_result_value(f, (double)allocs, "count");

    free(te), free(th), free(tv);
    free(h.z), free(h.g), free(hv.z), free(hv.g);
    free(w.X), free(w.y);
    ag_tensor_free(e.X);
    ag_tensor_free(e.y);
    ag_optim_free(e.opt);
    ag_params_free(e.p);
    bench_results_close();
    ag_shutdown();
    return agree ? 0 : 1;
}

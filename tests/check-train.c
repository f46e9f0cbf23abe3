/* SPDX-License-Identifier: MIT */
/* check-train.c — training on real data: logistic regression with an L2
 * penalty on WDBC to its unique optimum, a ReLU MLP on the 8x8 digits,
 * ag_train's CSV log, schedule, NaN stop and error messages, and no
 * allocation in the steady state of a training step.
 *
 * Every expected value is derived here, independently of the code under
 * test: the trained logistic regression's optimum from its first-order
 * condition evaluated with plain loops, its objective and accuracy by
 * loops over the raw arrays, and the MLP's accuracy and cross-entropy
 * recounted with loops from the trained weights. The tests use the
 * repository's copy of the data (examples/data), passed by meson in
 * AG_DATA_DIR.
 *
 * Resources that are not tensors (stores, optimizers, models, data sets,
 * iterators) are registered with own_*() (models_fixture.h) and freed by
 * models_teardown, so a failing test leaks nothing under CK_FORK=no +
 * valgrind; ag_train's logs go to the fixture's temporary folder. */
#include "models_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Built with AddressSanitizer (GCC defines __SANITIZE_ADDRESS__, clang has
 * __has_feature): timing budgets do not apply. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double sigmoid_ref(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

/* ln(1 + e^z) without overflow. */
static double softplus_ref(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

/* ------------------------------------------------------------------ */
/* Training on real data                                               */
/* ------------------------------------------------------------------ */

#ifndef AG_DATA_DIR_PATH
#define AG_DATA_DIR_PATH "examples/data"
#endif

static const char *data_dir(void)
{
    const char *d = getenv("AG_DATA_DIR");
    return d && *d ? d : AG_DATA_DIR_PATH;
}

typedef struct split {
    ag_dataset *all, *train, *test;
} split;

/* file (in the data folder) → 80/20 split from `seed` → features
 * standardized with the training set's statistics. */
static split load_split(const char *file, const char *label, ag_dtype dtype, uint64_t seed)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir(), file);
    split s = {0};
    ag_csv_options opts = {.label_column = label, .dtype = dtype};
    s.all = own_dataset(ag_csv_load(path, &opts));
    ck_assert_msg(s.all != NULL, "loading %s (set AG_DATA_DIR to the data folder): %s", path,
                  ag_last_error());
    ck_assert_msg(ag_dataset_split(s.all, 0.2, seed, &s.train, &s.test), "split: %s",
                  ag_last_error());
    own_dataset(s.train);
    own_dataset(s.test);
    ck_assert_int_eq(s.train->n + s.test->n, s.all->n);
    ck_assert_msg(llabs(s.test->n - (s.all->n + 2) / 5) <= 1, "test set of %lld rows of %lld",
                  (long long)s.test->n, (long long)s.all->n);
    ag_standardizer st = {0};
    bool ok = ag_standardizer_fit(&st, s.train) && ag_standardizer_apply(&st, s.train) &&
              ag_standardizer_apply(&st, s.test);
    ag_standardizer_free(&st);
    ck_assert_msg(ok, "standardizing: %s", ag_last_error());
    ck_assert_int_eq(ag_tensor_dtype(s.train->X), dtype);
    return s;
}

/* ---- logistic regression on WDBC with an L2 penalty ---- */

typedef struct logreg_model {
    ag_params *p;
    double lambda;
    /* calls: every call; train_calls: those with grad mode on (training,
     * not evaluation). For the NaN test the loss is NaN at training call
     * nan_at (1-based; 0: never), and the parameters it saw are kept in
     * `seen`. */
    int calls, train_calls, nan_at;
    ag_params *seen;
} logreg_model;

static ag_tensor *logreg_logits_fn(void *m, ag_tensor *X)
{
    return ag_logreg_logits(((logreg_model *)m)->p, X);
}

/* mean NLL from the logits + λ/2 ‖w‖² */
static ag_tensor *logreg_loss_fn(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)y;
    logreg_model *mod = m;
    mod->calls++;
    mod->train_calls += ag_grad_mode();
    ag_tensor *l = ag_bce_with_logits(ag_logreg_logits(mod->p, X), targets, AG_REDUCE_MEAN);
    if (mod->lambda > 0)
        l = ag_add(l, ag_l2_penalty(mod->p, mod->lambda));
    if (ag_grad_mode() && mod->train_calls == mod->nan_at) {
        mod->seen = ag_params_clone(mod->p);
        l = ag_add_scalar(l, NAN);
    }
    return l;
}

/* The objective's gradient, independently: with p_i = σ(x_i·w + b),
 *   ∂/∂w_j = Σ_i x_ij (p_i − y_i)/n + λ w_j,   ∂/∂b = Σ_i (p_i − y_i)/n,
 * and the objective itself, Σ_i [softplus(z_i) − y_i z_i]/n + λ/2 ‖w‖².
 * Plain loops over the raw f64 arrays; g has d + 1 entries (b last). */
static double logreg_ref(const ag_dataset *ds, const double *w, double b, double lambda, double *g)
{
    const double *X = ag_data_const(ds->X);
    const int64_t *y = ag_data_const(ds->y);
    int64_t n = ds->n, d = ds->d;
    double loss = 0;
    for (int64_t j = 0; g && j <= d; j++)
        g[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        double z = b;
        for (int64_t j = 0; j < d; j++)
            z += X[i * d + j] * w[j];
        double r = sigmoid_ref(z) - (double)y[i];
        loss += softplus_ref(z) - (double)y[i] * z;
        for (int64_t j = 0; g && j < d; j++)
            g[j] += X[i * d + j] * r;
        if (g)
            g[d] += r;
    }
    double ww = 0;
    for (int64_t j = 0; j < d; j++) {
        ww += w[j] * w[j];
        if (g)
            g[j] = g[j] / (double)n + lambda * w[j];
    }
    if (g)
        g[d] /= (double)n;
    return loss / (double)n + 0.5 * lambda * ww;
}

/* Accuracy with the rule "x·w + b > 0 predicts 1", by loops. */
static double logreg_accuracy_ref(const ag_dataset *ds, const double *w, double b)
{
    const double *X = ag_data_const(ds->X);
    const int64_t *y = ag_data_const(ds->y);
    int64_t correct = 0;
    for (int64_t i = 0; i < ds->n; i++) {
        double z = b;
        for (int64_t j = 0; j < ds->d; j++)
            z += X[i * ds->d + j] * w[j];
        correct += (z > 0) == (y[i] == 1);
    }
    return (double)correct / (double)ds->n;
}

static double norm2(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* Full-batch gradient descent with Nesterov momentum on
 * mean NLL + λ/2‖w‖², until the library's gradient norm is below `tol`.
 * Returns the number of steps; the parameters are left at the point whose
 * gradient was last measured (the step is not taken once converged). */
static int logreg_fit(logreg_model *m, const ag_dataset *train, ag_tensor *targets, double tol,
                      int max_steps, double *final_norm)
{
    /* lr 1/L with L an upper bound of the Hessian's largest eigenvalue:
     * ∇² = Xᵀ diag(p(1−p)) X/n + λ on w (and the bias column of ones), with
     * p(1−p) ≤ 1/4, and λ_max(XᵀX/n) ≤ its trace = d for standardized
     * features (+1 for the bias column). */
    double L = 0.25 * (double)(train->d + 1) + m->lambda;
    ag_optim *o = own_optim(ag_optim_new(m->p, &(ag_optim_config){
                                                 .kind = AG_SGD, .lr = 1.0 / L, .momentum = 0.9,
                                                 .nesterov = true}));
    ck_assert(o != NULL);
    ag_tensor *w = ag_params_get(m->p, "w"), *b = ag_params_get(m->p, "b");
    int step;
    double gn = INFINITY;
    for (step = 0; step < max_steps; step++) {
        ag_optim_zero_grad(o);
        ag_tensor *l = logreg_loss_fn(m, train->X, train->y, targets);
        ck_assert_msg(l && ag_backward(l), "step %d: %s", step, ag_last_error());
        double s = 0;
        for (size_t j = 0; j < ag_numel(w); j++)
            s += h_grad_at(w, j) * h_grad_at(w, j);
        s += h_grad_at(b, 0) * h_grad_at(b, 0);
        gn = sqrt(s);
        if (gn < tol) {
            ag_tape_reset(NULL);
            break;
        }
        ck_assert_msg(ag_optim_step(o), "step %d: %s", step, ag_last_error());
        ag_tape_reset(NULL);
    }
    *final_norm = gn;
    return step;
}

/* Issue 4: "logistic regression on WDBC with an L2 penalty λ > 0 converges
 * to the unique optimum (gradient norm < 1e-6 in f64) and the test checks
 * the optimum's first-order condition". The penalised objective is
 * λ-strongly convex, so its optimum θ* is unique, and for any θ,
 * ‖θ − θ*‖ ≤ ‖∇(θ)‖/λ: two runs from different starting points must end
 * within (‖∇₁‖ + ‖∇₂‖)/λ of each other. */
START_TEST(test_train_logreg_wdbc_optimum)
{
    const double lambda = 1e-2, tol = 1e-6;
    split s = load_split("wdbc.csv", "benign", AG_F64, 2024);
    ck_assert_int_eq(s.all->n, 569);
    ck_assert_int_eq(s.all->d, 30);
    ck_assert_int_eq(s.all->n_classes, 2);
    int64_t d = s.train->d;
    ag_tensor *T = h_keep(ag_dataset_targets(s.train, AG_F64));
    ck_assert_shape(T, 2, H_SHAPE(s.train->n, 1));

    double theta[2][31], gnorm[2];
    for (int run = 0; run < 2; run++) {
        logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = lambda};
        ck_assert(m.p != NULL);
        ag_tensor *w = ag_params_get(m.p, "w"), *b = ag_params_get(m.p, "b");
        if (run == 1) { /* a second, random starting point */
            ag_rng rng;
            ag_rng_seed(&rng, 99);
            for (int64_t j = 0; j < d; j++)
                ag_set_flat(w, (size_t)j, 2.0 * ag_rng_normal(&rng));
            ag_set_flat(b, 0, -3.0);
        }
        /* At the start the first-order condition is far from holding. */
        double w0[31], g0[31];
        for (int64_t j = 0; j < d; j++)
            w0[j] = ag_get_flat(w, (size_t)j);
        logreg_ref(s.train, w0, ag_get_flat(b, 0), lambda, g0);
        ck_assert_msg(norm2(g0, (size_t)d + 1) > 0.1, "initial gradient norm %g",
                      norm2(g0, (size_t)d + 1));

        double lib_norm;
        int steps = logreg_fit(&m, s.train, T, tol, 20000, &lib_norm);
        ck_assert_msg(lib_norm < tol, "run %d: gradient norm %g after %d steps", run, lib_norm,
                      steps);

        /* The first-order condition, by loops: Xᵀ(σ(Xw + b) − y)/n + λw = 0
         * and Σ(σ − y)/n = 0, each component to 1e-6 (its norm too). */
        double wf[31], g[31];
        for (int64_t j = 0; j < d; j++)
            wf[j] = ag_get_flat(w, (size_t)j);
        double bf = ag_get_flat(b, 0);
        logreg_ref(s.train, wf, bf, lambda, g);
        for (int64_t j = 0; j <= d; j++)
            ck_assert_msg(fabs(g[j]) < tol, "run %d: first-order condition %lld: %g", run,
                          (long long)j, g[j]);
        gnorm[run] = norm2(g, (size_t)d + 1);
        ck_assert_msg(gnorm[run] < tol, "run %d: ‖∇‖ = %g", run, gnorm[run]);
        /* The penalty is active: w* = −Xᵀ(σ − y)/(nλ) is not 0. */
        ck_assert(norm2(wf, (size_t)d) > 1.0);
        memcpy(theta[run], wf, (size_t)d * sizeof(double));
        theta[run][d] = bf;

        /* Plausible on held-out data; ag_evaluate counts as the loop does
         * (and its mean loss is the objective on the test set). */
        double acc = logreg_accuracy_ref(s.test, wf, bf);
        ck_assert_msg(acc > 0.9, "test accuracy %g", acc);
        double lib_acc, lib_loss;
        ck_assert(ag_evaluate(&m, logreg_loss_fn, logreg_logits_fn, s.test, 50, &lib_acc,
                              &lib_loss));
        ck_assert_f64(lib_acc, acc);
        ck_assert_near(lib_loss, logreg_ref(s.test, wf, bf, lambda, NULL), 1e-12, 0);
    }
    double diff[31];
    for (int64_t j = 0; j <= d; j++)
        diff[j] = theta[0][j] - theta[1][j];
    double bound = (gnorm[0] + gnorm[1]) / lambda;
    ck_assert_msg(norm2(diff, (size_t)d + 1) <= bound, "two runs %g apart, bound %g",
                  norm2(diff, (size_t)d + 1), bound);
}
END_TEST

/* ---- the MLP on the 8x8 digits ---- */

static ag_tensor *mlp_logits_fn(void *m, ag_tensor *X)
{
    return ag_mlp_forward(m, X);
}

static ag_tensor *mlp_loss_fn(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)targets;
    return ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
}

/* A 64-h-10 ReLU MLP's accuracy and mean cross-entropy on a data set, by
 * loops over the raw f32 arrays (computed in double). */
static void mlp_eval_ref(const ag_mlp *m, const ag_dataset *ds, double *acc, double *loss)
{
    const ag_tensor *W1 = ag_params_get(m->params, "fc1.weight");
    const ag_tensor *B1 = ag_params_get(m->params, "fc1.bias");
    const ag_tensor *W2 = ag_params_get(m->params, "fc2.weight");
    const ag_tensor *B2 = ag_params_get(m->params, "fc2.bias");
    const float *w1 = ag_data_const(W1), *b1 = ag_data_const(B1);
    const float *w2 = ag_data_const(W2), *b2 = ag_data_const(B2);
    int64_t in = ag_dim(W1, 1), hid = ag_dim(W1, 0), k = ag_dim(W2, 0); /* (out, in) */
    const float *X = ag_data_const(ds->X);
    const int64_t *y = ag_data_const(ds->y);
    double h[256], z[16], nll = 0;
    int64_t correct = 0;
    ck_assert(hid <= 256 && k <= 16 && in == ds->d);
    for (int64_t i = 0; i < ds->n; i++) {
        for (int64_t j = 0; j < hid; j++) {
            double s = b1[j];
            for (int64_t c = 0; c < in; c++)
                s += (double)X[i * in + c] * w1[j * in + c];
            h[j] = s > 0 ? s : 0;
        }
        int64_t best = 0;
        double zmax = -INFINITY;
        for (int64_t c = 0; c < k; c++) {
            double s = b2[c];
            for (int64_t j = 0; j < hid; j++)
                s += h[j] * w2[c * hid + j];
            z[c] = s;
            if (s > zmax) {
                zmax = s;
                best = c;
            }
        }
        double se = 0;
        for (int64_t c = 0; c < k; c++)
            se += exp(z[c] - zmax);
        nll += zmax + log(se) - z[y[i]];
        correct += best == y[i];
    }
    *acc = (double)correct / (double)ds->n;
    *loss = nll / (double)ds->n;
}

/* Issue 4: "the MLP on digits reaches ≥ 95% test accuracy from a fixed
 * seed in under a minute on 2 cores". 64-128-10 ReLU, Adam (lr 1e-3), 30
 * epochs of batches of 32: over initialisation seeds 1–8 this reaches
 * 96.1–97.2%, so the threshold is not met by luck of one seed (64 hidden
 * units gave 95.0–96.7%, too close to it). The accuracy is recounted with
 * loops from the trained weights. */
START_TEST(test_train_mlp_digits)
{
    split s = load_split("digits8x8.csv", "digit", AG_F32, 42);
    ck_assert_int_eq(s.all->n, 1797);
    ck_assert_int_eq(s.all->d, 64);
    ck_assert_int_eq(s.all->n_classes, 10);
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_mlp *m = own_mlp(ag_mlp_new(3, H_SHAPE(64, 128, 10), AG_ACT_RELU, AG_F32, &rng));
    ag_optim_config oc = {.kind = AG_ADAM, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    ag_optim *o = own_optim(ag_optim_new(m->params, &oc));
    ck_assert(m && o);

    double acc0, loss0;
    mlp_eval_ref(m, s.test, &acc0, &loss0);
    ag_train_config cfg = {.epochs = 30, .batch_size = 32, .seed = 101, .quiet = true};
    ag_epoch_stats st;
    double t0 = now_s();
    ck_assert_msg(ag_train(m, mlp_loss_fn, mlp_logits_fn, o, s.train, s.test, &cfg, &st), "%s",
                  ag_last_error());
    double secs = now_s() - t0;
    ck_assert_int_eq(st.epoch, 30);
    ck_assert_uint_eq(ag_optim_steps(o), 30 * (uint64_t)((s.train->n + 31) / 32));

    double acc, loss;
    mlp_eval_ref(m, s.test, &acc, &loss);
    ck_assert_msg(acc >= 0.95, "test accuracy %.4f after 30 epochs (%.4f before)", acc, acc0);
    ck_assert_msg(acc0 < 0.5 && loss < loss0 / 4, "before: %.4f / %.4f, after: %.4f / %.4f", acc0,
                  loss0, acc, loss);

    /* ag_evaluate and the last epoch's figures agree with the loops. The
     * model is f32: a logit pair closer than f32 rounding could flip one
     * prediction (1/n), and the mean loss is an f32 sum (1e-5 relative). */
    double lib_acc, lib_loss;
    ck_assert(ag_evaluate(m, mlp_loss_fn, mlp_logits_fn, s.test, 100, &lib_acc, &lib_loss));
    ck_assert_near(lib_acc, acc, 0, 1.0 / (double)s.test->n + 1e-12);
    ck_assert_near(lib_loss, loss, 1e-5, 1e-6);
    ck_assert_near(st.test_accuracy, acc, 0, 1.0 / (double)s.test->n + 1e-12);
    ck_assert_near(st.test_loss, loss, 1e-5, 1e-6);

    /* Issue 4's budget: under a minute (here on the machine the suite runs
     * on; valgrind and sanitizers are exempt, being 10–50× slower). */
    if (!h_valgrind() && !SANITIZED)
        ck_assert_msg(secs < 60.0, "30 epochs took %.1f s", secs);
}
END_TEST

/* ---- ag_train's CSV log, schedule and NaN stop ---- */

typedef struct log_row {
    int epoch;
    double train_loss, test_loss, test_accuracy;
} log_row;

/* Parses the log: a header naming the columns, then one row per epoch.
 * Columns are found by name. Returns the number of rows. */
static int read_log(const char *path, log_row *rows, int max_rows)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "log %s: %s", path, strerror(errno));
    char line[1024];
    ck_assert(fgets(line, sizeof line, f) != NULL);
    int col[4] = {-1, -1, -1, -1}, ncols = 0;
    const char *names[4] = {"epoch", "train_loss", "test_loss", "test_accuracy"};
    for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), ncols++)
        for (int k = 0; k < 4; k++)
            if (!strcmp(tok, names[k]))
                col[k] = ncols;
    for (int k = 0; k < 4; k++)
        ck_assert_msg(col[k] >= 0, "the log's header has no column %s", names[k]);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_msg(n < max_rows, "more than %d rows in the log", max_rows);
        double v[16];
        int c = 0;
        char *p = line;
        while (c < 16) {
            char *end;
            v[c++] = strtod(p, &end);
            ck_assert_msg(end != p, "row %d, column %d: not a number: %s", n + 1, c, line);
            if (*end != ',')
                break;
            p = end + 1;
        }
        ck_assert_msg(c == ncols, "row %d has %d columns, the header %d", n + 1, c, ncols);
        rows[n].epoch = (int)v[col[0]];
        ck_assert(v[col[0]] == rows[n].epoch);
        rows[n].train_loss = v[col[1]];
        rows[n].test_loss = v[col[2]];
        rows[n].test_accuracy = v[col[3]];
        n++;
    }
    fclose(f);
    return n;
}

/* The largest divisor of n in [lo, hi], or n. */
static int64_t batch_dividing(int64_t n, int64_t lo, int64_t hi)
{
    for (int64_t b = hi; b >= lo; b--)
        if (n % b == 0)
            return b;
    return n;
}

static void logreg_params_out(const ag_params *p, double *w, double *b, int64_t d)
{
    ck_assert_int_le(d, 30); /* the callers' arrays */
    for (int64_t j = 0; j < d; j++)
        w[j] = ag_get_flat(ag_params_get(p, "w"), (size_t)j);
    *b = ag_get_flat(ag_params_get(p, "b"), 0);
}

/* With lr = 0 the model never changes, so every epoch's train loss (the
 * mean of its batch means; batches of one size) is the objective on the
 * whole training set, and the test figures are the objective and accuracy
 * on the test set — all computed here by loops. */
START_TEST(test_train_log_frozen)
{
    const double lambda = 0.05;
    split s = load_split("wdbc.csv", "benign", AG_F64, 7);
    int64_t d = s.train->d;
    ck_assert_int_le(d, 30);
    logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = lambda};
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    double w[31], b = 0.3;
    for (int64_t j = 0; j < d; j++) {
        w[j] = 0.5 * ag_rng_normal(&rng);
        ag_set_flat(ag_params_get(m.p, "w"), (size_t)j, w[j]);
    }
    ag_set_flat(ag_params_get(m.p, "b"), 0, b);
    ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0}));
    int64_t B = batch_dividing(s.train->n, 8, 128);
    const char *log_path = tmp_path("frozen.csv");
    ag_train_config cfg = {.epochs = 4, .batch_size = B, .seed = 11, .quiet = true,
                           .log_csv = log_path};
    ag_epoch_stats st;
    ck_assert_msg(ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, &st),
                  "%s", ag_last_error());

    double train_obj = logreg_ref(s.train, w, b, lambda, NULL);
    double test_obj = logreg_ref(s.test, w, b, lambda, NULL);
    double test_acc = logreg_accuracy_ref(s.test, w, b);
    log_row rows[8];
    int n = read_log(log_path, rows, 8);
    ck_assert_int_eq(n, 4);
    /* Mean of n/B batch means, each a sum of B terms: rounding ~1e-15. */
    for (int e = 0; e < n; e++) {
        ck_assert_int_eq(rows[e].epoch, e + 1);
        ck_assert_near(rows[e].train_loss, train_obj, 1e-12, 0);
        ck_assert_near(rows[e].test_loss, test_obj, 1e-12, 0);
        ck_assert_f64(rows[e].test_accuracy, test_acc);
    }
    ck_assert_int_eq(st.epoch, 4);
    ck_assert(st.train_loss == rows[3].train_loss); /* %.17g round-trips */
    ck_assert(st.test_loss == rows[3].test_loss);
    ck_assert(st.test_accuracy == rows[3].test_accuracy);
    ck_assert_int_eq(m.calls, 4 * (int)(s.train->n / B) + 4 * (int)((s.test->n + B - 1) / B));
}
END_TEST

/* The curves as a gnuplot script beside the log: written before the first
 * epoch, naming the log and the picture; gnuplot (when installed, run here
 * by the test: the library starts no process) draws a PNG from it. A path
 * that cannot be written fails before any step. */
START_TEST(test_train_plot_script)
{
    split s = load_split("wdbc.csv", "benign", AG_F64, 7);
    logreg_model m = {.p = own_params(ag_logreg_new(s.train->d, AG_F64)), .lambda = 1e-3};
    ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
    char script[600], csv[640], png[600];
    snprintf(script, sizeof script, "%s", tmp_path("curves.gp"));
    snprintf(csv, sizeof csv, "%s.csv", script);
    snprintf(png, sizeof png, "%.*s.png", (int)strlen(script) - 3, script);
    ag_train_config cfg = {.epochs = 3, .batch_size = 64, .seed = 1, .quiet = true,
                           .plot_script = script};
    ck_assert_msg(ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, NULL),
                  "%s", ag_last_error());
    log_row rows[4];
    ck_assert_int_eq(read_log(csv, rows, 4), 3);
    FILE *f = fopen(script, "r");
    ck_assert(f != NULL);
    char text[4096];
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    char want[700];
    snprintf(want, sizeof want, "set output '%s'", png);
    ck_assert_msg(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
    snprintf(want, sizeof want, "plot '%s' using 1:2", csv);
    ck_assert_msg(strstr(text, want) != NULL, "no \"%s\" in:\n%s", want, text);
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        char cmd[1400];
        snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>/dev/null", script);
        ck_assert_int_eq(system(cmd), 0);
        FILE *p = fopen(png, "rb");
        ck_assert_msg(p != NULL, "gnuplot drew no %s", png);
        unsigned char magic[8] = {0};
        ck_assert_uint_eq(fread(magic, 1, 8, p), 8);
        fclose(p);
        ck_assert(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0);
        remove(png);
    }
    remove(script);
    remove(csv);

    uint64_t steps = ag_optim_steps(o);
    cfg.plot_script = "no/such/folder/curves.gp";
    ck_assert(!ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, NULL));
    ck_assert_error(AG_ERR_IO, "no/such/folder/curves.gp");
    ag_error_clear();
    cfg.plot_script = tmp_path("it's.gp");
    ck_assert(!ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, NULL));
    ck_assert_error(AG_ERR_VALUE, "quote");
    ag_error_clear();
    ck_assert_uint_eq(ag_optim_steps(o), steps);
}
END_TEST

/* Training for real: a row per epoch, the train loss falls, the last row is
 * the returned stats, the test figures are those of the final parameters,
 * and a step schedule sets the lr from the optimizer's step count. */
START_TEST(test_train_log_and_schedule)
{
    const double lambda = 1e-3;
    const int epochs = 5;
    split s = load_split("wdbc.csv", "benign", AG_F64, 7);
    int64_t d = s.train->d, B = 32;
    logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = lambda};
    ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 1.0}));
    uint64_t per_epoch = (uint64_t)((s.train->n + B - 1) / B);
    ag_schedule_config sched = {.kind = AG_SCHEDULE_STEP, .base_lr = 0.2, .step_size = per_epoch,
                                .gamma = 0.5};
    const char *log_path = tmp_path("train.csv");
    ag_train_config cfg = {.epochs = epochs, .batch_size = B, .seed = 1, .quiet = true,
                           .log_csv = log_path, .schedule = &sched};
    ag_epoch_stats st;
    ck_assert_msg(ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, &st),
                  "%s", ag_last_error());
    uint64_t S = (uint64_t)epochs * per_epoch;
    ck_assert_uint_eq(ag_optim_steps(o), S);
    /* The last step ran at 0.2 · 0.5^⌊(S − 1)/per_epoch⌋ = 0.2 · 0.5^4. */
    ck_assert_f64(ag_optim_lr(o), 0.2 * 0.0625);

    log_row rows[16];
    int n = read_log(log_path, rows, 16);
    ck_assert_int_eq(n, epochs);
    for (int e = 0; e < n; e++) {
        ck_assert_int_eq(rows[e].epoch, e + 1);
        ck_assert(isfinite(rows[e].train_loss) && rows[e].train_loss > 0);
        ck_assert(rows[e].test_accuracy >= 0 && rows[e].test_accuracy <= 1);
    }
    /* From w = 0 the first batches' loss is ln 2 = 0.693; the fit brings
     * the mean NLL under 0.2 (WDBC is nearly separable). */
    ck_assert_msg(rows[0].train_loss < log(2.0) && rows[n - 1].train_loss < rows[0].train_loss &&
                      rows[n - 1].train_loss < 0.2,
                  "train loss %g → %g", rows[0].train_loss, rows[n - 1].train_loss);
    ck_assert_int_eq(st.epoch, epochs);
    ck_assert(st.train_loss == rows[n - 1].train_loss);
    ck_assert(st.test_loss == rows[n - 1].test_loss);
    ck_assert(st.test_accuracy == rows[n - 1].test_accuracy);
    double w[31], b;
    logreg_params_out(m.p, w, &b, d);
    ck_assert_near(rows[n - 1].test_loss, logreg_ref(s.test, w, b, lambda, NULL), 1e-12, 0);
    ck_assert_f64(rows[n - 1].test_accuracy, logreg_accuracy_ref(s.test, w, b));
    ck_assert(rows[n - 1].test_accuracy > 0.9);
}
END_TEST

/* A NaN loss at epoch 2, step 3: with stop_on_nan, ag_train stops at once
 * with AG_ERR_NUMERIC naming the epoch and step; the NaN step updates
 * nothing (the parameters are those the NaN loss saw), the loss is not
 * called again, and the log holds the one finished epoch. Without the
 * flag, training goes on and that epoch's train loss is NaN. */
START_TEST(test_train_stop_on_nan)
{
    split s = load_split("wdbc.csv", "benign", AG_F64, 3);
    int64_t d = s.train->d, B = 64;
    int per_epoch = (int)((s.train->n + B - 1) / B);
    for (int stop = 1; stop >= 0; stop--) {
        logreg_model m = {.p = own_params(ag_logreg_new(d, AG_F64)), .lambda = 1e-3,
                          .nan_at = per_epoch + 3};
        ag_optim_config oc = ag_optim_defaults(AG_ADAM);
        oc.lr = 0.05;
        ag_optim *o = own_optim(ag_optim_new(m.p, &oc));
        const char *log_path = tmp_path(stop ? "nan-stop.csv" : "nan-go.csv");
        ag_train_config cfg = {.epochs = 3, .batch_size = B, .seed = 5, .quiet = true,
                               .log_csv = log_path, .stop_on_nan = stop};
        ag_epoch_stats st;
        bool ok = ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, s.test, &cfg, &st);
        ck_assert_msg(m.seen != NULL, "the NaN loss was never built");
        own_params(m.seen);
        log_row rows[8];
        int n = read_log(log_path, rows, 8);
        if (stop) {
            ck_assert(!ok);
            ck_assert_status(AG_ERR_NUMERIC);
            ck_assert_msg(strstr(ag_last_error(), "epoch 2") && strstr(ag_last_error(), "step 3"),
                          "message: %s", ag_last_error());
            ag_error_clear();
            ck_assert_int_eq(m.train_calls, m.nan_at);
            ck_assert_uint_eq(ag_optim_steps(o), (uint64_t)m.nan_at - 1);
            for (size_t i = 0; i < ag_params_count(m.p); i++) {
                const ag_tensor *a = ag_params_at(m.p, i, NULL), *c = ag_params_at(m.seen, i, NULL);
                ck_assert(memcmp(ag_data_const(a), ag_data_const(c),
                                 ag_numel(a) * sizeof(double)) == 0);
                for (size_t e = 0; e < ag_numel(a); e++)
                    ck_assert(isfinite(ag_get_flat(a, e)));
            }
            ck_assert_int_eq(n, 1);
            ck_assert_int_eq(rows[0].epoch, 1);
            ck_assert(isfinite(rows[0].train_loss));
        } else {
            ck_assert_msg(ok, "%s", ag_last_error());
            ck_assert_int_eq(n, 3);
            ck_assert(isfinite(rows[0].train_loss) && isnan(rows[1].train_loss) &&
                      isfinite(rows[2].train_loss));
            ck_assert_uint_eq(ag_optim_steps(o), 3 * (uint64_t)per_epoch);
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

/* A step whose loss fails (here an expression of mismatched shapes at the
 * second training call) stops training, and the error names the epoch and
 * step before the op's own message. An error the caller left pending is
 * left as it was: it is not this call's to re-word. */
static ag_tensor *failing_loss_fn(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    logreg_model *mod = m;
    ag_tensor *l = logreg_loss_fn(m, X, y, targets);
    if (mod->train_calls == 2)
        return ag_add(l, ag_matmul(X, X)); /* (B,d) @ (B,d): inner dimensions differ */
    return l;
}

START_TEST(test_train_step_error_names_the_step)
{
    split s = load_split("wdbc.csv", "benign", AG_F64, 3);
    for (int pending = 0; pending < 2; pending++) {
        logreg_model m = {.p = own_params(ag_logreg_new(s.train->d, AG_F64))};
        ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
        ag_train_config cfg = {.epochs = 2, .batch_size = 64, .seed = 5, .quiet = true};
        ag_error_clear();
        if (pending) {
            ck_assert_ptr_null(ag_add(NULL, NULL));
            ck_assert_error(AG_ERR_NULL, "add: input 0 is NULL");
        }
        ag_epoch_stats st;
        ck_assert(!ag_train(&m, failing_loss_fn, logreg_logits_fn, o, s.train, NULL, &cfg, &st));
        ck_assert_int_eq(m.train_calls, 2);
        ck_assert_uint_eq(ag_optim_steps(o), 1);
        if (pending) {
            ck_assert_status(AG_ERR_NULL);
            ck_assert_str_eq(ag_last_error(), "add: input 0 is NULL");
        } else {
            ck_assert_error(AG_ERR_SHAPE, "train: epoch 1, step 2: matmul:");
        }
        ag_error_clear();
        ag_tape_reset(NULL);
    }
    /* A schedule that gives a negative rate stops training at its first step. */
    logreg_model m = {.p = own_params(ag_logreg_new(s.train->d, AG_F64))};
    ag_optim *o = own_optim(ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
    ag_schedule_config bad = {.kind = AG_SCHEDULE_CONSTANT, .base_lr = -0.1};
    ag_train_config cfg = {.epochs = 1, .batch_size = 64, .quiet = true, .schedule = &bad};
    ck_assert(!ag_train(&m, logreg_loss_fn, logreg_logits_fn, o, s.train, NULL, &cfg, NULL));
    ck_assert_error(AG_ERR_VALUE, "train: epoch 1, step 1: optim_set_lr: learning rate -0.1");
    ag_error_clear();
    ck_assert_int_eq(m.train_calls, 0);
    ck_assert_f64(ag_optim_lr(o), 0.1);
}
END_TEST

/* ---- no allocation in the steady state ---- */

/* What is counted: ag_alloc_count() is the number of calls to the
 * library's allocator (ag_malloc, ag_calloc, ag_realloc) — every heap
 * allocation the library makes; not bytes, and not allocations made by
 * OpenBLAS or libc on their own. After a warm-up epoch, a whole second
 * epoch of ag_train-style steps — next batch from the iterator, zero the
 * gradients, forward, backward, optimizer step, tape reset — must add none.
 * The batch size is 32 and the training set is not a multiple of it, so
 * each epoch ends with a smaller batch and the steady state covers both
 * batch shapes, as in ag_train. */
typedef struct step_case {
    const char *what;
    bool mlp; /* 64-32-10 ReLU + cross-entropy, f32, Adam; else logistic
               * regression + BCE + L2, f64, SGD Nesterov */
} step_case;

static const step_case step_cases[] = {{"MLP, Adam, f32", true}, {"logreg + L2, SGD, f64", false}};

START_TEST(test_no_alloc_steady_state)
{
    const step_case *sc = &step_cases[_i];
    split s = sc->mlp ? load_split("digits8x8.csv", "digit", AG_F32, 42)
                      : load_split("wdbc.csv", "benign", AG_F64, 42);
    void *model;
    ag_loss_fn loss;
    ag_params *params;
    logreg_model lm = {0};
    if (sc->mlp) {
        ag_rng rng;
        ag_rng_seed(&rng, 1);
        ag_mlp *m = own_mlp(ag_mlp_new(3, H_SHAPE(64, 32, 10), AG_ACT_RELU, AG_F32, &rng));
        ck_assert(m != NULL);
        model = m;
        loss = mlp_loss_fn;
        params = m->params;
    } else {
        lm.p = own_params(ag_logreg_new(s.train->d, AG_F64));
        lm.lambda = 1e-2;
        model = &lm;
        loss = logreg_loss_fn;
        params = lm.p;
    }
    ag_optim_config adam = {.kind = AG_ADAM, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    ag_optim_config sgd = {.kind = AG_SGD, .lr = 0.05, .momentum = 0.9, .nesterov = true};
    ag_optim *o = own_optim(ag_optim_new(params, sc->mlp ? &adam : &sgd));
    ck_assert(o != NULL);
    const int64_t B = 32, per_epoch = (s.train->n + B - 1) / B;
    ck_assert_msg(s.train->n % B != 0, "%lld rows: no smaller last batch", (long long)s.train->n);
    ag_batches *it = own_batches(ag_batches_new(s.train, B, true, 17));
    ck_assert(it != NULL);
    ck_assert_int_eq(ag_batches_count(it), per_epoch);

    size_t counts[3];
    double first_loss = NAN, last_loss = NAN;
    bool ok = true;
    int64_t steps[2] = {0, 0};
    size_t tape_nodes = 0;
    counts[0] = ag_alloc_count();
    for (int epoch = 0; epoch < 2; epoch++) {
        ag_tensor *X, *y, *t;
        while (ok && ag_batches_next(it, &X, &y, &t)) {
            ag_optim_zero_grad(o);
            ag_tensor *l = loss(model, X, y, t);
            ok = l != NULL;
            if (ok) {
                double v = ag_item(l);
                if (isnan(first_loss))
                    first_loss = v;
                last_loss = v;
                tape_nodes = ag_tape_size(NULL);
                ok = ag_backward(l) && ag_optim_step(o);
            }
            ag_tape_reset(NULL);
            steps[epoch]++;
        }
        counts[epoch + 1] = ag_alloc_count();
    }
    ck_assert_msg(ok, "%s", ag_last_error());
    ck_assert_int_eq(steps[0], per_epoch);
    ck_assert_int_eq(steps[1], per_epoch);
    ck_assert_uint_eq(ag_optim_steps(o), 2 * (uint64_t)per_epoch);
    ck_assert_uint_ge(tape_nodes, 3);     /* the steps record a real graph (the MLP: affine_t_relu, affine_t, loss) ... */
    ck_assert(last_loss < first_loss);    /* ... and train */
    ck_assert_uint_gt(counts[1], counts[0]); /* the counter sees the warm-up's allocations */
    ck_assert_msg(counts[2] == counts[1],
                  "%s: the second epoch (%lld steps of batch %lld) made %zu allocations",
                  sc->what, (long long)steps[1], (long long)B, counts[2] - counts[1]);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc;

    /* Training on real data: generous limits for valgrind and sanitizers
     * (the budget of issue 4 is asserted inside the digits test). */
    tc = h_tcase(s, "train", 900.0);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown);
    tcase_add_test(tc, test_train_logreg_wdbc_optimum);
    tcase_add_test(tc, test_train_mlp_digits);
    tcase_add_test(tc, test_train_log_frozen);
    tcase_add_test(tc, test_train_log_and_schedule);
    tcase_add_test(tc, test_train_plot_script);
    tcase_add_test(tc, test_train_stop_on_nan);
    tcase_add_test(tc, test_train_step_error_names_the_step);
    tcase_add_loop_test(tc, test_no_alloc_steady_state, 0, (int)H_COUNT(step_cases));

    return s;
}

H_MAIN(train_suite)

/* SPDX-License-Identifier: MIT */
/* check-train_any.c — ag_train and ag_evaluate for a model that is no
 * classifier (logits NULL): least-squares regression.
 *
 * The data set is built here: x = -5 .. 6 and integer targets (some
 * negative: without logits the labels are no classes). The model
 * ŷ = x·w + b with the mean squared error, trained by full-batch gradient
 * descent through ag_train, must reach the least-squares line computed
 * here from the normal equations by hand (slope Sxy / Sxx about the
 * means, intercept ȳ - slope·x̄), and its test loss the mean squared
 * residual of that line. The epoch lines, the CSV log and the gnuplot
 * script must carry no accuracy, and ag_epoch_stats.test_accuracy is NaN. */
#include "models_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 12 };
static const double XS[N] = {-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6};
static const double TS[N] = {-4, -3, -3, -1, 0, 0, 1, 3, 2, 4, 5, 5};

/* The least-squares line through (XS, TS), and its mean squared residual. */
static void least_squares(double *slope, double *intercept, double *mse)
{
    double mx = 0, mt = 0;
    for (int i = 0; i < N; i++) {
        mx += XS[i] / N;
        mt += TS[i] / N;
    }
    double sxx = 0, sxt = 0;
    for (int i = 0; i < N; i++) {
        sxx += (XS[i] - mx) * (XS[i] - mx);
        sxt += (XS[i] - mx) * (TS[i] - mt);
    }
    *slope = sxt / sxx;
    *intercept = mt - *slope * mx;
    *mse = 0;
    for (int i = 0; i < N; i++) {
        double r = TS[i] - (*slope * XS[i] + *intercept);
        *mse += r * r / N;
    }
}

/* A data set by hand (its tensors kept by the harness): X (N, 1) f64, y
 * the integer targets. */
static ag_dataset regression_set(void)
{
    int64_t ys[N];
    for (int i = 0; i < N; i++)
        ys[i] = (int64_t)TS[i];
    ag_tensor *y = h_keep(ag_from_array(AG_I64, 1, H_SHAPE(N), ys));
    ck_assert_tensor(y);
    ag_dataset d = {.X = h_arr(AG_F64, 2, H_SHAPE(N, 1), XS), .y = y, .n = N, .d = 1,
                    .n_classes = 1};
    return d;
}

static ag_params *line_model(void)
{
    ag_params *p = own_params(ag_params_new());
    ck_assert(ag_params_add(p, "w", make(AG_F64, 2, H_SHAPE(1, 1), NULL)));
    ck_assert(ag_params_add(p, "b", make(AG_F64, 1, H_SHAPE(1), NULL)));
    return p;
}

/* mean((X·w + b - t)²): the targets are the labels as numbers. */
static ag_tensor *mse_loss(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)y;
    ag_params *p = model;
    ag_tensor *pred = ag_add(ag_matmul(X, ag_params_get(p, "w")), ag_params_get(p, "b"));
    return ag_mean(ag_square(ag_sub(pred, targets)));
}

static ag_tensor *line_logits(void *model, ag_tensor *X)
{
    ag_params *p = model;
    return ag_add(ag_matmul(X, ag_params_get(p, "w")), ag_params_get(p, "b"));
}

/* The whole of a small text file (caller frees). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *s = calloc(1, 1 << 16);
    size_t n = fread(s, 1, (1 << 16) - 1, f);
    fclose(f);
    s[n] = '\0';
    return s;
}

START_TEST(test_regression_converges)
{
    double slope, intercept, mse;
    least_squares(&slope, &intercept, &mse);
    ag_dataset d = regression_set();
    ag_params *p = line_model();
    ag_optim_config oc = ag_optim_defaults(AG_SGD);
    /* Full batch: the Hessian of the mean squared error is 2·[[Σx²/N, x̄],
     * [x̄, 1]], eigenvalues about 24.4 and 1.96; a rate of 0.05 is stable
     * (0.05 · 24.4 < 2) and shrinks the slow direction by 0.9 a step. */
    oc.lr = 0.05;
    ag_optim *o = own_optim(ag_optim_new(p, &oc));
    ck_assert_ptr_nonnull(o);
    FILE *progress = tmpfile();
    ck_assert_ptr_nonnull(progress);
    char csv[1024], script[1024]; /* tmp_path's buffer is reused by each call */
    snprintf(csv, sizeof csv, "%s", tmp_path("line.csv"));
    snprintf(script, sizeof script, "%s", tmp_path("line.gp"));
    ag_train_config cfg = {.epochs = 400, .batch_size = N, .seed = 3, .progress = progress,
                           .log_csv = csv, .plot_script = script};
    ag_epoch_stats st;
    bool ok = ag_train(p, mse_loss, NULL, o, &d, &d, &cfg, &st);
    ck_assert_msg(ok, "%s", ag_last_error());
    ck_assert_ok();
    ck_assert_near(ag_get_flat(ag_params_get(p, "w"), 0), slope, 1e-9, 1e-9);
    ck_assert_near(ag_get_flat(ag_params_get(p, "b"), 0), intercept, 1e-9, 1e-9);
    ck_assert_int_eq(st.epoch, 400);
    ck_assert_near(st.test_loss, mse, 1e-9, 1e-12);
    ck_assert(isnan(st.test_accuracy));

    /* The epoch lines: the test loss, no accuracy. */
    rewind(progress);
    char line[512];
    int lines = 0;
    while (fgets(line, sizeof line, progress)) {
        lines++;
        ck_assert_msg(strstr(line, "test loss ") && !strstr(line, "accuracy"), "line: %s", line);
    }
    fclose(progress);
    ck_assert_int_eq(lines, 400);

    /* The log: four columns, one line per epoch, the last one's test loss. */
    char *log = slurp(csv);
    ck_assert_msg(strncmp(log, "epoch,train_loss,test_loss,seconds\n", 35) == 0, "log: %.80s", log);
    ck_assert_ptr_null(strstr(log, "accuracy"));
    int rows = 0;
    const char *last = NULL;
    for (const char *s = strchr(log, '\n') + 1; *s; s = strchr(s, '\n') + 1) {
        int commas = 0;
        for (const char *c = s; *c != '\n'; c++)
            commas += *c == ',';
        ck_assert_int_eq(commas, 3);
        last = s;
        rows++;
    }
    ck_assert_int_eq(rows, 400);
    int epoch;
    double train_loss, test_loss;
    ck_assert_int_eq(sscanf(last, "%d,%lf,%lf", &epoch, &train_loss, &test_loss), 3);
    ck_assert_int_eq(epoch, 400);
    ck_assert_near(test_loss, mse, 1e-9, 1e-12);
    free(log);

    /* The plot: the loss curves from columns 2 and 3, nothing else. */
    char *gp = slurp(script);
    ck_assert_msg(strstr(gp, "using 1:2") && strstr(gp, "using 1:3"), "%.400s", gp);
    ck_assert_msg(!strstr(gp, "accuracy") && !strstr(gp, "using 1:4") && !strstr(gp, "multiplot"),
                  "%.400s", gp);
    free(gp);
    /* gnuplot (when installed; the library starts no process) draws it: one
     * panel, 450 pixels wide (the IHDR's big-endian width at byte 16). */
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        char cmd[1200], png[1024];
        snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>/dev/null", script);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(png, sizeof png, "%.*s.png", (int)strlen(script) - 3, script);
        FILE *f = fopen(png, "rb");
        ck_assert_msg(f != NULL, "gnuplot drew no %s", png);
        unsigned char head[24] = {0};
        ck_assert_uint_eq(fread(head, 1, 24, f), 24);
        fclose(f);
        ck_assert(memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0);
        ck_assert_int_eq((head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19], 450);
        remove(png);
    }
}
END_TEST

/* ag_evaluate without logits: the mean loss over batches of any size, and
 * no accuracy; without logits and loss there is nothing to evaluate. */
START_TEST(test_evaluate_loss_only)
{
    double slope, intercept, mse;
    least_squares(&slope, &intercept, &mse);
    ag_dataset d = regression_set();
    ag_params *p = line_model();
    ag_set_flat(ag_params_get(p, "w"), 0, slope);
    ag_set_flat(ag_params_get(p, "b"), 0, intercept);
    for (int64_t bs = 1; bs <= N + 1; bs += 4) {
        double acc = 0, loss = 0;
        ck_assert_msg(ag_evaluate(p, mse_loss, NULL, &d, bs, &acc, &loss), "%s", ag_last_error());
        ck_assert(isnan(acc));
        ck_assert_near(loss, mse, 1e-12, 1e-14);
    }
    double acc = 0;
    ck_assert(!ag_evaluate(p, NULL, NULL, &d, 4, &acc, NULL));
    ck_assert_error(AG_ERR_NULL, "nothing to evaluate");
}
END_TEST

/* With logits the labels are classes again, and these are not. */
START_TEST(test_logits_still_check_labels)
{
    ag_dataset d = regression_set();
    ag_params *p = line_model();
    ag_optim_config oc = ag_optim_defaults(AG_SGD);
    ag_optim *o = own_optim(ag_optim_new(p, &oc));
    ag_train_config cfg = {.epochs = 1, .batch_size = N, .quiet = true};
    ck_assert(!ag_train(p, mse_loss, line_logits, o, &d, NULL, &cfg, NULL));
    ck_assert_error(AG_ERR_VALUE, "label -4 in row 0");
    ck_assert_double_eq(ag_get_flat(ag_params_get(p, "w"), 0), 0.0);
    ag_error_clear();
    ck_assert(!ag_train(p, NULL, NULL, o, &d, NULL, &cfg, NULL));
    ck_assert_error(AG_ERR_NULL, "loss");
}
END_TEST

Suite *train_any_suite(void);
Suite *train_any_suite(void)
{
    Suite *s = suite_create("train_any");
    TCase *tc = h_tcase(s, "train_any", H_TIMEOUT);
    tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_regression_converges);
    tcase_add_test(tc, test_evaluate_loss_only);
    tcase_add_test(tc, test_logits_still_check_labels);
    return s;
}

H_MAIN(train_any_suite)

/* SPDX-License-Identifier: MIT */
/* train.c — the training loop helper and evaluation.
 *
 * One step is the design's cycle: build the loss as an expression, sweep
 * backward, step the optimizer, reset the tape. Around it: minibatches from a
 * seeded iterator, a progress bar on a terminal (plain lines otherwise, so
 * logs stay readable), evaluation after each epoch, a CSV log and a gnuplot
 * script that draws its curves (written, not run: the library starts no
 * process). Accuracy needs a classifier's logits; without a logits
 * function (regression, an autoencoder, a VAE's ELBO) the loss is the only
 * figure, and the labels are whatever the loss makes of them. */
#include "op.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether every label of d is a class of d (0 .. n_classes - 1), naming
 * the first that is not and its row. Run once per call on the whole set
 * (d has passed ag_batches_new's checks: y is an i64 (n) tensor): a label
 * out of range is never predicted, so without this it shows only as an
 * accuracy too low, or as a loss's error about a position in some batch. */
static bool labels_in_range(const char *who, const char *set, const ag_dataset *d)
{
    const int64_t *y = ag_data_const(d->y);
    for (int64_t i = 0; i < d->n; i++)
        if (y[i] < 0 || y[i] >= d->n_classes) {
            ag_error_set(AG_ERR_VALUE,
                         "%s: label %lld in row %lld of the %s set is not a class: labels are 0 "
                         "to n_classes - 1 = %lld",
                         who, (long long)y[i], (long long)i, set, (long long)d->n_classes - 1);
            return false;
        }
    return true;
}

/* Whether the logits of a batch of b rows fit it and its labels: (b) or
 * (b, 1) for a binary model (labels 0 and 1), (b, k) for k classes (labels
 * below k). `first_row` is the batch's first row in the data set, for the
 * message. count_correct reads exactly the elements this admits. */
static bool logits_fit(const ag_tensor *z, const ag_tensor *y, int64_t b, int64_t first_row)
{
    int nd = ag_ndim(z);
    if (!((nd == 1 || nd == 2) && ag_dim(z, 0) == b && ag_tensor_dtype(z) != AG_I64)) {
        char a[160];
        ag_error_set(AG_ERR_SHAPE,
                     "evaluate: the logits function gave %s %s for a batch of %lld rows; "
                     "expected (%lld) or (%lld, classes) of floats",
                     ag_dtype_str(ag_tensor_dtype(z)), ag_shape_str(z, a, sizeof a),
                     (long long)b, (long long)b, (long long)b);
        return false;
    }
    int64_t k = ag_ndim(z) == 2 ? ag_dim(z, 1) : 1, classes = k == 1 ? 2 : k;
    const int64_t *labels = ag_data_const(y);
    for (int64_t i = 0; i < b; i++)
        if (labels[i] < 0 || labels[i] >= classes) {
            ag_error_set(AG_ERR_VALUE,
                         "evaluate: label %lld in row %lld is not one of the model's %lld "
                         "classes (its logits have %lld column%s)",
                         (long long)labels[i], (long long)(first_row + i), (long long)classes,
                         (long long)k, k == 1 ? "" : "s");
            return false;
        }
    return true;
}

/* Correct predictions in a batch: logit > 0 for one column, else argmax. */
static int64_t count_correct(const ag_tensor *logits, const ag_tensor *y)
{
    int64_t n = ag_ndim(logits) ? ag_dim(logits, 0) : 1;
    int64_t k = ag_ndim(logits) == 2 ? ag_dim(logits, 1) : 1;
    const int64_t *labels = ag_data_const(y);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t pred;
        if (k == 1) {
            pred = ag_get_flat(logits, (size_t)i) > 0;
        } else {
            pred = 0;
            double best = ag_get_flat(logits, (size_t)(i * k));
            for (int64_t c = 1; c < k; c++) {
                double v = ag_get_flat(logits, (size_t)(i * k + c));
                if (v > best) {
                    best = v;
                    pred = c;
                }
            }
        }
        correct += pred == labels[i];
    }
    return correct;
}

bool ag_evaluate(void *model, ag_loss_fn loss, ag_logits_fn logits, const ag_dataset *d,
                 int64_t batch_size, double *accuracy, double *mean_loss)
{
    if ((!logits && !loss) || !d) {
        ag_error_set(AG_ERR_NULL, "evaluate: %s", d ? "the loss and logits functions are both "
                     "NULL: there is nothing to evaluate" : "the data set is NULL");
        return false;
    }
    ag_batches *it = ag_batches_new(d, batch_size, false, 0);
    if (!it)
        return false;
    if (logits && !labels_in_range("evaluate", "evaluation", d)) {
        ag_batches_free(it);
        return false;
    }
    bool mode = ag_no_grad_begin();
    int64_t correct = 0, seen = 0;
    double loss_sum = 0;
    bool ok = true;
    ag_tensor *X, *y, *t;
    while (ok && ag_batches_next(it, &X, &y, &t)) {
        ag_tensor *z = logits ? logits(model, X) : NULL;
        ag_tensor *l = loss ? loss(model, X, y, t) : NULL;
        ok = (!logits || (z != NULL && logits_fit(z, y, ag_dim(X, 0), seen))) &&
             (!loss || l != NULL);
        if (ok) {
            int64_t b = ag_dim(X, 0);
            if (z)
                correct += count_correct(z, y);
            if (l)
                loss_sum += ag_item(l) * (double)b;
            seen += b;
        }
        ag_tape_reset(NULL);
    }
    ag_grad_mode_set(mode);
    ag_batches_free(it);
    if (!ok)
        return false;
    if (accuracy)
        *accuracy = logits && seen ? (double)correct / (double)seen : NAN;
    if (mean_loss)
        *mean_loss = loss && seen ? loss_sum / (double)seen : NAN;
    return true;
}

/* "[#########.........]" for a fraction in [0, 1]. */
static void bar(char *buf, size_t width, double frac)
{
    size_t full = (size_t)(frac * (double)width + 0.5);
    buf[0] = '[';
    for (size_t i = 0; i < width; i++)
        buf[1 + i] = i < full ? '#' : '.';
    buf[1 + width] = ']';
    buf[2 + width] = '\0';
}

static void progress_line(FILE *f, bool tty, int epoch, int epochs, int64_t step, int64_t steps,
                          double loss, double ex_per_s, double eta)
{
    if (!tty)
        return;
    char b[64];
    bar(b, 24, steps ? (double)step / (double)steps : 1.0);
    fprintf(f, "\repoch %d/%d %s %lld/%lld  loss %.4f  %.0f ex/s  ETA %02d:%02d ", epoch, epochs,
            b, (long long)step, (long long)steps, loss, ex_per_s, (int)eta / 60, (int)eta % 60);
    fflush(f);
}

/* A gnuplot script drawing the loss curves of the log `csv`, and the
 * accuracy curve beside them when there is one, to the script's name with
 * ".gp" replaced by (or, without it, followed by) ".png". Checked before
 * training, so a path that cannot be written costs no epoch. */
static bool write_plot_script(const char *script, const char *csv, bool accuracy)
{
    size_t len = strlen(script);
    if (strchr(script, '\'') || strchr(csv, '\'')) {
        ag_error_set(AG_ERR_VALUE, "train: the plot script's paths cannot hold a quote (')");
        return false;
    }
    if (len >= 1000) {
        ag_error_set(AG_ERR_VALUE, "train: the plot script's path is over 1000 bytes");
        return false;
    }
    char png[1024];
    size_t stem = len > 3 && strcmp(script + len - 3, ".gp") == 0 ? len - 3 : len;
    snprintf(png, sizeof png, "%.*s.png", (int)stem, script);
    FILE *gp = fopen(script, "w");
    if (!gp) {
        ag_error_set(AG_ERR_IO, "train: cannot write the plot script %s: %s", script,
                     strerror(errno));
        return false;
    }
    fprintf(gp,
            "# The curves of %s; draw them with: gnuplot %s\n"
            "set terminal pngcairo size %s,400\n"
            "set output '%s'\n"
            "set datafile separator ','\n"
            "set key autotitle columnhead\n"
            "%s"
            "set xlabel 'epoch'\nset ylabel 'loss'\n"
            "plot '%s' using 1:2 with linespoints title 'train loss', "
            "'' using 1:3 with linespoints title 'test loss'\n",
            csv, script, accuracy ? "900" : "450", png,
            accuracy ? "set multiplot layout 1,2\n" : "", csv);
    if (accuracy)
        fprintf(gp,
                "set ylabel 'test accuracy'\nset yrange [0:1]\nset key bottom right\n"
                "plot '%s' using 1:4 with linespoints title 'test accuracy'\n"
                "unset multiplot\n",
                csv);
    if (ferror(gp) | (fclose(gp) != 0)) {
        ag_error_set(AG_ERR_IO, "train: cannot write the plot script %s", script);
        return false;
    }
    return true;
}

bool ag_train(void *model, ag_loss_fn loss, ag_logits_fn logits, ag_optim *opt,
              const ag_dataset *train, const ag_dataset *test, const ag_train_config *cfg,
              ag_epoch_stats *stats)
{
    if (!loss || !opt || !train || !cfg) {
        ag_error_set(AG_ERR_NULL, "train: the loss, optimizer, training set and config are required");
        return false;
    }
    if (cfg->epochs < 1 || cfg->batch_size < 1) {
        ag_error_set(AG_ERR_VALUE, "train: %d epochs of batch size %lld; both must be >= 1",
                     cfg->epochs, (long long)cfg->batch_size);
        return false;
    }
    /* An error already pending is the caller's: a failed step then cannot
     * record its own (the first error wins), and its message is not ours
     * to re-word. */
    bool clean = ag_last_status() == AG_OK;
    FILE *out = cfg->progress ? cfg->progress : stderr;
    bool tty = !cfg->quiet && isatty(fileno(out));
    char plot_csv[1024] = "";
    const char *log_path = cfg->log_csv;
    if (!log_path && cfg->plot_script) {
        snprintf(plot_csv, sizeof plot_csv, "%s.csv", cfg->plot_script);
        log_path = plot_csv;
    }
    /* Both sets checked whole before anything happens (the log written,
     * a step taken): a bad label in the test set would otherwise surface
     * only after the first epoch's training. */
    ag_batches *it = ag_batches_new(train, cfg->batch_size, true, cfg->seed);
    ag_batches *probe = it && test ? ag_batches_new(test, cfg->batch_size, false, 0) : NULL;
    bool sets_ok = it && (!logits || labels_in_range("train", "training", train)) &&
                   (!test || (probe && (!logits || labels_in_range("train", "test", test))));
    ag_batches_free(probe);
    if (!sets_ok) {
        ag_batches_free(it);
        return false;
    }
    if (cfg->plot_script && !write_plot_script(cfg->plot_script, log_path, logits != NULL)) {
        ag_batches_free(it);
        return false;
    }
    FILE *log = NULL;
    if (log_path) {
        log = fopen(log_path, "w");
        if (!log) {
            ag_error_set(AG_ERR_IO, "train: cannot write the log %s", log_path);
            ag_batches_free(it);
            return false;
        }
        fprintf(log, logits ? "epoch,train_loss,test_loss,test_accuracy,seconds\n"
                            : "epoch,train_loss,test_loss,seconds\n");
        fflush(log);
    }
    int64_t steps = ag_batches_count(it);
    bool ok = true;
    ag_epoch_stats st = {0};
    for (int epoch = 1; ok && epoch <= cfg->epochs; epoch++) {
        double t0 = now(), loss_sum = 0;
        int64_t step = 0, seen = 0;
        ag_tensor *X, *y, *t;
        while (ok && ag_batches_next(it, &X, &y, &t)) {
            if (cfg->schedule &&
                !ag_optim_set_lr(opt, ag_schedule_lr(cfg->schedule, ag_optim_steps(opt)))) {
                ok = false; /* a schedule that gives no valid rate */
                break;
            }
            ag_optim_zero_grad(opt);
            ag_tensor *l = loss(model, X, y, t);
            double v = l ? ag_item(l) : NAN;
            if (!l) {
                ok = false;
                break;
            }
            if (cfg->stop_on_nan && !isfinite(v)) {
                ag_error_set(AG_ERR_NUMERIC, "train: the loss is %g at epoch %d, step %lld; stopped",
                             v, epoch, (long long)step + 1);
                ok = false;
                break;
            }
            ok = ag_backward(l) && ag_optim_step(opt);
            ag_tape_reset(NULL);
            loss_sum += v;
            step++;
            seen += ag_dim(X, 0);
            double el = now() - t0;
            if (tty && (step % 10 == 0 || step == steps))
                progress_line(out, tty, epoch, cfg->epochs, step, steps, loss_sum / (double)step,
                              (double)seen / el, el / (double)step * (double)(steps - step));
        }
        if (!ok) {
            if (clean && ag_last_status() != AG_OK && !strstr(ag_last_error(), "epoch")) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", ag_last_error());
                ag_status s = ag_last_status();
                ag_error_clear();
                ag_error_set(s, "train: epoch %d, step %lld: %s", epoch, (long long)step + 1, msg);
            }
            break;
        }
        st.epoch = epoch;
        st.train_loss = step ? loss_sum / (double)step : NAN;
        st.test_loss = st.test_accuracy = NAN;
        if (test) {
            /* model.eval() for the evaluation, model.train() after it. */
            bool was = cfg->params ? ag_params_set_training(cfg->params, false) : false;
            ok = ag_evaluate(model, loss, logits, test, cfg->batch_size, &st.test_accuracy,
                             &st.test_loss);
            if (cfg->params)
                ag_params_set_training(cfg->params, was);
        }
        st.seconds = now() - t0;
        st.examples_per_s = st.seconds > 0 ? (double)seen / st.seconds : 0;
        if (!cfg->quiet) {
            if (tty)
                fputc('\r', out);
            fprintf(out, "epoch %d/%d  train loss %.4f", epoch, cfg->epochs, st.train_loss);
            if (test)
                fprintf(out, "  test loss %.4f", st.test_loss);
            if (test && logits)
                fprintf(out, "  test accuracy %.2f%%", 100 * st.test_accuracy);
            fprintf(out, "  %.2f s (%.0f examples/s)%s\n", st.seconds, st.examples_per_s,
                    tty ? "          " : "");
            fflush(out);
        }
        if (log && logits)
            fprintf(log, "%d,%.17g,%.17g,%.17g,%.6f\n", epoch, st.train_loss, st.test_loss,
                    st.test_accuracy, st.seconds);
        else if (log)
            fprintf(log, "%d,%.17g,%.17g,%.6f\n", epoch, st.train_loss, st.test_loss, st.seconds);
        if (log)
            fflush(log);
    }
    ag_batches_free(it);
    if (log)
        fclose(log);
    if (stats)
        *stats = st;
    return ok;
}

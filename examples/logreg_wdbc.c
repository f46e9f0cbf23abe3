/* SPDX-License-Identifier: MIT */
/* logreg_wdbc.c — logistic regression on the Breast Cancer Wisconsin data.
 *
 *   logreg_wdbc [data-dir] [model-file]
 *
 * The lecture's model, p(benign | x) = σ(x·w + b), fitted by minimising the
 * mean negative log-likelihood (from the logits, so it is stable) with a
 * small L2 penalty, on standardized features; 80/20 train/test split from a
 * seed. Prints the training loss by epoch and the test accuracy, and saves
 * the model. */
#include <autograd/autograd.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct model {
    ag_params *p;
    double lambda;
} model;

static ag_tensor *logits(void *m, ag_tensor *X)
{
    return ag_logreg_logits(((model *)m)->p, X);
}

/* mean NLL + λ/2 ‖w‖² */
static ag_tensor *loss(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)y;
    model *mod = m;
    ag_tensor *nll = ag_bce_with_logits(logits(m, X), targets, AG_REDUCE_MEAN);
    return ag_add(nll, ag_l2_penalty(mod->p, mod->lambda));
}

static int fail(const char *what)
{
    fprintf(stderr, "logreg_wdbc: %s: %s\n", what, ag_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "examples/data";
    const char *out = argc > 2 ? argv[2] : "logreg_wdbc.safetensors";
    char path[1024];
    snprintf(path, sizeof path, "%s/wdbc.csv", dir);

    ag_dataset *all = ag_csv_load(path, &(ag_csv_options){.label_column = "benign", .dtype = AG_F64});
    if (!all)
        return fail("loading the data");
    ag_dataset *train, *test;
    if (!ag_dataset_split(all, 0.2, 42, &train, &test))
        return fail("splitting");
    ag_standardizer s;
    if (!ag_standardizer_fit(&s, train) || !ag_standardizer_apply(&s, train) ||
        !ag_standardizer_apply(&s, test))
        return fail("standardizing");
    printf("Breast Cancer Wisconsin: %lld training and %lld test rows, %lld features\n",
           (long long)train->n, (long long)test->n, (long long)train->d);

    model m = {ag_logreg_new(train->d, AG_F64), 1e-3};
    ag_optim *opt = ag_optim_new(m.p, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1, .momentum = 0.9});
    if (!m.p || !opt)
        return fail("making the model");
    ag_epoch_stats st;
    ag_train_config cfg = {.epochs = 20, .batch_size = 32, .seed = 1, .progress = stdout};
    if (!ag_train(&m, loss, logits, opt, train, test, &cfg, &st))
        return fail("training");
    printf("test accuracy: %.2f%%\n", 100 * st.test_accuracy);

    if (!ag_safetensors_save(out, m.p, (const char *[]){"model", "logistic regression", NULL}))
        return fail("saving");
    printf("model saved to %s\n", out);

    ag_optim_free(opt);
    ag_params_free(m.p);
    ag_standardizer_free(&s);
    ag_dataset_free(train);
    ag_dataset_free(test);
    ag_dataset_free(all);
    ag_shutdown();
    return 0;
}

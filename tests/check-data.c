/* SPDX-License-Identifier: MIT */
/* check-data.c — what is done with a loaded data set: train/test splits,
 * standardization, binary targets and minibatch iteration; and every
 * allocation of the readers and of these failing in turn. The readers
 * themselves are check-csv.c's and check-idx.c's.
 *
 * Expected values come from data sets made here (rows_set: row i is
 * (i, 1000 + i) with label i % 3, so every row identifies itself), from the
 * provenance notes of the real data sets (examples/data/README.md: 569
 * rows, 357 benign), and from statistics computed here with plain loops.
 * Every error is checked for its status and message. */
#include "data_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A data set of n rows made here: X[i] = (i, 1000 + i), y[i] = i % 3.
 * The tensors are kept by the harness; the struct is the caller's. */
static ag_dataset rows_set(int64_t n, ag_dtype dtype)
{
    double *x = malloc((size_t)(2 * n + 1) * sizeof *x);
    int64_t *y = malloc((size_t)(n + 1) * sizeof *y);
    ck_assert(x && y);
    for (int64_t i = 0; i < n; i++) {
        x[2 * i] = (double)i;
        x[2 * i + 1] = 1000.0 + (double)i;
        y[i] = i % 3;
    }
    ag_tensor *X = h_arr(dtype, 2, H_SHAPE(n, 2), x);
    ag_tensor *Y = h_keep(ag_from_array(AG_I64, 1, H_SHAPE(n), y));
    free(x);
    free(y);
    ck_assert_tensor(X);
    ck_assert_tensor(Y);
    return (ag_dataset){.X = X, .y = Y, .n = n, .d = 2, .n_classes = n >= 3 ? 3 : n};
}

/* ------------------------------------------------------------------ */
/* Train/test split                                                    */
/* ------------------------------------------------------------------ */

/* Checks that train and test partition the rows of rows_set(n). */
static void check_partition(const ag_dataset *train, const ag_dataset *test, int64_t n,
                            int64_t n_test)
{
    ck_assert_dataset(train);
    ck_assert_dataset(test);
    ck_assert_int_eq(test->n, n_test);
    ck_assert_int_eq(train->n, n - n_test);
    ck_assert_shape(test->X, 2, H_SHAPE(n_test, 2));
    ck_assert_shape(train->X, 2, H_SHAPE(n - n_test, 2));
    int *seen = calloc((size_t)n, sizeof *seen);
    ck_assert_ptr_nonnull(seen);
    const ag_dataset *sets[] = {train, test};
    for (int s = 0; s < 2; s++) {
        for (int64_t i = 0; i < sets[s]->n; i++) {
            double id = ag_get(sets[s]->X, H_SHAPE(i, 0));
            ck_assert(id >= 0 && id < (double)n && id == (double)(int64_t)id);
            ck_assert(ag_get(sets[s]->X, H_SHAPE(i, 1)) == 1000 + id);
            ck_assert_int_eq(label_at(sets[s], i), (int64_t)id % 3);
            seen[(int64_t)id]++;
        }
    }
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(seen[i] == 1, "row %lld is in %d sets", (long long)i, seen[i]);
    free(seen);
}

START_TEST(test_split_sizes_cover)
{
    /* round(n * f), half away from zero: 569 * 0.2 = 113.8 -> 114;
     * 10 * 0.25 = 2.5 -> 3; 101 * 0.5 = 50.5 -> 51; 7 * 0.1 = 0.7 -> 1. */
    const struct { int64_t n; double f; int64_t n_test; } cases[] = {
        {569, 0.2, 114}, {10, 0.25, 3}, {101, 0.5, 51}, {7, 0.1, 1}, {2, 0.5, 1}};
    for (size_t k = 0; k < H_COUNT(cases); k++) {
        ag_dataset d = rows_set(cases[k].n, AG_F64);
        ag_dataset *train, *test;
        ck_assert_msg(ag_dataset_split(&d, cases[k].f, 42, &train, &test), "%s", ag_last_error());
        keep_ds(train);
        keep_ds(test);
        check_partition(train, test, cases[k].n, cases[k].n_test);
        ck_assert_int_eq(train->n_classes, d.n_classes);
        ck_assert_int_eq(test->n_classes, d.n_classes);
        ck_assert_ptr_null(train->feature_names);
    }
    ck_assert_ok();
}
END_TEST

START_TEST(test_split_deterministic)
{
    ag_dataset d = rows_set(200, AG_F32);
    ag_dataset *tr1, *te1, *tr2, *te2, *tr3, *te3;
    ck_assert(ag_dataset_split(&d, 0.3, 7, &tr1, &te1));
    keep_ds(tr1), keep_ds(te1);
    ck_assert(ag_dataset_split(&d, 0.3, 7, &tr2, &te2));
    keep_ds(tr2), keep_ds(te2);
    ck_assert(ag_dataset_split(&d, 0.3, 8, &tr3, &te3));
    keep_ds(tr3), keep_ds(te3);
    check_partition(tr1, te1, 200, 60);
    check_partition(tr3, te3, 200, 60);
    ck_assert_mem_eq(ag_data(tr1->X), ag_data(tr2->X), 140 * 2 * sizeof(float));
    ck_assert_mem_eq(ag_data(te1->X), ag_data(te2->X), 60 * 2 * sizeof(float));
    ck_assert_mem_eq(ag_data(te1->y), ag_data(te2->y), 60 * sizeof(int64_t));
    ck_assert(memcmp(ag_data(te1->X), ag_data(te3->X), 60 * 2 * sizeof(float)) != 0);
    /* Shuffled, not in row order. */
    bool ascending = true;
    for (int64_t i = 1; i < te1->n; i++)
        ascending &= ag_get(te1->X, H_SHAPE(i, 0)) > ag_get(te1->X, H_SHAPE(i - 1, 0));
    ck_assert(!ascending);
    ck_assert_ok();
}
END_TEST

START_TEST(test_split_keeps_names_and_classes)
{
    ag_dataset *all = keep_ds(ag_csv_load(real_data("wdbc.csv"),
                                          &(ag_csv_options){.label_column = "benign"}));
    ck_assert_dataset(all);
    ag_dataset *train, *test;
    ck_assert(ag_dataset_split(all, 0.2, 42, &train, &test));
    keep_ds(train), keep_ds(test);
    ck_assert_int_eq(test->n, 114);
    ck_assert_int_eq(train->n, 455);
    for (int j = 0; j < 30; j++) {
        ck_assert_str_eq(train->feature_names[j], all->feature_names[j]);
        ck_assert_str_eq(test->feature_names[j], all->feature_names[j]);
        ck_assert_ptr_ne(train->feature_names[j], all->feature_names[j]);
    }
    /* Label counts add up to the whole set's. */
    int64_t benign = 0;
    for (int64_t i = 0; i < train->n; i++)
        benign += label_at(train, i);
    for (int64_t i = 0; i < test->n; i++)
        benign += label_at(test, i);
    ck_assert_int_eq(benign, 357);

    /* A class that only one row has keeps counting on the side without it. */
    ag_dataset d = rows_set(10, AG_F64);
    ((int64_t *)ag_data(d.y))[0] = 4;
    d.n_classes = 5;
    ck_assert(ag_dataset_split(&d, 0.5, 1, &train, &test));
    keep_ds(train), keep_ds(test);
    ck_assert_int_eq(train->n_classes, 5);
    ck_assert_int_eq(test->n_classes, 5);
    ck_assert_ok();
}
END_TEST

START_TEST(test_split_errors)
{
    ag_dataset d = rows_set(10, AG_F64);
    ag_dataset *train = (ag_dataset *)&d, *test = (ag_dataset *)&d;
    const double bad[] = {0.0, 1.0, -0.1, 1.5, NAN, INFINITY};
    for (size_t k = 0; k < H_COUNT(bad); k++) {
        ag_error_clear();
        ck_assert(!ag_dataset_split(&d, bad[k], 1, &train, &test));
        ck_assert_error(AG_ERR_VALUE, "not in (0, 1)");
        ck_assert_ptr_null(train);
        ck_assert_ptr_null(test);
    }
    ag_error_clear();
    ck_assert(!ag_dataset_split(&d, 0.01, 1, &train, &test)); /* round(0.1) = 0 */
    ck_assert_error(AG_ERR_VALUE, "leaves the test set empty");
    ag_error_clear();
    ck_assert(!ag_dataset_split(&d, 0.99, 1, &train, &test)); /* round(9.9) = 10 */
    ck_assert_error(AG_ERR_VALUE, "leaves the training set empty");
    ag_error_clear();
    ck_assert(!ag_dataset_split(NULL, 0.5, 1, &train, &test));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_dataset_split(&d, 0.5, 1, NULL, &test));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_dataset wrong = d;
    wrong.d = 3; /* disagrees with X (10, 2) */
    ck_assert(!ag_dataset_split(&wrong, 0.5, 1, &train, &test));
    ck_assert_error(AG_ERR_SHAPE, "(10,2)");
    ag_error_clear();
    wrong = d;
    wrong.y = h_keep(ag_zeros(AG_F64, 1, H_SHAPE(10))); /* f64 labels */
    ck_assert(!ag_dataset_split(&wrong, 0.5, 1, &train, &test));
    ck_assert_error(AG_ERR_DTYPE, "y f64");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Standardizer and targets                                            */
/* ------------------------------------------------------------------ */

START_TEST(test_standardizer_by_hand)
{
    /* Column 0: 1, 2, 3, 4: mean 2.5, population variance
     * (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25. Column 1: 0.1 four times
     * (constant: std 1, mean exactly the stored 0.1, every value becomes 0). */
    const ag_dtype dts[] = {AG_F64, AG_F32};
    for (size_t k = 0; k < H_COUNT(dts); k++) {
        ag_dataset d = {.X = h_arr(dts[k], 2, H_SHAPE(4, 2),
                                   H_VALS(1, 0.1, 2, 0.1, 3, 0.1, 4, 0.1)),
                        .y = h_keep(ag_zeros(AG_I64, 1, H_SHAPE(4))), .n = 4, .d = 2,
                        .n_classes = 1};
        const double tenth = dts[k] == AG_F32 ? (double)0.1f : 0.1;
        ag_standardizer *s = new_std();
        ck_assert_msg(ag_standardizer_fit(s, &d), "%s", ag_last_error());
        ck_assert_int_eq(s->d, 2);
        ck_assert_f64(s->mean[0], 2.5);
        ck_assert_f64(s->std[0], sqrt(1.25));
        ck_assert(s->mean[1] == tenth);
        ck_assert(s->std[1] == 1.0);
        ck_assert(ag_standardizer_apply(s, &d));
        const double r = sqrt(1.25);
        const double want[] = {-1.5 / r, 0, -0.5 / r, 0, 0.5 / r, 0, 1.5 / r, 0};
        for (int i = 0; i < 8; i++) {
            double w = dts[k] == AG_F32 ? (double)(float)want[i] : want[i];
            ck_assert_near(ag_get_flat(d.X, (size_t)i), w, H_RTOL_F64, 0);
        }
        for (int i = 0; i < 4; i++)
            ck_assert(ag_get(d.X, H_SHAPE(i, 1)) == 0.0);
        ag_standardizer_free(s);
        ck_assert_ptr_null(s->mean);
        ag_standardizer_free(s); /* twice is fine */
    }
    ag_standardizer_free(NULL);
    ck_assert_ok();
}
END_TEST

START_TEST(test_standardizer_wdbc)
{
    ag_dataset *all = keep_ds(ag_csv_load(real_data("wdbc.csv"),
                                          &(ag_csv_options){.label_column = "benign",
                                                            .dtype = AG_F64}));
    ck_assert_dataset(all);
    ag_dataset *train, *test;
    ck_assert(ag_dataset_split(all, 0.2, 3, &train, &test));
    keep_ds(train), keep_ds(test);
    const int64_t n = train->n, d = train->d, nt = test->n;
    /* The statistics, by plain loops here. */
    double mean[30] = {0}, sd[30] = {0};
    for (int64_t j = 0; j < d; j++) {
        for (int64_t i = 0; i < n; i++)
            mean[j] += ag_get(train->X, H_SHAPE(i, j));
        mean[j] /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            double e = ag_get(train->X, H_SHAPE(i, j)) - mean[j];
            sd[j] += e * e;
        }
        sd[j] = sqrt(sd[j] / (double)n);
    }
    ag_tensor *test_before = h_keep(ag_clone(test->X));
    ag_standardizer *s = new_std();
    ck_assert(ag_standardizer_fit(s, train));
    for (int64_t j = 0; j < d; j++) {
        ck_assert_near(s->mean[j], mean[j], 1e-12, 0);
        ck_assert_near(s->std[j], sd[j], 1e-12, 0);
    }
    ck_assert(ag_standardizer_apply(s, train));
    ck_assert(ag_standardizer_apply(s, test));
    /* Train: mean 0, population std 1 per feature. */
    for (int64_t j = 0; j < d; j++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < n; i++)
            m += ag_get(train->X, H_SHAPE(i, j));
        m /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            double e = ag_get(train->X, H_SHAPE(i, j)) - m;
            v += e * e;
        }
        ck_assert_near(m, 0, 0, 1e-12);
        ck_assert_near(sqrt(v / (double)n), 1, 1e-12, 0);
    }
    /* Test: the training statistics, not its own. */
    for (int64_t i = 0; i < nt; i++)
        for (int64_t j = 0; j < d; j++)
            ck_assert_near(ag_get(test->X, H_SHAPE(i, j)),
                           (ag_get(test_before, H_SHAPE(i, j)) - mean[j]) / sd[j], 1e-12, 1e-12);
    ck_assert_ok();
}
END_TEST

START_TEST(test_standardizer_errors)
{
    ag_dataset d = rows_set(5, AG_F64);
    ag_standardizer *s = new_std();
    ck_assert(ag_standardizer_fit(s, &d));
    ag_dataset three = {.X = h_keep(ag_zeros(AG_F64, 2, H_SHAPE(5, 3))), .y = d.y, .n = 5,
                        .d = 3};
    ck_assert(!ag_standardizer_apply(s, &three));
    ck_assert_error(AG_ERR_SHAPE, "fitted on 2 features, the data set has 3");
    ag_error_clear();
    ag_standardizer empty = {0};
    ck_assert(!ag_standardizer_apply(&empty, &d));
    ck_assert_error(AG_ERR_NULL, "not fitted");
    ag_error_clear();
    ag_set_flat(d.X, 3, NAN);
    ag_standardizer *s2 = new_std();
    ck_assert(!ag_standardizer_fit(s2, &d));
    ck_assert_error(AG_ERR_NUMERIC, "X[1, 1] is nan");
    ck_assert_ptr_null(s2->mean);
    ag_error_clear();
    ag_dataset none = rows_set(0, AG_F64);
    ck_assert(!ag_standardizer_fit(s2, &none));
    ck_assert_error(AG_ERR_VALUE, "no rows");
    ag_error_clear();
    ck_assert(!ag_standardizer_fit(NULL, &d));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

START_TEST(test_targets)
{
    ag_dataset *w = keep_ds(ag_csv_load(real_data("wdbc.csv"), &(ag_csv_options){.label_index = -1}));
    ck_assert_dataset(w);
    const ag_dtype dts[] = {AG_F32, AG_F64};
    for (size_t k = 0; k < 2; k++) {
        ag_tensor *t = h_keep(ag_dataset_targets(w, dts[k]));
        ck_assert_tensor(t);
        ck_assert_shape(t, 2, H_SHAPE(569, 1));
        ck_assert_int_eq(ag_tensor_dtype(t), dts[k]);
        double sum = 0;
        for (int64_t i = 0; i < 569; i++) {
            ck_assert(ag_get_flat(t, (size_t)i) == (double)label_at(w, i));
            sum += ag_get_flat(t, (size_t)i);
        }
        ck_assert(sum == 357);
    }
    ck_assert_ptr_null(ag_dataset_targets(w, AG_I64));
    ck_assert_error(AG_ERR_DTYPE, "i64");
    ag_error_clear();
    ag_dataset d = rows_set(4, AG_F32); /* labels 0 1 2 0 */
    ck_assert_ptr_null(ag_dataset_targets(&d, AG_F32));
    ck_assert_error(AG_ERR_VALUE, "row 2 has label 2");
    ag_error_clear();
    ck_assert_ptr_null(ag_dataset_targets(NULL, AG_F32));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Minibatches                                                         */
/* ------------------------------------------------------------------ */

/* One epoch of rows_set(n) rows: the ids in batch order, the batch sizes.
 * Checks each batch's shapes and that X, y and targets agree. */
static int run_epoch(ag_batches *it, int64_t n, ag_dtype dtype, int64_t *ids, int64_t *sizes)
{
    ag_tensor *X, *y, *t;
    int nb = 0;
    int64_t pos = 0;
    while (ag_batches_next(it, &X, &y, &t)) {
        ck_assert_tensor(X);
        int64_t b = ag_dim(X, 0);
        ck_assert_shape(X, 2, H_SHAPE(b, 2));
        ck_assert_shape(y, 1, H_SHAPE(b));
        ck_assert_shape(t, 2, H_SHAPE(b, 1));
        ck_assert_int_eq(ag_tensor_dtype(X), dtype);
        ck_assert_int_eq(ag_tensor_dtype(t), dtype);
        ck_assert_int_eq(ag_tensor_dtype(y), AG_I64);
        ck_assert(ag_is_leaf(X) && ag_is_leaf(y) && ag_is_leaf(t));
        for (int64_t i = 0; i < b; i++) {
            double id = ag_get(X, H_SHAPE(i, 0));
            ck_assert(ag_get(X, H_SHAPE(i, 1)) == 1000 + id);
            ck_assert(ag_get_flat(y, (size_t)i) == (double)((int64_t)id % 3));
            ck_assert(ag_get_flat(t, (size_t)i) == ag_get_flat(y, (size_t)i));
            ck_assert_int_lt(pos, n);
            ids[pos++] = (int64_t)id;
        }
        sizes[nb++] = b;
    }
    ck_assert_ptr_null(X);
    ck_assert_ptr_null(y);
    ck_assert_ptr_null(t);
    ck_assert_int_eq(pos, n);
    return nb;
}

static void check_permutation(const int64_t *ids, int64_t n)
{
    int *seen = calloc((size_t)n, sizeof *seen);
    ck_assert_ptr_nonnull(seen);
    for (int64_t i = 0; i < n; i++) {
        ck_assert(ids[i] >= 0 && ids[i] < n);
        seen[ids[i]]++;
    }
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(seen[i] == 1, "row %lld seen %d times in an epoch", (long long)i, seen[i]);
    free(seen);
}

START_TEST(test_batches_epochs)
{
    ag_dataset d = rows_set(10, AG_F64);
    ag_batches *it = keep_it(ag_batches_new(&d, 4, true, 9));
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(ag_batches_count(it), 3);
    int64_t ids[3][10], sizes[4];
    for (int e = 0; e < 3; e++) {
        ck_assert_int_eq(run_epoch(it, 10, AG_F64, ids[e], sizes), 3);
        ck_assert_int_eq(sizes[0], 4);
        ck_assert_int_eq(sizes[1], 4);
        ck_assert_int_eq(sizes[2], 2);
        check_permutation(ids[e], 10);
    }
    ck_assert(memcmp(ids[0], ids[1], sizeof ids[0]) != 0);
    ck_assert(memcmp(ids[1], ids[2], sizeof ids[0]) != 0);
    ck_assert(memcmp(ids[0], ids[2], sizeof ids[0]) != 0);

    /* Same seed, same batches; another seed, another order. */
    ag_batches *again = keep_it(ag_batches_new(&d, 4, true, 9));
    ag_batches *other = keep_it(ag_batches_new(&d, 4, true, 10));
    int64_t ids2[10], ids3[10];
    for (int e = 0; e < 3; e++) {
        run_epoch(again, 10, AG_F64, ids2, sizes);
        ck_assert_mem_eq(ids2, ids[e], sizeof ids2);
    }
    run_epoch(other, 10, AG_F64, ids3, sizes);
    ck_assert(memcmp(ids3, ids[0], sizeof ids3) != 0);

    /* Without shuffling: row order, every epoch. */
    ag_batches *plain = keep_it(ag_batches_new(&d, 3, false, 9));
    ck_assert_int_eq(ag_batches_count(plain), 4);
    for (int e = 0; e < 2; e++) {
        ck_assert_int_eq(run_epoch(plain, 10, AG_F64, ids2, sizes), 4);
        for (int64_t i = 0; i < 10; i++)
            ck_assert_int_eq(ids2[i], i);
    }
    ck_assert_ok();
}
END_TEST

START_TEST(test_batches_sizes)
{
    ag_dataset d = rows_set(12, AG_F32);
    int64_t ids[12], sizes[13];
    const struct { int64_t bs, count, last; } cases[] = {
        {1, 12, 1}, {4, 3, 4}, {5, 3, 2}, {12, 1, 12}, {100, 1, 12}};
    for (size_t k = 0; k < H_COUNT(cases); k++) {
        ag_batches *it = keep_it(ag_batches_new(&d, cases[k].bs, true, k));
        ck_assert_ptr_nonnull(it);
        ck_assert_int_eq(ag_batches_count(it), cases[k].count);
        ck_assert_int_eq(run_epoch(it, 12, AG_F32, ids, sizes), cases[k].count);
        ck_assert_int_eq(sizes[cases[k].count - 1], cases[k].last);
        check_permutation(ids, 12);
    }
    ck_assert_ptr_null(ag_batches_new(&d, 0, true, 1));
    ck_assert_error(AG_ERR_VALUE, "batch size 0");
    ag_error_clear();
    ck_assert_ptr_null(ag_batches_new(NULL, 4, true, 1));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_int_eq(ag_batches_count(NULL), 0);
    ag_error_clear();
    ck_assert(!ag_batches_next(NULL, NULL, NULL, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_batches_free(NULL);
    /* A data set whose X was replaced by one of another shape. */
    ag_batches *it = keep_it(ag_batches_new(&d, 4, true, 1));
    d.X = h_keep(ag_zeros(AG_F32, 2, H_SHAPE(12, 3)));
    ag_tensor *X = (ag_tensor *)&d;
    ck_assert(!ag_batches_next(it, &X, NULL, NULL));
    ck_assert_ptr_null(X);
    ck_assert_error(AG_ERR_SHAPE, "changed since ag_batches_new");
}
END_TEST

START_TEST(test_batches_allocate_nothing)
{
    ag_dataset *w = keep_ds(ag_csv_load(real_data("wdbc.csv"), &(ag_csv_options){.label_index = -1}));
    ck_assert_dataset(w);
    /* 569 = 8 * 64 + 57: full batches and a smaller last one. */
    ag_batches *it = keep_it(ag_batches_new(w, 64, true, 5));
    ck_assert_ptr_nonnull(it);
    ck_assert_int_eq(ag_batches_count(it), 9);
    size_t before = ag_alloc_count();
    ag_tensor *X, *y, *t, *first = NULL, *last = NULL;
    for (int e = 0; e < 3; e++) {
        int64_t rows = 0, nb = 0;
        while (ag_batches_next(it, &X, &y, &t)) {
            rows += ag_dim(X, 0);
            if (nb == 0)
                first = e == 0 ? X : first;
            if (nb == 8)
                last = e == 0 ? X : last;
            /* The tensors are reused: the same full-size ones every batch. */
            ck_assert_ptr_eq(X, nb < 8 ? first : last);
            nb++;
        }
        ck_assert_int_eq(rows, 569);
        ck_assert_int_eq(nb, 9);
        ck_assert_uint_eq(ag_alloc_count(), before);
    }
    ck_assert_ok();
}
END_TEST

START_TEST(test_batches_uniform)
{
    /* An unbiased shuffle makes each of the 3! = 6 orders of 3 rows equally
     * likely: in 6000 epochs each appears 1000 times on average, standard
     * deviation √(6000 · 1/6 · 5/6) ≈ 28.9; ±150 is over 5 of them (and the
     * seed makes the test repeatable anyway). */
    ag_dataset d = rows_set(3, AG_F64);
    ag_batches *it = keep_it(ag_batches_new(&d, 3, true, 2024));
    ck_assert_ptr_nonnull(it);
    int count[3][3][3] = {{{0}}};
    int64_t ids[3], sizes[2];
    for (int e = 0; e < 6000; e++) {
        run_epoch(it, 3, AG_F64, ids, sizes);
        count[ids[0]][ids[1]][ids[2]]++;
    }
    const int64_t perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++) {
        int c = count[perms[p][0]][perms[p][1]][perms[p][2]];
        ck_assert_msg(c >= 850 && c <= 1150, "order %d: %d times in 6000", p, c);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Out of memory                                                       */
/* ------------------------------------------------------------------ */

/* Runs one library call with its k-th allocation failing, for k = 0, 1,
 * ... until it succeeds: every failure must be AG_ERR_NOMEM and (under
 * valgrind or ASan) leak nothing. Returns whether the call succeeded. */
typedef bool (*oom_fn)(void);

static bool oom_csv(void)
{
    ag_dataset *d = ag_csv_load(fixture("small.csv"), NULL);
    ag_dataset_free(d);
    return d != NULL;
}

static bool oom_idx(void)
{
    ag_dataset *a = ag_idx_load(fixture("tiny-images-idx3-ubyte.gz"),
                                fixture("tiny-labels-idx1-ubyte"), AG_F64);
    ag_dataset *b = a ? ag_idx_load(fixture("tiny-images-idx3-ubyte"),
                                    fixture("tiny-labels-idx1-ubyte.gz"), AG_F32)
                      : NULL;
    ag_dataset_free(a);
    ag_dataset_free(b);
    return b != NULL;
}

static ag_dataset *oom_set; /* made before failures are planned */

static bool oom_split(void)
{
    ag_dataset *train, *test;
    bool ok = ag_dataset_split(oom_set, 0.5, 1, &train, &test);
    ck_assert(ok || (!train && !test));
    ag_dataset_free(train);
    ag_dataset_free(test);
    return ok;
}

static bool oom_standardizer(void)
{
    ag_standardizer s;
    bool ok = ag_standardizer_fit(&s, oom_set);
    ag_standardizer_free(&s);
    return ok;
}

static bool oom_targets_batches(void)
{
    ag_tensor *t = ag_dataset_targets(oom_set, AG_F32);
    ag_batches *b = t ? ag_batches_new(oom_set, 3, true, 1) : NULL;
    ag_tensor_free(t);
    ag_batches_free(b);
    return b != NULL;
}

START_TEST(test_out_of_memory)
{
    oom_set = keep_ds(ag_csv_load(fixture("small.csv"), &(ag_csv_options){.label_index = -1}));
    ck_assert_dataset(oom_set);
    /* small.csv's labels are 0 2 1 1: binary targets refuse them, so use
     * labels 0 1 1 0 here. */
    int64_t *y = ag_data(oom_set->y);
    y[0] = 0, y[1] = 1, y[2] = 1, y[3] = 0;
    const struct { const char *name; oom_fn fn; } calls[] = {
        {"csv_load", oom_csv}, {"idx_load", oom_idx}, {"dataset_split", oom_split},
        {"standardizer_fit", oom_standardizer}, {"targets and batches", oom_targets_batches}};
    for (size_t c = 0; c < H_COUNT(calls); c++) {
        long k = 0;
        for (;; k++) {
            ck_assert_msg(k < 1000, "%s never succeeds", calls[c].name);
            ag_error_clear();
            ag_alloc_fail_after(k);
            bool ok = calls[c].fn();
            ag_alloc_fail_after(-1);
            if (ok)
                break;
            ck_assert_msg(ag_last_status() == AG_ERR_NOMEM,
                          "%s with allocation %ld failing: %s: %s", calls[c].name, k,
                          ag_status_str(ag_last_status()), ag_last_error());
        }
        ck_assert_msg(k > 0, "%s allocated nothing", calls[c].name);
    }
    ag_error_clear();
}
END_TEST

Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = data_tcase(s, "split", H_TIMEOUT);
    tcase_add_test(tc, test_split_sizes_cover);
    tcase_add_test(tc, test_split_deterministic);
    tcase_add_test(tc, test_split_keeps_names_and_classes);
    tcase_add_test(tc, test_split_errors);
    tc = data_tcase(s, "standardizer and targets", H_TIMEOUT);
    tcase_add_test(tc, test_standardizer_by_hand);
    tcase_add_test(tc, test_standardizer_wdbc);
    tcase_add_test(tc, test_standardizer_errors);
    tcase_add_test(tc, test_targets);
    tc = data_tcase(s, "batches", H_TIMEOUT);
    tcase_add_test(tc, test_batches_epochs);
    tcase_add_test(tc, test_batches_sizes);
    tcase_add_test(tc, test_batches_allocate_nothing);
    tcase_add_test(tc, test_batches_uniform);
    tc = data_tcase(s, "out of memory", H_TIMEOUT);
    tcase_add_test(tc, test_out_of_memory);
    return s;
}

H_MAIN(data_suite)

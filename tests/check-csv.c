/* SPDX-License-Identifier: MIT */
/* check-csv.c — the CSV reader: good files (comments, quotes, blanks, CRLF,
 * a byte-order mark, label columns by index and by name, no header, long
 * lines), malformed files and I/O errors, and the real data sets.
 *
 * Expected values come from the fixtures' construction (tests/data: the CSV
 * files are short enough to read), from the provenance notes of the real
 * data sets (examples/data/README.md: 569 rows, 357 benign) and from a
 * naive reader of the same files written here. Every malformed input is
 * checked for its status and for a message naming the file, the place
 * (line:column) and the problem. */
#include "data_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* CSV: good files                                                     */
/* ------------------------------------------------------------------ */

/* small.csv, read by eye: a comment, a quoted name holding a comma, blanks
 * around fields and names, a blank line, an indented comment, "+7", "-3e2",
 * a quoted number and the label "1.0". */
static const double small_X[] = {1, 2.5, -300, 4, 5, 6, -0.125, 0.001, 7, 8, 9.75, 10};
static const double small_y[] = {0, 2, 1, 1};
static const char *const small_names[] = {"first, feature", "second", "third"};

static void check_small(const ag_dataset *d, ag_dtype dtype)
{
    ck_assert_dataset(d);
    ck_assert_int_eq(d->n, 4);
    ck_assert_int_eq(d->d, 3);
    ck_assert_int_eq(d->n_classes, 3);
    ck_assert_shape(d->X, 2, H_SHAPE(4, 3));
    ck_assert_shape(d->y, 1, H_SHAPE(4));
    ck_assert_int_eq(ag_tensor_dtype(d->X), dtype);
    ck_assert_int_eq(ag_tensor_dtype(d->y), AG_I64);
    if (dtype == AG_F64)
        ck_assert_values_f64(d->X, 12, small_X);
    else
        for (size_t i = 0; i < 12; i++)
            ck_assert(ag_get_flat(d->X, i) == (double)(float)small_X[i]);
    ck_assert_values(d->y, 4, small_y, 0, 0);
    ck_assert_ptr_nonnull(d->feature_names);
    for (int j = 0; j < 3; j++)
        ck_assert_str_eq(d->feature_names[j], small_names[j]);
}

START_TEST(test_csv_small)
{
    ag_csv_options o = {.label_index = -1, .dtype = AG_F64};
    check_small(keep_ds(ag_csv_load(fixture("small.csv"), &o)), AG_F64);
    /* NULL options: a header, the last column, f32; ag_csv_defaults() the same. */
    check_small(keep_ds(ag_csv_load(fixture("small.csv"), NULL)), AG_F32);
    ag_csv_options d = ag_csv_defaults();
    ck_assert(d.label_column == NULL && d.label_index == -1 && d.dtype == AG_F32 && !d.no_header);
    check_small(keep_ds(ag_csv_load(fixture("small.csv"), &d)), AG_F32);
    /* The label by name. */
    o = (ag_csv_options){.label_column = "label", .dtype = AG_F64};
    check_small(keep_ds(ag_csv_load(fixture("small.csv"), &o)), AG_F64);
    ck_assert_ok();
}
END_TEST

START_TEST(test_csv_crlf_bom_no_final_newline)
{
    /* small-crlf.csv is small.csv with CRLF ends, a byte-order mark and no
     * final line end (see make_fixtures.py). */
    ag_csv_options o = {.label_index = -1, .dtype = AG_F64};
    check_small(keep_ds(ag_csv_load(fixture("small-crlf.csv"), &o)), AG_F64);
    ck_assert_ok();
}
END_TEST

START_TEST(test_csv_label_column)
{
    /* label-middle.csv:  a,digit,b / 1,3,2 / 4,0,5 */
    const char *path = fixture("label-middle.csv");
    ag_dataset *by_name = keep_ds(ag_csv_load(path, &(ag_csv_options){.label_column = "digit"}));
    ag_dataset *by_index = keep_ds(ag_csv_load(path, &(ag_csv_options){.label_index = 1}));
    ag_dataset *from_end = keep_ds(ag_csv_load(path, &(ag_csv_options){.label_index = -2}));
    ag_dataset *first = keep_ds(ag_csv_load(path, &(ag_csv_options){.label_index = 0}));
    const ag_dataset *mid[] = {by_name, by_index, from_end};
    for (size_t k = 0; k < H_COUNT(mid); k++) {
        ck_assert_dataset(mid[k]);
        ck_assert_values_f32(mid[k]->X, 4, H_VALS(1, 2, 4, 5));
        ck_assert_values(mid[k]->y, 2, H_VALS(3, 0), 0, 0);
        ck_assert_int_eq(mid[k]->n_classes, 4);
        ck_assert_str_eq(mid[k]->feature_names[0], "a");
        ck_assert_str_eq(mid[k]->feature_names[1], "b");
    }
    ck_assert_dataset(first);
    ck_assert_values_f32(first->X, 4, H_VALS(3, 2, 0, 5));
    ck_assert_values(first->y, 2, H_VALS(1, 4), 0, 0);
    ck_assert_int_eq(first->n_classes, 5);
    ck_assert_str_eq(first->feature_names[0], "digit");
    ck_assert_ok();

    ck_assert_ptr_null(ag_csv_load(path, &(ag_csv_options){.label_index = 3}));
    ck_assert_error(AG_ERR_VALUE, "label_index 3 is out of range for 3 columns");
    ck_assert_message_has("label-middle.csv");
    ag_error_clear();
    ck_assert_ptr_null(ag_csv_load(path, &(ag_csv_options){.label_index = -4}));
    ck_assert_error(AG_ERR_VALUE, "label_index -4 is out of range");
    ag_error_clear();
    ck_assert_ptr_null(ag_csv_load(path, &(ag_csv_options){.label_column = "label"}));
    ck_assert_error(AG_ERR_NOTFOUND, "no column named 'label'");
    ck_assert_message_has("label-middle.csv:1", "'a', 'digit', 'b'");
    ag_error_clear();
    /* duplicate-label.csv: label,a,label */
    ck_assert_ptr_null(
        ag_csv_load(fixture("duplicate-label.csv"), &(ag_csv_options){.label_column = "label"}));
    ck_assert_error(AG_ERR_PARSE, "duplicate-label.csv:1:9: ");
    ck_assert_message_has("'label' appears twice (fields 1 and 3)");
}
END_TEST

START_TEST(test_csv_no_header)
{
    /* noheader.csv: 1,2,0 / 3,4,1 */
    ag_dataset *d = keep_ds(ag_csv_load(fixture("noheader.csv"),
                                         &(ag_csv_options){.label_index = -1, .no_header = true}));
    ck_assert_dataset(d);
    ck_assert_int_eq(d->n, 2);
    ck_assert_int_eq(d->d, 2);
    ck_assert_values_f32(d->X, 4, H_VALS(1, 2, 3, 4));
    ck_assert_values(d->y, 2, H_VALS(0, 1), 0, 0);
    ck_assert_ptr_null(d->feature_names);
    ck_assert_int_eq(d->n_classes, 2);
    /* The same file read with a header: its first row is the names. */
    ag_dataset *h = keep_ds(ag_csv_load(fixture("noheader.csv"), NULL));
    ck_assert_dataset(h);
    ck_assert_int_eq(h->n, 1);
    ck_assert_str_eq(h->feature_names[0], "1");
    ck_assert_ok();
    ck_assert_ptr_null(ag_csv_load(fixture("noheader.csv"),
                                   &(ag_csv_options){.label_column = "x", .no_header = true}));
    ck_assert_error(AG_ERR_VALUE, "no header row");
}
END_TEST

START_TEST(test_csv_long_lines)
{
    /* 20000 features: each line is far longer than any fixed buffer and than
     * the reader's 64 KiB chunks. Row r, feature j holds (r * 20000 + j) / 4,
     * exact in binary. */
    enum { D = 20000, ROWS = 3 };
    size_t cap = (size_t)(ROWS + 1) * D * 16 + 64, len = 0;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    for (int j = 0; j < D; j++)
        len += (size_t)snprintf(text + len, cap - len, "f%d,", j);
    len += (size_t)snprintf(text + len, cap - len, "y\n");
    for (int r = 0; r < ROWS; r++) {
        for (int j = 0; j < D; j++)
            len += (size_t)snprintf(text + len, cap - len, "%.2f,", (r * D + j) / 4.0);
        len += (size_t)snprintf(text + len, cap - len, "%d%s", r, r + 1 < ROWS ? "\r\n" : "");
    }
    const char *path = tmp_file("long.csv", text, len);
    free(text);
    ag_dataset *d = keep_ds(ag_csv_load(path, &(ag_csv_options){.label_index = -1,
                                                                 .dtype = AG_F64}));
    ck_assert_dataset(d);
    ck_assert_int_eq(d->n, ROWS);
    ck_assert_int_eq(d->d, D);
    long bad = 0;
    for (int r = 0; r < ROWS; r++) {
        ck_assert_int_eq(label_at(d, r), r);
        for (int j = 0; j < D; j++)
            bad += ag_get_flat(d->X, (size_t)r * D + j) != (r * D + j) / 4.0;
    }
    ck_assert_int_eq(bad, 0);
    char name[16];
    for (int j = 0; j < D; j += 997) {
        snprintf(name, sizeof name, "f%d", j);
        ck_assert_str_eq(d->feature_names[j], name);
    }
    ck_assert_ok();
}
END_TEST

/* ------------------------------------------------------------------ */
/* CSV: malformed files                                                */
/* ------------------------------------------------------------------ */

/* Each file's problem, with the place found by reading the file (lines
 * count from 1 with comments and blank lines; columns are 1-based bytes). */
static const struct bad_csv {
    const char *file;
    ag_dtype dtype;
    const char *where;   /* follows the file name in the message */
    const char *problem;
} bad_csvs[] = {
    /* x,y,label / 1,2,0 / 3,abc,1 */
    {"bad-number.csv", AG_F32, ":3:3: ", "'abc' is not a number (column 'y')"},
    /* a,b,c,label / 1,2,3,0 / # comment / 4,5,1: the line ends at column 5 */
    {"short-row.csv", AG_F32, ":4:6: ", "row has 3 fields, the header has 4"},
    /* a,b,label / 1,2,0 / 3,4,1,5: the extra field starts at column 7 */
    {"long-row.csv", AG_F32, ":3:7: ", "row has 4 fields, the header has 3"},
    /* a,b,label / 1,,0 */
    {"empty-field.csv", AG_F32, ":2:3: ", "empty field (column 'b')"},
    /* a,label / 1,0 / 2,2.5 */
    {"fraction-label.csv", AG_F32, ":3:3: ", "label 2.5 is not a whole number"},
    /* a,label / 1,-1 */
    {"negative-label.csv", AG_F32, ":2:3: ", "label -1 is negative"},
    /* a,b,label / 1,NaN,0 */
    {"nan.csv", AG_F32, ":2:3: ", "'NaN' is not a finite number (column 'b')"},
    /* a,label / -inf,1 */
    {"inf.csv", AG_F32, ":2:1: ", "'-inf' is not a finite number"},
    /* a,b,label / 1.5x,2,0 */
    {"garbage.csv", AG_F32, ":2:1: ", "'1.5x' is not a number (column 'a')"},
    /* a,label / 0x10,1 */
    {"hex.csv", AG_F32, ":2:1: ", "'0x10' is not a number"},
    /* a,b,label / 1,"2,0 */
    {"unterminated-quote.csv", AG_F32, ":2:3: ", "unterminated quoted field"},
    /* a,label / 1e999,0 */
    {"huge.csv", AG_F64, ":2:1: ", "'1e999' is out of the range of a double"},
    /* a,label / 1e39,0: beyond FLT_MAX (3.4e38) */
    {"f32-range.csv", AG_F32, ":2:1: ", "'1e39' is out of the range of f32"},
    /* label / 1 */
    {"one-column.csv", AG_F32, ":1:1: ", "only one column"},
    /* a,b,label / 1,  abc ,0: the field's text starts at column 5 */
    {"spaces.csv", AG_F32, ":2:5: ", "'abc' is not a number"},
    /* a,b,label / 1,2,0 / 3,x,1 with CRLF ends */
    {"bad-crlf.csv", AG_F32, ":3:3: ", "'x' is not a number"},
    /* a,b,label / # nothing / (blank) */
    {"header-only.csv", AG_F32, ":3: ", "no data rows"},
    {"empty.csv", AG_F32, ": ", "no header row"},
    /* # just a comment / (blank) */
    {"comments-only.csv", AG_F32, ": ", "no header row"},
};

START_TEST(test_csv_malformed)
{
    for (size_t k = 0; k < H_COUNT(bad_csvs); k++) {
        const struct bad_csv *b = &bad_csvs[k];
        ag_error_clear();
        ag_dataset *d = ag_csv_load(fixture(b->file), &(ag_csv_options){.label_index = -1,
                                                                         .dtype = b->dtype});
        ck_assert_msg(d == NULL, "%s was accepted", b->file);
        char where[128];
        snprintf(where, sizeof where, "%s%s", b->file, b->where);
        ck_assert_error(AG_ERR_PARSE, where);
        ck_assert_message_has(b->problem);
    }
    /* The f32 range is f32's: the same file is fine in f64. */
    ag_error_clear();
    ag_dataset *d = keep_ds(ag_csv_load(fixture("f32-range.csv"),
                                        &(ag_csv_options){.label_index = -1, .dtype = AG_F64}));
    ck_assert_dataset(d);
    ck_assert(ag_get_flat(d->X, 0) == 1e39);
}
END_TEST

START_TEST(test_csv_nul_byte)
{
    static const char text[] = "a,b,label\n1,2\0,0\n";
    const char *path = tmp_file("nul.csv", text, sizeof text - 1);
    ck_assert_ptr_null(ag_csv_load(path, NULL));
    ck_assert_error(AG_ERR_PARSE, "nul.csv:2:4: NUL byte");
}
END_TEST

START_TEST(test_csv_io_errors)
{
    const char *missing = fixture("no-such-file.csv");
    ck_assert_ptr_null(ag_csv_load(missing, NULL));
    ck_assert_error(AG_ERR_IO, missing);
    ck_assert_message_has(strerror(ENOENT));
    ag_error_clear();
    /* A folder opens but cannot be read. */
    const char *dir = fixture(".");
    ck_assert_ptr_null(ag_csv_load(dir, NULL));
    ck_assert_error(AG_ERR_IO, dir);
    ck_assert_message_has(strerror(EISDIR));
    ag_error_clear();
    ck_assert_ptr_null(ag_csv_load(NULL, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_ptr_null(ag_csv_load(fixture("small.csv"), &(ag_csv_options){.dtype = AG_I64}));
    ck_assert_error(AG_ERR_DTYPE, "small.csv");
}
END_TEST

/* ------------------------------------------------------------------ */
/* CSV: the real data sets                                             */
/* ------------------------------------------------------------------ */

/* A naive reader for the real files (no quotes, no comments, a header):
 * every value in row-major order, the last column separately. */
typedef struct naive {
    double *x;
    int64_t *y;
    long rows, cols;
} naive;

static naive naive_read(const char *path)
{
    naive r = {0};
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    static char line[8192];
    size_t cap = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    for (char *p = line; *p; p++)
        r.cols += *p == ',';
    while (fgets(line, sizeof line, f)) {
        if ((size_t)(r.rows + 1) * (size_t)r.cols > cap) {
            cap = 2 * cap + (size_t)r.cols * 64;
            r.x = realloc(r.x, cap * sizeof *r.x);
            r.y = realloc(r.y, cap * sizeof *r.y);
            ck_assert(r.x && r.y);
        }
        char *p = line;
        for (long j = 0; j <= r.cols; j++) {
            char *end;
            double v = strtod(p, &end);
            ck_assert(end != p);
            if (j < r.cols)
                r.x[r.rows * r.cols + j] = v;
            else
                r.y[r.rows] = (int64_t)v;
            p = end + 1;
        }
        r.rows++;
    }
    fclose(f);
    return r;
}

START_TEST(test_csv_wdbc)
{
    const char *path = real_data("wdbc.csv");
    ag_dataset *d = keep_ds(ag_csv_load(path, &(ag_csv_options){.label_column = "benign",
                                                                 .dtype = AG_F64}));
    ck_assert_dataset(d);
    /* The provenance note: 569 rows, 30 features, 357 benign / 212 malignant,
     * mean_* in columns 1-10, *_se in 11-20, worst_* in 21-30. */
    ck_assert_int_eq(d->n, 569);
    ck_assert_int_eq(d->d, 30);
    ck_assert_int_eq(d->n_classes, 2);
    int64_t benign = 0, malignant = 0;
    for (int64_t i = 0; i < d->n; i++) {
        benign += label_at(d, i) == 1;
        malignant += label_at(d, i) == 0;
    }
    ck_assert_int_eq(benign, 357);
    ck_assert_int_eq(malignant, 212);
    for (int j = 0; j < 30; j++) {
        const char *name = d->feature_names[j];
        if (j < 10)
            ck_assert_msg(strncmp(name, "mean_", 5) == 0, "column %d is %s", j + 1, name);
        else if (j < 20)
            ck_assert_msg(strstr(name, "_se") != NULL, "column %d is %s", j + 1, name);
        else
            ck_assert_msg(strncmp(name, "worst_", 6) == 0, "column %d is %s", j + 1, name);
    }
    ck_assert_str_eq(d->feature_names[0], "mean_radius");
    ck_assert_str_eq(d->feature_names[29], "worst_fractal_dimension");

    naive r = naive_read(path);
    ck_assert_int_eq(r.rows, 569);
    ck_assert_int_eq(r.cols, 30);
    long bad = 0;
    for (long i = 0; i < r.rows * r.cols; i++)
        bad += ag_get_flat(d->X, (size_t)i) != r.x[i];
    for (long i = 0; i < r.rows; i++)
        bad += label_at(d, i) != r.y[i];
    ck_assert_int_eq(bad, 0);
    free(r.x);
    free(r.y);
    ck_assert_ok();
}
END_TEST

START_TEST(test_csv_digits)
{
    const char *path = real_data("digits8x8.csv");
    ag_dataset *d = keep_ds(ag_csv_load(path, &(ag_csv_options){.label_column = "digit"}));
    ck_assert_dataset(d);
    /* The provenance note: 1797 rows, p0..p63 with values 0..16, digits 0-9,
     * about 180 of each. */
    ck_assert_int_eq(d->n, 1797);
    ck_assert_int_eq(d->d, 64);
    ck_assert_int_eq(d->n_classes, 10);
    ck_assert_int_eq(ag_tensor_dtype(d->X), AG_F32);
    char name[8];
    for (int j = 0; j < 64; j++) {
        snprintf(name, sizeof name, "p%d", j);
        ck_assert_str_eq(d->feature_names[j], name);
    }
    int64_t count[10] = {0};
    for (int64_t i = 0; i < d->n; i++) {
        int64_t c = label_at(d, i);
        ck_assert(c >= 0 && c <= 9);
        count[c]++;
    }
    for (int c = 0; c < 10; c++)
        ck_assert_msg(count[c] >= 170 && count[c] <= 190, "%lld images of %d", (long long)count[c],
                      c);
    naive r = naive_read(path);
    ck_assert_int_eq(r.rows, 1797);
    ck_assert_int_eq(r.cols, 64);
    long bad = 0;
    for (long i = 0; i < r.rows * r.cols; i++) {
        double v = ag_get_flat(d->X, (size_t)i);
        bad += !(v == r.x[i] && v >= 0 && v <= 16 && v == (double)(int)v);
    }
    for (long i = 0; i < r.rows; i++)
        bad += label_at(d, i) != r.y[i];
    ck_assert_int_eq(bad, 0);
    free(r.x);
    free(r.y);
    ck_assert_ok();
}
END_TEST

Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = data_tcase(s, "csv", H_TIMEOUT);
    tcase_add_test(tc, test_csv_small);
    tcase_add_test(tc, test_csv_crlf_bom_no_final_newline);
    tcase_add_test(tc, test_csv_label_column);
    tcase_add_test(tc, test_csv_no_header);
    tcase_add_test(tc, test_csv_long_lines);
    tc = data_tcase(s, "csv errors", H_TIMEOUT);
    tcase_add_test(tc, test_csv_malformed);
    tcase_add_test(tc, test_csv_nul_byte);
    tcase_add_test(tc, test_csv_io_errors);
    tc = data_tcase(s, "csv real data", H_TIMEOUT);
    tcase_add_test(tc, test_csv_wdbc);
    tcase_add_test(tc, test_csv_digits);
    return s;
}

H_MAIN(csv_suite)

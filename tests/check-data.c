/* check-data.c — data sets: the CSV and IDX readers, train/test splits,
 * standardization, binary targets and minibatch iteration.
 *
 * Expected values come from the fixtures' construction (tests/data: the CSV
 * files are short enough to read, the IDX files are written by
 * make_fixtures.py from a formula repeated here), from the provenance notes
 * of the real data sets (examples/data/README.md: 569 rows, 357 benign),
 * from a naive reader of the same files written here, and from statistics
 * computed here with plain loops. Every malformed input is checked for its
 * status and for a message naming the file, the place (line:column or byte
 * offset) and the problem. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#ifndef AG_TEST_DATA_PATH
#define AG_TEST_DATA_PATH "tests/data"
#endif
#ifndef AG_DATA_DIR_PATH
#define AG_DATA_DIR_PATH "examples/data"
#endif

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* ---- paths ---- */

/* dir/name in one of a few rotating buffers (several paths per call). */
static const char *join(const char *dir, const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static const char *fixture(const char *name)
{
    const char *dir = getenv("AG_TEST_DATA");
    return join(dir && *dir ? dir : AG_TEST_DATA_PATH, name);
}

static const char *real_data(const char *name)
{
    const char *dir = getenv("AG_DATA_DIR");
    return join(dir && *dir ? dir : AG_DATA_DIR_PATH, name);
}

/* ---- things freed by the teardown, so a failed test leaks nothing ---- */

static ag_dataset *kept_ds[32];
static int n_kept_ds;
static ag_batches *kept_it[8];
static int n_kept_it;
static ag_standardizer kept_std[4];
static int n_kept_std;
static char tmpdir[256];
static char tmpfiles[8][512];
static int n_tmpfiles;

static ag_dataset *keep_ds(ag_dataset *d)
{
    if (d && n_kept_ds < (int)H_COUNT(kept_ds))
        kept_ds[n_kept_ds++] = d;
    return d;
}

static ag_batches *keep_it(ag_batches *b)
{
    if (b && n_kept_it < (int)H_COUNT(kept_it))
        kept_it[n_kept_it++] = b;
    return b;
}

/* A standardizer freed by the teardown. */
static ag_standardizer *new_std(void)
{
    ck_assert_int_lt(n_kept_std, (int)H_COUNT(kept_std));
    return &kept_std[n_kept_std++];
}

/* Writes `len` bytes to a new file in a temporary folder; returns its path. */
static const char *tmp_file(const char *name, const void *data, size_t len)
{
    if (!tmpdir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/ag-check-data-XXXXXX", t && *t ? t : "/tmp");
        ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
    }
    ck_assert_int_lt(n_tmpfiles, (int)H_COUNT(tmpfiles));
    char *path = tmpfiles[n_tmpfiles++];
    snprintf(path, sizeof tmpfiles[0], "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static void data_setup(void)
{
    n_kept_ds = n_kept_it = n_kept_std = n_tmpfiles = 0;
    tmpdir[0] = '\0';
    memset(kept_std, 0, sizeof kept_std);
}

static void data_teardown(void)
{
    while (n_kept_it > 0)
        ag_batches_free(kept_it[--n_kept_it]);
    while (n_kept_ds > 0)
        ag_dataset_free(kept_ds[--n_kept_ds]);
    while (n_kept_std > 0)
        ag_standardizer_free(&kept_std[--n_kept_std]);
    while (n_tmpfiles > 0)
        remove(tmpfiles[--n_tmpfiles]);
    if (tmpdir[0])
        rmdir(tmpdir);
    tmpdir[0] = '\0';
}

static TCase *tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = h_tcase(s, name, timeout);
    tcase_add_checked_fixture(tc, data_setup, data_teardown);
    return tc;
}

/* The message holds every one of the given parts. */
#define ck_assert_message_has(...)                                                               \
    do {                                                                                        \
        const char *h_parts_[] = {__VA_ARGS__};                                                 \
        for (size_t h_i_ = 0; h_i_ < H_COUNT(h_parts_); h_i_++)                                 \
            ck_assert_msg(strstr(ag_last_error(), h_parts_[h_i_]) != NULL,                      \
                          "error message \"%s\" does not contain \"%s\"", ag_last_error(),      \
                          h_parts_[h_i_]);                                                      \
    } while (0)

#define ck_assert_dataset(d)                                                                     \
    ck_assert_msg((d) != NULL, "%s is NULL: %s: %s", #d, ag_status_str(ag_last_status()),        \
                  ag_last_error())

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

static int64_t label_at(const ag_dataset *d, int64_t i)
{
    return ((const int64_t *)ag_data_const(d->y))[i];
}

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
    /* NULL options: a header, the last column, f32. */
    check_small(keep_ds(ag_csv_load(fixture("small.csv"), NULL)), AG_F32);
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
/* IDX                                                                 */
/* ------------------------------------------------------------------ */

/* make_fixtures.py's tiny set: 6 images of 3x4; pixel k is 37k mod 256,
 * except the last, 255; labels 3 0 2 1 3 0. */
static int tiny_pixel(int k)
{
    return k == 71 ? 255 : (37 * k) % 256;
}
static const double tiny_labels[] = {3, 0, 2, 1, 3, 0};

static void check_tiny(const ag_dataset *d, ag_dtype dtype)
{
    ck_assert_dataset(d);
    ck_assert_int_eq(d->n, 6);
    ck_assert_int_eq(d->d, 12);
    ck_assert_int_eq(d->n_classes, 4);
    ck_assert_shape(d->X, 2, H_SHAPE(6, 12));
    ck_assert_int_eq(ag_tensor_dtype(d->X), dtype);
    ck_assert_ptr_null(d->feature_names);
    for (int k = 0; k < 72; k++) {
        double want = tiny_pixel(k) / 255.0;
        if (dtype == AG_F32)
            want = (float)want;
        ck_assert_msg(ag_get_flat(d->X, (size_t)k) == want, "X[%d] = %.9g, expected %d/255", k,
                      ag_get_flat(d->X, (size_t)k), tiny_pixel(k));
    }
    ck_assert(ag_get_flat(d->X, 0) == 0.0 && ag_get_flat(d->X, 71) == 1.0);
    ck_assert_values(d->y, 6, tiny_labels, 0, 0);
}

START_TEST(test_idx_tiny)
{
    const char *im = fixture("tiny-images-idx3-ubyte"), *lb = fixture("tiny-labels-idx1-ubyte");
    const char *imz = fixture("tiny-images-idx3-ubyte.gz");
    const char *lbz = fixture("tiny-labels-idx1-ubyte.gz");
    ag_dataset *plain = keep_ds(ag_idx_load(im, lb, AG_F64));
    ag_dataset *gz = keep_ds(ag_idx_load(imz, lbz, AG_F64));
    ag_dataset *mixed = keep_ds(ag_idx_load(imz, lb, AG_F64));
    ag_dataset *f32 = keep_ds(ag_idx_load(im, lbz, AG_F32));
    check_tiny(plain, AG_F64);
    check_tiny(gz, AG_F64);
    check_tiny(mixed, AG_F64);
    check_tiny(f32, AG_F32);
    /* Plain and gzip: the same bits. */
    ck_assert_mem_eq(ag_data(plain->X), ag_data(gz->X), 72 * sizeof(double));
    ck_assert_mem_eq(ag_data(plain->y), ag_data(gz->y), 6 * sizeof(int64_t));
    ck_assert_ok();
}
END_TEST

static const struct bad_idx {
    const char *images, *labels;
    ag_status status;
    const char *blame;   /* the file the message names, with the place */
    const char *problem;
} bad_idxs[] = {
    {"bad-magic-idx3-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "bad-magic-idx3-ubyte: offset 0: ", "bad magic number 0x12340803"},
    {"float-images-idx3-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "float-images-idx3-ubyte: offset 2: ", "element type 0x0d"},
    {"zero-images-idx3-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "zero-images-idx3-ubyte: offset 4: ", "dimension 0 of the images is 0"},
    {"short-header-idx3-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "short-header-idx3-ubyte: offset 10: ", "truncated header"},
    {"empty-idx3-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE, "empty-idx3-ubyte: offset 0: ",
     "truncated header"},
    /* 16 + 50 bytes of 16 + 72 */
    {"truncated-images-idx3-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "truncated-images-idx3-ubyte: offset 66: ",
     "truncated: the header declares 6 images of 3x4 (72 bytes from offset 16), but the file "
     "ends after 50 of them"},
    {"truncated-images-idx3-ubyte.gz", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "truncated-images-idx3-ubyte.gz: offset ", "of the decompressed data: truncated"},
    /* Stored blocks cut after 50 bytes of data: 16 of header, 34 pixels. */
    {"truncated-stored-idx3-ubyte.gz", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "truncated-stored-idx3-ubyte.gz: offset 50 of the decompressed data: ",
     "truncated: the header declares 6 images of 3x4 (72 bytes from offset 16), but the data "
     "ends after 34 of them"},
    /* 4294967295 images of 255x255 declared, 12 bytes present. */
    {"absurd-images-idx3-ubyte", "absurd-labels-idx1-ubyte", AG_ERR_PARSE,
     "absurd-images-idx3-ubyte: offset 28: ",
     "the header declares 4294967295 images of 255x255 (279280248357375 bytes"},
    {"absurd-images-idx3-ubyte.gz", "absurd-labels-idx1-ubyte.gz", AG_ERR_PARSE,
     "absurd-images-idx3-ubyte.gz: offset 28 of the decompressed data: ",
     "but the data ends after 12 of them"},
    /* The plain labels file's size is checked before the gzip'd images are read. */
    {"absurd-images-idx3-ubyte.gz", "absurd-labels-idx1-ubyte", AG_ERR_PARSE,
     "absurd-labels-idx1-ubyte: offset 14: ", "declares 4294967295 labels"},
    {"trailing-images-idx3-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "trailing-images-idx3-ubyte: offset 88: ", "3 bytes of unexpected data after 6 images"},
    {"trailing-images-idx3-ubyte.gz", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "trailing-images-idx3-ubyte.gz: offset 88 of the decompressed data: ",
     "unexpected data after 6 images"},
    {"bad-crc-images-idx3-ubyte.gz", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "bad-crc-images-idx3-ubyte.gz: offset ", "of the decompressed data: corrupt gzip data"},
    {"tiny-images-idx3-ubyte", "five-labels-idx1-ubyte", AG_ERR_PARSE,
     "tiny-images-idx3-ubyte has 6 images but ", "five-labels-idx1-ubyte has 5 labels"},
    {"tiny-images-idx3-ubyte", "truncated-labels-idx1-ubyte", AG_ERR_PARSE,
     "truncated-labels-idx1-ubyte: offset 11: ", "declares 6 labels (6 bytes from offset 8), "
     "but the file ends after 3 of them"},
    /* The two files swapped. */
    {"tiny-labels-idx1-ubyte", "tiny-labels-idx1-ubyte", AG_ERR_PARSE,
     "tiny-labels-idx1-ubyte: offset 3: ",
     "1 dimension (magic 0x00000801: a labels file), but an IDX images file has 3"},
    {"tiny-images-idx3-ubyte", "tiny-images-idx3-ubyte", AG_ERR_PARSE,
     "tiny-images-idx3-ubyte: offset 3: ",
     "3 dimensions (magic 0x00000803: an images file), but an IDX labels file has 1"},
};

START_TEST(test_idx_malformed)
{
    for (size_t k = 0; k < H_COUNT(bad_idxs); k++) {
        const struct bad_idx *b = &bad_idxs[k];
        ag_error_clear();
        ag_dataset *d = ag_idx_load(fixture(b->images), fixture(b->labels), AG_F32);
        ck_assert_msg(d == NULL, "%s + %s accepted", b->images, b->labels);
        ck_assert_error(b->status, b->blame);
        ck_assert_message_has(b->problem);
    }
}
END_TEST

START_TEST(test_idx_io_errors)
{
    const char *lb = fixture("tiny-labels-idx1-ubyte");
    const char *missing = fixture("no-such-images");
    ck_assert_ptr_null(ag_idx_load(missing, lb, AG_F32));
    ck_assert_error(AG_ERR_IO, missing);
    ck_assert_message_has(strerror(ENOENT), "images file");
    ag_error_clear();
    ck_assert_ptr_null(ag_idx_load(fixture("tiny-images-idx3-ubyte"), missing, AG_F32));
    ck_assert_error(AG_ERR_IO, missing);
    ck_assert_message_has("labels file");
    ag_error_clear();
    const char *dir = fixture(".");
    ck_assert_ptr_null(ag_idx_load(dir, lb, AG_F32));
    ck_assert_error(AG_ERR_IO, dir);
    ck_assert_message_has(strerror(EISDIR));
    ag_error_clear();
    ck_assert_ptr_null(ag_idx_load(fixture("tiny-images-idx3-ubyte"), lb, AG_I64));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_idx_load(NULL, lb, AG_F32));
    ck_assert_status(AG_ERR_NULL);
}
END_TEST

/* Reads n bytes at `offset` of a gzip'd file with zlib directly. */
static void gz_bytes(const char *path, long offset, unsigned char *out, unsigned n)
{
    gzFile f = gzopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(gzseek(f, offset, SEEK_SET), offset);
    ck_assert_int_eq(gzread(f, out, n), (int)n);
    gzclose(f);
}

START_TEST(test_idx_fashion_mnist)
{
    static const char *const files[2][2] = {
        {FASHION_DIR "/train-images-idx3-ubyte.gz", FASHION_DIR "/train-labels-idx1-ubyte.gz"},
        {FASHION_DIR "/t10k-images-idx3-ubyte.gz", FASHION_DIR "/t10k-labels-idx1-ubyte.gz"}};
    /* The published set: 60000 training and 10000 test images of 28x28,
     * 10 classes, balanced: 6000 and 1000 of each. */
    const int64_t sizes[2] = {60000, 10000};
    for (int s = 0; s < 2; s++) {
        ag_dataset *d = keep_ds(ag_idx_load(files[s][0], files[s][1], AG_F32));
        ck_assert_dataset(d);
        ck_assert_int_eq(d->n, sizes[s]);
        ck_assert_int_eq(d->d, 784);
        ck_assert_int_eq(d->n_classes, 10);
        int64_t count[10] = {0};
        for (int64_t i = 0; i < d->n; i++) {
            int64_t c = label_at(d, i);
            count[c >= 0 && c <= 9 ? c : 0] += c >= 0 && c <= 9 ? 1 : 1000000;
        }
        for (int c = 0; c < 10; c++)
            ck_assert_int_eq(count[c], sizes[s] / 10);
        /* Every value is k/255 for a byte k. (Counted, then asserted once:
         * a Check assertion per element would cost a pipe write each.) */
        const float *x = ag_data(d->X);
        size_t bad = 0;
        for (size_t i = 0; i < (size_t)d->n * 784; i++) {
            float k = x[i] * 255.0f;
            bad += !(x[i] >= 0 && x[i] <= 1 && fabsf(k - roundf(k)) < 1e-3f);
        }
        ck_assert_uint_eq(bad, 0);
        /* The first and last images and labels, read here with zlib at their
         * offsets (16 + 784 i and 8 + i). */
        unsigned char px[784], lab[1];
        const int64_t rows[2] = {0, d->n - 1};
        for (int r = 0; r < 2; r++) {
            gz_bytes(files[s][0], 16 + 784 * (long)rows[r], px, 784);
            gz_bytes(files[s][1], 8 + (long)rows[r], lab, 1);
            ck_assert_int_eq(label_at(d, rows[r]), lab[0]);
            for (int j = 0; j < 784; j++)
                ck_assert(x[rows[r] * 784 + j] == (float)(px[j] / 255.0));
        }
    }
    ck_assert_ok();
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

static bool have_fashion_mnist(void)
{
    return access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0 &&
           access(FASHION_DIR "/train-labels-idx1-ubyte.gz", R_OK) == 0 &&
           access(FASHION_DIR "/t10k-images-idx3-ubyte.gz", R_OK) == 0 &&
           access(FASHION_DIR "/t10k-labels-idx1-ubyte.gz", R_OK) == 0;
}

Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase(s, "csv", H_TIMEOUT);
    tcase_add_test(tc, test_csv_small);
    tcase_add_test(tc, test_csv_crlf_bom_no_final_newline);
    tcase_add_test(tc, test_csv_label_column);
    tcase_add_test(tc, test_csv_no_header);
    tcase_add_test(tc, test_csv_long_lines);
    tc = tcase(s, "csv errors", H_TIMEOUT);
    tcase_add_test(tc, test_csv_malformed);
    tcase_add_test(tc, test_csv_nul_byte);
    tcase_add_test(tc, test_csv_io_errors);
    tc = tcase(s, "csv real data", H_TIMEOUT);
    tcase_add_test(tc, test_csv_wdbc);
    tcase_add_test(tc, test_csv_digits);
    tc = tcase(s, "split", H_TIMEOUT);
    tcase_add_test(tc, test_split_sizes_cover);
    tcase_add_test(tc, test_split_deterministic);
    tcase_add_test(tc, test_split_keeps_names_and_classes);
    tcase_add_test(tc, test_split_errors);
    tc = tcase(s, "standardizer and targets", H_TIMEOUT);
    tcase_add_test(tc, test_standardizer_by_hand);
    tcase_add_test(tc, test_standardizer_wdbc);
    tcase_add_test(tc, test_standardizer_errors);
    tcase_add_test(tc, test_targets);
    tc = tcase(s, "batches", H_TIMEOUT);
    tcase_add_test(tc, test_batches_epochs);
    tcase_add_test(tc, test_batches_sizes);
    tcase_add_test(tc, test_batches_allocate_nothing);
    tcase_add_test(tc, test_batches_uniform);
    tc = tcase(s, "idx", H_TIMEOUT);
    tcase_add_test(tc, test_idx_tiny);
    tcase_add_test(tc, test_idx_malformed);
    tcase_add_test(tc, test_idx_io_errors);
    tc = tcase(s, "out of memory", H_TIMEOUT);
    tcase_add_test(tc, test_out_of_memory);
    if (have_fashion_mnist()) {
        tc = tcase(s, "fashion-mnist", 300);
        tcase_add_test(tc, test_idx_fashion_mnist);
    } else {
        fprintf(stderr, "check-data: %s not found (apt-get install dataset-fashion-mnist); "
                        "skipping the Fashion-MNIST test\n", FASHION_DIR);
    }
    return s;
}

H_MAIN(data_suite)

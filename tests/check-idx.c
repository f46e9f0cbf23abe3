/* SPDX-License-Identifier: MIT */
/* check-idx.c — the IDX reader: the tiny fixture set, plain and gzip'd,
 * malformed files and I/O errors, and (when installed) Fashion-MNIST.
 *
 * Expected values come from the fixtures' construction (tests/data: the IDX
 * files are written by make_fixtures.py from a formula repeated here) and,
 * for Fashion-MNIST, from the files' bytes read here with zlib directly.
 * Every malformed input is checked for its status and for a message naming
 * the file, the place (byte offset) and the problem. */
#include "data_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

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
    /* No read limit here: the absurd headers are to reach the size checks
     * behind it (test_idx_read_limit checks the limit). */
    ag_read_limit_set(UINT64_MAX);
    for (size_t k = 0; k < H_COUNT(bad_idxs); k++) {
        const struct bad_idx *b = &bad_idxs[k];
        ag_error_clear();
        ag_dataset *d = ag_idx_load(fixture(b->images), fixture(b->labels), AG_F32);
        ck_assert_msg(d == NULL, "%s + %s accepted", b->images, b->labels);
        ck_assert_error(b->status, b->blame);
        ck_assert_message_has(b->problem);
    }
    ag_read_limit_set(0);
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

static bool have_fashion_mnist(void)
{
    return access(FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) == 0 &&
           access(FASHION_DIR "/train-labels-idx1-ubyte.gz", R_OK) == 0 &&
           access(FASHION_DIR "/t10k-images-idx3-ubyte.gz", R_OK) == 0 &&
           access(FASHION_DIR "/t10k-labels-idx1-ubyte.gz", R_OK) == 0;
}

Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = data_tcase(s, "idx", H_TIMEOUT);
    tcase_add_test(tc, test_idx_tiny);
    tcase_add_test(tc, test_idx_malformed);
    tcase_add_test(tc, test_idx_io_errors);
    if (have_fashion_mnist()) {
        tc = data_tcase(s, "fashion-mnist", 300);
        tcase_add_test(tc, test_idx_fashion_mnist);
    } else {
        fprintf(stderr, "check-idx: %s not found (apt-get install dataset-fashion-mnist); "
                        "skipping the Fashion-MNIST test\n", FASHION_DIR);
    }
    return s;
}

H_MAIN(idx_suite)

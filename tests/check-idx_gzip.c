/* SPDX-License-Identifier: MIT */
/* check-idx_gzip.c — the IDX reader's gzip path against cut, corrupted,
 * concatenated and inflating ("bomb") streams, and the read limit of the
 * IDX and CSV readers.
 *
 * Every gzip file is made here with zlib's own deflate (an independent
 * writer), from IDX bytes assembled by hand, so the expected pixels are the
 * bytes written; the trailer's layout (CRC-32 then length, 4 bytes each,
 * little-endian) is RFC 1952's. */
#include "data_fixture.h"

#include <string.h>
#include <sys/resource.h>
#include <zlib.h>

/* An IDX images file of n images of 2x3, pixel k of the file = (10 + k) %
 * 256, and its labels file (label i = i % 3). */
enum { ROWS = 2, COLS = 3 };

static size_t idx_images(unsigned char *out, int n)
{
    const unsigned char head[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n, 0, 0, 0, ROWS,
                                    0, 0, 0, COLS};
    memcpy(out, head, 16);
    for (int k = 0; k < n * ROWS * COLS; k++)
        out[16 + k] = (unsigned char)((10 + k) % 256);
    return 16 + (size_t)n * ROWS * COLS;
}

static size_t idx_labels(unsigned char *out, int n)
{
    const unsigned char head[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)n};
    memcpy(out, head, 8);
    for (int i = 0; i < n; i++)
        out[8 + i] = (unsigned char)(i % 3);
    return 8 + (size_t)n;
}

/* gzip of `len` bytes of `data` followed by `zeros` zero bytes, written by
 * zlib's deflate with a gzip wrapper (windowBits 16 + 15). Returns the
 * compressed length; *out is malloc'd. */
static size_t gzip_of(const unsigned char *data, size_t len, size_t zeros, unsigned char **out)
{
    z_stream zs = {0};
    ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + zeros / 512 + 4096, used = 0;
    unsigned char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    static unsigned char zero_block[1 << 16];
    size_t zeros_left = zeros;
    bool data_done = false;
    int rc;
    do {
        int flush = Z_NO_FLUSH;
        if (!data_done) {
            zs.next_in = (unsigned char *)data;
            zs.avail_in = (uInt)len;
            data_done = true;
        } else if (zs.avail_in == 0 && zeros_left > 0) {
            size_t k = zeros_left < sizeof zero_block ? zeros_left : sizeof zero_block;
            zs.next_in = zero_block;
            zs.avail_in = (uInt)k;
            zeros_left -= k;
        }
        if (zs.avail_in == 0 && zeros_left == 0)
            flush = Z_FINISH;
        if (cap - used < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        zs.next_out = buf + used;
        zs.avail_out = (uInt)(cap - used);
        rc = deflate(&zs, flush);
        used = cap - zs.avail_out;
        ck_assert(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
    *out = buf;
    return used;
}

static const char *write_gz(const char *name, const unsigned char *data, size_t len)
{
    unsigned char *gz;
    size_t n = gzip_of(data, len, 0, &gz);
    const char *path = tmp_file(name, gz, n);
    free(gz);
    return path;
}

/* Little-endian 32-bit value at p (the trailer's byte order). */
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

START_TEST(test_whole_stream_loads_exact_pixels)
{
    unsigned char im[16 + 5 * ROWS * COLS], lb[8 + 5];
    size_t ni = idx_images(im, 5), nl = idx_labels(lb, 5);
    unsigned char *gz;
    size_t n = gzip_of(im, ni, 0, &gz);
    /* The writer's trailer is what RFC 1952 says: CRC-32 and length. */
    ck_assert_uint_eq(le32(gz + n - 8), crc32(0, im, (uInt)ni));
    ck_assert_uint_eq(le32(gz + n - 4), ni);
    const char *ip = tmp_file("whole-images.gz", gz, n);
    free(gz);
    ag_dataset *d = keep_ds(ag_idx_load(ip, write_gz("whole-labels.gz", lb, nl), AG_F64));
    ck_assert_dataset(d);
    ck_assert_int_eq(d->n, 5);
    ck_assert_int_eq(d->d, ROWS * COLS);
    for (int k = 0; k < 5 * ROWS * COLS; k++)
        ck_assert_msg(ag_get_flat(d->X, (size_t)k) * 255 == 10 + k, "pixel %d", k);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(label_at(d, i), i % 3);
}
END_TEST

/* The probe: with the trailer cut off, a corrupted pixel (255 where the
 * file had 10) used to load. Cut at every length of the trailer, with the
 * data intact and with the first pixel's byte corrupted. */
START_TEST(test_cut_trailer_is_refused)
{
    unsigned char im[16 + 4 * ROWS * COLS], lb[8 + 4];
    size_t ni = idx_images(im, 4), nl = idx_labels(lb, 4);
    const char *lp = write_gz("cut-labels.gz", lb, nl);
    unsigned char *gz;
    size_t n = gzip_of(im, ni, 0, &gz);
    for (size_t cut = 1; cut <= 8; cut++) {
        const char *ip = tmp_file("cut-images.gz", gz, n - cut);
        ag_error_clear();
        ck_assert_msg(ag_idx_load(ip, lp, AG_F32) == NULL, "trailer cut by %zu accepted", cut);
        ck_assert_error(AG_ERR_PARSE, "cut-images.gz");
        ck_assert_message_has("trailer is missing");
    }
    free(gz);
    /* A stored (uncompressed) deflate block: the pixel byte is in the file
     * as it is, so it can be corrupted in place. */
    z_stream zs = {0};
    ck_assert_int_eq(deflateInit2(&zs, 0, Z_DEFLATED, 16 + 15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    unsigned char stored[512];
    zs.next_in = im;
    zs.avail_in = (uInt)ni;
    zs.next_out = stored;
    zs.avail_out = sizeof stored;
    ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t sn = sizeof stored - zs.avail_out;
    deflateEnd(&zs);
    unsigned char *px = memchr(stored + 10, 10, sn - 10); /* the first pixel, 10 */
    ck_assert_ptr_nonnull(px);
    ck_assert(memcmp(px, im + 16, 4) == 0);
    *px = 255;
    for (size_t cut = 0; cut <= 8; cut++) {
        ag_error_clear();
        ck_assert_msg(ag_idx_load(tmp_file("bad-pixel.gz", stored, sn - cut), lp, AG_F32) == NULL,
                      "a corrupted pixel with the trailer cut by %zu accepted", cut);
        ck_assert_error(AG_ERR_PARSE, "bad-pixel.gz");
        /* While the CRC is whole (cut into the length only) it is checked
         * first, and fails. */
        ck_assert_message_has(cut <= 4 ? "incorrect data check" : "trailer is missing");
    }
}
END_TEST

/* Each byte of the CRC-32 and of the length, flipped. */
START_TEST(test_bad_crc_or_length_is_refused)
{
    unsigned char im[16 + 3 * ROWS * COLS], lb[8 + 3];
    size_t ni = idx_images(im, 3), nl = idx_labels(lb, 3);
    const char *lp = write_gz("crc-labels.gz", lb, nl);
    unsigned char *gz;
    size_t n = gzip_of(im, ni, 0, &gz);
    for (size_t b = 0; b < 8; b++) {
        gz[n - 8 + b] ^= 0x01;
        ag_error_clear();
        ck_assert_msg(ag_idx_load(tmp_file("crc-images.gz", gz, n), lp, AG_F64) == NULL,
                      "trailer byte %zu flipped accepted", b);
        ck_assert_error(AG_ERR_PARSE, "crc-images.gz");
        ck_assert_message_has(b < 4 ? "incorrect data check" : "incorrect length check");
        gz[n - 8 + b] ^= 0x01;
    }
    /* Unflipped, it loads. */
    ck_assert_dataset(keep_ds(ag_idx_load(tmp_file("crc-images.gz", gz, n), lp, AG_F64)));
    free(gz);
}
END_TEST

/* A second gzip member, or garbage, after the stream. */
START_TEST(test_bytes_after_the_stream_are_refused)
{
    unsigned char im[16 + 2 * ROWS * COLS], lb[8 + 2];
    size_t ni = idx_images(im, 2), nl = idx_labels(lb, 2);
    const char *lp = write_gz("after-labels.gz", lb, nl);
    unsigned char *a, *b;
    size_t na = gzip_of(im, ni, 0, &a), nb = gzip_of((const unsigned char *)"", 0, 0, &b);
    unsigned char *two = malloc(na + nb + 1);
    ck_assert_ptr_nonnull(two);
    memcpy(two, a, na);
    memcpy(two + na, b, nb);
    ag_error_clear();
    ck_assert_ptr_null(ag_idx_load(tmp_file("two-members.gz", two, na + nb), lp, AG_F32));
    ck_assert_error(AG_ERR_PARSE, "two-members.gz");
    ck_assert_message_has("bytes follow the end of the gzip stream");
    two[na] = 'x';
    ag_error_clear();
    ck_assert_ptr_null(ag_idx_load(tmp_file("garbage.gz", two, na + 1), lp, AG_F32));
    ck_assert_error(AG_ERR_PARSE, "garbage.gz");
    ck_assert_message_has("bytes follow the end of the gzip stream");
    free(two);
    free(a);
    free(b);
}
END_TEST

static long max_rss_kib(void)
{
    struct rusage ru;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
    return ru.ru_maxrss;
}

/* A bomb: a header declaring 7 images, then 256 MiB of zeros that deflate
 * to a quarter of a megabyte. Reading stops one byte past the declared
 * data: the message's offset says where, and memory does not grow by the
 * stream's size (the probe: 5.2 GB resident for a 1 MB file). */
START_TEST(test_bomb_inflates_no_further_than_declared)
{
    size_t zeros = h_valgrind() ? (size_t)16 << 20 : (size_t)256 << 20;
    unsigned char im[16 + 7 * ROWS * COLS], lb[8 + 7];
    size_t ni = idx_images(im, 7), nl = idx_labels(lb, 7);
    unsigned char *gz;
    size_t n = gzip_of(im, ni, zeros, &gz);
    ck_assert_uint_lt(n, zeros / 500);
    const char *ip = tmp_file("bomb-images.gz", gz, n);
    free(gz);
    const char *lp = write_gz("bomb-labels.gz", lb, nl);
    long before = max_rss_kib();
    ag_error_clear();
    ck_assert_ptr_null(ag_idx_load(ip, lp, AG_F32));
    ck_assert_error(AG_ERR_PARSE, "bomb-images.gz");
    char where[96];
    snprintf(where, sizeof where, "offset %zu of the decompressed data: unexpected data after 7 "
             "images", ni);
    ck_assert_message_has(where);
    if (!h_valgrind()) /* valgrind's own bookkeeping makes RSS meaningless there */
        ck_assert_msg(max_rss_kib() - before < 64 * 1024, "resident memory grew by %ld KiB",
                      max_rss_kib() - before);
}
END_TEST

/* ---- the read limit (ag_read_limit_set) ---- */

START_TEST(test_idx_read_limit)
{
    unsigned char im[16 + 6 * ROWS * COLS], lb[8 + 6];
    size_t ni = idx_images(im, 6), nl = idx_labels(lb, 6);
    const char *ip = tmp_file("limit-images", im, ni), *lp = tmp_file("limit-labels", lb, nl);
    const char *ipz = write_gz("limit-images.gz", im, ni);
    ck_assert_uint_eq(ag_read_limit(), AG_READ_LIMIT_DEFAULT);
    /* Exactly the images file's size: both files load, plain and gzip. */
    ck_assert_uint_eq(ag_read_limit_set(ni), ni);
    ck_assert_dataset(keep_ds(ag_idx_load(ip, lp, AG_F32)));
    ck_assert_dataset(keep_ds(ag_idx_load(ipz, lp, AG_F32)));
    /* One byte less: refused before anything is read, also for gzip,
     * whose size only the header tells. */
    ag_read_limit_set(ni - 1);
    for (int z = 0; z < 2; z++) {
        ag_error_clear();
        ck_assert_ptr_null(ag_idx_load(z ? ipz : ip, lp, AG_F32));
        ck_assert_error(AG_ERR_VALUE, z ? "limit-images.gz" : "limit-images");
        char msg[160];
        snprintf(msg, sizeof msg, "%zu bytes in all, beyond the read limit of %zu bytes", ni,
                 ni - 1);
        ck_assert_message_has(msg, "ag_read_limit_set");
    }
    /* The labels file counts as well. */
    ag_read_limit_set(nl - 1);
    ag_error_clear();
    ck_assert_ptr_null(ag_idx_load(ip, lp, AG_F32));
    ck_assert_status(AG_ERR_VALUE);
    /* A header declaring 4 billion images is refused by the default limit
     * with no allocation for its data. */
    ag_read_limit_set(0);
    ck_assert_uint_eq(ag_read_limit(), AG_READ_LIMIT_DEFAULT);
    unsigned char huge[16 + 6] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28};
    unsigned char hugel[8] = {0, 0, 8, 1, 0xff, 0xff, 0xff, 0xff};
    ag_error_clear();
    size_t allocs = ag_alloc_count();
    ck_assert_ptr_null(ag_idx_load(write_gz("huge.gz", huge, sizeof huge),
                                   tmp_file("huge-labels", hugel, 8), AG_F32));
    ck_assert_error(AG_ERR_VALUE, "beyond the read limit");
    ck_assert_uint_le(ag_alloc_count() - allocs, 16); /* zlib's state, not the data */
}
END_TEST

START_TEST(test_csv_read_limit)
{
    const char *text = "a,b,label\n1,2,0\n3,4,1\n";
    size_t len = strlen(text);
    const char *path = tmp_file("limit.csv", text, len);
    ag_read_limit_set(len);
    ag_dataset *d = keep_ds(ag_csv_load(path, NULL));
    ck_assert_dataset(d);
    ck_assert_int_eq(d->n, 2);
    ag_read_limit_set(len - 1);
    ag_error_clear();
    ck_assert_ptr_null(ag_csv_load(path, NULL));
    ck_assert_error(AG_ERR_VALUE, "limit.csv");
    char msg[96];
    snprintf(msg, sizeof msg, "has %zu bytes, beyond the read limit of %zu bytes", len, len - 1);
    ck_assert_message_has(msg, "ag_read_limit_set");
    ag_read_limit_set(0);
}
END_TEST

/* Every allocation of the gzip path failed in turn: NULL with AG_ERR_NOMEM
 * and nothing leaked (ASan and valgrind run this suite), then a load. */
START_TEST(test_gzip_path_out_of_memory)
{
    unsigned char im[16 + 3 * ROWS * COLS], lb[8 + 3];
    size_t ni = idx_images(im, 3), nl = idx_labels(lb, 3);
    const char *ip = write_gz("oom-images.gz", im, ni), *lp = write_gz("oom-labels.gz", lb, nl);
    long k = 0;
    for (;; k++) {
        ag_error_clear();
        ag_alloc_fail_after(k);
        ag_dataset *d = ag_idx_load(ip, lp, AG_F64);
        ag_alloc_fail_after(-1);
        if (d) {
            ck_assert_ok();
            ck_assert_int_eq(d->n, 3);
            ck_assert(ag_get_flat(d->X, 0) * 255 == 10);
            ag_dataset_free(d);
            break;
        }
        ck_assert_msg(ag_last_status() == AG_ERR_NOMEM, "allocation %ld: %s: %s", k,
                      ag_status_str(ag_last_status()), ag_last_error());
    }
    ck_assert_int_ge(k, 6); /* two streams' buffers and zlib states, data, the set */
}
END_TEST

static void restore_limit(void)
{
    ag_read_limit_set(0);
}

static Suite *idx_gzip_suite(void)
{
    Suite *s = suite_create("idx_gzip");
    TCase *tc = data_tcase(s, "gzip", 120);
    tcase_add_checked_fixture(tc, NULL, restore_limit);
    tcase_add_test(tc, test_whole_stream_loads_exact_pixels);
    tcase_add_test(tc, test_cut_trailer_is_refused);
    tcase_add_test(tc, test_bad_crc_or_length_is_refused);
    tcase_add_test(tc, test_bytes_after_the_stream_are_refused);
    tcase_add_test(tc, test_bomb_inflates_no_further_than_declared);
    tcase_add_test(tc, test_idx_read_limit);
    tcase_add_test(tc, test_csv_read_limit);
    tcase_add_test(tc, test_gzip_path_out_of_memory);
    return s;
}

H_MAIN(idx_gzip_suite)

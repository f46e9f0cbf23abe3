/* SPDX-License-Identifier: MIT */
/* fuzz_idx.c — arbitrary bytes as an IDX image file and as a labels file,
 * each paired with a valid file of the other kind.
 *
 * Mutated gzip bytes almost never inflate, so random inputs stop at the
 * first deflate block and the IDX parsing behind the inflater goes
 * untested. The first input byte therefore chooses how the rest reaches
 * the reader: as it is (plain IDX, or gzip bytes to mutate), or gzip'd here
 * by zlib at a chosen level — then with its trailer cut by 0 to 7 bytes, a
 * byte of the trailer flipped, or a second member or garbage appended — so
 * that the fuzzer mutates IDX headers and data seen through every branch of
 * the gzip path. */
#include "fuzz_common.h"

#include <zlib.h>

enum { MAX_GZ = 1 << 17 };

/* data gzip'd into out per the mode byte; returns the length, 0 to skip. */
static size_t shape_input(uint8_t mode, const uint8_t *data, size_t size, uint8_t *out)
{
    z_stream zs = {0};
    int level = (mode >> 1) % 10;
    if (deflateInit2(&zs, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    zs.next_in = (uint8_t *)data;
    zs.avail_in = (uInt)size;
    zs.next_out = out;
    zs.avail_out = MAX_GZ - 64;
    int rc = deflate(&zs, Z_FINISH);
    size_t n = MAX_GZ - 64 - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END)
        return 0;
    switch ((mode >> 5) & 7) {
    case 1: n -= 1 + ((mode >> 1) & 7) % 8; break;      /* trailer cut */
    case 2: out[n - 1 - (mode >> 1) % 8] ^= 0x40; break; /* trailer byte flipped */
    case 3: /* an empty second member */
        memcpy(out + n, "\x1f\x8b\x08\0\0\0\0\0\0\x03\x03\0\0\0\0\0\0\0\0\0", 20);
        n += 20;
        break;
    case 4: out[n++] = mode; break; /* garbage */
    default: break;                 /* whole */
    }
    return n;
}

static void load(const char *images, const char *labels, ag_dtype dtype)
{
    ag_dataset *d = ag_idx_load(images, labels, dtype);
    ag_dataset_free(d);
    ag_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char images[300], labels[300];
    static uint8_t gz[MAX_GZ];
    if (!images[0]) {
        snprintf(images, sizeof images, "%s", fuzz_path(".idx"));
        snprintf(labels, sizeof labels, "%s.labels", images);
    }
    if (size < 1)
        return 0;
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        n = n < MAX_GZ / 2 ? shape_input(data[0], body, n, gz) : 0;
        if (n == 0)
            return 0;
        body = gz;
    }
    /* Labels for up to 4 images; the images file decides how many it has. */
    static const uint8_t good_labels[] = {0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4};
    if (fuzz_write(images, body, n) == 0 &&
        fuzz_write(labels, good_labels, sizeof good_labels) == 0)
        load(images, labels, AG_F32);
    /* The same bytes as the labels file, with images the fuzzer cannot break. */
    static const uint8_t good_images[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2,
                                          1, 2, 3, 4};
    if (fuzz_write(images, good_images, sizeof good_images) == 0 &&
        fuzz_write(labels, body, n) == 0)
        load(images, labels, AG_F64);
    return 0;
}

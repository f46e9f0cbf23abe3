/* fuzz_idx.c — arbitrary bytes as an IDX image file (plain or, when the
 * input starts with gzip's magic, compressed), paired with a valid labels
 * file of the declared count, and as a labels file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char images[300], labels[300];
    if (!images[0]) {
        snprintf(images, sizeof images, "%s", fuzz_path(".idx"));
        snprintf(labels, sizeof labels, "%s.labels", images);
    }
    /* Labels for up to 4 images; the images file decides how many it has. */
    static const uint8_t good_labels[] = {0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3, 4};
    if (fuzz_write(images, data, size) != 0 || fuzz_write(labels, good_labels, sizeof good_labels) != 0)
        return 0;
    ag_dataset *d = ag_idx_load(images, labels, AG_F32);
    ag_dataset_free(d);
    ag_error_clear();
    /* The same bytes as the labels file, with images the fuzzer cannot break. */
    static const uint8_t good_images[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4};
    if (fuzz_write(images, good_images, sizeof good_images) != 0 || fuzz_write(labels, data, size) != 0)
        return 0;
    d = ag_idx_load(images, labels, AG_F64);
    ag_dataset_free(d);
    ag_error_clear();
    return 0;
}

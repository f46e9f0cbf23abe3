/* SPDX-License-Identifier: MIT */
/* fuzz_csv.c — arbitrary bytes as a CSV file, with the label chosen by name
 * and by index. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(".csv");
    if (fuzz_write(path, data, size) != 0)
        return 0;
    ag_dataset *d = ag_csv_load(path, &(ag_csv_options){.label_column = "y", .dtype = AG_F64});
    ag_dataset_free(d);
    ag_error_clear();
    d = ag_csv_load(path, &(ag_csv_options){.label_index = -1, .dtype = AG_F32});
    if (d) {
        /* A data set that loaded must be usable. */
        ag_dataset *train = NULL, *test = NULL;
        if (d->n >= 2 && ag_dataset_split(d, 0.5, 1, &train, &test)) {
            ag_standardizer s;
            if (ag_standardizer_fit(&s, train)) {
                ag_standardizer_apply(&s, test);
                ag_standardizer_free(&s);
            }
        }
        ag_dataset_free(train);
        ag_dataset_free(test);
    }
    ag_dataset_free(d);
    ag_error_clear();
    return 0;
}

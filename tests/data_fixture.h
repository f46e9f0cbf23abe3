/* SPDX-License-Identifier: MIT */
/* data_fixture.h — what the data-set suites (check-csv.c, check-idx.c,
 * check-data.c) share, on top of harness.h.
 *
 * Paths to the readers' fixtures (tests/data, $AG_TEST_DATA) and to the real
 * data sets (examples/data, $AG_DATA_DIR); data sets, batch iterators,
 * standardizers and temporary files freed or removed by data_tcase's
 * checked teardown, so a failed test leaks nothing under CK_FORK=no +
 * valgrind; assertions on a loaded data set and on an error message; and
 * the label of a row.
 *
 * Built into the harness library (tests/meson.build); a suite that uses
 * none of it links none of it. */
#ifndef AG_TEST_DATA_FIXTURE_H
#define AG_TEST_DATA_FIXTURE_H

#include "harness.h"

#include <stdlib.h>

/* The folders' fallbacks when the environment does not name them: the
 * suites are compiled with the build's paths (tests/meson.build), so these
 * are only the defaults of a build without them. fixture() and real_data()
 * are inline so that each suite uses the paths it was compiled with. */
#ifndef AG_TEST_DATA_PATH
#define AG_TEST_DATA_PATH "tests/data"
#endif
#ifndef AG_DATA_DIR_PATH
#define AG_DATA_DIR_PATH "examples/data"
#endif

/* ---- paths ---- */

/* dir/name in one of a few rotating buffers (several paths per call). */
const char *data_join(const char *dir, const char *name);

/* A file of the readers' fixtures. */
static inline const char *fixture(const char *name)
{
    const char *dir = getenv("AG_TEST_DATA");
    return data_join(dir && *dir ? dir : AG_TEST_DATA_PATH, name);
}

/* A file of the real data sets. */
static inline const char *real_data(const char *name)
{
    const char *dir = getenv("AG_DATA_DIR");
    return data_join(dir && *dir ? dir : AG_DATA_DIR_PATH, name);
}

/* ---- things freed by the teardown, so a failed test leaks nothing ---- */

/* Each hands its argument (or NULL) to the teardown and returns it. */
ag_dataset *keep_ds(ag_dataset *d);
ag_batches *keep_it(ag_batches *b);
/* A standardizer freed by the teardown. */
ag_standardizer *new_std(void);
/* Writes `len` bytes to a new file in a temporary folder; returns its path. */
const char *tmp_file(const char *name, const void *data, size_t len);
/* A test case with the harness's fixture and the one above, added to s. */
TCase *data_tcase(Suite *s, const char *name, double timeout);

/* ---- assertions ---- */

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

/* The label of row i. */
int64_t label_at(const ag_dataset *d, int64_t i);

#endif

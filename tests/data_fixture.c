/* SPDX-License-Identifier: MIT */
/* data_fixture.c — the data-set suites' shared fixture and helpers (see
 * data_fixture.h). */
#include "data_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- paths ---- */

/* dir/name in one of a few rotating buffers (several paths per call). */
const char *data_join(const char *dir, const char *name)
{
    static char bufs[8][1024];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
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

ag_dataset *keep_ds(ag_dataset *d)
{
    if (d && n_kept_ds < (int)H_COUNT(kept_ds))
        kept_ds[n_kept_ds++] = d;
    return d;
}

ag_batches *keep_it(ag_batches *b)
{
    if (b && n_kept_it < (int)H_COUNT(kept_it))
        kept_it[n_kept_it++] = b;
    return b;
}

/* A standardizer freed by the teardown. */
ag_standardizer *new_std(void)
{
    ck_assert_int_lt(n_kept_std, (int)H_COUNT(kept_std));
    return &kept_std[n_kept_std++];
}

/* Writes `len` bytes to a new file in a temporary folder; returns its path. */
const char *tmp_file(const char *name, const void *data, size_t len)
{
    if (!tmpdir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/ag-check-data-XXXXXX", t && *t ? t : "/tmp");
        ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
    }
    /* The same name again rewrites that file (a test varying one input). */
    char want[sizeof tmpfiles[0]];
    snprintf(want, sizeof want, "%s/%s", tmpdir, name);
    char *path = NULL;
    for (int i = 0; i < n_tmpfiles && !path; i++)
        if (strcmp(tmpfiles[i], want) == 0)
            path = tmpfiles[i];
    if (!path) {
        ck_assert_int_lt(n_tmpfiles, (int)H_COUNT(tmpfiles));
        path = tmpfiles[n_tmpfiles++];
        memcpy(path, want, sizeof want);
    }
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

TCase *data_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = h_tcase(s, name, timeout);
    tcase_add_checked_fixture(tc, data_setup, data_teardown);
    return tc;
}

int64_t label_at(const ag_dataset *d, int64_t i)
{
    return ((const int64_t *)ag_data_const(d->y))[i];
}

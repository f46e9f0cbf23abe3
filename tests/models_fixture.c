/* SPDX-License-Identifier: MIT */
/* models_fixture.c — the models-layer suites' shared fixtures and helpers
 * (see models_fixture.h). */
#include "models_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Resources freed by the teardown                                     */
/* ------------------------------------------------------------------ */

typedef enum { R_PARAMS, R_OPTIM, R_MLP, R_DATASET, R_BATCHES } rkind;
enum { MAX_OWNED = 128 };
static struct {
    rkind kind;
    void *p;
} owned[MAX_OWNED];
static size_t n_owned;

static void *own(rkind kind, void *p)
{
    if (!p)
        return NULL;
    ck_assert_msg(n_owned < MAX_OWNED, "more than %d owned resources", MAX_OWNED);
    owned[n_owned].kind = kind;
    owned[n_owned].p = p;
    n_owned++;
    return p;
}
ag_params *own_params(ag_params *p) { return own(R_PARAMS, p); }
ag_optim *own_optim(ag_optim *o) { return own(R_OPTIM, o); }
ag_mlp *own_mlp(ag_mlp *m) { return own(R_MLP, m); }
ag_dataset *own_dataset(ag_dataset *d) { return own(R_DATASET, d); }
ag_batches *own_batches(ag_batches *b) { return own(R_BATCHES, b); }

/* Frees in reverse order (an optimizer before the store it borrows). */
static void free_owned(void)
{
    while (n_owned > 0) {
        n_owned--;
        void *p = owned[n_owned].p;
        switch (owned[n_owned].kind) {
        case R_PARAMS: ag_params_free(p); break;
        case R_OPTIM: ag_optim_free(p); break;
        case R_MLP: ag_mlp_free(p); break;
        case R_DATASET: ag_dataset_free(p); break;
        case R_BATCHES: ag_batches_free(p); break;
        }
    }
}

/* The suites' temporary folder. It is made and removed, with
 * whatever is in it, by an unchecked fixture — in the parent process, once
 * per test case — because in fork mode a failing test's process exits
 * without running the checked teardown. */
static char tmp_dir[256];

void tmp_dir_setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/ag-models-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        fprintf(stderr, "models_fixture: mkdtemp %s: %s\n", tmp_dir, strerror(errno));
        tmp_dir[0] = '\0';
    }
}

void tmp_dir_teardown(void)
{
    if (!tmp_dir[0])
        return;
    DIR *dir = opendir(tmp_dir);
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        unlink(path);
    }
    if (dir)
        closedir(dir);
    rmdir(tmp_dir);
    tmp_dir[0] = '\0';
}

/* A path in the temporary folder (each test uses names of its own). */
const char *tmp_path(const char *name)
{
    static char path[512];
    ck_assert_msg(tmp_dir[0], "no temporary folder");
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    return path;
}

void models_teardown(void)
{
    free_owned();
}

/* ------------------------------------------------------------------ */
/* A leaf for a store                                                  */
/* ------------------------------------------------------------------ */

/* A leaf holding `values`, not kept by the harness (for handing to a store,
 * which takes ownership). */
ag_tensor *make(ag_dtype dtype, int ndim, const int64_t *shape, const double *values)
{
    ag_tensor *t = ag_zeros(dtype, ndim, shape);
    ck_assert_tensor(t);
    for (size_t i = 0; values && i < ag_numel(t); i++)
        ck_assert(ag_set_flat(t, i, values[i]));
    return t;
}

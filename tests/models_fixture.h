/* SPDX-License-Identifier: MIT */
/* models_fixture.h — what the models-layer suites (check-models.c,
 * check-optim.c, check-train.c) share, on top of harness.h.
 *
 * Resources that are not tensors (stores, optimizers, models, data sets,
 * batch iterators) are registered with own_*() and freed by
 * models_teardown, the suites' checked teardown, so a failing test leaks
 * nothing under CK_FORK=no + valgrind. A temporary folder, made and removed
 * by an unchecked fixture, holds the files a test writes. And make(), a leaf
 * not kept by the harness, for handing to a store.
 *
 * Built into the harness library (tests/meson.build); a suite that uses
 * none of it links none of it. */
#ifndef AG_TEST_MODELS_FIXTURE_H
#define AG_TEST_MODELS_FIXTURE_H

#include "harness.h"

/* ---- resources freed by the teardown ---- */

/* Each hands its argument (or NULL) to the teardown and returns it. */
ag_params *own_params(ag_params *p);
ag_optim *own_optim(ag_optim *o);
ag_mlp *own_mlp(ag_mlp *m);
ag_dataset *own_dataset(ag_dataset *d);
ag_batches *own_batches(ag_batches *b);

/* The checked teardown: frees what was owned, in reverse order (an
 * optimizer before the store it borrows). */
void models_teardown(void);

/* ---- the temporary folder ---- */

/* The unchecked fixture that makes and removes (with whatever is in it) the
 * folder: tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown). */
void tmp_dir_setup(void);
void tmp_dir_teardown(void);
/* A path in the temporary folder (each test uses names of its own). */
const char *tmp_path(const char *name);

/* ---- a leaf for a store ---- */

/* A leaf holding `values` (NULL: zeros), not kept by the harness (for
 * handing to a store, which takes ownership). */
ag_tensor *make(ag_dtype dtype, int ndim, const int64_t *shape, const double *values);

#endif

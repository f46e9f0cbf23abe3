/* SPDX-License-Identifier: MIT */
/* check-torch_interop.c — a model PyTorch saved loads into an ag_mlp and
 * predicts what PyTorch predicted.
 *
 * tests/data/torch_mlp.safetensors is the state dict of a seeded
 * nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 3)) in f64, and
 * torch_mlp.json its predictions for five inputs, both written by
 * tests/torch_interop.py make-fixture with PyTorch (committed: the test
 * needs no PyTorch). The other direction, a file of this library loading
 * into PyTorch, is the meson test torch_roundtrip (tests/torch_interop.py). */
#include "harness.h"
#include "data_fixture.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static json_object *fixture_json(void)
{
    const char *path = fixture("torch_mlp.json");
    json_object *j = json_object_from_file(path);
    ck_assert_msg(j != NULL, "cannot read %s", path);
    return j;
}

static ag_mlp *torch_shaped_mlp(void)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    ag_mlp *m = ag_mlp_new(3, H_SHAPE(4, 8, 3), AG_ACT_RELU, AG_F64, &rng);
    ck_assert_msg(m != NULL, "%s", ag_last_error());
    return m;
}

START_TEST(test_pytorch_file_predicts_as_pytorch)
{
    const char *path = fixture("torch_mlp.safetensors");
    ag_mlp *m = torch_shaped_mlp();
    /* Without the name map the names are not ours. */
    ck_assert(!ag_safetensors_load(path, m->params));
    ck_assert_error(AG_ERR_NOTFOUND, "fc1.weight");
    ag_error_clear();
    ck_assert_msg(ag_safetensors_load_as(path, m->params, m->n_layers, ag_mlp_sequential_map()),
                  "%s", ag_last_error());
    ck_assert_shape(ag_params_get(m->params, "fc1.weight"), 2, H_SHAPE(8, 4));

    json_object *j = fixture_json(), *ins, *outs;
    ck_assert(json_object_object_get_ex(j, "inputs", &ins));
    ck_assert(json_object_object_get_ex(j, "outputs", &outs));
    size_t n = json_object_array_length(ins);
    ck_assert_uint_eq(n, 5);
    double xs[5 * 4];
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < 4; c++)
            xs[i * 4 + c] = json_object_get_double(
                json_object_array_get_idx(json_object_array_get_idx(ins, i), c));
    ag_tensor *y = ag_mlp_forward(m, h_arr(AG_F64, 2, H_SHAPE(5, 4), xs));
    ck_assert_tensor(y);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < 3; c++) {
            double want = json_object_get_double(
                json_object_array_get_idx(json_object_array_get_idx(outs, i), c));
            double got = ag_get(y, H_SHAPE((int64_t)i, (int64_t)c));
            worst = fmax(worst, fabs(got - want) / fmax(1.0, fabs(want)));
        }
    /* Sums of 4 and 8 products in f64. Here both GEMMs (OpenBLAS's and the
     * portable kernel) give PyTorch's numbers bit for bit; another BLAS, or
     * another OpenBLAS kernel (OPENBLAS_CORETYPE), may add in another order
     * or fuse a multiply-add, so the bound is two ulps. */
    fprintf(stderr, "PyTorch's predictions reproduced to %.3g (relative)\n", worst);
    ck_assert_msg(worst <= 4e-16, "predictions differ from PyTorch's by %g", worst);
    json_object_put(j);
    ag_mlp_free(m);
}
END_TEST

START_TEST(test_saved_names_are_pytorchs)
{
    ag_mlp *m = torch_shaped_mlp();
    char path[1024];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/ag-torch-%d.safetensors", tmp && *tmp ? tmp : "/tmp",
             (int)getpid());
    ck_assert(ag_safetensors_save_as(path, m->params, NULL, m->n_layers, ag_mlp_sequential_map()));
    ag_params *r = ag_safetensors_read(path);
    ck_assert_msg(r != NULL, "%s", ag_last_error());
    const char *want[] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    const int64_t shapes[4][2] = {{8, 4}, {8, 0}, {3, 8}, {3, 0}};
    ck_assert_uint_eq(ag_params_count(r), 4);
    for (size_t i = 0; i < 4; i++) {
        ag_tensor *t = ag_params_get(r, want[i]);
        ck_assert_msg(t != NULL, "no %s", want[i]);
        ck_assert_int_eq(ag_ndim(t), shapes[i][1] ? 2 : 1);
        ck_assert_int_eq(ag_dim(t, 0), shapes[i][0]);
    }
    /* And back, through the same map: the same numbers. */
    ag_mlp *back = torch_shaped_mlp();
    ck_assert(ag_safetensors_load_as(path, back->params, back->n_layers, ag_mlp_sequential_map()));
    for (size_t i = 0; i < ag_params_count(m->params); i++) {
        ag_tensor *a = ag_params_at(m->params, i, NULL), *b = ag_params_at(back->params, i, NULL);
        for (size_t e = 0; e < ag_numel(a); e++)
            ck_assert(ag_get_flat(a, e) == ag_get_flat(b, e));
    }
    /* A map that makes two tensors one name is refused before writing. */
    const ag_name_map clash[] = {{"fc1.", "x."}, {"fc2.", "x."}};
    ck_assert(!ag_safetensors_save_as(path, m->params, NULL, 2, clash));
    ck_assert_error(AG_ERR_VALUE, "two tensors 'x.weight'");
    ag_error_clear();
    remove(path);
    ag_params_free(r);
    ag_mlp_free(m);
    ag_mlp_free(back);
}
END_TEST

static Suite *torch_interop_suite(void)
{
    Suite *s = suite_create("torch_interop");
    TCase *tc = h_tcase(s, "PyTorch's files", H_TIMEOUT);
    tcase_add_test(tc, test_pytorch_file_predicts_as_pytorch);
    tcase_add_test(tc, test_saved_names_are_pytorchs);
    return s;
}

H_MAIN(torch_interop_suite)

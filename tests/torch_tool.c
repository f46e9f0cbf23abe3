/* SPDX-License-Identifier: MIT */
/* torch_tool.c — for tests/torch_interop.py: saves a seeded ag_mlp 4-8-3
 * (ReLU, f64) under nn.Sequential's names and prints its predictions for
 * the script's inputs as JSON.
 *
 *   torch_tool FILE */
#include <autograd/autograd.h>

#include <stdio.h>

static const double INPUTS[5][4] = {{0.5, -1.0, 2.0, 0.25}, {-1.5, 0.75, 0.0, 1.0},
                                    {3.0, 2.5, -2.0, -0.5}, {0.0, 0.0, 0.0, 0.0},
                                    {1.25, -0.125, 0.625, -3.0}};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: torch_tool FILE\n");
        return 2;
    }
    ag_rng rng;
    ag_rng_seed(&rng, 77);
    ag_mlp *m = ag_mlp_new(3, (int64_t[]){4, 8, 3}, AG_ACT_RELU, AG_F64, &rng);
    ag_tensor *x = ag_from_array(AG_F64, 2, (int64_t[]){5, 4}, INPUTS);
    ag_tensor *y = m && x ? ag_mlp_forward(m, x) : NULL;
    if (!y || !ag_safetensors_save_as(argv[1], m->params, NULL, m->n_layers,
                                      ag_mlp_sequential_map())) {
        fprintf(stderr, "torch_tool: %s\n", ag_last_error());
        return 1;
    }
    printf("{\"inputs\": [");
    for (int i = 0; i < 5; i++)
        printf("%s[%.17g, %.17g, %.17g, %.17g]", i ? ", " : "", INPUTS[i][0], INPUTS[i][1],
               INPUTS[i][2], INPUTS[i][3]);
    printf("], \"outputs\": [");
    for (int i = 0; i < 5; i++)
        printf("%s[%.17g, %.17g, %.17g]", i ? ", " : "", ag_get(y, (int64_t[]){i, 0}),
               ag_get(y, (int64_t[]){i, 1}), ag_get(y, (int64_t[]){i, 2}));
    printf("]}\n");
    ag_tensor_free(x);
    ag_mlp_free(m);
    ag_shutdown();
    return 0;
}

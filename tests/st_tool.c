/* SPDX-License-Identifier: MIT */
/* st_tool.c — the C side of the safetensors interop test
 * (tests/safetensors_interop.py, which reads and writes the files with
 * numpy from the format's specification).
 *
 *   st_tool save PATH    saves the known model below, with metadata
 *   st_tool print PATH   reads every tensor of a file (ag_safetensors_read)
 *   st_tool load PATH    loads a file into the known model's layout
 *                        (ag_safetensors_load) and prints it
 *
 * Printing writes one line per tensor, fields separated by tabs:
 *   name  dtype  shape (comma-separated, empty for 0-d)  values
 * where the values are the elements' bits in hex (8 digits for F32, 16 for
 * F64 and I64), space-separated, so that the comparison is exact. Errors go
 * to stderr as "st_tool: STATUS: message" with exit status 1.
 *
 * The known model's values are easy to compute in numpy:
 *   fc1.weight F32 (3,4)   (i - 5) * 0.25
 *   fc1.bias   F32 (4)     1 / (i + 1)            (f32 division)
 *   emb        F64 (2,3,2) i * 0.1
 *   scale      F64 ()      1 / 3
 *   labels     I64 (5)     i * i * 1000000007 - 3
 *   empty      F32 (0,5)
 *   t0         F32 ()      -2.5
 * with i the flat index, in that insertion order. */
#include <autograd/autograd.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The known model; with `zero`, the same layout holding zeros. */
static ag_params *known_model(bool zero)
{
    float w[12], b[4], t0 = zero ? 0.0f : -2.5f;
    double e[12], s = zero ? 0.0 : 1.0 / 3.0;
    int64_t l[5];
    for (int i = 0; i < 12; i++) {
        w[i] = zero ? 0.0f : (float)(i - 5) * 0.25f;
        e[i] = zero ? 0.0 : (double)i * 0.1;
    }
    for (int i = 0; i < 4; i++)
        b[i] = zero ? 0.0f : 1.0f / (float)(i + 1);
    for (int i = 0; i < 5; i++)
        l[i] = zero ? 0 : (int64_t)i * i * 1000000007 - 3;
    ag_params *p = ag_params_new();
    bool ok = p && ag_params_add(p, "fc1.weight", ag_from_array(AG_F32, 2, (int64_t[]){3, 4}, w)) &&
              ag_params_add(p, "fc1.bias", ag_from_array(AG_F32, 1, (int64_t[]){4}, b)) &&
              ag_params_add(p, "emb", ag_from_array(AG_F64, 3, (int64_t[]){2, 3, 2}, e)) &&
              ag_params_add(p, "scale", ag_from_array(AG_F64, 0, NULL, &s)) &&
              ag_params_add(p, "labels", ag_from_array(AG_I64, 1, (int64_t[]){5}, l)) &&
              ag_params_add(p, "empty", ag_zeros(AG_F32, 2, (int64_t[]){0, 5})) &&
              ag_params_add(p, "t0", ag_from_array(AG_F32, 0, NULL, &t0));
    if (!ok) {
        ag_params_free(p);
        return NULL;
    }
    return p;
}

static void print_store(const ag_params *p)
{
    for (size_t i = 0; i < ag_params_count(p); i++) {
        const char *name;
        const ag_tensor *t = ag_params_at(p, i, &name);
        ag_dtype d = ag_tensor_dtype(t);
        printf("%s\t%s\t", name, d == AG_F32 ? "F32" : d == AG_F64 ? "F64" : "I64");
        for (int k = 0; k < ag_ndim(t); k++)
            printf(k ? ",%" PRId64 : "%" PRId64, ag_dim(t, k));
        printf("\t");
        const unsigned char *data = ag_data_const(t);
        for (size_t k = 0; k < ag_numel(t); k++) {
            if (d == AG_F32) {
                uint32_t u;
                memcpy(&u, data + 4 * k, 4);
                printf(k ? " %08" PRIx32 : "%08" PRIx32, u);
            } else {
                uint64_t u;
                memcpy(&u, data + 8 * k, 8);
                printf(k ? " %016" PRIx64 : "%016" PRIx64, u);
            }
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "save") && strcmp(argv[1], "print") && strcmp(argv[1], "load"))) {
        fprintf(stderr, "usage: st_tool save|print|load PATH\n");
        return 2;
    }
    const char *path = argv[2];
    ag_params *p = NULL;
    bool ok;
    if (strcmp(argv[1], "save") == 0) {
        p = known_model(false);
        ok = p && ag_safetensors_save(path, p,
                                      (const char *[]){"producer", "st_tool", "note", "ünïcode ✓",
                                                       NULL});
    } else if (strcmp(argv[1], "print") == 0) {
        p = ag_safetensors_read(path);
        ok = p != NULL;
    } else {
        p = known_model(true);
        ok = p && ag_safetensors_load(path, p);
    }
    if (ok && strcmp(argv[1], "save") != 0)
        print_store(p);
    if (!ok)
        fprintf(stderr, "st_tool: %s: %s\n", ag_status_str(ag_last_status()), ag_last_error());
    ag_params_free(p);
    ag_shutdown();
    return ok ? 0 : 1;
}

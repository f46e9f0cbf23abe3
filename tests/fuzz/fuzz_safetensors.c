/* SPDX-License-Identifier: MIT */
/* fuzz_safetensors.c — arbitrary bytes as a safetensors file: read whole,
 * and loaded into a fixed model (which must stay unchanged on error). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(".safetensors");
    if (fuzz_write(path, data, size) != 0)
        return 0;
    ag_params *all = ag_safetensors_read(path);
    ag_params_free(all);
    ag_error_clear();

    ag_params *p = ag_params_new();
    ag_params_add(p, "w", ag_full(AG_F32, 2, (int64_t[]){2, 2}, 0.5));
    ag_params_add(p, "b", ag_full(AG_F64, 1, (int64_t[]){2}, -1.0));
    if (!ag_safetensors_load(path, p)) {
        /* Nothing may have changed. */
        const float *w = ag_data(ag_params_get(p, "w"));
        const double *b = ag_data(ag_params_get(p, "b"));
        for (int i = 0; i < 4; i++)
            if (w[i] != 0.5f)
                abort();
        for (int i = 0; i < 2; i++)
            if (b[i] != -1.0)
                abort();
    }
    ag_params_free(p);
    ag_error_clear();
    ag_shutdown();
    return 0;
}

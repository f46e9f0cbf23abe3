/* SPDX-License-Identifier: MIT */
/* fuzz_text.c — arbitrary bytes as a text file, at both levels. A text that
 * loads must be usable: its ids decode back to the file (CHARS: exactly,
 * without a byte-order mark), encode again to the same ids with its own
 * vocabulary, split by lines and batch. A mismatch aborts, as a finding. */
#include "fuzz_common.h"

static void check(bool ok)
{
    if (!ok)
        abort();
}

static void use(const ag_text *t, const uint8_t *data, size_t size, ag_text_level level)
{
    const ag_vocab *v = ag_text_vocab(t);
    int64_t n = ag_text_len(t);
    const int64_t *ids = ag_text_ids(t);
    size_t need = ag_vocab_decode_size(v, ids, n);
    check(need > 0);
    char *buf = malloc(need);
    check(buf && ag_vocab_decode(v, ids, n, buf, need));
    size_t skip = size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    if (level == AG_TEXT_CHARS)
        check(need - 1 == size - skip && memcmp(buf, data + skip, size - skip) == 0);
    ag_text *again = ag_text_from_string(buf, need - 1, level, v);
    check(again && ag_text_len(again) == n &&
          memcmp(ag_text_ids(again), ids, (size_t)n * sizeof *ids) == 0);
    ag_text_free(again);
    free(buf);
    ag_text *train = NULL, *test = NULL;
    if (ag_text_split(t, 0.5, 1, &train, &test))
        check(ag_text_len(train) + ag_text_len(test) == n);
    ag_text_free(train);
    ag_text_free(test);
    ag_error_clear();
    ag_text_batches *b = ag_text_batches_new(t, 3, 2, true, 1);
    ag_tensor *x, *y;
    while (b && ag_text_batches_next(b, &x, &y))
        check(ag_dim(x, 0) == 3);
    ag_text_batches_free(b);
    ag_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(".txt");
    if (fuzz_write(path, data, size) != 0)
        return 0;
    for (int level = 0; level < 2; level++) {
        ag_text *t = ag_text_load(path, (ag_text_level)level);
        if (t)
            use(t, data, size, (ag_text_level)level);
        ag_text_free(t);
        ag_error_clear();
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* check-lm.c — a language model's held-out loss and sampling
 * (models/lm.c): ag_lm_evaluate against the cross-entropy written out here
 * from its definition (log-sum-exp of a bigram table, loops over the
 * windows the header describes), a model of zero logits scoring exactly
 * ln V, the windows and calls counted, the caller's tape untouched;
 * ag_lm_generate with models whose next token is known; bad input and
 * every allocation failing in turn. */
#include "harness.h"
#include "testing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A bigram model: logits at a position are row ids[t, n] of table (V, V). */
typedef struct bigram {
    ag_tensor *table;
    int calls;
    int64_t last_T, last_N;
    bool wrong_shape, fail;
} bigram;

static ag_tensor *bigram_logits(void *ctx, ag_tensor *ids)
{
    bigram *m = ctx;
    m->calls++;
    m->last_T = ag_shape(ids)[0];
    m->last_N = ag_shape(ids)[1];
    if (m->fail) {
        ag_error_set(AG_ERR_VALUE, "bigram: planted failure");
        return NULL;
    }
    ag_tensor *z = ag_embedding(ids, m->table);
    return m->wrong_shape ? ag_transpose(z, 0, 1) : z;
}

/* −log softmax(row)[y], by hand. */
static double nll_row(const double *row, int64_t V, int64_t y)
{
    double mx = row[0];
    for (int64_t v = 1; v < V; v++)
        mx = fmax(mx, row[v]);
    double s = 0;
    for (int64_t v = 0; v < V; v++)
        s += exp(row[v] - mx);
    return -(row[y] - mx - log(s));
}

static ag_text *text_of(const char *s)
{
    ag_text *t = ag_text_from_string(s, strlen(s), AG_TEXT_CHARS, NULL);
    ck_assert_msg(t != NULL, "%s", ag_last_error());
    return t;
}

START_TEST(test_evaluate_bigram)
{
    /* 11 tokens, T = 3: windows start at 0, 3, 6 (the window at 9 would
     * need tokens 9..12); N = 2: calls of 2 windows, then 1. */
    ag_text *t = text_of("abcabdacdba");
    const int64_t V = ag_vocab_size(ag_text_vocab(t)), T = 3;
    ck_assert_int_eq(V, 4);
    ag_tensor *table = ag_zeros(AG_F64, 2, H_SHAPE(V, V));
    double *w = ag_data(table);
    for (int64_t i = 0; i < V * V; i++)
        w[i] = sin(1.0 + 0.7 * (double)i) * 2.0;
    bigram m = {.table = table};
    double nats = 0;
    ck_assert_msg(ag_lm_evaluate(bigram_logits, &m, t, T, 2, &nats), "%s", ag_last_error());
    ck_assert_int_eq(m.calls, 2);
    ck_assert_int_eq(m.last_T, T);
    ck_assert_int_eq(m.last_N, 1);

    const int64_t *ids = ag_text_ids(t);
    double want = 0;
    int count = 0;
    for (int64_t s = 0; s + T + 1 <= ag_text_len(t); s += T)
        for (int64_t k = 0; k < T; k++, count++)
            want += nll_row(w + ids[s + k] * V, V, ids[s + k + 1]);
    ck_assert_int_eq(count, 9);
    want /= count;
    ck_assert_msg(fabs(nats - want) <= 1e-14 * want, "%.17g vs %.17g", nats, want);
    ag_tensor_free(table);
    ag_text_free(t);
}
END_TEST

/* Zero logits give every token 1/V: exactly ln V nats, at any size. */
START_TEST(test_evaluate_uniform_large)
{
    int64_t n = h_valgrind() ? 5000 : 200000;
    char *s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    for (int64_t i = 0; i < n; i++)
        s[i] = (char)('a' + (i * 7 + i / 13) % 26);
    s[n] = '\0';
    ag_text *t = text_of(s);
    free(s);
    ag_tensor *table = ag_zeros(AG_F32, 2, H_SHAPE(26, 26));
    bigram m = {.table = table};
    double nats = 0;
    ck_assert_msg(ag_lm_evaluate(bigram_logits, &m, t, 64, 32, &nats), "%s", ag_last_error());
    ck_assert_double_eq_tol(nats, log(26.0), 1e-6);
    int64_t windows = (n - 1) / 64;
    ck_assert_int_eq(m.calls, (int)((windows + 31) / 32));
    ag_tensor_free(table);
    ag_text_free(t);
}
END_TEST

START_TEST(test_evaluate_keeps_caller_tape)
{
    ag_text *t = text_of("abababab");
    ag_tensor *table = ag_zeros(AG_F64, 2, H_SHAPE(2, 2));
    ag_tensor *a = ag_scalar(AG_F64, 3.0);
    ck_assert(ag_set_requires_grad(a, true));
    ag_tensor *mine = ag_mul(a, a); /* an intermediate of the caller's tape */
    size_t before = ag_tape_size(NULL);
    bigram m = {.table = table};
    double nats;
    ck_assert(ag_lm_evaluate(bigram_logits, &m, t, 2, 2, &nats));
    ck_assert_double_eq_tol(nats, log(2.0), 1e-15);
    ck_assert_uint_eq(ag_tape_size(NULL), before);
    ck_assert(ag_grad_mode());
    ck_assert_double_eq(ag_item(mine), 9.0);
    ck_assert(ag_backward(mine));
    ck_assert_double_eq(ag_item(ag_grad_of(a)), 6.0);
    ag_tape_reset(NULL);
    ag_tensor_free(a);
    ag_tensor_free(table);
    ag_text_free(t);
}
END_TEST

START_TEST(test_evaluate_errors)
{
    ag_text *t = text_of("abcabc");
    ag_tensor *table = ag_zeros(AG_F64, 2, H_SHAPE(3, 3));
    bigram m = {.table = table};
    double nats;
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(NULL, &m, t, 2, 2, &nats));
    ck_assert_int_eq(ag_last_status(), AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &m, NULL, 2, 2, &nats));
    ck_assert_int_eq(ag_last_status(), AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &m, t, 2, 2, NULL));
    ck_assert_int_eq(ag_last_status(), AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &m, t, 0, 2, &nats));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &m, t, 2, 0, &nats));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    /* 6 tokens hold no window of 7. */
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &m, t, 6, 1, &nats));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "6 tokens"));
    m.wrong_shape = true; /* logits (n, T, V) */
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &m, t, 2, 1, &nats));
    ck_assert_int_eq(ag_last_status(), AG_ERR_SHAPE);
    ck_assert_msg(strstr(ag_last_error(), "(1,2,3)") && strstr(ag_last_error(), "(2,1,V)"), "%s",
                  ag_last_error());
    m.wrong_shape = false;
    m.fail = true;
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &m, t, 2, 2, &nats));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "planted failure"));
    ck_assert(ag_grad_mode());
    /* A model of fewer classes than the text's ids. */
    ag_tensor *small = ag_zeros(AG_F64, 2, H_SHAPE(3, 2));
    bigram s2 = {.table = small};
    ag_error_clear();
    ck_assert(!ag_lm_evaluate(bigram_logits, &s2, t, 2, 2, &nats));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ag_error_clear();
    ag_tensor_free(small);
    ag_tensor_free(table);
    ag_text_free(t);
}
END_TEST

/* A table whose row v is largest at (v + 1) mod V: from any prompt the
 * argmax walks 0, 1, 2, ... */
static ag_tensor *successor_table(int64_t V)
{
    ag_tensor *table = ag_zeros(AG_F64, 2, H_SHAPE(V, V));
    double *w = ag_data(table);
    for (int64_t v = 0; v < V; v++)
        w[v * V + (v + 1) % V] = 50.0;
    return table;
}

START_TEST(test_generate_successor)
{
    ag_tensor *table = successor_table(5);
    bigram m = {.table = table};
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    int64_t ids[12] = {2};
    ck_assert_msg(ag_lm_generate(bigram_logits, &m, ids, 1, 11, 3, 0.0, 0, &rng), "%s",
                  ag_last_error());
    for (int k = 0; k < 12; k++)
        ck_assert_int_eq(ids[k], (2 + k) % 5);
    ck_assert_int_eq(m.calls, 11);
    ck_assert_int_eq(m.last_T, 3); /* the context: the last 3 tokens */
    ck_assert_int_eq(m.last_N, 1);
    /* top_k 1 is the argmax at any temperature; the prompt is kept. */
    int64_t ids2[6] = {4, 4, 0};
    ck_assert(ag_lm_generate(bigram_logits, &m, ids2, 3, 3, 8, 5.0, 1, &rng));
    const int64_t want[6] = {4, 4, 0, 1, 2, 3};
    for (int k = 0; k < 6; k++)
        ck_assert_int_eq(ids2[k], want[k]);
    ck_assert_int_eq(m.last_T, 5);
    ag_tensor_free(table);
}
END_TEST

/* With equal logits the draws are uniform: each of V ids about n/V times
 * (5 binomial standard deviations). */
START_TEST(test_generate_uniform)
{
    enum { V = 4, N_NEW = 8000 };
    ag_tensor *table = ag_zeros(AG_F64, 2, H_SHAPE(V, V));
    bigram m = {.table = table};
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    int64_t *ids = calloc(N_NEW + 1, sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    ck_assert(ag_lm_generate(bigram_logits, &m, ids, 1, N_NEW, 1, 1.0, 0, &rng));
    int count[V] = {0};
    for (int k = 1; k <= N_NEW; k++) {
        ck_assert(ids[k] >= 0 && ids[k] < V);
        count[ids[k]]++;
    }
    double mean = N_NEW / (double)V, sd = sqrt(N_NEW * 0.25 * 0.75);
    for (int v = 0; v < V; v++)
        ck_assert_msg(fabs(count[v] - mean) <= 5 * sd, "id %d drawn %d times", v, count[v]);
    free(ids);
    ag_tensor_free(table);
}
END_TEST

START_TEST(test_generate_errors)
{
    ag_tensor *table = successor_table(3);
    bigram m = {.table = table};
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    int64_t ids[4] = {0};
    ag_error_clear();
    ck_assert(!ag_lm_generate(NULL, &m, ids, 1, 2, 2, 1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, NULL, 1, 2, 2, 1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, ids, 1, 2, 2, 1.0, 0, NULL));
    ck_assert_int_eq(ag_last_status(), AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, ids, 0, 2, 2, 1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, ids, 1, -1, 2, 1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, ids, 1, 2, 0, 1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, ids, 1, 2, 2, -1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    m.wrong_shape = true;
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, ids, 2, 2, 2, 1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_SHAPE);
    m.wrong_shape = false;
    /* An id of the prompt outside the model's table. */
    int64_t bad[3] = {7};
    ag_error_clear();
    ck_assert(!ag_lm_generate(bigram_logits, &m, bad, 1, 2, 2, 1.0, 0, &rng));
    ck_assert_int_eq(ag_last_status(), AG_ERR_VALUE);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "7"));
    ck_assert(ag_grad_mode());
    ag_error_clear();
    ag_tensor_free(table);
}
END_TEST

static ag_text *oom_text;
static ag_tensor *oom_table;

static bool oom_evaluate(void)
{
    bigram m = {.table = oom_table};
    double nats;
    return ag_lm_evaluate(bigram_logits, &m, oom_text, 2, 2, &nats);
}

static bool oom_generate(void)
{
    bigram m = {.table = oom_table};
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    int64_t ids[5] = {1};
    return ag_lm_generate(bigram_logits, &m, ids, 1, 4, 2, 1.0, 0, &rng);
}

START_TEST(test_out_of_memory)
{
    oom_text = text_of("abcabcab");
    oom_table = successor_table(3);
    const struct {
        const char *name;
        bool (*fn)(void);
    } calls[] = {{"lm_evaluate", oom_evaluate}, {"lm_generate", oom_generate}};
    for (size_t c = 0; c < H_COUNT(calls); c++) {
        long k = 0;
        for (;; k++) {
            ck_assert_msg(k < 10000, "%s never succeeds", calls[c].name);
            ag_error_clear();
            ag_alloc_fail_after(k);
            bool ok = calls[c].fn();
            ag_alloc_fail_after(-1);
            if (ok)
                break;
            ck_assert_msg(ag_last_status() == AG_ERR_NOMEM, "%s with allocation %ld failing: %s: %s",
                          calls[c].name, k, ag_status_str(ag_last_status()), ag_last_error());
            ck_assert(ag_grad_mode());
        }
        ck_assert_msg(k > 0, "%s allocated nothing", calls[c].name);
    }
    ag_error_clear();
    ag_tensor_free(oom_table);
    ag_text_free(oom_text);
}
END_TEST

Suite *lm_suite(void)
{
    Suite *s = suite_create("lm");
    TCase *tc = h_tcase(s, "evaluate", H_TIMEOUT);
    tcase_add_test(tc, test_evaluate_bigram);
    tcase_add_test(tc, test_evaluate_uniform_large);
    tcase_add_test(tc, test_evaluate_keeps_caller_tape);
    tcase_add_test(tc, test_evaluate_errors);
    tc = h_tcase(s, "generate", H_TIMEOUT);
    tcase_add_test(tc, test_generate_successor);
    tcase_add_test(tc, test_generate_uniform);
    tcase_add_test(tc, test_generate_errors);
    tc = h_tcase(s, "out of memory", H_TIMEOUT);
    tcase_add_test(tc, test_out_of_memory);
    return s;
}

H_MAIN(lm_suite)

/* SPDX-License-Identifier: MIT */
/* lm.c — what every language model needs around its expression: its
 * held-out loss over a text, and text drawn from it.
 *
 * Both take the model as a function from token ids (T, N) to logits
 * (T, N, V), so an LSTM, a GPT or anything else a user writes is measured
 * and sampled the same way; the two examples (char_lstm, gpt_words)
 * compare their models with exactly this code. */
#include "op.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mean cross-entropy over the windows [s, s + T] of the text, s = 0, T,
 * 2T, ..., N windows per call of the model. */
bool ag_lm_evaluate(ag_lm_logits_fn logits, void *model, const ag_text *text, int64_t T, int64_t N,
                    double *nats_per_token)
{
    if (!logits || !text || !nats_per_token) {
        ag_error_set(AG_ERR_NULL, "ag_lm_evaluate: logits, text and nats_per_token must not be NULL");
        return false;
    }
    if (T < 1 || N < 1) {
        ag_error_set(AG_ERR_VALUE, "ag_lm_evaluate: T = %lld and N = %lld must be at least 1",
                     (long long)T, (long long)N);
        return false;
    }
    int64_t len = ag_text_len(text);
    const int64_t *tok = ag_text_ids(text);
    int64_t windows = len > T ? (len - 1) / T : 0;
    if (windows < 1) {
        ag_error_set(AG_ERR_VALUE,
                     "ag_lm_evaluate: a text of %lld tokens holds no window of T + 1 = %lld",
                     (long long)len, (long long)(T + 1));
        return false;
    }
    /* A private tape: the caller's intermediates stay valid. */
    ag_tape *tape = ag_tape_new();
    if (!tape)
        return false;
    ag_tape *prev = ag_tape_use(tape);
    bool mode = ag_no_grad_begin();
    bool ok = true;
    double total = 0;
    int64_t count = 0;
    for (int64_t w0 = 0; ok && w0 < windows; w0 += N) {
        int64_t n = windows - w0 < N ? windows - w0 : N;
        ag_tensor *x = ag_zeros(AG_I64, 2, (int64_t[]){T, n});
        ag_tensor *y = ag_zeros(AG_I64, 1, (int64_t[]){T * n});
        if (!x || !y) {
            ag_tensor_free(x);
            ag_tensor_free(y);
            ok = false;
            break;
        }
        int64_t *px = ag_data(x), *py = ag_data(y);
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < n; j++) {
                int64_t s = (w0 + j) * T + t;
                px[t * n + j] = tok[s];
                py[t * n + j] = tok[s + 1];
            }
        ag_tensor *z = logits(model, x);
        if (!z) {
            ok = false;
        } else if (ag_ndim(z) != 3 || ag_shape(z)[0] != T || ag_shape(z)[1] != n) {
            char got[96];
            ag_format_shape(ag_ndim(z), ag_shape(z), got, sizeof got);
            ag_error_set(AG_ERR_SHAPE, "ag_lm_evaluate: the model gave logits %s for ids (%lld,%lld); "
                         "expected (%lld,%lld,V)", got, (long long)T, (long long)n, (long long)T,
                         (long long)n);
            ok = false;
        } else {
            int64_t V = ag_shape(z)[2];
            ag_tensor *ce = ag_cross_entropy(ag_reshape(z, 2, (int64_t[]){T * n, V}), y, AG_REDUCE_SUM);
            if (!ce) {
                ok = false;
            } else {
                total += ag_item(ce);
                count += T * n;
            }
        }
        ag_tensor_free(x);
        ag_tensor_free(y);
        ag_tape_reset(tape);
    }
    ag_grad_mode_set(mode);
    ag_tape_use(prev);
    ag_tape_free(tape);
    if (ok)
        *nats_per_token = total / (double)count;
    return ok;
}

/* Each new token: the model's logits at the last position of the last
 * `context` tokens, drawn from by ag_sample_logits. */
bool ag_lm_generate(ag_lm_logits_fn logits, void *model, int64_t *ids, int64_t n_prompt,
                    int64_t n_new, int64_t context, double temperature, int64_t top_k, ag_rng *rng)
{
    if (!logits || !ids || !rng) {
        ag_error_set(AG_ERR_NULL, "ag_lm_generate: logits, ids and rng must not be NULL");
        return false;
    }
    if (n_prompt < 1 || n_new < 0 || context < 1) {
        ag_error_set(AG_ERR_VALUE,
                     "ag_lm_generate: n_prompt = %lld must be >= 1, n_new = %lld >= 0 and "
                     "context = %lld >= 1",
                     (long long)n_prompt, (long long)n_new, (long long)context);
        return false;
    }
    ag_tape *tape = ag_tape_new();
    if (!tape)
        return false;
    ag_tape *prev = ag_tape_use(tape);
    bool mode = ag_no_grad_begin();
    bool ok = true;
    for (int64_t k = n_prompt; ok && k < n_prompt + n_new; k++) {
        int64_t T = k < context ? k : context;
        ag_tensor *x = ag_zeros(AG_I64, 2, (int64_t[]){T, 1});
        if (!x) {
            ok = false;
            break;
        }
        memcpy(ag_data(x), ids + k - T, (size_t)T * sizeof *ids);
        ag_tensor *z = logits(model, x);
        if (z && (ag_ndim(z) != 3 || ag_shape(z)[0] != T || ag_shape(z)[1] != 1)) {
            char got[96];
            ag_format_shape(ag_ndim(z), ag_shape(z), got, sizeof got);
            ag_error_set(AG_ERR_SHAPE,
                         "ag_lm_generate: the model gave logits %s for ids (%lld,1); expected "
                         "(%lld,1,V)", got, (long long)T, (long long)T);
            z = NULL;
        }
        /* The last position's row, (V). */
        ag_tensor *last = z ? ag_reshape(ag_slice(z, 0, T - 1, T, 1), 1,
                                         (int64_t[]){ag_shape(z)[2]})
                            : NULL;
        int64_t id = last ? ag_sample_logits(last, temperature, top_k, rng) : -1;
        if (id < 0)
            ok = false;
        else
            ids[k] = id;
        ag_tensor_free(x);
        ag_tape_reset(tape);
    }
    ag_grad_mode_set(mode);
    ag_tape_use(prev);
    ag_tape_free(tape);
    return ok;
}

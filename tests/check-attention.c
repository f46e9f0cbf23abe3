/* SPDX-License-Identifier: MIT */
/* check-attention.c — ag_scaled_dot_product_attention (ops/attention.c).
 *
 * Where the expected values come from:
 *   - By hand: with L = S = 2 and E = 1 the scores of query i are q_i k_j,
 *     so each row's weights are the softmax of two numbers, 1/(1 + e^d)
 *     and e^d/(1 + e^d) for d the difference of the scores.
 *   - PyTorch: tests/attention_reference.py writes softmax(q kᵀ/√E + mask) v
 *     out in float64 (PyTorch 1.13 has no F.scaled_dot_product_attention)
 *     and takes the gradients with torch.autograd, on inputs given by
 *     formulas of the flat index; its output is tests/attention_reference.h.
 *   - From the definition: a row with one open position gives exactly that
 *     row of v; a fully blocked row gives zeros (PyTorch gives NaN there).
 *   - A plain loop in this file at a realistic size.
 *   - Finite differences: gradcheck and gradgradcheck in f64. */
#include "harness.h"

#include "attention_reference.h"

#include <math.h>
#include <stdlib.h>

/* Element i of t as a double. */
static double at(const ag_tensor *t, size_t i)
{
    return ag_tensor_dtype(t) == AG_F64 ? ((const double *)ag_data_const(t))[i]
                                    : ((const float *)ag_data_const(t))[i];
}

static ag_tensor *formula(ag_dtype dt, int ndim, const int64_t *shape, int which, bool param)
{
    ag_tensor *t = h_keep(ag_zeros(dt, ndim, shape));
    ck_assert_tensor(t);
    for (size_t i = 0; i < ag_numel(t); i++) {
        double x = (double)i, v;
        switch (which) {
        case 0: v = sin(0.7 * x + 0.3); break;
        case 1: v = cos(0.5 * x + 0.1); break;
        case 2: v = 1.5 * sin(1.3 * x - 0.2); break;
        case 3: v = i % 5 == 3 ? -INFINITY : 0.5 * cos(0.9 * x); break;
        default: v = cos(0.4 * x + 0.2); break;
        }
        if (dt == AG_F64)
            ((double *)ag_data(t))[i] = v;
        else
            ((float *)ag_data(t))[i] = (float)v;
    }
    if (param)
        ck_assert(ag_set_requires_grad(t, true));
    return t;
}

START_TEST(test_hand_values)
{
    ag_tensor *q = h_param(AG_F64, 2, H_SHAPE(2, 1), H_VALS(1, 2));
    ag_tensor *k = h_param(AG_F64, 2, H_SHAPE(2, 1), H_VALS(0, 1));
    ag_tensor *v = h_param(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *o = ag_scaled_dot_product_attention(q, k, v, NULL, false);
    ck_assert_tensor(o);
    ck_assert_shape(o, 2, H_SHAPE(2, 2));
    /* Row 0: scores (0, 1), weights 1/(1+e), e/(1+e); row 1: scores (0, 2). */
    double e1 = exp(1.0), e2 = exp(2.0);
    double w0 = 1 / (1 + e1), w1 = e1 / (1 + e1), u0 = 1 / (1 + e2), u1 = e2 / (1 + e2);
    double want[] = {w0 * 1 + w1 * 3, w0 * 2 + w1 * 4, u0 * 1 + u1 * 3, u0 * 2 + u1 * 4};
    ck_assert_values_f64(o, 4, want);
    /* Causal: row 0 sees key 0 only (v's row 0), row 1 as before. */
    ag_tensor *c = ag_scaled_dot_product_attention(q, k, v, NULL, true);
    ck_assert_tensor(c);
    double want_c[] = {1, 2, want[2], want[3]};
    ck_assert_values_f64(c, 4, want_c);
    /* The causal flag puts no −inf into any op, so anomaly mode (which
     * stops at an Inf an op is given) lets it run, backward too. */
    ag_anomaly_mode_set(true);
    ag_tensor *ca = ag_scaled_dot_product_attention(q, k, v, NULL, true);
    bool ran = ca && ag_backward(ag_sum(ca));
    ag_anomaly_mode_set(false);
    ck_assert_msg(ran, "%s", ag_last_error());
    ck_assert_values_f64(ca, 4, want_c);
    /* An additive mask of (0, −1) on both rows shifts the difference by −1:
     * row 0 scores (0, 0), weights ½ and ½. The scale is 1/√E: with E = 4
     * and q, k of (1,1,1,1)·a the score is a_q a_k·4/2. */
    ag_tensor *m = h_arr(AG_F64, 2, H_SHAPE(1, 2), H_VALS(0, -1));
    ag_tensor *mm = ag_scaled_dot_product_attention(q, k, v, m, false);
    ck_assert_tensor(mm);
    ck_assert_f64(at(mm, 0), 2.0);
    ag_tensor *q4 = h_arr(AG_F64, 2, H_SHAPE(1, 4), H_VALS(1, 1, 1, 1));
    ag_tensor *k4 = h_arr(AG_F64, 2, H_SHAPE(2, 4), H_VALS(0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5));
    ag_tensor *s4 = ag_scaled_dot_product_attention(q4, k4, v, NULL, false);
    ck_assert_tensor(s4);
    double want4[] = {1 / (1 + e1) * 1 + e1 / (1 + e1) * 3, 1 / (1 + e1) * 2 + e1 / (1 + e1) * 4};
    ck_assert_values_f64(s4, 2, want4);
}
END_TEST

typedef struct ref_case {
    const char *name;
    int nb;
    int64_t b[2], L, S, E, Ev;
    int kind; /* 0 none, 1 mask, 2 causal */
    const double *out, *dq, *dk, *dv, *dmask;
} ref_case;

static const ref_case CASES[] = {
    {"plain", 0, {0}, 3, 4, 2, 3, 0, plain_out, plain_dq, plain_dk, plain_dv, NULL},
    {"mask", 0, {0}, 3, 4, 2, 3, 1, mask_out, mask_dq, mask_dk, mask_dv, mask_dmask},
    {"causal", 0, {0}, 4, 4, 3, 2, 2, causal_out, causal_dq, causal_dk, causal_dv, NULL},
    {"causal_wide", 0, {0}, 3, 5, 2, 2, 2, causal_wide_out, causal_wide_dq, causal_wide_dk,
     causal_wide_dv, NULL},
    {"batch", 2, {2, 3}, 3, 5, 4, 2, 0, batch_out, batch_dq, batch_dk, batch_dv, NULL},
    {"batch_mask", 2, {2, 3}, 2, 3, 2, 3, 1, batch_mask_out, batch_mask_dq, batch_mask_dk,
     batch_mask_dv, batch_mask_dmask},
};

static void check_values(const char *what, ag_tensor *t, const double *want, ag_dtype dt)
{
    ck_assert_msg(t != NULL, "%s: no tensor", what);
    double rtol = dt == AG_F64 ? 1e-12 : 1e-5, atol = dt == AG_F64 ? 1e-13 : 2e-6;
    for (size_t i = 0; i < ag_numel(t); i++) {
        double got = at(t, i);
        ck_assert_msg(h_near(got, want[i], rtol, atol), "%s[%zu]: %.17g, PyTorch %.17g", what, i,
                      got, want[i]);
    }
}

START_TEST(test_pytorch_reference)
{
    ag_dtype dt = _i == 0 ? AG_F64 : AG_F32;
    for (size_t c = 0; c < H_COUNT(CASES); c++) {
        const ref_case *r = &CASES[c];
        int n = r->nb + 2;
        int64_t sq[4], sk[4], sv[4];
        for (int i = 0; i < r->nb; i++)
            sq[i] = sk[i] = sv[i] = r->b[i];
        sq[n - 2] = r->L, sq[n - 1] = r->E;
        sk[n - 2] = r->S, sk[n - 1] = r->E;
        sv[n - 2] = r->S, sv[n - 1] = r->Ev;
        ag_tensor *q = formula(dt, n, sq, 0, true), *k = formula(dt, n, sk, 1, true),
                  *v = formula(dt, n, sv, 2, true);
        ag_tensor *mask = r->kind == 1 ? formula(dt, 2, H_SHAPE(r->L, r->S), 3, true) : NULL;
        ag_tensor *o = ag_scaled_dot_product_attention(q, k, v, mask, r->kind == 2);
        ck_assert_tensor(o);
        int64_t so[4];
        memcpy(so, sq, sizeof so);
        so[n - 1] = r->Ev;
        ck_assert_shape(o, n, so);
        ag_tensor *g = formula(dt, n, so, 4, false);
        ck_assert(ag_backward_seed(o, g));
        char what[64];
        snprintf(what, sizeof what, "%s out", r->name);
        check_values(what, o, r->out, dt);
        snprintf(what, sizeof what, "%s dq", r->name);
        check_values(what, ag_grad_of(q), r->dq, dt);
        snprintf(what, sizeof what, "%s dk", r->name);
        check_values(what, ag_grad_of(k), r->dk, dt);
        snprintf(what, sizeof what, "%s dv", r->name);
        check_values(what, ag_grad_of(v), r->dv, dt);
        if (mask) {
            snprintf(what, sizeof what, "%s dmask", r->name);
            check_values(what, ag_grad_of(mask), r->dmask, dt);
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

static bool all_finite(ag_tensor *t)
{
    for (size_t i = 0; i < ag_numel(t); i++)
        if (!isfinite(at(t, i)))
            return false;
    return true;
}

START_TEST(test_blocked_rows)
{
    ag_tensor *q = h_param(AG_F64, 2, H_SHAPE(3, 2), H_VALS(0.3, -0.2, 0.5, 0.1, -0.4, 0.9));
    ag_tensor *k = h_param(AG_F64, 2, H_SHAPE(3, 2), H_VALS(0.7, 0.2, -0.6, 0.8, 0.1, -0.3));
    ag_tensor *v = h_param(AG_F64, 2, H_SHAPE(3, 2), H_VALS(1, -2, 3.5, 4, -5, 6.25));
    /* Row 0 blocked throughout, row 1 open at key 1 only, row 2 open. */
    ag_tensor *m = h_param(AG_F64, 2, H_SHAPE(3, 3),
                           H_VALS(-INFINITY, -INFINITY, -INFINITY, -INFINITY, 0.5, -INFINITY,
                                  0.1, 0.2, 0.3));
    ag_tensor *o = ag_scaled_dot_product_attention(q, k, v, m, false);
    ck_assert_tensor(o);
    const double *y = ag_data_const(o);
    ck_assert(y[0] == 0.0 && y[1] == 0.0);
    ck_assert(y[2] == 3.5 && y[3] == 4.0); /* exactly v's row 1, weight 1 */
    ck_assert(isfinite(y[4]) && isfinite(y[5]));
    ck_assert(ag_backward(ag_sum(o)));
    ag_tensor *gs[] = {q, k, v, m};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(all_finite(ag_grad_of(gs[i])), "gradient %d not finite", i);
    /* Query rows 0 and 1 have no say in their output: zero gradient. */
    for (size_t i = 0; i < 4; i++)
        ck_assert_near(h_grad_at(q, i), 0.0, 0, 1e-15);
    /* Blocked mask entries get no gradient. */
    ck_assert(h_grad_at(m, 0) == 0.0 && h_grad_at(m, 1) == 0.0 && h_grad_at(m, 3) == 0.0);
    /* Every row blocked, in f32 too: zeros. */
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        ag_tensor *a = h_param(dt, 3, H_SHAPE(2, 2, 3), NULL);
        ag_tensor *mb = h_arr(dt, 2, H_SHAPE(1, 2), H_VALS(-INFINITY, -INFINITY));
        ag_tensor *ob = ag_scaled_dot_product_attention(a, a, a, mb, false);
        ck_assert_tensor(ob);
        for (size_t i = 0; i < ag_numel(ob); i++)
            ck_assert(at(ob, i) == 0.0);
        ck_assert(ag_backward(ag_sum(ob)));
        ck_assert(all_finite(ag_grad_of(a)));
    }
}
END_TEST

typedef struct {
    bool causal;
} attn_ctx;

static ag_tensor *f_attn(ag_tensor *const *in, void *ctx)
{
    const attn_ctx *c = ctx;
    return ag_sum(ag_mul(ag_scaled_dot_product_attention(in[0], in[1], in[2], in[3], c->causal),
                         ag_scaled_dot_product_attention(in[0], in[1], in[2], in[3], c->causal)));
}

START_TEST(test_gradcheck)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    ag_tensor *in[4] = {
        h_rand(AG_F64, 3, H_SHAPE(2, 3, 2), -1, 1, &rng),
        h_rand(AG_F64, 3, H_SHAPE(2, 4, 2), -1, 1, &rng),
        h_rand(AG_F64, 3, H_SHAPE(2, 4, 3), -1, 1, &rng),
        NULL,
    };
    for (int i = 0; i < 3; i++)
        ck_assert(ag_set_requires_grad(in[i], true));
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    char buf[2048];
    for (int c = 0; c < 2; c++) {
        attn_ctx ctx = {.causal = c};
        ck_assert_msg(ag_gradcheck(f_attn, &ctx, 3, in, &o, &rep), "causal %d: %s", c,
                      h_report_str(&rep, buf, sizeof buf));
        ck_assert_msg(ag_gradgradcheck(f_attn, &ctx, 3, in, &o, &rep), "causal %d: %s", c,
                      h_report_str(&rep, buf, sizeof buf));
        ag_tape_reset(NULL);
    }
    /* A mask with a blocked position and a fully blocked row, differentiated too. */
    in[3] = h_param(AG_F64, 2, H_SHAPE(3, 4),
                    H_VALS(0.1, -INFINITY, 0.3, -0.2, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                           0.5, 0.0, -0.7, 0.2));
    attn_ctx ctx = {.causal = false};
    ck_assert_msg(ag_gradcheck(f_attn, &ctx, 4, in, &o, &rep), "mask: %s",
                  h_report_str(&rep, buf, sizeof buf));
    ck_assert_msg(ag_gradgradcheck(f_attn, &ctx, 4, in, &o, &rep), "mask: %s",
                  h_report_str(&rep, buf, sizeof buf));
}
END_TEST

START_TEST(test_errors)
{
    ag_tensor *q = h_arr(AG_F64, 3, H_SHAPE(2, 3, 4), NULL);
    ag_tensor *k = h_arr(AG_F64, 3, H_SHAPE(2, 5, 4), NULL);
    ag_tensor *v = h_arr(AG_F64, 3, H_SHAPE(2, 5, 6), NULL);
    ag_tensor *k_e = h_arr(AG_F64, 3, H_SHAPE(2, 5, 3), NULL);
    ag_tensor *v_s = h_arr(AG_F64, 3, H_SHAPE(2, 4, 6), NULL);
    ag_tensor *m_bad = h_arr(AG_F64, 2, H_SHAPE(3, 4), NULL);
    ag_tensor *m_ok = h_arr(AG_F64, 2, H_SHAPE(3, 5), NULL);
    ag_tensor *q_b = h_arr(AG_F64, 3, H_SHAPE(1, 3, 4), NULL);

    ck_assert_ptr_null(ag_scaled_dot_product_attention(q, k_e, v, NULL, false));
    ck_assert_error(AG_ERR_SHAPE, "scaled_dot_product_attention: q (2,3,4) and k (2,5,3)");
    ag_error_clear();
    ck_assert_ptr_null(ag_scaled_dot_product_attention(q, k, v_s, NULL, false));
    ck_assert_error(AG_ERR_SHAPE, "k (2,5,4) and v (2,4,6) differ in the key count S (5 vs 4)");
    ag_error_clear();
    ck_assert_ptr_null(ag_scaled_dot_product_attention(q, k, v, m_bad, false));
    ck_assert_error(AG_ERR_SHAPE, "mask (3,4) does not broadcast to the scores' shape (2,3,5)");
    ag_error_clear();
    ck_assert_ptr_null(ag_scaled_dot_product_attention(q, k, v, m_ok, true));
    ck_assert_error(AG_ERR_VALUE, "scaled_dot_product_attention: both a mask (3,5) and causal");
    ag_error_clear();
    ck_assert_ptr_null(ag_scaled_dot_product_attention(NULL, k, v, NULL, false));
    ck_assert_error(AG_ERR_NULL, "scaled_dot_product_attention");
    ag_error_clear();
    ck_assert_ptr_null(ag_scaled_dot_product_attention(q_b, k, v, NULL, false));
    ck_assert_error(AG_ERR_SHAPE, "batch dimensions of q (1,3,4), k (2,5,4) and v (2,5,6)");
    ag_error_clear();
    ag_tensor *v1 = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_scaled_dot_product_attention(v1, v1, v1, NULL, false));
    ck_assert_error(AG_ERR_SHAPE, "rank of at least 2");
    ag_error_clear();
    ag_tensor *k32 = h_arr(AG_F32, 3, H_SHAPE(2, 5, 4), NULL);
    ck_assert_ptr_null(ag_scaled_dot_product_attention(q, k32, v, NULL, false));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    /* The valid mask of the same call works. */
    ck_assert_tensor(ag_scaled_dot_product_attention(q, k, v, m_ok, false));
}
END_TEST

START_TEST(test_zero_size)
{
    /* No key: every row blocked, zeros; no query or batch: empty results. */
    ag_tensor *q = h_param(AG_F64, 3, H_SHAPE(2, 3, 4), NULL);
    ag_tensor *k0 = h_param(AG_F64, 3, H_SHAPE(2, 0, 4), NULL);
    ag_tensor *v0 = h_param(AG_F64, 3, H_SHAPE(2, 0, 5), NULL);
    ag_tensor *o = ag_scaled_dot_product_attention(q, k0, v0, NULL, true);
    ck_assert_tensor(o);
    ck_assert_shape(o, 3, H_SHAPE(2, 3, 5));
    for (size_t i = 0; i < ag_numel(o); i++)
        ck_assert(at(o, i) == 0.0);
    ck_assert(ag_backward(ag_sum(o)));
    ag_tensor *qb = h_param(AG_F64, 4, H_SHAPE(0, 2, 3, 4), NULL);
    ag_tensor *kb = h_param(AG_F64, 4, H_SHAPE(0, 2, 5, 4), NULL);
    ag_tensor *vb = h_param(AG_F64, 4, H_SHAPE(0, 2, 5, 1), NULL);
    ag_tensor *ob = ag_scaled_dot_product_attention(qb, kb, vb, NULL, false);
    ck_assert_tensor(ob);
    ck_assert_shape(ob, 4, H_SHAPE(0, 2, 3, 1));
    /* E = 0: every score 0, each output row the mean of v's rows. */
    ag_tensor *qe = h_param(AG_F64, 2, H_SHAPE(1, 0), NULL);
    ag_tensor *ke = h_param(AG_F64, 2, H_SHAPE(2, 0), NULL);
    ag_tensor *ve = h_param(AG_F64, 2, H_SHAPE(2, 1), H_VALS(1, 4));
    ag_tensor *oe = ag_scaled_dot_product_attention(qe, ke, ve, NULL, false);
    ck_assert_tensor(oe);
    ck_assert_f64(ag_item(oe), 2.5);
}
END_TEST

/* softmax(q kᵀ/√E, causal) v for one (L, E) head, with plain loops. */
static void attention_loop(const double *q, const double *k, const double *v, int64_t L,
                           int64_t S, int64_t E, int64_t Ev, bool causal, double *out)
{
    double w[256];
    for (int64_t i = 0; i < L; i++) {
        double max = -INFINITY, sum = 0;
        int64_t n = causal ? (i + 1 < S ? i + 1 : S) : S;
        for (int64_t j = 0; j < n; j++) {
            double d = 0;
            for (int64_t e = 0; e < E; e++)
                d += q[i * E + e] * k[j * E + e];
            w[j] = d / sqrt((double)E);
            max = fmax(max, w[j]);
        }
        for (int64_t j = 0; j < n; j++)
            sum += w[j] = exp(w[j] - max);
        for (int64_t c = 0; c < Ev; c++) {
            double acc = 0;
            for (int64_t j = 0; j < n; j++)
                acc += w[j] / sum * v[j * Ev + c];
            out[i * Ev + c] = acc;
        }
    }
}

START_TEST(test_realistic_size)
{
    /* Batch 16, 4 heads, 64 positions, 32 features per head. */
    int64_t N = 16, H = 4, L = 64, E = 32;
    if (h_valgrind())
        N = 2;
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    const int64_t *sh = H_SHAPE(N, H, L, E);
    ag_tensor *q = h_rand(AG_F64, 4, sh, -2, 2, &rng), *k = h_rand(AG_F64, 4, sh, -2, 2, &rng),
              *v = h_rand(AG_F64, 4, sh, -1, 1, &rng);
    ck_assert(ag_set_requires_grad(q, true) && ag_set_requires_grad(k, true) &&
              ag_set_requires_grad(v, true));
    double *want = malloc((size_t)(N * H * L * E) * sizeof *want);
    ck_assert_ptr_nonnull(want);
    for (int c = 0; c < 2; c++) {
        ag_tensor *o = ag_scaled_dot_product_attention(q, k, v, NULL, c);
        ck_assert_tensor(o);
        ck_assert_shape(o, 4, sh);
        const double *qd = ag_data_const(q), *kd = ag_data_const(k), *vd = ag_data_const(v);
        for (int64_t b = 0; b < N * H; b++)
            attention_loop(qd + b * L * E, kd + b * L * E, vd + b * L * E, L, L, E, E, c,
                           want + b * L * E);
        const double *y = ag_data_const(o);
        for (int64_t i = 0; i < N * H * L * E; i++)
            ck_assert_msg(h_near(y[i], want[i], 1e-12, 1e-13), "causal %d [%lld]: %.17g vs %.17g",
                          c, (long long)i, y[i], want[i]);
        ck_assert(ag_backward(ag_sum(o)));
        ck_assert(all_finite(ag_grad_of(q)));
        ag_zero_grad(q), ag_zero_grad(k), ag_zero_grad(v);
        ag_tape_reset(NULL);
    }
    free(want);
}
END_TEST

static Suite *attention_suite(void)
{
    Suite *s = suite_create("attention");
    TCase *tc = h_tcase(s, "values", H_TIMEOUT);
    tcase_add_test(tc, test_hand_values);
    tcase_add_loop_test(tc, test_pytorch_reference, 0, 2);
    tcase_add_test(tc, test_blocked_rows);
    tcase_add_test(tc, test_zero_size);
    tc = h_tcase(s, "gradients", H_TIMEOUT);
    tcase_add_test(tc, test_gradcheck);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_errors);
    tc = h_tcase(s, "size", H_TIMEOUT);
    tcase_add_test(tc, test_realistic_size);
    return s;
}

H_MAIN(attention_suite)

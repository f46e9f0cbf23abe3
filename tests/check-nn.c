/* check-nn.c — softmax, log_softmax and the losses of ops/nn.c:
 * bce_with_logits (mean, sum, none), cross_entropy with i64 labels, nll and
 * mse.
 *
 * Expected values come from the closed forms, computed here with <math.h>:
 * softmax as e^x / Σ e^x, the binary cross-entropy as −[y ln σ(z) +
 * (1 − y) ln(1 − σ(z))] with σ(z) = 1/(1 + e^−z), the cross-entropy as
 * −ln(e^z_label / Σ e^z) — the naive formulas, fine for moderate logits —
 * and their gradients softmax − one_hot and σ(z) − y. For logits of ±1000
 * (where the naive forms overflow) the exact values are worked out by hand
 * in the comments. Both dtypes throughout, but for second derivatives
 * (f64, for the finite differences).
 *
 * cross_entropy and bce_with_logits are primitives (one node each): their
 * kernels must agree with their rules (kernels off), and their rules'
 * second derivatives with closed forms and with central differences of the
 * first derivative. */
#include "harness.h"

#include <float.h>
#include <stdio.h>

static ag_tensor *labels(int n, const int64_t *values)
{
    ag_tensor *t = h_keep(ag_from_array(AG_I64, 1, H_SHAPE(n), values));
    ck_assert_msg(t != NULL, "from_array: %s", ag_last_error());
    return t;
}
#define H_IDX(...) ((const int64_t[]){__VA_ARGS__})

static double sigma(double z)
{
    return 1 / (1 + exp(-z));
}

/* Logits for the moderate tests: (3,4), exact in f32. */
static const double Z34[12] = {0.5, -1.25, 2, 0.75, -0.5, 1.5, -2, 0.25, 3, -3, 1, 0};

/* ---- softmax, log_softmax ---- */

START_TEST(test_softmax_rows)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 4), Z34);
    ag_tensor *s = ag_softmax(x, 1);
    ck_assert_shape(s, 2, H_SHAPE(3, 4));
    double p[12];
    for (int i = 0; i < 3; i++) {
        double sum = 0, rowsum = 0;
        for (int j = 0; j < 4; j++)
            sum += exp(Z34[i * 4 + j]);
        for (int j = 0; j < 4; j++) {
            p[i * 4 + j] = exp(Z34[i * 4 + j]) / sum;
            rowsum += ag_get_flat(s, (size_t)(i * 4 + j));
        }
        /* Four terms in [0, 1] added in double: 1 to rounding of the
         * dtype's values. */
        ck_assert_near(rowsum, 1, h_rtol(dt), 0);
    }
    ck_assert_values(s, 12, p, h_rtol(dt), h_atol(dt));
    /* d Σ w ⊙ softmax / dx = p ⊙ (w − Σ_j p_j w_j) per row. */
    const double w[12] = {1, 2, 3, 4, -1, 0.5, 2, 0, 1, 1, -2, 3};
    ag_tensor *W = h_arr(dt, 2, H_SHAPE(3, 4), w);
    ck_assert(ag_backward(ag_sum(ag_mul(s, W))));
    for (int i = 0; i < 3; i++) {
        double pw = 0;
        for (int j = 0; j < 4; j++)
            pw += p[i * 4 + j] * w[i * 4 + j];
        for (int j = 0; j < 4; j++) {
            size_t k = (size_t)(i * 4 + j);
            ck_assert_near(h_grad_at(x, k), p[k] * (w[k] - pw), h_rtol(dt), h_atol(dt));
        }
    }
    ag_tape_reset(NULL);
    /* Along axis 0 (columns). */
    ag_tensor *c = ag_softmax(x, 0);
    for (int j = 0; j < 4; j++) {
        double sum = 0;
        for (int i = 0; i < 3; i++)
            sum += exp(Z34[i * 4 + j]);
        for (int i = 0; i < 3; i++)
            ck_assert_near(ag_get_flat(c, (size_t)(i * 4 + j)), exp(Z34[i * 4 + j]) / sum,
                           h_rtol(dt), h_atol(dt));
    }
}
END_TEST

START_TEST(test_log_softmax)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 4), Z34);
    ag_tensor *l = ag_log_softmax(x, -1);
    ck_assert_shape(l, 2, H_SHAPE(3, 4));
    double p[12], want[12];
    for (int i = 0; i < 3; i++) {
        double sum = 0;
        for (int j = 0; j < 4; j++)
            sum += exp(Z34[i * 4 + j]);
        for (int j = 0; j < 4; j++) {
            p[i * 4 + j] = exp(Z34[i * 4 + j]) / sum;
            want[i * 4 + j] = log(p[i * 4 + j]);
        }
    }
    ck_assert_values(l, 12, want, h_rtol(dt), h_atol(dt));
    /* d Σ w ⊙ log_softmax / dx = w − p Σ_j w_j per row. */
    const double w[12] = {1, 2, 3, 4, -1, 0.5, 2, 0, 1, 1, -2, 3};
    ag_tensor *W = h_arr(dt, 2, H_SHAPE(3, 4), w);
    ck_assert(ag_backward(ag_sum(ag_mul(l, W))));
    for (int i = 0; i < 3; i++) {
        double sw = 0;
        for (int j = 0; j < 4; j++)
            sw += w[i * 4 + j];
        for (int j = 0; j < 4; j++) {
            size_t k = (size_t)(i * 4 + j);
            ck_assert_near(h_grad_at(x, k), w[k] - p[k] * sw, h_rtol(dt), h_atol(dt));
        }
    }
}
END_TEST

START_TEST(test_softmax_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Rows [1000,-1000], [1000,1000], [-1000,-1000], [-1000, 0]:
     * softmax   [1, e^-2000 = 0], [.5,.5], [.5,.5], [0, 1];
     * log_sm    [0, -2000],       [-ln2, -ln2] twice, [-1000, 0]. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(4, 2), H_VALS(1000, -1000, 1000, 1000, -1000, -1000, -1000, 0));
    ag_tensor *s = ag_softmax(x, 1);
    ag_tensor *l = ag_log_softmax(x, 1);
    ck_assert_values(s, 8, H_VALS(1, 0, 0.5, 0.5, 0.5, 0.5, 0, 1), h_rtol(dt), 0);
    const double want[8] = {0, -2000, -log(2.0), -log(2.0), -log(2.0), -log(2.0), -1000, 0};
    /* Exactly representable (0, -2000, -1000) or ln 2 to the dtype. */
    ck_assert_values(l, 8, want, h_rtol(dt), 0);
    /* d Σ log_softmax ⊙ w / dx with w = e_0 in each row: one_hot − softmax. */
    ag_tensor *w = h_arr(dt, 2, H_SHAPE(4, 2), H_VALS(1, 0, 1, 0, 1, 0, 1, 0));
    ck_assert(ag_backward(ag_sum(ag_mul(l, w))));
    ck_assert_values(ag_grad_of(x), 8, H_VALS(0, 0, 0.5, -0.5, 0.5, -0.5, 1, -1), h_rtol(dt), 0);
}
END_TEST

/* ---- bce_with_logits ---- */

START_TEST(test_bce_with_logits)
{
    ag_dtype dt = H_DTYPES[_i];
    const double z[6] = {-2, -0.5, 0, 0.25, 1.5, 3};
    const double y[6] = {0, 1, 0.5, 1, 0, 0.75};
    double want[6], dz[6], dy[6], sum = 0;
    for (int i = 0; i < 6; i++) {
        double p = sigma(z[i]);
        want[i] = -(y[i] * log(p) + (1 - y[i]) * log(1 - p));
        dz[i] = p - y[i];
        dy[i] = -z[i]; /* d/dy of −[y ln σ + (1−y) ln(1−σ)] = ln(1−σ) − ln σ = −z */
        sum += want[i];
    }
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        ag_tensor *Z = h_param(dt, 2, H_SHAPE(2, 3), z);
        ag_tensor *Y = h_param(dt, 2, H_SHAPE(2, 3), y);
        ag_tensor *L = ag_bce_with_logits(Z, Y, red[r]);
        ck_assert_tensor(L);
        double scale = 1;
        if (red[r] == AG_REDUCE_NONE) {
            ck_assert_shape(L, 2, H_SHAPE(2, 3));
            ck_assert_values(L, 6, want, h_rtol(dt), h_atol(dt));
            L = ag_sum(L);
        } else {
            ck_assert_shape(L, 0, NULL);
            scale = red[r] == AG_REDUCE_MEAN ? 1.0 / 6 : 1;
            ck_assert_near(ag_item(L), sum * scale, h_rtol(dt), h_atol(dt));
        }
        ck_assert(ag_backward(L));
        for (size_t i = 0; i < 6; i++) {
            ck_assert_near(h_grad_at(Z, i), dz[i] * scale, h_rtol(dt), h_atol(dt));
            ck_assert_near(h_grad_at(Y, i), dy[i] * scale, h_rtol(dt), h_atol(dt));
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_bce_with_logits_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    /* ℓ = softplus(z) − z y:
     *   z =  1000, y = 0   -> 1000        z =  1000, y = 1   -> 0
     *   z = -1000, y = 1   -> 1000        z = -1000, y = 0   -> 0
     *   z =  1000, y = 0.5 -> 500         z = -1000, y = 0.5 -> 500
     * (softplus(±1000) = 1000 or 0 exactly, see check-elementwise). */
    ag_tensor *Z = h_param(dt, 1, H_SHAPE(6), H_VALS(1000, 1000, -1000, -1000, 1000, -1000));
    ag_tensor *Y = h_arr(dt, 1, H_SHAPE(6), H_VALS(0, 1, 1, 0, 0.5, 0.5));
    ag_tensor *L = ag_bce_with_logits(Z, Y, AG_REDUCE_NONE);
    ck_assert_values(L, 6, H_VALS(1000, 0, 1000, 0, 500, 500), 0, 0);
    ag_tensor *S = ag_bce_with_logits(Z, Y, AG_REDUCE_SUM);
    ck_assert_near(ag_item(S), 3000, 0, 0);
    ag_tensor *M = ag_bce_with_logits(Z, Y, AG_REDUCE_MEAN);
    ck_assert_near(ag_item(M), 500, h_rtol(dt), 0);
    /* σ(z) − y: σ(1000) = 1 and σ(-1000) = 0 exactly in both dtypes. */
    ck_assert(ag_backward(S));
    ck_assert_values(ag_grad_of(Z), 6, H_VALS(1, 0, -1, 0, 0.5, -0.5), 0, 0);
}
END_TEST

/* ---- cross_entropy, nll ---- */

START_TEST(test_cross_entropy)
{
    ag_dtype dt = H_DTYPES[_i];
    const int64_t lab[3] = {2, 0, 3};
    double loss[3], sm[12], total = 0;
    for (int i = 0; i < 3; i++) {
        double sum = 0;
        for (int j = 0; j < 4; j++)
            sum += exp(Z34[i * 4 + j]);
        for (int j = 0; j < 4; j++)
            sm[i * 4 + j] = exp(Z34[i * 4 + j]) / sum;
        loss[i] = -log(exp(Z34[i * 4 + lab[i]]) / sum);
        total += loss[i];
    }
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 4), Z34);
        ag_tensor *L = ag_cross_entropy(x, labels(3, lab), red[r]);
        ck_assert_tensor(L);
        double scale = 1;
        if (red[r] == AG_REDUCE_NONE) {
            ck_assert_shape(L, 1, H_SHAPE(3));
            ck_assert_values(L, 3, loss, h_rtol(dt), h_atol(dt));
            L = ag_sum(L);
        } else {
            ck_assert_shape(L, 0, NULL);
            scale = red[r] == AG_REDUCE_MEAN ? 1.0 / 3 : 1; /* mean over the N rows */
            ck_assert_near(ag_item(L), total * scale, h_rtol(dt), h_atol(dt));
        }
        /* (softmax − one_hot) · scale */
        ck_assert(ag_backward(L));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++) {
                size_t k = (size_t)(i * 4 + j);
                double want = (sm[k] - (j == lab[i] ? 1 : 0)) * scale;
                ck_assert_near(h_grad_at(x, k), want, h_rtol(dt), h_atol(dt));
            }
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_cross_entropy_extremes)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Rows [1000,-1000] label 1 -> logsumexp − z_1 = 1000 + 1000 = 2000;
     * [1000,-1000] label 0 -> 0; [-1000,1000] label 1 -> 0;
     * [1000,1000] label 0 -> ln 2; [-1000,-1000] label 1 -> ln 2. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(5, 2),
                           H_VALS(1000, -1000, 1000, -1000, -1000, 1000, 1000, 1000, -1000, -1000));
    ag_tensor *lab = labels(5, H_IDX(1, 0, 1, 0, 1));
    ag_tensor *L = ag_cross_entropy(x, lab, AG_REDUCE_NONE);
    const double want[5] = {2000, 0, 0, log(2.0), log(2.0)};
    ck_assert_values(L, 5, want, h_rtol(dt), 0);
    ck_assert(ag_backward(ag_sum(L)));
    /* softmax − one_hot: [1,-1], [0,0], [0,0], [-.5,.5], [.5,-.5]. */
    ck_assert_values(ag_grad_of(x), 10, H_VALS(1, -1, 0, 0, 0, 0, -0.5, 0.5, 0.5, -0.5),
                     h_rtol(dt), 0);
    ag_tape_reset(NULL);
    ag_zero_grad(x);
    ag_tensor *M = ag_cross_entropy(x, lab, AG_REDUCE_MEAN);
    ck_assert_near(ag_item(M), (2000 + 2 * log(2.0)) / 5, h_rtol(dt), 0);
    ag_tensor *N = ag_nll(ag_log_softmax(x, 1), lab, AG_REDUCE_SUM);
    ck_assert_near(ag_item(N), 2000 + 2 * log(2.0), h_rtol(dt), 0);
}
END_TEST

START_TEST(test_nll)
{
    ag_dtype dt = H_DTYPES[_i];
    /* Any scores: ℓ_i = −logp[i, label_i]. logp = [[-1,-2,-3],[-0.5,-4,-0.25]]. */
    ag_tensor *lp = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(-1, -2, -3, -0.5, -4, -0.25));
    ag_tensor *lab = labels(2, H_IDX(1, 2));
    ag_tensor *L = ag_nll(lp, lab, AG_REDUCE_NONE);
    ck_assert_shape(L, 1, H_SHAPE(2));
    ck_assert_values(L, 2, H_VALS(2, 0.25), 0, 0);
    ag_tensor *M = ag_nll(lp, lab, AG_REDUCE_MEAN);
    ck_assert_values(M, 1, H_VALS(1.125), 0, 0);
    ck_assert(ag_backward(M));
    /* −1/N at each label's position. */
    ck_assert_values(ag_grad_of(lp), 6, H_VALS(0, -0.5, 0, 0, 0, -0.5), 0, 0);
    ag_tape_reset(NULL);
    ag_zero_grad(lp);
    ag_tensor *S = ag_nll(lp, lab, AG_REDUCE_SUM);
    ck_assert_values(S, 1, H_VALS(2.25), 0, 0);
    ck_assert(ag_backward(S));
    ck_assert_values(ag_grad_of(lp), 6, H_VALS(0, -1, 0, 0, 0, -1), 0, 0);
}
END_TEST

/* ---- mse ---- */

START_TEST(test_mse)
{
    ag_dtype dt = H_DTYPES[_i];
    /* pred (2,3), target (3) broadcast over the rows. */
    const double p[6] = {1, 2, 3, -1, 0.5, 4};
    const double t[3] = {0.5, 2, -1};
    double want[6], total = 0;
    for (int i = 0; i < 6; i++) {
        want[i] = (p[i] - t[i % 3]) * (p[i] - t[i % 3]);
        total += want[i];
    }
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        ag_tensor *P = h_param(dt, 2, H_SHAPE(2, 3), p);
        ag_tensor *T = h_param(dt, 1, H_SHAPE(3), t);
        ag_tensor *L = ag_mse(P, T, red[r]);
        ck_assert_tensor(L);
        double scale = 1;
        if (red[r] == AG_REDUCE_NONE) {
            ck_assert_shape(L, 2, H_SHAPE(2, 3));
            ck_assert_values(L, 6, want, h_rtol(dt), h_atol(dt));
            L = ag_sum(L);
        } else {
            scale = red[r] == AG_REDUCE_MEAN ? 1.0 / 6 : 1;
            ck_assert_near(ag_item(L), total * scale, h_rtol(dt), h_atol(dt));
        }
        ck_assert(ag_backward(L));
        /* dP = 2(p − t)·scale; dT = −Σ_rows 2(p − t)·scale. */
        for (int i = 0; i < 6; i++)
            ck_assert_near(h_grad_at(P, (size_t)i), 2 * (p[i] - t[i % 3]) * scale, h_rtol(dt),
                           h_atol(dt));
        for (int j = 0; j < 3; j++)
            ck_assert_near(h_grad_at(T, (size_t)j),
                           -2 * ((p[j] - t[j]) + (p[3 + j] - t[j])) * scale, h_rtol(dt),
                           h_atol(dt));
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- gradient checks ---- */

typedef struct loss_ctx {
    ag_tensor *labels;
    ag_reduction r;
} loss_ctx;

static ag_tensor *f_ce(ag_tensor *const *in, void *ctx)
{
    const loss_ctx *c = ctx;
    return ag_cross_entropy(in[0], c->labels, c->r);
}

static ag_tensor *f_bce(ag_tensor *const *in, void *ctx)
{
    const loss_ctx *c = ctx;
    return ag_bce_with_logits(in[0], in[1], c->r);
}

static ag_tensor *f_mse(ag_tensor *const *in, void *ctx)
{
    const loss_ctx *c = ctx;
    return ag_mse(in[0], in[1], c->r);
}

static ag_tensor *f_softmax_mix(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_add(ag_softmax(in[0], 0), ag_log_softmax(in[0], 1));
}

START_TEST(test_gradcheck_losses)
{
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ag_rng rng;
        ag_rng_seed(&rng, seed);
        for (int r = 0; r < 3; r++) {
            loss_ctx c = {labels(4, H_IDX(3, 0, 2, 3)), (ag_reduction)r};
            ag_tensor *z = h_rand(AG_F64, 2, H_SHAPE(4, 5), -3, 3, &rng);
            ck_assert(ag_set_requires_grad(z, true));
            ck_assert_gradcheck(f_ce, &c, 1, &z);
            ag_tensor *zy[2] = {h_rand(AG_F64, 2, H_SHAPE(3, 2), -3, 3, &rng),
                                h_rand(AG_F64, 2, H_SHAPE(3, 2), 0, 1, &rng)};
            ck_assert(ag_set_requires_grad(zy[0], true));
            ck_assert(ag_set_requires_grad(zy[1], true));
            ck_assert_gradcheck(f_bce, &c, 2, zy);
            /* mse with a broadcasting target of size-1 dimensions. */
            ag_tensor *pt[2] = {h_rand(AG_F64, 3, H_SHAPE(2, 1, 3), -2, 2, &rng),
                                h_rand(AG_F64, 2, H_SHAPE(4, 1), -2, 2, &rng)};
            ck_assert(ag_set_requires_grad(pt[0], true));
            ck_assert(ag_set_requires_grad(pt[1], true));
            ck_assert_gradcheck(f_mse, &c, 2, pt);
        }
        ag_tensor *x = h_rand(AG_F64, 2, H_SHAPE(3, 4), -3, 3, &rng);
        ck_assert(ag_set_requires_grad(x, true));
        ck_assert_gradcheck(f_softmax_mix, NULL, 1, &x);
    }
}
END_TEST

/* ---- cross_entropy and bce_with_logits as primitives ----
 *
 * Each is one node; its kernel (first-order sweeps) and its rule (written
 * with ops: create_graph, hooks, kernels off) must give the same gradient,
 * and the rule must differentiate correctly once more. */

static void grad_into(const ag_tensor *x, double *out)
{
    ag_tensor *g = ag_grad_of(x);
    for (size_t i = 0; i < ag_numel(x); i++)
        out[i] = g ? ag_get_flat(g, i) : 0.0;
}

START_TEST(test_losses_are_one_node)
{
    ag_dtype dt = H_DTYPES[_i];
    /* z = [[1, 2, 0.5], [-1, 0, 3]], labels [1, 2]:
     *   ℓ_0 = ln(e + e² + e^0.5) − 2,  ℓ_1 = ln(e^-1 + 1 + e³) − 3,
     * and d mean / dz = (softmax − one_hot) / 2. */
    const double z[6] = {1, 2, 0.5, -1, 0, 3};
    double s0 = exp(1.0) + exp(2.0) + exp(0.5), s1 = exp(-1.0) + 1 + exp(3.0);
    double l0 = log(s0) - 2, l1 = log(s1) - 3;
    const double dz[6] = {exp(1.0) / s0 / 2,  (exp(2.0) / s0 - 1) / 2, exp(0.5) / s0 / 2,
                          exp(-1.0) / s1 / 2, 1 / s1 / 2,              (exp(3.0) / s1 - 1) / 2};
    ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 3), z);
    ag_tensor *lab = labels(2, H_IDX(1, 2));
    size_t before = ag_tape_size(NULL);
    ag_tensor *L = ag_cross_entropy(x, lab, AG_REDUCE_MEAN);
    ck_assert_tensor(L);
    ck_assert_shape(L, 0, NULL);
    ck_assert_uint_eq(ag_tape_size(NULL), before + 1);
    ck_assert_str_eq(ag_op_info(ag_node_op(L))->name, "cross_entropy");
    ck_assert_int_eq(ag_node_n_inputs(L), 2); /* the logits, then the labels */
    ck_assert_ptr_eq(ag_node_input(L, 1), lab);
    ck_assert_near(ag_item(L), (l0 + l1) / 2, h_rtol(dt), h_atol(dt));
    ck_assert(ag_backward(L));
    ck_assert_values(ag_grad_of(x), 6, dz, h_rtol(dt), h_atol(dt));
    ck_assert(!ag_requires_grad(lab));
    ag_tape_reset(NULL);

    /* Outside grad mode: the same values, nothing recorded. */
    bool mode = ag_no_grad_begin();
    ag_tensor *N = ag_cross_entropy(x, lab, AG_REDUCE_NONE);
    ag_grad_mode_set(mode);
    ck_assert_uint_eq(ag_tape_size(NULL), 0);
    ck_assert_values(N, 2, H_VALS(l0, l1), h_rtol(dt), h_atol(dt));
    ag_tape_reset(NULL);

    /* bce_with_logits: one node with both inputs. */
    const double y[6] = {0, 1, 0.25, 1, 0.5, 0};
    ag_tensor *Y = h_param(dt, 2, H_SHAPE(2, 3), y);
    ag_zero_grad(x);
    ag_tensor *B = ag_bce_with_logits(x, Y, AG_REDUCE_SUM);
    ck_assert_tensor(B);
    ck_assert_uint_eq(ag_tape_size(NULL), 1);
    ck_assert_str_eq(ag_op_info(ag_node_op(B))->name, "bce_with_logits");
    ck_assert_int_eq(ag_node_n_inputs(B), 2);
    double sum = 0;
    for (int i = 0; i < 6; i++)
        sum += log(1 + exp(z[i])) - z[i] * y[i];
    ck_assert_near(ag_item(B), sum, h_rtol(dt), h_atol(dt));
    ag_tape_reset(NULL);

    /* The same tensor as logits and targets: ℓ = softplus(x) − x², whose
     * gradient σ(x) − 2x sums both of the rule's terms. */
    ag_zero_grad(x);
    ck_assert(ag_backward(ag_bce_with_logits(x, x, AG_REDUCE_SUM)));
    for (size_t i = 0; i < 6; i++)
        ck_assert_near(h_grad_at(x, i), sigma(z[i]) - 2 * z[i], h_rtol(dt), h_atol(dt));
}
END_TEST

START_TEST(test_cross_entropy_large_logits)
{
    ag_dtype dt = H_DTYPES[_i];
    /* With S = 1 + e^-1 + e^-2 (every shift z − max is an exact integer):
     *   [1000, 999, 998] label 1:     ℓ = ln S + 1, softmax [1, e^-1, e^-2]/S
     *   [-1000, -999, -1001] label 0: ℓ = ln S + 1, softmax [e^-1, 1, e^-2]/S
     *   [1000, -1000, 0] label 2:     ℓ = ln(1 + e^-2000 + e^-1000) + 1000 = 1000,
     *                                 softmax [1, 0, 0] (e^-1000 underflows). */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 3),
                           H_VALS(1000, 999, 998, -1000, -999, -1001, 1000, -1000, 0));
    ag_tensor *lab = labels(3, H_IDX(1, 0, 2));
    double S = 1 + exp(-1.0) + exp(-2.0);
    const double loss[3] = {log(S) + 1, log(S) + 1, 1000};
    const double p[9] = {1 / S, exp(-1.0) / S, exp(-2.0) / S, exp(-1.0) / S, 1 / S,
                         exp(-2.0) / S, 1, 0, 0};
    const double oh[9] = {0, 1, 0, 1, 0, 0, 0, 0, 1};
    const double w[3] = {0.5, -2, 3};
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        ag_zero_grad(x);
        ag_tensor *L = ag_cross_entropy(x, lab, red[r]);
        ck_assert_tensor(L);
        double scale[3] = {1, 1, 1};
        if (red[r] == AG_REDUCE_NONE) {
            ck_assert_values(L, 3, loss, h_rtol(dt), 0);
            /* Row weights through the seed: row i's gradient is w_i times its own. */
            ck_assert(ag_backward_seed(L, h_arr(dt, 1, H_SHAPE(3), w)));
            memcpy(scale, w, sizeof scale);
        } else {
            double total = loss[0] + loss[1] + loss[2];
            double k = red[r] == AG_REDUCE_MEAN ? 1.0 / 3 : 1;
            ck_assert_near(ag_item(L), total * k, h_rtol(dt), 0);
            scale[0] = scale[1] = scale[2] = k;
            ck_assert(ag_backward(L));
        }
        for (size_t k = 0; k < 9; k++) {
            double g = h_grad_at(x, k);
            ck_assert_msg(isfinite(g), "gradient %zu is %g", k, g);
            ck_assert_near(g, (p[k] - oh[k]) * scale[k / 3], h_rtol(dt), h_atol(dt));
        }
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_bce_large_logits_seeded)
{
    ag_dtype dt = H_DTYPES[_i];
    /* ℓ = softplus(z) − z y, dz = w (σ(z) − y), dy = −w z for seed w:
     *   z = 1000,  y = 0.25: ℓ = 750,  σ = 1
     *   z = -1000, y = 0.75: ℓ = 750,  σ = 0
     *   z = 999.5, y = 1:    ℓ = 0,    σ = 1 (softplus(999.5) = 999.5 exactly)
     *   z = -0.25, y = 0.5:  ℓ = ln(1 + e^-0.25) + 0.125. */
    const double z[4] = {1000, -1000, 999.5, -0.25}, y[4] = {0.25, 0.75, 1, 0.5};
    const double w[4] = {1, -2, 0.5, 3};
    const double loss[4] = {750, 750, 0, log(1 + exp(-0.25)) + 0.125};
    const double sg[4] = {1, 0, 1, sigma(-0.25)};
    ag_tensor *Z = h_param(dt, 1, H_SHAPE(4), z);
    ag_tensor *Y = h_param(dt, 1, H_SHAPE(4), y);
    ag_tensor *L = ag_bce_with_logits(Z, Y, AG_REDUCE_NONE);
    ck_assert_values(L, 4, loss, h_rtol(dt), 0);
    ck_assert(ag_backward_seed(L, h_arr(dt, 1, H_SHAPE(4), w)));
    for (size_t i = 0; i < 4; i++) {
        ck_assert_near(h_grad_at(Z, i), w[i] * (sg[i] - y[i]), h_rtol(dt), h_atol(dt));
        ck_assert_near(h_grad_at(Y, i), -w[i] * z[i], h_rtol(dt), 0);
    }
}
END_TEST

START_TEST(test_losses_empty_batch)
{
    ag_dtype dt = H_DTYPES[_i];
    /* No rows: the sum is 0, the mean 0/0 = NaN (as numpy's), the per-row
     * losses an empty (0); the backward sweep gives empty gradients. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(0, 3), NULL);
    ag_tensor *lab = h_keep(ag_zeros(AG_I64, 1, H_SHAPE(0)));
    ag_tensor *S = ag_cross_entropy(x, lab, AG_REDUCE_SUM);
    ck_assert_tensor(S);
    ck_assert_near(ag_item(S), 0, 0, 0);
    ck_assert(ag_backward(S));
    ck_assert_shape(ag_grad_of(x), 2, H_SHAPE(0, 3));
    ck_assert(isnan(ag_item(ag_cross_entropy(x, lab, AG_REDUCE_MEAN))));
    ck_assert_shape(ag_cross_entropy(x, lab, AG_REDUCE_NONE), 1, H_SHAPE(0));
    ag_tensor *t = h_param(dt, 2, H_SHAPE(0, 3), NULL);
    ag_tensor *M = ag_bce_with_logits(x, t, AG_REDUCE_MEAN);
    ck_assert_tensor(M);
    ck_assert(isnan(ag_item(M)));
    ck_assert(ag_backward(M));
    ck_assert_shape(ag_grad_of(t), 2, H_SHAPE(0, 3));
    ck_assert_shape(ag_bce_with_logits(x, t, AG_REDUCE_NONE), 2, H_SHAPE(0, 3));
    /* No classes is an error, even with no rows to label. */
    ck_assert_ptr_null(ag_cross_entropy(h_arr(dt, 2, H_SHAPE(0, 0), NULL), lab, AG_REDUCE_SUM));
    ck_assert_error(AG_ERR_SHAPE, "cross_entropy");
    ck_assert_error(AG_ERR_SHAPE, "(0,0)");
    ag_error_clear();
}
END_TEST

/* The first derivative of <loss, w> (w = 1 for a reduced loss) at x, from
 * a plain first-order sweep (the kernels), into out. */
static void ce_first(const double *xv, ag_tensor *lab, ag_reduction r, const double *w,
                     double *out)
{
    ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(3, 4), xv);
    ag_tensor *L = ag_cross_entropy(x, lab, r);
    ck_assert_tensor(L);
    ck_assert(w ? ag_backward_seed(L, h_arr(AG_F64, 1, H_SHAPE(3), w)) : ag_backward(L));
    grad_into(x, out);
    ag_tape_reset(NULL);
}

START_TEST(test_cross_entropy_second_order)
{
    /* H v for the Hessian of <ℓ, w> (ℓ reduced or per row with weights w):
     * per row i, with s_i its weight (w_i, 1 or 1/N) and p_i its softmax,
     * s_i (p_i ⊙ v_i − p_i (p_i · v_i)). Checked against that closed form
     * and against central differences of the first derivative. */
    const int64_t lab_v[3] = {2, 0, 3};
    const double v[12] = {0.5, -1, 0.25, 2, -0.75, 1.5, 1, -0.5, 0.3, 0.2, -1.2, 0.9};
    const double w[3] = {0.5, -1.5, 2};
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    ag_tensor *lab = labels(3, lab_v);
    for (int r = 0; r < 3; r++) {
        bool none = red[r] == AG_REDUCE_NONE;
        double s[3];
        for (int i = 0; i < 3; i++)
            s[i] = none ? w[i] : red[r] == AG_REDUCE_MEAN ? 1.0 / 3 : 1;
        double want[12];
        for (int i = 0; i < 3; i++) {
            double sum = 0, p[4], pv = 0;
            for (int j = 0; j < 4; j++)
                sum += exp(Z34[i * 4 + j]);
            for (int j = 0; j < 4; j++) {
                p[j] = exp(Z34[i * 4 + j]) / sum;
                pv += p[j] * v[i * 4 + j];
            }
            for (int j = 0; j < 4; j++)
                want[i * 4 + j] = s[i] * (p[j] * v[i * 4 + j] - p[j] * pv);
        }
        /* H v from the rule, differentiated through a create_graph sweep. */
        ag_tensor *x = h_param(AG_F64, 2, H_SHAPE(3, 4), Z34);
        ag_tensor *L = ag_cross_entropy(x, lab, red[r]);
        ag_tensor *seed = none ? h_arr(AG_F64, 1, H_SHAPE(3), w) : NULL, *g, *hv;
        ck_assert_tensor(L);
        ck_assert_msg(ag_grad(1, &L, &seed, 1, &x, AG_GRAD_CREATE_GRAPH, &g), "%s",
                      ag_last_error());
        ag_tensor *gv = ag_sum(ag_mul(g, h_arr(AG_F64, 2, H_SHAPE(3, 4), v)));
        ck_assert_msg(ag_grad(1, &gv, NULL, 1, &x, 0, &hv), "%s", ag_last_error());
        ck_assert_values(hv, 12, want, H_RTOL_F64, H_ATOL_F64);
        ag_tape_reset(NULL);
        /* Central differences of the kernels' first derivative along v. */
        const double eps = 1e-5;
        double xp[12], xm[12], gp[12], gm[12];
        for (int k = 0; k < 12; k++) {
            xp[k] = Z34[k] + eps * v[k];
            xm[k] = Z34[k] - eps * v[k];
        }
        ce_first(xp, lab, red[r], none ? w : NULL, gp);
        ce_first(xm, lab, red[r], none ? w : NULL, gm);
        for (int k = 0; k < 12; k++)
            ck_assert_near((gp[k] - gm[k]) / (2 * eps), want[k], H_GRAD_RTOL, H_GRAD_ATOL);
    }
}
END_TEST

/* The first derivatives of <bce, w> in z and y, from the kernels. */
static void bce_first(const double *zv, const double *yv, ag_reduction r, const double *w,
                      double *gz, double *gy)
{
    ag_tensor *z = h_param(AG_F64, 2, H_SHAPE(2, 3), zv);
    ag_tensor *y = h_param(AG_F64, 2, H_SHAPE(2, 3), yv);
    ag_tensor *L = ag_bce_with_logits(z, y, r);
    ck_assert_tensor(L);
    ck_assert(w ? ag_backward_seed(L, h_arr(AG_F64, 2, H_SHAPE(2, 3), w)) : ag_backward(L));
    grad_into(z, gz);
    grad_into(y, gy);
    ag_tape_reset(NULL);
}

START_TEST(test_bce_second_order)
{
    /* The Hessian of <ℓ, w> in (z, y) is, per element with weight s (w, 1
     * or 1/n): ∂²/∂z² = s σ(z)(1 − σ(z)), ∂²/∂z∂y = −s, ∂²/∂y² = 0. Its
     * product with (u, v) is (s σ'(z) u − s v, −s u): against the rule
     * differentiated twice, and against central differences of the
     * kernels' first derivative. */
    const double z[6] = {-2, -0.5, 0.3, 0.25, 1.5, 3};
    const double y[6] = {0, 1, 0.5, 0.2, 0.9, 0.75};
    const double u[6] = {0.5, -1, 0.25, 2, -0.75, 1.5};
    const double v[6] = {1, -0.5, 0.3, 0.2, -1.2, 0.9};
    const double w[6] = {0.5, -1.5, 2, 1, -0.25, 0.75};
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int r = 0; r < 3; r++) {
        bool none = red[r] == AG_REDUCE_NONE;
        double hz[6], hy[6];
        for (int i = 0; i < 6; i++) {
            double s = none ? w[i] : red[r] == AG_REDUCE_MEAN ? 1.0 / 6 : 1;
            double p = sigma(z[i]);
            hz[i] = s * p * (1 - p) * u[i] - s * v[i];
            hy[i] = -s * u[i];
        }
        ag_tensor *in[2] = {h_param(AG_F64, 2, H_SHAPE(2, 3), z),
                            h_param(AG_F64, 2, H_SHAPE(2, 3), y)};
        ag_tensor *L = ag_bce_with_logits(in[0], in[1], red[r]);
        ag_tensor *seed = none ? h_arr(AG_F64, 2, H_SHAPE(2, 3), w) : NULL, *g[2], *h[2];
        ck_assert_tensor(L);
        ck_assert_msg(ag_grad(1, &L, &seed, 2, in, AG_GRAD_CREATE_GRAPH, g), "%s",
                      ag_last_error());
        ag_tensor *dot = ag_add(ag_sum(ag_mul(g[0], h_arr(AG_F64, 2, H_SHAPE(2, 3), u))),
                                ag_sum(ag_mul(g[1], h_arr(AG_F64, 2, H_SHAPE(2, 3), v))));
        ck_assert_msg(ag_grad(1, &dot, NULL, 2, in, 0, h), "%s", ag_last_error());
        ck_assert_values(h[0], 6, hz, H_RTOL_F64, H_ATOL_F64);
        ck_assert_values(h[1], 6, hy, H_RTOL_F64, H_ATOL_F64);
        ag_tape_reset(NULL);
        const double eps = 1e-5;
        double zp[6], zm[6], yp[6], ym[6], gzp[6], gzm[6], gyp[6], gym[6];
        for (int i = 0; i < 6; i++) {
            zp[i] = z[i] + eps * u[i];
            zm[i] = z[i] - eps * u[i];
            yp[i] = y[i] + eps * v[i];
            ym[i] = y[i] - eps * v[i];
        }
        bce_first(zp, yp, red[r], none ? w : NULL, gzp, gyp);
        bce_first(zm, ym, red[r], none ? w : NULL, gzm, gym);
        for (int i = 0; i < 6; i++) {
            ck_assert_near((gzp[i] - gzm[i]) / (2 * eps), hz[i], H_GRAD_RTOL, H_GRAD_ATOL);
            ck_assert_near((gyp[i] - gym[i]) / (2 * eps), hy[i], H_GRAD_RTOL, H_GRAD_ATOL);
        }
    }
}
END_TEST

/* Gradients of x (and t, for bce) with the kernels on or off, in three
 * situations the kernel writes differently: into a leaf's gradient (two
 * sweeps, so the second adds to the first), into a fresh buffer for an
 * intermediate, and adding to an intermediate's gradient that another
 * consumer gave it first. The kernel setting is restored before any
 * assertion can leave the test. */
static bool loss_grads(bool ce, int variant, bool kernels, ag_tensor *x, ag_tensor *t,
                       ag_tensor *lab, ag_reduction r, ag_tensor *w, double *gx, double *gt)
{
    bool prev = ag_set_grad_kernels(kernels);
    ag_zero_grad(x);
    ag_zero_grad(t);
    bool ok;
    if (variant == 0) {
        ag_tensor *L = ce ? ag_cross_entropy(x, lab, r) : ag_bce_with_logits(x, t, r);
        ok = L && (w ? ag_backward_seed(L, w) && ag_backward_seed(L, w)
                     : ag_backward(L) && ag_backward(L));
    } else {
        ag_tensor *z = ag_mul_scalar(x, 1.5), *tz = ag_mul_scalar(t, 0.5);
        ag_tensor *L = ce ? ag_cross_entropy(z, lab, r) : ag_bce_with_logits(z, tz, r);
        if (w)
            L = ag_sum(ag_mul(L, w));
        if (variant == 2)
            L = ag_add(L, ag_add(ag_sum(ag_square(z)), ag_sum(ag_square(tz))));
        ok = L && ag_backward(L);
    }
    grad_into(x, gx);
    grad_into(t, gt);
    ag_tape_reset(NULL);
    ag_set_grad_kernels(prev);
    return ok;
}

START_TEST(test_kernels_match_rules)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    /* Logits of moderate size, one row shifted far out (the softmax of a
     * shifted row must be formed as the rule forms it). */
    ag_tensor *x = h_rand(dt, 2, H_SHAPE(4, 5), -4, 4, &rng);
    for (size_t k = 5; k < 10; k++)
        ag_set_flat(x, k, ag_get_flat(x, k) + 900);
    ag_tensor *t = h_rand(dt, 2, H_SHAPE(4, 5), 0, 1, &rng);
    ck_assert(ag_set_requires_grad(x, true));
    ck_assert(ag_set_requires_grad(t, true));
    ag_tensor *lab = labels(4, H_IDX(4, 0, 2, 2));
    const ag_reduction red[3] = {AG_REDUCE_NONE, AG_REDUCE_SUM, AG_REDUCE_MEAN};
    for (int ce = 0; ce < 2; ce++)
        for (int r = 0; r < 3; r++)
            for (int variant = 0; variant < 3; variant++) {
                ag_tensor *w = NULL;
                if (red[r] == AG_REDUCE_NONE)
                    w = ce ? h_rand(dt, 1, H_SHAPE(4), -2, 2, &rng)
                           : h_rand(dt, 2, H_SHAPE(4, 5), -2, 2, &rng);
                double kx[20], kt[20], rx[20], rt[20];
                bool k_ok = loss_grads(ce, variant, true, x, t, lab, red[r], w, kx, kt);
                ck_assert_msg(k_ok, "kernels: %s", ag_last_error());
                bool r_ok = loss_grads(ce, variant, false, x, t, lab, red[r], w, rx, rt);
                ck_assert_msg(r_ok, "rules: %s", ag_last_error());
                for (int k = 0; k < 20; k++) {
                    ck_assert_msg(isfinite(kx[k]) && isfinite(kt[k]), "%s r %d variant %d: %g %g",
                                  ce ? "ce" : "bce", r, variant, kx[k], kt[k]);
                    ck_assert_near(kx[k], rx[k], h_rtol(dt), h_atol(dt));
                    ck_assert_near(kt[k], rt[k], h_rtol(dt), h_atol(dt));
                }
                /* Cross-entropy's labels give the targets no gradient but
                 * the variant-2 term; bce's rule reaches them. */
                if (!ce)
                    ck_assert(kt[0] != 0);
            }
}
END_TEST

START_TEST(test_gradgradcheck_losses)
{
    /* The rules' own derivatives, by finite differences of the analytic
     * first derivative, on random points (every reduction); and each loss
     * checked as the one node it records, re-run from its stored params and
     * labels as ag_gradcheck_nodes does. */
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ag_rng rng;
        ag_rng_seed(&rng, seed);
        for (int r = 0; r < 3; r++) {
            loss_ctx c = {labels(4, H_IDX(3, 0, 2, 3)), (ag_reduction)r};
            ag_tensor *z = h_rand(AG_F64, 2, H_SHAPE(4, 5), -3, 3, &rng);
            ck_assert(ag_set_requires_grad(z, true));
            ag_gradcheck_report rep;
            char buf[4096];
            ck_assert_msg(ag_gradgradcheck(f_ce, &c, 1, &z, &o, &rep), "cross_entropy: %s",
                          h_report_str(&rep, buf, sizeof buf));
            ag_gradcheck_nodes_report nr;
            ck_assert_msg(ag_gradcheck_nodes(f_ce, &c, 1, &z, &o, &nr), "%s", ag_last_error());
            ck_assert_uint_eq(nr.n_nodes, 1);
            ag_tensor *zy[2] = {h_rand(AG_F64, 2, H_SHAPE(3, 2), -3, 3, &rng),
                                h_rand(AG_F64, 2, H_SHAPE(3, 2), 0, 1, &rng)};
            ck_assert(ag_set_requires_grad(zy[0], true));
            ck_assert(ag_set_requires_grad(zy[1], true));
            ck_assert_msg(ag_gradgradcheck(f_bce, &c, 2, zy, &o, &rep), "bce_with_logits: %s",
                          h_report_str(&rep, buf, sizeof buf));
            ck_assert_msg(ag_gradcheck_nodes(f_bce, &c, 2, zy, &o, &nr), "%s", ag_last_error());
            ck_assert_uint_eq(nr.n_nodes, 1);
        }
    }
}
END_TEST

/* ---- errors ---- */

START_TEST(test_label_errors)
{
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(3, 4), Z34);
    /* A label out of [0, C): the label and its position. */
    ck_assert_ptr_null(ag_cross_entropy(x, labels(3, H_IDX(0, 3, 4)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_VALUE, "cross_entropy");
    ck_assert_error(AG_ERR_VALUE, "label 4");
    ck_assert_error(AG_ERR_VALUE, "position 2");
    ag_error_clear();
    ck_assert_ptr_null(ag_cross_entropy(x, labels(3, H_IDX(-1, 0, 0)), AG_REDUCE_SUM));
    ck_assert_error(AG_ERR_VALUE, "label -1");
    ck_assert_error(AG_ERR_VALUE, "position 0");
    ag_error_clear();
    ck_assert_ptr_null(ag_nll(x, labels(3, H_IDX(1, 9, 0)), AG_REDUCE_NONE));
    ck_assert_error(AG_ERR_VALUE, "nll");
    ck_assert_error(AG_ERR_VALUE, "label 9");
    ck_assert_error(AG_ERR_VALUE, "position 1");
    ag_error_clear();
    /* Labels must be i64. */
    ag_tensor *fl = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(0, 1, 2));
    ck_assert_ptr_null(ag_cross_entropy(x, fl, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "cross_entropy");
    ck_assert_error(AG_ERR_DTYPE, "i64");
    ag_error_clear();
    ck_assert_ptr_null(ag_nll(x, h_arr(AG_F32, 1, H_SHAPE(3), H_VALS(0, 1, 2)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "nll");
    ag_error_clear();
    ck_assert_ptr_null(ag_cross_entropy(x, NULL, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_NULL, "cross_entropy");
    ag_error_clear();
    /* Shapes: N labels for N rows of a 2-D score matrix. */
    ck_assert_ptr_null(ag_cross_entropy(x, labels(2, H_IDX(0, 1)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_SHAPE, "cross_entropy");
    ck_assert_error(AG_ERR_SHAPE, "(3,4)");
    ag_error_clear();
    ag_tensor *v = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_nll(v, labels(1, H_IDX(0)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_SHAPE, "nll");
    ag_error_clear();
    /* Integer logits. */
    ag_tensor *ix = h_arr(AG_I64, 2, H_SHAPE(3, 4), NULL);
    ck_assert_ptr_null(ag_cross_entropy(ix, labels(3, H_IDX(0, 0, 0)), AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "cross_entropy");
    ag_error_clear();
}
END_TEST

START_TEST(test_bce_errors)
{
    ag_tensor *z = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ag_tensor *y = h_arr(AG_F64, 1, H_SHAPE(3), NULL);
    /* Logits and targets of one shape (no broadcasting). */
    ck_assert_ptr_null(ag_bce_with_logits(z, y, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_SHAPE, "bce_with_logits");
    ck_assert_error(AG_ERR_SHAPE, "(2,3)");
    ag_error_clear();
    ag_tensor *y32 = h_arr(AG_F32, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_bce_with_logits(z, y32, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_DTYPE, "bce_with_logits");
    ag_error_clear();
    ag_tensor *y64 = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_bce_with_logits(z, y64, (ag_reduction)7));
    ck_assert_error(AG_ERR_VALUE, "bce_with_logits");
    ag_error_clear();
}
END_TEST

START_TEST(test_mse_shape_error_names_op)
{
    /* Shapes that do not broadcast: the message names mse and both shapes. */
    ag_tensor *p = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ag_tensor *t = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_mse(p, t, AG_REDUCE_MEAN));
    ck_assert_status(AG_ERR_SHAPE);
    ck_assert_msg(strstr(ag_last_error(), "(2,3)") && strstr(ag_last_error(), "(4"),
                  "message \"%s\" does not name both shapes", ag_last_error());
    ck_assert_error(AG_ERR_SHAPE, "mse");
}
END_TEST

START_TEST(test_softmax_axis_error_names_op)
{
    /* An axis out of range: the message names the op the caller used. */
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(2, 3), NULL);
    ck_assert_ptr_null(ag_softmax(x, 2));
    ck_assert_error(AG_ERR_VALUE, "axis 2");
    ck_assert_error(AG_ERR_VALUE, "softmax");
    ag_error_clear();
    ck_assert_ptr_null(ag_log_softmax(x, -3));
    ck_assert_error(AG_ERR_VALUE, "axis -3");
    ck_assert_error(AG_ERR_VALUE, "log_softmax");
}
END_TEST

Suite *nn_suite(void);
Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *tc = h_tcase(s, "softmax", H_TIMEOUT);
    tcase_add_loop_test(tc, test_softmax_rows, 0, 2);
    tcase_add_loop_test(tc, test_log_softmax, 0, 2);
    tcase_add_loop_test(tc, test_softmax_extremes, 0, 2);
    tc = h_tcase(s, "bce_with_logits", H_TIMEOUT);
    tcase_add_loop_test(tc, test_bce_with_logits, 0, 2);
    tcase_add_loop_test(tc, test_bce_with_logits_extremes, 0, 2);
    tc = h_tcase(s, "cross_entropy and nll", H_TIMEOUT);
    tcase_add_loop_test(tc, test_cross_entropy, 0, 2);
    tcase_add_loop_test(tc, test_cross_entropy_extremes, 0, 2);
    tcase_add_loop_test(tc, test_nll, 0, 2);
    tc = h_tcase(s, "mse", H_TIMEOUT);
    tcase_add_loop_test(tc, test_mse, 0, 2);
    tc = h_tcase(s, "cross_entropy and bce_with_logits primitives", H_TIMEOUT);
    tcase_add_loop_test(tc, test_losses_are_one_node, 0, 2);
    tcase_add_loop_test(tc, test_cross_entropy_large_logits, 0, 2);
    tcase_add_loop_test(tc, test_bce_large_logits_seeded, 0, 2);
    tcase_add_loop_test(tc, test_losses_empty_batch, 0, 2);
    tcase_add_test(tc, test_cross_entropy_second_order);
    tcase_add_test(tc, test_bce_second_order);
    tcase_add_loop_test(tc, test_kernels_match_rules, 0, 2);
    tc = h_tcase(s, "gradcheck", 300);
    tcase_add_test(tc, test_gradcheck_losses);
    tcase_add_test(tc, test_gradgradcheck_losses);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_label_errors);
    tcase_add_test(tc, test_bce_errors);
    tcase_add_test(tc, test_mse_shape_error_names_op);
    tcase_add_test(tc, test_softmax_axis_error_names_op);
    return s;
}

H_MAIN(nn_suite)

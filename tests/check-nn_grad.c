/* SPDX-License-Identifier: MIT */
/* check-nn_grad.c — the derivatives of the losses of ops/nn.c beyond the
 * closed-form first gradients of check-nn.c: cross_entropy and
 * bce_with_logits as primitives, and gradient checks of the losses and of
 * softmax/log_softmax.
 *
 * cross_entropy and bce_with_logits are primitives (one node each): their
 * kernels must agree with their rules (kernels off), and their rules'
 * second derivatives with closed forms and with central differences of the
 * first derivative. Expected values come from the closed forms, computed
 * here with <math.h> (softmax − one_hot, σ(z) − y and their derivatives);
 * for logits of ±1000 (where the naive forms overflow) the exact values are
 * worked out by hand in the comments. Both dtypes, but for second
 * derivatives (f64, for the finite differences). Every loss (each
 * reduction) and a softmax/log_softmax mix also pass ag_gradcheck on random
 * points, and the two primitives ag_gradgradcheck and ag_gradcheck_nodes.
 *
 * The labels, σ and the logits Z34 are shared with check-nn.c
 * (nn_fixture.[ch]). */
#include "nn_fixture.h"

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
            /* mse: pred and target of one shape (it does not broadcast). */
            ag_tensor *pt[2] = {h_rand(AG_F64, 3, H_SHAPE(2, 4, 3), -2, 2, &rng),
                                h_rand(AG_F64, 3, H_SHAPE(2, 4, 3), -2, 2, &rng)};
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

Suite *nn_grad_suite(void);
Suite *nn_grad_suite(void)
{
    Suite *s = suite_create("nn_grad");
    TCase *tc = h_tcase(s, "cross_entropy and bce_with_logits primitives", H_TIMEOUT);
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
    return s;
}

H_MAIN(nn_grad_suite)

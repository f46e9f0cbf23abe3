/* SPDX-License-Identifier: MIT */
/* check-pool_norm.c — the pools and normalisations of ops/pool.c and
 * ops/norm.c.
 *
 * Expected values come from three independent places:
 *  - small cases worked by hand in the comments (a 4×4 plane max- and
 *    average-pooled 2×2, with padding and count_include_pad both ways, and
 *    an adaptive 5 → 3 pool of x[h][w] = 5h + w);
 *  - PyTorch: tests/pool_norm_reference.py prints the outputs and
 *    gradients of F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d,
 *    F.batch_norm (training, the running statistics it leaves, then
 *    evaluation), F.layer_norm and F.group_norm for inputs given by
 *    formulas repeated here; its output is committed as
 *    tests/pool_norm_reference.h;
 *  - a naive loop for max_pool2d at a realistic size (a batch of 64
 *    6×24×24 maps).
 * Beyond values: gradcheck and gradgradcheck in f64 of every op on random
 * points in several configurations, zero-size batches, the running
 * statistics' version bump, and the errors (messages name op and shapes). */
#include "harness.h"

#include <math.h>

#include "pool_norm_reference.h"

/* ---- inputs given by the reference script's formulas ---- */

static ag_tensor *formula_x(ag_dtype dt, int ndim, const int64_t *shape)
{
    ag_tensor *t = h_keep(ag_zeros(dt, ndim, shape));
    for (size_t i = 0; i < ag_numel(t); i++)
        ag_set_flat(t, i, 2 * sin(0.7 * (double)i + 0.3));
    ck_assert(ag_set_requires_grad(t, true));
    return t;
}

static ag_tensor *formula_g(const ag_tensor *y)
{
    ag_tensor *t = h_keep(ag_zeros(ag_tensor_dtype(y), ag_ndim(y), ag_shape(y)));
    for (size_t i = 0; i < ag_numel(t); i++)
        ag_set_flat(t, i, cos(0.37 * (double)i));
    return t;
}

static ag_tensor *channel_vec(ag_dtype dt, int64_t n, double a, double b)
{
    ag_tensor *t = h_keep(ag_zeros(dt, 1, &n));
    for (int64_t c = 0; c < n; c++)
        ag_set_flat(t, (size_t)c, a + b * (double)c);
    return t;
}

/* Tolerances against PyTorch's f64 values: f64 agrees to rounding; f32
 * loses a little more through a normalisation's division by a standard
 * deviation of about 1. */
static double ref_rtol(ag_dtype dt) { return dt == AG_F64 ? 1e-11 : 1e-5; }
static double ref_atol(ag_dtype dt) { return dt == AG_F64 ? 1e-12 : 1e-5; }

#define ck_assert_ref(t, want, dt)                                                               \
    ck_assert_values(t, H_COUNT(want), want, ref_rtol(dt), ref_atol(dt))

static void backward_with_formula_g(ag_tensor *y)
{
    ck_assert_tensor(y);
    ck_assert_msg(ag_backward_seed(y, formula_g(y)), "%s", ag_last_error());
}

/* ---- by hand ---- */

/*  1 5 2 0
 *  3 4 8 6
 *  7 0 9 1
 *  2 6 3 5  */
static const double PLANE[16] = {1, 5, 2, 0, 3, 4, 8, 6, 7, 0, 9, 1, 2, 6, 3, 5};

START_TEST(test_pool_2x2_by_hand)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    ag_tensor *x = h_param(dt, 4, H_SHAPE(1, 1, 4, 4), PLANE);
    const int64_t k[2] = {2, 2};
    /* The windows {1,5,3,4}, {2,0,8,6}, {7,0,2,6}, {9,1,3,5}. */
    ag_tensor *y = ag_max_pool2d(x, k, NULL, NULL);
    ck_assert_shape(y, 4, H_SHAPE(1, 1, 2, 2));
    ck_assert_values(y, 4, H_VALS(5, 8, 7, 9), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    /* Each maximum's position: 5 at (0,1), 8 at (1,2), 7 at (2,0), 9 at (2,2). */
    ck_assert_values(ag_grad_of(x), 16, H_VALS(0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0), 0, 0);
    ag_zero_grad(x);
    y = ag_avg_pool2d(x, k, NULL, NULL, true);
    ck_assert_values(y, 4, H_VALS(13 / 4.0, 16 / 4.0, 15 / 4.0, 18 / 4.0), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    double quarter[16];
    for (int i = 0; i < 16; i++)
        quarter[i] = 0.25;
    ck_assert_values(ag_grad_of(x), 16, quarter, 0, 0);
}
END_TEST

/* Kernel 2, stride 2, padding 1 on the 4×4 plane: output 3×3, rows (and
 * columns) [0,1), [1,3), [3,4) of the input, each window 2×2 in the padded
 * input. */
START_TEST(test_pool_padded_by_hand)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    ag_tensor *x = h_param(dt, 4, H_SHAPE(1, 1, 4, 4), PLANE);
    const int64_t k[2] = {2, 2}, s[2] = {2, 2}, p[2] = {1, 1};
    /* Window sums: 1, 5+2, 0 / 3+7, 4+8+0+9, 6+1 / 2, 6+3, 5. */
    ag_tensor *y = ag_avg_pool2d(x, k, s, p, false);
    ck_assert_shape(y, 4, H_SHAPE(1, 1, 3, 3));
    /* Divided by the elements of x in each window: 1, 2, 1 / 2, 4, 2 / 1, 2, 1. */
    ck_assert_values(y, 9, H_VALS(1, 3.5, 0, 5, 5.25, 3.5, 2, 4.5, 5), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    /* Each element lies in one window and gets 1/(its count). */
    ck_assert_values(ag_grad_of(x), 16,
                     H_VALS(1, .5, .5, 1, .5, .25, .25, .5, .5, .25, .25, .5, 1, .5, .5, 1), 0, 0);
    ag_zero_grad(x);
    /* count_include_pad: every sum over 4. */
    y = ag_avg_pool2d(x, k, s, p, true);
    ck_assert_values(y, 9, H_VALS(.25, 1.75, 0, 2.5, 5.25, 1.75, .5, 2.25, 1.25), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    double quarter[16];
    for (int i = 0; i < 16; i++)
        quarter[i] = 0.25;
    ck_assert_values(ag_grad_of(x), 16, quarter, 0, 0);
    ag_zero_grad(x);
    /* Max: the padding never wins (it is −inf), so a corner is its element. */
    y = ag_max_pool2d(x, k, s, p);
    ck_assert_values(y, 9, H_VALS(1, 5, 0, 7, 9, 6, 2, 6, 5), 0, 0);
    ck_assert(ag_backward(ag_sum(y)));
    ck_assert_values(ag_grad_of(x), 16, H_VALS(1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1), 0, 0);
}
END_TEST

/* x[h][w] = 5h + w on a 5×5 plane pooled to 3×3. Bins (rows and columns
 * alike): [0, ⌈5/3⌉) = [0,2), [⌊5/3⌋, ⌈10/3⌉) = [1,4), [⌊10/3⌋, 5) = [3,5),
 * of mean index 0.5, 2 and 3.5: y[i][j] = 5 m_i + m_j. An element gets
 * 1/|bin| from each bin it lies in, along each axis: r = 1/2, 1/2 + 1/3,
 * 1/3, 1/3 + 1/2, 1/2, and dx[h][w] = r_h r_w for y summed. */
START_TEST(test_adaptive_5_to_3_by_hand)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    double v[25];
    for (int i = 0; i < 25; i++)
        v[i] = i;
    ag_tensor *x = h_param(dt, 4, H_SHAPE(1, 1, 5, 5), v);
    ag_tensor *y = ag_adaptive_avg_pool2d(x, 3, 3);
    ck_assert_shape(y, 4, H_SHAPE(1, 1, 3, 3));
    ck_assert_values(y, 9, H_VALS(3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21), h_rtol(dt), h_atol(dt));
    ck_assert(ag_backward(ag_sum(y)));
    const double r[5] = {0.5, 5.0 / 6, 1.0 / 3, 5.0 / 6, 0.5};
    double want[25];
    for (int h = 0; h < 5; h++)
        for (int w = 0; w < 5; w++)
            want[h * 5 + w] = r[h] * r[w];
    ck_assert_values(ag_grad_of(x), 25, want, h_rtol(dt), h_atol(dt));
    /* One bin is the global average; more bins than rows repeat rows. */
    ck_assert_values(ag_adaptive_avg_pool2d(x, 1, 1), 1, H_VALS(12), h_rtol(dt), h_atol(dt));
    ag_tensor *up = ag_adaptive_avg_pool2d(h_arr(dt, 4, H_SHAPE(1, 1, 1, 2), H_VALS(1, 3)), 2, 3);
    /* Columns 2 → 3: bins [0,1), [0,2), [1,2). */
    ck_assert_values(up, 6, H_VALS(1, 2, 3, 1, 2, 3), h_rtol(dt), h_atol(dt));
}
END_TEST

/* ---- against PyTorch (tests/pool_norm_reference.h) ---- */

START_TEST(test_pools_match_torch)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    const int64_t *shape = H_SHAPE(2, 3, 7, 6);
    ag_tensor *x = formula_x(dt, 4, shape);
    ag_tensor *y = ag_max_pool2d(x, H_SHAPE(3, 2), H_SHAPE(2, 1), H_SHAPE(1, 1));
    ck_assert_shape(y, 4, H_SHAPE(2, 3, 4, 7));
    ck_assert_ref(y, MAXPOOL_Y, dt);
    backward_with_formula_g(y);
    ck_assert_ref(ag_grad_of(x), MAXPOOL_DX, dt);
    for (int cip = 1; cip >= 0; cip--) {
        ag_zero_grad(x);
        y = ag_avg_pool2d(x, H_SHAPE(3, 3), H_SHAPE(2, 2), H_SHAPE(1, 1), cip);
        ck_assert_shape(y, 4, H_SHAPE(2, 3, 4, 3));
        ck_assert_values(y, H_COUNT(AVGPOOL_CIP_Y), cip ? AVGPOOL_CIP_Y : AVGPOOL_NOPAD_Y,
                         ref_rtol(dt), ref_atol(dt));
        backward_with_formula_g(y);
        ck_assert_values(ag_grad_of(x), H_COUNT(AVGPOOL_CIP_DX),
                         cip ? AVGPOOL_CIP_DX : AVGPOOL_NOPAD_DX, ref_rtol(dt), ref_atol(dt));
    }
    ag_zero_grad(x);
    y = ag_adaptive_avg_pool2d(x, 3, 4);
    ck_assert_ref(y, ADAPTIVE_Y, dt);
    backward_with_formula_g(y);
    ck_assert_ref(ag_grad_of(x), ADAPTIVE_DX, dt);
}
END_TEST

START_TEST(test_batch_norm_matches_torch)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    ag_tensor *x = formula_x(dt, 4, H_SHAPE(4, 3, 2, 2));
    ag_tensor *w = channel_vec(dt, 3, 1, 0.1), *b = channel_vec(dt, 3, -0.1, 0.05);
    ag_tensor *rm = channel_vec(dt, 3, 0, 0.1), *rv = channel_vec(dt, 3, 1, 0.5);
    ck_assert(ag_set_requires_grad(w, true) && ag_set_requires_grad(b, true));
    ag_tensor *y = ag_batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
    ck_assert_shape(y, 4, H_SHAPE(4, 3, 2, 2));
    ck_assert_ref(y, BN_TRAIN_Y, dt);
    backward_with_formula_g(y);
    ck_assert_ref(ag_grad_of(x), BN_TRAIN_DX, dt);
    ck_assert_ref(ag_grad_of(w), BN_TRAIN_DW, dt);
    ck_assert_ref(ag_grad_of(b), BN_TRAIN_DB, dt);
    /* The update, with the unbiased variance (16 values per channel). */
    ck_assert_ref(rm, BN_RUNNING_MEAN, dt);
    ck_assert_ref(rv, BN_RUNNING_VAR, dt);
    ag_zero_grad(x);
    ag_zero_grad(w);
    ag_zero_grad(b);
    y = ag_batch_norm(x, rm, rv, w, b, false, 0.1, 1e-5);
    ck_assert_ref(y, BN_EVAL_Y, dt);
    backward_with_formula_g(y);
    ck_assert_ref(ag_grad_of(x), BN_EVAL_DX, dt);
    ck_assert_ref(ag_grad_of(w), BN_EVAL_DW, dt);
    /* Evaluation leaves the statistics alone. */
    ck_assert_ref(rm, BN_RUNNING_MEAN, dt);
    ck_assert_ref(rv, BN_RUNNING_VAR, dt);
    /* (N, C), no affine parameters, no running statistics. */
    ag_tensor *x2 = formula_x(dt, 2, H_SHAPE(5, 3));
    y = ag_batch_norm(x2, NULL, NULL, NULL, NULL, true, 0.1, 1e-5);
    ck_assert_ref(y, BN_2D_Y, dt);
    backward_with_formula_g(y);
    ck_assert_ref(ag_grad_of(x2), BN_2D_DX, dt);
}
END_TEST

START_TEST(test_layer_and_group_norm_match_torch)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    ag_tensor *x = formula_x(dt, 3, H_SHAPE(2, 3, 4));
    double wv[12], bv[12];
    for (int i = 0; i < 12; i++) {
        wv[i] = 1 + 0.1 * i;
        bv[i] = 0.05 * i - 0.1;
    }
    ag_tensor *w = h_param(dt, 2, H_SHAPE(3, 4), wv), *b = h_param(dt, 2, H_SHAPE(3, 4), bv);
    ag_tensor *y = ag_layer_norm(x, 2, w, b, 1e-5);
    ck_assert_shape(y, 3, H_SHAPE(2, 3, 4));
    ck_assert_ref(y, LN_Y, dt);
    backward_with_formula_g(y);
    ck_assert_ref(ag_grad_of(x), LN_DX, dt);
    ck_assert_ref(ag_grad_of(w), LN_DW, dt);
    ck_assert_ref(ag_grad_of(b), LN_DB, dt);

    ag_tensor *xg = formula_x(dt, 4, H_SHAPE(2, 6, 2, 3));
    ag_tensor *gw = channel_vec(dt, 6, 1, 0.1), *gb = channel_vec(dt, 6, -0.1, 0.05);
    ck_assert(ag_set_requires_grad(gw, true) && ag_set_requires_grad(gb, true));
    y = ag_group_norm(xg, 3, gw, gb, 1e-5);
    ck_assert_shape(y, 4, H_SHAPE(2, 6, 2, 3));
    ck_assert_ref(y, GN_Y, dt);
    backward_with_formula_g(y);
    ck_assert_ref(ag_grad_of(xg), GN_DX, dt);
    ck_assert_ref(ag_grad_of(gw), GN_DW, dt);
    ck_assert_ref(ag_grad_of(gb), GN_DB, dt);
}
END_TEST

/* ---- gradcheck and gradgradcheck in f64 ---- */

typedef struct cfg {
    int op; /* 0 max, 1 avg, 2 adaptive, 3 batch_norm, 4 layer_norm, 5 group_norm */
    int64_t k[2], s[2], p[2];
    bool flag; /* count_include_pad; batch_norm: training */
    int64_t n; /* adaptive: output size; layer_norm: n_dims; group_norm: groups */
    ag_tensor *rm, *rv;
} cfg;

static ag_tensor *f_op(ag_tensor *const *in, void *ctx)
{
    const cfg *c = ctx;
    switch (c->op) {
    case 0: return ag_max_pool2d(in[0], c->k, c->s, c->p);
    case 1: return ag_avg_pool2d(in[0], c->k, c->s, c->p, c->flag);
    case 2: return ag_adaptive_avg_pool2d(in[0], c->n, c->n + 1);
    case 3: {
        /* Training updates the statistics on every call: fresh copies keep
         * the function the same for each evaluation. */
        ag_tensor *rm = ag_clone(c->rm), *rv = ag_clone(c->rv);
        ag_tensor *y = ag_batch_norm(in[0], rm, rv, in[1], in[2], c->flag, 0.1, 1e-5);
        ag_tensor_free(rm);
        ag_tensor_free(rv);
        return y;
    }
    case 4: return ag_layer_norm(in[0], (int)c->n, in[1], in[2], 1e-5);
    default: return ag_group_norm(in[0], c->n, in[1], in[2], 1e-5);
    }
}

static void check_both(cfg *c, int n, ag_tensor **in)
{
    for (int i = 0; i < n; i++)
        ck_assert(ag_set_requires_grad(in[i], true));
    ck_assert_gradcheck(f_op, c, n, in);
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_report rep;
    char buf[4096];
    ck_assert_msg(ag_gradgradcheck(f_op, c, n, in, &o, &rep), "op %d: %s", c->op,
                  h_report_str(&rep, buf, sizeof buf));
}

START_TEST(test_gradcheck_pools)
{
    ag_rng rng;
    ag_rng_seed(&rng, 7);
    const cfg cases[] = {
        {.op = 0, .k = {2, 2}, .s = {2, 2}},
        {.op = 0, .k = {3, 2}, .s = {2, 1}, .p = {1, 1}},
        {.op = 1, .k = {3, 3}, .s = {2, 2}, .p = {1, 1}, .flag = true},
        {.op = 1, .k = {3, 3}, .s = {2, 1}, .p = {1, 0}, .flag = false},
        {.op = 1, .k = {2, 3}, .s = {1, 3}, .flag = true},
        {.op = 2, .n = 3},
        {.op = 2, .n = 1},
    };
    for (size_t i = 0; i < H_COUNT(cases); i++) {
        cfg c = cases[i];
        ag_tensor *x = h_rand(AG_F64, 4, H_SHAPE(2, 2, 5, 6), -2, 2, &rng);
        check_both(&c, 1, &x);
    }
}
END_TEST

START_TEST(test_gradcheck_norms)
{
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    ag_tensor *rm = channel_vec(AG_F64, 3, 0.2, -0.1), *rv = channel_vec(AG_F64, 3, 0.8, 0.3);
    for (int training = 1; training >= 0; training--) {
        cfg c = {.op = 3, .flag = training, .rm = rm, .rv = rv};
        ag_tensor *in[3] = {h_rand(AG_F64, 4, H_SHAPE(3, 3, 2, 2), -2, 2, &rng),
                            h_rand(AG_F64, 1, H_SHAPE(3), 0.5, 1.5, &rng),
                            h_rand(AG_F64, 1, H_SHAPE(3), -1, 1, &rng)};
        check_both(&c, 3, in);
    }
    cfg ln = {.op = 4, .n = 2};
    ag_tensor *lin[3] = {h_rand(AG_F64, 3, H_SHAPE(2, 3, 4), -2, 2, &rng),
                         h_rand(AG_F64, 2, H_SHAPE(3, 4), 0.5, 1.5, &rng),
                         h_rand(AG_F64, 2, H_SHAPE(3, 4), -1, 1, &rng)};
    check_both(&ln, 3, lin);
    cfg gn = {.op = 5, .n = 2};
    ag_tensor *gin[3] = {h_rand(AG_F64, 3, H_SHAPE(2, 4, 3), -2, 2, &rng),
                         h_rand(AG_F64, 1, H_SHAPE(4), 0.5, 1.5, &rng),
                         h_rand(AG_F64, 1, H_SHAPE(4), -1, 1, &rng)};
    check_both(&gn, 3, gin);
}
END_TEST

/* A small network of every primitive here, checked node by node: each
 * node is re-run from its stored params (max_pool2d recomputing its argmax
 * input) and its own rule compared with differences, double-backward
 * nodes (the averages' adjoints) included when the first gradient is
 * recorded. */
static ag_tensor *f_net(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *h = ag_group_norm(in[0], 2, in[1], NULL, 1e-5);
    h = ag_max_pool2d(h, H_SHAPE(2, 2), H_SHAPE(1, 1), H_SHAPE(1, 1));
    h = ag_avg_pool2d(ag_tanh(h), H_SHAPE(3, 3), H_SHAPE(2, 2), H_SHAPE(1, 1), false);
    return ag_adaptive_avg_pool2d(h, 2, 1);
}

START_TEST(test_gradcheck_nodes_network)
{
    ag_rng rng;
    ag_rng_seed(&rng, 5);
    ag_tensor *in[2] = {h_rand(AG_F64, 4, H_SHAPE(2, 4, 5, 5), -2, 2, &rng),
                        h_rand(AG_F64, 1, H_SHAPE(4), 0.5, 1.5, &rng)};
    ck_assert(ag_set_requires_grad(in[0], true) && ag_set_requires_grad(in[1], true));
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_nodes_report nr;
    ck_assert_msg(ag_gradcheck_nodes(f_net, NULL, 2, in, &o, &nr), "node %ld (%s): %s",
                  nr.bad_node, nr.op, ag_last_error());
    ck_assert_uint_eq(nr.n_checked, nr.n_nodes);
    ag_gradcheck_report rep;
    char buf[4096];
    ck_assert_msg(ag_gradgradcheck(f_net, NULL, 2, in, &o, &rep), "%s",
                  h_report_str(&rep, buf, sizeof buf));
}
END_TEST

/* ---- batch_norm's running statistics ---- */

START_TEST(test_running_stats_bump_version)
{
    /* A node that used the running mean before the update must not be
     * differentiated with the new values. */
    ag_tensor *x = formula_x(AG_F64, 2, H_SHAPE(4, 2));
    ag_tensor *rm = channel_vec(AG_F64, 2, 0, 0), *rv = channel_vec(AG_F64, 2, 1, 0);
    ag_tensor *early = ag_sum(ag_mul(x, rm));
    ck_assert_tensor(ag_batch_norm(x, rm, rv, NULL, NULL, true, 0.5, 1e-5));
    ck_assert(!ag_backward(early));
    ck_assert_error(AG_ERR_STATE, "changed in place");
    ag_error_clear();
    /* momentum 0.5: r = r/2 + stat/2, from the column means and unbiased
     * variances of x worked out here. */
    for (int c = 0; c < 2; c++) {
        double m = 0, v = 0;
        for (int i = 0; i < 4; i++)
            m += 2 * sin(0.7 * (2 * i + c) + 0.3) / 4;
        for (int i = 0; i < 4; i++)
            v += pow(2 * sin(0.7 * (2 * i + c) + 0.3) - m, 2) / 3;
        ck_assert_f64(ag_get_flat(rm, (size_t)c), m / 2);
        ck_assert_f64(ag_get_flat(rv, (size_t)c), 0.5 + v / 2);
    }
}
END_TEST

/* ---- zero-size batches and the realistic size ---- */

START_TEST(test_zero_size_batches)
{
    ag_tensor *x = h_keep(ag_zeros(AG_F64, 4, H_SHAPE(0, 2, 5, 4)));
    ck_assert(ag_set_requires_grad(x, true));
    ag_tensor *y = ag_max_pool2d(x, H_SHAPE(2, 2), NULL, NULL);
    ck_assert_shape(y, 4, H_SHAPE(0, 2, 2, 2));
    ck_assert(ag_backward(ag_sum(y)));
    ck_assert_shape(ag_avg_pool2d(x, H_SHAPE(3, 3), H_SHAPE(1, 1), H_SHAPE(1, 1), false), 4,
                    H_SHAPE(0, 2, 5, 4));
    ck_assert_shape(ag_adaptive_avg_pool2d(x, 2, 3), 4, H_SHAPE(0, 2, 2, 3));
    /* An empty batch normalises to an empty result and, as in PyTorch,
     * leaves the running statistics as they were. */
    ag_tensor *rm = channel_vec(AG_F64, 2, 0.5, 0), *rv = channel_vec(AG_F64, 2, 2, 0);
    ck_assert_shape(ag_batch_norm(x, rm, rv, NULL, NULL, true, 0.1, 1e-5), 4, H_SHAPE(0, 2, 5, 4));
    ck_assert_values(rm, 2, H_VALS(0.5, 0.5), 0, 0);
    ck_assert_values(rv, 2, H_VALS(2, 2), 0, 0);
    ck_assert_shape(ag_layer_norm(x, 3, NULL, NULL, 1e-5), 4, H_SHAPE(0, 2, 5, 4));
    ck_assert_shape(ag_group_norm(x, 2, NULL, NULL, 1e-5), 4, H_SHAPE(0, 2, 5, 4));
    ck_assert_ok();
}
END_TEST

START_TEST(test_max_pool_realistic_size)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    int64_t N = 64, C = 6, H = 24, W = 24;
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_tensor *x = h_rand(dt, 4, H_SHAPE(N, C, H, W), -1, 1, &rng);
    ck_assert(ag_set_requires_grad(x, true));
    ag_tensor *y = ag_max_pool2d(x, H_SHAPE(2, 2), NULL, NULL);
    ck_assert_shape(y, 4, H_SHAPE(64, 6, 12, 12));
    ag_tensor *g = h_rand(dt, 4, H_SHAPE(N, C, 12, 12), -1, 1, &rng);
    ck_assert(ag_backward_seed(y, g));
    const ag_tensor *dx = ag_grad_of(x);
    /* The naive loop: each 2×2 block's maximum, and g at its position. */
    for (int64_t p = 0; p < N * C; p++)
        for (int64_t i = 0; i < 12; i++)
            for (int64_t j = 0; j < 12; j++) {
                size_t best = 0;
                double bv = -INFINITY;
                for (int64_t a = 0; a < 2; a++)
                    for (int64_t b = 0; b < 2; b++) {
                        size_t at = (size_t)(p * H * W + (2 * i + a) * W + 2 * j + b);
                        if (ag_get_flat(x, at) > bv) {
                            bv = ag_get_flat(x, at);
                            best = at;
                        }
                    }
                size_t o = (size_t)(p * 144 + i * 12 + j);
                ck_assert_f64(ag_get_flat(y, o), bv);
                ck_assert_f64(ag_get_flat(dx, best), ag_get_flat(g, o));
                for (int64_t a = 0; a < 2; a++)
                    for (int64_t b = 0; b < 2; b++) {
                        size_t at = (size_t)(p * H * W + (2 * i + a) * W + 2 * j + b);
                        if (at != best)
                            ck_assert(ag_get_flat(dx, at) == 0);
                    }
            }
}
END_TEST

/* ---- batch_norm's primitive against its definition ---- */

/* Training batch_norm from its definition, in ops: the mean and biased
 * variance of x (N, C, L) over axes 0 and 2, then the affine map. */
static ag_tensor *batch_norm_by_ops(ag_tensor *x, ag_tensor *w, ag_tensor *b, double eps)
{
    int64_t N = ag_dim(x, 0), C = ag_dim(x, 1), L = (int64_t)ag_numel(x) / (N * C);
    ag_tensor *x3 = ag_reshape(x, 3, H_SHAPE(N, C, L));
    ag_tensor *mean = ag_mean_axis(ag_mean_axis(x3, 2, true), 0, true);
    ag_tensor *d = ag_sub(x3, mean);
    ag_tensor *var = ag_mean_axis(ag_mean_axis(ag_square(d), 2, true), 0, true);
    ag_tensor *y = ag_mul(d, ag_pow_scalar(ag_add_scalar(var, eps), -0.5));
    y = ag_add(ag_mul(y, ag_reshape(w, 3, H_SHAPE(1, C, 1))), ag_reshape(b, 3, H_SHAPE(1, C, 1)));
    return ag_reshape(y, ag_ndim(x), ag_shape(x));
}

/* x, w, b (f64 leaves requiring grad) and g, copied into dt. */
static ag_tensor *copy_as(const ag_tensor *t, ag_dtype dt, bool grad)
{
    ag_tensor *c = h_keep(ag_zeros(dt, ag_ndim(t), ag_shape(t)));
    for (size_t i = 0; i < ag_numel(t); i++)
        ag_set_flat(c, i, ag_get_flat(t, i));
    ck_assert(!grad || ag_set_requires_grad(c, true));
    return c;
}

static void assert_close(const ag_tensor *got, const ag_tensor *want, double rtol, double atol,
                         const char *what)
{
    ck_assert_msg(got && ag_numel(got) == ag_numel(want), "%s: missing", what);
    /* One assertion for the lot: Check logs every one it passes. */
    size_t i = 0, n = ag_numel(want);
    while (i < n && h_near(ag_get_flat(got, i), ag_get_flat(want, i), rtol, atol))
        i++;
    ck_assert_msg(i == n, "%s[%zu]: %.17g, want %.17g", what, i, ag_get_flat(got, i),
                  ag_get_flat(want, i));
}

/* A LeNet-sized activation (64, 16, 28, 28): the primitive's y and its
 * gradients, through the first-order kernel and through the rule, against
 * the definition in ops computed in f64. */
START_TEST(test_batch_norm_realistic_size)
{
    ag_dtype dt = _i ? AG_F64 : AG_F32;
    ag_rng rng;
    ag_rng_seed(&rng, 17);
    const int64_t *shape = H_SHAPE(64, 16, 28, 28);
    ag_tensor *x = h_rand(AG_F64, 4, shape, -2, 3, &rng);
    ag_tensor *w = h_rand(AG_F64, 1, H_SHAPE(16), 0.5, 1.5, &rng);
    ag_tensor *b = h_rand(AG_F64, 1, H_SHAPE(16), -1, 1, &rng);
    ag_tensor *g = h_rand(AG_F64, 4, shape, -1, 1, &rng);
    ck_assert(ag_set_requires_grad(x, true) && ag_set_requires_grad(w, true) &&
              ag_set_requires_grad(b, true));
    ag_tensor *want = batch_norm_by_ops(x, w, b, 1e-5);
    ck_assert_tensor(want);
    ck_assert(ag_backward_seed(want, g));
    want = copy_as(want, AG_F64, false); /* a leaf, kept past the tape resets below */
    double rtol = dt == AG_F64 ? 1e-10 : 1e-5, atol = dt == AG_F64 ? 1e-12 : 2e-5;
    for (int kernels = 1; kernels >= 0; kernels--) {
        bool prev = ag_set_grad_kernels(kernels);
        ag_tensor *xd = copy_as(x, dt, true), *wd = copy_as(w, dt, true),
                  *bd = copy_as(b, dt, true);
        ag_tensor *y = ag_batch_norm(xd, NULL, NULL, wd, bd, true, 0.1, 1e-5);
        ck_assert_tensor(y);
        ck_assert_str_eq(ag_op_info(ag_node_op(y))->name, "batch_norm");
        ck_assert(ag_backward_seed(y, copy_as(g, dt, false)));
        ag_set_grad_kernels(prev);
        assert_close(y, want, rtol, atol, "y");
        assert_close(ag_grad_of(xd), ag_grad_of(x), rtol, atol, "dx");
        /* dw and db sum 50176 values each. */
        assert_close(ag_grad_of(wd), ag_grad_of(w), rtol, 100 * atol, "dw");
        assert_close(ag_grad_of(bd), ag_grad_of(b), rtol, 100 * atol, "db");
        ag_tape_reset(NULL);
    }
}
END_TEST

/* Two values per channel, where dx is all cancellation ((1 − x̂²) with
 * x̂ = ±(1 − ε)): gradcheck and gradgradcheck in f64, and the kernel
 * against the rule; N = 2 in (N, C), and N = 1 with 2 positions. */
START_TEST(test_batch_norm_two_values_per_channel)
{
    ag_rng rng;
    ag_rng_seed(&rng, 23);
    ag_tensor *rm = channel_vec(AG_F64, 3, 0, 0), *rv = channel_vec(AG_F64, 3, 1, 0);
    const int64_t *shapes[2] = {H_SHAPE(2, 3), H_SHAPE(1, 3, 2)};
    for (int k = 0; k < 2; k++) {
        cfg c = {.op = 3, .flag = true, .rm = rm, .rv = rv};
        ag_tensor *in[3] = {h_rand(AG_F64, 2 + k, shapes[k], -2, 2, &rng),
                            h_rand(AG_F64, 1, H_SHAPE(3), 0.5, 1.5, &rng),
                            h_rand(AG_F64, 1, H_SHAPE(3), -1, 1, &rng)};
        check_both(&c, 3, in);
        ag_tensor *grads[2][3];
        for (int kernels = 0; kernels < 2; kernels++) {
            bool prev = ag_set_grad_kernels(kernels);
            for (int i = 0; i < 3; i++)
                ag_zero_grad(in[i]);
            ag_tensor *y = ag_batch_norm(in[0], NULL, NULL, in[1], in[2], true, 0.1, 1e-5);
            ck_assert(ag_backward(ag_sum(ag_mul(y, y))));
            ag_set_grad_kernels(prev);
            for (int i = 0; i < 3; i++)
                grads[kernels][i] = copy_as(ag_grad_of(in[i]), AG_F64, false);
        }
        for (int i = 0; i < 3; i++)
            assert_close(grads[1][i], grads[0][i], 1e-12, 1e-12, "kernel against rule");
    }
}
END_TEST

/* The node re-run from its params, with the constant weight that stands
 * in for a NULL one as an input. */
static ag_tensor *f_bn_no_weight(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_tanh(ag_batch_norm(in[0], NULL, NULL, NULL, in[1], true, 0.1, 1e-3));
}

START_TEST(test_batch_norm_nodes_and_empty_batch)
{
    ag_rng rng;
    ag_rng_seed(&rng, 29);
    ag_tensor *in[2] = {h_rand(AG_F64, 3, H_SHAPE(3, 2, 4), -2, 2, &rng),
                        h_rand(AG_F64, 1, H_SHAPE(2), -1, 1, &rng)};
    ck_assert(ag_set_requires_grad(in[0], true) && ag_set_requires_grad(in[1], true));
    ag_gradcheck_opts o = h_gradcheck_opts();
    ag_gradcheck_nodes_report nr;
    ck_assert_msg(ag_gradcheck_nodes(f_bn_no_weight, NULL, 2, in, &o, &nr), "node %ld (%s): %s",
                  nr.bad_node, nr.op, ag_last_error());
    ck_assert_uint_eq(nr.n_checked, nr.n_nodes);
    /* An empty batch: Σ over nothing gives dw = db = 0, both ways. */
    ag_tensor *x = h_keep(ag_zeros(AG_F64, 4, H_SHAPE(0, 2, 5, 4)));
    ag_tensor *w = channel_vec(AG_F64, 2, 1, 0.5), *b = channel_vec(AG_F64, 2, 0, 1);
    ck_assert(ag_set_requires_grad(x, true) && ag_set_requires_grad(w, true) &&
              ag_set_requires_grad(b, true));
    for (int kernels = 0; kernels < 2; kernels++) {
        bool prev = ag_set_grad_kernels(kernels);
        ag_zero_grad(x);
        ag_zero_grad(w);
        ag_zero_grad(b);
        ag_tensor *y = ag_batch_norm(x, NULL, NULL, w, b, true, 0.1, 1e-5);
        ck_assert(ag_backward(ag_sum(y)));
        ag_set_grad_kernels(prev);
        ck_assert_shape(ag_grad_of(x), 4, H_SHAPE(0, 2, 5, 4));
        ck_assert_values(ag_grad_of(w), 2, H_VALS(0, 0), 0, 0);
        ck_assert_values(ag_grad_of(b), 2, H_VALS(0, 0), 0, 0);
    }
    ck_assert_ok();
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors)
{
    ag_tensor *x = h_arr(AG_F64, 4, H_SHAPE(2, 3, 4, 4), NULL);
    ag_tensor *x3 = h_arr(AG_F64, 3, H_SHAPE(3, 4, 4), NULL);
    const int64_t *k2 = H_SHAPE(2, 2);
    ck_assert(!ag_max_pool2d(x3, k2, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "max_pool2d: x has shape (3,4,4); expected (N, C, H, W)");
    ag_error_clear();
    ck_assert(!ag_avg_pool2d(x, H_SHAPE(5, 2), NULL, NULL, true));
    ck_assert_error(AG_ERR_SHAPE, "avg_pool2d: kernel (5,2) is larger than the padded input (4,4) of x (2,3,4,4)");
    ag_error_clear();
    ck_assert(!ag_max_pool2d(x, k2, H_SHAPE(0, 1), NULL));
    ck_assert_error(AG_ERR_VALUE, "max_pool2d: stride (0,1) must be positive");
    ag_error_clear();
    ck_assert(!ag_max_pool2d(x, k2, H_SHAPE(-1, 1), NULL));
    ck_assert_error(AG_ERR_VALUE, "stride (-1,1)");
    ag_error_clear();
    ck_assert(!ag_max_pool2d(x, H_SHAPE(0, 2), NULL, NULL));
    ck_assert_error(AG_ERR_VALUE, "kernel (0,2) must be positive");
    ag_error_clear();
    ck_assert(!ag_avg_pool2d(x, k2, NULL, H_SHAPE(0, -1), false));
    ck_assert_error(AG_ERR_VALUE, "avg_pool2d: padding (0,-1) must not be negative");
    ag_error_clear();
    ck_assert(!ag_max_pool2d(x, H_SHAPE(3, 3), H_SHAPE(1, 1), H_SHAPE(2, 1)));
    ck_assert_error(AG_ERR_VALUE, "max_pool2d: padding (2,1) is more than half the kernel (3,3)");
    ag_error_clear();
    ck_assert(!ag_adaptive_avg_pool2d(x, 0, 2));
    ck_assert_error(AG_ERR_VALUE, "adaptive_avg_pool2d: output size (0,2) must be positive");
    ag_error_clear();
    ck_assert(!ag_adaptive_avg_pool2d(x3, 2, 2));
    ck_assert_error(AG_ERR_SHAPE, "adaptive_avg_pool2d: x has shape (3,4,4)");
    ag_error_clear();
    /* An NHWC batch of 28×28 single-channel images. */
    ag_tensor *nhwc = h_arr(AG_F64, 4, H_SHAPE(8, 28, 28, 1), NULL);
    ck_assert(!ag_max_pool2d(nhwc, k2, NULL, NULL));
    ck_assert_error(AG_ERR_SHAPE, "the NCHW batch would be (8,1,28,28)");
    ag_error_clear();
    ck_assert(!ag_max_pool2d(x, NULL, NULL, NULL));
    ck_assert_error(AG_ERR_NULL, "max_pool2d: kernel is NULL");
    ag_error_clear();

    ag_tensor *c3 = h_arr(AG_F64, 1, H_SHAPE(3), NULL), *c4 = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert(!ag_batch_norm(x, NULL, NULL, c4, NULL, true, 0.1, 1e-5));
    ck_assert_error(AG_ERR_SHAPE, "batch_norm: weight has shape (4); x (2,3,4,4) needs (3)");
    ag_error_clear();
    ck_assert(!ag_batch_norm(x, c4, c3, NULL, NULL, true, 0.1, 1e-5));
    ck_assert_error(AG_ERR_SHAPE, "batch_norm: running_mean has shape (4)");
    ag_error_clear();
    ck_assert(!ag_batch_norm(x, c3, c4, NULL, NULL, false, 0.1, 1e-5));
    ck_assert_error(AG_ERR_SHAPE, "batch_norm: running_var has shape (4)");
    ag_error_clear();
    ck_assert(!ag_batch_norm(x, NULL, NULL, NULL, c4, true, 0.1, 1e-5));
    ck_assert_error(AG_ERR_SHAPE, "batch_norm: bias has shape (4)");
    ag_error_clear();
    ck_assert(!ag_batch_norm(x, c3, NULL, NULL, NULL, false, 0.1, 1e-5));
    ck_assert_error(AG_ERR_VALUE, "batch_norm: evaluation mode (training false) normalises with the running statistics, but running_var is NULL");
    ag_error_clear();
    ck_assert(!ag_batch_norm(h_arr(AG_F64, 2, H_SHAPE(1, 3), NULL), NULL, NULL, NULL, NULL, true,
                             0.1, 1e-5));
    ck_assert_error(AG_ERR_VALUE, "batch_norm: expected more than 1 value per channel when training, got x of shape (1,3)");
    ag_error_clear();
    ck_assert(!ag_batch_norm(h_arr(AG_F64, 1, H_SHAPE(3), NULL), NULL, NULL, NULL, NULL, true, 0.1,
                             1e-5));
    ck_assert_error(AG_ERR_SHAPE, "batch_norm: x has shape (3); expected (N, C) or (N, C, *)");
    ag_error_clear();
    /* An NHWC batch with 3 channels last. */
    ag_tensor *img = h_arr(AG_F64, 4, H_SHAPE(2, 5, 5, 3), NULL);
    ck_assert(!ag_batch_norm(img, NULL, NULL, c3, NULL, true, 0.1, 1e-5));
    ck_assert_error(AG_ERR_SHAPE, "the NCHW batch would be (2,3,5,5)");
    ag_error_clear();
    ck_assert(!ag_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1, -1));
    ck_assert_error(AG_ERR_VALUE, "batch_norm: eps -1");
    ag_error_clear();

    ck_assert(!ag_group_norm(x, 2, NULL, NULL, 1e-5));
    ck_assert_error(AG_ERR_VALUE, "group_norm: 2 groups do not divide the 3 channels of x (2,3,4,4)");
    ag_error_clear();
    ck_assert(!ag_group_norm(x, 3, c4, NULL, 1e-5));
    ck_assert_error(AG_ERR_SHAPE, "group_norm: weight has shape (4); x (2,3,4,4) needs (3)");
    ag_error_clear();
    ck_assert(!ag_layer_norm(x, 5, NULL, NULL, 1e-5));
    ck_assert_error(AG_ERR_VALUE, "layer_norm: n_dims 5 out of range for x of shape (2,3,4,4)");
    ag_error_clear();
    ck_assert(!ag_layer_norm(x, 2, c4, NULL, 1e-5));
    ck_assert_error(AG_ERR_SHAPE, "layer_norm: weight has shape (4); x (2,3,4,4) needs (4,4)");
    ag_error_clear();
    /* Mixed dtypes. */
    ag_tensor *w32 = h_arr(AG_F32, 1, H_SHAPE(3), NULL);
    ck_assert(!ag_batch_norm(x, NULL, NULL, w32, NULL, true, 0.1, 1e-5));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
}
END_TEST

Suite *pool_norm_suite(void);
Suite *pool_norm_suite(void)
{
    Suite *s = suite_create("pool_norm");
    TCase *tc = h_tcase(s, "values", H_TIMEOUT);
    tcase_add_loop_test(tc, test_pool_2x2_by_hand, 0, 2);
    tcase_add_loop_test(tc, test_pool_padded_by_hand, 0, 2);
    tcase_add_loop_test(tc, test_adaptive_5_to_3_by_hand, 0, 2);
    tcase_add_loop_test(tc, test_pools_match_torch, 0, 2);
    tcase_add_loop_test(tc, test_batch_norm_matches_torch, 0, 2);
    tcase_add_loop_test(tc, test_layer_and_group_norm_match_torch, 0, 2);
    tcase_add_test(tc, test_running_stats_bump_version);
    tcase_add_test(tc, test_zero_size_batches);
    tcase_add_loop_test(tc, test_max_pool_realistic_size, 0, 2);
    tcase_add_test(tc, test_errors);
    tcase_add_loop_test(tc, test_batch_norm_realistic_size, 0, 2);
    tc = h_tcase(s, "gradcheck", 300);
    tcase_add_test(tc, test_gradcheck_pools);
    tcase_add_test(tc, test_gradcheck_norms);
    tcase_add_test(tc, test_gradcheck_nodes_network);
    tcase_add_test(tc, test_batch_norm_two_values_per_channel);
    tcase_add_test(tc, test_batch_norm_nodes_and_empty_batch);
    return s;
}

H_MAIN(pool_norm_suite)

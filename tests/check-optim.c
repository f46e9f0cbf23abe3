/* SPDX-License-Identifier: MIT */
/* check-optim.c — the optimizers (SGD with momentum, Nesterov momentum and
 * weight decay, Adam, AdamW, gradient-norm clipping; their state, step
 * counter and learning rate, non-finite gradients, bad settings) and the
 * learning-rate schedules.
 *
 * Every expected value is derived here, independently of the code under
 * test: optimizer trajectories from torch.optim's published update rules
 * written out step by step (a reference optimizer in f64, on a quadratic
 * whose gradient is computed by hand), single steps and gradient norms on
 * larger parameters from loops in double, and schedules from their closed
 * forms with <math.h>.
 *
 * Stores and optimizers are registered with own_*() (models_fixture.h) and
 * freed by models_teardown, so a failing test leaks nothing under
 * CK_FORK=no + valgrind. */
#include "models_fixture.h"

#include <float.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_SQRT1_2
#define M_SQRT1_2 0.70710678118654752440
#endif

/* ------------------------------------------------------------------ */
/* Optimizers against torch.optim's published update rules             */
/* ------------------------------------------------------------------ */

/* The tiny problem: parameters w (3) and fc.bias (2), loss
 *   L = Σ_i (½ a_i w_i² + q_i w_i) + Σ_j (½ c_j b_j² + r_j b_j),
 * so ∂L/∂w = a⊙w + q and ∂L/∂b = c⊙b + r, computed here by hand from the
 * reference trajectory. The gradients differ in sign and size and change
 * from step to step. */
enum { NW = 3, NB = 2, NP = NW + NB };
static const double QA[NW] = {1.0, 2.0, 0.5}, QQ[NW] = {-1.0, 0.5, 2.0}, QW0[NW] = {0.5, -1.0, 2.0};
static const double QC[NB] = {3.0, 1.0}, QR[NB] = {0.25, -2.0}, QB0[NB] = {1.0, -0.5};

static void quad_grad(const double *th, double *g)
{
    for (int i = 0; i < NW; i++)
        g[i] = QA[i] * th[i] + QQ[i];
    for (int j = 0; j < NB; j++)
        g[NW + j] = QC[j] * th[NW + j] + QR[j];
}

typedef struct quad {
    ag_params *p;
    ag_tensor *w, *b, *A, *Q, *C, *R;
} quad;

static quad quad_new(ag_dtype dt)
{
    quad q;
    q.p = own_params(ag_params_new());
    q.w = ag_params_add(q.p, "w", make(dt, 1, H_SHAPE(NW), QW0));
    q.b = ag_params_add(q.p, "fc.bias", make(dt, 1, H_SHAPE(NB), QB0));
    q.A = h_arr(dt, 1, H_SHAPE(NW), QA);
    q.Q = h_arr(dt, 1, H_SHAPE(NW), QQ);
    q.C = h_arr(dt, 1, H_SHAPE(NB), QC);
    q.R = h_arr(dt, 1, H_SHAPE(NB), QR);
    ck_assert(q.w && q.b);
    return q;
}

static ag_tensor *quad_loss(const quad *q)
{
    ag_tensor *lw = ag_add(ag_mul_scalar(ag_mul(q->A, ag_square(q->w)), 0.5), ag_mul(q->Q, q->w));
    ag_tensor *lb = ag_add(ag_mul_scalar(ag_mul(q->C, ag_square(q->b)), 0.5), ag_mul(q->R, q->b));
    return ag_add(ag_sum(lw), ag_sum(lb));
}

/* One training step as ag_train takes it. */
static bool quad_step(const quad *q, ag_optim *o)
{
    ag_optim_zero_grad(o);
    ag_tensor *L = quad_loss(q);
    bool ok = L && ag_backward(L) && ag_optim_step(o);
    ag_tape_reset(NULL);
    return ok;
}

/* The reference optimizer: torch.optim's documented algorithms, written
 * out for one flat parameter vector (dampening 0, maximize off, amsgrad
 * off), preceded by torch.nn.utils.clip_grad_norm_'s global rescaling.
 *   clip:  ‖g‖ = √Σg² over every parameter; if ‖g‖ > c: g ← g·c/‖g‖
 *          (torch divides by ‖g‖ + 1e-6; the library's contract is a norm of
 *          at most c, exactly c after clipping, so no epsilon here)
 *   SGD:   g ← g + λθ;  b ← g at t = 1, μb + g after;
 *          g ← g + μb (Nesterov) or b;  θ ← θ − γg
 *   Adam:  g ← g + λθ;  m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;
 *          θ ← θ − γ (m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)
 *   AdamW: θ ← θ − γλθ first, then Adam without the λθ term. */
typedef struct ref_state {
    double th[NP], b1[NP], b2[NP], norm;
    int t;
} ref_state;

static void ref_step(const ag_optim_config *c, ref_state *s)
{
    double g[NP], ss = 0;
    quad_grad(s->th, g);
    for (int i = 0; i < NP; i++)
        ss += g[i] * g[i];
    s->norm = sqrt(ss);
    if (c->clip_norm > 0 && s->norm > c->clip_norm)
        for (int i = 0; i < NP; i++)
            g[i] *= c->clip_norm / s->norm;
    s->t++;
    double beta1 = c->beta1, beta2 = c->beta2, eps = c->eps; /* zero means zero */
    for (int i = 0; i < NP; i++) {
        double gi = g[i], th = s->th[i];
        if (c->kind == AG_SGD) {
            gi += c->weight_decay * th;
            if (c->momentum != 0) {
                s->b1[i] = s->t > 1 ? c->momentum * s->b1[i] + gi : gi;
                gi = c->nesterov ? gi + c->momentum * s->b1[i] : s->b1[i];
            }
            s->th[i] = th - c->lr * gi;
        } else {
            if (c->kind == AG_ADAMW)
                th -= c->lr * c->weight_decay * th;
            else
                gi += c->weight_decay * th;
            s->b1[i] = beta1 * s->b1[i] + (1 - beta1) * gi;
            s->b2[i] = beta2 * s->b2[i] + (1 - beta2) * gi * gi;
            double mhat = s->b1[i] / (1 - pow(beta1, s->t));
            double vhat = s->b2[i] / (1 - pow(beta2, s->t));
            s->th[i] = th - c->lr * mhat / (sqrt(vhat) + eps);
        }
    }
}

typedef struct optim_case {
    const char *what;
    ag_dtype dtype;
    ag_optim_config cfg;
} optim_case;

static const optim_case optim_cases[] = {
    {"SGD", AG_F64, {.kind = AG_SGD, .lr = 0.1}},
    {"SGD momentum", AG_F64, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9}},
    {"SGD Nesterov", AG_F64, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true}},
    {"SGD weight decay", AG_F64, {.kind = AG_SGD, .lr = 0.1, .weight_decay = 0.3}},
    {"SGD momentum + weight decay", AG_F64,
     {.kind = AG_SGD, .lr = 0.05, .momentum = 0.8, .weight_decay = 0.3}},
    {"SGD Nesterov + weight decay", AG_F64,
     {.kind = AG_SGD, .lr = 0.05, .momentum = 0.5, .nesterov = true, .weight_decay = 0.2}},
    {"Adam (default betas, eps)", AG_F64, {.kind = AG_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999,
                                           .eps = 1e-8}},
    /* Zero means zero: β1 = 0 (no first-moment averaging), β2 = 0. */
    {"Adam beta1 = 0", AG_F64, {.kind = AG_ADAM, .lr = 0.1, .beta1 = 0, .beta2 = 0.999, .eps = 1e-8}},
    {"Adam beta2 = 0", AG_F64, {.kind = AG_ADAM, .lr = 0.05, .beta1 = 0.9, .beta2 = 0, .eps = 1e-8}},
    {"Adam (betas 0.8/0.99, eps 1e-3)", AG_F64,
     {.kind = AG_ADAM, .lr = 0.2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3}},
    {"Adam + L2 weight decay", AG_F64, {.kind = AG_ADAM, .lr = 0.1, .weight_decay = 0.5,
                                        .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}},
    {"AdamW", AG_F64, {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.5, .beta1 = 0.9,
                       .beta2 = 0.999, .eps = 1e-8}},
    {"AdamW (betas 0.5/0.9)", AG_F64,
     {.kind = AG_ADAMW, .lr = 0.3, .beta1 = 0.5, .beta2 = 0.9, .weight_decay = 0.1, .eps = 1e-8}},
    /* The first gradient's norm is √28.3125 ≈ 5.32: clip_norm 1 clips
     * every step, 100 never does. */
    {"SGD clipped", AG_F64, {.kind = AG_SGD, .lr = 0.1, .clip_norm = 1.0}},
    {"SGD momentum clipped + weight decay", AG_F64,
     {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 0.3, .clip_norm = 2.0}},
    {"Adam clipped + weight decay", AG_F64,
     {.kind = AG_ADAM, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 1.0, .beta1 = 0.9,
      .beta2 = 0.999, .eps = 1e-8}},
    {"AdamW clipped", AG_F64, {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 0.5,
                               .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}},
    {"SGD clip above the norm", AG_F64, {.kind = AG_SGD, .lr = 0.1, .clip_norm = 100.0}},
    /* f32 parameters and state, updated in f32 arithmetic: the reference
     * runs in f64, so the difference is f32 rounding of a few operations
     * per step. One case per update loop (plain, weight decay, momentum,
     * Nesterov, Adam, AdamW), with and without clipping. */
    {"SGD Nesterov f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true}},
    {"AdamW f32", AG_F32, {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 1.0,
                           .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}},
    {"SGD f32", AG_F32, {.kind = AG_SGD, .lr = 0.1}},
    {"SGD clipped f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .clip_norm = 1.0}},
    {"SGD weight decay f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .weight_decay = 0.3}},
    {"SGD momentum f32", AG_F32, {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9}},
    {"SGD momentum clipped + weight decay f32", AG_F32,
     {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 0.3, .clip_norm = 2.0}},
    {"Adam f32", AG_F32, {.kind = AG_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}},
    {"Adam (betas 0.8/0.99, eps 1e-3) f32", AG_F32,
     {.kind = AG_ADAM, .lr = 0.2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3}},
    {"Adam clipped + weight decay f32", AG_F32,
     {.kind = AG_ADAM, .lr = 0.1, .weight_decay = 0.5, .clip_norm = 1.0, .beta1 = 0.9,
      .beta2 = 0.999, .eps = 1e-8}},
};

static void check_state_tensor(ag_params *state, const char *key, size_t n, const double *want,
                               double rtol, double atol)
{
    ag_tensor *t = ag_params_get(state, key);
    ck_assert_msg(t != NULL, "no optimizer state named %s", key);
    ck_assert_values(t, n, want, rtol, atol);
}

START_TEST(test_optim_formulas)
{
    const optim_case *oc = &optim_cases[_i];
    const ag_optim_config *c = &oc->cfg;
    /* f64: a step is a few roundings of O(1) values (1e-12 relative, see
     * harness.h); f32: 1e-5 relative over three steps of O(1) values. */
    double rtol = oc->dtype == AG_F64 ? H_RTOL_F64 : 1e-5;
    double atol = oc->dtype == AG_F64 ? 1e-15 : 1e-6;
    quad q = quad_new(oc->dtype);
    ag_optim *o = own_optim(ag_optim_new(q.p, c));
    ck_assert_msg(o != NULL, "%s: %s", oc->what, ag_last_error());
    ck_assert_uint_eq(ag_optim_steps(o), 0);
    ck_assert_f64(ag_optim_lr(o), c->lr);

    ref_state s = {.t = 0};
    memcpy(s.th, QW0, sizeof QW0);
    memcpy(s.th + NW, QB0, sizeof QB0);
    bool clipped = false;
    for (int step = 1; step <= 3; step++) {
        ck_assert_msg(quad_step(&q, o), "%s, step %d: %s", oc->what, step, ag_last_error());
        ref_step(c, &s);
        clipped |= c->clip_norm > 0 && s.norm > c->clip_norm;
        ck_assert_uint_eq(ag_optim_steps(o), (uint64_t)step);
        ck_assert_msg(h_near(ag_optim_last_grad_norm(o), s.norm, rtol, atol),
                      "%s, step %d: gradient norm %.17g, expected %.17g", oc->what, step,
                      ag_optim_last_grad_norm(o), s.norm);
        for (int i = 0; i < NP; i++) {
            double got = i < NW ? ag_get_flat(q.w, (size_t)i) : ag_get_flat(q.b, (size_t)(i - NW));
            ck_assert_msg(h_near(got, s.th[i], rtol, atol),
                          "%s, step %d, parameter %d: %.17g, expected %.17g", oc->what, step, i,
                          got, s.th[i]);
        }
    }
    if (c->clip_norm > 0 && c->clip_norm < 5)
        ck_assert_msg(clipped, "%s: the case should clip", oc->what);

    /* The state, by name: "momentum_buffer.<name>" for SGD with momentum,
     * "exp_avg.<name>" and "exp_avg_sq.<name>" for Adam and AdamW, none for
     * plain SGD. */
    ag_params *st = ag_optim_state(o);
    ck_assert(st != NULL);
    if (c->kind == AG_SGD) {
        ck_assert_uint_eq(ag_params_count(st), c->momentum > 0 ? 2 : 0);
        if (c->momentum > 0) {
            check_state_tensor(st, "momentum_buffer.w", NW, s.b1, rtol, atol);
            check_state_tensor(st, "momentum_buffer.fc.bias", NB, s.b1 + NW, rtol, atol);
        }
    } else {
        ck_assert_uint_eq(ag_params_count(st), 4);
        check_state_tensor(st, "exp_avg.w", NW, s.b1, rtol, atol);
        check_state_tensor(st, "exp_avg.fc.bias", NB, s.b1 + NW, rtol, atol);
        check_state_tensor(st, "exp_avg_sq.w", NW, s.b2, rtol, atol);
        check_state_tensor(st, "exp_avg_sq.fc.bias", NB, s.b2 + NW, rtol, atol);
    }
    for (size_t i = 0; i < ag_params_count(st); i++)
        ck_assert(!ag_requires_grad(ag_params_at(st, i, NULL)));
}
END_TEST

/* PyTorch's defaults (torch.optim.SGD, Adam, AdamW: lr 1e-3, betas 0.9 and
 * 0.999, eps 1e-8, AdamW's weight_decay 0.01) from ag_optim_defaults; a
 * zero left in a config is zero, and Adam's eps 0 is refused, naming eps. */
START_TEST(test_optim_defaults_and_zero)
{
    ag_optim_config sgd = ag_optim_defaults(AG_SGD), adam = ag_optim_defaults(AG_ADAM),
                    adamw = ag_optim_defaults(AG_ADAMW);
    ck_assert(sgd.kind == AG_SGD && sgd.lr == 1e-3 && sgd.momentum == 0 && !sgd.nesterov &&
              sgd.beta1 == 0 && sgd.beta2 == 0 && sgd.eps == 0 && sgd.weight_decay == 0 &&
              sgd.clip_norm == 0);
    ck_assert(adam.kind == AG_ADAM && adam.lr == 1e-3 && adam.beta1 == 0.9 &&
              adam.beta2 == 0.999 && adam.eps == 1e-8 && adam.weight_decay == 0 &&
              adam.clip_norm == 0);
    ck_assert(adamw.kind == AG_ADAMW && adamw.lr == 1e-3 && adamw.beta1 == 0.9 &&
              adamw.beta2 == 0.999 && adamw.eps == 1e-8 && adamw.weight_decay == 0.01);
    quad q = quad_new(AG_F64);
    ck_assert(ag_optim_new(q.p, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.1}) == NULL);
    ck_assert_error(AG_ERR_VALUE, "eps is 0; it must be > 0 and finite (ag_optim_defaults sets 1e-8)");
    ag_error_clear();
    ag_optim_config got;
    ag_optim *o = own_optim(ag_optim_new(q.p, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.1,
                                                                 .eps = 1e-8}));
    ck_assert(ag_optim_config_get(o, &got));
    ck_assert(got.beta1 == 0 && got.beta2 == 0 && got.eps == 1e-8);
}
END_TEST

/* The step counter drives Adam's bias correction: restoring it (as a
 * checkpoint does) continues the reference trajectory exactly; an lr set
 * between steps is the one used. */
START_TEST(test_optim_steps_and_lr)
{
    ag_optim_config c = {.kind = AG_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    quad q = quad_new(AG_F64);
    ag_optim *o = own_optim(ag_optim_new(q.p, &c));
    ref_state s = {.t = 0};
    memcpy(s.th, QW0, sizeof QW0);
    memcpy(s.th + NW, QB0, sizeof QB0);
    ck_assert(quad_step(&q, o));
    ref_step(&c, &s);
    /* Pretend 9 steps were taken: the next step is step 10 in the bias
     * corrections. */
    ag_optim_set_steps(o, 9);
    ck_assert_uint_eq(ag_optim_steps(o), 9);
    s.t = 9;
    ck_assert(ag_optim_set_lr(o, 0.02));
    c.lr = 0.02;
    ck_assert_f64(ag_optim_lr(o), 0.02);
    ck_assert(quad_step(&q, o));
    ref_step(&c, &s);
    ck_assert_uint_eq(ag_optim_steps(o), 10);
    for (int i = 0; i < NP; i++) {
        double got = i < NW ? ag_get_flat(q.w, (size_t)i) : ag_get_flat(q.b, (size_t)(i - NW));
        ck_assert_f64(got, s.th[i]);
    }
    /* A bad rate is refused with a message, and the rate kept. */
    ck_assert(!ag_optim_set_lr(o, -1.0));
    ck_assert_error(AG_ERR_VALUE, "optim_set_lr: learning rate -1");
    ag_error_clear();
    ck_assert(!ag_optim_set_lr(o, NAN));
    ck_assert_error(AG_ERR_VALUE, "must be >= 0 and finite (kept 0.02)");
    ag_error_clear();
    ck_assert_f64(ag_optim_lr(o), 0.02);
    ck_assert(!ag_optim_set_lr(NULL, 0.1));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_uint_eq(ag_optim_steps(NULL), 0);
    ck_assert(isnan(ag_optim_lr(NULL)));
    ck_assert_ptr_null(ag_optim_state(NULL));
}
END_TEST

/* A parameter that no gradient reached is left alone, and so is its state;
 * an integer tensor in the store gets no state and is never touched. */
START_TEST(test_optim_untouched_parameters)
{
    ag_params *p = own_params(ag_params_new());
    ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(2), H_VALS(1, -1)));
    ag_tensor *u = ag_params_add(p, "unused.weight", make(AG_F64, 1, H_SHAPE(2), H_VALS(3, 4)));
    ag_tensor *k = ag_params_add(p, "count", make(AG_I64, 0, NULL, H_VALS(42)));
    ag_optim *o = own_optim(ag_optim_new(p, &(ag_optim_config){.kind = AG_ADAMW, .lr = 0.1,
                                                               .weight_decay = 0.5, .beta1 = 0.9,
.beta2 = 0.999, .eps = 1e-8}));
    ck_assert(o != NULL);
    ag_params *st = ag_optim_state(o);
    ck_assert_uint_eq(ag_params_count(st), 4); /* exp_avg and exp_avg_sq of w and unused */
    ck_assert_ptr_null(ag_params_get(st, "exp_avg.count"));
    ag_error_clear();
    for (int step = 0; step < 3; step++) {
        ag_optim_zero_grad(o);
        ck_assert(ag_backward(ag_sum(ag_square(w))));
        ck_assert(ag_optim_step(o));
        ag_tape_reset(NULL);
    }
    ck_assert(ag_get_flat(u, 0) == 3.0 && ag_get_flat(u, 1) == 4.0);
    ck_assert(ag_get_flat(k, 0) == 42.0);
    ck_assert(ag_get_flat(ag_params_get(st, "exp_avg.unused.weight"), 0) == 0.0);
    ck_assert(ag_get_flat(w, 0) != 1.0);
}
END_TEST

/* A NaN or Inf anywhere in the gradients: AG_ERR_NUMERIC, and nothing
 * changes — no parameter (not even those with finite gradients), no state,
 * no step count. */
START_TEST(test_optim_nonfinite_gradient)
{
    const double bad[] = {NAN, INFINITY, -INFINITY};
    const ag_optim_config cfgs[] = {
        {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9},
        {.kind = AG_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
        {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.1, .clip_norm = 1.0, .beta1 = 0.9,
         .beta2 = 0.999, .eps = 1e-8},
    };
    for (size_t ci = 0; ci < H_COUNT(cfgs); ci++)
        for (size_t bi = 0; bi < H_COUNT(bad); bi++) {
            ag_params *p = own_params(ag_params_new());
            ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3)));
            ag_tensor *b = ag_params_add(p, "b", make(AG_F64, 1, H_SHAPE(2), H_VALS(-1, 1)));
            ag_tensor *K = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(0.5, -0.25, 2));
            ag_optim *o = own_optim(ag_optim_new(p, &cfgs[ci]));
            ck_assert(o != NULL);
            /* L = Σ K⊙w + Σ b²: dL/dw = K. A good step first, so the state
             * holds values that must survive. */
            ag_optim_zero_grad(o);
            ck_assert(ag_backward(ag_add(ag_sum(ag_mul(K, w)), ag_sum(ag_square(b)))));
            ck_assert(ag_optim_step(o));
            ag_tape_reset(NULL);

            double w0[3], b0[2];
            memcpy(w0, ag_data(w), sizeof w0);
            memcpy(b0, ag_data(b), sizeof b0);
            ag_params *st = ag_optim_state(o);
            double st0[4][3] = {{0}};
            for (size_t i = 0; i < ag_params_count(st); i++)
                memcpy(st0[i], ag_data(ag_params_at(st, i, NULL)),
                       ag_numel(ag_params_at(st, i, NULL)) * sizeof(double));

            ck_assert(ag_set_flat(K, 1, bad[bi]));
            ag_optim_zero_grad(o);
            ck_assert(ag_backward(ag_add(ag_sum(ag_mul(K, w)), ag_sum(ag_square(b)))));
            ck_assert(!ag_optim_step(o));
            ck_assert_status(AG_ERR_NUMERIC);
            ag_error_clear();
            ag_tape_reset(NULL);
            ck_assert_msg(memcmp(ag_data(w), w0, sizeof w0) == 0, "config %zu: w changed", ci);
            ck_assert_msg(memcmp(ag_data(b), b0, sizeof b0) == 0, "config %zu: b changed", ci);
            for (size_t i = 0; i < ag_params_count(st); i++)
                ck_assert_msg(memcmp(st0[i], ag_data(ag_params_at(st, i, NULL)),
                                     ag_numel(ag_params_at(st, i, NULL)) * sizeof(double)) == 0,
                              "config %zu: state %zu changed", ci, i);
            ck_assert_uint_eq(ag_optim_steps(o), 1);

            /* Fixed, training goes on. */
            ck_assert(ag_set_flat(K, 1, -0.25));
            ag_optim_zero_grad(o);
            ck_assert(ag_backward(ag_add(ag_sum(ag_mul(K, w)), ag_sum(ag_square(b)))));
            ck_assert(ag_optim_step(o));
            ag_tape_reset(NULL);
            ck_assert_uint_eq(ag_optim_steps(o), 2);
            ck_assert(ag_get_flat(w, 0) != w0[0]);
        }
}
END_TEST

/* ---- the update loops and the norm pass on larger parameters ----
 *
 * The optimizer sums f32 squares in blocks of 1024 elements (16 lanes of
 * f32, each block added into a double) and recounts in double when that sum
 * overflows, underflows or is NaN; the parameters below span several
 * blocks and a tail that is not a multiple of 16. Gradients are set
 * exactly: the gradient of Σ K⊙w with respect to w is K. */

/* Backward of Σ K_j⊙w_j for each pair (one sweep each, as the pairs may
 * differ in dtype), so that w_j's gradient (zeroed before) is K_j. */
static void set_grads(size_t n, ag_tensor *const *w, ag_tensor *const *K)
{
    for (size_t j = 0; j < n; j++) {
        ag_tensor *L = ag_sum(ag_mul(K[j], w[j]));
        ck_assert_msg(L && ag_backward(L), "pair %zu: %s", j, ag_last_error());
    }
}

/* √Σ K_j² over the pairs' values as stored, in double. */
static double norm_ref(size_t n, ag_tensor *const *K)
{
    double ss = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < ag_numel(K[j]); i++)
            ss += ag_get_flat(K[j], i) * ag_get_flat(K[j], i);
    return sqrt(ss);
}

/* Plain SGD on an f32 parameter of 1037 elements (a block and a tail of
 * 13): w − γ·s·g by hand, s = c/‖g‖ when clipping. The library computes in
 * f32: γ and s·g rounded, then the difference, so each element is within
 * 2^-23·(|w| + |γsg|) of the exact value, plus the error of ‖g‖ (at most
 * 2e-6 relative) through s. */
START_TEST(test_optim_sgd_f32_by_hand)
{
    enum { N = 1037 };
    const double lr = 0.05;
    for (int clip = 0; clip < 2; clip++) {
        ag_rng rng;
        ag_rng_seed(&rng, 31);
        ag_params *p = own_params(ag_params_new());
        ag_tensor *w = ag_params_add(p, "w", ag_rand_uniform(AG_F32, 1, H_SHAPE(N), -1, 1, &rng));
        ag_tensor *K = h_rand(AG_F32, 1, H_SHAPE(N), -2, 2, &rng);
        ck_assert(w && K);
        double gnorm = norm_ref(1, &K);
        double clip_norm = clip ? gnorm / 3 : 0, s = clip ? clip_norm / gnorm : 1;
        ag_optim *o = own_optim(
            ag_optim_new(p, &(ag_optim_config){.kind = AG_SGD, .lr = lr, .clip_norm = clip_norm}));
        ck_assert(o != NULL);
        double w0[N];
        for (size_t i = 0; i < N; i++)
            w0[i] = ag_get_flat(w, i);
        ag_optim_zero_grad(o);
        set_grads(1, &w, &K);
        ck_assert_msg(ag_optim_step(o), "%s", ag_last_error());
        ag_tape_reset(NULL);
        ck_assert_near(ag_optim_last_grad_norm(o), gnorm, 2e-6, 0);
        for (size_t i = 0; i < N; i++) {
            double step = lr * s * ag_get_flat(K, i), want = w0[i] - step;
            double tol = FLT_EPSILON * (fabs(w0[i]) + fabs(step)) + (clip ? 3e-6 * fabs(step) : 0);
            double got = ag_get_flat(w, i);
            ck_assert_msg(fabs(got - want) <= tol && got != w0[i],
                          "clip %d, element %zu: %.9g, expected %.9g (from %.9g)", clip, i, got,
                          want, w0[i]);
        }
    }
}
END_TEST

/* ‖g‖ over several parameters of both precisions (a 3000x2 f32 one: five
 * full blocks and a tail; an f64 one; a 7-element f32 bias), against a
 * double sum here: at gradients of order 1, at 1e20 (f32 squares
 * overflow, so the norm is recounted in double) and at 1e-25 (f32 squares
 * underflow: recounted too). The f32 part rounds to 2e-6 relative at most;
 * a recount is exact to f64 rounding. The step is taken in every case. */
START_TEST(test_optim_norm_many_blocks)
{
    const double scales[] = {1.0, 1e20, 1e-25};
    for (size_t si = 0; si < H_COUNT(scales); si++) {
        ag_rng rng;
        ag_rng_seed(&rng, 7);
        double a = scales[si];
        ag_params *p = own_params(ag_params_new());
        ag_tensor *w[3], *K[3];
        w[0] = ag_params_add(p, "fc.weight", ag_zeros(AG_F32, 2, H_SHAPE(3000, 2)));
        w[1] = ag_params_add(p, "g", ag_zeros(AG_F64, 1, H_SHAPE(2500)));
        w[2] = ag_params_add(p, "fc.bias", ag_zeros(AG_F32, 1, H_SHAPE(7)));
        K[0] = h_rand(AG_F32, 2, H_SHAPE(3000, 2), -2 * a, 2 * a, &rng);
        K[1] = h_rand(AG_F64, 1, H_SHAPE(2500), -a, a, &rng);
        K[2] = h_rand(AG_F32, 1, H_SHAPE(7), -a, a, &rng);
        ag_optim *o = own_optim(ag_optim_new(p, &(ag_optim_config){.kind = AG_SGD, .lr = 0}));
        ck_assert(o != NULL);
        ag_optim_zero_grad(o);
        set_grads(3, w, K);
        ck_assert_msg(ag_optim_step(o), "scale %g: %s", a, ag_last_error());
        ag_tape_reset(NULL);
        double want = norm_ref(3, K), got = ag_optim_last_grad_norm(o);
        ck_assert_msg(want > 0 && isfinite(want), "scale %g: reference norm %g", a, want);
        ck_assert_msg(h_near(got, want, si == 0 ? 2e-6 : 1e-12, 0),
                      "scale %g: norm %.17g, expected %.17g", a, got, want);
    }
}
END_TEST

/* A NaN or Inf far past the first block of the norm pass (element 5000 of
 * a 3000x2 f32 gradient) is found: the step is refused, and neither
 * parameter nor any state tensor changes. */
START_TEST(test_optim_nonfinite_far)
{
    const double bad[] = {NAN, INFINITY, -INFINITY};
    const ag_optim_config cfgs[] = {
        {.kind = AG_SGD, .lr = 0.1},
        {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 0.01},
        {.kind = AG_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
    };
    enum { NWB = 3000 * 2, NBB = 5 };
    for (size_t ci = 0; ci < H_COUNT(cfgs); ci++)
        for (size_t bi = 0; bi < H_COUNT(bad); bi++) {
            ag_rng rng;
            ag_rng_seed(&rng, 3);
            ag_params *p = own_params(ag_params_new());
            ag_tensor *w[2], *K[2];
            w[0] = ag_params_add(p, "w", ag_rand_uniform(AG_F32, 2, H_SHAPE(3000, 2), -1, 1, &rng));
            w[1] = ag_params_add(p, "b", ag_rand_uniform(AG_F32, 1, H_SHAPE(NBB), -1, 1, &rng));
            K[0] = h_rand(AG_F32, 2, H_SHAPE(3000, 2), -1, 1, &rng);
            K[1] = h_rand(AG_F32, 1, H_SHAPE(NBB), -1, 1, &rng);
            ag_optim *o = own_optim(ag_optim_new(p, &cfgs[ci]));
            ck_assert(o != NULL);
            ag_optim_zero_grad(o);
            set_grads(2, w, K);
            ck_assert(ag_optim_step(o));
            ag_tape_reset(NULL);

            static float w0[NWB], b0[NBB], st0[4][NWB];
            memcpy(w0, ag_data(w[0]), sizeof w0);
            memcpy(b0, ag_data(w[1]), sizeof b0);
            ag_params *st = ag_optim_state(o);
            ck_assert_uint_le(ag_params_count(st), 4);
            for (size_t i = 0; i < ag_params_count(st); i++) {
                const ag_tensor *t = ag_params_at(st, i, NULL);
                memcpy(st0[i], ag_data_const(t), ag_numel(t) * sizeof(float));
            }

            ck_assert(ag_set_flat(K[0], 5000, bad[bi]));
            ag_optim_zero_grad(o);
            set_grads(2, w, K);
            ck_assert(!ag_optim_step(o));
            ck_assert_status(AG_ERR_NUMERIC);
            ag_error_clear();
            ag_tape_reset(NULL);
            ck_assert(!isfinite(ag_optim_last_grad_norm(o)));
            ck_assert_msg(memcmp(ag_data(w[0]), w0, sizeof w0) == 0, "config %zu: w changed", ci);
            ck_assert_msg(memcmp(ag_data(w[1]), b0, sizeof b0) == 0, "config %zu: b changed", ci);
            for (size_t i = 0; i < ag_params_count(st); i++) {
                const ag_tensor *t = ag_params_at(st, i, NULL);
                ck_assert_msg(memcmp(st0[i], ag_data_const(t), ag_numel(t) * sizeof(float)) == 0,
                              "config %zu: state %zu changed", ci, i);
            }
            ck_assert_uint_eq(ag_optim_steps(o), 1);
        }
}
END_TEST

/* A step after ag_optim_zero_grad with no backward sees zero gradients:
 * plain SGD leaves w as it is and reports a norm of 0; SGD with momentum
 * moves w by γμb only (b the first step's gradient). So does ag_sgd_update.
 * (A zeroed gradient may only be marked zero, its buffer still holding the
 * last values; the optimizer must read it through ag_grad_of.) */
START_TEST(test_optim_zeroed_gradient)
{
    const double W0[3] = {1, -2, 0.5}, G[3] = {0.25, -1, 2};
    const double lr = 0.1, mu = 0.5;
    for (int momentum = 0; momentum < 2; momentum++) {
        ag_params *p = own_params(ag_params_new());
        ag_tensor *w = ag_params_add(p, "w", make(AG_F32, 1, H_SHAPE(3), W0));
        ag_tensor *K = h_arr(AG_F32, 1, H_SHAPE(3), G);
        ag_optim *o = own_optim(ag_optim_new(
            p, &(ag_optim_config){.kind = AG_SGD, .lr = lr, .momentum = momentum ? mu : 0}));
        ck_assert(o != NULL);
        ag_optim_zero_grad(o);
        set_grads(1, &w, &K);
        ck_assert(ag_optim_step(o));
        ag_tape_reset(NULL);
        ag_optim_zero_grad(o);
        ck_assert(ag_optim_step(o));
        ck_assert(ag_optim_last_grad_norm(o) == 0.0);
        for (size_t i = 0; i < 3; i++) {
            double want = W0[i] - lr * G[i] - (momentum ? lr * mu * G[i] : 0);
            ck_assert_near(ag_get_flat(w, i), want, H_RTOL_F32, H_ATOL_F32);
        }
        double w1 = ag_get_flat(w, 1);
        ck_assert(ag_sgd_update(w, 1.0));
        ck_assert(ag_get_flat(w, 1) == w1);
    }
}
END_TEST

START_TEST(test_optim_bad_settings)
{
    ag_params *p = own_params(ag_params_new());
    ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(2), NULL));
    const ag_optim_config bad[] = {
        {.kind = AG_SGD, .lr = -0.1},
        {.kind = AG_SGD, .lr = NAN},
        {.kind = AG_SGD, .lr = 0.1, .momentum = -0.5},
        {.kind = AG_SGD, .lr = 0.1, .momentum = 1.0},
        {.kind = AG_SGD, .lr = 0.1, .momentum = NAN},
        {.kind = AG_SGD, .lr = 0.1, .nesterov = true}, /* Nesterov needs momentum */
        {.kind = AG_SGD, .lr = 0.1, .weight_decay = -1e-4},
        {.kind = AG_SGD, .lr = 0.1, .clip_norm = -1.0},
        {.kind = AG_ADAM, .lr = 0.1, .beta1 = 1.0, .beta2 = 0.999, .eps = 1e-8},
        {.kind = AG_ADAM, .lr = 0.1, .beta1 = -0.1, .beta2 = 0.999, .eps = 1e-8},
        {.kind = AG_ADAM, .lr = 0.1, .beta2 = 1.0, .beta1 = 0.9, .eps = 1e-8},
        {.kind = AG_ADAM, .lr = 0.1, .beta2 = 1.5, .beta1 = 0.9, .eps = 1e-8},
        {.kind = AG_ADAM, .lr = 0.1, .eps = -1e-8, .beta1 = 0.9, .beta2 = 0.999},
        {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = NAN, .beta1 = 0.9, .beta2 = 0.999,
         .eps = 1e-8},
        {.kind = (ag_optim_kind)7, .lr = 0.1},
    };
    for (size_t i = 0; i < H_COUNT(bad); i++) {
        ag_optim *o = ag_optim_new(p, &bad[i]);
        if (o)
            ag_optim_free(o);
        ck_assert_msg(o == NULL, "bad config %zu accepted", i);
        ck_assert_msg(ag_last_status() == AG_ERR_VALUE, "bad config %zu: status %s", i,
                      ag_status_str(ag_last_status()));
        ag_error_clear();
    }
    ck_assert_ptr_null(ag_optim_new(NULL, &bad[0]));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_ptr_null(ag_optim_new(p, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_optim_step(NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ag_optim_free(NULL);

    /* lr 0 is allowed (a frozen run); a store that grew after the
     * optimizer was made is an error, not a read past the state arrays. */
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    oc.lr = 0;
    ag_optim *o = own_optim(ag_optim_new(p, &oc));
    ck_assert(o != NULL);
    ag_params_add(p, "late", make(AG_F64, 1, H_SHAPE(2), NULL));
    ck_assert(!ag_optim_step(o));
    ck_assert_status(AG_ERR_STATE);
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Learning-rate schedules                                             */
/* ------------------------------------------------------------------ */

START_TEST(test_schedules)
{
    ag_schedule_config k = {.kind = AG_SCHEDULE_CONSTANT, .base_lr = 0.3};
    ck_assert_f64(ag_schedule_lr(&k, 0), 0.3);
    ck_assert_f64(ag_schedule_lr(&k, 1000000), 0.3);

    /* StepLR: base · γ^⌊t / step_size⌋. */
    ag_schedule_config s = {.kind = AG_SCHEDULE_STEP, .base_lr = 0.1, .step_size = 3, .gamma = 0.5};
    const double want[] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125};
    for (uint64_t t = 0; t < H_COUNT(want); t++)
        ck_assert_f64(ag_schedule_lr(&s, t), want[t]);
    ck_assert_f64(ag_schedule_lr(&s, 3 * 20), 0.1 * pow(0.5, 20));

    /* Cosine annealing (SGDR without restarts):
     * min + (base − min)(1 + cos(πt/T))/2, then min from t = T on.
     * At T/4, T/2, 3T/4 the cosine is 1/√2, 0, −1/√2. */
    ag_schedule_config c = {
        .kind = AG_SCHEDULE_COSINE, .base_lr = 0.1, .total = 100, .min_lr = 0.001};
    ck_assert_f64(ag_schedule_lr(&c, 0), 0.1);
    ck_assert_f64(ag_schedule_lr(&c, 25), 0.001 + 0.099 * (1 + M_SQRT1_2) / 2);
    ck_assert_f64(ag_schedule_lr(&c, 50), 0.001 + 0.099 / 2);
    ck_assert_f64(ag_schedule_lr(&c, 75), 0.001 + 0.099 * (1 - M_SQRT1_2) / 2);
    ck_assert_f64(ag_schedule_lr(&c, 100), 0.001);
    ck_assert_f64(ag_schedule_lr(&c, 5000), 0.001);
    ck_assert_f64(ag_schedule_lr(&c, 10), 0.001 + 0.099 * (1 + cos(M_PI / 10)) / 2);
    double prev = INFINITY;
    for (uint64_t t = 0; t <= 100; t++) {
        double lr = ag_schedule_lr(&c, t);
        ck_assert(lr < prev && lr >= 0.001 && lr <= 0.1);
        prev = lr;
    }
    ck_assert(isnan(ag_schedule_lr(NULL, 0)));
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc;

    tc = h_tcase(s, "optim", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_loop_test(tc, test_optim_formulas, 0, (int)H_COUNT(optim_cases));
    tcase_add_test(tc, test_optim_steps_and_lr);
    tcase_add_test(tc, test_optim_defaults_and_zero);
    tcase_add_test(tc, test_optim_untouched_parameters);
    tcase_add_test(tc, test_optim_nonfinite_gradient);
    tcase_add_test(tc, test_optim_sgd_f32_by_hand);
    tcase_add_test(tc, test_optim_norm_many_blocks);
    tcase_add_test(tc, test_optim_nonfinite_far);
    tcase_add_test(tc, test_optim_zeroed_gradient);
    tcase_add_test(tc, test_optim_bad_settings);

    tc = h_tcase(s, "schedule", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_schedules);

    return s;
}

H_MAIN(optim_suite)

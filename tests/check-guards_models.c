/* SPDX-License-Identifier: MIT */
/* check-guards_models.c — the models layer's guards against misuse and
 * corrupted input (issue 12): each defect found by probing, at the size
 * that broke it, and a test of the whole class behind it.
 *
 * - The parameter store never frees a tensor it holds: every refusal path
 *   of ag_params_add given a tensor the store already owns.
 * - Checkpoints: every metadata field set to absurd values (negative, huge,
 *   NaN, Inf, not a number, empty, u64 max, betas >= 1, ...) and values
 *   training cannot go on from (NaN, negative second moments), each refused
 *   with the field named, leaving the model and the optimizer unchanged.
 * - Optimizers: every kind stepping at the step counter's limit, with
 *   coefficients that are not finite in the parameters' precision, and with
 *   updates that overflow: never a NaN or Inf parameter with success.
 * - Losses: every loss given mismatched shapes.
 * - Updates without a gradient: requires_grad never set, or no backward.
 * - Constructors: every enum, dtype and size argument out of range; labels
 *   out of range in evaluation and training.
 *
 * Expected values come from the formulas, worked out here (Adam's first
 * step at t = 2^53, where β^t underflows to 0 and the bias corrections
 * are 1), or are the inputs themselves (nothing may change). */
#include "models_fixture.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

/* Stores equal in names, dtypes, shapes and bytes. */
static void assert_same_store(const ag_params *a, const ag_params *b, const char *what)
{
    ck_assert_msg(ag_params_count(a) == ag_params_count(b), "%s: %zu tensors, expected %zu",
                  what, ag_params_count(b), ag_params_count(a));
    for (size_t i = 0; i < ag_params_count(a); i++) {
        const char *na, *nb;
        ag_tensor *ta = ag_params_at(a, i, &na), *tb = ag_params_at(b, i, &nb);
        ck_assert_str_eq(na, nb);
        ck_assert_uint_eq(ag_numel(ta), ag_numel(tb));
        size_t bytes = ag_numel(ta) * (ag_tensor_dtype(ta) == AG_F32 ? 4 : 8);
        ck_assert_msg(bytes == 0 || memcmp(ag_data(ta), ag_data(tb), bytes) == 0,
                      "%s: '%s' changed", what, na);
    }
}

/* ------------------------------------------------------------------ */
/* Item 3: a tensor the store already holds                            */
/* ------------------------------------------------------------------ */

START_TEST(test_params_same_tensor_twice)
{
    ag_params *p = own_params(ag_params_new());
    ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(3), H_VALS(1, 2, 3)));
    ck_assert_tensor(w);
    /* The two probes: the same tensor under the same name, and
     * under a second name. Both refused; w stays the store's, intact (a
     * freed w would be caught by ASan/valgrind here and at the teardown's
     * ag_params_free). */
    ck_assert_ptr_null(ag_params_add(p, "w", w));
    ck_assert_error(AG_ERR_VALUE, "already in the store as 'w'");
    ag_error_clear();
    ck_assert_ptr_null(ag_params_add(p, "w2", w));
    ck_assert_error(AG_ERR_VALUE, "the tensor given for 'w2' is already in the store as 'w'");
    ag_error_clear();
    ck_assert_uint_eq(ag_params_count(p), 1);
    ck_assert_ptr_eq(ag_params_get(p, "w"), w);
    ck_assert_values_f64(w, 3, H_VALS(1, 2, 3));
    ck_assert(ag_requires_grad(w));
}
END_TEST

/* The class: every refusal of ag_params_add, given a tensor the store
 * holds, leaves it alone — the checks that free a refused tensor (bad name,
 * NULL name, taken name) must not reach it. */
START_TEST(test_params_held_tensor_every_refusal)
{
    ag_params *p = own_params(ag_params_new());
    ag_tensor *a = ag_params_add(p, "a", make(AG_F32, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4)));
    ag_tensor *b = ag_params_add(p, "b", make(AG_F64, 0, NULL, H_VALS(5)));
    ck_assert_tensor(a);
    ck_assert_tensor(b);
    char long_name[200];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const struct {
        const char *name;
        ag_status status;
    } calls[] = {
        {"a", AG_ERR_VALUE},       {"b", AG_ERR_VALUE}, /* a name taken by the other */
        {"c", AG_ERR_VALUE},       {"", AG_ERR_VALUE},  {long_name, AG_ERR_VALUE},
        {NULL, AG_ERR_NULL},
    };
    for (size_t i = 0; i < H_COUNT(calls); i++) {
        for (int k = 0; k < 2; k++) {
            ag_tensor *t = k ? b : a;
            ck_assert_ptr_null(ag_params_add(p, calls[i].name, t));
            ck_assert_msg(ag_last_status() == calls[i].status, "call %zu: status %s (%s)", i,
                          ag_status_str(ag_last_status()), ag_last_error());
            ag_error_clear();
        }
    }
    ck_assert_uint_eq(ag_params_count(p), 2);
    ck_assert_ptr_eq(ag_params_get(p, "a"), a);
    ck_assert_ptr_eq(ag_params_get(p, "b"), b);
    ck_assert_values_f32(a, 4, H_VALS(1, 2, 3, 4));
    ck_assert_values_f64(b, 1, H_VALS(5));
    /* A copy is a different tensor: accepted. */
    ck_assert_tensor(ag_params_add(p, "a_copy", ag_clone(a)));
    ck_assert_uint_eq(ag_params_count(p), 3);
}
END_TEST

/* Refusing a held tensor costs a hash lookup, not a scan: 20,000 tensors,
 * each offered again under a new name, in well under the timeout. */
START_TEST(test_params_held_tensor_many)
{
    enum { N = 20000 };
    ag_params *p = own_params(ag_params_new());
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "t%d", i);
        ck_assert_tensor(ag_params_add(p, name, make(AG_F64, 0, NULL, H_VALS(i))));
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "again%d", i);
        ck_assert_ptr_null(ag_params_add(p, name, ag_params_at(p, (size_t)i, NULL)));
        ag_error_clear();
    }
    ck_assert_uint_eq(ag_params_count(p), N);
    ck_assert_f64(ag_get_flat(ag_params_get(p, "t12345"), 0), 12345);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Item 7: checkpoints with absurd fields                              */
/* ------------------------------------------------------------------ */

/* A small model and an Adam optimizer that took three steps: the
 * destination of the loads (and, saved, the source of the files). */
typedef struct ckpt_case {
    ag_params *model;
    ag_optim *opt;
    ag_tensor *w, *b;
    ag_params *snap_model, *snap_state; /* see expect_refused */
} ckpt_case;

static ckpt_case ckpt_case_new(const ag_optim_config *cfg, double w0)
{
    ckpt_case c = {0};
    c.model = own_params(ag_params_new());
    c.w = ag_params_add(c.model, "w", make(AG_F64, 1, H_SHAPE(3), H_VALS(w0, -2, 0.5)));
    c.b = ag_params_add(c.model, "b", make(AG_F32, 0, NULL, H_VALS(0.25)));
    c.opt = own_optim(ag_optim_new(c.model, cfg));
    ck_assert(c.opt != NULL);
    for (int s = 0; s < 3; s++) {
        ag_optim_zero_grad(c.opt);
        /* Two losses, as w is f64 and b f32; the gradients add up. */
        ck_assert(ag_backward(ag_sum(ag_square(c.w))));
        ck_assert(ag_backward(ag_mul_scalar(ag_square(c.b), 3.0)));
        ck_assert_msg(ag_optim_step(c.opt), "%s", ag_last_error());
        ag_tape_reset(NULL);
    }
    return c;
}

static const ag_optim_config ADAM_CFG = {.kind = AG_ADAM, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999,
                                         .eps = 1e-8};

/* The metadata of a checkpoint of ADAM_CFG after 3 steps, written by hand
 * (the settings as a person would write them: "0.9" parses to the double
 * nearest 0.9, which is ADAM_CFG's default beta1). */
enum { N_FIELDS = 11 };
static const char *const GOOD_META[2 * N_FIELDS] = {
    "format", "autograd-checkpoint", "optim.steps", "3", "optim.lr", "0.01",
    "optim.kind", "adam", "optim.momentum", "0", "optim.nesterov", "false",
    "optim.beta1", "0.9", "optim.beta2", "0.999", "optim.eps", "1e-8",
    "optim.weight_decay", "0", "optim.clip_norm", "0",
};

/* Writes the tensors of `src` (a checkpoint read with ag_safetensors_read)
 * with GOOD_META, field `key` (if any) set to `value`. */
static void write_meta(const char *path, const ag_params *src, const char *key,
                       const char *value)
{
    const char *meta[2 * N_FIELDS + 1];
    for (int i = 0; i < 2 * N_FIELDS; i += 2) {
        meta[i] = GOOD_META[i];
        meta[i + 1] = key && !strcmp(key, GOOD_META[i]) ? value : GOOD_META[i + 1];
    }
    meta[2 * N_FIELDS] = NULL;
    ck_assert_msg(ag_safetensors_save(path, src, meta), "%s", ag_last_error());
}

/* Loads `path` into c, which must refuse with `status`, a message holding
 * the file, `key` and `value`, and c exactly as it was. */
static void expect_refused(const char *what, const char *path, ckpt_case *c,
                           ag_status status, const char *key, const char *value)
{
    /* Snapshots taken at the first refusal (owned by the teardown): a
     * refused load changes nothing, so they serve every later one. */
    if (!c->snap_model) {
        c->snap_model = own_params(ag_params_clone(c->model));
        c->snap_state = own_params(ag_params_clone(ag_optim_state(c->opt)));
    }
    const ag_params *model = c->snap_model, *state = c->snap_state;
    uint64_t steps = ag_optim_steps(c->opt);
    double lr = ag_optim_lr(c->opt);
    ag_error_clear();
    ck_assert_msg(!ag_checkpoint_load(path, c->model, c->opt), "%s: accepted", what);
    ck_assert_msg(ag_last_status() == status, "%s: status %s, expected %s (%s)", what,
                  ag_status_str(ag_last_status()), ag_status_str(status), ag_last_error());
    const char *msg = ag_last_error();
    ck_assert_msg(strstr(msg, path) && strstr(msg, key) && strstr(msg, value),
                  "%s: message \"%s\" lacks the path, \"%s\" or \"%s\"", what, msg, key, value);
    assert_same_store(model, c->model, what);
    assert_same_store(state, ag_optim_state(c->opt), what);
    ck_assert_uint_eq(ag_optim_steps(c->opt), steps);
    ck_assert(ag_optim_lr(c->opt) == lr);
    ag_error_clear();
}


/* The probe: "optim.steps": "18446744073709551615". Before, it was
 * accepted and the next Adam step wrapped the count to 0 and turned every
 * parameter into NaN with success. */
START_TEST(test_ckpt_u64_max_steps)
{
    ckpt_case src = ckpt_case_new(&ADAM_CFG, 1.5);
    const char *path = tmp_path("u64.st");
    ck_assert(ag_checkpoint_save(path, src.model, src.opt));
    ag_params *r = own_params(ag_safetensors_read(path));
    ck_assert(r != NULL);
    write_meta(path, r, "optim.steps", "18446744073709551615");
    ckpt_case dst = ckpt_case_new(&ADAM_CFG, -4);
    expect_refused("u64 max steps", path, &dst, AG_ERR_PARSE, "optim.steps",
                   "'18446744073709551615'");
    /* The destination still trains, to finite values. */
    ag_optim_zero_grad(dst.opt);
    ck_assert(ag_backward(ag_sum(ag_square(dst.w))));
    ck_assert(ag_optim_step(dst.opt));
    for (size_t i = 0; i < 3; i++)
        ck_assert(isfinite(ag_get_flat(dst.w, i)));
}
END_TEST

/* The class: every field, each absurd value. */
START_TEST(test_ckpt_every_field_absurd)
{
    ckpt_case src = ckpt_case_new(&ADAM_CFG, 1.5);
    const char *path = tmp_path("fields.st");
    ck_assert(ag_checkpoint_save(path, src.model, src.opt));
    ag_params *r = own_params(ag_safetensors_read(path));
    ck_assert(r != NULL);
    ckpt_case dst = ckpt_case_new(&ADAM_CFG, -4);

    /* The hand-written metadata itself loads (so each refusal below is the
     * one field's). */
    write_meta(path, r, NULL, NULL);
    ck_assert_msg(ag_checkpoint_load(path, dst.model, dst.opt), "%s", ag_last_error());
    ck_assert_uint_eq(ag_optim_steps(dst.opt), 3);
    ck_assert(ag_optim_lr(dst.opt) == 0.01);
    ck_assert(ag_get_flat(dst.w, 0) == ag_get_flat(src.w, 0));

    /* Values no field takes. */
    const char *const common[] = {"", "abc", "nan", "NaN", "inf", "-inf", "Infinity", "1e400",
                                  "-1e400", " 0.5", "0.5 ", "0x1p-3", "1,5", "--1"};
    /* Values refused by one field's range (each is a number, or a word). */
    const struct {
        const char *key;
        const char *bad[8];
    } fields[] = {
        {"format", {"autograd-checkpoint-v2", "safetensors"}},
        {"optim.steps", {"18446744073709551615", "18446744073709551616", "9007199254740993",
                         "-1", "-3", "3.0", "1e3", "+3"}},
        {"optim.lr", {"-0.01", "-1e-300", "-1"}},
        {"optim.kind", {"ADAM", "sgd2", "2", "adam "}},
        {"optim.momentum", {"1", "1.0", "1.5", "-0.1", "-1"}},
        {"optim.nesterov", {"1", "0", "TRUE", "yes"}},
        {"optim.beta1", {"1", "1.0", "1.5", "-0.1", "18446744073709551615"}},
        {"optim.beta2", {"1", "0.99999999999999999", "2", "-0.5"}},
        {"optim.eps", {"0", "-1e-8", "-1"}},
        {"optim.weight_decay", {"-1e-4", "-1"}},
        {"optim.clip_norm", {"-1", "-0.5"}},
    };
    char what[160];
    for (size_t f = 0; f < H_COUNT(fields); f++) {
        for (size_t v = 0; v < H_COUNT(common) + 8; v++) {
            const char *value = v < H_COUNT(common) ? common[v] : fields[f].bad[v - H_COUNT(common)];
            if (!value)
                continue;
            /* An empty value is a value: refused, not taken as missing. */
            write_meta(path, r, fields[f].key, value);
            snprintf(what, sizeof what, "%s = '%s'", fields[f].key, value);
            char quoted[64];
            snprintf(quoted, sizeof quoted, "'%s'", value);
            expect_refused(what, path, &dst, AG_ERR_PARSE, fields[f].key,
                           strcmp(fields[f].key, "format") ? quoted : value);
        }
    }
}
END_TEST

/* Settings in range that are not the optimizer's: refused (resuming would
 * not reproduce the run), naming both values. */
START_TEST(test_ckpt_settings_differ)
{
    ckpt_case src = ckpt_case_new(&ADAM_CFG, 1.5);
    const char *path = tmp_path("differ.st");
    ck_assert(ag_checkpoint_save(path, src.model, src.opt));
    ag_params *r = own_params(ag_safetensors_read(path));
    ck_assert(r != NULL);
    ckpt_case dst = ckpt_case_new(&ADAM_CFG, -4);
    const struct {
        const char *key, *value, *mine;
    } cases[] = {
        {"optim.kind", "adamw", "adam"},        {"optim.beta1", "0.8", "0.90000000000000002"},
        {"optim.beta2", "0.99", "0.999"},        {"optim.eps", "1e-6", "1e-08"},
        {"optim.weight_decay", "0.01", "0"},     {"optim.clip_norm", "1", "0"},
        {"optim.momentum", "0.5", "0"},          {"optim.nesterov", "true", "false"},
    };
    for (size_t i = 0; i < H_COUNT(cases); i++) {
        write_meta(path, r, cases[i].key, cases[i].value);
        char want[80];
        snprintf(want, sizeof want, "%s, the optimizer has %s", cases[i].value, cases[i].mine);
        expect_refused(cases[i].key, path, &dst, AG_ERR_VALUE, cases[i].key, want);
    }
}
END_TEST

/* Values training cannot go on from: a NaN or Inf anywhere, a negative
 * second moment (its square root is NaN at the next step). */
START_TEST(test_ckpt_values_absurd)
{
    ckpt_case src = ckpt_case_new(&ADAM_CFG, 1.5);
    char path[600];
    snprintf(path, sizeof path, "%s", tmp_path("values.st"));
    ck_assert(ag_checkpoint_save(path, src.model, src.opt));
    ckpt_case dst = ckpt_case_new(&ADAM_CFG, -4);
    const struct {
        const char *tensor;
        size_t at;
        double value;
        const char *shown;
    } cases[] = {
        {"model.w", 1, NAN, "nan"},
        {"model.b", 0, INFINITY, "inf"},
        {"optim.exp_avg.w", 2, -INFINITY, "-inf"},
        {"optim.exp_avg_sq.w", 0, -1e-3, "-0.001"},
        {"optim.exp_avg_sq.b", 0, NAN, "nan"},
    };
    char bad[600];
    snprintf(bad, sizeof bad, "%s", tmp_path("values_bad.st"));
    for (size_t i = 0; i < H_COUNT(cases); i++) {
        ag_params *r = own_params(ag_safetensors_read(path));
        ck_assert(r != NULL);
        ck_assert(ag_set_flat(ag_params_get(r, cases[i].tensor), cases[i].at, cases[i].value));
        write_meta(bad, r, NULL, NULL);
        char want[64];
        snprintf(want, sizeof want, "holds %s at element %zu", cases[i].shown, cases[i].at);
        expect_refused(cases[i].tensor, bad, &dst, AG_ERR_NUMERIC, cases[i].tensor, want);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Item 7: optimizer steps never make NaN with success                 */
/* ------------------------------------------------------------------ */

static const ag_optim_config EVERY_KIND[] = {
    {.kind = AG_SGD, .lr = 0.1},
    {.kind = AG_SGD, .lr = 0.1, .weight_decay = 0.01},
    {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9},
    {.kind = AG_SGD, .lr = 0.1, .momentum = 0.9, .nesterov = true},
    {.kind = AG_ADAM, .lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
    {.kind = AG_ADAMW, .lr = 0.1, .weight_decay = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
};

/* One parameter w = (1, -2) with loss Σ w²: gradient 2w = (2, -4). */
typedef struct one_param {
    ag_params *p;
    ag_optim *o;
    ag_tensor *w;
} one_param;

static one_param one_param_new(ag_dtype dt, const ag_optim_config *cfg, double w0, double w1)
{
    one_param q;
    q.p = own_params(ag_params_new());
    q.w = ag_params_add(q.p, "w", make(dt, 1, H_SHAPE(2), H_VALS(w0, w1)));
    q.o = own_optim(ag_optim_new(q.p, cfg));
    ck_assert_msg(q.o != NULL, "%s", ag_last_error());
    return q;
}

static void backward_square(one_param *q)
{
    ag_optim_zero_grad(q->o);
    ck_assert(ag_backward(ag_sum(ag_square(q->w))));
}

/* Every kind, both dtypes, at the counter's limit: u64 max is refused by
 * the setter; at 2^53 the step is refused and changes nothing; from
 * 2^53 - 1 the last step runs, to the value of the formula. */
START_TEST(test_optim_counter_limit_every_kind)
{
    for (size_t ci = 0; ci < H_COUNT(EVERY_KIND); ci++)
        for (int di = 0; di < 2; di++) {
            ag_dtype dt = H_DTYPES[di];
            const ag_optim_config *c = &EVERY_KIND[ci];
            one_param q = one_param_new(dt, c, 1, -2);
            ck_assert(!ag_optim_set_steps(q.o, UINT64_MAX));
            ck_assert_error(AG_ERR_VALUE, "18446744073709551615 steps is past the limit 2^53");
            ag_error_clear();
            ck_assert(!ag_optim_set_steps(q.o, (uint64_t)1 << 53 | 1));
            ag_error_clear();
            ck_assert_uint_eq(ag_optim_steps(q.o), 0);

            ck_assert(ag_optim_set_steps(q.o, (uint64_t)1 << 53));
            backward_square(&q);
            ck_assert(!ag_optim_step(q.o));
            ck_assert_error(AG_ERR_STATE, "at the limit 2^53");
            ag_error_clear();
            ck_assert_uint_eq(ag_optim_steps(q.o), (uint64_t)1 << 53);
            ck_assert(ag_get_flat(q.w, 0) == 1 && ag_get_flat(q.w, 1) == -2);

            ck_assert(ag_optim_set_steps(q.o, ((uint64_t)1 << 53) - 1));
            ck_assert_msg(ag_optim_step(q.o), "config %zu: %s", ci, ag_last_error());
            ck_assert_uint_eq(ag_optim_steps(q.o), (uint64_t)1 << 53);
            /* The first update from zero state, g = 2w. SGD: w − γ(g + λw)
             * (momentum's buffer starts at g; Nesterov adds μg once more).
             * Adam at t = 2^53: β^t underflows to 0, so the corrections are
             * 1 and w − γ(1−β1)g / (√(1−β2)|g| + ε), AdamW first scaling w by
             * 1 − γλ. */
            const double w0[2] = {1, -2};
            for (int i = 0; i < 2; i++) {
                double g = 2 * w0[i], want;
                if (c->kind == AG_SGD) {
                    double d = g + c->weight_decay * w0[i];
                    want = w0[i] - c->lr * (c->nesterov ? d + c->momentum * d : d);
                } else {
                    double keep = c->kind == AG_ADAMW ? 1 - c->lr * c->weight_decay : 1;
                    want = keep * w0[i] - c->lr * (0.1 * g) / (sqrt(0.001) * fabs(g) + 1e-8);
                }
                ck_assert_near(ag_get_flat(q.w, (size_t)i), want, h_rtol(dt), h_atol(dt));
            }
            ag_tape_reset(NULL);
        }
}
END_TEST

/* A coefficient that is not finite in the parameters' precision is
 * refused before anything changes: an f32 step size of 1e39 (finite in
 * double, Inf in float), AdamW's 1 − γλ overflowing. */
START_TEST(test_optim_coefficients_not_finite)
{
    const struct {
        ag_dtype dt;
        ag_optim_config cfg;
        const char *coef;
    } cases[] = {
        {AG_F32, {.kind = AG_SGD, .lr = 1e39}, "learning rate"},
        {AG_F32, {.kind = AG_ADAM, .lr = 1e39, .beta1 = 0.9, .beta2 = 0.999,
                  .eps = 1e-8}, "learning rate"},
        {AG_F32, {.kind = AG_SGD, .lr = 0.1, .weight_decay = 1e39}, "weight decay"},
        {AG_F64, {.kind = AG_ADAMW, .lr = 1e200, .weight_decay = 1e200, .beta1 = 0.9,
                  .beta2 = 0.999, .eps = 1e-8}, "AdamW decay factor"},
    };
    for (size_t i = 0; i < H_COUNT(cases); i++) {
        one_param q = one_param_new(cases[i].dt, &cases[i].cfg, 1, -2);
        backward_square(&q);
        ag_tensor *st = ag_params_count(ag_optim_state(q.o)) ? ag_params_at(ag_optim_state(q.o), 0, NULL) : NULL;
        ck_assert_msg(!ag_optim_step(q.o), "case %zu accepted", i);
        ck_assert_error(AG_ERR_NUMERIC, cases[i].coef);
        ck_assert_error(AG_ERR_NUMERIC, "parameters left unchanged");
        ag_error_clear();
        ck_assert(ag_get_flat(q.w, 0) == 1 && ag_get_flat(q.w, 1) == -2);
        ck_assert_uint_eq(ag_optim_steps(q.o), 0);
        if (st)
            ck_assert(ag_get_flat(st, 0) == 0 && ag_get_flat(st, 1) == 0);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* An update that overflows from finite parameters and gradients: reported
 * (AG_ERR_NUMERIC naming the parameter), never success. w = (−0.99·MAX, 1)
 * in the dtype's largest finite value MAX, and a loss k·w with k = (a, 0),
 * so g = (a, 0). SGD moves w0 by γ·a (Nesterov by 1.9γ·a): γ = 2 and
 * a = 0.99·MAX overshoot −MAX. Adam moves it by about γ whatever a is (m/√v
 * is ±1 at the first step), so a = 1 and γ = MAX/20 (its step size γ/(1−β1)
 * = MAX/2 stays finite): −0.99·MAX − MAX/20 < −MAX. w1's gradient is 0: it
 * stays 1. */
START_TEST(test_optim_overflow_reported)
{
    for (size_t ci = 0; ci < H_COUNT(EVERY_KIND); ci++)
        for (int di = 0; di < 2; di++) {
            ag_dtype dt = H_DTYPES[di];
            double max = dt == AG_F32 ? FLT_MAX : DBL_MAX;
            ag_optim_config c = EVERY_KIND[ci];
            bool sgd = c.kind == AG_SGD;
            c.lr = sgd ? 2.0 : max / 20;
            c.weight_decay = 0;
            one_param q = one_param_new(dt, &c, -0.99 * max, 1);
            ag_tensor *k = h_arr(dt, 1, H_SHAPE(2), H_VALS(sgd ? 0.99 * max : 1, 0));
            ag_optim_zero_grad(q.o);
            ck_assert(ag_backward(ag_sum(ag_mul(q.w, k))));
            ck_assert_msg(!ag_optim_step(q.o), "config %zu, %s: an overflowing step succeeded",
                          ci, dt == AG_F32 ? "f32" : "f64");
            ck_assert_error(AG_ERR_NUMERIC, "made 'w'");
            ag_error_clear();
            ck_assert(!isfinite(ag_get_flat(q.w, 0)));
            ck_assert(ag_get_flat(q.w, 1) == 1.0);
            ag_tape_reset(NULL);
        }
}
END_TEST

/* Settings that are not finite are refused where they are given. */
START_TEST(test_optim_settings_not_finite)
{
    ag_params *p = own_params(ag_params_new());
    ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(2), NULL));
    const struct {
        ag_optim_config cfg;
        const char *msg;
    } cases[] = {
        {{.kind = AG_SGD, .lr = INFINITY}, "lr is inf"},
        {{.kind = AG_ADAM, .lr = 0.1, .eps = INFINITY, .beta1 = 0.9, .beta2 = 0.999}, "eps is inf"},
        {{.kind = AG_SGD, .lr = 0.1, .weight_decay = INFINITY}, "weight_decay is inf"},
        {{.kind = AG_ADAMW, .lr = 0.1, .clip_norm = INFINITY, .beta1 = 0.9, .beta2 = 0.999,
          .eps = 1e-8}, "clip_norm is inf"},
        {{.kind = AG_ADAM, .lr = 0.1, .beta2 = 1.0, .beta1 = 0.9, .eps = 1e-8}, "beta2 is 1"},
    };
    for (size_t i = 0; i < H_COUNT(cases); i++) {
        ck_assert_ptr_null(ag_optim_new(p, &cases[i].cfg));
        ck_assert_error(AG_ERR_VALUE, cases[i].msg);
        ag_error_clear();
    }
    ag_optim *o = own_optim(ag_optim_new(p, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
    ck_assert(!ag_optim_set_lr(o, INFINITY));
    ck_assert_error(AG_ERR_VALUE, "learning rate inf");
    ag_error_clear();
    ck_assert(ag_optim_lr(o) == 0.1);
    ag_optim_config got;
    ck_assert(ag_optim_config_get(o, &got));
    /* Zero means zero (ag_optim_defaults gives the defaults): SGD keeps eps 0. */
    ck_assert(got.kind == AG_SGD && got.lr == 0.1 && got.beta1 == 0 && got.eps == 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Item 9: every loss refuses mismatched shapes                        */
/* ------------------------------------------------------------------ */

START_TEST(test_mse_4x1_vs_4)
{
    ag_tensor *pred = h_param(AG_F64, 2, H_SHAPE(4, 1), H_VALS(1, 2, 3, 4));
    ag_tensor *target = h_arr(AG_F64, 1, H_SHAPE(4), H_VALS(1, 2, 3, 4));
    ck_assert_ptr_null(ag_mse(pred, target, AG_REDUCE_MEAN));
    ck_assert_error(AG_ERR_SHAPE, "mse: pred (4,1) and target (4) differ in shape");
    ag_error_clear();
    ck_assert_ptr_null(ag_mse(target, pred, AG_REDUCE_SUM));
    ck_assert_error(AG_ERR_SHAPE, "mse: pred (4) and target (4,1) differ in shape");
    ag_error_clear();
    /* The matching shapes give the loss, 0 here. */
    ag_tensor *t2 = h_arr(AG_F64, 2, H_SHAPE(4, 1), H_VALS(1, 2, 3, 5));
    ag_tensor *L = ag_mse(pred, t2, AG_REDUCE_MEAN);
    ck_assert_tensor(L);
    ck_assert_f64(ag_item(L), 0.25); /* (4 − 5)² / 4 */
}
END_TEST

typedef enum loss_kind { L_MSE, L_BCE, L_CE, L_NLL } loss_kind;

static ag_tensor *call_loss(loss_kind k, ag_tensor *a, ag_tensor *b, ag_reduction r)
{
    switch (k) {
    case L_MSE: return ag_mse(a, b, r);
    case L_BCE: return ag_bce_with_logits(a, b, r);
    case L_CE: return ag_cross_entropy(a, b, r);
    case L_NLL: return ag_nll(a, b, r);
    }
    return NULL;
}

/* The class: each loss, each reduction, with shapes that would broadcast
 * (the silent case) and shapes that would not. */
START_TEST(test_every_loss_mismatched_shapes)
{
    const struct {
        loss_kind k;
        const char *name;
        int nda, ndb;
        int64_t sa[3], sb[3];
        bool labels;
        const char *sa_str, *sb_str;
    } cases[] = {
        {L_MSE, "mse", 2, 1, {4, 1}, {4}, false, "(4,1)", "(4)"},
        {L_MSE, "mse", 2, 2, {4, 1}, {1, 4}, false, "(4,1)", "(1,4)"},
        {L_MSE, "mse", 2, 0, {2, 3}, {0}, false, "(2,3)", "()"},
        {L_MSE, "mse", 1, 1, {3}, {4}, false, "(3)", "(4)"},
        {L_BCE, "bce_with_logits", 2, 1, {4, 1}, {4}, false, "(4,1)", "(4)"},
        {L_BCE, "bce_with_logits", 2, 2, {4, 1}, {1, 4}, false, "(4,1)", "(1,4)"},
        {L_BCE, "bce_with_logits", 1, 0, {3}, {0}, false, "(3)", "()"},
        {L_CE, "cross_entropy", 2, 2, {4, 3}, {4, 1}, true, "(4,3)", "(4,1)"},
        {L_CE, "cross_entropy", 2, 1, {4, 3}, {3}, true, "(4,3)", "(3)"},
        {L_CE, "cross_entropy", 1, 1, {4}, {4}, true, "(4)", "(4)"},
        {L_NLL, "nll", 2, 2, {4, 3}, {4, 1}, true, "(4,3)", "(4,1)"},
        {L_NLL, "nll", 2, 1, {4, 3}, {5}, true, "(4,3)", "(5)"},
    };
    const ag_reduction red[3] = {AG_REDUCE_MEAN, AG_REDUCE_SUM, AG_REDUCE_NONE};
    for (size_t i = 0; i < H_COUNT(cases); i++)
        for (int r = 0; r < 3; r++) {
            ag_tensor *a = h_param(AG_F64, cases[i].nda, cases[i].sa, NULL);
            ag_tensor *b = cases[i].labels ? h_arr(AG_I64, cases[i].ndb, cases[i].sb, NULL)
                                           : h_arr(AG_F64, cases[i].ndb, cases[i].sb, NULL);
            ck_assert_msg(call_loss(cases[i].k, a, b, red[r]) == NULL,
                          "%s %s vs %s accepted", cases[i].name, cases[i].sa_str, cases[i].sb_str);
            ck_assert_status(AG_ERR_SHAPE);
            const char *m = ag_last_error();
            ck_assert_msg(!strncmp(m, cases[i].name, strlen(cases[i].name)) &&
                              strstr(m, cases[i].sa_str) && strstr(m, cases[i].sb_str),
                          "message \"%s\" lacks %s, %s or %s", m, cases[i].name, cases[i].sa_str,
                          cases[i].sb_str);
            ag_error_clear();
        }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Item 11: updates without a gradient                                 */
/* ------------------------------------------------------------------ */

START_TEST(test_sgd_update_without_gradient)
{
    /* requires_grad never set. */
    ag_tensor *w = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(1, 2));
    ag_set_label(w, "w");
    ck_assert(!ag_sgd_update(w, 0.1));
    ck_assert_error(AG_ERR_STATE, "'w' does not require grad");
    ck_assert_error(AG_ERR_STATE, "call ag_set_requires_grad(w, true) before the forward pass, "
                                  "and ag_backward before the update");
    ag_error_clear();
    ck_assert(ag_get_flat(w, 0) == 1 && ag_get_flat(w, 1) == 2);
    /* ag_grad_of's documented NULL with AG_OK: no gradient has reached w. */
    ck_assert_ptr_null(ag_grad_of(w));
    ck_assert_ok();

    /* requires_grad set, no backward run. */
    ag_tensor *v = h_param(AG_F64, 1, H_SHAPE(2), H_VALS(3, 4));
    ag_set_label(v, "v");
    ck_assert(!ag_sgd_update(v, 0.1));
    ck_assert_error(AG_ERR_STATE, "no gradient has reached 'v' yet; call ag_backward");
    ag_error_clear();
    ck_assert(ag_get_flat(v, 0) == 3 && ag_get_flat(v, 1) == 4);
    ck_assert_ptr_null(ag_grad_of(v));
    ck_assert_ok();

    /* After a backward: v −= 0.5 · 2v. */
    ck_assert(ag_backward(ag_sum(ag_square(v))));
    ck_assert(ag_sgd_update(v, 0.5));
    ck_assert_values_f64(v, 2, H_VALS(0, 0));
    ag_tape_reset(NULL);
    /* A zeroed gradient is a gradient (of zeros): the update succeeds and
     * moves nothing. */
    ag_zero_grad(v);
    ck_assert(ag_sgd_update(v, 0.5));
    ck_assert_values_f64(v, 2, H_VALS(0, 0));
    ck_assert_ok();

    /* An integer tensor, and a rate that is not finite. */
    ag_tensor *k = h_arr(AG_I64, 1, H_SHAPE(2), H_VALS(1, 2));
    ck_assert(!ag_sgd_update(k, 0.1));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert(!ag_sgd_update(v, NAN));
    ck_assert_error(AG_ERR_VALUE, "must be finite");
    ag_error_clear();
}
END_TEST

/* The optimizer: parameters no gradient reached are skipped (PyTorch's
 * grad None), frozen ones too even with a gradient left; a step in which
 * no parameter has a gradient is a forgotten backward. */
START_TEST(test_optim_step_without_gradients)
{
    for (size_t ci = 0; ci < H_COUNT(EVERY_KIND); ci++) {
        ag_params *p = own_params(ag_params_new());
        ag_tensor *w = ag_params_add(p, "w", make(AG_F64, 1, H_SHAPE(2), H_VALS(1, -2)));
        ag_tensor *f = ag_params_add(p, "frozen", make(AG_F64, 1, H_SHAPE(2), H_VALS(3, 4)));
        ag_optim *o = own_optim(ag_optim_new(p, &EVERY_KIND[ci]));
        ck_assert(o != NULL);

        ck_assert(!ag_optim_step(o));
        ck_assert_error(AG_ERR_STATE, "no parameter has a gradient; call ag_backward(loss)");
        ag_error_clear();
        ck_assert_uint_eq(ag_optim_steps(o), 0);
        ck_assert(ag_get_flat(w, 0) == 1 && ag_get_flat(f, 0) == 3);

        /* f gets a gradient, then is frozen: the step moves w only. */
        ck_assert(ag_backward(ag_add(ag_sum(ag_square(w)), ag_sum(ag_square(f)))));
        ag_tape_reset(NULL);
        ck_assert(ag_set_requires_grad(f, false));
        ck_assert_msg(ag_optim_step(o), "%s", ag_last_error());
        ck_assert_uint_eq(ag_optim_steps(o), 1);
        ck_assert(ag_get_flat(w, 0) != 1);
        ck_assert(ag_get_flat(f, 0) == 3 && ag_get_flat(f, 1) == 4);
        ag_params *st = ag_optim_state(o);
        for (size_t i = 0; i < ag_params_count(st); i++) {
            const char *name;
            ag_tensor *s = ag_params_at(st, i, &name);
            if (strstr(name, "frozen"))
                ck_assert_msg(ag_get_flat(s, 0) == 0 && ag_get_flat(s, 1) == 0,
                              "state '%s' of a frozen parameter changed", name);
        }

        /* Everything frozen. */
        ck_assert(ag_set_requires_grad(w, false));
        ck_assert(!ag_optim_step(o));
        ck_assert_error(AG_ERR_STATE, "no parameter requires grad");
        ag_error_clear();
        ck_assert_uint_eq(ag_optim_steps(o), 1);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Item 13: constructors and labels                                    */
/* ------------------------------------------------------------------ */

/* The probes, and the class: every enum, dtype and size of every
 * constructor. Nothing leaks (valgrind) and no store is left half-built. */
START_TEST(test_constructors_refuse_bad_arguments)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    const int64_t sizes[3] = {4, 8, 2};
    ck_assert_ptr_null(ag_mlp_new(3, sizes, (ag_activation)99, AG_F32, &rng));
    ck_assert_error(AG_ERR_VALUE, "mlp_new: unknown activation 99");
    ag_error_clear();
    ck_assert_ptr_null(ag_mlp_new(3, sizes, AG_ACT_RELU, AG_I64, &rng));
    ck_assert_error(AG_ERR_DTYPE, "mlp_new: dtype i64");
    ag_error_clear();
    ck_assert_ptr_null(ag_mlp_new(3, sizes, AG_ACT_RELU, (ag_dtype)7, &rng));
    ck_assert_error(AG_ERR_DTYPE, "mlp_new: dtype ? (7)");
    ag_error_clear();
    ck_assert_ptr_null(ag_mlp_new(3, sizes, (ag_activation)-1, AG_F32, &rng));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert_ptr_null(ag_mlp_new(3, H_SHAPE(4, 0, 2), AG_ACT_RELU, AG_F32, &rng));
    ck_assert_error(AG_ERR_SHAPE, "sizes[1] is 0");
    ag_error_clear();
    ck_assert_ptr_null(ag_mlp_new(3, H_SHAPE(4, 8, -2), AG_ACT_RELU, AG_F32, &rng));
    ck_assert_error(AG_ERR_SHAPE, "sizes[2] is -2");
    ag_error_clear();
    ck_assert_ptr_null(ag_mlp_new(3, sizes, AG_ACT_RELU, AG_F32, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert_ptr_null(ag_mlp_new(3, NULL, AG_ACT_RELU, AG_F32, &rng));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();

    ck_assert_ptr_null(ag_init_matrix(AG_I64, 2, 3, AG_INIT_XAVIER_UNIFORM, &rng));
    ck_assert_error(AG_ERR_DTYPE, "init_matrix: dtype i64");
    ag_error_clear();
    ck_assert_ptr_null(ag_init_matrix(AG_F64, 2, 3, (ag_init)99, &rng));
    ck_assert_error(AG_ERR_VALUE, "unknown init 99");
    ag_error_clear();

    ag_params *p = own_params(ag_params_new());
    const struct {
        int64_t in, out;
        ag_dtype dt;
        ag_init init;
        ag_status status;
    } lin[] = {
        {0, 3, AG_F32, AG_INIT_ZEROS, AG_ERR_SHAPE},
        {2, -1, AG_F32, AG_INIT_ZEROS, AG_ERR_SHAPE},
        {2, 3, AG_I64, AG_INIT_ZEROS, AG_ERR_DTYPE},
        {2, 3, AG_F32, (ag_init)99, AG_ERR_VALUE},
    };
    for (size_t i = 0; i < H_COUNT(lin); i++) {
        ck_assert(!ag_linear_init(p, "fc", lin[i].in, lin[i].out, lin[i].dt, lin[i].init, &rng));
        ck_assert_msg(ag_last_status() == lin[i].status, "linear_init %zu: %s", i,
                      ag_last_error());
        ag_error_clear();
        ck_assert_uint_eq(ag_params_count(p), 0);
    }
    /* A taken bias name leaves no weight behind. */
    ag_params_add(p, "fc.bias", make(AG_F32, 1, H_SHAPE(3), NULL));
    ck_assert(!ag_linear_init(p, "fc", 2, 3, AG_F32, AG_INIT_ZEROS, &rng));
    ck_assert_error(AG_ERR_VALUE, "layer 'fc' exists already");
    ag_error_clear();
    ck_assert_uint_eq(ag_params_count(p), 1);

    ck_assert_ptr_null(ag_logreg_new(0, AG_F64));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_logreg_new(3, AG_I64));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_softmax_regression_new(3, 0, AG_F64));
    ck_assert_error(AG_ERR_SHAPE, "the class count k is 0");
    ag_error_clear();
    ck_assert_ptr_null(ag_softmax_regression_new(-3, 2, AG_F64));
    ck_assert_status(AG_ERR_SHAPE);
    ag_error_clear();
    ck_assert_ptr_null(ag_softmax_regression_new(3, 2, (ag_dtype)5));
    ck_assert_status(AG_ERR_DTYPE);
    ag_error_clear();

    ag_params *lr = own_params(ag_logreg_new(2, AG_F64));
    ck_assert_ptr_null(ag_l2_penalty(lr, NAN));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert_ptr_null(ag_l2_penalty(lr, -1));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
}
END_TEST

/* A model of logits X·W for a data set made by hand. */
static ag_tensor *lin_logits(void *model, ag_tensor *X)
{
    return ag_matmul(X, ag_params_get(model, "W"));
}

static ag_tensor *lin_loss(void *model, ag_tensor *X, ag_tensor *y, ag_tensor *t)
{
    (void)t;
    return ag_cross_entropy(lin_logits(model, X), y, AG_REDUCE_MEAN);
}

static ag_dataset hand_set(const double *labels, int64_t n_classes)
{
    ag_dataset d = {.n = 4, .d = 2, .n_classes = n_classes};
    d.X = h_arr(AG_F64, 2, H_SHAPE(4, 2), H_VALS(1, 0, 0, 1, 1, 1, -1, 0));
    d.y = h_arr(AG_I64, 1, H_SHAPE(4), labels);
    return d;
}

START_TEST(test_evaluate_labels_out_of_range)
{
    ag_params *m = own_params(ag_params_new());
    ag_params_add(m, "W", make(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 0, 0, 0, 1, 0)));
    double acc = -1, loss = -1;

    /* Label 3 in row 2 of a set that says 3 classes. Before: accuracy 0.5
     * (rows 0 and 1 right, 2 never, 3 wrong), no error. */
    ag_dataset d = hand_set(H_VALS(0, 1, 3, 1), 3);
    ck_assert(!ag_evaluate(m, NULL, lin_logits, &d, 2, &acc, NULL));
    ck_assert_error(AG_ERR_VALUE, "evaluate: label 3 in row 2 of the evaluation set is not a class");
    ag_error_clear();
    ck_assert(acc == -1);

    d = hand_set(H_VALS(0, -1, 2, 1), 3);
    ck_assert(!ag_evaluate(m, lin_loss, lin_logits, &d, 3, &acc, &loss));
    ck_assert_error(AG_ERR_VALUE, "label -1 in row 1");
    ag_error_clear();

    /* A set that says 5 classes, a model with 3 logits: label 4 in row 3,
     * in the second batch of 2. */
    d = hand_set(H_VALS(0, 1, 2, 4), 5);
    ck_assert(!ag_evaluate(m, NULL, lin_logits, &d, 2, &acc, NULL));
    ck_assert_error(AG_ERR_VALUE, "label 4 in row 3 is not one of the model's 3 classes");
    ag_error_clear();

    /* In range, the accuracy of argmax(X·W): the logits (1,0,0), (0,1,0),
     * (1,1,0), (-1,0,0) predict 0, 1, 0 (the first of a tie) and 1 (the
     * first of the two 0s). Labels 0, 1, 2, 1: rows 0, 1 and 3 right. */
    d = hand_set(H_VALS(0, 1, 2, 1), 3);
    ck_assert_msg(ag_evaluate(m, NULL, lin_logits, &d, 3, &acc, NULL), "%s", ag_last_error());
    ck_assert_f64(acc, 0.75);
}
END_TEST

START_TEST(test_train_labels_out_of_range)
{
    ag_params *m = own_params(ag_params_new());
    ag_tensor *W = ag_params_add(m, "W", make(AG_F64, 2, H_SHAPE(2, 3), H_VALS(1, 0, 0, 0, 1, 0)));
    ag_optim *o = own_optim(ag_optim_new(m, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
    ag_train_config cfg = {.epochs = 2, .batch_size = 2, .quiet = true};
    ag_dataset bad = hand_set(H_VALS(0, 1, 7, 1), 3), good = hand_set(H_VALS(0, 1, 2, 1), 3);
    ck_assert(!ag_train(m, lin_loss, lin_logits, o, &bad, NULL, &cfg, NULL));
    ck_assert_error(AG_ERR_VALUE, "train: label 7 in row 2 of the training set is not a class");
    ag_error_clear();
    /* A bad test set is found before the first step, not after an epoch. */
    ck_assert(!ag_train(m, lin_loss, lin_logits, o, &good, &bad, &cfg, NULL));
    ck_assert_error(AG_ERR_VALUE, "label 7 in row 2 of the test set");
    ag_error_clear();
    ck_assert_uint_eq(ag_optim_steps(o), 0);
    ck_assert_values_f64(W, 6, H_VALS(1, 0, 0, 0, 1, 0));
}
END_TEST

static Suite *guards_models_suite(void)
{
    Suite *s = suite_create("guards_models");
    TCase *tc = h_tcase(s, "params", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_params_same_tensor_twice);
    tcase_add_test(tc, test_params_held_tensor_every_refusal);
    tcase_add_test(tc, test_params_held_tensor_many);

    tc = h_tcase(s, "checkpoint fields", H_TIMEOUT);
    tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_ckpt_u64_max_steps);
    tcase_add_test(tc, test_ckpt_every_field_absurd);
    tcase_add_test(tc, test_ckpt_settings_differ);
    tcase_add_test(tc, test_ckpt_values_absurd);

    tc = h_tcase(s, "optimizer numerics", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_optim_counter_limit_every_kind);
    tcase_add_test(tc, test_optim_coefficients_not_finite);
    tcase_add_test(tc, test_optim_overflow_reported);
    tcase_add_test(tc, test_optim_settings_not_finite);

    tc = h_tcase(s, "losses", H_TIMEOUT);
    tcase_add_test(tc, test_mse_4x1_vs_4);
    tcase_add_test(tc, test_every_loss_mismatched_shapes);

    tc = h_tcase(s, "no gradient", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_sgd_update_without_gradient);
    tcase_add_test(tc, test_optim_step_without_gradients);

    tc = h_tcase(s, "constructors and labels", H_TIMEOUT);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_constructors_refuse_bad_arguments);
    tcase_add_test(tc, test_evaluate_labels_out_of_range);
    tcase_add_test(tc, test_train_labels_out_of_range);
    return s;
}

H_MAIN(guards_models_suite)

/* SPDX-License-Identifier: MIT */
/* check-checkpoint.c — checkpoints (a model and its optimizer in one
 * safetensors file): training that resumes from a checkpoint
 * bit-identically to an uninterrupted run, for each optimizer and dtype;
 * checkpoints that do not fit (another architecture or optimizer, bad
 * metadata, truncation) refused before anything changes; and every
 * allocation of a save, a load, a read and a checkpoint save and load
 * failing in turn.
 *
 * The expected results are the uninterrupted run itself, compared bit for
 * bit, and snapshots (clones) of the model and the optimizer's state taken
 * before each failing call; the file's contents are checked from its bytes
 * and with ag_safetensors_read (its format is covered by
 * check-safetensors.c). */
#include "st_fixture.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

typedef struct train_data {
    ag_tensor *X, *Y;
} train_data;

static train_data make_data(ag_dtype dt)
{
    ag_rng rng;
    ag_rng_seed(&rng, 2024);
    train_data d = {h_rand(dt, 2, H_SHAPE(16, 4), -1, 1, &rng), h_rand(dt, 2, H_SHAPE(16, 2), -1, 1, &rng)};
    return d;
}

static ag_mlp *make_mlp(uint64_t seed, ag_dtype dt, int64_t hidden)
{
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    return keep_mlp(ag_mlp_new(3, H_SHAPE(4, hidden, 2), AG_ACT_TANH, dt, &rng));
}

/* `steps` full-batch steps of mean squared error. */
static void train(ag_mlp *m, ag_optim *o, const train_data *d, int steps)
{
    for (int s = 0; s < steps; s++) {
        ag_optim_zero_grad(o);
        ag_tensor *loss = ag_mean(ag_square(ag_sub(ag_mlp_forward(m, d->X), d->Y)));
        ck_assert_tensor(loss);
        ck_assert_msg(ag_backward(loss), "backward: %s", ag_last_error());
        ck_assert_msg(ag_optim_step(o), "step: %s", ag_last_error());
        ag_tape_reset(NULL);
    }
}

static bool stores_identical(const ag_params *a, const ag_params *b)
{
    if (ag_params_count(a) != ag_params_count(b))
        return false;
    for (size_t i = 0; i < ag_params_count(a); i++) {
        const ag_tensor *ta = ag_params_at(a, i, NULL), *tb = ag_params_at(b, i, NULL);
        size_t nbytes = ag_numel(ta) * ag_dtype_size(ag_tensor_dtype(ta));
        if (ag_numel(ta) != ag_numel(tb) || memcmp(ag_data_const(ta), ag_data_const(tb), nbytes))
            return false;
    }
    return true;
}

START_TEST(test_checkpoint_resume_is_bit_identical)
{
    const ag_optim_config cfgs[] = {
        {.kind = AG_ADAM, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
        {.kind = AG_ADAMW, .lr = 0.02 / 3, /* 17 digits needed */ .weight_decay = 0.1, .beta1 = 0.8,
         .beta2 = 0.99, .eps = 1e-8},
        {.kind = AG_SGD, .lr = 0.05, .momentum = 0.9, .nesterov = true},
        {.kind = AG_SGD, .lr = 0.1},
        {.kind = AG_ADAM, .lr = 0.01, .clip_norm = 0.05, .weight_decay = 0.01, .beta1 = 0.9,
         .beta2 = 0.999, .eps = 1e-8},
    };
    const ag_dtype dts[] = {AG_F32, AG_F64};
    const int N = 6, M = 9;
    for (size_t di = 0; di < H_COUNT(dts); di++) {
        train_data d = make_data(dts[di]);
        for (size_t ci = 0; ci < H_COUNT(cfgs); ci++) {
            const ag_optim_config *cfg = &cfgs[ci];
            /* Uninterrupted: N + M steps. */
            ag_mlp *a = make_mlp(7, dts[di], 6);
            ag_optim *oa = keep_optim(ag_optim_new(a->params, cfg));
            train(a, oa, &d, N + M);

            /* N steps, a checkpoint, and a fresh process's view: another
             * initialisation and an optimizer made with a wrong rate. */
            ag_mlp *b = make_mlp(7, dts[di], 6);
            ag_optim *ob = keep_optim(ag_optim_new(b->params, cfg));
            train(b, ob, &d, N);
            char path[600];
            tpath_into(path, "ckpt.st");
            ck_assert_msg(ag_checkpoint_save(path, b->params, ob), "save: %s", ag_last_error());

            ag_mlp *c = make_mlp(99, dts[di], 6);
            ag_optim_config wrong = *cfg;
            wrong.lr = cfg->lr * 3;
            ag_optim *oc = keep_optim(ag_optim_new(c->params, &wrong));
            train(c, oc, &d, 2);
            ck_assert_msg(ag_checkpoint_load(path, c->params, oc), "load: %s", ag_last_error());
            ck_assert_uint_eq(ag_optim_steps(oc), (uint64_t)N);
            ck_assert(ag_optim_lr(oc) == cfg->lr);
            ck_assert(stores_identical(b->params, c->params));
            ck_assert(stores_identical(ag_optim_state(ob), ag_optim_state(oc)));
            train(c, oc, &d, M);

            ck_assert_msg(stores_identical(a->params, c->params),
                          "config %zu, %s: resumed parameters differ from the uninterrupted run",
                          ci, ag_dtype_str(dts[di]));
            ck_assert(stores_identical(ag_optim_state(oa), ag_optim_state(oc)));
            ck_assert_uint_eq(ag_optim_steps(oc), (uint64_t)(N + M));

            /* The optimizer's part matters: the model alone, resumed with
             * a fresh optimizer, ends elsewhere (for stateful optimizers). */
            if (ag_params_count(ag_optim_state(ob)) > 0) {
                ck_assert(ag_safetensors_save(tpath("model.st"), b->params, NULL));
                ag_mlp *e = make_mlp(99, dts[di], 6);
                ag_optim *oe = keep_optim(ag_optim_new(e->params, cfg));
                ck_assert(ag_safetensors_load(tpath("model.st"), e->params));
                train(e, oe, &d, M);
                ck_assert_msg(!stores_identical(a->params, e->params),
                              "config %zu: a fresh optimizer gave the same result", ci);
            }
        }
    }
    ck_assert_ok();
}
END_TEST

typedef struct snapshot {
    ag_params *model, *state;
    uint64_t steps;
    double lr;
} snapshot;

static snapshot take(const ag_params *model, ag_optim *o)
{
    snapshot s = {keep_params(ag_params_clone(model)), keep_params(ag_params_clone(ag_optim_state(o))),
                  ag_optim_steps(o), ag_optim_lr(o)};
    return s;
}

static void expect_ckpt_fails(const char *what, const char *path, ag_params *model, ag_optim *o,
                              ag_status status, const char *substr)
{
    snapshot s = take(model, o);
    ag_error_clear();
    bool ok = ag_checkpoint_load(path, model, o);
    ck_assert_msg(!ok, "%s: the load succeeded", what);
    ck_assert_msg(ag_last_status() == status, "%s: status %s, expected %s (%s)", what,
                  ag_status_str(ag_last_status()), ag_status_str(status), ag_last_error());
    ck_assert_msg(strstr(ag_last_error(), path) && strstr(ag_last_error(), substr),
                  "%s: message \"%s\" lacks the file or \"%s\"", what, ag_last_error(), substr);
    assert_identical(s.model, model);
    assert_identical(s.state, ag_optim_state(o));
    ck_assert_uint_eq(ag_optim_steps(o), s.steps);
    ck_assert(ag_optim_lr(o) == s.lr);
    ag_error_clear();
}

START_TEST(test_checkpoint_validates_before_changing_anything)
{
    train_data d = make_data(AG_F32);
    ag_mlp *m = make_mlp(1, AG_F32, 6);
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    oc.lr = 0.01;
    ag_optim *o = keep_optim(ag_optim_new(m->params, &oc));
    train(m, o, &d, 3);
    char ckpt[600];
    tpath_into(ckpt, "ckpt.st");
    ck_assert(ag_checkpoint_save(ckpt, m->params, o));

    /* The file is a plain safetensors file with both groups. */
    ag_params *r = keep_params(ag_safetensors_read(ckpt));
    ck_assert_uint_eq(ag_params_count(r), ag_params_count(m->params) * 3);
    ck_assert_ptr_nonnull(ag_params_get(r, "model.fc1.weight"));
    ck_assert_ptr_nonnull(ag_params_get(r, "optim.exp_avg.fc1.weight"));
    ck_assert_ptr_nonnull(ag_params_get(r, "optim.exp_avg_sq.fc2.bias"));
    bytes f = read_file(ckpt);
    ck_assert(contains(f.p, f.n, "\"format\":\"autograd-checkpoint\""));
    ck_assert(contains(f.p, f.n, "\"optim.steps\":\"3\""));
    ck_assert(contains(f.p, f.n, "\"optim.lr\":\"0.01\""));

    /* A model being trained elsewhere: state, steps and rate of its own. */
    ag_mlp *t = make_mlp(2, AG_F32, 6);
    ag_optim_config oc2 = ag_optim_defaults(AG_ADAM);
    oc2.lr = 0.2;
    ag_optim *ot = keep_optim(ag_optim_new(t->params, &oc2));
    train(t, ot, &d, 1);

    ck_assert(ag_safetensors_save(tpath("plain.st"), m->params, NULL));
    expect_ckpt_fails("plain model file", tpath("plain.st"), t->params, ot, AG_ERR_PARSE,
                      "not an autograd checkpoint");

    ag_mlp *w = make_mlp(3, AG_F32, 5);
    ag_optim_config oc3 = ag_optim_defaults(AG_ADAM);
    oc3.lr = 0.2;
    ag_optim *ow = keep_optim(ag_optim_new(w->params, &oc3));
    expect_ckpt_fails("other architecture", ckpt, w->params, ow, AG_ERR_SHAPE,
                      "tensor 'model.fc1.weight' has shape (6,4) in the file but (5,4) in the model");

    /* The model part fits, the optimizer's does not: the model must not
     * change either. The stored settings name the difference. */
    ag_optim *os = keep_optim(ag_optim_new(t->params, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1, .momentum = 0.9}));
    expect_ckpt_fails("other optimizer", ckpt, t->params, os, AG_ERR_VALUE,
                      "saved with \"optim.kind\" adam, the optimizer has sgd");
    ag_optim *op = keep_optim(ag_optim_new(t->params, &(ag_optim_config){.kind = AG_SGD, .lr = 0.1}));
    expect_ckpt_fails("stateless optimizer", ckpt, t->params, op, AG_ERR_VALUE,
                      "\"optim.kind\" adam");
    /* A file from before the settings were stored: the state tensors show
     * the other optimizer. */
    const char *const old_meta[] = {"format", "autograd-checkpoint", "optim.steps", "3",
                                    "optim.lr", "0.01", NULL};
    ck_assert(ag_safetensors_save(tpath("old.st"), r, old_meta));
    expect_ckpt_fails("other optimizer, old file", tpath("old.st"), t->params, os,
                      AG_ERR_NOTFOUND, "optim.momentum_buffer.fc1.weight");
    expect_ckpt_fails("stateless optimizer, old file", tpath("old.st"), t->params, op,
                      AG_ERR_NOTFOUND, "optim.exp_avg");

    /* Metadata: the same tensors with a bad tag, step count or rate. */
    struct {
        const char *what;
        const char *meta[7];
        const char *substr;
    } metas[] = {
        {"wrong format", {"format", "autograd-checkpoint-v9", "optim.steps", "3", "optim.lr", "0.01", NULL}, "format"},
        {"no steps", {"format", "autograd-checkpoint", "optim.lr", "0.01", NULL}, "\"optim.steps\" is missing"},
        {"signed steps", {"format", "autograd-checkpoint", "optim.steps", "-3", "optim.lr", "0.01", NULL}, "'-3'"},
        {"steps with junk", {"format", "autograd-checkpoint", "optim.steps", "3x", "optim.lr", "0.01", NULL}, "optim.steps"},
        {"steps overflow", {"format", "autograd-checkpoint", "optim.steps", "99999999999999999999999", "optim.lr", "0.01", NULL}, "optim.steps"},
        {"no rate", {"format", "autograd-checkpoint", "optim.steps", "3", NULL}, "\"optim.lr\" is missing"},
        {"NaN rate", {"format", "autograd-checkpoint", "optim.steps", "3", "optim.lr", "nan", NULL}, "optim.lr"},
        {"negative rate", {"format", "autograd-checkpoint", "optim.steps", "3", "optim.lr", "-0.5", NULL}, "optim.lr"},
        {"rate with junk", {"format", "autograd-checkpoint", "optim.steps", "3", "optim.lr", "0.01 ", NULL}, "optim.lr"},
    };
    for (size_t i = 0; i < H_COUNT(metas); i++) {
        ck_assert(ag_safetensors_save(tpath("meta.st"), r, metas[i].meta));
        expect_ckpt_fails(metas[i].what, tpath("meta.st"), t->params, ot, AG_ERR_PARSE,
                          metas[i].substr);
    }

    /* A truncated checkpoint. */
    write_file(tpath("cut.st"), f.p, f.n - 1);
    expect_ckpt_fails("truncated", tpath("cut.st"), t->params, ot, AG_ERR_PARSE, "truncated");
    b_free(&f);

    /* And the real thing loads. */
    ck_assert_msg(ag_checkpoint_load(ckpt, t->params, ot), "%s", ag_last_error());
    ck_assert(stores_identical(m->params, t->params));
    ck_assert(stores_identical(ag_optim_state(o), ag_optim_state(ot)));
    ck_assert_uint_eq(ag_optim_steps(ot), 3);
    ck_assert(ag_optim_lr(ot) == 0.01);

    ag_error_clear();
    ck_assert(!ag_checkpoint_save(ckpt, m->params, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(!ag_checkpoint_load(ckpt, NULL, ot));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
}
END_TEST

/* ------------------------------------------------------------------ */
/* Out of memory                                                       */
/* ------------------------------------------------------------------ */

typedef enum oom_op { OOM_SAVE, OOM_LOAD, OOM_READ, OOM_CKPT_SAVE, OOM_CKPT_LOAD } oom_op;

typedef struct oom_ctx {
    ag_params *model;    /* what is loaded into (or saved) */
    ag_params *other;    /* a different store, saved over the old file */
    ag_optim *opt;
    const char *file;    /* a good model file */
    const char *ckpt;    /* a good checkpoint of model and opt */
    const char *target;  /* where saves go: holds the old file */
} oom_ctx;

static bool oom_run(const oom_ctx *c, oom_op op)
{
    switch (op) {
    case OOM_SAVE: return ag_safetensors_save(c->target, c->other, (const char *[]){"k", "v", NULL});
    case OOM_LOAD: return ag_safetensors_load(c->file, c->model);
    case OOM_READ: {
        ag_params *r = ag_safetensors_read(c->file);
        ag_params_free(r);
        return r != NULL;
    }
    case OOM_CKPT_SAVE: return ag_checkpoint_save(c->target, c->model, c->opt);
    default: return ag_checkpoint_load(c->ckpt, c->model, c->opt);
    }
}

START_TEST(test_every_allocation_can_fail)
{
    /* Each allocation of a save, a load, a read and a checkpoint save and
     * load fails in turn (ag_alloc_fail_after): the call reports
     * AG_ERR_NOMEM (the message names the file, or the store or tensor
     * constructor that failed), leaks nothing (valgrind and
     * LeakSanitizer run this), leaves the model, the optimizer and any old
     * file as they were, and the next call succeeds. json-c's own
     * allocations are not counted: it has no allocator hook. */
    train_data d = make_data(AG_F64);
    ag_mlp *m = make_mlp(5, AG_F64, 6);
    ag_optim_config oc = ag_optim_defaults(AG_ADAM);
    oc.lr = 0.01;
    ag_optim *o = keep_optim(ag_optim_new(m->params, &oc));
    train(m, o, &d, 2);
    char file[600], ckpt[600], target[600];
    tpath_into(file, "model.st");
    tpath_into(ckpt, "ckpt.st");
    tpath_into(target, "target.st");
    ck_assert(ag_safetensors_save(file, m->params, NULL));
    ck_assert(ag_checkpoint_save(ckpt, m->params, o));
    oom_ctx c = {m->params, make_store(), o, file, ckpt, target};
    const char *names[] = {"save", "load", "read", "checkpoint save", "checkpoint load"};
    for (int op = OOM_SAVE; op <= OOM_CKPT_LOAD; op++) {
        ck_assert(ag_safetensors_save(target, c.model, NULL));
        bytes old = read_file(target);
        snapshot s = take(m->params, o);
        size_t before = ag_alloc_count();
        ck_assert_msg(oom_run(&c, (oom_op)op), "%s: %s", names[op], ag_last_error());
        long total = (long)(ag_alloc_count() - before);
        ck_assert_int_gt(total, 0);
        for (long k = 0; k < total; k++) {
            ck_assert(ag_safetensors_save(target, c.model, NULL));
            ag_error_clear();
            ag_alloc_fail_after(k);
            bool ok = oom_run(&c, (oom_op)op);
            ag_alloc_fail_after(-1);
            ag_status st = ag_last_status();
            char msg[600];
            snprintf(msg, sizeof msg, "%s", ag_last_error());
            ag_error_clear();
            /* Only the best-effort directory sync may fail quietly. */
            if (!ok) {
                ck_assert_msg(st == AG_ERR_NOMEM, "%s, allocation %ld of %ld: %s (%s)",
                              names[op], k, total, ag_status_str(st), msg);
                ck_assert_msg(msg[0] != '\0', "%s: no message", names[op]);
                assert_identical(s.model, m->params);
                assert_identical(s.state, ag_optim_state(o));
                ck_assert_uint_eq(ag_optim_steps(o), s.steps);
                bytes now = read_file(target);
                ck_assert_msg(now.n == old.n && memcmp(now.p, old.p, old.n) == 0,
                              "%s, allocation %ld: the old file changed", names[op], k);
                b_free(&now);
            } else {
                ck_assert_msg(op == OOM_SAVE || op == OOM_CKPT_SAVE,
                              "%s succeeded with allocation %ld of %ld failing", names[op], k, total);
            }
            ck_assert_int_eq(count_temp_files(), 0);
            ck_assert_msg(oom_run(&c, (oom_op)op), "%s after a failure: %s", names[op],
                          ag_last_error());
        }
        b_free(&old);
    }
    ag_error_clear();
}
END_TEST

Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = st_tcase(s, "checkpoints", 300);
    tcase_add_test(tc, test_checkpoint_resume_is_bit_identical);
    tcase_add_test(tc, test_checkpoint_validates_before_changing_anything);
    tc = st_tcase(s, "out of memory", 300);
    tcase_add_test(tc, test_every_allocation_can_fail);
    return s;
}

H_MAIN(checkpoint_suite)

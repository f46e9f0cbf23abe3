/* SPDX-License-Identifier: MIT */
/* check-oom_tools.c — every tool that walks a graph survives running out of
 * memory at any allocation.
 *
 * check-oom.c sweeps a training step; this sweeps the tools a user calls
 * around one: ag_explain, ag_graph_dot, the gradient checkers, ag_grad with
 * and without create_graph, the second-order helpers, ag_backward_ex,
 * ag_train and ag_evaluate. Each scenario builds what it needs from
 * scratch, runs one tool and folds every number it produced into a hash.
 * For every k below the scenario's allocation count, failing the k-th
 * allocation must either be reported as AG_ERR_NOMEM with a message (never
 * a crash, a leak — valgrind and LeakSanitizer run this — or a false with
 * no error, which would read as "check failed") or, where the tool can do
 * without that allocation, give bit for bit the result of a run that never
 * failed, with no error left pending. A clean run afterwards must give that result too. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef bool (*scenario_fn)(uint64_t *hash);

/* FNV-1a over the bit patterns of the results: a changed last bit changes
 * the hash. */
static void mix_bytes(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 1099511628211u;
    }
}

static void mix(uint64_t *h, double v)
{
    mix_bytes(h, &v, sizeof v);
}

static void mix_tensor(uint64_t *h, const ag_tensor *t)
{
    size_t n = ag_numel(t);
    for (size_t i = 0; i < n; i++)
        mix(h, ag_get_flat(t, i));
}

/* A private tape for one run, and the one it replaces. */
typedef struct run_tape {
    ag_tape *tape, *prev;
} run_tape;

static bool run_begin(run_tape *r)
{
    r->tape = ag_tape_new();
    r->prev = r->tape ? ag_tape_use(r->tape) : NULL;
    return r->tape != NULL;
}

static void run_end(run_tape *r)
{
    if (r->tape) {
        ag_tape_use(r->prev);
        ag_tape_free(r->tape);
    }
}

static ag_tensor *leaf(int ndim, const int64_t *shape, const double *values, bool grad)
{
    ag_tensor *t = ag_from_array(AG_F64, ndim, shape, values);
    if (t && grad && !ag_set_requires_grad(t, true)) {
        ag_tensor_free(t);
        return NULL;
    }
    return t;
}

/* ---- the scenarios ------------------------------------------------------ */

/* The lecture's 2-2-2 sigmoid network (check-explain.c checks its numbers). */
static ag_tensor *lecture_loss(ag_tensor *x, ag_tensor *t, ag_tensor *W1, ag_tensor *W2)
{
    ag_tensor *z1 = ag_matmul(x, W1);
    ag_tensor *a1 = ag_sigmoid(z1);
    ag_tensor *z2 = ag_matmul(a1, W2);
    ag_tensor *a2 = ag_sigmoid(z2);
    ag_tensor *d = ag_sub(t, a2);
    ag_tensor *E = ag_mul_scalar(ag_sum(ag_mul(d, d)), 0.5);
    ag_set_label(z1, "z1");
    ag_set_label(a1, "a1");
    ag_set_label(z2, "z2");
    ag_set_label(a2, "a2");
    ag_set_label(E, "E");
    return E;
}

typedef struct lecture {
    ag_tensor *x, *t, *W1, *W2;
} lecture;

static bool lecture_new(lecture *n)
{
    n->x = leaf(2, H_SHAPE(1, 2), H_VALS(0.2, 0.5), false);
    n->t = leaf(2, H_SHAPE(1, 2), H_VALS(0.2, 0.9), false);
    n->W1 = leaf(2, H_SHAPE(2, 2), H_VALS(0.1, 0.2, 0.3, 0.1), true);
    n->W2 = leaf(2, H_SHAPE(2, 2), H_VALS(0.4, 0.5, 0.1, 0.3), true);
    ag_set_label(n->W1, "W1");
    ag_set_label(n->W2, "W2");
    return n->x && n->t && n->W1 && n->W2;
}

static void lecture_free(lecture *n)
{
    ag_tensor_free(n->x);
    ag_tensor_free(n->t);
    ag_tensor_free(n->W1);
    ag_tensor_free(n->W2);
}

static void mix_explanation(uint64_t *h, const ag_explanation *ex)
{
    mix(h, ex->total);
    mix(h, (double)ex->n_paths_total);
    mix(h, (double)ex->n_paths + (ex->exploded ? 0.5 : 0));
    for (int p = 0; p < ex->n_paths; p++) {
        mix(h, ex->paths[p].product);
        for (int k = 0; k < ex->paths[p].n_factors; k++)
            mix(h, ex->paths[p].factors[k]);
        for (int k = 0; k <= ex->paths[p].n_factors; k++)
            mix_bytes(h, ex->paths[p].names[k], strlen(ex->paths[p].names[k]));
    }
}

static bool explain_lecture(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    lecture n = {0};
    FILE *devnull = fopen("/dev/null", "w");
    if (run_begin(&r) && lecture_new(&n) && devnull) {
        ag_tensor *E = lecture_loss(n.x, n.t, n.W1, n.W2);
        ag_explanation ex;
        ok = E && ag_explain(devnull, E, n.W1, 1, 4, &ex);
        if (ok)
            mix_explanation(h, &ex);
    }
    if (devnull)
        fclose(devnull);
    lecture_free(&n);
    run_end(&r);
    return ok;
}

/* y = y*y + y five times over: 2^5 paths from x, more than can be listed,
 * so the explanation falls back to the backward trace. */
static bool explain_exploded(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    ag_tensor *x = NULL;
    FILE *devnull = fopen("/dev/null", "w");
    if (run_begin(&r) && (x = leaf(1, H_SHAPE(1), H_VALS(0.3), true)) && devnull) {
        ag_tensor *y = x;
        for (int i = 0; i < 5; i++)
            y = ag_add(ag_mul(y, y), y);
        ag_tensor *loss = ag_sum(y);
        ag_explanation ex;
        ok = loss && ag_explain(devnull, loss, x, 0, 6, &ex);
        if (ok)
            mix_explanation(h, &ex);
    }
    if (devnull)
        fclose(devnull);
    ag_tensor_free(x);
    run_end(&r);
    return ok;
}

static bool graph_dot(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    lecture n = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (run_begin(&r) && lecture_new(&n) && f) {
        ag_tensor *E = lecture_loss(n.x, n.t, n.W1, n.W2);
        ok = E && ag_backward(E) && ag_graph_dot(f, 1, &E);
    }
    if (f)
        fclose(f);
    if (ok)
        mix_bytes(h, buf, len);
    free(buf);
    lecture_free(&n);
    run_end(&r);
    return ok;
}

/* sum(tanh(x W) * x W): a function with a non-trivial second derivative. */
static ag_tensor *tanh_net(ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *z = ag_matmul(in[0], in[1]);
    return ag_sum(ag_mul(ag_tanh(z), z));
}

typedef struct two_inputs {
    ag_tensor *in[2];
} two_inputs;

static bool two_inputs_new(two_inputs *t)
{
    t->in[0] = leaf(2, H_SHAPE(2, 3), H_VALS(0.5, -0.3, 0.8, 0.1, 0.7, -0.6), true);
    t->in[1] = leaf(2, H_SHAPE(3, 2), H_VALS(0.2, -0.4, 0.9, 0.3, -0.5, 0.6), true);
    return t->in[0] && t->in[1];
}

static void two_inputs_free(two_inputs *t)
{
    ag_tensor_free(t->in[0]);
    ag_tensor_free(t->in[1]);
}

static void mix_report(uint64_t *h, const ag_gradcheck_report *rep)
{
    mix(h, rep->pass);
    mix(h, rep->n_inputs);
    for (int i = 0; i < rep->n_inputs && i < AG_GRADCHECK_MAX_INPUTS; i++) {
        const ag_gradcheck_input *in = &rep->inputs[i];
        mix(h, in->checked);
        mix(h, in->analytic);
        mix(h, in->numeric);
        mix(h, in->max_abs_err);
        mix(h, (double)in->worst_flat);
    }
    mix(h, rep->f32_max_err);
    mix(h, rep->kernel_max_err);
    mix(h, rep->kernel_max_err_f32);
    mix_bytes(h, rep->zero_size, strlen(rep->zero_size));
}

static bool gradcheck_fn(uint64_t *h)
{
    two_inputs t = {0};
    ag_gradcheck_report rep;
    bool ok = two_inputs_new(&t) && ag_gradcheck(tanh_net, NULL, 2, t.in, NULL, &rep);
    if (ok)
        mix_report(h, &rep);
    two_inputs_free(&t);
    return ok;
}

static bool gradgradcheck_fn(uint64_t *h)
{
    two_inputs t = {0};
    ag_gradcheck_report rep;
    bool ok = two_inputs_new(&t) && ag_gradgradcheck(tanh_net, NULL, 2, t.in, NULL, &rep);
    if (ok)
        mix_report(h, &rep);
    two_inputs_free(&t);
    return ok;
}

static bool gradcheck_nodes_fn(uint64_t *h)
{
    two_inputs t = {0};
    ag_gradcheck_nodes_report rep;
    bool ok = two_inputs_new(&t) && ag_gradcheck_nodes(tanh_net, NULL, 2, t.in, NULL, &rep);
    if (ok) {
        mix(h, (double)rep.n_nodes);
        mix(h, (double)rep.n_checked);
        mix(h, (double)rep.bad_node);
    }
    two_inputs_free(&t);
    return ok;
}

static bool gradcheck_op_matmul(uint64_t *h)
{
    ag_gradcheck_report rep;
    bool ok = ag_gradcheck_op(ag_op_find("matmul"), 7, NULL, &rep);
    if (ok)
        mix_report(h, &rep);
    return ok;
}

static bool gradgradcheck_op_tanh(uint64_t *h)
{
    ag_gradcheck_report rep;
    bool ok = ag_gradgradcheck_op(ag_op_find("tanh"), 7, NULL, &rep);
    if (ok)
        mix_report(h, &rep);
    return ok;
}

/* ag_grad once plainly, once with create_graph and again through that. */
static bool grad_twice(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    ag_tensor *x = NULL;
    if (run_begin(&r) && (x = leaf(1, H_SHAPE(3), H_VALS(0.4, -1.1, 2.0), true))) {
        ag_tensor *y = ag_sum(ag_mul(ag_exp(x), x));
        ag_tensor *g = NULL, *g2 = NULL, *hd = NULL;
        ok = y && ag_grad(1, &y, NULL, 1, &x, 0, &g) &&
             ag_grad(1, &y, NULL, 1, &x, AG_GRAD_CREATE_GRAPH, &g2);
        ag_tensor *s = ok ? ag_sum(ag_mul(g2, g2)) : NULL;
        ok = ok && s && ag_grad(1, &s, NULL, 1, &x, 0, &hd);
        if (ok) {
            mix_tensor(h, g);
            mix_tensor(h, g2);
            mix_tensor(h, hd);
        }
    }
    ag_tensor_free(x);
    run_end(&r);
    return ok;
}

static ag_tensor *second_order_loss(ag_tensor *x)
{
    return ag_sum(ag_mul(ag_tanh(x), ag_mul(x, x)));
}

static bool second_order(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    ag_tensor *x = NULL, *v = NULL;
    if (run_begin(&r) && (x = leaf(1, H_SHAPE(3), H_VALS(0.4, -1.1, 2.0), true)) &&
        (v = leaf(1, H_SHAPE(3), H_VALS(1.0, 0.5, -2.0), false))) {
        ag_tensor *H = ag_hessian(second_order_loss(x), x);
        ag_tensor *Hv = ag_hvp(second_order_loss(x), x, v);
        ag_tensor *y = ag_mul(ag_sigmoid(x), x);
        ag_tensor *J = ag_jacobian(y, x);
        ag_tensor *Jv = ag_jvp(y, x, v);
        ok = H && Hv && J && Jv;
        if (ok) {
            mix_tensor(h, H);
            mix_tensor(h, Hv);
            mix_tensor(h, J);
            mix_tensor(h, Jv);
        }
    }
    ag_tensor_free(x);
    ag_tensor_free(v);
    run_end(&r);
    return ok;
}

/* Issue 12's first crash, at a size where the tape's node list and arena
 * grow while the create_graph sweep records: 400 levels of tanh(1.5 y). */
static bool hessian_chain(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    ag_tensor *x = NULL;
    if (run_begin(&r) && (x = leaf(1, H_SHAPE(2), H_VALS(0.3, -0.2), true))) {
        ag_tensor *y = x;
        for (int i = 0; i < 400; i++)
            y = ag_tanh(ag_mul_scalar(y, 1.5));
        ag_tensor *H = ag_hessian(ag_sum(ag_mul(y, y)), x);
        ok = H != NULL;
        if (ok)
            mix_tensor(h, H);
    }
    ag_tensor_free(x);
    run_end(&r);
    return ok;
}

/* backward with create_graph, then the gradient of what it left. */
static bool backward_create_graph(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    ag_tensor *x = NULL;
    if (run_begin(&r) && (x = leaf(1, H_SHAPE(3), H_VALS(0.4, -1.1, 2.0), true))) {
        ag_tensor *loss = second_order_loss(x);
        ag_tensor *hd = NULL;
        ok = loss && ag_backward_ex(loss, NULL, true);
        ag_tensor *gx = ok ? ag_grad_of(x) : NULL;
        ag_tensor *s = gx ? ag_sum(ag_mul(gx, x)) : NULL;
        ok = ok && s && ag_grad(1, &s, NULL, 1, &x, 0, &hd);
        if (ok) {
            mix_tensor(h, gx);
            mix_tensor(h, hd);
        }
    }
    ag_tensor_free(x);
    run_end(&r);
    return ok;
}

static ag_tensor *mlp_logits(void *m, ag_tensor *X)
{
    return ag_mlp_forward(m, X);
}

static ag_tensor *mlp_loss(void *m, ag_tensor *X, ag_tensor *y, ag_tensor *targets)
{
    (void)targets;
    return ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN);
}

/* Two epochs of Adam on 20 rows in batches of 5, then an evaluation. */
static bool train_evaluate(uint64_t *h)
{
    bool ok = false;
    run_tape r;
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    double xs[20 * 3];
    int64_t ys[20];
    for (int i = 0; i < 20; i++) {
        for (int j = 0; j < 3; j++)
            xs[i * 3 + j] = ag_rng_normal(&rng);
        ys[i] = xs[i * 3] + xs[i * 3 + 1] > 0;
    }
    ag_dataset d = {.n = 20, .d = 3, .n_classes = 2};
    ag_mlp *m = NULL;
    ag_optim *opt = NULL;
    if (run_begin(&r) &&
        (d.X = ag_from_array(AG_F64, 2, H_SHAPE(20, 3), xs)) &&
        (d.y = ag_from_array(AG_I64, 1, H_SHAPE(20), ys)) &&
        (m = ag_mlp_new(3, H_SHAPE(3, 4, 2), AG_ACT_TANH, AG_F64, &rng)) &&
        (opt = ag_optim_new(m->params, &(ag_optim_config){.kind = AG_ADAM, .lr = 0.05, .beta1 = 0.9,
                                                          .beta2 = 0.999, .eps = 1e-8}))) {
        ag_train_config cfg = {.epochs = 2, .batch_size = 5, .seed = 11, .quiet = true};
        ag_epoch_stats st;
        double acc, loss;
        ok = ag_train(m, mlp_loss, mlp_logits, opt, &d, &d, &cfg, &st) &&
             ag_evaluate(m, mlp_loss, mlp_logits, &d, 7, &acc, &loss);
        if (ok) {
            mix(h, st.train_loss);
            mix(h, st.test_loss);
            mix(h, st.test_accuracy);
            mix(h, acc);
            mix(h, loss);
            for (size_t i = 0; i < ag_params_count(m->params); i++)
                mix_tensor(h, ag_params_at(m->params, i, NULL));
        }
    }
    ag_optim_free(opt);
    ag_mlp_free(m);
    ag_tensor_free(d.X);
    ag_tensor_free(d.y);
    run_end(&r);
    return ok;
}

/* ---- the sweep ---------------------------------------------------------- */

static void sweep(const char *name, scenario_fn run)
{
    uint64_t ref = 14695981039346656037u, again = ref;
    ag_error_clear();
    ck_assert_msg(run(&ref), "%s: the reference run failed: %s", name, ag_last_error());
    size_t before = ag_alloc_count();
    ck_assert_msg(run(&again), "%s: the second run failed: %s", name, ag_last_error());
    long total = (long)(ag_alloc_count() - before);
    ck_assert_msg(again == ref, "%s: two clean runs differ", name);
    ck_assert_int_gt(total, 0);
    long reported = 0;
    for (long k = 0; k < total; k++) {
        uint64_t v = 14695981039346656037u;
        ag_error_clear();
        ag_alloc_fail_after(k);
        bool ok = run(&v);
        ag_alloc_fail_after(-1);
        if (ok) {
            ck_assert_msg(ag_last_status() == AG_OK,
                          "%s: allocation %ld of %ld failed, the run succeeded but left the "
                          "error \"%s\" pending", name, k, total, ag_last_error());
            ck_assert_msg(v == ref, "%s: allocation %ld of %ld failed, the run succeeded, but its "
                          "results differ from a clean run's", name, k, total);
        } else {
            reported++;
            ck_assert_msg(ag_last_status() == AG_ERR_NOMEM,
                          "%s: allocation %ld of %ld failed: status %s, message \"%s\"", name, k,
                          total, ag_status_str(ag_last_status()), ag_last_error());
            ck_assert_msg(ag_last_error()[0] != '\0', "%s: allocation %ld: no message", name, k);
        }
        ag_error_clear();
        uint64_t clean = 14695981039346656037u;
        ck_assert_msg(run(&clean), "%s: after failing allocation %ld, a clean run failed: %s",
                      name, k, ag_last_error());
        ck_assert_msg(clean == ref, "%s: after failing allocation %ld, a clean run differs", name,
                      k);
    }
    ck_assert_msg(reported > 0, "%s: no failure of %ld allocations was reported", name, total);
    fprintf(stderr, "%s: %ld allocations, %ld failures reported as AG_ERR_NOMEM\n", name, total,
            reported);
}

START_TEST(test_explain)
{
    sweep("ag_explain", explain_lecture);
    sweep("ag_explain (exploded)", explain_exploded);
}
END_TEST

START_TEST(test_graph_dot)
{
    sweep("ag_graph_dot", graph_dot);
}
END_TEST

START_TEST(test_gradcheck)
{
    sweep("ag_gradcheck", gradcheck_fn);
    sweep("ag_gradgradcheck", gradgradcheck_fn);
    sweep("ag_gradcheck_nodes", gradcheck_nodes_fn);
}
END_TEST

START_TEST(test_gradcheck_op)
{
    sweep("ag_gradcheck_op(matmul)", gradcheck_op_matmul);
    sweep("ag_gradgradcheck_op(tanh)", gradgradcheck_op_tanh);
}
END_TEST

START_TEST(test_grad)
{
    sweep("ag_grad", grad_twice);
    sweep("ag_backward_ex(create_graph)", backward_create_graph);
}
END_TEST

START_TEST(test_second_order)
{
    sweep("ag_hessian/ag_hvp/ag_jacobian/ag_jvp", second_order);
    sweep("ag_hessian (400-level chain)", hessian_chain);
}
END_TEST

START_TEST(test_train)
{
    sweep("ag_train/ag_evaluate", train_evaluate);
}
END_TEST

/* The portable matmul kernel takes scratch from the tape for transposed
 * operands (the backward products): a BLAS build sweeps it too. */
START_TEST(test_builtin_matmul_kernel)
{
    ag_matmul_backend prev = ag_matmul_backend_get();
    ck_assert(ag_matmul_backend_set(AG_MATMUL_BUILTIN));
    sweep("ag_explain (built-in matmul)", explain_lecture);
    sweep("ag_gradgradcheck (built-in matmul)", gradgradcheck_fn);
    sweep("ag_train/ag_evaluate (built-in matmul)", train_evaluate);
    ag_matmul_backend_set(prev);
}
END_TEST

static Suite *oom_tools_suite(void)
{
    Suite *s = suite_create("oom_tools");
    TCase *tc = h_tcase(s, "out of memory in the tools", 600);
    tcase_add_test(tc, test_explain);
    tcase_add_test(tc, test_graph_dot);
    tcase_add_test(tc, test_gradcheck);
    tcase_add_test(tc, test_gradcheck_op);
    tcase_add_test(tc, test_grad);
    tcase_add_test(tc, test_second_order);
    tcase_add_test(tc, test_train);
    tcase_add_test(tc, test_builtin_matmul_kernel);
    return s;
}

H_MAIN(oom_tools_suite)

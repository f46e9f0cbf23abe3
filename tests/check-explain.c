/* SPDX-License-Identifier: MIT */
/* check-explain.c — the teaching tools: the backward trace, ag_explain and
 * the DOT graph, on the lecture's 2-2-2 network.
 *
 * Expected numbers are the lecture's (z10 = 0.17, ∂E/∂a20 = 0.37,
 * ∂a20/∂z20 = 0.25, ∂z20/∂w = 0.54, product 0.049) and the closed forms
 * behind them, computed here with <math.h>. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct net {
    ag_tensor *W1, *W2, *z1, *a1, *z2, *a2, *E;
} net;

/* The lecture's network, built as in examples/seed_backprop.c. */
static net lecture_net(void)
{
    net n;
    ag_tensor *x = h_arr(AG_F64, 2, H_SHAPE(1, 2), H_VALS(0.2, 0.5));
    ag_tensor *t = h_arr(AG_F64, 2, H_SHAPE(1, 2), H_VALS(0.2, 0.9));
    n.W1 = h_param(AG_F64, 2, H_SHAPE(2, 2), H_VALS(0.1, 0.2, 0.3, 0.1));
    n.W2 = h_param(AG_F64, 2, H_SHAPE(2, 2), H_VALS(0.4, 0.5, 0.1, 0.3));
    ag_set_label(n.W2, "W2");
    n.z1 = ag_matmul(x, n.W1);
    n.a1 = ag_sigmoid(n.z1);
    n.z2 = ag_matmul(n.a1, n.W2);
    n.a2 = ag_sigmoid(n.z2);
    ag_tensor *d = ag_sub(t, n.a2);
    n.E = ag_mul_scalar(ag_sum(ag_mul(d, d)), 0.5);
    ag_set_label(n.z1, "z1");
    ag_set_label(n.a1, "a1");
    ag_set_label(n.z2, "z2");
    ag_set_label(n.a2, "a2");
    ag_set_label(n.E, "E");
    return n;
}

static double sig(double z)
{
    return 1 / (1 + exp(-z));
}

START_TEST(test_explain_lecture_numbers)
{
    net n = lecture_net();
    ck_assert_tensor(n.E);
    ag_explanation ex;
    char buf[8192] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ck_assert(ag_explain(f, n.E, n.W2, 0, 4, &ex));
    fclose(f);
    double a10 = sig(0.1 * 0.2 + 0.3 * 0.5), a11 = sig(0.2 * 0.2 + 0.1 * 0.5);
    double a20 = sig(0.4 * a10 + 0.1 * a11);
    ck_assert_int_eq(ex.n_paths, 1);
    const ag_explain_path *p = &ex.paths[0];
    ck_assert_int_eq(p->n_factors, 3);
    ck_assert_str_eq(p->names[0], "E");
    ck_assert_str_eq(p->names[1], "a2[0,0]");
    ck_assert_str_eq(p->names[2], "z2[0,0]");
    ck_assert_str_eq(p->names[3], "W2[0,0]");
    ck_assert_f64(p->factors[0], a20 - 0.2);
    ck_assert_f64(p->factors[1], a20 * (1 - a20));
    ck_assert_f64(p->factors[2], a10);
    ck_assert_f64(ex.total, (a20 - 0.2) * a20 * (1 - a20) * a10);
    /* The lecture's rounding. */
    ck_assert_near(p->factors[0], 0.37, 0, 0.005);
    ck_assert_near(p->factors[1], 0.25, 0, 0.005);
    ck_assert_near(p->factors[2], 0.54, 0, 0.005);
    ck_assert_near(ex.total, 0.049, 0, 0.0005);
    ck_assert_msg(strstr(buf, "0.3669 x 0.2455 x 0.5424 = 0.04886") != NULL, "printed:\n%s", buf);
    /* explain leaves the leaves' gradients alone. */
    ck_assert(ag_grad_of(n.W2) == NULL);
}
END_TEST

/* Fan-out: y = x·x + x has two paths through the product and one direct. */
START_TEST(test_explain_sums_paths)
{
    ag_tensor *x = h_pscalar(AG_F64, 3.0);
    ag_set_label(x, "x");
    ag_tensor *sq = ag_mul(x, x);
    ag_set_label(sq, "sq");
    ag_tensor *y = ag_add(sq, x);
    ag_set_label(y, "y");
    ag_explanation ex;
    ck_assert(ag_explain(NULL, y, x, 0, 4, &ex));
    ck_assert_f64(ex.total, 2 * 3.0 + 1);
    ck_assert_int_eq((int)ex.n_paths_total, 2); /* y -> sq -> x (the two factors summed), y -> x */
    double sum = 0;
    for (int i = 0; i < ex.n_paths; i++)
        sum += ex.paths[i].product;
    ck_assert_f64(sum, 7.0);
}
END_TEST

START_TEST(test_explain_errors)
{
    net n = lecture_net();
    ck_assert(!ag_explain(NULL, n.E, n.W2, 4, 4, NULL));
    ck_assert_error(AG_ERR_VALUE, "out of range");
    ag_error_clear();
    ck_assert(!ag_explain(NULL, n.a2, n.W2, 0, 4, NULL));
    ck_assert_error(AG_ERR_VALUE, "one-element");
}
END_TEST

/* The trace visits every node once, in reverse tape order, with the rule. */
START_TEST(test_trace_lists_every_step)
{
    net n = lecture_net();
    char buf[16384] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ag_set_backward_hook(ag_trace_hook, f);
    bool ok = ag_backward(n.E);
    ag_set_backward_hook(NULL, NULL);
    fclose(f);
    ck_assert(ok);
    const char *want[] = {"[7] E = mul_scalar", "[3] a2 = sigmoid(z2)", "[2] z2 = matmul(a1, W2)",
                          "[0] z1 = matmul(const, param)", "dx += g * y * (1 - y)"};
    for (size_t i = 0; i < H_COUNT(want); i++)
        ck_assert_msg(strstr(buf, want[i]) != NULL, "trace lacks \"%s\":\n%s", want[i], buf);
    ck_assert_msg(strstr(buf, "[3] a2") < strstr(buf, "[2] z2"), "order:\n%s", buf);
}
END_TEST

START_TEST(test_dot_names_every_node_and_renders)
{
    net n = lecture_net();
    ck_assert(ag_backward(n.E));
    char path[] = "/tmp/ag-dot-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    ck_assert(ag_graph_dot(f, 1, &n.E));
    fclose(f);
    f = fopen(path, "r");
    char buf[16384];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    buf[len] = '\0';
    fclose(f);
    const char *names[] = {"matmul: z1", "sigmoid: a1", "matmul: z2", "sigmoid: a2",
                           "mul_scalar: E", "sum", "sub", "W2", "parameter", "constant"};
    for (size_t i = 0; i < H_COUNT(names); i++)
        ck_assert_msg(strstr(buf, names[i]) != NULL, "DOT lacks \"%s\":\n%s", names[i], buf);
    /* 12 tensors: x, t, W1, W2 and 8 computed ones; each a box. */
    int boxes = 0;
    for (const char *p = buf; (p = strstr(p, "[shape=box")) != NULL; p++)
        boxes++;
    ck_assert_int_eq(boxes, 12);
    ck_assert_msg(strstr(buf, "grad 1") != NULL, "the loss's gradient is not shown:\n%s", buf);
    if (system("command -v dot >/dev/null 2>&1") == 0) {
        char svg[64], cmd[200];
        snprintf(svg, sizeof svg, "%s.svg", path);
        snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s'", path, svg);
        ck_assert_msg(system(cmd) == 0, "Graphviz cannot render the DOT written: %s", cmd);
        FILE *s = fopen(svg, "r");
        ck_assert(s != NULL);
        len = fread(buf, 1, sizeof buf - 1, s);
        buf[len] = '\0';
        fclose(s);
        ck_assert(strstr(buf, "<svg") != NULL);
        remove(svg);
    }
    remove(path);
}
END_TEST

static Suite *explain_suite(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = h_tcase(s, "explain", H_TIMEOUT);
    tcase_add_test(tc, test_explain_lecture_numbers);
    tcase_add_test(tc, test_explain_sums_paths);
    tcase_add_test(tc, test_explain_errors);
    tc = h_tcase(s, "trace and graph", H_TIMEOUT);
    tcase_add_test(tc, test_trace_lists_every_step);
    tcase_add_test(tc, test_dot_names_every_node_and_renders);
    return s;
}

H_MAIN(explain_suite)

/* SPDX-License-Identifier: MIT */
/* check-gradcheck_registry.c — the gradient checker (autograd/gradcheck*.c)
 * over the whole op registry, and the example programs built on it.
 *
 *  1. Every op in the registry passes ag_gradcheck_op in f64 with rtol
 *     1e-6 on five seeds, with its f32 result agreeing with f64 and a
 *     result or a clear error for zero-size inputs (the report's fields);
 *     and the sweep gives an op without a sample rule broadcasting shapes
 *     and size-1 dimensions; the built-ins pass the registration checks a
 *     user op gets.
 *  7. The programs examples/gradcheck_all (every line PASS, 0 failed) and
 *     examples/custom_op (exit 0, the culprit 'swish_wrong' named), found
 *     through $GRADCHECK_ALL and $CUSTOM_OP (meson test) or the paths
 *     compiled in (tests/meson.build).
 *
 * 2-6 (planted wrong rules, the per-node mode, kinks, nondet_tol and the
 * arguments) are in check-gradcheck.c; report_text() is in
 * gradcheck_fixture.[ch]. */
#include "gradcheck_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* ---- 1. the registry ---- */

typedef struct op_list {
    const ag_op *ops[256];
    size_t n;
} op_list;

static void collect(const ag_op *op, void *ctx)
{
    op_list *l = ctx;
    if (l->n < H_COUNT(l->ops))
        l->ops[l->n++] = op;
}

START_TEST(test_registry_every_op_passes)
{
    op_list l = {.n = 0};
    ag_op_foreach(collect, &l);
    ck_assert_uint_eq(l.n, ag_op_count());
    /* The families of issue 3 are all registered. */
    static const char *const family[] = {
        "pow", "pow_scalar", "sqrt", "abs", "clamp", "softplus", "log_sigmoid", "square",
        "reciprocal", "where", "maximum", "minimum", "gt", "ge", "lt", "le", "eq", "ne",
        "sum", "mean", "max", "min", "logsumexp", "reshape", "transpose", "permute", "slice",
        "concat", "stack", "broadcast_to", "expand_dims", "squeeze", "gather", "index_select",
        "matmul", "matmul_batched", "outer", "dot", "softmax", "log_softmax",
        "bce_with_logits", "cross_entropy", "nll", "mse",
        /* activations, special functions and the variance */
        "gelu", "gelu_tanh", "silu", "leaky_relu", "elu", "hardtanh", "sin", "cos", "erf",
        "log1p", "expm1", "rsub", "rdiv", "var", "std",
        /* pooling and normalisation */
        "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "layer_norm",
        "group_norm",
        /* casts, splitting and dropout */
        "cast", "split", "chunk", "dropout",
        /* convolution */
        "conv2d", "conv1d", "conv_transpose2d", "conv2d_weight",
        /* sequence models */
        "embedding", "masked_fill", "tril", "triu",
        /* attention */
        "scaled_dot_product_attention"};
    for (size_t i = 0; i < H_COUNT(family); i++)
        ck_assert_msg(ag_op_find(family[i]) != NULL, "op '%s' is not registered", family[i]);
    ag_error_clear();

    ag_gradcheck_opts o = h_gradcheck_opts();
    ck_assert(o.rtol <= 1e-6);
    /* Check carries a failure message of at most 4 KiB: the first failing
     * op's report, then only the names of the others. */
    static char first[2048], others[1024];
    int n_failed = 0;
    first[0] = others[0] = '\0';
    for (size_t i = 0; i < l.n; i++) {
        const char *name = ag_op_info(l.ops[i])->name;
        for (uint64_t seed = 101; seed <= 105; seed++) {
            ag_gradcheck_report rep;
            memset(&rep, 0, sizeof rep);
            ag_error_clear();
            bool pass = ag_gradcheck_op(l.ops[i], seed, &o, &rep);
            /* The report's own fields agree with the verdict: the name, every
             * input checked, f32 run and close to f64 (f32 keeps 7 digits; a
             * few roundings stay far below 1e-5 relative), zero-size inputs
             * handled with "ok" or the op's own error. */
            bool fields = strcmp(rep.name, name) == 0 && rep.f32_checked &&
                          rep.f32_max_err >= 0 && rep.f32_max_err <= 1e-5 && rep.zero_size_ok &&
                          (strcmp(rep.zero_size, "ok") == 0 ||
                           (strncmp(rep.zero_size, "rejected: ", 10) == 0 && rep.zero_size[10]));
            for (int k = 0; k < rep.n_inputs; k++)
                fields = fields && rep.inputs[k].checked && rep.inputs[k].pass;
            if (pass && fields)
                continue;
            if (n_failed++ == 0)
                snprintf(first, sizeof first,
                         "op '%s' seed %llu: pass %d, fields %d (f32 %d %.3g, zero-size %d "
                         "\"%s\") %s %s\n%s",
                         name, (unsigned long long)seed, pass, fields, rep.f32_checked,
                         rep.f32_max_err, rep.zero_size_ok, rep.zero_size,
                         ag_status_str(ag_last_status()), ag_last_error(), report_text(&rep));
            else if (strlen(others) + strlen(name) + 2 < sizeof others)
                strcat(strcat(others, " "), name);
            break;
        }
    }
    ag_error_clear();
    ck_assert_msg(n_failed == 0, "%d of %zu ops fail; the first:\n%s\nthe others:%s", n_failed,
                  l.n, first, others);
}
END_TEST

/* What shapes the sweep gives an op without a sample rule: a composite
 * user op (a + b) that records every pair of shapes it is applied to. */
static int spy_calls, spy_broadcast, spy_size1;

static ag_tensor *apply_spy(ag_tensor *const *in, const void *p)
{
    (void)p;
    if (in[0] && in[1]) {
        spy_calls++;
        int na = ag_ndim(in[0]), nb = ag_ndim(in[1]);
        const int64_t *sa = ag_shape(in[0]), *sb = ag_shape(in[1]);
        bool same = na == nb;
        for (int d = 0; same && d < na; d++)
            same = sa[d] == sb[d];
        spy_broadcast += !same;
        for (int d = 0; d < na; d++)
            spy_size1 += sa[d] == 1;
    }
    return ag_add(in[0], in[1]);
}

/* Built-ins enter the registry through the validation a user op gets: the
 * 101 of them register with no error pending (a refused entry would leave
 * one and a smaller count), and each one's descriptor, copied under a new
 * name, passes ag_op_register itself. */
enum { N_BUILTINS = 102 };

START_TEST(test_builtins_pass_registration)
{
    size_t n = ag_op_count();
    ck_assert_msg(ag_last_status() == AG_OK, "%s", ag_last_error());
    ck_assert_uint_eq(n, N_BUILTINS);
    op_list l = {.n = 0};
    ag_op_foreach(collect, &l);
    for (size_t i = 0; i < l.n; i++) {
        ag_op_def def = *ag_op_info(l.ops[i]);
        char name[64];
        snprintf(name, sizeof name, "copy_of_%s", def.name);
        def.name = name;
        ck_assert_msg(ag_op_register(&def) != NULL, "%s", ag_last_error());
    }
    ck_assert_uint_eq(ag_op_count(), 2 * N_BUILTINS);
}
END_TEST

START_TEST(test_sweep_shapes_broadcast)
{
    /* ag_gradcheck_op documents "shapes from its sample rule (broadcasting
     * and size-1 dimensions included)", and AG_OP_NO_BROADCAST says ops
     * without it get broadcasting shapes from the sweep. Over 20 seeds, a
     * broadcasting binary op must see at least one pair of shapes that
     * differ (e.g. (2,3) with (3) or (2,1)), and some size-1 dimension. */
    ag_op_def def = {.name = "test_bcast_spy", .n_inputs = 2, .forward = apply_spy,
                     .domain_lo = -2, .domain_hi = 2, .flags = AG_OP_COMPOSITE};
    const ag_op *op = ag_op_register(&def);
    ck_assert_msg(op != NULL, "%s", ag_last_error());
    spy_calls = spy_broadcast = spy_size1 = 0;
    ag_gradcheck_opts o = h_gradcheck_opts();
    for (uint64_t seed = 1; seed <= 20; seed++) {
        ag_gradcheck_report rep;
        memset(&rep, 0, sizeof rep);
        ck_assert_msg(ag_gradcheck_op(op, seed, &o, &rep), "%s", report_text(&rep));
    }
    ck_assert_int_gt(spy_calls, 0);
    ck_assert_int_gt(spy_size1, 0);
    ck_assert_msg(spy_broadcast > 0,
                  "in %d calls over 20 seeds the sweep never gave the two inputs different "
                  "(broadcasting) shapes",
                  spy_calls);
}
END_TEST

/* ---- 7. the example programs ---- */

static const char *program(const char *env, const char *fallback)
{
    const char *p = getenv(env);
    return p && *p ? p : fallback;
}

#ifndef GRADCHECK_ALL_PATH
#define GRADCHECK_ALL_PATH NULL
#endif
#ifndef CUSTOM_OP_PATH
#define CUSTOM_OP_PATH NULL
#endif

/* Runs path, returns its exit status (-1 if it did not exit) and its
 * standard output and error in out. */
static int run(const char *path, char *out, size_t size)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen %s failed", path);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Where to start quoting the output in a failure message (Check allows 4
 * KiB): the line holding key, or the beginning. Quote with "%.3000s". */
static const char *quote_from(const char *out, const char *key)
{
    const char *k = strstr(out, key);
    if (!k)
        return out;
    while (k > out && k[-1] != '\n')
        k--;
    return k;
}

START_TEST(test_gradcheck_all_program)
{
    const char *path = program("GRADCHECK_ALL", GRADCHECK_ALL_PATH);
    ck_assert_msg(path != NULL, "GRADCHECK_ALL is not set (run through meson test)");
    static char out[1 << 17];
    int status = run(path, out, sizeof out);
    ck_assert_msg(status == 0, "%s exited with %d:\n%.3000s", path, status, quote_from(out, "FAIL"));

    /* One line per op, each PASS (first and second order), then the count. */
    op_list l = {.n = 0};
    ag_op_foreach(collect, &l);
    int n_lines = 0, ops = -1, passed = -1, failed = -1;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (sscanf(line, "%d ops, %d passed, %d failed", &ops, &passed, &failed) == 3)
            continue;
        n_lines++;
        ck_assert_msg(strstr(line, "PASS") != NULL && strstr(line, "FAIL") == NULL,
                      "line \"%s\"", line);
        /* The line starts with a registered op's name. */
        char name[64] = "";
        ck_assert(sscanf(line, "%63s", name) == 1);
        ck_assert_msg(ag_op_find(name) != NULL, "line \"%s\": no op '%s'", line, name);
    }
    ag_error_clear();
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(passed, ops);
    ck_assert_int_eq(ops, n_lines);
    ck_assert_int_eq((size_t)ops, l.n);
}
END_TEST

START_TEST(test_custom_op_program)
{
    const char *path = program("CUSTOM_OP", CUSTOM_OP_PATH);
    ck_assert_msg(path != NULL, "CUSTOM_OP is not set (run through meson test)");
    static char out[1 << 15];
    int status = run(path, out, sizeof out);
    ck_assert_msg(status == 0, "%s exited with %d:\n%.3000s", path, status, out);
    const char *c = strstr(out, "culprit:");
    ck_assert_msg(c != NULL, "no culprit line:\n%.3000s", out);
    const char *end = strchr(c, '\n');
    char line[512];
    size_t n = end ? (size_t)(end - c) : strlen(c);
    if (n >= sizeof line)
        n = sizeof line - 1;
    memcpy(line, c, n);
    line[n] = '\0';
    ck_assert_msg(strstr(line, "'swish_wrong'") != NULL, "culprit line \"%s\"", line);
    ck_assert_msg(strstr(line, "activation") != NULL, "culprit line \"%s\"", line);
    ck_assert_msg(strstr(out, "gradcheck swish: PASS") && strstr(out, "gradcheck swish_wrong: FAIL"),
                  "%.3000s", out);
}
END_TEST

Suite *gradcheck_registry_suite(void);
Suite *gradcheck_registry_suite(void)
{
    Suite *s = suite_create("gradcheck_registry");
    TCase *tc = h_tcase(s, "registry", 600);
    tcase_add_test(tc, test_registry_every_op_passes);
    tcase_add_test(tc, test_builtins_pass_registration);
    tcase_add_test(tc, test_sweep_shapes_broadcast);
    tc = h_tcase(s, "programs", 300);
    tcase_add_test(tc, test_gradcheck_all_program);
    tcase_add_test(tc, test_custom_op_program);
    return s;
}

H_MAIN(gradcheck_registry_suite)

/* SPDX-License-Identifier: MIT */
/* pg_net.c — the lecture's 2-2-2 network for the playground's first panel:
 * the same expression as docs/snippets/06_chain_rule.c, with the numbers
 * the student typed. */
#include "pg_json.h"
#include "playground.h"

#include <autograd/autograd.h>
#include <autograd/op.h>
#include <autograd/tools.h>

#include <stdio.h>
#include <stdlib.h>

enum { N_ARGS = 14 };

static const char *const arg_names[N_ARGS] = {
    "x0", "x1", "t0", "t1", "W1[0][0]", "W1[0][1]", "W1[1][0]", "W1[1][1]",
    "W2[0][0]", "W2[0][1]", "W2[1][0]", "W2[1][1]", "lr", "sel"};

typedef struct net {
    ag_tensor *x, *t, *W1, *W2; /* leaves */
    ag_tensor *z1, *a1, *z2, *a2, *E;
} net;

/* The forward pass on the current tape, each tensor labelled as in the
 * lecture so ag_explain names the chain rule's steps. */
static bool forward(net *n)
{
    n->z1 = ag_matmul(n->x, n->W1);
    n->a1 = ag_sigmoid(n->z1);
    n->z2 = ag_matmul(n->a1, n->W2);
    n->a2 = ag_sigmoid(n->z2);
    ag_tensor *d = ag_sub(n->t, n->a2);
    n->E = ag_mul_scalar(ag_sum(ag_mul(d, d)), 0.5);
    if (!n->E)
        return false;
    ag_set_label(n->z1, "z1");
    ag_set_label(n->a1, "a1");
    ag_set_label(n->z2, "z2");
    ag_set_label(n->a2, "a2");
    ag_set_label(n->E, "E");
    return true;
}

static void put_tensor(pg_json *j, const char *key, const ag_tensor *t)
{
    double v[4];
    size_t k = ag_numel(t);
    for (size_t i = 0; i < k && i < 4; i++)
        v[i] = ag_get_flat(t, i);
    pg_json_key(j, key);
    pg_json_nums(j, v, k < 4 ? k : 4);
}

static void put_explanation(pg_json *j, const char *weight, const ag_explanation *ex)
{
    pg_json_key(j, "explain");
    pg_json_raw(j, "{\"weight\":");
    pg_json_str(j, weight);
    pg_json_key(j, "total");
    pg_json_num(j, ex->total);
    pg_json_key(j, "paths");
    pg_json_raw(j, "[");
    for (int p = 0; p < ex->n_paths; p++) {
        const ag_explain_path *path = &ex->paths[p];
        pg_json_raw(j, p ? ",{\"names\":[" : "{\"names\":[");
        for (int k = 0; k <= path->n_factors; k++) {
            if (k)
                pg_json_raw(j, ",");
            pg_json_str(j, path->names[k]);
        }
        pg_json_raw(j, "]");
        pg_json_key(j, "factors");
        pg_json_nums(j, path->factors, (size_t)path->n_factors);
        pg_json_key(j, "product");
        pg_json_num(j, path->product);
        pg_json_raw(j, "}");
    }
    pg_json_raw(j, "]}");
}

const char *pg_net(const char *args)
{
    if (!args)
        return pg_json_error("pg_net: no arguments (NULL)");
    double v[N_ARGS];
    int bad;
    const char *word;
    int got = pg_parse_numbers(args, v, N_ARGS, &bad, &word);
    if (got < 0 && bad < N_ARGS)
        return pg_json_error("pg_net: %s is '%.*s', which is not a finite number", arg_names[bad],
                             pg_word_len(word), word);
    if (got != N_ARGS)
        return pg_json_error("pg_net: expected %d numbers (x0 x1 t0 t1, W1 and W2 row by row, lr, "
                             "sel), got %s%d",
                             N_ARGS, got < 0 ? "more than " : "", got < 0 ? N_ARGS : got);
    int sel = (int)v[13];
    if (v[13] != sel || sel < 0 || sel > 7)
        return pg_json_error("pg_net: sel is %g; it must be a whole number from 0 to 7 "
                             "(0-3 pick a weight of W1, 4-7 of W2)",
                             v[13]);
    double lr = v[12];

    ag_error_clear();
    net n = {0};
    ag_explanation ex;
    pg_json j = {0};
    n.x = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, &v[0]);
    n.t = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, &v[2]);
    n.W1 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, &v[4]);
    n.W2 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, &v[8]);
    const char *result = NULL;
    if (!n.x || !n.t || !n.W1 || !n.W2)
        goto fail;
    ag_set_label(n.x, "x");
    ag_set_label(n.t, "t");
    ag_set_label(n.W1, "W1");
    ag_set_label(n.W2, "W2");
    ag_set_requires_grad(n.W1, true);
    ag_set_requires_grad(n.W2, true);
    if (!forward(&n))
        goto fail;

    /* The chain rule for the chosen weight, read off the recorded graph
     * before backward (ag_explain leaves the leaves' gradients alone). */
    ag_tensor *w = sel < 4 ? n.W1 : n.W2;
    size_t element = (size_t)(sel % 4);
    if (!ag_explain(NULL, n.E, w, element, 4, &ex) || !ag_backward(n.E))
        goto fail;

    pg_json_raw(&j, "{\"ok\":true");
    put_tensor(&j, "z1", n.z1);
    put_tensor(&j, "a1", n.a1);
    put_tensor(&j, "z2", n.z2);
    put_tensor(&j, "a2", n.a2);
    pg_json_key(&j, "E");
    pg_json_num(&j, ag_item(n.E));
    put_tensor(&j, "dW1", ag_grad_of(n.W1));
    put_tensor(&j, "dW2", ag_grad_of(n.W2));
    char weight[16];
    snprintf(weight, sizeof weight, "W%d[%zu,%zu]", sel < 4 ? 1 : 2, element / 2, element % 2);
    put_explanation(&j, weight, &ex);

    /* One step of gradient descent, and the error it leads to. */
    ag_tape_reset(NULL);
    if (!ag_sgd_update(n.W1, lr) || !ag_sgd_update(n.W2, lr) || !forward(&n)) {
        ag_free(j.s);
        goto fail;
    }
    put_tensor(&j, "W1_new", n.W1);
    put_tensor(&j, "W2_new", n.W2);
    pg_json_key(&j, "E_new");
    pg_json_num(&j, ag_item(n.E));
    pg_json_raw(&j, "}");
    result = pg_json_finish(&j);
fail:
    if (!result)
        result = pg_json_error("pg_net: %s", ag_last_error());
    ag_tape_reset(NULL);
    ag_tensor_free(n.x);
    ag_tensor_free(n.t);
    ag_tensor_free(n.W1);
    ag_tensor_free(n.W2);
    return result;
}

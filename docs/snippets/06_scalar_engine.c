/* A reverse-mode engine for scalars in plain C, as micrograd builds one: each
 * value remembers its parents and the local rule that made it; backward
 * visits the values in reverse topological order and applies each rule.
 * No library: only the C standard library. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum rule { LEAF, ADD, SUB, MUL, SIGMOID };

typedef struct value {
    double data, grad;
    enum rule rule;           /* how this value was made from its parents */
    struct value *parents[2]; /* NULL where unused */
    int visited;              /* for the depth-first search */
} value;

enum { MAX_VALUES = 100 };
static value *all[MAX_VALUES]; /* every value made, to free them at the end */
static int n_all;

static value *make(double data, enum rule rule, value *a, value *b)
{
    value *v = calloc(1, sizeof *v);
    if (!v || n_all == MAX_VALUES)
        abort();
    *v = (value){.data = data, .rule = rule, .parents = {a, b}};
    all[n_all++] = v;
    return v;
}

static value *leaf(double x) { return make(x, LEAF, NULL, NULL); }
static value *add(value *a, value *b) { return make(a->data + b->data, ADD, a, b); }
static value *sub(value *a, value *b) { return make(a->data - b->data, SUB, a, b); }
static value *mul(value *a, value *b) { return make(a->data * b->data, MUL, a, b); }
static value *sigmoid(value *a) { return make(1 / (1 + exp(-a->data)), SIGMOID, a, NULL); }

/* The local rule: pass v's gradient g = dE/dv on to its parents, each times
 * the derivative of v with respect to that parent. += because a value used
 * twice (mul(d, d)) or by two children gets the sum of both contributions. */
static void apply_rule(value *v)
{
    value *a = v->parents[0], *b = v->parents[1];
    double g = v->grad;
    switch (v->rule) {
    case ADD: a->grad += g;            b->grad += g;            break;
    case SUB: a->grad += g;            b->grad -= g;            break;
    case MUL: a->grad += b->data * g;  b->grad += a->data * g;  break;
    case SIGMOID: a->grad += v->data * (1 - v->data) * g;       break;
    case LEAF: break;
    }
}

/* Depth-first search: a value is appended after all its parents, so the
 * order is topological and every value comes after the values it uses. */
static void topo(value *v, value **order, int *n)
{
    if (!v || v->visited)
        return;
    v->visited = 1;
    topo(v->parents[0], order, n);
    topo(v->parents[1], order, n);
    order[(*n)++] = v;
}

static void backward(value *root)
{
    value *order[MAX_VALUES];
    int n = 0;
    topo(root, order, &n);
    root->grad = 1; /* dE/dE */
    for (int i = n - 1; i >= 0; i--) /* each value's gradient is complete */
        apply_rule(order[i]);        /* before its rule runs */
}

int main(void)
{
    double w1[2][2] = {{0.1, 0.2}, {0.3, 0.1}}, w2[2][2] = {{0.4, 0.5}, {0.1, 0.3}};
    value *x[2] = {leaf(0.2), leaf(0.5)}, *t[2] = {leaf(0.2), leaf(0.9)};
    value *W1[2][2], *W2[2][2], *a1[2], *z2[2], *a2[2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            W1[i][j] = leaf(w1[i][j]);
            W2[i][j] = leaf(w2[i][j]);
        }
    for (int j = 0; j < 2; j++) /* hidden unit j */
        a1[j] = sigmoid(add(mul(x[0], W1[0][j]), mul(x[1], W1[1][j])));
    for (int j = 0; j < 2; j++) { /* output unit j */
        z2[j] = add(mul(a1[0], W2[0][j]), mul(a1[1], W2[1][j]));
        a2[j] = sigmoid(z2[j]);
    }
    value *d0 = sub(t[0], a2[0]), *d1 = sub(t[1], a2[1]);
    value *E = mul(leaf(0.5), add(mul(d0, d0), mul(d1, d1)));

    backward(E);
    printf("E = %.4f, made from %d values\n", E->data, n_all);
    printf("dE/da20 = %.4f  dE/dz20 = %.4f  dE/dw = %.4f\n",
           a2[0]->grad, z2[0]->grad, W2[0][0]->grad);
    for (int i = 0; i < 2; i++) /* row i of each weight matrix's gradient */
        printf("dE/dW1[%d] = %10.3e %10.3e   dE/dW2[%d] = %7.4f %7.4f\n", i,
               W1[i][0]->grad, W1[i][1]->grad, i, W2[i][0]->grad, W2[i][1]->grad);

    for (int i = 0; i < n_all; i++)
        free(all[i]);
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* pg_expr.c — the playground's gradient-check panel: a small expression of
 * named variables is parsed once into a syntax tree, which is then built
 * into a graph of the library's ops as often as needed (once to show the
 * graph and its backward sweep, and again by ag_gradcheck for every finite
 * difference). */
#include "pg_json.h"
#include "playground.h"

#include <autograd/autograd.h>
#include <autograd/op.h>
#include <autograd/tools.h>

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_EXPR = 1 << 20, /* bytes of expression text */
    MAX_DEPTH = 200,    /* nesting: the parser recurses once per level */
    MAX_VARS = AG_GRADCHECK_MAX_INPUTS,
    MAX_NAME = 31,
    MAX_TEXT = 60 /* a node's text in the answer: longer ones are cut */
};

typedef enum { N_NUM, N_VAR, N_NEG, N_BIN, N_FN1, N_FN2 } node_kind;

typedef ag_tensor *(*fn1)(ag_tensor *);
typedef ag_tensor *(*fn2)(ag_tensor *, ag_tensor *);

static const struct {
    const char *name;
    fn1 f;
} fns1[] = {{"tanh", ag_tanh}, {"sigmoid", ag_sigmoid}, {"exp", ag_exp},   {"log", ag_log},
            {"sqrt", ag_sqrt}, {"sin", ag_sin},         {"cos", ag_cos},   {"relu", ag_relu},
            {"abs", ag_abs},   {"square", ag_square},   {"softplus", ag_softplus}};

static const struct {
    const char *name;
    fn2 f;
} fns2[] = {{"max", ag_maximum}, {"min", ag_minimum}};

/* A syntax-tree node. Children are made before their parent, so the pool's
 * order is an order in which the graph can be built. */
typedef struct node {
    node_kind kind;
    int a, b;     /* children (pool indices), -1 when absent */
    int which;    /* N_VAR: the variable; N_BIN: the operator char; N_FN*: table index */
    double value; /* N_NUM */
    int start, end; /* the text it came from */
} node;

typedef struct parser {
    const char *src;
    int pos;
    int depth;
    node *pool;
    int n, cap;
    char vars[MAX_VARS][MAX_NAME + 1];
    int var_node[MAX_VARS]; /* each variable is one node, however often used */
    int n_vars;
    char error[256];
} parser;

static int fail(parser *p, const char *fmt, const char *what)
{
    if (!p->error[0]) {
        char msg[200];
        snprintf(msg, sizeof msg, fmt, what);
        snprintf(p->error, sizeof p->error, "%s (at column %d)", msg, p->pos + 1);
    }
    return -1;
}

static void skip_space(parser *p)
{
    while (isspace((unsigned char)p->src[p->pos]))
        p->pos++;
}

static int add_node(parser *p, node_kind kind, int a, int b, int which, double value, int start)
{
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        node *pool = ag_realloc(p->pool, (size_t)cap * sizeof *pool);
        if (!pool)
            return fail(p, "out of memory for the expression's %s", "nodes");
        p->pool = pool;
        p->cap = cap;
    }
    int end = p->pos;
    while (end > start && isspace((unsigned char)p->src[end - 1]))
        end--;
    p->pool[p->n] = (node){kind, a, b, which, value, start, end};
    return p->n++;
}

static int parse_sum(parser *p);

static int parse_unary(parser *p);

/* name(arg) or name(arg, arg), the parser standing at the '(' (call) or
 * at whatever followed the name. */
static int parse_call(parser *p, const char *name, bool call, node_kind kind, int which, int start)
{
    const char *arity = kind == N_FN1 ? "one" : "two";
    if (!call)
        return fail(p, kind == N_FN1 ? "%s is a function: write it with its argument in parentheses"
                                     : "%s is a function: write it with its two arguments",
                    name);
    int args[2] = {-1, -1};
    for (int k = 0; k < (kind == N_FN1 ? 1 : 2); k++) {
        p->pos++; /* the '(' or the ',' */
        if ((args[k] = parse_sum(p)) < 0)
            return -1;
        skip_space(p);
        if (kind == N_FN2 && k == 0 && p->src[p->pos] != ',')
            return fail(p, "expected ',' between the two arguments of %s", name);
    }
    if (p->src[p->pos] != ')') {
        char msg[96];
        snprintf(msg, sizeof msg, "expected ')' after the argument%s of %%s (it takes %s)",
                 kind == N_FN1 ? "" : "s", arity);
        return fail(p, msg, name);
    }
    p->pos++;
    return add_node(p, kind, args[0], args[1], which, 0, start);
}

static int parse_primary(parser *p)
{
    skip_space(p);
    int start = p->pos;
    char c = p->src[p->pos];
    if (c == '(') {
        p->pos++;
        int e = parse_sum(p);
        if (e < 0)
            return -1;
        skip_space(p);
        if (p->src[p->pos] != ')')
            return fail(p, "expected '%s' to close the parenthesis", ")");
        p->pos++;
        return e;
    }
    if (isdigit((unsigned char)c) || c == '.') {
        char *end;
        double v = strtod(p->src + p->pos, &end);
        if (end == p->src + p->pos)
            return fail(p, "'%s' is not a number", ".");
        p->pos = (int)(end - p->src);
        return add_node(p, N_NUM, -1, -1, 0, v, start);
    }
    if (isalpha((unsigned char)c) || c == '_') {
        char name[MAX_NAME + 1];
        int len = 0;
        while (isalnum((unsigned char)p->src[p->pos]) || p->src[p->pos] == '_') {
            if (len == MAX_NAME)
                return fail(p, "a name is longer than %s characters", "31");
            name[len++] = p->src[p->pos++];
        }
        name[len] = '\0';
        skip_space(p);
        bool call = p->src[p->pos] == '(';
        for (size_t i = 0; i < sizeof fns1 / sizeof fns1[0]; i++)
            if (!strcmp(name, fns1[i].name))
                return parse_call(p, name, call, N_FN1, (int)i, start);
        for (size_t i = 0; i < sizeof fns2 / sizeof fns2[0]; i++)
            if (!strcmp(name, fns2[i].name))
                return parse_call(p, name, call, N_FN2, (int)i, start);
        if (call)
            return fail(p, "unknown function %s", name);
        for (int v = 0; v < p->n_vars; v++)
            if (!strcmp(p->vars[v], name))
                return p->var_node[v];
        if (p->n_vars == MAX_VARS)
            return fail(p, "too many variables: %s is the ninth; at most 8", name);
        int id = add_node(p, N_VAR, -1, -1, p->n_vars, 0, start);
        if (id >= 0) {
            strcpy(p->vars[p->n_vars], name);
            p->var_node[p->n_vars++] = id;
        }
        return id;
    }
    if (!c)
        return fail(p, "the expression ends where a number, a name or '%s' was expected", "(");
    char what[2] = {c, '\0'};
    return fail(p, "unexpected '%s'", what);
}

/* primary ('^' unary)?: right-associative, and binding tighter than a
 * leading minus on its left (-a^2 is -(a^2)), as in mathematics. */
static int parse_power(parser *p)
{
    int start = p->pos;
    int a = parse_primary(p);
    if (a < 0)
        return -1;
    skip_space(p);
    if (p->src[p->pos] != '^')
        return a;
    p->pos++;
    int b = parse_unary(p);
    if (b < 0)
        return -1;
    return add_node(p, N_BIN, a, b, '^', 0, start);
}

static int parse_unary(parser *p)
{
    if (++p->depth > MAX_DEPTH)
        return fail(p, "the expression nests deeper than %s levels", "200");
    skip_space(p);
    int start = p->pos, r;
    if (p->src[p->pos] == '-') {
        p->pos++;
        int a = parse_unary(p);
        r = a < 0 ? -1 : add_node(p, N_NEG, a, -1, 0, 0, start);
    } else if (p->src[p->pos] == '+') {
        p->pos++;
        r = parse_unary(p);
    } else {
        r = parse_power(p);
    }
    p->depth--;
    return r;
}

static int parse_product(parser *p)
{
    skip_space(p);
    int start = p->pos;
    int a = parse_unary(p);
    for (;;) {
        if (a < 0)
            return -1;
        skip_space(p);
        char op = p->src[p->pos];
        if (op != '*' && op != '/')
            return a;
        p->pos++;
        int b = parse_unary(p);
        if (b < 0)
            return -1;
        a = add_node(p, N_BIN, a, b, op, 0, start);
    }
}

/* Nesting is counted in parse_unary alone: every parenthesis, function
 * argument and sign passes through it once. */
static int parse_sum(parser *p)
{
    skip_space(p);
    int start = p->pos;
    int a = parse_product(p);
    for (;;) {
        if (a < 0)
            break;
        skip_space(p);
        char op = p->src[p->pos];
        if (op != '+' && op != '-')
            break;
        p->pos++;
        int b = parse_product(p);
        if (b < 0) {
            a = -1;
            break;
        }
        a = add_node(p, N_BIN, a, b, op, 0, start);
    }
    return a;
}

/* ------------------------------------------------------------------ */
/* Building the graph                                                  */
/* ------------------------------------------------------------------ */

typedef struct build {
    const parser *p;
    ag_tensor **consts;  /* per node: the constant leaf of an N_NUM, else NULL */
    ag_tensor **tensors; /* per node: the graph shown (the first build) */
    ag_tensor **scratch; /* per node: ag_gradcheck's builds, on its own tape */
} build;

/* Builds the graph of the whole expression from the variables' tensors,
 * keeping each node's tensor in out[]; returns the root's. */
static ag_tensor *make(const build *b, ag_tensor *const *vars, ag_tensor **out)
{
    const node *pool = b->p->pool;
    for (int i = 0; i < b->p->n; i++) {
        const node *nd = &pool[i];
        ag_tensor *x = nd->a >= 0 ? out[nd->a] : NULL;
        ag_tensor *y = nd->b >= 0 ? out[nd->b] : NULL;
        ag_tensor *t = NULL;
        switch (nd->kind) {
        case N_NUM: t = b->consts[i]; break;
        case N_VAR: t = vars[nd->which]; break;
        case N_NEG: t = ag_neg(x); break;
        case N_FN1: t = fns1[nd->which].f(x); break;
        case N_FN2: t = fns2[nd->which].f(x, y); break;
        case N_BIN:
            switch (nd->which) {
            case '+': t = ag_add(x, y); break;
            case '-': t = ag_sub(x, y); break;
            case '*': t = ag_mul(x, y); break;
            case '/': t = ag_div(x, y); break;
            default: t = ag_pow(x, y); break;
            }
            break;
        }
        if (!t)
            return NULL;
        out[i] = t;
    }
    return out[b->p->n - 1];
}

static ag_tensor *make_fn(ag_tensor *const *inputs, void *ctx)
{
    const build *b = ctx;
    return make(b, inputs, b->scratch);
}

/* ------------------------------------------------------------------ */
/* Watching the sweep                                                  */
/* ------------------------------------------------------------------ */

/* Tensor → node, for the hook: sorted by address, searched by bisection, so
 * a graph of 10⁵ nodes is not searched 10⁵ times over. A variable used
 * several times is one tensor: its first node stands for it. */
typedef struct owner {
    const ag_tensor *t;
    int id;
} owner;

typedef struct step {
    int node;       /* -1 for a node no syntax-tree node made */
    const char *op; /* the engine's name of the node's op */
    double grad_out;
    int n_inputs;
    int input[2];
    double grad_in[2];
    bool has_grad_in[2];
} step;

typedef struct sweep {
    owner *owners;
    int n_owners;
    step *steps;
    int n_steps, cap;
    bool oom;
} sweep;

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const owner *)a)->t, y = (uintptr_t)((const owner *)b)->t;
    if (x != y)
        return x < y ? -1 : 1;
    return ((const owner *)a)->id - ((const owner *)b)->id; /* the first node first */
}

static int owner_of(const sweep *s, const ag_tensor *t)
{
    int lo = 0, hi = s->n_owners;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if ((uintptr_t)s->owners[mid].t < (uintptr_t)t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_owners && s->owners[lo].t == t ? s->owners[lo].id : -1;
}

static void hook(void *ctx, const ag_tensor *node, const ag_tensor *grad_out, int n_inputs,
                 ag_tensor *const *inputs, ag_tensor *const *grad_in)
{
    sweep *s = ctx;
    if (s->oom)
        return;
    if (s->n_steps == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        step *steps = ag_realloc(s->steps, (size_t)cap * sizeof *steps);
        if (!steps) {
            s->oom = true;
            return;
        }
        s->steps = steps;
        s->cap = cap;
    }
    step *st = &s->steps[s->n_steps++];
    const ag_op *op = ag_node_op(node);
    *st = (step){.node = owner_of(s, node), .op = op ? ag_op_info(op)->name : "?",
                 .grad_out = ag_item(grad_out), .n_inputs = n_inputs};
    for (int k = 0; k < n_inputs && k < 2; k++) {
        st->input[k] = owner_of(s, inputs[k]);
        st->has_grad_in[k] = grad_in[k] != NULL;
        st->grad_in[k] = grad_in[k] ? ag_item(grad_in[k]) : 0;
    }
}

/* ------------------------------------------------------------------ */
/* The answer                                                          */
/* ------------------------------------------------------------------ */

static void put_text(pg_json *j, const parser *p, int id)
{
    const node *nd = &p->pool[id];
    int len = nd->end - nd->start;
    if (len <= MAX_TEXT) {
        pg_json_strn(j, p->src + nd->start, (size_t)len);
        return;
    }
    /* Cut at a UTF-8 character boundary, then mark the cut. */
    int cut = MAX_TEXT - 3;
    while (cut > 0 && ((unsigned char)p->src[nd->start + cut] & 0xC0) == 0x80)
        cut--;
    char buf[MAX_TEXT + 1];
    memcpy(buf, p->src + nd->start, (size_t)cut);
    memcpy(buf + cut, "...", 4);
    pg_json_str(j, buf);
}

static const char *op_name(const parser *p, int id, const ag_tensor *t)
{
    if (p->pool[id].kind == N_VAR)
        return "leaf";
    if (p->pool[id].kind == N_NUM)
        return "const";
    const ag_op *op = ag_node_op(t);
    if (op)
        return ag_op_info(op)->name;
    /* Not recorded (no variable below it): the op it would have been. */
    const node *nd = &p->pool[id];
    switch (nd->kind) {
    case N_NEG: return "neg";
    case N_FN1: return fns1[nd->which].name;
    case N_FN2: return nd->which ? "minimum" : "maximum";
    default:
        switch (nd->which) {
        case '+': return "add";
        case '-': return "sub";
        case '*': return "mul";
        case '/': return "div";
        default: return "pow";
        }
    }
}

static double grad_value(const ag_tensor *t)
{
    ag_tensor *g = ag_requires_grad(t) ? ag_grad_of(t) : NULL;
    return g ? ag_item(g) : NAN;
}

static void put_answer(pg_json *j, const parser *p, const build *b, const sweep *s,
                       ag_tensor *const *vars, const ag_gradcheck_report *rep)
{
    int root = p->n - 1;
    pg_json_raw(j, "{\"ok\":true");
    pg_json_key(j, "value");
    pg_json_num(j, ag_item(b->tensors[root]));
    pg_json_key(j, "pass");
    pg_json_raw(j, rep->pass ? "true" : "false");
    pg_json_key(j, "grads");
    pg_json_raw(j, "[");
    for (int v = 0; v < p->n_vars; v++) {
        const ag_gradcheck_input *in = &rep->inputs[v];
        pg_json_raw(j, v ? ",{\"name\":" : "{\"name\":");
        pg_json_str(j, p->vars[v]);
        pg_json_key(j, "value");
        pg_json_num(j, ag_item(vars[v]));
        pg_json_key(j, "grad");
        pg_json_num(j, grad_value(vars[v]));
        pg_json_key(j, "numeric");
        pg_json_num(j, in->numeric);
        pg_json_key(j, "abs_err");
        pg_json_num(j, in->max_abs_err);
        pg_json_key(j, "pass");
        pg_json_raw(j, in->pass ? "true" : "false");
        pg_json_raw(j, "}");
    }
    pg_json_raw(j, "]");
    pg_json_key(j, "nodes");
    pg_json_raw(j, "[");
    for (int i = 0; i < p->n; i++) {
        const node *nd = &p->pool[i];
        char head[40];
        snprintf(head, sizeof head, "%s{\"id\":%d", i ? "," : "", i);
        pg_json_raw(j, head);
        pg_json_key(j, "text");
        put_text(j, p, i);
        pg_json_key(j, "op");
        pg_json_str(j, op_name(p, i, b->tensors[i]));
        pg_json_key(j, "value");
        pg_json_num(j, ag_item(b->tensors[i]));
        pg_json_key(j, "grad");
        pg_json_num(j, grad_value(b->tensors[i]));
        pg_json_key(j, "inputs");
        char ins[40];
        if (nd->b >= 0)
            snprintf(ins, sizeof ins, "[%d,%d]}", nd->a, nd->b);
        else if (nd->a >= 0)
            snprintf(ins, sizeof ins, "[%d]}", nd->a);
        else
            snprintf(ins, sizeof ins, "[]}");
        pg_json_raw(j, ins);
    }
    pg_json_raw(j, "]");
    pg_json_key(j, "sweep");
    pg_json_raw(j, "[");
    for (int k = 0; k < s->n_steps; k++) {
        const step *st = &s->steps[k];
        char head[40];
        snprintf(head, sizeof head, "%s{\"node\":%d", k ? "," : "", st->node);
        pg_json_raw(j, head);
        pg_json_key(j, "text");
        if (st->node >= 0)
            put_text(j, p, st->node);
        else
            pg_json_raw(j, "\"\"");
        pg_json_key(j, "op");
        pg_json_str(j, st->op);
        pg_json_key(j, "grad_out");
        pg_json_num(j, st->grad_out);
        pg_json_key(j, "grad_in");
        pg_json_raw(j, "[");
        for (int i = 0; i < st->n_inputs && i < 2; i++) {
            if (i)
                pg_json_raw(j, ",");
            if (!st->has_grad_in[i]) {
                pg_json_raw(j, "null");
                continue;
            }
            char in[40];
            snprintf(in, sizeof in, "{\"input\":%d", st->input[i]);
            pg_json_raw(j, in);
            pg_json_key(j, "grad");
            pg_json_num(j, st->grad_in[i]);
            pg_json_raw(j, "}");
        }
        pg_json_raw(j, "]}");
    }
    pg_json_raw(j, "]}");
}

/* "a=2 b=-3": the value of every variable the expression uses. */
static bool read_vars(const parser *p, const char *text, double *values, char *error, size_t size)
{
    bool given[MAX_VARS] = {false};
    const char *q = text;
    for (;;) {
        while (isspace((unsigned char)*q) || *q == ',')
            q++;
        if (!*q)
            break;
        const char *name = q;
        while (*q && *q != '=' && !isspace((unsigned char)*q) && *q != ',')
            q++;
        int len = (int)(q - name);
        while (isspace((unsigned char)*q))
            q++;
        if (*q != '=' || len == 0) {
            snprintf(error, size, "pg_expr: expected name=value in the variables, at '%.*s'",
                     pg_word_len(name), name);
            return false;
        }
        q++;
        char *end;
        double v = strtod(q, &end);
        if (end == q || !isfinite(v) || (*end && !isspace((unsigned char)*end) && *end != ',')) {
            snprintf(error, size, "pg_expr: the value of %.*s is '%.*s', which is not a finite "
                     "number", len > MAX_NAME ? MAX_NAME : len, name, pg_word_len(q), q);
            return false;
        }
        q = end;
        for (int k = 0; k < p->n_vars; k++)
            if ((int)strlen(p->vars[k]) == len && !strncmp(p->vars[k], name, (size_t)len)) {
                values[k] = v;
                given[k] = true;
            }
    }
    for (int k = 0; k < p->n_vars; k++)
        if (!given[k]) {
            snprintf(error, size, "pg_expr: the variable %s has no value (give it as %s=...)",
                     p->vars[k], p->vars[k]);
            return false;
        }
    return true;
}

const char *pg_expr(const char *expr, const char *vars_text)
{
    if (!expr || !vars_text)
        return pg_json_error("pg_expr: no %s (NULL)", expr ? "variables" : "expression");
    size_t len = strlen(expr);
    if (len > MAX_EXPR)
        return pg_json_error("pg_expr: the expression is %zu bytes long; at most %d", len, MAX_EXPR);
    parser p = {.src = expr};
    int root = parse_sum(&p);
    skip_space(&p);
    if (root >= 0 && p.src[p.pos])
        fail(&p, "unexpected '%s' after the end of the expression", (char[]){p.src[p.pos], '\0'});
    if (p.error[0]) {
        ag_free(p.pool);
        return pg_json_error("pg_expr: %s", p.error);
    }
    double values[MAX_VARS];
    char error[256];
    if (!read_vars(&p, vars_text, values, error, sizeof error)) {
        ag_free(p.pool);
        return pg_json_error("%s", error);
    }

    ag_error_clear();
    const char *result = NULL;
    ag_tensor *vars[MAX_VARS] = {NULL};
    build b = {.p = &p, .consts = ag_calloc((size_t)p.n, sizeof(ag_tensor *)),
               .tensors = ag_calloc((size_t)p.n, sizeof(ag_tensor *)),
               .scratch = ag_calloc((size_t)p.n, sizeof(ag_tensor *))};
    sweep s = {.owners = ag_malloc((size_t)p.n * sizeof(owner))};
    bool ok = b.consts && b.tensors && b.scratch && s.owners;
    if (!ok)
        result = pg_json_error("pg_expr: out of memory for a graph of %d nodes", p.n);
    for (int v = 0; ok && v < p.n_vars; v++) {
        vars[v] = ag_scalar(AG_F64, values[v]);
        ok = vars[v] && ag_set_requires_grad(vars[v], true);
        if (vars[v])
            ag_set_label(vars[v], p.vars[v]);
    }
    for (int i = 0; ok && i < p.n; i++)
        if (p.pool[i].kind == N_NUM)
            ok = (b.consts[i] = ag_scalar(AG_F64, p.pool[i].value)) != NULL;

    ag_gradcheck_report rep;
    ag_tensor *out = ok ? make(&b, vars, b.tensors) : NULL;
    if (out) {
        for (int i = 0; i < p.n; i++)
            s.owners[i] = (owner){b.tensors[i], i};
        s.n_owners = p.n;
        qsort(s.owners, (size_t)p.n, sizeof *s.owners, by_address);
        if (ag_requires_grad(out)) {
            ag_set_backward_hook(hook, &s);
            ok = ag_backward(out);
            ag_set_backward_hook(NULL, NULL);
        }
        /* The finite differences, on the checker's own tape. A check that
         * ran and disagreed is still an answer (pass false); one that could
         * not run is an error. Without variables there is nothing to check. */
        rep = (ag_gradcheck_report){.pass = true};
        if (ok && !s.oom && p.n_vars > 0)
            ag_gradcheck(make_fn, &b, p.n_vars, vars, NULL, &rep);
        if (ok && !s.oom && ag_last_status() == AG_OK) {
            pg_json j = {0};
            put_answer(&j, &p, &b, &s, vars, &rep);
            result = pg_json_finish(&j);
        }
    }
    if (!result)
        result = s.oom ? pg_json_error("pg_expr: out of memory recording the backward sweep")
                       : pg_json_error("pg_expr: %s", ag_last_error());
    ag_tape_reset(NULL);
    for (int v = 0; v < p.n_vars; v++)
        ag_tensor_free(vars[v]);
    for (int i = 0; b.consts && i < p.n; i++)
        ag_tensor_free(b.consts[i]);
    ag_free(b.consts);
    ag_free(b.tensors);
    ag_free(b.scratch);
    ag_free(s.owners);
    ag_free(s.steps);
    ag_free(p.pool);
    return result;
}

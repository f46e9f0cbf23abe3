/* SPDX-License-Identifier: MIT */
/* check-playground.c — the browser playground's functions (playground/),
 * run natively: their JSON answers against the lecture network's
 * backpropagation written out by hand, logistic regression's gradient
 * written as a plain loop, and derivatives of typed expressions worked out
 * from calculus; their errors on bad input; a 10⁵-node expression; and
 * every allocation failing in turn. The browser test (tests/browser/) then
 * holds the WebAssembly build to these same answers. */
#include "harness.h"
#include "playground.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- reading the answers ----
 * The n-th (0-based) occurrence of "key": in json; its value, or element
 * idx of the array it holds. A key that is missing fails the test. */
static const char *after_key(const char *json, const char *key, int nth)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json;
    for (int k = 0; p && k <= nth; k++) {
        p = strstr(p, pat);
        if (p && k < nth)
            p += strlen(pat);
    }
    ck_assert_msg(p != NULL, "no \"%s\" (occurrence %d) in %.300s", key, nth, json);
    return p + strlen(pat);
}

static double jnum_nth(const char *json, const char *key, int nth, int idx)
{
    const char *p = after_key(json, key, nth);
    if (idx >= 0) {
        ck_assert_msg(*p == '[', "\"%s\" is not an array in %.300s", key, json);
        p++;
        for (int i = 0; i < idx; i++) {
            p = strchr(p, ',');
            ck_assert_msg(p != NULL, "\"%s\" has no element %d", key, idx);
            p++;
        }
    }
    if (!strncmp(p, "null", 4))
        return NAN;
    char *end;
    double v = strtod(p, &end);
    ck_assert_msg(end != p, "\"%s\"[%d] is not a number: %.40s", key, idx, p);
    return v;
}

static double jnum(const char *json, const char *key, int idx)
{
    return jnum_nth(json, key, 0, idx);
}

/* A plain scan rather than strstr in a loop: sanitizers check the whole
 * rest of the string on every strstr call, which makes counting 10⁵
 * matches in a 25 MB answer quadratic. */
static int count_of(const char *json, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = json; *p; p++)
        n += *p == needle[0] && !strncmp(p, needle, len);
    return n;
}

static bool is_ok(const char *json)
{
    return !strncmp(json, "{\"ok\":true", 10);
}

#define ck_assert_answer(json)                                                                   \
    ck_assert_msg(is_ok(json), "not an ok answer: %.400s", (json))

#define ck_assert_refused(json, substr)                                                          \
    do {                                                                                        \
        const char *h_j_ = (json);                                                              \
        ck_assert_msg(!strncmp(h_j_, "{\"ok\":false,\"error\":\"", 21), "not refused: %.300s",  \
                      h_j_);                                                                    \
        ck_assert_msg(strstr(h_j_, (substr)) != NULL, "error %s does not say \"%s\"", h_j_,     \
                      (substr));                                                                \
    } while (0)

/* ---- the lecture's network, by hand ---- */

static double sig(double z)
{
    return 1 / (1 + exp(-z));
}

typedef struct hand {
    double z1[2], a1[2], z2[2], a2[2], E, dW1[4], dW2[4], d1[2], d2[2];
} hand;

/* Forward and backpropagation with the textbook formulas:
 * δ2 = (a2 − t) ⊙ a2 (1 − a2), dW2 = a1ᵀ δ2, δ1 = (δ2 W2ᵀ) ⊙ a1 (1 − a1),
 * dW1 = xᵀ δ1. */
static hand backprop(const double x[2], const double t[2], const double W1[4], const double W2[4])
{
    hand h;
    for (int j = 0; j < 2; j++) {
        h.z1[j] = x[0] * W1[j] + x[1] * W1[2 + j];
        h.a1[j] = sig(h.z1[j]);
    }
    h.E = 0;
    for (int k = 0; k < 2; k++) {
        h.z2[k] = h.a1[0] * W2[k] + h.a1[1] * W2[2 + k];
        h.a2[k] = sig(h.z2[k]);
        h.E += 0.5 * (t[k] - h.a2[k]) * (t[k] - h.a2[k]);
        h.d2[k] = (h.a2[k] - t[k]) * h.a2[k] * (1 - h.a2[k]);
    }
    for (int j = 0; j < 2; j++) {
        h.d1[j] = (h.d2[0] * W2[2 * j] + h.d2[1] * W2[2 * j + 1]) * h.a1[j] * (1 - h.a1[j]);
        for (int k = 0; k < 2; k++)
            h.dW2[2 * j + k] = h.a1[j] * h.d2[k];
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            h.dW1[2 * i + j] = x[i] * h.d1[j];
    return h;
}

static const double LX[2] = {0.2, 0.5}, LT[2] = {0.2, 0.9};
static const double LW1[4] = {0.1, 0.2, 0.3, 0.1}, LW2[4] = {0.4, 0.5, 0.1, 0.3};

static const char *net_args(char *buf, size_t size, const double x[2], const double t[2],
                            const double W1[4], const double W2[4], double lr, int sel)
{
    snprintf(buf, size, "%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g "
             "%.17g %d",
             x[0], x[1], t[0], t[1], W1[0], W1[1], W1[2], W1[3], W2[0], W2[1], W2[2], W2[3], lr, sel);
    return buf;
}

START_TEST(test_net_lecture)
{
    char args[512];
    const char *r = pg_net(net_args(args, sizeof args, LX, LT, LW1, LW2, 0.3, 4));
    ck_assert_answer(r);
    hand h = backprop(LX, LT, LW1, LW2);
    for (int k = 0; k < 2; k++) {
        ck_assert_f64(jnum(r, "z1", k), h.z1[k]);
        ck_assert_f64(jnum(r, "a1", k), h.a1[k]);
        ck_assert_f64(jnum(r, "z2", k), h.z2[k]);
        ck_assert_f64(jnum(r, "a2", k), h.a2[k]);
    }
    ck_assert_f64(jnum(r, "E", -1), h.E);
    for (int i = 0; i < 4; i++) {
        ck_assert_f64(jnum(r, "dW1", i), h.dW1[i]);
        ck_assert_f64(jnum(r, "dW2", i), h.dW2[i]);
        ck_assert_f64(jnum(r, "W1_new", i), LW1[i] - 0.3 * h.dW1[i]);
        ck_assert_f64(jnum(r, "W2_new", i), LW2[i] - 0.3 * h.dW2[i]);
    }
    /* The lecture's numbers: 0.3669 × 0.2455 × 0.5424 = 0.0489, w 0.4 -> 0.3853. */
    ck_assert_near(jnum(r, "factors", 0), 0.3669, 0, 5e-5);
    ck_assert_near(jnum(r, "factors", 1), 0.2455, 0, 5e-5);
    ck_assert_near(jnum(r, "factors", 2), 0.5424, 0, 5e-5);
    ck_assert_near(jnum(r, "total", -1), 0.0489, 0, 5e-5);
    ck_assert_near(jnum(r, "W2_new", 0), 0.3853, 0, 5e-5);
    /* The same factors from their formulas: (a20 − t1), a20 (1 − a20), a10. */
    ck_assert_f64(jnum(r, "factors", 0), h.a2[0] - LT[0]);
    ck_assert_f64(jnum(r, "factors", 1), h.a2[0] * (1 - h.a2[0]));
    ck_assert_f64(jnum(r, "factors", 2), h.a1[0]);
    ck_assert_f64(jnum(r, "total", -1), h.dW2[0]);
    ck_assert_int_eq(count_of(r, "\"names\":"), 1);
    ck_assert_ptr_nonnull(strstr(r, "\"names\":[\"E\",\"a2[0,0]\",\"z2[0,0]\",\"W2[0,0]\"]"));
    ck_assert_ptr_nonnull(strstr(r, "\"weight\":\"W2[0,0]\""));

    /* The step goes downhill: E at the updated weights, by hand. */
    double W1n[4], W2n[4];
    for (int i = 0; i < 4; i++) {
        W1n[i] = LW1[i] - 0.3 * h.dW1[i];
        W2n[i] = LW2[i] - 0.3 * h.dW2[i];
    }
    hand after = backprop(LX, LT, W1n, W2n);
    ck_assert_f64(jnum(r, "E_new", -1), after.E);
    ck_assert(after.E < h.E);
}
END_TEST

/* A weight of W1 reaches E through both outputs: two paths of five factors,
 * E → a2[0,k] → z2[0,k] → a1[0,j] → z1[0,j] → W1[i,j], whose products add
 * up to the gradient. Checked for every weight of W1 at values a student
 * might type. */
START_TEST(test_net_first_layer_paths)
{
    const double x[2] = {1.5, -0.7}, t[2] = {0.9, 0.1};
    const double W1[4] = {0.3, -1.2, 0.8, 0.5}, W2[4] = {-0.4, 1.1, 0.6, -0.9};
    hand h = backprop(x, t, W1, W2);
    for (int sel = 0; sel < 4; sel++) {
        int i = sel / 2, j = sel % 2;
        char args[512];
        const char *r = pg_net(net_args(args, sizeof args, x, t, W1, W2, 0.1, sel));
        ck_assert_answer(r);
        ck_assert_int_eq(count_of(r, "\"names\":"), 2);
        for (int k = 0; k < 2; k++) {
            /* Path through output k. */
            double want[5] = {h.a2[k] - t[k], h.a2[k] * (1 - h.a2[k]), W2[2 * j + k],
                              h.a1[j] * (1 - h.a1[j]), x[i]};
            for (int f = 0; f < 5; f++)
                ck_assert_f64(jnum_nth(r, "factors", k, f), want[f]);
            ck_assert_f64(jnum_nth(r, "product", k, -1),
                          want[0] * want[1] * want[2] * want[3] * want[4]);
            char names[160];
            snprintf(names, sizeof names,
                     "\"names\":[\"E\",\"a2[0,%d]\",\"z2[0,%d]\",\"a1[0,%d]\",\"z1[0,%d]\",\"W1[%d,%d]\"]",
                     k, k, j, j, i, j);
            ck_assert_msg(strstr(r, names) != NULL, "no path %s in %s", names, r);
        }
        ck_assert_f64(jnum(r, "total", -1), h.dW1[sel]);
    }
}
END_TEST

START_TEST(test_net_errors)
{
    ck_assert_refused(pg_net(NULL), "NULL");
    ck_assert_refused(pg_net(""), "expected 14 numbers");
    ck_assert_refused(pg_net("1 2 3"), "got 3");
    ck_assert_refused(pg_net("1 2 3 4 1 1 1 1 1 1 1 1 1 1 5"), "more than 14");
    ck_assert_refused(pg_net("0.2 0.5 0.2 0.9 0.1 abc 0.3 0.1 0.4 0.5 0.1 0.3 0.3 4"),
                      "W1[0][1] is 'abc'");
    ck_assert_refused(pg_net("0.2 0.5 nan 0.9 0.1 0.2 0.3 0.1 0.4 0.5 0.1 0.3 0.3 4"),
                      "t0 is 'nan', which is not a finite number");
    ck_assert_refused(pg_net("0.2 0.5 0.2 0.9 0.1 0.2 0.3 0.1 0.4 0.5 0.1 0.3 1e999 4"),
                      "lr is '1e999'");
    ck_assert_refused(pg_net("0.2 0.5 0.2 0.9 0.1 0.2 0.3 0.1 0.4 0.5 0.1 0.3 0.3 8"),
                      "sel is 8");
    ck_assert_refused(pg_net("0.2 0.5 0.2 0.9 0.1 0.2 0.3 0.1 0.4 0.5 0.1 0.3 0.3 1.5"),
                      "sel is 1.5");
    ck_assert_refused(pg_net("0.2 0.5 0.2 0.9 0.1 0.2 0.3 0.1 0.4 0.5 0.1 0.3 0.3 4x"), "sel is '4x'");
    /* A refusal leaves nothing behind: the next call answers as before. */
    char args[512];
    ck_assert_answer(pg_net(net_args(args, sizeof args, LX, LT, LW1, LW2, 0.3, 4)));
}
END_TEST

/* ---- logistic regression, by a plain loop ---- */

START_TEST(test_logreg_against_loop)
{
    enum { N = 6, STEPS = 25 };
    const double pts[N][3] = {{1, 2, 1}, {2, 0.5, 1}, {0.5, 1.5, 1},
                              {-1, -1, 0}, {-2, 0.5, 0}, {0.3, -1.2, 0}};
    double lr = 0.4, w[2] = {0.1, -0.2}, b = 0.05;
    char args[1024];
    int len = snprintf(args, sizeof args, "%d %.17g %.17g %.17g %.17g %d", STEPS, lr, w[0], w[1], b, N);
    for (int i = 0; i < N; i++)
        len += snprintf(args + len, sizeof args - (size_t)len, " %.17g %.17g %g", pts[i][0],
                        pts[i][1], pts[i][2]);
    const char *r = pg_logreg(args);
    ck_assert_answer(r);
    /* The mean NLL's gradient: (1/n) Σ (σ(w·x + b) − c) (x, 1). */
    double g[3] = {0, 0, 0};
    for (int s = 0; s <= STEPS; s++) {
        double nll = 0;
        g[0] = g[1] = g[2] = 0;
        for (int i = 0; i < N; i++) {
            double p = sig(w[0] * pts[i][0] + w[1] * pts[i][1] + b), c = pts[i][2];
            nll -= (c * log(p) + (1 - c) * log(1 - p)) / N;
            g[0] += (p - c) * pts[i][0] / N;
            g[1] += (p - c) * pts[i][1] / N;
            g[2] += (p - c) / N;
        }
        ck_assert_f64(jnum(r, "nll", s), nll);
        if (s < STEPS) {
            w[0] -= lr * g[0];
            w[1] -= lr * g[1];
            b -= lr * g[2];
        }
    }
    ck_assert_f64(jnum(r, "w", 0), w[0]);
    ck_assert_f64(jnum(r, "w", 1), w[1]);
    ck_assert_f64(jnum(r, "b", -1), b);
    for (int k = 0; k < 3; k++)
        ck_assert_f64(jnum(r, "grad", k), g[k]);
    int correct = 0;
    for (int i = 0; i < N; i++)
        correct += (w[0] * pts[i][0] + w[1] * pts[i][1] + b > 0) == (pts[i][2] > 0.5);
    ck_assert_f64(jnum(r, "accuracy", -1), (double)correct / N);
    /* The likelihood rises along the way. */
    for (int s = 0; s < STEPS; s++)
        ck_assert(jnum(r, "nll", s + 1) < jnum(r, "nll", s));
}
END_TEST

/* Zero steps: the loss of w = 0, b = 0 is ln 2 for any points. */
START_TEST(test_logreg_zero_steps)
{
    const char *r = pg_logreg("0 0.5 0 0 0 3 1 1 1 -4 2 0 7 7 1");
    ck_assert_answer(r);
    ck_assert_f64(jnum(r, "nll", 0), log(2.0));
    const char *nll = after_key(r, "nll", 0), *close = strchr(nll, ']');
    ck_assert_ptr_nonnull(close);
    ck_assert_msg(memchr(nll, ',', (size_t)(close - nll)) == NULL, "more than one loss: %s", r);
}
END_TEST

START_TEST(test_logreg_errors)
{
    ck_assert_refused(pg_logreg(NULL), "NULL");
    ck_assert_refused(pg_logreg("1 0.5 0 0"), "got 4 numbers");
    ck_assert_refused(pg_logreg("1 0.5 0 0 0 0"), "n is 0");
    ck_assert_refused(pg_logreg("1 0.5 0 0 0 2 1 1 1 2 2"), "need 6 numbers");
    ck_assert_refused(pg_logreg("1 0.5 0 0 0 1 1 1 2"), "point 1 has class 2");
    ck_assert_refused(pg_logreg("1 0.5 0 0 0 1 1 1 0.5"), "class 0.5");
    ck_assert_refused(pg_logreg("-1 0.5 0 0 0 1 1 1 1"), "steps is -1");
    ck_assert_refused(pg_logreg("200000 0.5 0 0 0 1 1 1 1"), "steps is 200000");
    ck_assert_refused(pg_logreg("1 0.5 0 0 0 1 1 inf 1"), "argument 8 is 'inf'");
    ck_assert_refused(pg_logreg("100000 0.5 0 0 0 1 1 1 1 x"), "argument 10 is 'x'");
}
END_TEST

/* Too much work for one call is refused before any is done; the limit is
 * steps × points, and just under it runs. */
START_TEST(test_logreg_work_limit)
{
    enum { N = 4000 };
    char *args = malloc(32 + (size_t)N * 16);
    ck_assert_ptr_nonnull(args);
    int len = sprintf(args, "100000 0.1 0 0 0 %d", N);
    for (int i = 0; i < N; i++)
        len += sprintf(args + len, " %d %d %d", i % 7, i % 5, i % 2);
    ck_assert_refused(pg_logreg(args), "too much for one call");
    /* 1 step over the same 4000 points (each read back exactly). */
    memcpy(args, "1     ", 6);
    const char *r = pg_logreg(args);
    ck_assert_answer(r);
    ck_assert_f64(jnum(r, "nll", 0), log(2.0));
    free(args);
}
END_TEST

/* ---- expressions, by calculus ---- */

START_TEST(test_expr_tanh)
{
    double a = 2, b = -3, c = 0.5;
    const char *r = pg_expr("tanh(a*b + c)", "a=2 b=-3 c=0.5");
    ck_assert_answer(r);
    double y = tanh(a * b + c), d = 1 - y * y; /* tanh' = 1 − tanh² */
    ck_assert_f64(jnum(r, "value", -1), y);
    ck_assert_ptr_nonnull(strstr(r, "\"pass\":true"));
    /* grads: a, b, c in order of appearance, engine beside differences. */
    ck_assert_f64(jnum_nth(r, "grad", 0, -1), d * b);
    ck_assert_f64(jnum_nth(r, "grad", 1, -1), d * a);
    ck_assert_f64(jnum_nth(r, "grad", 2, -1), d);
    ck_assert_near(jnum_nth(r, "numeric", 0, -1), d * b, 1e-6, 1e-9);
    ck_assert_near(jnum_nth(r, "numeric", 1, -1), d * a, 1e-6, 1e-9);
    ck_assert_near(jnum_nth(r, "numeric", 2, -1), d, 1e-6, 1e-9);
    ck_assert_int_eq(count_of(after_key(r, "grads", 0), "\"pass\":true}"), 3);
    /* The graph: a, b, a*b, c, a*b + c, tanh(...), in forward order. */
    ck_assert_ptr_nonnull(strstr(r, "{\"id\":2,\"text\":\"a*b\",\"op\":\"mul\",\"value\":-6,"));
    ck_assert_ptr_nonnull(strstr(r, "{\"id\":4,\"text\":\"a*b + c\",\"op\":\"add\",\"value\":-5.5,"));
    ck_assert_ptr_nonnull(strstr(r, "{\"id\":5,\"text\":\"tanh(a*b + c)\",\"op\":\"tanh\""));
    ck_assert_int_eq(count_of(r, "\"id\":"), 6);
    /* The sweep from the top: tanh sends d, add passes it to both inputs
     * (add distributes), mul sends each input the other's value times d
     * (mul swaps). */
    const char *sw = after_key(r, "sweep", 0);
    ck_assert_int_eq(count_of(sw, "\"node\":"), 3);
    ck_assert_ptr_nonnull(strstr(sw, "{\"node\":5,"));
    ck_assert(strstr(sw, "{\"node\":5,") < strstr(sw, "{\"node\":4,"));
    ck_assert(strstr(sw, "{\"node\":4,") < strstr(sw, "{\"node\":2,"));
    ck_assert_f64(jnum_nth(sw, "grad_out", 0, -1), 1);
    ck_assert_f64(jnum_nth(sw, "grad", 0, -1), d); /* tanh → a*b + c */
    ck_assert_f64(jnum_nth(sw, "grad_out", 1, -1), d);
    ck_assert_f64(jnum_nth(sw, "grad", 1, -1), d); /* add → a*b */
    ck_assert_f64(jnum_nth(sw, "grad", 2, -1), d); /* add → c */
    ck_assert_f64(jnum_nth(sw, "grad", 3, -1), d * b); /* mul → a */
    ck_assert_f64(jnum_nth(sw, "grad", 4, -1), d * a); /* mul → b */
}
END_TEST

/* Each case: an expression, its variables, and d/dx of it by calculus. */
START_TEST(test_expr_calculus)
{
    const double x = 0.7, y = -1.3;
    const struct {
        const char *expr;
        double value, dx, dy;
    } cases[] = {
        {"x^3", pow(x, 3), 3 * x * x, 0},
        {"-x^2", -x * x, -2 * x, 0}, /* the power binds tighter than the minus */
        {"2^x", pow(2, x), pow(2, x) * log(2), 0},
        {"x^y", pow(x, y), y * pow(x, y - 1), pow(x, y) * log(x)},
        {"x/y - y", x / y - y, 1 / y, -x / (y * y) - 1},
        {"sigmoid(x*y)", sig(x * y), sig(x * y) * (1 - sig(x * y)) * y,
         sig(x * y) * (1 - sig(x * y)) * x},
        {"exp(x) * log(x)", exp(x) * log(x), exp(x) * log(x) + exp(x) / x, 0},
        {"sqrt(x) + sin(y) * cos(x)", sqrt(x) + sin(y) * cos(x), 0.5 / sqrt(x) - sin(y) * sin(x),
         cos(y) * cos(x)},
        {"max(x, y) + min(x, y)*3", x + 3 * y, 1, 3}, /* max routes to the larger */
        {"relu(y) + abs(y) + square(x)", fabs(y) + x * x, 2 * x, -1},
        {"softplus(x)", log1p(exp(x)), sig(x), 0},
        {"x*x*x - 3*x", x * x * x - 3 * x, 3 * x * x - 3, 0},
        {"(((x)))+ +y", x + y, 1, 1},
        {"1.5e1 * x", 15 * x, 15, 0},
    };
    for (size_t i = 0; i < H_COUNT(cases); i++) {
        const char *r = pg_expr(cases[i].expr, "x=0.7 y=-1.3");
        ck_assert_msg(is_ok(r), "%s: %s", cases[i].expr, r);
        ck_assert_msg(strstr(r, "\"pass\":true") != NULL, "%s: %s", cases[i].expr, r);
        ck_assert_f64(jnum(r, "value", -1), cases[i].value);
        bool has_y = strstr(r, "\"name\":\"y\"") != NULL;
        int ix = strstr(r, "\"name\":\"x\"") < strstr(r, "\"name\":\"y\"") || !has_y ? 0 : 1;
        ck_assert_msg(h_near(jnum_nth(after_key(r, "grads", 0), "grad", ix, -1), cases[i].dx, 1e-12,
                             1e-14),
                      "%s: d/dx", cases[i].expr);
        if (has_y)
            ck_assert_msg(h_near(jnum_nth(after_key(r, "grads", 0), "grad", 1 - ix, -1),
                                 cases[i].dy, 1e-12, 1e-14),
                          "%s: d/dy", cases[i].expr);
    }
}
END_TEST

/* Numbers alone: a value, no variables, nothing to check or sweep. */
START_TEST(test_expr_constant)
{
    const char *r = pg_expr("2*3 - 1/4", "");
    ck_assert_answer(r);
    ck_assert_f64(jnum(r, "value", -1), 5.75);
    ck_assert_ptr_nonnull(strstr(r, "\"grads\":[]"));
    ck_assert_ptr_nonnull(strstr(r, "\"sweep\":[]"));
    ck_assert_ptr_nonnull(strstr(r, "{\"id\":2,\"text\":\"2*3\",\"op\":\"mul\",\"value\":6,\"grad\":null"));
}
END_TEST

START_TEST(test_expr_errors)
{
    const struct {
        const char *expr, *vars, *says;
    } cases[] = {
        {"", "", "ends where a number"},
        {"a+", "a=1", "ends where a number, a name or '(' was expected (at column 3)"},
        {"a b", "a=1 b=2", "unexpected 'b' after the end of the expression (at column 3)"},
        {"((a)", "a=1", "expected ')' to close the parenthesis"},
        {"exp a", "a=1", "exp is a function"},
        {"max(a)", "a=1", "expected ',' between the two arguments of max"},
        {"tanh(a, a)", "a=1", "tanh (it takes one)"},
        {"foo(a)", "a=1", "unknown function foo"},
        {"a $ b", "a=1 b=2", "unexpected '$'"},
        {"a+b", "a=1", "the variable b has no value"},
        {"a", "a=x", "the value of a is 'x'"},
        {"a", "a 1", "expected name=value"},
        {"a", "a=nan", "not a finite number"},
        {"a+b+c+d+e+f+g+h+i", "", "too many variables: i is the ninth"},
        {"abcdefghijabcdefghijabcdefghijabc", "", "longer than 31 characters"},
    };
    for (size_t i = 0; i < H_COUNT(cases); i++)
        ck_assert_refused(pg_expr(cases[i].expr, cases[i].vars), cases[i].says);
    ck_assert_refused(pg_expr(NULL, "a=1"), "no expression");
    ck_assert_refused(pg_expr("a", NULL), "no variables");
    /* Eight variables are allowed. */
    ck_assert_answer(pg_expr("a+b+c+d+e+f+g+h", "a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8"));
}
END_TEST

/* Nesting is bounded before the parser's recursion could exhaust a small
 * (WebAssembly) stack: 200 levels parse, 10⁵ are refused. */
START_TEST(test_expr_nesting)
{
    enum { DEEP = 100000 };
    char *s = malloc(2 * DEEP + 2);
    ck_assert_ptr_nonnull(s);
    memset(s, '(', DEEP);
    s[DEEP] = 'a';
    memset(s + DEEP + 1, ')', DEEP);
    s[2 * DEEP + 1] = '\0';
    ck_assert_refused(pg_expr(s, "a=1"), "nests deeper than 200 levels");
    memset(s, '-', DEEP);
    s[DEEP] = 'a';
    s[DEEP + 1] = '\0';
    ck_assert_refused(pg_expr(s, "a=1"), "nests deeper than 200 levels");
    /* 190 minus signs: (-1)^190 a. */
    const char *r = pg_expr(s + DEEP - 190, "a=1.25");
    ck_assert_answer(r);
    ck_assert_f64(jnum(r, "value", -1), 1.25);
    ck_assert_f64(jnum_nth(after_key(r, "grads", 0), "grad", 0, -1), 1);
    free(s);
}
END_TEST

/* A graph of 10⁵ nodes: Σ of 50 000 terms a*b (two leaves, 50 000
 * products, 49 999 sums). Its gradient is exact: 50 000 b and 50 000 a. */
START_TEST(test_expr_large)
{
    enum { TERMS = 50000 };
    char *s = malloc(4 * TERMS + 1);
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < TERMS; i++)
        memcpy(s + 4 * i, i ? "+a*b" : "a*b ", 4);
    s[4 * TERMS] = '\0';
    const char *r = pg_expr(s, "a=0.5 b=2");
    ck_assert_answer(r);
    ck_assert_f64(jnum(r, "value", -1), TERMS * 1.0);
    ck_assert_f64(jnum_nth(after_key(r, "grads", 0), "grad", 0, -1), TERMS * 2.0);
    ck_assert_f64(jnum_nth(after_key(r, "grads", 0), "grad", 1, -1), TERMS * 0.5);
    const char *nodes = after_key(r, "nodes", 0), *sweep = after_key(r, "sweep", 0);
    char last[64];
    snprintf(last, sizeof last, "{\"id\":%d,", 2 + TERMS + TERMS - 1 - 1);
    ck_assert_ptr_nonnull(strstr(nodes, last));
    /* Every product and sum is one step of the sweep. */
    ck_assert_int_eq(count_of(sweep, "{\"node\":"), TERMS + TERMS - 1);
    /* Long texts are cut for the answer: 57 characters and "...". */
    char cut[80];
    snprintf(cut, sizeof cut, "\"text\":\"%.57s...\"", s);
    ck_assert_ptr_nonnull(strstr(r, cut));
    free(s);
}
END_TEST

/* ---- every allocation failing in turn ---- */

static const char *call_net(void)
{
    return pg_net("0.2 0.5 0.2 0.9 0.1 0.2 0.3 0.1 0.4 0.5 0.1 0.3 0.3 1");
}

static const char *call_logreg(void)
{
    return pg_logreg("3 0.5 0 0 0 2 1 1 1 -1 -1 0");
}

static const char *call_expr(void)
{
    return pg_expr("tanh(a*b + c) / max(a, 2)", "a=2 b=-3 c=0.5");
}

START_TEST(test_out_of_memory)
{
    const struct {
        const char *name;
        const char *(*fn)(void);
    } calls[] = {{"net", call_net}, {"logreg", call_logreg}, {"expr", call_expr}};
    for (size_t c = 0; c < H_COUNT(calls); c++) {
        char want[8192];
        ag_error_clear();
        snprintf(want, sizeof want, "%s", calls[c].fn());
        ck_assert_answer(want);
        long k = 0;
        for (;; k++) {
            ck_assert_msg(k < 100000, "%s never succeeds", calls[c].name);
            ag_error_clear();
            ag_alloc_fail_after(k);
            const char *r = calls[c].fn();
            ag_alloc_fail_after(-1);
            if (is_ok(r)) {
                ck_assert_str_eq(r, want); /* and the answer is the whole one */
                break;
            }
            ck_assert_msg(strstr(r, "memory") != NULL, "%s with allocation %ld failing: %s",
                          calls[c].name, k, r);
        }
        ck_assert_msg(k > 0, "%s allocated nothing", calls[c].name);
    }
    ag_error_clear();
}
END_TEST

Suite *playground_suite(void)
{
    Suite *s = suite_create("playground");
    TCase *tc = h_tcase(s, "network", H_TIMEOUT);
    tcase_add_test(tc, test_net_lecture);
    tcase_add_test(tc, test_net_first_layer_paths);
    tcase_add_test(tc, test_net_errors);
    tc = h_tcase(s, "logistic regression", H_TIMEOUT);
    tcase_add_test(tc, test_logreg_against_loop);
    tcase_add_test(tc, test_logreg_zero_steps);
    tcase_add_test(tc, test_logreg_errors);
    tcase_add_test(tc, test_logreg_work_limit);
    tc = h_tcase(s, "expressions", H_TIMEOUT);
    tcase_add_test(tc, test_expr_tanh);
    tcase_add_test(tc, test_expr_calculus);
    tcase_add_test(tc, test_expr_constant);
    tcase_add_test(tc, test_expr_errors);
    tcase_add_test(tc, test_expr_nesting);
    tcase_add_test(tc, test_expr_large);
    tc = h_tcase(s, "out of memory", H_TIMEOUT);
    tcase_add_test(tc, test_out_of_memory);
    return s;
}

H_MAIN(playground_suite)

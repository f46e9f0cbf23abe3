/* SPDX-License-Identifier: MIT */
/* playground.h — what the browser playground asks of the engine.
 *
 * The page (playground/web/) runs the library compiled to WebAssembly by
 * scripts/playground.sh and calls these four functions through Emscripten's
 * cwrap; pg_native runs the same ones natively, so a test can hold what the
 * page shows against the native engine. They are the playground's own entry
 * points, not part of the library's API (hence pg_, not ag_).
 *
 * Each takes its arguments as text and returns a JSON text:
 *     {"ok":true, ...}                    the results
 *     {"ok":false,"error":"<message>"}    bad input, naming what was wrong
 * Numbers are written with 17 significant digits, NaN and infinities as
 * null. The returned string is owned by the playground and valid until the
 * next call of any of them (one thread: the page's). NULL arguments are bad
 * input. playground/PLAYGROUND.md documents every field. */
#ifndef AG_PLAYGROUND_H
#define AG_PLAYGROUND_H

/* {"ok":true,"version":"<ag_version()>"} */
const char *pg_version(void);

/* The lecture's 2-2-2 sigmoid network with squared error, forward and
 * backward, one gradient-descent step, and ag_explain's chain rule for one
 * weight. args: "x0 x1 t0 t1 W1_00 W1_01 W1_10 W1_11 W2_00 W2_01 W2_10 W2_11
 * lr sel" (sel 0..3 picks a weight of W1, 4..7 of W2). */
const char *pg_net(const char *args);

/* Logistic regression on 2-D points by gradient descent on the mean
 * negative log-likelihood. args: "steps lr w1 w2 b n x1 y1 c1 ... xn yn cn"
 * with each class c 0 or 1. */
const char *pg_logreg(const char *args);

/* A small expression of named variables: its value, the engine's gradient
 * beside central differences (ag_gradcheck), the graph, and the backward
 * sweep node by node. vars: "a=2 b=-3 c=0.5". */
const char *pg_expr(const char *expr, const char *vars);

#endif

/* SPDX-License-Identifier: MIT */
/* pg_logreg.c — logistic regression on the points the student clicked, for
 * the playground's second panel: maximum likelihood by gradient descent on
 * the mean negative log-likelihood, as in docs/tutorial.md section 4. */
#include "pg_json.h"
#include "playground.h"

#include <autograd/autograd.h>
#include <autograd/op.h>

#include <stdlib.h>
#include <string.h>

enum { MAX_STEPS = 100000, MAX_POINTS = 100000 };

/* The steps run on the page's thread: bound the work of one call. */
#define MAX_WORK 2e8 /* steps × points */

const char *pg_logreg(const char *args)
{
    if (!args)
        return pg_json_error("pg_logreg: no arguments (NULL)");
    /* Every number takes at least two characters with its separator. */
    size_t cap = strlen(args) / 2 + 2;
    double *v = ag_malloc(cap * sizeof *v);
    if (!v)
        return pg_json_error("pg_logreg: out of memory reading %zu bytes of arguments",
                             strlen(args));
    int bad;
    const char *word;
    int got = pg_parse_numbers(args, v, cap > 6 + 3 * (size_t)MAX_POINTS ? 6 + 3 * MAX_POINTS : (int)cap,
                               &bad, &word);
    const char *result = NULL;
    if (got < 0) {
        result = pg_json_error("pg_logreg: argument %d is '%.*s', which is not a finite number%s",
                               bad + 1, pg_word_len(word), word,
                               bad >= 6 + 3 * MAX_POINTS ? " (or there are too many points)" : "");
        ag_free(v);
        return result;
    }
    if (got < 6) {
        ag_free(v);
        return pg_json_error("pg_logreg: expected 'steps lr w1 w2 b n' and n points (x y class), "
                             "got %d numbers",
                             got);
    }
    double steps_v = v[0], lr = v[1], n_v = v[5];
    if (steps_v != (long)steps_v || steps_v < 0 || steps_v > MAX_STEPS) {
        ag_free(v);
        return pg_json_error("pg_logreg: steps is %g; it must be a whole number from 0 to %d",
                             steps_v, MAX_STEPS);
    }
    if (n_v != (long)n_v || n_v < 1 || n_v > MAX_POINTS) {
        ag_free(v);
        return pg_json_error("pg_logreg: n is %g; it must be a whole number from 1 to %d (add "
                             "points first)",
                             n_v, MAX_POINTS);
    }
    int steps = (int)steps_v, n = (int)n_v;
    if (got != 6 + 3 * n) {
        ag_free(v);
        return pg_json_error("pg_logreg: n = %d points need %d numbers after 'steps lr w1 w2 b n', "
                             "got %d",
                             n, 3 * n, got - 6);
    }
    if ((double)steps * n > MAX_WORK) {
        ag_free(v);
        return pg_json_error("pg_logreg: %d steps over %d points is too much for one call; ask "
                             "for fewer steps at a time",
                             steps, n);
    }
    double *xs = ag_malloc((size_t)n * 2 * sizeof *xs), *cs = ag_malloc((size_t)n * sizeof *cs);
    double *nll = ag_malloc(((size_t)steps + 1) * sizeof *nll);
    if (!xs || !cs || !nll) {
        ag_free(xs);
        ag_free(cs);
        ag_free(nll);
        ag_free(v);
        return pg_json_error("pg_logreg: out of memory for %d points and %d steps", n, steps);
    }
    for (int i = 0; i < n; i++) {
        double c = v[6 + 3 * i + 2];
        if (c != 0 && c != 1) {
            result = pg_json_error("pg_logreg: point %d has class %g; a class is 0 or 1", i + 1, c);
            ag_free(xs);
            ag_free(cs);
            ag_free(nll);
            ag_free(v);
            return result;
        }
        xs[2 * i] = v[6 + 3 * i];
        xs[2 * i + 1] = v[6 + 3 * i + 1];
        cs[i] = c;
    }

    ag_error_clear();
    ag_tensor *X = ag_from_array(AG_F64, 2, (int64_t[]){n, 2}, xs);
    ag_tensor *y = ag_from_array(AG_F64, 2, (int64_t[]){n, 1}, cs);
    ag_tensor *w = ag_from_array(AG_F64, 2, (int64_t[]){2, 1}, &v[2]);
    ag_tensor *b = ag_from_array(AG_F64, 1, (int64_t[]){1}, &v[4]);
    bool ok = X && y && ag_set_requires_grad(w, true) && ag_set_requires_grad(b, true);
    /* steps updates, then one more forward and backward for the loss and
     * gradient at the parameters returned. */
    for (int s = 0; ok && s <= steps; s++) {
        ag_tensor *z = ag_add(ag_matmul(X, w), b); /* w·x + b for every point */
        ag_tensor *loss = ag_bce_with_logits(z, y, AG_REDUCE_MEAN);
        ag_zero_grad(w);
        ag_zero_grad(b);
        ok = loss && ag_backward(loss);
        if (ok) {
            nll[s] = ag_item(loss);
            if (s < steps)
                ok = ag_sgd_update(w, lr) && ag_sgd_update(b, lr);
        }
        ag_tape_reset(NULL);
    }
    if (ok) {
        double wb[3] = {ag_get_flat(w, 0), ag_get_flat(w, 1), ag_get_flat(b, 0)};
        double g[3] = {ag_get_flat(ag_grad_of(w), 0), ag_get_flat(ag_grad_of(w), 1),
                       ag_get_flat(ag_grad_of(b), 0)};
        int correct = 0;
        for (int i = 0; i < n; i++)
            correct += (wb[0] * xs[2 * i] + wb[1] * xs[2 * i + 1] + wb[2] > 0) == (cs[i] > 0.5);
        pg_json j = {0};
        pg_json_raw(&j, "{\"ok\":true");
        pg_json_key(&j, "w");
        pg_json_nums(&j, wb, 2);
        pg_json_key(&j, "b");
        pg_json_num(&j, wb[2]);
        pg_json_key(&j, "nll");
        pg_json_nums(&j, nll, (size_t)steps + 1);
        pg_json_key(&j, "grad");
        pg_json_nums(&j, g, 3);
        pg_json_key(&j, "accuracy");
        pg_json_num(&j, (double)correct / n);
        pg_json_raw(&j, "}");
        result = pg_json_finish(&j);
    } else {
        result = pg_json_error("pg_logreg: %s", ag_last_error());
    }
    ag_tensor_free(X);
    ag_tensor_free(y);
    ag_tensor_free(w);
    ag_tensor_free(b);
    ag_free(xs);
    ag_free(cs);
    ag_free(nll);
    ag_free(v);
    return result;
}

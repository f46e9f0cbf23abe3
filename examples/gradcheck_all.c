/* SPDX-License-Identifier: MIT */
/* gradcheck_all.c — checks every op in the registry against finite
 * differences and prints one line per op.
 *
 *   gradcheck_all [seeds]     (default 5 random draws per op)
 *
 * Exit status 0 when every op passes. Custom ops registered before the
 * sweep are checked the same way: the registry is self-certifying. */
#include <autograd/op.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct sweep {
    int seeds;
    int failed;
    int total;
} sweep;

static double worst_err(const ag_gradcheck_report *rep)
{
    double w = 0;
    for (int i = 0; i < rep->n_inputs; i++)
        if (rep->inputs[i].max_abs_err > w)
            w = rep->inputs[i].max_abs_err;
    return w;
}

static void check_op(const ag_op *op, void *ctx)
{
    sweep *s = ctx;
    const ag_op_def *def = ag_op_info(op);
    ag_gradcheck_report rep = {0};
    bool pass = true;
    int seed;
    for (seed = 1; seed <= s->seeds && pass; seed++) {
        ag_error_clear();
        pass = ag_gradcheck_op(op, (uint64_t)seed, NULL, &rep);
    }
    s->total++;
    printf("%-16s %-9s %s  grad err %.1e  f32 vs f64 %.1e  kernels vs rules %.1e  zero-size %-8s",
           def->name, def->flags & AG_OP_COMPOSITE ? "composite" : "primitive",
           pass ? "PASS" : "FAIL", worst_err(&rep), rep.f32_max_err, rep.kernel_max_err,
           rep.zero_size[0] == 'o' ? "ok" : "rejected");
    /* Second order, for every op whose rule is twice differentiable. */
    ag_gradcheck_report rep2 = {0};
    bool pass2 = true;
    if (def->first_order) {
        printf("  2nd order: not applicable (%s)\n", def->first_order);
    } else {
        for (seed = 1; seed <= s->seeds && pass2; seed++)
            pass2 = ag_gradgradcheck_op(op, (uint64_t)seed, NULL, &rep2);
        printf("  2nd order: %s\n", pass2 ? "PASS" : "FAIL");
    }
    if (!pass2) {
        s->failed++;
        pass = true; /* report the second-order failure below */
        ag_gradcheck_fprint(stdout, &rep2);
    }
    if (!pass) {
        s->failed++;
        if (ag_last_status() != AG_OK)
            printf("    error: %s\n", ag_last_error());
        ag_gradcheck_fprint(stdout, &rep);
    }
}

int main(int argc, char **argv)
{
    sweep s = {.seeds = argc > 1 ? atoi(argv[1]) : 5};
    if (s.seeds < 1)
        s.seeds = 1;
    ag_op_foreach(check_op, &s);
    printf("%d ops, %d passed, %d failed\n", s.total, s.total - s.failed, s.failed);
    ag_shutdown();
    return s.failed ? 1 : 0;
}

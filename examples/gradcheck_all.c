/* gradcheck_all.c — checks every op in the registry against finite
 * differences and prints one line per op.
 *
 *   gradcheck_all [seeds]     (default 5 random draws per op)
 *
 * Exit status 0 when every op passes. Custom ops registered before the
 * sweep are checked the same way: the registry is self-certifying. */
#include <autograd.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct sweep {
    int seeds;
    int failed;
    int total;
} sweep;

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
    printf("%-14s %-9s %s%s\n", def->name,
           def->flags & AG_OP_COMPOSITE ? "composite" : "primitive", pass ? "PASS" : "FAIL",
           pass ? "" : "");
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

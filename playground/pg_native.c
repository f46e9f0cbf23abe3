/* SPDX-License-Identifier: MIT */
/* pg_native.c — the playground's functions run natively, printing the JSON
 * the page gets from the WebAssembly build for the same arguments; the
 * browser test holds the page against it.
 *
 *   pg_native net "<14 numbers>"
 *   pg_native logreg "<steps lr w1 w2 b n x y c ...>"
 *   pg_native expr "<expression>" "<a=1 b=2 ...>"
 *   pg_native version
 *
 * Exit status 0 when the answer is {"ok":true,...}, 1 for an error answer,
 * 2 for a bad command line. */
#include "playground.h"

#include <autograd/autograd.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *out = NULL;
    if (argc == 2 && !strcmp(argv[1], "version"))
        out = pg_version();
    else if (argc == 3 && !strcmp(argv[1], "net"))
        out = pg_net(argv[2]);
    else if (argc == 3 && !strcmp(argv[1], "logreg"))
        out = pg_logreg(argv[2]);
    else if (argc == 4 && !strcmp(argv[1], "expr"))
        out = pg_expr(argv[2], argv[3]);
    if (!out) {
        fprintf(stderr, "usage: pg_native net ARGS | logreg ARGS | expr EXPRESSION VARS | version\n");
        return 2;
    }
    puts(out);
    int ok = !strncmp(out, "{\"ok\":true", 10);
    ag_shutdown();
    return ok ? 0 : 1;
}

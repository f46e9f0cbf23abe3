/* SPDX-License-Identifier: MIT */
/* seed_backprop.c — the lecture's worked example of backpropagation, computed
 * by the engine.
 *
 * A 2-2-2 network with sigmoid activations and squared error:
 *
 *   x = (0.2, 0.5)            z1 = x W1,   a1 = σ(z1)        (hidden layer)
 *                             z2 = a1 W2,  a2 = σ(z2)        (output layer)
 *   E = ½((t1 − a20)² + (t2 − a21)²)
 *
 * W1[i][j] is the weight from input i to hidden unit j; W2[i][j] from hidden
 * unit i to output j. The lecture gives W1 and the weight w(1)10 = 0.4 from
 * h0 to o0; the other second-layer weights are chosen so that z20 ≈ 0.27 and
 * z21 ≈ 0.43 as in the lecture. The lecture's target t1 = 0.2; t2 does not
 * enter ∂E/∂w(1)10 and is set to 0.9.
 *
 * Every number printed below is read from the engine: the forward values
 * from the tensors, the chain-rule factors from the gradients the backward
 * sweep leaves on each intermediate (a local derivative is the ratio of the
 * gradient below a node to the gradient above it).
 *
 * It then walks through the same computation as a lecture would: the
 * backward sweep step by step (the trace), the gradient of w(1)10 as a sum
 * over paths of products of local derivatives (explain), the same gradient
 * by finite differences (gradcheck), and a picture of the graph
 * (seed_backprop.dot, rendered to seed_backprop.svg when Graphviz is
 * installed).
 *
 *   seed_backprop [output-prefix]      (default "seed_backprop") */
#include <autograd/autograd.h>
#include <autograd/tools.h>

#include <spawn.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>

/* E as a function of W2 alone, for the gradient checker. */
static ag_tensor *error_of_W2(ag_tensor *const *in, void *ctx)
{
    ag_tensor *const *fixed = ctx; /* x, W1, t */
    ag_tensor *a1 = ag_sigmoid(ag_matmul(fixed[0], fixed[1]));
    ag_tensor *diff = ag_sub(fixed[2], ag_sigmoid(ag_matmul(a1, in[0])));
    return ag_mul_scalar(ag_sum(ag_mul(diff, diff)), 0.5);
}

static void check(const void *p)
{
    if (!p) {
        fprintf(stderr, "seed_backprop: %s\n", ag_last_error());
        exit(1);
    }
}

extern char **environ;

/* Graphviz's dot, run on the DOT file the library wrote: the library
 * itself starts no process. False when dot is not installed or fails. */
static bool render_svg(const char *dot, const char *svg)
{
    char *argv[] = {"dot", "-Tsvg", (char *)dot, "-o", (char *)svg, NULL};
    pid_t pid;
    int status;
    if (posix_spawnp(&pid, "dot", NULL, NULL, argv, environ) != 0)
        return false;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
    const char *prefix = argc > 1 ? argv[1] : "seed_backprop";
    const double lr = 0.3;
    ag_tensor *x = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.5});
    ag_tensor *W1 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.1, 0.2, 0.3, 0.1});
    ag_tensor *W2 = ag_from_array(AG_F64, 2, (int64_t[]){2, 2}, (double[]){0.4, 0.5, 0.1, 0.3});
    ag_tensor *t = ag_from_array(AG_F64, 2, (int64_t[]){1, 2}, (double[]){0.2, 0.9});
    check(x), check(W1), check(W2), check(t);
    ag_set_requires_grad(W1, true);
    ag_set_requires_grad(W2, true);
    ag_set_label(W1, "W1");
    ag_set_label(W2, "W2");

    /* The forward pass, as an expression. */
    ag_tensor *z1 = ag_matmul(x, W1);
    ag_tensor *a1 = ag_sigmoid(z1);
    ag_tensor *z2 = ag_matmul(a1, W2);
    ag_tensor *a2 = ag_sigmoid(z2);
    ag_tensor *diff = ag_sub(t, a2);
    ag_tensor *E = ag_mul_scalar(ag_sum(ag_mul(diff, diff)), 0.5);
    check(E);
    ag_set_label(z1, "z1");
    ag_set_label(a1, "a1");
    ag_set_label(z2, "z2");
    ag_set_label(a2, "a2");
    ag_set_label(E, "E");

    printf("Forward pass\n");
    printf("  z10 = %.2f   a10 = sigmoid(z10) = %.2f\n", ag_get_flat(z1, 0), ag_get_flat(a1, 0));
    printf("  z11 = %.2f   a11 = sigmoid(z11) = %.2f\n", ag_get_flat(z1, 1), ag_get_flat(a1, 1));
    printf("  z20 = %.2f   a20 = sigmoid(z20) = %.2f\n", ag_get_flat(z2, 0), ag_get_flat(a2, 0));
    printf("  z21 = %.2f   a21 = sigmoid(z21) = %.2f\n", ag_get_flat(z2, 1), ag_get_flat(a2, 1));
    printf("  E = 1/2((t1 - a20)^2 + (t2 - a21)^2) = %.4f\n\n", ag_item(E));

    printf("The backward sweep, node by node (reverse tape order)\n");
    ag_set_backward_hook(ag_trace_hook, stdout);
    bool swept = ag_backward(E);
    ag_set_backward_hook(NULL, NULL);
    if (!swept) {
        fprintf(stderr, "seed_backprop: %s\n", ag_last_error());
        return 1;
    }
    printf("\n");

    /* The chain rule for w(1)10 = W2[0][0], from the engine's gradients. */
    double dE_da20 = ag_get_flat(ag_grad_of(a2), 0);
    double dE_dz20 = ag_get_flat(ag_grad_of(z2), 0);
    double dE_dw = ag_get_flat(ag_grad_of(W2), 0);
    double da20_dz20 = dE_dz20 / dE_da20;
    double dz20_dw = dE_dw / dE_dz20;
    printf("Backward pass: the chain rule for w(1)10 (h0 -> o0)\n");
    printf("  dE/da20   = a20 - t1          = %.2f\n", dE_da20);
    printf("  da20/dz20 = a20 (1 - a20)     = %.2f\n", da20_dz20);
    printf("  dz20/dw   = a10               = %.2f\n", dz20_dw);
    printf("  dE/dw(1)10 = %.2f x %.2f x %.2f = %.3f\n\n", dE_da20, da20_dz20, dz20_dw, dE_dw);

    printf("The same gradient as a sum over paths (W2[0,0] is w(1)10)\n");
    if (!ag_explain(stdout, E, W2, 0, 4, NULL)) {
        fprintf(stderr, "seed_backprop: %s\n", ag_last_error());
        return 1;
    }
    printf("\n");

    char dot[512], svg[512];
    snprintf(dot, sizeof dot, "%s.dot", prefix);
    snprintf(svg, sizeof svg, "%s.svg", prefix);
    FILE *df = fopen(dot, "w");
    if (df && ag_graph_dot(df, 1, &E)) {
        fclose(df);
        if (render_svg(dot, svg))
            printf("The graph: %s (and %s)\n\n", svg, dot);
        else
            printf("The graph: %s (render it with Graphviz: dot -Tsvg %s -o %s)\n\n", dot, dot,
                   svg);
    } else if (df) {
        fclose(df);
    }

    /* Finite differences agree with the chain rule. */
    ag_tensor *fixed[3] = {x, W1, t};
    const double h = 1e-6;
    bool mode = ag_no_grad_begin();
    double w = ag_get_flat(W2, 0);
    ag_set_flat(W2, 0, w + h);
    double e_plus = ag_item(error_of_W2(&W2, fixed));
    ag_set_flat(W2, 0, w - h);
    double e_minus = ag_item(error_of_W2(&W2, fixed));
    ag_set_flat(W2, 0, w);
    ag_grad_mode_set(mode);
    printf("Finite differences: (E(w + h) - E(w - h)) / 2h = %.6f; chain rule: %.6f\n",
           (e_plus - e_minus) / (2 * h), dE_dw);
    bool agree = ag_gradcheck(error_of_W2, fixed, 1, &W2, NULL, NULL);
    printf("gradcheck over all of W2: %s\n\n", agree ? "PASS" : "FAIL");

    /* The update w <- w - lr dE/dw, run without recording. */
    double before = ag_get_flat(W2, 0);
    mode = ag_no_grad_begin();
    ag_sgd_update(W2, lr);
    ag_sgd_update(W1, lr);
    ag_grad_mode_set(mode);
    printf("Update with learning rate %.1f\n", lr);
    printf("  w(1)10: %.1f -> %.4f\n", before, ag_get_flat(W2, 0));

    ag_tape_reset(NULL);

    ag_tensor_free(x);
    ag_tensor_free(W1);
    ag_tensor_free(W2);
    ag_tensor_free(t);
    ag_shutdown();
    return 0;
}

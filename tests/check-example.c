/* SPDX-License-Identifier: MIT */
/* check-example.c — the lecture's worked example of backpropagation.
 *
 * A 2-2-2 sigmoid network with squared error; the lecture prints its
 * forward values to two decimals and the chain rule for the weight w(1)10
 * from hidden unit 0 to output 0 as 0.37 × 0.25 × 0.54 = 0.049, and the
 * updated weight (learning rate 0.3) as 0.3853. Two checks:
 *   1. the built examples/seed_backprop program prints those numbers at
 *      the lecture's rounding;
 *   2. the same network built here gives each value within half a unit of
 *      the lecture's last printed digit.
 * Every expected value is the lecture's, not the library's. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* ---- the program ---- */

static const char *program_path(void)
{
    const char *p = getenv("SEED_BACKPROP");
    if (p && *p)
        return p;
#ifdef SEED_BACKPROP_PATH
    return SEED_BACKPROP_PATH;
#else
    return NULL;
#endif
}

/* The line of `out` that contains `key` (copied into line), or NULL. */
static const char *find_line(const char *out, const char *key, char *line, size_t size)
{
    const char *k = strstr(out, key);
    if (!k)
        return NULL;
    const char *start = k;
    while (start > out && start[-1] != '\n')
        start--;
    const char *end = strchr(k, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    if (n >= size)
        n = size - 1;
    memcpy(line, start, n);
    line[n] = '\0';
    return line;
}

static bool is_numchar(char c)
{
    return (c >= '0' && c <= '9') || c == '.';
}

/* Whether `num` occurs in `line` as a whole number (not part of a longer one). */
static bool has_number(const char *line, const char *num)
{
    size_t n = strlen(num);
    for (const char *p = strstr(line, num); p; p = strstr(p + 1, num)) {
        bool before = p > line && (is_numchar(p[-1]) || p[-1] == '-');
        bool after = is_numchar(p[n]);
        if (!before && !after)
            return true;
    }
    return false;
}

#define ck_assert_line_has(out, key, num)                                                        \
    do {                                                                                        \
        char h_line_[256];                                                                      \
        const char *h_l_ = find_line((out), (key), h_line_, sizeof h_line_);                    \
        ck_assert_msg(h_l_ != NULL, "no line with \"%s\" in the output:\n%s", (key), (out));    \
        ck_assert_msg(has_number(h_l_, (num)), "line \"%s\" does not show %s", h_l_, (num));    \
    } while (0)

START_TEST(test_program_prints_lecture_numbers)
{
    const char *path = program_path();
    ck_assert_msg(path != NULL, "SEED_BACKPROP is not set (run through meson test)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "popen %s failed", path);
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "%s exited with status %d:\n%s", path, status, out);

    /* Forward pass: z and a of both hidden units and of output 0. */
    ck_assert_line_has(out, "z10 =", "0.17");
    ck_assert_line_has(out, "z10 =", "0.54");
    ck_assert_line_has(out, "z11 =", "0.09");
    ck_assert_line_has(out, "z11 =", "0.52");
    ck_assert_line_has(out, "z20 =", "0.57");
    /* The chain rule for w(1)10. */
    ck_assert_line_has(out, "dE/da20", "0.37");
    ck_assert_line_has(out, "da20/dz20", "0.25");
    ck_assert_line_has(out, "dz20/dw", "0.54");
    ck_assert_line_has(out, "dE/dw(1)10", "0.37");
    ck_assert_line_has(out, "dE/dw(1)10", "0.25");
    ck_assert_line_has(out, "dE/dw(1)10", "0.54");
    ck_assert_line_has(out, "dE/dw(1)10", "0.049");
    /* The update. */
    ck_assert_line_has(out, "w(1)10:", "0.3853");
}
END_TEST

/* ---- the same network, built here ---- */

/* Half a unit of the lecture's last printed digit. */
#define HALF_2DP 0.005
#define HALF_3DP 0.0005
#define HALF_4DP 0.00005

START_TEST(test_network_matches_lecture)
{
    ag_dtype dt = _i ? AG_F32 : AG_F64;
    /* The inputs and weights of the example (its header comment). */
    ag_tensor *x = h_arr(dt, 2, H_SHAPE(1, 2), H_VALS(0.2, 0.5));
    ag_tensor *W1 = h_param(dt, 2, H_SHAPE(2, 2), H_VALS(0.1, 0.2, 0.3, 0.1));
    ag_tensor *W2 = h_param(dt, 2, H_SHAPE(2, 2), H_VALS(0.4, 0.5, 0.1, 0.3));
    ag_tensor *t = h_arr(dt, 2, H_SHAPE(1, 2), H_VALS(0.2, 0.9));

    ag_tensor *z1 = ag_matmul(x, W1);
    ag_tensor *a1 = ag_sigmoid(z1);
    ag_tensor *z2 = ag_matmul(a1, W2);
    ag_tensor *a2 = ag_sigmoid(z2);
    ag_tensor *diff = ag_sub(t, a2);
    ag_tensor *E = ag_mul_scalar(ag_sum(ag_mul(diff, diff)), 0.5);
    ck_assert_tensor(E);

    /* The lecture's forward values. */
    ck_assert_near(ag_get_flat(z1, 0), 0.17, 0, HALF_2DP);
    ck_assert_near(ag_get_flat(a1, 0), 0.54, 0, HALF_2DP);
    ck_assert_near(ag_get_flat(z1, 1), 0.09, 0, HALF_2DP);
    ck_assert_near(ag_get_flat(a1, 1), 0.52, 0, HALF_2DP);
    ck_assert_near(ag_get_flat(z2, 0), 0.27, 0, HALF_2DP);
    ck_assert_near(ag_get_flat(z2, 1), 0.43, 0, HALF_2DP);
    ck_assert_near(ag_get_flat(a2, 0), 0.57, 0, HALF_2DP);

    ck_assert(ag_backward(E));
    /* The chain rule's factors, read from the gradients on the graph. */
    double dE_da20 = ag_get_flat(ag_grad_of(a2), 0);
    double dE_dz20 = ag_get_flat(ag_grad_of(z2), 0);
    double dE_dw = ag_get_flat(ag_grad_of(W2), 0);
    ck_assert_near(dE_da20, 0.37, 0, HALF_2DP);
    ck_assert_near(dE_dz20 / dE_da20, 0.25, 0, HALF_2DP);
    ck_assert_near(dE_dw / dE_dz20, 0.54, 0, HALF_2DP);
    ck_assert_near(dE_dw, 0.049, 0, HALF_3DP);

    /* w(1)10 <- w(1)10 − 0.3 dE/dw(1)10 */
    bool mode = ag_no_grad_begin();
    ck_assert(ag_sgd_update(W2, 0.3));
    ck_assert(ag_sgd_update(W1, 0.3));
    ag_grad_mode_set(mode);
    ck_assert_near(ag_get_flat(W2, 0), 0.3853, 0, HALF_4DP);
}
END_TEST

Suite *example_suite(void);
Suite *example_suite(void)
{
    Suite *s = suite_create("example");
    TCase *tc = h_tcase(s, "seed_backprop program", H_TIMEOUT);
    tcase_add_test(tc, test_program_prints_lecture_numbers);
    tc = h_tcase(s, "lecture network", H_TIMEOUT);
    tcase_add_loop_test(tc, test_network_matches_lecture, 0, 2);
    return s;
}

H_MAIN(example_suite)

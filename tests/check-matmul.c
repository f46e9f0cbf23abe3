/* SPDX-License-Identifier: MIT */
/* check-matmul.c — the 2-D matrix products among the core ops: both
 * matrix-product backends (the portable kernel and, when built in, BLAS)
 * against a triple loop written here, with every transposition (matmul_t),
 * values and gradients in f64 and f32; small products and an empty sum by
 * hand; affine (x W + b, its gradients from the chain rule worked out in
 * the test, kernels and rules, and its errors); affine_t_relu (by hand,
 * and bit for bit against relu of affine_t); and transpose2d.
 *
 * The loop comparisons allow the standard bound on a k-term dot product,
 * |error| <= k·u·Σ|a||b| (u the unit roundoff), twice over. The gradient
 * checks of matmul are with the registry sweep in check-ops.c; 1-D,
 * batched, dot and outer products are in check-linalg.c. A6 is in
 * ops_fixture.[ch]. */
#include "ops_fixture.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- matrix products ---- */

/* op(X)[i][j] of a stored row-major matrix, transposed when t. */
static double opel(const double *x, bool t, int64_t rows_op, int64_t cols_op, int64_t i, int64_t j)
{
    return t ? x[j * rows_op + i] : x[i * cols_op + j];
}

typedef struct mm_case {
    int64_t m, k, n;
} mm_case;

/* The last two are a product with one column and one with one row at a
 * logistic regression's size (569 × 30), where they run in the library's
 * own matrix-vector loops (9216 to 2^17 matrix elements), with the tails of
 * their lanes and row blocks. */
static const mm_case MM_CASES[] = {
    {1, 1, 1}, {3, 4, 5}, {7, 1, 3}, {1, 9, 1}, {64, 64, 64}, {65, 63, 66}, {70, 130, 90}, {5, 0, 4},
    {569, 30, 1}, {1, 30, 569},
};

/* op(A) @ op(B) for the current backend against the triple loop, in dt,
 * with every transposition; and its gradients against R op(B)ᵀ, op(A)ᵀ R. */
static void check_matmul_backend(ag_dtype dt, ag_rng *rng)
{
    for (size_t c = 0; c < H_COUNT(MM_CASES); c++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int64_t m = MM_CASES[c].m, k = MM_CASES[c].k, n = MM_CASES[c].n;
                ag_tensor *A = h_rand(dt, 2, ta ? H_SHAPE(k, m) : H_SHAPE(m, k), -1, 1, rng);
                ag_tensor *B = h_rand(dt, 2, tb ? H_SHAPE(n, k) : H_SHAPE(k, n), -1, 1, rng);
                ag_tensor *R = h_rand(dt, 2, H_SHAPE(m, n), -1, 1, rng);
                ck_assert(ag_set_requires_grad(A, true));
                ck_assert(ag_set_requires_grad(B, true));
                double *a = malloc((size_t)(m * k + 1) * sizeof *a);
                double *b = malloc((size_t)(k * n + 1) * sizeof *b);
                ck_assert(a && b);
                for (int64_t i = 0; i < m * k; i++)
                    a[i] = ag_get_flat(A, (size_t)i);
                for (int64_t i = 0; i < k * n; i++)
                    b[i] = ag_get_flat(B, (size_t)i);

                ag_tensor *C = (ta || tb) ? ag_matmul_t(A, ta, B, tb) : ag_matmul(A, B);
                ck_assert_tensor(C);
                ck_assert_shape(C, 2, H_SHAPE(m, n));
                /* The standard bound on a k-term dot product: |error| <=
                 * k·u·Σ|a||b| (u the unit roundoff); twice that for slack. */
                double u = dt == AG_F64 ? DBL_EPSILON : FLT_EPSILON;
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < n; j++) {
                        double s = 0, sa = 0;
                        for (int64_t p = 0; p < k; p++) {
                            double x = opel(a, ta, m, k, i, p) * opel(b, tb, k, n, p, j);
                            s += x;
                            sa += fabs(x);
                        }
                        double got = ag_get_flat(C, (size_t)(i * n + j));
                        ck_assert_msg(fabs(got - s) <= 2 * (double)(k + 1) * u * sa,
                                      "%s (%lld,%lld,%lld) ta=%d tb=%d: C[%lld][%lld] = %.17g, "
                                      "expected %.17g",
                                      ag_dtype_str(dt), (long long)m, (long long)k, (long long)n,
                                      ta, tb, (long long)i, (long long)j, got, s);
                    }

                /* L = Σ C ⊙ R:  d op(A) = R op(B)ᵀ,  d op(B) = op(A)ᵀ R. */
                ck_assert(ag_backward(ag_sum(ag_mul(C, R))));
                ag_tensor *gA = ag_grad_of(A), *gB = ag_grad_of(B);
                for (int64_t i = 0; i < m; i++)
                    for (int64_t p = 0; p < k; p++) {
                        double s = 0, sa = 0;
                        for (int64_t j = 0; j < n; j++) {
                            double x = ag_get_flat(R, (size_t)(i * n + j)) * opel(b, tb, k, n, p, j);
                            s += x;
                            sa += fabs(x);
                        }
                        size_t at = (size_t)(ta ? p * m + i : i * k + p);
                        ck_assert_tensor(gA);
                        ck_assert_msg(fabs(ag_get_flat(gA, at) - s) <= 2 * (double)(n + 1) * u * sa,
                                      "dA[%lld][%lld] = %.17g, expected %.17g (ta=%d tb=%d)",
                                      (long long)i, (long long)p, ag_get_flat(gA, at), s, ta, tb);
                    }
                for (int64_t p = 0; p < k; p++)
                    for (int64_t j = 0; j < n; j++) {
                        double s = 0, sa = 0;
                        for (int64_t i = 0; i < m; i++) {
                            double x = opel(a, ta, m, k, i, p) * ag_get_flat(R, (size_t)(i * n + j));
                            s += x;
                            sa += fabs(x);
                        }
                        size_t at = (size_t)(tb ? j * k + p : p * n + j);
                        ck_assert_tensor(gB);
                        ck_assert_msg(fabs(ag_get_flat(gB, at) - s) <= 2 * (double)(m + 1) * u * sa,
                                      "dB[%lld][%lld] = %.17g, expected %.17g (ta=%d tb=%d)",
                                      (long long)p, (long long)j, ag_get_flat(gB, at), s, ta, tb);
                    }
                free(a);
                free(b);
                ag_tape_reset(NULL);
            }
}

START_TEST(test_matmul_builtin)
{
    ck_assert(ag_matmul_backend_set(AG_MATMUL_BUILTIN));
    ck_assert_int_eq(ag_matmul_backend_get(), AG_MATMUL_BUILTIN);
    ag_rng rng;
    ag_rng_seed(&rng, 11);
    check_matmul_backend(AG_F64, &rng);
    check_matmul_backend(AG_F32, &rng);
}
END_TEST

START_TEST(test_matmul_blas)
{
    if (!ag_have_blas()) {
        /* Built without BLAS: selecting it is refused, and nothing else to do. */
        ck_assert(!ag_matmul_backend_set(AG_MATMUL_BLAS));
        ck_assert_status(AG_ERR_VALUE);
        fprintf(stderr, "check-matmul: built without BLAS; the BLAS matmul test is skipped\n");
        return;
    }
    ck_assert(ag_matmul_backend_set(AG_MATMUL_BLAS));
    ck_assert_int_eq(ag_matmul_backend_get(), AG_MATMUL_BLAS);
    ag_rng rng;
    ag_rng_seed(&rng, 12);
    check_matmul_backend(AG_F64, &rng);
    check_matmul_backend(AG_F32, &rng);
}
END_TEST

START_TEST(test_matmul_small_by_hand)
{
    /* [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]] */
    ag_tensor *a = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(1, 2, 3, 4));
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(2, 2), H_VALS(5, 6, 7, 8));
    ck_assert_values_f64(ag_matmul(a, b), 4, H_VALS(19, 22, 43, 50));
    /* aᵀ b = [[1,3],[2,4]] @ b = [[26,30],[38,44]] */
    ck_assert_values_f64(ag_matmul_t(a, true, b, false), 4, H_VALS(26, 30, 38, 44));
    /* a bᵀ = [[17,23],[39,53]] */
    ck_assert_values_f64(ag_matmul_t(a, false, b, true), 4, H_VALS(17, 23, 39, 53));
    /* (3,0) @ (0,2) is a (3,2) of zeros: an empty sum. */
    ag_tensor *e1 = h_arr(AG_F64, 2, H_SHAPE(3, 0), NULL);
    ag_tensor *e2 = h_arr(AG_F64, 2, H_SHAPE(0, 2), NULL);
    ag_tensor *z = ag_matmul(e1, e2);
    ck_assert_shape(z, 2, H_SHAPE(3, 2));
    ck_assert_values_f64(z, 6, H_VALS(0, 0, 0, 0, 0, 0));
}
END_TEST

/* x W + b by hand, its gradients from the chain rule worked out in the
 * test, both backends, f32 and f64, kernels and rules; and its errors. */
START_TEST(test_affine)
{
    ag_dtype dt = _i & 1 ? AG_F32 : AG_F64;
    ck_assert(ag_matmul_backend_set(_i & 2 ? AG_MATMUL_BUILTIN : ag_matmul_backend_get()));
    double rtol = dt == AG_F32 ? H_RTOL_F32 : H_RTOL_F64, atol = dt == AG_F32 ? H_ATOL_F32 : H_ATOL_F64;
    /* x = [[1,2],[3,4],[5,6]], W = [[1,0,-1],[2,1,0]], b = [10,20,30]:
     * x W = [[5,2,-1],[11,4,-3],[17,6,-5]], plus b on every row. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 2), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *W = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(1, 0, -1, 2, 1, 0));
    ag_tensor *b = h_param(dt, 1, H_SHAPE(3), H_VALS(10, 20, 30));
    ag_tensor *y = ag_affine(x, W, b);
    ck_assert_shape(y, 2, H_SHAPE(3, 3));
    ck_assert_values(y, 9, H_VALS(15, 22, 29, 21, 24, 27, 27, 26, 25), rtol, atol);
    ck_assert_int_eq(ag_node_n_inputs(y), 3);
    /* L = Σ y ⊙ S with S = [[1,2,3],[4,5,6],[7,8,9]]:
     * dx = S Wᵀ = [[-2,4],[-2,13],[-2,22]], dW = xᵀ S = [[48,57,66],[60,72,84]],
     * db = column sums of S = [12,15,18]. */
    ag_tensor *S = h_arr(dt, 2, H_SHAPE(3, 3), H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9));
    for (int kernels = 0; kernels < 2; kernels++) {
        bool prev = ag_set_grad_kernels(kernels);
        ag_zero_grad(x), ag_zero_grad(W), ag_zero_grad(b);
        ck_assert_msg(ag_backward(ag_sum(ag_mul(ag_affine(x, W, b), S))), "%s", ag_last_error());
        ck_assert_values(ag_grad_of(x), 6, H_VALS(-2, 4, -2, 13, -2, 22), rtol, atol);
        ck_assert_values(ag_grad_of(W), 6, H_VALS(48, 57, 66, 60, 72, 84), rtol, atol);
        ck_assert_values(ag_grad_of(b), 3, H_VALS(12, 15, 18), rtol, atol);
        ag_set_grad_kernels(prev);
        ag_tape_reset(NULL);
    }
    /* Shapes that are not a batch, a matrix and a bias. */
    ck_assert_ptr_null(ag_affine(x, W, h_arr(dt, 1, H_SHAPE(2), NULL)));
    ck_assert_error(AG_ERR_SHAPE, "affine: x (3,2) @ W (2,3) + b (2)");
    ag_error_clear();
    ck_assert_ptr_null(ag_affine(W, W, b));
    ck_assert_error(AG_ERR_SHAPE, "need x (n,k), W (k,m) and b (m)");
    ag_error_clear();
    ck_assert_ptr_null(ag_affine(x, W, NULL));
    ck_assert_status(AG_ERR_NULL);
    ag_error_clear();
    ck_assert(ag_matmul_backend_set(ag_have_blas() ? AG_MATMUL_BLAS : AG_MATMUL_BUILTIN));
}
END_TEST

/* relu(x Wᵀ + b) in one node: by hand (an output at exactly 0 gets no
 * gradient, as PyTorch's relu), kernels and rules; then bit for bit the
 * two-node ag_relu(ag_affine_t(...)) on random data, values and gradients. */
START_TEST(test_affine_t_relu)
{
    ag_dtype dt = _i & 1 ? AG_F32 : AG_F64;
    double rtol = dt == AG_F32 ? H_RTOL_F32 : H_RTOL_F64, atol = dt == AG_F32 ? H_ATOL_F32 : H_ATOL_F64;
    /* x = [[1,2],[3,4],[5,6]], W (3,2) = [[1,2],[0,1],[-1,0]], b = [-10,-4,3]:
     * x Wᵀ + b = [[-5,-2,2],[1,0,0],[7,2,-2]], relu: [[0,0,2],[1,0,0],[7,2,0]]. */
    ag_tensor *x = h_param(dt, 2, H_SHAPE(3, 2), H_VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *W = h_param(dt, 2, H_SHAPE(3, 2), H_VALS(1, 2, 0, 1, -1, 0));
    ag_tensor *b = h_param(dt, 1, H_SHAPE(3), H_VALS(-10, -4, 3));
    ag_tensor *y = ag_affine_t_relu(x, W, b);
    ck_assert_msg(y != NULL, "%s", ag_last_error());
    ck_assert_shape(y, 2, H_SHAPE(3, 3));
    ck_assert_values(y, 9, H_VALS(0, 0, 2, 1, 0, 0, 7, 2, 0), 0, 0);
    ck_assert_int_eq(ag_node_n_inputs(y), 3);
    /* L = Σ y ⊙ S, S = [[1,2,3],[4,5,6],[7,8,9]]: h = S where y > 0 =
     * [[0,0,3],[4,0,0],[7,8,0]]; dx = h W = [[-3,0],[4,8],[7,22]],
     * dW = hᵀ x = [[47,58],[40,48],[3,6]], db = column sums of h = [11,8,3]. */
    ag_tensor *S = h_arr(dt, 2, H_SHAPE(3, 3), H_VALS(1, 2, 3, 4, 5, 6, 7, 8, 9));
    for (int kernels = 0; kernels < 2; kernels++) {
        bool prev = ag_set_grad_kernels(kernels);
        ag_zero_grad(x), ag_zero_grad(W), ag_zero_grad(b);
        ck_assert_msg(ag_backward(ag_sum(ag_mul(ag_affine_t_relu(x, W, b), S))), "%s",
                      ag_last_error());
        ck_assert_values(ag_grad_of(x), 6, H_VALS(-3, 0, 4, 8, 7, 22), rtol, atol);
        ck_assert_values(ag_grad_of(W), 6, H_VALS(47, 58, 40, 48, 3, 6), rtol, atol);
        ck_assert_values(ag_grad_of(b), 3, H_VALS(11, 8, 3), rtol, atol);
        ag_set_grad_kernels(prev);
        ag_tape_reset(NULL);
    }
    ck_assert_ptr_null(ag_affine_t_relu(x, W, h_arr(dt, 1, H_SHAPE(2), NULL)));
    ck_assert_error(AG_ERR_SHAPE, "affine_t_relu: x (3,2) @ W (3,2)");
    ag_error_clear();

    /* Bit for bit the two nodes, on a batch past the vector loops' width. */
    ag_rng rng;
    ag_rng_seed(&rng, 11 + (uint64_t)_i);
    ag_tensor *X = h_keep(ag_rand_uniform(dt, 2, H_SHAPE(37, 29), -1, 1, &rng));
    ag_tensor *V = h_keep(ag_rand_uniform(dt, 2, H_SHAPE(19, 29), -1, 1, &rng));
    ag_tensor *c = h_keep(ag_rand_uniform(dt, 1, H_SHAPE(19), -1, 1, &rng));
    ag_tensor *G = h_keep(ag_rand_uniform(dt, 2, H_SHAPE(37, 19), -1, 1, &rng));
    ck_assert(ag_set_requires_grad(X, true) && ag_set_requires_grad(V, true) &&
              ag_set_requires_grad(c, true));
    size_t es = dt == AG_F32 ? 4 : 8;
    unsigned char *want[4], *got[4];
    for (int fused = 0; fused < 2; fused++) {
        ag_zero_grad(X), ag_zero_grad(V), ag_zero_grad(c);
        ag_tensor *Y = fused ? ag_affine_t_relu(X, V, c) : ag_relu(ag_affine_t(X, V, c));
        ck_assert_msg(Y && ag_backward_seed(Y, G), "%s", ag_last_error());
        const ag_tensor *t[4] = {Y, ag_grad_of(X), ag_grad_of(V), ag_grad_of(c)};
        for (int i = 0; i < 4; i++) {
            size_t bytes = ag_numel(t[i]) * es;
            unsigned char *copy = malloc(bytes);
            ck_assert_ptr_nonnull(copy);
            memcpy(copy, ag_data_const(t[i]), bytes);
            (fused ? got : want)[i] = copy;
        }
        ag_tape_reset(NULL);
    }
    static const char *const what[4] = {"y", "dx", "dW", "db"};
    size_t n[4] = {37 * 19, 37 * 29, 19 * 29, 19};
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(memcmp(want[i], got[i], n[i] * es) == 0, "%s (%s): fused and two nodes differ",
                      what[i], ag_dtype_str(dt));
        free(want[i]);
        free(got[i]);
    }
}
END_TEST

START_TEST(test_transpose2d)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *x = h_param(dt, 2, H_SHAPE(2, 3), A6);
    ag_tensor *y = ag_transpose2d(x);
    ck_assert_shape(y, 2, H_SHAPE(3, 2));
    const double want[6] = {A6[0], A6[3], A6[1], A6[4], A6[2], A6[5]};
    ck_assert_values(y, 6, want, 0, 0);
    /* Σ yᵀ ⊙ W with W (3,2): dx = Wᵀ. */
    ag_tensor *w = h_arr(dt, 2, H_SHAPE(3, 2), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert(ag_backward(ag_sum(ag_mul(y, w))));
    ck_assert_values(ag_grad_of(x), 6, H_VALS(1, 3, 5, 2, 4, 6), 0, 0);
}
END_TEST

Suite *matmul_suite(void);
Suite *matmul_suite(void)
{
    Suite *s = suite_create("matmul");
    TCase *tc = h_tcase(s, "matmul", 300);
    tcase_add_test(tc, test_matmul_builtin);
    tcase_add_test(tc, test_matmul_blas);
    tcase_add_test(tc, test_matmul_small_by_hand);
    tcase_add_loop_test(tc, test_affine, 0, 4);
    tcase_add_loop_test(tc, test_affine_t_relu, 0, 2);
    tcase_add_loop_test(tc, test_transpose2d, 0, 2);
    return s;
}

H_MAIN(matmul_suite)

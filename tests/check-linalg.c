/* SPDX-License-Identifier: MIT */
/* check-linalg.c — matrix products (ops/matmul.c): ag_matmul with 1-D
 * operands (vector @ matrix, matrix @ vector, vector @ vector = dot) and
 * batched operands whose leading dimensions broadcast, ag_matmul_t with
 * every transposition, dot, outer, and zero-size operands — in both matmul
 * backends (the portable kernel and, when built in, BLAS), in f64 and f32.
 *
 * Every value and gradient is compared with a naive loop written here that
 * follows numpy's matmul rules; the tolerance is the standard bound on a
 * k-term dot product, |error| <= k·u·Σ|a_i b_i| (u the unit roundoff), with
 * a factor two of slack. Gradients are also certified by finite differences
 * (ag_gradcheck). */
#include "harness.h"

#include <float.h>
#include <stdio.h>

/* Selects backend b (0 builtin, 1 BLAS); false when BLAS is not built in
 * (the caller then has nothing to do for it). */
static bool use_backend(int b)
{
    if (b == 1 && !ag_have_blas())
        return false;
    ck_assert(ag_matmul_backend_set(b ? AG_MATMUL_BLAS : AG_MATMUL_BUILTIN));
    ck_assert_int_eq(ag_matmul_backend_get(), b ? AG_MATMUL_BLAS : AG_MATMUL_BUILTIN);
    return true;
}

static double unit_roundoff(ag_dtype dt)
{
    return dt == AG_F64 ? DBL_EPSILON : FLT_EPSILON;
}

/* ---- numpy's matmul, by hand ---- */

typedef struct mm_shapes {
    int na, nb;
    int64_t sa[AG_MAX_DIMS], sb[AG_MAX_DIMS];
} mm_shapes;

/* What the reference works out from the operands' shapes. */
typedef struct mm_plan {
    int nbatch;
    int64_t batch[AG_MAX_DIMS];
    int64_t m, k, n;
    bool row, col;          /* a was 1-D (a row) / b was 1-D (a column) */
    int nba, nbb;           /* a's and b's own batch dimensions */
    int64_t ba[AG_MAX_DIMS], bb[AG_MAX_DIMS];
    int nd;                 /* the result's shape */
    int64_t shape[AG_MAX_DIMS];
} mm_plan;

static void plan(const mm_shapes *s, mm_plan *p)
{
    memset(p, 0, sizeof *p);
    p->row = s->na == 1;
    p->col = s->nb == 1;
    p->m = p->row ? 1 : s->sa[s->na - 2];
    p->k = s->sa[s->na - 1];
    p->n = p->col ? 1 : s->sb[s->nb - 1];
    ck_assert_int_eq(p->k, p->col ? s->sb[0] : s->sb[s->nb - 2]);
    p->nba = p->row ? 0 : s->na - 2;
    p->nbb = p->col ? 0 : s->nb - 2;
    memcpy(p->ba, s->sa, (size_t)p->nba * sizeof(int64_t));
    memcpy(p->bb, s->sb, (size_t)p->nbb * sizeof(int64_t));
    p->nbatch = p->nba > p->nbb ? p->nba : p->nbb;
    for (int i = 0; i < p->nbatch; i++) {
        int ia = p->nba - p->nbatch + i, ib = p->nbb - p->nbatch + i;
        int64_t da = ia >= 0 ? p->ba[ia] : 1, db = ib >= 0 ? p->bb[ib] : 1;
        ck_assert(da == db || da == 1 || db == 1);
        p->batch[i] = da == 1 ? db : da;
    }
    memcpy(p->shape, p->batch, (size_t)p->nbatch * sizeof(int64_t));
    p->nd = p->nbatch;
    if (!p->row)
        p->shape[p->nd++] = p->m;
    if (!p->col)
        p->shape[p->nd++] = p->n;
}

static size_t prod(int n, const int64_t *s)
{
    size_t r = 1;
    for (int i = 0; i < n; i++)
        r *= (size_t)s[i];
    return r;
}

/* The batch (of an operand with n own batch dimensions s) that the result's
 * batch multi-index idx reads. */
static size_t batch_offset(int nbatch, const int64_t *idx, int n, const int64_t *s)
{
    size_t off = 0;
    for (int d = 0; d < n; d++)
        off = off * (size_t)s[d] + (size_t)(s[d] == 1 ? 0 : idx[nbatch - n + d]);
    return off;
}

/* The largest case has 180 result elements; fixed arrays (rather than
 * malloc) leak nothing when an assertion fails under CK_FORK=no. */
enum { MAXEL = 512 };

typedef struct mm_ref {
    double c[MAXEL], c_bound[MAXEL];   /* result and its error bound */
    double ga[MAXEL], ga_bound[MAXEL]; /* d Σ C⊙R / dA and its bound */
    double gb[MAXEL], gb_bound[MAXEL];
    size_t terms_a[MAXEL], terms_b[MAXEL]; /* terms added into each gradient element */
} mm_ref;

/* C = A @ B and the gradients of Σ C ⊙ R, by loops over the result's
 * batches: each batch multiplies the batches of A and B it broadcasts from,
 * and their gradients add up over every result batch that read them. */
static void reference(const mm_plan *p, const double *a, const double *b, const double *r,
                      double u, mm_ref *out)
{
    size_t nbatch = prod(p->nbatch, p->batch);
    size_t numa = prod(p->nba, p->ba) * (size_t)(p->m * p->k);
    size_t numb = prod(p->nbb, p->bb) * (size_t)(p->k * p->n);
    size_t numc = nbatch * (size_t)(p->m * p->n);
    ck_assert(numa <= MAXEL && numb <= MAXEL && numc <= MAXEL);
    memset(out, 0, sizeof *out);
    size_t *terms_a = out->terms_a, *terms_b = out->terms_b;
    int64_t idx[AG_MAX_DIMS] = {0};
    int64_t m = p->m, k = p->k, n = p->n;
    for (size_t bi = 0; bi < nbatch; bi++) {
        size_t oa = batch_offset(p->nbatch, idx, p->nba, p->ba) * (size_t)(m * k);
        size_t ob = batch_offset(p->nbatch, idx, p->nbb, p->bb) * (size_t)(k * n);
        size_t oc = bi * (size_t)(m * n);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0, sa = 0;
                for (int64_t q = 0; q < k; q++) {
                    double t = a[oa + (size_t)(i * k + q)] * b[ob + (size_t)(q * n + j)];
                    s += t;
                    sa += fabs(t);
                }
                out->c[oc + (size_t)(i * n + j)] = s;
                out->c_bound[oc + (size_t)(i * n + j)] = sa;
            }
        /* dA[i][q] += Σ_j R[i][j] B[q][j];  dB[q][j] += Σ_i A[i][q] R[i][j] */
        for (int64_t i = 0; i < m; i++)
            for (int64_t q = 0; q < k; q++)
                for (int64_t j = 0; j < n; j++) {
                    double t = r[oc + (size_t)(i * n + j)] * b[ob + (size_t)(q * n + j)];
                    out->ga[oa + (size_t)(i * k + q)] += t;
                    out->ga_bound[oa + (size_t)(i * k + q)] += fabs(t);
                    terms_a[oa + (size_t)(i * k + q)]++;
                    double v = a[oa + (size_t)(i * k + q)] * r[oc + (size_t)(i * n + j)];
                    out->gb[ob + (size_t)(q * n + j)] += v;
                    out->gb_bound[ob + (size_t)(q * n + j)] += fabs(v);
                    terms_b[ob + (size_t)(q * n + j)]++;
                }
        for (int d = p->nbatch - 1; d >= 0; d--) {
            if (++idx[d] < p->batch[d])
                break;
            idx[d] = 0;
        }
    }
    for (size_t i = 0; i < numc; i++)
        out->c_bound[i] *= 2 * (double)(k + 1) * u;
    for (size_t i = 0; i < numa; i++)
        out->ga_bound[i] *= 2 * (double)(terms_a[i] + 1) * u;
    for (size_t i = 0; i < numb; i++)
        out->gb_bound[i] *= 2 * (double)(terms_b[i] + 1) * u;
}

static void values_of(const ag_tensor *t, double *v)
{
    size_t n = ag_numel(t);
    ck_assert(n <= MAXEL);
    for (size_t i = 0; i < n; i++)
        v[i] = ag_get_flat(t, i);
}

#define ck_assert_within(got, want, bound, what, i)                                              \
    ck_assert_msg(fabs((got) - (want)) <= (bound), "%s[%zu] = %.17g, expected %.17g (bound %g)", \
                  (what), (size_t)(i), (double)(got), (double)(want), (double)(bound))

/* ag_matmul(A, B) for shapes s against the reference, with gradients. */
static void check_matmul(const mm_shapes *s, ag_dtype dt, ag_rng *rng)
{
    mm_plan p;
    plan(s, &p);
    ag_tensor *A = h_rand(dt, s->na, s->sa, -1, 1, rng);
    ag_tensor *B = h_rand(dt, s->nb, s->sb, -1, 1, rng);
    ag_tensor *R = h_rand(dt, p.nd, p.shape, -1, 1, rng);
    ck_assert(ag_set_requires_grad(A, true));
    ck_assert(ag_set_requires_grad(B, true));
    static double a[MAXEL], b[MAXEL], r[MAXEL];
    static mm_ref ref;
    values_of(A, a);
    values_of(B, b);
    values_of(R, r);
    reference(&p, a, b, r, unit_roundoff(dt), &ref);

    ag_tensor *C = ag_matmul(A, B);
    ck_assert_shape(C, p.nd, p.shape);
    ck_assert_int_eq(ag_tensor_dtype(C), dt);
    for (size_t i = 0; i < ag_numel(C); i++)
        ck_assert_within(ag_get_flat(C, i), ref.c[i], ref.c_bound[i], "C", i);
    ck_assert(ag_backward(ag_sum(ag_mul(C, R))));
    ag_tensor *gA = ag_grad_of(A), *gB = ag_grad_of(B);
    ck_assert_tensor(gA);
    ck_assert_tensor(gB);
    ck_assert_shape(gA, s->na, s->sa);
    ck_assert_shape(gB, s->nb, s->sb);
    for (size_t i = 0; i < ag_numel(A); i++)
        ck_assert_within(ag_get_flat(gA, i), ref.ga[i], ref.ga_bound[i], "dA", i);
    for (size_t i = 0; i < ag_numel(B); i++)
        ck_assert_within(ag_get_flat(gB, i), ref.gb[i], ref.gb_bound[i], "dB", i);
    ag_tape_reset(NULL);
}

static const mm_shapes CASES[] = {
    /* vector @ matrix, matrix @ vector, vector @ vector */
    {1, 2, {4}, {4, 3}},
    {2, 1, {3, 4}, {4}},
    {1, 1, {5}, {5}},
    /* 2-D, including a 1x1 result and k = 1 */
    {2, 2, {3, 4}, {4, 2}},
    {2, 2, {1, 1}, {1, 1}},
    {2, 2, {5, 1}, {1, 3}},
    /* batched, leading dimensions broadcasting */
    {4, 3, {2, 1, 3, 4}, {5, 4, 6}},
    {3, 3, {1, 2, 3}, {4, 3, 2}},
    {3, 2, {2, 3, 4}, {4, 2}},
    {2, 3, {3, 4}, {2, 4, 5}},
    {1, 3, {4}, {2, 4, 3}},
    {3, 1, {2, 3, 4}, {4}},
    {4, 4, {2, 1, 2, 3}, {1, 3, 3, 2}},
};

START_TEST(test_matmul_against_loops)
{
    ag_dtype dt = H_DTYPES[_i];
    for (int backend = 0; backend < 2; backend++) {
        if (!use_backend(backend))
            continue;
        ag_rng rng;
        ag_rng_seed(&rng, 21 + (uint64_t)backend);
        for (size_t c = 0; c < H_COUNT(CASES); c++)
            check_matmul(&CASES[c], dt, &rng);
    }
}
END_TEST

START_TEST(test_matmul_result_shapes)
{
    /* The shapes of numpy's rules, written out by hand. */
    for (int backend = 0; backend < 2; backend++) {
        if (!use_backend(backend))
            continue;
        ag_tensor *a = h_arr(AG_F64, 4, H_SHAPE(2, 1, 3, 4), NULL);
        ag_tensor *b = h_arr(AG_F64, 3, H_SHAPE(5, 4, 6), NULL);
        ck_assert_shape(ag_matmul(a, b), 4, H_SHAPE(2, 5, 3, 6));
        ag_tensor *v4 = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
        ck_assert_shape(ag_matmul(v4, b), 2, H_SHAPE(5, 6));
        ck_assert_shape(ag_matmul(a, v4), 3, H_SHAPE(2, 1, 3));
        ck_assert_shape(ag_matmul(v4, v4), 0, NULL);
        ag_tape_reset(NULL);
    }
}
END_TEST

START_TEST(test_matmul_by_hand)
{
    ag_dtype dt = H_DTYPES[_i];
    for (int backend = 0; backend < 2; backend++) {
        if (!use_backend(backend))
            continue;
        /* [1 2] @ [[1,2,3],[4,5,6]] = [9, 12, 15];
         * [[1,2,3],[4,5,6]] @ [1,0,-1] = [-2, -2];  [1,2] . [3,4] = 11. */
        ag_tensor *v = h_param(dt, 1, H_SHAPE(2), H_VALS(1, 2));
        ag_tensor *M = h_param(dt, 2, H_SHAPE(2, 3), H_VALS(1, 2, 3, 4, 5, 6));
        ag_tensor *w = h_param(dt, 1, H_SHAPE(3), H_VALS(1, 0, -1));
        ag_tensor *vm = ag_matmul(v, M);
        ck_assert_shape(vm, 1, H_SHAPE(3));
        ck_assert_values(vm, 3, H_VALS(9, 12, 15), 0, 0);
        ag_tensor *Mw = ag_matmul(M, w);
        ck_assert_shape(Mw, 1, H_SHAPE(2));
        ck_assert_values(Mw, 2, H_VALS(-2, -2), 0, 0);
        ag_tensor *u = h_param(dt, 1, H_SHAPE(2), H_VALS(3, 4));
        ag_tensor *vv = ag_matmul(v, u);
        ck_assert_shape(vv, 0, NULL);
        ck_assert_values(vv, 1, H_VALS(11), 0, 0);
        /* d(Σ vM + Σ Mw + v·u): dv = row sums of M + u = [6+3, 15+4];
         * dM[i][j] = v_i + w_j;  dw = column sums of M;  du = v. */
        ck_assert(ag_backward(ag_add(ag_add(ag_sum(vm), ag_sum(Mw)), vv)));
        ck_assert_values(ag_grad_of(v), 2, H_VALS(9, 19), 0, 0);
        ck_assert_values(ag_grad_of(M), 6, H_VALS(2, 1, 0, 3, 2, 1), 0, 0);
        ck_assert_values(ag_grad_of(w), 3, H_VALS(5, 7, 9), 0, 0);
        ck_assert_values(ag_grad_of(u), 2, H_VALS(1, 2), 0, 0);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- matmul_t ---- */

START_TEST(test_matmul_t_transposes)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_rng rng;
    ag_rng_seed(&rng, 4);
    for (int backend = 0; backend < 2; backend++) {
        if (!use_backend(backend))
            continue;
        for (int batched = 0; batched < 2; batched++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    /* op(A) (3,4), op(B) (4,5), in 2 batches when batched. */
                    const int64_t m = 3, k = 4, n = 5, nb = batched ? 2 : 1;
                    int nd = batched ? 3 : 2;
                    int64_t sa[3] = {nb, ta ? k : m, ta ? m : k};
                    int64_t sb[3] = {nb, tb ? n : k, tb ? k : n};
                    ag_tensor *A = h_rand(dt, nd, batched ? sa : sa + 1, -1, 1, &rng);
                    ag_tensor *B = h_rand(dt, nd, batched ? sb : sb + 1, -1, 1, &rng);
                    ag_tensor *C = ag_matmul_t(A, ta, B, tb);
                    int64_t sc[3] = {nb, m, n};
                    ck_assert_shape(C, nd, batched ? sc : sc + 1);
                    double u = unit_roundoff(dt);
                    for (int64_t bi = 0; bi < nb; bi++)
                        for (int64_t i = 0; i < m; i++)
                            for (int64_t j = 0; j < n; j++) {
                                double s = 0, sabs = 0;
                                for (int64_t q = 0; q < k; q++) {
                                    size_t ia = (size_t)(bi * m * k + (ta ? q * m + i : i * k + q));
                                    size_t ib = (size_t)(bi * k * n + (tb ? j * k + q : q * n + j));
                                    double t = ag_get_flat(A, ia) * ag_get_flat(B, ib);
                                    s += t;
                                    sabs += fabs(t);
                                }
                                size_t ic = (size_t)((bi * m + i) * n + j);
                                ck_assert_within(ag_get_flat(C, ic), s, 2 * (double)(k + 1) * u * sabs,
                                                 "C", ic);
                            }
                    ag_tape_reset(NULL);
                }
    }
}
END_TEST

/* ---- dot, outer ---- */

START_TEST(test_dot_outer)
{
    ag_dtype dt = H_DTYPES[_i];
    ag_tensor *a = h_param(dt, 1, H_SHAPE(3), H_VALS(1, -2, 0.5));
    ag_tensor *b = h_param(dt, 1, H_SHAPE(3), H_VALS(4, 0.25, -6));
    ag_tensor *d = ag_dot(a, b);
    ck_assert_shape(d, 0, NULL);
    /* 4 − 0.5 − 3 */
    ck_assert_values(d, 1, H_VALS(0.5), 0, 0);
    ck_assert(ag_backward(d));
    ck_assert_values(ag_grad_of(a), 3, H_VALS(4, 0.25, -6), 0, 0);
    ck_assert_values(ag_grad_of(b), 3, H_VALS(1, -2, 0.5), 0, 0);
    ag_zero_grad(a);
    ag_zero_grad(b);
    ag_tape_reset(NULL);

    ag_tensor *c = h_param(dt, 1, H_SHAPE(2), H_VALS(2, -1));
    ag_tensor *o = ag_outer(a, c);
    ck_assert_shape(o, 2, H_SHAPE(3, 2));
    ck_assert_values(o, 6, H_VALS(2, -1, -4, 2, 1, -0.5), 0, 0);
    /* d Σ W ⊙ (a ⊗ c): da_i = Σ_j W_ij c_j, dc_j = Σ_i W_ij a_i. */
    ag_tensor *W = h_arr(dt, 2, H_SHAPE(3, 2), H_VALS(1, 2, 3, 4, 5, 6));
    ck_assert(ag_backward(ag_sum(ag_mul(o, W))));
    ck_assert_values(ag_grad_of(a), 3, H_VALS(0, 2, 4), 0, 0);
    ck_assert_values(ag_grad_of(c), 2, H_VALS(1 - 6 + 2.5, 2 - 8 + 3), 0, 0);
}
END_TEST

/* ---- zero-size operands ---- */

START_TEST(test_zero_size)
{
    ag_dtype dt = H_DTYPES[_i];
    for (int backend = 0; backend < 2; backend++) {
        if (!use_backend(backend))
            continue;
        /* (0,3) @ (3,2) -> (0,2). */
        ag_tensor *a = h_param(dt, 2, H_SHAPE(0, 3), NULL);
        ag_tensor *b = h_param(dt, 2, H_SHAPE(3, 2), H_VALS(1, 2, 3, 4, 5, 6));
        ag_tensor *c = ag_matmul(a, b);
        ck_assert_shape(c, 2, H_SHAPE(0, 2));
        ck_assert(ag_backward(ag_sum(c)));
        /* No row of a: b's gradient is zero, a's is empty. */
        for (size_t i = 0; i < 6; i++)
            ck_assert(ag_get_flat(ag_grad_of(b), i) == 0);
        ck_assert_shape(ag_grad_of(a), 2, H_SHAPE(0, 3));
        ag_tape_reset(NULL);

        /* (2,0) @ (0,3) -> zeros (2,3): an empty sum is 0. */
        ag_tensor *p = h_param(dt, 2, H_SHAPE(2, 0), NULL);
        ag_tensor *q = h_param(dt, 2, H_SHAPE(0, 3), NULL);
        for (int t = 0; t < 2; t++) {
            ag_tensor *z = t ? ag_matmul_t(q, true, p, true) : ag_matmul(p, q);
            ck_assert_shape(z, 2, t ? H_SHAPE(3, 2) : H_SHAPE(2, 3));
            ck_assert_values(z, 6, H_VALS(0, 0, 0, 0, 0, 0), 0, 0);
        }
        /* Fill the result's memory first, so a kernel that skips the zeroing
         * would show through: a large product, reset, then the empty one. */
        ag_tensor *big = h_arr(dt, 2, H_SHAPE(2, 3), H_VALS(7, 7, 7, 7, 7, 7));
        ag_tensor *junk = ag_mul_scalar(big, 3);
        ck_assert_tensor(junk);
        ag_tape_reset(NULL);
        ag_tensor *z = ag_matmul(p, q);
        ck_assert_values(z, 6, H_VALS(0, 0, 0, 0, 0, 0), 0, 0);
        ck_assert(ag_backward(ag_sum(z)));
        ck_assert_shape(ag_grad_of(p), 2, H_SHAPE(2, 0));
        ck_assert_shape(ag_grad_of(q), 2, H_SHAPE(0, 3));
        ag_tape_reset(NULL);

        /* Batched and 1-D: (0,2,3) @ (3,4) -> (0,2,4); (0) . (0) = 0. */
        ag_tensor *e = h_arr(dt, 3, H_SHAPE(0, 2, 3), NULL);
        ag_tensor *f = h_arr(dt, 2, H_SHAPE(3, 4), NULL);
        ck_assert_shape(ag_matmul(e, f), 3, H_SHAPE(0, 2, 4));
        ag_tensor *v0 = h_arr(dt, 1, H_SHAPE(0), NULL);
        ag_tensor *dd = ag_matmul(v0, v0);
        ck_assert_shape(dd, 0, NULL);
        ck_assert_values(dd, 1, H_VALS(0), 0, 0);
        ag_tape_reset(NULL);
    }
}
END_TEST

/* ---- gradient checks ---- */

typedef struct mm_ctx {
    int kind; /* 0 matmul, 1 matmul_t, 2 dot, 3 outer */
    bool ta, tb;
} mm_ctx;

static ag_tensor *f_mm(ag_tensor *const *in, void *ctx)
{
    const mm_ctx *c = ctx;
    switch (c->kind) {
    case 0: return ag_matmul(in[0], in[1]);
    case 1: return ag_matmul_t(in[0], c->ta, in[1], c->tb);
    case 2: return ag_dot(in[0], in[1]);
    default: return ag_outer(in[0], in[1]);
    }
}

START_TEST(test_gradcheck_products)
{
    for (int backend = 0; backend < 2; backend++) {
        if (!use_backend(backend))
            continue;
        for (uint64_t seed = 1; seed <= 5; seed++) {
            ag_rng rng;
            ag_rng_seed(&rng, seed);
            mm_ctx mm = {0, false, false};
            for (size_t c = 0; c < H_COUNT(CASES); c++) {
                ag_tensor *in[2] = {h_rand(AG_F64, CASES[c].na, CASES[c].sa, -2, 2, &rng),
                                    h_rand(AG_F64, CASES[c].nb, CASES[c].sb, -2, 2, &rng)};
                ck_assert(ag_set_requires_grad(in[0], true));
                ck_assert(ag_set_requires_grad(in[1], true));
                ck_assert_gradcheck(f_mm, &mm, 2, in);
            }
            for (int t = 0; t < 4; t++) {
                mm_ctx mt = {1, t & 1, (t & 2) != 0};
                ag_tensor *in[2] = {
                    h_rand(AG_F64, 3, mt.ta ? H_SHAPE(2, 4, 3) : H_SHAPE(2, 3, 4), -2, 2, &rng),
                    h_rand(AG_F64, 3, mt.tb ? H_SHAPE(2, 2, 4) : H_SHAPE(2, 4, 2), -2, 2, &rng)};
                ck_assert(ag_set_requires_grad(in[0], true));
                ck_assert(ag_set_requires_grad(in[1], true));
                ck_assert_gradcheck(f_mm, &mt, 2, in);
            }
            for (int kind = 2; kind < 4; kind++) {
                mm_ctx md = {kind, false, false};
                ag_tensor *in[2] = {h_rand(AG_F64, 1, H_SHAPE(4), -2, 2, &rng),
                                    h_rand(AG_F64, 1, H_SHAPE(kind == 2 ? 4 : 3), -2, 2, &rng)};
                ck_assert(ag_set_requires_grad(in[0], true));
                ck_assert(ag_set_requires_grad(in[1], true));
                ck_assert_gradcheck(f_mm, &md, 2, in);
            }
        }
    }
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors)
{
    ag_tensor *a = h_arr(AG_F64, 2, H_SHAPE(3, 4), NULL);
    ag_tensor *b = h_arr(AG_F64, 2, H_SHAPE(5, 2), NULL);
    ck_assert_ptr_null(ag_matmul(a, b));
    ck_assert_error(AG_ERR_SHAPE, "matmul: (3,4) @ (5,2): inner dimensions 4 and 5 differ");
    ag_error_clear();
    /* 1-D and batched operands name their own shapes. */
    ag_tensor *v5 = h_arr(AG_F64, 1, H_SHAPE(5), NULL);
    ck_assert_ptr_null(ag_matmul(v5, a));
    ck_assert_error(AG_ERR_SHAPE, "inner dimensions 5 and 3 differ");
    ck_assert_error(AG_ERR_SHAPE, "(5)");
    ag_error_clear();
    ag_tensor *b3 = h_arr(AG_F64, 3, H_SHAPE(2, 3, 4), NULL);
    ag_tensor *c3 = h_arr(AG_F64, 3, H_SHAPE(2, 5, 6), NULL);
    ck_assert_ptr_null(ag_matmul(b3, c3));
    ck_assert_error(AG_ERR_SHAPE, "matmul: (2,3,4) @ (2,5,6): inner dimensions 4 and 5 differ");
    ag_error_clear();
    /* Batch dimensions that do not broadcast. */
    ag_tensor *d3 = h_arr(AG_F64, 3, H_SHAPE(3, 4, 2), NULL);
    ck_assert_ptr_null(ag_matmul(b3, d3));
    ck_assert_error(AG_ERR_SHAPE, "matmul");
    ck_assert_error(AG_ERR_SHAPE, "broadcast");
    ag_error_clear();
    /* A 0-d operand. */
    ag_tensor *s = h_scalar(AG_F64, 2);
    ck_assert_ptr_null(ag_matmul(s, a));
    ck_assert_error(AG_ERR_SHAPE, "matmul");
    ag_error_clear();
    /* matmul_t: the transposition in the message. */
    ck_assert_ptr_null(ag_matmul_t(a, true, b, false));
    ck_assert_error(AG_ERR_SHAPE, "inner dimensions 3 and 5 differ");
    ag_error_clear();
    ck_assert_ptr_null(ag_matmul_t(b3, false, a, false));
    ck_assert_error(AG_ERR_SHAPE, "matmul");
    ag_error_clear();
    /* dtypes. */
    ag_tensor *f = h_arr(AG_F32, 2, H_SHAPE(4, 2), NULL);
    ck_assert_ptr_null(ag_matmul(a, f));
    ck_assert_error(AG_ERR_DTYPE, "matmul");
    ag_error_clear();
    ag_tensor *i = h_arr(AG_I64, 2, H_SHAPE(4, 2), NULL);
    ck_assert_ptr_null(ag_matmul(a, i));
    ck_assert_error(AG_ERR_DTYPE, "i64");
    ag_error_clear();
    /* dot: two 1-D tensors of one length; outer: two 1-D tensors. */
    ag_tensor *v4 = h_arr(AG_F64, 1, H_SHAPE(4), NULL);
    ck_assert_ptr_null(ag_dot(v4, v5));
    ck_assert_error(AG_ERR_SHAPE, "dot");
    ck_assert_error(AG_ERR_SHAPE, "(4)");
    ck_assert_error(AG_ERR_SHAPE, "(5)");
    ag_error_clear();
    ck_assert_ptr_null(ag_dot(a, a));
    ck_assert_error(AG_ERR_SHAPE, "dot");
    ag_error_clear();
    ck_assert_ptr_null(ag_outer(a, v4));
    ck_assert_error(AG_ERR_SHAPE, "outer");
    ck_assert_error(AG_ERR_SHAPE, "(3,4)");
    ag_error_clear();
    ck_assert_ptr_null(ag_outer(v4, f));
    ck_assert_error(AG_ERR_DTYPE, "outer");
    ag_error_clear();
    ck_assert_ptr_null(ag_matmul(NULL, a));
    ck_assert_error(AG_ERR_NULL, "matmul");
    ag_error_clear();
}
END_TEST

Suite *linalg_suite(void);
Suite *linalg_suite(void)
{
    Suite *s = suite_create("linalg");
    TCase *tc = h_tcase(s, "matmul", 120);
    tcase_add_loop_test(tc, test_matmul_against_loops, 0, 2);
    tcase_add_test(tc, test_matmul_result_shapes);
    tcase_add_loop_test(tc, test_matmul_by_hand, 0, 2);
    tcase_add_loop_test(tc, test_matmul_t_transposes, 0, 2);
    tc = h_tcase(s, "dot and outer", H_TIMEOUT);
    tcase_add_loop_test(tc, test_dot_outer, 0, 2);
    tc = h_tcase(s, "zero size", H_TIMEOUT);
    tcase_add_loop_test(tc, test_zero_size, 0, 2);
    tc = h_tcase(s, "gradcheck", 300);
    tcase_add_test(tc, test_gradcheck_products);
    tc = h_tcase(s, "errors", H_TIMEOUT);
    tcase_add_test(tc, test_errors);
    return s;
}

H_MAIN(linalg_suite)

/* SPDX-License-Identifier: MIT */
/* clone_bits.c — a fingerprint of the library's arithmetic, to show that
 * the AVX2 clones of its hot loops (autograd/vector_clones.h) give the
 * bits the baseline loops give.
 *
 * It runs, from fixed seeds: every registered op forward and backward in
 * f32 and f64 (elementwise ops on 37 × 29 inputs, so that the vector
 * loops run whole vectors and a tail; the others on their sample shapes),
 * matrix-vector products of a few sizes both ways round (the small-gemv
 * loops), and three steps of every optimizer rule, with and without
 * gradient clipping, in both precisions. It prints one FNV-1a hash of every
 * result byte, and whether this CPU has AVX2:
 *
 *     clone_bits: 8c2f... over 1234567 bytes; 0 ops skipped; avx2 yes
 *
 * scripts/test.sh builds the library twice with optimisation, with the
 * clones and with -DAG_NO_VECTOR_CLONES, and requires the two hashes to be
 * equal. Not a meson test: one build alone has nothing to compare with. */
#include <autograd/autograd.h>
#include <autograd/models.h>
#include <autograd/op.h>
#include <autograd/tools.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash = 1469598103934665603ull;
static size_t hashed;

static void mix(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        hash = (hash ^ b[i]) * 1099511628211ull;
    hashed += n;
}

static void mix_tensor(const ag_tensor *t)
{
    if (!t)
        return;
    size_t es = ag_tensor_dtype(t) == AG_F32 ? 4 : 8;
    mix(ag_data_const(t), ag_numel(t) * es);
}

static void fail(const char *what)
{
    fprintf(stderr, "clone_bits: %s: %s\n", what, ag_last_error());
    exit(1);
}

typedef struct sweep {
    ag_dtype dt;
    ag_rng rng;
    int skipped;
} sweep;

static void one_op(const ag_op *op, void *ctx)
{
    sweep *s = ctx;
    const ag_op_def *d = ag_op_info(op);
    int ndim[AG_GRADCHECK_MAX_INPUTS];
    int64_t shape[AG_GRADCHECK_MAX_INPUTS][AG_MAX_DIMS];
    if (d->sample) {
        d->sample(&s->rng, ndim, shape);
    } else {
        for (int i = 0; i < d->n_inputs; i++) {
            ndim[i] = 2;
            shape[i][0] = 37;
            shape[i][1] = 29;
        }
    }
    ag_tensor *in[AG_GRADCHECK_MAX_INPUTS] = {0};
    for (int i = 0; i < d->n_inputs; i++) {
        in[i] = ag_rand_uniform(s->dt, ndim[i], shape[i], d->domain_lo, d->domain_hi, &s->rng);
        if (!in[i] || !ag_set_requires_grad(in[i], true))
            fail("inputs");
    }
    ag_tensor *y = ag_op_apply(op, in, NULL);
    if (!y) {
        /* an op whose inputs this sweep cannot make (printed, counted) */
        fprintf(stderr, "clone_bits: %s (%s) skipped: %s\n", d->name, ag_dtype_str(s->dt),
                ag_last_error());
        ag_error_clear();
        s->skipped++;
    } else {
        mix_tensor(y);
        ag_dtype ydt = ag_tensor_dtype(y);
        if ((ydt == AG_F32 || ydt == AG_F64) && ag_requires_grad(y)) {
            ag_tensor *seed = ag_rand_uniform(ydt, ag_ndim(y), ag_shape(y), -1, 1, &s->rng);
            if (!seed || !ag_backward_seed(y, seed))
                fail(d->name);
            ag_tensor_free(seed);
            for (int i = 0; i < d->n_inputs; i++)
                mix_tensor(ag_grad_of(in[i]));
        }
    }
    ag_tape_reset(NULL);
    for (int i = 0; i < d->n_inputs; i++)
        ag_tensor_free(in[i]);
}

/* A (rows, cols) by a vector, both ways round (one column, one row), and
 * backward through each. */
static void products(ag_dtype dt, ag_rng *rng)
{
    static const int64_t sizes[][2] = {{569, 30}, {37, 29}, {3, 1000}, {1000, 3}, {5, 7}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        int64_t r = sizes[i][0], c = sizes[i][1];
        ag_tensor *M = ag_rand_uniform(dt, 2, (int64_t[]){r, c}, -1, 1, rng);
        ag_tensor *v = ag_rand_uniform(dt, 2, (int64_t[]){c, 1}, -1, 1, rng);
        ag_tensor *u = ag_rand_uniform(dt, 2, (int64_t[]){1, r}, -1, 1, rng);
        if (!M || !v || !u || !ag_set_requires_grad(M, true) || !ag_set_requires_grad(v, true) ||
            !ag_set_requires_grad(u, true))
            fail("product inputs");
        ag_tensor *col = ag_matmul(M, v), *row = ag_matmul(u, M);
        if (!col || !row)
            fail("matmul");
        mix_tensor(col);
        mix_tensor(row);
        ag_tensor *loss = ag_add(ag_sum(ag_mul(col, col)), ag_sum(ag_mul(row, row)));
        if (!loss || !ag_backward(loss))
            fail("product backward");
        mix_tensor(ag_grad_of(M));
        mix_tensor(ag_grad_of(v));
        mix_tensor(ag_grad_of(u));
        ag_tape_reset(NULL);
        ag_tensor_free(M);
        ag_tensor_free(v);
        ag_tensor_free(u);
    }
}

/* Three steps of one optimizer on a parameter of 1003 elements. */
static void optimizer(ag_dtype dt, ag_optim_kind kind, double momentum, bool nesterov,
                      double decay, double clip, ag_rng *rng)
{
    ag_params *ps = ag_params_new();
    ag_tensor *w = ag_rand_uniform(dt, 1, (int64_t[]){1003}, -1, 1, rng);
    if (!ps || !w || !ag_params_add(ps, "w", w))
        fail("params");
    ag_optim_config c = ag_optim_defaults(kind);
    c.lr = 0.05;
    c.momentum = momentum;
    c.nesterov = nesterov;
    c.weight_decay = decay;
    c.clip_norm = clip;
    ag_optim *o = ag_optim_new(ps, &c);
    if (!o)
        fail("optim_new");
    for (int step = 0; step < 3; step++) {
        ag_optim_zero_grad(o);
        ag_tensor *target = ag_rand_uniform(dt, 1, (int64_t[]){1003}, -1, 1, rng);
        ag_tensor *diff = ag_sub(w, target);
        ag_tensor *loss = ag_sum(ag_mul(diff, diff));
        if (!loss || !ag_backward(loss) || !ag_optim_step(o))
            fail("optim step");
        mix_tensor(w);
        double norm = ag_optim_last_grad_norm(o);
        mix(&norm, sizeof norm);
        ag_tape_reset(NULL);
        ag_tensor_free(target);
    }
    ag_optim_free(o);
    ag_params_free(ps);
}

int main(void)
{
    int skipped = 0;
    for (int k = 0; k < 2; k++) {
        ag_dtype dt = k ? AG_F64 : AG_F32;
        sweep s = {.dt = dt, .skipped = 0};
        ag_rng_seed(&s.rng, 2026 + (uint64_t)k);
        ag_op_foreach(one_op, &s);
        skipped += s.skipped;
        products(dt, &s.rng);
        for (int clip = 0; clip < 2; clip++) {
            double cn = clip ? 0.5 : 0;
            optimizer(dt, AG_SGD, 0, false, 0, cn, &s.rng);
            optimizer(dt, AG_SGD, 0, false, 0.01, cn, &s.rng);
            optimizer(dt, AG_SGD, 0.9, false, 0, cn, &s.rng);
            optimizer(dt, AG_SGD, 0.9, true, 0.01, cn, &s.rng);
            optimizer(dt, AG_ADAM, 0, false, 0.01, cn, &s.rng);
            optimizer(dt, AG_ADAMW, 0, false, 0.01, cn, &s.rng);
        }
    }
#if defined(__GNUC__) && defined(__x86_64__)
    const char *avx2 = __builtin_cpu_supports("avx2") ? "yes" : "no";
#else
    const char *avx2 = "no (not x86-64)";
#endif
    printf("clone_bits: %016" PRIx64 " over %zu bytes; %d ops skipped; avx2 %s\n", hash, hashed,
           skipped, avx2);
    ag_shutdown();
    return 0;
}

/* SPDX-License-Identifier: MIT */
/* kann_mlp.c — KANN's MLP training step, the peer of bench_mlp's "engine"
 * for its three shapes (tiny 2-16-16-1 batch 32, standard 784-256-128-10
 * batch 64, wide 784-1024-1024-10 batch 256; ReLU between layers, f32),
 * timed interleaved with the engine's own step in this process so that the
 * ratio holds however busy the machine is.
 *
 *   kann     kann_layer_input → kann_layer_dense + kad_relu per hidden
 *            layer → kann_layer_cost (a dense layer, then sigmoid + binary
 *            cross-entropy for the tiny shape, softmax + multi-class
 *            cross-entropy for the others: KANN has no loss on logits), the
 *            forward and backward sweep by kann_cost(ann, 0, 1), then SGD
 *            (lr 0.01) as the loop w −= lr·g over KANN's parameter and
 *            gradient arrays: KANN ships no SGD, and this is the update
 *            bench_mlp's hand-written step makes. KANN's default
 *            initialisation; its multithreading (kann_mt) is off, so its
 *            only threads are OpenBLAS's, as for the engine.
 *   engine   bench_mlp's engine step, unchanged: ag_mlp_forward,
 *            ag_bce_with_logits / ag_cross_entropy (mean), ag_backward,
 *            ag_optim_step (SGD), ag_tape_reset.
 *
 * Both draw the same inputs (bench_mlp's generator); a sample is the mean
 * of 50 consecutive steps for the tiny shape, one step otherwise.
 *
 * KANN is not part of this project: bench/kann_peer.sh compiles this file
 * with a KANN checkout given by KANN_DIR, out of tree, with KANN's CBLAS
 * path on OpenBLAS; nothing of KANN is committed here.
 *
 * Usage: kann_mlp [--quick] [--results FILE] [--shape=tiny|standard|wide] */
#include "bench.h"

#include "kann.h"

#include <autograd/autograd.h>

#include <stdlib.h>
#include <string.h>

enum { NB = 4, MAX_L = 3 };

typedef struct shape {
    const char *name;
    int n_layers;
    int sizes[MAX_L + 1];
    int batch;
    bool binary;
    int warmup, samples, per_sample;
} shape;

/* As bench_mlp.c's SHAPES. */
static const shape SHAPES[] = {
    {"tiny", 3, {2, 16, 16, 1}, 32, true, 400, 300, 50},
    {"standard", 3, {784, 256, 128, 10}, 64, false, 30, 300, 1},
    {"wide", 3, {784, 1024, 1024, 10}, 256, false, 4, 30, 1},
};

static const float LR = 0.01f;

typedef struct batches {
    float *X[NB], *t[NB], *onehot[NB]; /* inputs; 0/1 targets; one-hot labels */
    int64_t *y[NB];
} batches;

/* bench_mlp.c's data_make, plus the one-hot form of the labels KANN wants. */
static void batches_make(batches *d, const shape *s, ag_rng *rng)
{
    int in = s->sizes[0], out = s->sizes[s->n_layers], B = s->batch;
    for (int k = 0; k < NB; k++) {
        d->X[k] = malloc(sizeof(float) * (size_t)(B * in));
        d->y[k] = malloc(sizeof(int64_t) * (size_t)B);
        d->t[k] = malloc(sizeof(float) * (size_t)B);
        d->onehot[k] = calloc((size_t)(B * out), sizeof(float));
        for (int i = 0; i < B; i++) {
            for (int j = 0; j < in; j++)
                d->X[k][i * in + j] = s->binary ? (float)(2 * ag_rng_uniform(rng) - 1)
                                                : (float)ag_rng_uniform(rng);
            d->y[k][i] = (int64_t)(ag_rng_next(rng) % (uint64_t)(out > 1 ? out : 2));
            d->t[k][i] = s->binary ? (float)((d->X[k][i * in] > 0) != (d->X[k][i * in + 1] > 0))
                                   : 0.0f;
            if (!s->binary)
                d->onehot[k][i * out + d->y[k][i]] = 1.0f;
        }
    }
}

static void batches_free(batches *d)
{
    for (int k = 0; k < NB; k++) {
        free(d->X[k]);
        free(d->y[k]);
        free(d->t[k]);
        free(d->onehot[k]);
    }
}

/* ---- KANN ---- */

typedef struct kpeer {
    const shape *s;
    const batches *d;
    kann_t *ann;
    int n_var, next;
} kpeer;

static void kpeer_init(kpeer *p, const shape *s, const batches *d)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    p->d = d;
    kann_srand(42);
    kad_node_t *t = kann_layer_input(s->sizes[0]);
    for (int l = 1; l < s->n_layers; l++)
        t = kad_relu(kann_layer_dense(t, s->sizes[l]));
    t = kann_layer_cost(t, s->sizes[s->n_layers], s->binary ? KANN_C_CEB : KANN_C_CEM);
    p->ann = kann_new(t, 0);
    kann_set_batch_size(p->ann, s->batch);
    kann_switch(p->ann, 1);
    p->n_var = kann_size_var(p->ann);
}

static double kpeer_step(kpeer *p)
{
    int k = p->next;
    p->next = (k + 1) % NB;
    /* The feeds are bound by pointer: bind this batch's arrays. */
    float *x = p->d->X[k], *y = p->s->binary ? p->d->t[k] : p->d->onehot[k];
    kann_feed_bind(p->ann, KANN_F_IN, 0, &x);
    kann_feed_bind(p->ann, KANN_F_TRUTH, 0, &y);
    float cost = kann_cost(p->ann, 0, 1);
    float *restrict w = p->ann->x;
    const float *restrict g = p->ann->g;
    for (int i = 0; i < p->n_var; i++)
        w[i] -= LR * g[i];
    return cost;
}

/* ---- the engine, as bench_mlp.c's engine step ---- */

typedef struct engine {
    const shape *s;
    ag_mlp *mlp;
    ag_optim *opt;
    ag_tensor *X[NB], *y[NB], *t[NB];
    int next;
} engine;

static void engine_init(engine *e, const shape *s, const batches *d, ag_rng *rng)
{
    memset(e, 0, sizeof *e);
    e->s = s;
    int64_t sizes[MAX_L + 1];
    for (int l = 0; l <= s->n_layers; l++)
        sizes[l] = s->sizes[l];
    e->mlp = ag_mlp_new(s->n_layers + 1, sizes, AG_ACT_RELU, AG_F32, rng);
    bench_check(e->mlp != NULL, "ag_mlp_new");
    ag_optim_config cfg = {.kind = AG_SGD, .lr = LR};
    e->opt = ag_optim_new(e->mlp->params, &cfg);
    bench_check(e->opt != NULL, "ag_optim_new");
    int64_t B = s->batch, xs[2] = {B, sizes[0]}, ts[2] = {B, 1};
    for (int k = 0; k < NB; k++) {
        e->X[k] = ag_from_array(AG_F32, 2, xs, d->X[k]);
        e->y[k] = ag_from_array(AG_I64, 1, &B, d->y[k]);
        e->t[k] = ag_from_array(AG_F32, 2, ts, d->t[k]);
        bench_check(e->X[k] && e->y[k] && e->t[k], "batch tensors");
    }
}

static void engine_free(engine *e)
{
    for (int k = 0; k < NB; k++) {
        ag_tensor_free(e->X[k]);
        ag_tensor_free(e->y[k]);
        ag_tensor_free(e->t[k]);
    }
    ag_optim_free(e->opt);
    ag_mlp_free(e->mlp);
}

static double engine_step(engine *e)
{
    int k = e->next;
    e->next = (k + 1) % NB;
    ag_optim_zero_grad(e->opt);
    ag_tensor *logits = ag_mlp_forward(e->mlp, e->X[k]);
    ag_tensor *loss = e->s->binary ? ag_bce_with_logits(logits, e->t[k], AG_REDUCE_MEAN)
                                   : ag_cross_entropy(logits, e->y[k], AG_REDUCE_MEAN);
    bench_check(loss && ag_backward(loss) && ag_optim_step(e->opt), "engine step");
    double l = ag_item(loss);
    ag_tape_reset(NULL);
    return l;
}

static void run_shape(const shape *s, bool quick)
{
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    batches d;
    batches_make(&d, s, &rng);
    engine e;
    engine_init(&e, s, &d, &rng);
    kpeer k;
    kpeer_init(&k, s, &d);

    int samples = quick ? s->samples / 10 + 3 : s->samples, per = s->per_sample;
    double lk = 0, le = 0;
    for (int r = 0; r < s->warmup; r++) {
        lk = kpeer_step(&k);
        le = engine_step(&e);
    }
    double *tk = malloc(sizeof(double) * (size_t)samples);
    double *te = malloc(sizeof(double) * (size_t)samples);
    for (int r = 0; r < samples; r++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < per; i++)
            lk = kpeer_step(&k);
        uint64_t t1 = bench_now_ns();
        for (int i = 0; i < per; i++)
            le = engine_step(&e);
        uint64_t t2 = bench_now_ns();
        tk[r] = (double)(t1 - t0) / 1e3 / per;
        te[r] = (double)(t2 - t1) / 1e3 / per;
    }
    bench_stats sk = bench_summarize(tk, (size_t)samples);
    bench_stats se = bench_summarize(te, (size_t)samples);
    printf("\n== KANN's MLP step: %s ", s->name);
    for (int l = 0; l <= s->n_layers; l++)
        printf("%s%d", l ? "-" : "", s->sizes[l]);
    printf(", batch %d, f32, SGD lr %.2g; %s ==\n", s->batch, (double)LR, bench_blas_desc());
    printf("  %d samples%s; µs per step: median min max\n", samples,
           per > 1 ? " (a sample = mean of consecutive steps)" : "");
    printf("  kann     %10.2f %10.2f %10.2f   (last loss %.4f, %d parameters)\n", sk.median,
           sk.min, sk.max, lk, k.n_var);
    printf("  engine   %10.2f %10.2f %10.2f   (last loss %.4f)   kann/engine %.2fx\n", se.median,
           se.min, se.max, le, sk.median / se.median);
    char f[160];
    int thr = bench_blas_threads();
    snprintf(f, sizeof f, "bench=mlp_%s impl=kann blas_threads=%d", s->name, thr);
    bench_result(f, sk, "us");
    snprintf(f, sizeof f, "bench=mlp_%s impl=engine-beside-kann blas_threads=%d", s->name, thr);
    bench_result(f, se, "us");

    free(tk);
    free(te);
    kann_delete(k.ann);
    engine_free(&e);
    batches_free(&d);
    ag_tape_free(NULL);
}

static const char *only;

static int parse_extra(const char *a, void *ctx)
{
    (void)ctx;
    if (!strncmp(a, "--shape=", 8)) {
        only = a + 8;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    bench_parse(argc, argv, &o, parse_extra, NULL);
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        if (!only || !strcmp(only, SHAPES[i].name))
            run_shape(&SHAPES[i], o.quick);
    bench_results_close();
    ag_shutdown();
    return 0;
}

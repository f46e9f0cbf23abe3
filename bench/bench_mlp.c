/* SPDX-License-Identifier: MIT */
/* bench_mlp.c — one MLP training step (forward, loss, backward, SGD step,
 * tape reset) in f32, for three shapes, against two peers in this process:
 *
 *   engine   the library: ag_mlp_forward, ag_cross_entropy/ag_bce_with_logits,
 *            ag_backward, ag_optim_step (SGD), ag_tape_reset — what a user
 *            writes.
 *   hand     the same network with its backward derived by hand: the same
 *            cblas_sgemm calls with the transposes folded into them, bias +
 *            ReLU fused into one loop, softmax/sigmoid and the loss gradient
 *            fused, the ReLU mask fused into the backward product's output.
 *            An autodiff engine of this design can only add time to it.
 *   gemm     only the GEMMs of one step (3 forward, 3 for the weight
 *            gradients, 2 for the hidden gradients): the roofline.
 *
 * Shapes (ReLU between layers, SGD with lr 0.01, as in bench/torch_peer.py):
 *   tiny      2-16-16-1,        batch 32,  BCE with logits
 *   standard  784-256-128-10,   batch 64,  cross-entropy
 *   wide      784-1024-1024-10, batch 256, cross-entropy
 *
 * Also timed, as a diagnostic: engine-loop, the engine's step with
 * ag_optim_step replaced by the hand-written update loop (what the optimizer
 * costs beyond it).
 *
 * The four are timed interleaved (engine, hand, gemm, engine-loop, ...) so that
 * a slow phase of the machine hits all of them alike; a sample is the mean
 * of 50 consecutive steps for the tiny shape (one step takes a few µs, so
 * timing it alone would weigh the clock's own cost and jitter) and one step
 * otherwise. Before timing, the engine
 * and the hand-written step are run from the same weights on the same batch
 * and must agree: a fast peer that computes something else proves nothing.
 *
 * Also measured: heap allocations per steady-state step (ag_alloc_count),
 * and memory: parameters, gradients, optimizer state, activations against
 * what the engine holds (its tape's arena), printed for every shape.
 *
 * Options: --shape=tiny|standard|wide (default: all), --results FILE,
 * --quick, --memory=engine|hand (only run the standard step and report the
 * resident memory it adds; the runner calls this in a fresh process),
 * --profile=SHAPE [--steps=N] (the engine's step, then the hand-written one,
 * each in a function of its own for a profiler). */
#include "bench.h"

#include <autograd/autograd.h>
#include <cblas.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { NB = 4, MAX_L = 3 }; /* batches cycled through; layers */

typedef struct shape {
    const char *name;
    int n_layers;
    int64_t sizes[MAX_L + 1];
    int64_t batch;
    bool binary;    /* one output, BCE with logits; else cross-entropy */
    int warmup;     /* rounds before timing */
    int samples;    /* timed samples per peer */
    int per_sample; /* consecutive steps in one sample */
} shape;

static const shape SHAPES[] = {
    {"tiny", 3, {2, 16, 16, 1}, 32, true, 400, 300, 50},
    {"standard", 3, {784, 256, 128, 10}, 64, false, 30, 300, 1},
    {"wide", 3, {784, 1024, 1024, 10}, 256, false, 4, 30, 1},
};

static const float LR = 0.01f;

/* ---- the data: NB batches of inputs, labels and 0/1 targets ---- */

typedef struct data {
    float *X[NB];      /* batch x in */
    int64_t *y[NB];    /* batch class labels */
    float *t[NB];      /* batch 0/1 targets (binary shape) */
} data;

static void data_make(data *d, const shape *s, ag_rng *rng)
{
    int64_t in = s->sizes[0], out = s->sizes[s->n_layers], B = s->batch;
    for (int k = 0; k < NB; k++) {
        d->X[k] = malloc((size_t)(B * in) * sizeof(float));
        d->y[k] = malloc((size_t)B * sizeof(int64_t));
        d->t[k] = malloc((size_t)B * sizeof(float));
        for (int64_t i = 0; i < B; i++) {
            /* Pixel-like inputs for the image shapes, centred ones for the
             * 2-D toy problem whose target is the XOR of the signs. */
            for (int64_t j = 0; j < in; j++)
                d->X[k][i * in + j] = s->binary ? (float)(2 * ag_rng_uniform(rng) - 1)
                                                : (float)ag_rng_uniform(rng);
            d->y[k][i] = (int64_t)(ag_rng_next(rng) % (uint64_t)(out > 1 ? out : 2));
            d->t[k][i] = s->binary ? (float)((d->X[k][i * in] > 0) != (d->X[k][i * in + 1] > 0))
                                   : 0.0f;
        }
    }
}

static void data_free(data *d)
{
    for (int k = 0; k < NB; k++) {
        free(d->X[k]);
        free(d->y[k]);
        free(d->t[k]);
    }
}

/* ---- engine: the library, as a user writes it ---- */

typedef struct engine {
    const shape *s;
    ag_mlp *mlp;
    ag_optim *opt;
    ag_tensor *X[NB], *y[NB], *t[NB];
    int next;
} engine;

/* The batches as leaves (copies of the data). */
static void engine_batches(engine *e, const data *d)
{
    const shape *s = e->s;
    int64_t B = s->batch, xs[2] = {B, s->sizes[0]}, ts[2] = {B, 1};
    for (int k = 0; k < NB; k++) {
        e->X[k] = ag_from_array(AG_F32, 2, xs, d->X[k]);
        e->y[k] = ag_from_array(AG_I64, 1, &B, d->y[k]);
        e->t[k] = ag_from_array(AG_F32, 2, ts, d->t[k]);
        bench_check(e->X[k] && e->y[k] && e->t[k], "batch tensors");
    }
}

/* The model (He-uniform init) and its SGD optimizer. */
static void engine_model(engine *e, ag_rng *rng)
{
    const shape *s = e->s;
    e->mlp = ag_mlp_new(s->n_layers + 1, s->sizes, AG_ACT_RELU, AG_F32, rng);
    bench_check(e->mlp != NULL, "ag_mlp_new");
    ag_optim_config cfg = {.kind = AG_SGD, .lr = LR};
    e->opt = ag_optim_new(e->mlp->params, &cfg);
    bench_check(e->opt != NULL, "ag_optim_new");
}

static void engine_init(engine *e, const shape *s, const data *d, ag_rng *rng)
{
    memset(e, 0, sizeof *e);
    e->s = s;
    engine_model(e, rng);
    engine_batches(e, d);
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

static ag_tensor *engine_loss(engine *e, int k)
{
    ag_tensor *logits = ag_mlp_forward(e->mlp, e->X[k]);
    return e->s->binary ? ag_bce_with_logits(logits, e->t[k], AG_REDUCE_MEAN)
                        : ag_cross_entropy(logits, e->y[k], AG_REDUCE_MEAN);
}

/* One training step on batch k; returns the loss. */
static double engine_step_on(engine *e, int k)
{
    ag_optim_zero_grad(e->opt);
    ag_tensor *loss = engine_loss(e, k);
    bench_check(loss && ag_backward(loss) && ag_optim_step(e->opt), "engine step");
    double l = ag_item(loss);
    ag_tape_reset(NULL);
    return l;
}

static double engine_step(engine *e)
{
    int k = e->next;
    e->next = (k + 1) % NB;
    return engine_step_on(e, k);
}

/* A diagnostic variant, not a peer: the engine's step with ag_optim_step
 * replaced by the loop the hand-written step uses (w -= lr·g over each
 * parameter's buffer, through the public API). Its difference to "engine"
 * is what the optimizer costs beyond that loop. */
static double engine_loop_sgd_step(engine *e)
{
    int k = e->next;
    e->next = (k + 1) % NB;
    ag_optim_zero_grad(e->opt);
    ag_tensor *loss = engine_loss(e, k);
    bench_check(loss && ag_backward(loss), "engine step");
    for (size_t i = 0; i < ag_params_count(e->mlp->params); i++) {
        ag_tensor *p = ag_params_at(e->mlp->params, i, NULL);
        float *restrict w = ag_data(p);
        const float *restrict g = ag_data(ag_grad_of(p));
        for (size_t j = 0, n = ag_numel(p); j < n; j++)
            w[j] -= LR * g[j];
    }
    double l = ag_item(loss);
    ag_tape_reset(NULL);
    return l;
}

/* ---- hand: the same network, backward derived by hand ---- */

/* C = op(A) op(B), row-major: the one BLAS call of every product below. */
static void sgemm_blas(bool ta, bool tb, int m, int n, int k, const float *A, int lda,
                       const float *B, int ldb, float *C, int ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                n, k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
}

typedef struct hand {
    const shape *s;
    float *W[MAX_L], *b[MAX_L], *dW[MAX_L], *db[MAX_L];
    float *A[MAX_L + 1];  /* A[l+1]: output of layer l (after ReLU for hidden layers) */
    float *dA[MAX_L + 1]; /* dA[l+1]: d loss / d (pre-activation of layer l) */
    const data *d;
    int next;
} hand;

static float *falloc(int64_t n)
{
    float *p = calloc((size_t)n, sizeof(float));
    if (!p) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    return p;
}

/* Starts from the engine's current weights, so that the two can be
 * compared, or (e NULL) from He-uniform weights drawn from rng. */
static void hand_init(hand *h, const shape *s, const data *d, const engine *e, ag_rng *rng)
{
    memset(h, 0, sizeof *h);
    h->s = s;
    h->d = d;
    for (int l = 0; l < s->n_layers; l++) {
        int64_t in = s->sizes[l], out = s->sizes[l + 1];
        h->W[l] = falloc(in * out);
        h->dW[l] = falloc(in * out);
        h->b[l] = falloc(out);
        h->db[l] = falloc(out);
        h->A[l + 1] = falloc(s->batch * out);
        h->dA[l + 1] = falloc(s->batch * out);
        if (!e) {
            double bound = sqrt(6.0 / (double)in);
            for (int64_t i = 0; i < in * out; i++)
                h->W[l][i] = (float)((2 * ag_rng_uniform(rng) - 1) * bound);
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "fc%d.weight", l + 1);
        /* The engine keeps (out, in), as nn.Linear; the peer (in, out). */
        const float *we = ag_data(ag_params_get(e->mlp->params, name));
        for (int64_t i = 0; i < in; i++)
            for (int64_t o = 0; o < out; o++)
                h->W[l][i * out + o] = we[o * in + i];
        snprintf(name, sizeof name, "fc%d.bias", l + 1);
        memcpy(h->b[l], ag_data(ag_params_get(e->mlp->params, name)), (size_t)out * sizeof(float));
    }
}

static void hand_free(hand *h)
{
    for (int l = 0; l < h->s->n_layers; l++) {
        free(h->W[l]);
        free(h->dW[l]);
        free(h->b[l]);
        free(h->db[l]);
        free(h->A[l + 1]);
        free(h->dA[l + 1]);
    }
}

/* Forward: A[l+1] = relu(A[l] W + b), the bias and ReLU in one pass over
 * the GEMM's output; the last layer gets the bias only. */
static void hand_forward(hand *h, const float *X)
{
    const shape *s = h->s;
    int B = (int)s->batch;
    const float *in = X;
    for (int l = 0; l < s->n_layers; l++) {
        int ni = (int)s->sizes[l], no = (int)s->sizes[l + 1];
        float *restrict a = h->A[l + 1];
        const float *restrict b = h->b[l];
        sgemm_blas(false, false, B, no, ni, in, ni, h->W[l], no, a, no);
        if (l + 1 < s->n_layers) {
            for (int i = 0; i < B; i++)
                for (int j = 0; j < no; j++) {
                    float v = a[i * no + j] + b[j];
                    a[i * no + j] = v > 0 ? v : 0;
                }
        } else {
            for (int i = 0; i < B; i++)
                for (int j = 0; j < no; j++)
                    a[i * no + j] += b[j];
        }
        in = a;
    }
}

/* The mean loss over the batch and its gradient with respect to the logits,
 * in one pass: softmax − one_hot (cross-entropy) or σ(z) − t (BCE), / B. */
static double hand_loss(hand *h, int k)
{
    const shape *s = h->s;
    int B = (int)s->batch, C = (int)s->sizes[s->n_layers];
    const float *z = h->A[s->n_layers];
    float *dz = h->dA[s->n_layers];
    double loss = 0;
    float inv_b = 1.0f / (float)B;
    if (s->binary) {
        const float *t = h->d->t[k];
        for (int i = 0; i < B; i++) {
            float v = z[i];
            /* softplus(v) − v·t, stable for any v */
            loss += (v > 0 ? v : 0) + log1pf(expf(-fabsf(v))) - v * t[i];
            float p = v >= 0 ? 1 / (1 + expf(-v)) : expf(v) / (1 + expf(v));
            dz[i] = (p - t[i]) * inv_b;
        }
    } else {
        const int64_t *y = h->d->y[k];
        for (int i = 0; i < B; i++) {
            const float *zi = z + i * C;
            float *di = dz + i * C;
            float m = zi[0];
            for (int j = 1; j < C; j++)
                m = zi[j] > m ? zi[j] : m;
            float sum = 0;
            for (int j = 0; j < C; j++)
                sum += (di[j] = expf(zi[j] - m));
            float lse = m + logf(sum);
            loss += lse - zi[y[i]];
            float inv = inv_b / sum;
            for (int j = 0; j < C; j++)
                di[j] *= inv;
            di[y[i]] -= inv_b;
        }
    }
    return loss / B;
}

/* Backward: dW = A_inᵀ dA and dA_in = dA Wᵀ with the transposes in the GEMM
 * flags, the bias gradient as column sums, the ReLU mask applied to the
 * product's output (A > 0 exactly where the pre-activation was > 0). */
static void hand_backward(hand *h, const float *X)
{
    const shape *s = h->s;
    int B = (int)s->batch;
    for (int l = s->n_layers - 1; l >= 0; l--) {
        int ni = (int)s->sizes[l], no = (int)s->sizes[l + 1];
        const float *in = l == 0 ? X : h->A[l];
        const float *restrict g = h->dA[l + 1];
        sgemm_blas(true, false, ni, no, B, in, ni, g, no, h->dW[l], no);
        float *restrict db = h->db[l];
        memset(db, 0, (size_t)no * sizeof *db);
        for (int i = 0; i < B; i++)
            for (int j = 0; j < no; j++)
                db[j] += g[i * no + j];
        if (l > 0) {
            float *restrict gi = h->dA[l];
            const float *restrict a = h->A[l];
            sgemm_blas(false, true, B, ni, no, g, no, h->W[l], no, gi, ni);
            for (int i = 0; i < B * ni; i++)
                gi[i] = a[i] > 0 ? gi[i] : 0;
        }
    }
}

static void hand_sgd(hand *h)
{
    const shape *s = h->s;
    for (int l = 0; l < s->n_layers; l++) {
        int64_t n = s->sizes[l] * s->sizes[l + 1], no = s->sizes[l + 1];
        float *restrict w = h->W[l], *restrict b = h->b[l];
        const float *restrict dw = h->dW[l], *restrict db = h->db[l];
        for (int64_t i = 0; i < n; i++)
            w[i] -= LR * dw[i];
        for (int64_t j = 0; j < no; j++)
            b[j] -= LR * db[j];
    }
}

static double hand_step_on(hand *h, int k)
{
    hand_forward(h, h->d->X[k]);
    double loss = hand_loss(h, k);
    hand_backward(h, h->d->X[k]);
    hand_sgd(h);
    return loss;
}

static double hand_step(hand *h)
{
    int k = h->next;
    h->next = (k + 1) % NB;
    return hand_step_on(h, k);
}

/* ---- gemm: only the matrix products of one step ---- */

static void gemm_step(hand *h)
{
    const shape *s = h->s;
    int B = (int)s->batch;
    const float *X = h->d->X[h->next];
    h->next = (h->next + 1) % NB;
    const float *in = X;
    for (int l = 0; l < s->n_layers; l++) {
        int ni = (int)s->sizes[l], no = (int)s->sizes[l + 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, no, ni, 1.0f, in, ni, h->W[l],
                    no, 0.0f, h->A[l + 1], no);
        in = h->A[l + 1];
    }
    for (int l = s->n_layers - 1; l >= 0; l--) {
        int ni = (int)s->sizes[l], no = (int)s->sizes[l + 1];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, no, B, 1.0f,
                    l == 0 ? X : h->A[l], ni, h->dA[l + 1], no, 0.0f, h->dW[l], no);
        if (l > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, ni, no, 1.0f, h->dA[l + 1], no,
                        h->W[l], no, 0.0f, h->dA[l], ni);
    }
}

/* ---- checks and measurements ---- */

/* The engine and the hand-written step, from the same weights, on the same
 * batches, must give the same losses and the same weights afterwards (to
 * f32 rounding: the sums run in different orders). */
static void check_agreement(const shape *s, engine *e, hand *h)
{
    double max_loss_rel = 0, max_w = 0, max_ref = 0;
    for (int k = 0; k < 3; k++) {
        double le = engine_step_on(e, k), lh = hand_step_on(h, k);
        double rel = fabs(le - lh) / fmax(fabs(lh), 1e-30);
        max_loss_rel = fmax(max_loss_rel, rel);
    }
    for (int l = 0; l < s->n_layers; l++) {
        char name[32];
        snprintf(name, sizeof name, "fc%d.weight", l + 1);
        const float *we = ag_data(ag_params_get(e->mlp->params, name));
        int64_t in = s->sizes[l], out = s->sizes[l + 1];
        for (int64_t i = 0; i < in; i++)
            for (int64_t o = 0; o < out; o++) {
                double hw = h->W[l][i * out + o];
                max_w = fmax(max_w, fabs((double)we[o * in + i] - hw));
                max_ref = fmax(max_ref, fabs(hw));
            }
    }
    bool ok = max_loss_rel < 1e-4 && max_w < 1e-5 * fmax(max_ref, 1);
    printf("check: engine vs hand-written after 3 steps: loss rel. diff %.2e, max |dW| %.2e "
           "(|W| <= %.3f): %s\n",
           max_loss_rel, max_w, max_ref, ok ? "agree" : "DISAGREE");
    char f[128];
    snprintf(f, sizeof f, "bench=mlp_%s check=agreement", s->name);
    bench_result_value(f, ok ? 1 : 0, "bool");
    if (!ok) {
        fprintf(stderr, "bench: the hand-written peer computes something else; fix it first\n");
        exit(1);
    }
}

/* Heap allocations in each of 10 steady-state steps: the largest count. */
static size_t allocs_per_step(engine *e)
{
    size_t worst = 0;
    for (int i = 0; i < 10; i++) {
        size_t a0 = ag_alloc_count();
        engine_step(e);
        size_t d = ag_alloc_count() - a0;
        worst = d > worst ? d : worst;
    }
    return worst;
}

/* Bytes a minimal trainer must hold: parameters, gradients, optimizer
 * state, and activations: the input batch, every layer's pre-activation
 * output and every hidden layer's post-activation output. */
typedef struct mem_budget {
    size_t params, grads, state, activations, tape, input;
} mem_budget;

static mem_budget memory_of(const shape *s, engine *e)
{
    mem_budget m = {0};
    size_t f = sizeof(float);
    m.params = ag_params_numel(e->mlp->params) * f;
    m.grads = m.params; /* every parameter's gradient buffer, kept across steps */
    m.state = ag_params_numel(ag_optim_state(e->opt)) * f;
    m.input = (size_t)(s->batch * s->sizes[0]) * f;
    m.activations = m.input;
    for (int l = 0; l < s->n_layers; l++)
        m.activations += (size_t)(s->batch * s->sizes[l + 1]) * f * (l + 1 < s->n_layers ? 2 : 1);
    m.tape = ag_tape_capacity(NULL);
    return m;
}

typedef struct timing {
    double *engine, *hand, *gemm, *loop;
} timing;

static void print_row(const char *impl, bench_stats st, double ref, const char *ref_name)
{
    printf("  %-10s %10.2f %10.2f %10.2f", impl, st.median, st.min, st.max);
    if (ref > 0)
        printf("   %6.2fx %s", st.median / ref, ref_name);
    printf("\n");
}

/* The engine step split into its phases, to see where the time goes. */
static void engine_breakdown(const shape *s, engine *e, int n)
{
    double *ph[5];
    for (int p = 0; p < 5; p++)
        ph[p] = malloc((size_t)n * sizeof(double));
    size_t nodes = 0;
    for (int i = 0; i < n; i++) {
        int k = e->next;
        e->next = (k + 1) % NB;
        uint64_t t0 = bench_now_ns();
        ag_optim_zero_grad(e->opt);
        uint64_t t1 = bench_now_ns();
        ag_tensor *loss = engine_loss(e, k);
        uint64_t t2 = bench_now_ns();
        bench_check(loss && ag_backward(loss), "backward");
        uint64_t t3 = bench_now_ns();
        bench_check(ag_optim_step(e->opt), "optim step");
        uint64_t t4 = bench_now_ns();
        nodes = ag_tape_size(NULL);
        ag_tape_reset(NULL);
        uint64_t t5 = bench_now_ns();
        ph[0][i] = (double)(t1 - t0) / 1e3;
        ph[1][i] = (double)(t2 - t1) / 1e3;
        ph[2][i] = (double)(t3 - t2) / 1e3;
        ph[3][i] = (double)(t4 - t3) / 1e3;
        ph[4][i] = (double)(t5 - t4) / 1e3;
    }
    static const char *names[5] = {"zero_grad", "forward+loss", "backward", "optim_step", "reset"};
    printf("  engine step by phase (median µs over %d steps; %zu nodes recorded per step):\n", n,
           nodes);
    printf("   ");
    for (int p = 0; p < 5; p++) {
        bench_stats st = bench_summarize(ph[p], (size_t)n);
        printf(" %s %.2f%s", names[p], st.median, p < 4 ? " |" : "\n");
        char f[160];
        snprintf(f, sizeof f, "bench=mlp_%s impl=engine phase=%s blas_threads=%d", s->name,
                 names[p], bench_blas_threads());
        bench_result(f, st, "us");
        free(ph[p]);
    }
    char f[128];
    snprintf(f, sizeof f, "bench=mlp_%s impl=engine what=nodes_per_step", s->name);
    bench_result_value(f, (double)nodes, "count");
}

static void hand_breakdown(const shape *s, hand *h, int n)
{
    double *ph[3];
    for (int p = 0; p < 3; p++)
        ph[p] = malloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++) {
        int k = h->next;
        h->next = (k + 1) % NB;
        uint64_t t0 = bench_now_ns();
        hand_forward(h, h->d->X[k]);
        bench_sink = hand_loss(h, k);
        uint64_t t1 = bench_now_ns();
        hand_backward(h, h->d->X[k]);
        uint64_t t2 = bench_now_ns();
        hand_sgd(h);
        uint64_t t3 = bench_now_ns();
        ph[0][i] = (double)(t1 - t0) / 1e3;
        ph[1][i] = (double)(t2 - t1) / 1e3;
        ph[2][i] = (double)(t3 - t2) / 1e3;
    }
    static const char *names[3] = {"forward+loss", "backward", "sgd"};
    printf("  hand step by phase (median µs):\n   ");
    for (int p = 0; p < 3; p++) {
        bench_stats st = bench_summarize(ph[p], (size_t)n);
        printf(" %s %.2f%s", names[p], st.median, p < 2 ? " |" : "\n");
        char f[160];
        snprintf(f, sizeof f, "bench=mlp_%s impl=hand phase=%s blas_threads=%d", s->name,
                 names[p], bench_blas_threads());
        bench_result(f, st, "us");
        free(ph[p]);
    }
}

static void run_shape(const shape *s, bool quick)
{
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    data d;
    data_make(&d, s, &rng);
    engine e;
    engine_init(&e, s, &d, &rng);
    hand h;
    hand_init(&h, s, &d, &e, &rng);

    printf("\n== MLP training step: %s ", s->name);
    for (int l = 0; l <= s->n_layers; l++)
        printf("%s%lld", l ? "-" : "", (long long)s->sizes[l]);
    printf(", batch %lld, %s, f32, SGD lr %.2g ==\n", (long long)s->batch,
           s->binary ? "BCE with logits" : "cross-entropy", (double)LR);
    check_agreement(s, &e, &h);

    int warmup = s->warmup, samples = quick ? s->samples / 10 + 3 : s->samples;
    int per = s->per_sample;
    for (int r = 0; r < warmup; r++) {
        engine_step(&e);
        hand_step(&h);
        gemm_step(&h);
        engine_loop_sgd_step(&e);
    }
    size_t allocs = allocs_per_step(&e);

    size_t bytes = (size_t)samples * sizeof(double);
    timing t = {malloc(bytes), malloc(bytes), malloc(bytes), malloc(bytes)};
    double last_e = 0, last_h = 0;
    for (int r = 0; r < samples; r++) {
        uint64_t t0 = bench_now_ns();
        for (int i = 0; i < per; i++)
            last_e = engine_step(&e);
        uint64_t t1 = bench_now_ns();
        for (int i = 0; i < per; i++)
            last_h = hand_step(&h);
        uint64_t t2 = bench_now_ns();
        for (int i = 0; i < per; i++)
            gemm_step(&h);
        uint64_t t3 = bench_now_ns();
        for (int i = 0; i < per; i++)
            engine_loop_sgd_step(&e);
        uint64_t t4 = bench_now_ns();
        t.loop[r] = (double)(t4 - t3) / 1e3 / per;
        t.engine[r] = (double)(t1 - t0) / 1e3 / per;
        t.hand[r] = (double)(t2 - t1) / 1e3 / per;
        t.gemm[r] = (double)(t3 - t2) / 1e3 / per;
    }
    bench_stats se = bench_summarize(t.engine, (size_t)samples);
    bench_stats sh = bench_summarize(t.hand, (size_t)samples);
    bench_stats sg = bench_summarize(t.gemm, (size_t)samples);
    bench_stats sl = bench_summarize(t.loop, (size_t)samples);

    printf("  BLAS: %s\n", bench_blas_desc());
    printf("  %d samples after %d warm-up rounds%s; µs per step\n", samples, warmup,
           per > 1 ? " (a sample = mean of consecutive steps)" : "");
    printf("  %-10s %10s %10s %10s   %s\n", "impl", "median", "min", "max", "ratio (median)");
    print_row("engine", se, sh.median, "hand");
    print_row("hand", sh, sg.median, "gemm");
    print_row("gemm", sg, 0, NULL);
    print_row("engine-loop", sl, sh.median, "hand");
    printf("  (engine-loop, a diagnostic: the engine step with ag_optim_step replaced by a plain\n"
           "   w -= lr*g loop; engine - engine-loop = %.2f µs is what ag_optim_step costs beyond\n"
           "   that loop, i.e. its gradient-norm pass (within noise when negative))\n",
           se.median - sl.median);
    printf("  engine / gemm: %.2fx; final losses: engine %.4f, hand %.4f\n", se.median / sg.median,
           last_e, last_h);
    printf("  heap allocations per steady-state step (ag_alloc_count): %zu\n", allocs);

    char f[160];
    int thr = bench_blas_threads();
    snprintf(f, sizeof f, "bench=mlp_%s impl=engine blas_threads=%d", s->name, thr);
    bench_result(f, se, "us");
    snprintf(f, sizeof f, "bench=mlp_%s impl=hand blas_threads=%d", s->name, thr);
    bench_result(f, sh, "us");
    snprintf(f, sizeof f, "bench=mlp_%s impl=gemm blas_threads=%d", s->name, thr);
    bench_result(f, sg, "us");
    snprintf(f, sizeof f, "bench=mlp_%s impl=engine-loop blas_threads=%d", s->name, thr);
    bench_result(f, sl, "us");
    snprintf(f, sizeof f, "bench=mlp_%s impl=engine what=allocs_per_step", s->name);
    bench_result_value(f, (double)allocs, "count");

    int nb = quick ? 20 : s->per_sample > 1 ? 2000 : s->samples;
    engine_breakdown(s, &e, nb);
    hand_breakdown(s, &h, nb);

    mem_budget m = memory_of(s, &e);
    size_t need = m.params + m.grads + m.state + m.activations;
    size_t held = m.params + m.grads + m.state + m.tape + m.input;
    printf("  memory: params %.1f KiB + grads %.1f KiB + optimizer state %.1f KiB + activations "
           "%.1f KiB = %.1f KiB;\n"
           "          engine holds params + grads + state + input + tape arena %.1f KiB = %.1f "
           "KiB (%.2fx)\n",
           m.params / 1024.0, m.grads / 1024.0, m.state / 1024.0, m.activations / 1024.0,
           need / 1024.0, m.tape / 1024.0, held / 1024.0, (double)held / (double)need);
    snprintf(f, sizeof f, "bench=mlp_%s what=mem_budget", s->name);
    bench_result_value(f, (double)need, "bytes");
    snprintf(f, sizeof f, "bench=mlp_%s impl=engine what=mem_held", s->name);
    bench_result_value(f, (double)held, "bytes");
    snprintf(f, sizeof f, "bench=mlp_%s impl=engine what=tape_capacity", s->name);
    bench_result_value(f, (double)m.tape, "bytes");

    free(t.engine);
    free(t.hand);
    free(t.gemm);
    free(t.loop);
    hand_free(&h);
    engine_free(&e);
    data_free(&d);
    /* The next shape starts from an empty tape, so its arena size is its own. */
    ag_tape_free(NULL);
}

/* The process's resident set now, in bytes (/proc/self/statm). Unlike the
 * getrusage peak it drops when memory is returned, so a baseline taken after
 * a warm-up does not carry the warm-up's buffers. */
static size_t current_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * 4096u;
}

/* --memory: what one implementation adds to the process's resident memory
 * over a standard training run, alone in a fresh process. The input batches
 * exist before the baseline (both implementations need them), and OpenBLAS
 * has run the step's GEMMs once, so its own buffers are in the baseline too.
 * Everything the implementation keeps across steps (the engine's tape arena
 * and gradient buffers, the hand-written buffers) stays resident after the
 * steps, so the growth measured after the last step is the peak. */
static void run_memory(const char *which, const char *results)
{
    const shape *s = &SHAPES[1];
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    data d;
    data_make(&d, s, &rng);
    engine e;
    hand h;
    memset(&e, 0, sizeof e);
    e.s = s;
    engine_batches(&e, &d);
    {
        hand warm;
        hand_init(&warm, s, &d, NULL, &rng);
        gemm_step(&warm);
        hand_free(&warm);
    }
    size_t base = current_rss(), peak0 = bench_peak_rss();
    if (!strcmp(which, "engine")) {
        engine_model(&e, &rng);
        for (int i = 0; i < 50; i++)
            engine_step(&e);
    } else {
        hand_init(&h, s, &d, NULL, &rng);
        for (int i = 0; i < 50; i++)
            hand_step(&h);
    }
    size_t now = current_rss(), peak = bench_peak_rss();
    printf("memory (%s, standard step): resident memory grew by %.1f KiB over the baseline "
           "(%.1f KiB); getrusage peak grew by %.1f KiB\n",
           which, (now - base) / 1024.0, base / 1024.0, (peak - peak0) / 1024.0);
    bench_results_open(results);
    char f[128];
    snprintf(f, sizeof f, "bench=mlp_standard impl=%s what=rss_growth", which);
    bench_result_value(f, (double)(now - base), "bytes");
    bench_results_close();
    if (!strcmp(which, "engine"))
        engine_free(&e);
    else
        hand_free(&h), engine_free(&e);
    data_free(&d);
}

/* --profile: only the engine's step, for perf or callgrind, which can then
 * count just this function:
 *   valgrind --tool=callgrind --collect-atstart=no \
 *       --toggle-collect=profile_engine_steps bench_mlp --profile=standard
 * (valgrind lacks AVX-512: run it with OPENBLAS_CORETYPE=Haswell). */
__attribute__((noinline)) static void profile_engine_steps(engine *e, int n)
{
    for (int i = 0; i < n; i++)
        engine_step(e);
}

/* The hand-written step, for the same profiler (--toggle-collect=profile_hand_steps):
 * the engine's instruction count over this one is what the engine adds. */
__attribute__((noinline)) static void profile_hand_steps(hand *h, int n)
{
    for (int i = 0; i < n; i++)
        hand_step(h);
}

static void run_profile(const char *name, int steps)
{
    const shape *s = NULL;
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++)
        if (!strcmp(name, SHAPES[i].name))
            s = &SHAPES[i];
    if (!s) {
        fprintf(stderr, "unknown shape '%s' (tiny, standard, wide)\n", name);
        exit(2);
    }
    ag_rng rng;
    ag_rng_seed(&rng, 42);
    data d;
    data_make(&d, s, &rng);
    engine e;
    engine_init(&e, s, &d, &rng);
    for (int i = 0; i < 10; i++) /* past the arenas' growth */
        engine_step(&e);
    uint64_t t0 = bench_now_ns();
    profile_engine_steps(&e, steps);
    printf("profile: %d engine steps of the %s shape, %.2f µs per step\n", steps, s->name,
           (double)(bench_now_ns() - t0) / 1e3 / steps);
    hand h;
    hand_init(&h, s, &d, &e, &rng);
    for (int i = 0; i < 10; i++)
        hand_step(&h);
    t0 = bench_now_ns();
    profile_hand_steps(&h, steps);
    printf("profile: %d hand-written steps of the %s shape, %.2f µs per step\n", steps, s->name,
           (double)(bench_now_ns() - t0) / 1e3 / steps);
    hand_free(&h);
    engine_free(&e);
    data_free(&d);
}

typedef struct args {
    const char *shape;
    const char *memory;
    const char *profile;
    int steps;
} args;

static int parse_extra(const char *a, void *ctx)
{
    args *x = ctx;
    if (!strncmp(a, "--shape=", 8)) {
        x->shape = a + 8;
        return 1;
    }
    if (!strncmp(a, "--memory=", 9)) {
        x->memory = a + 9;
        return 1;
    }
    if (!strncmp(a, "--profile=", 10)) {
        x->profile = a + 10;
        return 1;
    }
    if (!strncmp(a, "--steps=", 8)) {
        x->steps = atoi(a + 8);
        return x->steps > 0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_opts o = {0};
    args x = {0};
    /* --memory opens the results file itself, after its measurement, so
     * that the baseline is taken the same way in both runs. */
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--memory=", 9))
            x.memory = argv[i] + 9;
    if (x.memory) {
        const char *results = NULL;
        for (int i = 1; i + 1 < argc; i++)
            if (!strcmp(argv[i], "--results"))
                results = argv[i + 1];
        if (strcmp(x.memory, "engine") && strcmp(x.memory, "hand")) {
            fprintf(stderr, "--memory=engine or --memory=hand\n");
            return 2;
        }
        run_memory(x.memory, results);
        ag_shutdown();
        return 0;
    }
    bench_parse(argc, argv, &o, parse_extra, &x);
    if (x.profile) {
        run_profile(x.profile, x.steps ? x.steps : 1000);
        ag_shutdown();
        return 0;
    }
    printf("bench_mlp: BLAS %s\n", bench_blas_desc());
    bool any = false;
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        if (x.shape && strcmp(x.shape, SHAPES[i].name))
            continue;
        run_shape(&SHAPES[i], o.quick);
        any = true;
    }
    if (!any) {
        fprintf(stderr, "unknown shape '%s' (tiny, standard, wide)\n", x.shape);
        return 2;
    }
    bench_results_close();
    ag_shutdown();
    return 0;
}

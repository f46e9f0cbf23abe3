/* SPDX-License-Identifier: MIT */
/* mpi_ddp.c — the data-parallel module (autograd/ddp.h) under mpirun.
 *
 *     mpirun -np N mpi_ddp <case> [directory]
 *
 * Cases (each rank runs the same case; rank 0 also computes the
 * references, in one process, with the single-process API only —
 * ag_batches, ag_backward, ag_optim_step — never the module):
 *   equiv      N ranks with global batch B reach the parameters of one
 *              process with batch B: after k SGD (momentum) and Adam steps
 *              of an MLP, in f32 and f64, with and without the
 *              deterministic mode. Two references: training on the whole
 *              batch (mean loss), to rounding; and one process summing the
 *              shards' gradients in rank order, bit for bit in the
 *              deterministic mode. The shards laid end to end are the
 *              global batch.
 *   uneven     the same with 10 rows, B = 4 (batches 4, 4, 2: with 3 ranks
 *              one rank has no row in the last batch and still joins), and
 *              B = 2 (with 3 ranks, rank 0 never has a row).
 *   broadcast  ranks start from different weights and Adam states; after
 *              ag_ddp_new every rank holds rank 0's values, moments, step
 *              count and rate; a rank with another model makes every rank
 *              fail with a message.
 *   checkpoint rank 0 writes, every rank reads; a rank that cannot read
 *              makes every rank fail with its message.
 *   fail_shape the last rank feeds a batch of the wrong width at step 2;
 *   fail_nan   the last rank's loss is NaN at step 2;
 *   fail_file  rank 0 cannot write its checkpoint:
 *              every rank must print the message and exit with status 1
 *              (run_mpi.py checks the output, the status and the time).
 *   hang       rank 0 waits in a barrier the others never join: the
 *              harness must report a hang and kill every rank (a test
 *              expected to fail).
 * Exit status 0 when every check passed; a failed check prints and calls
 * MPI_Abort, so no rank waits for one that gave up. */
#include <autograd/autograd.h>
#include <autograd/ddp.h>
#include <autograd/models.h>

#include <mpi.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, world;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", rank, __FILE__, __LINE__,      \
                    #cond);                                                                       \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fprintf(stderr, " (last error: %s)\n", ag_last_error());                              \
            MPI_Abort(MPI_COMM_WORLD, 2);                                                         \
        }                                                                                         \
    } while (0)

/* ---- data and model ----------------------------------------------- */

/* n rows of d features in [-1, 1), labels 0..2 from a fixed rule, made
 * from one seed so every rank has the same set. */
static ag_dataset make_data(int64_t n, int64_t d, ag_dtype dt)
{
    ag_rng rng;
    ag_rng_seed(&rng, 1234);
    ag_dataset ds = {0};
    ds.X = ag_rand_uniform(dt, 2, (int64_t[]){n, d}, -1, 1, &rng);
    ds.y = ag_zeros(AG_I64, 1, (int64_t[]){n});
    CHECK(ds.X && ds.y, "data");
    int64_t *y = ag_data(ds.y);
    for (int64_t i = 0; i < n; i++) {
        double s = ag_get_flat(ds.X, (size_t)(i * d)) + ag_get_flat(ds.X, (size_t)(i * d + 1));
        y[i] = s < -0.3 ? 0 : s < 0.3 ? 1 : 2;
    }
    ds.n = n;
    ds.d = d;
    ds.n_classes = 3;
    return ds;
}

static void free_data(ag_dataset *ds)
{
    ag_tensor_free(ds->X);
    ag_tensor_free(ds->y);
}

static ag_mlp *make_mlp(ag_dtype dt, uint64_t seed, int64_t hidden)
{
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    int64_t sizes[] = {6, hidden, 12, 3};
    ag_mlp *m = ag_mlp_new(4, sizes, AG_ACT_TANH, dt, &rng);
    CHECK(m, "mlp");
    return m;
}

static ag_optim *make_opt(ag_params *p, ag_optim_kind kind)
{
    ag_optim_config c = ag_optim_defaults(kind);
    if (kind == AG_SGD) {
        c.lr = 0.1;
        c.momentum = 0.9;
    } else {
        c.lr = 0.01;
    }
    ag_optim *o = ag_optim_new(p, &c);
    CHECK(o, "optim");
    return o;
}

/* Every float value of a store, in order, as doubles (f32 values convert
 * exactly). Caller frees. */
static double *flatten(const ag_params *p, size_t *n)
{
    *n = ag_params_numel(p);
    double *v = malloc(*n * sizeof *v);
    CHECK(v, "malloc");
    size_t k = 0;
    for (size_t i = 0; i < ag_params_count(p); i++) {
        ag_tensor *t = ag_params_at(p, i, NULL);
        for (size_t j = 0; j < ag_numel(t); j++)
            v[k++] = ag_get_flat(t, j);
    }
    return v;
}

/* Every rank's store equals rank 0's, bit for bit. */
static void check_same_on_all_ranks(const ag_params *p, const char *what)
{
    size_t n;
    double *mine = flatten(p, &n);
    double *root = malloc(n * sizeof *root);
    CHECK(root, "malloc");
    memcpy(root, mine, n * sizeof *root);
    MPI_Bcast(root, (int)n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    for (size_t i = 0; i < n; i++)
        CHECK(memcmp(&mine[i], &root[i], sizeof(double)) == 0,
              "%s: value %zu is %.17g here, %.17g on rank 0", what, i, mine[i], root[i]);
    free(mine);
    free(root);
}

/* ---- the data-parallel run ----------------------------------------- */

typedef struct run_config {
    ag_dtype dt;
    ag_optim_kind kind;
    bool deterministic;
    int64_t n, batch;
    int epochs;
    size_t bucket_bytes;
} run_config;

/* Trains with the module; returns the model (rank 0's values on every
 * rank). Each rank starts from weights of its own seed: the handle must
 * replace them with rank 0's. Also checks that the ranks' shards, laid end
 * to end in rank order, are ag_batches' global batch. */
static ag_mlp *run_ddp(const run_config *c, ag_dataset *ds)
{
    ag_mlp *m = make_mlp(c->dt, 100 + (uint64_t)rank, 10);
    ag_optim *o = make_opt(m->params, c->kind);
    ag_ddp_options opts = ag_ddp_defaults();
    opts.deterministic = c->deterministic;
    if (c->bucket_bytes)
        opts.bucket_bytes = c->bucket_bytes;
    ag_ddp *ddp = ag_ddp_new(m->params, o, &opts);
    CHECK(ddp, "ddp_new");
    ag_ddp_batches *b = ag_ddp_batches_new(ds, c->batch, true, 77, rank, world);
    ag_batches *ref = rank == 0 ? ag_batches_new(ds, c->batch, true, 77) : NULL;
    CHECK(b && (rank != 0 || ref), "batches");
    size_t row = (size_t)ds->d * ag_dtype_size(c->dt);
    int idle_steps = 0;
    for (int e = 0; e < c->epochs; e++) {
        ag_tensor *X, *y;
        int64_t n_global;
        while (ag_ddp_batches_next(b, &X, &y, &n_global)) {
            int64_t n_local = ag_dim(X, 0);
            /* The shards in rank order make the global batch. */
            int counts[64], displs[64];
            int mine = (int)(n_local * (int64_t)row);
            MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
            unsigned char *all = rank == 0 ? malloc((size_t)n_global * row + 1) : NULL;
            if (rank == 0) {
                displs[0] = 0;
                for (int r = 1; r < world; r++)
                    displs[r] = displs[r - 1] + counts[r - 1];
            }
            MPI_Gatherv(ag_data_const(X), mine, MPI_BYTE, all, counts, displs, MPI_BYTE, 0,
                        MPI_COMM_WORLD);
            if (rank == 0) {
                ag_tensor *gX;
                CHECK(ag_batches_next(ref, &gX, NULL, NULL), "reference batches ended early");
                CHECK(ag_dim(gX, 0) == n_global, "global batch %lld, ag_batches' %lld",
                      (long long)n_global, (long long)ag_dim(gX, 0));
                CHECK(memcmp(all, ag_data_const(gX), (size_t)n_global * row) == 0,
                      "the shards are not the global batch");
                free(all);
            }
            ag_optim_zero_grad(o);
            /* A rank without rows skips its sweep; it still joins the step. */
            idle_steps += n_local == 0;
            if (n_local > 0) {
                ag_tensor *loss = ag_mul_scalar(
                    ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_SUM), 1.0 / (double)n_global);
                ag_ddp_backward(ddp, loss);
            }
            CHECK(ag_ddp_step(ddp), "ddp_step");
            ag_tape_reset(NULL);
        }
        if (rank == 0)
            CHECK(!ag_batches_next(ref, NULL, NULL, NULL), "reference batches go on");
    }
    check_same_on_all_ranks(m->params, "parameters after training");
    check_same_on_all_ranks(ag_optim_state(o), "optimizer state after training");
    ag_ddp_stats st;
    CHECK(ag_ddp_stats_get(ddp, &st), "stats");
    CHECK(st.steps == (uint64_t)(c->epochs * ag_ddp_batches_count(b)), "steps %llu",
          (unsigned long long)st.steps);
    CHECK(st.bytes_per_step == ag_params_numel(m->params) * ag_dtype_size(c->dt), "bytes %zu",
          st.bytes_per_step);
    /* Every bucket of a step with a sweep starts inside the sweep (the
     * hook fills it); only an idle rank's start in the wait. */
    if (idle_steps == 0)
        CHECK(st.started_in_backward == st.buckets_reduced && st.buckets_reduced >= st.steps,
              "%llu of %llu buckets started in the sweep",
              (unsigned long long)st.started_in_backward, (unsigned long long)st.buckets_reduced);
    ag_batches_free(ref);
    ag_ddp_batches_free(b);
    ag_ddp_free(ddp);
    ag_optim_free(o);
    return m;
}

/* One process: the whole global batch, mean loss. */
static ag_mlp *run_whole(const run_config *c, ag_dataset *ds)
{
    ag_mlp *m = make_mlp(c->dt, 100, 10);
    ag_optim *o = make_opt(m->params, c->kind);
    ag_batches *b = ag_batches_new(ds, c->batch, true, 77);
    for (int e = 0; e < c->epochs; e++) {
        ag_tensor *X, *y;
        while (ag_batches_next(b, &X, &y, NULL)) {
            ag_optim_zero_grad(o);
            CHECK(ag_backward(ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN)),
                  "backward");
            CHECK(ag_optim_step(o), "step");
            ag_tape_reset(NULL);
        }
    }
    ag_batches_free(b);
    ag_optim_free(o);
    return m;
}

/* acc += (or =, when first) every parameter's gradient, in the dtype's
 * own arithmetic. */
static void add_grads(ag_params *p, ag_params *acc, bool first)
{
    for (size_t i = 0; i < ag_params_count(p); i++) {
        ag_tensor *g = ag_grad_of(ag_params_at(p, i, NULL));
        ag_tensor *a = ag_params_at(acc, i, NULL);
        CHECK(g, "no gradient");
        size_t n = ag_numel(a);
        if (ag_tensor_dtype(a) == AG_F32) {
            float *d = ag_data(a);
            const float *s = ag_data_const(g);
            for (size_t k = 0; k < n; k++)
                d[k] = first ? s[k] : d[k] + s[k];
        } else {
            double *d = ag_data(a);
            const double *s = ag_data_const(g);
            for (size_t k = 0; k < n; k++)
                d[k] = first ? s[k] : d[k] + s[k];
        }
    }
}

/* One process summing the shards' gradients in rank order: shard r of a
 * batch of m rows is rows [r m / N, (r + 1) m / N) (the rule ddp.h
 * documents), its loss the sum over its rows times 1 / m; each shard's
 * gradient is computed on its own (zeroed first: the backward pass would
 * otherwise fuse the addition into its matrix products, in another order)
 * and added to the shards' before it, rank 0's first. */
static ag_mlp *run_shards(const run_config *c, ag_dataset *ds)
{
    ag_mlp *m = make_mlp(c->dt, 100, 10);
    ag_optim *o = make_opt(m->params, c->kind);
    ag_batches *b = ag_batches_new(ds, c->batch, true, 77);
    size_t es = ag_dtype_size(c->dt);
    ag_params *acc = ag_params_clone(m->params);
    CHECK(acc, "clone");
    for (int e = 0; e < c->epochs; e++) {
        ag_tensor *X, *y;
        while (ag_batches_next(b, &X, &y, NULL)) {
            int64_t mrows = ag_dim(X, 0);
            bool first = true;
            for (int r = 0; r < world; r++) {
                int64_t lo = r * mrows / world, hi = (r + 1) * mrows / world;
                if (hi == lo)
                    continue;
                ag_tensor *Xs = ag_from_array(c->dt, 2, (int64_t[]){hi - lo, ds->d},
                                              (const char *)ag_data_const(X) +
                                                  (size_t)(lo * ds->d) * es);
                ag_tensor *ys = ag_from_array(AG_I64, 1, (int64_t[]){hi - lo},
                                              (const int64_t *)ag_data_const(y) + lo);
                ag_tensor *loss = ag_mul_scalar(
                    ag_cross_entropy(ag_mlp_forward(m, Xs), ys, AG_REDUCE_SUM), 1.0 / (double)mrows);
                ag_optim_zero_grad(o);
                CHECK(ag_backward(loss), "backward");
                add_grads(m->params, acc, first);
                first = false;
                ag_tensor_free(Xs);
                ag_tensor_free(ys);
            }
            for (size_t i = 0; i < ag_params_count(m->params); i++) {
                ag_tensor *g = ag_grad_of(ag_params_at(m->params, i, NULL));
                ag_tensor *a = ag_params_at(acc, i, NULL);
                memcpy(ag_data(g), ag_data_const(a), ag_numel(a) * es);
            }
            CHECK(ag_optim_step(o), "step");
            ag_tape_reset(NULL);
        }
    }
    ag_params_free(acc);
    ag_batches_free(b);
    ag_optim_free(o);
    return m;
}

static void compare(const ag_params *got, const ag_params *want, double rtol, double atol,
                    const char *what)
{
    size_t n, n2;
    double *g = flatten(got, &n), *w = flatten(want, &n2);
    CHECK(n == n2, "%s: sizes", what);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(g[i] - w[i]);
        if (rtol == 0 && atol == 0)
            CHECK(g[i] == w[i], "%s: value %zu: %.17g, expected exactly %.17g", what, i, g[i], w[i]);
        else
            CHECK(err <= atol + rtol * fabs(w[i]), "%s: value %zu: %.17g, expected %.17g", what, i,
                  g[i], w[i]);
        if (err > worst)
            worst = err;
    }
    printf("  %-58s %zu values, largest difference %.3g\n", what, n, worst);
    free(g);
    free(w);
}

static void equivalence(int64_t n, int64_t batch, int epochs)
{
    for (int di = 0; di < 2; di++) {
        ag_dtype dt = di == 0 ? AG_F64 : AG_F32;
        ag_dataset ds = make_data(n, 6, dt);
        for (int ki = 0; ki < 2; ki++) {
            ag_optim_kind kind = ki == 0 ? AG_SGD : AG_ADAM;
            for (int det = 0; det < 2; det++) {
                /* Small buckets, so that several are in flight. */
                run_config c = {dt, kind, det == 1, n, batch, epochs, det ? 0 : 256};
                ag_mlp *m = run_ddp(&c, &ds);
                if (rank == 0) {
                    char what[128];
                    ag_mlp *whole = run_whole(&c, &ds);
                    ag_mlp *shards = run_shards(&c, &ds);
                    snprintf(what, sizeof what, "%s %s %s vs whole batch", ag_dtype_str(dt),
                             kind == AG_SGD ? "SGD" : "Adam", det ? "deterministic" : "allreduce");
                    /* f64: rounding of sums in another order, carried
                     * through a few steps; f32: the same at f32's epsilon
                     * (Adam divides by sqrt(v), which keeps errors relative). */
                    if (dt == AG_F64)
                        compare(m->params, whole->params, 1e-10, 1e-12, what);
                    else
                        compare(m->params, whole->params, 1e-4, 1e-5, what);
                    snprintf(what, sizeof what, "%s %s %s vs shards summed in rank order",
                             ag_dtype_str(dt), kind == AG_SGD ? "SGD" : "Adam",
                             det ? "deterministic" : "allreduce");
                    if (det)
                        compare(m->params, shards->params, 0, 0, what);
                    else if (dt == AG_F64)
                        compare(m->params, shards->params, 1e-10, 1e-12, what);
                    else
                        compare(m->params, shards->params, 1e-4, 1e-5, what);
                    ag_mlp_free(whole);
                    ag_mlp_free(shards);
                }
                ag_mlp_free(m);
            }
        }
        free_data(&ds);
    }
}

/* ---- broadcast ------------------------------------------------------- */

static void broadcast(void)
{
    ag_dataset ds = make_data(16, 6, AG_F64);
    ag_mlp *m = make_mlp(AG_F64, 500 + (uint64_t)rank, 10);
    ag_optim *o = make_opt(m->params, AG_ADAM);
    /* Rank-local steps, a different number per rank, so that weights,
     * moments and step counts all differ before the broadcast. */
    ag_batches *b = ag_batches_new(&ds, 4, true, (uint64_t)rank);
    ag_tensor *X, *y;
    for (int s = 0; s <= rank && ag_batches_next(b, &X, &y, NULL); s++) {
        ag_optim_zero_grad(o);
        CHECK(ag_backward(ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_MEAN)), "bw");
        CHECK(ag_optim_step(o), "step");
        ag_tape_reset(NULL);
    }
    ag_optim_set_lr(o, 0.01 * (rank + 1));
    /* Rank 0's values, taken before: what every rank must hold after. */
    size_t np, ns;
    double *p0 = flatten(m->params, &np), *s0 = flatten(ag_optim_state(o), &ns);
    MPI_Bcast(p0, (int)np, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    MPI_Bcast(s0, (int)ns, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    uint64_t steps0 = ag_optim_steps(o);
    MPI_Bcast(&steps0, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    CHECK(steps0 == 1, "rank 0 took %llu steps", (unsigned long long)steps0);
    int differs = 0;
    {
        size_t n;
        double *p = flatten(m->params, &n);
        differs = rank != 0 && memcmp(p, p0, n * sizeof *p) != 0;
        free(p);
    }
    int any = 0;
    MPI_Allreduce(&differs, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    CHECK(any || world == 1, "the ranks' weights were equal before the broadcast");
    ag_ddp *ddp = ag_ddp_new(m->params, o, NULL);
    CHECK(ddp, "ddp_new");
    size_t n;
    double *p = flatten(m->params, &n), *s = flatten(ag_optim_state(o), &n);
    for (size_t i = 0; i < np; i++)
        CHECK(p[i] == p0[i], "parameter value %zu: %.17g, rank 0 had %.17g", i, p[i], p0[i]);
    for (size_t i = 0; i < ns; i++)
        CHECK(s[i] == s0[i], "Adam state value %zu: %.17g, rank 0 had %.17g", i, s[i], s0[i]);
    CHECK(ag_optim_steps(o) == steps0, "steps %llu", (unsigned long long)ag_optim_steps(o));
    CHECK(ag_optim_lr(o) == 0.01, "lr %.17g", ag_optim_lr(o));
    if (rank == 0)
        printf("  broadcast: %zu parameter and %zu Adam state values, step count %llu and rate "
               "equal to rank 0's on %d ranks\n", np, ns, (unsigned long long)steps0, world);
    free(p);
    free(s);
    free(p0);
    free(s0);
    ag_ddp_free(ddp);
    ag_optim_free(o);
    ag_mlp_free(m);
    /* Another model on the last rank: every rank refuses, with the reason. */
    ag_mlp *odd = make_mlp(AG_F64, 1, rank == world - 1 && world > 1 ? 9 : 10);
    ag_error_clear();
    ddp = ag_ddp_new(odd->params, NULL, NULL);
    if (world > 1) {
        CHECK(!ddp, "ddp_new accepted different models");
        CHECK(ag_last_status() == AG_ERR_VALUE && strstr(ag_last_error(), "differ"),
              "message: %s", ag_last_error());
        if (rank == 0)
            printf("  different models: every rank reports \"%s\"\n", ag_last_error());
    }
    ag_ddp_free(ddp);
    ag_mlp_free(odd);
    ag_batches_free(b);
    free_data(&ds);
}

/* ---- NULL arguments: an error, never a crash (as tests/check-null.c
 * does for the other headers, which cannot hold these MPI-only rows) ---- */

#define EXPECT_NULL_ERR(call)                                                                     \
    do {                                                                                          \
        ag_error_clear();                                                                         \
        CHECK(!(call), "%s succeeded", #call);                                                    \
        CHECK(ag_last_status() == AG_ERR_NULL, "%s: status %s", #call,                            \
              ag_status_str(ag_last_status()));                                                   \
    } while (0)

static void null_arguments(void)
{
    ag_dataset ds = make_data(8, 6, AG_F64);
    ag_mlp *m = make_mlp(AG_F64, 1, 10);
    ag_ddp *ddp = ag_ddp_new(m->params, NULL, NULL); /* opts and opt may be NULL */
    CHECK(ddp, "ddp_new with NULL opt and opts");
    ag_ddp_stats st;
    int64_t n;
    EXPECT_NULL_ERR(ag_ddp_new(NULL, NULL, NULL)); /* on every rank: collective */
    /* NULL on one rank only: the others fail too, none waits. */
    ag_error_clear();
    ag_ddp *half = ag_ddp_new(rank == world - 1 ? NULL : m->params, NULL, NULL);
    CHECK(!half && ag_last_status() == (rank == world - 1 || world == 1 ? AG_ERR_NULL : AG_ERR_STATE),
          "ddp_new with one NULL store: %s", ag_last_error());
    EXPECT_NULL_ERR(ag_ddp_broadcast(NULL));
    EXPECT_NULL_ERR(ag_ddp_backward(NULL, NULL));
    EXPECT_NULL_ERR(ag_ddp_wait(NULL));
    EXPECT_NULL_ERR(ag_ddp_step(NULL));
    EXPECT_NULL_ERR(ag_ddp_fail(NULL, "x"));
    EXPECT_NULL_ERR(ag_ddp_agree(NULL, true));
    EXPECT_NULL_ERR(ag_ddp_save(NULL, "x"));
    EXPECT_NULL_ERR(ag_ddp_load(NULL, "x"));
    EXPECT_NULL_ERR(ag_ddp_sum(NULL, NULL, 0));
    EXPECT_NULL_ERR(ag_ddp_sum(ddp, NULL, 1));
    double v[2] = {1.0 + rank, 0.5};
    CHECK(ag_ddp_sum(ddp, v, 2) && v[0] == world * (world + 1) / 2.0 && v[1] == 0.5 * world,
          "sum: %g %g", v[0], v[1]);
    EXPECT_NULL_ERR(ag_ddp_stats_get(NULL, &st));
    EXPECT_NULL_ERR(ag_ddp_stats_get(ddp, NULL));
    EXPECT_NULL_ERR(ag_ddp_batches_new(NULL, 2, true, 1, 0, 1));
    EXPECT_NULL_ERR(ag_ddp_batches_next(NULL, NULL, NULL, NULL));
    EXPECT_NULL_ERR(ag_ddp_batches_indices(NULL, &n));
    EXPECT_NULL_ERR(ag_ddp_batches_count(NULL));
    ag_ddp_free(NULL);
    ag_ddp_batches_free(NULL);
    /* Collective ones with a NULL path: every rank fails alike. */
    ag_error_clear();
    CHECK(!ag_ddp_save(ddp, NULL) && ag_last_status() == AG_ERR_NULL, "save(NULL path)");
    ag_error_clear();
    CHECK(!ag_ddp_load(ddp, NULL) && ag_last_status() == AG_ERR_NULL, "load(NULL path)");
    /* A NULL what: the rank's failure is still reported, as AG_ERR_STATE. */
    ag_error_clear();
    CHECK(ag_ddp_fail(ddp, NULL), "fail(NULL what)");
    CHECK(!ag_ddp_wait(ddp) && ag_last_status() == AG_ERR_STATE, "wait after fail");
    ag_error_clear();
    /* Optional outputs of the iterator may be NULL. */
    ag_ddp_batches *b = ag_ddp_batches_new(&ds, 4, false, 1, rank, world);
    CHECK(b && ag_ddp_batches_next(b, NULL, NULL, NULL), "next with NULL outputs");
    CHECK(ag_ddp_batches_indices(b, NULL) != NULL, "indices with NULL n");
    /* Bad values. */
    ag_error_clear();
    CHECK(!ag_ddp_batches_new(&ds, 0, true, 1, 0, 1) && ag_last_status() == AG_ERR_VALUE, "B 0");
    ag_error_clear();
    CHECK(!ag_ddp_batches_new(&ds, 2, true, 1, 3, 3) && ag_last_status() == AG_ERR_VALUE,
          "rank 3 of 3");
    ag_error_clear();
    if (rank == 0)
        printf("  NULL arguments and bad values: errors, no crash\n");
    ag_ddp_batches_free(b);
    ag_ddp_free(ddp);
    ag_mlp_free(m);
    free_data(&ds);
}

/* ---- checkpoints ----------------------------------------------------- */

static void checkpoint(const char *dir)
{
    ag_dataset ds = make_data(24, 6, AG_F64);
    run_config c = {AG_F64, AG_ADAM, false, 24, 8, 1, 0};
    ag_mlp *m = make_mlp(AG_F64, 100 + (uint64_t)rank, 10);
    ag_optim *o = make_opt(m->params, AG_ADAM);
    ag_ddp *ddp = ag_ddp_new(m->params, o, NULL);
    CHECK(ddp, "ddp_new");
    ag_ddp_batches *b = ag_ddp_batches_new(&ds, c.batch, true, 5, rank, world);
    ag_tensor *X, *y;
    int64_t ng;
    while (ag_ddp_batches_next(b, &X, &y, &ng)) {
        ag_optim_zero_grad(o);
        if (ag_dim(X, 0) > 0)
            ag_ddp_backward(ddp, ag_mul_scalar(ag_cross_entropy(ag_mlp_forward(m, X), y,
                                                                AG_REDUCE_SUM), 1.0 / (double)ng));
        CHECK(ag_ddp_step(ddp), "step");
        ag_tape_reset(NULL);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/ddp_ckpt_%d.safetensors", dir, world);
    CHECK(ag_ddp_save(ddp, path), "save");
    size_t np;
    double *saved = flatten(m->params, &np);
    uint64_t steps = ag_optim_steps(o);
    /* Rank 0 wrote it: a plain single-process load gives these values. */
    if (rank == 0) {
        ag_mlp *fresh = make_mlp(AG_F64, 9, 10);
        ag_optim *fo = make_opt(fresh->params, AG_ADAM);
        CHECK(ag_checkpoint_load(path, fresh->params, fo), "single-process load");
        compare(fresh->params, m->params, 0, 0, "checkpoint read back by one process");
        CHECK(ag_optim_steps(fo) == steps, "steps");
        ag_optim_free(fo);
        ag_mlp_free(fresh);
    }
    /* Every rank moves away, then reads it back. */
    for (size_t i = 0; i < ag_params_count(m->params); i++) {
        ag_tensor *t = ag_params_at(m->params, i, NULL);
        for (size_t k = 0; k < ag_numel(t); k++)
            ag_set_flat(t, k, 42.0 + rank);
    }
    ag_optim_set_steps(o, 1000);
    CHECK(ag_ddp_load(ddp, path), "load");
    size_t n2;
    double *back = flatten(m->params, &n2);
    for (size_t i = 0; i < np; i++)
        CHECK(back[i] == saved[i], "loaded value %zu", i);
    CHECK(ag_optim_steps(o) == steps, "steps after load");
    free(back);
    free(saved);
    if (rank == 0)
        printf("  checkpoint: saved by rank 0, loaded on %d ranks, %zu values and %llu steps\n",
               world, np, (unsigned long long)steps);
    /* The last rank reads a file that is not there: all fail, with its
     * message. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/ddp_missing_%d.safetensors", dir, rank);
    if (world > 1) {
        CHECK(!ag_ddp_load(ddp, rank == world - 1 ? missing : path), "load of a missing file");
        char want[64];
        snprintf(want, sizeof want, "rank %d of %d", world - 1, world);
        CHECK(strstr(ag_last_error(), want) && strstr(ag_last_error(), "ddp_missing"),
              "message: %s", ag_last_error());
        if (rank == 0)
            printf("  a missing file on one rank: every rank reports \"%s\"\n", ag_last_error());
    }
    ag_ddp_batches_free(b);
    ag_ddp_free(ddp);
    ag_optim_free(o);
    ag_mlp_free(m);
    free_data(&ds);
}

/* ---- failures: every rank must exit 1 with the message --------------- */

static int failing(const char *how, const char *dir)
{
    ag_dataset ds = make_data(32, 6, AG_F64);
    ag_mlp *m = make_mlp(AG_F64, 3, 10);
    ag_optim *o = make_opt(m->params, AG_SGD);
    ag_ddp *ddp = ag_ddp_new(m->params, o, NULL);
    CHECK(ddp, "ddp_new");
    ag_ddp_batches *b = ag_ddp_batches_new(&ds, 8, true, 5, rank, world);
    ag_tensor *wide = ag_zeros(AG_F64, 2, (int64_t[]){2, 7});
    ag_tensor *X, *y;
    int64_t ng;
    int status = 0;
    for (int step = 0; ag_ddp_batches_next(b, &X, &y, &ng); step++) {
        ag_optim_zero_grad(o);
        bool culprit = rank == world - 1 && step == 2;
        if (culprit && strcmp(how, "fail_shape") == 0)
            X = wide; /* (2, 7) into a layer of 6 inputs */
        ag_tensor *loss = ag_mul_scalar(ag_cross_entropy(ag_mlp_forward(m, X), y, AG_REDUCE_SUM),
                                        1.0 / (double)ng);
        if (culprit && strcmp(how, "fail_nan") == 0)
            loss = ag_mul_scalar(loss, NAN);
        ag_ddp_backward(ddp, loss);
        if (!ag_ddp_step(ddp)) {
            fprintf(stderr, "rank %d: step %d: %s\n", rank, step, ag_last_error());
            status = 1;
            break;
        }
        if (strcmp(how, "fail_file") == 0 && step == 1) {
            char path[600];
            snprintf(path, sizeof path, "%s/no/such/folder/ckpt.safetensors", dir);
            if (!ag_ddp_save(ddp, path)) {
                fprintf(stderr, "rank %d: save: %s\n", rank, ag_last_error());
                status = 1;
                break;
            }
        }
        ag_tape_reset(NULL);
    }
    ag_tape_reset(NULL);
    ag_tensor_free(wide);
    ag_ddp_batches_free(b);
    ag_ddp_free(ddp);
    ag_optim_free(o);
    ag_mlp_free(m);
    free_data(&ds);
    return status;
}

int main(int argc, char **argv)
{
    if (!ag_ddp_init(&argc, &argv)) {
        fprintf(stderr, "%s\n", ag_last_error());
        return 1;
    }
    rank = ag_ddp_rank();
    world = ag_ddp_world_size();
    const char *which = argc > 1 ? argv[1] : "equiv";
    const char *dir = argc > 2 ? argv[2] : ".";
    if (world > 64) {
        fprintf(stderr, "at most 64 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int status = 0;
    if (rank == 0)
        printf("%s on %d ranks\n", which, world);
    if (strcmp(which, "equiv") == 0)
        equivalence(40, 12, 2);
    else if (strcmp(which, "uneven") == 0) {
        equivalence(10, 4, 2);
        /* Batches of 2 on 3 ranks: rank 0 never has a row, so its
         * gradients are made by the wait from the others' sums. */
        equivalence(10, 2, 1);
    }
    else if (strcmp(which, "broadcast") == 0) {
        broadcast();
        null_arguments();
    }
    else if (strcmp(which, "checkpoint") == 0)
        checkpoint(dir);
    else if (strcmp(which, "hang") == 0) {
        /* The harness's own check: rank 0 waits for a collective the
         * others never join; run_mpi.py must call it a hang and kill it. */
        if (rank == 0)
            MPI_Barrier(MPI_COMM_WORLD);
        else
            for (;;)
                sleep(1);
    } else if (strncmp(which, "fail_", 5) == 0)
        status = failing(which, dir);
    else
        CHECK(false, "unknown case %s", which);
    ag_shutdown();
    ag_ddp_finalize();
    return status;
}

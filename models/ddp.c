/* SPDX-License-Identifier: MIT */
/* ddp.c — data-parallel training over MPI (autograd/ddp.h), as PyTorch's
 * DistributedDataParallel: the same model on every rank, the gradients
 * summed over the ranks in buckets while the backward sweep is still
 * running, and every error made everyone's.
 *
 * Buckets. The float parameters that require grad are packed into buckets
 * of one dtype and about bucket_bytes each. The engine's grad-ready hook
 * (ag_set_grad_ready_hook) copies a gradient into its bucket the moment it
 * is final; a full bucket starts its reduction with a non-blocking
 * collective. MPI requires every rank to start collectives in the same
 * order, and ranks may see gradients become final in different orders (a
 * rank with no rows skips the sweep), so buckets start strictly in bucket
 * order: bucket k starts once it is full and buckets 0..k-1 have started.
 * The first grouping is the store's reverse order (an MLP's gradients
 * become final from the last layer down); after the first step every rank
 * regroups by the order rank 0 saw, as PyTorch rebuilds its buckets.
 *
 * Progress. Open MPI moves a non-blocking collective on only inside MPI
 * calls; each hook call tests the running requests, which is what lets
 * the sums travel while the sweep computes.
 *
 * Determinism. An allreduce sums in whatever tree the library picks; the
 * deterministic mode gathers every rank's bucket instead and adds them in
 * rank order, rank 0's first, as one process accumulating the shards'
 * gradients one after another does.
 *
 * Agreement. Each wait ends with an MPI_Allreduce of "the lowest failing
 * rank" and, when there is one, a broadcast of its status and message, so
 * a rank's failure is every rank's error at the same point. */
#include "models_internal.h"

#include <autograd/ddp.h>
#include <autograd/tools.h>

#include <mpi.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static bool we_initialized;

static bool mpi_up(const char *fn)
{
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (!up || down) {
        ag_error_set(AG_ERR_STATE, "%s: MPI is %s (call ag_ddp_init first)", fn,
                     down ? "finalized" : "not started");
        return false;
    }
    return true;
}

bool ag_ddp_init(int *argc, char ***argv)
{
    int up = 0, down = 0;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (down) {
        ag_error_set(AG_ERR_STATE, "ddp_init: MPI was finalized; it cannot be started again");
        return false;
    }
    if (up)
        return true;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) {
        ag_error_set(AG_ERR_STATE, "ddp_init: MPI_Init failed");
        return false;
    }
    we_initialized = true;
    return true;
}

bool ag_ddp_finalize(void)
{
    if (!mpi_up("ddp_finalize"))
        return false;
    if (we_initialized) {
        we_initialized = false;
        MPI_Finalize();
    }
    return true;
}

int ag_ddp_rank(void)
{
    if (!mpi_up("ddp_rank"))
        return -1;
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int ag_ddp_world_size(void)
{
    if (!mpi_up("ddp_world_size"))
        return 0;
    int n;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/* ------------------------------------------------------------------ */
/* The handle                                                          */
/* ------------------------------------------------------------------ */

typedef struct slot {
    ag_tensor *p;       /* borrowed, from the store */
    size_t numel;
    int bucket;
    size_t offset;      /* in elements, in its bucket */
    bool ready;         /* packed this step */
} slot;

typedef struct bucket {
    ag_dtype dtype;
    size_t numel;
    int pending;        /* slots not yet packed this step */
    void *buf;          /* numel elements: this rank's, then the sum */
    void *gather;       /* deterministic mode: world * numel elements */
    MPI_Request req;
    bool started;
} bucket;

#define MSG_SIZE 480

struct ag_ddp {
    MPI_Comm comm;
    int rank, world;
    ag_params *params;     /* borrowed */
    ag_optim *opt;         /* borrowed, may be NULL */
    ag_ddp_options o;
    slot *slots;
    size_t n_slots;
    size_t hash_mask;      /* leaf address -> slot + 1 (0: empty) */
    ag_tensor **hash_key;
    size_t *hash_val;
    bucket *buckets;
    int n_buckets, next_start, started_in_backward;
    bool in_step;          /* a backward ran since the last wait */
    bool regrouped;        /* buckets follow rank 0's observed order */
    bool broken;           /* regrouping failed on some rank: every call fails */
    size_t *seen;          /* slots in the order they became final this step */
    size_t n_seen;
    ag_status fail_status; /* AG_OK, or this rank's failure since the last wait */
    char fail_msg[MSG_SIZE];
    ag_ddp_stats stats;
};

static MPI_Datatype mpi_type(ag_dtype dt)
{
    return dt == AG_F32 ? MPI_FLOAT : MPI_DOUBLE;
}

static void note_failure(ag_ddp *d, ag_status s, const char *msg)
{
    if (d->fail_status != AG_OK)
        return; /* the first failure of a step is the one reported */
    d->fail_status = s != AG_OK ? s : AG_ERR_STATE;
    snprintf(d->fail_msg, sizeof d->fail_msg, "%s", msg && msg[0] ? msg : "failed");
}

/* The agreement collective: the lowest rank with a failure sends its
 * status and message; every rank returns the same verdict. */
typedef struct verdict {
    int status;
    char msg[MSG_SIZE];
} verdict;

static bool agree(ag_ddp *d, ag_status mine, const char *msg)
{
    int me = mine == AG_OK ? d->world : d->rank, first = d->world;
    MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, d->comm);
    if (first == d->world)
        return true;
    verdict v = {0};
    if (d->rank == first) {
        v.status = (int)mine;
        snprintf(v.msg, sizeof v.msg, "%s", msg && msg[0] ? msg : "failed");
    }
    MPI_Bcast(&v, (int)sizeof v, MPI_BYTE, first, d->comm);
    /* The agreed error replaces whatever this rank had pending (the
     * thread's slot keeps only a first error), the failing rank's own
     * included, so every rank reports the same words. */
    ag_error_clear();
    ag_error_set((ag_status)v.status, "ddp: rank %d of %d: %s", first, d->world, v.msg);
    return false;
}

bool ag_ddp_agree(ag_ddp *d, bool ok)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_agree: d is NULL");
        return false;
    }
    ag_status s = ok ? AG_OK : ag_last_status();
    return agree(d, ok ? AG_OK : (s != AG_OK ? s : AG_ERR_STATE),
                 ok ? NULL : (ag_last_error()[0] ? ag_last_error() : "failed"));
}

bool ag_ddp_fail(ag_ddp *d, const char *what)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_fail: d is NULL");
        return false;
    }
    if (ag_last_status() != AG_OK)
        note_failure(d, ag_last_status(), ag_last_error());
    else
        note_failure(d, AG_ERR_STATE, what ? what : "failed");
    return true;
}

ag_ddp_options ag_ddp_defaults(void)
{
    /* PyTorch's buckets are 25 MiB (the first 1 MiB), sized for models of
     * millions of parameters; the models here have 10^5 to 10^6, so 256 KiB
     * keeps a few buckets in flight behind the sweep. */
    return (ag_ddp_options){.bucket_bytes = (size_t)256 << 10, .deterministic = false,
                            .overlap = true};
}

static size_t hash_slot(const ag_ddp *d, const ag_tensor *p)
{
    size_t k = (size_t)(((uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL) >> 32) & d->hash_mask;
    while (d->hash_key[k] && d->hash_key[k] != p)
        k = (k + 1) & d->hash_mask;
    return k;
}

static void free_buckets(ag_ddp *d)
{
    for (int b = 0; b < d->n_buckets; b++) {
        ag_free(d->buckets[b].buf);
        ag_free(d->buckets[b].gather);
    }
    ag_free(d->buckets);
    d->buckets = NULL;
    d->n_buckets = 0;
}

/* Groups the slots, taken in `order`, into buckets. */
static bool make_buckets(ag_ddp *d, const size_t *order)
{
    free_buckets(d);
    d->buckets = ag_calloc(d->n_slots ? d->n_slots : 1, sizeof *d->buckets);
    if (!d->buckets)
        goto nomem;
    int nb = -1;
    size_t bytes = 0;
    for (size_t k = 0; k < d->n_slots; k++) {
        slot *s = &d->slots[order[k]];
        ag_dtype dt = ag_tensor_dtype(s->p);
        size_t sz = s->numel * ag_dtype_size(dt);
        /* A new bucket when the dtype changes or this parameter would take
         * the bucket past its size (a parameter larger than that is alone). */
        if (nb < 0 || d->buckets[nb].dtype != dt || (bytes > 0 && bytes + sz > d->o.bucket_bytes)) {
            nb++;
            d->buckets[nb].dtype = dt;
            bytes = 0;
        }
        s->bucket = nb;
        s->offset = d->buckets[nb].numel;
        d->buckets[nb].numel += s->numel;
        bytes += sz;
    }
    d->n_buckets = nb + 1;
    for (int b = 0; b < d->n_buckets; b++) {
        bucket *bk = &d->buckets[b];
        size_t sz = (bk->numel ? bk->numel : 1) * ag_dtype_size(bk->dtype);
        bk->buf = ag_malloc(sz);
        if (d->o.deterministic)
            bk->gather = ag_malloc(sz * (size_t)d->world);
        if (!bk->buf || (d->o.deterministic && !bk->gather))
            goto nomem;
        bk->req = MPI_REQUEST_NULL;
    }
    d->stats.n_buckets = d->n_buckets;
    return true;
nomem:
    free_buckets(d);
    ag_error_set(AG_ERR_NOMEM, "ddp: out of memory for the gradient buckets");
    return false;
}

static void reset_step(ag_ddp *d)
{
    if (d->broken)
        return;
    for (size_t i = 0; i < d->n_slots; i++)
        d->slots[i].ready = false;
    for (int b = 0; b < d->n_buckets; b++) {
        d->buckets[b].pending = 0;
        d->buckets[b].started = false;
        d->buckets[b].req = MPI_REQUEST_NULL;
    }
    for (size_t i = 0; i < d->n_slots; i++)
        d->buckets[d->slots[i].bucket].pending++;
    d->next_start = 0;
    d->n_seen = 0;
    d->in_step = false;
}

/* A fingerprint of the store's layout (names, dtypes, shapes, in order)
 * and of the optimizer state's, to refuse ranks whose models differ before
 * any collective is sized by them. FNV-1a. */
static void fnv(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= c[i];
        *h *= 1099511628211u;
    }
}

static void fingerprint_store(uint64_t *h, const ag_params *p)
{
    size_t n = ag_params_count(p);
    fnv(h, &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        ag_tensor *t = ag_params_at(p, i, &name);
        int nd = ag_ndim(t), dt = (int)ag_tensor_dtype(t);
        fnv(h, name, strlen(name) + 1);
        fnv(h, &dt, sizeof dt);
        fnv(h, &nd, sizeof nd);
        fnv(h, ag_shape(t), (size_t)nd * sizeof(int64_t));
    }
}

static bool same_layout(ag_ddp *d)
{
    uint64_t h = 14695981039346656037u;
    fingerprint_store(&h, d->params);
    if (d->opt)
        fingerprint_store(&h, ag_optim_state(d->opt));
    uint64_t lo = h, hi = h;
    MPI_Allreduce(&h, &lo, 1, MPI_UINT64_T, MPI_MIN, d->comm);
    MPI_Allreduce(&h, &hi, 1, MPI_UINT64_T, MPI_MAX, d->comm);
    if (lo != hi) {
        ag_error_set(AG_ERR_VALUE, "ddp: the ranks' parameters (or optimizer state) differ in "
                     "names, dtypes or shapes; build the same model on every rank");
        return false;
    }
    return true;
}

/* MPI counts are ints: large tensors go in pieces of at most 1 GiB. */
static void bcast_bytes(ag_ddp *d, void *p, size_t n)
{
    unsigned char *c = p;
    while (n > 0) {
        size_t k = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        MPI_Bcast(c, (int)k, MPI_BYTE, 0, d->comm);
        c += k;
        n -= k;
    }
}

static void bcast_store(ag_ddp *d, ag_params *p)
{
    size_t n = ag_params_count(p);
    for (size_t i = 0; i < n; i++) {
        ag_tensor *t = ag_params_at(p, i, NULL);
        size_t bytes = ag_numel(t) * ag_dtype_size(ag_tensor_dtype(t));
        if (bytes)
            bcast_bytes(d, ag_data(t), bytes);
    }
}

bool ag_ddp_broadcast(ag_ddp *d)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_broadcast: d is NULL");
        return false;
    }
    if (!same_layout(d))
        return false;
    bcast_store(d, d->params);
    if (d->opt) {
        bcast_store(d, ag_optim_state(d->opt));
        uint64_t steps = ag_optim_steps(d->opt);
        double lr = ag_optim_lr(d->opt);
        MPI_Bcast(&steps, 1, MPI_UINT64_T, 0, d->comm);
        MPI_Bcast(&lr, 1, MPI_DOUBLE, 0, d->comm);
        bool ok = ag_optim_set_steps(d->opt, steps) && ag_optim_set_lr(d->opt, lr);
        return ag_ddp_agree(d, ok);
    }
    return true;
}

void ag_ddp_free(ag_ddp *d)
{
    if (!d)
        return;
    for (int b = 0; b < d->n_buckets; b++)
        if (d->buckets[b].req != MPI_REQUEST_NULL)
            MPI_Wait(&d->buckets[b].req, MPI_STATUS_IGNORE);
    free_buckets(d);
    if (d->comm != MPI_COMM_NULL)
        MPI_Comm_free(&d->comm);
    ag_free(d->slots);
    ag_free(d->hash_key);
    ag_free(d->hash_val);
    ag_free(d->seen);
    ag_free(d);
}

ag_ddp *ag_ddp_new(ag_params *params, ag_optim *opt, const ag_ddp_options *opts)
{
    if (!mpi_up("ddp_new"))
        return NULL;
    /* Collective from here on, even for a NULL store or no memory on this
     * rank: the others must not wait for it. */
    ag_ddp *d = params ? ag_calloc(1, sizeof *d) : NULL;
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    bool ok = d != NULL;
    if (!params)
        ag_error_set(AG_ERR_NULL, "ddp_new: params is NULL");
    else if (!d)
        ag_error_set(AG_ERR_NOMEM, "ddp_new: out of memory");
    if (d) {
        d->comm = comm;
        MPI_Comm_rank(comm, &d->rank);
        MPI_Comm_size(comm, &d->world);
        d->params = params;
        d->opt = opt;
        d->o = opts ? *opts : ag_ddp_defaults();
        if (d->o.bucket_bytes == 0)
            d->o.bucket_bytes = 1;
    }
    /* Without a handle on some rank, agree() cannot run: a plain flag. */
    int bad = ok ? 0 : 1, any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, comm);
    if (any) {
        if (ok)
            ag_error_set(AG_ERR_STATE, "ddp_new: another rank could not make its handle (a "
                         "NULL store, or out of memory)");
        if (d)
            d->comm = MPI_COMM_NULL;
        MPI_Comm_free(&comm);
        ag_ddp_free(d);
        return NULL;
    }
    size_t n = ag_params_count(params);
    d->slots = ag_calloc(n ? n : 1, sizeof *d->slots);
    d->seen = ag_calloc(n ? n : 1, sizeof *d->seen);
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    d->hash_mask = cap - 1;
    d->hash_key = ag_calloc(cap, sizeof *d->hash_key);
    d->hash_val = ag_calloc(cap, sizeof *d->hash_val);
    size_t *order = ag_calloc(n ? n : 1, sizeof *order);
    ok = d->slots && d->seen && d->hash_key && d->hash_val && order;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "ddp_new: out of memory for %zu parameters", n);
    for (size_t i = 0; ok && i < n; i++) {
        ag_tensor *t = ag_params_at(params, i, NULL);
        ag_dtype dt = ag_tensor_dtype(t);
        if ((dt != AG_F32 && dt != AG_F64) || !ag_requires_grad(t))
            continue;
        d->slots[d->n_slots] = (slot){.p = t, .numel = ag_numel(t)};
        size_t k = hash_slot(d, t);
        d->hash_key[k] = t;
        d->hash_val[k] = d->n_slots + 1;
        d->n_slots++;
    }
    for (size_t k = 0; ok && k < d->n_slots; k++)
        order[k] = d->n_slots - 1 - k;
    ok = ok && make_buckets(d, order);
    ag_free(order);
    if (!ag_ddp_agree(d, ok) || !ag_ddp_broadcast(d)) {
        ag_ddp_free(d);
        return NULL;
    }
    reset_step(d);
    return d;
}

/* ------------------------------------------------------------------ */
/* A step                                                              */
/* ------------------------------------------------------------------ */

static void start_bucket(ag_ddp *d, bucket *bk)
{
    MPI_Datatype t = mpi_type(bk->dtype);
    int n = (int)bk->numel;
    if (d->o.deterministic)
        MPI_Iallgather(bk->buf, n, t, bk->gather, n, t, d->comm, &bk->req);
    else
        MPI_Iallreduce(MPI_IN_PLACE, bk->buf, n, t, MPI_SUM, d->comm, &bk->req);
    bk->started = true;
}

/* Starts every full bucket whose predecessors have started. */
static void start_ready(ag_ddp *d)
{
    while (d->next_start < d->n_buckets && d->buckets[d->next_start].pending == 0)
        start_bucket(d, &d->buckets[d->next_start++]);
}

/* Copies slot i's gradient (zeros when it has none) into its bucket;
 * from_hook: it became final in the sweep (the order regrouping follows). */
static void pack(ag_ddp *d, size_t i, bool from_hook)
{
    slot *s = &d->slots[i];
    bucket *bk = &d->buckets[s->bucket];
    size_t es = ag_dtype_size(bk->dtype);
    unsigned char *dst = (unsigned char *)bk->buf + s->offset * es;
    ag_tensor *g = ag_grad_of(s->p);
    if (g)
        memcpy(dst, ag_data_const(g), s->numel * es);
    else
        memset(dst, 0, s->numel * es);
    s->ready = true;
    bk->pending--;
    if (from_hook)
        d->seen[d->n_seen++] = i;
}

static void on_ready(void *ctx, ag_tensor *leaf)
{
    ag_ddp *d = ctx;
    size_t k = hash_slot(d, leaf);
    if (!d->hash_key[k])
        return; /* an input or a tensor outside the store */
    size_t i = d->hash_val[k] - 1;
    if (d->slots[i].ready)
        return;
    pack(d, i, true);
    if (!d->o.overlap)
        return;
    int before = d->next_start;
    start_ready(d);
    d->started_in_backward += d->next_start - before;
    /* Let MPI move the running reductions on while the sweep computes. */
    for (int b = 0; b < d->next_start; b++) {
        if (d->buckets[b].req != MPI_REQUEST_NULL) {
            int done = 0;
            MPI_Test(&d->buckets[b].req, &done, MPI_STATUS_IGNORE);
        }
    }
}

bool ag_ddp_backward(ag_ddp *d, ag_tensor *loss)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_backward: d is NULL");
        return false;
    }
    double t0 = MPI_Wtime();
    bool ok = false;
    if (d->broken) {
        ag_error_set(AG_ERR_STATE, "ddp_backward: the handle could not regroup its buckets");
    } else if (d->in_step) {
        ag_error_set(AG_ERR_STATE, "ddp_backward: a second backward before ag_ddp_wait (or "
                     "ag_ddp_step); one backward per step");
    } else if (!loss) {
        if (ag_last_status() == AG_OK)
            ag_error_set(AG_ERR_NULL, "ddp_backward: the loss is NULL");
    } else if (ag_numel(loss) == 1 && !isfinite(ag_item(loss))) {
        ag_error_set(AG_ERR_NUMERIC, "ddp_backward: the loss is %g", ag_item(loss));
    } else {
        d->in_step = true;
        ag_set_grad_ready_hook(on_ready, d);
        ok = ag_backward(loss);
        ag_set_grad_ready_hook(NULL, NULL);
    }
    d->in_step = true;
    if (!ok)
        note_failure(d, ag_last_status(), ag_last_error());
    d->stats.backward_seconds += MPI_Wtime() - t0;
    return ok;
}

/* A parameter that had no gradient gets one: the backward pass of
 * sum(p * g) gives p exactly g. Only for parameters no gradient reached on
 * this rank (unused, or a rank with no rows), never in a usual step. */
static bool give_grad(ag_tensor *p, const void *values)
{
    ag_tensor *g = ag_from_array(ag_tensor_dtype(p), ag_ndim(p), ag_shape(p), values);
    if (!g)
        return false;
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true);
    ag_tensor *s = ag_sum(ag_mul(p, g));
    bool ok = s && ag_backward(s);
    ag_grad_mode_set(mode);
    ag_tensor_free(g);
    return ok;
}

/* The sum of the ranks' buckets, in rank order (deterministic mode). */
static void sum_in_rank_order(ag_ddp *d, bucket *bk)
{
    size_t n = bk->numel;
    if (bk->dtype == AG_F32) {
        float *out = bk->buf;
        const float *in = bk->gather;
        memcpy(out, in, n * sizeof *out);
        for (int r = 1; r < d->world; r++)
            for (size_t k = 0; k < n; k++)
                out[k] += in[(size_t)r * n + k];
    } else {
        double *out = bk->buf;
        const double *in = bk->gather;
        memcpy(out, in, n * sizeof *out);
        for (int r = 1; r < d->world; r++)
            for (size_t k = 0; k < n; k++)
                out[k] += in[(size_t)r * n + k];
    }
}

/* After the first step, buckets follow the order rank 0 saw gradients
 * become final (parameters it never saw go last, in store order reversed).
 * Rank 0's order is broadcast so that every rank groups alike. */
static bool regroup(ag_ddp *d)
{
    size_t n = d->n_slots;
    if (n == 0)
        return true;
    uint64_t *wire = ag_malloc(n * sizeof *wire);
    size_t *order = ag_malloc(n * sizeof *order);
    unsigned char *taken = ag_calloc(n, 1);
    bool ok = wire && order && taken;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "ddp: out of memory regrouping the buckets");
    if (ag_ddp_agree(d, ok)) {
        if (d->rank == 0) {
            size_t m = 0;
            for (size_t k = 0; k < d->n_seen; k++)
                if (!taken[d->seen[k]]) {
                    taken[d->seen[k]] = 1;
                    wire[m++] = d->seen[k];
                }
            for (size_t k = n; k-- > 0;)
                if (!taken[k])
                    wire[m++] = k;
        }
        MPI_Bcast(wire, (int)n, MPI_UINT64_T, 0, d->comm);
        for (size_t k = 0; k < n; k++)
            order[k] = (size_t)wire[k];
        ok = ag_ddp_agree(d, make_buckets(d, order));
    } else {
        ok = false;
    }
    ag_free(wire);
    ag_free(order);
    ag_free(taken);
    return ok;
}

bool ag_ddp_wait(ag_ddp *d)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_wait: d is NULL");
        return false;
    }
    if (d->broken) {
        ag_error_set(AG_ERR_STATE, "ddp_wait: the handle could not regroup its buckets (out "
                     "of memory on some rank); make a new one");
        return false;
    }
    double t0 = MPI_Wtime();
    for (size_t i = 0; i < d->n_slots; i++)
        if (!d->slots[i].ready)
            pack(d, i, false);
    start_ready(d);
    for (int b = 0; b < d->n_buckets; b++)
        MPI_Wait(&d->buckets[b].req, MPI_STATUS_IGNORE);
    d->stats.wait_seconds += MPI_Wtime() - t0;
    bool ok = true;
    for (int b = 0; b < d->n_buckets; b++)
        if (d->o.deterministic)
            sum_in_rank_order(d, &d->buckets[b]);
    for (size_t i = 0; ok && i < d->n_slots; i++) {
        slot *s = &d->slots[i];
        bucket *bk = &d->buckets[s->bucket];
        size_t es = ag_dtype_size(bk->dtype);
        const unsigned char *src = (const unsigned char *)bk->buf + s->offset * es;
        ag_tensor *g = ag_grad_of(s->p);
        if (g)
            memcpy(ag_data(g), src, s->numel * es);
        else
            ok = give_grad(s->p, src);
    }
    if (!ok)
        note_failure(d, ag_last_status(), ag_last_error());
    d->stats.steps++;
    d->stats.bytes_per_step = 0;
    for (int b = 0; b < d->n_buckets; b++)
        d->stats.bytes_per_step += d->buckets[b].numel * ag_dtype_size(d->buckets[b].dtype);
    d->stats.buckets_reduced += (uint64_t)d->n_buckets;
    d->stats.started_in_backward += (uint64_t)d->started_in_backward;
    d->started_in_backward = 0;
    ag_status s = d->fail_status;
    char msg[MSG_SIZE];
    snprintf(msg, sizeof msg, "%s", d->fail_msg);
    d->fail_status = AG_OK;
    d->fail_msg[0] = '\0';
    bool agreed = agree(d, s, msg);
    /* Regroup once, after the first step in which rank 0 saw gradients
     * become final (a wait without a sweep teaches nothing). */
    int first = 0;
    if (agreed && !d->regrouped) {
        first = d->rank == 0 && d->n_seen > 0;
        MPI_Bcast(&first, 1, MPI_INT, 0, d->comm);
    }
    if (first)
        d->regrouped = true;
    if (first && !regroup(d)) {
        /* Every rank saw the failure (regroup agrees), and some may have
         * lost their buckets: the handle stops on all of them alike. */
        d->broken = true;
        agreed = false;
    }
    reset_step(d);
    return agreed;
}

bool ag_ddp_step(ag_ddp *d)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_step: d is NULL");
        return false;
    }
    if (!d->opt)
        note_failure(d, AG_ERR_STATE, "ddp_step: the handle has no optimizer (use ag_ddp_wait)");
    if (!ag_ddp_wait(d))
        return false;
    return ag_ddp_agree(d, ag_optim_step(d->opt));
}

bool ag_ddp_sum(ag_ddp *d, double *values, int n)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_sum: d is NULL");
        return false;
    }
    bool ok = values || n <= 0;
    if (!ok)
        ag_error_set(AG_ERR_NULL, "ddp_sum: values is NULL");
    if (!ag_ddp_agree(d, ok))
        return false;
    if (n > 0)
        MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_DOUBLE, MPI_SUM, d->comm);
    return true;
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                         */
/* ------------------------------------------------------------------ */

bool ag_ddp_save(ag_ddp *d, const char *path)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_save: d is NULL");
        return false;
    }
    bool ok = true;
    if (!path) {
        ag_error_set(AG_ERR_NULL, "ddp_save: path is NULL");
        ok = false;
    } else if (d->rank == 0) {
        ok = d->opt ? ag_checkpoint_save(path, d->params, d->opt)
                    : ag_safetensors_save(path, d->params, NULL);
    }
    return ag_ddp_agree(d, ok);
}

bool ag_ddp_load(ag_ddp *d, const char *path)
{
    if (!d) {
        ag_error_set(AG_ERR_NULL, "ddp_load: d is NULL");
        return false;
    }
    bool ok;
    if (!path) {
        ag_error_set(AG_ERR_NULL, "ddp_load: path is NULL");
        ok = false;
    } else {
        ok = d->opt ? ag_checkpoint_load(path, d->params, d->opt)
                    : ag_safetensors_load(path, d->params);
    }
    return ag_ddp_agree(d, ok);
}

bool ag_ddp_stats_get(const ag_ddp *d, ag_ddp_stats *out)
{
    if (!d || !out) {
        ag_error_set(AG_ERR_NULL, "ddp_stats_get: %s is NULL", d ? "out" : "d");
        return false;
    }
    *out = d->stats;
    return true;
}

/* SPDX-License-Identifier: MIT */
/* params.c — the named parameter store.
 *
 * A hash (uthash) from dotted names to leaves, plus an array in insertion
 * order: lookups by name for layers and model files, and a stable order for
 * optimizers and saving, so that a run is the same run every time. A second
 * hash on the tensors' addresses lets ag_params_add refuse a tensor the
 * store already owns in constant time: held twice, it would be freed twice
 * (and one refusal path used to free it while the store still held it). */
#include "op.h"

#include <stdbool.h>
#include <string.h>

/* uthash allocates through the library's counted allocator, and must not
 * exit when that fails: it leaves the table as it was and raises this
 * flag, which each insertion checks. */
static _Thread_local bool hash_oom;
#define uthash_malloc(sz) ag_malloc(sz)
#define uthash_free(ptr, sz) ag_free(ptr)
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) ((void)(obj), hash_oom = true)
#include <uthash.h>

typedef struct entry {
    char name[128];
    ag_tensor *t;
    UT_hash_handle hh;  /* in by_name, keyed by name */
    UT_hash_handle ht;  /* in by_tensor, keyed by the address t */
} entry;

struct ag_params {
    entry *by_name;
    entry *by_tensor;
    entry **order;
    size_t n, cap;
    bool eval;  /* PyTorch's module.eval(); a new store trains (calloc'd false) */
    ag_rng rng; /* for stochastic layers (dropout), seeded at creation */
};

ag_params *ag_params_new(void)
{
    ag_params *p = ag_calloc(1, sizeof *p);
    if (!p)
        ag_error_set(AG_ERR_NOMEM, "params_new: out of memory");
    else
        ag_rng_seed(&p->rng, 0);
    return p;
}

void ag_params_free(ag_params *p)
{
    if (!p)
        return;
    entry *e, *tmp;
    HASH_CLEAR(ht, p->by_tensor);
    HASH_ITER(hh, p->by_name, e, tmp) {
        HASH_DEL(p->by_name, e);
        ag_tensor_free(e->t);
        ag_free(e);
    }
    ag_free(p->order);
    ag_free(p);
}

/* The entry holding tensor t, or NULL. */
static entry *find_tensor(const ag_params *p, const ag_tensor *t)
{
    entry *found = NULL;
    HASH_FIND(ht, p->by_tensor, &t, sizeof t, found);
    return found;
}

ag_tensor *ag_params_add(ag_params *p, const char *name, ag_tensor *t)
{
    if (!p || !name || !t) {
        ag_error_set(AG_ERR_NULL, "params_add: %s is NULL", !p ? "store" : !name ? "name" : "tensor");
        /* Without a store nothing can hold t; with one, t may be its own. */
        if (!p || !find_tensor(p, t))
            ag_tensor_free(t);
        return NULL;
    }
    /* First, before any refusal that frees t: a tensor the store holds
     * stays the store's, whatever else is wrong with the call. */
    const entry *held = find_tensor(p, t);
    if (held) {
        ag_error_set(AG_ERR_VALUE,
                     "params_add: the tensor given for '%.120s' is already in the store as "
                     "'%s'; a store holds a tensor once (add a copy made with ag_clone to "
                     "have it twice)",
                     name, held->name);
        return NULL;
    }
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof((entry *)0)->name) {
        ag_error_set(AG_ERR_VALUE, "params_add: name '%.40s' must have 1 to 127 bytes", name);
        ag_tensor_free(t);
        return NULL;
    }
    if (!ag_is_leaf(t)) {
        ag_error_set(AG_ERR_VALUE, "params_add: '%s' is an intermediate; parameters are leaves", name);
        return NULL;
    }
    entry *found = NULL;
    HASH_FIND_STR(p->by_name, name, found);
    if (found) {
        ag_error_set(AG_ERR_VALUE, "params_add: a parameter named '%s' exists already", name);
        ag_tensor_free(t);
        return NULL;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        entry **order = ag_realloc(p->order, cap * sizeof *order);
        if (!order) {
            ag_error_set(AG_ERR_NOMEM, "params_add: out of memory");
            ag_tensor_free(t);
            return NULL;
        }
        p->order = order;
        p->cap = cap;
    }
    entry *e = ag_calloc(1, sizeof *e);
    if (!e) {
        ag_error_set(AG_ERR_NOMEM, "params_add: out of memory");
        ag_tensor_free(t);
        return NULL;
    }
    memcpy(e->name, name, len + 1);
    e->t = t;
    hash_oom = false;
    HASH_ADD_STR(p->by_name, name, e);
    if (!hash_oom) {
        HASH_ADD(ht, p->by_tensor, t, sizeof e->t, e);
        if (hash_oom)
            HASH_DELETE(hh, p->by_name, e);
    }
    if (hash_oom) {
        ag_error_set(AG_ERR_NOMEM, "params_add: out of memory");
        ag_free(e);
        ag_tensor_free(t);
        return NULL;
    }
    /* Only once t is the store's: a refused tensor keeps its flags. */
    if (ag_tensor_dtype(t) != AG_I64)
        ag_set_requires_grad(t, true);
    if (!ag_label(t)[0])
        ag_set_label(t, name);
    p->order[p->n++] = e;
    return t;
}

ag_tensor *ag_params_get(const ag_params *p, const char *name)
{
    if (!p || !name) {
        ag_error_set(AG_ERR_NULL, "params_get: %s is NULL", p ? "name" : "store");
        return NULL;
    }
    entry *found = NULL;
    HASH_FIND_STR(p->by_name, name, found);
    if (!found) {
        ag_error_set(AG_ERR_NOTFOUND, "params_get: no parameter named '%s'", name);
        return NULL;
    }
    return found->t;
}

size_t ag_params_count(const ag_params *p)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_count: p is NULL");
        return 0;
    }
    return p ? p->n : 0;
}

ag_tensor *ag_params_at(const ag_params *p, size_t i, const char **name)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_at: p is NULL");
        return NULL;
    }
    if (!p || i >= p->n) {
        ag_error_set(AG_ERR_VALUE, "params_at: index %zu out of range for %zu parameters", i,
                     p ? p->n : 0);
        return NULL;
    }
    if (name)
        *name = p->order[i]->name;
    return p->order[i]->t;
}

size_t ag_params_numel(const ag_params *p)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_numel: p is NULL");
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; p && i < p->n; i++)
        n += ag_numel(p->order[i]->t);
    return n;
}

void ag_params_zero_grad(ag_params *p)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_zero_grad: p is NULL");
        return;
    }
    for (size_t i = 0; p && i < p->n; i++)
        ag_zero_grad(p->order[i]->t);
}

ag_params *ag_params_clone(const ag_params *p)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_clone: store is NULL");
        return NULL;
    }
    ag_params *c = ag_params_new();
    for (size_t i = 0; c && i < p->n; i++) {
        ag_tensor *t = ag_clone(p->order[i]->t);
        if (!t || !ag_params_add(c, p->order[i]->name, t)) {
            ag_params_free(c);
            return NULL;
        }
        ag_set_requires_grad(t, ag_requires_grad(p->order[i]->t));
    }
    if (c) {
        c->eval = p->eval;
        c->rng = p->rng;
    }
    return c;
}

bool ag_params_set_training(ag_params *p, bool training)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_set_training: store is NULL");
        return false;
    }
    bool was = !p->eval;
    p->eval = !training;
    return was;
}

bool ag_params_training(const ag_params *p)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_training: store is NULL");
        return false;
    }
    return !p->eval;
}

ag_rng *ag_params_rng(const ag_params *p)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_rng: store is NULL");
        return NULL;
    }
    /* The generator is state the layers advance, not a parameter: a
     * forward pass reads the store as const but draws from its stream. */
    return (ag_rng *)&p->rng;
}

void ag_params_seed(ag_params *p, uint64_t seed)
{
    if (!p) {
        ag_error_set(AG_ERR_NULL, "params_seed: store is NULL");
        return;
    }
    ag_rng_seed(&p->rng, seed);
}

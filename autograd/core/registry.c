/* SPDX-License-Identifier: MIT */
/* registry.c — every op, built-in or user-made, by name.
 *
 * The core knows ops only through their descriptors: the gradient checker
 * sweeps this table, printouts use its names, and a user's op is registered
 * here at run time exactly like a built-in one. Built-ins are static objects
 * in ops/ that register on first use of the registry: the public lookups
 * live in ops/builtin.c, which makes sure of that and calls these. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static ag_op *ops_by_name;
static size_t n_registered;
static bool builtins_registered;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* The layer above hands its list of built-ins down (ops/builtin.c): the
 * core calls it through this pointer and so depends on no op. */
void ag_registry_ensure(void (*register_builtins)(void))
{
    pthread_mutex_lock(&registry_lock);
    if (!builtins_registered) {
        builtins_registered = true;
        register_builtins(); /* calls ag_op_register_builtin, under the lock */
    }
    pthread_mutex_unlock(&registry_lock);
}

/* Whether def describes an op the registry can run, check and sweep; the
 * same test for built-ins and user ops. */
static bool def_valid(const ag_op_def *def)
{
    bool maps = def->map_f32 && def->map_f64 && def->n_inputs == 1;
    bool rows = def->rows_f32 && def->rows_f64 && def->n_inputs == 2;
    bool composite = def->flags & AG_OP_COMPOSITE;
    /* A composite records no node, so its example is all there is to run. */
    bool runs = def->forward || maps || rows || (composite && def->example);
    if (!def->name || !def->name[0] || !runs || (!def->vjp && !composite) ||
        def->n_inputs < 1 || def->n_inputs > AG_GRADCHECK_MAX_INPUTS) {
        ag_error_set(AG_ERR_VALUE,
                     "op_register: an op needs a name, a forward function (or, with one input, "
                     "map_f32 and map_f64; with two, rows_f32 and rows_f64; or, for a "
                     "composite, an example), a vjp (unless composite) and 1 to %d inputs%s%s",
                     AG_GRADCHECK_MAX_INPUTS, def->name ? "; got op " : "",
                     def->name ? def->name : "");
        return false;
    }
    if (def->kernel && !def->vjp) {
        ag_error_set(AG_ERR_VALUE, "op_register: %s: a kernel needs a vjp rule beside it (the "
                     "rule is the definition the kernel is checked against)", def->name);
        return false;
    }
    if (!(def->domain_lo < def->domain_hi)) {
        ag_error_set(AG_ERR_VALUE, "op_register: %s: domain [%g, %g] is empty", def->name,
                     def->domain_lo, def->domain_hi);
        return false;
    }
    return true;
}

/* The one way into the registry, for built-ins and user ops alike:
 * validates op's definition and inserts op under its name. The caller
 * holds the lock and owns op until this succeeds. */
static bool enter(ag_op *op)
{
    if (!def_valid(&op->def))
        return false;
    ag_op *found = NULL;
    HASH_FIND_STR(ops_by_name, op->def.name, found);
    if (found) {
        ag_error_set(AG_ERR_VALUE, "op_register: an op named '%s' is registered already",
                     op->def.name);
        return false;
    }
    ag_hash_oom_ = false;
    HASH_ADD_KEYPTR(hh, ops_by_name, op->def.name, strlen(op->def.name), op);
    if (ag_hash_oom_) {
        ag_error_set(AG_ERR_NOMEM, "op_register: out of memory registering '%s'", op->def.name);
        return false;
    }
    op->order = n_registered++;
    return true;
}

/* A built-in's failure is a bug in its table entry: recorded as an error
 * (the registry test asserts none is pending) and the op left out. */
void ag_op_register_builtin(ag_op *op)
{
    op->builtin = true;
    enter(op);
}

static char *copy_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = ag_malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

const ag_op *ag_registry_add(const ag_op_def *def)
{
    if (!def) {
        ag_error_set(AG_ERR_NULL, "op_register: def is NULL");
        return NULL;
    }
    /* Copied first (the caller's def may go away), then the built-ins' path. */
    ag_op *op = ag_calloc(1, sizeof *op);
    char *name = def->name ? copy_string(def->name) : NULL;
    if (!op || (def->name && !name)) {
        ag_free(op);
        ag_free(name);
        ag_error_set(AG_ERR_NOMEM, "op_register: out of memory");
        return NULL;
    }
    op->def = *def;
    op->user = true;
    op->def.name = name;
    pthread_mutex_lock(&registry_lock);
    bool ok = enter(op);
    pthread_mutex_unlock(&registry_lock);
    if (!ok) {
        ag_free(name);
        ag_free(op);
        return NULL;
    }
    return op;
}

const ag_op *ag_registry_find(const char *name)
{
    if (!name) {
        ag_error_set(AG_ERR_NULL, "op_find: name is NULL");
        return NULL;
    }
    ag_op *found = NULL;
    pthread_mutex_lock(&registry_lock);
    HASH_FIND_STR(ops_by_name, name, found);
    pthread_mutex_unlock(&registry_lock);
    if (!found)
        ag_error_set(AG_ERR_NOTFOUND, "op_find: no op named '%s'", name);
    return found;
}

const ag_op_def *ag_op_info(const ag_op *op)
{
    if (!op) {
        ag_error_set(AG_ERR_NULL, "op_info: op is NULL");
        return NULL;
    }
    return &op->def;
}

static int by_order(const void *a, const void *b)
{
    const ag_op *x = *(ag_op *const *)a, *y = *(ag_op *const *)b;
    return x->order < y->order ? -1 : x->order > y->order;
}

void ag_registry_foreach(void (*f)(const ag_op *op, void *ctx), void *ctx)
{
    if (!f) {
        ag_error_set(AG_ERR_NULL, "op_foreach: f is NULL");
        return;
    }
    /* A snapshot sorted by registration order: the hash's own order depends
     * on deletions, and f may register ops itself. */
    pthread_mutex_lock(&registry_lock);
    size_t n = HASH_COUNT(ops_by_name);
    ag_op **list = ag_malloc(n * sizeof *list);
    size_t k = 0;
    if (list)
        for (ag_op *op = ops_by_name; op; op = op->hh.next)
            list[k++] = op;
    pthread_mutex_unlock(&registry_lock);
    if (!list) {
        ag_error_set(AG_ERR_NOMEM, "op_foreach: out of memory");
        return;
    }
    qsort(list, n, sizeof *list, by_order);
    for (size_t i = 0; i < n; i++)
        f(list[i], ctx);
    ag_free(list);
}

size_t ag_registry_count(void)
{
    pthread_mutex_lock(&registry_lock);
    size_t n = HASH_COUNT(ops_by_name);
    pthread_mutex_unlock(&registry_lock);
    return n;
}

/* Forgets user ops (freeing them) and built-ins alike; the next registry
 * call registers the built-ins again. */
void ag_registry_free(void)
{
    pthread_mutex_lock(&registry_lock);
    ag_op *op, *tmp;
    HASH_ITER(hh, ops_by_name, op, tmp) {
        HASH_DEL(ops_by_name, op);
        if (!op->builtin) {
            ag_free((char *)op->def.name);
            ag_free(op);
        }
    }
    builtins_registered = false;
    n_registered = 0;
    pthread_mutex_unlock(&registry_lock);
}

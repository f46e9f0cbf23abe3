/* SPDX-License-Identifier: MIT */
/* tensor.c — tensor storage: shapes, leaf constructors, element access and
 * gradient buffers.
 *
 * Leaves are one heap block each (header, then data), owned by the caller.
 * Intermediates are made by the tape (tape.c); both share the accessors here,
 * which refuse a stale intermediate instead of reading reused memory. */
#include "internal.h"

#include <math.h>
#include <string.h>

const char *ag_dtype_str(ag_dtype d)
{
    switch (d) {
    case AG_F32: return "f32";
    case AG_F64: return "f64";
    case AG_I64: return "i64";
    }
    return "?";
}

size_t ag_dtype_size(ag_dtype d)
{
    return d == AG_F32 ? sizeof(float) : d == AG_F64 ? sizeof(double) : sizeof(int64_t);
}

char *ag_format_shape(int ndim, const int64_t *shape, char *buf, size_t size)
{
    size_t n = 0;
    if (!buf) {
        ag_error_set(AG_ERR_NULL, "format_shape: buf is NULL");
        return NULL;
    }
    if (size == 0)
        return buf;
    if (!shape && ndim > 0) {
        snprintf(buf, size, "?");
        return buf;
    }
    n += (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)shape[i]);
    if (n < size)
        snprintf(buf + n, size - n, ")");
    return buf;
}

char *ag_shape_str(const ag_tensor *t, char *buf, size_t size)
{
    if (!buf) {
        ag_error_set(AG_ERR_NULL, "shape_str: buf is NULL");
        return NULL;
    }
    if (!t)
        ag_error_set(AG_ERR_NULL, "shape_str: t is NULL");
    if (!t || ag_is_stale(t))
        return ag_format_shape(0, NULL, buf, size);
    return ag_format_shape(t->ndim, t->shape, buf, size);
}

bool ag_shape_check(const char *what, int ndim, const int64_t *shape, size_t *numel)
{
    if (ndim < 0 || ndim > AG_MAX_DIMS) {
        ag_error_set(AG_ERR_SHAPE, "%s: %d dimensions; a tensor has 0 to %d", what, ndim,
                     AG_MAX_DIMS);
        return false;
    }
    if (ndim > 0 && !shape) {
        ag_error_set(AG_ERR_NULL, "%s: shape is NULL for %d dimensions", what, ndim);
        return false;
    }
    /* A zero dimension makes the count 0 whatever the others are, so the
     * overflow check below only applies to shapes without one. */
    bool empty = false;
    for (int i = 0; i < ndim; i++)
        empty |= shape[i] == 0;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) {
            ag_error_set(AG_ERR_SHAPE, "%s: dimension %d is %lld; dimensions must be >= 0", what,
                         i, (long long)shape[i]);
            return false;
        }
        /* Reject sizes whose byte count would not fit size_t: an overflowed
         * count would allocate a small block and then write past it. */
        uint64_t d = (uint64_t)shape[i];
        if (empty)
            continue;
        if (n > (SIZE_MAX / sizeof(double)) / d) {
            char buf[160];
            ag_error_set(AG_ERR_SHAPE, "%s: shape %s has too many elements", what,
                         ag_format_shape(ndim, shape, buf, sizeof buf));
            return false;
        }
        n *= (size_t)d;
    }
    *numel = empty ? 0 : n;
    return true;
}

static bool dtype_ok(const char *what, ag_dtype dtype)
{
    if (dtype != AG_F32 && dtype != AG_F64 && dtype != AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "%s: unknown dtype %d", what, (int)dtype);
        return false;
    }
    return true;
}

ag_tensor *ag_leaf_new(ag_dtype dtype, int ndim, const int64_t *shape)
{
    size_t numel;
    if (!dtype_ok("tensor", dtype) || !ag_shape_check("tensor", ndim, shape, &numel))
        return NULL;
    /* One block: the header, the label buffer, the shape, then the data,
     * 64-aligned. */
    size_t head = (sizeof(ag_tensor) + AG_LABEL_SIZE + (size_t)ndim * sizeof(int64_t) + 63) &
                  ~(size_t)63;
    size_t bytes = numel * ag_dtype_size(dtype);
    if (bytes > SIZE_MAX - head) {
        ag_error_set(AG_ERR_SHAPE, "tensor: too large");
        return NULL;
    }
    ag_tensor *t = ag_malloc(head + bytes);
    if (!t) {
        ag_error_set(AG_ERR_NOMEM, "tensor: out of memory for %zu bytes", head + bytes);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->label = ag_no_label_;
    t->data = (unsigned char *)t + head;
    t->shape = (int64_t *)((char *)(t + 1) + AG_LABEL_SIZE);
    t->dtype = (uint8_t)dtype;
    t->ndim = (int8_t)ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->numel = numel;
    t->index = -1;
    t->leaf = true;
    t->tag = ag_tensor_tag(t, NULL, 0);
    return t;
}

ag_tensor *ag_full(ag_dtype dtype, int ndim, const int64_t *shape, double value)
{
    ag_tensor *t = ag_leaf_new(dtype, ndim, shape);
    if (!t)
        return NULL;
    for (size_t i = 0; i < t->numel; i++)
        ag_store(t, i, value);
    return t;
}

ag_tensor *ag_zeros(ag_dtype dtype, int ndim, const int64_t *shape)
{
    ag_tensor *t = ag_leaf_new(dtype, ndim, shape);
    if (t)
        memset(t->data, 0, t->numel * ag_dtype_size(dtype));
    return t;
}

ag_tensor *ag_ones(ag_dtype dtype, int ndim, const int64_t *shape)
{
    return ag_full(dtype, ndim, shape, 1.0);
}

ag_tensor *ag_scalar(ag_dtype dtype, double value)
{
    return ag_full(dtype, 0, NULL, value);
}

ag_tensor *ag_from_array(ag_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    if (!data) {
        ag_error_set(AG_ERR_NULL, "from_array: data is NULL");
        return NULL;
    }
    ag_tensor *t = ag_leaf_new(dtype, ndim, shape);
    if (t)
        memcpy(t->data, data, t->numel * ag_dtype_size(dtype));
    return t;
}

/* Accessors share one guard: NULL and stale tensors are errors. */

static bool readable(const ag_tensor *t, const char *what)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "%s: tensor is NULL", what);
        return false;
    }
    if (t->tag != ag_tensor_tag(t, t->tape, t->generation)) {
        /* Not a header made for this address: nothing in it can be trusted. */
        ag_error_set(AG_ERR_STALE,
                     "%s: not a live tensor: an intermediate kept across two or more tape "
                     "resets (its memory now holds newer tensors), or a freed tensor; "
                     "intermediates die at ag_tape_reset",
                     what);
        return false;
    }
    if (ag_is_stale(t)) {
        /* A true header of an earlier generation; its label lives in the
         * header arena, so it is readable, if perhaps overwritten. */
        ag_error_set(AG_ERR_STALE,
                     "%s: tensor%s%.31s%s is an intermediate from tape generation %llu, but the "
                     "tape was reset (now at %llu); intermediates die at ag_tape_reset",
                     what, t->label[0] ? " '" : "", t->label, t->label[0] ? "'" : "",
                     (unsigned long long)t->generation,
                     (unsigned long long)ag_tape_generation(t->tape));
        return false;
    }
    return true;
}

ag_tensor *ag_clone(const ag_tensor *t)
{
    if (!readable(t, "clone"))
        return NULL;
    ag_tensor *c = ag_leaf_new(t->dtype, t->ndim, t->shape);
    if (c)
        memcpy(c->data, t->data, t->numel * ag_dtype_size(t->dtype));
    return c;
}

void ag_tensor_free(ag_tensor *t)
{
    /* Freeing an intermediate is a no-op (the tape owns it), and so is
     * "freeing" a pointer that is no tensor header any more. */
    if (!t || t->tag != ag_tensor_tag(t, t->tape, t->generation) || !t->leaf)
        return;
    t->tag = 0;
    if (t->grad && t->grad->leaf)
        ag_free(t->grad);
    ag_free(t);
}

bool ag_set_requires_grad(ag_tensor *t, bool requires_grad)
{
    if (!readable(t, "set_requires_grad"))
        return false;
    if (!t->leaf) {
        ag_error_set(AG_ERR_STATE,
                     "set_requires_grad: tensor is an intermediate; only leaves (made by a "
                     "constructor) can be marked, intermediates follow their inputs");
        return false;
    }
    if (requires_grad && t->dtype == AG_I64) {
        ag_error_set(AG_ERR_DTYPE, "set_requires_grad: an i64 tensor carries no gradient");
        return false;
    }
    t->requires_grad = requires_grad;
    return true;
}

bool ag_requires_grad(const ag_tensor *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "requires_grad: t is NULL");
        return false;
    }
    return t && !ag_is_stale(t) && t->requires_grad;
}

bool ag_is_leaf(const ag_tensor *t)
{
    return readable(t, "is_leaf") && t->leaf;
}

char ag_no_label_[1];

void ag_set_label(ag_tensor *t, const char *label)
{
    if (!readable(t, "set_label"))
        return;
    if (!label)
        label = "";
    if (t->label == ag_no_label_) {
        if (!*label)
            return;
        /* A leaf's buffer sits in its own block (see ag_leaf_new); an
         * intermediate's comes from its tape and lives as long. */
        char *buf = t->leaf ? (char *)t + sizeof *t : ag_tape_header_alloc(t->tape, AG_LABEL_SIZE);
        if (!buf)
            return;
        t->label = buf;
    }
    size_t n = strlen(label);
    if (n >= AG_LABEL_SIZE)
        n = AG_LABEL_SIZE - 1;
    memcpy(t->label, label, n);
    t->label[n] = '\0';
}

const char *ag_label(const ag_tensor *t)
{
    return t && !ag_is_stale(t) ? t->label : "";
}

ag_dtype ag_tensor_dtype(const ag_tensor *t)
{
    return readable(t, "dtype") ? t->dtype : AG_F32;
}

int ag_ndim(const ag_tensor *t)
{
    return readable(t, "ndim") ? t->ndim : 0;
}

int64_t ag_dim(const ag_tensor *t, int axis)
{
    if (!readable(t, "dim"))
        return 0;
    int a = axis < 0 ? axis + t->ndim : axis;
    if (a < 0 || a >= t->ndim) {
        ag_error_set(AG_ERR_VALUE, "dim: axis %d out of range for %d dimensions", axis, t->ndim);
        return 0;
    }
    return t->shape[a];
}

const int64_t *ag_shape(const ag_tensor *t)
{
    return readable(t, "shape") ? t->shape : NULL;
}

size_t ag_numel(const ag_tensor *t)
{
    return readable(t, "numel") ? t->numel : 0;
}

void *ag_data(ag_tensor *t)
{
    /* Not counted as a change (see the header): op authors read their
     * inputs through it. */
    return readable(t, "data") ? t->data : NULL;
}

const void *ag_data_const(const ag_tensor *t)
{
    return readable(t, "data") ? t->data : NULL;
}

double ag_item(const ag_tensor *t)
{
    if (!readable(t, "item"))
        return NAN;
    if (t->numel != 1) {
        char buf[160];
        ag_error_set(AG_ERR_SHAPE, "item: tensor of shape %s has %zu elements, not 1",
                     ag_format_shape(t->ndim, t->shape, buf, sizeof buf), t->numel);
        return NAN;
    }
    return ag_load(t, 0);
}

double ag_get_flat(const ag_tensor *t, size_t i)
{
    if (!readable(t, "get"))
        return NAN;
    if (i >= t->numel) {
        ag_error_set(AG_ERR_VALUE, "get: flat index %zu out of range for %zu elements", i,
                     t->numel);
        return NAN;
    }
    return ag_load(t, i);
}

double ag_get(const ag_tensor *t, const int64_t *index)
{
    if (!readable(t, "get"))
        return NAN;
    if (t->ndim > 0 && !index) {
        ag_error_set(AG_ERR_NULL, "get: index is NULL");
        return NAN;
    }
    size_t flat = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (index[d] < 0 || index[d] >= t->shape[d]) {
            ag_error_set(AG_ERR_VALUE, "get: index %lld out of range for dimension %d of size %lld",
                         (long long)index[d], d, (long long)t->shape[d]);
            return NAN;
        }
        flat = flat * (size_t)t->shape[d] + (size_t)index[d];
    }
    return ag_load(t, flat);
}

bool ag_set_flat(ag_tensor *t, size_t i, double value)
{
    if (!readable(t, "set"))
        return false;
    if (!t->leaf) {
        ag_error_set(AG_ERR_STATE, "set: tensor is an intermediate; only leaves can be written");
        return false;
    }
    if (i >= t->numel) {
        ag_error_set(AG_ERR_VALUE, "set: flat index %zu out of range for %zu elements", i,
                     t->numel);
        return false;
    }
    ag_store(t, i, value);
    ag_tensor_modified(t);
    return true;
}

/* dst += src over n elements: how gradient buffers accumulate. */
void ag_add_into(ag_dtype dtype, size_t n, void *dst, const void *src)
{
    if (dtype == AG_F32) {
        float *restrict d = dst;
        const float *restrict s = src;
        for (size_t i = 0; i < n; i++)
            d[i] += s[i];
    } else {
        double *restrict d = dst;
        const double *restrict s = src;
        for (size_t i = 0; i < n; i++)
            d[i] += s[i];
    }
}

ag_tensor *ag_grad_of(const ag_tensor *t)
{
    if (!readable(t, "grad"))
        return NULL;
    /* A leaf's graph gradient (create_graph) dies with its tape: never hand
     * out what a reset freed. */
    if (t->grad && !t->grad->leaf && ag_is_stale(t->grad)) {
        ag_error_set(AG_ERR_STALE, "grad: the gradient is a graph tensor of a tape that was reset");
        return NULL;
    }
    if (t->grad_zero) {
        /* The zeroing ag_zero_grad put off; the buffer is the leaf's own. */
        memset(t->grad->data, 0, t->grad->numel * ag_dtype_size(t->grad->dtype));
        ((ag_tensor *)t)->grad_zero = false;
    }
    return t->grad;
}

/* A leaf keeps its gradient buffer and only marks it zero: the next sweep
 * writes the gradient over it (a weight's GEMM with beta 0) instead of
 * clearing it first and adding, and a reader gets zeros via ag_grad_of. */
void ag_zero_grad(ag_tensor *t)
{
    if (!readable(t, "zero_grad"))
        return;
    if (t->leaf && t->grad && t->grad->leaf)
        t->grad_zero = true;
    else
        t->grad = NULL;
}

bool ag_check_inputs_any_dtype(const char *op_name, int n, ag_tensor *const *inputs)
{
    for (int i = 0; i < n; i++) {
        const ag_tensor *t = inputs[i];
        if (!t) {
            ag_error_set(AG_ERR_NULL, "%s: input %d is NULL", op_name, i);
            return false;
        }
        if (ag_is_stale(t)) {
            char what[64];
            snprintf(what, sizeof what, "%s: input %d", op_name, i);
            return readable(t, what);
        }
    }
    return true;
}

/* Inputs 0 and i differ in dtype: say so, and how to fix it. */
static bool mixed_dtypes(const char *op_name, ag_tensor *const *inputs, int i)
{
    ag_error_set(AG_ERR_DTYPE, "%s: input 0 is %s but input %d is %s; convert one first with ag_cast",
                 op_name, ag_dtype_str(inputs[0]->dtype), i, ag_dtype_str(inputs[i]->dtype));
    return false;
}

bool ag_check_inputs(const char *op_name, int n, ag_tensor *const *inputs)
{
    if (!op_name || (n > 0 && !inputs)) {
        ag_error_set(AG_ERR_NULL, "check_inputs: %s is NULL", op_name ? "inputs" : "op_name");
        return false;
    }
    if (!ag_check_inputs_any_dtype(op_name, n, inputs))
        return false;
    for (int i = 0; i < n; i++) {
        if (inputs[i]->dtype == AG_I64) {
            ag_error_set(AG_ERR_DTYPE, "%s: input %d is i64; this op takes f32 or f64", op_name,
                         i);
            return false;
        }
        if (inputs[i]->dtype != inputs[0]->dtype)
            return mixed_dtypes(op_name, inputs, i);
    }
    return true;
}

bool ag_check_inputs_data(const char *op_name, int n, ag_tensor *const *inputs)
{
    if (!ag_check_inputs_any_dtype(op_name, n, inputs))
        return false;
    for (int i = 1; i < n; i++)
        if (inputs[i]->dtype != inputs[0]->dtype)
            return mixed_dtypes(op_name, inputs, i);
    return true;
}

/* A tensor's name in traces and messages: its label, "param"/"const" for
 * a leaf, "#index op" for a recorded node. */
char *ag_tensor_name(const ag_tensor *t, char *buf, size_t size)
{
    if (t->label[0])
        snprintf(buf, size, "%s", t->label);
    else if (t->leaf)
        snprintf(buf, size, "%s", t->requires_grad ? "param" : "const");
    else if (t->op)
        snprintf(buf, size, "#%ld %s", (long)t->index, t->op->def.name);
    else
        snprintf(buf, size, "tmp");
    return buf;
}

ag_tensor *ag_empty(ag_dtype dtype, int ndim, const int64_t *shape)
{
    return ag_leaf_new(dtype, ndim, shape);
}

void ag_mark_changed(ag_tensor *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "mark_changed: t is NULL");
        return;
    }
    if (ag_is_stale(t)) {
        ag_error_set(AG_ERR_STALE, "mark_changed: the tensor is an intermediate of a reset tape");
        return;
    }
    ag_tensor_modified(t);
}

bool ag_tensor_live(const ag_tensor *t)
{
    return t && ag_is_live(t);
}

/* SPDX-License-Identifier: MIT */
/* anomaly.c — tracing a NaN or Inf to the line that made it.
 *
 * In anomaly mode every recorded node keeps the source location its op was
 * called from (set by the wrappers in ag_locations.h) and values are scanned
 * as they flow: an op's inputs when it is recorded, the output when backward
 * starts, each rule's gradients during the sweep. The first non-finite value
 * is reported with the node that produced it — op, label, location and the
 * ranges of its inputs — which is where the bug is, rather than the loss
 * that printed "nan" a thousand steps later. */
#include "internal.h"

#include <math.h>

/* Process-wide (see autograd.h): readers on every op's path load it relaxed. */
atomic_bool ag_anomaly_on_;

static _Thread_local const char *loc_file;
static _Thread_local const char *loc_func;
static _Thread_local int loc_line;

void ag_set_location_(const char *file, int line, const char *func)
{
    loc_file = file;
    loc_line = line;
    loc_func = func;
}

void ag_anomaly_mode_set(bool on)
{
    atomic_store_explicit(&ag_anomaly_on_, on, memory_order_relaxed);
}

bool ag_anomaly_mode(void)
{
    return atomic_load_explicit(&ag_anomaly_on_, memory_order_relaxed);
}

void ag_anomaly_stamp(ag_tensor *t)
{
    ag_site *s = ag_tape_alloc(sizeof *s);
    if (s) {
        *s = (ag_site){loc_file, loc_func, loc_line};
        t->site = s;
    }
}

const char *ag_node_location(const ag_tensor *t, char *buf, size_t size)
{
    if (!buf) {
        ag_error_set(AG_ERR_NULL, "node_location: buf is NULL");
        return "";
    }
    if (!t)
        ag_error_set(AG_ERR_NULL, "node_location: t is NULL");
    if (!t || ag_is_stale(t) || !t->site || !t->site->file)
        snprintf(buf, size, "%s", "");
    else
        snprintf(buf, size, "%s:%d in %s", t->site->file, t->site->line,
                 t->site->func ? t->site->func : "?");
    return buf;
}

/* The first non-finite element, or SIZE_MAX. */
static size_t first_bad(const ag_tensor *t)
{
    if (t->dtype == AG_I64)
        return SIZE_MAX;
    for (size_t i = 0; i < t->numel; i++)
        if (!isfinite(ag_load(t, i)))
            return i;
    return SIZE_MAX;
}

/* "[-3.2, 0.5]" over the finite elements, with a NaN/Inf count. */
static void range(const ag_tensor *t, char *buf, size_t size)
{
    double lo = INFINITY, hi = -INFINITY;
    size_t bad = 0;
    for (size_t i = 0; i < t->numel; i++) {
        double v = ag_load(t, i);
        if (!isfinite(v)) {
            bad++;
            continue;
        }
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    if (bad == t->numel)
        snprintf(buf, size, "all %zu non-finite", bad);
    else if (bad)
        snprintf(buf, size, "[%.4g, %.4g] and %zu non-finite", lo, hi, bad);
    else
        snprintf(buf, size, "[%.4g, %.4g]", lo, hi);
}

/* Describes the tensor that holds the bad value: its op, label, location
 * and its inputs' ranges. */
static void describe(const ag_tensor *t, size_t at, const char *found_by, const char *what)
{
    char name[64], loc[256], r[4][96] = {"", "", "", ""};
    ag_tensor_name(t, name, sizeof name);
    ag_node_location(t, loc, sizeof loc);
    double v = ag_load(t, at);
    const char *kind = isnan(v) ? "NaN" : "Inf";
    if (!t->op) {
        ag_error_set(AG_ERR_NUMERIC, "anomaly: %s: the %s '%s' holds %s at element %zu (%s)",
                     found_by, t->leaf ? "leaf" : "tensor", name, kind, at, what);
        return;
    }
    for (int j = 0; j < t->n_inputs && j < 4; j++)
        range(t->inputs[j], r[j], sizeof r[j]);
    ag_error_set(AG_ERR_NUMERIC,
                 "anomaly: %s produced %s at element %zu — op '%s' (%s) made at %s; its inputs "
                 "ranged %s%s%s%s%s%s%s (%s)",
                 name, kind, at, t->op->def.name, t->label[0] ? t->label : "no label",
                 loc[0] ? loc : "an unknown place (compile the caller with autograd.h)", r[0],
                 t->n_inputs > 1 ? ", " : "", r[1], t->n_inputs > 2 ? ", " : "", r[2],
                 t->n_inputs > 3 ? ", " : "", r[3], what);
}

bool ag_anomaly_check_inputs(const char *op, int n, ag_tensor *const *inputs)
{
    for (int i = 0; i < n; i++) {
        size_t at = first_bad(inputs[i]);
        if (at != SIZE_MAX) {
            char why[128];
            snprintf(why, sizeof why, "found when op '%s' used it", op);
            describe(inputs[i], at, op, why);
            return false;
        }
    }
    return true;
}

bool ag_anomaly_check_output(const ag_tensor *t)
{
    size_t at = first_bad(t);
    if (at == SIZE_MAX)
        return true;
    describe(t, at, "backward", "found when backward started from it");
    return false;
}

bool ag_anomaly_check_grads(const ag_tensor *node, const ag_tensor *g, int n, ag_tensor *const *gin)
{
    for (int j = 0; j < n; j++) {
        size_t at = gin[j] ? first_bad(gin[j]) : SIZE_MAX;
        if (at == SIZE_MAX)
            continue;
        char name[64], loc[256], up[96];
        ag_tensor_name(node, name, sizeof name);
        ag_node_location(node, loc, sizeof loc);
        range(g, up, sizeof up);
        ag_error_set(AG_ERR_NUMERIC,
                     "anomaly: backward: the rule of op '%s' at %s (made at %s) gave input %d a "
                     "gradient with %s at element %zu; the upstream gradient ranged %s",
                     node->op->def.name, name, loc[0] ? loc : "an unknown place", j,
                     isnan(ag_load(gin[j], at)) ? "NaN" : "Inf", at, up);
        return false;
    }
    return true;
}

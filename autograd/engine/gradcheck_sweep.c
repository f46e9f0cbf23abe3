/* SPDX-License-Identifier: MIT */
/* gradcheck_sweep.c — checking registered ops, and printing reports.
 *
 * An op is checked on random inputs drawn from its declared domain with
 * shapes from its own sample rule: its gradient by finite differences, its
 * f32 kernel against its f64 kernel, and its behaviour on zero-size inputs.
 * Run over the whole registry, this makes every op — built-in or a user's —
 * certify itself. */
#include "internal.h"

#include <math.h>
#include <string.h>

static ag_tensor *call_op(ag_tensor *const *inputs, void *ctx)
{
    const ag_op *op = ctx;
    return ag_op_apply(op, inputs, NULL);
}

/* Runs the op on f32 copies of the f64 inputs and returns the largest
 * difference from the f64 result relative to max(1, |y64|); -1 when the op
 * failed in either dtype (the error is kept). */
static double f32_agreement(const ag_op *op, int n, ag_tensor *const *in64)
{
    ag_tensor *in32[AG_GRADCHECK_MAX_INPUTS] = {0};
    double worst = -1;
    ag_tape *tape = ag_tape_new();
    if (!tape)
        return -1;
    ag_tape *prev = ag_tape_use(tape);
    bool mode = ag_no_grad_begin();
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        in32[i] = ag_leaf_new(AG_F32, in64[i]->ndim, in64[i]->shape);
        ok = in32[i] != NULL;
        for (size_t e = 0; ok && e < in64[i]->numel; e++)
            ag_store(in32[i], e, ag_load(in64[i], e));
    }
    ag_tensor *y64 = ok ? ag_op_apply(op, in64, NULL) : NULL;
    ag_tensor *y32 = y64 ? ag_op_apply(op, in32, NULL) : NULL;
    if (y64 && y32 && y32->dtype == AG_F32 && y32->numel == y64->numel) {
        worst = 0;
        for (size_t e = 0; e < y64->numel; e++) {
            double a = ag_load(y64, e), b = ag_load(y32, e);
            double d = fabs(a - b) / fmax(1.0, fabs(a));
            if (a == b) /* infinities of one sign agree */
                d = 0;
            if (d > worst || isnan(d))
                worst = isnan(d) ? INFINITY : d;
        }
    } else if (y64 && y32) {
        ag_error_set(AG_ERR_DTYPE, "%s: f32 inputs gave a %s result of %zu elements (f64: %zu)",
                     op->def.name, ag_dtype_str(y32->dtype), y32->numel, y64->numel);
    }
    ag_grad_mode_set(mode);
    ag_tape_use(prev);
    ag_tape_free(tape);
    for (int i = 0; i < n; i++)
        ag_tensor_free(in32[i]);
    return worst;
}

/* The gradients of <op(in), r> for a fixed pseudo-random r, summed over
 * `sweeps` backward sweeps of one expression (the leaves' buffers
 * overwritten by the first, added to by the others), with the kernels on
 * or off, into grads[i] (numel of input i). */
static bool kernel_sweep(const ag_op *op, int n, ag_tensor *const *in, bool kernels, int sweeps,
                         double **grads)
{
    bool prev = ag_set_grad_kernels(kernels);
    for (int i = 0; i < n; i++)
        ag_zero_grad(in[i]);
    ag_tensor *y = ag_op_apply(op, in, NULL);
    bool ok = y != NULL;
    if (ok && y->requires_grad) {
        ag_tensor *r = ag_tape_tensor(y->dtype, y->ndim, y->shape);
        ok = r != NULL;
        for (size_t e = 0; ok && e < y->numel; e++)
            ag_store(r, e, sin(1.0 + 0.7 * (double)e));
        for (int k = 0; ok && k < sweeps; k++)
            ok = ag_backward_seed(y, r);
    }
    for (int i = 0; ok && i < n; i++) {
        const ag_tensor *g = ag_grad_of(in[i]);
        for (size_t e = 0; e < in[i]->numel; e++)
            grads[i][e] = g ? ag_load(g, e) : 0.0;
    }
    ag_set_grad_kernels(prev);
    return ok;
}

/* The largest difference between the gradients from the kernels and from
 * the rules, relative to max(1, |rule|), in `dtype` (the f64 inputs are
 * rounded for f32), after one sweep (buffers overwritten) and after two
 * (added to); -1 when the op failed. */
static double kernel_agreement(const ag_op *op, int n, ag_tensor *const *in64, ag_dtype dtype)
{
    ag_tensor *in[AG_GRADCHECK_MAX_INPUTS] = {0};
    double *with[AG_GRADCHECK_MAX_INPUTS] = {0}, *without[AG_GRADCHECK_MAX_INPUTS] = {0};
    double worst = -1;
    ag_tape *tape = ag_tape_new();
    if (!tape)
        return -1;
    ag_tape *prev = ag_tape_use(tape);
    bool mode = ag_grad_mode();
    ag_grad_mode_set(true);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        in[i] = ag_leaf_new(dtype, in64[i]->ndim, in64[i]->shape);
        size_t bytes = (in64[i]->numel ? in64[i]->numel : 1) * sizeof(double);
        with[i] = ag_xmalloc(bytes, "gradcheck_op");
        without[i] = ag_xmalloc(bytes, "gradcheck_op");
        ok = in[i] && with[i] && without[i] && ag_set_requires_grad(in[i], true);
        for (size_t e = 0; ok && e < in64[i]->numel; e++)
            ag_store(in[i], e, ag_load(in64[i], e));
    }
    for (int sweeps = 1; ok && sweeps <= 2; sweeps++) {
        ok = kernel_sweep(op, n, in, false, sweeps, without) &&
             kernel_sweep(op, n, in, true, sweeps, with);
        worst = ok ? fmax(worst, 0) : -1;
        for (int i = 0; ok && i < n; i++)
            for (size_t e = 0; e < in[i]->numel; e++) {
                double a = without[i][e], b = with[i][e];
                double d = a == b ? 0 : fabs(a - b) / fmax(1.0, fabs(a));
                if (d > worst || isnan(d))
                    worst = isnan(d) ? INFINITY : d;
            }
    }
    ag_grad_mode_set(mode);
    ag_tape_use(prev);
    ag_tape_free(tape);
    for (int i = 0; i < n; i++) {
        ag_tensor_free(in[i]);
        ag_free(with[i]);
        ag_free(without[i]);
    }
    return worst;
}

/* The op on inputs whose first dimension is 0: a result and a backward
 * sweep, or a clear error — anything else (a crash, a sanitizer report) is
 * the failure this exists to expose. Running out of memory is no verdict
 * on the op: then it returns false with AG_ERR_NOMEM pending. */
static bool zero_size(const ag_op *op, int n, const int *ndim,
                      int64_t (*shape)[AG_MAX_DIMS], ag_gradcheck_report *rep)
{
    ag_tensor *in[AG_GRADCHECK_MAX_INPUTS] = {0};
    ag_tape *tape = ag_tape_new();
    if (!tape)
        return false;
    ag_tape *prev = ag_tape_use(tape);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        int64_t s[AG_MAX_DIMS];
        memcpy(s, shape[i], sizeof s);
        if (ndim[i] > 0)
            s[0] = 0;
        in[i] = ag_zeros(AG_F64, ndim[i], s);
        ok = in[i] && ag_set_requires_grad(in[i], true);
    }
    ag_status before = ag_last_status();
    ag_tensor *y = ok ? ag_op_apply(op, in, NULL) : NULL;
    if (y && y->requires_grad) {
        ag_tensor *seed = ag_ones(AG_F64, y->ndim, y->shape);
        ok = seed && ag_backward_seed(y, seed);
        ag_tensor_free(seed);
    }
    bool ran = ag_last_status() != AG_ERR_NOMEM || before == AG_ERR_NOMEM;
    rep->zero_size_ok = true;
    if (!ran)
        rep->zero_size_ok = false;
    else if (y && ok)
        snprintf(rep->zero_size, sizeof rep->zero_size, "ok");
    else if (before == AG_OK && ag_last_status() != AG_OK) {
        snprintf(rep->zero_size, sizeof rep->zero_size, "rejected: %s", ag_last_error());
        ag_error_clear();
    } else {
        rep->zero_size_ok = false;
        snprintf(rep->zero_size, sizeof rep->zero_size, "failed without an error message");
    }
    ag_tape_use(prev);
    ag_tape_free(tape);
    for (int i = 0; i < n; i++)
        ag_tensor_free(in[i]);
    return ran;
}

void ag_sample_shapes(const ag_op_def *def, ag_rng *rng, int *ndim,
                      int64_t (*shape)[AG_MAX_DIMS])
{
    if (def->sample) {
        def->sample(rng, ndim, shape);
        return;
    }
    int nd = (int)(ag_rng_next(rng) % 4);
    int64_t base[AG_MAX_DIMS] = {0};
    for (int d = 0; d < nd; d++)
        base[d] = 1 + (int64_t)(ag_rng_next(rng) % 4);
    for (int i = 0; i < def->n_inputs; i++) {
        ndim[i] = nd;
        memcpy(shape[i], base, sizeof base);
        if (def->n_inputs < 2 || (def->flags & AG_OP_NO_BROADCAST))
            continue;
        /* Shapes that broadcast against each other: some dimensions 1, on
         * either side, and (for all but the first input) sometimes fewer
         * leading dimensions. */
        for (int d = 0; d < nd; d++)
            if (ag_rng_next(rng) % 4 == 0)
                shape[i][d] = 1;
        if (i > 0 && nd > 0 && ag_rng_next(rng) % 3 == 0) {
            int drop = 1 + (int)(ag_rng_next(rng) % (uint64_t)nd);
            ndim[i] = nd - drop;
            memmove(shape[i], shape[i] + drop, (size_t)ndim[i] * sizeof(int64_t));
        }
    }
}

bool ag_op_random_inputs(const ag_op_def *def, uint64_t seed, int *ndim,
                         int64_t (*shape)[AG_MAX_DIMS], ag_tensor **in)
{
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    memset(shape, 0, AG_GRADCHECK_MAX_INPUTS * sizeof *shape);
    ag_sample_shapes(def, &rng, ndim, shape);
    for (int i = 0; i < def->n_inputs; i++) {
        in[i] = ag_rand_uniform(AG_F64, ndim[i], shape[i], def->domain_lo, def->domain_hi, &rng);
        if (!in[i] || !ag_set_requires_grad(in[i], true))
            return false;
    }
    return true;
}

bool ag_gradcheck_op(const ag_op *op, uint64_t seed, const ag_gradcheck_opts *opts,
                     ag_gradcheck_report *report)
{
    ag_gradcheck_report local;
    ag_gradcheck_report *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    if (!op) {
        ag_error_set(AG_ERR_NULL, "gradcheck_op: op is NULL");
        return false;
    }
    const ag_op_def *def = &op->def;
    int ndim[AG_GRADCHECK_MAX_INPUTS];
    int64_t shape[AG_GRADCHECK_MAX_INPUTS][AG_MAX_DIMS];
    ag_tensor *in[AG_GRADCHECK_MAX_INPUTS] = {0};
    bool ok = ag_op_random_inputs(def, seed, ndim, shape, in);
    ag_gradcheck_opts o = opts ? *opts : ag_gradcheck_defaults();
    bool pass = ok && ag_gradcheck(call_op, (void *)op, def->n_inputs, in, &o, rep);
    snprintf(rep->name, sizeof rep->name, "%s", def->name);
    if (ok) {
        /* f32 keeps about 7 digits; a composite of a few steps loses a few
         * more, so agreement to 1e-4 relative is what f32 can promise. */
        double d = f32_agreement(op, def->n_inputs, in);
        rep->f32_checked = d >= 0;
        rep->f32_max_err = d;
        if (!(d >= 0 && d <= 1e-4))
            pass = false;
        /* The kernels and the rules differ only in the order they sum
         * broadcast gradients: a few ulps of the dtype. */
        double k64 = kernel_agreement(op, def->n_inputs, in, AG_F64);
        double k32 = kernel_agreement(op, def->n_inputs, in, AG_F32);
        rep->kernel_checked = k64 >= 0 && k32 >= 0;
        rep->kernel_max_err = k64;
        rep->kernel_max_err_f32 = k32;
        if (!(k64 >= 0 && k64 <= 1e-12 && k32 >= 0 && k32 <= 1e-5))
            pass = false;
        if (!zero_size(op, def->n_inputs, ndim, shape, rep) || !rep->zero_size_ok)
            pass = false;
    }
    rep->pass = pass;
    for (int i = 0; i < def->n_inputs; i++)
        ag_tensor_free(in[i]);
    return pass;
}

void ag_gradcheck_fprint(FILE *f, const ag_gradcheck_report *rep)
{
    if (!f || !rep) {
        ag_error_set(AG_ERR_NULL, "gradcheck_fprint: %s is NULL", f ? "report" : "f");
        return;
    }
    fprintf(f, "gradcheck %s: %s\n", rep->name, rep->pass ? "PASS" : "FAIL");
    fprintf(f, "  %-5s %-14s %18s %18s %10s %10s\n", "input", "worst element", "analytic",
            "numeric", "abs err", "rel err");
    for (int i = 0; i < rep->n_inputs; i++) {
        const ag_gradcheck_input *in = &rep->inputs[i];
        if (!in->checked) {
            fprintf(f, "  %-5d (not checked: does not require grad)\n", i);
            continue;
        }
        char idx[64];
        ag_format_shape(in->ndim, in->worst_index, idx, sizeof idx);
        idx[0] = '[';
        idx[strlen(idx) - 1] = ']';
        fprintf(f, "  %-5d %-14s %18.10g %18.10g %10.2e %10.2e  %s", i, idx, in->analytic,
                in->numeric, in->max_abs_err, in->max_rel_err, in->pass ? "ok" : "WRONG");
        if (in->n_kinks)
            fprintf(f, "  (%zu element%s at a kink, first flat %zu: not counted)", in->n_kinks,
                    in->n_kinks == 1 ? "" : "s", in->first_kink);
        fputc('\n', f);
    }
    if (rep->nondet_diff > 0)
        fprintf(f, "  repeated runs differ by up to %.2e\n", rep->nondet_diff);
    if (rep->f32_checked)
        fprintf(f, "  f32 vs f64: max relative difference %.2e%s\n", rep->f32_max_err,
                rep->f32_max_err > 1e-4 ? "  TOO LARGE" : "");
    else if (rep->zero_size[0])
        fprintf(f, "  f32 vs f64: the op failed in f32 or f64\n");
    if (rep->kernel_checked)
        fprintf(f, "  kernels vs rules: max relative difference %.2e in f64, %.2e in f32%s\n",
                rep->kernel_max_err, rep->kernel_max_err_f32,
                rep->kernel_max_err > 1e-12 || rep->kernel_max_err_f32 > 1e-5 ? "  TOO LARGE" : "");
    if (rep->zero_size[0])
        fprintf(f, "  zero-size inputs: %s\n", rep->zero_size);
    if (rep->culprit[0])
        fprintf(f, "  culprit: %s\n", rep->culprit);
}

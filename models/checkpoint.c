/* SPDX-License-Identifier: MIT */
/* checkpoint.c — training checkpoints: a model and its optimizer in one
 * safetensors file.
 *
 * The file holds the parameters as "model.<name>", the optimizer's state
 * tensors (ag_optim_state: "exp_avg.fc1.weight", "momentum_buffer.w", ...)
 * as "optim.<name>", and the metadata {"format": "autograd-checkpoint",
 * "optim.steps": "<n>", "optim.lr": "<lr as %.17g>"} plus the optimizer's
 * settings ("optim.kind", "optim.momentum", "optim.nesterov", "optim.beta1",
 * "optim.beta2", "optim.eps", "optim.weight_decay", "optim.clip_norm").
 * Values are stored bit for bit, the step count (Adam's bias correction
 * depends on it) and the numbers exactly (17 significant digits round-trip
 * a double), so training N steps, saving, loading and training M more
 * steps gives the very parameters of N + M uninterrupted steps.
 *
 * The settings are the caller's code, so they are not restored but
 * checked: a checkpoint resumes bit for bit only under the same settings,
 * and one saved by Adam(beta2 0.99) loaded into Adam(beta2 0.999) would
 * otherwise diverge without a word. Files from before the settings were
 * stored lack them, and load as they did.
 *
 * Loading checks everything — the format tag, every metadata field (a
 * step count that the optimizer can still count from, a finite rate,
 * settings in range and equal to the optimizer's), every tensor of both
 * groups against the model and the optimizer, and their values (finite;
 * second moments >= 0: a NaN or negative exp_avg_sq turns every parameter
 * into NaN at the next step) — before it changes either. */
#include "safetensors_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_FORMAT "autograd-checkpoint"
/* "optim." + a parameter store name (at most 127 bytes) + NUL. */
#define NAME_CAP 144
/* ag_optim_set_steps's limit (the largest count Adam's bias corrections
 * see exactly); a count above it is a corrupted file. */
#define MAX_STEPS ((uint64_t)1 << 53)

/* The prefixed names and the tensors of both groups, model first. */
typedef struct group {
    size_t n;
    char (*buf)[NAME_CAP];
    const char **names;
    ag_tensor **ts;
} group;

static void group_free(group *g)
{
    ag_free(g->buf);
    ag_free(g->names);
    ag_free(g->ts);
}

static bool group_collect(group *g, const char *path, const ag_params *model, ag_optim *opt)
{
    const ag_params *state = ag_optim_state(opt);
    size_t nm = ag_params_count(model), ns = ag_params_count(state);
    memset(g, 0, sizeof *g);
    g->n = nm + ns;
    g->buf = ag_calloc(g->n, sizeof *g->buf);
    g->names = ag_calloc(g->n, sizeof *g->names);
    g->ts = ag_calloc(g->n, sizeof *g->ts);
    if (!g->buf || !g->names || !g->ts) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory", path);
        group_free(g);
        return false;
    }
    for (size_t i = 0; i < g->n; i++) {
        const char *name;
        bool in_model = i < nm;
        g->ts[i] = ag_params_at(in_model ? model : state, in_model ? i : i - nm, &name);
        snprintf(g->buf[i], NAME_CAP, "%s.%s", in_model ? "model" : "optim", name);
        g->names[i] = g->buf[i];
    }
    return true;
}

/* The optimizer's settings as metadata: each read back by the same name. */
typedef enum setting_kind { S_KIND, S_BOOL, S_UNIT, S_POS, S_NONNEG } setting_kind;

typedef struct setting {
    const char *key;
    setting_kind kind;
} setting;

static const setting SETTINGS[] = {
    {"optim.kind", S_KIND},       {"optim.momentum", S_UNIT},     {"optim.nesterov", S_BOOL},
    {"optim.beta1", S_UNIT},      {"optim.beta2", S_UNIT},        {"optim.eps", S_POS},
    {"optim.weight_decay", S_NONNEG}, {"optim.clip_norm", S_NONNEG},
};
#define N_SETTINGS (sizeof SETTINGS / sizeof SETTINGS[0])

static const char *const KIND_NAMES[] = {"sgd", "adam", "adamw"};

/* Setting i of c, as a number (the kind as its index, nesterov as 0/1). */
static double setting_value(const ag_optim_config *c, size_t i)
{
    switch (i) {
    case 0: return (double)c->kind;
    case 1: return c->momentum;
    case 2: return c->nesterov ? 1 : 0;
    case 3: return c->beta1;
    case 4: return c->beta2;
    case 5: return c->eps;
    case 6: return c->weight_decay;
    default: return c->clip_norm;
    }
}

bool ag_checkpoint_save(const char *path, const ag_params *model, ag_optim *opt)
{
    if (!path || !model || !opt) {
        ag_error_set(AG_ERR_NULL, "checkpoint_save: %s is NULL",
                     !path ? "path" : !model ? "model" : "optimizer");
        return false;
    }
    ag_optim_config c;
    if (!ag_optim_config_get(opt, &c))
        return false;
    group g;
    if (!group_collect(&g, path, model, opt))
        return false;
    char steps[32], lr[40], vals[N_SETTINGS][40];
    snprintf(steps, sizeof steps, "%" PRIu64, ag_optim_steps(opt));
    snprintf(lr, sizeof lr, "%.17g", ag_optim_lr(opt));
    const char *meta[2 * (3 + N_SETTINGS) + 1] = {"format", CKPT_FORMAT, "optim.steps", steps,
                                                  "optim.lr", lr};
    size_t m = 6;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        if (SETTINGS[i].kind == S_KIND)
            snprintf(vals[i], sizeof vals[i], "%s", KIND_NAMES[c.kind]);
        else if (SETTINGS[i].kind == S_BOOL)
            snprintf(vals[i], sizeof vals[i], "%s", c.nesterov ? "true" : "false");
        else
            snprintf(vals[i], sizeof vals[i], "%.17g", setting_value(&c, i));
        meta[m++] = SETTINGS[i].key;
        meta[m++] = vals[i];
    }
    meta[m] = NULL;
    bool ok = ag_st_save(path, g.n, g.names, g.ts, meta);
    group_free(&g);
    return ok;
}

static bool field_error(const ag_st_file *sf, const char *key, const char *v, const char *what)
{
    char shown[48];
    snprintf(shown, sizeof shown, "%.40s", v ? v : "");
    ag_error_set(AG_ERR_PARSE, "%s: metadata \"%s\" is %s%s%s, not %s", sf->path, key,
                 v ? "'" : "missing", shown, v ? "'" : "", what);
    return false;
}

/* A decimal number written as %.17g writes it: the whole string, no
 * blanks, no hexadecimal, finite (strtod alone takes " 1", "0x1p3", "inf"
 * and "nan"). */
static bool parse_number(const char *v, double *out)
{
    *out = NAN;
    if (!v || !v[0] || strspn(v, "0123456789+-.eE") != strlen(v))
        return false;
    char *end = NULL;
    errno = 0;
    double x = strtod(v, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(x))
        return false;
    *out = x;
    return true;
}

/* The metadata of a checkpoint: the format tag, a step count (decimal
 * digits only, at most MAX_STEPS), a finite rate >= 0, and the settings
 * when present, each in its range and equal to the optimizer's. */
static bool read_metadata(const ag_st_file *sf, const ag_optim *opt, uint64_t *steps, double *lr)
{
    const char *fmt = ag_st_metadata(sf, "format");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: not an autograd checkpoint (metadata \"format\" is %s%.40s%s, not '"
                     CKPT_FORMAT "'); a model file loads with ag_safetensors_load",
                     sf->path, fmt ? "'" : "missing", fmt ? fmt : "", fmt ? "'" : "");
        return false;
    }
    const char *s = ag_st_metadata(sf, "optim.steps");
    bool ok = s && s[0] && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20;
    if (ok) {
        errno = 0;
        *steps = strtoull(s, NULL, 10);
        ok = errno == 0 && *steps <= MAX_STEPS;
    }
    if (!ok)
        return field_error(sf, "optim.steps", s, "a step count from 0 to 2^53");
    const char *l = ag_st_metadata(sf, "optim.lr");
    if (!parse_number(l, lr) || *lr < 0)
        return field_error(sf, "optim.lr", l, "a learning rate >= 0");
    ag_optim_config c;
    if (!ag_optim_config_get(opt, &c))
        return false;
    /* eps is Adam's: > 0 there, and SGD's own 0 (zero means zero) passes.
     * The kind comes first; a file without one is read as the optimizer's. */
    double file_kind = (double)c.kind;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const char *key = SETTINGS[i].key, *v = ag_st_metadata(sf, key);
        if (!v)
            continue; /* a file from before the settings were stored */
        double x = NAN;
        const char *range = NULL;
        switch (SETTINGS[i].kind) {
        case S_KIND:
            for (size_t k = 0; k < sizeof KIND_NAMES / sizeof KIND_NAMES[0]; k++)
                if (!strcmp(v, KIND_NAMES[k]))
                    x = (double)k;
            if (!isnan(x))
                file_kind = x;
            range = "an optimizer kind ('sgd', 'adam' or 'adamw')";
            break;
        case S_BOOL:
            x = !strcmp(v, "true") ? 1 : !strcmp(v, "false") ? 0 : NAN;
            range = "'true' or 'false'";
            break;
        case S_UNIT:
            if (parse_number(v, &x) && !(x >= 0 && x < 1))
                x = NAN;
            range = "a number in [0, 1)";
            break;
        case S_POS:
            if (parse_number(v, &x) && !(x > 0 || (x == 0 && file_kind == (double)AG_SGD)))
                x = NAN;
            range = "a finite number > 0";
            break;
        case S_NONNEG:
            if (parse_number(v, &x) && !(x >= 0))
                x = NAN;
            range = "a finite number >= 0";
            break;
        }
        if (isnan(x))
            return field_error(sf, key, v, range);
        double mine = setting_value(&c, i);
        if (x != mine) {
            char have[40];
            if (SETTINGS[i].kind == S_KIND)
                snprintf(have, sizeof have, "%s", KIND_NAMES[c.kind]);
            else if (SETTINGS[i].kind == S_BOOL)
                snprintf(have, sizeof have, "%s", c.nesterov ? "true" : "false");
            else
                snprintf(have, sizeof have, "%.17g", mine);
            ag_error_set(AG_ERR_VALUE,
                         "%s: the checkpoint was saved with \"%s\" %.40s, the optimizer has %s; "
                         "make the optimizer with the checkpoint's settings to resume the run",
                         sf->path, key, v, have);
            return false;
        }
    }
    return true;
}

/* Whether every value the checkpoint would load is one training can go on
 * from: finite, and >= 0 for Adam's second moments (their square root is
 * taken). Checked in the read buffer, before anything is copied. */
static bool values_ok(const ag_st_file *sf, const unsigned char *buf)
{
    for (size_t i = 0; i < sf->n; i++) {
        const ag_st_entry *e = &sf->entries[i];
        if (e->dtype == AG_I64)
            continue;
        bool second_moment = !strncmp(e->name, "optim.exp_avg_sq.", 17);
        size_t n = (size_t)(e->end - e->begin) / ag_dtype_size(e->dtype);
        const unsigned char *p = buf + e->begin;
        for (size_t j = 0; j < n; j++) {
            double v;
            if (e->dtype == AG_F32) {
                float f;
                memcpy(&f, p + 4 * j, sizeof f);
                v = f;
            } else {
                memcpy(&v, p + 8 * j, sizeof v);
            }
            if (!isfinite(v) || (second_moment && v < 0)) {
                ag_error_set(AG_ERR_NUMERIC,
                             "%s: tensor '%.120s' holds %g at element %zu; a checkpoint holds "
                             "finite values%s",
                             sf->path, e->name, v, j,
                             second_moment ? ", and second moments >= 0" : "");
                return false;
            }
        }
    }
    return true;
}

/* ag_st_load_into with the values checked between the read and the copy. */
static bool load_checked(ag_st_file *sf, const group *g)
{
    if (!ag_st_match(sf, g->n, g->names, g->ts))
        return false;
    if (sf->data_len > SIZE_MAX) {
        ag_error_set(AG_ERR_NOMEM, "%s: %llu bytes of data do not fit in memory", sf->path,
                     (ull)sf->data_len);
        return false;
    }
    unsigned char *buf = ag_malloc(sf->data_len ? (size_t)sf->data_len : 1);
    void **dest = ag_calloc(sf->n ? sf->n : 1, sizeof *dest);
    bool ok = buf && dest;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for %llu bytes of data", sf->path,
                     (ull)sf->data_len);
    for (size_t i = 0; ok && i < sf->n; i++)
        dest[i] = buf + sf->entries[i].begin;
    ok = ok && ag_st_read_data(sf, dest) && values_ok(sf, buf);
    /* Everything is read and checked: only now do the tensors change. */
    for (size_t k = 0; ok && k < g->n; k++) {
        const ag_st_entry *e = ag_st_find(sf, g->names[k]);
        size_t nbytes = (size_t)(e->end - e->begin);
        if (nbytes)
            memcpy(ag_data(g->ts[k]), buf + e->begin, nbytes);
        ag_mark_changed(g->ts[k]);
    }
    ag_free(dest);
    ag_free(buf);
    return ok;
}

bool ag_checkpoint_load(const char *path, ag_params *model, ag_optim *opt)
{
    if (!path || !model || !opt) {
        ag_error_set(AG_ERR_NULL, "checkpoint_load: %s is NULL",
                     !path ? "path" : !model ? "model" : "optimizer");
        return false;
    }
    group g;
    if (!group_collect(&g, path, model, opt))
        return false;
    ag_st_file sf;
    uint64_t steps = 0;
    double lr = 0;
    /* The count and rate were checked against the setters' own limits, so
     * these cannot fail once the tensors have changed. */
    bool ok = ag_st_open(&sf, path) && read_metadata(&sf, opt, &steps, &lr) &&
              load_checked(&sf, &g) && ag_optim_set_steps(opt, steps) &&
              ag_optim_set_lr(opt, lr);
    ag_st_close(&sf);
    group_free(&g);
    return ok;
}

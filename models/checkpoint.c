/* checkpoint.c — training checkpoints: a model and its optimizer in one
 * safetensors file.
 *
 * The file holds the parameters as "model.<name>", the optimizer's state
 * tensors (ag_optim_state: "exp_avg.fc1.weight", "momentum_buffer.w", ...)
 * as "optim.<name>", and the metadata {"format": "autograd-checkpoint",
 * "optim.steps": "<n>", "optim.lr": "<lr as %.17g>"}. Values are stored bit
 * for bit, the step count (Adam's bias correction depends on it) and the
 * learning rate exactly (17 significant digits round-trip a double), so
 * training N steps, saving, loading and training M more steps gives the
 * very parameters of N + M uninterrupted steps. The optimizer's settings
 * (kind, betas, weight decay...) are not stored: they are the caller's code,
 * and a different optimizer kind shows up as missing state tensors.
 *
 * Loading checks everything — the format tag, the step count and rate, and
 * every tensor of both groups against the model and the optimizer — before
 * it changes either. */
#include "safetensors_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_FORMAT "autograd-checkpoint"
/* "optim." + a parameter store name (at most 127 bytes) + NUL. */
#define NAME_CAP 144

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

bool ag_checkpoint_save(const char *path, const ag_params *model, ag_optim *opt)
{
    if (!path || !model || !opt) {
        ag_error_set(AG_ERR_NULL, "checkpoint_save: %s is NULL",
                     !path ? "path" : !model ? "model" : "optimizer");
        return false;
    }
    group g;
    if (!group_collect(&g, path, model, opt))
        return false;
    char steps[32], lr[40];
    snprintf(steps, sizeof steps, "%" PRIu64, ag_optim_steps(opt));
    snprintf(lr, sizeof lr, "%.17g", ag_optim_lr(opt));
    const char *const meta[] = {"format", CKPT_FORMAT, "optim.steps", steps, "optim.lr", lr, NULL};
    bool ok = ag_st_save(path, g.n, g.names, g.ts, meta);
    group_free(&g);
    return ok;
}

/* The metadata of a checkpoint: the format tag, a step count (decimal
 * digits only) and a finite rate >= 0. */
static bool read_metadata(const ag_st_file *sf, uint64_t *steps, double *lr)
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
    bool ok = s && s[0] && strspn(s, "0123456789") == strlen(s);
    if (ok) {
        errno = 0;
        *steps = strtoull(s, NULL, 10);
        ok = errno == 0;
    }
    if (!ok) {
        ag_error_set(AG_ERR_PARSE, "%s: metadata \"optim.steps\" is %s%.40s%s, not a step count",
                     sf->path, s ? "'" : "missing", s ? s : "", s ? "'" : "");
        return false;
    }
    const char *l = ag_st_metadata(sf, "optim.lr");
    char *end = NULL;
    ok = l && l[0];
    if (ok) {
        *lr = strtod(l, &end);
        ok = *end == '\0' && isfinite(*lr) && *lr >= 0;
    }
    if (!ok) {
        ag_error_set(AG_ERR_PARSE,
                     "%s: metadata \"optim.lr\" is %s%.40s%s, not a learning rate >= 0", sf->path,
                     l ? "'" : "missing", l ? l : "", l ? "'" : "");
        return false;
    }
    return true;
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
    bool ok = ag_st_open(&sf, path) && read_metadata(&sf, &steps, &lr) &&
              ag_st_load_into(&sf, g.n, g.names, g.ts);
    if (ok) {
        ag_optim_set_steps(opt, steps);
        ag_optim_set_lr(opt, lr);
    }
    ag_st_close(&sf);
    group_free(&g);
    return ok;
}

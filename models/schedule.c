/* SPDX-License-Identifier: MIT */
/* schedule.c — learning-rate schedules as pure functions of the step. */
#include "op.h"

#include <math.h>

double ag_schedule_lr(const ag_schedule_config *s, uint64_t t)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "schedule_lr: s is NULL");
        return NAN;
    }
    switch (s->kind) {
    case AG_SCHEDULE_CONSTANT:
        return s->base_lr;
    case AG_SCHEDULE_STEP:
        if (s->step_size == 0)
            return s->base_lr;
        return s->base_lr * pow(s->gamma, (double)(t / s->step_size));
    case AG_SCHEDULE_COSINE: {
        /* Loshchilov & Hutter's SGDR without restarts: half a cosine from
         * base_lr down to min_lr over `total` steps, then min_lr. */
        if (s->total == 0 || t >= s->total)
            return s->min_lr;
        double phase = 3.14159265358979323846 * (double)t / (double)s->total;
        return s->min_lr + 0.5 * (s->base_lr - s->min_lr) * (1.0 + cos(phase));
    }
    }
    return NAN;
}

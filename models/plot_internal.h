/* SPDX-License-Identifier: MIT */
/* plot_internal.h — the geometry of ag_save_png_plot's pictures, exposed to
 * the library's tests (tests/check-plot.c) so that they can compute where
 * a point must be drawn and which ticks an axis must have. Not installed. */
#ifndef AG_PLOT_INTERNAL_H
#define AG_PLOT_INTERNAL_H

#include "models.h"

/* No axis gets more ticks than this. */
#define AG_PLOT_MAX_TICKS 24

typedef struct ag_plot_axis {
    double lo, hi;      /* the span mapped onto the plot area; log10 units on a log axis */
    bool log;
    int n_ticks;
    double ticks[AG_PLOT_MAX_TICKS]; /* in data units, increasing */
} ag_plot_axis;

/* Where everything goes. The plot area is the pixels left .. right - 1 by
 * top .. bottom - 1; its frame lies just outside. A point (x, y) is drawn
 * at the continuous pixel coordinates
 *   px = left + (x - x.lo) / (x.hi - x.lo) · (right - left)
 *   py = bottom - (v - y.lo) / (y.hi - y.lo) · (bottom - top)
 * with v = y, or log10(y) on a log axis; pixel (i, j) covers
 * [i, i + 1) × [j, j + 1). */
typedef struct ag_plot_layout {
    int width, height;
    int left, top, right, bottom;
    int text_scale;     /* the font's pixels are text_scale × text_scale */
    int title_scale;    /* twice that, or the same when the title would not fit */
    ag_plot_axis x, y;
} ag_plot_layout;

/* Checks the arguments as ag_save_png_plot does (the same errors) and
 * computes the layout of its picture. */
bool ag_plot_layout_compute(int n_series, const ag_plot_series *series, const ag_plot_opts *opts,
                            ag_plot_layout *out);

/* Ticks on a linear axis over [lo, hi] (lo < hi): the multiples of the
 * smallest step of 1, 2 or 5 times a power of ten that gives at most
 * max_ticks of them in the range (if that step gives none, the step
 * before). Writes them to ticks[] and returns how many (max_ticks <=
 * AG_PLOT_MAX_TICKS); *step gets the step. */
int ag_plot_linear_ticks(double lo, double hi, int max_ticks, double *ticks, double *step);

/* Ticks on a log axis spanning 10^lo10 .. 10^hi10: 1, 2 and 5 times the
 * powers of ten when 2 .. max_ticks of them fall in it; else powers of ten
 * (every 1, 2, 5, 10, ... decades: at most max_ticks) when at least two
 * do; else linear_ticks over the values. */
int ag_plot_log_ticks(double lo10, double hi10, int max_ticks, double *ticks);

#endif

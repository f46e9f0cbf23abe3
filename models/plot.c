/* SPDX-License-Identifier: MIT */
/* plot.c — line plots (loss curves) drawn in memory and written as PNG.
 *
 * So that a training run can leave a picture of its curves without gnuplot
 * or Python: the whole picture is an RGB canvas drawn here (axes, ticks,
 * text in a built-in 5×7 font, anti-aliased lines, a legend) and handed to
 * png_write.c row by row. The geometry (plot_internal.h) is computed apart
 * from the drawing so that the tests can say where a point must land. */
#include "plot_internal.h"
#include "png_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MIN_SIDE 160
#define MAX_SIDE 4000
#define MAX_SERIES 10
/* A plot area smaller than this (the labels took the rest) is refused. */
#define MIN_PLOT 32
/* Each axis's span is widened by this fraction on both sides, so that no
 * point sits on the frame. */
#define MARGIN 0.05

/* matplotlib's tab10: ten colours that stay apart for most eyes. */
static const unsigned char PALETTE[MAX_SERIES][3] = {
    {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
    {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
    {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf},
};
static const unsigned char BLACK[3] = {0, 0, 0};
static const unsigned char GRID[3] = {232, 232, 232};
static const unsigned char LEGEND_EDGE[3] = {190, 190, 190};

/* Printable ASCII (32 .. 126) as 5×7 pictures, row by row from the top,
 * '#' for ink: the table is its own picture. */
static const char *const FONT[95] = {
    "..... ..... ..... ..... ..... ..... .....", /*   */
    "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..", /* ! */
    ".#.#. .#.#. ..... ..... ..... ..... .....", /* " */
    ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.", /* # */
    "..#.. .#### #.#.. .###. ..#.# ####. ..#..", /* $ */
    "##... ##..# ...#. ..#.. .#... #..## ...##", /* % */
    ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#", /* & */
    "..#.. ..#.. ..... ..... ..... ..... .....", /* ' */
    "...#. ..#.. .#... .#... .#... ..#.. ...#.", /* ( */
    ".#... ..#.. ...#. ...#. ...#. ..#.. .#...", /* ) */
    "..... ..#.. #.#.# .###. #.#.# ..#.. .....", /* * */
    "..... ..#.. ..#.. ##### ..#.. ..#.. .....", /* + */
    "..... ..... ..... ..... .##.. ..#.. .#...", /* , */
    "..... ..... ..... ##### ..... ..... .....", /* - */
    "..... ..... ..... ..... ..... .##.. .##..", /* . */
    "....# ...#. ...#. ..#.. .#... .#... #....", /* / */
    ".###. #...# #..## #.#.# ##..# #...# .###.", /* 0 */
    "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.", /* 1 */
    ".###. #...# ....# ...#. ..#.. .#... #####", /* 2 */
    ".###. #...# ....# ..##. ....# #...# .###.", /* 3 */
    "...#. ..##. .#.#. #..#. ##### ...#. ...#.", /* 4 */
    "##### #.... ####. ....# ....# #...# .###.", /* 5 */
    "..##. .#... #.... ####. #...# #...# .###.", /* 6 */
    "##### ....# ...#. ..#.. .#... .#... .#...", /* 7 */
    ".###. #...# #...# .###. #...# #...# .###.", /* 8 */
    ".###. #...# #...# .#### ....# ...#. .##..", /* 9 */
    "..... .##.. .##.. ..... .##.. .##.. .....", /* : */
    "..... .##.. .##.. ..... .##.. ..#.. .#...", /* ; */
    "...#. ..#.. .#... #.... .#... ..#.. ...#.", /* < */
    "..... ..... ##### ..... ##### ..... .....", /* = */
    ".#... ..#.. ...#. ....# ...#. ..#.. .#...", /* > */
    ".###. #...# ....# ...#. ..#.. ..... ..#..", /* ? */
    ".###. #...# #.### #.#.# #.### #.... .####", /* @ */
    ".###. #...# #...# ##### #...# #...# #...#", /* A */
    "####. #...# #...# ####. #...# #...# ####.", /* B */
    ".###. #...# #.... #.... #.... #...# .###.", /* C */
    "####. #...# #...# #...# #...# #...# ####.", /* D */
    "##### #.... #.... ####. #.... #.... #####", /* E */
    "##### #.... #.... ####. #.... #.... #....", /* F */
    ".###. #...# #.... #.### #...# #...# .####", /* G */
    "#...# #...# #...# ##### #...# #...# #...#", /* H */
    ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.", /* I */
    "..### ...#. ...#. ...#. ...#. #..#. .##..", /* J */
    "#...# #..#. #.#.. ##... #.#.. #..#. #...#", /* K */
    "#.... #.... #.... #.... #.... #.... #####", /* L */
    "#...# ##.## #.#.# #.#.# #...# #...# #...#", /* M */
    "#...# #...# ##..# #.#.# #..## #...# #...#", /* N */
    ".###. #...# #...# #...# #...# #...# .###.", /* O */
    "####. #...# #...# ####. #.... #.... #....", /* P */
    ".###. #...# #...# #...# #.#.# #..#. .##.#", /* Q */
    "####. #...# #...# ####. #.#.. #..#. #...#", /* R */
    ".#### #.... #.... .###. ....# ....# ####.", /* S */
    "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..", /* T */
    "#...# #...# #...# #...# #...# #...# .###.", /* U */
    "#...# #...# #...# #...# #...# .#.#. ..#..", /* V */
    "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.", /* W */
    "#...# #...# .#.#. ..#.. .#.#. #...# #...#", /* X */
    "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..", /* Y */
    "##### ....# ...#. ..#.. .#... #.... #####", /* Z */
    ".###. .#... .#... .#... .#... .#... .###.", /* [ */
    "#.... .#... .#... ..#.. ...#. ...#. ....#", /* \ */
    ".###. ...#. ...#. ...#. ...#. ...#. .###.", /* ] */
    "..#.. .#.#. #...# ..... ..... ..... .....", /* ^ */
    "..... ..... ..... ..... ..... ..... #####", /* _ */
    ".#... ..#.. ..... ..... ..... ..... .....", /* ` */
    "..... ..... .###. ....# .#### #...# .####", /* a */
    "#.... #.... #.##. ##..# #...# #...# ####.", /* b */
    "..... ..... .###. #.... #.... #...# .###.", /* c */
    "....# ....# .##.# #..## #...# #...# .####", /* d */
    "..... ..... .###. #...# ##### #.... .###.", /* e */
    "..##. .#..# .#... ###.. .#... .#... .#...", /* f */
    "..... .#### #...# #...# .#### ....# .###.", /* g */
    "#.... #.... #.##. ##..# #...# #...# #...#", /* h */
    "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.", /* i */
    "...#. ..... ..##. ...#. ...#. #..#. .##..", /* j */
    "#.... #.... #..#. #.#.. ##... #.#.. #..#.", /* k */
    ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.", /* l */
    "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#", /* m */
    "..... ..... #.##. ##..# #...# #...# #...#", /* n */
    "..... ..... .###. #...# #...# #...# .###.", /* o */
    "..... ..... ####. #...# ####. #.... #....", /* p */
    "..... ..... .##.# #..## .#### ....# ....#", /* q */
    "..... ..... #.##. ##..# #.... #.... #....", /* r */
    "..... ..... .###. #.... .###. ....# ####.", /* s */
    ".#... .#... ###.. .#... .#... .#..# ..##.", /* t */
    "..... ..... #...# #...# #...# #..## .##.#", /* u */
    "..... ..... #...# #...# #...# .#.#. ..#..", /* v */
    "..... ..... #...# #...# #.#.# #.#.# .#.#.", /* w */
    "..... ..... #...# .#.#. ..#.. .#.#. #...#", /* x */
    "..... ..... #...# #...# .#### ....# .###.", /* y */
    "..... ..... ##### ...#. ..#.. .#... #####", /* z */
    "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.", /* { */
    "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..", /* | */
    ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...", /* } */
    "..... ..... .#... #.#.# ...#. ..... .....", /* ~ */
};
/* Any other byte: a box, so that the reader sees something is there. */
static const char BOX[] = "##### #...# #...# #...# #...# #...# #####";

#define GLYPH_W 5
#define GLYPH_H 7
#define ADVANCE 6 /* a column of space between letters */

/* ------------------------------------------------------------------ */
/* Ticks                                                               */
/* ------------------------------------------------------------------ */

/* Multiples of `mant`·10^e in [lo, hi], written to ticks (at most cap).
 * Returns how many there are (which may exceed cap: then none written
 * past it). Computed as i·mant / 10^-e for e < 0, so that 0.3 is 3/10 and
 * not 3·0.1. */
static double count_multiples(double lo, double hi, double mant, int e, double *ticks, int cap)
{
    double step = e < 0 ? mant / pow(10, -e) : mant * pow(10, e);
    double first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9);
    double n = last - first + 1;
    if (n < 0)
        n = 0;
    for (int k = 0; ticks && k < n && k < cap; k++) {
        double i = first + k;
        ticks[k] = e < 0 ? i * mant / pow(10, -e) : i * mant * pow(10, e);
        if (ticks[k] == 0)
            ticks[k] = 0; /* no -0 */
    }
    return n;
}

int ag_plot_linear_ticks(double lo, double hi, int max_ticks, double *ticks, double *step)
{
    static const double MANT[3] = {1, 2, 5};
    if (max_ticks > AG_PLOT_MAX_TICKS)
        max_ticks = AG_PLOT_MAX_TICKS;
    if (max_ticks < 1)
        max_ticks = 1;
    /* Start a decade below the step that would give about max_ticks. */
    int e = (int)floor(log10((hi - lo) / max_ticks)) - 1;
    double prev_mant = 0;
    int prev_e = 0;
    for (int k = 0; k < 64; k++, e += k % 3 == 0) {
        double mant = MANT[k % 3];
        double n = count_multiples(lo, hi, mant, e, NULL, 0);
        if (n > max_ticks) {
            prev_mant = mant;
            prev_e = e;
            continue;
        }
        if (n == 0 && prev_mant > 0) { /* the step jumped over the whole range */
            mant = prev_mant;
            e = prev_e;
        }
        if (step)
            *step = e < 0 ? mant / pow(10, -e) : mant * pow(10, e);
        return (int)count_multiples(lo, hi, mant, e, ticks, AG_PLOT_MAX_TICKS);
    }
    return 0; /* not reached for a finite lo < hi */
}

/* Powers of ten every d decades, d the first of 1, 2, 5, 10, 20, ... that
 * gives at most max_ticks; returns how many (fewer than two: unusable). */
static int decade_ticks(double lo10, double hi10, int max_ticks, double *ticks)
{
    static const double STEP[3] = {1, 2, 5};
    double first = ceil(lo10 - 1e-9), last = floor(hi10 + 1e-9);
    if (last <= first)
        return 0;
    for (double d = 1;; d *= 10)
        for (int m = 0; m < 3; m++) {
            double dd = d * STEP[m];
            double e0 = ceil(first / dd) * dd;
            double count = floor((last - e0) / dd) + 1;
            if (count > max_ticks)
                continue;
            for (int k = 0; k < count; k++) {
                double e = e0 + k * dd;
                ticks[k] = e < 0 ? 1 / pow(10, -e) : pow(10, e);
            }
            return (int)count;
        }
}

int ag_plot_log_ticks(double lo10, double hi10, int max_ticks, double *ticks)
{
    if (max_ticks > AG_PLOT_MAX_TICKS)
        max_ticks = AG_PLOT_MAX_TICKS;
    /* 1, 2 and 5 times each power of ten in or around the range. */
    int n = 0;
    int e0 = (int)floor(lo10), e1 = (int)floor(hi10);
    if (e1 - e0 <= AG_PLOT_MAX_TICKS) {
        static const double MANT[3] = {1, 2, 5};
        for (int e = e0; e <= e1 && n <= max_ticks; e++)
            for (int m = 0; m < 3 && n <= max_ticks; m++) {
                double v = e < 0 ? MANT[m] / pow(10, -e) : MANT[m] * pow(10, e);
                double l = log10(v);
                if (l >= lo10 - 1e-9 && l <= hi10 + 1e-9) {
                    if (n < AG_PLOT_MAX_TICKS)
                        ticks[n] = v;
                    n++;
                }
            }
        if (n >= 2 && n <= max_ticks)
            return n;
    }
    n = decade_ticks(lo10, hi10, max_ticks, ticks);
    if (n >= 2)
        return n;
    return ag_plot_linear_ticks(pow(10, lo10), pow(10, hi10), max_ticks, ticks, NULL);
}

/* A tick's label: as many decimals as the step needs, or, for very large
 * or very small values, the exponent form with as many digits as the
 * axis's largest tick needs (so that the labels of one axis match, 0
 * being "0"); on a log axis %g. */
static void format_tick(double v, double step, double largest, bool log_axis, char *buf,
                        size_t size)
{
    if (log_axis) {
        snprintf(buf, size, "%g", v);
        return;
    }
    int e = (int)floor(log10(step) + 1e-9);
    double mag = fmax(largest, step);
    if (mag < 1e6 && e >= -5) {
        snprintf(buf, size, "%.*f", e < 0 ? -e : 0, v);
    } else if (v == 0) {
        snprintf(buf, size, "0");
    } else {
        int digits = (int)floor(log10(mag)) - e;
        snprintf(buf, size, "%.*e", digits < 0 ? 0 : digits > 15 ? 15 : digits, v);
    }
}

/* ------------------------------------------------------------------ */
/* Layout                                                              */
/* ------------------------------------------------------------------ */

static int text_width(const char *s, int scale)
{
    size_t n = strlen(s);
    return n ? (int)n * ADVANCE * scale - scale : 0;
}

/* How many bytes of s fit in max_px pixels: labels longer than the
 * picture are cut rather than run off it. */
static int fit(const char *s, int max_px, int scale)
{
    size_t n = strlen(s), room = (size_t)((max_px + scale) / (ADVANCE * scale));
    return (int)(n < room ? n : room);
}

static bool has_text(const char *s)
{
    return s && *s;
}

/* The point's value on the axis, or false when it is not drawn. */
static bool point_at(const ag_plot_series *s, int64_t i, bool log_y, double *x, double *y)
{
    *x = s->x ? s->x[i] : (double)i;
    *y = s->y[i];
    if (!isfinite(*x) || !isfinite(*y))
        return false;
    if (log_y) {
        if (!(*y > 0))
            return false;
        *y = log10(*y);
    }
    return true;
}

/* Widens [lo, hi] as the header says; false when the result is not
 * finite (values near the ends of the double range). */
static bool widen(double *lo, double *hi, bool log_axis)
{
    if (*lo == *hi) {
        double h = log_axis ? 0.5 : *lo != 0 ? fabs(*lo) / 10 : 1;
        *lo -= h;
        *hi += h;
    }
    double pad = (*hi - *lo) * MARGIN;
    *lo -= pad;
    *hi += pad;
    return isfinite(*lo) && isfinite(*hi) && isfinite(*hi - *lo);
}

static bool check_args(int n_series, const ag_plot_series *series, const ag_plot_opts *o)
{
    if (n_series < 1 || n_series > MAX_SERIES) {
        ag_error_set(AG_ERR_VALUE, "save_png_plot: %d series; 1 .. %d are drawn", n_series,
                     MAX_SERIES);
        return false;
    }
    for (int k = 0; k < n_series; k++) {
        const ag_plot_series *s = &series[k];
        const char *name = s->name ? s->name : "";
        if (s->n < 0) {
            ag_error_set(AG_ERR_VALUE, "save_png_plot: series %d \"%.60s\" has n = %lld < 0", k,
                         name, (long long)s->n);
            return false;
        }
        if (s->n > 0 && !s->y) {
            ag_error_set(AG_ERR_NULL, "save_png_plot: series %d \"%.60s\" has n = %lld and y NULL",
                         k, name, (long long)s->n);
            return false;
        }
    }
    if (o->width < MIN_SIDE || o->width > MAX_SIDE || o->height < MIN_SIDE ||
        o->height > MAX_SIDE) {
        ag_error_set(AG_ERR_VALUE, "save_png_plot: a picture of %d x %d pixels; width and height "
                     "must be %d .. %d", o->width, o->height, MIN_SIDE, MAX_SIDE);
        return false;
    }
    return true;
}

/* The ranges of the drawn points: false (with the error) when there are
 * none or they cannot be mapped. */
static bool data_ranges(int n_series, const ag_plot_series *series, bool log_y, ag_plot_layout *L)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    bool any_finite = false;
    for (int k = 0; k < n_series; k++)
        for (int64_t i = 0; i < series[k].n; i++) {
            double x, y;
            if (point_at(&series[k], i, false, &x, &y))
                any_finite = true;
            if (!point_at(&series[k], i, log_y, &x, &y))
                continue;
            x0 = fmin(x0, x);
            x1 = fmax(x1, x);
            y0 = fmin(y0, y);
            y1 = fmax(y1, y);
        }
    if (!any_finite) {
        ag_error_set(AG_ERR_VALUE, "save_png_plot: no series has a point with finite x and y");
        return false;
    }
    if (x0 > x1) {
        ag_error_set(AG_ERR_VALUE, "save_png_plot: a log y axis, but no finite point has y > 0");
        return false;
    }
    if (!widen(&x0, &x1, false) || !widen(&y0, &y1, log_y)) {
        ag_error_set(AG_ERR_VALUE, "save_png_plot: the points span x in [%g, %g], y in [%g, %g]: "
                     "too wide a range to draw", x0, x1, y0, y1);
        return false;
    }
    L->x = (ag_plot_axis){.lo = x0, .hi = x1};
    L->y = (ag_plot_axis){.lo = y0, .hi = y1, .log = log_y};
    return true;
}

static double tick_step(const ag_plot_axis *a)
{
    return a->n_ticks >= 2 ? a->ticks[1] - a->ticks[0] : a->hi - a->lo;
}

/* Tick k's label. */
static void tick_label(const ag_plot_axis *a, int k, char *buf, size_t size)
{
    double largest = 0;
    for (int i = 0; i < a->n_ticks; i++)
        largest = fmax(largest, fabs(a->ticks[i]));
    format_tick(a->ticks[k], tick_step(a), largest, a->log, buf, size);
}

/* The widest label of an axis's ticks, in pixels. */
static int widest_label(const ag_plot_axis *a, int scale)
{
    int w = 0;
    char buf[64];
    for (int k = 0; k < a->n_ticks; k++) {
        tick_label(a, k, buf, sizeof buf);
        int t = text_width(buf, scale);
        w = t > w ? t : w;
    }
    return w;
}

static void axis_ticks(ag_plot_axis *a, int max_ticks)
{
    if (a->log)
        a->n_ticks = ag_plot_log_ticks(a->lo, a->hi, max_ticks, a->ticks);
    else
        a->n_ticks = ag_plot_linear_ticks(a->lo, a->hi, max_ticks, a->ticks, NULL);
    if (a->n_ticks > AG_PLOT_MAX_TICKS)
        a->n_ticks = AG_PLOT_MAX_TICKS;
}

static double axis_value(const ag_plot_axis *a, double v)
{
    return a->log ? log10(v) : v;
}

bool ag_plot_layout_compute(int n_series, const ag_plot_series *series, const ag_plot_opts *opts,
                            ag_plot_layout *out)
{
    if (!series || !out) {
        ag_error_set(AG_ERR_NULL, "save_png_plot: %s is NULL", series ? "the layout" : "series");
        return false;
    }
    ag_plot_opts o = opts ? *opts : ag_plot_defaults();
    if (!check_args(n_series, series, &o))
        return false;
    ag_plot_layout L = {.width = o.width, .height = o.height};
    if (!data_ranges(n_series, series, o.log_y, &L))
        return false;
    int s = (o.width < o.height ? o.width : o.height) / 400;
    s = s < 1 ? 1 : s;
    L.text_scale = s;
    int margin = 8 * s, gap = 5 * s, tick = 4 * s, th = GLYPH_H * s;
    /* The title at twice the labels' size if it fits. */
    L.title_scale = has_text(o.title) && text_width(o.title, 2 * s) > o.width - 2 * margin ? s
                                                                                          : 2 * s;
    L.top = margin + (has_text(o.title) ? GLYPH_H * L.title_scale + margin : th / 2);
    L.bottom = o.height - margin - th - gap - tick - (has_text(o.xlabel) ? th + gap : 0);
    /* Ticks at least 40 text pixels apart upwards. */
    axis_ticks(&L.y, 1 + (L.bottom - L.top) / (40 * s));
    L.left = margin + (has_text(o.ylabel) ? th + gap : 0) + widest_label(&L.y, s) + gap + tick;
    /* Room for half of the last x label past the frame. */
    L.right = o.width - 3 * ADVANCE * s;
    int plot_w = L.right - L.left;
    if (plot_w < MIN_PLOT || L.bottom - L.top < MIN_PLOT) {
        ag_error_set(AG_ERR_VALUE, "save_png_plot: a picture of %d x %d pixels leaves a plot area "
                     "of %d x %d for these labels and ticks; at least %d x %d is drawn", o.width,
                     o.height, plot_w, L.bottom - L.top, MIN_PLOT, MIN_PLOT);
        return false;
    }
    /* x ticks as many as fit with a gap of two letters between labels. */
    for (int max = 1 + plot_w / (50 * s); max >= 2; max--) {
        axis_ticks(&L.x, max);
        int need = widest_label(&L.x, s) + 2 * ADVANCE * s;
        double px_step = tick_step(&L.x) / (L.x.hi - L.x.lo) * plot_w;
        if (L.x.n_ticks < 2 || px_step >= need)
            break;
    }
    *out = L;
    return true;
}

ag_plot_opts ag_plot_defaults(void)
{
    return (ag_plot_opts){.width = 640, .height = 400};
}

/* ------------------------------------------------------------------ */
/* Drawing                                                             */
/* ------------------------------------------------------------------ */

typedef struct canvas {
    int w, h;
    unsigned char *px;       /* h rows of w RGB pixels */
    int clip_x1;             /* nothing is drawn right of this (the legend's edge) */
} canvas;

static void put(canvas *c, int x, int y, const unsigned char rgb[3])
{
    if (x < 0 || y < 0 || x >= c->w || x >= c->clip_x1 || y >= c->h)
        return;
    memcpy(c->px + ((size_t)y * c->w + x) * 3, rgb, 3);
}

static void fill(canvas *c, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            put(c, x, y, rgb);
}

/* Text with its top-left corner at (x, y); `up` turns it a quarter to the
 * left (reading upwards), with (x, y) then its bottom-left corner. */
static void draw_text(canvas *c, int x, int y, const char *s, int len, int scale, bool up,
                      const unsigned char rgb[3])
{
    for (int k = 0; k < len && s[k]; k++) {
        unsigned char ch = (unsigned char)s[k];
        const char *g = ch >= 32 && ch <= 126 ? FONT[ch - 32] : BOX;
        for (int gy = 0; gy < GLYPH_H; gy++)
            for (int gx = 0; gx < GLYPH_W; gx++) {
                if (g[gy * (GLYPH_W + 1) + gx] != '#')
                    continue;
                int along = (k * ADVANCE + gx) * scale, across = gy * scale;
                if (up)
                    fill(c, x + across, y - along - scale, x + across + scale, y - along, rgb);
                else
                    fill(c, x + along, y + across, x + along + scale, y + across + scale, rgb);
            }
    }
}

/* Text centred on x, kept inside the picture (cut if wider than it less
 * the margins). */
static void draw_text_centred(canvas *c, int x, int y, const char *s, int scale, int margin,
                              const unsigned char rgb[3])
{
    int len = fit(s, c->w - 2 * margin, scale);
    int w = len ? len * ADVANCE * scale - scale : 0;
    int x0 = x - w / 2;
    x0 = x0 + w > c->w - margin ? c->w - margin - w : x0;
    draw_text(c, x0 < margin ? margin : x0, y, s, len, scale, false, rgb);
}

/* Coverage of one series' lines over the plot area (0 .. 255), kept at its
 * maximum where segments overlap, so that joints and overdrawn stretches
 * are no darker than the line. */
typedef struct ink {
    int x0, y0, w, h; /* the plot area */
    unsigned char *cov;
    double r;         /* half the line width */
} ink;

static double dist_to_segment(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

static void cover(ink *k, int i, int j, double d)
{
    if (i < k->x0 || j < k->y0 || i >= k->x0 + k->w || j >= k->y0 + k->h)
        return;
    double a = k->r + 0.5 - d;
    if (a <= 0)
        return;
    unsigned char v = a >= 1 ? 255 : (unsigned char)(a * 255 + 0.5);
    unsigned char *p = &k->cov[(size_t)(j - k->y0) * k->w + (i - k->x0)];
    *p = v > *p ? v : *p;
}

/* A segment with round ends, anti-aliased by each pixel centre's distance
 * to it; only a band around the line is visited, stepping along its
 * longer direction. */
static void segment(ink *k, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, r = k->r;
    bool steep = fabs(dy) > fabs(dx);
    double a0 = steep ? ay : ax, a1 = steep ? by : bx, da = steep ? dy : dx;
    double b0 = steep ? ax : ay, db = steep ? dx : dy;
    int lo = (int)floor(fmin(a0, a1) - r - 1), hi = (int)ceil(fmax(a0, a1) + r + 1);
    double band = r * 1.5 + 2;
    for (int u = lo; u <= hi; u++) {
        double t = da != 0 ? (u + 0.5 - a0) / da : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        double c = b0 + t * db;
        for (int v = (int)floor(c - band); v <= (int)ceil(c + band); v++) {
            int i = steep ? v : u, j = steep ? u : v;
            cover(k, i, j, dist_to_segment(i + 0.5, j + 0.5, ax, ay, bx, by));
        }
    }
}

/* Feeds a series' points to the line drawer: per pixel column, only the
 * first, lowest, highest and last of a run of points in it, in their
 * order, so that a million points cost what a few thousand do and look
 * the same. */
typedef struct pen {
    ink *k;
    bool open;           /* a column's points are pending */
    int col;
    double fx, fy, lx, ly, mnx, mny, mxx, mxy;
    int64_t fi, li, mni, mxi;
    bool has_prev;
    double px, py;       /* the last point drawn to */
    int64_t run;         /* points drawn in this unbroken stretch */
} pen;

static void pen_to(pen *p, double x, double y)
{
    if (p->has_prev)
        segment(p->k, p->px, p->py, x, y);
    p->has_prev = true;
    p->px = x;
    p->py = y;
    p->run++;
}

static void pen_flush(pen *p)
{
    if (!p->open)
        return;
    pen_to(p, p->fx, p->fy);
    /* The extremes between first and last, in the order they came. */
    bool mn_first = p->mni < p->mxi;
    for (int pass = 0; pass < 2; pass++) {
        bool mn = (pass == 0) == mn_first;
        int64_t i = mn ? p->mni : p->mxi;
        if (i != p->fi && i != p->li)
            pen_to(p, mn ? p->mnx : p->mxx, mn ? p->mny : p->mxy);
    }
    if (p->li != p->fi)
        pen_to(p, p->lx, p->ly);
    p->open = false;
}

/* Ends a stretch of line: a point alone is drawn as a dot twice the
 * line's width, big enough to be seen. */
static void pen_break(pen *p)
{
    pen_flush(p);
    if (p->has_prev && p->run == 1) {
        double r = p->k->r;
        p->k->r = 2 * r;
        segment(p->k, p->px, p->py, p->px, p->py);
        p->k->r = r;
    }
    p->has_prev = false;
    p->run = 0;
}

static void pen_point(pen *p, int64_t i, double x, double y)
{
    int col = (int)floor(x);
    if (p->open && col == p->col) {
        p->lx = x, p->ly = y, p->li = i;
        /* Screen y grows downwards: the lowest value is the largest y. */
        if (y > p->mny)
            p->mnx = x, p->mny = y, p->mni = i;
        if (y < p->mxy)
            p->mxx = x, p->mxy = y, p->mxi = i;
        return;
    }
    pen_flush(p);
    p->open = true;
    p->col = col;
    p->fx = p->lx = p->mnx = p->mxx = x;
    p->fy = p->ly = p->mny = p->mxy = y;
    p->fi = p->li = p->mni = p->mxi = i;
}

static double to_px(const ag_plot_layout *L, double x)
{
    return L->left + (x - L->x.lo) / (L->x.hi - L->x.lo) * (L->right - L->left);
}

static double to_py(const ag_plot_layout *L, double v)
{
    return L->bottom - (v - L->y.lo) / (L->y.hi - L->y.lo) * (L->bottom - L->top);
}

/* One series onto the canvas: its coverage, then blended in its colour. */
static void draw_series(canvas *c, const ag_plot_layout *L, ink *k, const ag_plot_series *s,
                        const unsigned char rgb[3])
{
    memset(k->cov, 0, (size_t)k->w * k->h);
    pen p = {.k = k};
    for (int64_t i = 0; i < s->n; i++) {
        double x, y;
        if (point_at(s, i, L->y.log, &x, &y))
            pen_point(&p, i, to_px(L, x), to_py(L, y));
        else
            pen_break(&p);
    }
    pen_break(&p);
    for (int j = 0; j < k->h; j++)
        for (int i = 0; i < k->w; i++) {
            unsigned a = k->cov[(size_t)j * k->w + i];
            if (!a)
                continue;
            unsigned char *q = c->px + ((size_t)(j + k->y0) * c->w + (i + k->x0)) * 3;
            for (int ch = 0; ch < 3; ch++)
                q[ch] = (unsigned char)((q[ch] * (255 - a) + rgb[ch] * a + 127) / 255);
        }
}

static void draw_axes(canvas *c, const ag_plot_layout *L, const ag_plot_opts *o)
{
    int s = L->text_scale, tick = 4 * s, gap = 5 * s, th = GLYPH_H * s;
    char buf[64];
    for (int k = 0; k < L->x.n_ticks; k++) {
        int x = (int)floor(to_px(L, L->x.ticks[k]));
        fill(c, x, L->bottom, x + 1, L->bottom + 1 + tick, BLACK);
        tick_label(&L->x, k, buf, sizeof buf);
        draw_text_centred(c, x, L->bottom + 1 + tick + gap, buf, s, 0, BLACK);
    }
    for (int k = 0; k < L->y.n_ticks; k++) {
        int y = (int)floor(to_py(L, axis_value(&L->y, L->y.ticks[k])));
        fill(c, L->left - 1 - tick, y, L->left - 1, y + 1, BLACK);
        tick_label(&L->y, k, buf, sizeof buf);
        draw_text(c, L->left - 1 - tick - gap - text_width(buf, s), y - th / 2, buf,
                  (int)strlen(buf), s, false, BLACK);
    }
    /* The frame, just outside the plot area. */
    fill(c, L->left - 1, L->top - 1, L->right + 1, L->top, BLACK);
    fill(c, L->left - 1, L->bottom, L->right + 1, L->bottom + 1, BLACK);
    fill(c, L->left - 1, L->top - 1, L->left, L->bottom + 1, BLACK);
    fill(c, L->right, L->top - 1, L->right + 1, L->bottom + 1, BLACK);
    int margin = 8 * s, mid_x = (L->left + L->right) / 2;
    if (has_text(o->title))
        draw_text_centred(c, mid_x, margin, o->title, L->title_scale, margin, BLACK);
    if (has_text(o->xlabel))
        draw_text_centred(c, mid_x, L->bottom + 1 + tick + gap + th + gap, o->xlabel, s, margin,
                          BLACK);
    if (has_text(o->ylabel)) {
        int len = fit(o->ylabel, c->h - 2 * margin, s), h = len * ADVANCE * s - s;
        int y = (L->top + L->bottom) / 2 + h / 2;
        y = y > c->h - margin ? c->h - margin : y;
        draw_text(c, margin, y - h < margin ? margin + h : y, o->ylabel, len, s, true, BLACK);
    }
}

static void draw_grid(canvas *c, const ag_plot_layout *L)
{
    for (int k = 0; k < L->x.n_ticks; k++) {
        int x = (int)floor(to_px(L, L->x.ticks[k]));
        fill(c, x, L->top, x + 1, L->bottom, GRID);
    }
    for (int k = 0; k < L->y.n_ticks; k++) {
        int y = (int)floor(to_py(L, axis_value(&L->y, L->y.ticks[k])));
        fill(c, L->left, y, L->right, y + 1, GRID);
    }
}

/* Pixels of a rectangle that lines have touched (neither background nor
 * grid). */
static long inked(const canvas *c, int x0, int y0, int x1, int y1)
{
    long n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const unsigned char *q = c->px + ((size_t)y * c->w + x) * 3;
            bool white = q[0] == 255 && q[1] == 255 && q[2] == 255;
            n += !white && memcmp(q, GRID, 3) != 0;
        }
    return n;
}

/* The legend in the corner of the plot area that the lines cross least
 * (upper right first, as matplotlib's "best"). */
static void draw_legend(canvas *c, const ag_plot_layout *L, ink *k, int n_series,
                        const ag_plot_series *series)
{
    int s = L->text_scale, pad = 5 * s, sample = 20 * s, th = GLYPH_H * s, line = th + 4 * s;
    int names = 0, widest = 0;
    for (int i = 0; i < n_series; i++)
        if (has_text(series[i].name)) {
            names++;
            int w = text_width(series[i].name, s);
            widest = w > widest ? w : widest;
        }
    if (!names)
        return;
    int inset = 6 * s, room_w = L->right - L->left - 2 * inset;
    int w = pad + sample + pad + widest + pad, h = pad + names * line - 4 * s + pad;
    w = w > room_w ? room_w : w;
    int xs[4] = {L->right - inset - w, L->left + inset, L->left + inset, L->right - inset - w};
    int ys[4] = {L->top + inset, L->top + inset, L->bottom - inset - h, L->bottom - inset - h};
    int best = 0;
    long best_n = -1;
    for (int q = 0; q < 4; q++) {
        int x0 = xs[q] < L->left ? L->left : xs[q], y0 = ys[q] < L->top ? L->top : ys[q];
        int x1 = xs[q] + w > L->right ? L->right : xs[q] + w;
        int y1 = ys[q] + h > L->bottom ? L->bottom : ys[q] + h;
        long n = inked(c, x0, y0, x1, y1);
        if (best_n < 0 || n < best_n) {
            best = q;
            best_n = n;
        }
    }
    int x0 = xs[best], y0 = ys[best];
    fill(c, x0, y0, x0 + w, y0 + h, (const unsigned char[3]){255, 255, 255});
    fill(c, x0, y0, x0 + w, y0 + 1, LEGEND_EDGE);
    fill(c, x0, y0 + h - 1, x0 + w, y0 + h, LEGEND_EDGE);
    fill(c, x0, y0, x0 + 1, y0 + h, LEGEND_EDGE);
    fill(c, x0 + w - 1, y0, x0 + w, y0 + h, LEGEND_EDGE);
    /* Names wider than the plot area are cut at the box's edge. */
    c->clip_x1 = x0 + w - pad;
    int row = 0;
    for (int i = 0; i < n_series; i++) {
        if (!has_text(series[i].name))
            continue;
        int ty = y0 + pad + row * line;
        double cy = ty + th / 2.0;
        ink sample_ink = {x0 + pad, ty, sample, th, k->cov, k->r};
        memset(k->cov, 0, (size_t)sample * th);
        segment(&sample_ink, x0 + pad + k->r, cy, x0 + pad + sample - k->r, cy);
        for (int j = 0; j < th; j++)
            for (int u = 0; u < sample; u++) {
                unsigned a = k->cov[(size_t)j * sample + u];
                unsigned char *q = c->px + ((size_t)(ty + j) * c->w + (x0 + pad + u)) * 3;
                for (int ch = 0; ch < 3; ch++)
                    q[ch] = (unsigned char)((q[ch] * (255 - a) + PALETTE[i][ch] * a + 127) / 255);
            }
        draw_text(c, x0 + pad + sample + pad, ty, series[i].name, (int)strlen(series[i].name), s,
                  false, BLACK);
        row++;
    }
    c->clip_x1 = c->w;
}

static const unsigned char *canvas_row(void *ctx, int64_t y, unsigned char *buf)
{
    (void)buf;
    const canvas *c = ctx;
    return c->px + (size_t)y * c->w * 3;
}

bool ag_save_png_plot(const char *path, int n_series, const ag_plot_series *series,
                      const ag_plot_opts *opts)
{
    if (!path || !series) {
        ag_error_set(AG_ERR_NULL, "save_png_plot: %s is NULL", path ? "series" : "the path");
        return false;
    }
    ag_plot_layout L;
    if (!ag_plot_layout_compute(n_series, series, opts, &L))
        return false;
    ag_plot_opts o = opts ? *opts : ag_plot_defaults();
    canvas c = {L.width, L.height, ag_malloc((size_t)L.width * L.height * 3), L.width};
    ink k = {L.left, L.top, L.right - L.left, L.bottom - L.top,
             ag_malloc((size_t)(L.right - L.left) * (L.bottom - L.top)), L.text_scale};
    bool ok = c.px && k.cov;
    if (!ok) {
        ag_error_set(AG_ERR_NOMEM, "save_png_plot: %s: out of memory for a %d x %d picture", path,
                     L.width, L.height);
    } else {
        memset(c.px, 255, (size_t)L.width * L.height * 3);
        draw_grid(&c, &L);
        for (int i = 0; i < n_series; i++)
            draw_series(&c, &L, &k, &series[i], PALETTE[i]);
        draw_axes(&c, &L, &o);
        draw_legend(&c, &L, &k, n_series, series);
        ok = ag_png_write_file("save_png_plot", path, L.width, L.height, 3, canvas_row, &c);
    }
    ag_free(c.px);
    ag_free(k.cov);
    return ok;
}

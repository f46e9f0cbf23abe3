/* SPDX-License-Identifier: MIT */
/* check-plot.c — ag_save_png_plot: pictures read back with libpng.
 *
 * The tick rules (models/plot_internal.h) are checked on ranges worked by
 * hand from the 1-2-5 rule; the axes' spans against the header's rule
 * (the data's range widened by 5% on each side) computed here. Then the
 * pictures: each file is decoded with libpng's own reader and the layout's
 * documented linear mapping says where every point must land: the series'
 * tab10 colour must be there (±1 pixel) and absent from regions no line
 * crosses; NaN and infinite points must break the line, a log axis must
 * place powers of ten evenly, and the built-in font must draw the number
 * of pixels its glyphs have. Then every error, a series of a million
 * points, and every allocation failing in turn (no file, no temporary;
 * leaks are the sanitizer build's to find). Without libpng only the
 * argument errors and the "built without libpng" error are checked. */
#include "models_fixture.h"
#include "plot_internal.h"
#include "testing.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef AG_HAVE_LIBPNG
#include <png.h>
#endif

/* ------------------------------------------------------------------ */
/* Ticks and spans                                                     */
/* ------------------------------------------------------------------ */

static void expect_ticks(int n, const double *got, int want_n, const double *want)
{
    ck_assert_int_eq(n, want_n);
    for (int k = 0; k < n; k++)
        ck_assert_msg(fabs(got[k] - want[k]) <= 1e-12 * fmax(1, fabs(want[k])),
                      "tick %d is %.17g, expected %.17g", k, got[k], want[k]);
}

/* Worked by hand: the smallest step of 1, 2, 5 × 10^k with at most
 * max_ticks multiples in the range. */
START_TEST(test_linear_ticks)
{
    double t[AG_PLOT_MAX_TICKS], step;
    /* [0, 1], 6: 0.1 gives 11, 0.2 gives 0, 0.2, ..., 1. */
    int n = ag_plot_linear_ticks(0, 1, 6, t, &step);
    expect_ticks(n, t, 6, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1});
    ck_assert_double_eq_tol(step, 0.2, 1e-15);
    /* 200 epochs widened by 5%: 20 gives 11, 50 gives 5. */
    n = ag_plot_linear_ticks(-9.95, 208.95, 6, t, &step);
    expect_ticks(n, t, 5, (double[]){0, 50, 100, 150, 200});
    ck_assert_double_eq(step, 50);
    /* 0.01 gives 16, 0.02 gives 8 (0.38 .. 0.52), 0.05 gives 3. */
    n = ag_plot_linear_ticks(0.37, 0.52, 5, t, NULL);
    expect_ticks(n, t, 3, (double[]){0.40, 0.45, 0.50});
    /* Exactly max_ticks at step 1, both ends included. */
    n = ag_plot_linear_ticks(-3, 7, 11, t, NULL);
    expect_ticks(n, t, 11, (double[]){-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7});
    /* 1 gives 6, 2 gives 1234, 1236, 1238. */
    n = ag_plot_linear_ticks(1234, 1239, 4, t, NULL);
    expect_ticks(n, t, 3, (double[]){1234, 1236, 1238});
    /* 0.02 gives 4 > 2, 0.05 gives the single 0.55. */
    n = ag_plot_linear_ticks(0.51, 0.59, 2, t, NULL);
    expect_ticks(n, t, 1, (double[]){0.55});
    /* 0.02 gives 2 > 1, 0.05 none (0.50 and 0.55 are outside): back to 0.02. */
    n = ag_plot_linear_ticks(0.51, 0.54, 1, t, NULL);
    expect_ticks(n, t, 2, (double[]){0.52, 0.54});
    /* 1e6 gives -2e6 .. 11e6 (14), 2e6 gives 7. */
    n = ag_plot_linear_ticks(-2.5e6, 1.1e7, 8, t, NULL);
    expect_ticks(n, t, 7, (double[]){-2e6, 0, 2e6, 4e6, 6e6, 8e6, 1e7});
}
END_TEST

START_TEST(test_log_ticks)
{
    double t[AG_PLOT_MAX_TICKS];
    /* 10^-3.2 .. 10^0.4: 1, 2, 5 × 10^k give 0.001 .. 2 (11) > 6; decades
     * -3 .. 0 give 4. */
    int n = ag_plot_log_ticks(-3.2, 0.4, 6, t);
    expect_ticks(n, t, 4, (double[]){0.001, 0.01, 0.1, 1});
    /* With room for 12 they are the 11 (log10 2 = 0.30 <= 0.4 < log10 5). */
    n = ag_plot_log_ticks(-3.2, 0.4, 12, t);
    expect_ticks(n, t, 11,
                 (double[]){0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2});
    /* 21 decades: every 1 (21) and 2 (11) are too many, every 5 gives 5. */
    n = ag_plot_log_ticks(-10.5, 10.5, 6, t);
    expect_ticks(n, t, 5, (double[]){1e-10, 1e-5, 1, 1e5, 1e10});
    /* 0.126 .. 0.178: no 1, 2, 5 × 10^k and no decade inside, so linear
     * ticks over the values: 0.01 gives 0.13 .. 0.17. */
    n = ag_plot_log_ticks(-0.9, -0.75, 5, t);
    expect_ticks(n, t, 5, (double[]){0.13, 0.14, 0.15, 0.16, 0.17});
}
END_TEST

/* The spans: the drawn points' range widened by 5% of it on each side;
 * one value v first widened to v ± |v|/10 (± 1 for 0, ± half a decade on
 * a log axis). */
START_TEST(test_spans)
{
    ag_plot_layout L;
    double y[] = {1, 3};
    ag_plot_series s = {"a", NULL, y, 2};
    ck_assert_msg(ag_plot_layout_compute(1, &s, NULL, &L), "%s", ag_last_error());
    ck_assert_int_eq(L.width, 640);
    ck_assert_int_eq(L.height, 400);
    ck_assert_double_eq_tol(L.x.lo, -0.05, 1e-12);
    ck_assert_double_eq_tol(L.x.hi, 1.05, 1e-12);
    ck_assert_double_eq_tol(L.y.lo, 0.9, 1e-12);
    ck_assert_double_eq_tol(L.y.hi, 3.1, 1e-12);
    ck_assert(L.left > 0 && L.left < L.right && L.right < L.width);
    ck_assert(L.top > 0 && L.top < L.bottom && L.bottom < L.height);
    /* One value 2 at x 5: [1.8, 2.2] + 0.02 each side; x [4.5, 5.5] + 0.05. */
    double two[] = {2}, five[] = {5};
    ag_plot_series one = {NULL, five, two, 1};
    ck_assert(ag_plot_layout_compute(1, &one, NULL, &L));
    ck_assert_double_eq_tol(L.y.lo, 1.78, 1e-12);
    ck_assert_double_eq_tol(L.y.hi, 2.22, 1e-12);
    ck_assert_double_eq_tol(L.x.lo, 4.45, 1e-12);
    ck_assert_double_eq_tol(L.x.hi, 5.55, 1e-12);
    /* All zero: [-1, 1] + 0.1. */
    double zeros[] = {0, 0, 0};
    ag_plot_series z = {NULL, NULL, zeros, 3};
    ck_assert(ag_plot_layout_compute(1, &z, NULL, &L));
    ck_assert_double_eq_tol(L.y.lo, -1.1, 1e-12);
    ck_assert_double_eq_tol(L.y.hi, 1.1, 1e-12);
    /* Log: all 10 is log10 = 1, [0.5, 1.5] + 0.05; the NaN and the
     * non-positive values are skipped (x then spans 1 .. 3). */
    double tens[] = {-1, 10, NAN, 10, 0};
    ag_plot_series lg = {NULL, NULL, tens, 5};
    ag_plot_opts o = ag_plot_defaults();
    o.log_y = true;
    ck_assert(ag_plot_layout_compute(1, &lg, &o, &L));
    ck_assert(L.y.log);
    ck_assert_double_eq_tol(L.y.lo, 0.45, 1e-12);
    ck_assert_double_eq_tol(L.y.hi, 1.55, 1e-12);
    ck_assert_double_eq_tol(L.x.lo, 0.9, 1e-12);
    ck_assert_double_eq_tol(L.x.hi, 3.1, 1e-12);
    /* Two series: the union of their ranges; an empty and an all-NaN
     * series change nothing. */
    double ya[] = {0, 10}, xb[] = {-10, 30}, yb[] = {5, 6}, nan2[] = {NAN, INFINITY};
    ag_plot_series two_s[] = {{"a", NULL, ya, 2}, {"b", xb, yb, 2}, {"c", NULL, NULL, 0},
                              {"d", NULL, nan2, 2}};
    ck_assert(ag_plot_layout_compute(4, two_s, NULL, &L));
    ck_assert_double_eq_tol(L.x.lo, -12, 1e-12);
    ck_assert_double_eq_tol(L.x.hi, 32, 1e-12);
    ck_assert_double_eq_tol(L.y.lo, -0.5, 1e-12);
    ck_assert_double_eq_tol(L.y.hi, 10.5, 1e-12);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Argument errors (with or without libpng)                            */
/* ------------------------------------------------------------------ */

START_TEST(test_errors)
{
    char path[600];
    snprintf(path, sizeof path, "%s", tmp_path("bad.png"));
    double y[] = {1, 2, 3}, nans[] = {NAN, INFINITY, -INFINITY}, neg[] = {0, -1, -2};
    double huge_x[] = {-1e308, 1e308}, wide_y[] = {-1e300, -1e300 + 1e285};
    ag_plot_series ok = {"ok", NULL, y, 3};
    ag_plot_opts o = ag_plot_defaults();

    ag_error_clear();
    ck_assert(!ag_save_png_plot(NULL, 1, &ok, NULL));
    ck_assert_error(AG_ERR_NULL, "path");
    ag_error_clear();
    ck_assert(!ag_save_png_plot(path, 1, NULL, NULL));
    ck_assert_error(AG_ERR_NULL, "series");
    ag_error_clear();
    ag_plot_series null_y = {"late", NULL, NULL, 3};
    ag_plot_series pair[] = {ok, null_y};
    ck_assert(!ag_save_png_plot(path, 2, pair, NULL));
    ck_assert_error(AG_ERR_NULL, "series 1 \"late\"");

    struct {
        int n_series;
        ag_plot_series s;
        int w, h;
        bool log_y;
        const char *msg;
    } bad[] = {
        {0, {"ok", NULL, y, 3}, 640, 400, false, "0 series"},
        {11, {"ok", NULL, y, 3}, 640, 400, false, "11 series"},
        {1, {"neg", NULL, y, -1}, 640, 400, false, "n = -1"},
        {1, {"ok", NULL, y, 3}, 159, 400, false, "159 x 400"},
        {1, {"ok", NULL, y, 3}, 4001, 400, false, "4001 x 400"},
        {1, {"ok", NULL, y, 3}, 640, 159, false, "640 x 159"},
        {1, {"ok", NULL, y, 3}, 640, 4001, false, "640 x 4001"},
        {1, {"nan", NULL, nans, 3}, 640, 400, false, "no series has a point with finite"},
        {1, {"empty", NULL, NULL, 0}, 640, 400, false, "no series has a point with finite"},
        {1, {"neg", NULL, neg, 3}, 640, 400, true, "no finite point has y > 0"},
        {1, {"huge", huge_x, y, 2}, 640, 400, false, "too wide a range"},
        /* y ticks like 1.0000000000000002e+300: labels of 23 letters, 138
         * pixels of the 160. */
        {1, {"wide", NULL, wide_y, 2}, 160, 400, false, "leaves a plot area"},
    };
    ag_plot_series many[11];
    for (size_t i = 0; i < H_COUNT(bad); i++) {
        for (int k = 0; k < 11; k++)
            many[k] = bad[i].s;
        o.width = bad[i].w;
        o.height = bad[i].h;
        o.log_y = bad[i].log_y;
        ag_error_clear();
        ck_assert(!ag_save_png_plot(path, bad[i].n_series, many, &o));
        ck_assert_error(AG_ERR_VALUE, bad[i].msg);
        ck_assert_error(AG_ERR_VALUE, "save_png_plot");
    }
    ck_assert_int_eq(access(path, F_OK), -1);
#ifndef AG_HAVE_LIBPNG
    ag_error_clear();
    ck_assert(!ag_save_png_plot(path, 1, &ok, NULL));
    ck_assert_error(AG_ERR_VALUE, "built without libpng");
    ck_assert_int_eq(access(path, F_OK), -1);
#endif
}
END_TEST

#ifdef AG_HAVE_LIBPNG

/* ------------------------------------------------------------------ */
/* Reading a PNG back                                                  */
/* ------------------------------------------------------------------ */

/* matplotlib's tab10, from its documentation: series k's colour. */
static const unsigned char TAB10[10][3] = {
    {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
    {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
    {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf},
};


typedef struct picture {
    unsigned width, height;
    unsigned char *px; /* RGB rows; free() */
} picture;

static picture read_png(const char *path)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    ck_assert_msg(png_image_begin_read_from_file(&img, path), "libpng cannot read %s: %s", path,
                  img.message);
    ck_assert_msg(img.format == PNG_FORMAT_RGB, "%s: format %#x, expected 8-bit RGB", path,
                  img.format);
    picture p = {img.width, img.height, malloc(PNG_IMAGE_SIZE(img))};
    ck_assert_ptr_nonnull(p.px);
    ck_assert_msg(png_image_finish_read(&img, NULL, p.px, 0, NULL), "libpng: %s", img.message);
    return p;
}

static const unsigned char *at(const picture *p, int x, int y)
{
    return p->px + ((size_t)y * p->width + x) * 3;
}

static bool is(const unsigned char *q, const unsigned char rgb[3])
{
    return q[0] == rgb[0] && q[1] == rgb[1] && q[2] == rgb[2];
}

/* Tinted towards rgb: within 60 of it in every channel (anti-aliased
 * edges included, white and grey and the other palette colours used here
 * not). */
static bool near(const unsigned char *q, const unsigned char rgb[3])
{
    for (int c = 0; c < 3; c++)
        if (abs((int)q[c] - (int)rgb[c]) > 60)
            return false;
    return true;
}

/* The documented mapping (plot_internal.h). */
static double px_of(const ag_plot_layout *L, double x)
{
    return L->left + (x - L->x.lo) / (L->x.hi - L->x.lo) * (L->right - L->left);
}

static double py_of(const ag_plot_layout *L, double y)
{
    double v = L->y.log ? log10(y) : y;
    return L->bottom - (v - L->y.lo) / (L->y.hi - L->y.lo) * (L->bottom - L->top);
}

/* Whether colour rgb is exactly at one of the pixels within ±r of the
 * pixel holding (px, py). */
static bool colour_around(const picture *p, double px, double py, int r,
                          const unsigned char rgb[3], bool exact)
{
    int x0 = (int)floor(px), y0 = (int)floor(py);
    for (int y = y0 - r; y <= y0 + r; y++)
        for (int x = x0 - r; x <= x0 + r; x++)
            if (x >= 0 && y >= 0 && x < (int)p->width && y < (int)p->height &&
                (exact ? is(at(p, x, y), rgb) : near(at(p, x, y), rgb)))
                return true;
    return false;
}

static int files_starting(const char *prefix)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tmp_path(""));
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static picture save_and_read(const char *name, int n_series, const ag_plot_series *s,
                             const ag_plot_opts *o, ag_plot_layout *L)
{
    char path[600];
    snprintf(path, sizeof path, "%s", tmp_path(name));
    ck_assert_msg(ag_save_png_plot(path, n_series, s, o), "%s", ag_last_error());
    ck_assert_msg(ag_plot_layout_compute(n_series, s, o, L), "%s", ag_last_error());
    picture p = read_png(path);
    ck_assert_uint_eq(p.width, (unsigned)L->width);
    ck_assert_uint_eq(p.height, (unsigned)L->height);
    return p;
}

/* ------------------------------------------------------------------ */
/* Pictures                                                            */
/* ------------------------------------------------------------------ */

/* Two unnamed series (no legend): a rising line y = x over x = 0 .. 20 and
 * a zigzag around 5 with explicit x. Every point is where the mapping
 * puts it, in its own tab10 colour; the rising line's colour is absent
 * from the region well above it (upper left) and below it (lower right);
 * the background is white and the frame black. */
START_TEST(test_points_land)
{
    enum { N = 21 };
    double y0[N], x1[N], y1[N];
    for (int i = 0; i < N; i++) {
        y0[i] = i;
        x1[i] = i * 0.5 + 2;
        y1[i] = 5 + (i % 2 ? 1.5 : -1.5);
    }
    ag_plot_series s[] = {{NULL, NULL, y0, N}, {NULL, x1, y1, N}};
    ag_plot_layout L;
    picture p = save_and_read("points.png", 2, s, NULL, &L);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(colour_around(&p, px_of(&L, i), py_of(&L, y0[i]), 1, TAB10[0], true),
                      "series 0 point %d (%g, %g) not at pixel (%.1f, %.1f)", i, (double)i, y0[i],
                      px_of(&L, i), py_of(&L, y0[i]));
        /* Where the zigzag crosses the line, the later series is on top. */
        ck_assert_msg(colour_around(&p, px_of(&L, x1[i]), py_of(&L, y1[i]), 1, TAB10[1], true),
                      "series 1 point %d not at pixel (%.1f, %.1f)", i, px_of(&L, x1[i]),
                      py_of(&L, y1[i]));
    }
    /* Well away from y = x: above it on the left, below it on the right,
     * outside the zigzag's band [3.5, 6.5] and x range [2, 12]. */
    for (int yy = (int)py_of(&L, 20); yy < (int)py_of(&L, 8); yy++)
        for (int xx = (int)px_of(&L, 0) + 2; xx < (int)px_of(&L, 5); xx++)
            ck_assert_msg(!near(at(&p, xx, yy), TAB10[0]) && !near(at(&p, xx, yy), TAB10[1]),
                          "a line's colour at (%d, %d), far from both series", xx, yy);
    for (int yy = (int)py_of(&L, 3); yy < (int)py_of(&L, 0); yy++)
        for (int xx = (int)px_of(&L, 14); xx < (int)px_of(&L, 20) - 2; xx++)
            ck_assert_msg(!near(at(&p, xx, yy), TAB10[0]),
                          "series 0's colour at (%d, %d), far below it", xx, yy);
    static const unsigned char WHITE[3] = {255, 255, 255}, BLACK[3] = {0, 0, 0};
    ck_assert(is(at(&p, 1, 1), WHITE));
    ck_assert(is(at(&p, L.width - 2, L.height - 2), WHITE));
    for (int y = L.top; y < L.bottom; y += 7) {
        ck_assert(is(at(&p, L.left - 1, y), BLACK));
        ck_assert(is(at(&p, L.right, y), BLACK));
    }
    for (int x = L.left; x < L.right; x += 7) {
        ck_assert(is(at(&p, x, L.top - 1), BLACK));
        ck_assert(is(at(&p, x, L.bottom), BLACK));
    }
    free(p.px);
}
END_TEST

/* NaN and ±inf break the line: nothing is drawn between the points on
 * either side of one (the straight line through them would pass where the
 * missing point is), and a point between two gaps is a dot. A series with
 * no finite point is drawn as nothing beside one that has. */
START_TEST(test_nan_breaks)
{
    enum { N = 13 };
    double y[N];
    for (int i = 0; i < N; i++)
        y[i] = i;
    y[3] = NAN;
    y[6] = INFINITY;
    y[8] = -INFINITY; /* 7 alone between two gaps */
    double xs[N];
    for (int i = 0; i < N; i++)
        xs[i] = i;
    xs[10] = NAN; /* x too */
    double all_nan[] = {NAN, NAN};
    ag_plot_series s[] = {{NULL, xs, y, N}, {"gone", NULL, all_nan, 2}};
    ag_plot_layout L;
    picture p = save_and_read("nan.png", 2, s, NULL, &L);
    for (int i = 0; i < N; i++) {
        bool drawn = i != 3 && i != 6 && i != 8 && i != 10;
        double px = px_of(&L, i), py = py_of(&L, i);
        if (drawn)
            ck_assert_msg(colour_around(&p, px, py, 1, TAB10[0], true), "point %d missing", i);
        else
            ck_assert_msg(!colour_around(&p, px, py, 3, TAB10[0], false),
                          "the line goes through the gap at %d", i);
    }
    /* The legend names the empty series in its colour; no line of it. */
    int orange = 0;
    for (int y2 = L.top; y2 < L.bottom; y2++)
        for (int x = L.left; x < L.right; x++)
            orange += is(at(&p, x, y2), TAB10[1]);
    ck_assert_int_gt(orange, 0);  /* the legend's sample */
    ck_assert_int_lt(orange, 60); /* and nothing else */
    free(p.px);
}
END_TEST

/* A log axis: 10^k for k = -3 .. 2 land evenly spaced, as the mapping of
 * log10 says; zero and negative values are skipped (and break the line);
 * the ticks are decades. */
START_TEST(test_log_axis)
{
    double y[] = {1e-3, 1e-2, 0, 1e-1, 1, -5, 10, 100};
    double x[] = {0, 1, 1.5, 2, 3, 3.5, 4, 5};
    ag_plot_series s = {NULL, x, y, 8};
    ag_plot_opts o = ag_plot_defaults();
    o.log_y = true;
    ag_plot_layout L;
    picture p = save_and_read("log.png", 1, &s, &o, &L);
    ck_assert_double_eq_tol(L.y.lo, -3 - 0.25, 1e-12);
    ck_assert_double_eq_tol(L.y.hi, 2 + 0.25, 1e-12);
    for (int k = 0; k < L.y.n_ticks; k++) {
        double e = log10(L.y.ticks[k]);
        ck_assert_msg(fabs(e - round(e)) < 1e-12, "tick %g is no power of ten", L.y.ticks[k]);
    }
    ck_assert_int_ge(L.y.n_ticks, 3);
    for (int i = 0; i < 8; i++) {
        if (!(y[i] > 0)) {
            /* between (1, 1e-2) and (2, 1e-1) nothing, nor at (3.5, ~3) */
            double mid = i == 2 ? sqrt(1e-2 * 1e-1) : sqrt(1.0 * 10);
            ck_assert(!colour_around(&p, px_of(&L, x[i]), py_of(&L, mid), 2, TAB10[0], false));
            continue;
        }
        ck_assert_msg(colour_around(&p, px_of(&L, x[i]), py_of(&L, y[i]), 1, TAB10[0], true),
                      "point %d (%g) not at (%.1f, %.1f)", i, y[i], px_of(&L, x[i]),
                      py_of(&L, y[i]));
    }
    free(p.px);
}
END_TEST

/* A legend is drawn where the lines are not: with two curves in the lower
 * half, the upper right corner holds both samples (horizontal runs of the
 * series' colours); without names there is none. */
START_TEST(test_legend)
{
    enum { N = 50 };
    double a[N], b[N], top[] = {10};
    for (int i = 0; i < N; i++) {
        a[i] = 2 + 1.0 / (1 + i);
        b[i] = 2.5 + 0.5 / (1 + i);
    }
    double one_x[] = {0};
    ag_plot_series s[] = {{"train", NULL, a, N}, {"held-out", NULL, b, N},
                          {NULL, one_x, top, 1}};
    ag_plot_layout L;
    picture p = save_and_read("legend.png", 3, s, NULL, &L);
    int runs[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int y = L.top; y < (L.top + L.bottom) / 2; y++) {
            int run = 0;
            for (int x = (L.left + L.right) / 2; x < L.right; x++) {
                run = is(at(&p, x, y), TAB10[k]) ? run + 1 : 0;
                runs[k] = run > runs[k] ? run : runs[k];
            }
        }
    ck_assert_int_ge(runs[0], 10);
    ck_assert_int_ge(runs[1], 10);
    free(p.px);
}
END_TEST

/* Text: the built-in font's glyphs, counted in ink above the frame. A
 * title " " has none; "-" is one 5-pixel bar; a byte outside printable
 * ASCII is a box outline (5 + 5 + 5 + 5 = 20 glyph pixels, so "\xc3\xa9"
 * is 40). The title is at twice the text scale (1 at 640 × 400), so each
 * glyph pixel is 2 × 2. */
static int ink_above_frame(const char *title)
{
    double y[] = {1, 2};
    ag_plot_series s = {NULL, NULL, y, 2};
    ag_plot_opts o = ag_plot_defaults();
    o.title = title;
    ag_plot_layout L;
    picture p = save_and_read("title.png", 1, &s, &o, &L);
    ck_assert_int_eq(L.title_scale, 2);
    int n = 0;
    for (int yy = 0; yy < L.top - 1; yy++)
        for (unsigned x = 0; x < p.width; x++)
            n += at(&p, (int)x, yy)[0] < 128;
    free(p.px);
    return n;
}

START_TEST(test_font)
{
    ck_assert_int_eq(ink_above_frame(" "), 0);
    ck_assert_int_eq(ink_above_frame("-"), 5 * 4);
    ck_assert_int_eq(ink_above_frame("\x01"), 20 * 4);
    ck_assert_int_eq(ink_above_frame("\xc3\xa9"), 40 * 4);
    /* "1": 1 + 2 + 1 + 1 + 1 + 1 + 3 glyph pixels. */
    ck_assert_int_eq(ink_above_frame("1"), 10 * 4);
}
END_TEST

/* A million points: drawn (each column keeps its extremes, so the highest
 * and lowest points are there) in reasonable time. */
START_TEST(test_long_series)
{
    enum { N = 1000000 };
    double *y = malloc(N * sizeof *y);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < N; i++)
        y[i] = 1 + sin(i * 0.001) * 0.5 + 0.01 * (double)(((long long)i * 7919) % 101) / 101.0;
    y[123457] = 3; /* one spike */
    ag_plot_series s = {"long", NULL, y, N};
    ag_plot_layout L;
    picture p = save_and_read("long.png", 1, &s, NULL, &L);
    ck_assert(colour_around(&p, px_of(&L, 123457), py_of(&L, 3), 1, TAB10[0], true));
    ck_assert(colour_around(&p, px_of(&L, 0), py_of(&L, y[0]), 1, TAB10[0], true));
    free(p.px);
    free(y);
}
END_TEST

/* A save over an existing file replaces it; a save that fails (a folder
 * that does not exist; the path is a folder) names the path and the
 * system's reason and leaves no temporary. */
START_TEST(test_io_errors)
{
    double y[] = {1, 2};
    ag_plot_series s = {NULL, NULL, y, 2};
    char path[600];
    snprintf(path, sizeof path, "%s", tmp_path("again.png"));
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a png", f);
    fclose(f);
    ck_assert_msg(ag_save_png_plot(path, 1, &s, NULL), "%s", ag_last_error());
    picture p = read_png(path);
    free(p.px);

    char missing[600];
    snprintf(missing, sizeof missing, "%s", tmp_path("no-such-folder/x.png"));
    ag_error_clear();
    ck_assert(!ag_save_png_plot(missing, 1, &s, NULL));
    ck_assert_error(AG_ERR_IO, missing);
    ck_assert_error(AG_ERR_IO, strerror(ENOENT));

    char dir[600];
    snprintf(dir, sizeof dir, "%s", tmp_path("plot-folder"));
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ag_error_clear();
    ck_assert(!ag_save_png_plot(dir, 1, &s, NULL));
    ck_assert_error(AG_ERR_IO, dir);
    ck_assert_error(AG_ERR_IO, strerror(EISDIR));
    ck_assert_int_eq(files_starting("plot-folder.tmp"), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Every allocation failing in turn: AG_ERR_NOMEM, no file and no
 * temporary; then the same call succeeds. */
START_TEST(test_out_of_memory)
{
    double y[] = {3, 1, 2, 0.5}, y2[] = {2, 2.5, 1, 1};
    ag_plot_series s[] = {{"a", NULL, y, 4}, {"b", NULL, y2, 4}};
    ag_plot_opts o = ag_plot_defaults();
    o.title = "t";
    char path[600];
    snprintf(path, sizeof path, "%s", tmp_path("oom.png"));
    size_t before = ag_alloc_count();
    ck_assert_msg(ag_save_png_plot(path, 2, s, &o), "%s", ag_last_error());
    long total = (long)(ag_alloc_count() - before);
    ck_assert_int_ge(total, 3); /* canvas, coverage, the writer's name and row */
    ck_assert_int_eq(unlink(path), 0);
    for (long k = 0; k < total; k++) {
        ag_error_clear();
        ag_alloc_fail_after(k);
        bool ok = ag_save_png_plot(path, 2, s, &o);
        ag_alloc_fail_after(-1);
        ck_assert_msg(!ok, "allocation %ld of %ld failed unseen", k, total);
        ck_assert_status(AG_ERR_NOMEM);
        ck_assert_int_eq(access(path, F_OK), -1);
        ck_assert_int_eq(files_starting("oom.png"), 0);
    }
    ck_assert_msg(ag_save_png_plot(path, 2, s, &o), "%s", ag_last_error());
}
END_TEST

#endif /* AG_HAVE_LIBPNG */

Suite *plot_suite(void);
Suite *plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = h_tcase(s, "plot", H_TIMEOUT);
    tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_linear_ticks);
    tcase_add_test(tc, test_log_ticks);
    tcase_add_test(tc, test_spans);
    tcase_add_test(tc, test_errors);
#ifdef AG_HAVE_LIBPNG
    tcase_add_test(tc, test_points_land);
    tcase_add_test(tc, test_nan_breaks);
    tcase_add_test(tc, test_log_axis);
    tcase_add_test(tc, test_legend);
    tcase_add_test(tc, test_font);
    tcase_add_test(tc, test_long_series);
    tcase_add_test(tc, test_io_errors);
    tcase_add_test(tc, test_out_of_memory);
#else
    fprintf(stderr, "check-plot: built without libpng; only the rules and the errors are "
                    "checked, no picture\n");
#endif
    return s;
}

H_MAIN(plot_suite)

/* SPDX-License-Identifier: MIT */
/* image.c — a batch of images as one PNG grid, through libpng.
 *
 * For looking at data and at what a model makes of it (digits, clothes, an
 * autoencoder's reconstructions, a VAE's samples): the layout of
 * torchvision's make_grid (images row by row, a border around and between
 * them), each pixel optionally repeated scale×scale times so that 8×8
 * digits are big enough to see. The grid is produced one output row at a
 * time, so nothing as large as the picture is allocated; png_write.c writes
 * it to a temporary beside the target, synced and renamed over it, so a
 * failed save never leaves half a picture where a good one was. */
#include "png_internal.h"

#include <math.h>
#include <string.h>

/* The border's grey: mid-way, so that the edges of an image show whether its
 * own background is black (MNIST) or white. */
#define BORDER 128
/* libpng refuses wider or taller images unless told otherwise
 * (PNG_USER_WIDTH_MAX); no picture for the eye needs more. */
#define MAX_SIDE 1000000.0

/* The geometry of one grid, as checked. */
typedef struct grid {
    int64_t n, c, h, w;       /* images, channels (1 or 3), rows, columns */
    int64_t cols, rows;       /* images per row of the grid, rows of images */
    int64_t pad, scale;
    int64_t width, height;    /* of the picture, in pixels */
} grid;

static bool check_args(const char *path, const ag_tensor *t, int nrow, int pad, int scale,
                       double lo, double hi, grid *g)
{
    if (!path || !t) {
        ag_error_set(AG_ERR_NULL, "save_png_grid: %s is NULL", path ? "the tensor" : "the path");
        return false;
    }
    if (!ag_tensor_live(t)) {
        ag_error_set(AG_ERR_STALE, "save_png_grid: the tensor is an intermediate of a reset tape");
        return false;
    }
    char s[160];
    ag_dtype dt = ag_tensor_dtype(t);
    if (dt != AG_F32 && dt != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "save_png_grid: the images are %s; f32 or f64 are drawn",
                     ag_dtype_str(dt));
        return false;
    }
    int nd = ag_ndim(t);
    const int64_t *sh = ag_shape(t);
    bool fits = nd == 3 || (nd == 4 && (sh[1] == 1 || sh[1] == 3));
    if (!fits || sh[0] < 1 || sh[nd - 2] < 1 || sh[nd - 1] < 1) {
        ag_error_set(AG_ERR_SHAPE,
                     "save_png_grid: images of shape %s; expected (N, H, W), (N, 1, H, W) or "
                     "(N, 3, H, W) with N, H, W >= 1",
                     ag_format_shape(nd, sh, s, sizeof s));
        return false;
    }
    if (nrow < 0 || pad < 0 || scale < 1) {
        ag_error_set(AG_ERR_VALUE,
                     "save_png_grid: nrow %d, pad %d, scale %d; nrow and pad must be >= 0 and "
                     "scale >= 1", nrow, pad, scale);
        return false;
    }
    if (!isfinite(lo) || !isfinite(hi) || lo > hi) {
        ag_error_set(AG_ERR_VALUE,
                     "save_png_grid: the range [%g, %g] is not a finite lo <= hi (lo == hi: "
                     "each image's own minimum and maximum)", lo, hi);
        return false;
    }
    g->n = sh[0];
    g->c = nd == 4 ? sh[1] : 1;
    g->h = sh[nd - 2];
    g->w = sh[nd - 1];
    g->pad = pad;
    g->scale = scale;
    int64_t cols = nrow;
    if (nrow == 0) {
        cols = (int64_t)ceil(sqrt((double)g->n));
        while (cols * cols < g->n) /* sqrt's rounding, for very large N */
            cols++;
    }
    g->cols = cols < g->n ? cols : g->n;
    g->rows = (g->n + g->cols - 1) / g->cols;
    /* In double, exact far beyond the limit, so nothing overflows. */
    double width = (double)g->cols * ((double)g->w * scale + pad) + pad;
    double height = (double)g->rows * ((double)g->h * scale + pad) + pad;
    if (width > MAX_SIDE || height > MAX_SIDE) {
        ag_error_set(AG_ERR_VALUE,
                     "save_png_grid: a grid of %lld x %lld images of %s at scale %d, pad %d "
                     "would be %.0f x %.0f pixels; at most %.0f on a side",
                     (long long)g->rows, (long long)g->cols, ag_format_shape(nd, sh, s, sizeof s),
                     scale, pad, width, height, MAX_SIDE);
        return false;
    }
    g->width = (int64_t)width;
    g->height = (int64_t)height;
    return true;
}

/* Element e of the images as a double. */
static double value_at(const ag_tensor *t, size_t e)
{
    return ag_tensor_dtype(t) == AG_F32 ? (double)((const float *)ag_data_const(t))[e]
                                        : ((const double *)ag_data_const(t))[e];
}

/* Each image's range: [lo, hi] for all, or its own minimum and maximum
 * (NaNs ignored) when lo == hi. */
static void ranges(const ag_tensor *t, const grid *g, double lo, double hi, double *mins,
                   double *maxs)
{
    size_t per = (size_t)(g->c * g->h * g->w);
    for (int64_t k = 0; k < g->n; k++) {
        mins[k] = lo;
        maxs[k] = hi;
        if (lo != hi)
            continue;
        double mn = INFINITY, mx = -INFINITY;
        for (size_t e = 0; e < per; e++) {
            double v = value_at(t, (size_t)k * per + e);
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        mins[k] = mn;
        maxs[k] = mx;
    }
}

/* v mapped from [mn, mx] to 0..255: clamped, then rounded half up as
 * torchvision's save_image does (x·255 + 0.5, truncated). NaN and an image
 * of a single value (mn == mx) give 0. */
static unsigned char to_byte(double v, double mn, double mx)
{
    if (!(mx > mn) || isnan(v))
        return 0;
    double x = (v - mn) / (mx - mn);
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    return (unsigned char)(x * 255.0 + 0.5);
}

/* Where output coordinate p falls: the image slot (row or column of the
 * grid) and the source pixel in it, or false on the border. */
static bool locate(int64_t p, int64_t side, const grid *g, int64_t *slot, int64_t *src)
{
    if (p < g->pad)
        return false;
    int64_t cell = side * g->scale + g->pad;
    int64_t off = (p - g->pad) % cell;
    *slot = (p - g->pad) / cell;
    *src = off / g->scale;
    return off < side * g->scale;
}

/* Output row y of the picture into `row` (width × channels bytes). */
static void render_row(const ag_tensor *t, const grid *g, const double *mins, const double *maxs,
                       int64_t y, unsigned char *row)
{
    int64_t c = g->c;
    memset(row, BORDER, (size_t)(g->width * c));
    int64_t gr, i;
    if (!locate(y, g->h, g, &gr, &i))
        return;
    for (int64_t x = 0; x < g->width; x++) {
        int64_t gc, j;
        if (!locate(x, g->w, g, &gc, &j))
            continue;
        int64_t k = gr * g->cols + gc;
        if (k >= g->n)
            continue; /* the empty end of the last row stays border */
        for (int64_t ch = 0; ch < c; ch++) {
            size_t e = (size_t)(((k * c + ch) * g->h + i) * g->w + j);
            row[x * c + ch] = to_byte(value_at(t, e), mins[k], maxs[k]);
        }
    }
}

/* What render_row needs, for ag_png_write_file's callback. */
typedef struct grid_rows {
    const ag_tensor *t;
    const grid *g;
    const double *mins, *maxs;
} grid_rows;

static const unsigned char *grid_row(void *ctx, int64_t y, unsigned char *buf)
{
    const grid_rows *r = ctx;
    render_row(r->t, r->g, r->mins, r->maxs, y, buf);
    return buf;
}

bool ag_save_png_grid(const char *path, const ag_tensor *t, int nrow, int pad, int scale,
                      double lo, double hi)
{
    grid g;
    if (!check_args(path, t, nrow, pad, scale, lo, hi, &g))
        return false;
    double *mins = ag_malloc((size_t)g.n * sizeof *mins);
    double *maxs = ag_malloc((size_t)g.n * sizeof *maxs);
    bool ok = mins && maxs;
    if (!ok) {
        ag_error_set(AG_ERR_NOMEM, "save_png_grid: %s: out of memory for the ranges of %lld "
                     "images", path, (long long)g.n);
    } else {
        ranges(t, &g, lo, hi, mins, maxs);
        grid_rows r = {t, &g, mins, maxs};
        ok = ag_png_write_file("save_png_grid", path, g.width, g.height, (int)g.c, grid_row, &r);
    }
    ag_free(mins);
    ag_free(maxs);
    return ok;
}

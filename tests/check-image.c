/* SPDX-License-Identifier: MIT */
/* check-image.c — ag_save_png_grid: pictures read back with libpng.
 *
 * Every file the library writes is decoded here with libpng's own reader
 * (the simplified png_image API), and its pixels compared with values
 * derived independently: a 4×7 grid typed in by hand from the mapping
 * round(clamp((v - lo) / (hi - lo)) · 255) (x·255 + 0.5, truncated) and the
 * layout (a 1-pixel grey border of 128 around and between the images), and
 * larger grids against a reference loop written here from the header's
 * description. Then the errors (bad shapes, dtypes, options, paths), and a
 * real picture: 16 Fashion-MNIST test images (when the Debian package is
 * installed) and 16 of the repository's 8×8 digits at scale 4, whose
 * pixels must be the data's, pixel for pixel. Without libpng the function
 * must say that the library was built without it. */
#include "models_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef AG_HAVE_LIBPNG
#include <png.h>
#endif

#ifndef AG_DATA_DIR_PATH
#define AG_DATA_DIR_PATH "examples/data"
#endif
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

#ifdef AG_HAVE_LIBPNG

/* ------------------------------------------------------------------ */
/* Reading a PNG back                                                  */
/* ------------------------------------------------------------------ */

typedef struct picture {
    unsigned width, height, channels;
    unsigned char *px; /* height rows of width * channels bytes; free() */
} picture;

/* The file decoded by libpng in its own format (grey or RGB, 8 bits). */
static picture read_png(const char *path)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    ck_assert_msg(png_image_begin_read_from_file(&img, path), "libpng cannot read %s: %s", path,
                  img.message);
    ck_assert_msg((img.format & ~PNG_FORMAT_FLAG_COLOR) == 0,
                  "%s: format %#x, expected 8-bit grey or RGB without alpha", path, img.format);
    picture p = {img.width, img.height, img.format & PNG_FORMAT_FLAG_COLOR ? 3 : 1, NULL};
    p.px = malloc(PNG_IMAGE_SIZE(img));
    ck_assert_ptr_nonnull(p.px);
    ck_assert_msg(png_image_finish_read(&img, NULL, p.px, 0, NULL), "libpng: %s: %s", path,
                  img.message);
    return p;
}

static unsigned char pixel(const picture *p, unsigned x, unsigned y, unsigned ch)
{
    return p->px[(y * p->width + x) * p->channels + ch];
}

/* The files in the temporary folder whose names start with `prefix`. */
static int files_starting(const char *prefix)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tmp_path(""));
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */
/* The reference, written from the header's description                */
/* ------------------------------------------------------------------ */

static unsigned char ref_byte(double v, double lo, double hi)
{
    if (!(hi > lo) || isnan(v))
        return 0;
    double x = (v - lo) / (hi - lo);
    x = x < 0 ? 0 : x > 1 ? 1 : x;
    return (unsigned char)floor(x * 255 + 0.5);
}

/* The expected picture of images vals (n, c, h, w) in `cols` columns. */
static void check_against_reference(const picture *p, const double *vals, int n, int c, int h,
                                    int w, int cols, int pad, int scale, double lo, double hi)
{
    int rows = (n + cols - 1) / cols;
    ck_assert_uint_eq(p->width, (unsigned)(cols * (w * scale + pad) + pad));
    ck_assert_uint_eq(p->height, (unsigned)(rows * (h * scale + pad) + pad));
    ck_assert_uint_eq(p->channels, (unsigned)c);
    for (unsigned y = 0; y < p->height; y++)
        for (unsigned x = 0; x < p->width; x++)
            for (int ch = 0; ch < c; ch++) {
                int want = 128;
                int cx = ((int)x - pad) / (w * scale + pad), ox = ((int)x - pad) % (w * scale + pad);
                int cy = ((int)y - pad) / (h * scale + pad), oy = ((int)y - pad) % (h * scale + pad);
                int k = cy * cols + cx;
                if ((int)x >= pad && (int)y >= pad && ox < w * scale && oy < h * scale && k < n) {
                    const double *img = vals + (size_t)k * c * h * w;
                    double mn = lo, mx = hi;
                    if (lo == hi) {
                        mn = INFINITY;
                        mx = -INFINITY;
                        for (int e = 0; e < c * h * w; e++) {
                            mn = fmin(mn, img[e]);
                            mx = fmax(mx, img[e]);
                        }
                    }
                    want = ref_byte(img[(ch * h + oy / scale) * w + ox / scale], mn, mx);
                }
                ck_assert_msg(pixel(p, x, y, (unsigned)ch) == want,
                              "pixel (%u, %u) channel %d is %d, expected %d", x, y, ch,
                              pixel(p, x, y, (unsigned)ch), want);
            }
}

/* ------------------------------------------------------------------ */
/* Known pictures                                                      */
/* ------------------------------------------------------------------ */

/* Two 2×2 grey images in [0, 1] side by side, pad 1, scale 1: the whole
 * 7×4 picture typed in by hand. Image 0 is {0, 0.2, 0.5, 1}: 0, 51.5 → 51,
 * 128 (127.5 + 0.5), 255; image 1 is {-1, 1.5, 0.25, 0.75}: clamped to 0
 * and 255, 64.25 → 64, 191.75 → 191. */
START_TEST(test_hand_grid)
{
    for (int k = 0; k < 2; k++) {
        ag_dtype dt = H_DTYPES[k];
        ag_tensor *t = h_arr(dt, 3, H_SHAPE(2, 2, 2), H_VALS(0, 0.2, 0.5, 1, -1, 1.5, 0.25, 0.75));
        const char *path = tmp_path(k ? "hand32.png" : "hand64.png");
        ck_assert_msg(ag_save_png_grid(path, t, 0, 1, 1, 0.0, 1.0), "%s", ag_last_error());
        picture p = read_png(path);
        static const unsigned char want[4][7] = {
            {128, 128, 128, 128, 128, 128, 128},
            {128, 0, 51, 128, 0, 255, 128},
            {128, 128, 255, 128, 64, 191, 128},
            {128, 128, 128, 128, 128, 128, 128},
        };
        ck_assert_uint_eq(p.width, 7);
        ck_assert_uint_eq(p.height, 4);
        ck_assert_uint_eq(p.channels, 1);
        for (unsigned y = 0; y < 4; y++)
            for (unsigned x = 0; x < 7; x++)
                ck_assert_msg(pixel(&p, x, y, 0) == want[y][x], "%s pixel (%u, %u) is %d, expected %d",
                              ag_dtype_str(dt), x, y, pixel(&p, x, y, 0), want[y][x]);
        free(p.px);
        ck_assert_int_eq(files_starting(k ? "hand32.png.tmp" : "hand64.png.tmp"), 0);
    }
}
END_TEST

/* Scale 3 and pad 0 on one image typed in by hand: every source pixel is a
 * 3×3 block. (1, 1, 2, 2) = {0, 1, 1, 0} in [0, 1]. */
START_TEST(test_hand_scale)
{
    ag_tensor *t = h_arr(AG_F64, 4, H_SHAPE(1, 1, 2, 2), H_VALS(0, 1, 1, 0));
    const char *path = tmp_path("scale.png");
    ck_assert_msg(ag_save_png_grid(path, t, 0, 0, 3, 0.0, 1.0), "%s", ag_last_error());
    picture p = read_png(path);
    ck_assert_uint_eq(p.width, 6);
    ck_assert_uint_eq(p.height, 6);
    for (unsigned y = 0; y < 6; y++)
        for (unsigned x = 0; x < 6; x++) {
            int want = (x < 3) != (y < 3) ? 255 : 0;
            ck_assert_msg(pixel(&p, x, y, 0) == want, "pixel (%u, %u) is %d, expected %d", x, y,
                          pixel(&p, x, y, 0), want);
        }
    free(p.px);
}
END_TEST

/* Each image's own range (lo == hi): {2, 4, 6, 10} maps 2 → 0, 4 → 63.75
 * + 0.5 → 64, 6 → 127.5 + 0.5 → 128, 10 → 255, whatever lo and hi are;
 * a constant image is black. */
START_TEST(test_own_range)
{
    ag_tensor *t = h_arr(AG_F32, 3, H_SHAPE(2, 1, 4), H_VALS(2, 4, 6, 10, 7, 7, 7, 7));
    const char *path = tmp_path("own.png");
    ck_assert_msg(ag_save_png_grid(path, t, 1, 0, 1, 5.0, 5.0), "%s", ag_last_error());
    picture p = read_png(path);
    ck_assert_uint_eq(p.width, 4);
    ck_assert_uint_eq(p.height, 2);
    static const unsigned char want[2][4] = {{0, 64, 128, 255}, {0, 0, 0, 0}};
    for (unsigned y = 0; y < 2; y++)
        for (unsigned x = 0; x < 4; x++)
            ck_assert_int_eq(pixel(&p, x, y, 0), want[y][x]);
    free(p.px);
}
END_TEST

/* RGB: 5 images of 3×4 in 3 columns (one empty cell), pad 2, scale 2,
 * range [-1, 1], values spread beyond it; against the reference. Then
 * the same with nrow 0 (ceil(sqrt(5)) = 3 columns too) and nrow larger
 * than N (N columns). */
START_TEST(test_rgb_grid)
{
    enum { N = 5, C = 3, H = 3, W = 4 };
    double vals[N * C * H * W];
    for (int i = 0; i < N * C * H * W; i++)
        vals[i] = -1.3 + 2.6 * (double)((i * 37) % 101) / 100.0;
    ag_tensor *t = h_arr(AG_F64, 4, H_SHAPE(N, C, H, W), vals);
    const char *path = tmp_path("rgb.png");
    int nrows[] = {3, 0, 9}, cols[] = {3, 3, 5};
    for (int k = 0; k < 3; k++) {
        ck_assert_msg(ag_save_png_grid(path, t, nrows[k], 2, 2, -1.0, 1.0), "%s", ag_last_error());
        picture p = read_png(path);
        check_against_reference(&p, vals, N, C, H, W, cols[k], 2, 2, -1.0, 1.0);
        free(p.px);
    }
    /* (N, 1, H, W) is grey, as (N, H, W) is; f32, so the reference takes
     * the values as f32 holds them. */
    for (int i = 0; i < N * C * H * W; i++)
        vals[i] = (float)vals[i];
    ag_tensor *g = h_arr(AG_F32, 4, H_SHAPE(N, 1, H * C, W), vals);
    ck_assert_msg(ag_save_png_grid(path, g, 0, 1, 1, 0.0, 0.0), "%s", ag_last_error());
    picture p = read_png(path);
    check_against_reference(&p, vals, N, 1, H * C, W, 3, 1, 1, 0.0, 0.0);
    free(p.px);
}
END_TEST

/* A save over an existing file replaces it; a save that fails (the path
 * is a folder: the rename is refused) leaves what was there and no
 * temporary file. */
START_TEST(test_replace_and_fail)
{
    const char *path = tmp_path("again.png");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a png", f);
    fclose(f);
    ag_tensor *t = h_arr(AG_F64, 3, H_SHAPE(1, 1, 1), H_VALS(1));
    ck_assert_msg(ag_save_png_grid(path, t, 0, 0, 1, 0.0, 1.0), "%s", ag_last_error());
    picture p = read_png(path);
    ck_assert_uint_eq(p.width, 1);
    ck_assert_int_eq(pixel(&p, 0, 0, 0), 255);
    free(p.px);

    char dir[600];
    snprintf(dir, sizeof dir, "%s", tmp_path("a-folder"));
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert(!ag_save_png_grid(dir, t, 0, 0, 1, 0.0, 1.0));
    ck_assert_error(AG_ERR_IO, dir);
    ck_assert_error(AG_ERR_IO, strerror(EISDIR));
    ck_assert_int_eq(files_starting("a-folder.tmp"), 0);
    struct stat st;
    ck_assert(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Real pictures                                                       */
/* ------------------------------------------------------------------ */

/* The first 16 images of X (n, side²) as (16, side, side), and the grid
 * drawn from them in [0, hi], checked pixel for pixel. */
static void draw_real(const ag_dataset *d, int side, int scale, double hi, const char *name)
{
    ck_assert_int_ge(d->n, 16);
    ck_assert_int_eq(d->d, side * side);
    size_t m = (size_t)16 * side * side;
    double *vals = malloc(m * sizeof *vals);
    ck_assert_ptr_nonnull(vals);
    for (size_t e = 0; e < m; e++)
        vals[e] = ag_get_flat(d->X, e);
    ag_tensor *t = h_arr(AG_F32, 3, H_SHAPE(16, side, side), vals);
    const char *path = tmp_path(name);
    ck_assert_msg(ag_save_png_grid(path, t, 0, 2, scale, 0.0, hi), "%s", ag_last_error());
    picture p = read_png(path);
    check_against_reference(&p, vals, 16, 1, side, side, 4, 2, scale, 0.0, hi);
    /* Not blank: the images hold dark and light pixels. */
    int dark = 0, light = 0;
    for (size_t i = 0; i < (size_t)p.width * p.height; i++) {
        dark += p.px[i] < 40;
        light += p.px[i] > 200;
    }
    ck_assert_int_gt(dark, 100);
    ck_assert_int_gt(light, 100);
    free(p.px);
    free(vals);
}

START_TEST(test_digits)
{
    const char *dir = getenv("AG_DATA_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/digits8x8.csv", dir && *dir ? dir : AG_DATA_DIR_PATH);
    ag_csv_options opts = ag_csv_defaults();
    ag_dataset *d = own_dataset(ag_csv_load(path, &opts));
    ck_assert_msg(d != NULL, "%s", ag_last_error());
    draw_real(d, 8, 4, 16.0, "digits.png"); /* pixels are 0..16 */
}
END_TEST

START_TEST(test_fashion_mnist)
{
    ag_dataset *d = own_dataset(ag_idx_load(FASHION_DIR "/t10k-images-idx3-ubyte.gz",
                                            FASHION_DIR "/t10k-labels-idx1-ubyte.gz", AG_F32));
    ck_assert_msg(d != NULL, "%s", ag_last_error());
    draw_real(d, 28, 1, 1.0, "fashion.png");
}
END_TEST

#endif /* AG_HAVE_LIBPNG */

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_errors)
{
    const char *path = tmp_path("bad.png");
    ag_tensor *ok = h_arr(AG_F64, 3, H_SHAPE(2, 2, 2), H_VALS(0, 1, 2, 3, 4, 5, 6, 7));
    struct {
        ag_tensor *t;
        ag_status status;
        const char *msg;
    } bad[] = {
        {h_arr(AG_F64, 2, H_SHAPE(2, 4), NULL), AG_ERR_SHAPE, "(2,4)"},
        {h_arr(AG_F64, 4, H_SHAPE(2, 2, 2, 2), NULL), AG_ERR_SHAPE, "(2,2,2,2)"},
        {h_arr(AG_F64, 5, H_SHAPE(1, 1, 1, 2, 2), NULL), AG_ERR_SHAPE, "(1,1,1,2,2)"},
        {h_arr(AG_F64, 3, H_SHAPE(0, 2, 2), NULL), AG_ERR_SHAPE, "(0,2,2)"},
        {h_arr(AG_F64, 4, H_SHAPE(1, 3, 0, 2), NULL), AG_ERR_SHAPE, "(1,3,0,2)"},
        {h_arr(AG_I64, 3, H_SHAPE(1, 2, 2), NULL), AG_ERR_DTYPE, "i64"},
    };
    for (size_t i = 0; i < H_COUNT(bad); i++) {
        ag_error_clear();
        ck_assert_ptr_nonnull(bad[i].t);
        ck_assert(!ag_save_png_grid(path, bad[i].t, 0, 1, 1, 0, 1));
        ck_assert_error(bad[i].status, bad[i].msg);
        ck_assert_error(bad[i].status, "save_png_grid");
    }
    struct {
        int nrow, pad, scale;
        double lo, hi;
        const char *msg;
    } opts[] = {
        {-1, 1, 1, 0, 1, "nrow -1"},
        {0, -2, 1, 0, 1, "pad -2"},
        {0, 1, 0, 0, 1, "scale 0"},
        {0, 1, 1, 1, 0, "[1, 0]"},
        {0, 1, 1, NAN, 1, "nan"},
        {0, 1, 1, 0, INFINITY, "inf"},
        {0, 1, 1000000, 0, 1, "1000000 on a side"},
    };
    for (size_t i = 0; i < H_COUNT(opts); i++) {
        ag_error_clear();
        ck_assert(!ag_save_png_grid(path, ok, opts[i].nrow, opts[i].pad, opts[i].scale, opts[i].lo,
                                    opts[i].hi));
        ck_assert_error(AG_ERR_VALUE, opts[i].msg);
    }
    ck_assert_int_eq(access(path, F_OK), -1);
#ifdef AG_HAVE_LIBPNG
    /* A folder that does not exist: the path and the system's reason. */
    ag_error_clear();
    char missing[600];
    snprintf(missing, sizeof missing, "%s", tmp_path("no-such-folder/x.png"));
    ck_assert(!ag_save_png_grid(missing, ok, 0, 1, 1, 0, 1));
    ck_assert_error(AG_ERR_IO, missing);
    ck_assert_error(AG_ERR_IO, strerror(ENOENT));
#else
    ag_error_clear();
    ck_assert(!ag_save_png_grid(path, ok, 0, 1, 1, 0, 1));
    ck_assert_error(AG_ERR_VALUE, "built without libpng");
    ck_assert_int_eq(access(path, F_OK), -1);
#endif
}
END_TEST

Suite *image_suite(void);
Suite *image_suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = h_tcase(s, "image", H_TIMEOUT);
    tcase_add_unchecked_fixture(tc, tmp_dir_setup, tmp_dir_teardown);
    tcase_add_checked_fixture(tc, NULL, models_teardown);
    tcase_add_test(tc, test_errors);
#ifdef AG_HAVE_LIBPNG
    tcase_add_test(tc, test_hand_grid);
    tcase_add_test(tc, test_hand_scale);
    tcase_add_test(tc, test_own_range);
    tcase_add_test(tc, test_rgb_grid);
    tcase_add_test(tc, test_replace_and_fail);
    tcase_add_test(tc, test_digits);
    if (access(FASHION_DIR "/t10k-images-idx3-ubyte.gz", R_OK) == 0 &&
        access(FASHION_DIR "/t10k-labels-idx1-ubyte.gz", R_OK) == 0)
        tcase_add_test(tc, test_fashion_mnist);
    else
        fprintf(stderr, "check-image: %s not found (apt-get install dataset-fashion-mnist); "
                        "skipping the Fashion-MNIST picture\n", FASHION_DIR);
#else
    fprintf(stderr, "check-image: built without libpng; only the errors are checked\n");
#endif
    return s;
}

H_MAIN(image_suite)

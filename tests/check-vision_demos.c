/* SPDX-License-Identifier: MIT */
/* check-vision_demos.c — the GAN demo runs end to end on a few steps and
 * writes its picture.
 *
 * The demos train for minutes, which the test command cannot afford (the
 * suites also run under valgrind); the GAN's step count is an argument, so
 * a short run of examples/gan_digits checks that the program, its two
 * optimizers, its random draws and the PNG writer work together: exit
 * status 0, the progress line, and a PNG whose size is the grid's, 8
 * images of 8x8 pixels drawn 4x4 with 1-pixel borders across and down:
 * 8·32 + 9 = 265 pixels. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *gan_path(void)
{
    const char *p = getenv("GAN_DIGITS");
    if (p && *p)
        return p;
#ifdef GAN_DIGITS_PATH
    return GAN_DIGITS_PATH;
#else
    return NULL;
#endif
}

static const char *data_dir(void)
{
    const char *d = getenv("AG_DATA_DIR");
#ifdef AG_DATA_DIR_PATH
    return d && *d ? d : AG_DATA_DIR_PATH;
#else
    return d && *d ? d : "examples/data";
#endif
}

/* A PNG's width and height from its IHDR chunk (bytes 16..23, big-endian). */
static bool png_size(const char *path, unsigned *w, unsigned *h)
{
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool ok = fread(b, 1, sizeof b, f) == sizeof b && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 &&
              memcmp(b + 12, "IHDR", 4) == 0;
    fclose(f);
    *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    return ok;
}

START_TEST(test_gan_runs_and_draws)
{
    const char *prog = gan_path();
    ck_assert_msg(prog != NULL, "GAN_DIGITS is not set and no path was compiled in");
    char dir[256], png[300], cmd[1200];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ag-check-gan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(png, sizeof png, "%s/gan.png", dir);
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' 1000 2>&1", prog, data_dir(), png);
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "gan_digits failed:\n%s", out);
    ck_assert_msg(strstr(out, "step  1000: discriminator loss") != NULL, "%s", out);
    unsigned w = 0, h = 0;
    ck_assert_msg(png_size(png, &w, &h), "no PNG at %s", png);
    ck_assert_uint_eq(w, 8 * 32 + 9);
    ck_assert_uint_eq(h, 8 * 32 + 9);
    unlink(png);
    rmdir(dir);
}
END_TEST

Suite *vision_demos_suite(void);
Suite *vision_demos_suite(void)
{
    Suite *s = suite_create("vision_demos");
    /* Under valgrind the 1000 steps take about a minute. */
    TCase *tc = h_tcase(s, "vision_demos", 4 * H_TIMEOUT);
    tcase_add_test(tc, test_gan_runs_and_draws);
    return s;
}

H_MAIN(vision_demos_suite)

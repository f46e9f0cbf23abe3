/* SPDX-License-Identifier: MIT */
/* png_internal.h — writing an 8-bit PNG atomically, shared by image.c
 * (ag_save_png_grid) and plot.c (ag_save_png_plot). Not installed.
 *
 * The caller supplies the picture one row at a time; the file goes to a
 * temporary "<path>.tmp.<pid>.<n>" beside `path`, is synced and renamed
 * over it, so a failed save never leaves half a picture where a good one
 * was. Without libpng (built with -Dpng=disabled) every call reports
 * AG_ERR_VALUE saying so. */
#ifndef AG_PNG_INTERNAL_H
#define AG_PNG_INTERNAL_H

#include "op.h"

/* Row y (0 = top) of the picture: fills `buf` (width × channels bytes) and
 * returns it, or returns a row of its own of that size (borrowed until the
 * next call). */
typedef const unsigned char *(*ag_png_row_fn)(void *ctx, int64_t y, unsigned char *buf);

/* Writes a width × height picture of `channels` (1: grey, 3: RGB) 8-bit
 * samples to `path` as described above. `who` names the public function in
 * messages ("save_png_grid"). Returns false with AG_ERR_NOMEM, AG_ERR_IO
 * (the path and the system's or libpng's reason) or, without libpng,
 * AG_ERR_VALUE; the target is then untouched and no temporary remains. */
bool ag_png_write_file(const char *who, const char *path, int64_t width, int64_t height,
                       int channels, ag_png_row_fn row, void *ctx);

#endif

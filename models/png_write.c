/* SPDX-License-Identifier: MIT */
/* png_write.c — an 8-bit PNG written row by row through libpng, to a
 * temporary file that is synced and renamed over the target (see
 * png_internal.h). libpng is optional: without it the writer says so. */
#include "png_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef AG_HAVE_LIBPNG
#include <png.h>
#include <setjmp.h>

/* What libpng's callbacks need: the file, and the reason a write failed
 * (errno then, 0 for libpng's own errors, whose text is kept). */
typedef struct png_io {
    FILE *f;
    int write_errno;
    char message[160];
    jmp_buf jmp;
} png_io;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_io *io = png_get_error_ptr(png);
    snprintf(io->message, sizeof io->message, "%s", msg);
    longjmp(io->jmp, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings change nothing in what is written */
}

static void on_png_write(png_structp png, png_bytep data, size_t size)
{
    png_io *io = png_get_io_ptr(png);
    if (fwrite(data, 1, size, io->f) != size) {
        io->write_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void on_png_flush(png_structp png)
{
    png_io *io = png_get_io_ptr(png);
    if (fflush(io->f) != 0) {
        io->write_errno = errno ? errno : EIO;
        png_error(png, "flush failed");
    }
}

/* The picture's rows and where they come from. */
typedef struct source {
    int64_t width, height;
    int channels;
    ag_png_row_fn row;
    void *ctx;
    unsigned char *buf;
} source;

/* The PNG into io->f (8-bit grey or RGB, no interlacing). Returns false
 * with io's fields saying why. Kept apart from the caller so that nothing
 * the longjmp skips over has to be volatile: the row buffer is allocated
 * before and freed after. */
static bool write_png(png_io *io, const source *s)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, io, on_png_error,
                                              on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        snprintf(io->message, sizeof io->message, "out of memory");
        return false;
    }
    if (setjmp(io->jmp)) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, io, on_png_write, on_png_flush);
    png_set_IHDR(png, info, (png_uint_32)s->width, (png_uint_32)s->height, 8,
                 s->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int64_t y = 0; y < s->height; y++)
        png_write_row(png, s->row(s->ctx, y, s->buf));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

/* A new file "<path>.tmp.<pid>.<n>" beside path, created exclusively (with
 * the mode a plain fopen would give), or NULL with the error recorded. */
static FILE *create_temp(const char *who, const char *path, char *tmp, size_t size)
{
    static atomic_uint counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
        snprintf(tmp, size, "%s.tmp.%ld.%u", path, (long)getpid(), n);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0) {
            ag_error_set(AG_ERR_IO, "%s: %s: cannot create the temporary file %s: %s", who, path,
                         tmp, strerror(errno));
            return NULL;
        }
        FILE *f = fdopen(fd, "wb");
        if (!f) {
            ag_error_set(AG_ERR_IO, "%s: %s: cannot open the temporary file %s: %s", who, path,
                         tmp, strerror(errno));
            close(fd);
            unlink(tmp);
        }
        return f;
    }
    ag_error_set(AG_ERR_IO, "%s: %s: no free temporary file name after 100 tries", who, path);
    return NULL;
}

bool ag_png_write_file(const char *who, const char *path, int64_t width, int64_t height,
                       int channels, ag_png_row_fn row, void *ctx)
{
    size_t tmp_size = strlen(path) + 64;
    char *tmp = ag_malloc(tmp_size);
    unsigned char *buf = ag_malloc((size_t)(width * channels));
    bool ok = tmp && buf;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "%s: %s: out of memory for a %lld-pixel row", who, path,
                     (long long)width);
    FILE *f = ok ? create_temp(who, path, tmp, tmp_size) : NULL;
    if (f) {
        source s = {width, height, channels, row, ctx, buf};
        png_io io = {.f = f};
        errno = 0;
        ok = write_png(&io, &s);
        if (!ok) {
            if (io.write_errno)
                ag_error_set(AG_ERR_IO, "%s: cannot write %s: %s", who, path,
                             strerror(io.write_errno));
            else
                ag_error_set(AG_ERR_IO, "%s: %s: libpng: %s", who, path, io.message);
        }
        /* fflush hands the bytes to the kernel, fsync to the disk: only then
         * may the rename make them the file at `path`. */
        if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
            ag_error_set(AG_ERR_IO, "%s: cannot write %s: %s", who, path, strerror(errno));
            ok = false;
        }
        if (fclose(f) != 0 && ok) {
            ag_error_set(AG_ERR_IO, "%s: cannot write %s: %s", who, path, strerror(errno));
            ok = false;
        }
        if (ok && rename(tmp, path) != 0) {
            ag_error_set(AG_ERR_IO, "%s: cannot rename the temporary file over %s: %s", who, path,
                         strerror(errno));
            ok = false;
        }
        if (!ok)
            unlink(tmp);
    } else {
        ok = false;
    }
    ag_free(tmp);
    ag_free(buf);
    return ok;
}

#else /* !AG_HAVE_LIBPNG */

bool ag_png_write_file(const char *who, const char *path, int64_t width, int64_t height,
                       int channels, ag_png_row_fn row, void *ctx)
{
    (void)width;
    (void)height;
    (void)channels;
    (void)row;
    (void)ctx;
    ag_error_set(AG_ERR_VALUE, "%s: %s: the library was built without libpng "
                 "(install libpng-dev and configure again)", who, path);
    return false;
}

#endif

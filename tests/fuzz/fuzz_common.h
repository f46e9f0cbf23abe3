/* SPDX-License-Identifier: MIT */
/* fuzz_common.h — libFuzzer targets feed bytes to the file readers.
 *
 * The readers take paths (they must check file sizes, handle gzip and report
 * offsets), so each input is written to one temporary file in /dev/shm (or
 * the temporary folder) and read back. Errors are the expected outcome for
 * most inputs; a crash, a sanitizer report or a leak is a finding. */
#ifndef AG_FUZZ_COMMON_H
#define AG_FUZZ_COMMON_H

#include <autograd/autograd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The path of this process's scratch file, made once. */
static const char *fuzz_path(const char *suffix)
{
    static char path[256];
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/ag-fuzz-%ld%s", dir, (long)getpid(), suffix);
    }
    return path;
}

static int fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = size ? fwrite(data, 1, size, f) : 0;
    fclose(f);
    return n == size ? 0 : -1;
}

#endif

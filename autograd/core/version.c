/* SPDX-License-Identifier: MIT */
/* version.c — the library's version, as compiled in. */
#include "internal.h"

#define AG_STR_(x) #x
#define AG_STR(x) AG_STR_(x)

const char *ag_version(void)
{
    return AG_STR(AG_VERSION_MAJOR) "." AG_STR(AG_VERSION_MINOR) "." AG_STR(AG_VERSION_PATCH);
}

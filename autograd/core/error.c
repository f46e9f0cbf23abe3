/* SPDX-License-Identifier: MIT */
/* error.c — the thread-local error slot.
 *
 * Library code never aborts: a failing call records a status and a message
 * here and returns NULL/false. The first error wins, so that an expression
 * built from many ops, one of which failed, reports the cause and not the
 * chain of NULL inputs that followed it. */
#include "internal.h"

#include <stdarg.h>

static _Thread_local ag_status err_status;
static _Thread_local char err_msg[512];

static const char *const status_names[] = {
    "AG_OK",          "AG_ERR_NULL",  "AG_ERR_SHAPE", "AG_ERR_DTYPE",
    "AG_ERR_STALE",   "AG_ERR_VALUE", "AG_ERR_NOMEM", "AG_ERR_STATE",
    "AG_ERR_IO",      "AG_ERR_PARSE", "AG_ERR_NOTFOUND", "AG_ERR_NUMERIC",
};

const char *ag_status_str(ag_status s)
{
    if ((unsigned)s < sizeof status_names / sizeof status_names[0])
        return status_names[s];
    return "AG_ERR_UNKNOWN";
}

ag_status ag_last_status(void)
{
    return err_status;
}

const char *ag_last_error(void)
{
    return err_msg;
}

void ag_error_clear(void)
{
    err_status = AG_OK;
    err_msg[0] = '\0';
}

void ag_error_set(ag_status status, const char *fmt, ...)
{
    if (err_status != AG_OK)
        return;
    err_status = status == AG_OK ? AG_ERR_VALUE : status; /* an error it is */
    if (!fmt) {
        snprintf(err_msg, sizeof err_msg, "%s (no message given)", ag_status_str(err_status));
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
}

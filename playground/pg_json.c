/* SPDX-License-Identifier: MIT */
/* pg_json.c — see pg_json.h. */
#include "pg_json.h"

#include <autograd/op.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The answer handed to the caller; freed when the next one is made. */
static char *live;
/* What is answered when even the error message cannot be allocated. */
static const char out_of_memory[] = "{\"ok\":false,\"error\":\"playground: out of memory\"}";

static void append(pg_json *j, const char *text, size_t n)
{
    if (j->oom)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *s = ag_realloc(j->s, cap);
        if (!s) {
            j->oom = true;
            return;
        }
        j->s = s;
        j->cap = cap;
    }
    memcpy(j->s + j->len, text, n);
    j->len += n;
    j->s[j->len] = '\0';
}

void pg_json_raw(pg_json *j, const char *text)
{
    append(j, text, strlen(text));
}

void pg_json_strn(pg_json *j, const char *text, size_t n)
{
    append(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            append(j, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            append(j, esc, 6);
        } else {
            append(j, (const char *)&text[i], 1);
        }
    }
    append(j, "\"", 1);
}

void pg_json_str(pg_json *j, const char *text)
{
    pg_json_strn(j, text, strlen(text));
}

void pg_json_num(pg_json *j, double v)
{
    if (!isfinite(v)) {
        pg_json_raw(j, "null");
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    pg_json_raw(j, buf);
}

void pg_json_nums(pg_json *j, const double *v, size_t n)
{
    pg_json_raw(j, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            pg_json_raw(j, ",");
        pg_json_num(j, v[i]);
    }
    pg_json_raw(j, "]");
}

void pg_json_key(pg_json *j, const char *key)
{
    pg_json_raw(j, ",");
    pg_json_str(j, key);
    pg_json_raw(j, ":");
}

static const char *keep(char *s)
{
    ag_free(live);
    live = s;
    return s ? s : out_of_memory;
}

const char *pg_json_finish(pg_json *j)
{
    if (j->oom || !j->s) {
        ag_free(j->s);
        *j = (pg_json){0};
        return keep(NULL);
    }
    char *s = j->s;
    *j = (pg_json){0};
    return keep(s);
}

const char *pg_json_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pg_json j = {0};
    pg_json_raw(&j, "{\"ok\":false,\"error\":");
    pg_json_str(&j, msg);
    pg_json_raw(&j, "}");
    return pg_json_finish(&j);
}

int pg_parse_numbers(const char *text, double *v, int max, int *bad_pos, const char **bad_word)
{
    int n = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            return n;
        if (n == max) {
            *bad_pos = n;
            *bad_word = p;
            return -1;
        }
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x) ||
            (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')) {
            *bad_pos = n;
            *bad_word = p;
            return -1;
        }
        v[n++] = x;
        p = end;
    }
}

int pg_word_len(const char *w)
{
    int n = 0;
    while (n < 24 && w[n] && w[n] != ' ' && w[n] != '\t' && w[n] != '\n' && w[n] != '\r')
        n++;
    return n;
}

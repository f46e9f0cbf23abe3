/* SPDX-License-Identifier: MIT */
/* pg_json.h — the playground's answers as JSON text, and its numeric
 * arguments read from text. Private to playground/. */
#ifndef PG_JSON_H
#define PG_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* A growing text. On allocation failure it stops growing and remembers the
 * failure (pg_json_finish then answers with an error). */
typedef struct pg_json {
    char *s;
    size_t len, cap;
    bool oom;
} pg_json;

void pg_json_raw(pg_json *j, const char *text);
/* A JSON string: quotes, with ", \ and control characters escaped. */
void pg_json_str(pg_json *j, const char *text);
/* A string from n bytes of text (not NUL-terminated). */
void pg_json_strn(pg_json *j, const char *text, size_t n);
/* 17 significant digits, or null for NaN and infinities. */
void pg_json_num(pg_json *j, double v);
/* [v0,v1,...] */
void pg_json_nums(pg_json *j, const double *v, size_t n);
/* ,"key": */
void pg_json_key(pg_json *j, const char *key);

/* The playground's answer: keeps j's text as the one live result (freeing
 * the previous one) and returns it; or, when j ran out of memory, an error
 * answer. */
const char *pg_json_finish(pg_json *j);
/* {"ok":false,"error":"<who>: <message>"}, kept as the live result. */
const char *pg_json_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads up to max whitespace-separated numbers from text into v; returns
 * how many, or -1 when a word is not a finite number or there are more
 * than max words: then *bad_pos is the word's index and *bad_word points
 * at it in text. */
int pg_parse_numbers(const char *text, double *v, int max, int *bad_pos, const char **bad_word);

/* The length of the word at w (up to whitespace or the end), at most 24:
 * for naming a bad argument in a message with "%.*s". */
int pg_word_len(const char *w);

#endif

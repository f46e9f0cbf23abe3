/* SPDX-License-Identifier: MIT */
/* csv.c — numeric CSV files into a data set.
 *
 * A CSV file here is a table of numbers with an optional header row of
 * column names, one of whose columns holds class labels. The reader takes
 * lines of any length (they are read in chunks into a growing buffer), LF or
 * CRLF endings, a UTF-8 byte-order mark, '#' comment lines, blank lines and
 * RFC 4180 double-quoted fields (on one line; "" stands for a quote).
 * Numbers are plain decimal text read by strtod in the C locale, whatever
 * the program's locale: NaN, infinities, hexadecimal floats, empty fields
 * and trailing garbage are refused with the file, line and column of the
 * offending field, because a reader that guesses hides broken data.
 *
 * Values are collected in a growing array of the requested dtype and copied
 * into the result once the file has been read, so a file of unknown length
 * costs one pass and at most twice its final size in memory. */
#include "op.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Labels are class indices; beyond this they are surely not (and a model
 * with that many outputs would not fit in memory anyway). */
#define MAX_LABEL 2147483647.0

/* ---- lines of any length ---- */

typedef struct reader {
    FILE *f;
    unsigned char chunk[1 << 16];
    size_t pos, end;   /* unread bytes of chunk */
    bool eof;
    char *line;        /* the current line, NUL-terminated, without its end */
    size_t len, cap;
    long lineno;       /* 1-based number of the current line */
    uint64_t total;    /* bytes read so far, against ag_read_limit */
} reader;

/* One field of the current line, unquoted and NUL-terminated in place. */
typedef struct field {
    char *s;
    long col; /* 1-based byte column of its first character (or its quote) */
} field;

typedef struct csv {
    const char *path;
    reader *r;
    field *fields;
    size_t nf, fcap;
    char **names;       /* the header's names, ncols of them (NULL without a header) */
    size_t ncols;
    size_t label;       /* column of the labels */
    ag_dtype dtype;
    size_t esize;
    unsigned char *X;   /* rows_cap * d values of dtype */
    int64_t *y;
    size_t n, d, rows_cap;
    int64_t max_label;
} csv;

/* "csv_load: path:line:col: message", AG_ERR_PARSE. */
static void parse_error(const csv *c, long col, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void parse_error(const csv *c, long col, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ag_error_set(AG_ERR_PARSE, "csv_load: %s:%ld:%ld: %s", c->path, c->r->lineno, col, msg);
}

/* A field's text for a message: at most 40 bytes, unprintable bytes as \xNN. */
static const char *excerpt(const char *s, char *buf, size_t size)
{
    size_t o = 0, i = 0;
    for (; s[i] && i < 40 && o + 5 < size; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f)
            buf[o++] = (char)ch;
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
    }
    if (s[i] && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static bool grow_line(csv *c, size_t need)
{
    reader *r = c->r;
    if (need <= r->cap)
        return true;
    size_t cap = r->cap ? r->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            ag_error_set(AG_ERR_NOMEM, "csv_load: %s:%ld: line too long", c->path, r->lineno + 1);
            return false;
        }
        cap *= 2;
    }
    char *p = ag_realloc(r->line, cap);
    if (!p) {
        ag_error_set(AG_ERR_NOMEM, "csv_load: %s:%ld: out of memory for a line of %zu bytes",
                     c->path, r->lineno + 1, need);
        return false;
    }
    r->line = p;
    r->cap = cap;
    return true;
}

/* Reads the next line into r->line without its '\n' and a '\r' before it.
 * Returns 1 for a line, 0 at the end of the file, -1 on an error (recorded). */
static int read_line(csv *c)
{
    reader *r = c->r;
    bool got = false, newline = false;
    r->len = 0;
    while (!newline) {
        if (r->pos == r->end) {
            if (r->eof)
                break;
            r->end = fread(r->chunk, 1, sizeof r->chunk, r->f);
            r->pos = 0;
            r->total += r->end;
            /* Also for a pipe or a file that grows, whose size fstat did
             * not tell: the rows read so far are what memory holds. */
            if (r->total > ag_read_limit()) {
                ag_error_set(AG_ERR_VALUE, "csv_load: \"%s\" is longer than the read limit of "
                             "%llu bytes (raise it with ag_read_limit_set)", c->path,
                             (unsigned long long)ag_read_limit());
                return -1;
            }
            if (r->end == 0) {
                if (ferror(r->f)) {
                    ag_error_set(AG_ERR_IO, "csv_load: error reading \"%s\" at line %ld: %s",
                                 c->path, r->lineno + 1, strerror(errno));
                    return -1;
                }
                r->eof = true;
                break;
            }
        }
        const unsigned char *start = r->chunk + r->pos;
        size_t avail = r->end - r->pos;
        const unsigned char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if (!grow_line(c, r->len + take + 1))
            return -1;
        memcpy(r->line + r->len, start, take);
        r->len += take;
        r->pos += take + (nl != NULL);
        newline = nl != NULL;
        got = true;
    }
    if (!got)
        return 0;
    r->lineno++;
    if (!grow_line(c, r->len + 1))
        return -1;
    if (r->len > 0 && r->line[r->len - 1] == '\r')
        r->len--;
    r->line[r->len] = '\0';
    if (r->lineno == 1 && r->len >= 3 && memcmp(r->line, "\xef\xbb\xbf", 3) == 0) {
        memmove(r->line, r->line + 3, r->len - 2); /* the byte-order mark */
        r->len -= 3;
    }
    const char *nul = memchr(r->line, '\0', r->len);
    if (nul) {
        parse_error(c, (long)(nul - r->line) + 1, "NUL byte: this is not a text file");
        return -1;
    }
    return 1;
}

/* Whether the line holds nothing but blanks, or is a comment. */
static bool skippable(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '\0' || *s == '#';
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Splits the current line into c->fields, in place. */
static bool split(csv *c)
{
    char *line = c->r->line;
    size_t len = c->r->len, i = 0;
    c->nf = 0;
    for (;;) {
        if (c->nf == c->fcap) {
            size_t cap = c->fcap ? 2 * c->fcap : 64;
            field *f = cap < SIZE_MAX / sizeof *f ? ag_realloc(c->fields, cap * sizeof *f) : NULL;
            if (!f) {
                ag_error_set(AG_ERR_NOMEM, "csv_load: %s:%ld: out of memory for %zu fields",
                             c->path, c->r->lineno, cap);
                return false;
            }
            c->fields = f;
            c->fcap = cap;
        }
        field *f = &c->fields[c->nf++];
        while (i < len && is_blank(line[i]))
            i++;
        f->col = (long)i + 1;
        if (i < len && line[i] == '"') {
            size_t w = i, r = i + 1;
            f->s = line + w;
            for (;;) {
                if (r >= len) {
                    parse_error(c, f->col, "unterminated quoted field (a quoted field must "
                                           "end on its line)");
                    return false;
                }
                if (line[r] == '"') {
                    if (r + 1 < len && line[r + 1] == '"') {
                        line[w++] = '"';
                        r += 2;
                        continue;
                    }
                    r++;
                    break;
                }
                line[w++] = line[r++];
            }
            while (r < len && is_blank(line[r]))
                r++;
            if (r < len && line[r] != ',') {
                parse_error(c, (long)r + 1, "unexpected text after a quoted field");
                return false;
            }
            line[w] = '\0';
            i = r;
        } else {
            size_t start = i;
            while (i < len && line[i] != ',')
                i++;
            size_t e = i;
            while (e > start && is_blank(line[e - 1]))
                e--;
            f->s = line + start;
            bool more = i < len;
            line[e] = '\0';
            if (!more)
                return true;
        }
        if (i >= len)
            return true;
        i++; /* the comma */
    }
}

typedef enum { NUM_OK, NUM_EMPTY, NUM_NOT, NUM_NONFINITE, NUM_RANGE } num_status;

static num_status parse_number(const char *s, double *out)
{
    if (!*s)
        return NUM_EMPTY;
    if (strspn(s, "0123456789+-.eE") != strlen(s)) {
        const char *t = s + (*s == '+' || *s == '-');
        static const char *const nonfinite[] = {"nan", "inf", "infinity"};
        for (size_t k = 0; k < sizeof nonfinite / sizeof nonfinite[0]; k++) {
            size_t m = strlen(nonfinite[k]), j = 0;
            while (j < m && t[j] && (t[j] | 0x20) == nonfinite[k][j])
                j++;
            if (j == m && (t[j] == '\0' || t[j] == '('))
                return NUM_NONFINITE;
        }
        return NUM_NOT;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0')
        return NUM_NOT;
    if (errno == ERANGE && fabs(v) > 1.0) /* overflow; an underflow is a fine 0 */
        return NUM_RANGE;
    *out = v;
    return NUM_OK;
}

/* " (column 'name')" or " (field 3)" for messages. */
static const char *where(const csv *c, size_t j, char *buf, size_t size)
{
    char e[200];
    if (c->names)
        snprintf(buf, size, " (column '%s')", excerpt(c->names[j], e, sizeof e));
    else
        snprintf(buf, size, " (field %zu)", j + 1);
    return buf;
}

static bool grow_rows(csv *c)
{
    size_t cap = c->rows_cap ? 2 * c->rows_cap : 64;
    if (cap > SIZE_MAX / 2 / (c->d * c->esize) || cap > SIZE_MAX / sizeof(int64_t)) {
        ag_error_set(AG_ERR_NOMEM, "csv_load: %s: too many rows", c->path);
        return false;
    }
    unsigned char *X = ag_realloc(c->X, cap * c->d * c->esize);
    if (X)
        c->X = X;
    int64_t *y = X ? ag_realloc(c->y, cap * sizeof *y) : NULL;
    if (!y) {
        ag_error_set(AG_ERR_NOMEM, "csv_load: %s:%ld: out of memory for %zu rows", c->path,
                     c->r->lineno, cap);
        return false;
    }
    c->y = y;
    c->rows_cap = cap;
    return true;
}

static bool add_row(csv *c)
{
    char b1[160], b2[160];
    if (c->nf != c->ncols) {
        /* Point at the first extra field, or at the end of a short row. */
        long col = c->nf > c->ncols ? c->fields[c->ncols].col : (long)c->r->len + 1;
        parse_error(c, col, "row has %zu field%s, %s has %zu", c->nf, c->nf == 1 ? "" : "s",
                    c->names ? "the header" : "the first row", c->ncols);
        return false;
    }
    if (c->n == c->rows_cap && !grow_rows(c))
        return false;
    unsigned char *row = c->X + c->n * c->d * c->esize;
    for (size_t j = 0, k = 0; j < c->ncols; j++) {
        const field *f = &c->fields[j];
        double v = 0;
        switch (parse_number(f->s, &v)) {
        case NUM_OK:
            break;
        case NUM_EMPTY:
            parse_error(c, f->col, "empty field%s", where(c, j, b2, sizeof b2));
            return false;
        case NUM_NOT:
            parse_error(c, f->col, "'%s' is not a number%s", excerpt(f->s, b1, sizeof b1),
                        where(c, j, b2, sizeof b2));
            return false;
        case NUM_NONFINITE:
            parse_error(c, f->col, "'%s' is not a finite number%s: missing and infinite values "
                        "are not supported", excerpt(f->s, b1, sizeof b1),
                        where(c, j, b2, sizeof b2));
            return false;
        case NUM_RANGE:
            parse_error(c, f->col, "'%s' is out of the range of a double%s",
                        excerpt(f->s, b1, sizeof b1), where(c, j, b2, sizeof b2));
            return false;
        }
        if (j == c->label) {
            const char *why = v < 0 ? "is negative" : v != floor(v) ? "is not a whole number"
                              : v > MAX_LABEL ? "is too large" : NULL;
            if (why) {
                parse_error(c, f->col, "label %s %s%s: labels are class indices 0, 1, 2, ...",
                            excerpt(f->s, b1, sizeof b1), why, where(c, j, b2, sizeof b2));
                return false;
            }
            c->y[c->n] = (int64_t)v;
            if (c->y[c->n] > c->max_label)
                c->max_label = c->y[c->n];
            continue;
        }
        if (c->dtype == AG_F32) {
            if (fabs(v) > FLT_MAX) {
                parse_error(c, f->col, "'%s' is out of the range of f32%s",
                            excerpt(f->s, b1, sizeof b1), where(c, j, b2, sizeof b2));
                return false;
            }
            ((float *)(void *)row)[k++] = (float)v;
        } else {
            ((double *)(void *)row)[k++] = v;
        }
    }
    c->n++;
    return true;
}

/* Copies the header's names; picks the label column. */
static bool take_header(csv *c, const ag_csv_options *o)
{
    c->names = ag_calloc(c->nf, sizeof *c->names);
    if (!c->names) {
        ag_error_set(AG_ERR_NOMEM, "csv_load: out of memory");
        return false;
    }
    c->ncols = c->nf;
    for (size_t j = 0; j < c->nf; j++) {
        size_t m = strlen(c->fields[j].s);
        c->names[j] = ag_malloc(m + 1);
        if (!c->names[j]) {
            ag_error_set(AG_ERR_NOMEM, "csv_load: out of memory");
            return false;
        }
        memcpy(c->names[j], c->fields[j].s, m + 1);
    }
    if (!o->label_column)
        return true;
    bool found = false;
    for (size_t j = 0; j < c->ncols; j++) {
        if (strcmp(c->names[j], o->label_column) != 0)
            continue;
        if (found) {
            parse_error(c, c->fields[j].col, "the label column '%s' appears twice (fields %zu "
                        "and %zu)", o->label_column, c->label + 1, j + 1);
            return false;
        }
        found = true;
        c->label = j;
    }
    if (!found) {
        char cols[200] = "", e[160];
        size_t o2 = 0;
        for (size_t j = 0; j < c->ncols && o2 + 1 < sizeof cols; j++)
            o2 += (size_t)snprintf(cols + o2, sizeof cols - o2, "%s'%s'", j ? ", " : "",
                                   excerpt(c->names[j], e, sizeof e));
        ag_error_set(AG_ERR_NOTFOUND, "csv_load: %s:%ld: no column named '%s' in the header "
                     "(columns: %s)", c->path, c->r->lineno, o->label_column, cols);
        return false;
    }
    return true;
}

static bool pick_label_index(csv *c, const ag_csv_options *o)
{
    if (o->label_column)
        return true;
    long long li = o->label_index;
    if (li < 0)
        li += (long long)c->ncols;
    if (li < 0 || li >= (long long)c->ncols) {
        ag_error_set(AG_ERR_VALUE, "csv_load: %s:%ld: label_index %d is out of range for %zu "
                     "columns", c->path, c->r->lineno, o->label_index, c->ncols);
        return false;
    }
    c->label = (size_t)li;
    return true;
}

static void csv_free(csv *c)
{
    if (c->names)
        for (size_t j = 0; j < c->ncols; j++)
            ag_free(c->names[j]);
    ag_free(c->names);
    ag_free(c->fields);
    ag_free(c->X);
    ag_free(c->y);
    if (c->r) {
        ag_free(c->r->line);
        if (c->r->f)
            fclose(c->r->f);
        ag_free(c->r);
    }
}

/* The data set from the collected rows; the feature names are moved out of c. */
static ag_dataset *finish(csv *c)
{
    ag_dataset *ds = ag_calloc(1, sizeof *ds);
    if (!ds) {
        ag_error_set(AG_ERR_NOMEM, "csv_load: out of memory");
        return NULL;
    }
    ds->X = ag_empty(c->dtype, 2, (const int64_t[]){(int64_t)c->n, (int64_t)c->d});
    ds->y = ds->X ? ag_empty(AG_I64, 1, (const int64_t[]){(int64_t)c->n}) : NULL;
    if (c->names && ds->y) {
        ds->feature_names = ag_calloc(c->d, sizeof *ds->feature_names);
        if (!ds->feature_names)
            ag_error_set(AG_ERR_NOMEM, "csv_load: out of memory");
    }
    if (!ds->y || (c->names && !ds->feature_names)) {
        ag_dataset_free(ds);
        return NULL;
    }
    memcpy(ag_data(ds->X), c->X, c->n * c->d * c->esize);
    memcpy(ag_data(ds->y), c->y, c->n * sizeof(int64_t));
    if (c->names) {
        for (size_t j = 0, k = 0; j < c->ncols; j++) {
            if (j == c->label)
                continue;
            ds->feature_names[k++] = c->names[j];
            c->names[j] = NULL;
        }
    }
    ds->n = (int64_t)c->n;
    ds->d = (int64_t)c->d;
    ds->n_classes = c->max_label + 1;
    return ds;
}

static ag_dataset *load(csv *c, const ag_csv_options *o)
{
    int got;
    /* The header (or the first data row, which fixes the column count). */
    while ((got = read_line(c)) == 1 && skippable(c->r->line))
        ;
    if (got < 0)
        return NULL;
    if (got == 0) {
        ag_error_set(AG_ERR_PARSE, "csv_load: %s: no %s (the file is empty or holds only "
                     "comments)", c->path, o->no_header ? "data rows" : "header row");
        return NULL;
    }
    if (!split(c))
        return NULL;
    c->ncols = c->nf;
    if (!o->no_header && !take_header(c, o))
        return NULL;
    if (!pick_label_index(c, o))
        return NULL;
    if (c->ncols < 2) {
        parse_error(c, 1, "only one column: a feature column and a label column are needed");
        return NULL;
    }
    c->d = c->ncols - 1;
    if (o->no_header && !add_row(c))
        return NULL;
    while ((got = read_line(c)) == 1) {
        if (skippable(c->r->line))
            continue;
        if (!split(c) || !add_row(c))
            return NULL;
    }
    if (got < 0)
        return NULL;
    if (c->n == 0) {
        ag_error_set(AG_ERR_PARSE, "csv_load: %s:%ld: no data rows after the header", c->path,
                     c->r->lineno);
        return NULL;
    }
    return finish(c);
}

ag_csv_options ag_csv_defaults(void)
{
    return (ag_csv_options){.label_index = -1, .dtype = AG_F32};
}

ag_dataset *ag_csv_load(const char *path, const ag_csv_options *opts)
{
    ag_csv_options o = ag_csv_defaults();
    if (opts)
        o = *opts;
    if (!path) {
        ag_error_set(AG_ERR_NULL, "csv_load: path is NULL");
        return NULL;
    }
    if (o.dtype != AG_F32 && o.dtype != AG_F64) {
        ag_error_set(AG_ERR_DTYPE, "csv_load: %s: X must be f32 or f64, not %s", path,
                     ag_dtype_str(o.dtype));
        return NULL;
    }
    if (o.label_column && o.no_header) {
        ag_error_set(AG_ERR_VALUE, "csv_load: %s: the label column '%s' is given by name, but "
                     "no_header says there is no header row to find it in (use label_index)",
                     path, o.label_column);
        return NULL;
    }
    csv c = {.path = path, .dtype = o.dtype, .esize = ag_dtype_size(o.dtype)};
    c.r = ag_calloc(1, sizeof *c.r);
    if (!c.r) {
        ag_error_set(AG_ERR_NOMEM, "csv_load: out of memory");
        return NULL;
    }
    c.r->f = fopen(path, "rb");
    if (!c.r->f) {
        ag_error_set(AG_ERR_IO, "csv_load: cannot open \"%s\": %s", path, strerror(errno));
        csv_free(&c);
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(c.r->f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size > ag_read_limit()) {
        ag_error_set(AG_ERR_VALUE, "csv_load: \"%s\" has %llu bytes, beyond the read limit of "
                     "%llu bytes (raise it with ag_read_limit_set)", path,
                     (unsigned long long)st.st_size, (unsigned long long)ag_read_limit());
        csv_free(&c);
        return NULL;
    }
    /* Numbers are read in the C locale (a '.' decimal point), whatever
     * setlocale the program made; uselocale changes this thread only. */
    locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = cloc ? uselocale(cloc) : (locale_t)0;
    ag_dataset *ds = load(&c, &o);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    csv_free(&c);
    return ds;
}

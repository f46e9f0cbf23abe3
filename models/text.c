/* SPDX-License-Identifier: MIT */
/* text.c — text as token ids for language models: reading and tokenizing
 * (code points or words), the sorted vocabulary, decoding, a seeded split
 * by lines, and (T, N) next-token batches.
 *
 * The vocabulary is sorted(set(tokens)), as Karpathy's char-rnn and
 * nanoGPT build it, so ids depend on the text's content and not on the
 * order the tokens first appear. UTF-8 is byte-order preserving (the byte
 * order of two encodings is the order of their code points), so one
 * comparison, bytes then length, sorts both levels. It is built by sorting
 * the token spans and removing repeats, then every token is encoded by
 * binary search: O(n log n) with no hash table, and a vocabulary of
 * contiguous NUL-terminated strings.
 *
 * Random orders (the split's lines, the batches' windows) are Fisher-Yates
 * shuffles driven by ag_rng, as in dataset.c, so a seed fixes them on every
 * platform. */
#include "models_internal.h"
#include "op.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ag_vocab {
    atomic_long refs;      /* the texts sharing it */
    ag_text_level level;
    int64_t n;             /* tokens */
    char *bytes;           /* every token followed by a NUL */
    int64_t *off;          /* n + 1 offsets into bytes: token i is off[i] .. off[i+1]-1 (the NUL) */
    int64_t newline;       /* the id of "\n", or -1 */
};

struct ag_text {
    int64_t n;             /* tokens */
    int64_t *ids;          /* owned; n of them (at least one slot allocated) */
    ag_vocab *vocab;       /* shared; one reference held */
};

/* A token: len bytes at p, in the text being tokenized. */
typedef struct span {
    const char *p;
    size_t len;
} span;

static int span_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

static int span_qsort_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return span_cmp(x->p, x->len, y->p, y->len);
}

/* ---- vocabulary ---- */

static void vocab_release(ag_vocab *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    ag_free(v->bytes);
    ag_free(v->off);
    ag_free(v);
}

static size_t tok_len(const ag_vocab *v, int64_t i)
{
    return (size_t)(v->off[i + 1] - v->off[i] - 1);
}

static int64_t vocab_find(const ag_vocab *v, const char *p, size_t len)
{
    int64_t lo = 0, hi = v->n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = span_cmp(v->bytes + v->off[mid], tok_len(v, mid), p, len);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The vocabulary of the n spans, which are sorted in place. */
static ag_vocab *vocab_build(const char *what, span *sp, int64_t n, ag_text_level level)
{
    qsort(sp, (size_t)n, sizeof *sp, span_qsort_cmp);
    int64_t distinct = 0;
    size_t bytes = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || span_cmp(sp[i].p, sp[i].len, sp[i - 1].p, sp[i - 1].len) != 0) {
            distinct++;
            bytes += sp[i].len + 1;
        }
    ag_vocab *v = ag_calloc(1, sizeof *v);
    if (v) {
        v->bytes = ag_malloc(bytes);
        v->off = v->bytes ? ag_malloc((size_t)(distinct + 1) * sizeof *v->off) : NULL;
    }
    if (!v || !v->off) {
        if (v)
            ag_free(v->bytes);
        ag_free(v);
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for a vocabulary of %lld tokens", what,
                     (long long)distinct);
        return NULL;
    }
    atomic_init(&v->refs, 1);
    v->level = level;
    v->n = distinct;
    int64_t k = 0;
    size_t at = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || span_cmp(sp[i].p, sp[i].len, sp[i - 1].p, sp[i - 1].len) != 0) {
            v->off[k++] = (int64_t)at;
            memcpy(v->bytes + at, sp[i].p, sp[i].len);
            at += sp[i].len;
            v->bytes[at++] = '\0';
        }
    v->off[k] = (int64_t)at;
    v->newline = vocab_find(v, "\n", 1);
    return v;
}

int64_t ag_vocab_size(const ag_vocab *v)
{
    if (!v) {
        ag_error_set(AG_ERR_NULL, "vocab_size: the vocabulary is NULL");
        return 0;
    }
    return v->n;
}

int64_t ag_vocab_id(const ag_vocab *v, const char *token, size_t len)
{
    if (!v || !token) {
        ag_error_set(AG_ERR_NULL, "vocab_id: the %s is NULL", v ? "token" : "vocabulary");
        return -1;
    }
    int64_t id = vocab_find(v, token, len);
    if (id < 0)
        ag_error_set(AG_ERR_NOTFOUND, "vocab_id: a token of %zu bytes is not in the vocabulary "
                     "of %lld tokens", len, (long long)v->n);
    return id;
}

const char *ag_vocab_token(const ag_vocab *v, int64_t id, size_t *len)
{
    if (len)
        *len = 0;
    if (!v) {
        ag_error_set(AG_ERR_NULL, "vocab_token: the vocabulary is NULL");
        return NULL;
    }
    if (id < 0 || id >= v->n) {
        ag_error_set(AG_ERR_VALUE, "vocab_token: id %lld is not in [0, %lld)", (long long)id,
                     (long long)v->n);
        return NULL;
    }
    if (len)
        *len = tok_len(v, id);
    return v->bytes + v->off[id];
}

/* Whether a space goes between WORDS tokens a and b: not next to a "\n". */
static bool space_between(const ag_vocab *v, int64_t a, int64_t b)
{
    return v->level == AG_TEXT_WORDS && a != v->newline && b != v->newline;
}

/* The bytes of the decoded ids without the NUL, or -1 with the error. */
static int64_t decoded_bytes(const char *what, const ag_vocab *v, const int64_t *ids, int64_t n)
{
    if (!v || !ids) {
        ag_error_set(AG_ERR_NULL, "%s: the %s is NULL", what, v ? "id array" : "vocabulary");
        return -1;
    }
    if (n < 0) {
        ag_error_set(AG_ERR_VALUE, "%s: n = %lld ids", what, (long long)n);
        return -1;
    }
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= v->n) {
            ag_error_set(AG_ERR_VALUE, "%s: id %lld at position %lld is not in [0, %lld)", what,
                         (long long)ids[i], (long long)i, (long long)v->n);
            return -1;
        }
        total += (int64_t)tok_len(v, ids[i]) + (i > 0 && space_between(v, ids[i - 1], ids[i]));
    }
    return total;
}

size_t ag_vocab_decode_size(const ag_vocab *v, const int64_t *ids, int64_t n)
{
    int64_t total = decoded_bytes("vocab_decode_size", v, ids, n);
    return total < 0 ? 0 : (size_t)total + 1;
}

bool ag_vocab_decode(const ag_vocab *v, const int64_t *ids, int64_t n, char *buf, size_t cap)
{
    if (buf && cap > 0)
        buf[0] = '\0';
    if (!buf) {
        ag_error_set(AG_ERR_NULL, "vocab_decode: the buffer is NULL");
        return false;
    }
    int64_t total = decoded_bytes("vocab_decode", v, ids, n);
    if (total < 0)
        return false;
    /* Whole tokens while they fit, so a short buffer still holds a prefix
     * that is valid text. */
    size_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        bool sp = i > 0 && space_between(v, ids[i - 1], ids[i]);
        size_t len = tok_len(v, ids[i]);
        if (at + sp + len + 1 > cap)
            break;
        if (sp)
            buf[at++] = ' ';
        memcpy(buf + at, v->bytes + v->off[ids[i]], len);
        at += len;
    }
    if (cap > 0)
        buf[at] = '\0';
    if ((size_t)total + 1 > cap) {
        ag_error_set(AG_ERR_VALUE, "vocab_decode: %lld ids decode to %lld bytes and a NUL; the "
                     "buffer holds %zu", (long long)n, (long long)total, cap);
        return false;
    }
    return true;
}

/* ---- tokenizing ---- */

/* The length of the UTF-8 sequence at s[0..len), or 0 with *why set when it
 * is not one: the shortest form only (no overlong encodings), no UTF-16
 * surrogates, nothing past U+10FFFF, and no NUL (text has none). */
static size_t utf8_seq(const unsigned char *s, size_t len, const char **why)
{
    unsigned c = s[0];
    if (c == 0) {
        *why = "a NUL byte: this is not text";
        return 0;
    }
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else {
        *why = c >= 0x80 && c <= 0xbf ? "a continuation byte without a lead byte"
               : c == 0xc0 || c == 0xc1 ? "an overlong encoding"
                                        : "a byte that never occurs in UTF-8";
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (i >= len || (s[i] & 0xc0) != 0x80) {
            *why = "a truncated sequence";
            return 0;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min) {
        *why = "an overlong encoding";
        return 0;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
        *why = "a UTF-16 surrogate";
        return 0;
    }
    if (cp > 0x10ffff) {
        *why = "a code point past U+10FFFF";
        return 0;
    }
    return n;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The tokens of s as spans into it (caller frees *out), after checking that
 * s is UTF-8. `where` names the source in messages ("\"path\"" or "the
 * string"), and base is the offset of s in it. */
static bool tokenize(const char *what, const char *where, const char *s, size_t len,
                     size_t base, ag_text_level level, span **out, int64_t *count)
{
    *out = NULL;
    *count = 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n_tok = 0;
    /* First pass: validate and count, so the spans are allocated once. */
    bool in_word = false;
    while (i < len) {
        const char *why = NULL;
        size_t k = utf8_seq(u + i, len - i, &why);
        if (!k) {
            ag_error_set(AG_ERR_VALUE, "%s: %s: invalid UTF-8 at byte offset %zu: %s", what,
                         where, base + i, why);
            return false;
        }
        if (level == AG_TEXT_CHARS)
            n_tok++;
        else if (s[i] == '\n') {
            n_tok++;
            in_word = false;
        } else if (is_blank(s[i]))
            in_word = false;
        else if (!in_word) {
            n_tok++;
            in_word = true;
        }
        i += k;
    }
    if (n_tok == 0)
        return true;
    span *sp = ag_malloc(n_tok * sizeof *sp);
    if (!sp) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for %zu tokens", what, n_tok);
        return false;
    }
    size_t t = 0;
    for (i = 0; i < len;) {
        if (level == AG_TEXT_CHARS) {
            const char *why;
            size_t k = utf8_seq(u + i, len - i, &why);
            sp[t++] = (span){s + i, k};
            i += k;
        } else if (s[i] == '\n') {
            sp[t++] = (span){s + i, 1};
            i++;
        } else if (is_blank(s[i])) {
            i++;
        } else {
            size_t j = i;
            while (j < len && s[j] != '\n' && !is_blank(s[j]))
                j++;
            sp[t++] = (span){s + i, j - i};
            i = j;
        }
    }
    *out = sp;
    *count = (int64_t)n_tok;
    return true;
}

static ag_text *text_new(const char *what, int64_t n)
{
    ag_text *t = ag_calloc(1, sizeof *t);
    if (t)
        t->ids = ag_malloc((size_t)(n ? n : 1) * sizeof *t->ids);
    if (!t || !t->ids) {
        ag_free(t);
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for %lld tokens", what, (long long)n);
        return NULL;
    }
    t->n = n;
    return t;
}

static void vocab_retain(const ag_vocab *v)
{
    /* The count is bookkeeping, not content: a vocabulary stays immutable. */
    atomic_fetch_add(&((ag_vocab *)v)->refs, 1);
}

/* The text of s: a new vocabulary when vocab is NULL, else encoded with it. */
static ag_text *make_text(const char *what, const char *where, const char *s, size_t len,
                          size_t base, ag_text_level level, const ag_vocab *vocab)
{
    if (level != AG_TEXT_CHARS && level != AG_TEXT_WORDS) {
        ag_error_set(AG_ERR_VALUE, "%s: level %d is neither AG_TEXT_CHARS nor AG_TEXT_WORDS",
                     what, (int)level);
        return NULL;
    }
    if (vocab && vocab->level != level) {
        ag_error_set(AG_ERR_VALUE, "%s: the vocabulary is of %s, the level asked for is %s",
                     what, vocab->level == AG_TEXT_CHARS ? "chars" : "words",
                     level == AG_TEXT_CHARS ? "chars" : "words");
        return NULL;
    }
    span *sp;
    int64_t n;
    if (!tokenize(what, where, s, len, base, level, &sp, &n))
        return NULL;
    if (n == 0 && !vocab) {
        ag_error_set(AG_ERR_VALUE, "%s: %s: empty text (no tokens)", what, where);
        return NULL;
    }
    ag_text *t = text_new(what, n);
    if (!t) {
        ag_free(sp);
        return NULL;
    }
    if (vocab) {
        for (int64_t i = 0; i < n; i++) {
            t->ids[i] = vocab_find(vocab, sp[i].p, sp[i].len);
            if (t->ids[i] < 0) {
                char tok[64];
                size_t m = sp[i].len < sizeof tok - 4 ? sp[i].len : sizeof tok - 4;
                memcpy(tok, sp[i].p, m);
                strcpy(tok + m, m < sp[i].len ? "..." : "");
                ag_error_set(AG_ERR_VALUE, "%s: %s: the token \"%s\" at byte offset %zu is not "
                             "in the vocabulary", what, where, tok, base + (size_t)(sp[i].p - s));
                ag_free(sp);
                ag_text_free(t);
                return NULL;
            }
        }
        vocab_retain(vocab);
        t->vocab = (ag_vocab *)vocab;
        ag_free(sp);
        return t;
    }
    /* Build on a sorted copy: the encoding needs the spans in text order. */
    span *sorted = ag_malloc((size_t)n * sizeof *sorted);
    if (!sorted) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for %lld tokens", what, (long long)n);
        ag_free(sp);
        ag_text_free(t);
        return NULL;
    }
    memcpy(sorted, sp, (size_t)n * sizeof *sorted);
    ag_vocab *v = vocab_build(what, sorted, n, level);
    ag_free(sorted);
    if (!v) {
        ag_free(sp);
        ag_text_free(t);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        t->ids[i] = vocab_find(v, sp[i].p, sp[i].len);
    ag_free(sp);
    t->vocab = v;
    return t;
}

ag_text *ag_text_from_string(const char *s, size_t len, ag_text_level level, const ag_vocab *vocab)
{
    if (!s) {
        ag_error_set(AG_ERR_NULL, "text_from_string: the string is NULL");
        return NULL;
    }
    return make_text("text_from_string", "the string", s, len, 0, level, vocab);
}

/* The whole file at path in *data (caller frees), within the read limit. */
static bool read_file(const char *path, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ag_error_set(AG_ERR_IO, "text_load: cannot open \"%s\": %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        ag_error_set(AG_ERR_IO, "text_load: \"%s\" is a directory", path);
        fclose(f);
        return false;
    }
    uint64_t limit = ag_read_limit();
    bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    if (regular && (uint64_t)st.st_size > limit) {
        ag_error_set(AG_ERR_VALUE, "text_load: \"%s\" has %llu bytes, beyond the read limit of "
                     "%llu bytes (raise it with ag_read_limit_set)", path,
                     (unsigned long long)st.st_size, (unsigned long long)limit);
        fclose(f);
        return false;
    }
    /* The size fstat gave is a first guess only: a pipe has none, and a
     * file may grow while it is read, so the buffer grows as data arrives
     * and the limit is checked against what was read. */
    size_t cap = regular && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
    char *buf = ag_malloc(cap);
    bool ok = buf != NULL;
    if (!ok)
        ag_error_set(AG_ERR_NOMEM, "text_load: out of memory for the %zu bytes of \"%s\"", cap,
                     path);
    while (ok) {
        if (len == cap) {
            size_t ncap = cap * 2;
            char *nb = ag_realloc(buf, ncap);
            if (!nb) {
                ag_error_set(AG_ERR_NOMEM, "text_load: out of memory for the %zu bytes of "
                             "\"%s\"", ncap, path);
                ok = false;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if ((uint64_t)len > limit) {
            ag_error_set(AG_ERR_VALUE, "text_load: \"%s\" is longer than the read limit of %llu "
                         "bytes (raise it with ag_read_limit_set)", path,
                         (unsigned long long)limit);
            ok = false;
        } else if (got == 0) {
            if (ferror(f)) {
                ag_error_set(AG_ERR_IO, "text_load: error reading \"%s\" at byte %zu: %s", path,
                             len, strerror(errno));
                ok = false;
            }
            break;
        }
    }
    fclose(f);
    if (!ok) {
        ag_free(buf);
        return false;
    }
    *data = buf;
    *size = len;
    return true;
}

ag_text *ag_text_load(const char *path, ag_text_level level)
{
    if (!path) {
        ag_error_set(AG_ERR_NULL, "text_load: the path is NULL");
        return NULL;
    }
    char *data;
    size_t size;
    if (!read_file(path, &data, &size))
        return NULL;
    size_t skip = size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    char where[300];
    snprintf(where, sizeof where, "\"%s\"", path);
    /* Offsets in messages count from the file's start, byte-order mark
     * included, so they point at the byte in the file. */
    ag_text *t = make_text("text_load", where, data + skip, size - skip, skip, level, NULL);
    ag_free(data);
    return t;
}

void ag_text_free(ag_text *t)
{
    if (!t)
        return;
    vocab_release(t->vocab);
    ag_free(t->ids);
    ag_free(t);
}

int64_t ag_text_len(const ag_text *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "text_len: the text is NULL");
        return 0;
    }
    return t->n;
}

const int64_t *ag_text_ids(const ag_text *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "text_ids: the text is NULL");
        return NULL;
    }
    return t->ids;
}

const ag_vocab *ag_text_vocab(const ag_text *t)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "text_vocab: the text is NULL");
        return NULL;
    }
    return t->vocab;
}

/* ---- split by lines ---- */

/* The lines of t marked `which` in held, concatenated in t's order. */
static ag_text *lines_of(const ag_text *t, const int64_t *start, int64_t lines,
                         const unsigned char *held, unsigned char which, int64_t n)
{
    ag_text *s = text_new("text_split", n);
    if (!s)
        return NULL;
    int64_t at = 0;
    for (int64_t l = 0; l < lines; l++)
        if (held[l] == which) {
            int64_t len = start[l + 1] - start[l];
            memcpy(s->ids + at, t->ids + start[l], (size_t)len * sizeof *s->ids);
            at += len;
        }
    vocab_retain(t->vocab);
    s->vocab = t->vocab;
    return s;
}

bool ag_text_split(const ag_text *t, double held_out, uint64_t seed, ag_text **train,
                   ag_text **test)
{
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!t || !train || !test) {
        ag_error_set(AG_ERR_NULL, "text_split: the %s is NULL",
                     !t ? "text" : !train ? "train result pointer" : "test result pointer");
        return false;
    }
    if (!(held_out > 0 && held_out < 1)) {
        ag_error_set(AG_ERR_VALUE, "text_split: held_out %g is not in (0, 1)", held_out);
        return false;
    }
    int64_t lines = 0;
    for (int64_t i = 0; i < t->n; i++)
        if (t->ids[i] == t->vocab->newline || i == t->n - 1)
            lines++;
    int64_t n_test = (int64_t)llround((double)lines * held_out);
    if (n_test == 0 || n_test == lines) {
        ag_error_set(AG_ERR_VALUE, "text_split: holding out %g of %lld lines leaves the %s set "
                     "empty", held_out, (long long)lines, n_test == 0 ? "test" : "training");
        return false;
    }
    int64_t *start = ag_malloc((size_t)(lines + 1) * sizeof *start);
    int64_t *perm = start ? ag_malloc((size_t)lines * sizeof *perm) : NULL;
    unsigned char *held = perm ? ag_calloc((size_t)lines, 1) : NULL;
    if (!held) {
        ag_free(start);
        ag_free(perm);
        ag_error_set(AG_ERR_NOMEM, "text_split: out of memory for %lld lines", (long long)lines);
        return false;
    }
    int64_t l = 0;
    start[0] = 0;
    for (int64_t i = 0; i < t->n; i++)
        if (t->ids[i] == t->vocab->newline || i == t->n - 1)
            start[++l] = i + 1;
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    ag_permutation(perm, lines, &rng);
    int64_t test_tokens = 0;
    for (int64_t k = 0; k < n_test; k++) {
        held[perm[k]] = 1;
        test_tokens += start[perm[k] + 1] - start[perm[k]];
    }
    *test = lines_of(t, start, lines, held, 1, test_tokens);
    *train = *test ? lines_of(t, start, lines, held, 0, t->n - test_tokens) : NULL;
    ag_free(start);
    ag_free(perm);
    ag_free(held);
    if (!*train) {
        ag_text_free(*test);
        *test = NULL;
        return false;
    }
    return true;
}

/* The starts of t's lines and the end, in a new array of lines + 1 (and
 * the count in *lines); NULL with AG_ERR_NOMEM. */
static int64_t *line_starts(const char *what, const ag_text *t, int64_t *lines)
{
    int64_t n = 0;
    for (int64_t i = 0; i < t->n; i++)
        if (t->ids[i] == t->vocab->newline || i == t->n - 1)
            n++;
    int64_t *start = ag_malloc((size_t)(n + 1) * sizeof *start);
    if (!start) {
        ag_error_set(AG_ERR_NOMEM, "%s: out of memory for %lld lines", what, (long long)n);
        return NULL;
    }
    int64_t l = 0;
    start[0] = 0;
    for (int64_t i = 0; i < t->n; i++)
        if (t->ids[i] == t->vocab->newline || i == t->n - 1)
            start[++l] = i + 1;
    *lines = n;
    return start;
}

ag_text *ag_text_shuffle_lines(const ag_text *t, uint64_t seed)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "text_shuffle_lines: the text is NULL");
        return NULL;
    }
    int64_t lines = 0;
    int64_t *start = line_starts("text_shuffle_lines", t, &lines);
    int64_t *perm = start ? ag_malloc((size_t)(lines ? lines : 1) * sizeof *perm) : NULL;
    ag_text *s = perm ? text_new("text_shuffle_lines", t->n) : NULL;
    if (!s) {
        if (start && !perm)
            ag_error_set(AG_ERR_NOMEM, "text_shuffle_lines: out of memory for %lld lines",
                         (long long)lines);
        ag_free(start);
        ag_free(perm);
        return NULL;
    }
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    ag_permutation(perm, lines, &rng);
    int64_t at = 0;
    for (int64_t k = 0; k < lines; k++) {
        int64_t len = start[perm[k] + 1] - start[perm[k]];
        memcpy(s->ids + at, t->ids + start[perm[k]], (size_t)len * sizeof *s->ids);
        at += len;
    }
    vocab_retain(t->vocab);
    s->vocab = t->vocab;
    ag_free(start);
    ag_free(perm);
    return s;
}

/* ---- (T, N) batches ---- */

struct ag_text_batches {
    const ag_text *t;      /* borrowed */
    int64_t T, N;          /* window length, windows per batch (at most W) */
    int64_t W;             /* windows: (len - 1) / T */
    bool shuffle;
    uint64_t seed;
    uint64_t epoch;        /* the current (or next) epoch, from 0 */
    bool in_epoch;         /* perm holds this epoch's order */
    int64_t pos;           /* perm position of the next batch's first window */
    int64_t *perm;         /* window numbers; window w starts at w * T */
    ag_tensor *x[2], *y[2]; /* [0] N columns, [1] the last batch's W % N */
};

void ag_text_batches_free(ag_text_batches *b)
{
    if (!b)
        return;
    for (int k = 0; k < 2; k++) {
        ag_tensor_free(b->x[k]);
        ag_tensor_free(b->y[k]);
    }
    ag_free(b->perm);
    ag_free(b);
}

ag_text_batches *ag_text_batches_new(const ag_text *t, int64_t T, int64_t N, bool shuffle,
                                     uint64_t seed)
{
    if (!t) {
        ag_error_set(AG_ERR_NULL, "text_batches_new: the text is NULL");
        return NULL;
    }
    if (T < 1 || N < 1) {
        ag_error_set(AG_ERR_VALUE, "text_batches_new: T = %lld and N = %lld; both must be >= 1",
                     (long long)T, (long long)N);
        return NULL;
    }
    if (t->n < 2 || (t->n - 1) / T < 1) {
        ag_error_set(AG_ERR_VALUE, "text_batches_new: the text has %lld tokens, too short for "
                     "one window of T + 1 = %lld (T inputs and the token after them)",
                     (long long)t->n, (long long)T + 1);
        return NULL;
    }
    ag_text_batches *b = ag_calloc(1, sizeof *b);
    if (!b) {
        ag_error_set(AG_ERR_NOMEM, "text_batches_new: out of memory");
        return NULL;
    }
    b->t = t;
    b->T = T;
    b->W = (t->n - 1) / T;
    b->N = N < b->W ? N : b->W;
    b->shuffle = shuffle;
    b->seed = seed;
    b->perm = ag_malloc((size_t)b->W * sizeof *b->perm);
    if (!b->perm) {
        ag_error_set(AG_ERR_NOMEM, "text_batches_new: out of memory for %lld windows",
                     (long long)b->W);
        ag_text_batches_free(b);
        return NULL;
    }
    int64_t cols[2] = {b->N, b->W % b->N};
    for (int k = 0; k < 2; k++) {
        if (cols[k] == 0)
            continue;
        b->x[k] = ag_empty(AG_I64, 2, (const int64_t[]){T, cols[k]});
        b->y[k] = ag_empty(AG_I64, 2, (const int64_t[]){T, cols[k]});
        if (!b->x[k] || !b->y[k]) {
            ag_text_batches_free(b);
            return NULL;
        }
    }
    return b;
}

bool ag_text_batches_next(ag_text_batches *b, ag_tensor **x, ag_tensor **y)
{
    if (x)
        *x = NULL;
    if (y)
        *y = NULL;
    if (!b) {
        ag_error_set(AG_ERR_NULL, "text_batches_next: the iterator is NULL");
        return false;
    }
    if (!b->in_epoch) {
        if (b->shuffle) {
            /* Epoch k's order depends on the seed and k only; the constant
             * keeps it apart from ag_text_split's order for one seed. */
            ag_rng rng;
            ag_rng_seed(&rng, ag_mix64(ag_mix64(b->seed ^ 0x746578745f626174ULL) + b->epoch));
            ag_permutation(b->perm, b->W, &rng);
        } else {
            for (int64_t i = 0; i < b->W; i++)
                b->perm[i] = i;
        }
        b->pos = 0;
        b->in_epoch = true;
    }
    if (b->pos >= b->W) {
        b->in_epoch = false;
        b->epoch++;
        return false;
    }
    int64_t m = b->W - b->pos < b->N ? b->W - b->pos : b->N;
    int k = m == b->N ? 0 : 1;
    int64_t *xd = ag_data(b->x[k]), *yd = ag_data(b->y[k]);
    const int64_t *ids = b->t->ids;
    for (int64_t c = 0; c < m; c++) {
        int64_t s = b->perm[b->pos + c] * b->T;
        for (int64_t r = 0; r < b->T; r++) {
            xd[r * m + c] = ids[s + r];
            yd[r * m + c] = ids[s + r + 1];
        }
    }
    b->pos += m;
    if (x)
        *x = b->x[k];
    if (y)
        *y = b->y[k];
    return true;
}

int64_t ag_text_batches_count(const ag_text_batches *b)
{
    if (!b) {
        ag_error_set(AG_ERR_NULL, "text_batches_count: the iterator is NULL");
        return 0;
    }
    return (b->W + b->N - 1) / b->N;
}

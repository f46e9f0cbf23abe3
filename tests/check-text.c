/* SPDX-License-Identifier: MIT */
/* check-text.c — text for language models (models/text.c, models/sample.c):
 * tokens and ids worked out by hand on small strings, decoding, the line
 * split, (T, N) batches, sampling against softmax frequencies, hostile
 * files, a real word list, and running out of memory at every allocation.
 *
 * The expected ids follow from the definition (sorted distinct tokens):
 * the code points of each string are listed in the comments. The sampling
 * test compares counts over many draws with the probabilities computed
 * here from the softmax formula, within 5 binomial standard deviations. */
#include "data_fixture.h"
#include "testing.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ag_text *from(const char *s, ag_text_level level)
{
    ag_text *t = ag_text_from_string(s, strlen(s), level, NULL);
    ck_assert_msg(t != NULL, "\"%s\": %s", s, ag_last_error());
    return t;
}

static void assert_ids(const ag_text *t, int64_t n, const int64_t *want)
{
    ck_assert_int_eq(ag_text_len(t), n);
    const int64_t *ids = ag_text_ids(t);
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(ids[i] == want[i], "id %lld is %lld, expected %lld", (long long)i,
                      (long long)ids[i], (long long)want[i]);
}

static void assert_token(const ag_vocab *v, int64_t id, const char *want)
{
    size_t len;
    const char *tok = ag_vocab_token(v, id, &len);
    ck_assert_msg(tok != NULL, "%s", ag_last_error());
    ck_assert_uint_eq(len, strlen(want));
    ck_assert_mem_eq(tok, want, len);
    ck_assert_int_eq(tok[len], '\0');
    ck_assert_int_eq(ag_vocab_id(v, want, strlen(want)), id);
}

/* The decoded text of t, in a malloc'd string. */
static char *decode(const ag_text *t)
{
    const ag_vocab *v = ag_text_vocab(t);
    size_t need = ag_vocab_decode_size(v, ag_text_ids(t), ag_text_len(t));
    ck_assert_msg(need > 0, "%s", ag_last_error());
    char *buf = malloc(need);
    ck_assert_ptr_nonnull(buf);
    ck_assert_msg(ag_vocab_decode(v, ag_text_ids(t), ag_text_len(t), buf, need), "%s",
                  ag_last_error());
    ck_assert_uint_eq(strlen(buf) + 1, need);
    return buf;
}

/* ---- tokens ---- */

START_TEST(test_chars_by_hand)
{
    /* h U+68, é U+E9 (c3 a9), l U+6C, o U+6F, space U+20, 한 U+D55C
     * (ed 95 9c), newline U+0A. Sorted by code point: \n ' ' h l o é 한. */
    ag_text *t = from("h\xc3\xa9llo \xed\x95\x9c\n", AG_TEXT_CHARS);
    const ag_vocab *v = ag_text_vocab(t);
    ck_assert_int_eq(ag_vocab_size(v), 7);
    const char *want_tok[] = {"\n", " ", "h", "l", "o", "\xc3\xa9", "\xed\x95\x9c"};
    for (int i = 0; i < 7; i++)
        assert_token(v, i, want_tok[i]);
    assert_ids(t, 8, (const int64_t[]){2, 5, 3, 3, 4, 1, 6, 0});
    char *s = decode(t);
    ck_assert_str_eq(s, "h\xc3\xa9llo \xed\x95\x9c\n");
    free(s);
    /* Encoding a prompt with the vocabulary: the ids of "hé". */
    ag_text *p = ag_text_from_string("h\xc3\xa9", 3, AG_TEXT_CHARS, v);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    assert_ids(p, 2, (const int64_t[]){2, 5});
    ck_assert_ptr_eq(ag_text_vocab(p), v);
    /* The prompt keeps the shared vocabulary alive after t is gone. */
    ag_text_free(t);
    assert_token(ag_text_vocab(p), 6, "\xed\x95\x9c");
    /* A character the vocabulary has not got, named with its offset. */
    ag_error_clear();
    ck_assert_ptr_null(ag_text_from_string("ho!", 3, AG_TEXT_CHARS, ag_text_vocab(p)));
    ck_assert_error(AG_ERR_VALUE, "\"!\" at byte offset 2");
    ag_error_clear();
    ck_assert_int_eq(ag_vocab_id(ag_text_vocab(p), "x", 1), -1);
    ck_assert_status(AG_ERR_NOTFOUND);
    /* An empty prompt encodes to no tokens; an empty text has no vocabulary. */
    ag_text *e = ag_text_from_string("", 0, AG_TEXT_CHARS, ag_text_vocab(p));
    ck_assert_msg(e != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_text_len(e), 0);
    ag_text_free(e);
    ag_error_clear();
    ck_assert_ptr_null(ag_text_from_string("", 0, AG_TEXT_CHARS, NULL));
    ck_assert_error(AG_ERR_VALUE, "empty text");
    /* The level must be the vocabulary's. */
    ag_error_clear();
    ck_assert_ptr_null(ag_text_from_string("h", 1, AG_TEXT_WORDS, ag_text_vocab(p)));
    ck_assert_status(AG_ERR_VALUE);
    ag_text_free(p);
}
END_TEST

START_TEST(test_words_by_hand)
{
    /* Tokens: the cat \n sat on the mat \n \n the end (tabs, CR and double
     * spaces are blanks). Sorted by bytes: \n cat end mat on sat the. */
    ag_text *t = from("the cat\r\nsat\ton  the mat \n\n  the end", AG_TEXT_WORDS);
    const ag_vocab *v = ag_text_vocab(t);
    ck_assert_int_eq(ag_vocab_size(v), 7);
    const char *want_tok[] = {"\n", "cat", "end", "mat", "on", "sat", "the"};
    for (int i = 0; i < 7; i++)
        assert_token(v, i, want_tok[i]);
    assert_ids(t, 11, (const int64_t[]){6, 1, 0, 5, 4, 6, 3, 0, 0, 6, 2});
    /* Decoding joins words with one space, none around a newline. */
    char *s = decode(t);
    ck_assert_str_eq(s, "the cat\nsat on the mat\n\nthe end");
    free(s);
    /* Multibyte words sort by their bytes: "é" (c3 a9) after "z". */
    ag_text *u = from("z \xc3\xa9t\xc3\xa9 a", AG_TEXT_WORDS);
    assert_ids(u, 3, (const int64_t[]){1, 2, 0});
    ag_text_free(u);
    ag_text_free(t);
}
END_TEST

START_TEST(test_decode_errors)
{
    ag_text *t = from("ab\n", AG_TEXT_CHARS); /* \n 0, a 1, b 2 */
    const ag_vocab *v = ag_text_vocab(t);
    char buf[8];
    ag_error_clear();
    ck_assert(!ag_vocab_decode(v, (const int64_t[]){1, 3, 0}, 3, buf, sizeof buf));
    ck_assert_error(AG_ERR_VALUE, "id 3 at position 1");
    ck_assert_str_eq(buf, "");
    ag_error_clear();
    ck_assert(!ag_vocab_decode(v, (const int64_t[]){-1}, 1, buf, sizeof buf));
    ck_assert_error(AG_ERR_VALUE, "id -1 at position 0");
    ag_error_clear();
    ck_assert_uint_eq(ag_vocab_decode_size(v, (const int64_t[]){5}, 1), 0);
    ck_assert_status(AG_ERR_VALUE);
    /* "abba" needs 5 bytes: a buffer of 3 holds the whole tokens "ab". */
    const int64_t abba[] = {1, 2, 2, 1};
    ck_assert_uint_eq(ag_vocab_decode_size(v, abba, 4), 5);
    ag_error_clear();
    ck_assert(!ag_vocab_decode(v, abba, 4, buf, 3));
    ck_assert_error(AG_ERR_VALUE, "holds 3");
    ck_assert_str_eq(buf, "ab");
    ck_assert(ag_vocab_decode(v, abba, 4, buf, 5));
    ck_assert_str_eq(buf, "abba");
    ck_assert(ag_vocab_decode(v, abba, 0, buf, 1));
    ck_assert_str_eq(buf, "");
    ag_error_clear();
    ck_assert_ptr_null(ag_vocab_token(v, 3, NULL));
    ck_assert_status(AG_ERR_VALUE);
    ag_text_free(t);
}
END_TEST

/* ---- hostile input ---- */

/* One file name for all (the fixture keeps a few temporary files). */
static void assert_load_fails(const void *data, size_t len, ag_text_level lv, ag_status st,
                              const char *part)
{
    const char *path = tmp_file("hostile.txt", data, len);
    ag_error_clear();
    ag_error_clear();
    ck_assert_ptr_null(ag_text_load(path, lv));
    ck_assert_error(st, part);
    ck_assert_message_has(path);
}

START_TEST(test_hostile_files)
{
    assert_load_fails("", 0, AG_TEXT_CHARS, AG_ERR_VALUE, "empty text");
    assert_load_fails(" \t \r ", 5, AG_TEXT_WORDS, AG_ERR_VALUE, "empty text");
    assert_load_fails("\xef\xbb\xbf", 3, AG_TEXT_CHARS, AG_ERR_VALUE, "empty text");
    /* A 2-byte lead with nothing after it. */
    assert_load_fails("ab\xc3", 3, AG_TEXT_CHARS, AG_ERR_VALUE,
                      "byte offset 2: a truncated sequence");
    /* A 3-byte lead followed by ASCII. */
    assert_load_fails("\xe2\x82z", 3, AG_TEXT_WORDS, AG_ERR_VALUE,
                      "byte offset 0: a truncated sequence");
    /* '/' as two bytes (c0 af) and as three (e0 80 af). */
    assert_load_fails("a\xc0\xaf", 3, AG_TEXT_CHARS, AG_ERR_VALUE,
                      "byte offset 1: an overlong encoding");
    assert_load_fails("ab\xe0\x80\xaf", 5, AG_TEXT_CHARS, AG_ERR_VALUE,
                      "byte offset 2: an overlong encoding");
    /* U+D800 encoded as ed a0 80. */
    assert_load_fails("x\xed\xa0\x80", 4, AG_TEXT_CHARS, AG_ERR_VALUE,
                      "byte offset 1: a UTF-16 surrogate");
    /* U+110000 as f4 90 80 80. */
    assert_load_fails("\xf4\x90\x80\x80", 4, AG_TEXT_CHARS, AG_ERR_VALUE,
                      "past U+10FFFF");
    assert_load_fails("\x80", 1, AG_TEXT_CHARS, AG_ERR_VALUE, "continuation byte");
    assert_load_fails("ab\0cd", 5, AG_TEXT_WORDS, AG_ERR_VALUE,
                      "byte offset 2: a NUL byte");
    /* Offsets count the byte-order mark. */
    assert_load_fails("\xef\xbb\xbf" "a\0", 5, AG_TEXT_CHARS, AG_ERR_VALUE,
                      "byte offset 4");
    /* Beyond the read limit, refused before reading. */
    char big[200];
    memset(big, 'a', sizeof big);
    const char *path = tmp_file("long.txt", big, sizeof big);
    ag_read_limit_set(100);
    ag_error_clear();
    ck_assert_ptr_null(ag_text_load(path, AG_TEXT_CHARS));
    ag_read_limit_set(0);
    ck_assert_error(AG_ERR_VALUE, "read limit of 100 bytes");
    ag_text *ok = ag_text_load(path, AG_TEXT_CHARS);
    ck_assert_msg(ok != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_text_len(ok), 200);
    ag_text_free(ok);
    /* A missing file and a folder. */
    ag_error_clear();
    ck_assert_ptr_null(ag_text_load("no/such/file.txt", AG_TEXT_CHARS));
    ck_assert_error(AG_ERR_IO, "no/such/file.txt");
    char dir[300];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    ag_error_clear();
    ck_assert_ptr_null(ag_text_load(dir, AG_TEXT_CHARS));
    ck_assert_error(AG_ERR_IO, "directory");
    /* A bad level. */
    ag_error_clear();
    ck_assert_ptr_null(ag_text_from_string("a", 1, (ag_text_level)7, NULL));
    ck_assert_status(AG_ERR_VALUE);
}
END_TEST

START_TEST(test_load_matches_string)
{
    const char s[] = "\xef\xbb\xbfWe \xc3\xa9t\xc3\xa9\nsummer\n";
    const char *path = tmp_file("small.txt", s, sizeof s - 1);
    for (int lv = 0; lv < 2; lv++) {
        ag_text *a = ag_text_load(path, (ag_text_level)lv);
        ck_assert_msg(a != NULL, "%s", ag_last_error());
        ag_text *b = from(s + 3, (ag_text_level)lv); /* without the byte-order mark */
        ck_assert_int_eq(ag_text_len(a), ag_text_len(b));
        ck_assert_int_eq(ag_text_len(a), lv == 0 ? 14 : 5);
        ck_assert_mem_eq(ag_text_ids(a), ag_text_ids(b),
                         (size_t)ag_text_len(a) * sizeof(int64_t));
        char *d = decode(a);
        ck_assert_str_eq(d, s + 3);
        free(d);
        ag_text_free(a);
        ag_text_free(b);
    }
}
END_TEST

/* ---- split ---- */

/* The lines of s (none empty here), in order; s is cut up. */
static int lines_of(char *s, char **out, int max)
{
    int n = 0;
    char *save;
    for (char *p = strtok_r(s, "\n", &save); p && n < max; p = strtok_r(NULL, "\n", &save))
        out[n++] = p;
    return n;
}

START_TEST(test_split_lines)
{
    const char *src = "l0 a\nl1 b\nl2 c\nl3 d\nl4 e\nl5 f\nl6 g\nl7 h\nl8 i\nl9 j";
    ag_text *t = from(src, AG_TEXT_WORDS);
    ag_text *tr, *te, *tr2, *te2;
    ck_assert_msg(ag_text_split(t, 0.3, 42, &tr, &te), "%s", ag_last_error());
    ck_assert_ptr_eq(ag_text_vocab(tr), ag_text_vocab(t));
    ck_assert_ptr_eq(ag_text_vocab(te), ag_text_vocab(t));
    ck_assert_int_eq(ag_text_len(tr) + ag_text_len(te), ag_text_len(t));
    /* Each of the 10 lines lands in exactly one part, 3 held out, in the
     * text's order within each part. */
    char *a = decode(tr), *b = decode(te);
    char abuf[256], bbuf[256];
    snprintf(abuf, sizeof abuf, "%s", a);
    snprintf(bbuf, sizeof bbuf, "%s", b);
    char *la[16], *lb[16];
    int na = lines_of(abuf, la, 16), nb = lines_of(bbuf, lb, 16);
    ck_assert_int_eq(na, 7);
    ck_assert_int_eq(nb, 3);
    int seen[10] = {0}, last_a = -1, last_b = -1;
    for (int i = 0; i < na + nb; i++) {
        const char *l = i < na ? la[i] : lb[i - na];
        ck_assert_msg(l[0] == 'l' && l[1] >= '0' && l[1] <= '9', "line \"%s\"", l);
        int k = l[1] - '0';
        seen[k]++;
        int *last = i < na ? &last_a : &last_b;
        ck_assert_int_gt(k, *last);
        *last = k;
    }
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(seen[k], 1);
    /* The same seed, the same split; some other seed, another one. */
    ck_assert(ag_text_split(t, 0.3, 42, &tr2, &te2));
    char *b2 = decode(te2);
    ck_assert_str_eq(b, b2);
    free(b2);
    ag_text_free(tr2);
    ag_text_free(te2);
    bool differs = false;
    for (uint64_t seed = 1; seed < 10 && !differs; seed++) {
        ck_assert(ag_text_split(t, 0.3, seed, &tr2, &te2));
        b2 = decode(te2);
        differs = strcmp(b, b2) != 0;
        free(b2);
        ag_text_free(tr2);
        ag_text_free(te2);
    }
    ck_assert(differs);
    free(a);
    free(b);
    /* The parts outlive the text they came from. */
    ag_text_free(t);
    ck_assert_int_eq(ag_vocab_size(ag_text_vocab(te)), 21);
    ag_text_free(tr);
    ag_text_free(te);
}
END_TEST

START_TEST(test_split_errors)
{
    ag_text *t = from("a\nb", AG_TEXT_CHARS), *tr = (ag_text *)1, *te = (ag_text *)1;
    ag_error_clear();
    ck_assert(!ag_text_split(t, 0.0, 1, &tr, &te));
    ck_assert_error(AG_ERR_VALUE, "not in (0, 1)");
    ck_assert_ptr_null(tr);
    ck_assert_ptr_null(te);
    ag_error_clear();
    ck_assert(!ag_text_split(t, 1.0, 1, &tr, &te));
    ag_error_clear();
    ck_assert(!ag_text_split(t, NAN, 1, &tr, &te));
    ag_error_clear();
    ck_assert(!ag_text_split(t, 0.1, 1, &tr, &te));
    ck_assert_error(AG_ERR_VALUE, "of 2 lines");
    ck_assert(ag_text_split(t, 0.5, 1, &tr, &te));
    ck_assert_int_eq(ag_text_len(tr) + ag_text_len(te), 3);
    ag_text_free(tr);
    ag_text_free(te);
    ag_text_free(t);
    t = from("one line only", AG_TEXT_WORDS);
    ag_error_clear();
    ck_assert(!ag_text_split(t, 0.5, 1, &tr, &te));
    ck_assert_error(AG_ERR_VALUE, "of 1 lines");
    ag_text_free(t);
}
END_TEST

/* ---- batches ---- */

/* 26 distinct letters: token i has id i, so an id is its position. */
static const char *ALPHABET = "abcdefghijklmnopqrstuvwxyz";

/* Runs one epoch, checking every batch's x/y relation and shape, and
 * returns the window starts in visiting order in starts (W of them). */
static int epoch_starts(ag_text_batches *b, int64_t T, int64_t N, int64_t *starts, int max)
{
    ag_tensor *x, *y;
    int w = 0, batches = 0;
    while (ag_text_batches_next(b, &x, &y)) {
        batches++;
        ck_assert_int_eq(ag_ndim(x), 2);
        ck_assert_int_eq(ag_dim(x, 0), T);
        int64_t n = ag_dim(x, 1);
        ck_assert_int_le(n, N);
        ck_assert_shape(y, 2, H_SHAPE(T, n));
        ck_assert_int_eq(ag_tensor_dtype(x), AG_I64);
        ck_assert(ag_is_leaf(x) && ag_is_leaf(y));
        const int64_t *xd = ag_data_const(x), *yd = ag_data_const(y);
        for (int64_t c = 0; c < n; c++) {
            int64_t s = xd[c];
            ck_assert_int_eq(s % T, 0);
            for (int64_t r = 0; r < T; r++) {
                ck_assert_int_eq(xd[r * n + c], s + r);
                ck_assert_int_eq(yd[r * n + c], s + r + 1);
            }
            ck_assert_int_lt(w, max);
            starts[w++] = s;
        }
    }
    ck_assert_ok();
    ck_assert_ptr_null(x);
    ck_assert_ptr_null(y);
    ck_assert_int_eq(batches, ag_text_batches_count(b));
    return w;
}

START_TEST(test_batches_windows)
{
    ag_text *t = from(ALPHABET, AG_TEXT_CHARS);
    /* T = 3: starts 0, 3, ..., 21 (21 + 3 + 1 = 25 <= 26; 24 + 4 > 26), so
     * W = 8; N = 3 gives batches of 3, 3 and 2 columns. */
    ag_text_batches *b = ag_text_batches_new(t, 3, 3, true, 7);
    ck_assert_msg(b != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_text_batches_count(b), 3);
    int64_t s1[8], s2[8], s3[8];
    ck_assert_int_eq(epoch_starts(b, 3, 3, s1, 8), 8);
    ck_assert_int_eq(epoch_starts(b, 3, 3, s2, 8), 8);
    /* Every window exactly once per epoch. */
    for (int e = 0; e < 2; e++) {
        int seen[8] = {0};
        for (int i = 0; i < 8; i++)
            seen[(e ? s2 : s1)[i] / 3]++;
        for (int i = 0; i < 8; i++)
            ck_assert_int_eq(seen[i], 1);
    }
    ck_assert_msg(memcmp(s1, s2, sizeof s1) != 0, "two epochs in the same order");
    /* Another iterator of the seed repeats both epochs. */
    ag_text_batches *c = ag_text_batches_new(t, 3, 3, true, 7);
    ck_assert_ptr_nonnull(c);
    epoch_starts(c, 3, 3, s3, 8);
    ck_assert_mem_eq(s1, s3, sizeof s1);
    epoch_starts(c, 3, 3, s3, 8);
    ck_assert_mem_eq(s2, s3, sizeof s2);
    ag_text_batches_free(c);
    /* Another seed, another order. */
    c = ag_text_batches_new(t, 3, 3, true, 8);
    epoch_starts(c, 3, 3, s3, 8);
    ck_assert_msg(memcmp(s1, s3, sizeof s1) != 0, "seeds 7 and 8 give the same order");
    ag_text_batches_free(c);
    /* Without shuffling: text order. */
    c = ag_text_batches_new(t, 3, 3, false, 7);
    epoch_starts(c, 3, 3, s3, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(s3[i], 3 * i);
    ag_text_batches_free(c);
    /* N beyond W: one batch of all W windows. */
    c = ag_text_batches_new(t, 3, 100, true, 7);
    ck_assert_int_eq(ag_text_batches_count(c), 1);
    ck_assert_int_eq(epoch_starts(c, 3, 100, s3, 8), 8);
    ag_text_batches_free(c);
    /* T = 25 leaves exactly one window (0..24 and the target 25). */
    c = ag_text_batches_new(t, 25, 4, true, 7);
    ck_assert_msg(c != NULL, "%s", ag_last_error());
    ck_assert_int_eq(epoch_starts(c, 25, 4, s3, 8), 1);
    ag_text_batches_free(c);
    ag_text_batches_free(b);
    ag_text_free(t);
}
END_TEST

START_TEST(test_batches_errors)
{
    ag_text *t = from(ALPHABET, AG_TEXT_CHARS);
    ag_error_clear();
    ck_assert_ptr_null(ag_text_batches_new(t, 26, 1, true, 1));
    ck_assert_error(AG_ERR_VALUE, "26 tokens");
    ck_assert_message_has("T + 1 = 27");
    ag_error_clear();
    ck_assert_ptr_null(ag_text_batches_new(t, 0, 1, true, 1));
    ck_assert_status(AG_ERR_VALUE);
    ag_error_clear();
    ck_assert_ptr_null(ag_text_batches_new(t, 2, 0, true, 1));
    ck_assert_status(AG_ERR_VALUE);
    ag_text_free(t);
    t = from("a", AG_TEXT_CHARS);
    ag_error_clear();
    ck_assert_ptr_null(ag_text_batches_new(t, 1, 1, true, 1));
    ck_assert_error(AG_ERR_VALUE, "1 tokens");
    ag_text_free(t);
}
END_TEST

/* ---- sampling ---- */

/* softmax(l / temp) over the k largest (ties to lower ids), by the
 * definition: the k-th is found by counting, for each id, how many rank
 * before it. */
static void softmax_top(const double *l, int V, double temp, int k, double *p)
{
    double m = -INFINITY, z = 0;
    for (int j = 0; j < V; j++) {
        int before = 0;
        for (int i = 0; i < V; i++)
            before += l[i] > l[j] || (l[i] == l[j] && i < j);
        p[j] = k == 0 || before < k ? 1 : 0;
        if (p[j] && l[j] > m)
            m = l[j];
    }
    for (int j = 0; j < V; j++) {
        p[j] = p[j] ? exp((l[j] - m) / temp) : 0;
        z += p[j];
    }
    for (int j = 0; j < V; j++)
        p[j] /= z;
}

/* Draws `draws` ids and checks each count against draws·p within 5
 * standard deviations of the binomial, sqrt(draws·p·(1 - p)), plus one for
 * the discreteness: a correct sampler fails a check with probability about
 * 6e-7. An id of probability 0 must never be drawn. */
static void check_frequencies(const ag_tensor *logits, const double *l, int V, double temp,
                              int k, uint64_t seed)
{
    enum { DRAWS = 20000 };
    double p[16];
    softmax_top(l, V, temp, k, p);
    long count[16] = {0};
    ag_rng rng;
    ag_rng_seed(&rng, seed);
    for (int i = 0; i < DRAWS; i++) {
        int64_t id = ag_sample_logits(logits, temp, k, &rng);
        ck_assert_msg(id >= 0 && id < V, "draw %d: %lld: %s", i, (long long)id, ag_last_error());
        count[id]++;
    }
    for (int j = 0; j < V; j++) {
        if (p[j] == 0) {
            ck_assert_msg(count[j] == 0, "id %d outside the top %d drawn %ld times", j, k,
                          count[j]);
            continue;
        }
        double mean = DRAWS * p[j], sd = sqrt(DRAWS * p[j] * (1 - p[j]));
        ck_assert_msg(fabs((double)count[j] - mean) <= 5 * sd + 1,
                      "T %g, top_k %d: id %d drawn %ld times, expected %.1f ± 5·%.1f", temp, k, j,
                      count[j], mean, sd);
    }
}

START_TEST(test_sample_frequencies)
{
    const double l[] = {1.0, 2.0, 0.5, 3.0, -1.0, 2.0};
    for (int dt = 0; dt < 2; dt++) {
        ag_dtype dtype = dt ? AG_F32 : AG_F64;
        ag_tensor *x = h_arr(dtype, 1, H_SHAPE(6), l);
        check_frequencies(x, l, 6, 1.0, 0, 1);
        check_frequencies(x, l, 6, 0.7, 0, 2);
        check_frequencies(x, l, 6, 2.5, 0, 3);
        /* The top 3 are ids 3, 1 and 5 (1 and 5 tie at 2.0). */
        check_frequencies(x, l, 6, 1.0, 3, 4);
        /* The top 2 are 3 and 1: the tie goes to the lower id. */
        check_frequencies(x, l, 6, 1.3, 2, 5);
        check_frequencies(x, l, 6, 1.0, 6, 6);
        check_frequencies(x, l, 6, 1.0, 60, 7);
    }
    /* The last row of a 2-D tensor; the first row would favour id 0. */
    const double rows[] = {9, 0, 0, 0, 0, 0, 1.0, 2.0, 0.5, 3.0, -1.0, 2.0};
    ag_tensor *x2 = h_arr(AG_F64, 2, H_SHAPE(2, 6), rows);
    check_frequencies(x2, l, 6, 1.0, 0, 8);
    /* Masked (-inf) logits are never drawn. */
    const double masked[] = {1.0, -INFINITY, 0.0, -INFINITY};
    ag_tensor *xm = h_arr(AG_F64, 1, H_SHAPE(4), masked);
    check_frequencies(xm, masked, 4, 1.0, 0, 9);
}
END_TEST

START_TEST(test_sample_argmax)
{
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_tensor *x = h_arr(AG_F32, 1, H_SHAPE(5), H_VALS(0.1, 4, -2, 4, 3.9));
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(ag_sample_logits(x, 0, 0, &rng), 1);
        ck_assert_int_eq(ag_sample_logits(x, 0, 3, &rng), 1);
        ck_assert_int_eq(ag_sample_logits(x, 1.0, 1, &rng), 1);
        ck_assert_int_eq(ag_sample_logits(x, 100.0, 1, &rng), 1);
    }
    /* Temperature 0 draws nothing: the stream is where it was. */
    ag_rng a, b;
    ag_rng_seed(&a, 5);
    ag_rng_seed(&b, 5);
    ag_sample_logits(x, 0, 0, &a);
    ck_assert_uint_eq(ag_rng_next(&a), ag_rng_next(&b));
    /* A tiny temperature is all but the argmax (here without a tie). */
    ag_tensor *u = h_arr(AG_F64, 1, H_SHAPE(4), H_VALS(0.1, 4, -2, 3.9));
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(ag_sample_logits(u, 1e-300, 0, &rng), 1);
    ck_assert_ok();
}
END_TEST

START_TEST(test_sample_errors)
{
    ag_rng rng;
    ag_rng_seed(&rng, 3);
    ag_tensor *x = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(0, 1, 2));
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(x, -1, 0, &rng), -1);
    ck_assert_error(AG_ERR_VALUE, "temperature");
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(x, NAN, 0, &rng), -1);
    ck_assert_error(AG_ERR_VALUE, "temperature");
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(x, 1, -1, &rng), -1);
    ck_assert_error(AG_ERR_VALUE, "top_k");
    ag_tensor *n = h_arr(AG_F64, 1, H_SHAPE(3), H_VALS(0, NAN, 2));
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(n, 1, 0, &rng), -1);
    ck_assert_error(AG_ERR_VALUE, "logit 1 (of 3)");
    ag_tensor *inf = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(INFINITY, 2));
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(inf, 0, 0, &rng), -1);
    ck_assert_error(AG_ERR_VALUE, "logit 0");
    ag_tensor *ninf = h_arr(AG_F64, 1, H_SHAPE(2), H_VALS(-INFINITY, -INFINITY));
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(ninf, 1, 0, &rng), -1);
    ck_assert_error(AG_ERR_VALUE, "-inf");
    ag_tensor *i = h_keep(ag_zeros(AG_I64, 1, H_SHAPE(3)));
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(i, 1, 0, &rng), -1);
    ck_assert_status(AG_ERR_DTYPE);
    ag_tensor *s = h_scalar(AG_F64, 1);
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(s, 1, 0, &rng), -1);
    ck_assert_status(AG_ERR_SHAPE);
    ag_tensor *e = h_keep(ag_zeros(AG_F64, 1, H_SHAPE(0)));
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(e, 1, 0, &rng), -1);
    ck_assert_status(AG_ERR_SHAPE);
    ag_tensor *c = h_keep(ag_zeros(AG_F64, 3, H_SHAPE(1, 1, 3)));
    ag_error_clear();
    ck_assert_int_eq(ag_sample_logits(c, 1, 0, &rng), -1);
    ck_assert_status(AG_ERR_SHAPE);
}
END_TEST

/* ---- a real file ---- */

START_TEST(test_word_list)
{
    const char *path = "/usr/share/dict/american-english";
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "check-text: %s not found (Debian's wamerican); skipping the real "
                "file\n", path);
        return;
    }
    ag_text *t = ag_text_load(path, AG_TEXT_CHARS);
    ck_assert_msg(t != NULL, "%s", ag_last_error());
    /* Letters of both cases, the apostrophe, the newline and a few dozen
     * accented letters: well over 53, well under 200. */
    int64_t V = ag_vocab_size(ag_text_vocab(t));
    ck_assert_msg(V > 53 && V < 200, "%lld distinct characters", (long long)V);
    ck_assert_int_eq(ag_vocab_id(ag_text_vocab(t), "\n", 1), 0);
    ck_assert_int_gt(ag_text_len(t), 500000);
    ag_text *tr, *te;
    ck_assert_msg(ag_text_split(t, 0.1, 1, &tr, &te), "%s", ag_last_error());
    ck_assert_int_eq(ag_text_len(tr) + ag_text_len(te), ag_text_len(t));
    ag_text_batches *b = ag_text_batches_new(tr, 64, 32, true, 1);
    ck_assert_msg(b != NULL, "%s", ag_last_error());
    int64_t windows = (ag_text_len(tr) - 1) / 64, cols = 0, batches = 0;
    ag_tensor *x, *y;
    while (ag_text_batches_next(b, &x, &y)) {
        const int64_t *xd = ag_data_const(x), *yd = ag_data_const(y);
        int64_t n = ag_dim(x, 1);
        /* y is x moved up one row, but for the last row. */
        for (int64_t i = 0; i < 63 * n; i++)
            ck_assert_int_eq(yd[i], xd[i + n]);
        cols += n;
        batches++;
    }
    ck_assert_int_eq(cols, windows);
    ck_assert_int_eq(batches, ag_text_batches_count(b));
    ag_text_batches_free(b);
    ag_text_free(tr);
    ag_text_free(te);
    ag_text *w = ag_text_load(path, AG_TEXT_WORDS);
    ck_assert_msg(w != NULL, "%s", ag_last_error());
    ck_assert_int_gt(ag_vocab_size(ag_text_vocab(w)), 50000);
    ag_text_free(w);
    ag_text_free(t);
}
END_TEST

/* ---- out of memory ---- */

/* Lines "0\n" .. "9\n" shuffled: each comes once, whole; the order follows
 * the seed; the vocabulary is the same object. */
START_TEST(test_shuffle_lines)
{
    ag_text *t = from("0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n", AG_TEXT_CHARS);
    /* ids: "\n" 0, digit d is d + 1 */
    ag_text *a = ag_text_shuffle_lines(t, 5), *b = ag_text_shuffle_lines(t, 5);
    ag_text *c = ag_text_shuffle_lines(t, 6);
    ck_assert_msg(a && b && c, "%s", ag_last_error());
    ck_assert_ptr_eq(ag_text_vocab(a), ag_text_vocab(t));
    ck_assert_int_eq(ag_text_len(a), 20);
    const int64_t *ia = ag_text_ids(a), *ib = ag_text_ids(b), *ic = ag_text_ids(c);
    int seen[10] = {0};
    bool same_as_t = true, same_as_c = true;
    for (int k = 0; k < 10; k++) {
        ck_assert_int_eq(ia[2 * k + 1], 0); /* every line keeps its "\n" */
        ck_assert(ia[2 * k] >= 1 && ia[2 * k] <= 10);
        seen[ia[2 * k] - 1]++;
        ck_assert_int_eq(ia[2 * k], ib[2 * k]);
        same_as_t = same_as_t && ia[2 * k] == k + 1;
        same_as_c = same_as_c && ia[2 * k] == ic[2 * k];
    }
    for (int d = 0; d < 10; d++)
        ck_assert_int_eq(seen[d], 1);
    /* 10! orders: the chance that a seed leaves them, or two seeds agree, is 1 in 3.6e6. */
    ck_assert(!same_as_t);
    ck_assert(!same_as_c);
    ag_text_free(a);
    ag_text_free(b);
    ag_text_free(c);
    ag_text_free(t);

    /* A last line without "\n" moves as it is. */
    t = from("ab\nc", AG_TEXT_CHARS);
    bool moved = false;
    for (uint64_t seed = 0; seed < 16 && !moved; seed++) {
        a = ag_text_shuffle_lines(t, seed);
        ck_assert_msg(a != NULL, "%s", ag_last_error());
        char *d = decode(a);
        ck_assert_msg(strcmp(d, "ab\nc") == 0 || strcmp(d, "cab\n") == 0, "%s", d);
        moved = strcmp(d, "cab\n") == 0;
        free(d);
        ag_text_free(a);
    }
    ck_assert(moved);
    ag_text_free(t);
    ag_error_clear();
    ck_assert_ptr_null(ag_text_shuffle_lines(NULL, 1));
    ck_assert_int_eq(ag_last_status(), AG_ERR_NULL);
    ag_error_clear();
}
END_TEST

static const char *oom_path;

static bool oom_load(void)
{
    ag_text *t = ag_text_load(oom_path, AG_TEXT_WORDS);
    ag_text_free(t);
    return t != NULL;
}

static bool oom_load_chars(void)
{
    ag_text *t = ag_text_load(oom_path, AG_TEXT_CHARS);
    ag_text_free(t);
    return t != NULL;
}

static bool oom_encode(void)
{
    ag_text *t = ag_text_from_string("abcab\nc", 7, AG_TEXT_CHARS, NULL);
    if (!t)
        return false;
    ag_text *p = ag_text_from_string("cab", 3, AG_TEXT_CHARS, ag_text_vocab(t));
    ag_text_free(t);
    ag_text_free(p);
    return p != NULL;
}

static bool oom_split(void)
{
    ag_text *t = ag_text_from_string("a b\nc d\ne\nf", 11, AG_TEXT_WORDS, NULL);
    ag_text *tr = NULL, *te = NULL;
    bool ok = t && ag_text_split(t, 0.5, 3, &tr, &te);
    ag_text_free(t);
    ag_text_free(tr);
    ag_text_free(te);
    return ok;
}

static bool oom_shuffle(void)
{
    ag_text *t = ag_text_from_string("a b\nc d\ne\nf", 11, AG_TEXT_WORDS, NULL);
    ag_text *s = t ? ag_text_shuffle_lines(t, 3) : NULL;
    ag_text_free(t);
    ag_text_free(s);
    return s != NULL;
}

static bool oom_batches(void)
{
    ag_text *t = ag_text_from_string(ALPHABET, 26, AG_TEXT_CHARS, NULL);
    ag_text_batches *b = t ? ag_text_batches_new(t, 3, 3, true, 1) : NULL;
    ag_tensor *x, *y;
    int n = 0;
    while (b && ag_text_batches_next(b, &x, &y))
        n++;
    ag_text_batches_free(b);
    ag_text_free(t);
    return b && n == 3;
}

static bool oom_sample(void)
{
    ag_tensor *x = ag_from_array(AG_F64, 1, H_SHAPE(4), H_VALS(1, 2, 3, 4));
    ag_rng rng;
    ag_rng_seed(&rng, 1);
    int64_t id = x ? ag_sample_logits(x, 1.0, 2, &rng) : -1;
    ag_tensor_free(x);
    return id == 2 || id == 3;
}

START_TEST(test_out_of_memory)
{
    oom_path = tmp_file("oom.txt", "the cat\nsat \xc3\xa9t\xc3\xa9\n", 18);
    const struct {
        const char *name;
        bool (*fn)(void);
    } calls[] = {{"text_load words", oom_load}, {"text_load chars", oom_load_chars},
                 {"from_string with a vocabulary", oom_encode}, {"text_split", oom_split},
                 {"text_shuffle_lines", oom_shuffle},
                 {"text_batches", oom_batches}, {"sample_logits", oom_sample}};
    for (size_t c = 0; c < H_COUNT(calls); c++) {
        long k = 0;
        for (;; k++) {
            ck_assert_msg(k < 1000, "%s never succeeds", calls[c].name);
            ag_error_clear();
            ag_alloc_fail_after(k);
            bool ok = calls[c].fn();
            ag_alloc_fail_after(-1);
            if (ok)
                break;
            ck_assert_msg(ag_last_status() == AG_ERR_NOMEM, "%s with allocation %ld failing: %s: %s",
                          calls[c].name, k, ag_status_str(ag_last_status()), ag_last_error());
        }
        ck_assert_msg(k > 0, "%s allocated nothing", calls[c].name);
    }
    ag_error_clear();
}
END_TEST

Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = data_tcase(s, "tokens", H_TIMEOUT);
    tcase_add_test(tc, test_chars_by_hand);
    tcase_add_test(tc, test_words_by_hand);
    tcase_add_test(tc, test_decode_errors);
    tcase_add_test(tc, test_hostile_files);
    tcase_add_test(tc, test_load_matches_string);
    tc = data_tcase(s, "split", H_TIMEOUT);
    tcase_add_test(tc, test_split_lines);
    tcase_add_test(tc, test_split_errors);
    tcase_add_test(tc, test_shuffle_lines);
    tc = data_tcase(s, "batches", H_TIMEOUT);
    tcase_add_test(tc, test_batches_windows);
    tcase_add_test(tc, test_batches_errors);
    tc = data_tcase(s, "sampling", H_TIMEOUT);
    tcase_add_test(tc, test_sample_frequencies);
    tcase_add_test(tc, test_sample_argmax);
    tcase_add_test(tc, test_sample_errors);
    tc = data_tcase(s, "real file", H_TIMEOUT);
    tcase_add_test(tc, test_word_list);
    tc = data_tcase(s, "out of memory", H_TIMEOUT);
    tcase_add_test(tc, test_out_of_memory);
    return s;
}

H_MAIN(text_suite)

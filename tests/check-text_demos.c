/* SPDX-License-Identifier: MIT */
/* check-text_demos.c — the language-model demo (examples/text_lm) runs end
 * to end for both models on a few steps, and a fixed seed reproduces it.
 *
 * The demo trains for minutes on Debian's word list; here it reads a
 * generated list of made-up words (a few thousand lines) for 6 steps, twice
 * per model: exit status 0, the held-out line, a held-out loss below the
 * log2 of the vocabulary size (what a model that learned nothing scores;
 * six Adam steps at lr 2e-3 already move it below that), the loss curves
 * as a 640×400 PNG, and the two runs' output identical byte for byte
 * (every draw is seeded). Under valgrind the programs would take many
 * minutes: the suite is skipped there and runs in the other builds. */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *prog_path(void)
{
    const char *p = getenv("TEXT_LM");
    if (p && *p)
        return p;
#ifdef TEXT_LM_PATH
    return TEXT_LM_PATH;
#else
    return NULL;
#endif
}

static bool png_size(const char *path, unsigned *w, unsigned *h)
{
    unsigned char b[24];
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool ok = fread(b, 1, sizeof b, f) == sizeof b && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0 &&
              memcmp(b + 12, "IHDR", 4) == 0;
    fclose(f);
    *w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
    *h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
    return ok;
}

/* Runs the program; its output (stdout and stderr) into out. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    return pclose(p);
}

/* 4000 made-up words of 2–4 syllables from 12 (and an 's), one per line:
 * 16 distinct characters and "\n", so log2(17) bits is knowing nothing. */
static void write_words(const char *path)
{
    static const char *syl[] = {"ka", "to", "ri", "mo", "ne", "sa", "lu", "pe",
                                "ti", "ro", "ma", "ki"};
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    uint64_t x = 12345;
    for (int i = 0; i < 4000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int n = 2 + (int)((x >> 33) % 3);
        for (int k = 0; k < n; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            fputs(syl[(x >> 33) % 12], f);
        }
        fputs(i % 5 == 0 ? "'s\n" : "\n", f);
    }
    ck_assert_int_eq(fclose(f), 0);
}

static void check_model(const char *model)
{
    const char *prog = prog_path();
    ck_assert_msg(prog != NULL, "TEXT_LM is not set and no path was compiled in");
    char dir[256], words[300], prefix[300], png[320], cmd[1400];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ag-check-text-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(words, sizeof words, "%s/words.txt", dir);
    snprintf(prefix, sizeof prefix, "%s/%s", dir, model);
    snprintf(png, sizeof png, "%s_loss.png", prefix);
    write_words(words);
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' '%s' 6 2>&1", prog, model, words, prefix);
    static char out1[16384], out2[16384];
    int status = run(cmd, out1, sizeof out1);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "text_lm %s failed:\n%s", model,
                  out1);
    const char *line = strstr(out1, ": held-out loss ");
    ck_assert_msg(line != NULL, "%s", out1);
    double bits = atof(line + strlen(": held-out loss "));
    ck_assert_msg(bits > 0 && bits < log2(17.0), "held-out %.4f bits/char:\n%s", bits, out1);
    ck_assert_msg(strstr(out1, "sampled at temperature 0.8: ") != NULL, "%s", out1);
    unsigned w = 0, h = 0;
    ck_assert_msg(png_size(png, &w, &h), "no PNG at %s", png);
    ck_assert_uint_eq(w, 640);
    ck_assert_uint_eq(h, 400);
    status = run(cmd, out2, sizeof out2);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(strcmp(out1, out2) == 0, "two runs differ:\n%s\n---\n%s", out1, out2);
    unlink(png);
    unlink(words);
    rmdir(dir);
}

START_TEST(test_lstm)
{
    if (h_valgrind()) {
        fprintf(stderr, "text_demos: lstm skipped under valgrind (minutes there)\n");
        return;
    }
    check_model("lstm");
}
END_TEST

START_TEST(test_gpt)
{
    if (h_valgrind()) {
        fprintf(stderr, "text_demos: gpt skipped under valgrind (minutes there)\n");
        return;
    }
    check_model("gpt");
}
END_TEST

Suite *text_demos_suite(void);
Suite *text_demos_suite(void)
{
    Suite *s = suite_create("text_demos");
    TCase *tc = h_tcase(s, "text_demos", 4 * H_TIMEOUT);
    tcase_add_test(tc, test_lstm);
    tcase_add_test(tc, test_gpt);
    return s;
}

H_MAIN(text_demos_suite)

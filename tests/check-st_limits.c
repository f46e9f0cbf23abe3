/* SPDX-License-Identifier: MIT */
/* The guards of the safetensors reader that are about what a name may be
 * and how much a file may cost: strict UTF-8, no embedded NUL, a cap on the
 * tensor count and the caller's read limit (ag_read_limit_set). Files are
 * built by hand (st_fixture.h) so the writer cannot hide a reader's bug. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "st_fixture.h"

static void one_f32(const char *path, const char *json)
{
    bytes d = {0};
    b_f32(&d, 1.5f);
    write_st(path, json, strlen(json), 0, &d, NULL);
    b_free(&d);
}

static void expect_read_fails(const char *what, const char *path, ag_status status,
                              const char *substr)
{
    ag_error_clear();
    ag_params *r = ag_safetensors_read(path);
    ag_status s = ag_last_status();
    char msg[600];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_params_free(r);
    ag_error_clear();
    ck_assert_msg(r == NULL, "%s: the read succeeded", what);
    ck_assert_msg(s == status, "%s: status %s (\"%s\")", what, ag_status_str(s), msg);
    ck_assert_msg(strstr(msg, path) != NULL, "%s: \"%s\" does not name the file", what, msg);
    ck_assert_msg(!substr || strstr(msg, substr), "%s: \"%s\" lacks \"%s\"", what, msg, substr);
}

START_TEST(test_bad_utf8_names)
{
    static const struct {
        const char *header, *says;
    } bad[] = {
        {"{\"a\xC0\xAF\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "header entry 0: the name is not valid UTF-8 at its byte 1 (0xc0"},
        {"{\"a\xED\xA0\x80\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "header entry 0: the name is not valid UTF-8 at its byte 1 (0xed"},
        {"{\"a\xF4\x90\x80\x80\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "at its byte 1 (0xf4"},
        {"{\"a\xE0\x80\xAF\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "at its byte 1 (0xe0"},
        {"{\"a\xE5\xB1\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "invalid utf-8"}, /* json-c refuses this one itself */
        {"{\"__metadata__\":{\"k\":\"v\",\"k2\":\"v\xED\xA0\x80\"},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         "metadata entry 1: the value is not valid UTF-8 at its byte 1"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"__metadata__\":{\"k\xC0\xAF\":\"v\"}}",
         "metadata entry 0: the key is not valid UTF-8 at its byte 1"},
    };
    const char *path = tpath("bad_utf8.safetensors");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        one_f32(path, bad[i].header);
        char what[32];
        snprintf(what, sizeof what, "case %zu", i);
        ag_error_clear();
        ag_params *r = ag_safetensors_read(path);
        ag_status s = ag_last_status();
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ag_last_error());
        ag_params_free(r);
        ag_error_clear();
        ck_assert_msg(r == NULL, "%s: accepted", what);
        ck_assert_msg(s == AG_ERR_PARSE, "%s: status %s", what, ag_status_str(s));
        ck_assert_msg(strstr(msg, bad[i].says) != NULL, "%s: \"%s\" does not say \"%s\"", what,
                      msg, bad[i].says);
    }
    remove(path);
}
END_TEST

START_TEST(test_nul_escape_refused)
{
    const char *path = tpath("nul.safetensors");
    one_f32(path, "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
    expect_read_fails("\\u0000 in a name", path, AG_ERR_PARSE, "u0000");
    /* An escaped backslash before u0000 is text, not a NUL. */
    one_f32(path, "{\"a\\\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
    ag_params *r = ag_safetensors_read(path);
    ck_assert_msg(r != NULL, "%s", ag_last_error());
    const char *name = NULL;
    ag_params_at(r, 0, &name);
    ck_assert_str_eq(name, "a\\u0000b");
    ag_params_free(r);
    remove(path);
}
END_TEST

START_TEST(test_multibyte_names_load)
{
    static const char *const names[] = {"w_\xC3\xA9", "\xE5\xB1\x82.weight", "\xF0\x9F\x98\x80"};
    const char *path = tpath("mb.safetensors");
    for (size_t i = 0; i < 3; i++) {
        char json[200];
        snprintf(json, sizeof json,
                 "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", names[i]);
        one_f32(path, json);
        ag_params *r = ag_safetensors_read(path);
        ck_assert_msg(r != NULL, "%s: %s", names[i], ag_last_error());
        const char *name = NULL;
        ag_params_at(r, 0, &name);
        ck_assert_str_eq(name, names[i]);
        ag_params_free(r);
    }
    remove(path);
}
END_TEST

START_TEST(test_read_limit)
{
    const char *path = tpath("limit.safetensors");
    const char *json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    one_f32(path, json);
    uint64_t size = 8 + strlen(json) + 4;
    uint64_t old = ag_read_limit();
    ck_assert_uint_eq(ag_read_limit_set(size), size);
    ag_params *r = ag_safetensors_read(path);
    ck_assert_msg(r != NULL, "at the limit: %s", ag_last_error());
    ag_params_free(r);
    ag_read_limit_set(size - 1);
    expect_read_fails("one byte beyond the limit", path, AG_ERR_VALUE, "ag_read_limit_set");
    ag_read_limit_set(old);
    remove(path);
}
END_TEST

/* 100,000 empty tensors: must parse in bounded time and memory (measured
 * by the test's run time, not asserted). */
START_TEST(test_many_entries)
{
    const size_t n = 100000;
    bytes j = {0};
    b_put(&j, "{", 1);
    for (size_t i = 0; i < n; i++) {
        char e[96];
        int len = snprintf(e, sizeof e, "%s\"t%zu\":{\"dtype\":\"F32\",\"shape\":[0],"
                           "\"data_offsets\":[0,0]}", i ? "," : "", i);
        b_put(&j, e, (size_t)len);
    }
    b_put(&j, "}", 1);
    bytes d = {0};
    const char *path = tpath("many.safetensors");
    write_st(path, (const char *)j.p, j.n, 0, &d, NULL);
    ag_params *r = ag_safetensors_read(path);
    ck_assert_msg(r != NULL, "%s", ag_last_error());
    ck_assert_uint_eq(ag_params_count(r), n);
    ag_params_free(r);
    b_free(&j);
    remove(path);
}
END_TEST

Suite *st_limits_suite(void)
{
    Suite *s = suite_create("st_limits");
    TCase *tc = st_tcase(s, "limits", 120);
    tcase_add_test(tc, test_bad_utf8_names);
    tcase_add_test(tc, test_nul_escape_refused);
    tcase_add_test(tc, test_multibyte_names_load);
    tcase_add_test(tc, test_read_limit);
    tcase_add_test(tc, test_many_entries);
    return s;
}

H_MAIN(st_limits_suite)

/* SPDX-License-Identifier: MIT */
/* check-version.c — the header's version macros, ag_version() and the
 * project version meson builds (passed in as AG_PROJECT_VERSION) agree. */
#include "harness.h"

#include <stdio.h>

START_TEST(test_version_agrees_with_meson)
{
    char macros[64];
    snprintf(macros, sizeof macros, "%d.%d.%d", AG_VERSION_MAJOR, AG_VERSION_MINOR,
             AG_VERSION_PATCH);
    ck_assert_str_eq(macros, AG_PROJECT_VERSION);
    ck_assert_str_eq(ag_version(), AG_PROJECT_VERSION);
}
END_TEST

static Suite *version_suite(void)
{
    Suite *s = suite_create("version");
    TCase *tc = h_tcase(s, "version", 10);
    tcase_add_test(tc, test_version_agrees_with_meson);
    return s;
}

H_MAIN(version_suite)

/* SPDX-License-Identifier: MIT */
/* gradcheck_fixture.h — what the gradient checker's suites
 * (check-gradcheck.c, check-gradcheck_registry.c) share, on top of
 * harness.h: a checker's report as text short enough for an assertion
 * message.
 *
 * Built into the harness library (tests/meson.build); a suite that uses
 * none of it links none of it. */
#ifndef AG_TEST_GRADCHECK_FIXTURE_H
#define AG_TEST_GRADCHECK_FIXTURE_H

#include "harness.h"

/* The printed report, kept under 3 KiB: Check refuses assertion messages
 * over 4 KiB (and reports an error instead of the failure). One static
 * buffer, overwritten by the next call. */
char *report_text(const ag_gradcheck_report *rep);

#endif

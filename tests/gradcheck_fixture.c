/* SPDX-License-Identifier: MIT */
/* gradcheck_fixture.c — the gradient checker's suites' shared helper (see
 * gradcheck_fixture.h). */
#include "gradcheck_fixture.h"

char *report_text(const ag_gradcheck_report *rep)
{
    static char buf[3072];
    return (char *)h_report_str(rep, buf, sizeof buf);
}

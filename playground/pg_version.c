/* SPDX-License-Identifier: MIT */
/* pg_version.c — which engine the page runs. */
#include "pg_json.h"
#include "playground.h"

#include <autograd/autograd.h>

const char *pg_version(void)
{
    pg_json j = {0};
    pg_json_raw(&j, "{\"ok\":true");
    pg_json_key(&j, "version");
    pg_json_str(&j, ag_version());
    pg_json_raw(&j, "}");
    return pg_json_finish(&j);
}

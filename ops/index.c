/* index.c — (being written) */
#include "ops_internal.h"

void ag_ops_register_index(void)
{
}

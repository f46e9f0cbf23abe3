/* SPDX-License-Identifier: MIT */
/* builtin.c — the list of built-in op families, registered on first use of
 * the registry. A new family adds one line here. */
#include "ops_internal.h"

void ag_ops_register_binary(void);
void ag_ops_register_unary(void);
void ag_ops_register_matmul(void);
void ag_ops_register_reduce(void);
void ag_ops_register_shape(void);
void ag_ops_register_layout(void);
void ag_ops_register_index(void);
void ag_ops_register_elementwise(void);
void ag_ops_register_nn(void);

void ag_ops_register_builtins(void)
{
    ag_ops_register_binary();
    ag_ops_register_unary();
    ag_ops_register_matmul();
    ag_ops_register_reduce();
    ag_ops_register_shape();
    ag_ops_register_layout();
    ag_ops_register_index();
    ag_ops_register_elementwise();
    ag_ops_register_nn();
}

/* SPDX-License-Identifier: MIT */
/* builtin.c — the list of built-in op families, registered on first use of
 * the registry, and the registry's public lookups, which make sure of that.
 * A new family adds one line here. They live here, above the core, so that
 * the core's registry depends on no op: it is handed this list. */
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
void ag_ops_register_pool(void);
void ag_ops_register_norm(void);
void ag_ops_register_cast(void);
void ag_ops_register_split(void);
void ag_ops_register_dropout(void);
void ag_ops_register_conv(void);
void ag_ops_register_sequence(void);
void ag_ops_register_attention(void);

static void register_builtins(void)
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
    ag_ops_register_pool();
    ag_ops_register_norm();
    ag_ops_register_cast();
    ag_ops_register_split();
    ag_ops_register_dropout();
    ag_ops_register_conv();
    ag_ops_register_sequence();
    ag_ops_register_attention();
}

const ag_op *ag_op_register(const ag_op_def *def)
{
    ag_registry_ensure(register_builtins);
    return ag_registry_add(def);
}

const ag_op *ag_op_find(const char *name)
{
    ag_registry_ensure(register_builtins);
    return ag_registry_find(name);
}

void ag_op_foreach(void (*f)(const ag_op *op, void *ctx), void *ctx)
{
    ag_registry_ensure(register_builtins);
    ag_registry_foreach(f, ctx);
}

size_t ag_op_count(void)
{
    ag_registry_ensure(register_builtins);
    return ag_registry_count();
}

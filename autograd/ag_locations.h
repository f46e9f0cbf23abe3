/* SPDX-License-Identifier: MIT */
/* ag_locations.h — where each op was called, for anomaly mode.
 *
 * Included at the end of models.h (so of autograd.h). Each op builder is wrapped in a macro of
 * its own name that, when anomaly mode is on, records __FILE__, __LINE__ and
 * the function before the call, so a NaN can be traced to the line of the
 * user's expression that made it. When anomaly mode is off the wrapper costs
 * one predictable branch. The macros expand only where an op is called
 * (&ag_add is still the function), and not inside the library itself, whose
 * internal calls must not overwrite the user's location. Define
 * AG_NO_LOCATIONS before including autograd.h to turn them off. C++ gets
 * none: a macro would break the qualified name ::ag_add, and C++ programs
 * call ag_set_location_ themselves where they want a place named. */
#ifndef AG_LOCATIONS_H
#define AG_LOCATIONS_H

#include "autograd.h"

#if !defined(AG_BUILDING_LIBRARY) && !defined(AG_NO_LOCATIONS) && !defined(__cplusplus)

#define AG_LOC_()                                                                               \
    (atomic_load_explicit(&ag_anomaly_on_, memory_order_relaxed)                                \
         ? ag_set_location_(__FILE__, __LINE__, __func__)                                       \
         : (void)0)

#define ag_abs(...) (AG_LOC_(), ag_abs(__VA_ARGS__))
#define ag_activate(...) (AG_LOC_(), ag_activate(__VA_ARGS__))
#define ag_add(...) (AG_LOC_(), ag_add(__VA_ARGS__))
#define ag_add_scalar(...) (AG_LOC_(), ag_add_scalar(__VA_ARGS__))
#define ag_affine(...) (AG_LOC_(), ag_affine(__VA_ARGS__))
#define ag_affine_t(...) (AG_LOC_(), ag_affine_t(__VA_ARGS__))
#define ag_batch_norm_layer(...) (AG_LOC_(), ag_batch_norm_layer(__VA_ARGS__))
#define ag_bce_with_logits(...) (AG_LOC_(), ag_bce_with_logits(__VA_ARGS__))
#define ag_broadcast_to(...) (AG_LOC_(), ag_broadcast_to(__VA_ARGS__))
#define ag_clamp(...) (AG_LOC_(), ag_clamp(__VA_ARGS__))
#define ag_concat(...) (AG_LOC_(), ag_concat(__VA_ARGS__))
#define ag_conv2d_layer(...) (AG_LOC_(), ag_conv2d_layer(__VA_ARGS__))
#define ag_conv_transpose2d_layer(...) (AG_LOC_(), ag_conv_transpose2d_layer(__VA_ARGS__))
#define ag_cross_entropy(...) (AG_LOC_(), ag_cross_entropy(__VA_ARGS__))
#define ag_div(...) (AG_LOC_(), ag_div(__VA_ARGS__))
#define ag_dot(...) (AG_LOC_(), ag_dot(__VA_ARGS__))
#define ag_dropout_layer(...) (AG_LOC_(), ag_dropout_layer(__VA_ARGS__))
#define ag_eq(...) (AG_LOC_(), ag_eq(__VA_ARGS__))
#define ag_exp(...) (AG_LOC_(), ag_exp(__VA_ARGS__))
#define ag_expand_dims(...) (AG_LOC_(), ag_expand_dims(__VA_ARGS__))
#define ag_gather(...) (AG_LOC_(), ag_gather(__VA_ARGS__))
#define ag_ge(...) (AG_LOC_(), ag_ge(__VA_ARGS__))
#define ag_group_norm_layer(...) (AG_LOC_(), ag_group_norm_layer(__VA_ARGS__))
#define ag_gt(...) (AG_LOC_(), ag_gt(__VA_ARGS__))
#define ag_hessian(...) (AG_LOC_(), ag_hessian(__VA_ARGS__))
#define ag_hvp(...) (AG_LOC_(), ag_hvp(__VA_ARGS__))
#define ag_index_select(...) (AG_LOC_(), ag_index_select(__VA_ARGS__))
#define ag_jacobian(...) (AG_LOC_(), ag_jacobian(__VA_ARGS__))
#define ag_jvp(...) (AG_LOC_(), ag_jvp(__VA_ARGS__))
#define ag_l2_penalty(...) (AG_LOC_(), ag_l2_penalty(__VA_ARGS__))
#define ag_layer_norm_layer(...) (AG_LOC_(), ag_layer_norm_layer(__VA_ARGS__))
#define ag_le(...) (AG_LOC_(), ag_le(__VA_ARGS__))
#define ag_linear(...) (AG_LOC_(), ag_linear(__VA_ARGS__))
#define ag_log(...) (AG_LOC_(), ag_log(__VA_ARGS__))
#define ag_log_sigmoid(...) (AG_LOC_(), ag_log_sigmoid(__VA_ARGS__))
#define ag_log_softmax(...) (AG_LOC_(), ag_log_softmax(__VA_ARGS__))
#define ag_logreg_logits(...) (AG_LOC_(), ag_logreg_logits(__VA_ARGS__))
#define ag_logsumexp(...) (AG_LOC_(), ag_logsumexp(__VA_ARGS__))
#define ag_logsumexp_axis(...) (AG_LOC_(), ag_logsumexp_axis(__VA_ARGS__))
#define ag_lt(...) (AG_LOC_(), ag_lt(__VA_ARGS__))
#define ag_matmul(...) (AG_LOC_(), ag_matmul(__VA_ARGS__))
#define ag_matmul_t(...) (AG_LOC_(), ag_matmul_t(__VA_ARGS__))
#define ag_max(...) (AG_LOC_(), ag_max(__VA_ARGS__))
#define ag_max_axis(...) (AG_LOC_(), ag_max_axis(__VA_ARGS__))
#define ag_maximum(...) (AG_LOC_(), ag_maximum(__VA_ARGS__))
#define ag_mean(...) (AG_LOC_(), ag_mean(__VA_ARGS__))
#define ag_mean_axis(...) (AG_LOC_(), ag_mean_axis(__VA_ARGS__))
#define ag_min(...) (AG_LOC_(), ag_min(__VA_ARGS__))
#define ag_min_axis(...) (AG_LOC_(), ag_min_axis(__VA_ARGS__))
#define ag_minimum(...) (AG_LOC_(), ag_minimum(__VA_ARGS__))
#define ag_mlp_forward(...) (AG_LOC_(), ag_mlp_forward(__VA_ARGS__))
#define ag_mse(...) (AG_LOC_(), ag_mse(__VA_ARGS__))
#define ag_mul(...) (AG_LOC_(), ag_mul(__VA_ARGS__))
#define ag_mul_scalar(...) (AG_LOC_(), ag_mul_scalar(__VA_ARGS__))
#define ag_ne(...) (AG_LOC_(), ag_ne(__VA_ARGS__))
#define ag_neg(...) (AG_LOC_(), ag_neg(__VA_ARGS__))
#define ag_nll(...) (AG_LOC_(), ag_nll(__VA_ARGS__))
#define ag_outer(...) (AG_LOC_(), ag_outer(__VA_ARGS__))
#define ag_permute(...) (AG_LOC_(), ag_permute(__VA_ARGS__))
#define ag_pow(...) (AG_LOC_(), ag_pow(__VA_ARGS__))
#define ag_pow_scalar(...) (AG_LOC_(), ag_pow_scalar(__VA_ARGS__))
#define ag_reciprocal(...) (AG_LOC_(), ag_reciprocal(__VA_ARGS__))
#define ag_relu(...) (AG_LOC_(), ag_relu(__VA_ARGS__))
#define ag_reshape(...) (AG_LOC_(), ag_reshape(__VA_ARGS__))
#define ag_scatter_add(...) (AG_LOC_(), ag_scatter_add(__VA_ARGS__))
#define ag_sequential_apply(...) (AG_LOC_(), ag_sequential_apply(__VA_ARGS__))
#define ag_sequential_forward(...) (AG_LOC_(), ag_sequential_forward(__VA_ARGS__))
#define ag_sigmoid(...) (AG_LOC_(), ag_sigmoid(__VA_ARGS__))
#define ag_sign(...) (AG_LOC_(), ag_sign(__VA_ARGS__))
#define ag_slice(...) (AG_LOC_(), ag_slice(__VA_ARGS__))
#define ag_slice_ranges(...) (AG_LOC_(), ag_slice_ranges(__VA_ARGS__))
#define ag_softmax(...) (AG_LOC_(), ag_softmax(__VA_ARGS__))
#define ag_softmax_regression_logits(...) (AG_LOC_(), ag_softmax_regression_logits(__VA_ARGS__))
#define ag_softplus(...) (AG_LOC_(), ag_softplus(__VA_ARGS__))
#define ag_sqrt(...) (AG_LOC_(), ag_sqrt(__VA_ARGS__))
#define ag_square(...) (AG_LOC_(), ag_square(__VA_ARGS__))
#define ag_squeeze(...) (AG_LOC_(), ag_squeeze(__VA_ARGS__))
#define ag_stack(...) (AG_LOC_(), ag_stack(__VA_ARGS__))
#define ag_step(...) (AG_LOC_(), ag_step(__VA_ARGS__))
#define ag_sub(...) (AG_LOC_(), ag_sub(__VA_ARGS__))
#define ag_sum(...) (AG_LOC_(), ag_sum(__VA_ARGS__))
#define ag_sum_axis(...) (AG_LOC_(), ag_sum_axis(__VA_ARGS__))
#define ag_sum_to(...) (AG_LOC_(), ag_sum_to(__VA_ARGS__))
#define ag_tanh(...) (AG_LOC_(), ag_tanh(__VA_ARGS__))
#define ag_transpose(...) (AG_LOC_(), ag_transpose(__VA_ARGS__))
#define ag_transpose2d(...) (AG_LOC_(), ag_transpose2d(__VA_ARGS__))
#define ag_where(...) (AG_LOC_(), ag_where(__VA_ARGS__))

#endif

#endif

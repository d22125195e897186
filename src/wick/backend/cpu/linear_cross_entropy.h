#pragma once
#include <cstdint>

#include "wick/core/tensor.h"

namespace wick::cpu {

/// out [N] = per-row cross-entropy of h [N, D] W[V, D]^T against targets [N] (i64; ignored rows
/// give 0). h, W contiguous f32 or f64; chunk_rows rows of logits at a time.
void linear_cross_entropy(const Tensor& h, const Tensor& w, const Tensor& targets, int64_t ignore,
                          int64_t chunk_rows, const Tensor& out);
/// Gradients of sum_i g_i * loss_i with respect to h (grad_h [N, D]) and/or W (grad_w [V, D]);
/// either may be null. Logits are recomputed chunk by chunk, once for both.
void linear_cross_entropy_grad(const Tensor& h, const Tensor& w, const Tensor& targets,
                               const Tensor& g, int64_t ignore, int64_t chunk_rows,
                               const Tensor* grad_h, const Tensor* grad_w);

}  // namespace wick::cpu

#pragma once
#include <cstdint>

#include "wick/core/tensor.h"

namespace wick::cpu {

/// out [N] = per-row cross-entropy of h [N, D] W[V, D]^T against targets [N] (i64; ignored rows
/// give 0). h, W contiguous f32 or f64; chunk_rows rows of logits at a time.
void linear_cross_entropy(const Tensor& h, const Tensor& w, const Tensor& targets, int64_t ignore,
                          int64_t chunk_rows, const Tensor& out);
/// Gradient of sum_i g_i * loss_i: with respect to h (out [N, D]) when wrt_hidden, else with
/// respect to W (out [V, D]). Logits are recomputed chunk by chunk.
void linear_cross_entropy_grad(const Tensor& h, const Tensor& w, const Tensor& targets,
                               const Tensor& g, int64_t ignore, int64_t chunk_rows, bool wrt_hidden,
                               const Tensor& out);

}  // namespace wick::cpu

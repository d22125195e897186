#pragma once
// Cross-entropy of a linear layer's output (the language-model head) without materialising the
// [N, V] logits: rows are processed in chunks whose logits live only in a scratch buffer, and
// the backward pass recomputes them chunk by chunk (peak extra memory ~ chunk_rows * V floats).
#include <cstdint>

#include "wick/core/tensor.h"
#include "wick/ops/loss.h"

namespace wick {

/// cross_entropy(hidden [N, D] @ weight [V, D]^T, targets [N]) with torch semantics (targets equal
/// to ignore_index contribute nothing; mean divides by the number of the others). f32/f64 (bf16
/// and f16 computed in f32); the result has hidden's dtype. chunk_rows 0 picks a chunk of about
/// 4M logits.
Tensor linear_cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                            int64_t ignore_index = -100, Reduction reduction = Reduction::mean,
                            int64_t chunk_rows = 0);
/// Plain-op composition (materialises the logits): the reference and fallback.
Tensor linear_cross_entropy_reference(const Tensor& hidden, const Tensor& weight,
                                      const Tensor& targets, int64_t ignore_index = -100,
                                      Reduction reduction = Reduction::mean);

}  // namespace wick

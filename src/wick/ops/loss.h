#pragma once
// Losses.
#include "wick/core/tensor.h"

namespace wick {

enum class Reduction : uint8_t { mean, sum, none };

/// Cross-entropy of logits [N, V] against targets [N] (i32/i64); targets equal to ignore_index
/// contribute nothing, and `mean` divides by the number of non-ignored targets (torch semantics).
/// Accumulates in f32.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100,
                     Reduction reduction = Reduction::mean);

}  // namespace wick

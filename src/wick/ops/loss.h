#pragma once
// Losses.
#include "wick/core/tensor.h"

namespace wick {

enum class Reduction : uint8_t { mean, sum, none };

/// Cross-entropy of logits [N, V] against targets [N] (i32/i64); targets equal to ignore_index
/// contribute nothing, and `mean` divides by the number of non-ignored targets (torch semantics).
/// Accumulates in f32 (f64 for f64 logits); the result has logits' dtype. `mean` with every
/// target ignored gives NaN (0/0, as torch). Out-of-range targets throw ValueError at eval.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100,
                     Reduction reduction = Reduction::mean);
/// Plain-op composition of cross_entropy (log_softmax and a one-hot pick; reference for tests).
/// Out-of-range targets are not checked here: they match no class and contribute 0.
Tensor cross_entropy_reference(const Tensor& logits, const Tensor& targets,
                               int64_t ignore_index = -100, Reduction reduction = Reduction::mean);

}  // namespace wick

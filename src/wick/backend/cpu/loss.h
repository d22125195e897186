#pragma once
// Cross-entropy CPU kernels: fused logsumexp + pick forward, fused softmax-minus-one-hot backward.
#include <cstdint>

#include "wick/core/tensor.h"
#include "wick/ops/loss.h"

namespace wick::cpu {

/// Number of targets [N] (i32/i64, any stride) not equal to ignore_index; throws ValueError
/// naming `op` for a target outside [0, V) that is not ignore_index.
int64_t count_valid_targets(const Tensor& targets, int64_t V, int64_t ignore_index, const char* op);
/// out ([N] for none, [] otherwise; logits' dtype) = lse(logits[i]) - logits[i, t_i] over rows
/// whose target is not ignored (0 for ignored rows), reduced. logits [N, V] any strides (read
/// in their dtype, never copied), f32 accumulation (f64 for f64).
void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                   Reduction reduction, const Tensor& out);
/// out [N, V] (logits' dtype) = (softmax(logits) - onehot(t)) * w_i, w_i = g_i (none), g (sum) or
/// g / count (mean), and 0 for ignored rows; g is the forward's cotangent.
void cross_entropy_grad(const Tensor& logits, const Tensor& targets, const Tensor& g,
                        int64_t ignore_index, Reduction reduction, const Tensor& out);

}  // namespace wick::cpu

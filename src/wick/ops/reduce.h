#pragma once
// Reductions over axes (negative axes allowed; empty list = all axes). Float inputs accumulate in
// f32 (f64 for f64); the output keeps the input dtype.
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

Tensor sum(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
Tensor max(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
/// Index of the first maximum along `axis` (i64).
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);
/// log(sum(exp(x))) computed stably.
Tensor logsumexp(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false);
/// Variance with `correction` (0 = population, 1 = unbiased).
Tensor var(const Tensor& x, std::vector<int> axes = {}, bool keepdims = false, int correction = 0);
/// Sums `g` down to `shape` (undoes broadcasting; used by gradients).
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

}  // namespace wick

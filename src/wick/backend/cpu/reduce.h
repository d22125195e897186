#pragma once
#include <vector>

#include "wick/core/tensor.h"

namespace wick::cpu {

enum class ReduceKind : uint8_t { sum, max, min };

/// Reduces x over `axes` (sorted, unique) into out (allocated here with out's shape, which may
/// have size-1 kept axes). Float sums accumulate in f64, integer sums exactly (wrapping).
void reduce(ReduceKind kind, const Tensor& x, const std::vector<int>& axes, const Tensor& out);
/// Index of the first maximum along `axis` (i64 out).
void argmax(const Tensor& x, int axis, const Tensor& out);

}  // namespace wick::cpu

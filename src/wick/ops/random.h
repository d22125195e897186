#pragma once
// Random ops inside graphs.
#include "wick/core/random.h"
#include "wick/core/tensor.h"

namespace wick {

/// Zeroes each element with probability p and scales the rest by 1/(1-p); identity when p == 0.
Tensor dropout(const Tensor& x, double p, Generator* gen = nullptr);

}  // namespace wick

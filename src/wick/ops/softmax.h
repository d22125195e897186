#pragma once
// Softmax family along one axis (fused primitives; their plain-op compositions are the reference).
#include "wick/core/tensor.h"

namespace wick {

/// exp(x - max) / sum(exp(x - max)) along `axis`.
Tensor softmax(const Tensor& x, int axis = -1);
/// x - logsumexp(x) along `axis`.
Tensor log_softmax(const Tensor& x, int axis = -1);
/// Plain-op compositions (reference for tests and fallbacks).
Tensor softmax_reference(const Tensor& x, int axis = -1);
Tensor log_softmax_reference(const Tensor& x, int axis = -1);

}  // namespace wick

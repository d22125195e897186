#pragma once
// Matrix products through BLAS (f32/f64; bf16/f16 converted to f32 and back).
#include <optional>

#include "wick/core/tensor.h"

namespace wick {

/// a [..., M, K] @ b [..., K, N] -> [..., M, N]; batch axes broadcast. Both at least 2-d.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x [..., In] @ weight[Out, In]^T (+ bias [Out]) -> [..., Out]  (torch.nn.functional.linear).
Tensor linear(const Tensor& x, const Tensor& weight,
              const std::optional<Tensor>& bias = std::nullopt);

}  // namespace wick

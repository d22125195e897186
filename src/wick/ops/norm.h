#pragma once
// Normalisation over the last axis (fused primitives with plain-op references).
#include <optional>

#include "wick/core/tensor.h"

namespace wick {

/// x [..., D] * rsqrt(mean(x^2) + eps) * weight [D]  (Llama RMSNorm: computed in f32, the
/// normalised value cast back to x's dtype before the weight multiply, as transformers does).
Tensor rms_norm(const Tensor& x, const std::optional<Tensor>& weight, double eps);
/// (x - mean) * rsqrt(var + eps) * weight + bias over the last axis (torch LayerNorm).
Tensor layer_norm(const Tensor& x, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps);
Tensor rms_norm_reference(const Tensor& x, const std::optional<Tensor>& weight, double eps);
Tensor layer_norm_reference(const Tensor& x, const std::optional<Tensor>& weight,
                            const std::optional<Tensor>& bias, double eps);

}  // namespace wick

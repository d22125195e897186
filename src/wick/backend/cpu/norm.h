#pragma once
// Row normalisation CPU kernels (RMSNorm, LayerNorm) over the last axis.
#include "wick/core/tensor.h"

namespace wick::cpu {

/// out = weight * to_x_dtype(x * rsqrt(mean(x^2) + eps)) per row of the last axis. x and weight
/// any strides (copied to row-major when needed); out (allocated here) has the promoted dtype.
/// Accumulates in f32 (f64 for f64 x).
void rms_norm(const Tensor& x, const Tensor* weight, double eps, const Tensor& out);
/// out = (x - mean) * rsqrt(var + eps) * weight + bias per row (biased variance). x, weight, bias
/// any strides and of one dtype; accumulates in f32 (f64 for f64).
void layer_norm(const Tensor& x, const Tensor* weight, const Tensor* bias, double eps,
                const Tensor& out);

}  // namespace wick::cpu

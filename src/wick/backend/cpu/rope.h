#pragma once
// Rotary position embedding CPU kernel.
#include <cstdint>

#include "wick/core/tensor.h"
#include "wick/ops/rope.h"

namespace wick::cpu {

/// out = x rotated by angles pos * inv_freq (or by minus those angles when `inverse`, the
/// transpose used by the vjp). x [B, H, T, Dh] any strides; inv_freq [Dh/2] f32; positions
/// [T] or [B, T] (i32/i64) or null for offset + t. out allocated row-major in x's dtype.
void rope(const Tensor& x, const Tensor& inv_freq, const Tensor* positions, int64_t offset,
          RopeLayout layout, bool inverse, const Tensor& out);

}  // namespace wick::cpu

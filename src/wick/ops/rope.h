#pragma once
// Rotary position embeddings.
#include "wick/core/tensor.h"

namespace wick {

enum class RopeLayout : uint8_t {
  rotate_half,  // Hugging Face: pairs (i, i + Dh/2)
  interleaved,  // original/GPT-J: pairs (2i, 2i + 1)
};

/// Rotates x [B, H, T, Dh] at positions offset + t with angles pos * inv_freq [Dh/2] (f32); angles
/// and cos/sin in f32, rounded to x's dtype (as transformers). Differentiable in x, not inv_freq.
Tensor rope(const Tensor& x, const Tensor& inv_freq, int64_t offset, RopeLayout layout);
/// Same with explicit positions [T] or [B, T] (i32/i64), e.g. for left-padded batches.
Tensor rope_positions(const Tensor& x, const Tensor& inv_freq, const Tensor& positions,
                      RopeLayout layout);
/// Plain-op composition (reference).
Tensor rope_reference(const Tensor& x, const Tensor& inv_freq, const Tensor& positions,
                      RopeLayout layout);
/// inv_freq[i] = 1 / theta^(2i / dim), i < dim/2 (f32).
Tensor rope_inv_freq(int64_t dim, double theta);

}  // namespace wick

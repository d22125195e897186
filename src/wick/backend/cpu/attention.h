#pragma once
// CPU kernel of attention against a key/value cache (decoding).
#include "wick/core/tensor.h"

namespace wick::cpu {

/// out [B, H, T, Dh] = softmax(q k^T * scale) v over the first `length` cache positions, query t
/// seeing keys s <= length - T + t (and s > that - window when window > 0). k and v are row-major
/// caches [B, Hkv, S, Dh]; q may have any strides. Two passes per query row over an S-float score
/// buffer (no T x S matrix), f32 accumulation.
void cached_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t length,
                      double scale, int64_t window, const Tensor& out);

}  // namespace wick::cpu

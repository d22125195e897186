#pragma once
// Attention as a composition of matmul, softmax and masks.
#include <optional>

#include "wick/core/tensor.h"

namespace wick {

enum class Causal : uint8_t { no, yes };

/// softmax(q k^T * scale + mask) v.
/// q [B, H, T, Dh], k and v [B, Hkv, S, Dh] with H % Hkv == 0 (GQA: each kv head serves H/Hkv
/// query heads); mask additive, broadcastable to [B, H, T, S]; causal aligns the last query with
/// the last key (offset S - T). scale defaults to 1/sqrt(Dh). Returns [B, H, T, Dh]. A bool mask
/// keeps True positions. A query row with every key masked gives NaN (softmax of all -inf).
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const std::optional<Tensor>& mask = std::nullopt,
                                    Causal causal = Causal::no,
                                    std::optional<double> scale = std::nullopt);

/// Attention of q [B, H, T, Dh] against key/value caches [B, Hkv, S, Dh] (row-major, as
/// kv_cache_write leaves them) over their first `length` positions, `length` a one-element i64
/// tensor (so a decode step's graph does not change from token to token): query t sees keys
/// s <= length - T + t, and only the last `window` of those when window > 0. Not differentiable.
Tensor cached_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        const Tensor& length, int64_t window = 0,
                        std::optional<double> scale = std::nullopt);

}  // namespace wick

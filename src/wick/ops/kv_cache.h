#pragma once
// In-place append to a pre-allocated key/value cache (generation).
#include "wick/core/tensor.h"

namespace wick {

/// Writes x [B, Hkv, T, Dh] into the row-major cache [B, Hkv, max_T, Dh] at positions
/// [offset, offset + T) of axis 2, in place, and returns the cache (same shape, sharing its
/// buffer). Feed the result to the next write so that writes run in order. Same dtype for both.
/// Positions outside [offset, offset + T) are untouched, so earlier views of filled positions stay
/// valid. Not differentiable (the cache is a decode-time buffer).
Tensor kv_cache_write(const Tensor& cache, const Tensor& x, int64_t offset);
/// Same with the offset as a one-element i64 tensor (on the cache's device): one graph then serves
/// every decode step. A pending or device offset is range-checked by the kernel.
Tensor kv_cache_write(const Tensor& cache, const Tensor& x, const Tensor& offset);

}  // namespace wick

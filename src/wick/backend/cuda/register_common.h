#pragma once
// Helpers of the CUDA kernels' Tensor side (register_*.cpp): operand descriptors, parameter
// access, and the checks every kernel makes before launching.
#include <optional>

#include "wick/backend/cuda/launch.h"
#include "wick/backend/cuda/runtime.h"
#include "wick/core/primitive.h"

namespace wick::cuda {

using Ins = std::vector<Tensor>;
using K = PrimitiveKind;

template <class P>
const P& prim_as(const Primitive& p) {
  return static_cast<const P&>(p);
}

/// How tensor `t` (whose shape equals `shape`, or is broadcast to it by zero strides already in
/// t's layout) is read over `shape`'s row-major index space. Axes of size 1 are dropped and
/// contiguous neighbours merged, so most operands become 1-D. `shape` may have more than
/// kMaxDims axes only if they merge down to kMaxDims (otherwise nullopt).
std::optional<Strided> describe(const Tensor& t);
/// Like describe(t) for several operands over one shape, merging axes only where all allow, so
/// the descriptors stay aligned (index i means the same element in each).
std::optional<std::vector<Strided>> describe_together(const std::vector<const Tensor*>& ts,
                                                      const Shape& shape);

/// The same over raw stride vectors (one per operand, each of shape's rank).
std::optional<std::vector<Strided>> describe_strides(const std::vector<const Strides*>& strides,
                                                     const Shape& shape);
/// A row-major descriptor of n contiguous elements.
Strided flat(int64_t n);

/// A typed device pointer of an evaluated tensor at its offset.
inline const void* dptr(const Tensor& t) { return t.raw_data(); }
inline void* dptr_mut(const Tensor& t) { return t.raw_data(); }

}  // namespace wick::cuda

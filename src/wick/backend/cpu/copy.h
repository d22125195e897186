#pragma once
#include "wick/core/tensor.h"

namespace wick::cpu {

/// Copies `in` (any strides) into `out` (allocated here, row-major), converting the dtype. `out`
/// may have a different shape with the same number of elements (row-major order is kept).
void copy_cast(const Tensor& in, const Tensor& out);
/// Writes `src` into the strided region of `dst` (already allocated) given by strides/offset.
void copy_into(const Tensor& src, const Tensor& dst, const Strides& dst_strides,
               int64_t dst_offset);

}  // namespace wick::cpu

#pragma once
// Shape ops. reshape/transpose/permute/slice/broadcast_to/squeeze/unsqueeze are views (no copy)
// whenever the input's strides allow; contiguous() and astype() copy.
#include <optional>
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

/// New shape with the same number of elements; one entry may be -1.
Tensor reshape(const Tensor& x, Shape shape);
/// Merges axes [start, end] into one.
Tensor flatten(const Tensor& x, int start = 0, int end = -1);
/// Reorders axes: out.shape[i] = x.shape[axes[i]].
Tensor permute(const Tensor& x, std::vector<int> axes);
/// Swaps two axes.
Tensor transpose(const Tensor& x, int a, int b);
/// Swaps the last two axes.
Tensor mT(const Tensor& x);
/// Elements start, start+step, ... < stop along `axis` (negative start/stop count from the end).
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t stop, int64_t step = 1);
/// Broadcasts size-1 (or missing leading) axes to `shape` (NumPy rules).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// Alias of broadcast_to (PyTorch's name).
inline Tensor expand(const Tensor& x, const Shape& shape) { return broadcast_to(x, shape); }
/// The broadcast shape of two shapes; throws ShapeError naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Removes axis `axis`, which must have size 1.
Tensor squeeze(const Tensor& x, int axis);
/// Inserts a size-1 axis at `axis`.
Tensor unsqueeze(const Tensor& x, int axis);
/// Row-major copy (returns x itself when already contiguous and evaluated).
Tensor contiguous(const Tensor& x);
/// Converts to `dtype` (returns x when it already has it). Float -> integer truncates, saturates
/// out-of-range values and sends NaN to 0.
Tensor astype(const Tensor& x, DType dtype);
/// Normalises a possibly negative axis for an ndim-d tensor; throws ShapeError naming `op`.
int normalize_axis(int axis, int ndim, const char* op);

}  // namespace wick

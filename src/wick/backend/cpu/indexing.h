#pragma once
// CPU kernels of the indexing family: gathers, scatter-add, concat, triangular masks, dropout.
// Inputs may have any strides (0-strides included); outputs are allocated here, row-major.
#include <vector>

#include "wick/core/tensor.h"

namespace wick::cpu {

/// Throws ValueError naming `op` unless every element of the integer tensor `idx` is in
/// [0, limit).
void check_index_range(const Tensor& idx, int64_t limit, const char* op);
/// out = x.shape[:axis] + idx.shape + x.shape[axis+1:], out[o, j, i] = x[o, idx[j], i].
void take(const Tensor& x, const Tensor& idx, int axis, const Tensor& out, const char* op);
/// out has idx's shape: out[p] = x[p with p[axis] = idx[p]] (torch.gather).
void take_along_axis(const Tensor& x, const Tensor& idx, int axis, const Tensor& out);
/// out = base; out[p with p[axis] = idx[p]] += src[p] for p in idx's shape (torch.scatter_add).
/// Float dtypes; 16-bit floats accumulate in an f32 copy. Deterministic: each output column
/// (all positions but the axis) belongs to one task, which adds in index order.
void scatter_add(const Tensor& base, const Tensor& idx, const Tensor& src, int axis,
                 const Tensor& out);
/// out = xs joined along `axis`.
void concat(const std::vector<Tensor>& xs, int axis, const Tensor& out);
/// out = xs joined along a new axis `axis` of out (each x has out's shape without it).
void stack(const std::vector<Tensor>& xs, int axis, const Tensor& out);
/// out = x with elements (i, j) of the last two axes zeroed where j - i > k (lower) or
/// j - i < k (upper).
void tri(const Tensor& x, int64_t k, bool upper, const Tensor& out);
/// out = x * (keep ? scale : 0), keep a bool tensor of x's shape.
void dropout(const Tensor& x, const Tensor& keep, double scale, const Tensor& out);

}  // namespace wick::cpu

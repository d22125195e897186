#pragma once
// Gathers, scatters, joins, splits and masks.
#include <vector>

#include "wick/core/tensor.h"

namespace wick {

/// Selects along `axis` by integer `indices` (any shape): the axis is replaced by indices' shape
/// (torch.index_select for 1-d indices; numpy.take in general). Negative indices are errors.
Tensor take(const Tensor& x, const Tensor& indices, int axis);
/// Alias: take along `axis` with 1-d indices.
Tensor index_select(const Tensor& x, int axis, const Tensor& indices);
/// weight [V, D] rows for ids [...] -> [..., D].
Tensor embedding(const Tensor& weight, const Tensor& ids);
/// out[i][j] = x[i][idx[i][j]] along `axis` (torch.gather); idx has x's rank.
Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis);
/// Copy of `base` with `src` added at positions `indices` along `axis` (torch.scatter_add).
Tensor scatter_add(const Tensor& base, int axis, const Tensor& indices, const Tensor& src);
/// Joins along an existing axis.
Tensor concat(const std::vector<Tensor>& xs, int axis);
/// Joins along a new axis.
Tensor stack(const std::vector<Tensor>& xs, int axis);
/// Splits into pieces of the given sizes along `axis` (views).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int axis);
/// Splits into `n` equal pieces.
std::vector<Tensor> split(const Tensor& x, int n, int axis);
/// Zeroes elements above diagonal k of the last two axes.
Tensor tril(const Tensor& x, int64_t k = 0);
/// Zeroes elements below diagonal k.
Tensor triu(const Tensor& x, int64_t k = 0);
/// Additive causal mask [T, S] of a float dtype: 0 where key s <= query t + offset, -inf
/// elsewhere. offset -1 (the default) means S - T: the queries are the last T of S positions.
Tensor causal_mask(int64_t T, int64_t S, DType dtype = DType::f32, int64_t offset = -1);
/// Additive mask [B, 1, 1, S] from attention_mask [B, S] (1 keep, 0 pad): 0 or -inf.
Tensor padding_mask(const Tensor& attention_mask, DType dtype = DType::f32);

}  // namespace wick

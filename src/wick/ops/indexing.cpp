// Indexing ops. take, take_along_axis, scatter_add, concat/stack and tril/triu are primitives;
// index_select, embedding and split are built on them (split gives views), and the
// attention masks are built eagerly (causal) or from elementwise ops (padding).
//
// Gradients: take and take_along_axis scatter-add the cotangent into zeros (a broadcast scalar,
// so nothing vocab-sized is allocated before evaluation); scatter_add passes the cotangent to
// base and gathers it for src; concat slices it (stack takes index k); tril/triu mask it.
#include "wick/ops/indexing.h"

#include <limits>

#include "wick/ops/creation.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/primitives.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

void check_index_dtype(const Tensor& idx, const char* op) {
  if (idx.dtype() != DType::i32 && idx.dtype() != DType::i64)
    fail<DtypeError>(op, "indices must be i32 or i64, got {}", dtype_name(idx.dtype()));
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  if (a.device() != b.device())
    fail<ValueError>(op, "inputs on different devices: {} and {}", device_name(a.device()),
                     device_name(b.device()));
}

// Indices already evaluated on the CPU are range-checked when the op is built, so the error
// points at its cause; others are checked by the kernel.
void check_range_now(const Tensor& idx, int64_t limit, const char* op) {
  if (!idx.is_evaluated() || idx.device().type != DeviceType::cpu) return;
  const std::vector<int64_t> v = idx.to_vector<int64_t>();
  for (int64_t x : v)
    if (x < 0 || x >= limit)
      fail<ValueError>(op, "index {} out of range; expected 0 <= index < {}", x, limit);
}

// Zeros of `shape` without allocating them: a broadcast 0-d tensor.
Tensor zeros_view(const Shape& shape, DType dtype, Device device) {
  return broadcast_to(scalar(0, dtype, device), shape);
}

}  // namespace

std::vector<Tensor> prims::Take::vjp(const prims::Inputs& in, const Tensor&, const Tensor& g,
                                     const prims::Wanted&) {
  const Tensor& x = in[0];
  const Tensor& idx = in[1];
  // dx[o, idx[j], i] += g[o, j, i]: scatter_add with the indices broadcast over o and i.
  Shape gs = x.shape();
  gs[size_t(axis)] = idx.numel();
  Shape is(gs.size(), 1);
  is[size_t(axis)] = idx.numel();
  Tensor ib = broadcast_to(reshape(idx, is), gs);
  Tensor g2 = idx.ndim() == 1 ? g : reshape(g, gs);
  return {scatter_add(zeros_view(x.shape(), g.dtype(), g.device()), axis, ib, g2), Tensor()};
}

namespace {}  // namespace

std::vector<Tensor> prims::TakeAlongAxis::vjp(const prims::Inputs& in, const Tensor&,
                                              const Tensor& g, const prims::Wanted&) {
  return {scatter_add(zeros_view(in[0].shape(), g.dtype(), g.device()), axis, in[1], g), Tensor()};
}

namespace {

// Pads t with zeros at the end of each axis up to `shape`.
Tensor pad_zeros_to(Tensor t, const Shape& shape) {
  for (size_t d = 0; d < shape.size(); ++d) {
    if (t.shape()[d] == shape[d]) continue;
    Shape zs = t.shape();
    zs[d] = shape[d] - t.shape()[d];
    t = concat({t, zeros_view(zs, t.dtype(), t.device())}, int(d));
  }
  return t;
}

}  // namespace

std::vector<Tensor> prims::ScatterAdd::vjp(const prims::Inputs& in, const Tensor&, const Tensor& g,
                                           const prims::Wanted& wanted) {
  Tensor gsrc;
  // src positions outside the index's extent were not added: their gradient is zero.
  if (wanted[2]) gsrc = pad_zeros_to(take_along_axis(g, in[1], axis), in[2].shape());
  return {wanted[0] ? g : Tensor(), Tensor(), gsrc};
}

namespace {

// Joins along an existing axis (concat) or a new one (stack: inputs have the output's shape
// without `axis`).
}  // namespace

std::vector<Tensor> prims::Concat::vjp(const prims::Inputs& in, const Tensor&, const Tensor& g,
                                       const prims::Wanted& wanted) {
  std::vector<Tensor> gs(in.size());
  int64_t start = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    const int64_t n = new_axis ? 1 : in[k].shape()[size_t(axis)];
    if (wanted[k]) {
      // stack: a 0-d index drops the axis without a reshape of a strided slice.
      gs[k] = new_axis ? take(g, scalar(double(start), DType::i64, g.device()), axis)
                       : slice(g, axis, start, start + n);
    }
    start += n;
  }
  return gs;
}

namespace {}  // namespace

std::vector<Tensor> prims::Tri::vjp(const prims::Inputs&, const Tensor&, const Tensor& g,
                                    const prims::Wanted&) {
  return {upper ? triu(g, k) : tril(g, k)};
}

namespace {

Tensor take_impl(const Tensor& x, const Tensor& indices, int axis, const char* op) {
  const int a = normalize_axis(axis, x.ndim(), op);
  check_index_dtype(indices, op);
  check_same_device(x, indices, op);
  check_range_now(indices, x.shape()[size_t(a)], op);
  Shape sh(x.shape().begin(), x.shape().begin() + a);
  sh.insert(sh.end(), indices.shape().begin(), indices.shape().end());
  sh.insert(sh.end(), x.shape().begin() + a + 1, x.shape().end());
  return Tensor::make(std::move(sh), x.dtype(), x.device(), std::make_shared<prims::Take>(a, op),
                      {x, indices});
}

Tensor tri_impl(const Tensor& x, int64_t k, bool upper) {
  const char* op = upper ? "triu" : "tril";
  if (x.ndim() < 2) fail<ShapeError>(op, "expected at least 2 axes, got {}", x.ndim());
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<prims::Tri>(k, upper),
                      {x});
}

}  // namespace

Tensor take(const Tensor& x, const Tensor& indices, int axis) {
  return take_impl(x, indices, axis, "take");
}

Tensor index_select(const Tensor& x, int axis, const Tensor& indices) {
  if (indices.ndim() > 1)
    fail<ShapeError>("index_select", "indices must be 1-d, got shape {}",
                     shape_str(indices.shape()));
  return take_impl(x, indices.ndim() == 0 ? reshape(indices, {1}) : indices, axis, "index_select");
}

Tensor embedding(const Tensor& weight, const Tensor& ids) {
  if (weight.ndim() != 2)
    fail<ShapeError>("embedding", "weight must be [V, D], got shape {}", shape_str(weight.shape()));
  return take_impl(weight, ids, 0, "embedding");
}

Tensor take_along_axis(const Tensor& x, const Tensor& indices, int axis) {
  const char* op = "take_along_axis";
  const int a = normalize_axis(axis, x.ndim(), op);
  check_index_dtype(indices, op);
  check_same_device(x, indices, op);
  if (indices.ndim() != x.ndim())
    fail<ShapeError>(op, "indices must have x's rank {}, got shape {}", x.ndim(),
                     shape_str(indices.shape()));
  for (int d = 0; d < x.ndim(); ++d)
    if (d != a && indices.shape()[size_t(d)] > x.shape()[size_t(d)])
      fail<ShapeError>(op, "indices {} exceed x {} along axis {}", shape_str(indices.shape()),
                       shape_str(x.shape()), d);
  check_range_now(indices, x.shape()[size_t(a)], op);
  return Tensor::make(indices.shape(), x.dtype(), x.device(),
                      std::make_shared<prims::TakeAlongAxis>(a), {x, indices});
}

Tensor scatter_add(const Tensor& base, int axis, const Tensor& indices, const Tensor& src) {
  const char* op = "scatter_add";
  const int a = normalize_axis(axis, base.ndim(), op);
  if (!is_floating(base.dtype()))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(base.dtype()));
  if (src.dtype() != base.dtype())
    fail<DtypeError>(op, "src dtype {} differs from base dtype {}", dtype_name(src.dtype()),
                     dtype_name(base.dtype()));
  check_index_dtype(indices, op);
  check_same_device(base, indices, op);
  check_same_device(base, src, op);
  if (indices.ndim() != base.ndim() || src.ndim() != base.ndim())
    fail<ShapeError>(op, "base, indices and src must have one rank; got {}, {} and {}",
                     shape_str(base.shape()), shape_str(indices.shape()), shape_str(src.shape()));
  for (int d = 0; d < base.ndim(); ++d) {
    const size_t u = size_t(d);
    if (indices.shape()[u] > src.shape()[u] || (d != a && indices.shape()[u] > base.shape()[u]))
      fail<ShapeError>(op, "indices {} exceed src {} or base {} along axis {}",
                       shape_str(indices.shape()), shape_str(src.shape()), shape_str(base.shape()),
                       d);
  }
  check_range_now(indices, base.shape()[size_t(a)], op);
  return Tensor::make(base.shape(), base.dtype(), base.device(),
                      std::make_shared<prims::ScatterAdd>(a), {base, indices, src});
}

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  const char* op = "concat";
  if (xs.empty()) fail<ValueError>(op, "expected at least one tensor, got none");
  const Tensor& x0 = xs[0];
  const int a = normalize_axis(axis, x0.ndim(), op);
  Shape sh = x0.shape();
  sh[size_t(a)] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k];
    if (x.dtype() != x0.dtype())
      fail<DtypeError>(op, "input {} has dtype {}; expected {}", k, dtype_name(x.dtype()),
                       dtype_name(x0.dtype()));
    check_same_device(x0, x, op);
    bool ok = x.ndim() == x0.ndim();
    for (int d = 0; ok && d < x0.ndim(); ++d)
      ok = d == a || x.shape()[size_t(d)] == x0.shape()[size_t(d)];
    if (!ok)
      fail<ShapeError>(op, "input {} has shape {}; expected {} except along axis {}", k,
                       shape_str(x.shape()), shape_str(x0.shape()), a);
    sh[size_t(a)] += x.shape()[size_t(a)];
  }
  if (xs.size() == 1) return x0;
  return Tensor::make(std::move(sh), x0.dtype(), x0.device(),
                      std::make_shared<prims::Concat>(a, false), xs);
}

Tensor stack(const std::vector<Tensor>& xs, int axis) {
  const char* op = "stack";
  if (xs.empty()) fail<ValueError>(op, "expected at least one tensor, got none");
  const Tensor& x0 = xs[0];
  const int a = normalize_axis(axis, x0.ndim() + 1, op);
  for (size_t k = 0; k < xs.size(); ++k) {
    if (xs[k].shape() != x0.shape())
      fail<ShapeError>(op, "input {} has shape {}; expected {}", k, shape_str(xs[k].shape()),
                       shape_str(x0.shape()));
    if (xs[k].dtype() != x0.dtype())
      fail<DtypeError>(op, "input {} has dtype {}; expected {}", k, dtype_name(xs[k].dtype()),
                       dtype_name(x0.dtype()));
    check_same_device(x0, xs[k], op);
  }
  Shape sh = x0.shape();
  sh.insert(sh.begin() + a, int64_t(xs.size()));
  return Tensor::make(std::move(sh), x0.dtype(), x0.device(),
                      std::make_shared<prims::Concat>(a, true), xs);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int axis) {
  const char* op = "split";
  const int a = normalize_axis(axis, x.ndim(), op);
  const int64_t n = x.shape()[size_t(a)];
  int64_t total = 0;
  for (auto s : sizes) {
    if (s < 0) fail<ValueError>(op, "negative piece size {}", s);
    total += s;
  }
  if (total != n)
    fail<ShapeError>(op, "sizes sum to {}; expected {} (the size of axis {})", total, n, a);
  std::vector<Tensor> out;
  out.reserve(sizes.size());
  int64_t start = 0;
  for (auto s : sizes) {
    out.push_back(slice(x, a, start, start + s));
    start += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int n, int axis) {
  const char* op = "split";
  const int a = normalize_axis(axis, x.ndim(), op);
  if (n <= 0) fail<ValueError>(op, "number of pieces must be positive, got {}", n);
  const int64_t len = x.shape()[size_t(a)];
  if (len % n != 0)
    fail<ShapeError>(op, "axis {} of size {} does not split into {} equal pieces", a, len, n);
  return split(x, std::vector<int64_t>(size_t(n), len / n), a);
}

Tensor tril(const Tensor& x, int64_t k) { return tri_impl(x, k, false); }
Tensor triu(const Tensor& x, int64_t k) { return tri_impl(x, k, true); }

Tensor causal_mask(int64_t T, int64_t S, DType dtype, int64_t offset) {
  const char* op = "causal_mask";
  if (T < 0 || S < 0) fail<ShapeError>(op, "negative size: T {}, S {}", T, S);
  if (!is_floating(dtype))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(dtype));
  if (offset == -1) offset = S - T;  // queries are the last T of S positions
  // Query t (at position t + offset) sees keys s <= t + offset; built lazily on any device.
  Tensor rows = reshape(arange(double(offset), double(offset + T), 1, DType::i64), {T, 1});
  Tensor cols = reshape(arange(S), {1, S});
  return where(less_equal(cols, rows), scalar(0, dtype),
               scalar(-std::numeric_limits<double>::infinity(), dtype));
}

Tensor padding_mask(const Tensor& attention_mask, DType dtype) {
  const char* op = "padding_mask";
  const Tensor& m = attention_mask;
  if (m.ndim() != 2)
    fail<ShapeError>(op, "attention_mask must be [B, S], got shape {}", shape_str(m.shape()));
  if (m.dtype() != DType::i32 && m.dtype() != DType::i64 && m.dtype() != DType::boolean)
    fail<DtypeError>(op, "attention_mask must be i32, i64 or bool, got {}", dtype_name(m.dtype()));
  if (!is_floating(dtype))
    fail<DtypeError>(op, "expected a float dtype, got {}", dtype_name(dtype));
  Tensor keep = m.dtype() == DType::boolean ? m : not_equal(m, scalar(0, m.dtype(), m.device()));
  Tensor add = where(keep, scalar(0, dtype, m.device()),
                     scalar(-std::numeric_limits<double>::infinity(), dtype, m.device()));
  return reshape(add, {m.shape()[0], 1, 1, m.shape()[1]});
}

}  // namespace wick

// Reductions: sum/max/min primitives, argmax, and mean/logsumexp/var as compositions.
#include "wick/ops/reduce.h"

#include <algorithm>
#include <cmath>

#include "wick/core/autograd.h"
#include "wick/ops/creation.h"
#include "wick/ops/elementwise.h"
#include "wick/ops/primitives.h"
#include "wick/ops/views.h"

namespace wick {

namespace {

std::vector<int> normalize_axes(std::vector<int> axes, int ndim, const char* op) {
  if (axes.empty()) {
    for (int i = 0; i < ndim; ++i) axes.push_back(i);
    return axes;
  }
  for (auto& a : axes) a = normalize_axis(a, ndim, op);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    fail<ShapeError>(op, "repeated axis in reduction");
  return axes;
}

Shape reduced_shape(const Shape& s, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (int d = 0; d < int(s.size()); ++d) {
    bool red = std::find(axes.begin(), axes.end(), d) != axes.end();
    if (!red) {
      out.push_back(s[size_t(d)]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

}  // namespace

std::vector<Tensor> prims::Reduce::vjp(const prims::Inputs& in, const Tensor& out, const Tensor& g,
                                       const prims::Wanted&) {
  const Shape& xs = in[0].shape();
  Shape kept = reduced_shape(xs, axes, true);
  Tensor gk = reshape(g, kept);
  if (kind() == PrimitiveKind::sum) return {broadcast_to(gk, xs)};
  // max/min: the gradient is shared evenly among the elements equal to the result.
  Tensor hit = equal(in[0], reshape(out, kept));
  Tensor mask = astype(hit, g.dtype());
  Tensor count = sum(mask, axes, true);
  return {mask * (gk / count)};
}

namespace {}  // namespace

Params prims::Reduce::params() const {
  return {{"axes", std::vector<int64_t>(axes.begin(), axes.end())}};
}

std::vector<Tensor> prims::ArgMax::vjp(const prims::Inputs& in, const Tensor&, const Tensor&,
                                       const prims::Wanted&) {
  return {zeros_like(in[0])};
}

namespace {

Tensor reduce_op(PrimitiveKind kind, const Tensor& x, std::vector<int> axes, bool keepdims) {
  const char* op = kind_name(kind);
  if (x.dtype() == DType::boolean) fail<DtypeError>(op, "expected a numeric dtype, got bool");
  axes = normalize_axes(std::move(axes), x.ndim(), op);
  if (kind != PrimitiveKind::sum)
    for (int a : axes)
      if (x.shape()[size_t(a)] == 0) fail<ShapeError>(op, "reduction over an empty axis {}", a);
  Shape out = reduced_shape(x.shape(), axes, keepdims);
  if (axes.empty()) return x;
  return Tensor::make(out, x.dtype(), x.device(), std::make_shared<prims::Reduce>(kind, axes), {x});
}

}  // namespace

Tensor sum(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return reduce_op(PrimitiveKind::sum, x, std::move(axes), keepdims);
}
Tensor max(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return reduce_op(PrimitiveKind::max, x, std::move(axes), keepdims);
}
Tensor min(const Tensor& x, std::vector<int> axes, bool keepdims) {
  return reduce_op(PrimitiveKind::min, x, std::move(axes), keepdims);
}

Tensor mean(const Tensor& x, std::vector<int> axes, bool keepdims) {
  if (!is_floating(x.dtype()))
    fail<DtypeError>("mean", "expected a float dtype, got {}", dtype_name(x.dtype()));
  axes = normalize_axes(std::move(axes), x.ndim(), "mean");
  int64_t n = 1;
  for (int a : axes) n *= x.shape()[size_t(a)];
  return sum(x, axes, keepdims) * (1.0 / double(n));
}

Tensor argmax(const Tensor& x, int axis, bool keepdims) {
  int a = normalize_axis(axis, x.ndim(), "argmax");
  if (x.shape()[size_t(a)] == 0) fail<ShapeError>("argmax", "argmax over an empty axis");
  if (x.dtype() == DType::boolean) fail<DtypeError>("argmax", "expected a numeric dtype, got bool");
  Shape out = reduced_shape(x.shape(), {a}, keepdims);
  return Tensor::make(out, DType::i64, x.device(), std::make_shared<prims::ArgMax>(a), {x});
}

Tensor logsumexp(const Tensor& x, std::vector<int> axes, bool keepdims) {
  if (!is_floating(x.dtype()))
    fail<DtypeError>("logsumexp", "expected a float dtype, got {}", dtype_name(x.dtype()));
  axes = normalize_axes(std::move(axes), x.ndim(), "logsumexp");
  Tensor m = stop_gradient(max(x, axes, true));
  // An all -inf row keeps max = -inf; shift by 0 there so the result is -inf, not NaN.
  Tensor finite = less(abs(m), scalar(INFINITY, m.dtype(), m.device()));
  Tensor shift = where(finite, m, zeros_like(m));
  Tensor r = log(sum(exp(x - shift), axes, true)) + shift;
  return keepdims ? r : reshape(r, reduced_shape(x.shape(), axes, false));
}

Tensor var(const Tensor& x, std::vector<int> axes, bool keepdims, int correction) {
  if (!is_floating(x.dtype()))
    fail<DtypeError>("var", "expected a float dtype, got {}", dtype_name(x.dtype()));
  axes = normalize_axes(std::move(axes), x.ndim(), "var");
  int64_t n = 1;
  for (int a : axes) n *= x.shape()[size_t(a)];
  Tensor d = x - mean(x, axes, true);
  return sum(square(d), axes, keepdims) * (1.0 / double(n - correction));
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  size_t lead = g.shape().size() - shape.size();
  std::vector<int> axes;
  for (size_t i = 0; i < g.shape().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(int(i));
  Tensor s = axes.empty() ? g : sum(g, axes, true);
  return reshape(s, shape);
}

}  // namespace wick

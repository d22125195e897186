// View ops: reshape, permute, slice, broadcast_to (views), and contiguous/astype (copies).
#include "wick/ops/views.h"

#include <algorithm>
#include <numeric>

#include "wick/ops/creation.h"
#include "wick/ops/primitives.h"
#include "wick/ops/reduce.h"

namespace wick {

int normalize_axis(int axis, int ndim, const char* op) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim)
    fail<ShapeError>(op, "axis {} out of range for a {}-d tensor", axis, ndim);
  return a;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      fail<ShapeError>(op, "shapes {} and {} do not broadcast", shape_str(a), shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {

// Strides that let a tensor of shape `os`/`ost` be read as shape `ns` without a copy, if any.
// Old and new axes are matched in groups with equal products (size-1 axes aside); a group of old
// axes must be row-major among themselves (any outer stride, broadcast 0 included).
bool view_strides(const Shape& os, const Strides& ost, const Shape& ns, Strides& nst) {
  nst.assign(ns.size(), 0);
  if (numel_of(ns) == 0) {
    nst = contiguous_strides(ns);
    return true;
  }
  Shape osh;
  Strides ostr;
  for (size_t i = 0; i < os.size(); ++i)
    if (os[i] != 1) {
      osh.push_back(os[i]);
      ostr.push_back(ost[i]);
    }
  size_t oi = 0, ni = 0;
  while (oi < osh.size() && ni < ns.size()) {
    if (ns[ni] == 1) {
      ++ni;
      continue;
    }
    int64_t op = osh[oi], np = ns[ni];
    size_t oj = oi + 1, nj = ni + 1;
    while (op != np) {
      if (op < np) {
        if (oj >= osh.size()) return false;
        op *= osh[oj++];
      } else {
        if (nj >= ns.size()) return false;
        np *= ns[nj++];
      }
    }
    for (size_t k = oi; k + 1 < oj; ++k)
      if (ostr[k] != ostr[k + 1] * osh[k + 1]) return false;
    nst[nj - 1] = ostr[oj - 1];
    for (size_t k = nj - 1; k > ni; --k) nst[k - 1] = nst[k] * ns[k];
    oi = oj;
    ni = nj;
  }
  // Size-1 axes: any stride works; use the row-major one for tidiness.
  for (size_t k = ns.size(); k-- > 0;)
    if (ns[k] == 1) nst[k] = k + 1 < ns.size() ? nst[k + 1] * ns[k + 1] : 1;
  return true;
}

}  // namespace

namespace prims {

Layout Reshape::view_layout(const Inputs& in, const Shape& out_shape) const {
  Layout l;
  if (!view_strides(in[0].shape(), in[0].strides(), out_shape, l.strides))
    fail<ValueError>("reshape", "internal: layout {} of {} is not viewable as {}",
                     shape_str(in[0].strides()), shape_str(in[0].shape()), shape_str(out_shape));
  l.offset = in[0].offset();
  return l;
}
std::vector<Tensor> Reshape::vjp(const Inputs& in, const Tensor&, const Tensor& g, const Wanted&) {
  return {reshape(g, in[0].shape())};
}

Params Permute::params() const {
  return {{"axes", std::vector<int64_t>(axes.begin(), axes.end())}};
}
Layout Permute::view_layout(const Inputs& in, const Shape&) const {
  Layout l;
  l.strides.resize(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) l.strides[i] = in[0].strides()[size_t(axes[i])];
  l.offset = in[0].offset();
  return l;
}
std::vector<Tensor> Permute::vjp(const Inputs&, const Tensor&, const Tensor& g, const Wanted&) {
  std::vector<int> inv(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) inv[size_t(axes[i])] = int(i);
  return {permute(g, inv)};
}

Layout Slice::view_layout(const Inputs& in, const Shape&) const {
  Layout l;
  l.strides = in[0].strides();
  l.offset = in[0].offset() + start * l.strides[size_t(axis)];
  l.strides[size_t(axis)] *= step;
  return l;
}
std::vector<Tensor> Slice::vjp(const Inputs& in, const Tensor&, const Tensor& g, const Wanted&) {
  auto p = std::make_shared<SliceScatter>(axis, start, step);
  return {Tensor::make(in[0].shape(), g.dtype(), g.device(), p, {g})};
}

std::vector<Tensor> SliceScatter::vjp(const Inputs& in, const Tensor& out, const Tensor& g,
                                      const Wanted&) {
  int64_t n = in[0].shape()[size_t(axis)];
  return {slice(g, axis, start, start + (n - 1) * step + 1, step)};
}

Layout BroadcastTo::view_layout(const Inputs& in, const Shape& out_shape) const {
  const auto& x = in[0];
  size_t n = out_shape.size(), lead = n - x.shape().size();
  Layout l;
  l.strides.assign(n, 0);
  for (size_t i = 0; i < x.shape().size(); ++i)
    l.strides[lead + i] = x.shape()[i] == 1 ? 0 : x.strides()[i];
  l.offset = x.offset();
  return l;
}
std::vector<Tensor> BroadcastTo::vjp(const Inputs& in, const Tensor&, const Tensor& g,
                                     const Wanted&) {
  return {sum_to_shape(g, in[0].shape())};
}

std::vector<Tensor> Copy::vjp(const Inputs&, const Tensor&, const Tensor& g, const Wanted&) {
  return {g};
}

std::vector<Tensor> AsType::vjp(const Inputs& in, const Tensor&, const Tensor& g, const Wanted&) {
  return {astype(g, in[0].dtype())};
}

}  // namespace prims

Tensor reshape(const Tensor& x, Shape shape) {
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) fail<ShapeError>("reshape", "more than one -1 in {}", shape_str(shape));
      infer = int(i);
    } else if (shape[i] < 0) {
      fail<ShapeError>("reshape", "negative size in {}", shape_str(shape));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      fail<ShapeError>("reshape", "cannot infer -1 in {} for {} elements", shape_str(shape),
                       x.numel());
    shape[size_t(infer)] = x.numel() / known;
  }
  if (numel_of(shape) != x.numel())
    fail<ShapeError>("reshape", "cannot reshape {} to {}; expected {} elements, got {}",
                     shape_str(x.shape()), shape_str(shape), x.numel(), numel_of(shape));
  if (shape == x.shape()) return x;
  // A view when the input's layout allows it (known when built), else a row-major copy first.
  Strides st;
  const Tensor base = view_strides(x.shape(), x.strides(), shape, st) ? x : contiguous(x);
  return Tensor::make(std::move(shape), x.dtype(), x.device(), std::make_shared<prims::Reshape>(),
                      {base});
}

Tensor flatten(const Tensor& x, int start, int end) {
  if (x.ndim() == 0) return reshape(x, {1});
  int s = normalize_axis(start, x.ndim(), "flatten"), e = normalize_axis(end, x.ndim(), "flatten");
  if (s > e) fail<ShapeError>("flatten", "start axis {} after end axis {}", start, end);
  Shape sh(x.shape().begin(), x.shape().begin() + s);
  int64_t m = 1;
  for (int i = s; i <= e; ++i) m *= x.shape()[size_t(i)];
  sh.push_back(m);
  sh.insert(sh.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, sh);
}

Tensor permute(const Tensor& x, std::vector<int> axes) {
  int n = x.ndim();
  if (int(axes.size()) != n)
    fail<ShapeError>("permute", "expected {} axes, got {}", n, axes.size());
  std::vector<bool> seen(static_cast<size_t>(n), false);
  for (auto& a : axes) {
    a = normalize_axis(a, n, "permute");
    if (seen[size_t(a)]) fail<ShapeError>("permute", "axis {} repeated", a);
    seen[size_t(a)] = true;
  }
  bool identity = true;
  for (int i = 0; i < n; ++i) identity &= axes[size_t(i)] == i;
  if (identity) return x;
  Shape sh(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) sh[size_t(i)] = x.shape()[size_t(axes[size_t(i)])];
  return Tensor::make(sh, x.dtype(), x.device(), std::make_shared<prims::Permute>(std::move(axes)),
                      {x});
}

Tensor transpose(const Tensor& x, int a, int b) {
  std::vector<int> axes(static_cast<size_t>(x.ndim()));
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[size_t(normalize_axis(a, x.ndim(), "transpose"))],
            axes[size_t(normalize_axis(b, x.ndim(), "transpose"))]);
  return permute(x, axes);
}

Tensor mT(const Tensor& x) {
  if (x.ndim() < 2) fail<ShapeError>("mT", "expected at least 2 axes, got {}", x.ndim());
  return transpose(x, -2, -1);
}

Tensor slice(const Tensor& x, int axis, int64_t start, int64_t stop, int64_t step) {
  int a = normalize_axis(axis, x.ndim(), "slice");
  if (step <= 0) fail<ValueError>("slice", "step must be positive, got {}", step);
  int64_t n = x.shape()[size_t(a)];
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  start = std::clamp<int64_t>(start, 0, n);
  stop = std::clamp<int64_t>(stop, 0, n);
  int64_t len = stop > start ? (stop - start + step - 1) / step : 0;
  if (start == 0 && len == n && step == 1) return x;
  Shape sh = x.shape();
  sh[size_t(a)] = len;
  return Tensor::make(sh, x.dtype(), x.device(), std::make_shared<prims::Slice>(a, start, step),
                      {x});
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  if (shape.size() < x.shape().size())
    fail<ShapeError>("broadcast_to", "cannot broadcast {} to fewer axes {}", shape_str(x.shape()),
                     shape_str(shape));
  if (broadcast_shapes(x.shape(), shape, "broadcast_to") != shape)
    fail<ShapeError>("broadcast_to", "cannot broadcast {} to {}", shape_str(x.shape()),
                     shape_str(shape));
  if (shape == x.shape()) return x;
  return Tensor::make(shape, x.dtype(), x.device(), std::make_shared<prims::BroadcastTo>(), {x});
}

Tensor squeeze(const Tensor& x, int axis) {
  int a = normalize_axis(axis, x.ndim(), "squeeze");
  if (x.shape()[size_t(a)] != 1)
    fail<ShapeError>("squeeze", "axis {} has size {}; expected 1", axis, x.shape()[size_t(a)]);
  Shape sh = x.shape();
  sh.erase(sh.begin() + a);
  return reshape(x, sh);
}

Tensor unsqueeze(const Tensor& x, int axis) {
  int a = normalize_axis(axis, x.ndim() + 1, "unsqueeze");
  Shape sh = x.shape();
  sh.insert(sh.begin() + a, 1);
  return reshape(x, sh);
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous() && x.offset() == 0) return x;
  return Tensor::make(x.shape(), x.dtype(), x.device(), std::make_shared<prims::Copy>(), {x});
}

Tensor astype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return Tensor::make(x.shape(), dtype, x.device(), std::make_shared<prims::AsType>(), {x});
}

}  // namespace wick

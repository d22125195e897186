#include "wick/backend/cuda/register_common.h"

namespace wick::cuda {

std::optional<std::vector<Strided>> describe_together(const std::vector<const Tensor*>& ts,
                                                      const Shape& shape) {
  std::vector<const Strides*> st;
  for (const Tensor* t : ts) st.push_back(&t->strides());
  return describe_strides(st, shape);
}

Strided flat(int64_t n) {
  Strided s;
  s.ndim = 1;
  s.shape[0] = n;
  s.stride[0] = 1;
  return s;
}

std::optional<std::vector<Strided>> describe_strides(const std::vector<const Strides*>& ts,
                                                     const Shape& shape) {
  // Dimensions kept (size > 1), outermost first, with one stride per operand.
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides(ts.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    const bool merge = !dims.empty() && [&] {
      for (size_t k = 0; k < ts.size(); ++k)
        if (strides[k].back() != (*ts[k])[d] * shape[d]) return false;
      return true;
    }();
    if (merge) {
      dims.back() *= shape[d];
      for (size_t k = 0; k < ts.size(); ++k) strides[k].back() = (*ts[k])[d];
    } else {
      dims.push_back(shape[d]);
      for (size_t k = 0; k < ts.size(); ++k) strides[k].push_back((*ts[k])[d]);
    }
  }
  if (dims.size() > size_t(kMaxDims)) return std::nullopt;
  std::vector<Strided> r(ts.size());
  for (size_t k = 0; k < ts.size(); ++k) {
    r[k].ndim = int(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
      r[k].shape[d] = dims[d];
      r[k].stride[d] = strides[k][d];
    }
  }
  return r;
}

std::optional<Strided> describe(const Tensor& t) {
  auto r = describe_together({&t}, t.shape());
  if (!r) return std::nullopt;
  return (*r)[0];
}

}  // namespace wick::cuda

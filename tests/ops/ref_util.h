#pragma once
// Shared pieces of the core op tests: dtypes and awkward sizes to sweep, random inputs in every
// layout (contiguous, strided, transposed, broadcast), and a plain-loop broadcasting reference.
#include <functional>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace wick::testing::ref {

inline const std::vector<DType> kFloatTypes = {DType::f32, DType::f64, DType::bf16, DType::f16};
inline const std::vector<int64_t> kSizes = {1, 3, 127, 4097};

/// Evaluated tensor of `shape` and `dtype` with values map(N(0,1)) (identity when map is empty).
inline Tensor rand_as(const Shape& shape, uint64_t seed, DType dtype,
                      const std::function<double(double)>& map = nullptr) {
  auto v = randn(shape, seed).to_vector<double>();
  if (map)
    for (auto& x : v) x = map(x);
  Tensor t = from_vector(v, shape, dtype);
  return t;
}

struct Layout {
  std::string name;
  Tensor t;  // evaluated; strides show the layout
};

/// The same kind of random data of logical shape [n] or [n, 3] in four layouts: contiguous [n],
/// every other element of a [2n+1] buffer, a transposed [3, n] buffer viewed as [n, 3], and a
/// [1, n] row broadcast to [4, n].
inline std::vector<Layout> layouts(int64_t n, uint64_t seed, DType dtype,
                                   const std::function<double(double)>& map = nullptr) {
  std::vector<Layout> out;
  out.push_back({"contiguous", rand_as({n}, seed, dtype, map)});
  Tensor strided = slice(rand_as({2 * n + 1}, seed + 1, dtype, map), 0, 1, 2 * n + 1, 2);
  out.push_back({"strided", strided.eval()});
  Tensor tr = transpose(rand_as({3, n}, seed + 2, dtype, map), 0, 1);
  out.push_back({"transposed", tr.eval()});
  Tensor bc = broadcast_to(rand_as({1, n}, seed + 3, dtype, map), {4, n});
  out.push_back({"broadcast", bc.eval()});
  return out;
}

/// Row-major index of `out_index` (a flat index into `out`) in a tensor of shape `s` broadcast to
/// `out` (NumPy rules), by plain index arithmetic.
inline size_t broadcast_index(int64_t flat, const Shape& s, const Shape& out) {
  size_t lead = out.size() - s.size();
  int64_t idx = 0, mul = 1;
  for (size_t d = out.size(); d-- > 0;) {
    int64_t i = flat % out[d];
    flat /= out[d];
    if (d >= lead) {
      int64_t sd = s[d - lead];
      idx += (sd == 1 ? 0 : i) * mul;
      mul *= sd;
    }
  }
  return size_t(idx);
}

/// Values of a tensor of shape `s` expanded to `out`.
inline std::vector<double> expand(const std::vector<double>& v, const Shape& s, const Shape& out) {
  std::vector<double> r(size_t(numel_of(out)));
  for (int64_t i = 0; i < numel_of(out); ++i) r[size_t(i)] = v[broadcast_index(i, s, out)];
  return r;
}

}  // namespace wick::testing::ref

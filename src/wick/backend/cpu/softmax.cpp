// Softmax and log_softmax along one axis. One task per group of rows (all axes but `axis`); a row
// takes three passes: max (NaN-propagating), exp-sum, then the normalising write. f32 rows that
// are contiguous on both sides run in place on the output; other rows (16-bit floats, strided
// axes) are widened into a per-task scratch row first. Sums use 8 independent lanes so the loops
// vectorise without -ffast-math. f32/bf16/f16 accumulate in f32, f64 in f64.
#include "wick/backend/cpu/softmax.h"

#include <limits>
#include <type_traits>
#include <vector>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

// In-place transform of a contiguous compute-type row: `src` may equal `dst`.
template <class C>
void row_apply(SoftmaxKind kind, const C* src, C* dst, int64_t n) {
  C m = row_max(src, n);
  if (kind == SoftmaxKind::softmax) {
    C s = row_exp_sum(src, n, m, dst);
    C inv = C(1) / s;
    for (int64_t i = 0; i < n; ++i) dst[i] *= inv;
  } else {
    C s = row_exp_sum<C>(src, n, m, nullptr);
    C ls = std::log(s);  // (x - m) - log(s): m + log(s) would round away log(s) for large m
    for (int64_t i = 0; i < n; ++i) dst[i] = (src[i] - m) - ls;
  }
}

template <class T>
void softmax_typed(SoftmaxKind kind, const Tensor& x, int axis, const Tensor& out) {
  using L = Compute<T>;
  using C = typename L::type;
  const int nd = x.ndim();
  const int64_t n = x.shape()[size_t(axis)];
  if (n == 0 || x.numel() == 0) return;
  const int64_t xs = x.strides()[size_t(axis)];
  const int64_t os = out.strides()[size_t(axis)];
  Shape kept_shape;
  Strides kept_x, kept_o;
  for (int d = 0; d < nd; ++d) {
    if (d == axis) continue;
    kept_shape.push_back(x.shape()[size_t(d)]);
    kept_x.push_back(x.strides()[size_t(d)]);
    kept_o.push_back(out.strides()[size_t(d)]);
  }
  const int64_t rows = x.numel() / n;
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  parallel_for(rows, std::max<int64_t>(1, kGrain / n), [&](int64_t b, int64_t e) {
    std::vector<C> scratch;
    for (int64_t r = b; r < e; ++r) {
      int64_t xo = 0, oo = 0, q = r;
      for (int d = int(kept_shape.size()) - 1; d >= 0; --d) {
        int64_t i = q % kept_shape[size_t(d)];
        q /= kept_shape[size_t(d)];
        xo += i * kept_x[size_t(d)];
        oo += i * kept_o[size_t(d)];
      }
      const T* xr = xp + xo;
      T* orow = op + oo;
      if constexpr (std::is_same_v<T, C>) {
        if (xs == 1 && os == 1) {
          row_apply<C>(kind, xr, orow, n);
          continue;
        }
      }
      scratch.resize(size_t(n));
      for (int64_t i = 0; i < n; ++i) scratch[size_t(i)] = L::load(xr[i * xs]);
      row_apply<C>(kind, scratch.data(), scratch.data(), n);
      for (int64_t i = 0; i < n; ++i) orow[i * os] = L::store(scratch[size_t(i)]);
    }
  });
}

}  // namespace

void softmax(SoftmaxKind kind, const Tensor& x, int axis, const Tensor& out) {
  out.alloc_contiguous();
  dispatch_float(x.dtype(), kind == SoftmaxKind::softmax ? "softmax" : "log_softmax",
                 [&](auto tag) { softmax_typed<decltype(tag)>(kind, x, axis, out); });
}

}  // namespace wick::cpu

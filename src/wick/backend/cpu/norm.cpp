// RMSNorm and LayerNorm: one task per group of rows, each row read from row-major memory. A row
// is reduced with 8 independent accumulators (vectorises without -ffast-math), then written in
// one pass. RMSNorm follows transformers' LlamaRMSNorm rounding: the normalised value is rounded
// to x's dtype before the weight multiply, which happens in the output's (promoted) dtype.
// LayerNorm uses two passes over the row (mean, then squared deviations) for accuracy.
#include "wick/backend/cpu/norm.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "wick/backend/cpu/copy.h"
#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

constexpr int kLanes = 8;

// Row-major version of an evaluated input: itself, or a private copy (strided views, say).
Tensor row_major(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c =
      Tensor::from_buffer(allocator_for(Device::cpu()).allocate(t.nbytes()), t.shape(), t.dtype());
  copy_into(t, c, c.strides(), 0);
  return c;
}

template <class C, class T, class F>
C lane_sum(const T* x, int64_t n, F&& f) {
  using L = Compute<T>;
  C lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] += f(C(L::load(x[i + k])));
  for (; i < n; ++i) lane[0] += f(C(L::load(x[i])));
  C s = 0;
  for (int k = 0; k < kLanes; ++k) s += lane[k];
  return s;
}

template <class T, class W, class O>
void rms_typed(const Tensor& x, const Tensor* weight, double eps, const Tensor& out) {
  using LX = Compute<T>;
  using C = typename LX::type;  // the normalisation's precision
  using Y = std::conditional_t<std::is_same_v<O, double>, double, float>;  // weight multiply
  const int64_t D = x.shape().back();
  if (D == 0 || x.numel() == 0) return;
  const int64_t rows = x.numel() / D;
  const T* xp = x.data<T>();
  const W* wp = weight ? weight->data<W>() : nullptr;
  O* op = out.data<O>();
  const C ceps = C(eps);
  parallel_for(rows, std::max<int64_t>(1, kGrain / D), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = xp + r * D;
      O* orow = op + r * D;
      C ms = lane_sum<C>(xr, D, [](C v) { return v * v; }) / C(D);
      C inv = C(1) / std::sqrt(ms + ceps);
      if (wp) {
        for (int64_t i = 0; i < D; ++i) {
          Y h = Y(LX::load(LX::store(C(LX::load(xr[i])) * inv)));
          orow[i] = Compute<O>::store(typename Compute<O>::type(Y(Compute<W>::load(wp[i])) * h));
        }
      } else if constexpr (std::is_same_v<O, T>) {
        for (int64_t i = 0; i < D; ++i) orow[i] = LX::store(C(LX::load(xr[i])) * inv);
      }
    }
  });
}

template <class T>
void layer_typed(const Tensor& x, const Tensor* weight, const Tensor* bias, double eps,
                 const Tensor& out) {
  using L = Compute<T>;
  using C = typename L::type;
  const int64_t D = x.shape().back();
  if (D == 0 || x.numel() == 0) return;
  const int64_t rows = x.numel() / D;
  const T* xp = x.data<T>();
  const T* wp = weight ? weight->data<T>() : nullptr;
  const T* bp = bias ? bias->data<T>() : nullptr;
  T* op = out.data<T>();
  const C ceps = C(eps);
  parallel_for(rows, std::max<int64_t>(1, kGrain / D), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = xp + r * D;
      T* orow = op + r * D;
      C mu = lane_sum<C>(xr, D, [](C v) { return v; }) / C(D);
      C var = lane_sum<C>(xr, D, [mu](C v) { return (v - mu) * (v - mu); }) / C(D);
      C inv = C(1) / std::sqrt(var + ceps);
      for (int64_t i = 0; i < D; ++i) {
        C y = (C(L::load(xr[i])) - mu) * inv;
        if (wp) y = y * C(L::load(wp[i]));
        if (bp) y = y + C(L::load(bp[i]));
        orow[i] = L::store(y);
      }
    }
  });
}

}  // namespace

void rms_norm(const Tensor& x_in, const Tensor* weight_in, double eps, const Tensor& out) {
  out.alloc_contiguous();
  Tensor x = row_major(x_in), w = weight_in ? row_major(*weight_in) : Tensor();
  const Tensor* weight = weight_in ? &w : nullptr;
  dispatch_float(x.dtype(), "rms_norm", [&](auto xt) {
    using T = decltype(xt);
    if (!weight) return rms_typed<T, T, T>(x, nullptr, eps, out);
    dispatch_float(weight->dtype(), "rms_norm", [&](auto wt) {
      using W = decltype(wt);
      dispatch_float(out.dtype(), "rms_norm", [&](auto ot) {
        using O = decltype(ot);
        rms_typed<T, W, O>(x, weight, eps, out);
      });
    });
  });
}

void layer_norm(const Tensor& x_in, const Tensor* weight_in, const Tensor* bias_in, double eps,
                const Tensor& out) {
  out.alloc_contiguous();
  Tensor x = row_major(x_in), w = weight_in ? row_major(*weight_in) : Tensor();
  Tensor b = bias_in ? row_major(*bias_in) : Tensor();
  const Tensor* weight = weight_in ? &w : nullptr;
  const Tensor* bias = bias_in ? &b : nullptr;
  dispatch_float(x.dtype(), "layer_norm",
                 [&](auto xt) { layer_typed<decltype(xt)>(x, weight, bias, eps, out); });
}

}  // namespace wick::cpu

#pragma once
// Softmax-family CPU kernels and the vectorisable f32 exp they (and norm/loss) share.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "wick/core/tensor.h"

namespace wick::cpu {

enum class SoftmaxKind : uint8_t { softmax, log_softmax };

/// out = softmax or log_softmax of x along `axis` (x any strides; out allocated row-major here).
/// 16-bit floats and f32 accumulate in f32, f64 in f64.
void softmax(SoftmaxKind kind, const Tensor& x, int axis, const Tensor& out);

/// exp(x) in f32 written with selects only, so loops over it vectorise: x = k ln2 + r with
/// |r| <= ln2/2, exp(r) by a degree-6 polynomial (about 1 ulp), times 2^k built in the exponent
/// bits. Results below exp(-87) flush to 0, above exp(88.7) give +inf; NaN propagates.
inline float exp_f32(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  float xc = x < -87.0f ? -87.0f : (x > 88.7f ? 88.7f : x);
  float k = std::floor(xc * kLog2e + 0.5f);
  float r = xc - k * kLn2Hi;
  r = r - k * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^(k-1) * 2 keeps k = 128 (x near 88.7) representable.
  float scale = std::bit_cast<float>(uint32_t(int32_t(k) + 126) << 23);
  float y = (p * scale) * 2.0f;
  y = x < -87.0f ? 0.0f : y;
  y = x > 88.7f ? INFINITY : y;
  return x != x ? x : y;
}

inline constexpr int kRowLanes = 8;

/// exp in the compute type: exp_f32 for float, std::exp for double.
template <class C>
inline C exp_c(C v) {
  if constexpr (std::is_same_v<C, float>) {
    return exp_f32(v);
  } else {
    return std::exp(v);
  }
}

/// Max of a contiguous row (8 lanes, so it vectorises); a NaN anywhere gives NaN.
template <class C>
C row_max(const C* x, int64_t n) {
  C lane[kRowLanes];
  for (int k = 0; k < kRowLanes; ++k) lane[k] = -std::numeric_limits<C>::infinity();
  int64_t i = 0;
  for (; i + kRowLanes <= n; i += kRowLanes)
    for (int k = 0; k < kRowLanes; ++k) {
      C v = x[i + k];
      lane[k] = (v > lane[k] || v != v) ? v : lane[k];
    }
  for (; i < n; ++i) lane[0] = (x[i] > lane[0] || x[i] != x[i]) ? x[i] : lane[0];
  C m = lane[0];
  for (int k = 1; k < kRowLanes; ++k) m = (lane[k] > m || lane[k] != lane[k]) ? lane[k] : m;
  return m;
}

/// sum(exp(x - m)) over a contiguous row; writes the exponentials to e when it is not null.
template <class C>
C row_exp_sum(const C* x, int64_t n, C m, C* e) {
  C lane[kRowLanes] = {};
  int64_t i = 0;
  for (; i + kRowLanes <= n; i += kRowLanes)
    for (int k = 0; k < kRowLanes; ++k) {
      C v = exp_c<C>(x[i + k] - m);
      if (e) e[i + k] = v;
      lane[k] += v;
    }
  for (; i < n; ++i) {
    C v = exp_c<C>(x[i] - m);
    if (e) e[i] = v;
    lane[0] += v;
  }
  C s = 0;
  for (int k = 0; k < kRowLanes; ++k) s += lane[k];
  return s;
}

}  // namespace wick::cpu

// RoPE: one task per group of (b, t) rows. For each row the angles f_i = float(pos) * inv_freq[i]
// are computed in f32 (as transformers does), cos/sin rounded to x's dtype, then applied to every
// head. Each product and the sum are rounded to x's dtype, so bf16/f16 results equal the
// transformers composition x*cos + rotate_half(x)*sin bit for bit (f64 x too gets f32 cos/sin,
// as in transformers). Pairs are (i, i + Dh/2) for rotate_half and (2i, 2i + 1) for interleaved.
// No fused multiply-add: each product is rounded as in the composition. GCC and clang both
// contract by default, so CMakeLists.txt compiles this file with -ffp-contract=off.

#include "wick/backend/cpu/rope.h"

#include <cmath>
#include <vector>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

int64_t int_at(const Tensor& t, int64_t off) {
  if (t.dtype() == DType::i32) return t.data<int32_t>()[off];
  return t.data<int64_t>()[off];
}

template <class T>
void rope_typed(const Tensor& x, const Tensor& inv_freq, const Tensor* positions, int64_t offset,
                RopeLayout layout, bool inverse, const Tensor& out) {
  using L = Compute<T>;
  using C = typename L::type;
  const int64_t B = x.shape()[0], H = x.shape()[1], T_ = x.shape()[2], Dh = x.shape()[3];
  const int64_t half = Dh / 2;
  const Strides& xs = x.strides();
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  const float* fp = inv_freq.data<float>();
  const int64_t fs = inv_freq.strides()[0];
  // Round each product and sum to T (a no-op for f32/f64).
  auto r = [](C v) { return C(L::load(L::store(v))); };
  const C sign = inverse ? C(-1) : C(1);
  parallel_for(B * T_, std::max<int64_t>(1, kGrain / std::max<int64_t>(H * Dh, 1)),
               [&](int64_t rb, int64_t re) {
                 std::vector<C> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
                 for (int64_t row = rb; row < re; ++row) {
                   const int64_t b = row / T_, t = row % T_;
                   int64_t pos = offset + t;
                   if (positions) {
                     const Strides& ps = positions->strides();
                     pos = positions->ndim() == 1 ? int_at(*positions, t * ps[0])
                                                  : int_at(*positions, b * ps[0] + t * ps[1]);
                   }
                   for (int64_t i = 0; i < half; ++i) {
                     float f = float(pos) * fp[i * fs];
                     cs[size_t(i)] = r(C(std::cos(f)));
                     sn[size_t(i)] = sign * r(C(std::sin(f)));
                   }
                   for (int64_t h = 0; h < H; ++h) {
                     const T* xr = xp + b * xs[0] + h * xs[1] + t * xs[2];
                     T* orow = op + ((b * H + h) * T_ + t) * Dh;
                     const int64_t sd = xs[3];
                     const int64_t step = layout == RopeLayout::rotate_half ? 1 : 2;
                     const int64_t other = layout == RopeLayout::rotate_half ? half : 1;
                     for (int64_t i = 0; i < half; ++i) {
                       const int64_t i1 = i * step, i2 = i1 + other;
                       C x1 = L::load(xr[i1 * sd]), x2 = L::load(xr[i2 * sd]);
                       C c = cs[size_t(i)], s = sn[size_t(i)];
                       orow[i1] = L::store(r(x1 * c) + r(-x2 * s));
                       orow[i2] = L::store(r(x2 * c) + r(x1 * s));
                     }
                   }
                 }
               });
}

}  // namespace

void rope(const Tensor& x, const Tensor& inv_freq, const Tensor* positions, int64_t offset,
          RopeLayout layout, bool inverse, const Tensor& out) {
  out.alloc_contiguous();
  if (x.numel() == 0) return;
  dispatch_float(x.dtype(), "rope", [&](auto tag) {
    rope_typed<decltype(tag)>(x, inv_freq, positions, offset, layout, inverse, out);
  });
}

}  // namespace wick::cpu

#include "wick/backend/cpu/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "wick/backend/cpu/cpu_utils.h"

namespace wick::cpu {

namespace {

template <class T>
void cached_attention_typed(const Tensor& q, const Tensor& k, const Tensor& v, int64_t length,
                            double scale_d, int64_t window, const Tensor& out) {
  using L = Compute<T>;
  using C = typename L::type;  // f32 for 16-bit floats
  const int64_t B = q.shape(0), H = q.shape(1), Tq = q.shape(2), Dh = q.shape(3);
  const int64_t Hkv = k.shape(1), S = k.shape(2), G = H / Hkv;
  const Strides& qs = q.strides();
  const T* qp = q.data<T>();
  const T* kp = k.data<T>();
  const T* vp = v.data<T>();
  T* op = out.data<T>();
  const int64_t rows = B * H;
  parallel_for(rows, 1, [&](int64_t lo, int64_t hi) {
    std::vector<C> qrow(static_cast<size_t>(Dh)), acc(static_cast<size_t>(Dh)),
        score(static_cast<size_t>(S));
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t b = r / H, h = r % H, kvh = h / G;
      const T* kb = kp + (b * Hkv + kvh) * S * Dh;
      const T* vb = vp + (b * Hkv + kvh) * S * Dh;
      for (int64_t t = 0; t < Tq; ++t) {
        const int64_t last = length - Tq + t;
        const int64_t first = window > 0 ? std::max<int64_t>(0, last - window + 1) : 0;
        const T* qr = qp + b * qs[0] + h * qs[1] + t * qs[2];
        for (int64_t d = 0; d < Dh; ++d) qrow[size_t(d)] = C(L::load(qr[d * qs[3]])) * C(scale_d);
        C m = -std::numeric_limits<C>::infinity();
        for (int64_t s = first; s <= last; ++s) {
          const T* kr = kb + s * Dh;
          C dot = 0;
          for (int64_t d = 0; d < Dh; ++d) dot += qrow[size_t(d)] * C(L::load(kr[d]));
          score[size_t(s)] = dot;
          m = std::max(m, dot);
        }
        std::fill(acc.begin(), acc.end(), C(0));
        C sum = 0;
        for (int64_t s = first; s <= last; ++s) {
          const C p = std::exp(score[size_t(s)] - m);
          sum += p;
          const T* vr = vb + s * Dh;
          for (int64_t d = 0; d < Dh; ++d) acc[size_t(d)] += p * C(L::load(vr[d]));
        }
        T* o = op + ((b * H + h) * Tq + t) * Dh;
        const C inv = C(1) / sum;
        for (int64_t d = 0; d < Dh; ++d) o[d] = L::store(acc[size_t(d)] * inv);
      }
    }
  });
}

}  // namespace

void cached_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t length,
                      double scale, int64_t window, const Tensor& out) {
  out.alloc_contiguous();
  if (length < q.shape(2) || length > k.shape(2))
    fail<ShapeError>("cached_attention", "length {} outside [{}, {}]", length, q.shape(2),
                     k.shape(2));
  dispatch_float(q.dtype(), "cached_attention", [&](auto tag) {
    cached_attention_typed<decltype(tag)>(q, k, v, length, scale, window, out);
  });
}

}  // namespace wick::cpu

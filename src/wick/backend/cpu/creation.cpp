// CPU kernels of lazy creation: constants, ranges and counter-based random numbers (element i is
// a function of the key and i alone, so chunks run in parallel and equal a serial draw).
#include "wick/backend/cpu/creation.h"

#include "wick/backend/cpu/cpu_utils.h"
#include "wick/backend/cpu/indexing.h"
#include "wick/core/random.h"

namespace wick::cpu {

void full(double value, const Tensor& out) {
  out.alloc_contiguous();
  dispatch_all(out.dtype(), "full", [&](auto tag) {
    using T = decltype(tag);
    const T v = saturate_cast<T>(value);
    T* p = out.data<T>();
    parallel_for(out.numel(), kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = v;
    });
  });
}

void arange(double start, double step, const Tensor& out) {
  out.alloc_contiguous();
  dispatch_all(out.dtype(), "arange", [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    for (int64_t i = 0, n = out.numel(); i < n; ++i)
      p[i] = saturate_cast<T>(start + double(i) * step);
  });
}

namespace {
struct Key {
  uint64_t seed, counter;
};
Key read_key(const Tensor& key) {
  const int64_t* k = key.data<int64_t>();
  return {uint64_t(k[0]), uint64_t(k[1])};
}
}  // namespace

void random(bool normal, double a, double b, const Tensor& key, const Tensor& out) {
  out.alloc_contiguous();
  const Key k = read_key(key);
  dispatch_float(out.dtype(), normal ? "random_normal" : "random_uniform", [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    parallel_for(out.numel(), kGrain / 16, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        double v;
        if (normal) {
          const uint64_t c = k.counter + 2 * uint64_t(i);
          v = a + b * box_muller(bits_to_double(random_bits(k.seed, c)),
                                 bits_to_double(random_bits(k.seed, c + 1)));
        } else {
          v = a + (b - a) * bits_to_double(random_bits(k.seed, k.counter + uint64_t(i)));
        }
        p[i] = saturate_cast<T>(v);
      }
    });
  });
}

void dropout_keyed(const Tensor& x, const Tensor& key, double p, double scale, const Tensor& out) {
  // The keep-mask of x's shape, row-major: keep[i] = (u_i >= p).
  auto buf = allocator_for(x.device()).allocate(size_t(x.numel()));
  Tensor keep = Tensor::from_buffer(buf, x.shape(), DType::boolean);
  bool* kp = static_cast<bool*>(buf->data());
  const Key k = read_key(key);
  parallel_for(x.numel(), kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      kp[i] = bits_to_double(random_bits(k.seed, k.counter + uint64_t(i))) >= p;
  });
  dropout(x, keep, scale, out);
}

}  // namespace wick::cpu

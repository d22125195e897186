#pragma once
// Device-side helpers shared by the CUDA kernels (.cu files only): element loads and stores in
// every dtype with float (f64: double) arithmetic, strided index arithmetic, launch sizes.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "wick/backend/cuda/launch.h"

namespace wick::cuda {

// Arithmetic type of a storage type: float for f32/bf16/f16, double for f64, itself otherwise.
template <class T>
struct Acc {
  using type = T;
};
template <>
struct Acc<__nv_bfloat16> {
  using type = float;
};
template <>
struct Acc<__half> {
  using type = float;
};

template <class T>
__device__ __forceinline__ typename Acc<T>::type load(const T* p, int64_t i) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat162float(p[i]);
  } else if constexpr (std::is_same_v<T, __half>) {
    return __half2float(p[i]);
  } else {
    return p[i];
  }
}
template <class T, class V>
__device__ __forceinline__ void store(T* p, int64_t i, V v) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    p[i] = __float2bfloat16_rn(float(v));
  } else if constexpr (std::is_same_v<T, __half>) {
    p[i] = __float2half_rn(float(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    p[i] = v != V(0);
  } else {
    p[i] = T(v);
  }
}

/// Element offset of row-major linear index `i` of `s.shape` under `s.stride`.
__device__ __forceinline__ int64_t strided_offset(const Strided& s, int64_t i) {
  int64_t off = 0;
  for (int d = s.ndim - 1; d >= 0; --d) {
    const int64_t q = i / s.shape[d];
    off += (i - q * s.shape[d]) * s.stride[d];
    i = q;
  }
  return off;
}

constexpr int kThreads = 256;
inline unsigned blocks_for(int64_t n, int per_thread = 1) {
  int64_t b = (n + int64_t(kThreads) * per_thread - 1) / (int64_t(kThreads) * per_thread);
  if (b < 1) b = 1;
  return unsigned(b > (int64_t(1) << 30) ? (int64_t(1) << 30) : b);
}

/// Calls f(T{}) with T the storage type of `dt` (float types only: f32, f64, bf16, f16).
template <class F>
void dispatch_float_types(DType dt, F&& f) {
  switch (dt) {
    case DType::f32:
      return f(float{});
    case DType::f64:
      return f(double{});
    case DType::bf16:
      return f(__nv_bfloat16{});
    case DType::f16:
      return f(__half{});
    default:
      return;
  }
}
/// Every dtype: floats, i32, i64, bool.
template <class F>
void dispatch_all_types(DType dt, F&& f) {
  switch (dt) {
    case DType::i32:
      return f(int32_t{});
    case DType::i64:
      return f(int64_t{});
    case DType::boolean:
      return f(bool{});
    default:
      return dispatch_float_types(dt, f);
  }
}

}  // namespace wick::cuda

// Copies (strided, with dtype conversion), constants, ranges, counter-based random numbers equal
// to the CPU's, dropout, and tril/triu.
#include <cfloat>

#include "wick/backend/cuda/common.cuh"

namespace wick::cuda {

namespace {

// One element converted as the CPU's cast_one: float -> integer saturates with NaN -> 0.
template <class S, class D>
__device__ __forceinline__ D cast_one(S v) {
  using CS = typename Acc<S>::type;
  CS c;
  if constexpr (std::is_same_v<S, __nv_bfloat16>) {
    c = __bfloat162float(v);
  } else if constexpr (std::is_same_v<S, __half>) {
    c = __half2float(v);
  } else {
    c = v;
  }
  if constexpr (std::is_same_v<D, __nv_bfloat16>) {
    return __float2bfloat16_rn(float(c));
  } else if constexpr (std::is_same_v<D, __half>) {
    return __float2half_rn(float(c));
  } else if constexpr (std::is_same_v<D, bool>) {
    return c != CS(0);
  } else if constexpr (std::is_integral_v<D> && std::is_floating_point_v<CS>) {
    const double x = double(c);
    const double hi = sizeof(D) == 8 ? 9223372036854775808.0 : 2147483648.0;
    if (!(x == x)) return D(0);
    if (x >= hi) return sizeof(D) == 8 ? D(INT64_MAX) : D(INT32_MAX);
    if (x < -hi) return sizeof(D) == 8 ? D(INT64_MIN) : D(INT32_MIN);
    return D(x);
  } else {
    return D(c);
  }
}

template <class S, class D>
__global__ void copy_kernel(const S* x, Strided xs, D* out, Strided os, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[strided_offset(os, i)] = cast_one<S, D>(x[strided_offset(xs, i)]);
}

template <class T>
__global__ void copy_at_offset_kernel(const T* x, Strided xs, T* out, Strided os,
                                      const int64_t* offset, int64_t offset_stride, int64_t count,
                                      int64_t limit, int* error, int64_t n) {
  const int64_t off = *offset;
  if (off < 0 || off + count > limit) {
    if (blockIdx.x == 0 && threadIdx.x == 0) atomicExch(error, 2);
    return;
  }
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[off * offset_stride + strided_offset(os, i)] = x[strided_offset(xs, i)];
}

// Value conversion as the CPU's saturate_cast<T>(double).
template <class T>
__device__ __forceinline__ T from_double(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(float(v));
  } else if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(float(v));
  } else if constexpr (std::is_integral_v<T>) {
    return cast_one<double, T>(v);
  } else {
    return T(v);
  }
}

template <class T>
__global__ void arange_kernel(double start, double step, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = from_double<T>(start + double(i) * step);
}

// core/random.h, on the device.
__device__ __forceinline__ uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
__device__ __forceinline__ uint64_t random_bits(uint64_t seed, uint64_t counter) {
  return splitmix64(splitmix64(seed) ^ (counter * 0xd1342543de82ef95ull));
}
__device__ __forceinline__ double bits_to_double(uint64_t b) {
  return double(b >> 11) * 1.1102230246251565404236316680908203125e-16;  // 2^-53
}

template <class T>
__global__ void random_kernel(bool normal, double a, double b, const int64_t* key, T* out,
                              int64_t n) {
  const uint64_t seed = uint64_t(key[0]), counter = uint64_t(key[1]);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    double v;
    if (normal) {
      const uint64_t c = counter + 2 * uint64_t(i);
      double u1 = bits_to_double(random_bits(seed, c));
      const double u2 = bits_to_double(random_bits(seed, c + 1));
      if (u1 < 1e-300) u1 = 1e-300;
      v = a + b * (sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793238462643383279502884 * u2));
    } else {
      v = a + (b - a) * bits_to_double(random_bits(seed, counter + uint64_t(i)));
    }
    out[i] = from_double<T>(v);
  }
}

template <class T>
__global__ void dropout_kernel(const T* x, const int64_t* key, double p, double scale, T* out,
                               int64_t n) {
  using C = typename Acc<T>::type;
  const uint64_t seed = uint64_t(key[0]), counter = uint64_t(key[1]);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const bool keep = bits_to_double(random_bits(seed, counter + uint64_t(i))) >= p;
    store(out, i, load(x, i) * (keep ? C(scale) : C(0)));
  }
}

template <class T>
__global__ void tri_kernel(const T* x, int64_t rows, int64_t cols, int64_t k, bool upper, T* out,
                           int64_t n) {
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = idx % cols, i = (idx / cols) % rows;
    const bool keep = upper ? j >= i + k : j <= i + k;
    out[idx] = keep ? x[idx] : T{};
  }
}

}  // namespace

void launch_copy_cast(DType in, DType out_dt, const void* x, const Strided& xs, void* out,
                      const Strided& os, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_all_types(in, [&](auto si) {
    using S = decltype(si);
    dispatch_all_types(out_dt, [&](auto di) {
      using D = decltype(di);
      copy_kernel<S, D><<<blocks_for(n, 4), kThreads, 0, s>>>(static_cast<const S*>(x), xs,
                                                              static_cast<D*>(out), os, n);
    });
  });
}

void launch_copy_at_offset(DType dt, const void* x, const Strided& xs, void* out, const Strided& os,
                           const int64_t* offset, int64_t offset_stride, int64_t count,
                           int64_t limit, int* error, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_all_types(dt, [&](auto tag) {
    using T = decltype(tag);
    copy_at_offset_kernel<T>
        <<<blocks_for(n, 4), kThreads, 0, s>>>(static_cast<const T*>(x), xs, static_cast<T*>(out),
                                               os, offset, offset_stride, count, limit, error, n);
  });
}

void launch_fill(DType dt, double v, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_all_types(dt, [&](auto tag) {
    using T = decltype(tag);
    // The value is converted on the device (bf16/f16 conversions are device functions).
    arange_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(v, 0.0, static_cast<T*>(out), n);
  });
}

void launch_arange(DType dt, double start, double step, void* out, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_all_types(dt, [&](auto tag) {
    using T = decltype(tag);
    arange_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(start, step, static_cast<T*>(out), n);
  });
}

void launch_random(bool normal, double a, double b, const int64_t* key, DType dt, void* out,
                   int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_float_types(dt, [&](auto tag) {
    using T = decltype(tag);
    random_kernel<T>
        <<<blocks_for(n, 4), kThreads, 0, s>>>(normal, a, b, key, static_cast<T*>(out), n);
  });
}

void launch_dropout(DType dt, const void* x, const int64_t* key, double p, double scale, void* out,
                    int64_t n, cudaStream_t s) {
  if (n == 0) return;
  dispatch_float_types(dt, [&](auto tag) {
    using T = decltype(tag);
    dropout_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(static_cast<const T*>(x), key, p, scale,
                                                            static_cast<T*>(out), n);
  });
}

void launch_tri(DType dt, const void* x, int64_t batch, int64_t rows, int64_t cols, int64_t k,
                bool upper, void* out, cudaStream_t s) {
  const int64_t n = batch * rows * cols;
  if (n == 0) return;
  dispatch_all_types(dt, [&](auto tag) {
    using T = decltype(tag);
    tri_kernel<T><<<blocks_for(n, 4), kThreads, 0, s>>>(static_cast<const T*>(x), rows, cols, k,
                                                        upper, static_cast<T*>(out), n);
  });
}

}  // namespace wick::cuda

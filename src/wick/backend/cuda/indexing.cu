// Gathers and scatter-adds: embedding lookups (take), take_along_axis, and their gradients
// (scatter_add with atomics; 16-bit floats accumulate in f32 as on the CPU).
#include "wick/backend/cuda/common.cuh"

namespace wick::cuda {

namespace {

template <class I>
__device__ __forceinline__ int64_t checked_index(const I* idx, int64_t at, int64_t limit,
                                                 int* error) {
  const int64_t v = int64_t(idx[at]);
  if (v < 0 || v >= limit) {
    atomicExch(error, kErrIndex);
    return -1;
  }
  return v;
}

template <class T, class I>
__global__ void take_kernel(const T* x, int64_t n, int64_t inner, const I* idx, int64_t m, T* out,
                            int* error, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = e % inner, r = e / inner, j = r % m, o = r / m;
    const int64_t v = checked_index(idx, j, n, error);
    out[e] = v < 0 ? T{} : x[(o * n + v) * inner + i];
  }
}

// Offsets of index-space element e into x (with the axis coordinate left out), idx and src.
__device__ __forceinline__ void coords_offsets(const Coords& c, int64_t e, int64_t& xo, int64_t& io,
                                               int64_t& so) {
  xo = io = so = 0;
  for (int d = c.ndim - 1; d >= 0; --d) {
    const int64_t q = e / c.shape[d], p = e - q * c.shape[d];
    e = q;
    io += p * c.i_stride[d];
    so += p * c.s_stride[d];
    if (d != c.axis) xo += p * c.x_stride[d];
  }
}

template <class T, class I>
__global__ void take_along_kernel(const T* x, const I* idx, Coords c, int64_t limit, T* out,
                                  int* error, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t xo, io, so;
    coords_offsets(c, e, xo, io, so);
    const int64_t v = checked_index(idx, io, limit, error);
    out[e] = v < 0 ? T{} : x[xo + v * c.x_stride[c.axis]];
  }
}

__device__ __forceinline__ void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ __forceinline__ void atomic_add(double* p, double v) { atomicAdd(p, v); }

template <class T, class A, class I>
__global__ void scatter_kernel(const T* src, const I* idx, Coords c, int64_t limit, A* acc,
                               int* error, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t xo, io, so;
    coords_offsets(c, e, xo, io, so);
    const int64_t v = checked_index(idx, io, limit, error);
    if (v >= 0) atomic_add(acc + xo + v * c.x_stride[c.axis], A(load(src, so)));
  }
}

template <class F>
void dispatch_index_type(DType dt, F&& f) {
  if (dt == DType::i32) return f(int32_t{});
  return f(int64_t{});
}

int64_t numel(const Coords& c) {
  int64_t n = 1;
  for (int d = 0; d < c.ndim; ++d) n *= c.shape[d];
  return n;
}

}  // namespace

void launch_take(DType dt, const void* x, int64_t outer, int64_t n, int64_t inner, DType idx_dt,
                 const void* idx, int64_t m, void* out, int* error, cudaStream_t s) {
  const int64_t total = outer * m * inner;
  if (total == 0) return;
  dispatch_index_type(idx_dt, [&](auto itag) {
    using I = decltype(itag);
    dispatch_all_types(dt, [&](auto tag) {
      using T = decltype(tag);
      take_kernel<T, I><<<blocks_for(total, 4), kThreads, 0, s>>>(
          static_cast<const T*>(x), n, inner, static_cast<const I*>(idx), m, static_cast<T*>(out),
          error, total);
    });
  });
}

void launch_take_along_axis(DType dt, const void* x, DType idx_dt, const void* idx, const Coords& c,
                            int64_t limit, void* out, int* error, cudaStream_t s) {
  const int64_t total = numel(c);
  if (total == 0) return;
  dispatch_index_type(idx_dt, [&](auto itag) {
    using I = decltype(itag);
    dispatch_all_types(dt, [&](auto tag) {
      using T = decltype(tag);
      take_along_kernel<T, I><<<blocks_for(total, 4), kThreads, 0, s>>>(
          static_cast<const T*>(x), static_cast<const I*>(idx), c, limit, static_cast<T*>(out),
          error, total);
    });
  });
}

void launch_scatter_add(DType src_dt, const void* src, DType idx_dt, const void* idx,
                        const Coords& c, int64_t limit, void* acc, bool acc_f32, int* error,
                        cudaStream_t s) {
  const int64_t total = numel(c);
  if (total == 0) return;
  dispatch_index_type(idx_dt, [&](auto itag) {
    using I = decltype(itag);
    dispatch_float_types(src_dt, [&](auto tag) {
      using T = decltype(tag);
      using A = std::conditional_t<std::is_same_v<T, double>, double, float>;
      if (!acc_f32 && !std::is_same_v<T, A>) return;  // 16-bit sources always accumulate in f32
      scatter_kernel<T, A, I><<<blocks_for(total, 4), kThreads, 0, s>>>(
          static_cast<const T*>(src), static_cast<const I*>(idx), c, limit, static_cast<A*>(acc),
          error, total);
    });
  });
}

}  // namespace wick::cuda

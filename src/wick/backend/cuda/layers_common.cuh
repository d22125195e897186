#pragma once
// Device helpers of the layers family (reduce.cu, softmax.cu, norm.cu, rope.cu, loss.cu,
// attention.cu): block-wide reductions, NaN-propagating max, dtype dispatch over the types these
// kernels take, and the grid of a block-per-row launch. Blocks are a multiple of 32 threads.
#include <cstdint>
#include <limits>

#include "wick/backend/cuda/common.cuh"

namespace wick::cuda {

constexpr int kRowThreads = 256;  // threads of a block-per-row kernel (a multiple of 32)
constexpr int64_t kMaxGrid = (int64_t(1) << 31) - 1;

/// Blocks of a block-per-row launch: one per row up to the grid limit (kernels loop over rows
/// with a stride of gridDim.x).
inline unsigned row_blocks(int64_t rows) {
  return unsigned(rows < 1 ? 1 : (rows > kMaxGrid ? kMaxGrid : rows));
}

struct LayerSum {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return a + b;
  }
};
/// max that propagates NaN (a NaN on either side wins), as the CPU kernels do.
struct LayerMax {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return (b > a || b != b) ? b : a;
  }
};
struct LayerMin {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return (b < a || b != b) ? b : a;
  }
};

template <class T, class Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/// Reduces one value per thread over the whole block; every thread gets the result. Must be
/// reached by all threads of the block (it synchronises); blockDim.x a multiple of 32.
template <class T, class Op>
__device__ T block_reduce(T v, T identity, Op op) {
  __shared__ T warp_vals[32];
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  const int nwarps = int(blockDim.x) >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // an earlier call's readers are done with warp_vals
  if (lane == 0) warp_vals[warp] = v;
  __syncthreads();
  v = lane < nwarps ? warp_vals[lane] : identity;
  return warp_reduce(v, op);
}

/// Calls f(T{}) with T the storage type of `dt` for f32, bf16 and f16 (false for other dtypes).
template <class F>
bool dispatch_layer_floats(DType dt, F&& f) {
  switch (dt) {
    case DType::f32:
      f(float{});
      return true;
    case DType::bf16:
      f(__nv_bfloat16{});
      return true;
    case DType::f16:
      f(__half{});
      return true;
    default:
      return false;
  }
}

/// An i32 or i64 index element.
__device__ __forceinline__ int64_t load_index(DType dt, const void* p, int64_t i) {
  return dt == DType::i32 ? int64_t(static_cast<const int32_t*>(p)[i])
                          : static_cast<const int64_t*>(p)[i];
}

/// A float element of runtime dtype `dt` (f32, bf16, f16), widened to f32.
__device__ __forceinline__ float load_float_dyn(DType dt, const void* p, int64_t i) {
  switch (dt) {
    case DType::bf16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case DType::f16:
      return __half2float(static_cast<const __half*>(p)[i]);
    default:
      return static_cast<const float*>(p)[i];
  }
}
/// Stores f32 `v` rounded to runtime dtype `dt` (f32, bf16, f16).
__device__ __forceinline__ void store_float_dyn(DType dt, void* p, int64_t i, float v) {
  switch (dt) {
    case DType::bf16:
      static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
      return;
    case DType::f16:
      static_cast<__half*>(p)[i] = __float2half_rn(v);
      return;
    default:
      static_cast<float*>(p)[i] = v;
      return;
  }
}

/// v rounded to T's precision and widened back (identity for float).
template <class T>
__device__ __forceinline__ float round_to(float v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    T tmp[1];
    store(tmp, 0, v);
    return load(tmp, 0);
  }
}

}  // namespace wick::cuda

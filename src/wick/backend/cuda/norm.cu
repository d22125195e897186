// RMSNorm and LayerNorm over the last axis of row-major [rows, D]. One block per row
// (kRowThreads threads, grid stride over rows), f32 accumulation, block reductions.
// RMSNorm follows transformers' LlamaRMSNorm (and the CPU kernel): x * (1 / sqrt(mean(x^2) + eps))
// is rounded to x's dtype, then multiplied by the weight in f32 and stored in the output's dtype
// (weight and output dtypes are runtime switches, uniform across the block). LayerNorm makes two
// passes (the mean, then the squared deviations) and applies (x - mean) * inv, * w, + b in that
// order.
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/layers_common.cuh"

namespace wick::cuda {

namespace {

template <class T>
__global__ void rms_norm_kernel(const T* x, DType w_dt, const void* w, float eps, DType out_dt,
                                void* out, int64_t rows, int64_t D) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const float v = load(xr, i);
      ss += v * v;
    }
    ss = block_reduce(ss, 0.0f, LayerSum{});
    const float inv = 1.0f / sqrtf(ss / float(D) + eps);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const float h = round_to<T>(load(xr, i) * inv);
      if (w) {
        store_float_dyn(out_dt, out, r * D + i, load_float_dyn(w_dt, w, i) * h);
      } else {
        store(static_cast<T*>(out), r * D + i, h);
      }
    }
  }
}

template <class T>
__global__ void layer_norm_kernel(const T* x, const T* w, const T* b, float eps, T* out,
                                  int64_t rows, int64_t D) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * D;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += load(xr, i);
    const float mu = block_reduce(s, 0.0f, LayerSum{}) / float(D);
    float sq = 0.0f;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const float d = load(xr, i) - mu;
      sq += d * d;
    }
    const float var = block_reduce(sq, 0.0f, LayerSum{}) / float(D);
    const float inv = 1.0f / sqrtf(var + eps);
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      float y = (load(xr, i) - mu) * inv;
      if (w) y = y * load(w, i);
      if (b) y = y + load(b, i);
      store(out, r * D + i, y);
    }
  }
}

}  // namespace

void launch_rms_norm(DType dt, const void* x, DType w_dt, const void* w, double eps, DType out_dt,
                     void* out, int64_t rows, int64_t D, cudaStream_t s) {
  if (rows <= 0 || D <= 0) return;
  dispatch_layer_floats(dt, [&](auto tag) {
    using T = decltype(tag);
    rms_norm_kernel<T><<<row_blocks(rows), kRowThreads, 0, s>>>(static_cast<const T*>(x), w_dt, w,
                                                                float(eps), out_dt, out, rows, D);
  });
}

void launch_layer_norm(DType dt, const void* x, const void* w, const void* b, double eps, void* out,
                       int64_t rows, int64_t D, cudaStream_t s) {
  if (rows <= 0 || D <= 0) return;
  dispatch_layer_floats(dt, [&](auto tag) {
    using T = decltype(tag);
    layer_norm_kernel<T><<<row_blocks(rows), kRowThreads, 0, s>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), float(eps),
        static_cast<T*>(out), rows, D);
  });
}

}  // namespace wick::cuda

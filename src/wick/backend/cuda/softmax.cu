// Softmax and log_softmax along one axis. One block per row (kRowThreads threads, grid stride over
// rows); a row is read three times through its strides: the max (NaN-propagating), the sum of
// exp(x - max), then the write: softmax exp(x - max) * (1 / sum), log_softmax
// (x - max) - log(sum) (as the CPU kernel: max + log(sum) would round away log(sum) for a large
// max). f32/bf16/f16 accumulate in f32. Rows of any length; the axis may be strided (non-last
// axes), read in place.
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/layers_common.cuh"

namespace wick::cuda {

namespace {

template <class T>
__global__ void softmax_rows_kernel(bool log_out, const T* x, Strided xk, int64_t xs, T* out,
                                    Strided ok, int64_t os, int64_t rows, int64_t n) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + strided_offset(xk, r);
    T* orow = out + strided_offset(ok, r);
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = LayerMax{}(m, load(xr, i * xs));
    m = block_reduce(m, -INFINITY, LayerMax{});
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += expf(load(xr, i * xs) - m);
    sum = block_reduce(sum, 0.0f, LayerSum{});
    if (log_out) {
      const float ls = logf(sum);
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        store(orow, i * os, (load(xr, i * xs) - m) - ls);
    } else {
      const float inv = 1.0f / sum;
      for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        store(orow, i * os, expf(load(xr, i * xs) - m) * inv);
    }
  }
}

}  // namespace

void launch_softmax(bool log, DType dt, const void* x, const Strided& xk, int64_t xs, void* out,
                    const Strided& ok, int64_t os, int64_t rows, int64_t n, cudaStream_t s) {
  if (rows <= 0 || n <= 0) return;
  dispatch_layer_floats(dt, [&](auto tag) {
    using T = decltype(tag);
    softmax_rows_kernel<T><<<row_blocks(rows), kRowThreads, 0, s>>>(
        log, static_cast<const T*>(x), xk, xs, static_cast<T*>(out), ok, os, rows, n);
  });
}

}  // namespace wick::cuda

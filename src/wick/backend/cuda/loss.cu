// Cross-entropy over rows of logits [N, V] and the row kernels of the chunked linear
// cross-entropy. One block per row (kRowThreads threads, grid stride over rows), two passes for
// the log-sum-exp (a NaN-propagating max m, then sum exp(x - m)), a third for a gradient row.
// cross_entropy / cross_entropy_grad accumulate in f32 like the CPU kernel (the loss over rows in
// f64, one block); linear cross-entropy rows sum their f32 exponentials in f64 and take the
// log-sum-exp in f64, as the CPU's. A target outside [0, V) that is not ignore_index sets the
// device error flag (the CPU throws ValueError before computing) and its row gets NaN (forward)
// or zeros (gradient).
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/layers_common.cuh"

namespace wick::cuda {

namespace {

__device__ __forceinline__ bool target_ok(int64_t t, int64_t V, int* error) {
  if (t >= 0 && t < V) return true;
  atomicCAS(error, 0, kLayersErrTarget);
  return false;
}

// (max, sum exp(x - max)) of a strided row in f32; every thread of the block gets both.
template <class T>
__device__ void row_max_expsum(const T* xr, int64_t cs, int64_t V, float& m, float& s) {
  m = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) m = LayerMax{}(m, load(xr, j * cs));
  m = block_reduce(m, -INFINITY, LayerMax{});
  s = 0.0f;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) s += expf(load(xr, j * cs) - m);
  s = block_reduce(s, 0.0f, LayerSum{});
}

template <class T>
__global__ void ce_rows_kernel(const T* x, int64_t rs, int64_t cs, int64_t N, int64_t V, DType t_dt,
                               const void* targets, int64_t ts, int64_t ignore, float* rows_out,
                               int* error) {
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    const int64_t t = load_index(t_dt, targets, r * ts);
    if (t == ignore) {
      if (threadIdx.x == 0) rows_out[r] = 0.0f;
      continue;
    }
    if (!target_ok(t, V, error)) {
      if (threadIdx.x == 0) rows_out[r] = NAN;
      continue;
    }
    const T* xr = x + r * rs;
    float m, s;
    row_max_expsum(xr, cs, V, m, s);
    if (threadIdx.x == 0) rows_out[r] = (m + logf(s)) - load(xr, t * cs);
  }
}

// One block: the rows' losses as out's dtype (none), or their f64 sum over the non-ignored rows
// (sum), divided by their count (mean; 0 / 0 = NaN when every target is ignored, as torch).
template <class T>
__global__ void ce_reduce_kernel(int reduction, const float* rows, int64_t N, DType t_dt,
                                 const void* targets, int64_t ts, int64_t ignore, T* out) {
  if (reduction == 2) {
    for (int64_t i = threadIdx.x; i < N; i += blockDim.x) store(out, i, rows[i]);
    return;
  }
  double total = 0.0;
  unsigned long long count = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
    if (load_index(t_dt, targets, i * ts) == ignore) continue;
    total += double(rows[i]);
    ++count;
  }
  total = block_reduce(total, 0.0, LayerSum{});
  count = block_reduce(count, 0ull, LayerSum{});
  if (threadIdx.x == 0) {
    if (reduction == 0) total = count ? total / double(count) : double(NAN);
    store(out, 0, float(total));
  }
}

__global__ void count_valid_kernel(DType t_dt, const void* targets, int64_t ts, int64_t N,
                                   int64_t ignore, int64_t* count) {
  unsigned long long c = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x)
    c += load_index(t_dt, targets, i * ts) != ignore ? 1 : 0;
  c = block_reduce(c, 0ull, LayerSum{});
  if (threadIdx.x == 0) *count = int64_t(c);
}

template <class T>
__global__ void ce_grad_kernel(int reduction, const T* x, int64_t rs, int64_t cs, int64_t N,
                               int64_t V, DType t_dt, const void* targets, int64_t ts,
                               int64_t ignore, const T* g, int64_t gs, const int64_t* count, T* out,
                               int* error) {
  for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
    T* orow = out + r * V;
    const int64_t t = load_index(t_dt, targets, r * ts);
    if (t == ignore || !target_ok(t, V, error)) {
      for (int64_t j = threadIdx.x; j < V; j += blockDim.x) store(orow, j, 0.0f);
      continue;
    }
    const T* xr = x + r * rs;
    float m, s;
    row_max_expsum(xr, cs, V, m, s);
    const float scale = reduction == 0 ? 1.0f / float(*count > 1 ? *count : int64_t(1)) : 1.0f;
    const float w = load(g, reduction == 2 ? r * gs : 0) * scale;
    const float winv = w / s;
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
      const float p = expf(load(xr, j * cs) - m) * winv;
      store(orow, j, j == t ? p - w : p);
    }
  }
}

// ---- linear cross-entropy rows (f32 logits, row-major chunk) ----

// The CPU's row_lse: f32 max (NaN-propagating; a non-finite max is the result), f32 exponentials
// summed in f64, max + log(sum) in f64. Every thread gets it.
__device__ double lce_row_lse(const float* xr, int64_t V) {
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) mx = LayerMax{}(mx, xr[j]);
  mx = block_reduce(mx, -INFINITY, LayerMax{});
  if (!isfinite(mx)) return double(mx);  // uniform across the block
  double s = 0.0;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) s += double(expf(xr[j] - mx));
  s = block_reduce(s, 0.0, LayerSum{});
  return double(mx) + log(s);
}

__global__ void lce_rows_kernel(const float* logits, int64_t rows, int64_t V, DType t_dt,
                                const void* targets, int64_t ignore, float* out, int* error) {
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    const int64_t t = load_index(t_dt, targets, i);
    if (t == ignore) {
      if (threadIdx.x == 0) out[i] = 0.0f;
      continue;
    }
    if (!target_ok(t, V, error)) {
      if (threadIdx.x == 0) out[i] = NAN;
      continue;
    }
    const float* xr = logits + i * V;
    const double lse = lce_row_lse(xr, V);
    if (threadIdx.x == 0) out[i] = float(lse - double(xr[t]));
  }
}

__global__ void lce_grad_rows_kernel(float* logits, int64_t rows, int64_t V, DType t_dt,
                                     const void* targets, int64_t ignore, const float* g,
                                     int* error) {
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    float* xr = logits + i * V;
    const int64_t t = load_index(t_dt, targets, i);
    if (t == ignore || !target_ok(t, V, error)) {
      for (int64_t j = threadIdx.x; j < V; j += blockDim.x) xr[j] = 0.0f;
      continue;
    }
    const double lse = lce_row_lse(xr, V), gi = double(g[i]);
    // Each thread rewrites only its own elements, after the block has read the row (the
    // reductions above synchronise).
    for (int64_t j = threadIdx.x; j < V; j += blockDim.x) {
      float p = float(gi * double(expf(float(double(xr[j]) - lse))));
      if (j == t) p = float(double(p) - gi);
      xr[j] = p;
    }
  }
}

}  // namespace

void launch_cross_entropy_rows(DType dt, const void* logits, int64_t rs, int64_t cs, int64_t N,
                               int64_t V, DType t_dt, const void* targets, int64_t ts,
                               int64_t ignore, float* rows_out, int* error, cudaStream_t s) {
  if (N <= 0) return;
  dispatch_layer_floats(dt, [&](auto tag) {
    using T = decltype(tag);
    ce_rows_kernel<T><<<row_blocks(N), kRowThreads, 0, s>>>(
        static_cast<const T*>(logits), rs, cs, N, V, t_dt, targets, ts, ignore, rows_out, error);
  });
}

void launch_cross_entropy_reduce(int reduction, const float* rows, int64_t N, DType t_dt,
                                 const void* targets, int64_t ts, int64_t ignore, DType dt,
                                 void* out, cudaStream_t s) {
  if (reduction == 2 && N <= 0) return;
  dispatch_layer_floats(dt, [&](auto tag) {
    using T = decltype(tag);
    ce_reduce_kernel<T><<<1, kRowThreads, 0, s>>>(reduction, rows, N, t_dt, targets, ts, ignore,
                                                  static_cast<T*>(out));
  });
}

void launch_count_valid(DType t_dt, const void* targets, int64_t ts, int64_t N, int64_t ignore,
                        int64_t* count, cudaStream_t s) {
  count_valid_kernel<<<1, kRowThreads, 0, s>>>(t_dt, targets, ts, N, ignore, count);
}

void launch_cross_entropy_grad(int reduction, DType dt, const void* logits, int64_t rs, int64_t cs,
                               int64_t N, int64_t V, DType t_dt, const void* targets, int64_t ts,
                               int64_t ignore, const void* g, int64_t gs, const int64_t* count,
                               void* out, int* error, cudaStream_t s) {
  if (N <= 0 || V <= 0) return;
  dispatch_layer_floats(dt, [&](auto tag) {
    using T = decltype(tag);
    ce_grad_kernel<T><<<row_blocks(N), kRowThreads, 0, s>>>(
        reduction, static_cast<const T*>(logits), rs, cs, N, V, t_dt, targets, ts, ignore,
        static_cast<const T*>(g), gs, count, static_cast<T*>(out), error);
  });
}

void launch_lce_rows(const float* logits, int64_t rows, int64_t V, DType t_dt, const void* targets,
                     int64_t ignore, float* out, int* error, cudaStream_t s) {
  if (rows <= 0) return;
  lce_rows_kernel<<<row_blocks(rows), kRowThreads, 0, s>>>(logits, rows, V, t_dt, targets, ignore,
                                                           out, error);
}

void launch_lce_grad_rows(float* logits, int64_t rows, int64_t V, DType t_dt, const void* targets,
                          int64_t ignore, const float* g, int* error, cudaStream_t s) {
  if (rows <= 0) return;
  lce_grad_rows_kernel<<<row_blocks(rows), kRowThreads, 0, s>>>(logits, rows, V, t_dt, targets,
                                                                ignore, g, error);
}

}  // namespace wick::cuda

// Reductions (sum, max, min) and argmax. One block per output row (kRowThreads threads, a grid
// stride over rows): each thread walks elements j = tid, tid + blockDim, ... of the row's reduced
// sub-space (read through strides, so no permuted copy), then a block reduction (warp shuffles,
// one shared slot per warp). Two other layouts of the same arithmetic: outputs adjacent in memory
// (reducing leading axes) take 32 per block, one per lane, so loads coalesce; a few very long rows
// (a full reduction) are split into slices whose partials a second kernel combines. Float sums
// accumulate in f64 like the CPU kernel, integer sums in uint64 (wrapping, then truncated to the
// output type); max/min work in the compute type and propagate NaN. argmax reduces (value, index)
// pairs under a total order (NaN first, then larger value, then smaller index), so the result is
// the CPU's: the first NaN, else the first maximum.
#include "wick/backend/cuda/layers.h"
#include "wick/backend/cuda/layers_common.cuh"

namespace wick::cuda {

namespace {

// The identities of max and min (host side, passed to the kernel): -inf / +inf for floats, the
// type's extremes for integers.
template <class C>
C reduce_lowest() {
  if constexpr (std::numeric_limits<C>::has_infinity) {
    return -std::numeric_limits<C>::infinity();
  } else {
    return std::numeric_limits<C>::lowest();
  }
}
template <class C>
C reduce_highest() {
  if constexpr (std::numeric_limits<C>::has_infinity) {
    return std::numeric_limits<C>::infinity();
  } else {
    return std::numeric_limits<C>::max();
  }
}

// Offset of element j of the reduced sub-space (a plain stride when it merged to one axis).
__device__ __forceinline__ int64_t reduced_offset(const Strided& red, int64_t j) {
  return red.ndim == 1 ? j * red.stride[0] : strided_offset(red, j);
}

// A: the accumulator (double / uint64 for sums, the compute type for max/min). Integers convert
// to uint64 modulo 2^64 and back modulo 2^bits, as the CPU's casts do.
template <class T, class A, class Op>
__global__ void reduce_rows_kernel(const T* x, Strided kept, Strided red, int64_t rows, int64_t n,
                                   A identity, Op op, T* out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + strided_offset(kept, r);
    A acc = identity;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
      acc = op(acc, A(load(row, reduced_offset(red, j))));
    acc = block_reduce(acc, identity, op);
    if (threadIdx.x == 0) store(out, r, typename Acc<T>::type(acc));
  }
}

// Outputs adjacent in memory (the kept axes merged to one of stride 1, as when reducing the
// leading axes of a row-major tensor): a block takes 32 adjacent outputs, one per lane, and its
// kColWarps warps split the reduced elements (warp w takes j = w, w + kColWarps, ...), so every
// warp load reads 32 consecutive elements. The warps' partials are combined in warp order.
constexpr int kColWarps = kRowThreads / 32;

template <class T, class A, class Op>
__global__ void reduce_cols_kernel(const T* x, Strided red, int64_t rows, int64_t n, A identity,
                                   Op op, T* out) {
  __shared__ A part[kColWarps][32];
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  for (int64_t c0 = int64_t(blockIdx.x) * 32; c0 < rows; c0 += int64_t(gridDim.x) * 32) {
    const int64_t c = c0 + lane;
    A acc = identity;
    if (c < rows)
      for (int64_t j = warp; j < n; j += kColWarps)
        acc = op(acc, A(load(x, c + reduced_offset(red, j))));
    __syncthreads();  // the previous tile's combine has read `part`
    part[warp][lane] = acc;
    __syncthreads();
    if (warp == 0 && c < rows) {
      A v = part[0][lane];
      for (int w = 1; w < kColWarps; ++w) v = op(v, part[w][lane]);
      store(out, c, typename Acc<T>::type(v));
    }
  }
}

// Few long rows (a full reduction, say): blockIdx.y is the row, blockIdx.x one of `parts` slices
// of it, each reduced by a block into part[row * parts + slice]; reduce_parts_kernel then reduces
// each row's partials in slice order (deterministic).
template <class T, class A, class Op>
__global__ void reduce_slices_kernel(const T* x, Strided kept, Strided red, int64_t n,
                                     int64_t parts, A identity, Op op, A* part) {
  const int64_t r = blockIdx.y, slice = blockIdx.x;
  const int64_t len = (n + parts - 1) / parts;
  const int64_t begin = slice * len, end = begin + len < n ? begin + len : n;
  const T* row = x + strided_offset(kept, r);
  A acc = identity;
  for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x)
    acc = op(acc, A(load(row, reduced_offset(red, j))));
  acc = block_reduce(acc, identity, op);
  if (threadIdx.x == 0) part[r * parts + slice] = acc;
}

template <class T, class A, class Op>
__global__ void reduce_parts_kernel(const A* part, int64_t rows, int64_t parts, A identity, Op op,
                                    T* out) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    A acc = identity;
    for (int64_t k = threadIdx.x; k < parts; k += blockDim.x) acc = op(acc, part[r * parts + k]);
    acc = block_reduce(acc, identity, op);
    if (threadIdx.x == 0) store(out, r, typename Acc<T>::type(acc));
  }
}

// How a reduction is laid out on the grid.
enum class ReducePlan { rows, cols, slices };
constexpr int64_t kSliceMinRows = 64;    // fewer output rows than this ...
constexpr int64_t kSliceMinN = 1 << 16;  // ... each this long: split rows into slices
constexpr int64_t kSliceLen = 1 << 14;   // elements per slice (at least)
constexpr int64_t kMaxSlices = 1024;

ReducePlan reduce_plan(const Strided& kept, int64_t rows, int64_t n) {
  if (kept.ndim == 1 && kept.stride[0] == 1 && rows >= 32) return ReducePlan::cols;
  if (rows < kSliceMinRows && n >= kSliceMinN) return ReducePlan::slices;
  return ReducePlan::rows;
}
int64_t reduce_slices(int64_t n) {
  const int64_t p = (n + kSliceLen - 1) / kSliceLen;
  return p < kMaxSlices ? p : kMaxSlices;
}

template <class T, class A, class Op>
void reduce_launch(const T* x, const Strided& kept, const Strided& red, int64_t rows, int64_t n,
                   A identity, Op op, T* out, void* scratch, cudaStream_t s) {
  switch (reduce_plan(kept, rows, n)) {
    case ReducePlan::cols: {
      const int64_t tiles = (rows + 31) / 32;
      reduce_cols_kernel<T, A>
          <<<row_blocks(tiles), kRowThreads, 0, s>>>(x, red, rows, n, identity, op, out);
      return;
    }
    case ReducePlan::slices: {
      const int64_t parts = reduce_slices(n);
      A* part = static_cast<A*>(scratch);
      reduce_slices_kernel<T, A><<<dim3(unsigned(parts), unsigned(rows)), kRowThreads, 0, s>>>(
          x, kept, red, n, parts, identity, op, part);
      reduce_parts_kernel<T, A>
          <<<row_blocks(rows), kRowThreads, 0, s>>>(part, rows, parts, identity, op, out);
      return;
    }
    case ReducePlan::rows:
      reduce_rows_kernel<T, A>
          <<<row_blocks(rows), kRowThreads, 0, s>>>(x, kept, red, rows, n, identity, op, out);
      return;
  }
}

template <class T>
void reduce_typed(LayerReduce kind, const T* x, const Strided& kept, const Strided& red,
                  int64_t rows, int64_t n, T* out, void* scratch, cudaStream_t s) {
  using C = typename Acc<T>::type;
  if (kind == LayerReduce::sum) {
    using SumAcc = std::conditional_t<std::is_floating_point_v<C>, double, uint64_t>;
    reduce_launch<T, SumAcc>(x, kept, red, rows, n, SumAcc(0), LayerSum{}, out, scratch, s);
  } else if (kind == LayerReduce::max) {
    reduce_launch<T, C>(x, kept, red, rows, n, reduce_lowest<C>(), LayerMax{}, out, scratch, s);
  } else {
    reduce_launch<T, C>(x, kept, red, rows, n, reduce_highest<C>(), LayerMin{}, out, scratch, s);
  }
}

// (value, index) candidates of argmax: a beats b when it is NaN and b is not, or both NaN with a
// earlier, or a larger, or equal with a earlier.
template <class C>
__device__ __forceinline__ bool argmax_better(C av, int64_t ai, C bv, int64_t bi) {
  const bool an = av != av, bn = bv != bv;
  if (an || bn) return an && (!bn || ai < bi);
  return av > bv || (av == bv && ai < bi);
}

template <class T>
__global__ void argmax_kernel(const T* x, Strided kept, int64_t n, int64_t stride, int64_t rows,
                              int64_t* out) {
  using C = typename Acc<T>::type;
  __shared__ C best_v[32];
  __shared__ int64_t best_i[32];
  const int lane = int(threadIdx.x) & 31, warp = int(threadIdx.x) >> 5;
  const int nwarps = int(blockDim.x) >> 5;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + strided_offset(kept, r);
    C bv = C(0);
    int64_t bi = -1;  // -1: no candidate yet (threads past the row's end)
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const C v = load(row, j * stride);
      if (bi < 0 || argmax_better(v, j, bv, bi)) {
        bv = v;
        bi = j;
      }
    }
    for (int o = 16; o > 0; o >>= 1) {
      const C ov = __shfl_xor_sync(0xffffffffu, bv, o);
      const int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
      if (oi >= 0 && (bi < 0 || argmax_better(ov, oi, bv, bi))) {
        bv = ov;
        bi = oi;
      }
    }
    __syncthreads();  // the previous row's reads of the slots are done
    if (lane == 0) {
      best_v[warp] = bv;
      best_i[warp] = bi;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < nwarps; ++w)
        if (best_i[w] >= 0 && (bi < 0 || argmax_better(best_v[w], best_i[w], bv, bi))) {
          bv = best_v[w];
          bi = best_i[w];
        }
      out[r] = bi < 0 ? 0 : bi;
    }
  }
}

}  // namespace

bool reduce_supported(DType dt) {
  return dt == DType::f32 || dt == DType::bf16 || dt == DType::f16 || dt == DType::i32 ||
         dt == DType::i64;
}

size_t reduce_scratch_bytes(const Strided& kept, int64_t rows, int64_t n) {
  if (rows <= 0 || reduce_plan(kept, rows, n) != ReducePlan::slices) return 0;
  return size_t(rows * reduce_slices(n)) * sizeof(double);  // the widest partial (f64, u64)
}

void launch_reduce(LayerReduce kind, DType dt, const void* x, const Strided& kept,
                   const Strided& red, int64_t rows, int64_t n, void* out, void* scratch,
                   cudaStream_t s) {
  if (rows <= 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    reduce_typed<T>(kind, static_cast<const T*>(x), kept, red, rows, n, static_cast<T*>(out),
                    scratch, s);
  };
  switch (dt) {
    case DType::i32:
      return run(int32_t{});
    case DType::i64:
      return run(int64_t{});
    default:
      dispatch_layer_floats(dt, run);
  }
}

void launch_argmax(DType dt, const void* x, const Strided& kept, int64_t n, int64_t stride,
                   int64_t rows, int64_t* out, cudaStream_t s) {
  if (rows <= 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    argmax_kernel<T><<<row_blocks(rows), kRowThreads, 0, s>>>(static_cast<const T*>(x), kept, n,
                                                              stride, rows, out);
  };
  switch (dt) {
    case DType::i32:
      return run(int32_t{});
    case DType::i64:
      return run(int64_t{});
    default:
      dispatch_layer_floats(dt, run);
  }
}

}  // namespace wick::cuda

// Reductions (sum, max, min) and argmax. One block per output row (kRowThreads threads, a grid
// stride over rows): each thread walks elements j = tid, tid + blockDim, ... of the row's reduced
// sub-space (read through strides, so no permuted copy), then a block reduction (warp shuffles,
// one shared slot per warp). Float sums accumulate in f64 like the CPU kernel, integer sums in
// uint64 (wrapping, then truncated to the output type); max/min work in the compute type and
// propagate NaN. argmax reduces (value, index) pairs under a total order (NaN first, then larger
// value, then smaller index), so the result is the CPU's: the first NaN, else the first maximum.
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

template <class T>
void reduce_typed(LayerReduce kind, const T* x, const Strided& kept, const Strided& red,
                  int64_t rows, int64_t n, T* out, cudaStream_t s) {
  using C = typename Acc<T>::type;
  const unsigned grid = row_blocks(rows);
  if (kind == LayerReduce::sum) {
    using SumAcc = std::conditional_t<std::is_floating_point_v<C>, double, uint64_t>;
    reduce_rows_kernel<T, SumAcc>
        <<<grid, kRowThreads, 0, s>>>(x, kept, red, rows, n, SumAcc(0), LayerSum{}, out);
  } else if (kind == LayerReduce::max) {
    reduce_rows_kernel<T, C>
        <<<grid, kRowThreads, 0, s>>>(x, kept, red, rows, n, reduce_lowest<C>(), LayerMax{}, out);
  } else {
    reduce_rows_kernel<T, C>
        <<<grid, kRowThreads, 0, s>>>(x, kept, red, rows, n, reduce_highest<C>(), LayerMin{}, out);
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

void launch_reduce(LayerReduce kind, DType dt, const void* x, const Strided& kept,
                   const Strided& red, int64_t rows, int64_t n, void* out, cudaStream_t s) {
  if (rows <= 0) return;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    reduce_typed<T>(kind, static_cast<const T*>(x), kept, red, rows, n, static_cast<T*>(out), s);
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

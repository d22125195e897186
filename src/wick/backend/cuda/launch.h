#pragma once
// The kernel launchers of the CUDA backend's elementwise, copy, creation and indexing families:
// plain C++ declarations over device pointers (implemented in the .cu files, called from the
// register_*.cpp files). Every launcher enqueues on `s` and returns at once.
#include <cuda_runtime_api.h>

#include <cstdint>

#include "wick/core/dtype.h"

namespace wick::cuda {

constexpr int kMaxDims = 8;
/// Codes kernels write to the device error flag (raised at the next synchronisation).
constexpr int kErrIndex = 1, kErrKvOffset = 2, kErrTarget = 3;
/// How an operand is read over the output's row-major index space: its element strides (0 for a
/// broadcast axis) for each axis of `shape`. Built by describe() in register_common.h.
struct Strided {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};
};

// ---- elementwise (elementwise.cu); op codes are UnaryOp / BinaryOp values ----
/// True when launch_unary takes this op on this dtype (otherwise the host fallback runs).
bool unary_supported(int op, DType dt);
void launch_unary(int op, DType dt, const void* x, const Strided& xs, void* out, int64_t n,
                  cudaStream_t s);
bool binary_supported(int op, DType in, DType out);
void launch_binary(int op, DType in, DType out_dt, const void* a, const Strided& as, const void* b,
                   const Strided& bs, void* out, int64_t n, cudaStream_t s);
void launch_pow_scalar(DType dt, const void* x, const Strided& xs, double p, void* out, int64_t n,
                       cudaStream_t s);
void launch_clamp(DType dt, const void* x, const Strided& xs, double lo, double hi, void* out,
                  int64_t n, cudaStream_t s);
/// out = cond ? a : b (cond bool).
void launch_where(DType dt, const void* c, const Strided& cs, const void* a, const Strided& as,
                  const void* b, const Strided& bs, void* out, int64_t n, cudaStream_t s);

// ---- copies and creation (copy.cu) ----
/// out[os(i)] = cast(x[xs(i)]) for the n elements of the index space (both describe one shape).
void launch_copy_cast(DType in, DType out_dt, const void* x, const Strided& xs, void* out,
                      const Strided& os, int64_t n, cudaStream_t s);
/// Like launch_copy_cast with the destination offset (in elements) read from a device i64 scalar
/// times `offset_stride`, checked against `limit` positions of `count` (kv_cache_write); a bad
/// offset sets *error to 1.
void launch_copy_at_offset(DType dt, const void* x, const Strided& xs, void* out, const Strided& os,
                           const int64_t* offset, int64_t offset_stride, int64_t count,
                           int64_t limit, int* error, int64_t n, cudaStream_t s);
void launch_fill(DType dt, double v, void* out, int64_t n, cudaStream_t s);
void launch_arange(DType dt, double start, double step, void* out, int64_t n, cudaStream_t s);
/// Counter-based draws equal to the CPU's (core/random.h): key is a device i64 [2].
void launch_random(bool normal, double a, double b, const int64_t* key, DType dt, void* out,
                   int64_t n, cudaStream_t s);
/// out = x * (u_i >= p ? scale : 0), x contiguous.
void launch_dropout(DType dt, const void* x, const int64_t* key, double p, double scale, void* out,
                    int64_t n, cudaStream_t s);
/// tril/triu of contiguous [batch, rows, cols].
void launch_tri(DType dt, const void* x, int64_t batch, int64_t rows, int64_t cols, int64_t k,
                bool upper, void* out, cudaStream_t s);

// ---- indexing (indexing.cu); index tensors are i32 or i64 (idx_dt) ----
/// out[o, j, i] = x[o, idx[j], i] for x [outer, n, inner] and idx [m] contiguous; an index
/// outside [0, n) sets *error to kErrIndex (and reads element 0).
void launch_take(DType dt, const void* x, int64_t outer, int64_t n, int64_t inner, DType idx_dt,
                 const void* idx, int64_t m, void* out, int* error, cudaStream_t s);
/// Index space of take_along_axis / scatter_add: the indices' shape, with the strides of the
/// indexed tensor (x or the accumulator), of the indices and of src per axis, and the axis.
struct Coords {
  int ndim = 0, axis = 0;
  int64_t shape[kMaxDims] = {};
  int64_t x_stride[kMaxDims] = {}, i_stride[kMaxDims] = {}, s_stride[kMaxDims] = {};
};
/// out[p] (row-major over c.shape) = x[p with p[axis] = idx[p]].
void launch_take_along_axis(DType dt, const void* x, DType idx_dt, const void* idx, const Coords& c,
                            int64_t limit, void* out, int* error, cudaStream_t s);
/// acc[p with p[axis] = idx[p]] += src[p] over c.shape with atomics; acc is f32 when src is
/// 16-bit (acc_f32), else src's dtype.
void launch_scatter_add(DType src_dt, const void* src, DType idx_dt, const void* idx,
                        const Coords& c, int64_t limit, void* acc, bool acc_f32, int* error,
                        cudaStream_t s);

}  // namespace wick::cuda

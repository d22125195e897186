#pragma once
// CUDA runtime state shared by the backend's C++ side (g++): streams, cuBLAS handles, error
// checks, and the host fallback. Kernel launchers are declared in launch.h.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "wick/backend/cuda/launch.h"
#include "wick/core/errors.h"
#include "wick/core/tensor.h"

namespace wick::cuda {

struct DeviceState {
  int index = 0;
  cudaStream_t stream = nullptr;  // compute stream: every kernel and copy is ordered on it
  cublasHandle_t blas = nullptr;
  void* workspace = nullptr;  // cuBLAS workspace
  size_t workspace_bytes = 0;
  int* error = nullptr;  // device flag a kernel sets on bad input (kErr*), read at sync points
};

/// The state of device `index` (created on first use; makes it current).
DeviceState& state(int index);
/// The compute stream of a tensor's device (and makes that device current).
cudaStream_t stream_of(const Tensor& t);

/// The device error flag of a tensor's device.
int* error_flag(const Tensor& t);

/// Throws BackendError naming `what` when `e` is not cudaSuccess.
void check(cudaError_t e, const char* what);
void check_blas(cublasStatus_t s, const char* what);
/// Checks the last launch (cudaGetLastError) after a kernel launch.
void check_launch(const char* what);

/// Row-major batched GEMM through cuBLAS on `d`'s stream, f32 accumulation (no tf32):
/// C[i] (m x n, leading dimension ldc) = alpha * op(A[i]) @ op(B[i]) + beta * C[i] for i < batch,
/// op(A) m x k (A stored k x m when trans_a), op(B) k x n (B stored n x k when trans_b); A, B, C of
/// dtype `dt` (f32, bf16, f16; f64 in f64), element strides between batch items sa, sb, sc.
void gemm(DeviceState& d, DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
          float alpha, const void* a, int64_t lda, int64_t sa, const void* b, int64_t ldb,
          int64_t sb, float beta, void* c, int64_t ldc, int64_t sc, int64_t batch = 1);

/// Runs the CPU kernel of `p` on host copies of `in` and uploads the results into `out`.
void host_fallback(const Primitive& p, const std::vector<Tensor>& in,
                   const std::vector<Tensor>& out);

/// A row-major device copy of `t` (t itself when it already is one).
Tensor contiguous_on_device(const Tensor& t);

}  // namespace wick::cuda
